/*
 * Extended register (class 4) and Demand register (class 5) of the reference store against
 * Blue Book 4.3.3 / 4.3.4: attribute encodings, reset, demand values against an independent
 * computation from the energy fed, and the maximum-demand register reset at billing.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "testutil.h"
#include "ami/ami.h"

#define OB(a, b, c, d, e, f) \
    {                        \
        {                    \
            a, b, c, d, e, f \
        }                    \
    }
#define T0 INT64_C(1795305600) /* 2026-11-22T00:00:00Z (a Sunday) */

static int64_t now_s = T0;

static int64_t fx_now(void *user)
{
    (void)user;
    return now_s;
}

static const ami_dlms_ctx ctx = {.mechanism = AMI_ACSE_MECH_LOW,
                                 .state = AMI_DLMS_ASSOC_ASSOCIATED};

static uint8_t get(ami_cosem_store *s, uint16_t cls, ami_obis ln, int8_t attr, uint8_t *out,
                   size_t cap, size_t *len)
{
    ami_cosem_desc d = {cls, ln, attr};
    ami_access_selection none = {false, 0, {NULL, 0}};
    ami_wr w;
    ami_wr_init(&w, out, cap);
    uint8_t dar = ami_cosem_store_ops.get(s, &d, &none, &ctx, &w);
    *len = w.len;
    return dar;
}

static int64_t get_time(ami_cosem_store *s, uint16_t cls, ami_obis ln, int8_t attr)
{
    uint8_t b[32];
    size_t n;
    assert_int_equal(get(s, cls, ln, attr, b, sizeof b, &n), AMI_DAR_SUCCESS);
    assert_int_equal(n, 14);
    assert_int_equal(b[0], AMI_AXDR_OCTET_STRING);
    ami_datetime dt;
    assert_int_equal(ami_datetime_decode(b + 2, &dt), AMI_OK);
    int64_t t;
    if (ami_datetime_to_unix(&dt, 0, &t) != AMI_OK)
        return AMI_COSEM_TIME_UNSPEC;
    return t;
}

static int64_t get_int(ami_cosem_store *s, uint16_t cls, ami_obis ln, int8_t attr)
{
    uint8_t b[16];
    size_t n;
    assert_int_equal(get(s, cls, ln, attr, b, sizeof b, &n), AMI_DAR_SUCCESS);
    ami_rd r;
    ami_rd_init(&r, b, n);
    ami_arena a;
    uint8_t mem[256];
    ami_arena_init(&a, mem, sizeof mem);
    ami_axdr_value *v;
    assert_int_equal(ami_axdr_decode(&r, &a, NULL, &v), AMI_OK);
    int64_t i;
    uint64_t u;
    if (ami_axdr_is_signed(v->type)) {
        assert_int_equal(ami_axdr_get_i64(v, &i), AMI_OK);
        return i;
    }
    assert_int_equal(ami_axdr_get_u64(v, &u), AMI_OK);
    return (int64_t)u;
}

static void test_extended_register(void **state)
{
    (void)state;
    uint8_t value[5] = {AMI_AXDR_DOUBLE_LONG_UNSIGNED, 0, 0, 0x30, 0x39};
    ami_cosem_ext_register x = {.status = 0x42, .capture_time = T0 - 3600};
    static const uint8_t m1[1] = {AMI_METHOD_ACCESS};
    ami_cosem_obj o[2] = {
        {.class_id = AMI_COSEM_CLOCK, .ln = OB(0, 0, 1, 0, 0, 255)},
        {.class_id = AMI_COSEM_EXTENDED_REGISTER,
         .ln = OB(1, 0, 1, 6, 0, 255),
         .method_access = m1,
         .state = &x,
         .value = value,
         .value_cap = sizeof value,
         .value_len = sizeof value,
         .scaler = 1,
         .unit = 27},
    };
    ami_cosem_store s;
    ami_cosem_clock_src clk = {fx_now, NULL, NULL};
    assert_int_equal(ami_cosem_store_init(&s, o, 2, &clk), AMI_OK);
    uint8_t b[32];
    size_t n;
    uint8_t ver, attrs, methods;
    assert_true(ami_cosem_class_info(AMI_COSEM_EXTENDED_REGISTER, &ver, &attrs, &methods));
    assert_int_equal(ver, 0);
    assert_int_equal(attrs, 5);
    assert_int_equal(methods, 1);
    ami_obis ln = OB(1, 0, 1, 6, 0, 255);
    assert_int_equal(get(&s, 4, ln, 2, b, sizeof b, &n), AMI_DAR_SUCCESS);
    assert_memory_equal(b, value, 5);
    assert_int_equal(get(&s, 4, ln, 3, b, sizeof b, &n), AMI_DAR_SUCCESS);
    static const uint8_t su[] = {0x02, 0x02, 0x0F, 0x01, 0x16, 0x1B};
    assert_int_equal(n, sizeof su);
    assert_memory_equal(b, su, sizeof su);
    assert_int_equal(get(&s, 4, ln, 4, b, sizeof b, &n), AMI_DAR_SUCCESS);
    assert_int_equal(b[0], AMI_AXDR_UNSIGNED);
    assert_int_equal(b[1], 0x42);
    assert_int_equal(get_time(&s, 4, ln, 5), T0 - 3600);
    /* not specified */
    x.capture_time = AMI_COSEM_TIME_UNSPEC;
    assert_int_equal(get_time(&s, 4, ln, 5), AMI_COSEM_TIME_UNSPEC);
    /* reset: value 0 of the same type, status 0, capture_time = now */
    now_s = T0 + 77;
    ami_cosem_desc reset = {4, ln, 1};
    static const uint8_t zero[] = {AMI_AXDR_INTEGER, 0};
    ami_wr w;
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_cosem_store_ops.action(&s, &reset, ami_view_of(zero, 2), &ctx, &w),
                     AMI_ACTION_SUCCESS);
    assert_int_equal(get_int(&s, 4, ln, 2), 0);
    assert_int_equal(value[0], AMI_AXDR_DOUBLE_LONG_UNSIGNED);
    assert_int_equal(get_int(&s, 4, ln, 4), 0);
    assert_int_equal(get_time(&s, 4, ln, 5), T0 + 77);
    static const uint8_t bad[] = {AMI_AXDR_UNSIGNED, 0};
    assert_int_equal(ami_cosem_store_ops.action(&s, &reset, ami_view_of(bad, 2), &ctx, &w),
                     AMI_DAR_TYPE_UNMATCHED);
    /* a state is required */
    o[1].state = NULL;
    assert_int_equal(ami_cosem_store_init(&s, o, 2, &clk), AMI_E_CONFIG);
}

