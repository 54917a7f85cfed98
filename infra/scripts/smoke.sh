#!/usr/bin/env bash
# Deployment smoke test: deploys template.yaml (SAM transform, functions, WebSocket API, Function
# URLs, queues, table) to MiniStack's CloudFormation engine, with the function binaries built for
# this machine, and runs the smoke subset of the end-to-end suite against that deployment.
# The bridged differences are listed in infra/smoke/deploy.py and docs/deploy.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$LB_ROOT"
if [ "${LB_SMOKE_NESTED:-}" != 1 ]; then
  trap lb_emulator_down EXIT
  lb_emulator_up
fi
lb_venv

lb_log "building the function binaries"
functions=$(ls functions)
# (two commands: `--bin smoke` would narrow the first one to that one binary)
cargo build --quiet $(printf -- '-p %s ' $functions)
cargo build --quiet -p lobbybee-e2e --bin smoke
bin="$LB_STATE/smoke-bin"
mkdir -p "$bin"
for f in $functions; do cp "$CARGO_TARGET_DIR/debug/$f" "$bin/"; done

tenant="smoke$(date +%s)"
export SMOKE_API_KEY="smoke-key-$RANDOM" SMOKE_JWT_SECRET="smoke-jwt-$RANDOM" SMOKE_WEBHOOK_SECRET="smoke-webhook-$RANDOM"
export SMOKE_SECRET_JSON="{\"jwt_key\":\"$SMOKE_JWT_SECRET\",\"webhook_secret\":\"$SMOKE_WEBHOOK_SECRET\",\"whatsapp_app_secret\":\"smoke-app\",\"whatsapp_verify_token\":\"smoke-verify\",\"whatsapp_token\":\"smoke-wa\",\"guest_token_secret\":\"smoke-guest\",\"provisioning_api_key\":\"$SMOKE_API_KEY\"}"
lb_log "deploying template.yaml as stack lobbybee-$tenant on $AWS_ENDPOINT_URL"
outputs="$("$LB_VENV/bin/python" infra/smoke/deploy.py "$LB_ROOT/template.yaml" "$bin" "$tenant")"
output() { printf '%s\n' "$outputs" | sed -n "s/^$1=//p"; }
host_of() { # https://ID.lambda-url.REGION.on.aws/ -> ID.lambda-url.REGION.localhost:PORT
  local id="${1#https://}"; id="${id%%.on.aws*}"; echo "$id.localhost:${AWS_ENDPOINT_URL##*:}"
}
export SMOKE_REST_URL="$AWS_ENDPOINT_URL" SMOKE_WEBHOOK_URL="$AWS_ENDPOINT_URL"
export SMOKE_REST_HOST="$(host_of "$(output RestFunctionUrl)")"
export SMOKE_WEBHOOK_HOST="$(host_of "$(output WebhookUrl)")"
export SMOKE_WS_URL="ws://${AWS_ENDPOINT_URL#http://}/_aws/execute-api/$(output WebSocketApiId)/smoke"
lb_log "running the smoke subset against the deployment"
"$CARGO_TARGET_DIR/debug/smoke"
