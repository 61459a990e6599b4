#!/usr/bin/env bash
# `ami sim --meters N`: a fleet of 10,000 virtual meters on consecutive loopback addresses
# starts (readiness from the "listening" line), `ami dlms get` reads 1,000 meters chosen at
# random (seeded) in parallel batches over the TCP wrapper, plus some over UDP and HDLC; the
# keys CSV (--keys-out, mode 0600) gives each meter's LLS password and feeds a second fleet
# (--keys); faults through the control socket: refuse, drop, stop answering, corrupt, delay
# (drop, corrupt and delay over UDP too), reboot, tamper, clear; address-range checks; SIGTERM
# exits 0.
# Under a sanitizer (AMI_SANITIZE set) the fleet and the reads are scaled down (2,000 meters,
# 100 reads): each client process costs several times more there.
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
pass() { echo "ok ($SECONDS s): $*"; }
command -v "$PY" >/dev/null || { echo "skip: python3 not found"; exit 0; }

METERS=10000
READS=1000
if [ -n "${AMI_SANITIZE:-}" ]; then
    METERS=2000
    READS=100
fi
# A second octet of our own, so that parallel runs do not share addresses.
oct=$(( ($$ % 200) + 20 ))
base="127.$oct.0.1"

addr_of() { "$PY" -c 'import ipaddress,sys; print(ipaddress.ip_address(sys.argv[1]) + int(sys.argv[2]))' "$base" "$1"; }
ctl() {
    "$PY" - "$work/ctl" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall((sys.argv[2] + "\n").encode())
print(s.makefile().readline().strip())
PY
}

# ---- usage errors
rc=0; "$AMI" sim --listen 127.255.255.200 --meters 100 --port 0 --hdlc-port 0 2>"$work/e" || rc=$?
[ "$rc" = 2 ] && grep -q "127.0.0.0/8" "$work/e" || fail "fleet leaving 127/8 -> $rc $(cat "$work/e")"
rc=0; "$AMI" sim --listen 10.0.0.1 --meters 2 2>"$work/e" || rc=$?
[ "$rc" = 2 ] || fail "fleet outside 127/8 -> $rc"
rc=0; "$AMI" sim --listen 127.0.0.1 --meters 0 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "--meters 0 -> $rc"
rc=0; "$AMI" sim --listen 127.0.0.1 --meters 2 --serial X 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "--serial with a fleet -> $rc"
rc=0; "$AMI" sim --listen 127.0.0.1 --password 'a,b' 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "--password with a comma -> $rc"
pass "usage errors"

# ---- the fleet
sim_start sim --listen "$base" --meters "$METERS" --port 0 --hdlc-port 0 --seed fleet-test \
    --keys-out "$work/keys.csv" --control "$work/ctl" --fault-seed 7
line=$sim_line
[ -n "$wport" ] && [ -n "$hport" ] || fail "ports not in '$line'"
grep -q "($METERS meters" <<<"$line" || fail "meter count not in '$line'"
last=$(addr_of $((METERS - 1)))
grep -q "listening on $base..$last:" <<<"$line" || fail "range not in '$line'"
pass "$METERS meters listening ($line)"

# keys CSV: header, one row per meter, mode 0600, derived passwords
[ "$(head -1 "$work/keys.csv")" = "address,port,system_title,ek,ak,kek,password" ] || fail "csv header"
[ "$(wc -l <"$work/keys.csv")" = $((METERS + 1)) ] || fail "csv rows"
[ "$(stat -c %a "$work/keys.csv")" = 600 ] || fail "csv mode $(stat -c %a "$work/keys.csv")"
row=$(sed -n '2p' "$work/keys.csv")
[[ "$row" =~ ^$base,$wport,4f414d0000000001,[0-9a-f]{32},[0-9a-f]{32},[0-9a-f]{32},[0-9a-f]{16}$ ]] ||
    fail "csv row '$row'"
[ "$(cut -d, -f4 "$work/keys.csv" | sort -u | wc -l)" = $((METERS + 1)) ] || fail "EKs not distinct"
pass "keys csv"

