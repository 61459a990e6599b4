/*
 * End of billing through the Script table (class 9): a script whose actions capture the monthly
 * billing profile (class 7 method 2) and reset the maximum demand register (class 4 method 1),
 * run by a client's execute and by the Single action schedule (class 22) at the month start.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "ami/ami.h"

/* 2025-06-30 23:00:00 UTC (a Monday): one hour before the 1st of July. */
#define T0 INT64_C(1751324400)

static const ami_dlms_ctx lls = {.client_sap = 17,
                                 .server_sap = 1,
                                 .context = AMI_ACSE_CONTEXT_LN,
                                 .mechanism = AMI_ACSE_MECH_LOW};

static int64_t now_t;

static int64_t fx_now(void *u)
{
    (void)u;
    return now_t;
}

static const uint8_t int0[] = {AMI_AXDR_INTEGER, 0};
static const ami_cosem_action billing_actions[] = {
    {AMI_SCRIPT_EXECUTE_METHOD,
     AMI_COSEM_PROFILE_GENERIC,
     {{0, 0, 98, 1, 0, 255}},
     2,
     int0,
     sizeof int0},
    {AMI_SCRIPT_EXECUTE_METHOD,
     AMI_COSEM_EXTENDED_REGISTER,
     {{1, 0, 1, 6, 0, 255}},
     1,
     int0,
     sizeof int0},
};
static const ami_cosem_script billing_scripts[] = {{1, billing_actions, 2}};

static const ami_cosem_capture_def billing_cols[] = {
    {AMI_COSEM_CLOCK, {{0, 0, 1, 0, 0, 255}}, 2, 0},
    {AMI_COSEM_REGISTER, {{1, 0, 1, 8, 0, 255}}, 2, 0},
    {AMI_COSEM_EXTENDED_REGISTER, {{1, 0, 1, 6, 0, 255}}, 2, 0},
    {AMI_COSEM_EXTENDED_REGISTER, {{1, 0, 1, 6, 0, 255}}, 5, 0},
};

static const uint8_t m_all[4] = {1, 1, 1, 1};

typedef struct fixture {
    ami_cosem_obj objs[8];
    ami_cosem_store store;
    ami_cosem_clock clk;
    uint8_t energy[5], maxdem[5];
    ami_cosem_ext_register xr;
    ami_cosem_profile billing;
    uint8_t ring[4 * 64];
    ami_cosem_script_table table;
    ami_cosem_schedule sched;
    ami_cosem_exec_time times[1];
} fixture;

static fixture fx;

static void set_u32(uint8_t *v, uint32_t x)
{
    v[0] = AMI_AXDR_DOUBLE_LONG_UNSIGNED;
    v[1] = (uint8_t)(x >> 24);
    v[2] = (uint8_t)(x >> 16);
    v[3] = (uint8_t)(x >> 8);
    v[4] = (uint8_t)x;
}

static uint32_t get_u32(const uint8_t *v)
{
    return (uint32_t)v[1] << 24 | (uint32_t)v[2] << 16 | (uint32_t)v[3] << 8 | v[4];
}

