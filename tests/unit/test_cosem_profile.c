/*
 * Profile generic (class 7, ami/cosem_profile.h) against Blue Book 4.3.6: attribute encodings,
 * capture through the store, ring wrap-around, selective access by entry and by range (clock
 * restricting object) with column selection on thousands of entries, reset, a virtual buffer,
 * event logs, hostile parameters refused, configurations refused.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "ami/ami.h"

#define T0 INT64_C(1795305600) /* 2026-11-22T00:00:00Z */
/* A logical name usable in static initializers. */
#define OB(a, b, c, d, e, f) \
    {                        \
        {                    \
            a, b, c, d, e, f \
        }                    \
    }

static int64_t now_s;
static uint32_t counter;

static int64_t fx_now(void *user)
{
    (void)user;
    return now_s;
}

static uint8_t fx_counter(void *user, const ami_cosem_obj *obj, ami_wr *out)
{
    (void)user;
    (void)obj;
    ami_wr_u8(out, AMI_AXDR_DOUBLE_LONG_UNSIGNED);
    ami_wr_u32be(out, counter);
    return AMI_DAR_SUCCESS;
}

/* Virtual buffer: entry i (1-based, of 10000) is {double-long-unsigned i, long-unsigned i%65536}.
 */
static uint32_t v_entries(void *user, const ami_cosem_obj *o)
{
    (void)user;
    (void)o;
    return 10000;
}

static uint8_t v_rows(void *user, const ami_cosem_obj *o, uint32_t first, uint32_t count,
                      ami_cosem_row_fn emit, void *ctx)
{
    (void)user;
    (void)o;
    for (uint32_t i = first; i < first + count; i++) {
        uint8_t row[10] = {AMI_AXDR_STRUCTURE, 2, AMI_AXDR_DOUBLE_LONG_UNSIGNED};
        ami_enc32be(row + 3, i);
        row[7] = AMI_AXDR_LONG_UNSIGNED;
        ami_enc16be(row + 8, (uint16_t)i);
        if (!emit(ctx, row, sizeof row))
            break;
    }
    return AMI_DAR_SUCCESS;
}

static const ami_cosem_profile_source vsrc = {v_entries, v_rows, NULL, NULL};

static const ami_cosem_capture_def cols[2] = {
    {AMI_COSEM_CLOCK, OB(0, 0, 1, 0, 0, 255), 2, 0},
    {AMI_COSEM_REGISTER, OB(1, 0, 1, 8, 0, 255), 2, 0},
};
static const ami_cosem_capture_def vcols[2] = {
    {AMI_COSEM_DATA, OB(0, 0, 96, 10, 1, 255), 2, 0},
    {AMI_COSEM_DATA, OB(0, 0, 96, 10, 2, 255), 2, 0},
};
static const ami_cosem_capture_def ecols[2] = {
    {AMI_COSEM_CLOCK, OB(0, 0, 1, 0, 0, 255), 2, 0},
    {AMI_COSEM_DATA, OB(0, 0, 96, 11, 0, 255), 2, 0},
};

#define RING_N   2000
#define ROW_SIZE 32
static const uint8_t m_both[2] = {AMI_METHOD_ACCESS, AMI_METHOD_ACCESS};

typedef struct fixture {
    ami_cosem_obj objs[6];
    ami_cosem_profile lp, vp, ev;
    uint8_t ring[RING_N * ROW_SIZE];
    uint8_t ering[10 * AMI_COSEM_EVENT_ROW_SIZE];
    uint8_t code_value[2];
    ami_cosem_store store;
    uint8_t out[65536];
} fixture;

static fixture *fx;

static int setup(void **state)
{
    (void)state;
    fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    now_s = T0;
    counter = 0;
    fx->lp = (ami_cosem_profile){.columns = cols,
                                 .ncolumns = 2,
                                 .capture_period = 900,
                                 .profile_entries = RING_N,
                                 .ring = fx->ring,
                                 .ring_cap = sizeof fx->ring,
                                 .row_size = ROW_SIZE};
    fx->vp = (ami_cosem_profile){.columns = vcols,
                                 .ncolumns = 2,
                                 .capture_period = 60,
                                 .profile_entries = 20000,
                                 .source = &vsrc};
    fx->ev = (ami_cosem_profile){.columns = ecols,
                                 .ncolumns = 2,
                                 .profile_entries = 10,
                                 .ring = fx->ering,
                                 .ring_cap = sizeof fx->ering,
                                 .row_size = AMI_COSEM_EVENT_ROW_SIZE};
    fx->code_value[0] = AMI_AXDR_UNSIGNED;
    fx->objs[0] = (ami_cosem_obj){.class_id = AMI_COSEM_CLOCK, .ln = OB(0, 0, 1, 0, 0, 255)};
    fx->objs[1] = (ami_cosem_obj){.class_id = AMI_COSEM_REGISTER,
                                  .ln = OB(1, 0, 1, 8, 0, 255),
                                  .read = fx_counter,
                                  .unit = 30};
    fx->objs[2] = (ami_cosem_obj){.class_id = AMI_COSEM_PROFILE_GENERIC,
                                  .ln = OB(1, 0, 99, 1, 0, 255),
                                  .method_access = m_both,
                                  .state = &fx->lp};
    fx->objs[3] = (ami_cosem_obj){
        .class_id = AMI_COSEM_PROFILE_GENERIC, .ln = OB(1, 0, 99, 2, 0, 255), .state = &fx->vp};
    fx->objs[4] = (ami_cosem_obj){
        .class_id = AMI_COSEM_PROFILE_GENERIC, .ln = OB(0, 0, 99, 98, 0, 255), .state = &fx->ev};
    fx->objs[5] = (ami_cosem_obj){.class_id = AMI_COSEM_DATA,
                                  .ln = OB(0, 0, 96, 11, 0, 255),
                                  .value = fx->code_value,
                                  .value_cap = 2,
                                  .value_len = 2};
    ami_cosem_clock_src clk = {fx_now, NULL, NULL};
    assert_int_equal(ami_cosem_store_init(&fx->store, fx->objs, 6, &clk), AMI_OK);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(fx);
    return 0;
}

