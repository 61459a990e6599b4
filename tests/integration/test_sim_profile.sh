#!/usr/bin/env bash
# `ami dlms profile` end to end against `ami sim` on 127.0.0.1 (free ports): today's load profile
# has one entry per quarter hour since midnight UTC with non-decreasing energies; --last N; the
# 35 days of history (entries_in_use); the daily profile, the billing profile and the load
# profile agree exactly at the same instants; the standard event log has the power-up; the same
# read over HDLC; refused reads named.
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v python3 >/dev/null || { echo "skip: python3 not found"; exit 0; }

start_sim sim --hdlc-port 0 --serial PROFILE7
url=$tcp

# ---- today's load profile by range: one entry per quarter hour from 00:00 UTC up to now
day=$(date -u +%Y-%m-%d)
before=$(date -u +%s)
"$AMI" dlms profile "$url" 1-0:99.1.0.255 --from "${day}T00:00:00Z" --to "${day}T23:59:59Z" \
    --csv >"$work/today.csv" 2>"$work/today.err" || fail "profile by range: $(cat "$work/today.err")"
after=$(date -u +%s)
midnight=$(( before - before % 86400 ))
[ "$(( after - after % 86400 ))" = "$midnight" ] || { echo "skip: midnight passed during the test"; exit 0; }
lo=$(( (before - midnight) / 900 + 1 )); hi=$(( (after - midnight) / 900 + 1 ))
rows=$(wc -l <"$work/today.csv")
[ "$rows" -ge "$lo" ] && [ "$rows" -le "$hi" ] || fail "today: $rows rows, want $lo..$hi"
python3 - "$work/today.csv" "$day" <<'PY' || fail "today's entries"
import sys, datetime
rows = [l.strip().split(',') for l in open(sys.argv[1])]
t0 = datetime.datetime.fromisoformat(sys.argv[2] + 'T00:00:00+00:00')
prev = None
for i, r in enumerate(rows):
    assert len(r) == 6, r                     # clock, status, A+, A-, R+, R-
    assert datetime.datetime.fromisoformat(r[0]) == t0 + datetime.timedelta(minutes=15 * i), r
    e = [int(x) for x in r[2:]]
    if prev:
        assert all(a >= b for a, b in zip(e, prev)), (prev, e)
    prev = e
if len(rows) >= 5:
    first, last = [int(x) for x in rows[0][2:4]], [int(x) for x in rows[-1][2:4]]
    assert sum(last) > sum(first), (first, last)  # energy flows (import or export)
PY

# ---- the last 96 entries (a day), and 35 days of history
"$AMI" dlms profile "$url" 1-0:99.1.0.255 --last 96 --csv >"$work/last.csv" || fail "--last 96"
[ "$(wc -l <"$work/last.csv")" = 96 ] || fail "--last 96: $(wc -l <"$work/last.csv") rows"
"$AMI" dlms get "$url" 7/1-0:99.1.0.255:7 7/1-0:99.1.0.255:4 7/1-0:99.1.0.255:8 >"$work/attrs" \
    || fail "profile attributes"
# 35 days of 96 entries when the meter started, one more per quarter hour since
grep -Eq "double-long-unsigned 336[01]$" "$work/attrs" || fail "entries_in_use: $(cat "$work/attrs")"
grep -q "double-long-unsigned 900" "$work/attrs" || fail "capture_period: $(cat "$work/attrs")"
grep -q "double-long-unsigned 4320" "$work/attrs" || fail "profile_entries: $(cat "$work/attrs")"

# ---- exactness across profiles: the daily profile's and the billing profile's energies equal
# the load profile's at the same instant
"$AMI" dlms profile "$url" 1-0:99.2.0.255 --last 1 --csv >"$work/daily.csv" || fail "daily"
t=$(cut -d, -f1 "$work/daily.csv")
"$AMI" dlms profile "$url" 1-0:99.1.0.255 --from "$t" --to "$t" --csv >"$work/at.csv" \
    || fail "load profile at $t"
