/*
 * A COSEM object table shared by several stores (ami_cosem_store_init_shared): state, values
 * and callbacks resolved per instance, the Clock's time zone kept per store, stored values of a
 * fixed length, ami_cosem_store_bind; and the activity calendar's copy-on-write hook
 * (ami_cosem_calendar.on_write).
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

#define LN_DATA  AMI_OBIS(0, 0, 96, 10, 1, 255)
#define LN_REG   AMI_OBIS(1, 0, 1, 8, 0, 255)
#define LN_CLOCK AMI_OBIS(0, 0, 1, 0, 0, 255)
#define LN_CAL   AMI_OBIS(0, 0, 13, 0, 0, 255)
#define LN_LOG   AMI_OBIS(0, 0, 99, 98, 0, 255)

/* One instance (a meter). */
typedef struct inst {
    uint32_t energy;
    uint8_t status[2];
    int writes; /* on_write calls */
    ami_cosem_calendar cal;
    uint8_t own[2][64]; /* the calendar's own buffers once written */
    bool owned;
    ami_cosem_profile log;
    uint8_t ring[4 * AMI_COSEM_EVENT_ROW_SIZE];
    ami_cosem_store store;
} inst;

/* The default calendar the instances share: a name "A", nothing else. */
static uint8_t shared_cal[2][4][64];

static int64_t fx_now(void *u)
{
    (void)u;
    return INT64_C(1750032000);
}

static uint8_t energy(void *user, const ami_cosem_obj *o, ami_wr *out)
{
    (void)o;
    const inst *i = user;
    ami_wr_u8(out, AMI_AXDR_DOUBLE_LONG_UNSIGNED);
    ami_wr_u32be(out, i->energy);
    return AMI_DAR_SUCCESS;
}

static int own_calendar(void *user, ami_cosem_calendar *c)
{
    inst *i = user;
    i->writes++;
    if (i->owned)
        return AMI_OK;
    for (int k = 0; k < 2; k++) {
        ami_cosem_buf *b = k ? c->passive : c->active;
        for (int j = 0; j < 4; j++) {
            uint8_t *p = &i->own[k][j * 16];
            memcpy(p, b[j].p, b[j].len);
            b[j].p = p;
            b[j].cap = 16;
        }
    }
    i->owned = true;
    return AMI_OK;
}

static const ami_cosem_capture_def log_cols[2] = {
    {AMI_COSEM_CLOCK, {{0, 0, 1, 0, 0, 255}}, 2, 0},
    {AMI_COSEM_DATA, {{0, 0, 96, 10, 1, 255}}, 2, 0},
};

static ami_cosem_obj table[] = {
    {.class_id = AMI_COSEM_DATA,
     .ln = {{0, 0, 96, 10, 1, 255}},
     .value = AMI_COSEM_MEMBER(inst, status),
     .value_cap = 2,
     .value_len = 2},
    {.class_id = AMI_COSEM_REGISTER, .ln = {{1, 0, 1, 8, 0, 255}}, .read = energy},
    {.class_id = AMI_COSEM_CLOCK, .ln = {{0, 0, 1, 0, 0, 255}}, .time_zone = -60},
    {.class_id = AMI_COSEM_ACTIVITY_CALENDAR,
     .ln = {{0, 0, 13, 0, 0, 255}},
     .method_access = (const uint8_t[]){AMI_METHOD_ACCESS},
     .state = AMI_COSEM_MEMBER(inst, cal)},
    {.class_id = AMI_COSEM_PROFILE_GENERIC,
     .ln = {{0, 0, 99, 98, 0, 255}},
     .state = AMI_COSEM_MEMBER(inst, log)},
};

static void inst_init(inst *i, uint32_t energy_wh)
{
    memset(i, 0, sizeof *i);
    i->energy = energy_wh;
    i->status[0] = AMI_AXDR_UNSIGNED;
    for (int k = 0; k < 2; k++)
        for (int j = 0; j < 4; j++) {
            ami_cosem_buf *b = k ? &i->cal.passive[j] : &i->cal.active[j];
            *b = (ami_cosem_buf){shared_cal[k][j], 16, j == 0 ? 3 : 0};
        }
    i->cal.on_write = own_calendar;
    i->cal.user = i;
    ami_datetime never;
    ami_datetime_unspecified(&never);
    ami_datetime_encode(&never, i->cal.activate_time);
    i->log = (ami_cosem_profile){.columns = log_cols,
                                 .ncolumns = 2,
                                 .profile_entries = 4,
                                 .ring = i->ring,
                                 .ring_cap = sizeof i->ring,
                                 .row_size = AMI_COSEM_EVENT_ROW_SIZE};
    ami_cosem_clock_src clk = {fx_now, NULL, NULL};
    assert_int_equal(ami_cosem_store_init_shared(&i->store, table, AMI_COUNTOF(table), &clk, i),
                     AMI_OK);
}

