/*
 * DLMS/COSEM server engine (ami/dlms_server.h) with the reference object store (ami/cosem.h):
 * association accept/reject matrix, AARE/InitiateResponse byte-exact against the Gurux server
 * of the shared sessions, GET/SET/ACTION (normal and with-list) on Data, Register, Clock and
 * Association LN, data-access-results, block transfer with a 64-byte client PDU, block number
 * errors, malformed APDUs answered while the association survives.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "ami/ami.h"

/* ---------------------------------------------------------------- fixture */

static int64_t clock_now = 1795327200; /* 2026-11-22T06:00:00Z */
static int64_t clock_set_to;

static int64_t fx_now(void *user)
{
    (void)user;
    return clock_now;
}

static uint8_t fx_set_time(void *user, int64_t t)
{
    (void)user;
    clock_set_to = t;
    return AMI_DAR_SUCCESS;
}

static uint8_t fx_energy(void *user, const ami_cosem_obj *obj, ami_wr *out)
{
    (void)obj;
    uint32_t wh = *(const uint32_t *)user;
    ami_wr_u8(out, AMI_AXDR_DOUBLE_LONG_UNSIGNED);
    ami_wr_u32be(out, wh);
    return AMI_DAR_SUCCESS;
}

/* Register "reset": returns its parameters back (to check they arrive intact). */
static uint8_t fx_method(void *user, ami_cosem_obj *obj, uint8_t id, ami_view params, ami_wr *out)
{
    (void)obj;
    (void)user;
    if (id != 1)
        return AMI_ACTION_OTHER_REASON;
    ami_wr_bytes(out, params.p, params.len);
    return AMI_ACTION_SUCCESS;
}

static const uint8_t rw2[2] = {AMI_ACCESS_READ, AMI_ACCESS_READ_WRITE};
static const uint8_t auth_only[3] = {AMI_ACCESS_READ, AMI_ACCESS_AUTH_READ, AMI_ACCESS_READ};
static const uint8_t m_access[1] = {AMI_METHOD_ACCESS};
static const uint8_t pw[] = "secret12";
static const uint8_t gurux_pw[] = "Gurux";

typedef struct fixture {
    ami_cosem_obj objs[8];
    uint8_t id_value[64];
    uint8_t big_value[600];
    uint32_t energy;
    ami_cosem_store store;
    ami_dlms_policy pol[4];
    ami_dlms_server srv;
    uint8_t block[4096];
    uint8_t scratch[4096];
} fixture;

static fixture fx;

static void fx_setup(uint32_t conformance)
{
    memset(&fx, 0, sizeof fx);
    fx.energy = 123456;
    static const uint8_t id[] = {0x0A, 0x0B, 'O', 'P', 'E', 'N', 'A', 'M', 'I', '0', '0', '0', '1'};
    memcpy(fx.id_value, id, sizeof id);
    static const uint8_t ldn[] = {0x09, 0x04, 'A', 'M', 'I', '1'};
    static uint8_t ldn_buf[16];
    memcpy(ldn_buf, ldn, sizeof ldn);
    fx.big_value[0] = 0x09;
    fx.big_value[1] = 0x00;
    fx.objs[0] =
        (ami_cosem_obj){.class_id = AMI_COSEM_ASSOCIATION_LN, .ln = AMI_OBIS(0, 0, 40, 0, 0, 255)};
    fx.objs[1] = (ami_cosem_obj){.class_id = AMI_COSEM_DATA,
                                 .ln = AMI_OBIS(0, 0, 42, 0, 0, 255),
                                 .value = ldn_buf,
                                 .value_cap = sizeof ldn_buf,
                                 .value_len = sizeof ldn};
    fx.objs[2] = (ami_cosem_obj){.class_id = AMI_COSEM_DATA,
                                 .ln = AMI_OBIS(0, 0, 96, 1, 0, 255),
                                 .attr_access = rw2,
                                 .value = fx.id_value,
                                 .value_cap = sizeof fx.id_value,
                                 .value_len = sizeof id};
    fx.objs[3] = (ami_cosem_obj){
        .class_id = AMI_COSEM_CLOCK, .ln = AMI_OBIS(0, 0, 1, 0, 0, 255), .time_zone = -60};
    fx.objs[4] = (ami_cosem_obj){.class_id = AMI_COSEM_REGISTER,
                                 .ln = AMI_OBIS(1, 0, 1, 8, 0, 255),
                                 .read = fx_energy,
                                 .user = &fx.energy,
                                 .method = fx_method,
                                 .method_access = m_access,
                                 .scaler = 0,
                                 .unit = 30};
    fx.objs[5] = (ami_cosem_obj){.class_id = AMI_COSEM_REGISTER,
                                 .ln = AMI_OBIS(1, 0, 2, 8, 0, 255),
                                 .attr_access = auth_only,
                                 .read = fx_energy,
                                 .user = &fx.energy,
                                 .scaler = -3,
                                 .unit = 32};
    fx.objs[6] = (ami_cosem_obj){.class_id = AMI_COSEM_DATA,
                                 .ln = AMI_OBIS(0, 0, 128, 0, 0, 255),
                                 .attr_access = rw2,
                                 .value = fx.big_value,
                                 .value_cap = sizeof fx.big_value,
                                 .value_len = 2};
    ami_cosem_clock_src clk = {fx_now, fx_set_time, NULL};
    assert_int_equal(ami_cosem_store_init(&fx.store, fx.objs, 7, &clk), AMI_OK);
    fx.pol[0] = (ami_dlms_policy){.client_sap = 16,
                                  .context = AMI_ACSE_CONTEXT_LN,
                                  .mechanism = AMI_ACSE_MECH_NONE,
                                  .conformance = conformance,
                                  .max_pdu = 512};
    fx.pol[1] = (ami_dlms_policy){.client_sap = 17,
                                  .context = AMI_ACSE_CONTEXT_LN,
                                  .mechanism = AMI_ACSE_MECH_LOW,
                                  .password = gurux_pw,
                                  .password_len = 5,
                                  .conformance = conformance,
                                  .max_pdu = 512};
    fx.pol[2] = (ami_dlms_policy){.client_sap = 18,
                                  .context = AMI_ACSE_CONTEXT_LN,
                                  .mechanism = AMI_ACSE_MECH_LOW,
                                  .password = pw,
                                  .password_len = 8,
                                  .conformance = conformance,
                                  .max_pdu = 1024};
    fx.pol[3] = (ami_dlms_policy){.client_sap = 102,
                                  .context = AMI_ACSE_CONTEXT_LN,
                                  .mechanism = AMI_ACSE_MECH_NONE,
                                  .conformance = conformance,
                                  .max_pdu = 256,
                                  .pre_established = true};
    ami_dlms_server_config cfg = {.ops = &ami_cosem_store_ops,
                                  .store = &fx.store,
                                  .policies = fx.pol,
                                  .policy_count = 4,
                                  .server_sap = 1};
    assert_int_equal(ami_dlms_server_init(&fx.srv, &cfg), AMI_OK);
}

