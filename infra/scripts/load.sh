#!/usr/bin/env bash
# An open-loop load generator against the local stack (docs/performance.md): starts the emulator
# if nothing answers at AWS_ENDPOINT_URL, builds the gateway and the generator optimised, and runs
# the generator, which starts the gateway as a process of its own, provisions a hotel, opens the
# sockets, sends at the given rates and prints what arrived, the latencies, the CPU and memory of
# the gateway and the emulator, and the AWS calls per message. Flags go to the generator:
#   infra/scripts/load.sh --staff 50 --departments 1 --simple 50 --meta 0 --replies 0 --duration 30
#   infra/scripts/load.sh --fan-out 1,10,100,500
# The webhook runs at most at its reserved concurrency (template.yaml's; --webhook-concurrency N);
# a 429 is resent with backoff, as Meta does, and counted.
# Figures, not assertions; it exits 3 when a message was lost, duplicated, misrouted or reordered.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$LB_ROOT"
trap lb_emulator_down EXIT
lb_emulator_up
lb_log "building the gateway and the load generator (profile bench)"
cargo build --quiet --profile bench -p lobbybee-local -p lobbybee-e2e --bin lobbybee-local --bin load
emulator=()
pid="$(cat "$LB_STATE/ministack.pid" 2>/dev/null || true)"
if [ -n "$pid" ] && grep -q ministack "/proc/$pid/cmdline" 2>/dev/null; then
  emulator=(--emulator-pid "$pid")
fi
# Cargo puts the `bench` profile's binaries under release/.
"$CARGO_TARGET_DIR/release/load" --template "$LB_ROOT/template.yaml" "${emulator[@]}" "$@"
