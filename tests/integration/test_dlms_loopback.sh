#!/usr/bin/env bash
# `ami dlms` against `ami sim` on 127.0.0.1 (free ports), over tcp:// and hdlc+tcp://: objects,
# get (one and with-list, class looked up), clock, clock --sync with LLS (SAP 17), a SET refused
# to the read-only public client (outcome named), a wrong password refused (ACSE diagnostic
# named), a tiny client PDU forcing block transfer, action (outcome named); short-name
# referencing on SAP 32 (--sn: objects with base names, get by OBIS and by raw name, a write
# refused to the public client, the load profile in data-block-result blocks with a 128-byte
# PDU and no GBT, action through ReadRequest and --sn-write on the clock and the disconnect
# control); forced general block transfer (--gbt) with a tiny PDU and a streaming window over
# tcp://, udp:// and hdlc+tcp://. The meter starts with one day of history (the whole load
# profile fits the simulator's block buffer).
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_sim sim --hdlc-port 0 --password s3cret --history-days 1
[ -n "$wport" ] && [ -n "$hport" ] || fail "ports not in '$sim_line'"

for url in "$tcp" "$hdlc"; do
    run dlms objects "$url"
    [ $rc -eq 0 ] || fail "objects $url: $rc $(cat "$work/err")"
    grep -q "0-0:1.0.0.255" "$work/out" || fail "objects $url: no clock: $(cat "$work/out")"
    grep -q "1-0:1.8.0.255" "$work/out" || fail "objects $url: no 1.8.0"
    run dlms get "$url" 1-0:1.8.0.255:2 1-0:2.8.0.255:2 --json
    [ $rc -eq 0 ] || fail "get with-list $url: $rc $(cat "$work/err")"
    [ "$(grep -c '"ref"' "$work/out")" -eq 2 ] || fail "get with-list $url: $(cat "$work/out")"
    run dlms clock "$url"
    [ $rc -eq 0 ] || fail "clock $url: $rc $(cat "$work/err")"
    grep -q "^clock " "$work/out" || fail "clock $url: $(cat "$work/out")"
    pass "objects, get with-list, clock over $url"
done

run dlms objects "$tcp" --max-pdu 64 --trace
[ $rc -eq 0 ] || fail "objects --max-pdu 64: $rc $(tail -3 "$work/err")"
grep -q "with-datablock" "$work/err" || fail "no block transfer with a 64-byte client PDU"
pass "a 64-byte client PDU forces GET block transfer"

run dlms clock "$hdlc" --sync --client 17 --auth low --password s3cret --trace
[ $rc -eq 0 ] || fail "clock --sync (LLS): $rc $(tail -3 "$work/err")"
grep -q "set-request" "$work/err" || fail "clock --sync: no SET"
if grep -q "s3cret" "$work/err"; then fail "password in the trace"; fi
pass "clock --sync with LLS over HDLC, password redacted in the trace"

run dlms set "$tcp" 8/0-0:1.0.0.255:3 i16:-60
[ $rc -eq 1 ] || fail "set as the public client: rc $rc"
grep -q "xDLMS: " "$work/err" || fail "set refused: $(cat "$work/err")"
pass "set refused to the public client, outcome named ($(sed 's/.*xDLMS: //' "$work/err"))"

run dlms get "$tcp" 8/0-0:1.0.0.255:2 --client 17 --auth low --password wrong
[ $rc -eq 1 ] || fail "wrong password: rc $rc"
grep -q "ACSE: association rejected" "$work/err" || fail "wrong password: $(cat "$work/err")"
pass "wrong password refused: $(sed 's/.*ACSE: //' "$work/err")"

run dlms action "$tcp" 8/0-0:1.0.0.255:1 i8:0
grep -q "success\|xDLMS: " "$work/out" "$work/err" || fail "action: $(cat "$work/out" "$work/err")"
pass "action answered (rc $rc)"

udp="udp://127.0.0.1:$wport"

run dlms objects "$tcp" --sn --client 32 --json
[ $rc -eq 0 ] || fail "objects --sn: $rc $(cat "$work/err")"
grep -q '"base_name":64000' "$work/out" || fail "objects --sn: no Association SN at 0xFA00"
grep -q '"obis":"1-0:1.8.0.255"' "$work/out" || fail "objects --sn: no 1.8.0"
pass "SN object list (Association SN at 0xFA00)"

for url in "$tcp" "$hdlc"; do
    run dlms get "$url" --sn --client 32 1-0:1.8.0.255:2 SN:0xFA00 3/1-0:2.8.0.255:3 --trace
    [ $rc -eq 0 ] || fail "get --sn $url: $rc $(tail -3 "$work/err")"
    grep -q "read-request" "$work/err" || fail "get --sn $url: no ReadRequest"
    grep -q "double-long-unsigned" "$work/out" || fail "get --sn $url: $(cat "$work/out")"
    grep -q "0-0:40.0.0.255" "$work/out" || fail "get --sn $url: SN:0xFA00 not the association"
    pass "SN read with-list by OBIS and by raw name over $url"