/* Everything a server offers here (Green Book 9.5 conformance bits). */
#define CONF_ALL                                                                 \
    (AMI_CONF_GET | AMI_CONF_SET | AMI_CONF_ACTION | AMI_CONF_SELECTIVE_ACCESS | \
     AMI_CONF_MULTIPLE_REFERENCES | AMI_CONF_BLOCK_TRANSFER_WITH_GET_OR_READ |   \
     AMI_CONF_BLOCK_TRANSFER_WITH_SET_OR_WRITE | AMI_CONF_BLOCK_TRANSFER_WITH_ACTION)

static void assoc_new(ami_dlms_assoc *a, uint16_t sap)
{
    ami_dlms_assoc_mem mem = {fx.block, sizeof fx.block, fx.scratch, sizeof fx.scratch, NULL, 0};
    assert_int_equal(ami_dlms_assoc_init(a, &fx.srv, sap, &mem), AMI_OK);
}

/* Sends a request given in hex; returns the response as upper-case hex (static buffer). */
static const char *xchg_bytes(ami_dlms_assoc *a, const uint8_t *req, size_t n)
{
    static uint8_t out[2048];
    static char hex[4200];
    int len = ami_dlms_assoc_handle(a, req, n, out, sizeof out);
    assert_true(len >= 0);
    assert_int_equal(ami_hex_encode(out, (size_t)len, hex, sizeof hex), AMI_OK);
    return hex;
}

static const char *xchg(ami_dlms_assoc *a, const char *reqhex)
{
    size_t n;
    uint8_t *req = tu_hex(reqhex, &n);
    uint8_t *g = tu_guard_copy(req, n);
    const char *r = xchg_bytes(a, g, n);
    tu_guard_free(g, n);
    free(req);
    return r;
}

/* An AARQ for the LN context with mechanism/password, proposing conformance and max PDU. */
static const char *aarq_hex(uint8_t context, uint8_t mech, const char *password, uint8_t version,
                            uint32_t conformance, uint16_t max_pdu)
{
    static char hex[512];
    uint8_t ui[64], buf[256];
    ami_wr w;
    ami_wr_init(&w, ui, sizeof ui);
    ami_apdu init;
    memset(&init, 0, sizeof init);
    init.tag = AMI_APDU_INITIATE_REQUEST;
    init.u.initiate_request.dlms_version = version;
    init.u.initiate_request.conformance = conformance;
    init.u.initiate_request.max_pdu_size = max_pdu;
    assert_int_equal(ami_apdu_encode(&w, &init), AMI_OK);
    ami_aarq q;
    memset(&q, 0, sizeof q);
    q.c.context = context;
    if (mech) {
        q.c.has_acse_requirements = true;
        q.c.authentication = true;
        q.c.has_mechanism = true;
        q.c.mechanism = mech;
    }
    if (password) {
        q.c.has_auth_value = true;
        q.c.auth_kind = AMI_ACSE_AUTH_CHARSTRING;
        q.c.auth_value = ami_view_of(password, strlen(password));
    }
    q.c.has_user_information = true;
    q.c.user_information = ami_view_of(ui, w.len);
    ami_wr_init(&w, buf, sizeof buf);
    assert_int_equal(ami_aarq_encode(&w, &q), AMI_OK);
    assert_int_equal(ami_hex_encode(buf, w.len, hex, sizeof hex), AMI_OK);
    return hex;
}

static void expect_aare(const char *hex, uint8_t result, uint8_t diag)
{
    size_t n;
    uint8_t *b = tu_hex(hex, &n);
    ami_aare a;
    assert_int_equal(ami_aare_decode(b, n, &a), AMI_OK);
    assert_int_equal(a.result, result);
    assert_int_equal(a.diag_source, AMI_ACSE_DIAG_USER);
    assert_int_equal(a.diagnostic, diag);
    free(b);
}

static void associate(ami_dlms_assoc *a, uint16_t sap, const char *password, uint16_t max_pdu)
{
    assoc_new(a, sap);
    const char *r = xchg(a, aarq_hex(AMI_ACSE_CONTEXT_LN, password ? AMI_ACSE_MECH_LOW : 0,
                                     password, 6, 0x00FFFF, max_pdu));
    expect_aare(r, AMI_ACSE_ACCEPTED, AMI_ACSE_USER_NULL);
    assert_int_equal(ami_dlms_assoc_state(a), AMI_DLMS_ASSOC_ASSOCIATED);
}

/* ---------------------------------------------------------------- association */

/*
 * The Gurux 9.0 server's AAREs (session_gurux_wrapper_ln_read_all..., session_gurux_hdlc_ln_lls)
 * reproduced byte for byte with the same policy: no-auth SAP 16 offering conformance 0x000018
 * (get, set) with max PDU 512, and LLS SAP 17 ("Gurux") offering everything.
 */
