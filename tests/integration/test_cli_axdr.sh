#!/usr/bin/env bash
# `ami axdr`: text tree, JSON, files, limits, exit status 0/1/2 and error messages.
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
tmp_dir=$(mktemp -d)
trap 'rm -rf "$tmp_err" "$tmp_dir"' EXIT

# an object list entry of the Gurux association view (shared captures)
entry=020412000809060000010000FF0F02120000
expect 0 "  octet-string[6] 0000010000FF (0-0:1.0.0.255)" "$AMI" axdr "$entry"
expect 0 '{"type":"octet-string","value":"0000010000FF","obis":"0-0:1.0.0.255"}' \
    "$AMI" axdr --json "$entry"
expect 0 '"length":18' "$AMI" --json axdr "$entry"
expect 0 "double-long-unsigned 5009" "$AMI" axdr 0600001391
expect 0 "compact-array[3] of long-unsigned" "$AMI" axdr "1312 06 000100020003"

# from a file, in hex and raw
echo "$entry" > "$tmp_dir/v.hex"
printf '\x11\x05' > "$tmp_dir/v.bin"
expect 0 "long-unsigned 8" "$AMI" axdr --file "$tmp_dir/v.hex"
expect 0 "unsigned 5" "$AMI" axdr --file "$tmp_dir/v.bin" --raw
expect 0 "long-unsigned 8" "$AMI" axdr --file - < "$tmp_dir/v.hex"

# data errors: exit 1, naming the input, the layer and the cause
expect 1 "" "$AMI" axdr 0101
grep -q "ami axdr: argument: a-xdr: input truncated (TRUNCATED)" "$tmp_err" || fail "truncated message"
expect 1 "" "$AMI" axdr 0184FFFFFFFF
grep -q "exceeds a configured limit (TOO_LARGE)" "$tmp_err" || fail "count bomb message"
expect 1 "" "$AMI" axdr 08
grep -q "malformed input (MALFORMED)" "$tmp_err" || fail "unknown tag message"
expect 1 "" "$AMI" axdr 11050000
grep -q "2 bytes after the value" "$tmp_err" || fail "trailing message"
expect 0 "(2 trailing bytes)" "$AMI" axdr --trailing 11050000
expect 1 "" "$AMI" axdr --file "$tmp_dir/v.bin"
grep -q "v.bin: hex:" "$tmp_err" || fail "bad hex file message"

# limits
expect 1 "" "$AMI" axdr --max-depth 1 0101010100
grep -q "nesting too deep (TOO_DEEP)" "$tmp_err" || fail "depth message"
expect 0 "array[1]" "$AMI" axdr --max-depth 2 0101010100
expect 1 "" "$AMI" axdr --max-length 2 0903414243
expect 1 "" "$AMI" axdr --max-nodes 2 "0102 1101 1102"

# usage errors: exit 2
expect 2 "" "$AMI" axdr
expect 2 "" "$AMI" axdr 11 05
expect 2 "" "$AMI" axdr --bogus 1105
expect 2 "" "$AMI" axdr 1G
expect 2 "" "$AMI" axdr --max-depth 65 1105
expect 2 "" "$AMI" axdr --raw 1105
expect 0 "Usage: ami axdr" "$AMI" axdr --help
echo "ok"