done

run dlms set "$tcp" --sn --client 32 0-0:96.1.0.255:2 str:X
[ $rc -eq 1 ] || fail "SN write as the public client: rc $rc"
grep -q "read-write-denied" "$work/err" || fail "SN write refused: $(cat "$work/err")"
pass "SN write refused to the public client"

for url in "$tcp" "$hdlc"; do
    run dlms get "$url" --sn --client 32 --max-pdu 128 1-0:99.1.0.255:2 --trace
    [ $rc -eq 0 ] || fail "get --sn profile $url: $rc $(tail -3 "$work/err")"
    if grep -q "general-block-transfer" "$work/err"; then fail "get --sn profile $url: GBT used"; fi
    n=$(grep -c "kind: data-block-result" "$work/err")
    [ "$n" -gt 10 ] || fail "get --sn profile $url: only $n data blocks"
    # Two transfers (the SN object list, then the profile): every block but the last of each
    # is acknowledged with block-number-access.
    lasts=$(grep -c "last-block: true" "$work/err")
    acks=$(grep -c "kind: block-number-access" "$work/err")
    [ "$acks" -eq $((n - lasts)) ] || fail "get --sn profile $url: $acks acks, $n blocks, $lasts"
    grep -q "^array\[96\]" "$work/out" || fail "get --sn profile $url: $(head -3 "$work/out")"
    pass "SN load profile (96 entries) and object list in $n data-block-result blocks, 128-byte PDU, over $url"
done

run dlms get "$tcp" --sn --client 32 --max-pdu 64 1-0:99.1.0.255:2 1-0:1.8.0.255:2
[ $rc -eq 1 ] || fail "get --sn two items too long: rc $rc"
grep -q "pdu-size" "$work/err" || fail "get --sn two items too long: $(cat "$work/err")"
pass "a multi-item SN Read too long for the PDU refused (pdu-size)"

run dlms action "$tcp" --sn --client 32 0-0:1.0.0.255:1 i8:0 --trace
[ $rc -eq 1 ] || fail "action --sn clock: rc $rc"
grep -q "kind: parameterized-access" "$work/err" || fail "action --sn: no parameterized-access"
grep -q "xDLMS: data-access-result read-write-denied" "$work/err" ||
    fail "action --sn clock: $(tail -1 "$work/err")"
base=$(awk '$4 == "0-0:1.0.0.255" {print $1}' <("$AMI" dlms objects "$tcp" --sn --client 32))
want=$(printf '%04X' $((${base#SN:} + 0x60)))
grep -q "variable-name: $want" "$work/err" || fail "action --sn clock: not at $base + 0x60"
pass "SN action (clock adjust_to_quarter at $base + 0x60) through ReadRequest, refused to the public client"

run dlms action "$tcp" --sn --sn-write --client 32 0-0:96.3.10.255:1 i8:0 --trace
[ $rc -eq 1 ] || fail "action --sn-write disconnect: rc $rc"
grep -q "APDU write-request" "$work/err" || fail "action --sn-write: no WriteRequest"
grep -q "xDLMS: data-access-result read-write-denied" "$work/err" ||
    fail "action --sn-write disconnect: $(tail -1 "$work/err")"
pass "SN action (disconnect control remote_disconnect) through WriteRequest, refused to the public client"

run dlms action "$tcp" --sn-write 0-0:1.0.0.255:1
[ $rc -eq 2 ] || fail "--sn-write without --sn: rc $rc"

run dlms get "$tcp" 1-0:1.8.0.255:2 --sn
[ $rc -eq 1 ] || fail "--sn to an LN SAP: rc $rc"
grep -q "ACSE: association rejected" "$work/err" || fail "--sn to LN SAP: $(cat "$work/err")"
pass "SN context refused on the LN SAP 16"

for url in "$tcp" "$udp" "$hdlc"; do
    run dlms objects "$url" --gbt=4 --max-pdu 40 --trace
    [ $rc -eq 0 ] || fail "objects --gbt $url: $rc $(tail -3 "$work/err")"
    grep -q "1-0:1.8.0.255" "$work/out" || fail "objects --gbt $url: $(cat "$work/out")"
    n=$(grep -c "<< APDU general-block-transfer" "$work/err")
    [ "$n" -gt 10 ] || fail "objects --gbt $url: only $n GBT blocks"
    pass "object list in $n GBT blocks (window 4, 40-byte PDU) over $url"
    run dlms get "$url" --sn --client 32 SN:0xFA08 --gbt=2 --max-pdu 40 --trace
    [ $rc -eq 0 ] || fail "get --sn --gbt $url: $rc $(tail -3 "$work/err")"
    grep -q "general-block-transfer" "$work/err" || fail "get --sn --gbt $url: no GBT"
    pass "SN object list in GBT blocks over $url"
done
