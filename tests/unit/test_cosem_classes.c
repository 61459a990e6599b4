/*
 * COSEM interface classes of the reference store (ami/cosem.h) beyond Data, Register, Clock
 * time and Association LN: Disconnect control (70), Clock methods and daylight saving (8),
 * Script table (9), Single action schedule (22), Activity calendar (20), Push setup (40) and
 * SAP assignment (17). Attribute encodings and method semantics as the Blue Book states them.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "ami/ami.h"

/* 2025-06-16 00:00:00 UTC, a Monday. */
#define DAY0 INT64_C(1750032000)

static const ami_dlms_ctx lls = {.client_sap = 17,
                                 .server_sap = 1,
                                 .context = AMI_ACSE_CONTEXT_LN,
                                 .mechanism = AMI_ACSE_MECH_LOW};

/* ---------------------------------------------------------------- fixture */

static int64_t now_t;
static int64_t set_to;
static int set_calls;
static int outputs[8], n_outputs;
static int resets;
static int on_exec_calls;
static uint8_t pushed[512];
static size_t pushed_len;

static int64_t fx_now(void *u)
{
    (void)u;
    return now_t;
}

static uint8_t fx_set(void *u, int64_t t)
{
    (void)u;
    set_to = t;
    now_t = t;
    set_calls++;
    return AMI_DAR_SUCCESS;
}

static void on_output(void *u, bool out)
{
    (void)u;
    if (n_outputs < 8)
        outputs[n_outputs++] = out;
}

static uint8_t reg_method(void *u, ami_cosem_obj *o, uint8_t id, ami_view p, ami_wr *out)
{
    (void)u;
    (void)o;
    (void)p;
    (void)out;
    if (id != 1)
        return AMI_ACTION_OTHER_REASON;
    resets++;
    return AMI_ACTION_SUCCESS;
}

static uint8_t on_exec(void *u, uint16_t id)
{
    (void)u;
    (void)id;
    on_exec_calls++;
    return AMI_ACTION_SUCCESS;
}

static uint8_t push_send(void *u, const ami_cosem_push *p, const uint8_t *apdu, size_t len)
{
    (void)u;
    (void)p;
    assert_true(len <= sizeof pushed);
    memcpy(pushed, apdu, len);
    pushed_len = len;
    return AMI_ACTION_SUCCESS;
}

#define LN_CLOCK    AMI_OBIS(0, 0, 1, 0, 0, 255)
#define LN_DISC     AMI_OBIS(0, 0, 96, 3, 10, 255)
#define LN_DATA     AMI_OBIS(0, 0, 96, 14, 0, 255)
#define LN_REG      AMI_OBIS(1, 0, 1, 6, 0, 255)
#define LN_SCRIPTS  AMI_OBIS(0, 0, 10, 0, 1, 255)
#define LN_SCHEDULE AMI_OBIS(0, 0, 15, 0, 0, 255)
#define LN_CAL      AMI_OBIS(0, 0, 13, 0, 0, 255)
#define LN_PUSH     AMI_OBIS(0, 0, 25, 9, 0, 255)
#define LN_SAP      AMI_OBIS(0, 0, 41, 0, 0, 255)

static const uint8_t m_all[8] = {1, 1, 1, 1, 1, 1, 1, 1};
static const uint8_t rw_all[10] = {1, 3, 3, 3, 3, 3, 3, 3, 3, 3};

/* Script 1: write unsigned 7 into the Data object, then reset the register. Script 2: runs
 * script 2 of the same table (a loop). Script 3: runs the push. */
static const uint8_t u7[] = {0x11, 0x07};
static const uint8_t int0[] = {0x0F, 0x00};
static const uint8_t exec2[] = {0x12, 0x00, 0x02};
/* (static initialisers take the brace form of an OBIS code, not the compound literal) */
static const ami_cosem_action act1[] = {
    {AMI_SCRIPT_WRITE_ATTRIBUTE, AMI_COSEM_DATA, {{0, 0, 96, 14, 0, 255}}, 2, u7, sizeof u7},
    {AMI_SCRIPT_EXECUTE_METHOD, AMI_COSEM_REGISTER, {{1, 0, 1, 6, 0, 255}}, 1, int0, sizeof int0},
};
static const ami_cosem_action act2[] = {
    {AMI_SCRIPT_EXECUTE_METHOD,
     AMI_COSEM_SCRIPT_TABLE,
     {{0, 0, 10, 0, 1, 255}},
     1,
     exec2,
     sizeof exec2},
};
static const ami_cosem_action act3[] = {
    {AMI_SCRIPT_EXECUTE_METHOD,
     AMI_COSEM_PUSH_SETUP,
     {{0, 0, 25, 9, 0, 255}},
     1,
     int0,
     sizeof int0},
};
static const ami_cosem_script scripts[] = {{1, act1, 2}, {2, act2, 1}, {3, act3, 1}};

typedef struct fixture {
    ami_cosem_obj objs[12];
    ami_cosem_store store;
    ami_cosem_disconnect disc;
    ami_cosem_clock clk;
    ami_cosem_script_table table;
    ami_cosem_schedule sched;
    ami_cosem_exec_time times[4];
    ami_cosem_calendar cal;
    uint8_t cal_bufs[8][256];
    ami_cosem_push push;
    ami_cosem_push_obj push_objs[4];
    ami_cosem_window windows[2];
    uint8_t push_apdu[256];
    ami_cosem_sap sap;
    ami_cosem_sap_entry sap_entries[2];
    uint8_t data_value[8];
} fixture;

static fixture fx;

