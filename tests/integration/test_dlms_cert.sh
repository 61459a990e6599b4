#!/usr/bin/env bash
# `ami dlms cert ...` against `ami sim` on 127.0.0.1 (free ports), SAP 1 (HLS-GMAC,
# authenticated encryption): the meter starts with no certificates; genkey and csr give a
# PKCS#10 request for its key pair (checked with openssl: signature, subject CN = the meter's
# system title); a CA made here with openssl signs it; import of the CA, a client certificate
# and the meter's own; list shows the three with the right entity; export by serial/issuer and
# by entity are byte-identical to what was imported; a P-384 certificate, garbage and an
# oversize file are refused with the reason named; remove; the public client is refused.
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v openssl >/dev/null || { echo "SKIP: no openssl command"; exit 0; }

EK=000102030405060708090A0B0C0D0E0F
AK=D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF
ST=434C49454E543031
SST=4F414D0000000077

cert_help=$("$AMI" dlms cert --help 2>&1 || true)
grep -q "genkey" <<<"$cert_help" || fail "ami dlms cert --help: $cert_help"

start_sim sim --ek $EK --ak $AK --system-title $SST
url=$tcp
sec=(--client 1 --auth hls-gmac --security auth-enc --suite 0 --system-title "$ST"
     --server-system-title "$SST" --ek "$EK" --ak "$AK" --state-dir "$work/state")

ok() { run "$@"; [ "$rc" -eq 0 ] || fail "$*: $rc $(cat "$work/err")"; }

# 1. empty at first
ok dlms cert list "$url" "${sec[@]}"
grep -q "no certificates" "$work/out" || fail "list: $(cat "$work/out")"
pass "no certificates at first"

# 2. key pair and CSR
ok dlms cert genkey "$url" "${sec[@]}" --type signing
ok dlms cert csr "$url" "${sec[@]}" --type signing --out "$work/meter.csr"
verify=$(openssl req -inform DER -in "$work/meter.csr" -noout -verify 2>&1) || fail "CSR: $verify"
grep -q "verify OK" <<<"$verify" || fail "CSR does not verify: $verify"
subj=$(openssl req -inform DER -in "$work/meter.csr" -noout -subject)
grep -q "CN *= *$SST" <<<"$subj" || fail "CSR subject: $subj"
ok dlms cert csr "$url" "${sec[@]}"
grep -q "BEGIN CERTIFICATE REQUEST" "$work/out" || fail "csr PEM: $(cat "$work/out")"
pass "genkey; CSR verifies, subject $subj"

# 3. a CA signs the meter's CSR; a client certificate; a P-384 one
cd "$work"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -subj "/CN=openami test CA" \
    -days 30 -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
    -outform DER -out ca.der 2>/dev/null
printf 'keyUsage=critical,digitalSignature\n' >ext.cnf
openssl x509 -req -inform DER -in meter.csr -CA ca.der -CAform DER -CAkey ca.key -set_serial 0x4242 \
    -days 30 -extfile ext.cnf -outform DER -out meter.der 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout client.key -subj "/CN=$ST" \
    -out client.csr 2>/dev/null
openssl x509 -req -in client.csr -CA ca.der -CAform DER -CAkey ca.key -set_serial 7 -days 30 \
    -extfile ext.cnf -out client.pem 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout p384.key -subj "/CN=p384" \
    -days 30 -addext "keyUsage=critical,digitalSignature" -outform DER -out p384.der 2>/dev/null
head -c 300 /dev/urandom >garbage.der
head -c 3000 /dev/zero | tr '\0' 'A' >big.der
cd - >/dev/null

for f in ca.der client.pem meter.der; do
    ok dlms cert import "$url" "$work/$f" "${sec[@]}"
done
ok dlms cert list "$url" "${sec[@]}" --json
out=$(cat "$work/out")
"$PY" - "$out" <<'PYEOF' || fail "list: $out"
import json, sys
l = json.loads(sys.argv[1])
assert [(c["entity"], c["type"]) for c in l] == [("ca", "signing"), ("client", "signing"), ("server", "signing")], l
assert l[2]["serial"] == "4242", l
PYEOF
pass "imported CA, client (PEM) and the meter's own certificate: $(tr -d '\n' <<<"$out" | cut -c1-120)..."

# 4. export back, byte for byte
issuer=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])[2]["issuer_der"])' "$out")
ok dlms cert export "$url" "${sec[@]}" --serial 4242 --issuer "$issuer" --out "$work/back.der"
cmp "$work/meter.der" "$work/back.der" || fail "export by serial differs"
ok dlms cert export "$url" "${sec[@]}" --entity client --type signing --subject-title $ST --out "$work/client.back"
openssl x509 -in "$work/client.pem" -outform DER -out "$work/client.der"
cmp "$work/client.der" "$work/client.back" || fail "export by entity differs"
ok dlms cert export "$url" "${sec[@]}" --entity ca
[ "$(tr -d '\n' <"$work/out")" = "$(od -An -tx1 -v "$work/ca.der" | tr -d ' \n' | tr a-f A-F)" ] \
    || fail "export hex: $(cat "$work/out")"
pass "export by serial/issuer, by entity/title and as hex: identical to the imported DER"

# 5. refusals
run dlms cert import "$url" "$work/p384.der" "${sec[@]}"
[ "$rc" -eq 1 ] || fail "P-384 under suite 0 accepted: $rc"
grep -qi "other-reason\|other reason" "$work/err" || fail "P-384: $(cat "$work/err")"
run dlms cert import "$url" "$work/garbage.der" "${sec[@]}"
[ "$rc" -ne 0 ] || fail "garbage accepted"
grep -q "not a certificate" "$work/err" || fail "garbage: $(cat "$work/err")"
run dlms cert import "$url" "$work/big.der" "${sec[@]}"
[ "$rc" -ne 0 ] || fail "oversize accepted"
run dlms cert export "$url" "${sec[@]}" --entity client --type agreement
[ "$rc" -eq 1 ] || fail "export of nothing: $rc"
grep -qi "object-unavailable\|object unavailable" "$work/err" || fail "not found: $(cat "$work/err")"
run dlms cert list "$url" --client 16
[ "$rc" -eq 1 ] || fail "the public client read the certificates"
pass "P-384, garbage, oversize, not found and the public client refused"

# 6. remove, then a new key pair voids the meter's certificate
ok dlms cert remove "$url" "${sec[@]}" --entity client
ok dlms cert genkey "$url" "${sec[@]}"
ok dlms cert list "$url" "${sec[@]}" --json
n=$("$PY" -c 'import json,sys; print(len(json.loads(sys.argv[1])))' "$(cat "$work/out")")
[ "$n" = 1 ] || fail "after remove and genkey: $(cat "$work/out")"
pass "remove; genkey voided the meter's certificate (1 left: the CA)"
