#!/usr/bin/env bash
# Shared by up.sh, test.sh and down.sh: repository paths, AWS defaults for the emulator, the
# project-local virtualenv, and starting/stopping MiniStack (only when nothing already answers
# at AWS_ENDPOINT_URL, so LocalStack or a running MiniStack are used as they are).

LB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LB_STATE="$LB_ROOT/.local"
LB_VENV="$LB_ROOT/.venv"
mkdir -p "$LB_STATE"

export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://127.0.0.1:4566}"
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-$AWS_REGION}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
# Keep build output outside the clone so repeated runs (and fresh clones) reuse it.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lobbybee/target}"

lb_log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Creates a virtualenv and installs a requirements file into it, every transitive version pinned
# by a constraints file, when either changed since the last install:
# `lb_pip_env DIR REQUIREMENTS CONSTRAINTS`.
lb_pip_env() {
  local venv="$1" req="$2" constraints="$3" stamp="$1/.requirements.sha256" want
  want="$(cat "$req" "$constraints" | sha256sum | cut -d' ' -f1)"
  if [ ! -x "$venv/bin/python" ]; then
    lb_log "creating virtualenv ${venv#"$LB_ROOT"/}"
    python3 -m venv "$venv"
  fi
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    lb_log "installing pinned Python packages from ${req#"$LB_ROOT"/}"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" -c "$constraints"
    echo "$want" >"$stamp"
  fi
}

# The emulator's virtualenv (.venv).
lb_venv() { lb_pip_env "$LB_VENV" "$LB_ROOT/infra/requirements.txt" "$LB_ROOT/infra/constraints.txt"; }

# The template tools' virtualenv (.venv-tools: aws-sam-cli).
lb_tools_venv() {
  lb_pip_env "$LB_ROOT/.venv-tools" "$LB_ROOT/infra/requirements-tools.txt" "$LB_ROOT/infra/constraints-tools.txt"
}

# The IaC scanner's virtualenv (.venv-scan: checkov; its boto3 pin conflicts with aws-sam-cli's).
lb_scan_venv() {
  lb_pip_env "$LB_ROOT/.venv-scan" "$LB_ROOT/infra/requirements-scan.txt" "$LB_ROOT/infra/constraints-scan.txt"
}

# The documents' checker's virtualenv (.venv-docs: openapi-spec-validator).
lb_docs_venv() {
  lb_pip_env "$LB_ROOT/.venv-docs" "$LB_ROOT/infra/requirements-docs.txt" "$LB_ROOT/infra/constraints-docs.txt"
}

lb_healthy() {
  curl -fsS --max-time 2 "$AWS_ENDPOINT_URL/_localstack/health" >/dev/null 2>&1
}

# Starts MiniStack on the port of AWS_ENDPOINT_URL, bound to loopback, unless something answers.
lb_emulator_up() {
  if lb_healthy; then
    lb_log "using the emulator already answering at $AWS_ENDPOINT_URL"
    LB_EMULATOR_STARTED=0 # not ours: lb_emulator_down leaves it running
    return 0
  fi
  lb_venv
  local port="${AWS_ENDPOINT_URL##*:}"
  port="${port%%/*}"
  lb_log "starting MiniStack on 127.0.0.1:$port"
  (
    cd "$LB_STATE" || exit 1
    # Started without AWS_ENDPOINT_URL in its environment, like an emulator started any other
    # way: what it runs (the smoke deployment's functions) must be given the endpoint itself.
    env -u AWS_ENDPOINT_URL BIND_HOST=127.0.0.1 IOT_MTLS_ENABLED=0 GATEWAY_PORT="$port" PERSIST_STATE=0 \
      LOG_LEVEL=WARNING setsid "$LB_VENV/bin/ministack" >"$LB_STATE/ministack.log" 2>&1 </dev/null &
    echo $! >"$LB_STATE/ministack.pid"
  )
  LB_EMULATOR_STARTED=1
  local waited=0
  until lb_healthy; do
    sleep 0.2
    waited=$((waited + 1))
    if [ "$waited" -gt 300 ]; then
      lb_log "MiniStack did not become healthy in 60 s; its log:"
      tail -n 40 "$LB_STATE/ministack.log" >&2
      return 1
    fi
  done
  lb_log "MiniStack is up (pid $(cat "$LB_STATE/ministack.pid"))"
}

# Stops MiniStack if lb_emulator_up started it (or, from down.sh, if our pid file names a running
# MiniStack). A stale pid file that now names another program is removed, the program untouched.
lb_emulator_down() {
  [ "${LB_EMULATOR_STARTED:-}" != 0 ] || return 0
  local pidfile="$LB_STATE/ministack.pid"
  [ -f "$pidfile" ] || return 0
  local pid
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null && grep -q ministack "/proc/$pid/cmdline" 2>/dev/null; then
    lb_log "stopping MiniStack (pid $pid)"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}
