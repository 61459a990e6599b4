#!/usr/bin/env bash
# `ami dlms` end to end over tcp://, udp:// and hdlc+tcp:// against replay servers built from the recorded Gurux
# wrapper session (testdata/dlms/session_gurux_wrapper_ln_read_all_incl_selective_access.txt) and HDLC session (noauth_get_clock):
# the server answers each request with the response the Gurux server gave to the same request
# (invoke id aside), GET-next by block number within the current read; anything else gets an
# exception-response. A password other than "Gurux" is refused with AARE authentication-failure.
#  - get (class given, class looked up in the object list with block transfer), objects,
#    clock, --json, --trace (layers decoded, password redacted);
#  - a service the server refuses (exception-response named), wrong password (ACSE diagnostic
#    named), connection refused (TCP named), usage errors exit 2.
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail

: "${AMI_TESTDATA:?}"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cat >"$work/replay.py" <<'PYEOF'
import socket, sys
path, ready = sys.argv[1], sys.argv[2]
pairs, tx = [], None
for line in open(path):
    f = line.split()
    if len(f) >= 2 and f[0] in ("TX", "RX"):
        b = bytes.fromhex(f[1])[8:]
        if f[0] == "TX":
            tx = b
        elif tx is not None:
            pairs.append((tx, b))
            tx = None
def norm(b):
    return b[:2] + b"\0" + b[3:] if len(b) > 3 and b[0] >= 0xC0 else b
table, sel, top = {}, {}, None
for q, r in pairs:
    if q[0] == 0x60 or q[0] == 0x62:
        table.setdefault(bytes([q[0]]), r)
    elif q[:2] == b"\xC0\x02":
        table.setdefault((top, q[3:]), r)
    else:
        top = norm(q)
        table.setdefault(top, r)
        if len(q) > 12 and q[1] == 1 and q[12] == 1:
            sel.setdefault(top[:14], r)
AARE_FAIL = bytes.fromhex("6117A109060760857405080101A203020101A305A10302010D")
def answer(q, cur):
    if q[0] == 0x60:
        r = table[b"\x60"]
        if b"\x8b\x07" in q and b"Gurux" not in q:
            r = AARE_FAIL
    elif q[0] == 0x62:
        r = table[b"\x62"]
    elif q[:2] == b"\xC0\x02":
        r = table.get((cur, q[3:]), b"\xD8\x01\x02")
    else:
        cur = norm(q)
        r = table.get(cur)
        if r is None and len(q) > 12 and q[1] == 1 and q[12] == 1:
            # selective access with other bounds: the recorded read of the object
            r = sel.get(cur[:14])
        if r is None:
            r = b"\xD8\x01\x02"
    if r[0] >= 0xC4 and r[0] != 0xD8 and len(q) > 2:
        r = r[:2] + q[2:3] + r[3:]
    return r, cur
import os
udp = len(sys.argv) > 3 and sys.argv[3] == "udp"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
if not udp:
    s.listen(4)
open(ready + ".tmp", "w").write(str(s.getsockname()[1]))
os.rename(ready + ".tmp", ready)
def recv_exact(c, n):
    b = b""
    while len(b) < n:
        k = c.recv(n - len(b))
        if not k:
            raise EOFError
        b += k
    return b
cur = None
while udp:
    d, peer = s.recvfrom(70000)
    r, cur = answer(d[8:], cur)
    s.sendto(b"\x00\x01" + d[4:6] + d[2:4] + len(r).to_bytes(2, "big") + r, peer)
while True:
    c, _ = s.accept()
    cur = None
    try:
        while True:
            h = recv_exact(c, 8)
            q = recv_exact(c, int.from_bytes(h[6:8], "big"))
            r, cur = answer(q, cur)
            c.sendall(b"\x00\x01" + h[4:6] + h[2:4] + len(r).to_bytes(2, "big") + r)
    except (EOFError, ConnectionError):
        pass
    c.close()
PYEOF

"$PY" "$work/replay.py" "$AMI_TESTDATA/dlms/session_gurux_wrapper_ln_read_all_incl_selective_access.txt" "$work/port" &
pids+=($!)
for _ in $(seq 1 200); do [ -f "$work/port" ] && break; sleep 0.05; done
[ -f "$work/port" ] || fail "replay server did not start"
url="tcp://127.0.0.1:$(cat "$work/port")"