/* ---------------------------------------------------------------- demand */

static void demand_read(void *user, const ami_cosem_obj *o, ami_cosem_demand_values *v)
{
    (void)o;
    ami_demand_cosem_values(user, v);
}

/* Power (W) in minute m of the run: a deterministic shape with a peak. */
static int64_t power_w(int m)
{
    return 500 + (m * 37) % 900 + (m >= 50 && m < 58 ? 4000 : 0);
}

static void test_demand_register(void **state)
{
    (void)state;
    /* 15-minute window of three 5-minute sub-periods (sliding), aligned to UTC */
    ami_demand d;
    assert_int_equal(ami_demand_init(&d, 15, 5, 0, T0), AMI_OK);
    ami_cosem_demand_register dr = {demand_read};
    ami_cosem_obj o[1] = {{.class_id = AMI_COSEM_DEMAND_REGISTER,
                           .ln = OB(1, 0, 1, 4, 0, 255),
                           .state = &dr,
                           .user = &d,
                           .scaler = 1,
                           .unit = 27}};
    ami_cosem_store s;
    assert_int_equal(ami_cosem_store_init(&s, o, 1, NULL), AMI_OK);
    ami_obis ln = OB(1, 0, 1, 4, 0, 255);
    int64_t energy_j[120] = {0}; /* per minute, the independent record */
    int64_t best = 0, best_end = 0;
    for (int m = 0; m < 120; m++) {
        energy_j[m] = power_w(m) * 60;
        int64_t t = T0 + 60 * (m + 1);
        assert_int_equal(ami_demand_feed(&d, t, energy_j[m], 0), AMI_OK);
        if ((m + 1) % 5 == 0 && m + 1 >= 15) {
            /* a sub-period just closed: the window is the last 15 minutes */
            int64_t sum = 0;
            for (int k = m - 14; k <= m; k++)
                sum += energy_j[k];
            int64_t avg_w10 = sum / 900 / 10; /* W, then 10 W units (truncated) */
            assert_int_equal(get_int(&s, 5, ln, 3), avg_w10);
            assert_int_equal(get_time(&s, 5, ln, 6), t);
            assert_int_equal(get_time(&s, 5, ln, 7), t);
            if (sum * 1000 / 900 > best) {
                best = sum * 1000 / 900;
                best_end = t;
            }
        }
        if (m == 61) {
            /* running: the last two closed sub-periods plus minutes 60..61, over 15 minutes */
            int64_t sum = 0;
            for (int k = 50; k <= 61; k++)
                sum += energy_j[k];
            assert_int_equal(get_int(&s, 5, ln, 2), sum * 1000 / 900 / 10000);
            assert_int_equal(get_time(&s, 5, ln, 7), T0 + 60 * 60);
        }
    }
    assert_int_equal(get_int(&s, 5, ln, 8), 300);
    assert_int_equal(get_int(&s, 5, ln, 9), 3);
    uint8_t b[16];
    size_t n;
    assert_int_equal(get(&s, 5, ln, 4, b, sizeof b, &n), AMI_DAR_SUCCESS);
    static const uint8_t su[] = {0x02, 0x02, 0x0F, 0x01, 0x16, 0x1B};
    assert_memory_equal(b, su, sizeof su);
    assert_int_equal(get_int(&s, 5, ln, 5), 0);
    /* the engine's maximum is the best window seen independently */
    ami_demand_max mx = ami_demand_maximum(&d, -1);
    assert_int_equal(mx.time, best_end);
    assert_int_equal(ami_demand_register(mx.value_mw), ami_demand_register(best));
    /* methods without a model callback: other-reason; bad parameters: type-unmatched */
    static const uint8_t zero[] = {AMI_AXDR_INTEGER, 0}, bad[] = {AMI_AXDR_BOOLEAN, 0};
    ami_cosem_desc np = {5, ln, 2};
    ami_wr w;
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_cosem_store_ops.action(&s, &np, ami_view_of(zero, 2), &ctx, &w),
                     AMI_ACTION_OTHER_REASON);
    assert_int_equal(ami_cosem_store_ops.action(&s, &np, ami_view_of(bad, 2), &ctx, &w),
                     AMI_DAR_TYPE_UNMATCHED);
    dr.read = NULL;
    assert_int_equal(ami_cosem_store_init(&s, o, 1, NULL), AMI_E_CONFIG);
}

