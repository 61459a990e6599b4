# shellcheck shell=bash disable=SC2034  # (sourced: the variables are for the test)
# Shared preamble of the integration tests, sourced by tests/integration/test_*.sh:
#
#     . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# It is not a test itself: tests/CMakeLists.txt registers test_*.sh only.
#
# What it gives (names the tests already used, so that a test reads the same with it):
#   work             a temporary directory, removed at exit
#   pids             PIDs stopped at exit, each by its PID (TERM, then waited for)
#   fail MSG...      "FAIL: MSG" on stderr, exit 1;   pass MSG...   "ok: MSG" on stdout
#   PY               the python3 to run (the system one when there is one)
#   nap              a 50 ms pause between two polls (never a readiness wait by itself)
#   run ARGS...      "$AMI" ARGS with stdout in $work/out, stderr in $work/err, status in $rc
#   free_port        a free TCP port on 127.0.0.1 (for servers that cannot take port 0)
#   wait_line FILE PID PATTERN [POLLS]
#                    polls FILE until a line matches PATTERN (prints it), failing as soon as
#                    PID has exited or after POLLS polls (default 1200, one minute)
#   stop PID         SIGTERM to PID, waits for it, status in $rc; PID leaves pids
#   sim_start NAME ARGS...
#                    starts `ami sim ARGS...` (stderr in $work/NAME), waits for its
#                    "listening" line and sets: sim_pid, sim_line, wport, hport (empty when
#                    off), tcp and hdlc (URLs on meter 0 of 127.0.0.1)
#   start_sim NAME ARGS...
#                    sim_start NAME --listen 127.0.0.1 --port 0 ARGS... (one meter, free ports)
#
# A test may redefine any of these after sourcing (e.g. a run with a timeout).
# SPDX-License-Identifier: Apache-2.0

: "${AMI:?}"
work=$(mktemp -d)
pids=()
lib_cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap lib_cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
pass() { echo "ok: $*"; }

PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
nap() { sleep 0.05; }

run() {
    set +e
    "$AMI" "$@" >"$work/out" 2>"$work/err"
    rc=$?
    set -e
}

free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# line_done FILE PATTERN: the first line matching PATTERN is there and complete (a program may
# write one line in several pieces: reading it half written lost a port under load)
line_done() {
    local n
    n=$(grep -n -m1 -- "$2" "$1" 2>/dev/null | cut -d: -f1)
    [ -n "$n" ] && [ "$n" -le "$(wc -l <"$1")" ]
}

wait_line() {
    local file=$1 pid=$2 pattern=$3 polls=${4:-1200} i
    for ((i = 0; i < polls; i++)); do
        line_done "$file" "$pattern" && break
        kill -0 "$pid" 2>/dev/null || fail "$(basename "$file"): exited: $(cat "$file")"
        nap
    done
    grep -m1 -- "$pattern" "$file" || fail "$(basename "$file"): no '$pattern': $(cat "$file")"
}

stop() {
    local p keep=()
    kill -TERM "$1" 2>/dev/null || true
    rc=0
    wait "$1" || rc=$?
    for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    pids=(${keep[@]+"${keep[@]}"})
}

sim_start() {
    local name=$1
    shift
    "$AMI" sim "$@" 2>"$work/$name" &
    sim_pid=$!
    pids+=("$sim_pid")
    sim_line=$(wait_line "$work/$name" "$sim_pid" "listening")
    wport=$(sed -n 's/.* wrapper \([0-9]*\),.*/\1/p' <<<"$sim_line")
    hport=$(sed -n 's/.* hdlc \([0-9]*\) .*/\1/p' <<<"$sim_line")
    tcp="tcp://127.0.0.1:$wport"
    hdlc="hdlc+tcp://127.0.0.1:$hport"
}

start_sim() {
    local name=$1
    shift
    sim_start "$name" --listen 127.0.0.1 --port 0 "$@"
}
