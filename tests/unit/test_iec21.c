/*
 * IEC 62056-21: every file of ../shared/testdata/iec62056-21 with its expected decode, the
 * encoders against the same bytes, the data-set rules, and whole client <-> meter sessions on a
 * simulated line and clock (modes A to E, passwords, lock-out, access levels, NAK / repeat,
 * timeouts).
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "ami/ami.h"
#include "ami/hdlc.h"
#include "io/serial.h"

/* ---------------------------------------------------------------- helpers */

static uint8_t *load(const char *name, size_t *len)
{
    char rel[160];
    snprintf(rel, sizeof rel, "iec62056-21/%s", name);
    return tu_read_file(tu_testdata(rel), len);
}

/* Parses one message at *off of buf; asserts the return is > 0 and advances. */
static void next_msg(const uint8_t *buf, size_t len, size_t *off, enum ami_iec21_dir dir,
                     unsigned lenient, ami_iec21_msg *m)
{
    int rc = ami_iec21_msg_parse(buf + *off, len - *off, dir, lenient, m);
    assert_true(rc > 0);
    *off += (size_t)rc;
}

static void assert_view(const char *p, size_t n, const char *want)
{
    assert_int_equal(n, strlen(want));
    assert_memory_equal(p, want, n);
}

struct want_ds {
    const char *address, *value, *raw, *unit; /* unit NULL: no "*" */
};

static void assert_datasets(const uint8_t *d, size_t n, unsigned lenient, const struct want_ds *w,
                            size_t count, bool bang)
{
    ami_iec21_dsiter it;
    ami_iec21_dataset ds;
    ami_iec21_ds_begin(&it, d, n, lenient);
    for (size_t i = 0; i < count; i++) {
        assert_int_equal(ami_iec21_ds_next(&it, &ds), 1);
        assert_view(ds.address, ds.address_len, w[i].address);
        assert_view(ds.value, ds.value_len, w[i].value);
        assert_view(ds.raw, ds.raw_len, w[i].raw ? w[i].raw : w[i].value);
        if (w[i].unit)
            assert_view(ds.unit, ds.unit_len, w[i].unit);
        else
            assert_null(ds.unit);
    }
    assert_int_equal(ami_iec21_ds_next(&it, &ds), 0);
    assert_int_equal(it.bang, bang);
}

/* ---------------------------------------------------------------- vectors */

static void test_request(void **state)
{
    (void)state;
    size_t len, off = 0;
    uint8_t *b = load("protocol_sign_on_request.bin", &len);
    ami_iec21_msg m;
    next_msg(b, len, &off, AMI_IEC21_FROM_CLIENT, 0, &m);
    assert_int_equal(m.kind, AMI_IEC21_MSG_REQUEST);
    assert_int_equal(m.address_len, 0);
    assert_int_equal(off, len);
    uint8_t out[64];
    assert_int_equal(ami_iec21_request_encode(NULL, out, sizeof out), (int)len);
    assert_memory_equal(out, b, len);
    free(b);

    off = 0;
    b = load("protocol_sign_on_request_addressed.bin", &len);
    next_msg(b, len, &off, AMI_IEC21_FROM_CLIENT, 0, &m);
    assert_int_equal(m.kind, AMI_IEC21_MSG_REQUEST);
    assert_view(m.address, m.address_len, "45678903");
    assert_int_equal(ami_iec21_request_encode("45678903", out, sizeof out), (int)len);
    assert_memory_equal(out, b, len);
    /* every truncation needs more input */
    for (size_t n = 0; n < len; n++)
        assert_int_equal(ami_iec21_msg_parse(b, n, AMI_IEC21_FROM_CLIENT, 0, &m), AMI_E_AGAIN);
    free(b);
}

static void test_ident_elster_mode_e(void **state)
{
    (void)state;
    size_t len, off = 0;
    uint8_t *b = load("protocol_identification_elster_baud6_19200_mode_e.bin", &len);
    ami_iec21_msg m;
    next_msg(b, len, &off, AMI_IEC21_FROM_METER, 0, &m);
    assert_int_equal(m.kind, AMI_IEC21_MSG_IDENT);
    assert_string_equal(m.ident.manufacturer, "Els");
    assert_true(m.ident.fast); /* lower-case third letter: 20 ms */
    assert_int_equal(m.ident.baud_char, '6');
    assert_string_equal(m.ident.enhanced, "2");
    assert_true(m.ident.mode_e);
    assert_view(m.ident.text, m.ident.text_len, "EK280");
    assert_int_equal(ami_iec21_mode_of(m.ident.baud_char, m.ident.mode_e), AMI_IEC21_MODE_E);
    assert_int_equal(ami_iec21_baud_of(AMI_IEC21_MODE_E, m.ident.baud_char), 19200);
    uint8_t out[64];
    assert_int_equal(ami_iec21_ident_encode("Els", '6', "2", "EK280", out, sizeof out), (int)len);
    assert_memory_equal(out, b, len);
    free(b);
}

static void test_baud_tables(void **state)
{
    (void)state;
    /* 6.3.2 item 14 */
    assert_int_equal(ami_iec21_baud_of(AMI_IEC21_MODE_C, '0'), 300);
    assert_int_equal(ami_iec21_baud_of(AMI_IEC21_MODE_C, '5'), 9600);
    assert_int_equal(ami_iec21_baud_of(AMI_IEC21_MODE_C, '7'), 0);
    assert_int_equal(ami_iec21_baud_of(AMI_IEC21_MODE_B, 'A'), 600);
    assert_int_equal(ami_iec21_baud_of(AMI_IEC21_MODE_B, 'E'), 9600);
    assert_int_equal(ami_iec21_baud_of(AMI_IEC21_MODE_B, 'G'), 0);
    assert_int_equal(ami_iec21_baud_of(AMI_IEC21_MODE_A, 'x'), 300);
    assert_int_equal(ami_iec21_baud_of(AMI_IEC21_MODE_D, '3'), 2400);
    assert_int_equal(ami_iec21_mode_of('E', false), AMI_IEC21_MODE_B);
    assert_int_equal(ami_iec21_mode_of('5', false), AMI_IEC21_MODE_C);
    assert_int_equal(ami_iec21_mode_of('Z', false), AMI_IEC21_MODE_A);
    assert_int_equal(ami_iec21_baud_char(AMI_IEC21_MODE_B, 4800), 'D');
    assert_int_equal(ami_iec21_baud_char(AMI_IEC21_MODE_C, 4800), '4');
    assert_int_equal(ami_iec21_baud_char(AMI_IEC21_MODE_B, 300), 0);
}

static void test_option_select(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        char v, z, y;
    } t[] = {{"protocol_ack_option_select_readout_300.bin", '0', '0', '0'},
             {"protocol_ack_option_select_programming_9600.bin", '0', '5', '1'}};
    for (size_t i = 0; i < AMI_COUNTOF(t); i++) {
        size_t len, off = 0;
        uint8_t *b = load(t[i].file, &len);
        ami_iec21_msg m;
        next_msg(b, len, &off, AMI_IEC21_FROM_CLIENT, 0, &m);
        assert_int_equal(m.kind, AMI_IEC21_MSG_OPTION);
        assert_int_equal(m.option.protocol, t[i].v);
        assert_int_equal(m.option.baud, t[i].z);
        assert_int_equal(m.option.mode, t[i].y);
        uint8_t out[16];
        assert_int_equal(ami_iec21_option_encode(&m.option, out, sizeof out), (int)len);
        assert_memory_equal(out, b, len);
        /* from the meter, ACK is a lone acknowledgement */
        assert_int_equal(ami_iec21_msg_parse(b, len, AMI_IEC21_FROM_METER, 0, &m), 1);
        assert_int_equal(m.kind, AMI_IEC21_MSG_ACK);
        /* in a capture of both, the full pattern is an option select */
        assert_int_equal(ami_iec21_msg_parse(b, len, AMI_IEC21_FROM_ANY, 0, &m), 6);
        assert_int_equal(m.kind, AMI_IEC21_MSG_OPTION);
        free(b);
    }
}

