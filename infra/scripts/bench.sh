#!/usr/bin/env bash
# Prints latency figures of the local stack's hot paths (optimised build of the handlers and the
# gateway, against the emulator). Figures, not assertions: see docs/performance.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$LB_ROOT"
trap lb_emulator_down EXIT
lb_emulator_up
LOBBYBEE_METRICS=off RUST_LOG=error cargo run --quiet --profile bench -p lobbybee-e2e --bin bench
