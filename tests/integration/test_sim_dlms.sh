#!/usr/bin/env bash
# `ami sim`: one virtual meter on 127.0.0.1 (free ports), read over the TCP wrapper and over
# HDLC on TCP by a small independent client (python3): association accept/reject, identity,
# clock, energy registers advancing, object list in blocks, hostile bytes, SIGTERM exit 0.
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v python3 >/dev/null || { echo "skip: python3 not found"; exit 0; }

grep -q "Usage: ami sim" <<<"$("$AMI" sim --help)" || fail "sim --help"
rc=0; "$AMI" sim 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "sim without --listen -> $rc, want 2"
rc=0; "$AMI" sim --listen 127.0.0.1 --port 70000 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "sim --port 70000 -> $rc, want 2"

start_sim sim --hdlc-port 0 --password s3cret --serial SIM42 -v
[ -n "$wport" ] && [ -n "$hport" ] || fail "ports not in '$sim_line'"

python3 - "$wport" "$hport" <<'PY' || fail "client checks"
import socket, struct, sys, time
wport, hport = int(sys.argv[1]), int(sys.argv[2])
H = bytes.fromhex

def recv_exact(s, n):
    b = b''
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise SystemExit('closed')
        b += c
    return b

# ---- TCP wrapper: version 1, source wPort, destination wPort 1, length
def wx(s, apdu, sap=16):
    s.sendall(struct.pack('>HHHH', 1, sap, 1, len(apdu)) + apdu)
    hdr = recv_exact(s, 8)
    v, src, dst, n = struct.unpack('>HHHH', hdr)
    assert (v, src, dst) == (1, 1, sap), hdr.hex()
    return recv_exact(s, n)

AARQ_PUBLIC = H('601DA109060760857405080101BE10040E01000000065F1F0400401E1DFFFF')
def aarq_lls(pw, pdu=0xFFFF):
    auth = b'\x80' + bytes([len(pw)]) + pw
    ui = H('01000000065F1F0400401E1D') + struct.pack('>H', pdu)
    body = (H('A109060760857405080101') + H('8A0207808B0760857405080201') +
            b'\xAC' + bytes([len(auth)]) + auth + b'\xBE' + bytes([len(ui) + 2]) + b'\x04' +
            bytes([len(ui)]) + ui)
    return b'\x60' + bytes([len(body)]) + body

def get(obis, cls, attr, iid=0xC1):
    return bytes([0xC0, 1, iid]) + struct.pack('>H', cls) + H(obis) + bytes([attr, 0])

s = socket.create_connection(('127.0.0.1', wport), timeout=5)
r = wx(s, AARQ_PUBLIC)
assert r[:2] == H('6129') and H('A203020100') in r, r.hex()
r = wx(s, get('0000600100FF', 1, 2))
assert r == H('C401C1000A05') + b'SIM42', r.hex()
e1 = wx(s, get('0100010800FF', 3, 2))
assert e1[:5] == H('C401C10006'), e1.hex()
r = wx(s, get('0100010800FF', 3, 3))
assert r == H('C401C10002020F00161E'), r.hex()
r = wx(s, get('0000010000FF', 8, 2))
assert r[:6] == H('C401C100090C'), r.hex()
year = struct.unpack('>H', r[6:8])[0]
assert year == time.gmtime().tm_year or abs(year - time.gmtime().tm_year) == 1, year
# public client: the clock is read-only
r = wx(s, bytes([0xC1, 1, 0xC1]) + H('0008') + H('0000010000FF') + bytes([3, 0]) + H('100000'))
assert r == H('C501C103'), r.hex()
# unknown object, hostile APDUs: answered, association kept
assert wx(s, get('0000630000FF', 1, 2)) == H('C401C10104')
assert wx(s, H('C001')) == H('D80101')
assert wx(s, H('FFFFFFFF')) == H('D80202')
# registers advance with time (the model's energy integrates continuously)
time.sleep(1.1)
e2 = wx(s, get('0100010800FF', 3, 2))
assert struct.unpack('>I', e2[5:9])[0] >= struct.unpack('>I', e1[5:9])[0]
assert wx(s, H('6203800100')) == H('6303800100')
assert wx(s, get('0000600100FF', 1, 2)) == H('D80101')
s.close()