static const ami_dlms_ctx ctx = {.mechanism = AMI_ACSE_MECH_LOW,
                                 .state = AMI_DLMS_ASSOC_ASSOCIATED};

/* GET of attribute attr of the object ln (class 7) with a selection: the DAR; *len the bytes. */
static uint8_t get(ami_obis ln, int8_t attr, const ami_access_selection *sel, size_t *len)
{
    ami_cosem_desc d = {AMI_COSEM_PROFILE_GENERIC, ln, attr};
    ami_access_selection none = {false, 0, {NULL, 0}};
    ami_wr w;
    ami_wr_init(&w, fx->out, sizeof fx->out);
    uint8_t dar = ami_cosem_store_ops.get(&fx->store, &d, sel ? sel : &none, &ctx, &w);
    *len = w.len;
    if (dar == AMI_DAR_SUCCESS) {
        /* always exactly one valid Data */
        ami_rd r;
        ami_rd_init(&r, fx->out, w.len);
        assert_int_equal(ami_axdr_skip(&r, NULL), AMI_OK);
        assert_int_equal(ami_rd_left(&r), 0);
    }
    return dar;
}

static const ami_obis LP = OB(1, 0, 99, 1, 0, 255);
static const ami_obis VP = OB(1, 0, 99, 2, 0, 255);
static const ami_obis EV = OB(0, 0, 99, 98, 0, 255);

/* Decodes the buffer answer in fx->out into an arena value tree. */
static const ami_axdr_value *decoded(size_t len, ami_arena *a, uint8_t *mem, size_t cap)
{
    ami_arena_init(a, mem, cap);
    ami_rd r;
    ami_rd_init(&r, fx->out, len);
    ami_axdr_value *v = NULL;
    assert_int_equal(ami_axdr_decode(&r, a, NULL, &v), AMI_OK);
    assert_int_equal(v->type, AMI_AXDR_ARRAY);
    return v;
}

static uint64_t u_at(const ami_axdr_value *buf, uint32_t row, uint32_t col)
{
    uint64_t u = 0;
    const ami_axdr_value *e = ami_axdr_child(ami_axdr_child(buf, row), col);
    assert_non_null(e);
    assert_int_equal(ami_axdr_get_u64(e, &u), AMI_OK);
    return u;
}

static int64_t time_at(const ami_axdr_value *buf, uint32_t row)
{
    ami_datetime dt;
    int64_t t = 0;
    assert_int_equal(ami_axdr_get_datetime(ami_axdr_child(ami_axdr_child(buf, row), 0), &dt),
                     AMI_OK);
    assert_int_equal(ami_datetime_to_unix(&dt, 0, &t), AMI_OK);
    return t;
}

/* Captures n entries 15 minutes apart, the counter being the capture number (1..n). */
static void capture_n(uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        counter++;
        now_s += 900;
        assert_int_equal(ami_cosem_profile_capture(&fx->store, &fx->objs[2]), AMI_OK);
    }
}