run dlms get "$url" 8/0.0.1.0.0.255:2
[ $rc -eq 0 ] || fail "get clock: $rc $(cat "$work/err")"
grep -q "octet-string" "$work/out" || fail "get clock output: $(cat "$work/out")"
pass "get with the class given"

run dlms get "$url" 0.0.1.0.0.255:2 --json
[ $rc -eq 0 ] || fail "get (class looked up): $rc $(cat "$work/err")"
grep -q '"ref":"0.0.1.0.0.255:2"' "$work/out" || fail "get --json: $(cat "$work/out")"
pass "get with the class from the object list (block transfer), --json"

run dlms objects "$url"
[ $rc -eq 0 ] || fail "objects: $rc $(cat "$work/err")"
grep -qE "^ +8 v0 0-0:1\.0\.0\.255" "$work/out" || fail "objects: no clock: $(head "$work/out")"
[ "$(wc -l <"$work/out")" -ge 40 ] || fail "objects: too few lines"
pass "objects ($(wc -l <"$work/out") objects)"

run dlms clock "$url" --json
[ $rc -eq 0 ] || fail "clock: $rc $(cat "$work/err")"
grep -q '"clock":' "$work/out" || fail "clock: $(cat "$work/out")"
pass "clock"

run dlms get "$url" 8/0.0.1.0.0.255:2 --trace
[ $rc -eq 0 ] || fail "trace: $rc"
grep -q "WRAPPER v1" "$work/err" && grep -q "AARQ" "$work/err" && grep -q "get-request" "$work/err" \
    || fail "trace: $(head -20 "$work/err")"
pass "--trace"

run dlms get "$url" 8/0.0.1.0.0.255:2 --auth low --password secret --trace
[ $rc -eq 1 ] || fail "wrong password: rc $rc"
grep -q "ACSE: association rejected-permanent" "$work/err" || fail "wrong password: $(tail -3 "$work/err")"
grep -q "authentication-failure" "$work/err" || fail "wrong password diag: $(tail -3 "$work/err")"
if grep -q "secret" "$work/err" || grep -qi "736563726574" "$work/err"; then fail "password in the trace"; fi
pass "wrong password refused naming the ACSE diagnostic, redacted in the trace"

run dlms set "$url" 8/0.0.1.0.0.255:3 i16:-60
[ $rc -eq 1 ] || fail "refused set: rc $rc"
grep -q "exception-response" "$work/err" || fail "refused set: $(cat "$work/err")"
pass "a refused service names the xDLMS outcome"

# The Gurux server of the recording answers both selective reads of 1.0.99.98.0.255 with
# data-access-result temporary-failure: the outcome must be named, the requests well formed.
run dlms profile "$url" 1.0.99.98.0.255 --last 1 --trace
[ $rc -eq 1 ] || fail "profile --last: rc $rc"
grep -q "entry-descriptor" "$work/err" || fail "profile --last: no entry descriptor"
grep -q "0000636200FF0700\|0100636200FF0700" "$work/err" || fail "profile --last: entries_in_use not read"
grep -q "data-access-result temporary-failure" "$work/err" || fail "profile --last: $(tail -3 "$work/err")"
run dlms profile "$url" 1.0.99.98.0.255 --from 2026-11-22T00:00:00Z --to 2026-11-22T03:13:59Z --trace
[ $rc -eq 1 ] || fail "profile range: rc $rc"
grep -q "range-descriptor" "$work/err" && grep -q "long-unsigned 8" "$work/err" \
    && grep -q "0-0:1.0.0.255" "$work/err" || fail "profile range: no clock-restricted range"
grep -q "data-access-result temporary-failure" "$work/err" || fail "profile range: $(tail -3 "$work/err")"
run dlms profile "$url" 1.0.99.98.0.255 --from 2026-11-22T00:00:00Z
[ $rc -eq 2 ] || fail "profile --from without --to: rc $rc"
pass "profile by entries (--last) and by range (clock restricting), refusal named"

run dlms get "tcp://127.0.0.1:1" 8/0.0.1.0.0.255:2 --timeout 2000
[ $rc -eq 1 ] || fail "refused connect: rc $rc"
grep -q "TCP: connect" "$work/err" || fail "refused connect: $(cat "$work/err")"
pass "connection refused names TCP"

