/*
 * The table of known P1 quantities: OBIS code -> stable name, unit, kind, entry shape.
 *
 * Sources: DSMR 5.0.2 P1 companion standard 6.12 (table of objects), e-MUCS H 1.7 (Belgium:
 * 1-0:1.4.0, 1-0:1.6.0, 0-0:98.1.0, 0-0:96.1.4, 0-n:24.2.3), Luxembourg Smarty P1 (0-0:42.0.0,
 * 0-0:96.13.2..5, reactive energy), DSMR 2.2 / 3.0 (0-n:24.3.0). M-Bus channel entries have
 * B = 255 and match channels 1..4. The names are an API (JSON "name", MQTT topics, Home Assistant
 * unique ids): never rename one; docs/p1.md lists them.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "ami/p1.h"

/* Sorted by (A, B, C, D, E); test_p1 checks the order. */
static const ami_p1_quantity table[] = {
    {{{0, 0, 1, 0, 0, 255}},
     "timestamp",
     "",
     "Telegram time",
     AMI_P1_KIND_TIMESTAMP,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{0, 0, 17, 0, 0, 255}},
     "limiter_threshold",
     "kW",
     "Limiter threshold",
     AMI_P1_KIND_POWER,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{0, 0, 42, 0, 0, 255}},
     "logical_device_name",
     "",
     "COSEM logical device name (Luxembourg)",
     AMI_P1_KIND_TEXT,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{0, 0, 96, 1, 0, 255}},
     "meter_serial",
     "",
     "Meter serial number",
     AMI_P1_KIND_TEXT,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{0, 0, 96, 1, 1, 255}},
     "equipment_id",
     "",
     "Equipment identifier",
     AMI_P1_KIND_TEXT,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{0, 0, 96, 1, 4, 255}},
     "emucs_version",
     "",
     "e-MUCS version (Belgium)",
     AMI_P1_KIND_STATE,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{0, 0, 96, 3, 10, 255}},
     "breaker_state",
     "",
     "Breaker state",
     AMI_P1_KIND_STATE,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{0, 0, 96, 7, 9, 255}},
     "long_power_failures",
     "",
     "Long power failures in any phase",
     AMI_P1_KIND_COUNT,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{0, 0, 96, 7, 21, 255}},
     "power_failures",
     "",
     "Power failures in any phase",
     AMI_P1_KIND_COUNT,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{0, 0, 96, 13, 0, 255}},
     "message_text",
     "",
     "Text message",
     AMI_P1_KIND_TEXT,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{0, 0, 96, 13, 1, 255}},
     "message_code",
     "",
     "Numeric message (DSMR 2.2-4.0)",
     AMI_P1_KIND_TEXT,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{0, 0, 96, 13, 2, 255}},
     "message_text_2",
     "",
     "Message 2 (Luxembourg)",
     AMI_P1_KIND_TEXT,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{0, 0, 96, 13, 3, 255}},
     "message_text_3",
     "",
     "Message 3 (Luxembourg)",
     AMI_P1_KIND_TEXT,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{0, 0, 96, 13, 4, 255}},
     "message_text_4",
     "",
     "Message 4 (Luxembourg)",
     AMI_P1_KIND_TEXT,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{0, 0, 96, 13, 5, 255}},
     "message_text_5",
     "",
     "Message 5 (Luxembourg)",
     AMI_P1_KIND_TEXT,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{0, 0, 96, 14, 0, 255}},
     "tariff",
     "",
     "Tariff indicator",
     AMI_P1_KIND_STATE,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{0, 0, 98, 1, 0, 255}},
     "power_import_peak_history",
     "kW",
     "Maximum demand of past months (Belgium)",
     AMI_P1_KIND_LOG,
     AMI_P1_SHAPE_LOG,
     false},
    {{{0, 255, 24, 1, 0, 255}},
     "device_type",
     "",
     "M-Bus device type (EN 13757-3: 3 gas, 4 heat, 7 water)",
     AMI_P1_KIND_STATE,
     AMI_P1_SHAPE_SINGLE,
     true},
    {{{0, 255, 24, 2, 1, 255}},
     "reading",
     "m3",
     "M-Bus last reading with capture time",
     AMI_P1_KIND_MBUS,
     AMI_P1_SHAPE_TIMED,
     true},
    {{{0, 255, 24, 2, 3, 255}},
     "reading",
     "m3",
     "M-Bus last reading, not temperature corrected (Belgium)",
     AMI_P1_KIND_MBUS,
     AMI_P1_SHAPE_TIMED,
     true},
    {{{0, 255, 24, 3, 0, 255}},
     "reading",
     "m3",
     "M-Bus reading, DSMR 2.2/3.0 profile",
     AMI_P1_KIND_MBUS,
     AMI_P1_SHAPE_LEGACY_MBUS,
     true},
    {{{0, 255, 24, 4, 0, 255}},
     "valve_state",
     "",
     "M-Bus valve state",
     AMI_P1_KIND_STATE,
     AMI_P1_SHAPE_SINGLE,
     true},
    {{{0, 255, 96, 1, 0, 255}},
     "equipment_id",
     "",
     "M-Bus equipment identifier",
     AMI_P1_KIND_TEXT,
     AMI_P1_SHAPE_SINGLE,
     true},
    {{{0, 255, 96, 1, 1, 255}},
     "equipment_id",
     "",
     "M-Bus equipment identifier (Belgium)",
     AMI_P1_KIND_TEXT,
     AMI_P1_SHAPE_SINGLE,
     true},
    {{{1, 0, 0, 0, 0, 255}},
     "meter_number",
     "",
     "Meter number",
     AMI_P1_KIND_ID,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 1, 4, 0, 255}},
     "power_import_average",
     "kW",
     "Current average demand, import (Belgium)",
     AMI_P1_KIND_POWER,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 1, 6, 0, 255}},
     "power_import_peak_month",
     "kW",
     "Maximum demand this month (Belgium)",
     AMI_P1_KIND_POWER,
     AMI_P1_SHAPE_TIMED,
     false},
    {{{1, 0, 1, 7, 0, 255}},
     "power_import",
     "kW",
     "Active power import",
     AMI_P1_KIND_POWER,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 1, 8, 0, 255}},
     "energy_import_total",
     "kWh",
     "Active energy import, total",
     AMI_P1_KIND_ENERGY,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 1, 8, 1, 255}},
     "energy_import_tariff1",
     "kWh",
     "Active energy import, tariff 1",
     AMI_P1_KIND_ENERGY,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 1, 8, 2, 255}},
     "energy_import_tariff2",
     "kWh",
     "Active energy import, tariff 2",
     AMI_P1_KIND_ENERGY,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 2, 7, 0, 255}},
     "power_export",
     "kW",
     "Active power export",
     AMI_P1_KIND_POWER,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 2, 8, 0, 255}},
     "energy_export_total",
     "kWh",
     "Active energy export, total",
     AMI_P1_KIND_ENERGY,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 2, 8, 1, 255}},
     "energy_export_tariff1",
     "kWh",
     "Active energy export, tariff 1",
     AMI_P1_KIND_ENERGY,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 2, 8, 2, 255}},
     "energy_export_tariff2",
     "kWh",
     "Active energy export, tariff 2",
     AMI_P1_KIND_ENERGY,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 3, 7, 0, 255}},
     "reactive_power_import",
     "kvar",
     "Reactive power import",
     AMI_P1_KIND_REACTIVE_POWER,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 3, 8, 0, 255}},
     "reactive_energy_import_total",
     "kvarh",
     "Reactive energy import, total",
     AMI_P1_KIND_REACTIVE_ENERGY,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 3, 8, 1, 255}},
     "reactive_energy_import_tariff1",
     "kvarh",
     "Reactive energy import, tariff 1",
     AMI_P1_KIND_REACTIVE_ENERGY,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 3, 8, 2, 255}},
     "reactive_energy_import_tariff2",
     "kvarh",
     "Reactive energy import, tariff 2",
     AMI_P1_KIND_REACTIVE_ENERGY,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 4, 7, 0, 255}},
     "reactive_power_export",
     "kvar",
     "Reactive power export",
     AMI_P1_KIND_REACTIVE_POWER,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 4, 8, 0, 255}},
     "reactive_energy_export_total",
     "kvarh",
     "Reactive energy export, total",
     AMI_P1_KIND_REACTIVE_ENERGY,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 4, 8, 1, 255}},
     "reactive_energy_export_tariff1",
     "kvarh",
     "Reactive energy export, tariff 1",
     AMI_P1_KIND_REACTIVE_ENERGY,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 4, 8, 2, 255}},
     "reactive_energy_export_tariff2",
     "kvarh",
     "Reactive energy export, tariff 2",
     AMI_P1_KIND_REACTIVE_ENERGY,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 14, 7, 0, 255}},
     "frequency",
     "Hz",
     "Frequency",
     AMI_P1_KIND_FREQUENCY,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 21, 7, 0, 255}},
     "power_import_l1",
     "kW",
     "Active power import L1",
     AMI_P1_KIND_POWER,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 22, 7, 0, 255}},
     "power_export_l1",
     "kW",
     "Active power export L1",
     AMI_P1_KIND_POWER,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 23, 7, 0, 255}},
     "reactive_power_import_l1",
     "kvar",
     "Reactive power import L1",
     AMI_P1_KIND_REACTIVE_POWER,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 24, 7, 0, 255}},
     "reactive_power_export_l1",
     "kvar",
     "Reactive power export L1",
     AMI_P1_KIND_REACTIVE_POWER,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 31, 4, 0, 255}},
     "fuse_threshold_l1",
     "A",
     "Fuse supervision threshold L1 (Belgium)",
     AMI_P1_KIND_CURRENT,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 31, 7, 0, 255}},
     "current_l1",
     "A",
     "Current L1",
     AMI_P1_KIND_CURRENT,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 32, 7, 0, 255}},
     "voltage_l1",
     "V",
     "Voltage L1",
     AMI_P1_KIND_VOLTAGE,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 32, 32, 0, 255}},
     "voltage_sags_l1",
     "",
     "Voltage sags L1",
     AMI_P1_KIND_COUNT,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 32, 36, 0, 255}},
     "voltage_swells_l1",
     "",
     "Voltage swells L1",
     AMI_P1_KIND_COUNT,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 41, 7, 0, 255}},
     "power_import_l2",
     "kW",
     "Active power import L2",
     AMI_P1_KIND_POWER,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 42, 7, 0, 255}},
     "power_export_l2",
     "kW",
     "Active power export L2",
     AMI_P1_KIND_POWER,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 43, 7, 0, 255}},
     "reactive_power_import_l2",
     "kvar",
     "Reactive power import L2",
     AMI_P1_KIND_REACTIVE_POWER,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 44, 7, 0, 255}},
     "reactive_power_export_l2",
     "kvar",
     "Reactive power export L2",
     AMI_P1_KIND_REACTIVE_POWER,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 51, 7, 0, 255}},
     "current_l2",
     "A",
     "Current L2",
     AMI_P1_KIND_CURRENT,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 52, 7, 0, 255}},
     "voltage_l2",
     "V",
     "Voltage L2",
     AMI_P1_KIND_VOLTAGE,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 52, 32, 0, 255}},
     "voltage_sags_l2",
     "",
     "Voltage sags L2",
     AMI_P1_KIND_COUNT,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 52, 36, 0, 255}},
     "voltage_swells_l2",
     "",
     "Voltage swells L2",
     AMI_P1_KIND_COUNT,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 61, 7, 0, 255}},
     "power_import_l3",
     "kW",
     "Active power import L3",
     AMI_P1_KIND_POWER,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 62, 7, 0, 255}},
     "power_export_l3",
     "kW",
     "Active power export L3",
     AMI_P1_KIND_POWER,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 63, 7, 0, 255}},
     "reactive_power_import_l3",
     "kvar",
     "Reactive power import L3",
     AMI_P1_KIND_REACTIVE_POWER,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 64, 7, 0, 255}},
     "reactive_power_export_l3",
     "kvar",
     "Reactive power export L3",
     AMI_P1_KIND_REACTIVE_POWER,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 71, 7, 0, 255}},
     "current_l3",
     "A",
     "Current L3",
     AMI_P1_KIND_CURRENT,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 72, 7, 0, 255}},
     "voltage_l3",
     "V",
     "Voltage L3",
     AMI_P1_KIND_VOLTAGE,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 72, 32, 0, 255}},
     "voltage_sags_l3",
     "",
     "Voltage sags L3",
     AMI_P1_KIND_COUNT,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 72, 36, 0, 255}},
     "voltage_swells_l3",
     "",
     "Voltage swells L3",
     AMI_P1_KIND_COUNT,
     AMI_P1_SHAPE_SINGLE,
     false},
    {{{1, 0, 99, 97, 0, 255}},
     "power_failure_log",
     "s",
     "Power failure event log",
     AMI_P1_KIND_LOG,
     AMI_P1_SHAPE_LOG,
     false},
    {{{1, 3, 0, 2, 8, 255}},
     "dsmr_version",
     "",
     "P1 output version",
     AMI_P1_KIND_STATE,
     AMI_P1_SHAPE_SINGLE,
     false},
};