static void test_aare_gurux_byte_exact(void **state)
{
    (void)state;
    fx_setup(0x000018);
    fx.pol[1].conformance = 0x00FFFF;
    ami_dlms_assoc a;
    assoc_new(&a, 16);
    assert_string_equal(xchg(&a, "601DA109060760857405080101BE10040E01000000065F1F0400401E1DFFFF"),
                        "6129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F04"
                        "0000001802000007");
    assoc_new(&a, 17);
    assert_string_equal(
        xchg(&a, "6033A1090607608574050801018A0207808B0760857405080201AC0780054775727578BE1004"
                 "0E01000000065F1F0400401E1DFFFF"),
        "6129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F0400001E1D0200"
        "0007");
    const ami_dlms_ctx *c = ami_dlms_assoc_ctx(&a);
    assert_int_equal(c->conformance, 0x001E1D);
    assert_int_equal(c->client_max_pdu, 0xFFFF);
    assert_int_equal(c->server_max_pdu, 512);
    assert_int_equal(c->mechanism, AMI_ACSE_MECH_LOW);
    /* RLRQ -> RLRE as in the Gurux wrapper session. */
    assert_string_equal(xchg(&a, "6203800100"), "6303800100");
    assert_int_equal(ami_dlms_assoc_state(&a), AMI_DLMS_ASSOC_IDLE);
}

static void test_aare_reject_matrix(void **state)
{
    (void)state;
    fx_setup(CONF_ALL);
    ami_dlms_assoc a;
    const char *r;
    /* Wrong password, right length and wrong length. */
    assoc_new(&a, 18);
    expect_aare(xchg(&a, aarq_hex(1, AMI_ACSE_MECH_LOW, "secret13", 6, CONF_ALL, 512)),
                AMI_ACSE_REJECTED_PERMANENT, AMI_ACSE_USER_AUTHENTICATION_FAILURE);
    expect_aare(xchg(&a, aarq_hex(1, AMI_ACSE_MECH_LOW, "secret", 6, CONF_ALL, 512)),
                AMI_ACSE_REJECTED_PERMANENT, AMI_ACSE_USER_AUTHENTICATION_FAILURE);
    assert_int_equal(ami_dlms_assoc_state(&a), AMI_DLMS_ASSOC_IDLE);
    /* No authentication to an LLS SAP; LLS without a password; HLS proposed. */
    expect_aare(xchg(&a, aarq_hex(1, 0, NULL, 6, CONF_ALL, 512)), AMI_ACSE_REJECTED_PERMANENT,
                AMI_ACSE_USER_MECHANISM_REQUIRED);
    expect_aare(xchg(&a, aarq_hex(1, AMI_ACSE_MECH_LOW, NULL, 6, CONF_ALL, 512)),
                AMI_ACSE_REJECTED_PERMANENT, AMI_ACSE_USER_AUTHENTICATION_REQUIRED);
    expect_aare(xchg(&a, aarq_hex(1, AMI_ACSE_MECH_GMAC, "challeng", 6, CONF_ALL, 512)),
                AMI_ACSE_REJECTED_PERMANENT, AMI_ACSE_USER_MECHANISM_NOT_RECOGNISED);
    /* The right password. */
    expect_aare(xchg(&a, aarq_hex(1, AMI_ACSE_MECH_LOW, "secret12", 6, CONF_ALL, 512)),
                AMI_ACSE_ACCEPTED, AMI_ACSE_USER_NULL);
    /* LLS to a no-auth SAP. */
    assoc_new(&a, 16);
    expect_aare(xchg(&a, aarq_hex(1, AMI_ACSE_MECH_LOW, "x", 6, CONF_ALL, 512)),
                AMI_ACSE_REJECTED_PERMANENT, AMI_ACSE_USER_MECHANISM_NOT_RECOGNISED);
    /* Wrong application context (SN to an LN SAP, and the ciphered LN context). */
    r = xchg(&a, aarq_hex(AMI_ACSE_CONTEXT_SN, 0, NULL, 6, CONF_ALL, 512));
    assert_string_equal(r, "6117A109060760857405080101A203020101A305A103020102");
    expect_aare(xchg(&a, aarq_hex(AMI_ACSE_CONTEXT_LN_CIPHER, 0, NULL, 6, CONF_ALL, 512)),
                AMI_ACSE_REJECTED_PERMANENT, AMI_ACSE_USER_CONTEXT_NOT_SUPPORTED);
    /* DLMS version 5: the u9n/dlms-cosem vector of acse_aarq_aare_rlrq_rlre.txt. */
    r = xchg(&a, aarq_hex(1, 0, NULL, 5, CONF_ALL, 512));
    assert_string_equal(r, "611FA109060760857405080101A203020101A305A103020101BE0604040E010601");
    /* No common conformance; PDU size too short. */
    r = xchg(&a, aarq_hex(1, 0, NULL, 6, AMI_CONF_EVENT_NOTIFICATION, 512));
    assert_non_null(strstr(r, "BE0604040E010602"));
    r = xchg(&a, aarq_hex(1, 0, NULL, 6, CONF_ALL, 11));
    assert_non_null(strstr(r, "BE0604040E010603"));
    /* Unknown SAP. */
    assoc_new(&a, 55);
    expect_aare(xchg(&a, aarq_hex(1, 0, NULL, 6, CONF_ALL, 512)), AMI_ACSE_REJECTED_PERMANENT,
                AMI_ACSE_USER_NO_REASON);
    assert_string_equal(xchg(&a, "C001C100080000010000FF0200"), "D80101");
    /* A broken AARQ: rejected, counted. */
    assoc_new(&a, 16);
    expect_aare(xchg(&a, "601DA109060760857405080101BE10040E01000000065F1F0400401E1DFF"),
                AMI_ACSE_REJECTED_PERMANENT, AMI_ACSE_USER_NO_REASON);
    assert_int_equal(ami_dlms_assoc_stats_get(&a)->malformed, 1);
    assert_int_equal(ami_dlms_assoc_stats_get(&a)->aarq_rejected, 1);
    /* Not associated: every xDLMS request is refused with exception-response. */
    assert_string_equal(xchg(&a, "C001C100080000010000FF0200"), "D80101");
    /* Intersection of conformance, client PDU size kept. */
    r = xchg(&a, aarq_hex(1, 0, NULL, 6, AMI_CONF_GET | AMI_CONF_EVENT_NOTIFICATION, 300));
    expect_aare(r, AMI_ACSE_ACCEPTED, 0);
    assert_int_equal(ami_dlms_assoc_ctx(&a)->conformance, AMI_CONF_GET);
    assert_int_equal(ami_dlms_assoc_ctx(&a)->client_max_pdu, 300);
    /* SET is then not negotiated. */
    assert_string_equal(xchg(&a, "C101C100010000600100FF0200090101"), "D80102");
}

