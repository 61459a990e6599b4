/*
 * The virtual meter of `ami sim` (see sim_meter.h): the standard meter profile of
 * docs/meter-profile.md.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sim_meter.h"

/* What the server offers (Green Book 9.5 conformance): GET, SET, ACTION, selective access,
 * multiple references, block transfer for GET, SET and ACTION. */
#define SIM_CONFORMANCE                                                                \
    (AMI_CONF_GET | AMI_CONF_SET | AMI_CONF_ACTION | AMI_CONF_SELECTIVE_ACCESS |       \
     AMI_CONF_MULTIPLE_REFERENCES | AMI_CONF_BLOCK_TRANSFER_WITH_GET_OR_READ |         \
     AMI_CONF_BLOCK_TRANSFER_WITH_SET_OR_WRITE | AMI_CONF_BLOCK_TRANSFER_WITH_ACTION | \
     AMI_CONF_GENERAL_BLOCK_TRANSFER | AMI_CONF_ATTRIBUTE0_WITH_GET)

/* The short-name client (SAP 32): Read, Write, UnconfirmedWrite, parameterized access,
 * multiple references, block transfer with Read (data-block-result), general block transfer. */
#define SIM_CONFORMANCE_SN                                                                         \
    (AMI_CONF_READ | AMI_CONF_WRITE | AMI_CONF_UNCONFIRMED_WRITE | AMI_CONF_PARAMETERIZED_ACCESS | \
     AMI_CONF_MULTIPLE_REFERENCES | AMI_CONF_BLOCK_TRANSFER_WITH_GET_OR_READ |                     \
     AMI_CONF_GENERAL_BLOCK_TRANSFER)

/* GBT window the meter announces and streams (the server drains ami_dlms_assoc_next). */
#define SIM_GBT_WINDOW 4

/* Blue Book units (4.3.2 enum). */
enum {
    U_WH = 30,
    U_VARH = 32,
    U_W = 27,
    U_VAR = 29,
    U_VA = 28,
    U_V = 35,
    U_A = 33,
    U_HZ = 44,
    U_NONE = 255
};

/* Capacity of the virtual profiles: 45 days of 15 minutes, 400 days, 24 months. */
#define LP1_ENTRIES     (45 * 96)
#define LP2_ENTRIES     400
#define BILLING_ENTRIES SIM_BILLING_ENTRIES

#define OB(a, b, c, d, e, f) \
    {                        \
        {                    \
            a, b, c, d, e, f \
        }                    \
    }
static const ami_obis CLOCK_LN = OB(0, 0, 1, 0, 0, 255);

