/*
 * Daylight saving of the Clock (class 8, ami/cosem_clock.h): the window of
 * daylight_savings_begin/end with Blue Book wildcards (last Sunday, second Sunday, southern
 * hemisphere), time and status at the transitions, a profile capturing the clock, and a
 * schedule running at local time.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "ami/ami.h"

/* Central Europe 2025: summer time from 2025-03-30 01:00 UTC to 2025-10-26 01:00 UTC. */
#define EU_BEGIN INT64_C(1743296400)
#define EU_END   INT64_C(1761440400)

static const ami_dlms_ctx lls = {.client_sap = 17,
                                 .server_sap = 1,
                                 .context = AMI_ACSE_CONTEXT_LN,
                                 .mechanism = AMI_ACSE_MECH_LOW};

static const uint8_t eu_begin[12] = {0xFF, 0xFF, 3, 0xFE, 7, 2, 0, 0, 0, 0x80, 0x00, 0xFF};
static const uint8_t eu_end[12] = {0xFF, 0xFF, 10, 0xFE, 7, 3, 0, 0, 0, 0x80, 0x00, 0xFF};

static ami_cosem_clock eu(void)
{
    ami_cosem_clock c;
    ami_cosem_clock_init(&c, 900);
    memcpy(c.dst_begin, eu_begin, 12);
    memcpy(c.dst_end, eu_end, 12);
    c.dst_deviation = 60;
    c.dst_enabled = true;
    return c;
}

static void test_window_eu(void **st)
{
    (void)st;
    ami_cosem_clock c = eu();
    assert_false(ami_cosem_clock_dst_at(&c, EU_BEGIN - 1, -60));
    assert_true(ami_cosem_clock_dst_at(&c, EU_BEGIN, -60));
    assert_true(ami_cosem_clock_dst_at(&c, EU_BEGIN + 86400 * 100, -60));
    assert_true(ami_cosem_clock_dst_at(&c, EU_END - 1, -60));
    assert_false(ami_cosem_clock_dst_at(&c, EU_END, -60));
    assert_false(ami_cosem_clock_dst_at(&c, EU_BEGIN - 86400 * 60, -60));
    /* 2024: the last Sunday of March is the 31st (2024-03-31 01:00 UTC = 1711846800) */
    assert_false(ami_cosem_clock_dst_at(&c, INT64_C(1711846799), -60));
    assert_true(ami_cosem_clock_dst_at(&c, INT64_C(1711846800), -60));
    /* disabled, or a zero deviation: never */
    c.dst_enabled = false;
    assert_false(ami_cosem_clock_dst_at(&c, EU_BEGIN + 3600, -60));
    c.dst_enabled = true;
    c.dst_deviation = 0;
    assert_false(ami_cosem_clock_dst_at(&c, EU_BEGIN + 3600, -60));
    /* a rule of another year applies in that year only */
    c = eu();
    c.dst_begin[0] = 0x07;
    c.dst_begin[1] = 0xE8; /* 2024 */
    assert_false(ami_cosem_clock_dst_at(&c, EU_BEGIN + 3600, -60));
    assert_true(ami_cosem_clock_dst_at(&c, INT64_C(1711846800), -60));
    assert_false(ami_cosem_clock_dst_at(NULL, EU_BEGIN, -60));
}

static void test_window_rules(void **st)
{
    (void)st;
    ami_cosem_clock c = eu();
    /* US: second Sunday of March 02:00 (day 8 + Sunday: 2025-03-09) to the first Sunday of
     * November 02:00 (day 1 + Sunday: 2025-11-02), Eastern time (deviation +300) */
    static const uint8_t us_begin[12] = {0xFF, 0xFF, 3, 8, 7, 2, 0, 0, 0, 0x80, 0x00, 0xFF};
    static const uint8_t us_end[12] = {0xFF, 0xFF, 11, 1, 7, 2, 0, 0, 0, 0x80, 0x00, 0xFF};
    memcpy(c.dst_begin, us_begin, 12);
    memcpy(c.dst_end, us_end, 12);
    int64_t b = INT64_C(1741478400) + 7 * 3600; /* 2025-03-09 02:00 EST = 07:00 UTC */
    int64_t e = INT64_C(1762041600) + 6 * 3600; /* 2025-11-02 02:00 EDT = 06:00 UTC */
    assert_false(ami_cosem_clock_dst_at(&c, b - 1, 300));
    assert_true(ami_cosem_clock_dst_at(&c, b, 300));
    assert_true(ami_cosem_clock_dst_at(&c, e - 1, 300));
    assert_false(ami_cosem_clock_dst_at(&c, e, 300));
    /* Sydney (deviation -600): from the first Sunday of October 02:00 (2025-10-04 16:00 UTC)
     * to the first Sunday of April 03:00 (2025-04-05 16:00 UTC): across the new year */
    static const uint8_t au_begin[12] = {0xFF, 0xFF, 10, 1, 7, 2, 0, 0, 0, 0x80, 0x00, 0xFF};
    static const uint8_t au_end[12] = {0xFF, 0xFF, 4, 1, 7, 3, 0, 0, 0, 0x80, 0x00, 0xFF};
    memcpy(c.dst_begin, au_begin, 12);
    memcpy(c.dst_end, au_end, 12);
    int64_t au_e = INT64_C(1743868800);                                 /* 2025-04-05 16:00 UTC */
    int64_t au_b = INT64_C(1759593600);                                 /* 2025-10-04 16:00 UTC */
    assert_true(ami_cosem_clock_dst_at(&c, INT64_C(1736938740), -600)); /* 15 January */
    assert_true(ami_cosem_clock_dst_at(&c, au_e - 1, -600));
    assert_false(ami_cosem_clock_dst_at(&c, au_e, -600));
    assert_false(ami_cosem_clock_dst_at(&c, INT64_C(1751363940), -600)); /* 1 July */
    assert_false(ami_cosem_clock_dst_at(&c, au_b - 1, -600));
    assert_true(ami_cosem_clock_dst_at(&c, au_b, -600));
    /* second last Sunday of October (0xFD + Sunday): 2025-10-19 */
    memcpy(c.dst_begin, eu_begin, 12);
    memcpy(c.dst_end, eu_end, 12);
    c.dst_end[3] = 0xFD;
    int64_t e2 = EU_END - 7 * 86400;
    assert_true(ami_cosem_clock_dst_at(&c, e2 - 1, -60));
    assert_false(ami_cosem_clock_dst_at(&c, e2, -60));
}

