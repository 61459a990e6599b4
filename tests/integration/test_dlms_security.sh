#!/usr/bin/env bash
# `ami dlms` with security against `ami sim` on 127.0.0.1 (free ports): SAP 1 is HLS-GMAC with
# authenticated encryption (suite 0). The first ciphered association reads the invocation
# counter through the public client and keeps it in a state file; the next one continues from
# the file; general-glo-ciphering and a dedicated key; keys never in the trace; a wrong key and a
# plain client are refused with the cause named; keys rotate (global_key_transfer) changes EK
# and AK, after which the old keys are refused and the new ones work.
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

EK=000102030405060708090A0B0C0D0E0F
AK=D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF
KEK=31313131313131313131313131313131
ST=4775727578313233
SST=4F414D0000000042
NEW_EK=101112131415161718191A1B1C1D1E1F
NEW_AK=A0A1A2A3A4A5A6A7A8A9AAABACADAEAF

# (the help is read whole first: grep -q would close the pipe early, and with pipefail the
# writer's SIGPIPE would read as "no match")
sim_help=$("$AMI" sim --help)
grep -q "HLS-GMAC" <<<"$sim_help" || fail "ami sim has no secured SAP 1 (HLS-GMAC)"

start_sim sim --hdlc-port 0 --ek $EK --ak $AK --kek $KEK --system-title $SST
[ -n "$wport" ] && [ -n "$hport" ] || fail "ports not in '$sim_line'"
state="$work/state"

# the meter's title names the state file: one counter whichever URL reaches the meter
sec=(--client 1 --auth hls-gmac --security auth-enc --suite 0 --system-title $ST
     --server-system-title $SST --state-dir "$state")

# 1. first ciphered association: no state, the counter is read through the public client
run dlms get "$tcp" 1-0:1.8.0.255:2 "${sec[@]}" --ek $EK --ak $AK --trace
[ $rc -eq 0 ] || fail "ciphered get: $rc $(tail -5 "$work/err")"
grep -q "glo-initiateRequest\|glo-initiate-request" "$work/err" || fail "no glo-initiateRequest in the trace"
grep -q "glo-get-request" "$work/err" || fail "no glo-get-request in the trace"
for k in $EK $AK; do
    if grep -qi "$k" "$work/err" "$work/out"; then fail "a key in the trace"; fi
done
f=$(ls "$state")
[ -n "$f" ] || fail "no state file"
ic1=$(sed -n 's/^client_ic //p' "$state/$f")
[ -n "$ic1" ] || fail "state file: $(cat "$state/$f")"
pass "HLS-GMAC auth-enc GET over $tcp (IC read via SAP 16, state $f: client_ic $ic1)"

[ "$f" = "$SST.c1" ] || fail "state file named $f"

# 2. the next association continues from the state file (no public read), over HDLC,
#    general-glo-ciphering
run dlms get "$hdlc" 1-0:1.8.0.255:2 "${sec[@]}" --ek $EK --ak $AK --general-ciphering --trace
[ $rc -eq 0 ] || fail "general-glo get: $rc $(tail -5 "$work/err")"
grep -q "general-glo-ciphering" "$work/err" || fail "no general-glo-ciphering in the trace"
if grep -q "0-0:43.1.0.255\|0.0.43.1.0.255" "$work/err"; then fail "counter read again"; fi
pass "general-glo-ciphering over $hdlc, counter from the state file"

# 3. a dedicated key, keys from a key file
printf 'ek = %s\nak = %s\nkek = %s\n' $EK $AK $KEK >"$work/keys"
run dlms get "$tcp" 1-0:1.8.0.255:2 "${sec[@]}" --key-file "$work/keys" --dedicated-key --trace
[ $rc -eq 0 ] || fail "dedicated key: $rc $(tail -5 "$work/err")"
grep -q "ded-get-request" "$work/err" || fail "no ded-get-request in the trace"
pass "dedicated key (ded-get-request), keys from --key-file"
ic2=$(sed -n 's/^client_ic //p' "$state/$f")
[ "$ic2" -gt "$ic1" ] || fail "client IC did not grow: $ic1 -> $ic2"
pass "client invocation counter persisted: $ic1 -> $ic2"

# 3b. general-ciphering (0xDD): identified-key (the global unicast key) and wrapped-key (a fresh
#     key per request under the KEK); --ciphering general-glo is the same as --general-ciphering
for ki in identified wrapped; do
    run dlms get "$tcp" 1-0:1.8.0.255:2 "${sec[@]}" --ek $EK --ak $AK --kek $KEK \
        --ciphering general --key-info $ki --trace
    [ $rc -eq 0 ] || fail "general-ciphering $ki: $rc $(tail -5 "$work/err")"
    grep -q "general-ciphering" "$work/err" || fail "no general-ciphering in the trace ($ki)"
    grep -q "^1-0:1.8.0.255" "$work/out" || grep -q "1.8.0" "$work/out" ||
        fail "general-ciphering $ki: $(cat "$work/out")"
    for k in $EK $AK $KEK; do
        if grep -qi "$k" "$work/err" "$work/out"; then fail "a key in the trace ($ki)"; fi
    done
    pass "general-ciphering, key-info $ki: GET over $tcp"