# 1,000 meters chosen at random (seed 42), read in parallel batches over the TCP wrapper
"$PY" - "$METERS" "$READS" "$base" >"$work/picks" <<'PY'
import ipaddress, random, sys
n, k, base = int(sys.argv[1]), int(sys.argv[2]), ipaddress.ip_address(sys.argv[3])
for i in random.Random(42).sample(range(n), k):
    print(i, base + i, "AMI%010d" % (i + 1))
PY
# one `ami dlms get` per meter, 8 at a time; prints a line per meter that went wrong
"$PY" - "$AMI" "$work/picks" "$wport" >"$work/readerr" <<'PY'
import subprocess, sys
from concurrent.futures import ThreadPoolExecutor
ami, picks, port = sys.argv[1], sys.argv[2], sys.argv[3]
def read(line):
    i, addr, serial = line.split()
    p = subprocess.run([ami, 'dlms', 'get', f'tcp://{addr}:{port}', '0-0:96.1.0.255:2',
                        '1-0:1.8.0.255:2'], capture_output=True, text=True)
    if p.returncode != 0:
        return f'meter {i}: exit {p.returncode}: {p.stderr.strip()}'
    if f'"{serial}"' not in p.stdout or 'double-long-unsigned ' not in p.stdout:
        return f'meter {i}: {p.stdout!r}'
    return None
with ThreadPoolExecutor(8) as ex:
    for r in ex.map(read, open(picks).read().split('\n')[:-1]):
        if r:
            print(r)
PY
[ "$(wc -l <"$work/picks")" = "$READS" ] || fail "picks"
[ ! -s "$work/readerr" ] || fail "reads: $(head -5 "$work/readerr")"
pass "$READS random meters read over the TCP wrapper"

# UDP and HDLC, and LLS with the meter's own password from the CSV
i=$(( METERS - 2 )); a=$(addr_of $i)
"$AMI" dlms get "udp://$a:$wport" 0-0:96.1.0.255:2 | grep -q "AMI$(printf %010d $((i + 1)))" || fail "udp"
i=$(( METERS / 3 )); a=$(addr_of $i)
"$AMI" dlms get "hdlc+tcp://$a:$hport" 0-0:96.1.0.255:2 | grep -q "AMI$(printf %010d $((i + 1)))" ||
    fail "hdlc"
pw=$(sed -n "$((i + 2))p" "$work/keys.csv" | cut -d, -f7)
"$AMI" dlms get "tcp://$a:$wport" --client 17 --auth low --password "$pw" 0-0:96.1.0.255:2 >/dev/null ||
    fail "LLS with the CSV password"
rc=0; "$AMI" dlms get "tcp://$a:$wport" --client 17 --auth low --password 12345678 \
    0-0:96.1.0.255:2 >/dev/null 2>"$work/e" || rc=$?
[ "$rc" = 1 ] && grep -q "authentication" "$work/e" || fail "another meter's password accepted"
# SAP 1: HLS-GMAC with authenticated encryption and the meter's own EK/AK from the CSV
keyfile() { # row of meter $1 -> key file $2 (mode 0600)
    local r; r=$(sed -n "$(($1 + 2))p" "$work/keys.csv")
    (umask 077; printf 'ek = %s\nak = %s\n' "$(cut -d, -f4 <<<"$r")" "$(cut -d, -f5 <<<"$r")" >"$2")
}
hls=(--client 1 --auth hls-gmac --security auth-enc --system-title 4F50454E00000001 --no-state)
keyfile "$i" "$work/k_own"
keyfile $((i + 1)) "$work/k_other"
"$AMI" dlms get "tcp://$a:$wport" 1-0:1.8.0.255:2 "${hls[@]}" --key-file "$work/k_own" >/dev/null \
    2>"$work/e" || fail "HLS-GMAC with the meter's keys: $(cat "$work/e")"
