#!/usr/bin/env bash
# `ami obis` and `ami datetime`: outputs, JSON, exit status 0/1/2 and error messages.
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }
# expect STATUS STDOUT-SUBSTRING CMD...: runs CMD, checks the exit status and that stdout
# contains the substring (empty = not checked).
expect() {
    local want=$1 text=$2 out rc=0
    shift 2
    out=$("$@" 2>"$tmp_err") || rc=$?
    [ "$rc" = "$want" ] || fail "$* -> exit $rc, want $want; stderr: $(cat "$tmp_err")"
    [ -z "$text" ] || [[ "$out" == *"$text"* ]] || fail "$* -> '$out' lacks '$text'"
}
tmp_err=$(mktemp)
trap 'rm -f "$tmp_err"' EXIT

expect 0 "1-0:1.8.0.255  star 1-0:1.8.0*255  short 1-0:1.8.0  hex 0100010800FF" \
    "$AMI" obis '1-0:1.8.0*255'
expect 0 "0-0:96.1.0.255" "$AMI" obis 0000600100FF
expect 0 '"groups":[1,0,1,8,0,255]' "$AMI" obis --json 1.0.1.8.0.255
expect 0 '"short":"0-1:24.2.1"' "$AMI" --json obis '0-1:24.2.1*255'
expect 1 '"error":"RANGE"' "$AMI" obis --json 1-0:1.8.0.256
grep -q "1-0:1.8.0.256: obis: value group above 255" "$tmp_err" || fail "obis range message"
expect 1 "" "$AMI" obis '1-0: 1.8.0'
grep -q "obis: not an OBIS code" "$tmp_err" || fail "obis syntax message"
expect 2 "" "$AMI" obis
expect 2 "" "$AMI" obis --bogus 1-0:1.8.0
expect 0 "Usage: ami obis" "$AMI" obis --help

# Blue Book example, as carried by the real meter session in dlms/hdlc_fcs_vectors.txt
expect 0 "iso       2002-12-04T10:06:11-02:00" "$AMI" datetime 090C07D20C04030A060BFF007800
expect 0 "unix      1039003571" "$AMI" datetime 07D20C04030A060BFF007800
expect 0 "readable  2002-12-04 Wed 10:06:11.* dev=120 status=00" "$AMI" datetime 07D20C04030A060BFF007800
expect 0 '"unix":1506812400' "$AMI" datetime --json 07E10A010700000000FFC480
expect 0 '"status":128' "$AMI" datetime --json 07E10A010700000000FFC480
expect 0 '"day":"last"' "$AMI" datetime --json FFFF03FE0702000000FF8880
expect 0 '"iso":null' "$AMI" datetime --json FFFF03FE0702000000FF8880
expect 0 "unix      - (value not specified)" "$AMI" datetime 07E30C1001073B28FF8000FF
expect 0 "iso       2019-12-16T07:59:40Z" "$AMI" datetime --assume-utc 07E30C1001073B28FF8000FF
expect 0 "hex       07E8031F07021E0000FFC4FF" "$AMI" datetime 2024-03-31T02:30:00+01:00
expect 0 "hex       07E8010F010A000000014AFF" "$AMI" datetime --deviation-inverted 2024-01-15T10:00+05:30
expect 0 "readable  2024-02-29 Thu *:*:*.* dev=* status=*" "$AMI" datetime 07E8021D04
expect 0 "readable  *-*-* * 23:59:59.99 dev=* status=*" "$AMI" datetime 0904173B3B63
expect 1 "" "$AMI" datetime 076C01000700000000000000
grep -q "date-time: a field is out of range" "$tmp_err" || fail "datetime range message"
expect 1 "" "$AMI" datetime 2024-02-30
grep -q "2024-02-30: iso8601: a field is out of range" "$tmp_err" || fail "iso range message"
expect 1 "" "$AMI" datetime 2024-03-31T02:30:00+01
expect 1 "" "$AMI" datetime 0102
expect 2 "" "$AMI" datetime
expect 2 "" "$AMI" datetime 07E8021D04 extra
expect 0 "Usage: ami datetime" "$AMI" datetime --help
echo "ok"