static void test_commands(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        char c, d;
        uint8_t bcc;
        const char *data; /* NULL: no data set */
        struct want_ds ds;
    } t[] = {
        {"protocol_break_command_b0.bin", 'B', '0', 0x71, NULL, {0}},
        {"protocol_password_operand_p0_from_meter.bin",
         'P',
         '0',
         0x50,
         "(1234567)",
         {"", "1234567", NULL, NULL}},
        {"protocol_read_command_r1_1.8.0.bin",
         'R',
         '1',
         0x6B,
         "1.8.0(1)",
         {"1.8.0", "1", NULL, NULL}},
        {"protocol_write_command_w2_c003.bin",
         'W',
         '2',
         0x1B,
         "C003(910324092239)",
         {"C003", "910324092239", NULL, NULL}},
    };
    for (size_t i = 0; i < AMI_COUNTOF(t); i++) {
        size_t len, off = 0;
        uint8_t *b = load(t[i].file, &len);
        uint8_t *g = tu_guard_copy(b, len);
        ami_iec21_msg m;
        next_msg(g, len, &off, AMI_IEC21_FROM_ANY, 0, &m);
        assert_int_equal(off, len);
        assert_int_equal(m.kind, AMI_IEC21_MSG_COMMAND);
        assert_int_equal(m.cmd, t[i].c);
        assert_int_equal(m.cmd_type, t[i].d);
        assert_int_equal(m.bcc_status, AMI_IEC21_BCC_OK);
        assert_int_equal(m.bcc_received, t[i].bcc);
        assert_int_equal(m.bcc_computed, t[i].bcc);
        if (t[i].data) {
            assert_view((const char *)m.data, m.data_len, t[i].data);
            assert_datasets(m.data, m.data_len, 0, &t[i].ds, 1, false);
        } else {
            assert_null(m.data);
        }
        uint8_t out[64];
        int n = ami_iec21_command_encode(t[i].c, t[i].d, t[i].data,
                                         t[i].data ? strlen(t[i].data) : 0, out, sizeof out);
        assert_int_equal(n, (int)len);
        assert_memory_equal(out, b, len);
        for (size_t k = 0; k < len; k++)
            assert_int_equal(ami_iec21_msg_parse(g, k, AMI_IEC21_FROM_ANY, 0, &m), AMI_E_AGAIN);
        tu_guard_free(g, len);
        free(b);
    }
}

static void test_answer_bcc(void **state)
{
    (void)state;
    size_t len, off = 0;
    uint8_t *b = load("protocol_answer_data_message_bcc.bin", &len);
    ami_iec21_msg m;
    next_msg(b, len, &off, AMI_IEC21_FROM_METER, 0, &m);
    assert_int_equal(m.kind, AMI_IEC21_MSG_DATA);
    assert_int_equal(m.bcc_received, 0x12);
    static const struct want_ds ds = {"3:171.0", "0", NULL, NULL};
    assert_datasets(m.data, m.data_len, 0, &ds, 1, false);
    uint8_t out[32];
    assert_int_equal(ami_iec21_data_encode("3:171.0(0)", 10, out, sizeof out), (int)len);
    assert_memory_equal(out, b, len);
    free(b);

    /* the bad-BCC twin is refused and the error names both values */
    b = load("protocol_answer_data_message_bad_bcc.bin", &len);
    uint8_t *g = tu_guard_copy(b, len);
    assert_int_equal(ami_iec21_msg_parse(g, len, AMI_IEC21_FROM_METER, AMI_IEC21_LENIENT_ALL, &m),
                     AMI_E_CHECKSUM);
    assert_int_equal(m.bcc_received, 0x11);
    assert_int_equal(m.bcc_computed, 0x12);
    assert_int_equal(m.start + m.len, len);
    tu_guard_free(g, len);
    free(b);
}

static void test_readout_two_sets_on_a_line(void **state)
{
    (void)state;
    size_t len, off = 0;
    uint8_t *b = load("protocol_readout_data_message_bcc.bin", &len);
    uint8_t *g = tu_guard_copy(b, len);
    ami_iec21_msg m;
    next_msg(g, len, &off, AMI_IEC21_FROM_METER, 0, &m);
    assert_int_equal(m.kind, AMI_IEC21_MSG_DATA);
    assert_int_equal(m.bcc_received, 0x22);
    assert_int_equal(m.deviations, 0);
    static const struct want_ds ds[] = {{"3:14", "314", NULL, "kWh"}, {"4:15", "415", NULL, "kWh"}};
    assert_datasets(m.data, m.data_len, 0, ds, 2, true);
    tu_guard_free(g, len);
    free(b);
}

static void test_ace3000_bad_bcc(void **state)
{
    (void)state;
    size_t len, off = 0;
    uint8_t *b = load("mode_c_itron_ace3000_stx_etx_bcc_corrupted_vzlogger.bin", &len);
    ami_iec21_msg m;
    /* strict: the line noise before the echo is refused */
    assert_int_equal(ami_iec21_msg_parse(b, len, AMI_IEC21_FROM_ANY, 0, &m), AMI_E_MALFORMED);
    unsigned lenient = AMI_IEC21_LENIENT_GARBAGE;
    next_msg(b, len, &off, AMI_IEC21_FROM_ANY, lenient, &m);
    assert_int_equal(m.kind, AMI_IEC21_MSG_REQUEST); /* the probe's echo, after 5 x 0x7F */
    assert_int_equal(m.start, 5);
    assert_true(m.deviations & AMI_IEC21_LENIENT_GARBAGE);
    next_msg(b, len, &off, AMI_IEC21_FROM_ANY, lenient, &m);
    assert_int_equal(m.kind, AMI_IEC21_MSG_IDENT);
    assert_string_equal(m.ident.manufacturer, "ACE");
    assert_false(m.ident.fast);
    assert_int_equal(m.ident.baud_char, '0');
    assert_string_equal(m.ident.enhanced, "3");
    assert_false(m.ident.mode_e);
    assert_view(m.ident.text, m.ident.text_len, "k260V01.19");
    int rc = ami_iec21_msg_parse(b + off, len - off, AMI_IEC21_FROM_ANY, lenient, &m);
    assert_int_equal(rc, AMI_E_CHECKSUM);
    assert_int_equal(m.bcc_received, 0x46);
    assert_int_equal(m.bcc_computed, 0x4D);
    free(b);
}

static const struct want_ds zmd120[] = {
    {"F.F", "00000000", NULL, NULL},    {"0.0.0", "20000", " 20000", NULL},
    {"1.8.1", "001846.0", NULL, "kWh"}, {"1.8.2", "000000.0", NULL, "kWh"},
    {"2.8.1", "004329.6", NULL, "kWh"}, {"2.8.2", "000000.0", NULL, "kWh"},
    {"1.8.0", "001846.0", NULL, "kWh"}, {"2.8.0", "004329.6", NULL, "kWh"},
};

static void test_zmd120_bare_readout(void **state)
{
    (void)state;
    size_t len, off = 0;
    uint8_t *b = load("mode_c_landis_gyr_zmd120_readout_vzlogger.txt", &len);
    ami_iec21_msg m;
    unsigned lenient = AMI_IEC21_LENIENT_BARE;
    next_msg(b, len, &off, AMI_IEC21_FROM_ANY, 0, &m);
    assert_int_equal(m.kind, AMI_IEC21_MSG_REQUEST); /* echo of the half-duplex head */
    next_msg(b, len, &off, AMI_IEC21_FROM_ANY, 0, &m);
    assert_int_equal(m.kind, AMI_IEC21_MSG_IDENT);
    assert_string_equal(m.ident.manufacturer, "LGZ");
    assert_int_equal(m.ident.baud_char, '5');
    assert_view(m.ident.text, m.ident.text_len, "2ZMD120APt.G03");
    /* strict: data without STX are refused */
    assert_int_equal(ami_iec21_msg_parse(b + off, len - off, AMI_IEC21_FROM_ANY, 0, &m),
                     AMI_E_MALFORMED);
    next_msg(b, len, &off, AMI_IEC21_FROM_ANY, lenient, &m);
    assert_int_equal(m.kind, AMI_IEC21_MSG_BARE);
    assert_int_equal(m.bcc_status, AMI_IEC21_BCC_ABSENT);
    assert_int_equal(m.deviations, AMI_IEC21_LENIENT_BARE);
    assert_int_equal(off, len); /* the capture ends right after "!" */
    assert_datasets(m.data, m.data_len, lenient, zmd120, AMI_COUNTOF(zmd120), true);
    free(b);
}

