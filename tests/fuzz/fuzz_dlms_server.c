/*
 * Fuzz target for the DLMS server engine with the reference object store: a whole server
 * (Data, Register, Clock, Association LN, Profile generic stored and virtual with their
 * selective-access parameters, Extended and Demand registers, and the control classes whose SET
 * values and method parameters the store decodes: Disconnect control, Clock methods, Script
 * table, Single action schedule, Activity calendar, Push setup, SAP assignment, Special days
 * table; public, LLS and
 * pre-established SAPs) is associated,
 * then fed APDUs cut from the input. Every APDU must be answered or dropped, never crash; every
 * answer must be one APDU our own decoder accepts, within the output buffer and, once
 * associated, within the client's negotiated PDU size.
 *
 * Input: byte 0 chooses the SAP (bits 0-1: 16 no-auth, 18 LLS, 102 pre-established, 16 without
 * AARQ; bit 4: the short-name SAP 32 instead, associated with SN services) and the client max
 * PDU (bits 2-3: 64, 128, 512, 65535); bit 5 gives the association GBT buffers and proposes
 * general block transfer (window 3: streamed blocks are drained with ami_dlms_assoc_next and
 * checked too); then records of a 2-byte big-endian length and that many bytes (the last record
 * takes what is left).
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ami/ami.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int64_t fz_now(void *user)
{
    (void)user;
    return 1795327200;
}

static uint8_t fz_set(void *user, int64_t t)
{
    (void)user;
    (void)t;
    return AMI_DAR_SUCCESS;
}

static uint8_t fz_value(void *user, const ami_cosem_obj *obj, ami_wr *out)
{
    (void)user;
    (void)obj;
    ami_wr_u8(out, AMI_AXDR_DOUBLE_LONG_UNSIGNED);
    ami_wr_u32be(out, 123456);
    return AMI_DAR_SUCCESS;
}

static uint8_t fz_method(void *user, ami_cosem_obj *obj, uint8_t id, ami_view params, ami_wr *out)
{
    (void)user;
    (void)obj;
    (void)id;
    ami_wr_bytes(out, params.p, params.len);
    return AMI_ACTION_SUCCESS;
}

/* Virtual buffer of 5000 entries {double-long-unsigned i, long-unsigned i}. */
static uint32_t fz_entries(void *user, const ami_cosem_obj *o)
{
    (void)user;
    (void)o;
    return 5000;
}

