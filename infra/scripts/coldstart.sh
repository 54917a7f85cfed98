#!/usr/bin/env bash
# Cold start of every function (docs/performance.md): builds each Lambda binary with the release
# profile (what is deployed; x86_64 here), then starts each one several times against a minimal
# Lambda runtime API stub and prints its size, the time from process start to ready for the first
# event, the time to its answer, and its resident memory after the first event (min/median/max).
#   infra/scripts/coldstart.sh [--runs 10]
# Figures, not assertions.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$LB_ROOT"
trap lb_emulator_down EXIT
lb_emulator_up
packages=()
for function in ws-connect ws-default ws-disconnect guest-webhook rest-api outbound-sender outbound-sweeper push-retry; do
  packages+=(-p "$function")
done
lb_log "building the functions (profile release: LTO, one codegen unit; many minutes from cold)"
cargo build --quiet --release "${packages[@]}"
lb_log "building the stub (profile bench)"
cargo build --quiet --profile bench -p lobbybee-e2e --bin coldstart
# Cargo puts the `bench` profile's binaries under release/, next to the functions.
"$CARGO_TARGET_DIR/release/coldstart" --bin-dir "$CARGO_TARGET_DIR/release" "$@"