/* ---------------------------------------------------------------- store */

static int64_t now_t;

static int64_t fx_now(void *u)
{
    (void)u;
    return now_t;
}

static const ami_cosem_capture_def cols[] = {
    {AMI_COSEM_CLOCK, {{0, 0, 1, 0, 0, 255}}, 2, 0},
};
static const uint8_t int0[] = {AMI_AXDR_INTEGER, 0};
static const ami_cosem_action capture_action[] = {
    {AMI_SCRIPT_EXECUTE_METHOD,
     AMI_COSEM_PROFILE_GENERIC,
     {{1, 0, 99, 1, 0, 255}},
     2,
     int0,
     sizeof int0},
};
static const ami_cosem_script scripts[] = {{1, capture_action, 1}};
static const uint8_t m_all[2] = {1, 1};

typedef struct fixture {
    ami_cosem_obj objs[4];
    ami_cosem_store store;
    ami_cosem_clock clk;
    ami_cosem_profile prof;
    uint8_t ring[8 * 24];
    ami_cosem_script_table table;
    ami_cosem_schedule sched;
    ami_cosem_exec_time times[1];
} fixture;

static fixture fx;

static void setup_store(void)
{
    memset(&fx, 0, sizeof fx);
    fx.clk = eu();
    fx.objs[0] = (ami_cosem_obj){.class_id = AMI_COSEM_CLOCK,
                                 .ln = AMI_OBIS(0, 0, 1, 0, 0, 255),
                                 .state = &fx.clk,
                                 .time_zone = -60};
    fx.prof = (ami_cosem_profile){.columns = cols,
                                  .ncolumns = 1,
                                  .profile_entries = 8,
                                  .ring = fx.ring,
                                  .ring_cap = sizeof fx.ring,
                                  .row_size = 24};
    fx.objs[1] = (ami_cosem_obj){.class_id = AMI_COSEM_PROFILE_GENERIC,
                                 .ln = AMI_OBIS(1, 0, 99, 1, 0, 255),
                                 .method_access = m_all,
                                 .state = &fx.prof};
    fx.table = (ami_cosem_script_table){.scripts = scripts, .count = 1};
    fx.objs[2] = (ami_cosem_obj){.class_id = AMI_COSEM_SCRIPT_TABLE,
                                 .ln = AMI_OBIS(0, 0, 10, 0, 1, 255),
                                 .state = &fx.table};
    /* every day at 12:00:00 local */
    memcpy(fx.times[0].time, "\x0C\x00\x00\xFF", 4);
    memcpy(fx.times[0].date, "\xFF\xFF\xFF\xFF\xFF", 5);
    fx.sched = (ami_cosem_schedule){.script_ln = AMI_OBIS(0, 0, 10, 0, 1, 255),
                                    .script_selector = 1,
                                    .type = AMI_SCHEDULE_ONE,
                                    .times = fx.times,
                                    .cap = 1,
                                    .count = 1};
    fx.objs[3] = (ami_cosem_obj){.class_id = AMI_COSEM_SINGLE_ACTION_SCHEDULE,
                                 .ln = AMI_OBIS(0, 0, 15, 0, 0, 255),
                                 .state = &fx.sched};
    ami_cosem_clock_src clk = {fx_now, NULL, NULL};
    assert_int_equal(ami_cosem_store_init(&fx.store, fx.objs, 4, &clk), AMI_OK);
}

