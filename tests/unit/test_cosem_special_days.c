/*
 * Special days table (class 11, ami/cosem_special_days.h): date matching with the Blue Book
 * wildcards, insert and delete through the store, the entries encoding, and the Activity
 * calendar taking a special day's day_id instead of the week profile's day.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "ami/ami.h"

static const ami_dlms_ctx lls = {.client_sap = 17,
                                 .server_sap = 1,
                                 .context = AMI_ACSE_CONTEXT_LN,
                                 .mechanism = AMI_ACSE_MECH_LOW};

#define LN_SD  AMI_OBIS(0, 0, 11, 0, 0, 255)
#define LN_CAL AMI_OBIS(0, 0, 13, 0, 0, 255)

static ami_datetime day(uint16_t y, uint8_t m, uint8_t d)
{
    /* noon UTC of that day: the weekday comes from the conversion */
    ami_datetime dt;
    int64_t t = 0;
    ami_datetime_unspecified(&dt);
    dt.year = y;
    dt.month = m;
    dt.day = d;
    dt.hour = 12;
    dt.minute = dt.second = 0;
    dt.hundredths = 0;
    dt.deviation = 0;
    assert_int_equal(ami_datetime_to_unix(&dt, 0, &t), AMI_OK);
    assert_int_equal(ami_datetime_from_unix(t, 0, 0, 0, &dt), AMI_OK);
    return dt;
}

/* tu_hex of a string whose spaces are dropped. */
static uint8_t *hex(const char *s, size_t *n)
{
    char b[256];
    size_t k = 0;
    for (; *s && k + 1 < sizeof b; s++)
        if (*s != ' ')
            b[k++] = *s;
    b[k] = 0;
    return tu_hex(b, n);
}

static bool match(const char *h, ami_datetime dt)
{
    size_t n;
    uint8_t *d = hex(h, &n);
    assert_int_equal(n, 5);
    bool r = ami_cosem_date_matches(d, &dt);
    free(d);
    return r;
}

static void test_date_wildcards(void **st)
{
    (void)st;
    /* 25 December, any year / one year */
    assert_true(match("FFFF0C19FF", day(2025, 12, 25)));
    assert_true(match("07E90C19FF", day(2025, 12, 25)));
    assert_false(match("07EA0C19FF", day(2025, 12, 25)));
    assert_false(match("FFFF0C19FF", day(2025, 12, 26)));
    /* the 1st of every month; every Sunday (2025-03-30 is a Sunday) */
    assert_true(match("FFFFFF01FF", day(2025, 7, 1)));
    assert_true(match("FFFFFFFF07", day(2025, 3, 30)));
    assert_false(match("FFFFFFFF07", day(2025, 3, 29)));
    /* last and second last day of the month, February of a leap year */
    assert_true(match("FFFF02FEFF", day(2024, 2, 29)));
    assert_false(match("FFFF02FEFF", day(2024, 2, 28)));
    assert_true(match("FFFF02FDFF", day(2024, 2, 28)));
    assert_true(match("FFFF02FEFF", day(2025, 2, 28)));
    /* last Sunday of March (2025: the 30th; 2024: the 31st), last Sunday of October 2025
     * (the 26th), second last Sunday of March 2025 (the 23rd) */
    assert_true(match("FFFF03FE07", day(2025, 3, 30)));
    assert_false(match("FFFF03FE07", day(2025, 3, 23)));
    assert_true(match("FFFF03FE07", day(2024, 3, 31)));
    assert_true(match("FFFF0AFE07", day(2025, 10, 26)));
    assert_false(match("FFFF0AFE07", day(2025, 10, 19)));
    assert_true(match("FFFF03FD07", day(2025, 3, 23)));
    assert_false(match("FFFF03FD07", day(2025, 3, 30)));
    /* the daylight saving months match no date */
    assert_false(match("FFFFFE1DFF", day(2025, 3, 29)));
    assert_false(match("FFFFFD1DFF", day(2025, 10, 29)));
}

/* ---------------------------------------------------------------- store */

typedef struct fixture {
    ami_cosem_obj objs[3];
    ami_cosem_store store;
    ami_cosem_special_days sd;
    ami_cosem_special_day entries[3];
    ami_cosem_calendar cal;
    uint8_t cal_bufs[8][256];
} fixture;

static fixture fx;
static const uint8_t m_all[2] = {1, 1};

static void put_octets(ami_wr *w, const void *p, size_t n)
{
    ami_wr_u8(w, AMI_AXDR_OCTET_STRING);
    ami_axdr_put_length(w, n);
    ami_wr_bytes(w, p, n);
}

/* Active calendar: one season, week "W" with day 1 every day; day 1: 00:00 script 1; day 2:
 * 00:00 script 2. */
