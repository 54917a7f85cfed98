#!/usr/bin/env bash
# Runs every check and test on a fresh machine: installs the emulator into .venv, starts it
# (unless one already answers at AWS_ENDPOINT_URL), lints the SAM template and its expansion,
# checks the expansion's tags, scans the template with checkov, checks formatting and clippy,
# runs the whole test suite against the emulator, checks every AWS call the functions made
# against their roles, runs the staff console in headless Chromium (installing Chromium and the
# pinned playwright-core when missing), deploys the template to the emulator's
# CloudFormation and smoke-tests that deployment, and stops what it started, also on failure.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$LB_ROOT"
trap lb_emulator_down EXIT

lb_emulator_up

lb_log "sam validate --lint template.yaml"
lb_tools_venv
SAM_CLI_TELEMETRY=0 "$LB_ROOT/.venv-tools/bin/sam" validate --lint --template "$LB_ROOT/template.yaml" --region "$AWS_REGION"

lb_log "cfn-lint (informational checks on) on template.yaml as the SAM transform expands it"
"$LB_ROOT/.venv-tools/bin/python" "$LB_ROOT/infra/lint/expand.py" "$LB_ROOT/template.yaml" >"$LB_STATE/expanded.json"
"$LB_ROOT/.venv-tools/bin/cfn-lint" --include-checks I --regions "$AWS_REGION" -- "$LB_STATE/expanded.json"

lb_log "tags: every taggable resource of the expansion carries lobbybee:tenant"
"$LB_ROOT/.venv-tools/bin/python" "$LB_ROOT/infra/lint/tags.py" "$LB_STATE/expanded.json"

lb_log "checkov (pinned) on template.yaml: no failed check, every skip with its reason"
lb_scan_venv
"$LB_ROOT/.venv-scan/bin/python" "$LB_ROOT/infra/lint/scan.py" "$LB_ROOT/.venv-scan/bin/checkov" "$LB_ROOT/template.yaml"

lb_log "docs/openapi.yaml is a valid OpenAPI document"
lb_docs_venv
"$LB_ROOT/.venv-docs/bin/openapi-spec-validator" "$LB_ROOT/docs/openapi.yaml"

lb_log "cargo fmt --check"
cargo fmt --all -- --check

lb_log "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --quiet -- -D warnings

lb_log "cargo test (unit, store, end-to-end) against $AWS_ENDPOINT_URL"
export LOBBYBEE_CALLS_DIR="$LB_STATE/aws-calls" # every AWS call of every function, for the IAM check
rm -rf "$LOBBYBEE_CALLS_DIR"
: >"$LB_STATE/test.log"
status=0
# Runs one suite, its output also into the log; a failing suite fails the run but the others
# still run (a command in an `if` does not stop the script).
suite() { if ! "$@" 2>&1 | tee -a "$LB_STATE/test.log"; then status=1; fi; }
LOBBYBEE_METRICS=off suite cargo test --workspace --no-fail-fast --quiet

lb_log "permissions: every AWS call of each function is allowed by its role in template.yaml, every grant is used"
suite cargo run --quiet -p lobbybee-e2e --bin permissions

lb_log "browser test: the staff console in headless Chromium (infra/scripts/browser.sh)"
suite "$LB_ROOT/infra/scripts/browser.sh"

lb_log "deployment smoke test: template.yaml on the emulator's CloudFormation"
LB_SMOKE_NESTED=1 suite "$LB_ROOT/infra/scripts/smoke.sh"

passed=$(grep -Eo '[0-9]+ passed' "$LB_STATE/test.log" | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' "$LB_STATE/test.log" | awk '{s+=$1} END {print s+0}')
echo "total: $passed passed, $failed failed"
exit "$status"