/* Clock attribute 2 at now_t, decoded. */
static ami_datetime clock_time(void)
{
    uint8_t buf[32];
    ami_cosem_desc d = {AMI_COSEM_CLOCK, AMI_OBIS(0, 0, 1, 0, 0, 255), 2};
    ami_access_selection sel;
    memset(&sel, 0, sizeof sel);
    ami_wr w;
    ami_wr_init(&w, buf, sizeof buf);
    assert_int_equal(ami_cosem_store_ops.get(&fx.store, &d, &sel, &lls, &w), AMI_DAR_SUCCESS);
    assert_int_equal(w.len, 14);
    ami_datetime dt;
    assert_int_equal(ami_datetime_decode(buf + 2, &dt), AMI_OK);
    return dt;
}

static uint8_t clock_status(void)
{
    uint8_t buf[8];
    ami_cosem_desc d = {AMI_COSEM_CLOCK, AMI_OBIS(0, 0, 1, 0, 0, 255), 4};
    ami_access_selection sel;
    memset(&sel, 0, sizeof sel);
    ami_wr w;
    ami_wr_init(&w, buf, sizeof buf);
    assert_int_equal(ami_cosem_store_ops.get(&fx.store, &d, &sel, &lls, &w), AMI_DAR_SUCCESS);
    assert_int_equal(w.len, 2);
    return buf[1];
}

static void expect_local(int hour, int minute, int second, int16_t dev, uint8_t status)
{
    ami_datetime dt = clock_time();
    assert_int_equal(dt.hour, hour);
    assert_int_equal(dt.minute, minute);
    assert_int_equal(dt.second, second);
    assert_int_equal(dt.deviation, dev);
    assert_int_equal(dt.status, status);
    assert_int_equal(clock_status(), status);
}

static void test_clock_transitions(void **st)
{
    (void)st;
    setup_store();
    now_t = EU_BEGIN - 1;
    expect_local(1, 59, 59, -60, 0x00);
    now_t = EU_BEGIN;
    expect_local(3, 0, 0, -120, AMI_CLOCK_DST);
    now_t = EU_END - 1;
    expect_local(2, 59, 59, -120, AMI_CLOCK_DST);
    now_t = EU_END;
    expect_local(2, 0, 0, -60, 0x00);
    /* other status bits are kept */
    fx.objs[0].clock_status = AMI_CLOCK_DOUBTFUL;
    now_t = EU_BEGIN + 3600;
    expect_local(4, 0, 0, -120, AMI_CLOCK_DST | AMI_CLOCK_DOUBTFUL);
    /* the time zone attribute stays the standard one */
    assert_int_equal(ami_cosem_clock_deviation(&fx.objs[0], now_t, NULL), -120);
    assert_int_equal(fx.objs[0].time_zone, -60);
}

/* The schedule runs at 12:00 local: 11:00 UTC in winter, 10:00 UTC in summer; the profile entry
 * carries the clock as read then (deviation and DST bit). */
static void test_schedule_and_profile(void **st)
{
    (void)st;
    setup_store();
    ami_cosem_obj *prof = &fx.objs[1];
    int64_t winter = INT64_C(1736938740); /* 2025-01-15 10:59 UTC */
    assert_int_equal(ami_cosem_store_run(&fx.store, now_t = winter), 0);
    assert_int_equal(ami_cosem_store_run(&fx.store, now_t = winter + 60), 1);
    assert_int_equal(ami_cosem_profile_entries(prof), 1);
    int64_t summer = INT64_C(1751363940); /* 2025-07-01 09:59 UTC */
    /* months later: only the last day's execution (30 June 12:00 local) is caught up */
    assert_int_equal(ami_cosem_store_run(&fx.store, now_t = summer - 3600), 1);
    assert_int_equal(ami_cosem_store_run(&fx.store, now_t = summer), 0);
    assert_int_equal(ami_cosem_store_run(&fx.store, now_t = summer + 60), 1);
    assert_int_equal(ami_cosem_profile_entries(prof), 3);
    uint8_t buf[128];
    ami_cosem_desc d = {AMI_COSEM_PROFILE_GENERIC, AMI_OBIS(1, 0, 99, 1, 0, 255), 2};
    ami_access_selection sel;
    memset(&sel, 0, sizeof sel);
    ami_wr w;
    ami_wr_init(&w, buf, sizeof buf);
    assert_int_equal(ami_cosem_store_ops.get(&fx.store, &d, &sel, &lls, &w), AMI_DAR_SUCCESS);
    /* array(3) of structure(1) {octet-string(12)}: 2 + 3 * 16 bytes */
    assert_int_equal(w.len, 2 + 3 * 16);
    ami_datetime a, b;
    assert_int_equal(ami_datetime_decode(buf + 2 + 4, &a), AMI_OK);
    assert_int_equal(ami_datetime_decode(buf + 2 + 2 * 16 + 4, &b), AMI_OK);
    assert_int_equal(a.hour, 12);
    assert_int_equal(a.deviation, -60);
    assert_int_equal(a.status, 0);
    assert_int_equal(b.hour, 12);
    assert_int_equal(b.deviation, -120);
    assert_int_equal(b.status, AMI_CLOCK_DST);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_eu),
        cmocka_unit_test(test_window_rules),
        cmocka_unit_test(test_clock_transitions),
        cmocka_unit_test(test_schedule_and_profile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