static uint8_t fz_rows(void *user, const ami_cosem_obj *o, uint32_t first, uint32_t count,
                       ami_cosem_row_fn emit, void *ctx)
{
    (void)user;
    (void)o;
    if (first < 1 || count < 1 || first - 1 + count > 5000)
        abort(); /* the class must only ask for entries that exist */
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

static void fz_demand(void *user, const ami_cosem_obj *o, ami_cosem_demand_values *v)
{
    (void)user;
    (void)o;
    *v = (ami_cosem_demand_values){12, 34, 0, 1795327200, 1795327200, 900, 1};
}

static const ami_cosem_profile_source fz_src = {fz_entries, fz_rows, NULL, NULL};
static const ami_cosem_capture_def lp_cols[2] = {
    {AMI_COSEM_CLOCK, {{0, 0, 1, 0, 0, 255}}, 2, 0},
    {AMI_COSEM_REGISTER, {{1, 0, 1, 8, 0, 255}}, 2, 0},
};
static const ami_cosem_capture_def v_cols[2] = {
    {AMI_COSEM_DATA, {{0, 0, 96, 10, 1, 255}}, 2, 0},
    {AMI_COSEM_DATA, {{0, 0, 96, 10, 2, 255}}, 2, 0},
};

static const uint8_t rw2[2] = {AMI_ACCESS_READ, AMI_ACCESS_READ_WRITE};
static const uint8_t m1[1] = {AMI_METHOD_ACCESS};
static const uint8_t m2[2] = {AMI_METHOD_ACCESS, AMI_METHOD_ACCESS};
static const uint8_t password[] = "secret12";

/* An AARQ (optional LLS "secret12") for a context proposing conformance and max PDU `pdu`. */
static size_t build_aarq(uint8_t *buf, size_t cap, bool lls, uint16_t pdu, uint8_t context,
                         uint32_t conformance)
{
    uint8_t ui[32];
    ami_wr w;
    ami_wr_init(&w, ui, sizeof ui);
    ami_apdu init;
    memset(&init, 0, sizeof init);
    init.tag = AMI_APDU_INITIATE_REQUEST;
    init.u.initiate_request.dlms_version = 6;
    init.u.initiate_request.conformance = conformance;
    init.u.initiate_request.max_pdu_size = pdu;
    if (ami_apdu_encode(&w, &init))
        abort();
    ami_aarq q;
    memset(&q, 0, sizeof q);
    q.c.context = context;
    if (lls) {
        q.c.has_acse_requirements = q.c.authentication = true;
        q.c.has_mechanism = true;
        q.c.mechanism = AMI_ACSE_MECH_LOW;
        q.c.has_auth_value = true;
        q.c.auth_value = ami_view_of(password, 8);
    }
    q.c.has_user_information = true;
    q.c.user_information = ami_view_of(ui, w.len);
    ami_wr_init(&w, buf, cap);
    if (ami_aarq_encode(&w, &q))
        abort();
    return w.len;
}

/* ---- control classes (ami/cosem_*.h): state rebuilt for every input */

static const uint8_t m_all[6] = {1, 1, 1, 1, 1, 1};
static const uint8_t fz_int0[] = {0x0F, 0x00};
static const uint8_t fz_u8[] = {0x11, 0x07};
static const uint8_t fz_exec1[] = {0x12, 0x00, 0x01};
/* Script 1 writes the Data 0-0:128.0.0.255 and pushes; script 2 runs itself (a loop the
 * nesting bound ends); script 3 runs script 1. */
static const ami_cosem_action fz_act1[] = {
    {AMI_SCRIPT_WRITE_ATTRIBUTE, AMI_COSEM_DATA, {{0, 0, 128, 0, 0, 255}}, 2, fz_u8, 2},
    {AMI_SCRIPT_EXECUTE_METHOD, AMI_COSEM_PUSH_SETUP, {{0, 0, 25, 9, 0, 255}}, 1, fz_int0, 2},
};
static const uint8_t fz_exec2[] = {0x12, 0x00, 0x02};
static const ami_cosem_action fz_act2[] = {
    {AMI_SCRIPT_EXECUTE_METHOD, AMI_COSEM_SCRIPT_TABLE, {{0, 0, 10, 0, 1, 255}}, 1, fz_exec2, 3}};
static const ami_cosem_action fz_act3[] = {
    {AMI_SCRIPT_EXECUTE_METHOD, AMI_COSEM_SCRIPT_TABLE, {{0, 0, 10, 0, 1, 255}}, 1, fz_exec1, 3}};
static const ami_cosem_script fz_scripts[] = {{1, fz_act1, 2}, {2, fz_act2, 1}, {3, fz_act3, 1}};

typedef struct fz_control {
    ami_cosem_clock clock;
    ami_cosem_disconnect disc;
    ami_cosem_script_table table;
    ami_cosem_schedule sched;
    ami_cosem_exec_time times[3];
    ami_cosem_calendar cal;
    uint8_t cal_bufs[8][128];
    ami_cosem_push push;
    ami_cosem_push_obj push_objs[4];
    ami_cosem_window windows[2];
    uint8_t push_apdu[256];
    ami_cosem_sap sap;
    ami_cosem_sap_entry sap_entries[2];
    ami_cosem_special_days sd;
    ami_cosem_special_day sd_entries[3];
} fz_control;

static uint8_t fz_send(void *user, const ami_cosem_push *p, const uint8_t *apdu, size_t len)
{
    (void)user;
    (void)p;
    /* What a push builds must be one APDU our own decoder accepts. */
    ami_apdu r;
    if (ami_apdu_decode(apdu, len, NULL, NULL, &r) != AMI_OK || r.tag != AMI_APDU_DATA_NOTIFICATION)
        abort();
    return AMI_ACTION_SUCCESS;
}

/* Appends the control objects to objs[n..n+7]; returns the new count. */
static size_t add_control(ami_cosem_obj *objs, size_t n, fz_control *c)
{
    memset(c, 0, sizeof *c);
    ami_cosem_clock_init(&c->clock, 900);
    for (size_t i = 0; i < n; i++)
        if (objs[i].class_id == AMI_COSEM_CLOCK) {
            objs[i].state = &c->clock;
            objs[i].method_access = m_all;
        }
    (void)ami_cosem_disconnect_init(&c->disc, 1, NULL, NULL);
    objs[n++] = (ami_cosem_obj){.class_id = AMI_COSEM_DISCONNECT_CONTROL,
                                .ln = AMI_OBIS(0, 0, 96, 3, 10, 255),
                                .method_access = m_all,
                                .state = &c->disc};
    c->table = (ami_cosem_script_table){.scripts = fz_scripts, .count = 3};
    objs[n++] = (ami_cosem_obj){.class_id = AMI_COSEM_SCRIPT_TABLE,
                                .ln = AMI_OBIS(0, 0, 10, 0, 1, 255),
                                .method_access = m_all,
                                .state = &c->table};
    c->sched = (ami_cosem_schedule){.script_ln = AMI_OBIS(0, 0, 10, 0, 1, 255),
                                    .script_selector = 1,
                                    .type = AMI_SCHEDULE_ANY_WILD,
                                    .times = c->times,
                                    .cap = 3};
    objs[n++] = (ami_cosem_obj){.class_id = AMI_COSEM_SINGLE_ACTION_SCHEDULE,
                                .ln = AMI_OBIS(0, 0, 15, 0, 0, 255),
                                .state = &c->sched};
    for (int i = 0; i < 4; i++) {
        c->cal.active[i] = (ami_cosem_buf){c->cal_bufs[i], sizeof c->cal_bufs[i], 0};
        c->cal.passive[i] = (ami_cosem_buf){c->cal_bufs[4 + i], sizeof c->cal_bufs[4 + i], 0};
    }
    memset(c->cal.activate_time, 0xFF, 12);
    objs[n++] = (ami_cosem_obj){.class_id = AMI_COSEM_ACTIVITY_CALENDAR,
                                .ln = AMI_OBIS(0, 0, 13, 0, 0, 255),
                                .method_access = m_all,
                                .state = &c->cal};
    c->push_objs[0] =
        (ami_cosem_push_obj){AMI_COSEM_PUSH_SETUP, AMI_OBIS(0, 0, 25, 9, 0, 255), 1, 0};
    c->push = (ami_cosem_push){.objects = c->push_objs,
                               .objects_cap = 4,
                               .objects_count = 1,
                               .windows = c->windows,
                               .windows_cap = 2,
                               .apdu = c->push_apdu,
                               .apdu_cap = sizeof c->push_apdu,
                               .send = fz_send};
    objs[n++] = (ami_cosem_obj){.class_id = AMI_COSEM_PUSH_SETUP,
                                .ln = AMI_OBIS(0, 0, 25, 9, 0, 255),
                                .method_access = m_all,
                                .state = &c->push};
    c->sap = (ami_cosem_sap){.entries = c->sap_entries, .cap = 2};
    objs[n++] = (ami_cosem_obj){.class_id = AMI_COSEM_SAP_ASSIGNMENT,
                                .ln = AMI_OBIS(0, 0, 41, 0, 0, 255),
                                .method_access = m_all,
                                .state = &c->sap};
    /* special days: one holiday (25 December, day 2), the calendar follows the table */
    c->sd = (ami_cosem_special_days){.entries = c->sd_entries, .cap = 3, .count = 1};
    c->sd_entries[0] = (ami_cosem_special_day){1, {0xFF, 0xFF, 12, 25, 0xFF}, 2};
    c->cal.special_days = &c->sd;
    objs[n++] = (ami_cosem_obj){.class_id = AMI_COSEM_SPECIAL_DAYS_TABLE,
                                .ln = AMI_OBIS(0, 0, 11, 0, 0, 255),
                                .method_access = m_all,
                                .state = &c->sd};
    return n;
}

static void check_answer(const ami_dlms_assoc *a, const uint8_t *out, int n, size_t cap)
{
    if (n < 0 || (size_t)n > cap)
        abort();
    if (n == 0)
        return;
    const ami_dlms_ctx *c = ami_dlms_assoc_ctx(a);
    if (out[0] != AMI_ACSE_AARE && c->state == AMI_DLMS_ASSOC_ASSOCIATED &&
        (size_t)n > c->client_max_pdu)
        abort();
    static uint8_t arena_buf[1 << 16];
    ami_arena ar;
    ami_arena_init(&ar, arena_buf, sizeof arena_buf);
    ami_apdu r;
    if (ami_apdu_decode(out, (size_t)n, &ar, NULL, &r) != AMI_OK)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t ldn[16], ident[64], big[512], ring[40 * 32], xval[5];
    ami_cosem_profile lp = {.columns = lp_cols,
                            .ncolumns = 2,
                            .capture_period = 900,
                            .profile_entries = 40,
                            .ring = ring,
                            .ring_cap = sizeof ring,
                            .row_size = 32};
    ami_cosem_profile vp = {
        .columns = v_cols, .ncolumns = 2, .profile_entries = 6000, .source = &fz_src};
    ami_cosem_ext_register xr = {.status = 1, .capture_time = 1795327200};
    ami_cosem_demand_register dr = {fz_demand};
    ami_cosem_obj objs[11 + 7] = {
        {.class_id = AMI_COSEM_ASSOCIATION_LN, .ln = AMI_OBIS(0, 0, 40, 0, 0, 255)},
        {.class_id = AMI_COSEM_DATA,
         .ln = AMI_OBIS(0, 0, 42, 0, 0, 255),
         .value = ldn,
         .value_cap = sizeof ldn,
         .value_len = 6},
        {.class_id = AMI_COSEM_DATA,
         .ln = AMI_OBIS(0, 0, 96, 1, 0, 255),
         .attr_access = rw2,
         .value = ident,
         .value_cap = sizeof ident,
         .value_len = 3},
        {.class_id = AMI_COSEM_CLOCK, .ln = AMI_OBIS(0, 0, 1, 0, 0, 255), .time_zone = -60},
        {.class_id = AMI_COSEM_REGISTER,
         .ln = AMI_OBIS(1, 0, 1, 8, 0, 255),
         .read = fz_value,
         .method = fz_method,
         .method_access = m1,
         .unit = 30},
        {.class_id = AMI_COSEM_DATA,
         .ln = AMI_OBIS(0, 0, 128, 0, 0, 255),
         .attr_access = rw2,
         .value = big,
         .value_cap = sizeof big,
         .value_len = 2},
        {.class_id = AMI_COSEM_PROFILE_GENERIC,
         .ln = AMI_OBIS(1, 0, 99, 1, 0, 255),
         .method_access = m2,
         .state = &lp},
        {.class_id = AMI_COSEM_PROFILE_GENERIC, .ln = AMI_OBIS(1, 0, 99, 2, 0, 255), .state = &vp},
        {.class_id = AMI_COSEM_EXTENDED_REGISTER,
         .ln = AMI_OBIS(1, 0, 1, 6, 0, 255),
         .method_access = m1,
         .state = &xr,
         .value = xval,
         .value_cap = sizeof xval,
         .value_len = sizeof xval,
         .unit = 27},
        {.class_id = AMI_COSEM_DEMAND_REGISTER,
         .ln = AMI_OBIS(1, 0, 1, 4, 0, 255),
         .method_access = m2,
         .state = &dr,
         .unit = 27},
        {.class_id = AMI_COSEM_DATA,
         .ln = AMI_OBIS(0, 0, 96, 10, 1, 255),
         .value = ldn,
         .value_cap = sizeof ldn,
         .value_len = 6},
    };
    memcpy(ldn,
           "\x09\x04"
           "AMI1",
           6);
    memcpy(ident,
           "\x0A\x01"
           "X",
           3);
    memcpy(big, "\x09\x00", 2);
    memcpy(xval, "\x06\x00\x00\x01\x00", 5);
    static fz_control control;
    size_t nobjs = add_control(objs, 11, &control);
    ami_cosem_store store;
    ami_cosem_clock_src clk = {fz_now, fz_set, NULL};
    if (ami_cosem_store_init(&store, objs, nobjs, &clk))
        abort();
    for (int i = 0; i < 45; i++) /* a wrapped ring */
        if (ami_cosem_profile_capture(&store, &objs[6]))
            abort();
    const uint32_t conf = 0x20FFFF; /* everything LN, general block transfer included */
    const uint32_t conf_sn = AMI_CONF_READ | AMI_CONF_WRITE | AMI_CONF_UNCONFIRMED_WRITE |
                             AMI_CONF_PARAMETERIZED_ACCESS | AMI_CONF_MULTIPLE_REFERENCES |
                             AMI_CONF_BLOCK_TRANSFER_WITH_GET_OR_READ |
                             AMI_CONF_GENERAL_BLOCK_TRANSFER;
    ami_dlms_policy pol[4] = {
        {.client_sap = 16, .context = 1, .conformance = conf, .max_pdu = 512, .gbt_window = 3},
        {.client_sap = 18,
         .context = 1,
         .mechanism = AMI_ACSE_MECH_LOW,
         .password = password,
         .password_len = 8,
         .conformance = conf,
         .max_pdu = 1024},
        {.client_sap = 102,
         .context = 1,
         .conformance = conf,
         .max_pdu = 256,
         .pre_established = true},
        {.client_sap = 32,
         .context = AMI_ACSE_CONTEXT_SN,
         .conformance = conf_sn,
         .max_pdu = 256,
         .gbt_window = 3},
    };
    ami_dlms_server srv;
    ami_dlms_server_config cfg = {
        .ops = &ami_cosem_store_ops, .store = &store, .policies = pol, .policy_count = 4};
    if (ami_dlms_server_init(&srv, &cfg))
        abort();
    static uint8_t block[2048], scratch[2048], out[1200], gbt_rx[1024], gbt_tx[2048 + 64];
    ami_dlms_assoc a;
    ami_dlms_assoc_mem mem = {block, sizeof block, scratch, sizeof scratch, NULL, 0};
    if (size < 1)
        return 0;
    static const uint16_t saps[4] = {16, 18, 102, 16};
    static const uint16_t pdus[4] = {64, 128, 512, 0xFFFF};
    uint8_t sel = data[0];
    bool sn = (sel & 0x10) != 0, gbt = (sel & 0x20) != 0;
    if (ami_dlms_assoc_init(&a, &srv, sn ? 32 : saps[sel & 3], &mem))
        abort();
    if (gbt && ami_dlms_assoc_set_gbt(&a, gbt_rx, sizeof gbt_rx, gbt_tx, sizeof gbt_tx, 0))
        abort();
    if (sn || (sel & 3) < 2) {
        uint8_t aarq[128];
        uint32_t proposed = sn ? conf_sn : 0x00FFFF | (gbt ? AMI_CONF_GENERAL_BLOCK_TRANSFER : 0);
        size_t n = build_aarq(aarq, sizeof aarq, !sn && (sel & 3) == 1, pdus[(sel >> 2) & 3],
                              sn ? AMI_ACSE_CONTEXT_SN : AMI_ACSE_CONTEXT_LN, proposed);
        int r = ami_dlms_assoc_handle(&a, aarq, n, out, sizeof out);
        check_answer(&a, out, r, sizeof out);
        if (ami_dlms_assoc_state(&a) != AMI_DLMS_ASSOC_ASSOCIATED)
            abort();
    }
    size_t pos = 1;
    while (pos < size) {
        size_t len = size - pos;
        if (len >= 2) {
            size_t want = (size_t)data[pos] << 8 | data[pos + 1];
            pos += 2;
            len = size - pos < want ? size - pos : want;
        } else {
            pos = size - len;
        }
        /* A private copy: the engine must not read past the APDU it was given. */
        uint8_t *apdu = len ? malloc(len) : NULL;
        if (len && !apdu)
            abort();
        if (len)
            memcpy(apdu, data + pos, len);
        int r = ami_dlms_assoc_handle(&a, apdu, len, out, sizeof out);
        check_answer(&a, out, r, sizeof out);
        /* GBT streaming: the rest of the window, bounded by the window size. */
        for (int k = 0; r > 0 && k < 64; k++) {
            r = ami_dlms_assoc_next(&a, out, sizeof out);
            check_answer(&a, out, r, sizeof out);
        }
        if (r > 0 && ami_dlms_assoc_next(&a, out, sizeof out) > 0)
            abort(); /* more than a window */
        free(apdu);
        pos += len;
        /* the store's timer after each request: schedules and calendar activation */
        (void)ami_cosem_store_run(&store, fz_now(NULL) + (int64_t)(pos * 61));
    }
    return 0;
}
