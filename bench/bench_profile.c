/*
 * Benchmark: reading a day of a 15-minute load profile (96 entries of clock, status and four
 * energies) client <-> server in process, through the client session and the server engine
 * with block transfer (client PDU 512 bytes), as a ratio against reading the clock (one small
 * GET) the same way in the same run. Two buffers: a stored ring of 35 days (entry selector,
 * the last 96) and a virtual buffer computed from the metrology model over 35 days of history
 * (range selector on the clock, the last 24 hours), as `ami sim` serves it: from a checkpoint
 * at the previous midnight with the entries located arithmetically, and, for comparison,
 * scanning the whole history.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ami/ami.h"
#include "benchutil.h"

#define OB(a, b, c, d, e, f) \
    {                        \
        {                    \
            a, b, c, d, e, f \
        }                    \
    }
#define DAYS     35
#define ENTRIES  (DAYS * 96)
#define ROW_SIZE 48

static const int64_t T_START = INT64_C(1792108800); /* 2026-10-16T00:00:00Z */
static int64_t now_s;

static ami_metro metro0, live;
static uint64_t reg_counter;

static int64_t fx_now(void *user)
{
    (void)user;
    return now_s;
}

static uint8_t fx_energy(void *user, const ami_cosem_obj *obj, ami_wr *out)
{
    (void)user;
    ami_wr_u8(out, AMI_AXDR_DOUBLE_LONG_UNSIGNED);
    ami_wr_u32be(out, (uint32_t)(reg_counter * obj->ln.v[2]));
    return AMI_DAR_SUCCESS;
}

static const ami_cosem_capture_def cols[6] = {
    {AMI_COSEM_CLOCK, OB(0, 0, 1, 0, 0, 255), 2, 0},
    {AMI_COSEM_DATA, OB(0, 0, 96, 10, 1, 255), 2, 0},
    {AMI_COSEM_REGISTER, OB(1, 0, 1, 8, 0, 255), 2, 0},
    {AMI_COSEM_REGISTER, OB(1, 0, 2, 8, 0, 255), 2, 0},
    {AMI_COSEM_REGISTER, OB(1, 0, 3, 8, 0, 255), 2, 0},
    {AMI_COSEM_REGISTER, OB(1, 0, 4, 8, 0, 255), 2, 0},
};

/* ---------------------------------------------------------------- the virtual buffer */

typedef struct gen {
    uint64_t next, first, last;
    ami_cosem_row_fn emit;
    void *ctx;
    bool stop;
} gen;

static void on_capture(void *ctx, const ami_metro *m)
{
    gen *g = ctx;
    uint64_t k = g->next++;
    if (g->stop || k < g->first || k > g->last)
        return;
    uint8_t row[64];
    ami_wr w;
    ami_wr_init(&w, row, sizeof row);
    ami_wr_u8(&w, AMI_AXDR_STRUCTURE);
    ami_wr_u8(&w, 6);
    ami_datetime dt;
    ami_datetime_from_unix(m->t, 0, 0, 0, &dt);
    ami_wr_u8(&w, AMI_AXDR_OCTET_STRING);
    ami_wr_u8(&w, 12);
    ami_datetime_encode(&dt, ami_wr_reserve(&w, 12));
    ami_wr_u8(&w, AMI_AXDR_UNSIGNED);
    ami_wr_u8(&w, 0);
    const int64_t e[4] = {m->reg.a_plus, m->reg.a_minus, m->reg.q[0] + m->reg.q[1],
                          m->reg.q[2] + m->reg.q[3]};
    for (int i = 0; i < 4; i++) {
        ami_wr_u8(&w, AMI_AXDR_DOUBLE_LONG_UNSIGNED);
        ami_wr_u32be(&w, (uint32_t)ami_metro_wh(e[i]));
    }
    g->stop = !g->emit(g->ctx, row, w.len);
}

static uint32_t v_entries(void *user, const ami_cosem_obj *o)
{
    (void)user;
    (void)o;
    return (uint32_t)((live.t - T_START) / 900);
}