/* A short-name SAP: accepted with VAA name 0xFA00; LN services refused; a Read of a name that
 * designates nothing answered object-undefined (the SN services: test_dlms_gbt_sn.c). */
static void test_sn_policy(void **state)
{
    (void)state;
    fx_setup(CONF_ALL);
    fx.pol[0].context = AMI_ACSE_CONTEXT_SN;
    fx.pol[0].conformance = AMI_CONF_READ | AMI_CONF_WRITE;
    ami_dlms_server_config cfg = {
        .ops = &ami_cosem_store_ops, .store = &fx.store, .policies = fx.pol, .policy_count = 1};
    assert_int_equal(ami_dlms_server_init(&fx.srv, &cfg), AMI_OK);
    ami_dlms_assoc a;
    assoc_new(&a, 16);
    const char *r = xchg(&a, aarq_hex(AMI_ACSE_CONTEXT_SN, 0, NULL, 6, 0x1C0000, 512));
    assert_string_equal(r, "6129A109060760857405080102A203020100A305A103020100BE10040E0800065F1F"
                           "0400180000"
                           "0200"
                           "FA00");
    assert_string_equal(xchg(&a, "C001C100010000600100FF0200"), "D80102");
    assert_string_equal(xchg(&a, "0501020100"), "0C010104");
    /* An LN AARQ to the SN SAP. */
    expect_aare(xchg(&a, aarq_hex(AMI_ACSE_CONTEXT_LN, 0, NULL, 6, CONF_ALL, 512)),
                AMI_ACSE_REJECTED_PERMANENT, AMI_ACSE_USER_CONTEXT_NOT_SUPPORTED);
}

static void test_server_config(void **state)
{
    (void)state;
    fx_setup(CONF_ALL);
    ami_dlms_server s;
    ami_dlms_policy p = fx.pol[1];
    ami_dlms_server_config cfg = {
        .ops = &ami_cosem_store_ops, .store = &fx.store, .policies = &p, .policy_count = 1};
    p.password = NULL;
    assert_int_equal(ami_dlms_server_init(&s, &cfg), AMI_E_CONFIG);
    p = fx.pol[1];
    p.mechanism = AMI_ACSE_MECH_GMAC;
    assert_int_equal(ami_dlms_server_init(&s, &cfg), AMI_E_CONFIG);
    p = fx.pol[1];
    p.max_pdu = 11;
    assert_int_equal(ami_dlms_server_init(&s, &cfg), AMI_E_CONFIG);
    ami_dlms_policy two[2] = {fx.pol[0], fx.pol[0]};
    cfg.policies = two;
    cfg.policy_count = 2;
    assert_int_equal(ami_dlms_server_init(&s, &cfg), AMI_E_CONFIG);
    assert_int_equal(ami_dlms_server_init(NULL, &cfg), AMI_E_INVAL);
    ami_dlms_store_ops none = {0};
    cfg.ops = &none;
    cfg.policy_count = 1;
    assert_int_equal(ami_dlms_server_init(&s, &cfg), AMI_E_CONFIG);
    ami_dlms_assoc a;
    uint8_t small[32];
    ami_dlms_assoc_mem mem = {small, sizeof small, NULL, 0, NULL, 0};
    assert_int_equal(ami_dlms_assoc_init(&a, &fx.srv, 16, &mem), AMI_E_CONFIG);
    /* Store: duplicate logical name, unknown class, clock without a source. */
    ami_cosem_store st;
    ami_cosem_obj o[2] = {{.class_id = 1, .ln = AMI_OBIS(0, 0, 1, 0, 0, 255)},
                          {.class_id = 1, .ln = AMI_OBIS(0, 0, 1, 0, 0, 255)}};
    assert_int_equal(ami_cosem_store_init(&st, o, 2, NULL), AMI_E_CONFIG);
    o[1].class_id = 7;
    o[1].ln.v[5] = 1;
    assert_int_equal(ami_cosem_store_init(&st, o, 2, NULL), AMI_E_CONFIG);
    o[1].class_id = AMI_COSEM_CLOCK;
    assert_int_equal(ami_cosem_store_init(&st, o, 2, NULL), AMI_E_CONFIG);
    o[1].class_id = AMI_COSEM_REGISTER;
    assert_int_equal(ami_cosem_store_init(&st, o, 2, NULL), AMI_OK);
}

static void test_pre_established_and_release(void **state)
{
    (void)state;
    fx_setup(CONF_ALL);
    ami_dlms_assoc a;
    assoc_new(&a, 102);
    assert_int_equal(ami_dlms_assoc_state(&a), AMI_DLMS_ASSOC_ASSOCIATED);
    /* Answers without AARQ. */
    assert_string_equal(xchg(&a, "C001C100030100010800FF0300"), "C401C10002020F00161E");
    /* RLRQ: not-finished, the association stays. */
    assert_string_equal(xchg(&a, "6203800100"), "6303800101");
    assert_int_equal(ami_dlms_assoc_state(&a), AMI_DLMS_ASSOC_ASSOCIATED);
    ami_dlms_assoc_reset(&a);
    assert_int_equal(ami_dlms_assoc_state(&a), AMI_DLMS_ASSOC_ASSOCIATED);
    /* A normal association ends with RLRQ and with a transport reset. */
    associate(&a, 16, NULL, 512);
    assert_string_equal(xchg(&a, "6200"), "6303800100");
    assert_string_equal(xchg(&a, "C001C100030100010800FF0300"), "D80101");
    associate(&a, 16, NULL, 512);
    ami_dlms_assoc_reset(&a);
    assert_int_equal(ami_dlms_assoc_state(&a), AMI_DLMS_ASSOC_IDLE);
}

/* ---------------------------------------------------------------- GET */

