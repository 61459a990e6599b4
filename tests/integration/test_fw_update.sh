#!/usr/bin/env bash
# Firmware update end to end: a P-256 key made with the openssl CLI, images signed with
# `ami fw sign` and checked with `ami fw info`, `ami sim --fw-key` on 127.0.0.1 (free ports),
# `ami dlms fw` over the TCP wrapper with LLS (SAP 17): a transfer paused with --blocks and
# resumed, verification polled, activation, the firmware version 1-0:0.2.0.255 changed; then
# refusals with the meter's reason: a tampered image, the same version again, another meter's
# identifier, an image signed by another key, a public client, an image above the capacity;
# an update over HDLC; a signed update over SAP 1 (HLS-GMAC, authenticated encryption) and a
# wrong key refused there; a P-384 meter; a meter without a key refusing every image; one meter
# of a fleet.
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v openssl >/dev/null || { echo "skip: no openssl CLI"; exit 0; }

LLS=(--client 17 --auth low --password s3cret)

# ---------------------------------------------------------------- keys and images
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/k.pem" 2>/dev/null
openssl pkey -in "$work/k.pem" -pubout -out "$work/k.pub"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/other.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$work/k384.pem" 2>/dev/null
openssl pkey -in "$work/k384.pem" -pubout -out "$work/k384.pub"
"$PY" -c 'import sys; sys.stdout.buffer.write(bytes((i * 31 + 7) & 255 for i in range(30000)))' \
    >"$work/payload"

run fw sign --key "$work/k.pem" --version 1.2.0 --id OPENAMI-SIM "$work/payload" "$work/v120.img"
[ $rc -eq 0 ] || fail "fw sign: $rc $(cat "$work/err")"
if grep -q "PRIVATE" "$work/out" "$work/err"; then fail "fw sign printed key material"; fi
run fw info "$work/v120.img" --key "$work/k.pub" --json
[ $rc -eq 0 ] || fail "fw info: $rc $(cat "$work/err")"
grep -q '"version":"1.2.0"' "$work/out" || fail "fw info: $(cat "$work/out")"
grep -q '"signature":"valid"' "$work/out" || fail "fw info: $(cat "$work/out")"
[ "$(wc -c <"$work/v120.img")" -eq $((52 + 30000 + 64)) ] || fail "image length"
pass "fw sign / fw info: $(tr -d '\n' <"$work/out")"

"$PY" - "$work/v120.img" "$work/tampered.img" <<'EOF'
import sys
b = bytearray(open(sys.argv[1], 'rb').read())
b[52 + 12345] ^= 0x01
open(sys.argv[2], 'wb').write(b)
EOF
run fw info "$work/tampered.img" --key "$work/k.pub"
[ $rc -eq 1 ] || fail "fw info of a tampered image: rc $rc"
grep -q "signature does not verify" "$work/err" || fail "fw info tampered: $(cat "$work/err")"
run fw info "$work/payload"
[ $rc -eq 1 ] || fail "fw info of a non-image: rc $rc"
run fw sign --key "$work/k.pem" --version 1.x --id OPENAMI-SIM "$work/payload" "$work/x.img"
[ $rc -eq 2 ] || fail "fw sign with a bad version: rc $rc"
pass "fw info refuses a tampered image and a non-image; bad version is a usage error"

run fw sign --key "$work/k.pem" --version 1.3.0 --id OPENAMI-SIM "$work/payload" "$work/v130.img"
run fw sign --key "$work/k.pem" --version 2.0.0 --id OTHER-METER "$work/payload" "$work/other_id.img"
run fw sign --key "$work/other.pem" --version 2.0.0 --id OPENAMI-SIM "$work/payload" "$work/other_key.img"
head -c 70000 /dev/zero >"$work/big"
run fw sign --key "$work/k.pem" --version 3.0.0 --id OPENAMI-SIM "$work/big" "$work/big.img"
run fw sign --key "$work/k384.pem" --version 1.1.0 --id OPENAMI-SIM "$work/payload" "$work/p384.img"
run fw info "$work/p384.img" --key "$work/k384.pub"
grep -q "ecdsa-p384-sha384" "$work/out" || fail "P-384 image: $(cat "$work/out")"