static void setup_store(void)
{
    memset(&fx, 0, sizeof fx);
    now_t = DAY0 + 12 * 3600;
    set_calls = n_outputs = resets = on_exec_calls = 0;
    pushed_len = 0;
    size_t n = 0;
    ami_cosem_clock_init(&fx.clk, 600);
    fx.objs[n++] = (ami_cosem_obj){.class_id = AMI_COSEM_CLOCK,
                                   .ln = LN_CLOCK,
                                   .attr_access = rw_all,
                                   .method_access = m_all,
                                   .state = &fx.clk};
    assert_int_equal(ami_cosem_disconnect_init(&fx.disc, 1, on_output, NULL), AMI_OK);
    fx.objs[n++] = (ami_cosem_obj){.class_id = AMI_COSEM_DISCONNECT_CONTROL,
                                   .ln = LN_DISC,
                                   .method_access = m_all,
                                   .state = &fx.disc};
    fx.data_value[0] = 0x11;
    fx.objs[n++] = (ami_cosem_obj){.class_id = AMI_COSEM_DATA,
                                   .ln = LN_DATA,
                                   .value = fx.data_value,
                                   .value_cap = sizeof fx.data_value,
                                   .value_len = 2};
    fx.objs[n++] = (ami_cosem_obj){.class_id = AMI_COSEM_REGISTER,
                                   .ln = LN_REG,
                                   .method = reg_method,
                                   .value = fx.data_value,
                                   .value_cap = sizeof fx.data_value,
                                   .value_len = 2,
                                   .unit = 27};
    fx.table = (ami_cosem_script_table){.scripts = scripts, .count = 3, .on_execute = on_exec};
    fx.objs[n++] = (ami_cosem_obj){.class_id = AMI_COSEM_SCRIPT_TABLE,
                                   .ln = LN_SCRIPTS,
                                   .method_access = m_all,
                                   .state = &fx.table};
    fx.sched = (ami_cosem_schedule){.script_ln = LN_SCRIPTS,
                                    .script_selector = 1,
                                    .type = AMI_SCHEDULE_ONE,
                                    .times = fx.times,
                                    .cap = 4,
                                    .count = 1};
    /* 00:00:00 on day 1 of every month */
    memcpy(fx.times[0].time, "\x00\x00\x00\xFF", 4);
    memcpy(fx.times[0].date, "\xFF\xFF\xFF\x01\xFF", 5);
    fx.objs[n++] = (ami_cosem_obj){
        .class_id = AMI_COSEM_SINGLE_ACTION_SCHEDULE, .ln = LN_SCHEDULE, .state = &fx.sched};
    for (int i = 0; i < 4; i++) {
        fx.cal.active[i] = (ami_cosem_buf){fx.cal_bufs[i], sizeof fx.cal_bufs[i], 0};
        fx.cal.passive[i] = (ami_cosem_buf){fx.cal_bufs[4 + i], sizeof fx.cal_bufs[4 + i], 0};
    }
    ami_datetime unspec;
    ami_datetime_unspecified(&unspec);
    ami_datetime_encode(&unspec, fx.cal.activate_time);
    fx.objs[n++] = (ami_cosem_obj){.class_id = AMI_COSEM_ACTIVITY_CALENDAR,
                                   .ln = LN_CAL,
                                   .method_access = m_all,
                                   .state = &fx.cal};
    fx.push_objs[0] = (ami_cosem_push_obj){AMI_COSEM_PUSH_SETUP, LN_PUSH, 1, 0};
    fx.push_objs[1] = (ami_cosem_push_obj){AMI_COSEM_DATA, LN_DATA, 2, 0};
    fx.push = (ami_cosem_push){.objects = fx.push_objs,
                               .objects_cap = 4,
                               .objects_count = 2,
                               .transport = AMI_PUSH_TCP,
                               .windows = fx.windows,
                               .windows_cap = 2,
                               .apdu = fx.push_apdu,
                               .apdu_cap = sizeof fx.push_apdu,
                               .send = push_send};
    memcpy(fx.push.destination, "127.0.0.1:4059", 14);
    fx.push.destination_len = 14;
    fx.objs[n++] = (ami_cosem_obj){
        .class_id = AMI_COSEM_PUSH_SETUP, .ln = LN_PUSH, .method_access = m_all, .state = &fx.push};
    fx.sap = (ami_cosem_sap){.entries = fx.sap_entries, .cap = 2, .count = 1};
    fx.sap_entries[0] = (ami_cosem_sap_entry){.sap = 1, .name = "OPENAMI-SIM", .name_len = 11};
    fx.objs[n++] = (ami_cosem_obj){.class_id = AMI_COSEM_SAP_ASSIGNMENT,
                                   .ln = LN_SAP,
                                   .method_access = m_all,
                                   .state = &fx.sap};
    ami_cosem_clock_src clk = {fx_now, fx_set, NULL};
    assert_int_equal(ami_cosem_store_init(&fx.store, fx.objs, n, &clk), AMI_OK);
}

/* ---------------------------------------------------------------- helpers */

static uint8_t get(ami_obis ln, uint16_t cls, int8_t attr, uint8_t *buf, size_t cap, size_t *len)
{
    ami_cosem_desc d = {cls, ln, attr};
    ami_access_selection sel;
    memset(&sel, 0, sizeof sel);
    ami_wr w;
    ami_wr_init(&w, buf, cap);
    uint8_t r = ami_cosem_store_ops.get(&fx.store, &d, &sel, &lls, &w);
    assert_int_equal(ami_wr_error(&w), 0);
    *len = w.len;
    return r;
}

/* Reads an attribute and compares it with the expected hex encoding. */
static void expect_get(ami_obis ln, uint16_t cls, int8_t attr, const char *hex)
{
    uint8_t buf[512];
    size_t len, n;
    assert_int_equal(get(ln, cls, attr, buf, sizeof buf, &len), AMI_DAR_SUCCESS);
    uint8_t *want = tu_hex(hex, &n);
    assert_int_equal(len, n);
    assert_memory_equal(buf, want, n);
    free(want);
}

static uint8_t set_hex(ami_obis ln, uint16_t cls, int8_t attr, const char *hex)
{
    size_t n;
    uint8_t *p = tu_hex(hex, &n);
    ami_cosem_desc d = {cls, ln, attr};
    uint8_t r = ami_cosem_store_ops.set(&fx.store, &d, ami_view_of(p, n), &lls);
    free(p);
    return r;
}

static uint8_t act_hex(ami_obis ln, uint16_t cls, int8_t id, const char *hex)
{
    size_t n = 0;
    uint8_t *p = hex ? tu_hex(hex, &n) : NULL;
    uint8_t out[64];
    ami_wr w;
    ami_wr_init(&w, out, sizeof out);
    ami_cosem_desc d = {cls, ln, id};
    uint8_t r = ami_cosem_store_ops.action(&fx.store, &d, ami_view_of(p, n), &lls, &w);
    free(p);
    return r;
}

#define DISC(id, hex)  act_hex(LN_DISC, AMI_COSEM_DISCONNECT_CONTROL, id, hex)
#define CLOCK(id, hex) act_hex(LN_CLOCK, AMI_COSEM_CLOCK, id, hex)

/* ---------------------------------------------------------------- disconnect control */

static void test_disconnect_encoding(void **st)
{
    (void)st;
    setup_store();
    expect_get(LN_DISC, AMI_COSEM_DISCONNECT_CONTROL, 2, "03 01");
    expect_get(LN_DISC, AMI_COSEM_DISCONNECT_CONTROL, 3, "16 01");
    expect_get(LN_DISC, AMI_COSEM_DISCONNECT_CONTROL, 4, "16 01");
    assert_int_equal(set_hex(LN_DISC, AMI_COSEM_DISCONNECT_CONTROL, 4, "16 04"), AMI_DAR_SUCCESS);
    expect_get(LN_DISC, AMI_COSEM_DISCONNECT_CONTROL, 4, "16 04");
    assert_int_equal(set_hex(LN_DISC, AMI_COSEM_DISCONNECT_CONTROL, 4, "16 07"),
                     AMI_DAR_OTHER_REASON);
    assert_int_equal(set_hex(LN_DISC, AMI_COSEM_DISCONNECT_CONTROL, 4, "11 01"),
                     AMI_DAR_TYPE_UNMATCHED);
    assert_int_equal(set_hex(LN_DISC, AMI_COSEM_DISCONNECT_CONTROL, 3, "16 00"),
                     AMI_DAR_READ_WRITE_DENIED);
    /* parameters: integer(0) or none; anything else is refused */
    assert_int_equal(DISC(1, "11 00"), AMI_DAR_TYPE_UNMATCHED);
    assert_int_equal(fx.disc.control_state, AMI_DISCONNECT_CONNECTED);
}

