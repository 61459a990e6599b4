/*
 * COSEM date-time: the vectors of tests/vectors/datetime.txt (real captures from
 * ../shared/testdata/dlms and Blue Book examples, with expected readable text, ISO 8601 and Unix
 * time), date and time decoding, the civil calendar against a day-by-day count over the years
 * 0..65534, seeded random round trips, guard-page decoding and independence from TZ.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"
#include "ami/ami.h"

static unsigned parse_flags(const char *s)
{
    unsigned f = 0;
    if (strstr(s, "utc"))
        f |= AMI_DT_ASSUME_UTC;
    if (strstr(s, "inv"))
        f |= AMI_DT_DEVIATION_INVERTED;
    return f;
}

/* Splits "a | b | c" in place into at most max trimmed fields; returns the count. */
static int split(char *line, char **f, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        char *bar = strchr(p, '|');
        if (bar)
            *bar = 0;
        while (*p == ' ')
            p++;
        char *e = p + strlen(p);
        while (e > p && e[-1] == ' ')
            *--e = 0;
        f[n++] = p;
        if (!bar)
            break;
        p = bar + 1;
    }
    return n;
}

static void expect_rc(int rc, const char *want, const char *what)
{
    if (strncmp(want, "ERROR:", 6) != 0)
        fail_msg("%s: expected a value, got %s", what, ami_errname(rc));
    if (rc >= 0 || strcmp(ami_errname(rc), want + 6) != 0)
        fail_msg("%s: got %s, want %s", what, ami_errname(rc), want);
}

/* Decodes from a copy ending at a guard page, so a read past n bytes faults. */
static int guarded_decode(const uint8_t *b, size_t n, ami_datetime *dt)
{
    uint8_t *g = tu_guard_copy(b, n);
    int rc = n == 12  ? ami_datetime_decode(g, dt)
             : n == 5 ? ami_date_decode(g, dt)
                      : ami_time_decode(g, dt);
    tu_guard_free(g, n);
    return rc;
}

static bool dt_equal(const ami_datetime *a, const ami_datetime *b)
{
    return a->year == b->year && a->month == b->month && a->day == b->day &&
           a->weekday == b->weekday && a->hour == b->hour && a->minute == b->minute &&
           a->second == b->second && a->hundredths == b->hundredths &&
           a->deviation == b->deviation && a->status == b->status;
}

static void check_decode_line(char **f)
{
    unsigned flags = parse_flags(f[0]);
    size_t n;
    uint8_t *b = tu_hex(f[1], &n);
    assert_int_equal(n, 12);
    ami_datetime dt;
    ami_datetime_unspecified(&dt);
    dt.year = 1234;
    ami_datetime before = dt;
    int rc = guarded_decode(b, 12, &dt);
    if (strncmp(f[2], "ERROR:", 6) == 0) {
        expect_rc(rc, f[2], f[1]);
        assert_true(dt_equal(&dt, &before)); /* untouched */
        free(b);
        return;
    }
    if (rc != AMI_OK)
        fail_msg("%s: decode %s", f[1], ami_errname(rc));

    uint8_t enc[12];
    ami_datetime_encode(&dt, enc);
    assert_memory_equal(enc, b, 12);

    char text[AMI_DATETIME_STRLEN];
    rc = ami_datetime_format(&dt, text, sizeof text);
    assert_int_equal(rc, (int)strlen(text));
    if (strcmp(text, f[2]) != 0)
        fail_msg("%s: readable \"%s\", want \"%s\"", f[1], text, f[2]);

    char iso[AMI_DATETIME_STRLEN];
    rc = ami_datetime_format_iso(&dt, flags, iso, sizeof iso);
    if (rc < 0) {
        expect_rc(rc, f[3], f[1]);
    } else {
        assert_int_equal(rc, (int)strlen(iso));
        if (strcmp(iso, f[3]) != 0)
            fail_msg("%s: iso \"%s\", want \"%s\"", f[1], iso, f[3]);
        /* ISO text parses back to the same instant and fields. */
        ami_datetime back;
        assert_int_equal(ami_datetime_parse_iso(iso, strlen(iso), flags, &back), AMI_OK);
        assert_int_equal(back.year, dt.year);
        assert_int_equal(back.second, dt.second);
        assert_int_equal(back.hundredths, dt.hundredths == 0xFF ? 0 : dt.hundredths);
        if (dt.deviation != AMI_DT_DEVIATION_UNSPEC)
            assert_int_equal(back.deviation, dt.deviation);
    }

    int64_t u = 0;
    rc = ami_datetime_to_unix(&dt, flags, &u);
    if (rc < 0) {
        expect_rc(rc, f[4], f[1]);
    } else {
        if (strncmp(f[4], "ERROR:", 6) == 0)
            fail_msg("%s: unix %lld, want %s", f[1], (long long)u, f[4]);
        assert_int_equal(u, strtoll(f[4], NULL, 10));
        /* And back: same fields, hundredths 0, weekday computed. */
        ami_datetime back;
        assert_int_equal(ami_datetime_from_unix(u, dt.deviation, dt.status, flags, &back), AMI_OK);
        ami_datetime want = dt;
        want.hundredths = 0;
        back.weekday = dt.weekday == 0xFF ? 0xFF : back.weekday;
        assert_true(dt_equal(&back, &want));
    }
    free(b);
}