/* ---------------------------------------------------------------- billing */

typedef struct billing_fx {
    ami_metro m;
    ami_metro_billing last;
    int billed;
} billing_fx;

static void on_billed(void *user, const ami_metro_billing *b)
{
    billing_fx *f = user;
    f->last = *b;
    f->billed++;
}

/* Maximum demand A+ (1-0:1.6.0): value and time from the metrology's demand engine. */
static uint8_t maxdem_value(void *user, const ami_cosem_obj *obj, ami_wr *out)
{
    (void)obj;
    const billing_fx *f = user;
    ami_wr_u8(out, AMI_AXDR_DOUBLE_LONG_UNSIGNED);
    ami_wr_u32be(out, (uint32_t)ami_demand_register(ami_demand_maximum(&f->m.demand, -1).value_mw));
    return AMI_DAR_SUCCESS;
}

static void maxdem_snapshot(void *user, const ami_cosem_obj *o, uint8_t *status, int64_t *t)
{
    (void)o;
    const billing_fx *f = user;
    ami_demand_max mx = ami_demand_maximum(&f->m.demand, -1);
    *status = 0;
    *t = mx.time ? mx.time : AMI_COSEM_TIME_UNSPEC;
}

static void test_max_demand_billing_reset(void **state)
{
    (void)state;
    static billing_fx f;
    memset(&f, 0, sizeof f);
    ami_metro_load load;
    ami_metro_load_from_seed(&load, 42);
    /* from 2026-11-28 to 2026-12-01T00:00Z (a month start) */
    int64_t start = INT64_C(1795824000), month = INT64_C(1796083200);
    assert_int_equal(ami_metro_init(&f.m, &load, 15, 15, start), AMI_OK);
    ami_cosem_ext_register x = {.snapshot = maxdem_snapshot};
    ami_cosem_obj o[1] = {{.class_id = AMI_COSEM_EXTENDED_REGISTER,
                           .ln = OB(1, 0, 1, 6, 0, 255),
                           .state = &x,
                           .read = maxdem_value,
                           .user = &f,
                           .scaler = 1,
                           .unit = 27}};
    ami_cosem_store s;
    assert_int_equal(ami_cosem_store_init(&s, o, 1, NULL), AMI_OK);
    ami_obis ln = OB(1, 0, 1, 6, 0, 255);
    ami_metro_hooks h = {.billed = on_billed, .billed_ctx = &f};
    assert_int_equal(ami_metro_run(&f.m, month - 1, &h), AMI_OK);
    int64_t before = get_int(&s, 4, ln, 2);
    int64_t when = get_time(&s, 4, ln, 5);
    assert_true(before > 0);
    assert_true(when > start && when < month);
    assert_int_equal(f.billed, 0);
    /* the month start closes the billing period: the snapshot keeps the maximum, the register is
     * reset (value 0, time not specified) */
    assert_int_equal(ami_metro_run(&f.m, month + 1, &h), AMI_OK);
    assert_int_equal(f.billed, 1);
    assert_int_equal(ami_demand_register(f.last.max[0].value_mw), before);
    assert_int_equal(f.last.max[0].time, when);
    assert_int_equal(get_int(&s, 4, ln, 2), 0);
    assert_int_equal(get_time(&s, 4, ln, 5), AMI_COSEM_TIME_UNSPEC);
    /* and it counts again in the new period */
    assert_int_equal(ami_metro_run(&f.m, month + 3600, &h), AMI_OK);
    assert_true(get_int(&s, 4, ln, 2) > 0);
    assert_true(get_time(&s, 4, ln, 5) > month);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_extended_register),
        cmocka_unit_test(test_demand_register),
        cmocka_unit_test(test_max_demand_billing_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
