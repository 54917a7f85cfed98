#!/usr/bin/env bash
# Starts the whole system locally: the AWS emulator (MiniStack, unless one already answers at
# AWS_ENDPOINT_URL), the tables/queues/bucket of template.yaml, the demo hotel, and the local
# API Gateway on 127.0.0.1:${PORT:-8080}, then prints the URLs and demo tokens. Ctrl-C stops
# everything it started.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$LB_ROOT"
trap lb_emulator_down EXIT

lb_emulator_up
export LOBBYBEE_METRICS="${LOBBYBEE_METRICS:-off}" # CloudWatch metric lines are noise locally
lb_log "building the local gateway"
cargo build --quiet -p lobbybee-local
"$CARGO_TARGET_DIR/debug/lobbybee-local" up --port "${PORT:-8080}" --template "$LB_ROOT/template.yaml" --tenant "${TENANT:-local}"
