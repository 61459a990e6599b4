#!/usr/bin/env bash
# `ami sim` push delivery (Push setup 0-0:25.9.0.255) on 127.0.0.1 (free ports): a TCP
# destination that refuses at first (no listener yet) receives the push after a retry, with
# --speed 10 so that a repetition delay of 10 simulated seconds waits about one real second;
# the retries used up when nobody ever listens; the randomised start (randomisation_start_interval)
# within its interval, the same for the same fleet seed; a push over UDP; data_index.
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

lls=(--client 17 --auth low --password s3cret)
ok() { run "$@"; [ $rc -eq 0 ] || fail "$*: rc $rc $(cat "$work/out" "$work/err")"; }
# wait_for FILE PATTERN [POLLS]: polls until FILE matches (FILE is written by a helper process)
wait_for() {
    for _ in $(seq 1 "${3:-400}"); do grep -q -- "$2" "$1" 2>/dev/null && return 0; nap; done
    return 1
}
# a meter (-v: the push log), $url its TCP wrapper
sim() {
    start_sim "$1" --hdlc-port 0 --password s3cret -v "${@:2}"
    url=$tcp
}
PS=40/0-0:25.9.0.255
# set_dest TRANSPORT PORT: send_destination_and_method {enum T, "127.0.0.1:PORT", enum 0}
set_dest() {
    local dest dlen
    dest=$(printf '127.0.0.1:%s' "$2" | od -An -tx1 | tr -d ' \n')
    dlen=$(printf '%02X' $(( ${#dest} / 2 )))
    ok dlms set "$url" $PS:3 "hex:020316${1}09${dlen}${dest}1600" "${lls[@]}"
}
# listener KIND PORT OUT: receives one wrapper frame (tcp or udp) into OUT
listener() {
    "$PY" - "$@" <<'PYEOF' &
import socket, sys
kind, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if kind == 'udp':
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', port))
    open(out + '.ready', 'w').write('1')
    s.settimeout(30)
    data, _ = s.recvfrom(4096)
else:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('127.0.0.1', port))
    s.listen(1)
    open(out + '.ready', 'w').write('1')
    s.settimeout(30)
    c, _ = s.accept()
    c.settimeout(5)
    data = b''
    while len(data) < 8 or len(data) < 8 + int.from_bytes(data[6:8], 'big'):
        b = c.recv(4096)
        if not b:
            break
        data += b
open(out + '.tmp', 'wb').write(data)
import os
os.rename(out + '.tmp', out)
PYEOF
    pids+=($!)
    for _ in $(seq 1 200); do [ -s "$3.ready" ] && return 0; nap; done
    fail "listener on $2 not ready"
}
check_push() { # FILE: a wrapper-framed Data-Notification from wPort 1 to 102 of this meter
    "$PY" - "$1" <<'PYEOF' || fail "push content: $(od -An -tx1 "$1" | head -3)"
import sys
d = open(sys.argv[1], 'rb').read()
assert d[:6] == bytes.fromhex('000100010066'), d.hex()
apdu = d[8:]
assert len(apdu) == int.from_bytes(d[6:8], 'big')
assert apdu[0] == 0x0F and apdu[5] == 0x0C, apdu.hex()
assert b'AMI0000000001' in apdu[18:]
PYEOF
}

# ---- a destination that refuses first, then listens: delivered by a retry
sim sim1 --speed 10
sim1_pid=$sim_pid
port=$(free_port)
set_dest 00 "$port"
ok dlms set "$url" $PS:6 u8:5 "${lls[@]}"
ok dlms set "$url" $PS:7 u16:10 "${lls[@]}"
ok dlms get "$url" $PS:5 $PS:6 $PS:7 --json
grep -q '"value":5' "$work/out" && grep -q '"value":10' "$work/out" || fail "retry settings: $(cat "$work/out")"
ok dlms action "$url" $PS:1 i8:0 "${lls[@]}"
wait_for "$work/sim1" "push: .*refused; retry 1 of 5 in 10 s (1000 ms real)" ||
    fail "no refused attempt and retry in the log: $(grep push "$work/sim1")"
listener tcp "$port" "$work/p1"
wait_for "$work/p1" . 200 || fail "push not received after the retry: $(grep push "$work/sim1")"
check_push "$work/p1"
wait_for "$work/sim1" "push: delivered over tcp (attempt [2-6])" ||
    fail "delivery not logged as a retry: $(grep push "$work/sim1")"
pass "refused, then delivered by retry $(sed -n 's/.*delivered over tcp (attempt \([0-9]*\)).*/\1/p' "$work/sim1" | head -1) ($(stat -c %s "$work/p1") bytes)"

# ---- nobody listens: the retries are used up
port=$(free_port)
set_dest 00 "$port"
ok dlms set "$url" $PS:6 u8:2 "${lls[@]}"
ok dlms set "$url" $PS:7 u16:1 "${lls[@]}"
ok dlms action "$url" $PS:1 i8:0 "${lls[@]}"
wait_for "$work/sim1" "push: .*refused; not delivered after 3 attempt(s)" ||
    fail "retries not used up: $(grep push "$work/sim1")"
grep -q "retry 2 of 2 in 1 s (100 ms real)" "$work/sim1" || fail "second retry: $(grep push "$work/sim1")"
pass "2 retries, then given up"

# ---- data_index: element 2 (the destination) of send_destination_and_method, over UDP
port=$(free_port)
set_dest 01 "$port"
ok dlms set "$url" $PS:2 "hex:0101020412002809060000190900FF0F03120002" "${lls[@]}"
listener udp "$port" "$work/p2"
ok dlms action "$url" $PS:1 i8:0 "${lls[@]}"
wait_for "$work/p2" . 200 || fail "no push over udp: $(grep push "$work/sim1")"
"$PY" - "$work/p2" "$port" <<'PYEOF' || fail "udp push with data_index: $(od -An -tx1 "$work/p2")"
import sys
d = open(sys.argv[1], 'rb').read()
dest = ('127.0.0.1:' + sys.argv[2]).encode()
assert d[:6] == bytes.fromhex('000100010066'), d.hex()
assert d[8 + 18:] == bytes([2, 1, 9, len(dest)]) + dest, d.hex()
PYEOF
pass "udp push with data_index 2: the destination alone"

# ---- randomised start: within [0, interval], the same for the same seed, per meter
spids=()
for run_ in a b; do
    sim "sim_$run_" --speed 1000 --seed push-test
    spids+=("$sim_pid")
    port=$(free_port)
    set_dest 00 "$port"
    ok dlms set "$url" $PS:5 u16:3600 "${lls[@]}"
    ok dlms action "$url" $PS:1 i8:0 "${lls[@]}"
    wait_for "$work/sim_$run_" "push: first attempt in" ||
        fail "no randomised start: $(grep push "$work/sim_$run_")"
done
sa=$(sed -n 's/.*push: first attempt in \([0-9]*\) s.*/\1/p' "$work/sim_a")
sb=$(sed -n 's/.*push: first attempt in \([0-9]*\) s.*/\1/p' "$work/sim_b")
[ -n "$sa" ] && [ "$sa" -le 3600 ] || fail "start delay '$sa' outside [0, 3600]"
[ "$sa" = "$sb" ] || fail "start delay not deterministic: $sa vs $sb"
# stopped while its push waits for the randomised start: the job is dropped, exit 0 (and no
# leak under a sanitizer)
stop "${spids[1]}"
[ "$rc" = 0 ] || fail "stop with a waiting push: rc $rc $(tail -5 "$work/sim_b")"
wait_for "$work/sim_a" "push: .*refused; not delivered after 1 attempt(s)" ||
    fail "randomised attempt not made: $(grep push "$work/sim_a")"
pass "randomised start after $sa s of at most 3600 (simulated; /1000 real at --speed 1000), the same for the same seed"
for p in "$sim1_pid" "${spids[0]}"; do
    stop "$p"
    [ "$rc" = 0 ] || fail "stop: rc $rc"
done
pass "stopped cleanly, also with a push waiting"
