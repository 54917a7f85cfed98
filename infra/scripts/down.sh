#!/usr/bin/env bash
# Stops an emulator that up.sh or test.sh started and left behind (e.g. after kill -9).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
lb_emulator_down
