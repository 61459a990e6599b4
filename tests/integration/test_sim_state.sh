#!/usr/bin/env bash
# `ami sim --state-dir`: each meter's server invocation counter is written ahead to
# DIR/<system title>.server (mode 0600) and a restarted simulator continues above it, so that a
# client that keeps the last counter it accepted (`ami dlms --state-dir`) goes on reading after
# the restart (it refuses a counter that does not grow). Without --state-dir the counters start
# from the wall clock (far above the first run's).
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

EK=000102030405060708090A0B0C0D0E0F
AK=D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF
KEK=31313131313131313131313131313131
ST=4775727578313233
SST=4F414D0000000042

sim_help=$("$AMI" sim --help)
grep -q -- "--state-dir" <<<"$sim_help" || fail "ami sim --help does not document --state-dir"

# meter: starts the simulator with the test keys (sets sim_pid, tcp)
meter() { start_sim sim --hdlc-port 0 --ek $EK --ak $AK --kek $KEK --system-title $SST "$@"; }
stop_sim() {
    stop "$sim_pid"
    [ $rc -eq 0 ] || fail "sim did not exit 0 on SIGTERM: $rc"
}
sec=(--client 1 --auth hls-gmac --security auth-enc --suite 0 --system-title $ST
     --server-system-title $SST --ek $EK --ak $AK --state-dir "$work/client")
counter() { sed -n 's/^server_ic \([0-9]*\)$/\1/p' "$1"; }

# 1. first run: the counter file appears, written ahead
meter --state-dir "$work/meters"
run dlms get "$tcp" 1-0:1.8.0.255:2 "${sec[@]}"
[ $rc -eq 0 ] || fail "ciphered get: $rc $(tail -3 "$work/err")"
f="$work/meters/$SST.server"
[ -f "$f" ] || fail "no counter file $f: $(ls -la "$work/meters")"
[ "$(stat -c %a "$f")" = 600 ] || fail "counter file mode $(stat -c %a "$f")"
first=$(counter "$f")
[ -n "$first" ] && [ "$first" -ge 1 ] || fail "counter file: $(cat "$f")"
seen=$(counter "$work/client/$SST.c1")
[ -n "$seen" ] && [ "$seen" -ge 1 ] && [ "$seen" -le "$first" ] ||
    fail "client state: $(cat "$work/client/$SST.c1"), reserved $first"
pass "counter reserved up to $first, the client saw $seen"

# 2. restart: the counters continue above the reservation, the client keeps reading
stop_sim
meter --state-dir "$work/meters"
run dlms get "$tcp" 1-0:1.8.0.255:2 "${sec[@]}"
[ $rc -eq 0 ] || fail "ciphered get after a restart: $rc $(tail -3 "$work/err")"
second=$(counter "$f")
[ "$second" -gt "$first" ] || fail "counter file not advanced: $first -> $second"
seen2=$(counter "$work/client/$SST.c1")
[ "$seen2" -gt "$first" ] || fail "the restarted meter used $seen2, not above $first"
pass "after a restart the meter continued at $seen2 (reserved up to $second)"

# 3. without --state-dir: counters from the wall clock, above the first runs'
stop_sim
meter
run dlms get "$tcp" 1-0:1.8.0.255:2 "${sec[@]}"
[ $rc -eq 0 ] || fail "ciphered get without --state-dir: $rc $(tail -3 "$work/err")"
seen3=$(counter "$work/client/$SST.c1")
[ "$seen3" -gt 100000000 ] || fail "wall-clock counter $seen3"
pass "without --state-dir the counter started from the wall clock ($seen3)"
stop_sim

# 4. a state directory that cannot be created: refused at start
set +e
"$AMI" sim --listen 127.0.0.1 --port 0 --hdlc-port 0 --state-dir /proc/nonexistent/x \
    2>"$work/sim"
rc=$?
set -e
[ $rc -ne 0 ] && grep -q "state-dir" "$work/sim" || fail "bad --state-dir: $rc $(cat "$work/sim")"
pass "an unusable --state-dir is refused"