# LLS (SAP 17): wrong password rejected (authentication-failure), right one accepted with a
# 64-byte PDU; the object list then comes in blocks.
s = socket.create_connection(('127.0.0.1', wport), timeout=5)
r = wx(s, aarq_lls(b'wrong!'), 17)
assert H('A203020101') in r and H('A305A10302010D') in r, r.hex()
r = wx(s, aarq_lls(b's3cret', 64), 17)
assert H('A203020100') in r, r.hex()
r = wx(s, get('0000280000FF', 15, 2), 17)
raw, num = b'', 1
while True:
    assert len(r) <= 64 and r[:2] == H('C402'), r.hex()
    last, bn = r[3], struct.unpack('>I', r[4:8])[0]
    assert bn == num and r[8] == 0
    n, off = r[9], 10
    if n & 0x80:
        k = n & 0x7F
        n, off = int.from_bytes(r[10:10 + k], 'big'), 10 + k
    raw += r[off:off + n]
    if last:
        break
    r = wx(s, H('C002C1') + struct.pack('>I', bn), 17)
    num += 1
assert num > 10 and raw[:2] == H('014F'), (num, raw[:4].hex())  # 78 objects + 0-0:43.1.1.255
# LLS may set the clock (time zone)
r = wx(s, bytes([0xC1, 1, 0xC1]) + H('0008') + H('0000010000FF') + bytes([3, 0]) + H('10FFC4'), 17)
assert r == H('C501C100'), r.hex()
s.close()

# hostile: a broken wrapper header closes the connection (the stream cannot resync)
s = socket.create_connection(('127.0.0.1', wport), timeout=5)
s.sendall(H('0002001000010001C0'))
assert s.recv(10) == b''
s.close()

# ---- HDLC over TCP (IEC 62056-46): client 16 (0x21), server 1 (0x03)
def fcs(b):
    c = 0xFFFF
    for x in b:
        c ^= x
        for _ in range(8):
            c = (c >> 1) ^ 0x8408 if c & 1 else c >> 1
    c ^= 0xFFFF
    return bytes([c & 0xFF, c >> 8])

def frame(ctrl, info=b''):
    n = 2 + 2 + 1 + 2 + (len(info) + 2 if info else 0)
    hdr = bytes([0xA0 | (n >> 8), n & 0xFF, 0x03, 0x21, ctrl])
    body = hdr + fcs(hdr) + info if info else hdr
    return b'\x7E' + body + fcs(body) + b'\x7E'

def read_frame(s):
    while recv_exact(s, 1) != b'\x7E':
        pass
    fmt = recv_exact(s, 2)
    if fmt[0] == 0x7E:   # shared flag
        fmt = fmt[1:] + recv_exact(s, 1)
    n = ((fmt[0] & 7) << 8) | fmt[1]
    rest = recv_exact(s, n - 2 + 1)
    body = fmt + rest[:-1]
    assert rest[-1] == 0x7E and fcs(body[:-2]) == body[-2:], body.hex()
    return body

h = socket.create_connection(('127.0.0.1', hport), timeout=5)
h.sendall(b'garbage' + frame(0x93))          # SNRM after noise
ua = read_frame(h)
assert ua[4] == 0x73, ua.hex()                # UA with F
ns = nr = 0
def hx(apdu):
    global ns, nr
    h.sendall(frame((nr << 5) | 0x10 | (ns << 1), H('E6E600') + apdu))
    ns = (ns + 1) % 8
    out = b''
    while True:
        f = read_frame(h)
        ctrl = f[4]
        assert ctrl & 1 == 0, f.hex()         # an I-frame
        nr = ((ctrl >> 1) & 7) + 1 & 7
        out += f[7:-2]
        if not (f[0] & 0x08):                 # segmentation bit clear: last segment
            break
        h.sendall(frame((nr << 5) | 0x11))    # RR
    assert out[:3] == H('E6E700'), out.hex()
    return out[3:]
r = hx(AARQ_PUBLIC)
assert H('A203020100') in r, r.hex()
r = hx(get('0000600100FF', 1, 2))
assert r == H('C401C1000A05') + b'SIM42', r.hex()
r = hx(get('0000280000FF', 15, 2))          # 78 objects: datablocks in several HDLC segments
raw = b''
while r[:2] == H('C402'):
    last, bn = r[3], struct.unpack('>I', r[4:8])[0]
    n, off = r[9], 10
    if n & 0x80:
        k = n & 0x7F
        n, off = int.from_bytes(r[10:10 + k], 'big'), 10 + k
    raw += r[off:off + n]
    if last:
        break
    r = hx(H('C002C1') + struct.pack('>I', bn))
else:
    assert r[:4] == H('C401C100'), r[:8].hex()
    raw = r[4:]
assert raw[:2] == H('014F'), raw[:8].hex()  # 78 objects + 0-0:43.1.1.255
r = hx(H('6203800100'))
assert r == H('6303800100'), r.hex()
h.sendall(frame(0x53))                        # DISC
f = read_frame(h)
assert f[4] == 0x73, f.hex()
h.close()
print('client ok')
PY

stop "$sim_pid"
[ "$rc" = 0 ] || fail "sim exit status $rc after SIGTERM"
grep -q "ami sim: stopped" "$work/sim" || fail "no stop line"
echo "ok"