static void test_hager_lf_only(void **state)
{
    (void)state;
    size_t len, off = 0;
    uint8_t *b = load("mode_d_hager_ehz_vzlogger.txt", &len);
    ami_iec21_msg m;
    next_msg(b, len, &off, AMI_IEC21_FROM_METER, 0, &m);
    assert_int_equal(m.kind, AMI_IEC21_MSG_IDENT);
    assert_string_equal(m.ident.manufacturer, "HAG");
    assert_false(m.ident.fast);
    assert_view(m.ident.text, m.ident.text_len, "eHZ010C_EHZ1vA02");
    /* bare and "!" LF: both deviations must be named */
    assert_int_equal(
        ami_iec21_msg_parse(b + off, len - off, AMI_IEC21_FROM_METER, AMI_IEC21_LENIENT_BARE, &m),
        AMI_E_MALFORMED);
    unsigned lenient = AMI_IEC21_LENIENT_BARE | AMI_IEC21_LENIENT_LF;
    next_msg(b, len, &off, AMI_IEC21_FROM_METER, lenient, &m);
    assert_int_equal(m.kind, AMI_IEC21_MSG_BARE);
    assert_int_equal(m.deviations, lenient);
    static const struct want_ds ds = {"1-0:1.8.0*255", "000001.2963", NULL, NULL};
    assert_datasets(m.data, m.data_len, lenient, &ds, 1, true);
    assert_int_equal(off, len);
    free(b);
}

/* ---------------------------------------------------------------- data-set rules */

static void test_dataset_rules(void **state)
{
    (void)state;
    /* load-profile groups after one address; an error answer without address */
    const char *d = "P.01(2411220000)(00)(15)\r\n(ERROR:ACCESS)\r\n!\r\n";
    ami_iec21_dsiter it;
    ami_iec21_dataset ds;
    ami_iec21_ds_begin(&it, (const uint8_t *)d, strlen(d), 0);
    assert_int_equal(ami_iec21_ds_next(&it, &ds), 1);
    assert_view(ds.address, ds.address_len, "P.01");
    assert_int_equal(ds.group, 0);
    assert_int_equal(ami_iec21_ds_next(&it, &ds), 1);
    assert_view(ds.address, ds.address_len, "P.01");
    assert_view(ds.value, ds.value_len, "00");
    assert_int_equal(ds.group, 1);
    assert_int_equal(ami_iec21_ds_next(&it, &ds), 1);
    assert_int_equal(ds.group, 2);
    assert_int_equal(ami_iec21_ds_next(&it, &ds), 1);
    assert_int_equal(ds.address_len, 0);
    assert_view(ds.value, ds.value_len, "ERROR:ACCESS");
    assert_int_equal(ami_iec21_ds_next(&it, &ds), 0);
    assert_true(it.bang);

    /* hostile: unterminated set, control character, over-long fields, text after "!" */
    static const char *bad[] = {"1.8.0(12",     "1.8.0(1\x01)", "1.8.0(1)\r",
                                "1.8.0\r\n(1)", "!\r\nX",       "1.8.0(1(2)"};
    for (size_t i = 0; i < AMI_COUNTOF(bad); i++) {
        ami_iec21_ds_begin(&it, (const uint8_t *)bad[i], strlen(bad[i]), 0);
        int rc;
        while ((rc = ami_iec21_ds_next(&it, &ds)) == 1)
            ;
        assert_int_equal(rc, AMI_E_MALFORMED);
        assert_int_equal(ami_iec21_ds_next(&it, &ds), AMI_E_MALFORMED); /* sticky */
    }
    char big[300];
    memset(big, '1', sizeof big);
    memcpy(big, "1.8.0(", 6);
    big[sizeof big - 1] = ')';
    ami_iec21_ds_begin(&it, (const uint8_t *)big, sizeof big, 0);
    assert_int_equal(ami_iec21_ds_next(&it, &ds), AMI_E_TOO_LARGE);
    /* LF alone needs its leniency */
    ami_iec21_ds_begin(&it, (const uint8_t *)"1(2)\n!\n", 7, 0);
    assert_int_equal(ami_iec21_ds_next(&it, &ds), 1);
    assert_int_equal(ami_iec21_ds_next(&it, &ds), AMI_E_MALFORMED);
    ami_iec21_ds_begin(&it, (const uint8_t *)"1(2)\n!\n", 7, AMI_IEC21_LENIENT_LF);
    assert_int_equal(ami_iec21_ds_next(&it, &ds), 1);
    assert_int_equal(ami_iec21_ds_next(&it, &ds), 0);
    assert_true(it.deviations & AMI_IEC21_LENIENT_LF);
}

static void test_value_number(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out; /* out NULL: not a number */
    } t[] = {{"013925.5", "13925.5"},
             {"000000.0", "0.0"},
             {"00000000", "0"},
             {"20000", "20000"},
             {"-0012.50", "-12.50"},
             {"1.", NULL},
             {".5", NULL},
             {"12a", NULL},
             {"", NULL},
             {"1126120053322353", NULL},
             {"123456789012345", "123456789012345"},
             {"2024-01-01", NULL}};
    for (size_t i = 0; i < AMI_COUNTOF(t); i++) {
        char out[64];
        size_t n = ami_iec21_value_number(t[i].in, strlen(t[i].in), out, sizeof out);
        if (t[i].out) {
            assert_int_equal(n, strlen(t[i].out));
            assert_string_equal(out, t[i].out);
        } else {
            assert_int_equal(n, 0);
        }
    }
}

static void test_hostile_messages(void **state)
{
    (void)state;
    ami_iec21_msg m;
    static const char *bad[] = {"/?ab/cd!\r\n",   "/AB\r\n", "/ABC5\r\n",
                                "\x01X1\x03\x00", "/?!\rX",  "/ABC5\\"};
    for (size_t i = 0; i < AMI_COUNTOF(bad); i++) {
        int rc = ami_iec21_msg_parse((const uint8_t *)bad[i], strlen(bad[i]) + (i == 3),
                                     AMI_IEC21_FROM_ANY, 0, &m);
        assert_true(rc == AMI_E_MALFORMED || rc == AMI_E_AGAIN);
        assert_true(rc < 0);
    }
    char longid[100] = "/ABC5";
    memset(longid + 5, 'x', 40);
    memcpy(longid + 45, "\r\n", 3);
    assert_int_equal(ami_iec21_msg_parse((uint8_t *)longid, 47, AMI_IEC21_FROM_METER, 0, &m),
                     AMI_E_TOO_LARGE);
    assert_int_equal(ami_iec21_msg_parse((uint8_t *)longid, 47, AMI_IEC21_FROM_METER,
                                         AMI_IEC21_LENIENT_LONG_IDENT, &m),
                     47);
    assert_true(m.deviations & AMI_IEC21_LENIENT_LONG_IDENT);
    char longaddr[64] = "/?";
    memset(longaddr + 2, '1', 40);
    assert_int_equal(ami_iec21_msg_parse((uint8_t *)longaddr, 42, AMI_IEC21_FROM_CLIENT, 0, &m),
                     AMI_E_TOO_LARGE);
    /* identification line never ending */
    char noend[200];
    memset(noend, 'A', sizeof noend);
    noend[0] = '/';
    assert_int_equal(ami_iec21_msg_parse((uint8_t *)noend, sizeof noend, AMI_IEC21_FROM_METER,
                                         AMI_IEC21_LENIENT_ALL, &m),
                     AMI_E_TOO_LARGE);
}

static void test_p2_example(void **state)
{
    (void)state;
    char out[16];
    /* FNV-1a 32 of "S3CRET:1234567", computed independently */
    assert_int_equal(ami_iec21_p2_example(NULL, "S3CRET", 6, "1234567", 7, out, sizeof out), 8);
    uint32_t h = 0x811C9DC5u;
    for (const char *p = "S3CRET:1234567"; *p; p++)
        h = (h ^ (uint8_t)*p) * 0x01000193u;
    char want[16];
    snprintf(want, sizeof want, "%08X", h);
    assert_string_equal(out, want);
    assert_int_equal(ami_iec21_p2_example(NULL, "a", 1, "b", 1, out, 8), AMI_E_NOSPACE);
}

/* ---------------------------------------------------------------- simulated sessions */