/* The state at yesterday's midnight (as ami sim keeps it), used when use_ckpt is set. */
static ami_metro ckpt;
static bool use_ckpt;

static uint8_t v_rows(void *user, const ami_cosem_obj *o, uint32_t first, uint32_t count,
                      ami_cosem_row_fn emit, void *ctx)
{
    (void)user;
    (void)o;
    gen g = {1, first, (uint64_t)first + count - 1, emit, ctx, false};
    ami_metro m = metro0;
    if (use_ckpt && ckpt.t <= T_START + (int64_t)(first - 1) * 900) {
        m = ckpt;
        g.next = (uint64_t)((ckpt.t - T_START) / 900) + 1;
    }
    ami_metro_hooks h = {.capture_period_s = 900, .capture = on_capture, .capture_ctx = &g};
    return ami_metro_run(&m, T_START + (int64_t)g.last * 900, &h) == AMI_OK
               ? AMI_DAR_SUCCESS
               : AMI_DAR_HARDWARE_FAULT;
}

/* Entries captured in [from, to]: capture k is at T_START + 900 k. */
static void v_locate(void *user, const ami_cosem_obj *o, int64_t from, int64_t to, uint32_t *first,
                     uint32_t *count)
{
    (void)user;
    (void)o;
    int64_t lo = from <= T_START + 900 ? 1 : (from - T_START + 899) / 900;
    int64_t hi = (to - T_START) / 900;
    *first = (uint32_t)lo;
    *count = hi >= lo ? (uint32_t)(hi - lo + 1) : 0;
}

static ami_cosem_profile_source vsrc = {v_entries, v_rows, NULL, NULL};

/* ---------------------------------------------------------------- client <-> server */

static uint8_t status_value[2] = {AMI_AXDR_UNSIGNED, 0};
static uint8_t ring[ENTRIES * ROW_SIZE];
static ami_cosem_profile lp_stored, lp_virtual;
static ami_cosem_obj objs[9];
static ami_cosem_store store;
static ami_dlms_policy policy;
static ami_dlms_server srv;
static ami_dlms_assoc assoc;
static uint8_t block[16384], scratch[1024];
static ami_dlms_client cl;
static uint8_t data_buf[16384];

/* One GET through both sides; returns the bytes of the value (0 on failure). */
static uint64_t exchange(const ami_attr_sel *sel)
{
    uint8_t req[256], resp[600];
    ami_wr w;
    ami_wr_init(&w, req, sizeof req);
    if (ami_dlms_client_get(&cl, sel, 1, &w))
        return 0;
    ami_dlms_result res;
    for (int i = 0; i < 1000; i++) {
        int n = ami_dlms_assoc_handle(&assoc, req, w.len, resp, sizeof resp);
        if (n <= 0)
            return 0;
        ami_wr_init(&w, req, sizeof req);
        int rc = ami_dlms_client_input(&cl, resp, (size_t)n, &w, &res);
        if (rc == AMI_OK)
            return res.outcome == AMI_DLMS_SUCCESS ? res.data.len : 0;
        if (rc != AMI_E_AGAIN || !w.len)
            return 0;
    }
    return 0;
}

static ami_attr_sel clock_sel = {{AMI_COSEM_CLOCK, OB(0, 0, 1, 0, 0, 255), 2},
                                 {false, 0, {NULL, 0}}};
static uint8_t entry_params[32], range_params[64];
static ami_attr_sel stored_sel = {{AMI_COSEM_PROFILE_GENERIC, OB(1, 0, 99, 1, 0, 255), 2},
                                  {true, 2, {NULL, 0}}};
static ami_attr_sel virtual_sel = {{AMI_COSEM_PROFILE_GENERIC, OB(1, 0, 99, 3, 0, 255), 2},
                                   {true, 1, {NULL, 0}}};

static uint64_t op_clock(void *ctx)
{
    (void)ctx;
    return exchange(&clock_sel);
}

static uint64_t op_stored(void *ctx)
{
    (void)ctx;
    return exchange(&stored_sel);
}

static uint64_t op_virtual(void *ctx)
{
    (void)ctx;
    return exchange(&virtual_sel);
}