/* Mode 1: remote disconnect (b), remote reconnect to ready (d), manual reconnect (e). */
static void test_disconnect_mode1(void **st)
{
    (void)st;
    setup_store();
    assert_int_equal(DISC(1, "0F 00"), AMI_ACTION_SUCCESS);
    expect_get(LN_DISC, AMI_COSEM_DISCONNECT_CONTROL, 2, "03 00");
    expect_get(LN_DISC, AMI_COSEM_DISCONNECT_CONTROL, 3, "16 00");
    assert_int_equal(n_outputs, 1);
    assert_int_equal(outputs[0], 0);
    /* already disconnected: success, nothing changes, no callback */
    assert_int_equal(DISC(1, NULL), AMI_ACTION_SUCCESS);
    assert_int_equal(n_outputs, 1);
    assert_int_equal(DISC(2, "0F 00"), AMI_ACTION_SUCCESS);
    expect_get(LN_DISC, AMI_COSEM_DISCONNECT_CONTROL, 3, "16 02");
    expect_get(LN_DISC, AMI_COSEM_DISCONNECT_CONTROL, 2, "03 00");
    assert_int_equal(n_outputs, 1);
    /* local reconnect (h) is not allowed in mode 1; manual (e) is */
    assert_int_equal(ami_cosem_disconnect_trigger(&fx.disc, AMI_DISCONNECT_LOCAL_RECONNECT),
                     AMI_E_ACCESS);
    assert_int_equal(ami_cosem_disconnect_trigger(&fx.disc, AMI_DISCONNECT_MANUAL_RECONNECT),
                     AMI_OK);
    expect_get(LN_DISC, AMI_COSEM_DISCONNECT_CONTROL, 2, "03 01");
    assert_int_equal(n_outputs, 2);
    assert_int_equal(outputs[1], 1);
    /* manual disconnect (f) goes to ready, remote disconnect from ready (c) */
    assert_int_equal(ami_cosem_disconnect_trigger(&fx.disc, AMI_DISCONNECT_MANUAL_DISCONNECT),
                     AMI_OK);
    assert_int_equal(fx.disc.control_state, AMI_DISCONNECT_READY_FOR_RECONNECTION);
    assert_int_equal(DISC(1, NULL), AMI_ACTION_SUCCESS);
    assert_int_equal(fx.disc.control_state, AMI_DISCONNECT_DISCONNECTED);
    assert_int_equal(ami_cosem_disconnect_trigger(&fx.disc, AMI_DISCONNECT_MANUAL_RECONNECT),
                     AMI_E_STATE);
}

/* Every mode against the Blue Book table: which triggers act from which state. */
static void test_disconnect_modes(void **st)
{
    (void)st;
    /* remote_reconnect from disconnected: a (connected) in modes 2 and 4, d (ready) else */
    static const uint8_t reconnect_to[7] = {0, 2, 1, 2, 1, 2, 2};
    /* manual disconnect allowed (f): modes 1, 2, 5; local reconnect (h): 5, 6 */
    static const bool manual_off[7] = {0, 1, 1, 0, 0, 1, 0};
    static const bool local_on[7] = {0, 0, 0, 0, 0, 1, 1};
    for (uint8_t m = 1; m <= 6; m++) {
        ami_cosem_disconnect d;
        assert_int_equal(ami_cosem_disconnect_init(&d, m, NULL, NULL), AMI_OK);
        assert_int_equal(ami_cosem_disconnect_trigger(&d, AMI_DISCONNECT_REMOTE_DISCONNECT),
                         AMI_OK);
        assert_int_equal(ami_cosem_disconnect_trigger(&d, AMI_DISCONNECT_REMOTE_RECONNECT), AMI_OK);
        assert_int_equal(d.control_state, reconnect_to[m]);
        assert_int_equal(d.output_state, reconnect_to[m] == 1);
        assert_int_equal(ami_cosem_disconnect_init(&d, m, NULL, NULL), AMI_OK);
        assert_int_equal(ami_cosem_disconnect_trigger(&d, AMI_DISCONNECT_MANUAL_DISCONNECT),
                         manual_off[m] ? AMI_OK : AMI_E_ACCESS);
        /* local disconnect (g) in every mode 1..6 */
        assert_int_equal(ami_cosem_disconnect_init(&d, m, NULL, NULL), AMI_OK);
        assert_int_equal(ami_cosem_disconnect_trigger(&d, AMI_DISCONNECT_LOCAL_DISCONNECT), AMI_OK);
        assert_int_equal(d.control_state, AMI_DISCONNECT_READY_FOR_RECONNECTION);
        assert_int_equal(ami_cosem_disconnect_trigger(&d, AMI_DISCONNECT_LOCAL_RECONNECT),
                         local_on[m] ? AMI_OK : AMI_E_ACCESS);
        /* manual reconnect (e) in every mode 1..6 */
        assert_int_equal(ami_cosem_disconnect_init(&d, m, NULL, NULL), AMI_OK);
        assert_int_equal(ami_cosem_disconnect_trigger(&d, AMI_DISCONNECT_LOCAL_DISCONNECT), AMI_OK);
        assert_int_equal(ami_cosem_disconnect_trigger(&d, AMI_DISCONNECT_MANUAL_RECONNECT), AMI_OK);
        assert_int_equal(d.control_state, AMI_DISCONNECT_CONNECTED);
    }
    /* mode 0: always connected; the methods answer temporary-failure */
    setup_store();
    assert_int_equal(set_hex(LN_DISC, AMI_COSEM_DISCONNECT_CONTROL, 4, "16 00"), AMI_DAR_SUCCESS);
    assert_int_equal(DISC(1, NULL), AMI_DAR_TEMPORARY_FAILURE);
    assert_int_equal(fx.disc.control_state, AMI_DISCONNECT_CONNECTED);
    /* switching to mode 0 while disconnected reconnects */
    assert_int_equal(set_hex(LN_DISC, AMI_COSEM_DISCONNECT_CONTROL, 4, "16 01"), AMI_DAR_SUCCESS);
    assert_int_equal(DISC(1, NULL), AMI_ACTION_SUCCESS);
    assert_false(fx.disc.output_state);
    assert_int_equal(set_hex(LN_DISC, AMI_COSEM_DISCONNECT_CONTROL, 4, "16 00"), AMI_DAR_SUCCESS);
    assert_true(fx.disc.output_state);
    ami_cosem_disconnect d;
    assert_int_equal(ami_cosem_disconnect_init(&d, 7, NULL, NULL), AMI_E_RANGE);
    assert_int_equal(ami_cosem_disconnect_init(&d, 1, NULL, NULL), AMI_OK);
    assert_int_equal(ami_cosem_disconnect_trigger(&d, 99), AMI_E_INVAL);
}

/* ---------------------------------------------------------------- clock */

static void test_clock_adjust(void **st)
{
    (void)st;
    setup_store();
    /* adjust_to_quarter: 12:07:29 -> 12:00:00, 12:07:30 -> 12:15:00 */
    now_t = DAY0 + 12 * 3600 + 7 * 60 + 29;
    assert_int_equal(CLOCK(1, "0F 00"), AMI_ACTION_SUCCESS);
    assert_int_equal(set_to, DAY0 + 12 * 3600);
    now_t = DAY0 + 12 * 3600 + 7 * 60 + 30;
    assert_int_equal(CLOCK(1, NULL), AMI_ACTION_SUCCESS);
    assert_int_equal(set_to, DAY0 + 12 * 3600 + 900);
    /* adjust_to_measuring_period (600 s here): 12:04:59 -> 12:00, 12:05:00 -> 12:10 */
    now_t = DAY0 + 12 * 3600 + 4 * 60 + 59;
    assert_int_equal(CLOCK(2, NULL), AMI_ACTION_SUCCESS);
    assert_int_equal(set_to, DAY0 + 12 * 3600);
    now_t = DAY0 + 12 * 3600 + 5 * 60;
    assert_int_equal(CLOCK(2, NULL), AMI_ACTION_SUCCESS);
    assert_int_equal(set_to, DAY0 + 12 * 3600 + 600);
    /* adjust_to_minute: < 30 s drop, >= 30 s up */
    now_t = DAY0 + 59 * 60 + 29;
    assert_int_equal(CLOCK(3, NULL), AMI_ACTION_SUCCESS);
    assert_int_equal(set_to, DAY0 + 59 * 60);
    now_t = DAY0 + 59 * 60 + 30;
    assert_int_equal(CLOCK(3, NULL), AMI_ACTION_SUCCESS);
    assert_int_equal(set_to, DAY0 + 3600);
    /* quarter in local time with a half-hour zone (deviation -330, India): 12:07 UTC is
     * 17:37 local, the nearest local quarter 17:30 = 12:00 UTC */
    fx.objs[0].time_zone = -330;
    now_t = DAY0 + 12 * 3600 + 7 * 60;
    assert_int_equal(CLOCK(1, NULL), AMI_ACTION_SUCCESS);
    assert_int_equal(set_to, DAY0 + 12 * 3600);
    /* bad parameters */
    assert_int_equal(CLOCK(1, "11 00"), AMI_DAR_TYPE_UNMATCHED);
    assert_int_equal(CLOCK(7, NULL), AMI_DAR_OBJECT_UNDEFINED);
}

