#!/usr/bin/env bash
# The local ports of `ami sim` end to end, each read by the real `ami` client:
#  - --hdlc-pty: `ami dlms get hdlc:PTY?baud=9600` (public and LLS clients, two sessions in a row,
#    a refused association left without DISC followed by a new client);
#  - --optical pty: `ami iec21 read` (mode C readout of the metrology, addressed sign-on, a wrong
#    address unanswered), `ami iec21 get/set` in programming mode with the P1 password (and a
#    wrong one refused), `ami dlms get iec21:PTY` (mode E hand-over into the DLMS server over
#    HDLC, then back to IEC 62056-21), `ami iec21 read --mode E` (hand-over reported; the meter
#    returns to IEC 62056-21 when no HDLC follows);
#  - --p1 pty: `ami p1 read`, plain and Luxembourg Smarty (AES-GCM) with the right key, refused
#    with a wrong one; --p1 tcp:PORT on a fleet of two meters (one listener per address).
# Values read over P1 and the optical port agree with the DLMS registers of the same meter; the
# secured management client (HLS-GMAC, ciphered APDUs) works over both serial paths too.
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
KEY=000102030405060708090A0B0C0D0E0F
EK=000102030405060708090A0B0C0D0E0F
AK=D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF
hls=(--client 1 --auth hls-gmac --security auth-enc --suite 0 --system-title 4775727578313233
     --state-dir "$work/state" --ek $EK --ak $AK)

port_of() { sed -n "s/.*meter $2: $3 port: //p" "$work/$1"; }
run() { set +e; timeout "${T:-60}" "$AMI" "$@" >"$work/out" 2>"$work/err"; rc=$?; set -e; }
# json FILE EXPR: evaluates a Python expression over the JSON lines of FILE (list `j`).
json() { "$PY" -c 'import json,sys; j=[json.loads(l) for l in open(sys.argv[1]) if l.strip()]; print(eval(sys.argv[2]))' "$@"; }

start_sim a --hdlc-port 0 --password s3cret --ek $EK --ak $AK --p1 pty --optical pty --hdlc-pty -v
p1=$(port_of a 0 p1)
opt=$(port_of a 0 optical)
hp=$(port_of a 0 hdlc)
[ -c "$p1" ] && [ -c "$opt" ] && [ -c "$hp" ] || fail "pty paths: $(cat "$work/a")"

# ---------------------------------------------------------------- HDLC on a pty
for i in 1 2; do
    run dlms get "hdlc:$hp?baud=9600" 0-0:96.1.0.255:2 1-0:1.8.0.255:2 --json
    [ $rc -eq 0 ] || fail "dlms over hdlc pty ($i): $rc $(cat "$work/err")"
    grep -q '"AMI0000000001"' "$work/out" || fail "hdlc pty identity: $(cat "$work/out")"
done
run dlms clock "hdlc:$hp?baud=9600" --client 17 --auth low --password s3cret
[ $rc -eq 0 ] || fail "LLS over hdlc pty: $rc $(cat "$work/err")"
grep -q "^clock " "$work/out" || fail "clock over hdlc pty: $(cat "$work/out")"
run dlms get "hdlc:$hp?baud=9600" 1-0:1.8.0.255:2 --client 17 --auth low --password wrong
[ $rc -eq 1 ] || fail "wrong LLS password over hdlc pty: $rc"
run dlms profile "hdlc:$hp?baud=9600" 1-0:99.1.0.255 --last 96 --gbt --csv
[ $rc -eq 0 ] || fail "profile over hdlc pty with GBT: $rc $(tail -3 "$work/err")"
[ "$(grep -c '^20' "$work/out")" -eq 96 ] || fail "profile over hdlc pty: $(head -3 "$work/out")"
run dlms get "hdlc:$hp?baud=9600" 1-0:1.8.0.255:2 "${hls[@]}"
[ $rc -eq 0 ] || fail "HLS-GMAC ciphered get over hdlc pty: $rc $(cat "$work/err")"
pass "dlms over hdlc:PTY (public twice, LLS, wrong password refused, 96 profile entries in GBT blocks, HLS-GMAC ciphered)"

# ---------------------------------------------------------------- optical port
run dlms get "tcp://127.0.0.1:$(sed -n 's/.*wrapper \([0-9]*\),.*/\1/p' "$work/a")" \
    1-0:1.8.0.255:2 --json
