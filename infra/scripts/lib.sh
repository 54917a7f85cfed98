#!/usr/bin/env bash
# Functions for the local AWS emulator, sourced by the other scripts (safe under set -euo pipefail):
# where the repository and its state live, the AWS defaults that point the SDKs at the emulator,
# the project-local virtualenv with the pinned MiniStack, and starting/stopping MiniStack.
#
# The emulator is started only when nothing answers at AWS_ENDPOINT_URL, so a LocalStack (or a
# MiniStack someone else started) is used as it is and never stopped by us. What we start is
# recorded in .local/ministack.pid, and only that process is ever stopped.
#
# Knobs (all optional):
#   AWS_ENDPOINT_URL        where the emulator answers (default http://127.0.0.1:4566); its port is
#                           the port MiniStack is started on
#   LB_EMULATOR_PERSIST=1   keep DynamoDB/SQS/... state (and S3 objects) across restarts, under
#                           .local/ministack-state and .local/ministack-s3 (default: fresh state)
#   LB_EMULATOR_LOG_LEVEL   MiniStack's LOG_LEVEL (default WARNING)
#   LB_EMULATOR_TIMEOUT     seconds to wait for the health check (default 60)
#   LB_STATE_DIR            where pid file and logs go (default <repo>/.local)

# Refuse to be executed: the functions only make sense in the caller's shell.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  echo "lib.sh is meant to be sourced: source infra/scripts/lib.sh" >&2
  exit 2
fi

LB__LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# The repository root (two levels above this file).
lb_root() { (cd "$LB__LIB_DIR/../.." && pwd); }

# The git-ignored state directory (<repo>/.local), created on first use.
lb_state_dir() {
  local dir="${LB_STATE_DIR:-$(lb_root)/.local}"
  mkdir -p "$dir"
  printf '%s\n' "$dir"
}

lb_log() { printf '==> %s\n' "$*" >&2; }
lb_err() { printf 'error: %s\n' "$*" >&2; }

# Exports the AWS settings the SDKs and the emulator expect, keeping any value already set.
lb_defaults() {
  export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://127.0.0.1:4566}"
  export AWS_REGION="${AWS_REGION:-us-east-1}"
  export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-$AWS_REGION}"
  export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
  export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
}

# Creates <repo>/.venv if missing and installs infra/requirements.txt into it when the file differs
# from what was last installed there (a sha256 stamp in .venv/.requirements.sha256).
lb_venv() {
  local root venv req stamp want
  root="$(lb_root)"
  venv="$root/.venv"
  req="$root/infra/requirements.txt"
  stamp="$venv/.requirements.sha256"
  [ -f "$req" ] || { lb_err "missing $req"; return 1; }
  want="$(sha256sum "$req" | cut -d' ' -f1)"
  # A venv whose interpreter no longer runs (its base Python moved) is rebuilt.
  if [ -d "$venv" ] && ! "$venv/bin/python" -c '' >/dev/null 2>&1; then
    lb_log "rebuilding the broken virtualenv .venv"
    rm -rf "$venv"
  fi
  if [ ! -x "$venv/bin/python" ]; then
    lb_log "creating virtualenv .venv"
    python3 -m venv "$venv" || { lb_err "python3 -m venv $venv failed"; return 1; }
  fi
  if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ] || [ ! -x "$venv/bin/ministack" ]; then
    lb_log "installing pinned packages from infra/requirements.txt into .venv"
    rm -f "$stamp"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" ||
      { lb_err "pip install -r $req failed"; return 1; }
    printf '%s\n' "$want" >"$stamp"
  fi
}

# Succeeds when something answers the LocalStack-compatible health endpoint (MiniStack and
# LocalStack both serve /_localstack/health).
lb_healthy() {
  curl -fsS --max-time 2 -o /dev/null "${AWS_ENDPOINT_URL%/}/_localstack/health" 2>/dev/null
}