int64_t sim_time_now(const ami_simclock *c)
{
    if (!c)
        return (int64_t)time(NULL);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ami_simclock_now(c, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
}

int64_t sim_meter_now(const sim_meter *m)
{
    return sim_time_now(m->clock) + m->clock_offset;
}

static int64_t clock_now(void *user)
{
    return sim_meter_now(user);
}

/* Tariffs from the active calendar 0-0:13.0.0.255 (sim_classes.c; by default T1 (index 0)
 * 07:00-23:00 local, T2 (index 1) at night). */
static unsigned tariff_of(void *ctx, int64_t t, int64_t *until)
{
    return sim_classes_tariff(ctx, t, until);
}

/* Brings the metrology up to the meter's time (never backwards: a clock set into the past
 * freezes the registers until time catches up, as the energy a meter counted stays). Month
 * starts of the history close its billing periods (the history is as if the end-of-billing
 * schedule had run); after the history only the end-of-billing script closes them. */
static void advance(sim_meter *m)
{
    int64_t now = sim_meter_now(m);
    if (now > m->metro.t && m->supply_off) {
        /* Disconnected (0-0:96.3.10.255): no energy flows; demand sub-periods close empty. */
        int64_t until;
        unsigned tariff = sim_classes_tariff(m, now, &until);
        (void)ami_demand_skip_to(&m->metro.demand, now, tariff);
        m->metro.t = now;
        return;
    }
    if (now > m->metro.t) {
        ami_metro_hooks h = {.tariff = tariff_of, .tariff_ctx = m};
        if (m->metro.t < m->history_end)
            (void)ami_metro_run(&m->metro, now < m->history_end ? now : m->history_end, &h);
        h.no_billing = true;
        if (now > m->metro.t)
            (void)ami_metro_run(&m->metro, now, &h);
    }
}

void sim_meter_advance(sim_meter *m)
{
    advance(m);
}

static int record(sim_meter *m, unsigned log, uint8_t code);

static uint8_t clock_set(void *user, int64_t t)
{
    sim_meter *m = user;
    (void)record(m, SIM_LOG_STANDARD, SIM_EVENT_CLOCK_ADJUSTED_OLD);
    m->clock_offset = t - sim_time_now(m->clock);
    (void)record(m, SIM_LOG_STANDARD, SIM_EVENT_CLOCK_ADJUSTED_NEW);
    return AMI_DAR_SUCCESS;
}

/* ---------------------------------------------------------------- values */

static void put_u32(ami_wr *out, int64_t v)
{
    ami_wr_u8(out, AMI_AXDR_DOUBLE_LONG_UNSIGNED);
    ami_wr_u32be(out, (uint32_t)(v < 0 ? 0 : v > UINT32_MAX ? UINT32_MAX : v));
}

static void put_i32(ami_wr *out, int64_t v)
{
    ami_wr_u8(out, AMI_AXDR_DOUBLE_LONG);
    ami_wr_u32be(out, (uint32_t)(int32_t)(v < INT32_MIN   ? INT32_MIN
                                          : v > INT32_MAX ? INT32_MAX
                                                          : v));
}

/* The energy register (Wh / varh) of quantity C (1..4) and tariff E (0 = total) in r. */
static int64_t energy_wh(const ami_metro_registers *r, uint8_t c, uint8_t e)
{
    int64_t mj;
    if (e == 0)
        mj = c == 1   ? r->a_plus
             : c == 2 ? r->a_minus
             : c == 3 ? r->q[0] + r->q[1]
                      : r->q[2] + r->q[3];
    else
        mj = r->tariff[e - 1][c - 1];
    return ami_metro_wh(mj);
}

/* Energy registers: value = Wh (varh) as double-long-unsigned, scaler 0. */
static uint8_t energy(void *user, const ami_cosem_obj *obj, ami_wr *out)
{
    sim_meter *m = user;
    advance(m);
    uint8_t c = obj->ln.v[2], e = obj->ln.v[4];
    if (c < 1 || c > 4 || e > AMI_METRO_TARIFFS)
        return AMI_DAR_OBJECT_UNAVAILABLE;
    put_u32(out, energy_wh(&m->metro.reg, c, e));
    return AMI_DAR_SUCCESS;
}

/* Phase index of an OBIS C of the per-phase groups (L1 21..40, L2 41..60, L3 61..80). */
static int phase_of(uint8_t c)
{
    return c >= 21 && c <= 80 ? (c - 21) / 20 : -1;
}

/*
 * Instantaneous values (D = 7) from the load model at the meter's time, by OBIS C:
 * 1/2 P+/P- W, 3/4 Q+/Q- var, 9 S (E 0: the meter's method, 128 arithmetic, 129 vectorial) VA,
 * 13 PF, 14 f, 16 P signed; per phase (C + 20 L1, + 40 L2, + 60 L3): 21/22 P+/P-, 23/24 Q+/Q-,
 * 29 S, 31 I, 32 U, 33 PF, 36 P signed.
 */
static uint8_t instant(void *user, const ami_cosem_obj *obj, ami_wr *out)
{
    sim_meter *m = user;
    ami_metro_sample s;
    ami_metro_instant(&m->metro, sim_meter_now(m), &s);
    if (m->supply_off) { /* disconnected: the voltage stays, nothing flows */
        s.p_mw = s.q_mvar = s.s_arith_mva = s.s_vect_mva = s.s_mva = 0;
        s.pf_milli = 1000;
        for (unsigned k = 0; k < AMI_METRO_MAX_PHASES; k++) {
            s.ph[k].i_ma = 0;
            s.ph[k].p_mw = s.ph[k].q_mvar = s.ph[k].s_mva = 0;
            s.ph[k].pf_milli = 1000;
        }
    }
    uint8_t c = obj->ln.v[2], e = obj->ln.v[4];
    int ph = phase_of(c);
    uint8_t q = ph < 0 ? c : (uint8_t)(c - 20 * (ph + 1));
    const ami_metro_phase *p = ph < 0 ? NULL : &s.ph[ph];
    int64_t pw = p ? p->p_mw : s.p_mw, qv = p ? p->q_mvar : s.q_mvar;
    switch (q) {
    case 1:
        put_u32(out, pw > 0 ? pw / 1000 : 0);
        break;
    case 2:
        put_u32(out, pw < 0 ? -pw / 1000 : 0);
        break;
    case 3:
        put_u32(out, qv > 0 ? qv / 1000 : 0);
        break;
    case 4:
        put_u32(out, qv < 0 ? -qv / 1000 : 0);
        break;
    case 9:
        put_u32(out, (p          ? p->s_mva
                      : e == 128 ? s.s_arith_mva
                      : e == 129 ? s.s_vect_mva
                                 : s.s_mva) /
                         1000);
        break;
    case 11: /* current (I), mA with scaler -3 */
        put_u32(out, p ? p->i_ma : 0);
        break;
    case 12: /* voltage (U), 0.1 V */
        ami_wr_u8(out, AMI_AXDR_LONG_UNSIGNED);
        ami_wr_u16be(out, (uint16_t)(p ? p->u_mv / 100 : 0));
        break;
    case 13: /* power factor, 1/1000 */
        ami_wr_u8(out, AMI_AXDR_LONG);
        ami_wr_u16be(out, (uint16_t)(p ? p->pf_milli : s.pf_milli));
        break;
    case 14: /* frequency, mHz */
        ami_wr_u8(out, AMI_AXDR_LONG_UNSIGNED);
        ami_wr_u16be(out, (uint16_t)(s.f_mhz > 0xFFFF ? 0xFFFF : s.f_mhz));
        break;
    case 16:
        put_i32(out, pw / 1000);
        break;
    default:
        return AMI_DAR_OBJECT_UNAVAILABLE;
    }
    return AMI_DAR_SUCCESS;
}

/* ---------------------------------------------------------------- security of SAP 1 */

static int keys_get(void *user, uint16_t sap, ami_dlms_keys *k)
{
    sim_meter *m = user;
    if (sap != SIM_SAP_MANAGEMENT && sap != SIM_SAP_EC)
        return AMI_E_NOTFOUND;
    k->guek = m->ek;
    k->guek_len = sizeof m->ek;
    k->ak = m->ak;
    k->ak_len = sizeof m->ak;
    k->kek = m->kek;
    k->kek_len = sizeof m->kek;
    return AMI_OK;
}

/* key_transfer: the new keys hold until the simulator stops. */
static int keys_update(void *user, uint16_t sap, uint8_t id, const uint8_t *key, size_t len)
{
    sim_meter *m = user;
    uint8_t *dst = id == AMI_DLMS_KEY_GUEK  ? m->ek
                   : id == AMI_DLMS_KEY_AK  ? m->ak
                   : id == AMI_DLMS_KEY_KEK ? m->kek
                                            : NULL;
    if ((sap != SIM_SAP_MANAGEMENT && sap != SIM_SAP_EC) || !dst || len != 16)
        return AMI_E_UNSUPPORTED;
    memcpy(dst, key, len);
    return AMI_OK;
}

static sim_keys_changed_fn keys_changed;
static void *keys_changed_user;

void sim_meter_set_keys_hook(sim_keys_changed_fn changed, void *user)
{
    keys_changed = changed;
    keys_changed_user = user;
}

static void sec_event(void *user, const ami_dlms_ctx *ctx, int event)
{
    (void)ctx;
    if (event == AMI_DLMS_SEC_EV_KEY_CHANGED && keys_changed)
        keys_changed(keys_changed_user, user);
}

static sim_ic_reserve_fn ic_reserve;
static void *ic_reserve_user;

void sim_meter_set_ic_store(sim_ic_reserve_fn reserve, void *user)
{
    ic_reserve = reserve;
    ic_reserve_user = user;
}

/* Counters reserved per write of the store: a restart skips at most this many. */
#define SIM_IC_RESERVE 1024u

static int keys_next_ic(void *user, uint16_t sap, uint32_t *ic)
{
    sim_meter *m = user;
    (void)sap;
    if (m->ic == UINT32_MAX)
        return AMI_E_OVERFLOW; /* a new key is needed */
    uint32_t next = m->ic + 1;
    if (ic_reserve && next > m->ic_reserved) {
        uint32_t upto = next > UINT32_MAX - SIM_IC_RESERVE ? UINT32_MAX : next + SIM_IC_RESERVE;
        int rc = ic_reserve(ic_reserve_user, m, upto);
        if (rc != AMI_OK)
            return rc;
        m->ic_reserved = upto;
    }
    m->ic = next;
    *ic = next;
    return AMI_OK;
}

void sim_meter_set_security(sim_meter *m, const uint8_t *ek, const uint8_t *ak, const uint8_t *kek,
                            const uint8_t *system_title)
{
    if (ek)
        memcpy(m->ek, ek, sizeof m->ek);
    if (ak)
        memcpy(m->ak, ak, sizeof m->ak);
    if (kek)
        memcpy(m->kek, kek, sizeof m->kek);
    if (system_title)
        memcpy(m->system_title, system_title, sizeof m->system_title);
}

static void hex_into(const char *hex, uint8_t *out, size_t n)
{
    (void)ami_hex_decode(hex, strlen(hex), out, n);
}

/* Maximum demand A+ (1-0:1.6.E: E 0 all, 1..2 per tariff), 10 W units (scaler 1). */
static uint8_t maxdem_value(void *user, const ami_cosem_obj *obj, ami_wr *out)
{
    sim_meter *m = user;
    advance(m);
    ami_demand_max mx = ami_demand_maximum(&m->metro.demand, (int)obj->ln.v[4] - 1);
    put_u32(out, ami_demand_register(mx.value_mw));
    return AMI_DAR_SUCCESS;
}

/* reset (method 1) of a maximum demand register: its maximum (all tariffs for 1-0:1.6.0,
 * tariff E for 1-0:1.6.E) starts again; the end-of-billing script runs it. */
static uint8_t maxdem_method(void *user, ami_cosem_obj *o, uint8_t id, ami_view params, ami_wr *out)
{
    (void)params;
    (void)out;
    sim_meter *m = user;
    if (id != 1 || o->ln.v[4] > AMI_METRO_TARIFFS)
        return AMI_ACTION_OTHER_REASON;
    advance(m);
    m->metro.demand.max[o->ln.v[4]] = (ami_demand_max){0};
    return AMI_ACTION_SUCCESS;
}

static void maxdem_snapshot(void *user, const ami_cosem_obj *o, uint8_t *status, int64_t *t)
{
    sim_meter *m = user;
    ami_demand_max mx = ami_demand_maximum(&m->metro.demand, (int)o->ln.v[4] - 1);
    *status = 0;
    *t = mx.time ? mx.time : AMI_COSEM_TIME_UNSPEC;
}

static void demand_read(void *user, const ami_cosem_obj *o, ami_cosem_demand_values *v)
{
    (void)o;
    sim_meter *m = user;
    advance(m);
    ami_demand_cosem_values(&m->metro.demand, v);
}

/* ---------------------------------------------------------------- virtual profiles */

/* The first capture time strictly after the history start, period cp (local alignment). */
static int64_t first_capture(const sim_meter *m, int64_t cp)
{
    int64_t off = m->load.utc_offset_s, s = m->history_start + off;
    int64_t q = s / cp - (s % cp < 0);
    return (q + 1) * cp - off;
}

/* Captures made at or before the meter's history end (the live metrology's time). */
static uint64_t captures(sim_meter *m, int64_t cp)
{
    advance(m);
    int64_t c1 = first_capture(m, cp);
    return m->metro.t < c1 ? 0 : (uint64_t)((m->metro.t - c1) / cp) + 1;
}

/* Captures made up to time t (period cp). */
static uint64_t captures_until(const sim_meter *m, int64_t cp, int64_t t)
{
    int64_t c1 = first_capture(m, cp);
    return t < c1 ? 0 : (uint64_t)((t - c1) / cp) + 1;
}

/* Billing closings (local month starts) strictly after the history start up to `until`;
 * *when (may be NULL) receives the time of closing number k (1-based) when k <= the count. */
static uint64_t closings_until(const sim_meter *m, int64_t until, uint64_t k, int64_t *when)
{
    uint64_t n = 0;
    int64_t t = m->history_start;
    for (;;) {
        t = ami_metro_next_month_start(t, m->load.utc_offset_s);
        if (t > until)
            return n;
        if (++n == k && when)
            *when = t;
    }
}

/* Closings of the history (month starts up to history_end) the metrology has passed. */
static uint64_t closings(sim_meter *m, uint64_t k, int64_t *when)
{
    advance(m);
    int64_t until = m->metro.t < m->history_end ? m->metro.t : m->history_end;
    return closings_until(m, until, k, when);
}

/*
 * The state to run a virtual buffer from, for entries after time t, into *out: the checkpoint
 * when it is not later than t, else the history's start (derived again from the load model: the
 * meter keeps no copy). The checkpoint follows yesterday's local midnight (one day of
 * integration when the day changes), so reads of the last day or two integrate hours instead of
 * 35 days.
 */
static void start_state(sim_meter *m, int64_t t, ami_metro *out)
{
    int64_t off = m->load.utc_offset_s, local = m->metro.t + off;
    int64_t target = (local / 86400 - (local % 86400 < 0)) * 86400 - off - 86400;
    if (target > m->ckpt.t && target <= m->metro.t) {
        ami_metro_hooks h = {.tariff = tariff_of, .tariff_ctx = m};
        ami_metro c = m->ckpt;
        if (ami_metro_run(&c, target, &h) == AMI_OK)
            m->ckpt = c;
    }
    if (m->ckpt.t <= t)
        *out = m->ckpt;
    else
        (void)ami_metro_init(out, &m->load, 15, 15, m->history_start); /* as sim_meter_init */
}

typedef struct gen {
    sim_meter *m;
    const ami_cosem_profile *p;
    uint64_t next, first, last; /* capture numbers: the next one the hook sees, wanted range */
    ami_cosem_row_fn emit;
    void *ctx;
    bool stop;
} gen;

static void put_time(ami_wr *w, int64_t t)
{
    uint8_t b[12];
    ami_datetime dt;
    if (ami_datetime_from_unix(t, 0, 0, 0, &dt) != AMI_OK)
        ami_datetime_unspecified(&dt);
    ami_datetime_encode(&dt, b);
    ami_wr_u8(w, AMI_AXDR_OCTET_STRING);
    ami_wr_u8(w, 12);
    ami_wr_bytes(w, b, 12);
}

/* One load profile entry: clock, AMR status, then the energy columns (C, E) of the profile. */
static void on_capture(void *ctx, const ami_metro *mt)
{
    gen *g = ctx;
    uint64_t k = g->next++;
    if (g->stop || k < g->first || k > g->last)
        return;
    uint8_t row[AMI_COSEM_PROFILE_MAX_ROW];
    ami_wr w;
    ami_wr_init(&w, row, sizeof row);
    ami_wr_u8(&w, AMI_AXDR_STRUCTURE);
    ami_wr_u8(&w, (uint8_t)g->p->ncolumns);
    put_time(&w, mt->t);
    ami_wr_u8(&w, AMI_AXDR_UNSIGNED);
    ami_wr_u8(&w, 0);
    for (uint16_t i = 2; i < g->p->ncolumns; i++)
        put_u32(&w, energy_wh(&mt->reg, g->p->columns[i].ln.v[2], g->p->columns[i].ln.v[4]));
    g->stop = ami_wr_error(&w) || !g->emit(g->ctx, row, w.len);
}

/* One billing entry: clock (the capture time t), energies, then the A+ maximum demand (10 W)
 * and its time (0: not specified). */
static void bill_row(gen *g, int64_t t, const ami_metro_registers *reg, int64_t max, int64_t max_t)
{
    uint64_t k = g->next++;
    if (g->stop || k < g->first || k > g->last)
        return;
    uint8_t row[AMI_COSEM_PROFILE_MAX_ROW];
    ami_wr w;
    ami_wr_init(&w, row, sizeof row);
    ami_wr_u8(&w, AMI_AXDR_STRUCTURE);
    ami_wr_u8(&w, (uint8_t)g->p->ncolumns);
    put_time(&w, t);
    for (uint16_t i = 1; i + 2 < g->p->ncolumns; i++)
        put_u32(&w, energy_wh(reg, g->p->columns[i].ln.v[2], g->p->columns[i].ln.v[4]));
    put_u32(&w, max);
    if (max_t)
        put_time(&w, max_t);
    else {
        uint8_t u[12];
        ami_datetime dt;
        ami_datetime_unspecified(&dt);
        ami_datetime_encode(&dt, u);
        ami_wr_u8(&w, AMI_AXDR_OCTET_STRING);
        ami_wr_u8(&w, 12);
        ami_wr_bytes(&w, u, 12);
    }
    g->stop = ami_wr_error(&w) || !g->emit(g->ctx, row, w.len);
}

/* A billing period of the history closed by the metrology. */
static void on_billed(void *ctx, const ami_metro_billing *b)
{
    bill_row(ctx, b->end, &b->reg, ami_demand_register(b->max[0].value_mw), b->max[0].time);
}

static uint32_t entries_of(const ami_cosem_profile *p, uint64_t total)
{
    return total > p->profile_entries ? p->profile_entries : (uint32_t)total;
}

static uint32_t lp_entries(void *user, const ami_cosem_obj *o)
{
    const ami_cosem_profile *p = o->state;
    return entries_of(p, captures(user, p->capture_period));
}

/* Runs a copy of the history's start state forward to the last wanted capture. */
static uint8_t lp_rows(void *user, const ami_cosem_obj *o, uint32_t first, uint32_t count,
                       ami_cosem_row_fn emit, void *ctx)
{
    sim_meter *m = user;
    const ami_cosem_profile *p = o->state;
    int64_t cp = p->capture_period;
    uint64_t total = captures(m, cp);
    uint64_t skip = total - entries_of(p, total); /* dropped by the ring */
    gen g = {m, p, 1, skip + first, skip + first + count - 1, emit, ctx, false};
    int64_t c1 = first_capture(m, cp);
    ami_metro mt;
    start_state(m, c1 + (int64_t)(g.first - 1) * cp - cp, &mt);
    g.next = captures_until(m, cp, mt.t) + 1;
    ami_metro_hooks h = {.tariff = tariff_of,
                         .tariff_ctx = m,
                         .capture_period_s = (uint32_t)cp,
                         .capture = on_capture,
                         .capture_ctx = &g};
    int64_t until = c1 + (int64_t)(g.last - 1) * cp;
    return ami_metro_run(&mt, until, &h) == AMI_OK ? AMI_DAR_SUCCESS : AMI_DAR_HARDWARE_FAULT;
}

/* Entries of a load profile whose capture time lies in [from, to]. */
static void lp_locate(void *user, const ami_cosem_obj *o, int64_t from, int64_t to, uint32_t *first,
                      uint32_t *count)
{
    sim_meter *m = user;
    const ami_cosem_profile *p = o->state;
    int64_t cp = p->capture_period, c1 = first_capture(m, cp);
    uint64_t total = captures(m, cp), skip = total - entries_of(p, total);
    /* capture numbers k with c1 + (k - 1) cp in [from, to] */
    int64_t lo = from <= c1 ? 1 : (from - c1 + cp - 1) / cp + 1;
    int64_t hi = to < c1 ? 0 : (to - c1) / cp + 1;
    if (lo < (int64_t)skip + 1)
        lo = (int64_t)skip + 1;
    if (hi > (int64_t)total)
        hi = (int64_t)total;
    if (hi < lo) {
        *first = UINT32_MAX;
        *count = 0;
        return;
    }
    *first = (uint32_t)(lo - (int64_t)skip);
    *count = (uint32_t)(hi - lo + 1);
}

/* Billing entries: the history's closings, then the captures made since (the ring m->bills). */
static uint32_t billing_entries(void *user, const ami_cosem_obj *o)
{
    sim_meter *m = user;
    return entries_of(o->state, closings(m, 0, NULL) + m->bills_used);
}

static uint8_t billing_rows(void *user, const ami_cosem_obj *o, uint32_t first, uint32_t count,
                            ami_cosem_row_fn emit, void *ctx)
{
    sim_meter *m = user;
    const ami_cosem_profile *p = o->state;
    uint64_t hist = closings(m, 0, NULL), total = hist + m->bills_used;
    uint64_t skip = total - entries_of(p, total);
    gen g = {m, p, 1, skip + first, skip + first + count - 1, emit, ctx, false};
    if (g.first <= hist) {
        /* the history: the metrology run forward closes them */
        int64_t until = 0, from = 0;
        (void)closings(m, g.last < hist ? g.last : hist, &until);
        (void)closings(m, g.first, &from);
        ami_metro mt;
        start_state(m, from - 1, &mt);
        g.next = closings_until(m, mt.t, 0, NULL) + 1;
        ami_metro_hooks h = {
            .tariff = tariff_of, .tariff_ctx = m, .billed = on_billed, .billed_ctx = &g};
        if (ami_metro_run(&mt, until, &h) != AMI_OK)
            return AMI_DAR_HARDWARE_FAULT;
    }
    /* the captures: the energies at each capture time, the maximum kept at the capture */
    uint64_t k0 = g.first > hist ? g.first : hist + 1;
    if (k0 > g.last || g.stop)
        return AMI_DAR_SUCCESS;
    const sim_bill *b0 = &m->bills[(m->bills_head + (k0 - hist - 1)) % SIM_BILLING_ENTRIES];
    ami_metro mt;
    start_state(m, m->history_start + b0->t, &mt);
    for (uint64_t k = k0; k <= g.last && !g.stop; k++) {
        const sim_bill *b = &m->bills[(m->bills_head + (k - hist - 1)) % SIM_BILLING_ENTRIES];
        int64_t t = m->history_start + b->t;
        ami_metro_hooks h = {.tariff = tariff_of, .tariff_ctx = m, .no_billing = true};
        if (t > mt.t && ami_metro_run(&mt, t, &h) != AMI_OK)
            return AMI_DAR_HARDWARE_FAULT;
        g.next = k;
        bill_row(&g, t, &mt.reg, b->max, b->max_t ? m->history_start + b->max_t : 0);
    }
    return AMI_DAR_SUCCESS;
}

/* Method 2 capture of the billing profile (the end-of-billing script runs it): records the
 * capture time and the maximum demand at that instant. Method 1 (reset) is not served: the
 * history is the metrology's. */
static uint8_t billing_method(void *user, ami_cosem_obj *o, uint8_t id, ami_view params,
                              ami_wr *out)
{
    (void)o;
    (void)params;
    (void)out;
    sim_meter *m = user;
    if (id != 2)
        return AMI_ACTION_OTHER_REASON;
    advance(m);
    ami_demand_max mx = ami_demand_maximum(&m->metro.demand, -1);
    int64_t t = m->metro.t - m->history_start;
    int64_t mt = mx.time > m->history_start ? mx.time - m->history_start : 0;
    if (t < 0 || t > UINT32_MAX || mt > UINT32_MAX)
        return AMI_ACTION_OTHER_REASON;
    size_t slot;
    if (m->bills_used < SIM_BILLING_ENTRIES) {
        slot = (m->bills_head + m->bills_used++) % SIM_BILLING_ENTRIES;
    } else {
        slot = m->bills_head;
        m->bills_head = (uint8_t)((m->bills_head + 1) % SIM_BILLING_ENTRIES);
    }
    int64_t v = ami_demand_register(mx.value_mw);
    m->bills[slot] = (sim_bill){(uint32_t)t, (uint32_t)mt,
                                (uint32_t)(v < 0            ? 0
                                           : v > UINT32_MAX ? UINT32_MAX
                                                            : v)};
    return AMI_ACTION_SUCCESS;
}

/* ---------------------------------------------------------------- the object table */

static const ami_cosem_capture_def lp1_cols[] = {
    {AMI_COSEM_CLOCK, OB(0, 0, 1, 0, 0, 255), 2, 0},
    {AMI_COSEM_DATA, OB(0, 0, 96, 10, 1, 255), 2, 0},
    {AMI_COSEM_REGISTER, OB(1, 0, 1, 8, 0, 255), 2, 0},
    {AMI_COSEM_REGISTER, OB(1, 0, 2, 8, 0, 255), 2, 0},
    {AMI_COSEM_REGISTER, OB(1, 0, 3, 8, 0, 255), 2, 0},
    {AMI_COSEM_REGISTER, OB(1, 0, 4, 8, 0, 255), 2, 0},
};
static const ami_cosem_capture_def lp2_cols[] = {
    {AMI_COSEM_CLOCK, OB(0, 0, 1, 0, 0, 255), 2, 0},
    {AMI_COSEM_DATA, OB(0, 0, 96, 10, 2, 255), 2, 0},
    {AMI_COSEM_REGISTER, OB(1, 0, 1, 8, 0, 255), 2, 0},
    {AMI_COSEM_REGISTER, OB(1, 0, 1, 8, 1, 255), 2, 0},
    {AMI_COSEM_REGISTER, OB(1, 0, 1, 8, 2, 255), 2, 0},
    {AMI_COSEM_REGISTER, OB(1, 0, 2, 8, 0, 255), 2, 0},
    {AMI_COSEM_REGISTER, OB(1, 0, 3, 8, 0, 255), 2, 0},
    {AMI_COSEM_REGISTER, OB(1, 0, 4, 8, 0, 255), 2, 0},
};
static const ami_cosem_capture_def billing_cols[] = {
    {AMI_COSEM_CLOCK, OB(0, 0, 1, 0, 0, 255), 2, 0},
    {AMI_COSEM_REGISTER, OB(1, 0, 1, 8, 0, 255), 2, 0},
    {AMI_COSEM_REGISTER, OB(1, 0, 1, 8, 1, 255), 2, 0},
    {AMI_COSEM_REGISTER, OB(1, 0, 1, 8, 2, 255), 2, 0},
    {AMI_COSEM_REGISTER, OB(1, 0, 2, 8, 0, 255), 2, 0},
    {AMI_COSEM_REGISTER, OB(1, 0, 3, 8, 0, 255), 2, 0},
    {AMI_COSEM_REGISTER, OB(1, 0, 4, 8, 0, 255), 2, 0},
    {AMI_COSEM_EXTENDED_REGISTER, OB(1, 0, 1, 6, 0, 255), 2, 0},
    {AMI_COSEM_EXTENDED_REGISTER, OB(1, 0, 1, 6, 0, 255), 5, 0},
};
static const ami_cosem_capture_def log_cols[SIM_LOG_COUNT][2] = {
    {{AMI_COSEM_CLOCK, OB(0, 0, 1, 0, 0, 255), 2, 0},
     {AMI_COSEM_DATA, OB(0, 0, 96, 11, 0, 255), 2, 0}},
    {{AMI_COSEM_CLOCK, OB(0, 0, 1, 0, 0, 255), 2, 0},
     {AMI_COSEM_DATA, OB(0, 0, 96, 11, 1, 255), 2, 0}},
    {{AMI_COSEM_CLOCK, OB(0, 0, 1, 0, 0, 255), 2, 0},
     {AMI_COSEM_DATA, OB(0, 0, 96, 11, 2, 255), 2, 0}},
    {{AMI_COSEM_CLOCK, OB(0, 0, 1, 0, 0, 255), 2, 0},
     {AMI_COSEM_DATA, OB(0, 0, 96, 11, 3, 255), 2, 0}},
};

/* SAP 17 (LLS) may capture the billing profile (an end of billing outside the schedule) and
 * reset a maximum demand register (an MDI reset); the public client runs no method. */
static const uint8_t billing_methods[2] = {AMI_METHOD_NONE, AMI_METHOD_ACCESS};
static const uint8_t maxdem_methods[1] = {AMI_METHOD_ACCESS};

/* SAP 17 (LLS) may reset and capture the event logs; the public client runs no method. */
static const uint8_t log_methods[2] = {AMI_METHOD_ACCESS, AMI_METHOD_ACCESS};

/* ---------------------------------------------------------------- firmware */

/* Active firmware version 1-0:0.2.0.255: "openami-sim MAJOR.MINOR.PATCH", the running version,
 * changed by an activation through the Image transfer object. */
static uint8_t fw_version(void *user, const ami_cosem_obj *obj, ami_wr *out)
{
    (void)obj;
    sim_meter *m = user;
    ami_fwimg_version v = ami_image_running(&m->fw);
    char s[AMI_FWIMG_VERSION_STRLEN + 16];
    int n = snprintf(s, sizeof s, "openami-sim %u.%u.%u", v.major, v.minor, v.patch);
    if (n < 0 || (size_t)n >= sizeof s)
        return AMI_DAR_HARDWARE_FAULT;
    ami_wr_u8(out, AMI_AXDR_VISIBLE_STRING);
    ami_wr_u8(out, (uint8_t)n);
    ami_wr_bytes(out, s, (size_t)n);
    return AMI_DAR_SUCCESS;
}

/* Why the last image transfer method was refused (manufacturer-specific 0-0:44.128.0.255):
 * a visible-string, "none" when nothing was refused. */
static uint8_t fw_reason(void *user, const ami_cosem_obj *obj, ami_wr *out)
{
    (void)obj;
    sim_meter *m = user;
    const char *s = ami_image_reason_text(ami_image_reason(&m->fw));
    size_t n = strlen(s);
    ami_wr_u8(out, AMI_AXDR_VISIBLE_STRING);
    ami_axdr_put_length(out, n);
    ami_wr_bytes(out, s, n);
    return AMI_DAR_SUCCESS;
}

ami_fwimg_version sim_meter_default_fw(void)
{
    ami_fwimg_version v = {1, 0, 0};
    (void)ami_fwimg_version_parse(AMI_VERSION_STRING, strlen(AMI_VERSION_STRING), &v);
    return v;
}

int sim_meter_set_fw(sim_meter *m, const uint8_t *key, size_t key_len, ami_fwimg_version running,
                     uint8_t *buf)
{
    ami_image_config cfg = {.buf = buf,
                            .cap = buf ? SIM_FW_CAP : 0,
                            .block_size = SIM_FW_BLOCK,
                            .key = key,
                            .key_len = key_len,
                            .running = running,
                            .id = (const uint8_t *)SIM_FW_ID,
                            .id_len = sizeof SIM_FW_ID - 1,
                            /* like a real meter, verification finishes in the background: the
                             * client polls image_transfer_status */
                            .deferred_verify = true};
    return ami_image_init(&m->fw, &cfg);
}

/* SAP 17 (LLS) may run the image transfer; the public client runs no method. */
static const uint8_t fw_methods[4] = {AMI_METHOD_ACCESS, AMI_METHOD_ACCESS, AMI_METHOD_ACCESS,
                                      AMI_METHOD_ACCESS};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

/* The object table every meter shares: built by the first meter (its per-meter pointers kept
 * as offsets into sim_meter), then given to each meter's store (ami_cosem_store_init_shared). */
static struct {
    ami_cosem_obj objs[SIM_METER_OBJECTS];
    size_t n;
    bool building, built;
    int err;
} table;

/* A pointer into *m as an offset (AMI_COSEM_MEMBER's encoding); false when outside. */
static bool member_of(const sim_meter *m, void **p)
{
    if (!*p)
        return true;
    uintptr_t a = (uintptr_t)*p, b = (uintptr_t)m;
    if (a < b || a >= b + sizeof *m)
        return false;
    *p = (void *)(a - b + 1u);
    return true;
}

int sim_meter_add_object(sim_meter *m, ami_cosem_obj o)
{
    if (!table.building)
        return AMI_OK;
    void *value = o.value;
    if (o.user == m)
        o.user = NULL;
    if (o.user || !member_of(m, &o.state) || !member_of(m, &value)) {
        table.err = AMI_E_CONFIG;
        return AMI_E_CONFIG;
    }
    o.value = value;
    if (table.n >= SIM_METER_OBJECTS) {
        table.err = AMI_E_NOSPACE;
        return AMI_E_NOSPACE;
    }
    table.objs[table.n++] = o;
    return AMI_OK;
}

ami_cosem_obj *sim_meter_building(const ami_obis *ln)
{
    for (size_t i = 0; table.building && i < table.n; i++)
        if (ami_obis_equal(&table.objs[i].ln, ln))
            return &table.objs[i];
    return NULL;
}

static void add(sim_meter *m, ami_cosem_obj o)
{
    (void)sim_meter_add_object(m, o);
}

static void add_register(sim_meter *m, ami_obis ln, int8_t scaler, uint8_t unit,
                         ami_cosem_value_fn fn)
{
    if (!table.building)
        return;
    add(m, (ami_cosem_obj){.class_id = AMI_COSEM_REGISTER,
                           .ln = ln,
                           .read = fn,
                           .user = m,
                           .scaler = scaler,
                           .unit = unit});
}

static void add_data(sim_meter *m, ami_obis ln, uint8_t *value, size_t cap, size_t len)
{
    add(m, (ami_cosem_obj){.class_id = AMI_COSEM_DATA,
                           .ln = ln,
                           .value = value,
                           .value_cap = cap,
                           .value_len = len});
}

static void add_profile(sim_meter *m, ami_obis ln, ami_cosem_profile *p)
{
    add(m, (ami_cosem_obj){.class_id = AMI_COSEM_PROFILE_GENERIC, .ln = ln, .state = p});
}

/* A string value: `type` (octet-string or visible-string) of n bytes. */
static void put_string(ami_wr *out, uint8_t type, const char *s, size_t n)
{
    ami_wr_u8(out, type);
    ami_axdr_put_length(out, n);
    ami_wr_bytes(out, s, n);
}

/* COSEM logical device name 0-0:42.0.0.255 (the same for every meter). */
static uint8_t ldn_read(void *user, const ami_cosem_obj *obj, ami_wr *out)
{
    (void)user;
    (void)obj;
    static const char ldn[] = "OPENAMI-SIM";
    put_string(out, AMI_AXDR_OCTET_STRING, ldn, sizeof ldn - 1);
    return AMI_DAR_SUCCESS;
}

/* Device identity 0-0:96.1.0.255: the serial. */
static uint8_t ident_read(void *user, const ami_cosem_obj *obj, ami_wr *out)
{
    (void)obj;
    const sim_meter *m = user;
    put_string(out, AMI_AXDR_VISIBLE_STRING, m->serial, strlen(m->serial));
    return AMI_DAR_SUCCESS;
}

static void add_objects(sim_meter *m)
{
    add(m,
        (ami_cosem_obj){.class_id = AMI_COSEM_ASSOCIATION_LN, .ln = AMI_OBIS(0, 0, 40, 0, 0, 255)});
    add(m, (ami_cosem_obj){.class_id = AMI_COSEM_DATA,
                           .ln = AMI_OBIS(0, 0, 42, 0, 0, 255),
                           .read = ldn_read,
                           .user = m});
    add(m, (ami_cosem_obj){.class_id = AMI_COSEM_DATA,
                           .ln = AMI_OBIS(0, 0, 96, 1, 0, 255),
                           .read = ident_read,
                           .user = m});
    /* firmware: the running version, the Image transfer object and the last refusal's reason
     * (the version is the image transfer's, configured by sim_meter_set_fw) */
    (void)sim_meter_set_fw(m, NULL, 0, sim_meter_default_fw(), NULL);
    add(m, (ami_cosem_obj){.class_id = AMI_COSEM_DATA,
                           .ln = AMI_OBIS(1, 0, 0, 2, 0, 255),
                           .read = fw_version,
                           .user = m});
    add(m, (ami_cosem_obj){.class_id = AMI_COSEM_IMAGE_TRANSFER,
                           .ln = AMI_OBIS(0, 0, 44, 0, 0, 255),
                           .method_access = fw_methods,
                           .state = &m->fw});
    add(m, (ami_cosem_obj){.class_id = AMI_COSEM_DATA,
                           .ln = AMI_OBIS(0, 0, 44, 128, 0, 255),
                           .read = fw_reason,
                           .user = m});
    add(m, (ami_cosem_obj){.class_id = AMI_COSEM_CLOCK, .ln = CLOCK_LN});

    /* energies: A+, A-, R+, R- total and per tariff (Wh, varh) */
    for (uint8_t c = 1; c <= 4; c++)
        for (uint8_t e = 0; e <= 2; e++)
            add_register(m, AMI_OBIS(1, 0, c, 8, e, 255), 0, c <= 2 ? U_WH : U_VARH, energy);

    /* instantaneous values: totals, then per phase L1..L3 */
    add_register(m, AMI_OBIS(1, 0, 1, 7, 0, 255), 0, U_W, instant);
    add_register(m, AMI_OBIS(1, 0, 2, 7, 0, 255), 0, U_W, instant);
    add_register(m, AMI_OBIS(1, 0, 3, 7, 0, 255), 0, U_VAR, instant);
    add_register(m, AMI_OBIS(1, 0, 4, 7, 0, 255), 0, U_VAR, instant);
    add_register(m, AMI_OBIS(1, 0, 16, 7, 0, 255), 0, U_W, instant);
    add_register(m, AMI_OBIS(1, 0, 9, 7, 0, 255), 0, U_VA, instant);
    add_register(m, AMI_OBIS(1, 0, 9, 7, 128, 255), 0, U_VA, instant);
    add_register(m, AMI_OBIS(1, 0, 9, 7, 129, 255), 0, U_VA, instant);
    add_register(m, AMI_OBIS(1, 0, 13, 7, 0, 255), -3, U_NONE, instant);
    add_register(m, AMI_OBIS(1, 0, 14, 7, 0, 255), -3, U_HZ, instant);
    for (uint8_t ph = 1; ph <= 3; ph++) {
        uint8_t b = (uint8_t)(20 * ph);
        add_register(m, AMI_OBIS(1, 0, b + 12, 7, 0, 255), -1, U_V, instant);
        add_register(m, AMI_OBIS(1, 0, b + 11, 7, 0, 255), -3, U_A, instant);
        add_register(m, AMI_OBIS(1, 0, b + 16, 7, 0, 255), 0, U_W, instant);
        add_register(m, AMI_OBIS(1, 0, b + 3, 7, 0, 255), 0, U_VAR, instant);
        add_register(m, AMI_OBIS(1, 0, b + 4, 7, 0, 255), 0, U_VAR, instant);
        add_register(m, AMI_OBIS(1, 0, b + 9, 7, 0, 255), 0, U_VA, instant);
        add_register(m, AMI_OBIS(1, 0, b + 13, 7, 0, 255), -3, U_NONE, instant);
    }

    /* demand (fixed 15-minute window) and maximum demand with its time, all and per tariff */
    m->demand = (ami_cosem_demand_register){demand_read};
    add(m, (ami_cosem_obj){.class_id = AMI_COSEM_DEMAND_REGISTER,
                           .ln = AMI_OBIS(1, 0, 1, 4, 0, 255),
                           .state = &m->demand,
                           .user = m,
                           .scaler = 1,
                           .unit = U_W});
    for (uint8_t e = 0; e <= 2; e++) {
        m->maxdem[e] = (ami_cosem_ext_register){.snapshot = maxdem_snapshot};
        add(m, (ami_cosem_obj){.class_id = AMI_COSEM_EXTENDED_REGISTER,
                               .ln = AMI_OBIS(1, 0, 1, 6, e, 255),
                               .method_access = maxdem_methods,
                               .state = &m->maxdem[e],
                               .read = maxdem_value,
                               .method = maxdem_method,
                               .user = m,
                               .scaler = 1,
                               .unit = U_W});
    }

    /* profile status objects and the virtual profiles */
    m->status_value[0] = AMI_AXDR_UNSIGNED;
    add_data(m, AMI_OBIS(0, 0, 96, 10, 1, 255), m->status_value, sizeof m->status_value, 2);
    add_data(m, AMI_OBIS(0, 0, 96, 10, 2, 255), m->status_value, sizeof m->status_value, 2);
    m->lp1_src = (ami_cosem_profile_source){lp_entries, lp_rows, lp_locate, m};
    m->lp2_src = m->lp1_src;
    m->billing_src = (ami_cosem_profile_source){billing_entries, billing_rows, NULL, m};
    m->lp1 = (ami_cosem_profile){.columns = lp1_cols,
                                 .ncolumns = AMI_COUNTOF(lp1_cols),
                                 .capture_period = 900,
                                 .profile_entries = LP1_ENTRIES,
                                 .source = &m->lp1_src};
    m->lp2 = (ami_cosem_profile){.columns = lp2_cols,
                                 .ncolumns = AMI_COUNTOF(lp2_cols),
                                 .capture_period = 86400,
                                 .profile_entries = LP2_ENTRIES,
                                 .source = &m->lp2_src};
    m->billing = (ami_cosem_profile){.columns = billing_cols,
                                     .ncolumns = AMI_COUNTOF(billing_cols),
                                     .capture_period = 0,
                                     .profile_entries = BILLING_ENTRIES,
                                     .source = &m->billing_src};
    add_profile(m, AMI_OBIS(1, 0, 99, 1, 0, 255), &m->lp1);
    add_profile(m, AMI_OBIS(1, 0, 99, 2, 0, 255), &m->lp2);
    add(m, (ami_cosem_obj){.class_id = AMI_COSEM_PROFILE_GENERIC,
                           .ln = AMI_OBIS(0, 0, 98, 1, 0, 255),
                           .method_access = billing_methods,
                           .method = billing_method,
                           .user = m,
                           .state = &m->billing});

    /* event logs (stored rings) and their event code objects */
    for (uint8_t x = 0; x < SIM_LOG_COUNT; x++) {
        m->code_value[x][0] = AMI_AXDR_UNSIGNED;
        add_data(m, AMI_OBIS(0, 0, 96, 11, x, 255), m->code_value[x], 2, 2);
        m->logs[x] = (ami_cosem_profile){.columns = log_cols[x],
                                         .ncolumns = 2,
                                         .profile_entries = SIM_EVENT_ENTRIES,
                                         .ring = m->log_ring[x],
                                         .ring_cap = sizeof m->log_ring[x],
                                         .row_size = AMI_COSEM_EVENT_ROW_SIZE};
        add(m, (ami_cosem_obj){.class_id = AMI_COSEM_PROFILE_GENERIC,
                               .ln = AMI_OBIS(0, 0, 99, 98, x, 255),
                               .method_access = log_methods,
                               .state = &m->logs[x]});
    }
}

ami_cosem_obj *sim_meter_object(sim_meter *m, const ami_obis *ln, ami_cosem_obj *tmp)
{
    return ami_cosem_store_bind(&m->store, ln, tmp);
}

static int record(sim_meter *m, unsigned log, uint8_t code)
{
    if (log >= SIM_LOG_COUNT)
        return AMI_E_INVAL;
    m->code_value[log][1] = code;
    ami_obis ln = AMI_OBIS(0, 0, 99, 98, log, 255);
    ami_cosem_obj tmp;
    return ami_cosem_event_record(sim_meter_object(m, &ln, &tmp), sim_meter_now(m), 0, 0, code);
}

int sim_meter_event(sim_meter *m, enum sim_log log, uint8_t code)
{
    if (!m)
        return AMI_E_INVAL;
    m->nevents++;
    return record(m, (unsigned)log, code);
}

void sim_meter_record_event(sim_meter *m, uint16_t code)
{
    /* fraud detection codes (40..59: terminal and module covers, magnetic field, ...) go to the
     * tamper log, the others to the standard log */
    unsigned log = code >= 40 && code < 60 ? SIM_LOG_TAMPER : SIM_LOG_STANDARD;
    m->nevents++;
    (void)record(m, log, (uint8_t)(code > 255 ? 255 : code));
}

int sim_meter_init(sim_meter *m, const char *serial, const char *password,
                   const ami_simclock *clock, int64_t history_s)
{
    size_t sn = serial ? strlen(serial) : 0, pn = password ? strlen(password) : 0;
    if (!m || !sn || sn > SIM_SERIAL_MAX || !pn || pn >= sizeof m->password || history_s < 0 ||
        history_s > SIM_HISTORY_MAX_S)
        return AMI_E_INVAL;
    memset(m, 0, sizeof *m);
    m->clock = clock;
    memcpy(m->serial, serial, sn);
    memcpy(m->password, password, pn);
    m->password_len = pn;

    ami_metro_load_from_seed(&m->load, fnv1a(serial));
    m->history_end = sim_time_now(clock);
    m->history_start = m->history_end - history_s;
    /* The history is integrated lazily, at the first read (advance()): a fleet of 10,000 meters
     * starts without running 35 days of metrology for each. */
    int rc = ami_metro_init(&m->metro, &m->load, 15, 15, m->history_start);
    m->ckpt = m->metro;
    if (rc != AMI_OK)
        return rc;

    /* The first meter builds the shared object table; each meter sets up its state. */
    table.building = !table.built;
    if (table.building) {
        table.n = 0;
        table.err = AMI_OK;
    }
    add_objects(m);
    /* Control objects last (sim_classes.c). */
    rc = sim_classes_add(m);
    if (rc == AMI_OK)
        rc = table.err;
    table.building = false;
    if (rc != AMI_OK)
        return rc;
    ami_cosem_clock_src clk = {clock_now, clock_set, m};
    rc = ami_cosem_store_init_shared(&m->store, table.objs, table.n, &clk, m);
    if (rc != AMI_OK)
        return rc;
    table.built = true;
    /* The Clock's time zone: local time as the load model's (calendar, schedules, metrology). */
    m->store.time_zone = (int16_t)(-m->load.utc_offset_s / 60);
    (void)record(m, SIM_LOG_STANDARD, SIM_EVENT_POWER_UP);
    m->policies[0] = (ami_dlms_policy){.client_sap = SIM_SAP_PUBLIC,
                                       .context = AMI_ACSE_CONTEXT_LN,
                                       .mechanism = AMI_ACSE_MECH_NONE,
                                       .conformance = SIM_CONFORMANCE,
                                       .max_pdu = 1024,
                                       .gbt_window = SIM_GBT_WINDOW};
    m->policies[1] = (ami_dlms_policy){.client_sap = SIM_SAP_READER,
                                       .context = AMI_ACSE_CONTEXT_LN,
                                       .mechanism = AMI_ACSE_MECH_LOW,
                                       .password = m->password,
                                       .password_len = m->password_len,
                                       .conformance = SIM_CONFORMANCE,
                                       .max_pdu = 1024,
                                       .gbt_window = SIM_GBT_WINDOW};
    hex_into(SIM_DEFAULT_EK, m->ek, sizeof m->ek);
    hex_into(SIM_DEFAULT_AK, m->ak, sizeof m->ak);
    hex_into(SIM_DEFAULT_KEK, m->kek, sizeof m->kek);
    hex_into(SIM_DEFAULT_SYSTEM_TITLE, m->system_title, sizeof m->system_title);
    m->sec_policy = (ami_dlms_sec_policy){
        .suite = 0, .security_policy = AMI_DLMS_SECPOL_AUTH_ENC, .challenge_len = 16};
    m->policies[2] = (ami_dlms_policy){.client_sap = SIM_SAP_MANAGEMENT,
                                       .context = AMI_ACSE_CONTEXT_LN,
                                       .mechanism = AMI_ACSE_MECH_GMAC,
                                       /* GBT stays off on the ciphered SAP */
                                       .conformance = SIM_CONFORMANCE &
                                                      ~(uint32_t)AMI_CONF_GENERAL_BLOCK_TRANSFER,
                                       .max_pdu = 1024,
                                       .sec = &m->sec_policy};
    m->policies[3] = (ami_dlms_policy){.client_sap = SIM_SAP_SN,
                                       .context = AMI_ACSE_CONTEXT_SN,
                                       .mechanism = AMI_ACSE_MECH_NONE,
                                       .conformance = SIM_CONFORMANCE_SN,
                                       .max_pdu = 1024,
                                       .gbt_window = SIM_GBT_WINDOW};
    size_t npol = 4;
    if (sim_ec_client_key()) {
        /* Until sim_ec_key() makes the meter's key pair, the client's public key stands in:
         * it cannot sign, so an association would be refused. */
        m->ec_policy = (ami_dlms_sec_policy){.suite = 1,
                                             .security_policy = AMI_DLMS_SECPOL_AUTH_ENC,
                                             .challenge_len = 16,
                                             .server_sign_key = sim_ec_client_key(),
                                             .client_verify_key = sim_ec_client_key()};
        m->policies[npol++] = (ami_dlms_policy){
            .client_sap = SIM_SAP_EC,
            .context = AMI_ACSE_CONTEXT_LN,
            .mechanism = AMI_ACSE_MECH_ECDSA,
            .conformance = SIM_CONFORMANCE & ~(uint32_t)AMI_CONF_GENERAL_BLOCK_TRANSFER,
            .max_pdu = 1024,
            .sec = &m->ec_policy};
    }
    rc = ami_replay_init(&m->replay, m->replay_slots, 16, NULL);
    if (rc != AMI_OK)
        return rc;
    m->sec = (ami_dlms_server_sec){.system_title = m->system_title,
                                   .keys = {keys_get, keys_update, keys_next_ic, m},
                                   .replay = &m->replay,
                                   .on_event = sec_event,
                                   .event_user = m,
                                   .certs = &m->cert_provider};
    sim_cert_init(m);
    ami_dlms_server_config cfg = {.ops = &ami_cosem_store_ops,
                                  .store = &m->store,
                                  .policies = m->policies,
                                  .policy_count = npol,
                                  .server_sap = 1,
                                  .sec = &m->sec};
    return ami_dlms_server_init(&m->server, &cfg);
}

void sim_meter_fini(sim_meter *m)
{
    if (m) {
        sim_classes_fini(m);
        sim_cert_fini(m);
        sim_ec_fini(m);
    }
}

unsigned sim_meter_tariff(sim_meter *m)
{
    int64_t until;
    return tariff_of(m, m->metro.t, &until);
}