static void test_attributes(void **state)
{
    (void)state;
    size_t n;
    /* capture_objects: array of {long-unsigned class, octet-string LN, integer attr,
     * long-unsigned data_index} */
    assert_int_equal(get(LP, 3, NULL, &n), AMI_DAR_SUCCESS);
    static const uint8_t co[] = {0x01, 0x02, 0x02, 0x04, 0x12, 0x00, 0x08, 0x09, 0x06, 0x00,
                                 0x00, 0x01, 0x00, 0x00, 0xFF, 0x0F, 0x02, 0x12, 0x00, 0x00,
                                 0x02, 0x04, 0x12, 0x00, 0x03, 0x09, 0x06, 0x01, 0x00, 0x01,
                                 0x08, 0x00, 0xFF, 0x0F, 0x02, 0x12, 0x00, 0x00};
    assert_int_equal(n, sizeof co);
    assert_memory_equal(fx->out, co, sizeof co);
    assert_int_equal(get(LP, 4, NULL, &n), AMI_DAR_SUCCESS);
    static const uint8_t cp[] = {0x06, 0x00, 0x00, 0x03, 0x84};
    assert_memory_equal(fx->out, cp, sizeof cp);
    assert_int_equal(get(LP, 5, NULL, &n), AMI_DAR_SUCCESS);
    assert_int_equal(fx->out[0], AMI_AXDR_ENUM);
    assert_int_equal(fx->out[1], AMI_COSEM_SORT_FIFO);
    assert_int_equal(get(LP, 6, NULL, &n), AMI_DAR_SUCCESS);
    assert_int_equal(n, 18); /* sort_object: a zero capture_object_definition */
    assert_int_equal(get(LP, 7, NULL, &n), AMI_DAR_SUCCESS);
    static const uint8_t eu0[] = {0x06, 0, 0, 0, 0};
    assert_memory_equal(fx->out, eu0, sizeof eu0);
    assert_int_equal(get(LP, 8, NULL, &n), AMI_DAR_SUCCESS);
    static const uint8_t pe[] = {0x06, 0, 0, 0x07, 0xD0};
    assert_memory_equal(fx->out, pe, sizeof pe);
    /* empty buffer: an empty array */
    assert_int_equal(get(LP, 2, NULL, &n), AMI_DAR_SUCCESS);
    assert_int_equal(n, 2);
    assert_int_equal(fx->out[0], AMI_AXDR_ARRAY);
    assert_int_equal(fx->out[1], 0);
    /* one entry: {date-time, value} byte-exact */
    capture_n(1);
    assert_int_equal(get(LP, 2, NULL, &n), AMI_DAR_SUCCESS);
    static const uint8_t one[] = {0x01, 0x01, 0x02, 0x02, 0x09, 0x0C, 0x07, 0xEA,
                                  0x0B, 0x16, 0x07, 0x00, 0x0F, 0x00, 0x00, 0x00,
                                  0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x01};
    assert_int_equal(n, sizeof one);
    assert_memory_equal(fx->out, one, sizeof one);
    /* selective access on another attribute */
    ami_access_selection sel = {true, 2, {NULL, 0}};
    assert_int_equal(get(LP, 7, &sel, &n), AMI_DAR_SCOPE_OF_ACCESS_VIOLATED);
}

static void test_capture_wrap_and_entries(void **state)
{
    (void)state;
    uint8_t mem[1 << 20];
    ami_arena a;
    size_t n;
    capture_n(3000); /* ring of 2000: the first 1000 are overwritten */
    assert_int_equal(ami_cosem_profile_entries(&fx->objs[2]), RING_N);
    assert_int_equal(get(LP, 2, NULL, &n), AMI_DAR_SUCCESS);
    const ami_axdr_value *b = decoded(n, &a, mem, sizeof mem);
    assert_int_equal(b->count, RING_N);
    for (uint32_t i = 0; i < RING_N; i++) {
        assert_int_equal(u_at(b, i, 1), 1001 + i);
        assert_int_equal(time_at(b, i), T0 + 900 * (int64_t)(1001 + i));
    }
    /* entry_descriptor: the last 96 entries, all columns (to_entry 0 and to_selected_value 0 mean
     * the highest) */
    uint8_t pb[32];
    ami_wr w;
    ami_wr_init(&w, pb, sizeof pb);
    ami_entry_descriptor ed = {RING_N - 95, 0, 1, 0};
    ami_entry_descriptor_encode(&w, &ed);
    ami_access_selection sel = {true, 2, {pb, w.len}};
    assert_int_equal(get(LP, 2, &sel, &n), AMI_DAR_SUCCESS);
    b = decoded(n, &a, mem, sizeof mem);
    assert_int_equal(b->count, 96);
    assert_int_equal(u_at(b, 0, 1), 3000 - 95);
    assert_int_equal(u_at(b, 95, 1), 3000);
    /* entries 10..20, second column only */
    ed = (ami_entry_descriptor){10, 20, 2, 2};
    ami_wr_init(&w, pb, sizeof pb);
    ami_entry_descriptor_encode(&w, &ed);
    sel.params = ami_view_of(pb, w.len);
    assert_int_equal(get(LP, 2, &sel, &n), AMI_DAR_SUCCESS);
    b = decoded(n, &a, mem, sizeof mem);
    assert_int_equal(b->count, 11);
    assert_int_equal(ami_axdr_child(b, 0)->count, 1);
    assert_int_equal(u_at(b, 0, 0), 1010);
    assert_int_equal(u_at(b, 10, 0), 1020);
    /* past the end: the entries that exist, or none */
    ed = (ami_entry_descriptor){RING_N - 1, RING_N + 50, 1, 0};
    ami_wr_init(&w, pb, sizeof pb);
    ami_entry_descriptor_encode(&w, &ed);
    sel.params = ami_view_of(pb, w.len);
    assert_int_equal(get(LP, 2, &sel, &n), AMI_DAR_SUCCESS);
    assert_int_equal(decoded(n, &a, mem, sizeof mem)->count, 2);
    ed = (ami_entry_descriptor){RING_N + 1, 0, 1, 0};
    ami_wr_init(&w, pb, sizeof pb);
    ami_entry_descriptor_encode(&w, &ed);
    sel.params = ami_view_of(pb, w.len);
    assert_int_equal(get(LP, 2, &sel, &n), AMI_DAR_SUCCESS);
    assert_int_equal(n, 2);
}