static int setup(void)
{
    now_s = T_START;
    lp_stored = (ami_cosem_profile){.columns = cols,
                                    .ncolumns = 6,
                                    .capture_period = 900,
                                    .profile_entries = ENTRIES,
                                    .ring = ring,
                                    .ring_cap = sizeof ring,
                                    .row_size = ROW_SIZE};
    lp_virtual = (ami_cosem_profile){.columns = cols,
                                     .ncolumns = 6,
                                     .capture_period = 900,
                                     .profile_entries = ENTRIES + 96,
                                     .source = &vsrc};
    objs[0] = (ami_cosem_obj){.class_id = AMI_COSEM_CLOCK, .ln = AMI_OBIS(0, 0, 1, 0, 0, 255)};
    objs[1] = (ami_cosem_obj){.class_id = AMI_COSEM_DATA,
                              .ln = AMI_OBIS(0, 0, 96, 10, 1, 255),
                              .value = status_value,
                              .value_cap = 2,
                              .value_len = 2};
    for (int i = 0; i < 4; i++)
        objs[2 + i] = (ami_cosem_obj){.class_id = AMI_COSEM_REGISTER,
                                      .ln = AMI_OBIS(1, 0, i + 1, 8, 0, 255),
                                      .read = fx_energy,
                                      .unit = 30};
    objs[6] = (ami_cosem_obj){.class_id = AMI_COSEM_PROFILE_GENERIC,
                              .ln = AMI_OBIS(1, 0, 99, 1, 0, 255),
                              .state = &lp_stored};
    objs[7] = (ami_cosem_obj){.class_id = AMI_COSEM_PROFILE_GENERIC,
                              .ln = AMI_OBIS(1, 0, 99, 3, 0, 255),
                              .state = &lp_virtual};
    objs[8] =
        (ami_cosem_obj){.class_id = AMI_COSEM_ASSOCIATION_LN, .ln = AMI_OBIS(0, 0, 40, 0, 0, 255)};
    ami_cosem_clock_src clk = {fx_now, NULL, NULL};
    if (ami_cosem_store_init(&store, objs, 9, &clk))
        return -1;
    /* 35 days of captures in the ring */
    for (int i = 0; i < ENTRIES; i++) {
        now_s += 900;
        reg_counter++;
        if (ami_cosem_profile_capture(&store, &objs[6]))
            return -1;
    }
    /* the metrology of the virtual buffer, run to the same time */
    ami_metro_load load;
    ami_metro_load_from_seed(&load, 7);
    if (ami_metro_init(&metro0, &load, 15, 15, T_START))
        return -1;
    ckpt = metro0;
    if (ami_metro_run(&ckpt, now_s - 86400, NULL))
        return -1;
    live = ckpt;
    if (ami_metro_run(&live, now_s, NULL))
        return -1;
    policy = (ami_dlms_policy){
        .client_sap = 16, .context = AMI_ACSE_CONTEXT_LN, .conformance = 0x00FFFF, .max_pdu = 1024};
    ami_dlms_server_config cfg = {
        .ops = &ami_cosem_store_ops, .store = &store, .policies = &policy, .policy_count = 1};
    ami_dlms_assoc_mem mem = {.block = block,
                              .block_cap = sizeof block,
                              .scratch = scratch,
                              .scratch_cap = sizeof scratch};
    ami_dlms_client_config cc = {.max_pdu = 512, .data_buf = data_buf, .data_cap = sizeof data_buf};
    if (ami_dlms_server_init(&srv, &cfg) || ami_dlms_assoc_init(&assoc, &srv, 16, &mem) ||
        ami_dlms_client_init(&cl, &cc))
        return -1;
    uint8_t req[256], resp[600];
    ami_wr w;
    ami_wr_init(&w, req, sizeof req);
    ami_dlms_result res;
    if (ami_dlms_client_associate(&cl, &w))
        return -1;
    int n = ami_dlms_assoc_handle(&assoc, req, w.len, resp, sizeof resp);
    ami_wr_init(&w, req, sizeof req);
    if (n <= 0 || ami_dlms_client_input(&cl, resp, (size_t)n, &w, &res) ||
        ami_dlms_client_state_get(&cl) != AMI_DLMS_CLIENT_READY)
        return -1;
    /* the selections: the last 96 entries, by entry and by the clock */
    ami_wr_init(&w, entry_params, sizeof entry_params);
    ami_entry_descriptor ed = {ENTRIES - 95, 0, 1, 0};
    ami_entry_descriptor_encode(&w, &ed);
    stored_sel.access.params = ami_view_of(entry_params, w.len);
    uint8_t fb[14] = {AMI_AXDR_OCTET_STRING, 12}, tb[14] = {AMI_AXDR_OCTET_STRING, 12};
    ami_datetime dt;
    int64_t day = now_s - 86400; /* the last 24 hours: 00:15 .. 24:00 */
    ami_datetime_from_unix(day + 900, 0, 0, 0, &dt);
    ami_datetime_encode(&dt, fb + 2);
    ami_datetime_from_unix(now_s, 0, 0, 0, &dt);
    ami_datetime_encode(&dt, tb + 2);
    ami_range_descriptor rd = {{AMI_COSEM_CLOCK, OB(0, 0, 1, 0, 0, 255), 2},
                               0,
                               ami_view_of(fb, 14),
                               ami_view_of(tb, 14),
                               {NULL, 0}};
    ami_wr_init(&w, range_params, sizeof range_params);
    ami_range_descriptor_encode(&w, &rd);
    virtual_sel.access.params = ami_view_of(range_params, w.len);
    return 0;
}