static void check_parse_line(char **f)
{
    unsigned flags = parse_flags(f[0]);
    size_t n = strlen(f[1]);
    uint8_t *g = tu_guard_copy(f[1], n);
    ami_datetime dt;
    ami_datetime_unspecified(&dt);
    int rc = ami_datetime_parse_iso((const char *)g, n, flags, &dt);
    tu_guard_free(g, n);
    if (strncmp(f[2], "ERROR:", 6) == 0) {
        expect_rc(rc, f[2], f[1]);
        assert_int_equal(dt.year, AMI_DT_YEAR_UNSPEC); /* untouched */
        return;
    }
    if (rc != AMI_OK)
        fail_msg("%s: parse %s", f[1], ami_errname(rc));
    size_t bn;
    uint8_t *want = tu_hex(f[2], &bn);
    assert_int_equal(bn, 12);
    uint8_t enc[12];
    ami_datetime_encode(&dt, enc);
    if (memcmp(enc, want, 12) != 0) {
        char got[25];
        ami_hex_encode(enc, 12, got, sizeof got);
        fail_msg("%s: encoded %s, want %s", f[1], got, f[2]);
    }
    /* What the parser gives always decodes (weekday computed, fields in range). */
    ami_datetime back;
    assert_int_equal(ami_datetime_decode(enc, &back), AMI_OK);
    free(want);
}

static void test_vectors(void **state)
{
    (void)state;
    size_t len;
    char *text = (char *)tu_read_file(tu_testsdir("vectors/datetime.txt"), &len);
    int section = 0, decoded = 0, parsed = 0;
    char *p = text;
    while (*p) {
        char *eol = strchr(p, '\n');
        if (eol)
            *eol = 0;
        if (strcmp(p, "[decode]") == 0) {
            section = 1;
        } else if (strcmp(p, "[parse]") == 0) {
            section = 2;
        } else if (*p && *p != '#') {
            char *f[6];
            if (section == 1) {
                assert_int_equal(split(p, f, 6), 6);
                check_decode_line(f);
                decoded++;
            } else {
                assert_int_equal(section, 2);
                assert_int_equal(split(p, f, 3), 3);
                check_parse_line(f);
                parsed++;
            }
        }
        if (!eol)
            break;
        p = eol + 1;
    }
    free(text);
    assert_true(decoded >= 50);
    assert_true(parsed >= 50);
}