done
run dlms get "$hdlc" 1-0:1.8.0.255:2 "${sec[@]}" --ek $EK --ak $AK --ciphering general-glo --trace
[ $rc -eq 0 ] || fail "--ciphering general-glo: $rc $(tail -5 "$work/err")"
grep -q "general-glo-ciphering" "$work/err" || fail "no general-glo-ciphering (--ciphering)"
pass "--ciphering general-glo (alias of --general-ciphering)"
# the meter refuses a wrapped key under another KEK; the client names the cause
run dlms get "$tcp" 1-0:1.8.0.255:2 "${sec[@]}" --ek $EK --ak $AK \
    --kek 32323232323232323232323232323232 --ciphering general --key-info wrapped
[ $rc -eq 1 ] || fail "wrapped key under a wrong KEK: rc $rc $(cat "$work/err")"
pass "wrapped key under another KEK refused: $(head -1 "$work/err" | sed 's/.*127.0.0.1:[0-9]*: //')"
run dlms get "$tcp" 1-0:1.8.0.255:2 "${sec[@]}" --ek $EK --ak $AK --ciphering general \
    --key-info wrapped
[ $rc -eq 2 ] || fail "--key-info wrapped without --kek: rc $rc"
run dlms get "$tcp" 1-0:1.8.0.255:2 "${sec[@]}" --ek $EK --ak $AK --ciphering bogus
[ $rc -eq 2 ] || fail "bad --ciphering: rc $rc"
pass "general-ciphering usage errors"

# 4. refusals: a wrong key, a plain client on the secured SAP
run dlms get "$tcp" 1-0:1.8.0.255:2 "${sec[@]}" --ek FF0102030405060708090A0B0C0D0E0F --ak $AK
[ $rc -eq 1 ] || fail "wrong key: rc $rc $(cat "$work/err")"
grep -q "security: \|ACSE: " "$work/err" || fail "wrong key: $(cat "$work/err")"
pass "wrong key refused: $(head -1 "$work/err" | sed 's/.*127.0.0.1:[0-9]*: //')"
run dlms get "$tcp" 1-0:1.8.0.255:2 --client 1 --state-dir "$state"
[ $rc -eq 1 ] || fail "plain client on SAP 1: rc $rc"
pass "plain client refused on SAP 1: $(head -1 "$work/err" | sed 's/.*127.0.0.1:[0-9]*: //')"

# 5. key rotation
run dlms keys rotate "$tcp" "${sec[@]}" --ek $EK --ak $AK --kek $KEK \
    --new-ek $NEW_EK --new-ak $NEW_AK
[ $rc -eq 0 ] || fail "keys rotate: $rc $(tail -5 "$work/err")"
grep -q "changed: ek" "$work/out" && grep -q "changed: ak" "$work/out" ||
    fail "keys rotate: $(cat "$work/out")"
if grep -qi "$NEW_EK\|$NEW_AK" "$work/out" "$work/err"; then fail "new keys printed"; fi
pass "keys rotate: $(tr '\n' ';' <"$work/out")"
run dlms get "$tcp" 1-0:1.8.0.255:2 "${sec[@]}" --ek $EK --ak $AK
[ $rc -eq 1 ] || fail "old keys after rotation: rc $rc"
pass "old keys refused after rotation"
run dlms get "$tcp" 1-0:1.8.0.255:2 "${sec[@]}" --ek $NEW_EK --ak $NEW_AK
[ $rc -eq 0 ] || fail "new keys: $rc $(tail -5 "$work/err")"
pass "new keys work"

# last (it moves the meter's counter past the state file): a client-side refusal
run dlms get "$tcp" 1-0:1.8.0.255:2 "${sec[@]}" --ek $NEW_EK --ak $NEW_AK \
    --server-system-title 4F414D00000000FF --no-state
[ $rc -eq 1 ] || fail "wrong server title: rc $rc"
grep -q "security: system title is not the server's" "$work/err" || fail "title: $(cat "$work/err")"
pass "another server system title refused by the client: security: system title is not the server's"

# 6. usage errors
run dlms get "$tcp" 1-0:1.8.0.255:2 --client 1 --auth hls-gmac --security auth-enc
[ $rc -eq 2 ] || fail "missing keys: rc $rc"
run dlms get "$tcp" 1-0:1.8.0.255:2 --security bogus
[ $rc -eq 2 ] || fail "bad --security: rc $rc"
pass "usage errors"
