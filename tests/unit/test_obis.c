/*
 * OBIS codes: the parse vectors of tests/vectors/obis.txt, every style formatted and parsed
 * back for seeded random codes, white space and separators rejected, inputs placed against a
 * guard page (no NUL, no over-read), short output buffers.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "ami/ami.h"

/* Parses s (length n) from a copy that ends at a guard page, so any read past n faults. */
static int guarded_parse(const char *s, size_t n, ami_obis *o)
{
    uint8_t *g = tu_guard_copy(s, n);
    int rc = ami_obis_parse((const char *)g, n, o);
    tu_guard_free(g, n);
    return rc;
}

static void test_vectors(void **state)
{
    (void)state;
    size_t len;
    char *text = (char *)tu_read_file(tu_testsdir("vectors/obis.txt"), &len);
    int count = 0, errors = 0;
    char *p = text;
    while (*p) {
        char *eol = strchr(p, '\n');
        if (eol)
            *eol = 0;
        if (*p && *p != '#') {
            char in[64], want[64];
            assert_int_equal(sscanf(p, "%63s %63s", in, want), 2);
            const char *s = strcmp(in, "<empty>") == 0 ? "" : in;
            ami_obis o = AMI_OBIS(7, 7, 7, 7, 7, 7);
            int rc = guarded_parse(s, strlen(s), &o);
            if (strncmp(want, "ERROR:", 6) == 0) {
                if (rc >= 0 || strcmp(ami_errname(rc), want + 6) != 0)
                    fail_msg("%s: got %s, want %s", in, ami_errname(rc), want);
                /* out is untouched on error */
                assert_true(ami_obis_equal(&o, &AMI_OBIS(7, 7, 7, 7, 7, 7)));
                errors++;
            } else {
                if (rc != AMI_OK)
                    fail_msg("%s: %s", in, ami_errname(rc));
                char buf[AMI_OBIS_STRLEN];
                assert_int_equal(ami_obis_format(&o, AMI_OBIS_STYLE_DOTS, buf, sizeof buf),
                                 (int)strlen(want));
                assert_string_equal(buf, want);
            }
            count++;
        }
        if (!eol)
            break;
        p = eol + 1;
    }
    free(text);
    assert_true(count >= 50);
    assert_true(errors >= 25);
}

static void test_format_styles(void **state)
{
    (void)state;
    char buf[AMI_OBIS_STRLEN];
    ami_obis o = AMI_OBIS(1, 0, 1, 8, 0, 255);
    assert_int_equal(ami_obis_format(&o, AMI_OBIS_STYLE_DOTS, buf, sizeof buf), 13);
    assert_string_equal(buf, "1-0:1.8.0.255");
    assert_int_equal(ami_obis_format(&o, AMI_OBIS_STYLE_STAR, buf, sizeof buf), 13);
    assert_string_equal(buf, "1-0:1.8.0*255");
    assert_int_equal(ami_obis_format(&o, AMI_OBIS_STYLE_SHORT, buf, sizeof buf), 9);
    assert_string_equal(buf, "1-0:1.8.0");
    assert_int_equal(ami_obis_format(&o, AMI_OBIS_STYLE_HEX, buf, sizeof buf), 12);
    assert_string_equal(buf, "0100010800FF");

    o = AMI_OBIS(0, 0, 96, 1, 0, 101);
    assert_int_equal(ami_obis_format(&o, AMI_OBIS_STYLE_SHORT, buf, sizeof buf), 14);
    assert_string_equal(buf, "0-0:96.1.0.101");
    assert_int_equal(ami_obis_format(&o, AMI_OBIS_STYLE_HEX, buf, sizeof buf), 12);
    assert_string_equal(buf, "000060010065");

    /* The longest code fills AMI_OBIS_STRLEN exactly. */
    o = AMI_OBIS(255, 255, 255, 255, 255, 255);
    assert_int_equal(ami_obis_format(&o, AMI_OBIS_STYLE_DOTS, buf, sizeof buf),
                     AMI_OBIS_STRLEN - 1);
    assert_string_equal(buf, "255-255:255.255.255.255");
    assert_int_equal(ami_obis_format(&o, AMI_OBIS_STYLE_DOTS, buf, AMI_OBIS_STRLEN - 1),
                     AMI_E_NOSPACE);
    assert_int_equal(ami_obis_format(&o, AMI_OBIS_STYLE_HEX, buf, 12), AMI_E_NOSPACE);
    assert_int_equal(ami_obis_format(&o, AMI_OBIS_STYLE_HEX, buf, 13), 12);
    assert_int_equal(ami_obis_format(&o, AMI_OBIS_STYLE_DOTS, buf, 0), AMI_E_NOSPACE);
    assert_int_equal(ami_obis_format(&o, (enum ami_obis_style)9, buf, sizeof buf), AMI_E_INVAL);
    assert_int_equal(ami_obis_format(NULL, AMI_OBIS_STYLE_DOTS, buf, sizeof buf), AMI_E_INVAL);
    assert_int_equal(ami_obis_format(&o, AMI_OBIS_STYLE_DOTS, NULL, 0), AMI_E_INVAL);
}