/* The date-times embedded in the real captures all decode (except Gurux's day-0 "empty" date). */
static void test_captures(void **state)
{
    (void)state;
    static const char *files[] = {
        "dlms/hdlc_fcs_vectors.txt",
        "dlms/hdlc_frames.txt",
        "dlms/xdlms_apdus_plain.txt",
        "dlms/session_gurux_hdlc_ln_noauth_get_clock.txt",
        "dlms/session_gurux_wrapper_ln_read_all_incl_selective_access.txt",
    };
    int found = 0;
    for (size_t i = 0; i < AMI_COUNTOF(files); i++) {
        size_t len;
        char *t = (char *)tu_read_file(tu_testdata(files[i]), &len);
        /* octet-string (0x09) of length 12 followed by a plausible year 07xx */
        for (char *q = t; (q = strstr(q, "090C07")) != NULL; q += 6) {
            char hex[25];
            size_t k = 0;
            for (const char *r = q + 4; *r && k < 24; r++)
                if (*r != ' ')
                    hex[k++] = *r;
            if (k < 24)
                continue;
            hex[24] = 0;
            size_t n;
            uint8_t *b = tu_hex(hex, &n);
            ami_datetime dt;
            int rc = ami_datetime_decode(b, &dt);
            if (rc == AMI_E_RANGE && strcmp(hex, "076C01000700000000000000") == 0) {
                free(b);
                continue;
            }
            if (rc != AMI_OK)
                fail_msg("%s: %s: %s", files[i], hex, ami_errname(rc));
            uint8_t enc[12];
            ami_datetime_encode(&dt, enc);
            assert_memory_equal(enc, b, 12);
            found++;
            free(b);
        }
        free(t);
    }
    assert_true(found >= 10);
}

static void test_date_and_time(void **state)
{
    (void)state;
    ami_datetime dt;
    const uint8_t date[5] = {0x07, 0xE8, 0x02, 0x1D, 0x04}; /* 2024-02-29 Thursday */
    assert_int_equal(guarded_decode(date, 5, &dt), AMI_OK);
    assert_int_equal(dt.year, 2024);
    assert_int_equal(dt.month, 2);
    assert_int_equal(dt.day, 29);
    assert_int_equal(dt.weekday, 4);
    assert_int_equal(dt.hour, 0xFF);
    assert_int_equal(dt.hundredths, 0xFF);
    assert_int_equal(dt.deviation, AMI_DT_DEVIATION_UNSPEC);
    assert_int_equal(dt.status, 0xFF);
    uint8_t out[5];
    ami_date_encode(&dt, out);
    assert_memory_equal(out, date, 5);
    char text[AMI_DATETIME_STRLEN];
    assert_true(ami_datetime_format(&dt, text, sizeof text) > 0);
    assert_string_equal(text, "2024-02-29 Thu *:*:*.* dev=* status=*");
    int64_t u;
    assert_int_equal(ami_datetime_to_unix(&dt, AMI_DT_ASSUME_UTC, &u), AMI_E_UNSPECIFIED);

    const uint8_t date_bad[5] = {0x07, 0xE8, 0x02, 0x1D, 0x05}; /* not a Friday */
    assert_int_equal(guarded_decode(date_bad, 5, &dt), AMI_E_RANGE);
    const uint8_t date_wild[5] = {0xFF, 0xFF, 0xFE, 0xFE, 0x07}; /* DST begin, last day, Sunday */
    assert_int_equal(guarded_decode(date_wild, 5, &dt), AMI_OK);
    assert_true(ami_datetime_format(&dt, text, sizeof text) > 0);
    assert_string_equal(text, "*-DST-begin-last Sun *:*:*.* dev=* status=*");

    const uint8_t time[4] = {0x17, 0x3B, 0x3B, 0x63}; /* 23:59:59.99 */
    assert_int_equal(guarded_decode(time, 4, &dt), AMI_OK);
    assert_int_equal(dt.year, AMI_DT_YEAR_UNSPEC);
    assert_int_equal(dt.month, 0xFF);
    assert_int_equal(dt.hour, 23);
    assert_int_equal(dt.hundredths, 99);
    uint8_t tout[4];
    ami_time_encode(&dt, tout);
    assert_memory_equal(tout, time, 4);
    assert_true(ami_datetime_format(&dt, text, sizeof text) > 0);
    assert_string_equal(text, "*-*-* * 23:59:59.99 dev=* status=*");
    const uint8_t time_wild[4] = {0xFF, 0x0F, 0x00, 0xFF}; /* every hour at :15 */
    assert_int_equal(guarded_decode(time_wild, 4, &dt), AMI_OK);
    const uint8_t time_bad[4] = {0x00, 0x00, 0x00, 0x64};
    assert_int_equal(guarded_decode(time_bad, 4, &dt), AMI_E_RANGE);

    assert_int_equal(ami_datetime_decode(NULL, &dt), AMI_E_INVAL);
    assert_int_equal(ami_date_decode(date, NULL), AMI_E_INVAL);
    assert_int_equal(ami_time_decode(NULL, &dt), AMI_E_INVAL);
}

