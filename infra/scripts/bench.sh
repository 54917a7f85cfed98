#!/usr/bin/env bash
# Prints latency figures of the local stack's hot paths (optimised build of the handlers and the
# gateway, against the emulator), and the AWS calls each path makes (per guest message, staff
# message, status webhook and list call, with DynamoDB's consumed capacity). Figures, not
# assertions: see docs/performance.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$LB_ROOT"
trap lb_emulator_down EXIT
lb_emulator_up
LOBBYBEE_METRICS=off RUST_LOG=error cargo run --quiet --profile bench -p lobbybee-e2e --bin bench