static size_t get(inst *i, ami_obis ln, uint16_t cls, int8_t attr, uint8_t *buf, size_t cap)
{
    ami_wr w;
    ami_wr_init(&w, buf, cap);
    ami_cosem_desc d = {cls, ln, attr};
    const ami_access_selection nosel = {false, 0, {NULL, 0}};
    assert_int_equal(ami_cosem_store_ops.get(&i->store, &d, &nosel, &lls, &w), AMI_DAR_SUCCESS);
    return w.len;
}

static uint8_t set(inst *i, ami_obis ln, uint16_t cls, int8_t attr, const uint8_t *p, size_t n)
{
    ami_cosem_desc d = {cls, ln, attr};
    return ami_cosem_store_ops.set(&i->store, &d, ami_view_of(p, n), &lls);
}

static void test_shared_values(void **st)
{
    (void)st;
    /* static: the instances are large enough to matter on a test's stack */
    static inst a, b;
    memset(shared_cal, 0, sizeof shared_cal);
    shared_cal[0][0][0] = shared_cal[1][0][0] = AMI_AXDR_OCTET_STRING;
    shared_cal[0][0][1] = shared_cal[1][0][1] = 1;
    shared_cal[0][0][2] = shared_cal[1][0][2] = 'A';
    inst_init(&a, 1000);
    inst_init(&b, 2000);
    uint8_t buf[64];
    /* the callback gets its instance */
    assert_int_equal(get(&a, LN_REG, AMI_COSEM_REGISTER, 2, buf, sizeof buf), 5);
    assert_int_equal(buf[4], 1000 & 0xFF);
    assert_int_equal(get(&b, LN_REG, AMI_COSEM_REGISTER, 2, buf, sizeof buf), 5);
    assert_int_equal(buf[4], 2000 & 0xFF);
    /* stored values: per instance, of a fixed length */
    const uint8_t v7[] = {AMI_AXDR_UNSIGNED, 7};
    const uint8_t longer[] = {AMI_AXDR_UNSIGNED, 7, 0};
    ami_cosem_obj *o = ami_cosem_store_find(&a.store, &LN_DATA);
    o->attr_access = (const uint8_t[]){AMI_ACCESS_READ, AMI_ACCESS_READ_WRITE};
    assert_int_equal(set(&a, LN_DATA, AMI_COSEM_DATA, 2, v7, sizeof v7), AMI_DAR_SUCCESS);
    assert_int_equal(set(&a, LN_DATA, AMI_COSEM_DATA, 2, longer, sizeof longer),
                     AMI_DAR_OTHER_REASON);
    o->attr_access = NULL;
    assert_int_equal(a.status[1], 7);
    assert_int_equal(b.status[1], 0);
    assert_int_equal(table[0].value_len, 2);
    /* the Clock's time zone: from the table, then per store */
    assert_int_equal(get(&a, LN_CLOCK, AMI_COSEM_CLOCK, 3, buf, sizeof buf), 3);
    assert_int_equal((int16_t)(buf[1] << 8 | buf[2]), -60);
    const uint8_t tz[] = {AMI_AXDR_LONG, 0xFF, 0x88}; /* -120 */
    assert_int_equal(set(&a, LN_CLOCK, AMI_COSEM_CLOCK, 3, tz, sizeof tz), AMI_DAR_SUCCESS);
    assert_int_equal(a.store.time_zone, -120);
    assert_int_equal(b.store.time_zone, -60);
    assert_int_equal(table[2].time_zone, -60);
    get(&b, LN_CLOCK, AMI_COSEM_CLOCK, 3, buf, sizeof buf);
    assert_int_equal((int16_t)(buf[1] << 8 | buf[2]), -60);
    /* bind: a resolved copy for the functions taking an object */
    ami_cosem_obj tmp;
    ami_cosem_obj *log = ami_cosem_store_bind(&b.store, &LN_LOG, &tmp);
    assert_ptr_equal(log, &tmp);
    assert_ptr_equal(log->state, &b.log);
    assert_ptr_equal(log->user, &b);
    assert_int_equal(ami_cosem_event_record(log, fx_now(NULL), 0, 0, 5), AMI_OK);
    assert_int_equal(ami_cosem_profile_entries(log), 1);
    assert_int_equal(ami_cosem_profile_capture(&b.store, log), AMI_OK);
    assert_int_equal(ami_cosem_profile_entries(log), 2);
    assert_int_equal(a.log.ring_cap, sizeof a.ring);
    assert_null(ami_cosem_store_bind(&b.store, &LN_DATA, NULL));
    const ami_obis none = AMI_OBIS(1, 2, 3, 4, 5, 6);
    assert_null(ami_cosem_store_bind(&b.store, &none, &tmp));
    /* a store of its own: the table's entry itself */
    ami_cosem_store own;
    ami_cosem_obj one = {.class_id = AMI_COSEM_REGISTER, .ln = LN_REG, .read = energy, .user = &a};
    assert_int_equal(ami_cosem_store_init(&own, &one, 1, NULL), AMI_OK);
    assert_ptr_equal(ami_cosem_store_bind(&own, &LN_REG, &tmp), &one);
    assert_int_equal(ami_cosem_store_init_shared(&own, &one, 1, NULL, NULL), AMI_E_INVAL);
}