/*
 * Civil calendar against a plain day-by-day count over the years 0..65534: every day of the
 * years 0..2400 and 65000..65534 and every 61st day elsewhere, at a few times and deviations.
 */
static void test_calendar_walk(void **state)
{
    (void)state;
    static const uint8_t dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t day = -719528; /* 0000-01-01, a Saturday */
    unsigned wd = 6;
    uint64_t seed = 7;
    for (unsigned y = 0; y <= 65534; y++) {
        bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        bool dense = y <= 2400 || y >= 65000;
        for (unsigned m = 1; m <= 12; m++) {
            unsigned nd = dim[m - 1] + (m == 2 && leap);
            for (unsigned d = 1; d <= nd; d++, day++, wd = wd % 7 + 1) {
                if (!dense && day % 61 != 0)
                    continue;
                uint64_t r = tu_rand(&seed);
                int64_t sod = (int64_t)(r % 86400);
                int dev = (int)((r >> 20) % 1441) - 720;
                ami_datetime dt = {(uint16_t)y,
                                   (uint8_t)m,
                                   (uint8_t)d,
                                   (uint8_t)wd,
                                   (uint8_t)(sod / 3600),
                                   (uint8_t)(sod / 60 % 60),
                                   (uint8_t)(sod % 60),
                                   0,
                                   (int16_t)dev,
                                   0};
                int64_t u;
                assert_int_equal(ami_datetime_to_unix(&dt, 0, &u), AMI_OK);
                assert_int_equal(u, day * 86400 + sod + dev * 60);
                ami_datetime back;
                assert_int_equal(ami_datetime_from_unix(u, dev, 0, 0, &back), AMI_OK);
                assert_true(dt_equal(&back, &dt));
                uint8_t b[12];
                ami_datetime_encode(&dt, b);
                assert_int_equal(ami_datetime_decode(b, &back), AMI_OK);
                if (d >= 27 || m == 2) {
                    /* the day after the last does not exist; a wrong weekday is refused */
                    dt.day = (uint8_t)(nd + 1);
                    if (dt.day <= 31) {
                        ami_datetime_encode(&dt, b);
                        assert_int_equal(ami_datetime_decode(b, &back), AMI_E_RANGE);
                    }
                    dt.day = (uint8_t)d;
                    dt.weekday = (uint8_t)(wd % 7 + 1);
                    assert_int_equal(ami_datetime_to_unix(&dt, 0, &u), AMI_E_RANGE);
                }
            }
        }
    }
    assert_int_equal(day, 23216639); /* days from 1970-01-01 to 65535-01-01 */
}

