/*
 * The virtual meter of `ami sim` (see sim_meter.h).
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>
#include <time.h>

#include "sim_meter.h"

/* What the server offers (Green Book 9.5 conformance): GET, SET, ACTION, selective access,
 * multiple references, block transfer for GET, SET and ACTION. */
#define SIM_CONFORMANCE                                                          \
    (AMI_CONF_GET | AMI_CONF_SET | AMI_CONF_ACTION | AMI_CONF_SELECTIVE_ACCESS | \
     AMI_CONF_MULTIPLE_REFERENCES | AMI_CONF_BLOCK_TRANSFER_WITH_GET_OR_READ |   \
     AMI_CONF_BLOCK_TRANSFER_WITH_SET_OR_WRITE | AMI_CONF_BLOCK_TRANSFER_WITH_ACTION)

int64_t sim_meter_now(const sim_meter *m)
{
    return (int64_t)time(NULL) + m->clock_offset;
}

void sim_meter_record_event(sim_meter *m, uint16_t code)
{
    m->events[m->nevents % SIM_METER_EVENTS] = (sim_meter_event){sim_meter_now(m), code};
    m->nevents++;
}

static int64_t clock_now(void *user)
{
    return sim_meter_now(user);
}

static uint8_t clock_set(void *user, int64_t t)
{
    sim_meter *m = user;
    m->clock_offset = t - (int64_t)time(NULL);
    return AMI_DAR_SUCCESS;
}

/* Two tariffs: T1 (index 0) 07:00-23:00 local, T2 (index 1) at night. */
static unsigned tariff_of(void *ctx, int64_t t, int64_t *until)
{
    const sim_meter *m = ctx;
    int64_t local = t + m->load.utc_offset_s;
    int64_t day = local - (local % 86400 + 86400) % 86400;
    int64_t sec = local - day;
    int64_t b7 = 7 * 3600, b23 = 23 * 3600;
    unsigned tariff = (sec >= b7 && sec < b23) ? 0 : 1;
    int64_t next = sec < b7 ? day + b7 : sec < b23 ? day + b23 : day + 86400 + b7;
    *until = next - m->load.utc_offset_s;
    return tariff;
}

/* Brings the metrology up to the meter's time (never backwards: a clock set into the past
 * freezes the registers until time catches up, as the energy a meter counted stays). */
static void advance(sim_meter *m)
{
    int64_t now = sim_meter_now(m);
    if (now > m->metro.t) {
        ami_metro_hooks h = {.tariff = tariff_of, .tariff_ctx = m};
        (void)ami_metro_run(&m->metro, now, &h);
    }
}

/* Energy registers: value = Wh (varh) as double-long-unsigned, scaler 0. */
static uint8_t energy(void *user, const ami_cosem_obj *obj, ami_wr *out)
{
    sim_meter *m = user;
    advance(m);
    const ami_metro_registers *r = &m->metro.reg;
    uint8_t c = obj->ln.v[2], e = obj->ln.v[4];
    int64_t mj;
    if (e == 0)
        mj = c == 1   ? r->a_plus
             : c == 2 ? r->a_minus
             : c == 3 ? r->q[0] + r->q[1]
                      : r->q[2] + r->q[3];
    else if (e <= AMI_METRO_TARIFFS)
        mj = r->tariff[e - 1][c - 1];
    else
        return AMI_DAR_OBJECT_UNAVAILABLE;
    int64_t wh = ami_metro_wh(mj);
    ami_wr_u8(out, AMI_AXDR_DOUBLE_LONG_UNSIGNED);
    ami_wr_u32be(out, (uint32_t)(wh < 0 ? 0 : wh > UINT32_MAX ? UINT32_MAX : wh));
    return AMI_DAR_SUCCESS;
}

