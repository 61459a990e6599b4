/*
 * The meter side of P1: the DSMR 5.0.2 telegram writer, the metrology-to-P1 mapping and the
 * Smarty encryption. Each telegram written must parse strictly with our own parser and carry
 * the values it was given; each Smarty frame must decrypt to the telegram.
 * The expected telegram below was composed by hand from DSMR 5.0.2 6.12 and its CRC computed
 * independently (a bitwise CRC-16/ARC in Python).
 * SPDX-License-Identifier: Apache-2.0
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ami/ami.h"
#include "testutil.h"

#define T_2026_12_03_143005Z INT64_C(1796308205)

static const char expected[] = "/AMI5\\2OPENAMI-SIM\r\n\r\n"
                               "1-3:0.2.8(50)\r\n"
                               "0-0:1.0.0(261203153005W)\r\n"
                               "0-0:96.1.1(414D4930303030303030303031)\r\n"
                               "1-0:1.8.1(012345.678*kWh)\r\n"
                               "1-0:1.8.2(000000.001*kWh)\r\n"
                               "1-0:2.8.1(000100.000*kWh)\r\n"
                               "1-0:2.8.2(999999.999*kWh)\r\n"
                               "0-0:96.14.0(0002)\r\n"
                               "1-0:1.7.0(01.193*kW)\r\n"
                               "1-0:2.7.0(00.000*kW)\r\n"
                               "1-0:32.7.0(230.1*V)\r\n"
                               "1-0:52.7.0(229.9*V)\r\n"
                               "1-0:72.7.0(231.0*V)\r\n"
                               "1-0:31.7.0(001*A)\r\n"
                               "1-0:51.7.0(002*A)\r\n"
                               "1-0:71.7.0(003*A)\r\n"
                               "1-0:21.7.0(00.400*kW)\r\n"
                               "1-0:41.7.0(00.393*kW)\r\n"
                               "1-0:61.7.0(00.400*kW)\r\n"
                               "1-0:22.7.0(00.000*kW)\r\n"
                               "1-0:42.7.0(00.000*kW)\r\n"
                               "1-0:62.7.0(00.000*kW)\r\n"
                               "!0C6D\r\n";

static ami_p1_values sample_values(void)
{
    ami_p1_values v = {
        .header = "AMI5\\2OPENAMI-SIM",
        .version = 50,
        .time = T_2026_12_03_143005Z,
        .equipment_id = "AMI0000000001",
        .import_wh = {12345678, 1},
        .export_wh = {100000, 999999999},
        .tariff = 2,
        .power_import_w = 1193,
        .phases = 3,
        .voltage_dv = {2301, 2299, 2310},
        .current_a = {1, 2, 3},
        .phase_import_w = {400, 393, 400},
    };
    return v;
}

/* Frames and parses `tg` strictly; returns the number of objects. */
static size_t parse_strict(const char *tg, size_t n, ami_p1_telegram *t, ami_p1_object *objs,
                           size_t nobjs, ami_p1_group *grps, size_t ngrps)
{
    uint8_t buf[2048];
    ami_p1_framer f;
    assert_int_equal(ami_p1_framer_init(&f, buf, sizeof buf, 0), AMI_OK);
    size_t used = 0;
    ami_p1_frame fr;
    assert_int_equal(ami_p1_framer_push(&f, (const uint8_t *)tg, n, &used, &fr), AMI_OK);
    assert_int_equal(fr.crc_status, AMI_P1_CRC_OK);
    assert_int_equal(fr.crc_digits, 4);
    ami_p1_telegram_init(t, objs, nobjs, grps, ngrps);
    ami_p1_options po = {0};
    assert_int_equal(ami_p1_parse(fr.data, fr.len, &po, t), AMI_OK);
    assert_int_equal(t->raw_lines, 0);
    return t->nobjects;
}

static const ami_p1_group *value_of(const ami_p1_telegram *t, const char *obis)
{
    ami_obis o;
    assert_int_equal(ami_obis_parse(obis, strlen(obis), &o), AMI_OK);
    for (size_t i = 0; i < t->nobjects; i++)
        if (ami_obis_equal(&t->objects[i].obis, &o))
            return &t->groups[t->objects[i].first];
    fail_msg("%s missing", obis);
    return NULL;
}

