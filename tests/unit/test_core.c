/*
 * Core: error table, byte cursor, hex, constant-time compare, JSON writer.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "ami/ami.h"

static void test_errors(void **state)
{
    (void)state;
    assert_string_equal(ami_strerror(0), "success");
    assert_string_equal(ami_strerror(AMI_E_TRUNCATED), "input truncated");
    assert_string_equal(ami_errname(AMI_E_CHECKSUM), "CHECKSUM");
    assert_string_equal(ami_strerror(12345), "unknown error");
    assert_string_equal(ami_errname(-9999), "UNKNOWN");
    /* Every code in the table has a distinct message and name. */
    for (int a = -1; a >= AMI_E_INTERNAL; a--) {
        assert_string_not_equal(ami_errname(a), "UNKNOWN");
        for (int b = a - 1; b >= AMI_E_INTERNAL; b--)
            assert_string_not_equal(ami_strerror(a), ami_strerror(b));
    }
}

static void test_reader(void **state)
{
    (void)state;
    static const uint8_t data[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    uint8_t *g = tu_guard_copy(data, sizeof data);
    ami_rd r;
    ami_rd_init(&r, g, sizeof data);
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    assert_int_equal(ami_rd_u8(&r, &u8), 0);
    assert_int_equal(u8, 1);
    assert_int_equal(ami_rd_u16be(&r, &u16), 0);
    assert_int_equal(u16, 0x0203);
    assert_int_equal(ami_rd_u32be(&r, &u32), 0);
    assert_int_equal(u32, 0x04050607);
    assert_int_equal(ami_rd_u64be(&r, &u64), 0);
    assert_true(u64 == 0x08090A0B0C0D0E0Full);
    assert_int_equal(ami_rd_left(&r), 0);
    /* Reads past the end fail and do not move the cursor; the guard page proves no over-read. */
    assert_int_equal(ami_rd_u8(&r, &u8), AMI_E_TRUNCATED);
    assert_int_equal(ami_rd_u16be(&r, &u16), AMI_E_TRUNCATED);
    assert_int_equal(r.pos, sizeof data);
    ami_rd_init(&r, g, sizeof data);
    const uint8_t *view;
    ami_rd sub = {0};
    assert_int_equal(ami_rd_sub(&r, 4, &sub), 0);
    assert_int_equal(ami_rd_view(&sub, 5, &view), AMI_E_TRUNCATED);
    assert_int_equal(ami_rd_view(&sub, 4, &view), 0);
    assert_ptr_equal(view, g);
    assert_int_equal(ami_rd_skip(&r, 100), AMI_E_TRUNCATED);
    assert_int_equal(ami_rd_skip(&r, 11), 0);
    tu_guard_free(g, sizeof data);
}

static void test_writer(void **state)
{
    (void)state;
    uint8_t buf[7];
    ami_wr w;
    ami_wr_init(&w, buf, sizeof buf);
    ami_wr_u8(&w, 0xAA);
    ami_wr_u16be(&w, 0x0102);
    ami_wr_u32be(&w, 0x03040506);
    assert_int_equal(ami_wr_error(&w), 0);
    assert_int_equal(w.len, 7);
    assert_memory_equal(buf, "\xAA\x01\x02\x03\x04\x05\x06", 7);
    ami_wr_u8(&w, 1); /* does not fit: sticky error, nothing written */
    assert_int_equal(ami_wr_error(&w), AMI_E_NOSPACE);
    ami_wr_init(&w, NULL, 0); /* measuring writer */
    ami_wr_u64be(&w, 1);
    ami_wr_bytes(&w, "abc", 3);
    assert_int_equal(ami_wr_error(&w), 0);
    assert_int_equal(w.len, 11);
}

static void test_hex(void **state)
{
    (void)state;
    uint8_t out[8];
    assert_int_equal(ami_hex_decode("7E a0 0A", 8, out, sizeof out), 3);
    assert_memory_equal(out, "\x7E\xA0\x0A", 3);
    assert_int_equal(ami_hex_decode("7E0", 3, out, sizeof out), AMI_E_SYNTAX);
    assert_int_equal(ami_hex_decode("7G", 2, out, sizeof out), AMI_E_SYNTAX);
    assert_int_equal(ami_hex_decode("000102", 6, out, 2), AMI_E_NOSPACE);
    char s[7];
    assert_int_equal(ami_hex_encode("\x01\xAB\xFF", 3, s, sizeof s), 0);
    assert_string_equal(s, "01ABFF");
    assert_int_equal(ami_hex_encode("\x01\xAB\xFF", 3, s, 6), AMI_E_NOSPACE);
}

static void test_ct_equal_and_wipe(void **state)
{
    (void)state;
    assert_true(ami_ct_equal("abcdef", "abcdef", 6));
    assert_false(ami_ct_equal("abcdef", "abcdeg", 6));
    assert_true(ami_ct_equal("x", "y", 0));
    uint8_t key[16];
    memset(key, 0x5A, sizeof key);
    ami_wipe(key, sizeof key);
    for (size_t i = 0; i < sizeof key; i++)
        assert_int_equal(key[i], 0);
}

struct membuf {
    char buf[512];
    size_t len;
};

static int mem_sink(void *user, const char *s, size_t n)
{
    struct membuf *m = user;
    if (m->len + n >= sizeof m->buf)
        return AMI_E_NOSPACE;
    memcpy(m->buf + m->len, s, n);
    m->len += n;
    m->buf[m->len] = 0;
    return 0;
}

static void test_json(void **state)
{
    (void)state;
    struct membuf m = {.len = 0};
    ami_jw w;
    ami_jw_init(&w, mem_sink, &m);
    ami_jw_obj_begin(&w);
    ami_jw_key(&w, "s");
    ami_jw_str(&w, "a\"b\\c\n\x01\xC3\xA9");
    ami_jw_key(&w, "bad");
    ami_jw_strn(&w, "\xFF\xC3", 2);
    ami_jw_key(&w, "n");
    ami_jw_arr_begin(&w);
    ami_jw_int(&w, -5);
    ami_jw_uint(&w, 18446744073709551615u);
    ami_jw_double(&w, 0.1);
    ami_jw_double(&w, 1.0 / 0.0);
    ami_jw_bool(&w, true);
    ami_jw_null(&w);
    ami_jw_number_text(&w, "123.456", 7);
    ami_jw_hex(&w, "\x7E\x01", 2);
    ami_jw_arr_end(&w);
    ami_jw_key(&w, "o");
    ami_jw_obj_begin(&w);
    ami_jw_obj_end(&w);
    ami_jw_obj_end(&w);
    assert_int_equal(ami_jw_error(&w), 0);
    assert_string_equal(m.buf,
                        "{\"s\":\"a\\\"b\\\\c\\n\\u0001\xC3\xA9\",\"bad\":\"\\u00FF\\u00C3\","
                        "\"n\":[-5,18446744073709551615,0.1,null,true,null,123.456,"
                        "\"7E01\"],\"o\":{}}");
    /* Misuse is a sticky error, not a crash. */
    ami_jw_init(&w, mem_sink, &m);
    ami_jw_obj_end(&w);
    assert_int_equal(ami_jw_error(&w), AMI_E_STATE);
    ami_jw_init(&w, mem_sink, &m);
    for (int i = 0; i < AMI_JW_MAX_DEPTH + 1; i++)
        ami_jw_arr_begin(&w);
    assert_int_equal(ami_jw_error(&w), AMI_E_TOO_DEEP);
    /* Output that would not be JSON is refused: a value without its key inside an object, a key
     * inside an array, a close that does not match its open. */
    ami_jw_init(&w, mem_sink, &m);
    ami_jw_obj_begin(&w);
    ami_jw_int(&w, 1);
    assert_int_equal(ami_jw_error(&w), AMI_E_STATE);
    ami_jw_init(&w, mem_sink, &m);
    ami_jw_arr_begin(&w);
    ami_jw_key(&w, "k");
    assert_int_equal(ami_jw_error(&w), AMI_E_STATE);
    ami_jw_init(&w, mem_sink, &m);
    ami_jw_arr_begin(&w);
    ami_jw_obj_end(&w);
    assert_int_equal(ami_jw_error(&w), AMI_E_STATE);
    /* Number text is checked against the JSON grammar: text from a meter cannot inject. */
    static const char *const good[] = {"0", "-0", "12", "-1.5", "1e9", "2.5E-3", "0.001"};
    static const char *const bad[] = {"", "-", "01", "1.", ".5", "1e", "+1", "1,\"x\":2", "NaN"};
    for (size_t i = 0; i < AMI_COUNTOF(good); i++) {
        m.len = 0;
        ami_jw_init(&w, mem_sink, &m);
        ami_jw_number_text(&w, good[i], strlen(good[i]));
        assert_int_equal(ami_jw_error(&w), 0);
        assert_string_equal(m.buf, good[i]);
    }
    for (size_t i = 0; i < AMI_COUNTOF(bad); i++) {
        m.len = 0;
        m.buf[0] = 0;
        ami_jw_init(&w, mem_sink, &m);
        ami_jw_number_text(&w, bad[i], strlen(bad[i]));
        assert_int_equal(ami_jw_error(&w), AMI_E_SYNTAX);
        assert_int_equal(m.len, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_reader),
        cmocka_unit_test(test_writer),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_ct_equal_and_wipe),
        cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
