#!/usr/bin/env bash
# IEC 62056-21 end to end with the real binary:
#  - `ami iec21 decode` of every file in testdata/iec62056-21 against its expected decode in
#    tests/vectors/iec62056-21 (the bad-BCC files refused with exit 1, naming the BCC);
#  - full sessions over a pty pair between `ami iec21 meter --pty` and `ami iec21 read|get|set`
#    in modes A, B, C and D with baud switching, passwords right and wrong, lock-out with a
#    tamper event, a write refused at too low a level, P2, the echo of a half-duplex probe;
#  - usage errors exit 2.
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail

: "${AMI_SOURCE_DIR:?}" "${AMI_TESTDATA:?}"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---------------------------------------------------------------- decode vectors
vec="$AMI_SOURCE_DIR/tests/vectors/iec62056-21"
count=0
for f in "$AMI_TESTDATA"/iec62056-21/*; do
    case "$f" in *.source.txt) continue ;; esac
    b=$(basename "$f")
    [ -f "$vec/$b.json" ] || fail "no expected decode for $b"
    set +e
    (cd "$AMI_TESTDATA" && "$AMI" iec21 decode --json "iec62056-21/$b") >"$work/out.json" 2>"$work/err"
    rc=$?
    set -e
    case "$b" in
    *bad_bcc* | *bcc_corrupted*)
        [ "$rc" -eq 1 ] || fail "$b: bad BCC accepted (exit $rc)"
        grep -q "bcc: received" "$work/err" || fail "$b: error does not name the BCC"
        ;;
    *) [ "$rc" -eq 0 ] || fail "$b: exit $rc: $(cat "$work/err")" ;;
    esac
    cp "$work/out.json" "$work/got.$b.json"
    count=$((count + 1))
done
[ "$count" -ge 15 ] || fail "only $count vectors"
"$PY" - "$vec" "$work" <<'EOF' || fail "decode differs from the expected one"
import glob, json, os, sys
vec, work = sys.argv[1], sys.argv[2]
bad = 0
for got in glob.glob(os.path.join(work, "got.*.json")):
    name = os.path.basename(got)[4:]
    if json.load(open(got)) != json.load(open(os.path.join(vec, name))):
        print("differs:", name); bad += 1
sys.exit(1 if bad else 0)
EOF
pass "decode: $count vectors match their expected decode"

# strict mode refuses the tolerated deviations
set +e
"$AMI" iec21 decode --strict "$AMI_TESTDATA/iec62056-21/mode_d_hager_ehz_vzlogger.txt" >/dev/null 2>&1
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "--strict accepted a bare LF readout (exit $rc)"
pass "decode --strict refuses a bare readout"

# ---------------------------------------------------------------- a meter on a pty
start_meter() { # start_meter NAME CONFIG-TEXT [extra args]
    local name=$1 conf=$2
    shift 2
    printf '%s\n' "$conf" >"$work/$name.conf"
    rm -f "$work/$name.ready"
    "$AMI" iec21 meter --pty --config "$work/$name.conf" --ready-file "$work/$name.ready" "$@" \
        >"$work/$name.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do
        [ -s "$work/$name.ready" ] && break
        kill -0 "${pids[-1]}" 2>/dev/null || fail "meter $name died: $(cat "$work/$name.log")"
        sleep 0.05
    done
    [ -s "$work/$name.ready" ] || fail "meter $name never became ready"
    port=$(cat "$work/$name.ready")
}

regs='register = 0.0.0 12345678
register = 1.8.0 001234.5 kWh
register = 2.8.0 000042.0 kWh
register = 0.9.1 120000 - read=2 write=2
register = C.1.0 10.0 kW read=2 write=3
register = C.99 7 - read=3 write=4'

check_readout() { # check_readout FILE MODE BAUD
    "$PY" - "$@" <<'EOF' || fail "readout $2 at $3 Bd: $(cat "$1")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["mode"] == sys.argv[2] and d["baud"] == int(sys.argv[3]) and d["bcc"] == "ok"
assert d["identification"]["manufacturer"] == "OAM"
assert [x["address"] for x in d["datasets"]] == ["0.0.0", "1.8.0", "2.8.0"]
assert d["datasets"][1]["value"] == 1234.5 and d["datasets"][1]["raw"] == "001234.5"
assert d["datasets"][1]["unit"] == "kWh" and d["datasets"][0]["unit"] is None
assert d["deviations"] == []
EOF
}

for mode in A B C; do
    start_meter "m$mode" "mode = $mode
manufacturer = OAM
ident = SIM-$mode
max-baud = 9600
$regs"
    "$AMI" iec21 read "$port" --mode "$mode" --json >"$work/r.json" || fail "mode $mode read"
    want=9600
    [ "$mode" = A ] && want=300
    check_readout "$work/r.json" "$mode" "$want"
    pass "mode $mode readout over a pty at $want Bd"
done

# mode C: the client's --max-baud caps the switch; the meter returns to 300 Bd for the next one
port_c=$(cat "$work/mC.ready")
"$AMI" iec21 read "$port_c" --max-baud 2400 --json >"$work/r.json" || fail "max-baud read"
check_readout "$work/r.json" C 2400
"$AMI" iec21 read "$port_c" --json >"$work/r.json" || fail "second read"
check_readout "$work/r.json" C 9600
pass "mode C baud switch to 2400 and 9600 on consecutive sessions"

# asking for mode B of a mode C meter is a protocol error
set +e
"$AMI" iec21 read "$port_c" --mode B 2>"$work/err" >/dev/null
rc=$?
set -e
[ "$rc" -eq 1 ] && grep -q "announces mode C" "$work/err" || fail "mode mismatch: $rc $(cat "$work/err")"
pass "mode mismatch named"

start_meter mD "mode = D
manufacturer = OAM
ident = SIM-D
push-seconds = 1
$regs"
"$AMI" iec21 read "$port" --mode D --json >"$work/r.json" || fail "mode D read"
check_readout "$work/r.json" D 2400
pass "mode D push read at 2400 Bd"

# ---------------------------------------------------------------- programming mode
start_meter prog "mode = C
manufacturer = OAM
ident = SIM-P
password = 00000000
secret = S3CRET
max-bad-passwords = 3
lock-seconds = 600
$regs"
pport=$port
out=$("$AMI" iec21 get "$pport" 0.9.1 --password 00000000 --json)
echo "$out" | grep -qF '"command":"R1","address":"0.9.1","result":"data","bcc":"ok","datasets":[{"address":"0.9.1","value":120000,"raw":"120000"' ||
    fail "get: $out"
pass "get with P1 password"

"$AMI" iec21 set "$pport" 0.9.1 133000 --password 00000000 || fail "set at level 2"
out=$("$AMI" iec21 get "$pport" 0.9.1 --password 00000000)
echo "$out" | grep -q "0.9.1 = 133000" || fail "value not written: $out"
grep -q "event written 0.9.1=133000" "$work/prog.log" || fail "no written event"
pass "set at level 2, read back"

set +e
"$AMI" iec21 set "$pport" C.1.0 22.0 --password 00000000 2>"$work/err"
rc=$?
set -e
[ "$rc" -eq 1 ] && grep -q "ERROR:ACCESS" "$work/err" || fail "write above level: $rc $(cat "$work/err")"
pass "write refused at too low a level (P1 = level 2, C.1.0 needs 3)"

"$AMI" iec21 set "$pport" C.1.0 22.0 --secret S3CRET || fail "set with P2"
out=$("$AMI" iec21 get "$pport" C.1.0 --secret S3CRET)
echo "$out" | grep -q "C.1.0 = 22.0 kW" || fail "P2 write not read back: $out"
pass "P2 challenge-response reaches level 3"

set +e
"$AMI" iec21 set "$pport" C.99 8 --secret S3CRET 2>"$work/err"
rc=$?
set -e
[ "$rc" -eq 1 ] && grep -q "ERROR:ACCESS" "$work/err" || fail "level 4 without button: $rc"
pass "level 4 needs the sealable button"

for i in 1 2 3; do
    set +e
    "$AMI" iec21 get "$pport" 0.9.1 --password wrong 2>"$work/err" >/dev/null
    rc=$?
    set -e
    [ "$rc" -eq 1 ] || fail "wrong password $i accepted"
done
grep -q "ERROR:PASSWORD" "$work/err" || grep -q "B0" "$work/err" || fail "wrong password not named"
grep -q "event tamper" "$work/prog.log" || fail "no tamper event: $(cat "$work/prog.log")"
set +e
"$AMI" iec21 get "$pport" 0.9.1 --password 00000000 2>"$work/err" >/dev/null
rc=$?
set -e
[ "$rc" -eq 1 ] && grep -q "timeout" "$work/err" || fail "locked port answered: $rc $(cat "$work/err")"
pass "3 wrong passwords lock the port and log a tamper event"

# ---------------------------------------------------------------- half-duplex echo
start_meter echo "mode = C
manufacturer = OAM
ident = SIM-E
$regs" --echo
"$AMI" iec21 read "$port" --drop-echo --json >"$work/r.json" || fail "read with --drop-echo"
check_readout "$work/r.json" C 9600
# last: a failed session leaves the meter sending into the line
set +e
"$AMI" iec21 read "$port" --json >/dev/null 2>"$work/err"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "echo without --drop-echo should fail"
pass "--drop-echo drops the echo of a half-duplex probe"

# ---------------------------------------------------------------- usage
for args in "iec21 read" "iec21 read $port --mode X" "iec21 get $port" "iec21 nope" \
    "iec21 read $port --max-baud 1234"; do
    set +e
    # shellcheck disable=SC2086
    "$AMI" $args >/dev/null 2>&1
    rc=$?
    set -e
    [ "$rc" -eq 2 ] || fail "'$args' exit $rc, want 2"
done
grep -q decode <<<"$("$AMI" iec21 --help)" || fail "help"
grep -q -- --max-baud <<<"$("$AMI" iec21 read --help)" || fail "read help"
pass "usage errors exit 2"