/* Encodes a range_descriptor over the clock column from..to with the given selected columns. */
static size_t range_params(uint8_t *pb, size_t cap, int64_t from, int64_t to, const uint8_t *selv,
                           size_t sel_len)
{
    uint8_t fb[14] = {AMI_AXDR_OCTET_STRING, 12}, tb[14] = {AMI_AXDR_OCTET_STRING, 12};
    ami_datetime dt;
    assert_int_equal(ami_datetime_from_unix(from, 0, 0, 0, &dt), AMI_OK);
    ami_datetime_encode(&dt, fb + 2);
    assert_int_equal(ami_datetime_from_unix(to, -60, 0, 0, &dt), AMI_OK); /* UTC+1 */
    ami_datetime_encode(&dt, tb + 2);
    ami_range_descriptor rd = {{AMI_COSEM_CLOCK, OB(0, 0, 1, 0, 0, 255), 2},
                               0,
                               ami_view_of(fb, 14),
                               ami_view_of(tb, 14),
                               ami_view_of(selv, sel_len)};
    ami_wr w;
    ami_wr_init(&w, pb, cap);
    assert_int_equal(ami_range_descriptor_encode(&w, &rd), AMI_OK);
    return w.len;
}

static void test_range(void **state)
{
    (void)state;
    uint8_t mem[1 << 18];
    ami_arena a;
    size_t n;
    capture_n(2500);
    /* one day: captures 1100..1195 at T0 + 900 k */
    int64_t from = T0 + 900 * 1100, to = T0 + 900 * 1195;
    uint8_t pb[128];
    ami_access_selection sel = {true, 1, {pb, range_params(pb, sizeof pb, from, to, NULL, 0)}};
    assert_int_equal(get(LP, 2, &sel, &n), AMI_DAR_SUCCESS);
    const ami_axdr_value *b = decoded(n, &a, mem, sizeof mem);
    assert_int_equal(b->count, 96);
    assert_int_equal(time_at(b, 0), from);
    assert_int_equal(time_at(b, 95), to);
    assert_int_equal(u_at(b, 0, 1), 1100);
    /* selected_values: the energy column only */
    static const uint8_t only_energy[] = {0x01, 0x01, 0x02, 0x04, 0x12, 0x00, 0x03,
                                          0x09, 0x06, 0x01, 0x00, 0x01, 0x08, 0x00,
                                          0xFF, 0x0F, 0x02, 0x12, 0x00, 0x00};
    sel.params =
        ami_view_of(pb, range_params(pb, sizeof pb, from, to, only_energy, sizeof only_energy));
    assert_int_equal(get(LP, 2, &sel, &n), AMI_DAR_SUCCESS);
    b = decoded(n, &a, mem, sizeof mem);
    assert_int_equal(b->count, 96);
    assert_int_equal(ami_axdr_child(b, 0)->count, 1);
    assert_int_equal(u_at(b, 95, 0), 1195);
    /* a range that no entry falls in: empty */
    sel.params = ami_view_of(pb, range_params(pb, sizeof pb, T0 - 86400, T0, NULL, 0));
    assert_int_equal(get(LP, 2, &sel, &n), AMI_DAR_SUCCESS);
    assert_int_equal(n, 2);
    /* by value of the energy column (integers) */
    ami_range_descriptor rd = {{AMI_COSEM_REGISTER, OB(1, 0, 1, 8, 0, 255), 2},
                               0,
                               ami_view_of((const uint8_t[]){0x06, 0, 0, 0x03, 0xE8}, 5),
                               ami_view_of((const uint8_t[]){0x12, 0x03, 0xE9}, 3),
                               {NULL, 0}};
    ami_wr w;
    ami_wr_init(&w, pb, sizeof pb);
    ami_range_descriptor_encode(&w, &rd);
    sel.params = ami_view_of(pb, w.len);
    assert_int_equal(get(LP, 2, &sel, &n), AMI_DAR_SUCCESS);
    b = decoded(n, &a, mem, sizeof mem);
    assert_int_equal(b->count, 2);
    assert_int_equal(u_at(b, 0, 1), 1000);
}