[ $rc -eq 0 ] || fail "dlms over tcp: $rc $(cat "$work/err")"
dlms_wh=$(json "$work/out" 'j[0]["value"]["value"]')

run iec21 read "$opt" --json
[ $rc -eq 0 ] || fail "iec21 read: $rc $(cat "$work/err")"
json "$work/out" 'j[0]["identification"]["ident"]' | grep -qx "OPENAMI-SIM" || fail "ident"
json "$work/out" 'j[0]["identification"]["mode_e"]' | grep -qx "True" || fail "no \\2"
[ "$(json "$work/out" 'j[0]["bcc"]')" = ok ] || fail "readout BCC: $(cat "$work/out")"
opt_wh=$(json "$work/out" 'round([d["value"] for d in j[0]["datasets"] if d["address"]=="1.8.0"][0]*1000)')
"$PY" -c "import sys; a,b=int(sys.argv[1]),int(sys.argv[2]); sys.exit(0 if 0 <= b-a < 1000 else 1)" \
    "$dlms_wh" "$opt_wh" || fail "optical 1.8.0 $opt_wh Wh vs DLMS $dlms_wh Wh"
json "$work/out" '[d["address"] for d in j[0]["datasets"]]' | grep -q "'0.0.1'" &&
    fail "the level-2 register is in the readout"
pass "iec21 read: mode C readout, 1.8.0 = $opt_wh Wh agrees with DLMS ($dlms_wh Wh)"

run iec21 read "$opt" --address AMI0000000001
[ $rc -eq 0 ] || fail "addressed sign-on: $rc $(cat "$work/err")"
run iec21 read "$opt" --address 999
[ $rc -eq 1 ] || fail "another address must be unanswered: $rc $(cat "$work/out")"
pass "sign-on /?AMI0000000001! answered, /?999! not"

run iec21 get "$opt" 0.0.1 --password s3cret
[ $rc -eq 0 ] || fail "iec21 get: $rc $(cat "$work/err")"
grep -q "OPENAMI" "$work/out" || fail "iec21 get 0.0.1: $(cat "$work/out")"
run iec21 set "$opt" 0.0.1 HOUSE42 --password s3cret
[ $rc -eq 0 ] || fail "iec21 set: $rc $(cat "$work/err")"
run iec21 get "$opt" 0.0.1 --password s3cret
grep -q "HOUSE42" "$work/out" || fail "written value not read back: $(cat "$work/out")"
run iec21 get "$opt" 0.0.1 --password nope
[ $rc -eq 1 ] || fail "wrong P1 password accepted: $rc $(cat "$work/out")"
pass "programming mode: R1/W1 after P1, wrong password refused"

run dlms get "iec21:$opt" 1-0:1.8.0.255:2 0-0:96.1.0.255:2 --json
[ $rc -eq 0 ] || fail "dlms over iec21 mode E: $rc $(cat "$work/err")"
grep -q '"AMI0000000001"' "$work/out" || fail "mode E identity: $(cat "$work/out")"
grep -q "mode E hand-over to HDLC at 9600 Bd" "$work/a" || fail "no hand-over logged"
grep -q "back to IEC 62056-21 (HDLC link closed)" "$work/a" || fail "no return logged"
run iec21 read "$opt"
[ $rc -eq 0 ] || fail "readout after the HDLC session: $rc $(cat "$work/err")"
run dlms get "iec21:$opt" 1-0:1.8.0.255:2 "${hls[@]}"
[ $rc -eq 0 ] || fail "HLS-GMAC ciphered get over iec21 mode E: $rc $(cat "$work/err")"
pass "dlms get iec21:PTY: mode E hand-over, DLMS over HDLC (public and HLS-GMAC), back to mode C"

run iec21 read "$opt" --mode E --json
[ $rc -eq 0 ] || fail "iec21 read --mode E: $rc $(cat "$work/err")"
[ "$(json "$work/out" 'j[0]["handover"]["baud"]')" = 9600 ] || fail "hand-over: $(cat "$work/out")"
# no SNRM follows: the meter returns to IEC 62056-21 by itself (bounded retries, no fixed sleep)
ok=0
for _ in $(seq 1 10); do
    run iec21 read "$opt"
    [ $rc -eq 0 ] && { ok=1; break; }
done
[ $ok -eq 1 ] || fail "the meter stayed in HDLC after a hand-over without SNRM"
grep -q "no HDLC after the hand-over" "$work/a" || fail "no return logged"
pass "iec21 read --mode E reports the hand-over; the meter returns to IEC 62056-21"

