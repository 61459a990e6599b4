#!/usr/bin/env bash
# ami p1 read --mqtt against a real mosquitto on 127.0.0.1 (started here, stopped by PID):
# retained value topics and state, Home Assistant device discovery, availability with the last
# will (ami killed with SIGKILL), and the bounded queue while the broker is away.
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
P1="$AMI_TESTDATA/p1"
command -v mosquitto >/dev/null || PATH="$PATH:/usr/sbin"
command -v mosquitto >/dev/null || { echo "mosquitto not installed (scripts/deps)" >&2; exit 1; }
command -v mosquitto_sub >/dev/null || { echo "mosquitto_sub not installed (scripts/deps)" >&2; exit 1; }
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do { kill -9 "$p" && wait "$p"; } 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
cat >"$tmp/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
persistence false
CONF
broker_pid=
start_broker() {
    mosquitto -c "$tmp/mosquitto.conf" >"$tmp/broker.log" 2>&1 3>&- &
    broker_pid=$!
    pids+=("$broker_pid")
    for _ in $(seq 200); do
        python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2)' "$port" 2>/dev/null && return 0
        sleep 0.05
    done
    fail "broker did not start: $(cat "$tmp/broker.log")"
}
# Retained messages under a topic filter, one "topic payload" per line.
retained() { mosquitto_sub -h 127.0.0.1 -p "$port" -t "$1" -v --retained-only -W 2 2>/dev/null || true; }
# Polls until the retained payload of topic $1 equals $2.
wait_payload() {
    for _ in $(seq 100); do
        [ "$(mosquitto_sub -h 127.0.0.1 -p "$port" -t "$1" -C 1 -W 1 2>/dev/null || true)" = "$2" ] && return 0
        sleep 0.05
    done
    fail "topic $1 never became '$2': $(cat "$tmp"/err* 2>/dev/null)"
}

start_broker
url="mqtt://127.0.0.1:$port/p1test"

# 1. A file with gas: values, state, discovery; clean exit publishes "offline".
"$AMI" p1 read --mqtt "$url" "$P1/dsmr50_iskra_am550_openhab.txt" 2>"$tmp/err" || fail "read: $(cat "$tmp/err")"
grep -q "mqtt: [0-9]* messages published, 0 dropped" "$tmp/err" || fail "publish counters: $(cat "$tmp/err")"
retained 'p1test/#' >"$tmp/all"
m=E0044006903312917
grep -qx "p1test/$m/energy_import_tariff1 156.167" "$tmp/all" || fail "energy topic: $(head "$tmp/all")"
grep -qx "p1test/$m/power_import_l2 0.237" "$tmp/all" || fail "power topic"
grep -qx "p1test/$m/mbus1_reading 212.529" "$tmp/all" || fail "gas topic"
grep -qx "p1test/$m/timestamp 2018-01-04T23:19:41+01:00" "$tmp/all" || fail "timestamp topic"
grep -qx "p1test/availability offline" "$tmp/all" || fail "availability after a clean exit"
grep "^p1test/$m/state " "$tmp/all" | cut -d' ' -f2- >"$tmp/state"
python3 - "$tmp/state" <<'PY' || fail "state JSON"
import json, sys
t = json.load(open(sys.argv[1]))
assert t["crc"] == "ok" and t["meter"] == "E0044006903312917" and t["header"] == "ISK5\\2M550T-1012"
o = {x["obis"]: x for x in t["objects"]}
assert o["1-0:1.8.2"]["value"] == 71.546 and o["1-0:1.8.2"]["unit"] == "kWh"
PY
retained "homeassistant/device/openami_$m/config" | cut -d' ' -f2- >"$tmp/disco"
python3 - "$tmp/disco" "$m" <<'PY' || fail "discovery: $(head -c 600 "$tmp/disco")"
import json, sys
d = json.load(open(sys.argv[1])); m = sys.argv[2]
assert d["device"]["identifiers"] == ["openami_" + m]
assert d["availability_topic"] == "p1test/availability"
c = d["components"]
e = c[m + "_energy_import_tariff1"]
assert e == {"platform": "sensor", "name": "Active energy import, tariff 1",
             "unique_id": "openami_%s_energy_import_tariff1" % m,
             "state_topic": "p1test/%s/energy_import_tariff1" % m, "unit_of_measurement": "kWh",
             "device_class": "energy", "state_class": "total_increasing"}, e