static void test_calendar_copy_on_write(void **st)
{
    (void)st;
    static inst a, b;
    memset(shared_cal, 0, sizeof shared_cal);
    shared_cal[0][0][0] = shared_cal[1][0][0] = AMI_AXDR_OCTET_STRING;
    shared_cal[0][0][1] = shared_cal[1][0][1] = 1;
    shared_cal[0][0][2] = shared_cal[1][0][2] = 'A';
    inst_init(&a, 1);
    inst_init(&b, 2);
    uint8_t buf[64];
    /* a refused SET leaves the calendar shared */
    const uint8_t bad[] = {AMI_AXDR_UNSIGNED, 1};
    assert_int_equal(set(&a, LN_CAL, AMI_COSEM_ACTIVITY_CALENDAR, 6, bad, sizeof bad),
                     AMI_DAR_TYPE_UNMATCHED);
    assert_int_equal(a.writes, 0);
    /* the first write gives the instance its own buffers, contents kept */
    const uint8_t name[] = {AMI_AXDR_OCTET_STRING, 1, 'B'};
    assert_int_equal(set(&a, LN_CAL, AMI_COSEM_ACTIVITY_CALENDAR, 6, name, sizeof name),
                     AMI_DAR_SUCCESS);
    assert_true(a.owned);
    assert_int_equal(a.writes, 1);
    assert_int_equal(shared_cal[1][0][2], 'A');
    assert_int_equal(get(&a, LN_CAL, AMI_COSEM_ACTIVITY_CALENDAR, 2, buf, sizeof buf), 3);
    assert_int_equal(buf[2], 'A');
    /* activation: through the hook again, into the instance's own buffers */
    ami_cosem_desc d = {AMI_COSEM_ACTIVITY_CALENDAR, LN_CAL, 1};
    const uint8_t int0[] = {AMI_AXDR_INTEGER, 0};
    ami_wr w;
    ami_wr_init(&w, buf, sizeof buf);
    assert_int_equal(ami_cosem_store_ops.action(&a.store, &d, ami_view_of(int0, 2), &lls, &w),
                     AMI_ACTION_SUCCESS);
    assert_int_equal(a.writes, 2);
    get(&a, LN_CAL, AMI_COSEM_ACTIVITY_CALENDAR, 2, buf, sizeof buf);
    assert_int_equal(buf[2], 'B');
    /* the other instance still reads the shared default */
    assert_false(b.owned);
    get(&b, LN_CAL, AMI_COSEM_ACTIVITY_CALENDAR, 2, buf, sizeof buf);
    assert_int_equal(buf[2], 'A');
    assert_int_equal(shared_cal[0][0][2], 'A');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_values),
        cmocka_unit_test(test_calendar_copy_on_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