struct side {
    ami_iec21 e;
    uint8_t rx[2048], tx[2048];
    uint32_t baud;
    enum ami_iec21_format fmt;
    uint64_t until;
    bool done;
    int rc;
};

struct cmd {
    char c, t;
    const char *addr, *value;
};

struct sim {
    struct side cl, mt;
    uint64_t now;
    unsigned baud_mismatch;
    /* client script */
    const struct cmd *cmds;
    size_t ncmds, next;
    enum ami_iec21_answer answers[8];
    char answer_text[8][64];
    size_t nanswers;
    bool prog_ready, readout, handover;
    uint32_t handover_baud;
    char readout_data[512];
    /* meter events */
    unsigned tamper, bad_pw, written, executed, signed_off, meter_handover;
    /* line faults: corrupt the n-th byte sent by the meter (0: none) */
    unsigned corrupt_meter_msgs;
    unsigned meter_sends;
    uint32_t bauds_seen[16];
    size_t nbauds;
};

static void on_client_event(struct sim *s, const ami_iec21_action *a)
{
    switch (a->event) {
    case AMI_IEC21_EV_READOUT:
        s->readout = true;
        snprintf(s->readout_data, sizeof s->readout_data, "%.*s", (int)a->msg->data_len,
                 (const char *)a->msg->data);
        break;
    case AMI_IEC21_EV_PROG_READY:
        s->prog_ready = true;
        break;
    case AMI_IEC21_EV_ANSWER:
        if (s->nanswers < 8) {
            s->answers[s->nanswers] = a->answer;
            if (a->msg && a->msg->data)
                snprintf(s->answer_text[s->nanswers], 64, "%.*s", (int)a->msg->data_len,
                         (const char *)a->msg->data);
            s->nanswers++;
        }
        break;
    case AMI_IEC21_EV_HANDOVER:
        s->handover = true;
        s->handover_baud = a->baud;
        break;
    default:
        break;
    }
    if (a->event == AMI_IEC21_EV_PROG_READY || a->event == AMI_IEC21_EV_ANSWER) {
        if (a->answer == AMI_IEC21_ANS_BREAK)
            return;
        if (s->next < s->ncmds) {
            const struct cmd *c = &s->cmds[s->next++];
            assert_int_equal(ami_iec21_command(&s->cl.e, c->c, c->t, c->addr, c->value, s->now),
                             AMI_OK);
        } else {
            ami_iec21_close(&s->cl.e, s->now);
        }
    }
}

static void on_meter_event(struct sim *s, const ami_iec21_action *a)
{
    switch (a->event) {
    case AMI_IEC21_EV_TAMPER:
        s->tamper++;
        break;
    case AMI_IEC21_EV_BAD_PASSWORD:
        s->bad_pw = a->count;
        break;
    case AMI_IEC21_EV_WRITTEN:
        s->written++;
        break;
    case AMI_IEC21_EV_EXECUTED:
        s->executed++;
        break;
    case AMI_IEC21_EV_SIGNED_OFF:
        s->signed_off++;
        break;
    case AMI_IEC21_EV_HANDOVER:
        s->meter_handover++;
        break;
    default:
        break;
    }
}

/* Polls one side until it waits; returns true when it produced output. */
static bool step(struct sim *s, struct side *me, struct side *peer, bool is_client)
{
    bool progress = false;
    for (int guard = 0; guard < 100; guard++) {
        if (me->done)
            return progress;
        ami_iec21_action a;
        int rc = ami_iec21_poll(&me->e, s->now, &a);
        if (rc < 0 || a.kind == AMI_IEC21_ACT_DONE) {
            me->done = true;
            me->rc = rc;
            return true;
        }
        switch (a.kind) {
        case AMI_IEC21_ACT_SEND: {
            progress = true;
            /* the receiver must be at the sender's rate, or the bytes are lost */
            if (me->baud != peer->baud || me->fmt != peer->fmt) {
                s->baud_mismatch++;
                break;
            }
            uint8_t buf[2048];
            memcpy(buf, a.data, a.len);
            if (!is_client && s->corrupt_meter_msgs && a.len > 2 && buf[0] == AMI_IEC21_STX) {
                s->corrupt_meter_msgs--;
                buf[1] ^= 0x01; /* a flipped bit on the line: the BCC no longer matches */
            }
            if (!is_client)
                s->meter_sends++;
            if (!peer->done)
                ami_iec21_input(&peer->e, buf, a.len, s->now);
            break;
        }
        case AMI_IEC21_ACT_BAUD:
            me->baud = a.baud;
            me->fmt = a.format;
            if (is_client && s->nbauds < 16)
                s->bauds_seen[s->nbauds++] = a.baud;
            progress = true;
            break;
        case AMI_IEC21_ACT_EVENT:
            progress = true;
            if (is_client)
                on_client_event(s, &a);
            else
                on_meter_event(s, &a);
            break;
        case AMI_IEC21_ACT_WAIT:
            me->until = a.until;
            return progress;
        default:
            break;
        }
    }
    fail_msg("engine loops without waiting");
    return progress;
}

static void run(struct sim *s)
{
    for (int i = 0; i < 10000 && !s->cl.done; i++) {
        bool p = step(s, &s->cl, &s->mt, true);
        p |= step(s, &s->mt, &s->cl, false);
        if (p)
            continue;
        uint64_t next = s->cl.until < s->mt.until ? s->cl.until : s->mt.until;
        if (next == UINT64_MAX)
            break;
        if (next > s->now)
            s->now = next;
        else
            s->now++;
    }
    assert_true(s->cl.done);
}

static char v_energy[32] = "001234.5", v_time[32] = "120000", v_id[32] = "12345678",
            v_limit[32] = "10.0", v_secret_reg[32] = "42";
static ami_iec21_register regs[] = {
    {"0.0.0", v_id, sizeof v_id, NULL, 1, 0},
    {"1.8.0", v_energy, sizeof v_energy, "kWh", 1, 0},
    {"0.9.1", v_time, sizeof v_time, NULL, 2, 2},
    {"C.1.0", v_limit, sizeof v_limit, "kW", 2, 3},
    {"C.99", v_secret_reg, sizeof v_secret_reg, NULL, 3, 4},
};
static bool button;

static void meter_cfg(ami_iec21_meter_cfg *m, enum ami_iec21_mode mode)
{
    memset(m, 0, sizeof *m);
    m->mode = mode;
    m->manufacturer = "OAM";
    m->ident = "SIM100";
    m->max_baud = 9600;
    m->regs = regs;
    m->nregs = AMI_COUNTOF(regs);
    m->password = "00000000";
    m->secret = "S3CRET";
    m->operand = "1234567";
    m->button = &button;
    m->max_bad_passwords = 3;
    m->lock_ms = 60000;
}

static void sim_init(struct sim *s, const ami_iec21_client_cfg *c, const ami_iec21_meter_cfg *m)
{
    memset(s, 0, sizeof *s);
    s->now = 1000;
    assert_int_equal(
        ami_iec21_client_init(&s->cl.e, c, s->cl.rx, sizeof s->cl.rx, s->cl.tx, sizeof s->cl.tx),
        AMI_OK);
    assert_int_equal(
        ami_iec21_meter_init(&s->mt.e, m, s->mt.rx, sizeof s->mt.rx, s->mt.tx, sizeof s->mt.tx),
        AMI_OK);
    s->cl.baud = s->mt.baud = 300;
    s->cl.until = s->mt.until = UINT64_MAX;
}

/* A new client session against the same meter engine (its lock and counters persist). */
static void sim_reconnect(struct sim *s, const ami_iec21_client_cfg *c)
{
    memset(&s->cl, 0, sizeof s->cl);
    assert_int_equal(
        ami_iec21_client_init(&s->cl.e, c, s->cl.rx, sizeof s->cl.rx, s->cl.tx, sizeof s->cl.tx),
        AMI_OK);
    s->cl.baud = 300;
    s->cl.until = UINT64_MAX;
    s->next = s->nanswers = 0;
    s->prog_ready = s->readout = false;
    s->now += 10;
}

static const char readout_text[] = "0.0.0(12345678)\r\n1.8.0(001234.5*kWh)\r\n!\r\n";