# ---------------------------------------------------------------- wrapper over UDP
"$PY" "$work/replay.py" "$AMI_TESTDATA/dlms/session_gurux_wrapper_ln_read_all_incl_selective_access.txt" "$work/uport" udp &
pids+=($!)
for _ in $(seq 1 200); do [ -f "$work/uport" ] && break; sleep 0.05; done
[ -f "$work/uport" ] || fail "UDP replay server did not start"
run dlms get "udp://127.0.0.1:$(cat "$work/uport")" 0.0.1.0.0.255:2
[ $rc -eq 0 ] || fail "udp get: $rc $(cat "$work/err")"
grep -q "octet-string" "$work/out" || fail "udp get output: $(cat "$work/out")"
pass "udp: object list in blocks, then the clock"

# ---------------------------------------------------------------- HDLC over TCP
# The recorded HDLC session (SNRM, AARQ, GET object list in segments and blocks, GET clock,
# RLRQ, DISC) replayed frame by frame: each frame our client sends releases the recorded
# answers up to the next recorded client frame; the invoke id of each response is set to the
# request's (HCS/FCS recomputed).
cat >"$work/hdlc.py" <<'PYEOF'
import os, socket, sys
path, ready = sys.argv[1], sys.argv[2]
recs = []
for line in open(path):
    f = line.split()
    if len(f) >= 2 and f[0] in ("TX", "RX"):
        recs.append((f[0], bytearray.fromhex(f[1])))
def fcs(b):
    c = 0xFFFF
    for x in b:
        c ^= x
        for _ in range(8):
            c = (c >> 1) ^ 0x8408 if c & 1 else c >> 1
    c ^= 0xFFFF
    return bytes([c & 0xFF, c >> 8])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(1)
open(ready + ".tmp", "w").write(str(s.getsockname()[1]))
os.rename(ready + ".tmp", ready)
c, _ = s.accept()
buf, pos, iip = b"", 0, 0xC1
while pos < len(recs):
    k = c.recv(4096)
    if not k:
        break
    buf += k
    while len(buf) >= 3 and buf[0] == 0x7E:
        n = ((buf[1] & 7) << 8 | buf[2]) + 2
        if len(buf) < n:
            break
        fr, buf = buf[:n], buf[n:]
        if len(fr) > 11 and fr[8:11] == b"\xE6\xE6\x00" and fr[11] >= 0xC0:
            iip = fr[13]
        while pos < len(recs) and recs[pos][0] == "TX":
            pos += 1
        while pos < len(recs) and recs[pos][0] == "RX":
            r = recs[pos][1]
            if len(r) > 13 and r[8:11] == b"\xE6\xE7\x00" and r[11] >= 0xC4:
                r = bytearray(r)
                r[13] = iip
                r[-3:-1] = fcs(r[1:-3])
            c.sendall(bytes(r))
            pos += 1
    if buf and buf[0] != 0x7E:
        buf = b""
c.close()
PYEOF
"$PY" "$work/hdlc.py" "$AMI_TESTDATA/dlms/session_gurux_hdlc_ln_noauth_get_clock.txt" "$work/hport" &
pids+=($!)
for _ in $(seq 1 200); do [ -f "$work/hport" ] && break; sleep 0.05; done
[ -f "$work/hport" ] || fail "HDLC replay server did not start"
run dlms get "hdlc+tcp://127.0.0.1:$(cat "$work/hport")" 0.0.1.0.0.255:2 --trace --timeout 3000
[ $rc -eq 0 ] || fail "hdlc+tcp get: $rc $(tail -5 "$work/err")"
grep -q "octet-string" "$work/out" || fail "hdlc+tcp get output: $(cat "$work/out")"
grep -q "HDLC SNRM" "$work/err" && grep -q "HDLC RR" "$work/err" && grep -q "HDLC DISC" "$work/err" \
    || fail "hdlc+tcp trace: $(grep HDLC "$work/err" | head)"
pass "hdlc+tcp: object list in segments and blocks, then the clock, released (RLRQ, DISC)"

run dlms get "$url"
[ $rc -eq 2 ] || fail "usage: rc $rc"
run dlms get "$url" nonsense
[ $rc -eq 2 ] || fail "bad reference: rc $rc"
run dlms set "$url" 8/0.0.1.0.0.255:2 u8:300
[ $rc -eq 2 ] || fail "bad value: rc $rc"
run dlms --help
[ $rc -eq 0 ] || fail "--help"
run dlms profile --help
[ $rc -eq 0 ] && grep -q -- "--last" "$work/out" || fail "profile --help"
pass "usage errors exit 2, --help at every level"
