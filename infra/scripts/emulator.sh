#!/usr/bin/env bash
# Starts, stops or reports on the local AWS emulator (MiniStack on 127.0.0.1, port from
# AWS_ENDPOINT_URL, default 4566). `up` starts it in the background only when nothing answers
# there and returns once it is healthy; `down` stops it only if `up` started it; `status` exits 0
# when the endpoint answers, 3 when it does not. See lib.sh for the knobs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case "${1:-}" in
  up)
    lb_emulator_up
    pid="$(lb__our_pid)"
    if [ -n "$pid" ]; then
      lb_listening "$pid" | sed 's/^/    listening: /' >&2
    fi
    ;;
  down) lb_emulator_down ;;
  status) lb_emulator_status ;;
  *)
    echo "usage: $0 up|down|status" >&2
    exit 2
    ;;
esac