static void test_write_exact(void **state)
{
    (void)state;
    ami_p1_values v = sample_values();
    char out[1024];
    int n = ami_p1_write(&v, out, sizeof out);
    assert_int_equal(n, (int)strlen(expected));
    assert_memory_equal(out, expected, (size_t)n);
    /* every shorter buffer is refused, never a cut telegram */
    for (size_t cap = 0; cap < (size_t)n; cap++)
        assert_int_equal(ami_p1_write(&v, out, cap), AMI_E_NOSPACE);
}

static void test_write_parses_back(void **state)
{
    (void)state;
    ami_p1_values v = sample_values();
    char out[1024];
    int n = ami_p1_write(&v, out, sizeof out);
    assert_true(n > 0);
    ami_p1_object objs[64];
    ami_p1_group grps[128];
    ami_p1_telegram t;
    assert_int_equal(parse_strict(out, (size_t)n, &t, objs, 64, grps, 128), 22);
    assert_int_equal(t.header_len, strlen(v.header));
    assert_memory_equal(t.header, v.header, t.header_len);
    assert_non_null(t.time);
    const ami_p1_group *g = &t.groups[t.time->first];
    assert_int_equal(g->type, AMI_P1_TIME);
    assert_int_equal(g->u.unix_time, v.time);
    g = value_of(&t, "1-0:1.8.1");
    assert_int_equal(g->type, AMI_P1_NUMBER);
    assert_int_equal(g->u.mantissa, 12345678);
    assert_int_equal(g->decimals, 3);
    assert_int_equal(value_of(&t, "1-0:2.8.2")->u.mantissa, 999999999);
    assert_int_equal(value_of(&t, "1-0:1.7.0")->u.mantissa, 1193);
    assert_int_equal(value_of(&t, "1-0:52.7.0")->u.mantissa, 2299);
    assert_int_equal(value_of(&t, "1-0:71.7.0")->u.mantissa, 3);
    char id[64];
    assert_int_equal(ami_p1_text(value_of(&t, "0-0:96.1.1"), true, id, sizeof id), 13);
    assert_string_equal(id, "AMI0000000001");

    /* summer time, one phase, no version or identifier */
    v.time = T_2026_12_03_143005Z - 150 * 86400; /* 2026-07-06 */
    v.dst = true;
    v.phases = 1;
    v.version = 0;
    v.equipment_id = NULL;
    n = ami_p1_write(&v, out, sizeof out);
    assert_true(n > 0);
    assert_non_null(strstr(out, "0-0:1.0.0(260706163005S)\r\n"));
    assert_null(strstr(out, "52.7.0"));
    assert_int_equal(parse_strict(out, (size_t)n, &t, objs, 64, grps, 128), 12);
    assert_int_equal(t.groups[t.time->first].u.unix_time, v.time);
    assert_int_equal(t.groups[t.time->first].utc_offset, 120);
}