static void test_get(void **state)
{
    (void)state;
    fx_setup(CONF_ALL);
    ami_dlms_assoc a;
    associate(&a, 16, NULL, 512);
    /* Data: logical name and value. */
    assert_string_equal(xchg(&a, "C001C100010000600100FF0100"), "C401C10009060000600100FF");
    assert_string_equal(xchg(&a, "C001C200010000600100FF0200"), "C401C200"
                                                                "0A0B4F50454E414D4930303031");
    /* Register: value from the callback, scaler_unit. */
    assert_string_equal(xchg(&a, "C001C100030100010800FF0200"), "C401C100060001E240");
    assert_string_equal(xchg(&a, "C001C100030100020800FF0300"), "C401C10002020FFD1620");
    /* Clock: time at the clock's time zone (deviation -60: CET), time zone, status; attrs 3
     * and 4 byte-exact against the Gurux session's answers when the values agree. */
    ami_datetime dt;
    uint8_t b[12];
    char hex[64], want[80];
    assert_int_equal(ami_datetime_from_unix(clock_now, -60, 0, 0, &dt), AMI_OK);
    assert_int_equal(dt.hour, 7);
    ami_datetime_encode(&dt, b);
    assert_int_equal(ami_hex_encode(b, 12, hex, sizeof hex), AMI_OK);
    snprintf(want, sizeof want, "C401C100090C%s", hex);
    assert_string_equal(xchg(&a, "C001C100080000010000FF0200"), want);
    assert_string_equal(xchg(&a, "C001C100080000010000FF0300"), "C401C10010FFC4");
    fx.objs[3].time_zone = 0;
    assert_string_equal(xchg(&a, "C001C100080000010000FF0300"), "C401C100100000");
    assert_string_equal(xchg(&a, "C001C100080000010000FF0400"), "C401C1001100");
    assert_string_equal(xchg(&a, "C001C100080000010000FF0900"), "C401C1001601");
    /* Association LN, byte-exact against the Gurux session (client 16, server 1). */
    assert_string_equal(xchg(&a, "C001C1000F0000280000FF0300"), "C401C10002020F10120001");
    assert_string_equal(xchg(&a, "C001C1000F0000280000FF0400"), "C401C100090760857405080101");
    assert_string_equal(xchg(&a, "C001C1000F0000280000FF0600"), "C401C100090760857405080200");
    assert_string_equal(xchg(&a, "C001C1000F0000280000FF0800"), "C401C1001602");
    assert_string_equal(xchg(&a, "C001C1000F0000280000FF0500"), "C401C100"
                                                                "0206"
                                                                "0418001E1D"
                                                                "120200"
                                                                "120200"
                                                                "1106"
                                                                "0F00"
                                                                "0900");
    /* Data-access-results: unknown object, wrong class, unknown attribute, no access
     * (secret), authenticated-only attribute over a plain APDU, selective access refused. */
    assert_string_equal(xchg(&a, "C001C100010000630000FF0200"), "C401C10104");
    assert_string_equal(xchg(&a, "C001C100030000600100FF0200"), "C401C10104");
    assert_string_equal(xchg(&a, "C001C100010000600100FF0300"), "C401C10104");
    assert_string_equal(xchg(&a, "C001C100010000600100FF0000"), "C401C10104");
    assert_string_equal(xchg(&a, "C001C1000F0000280000FF0700"), "C401C10103");
    assert_string_equal(xchg(&a, "C001C100030100020800FF0200"), "C401C10103");
    assert_string_equal(xchg(&a, "C001C100030100010800FF02010202020600000001120001"), "C401C1010D");
    /* with-list: two values and an unknown object. */
    assert_string_equal(xchg(&a, "C003C103000100002A0000FF0200"
                                 "00030100010800FF0200"
                                 "00010000630000FF0200"),
                        "C403C103"
                        "00"
                        "0904414D4931"
                        "00"
                        "060001E240"
                        "0104");
    const ami_dlms_assoc_stats *st = ami_dlms_assoc_stats_get(&a);
    assert_int_equal(st->malformed, 0);
}

/*
 * Block transfer (Green Book 9.3.7) with a 64-byte client PDU: the object list goes out in
 * GET-response-with-datablock, each APDU within 64 bytes, served on GET-next; the reassembled
 * Data is the object list with one element per object of the table; its Data element has the
 * shape of the Gurux server's (session_gurux_wrapper..., 0.0.42.0.0.255).
 */