[ "$(cut -d, -f3 "$work/daily.csv")" = "$(cut -d, -f3 "$work/at.csv")" ] \
    || fail "A+ daily $(cat "$work/daily.csv") vs 15-min $(cat "$work/at.csv")"
"$AMI" dlms profile "$url" 0-0:98.1.0.255 --last 1 --csv >"$work/bill.csv" || fail "billing"
t=$(cut -d, -f1 "$work/bill.csv")
"$AMI" dlms profile "$url" 1-0:99.1.0.255 --from "$t" --to "$t" --csv >"$work/at.csv" \
    || fail "load profile at $t"
[ "$(cut -d, -f2 "$work/bill.csv")" = "$(cut -d, -f3 "$work/at.csv")" ] \
    || fail "A+ billing $(cat "$work/bill.csv") vs 15-min $(cat "$work/at.csv")"
[ "$(awk -F, '{print NF}' "$work/bill.csv")" = 9 ] || fail "billing columns: $(cat "$work/bill.csv")"

# the daily entry's A+ is its tariff registers' sum (each truncated to Wh: the sum may be 1 less)
python3 - "$work/daily.csv" <<'PY' || fail "daily A+ vs T1 + T2: $(cat "$work/daily.csv")"
import sys
r = open(sys.argv[1]).read().strip().split(',')
tot, t1, t2 = int(r[2]), int(r[3]), int(r[4])
assert tot - (t1 + t2) in (0, 1), r
PY
# and the registers now are at least the last entry's
"$AMI" dlms profile "$url" 1-0:99.1.0.255 --last 1 --csv >"$work/one.csv" || fail "--last 1"
"$AMI" dlms get "$url" 3/1-0:1.8.0.255:2 >"$work/reg" || fail "1.8.0"
now_wh=$(sed -n 's/^double-long-unsigned \([0-9]*\)$/\1/p' "$work/reg")
[ -n "$now_wh" ] && [ "$now_wh" -ge "$(cut -d, -f3 "$work/one.csv")" ] \
    || fail "1.8.0 $(cat "$work/reg") below the last entry $(cat "$work/one.csv")"

# ---- event log: the power-up (code 2) of the meter
"$AMI" dlms profile "$url" 0-0:99.98.0.255 --last 5 --csv >"$work/ev.csv" || fail "event log"
grep -q ",2$" "$work/ev.csv" || fail "no power-up event: $(cat "$work/ev.csv")"

# ---- over HDLC with LLS and small PDUs (many blocks)
"$AMI" dlms profile "hdlc+tcp://127.0.0.1:$hport" 1-0:99.1.0.255 --last 96 --csv --client 17 \
    --auth low --password 12345678 --max-pdu 128 >"$work/hdlc.csv" || fail "profile over HDLC"
python3 - "$work/hdlc.csv" "$work/last.csv" <<'PY' || fail "HDLC entries differ from the wrapper's"
import sys
a = [l.strip() for l in open(sys.argv[1])]
b = [l.strip() for l in open(sys.argv[2])]
assert len(a) == 96, len(a)
ka = {l.split(',')[0]: l for l in a}
common = [l for l in b if l.split(',')[0] in ka]
assert len(common) >= 90 and all(ka[l.split(',')[0]] == l for l in common)
PY

# ---- refused reads are named, exit 1; usage errors exit 2
rc=0; "$AMI" dlms profile "$url" 1-0:99.9.0.255 --from "${day}T00:00:00Z" --to "${day}T01:00:00Z" \
    2>"$work/e" || rc=$?
[ "$rc" = 1 ] && grep -q "object-undefined" "$work/e" || fail "unknown profile -> $rc $(cat "$work/e")"
rc=0; "$AMI" dlms profile "$url" 1-0:99.1.0.255 --last 2000 2>"$work/e" || rc=$?
[ "$rc" = 1 ] && grep -q "other-reason" "$work/e" || fail "answer over the block buffer -> $rc $(cat "$work/e")"
rc=0; "$AMI" dlms profile "$url" 1-0:99.1.0.255 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "profile without a range -> $rc"

stop "$sim_pid"
[ "$rc" = 0 ] || fail "sim exit status $rc after SIGTERM"
echo "ok"