/* Entries in the array answer of the last exchange. */
static uint32_t answered_entries(void)
{
    const uint8_t *p = data_buf;
    if (p[0] != AMI_AXDR_ARRAY)
        return 0;
    return p[1] < 0x80 ? p[1] : p[1] == 0x81 ? p[2] : (uint32_t)(p[2] << 8 | p[3]);
}

int main(void)
{
    if (setup()) {
        fprintf(stderr, "bench_profile: setup failed\n");
        return 1;
    }
    uint64_t sizes[3] = {op_clock(NULL), op_stored(NULL), 0};
    uint32_t rows_stored = answered_entries();
    sizes[2] = op_virtual(NULL);
    uint32_t rows_full = answered_entries();
    uint8_t full_copy[16384];
    memcpy(full_copy, data_buf, sizes[2]);
    vsrc.locate = v_locate;
    use_ckpt = true;
    uint32_t rows_fast = op_virtual(NULL) == sizes[2] ? answered_entries() : 0;
    if (!sizes[0] || rows_stored != 96 || rows_full != 96 || rows_fast != 96 ||
        memcmp(full_copy, data_buf, sizes[2])) {
        fprintf(stderr, "bench_profile: the reads do not complete or differ (%u, %u, %u entries)\n",
                rows_stored, rows_full, rows_fast);
        return 1;
    }
    unsigned ms = bench_ms();
    double base = 1e300, st = 1e300, vf = 1e300, vs = 1e300;
    for (int round = 0; round < 3; round++) {
        double t = bench_run(op_clock, NULL, ms / 3 + 1);
        base = t < base ? t : base;
        t = bench_run(op_stored, NULL, ms / 3 + 1);
        st = t < st ? t : st;
        vsrc.locate = v_locate;
        use_ckpt = true;
        t = bench_run(op_virtual, NULL, ms / 3 + 1);
        vf = t < vf ? t : vf;
        vsrc.locate = NULL;
        use_ckpt = false;
        t = bench_run(op_virtual, NULL, ms / 3 + 1);
        vs = t < vs ? t : vs;
    }
    bench_report("a day of 15-min profile (96 entries), stored ring, entry selector", st,
                 "GET of the clock", base, (size_t)sizes[1]);
    bench_report("the same day, virtual buffer, range selector, from yesterday's checkpoint", vf,
                 "GET of the clock", base, (size_t)sizes[2]);
    bench_report("the same day, virtual buffer, range selector, scanning 35 days of history", vs,
                 "GET of the clock", base, (size_t)sizes[2]);
    return 0;
}