static void calendar(ami_cosem_buf *b)
{
    ami_wr w;
    ami_wr_init(&w, b[AMI_CALENDAR_NAME].p, b[AMI_CALENDAR_NAME].cap);
    put_octets(&w, "C", 1);
    b[AMI_CALENDAR_NAME].len = w.len;
    static const uint8_t jan1[12] = {0xFF, 0xFF, 1, 1, 0xFF, 0, 0, 0, 0, 0x80, 0x00, 0xFF};
    ami_wr_init(&w, b[AMI_CALENDAR_SEASONS].p, b[AMI_CALENDAR_SEASONS].cap);
    ami_wr_bytes(&w, "\x01\x01\x02\x03", 4);
    put_octets(&w, "S", 1);
    put_octets(&w, jan1, 12);
    put_octets(&w, "W", 1);
    b[AMI_CALENDAR_SEASONS].len = w.len;
    ami_wr_init(&w, b[AMI_CALENDAR_WEEKS].p, b[AMI_CALENDAR_WEEKS].cap);
    ami_wr_bytes(&w, "\x01\x01\x02\x08", 4);
    put_octets(&w, "W", 1);
    for (int i = 0; i < 7; i++)
        ami_wr_bytes(&w, "\x11\x01", 2);
    b[AMI_CALENDAR_WEEKS].len = w.len;
    static const uint8_t tariffs[6] = {0, 0, 10, 0, 100, 255};
    static const uint8_t midnight[4] = {0, 0, 0, 0};
    ami_wr_init(&w, b[AMI_CALENDAR_DAYS].p, b[AMI_CALENDAR_DAYS].cap);
    ami_wr_bytes(&w, "\x01\x02", 2);
    for (uint8_t id = 1; id <= 2; id++) {
        ami_wr_bytes(&w, "\x02\x02\x11", 3);
        ami_wr_u8(&w, id);
        ami_wr_bytes(&w, "\x01\x01\x02\x03", 4);
        put_octets(&w, midnight, 4);
        put_octets(&w, tariffs, 6);
        ami_wr_u8(&w, AMI_AXDR_LONG_UNSIGNED);
        ami_wr_u16be(&w, id);
    }
    b[AMI_CALENDAR_DAYS].len = w.len;
}

static int64_t fx_now(void *u)
{
    (void)u;
    return 1750032000;
}

static void setup_store(void)
{
    memset(&fx, 0, sizeof fx);
    fx.sd = (ami_cosem_special_days){.entries = fx.entries, .cap = 3, .count = 0};
    fx.objs[0] = (ami_cosem_obj){.class_id = AMI_COSEM_SPECIAL_DAYS_TABLE,
                                 .ln = LN_SD,
                                 .method_access = m_all,
                                 .state = &fx.sd};
    for (int i = 0; i < 4; i++) {
        fx.cal.active[i] = (ami_cosem_buf){fx.cal_bufs[i], sizeof fx.cal_bufs[i], 0};
        fx.cal.passive[i] = (ami_cosem_buf){fx.cal_bufs[4 + i], sizeof fx.cal_bufs[4 + i], 0};
    }
    calendar(fx.cal.active);
    memset(fx.cal.activate_time, 0xFF, 12);
    fx.cal.special_days = &fx.sd;
    fx.objs[1] = (ami_cosem_obj){.class_id = AMI_COSEM_ACTIVITY_CALENDAR,
                                 .ln = LN_CAL,
                                 .method_access = m_all,
                                 .state = &fx.cal};
    ami_cosem_clock_src clk = {fx_now, NULL, NULL};
    assert_int_equal(ami_cosem_store_init(&fx.store, fx.objs, 2, &clk), AMI_OK);
}

static uint8_t act(int8_t id, const char *h)
{
    size_t n;
    uint8_t *p = hex(h, &n);
    uint8_t out[16];
    ami_wr w;
    ami_wr_init(&w, out, sizeof out);
    ami_cosem_desc d = {AMI_COSEM_SPECIAL_DAYS_TABLE, LN_SD, id};
    uint8_t r = ami_cosem_store_ops.action(&fx.store, &d, ami_view_of(p, n), &lls, &w);
    free(p);
    return r;
}

static void expect_entries(const char *h)
{
    uint8_t buf[256];
    ami_cosem_desc d = {AMI_COSEM_SPECIAL_DAYS_TABLE, LN_SD, 2};
    ami_access_selection sel;
    memset(&sel, 0, sizeof sel);
    ami_wr w;
    ami_wr_init(&w, buf, sizeof buf);
    assert_int_equal(ami_cosem_store_ops.get(&fx.store, &d, &sel, &lls, &w), AMI_DAR_SUCCESS);
    size_t n;
    uint8_t *want = hex(h, &n);
    assert_int_equal(w.len, n);
    assert_memory_equal(buf, want, n);
    free(want);
}

