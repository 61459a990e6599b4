#!/usr/bin/env bash
# `ami sim --speed` and `--history-days` end to end on 127.0.0.1 (free ports): at --speed 3600
# the meter clock advances about an hour per real second; the load profile's last entries are 15
# simulated minutes apart and the newest is at most one period before the simulated now; a SET
# of the clock (--sync) still works on top of simulated time; --history-days 2 gives ~2 days of entries;
# bad values are refused.
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v python3 >/dev/null || { echo "skip: python3 not found"; exit 0; }

# speed_sim NAME ARGS...: a meter without UDP (lib.sh's start_sim); sets $url
speed_sim() {
    start_sim "$@" --hdlc-port 0 --no-udp
    url=$tcp
}

# clock_of URL: the meter's clock as Unix seconds
clock_of() {
    local out
    out=$("$AMI" dlms clock "$1") || fail "dlms clock: $out"
    python3 -c 'import sys, datetime
print(int(datetime.datetime.fromisoformat(sys.argv[1]).timestamp()))' \
        "$(sed -n 's/^clock \([^ ]*\).*/\1/p' <<<"$out")"
}
real_ms() { python3 -c 'import time; print(int(time.monotonic() * 1000))'; }

# ---- refused values
for bad in "--speed 0" "--speed 1000001" "--speed x" "--history-days -1" "--history-days 367"; do
    # shellcheck disable=SC2086
    if "$AMI" sim --listen 127.0.0.1 --port 0 --hdlc-port 0 $bad 2>"$work/bad.err"; then
        fail "$bad accepted"
    fi
    grep -q -- "${bad%% *}" "$work/bad.err" || fail "$bad: $(cat "$work/bad.err")"
done

# ---- --speed 3600: about an hour per real second
speed_sim fast --speed 3600 --serial SPEED1
r0=$(real_ms); c1=$(clock_of "$url"); r1=$(real_ms)
# poll until at least one real second has passed since the first read
while [ $(( $(real_ms) - r1 )) -lt 1000 ]; do python3 -c 'import time; time.sleep(0.1)'; done
r2=$(real_ms); c2=$(clock_of "$url"); r3=$(real_ms)
python3 - "$c1" "$c2" "$r0" "$r1" "$r2" "$r3" <<'PY' || fail "clock at --speed 3600: $c1 -> $c2"
import sys
c1, c2, r0, r1, r2, r3 = map(int, sys.argv[1:])
d = c2 - c1
lo = 3600 * (r2 - r1) / 1000 * 0.5 - 2   # generous: half the speed over the inner interval
hi = 3600 * (r3 - r0) / 1000 * 2 + 2     # twice over the outer one
assert lo <= d <= hi, (d, lo, hi)
PY

# ---- the load profile follows simulated time
b=$(clock_of "$url")
"$AMI" dlms profile "$url" 1-0:99.1.0.255 --last 4 --csv >"$work/last.csv" || fail "--last 4"
a=$(clock_of "$url")
python3 - "$work/last.csv" "$b" "$a" <<'PY' || fail "load profile: $(cat "$work/last.csv") ($b..$a)"
import sys, datetime
rows = [l.strip().split(',') for l in open(sys.argv[1])]
before, after = int(sys.argv[2]), int(sys.argv[3])
assert len(rows) == 4, rows
ts = [int(datetime.datetime.fromisoformat(r[0]).timestamp()) for r in rows]
assert all(y - x == 900 for x, y in zip(ts, ts[1:])), ts
assert before - 900 - 2 <= ts[-1] <= after + 2, (ts[-1], before, after)
PY

# ---- a SET of the clock (SAP 17, --sync to this host's time) still works on top of simulated
# time: the meter, hours ahead by now, is set back to the host's time and runs on from there
c=$(clock_of "$url")
h=$(date -u +%s)
"$AMI" dlms clock "$url" --client 17 --auth low --password 12345678 --sync >"$work/set.out" 2>&1 \
    || fail "clock sync: $(cat "$work/set.out")"
c3=$(clock_of "$url")
python3 -c 'import sys
c, h, c3 = map(int, sys.argv[1:])
assert c > h + 3600, (c, h)                  # simulated time ran ahead
assert h - 2 <= c3 <= h + 3600 * 10, (h, c3)  # set, then runs on at speed' "$c" "$h" "$c3" \
    || fail "after sync: $c (host $h) -> $c3"

# ---- --history-days 2 (real time): ~2 days of 15-minute entries
speed_sim short --history-days 2 --serial SPEED2
"$AMI" dlms get "$url" 7/1-0:99.1.0.255:7 >"$work/attrs" || fail "entries_in_use"
n=$(sed -n 's/^double-long-unsigned \([0-9]*\)$/\1/p' "$work/attrs")
[ -n "$n" ] && [ "$n" -ge 191 ] && [ "$n" -le 194 ] || fail "entries_in_use: $(cat "$work/attrs")"
"$AMI" dlms profile "$url" 1-0:99.1.0.255 --last 400 --csv >"$work/all.csv" || fail "--last 400"
[ "$(wc -l <"$work/all.csv")" = "$n" ] || fail "--last 400: $(wc -l <"$work/all.csv") rows, want $n"

# ---- --history-days 0: a meter without history
speed_sim none --history-days 0 --serial SPEED3
"$AMI" dlms get "$url" 7/1-0:99.1.0.255:7 >"$work/attrs0" || fail "entries_in_use (0 days)"
n=$(sed -n 's/^double-long-unsigned \([0-9]*\)$/\1/p' "$work/attrs0")
[ -n "$n" ] && [ "$n" -le 1 ] || fail "entries_in_use, no history: $(cat "$work/attrs0")"
echo "ok"