static void readout_in_mode(enum ami_iec21_mode meter_mode, enum ami_iec21_mode client_mode,
                            uint32_t want_baud)
{
    ami_iec21_meter_cfg m;
    meter_cfg(&m, meter_mode);
    ami_iec21_client_cfg c = {.mode = client_mode};
    static struct sim s;
    sim_init(&s, &c, &m);
    assert_int_equal(ami_iec21_start(&s.cl.e, s.now), AMI_OK);
    run(&s);
    assert_int_equal(s.cl.rc, AMI_OK);
    assert_true(s.readout);
    assert_string_equal(s.readout_data, readout_text);
    assert_int_equal(s.baud_mismatch, 0);
    assert_int_equal(s.cl.baud, want_baud);
    assert_int_equal(ami_iec21_deviations(&s.cl.e), 0);
}

static void test_session_mode_a(void **state)
{
    (void)state;
    readout_in_mode(AMI_IEC21_MODE_A, AMI_IEC21_MODE_AUTO, 300);
    readout_in_mode(AMI_IEC21_MODE_A, AMI_IEC21_MODE_A, 300);
}

static void test_session_mode_b(void **state)
{
    (void)state;
    readout_in_mode(AMI_IEC21_MODE_B, AMI_IEC21_MODE_B, 9600);
}

static void test_session_mode_c(void **state)
{
    (void)state;
    readout_in_mode(AMI_IEC21_MODE_C, AMI_IEC21_MODE_C, 9600);
    readout_in_mode(AMI_IEC21_MODE_C, AMI_IEC21_MODE_AUTO, 9600);
    /* --max-baud: the client proposes the highest common rate */
    ami_iec21_meter_cfg m;
    meter_cfg(&m, AMI_IEC21_MODE_C);
    ami_iec21_client_cfg c = {.mode = AMI_IEC21_MODE_C, .max_baud = 2400};
    static struct sim s;
    sim_init(&s, &c, &m);
    ami_iec21_start(&s.cl.e, s.now);
    run(&s);
    assert_int_equal(s.cl.rc, AMI_OK);
    assert_int_equal(s.cl.baud, 2400);
    assert_int_equal(s.baud_mismatch, 0);
    /* the meter is back at 300 Bd for the next sign-on */
    assert_int_equal(s.mt.baud, 300);
    /* a mode B meter asked for mode C: the identification says otherwise */
    meter_cfg(&m, AMI_IEC21_MODE_B);
    sim_init(&s, &c, &m);
    ami_iec21_start(&s.cl.e, s.now);
    run(&s);
    assert_int_equal(s.cl.rc, AMI_E_PROTOCOL);
}

static void test_session_mode_d(void **state)
{
    (void)state;
    ami_iec21_meter_cfg m;
    meter_cfg(&m, AMI_IEC21_MODE_D);
    ami_iec21_client_cfg c = {.mode = AMI_IEC21_MODE_D};
    static struct sim s;
    sim_init(&s, &c, &m);
    s.now = 1000;
    /* the client starts listening in the middle of the meter's period */
    ami_iec21_action a;
    assert_int_equal(ami_iec21_poll(&s.mt.e, s.now, &a), AMI_OK);
    assert_int_equal(a.kind, AMI_IEC21_ACT_BAUD);
    assert_int_equal(a.baud, 2400);
    s.mt.baud = 2400;
    assert_int_equal(ami_iec21_start(&s.cl.e, s.now), AMI_OK);
    run(&s);
    assert_int_equal(s.cl.rc, AMI_OK);
    assert_true(s.readout);
    assert_string_equal(s.readout_data, readout_text);
    assert_int_equal(s.cl.baud, 2400);
    assert_int_equal(s.baud_mismatch, 0);
}

static void test_session_mode_e_handover(void **state)
{
    (void)state;
    ami_iec21_meter_cfg m;
    meter_cfg(&m, AMI_IEC21_MODE_E);
    m.max_baud = 19200;
    ami_iec21_client_cfg c = {.mode = AMI_IEC21_MODE_E};
    static struct sim s;
    sim_init(&s, &c, &m);
    ami_iec21_start(&s.cl.e, s.now);
    run(&s);
    assert_int_equal(s.cl.rc, AMI_OK);
    assert_true(s.handover);
    assert_int_equal(s.handover_baud, 19200);
    assert_int_equal(s.cl.fmt, AMI_IEC21_8N1);
    /* let the meter finish its side */
    step(&s, &s.mt, &s.cl, false);
    assert_int_equal(s.meter_handover, 1);
    assert_int_equal(s.mt.baud, 19200);
    assert_int_equal(s.mt.fmt, AMI_IEC21_8N1);
    assert_int_equal(s.baud_mismatch, 0);
    /* mode E asked of a meter without "\2" */
    meter_cfg(&m, AMI_IEC21_MODE_C);
    sim_init(&s, &c, &m);
    ami_iec21_start(&s.cl.e, s.now);
    run(&s);
    assert_int_equal(s.cl.rc, AMI_E_UNSUPPORTED);
}

static void test_session_password_p1_levels(void **state)
{
    (void)state;
    ami_iec21_meter_cfg m;
    meter_cfg(&m, AMI_IEC21_MODE_C);
    ami_iec21_client_cfg c = {
        .mode = AMI_IEC21_MODE_C, .programming = true, .password = "00000000"};
    static const struct cmd cmds[] = {
        {'R', '1', "0.9.1", NULL},     /* level 2: allowed */
        {'W', '1', "0.9.1", "130000"}, /* write level 2: allowed */
        {'W', '1', "C.1.0", "20.0"},   /* write level 3: refused at level 2 */
        {'R', '1', "C.99", NULL},      /* read level 3: refused */
        {'R', '1', "9.9.9", NULL},     /* unknown address */
        {'E', '2', "0.9.1", "1"},      /* execute: the write level applies */
    };
    static struct sim s;
    sim_init(&s, &c, &m);
    s.cmds = cmds;
    s.ncmds = AMI_COUNTOF(cmds);
    snprintf(v_time, sizeof v_time, "120000");
    ami_iec21_start(&s.cl.e, s.now);
    run(&s);
    assert_int_equal(s.cl.rc, AMI_OK);
    assert_true(s.prog_ready);
    assert_int_equal(s.answers[0], AMI_IEC21_ANS_DATA);
    assert_string_equal(s.answer_text[0], "0.9.1(120000)");
    assert_int_equal(s.answers[1], AMI_IEC21_ANS_ACK);
    assert_string_equal(v_time, "130000");
    assert_int_equal(s.answers[2], AMI_IEC21_ANS_ERROR);
    assert_string_equal(s.answer_text[2], "(ERROR:ACCESS)");
    assert_string_equal(v_limit, "10.0");
    assert_int_equal(s.answers[3], AMI_IEC21_ANS_ERROR);
    assert_int_equal(s.answers[4], AMI_IEC21_ANS_ERROR);
    assert_string_equal(s.answer_text[4], "(ERROR:ADDRESS)");
    assert_int_equal(s.nanswers, 6);
    assert_int_equal(s.answers[5], AMI_IEC21_ANS_ACK);
    assert_int_equal(s.executed, 1);
    /* the client signed off with B0; the meter went back to 300 Bd */
    step(&s, &s.mt, &s.cl, false);
    assert_int_equal(s.signed_off, 1);
    assert_int_equal(s.mt.baud, 300);
    assert_int_equal(s.written, 1);
    assert_int_equal(s.baud_mismatch, 0);
}

static void test_session_p2_and_button(void **state)
{
    (void)state;
    ami_iec21_meter_cfg m;
    meter_cfg(&m, AMI_IEC21_MODE_C);
    ami_iec21_client_cfg c = {.mode = AMI_IEC21_MODE_C, .programming = true, .secret = "S3CRET"};
    static const struct cmd cmds[] = {
        {'W', '2', "C.1.0", "20.0"}, /* level 3: allowed */
        {'W', '1', "C.99", "43"},    /* level 4 needs the button */
    };
    static struct sim s;
    sim_init(&s, &c, &m);
    s.cmds = cmds;
    s.ncmds = 2;
    button = false;
    ami_iec21_start(&s.cl.e, s.now);
    run(&s);
    assert_int_equal(s.cl.rc, AMI_OK);
    assert_int_equal(s.answers[0], AMI_IEC21_ANS_ACK);
    assert_string_equal(v_limit, "20.0");
    assert_int_equal(s.answers[1], AMI_IEC21_ANS_ERROR);
    assert_string_equal(v_secret_reg, "42");
    /* with the sealable button pressed the same session reaches level 4 */
    button = true;
    sim_reconnect(&s, &c);
    step(&s, &s.mt, &s.cl, false);
    ami_iec21_start(&s.cl.e, s.now);
    run(&s);
    assert_int_equal(s.cl.rc, AMI_OK);
    assert_int_equal(s.answers[1], AMI_IEC21_ANS_ACK);
    assert_string_equal(v_secret_reg, "43");
    button = false;
    snprintf(v_limit, sizeof v_limit, "10.0");
    snprintf(v_secret_reg, sizeof v_secret_reg, "42");
    /* a wrong secret gives a wrong P2 result */
    c.secret = "WRONG";
    sim_reconnect(&s, &c);
    step(&s, &s.mt, &s.cl, false);
    ami_iec21_start(&s.cl.e, s.now);
    run(&s);
    assert_int_equal(s.cl.rc, AMI_E_AUTH);
    assert_non_null(strstr(ami_iec21_why(&s.cl.e), "ERROR:PASSWORD"));
}