# Host and port of AWS_ENDPOINT_URL: `lb__endpoint_host`, `lb__endpoint_port`.
lb__endpoint_host() {
  local rest="${AWS_ENDPOINT_URL#*://}"
  rest="${rest%%/*}"
  if [[ "$rest" == \[* ]]; then rest="${rest#\[}"; printf '%s\n' "${rest%%\]*}"; else printf '%s\n' "${rest%%:*}"; fi
}
lb__endpoint_port() {
  local rest="${AWS_ENDPOINT_URL#*://}"
  rest="${rest%%/*}"
  rest="${rest##*\]}"
  if [[ "$rest" == *:* ]]; then printf '%s\n' "${rest##*:}"
  elif [[ "$AWS_ENDPOINT_URL" == https://* ]]; then echo 443
  else echo 80; fi
}

# Succeeds while the process runs (a zombie counts as gone).
lb__alive() {
  local state
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)"
  [ -n "$state" ] && [ "$state" != Z ]
}

# The pid in .local/ministack.pid if that process is alive and is a MiniStack, else nothing.
lb__our_pid() {
  local pidfile pid
  pidfile="$(lb_state_dir)/ministack.pid"
  [ -f "$pidfile" ] || return 0
  pid="$(tr -dc '0-9' <"$pidfile")"
  [ -n "$pid" ] || return 0
  lb__alive "$pid" || return 0
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q ministack || return 0
  printf '%s\n' "$pid"
}

# The sockets (tcp and udp) a process listens on, one `proto address:port` a line.
lb_listening() {
  ss -ltunpH 2>/dev/null | awk -v pid="pid=$1," 'index($0, pid) { print $1, $5 }' | sort -u
}

# Fails (and says which) if the process listens anywhere but on loopback.
lb_check_loopback() {
  local pid="$1" bad
  bad="$(lb_listening "$pid" | awk '$2 !~ /^(127\.[0-9.]+|\[::1\]|::1):[0-9]+$/')"
  if [ -n "$bad" ]; then
    lb_err "MiniStack (pid $pid) listens on non-loopback addresses:"
    printf '  %s\n' "$bad" >&2
    return 1
  fi
}

# Starts MiniStack on 127.0.0.1:<port of AWS_ENDPOINT_URL> unless something already answers there.
# Sets LB_EMULATOR_STARTED=1 when it started one, 0 when it found one running.
lb_emulator_up() {
  lb_defaults
  local state pidfile log timeout host port pid deadline root
  if lb_healthy; then
    LB_EMULATOR_STARTED=0
    lb_log "using the emulator already answering at $AWS_ENDPOINT_URL"
    return 0
  fi
  host="$(lb__endpoint_host)"
  port="$(lb__endpoint_port)"
  case "$host" in
    127.* | localhost | ::1) ;;
    *) lb_err "nothing answers at $AWS_ENDPOINT_URL and it is not a loopback address; start it there"
       return 1 ;;
  esac
  if [[ "$AWS_ENDPOINT_URL" == https://* ]]; then
    lb_err "AWS_ENDPOINT_URL is https; the local MiniStack is started on plain http"
    return 1
  fi
  root="$(lb_root)"
  state="$(lb_state_dir)"
  pidfile="$state/ministack.pid"
  log="$state/ministack.log"
  timeout="${LB_EMULATOR_TIMEOUT:-60}"

  pid="$(lb__our_pid)"
  if [ -n "$pid" ]; then
    lb_err "MiniStack pid $pid (from $pidfile) is running but $AWS_ENDPOINT_URL does not answer;" \
      "stop it with infra/scripts/emulator.sh down"
    return 1
  fi
  rm -f "$pidfile"

  lb_venv
  local persist=0
  [ "${LB_EMULATOR_PERSIST:-0}" = 1 ] && persist=1
  lb_log "starting MiniStack on 127.0.0.1:$port (log: ${log#"$root"/})"
  # setsid -f: MiniStack runs in its own session and process group (the pid written by the inner
  # shell, which execs MiniStack, is also the group id), so it outlives this shell and Ctrl-C here,
  # and can be stopped as a group. The inner shell writes its own pid ($$, kept by exec) to $1 and
  # becomes $2.
  local launcher="echo \$\$ >\"\$1\"; exec \"\$2\""
  BIND_HOST=127.0.0.1 \
    IOT_MTLS_ENABLED=0 \
    SFTP_ENABLED=0 \
    SFTP_HOST=127.0.0.1 \
    GATEWAY_PORT="$port" \
    MINISTACK_REGION="$AWS_REGION" \
    LOG_LEVEL="${LB_EMULATOR_LOG_LEVEL:-WARNING}" \
    PERSIST_STATE="$persist" \
    S3_PERSIST="$persist" \
    STATE_DIR="$state/ministack-state" \
    S3_DATA_DIR="$state/ministack-s3" \
    setsid -f sh -c "$launcher" sh "$pidfile" "$root/.venv/bin/ministack" \
    >"$log" 2>&1 </dev/null
  LB_EMULATOR_STARTED=1

  deadline=$((SECONDS + timeout))
  until lb_healthy; do
    pid="$(tr -dc '0-9' <"$pidfile" 2>/dev/null || true)"
    if { [ -n "$pid" ] && ! lb__alive "$pid"; } || [ "$SECONDS" -ge "$deadline" ]; then
      if [ "$SECONDS" -ge "$deadline" ]; then
        lb_err "MiniStack did not answer at $AWS_ENDPOINT_URL within ${timeout}s; last lines of its log:"
      else
        lb_err "MiniStack exited during start-up; last lines of its log:"
      fi
      tail -n 40 "$log" >&2 || true
      lb_emulator_down >/dev/null 2>&1 || true
      return 1
    fi
    sleep 0.2
  done
  pid="$(tr -dc '0-9' <"$pidfile")"
  lb_log "MiniStack is up at $AWS_ENDPOINT_URL (pid $pid)"
  if ! lb_check_loopback "$pid"; then
    lb_emulator_down
    return 1
  fi
}

# Stops MiniStack if we started it: never when this shell's lb_emulator_up found one already
# running, otherwise only the live MiniStack named by .local/ministack.pid.
lb_emulator_down() {
  if [ "${LB_EMULATOR_STARTED:-}" = 0 ]; then
    return 0
  fi
  local pidfile pid
  pidfile="$(lb_state_dir)/ministack.pid"
  pid="$(lb__our_pid)"
  if [ -z "$pid" ]; then
    rm -f "$pidfile"
    return 0
  fi
  lb_log "stopping MiniStack (pid $pid)"
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  local _
  for _ in $(seq 1 100); do
    [ -n "$(lb__our_pid)" ] || break
    sleep 0.1
  done
  if [ -n "$(lb__our_pid)" ]; then
    lb_log "MiniStack did not stop within 10 s; killing it"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      [ -n "$(lb__our_pid)" ] || break
      sleep 0.1
    done
  fi
  rm -f "$pidfile"
  LB_EMULATOR_STARTED=
}

# Prints whether the emulator answers, and the pid and sockets of the one we started.
lb_emulator_status() {
  lb_defaults
  local pid
  pid="$(lb__our_pid)"
  if lb_healthy; then
    echo "healthy: $AWS_ENDPOINT_URL answers"
  else
    echo "down: nothing answers at $AWS_ENDPOINT_URL"
  fi
  if [ -n "$pid" ]; then
    echo "started by these scripts: pid $pid (log: $(lb_state_dir)/ministack.log)"
    lb_listening "$pid" | sed 's/^/  listening: /'
  else
    echo "not started by these scripts (no live pid in $(lb_state_dir)/ministack.pid)"
  fi
  if lb_healthy; then return 0; else return 3; fi
}