# ---------------------------------------------------------------- P1
run p1 read --json --count 2 "$p1"
[ $rc -eq 0 ] || fail "p1 read pty: $rc $(cat "$work/err")"
[ "$(json "$work/out" 'len(j)')" = 2 ] || fail "p1: $(cat "$work/out")"
[ "$(json "$work/out" 'j[1]["crc"]')" = ok ] || fail "p1 crc"
[ "$(json "$work/out" 'j[1]["meter"]')" = AMI0000000001 ] || fail "p1 meter id"
p1_wh=$(json "$work/out" 'round(sum(o["value"] for o in j[1]["objects"] if o["obis"] in ("1-0:1.8.1","1-0:1.8.2"))*1000)')
"$PY" -c "import sys; a,b=int(sys.argv[1]),int(sys.argv[2]); sys.exit(0 if 0 <= b-a < 1000 else 1)" \
    "$dlms_wh" "$((p1_wh + 1))" || fail "P1 1.8.1+1.8.2 $p1_wh Wh vs DLMS 1.8.0 $dlms_wh Wh"
pass "p1 read pty: DSMR 5.0.2 telegrams, CRC ok, energy agrees with DLMS"

# remote disconnect (through the HDLC pty): P1 and the optical readout show no power, no current
lls=(--client 17 --auth low --password s3cret)
DC=70/0-0:96.3.10.255
run dlms action "hdlc:$hp?baud=9600" $DC:1 i8:0 "${lls[@]}"
[ $rc -eq 0 ] || fail "remote_disconnect over hdlc pty: $rc $(cat "$work/err")"
run p1 read --json --count 2 "$p1"
[ $rc -eq 0 ] || fail "p1 read while disconnected: $rc $(cat "$work/err")"
[ "$(json "$work/out" '[o["value"] for o in j[1]["objects"] if o["obis"] in ("1-0:1.7.0","1-0:2.7.0","1-0:31.7.0")]')" = "[0.0, 0.0, 0]" ] ||
    fail "P1 while disconnected: $(json "$work/out" 'j[1]["objects"]')"
run iec21 read "$opt" --json
[ "$(json "$work/out" '[d["value"] for d in j[0]["datasets"] if d["address"] in ("1.7.0","31.7.0")]')" = "[0.0, 0.0]" ] ||
    fail "optical readout while disconnected: $(cat "$work/out")"
run dlms action "hdlc:$hp?baud=9600" $DC:2 i8:0 "${lls[@]}"
[ $rc -eq 0 ] || fail "remote_reconnect: $rc $(cat "$work/err")"
pass "disconnected meter: P1 and optical readout show no power and no current"

start_sim b --hdlc-port 0 --p1 pty --p1-key "$KEY"
p1b=$(port_of b 0 p1)
run p1 read --json --count 2 --key "$KEY" "$p1b"
[ $rc -eq 0 ] || fail "p1 read Smarty: $rc $(cat "$work/err")"
[ "$(json "$work/out" 'len(j)')" = 2 ] || fail "Smarty: $(cat "$work/out")"
grep -q "2 encrypted frames, 0 rejected" "$work/err" || fail "Smarty counters: $(cat "$work/err")"
# nothing good ever comes with a wrong key: the read is bounded by `timeout` (a few frames)
T=4 run p1 read --json --count 1 --key 0F0E0D0C0B0A09080706050403020100 "$p1b"
[ $rc -ne 0 ] && [ ! -s "$work/out" ] || fail "a wrong key must release nothing: $(cat "$work/out")"
grep -qi "auth\|tag" "$work/err" || fail "wrong key not named: $(cat "$work/err")"
pass "p1 read pty Smarty: decrypted with the key, refused with a wrong one"

start_sim c --hdlc-port 0 --meters 2 --p1 tcp:0
for i in 0 1; do
    hostport=$(port_of c $i p1 | sed 's/^tcp //')
    run p1 read --json --count 1 --tcp "$hostport"
    [ $rc -eq 0 ] || fail "p1 read tcp meter $i: $rc $(cat "$work/err")"
    [ "$(json "$work/out" 'j[0]["meter"]')" = "AMI$(printf '%010d' $((i + 1)))" ] ||
        fail "p1 tcp meter $i: $(cat "$work/out")"
done
pass "p1 over tcp:PORT, one listener per meter address"