static void test_to_unix_rules(void **state)
{
    (void)state;
    /* 2024-03-31 Sun 02:30:00, deviation -60 (UTC+1, Blue Book sign) */
    ami_datetime dt = {2024, 3, 31, 7, 2, 30, 0, 0, -60, 0};
    int64_t u;
    assert_int_equal(ami_datetime_to_unix(&dt, 0, &u), AMI_OK);
    assert_int_equal(u, 1711848600); /* 2024-03-31T01:30:00Z */
    assert_int_equal(ami_datetime_to_unix(&dt, AMI_DT_DEVIATION_INVERTED, &u), AMI_OK);
    assert_int_equal(u, 1711848600 + 2 * 3600);
    /* hundredths and weekday may be not specified */
    dt.hundredths = 0xFF;
    dt.weekday = 0xFF;
    assert_int_equal(ami_datetime_to_unix(&dt, 0, &u), AMI_OK);
    assert_int_equal(u, 1711848600);
    /* deviation not specified */
    dt.deviation = AMI_DT_DEVIATION_UNSPEC;
    assert_int_equal(ami_datetime_to_unix(&dt, 0, &u), AMI_E_UNSPECIFIED);
    assert_int_equal(ami_datetime_to_unix(&dt, AMI_DT_ASSUME_UTC, &u), AMI_OK);
    assert_int_equal(u, 1711852200);
    dt.deviation = -60;
    /* wildcards */
    static const struct {
        size_t off;
        uint8_t v;
    } wild[] = {
        {offsetof(ami_datetime, month), AMI_DT_DST_BEGIN},
        {offsetof(ami_datetime, month), AMI_DT_DST_END},
        {offsetof(ami_datetime, month), AMI_DT_UNSPEC},
        {offsetof(ami_datetime, day), AMI_DT_DAY_LAST},
        {offsetof(ami_datetime, day), AMI_DT_DAY_2ND_LAST},
        {offsetof(ami_datetime, day), AMI_DT_UNSPEC},
        {offsetof(ami_datetime, hour), AMI_DT_UNSPEC},
        {offsetof(ami_datetime, minute), AMI_DT_UNSPEC},
        {offsetof(ami_datetime, second), AMI_DT_UNSPEC},
    };
    for (size_t i = 0; i < AMI_COUNTOF(wild); i++) {
        ami_datetime w = dt;
        ((uint8_t *)&w)[wild[i].off] = wild[i].v;
        assert_int_equal(ami_datetime_to_unix(&w, AMI_DT_ASSUME_UTC, &u), AMI_E_UNSPECIFIED);
        char iso[AMI_DATETIME_STRLEN];
        assert_int_equal(ami_datetime_format_iso(&w, AMI_DT_ASSUME_UTC, iso, sizeof iso),
                         AMI_E_UNSPECIFIED);
    }
    ami_datetime w = dt;
    w.year = AMI_DT_YEAR_UNSPEC;
    assert_int_equal(ami_datetime_to_unix(&w, 0, &u), AMI_E_UNSPECIFIED);
    /* a struct built by hand is checked as the decoder checks it */
    w = dt;
    w.weekday = 1; /* 2024-03-31 is a Sunday */
    assert_int_equal(ami_datetime_to_unix(&w, 0, &u), AMI_E_RANGE);
    w = dt;
    w.day = 32;
    assert_int_equal(ami_datetime_to_unix(&w, 0, &u), AMI_E_RANGE);
    w = dt;
    w.month = 4;
    assert_int_equal(ami_datetime_to_unix(&w, 0, &u), AMI_E_RANGE); /* 31 April */
    w = dt;
    w.deviation = 721;
    assert_int_equal(ami_datetime_to_unix(&w, 0, &u), AMI_E_RANGE);
    w = dt;
    w.hour = 24;
    assert_int_equal(ami_datetime_to_unix(&w, 0, &u), AMI_E_RANGE);
    assert_int_equal(ami_datetime_to_unix(NULL, 0, &u), AMI_E_INVAL);
    assert_int_equal(ami_datetime_to_unix(&dt, 0, NULL), AMI_E_INVAL);
}