p = c[m + "_power_import"]
assert p["device_class"] == "power" and p["state_class"] == "measurement" and p["unit_of_measurement"] == "kW"
v = c[m + "_voltage_l1"]
assert v["device_class"] == "voltage" and v["unit_of_measurement"] == "V"
g = c[m + "_mbus1_reading"]
assert g["device_class"] == "gas" and g["state_class"] == "total_increasing" and g["unit_of_measurement"] == "m3"
assert c[m + "_timestamp"]["device_class"] == "timestamp"
PY

# 1b. Austrian M-Bus DLMS pushes (--mbus): the decrypted readings are published like telegram
#     values, with a state document and discovery; the meter id falls back to the input name.
cp "$P1/encrypted/austria_evn_netznoe_kaifa_mbus_dlms.bin" "$tmp/evn.bin"
"$AMI" p1 read --mqtt "$url" --mbus --key 36C66639E48A8CA4D6BC8B282A793BBB "$tmp/evn.bin" 2>"$tmp/err" \
    || fail "mbus read: $(cat "$tmp/err")"
retained 'p1test/evn/#' >"$tmp/evn"
grep -qx "p1test/evn/energy_import_total 12937" "$tmp/evn" || fail "mbus energy topic: $(head "$tmp/evn")"
grep -qx "p1test/evn/voltage_l1 233.7" "$tmp/evn" || fail "mbus voltage topic"
grep "^p1test/evn/state " "$tmp/evn" | cut -d' ' -f2- >"$tmp/evnstate"
python3 - "$tmp/evnstate" <<'PY' || fail "mbus state JSON: $(cat "$tmp/evnstate")"
import json, sys
t = json.load(open(sys.argv[1]))
assert t["meter"] == "evn" and t["crc"] == "absent"
o = {x["obis"]: x for x in t["objects"]}
assert o["1-0:1.8.0"] == {"obis": "1-0:1.8.0", "name": "energy_import_total", "value": 12937, "unit": "Wh"}
PY
retained "homeassistant/device/openami_evn/config" | cut -d' ' -f2- >"$tmp/evndisco"
python3 - "$tmp/evndisco" <<'PY' || fail "mbus discovery: $(head -c 600 "$tmp/evndisco")"
import json, sys
c = json.load(open(sys.argv[1]))["components"]
e = c["evn_energy_import_total"]
assert e["device_class"] == "energy" and e["state_class"] == "total_increasing" and e["unit_of_measurement"] == "Wh", e
assert c["evn_voltage_l1"]["device_class"] == "voltage"
PY

# 2. Last will: ami killed while connected leaves "offline" through the broker.
mkfifo "$tmp/fifo"
exec 3<>"$tmp/fifo"
"$AMI" p1 read --mqtt "$url" --meter willtest "$tmp/fifo" 2>"$tmp/err2" 3>&- &
ami_pid=$!
pids+=("$ami_pid")
cat "$P1/dsmr50_iskra_am550_real_nb.txt" >&3
wait_payload p1test/willtest/energy_import_tariff1 3432.829
wait_payload p1test/availability online
kill -9 "$ami_pid"
wait "$ami_pid" 2>/dev/null || true
wait_payload p1test/availability offline
exec 3>&-

# 3. Broker away: messages wait in the bounded queue (--queue 5: the oldest are dropped and
#    counted), then go out when the broker comes up.
kill "$broker_pid"
wait "$broker_pid" 2>/dev/null || true
rm -f "$tmp/fifo"
mkfifo "$tmp/fifo"
exec 3<>"$tmp/fifo"
"$AMI" -v p1 read --mqtt "$url" --meter queued --queue 5 "$tmp/fifo" 2>"$tmp/err3" 3>&- &
ami_pid=$!
pids+=("$ami_pid")
cat "$P1/dsmr42_kaifa_real_nb.txt" >&3
for _ in $(seq 200); do grep -q "telegram 1: ok" "$tmp/err3" && break; sleep 0.05; done
grep -q "broker not reachable yet" "$tmp/err3" || fail "ami did not report the missing broker"
grep -q "telegram 1: ok" "$tmp/err3" || fail "telegram not read while the broker is away"
start_broker
wait_payload p1test/availability online
for _ in $(seq 100); do
    retained 'p1test/queued/#' >"$tmp/q"
    grep -q "^p1test/queued/state " "$tmp/q" && break
    sleep 0.05
done
grep -q "^p1test/queued/state " "$tmp/q" || fail "queued state never arrived"
exec 3>&-
set +e
wait "$ami_pid"
rc=$?
set -e
[ $rc -eq 1 ] || fail "dropped messages must give exit 1, got $rc"
grep -Eq "mqtt: [0-9]+ messages published, [1-9][0-9]* dropped" "$tmp/err3" || fail "dropped count: $(cat "$tmp/err3")"
echo "p1 mqtt: ok"