static void test_clock_shift_preset(void **st)
{
    (void)st;
    setup_store();
    now_t = DAY0;
    /* shift_time: long -900..900 */
    assert_int_equal(CLOCK(6, "10 03 84"), AMI_ACTION_SUCCESS);
    assert_int_equal(set_to, DAY0 + 900);
    assert_int_equal(CLOCK(6, "10 FC 7C"), AMI_ACTION_SUCCESS); /* -900 */
    assert_int_equal(set_to, DAY0);
    assert_int_equal(set_calls, 2);
    assert_int_equal(CLOCK(6, "10 03 85"), AMI_ACTION_OTHER_REASON); /* 901 */
    assert_int_equal(CLOCK(6, "12 00 10"), AMI_DAR_TYPE_UNMATCHED);
    assert_int_equal(CLOCK(6, NULL), AMI_DAR_TYPE_UNMATCHED);
    assert_int_equal(set_calls, 2);
    /* adjust_to_preset_time without a preset: other-reason */
    assert_int_equal(CLOCK(4, NULL), AMI_ACTION_OTHER_REASON);
    /* preset 2025-06-16 01:00:00 UTC, valid 00:00:00 .. 00:30:00 (deviation 0) */
    const char *preset = "02 03"
                         " 09 0C 07E9 06 10 01 01 00 00 00 0000 00"
                         " 09 0C 07E9 06 10 01 00 00 00 00 0000 00"
                         " 09 0C 07E9 06 10 01 00 1E 00 00 0000 00";
    assert_int_equal(CLOCK(5, preset), AMI_ACTION_SUCCESS);
    now_t = DAY0 + 31 * 60; /* outside the interval */
    assert_int_equal(CLOCK(4, NULL), AMI_ACTION_OTHER_REASON);
    now_t = DAY0 + 10 * 60;
    assert_int_equal(CLOCK(4, NULL), AMI_ACTION_SUCCESS);
    assert_int_equal(set_to, DAY0 + 3600);
    now_t = DAY0 + 10 * 60;
    assert_int_equal(CLOCK(4, NULL), AMI_ACTION_OTHER_REASON); /* used once */
    /* interval end before its start; wrong structure */
    assert_int_equal(CLOCK(5, "02 03"
                              " 09 0C 07E9 06 10 01 01 00 00 00 0000 00"
                              " 09 0C 07E9 06 10 01 02 00 00 00 0000 00"
                              " 09 0C 07E9 06 10 01 01 00 00 00 0000 00"),
                     AMI_ACTION_OTHER_REASON);
    assert_int_equal(CLOCK(5, "02 02 09 00 09 00"), AMI_DAR_TYPE_UNMATCHED);
}

static void test_clock_dst(void **st)
{
    (void)st;
    setup_store();
    expect_get(LN_CLOCK, AMI_COSEM_CLOCK, 7, "0F 3C");
    expect_get(LN_CLOCK, AMI_COSEM_CLOCK, 8, "03 00");
    /* last Sunday of March, 02:00 (month 3, day 0xFE, weekday 7) */
    assert_int_equal(
        set_hex(LN_CLOCK, AMI_COSEM_CLOCK, 5, "09 0C FFFF 03 FE 07 02 00 00 00 8000 FF"),
        AMI_DAR_SUCCESS);
    expect_get(LN_CLOCK, AMI_COSEM_CLOCK, 5, "09 0C FFFF 03 FE 07 02 00 00 00 8000 FF");
    assert_int_equal(set_hex(LN_CLOCK, AMI_COSEM_CLOCK, 8, "03 01"), AMI_DAR_SUCCESS);
    expect_get(LN_CLOCK, AMI_COSEM_CLOCK, 8, "03 01");
    assert_int_equal(set_hex(LN_CLOCK, AMI_COSEM_CLOCK, 7, "0F 79"), AMI_DAR_OTHER_REASON);
    assert_int_equal(
        set_hex(LN_CLOCK, AMI_COSEM_CLOCK, 5, "09 0C FFFF 0D 01 FF 00 00 00 00 8000 FF"),
        AMI_DAR_OTHER_REASON);
    /* a Clock without state keeps fixed daylight-saving attributes */
    fx.objs[0].state = NULL;
    expect_get(LN_CLOCK, AMI_COSEM_CLOCK, 8, "03 00");
    assert_int_equal(set_hex(LN_CLOCK, AMI_COSEM_CLOCK, 8, "03 01"), AMI_DAR_READ_WRITE_DENIED);
}

/* ---------------------------------------------------------------- script table */

static void test_script_table(void **st)
{
    (void)st;
    setup_store();
    /* attribute 2: script 1's actions as the Blue Book encodes action_specification */
    uint8_t buf[512];
    size_t len;
    assert_int_equal(get(LN_SCRIPTS, AMI_COSEM_SCRIPT_TABLE, 2, buf, sizeof buf, &len),
                     AMI_DAR_SUCCESS);
    size_t n;
    uint8_t *want = tu_hex("01 03 02 02 12 0001 01 02"
                           " 02 05 16 01 12 0001 09 06 00 00 60 0E 00 FF 0F 02 11 07"
                           " 02 05 16 02 12 0003 09 06 01 00 01 06 00 FF 0F 01 0F 00",
                           &n);
    assert_true(len > n);
    assert_memory_equal(buf, want, n);
    free(want);
    /* execute(1): writes 7 into the Data object and resets the register */
    assert_int_equal(act_hex(LN_SCRIPTS, AMI_COSEM_SCRIPT_TABLE, 1, "12 00 01"),
                     AMI_ACTION_SUCCESS);
    expect_get(LN_DATA, AMI_COSEM_DATA, 2, "11 07");
    assert_int_equal(resets, 1);
    assert_int_equal(on_exec_calls, 1);
    /* unknown script; wrong parameter type */
    assert_int_equal(act_hex(LN_SCRIPTS, AMI_COSEM_SCRIPT_TABLE, 1, "12 00 09"),
                     AMI_ACTION_OTHER_REASON);
    assert_int_equal(act_hex(LN_SCRIPTS, AMI_COSEM_SCRIPT_TABLE, 1, "11 01"),
                     AMI_DAR_TYPE_UNMATCHED);
    /* a script that runs itself stops at the nesting bound */
    on_exec_calls = 0;
    assert_int_equal(act_hex(LN_SCRIPTS, AMI_COSEM_SCRIPT_TABLE, 1, "12 00 02"),
                     AMI_ACTION_OTHER_REASON);
    assert_int_equal(on_exec_calls, AMI_SCRIPT_MAX_DEPTH);
    assert_int_equal(fx.table.depth, 0);
    /* scripts are the meter's configuration: not writable */
    assert_int_equal(set_hex(LN_SCRIPTS, AMI_COSEM_SCRIPT_TABLE, 2, "01 00"),
                     AMI_DAR_READ_WRITE_DENIED);
}

/* ---------------------------------------------------------------- single action schedule */

