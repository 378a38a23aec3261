#!/usr/bin/env bash
# Installs Debian's chromium for the browser runner, only when it is missing (playwright-core drives it;
# never `npx playwright install`, which downloads a browser build this machine cannot fetch).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "chromium present: $(/usr/bin/chromium --version 2>/dev/null || echo unknown version)"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "chromium installed: $(/usr/bin/chromium --version)"