static void setup_store(void)
{
    memset(&fx, 0, sizeof fx);
    now_t = T0;
    size_t n = 0;
    ami_cosem_clock_init(&fx.clk, 900);
    fx.objs[n++] = (ami_cosem_obj){
        .class_id = AMI_COSEM_CLOCK, .ln = AMI_OBIS(0, 0, 1, 0, 0, 255), .state = &fx.clk};
    set_u32(fx.energy, 12345);
    fx.objs[n++] = (ami_cosem_obj){.class_id = AMI_COSEM_REGISTER,
                                   .ln = AMI_OBIS(1, 0, 1, 8, 0, 255),
                                   .value = fx.energy,
                                   .value_cap = sizeof fx.energy,
                                   .value_len = sizeof fx.energy,
                                   .unit = 30};
    set_u32(fx.maxdem, 777);
    fx.xr.capture_time = T0 - 3600;
    fx.objs[n++] = (ami_cosem_obj){.class_id = AMI_COSEM_EXTENDED_REGISTER,
                                   .ln = AMI_OBIS(1, 0, 1, 6, 0, 255),
                                   .method_access = m_all,
                                   .value = fx.maxdem,
                                   .value_cap = sizeof fx.maxdem,
                                   .value_len = sizeof fx.maxdem,
                                   .state = &fx.xr,
                                   .unit = 27};
    fx.billing = (ami_cosem_profile){.columns = billing_cols,
                                     .ncolumns = 4,
                                     .profile_entries = 4,
                                     .ring = fx.ring,
                                     .ring_cap = sizeof fx.ring,
                                     .row_size = 64};
    fx.objs[n++] = (ami_cosem_obj){.class_id = AMI_COSEM_PROFILE_GENERIC,
                                   .ln = AMI_OBIS(0, 0, 98, 1, 0, 255),
                                   .method_access = m_all,
                                   .state = &fx.billing};
    fx.table = (ami_cosem_script_table){.scripts = billing_scripts, .count = 1};
    fx.objs[n++] = (ami_cosem_obj){.class_id = AMI_COSEM_SCRIPT_TABLE,
                                   .ln = AMI_OBIS(0, 0, 10, 0, 1, 255),
                                   .method_access = m_all,
                                   .state = &fx.table};
    /* 00:00:00 on day 1 of every month */
    memcpy(fx.times[0].time, "\x00\x00\x00\xFF", 4);
    memcpy(fx.times[0].date, "\xFF\xFF\xFF\x01\xFF", 5);
    fx.sched = (ami_cosem_schedule){.script_ln = AMI_OBIS(0, 0, 10, 0, 1, 255),
                                    .script_selector = 1,
                                    .type = AMI_SCHEDULE_ONE,
                                    .times = fx.times,
                                    .cap = 1,
                                    .count = 1};
    fx.objs[n++] = (ami_cosem_obj){.class_id = AMI_COSEM_SINGLE_ACTION_SCHEDULE,
                                   .ln = AMI_OBIS(0, 0, 15, 0, 0, 255),
                                   .state = &fx.sched};
    ami_cosem_clock_src clk = {fx_now, NULL, NULL};
    assert_int_equal(ami_cosem_store_init(&fx.store, fx.objs, n, &clk), AMI_OK);
}

static ami_cosem_obj *obj(ami_obis ln)
{
    ami_cosem_obj *o = ami_cosem_store_find(&fx.store, &ln);
    assert_non_null(o);
    return o;
}

/* Reads the billing buffer whole; returns its length in buf. */
static size_t read_buffer(uint8_t *buf, size_t cap)
{
    ami_cosem_desc d = {AMI_COSEM_PROFILE_GENERIC, AMI_OBIS(0, 0, 98, 1, 0, 255), 2};
    ami_access_selection sel;
    memset(&sel, 0, sizeof sel);
    ami_wr w;
    ami_wr_init(&w, buf, cap);
    assert_int_equal(ami_cosem_store_ops.get(&fx.store, &d, &sel, &lls, &w), AMI_DAR_SUCCESS);
    assert_int_equal(ami_wr_error(&w), 0);
    return w.len;
}

/* A client runs script 1 (execute, long-unsigned 1): one billing entry holding the energy and
 * the maximum before the reset, then the maximum is 0 with the capture time of the reset. */