static void test_schedule(void **st)
{
    (void)st;
    setup_store();
    expect_get(LN_SCHEDULE, AMI_COSEM_SINGLE_ACTION_SCHEDULE, 2,
               "02 02 09 06 00 00 0A 00 01 FF 12 00 01");
    expect_get(LN_SCHEDULE, AMI_COSEM_SINGLE_ACTION_SCHEDULE, 3, "16 01");
    expect_get(LN_SCHEDULE, AMI_COSEM_SINGLE_ACTION_SCHEDULE, 4,
               "01 01 02 02 09 04 00 00 00 FF 09 05 FF FF FF 01 FF");
    /* 2025-06-30 23:59:00 UTC .. 2025-07-01 00:01:00: fires once at 00:00:00 */
    int64_t jun30 = DAY0 + 14 * 86400 + 23 * 3600 + 59 * 60;
    assert_int_equal(ami_cosem_store_run(&fx.store, jun30), 0); /* first call: records */
    assert_int_equal(ami_cosem_store_run(&fx.store, jun30 + 59), 0);
    assert_int_equal(ami_cosem_store_run(&fx.store, jun30 + 60), 1);
    assert_int_equal(resets, 1);
    assert_int_equal(fx.sched.last_result, AMI_ACTION_SUCCESS);
    assert_int_equal(ami_cosem_store_run(&fx.store, jun30 + 120), 0);
    /* the clock set back fires nothing; passing 00:00 again fires again */
    assert_int_equal(ami_cosem_store_run(&fx.store, jun30 + 30), 0);
    assert_int_equal(resets, 1);
    assert_int_equal(ami_cosem_store_run(&fx.store, jun30 + 61), 1);
    assert_int_equal(resets, 2);
    /* a long gap (a month) is cut to its last day: 2025-08-01 00:00 fires once */
    assert_int_equal(ami_cosem_store_run(&fx.store, jun30 + 60 + 31 * 86400 + 10), 1);
    assert_int_equal(resets, 3);
    /* local time: deviation -120 (UTC+2) fires at 22:00 UTC the day before */
    fx.objs[0].time_zone = -120;
    int64_t aug31 = DAY0 + 76 * 86400 + 21 * 3600; /* 2025-08-31 21:00 UTC */
    assert_int_equal(ami_cosem_store_run(&fx.store, aug31), 0);
    assert_int_equal(ami_cosem_store_run(&fx.store, aug31 + 3600), 1);
    /* SET: type 1 refuses two times; type 4 refuses a wildcard date (the one in place);
     * type 5 takes both, then type 4 fits two specific dates; type 2 wants equal times */
    const char *two = "01 02 02 02 09 04 06 00 00 00 09 05 07E9 09 01 FF"
                      " 02 02 09 04 07 00 00 00 09 05 07E9 09 02 FF";
    assert_int_equal(set_hex(LN_SCHEDULE, AMI_COSEM_SINGLE_ACTION_SCHEDULE, 4, two),
                     AMI_DAR_OTHER_REASON);
    assert_int_equal(set_hex(LN_SCHEDULE, AMI_COSEM_SINGLE_ACTION_SCHEDULE, 3, "16 04"),
                     AMI_DAR_OTHER_REASON);
    assert_int_equal(set_hex(LN_SCHEDULE, AMI_COSEM_SINGLE_ACTION_SCHEDULE, 3, "16 05"),
                     AMI_DAR_SUCCESS);
    assert_int_equal(set_hex(LN_SCHEDULE, AMI_COSEM_SINGLE_ACTION_SCHEDULE, 4, two),
                     AMI_DAR_SUCCESS);
    assert_int_equal(set_hex(LN_SCHEDULE, AMI_COSEM_SINGLE_ACTION_SCHEDULE, 3, "16 04"),
                     AMI_DAR_SUCCESS);
    assert_int_equal(fx.sched.count, 2);
    assert_int_equal(set_hex(LN_SCHEDULE, AMI_COSEM_SINGLE_ACTION_SCHEDULE, 3, "16 02"),
                     AMI_DAR_OTHER_REASON); /* times differ */
    assert_int_equal(set_hex(LN_SCHEDULE, AMI_COSEM_SINGLE_ACTION_SCHEDULE, 4,
                             "01 01 02 02 09 04 00 00 00 FF 09 05 FF FF FF 01 FF"),
                     AMI_DAR_OTHER_REASON); /* type 4: no wildcard date */
    assert_int_equal(fx.sched.count, 2);
    /* more than the array holds; bad time */
    assert_int_equal(set_hex(LN_SCHEDULE, AMI_COSEM_SINGLE_ACTION_SCHEDULE, 4, "01 05"),
                     AMI_DAR_OTHER_REASON);
    assert_int_equal(set_hex(LN_SCHEDULE, AMI_COSEM_SINGLE_ACTION_SCHEDULE, 4,
                             "01 01 02 02 09 04 19 00 00 00 09 05 07E9 09 01 FF"),
                     AMI_DAR_OTHER_REASON);
    assert_int_equal(set_hex(LN_SCHEDULE, AMI_COSEM_SINGLE_ACTION_SCHEDULE, 2,
                             "02 02 09 06 00 00 0A 00 01 FF 12 00 03"),
                     AMI_DAR_SUCCESS);
    assert_int_equal(fx.sched.script_selector, 3);
}

/* ---------------------------------------------------------------- activity calendar */

/* Passive calendar "WINTER"... one season from 1 January (any year), week "W" with day 1 on
 * weekdays and day 2 at the weekend; day 1: 07:00 tariff 1 (script 0-0:10.0.100.255 selector
 * 1), 23:00 tariff 2; day 2: 00:00 tariff 2. */
#define CAL_NAME   "09 03 43 41 4C"
#define CAL_SEASON "01 01 02 03 09 01 53 09 0C FFFF 01 01 FF 00 00 00 00 8000 FF 09 01 57"
#define CAL_WEEK   "01 01 02 08 09 01 57 11 01 11 01 11 01 11 01 11 01 11 02 11 02"
#define CAL_DAYS                                                 \
    "01 02"                                                      \
    " 02 02 11 01 01 02"                                         \
    "  02 03 09 04 07 00 00 00 09 06 00 00 0A 00 64 FF 12 00 01" \
    "  02 03 09 04 17 00 00 00 09 06 00 00 0A 00 64 FF 12 00 02" \
    " 02 02 11 02 01 01"                                         \
    "  02 03 09 04 00 00 00 00 09 06 00 00 0A 00 64 FF 12 00 02"

static void load_passive(void)
{
    assert_int_equal(set_hex(LN_CAL, AMI_COSEM_ACTIVITY_CALENDAR, 6, CAL_NAME), AMI_DAR_SUCCESS);
    assert_int_equal(set_hex(LN_CAL, AMI_COSEM_ACTIVITY_CALENDAR, 7, CAL_SEASON), AMI_DAR_SUCCESS);
    assert_int_equal(set_hex(LN_CAL, AMI_COSEM_ACTIVITY_CALENDAR, 8, CAL_WEEK), AMI_DAR_SUCCESS);
    assert_int_equal(set_hex(LN_CAL, AMI_COSEM_ACTIVITY_CALENDAR, 9, CAL_DAYS), AMI_DAR_SUCCESS);
}

