#!/usr/bin/env bash
# `ami sim` SAP 2 (management, suite 1): per-meter P-256 key pairs from the fleet seed, the
# client's public key from --client-public-key, the meters' public keys from --ec-keys-out;
# `ami dlms` with HLS mechanism 7 (hls-ecdsa) and PEM keys, authenticated encryption suite 1,
# and general-ciphering agreed-key; a wrong server key is refused. General-signing around both.
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v openssl >/dev/null || { echo "skip: openssl not found"; exit 0; }

sim_help=$("$AMI" sim --help)
grep -q -- "--client-public-key" <<<"$sim_help" || fail "sim --help lacks --client-public-key"
grep -q -- "--ec-keys-out" <<<"$sim_help" || fail "sim --help lacks --ec-keys-out"

EK=000102030405060708090A0B0C0D0E0F
AK=D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF
ST=4775727578313233
SST=4F414D0000000042
openssl ecparam -name prime256v1 -genkey -noout -out "$work/client.pem" 2>/dev/null
openssl ec -in "$work/client.pem" -pubout -out "$work/client.pub.pem" 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out "$work/other.pem" 2>/dev/null
openssl ec -in "$work/other.pem" -pubout -out "$work/other.pub.pem" 2>/dev/null

# options: --ec-keys-out needs the client's key; the key must be a P-256 public key
rc=0; "$AMI" sim --listen 127.0.0.1 --ec-keys-out "$work" 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "--ec-keys-out without --client-public-key -> $rc, want 2"
rc=0; "$AMI" sim --listen 127.0.0.1 --client-public-key "$work/nonexistent" 2>/dev/null || rc=$?
[ "$rc" != 0 ] || fail "--client-public-key of a missing file accepted"

mkdir "$work/keys"
start_sim sim --no-hdlc --seed fleet-ec --ek $EK --ak $AK --system-title $SST \
    --client-public-key "$work/client.pub.pem" --ec-keys-out "$work/keys"
server_pub="$work/keys/$(tr 'A-F' 'a-f' <<<"$SST").pem"
[ -s "$server_pub" ] || fail "no $server_pub: $(ls "$work/keys")"
openssl pkey -pubin -in "$server_pub" -noout 2>/dev/null || fail "$server_pub is not a public key"

sec=(--client 2 --auth hls-ecdsa --ecdsa-key "$work/client.pem" --security auth-enc --suite 1
     --system-title $ST --ek $EK --ak $AK)

# 1. HLS mechanism 7, authenticated encryption suite 1
run dlms get "$tcp" 1-0:1.8.0.255:2 "${sec[@]}" --server-public-key "$server_pub"
[ "$rc" = 0 ] || fail "hls-ecdsa get -> $rc: $(cat "$work/err")"
grep -Eq '[0-9]' "$work/out" || fail "hls-ecdsa get printed no value: $(cat "$work/out")"
pass "SAP 2: hls-ecdsa, auth-enc suite 1"

# 2. general-ciphering with an agreed key
run dlms get "$tcp" 1-0:1.8.0.255:2 "${sec[@]}" --server-public-key "$server_pub" \
    --ciphering general --key-info agreed
[ "$rc" = 0 ] || fail "agreed-key get -> $rc: $(cat "$work/err")"
grep -Eq '[0-9]' "$work/out" || fail "agreed-key get printed no value: $(cat "$work/out")"
pass "SAP 2: general-ciphering agreed-key"

# 2b. general-signing around the ciphered requests (and around general-ciphering agreed-key)
run dlms get "$tcp" 1-0:1.8.0.255:2 "${sec[@]}" --server-public-key "$server_pub" --general-signing
[ "$rc" = 0 ] || fail "general-signing get -> $rc: $(cat "$work/err")"
grep -Eq '[0-9]' "$work/out" || fail "general-signing get printed no value: $(cat "$work/out")"
run dlms get "$tcp" 1-0:1.8.0.255:2 "${sec[@]}" --server-public-key "$server_pub" \
    --general-signing --ciphering general --key-info agreed
[ "$rc" = 0 ] || fail "signed agreed-key get -> $rc: $(cat "$work/err")"
pass "SAP 2: general-signing, around glo- and around agreed-key general-ciphering"

# 3. a wrong server public key: the meter's f(CtoS) signature does not verify
run dlms get "$tcp" 1-0:1.8.0.255:2 "${sec[@]}" --server-public-key "$work/other.pub.pem"
[ "$rc" != 0 ] || fail "a wrong server key was accepted: $(cat "$work/out")"
grep -q "f(CtoS) did not verify" "$work/err" || fail "wrong server key: $(cat "$work/err")"
pass "SAP 2: wrong server key refused"

# 4. a client key that is not the one the meter was given: refused by the meter
bad=("${sec[@]}")
bad[5]="$work/other.pem" # --ecdsa-key
run dlms get "$tcp" 1-0:1.8.0.255:2 "${bad[@]}" --server-public-key "$server_pub"
[ "$rc" != 0 ] || fail "a wrong client key was accepted: $(cat "$work/out")"
pass "SAP 2: wrong client key refused"

# 5. the same seed gives the same meter key after a restart
cp "$server_pub" "$work/first.pem"
stop "$sim_pid"
start_sim sim2 --no-hdlc --seed fleet-ec --ek $EK --ak $AK --system-title $SST \
    --client-public-key "$work/client.pub.pem" --ec-keys-out "$work/keys"
cmp -s "$work/first.pem" "$server_pub" || fail "the meter key changed across a restart"
pass "SAP 2: deterministic key from the seed"
stop "$sim_pid"

# 6. without --client-public-key there is no SAP 2
start_sim sim3 --no-hdlc --seed fleet-ec --ek $EK --ak $AK --system-title $SST
run dlms get "$tcp" 1-0:1.8.0.255:2 "${sec[@]}" --server-public-key "$server_pub"
[ "$rc" != 0 ] || fail "SAP 2 answered without --client-public-key"
pass "no SAP 2 without a client key"
stop "$sim_pid"