static void test_hostile_selections(void **state)
{
    (void)state;
    size_t n;
    capture_n(10);
    uint8_t pb[128];
    ami_wr w;
    ami_access_selection sel = {true, 2, {pb, 0}};
    const ami_entry_descriptor bad[] = {
        {0, 5, 1, 0}, /* from_entry 0 */
        {6, 5, 1, 0}, /* from > to */
        {1, 5, 0, 0}, /* column 0 */
        {1, 5, 2, 1}, /* from column > to column */
        {1, 5, 1, 3}, /* column past the capture objects */
        {1, 5, 3, 0}, /* first column past them */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ami_wr_init(&w, pb, sizeof pb);
        ami_entry_descriptor_encode(&w, &bad[i]);
        sel.params = ami_view_of(pb, w.len);
        assert_int_equal(get(LP, 2, &sel, &n), AMI_DAR_SCOPE_OF_ACCESS_VIOLATED);
    }
    /* truncated, trailing bytes, wrong types */
    ami_entry_descriptor ok = {1, 5, 1, 0};
    ami_wr_init(&w, pb, sizeof pb);
    ami_entry_descriptor_encode(&w, &ok);
    for (size_t cut = 0; cut < w.len; cut++) {
        sel.params = ami_view_of(pb, cut);
        assert_int_equal(get(LP, 2, &sel, &n), AMI_DAR_SCOPE_OF_ACCESS_VIOLATED);
    }
    pb[w.len] = 0;
    sel.params = ami_view_of(pb, w.len + 1);
    assert_int_equal(get(LP, 2, &sel, &n), AMI_DAR_SCOPE_OF_ACCESS_VIOLATED);
    /* unknown selector */
    sel.selector = 3;
    sel.params = ami_view_of(pb, w.len);
    assert_int_equal(get(LP, 2, &sel, &n), AMI_DAR_SCOPE_OF_ACCESS_VIOLATED);
    /* range: restricting object not captured, from > to, uncomparable values, a selected column
     * that is not captured, more selected columns than the maximum */
    sel.selector = 1;
    int64_t t = T0 + 900;
    uint8_t fb[14] = {AMI_AXDR_OCTET_STRING, 12};
    ami_datetime dt;
    ami_datetime_from_unix(t, 0, 0, 0, &dt);
    ami_datetime_encode(&dt, fb + 2);
    ami_range_descriptor rd = {{AMI_COSEM_CLOCK, OB(0, 0, 1, 0, 0, 255), 3},
                               0,
                               ami_view_of(fb, 14),
                               ami_view_of(fb, 14),
                               {NULL, 0}};
    ami_wr_init(&w, pb, sizeof pb);
    ami_range_descriptor_encode(&w, &rd);
    sel.params = ami_view_of(pb, w.len);
    assert_int_equal(get(LP, 2, &sel, &n), AMI_DAR_SCOPE_OF_ACCESS_VIOLATED);
    sel.params = ami_view_of(pb, range_params(pb, sizeof pb, t + 900, t, NULL, 0));
    assert_int_equal(get(LP, 2, &sel, &n), AMI_DAR_SCOPE_OF_ACCESS_VIOLATED);
    rd.restricting.id = 2;
    rd.from_value = ami_view_of((const uint8_t[]){0x0A, 0x01, 'x'}, 3);
    ami_wr_init(&w, pb, sizeof pb);
    ami_range_descriptor_encode(&w, &rd);
    sel.params = ami_view_of(pb, w.len);
    assert_int_equal(get(LP, 2, &sel, &n), AMI_DAR_SCOPE_OF_ACCESS_VIOLATED);
    /* a date-time with an unspecified year cannot be ordered */
    uint8_t ub[14];
    memcpy(ub, fb, 14);
    ub[2] = ub[3] = 0xFF;
    rd.from_value = ami_view_of(ub, 14);
    ami_wr_init(&w, pb, sizeof pb);
    ami_range_descriptor_encode(&w, &rd);
    sel.params = ami_view_of(pb, w.len);
    assert_int_equal(get(LP, 2, &sel, &n), AMI_DAR_SCOPE_OF_ACCESS_VIOLATED);
    static const uint8_t not_captured[] = {0x01, 0x01, 0x02, 0x04, 0x12, 0x00, 0x03,
                                           0x09, 0x06, 0x01, 0x00, 0x02, 0x08, 0x00,
                                           0xFF, 0x0F, 0x02, 0x12, 0x00, 0x00};
    sel.params =
        ami_view_of(pb, range_params(pb, sizeof pb, t, t, not_captured, sizeof not_captured));
    assert_int_equal(get(LP, 2, &sel, &n), AMI_DAR_SCOPE_OF_ACCESS_VIOLATED);
    uint8_t many[4] = {0x01, 0x21, 0x00, 0x00}; /* array of 33 */
    sel.params = ami_view_of(pb, range_params(pb, sizeof pb, t, t, many, 2));
    assert_int_equal(get(LP, 2, &sel, &n), AMI_DAR_SCOPE_OF_ACCESS_VIOLATED);
    /* the answer does not fit the writer: other-reason, never a partial answer */
    ami_cosem_desc d = {AMI_COSEM_PROFILE_GENERIC, LP, 2};
    ami_access_selection none = {false, 0, {NULL, 0}};
    ami_wr small;
    ami_wr_init(&small, fx->out, 40);
    assert_int_equal(ami_cosem_store_ops.get(&fx->store, &d, &none, &ctx, &small),
                     AMI_DAR_OTHER_REASON);
}