static void test_calendar(void **st)
{
    (void)st;
    setup_store();
    expect_get(LN_CAL, AMI_COSEM_ACTIVITY_CALENDAR, 2, "09 00");
    expect_get(LN_CAL, AMI_COSEM_ACTIVITY_CALENDAR, 3, "01 00");
    load_passive();
    expect_get(LN_CAL, AMI_COSEM_ACTIVITY_CALENDAR, 9, CAL_DAYS);
    expect_get(LN_CAL, AMI_COSEM_ACTIVITY_CALENDAR, 5, "01 00"); /* active still empty */
    ami_cosem_calendar_action a;
    int64_t until;
    assert_int_equal(ami_cosem_calendar_at(&fx.cal, DAY0, 0, &a, &until), AMI_E_NOTFOUND);
    /* active attributes are not writable */
    assert_int_equal(set_hex(LN_CAL, AMI_COSEM_ACTIVITY_CALENDAR, 2, CAL_NAME),
                     AMI_DAR_READ_WRITE_DENIED);
    /* activate_passive_calendar */
    assert_int_equal(act_hex(LN_CAL, AMI_COSEM_ACTIVITY_CALENDAR, 1, "0F 00"), AMI_ACTION_SUCCESS);
    expect_get(LN_CAL, AMI_COSEM_ACTIVITY_CALENDAR, 2, CAL_NAME);
    expect_get(LN_CAL, AMI_COSEM_ACTIVITY_CALENDAR, 3, CAL_SEASON);
    expect_get(LN_CAL, AMI_COSEM_ACTIVITY_CALENDAR, 4, CAL_WEEK);
    expect_get(LN_CAL, AMI_COSEM_ACTIVITY_CALENDAR, 5, CAL_DAYS);
    /* Monday 06:59: the day's last entry (23:00, tariff 2) still runs; until 07:00 */
    const ami_obis tariffs = AMI_OBIS(0, 0, 10, 0, 100, 255);
    assert_int_equal(ami_cosem_calendar_at(&fx.cal, DAY0 + 6 * 3600 + 59 * 60, 0, &a, &until),
                     AMI_OK);
    assert_true(ami_obis_equal(&a.script_ln, &tariffs));
    assert_int_equal(a.script_selector, 2);
    assert_int_equal(until, DAY0 + 7 * 3600);
    assert_int_equal(ami_cosem_calendar_at(&fx.cal, DAY0 + 7 * 3600, 0, &a, &until), AMI_OK);
    assert_int_equal(a.script_selector, 1);
    assert_int_equal(until, DAY0 + 23 * 3600);
    assert_int_equal(ami_cosem_calendar_at(&fx.cal, DAY0 + 23 * 3600, 0, &a, &until), AMI_OK);
    assert_int_equal(a.script_selector, 2);
    assert_int_equal(until, DAY0 + 86400);
    /* Saturday noon: day 2, tariff 2 all day */
    assert_int_equal(ami_cosem_calendar_at(&fx.cal, DAY0 + 5 * 86400 + 12 * 3600, 0, &a, &until),
                     AMI_OK);
    assert_int_equal(a.script_selector, 2);
    assert_int_equal(until, DAY0 + 6 * 86400);
    /* local time: deviation -60 (UTC+1): 06:30 UTC is 07:30 local, tariff 1 */
    assert_int_equal(ami_cosem_calendar_at(&fx.cal, DAY0 + 6 * 3600 + 1800, -60, &a, &until),
                     AMI_OK);
    assert_int_equal(a.script_selector, 1);
    assert_int_equal(until, DAY0 + 22 * 3600);
    /* bad passive values are refused and leave the old one */
    assert_int_equal(set_hex(LN_CAL, AMI_COSEM_ACTIVITY_CALENDAR, 8, "01 01 02 02 09 01 57 11 01"),
                     AMI_DAR_TYPE_UNMATCHED);
    assert_int_equal(set_hex(LN_CAL, AMI_COSEM_ACTIVITY_CALENDAR, 9,
                             "01 01 02 02 11 01 01 01 02 03 09 04 19 00 00 00 09 06 00 00 0A "
                             "00 64 FF 12 00 01"),
                     AMI_DAR_OTHER_REASON);
    expect_get(LN_CAL, AMI_COSEM_ACTIVITY_CALENDAR, 8, CAL_WEEK);
}

static void test_calendar_activation_time(void **st)
{
    (void)st;
    setup_store();
    load_passive();
    /* activate at 2025-06-16 00:10:00, deviation 0 */
    assert_int_equal(
        set_hex(LN_CAL, AMI_COSEM_ACTIVITY_CALENDAR, 10, "09 0C 07E9 06 10 FF 00 0A 00 00 0000 00"),
        AMI_DAR_SUCCESS);
    assert_int_equal(ami_cosem_store_run(&fx.store, DAY0), 0);
    assert_int_equal(ami_cosem_store_run(&fx.store, DAY0 + 599), 0);
    assert_int_equal(fx.cal.activations, 0);
    assert_int_equal(ami_cosem_store_run(&fx.store, DAY0 + 600), 1);
    assert_int_equal(fx.cal.activations, 1);
    expect_get(LN_CAL, AMI_COSEM_ACTIVITY_CALENDAR, 2, CAL_NAME);
    assert_int_equal(ami_cosem_store_run(&fx.store, DAY0 + 700), 0);
    assert_int_equal(set_hex(LN_CAL, AMI_COSEM_ACTIVITY_CALENDAR, 10, "09 0B 00"),
                     AMI_DAR_TYPE_UNMATCHED);
}

/* ---------------------------------------------------------------- push setup */

static void test_push(void **st)
{
    (void)st;
    setup_store();
    expect_get(LN_PUSH, AMI_COSEM_PUSH_SETUP, 2,
               "01 02 02 04 12 00 28 09 06 00 00 19 09 00 FF 0F 01 12 00 00"
               " 02 04 12 00 01 09 06 00 00 60 0E 00 FF 0F 02 12 00 00");
    expect_get(LN_PUSH, AMI_COSEM_PUSH_SETUP, 3,
               "02 03 16 00 09 0E 31 32 37 2E 30 2E 30 2E 31 3A 34 30 35 39 16 00");
    expect_get(LN_PUSH, AMI_COSEM_PUSH_SETUP, 4, "01 00");
    assert_int_equal(set_hex(LN_PUSH, AMI_COSEM_PUSH_SETUP, 6, "11 03"), AMI_DAR_SUCCESS);
    expect_get(LN_PUSH, AMI_COSEM_PUSH_SETUP, 6, "11 03");
    assert_int_equal(set_hex(LN_PUSH, AMI_COSEM_PUSH_SETUP, 7, "12 00 1E"), AMI_DAR_SUCCESS);
    expect_get(LN_PUSH, AMI_COSEM_PUSH_SETUP, 7, "12 00 1E");
    assert_int_equal(set_hex(LN_PUSH, AMI_COSEM_PUSH_SETUP, 5, "12 00 05"), AMI_DAR_SUCCESS);
    expect_get(LN_PUSH, AMI_COSEM_PUSH_SETUP, 5, "12 00 05");

    /* push: Data-Notification with invoke-id 1, the clock time, body {ln, Data value} */
    fx.data_value[1] = 0x2A;
    now_t = DAY0 + 12 * 3600;
    assert_int_equal(act_hex(LN_PUSH, AMI_COSEM_PUSH_SETUP, 1, "0F 00"), AMI_ACTION_SUCCESS);
    size_t n;
    uint8_t *want = tu_hex("0F 00000001 0C 07E9 06 10 01 0C 00 00 00 0000 00"
                           " 02 02 09 06 00 00 19 09 00 FF 11 2A",
                           &n);
    assert_int_equal(pushed_len, n);
    assert_memory_equal(pushed, want, n);
    free(want);
    /* our own APDU decoder accepts it */
    ami_apdu a;
    assert_int_equal(ami_apdu_decode(pushed, pushed_len, NULL, NULL, &a), AMI_OK);
    assert_int_equal(a.tag, AMI_APDU_DATA_NOTIFICATION);
    assert_int_equal(a.u.data_notification.long_iip, 1);
    assert_int_equal(a.u.data_notification.body.len, 12);
    /* the invoke-id counts up */
    assert_int_equal(ami_cosem_push_run(&fx.store, &fx.objs[7], now_t, &n), AMI_ACTION_SUCCESS);
    assert_int_equal(pushed[4], 2);

    /* communication window 13:00..14:00: outside -> temporary-failure, inside -> pushed */
    assert_int_equal(set_hex(LN_PUSH, AMI_COSEM_PUSH_SETUP, 4,
                             "01 01 02 02 09 0C 07E9 06 10 01 0D 00 00 00 0000 00"
                             " 09 0C 07E9 06 10 01 0E 00 00 00 0000 00"),
                     AMI_DAR_SUCCESS);
    assert_int_equal(act_hex(LN_PUSH, AMI_COSEM_PUSH_SETUP, 1, NULL), AMI_DAR_TEMPORARY_FAILURE);
    now_t = DAY0 + 13 * 3600 + 60;
    assert_int_equal(act_hex(LN_PUSH, AMI_COSEM_PUSH_SETUP, 1, NULL), AMI_ACTION_SUCCESS);
    assert_int_equal(fx.push.pushed, 3);

    /* attribute 0: every attribute of the object, as a structure */
    assert_int_equal(set_hex(LN_PUSH, AMI_COSEM_PUSH_SETUP, 2,
                             "01 01 02 04 12 00 01 09 06 00 00 60 0E 00 FF 0F 00 12 00 00"),
                     AMI_DAR_SUCCESS);
    assert_int_equal(act_hex(LN_PUSH, AMI_COSEM_PUSH_SETUP, 1, NULL), AMI_ACTION_SUCCESS);
    want = tu_hex("02 01 02 02 09 06 00 00 60 0E 00 FF 11 2A", &n);
    assert_int_equal(pushed_len, 18 + n);
    assert_memory_equal(pushed + 18, want, n);
    free(want);
    /* an object that does not exist fails the push */
    assert_int_equal(set_hex(LN_PUSH, AMI_COSEM_PUSH_SETUP, 2,
                             "01 01 02 04 12 00 01 09 06 00 00 60 0F 00 FF 0F 02 12 00 00"),
                     AMI_DAR_SUCCESS);
    assert_int_equal(act_hex(LN_PUSH, AMI_COSEM_PUSH_SETUP, 1, NULL), AMI_ACTION_OTHER_REASON);
    /* a list longer than the array; a destination too long */
    assert_int_equal(set_hex(LN_PUSH, AMI_COSEM_PUSH_SETUP, 2, "01 05"), AMI_DAR_OTHER_REASON);
    assert_int_equal(set_hex(LN_PUSH, AMI_COSEM_PUSH_SETUP, 3,
                             "02 03 16 00 09 41 "
                             "00000000000000000000000000000000"
                             "00000000000000000000000000000000"
                             "00000000000000000000000000000000"
                             "00000000000000000000000000000000"
                             "00 16 00"),
                     AMI_DAR_OTHER_REASON);
    assert_int_equal(set_hex(LN_PUSH, AMI_COSEM_PUSH_SETUP, 3, "02 03 16 01 09 02 41 42 16 00"),
                     AMI_DAR_SUCCESS);
    assert_int_equal(fx.push.transport, AMI_PUSH_UDP);
}

