#!/usr/bin/env bash
# The browser test: the staff console in headless Chromium (tests/browser/console.test.mjs).
# Installs what it needs when missing (Debian's chromium with apt-get, the pinned playwright-core
# with npm ci), builds the gateway and the CLI, and runs the test against a gateway of its own on
# the emulator at AWS_ENDPOINT_URL (started here unless one answers; test.sh has started it).
# Screenshots go to .local/browser/; with UPDATE_SCREENSHOT=1 the last one becomes docs/console.png.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$LB_ROOT"
trap lb_emulator_down EXIT
lb_emulator_up

if [ ! -x /usr/bin/chromium ]; then
  lb_log "installing Chromium (Debian package chromium)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "browser test: Node.js 20+ and npm are needed (apt-get install nodejs npm, or the machine's own)" >&2
  exit 1
fi
lb_log "npm ci (tests/browser: playwright-core, pinned by package-lock.json)"
(cd tests/browser && npm ci --no-audit --no-fund --silent)

lb_log "building the gateway and the CLI"
cargo build --quiet -p lobbybee-local -p lobbybee-cli

lb_log "browser test: the staff console in headless Chromium"
out="$LB_STATE/browser"
rm -rf "$out"
mkdir -p "$out"
set +e
LOBBYBEE_LOCAL="$CARGO_TARGET_DIR/debug/lobbybee-local" LOBBYBEE_CLI="$CARGO_TARGET_DIR/debug/lobbybee" \
  BROWSER_OUT="$out" LOBBYBEE_METRICS=off \
  node --test --test-reporter=spec tests/browser/console.test.mjs 2>&1 | tee "$out/test.log"
status=${PIPESTATUS[0]}
set -e
# Node's runner counts the top-level test and each of its steps; say it as the other suites do.
passed=$(grep -Eo '^ℹ pass [0-9]+' "$out/test.log" | grep -Eo '[0-9]+' || echo 0)
failed=$(grep -Eo '^ℹ fail [0-9]+' "$out/test.log" | grep -Eo '[0-9]+' || echo 0)
echo "browser test: $passed passed, $failed failed (screenshots in ${out#"$LB_ROOT"/}/)"
if [ "$status" = 0 ] && [ "${UPDATE_SCREENSHOT:-0}" = 1 ]; then
  cp "$out/console.png" docs/console.png
  lb_log "docs/console.png updated"
fi
exit "$status"