static void test_reset_and_capture_methods(void **state)
{
    (void)state;
    ami_cosem_desc capture = {AMI_COSEM_PROFILE_GENERIC, LP, 2};
    ami_cosem_desc reset = {AMI_COSEM_PROFILE_GENERIC, LP, 1};
    static const uint8_t zero[] = {AMI_AXDR_INTEGER, 0};
    ami_wr w;
    ami_wr_init(&w, fx->out, sizeof fx->out);
    for (int i = 0; i < 5; i++)
        assert_int_equal(
            ami_cosem_store_ops.action(&fx->store, &capture, ami_view_of(zero, 2), &ctx, &w),
            AMI_ACTION_SUCCESS);
    assert_int_equal(ami_cosem_profile_entries(&fx->objs[2]), 5);
    /* wrong parameter type */
    static const uint8_t bad[] = {AMI_AXDR_UNSIGNED, 0};
    assert_int_equal(
        ami_cosem_store_ops.action(&fx->store, &capture, ami_view_of(bad, 2), &ctx, &w),
        AMI_DAR_TYPE_UNMATCHED);
    assert_int_equal(ami_cosem_store_ops.action(&fx->store, &reset, ami_view_of(zero, 2), &ctx, &w),
                     AMI_ACTION_SUCCESS);
    assert_int_equal(ami_cosem_profile_entries(&fx->objs[2]), 0);
    /* the virtual buffer has no reset of its own (no method callback): other-reason */
    ami_cosem_desc vreset = {AMI_COSEM_PROFILE_GENERIC, VP, 1};
    assert_int_equal(
        ami_cosem_store_ops.action(&fx->store, &vreset, ami_view_of(zero, 2), &ctx, &w),
        AMI_ACTION_OTHER_REASON);
    /* the API refuses what is not a stored profile of this store */
    assert_int_equal(ami_cosem_profile_capture(&fx->store, &fx->objs[3]), AMI_E_INVAL);
    assert_int_equal(ami_cosem_profile_capture(&fx->store, &fx->objs[1]), AMI_E_INVAL);
    assert_int_equal(ami_cosem_profile_capture(NULL, &fx->objs[2]), AMI_E_INVAL);
}

static void test_virtual(void **state)
{
    (void)state;
    uint8_t mem[1 << 18];
    ami_arena a;
    size_t n;
    assert_int_equal(ami_cosem_profile_entries(&fx->objs[3]), 10000);
    uint8_t pb[32];
    ami_wr w;
    ami_wr_init(&w, pb, sizeof pb);
    ami_entry_descriptor ed = {9905, 0, 1, 0};
    ami_entry_descriptor_encode(&w, &ed);
    ami_access_selection sel = {true, 2, {pb, w.len}};
    assert_int_equal(get(VP, 2, &sel, &n), AMI_DAR_SUCCESS);
    const ami_axdr_value *b = decoded(n, &a, mem, sizeof mem);
    assert_int_equal(b->count, 96);
    for (uint32_t i = 0; i < 96; i++)
        assert_int_equal(u_at(b, i, 0), 9905 + i);
    /* range on the first column (an integer restricting object) with the second column only */
    static const uint8_t second[] = {0x01, 0x01, 0x02, 0x04, 0x12, 0x00, 0x01, 0x09, 0x06, 0x00,
                                     0x00, 0x60, 0x0A, 0x02, 0xFF, 0x0F, 0x02, 0x12, 0x00, 0x00};
    ami_range_descriptor rd = {{AMI_COSEM_DATA, OB(0, 0, 96, 10, 1, 255), 2},
                               0,
                               ami_view_of((const uint8_t[]){0x06, 0, 0, 0x13, 0x88}, 5),
                               ami_view_of((const uint8_t[]){0x06, 0, 0, 0x13, 0x8A}, 5),
                               ami_view_of(second, sizeof second)};
    ami_wr_init(&w, pb, sizeof pb);
    assert_int_equal(ami_range_descriptor_encode(&w, &rd), AMI_E_NOSPACE);
    uint8_t pb2[128];
    ami_wr_init(&w, pb2, sizeof pb2);
    assert_int_equal(ami_range_descriptor_encode(&w, &rd), AMI_OK);
    sel = (ami_access_selection){true, 1, {pb2, w.len}};
    assert_int_equal(get(VP, 2, &sel, &n), AMI_DAR_SUCCESS);
    b = decoded(n, &a, mem, sizeof mem);
    assert_int_equal(b->count, 3);
    assert_int_equal(u_at(b, 0, 0), 5000);
    assert_int_equal(u_at(b, 2, 0), 5002);
    /* the whole virtual buffer does not fit 64 KiB: other-reason */
    assert_int_equal(get(VP, 2, NULL, &n), AMI_DAR_OTHER_REASON);
}