/* Instantaneous active power (1-0:1.7.0 import, 1-0:2.7.0 export), W. */
static uint8_t power(void *user, const ami_cosem_obj *obj, ami_wr *out)
{
    sim_meter *m = user;
    ami_metro_sample s;
    ami_metro_instant(&m->metro, sim_meter_now(m), &s);
    int64_t p = obj->ln.v[2] == 1 ? s.p_mw : -s.p_mw;
    int64_t w = p > 0 ? p / 1000 : 0;
    ami_wr_u8(out, AMI_AXDR_DOUBLE_LONG_UNSIGNED);
    ami_wr_u32be(out, (uint32_t)(w > UINT32_MAX ? UINT32_MAX : w));
    return AMI_DAR_SUCCESS;
}

/* ---------------------------------------------------------------- security of SAP 1 */

static int keys_get(void *user, uint16_t sap, ami_dlms_keys *k)
{
    sim_meter *m = user;
    if (sap != SIM_SAP_MANAGEMENT)
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
    if (sap != SIM_SAP_MANAGEMENT || !dst || len != 16)
        return AMI_E_UNSUPPORTED;
    memcpy(dst, key, len);
    return AMI_OK;
}

static int keys_next_ic(void *user, uint16_t sap, uint32_t *ic)
{
    sim_meter *m = user;
    (void)sap;
    if (m->ic == UINT32_MAX)
        return AMI_E_OVERFLOW; /* a new key is needed */
    *ic = ++m->ic;
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

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static void add(sim_meter *m, ami_cosem_obj o)
{
    m->objs[m->nobjs++] = o;
}

static void add_register(sim_meter *m, ami_obis ln, uint8_t unit, ami_cosem_value_fn fn)
{
    add(m, (ami_cosem_obj){.class_id = AMI_COSEM_REGISTER,
                           .ln = ln,
                           .read = fn,
                           .user = m,
                           .scaler = 0,
                           .unit = unit});
}

int sim_meter_init(sim_meter *m, const char *serial, const char *password, int64_t now)
{
    size_t sn = serial ? strlen(serial) : 0, pn = password ? strlen(password) : 0;
    if (!m || !sn || sn > SIM_SERIAL_MAX || !pn || pn >= sizeof m->password)
        return AMI_E_INVAL;
    memset(m, 0, sizeof *m);
    memcpy(m->serial, serial, sn);
    memcpy(m->password, password, pn);
    m->password_len = pn;

    ami_metro_load_from_seed(&m->load, fnv1a(serial));
    /* The history is integrated lazily, at the first read (advance()): a fleet of 10,000 meters
     * starts without running 35 days of metrology for each. */
    int rc = ami_metro_init(&m->metro, &m->load, 15, 15, now - AMI_METRO_HISTORY_DEFAULT_S);
    if (rc != AMI_OK)
        return rc;

    /* Values: identity as visible-string, logical device name as octet-string. */
    m->ident_value[0] = AMI_AXDR_VISIBLE_STRING;
    m->ident_value[1] = (uint8_t)sn;
    memcpy(m->ident_value + 2, serial, sn);
    static const char ldn[] = "OPENAMI-SIM";
    m->ldn_value[0] = AMI_AXDR_OCTET_STRING;
    m->ldn_value[1] = (uint8_t)(sizeof ldn - 1);
    memcpy(m->ldn_value + 2, ldn, sizeof ldn - 1);

    add(m,
        (ami_cosem_obj){.class_id = AMI_COSEM_ASSOCIATION_LN, .ln = AMI_OBIS(0, 0, 40, 0, 0, 255)});
    add(m, (ami_cosem_obj){.class_id = AMI_COSEM_DATA,
                           .ln = AMI_OBIS(0, 0, 42, 0, 0, 255),
                           .value = m->ldn_value,
                           .value_cap = sizeof m->ldn_value,
                           .value_len = 2 + sizeof ldn - 1});
    add(m, (ami_cosem_obj){.class_id = AMI_COSEM_DATA,
                           .ln = AMI_OBIS(0, 0, 96, 1, 0, 255),
                           .value = m->ident_value,
                           .value_cap = sizeof m->ident_value,
                           .value_len = 2 + sn});
    add(m, (ami_cosem_obj){.class_id = AMI_COSEM_CLOCK, .ln = AMI_OBIS(0, 0, 1, 0, 0, 255)});
    /* Blue Book units: 30 Wh, 32 varh, 27 W. */
    add_register(m, AMI_OBIS(1, 0, 1, 8, 0, 255), 30, energy);
    add_register(m, AMI_OBIS(1, 0, 1, 8, 1, 255), 30, energy);
    add_register(m, AMI_OBIS(1, 0, 1, 8, 2, 255), 30, energy);
    add_register(m, AMI_OBIS(1, 0, 2, 8, 0, 255), 30, energy);
    add_register(m, AMI_OBIS(1, 0, 2, 8, 1, 255), 30, energy);
    add_register(m, AMI_OBIS(1, 0, 2, 8, 2, 255), 30, energy);
    add_register(m, AMI_OBIS(1, 0, 3, 8, 0, 255), 32, energy);
    add_register(m, AMI_OBIS(1, 0, 4, 8, 0, 255), 32, energy);
    add_register(m, AMI_OBIS(1, 0, 1, 7, 0, 255), 27, power);
    add_register(m, AMI_OBIS(1, 0, 2, 7, 0, 255), 27, power);

    ami_cosem_clock_src clk = {clock_now, clock_set, m};
    rc = ami_cosem_store_init(&m->store, m->objs, m->nobjs, &clk);
    if (rc != AMI_OK)
        return rc;
    m->policies[0] = (ami_dlms_policy){.client_sap = SIM_SAP_PUBLIC,
                                       .context = AMI_ACSE_CONTEXT_LN,
                                       .mechanism = AMI_ACSE_MECH_NONE,
                                       .conformance = SIM_CONFORMANCE,
                                       .max_pdu = 1024};
    m->policies[1] = (ami_dlms_policy){.client_sap = SIM_SAP_READER,
                                       .context = AMI_ACSE_CONTEXT_LN,
                                       .mechanism = AMI_ACSE_MECH_LOW,
                                       .password = m->password,
                                       .password_len = m->password_len,
                                       .conformance = SIM_CONFORMANCE,
                                       .max_pdu = 1024};
    hex_into(SIM_DEFAULT_EK, m->ek, sizeof m->ek);
    hex_into(SIM_DEFAULT_AK, m->ak, sizeof m->ak);
    hex_into(SIM_DEFAULT_KEK, m->kek, sizeof m->kek);
    hex_into(SIM_DEFAULT_SYSTEM_TITLE, m->system_title, sizeof m->system_title);
    m->sec_policy = (ami_dlms_sec_policy){
        .suite = 0, .security_policy = AMI_DLMS_SECPOL_AUTH_ENC, .challenge_len = 16};
    m->policies[2] = (ami_dlms_policy){.client_sap = SIM_SAP_MANAGEMENT,
                                       .context = AMI_ACSE_CONTEXT_LN,
                                       .mechanism = AMI_ACSE_MECH_GMAC,
                                       .conformance = SIM_CONFORMANCE,
                                       .max_pdu = 1024,
                                       .sec = &m->sec_policy};
    rc = ami_replay_init(&m->replay, m->replay_slots, 16, NULL);
    if (rc != AMI_OK)
        return rc;
    m->sec = (ami_dlms_server_sec){.system_title = m->system_title,
                                   .keys = {keys_get, keys_update, keys_next_ic, m},
                                   .replay = &m->replay};
    ami_dlms_server_config cfg = {.ops = &ami_cosem_store_ops,
                                  .store = &m->store,
                                  .policies = m->policies,
                                  .policy_count = 3,
                                  .server_sap = 1,
                                  .sec = &m->sec};
    return ami_dlms_server_init(&m->server, &cfg);
}