static void test_from_unix_range(void **state)
{
    (void)state;
    ami_datetime dt;
    const int64_t lo = -62167219200;  /* 0000-01-01T00:00:00 */
    const int64_t hi = 2005917609599; /* 65534-12-31T23:59:59 */
    assert_int_equal(ami_datetime_from_unix(lo, 0, 0, 0, &dt), AMI_OK);
    assert_int_equal(dt.year, 0);
    assert_int_equal(dt.weekday, 6);
    assert_int_equal(ami_datetime_from_unix(lo - 1, 0, 0, 0, &dt), AMI_E_RANGE);
    /* local = UTC - deviation: +60 moves local time before year 0 */
    assert_int_equal(ami_datetime_from_unix(lo, 60, 0, 0, &dt), AMI_E_RANGE);
    assert_int_equal(ami_datetime_from_unix(lo, -60, 0, 0, &dt), AMI_OK);
    assert_int_equal(dt.hour, 1);
    assert_int_equal(ami_datetime_from_unix(lo, 60, 0, AMI_DT_DEVIATION_INVERTED, &dt), AMI_OK);
    assert_int_equal(dt.hour, 1);
    assert_int_equal(dt.deviation, 60);
    assert_int_equal(ami_datetime_from_unix(hi, 0, 0x80, 0, &dt), AMI_OK);
    assert_int_equal(dt.year, 65534);
    assert_int_equal(dt.month, 12);
    assert_int_equal(dt.day, 31);
    assert_int_equal(dt.weekday, 1);
    assert_int_equal(dt.second, 59);
    assert_int_equal(dt.status, 0x80);
    assert_int_equal(ami_datetime_from_unix(hi + 1, 0, 0, 0, &dt), AMI_E_RANGE);
    assert_int_equal(ami_datetime_from_unix(INT64_MAX, 0, 0, 0, &dt), AMI_E_RANGE);
    assert_int_equal(ami_datetime_from_unix(INT64_MIN, 0, 0, 0, &dt), AMI_E_RANGE);
    assert_int_equal(ami_datetime_from_unix(INT64_MIN, -720, 0, 0, &dt), AMI_E_RANGE);
    assert_int_equal(ami_datetime_from_unix(0, 721, 0, 0, &dt), AMI_E_RANGE);
    assert_int_equal(ami_datetime_from_unix(0, -721, 0, 0, &dt), AMI_E_RANGE);
    assert_int_equal(ami_datetime_from_unix(0, AMI_DT_DEVIATION_UNSPEC, 0, 0, &dt), AMI_E_RANGE);
    assert_int_equal(
        ami_datetime_from_unix(0, AMI_DT_DEVIATION_UNSPEC, 0xFF, AMI_DT_ASSUME_UTC, &dt), AMI_OK);
    char text[AMI_DATETIME_STRLEN];
    assert_true(ami_datetime_format(&dt, text, sizeof text) > 0);
    assert_string_equal(text, "1970-01-01 Thu 00:00:00.00 dev=* status=*");
    int64_t u = 1;
    assert_int_equal(ami_datetime_to_unix(&dt, AMI_DT_ASSUME_UTC, &u), AMI_OK);
    assert_int_equal(u, 0);
    assert_int_equal(ami_datetime_from_unix(0, 0, 0, 0, NULL), AMI_E_INVAL);
}

/* A random field value: usually in range, sometimes a special value. */
static uint8_t pick(uint64_t *s, unsigned lo, unsigned hi, const uint8_t *special, size_t ns)
{
    uint64_t r = tu_rand(s);
    if (ns && r % 5 == 0)
        return special[(r >> 8) % ns];
    return (uint8_t)(lo + (r >> 16) % (hi - lo + 1));
}

/* Seeded random valid date-times: encode -> decode -> encode, format within bounds. */
static void test_random_codec(void **state)
{
    (void)state;
    static const uint8_t ms[] = {0xFD, 0xFE, 0xFF}, ds[] = {0xFD, 0xFE, 0xFF}, un[] = {0xFF};
    uint64_t seed = 0xDA7E71;
    int ok = 0;
    for (int i = 0; i < 50000; i++) {
        ami_datetime dt;
        uint64_t r = tu_rand(&seed);
        dt.year = r % 7 == 0 ? AMI_DT_YEAR_UNSPEC : (uint16_t)(r >> 16) % 0xFFFF;
        dt.month = pick(&seed, 1, 12, ms, 3);
        dt.day = pick(&seed, 1, 28, ds, 3);
        dt.weekday = 0xFF;
        dt.hour = pick(&seed, 0, 23, un, 1);
        dt.minute = pick(&seed, 0, 59, un, 1);
        dt.second = pick(&seed, 0, 59, un, 1);
        dt.hundredths = pick(&seed, 0, 99, un, 1);
        r = tu_rand(&seed);
        dt.deviation =
            r % 6 == 0 ? AMI_DT_DEVIATION_UNSPEC : (int16_t)((int)((r >> 8) % 1441) - 720);
        dt.status = (uint8_t)(r >> 32);
        uint8_t b[12], b2[12];
        ami_datetime_encode(&dt, b);
        ami_datetime back;
        assert_int_equal(ami_datetime_decode(b, &back), AMI_OK);
        assert_true(dt_equal(&dt, &back));
        ami_datetime_encode(&back, b2);
        assert_memory_equal(b, b2, 12);
        uint8_t d5[5], t4[4];
        ami_date_encode(&dt, d5);
        ami_time_encode(&dt, t4);
        assert_memory_equal(d5, b, 5);
        assert_memory_equal(t4, b + 5, 4);
        char text[AMI_DATETIME_STRLEN];
        int n = ami_datetime_format(&dt, text, sizeof text);
        assert_true(n > 0 && n < AMI_DATETIME_STRLEN);
        char iso[AMI_DATETIME_STRLEN];
        n = ami_datetime_format_iso(&dt, AMI_DT_ASSUME_UTC, iso, sizeof iso);
        if (n >= 0) {
            /* ISO -> parse -> same instant */
            ami_datetime p;
            assert_int_equal(ami_datetime_parse_iso(iso, (size_t)n, 0, &p), AMI_OK);
            int64_t u1, u2;
            assert_int_equal(ami_datetime_to_unix(&dt, AMI_DT_ASSUME_UTC, &u1), AMI_OK);
            assert_int_equal(ami_datetime_to_unix(&p, 0, &u2), AMI_OK);
            assert_int_equal(u1, u2);
            ok++;
        } else {
            assert_true(n == AMI_E_UNSPECIFIED || (n == AMI_E_RANGE && dt.year > 9999));
        }
    }
    assert_true(ok > 1000);
}