rc=0; "$AMI" dlms get "tcp://$a:$wport" 1-0:1.8.0.255:2 "${hls[@]}" --key-file "$work/k_other" \
    >/dev/null 2>"$work/e" || rc=$?
[ "$rc" = 1 ] || fail "HLS-GMAC with another meter's keys -> $rc"
pass "udp, hdlc, per-meter LLS password, per-meter HLS-GMAC keys"

# An address next to the fleet is not a meter
a=$(addr_of "$METERS")
rc=0; "$AMI" dlms get "tcp://$a:$wport" 0-0:96.1.0.255:2 --timeout 2000 >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "address past the fleet answered"
pass "no meter past the fleet"

# ---- faults
get() { # meter index, extra args...; sets rc and leaves stderr in $work/e
    local i=$1; shift
    rc=0; "$AMI" dlms get "${proto:-tcp}://$(addr_of "$i"):$wport" 0-0:96.1.0.255:2 --timeout 1500 \
        "$@" >"$work/o" 2>"$work/e" || rc=$?
}
uget() { proto=udp get "$@"; } # the same over the UDP wrapper
[ "$(ctl "fault 10 refuse")" = ok ] || fail "ctl refuse"
get 10; [ "$rc" = 1 ] && grep -q "TCP" "$work/e" || fail "refuse: $rc $(cat "$work/e")"
get 11; [ "$rc" = 0 ] || fail "neighbour of a refusing meter: $(cat "$work/e")"
[ "$(ctl "clear 10")" = ok ] || fail "ctl clear"
get 10; [ "$rc" = 0 ] || fail "after clear: $(cat "$work/e")"
pass "refuse, clear"

ctl "fault 12 drop" >/dev/null
get 12; [ "$rc" = 1 ] && grep -qi "closed\|reset" "$work/e" || fail "drop: $rc $(cat "$work/e")"
pass "drop mid-session: $(cat "$work/e")"
uget 12 --timeout 500; [ "$rc" = 1 ] && grep -qi "no answer" "$work/e" || fail "udp drop: $rc $(cat "$work/e")"
pass "udp drop: $(cat "$work/e")"

ctl "fault 13 stop" >/dev/null
get 13; [ "$rc" = 1 ] && grep -qi "no answer\|timed out\|timeout" "$work/e" || fail "stop: $rc $(cat "$work/e")"
pass "stop answering: $(cat "$work/e")"

ctl "fault 14 corrupt" >/dev/null
get 14; [ "$rc" = 1 ] || fail "corrupt: $rc $(cat "$work/o")"
pass "corrupt: $(cat "$work/e")"
uget 14; [ "$rc" = 1 ] || fail "udp corrupt: $rc $(cat "$work/o")"
pass "udp corrupt: $(cat "$work/e")"

ctl "fault 15-16 delay 300ms jitter 50ms" >/dev/null
get 15; [ "$rc" = 0 ] || fail "delay 300ms within 1500ms: $(cat "$work/e")"
get 16 --timeout 200; [ "$rc" = 1 ] || fail "delay 300ms within 200ms answered"
uget 15; [ "$rc" = 0 ] || fail "udp delay 300ms within 1500ms: $(cat "$work/e")"
uget 16 --timeout 200; [ "$rc" = 1 ] && grep -qi "no answer" "$work/e" ||
    fail "udp delay 300ms within 200ms: $rc $(cat "$work/o" "$work/e")"
pass "delay and jitter (tcp and udp)"

# (down 4 s: long enough that a loaded machine still reaches the meter while it is down)
ctl "fault 17 reboot 4s" >/dev/null
ctl "status 17" | grep -q "rebooting" || fail "status after reboot: $(ctl "status 17")"
get 17; [ "$rc" = 1 ] || fail "rebooting meter answered"
for _ in $(seq 1 100); do get 17; [ "$rc" = 0 ] && break; "$PY" -c 'import time; time.sleep(0.1)'; done
[ "$rc" = 0 ] || fail "meter back after reboot: $(cat "$work/e")"
pass "reboot (down 4 s, then back)"