static void test_length_not_nul(void **state)
{
    (void)state;
    ami_obis o;
    /* n bounds the text: the rest of the string is not looked at. */
    assert_int_equal(ami_obis_parse("1-0:1.8.0.255xyz", 13, &o), AMI_OK);
    assert_true(ami_obis_equal(&o, &AMI_OBIS(1, 0, 1, 8, 0, 255)));
    assert_int_equal(ami_obis_parse("1-0:1.8.0.255", 9, &o), AMI_OK);
    assert_true(ami_obis_equal(&o, &AMI_OBIS(1, 0, 1, 8, 0, 255)));
    assert_int_equal(ami_obis_parse("1-0:1.8.0.255", 10, &o), AMI_E_SYNTAX);
    /* Strict: no white space anywhere, no embedded NUL. */
    assert_int_equal(ami_obis_parse(" 1-0:1.8.0.255", 14, &o), AMI_E_SYNTAX);
    assert_int_equal(ami_obis_parse("1-0:1.8.0.255 ", 14, &o), AMI_E_SYNTAX);
    assert_int_equal(ami_obis_parse("1-0: 1.8.0.255", 14, &o), AMI_E_SYNTAX);
    assert_int_equal(ami_obis_parse("1-0:1.8.0\0.255", 14, &o), AMI_E_SYNTAX);
    assert_int_equal(ami_obis_parse("0100010800FF\n", 13, &o), AMI_E_SYNTAX);
    assert_int_equal(ami_obis_parse(NULL, 0, &o), AMI_E_INVAL);
    assert_int_equal(ami_obis_parse("1-0:1.8.0", 9, NULL), AMI_E_INVAL);
}

/* Every prefix of every accepted form, against a guard page: no over-read, no crash. */
static void test_guard_prefixes(void **state)
{
    (void)state;
    static const char *forms[] = {"1-0:1.8.0.255", "1-0:1.8.0*255", "1-0:1.8.0&01",
                                  "1.0.1.8.0.255", "0100010800FF",  "255-255:255.255.255.255"};
    for (size_t i = 0; i < AMI_COUNTOF(forms); i++) {
        size_t n = strlen(forms[i]);
        for (size_t k = 0; k <= n; k++) {
            ami_obis o;
            int rc = guarded_parse(forms[i], k, &o);
            assert_true(rc == AMI_OK || rc == AMI_E_SYNTAX || rc == AMI_E_RANGE);
        }
        ami_obis o;
        assert_int_equal(guarded_parse(forms[i], n, &o), AMI_OK);
    }
}

/* Seeded random codes: format in each style, parse back, same code. */
static void test_random_round_trip(void **state)
{
    (void)state;
    uint64_t seed = 0x0B15C0DEu;
    for (int i = 0; i < 20000; i++) {
        ami_obis o;
        uint64_t r = tu_rand(&seed);
        for (int k = 0; k < 6; k++)
            o.v[k] = (uint8_t)(r >> (8 * k));
        if (i % 4 == 0)
            o.v[5] = 255;
        for (int style = AMI_OBIS_STYLE_DOTS; style <= AMI_OBIS_STYLE_HEX; style++) {
            char buf[AMI_OBIS_STRLEN];
            int n = ami_obis_format(&o, (enum ami_obis_style)style, buf, sizeof buf);
            assert_true(n > 0 && n < AMI_OBIS_STRLEN);
            assert_int_equal((size_t)n, strlen(buf));
            ami_obis back;
            int rc;
            /* the first codes against a guard page (a syscall each), the rest in memory */
            rc = i < 1000 ? guarded_parse(buf, (size_t)n, &back)
                          : ami_obis_parse(buf, (size_t)n, &back);
            assert_int_equal(rc, AMI_OK);
            assert_true(ami_obis_equal(&o, &back));
        }
    }
}

/* Every value of every group, in both the dotted and the six-dot decimal form. */
static void test_every_group_value(void **state)
{
    (void)state;
    for (int g = 0; g < 6; g++) {
        for (unsigned v = 0; v < 1000; v++) {
            unsigned val[6] = {1, 0, 1, 8, 0, 255};
            val[g] = v;
            char a[40], b[40];
            snprintf(a, sizeof a, "%u-%u:%u.%u.%u.%u", val[0], val[1], val[2], val[3], val[4],
                     val[5]);
            snprintf(b, sizeof b, "%u.%u.%u.%u.%u.%u", val[0], val[1], val[2], val[3], val[4],
                     val[5]);
            ami_obis oa, ob;
            int ra = ami_obis_parse(a, strlen(a), &oa);
            int rb = ami_obis_parse(b, strlen(b), &ob);
            if (v > 255) {
                assert_int_equal(ra, AMI_E_RANGE);
                assert_int_equal(rb, AMI_E_RANGE);
            } else {
                assert_int_equal(ra, AMI_OK);
                assert_int_equal(rb, AMI_OK);
                assert_int_equal(oa.v[g], v);
                assert_true(ami_obis_equal(&oa, &ob));
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),           cmocka_unit_test(test_format_styles),
        cmocka_unit_test(test_length_not_nul),    cmocka_unit_test(test_guard_prefixes),
        cmocka_unit_test(test_random_round_trip), cmocka_unit_test(test_every_group_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