static void test_get_blocks(void **state)
{
    (void)state;
    fx_setup(CONF_ALL);
    ami_dlms_assoc a;
    associate(&a, 16, NULL, 64);
    uint8_t out[2048], all[4096];
    size_t have = 0;
    static const uint8_t get_list[] = {0xC0, 0x01, 0xC1, 0x00, 0x0F, 0, 0, 40, 0, 0, 255, 2, 0};
    int n = ami_dlms_assoc_handle(&a, get_list, sizeof get_list, out, sizeof out);
    uint32_t number = 1;
    for (;;) {
        assert_true(n > 9 && n <= 64);
        ami_apdu r;
        assert_int_equal(ami_apdu_decode(out, (size_t)n, NULL, NULL, &r), AMI_OK);
        assert_int_equal(r.tag, AMI_APDU_GET_RESPONSE);
        assert_int_equal(r.u.get_response.type, AMI_GET_WITH_DATABLOCK);
        assert_true(r.u.get_response.block_ok);
        assert_int_equal(r.u.get_response.block.block_number, number);
        memcpy(all + have, r.u.get_response.block.raw.p, r.u.get_response.block.raw.len);
        have += r.u.get_response.block.raw.len;
        if (r.u.get_response.block.last)
            break;
        uint8_t next[7] = {0xC0, 0x02, 0xC1};
        ami_enc32be(next + 3, number);
        n = ami_dlms_assoc_handle(&a, next, sizeof next, out, sizeof out);
        number++;
    }
    assert_true(number > 5);
    assert_int_equal(ami_dlms_assoc_stats_get(&a)->blocks_out, number);
    ami_rd rd;
    ami_rd_init(&rd, all, have);
    uint8_t arena_buf[65536];
    ami_arena ar;
    ami_arena_init(&ar, arena_buf, sizeof arena_buf);
    ami_axdr_value *v;
    assert_int_equal(ami_axdr_decode(&rd, &ar, NULL, &v), AMI_OK);
    assert_int_equal(ami_rd_left(&rd), 0);
    assert_int_equal(v->type, AMI_AXDR_ARRAY);
    assert_int_equal(v->count, 7);
    static const uint8_t gurux_ldn[] = {0x02, 0x04, 0x12, 0x00, 0x01, 0x11, 0x00, 0x09, 0x06,
                                        0x00, 0x00, 0x2A, 0x00, 0x00, 0xFF, 0x02, 0x02, 0x01,
                                        0x02, 0x02, 0x03, 0x0F, 0x01, 0x16, 0x01, 0x00, 0x02,
                                        0x03, 0x0F, 0x02, 0x16, 0x01, 0x00, 0x01, 0x00};
    bool found = false;
    for (size_t i = 0; i + sizeof gurux_ldn <= have; i++)
        found |= memcmp(all + i, gurux_ldn, sizeof gurux_ldn) == 0;
    assert_true(found);
    /* Public client: the identity (read-write for LLS) is listed read-only, and the register's
     * method access is removed. */
    const ami_axdr_value *id = ami_axdr_child(v, 2);
    const ami_axdr_value *rights = ami_axdr_child(ami_axdr_child(id, 3), 0);
    assert_int_equal(ami_axdr_child(ami_axdr_child(rights, 1), 1)->v.u, AMI_ACCESS_READ);
    /* GET-next without a transfer; with a wrong block number (the transfer is aborted). */
    assert_string_equal(xchg(&a, "C002C100000009"), "C402C1010000000901"
                                                    "10");
    n = ami_dlms_assoc_handle(&a, get_list, sizeof get_list, out, sizeof out);
    assert_true(n > 0 && out[1] == AMI_GET_WITH_DATABLOCK);
    assert_string_equal(xchg(&a, "C002C100000002"), "C402C1010000000201"
                                                    "13");
    assert_string_equal(xchg(&a, "C002C100000001"), "C402C1010000000101"
                                                    "10");
    /* A with-list answer too long for the PDU goes in blocks too: the raw data is the
     * sequence of Get-Data-Results (count 2, data = the list, data-access-result). */
    static const uint8_t get_two[] = {0xC0, 0x03, 0xC2, 0x02, 0x00, 0x0F, 0,  0, 40, 0,   0, 255,
                                      2,    0,    0x00, 0x01, 0,    0,    99, 0, 0,  255, 2, 0};
    n = ami_dlms_assoc_handle(&a, get_two, sizeof get_two, out, sizeof out);
    have = 0;
    for (number = 1;; number++) {
        ami_apdu r;
        assert_true(n > 0 && n <= 64);
        assert_int_equal(ami_apdu_decode(out, (size_t)n, NULL, NULL, &r), AMI_OK);
        assert_int_equal(r.u.get_response.type, AMI_GET_WITH_DATABLOCK);
        assert_int_equal(r.u.get_response.iip, 0xC2);
        memcpy(all + have, r.u.get_response.block.raw.p, r.u.get_response.block.raw.len);
        have += r.u.get_response.block.raw.len;
        if (r.u.get_response.block.last)
            break;
        uint8_t next[7] = {0xC0, 0x02, 0xC2};
        ami_enc32be(next + 3, number);
        n = ami_dlms_assoc_handle(&a, next, sizeof next, out, sizeof out);
    }
    assert_memory_equal(all, "\x02\x00\x01", 3);
    assert_memory_equal(all + have - 3, "\x00\x01\x04",
                        3); /* "01 00" ends the list; unknown: object-undefined */
    /* Over an LLS association the identity is read-write. */
    associate(&a, 18, "secret12", 1024);
    n = ami_dlms_assoc_handle(&a, get_list, sizeof get_list, out, sizeof out);
    assert_true(n > 0 && out[1] == AMI_GET_NORMAL);
    ami_rd_init(&rd, out + 4, (size_t)n - 4);
    ami_arena_reset(&ar);
    assert_int_equal(ami_axdr_decode(&rd, &ar, NULL, &v), AMI_OK);
    id = ami_axdr_child(v, 2);
    rights = ami_axdr_child(ami_axdr_child(id, 3), 0);
    assert_int_equal(ami_axdr_child(ami_axdr_child(rights, 1), 1)->v.u, AMI_ACCESS_READ_WRITE);
    /* A value larger than the block buffer (the ceiling): other-reason. */
    ami_dlms_assoc small;
    uint8_t tiny[64];
    ami_dlms_assoc_mem mem = {tiny, sizeof tiny, fx.scratch, sizeof fx.scratch, NULL, 0};
    assert_int_equal(ami_dlms_assoc_init(&small, &fx.srv, 102, &mem), AMI_OK);
    n = ami_dlms_assoc_handle(&small, get_list, sizeof get_list, out, sizeof out);
    assert_int_equal(n, 5);
    assert_memory_equal(out, "\xC4\x01\xC1\x01\xFA", 5);
}

/* ---------------------------------------------------------------- SET, ACTION */