static void test_session_lockout(void **state)
{
    (void)state;
    ami_iec21_meter_cfg m;
    meter_cfg(&m, AMI_IEC21_MODE_C);
    ami_iec21_client_cfg bad = {
        .mode = AMI_IEC21_MODE_C, .programming = true, .password = "11111111"};
    ami_iec21_client_cfg good = bad;
    good.password = "00000000";
    static struct sim s;
    sim_init(&s, &bad, &m);
    for (int i = 1; i <= 3; i++) {
        if (i > 1) {
            sim_reconnect(&s, &bad);
            step(&s, &s.mt, &s.cl, false);
        }
        ami_iec21_start(&s.cl.e, s.now);
        run(&s);
        assert_int_equal(s.cl.rc, AMI_E_AUTH);
        assert_int_equal(s.bad_pw, (unsigned)i);
    }
    assert_int_equal(s.tamper, 1);
    assert_non_null(strstr(ami_iec21_why(&s.cl.e), "B0"));
    /* locked: even the right password gets no identification */
    sim_reconnect(&s, &good);
    step(&s, &s.mt, &s.cl, false);
    ami_iec21_start(&s.cl.e, s.now);
    run(&s);
    assert_int_equal(s.cl.rc, AMI_E_TIMEOUT);
    /* after the lock period the port answers again */
    s.now += 60000;
    sim_reconnect(&s, &good);
    step(&s, &s.mt, &s.cl, false);
    ami_iec21_start(&s.cl.e, s.now);
    run(&s);
    assert_int_equal(s.cl.rc, AMI_OK);
    assert_true(s.prog_ready);
}

static void test_session_nak_repeat(void **state)
{
    (void)state;
    ami_iec21_meter_cfg m;
    meter_cfg(&m, AMI_IEC21_MODE_C);
    ami_iec21_client_cfg c = {
        .mode = AMI_IEC21_MODE_C, .programming = true, .password = "00000000"};
    static const struct cmd cmds[] = {{'R', '1', "1.8.0", NULL}};
    static struct sim s;
    sim_init(&s, &c, &m);
    s.cmds = cmds;
    s.ncmds = 1;
    s.corrupt_meter_msgs = 2; /* two bad answers, the third one arrives */
    ami_iec21_start(&s.cl.e, s.now);
    run(&s);
    assert_int_equal(s.cl.rc, AMI_OK);
    assert_int_equal(s.answers[0], AMI_IEC21_ANS_DATA);
    assert_string_equal(s.answer_text[0], "1.8.0(001234.5*kWh)");
    /* four bad answers: after 3 NAKs the client gives up naming the BCC */
    sim_init(&s, &c, &m);
    s.cmds = cmds;
    s.ncmds = 1;
    s.corrupt_meter_msgs = 4;
    ami_iec21_start(&s.cl.e, s.now);
    run(&s);
    assert_int_equal(s.cl.rc, AMI_E_CHECKSUM);
    assert_non_null(strstr(ami_iec21_why(&s.cl.e), "bcc"));
    /* a corrupted readout is refused at once (no repeat in readout mode) */
    c.programming = false;
    sim_init(&s, &c, &m);
    s.corrupt_meter_msgs = 1;
    ami_iec21_start(&s.cl.e, s.now);
    run(&s);
    assert_int_equal(s.cl.rc, AMI_E_CHECKSUM);
}

static void test_session_timeouts_and_timing(void **state)
{
    (void)state;
    /* nobody answers: the client times out 1500 ms after its request */
    ami_iec21_client_cfg c = {.mode = AMI_IEC21_MODE_C};
    static uint8_t rx[256], tx[256];
    ami_iec21 e;
    assert_int_equal(ami_iec21_client_init(&e, &c, rx, sizeof rx, tx, sizeof tx), AMI_OK);
    assert_int_equal(ami_iec21_start(&e, 5000), AMI_OK);
    assert_int_equal(ami_iec21_start(&e, 5000), AMI_E_STATE);
    ami_iec21_action a;
    assert_int_equal(ami_iec21_poll(&e, 5000, &a), AMI_OK);
    assert_int_equal(a.kind, AMI_IEC21_ACT_SEND);
    assert_int_equal(a.len, 5);
    assert_int_equal(ami_iec21_poll(&e, 5200, &a), AMI_OK);
    assert_int_equal(a.kind, AMI_IEC21_ACT_WAIT);
    assert_int_equal(a.until, 5200 + 1500);
    assert_int_equal(ami_iec21_poll(&e, 6700, &a), AMI_E_TIMEOUT);
    assert_int_equal(a.kind, AMI_IEC21_ACT_DONE);

    /* reaction time: after the identification of a "fast" meter the ACK waits 20 ms, else 200 */
    static const struct {
        const char *ident;
        uint64_t wait;
    } t[] = {{"/Els5EK280\r\n", 20}, {"/ELS5EK280\r\n", 200}};
    for (size_t i = 0; i < AMI_COUNTOF(t); i++) {
        ami_iec21_client_init(&e, &c, rx, sizeof rx, tx, sizeof tx);
        ami_iec21_start(&e, 0);
        ami_iec21_poll(&e, 0, &a);
        ami_iec21_input(&e, t[i].ident, strlen(t[i].ident), 300);
        assert_int_equal(ami_iec21_poll(&e, 300, &a), AMI_OK);
        assert_int_equal(a.kind, AMI_IEC21_ACT_EVENT);
        assert_int_equal(a.event, AMI_IEC21_EV_IDENT);
        assert_int_equal(ami_iec21_poll(&e, 300, &a), AMI_OK);
        assert_int_equal(a.kind, AMI_IEC21_ACT_WAIT);
        assert_int_equal(a.until, 300 + t[i].wait);
        assert_int_equal(ami_iec21_poll(&e, 300 + t[i].wait, &a), AMI_OK);
        assert_int_equal(a.kind, AMI_IEC21_ACT_SEND);
        assert_memory_equal(a.data,
                            "\x06"
                            "050\r\n",
                            6);
        assert_int_equal(ami_iec21_poll(&e, 300 + t[i].wait, &a), AMI_OK);
        assert_int_equal(a.kind, AMI_IEC21_ACT_BAUD); /* switch after the ACK is sent */
        assert_int_equal(a.baud, 9600);
    }
}

static void test_session_echo_and_leniency(void **state)
{
    (void)state;
    /* a half-duplex probe echoes the request: refused strictly, skipped with LENIENT_ECHO */
    static const char line[] = "/?!\r\n/LGZ52ZMD120APt.G03\r\n";
    for (int lenient = 0; lenient < 2; lenient++) {
        ami_iec21_client_cfg c = {.mode = AMI_IEC21_MODE_AUTO,
                                  .lenient = lenient ? AMI_IEC21_LENIENT_ECHO : 0u};
        static uint8_t rx[256], tx[256];
        ami_iec21 e;
        ami_iec21_action a;
        ami_iec21_client_init(&e, &c, rx, sizeof rx, tx, sizeof tx);
        ami_iec21_start(&e, 0);
        ami_iec21_poll(&e, 0, &a);
        ami_iec21_input(&e, line, strlen(line), 10);
        int rc = ami_iec21_poll(&e, 10, &a);
        if (!lenient) {
            assert_int_equal(rc, AMI_E_PROTOCOL);
            continue;
        }
        assert_int_equal(rc, AMI_OK);
        assert_int_equal(a.event, AMI_IEC21_EV_IDENT);
        assert_int_equal(ami_iec21_deviations(&e), AMI_IEC21_LENIENT_ECHO);
    }
    /* the receive buffer never overflows silently */
    ami_iec21_client_cfg c = {0};
    static uint8_t rx[64], tx[64];
    ami_iec21 e;
    ami_iec21_client_init(&e, &c, rx, sizeof rx, tx, sizeof tx);
    ami_iec21_start(&e, 0);
    uint8_t junk[65] = {'/'};
    assert_int_equal(ami_iec21_input(&e, junk, sizeof junk, 1), AMI_E_TOO_LARGE);
    ami_iec21_action a;
    assert_int_equal(ami_iec21_poll(&e, 1, &a), AMI_E_TOO_LARGE);
    assert_int_equal(ami_iec21_client_init(&e, &c, rx, 10, tx, sizeof tx), AMI_E_INVAL);
}

