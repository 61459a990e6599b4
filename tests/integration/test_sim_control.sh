#!/usr/bin/env bash
# `ami sim` control objects through `ami dlms` on 127.0.0.1 (free ports): remote disconnect and
# reconnect (0-0:96.3.10.255) per control mode with the energy frozen while disconnected, the
# public client refused; the activity calendar (0-0:13.0.0.255) read, a passive calendar written
# and activated; the special days table (0-0:11.0.0.255) insert and delete; the end-of-billing
# schedule and script (a billing entry captured, the maximum demand reset); clock shift_time and
# daylight saving; a
# push (0-0:25.9.0.255) delivered over TCP to a listener as a wrapper-framed Data-Notification;
# SAP assignment.
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_sim sim --hdlc-port 0 --password s3cret
[ -n "$wport" ] || fail "port not in '$sim_line'"
url=$tcp
lls=(--client 17 --auth low --password s3cret)

ok() { run "$@"; [ $rc -eq 0 ] || fail "$*: rc $rc $(cat "$work/out" "$work/err")"; }
has() { grep -q -- "$1" "$work/out" || fail "$2: want '$1' in: $(cat "$work/out")"; }

DC=70/0-0:96.3.10.255
ok dlms get "$url" $DC:2 $DC:3 $DC:4
has "boolean true" "connected at start"
has "enum 2" "control mode 2"

# ---- remote disconnect: output off, state disconnected, energy frozen, power 0
ok dlms action "$url" $DC:1 i8:0 "${lls[@]}"
has "success" "remote_disconnect"
ok dlms get "$url" $DC:2 $DC:3 --json
grep -q '"type":"boolean","value":false' "$work/out" || fail "output_state: $(cat "$work/out")"
grep -q '"type":"enum","value":0' "$work/out" || fail "control_state: $(cat "$work/out")"
ok dlms get "$url" 3/1-0:1.8.0.255:2 3/1-0:1.7.0.255:2 --json
e1=$("$PY" -c 'import json,sys; print(json.loads(sys.stdin.readline())["value"]["value"])' <"$work/out")
grep -q '1-0:1.7.0.255:2".*"value":0}' "$work/out" || fail "power while off: $(cat "$work/out")"
"$PY" -c 'import time; time.sleep(2.1)'
ok dlms get "$url" 3/1-0:1.8.0.255:2 --json
e2=$("$PY" -c 'import json,sys; print(json.loads(sys.stdin.readline())["value"]["value"])' <"$work/out")
[ "$e1" = "$e2" ] || fail "energy counted while disconnected: $e1 -> $e2"
pass "remote disconnect: output off, energy frozen at $e1 Wh, power 0"

# ---- the public client may not operate the disconnector
run dlms action "$url" $DC:2 i8:0
[ $rc -eq 1 ] && grep -q "read-write-denied" "$work/err" || fail "public action: $rc $(cat "$work/err")"
# ---- mode 2: remote reconnect connects (transition a)
ok dlms action "$url" $DC:2 i8:0 "${lls[@]}"
ok dlms get "$url" $DC:3
has "enum 1" "reconnected (mode 2)"
# ---- mode 1: remote reconnect only makes it ready for reconnection (transition d)
ok dlms set "$url" $DC:4 enum:1 "${lls[@]}"
ok dlms action "$url" $DC:1 i8:0 "${lls[@]}"
ok dlms action "$url" $DC:2 i8:0 "${lls[@]}"
ok dlms get "$url" $DC:2 $DC:3
has "enum 2" "ready_for_reconnection (mode 1)"
has "boolean false" "still off when ready (mode 1)"
run dlms set "$url" $DC:4 enum:7 "${lls[@]}"
[ $rc -eq 1 ] || fail "control_mode 7 accepted"
pass "disconnect control modes 1 and 2, public refused, mode 7 refused"

# ---- activity calendar: active calendar, passive written then activated
CAL=20/0-0:13.0.0.255
ok dlms get "$url" $CAL:2 $CAL:5
has '"OPENAMI"' "calendar name"
has "07000000" "07:00 switch"
has "0-0:10.0.100.255" "tariff script table"
run dlms set "$url" $CAL:6 oct:57494E544552 "${lls[@]}"
[ $rc -eq 0 ] || fail "set passive name: $(cat "$work/err")"
run dlms set "$url" $CAL:2 oct:00 "${lls[@]}"
[ $rc -eq 1 ] || fail "active name writable"
ok dlms action "$url" $CAL:1 i8:0 "${lls[@]}"
ok dlms get "$url" $CAL:2
has '"WINTER"' "activated calendar name"
pass "calendar read, passive written and activated"

# ---- special days table: the holidays, an insert and a delete
SD=11/0-0:11.0.0.255
ok dlms get "$url" $SD:2
has "FFFF0C19FF" "25 December is a special day"
ok dlms action "$url" $SD:1 hex:02031200050905FFFF0B0BFF1102 "${lls[@]}"
ok dlms get "$url" $SD:2
has "FFFF0B0BFF" "inserted special day"
ok dlms action "$url" $SD:2 u16:5 "${lls[@]}"
ok dlms get "$url" $SD:2
grep -q "FFFF0B0BFF" "$work/out" && fail "deleted special day still there"
run dlms action "$url" $SD:1 hex:02031200050905FFFF0B0BFF1102
[ $rc -eq 1 ] || fail "public client inserted a special day"
pass "special days table: insert, delete, public refused"

