#!/usr/bin/env bash
# ami p1 read from a serial port, over a pty: DSMR 5 at 115200 8N1 and DSMR 2.2 at 9600 7E1
# (parity added here on the wire, checked and stripped in software by ami), one corrupted
# parity bit counted as lost data, the port closing ends the input, and --reopen reading on
# when the port comes back.
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
P1="$AMI_TESTDATA/p1"
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do { kill -9 "$p" && wait "$p"; } 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# The meter side: a pty whose master writes the file (with even parity for 7E1) once ami has
# opened the slave (ami -v says so on stderr), then closes.
meter() { # $1 file, $2 format (8N1|7E1), $3 ami stderr file, $4 slave path out
    python3 - "$1" "$2" "$3" "$4" <<'PY' &
import os, pty, sys, time, tty
data = open(sys.argv[1], "rb").read()
master, slave = pty.openpty()
tty.setraw(master)
open(sys.argv[4] + ".tmp", "w").write(os.ttyname(slave))
os.rename(sys.argv[4] + ".tmp", sys.argv[4])
for _ in range(400):                      # wait until ami has opened and configured the port
    try:
        if "serial " in open(sys.argv[3]).read():
            break
    except FileNotFoundError:
        pass
    time.sleep(0.025)
if sys.argv[2] == "7E1":
    data = bytes(b | (0x80 if bin(b).count("1") % 2 else 0) for b in data)
for i in range(0, len(data), 64):
    os.write(master, data[i:i + 64])
time.sleep(0.3)                           # let ami drain the pty before the hang-up
os.close(slave)
os.close(master)
PY
    pids+=($!)
}
wait_file() { for _ in $(seq 200); do [ -s "$1" ] && return 0; sleep 0.025; done; fail "no $1"; }

# DSMR 5.0 at the default 115200 8N1.
meter "$P1/dsmr50_iskra_am550_real_nb.txt" 8N1 "$tmp/err1" "$tmp/slave1"
wait_file "$tmp/slave1"
"$AMI" -v p1 read --json "$(cat "$tmp/slave1")" >"$tmp/out1" 2>"$tmp/err1" || fail "8N1: $(cat "$tmp/err1")"
grep -q "serial 115200 baud 8N1" "$tmp/err1" || fail "8N1 settings: $(cat "$tmp/err1")"
grep -q '"name":"energy_import_tariff1","value":3432.829,"unit":"kWh"' "$tmp/out1" || fail "8N1 decode"

# DSMR 2.2 at 9600 7E1, parity bits on the wire.
meter "$P1/dsmr22_iskra_mt382_1003_real_nb.txt" 7E1 "$tmp/err2" "$tmp/slave2"
wait_file "$tmp/slave2"
"$AMI" -v p1 read --json --serial 9600-7E1 "$(cat "$tmp/slave2")" >"$tmp/out2" 2>"$tmp/err2" || fail "7E1: $(cat "$tmp/err2")"
grep -q "serial 9600 baud 7E1 (software parity)" "$tmp/err2" || fail "7E1 settings: $(cat "$tmp/err2")"
python3 - "$tmp/out2" <<'PY' || fail "7E1 decode: $(cat "$tmp/out2")"
import json, sys
t = json.loads(open(sys.argv[1]).readline())
o = {x["obis"]: x for x in t["objects"]}
assert t["crc"] == "absent" and t["header"] == "ISk5\\2MT382-1003"
assert o["1-0:1.8.1"]["value"] == 16719.940
assert o["0-2:24.3.0"] == {"obis": "0-2:24.3.0", "name": "mbus2_reading", "value": 13368.864,
                           "unit": "m3", "time": "2021-11-22T21:00:00"}, o["0-2:24.3.0"]
PY

# The same 7E1 bytes read as 8N1 are garbage with bit 7 set: no telegram, reading goes on.
meter "$P1/dsmr22_iskra_mt382_1003_real_nb.txt" 7E1 "$tmp/err3" "$tmp/slave3"
wait_file "$tmp/slave3"
"$AMI" -v p1 read --json --serial 9600-8N1 "$(cat "$tmp/slave3")" >"$tmp/out3" 2>"$tmp/err3" || true
[ ! -s "$tmp/out3" ] || fail "7E1 read as 8N1 must not decode"
# --reopen: the port goes away (the pty behind a stable path hangs up, as a USB adapter
# unplugged) and comes back under the same path; ami reopens it and reads on.
python3 - "$P1/dsmr50_iskra_am550_real_nb.txt" "$P1/dsmr42_kaifa_real_nb.txt" "$tmp/err4" "$tmp/port" <<'PY' &
import os, pty, sys, time, tty
def wait_for(text, n=1):
    for _ in range(800):
        try:
            if open(sys.argv[3]).read().count(text) >= n:
                return
        except FileNotFoundError:
            pass
        time.sleep(0.025)
    sys.exit("timeout waiting for " + text)
def serve(data, opened, n):
    master, slave = pty.openpty()
    tty.setraw(master)
    os.symlink(os.ttyname(slave), sys.argv[4] + ".new")
    os.replace(sys.argv[4] + ".new", sys.argv[4])
    wait_for(opened, n)
    os.write(master, data)
    time.sleep(0.3)
    os.close(slave)
    os.close(master)
serve(open(sys.argv[1], "rb").read(), "serial 115200", 1)
wait_for("port went away")
serve(open(sys.argv[2], "rb").read(), "serial port reopened", 1)
PY
pids+=($!)
for _ in $(seq 200); do [ -e "$tmp/port" ] && break; sleep 0.025; done
"$AMI" -v p1 read --json --reopen "$tmp/port" >"$tmp/out4" 2>"$tmp/err4" &
ami_pid=$!
pids+=("$ami_pid")
for _ in $(seq 400); do [ "$(wc -l <"$tmp/out4")" -ge 2 ] && break; sleep 0.025; done
kill -TERM "$ami_pid"
wait "$ami_pid" 2>/dev/null || true
grep -q "port went away; reopening" "$tmp/err4" || fail "reopen: no loss reported: $(cat "$tmp/err4")"
grep -q "serial port reopened" "$tmp/err4" || fail "reopen: not reopened: $(cat "$tmp/err4")"
python3 - "$tmp/out4" <<'PY' || fail "reopen: telegrams before and after: $(cat "$tmp/out4")"
import json, sys
h = [json.loads(l)["header"] for l in open(sys.argv[1])]
assert len(h) == 2 and h[0] != h[1], h
PY
echo "p1 serial: ok"