static uint64_t key(const ami_obis *o)
{
    return (uint64_t)o->v[0] << 32 | (uint64_t)o->v[1] << 24 | (uint64_t)o->v[2] << 16 |
           (uint64_t)o->v[3] << 8 | o->v[4];
}

static const ami_p1_quantity *search(uint64_t k)
{
    size_t lo = 0, hi = AMI_COUNTOF(table);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t km = key(&table[mid].obis);
        if (km == k)
            return &table[mid];
        if (km < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const ami_p1_quantity *ami_p1_quantity_find(const ami_obis *o)
{
    if (!o)
        return NULL;
    const ami_p1_quantity *q = search(key(o));
    if (!q && o->v[0] == 0 && o->v[1] >= 1 && o->v[1] <= 4) {
        ami_obis any = *o;
        any.v[1] = 255;
        q = search(key(&any));
    }
    return q;
}

const ami_p1_quantity *ami_p1_quantity_table(size_t *n)
{
    if (n)
        *n = AMI_COUNTOF(table);
    return table;
}

const char *ami_p1_kind_device_class(enum ami_p1_kind kind)
{
    switch (kind) {
    case AMI_P1_KIND_ENERGY:
        return "energy";
    case AMI_P1_KIND_REACTIVE_ENERGY:
        return "reactive_energy";
    case AMI_P1_KIND_POWER:
        return "power";
    case AMI_P1_KIND_REACTIVE_POWER:
        return "reactive_power";
    case AMI_P1_KIND_APPARENT_POWER:
        return "apparent_power";
    case AMI_P1_KIND_VOLTAGE:
        return "voltage";
    case AMI_P1_KIND_CURRENT:
        return "current";
    case AMI_P1_KIND_FREQUENCY:
        return "frequency";
    case AMI_P1_KIND_MBUS:
        return "gas";
    case AMI_P1_KIND_TIMESTAMP:
        return "timestamp";
    default:
        return NULL;
    }
}

const char *ami_p1_kind_state_class(enum ami_p1_kind kind)
{
    switch (kind) {
    case AMI_P1_KIND_ENERGY:
    case AMI_P1_KIND_REACTIVE_ENERGY:
    case AMI_P1_KIND_COUNT:
    case AMI_P1_KIND_MBUS:
        return "total_increasing";
    case AMI_P1_KIND_POWER:
    case AMI_P1_KIND_REACTIVE_POWER:
    case AMI_P1_KIND_APPARENT_POWER:
    case AMI_P1_KIND_VOLTAGE:
    case AMI_P1_KIND_CURRENT:
    case AMI_P1_KIND_FREQUENCY:
        return "measurement";
    default:
        return NULL;
    }
}

static const struct {
    unsigned flag;
    const char *name;
} lenient_names[] = {
    {AMI_P1_LENIENT_LF_ONLY, "lf-only"},
    {AMI_P1_LENIENT_NO_BLANK_AFTER_HEADER, "no-blank-after-header"},
    {AMI_P1_LENIENT_BLANK_BEFORE_END, "blank-before-end"},
    {AMI_P1_LENIENT_SHORT_CRC, "short-crc"},
    {AMI_P1_LENIENT_SPLIT_VALUE, "split-value"},
    {AMI_P1_LENIENT_TRAILING_BYTES, "trailing-bytes"},
    {AMI_P1_LENIENT_OBIS_F, "obis-f"},
    {AMI_P1_LENIENT_UNIT_NO_STAR, "unit-no-star"},
};

unsigned ami_p1_lenient_from_name(const char *name)
{
    if (!name)
        return 0;
    for (size_t i = 0; i < AMI_COUNTOF(lenient_names); i++)
        if (!strcmp(name, lenient_names[i].name))
            return lenient_names[i].flag;
    return 0;
}

const char *ami_p1_lenient_name(unsigned flag)
{
    for (size_t i = 0; i < AMI_COUNTOF(lenient_names); i++)
        if (flag == lenient_names[i].flag)
            return lenient_names[i].name;
    return NULL;
}
