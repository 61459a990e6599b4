#!/usr/bin/env bash
# ami p1 with --key: Luxembourg Smarty AES-GCM frames (good, bad tag, replay, inner CRC still
# checked), the Austrian M-Bus DLMS push (--mbus), keys never printed.
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
E="$AMI_TESTDATA/p1/encrypted"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
k1=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
syn="$E/luxembourg_format_sagemcom_t210dr_synthetic_esphome_libs.bin"

"$AMI" p1 decode --json --key "$k1" "$syn" >"$tmp/out" 2>"$tmp/err" || fail "smarty: $(cat "$tmp/err")"
python3 - "$tmp/out" <<'PY'
import json, sys
t = json.loads(open(sys.argv[1]).readline())
o = {x["obis"]: x for x in t["objects"]}
assert t["crc"] == "ok" and t["header"] == "EST5\\253710000_A"
assert o["1-0:1.8.0"]["value"] == 6545766 and o["1-0:1.8.0"]["unit"] == "Wh"
assert o["1-0:4.7.0"]["value"] == 166 and o["1-0:4.7.0"]["unit"] == "var"
PY
# The key from a file, the default authentication key given explicitly.
printf '%s\n' "$k1" >"$tmp/key"
"$AMI" p1 decode --key-file "$tmp/key" --aad-key 00112233445566778899AABBCCDDEEFF "$syn" >/dev/null 2>&1 \
    || fail "--key-file"

# Wrong key: bad tag, named; the key is not printed anywhere.
set +e
"$AMI" p1 decode --key 0102030405060708090A0B0C0D0E0F10 "$syn" >"$tmp/out" 2>"$tmp/err"
rc=$?
set -e
[ $rc -eq 1 ] || fail "bad tag exit $rc"
grep -q "security: frame 1: GCM tag mismatch" "$tmp/err" || fail "bad tag message: $(cat "$tmp/err")"
! grep -qi "0102030405060708" "$tmp/out" "$tmp/err" || fail "key printed"

# The same frame twice: the second is a replay.
cat "$syn" "$syn" >"$tmp/twice"
set +e
"$AMI" p1 decode --json --stats --key "$k1" "$tmp/twice" >"$tmp/out" 2>"$tmp/err"
rc=$?
set -e
[ $rc -eq 1 ] || fail "replay exit $rc"
grep -q "security: frame 2: frame counter not above the last one (replay)" "$tmp/err" || fail "replay message"
grep -q '"frames":2,"frames_rejected":1' "$tmp/out" || fail "replay stats: $(tail -1 "$tmp/out")"

# Valid GCM tag, stale inner CRC: the telegram CRC is still checked after decryption.
set +e
"$AMI" p1 decode --key D491470F47126332B07D1923B3504188 "$E/luxembourg_smarty_gcm_openhab.bin" >/dev/null 2>"$tmp/err"
rc=$?
set -e
[ $rc -eq 1 ] && grep -q "crc: telegram 1: CRC 99BD expected, CFDE received" "$tmp/err" || fail "inner CRC"

# Austria (EVN / Netz NOe Kaifa MA309): M-Bus long frames, DLMS push, encryption only.
"$AMI" p1 decode --json --mbus --key 36C66639E48A8CA4D6BC8B282A793BBB "$E/austria_evn_netznoe_kaifa_mbus_dlms.bin" >"$tmp/out" \
    2>"$tmp/err" || fail "mbus: $(cat "$tmp/err")"
python3 - "$tmp/out" <<'PY'
import json, sys
t = json.loads(open(sys.argv[1]).readline())
o = {x["obis"]: x for x in t["objects"]}
assert o["1-0:1.8.0"] == {"obis": "1-0:1.8.0", "name": "energy_import_total", "value": 12937, "unit": "Wh"}, o["1-0:1.8.0"]
assert o["1-0:32.7.0"]["value"] == 233.7 and o["1-0:32.7.0"]["unit"] == "V"
PY

# Usage: a key of the wrong length is a usage error, and is not echoed.
set +e
"$AMI" p1 decode --key ABCDEF "$syn" >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] || fail "short key not a usage error"
set -e
! grep -q ABCDEF "$tmp/err" || fail "short key echoed"
echo "p1 crypt: ok"