static void test_insert_delete(void **st)
{
    (void)st;
    setup_store();
    expect_entries("0100");
    /* insert {1, 25 December, day 2}, {2, 1 January, day 2}; index 1 again replaces it */
    assert_int_equal(act(1, "020312000109 05 FFFF0C19FF 1102"), AMI_ACTION_SUCCESS);
    assert_int_equal(act(1, "020312000209 05 FFFF0101FF 1102"), AMI_ACTION_SUCCESS);
    assert_int_equal(act(1, "020312000109 05 FFFF0C1AFF 1103"), AMI_ACTION_SUCCESS);
    expect_entries("0102 020312000109 05 FFFF0C1AFF 1103 020312000209 05 FFFF0101FF 1102");
    /* a third fits, a fourth does not; bad encodings */
    assert_int_equal(act(1, "020312000309 05 FFFF0501FF 1102"), AMI_ACTION_SUCCESS);
    assert_int_equal(act(1, "020312000409 05 FFFF0502FF 1102"), AMI_ACTION_OTHER_REASON);
    assert_int_equal(act(1, "020312000409 04 FFFF0502 1102"), AMI_ACTION_OTHER_REASON);
    assert_int_equal(act(1, "020312000409 05 FFFF0D02FF 1102"), AMI_ACTION_OTHER_REASON);
    assert_int_equal(act(1, "020212000409 05 FFFF0502FF"), AMI_DAR_TYPE_UNMATCHED);
    assert_int_equal(act(2, "1100"), AMI_DAR_TYPE_UNMATCHED);
    /* delete index 1, then an absent index */
    assert_int_equal(act(2, "120001"), AMI_ACTION_SUCCESS);
    assert_int_equal(act(2, "120009"), AMI_ACTION_SUCCESS);
    expect_entries("0102 020312000209 05 FFFF0101FF 1102 020312000309 05 FFFF0501FF 1102");
    /* entries are changed by the methods only */
    ami_cosem_desc d = {AMI_COSEM_SPECIAL_DAYS_TABLE, LN_SD, 2};
    static const uint8_t empty[] = {0x01, 0x00};
    assert_int_not_equal(ami_cosem_store_ops.set(&fx.store, &d, ami_view_of(empty, 2), &lls),
                         AMI_DAR_SUCCESS);
}

/* The calendar gives script 1 every day, script 2 on a special day. */
static void test_calendar_special_day(void **st)
{
    (void)st;
    setup_store();
    /* 2025-12-25 10:00 UTC, 2025-12-24 10:00 UTC */
    int64_t xmas = 1766656800, eve = xmas - 86400;
    ami_cosem_calendar_action a;
    int64_t until = 0;
    assert_int_equal(ami_cosem_calendar_at(&fx.cal, xmas, 0, &a, &until), AMI_OK);
    assert_int_equal(a.script_selector, 1);
    assert_int_equal(act(1, "020312000109 05 FFFF0C19FF 1102"), AMI_ACTION_SUCCESS);
    assert_int_equal(ami_cosem_calendar_at(&fx.cal, xmas, 0, &a, &until), AMI_OK);
    assert_int_equal(a.script_selector, 2);
    assert_int_equal(until, xmas + 14 * 3600); /* the next local midnight */
    assert_int_equal(ami_cosem_calendar_at(&fx.cal, eve, 0, &a, &until), AMI_OK);
    assert_int_equal(a.script_selector, 1);
    /* in local time: at UTC-2 (deviation +120) 2025-12-25 01:00 UTC is still the 24th */
    assert_int_equal(ami_cosem_calendar_at(&fx.cal, xmas - 9 * 3600, 120, &a, &until), AMI_OK);
    assert_int_equal(a.script_selector, 1);
    assert_int_equal(ami_cosem_calendar_at(&fx.cal, xmas - 9 * 3600, -120, &a, &until), AMI_OK);
    assert_int_equal(a.script_selector, 2);
    /* a special day naming a day_id the calendar lacks: no action */
    assert_int_equal(act(1, "020312000109 05 FFFF0C19FF 1109"), AMI_ACTION_SUCCESS);
    assert_int_equal(ami_cosem_calendar_at(&fx.cal, xmas, 0, &a, &until), AMI_E_NOTFOUND);
    assert_int_equal(act(2, "120001"), AMI_ACTION_SUCCESS);
    assert_int_equal(ami_cosem_calendar_at(&fx.cal, xmas, 0, &a, &until), AMI_OK);
    assert_int_equal(a.script_selector, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_date_wildcards),
        cmocka_unit_test(test_insert_delete),
        cmocka_unit_test(test_calendar_special_day),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
