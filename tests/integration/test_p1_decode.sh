#!/usr/bin/env bash
# ami p1 decode / read over files, stdin, several inputs and TCP: exit status, messages naming
# the input and the reason, JSON Lines schema, counters, the two real streams (566 good; 51 good
# + 3 bad CRC + a truncated tail).
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
P1="$AMI_TESTDATA/p1"
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# Every good file decodes with exit 0 and valid JSON; every negative one exits 1 naming why.
for f in "$P1"/*.txt; do
    case "$f" in *.source.txt) continue ;; esac
    b=$(basename "$f")
    set +e
    "$AMI" p1 decode --json "$f" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    set -e
    case "$b" in
    invalid_crc_*|spec_dsmr502_example_crc_mismatch_nb.txt)
        [ $rc -eq 1 ] || fail "$b: exit $rc, expected 1"
        grep -q "ami p1 decode: $f: crc: telegram 1: CRC .... expected, .... received" "$tmp/err" \
            || fail "$b: no CRC message: $(cat "$tmp/err")" ;;
    invalid_oversized_garbage_dsmr5rs.txt)
        [ $rc -eq 1 ] || fail "$b: exit $rc"
        grep -q "crc: telegram 7: CRC 55BD expected, 67B1 received" "$tmp/err" || fail "$b: $(cat "$tmp/err")"
        grep -q "framing: telegram 1: truncated" "$tmp/err" || fail "$b: no truncation message" ;;
    broken_truncated_then_complete_iskra_nb.txt|stream_sagemcom_t210d_with_corrupted_d2m.txt)
        [ $rc -eq 1 ] || fail "$b: exit $rc" ;;
    *)
        [ $rc -eq 0 ] || fail "$b: exit $rc: $(cat "$tmp/err")" ;;
    esac
    cp "$tmp/out" "$tmp/json_$b"
done
# One interpreter for every output: each line is a telegram of the documented schema.
python3 - "$tmp"/json_* <<'PY' || fail "bad JSON"
import json, sys
for path in sys.argv[1:]:
    for line in open(path):
        t = json.loads(line)
        assert t["crc"] in ("ok", "absent"), (path, t)
        assert "header" in t and "time" in t and isinstance(t["objects"], list), path
        for o in t["objects"]:
            assert "obis" in o or "line" in o, (path, o)
PY

# Key values from the JSON (the schema is an API: docs/p1.md).
"$AMI" p1 decode --json "$P1/dsmr50_iskra_am550_openhab.txt" >"$tmp/out"
python3 - "$tmp/out" <<'PY'
import json, sys
t = json.loads(open(sys.argv[1]).readline())
o = {x["obis"]: x for x in t["objects"]}
assert t["header"] == "ISK5\\2M550T-1012" and t["crc"] == "ok"
assert t["time"] == "2018-01-04T23:19:41+01:00", t["time"]
assert o["1-0:1.8.1"] == {"obis": "1-0:1.8.1", "name": "energy_import_tariff1", "value": 156.167, "unit": "kWh"}
assert o["1-0:21.7.0"]["value"] == 0.122 and o["1-0:21.7.0"]["name"] == "power_import_l1"
assert o["0-1:24.2.1"] == {"obis": "0-1:24.2.1", "name": "mbus1_reading", "value": 212.529,
                           "unit": "m3", "time": "2018-01-04T23:15:07+01:00"}, o["0-1:24.2.1"]
log = o["1-0:99.97.0"]["values"]
assert log[1] == {"value": 149657, "unit": "s", "time": "2017-06-11T00:17:06+02:00"}, log
assert o["0-0:96.1.1"]["value"] == "E0044006903312917"
PY
# Exact decimals: trailing zeros are kept in the JSON text.
grep -q '"value":0.000,"unit":"kW"' "$tmp/out" || fail "exact decimal text"

# The 566-telegram stream: all good, counters in JSON with --stats.
"$AMI" p1 decode --json --stats "$P1/stream_iskra_am550_566_telegrams_nb.txt" >"$tmp/out" 2>"$tmp/err"
[ "$(grep -c '"header"' "$tmp/out")" -eq 566 ] || fail "566 stream"
grep -q '"stats":{"telegrams":566,"crc_ok":566,"crc_absent":0,"crc_errors":0,"truncated":0' "$tmp/out" \
    || fail "566 stats: $(tail -1 "$tmp/out")"
grep -q "566 telegrams (566 crc ok" "$tmp/err" || fail "566 counters on stderr"

# The corrupted stream: 51 good, 3 bad CRC (each named), the truncated tail, exit 1.
set +e
"$AMI" p1 decode --json --stats - <"$P1/stream_sagemcom_t210d_with_corrupted_d2m.txt" >"$tmp/out" 2>"$tmp/err"
rc=$?
set -e
[ $rc -eq 1 ] || fail "d2m exit $rc"
[ "$(grep -c '"header"' "$tmp/out")" -eq 51 ] || fail "d2m good count"
[ "$(grep -c 'ami p1 decode: stdin: crc: telegram' "$tmp/err")" -eq 3 ] || fail "d2m crc messages"
grep -q "stdin: framing: telegram 55: truncated" "$tmp/err" || fail "d2m truncated tail"
grep -q '"crc_errors":3,"truncated":1' "$tmp/out" || fail "d2m stats"

# Strict mode names the rule; --lenient adds one.
set +e
"$AMI" p1 decode --strict "$P1/dsmr22_kamstrup_no_blank_line_real_nb.txt" >/dev/null 2>"$tmp/err"
rc=$?
set -e
[ $rc -eq 1 ] && grep -q "parse: telegram 1: no blank line after the header" "$tmp/err" || fail "strict"
"$AMI" p1 decode --strict --lenient no-blank-after-header "$P1/dsmr22_kamstrup_no_blank_line_real_nb.txt" >/dev/null 2>&1 \
    || fail "--lenient"
"$AMI" p1 decode --json --lenient unit-no-star "$P1/belgium_fluvius_3phase_openhab.txt" | grep -q '"value":1247.747,"unit":"kWh"' \
    || fail "unit-no-star"

# Usage errors: exit 2.
set +e
"$AMI" p1 decode >/dev/null 2>&1; [ $? -eq 2 ] || fail "no file: not 2"
"$AMI" p1 decode --lenient bogus x >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad lenient: not 2"
"$AMI" p1 decode --tcp h:1 x >/dev/null 2>&1; [ $? -eq 2 ] || fail "--tcp on decode: not 2"
"$AMI" p1 read --tcp nocolon >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad --tcp: not 2"
"$AMI" p1 bogus >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad command: not 2"
set -e
grep -q -- "--mqtt URL" <<<"$("$AMI" p1 read --help)" || fail "read --help"

# Several inputs in one process, one meter each.
"$AMI" p1 read --json "$P1/dsmr50_iskra_am550_openhab.txt" "$P1/belgium_fluvius_emucs171_dsmr_parser.txt" >"$tmp/out"
grep -q '"meter":"E0044006903312917"' "$tmp/out" && grep -q '"meter":"1SAG3101021605"' "$tmp/out" \
    || fail "two inputs"

# TCP (ser2net-style): a one-shot server on loopback; ami reconnects after it closes.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 - "$port" "$P1/stream_iskra_am550_566_telegrams_nb.txt" "$tmp/ready" <<'PY' &
import socket, sys
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1]))); srv.listen(1)
open(sys.argv[3], "w").close()
data = open(sys.argv[2], "rb").read()
for _ in range(2):                       # two connections: the reconnect is exercised
    c, _ = srv.accept()
    for i in range(0, len(data), 1000):  # uneven chunks, as a terminal server sends them
        c.sendall(data[i:i + 1000])
    c.close()
PY
pids+=($!)
for _ in $(seq 100); do [ -e "$tmp/ready" ] && break; sleep 0.05; done
"$AMI" p1 read --json --tcp "127.0.0.1:$port" >"$tmp/tcp" 2>"$tmp/tcperr" &
amipid=$!
pids+=($amipid)
for _ in $(seq 400); do
    [ "$(grep -c '"header"' "$tmp/tcp" 2>/dev/null || true)" -ge 1132 ] && break
    sleep 0.05
done
kill -TERM "$amipid"
wait "$amipid" || true
[ "$(grep -c '"header"' "$tmp/tcp")" -eq 1132 ] || fail "tcp: $(grep -c header "$tmp/tcp") telegrams"
grep -q '"input":"tcp://127.0.0.1:'"$port"'"' "$tmp/tcp" || fail "tcp input name"
grep -q "connection closed; reconnecting" "$tmp/tcperr" || fail "tcp reconnect message"
echo "p1 decode/read: ok"