# ---------------------------------------------------------------- update
start_sim sim1 --hdlc-port 0 --password s3cret --fw-key "$work/k.pub" --fw-version 1.0.0
run dlms get "$tcp" 1/1-0:0.2.0.255:2
grep -q '"openami-sim 1.0.0"' "$work/out" || fail "initial version: $(cat "$work/out" "$work/err")"

run dlms fw "$tcp" "$work/v120.img" "${LLS[@]}" --blocks 40
[ $rc -eq 0 ] || fail "fw --blocks 40: $rc $(cat "$work/err")"
grep -q "paused at block 40 of 118" "$work/out" || fail "pause: $(cat "$work/out")"
run dlms get "$tcp" 18/0-0:44.0.0.255:4
grep -q "40" "$work/out" || fail "first not transferred after the pause: $(cat "$work/out")"
run dlms fw "$tcp" "$work/v120.img" "${LLS[@]}" --json
[ $rc -eq 0 ] || fail "fw update: $rc $(cat "$work/err")"
grep -q "resuming at block 40 of 118" "$work/err" || fail "no resume: $(cat "$work/err")"
grep -q "block 118/118" "$work/err" || fail "no progress on stderr: $(cat "$work/err")"
grep -q '"old_version":"openami-sim 1.0.0","new_version":"openami-sim 1.2.0"' "$work/out" || fail "versions: $(cat "$work/out")"
grep -q '"blocks_sent":78' "$work/out" || fail "resumed blocks: $(cat "$work/out")"
if grep -q "s3cret" "$work/out" "$work/err"; then fail "password printed"; fi
run dlms get "$tcp" 1/1-0:0.2.0.255:2
grep -q '"openami-sim 1.2.0"' "$work/out" || fail "version after activation: $(cat "$work/out")"
run dlms get "$tcp" 18/0-0:44.0.0.255:6
grep -qx "enum 6" "$work/out" || fail "status after activation: $(cat "$work/out")"
pass "update paused after 40 blocks, resumed, verified, activated: 1.0.0 -> 1.2.0"

# Refusals: each named with the meter's reason; the version stays.
refused() { # image reason...
    local img=$1
    shift
    run dlms fw "$tcp" "$img" "${LLS[@]}"
    [ $rc -eq 1 ] || fail "$(basename "$img"): rc $rc $(cat "$work/out")"
    grep -q "$*" "$work/err" || fail "$(basename "$img"): $(tail -1 "$work/err")"
    pass "$(basename "$img") refused: $(tail -1 "$work/err" | sed 's/.*COSEM: //')"
}
refused "$work/tampered.img" "signature does not verify"
refused "$work/v120.img" "version not newer"
refused "$work/other_id.img" "firmware identifier is not this meter's"
refused "$work/other_key.img" "signature does not verify"
refused "$work/p384.img" "does not match the key's curve"
refused "$work/big.img" "above the meter's capacity"
run dlms fw "$tcp" "$work/v130.img"
[ $rc -eq 1 ] || fail "public client: rc $rc"
grep -q "read-write-denied" "$work/err" || fail "public client: $(cat "$work/err")"
pass "public client refused: $(sed 's/.*COSEM: //' "$work/err")"
run dlms get "$tcp" 1/1-0:0.2.0.255:2
grep -q '"openami-sim 1.2.0"' "$work/out" || fail "version changed by a refused image: $(cat "$work/out")"

run dlms fw "$hdlc" "$work/v130.img" "${LLS[@]}"
[ $rc -eq 0 ] || fail "update over HDLC: $rc $(cat "$work/err")"
grep -q "firmware openami-sim 1.2.0 -> openami-sim 1.3.0" "$work/out" || fail "HDLC update: $(cat "$work/out")"
pass "update over hdlc+tcp: $(cat "$work/out")"