static void test_set(void **state)
{
    (void)state;
    fx_setup(CONF_ALL);
    ami_dlms_assoc a;
    /* Public client: read-only. */
    associate(&a, 16, NULL, 512);
    assert_string_equal(xchg(&a, "C101C100010000600100FF0200"
                                 "0A0158"),
                        "C501C103");
    /* LLS: read-write identity. */
    associate(&a, 18, "secret12", 1024);
    assert_string_equal(xchg(&a, "C101C100010000600100FF0200"
                                 "0A0358595A"),
                        "C501C100");
    assert_string_equal(xchg(&a, "C001C100010000600100FF0200"), "C401C1000A0358595A");
    /* Type unmatched: another type, and bytes that are not one Data. */
    assert_string_equal(xchg(&a, "C101C100010000600100FF0200"
                                 "1100"),
                        "C501C10C");
    /* Unknown object; attribute without write access; register value (computed). */
    assert_string_equal(xchg(&a, "C101C100010000630000FF0200"
                                 "1100"),
                        "C501C104");
    assert_string_equal(xchg(&a, "C101C100010000600100FF0100"
                                 "09060000600100FF"),
                        "C501C103");
    /* Clock: time (deviation given) and time zone. */
    clock_set_to = 0;
    ami_datetime dt;
    uint8_t b[12];
    char hex[64], req[128];
    assert_int_equal(ami_datetime_from_unix(1700000000, -60, 0, 0, &dt), AMI_OK);
    ami_datetime_encode(&dt, b);
    assert_int_equal(ami_hex_encode(b, 12, hex, sizeof hex), AMI_OK);
    snprintf(req, sizeof req, "C101C100080000010000FF0200090C%s", hex);
    assert_string_equal(xchg(&a, req), "C501C100");
    assert_int_equal(clock_set_to, 1700000000);
    assert_string_equal(xchg(&a, "C101C100080000010000FF02000900"), "C501C10C");
    assert_string_equal(xchg(&a, "C101C100080000010000FF0300100078"), "C501C100");
    assert_int_equal(fx.objs[3].time_zone, 120);
    assert_string_equal(xchg(&a, "C101C100080000010000FF0300100800"), "C501C1FA");
    assert_string_equal(xchg(&a, "C101C100080000010000FF04001100"), "C501C103");
    /* with-list: two writes, one denied. */
    assert_string_equal(xchg(&a, "C104C102"
                                 "00010000600100FF0200"
                                 "00030100010800FF0200"
                                 "02"
                                 "0A0141"
                                 "0600000001"),
                        "C505C1020003");
    /* Counts that disagree: malformed, answered, counted. */
    assert_string_equal(xchg(&a, "C104C102"
                                 "00010000600100FF0200"
                                 "00030100010800FF0200"
                                 "01"
                                 "0A0141"),
                        "D80101");
    assert_int_equal(ami_dlms_assoc_stats_get(&a)->malformed, 1);
}

/* SET with datablocks (Green Book 9.3.8): a 300-byte octet-string in three blocks. */
static void test_set_blocks(void **state)
{
    (void)state;
    fx_setup(CONF_ALL);
    ami_dlms_assoc a;
    associate(&a, 18, "secret12", 1024);
    uint8_t full[304];
    full[0] = 0x09;
    full[1] = 0x82;
    full[2] = 0x01;
    full[3] = 0x2C;
    for (size_t i = 0; i < 300; i++)
        full[4 + i] = (uint8_t)(i * 7);
    uint8_t req[256], out[512];
    ami_wr w;
    ami_apdu q;
    size_t cuts[4] = {0, 100, 200, sizeof full};
    for (int blk = 0; blk < 3; blk++) {
        memset(&q, 0, sizeof q);
        q.tag = AMI_APDU_SET_REQUEST;
        q.u.set_request.iip = 0xC1;
        q.u.set_request.type = blk == 0 ? AMI_SET_WITH_FIRST_DATABLOCK : AMI_SET_WITH_DATABLOCK;
        q.u.set_request.attr.attr = (ami_cosem_desc){1, AMI_OBIS(0, 0, 128, 0, 0, 255), 2};
        q.u.set_request.block.last = blk == 2;
        q.u.set_request.block.block_number = (uint32_t)blk + 1;
        q.u.set_request.block.raw = ami_view_of(full + cuts[blk], cuts[blk + 1] - cuts[blk]);
        ami_wr_init(&w, req, sizeof req);
        assert_int_equal(ami_apdu_encode(&w, &q), AMI_OK);
        int n = ami_dlms_assoc_handle(&a, req, w.len, out, sizeof out);
        if (blk < 2) {
            uint8_t want[8] = {0xC5, 0x02, 0xC1, 0, 0, 0, (uint8_t)(blk + 1)};
            assert_int_equal(n, 7);
            assert_memory_equal(out, want, 7);
        } else {
            uint8_t want[8] = {0xC5, 0x03, 0xC1, 0x00, 0, 0, 0, 3};
            assert_int_equal(n, 8);
            assert_memory_equal(out, want, 8);
        }
    }
    assert_int_equal(fx.objs[6].value_len, sizeof full);
    assert_memory_equal(fx.big_value, full, sizeof full);
    assert_int_equal(ami_dlms_assoc_stats_get(&a)->blocks_in, 3);
    /* Datablock without a transfer; wrong number after a first block. */
    assert_string_equal(xchg(&a, "C103C101000000020100"), "C503C11200000002");
    assert_string_equal(xchg(&a, "C102C100010000800000FF02000000000001020900"), "C502C100000001");
    assert_string_equal(xchg(&a, "C103C101000000030100"), "C503C11300000003");
    /* The first block must be number 1. */
    assert_string_equal(xchg(&a, "C102C100010000800000FF02000100000002020900"), "C503C11300000002");
    /* A complete transfer of an empty octet-string in one block. */
    assert_string_equal(xchg(&a, "C102C100010000800000FF02000100000001020900"), "C503C10000000001");
    assert_int_equal(fx.objs[6].value_len, 2);
    /* Larger than the block buffer: other-reason. */
    ami_dlms_assoc small;
    uint8_t tiny[64];
    ami_dlms_assoc_mem mem = {tiny, sizeof tiny, fx.scratch, sizeof fx.scratch, NULL, 0};
    assert_int_equal(ami_dlms_assoc_init(&small, &fx.srv, 102, &mem), AMI_OK);
    memset(&q, 0, sizeof q);
    q.tag = AMI_APDU_SET_REQUEST;
    q.u.set_request.iip = 0xC1;
    q.u.set_request.type = AMI_SET_WITH_FIRST_DATABLOCK;
    q.u.set_request.attr.attr = (ami_cosem_desc){1, AMI_OBIS(0, 0, 128, 0, 0, 255), 2};
    q.u.set_request.block.block_number = 1;
    q.u.set_request.block.raw = ami_view_of(full, 100);
    ami_wr_init(&w, req, sizeof req);
    assert_int_equal(ami_apdu_encode(&w, &q), AMI_OK);
    assert_int_equal(ami_dlms_assoc_handle(&small, req, w.len, out, sizeof out), 8);
    assert_int_equal(out[3], AMI_DAR_OTHER_REASON);
    /* with-list-and-first-datablock: two values in two blocks. */
    assert_string_equal(xchg(&a, "C105C102"
                                 "00010000600100FF0200"
                                 "00010000800000FF0200"
                                 "00"
                                 "00000001"
                                 "04"
                                 "020A0141"),
                        "C502C100000001");
    assert_string_equal(xchg(&a, "C103C10100000002"
                                 "03"
                                 "090141"),
                        "C504C102000000000002");
    assert_string_equal(xchg(&a, "C001C100010000800000FF0200"), "C401C100090141");
}

