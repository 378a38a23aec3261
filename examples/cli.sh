export TEMPID_SECRET="$(npx tempid secret)"
token="$(npx tempid new 15m --payload '{"userId":42}' --max-uses 1)"
npx tempid verify "$token"                            # exit 0, prints the token's fields
npx tempid use "$token" --store sqlite:./tempid.db    # granted: used 1 of 1, exit 0
npx tempid use "$token" --store sqlite:./tempid.db || echo "refused, exit $?"   # exit 1
npx tempid uses "$token" --store sqlite:./tempid.db   # used 1 of 1, 0 left
npx tempid inspect "$token"                           # readable without the secret, NOT verified
