#!/usr/bin/env bash
# Runs the portable suite on every runtime against the built package and prints one closing line for the
# whole matrix. Usage: scripts/runtimes.sh [node] [deno] [bun] [workerd] [chromium]   (default: all five)
# Needs dist/ (npm run build) and, for chromium, /usr/bin/chromium (scripts/install-chromium.sh).
# Exits 1 when any runner fails, ran no test, or printed no closing line.
set -uo pipefail
cd "$(dirname "$0")/.."

runtimes=("$@")
[ ${#runtimes[@]} -eq 0 ] && runtimes=(node deno bun workerd chromium)

if [ ! -f dist/index.js ]; then
  echo "dist/ is missing: building"
  npm run build >/dev/null || { echo "build failed"; exit 1; }
fi

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

command_for() {
  case "$1" in
    node) echo "npx vitest run test/portable/node.test.ts" ;;
    deno) echo "npx deno test --allow-read=test/fixtures --allow-env=TEMPID_SECRET test/portable/run-deno.ts" ;;
    bun) echo "npx bun test ./test/portable/run-bun.ts" ;;
    workerd) echo "npx tsx test/portable/run-workerd.ts" ;;
    chromium) echo "npx tsx test/portable/run-browser.ts" ;;
    *) return 1 ;;
  esac
}

total_passed=0
total_failed=0
status=0
summary=()
for rt in "${runtimes[@]}"; do
  cmd=$(command_for "$rt") || { echo "unknown runtime: $rt"; exit 2; }
  if [ "$rt" = chromium ] && [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
    echo "chromium is missing: run scripts/install-chromium.sh"
    status=1
    summary+=("$rt: missing")
    continue
  fi
  printf '\n==> %s: %s\n' "$rt" "$cmd"
  start=$SECONDS
  timeout 600 $cmd >"$logs/$rt.log" 2>&1
  rc=$?
  # The runner's own closing line, "<runtime>: N passed, N failed" (colours stripped).
  line=$(sed 's/\x1b\[[0-9;]*m//g' "$logs/$rt.log" | grep -E "^$rt: [0-9]+ passed, [0-9]+ failed$" | tail -n 1)
  if [ -z "$line" ]; then
    [ "$rc" -eq 0 ] && rc=1
    line="$rt: no closing line"
  else
    read -r passed failed < <(echo "$line" | sed -E 's/^[a-z]+: ([0-9]+) passed, ([0-9]+) failed$/\1 \2/')
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
    [ "$passed" -eq 0 ] && [ "$rc" -eq 0 ] && rc=1
  fi
  if [ "$rc" -ne 0 ]; then
    status=1
    echo "--- $rt failed (exit $rc); the end of its output:"
    sed 's/\x1b\[[0-9;]*m//g' "$logs/$rt.log" | grep -vE '^(ok - |\(pass\) )|\.\.\. ok' | tail -n 150
  fi
  echo "$line ($((SECONDS - start))s)"
  summary+=("$line")
done

printf '\n'
printf '%s\n' "${summary[@]}"
[ "$status" -ne 0 ] && echo "runtimes: some runner failed"
echo "runtimes: $total_passed passed, $total_failed failed"
exit "$status"