static void test_write_refuses(void **state)
{
    (void)state;
    char out[1024];
    ami_p1_values v = sample_values();
    assert_int_equal(ami_p1_write(NULL, out, sizeof out), AMI_E_INVAL);
    assert_int_equal(ami_p1_write(&v, NULL, sizeof out), AMI_E_INVAL);
    ami_p1_values b;
    b = v, b.header = "AB";
    assert_int_equal(ami_p1_write(&b, out, sizeof out), AMI_E_INVAL);
    b = v, b.header = "AMI5\r\nX";
    assert_int_equal(ami_p1_write(&b, out, sizeof out), AMI_E_INVAL);
    b = v, b.header = "AMI5!X";
    assert_int_equal(ami_p1_write(&b, out, sizeof out), AMI_E_INVAL);
    b = v, b.header = "AMI5/X";
    assert_int_equal(ami_p1_write(&b, out, sizeof out), AMI_E_INVAL);
    b = v, b.equipment_id = "A\tB";
    assert_int_equal(ami_p1_write(&b, out, sizeof out), AMI_E_INVAL);
    b = v, b.phases = 2;
    assert_int_equal(ami_p1_write(&b, out, sizeof out), AMI_E_INVAL);
    b = v, b.tariff = 0;
    assert_int_equal(ami_p1_write(&b, out, sizeof out), AMI_E_INVAL);
    b = v, b.import_wh[1] = 1000000000;
    assert_int_equal(ami_p1_write(&b, out, sizeof out), AMI_E_RANGE);
    b = v, b.export_wh[0] = -1;
    assert_int_equal(ami_p1_write(&b, out, sizeof out), AMI_E_RANGE);
    b = v, b.power_export_w = 100000;
    assert_int_equal(ami_p1_write(&b, out, sizeof out), AMI_E_RANGE);
    b = v, b.voltage_dv[2] = 10000;
    assert_int_equal(ami_p1_write(&b, out, sizeof out), AMI_E_RANGE);
    b = v, b.current_a[0] = 1000;
    assert_int_equal(ami_p1_write(&b, out, sizeof out), AMI_E_RANGE);
    b = v, b.time = INT64_C(946684800); /* 2000-01-01T01:00 local: a placeholder */
    assert_int_equal(ami_p1_write(&b, out, sizeof out), AMI_E_RANGE);
    b = v, b.time = 0;
    assert_int_equal(ami_p1_write(&b, out, sizeof out), AMI_E_RANGE);
    b = v, b.phase_export_w[1] = -5;
    assert_int_equal(ami_p1_write(&b, out, sizeof out), AMI_E_RANGE);
}

static void test_eu_dst(void **state)
{
    (void)state;
    /* 2026: summer time from Sunday 29 March 01:00 UTC to Sunday 25 October 01:00 UTC */
    const int64_t mar29 = INT64_C(1774746000), oct25 = INT64_C(1792890000);
    assert_false(ami_p1_eu_dst(mar29 - 1));
    assert_true(ami_p1_eu_dst(mar29));
    assert_true(ami_p1_eu_dst(oct25 - 1));
    assert_false(ami_p1_eu_dst(oct25));
    assert_false(ami_p1_eu_dst(T_2026_12_03_143005Z));
    /* 2027: 28 March and 31 October (October 31 itself a Sunday) */
    assert_true(ami_p1_eu_dst(INT64_C(1806195600)));      /* 2027-03-28 01:00Z */
    assert_false(ami_p1_eu_dst(INT64_C(1806195600) - 1)); /* 00:59:59Z */
    assert_true(ami_p1_eu_dst(INT64_C(1824944400) - 1));  /* 2027-10-31 00:59:59Z */
    assert_false(ami_p1_eu_dst(INT64_C(1824944400)));
}

static void test_metrology_to_p1(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 12; seed++) {
        ami_metro_load load;
        ami_metro_load_from_seed(&load, seed * 0x9E3779B97F4A7C15u);
        ami_metro m;
        int64_t t0 = T_2026_12_03_143005Z - 3 * 86400;
        assert_int_equal(ami_metro_init(&m, &load, 15, 15, t0), AMI_OK);
        assert_int_equal(ami_metro_advance(&m, t0 + 86400, 0), AMI_OK);
        assert_int_equal(ami_metro_advance(&m, t0 + 2 * 86400 + 7, 1), AMI_OK);
        ami_p1_values v = {.header = "AMI5\\2SIM", .version = 50};
        assert_int_equal(ami_metro_p1_values(&m, 1, &v), AMI_OK);
        assert_int_equal(ami_metro_p1_values(&m, 2, &v), AMI_E_INVAL);
        assert_int_equal(v.tariff, 2);
        assert_int_equal(v.phases, load.phases);
        assert_int_equal(v.import_wh[0], ami_metro_wh(m.reg.tariff[0][AMI_REG_A_PLUS]));
        assert_int_equal(v.export_wh[1], ami_metro_wh(m.reg.tariff[1][AMI_REG_A_MINUS]));
        v.dst = ami_p1_eu_dst(v.time);
        char out[1024];
        int n = ami_p1_write(&v, out, sizeof out);
        assert_true(n > 0);
        ami_p1_object objs[64];
        ami_p1_group grps[128];
        ami_p1_telegram t;
        (void)parse_strict(out, (size_t)n, &t, objs, 64, grps, 128);
        assert_int_equal(value_of(&t, "1-0:1.8.1")->u.mantissa, v.import_wh[0]);
        assert_int_equal(value_of(&t, "1-0:1.8.2")->u.mantissa, v.import_wh[1]);
        ami_metro_sample s;
        ami_metro_instant(&m, m.t, &s);
        int64_t p = value_of(&t, "1-0:1.7.0")->u.mantissa - value_of(&t, "1-0:2.7.0")->u.mantissa;
        assert_int_equal(p, s.p_mw / 1000);
        assert_int_equal(value_of(&t, "1-0:32.7.0")->u.mantissa, s.ph[0].u_mv / 100);
        assert_int_equal(t.groups[t.time->first].u.unix_time, m.t);
    }
}

