export TEMPID_SECRET="$(npx tempid secret)"
# --- below: checks run by test/readme.test.ts, not shown in the README
test "${#TEMPID_SECRET}" -eq 64