# ---------------------------------------------------------------- secured: SAP 1
# The management client: HLS-GMAC with authenticated encryption (suite 0), every APDU ciphered.
EK=000102030405060708090A0B0C0D0E0F
AK=D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF
SST=4F414D0000000042
start_sim sec --no-hdlc --fw-key "$work/k.pub" --fw-version 1.0.0 --ek $EK --ak $AK \
    --system-title $SST
HLS=(--client 1 --auth hls-gmac --security auth-enc --suite 0 --system-title 4775727578313233
     --server-system-title $SST --state-dir "$work/state" --ek $EK --ak $AK)
run dlms fw "$tcp" "$work/v120.img" "${HLS[@]}" --trace
[ $rc -eq 0 ] || fail "update over SAP 1 (HLS-GMAC, auth-enc): $rc $(tail -5 "$work/err")"
grep -q "firmware openami-sim 1.0.0 -> openami-sim 1.2.0" "$work/out" || fail "SAP 1 update: $(cat "$work/out")"
grep -q "glo-action-request" "$work/err" || fail "no ciphered ACTION in the trace"
if grep -q "APDU action-request" "$work/err"; then fail "a plain ACTION over SAP 1"; fi
for k in $EK $AK; do
    if grep -qi "$k" "$work/err" "$work/out"; then fail "a key in the trace"; fi
done
run dlms fw "$tcp" "$work/v130.img" "${HLS[@]}" --ek 0F0E0D0C0B0A09080706050403020100
[ $rc -eq 1 ] || fail "wrong EK: rc $rc"
run dlms get "$tcp" 1/1-0:0.2.0.255:2
grep -q '"openami-sim 1.2.0"' "$work/out" || fail "version after the SAP 1 update: $(cat "$work/out")"
pass "signed update over SAP 1 (HLS-GMAC, authenticated encryption), a wrong key refused"

# ---------------------------------------------------------------- other meters
start_sim sim384 --password s3cret --fw-key "$work/k384.pub" --fw-version 1.0.5 --no-hdlc
run dlms fw "$tcp" "$work/p384.img" "${LLS[@]}"
[ $rc -eq 0 ] || fail "P-384 update: $rc $(cat "$work/err")"
grep -q "firmware openami-sim 1.0.5 -> openami-sim 1.1.0" "$work/out" || fail "P-384 update: $(cat "$work/out")"
pass "P-384 / SHA-384 update: $(cat "$work/out")"

start_sim nokey --password s3cret --no-hdlc
refused "$work/v120.img" "no firmware verification key configured"

# A fleet: each meter has its own image storage and version.
start_sim fleet --meters 2 --no-hdlc --no-udp --password s3cret --fw-key "$work/k.pub" \
    --fw-version 1.0.0
fport=$wport
[ -n "$fport" ] || fail "fleet port not in: $sim_line"
run dlms fw "tcp://127.0.0.2:$fport" "$work/v120.img" "${LLS[@]}"
[ $rc -eq 0 ] || fail "fleet meter 1 update: $rc $(cat "$work/err")"
run dlms get "tcp://127.0.0.1:$fport" 1/1-0:0.2.0.255:2
grep -q '"openami-sim 1.0.0"' "$work/out" || fail "fleet meter 0 changed: $(cat "$work/out")"
run dlms get "tcp://127.0.0.2:$fport" 1/1-0:0.2.0.255:2
grep -q '"openami-sim 1.2.0"' "$work/out" || fail "fleet meter 1 version: $(cat "$work/out")"
pass "fleet: meter 1 updated to 1.2.0, meter 0 still 1.0.0"

run sim --listen 127.0.0.1 --fw-key "$work/payload"
[ $rc -eq 1 ] || fail "sim with a bad key file: rc $rc"
pass "sim refuses a key file that is not a PEM EC key: $(cat "$work/err")"