/* data_index: one element of a structure value, followed by a whole value. */
static void test_push_data_index(void **st)
{
    (void)st;
    setup_store();
    fx.data_value[1] = 0x2A;
    now_t = DAY0 + 12 * 3600;
    /* {40, push setup, 3, 2}: the destination of send_destination_and_method; {1, data, 2, 0} */
    assert_int_equal(set_hex(LN_PUSH, AMI_COSEM_PUSH_SETUP, 2,
                             "01 02 02 04 12 00 28 09 06 00 00 19 09 00 FF 0F 03 12 00 02"
                             " 02 04 12 00 01 09 06 00 00 60 0E 00 FF 0F 02 12 00 00"),
                     AMI_DAR_SUCCESS);
    expect_get(LN_PUSH, AMI_COSEM_PUSH_SETUP, 2,
               "01 02 02 04 12 00 28 09 06 00 00 19 09 00 FF 0F 03 12 00 02"
               " 02 04 12 00 01 09 06 00 00 60 0E 00 FF 0F 02 12 00 00");
    assert_int_equal(act_hex(LN_PUSH, AMI_COSEM_PUSH_SETUP, 1, NULL), AMI_ACTION_SUCCESS);
    size_t n;
    uint8_t *want = tu_hex("02 02 09 0E 31 32 37 2E 30 2E 30 2E 31 3A 34 30 35 39 11 2A", &n);
    assert_int_equal(pushed_len, 18 + n);
    assert_memory_equal(pushed + 18, want, n);
    free(want);
    /* past the last element (3 in the structure) */
    fx.push_objs[0].data_index = 4;
    assert_int_equal(act_hex(LN_PUSH, AMI_COSEM_PUSH_SETUP, 1, NULL), AMI_ACTION_OTHER_REASON);
    /* with attribute_index 0 (every attribute) */
    fx.push_objs[0] = (ami_cosem_push_obj){AMI_COSEM_PUSH_SETUP, LN_PUSH, 0, 1};
    assert_int_equal(act_hex(LN_PUSH, AMI_COSEM_PUSH_SETUP, 1, NULL), AMI_ACTION_OTHER_REASON);
    /* a value that is neither a structure nor an array */
    fx.push_objs[0] = (ami_cosem_push_obj){AMI_COSEM_DATA, LN_DATA, 2, 1};
    assert_int_equal(act_hex(LN_PUSH, AMI_COSEM_PUSH_SETUP, 1, NULL), AMI_ACTION_OTHER_REASON);
    /* the list is set whole or not at all: a bad second element keeps the old list */
    assert_int_equal(set_hex(LN_PUSH, AMI_COSEM_PUSH_SETUP, 2,
                             "01 02 02 04 12 00 01 09 06 00 00 60 0E 00 FF 0F 02 12 00 00"
                             " 02 03 12 00 01 09 06 00 00 60 0E 00 FF 0F 02"),
                     AMI_DAR_TYPE_UNMATCHED);
    assert_int_equal(fx.push.objects_count, 2);
    assert_int_equal(fx.push_objs[0].data_index, 1);
}