# reboot drops an open association: a session held open by a client loses it
"$PY" - "$(addr_of 18)" "$wport" "$work/ctl" <<'PY' || fail "association lost on reboot"
import socket, struct, sys
addr, port, ctl = sys.argv[1], int(sys.argv[2]), sys.argv[3]
AARQ = bytes.fromhex('601DA109060760857405080101BE10040E01000000065F1F0400401E1DFFFF')
s = socket.create_connection((addr, port), timeout=5)
s.sendall(struct.pack('>HHHH', 1, 16, 1, len(AARQ)) + AARQ)
hdr = s.recv(8)
assert len(hdr) == 8, hdr
c = socket.socket(socket.AF_UNIX); c.connect(ctl)
c.sendall(b'fault 18 reboot\n'); assert c.makefile().readline().strip() == 'ok'
s.settimeout(5)
data = b''
while True:
    b = s.recv(4096)
    if not b:
        break
    data += b
PY
pass "reboot closes the open association"

before=$(ctl "status 19" | sed -n 's/.*events \([0-9]*\).*/\1/p')
[ "$(ctl "fault 19 tamper")" = ok ] || fail "tamper"
ctl "status 19" | grep -q "events $((before + 1))" || fail "tamper event not counted: $(ctl "status 19")"
# the tamper log's event code object 0-0:96.11.1.255 holds the last code: 40, terminal cover
get 19 1/0-0:96.11.1.255:2; grep -q "unsigned 40" "$work/o" || fail "tamper code: $(cat "$work/o" "$work/e")"
# the reboot of meter 18 left a power down (1) and a power up (2) in the standard log
get 18 1/0-0:96.11.0.255:2; grep -q "unsigned 2" "$work/o" || fail "power-up code: $(cat "$work/o" "$work/e")"
[ "$(ctl "fault 20 drift 1000000")" = ok ] || fail "drift"
ctl "status 20" | grep -q "drift 1000000ppm" || fail "drift status"
pass "tamper event, drift"

ctl "bogus 1" | grep -q "^error: unknown command" || fail "bad command accepted"
ctl "fault $METERS stop" | grep -q "^error" || fail "out-of-range meter accepted"
ctl "fault 1 drop 2" | grep -q "^error" || fail "probability 2 accepted"
ctl "clear all" >/dev/null
get 13; [ "$rc" = 0 ] || fail "after clear all: $(cat "$work/e")"
pass "control errors, clear all"

stop "$sim_pid"
[ "$rc" = 0 ] || fail "sim exit $rc after SIGTERM: $(tail -3 "$work/sim")"
grep -q "stopped" "$work/sim" || fail "no stopped line"
[ ! -e "$work/ctl" ] || fail "control socket left behind"
pass "SIGTERM: exit 0"

# ---- a fleet from the CSV (--keys), one wildcard listener per port (--single-listener)
head -11 "$work/keys.csv" >"$work/keys10.csv"
sim_start sim2 --listen "$base" --meters 10 --port 0 --hdlc-port 0 --keys "$work/keys10.csv" \
    --single-listener --fault 'all delay 10ms'
line=$sim_line
grep -q "shared wildcard listeners" <<<"$line" || fail "not shared: $line"
pw=$(sed -n '5p' "$work/keys10.csv" | cut -d, -f7)
get 3 --client 17 --auth low --password "$pw"; [ "$rc" = 0 ] || fail "CSV password: $(cat "$work/e")"
rc=0; "$AMI" dlms get "tcp://127.0.0.1:$wport" 0-0:96.1.0.255:2 --timeout 1500 >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "wildcard listener answered for an address outside the fleet"
printf 'address,port\nbad\n' >"$work/bad.csv"
rc=0; "$AMI" sim --listen "$base" --meters 2 --keys "$work/bad.csv" 2>"$work/e" || rc=$?
[ "$rc" = 1 ] && grep -q "line 2" "$work/e" || fail "bad CSV: $rc $(cat "$work/e")"
pass "--keys, --single-listener, --fault"
