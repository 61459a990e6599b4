/*
 * CRC-16/X.25 and CRC-16/ARC: catalogue check values, the HDLC FCS vectors of
 * ../shared/testdata/dlms/hdlc_fcs_vectors.txt, real DSMR P1 telegrams, and the generated
 * slicing tables recomputed bit by bit.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "ami/ami.h"
#include "core/crc_tables.h"

static uint16_t bitwise(uint16_t poly, uint16_t crc, const uint8_t *p, size_t n)
{
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ poly) : (uint16_t)(crc >> 1);
    }
    return crc;
}

static void test_check_values(void **state)
{
    (void)state;
    assert_int_equal(ami_crc16_x25("123456789", 9), 0x906E);
    assert_int_equal(ami_crc16_arc("123456789", 9), 0xBB3D);
    assert_int_equal(ami_crc16_x25("", 0), 0x0000);
    assert_int_equal(ami_crc16_arc("", 0), 0x0000);
}

static void test_tables(void **state)
{
    (void)state;
    for (unsigned i = 0; i < 256; i++) {
        uint8_t b[8] = {(uint8_t)i};
        for (int s = 0; s < 8; s++) {
            /* Ts[i] = CRC (init 0, no xor) of byte i followed by s zero bytes. */
            assert_int_equal(ami__crc16_x25_tab[s][i], bitwise(0x8408, 0, b, (size_t)s + 1));
            assert_int_equal(ami__crc16_arc_tab[s][i], bitwise(0xA001, 0, b, (size_t)s + 1));
        }
    }
}

static void test_random_lengths_and_split(void **state)
{
    (void)state;
    uint64_t seed = 42;
    uint8_t buf[300];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)tu_rand(&seed);
    for (size_t n = 0; n <= sizeof buf; n++) {
        uint16_t x = ami_crc16_x25(buf, n);
        assert_int_equal(x, bitwise(0x8408, 0xFFFF, buf, n) ^ 0xFFFF);
        assert_int_equal(ami_crc16_arc(buf, n), bitwise(0xA001, 0, buf, n));
        size_t cut = n / 3;
        uint16_t inc = ami_crc16_x25_update(AMI_CRC16_X25_INIT, buf, cut);
        inc = ami_crc16_x25_update(inc, buf + cut, n - cut);
        assert_int_equal(inc ^ 0xFFFF, x);
    }
}

/* Each line: <bytes between flag and FCS> <FCS as transmitted, low byte first>. */
static void test_hdlc_vectors(void **state)
{
    (void)state;
    size_t len;
    char *text = (char *)tu_read_file(tu_testdata("dlms/hdlc_fcs_vectors.txt"), &len);
    int count = 0;
    char *p = text;
    while (*p) {
        char *eol = strchr(p, '\n');
        if (eol)
            *eol = 0;
        if (*p && *p != '#') {
            char *sp = strrchr(p, ' ');
            assert_non_null(sp);
            *sp = 0;
            size_t n, fn;
            uint8_t *bytes = tu_hex(p, &n);
            uint8_t *fcs = tu_hex(sp + 1, &fn);
            assert_int_equal(fn, 2);
            uint16_t crc = ami_crc16_x25(bytes, n);
            assert_int_equal(crc & 0xFF, fcs[0]);
            assert_int_equal(crc >> 8, fcs[1]);
            /* Receiver's check: CRC over data plus FCS gives the good-FCS residue. */
            uint16_t r = ami_crc16_x25_update(AMI_CRC16_X25_INIT, bytes, n);
            r = ami_crc16_x25_update(r, fcs, 2);
            assert_int_equal(r, 0xF0B8);
            free(bytes);
            free(fcs);
            count++;
        }
        if (!eol)
            break;
        p = eol + 1;
    }
    free(text);
    assert_int_equal(count, 12);
}

/* The CRC of a P1 telegram covers '/' .. '!' and is printed in 4 hex digits after '!'. */
static uint16_t p1_file_crc(const char *rel, unsigned *printed)
{
    size_t len;
    char *t = (char *)tu_read_file(tu_testdata(rel), &len);
    char *start = memchr(t, '/', len);
    assert_non_null(start);
    char *bang = memchr(start, '!', len - (size_t)(start - t));
    assert_non_null(bang);
    uint16_t crc = ami_crc16_arc(start, (size_t)(bang - start) + 1);
    assert_int_equal(sscanf(bang + 1, "%4x", printed), 1);
    free(t);
    return crc;
}

static void test_p1_files(void **state)
{
    (void)state;
    static const char *good[] = {
        "p1/dsmr50_iskra_am550_real_nb.txt",           "p1/dsmr42_kaifa_real_nb.txt",
        "p1/belgium_fluvius_emucs171_dsmr_parser.txt", "p1/dsmr50_sagemcom_xs210_real_nb.txt",
        "p1/luxembourg_smarty_dsmr_reader.txt",
    };
    unsigned printed;
    for (size_t i = 0; i < AMI_COUNTOF(good); i++) {
        uint16_t crc = p1_file_crc(good[i], &printed);
        assert_int_equal(crc, printed);
    }
    uint16_t crc = p1_file_crc("p1/invalid_crc_kaifa_dsmr_reader.txt", &printed);
    assert_int_equal(printed, 0xABCD);
    assert_int_equal(crc, 0x4BC6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_values),
        cmocka_unit_test(test_tables),
        cmocka_unit_test(test_random_lengths_and_split),
        cmocka_unit_test(test_hdlc_vectors),
        cmocka_unit_test(test_p1_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
