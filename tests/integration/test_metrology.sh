#!/usr/bin/env bash
# ami metrology: exit codes, deterministic output, JSON registers consistent, and a sliding
# window never reading below the fixed block window of the same meter.
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
at=1749988800 # 2025-06-15 12:00 UTC

"$AMI" metrology --help >/dev/null
grep -q -- '--two-rate' <<<"$("$AMI" metrology run --help)"
grep -q -- '--arithmetic' <<<"$("$AMI" metrology sample --help)"
status() { set +e; "$@" >/dev/null 2>"$tmp/err"; echo $?; set -e; }
[ "$(status "$AMI" metrology)" = 2 ]
[ "$(status "$AMI" metrology nosuch)" = 2 ]
[ "$(status "$AMI" metrology run --bogus)" = 2 ]
[ "$(status "$AMI" metrology run --window 10)" = 2 ]
grep -q 'not a demand configuration' "$tmp/err"
[ "$(status "$AMI" metrology sample --utc-offset 30)" = 2 ]
[ "$(status "$AMI" metrology sample --at x)" = 2 ]

# The same identity and time give the same output, byte for byte.
"$AMI" metrology run --seed 4242 --at $at --two-rate --json >"$tmp/a.json"
"$AMI" metrology run --seed 4242 --at $at --two-rate --json >"$tmp/b.json"
cmp "$tmp/a.json" "$tmp/b.json"
"$AMI" metrology sample --seed 4242 --at $at --json >"$tmp/s1.json"
"$AMI" metrology sample --seed 4242 --at $((at + 59)) --json | sed "s/$((at + 59))/$at/" >"$tmp/s2.json"
cmp "$tmp/s1.json" "$tmp/s2.json"

# 35 days with two rates: tariffs sum to the totals, one billing closing (2025-06-01), and
# the sliding 15/1 maximum is at least the fixed 15-minute one.
"$AMI" metrology run --seed 4242 --at $at --window 15 --sub 1 --json >"$tmp/sl.json"
"$AMI" metrology run --seed 4242 --at $at --window 15 --json >"$tmp/fx.json"
python3 - "$tmp/a.json" "$tmp/sl.json" "$tmp/fx.json" <<'PY'
import json, sys
a, sl, fx = (json.load(open(p)) for p in sys.argv[1:])
r = a["registers"]
assert sum(t["a_plus_wh"] for t in r["tariffs"]) in range(r["a_plus_wh"] - 3, r["a_plus_wh"] + 1), r
assert r["tariffs"][0]["a_plus_wh"] > 0 and r["tariffs"][1]["a_plus_wh"] > 0
assert len(a["billing"]) == 1 and a["billing"][0]["end"] == 1748736000, a["billing"]
assert a["billing"][0]["max_demand"][0]["kw"] > 0
ms, mf = sl["demand"]["max_demand"][0]["kw"], fx["demand"]["max_demand"][0]["kw"]
assert ms >= mf > 0, (ms, mf)
assert a["meter"]["va_method"] == "vectorial"
PY
"$AMI" metrology sample --seed 4242 --at $at --arithmetic --json | grep -q '"va_method":"arithmetic"'
echo "metrology: ok"