/* Seeded random instants: from_unix -> to_unix, and through ISO text. */
static void test_random_unix(void **state)
{
    (void)state;
    uint64_t seed = 0x1970;
    for (int i = 0; i < 50000; i++) {
        uint64_t r = tu_rand(&seed);
        int64_t u = (int64_t)(r % 315569520000u) - 62135596800; /* years 1..9999 */
        int dev = (int)((r >> 40) % 1441) - 720;
        unsigned flags = (r >> 62) & 1 ? AMI_DT_DEVIATION_INVERTED : 0;
        ami_datetime dt;
        int rc = ami_datetime_from_unix(u, dev, 0x00, flags, &dt);
        if (rc == AMI_E_RANGE)
            continue;
        assert_int_equal(rc, AMI_OK);
        int64_t back;
        assert_int_equal(ami_datetime_to_unix(&dt, flags, &back), AMI_OK);
        assert_int_equal(back, u);
        char iso[AMI_DATETIME_STRLEN];
        int n = ami_datetime_format_iso(&dt, flags, iso, sizeof iso);
        if (n == AMI_E_RANGE && dt.year > 9999)
            continue;
        assert_int_equal(n, 25);
        ami_datetime p;
        assert_int_equal(ami_datetime_parse_iso(iso, (size_t)n, flags, &p), AMI_OK);
        p.status = 0;
        assert_true(dt_equal(&p, &dt));
    }
}

static void test_format_bounds(void **state)
{
    (void)state;
    /* The longest readable text for any field values fits AMI_DATETIME_STRLEN. */
    ami_datetime worst = {
        65534, AMI_DT_DST_BEGIN, AMI_DT_DAY_2ND_LAST, 200, 200, 200, 200, 200, -32767, 0xFE};
    char text[AMI_DATETIME_STRLEN];
    int n = ami_datetime_format(&worst, text, sizeof text);
    assert_true(n > 0 && n < AMI_DATETIME_STRLEN);
    assert_string_equal(text, "65534-DST-begin-2nd-last 200 200:200:200.200 dev=-32767 status=FE "
                              "(doubtful,different-base,invalid-status,reserved,DST)");
    /* every capacity below the length fails cleanly and leaves "" */
    for (int cap = 0; cap <= n; cap++) {
        char small[AMI_DATETIME_STRLEN];
        memset(small, 'x', sizeof small);
        int rc = ami_datetime_format(&worst, small, (size_t)cap);
        assert_int_equal(rc, AMI_E_NOSPACE);
        if (cap > 0)
            assert_int_equal(small[0], 0);
        assert_int_equal(small[cap], 'x'); /* nothing written past cap */
    }
    assert_int_equal(ami_datetime_format(&worst, text, (size_t)n + 1), n);

    ami_datetime dt = {2021, 1, 24, 7, 14, 48, 57, 80, -60, 0};
    char iso[AMI_DATETIME_STRLEN];
    n = ami_datetime_format_iso(&dt, 0, iso, sizeof iso);
    assert_int_equal(n, 28);
    assert_string_equal(iso, "2021-01-24T14:48:57.80+01:00");
    for (int cap = 0; cap <= n; cap++)
        assert_int_equal(ami_datetime_format_iso(&dt, 0, iso, (size_t)cap), AMI_E_NOSPACE);
    dt.hundredths = 5;
    assert_true(ami_datetime_format_iso(&dt, 0, iso, sizeof iso) > 0);
    assert_string_equal(iso, "2021-01-24T14:48:57.05+01:00");
    dt.deviation = 90;
    assert_true(ami_datetime_format_iso(&dt, 0, iso, sizeof iso) > 0);
    assert_string_equal(iso, "2021-01-24T14:48:57.05-01:30");
    assert_int_equal(ami_datetime_format_iso(NULL, 0, iso, sizeof iso), AMI_E_INVAL);
    assert_int_equal(ami_datetime_format(&dt, NULL, 10), AMI_E_INVAL);
}

