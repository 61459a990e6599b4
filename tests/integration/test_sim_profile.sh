#!/usr/bin/env bash
# `ami dlms profile` end to end against `ami sim` on 127.0.0.1 (free ports): today's load profile
# has one entry per quarter hour since midnight UTC with non-decreasing energies; --last N; the
# 35 days of history (entries_in_use); the daily profile, the billing profile and the load
# profile agree exactly at the same instants; the standard event log has the power-up; the same
# read over HDLC; refused reads named.
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v python3 >/dev/null || { echo "skip: python3 not found"; exit 0; }
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

"$AMI" sim --listen 127.0.0.1 --port 0 --hdlc-port 0 --serial PROFILE7 2>"$tmp/err" &
pid=$!
for _ in $(seq 1 200); do
    grep -q "listening" "$tmp/err" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || fail "sim exited: $(cat "$tmp/err")"
    python3 -c 'import time; time.sleep(0.05)'
done
line=$(grep "listening" "$tmp/err") || fail "no listening line"
wport=$(sed -n 's/.*wrapper \([0-9]*\),.*/\1/p' <<<"$line")
hport=$(sed -n 's/.*hdlc \([0-9]*\) .*/\1/p' <<<"$line")
url="tcp://127.0.0.1:$wport"

# ---- today's load profile by range: one entry per quarter hour from 00:00 UTC up to now
day=$(date -u +%Y-%m-%d)
before=$(date -u +%s)
"$AMI" dlms profile "$url" 1-0:99.1.0.255 --from "${day}T00:00:00Z" --to "${day}T23:59:59Z" \
    --csv >"$tmp/today.csv" 2>"$tmp/today.err" || fail "profile by range: $(cat "$tmp/today.err")"
after=$(date -u +%s)
midnight=$(( before - before % 86400 ))
[ "$(( after - after % 86400 ))" = "$midnight" ] || { echo "skip: midnight passed during the test"; exit 0; }
lo=$(( (before - midnight) / 900 + 1 )); hi=$(( (after - midnight) / 900 + 1 ))
rows=$(wc -l <"$tmp/today.csv")
[ "$rows" -ge "$lo" ] && [ "$rows" -le "$hi" ] || fail "today: $rows rows, want $lo..$hi"
python3 - "$tmp/today.csv" "$day" <<'PY' || fail "today's entries"
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
"$AMI" dlms profile "$url" 1-0:99.1.0.255 --last 96 --csv >"$tmp/last.csv" || fail "--last 96"
[ "$(wc -l <"$tmp/last.csv")" = 96 ] || fail "--last 96: $(wc -l <"$tmp/last.csv") rows"
"$AMI" dlms get "$url" 7/1-0:99.1.0.255:7 7/1-0:99.1.0.255:4 7/1-0:99.1.0.255:8 >"$tmp/attrs" \
    || fail "profile attributes"
# 35 days of 96 entries when the meter started, one more per quarter hour since
grep -Eq "double-long-unsigned 336[01]$" "$tmp/attrs" || fail "entries_in_use: $(cat "$tmp/attrs")"
grep -q "double-long-unsigned 900" "$tmp/attrs" || fail "capture_period: $(cat "$tmp/attrs")"
grep -q "double-long-unsigned 4320" "$tmp/attrs" || fail "profile_entries: $(cat "$tmp/attrs")"

# ---- exactness across profiles: the daily profile's and the billing profile's energies equal
# the load profile's at the same instant
"$AMI" dlms profile "$url" 1-0:99.2.0.255 --last 1 --csv >"$tmp/daily.csv" || fail "daily"
t=$(cut -d, -f1 "$tmp/daily.csv")
"$AMI" dlms profile "$url" 1-0:99.1.0.255 --from "$t" --to "$t" --csv >"$tmp/at.csv" \
    || fail "load profile at $t"
[ "$(cut -d, -f3 "$tmp/daily.csv")" = "$(cut -d, -f3 "$tmp/at.csv")" ] \
    || fail "A+ daily $(cat "$tmp/daily.csv") vs 15-min $(cat "$tmp/at.csv")"
"$AMI" dlms profile "$url" 0-0:98.1.0.255 --last 1 --csv >"$tmp/bill.csv" || fail "billing"
t=$(cut -d, -f1 "$tmp/bill.csv")
"$AMI" dlms profile "$url" 1-0:99.1.0.255 --from "$t" --to "$t" --csv >"$tmp/at.csv" \
    || fail "load profile at $t"
[ "$(cut -d, -f2 "$tmp/bill.csv")" = "$(cut -d, -f3 "$tmp/at.csv")" ] \
    || fail "A+ billing $(cat "$tmp/bill.csv") vs 15-min $(cat "$tmp/at.csv")"
[ "$(awk -F, '{print NF}' "$tmp/bill.csv")" = 9 ] || fail "billing columns: $(cat "$tmp/bill.csv")"

# the daily entry's A+ is its tariff registers' sum (each truncated to Wh: the sum may be 1 less)
python3 - "$tmp/daily.csv" <<'PY' || fail "daily A+ vs T1 + T2: $(cat "$tmp/daily.csv")"
import sys
r = open(sys.argv[1]).read().strip().split(',')
tot, t1, t2 = int(r[2]), int(r[3]), int(r[4])
assert tot - (t1 + t2) in (0, 1), r
PY
# and the registers now are at least the last entry's
"$AMI" dlms profile "$url" 1-0:99.1.0.255 --last 1 --csv >"$tmp/one.csv" || fail "--last 1"
"$AMI" dlms get "$url" 3/1-0:1.8.0.255:2 >"$tmp/reg" || fail "1.8.0"
now_wh=$(sed -n 's/^double-long-unsigned \([0-9]*\)$/\1/p' "$tmp/reg")
[ -n "$now_wh" ] && [ "$now_wh" -ge "$(cut -d, -f3 "$tmp/one.csv")" ] \
    || fail "1.8.0 $(cat "$tmp/reg") below the last entry $(cat "$tmp/one.csv")"

# ---- event log: the power-up (code 2) of the meter
"$AMI" dlms profile "$url" 0-0:99.98.0.255 --last 5 --csv >"$tmp/ev.csv" || fail "event log"
grep -q ",2$" "$tmp/ev.csv" || fail "no power-up event: $(cat "$tmp/ev.csv")"

# ---- over HDLC with LLS and small PDUs (many blocks)
"$AMI" dlms profile "hdlc+tcp://127.0.0.1:$hport" 1-0:99.1.0.255 --last 96 --csv --client 17 \
    --auth low --password 12345678 --max-pdu 128 >"$tmp/hdlc.csv" || fail "profile over HDLC"
python3 - "$tmp/hdlc.csv" "$tmp/last.csv" <<'PY' || fail "HDLC entries differ from the wrapper's"
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
    2>"$tmp/e" || rc=$?
[ "$rc" = 1 ] && grep -q "object-undefined" "$tmp/e" || fail "unknown profile -> $rc $(cat "$tmp/e")"
rc=0; "$AMI" dlms profile "$url" 1-0:99.1.0.255 --last 2000 2>"$tmp/e" || rc=$?
[ "$rc" = 1 ] && grep -q "other-reason" "$tmp/e" || fail "answer over the block buffer -> $rc $(cat "$tmp/e")"
rc=0; "$AMI" dlms profile "$url" 1-0:99.1.0.255 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "profile without a range -> $rc"

kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
pid=
[ "$rc" = 0 ] || fail "sim exit status $rc after SIGTERM"
echo "ok"