/* ---------------------------------------------------------------- mode E -> HDLC over a pty */

/* Runs one IEC 62056-21 engine over its port until it waits; true once it is DONE. */
static bool pump_iec21(ami_serial *port, ami_iec21 *e, uint32_t *handover)
{
    for (int guard = 0; guard < 100; guard++) {
        ami_iec21_action a;
        assert_int_equal(ami_iec21_poll(e, ami_now_ms(), &a), AMI_OK);
        switch (a.kind) {
        case AMI_IEC21_ACT_SEND:
            assert_int_equal(ami_serial_write(port, a.data, a.len), AMI_OK);
            break;
        case AMI_IEC21_ACT_BAUD:
            assert_int_equal(
                ami_serial_set(port, a.baud,
                               a.format == AMI_IEC21_8N1 ? AMI_SERIAL_8N1 : AMI_SERIAL_7E1),
                AMI_OK);
            break;
        case AMI_IEC21_ACT_EVENT:
            if (a.event == AMI_IEC21_EV_HANDOVER)
                *handover = a.baud;
            break;
        case AMI_IEC21_ACT_WAIT: {
            uint8_t buf[256];
            int n = ami_serial_read(port, buf, sizeof buf, 5);
            assert_true(n >= 0);
            if (n > 0)
                assert_int_equal(ami_iec21_input(e, buf, (size_t)n, ami_now_ms()), n);
            return false;
        }
        case AMI_IEC21_ACT_DONE:
            return true;
        }
    }
    fail_msg("iec21 engine loops");
    return true;
}

/* Sends what an HDLC engine has to send, then reads and feeds; returns the last event. */
static ami_hdlc_event_type pump_hdlc(ami_serial *port, ami_hdlc_conn *c, uint8_t *apdu,
                                     size_t *apdu_len)
{
    uint8_t out[AMI_HDLC_MAX_FRAME_BYTES], in[512];
    int n;
    uint64_t now = ami_now_ms();
    while ((n = ami_hdlc_conn_output(c, now, out, sizeof out)) > 0)
        assert_int_equal(ami_serial_write(port, out, (size_t)n), AMI_OK);
    assert_true(n == 0);
    ami_hdlc_event_type last = AMI_HDLC_EV_NONE;
    n = ami_serial_read(port, in, sizeof in, 5);
    assert_true(n >= 0);
    size_t off = 0;
    while (off < (size_t)n) {
        size_t used = 0;
        ami_hdlc_event ev;
        assert_int_equal(ami_hdlc_conn_recv(c, in + off, (size_t)n - off, ami_now_ms(), &used, &ev),
                         AMI_OK);
        off += used;
        if (ev.type == AMI_HDLC_EV_APDU && apdu) {
            memcpy(apdu, ev.data, ev.len);
            *apdu_len = ev.len;
        }
        if (ev.type != AMI_HDLC_EV_NONE)
            last = ev.type;
        if (used == 0 && ev.type == AMI_HDLC_EV_NONE)
            break;
    }
    ami_hdlc_event tev;
    ami_hdlc_conn_tick(c, ami_now_ms(), &tev);
    return last;
}

static void test_mode_e_hdlc_over_pty(void **state)
{
    (void)state;
    int master;
    char path[64];
    assert_int_equal(ami_pty_open(&master, path, sizeof path), AMI_OK);
    ami_serial_opts so = {.baud = 300, .format = AMI_SERIAL_7E1};
    ami_serial *cport, *mport;
    assert_int_equal(ami_serial_open(&cport, path, &so), AMI_OK);
    assert_int_equal(ami_serial_from_fd(&mport, master, true, &so), AMI_OK);

    /* IEC 62056-21 mode E: "/?!", "/OAM6\2SIM100", ACK 2 6 2, both switch to 19200 8N1 */
    ami_iec21_meter_cfg m;
    meter_cfg(&m, AMI_IEC21_MODE_E);
    m.max_baud = 19200;
    m.timing.reaction_ms = 20;
    ami_iec21_client_cfg c = {.mode = AMI_IEC21_MODE_E};
    c.timing.reaction_ms = 20;
    static uint8_t crx[512], ctx[512], mrx[512], mtx[2048];
    ami_iec21 ce, me;
    assert_int_equal(ami_iec21_client_init(&ce, &c, crx, sizeof crx, ctx, sizeof ctx), AMI_OK);
    assert_int_equal(ami_iec21_meter_init(&me, &m, mrx, sizeof mrx, mtx, sizeof mtx), AMI_OK);
    assert_int_equal(ami_iec21_start(&ce, ami_now_ms()), AMI_OK);
    uint32_t chand = 0, mhand = 0;
    bool cdone = false, mdone = false;
    for (int i = 0; i < 2000 && !(cdone && mdone); i++) {
        if (!cdone)
            cdone = pump_iec21(cport, &ce, &chand);
        if (!mdone)
            mdone = pump_iec21(mport, &me, &mhand);
    }
    assert_true(cdone && mdone);
    assert_int_equal(chand, 19200);
    assert_int_equal(mhand, 19200);
    assert_int_equal(ami_serial_baud(cport), 19200);
    assert_false(ami_serial_soft_parity(cport)); /* 8N1: HDLC's bytes pass untouched */
    assert_false(ami_serial_soft_parity(mport));

    /* the same port now carries HDLC: SNRM/UA, an APDU each way, DISC/UA */
    static uint8_t hb[4][2048];
    ami_hdlc_conn hc, hs;
    ami_hdlc_conn_config cc = {.role = AMI_HDLC_CLIENT};
    ami_hdlc_client_addr(&cc.client, AMI_HDLC_ADDR_CLIENT_PUBLIC);
    ami_hdlc_server_addr(&cc.server, 1, 17, 2);
    ami_hdlc_params_default(&cc.params);
    ami_hdlc_conn_config sc = cc;
    sc.role = AMI_HDLC_SERVER;
    cc.rx_buf = hb[0], cc.rx_cap = 2048, cc.tx_buf = hb[1], cc.tx_cap = 2048;
    sc.rx_buf = hb[2], sc.rx_cap = 2048, sc.tx_buf = hb[3], sc.tx_cap = 2048;
    assert_int_equal(ami_hdlc_conn_init(&hc, &cc), AMI_OK);
    assert_int_equal(ami_hdlc_conn_init(&hs, &sc), AMI_OK);
    assert_int_equal(ami_hdlc_conn_connect(&hc, ami_now_ms()), AMI_OK);
    for (int i = 0; i < 400 && !(ami_hdlc_conn_state(&hc) == AMI_HDLC_ST_CONNECTED &&
                                 ami_hdlc_conn_state(&hs) == AMI_HDLC_ST_CONNECTED);
         i++) {
        pump_hdlc(cport, &hc, NULL, NULL);
        pump_hdlc(mport, &hs, NULL, NULL);
    }
    assert_int_equal(ami_hdlc_conn_state(&hc), AMI_HDLC_ST_CONNECTED);
    assert_int_equal(ami_hdlc_conn_state(&hs), AMI_HDLC_ST_CONNECTED);

    static const uint8_t req[] = {
        0x60, 0x1D, 0xA1, 0x09, 0x06, 0x07, 0x60, 0x85, 0x74, 0x05, 0x08,
        0x01, 0x01, 0xBE, 0x10, 0x04, 0x0E, 0x01, 0x00, 0x00, 0x00, 0x06,
        0x5F, 0x1F, 0x04, 0x00, 0x00, 0x7E, 0x1F, 0x04, 0xB0}; /* an AARQ, with a 0x7E inside */
    static const uint8_t resp[] = {0x61, 0x03, 0xA2, 0x01, 0x00};
    uint8_t got[256];
    size_t got_len = 0;
    assert_int_equal(ami_hdlc_conn_send_apdu(&hc, req, sizeof req, ami_now_ms()), AMI_OK);
    for (int i = 0; i < 400 && got_len == 0; i++) {
        pump_hdlc(cport, &hc, NULL, NULL);
        pump_hdlc(mport, &hs, got, &got_len);
    }
    assert_int_equal(got_len, sizeof req);
    assert_memory_equal(got, req, sizeof req);
    got_len = 0;
    assert_int_equal(ami_hdlc_conn_send_apdu(&hs, resp, sizeof resp, ami_now_ms()), AMI_OK);
    for (int i = 0; i < 400 && got_len == 0; i++) {
        pump_hdlc(mport, &hs, NULL, NULL);
        pump_hdlc(cport, &hc, got, &got_len);
    }
    assert_int_equal(got_len, sizeof resp);
    assert_memory_equal(got, resp, sizeof resp);
    assert_int_equal(ami_hdlc_conn_disconnect(&hc, ami_now_ms()), AMI_OK);
    for (int i = 0; i < 400 && ami_hdlc_conn_state(&hc) != AMI_HDLC_ST_DISCONNECTED; i++) {
        pump_hdlc(cport, &hc, NULL, NULL);
        pump_hdlc(mport, &hs, NULL, NULL);
    }
    assert_int_equal(ami_hdlc_conn_state(&hc), AMI_HDLC_ST_DISCONNECTED);
    assert_int_equal(ami_hdlc_conn_state(&hs), AMI_HDLC_ST_DISCONNECTED);
    ami_serial_close(cport);
    ami_serial_close(mport);
}