static void test_parse_details(void **state)
{
    (void)state;
    ami_datetime dt;
    /* n bounds the text */
    const char *s = "2024-03-31T02:30:00+01:00 trailing";
    assert_int_equal(ami_datetime_parse_iso(s, 25, 0, &dt), AMI_OK);
    assert_int_equal(dt.deviation, -60);
    assert_int_equal(dt.weekday, 7);
    assert_int_equal(dt.hundredths, 0);
    assert_int_equal(dt.status, AMI_DT_STATUS_UNSPEC);
    assert_int_equal(ami_datetime_parse_iso(s, 26, 0, &dt), AMI_E_SYNTAX);
    assert_int_equal(ami_datetime_parse_iso(s, 10, 0, &dt), AMI_OK); /* the date alone */
    assert_int_equal(dt.hour, 0);
    assert_int_equal(dt.deviation, AMI_DT_DEVIATION_UNSPEC);
    assert_int_equal(ami_datetime_parse_iso("", 0, 0, &dt), AMI_E_SYNTAX);
    assert_int_equal(ami_datetime_parse_iso(NULL, 0, 0, &dt), AMI_E_INVAL);
    assert_int_equal(ami_datetime_parse_iso(s, 25, 0, NULL), AMI_E_INVAL);
    /* a long fraction is truncated, not rounded */
    const char *frac = "2024-03-31T02:30:59.999999999999999999999999Z";
    assert_int_equal(ami_datetime_parse_iso(frac, strlen(frac), 0, &dt), AMI_OK);
    assert_int_equal(dt.second, 59);
    assert_int_equal(dt.hundredths, 99);
    /* every prefix of a full text against a guard page */
    const char *full = "2024-03-31T02:30:00.25+01:00";
    for (size_t k = 0; k <= strlen(full); k++) {
        uint8_t *g = tu_guard_copy(full, k);
        int rc = ami_datetime_parse_iso((const char *)g, k, 0, &dt);
        tu_guard_free(g, k);
        bool complete = k == 10 || k == 16 || k == 19 || k == 21 || k == 22 || k == strlen(full);
        assert_int_equal(rc, complete ? AMI_OK : AMI_E_SYNTAX);
    }
}

/* Conversions never consult the C library's time zone. */
static void test_tz_independent(void **state)
{
    (void)state;
    static const char *zones[] = {"UTC0", "EST5EDT,M3.2.0,M11.1.0", "IST-5:30", "NZST-12NZDT"};
    for (size_t i = 0; i < AMI_COUNTOF(zones); i++) {
        setenv("TZ", zones[i], 1);
        tzset();
        ami_datetime dt = {2002, 12, 4, 3, 10, 6, 11, 0xFF, 120, 0};
        int64_t u;
        assert_int_equal(ami_datetime_to_unix(&dt, 0, &u), AMI_OK);
        assert_int_equal(u, 1039003571);
        assert_int_equal(ami_datetime_from_unix(1711848600, -60, 0x80, 0, &dt), AMI_OK);
        assert_int_equal(dt.hour, 2);
        assert_int_equal(dt.minute, 30);
        assert_int_equal(dt.day, 31);
    }
    unsetenv("TZ");
    tzset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),        cmocka_unit_test(test_captures),
        cmocka_unit_test(test_date_and_time),  cmocka_unit_test(test_calendar_walk),
        cmocka_unit_test(test_to_unix_rules),  cmocka_unit_test(test_from_unix_range),
        cmocka_unit_test(test_random_codec),   cmocka_unit_test(test_random_unix),
        cmocka_unit_test(test_format_bounds),  cmocka_unit_test(test_parse_details),
        cmocka_unit_test(test_tz_independent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