static void test_execute_captures_and_resets(void **st)
{
    (void)st;
    setup_store();
    static const uint8_t sid1[] = {AMI_AXDR_LONG_UNSIGNED, 0, 1};
    uint8_t out[16];
    ami_wr w;
    ami_wr_init(&w, out, sizeof out);
    ami_cosem_desc d = {AMI_COSEM_SCRIPT_TABLE, AMI_OBIS(0, 0, 10, 0, 1, 255), 1};
    assert_int_equal(
        ami_cosem_store_ops.action(&fx.store, &d, ami_view_of(sid1, sizeof sid1), &lls, &w),
        AMI_ACTION_SUCCESS);
    assert_int_equal(fx.table.executed, 1);
    assert_int_equal(ami_cosem_profile_entries(obj(AMI_OBIS(0, 0, 98, 1, 0, 255))), 1);
    /* the maximum demand register was reset after the capture */
    assert_int_equal(get_u32(fx.maxdem), 0);
    assert_int_equal(fx.xr.capture_time, T0);

    uint8_t buf[256];
    size_t len = read_buffer(buf, sizeof buf);
    /* array(1) { structure(4) { clock, 12345, 777, capture time of the maximum } } */
    assert_int_equal(len, 2 + 40);
    assert_memory_equal(buf, "\x01\x01\x02\x04\x09\x0C", 6);
    static const uint8_t energy[] = {AMI_AXDR_DOUBLE_LONG_UNSIGNED, 0, 0, 0x30, 0x39};
    static const uint8_t max[] = {AMI_AXDR_DOUBLE_LONG_UNSIGNED, 0, 0, 0x03, 0x09};
    assert_memory_equal(buf + 18, energy, sizeof energy);
    assert_memory_equal(buf + 23, max, sizeof max);

    /* an unknown script changes nothing */
    static const uint8_t sid2[] = {AMI_AXDR_LONG_UNSIGNED, 0, 2};
    ami_wr_init(&w, out, sizeof out);
    assert_int_equal(
        ami_cosem_store_ops.action(&fx.store, &d, ami_view_of(sid2, sizeof sid2), &lls, &w),
        AMI_ACTION_OTHER_REASON);
    assert_int_equal(ami_cosem_profile_entries(obj(AMI_OBIS(0, 0, 98, 1, 0, 255))), 1);
}

/* The schedule runs the same script at 00:00:00 local on the 1st: nothing before, one entry
 * and one reset at the month start, nothing more until the next month. */
static void test_schedule_runs_billing_script(void **st)
{
    (void)st;
    setup_store();
    ami_cosem_obj *prof = obj(AMI_OBIS(0, 0, 98, 1, 0, 255));
    assert_int_equal(ami_cosem_store_run(&fx.store, T0), 0);
    assert_int_equal(ami_cosem_store_run(&fx.store, T0 + 3599), 0);
    assert_int_equal(ami_cosem_profile_entries(prof), 0);
    assert_int_equal(get_u32(fx.maxdem), 777);
    now_t = T0 + 3600;
    assert_int_equal(ami_cosem_store_run(&fx.store, now_t), 1);
    assert_int_equal(fx.sched.last_result, AMI_ACTION_SUCCESS);
    assert_int_equal(ami_cosem_profile_entries(prof), 1);
    assert_int_equal(get_u32(fx.maxdem), 0);
    assert_int_equal(fx.xr.capture_time, T0 + 3600);
    /* a new maximum during July; the next closing at 1 August keeps it, then clears it */
    set_u32(fx.maxdem, 4242);
    for (int64_t t = T0 + 3600 + 600; t < T0 + 3600 + 31 * 86400; t += 12 * 3600)
        assert_int_equal(ami_cosem_store_run(&fx.store, now_t = t), 0);
    assert_int_equal(ami_cosem_profile_entries(prof), 1);
    now_t = T0 + 3600 + 31 * 86400; /* 2025-08-01 00:00:00 UTC */
    assert_int_equal(ami_cosem_store_run(&fx.store, now_t), 1);
    assert_int_equal(ami_cosem_profile_entries(prof), 2);
    assert_int_equal(get_u32(fx.maxdem), 0);
    uint8_t buf[256];
    size_t len = read_buffer(buf, sizeof buf);
    static const uint8_t max[] = {AMI_AXDR_DOUBLE_LONG_UNSIGNED, 0, 0, 0x10, 0x92};
    assert_int_equal(len, 2 + 2 * 40);
    /* second entry: after array(2), the first entry's 40 bytes and its structure header */
    assert_memory_equal(buf + 2 + 40 + 2 + 14 + 5, max, sizeof max);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_execute_captures_and_resets),
        cmocka_unit_test(test_schedule_runs_billing_script),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