/* Polls a meter engine, jumping over its reaction times, until it waits for input. */
static size_t meter_run(ami_iec21 *e, uint64_t *now, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (int guard = 0; guard < 100; guard++) {
        ami_iec21_action a;
        assert_int_equal(ami_iec21_poll(e, *now, &a), AMI_OK);
        if (a.kind == AMI_IEC21_ACT_SEND) {
            assert_true(n + a.len <= cap);
            memcpy(out + n, a.data, a.len);
            n += a.len;
        } else if (a.kind == AMI_IEC21_ACT_WAIT) {
            if (a.until != UINT64_MAX && a.until - *now <= 1000) {
                *now = a.until; /* a reaction time, not a timeout */
                continue;
            }
            return n;
        }
    }
    fail_msg("meter engine loops");
    return n;
}

static size_t cmd(uint8_t *out, char c, char t, const char *data)
{
    int n = ami_iec21_command_encode(c, t, data, data ? strlen(data) : 0, out, 64);
    assert_true(n > 0);
    return (size_t)n;
}

static void test_meter_nak_repeats_last_message(void **state)
{
    (void)state;
    ami_iec21_meter_cfg m;
    meter_cfg(&m, AMI_IEC21_MODE_C);
    static uint8_t rx[512], tx[1024];
    ami_iec21 e;
    assert_int_equal(ami_iec21_meter_init(&e, &m, rx, sizeof rx, tx, sizeof tx), AMI_OK);
    uint64_t now = 100;
    uint8_t out[256], in[64];
    size_t n;
    assert_int_equal(ami_iec21_level(&e), 0);
    ami_iec21_input(&e, "/?!\r\n", 5, now);
    n = meter_run(&e, &now, out, sizeof out);
    assert_int_equal(n, 13);
    assert_memory_equal(out, "/OAM5SIM100\r\n", 13);
    ami_iec21_input(&e,
                    "\x06"
                    "051\r\n",
                    6, now);
    n = meter_run(&e, &now, out, sizeof out);
    assert_int_equal(n, cmd(in, 'P', '0', "(1234567)"));
    assert_memory_equal(out, in, n);
    assert_int_equal(ami_iec21_level(&e), 1);
    ami_iec21_input(&e, in, cmd(in, 'P', '1', "(00000000)"), now);
    n = meter_run(&e, &now, out, sizeof out);
    assert_int_equal(n, 1);
    assert_int_equal(out[0], AMI_IEC21_ACK);
    assert_int_equal(ami_iec21_level(&e), 2);
    ami_iec21_input(&e, in, cmd(in, 'R', '1', "0.9.1()"), now);
    assert_true(meter_run(&e, &now, out, sizeof out) > 1); /* a data message */
    ami_iec21_input(&e, in, cmd(in, 'W', '1', "0.9.1(140000)"), now);
    n = meter_run(&e, &now, out, sizeof out);
    assert_int_equal(n, 1);
    assert_int_equal(out[0], AMI_IEC21_ACK);
    assert_string_equal(v_time, "140000");
    /* the client did not get the ACK: NAK asks for it again (not for the R1 answer) */
    ami_iec21_input(&e, "\x15", 1, now);
    n = meter_run(&e, &now, out, sizeof out);
    assert_int_equal(n, 1);
    assert_int_equal(out[0], AMI_IEC21_ACK);
    /* a command with a bad BCC is answered NAK */
    size_t k = cmd(in, 'R', '1', "0.9.1()");
    in[k - 1] ^= 0x20;
    ami_iec21_input(&e, in, k, now);
    n = meter_run(&e, &now, out, sizeof out);
    assert_int_equal(n, 1);
    assert_int_equal(out[0], AMI_IEC21_NAK);
    /* the NAK did not overwrite the last message: a NAK from the client still gets the ACK */
    ami_iec21_input(&e, "\x15", 1, now);
    n = meter_run(&e, &now, out, sizeof out);
    assert_int_equal(n, 1);
    assert_int_equal(out[0], AMI_IEC21_ACK);
    in[k - 1] ^= 0x20;
    ami_iec21_input(&e, in, k, now);
    n = meter_run(&e, &now, out, sizeof out);
    uint8_t want[64];
    int wl = ami_iec21_data_encode("0.9.1(140000)", 13, want, sizeof want);
    assert_int_equal(n, (size_t)wl);
    assert_memory_equal(out, want, n);
    ami_iec21_input(&e, "\x15", 1, now);
    assert_int_equal(meter_run(&e, &now, out, sizeof out), (size_t)wl);
    assert_memory_equal(out, want, n);
    /* B0: signed off, back to 300 Bd, no answer */
    ami_iec21_input(&e, in, cmd(in, 'B', '0', NULL), now);
    assert_int_equal(meter_run(&e, &now, out, sizeof out), 0);
    assert_int_equal(ami_iec21_level(&e), 0);
    snprintf(v_time, sizeof v_time, "120000");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request),
        cmocka_unit_test(test_ident_elster_mode_e),
        cmocka_unit_test(test_baud_tables),
        cmocka_unit_test(test_option_select),
        cmocka_unit_test(test_commands),
        cmocka_unit_test(test_answer_bcc),
        cmocka_unit_test(test_readout_two_sets_on_a_line),
        cmocka_unit_test(test_ace3000_bad_bcc),
        cmocka_unit_test(test_zmd120_bare_readout),
        cmocka_unit_test(test_hager_lf_only),
        cmocka_unit_test(test_dataset_rules),
        cmocka_unit_test(test_value_number),
        cmocka_unit_test(test_hostile_messages),
        cmocka_unit_test(test_p2_example),
        cmocka_unit_test(test_session_mode_a),
        cmocka_unit_test(test_session_mode_b),
        cmocka_unit_test(test_session_mode_c),
        cmocka_unit_test(test_session_mode_d),
        cmocka_unit_test(test_session_mode_e_handover),
        cmocka_unit_test(test_session_password_p1_levels),
        cmocka_unit_test(test_session_p2_and_button),
        cmocka_unit_test(test_session_lockout),
        cmocka_unit_test(test_session_nak_repeat),
        cmocka_unit_test(test_session_timeouts_and_timing),
        cmocka_unit_test(test_session_echo_and_leniency),
        cmocka_unit_test(test_mode_e_hdlc_over_pty),
        cmocka_unit_test(test_meter_nak_repeats_last_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