static void test_action(void **state)
{
    (void)state;
    fx_setup(CONF_ALL);
    ami_dlms_assoc a;
    associate(&a, 16, NULL, 512);
    /* Public: no method access. */
    assert_string_equal(xchg(&a, "C301C100030100010800FF01010F00"), "C701C10300");
    associate(&a, 18, "secret12", 1024);
    /* Register method 1 with parameters: returned by the fixture. */
    assert_string_equal(xchg(&a, "C301C100030100010800FF01010F00"), "C701C10001000F00");
    assert_string_equal(xchg(&a, "C301C100030100010800FF0100"), "C701C10000");
    /* Unknown object, unknown method, no access, parameters that are not one Data. */
    assert_string_equal(xchg(&a, "C301C100030100090800FF0100"), "C701C10400");
    assert_string_equal(xchg(&a, "C301C100030100010800FF0200"), "C701C10400");
    assert_string_equal(xchg(&a, "C301C100080000010000FF0100"), "C701C10300");
    /* with-list */
    assert_string_equal(xchg(&a, "C303C102"
                                 "00030100010800FF01"
                                 "00030100090800FF01"
                                 "02"
                                 "1105"
                                 "00"),
                        "C703C102"
                        "000100"
                        "1105"
                        "0400");
    /* Parameter blocks (Green Book 9.3.9): "11 07" split over two pblocks. */
    assert_string_equal(xchg(&a, "C304C100030100010800FF01"
                                 "00"
                                 "00000001"
                                 "01"
                                 "11"),
                        "C704C100000001");
    assert_string_equal(xchg(&a, "C306C101000000020107"), "C701C10001001107");
    assert_string_equal(xchg(&a, "C306C101000000030107"), "C701C11000");
    assert_string_equal(xchg(&a, "C302C100000001"), "C701C11000");
}

/* ---------------------------------------------------------------- malformed */

static void test_malformed_survives(void **state)
{
    (void)state;
    fx_setup(CONF_ALL);
    ami_dlms_assoc a;
    associate(&a, 16, NULL, 512);
    /* Truncated GET, unknown GET choice, trailing bytes, bad Data in SET: exception. */
    assert_string_equal(xchg(&a, "C001"), "D80101");
    assert_string_equal(xchg(&a, "C009C100010000600100FF0200"), "D80101");
    assert_string_equal(xchg(&a, "C001C100010000600100FF020000"), "D80101");
    assert_string_equal(xchg(&a, "C101C100010000600100FF020009FF"), "D80101");
    /* Unknown tag; AARE sent to a server; a ciphered APDU; SN read; unconfirmed write. */
    assert_string_equal(xchg(&a, "FF0102"), "D80202");
    assert_string_equal(xchg(&a, "6100"), "D80102");
    assert_string_equal(xchg(&a, "C8101000000001AABB"), "D80102");
    assert_string_equal(xchg(&a, "0501020100"), "0E05"
                                                "0302");
    assert_string_equal(xchg(&a, "1601020100"
                                 "0100"),
                        "");
    /* A broken RLRQ is dropped; an empty APDU too. */
    assert_string_equal(xchg(&a, "6205800100"), "");
    assert_int_equal(ami_dlms_assoc_handle(&a, NULL, 0, (uint8_t[8]){0}, 8), 0);
    /* Longer than the server's max receive PDU (512). */
    uint8_t big[600] = {0xC0, 0x01, 0xC1};
    assert_string_equal(xchg_bytes(&a, big, sizeof big), "D80104");
    /* With-list longer than the scratch arena allows: exception, no allocation. */
    ami_dlms_assoc b;
    ami_dlms_assoc_mem mem = {fx.block, sizeof fx.block, NULL, 0, NULL, 0};
    assert_int_equal(ami_dlms_assoc_init(&b, &fx.srv, 102, &mem), AMI_OK);
    assert_string_equal(xchg(&b, "C003C101000100002A0000FF0200"), "D80104");
    /* The association survives. */
    assert_int_equal(ami_dlms_assoc_state(&a), AMI_DLMS_ASSOC_ASSOCIATED);
    assert_string_equal(xchg(&a, "C001C100010000600100FF0100"), "C401C10009060000600100FF");
    const ami_dlms_assoc_stats *st = ami_dlms_assoc_stats_get(&a);
    assert_int_equal(st->malformed, 6);
    assert_true(st->rejected >= 8);
    /* Output buffer too small for the answer: AMI_E_NOSPACE, association kept. */
    uint8_t tiny[4];
    static const uint8_t get_id[] = {0xC0, 0x01, 0xC1, 0x00, 0x01, 0, 0, 96, 1, 0, 255, 2, 0};
    assert_int_equal(ami_dlms_assoc_handle(&a, get_id, sizeof get_id, tiny, sizeof tiny),
                     AMI_E_NOSPACE);
    assert_int_equal(ami_dlms_assoc_handle(NULL, get_id, sizeof get_id, tiny, sizeof tiny),
                     AMI_E_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aare_gurux_byte_exact),
        cmocka_unit_test(test_aare_reject_matrix),
        cmocka_unit_test(test_sn_policy),
        cmocka_unit_test(test_server_config),
        cmocka_unit_test(test_pre_established_and_release),
        cmocka_unit_test(test_get),
        cmocka_unit_test(test_get_blocks),
        cmocka_unit_test(test_set),
        cmocka_unit_test(test_set_blocks),
        cmocka_unit_test(test_action),
        cmocka_unit_test(test_malformed_survives),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