/* The schedule arithmetic: randomised start, retries and their delays (versions 0..2). */
static void test_push_schedule(void **st)
{
    (void)st;
    ami_cosem_push p;
    memset(&p, 0, sizeof p);
    uint32_t d = 7;
    /* no randomisation: at once; else uniform over [0, interval] */
    assert_int_equal(ami_cosem_push_start_delay(&p, 12345), 0);
    p.randomisation_start_interval = 10;
    assert_int_equal(ami_cosem_push_start_delay(&p, 25), 3);
    assert_int_equal(ami_cosem_push_start_delay(&p, UINT32_MAX), 3);
    unsigned seen = 0;
    for (uint32_t r = 0; r < 1000; r++) {
        uint32_t s = ami_cosem_push_start_delay(&p, r * 2654435761u);
        assert_true(s <= 10);
        seen |= 1u << s;
    }
    assert_int_equal(seen, 0x7FF);
    p.randomisation_start_interval = 65535;
    assert_int_equal(ami_cosem_push_start_delay(&p, 65535), 65535);
    assert_int_equal(ami_cosem_push_start_delay(&p, 65536), 0);
    assert_int_equal(ami_cosem_push_start_delay(NULL, 5), 0);

    /* no retries */
    assert_false(ami_cosem_push_retry(&p, 1, &d));
    assert_int_equal(d, 7);
    /* versions 0 and 1: number_of_retries times repetition_delay */
    p.number_of_retries = 3;
    p.repetition_delay = 30;
    assert_false(ami_cosem_push_retry(&p, 0, &d));
    for (unsigned f = 1; f <= 3; f++) {
        d = 0;
        assert_true(ami_cosem_push_retry(&p, f, &d));
        assert_int_equal(d, 30);
    }
    assert_false(ami_cosem_push_retry(&p, 4, &d));
    assert_true(ami_cosem_push_retry(&p, 2, NULL));
    p.repetition_delay = 0;
    assert_true(ami_cosem_push_retry(&p, 1, &d));
    assert_int_equal(d, 0);

    /* version 2: min x (exponent / 100)^(n - 1), at most max */
    static const struct {
        uint16_t min, exp, max;
        uint32_t want[5];
    } v2[] = {
        {10, 200, 0, {10, 20, 40, 80, 160}}, {10, 200, 50, {10, 20, 40, 50, 50}},
        {10, 150, 0, {10, 15, 22, 33, 49}},  {10, 100, 0, {10, 10, 10, 10, 10}},
        {10, 50, 0, {10, 5, 2, 1, 0}},       {100, 0, 60, {60, 60, 60, 60, 60}},
    };
    p.number_of_retries = 5;
    for (size_t i = 0; i < sizeof v2 / sizeof v2[0]; i++) {
        p.repetition_delay = v2[i].min;
        p.repetition_delay_exponent = v2[i].exp;
        p.repetition_delay_max = v2[i].max;
        for (unsigned f = 1; f <= 5; f++) {
            assert_true(ami_cosem_push_retry(&p, f, &d));
            assert_int_equal(d, v2[i].want[f - 1]);
        }
        assert_false(ami_cosem_push_retry(&p, 6, &d));
    }
    /* the largest values saturate instead of overflowing */
    p.number_of_retries = 255;
    p.repetition_delay = 65535;
    p.repetition_delay_exponent = 65535;
    p.repetition_delay_max = 0;
    assert_true(ami_cosem_push_retry(&p, 255, &d));
    assert_int_equal(d, UINT32_MAX);
    p.repetition_delay_max = 65535;
    assert_true(ami_cosem_push_retry(&p, 255, &d));
    assert_int_equal(d, 65535);
}

/* The schedule runs script 3, which pushes. */
static void test_push_on_schedule(void **st)
{
    (void)st;
    setup_store();
    fx.sched.script_selector = 3;
    int64_t jun30 = DAY0 + 14 * 86400 + 23 * 3600 + 59 * 60;
    assert_int_equal(ami_cosem_store_run(&fx.store, jun30), 0);
    now_t = jun30 + 60;
    assert_int_equal(ami_cosem_store_run(&fx.store, jun30 + 60), 1);
    assert_int_equal(fx.push.pushed, 1);
    assert_int_equal(pushed[0], AMI_APDU_DATA_NOTIFICATION);
}

/* ---------------------------------------------------------------- SAP assignment */

static void test_sap(void **st)
{
    (void)st;
    setup_store();
    const ami_obis ln = LN_SAP;
    expect_get(ln, AMI_COSEM_SAP_ASSIGNMENT, 2,
               "01 01 02 02 12 00 01 09 0B 4F 50 45 4E 41 4D 49 2D 53 49 4D");
    /* connect "LD2" at SAP 2; SAP 1 is taken; move LD2 to 3; remove it with SAP 0 */
    assert_int_equal(act_hex(ln, AMI_COSEM_SAP_ASSIGNMENT, 1, "02 02 12 00 02 09 03 4C 44 32"),
                     AMI_ACTION_SUCCESS);
    expect_get(ln, AMI_COSEM_SAP_ASSIGNMENT, 2,
               "01 02 02 02 12 00 01 09 0B 4F 50 45 4E 41 4D 49 2D 53 49 4D"
               " 02 02 12 00 02 09 03 4C 44 32");
    assert_int_equal(act_hex(ln, AMI_COSEM_SAP_ASSIGNMENT, 1, "02 02 12 00 01 09 03 4C 44 32"),
                     AMI_ACTION_OTHER_REASON);
    assert_int_equal(act_hex(ln, AMI_COSEM_SAP_ASSIGNMENT, 1, "02 02 12 00 03 09 03 4C 44 32"),
                     AMI_ACTION_SUCCESS);
    assert_int_equal(fx.sap_entries[1].sap, 3);
    /* full: a third device does not fit */
    assert_int_equal(act_hex(ln, AMI_COSEM_SAP_ASSIGNMENT, 1, "02 02 12 00 04 09 03 4C 44 33"),
                     AMI_ACTION_OTHER_REASON);
    assert_int_equal(act_hex(ln, AMI_COSEM_SAP_ASSIGNMENT, 1, "02 02 12 00 00 09 03 4C 44 32"),
                     AMI_ACTION_SUCCESS);
    assert_int_equal(fx.sap.count, 1);
    /* malformed parameters; a name longer than 16 */
    assert_int_equal(act_hex(ln, AMI_COSEM_SAP_ASSIGNMENT, 1, "02 01 12 00 02"),
                     AMI_DAR_TYPE_UNMATCHED);
    assert_int_equal(act_hex(ln, AMI_COSEM_SAP_ASSIGNMENT, 1,
                             "02 02 12 00 02 09 11 4142434445464748494A4B4C4D4E4F5051"),
                     AMI_ACTION_OTHER_REASON);
    assert_int_equal(act_hex(ln, AMI_COSEM_SAP_ASSIGNMENT, 1, NULL), AMI_DAR_TYPE_UNMATCHED);
}

/* The object list names the new classes with their versions and counts. */
static void test_class_info(void **st)
{
    (void)st;
    static const struct {
        uint16_t id;
        uint8_t version, attrs, methods;
    } want[] = {{AMI_COSEM_CLOCK, 0, 9, 6},
                {AMI_COSEM_SCRIPT_TABLE, 0, 2, 1},
                {AMI_COSEM_SAP_ASSIGNMENT, 0, 2, 1},
                {AMI_COSEM_ACTIVITY_CALENDAR, 0, 10, 1},
                {AMI_COSEM_SINGLE_ACTION_SCHEDULE, 0, 4, 0},
                {AMI_COSEM_PUSH_SETUP, 0, 7, 1},
                {AMI_COSEM_DISCONNECT_CONTROL, 0, 4, 2}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        uint8_t v, a, m;
        assert_true(ami_cosem_class_info(want[i].id, &v, &a, &m));
        assert_int_equal(v, want[i].version);
        assert_int_equal(a, want[i].attrs);
        assert_int_equal(m, want[i].methods);
    }
    /* the store refuses an object of these classes without its state */
    ami_cosem_store s;
    ami_cosem_obj o = {.class_id = AMI_COSEM_DISCONNECT_CONTROL, .ln = LN_DISC};
    assert_int_equal(ami_cosem_store_init(&s, &o, 1, NULL), AMI_E_CONFIG);
    o.class_id = AMI_COSEM_PUSH_SETUP;
    assert_int_equal(ami_cosem_store_init(&s, &o, 1, NULL), AMI_E_CONFIG);
    o.class_id = AMI_COSEM_ACTIVITY_CALENDAR;
    assert_int_equal(ami_cosem_store_init(&s, &o, 1, NULL), AMI_E_CONFIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_disconnect_encoding),
        cmocka_unit_test(test_disconnect_mode1),
        cmocka_unit_test(test_disconnect_modes),
        cmocka_unit_test(test_clock_adjust),
        cmocka_unit_test(test_clock_shift_preset),
        cmocka_unit_test(test_clock_dst),
        cmocka_unit_test(test_script_table),
        cmocka_unit_test(test_schedule),
        cmocka_unit_test(test_calendar),
        cmocka_unit_test(test_calendar_activation_time),
        cmocka_unit_test(test_push),
        cmocka_unit_test(test_push_data_index),
        cmocka_unit_test(test_push_schedule),
        cmocka_unit_test(test_push_on_schedule),
        cmocka_unit_test(test_sap),
        cmocka_unit_test(test_class_info),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
