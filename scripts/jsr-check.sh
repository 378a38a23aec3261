#!/usr/bin/env bash
# The JSR package, checked offline: type-checks every entry point of deno.json from the .ts sources, then
# `deno publish --dry-run`, which also runs JSR's slow-types check and lists the files that would ship.
# deno.json keeps "nodeModulesDir": "manual": Deno reads the npm-installed node_modules and never rewrites it.
set -euo pipefail
cd "$(dirname "$0")/.."
entries=$(node -e 'console.log(Object.values(require("./deno.json").exports).join(" "))')
# shellcheck disable=SC2086
npx deno check $entries
out=$(npx deno publish --dry-run --allow-dirty 2>&1 | sed 's/\x1b\[[0-9;]*m//g')
echo "$out"
grep -q "^Success Dry run complete" <<<"$out" || { echo "jsr: deno publish --dry-run did not complete"; exit 1; }
echo "jsr: deno check and deno publish --dry-run passed"
