#!/usr/bin/env bash
# `ami sim --keys-out`: after a client's key_transfer (`ami dlms keys rotate`) changes a meter's
# keys, the CSV is rewritten (atomically, mode 0600) with the new keys, and `ami dlms` with the
# keys read from the rewritten CSV reaches the meter; the old keys are refused.
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ST=4775727578313233
NEW_EK=101112131415161718191A1B1C1D1E1F
NEW_AK=A0A1A2A3A4A5A6A7A8A9AAABACADAEAF
csv="$work/keys.csv"

start_sim sim --hdlc-port 0 --meters 2 --seed keys-out-test --keys-out "$csv" --state-dir "$work/simstate"
[ "$(stat -c %a "$csv")" = 600 ] || fail "CSV mode $(stat -c %a "$csv")"

# field N of the CSV row of meter I (0-based): address,port,system_title,ek,ak,kek,password
field() { sed -n "$(($1 + 2))p" "$csv" | cut -d, -f"$2"; }
sst=$(field 0 3) ek=$(field 0 4) ak=$(field 0 5) kek=$(field 0 6)
other_ek=$(field 1 4)
[ ${#ek} -eq 32 ] && [ ${#sst} -eq 16 ] || fail "CSV: $(cat "$csv")"
sec=(--client 1 --auth hls-gmac --security auth-enc --suite 0 --system-title $ST
     --server-system-title "$sst" --state-dir "$work/state")

run dlms get "$tcp" 1-0:1.8.0.255:2 "${sec[@]}" --ek "$ek" --ak "$ak"
[ $rc -eq 0 ] || fail "get with the CSV's keys: $rc $(tail -3 "$work/err")"
run dlms keys rotate "$tcp" "${sec[@]}" --ek "$ek" --ak "$ak" --kek "$kek" \
    --new-ek $NEW_EK --new-ak $NEW_AK
[ $rc -eq 0 ] || fail "keys rotate: $rc $(tail -3 "$work/err")"
pass "keys rotate: $(tr '\n' ';' <"$work/out")"

# the rewrite happens before the meter answers the rotation; poll all the same
for _ in $(seq 1 100); do
    [ "$(field 0 4)" != "$ek" ] && break
    nap
done
new_ek=$(field 0 4) new_ak=$(field 0 5)
[ "${new_ek^^}" = $NEW_EK ] && [ "${new_ak^^}" = $NEW_AK ] ||
    fail "CSV not rewritten with the new keys: $(sed -n 2p "$csv" | cut -d, -f1-3)"
[ "$(field 1 4)" = "$other_ek" ] || fail "the other meter's keys changed"
[ "$(field 0 6)" = "$kek" ] || fail "the KEK changed"
[ "$(stat -c %a "$csv")" = 600 ] || fail "rewritten CSV mode $(stat -c %a "$csv")"
[ ! -e "$csv.tmp" ] || fail "temporary file left behind"
pass "CSV rewritten with the new keys (mode 0600), the other meter unchanged"

run dlms get "$tcp" 1-0:1.8.0.255:2 "${sec[@]}" --ek "$new_ek" --ak "$new_ak"
[ $rc -eq 0 ] || fail "get with the rewritten CSV's keys: $rc $(tail -3 "$work/err")"
run dlms get "$tcp" 1-0:1.8.0.255:2 "${sec[@]}" --ek "$ek" --ak "$ak"
[ $rc -eq 1 ] || fail "old keys after the rotation: rc $rc"
pass "the rewritten CSV's keys read the meter, the old ones are refused"

# a restarted fleet reading the rewritten CSV (--keys) starts with the new keys
# (with the counters kept in --state-dir: a restart within the same second would otherwise
# start the wall-clock-derived counter below the responses the client has already accepted)
stop "$sim_pid"
start_sim sim2 --hdlc-port 0 --meters 2 --keys "$csv" --state-dir "$work/simstate"
run dlms get "$tcp" 1-0:1.8.0.255:2 "${sec[@]}" --ek "$new_ek" --ak "$new_ak"
[ $rc -eq 0 ] || fail "restart with --keys of the rewritten CSV: $rc $(tail -3 "$work/err")"
pass "a fleet restarted with --keys of the rewritten CSV answers the new keys"