/* A clock-indexed virtual buffer: entry i captured at T0 + 900 i, {date-time, u32 i}; counts
 * the entries produced. */
static uint32_t produced;

static uint8_t c_rows(void *user, const ami_cosem_obj *o, uint32_t first, uint32_t count,
                      ami_cosem_row_fn emit, void *sink)
{
    (void)user;
    (void)o;
    for (uint32_t i = first; i < first + count; i++) {
        uint8_t row[24];
        ami_wr w;
        ami_wr_init(&w, row, sizeof row);
        ami_wr_u8(&w, AMI_AXDR_STRUCTURE);
        ami_wr_u8(&w, 2);
        ami_datetime dt;
        ami_datetime_from_unix(T0 + 900 * (int64_t)i, 0, 0, 0, &dt);
        ami_wr_u8(&w, AMI_AXDR_OCTET_STRING);
        ami_wr_u8(&w, 12);
        ami_datetime_encode(&dt, ami_wr_reserve(&w, 12));
        ami_wr_u8(&w, AMI_AXDR_DOUBLE_LONG_UNSIGNED);
        ami_wr_u32be(&w, i);
        produced++;
        if (!emit(sink, row, w.len))
            break;
    }
    return AMI_DAR_SUCCESS;
}

static void c_locate(void *user, const ami_cosem_obj *o, int64_t from, int64_t to, uint32_t *first,
                     uint32_t *count)
{
    (void)user;
    (void)o;
    int64_t lo = from <= T0 + 900 ? 1 : (from - T0 + 899) / 900;
    int64_t hi = (to - T0) / 900;
    *first = (uint32_t)lo;
    *count = hi >= lo ? (uint32_t)(hi - lo + 1) : 0;
}

static void test_virtual_locate(void **state)
{
    (void)state;
    static const ami_cosem_capture_def ccols[2] = {
        {AMI_COSEM_CLOCK, OB(0, 0, 1, 0, 0, 255), 2, 0},
        {AMI_COSEM_DATA, OB(0, 0, 96, 10, 1, 255), 2, 0},
    };
    ami_cosem_profile_source src = {v_entries, c_rows, c_locate, NULL};
    ami_cosem_profile p = {.columns = ccols,
                           .ncolumns = 2,
                           .capture_period = 900,
                           .profile_entries = 20000,
                           .source = &src};
    ami_cosem_obj o[2] = {{.class_id = AMI_COSEM_CLOCK, .ln = OB(0, 0, 1, 0, 0, 255)},
                          {.class_id = AMI_COSEM_PROFILE_GENERIC, .ln = LP, .state = &p}};
    ami_cosem_clock_src clk = {fx_now, NULL, NULL};
    assert_int_equal(ami_cosem_store_init(&fx->store, o, 2, &clk), AMI_OK);
    uint8_t mem[1 << 16];
    ami_arena a;
    size_t n;
    uint8_t pb[128];
    for (int pass = 0; pass < 2; pass++) {
        src.locate = pass ? c_locate : NULL;
        produced = 0;
        ami_access_selection sel = {
            true, 1, {pb, range_params(pb, sizeof pb, T0 + 900 * 9000, T0 + 900 * 9095, NULL, 0)}};
        assert_int_equal(get(LP, 2, &sel, &n), AMI_DAR_SUCCESS);
        const ami_axdr_value *b = decoded(n, &a, mem, sizeof mem);
        assert_int_equal(b->count, 96);
        assert_int_equal(u_at(b, 0, 1), 9000);
        assert_int_equal(u_at(b, 95, 1), 9095);
        /* with locate only the located entries are produced; without, all 10000 */
        assert_int_equal(produced, pass ? 96 : 10000);
        /* a range before the first entry or after the last: empty */
        sel.params = ami_view_of(pb, range_params(pb, sizeof pb, T0 - 9000, T0, NULL, 0));
        assert_int_equal(get(LP, 2, &sel, &n), AMI_DAR_SUCCESS);
        assert_int_equal(n, 2);
        sel.params = ami_view_of(
            pb, range_params(pb, sizeof pb, T0 + 900 * 10001, T0 + 900 * 20000, NULL, 0));
        assert_int_equal(get(LP, 2, &sel, &n), AMI_DAR_SUCCESS);
        assert_int_equal(n, 2);
    }
}

/*
 * capture_objects and the empty buffer byte-exact against the Gurux 9.0 server of the recorded
 * session (../shared/testdata/dlms/session_gurux_hdlc_ln_read_profile_generic.txt: the profile
 * 1-0:99.1.0.255 of the clock and register 1-1:21.25.0.255).
 */
