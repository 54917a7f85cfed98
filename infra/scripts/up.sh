#!/usr/bin/env bash
# Starts the whole system locally: the AWS emulator (MiniStack, unless one already answers at
# AWS_ENDPOINT_URL), the tables/queues/bucket of template.yaml, the demo hotel, and the local
# API Gateway on 127.0.0.1:${PORT:-8080}, then prints the staff console's URL, the other URLs and
# the demo tokens. Ctrl-C stops everything it started.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$LB_ROOT"
trap lb_emulator_down EXIT

lb_emulator_up
export LOBBYBEE_METRICS="${LOBBYBEE_METRICS:-off}" # CloudWatch metric lines are noise locally
lb_log "building the local gateway and the lobbybee CLI"
cargo build --quiet -p lobbybee-local -p lobbybee-cli
export LOBBYBEE_CLI="$CARGO_TARGET_DIR/debug/lobbybee" # named in the printed hints
"$CARGO_TARGET_DIR/debug/lobbybee-local" up --port "${PORT:-8080}" --template "$LB_ROOT/template.yaml" --tenant "${TENANT:-local}"
