#!/usr/bin/env bash
# `ami sim` SAP 1 (management: HLS-GMAC, authenticated encryption, suite 0) with keys from
# options, driven over the TCP wrapper by a small independent client (python3 + cryptography's
# AES-GCM): ciphered AARQ, HLS pass 3/4, glo- and general-glo-ciphered GETs, Security Setup,
# the invocation counter object read by the public client, and the refusals (replay,
# downgrade, wrong key, wrong f(StoC)).
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v python3 >/dev/null || { echo "skip: python3 not found"; exit 0; }
python3 -c 'import cryptography' 2>/dev/null || { echo "skip: python3 cryptography not found"; exit 0; }

help=$("$AMI" sim --help)
grep -q -- "--system-title" <<<"$help" || fail "sim --help lacks --system-title"
for bad in "--ek 0011" "--ak zz" "--system-title 0011" \
           "--ek 000102030405060708090A0B0C0D0E0F000102030405060708090A0B0C0D0E0F"; do
    rc=0; "$AMI" sim --listen 127.0.0.1 $bad 2>/dev/null || rc=$?
    [ "$rc" = 2 ] || fail "sim $bad -> $rc, want 2"
done

EK=11223344556677881122334455667788
AK=A1A2A3A4A5A6A7A8A9AAABACADAEAFA0
ST=5445535430303031
start_sim sim --no-hdlc --ek "$EK" --ak "$AK" --system-title "$ST"
[ -n "$wport" ] || fail "port not in '$sim_line'"

python3 - "$wport" "$EK" "$AK" "$ST" <<'PY' || fail "client checks"
import os, socket, struct, sys
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
H = bytes.fromhex
wport, EK, AK, SST = int(sys.argv[1]), H(sys.argv[2]), H(sys.argv[3]), H(sys.argv[4])
CST = b'PYCLIENT'
ic = [1]

def recv_exact(s, n):
    b = b''
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise SystemExit('closed')
        b += c
    return b

def wx(s, apdu, sap):
    s.sendall(struct.pack('>HHHH', 1, sap, 1, len(apdu)) + apdu)
    v, src, dst, n = struct.unpack('>HHHH', recv_exact(s, 8))
    assert (v, src, dst) == (1, 1, sap)
    return recv_exact(s, n)

def L(b):
    return (bytes([len(b)]) if len(b) < 0x80 else b'\x82' + struct.pack('>H', len(b))) + b

def protect(plain, sc=0x30, key=EK, st=CST, count=None):
    c = ic[0] if count is None else count
    if count is None:
        ic[0] += 1
    iv = st + struct.pack('>I', c)
    out = AESGCM(key).encrypt(iv, plain, bytes([sc]) + AK)
    return bytes([sc]) + struct.pack('>I', c) + out[:-16] + out[-16:-4]

def unprotect(content, st=SST, key=EK):
    sc, c = content[0], struct.unpack('>I', content[1:5])[0]
    ct, tag = content[5:-12], content[-12:]
    d = Cipher(algorithms.AES(key), modes.GCM(st + struct.pack('>I', c), tag, 12)).decryptor()
    d.authenticate_additional_data(bytes([sc]) + AK)
    return sc, d.update(ct) + d.finalize()

def gmac(key, st, count, chal):
    iv = st + struct.pack('>I', count)
    t = AESGCM(key).encrypt(iv, b'', b'\x10' + AK + chal)[:12]
    return b'\x10' + struct.pack('>I', count) + t

def get(obis, cls, attr):
    return bytes([0xC0, 1, 0xC1]) + struct.pack('>H', cls) + H(obis) + bytes([attr, 0])

INIT = H('01000000065F1F0400401E1DFFFF')
CTOS = os.urandom(16)
def aarq(key=EK, init=INIT):
    ui = b'\x21' + L(protect(init, key=key))
    body = (H('A109060760857405080103') + b'\xA6\x0A\x04\x08' + CST +
            H('8A0207808B0760857405080205') + b'\xAC\x12\x80\x10' + CTOS +
            b'\xBE' + L(b'\x04' + L(ui)))
    return b'\x60' + L(body)

def associate(s, f_mutate=None):
    r = wx(s, aarq(), 1)
    assert r[0] == 0x61 and H('A203020100') in r and H('A305A10302010E') in r, r.hex()
    i = r.index(H('AA1280 10'.replace(' ', '')))
    stoc = r[i + 4:i + 20]
    j = r.index(b'\xBE', i + 20)          # user-information follows the challenge
    assert r[j + 4] == 0x28, r.hex()          # glo-initiateResponse
    sc, plain = unprotect(r[j + 6:])
    assert plain[0] == 0x08 and sc == 0x30, plain.hex()
    f = gmac(EK, CST, 99, stoc)
    if f_mutate:
        f = f[:-1] + bytes([f[-1] ^ 1])
    act = H('C301C1000F0000280000FF010109') + L(f)
    r = wx(s, b'\xCB' + L(protect(act)), 1)
    assert r[0] == 0xCF, r.hex()
    sc, plain = unprotect(r[2:])
    return plain, stoc

# public client: the counter object before any ciphered request
p = socket.create_connection(('127.0.0.1', wport), timeout=5)
assert wx(p, H('601DA109060760857405080101BE10040E01000000065F1F0400401E1DFFFF'), 16)[:2] == H('6129')
assert wx(p, get('00002B0100FF', 1, 2), 16) == H('C401C1000600000000')

s = socket.create_connection(('127.0.0.1', wport), timeout=5)
plain, stoc = associate(s)
assert plain[:6] == H('C701C1000100') and plain[6] == 0x09, plain.hex()
fctos = plain[8:8 + plain[7]]
count = struct.unpack('>I', fctos[1:5])[0]
assert fctos == gmac(EK, SST, count, CTOS), 'f(CtoS) does not check'
# glo-get of an energy register, then general-glo-ciphering
r = wx(s, b'\xC8' + L(protect(get('0100010800FF', 3, 2))), 1)
assert r[0] == 0xCC, r.hex()
sc, plain = unprotect(r[2:])
assert sc == 0x30 and plain[:5] == H('C401C10006'), plain.hex()
req = b'\xDB\x08' + CST + L(protect(get('00002B0000FF', 64, 5)))
r = wx(s, req, 1)
assert r[0] == 0xDB and r[2:10] == SST, r.hex()
sc, plain = unprotect(r[11:] if r[10] < 0x80 else r[12:])
assert plain == H('C401C100090854455354') + H('30303031'), plain.hex()
# replayed APDU: invocation-counter-error, no plaintext
assert wx(s, req, 1)[:3] == H('D80106')
# plain GET on the management SAP: a downgrade
assert wx(s, get('0100010800FF', 3, 2), 1) == H('D80105')
# the public client sees the last accepted counter
assert wx(p, get('00002B0100FF', 1, 2), 16) == H('C401C10006') + struct.pack('>I', ic[0] - 1)
# wrong f(StoC): denied, not associated
s2 = socket.create_connection(('127.0.0.1', wport), timeout=5)
plain, _ = associate(s2, f_mutate=True)
assert plain == H('C701C10300'), plain.hex()
assert wx(s2, b'\xC8' + L(protect(get('0100010800FF', 3, 2))), 1) == H('D80101')
# wrong key: the AARQ is rejected
s3 = socket.create_connection(('127.0.0.1', wport), timeout=5)
r = wx(s3, aarq(key=bytes(16)), 1)
assert H('A203020101') in r, r.hex()
print('client ok')
PY

stop "$sim_pid"
[ "$rc" = 0 ] || fail "sim exit status $rc after SIGTERM"
echo "ok"