# ---- end of billing: schedule and script; clock shift_time
ok dlms get "$url" 22/0-0:15.0.0.255:2 22/0-0:15.0.0.255:4
has "0-0:10.0.1.255" "billing script table"
has "FFFFFF01FF" "every month on the 1st"
ok dlms get "$url" 9/0-0:10.0.1.255:2
has "0-0:98.1.0.255" "the script captures the billing profile"
has "1-0:1.6.2.255" "the script resets the maximum demand"
# entries_in_use of the billing profile and the maximum demand A+, as "N MAX"
bill_state() {
    ok dlms get "$url" 7/0-0:98.1.0.255:7 4/1-0:1.6.0.255:2 --json
    "$PY" -c '
import json, sys
v = [json.loads(l)["value"]["value"] for l in sys.stdin if l.strip()]
print(v[0], v[1])' <"$work/out"
}
# A maximum may close between two requests: then the step is taken again.
for attempt in 1 2 3; do
    read -r n1 mx1 < <(bill_state)
    ok dlms action "$url" 9/0-0:10.0.1.255:1 u16:1 "${lls[@]}"
    has "success" "end-of-billing script"
    read -r n2 mx2 < <(bill_state)
    ok dlms profile "$url" 0-0:98.1.0.255 --last 1 --csv "${lls[@]}"
    last=$(tail -n 1 "$work/out")
    [ "$mx2" = 0 ] && grep -q ",$mx1," <<<"$last," && break
done
[ "$mx2" = 0 ] || fail "maximum demand after the script: $mx2"
[ "$n2" -eq $((n1 + 1)) ] || [ "$n1" -eq 24 ] || fail "billing entries $n1 -> $n2"
grep -q ",$mx1," <<<"$last," || fail "new billing entry $last lacks the maximum $mx1"
pass "end-of-billing script: billing entry $n2 ($last), maximum demand $mx1 -> 0"
run dlms action "$url" 9/0-0:10.0.1.255:1 u16:1
[ $rc -eq 1 ] || fail "public client ran the end-of-billing script"
run dlms action "$url" 9/0-0:10.0.1.255:1 u16:9 "${lls[@]}"
[ $rc -eq 1 ] || fail "unknown script accepted"
ok dlms action "$url" 8/0-0:1.0.0.255:6 i16:60 "${lls[@]}"
run dlms action "$url" 8/0-0:1.0.0.255:6 i16:901 "${lls[@]}"
[ $rc -eq 1 ] || fail "shift_time 901 accepted"
pass "billing schedule and script, clock shift_time"

# ---- daylight saving applied: a window over the whole year (1 January 00:00 to the last day of
# December 23:59:59), deviation 60: status bit 0x80 and local time an hour ahead; then disabled
CK=8/0-0:1.0.0.255
ok dlms set "$url" $CK:5 oct:FFFF0101FF000000008000FF "${lls[@]}"
ok dlms set "$url" $CK:6 oct:FFFF0CFEFF173B3B008000FF "${lls[@]}"
ok dlms set "$url" $CK:7 i8:60 "${lls[@]}"
ok dlms set "$url" $CK:8 bool:true "${lls[@]}"
ok dlms get "$url" $CK:4 $CK:2
has "unsigned 128" "clock status with the DST bit"
ok dlms set "$url" $CK:8 bool:false "${lls[@]}"
ok dlms get "$url" $CK:4
has "unsigned 0" "clock status without DST"
pass "daylight saving applied to the clock's status"

# ---- push over TCP to a listener
"$PY" - "$work/push" <<'PYEOF' &
import socket, sys
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen(1)
open(sys.argv[1] + '.port', 'w').write(str(s.getsockname()[1]))
s.settimeout(20)
c, _ = s.accept()
c.settimeout(5)
data = b''
while len(data) < 8 or len(data) < 8 + int.from_bytes(data[6:8], 'big'):
    b = c.recv(4096)
    if not b:
        break
    data += b
open(sys.argv[1], 'wb').write(data)
PYEOF
pids+=($!)
for _ in $(seq 1 200); do [ -s "$work/push.port" ] && break; nap; done
pport=$(cat "$work/push.port")
dest=$(printf '127.0.0.1:%s' "$pport" | od -An -tx1 | tr -d ' \n')
dlen=$(printf '%02X' $(( ${#dest} / 2 )))
run dlms set "$url" 40/0-0:25.9.0.255:3 "hex:0203160009${dlen}${dest}1600" "${lls[@]}"
[ $rc -eq 0 ] || fail "set push destination: $(cat "$work/err")"
ok dlms action "$url" 40/0-0:25.9.0.255:1 i8:0 "${lls[@]}"
for _ in $(seq 1 200); do [ -s "$work/push" ] && break; nap; done
[ -s "$work/push" ] || fail "no push received"
"$PY" - "$work/push" <<'PYEOF' || fail "push content"
import sys
d = open(sys.argv[1], 'rb').read()
assert d[:6] == bytes.fromhex('000100010066'), d.hex()
apdu = d[8:]
assert len(apdu) == int.from_bytes(d[6:8], 'big')
assert apdu[0] == 0x0F and apdu[5] == 0x0C, apdu.hex()      # data-notification, date-time
body = apdu[18:]
assert body[:2] == bytes.fromhex('0205'), body.hex()      # 5 values
assert body[2:10] == bytes.fromhex('0906000019 0900FF'.replace(' ', '')), body.hex()
assert b'AMI0000000001' in body
PYEOF
ok decode "$(od -An -tx1 "$work/push" | tr -d ' \n')"
grep -qi "data-notification" "$work/out" || fail "ami decode of the push: $(cat "$work/out")"
pass "push delivered over TCP as a Data-Notification ($(stat -c %s "$work/push") bytes)"

# ---- SAP assignment
ok dlms get "$url" 17/0-0:41.0.0.255:2
has '"OPENAMI-SIM"' "SAP assignment list"
pass "SAP assignment"