static void test_smarty_roundtrip(void **state)
{
    (void)state;
    static const uint8_t ek[16] = {0xD4, 0x91, 0x47, 0x0F, 0x47, 0x12, 0x63, 0x32,
                                   0xB0, 0x7D, 0x19, 0x23, 0xB3, 0x50, 0x41, 0x88};
    static const uint8_t st[8] = {'S', 'A', 'G', 0x67, 0x00, 0x00, 0x00, 0x01};
    ami_sec_ctx ctx;
    assert_int_equal(ami_sec_ctx_init(&ctx), AMI_OK);
    assert_int_equal(ami_sec_ctx_set_ek(&ctx, ek, 16), AMI_OK);
    assert_int_equal(ami_sec_ctx_set_ak(&ctx, ami_p1_smarty_default_ak, 16), AMI_OK);
    size_t n = strlen(expected);
    uint8_t frame[1200], plain[1200];
    size_t flen = 0, plen = 0, used = 0;
    assert_int_equal(ami_p1_smarty_encrypt(&ctx, st, 0x1234, (const uint8_t *)expected, n, frame,
                                           sizeof frame, &flen),
                     AMI_OK);
    assert_int_equal(flen, n + 30);
    assert_int_equal(frame[0], 0xDB);
    assert_int_equal(frame[1], 8);
    assert_memory_equal(frame + 2, st, 8);
    assert_int_equal(frame[10], 0x82);
    assert_int_equal(((size_t)frame[11] << 8) | frame[12], n + 17);
    assert_int_equal(frame[13], 0x30);
    assert_int_equal(frame[17], 0x34);
    ami_p1_frame_info info;
    assert_int_equal(
        ami_p1_smarty_decrypt(&ctx, NULL, frame, flen, plain, sizeof plain, &plen, &used, &info),
        AMI_OK);
    assert_int_equal(used, flen);
    assert_int_equal(plen, n);
    assert_memory_equal(plain, expected, n);
    assert_int_equal(info.frame_counter, 0x1234);
    /* too small an output, and no key */
    assert_int_equal(
        ami_p1_smarty_encrypt(&ctx, st, 1, (const uint8_t *)expected, n, frame, n + 29, &flen),
        AMI_E_NOSPACE);
    assert_int_equal(ami_p1_smarty_encrypt(&ctx, st, 1, (const uint8_t *)expected,
                                           AMI_P1_SMARTY_MAX, frame, sizeof frame, &flen),
                     AMI_E_TOO_LARGE);
    ami_sec_ctx nokey;
    assert_int_equal(ami_sec_ctx_init(&nokey), AMI_OK);
    assert_int_equal(ami_p1_smarty_encrypt(&nokey, st, 1, (const uint8_t *)expected, n, frame,
                                           sizeof frame, &flen),
                     AMI_E_KEY);
    ami_sec_ctx_wipe(&nokey);
    ami_sec_ctx_wipe(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_exact),     cmocka_unit_test(test_write_parses_back),
        cmocka_unit_test(test_write_refuses),   cmocka_unit_test(test_eu_dst),
        cmocka_unit_test(test_metrology_to_p1), cmocka_unit_test(test_smarty_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