static void test_gurux_capture_objects(void **state)
{
    (void)state;
    static const ami_cosem_capture_def gcols[2] = {
        {AMI_COSEM_CLOCK, OB(0, 0, 1, 0, 0, 255), 2, 0},
        {AMI_COSEM_REGISTER, OB(1, 1, 21, 25, 0, 255), 2, 0},
    };
    fx->lp.columns = gcols;
    size_t n;
    assert_int_equal(get(LP, 3, NULL, &n), AMI_DAR_SUCCESS);
    size_t glen;
    uint8_t *g = tu_hex("0102020412000809060000010000FF0F02120000"
                        "020412000309060101151900FF0F02120000",
                        &glen);
    assert_int_equal(n, glen);
    assert_memory_equal(fx->out, g, glen);
    free(g);
    assert_int_equal(get(LP, 2, NULL, &n), AMI_DAR_SUCCESS);
    assert_int_equal(n, 2);
    assert_memory_equal(fx->out, "\x01\x00", 2);
}

static void test_event_log(void **state)
{
    (void)state;
    uint8_t mem[1 << 14];
    ami_arena a;
    size_t n;
    for (uint8_t i = 1; i <= 12; i++)
        assert_int_equal(ami_cosem_event_record(&fx->objs[4], T0 + i, 0, 0, i), AMI_OK);
    assert_int_equal(ami_cosem_profile_entries(&fx->objs[4]), 10);
    assert_int_equal(get(EV, 2, NULL, &n), AMI_DAR_SUCCESS);
    const ami_axdr_value *b = decoded(n, &a, mem, sizeof mem);
    assert_int_equal(b->count, 10);
    assert_int_equal(u_at(b, 0, 1), 3);
    assert_int_equal(time_at(b, 0), T0 + 3);
    assert_int_equal(u_at(b, 9, 1), 12);
    /* push refuses what is not one entry of two columns */
    static const uint8_t three[] = {0x02, 0x03, 0x11, 0x01, 0x11, 0x02, 0x11, 0x03};
    assert_int_equal(ami_cosem_profile_push(&fx->objs[4], three, sizeof three), AMI_E_INVAL);
    static const uint8_t trailing[] = {0x02, 0x02, 0x11, 0x01, 0x11, 0x02, 0x00};
    assert_int_equal(ami_cosem_profile_push(&fx->objs[4], trailing, sizeof trailing), AMI_E_INVAL);
    uint8_t big[40] = {0x02, 0x02, 0x11, 0x01, 0x09, 34};
    assert_int_equal(ami_cosem_profile_push(&fx->objs[4], big, sizeof big), AMI_E_NOSPACE);
    assert_int_equal(ami_cosem_event_record(&fx->objs[3], T0, 0, 0, 1), AMI_E_INVAL);
    assert_int_equal(ami_cosem_event_record(NULL, T0, 0, 0, 1), AMI_E_INVAL);
    ami_cosem_profile_reset(&fx->objs[4]);
    assert_int_equal(ami_cosem_profile_entries(&fx->objs[4]), 0);
}

static void test_config_refused(void **state)
{
    (void)state;
    ami_cosem_store st;
    ami_cosem_profile p = fx->lp;
    ami_cosem_obj o = {.class_id = AMI_COSEM_PROFILE_GENERIC, .ln = LP, .state = &p};
    ami_cosem_clock_src clk = {fx_now, NULL, NULL};
    assert_int_equal(ami_cosem_store_init(&st, &o, 1, &clk), AMI_OK);
    p.sort_method = AMI_COSEM_SORT_LARGEST; /* not served */
    assert_int_equal(ami_cosem_store_init(&st, &o, 1, &clk), AMI_E_CONFIG);
    p = fx->lp;
    p.source = &vsrc; /* both kinds */
    assert_int_equal(ami_cosem_store_init(&st, &o, 1, &clk), AMI_E_CONFIG);
    p = fx->lp;
    p.ring_cap = RING_N * ROW_SIZE - 1; /* ring too small */
    assert_int_equal(ami_cosem_store_init(&st, &o, 1, &clk), AMI_E_CONFIG);
    p = fx->lp;
    p.ncolumns = 0;
    assert_int_equal(ami_cosem_store_init(&st, &o, 1, &clk), AMI_E_CONFIG);
    p = fx->lp;
    p.profile_entries = 0;
    assert_int_equal(ami_cosem_store_init(&st, &o, 1, &clk), AMI_E_CONFIG);
    o.state = NULL;
    assert_int_equal(ami_cosem_store_init(&st, &o, 1, &clk), AMI_E_CONFIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_attributes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_capture_wrap_and_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_selections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_and_capture_methods, setup, teardown),
        cmocka_unit_test_setup_teardown(test_virtual, setup, teardown),
        cmocka_unit_test_setup_teardown(test_virtual_locate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gurux_capture_objects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
