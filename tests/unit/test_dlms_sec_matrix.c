/*
 * The loopback matrix: our client (ami/dlms_client.h + ami/dlms_client_sec.h) against our server
 * (ami/dlms_server.h) in process, over every authentication mechanism (0 none, 1 LLS, 2..7 HLS)
 * x security suite (0, 1, 2) x security level (none, auth, enc, auth-enc), with a GET, a SET and
 * an ACTION each (the SET and the ACTION are refused to the public mechanism 0, as a meter does,
 * and the refusal travels ciphered all the same). Then the forms (general-glo-ciphering, a
 * dedicated key) and a long GET in blocks under ciphering.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "ami/ami.h"

static const uint8_t CST[8] = {'O', 'A', 'M', 0, 0, 0, 0, 1};
static const uint8_t SST[8] = {'O', 'A', 'M', 0, 0, 0, 0, 2};
static const char SECRET[] = "0123456789ABCDEF"; /* HLS secret (mech 2: an AES-128 key) */
static const char PASSWORD[] = "12345678";       /* LLS */

/* ---------------------------------------------------------------- server fixture */

typedef struct srv {
    uint8_t ek[32], ak[32], kek[32];
    size_t kl;
    uint32_t ic;
    ami_cosem_obj objs[4];
    ami_cosem_store store;
    uint8_t value[8];
    uint8_t big[3000]; /* an octet-string longer than the PDU: GET in blocks */
    ami_dlms_sec_policy sp;
    ami_dlms_policy pol[2];
    ami_replay_entry slots[4];
    ami_replay replay;
    ami_dlms_server_sec sec;
    ami_dlms_server s;
    ami_dlms_assoc a;
    uint8_t block[8192], scratch[2048], cipher[8192];
    unsigned methods;
} srv;

static srv S;
static EVP_PKEY *p256_c, *p256_s, *p384_c, *p384_s;

static int64_t now(void *u)
{
    (void)u;
    return 1795327200;
}

static int kp_get(void *u, uint16_t sap, ami_dlms_keys *k)
{
    srv *s = u;
    (void)sap;
    k->guek = s->ek;
    k->guek_len = s->kl;
    k->ak = s->ak;
    k->ak_len = s->kl;
    k->kek = s->kek;
    k->kek_len = s->kl;
    k->hls_secret = (const uint8_t *)SECRET;
    k->hls_secret_len = 16;
    return AMI_OK;
}

static int kp_next_ic(void *u, uint16_t sap, uint32_t *ic)
{
    srv *s = u;
    (void)sap;
    *ic = s->ic++;
    return AMI_OK;
}

static uint8_t reg_method(void *user, ami_cosem_obj *obj, uint8_t id, ami_view params, ami_wr *out)
{
    (void)obj;
    srv *s = user;
    if (id != 1 || params.len != 2 || params.p[0] != AMI_AXDR_INTEGER)
        return AMI_DAR_TYPE_UNMATCHED;
    s->methods++;
    ami_wr_u8(out, AMI_AXDR_UNSIGNED);
    ami_wr_u8(out, 0x5A);
    return AMI_ACTION_SUCCESS;
}

static const uint8_t rw2[2] = {AMI_ACCESS_READ, AMI_ACCESS_READ_WRITE};
static const uint8_t reg_access[3] = {AMI_ACCESS_READ, AMI_ACCESS_READ_WRITE, AMI_ACCESS_READ};
static const uint8_t reg_methods[1] = {AMI_METHOD_ACCESS};

static uint8_t level_policy(int level)
{
    switch (level) {
    case AMI_DLMS_SEC_AUTH:
        return AMI_DLMS_SECPOL_AUTH_REQUEST | AMI_DLMS_SECPOL_AUTH_RESPONSE;
    case AMI_DLMS_SEC_ENC:
        return AMI_DLMS_SECPOL_ENC_REQUEST | AMI_DLMS_SECPOL_ENC_RESPONSE;
    case AMI_DLMS_SEC_AUTH_ENC:
        return AMI_DLMS_SECPOL_AUTH_ENC;
    default:
        return 0;
    }
}

static void server_setup(int mech, int suite, int level)
{
    if (S.a.srv)
        ami_dlms_assoc_reset(&S.a); /* frees the association's cipher contexts */
    ami_wipe(&S, sizeof S);
    S.kl = suite == 2 ? 32 : 16;
    for (size_t i = 0; i < S.kl; i++) {
        S.ek[i] = (uint8_t)(0x10 + i);
        S.ak[i] = (uint8_t)(0xD0 + i);
        S.kek[i] = (uint8_t)(0x31);
    }
    S.ic = 1000;
    S.value[0] = AMI_AXDR_DOUBLE_LONG_UNSIGNED;
    S.value[4] = 42;
    S.big[0] = AMI_AXDR_OCTET_STRING;
    S.big[1] = 0x82;
    S.big[2] = (uint8_t)((sizeof S.big - 4) >> 8);
    S.big[3] = (uint8_t)(sizeof S.big - 4);
    for (size_t i = 4; i < sizeof S.big; i++)
        S.big[i] = (uint8_t)i;
    S.objs[0] =
        (ami_cosem_obj){.class_id = AMI_COSEM_ASSOCIATION_LN, .ln = AMI_OBIS(0, 0, 40, 0, 0, 255)};
    S.objs[1] = (ami_cosem_obj){.class_id = AMI_COSEM_DATA,
                                .ln = AMI_OBIS(0, 0, 96, 1, 9, 255),
                                .attr_access = rw2,
                                .value = S.value,
                                .value_cap = sizeof S.value,
                                .value_len = 5};
    S.objs[2] = (ami_cosem_obj){.class_id = AMI_COSEM_REGISTER,
                                .ln = AMI_OBIS(1, 0, 1, 8, 0, 255),
                                .attr_access = reg_access,
                                .method_access = reg_methods,
                                .method = reg_method,
                                .user = &S,
                                .value = S.value,
                                .value_cap = sizeof S.value,
                                .value_len = 5};
    S.objs[3] = (ami_cosem_obj){.class_id = AMI_COSEM_DATA,
                                .ln = AMI_OBIS(0, 0, 96, 1, 10, 255),
                                .value = S.big,
                                .value_cap = sizeof S.big,
                                .value_len = sizeof S.big};
    ami_cosem_clock_src clk = {now, NULL, NULL};
    assert_int_equal(ami_cosem_store_init(&S.store, S.objs, 4, &clk), AMI_OK);
    S.sp = (ami_dlms_sec_policy){.suite = (uint8_t)suite,
                                 .security_policy = level_policy(level),
                                 .challenge_len = 16,
                                 .server_sign_key = suite == 2 ? p384_s : p256_s,
                                 .client_verify_key = suite == 2 ? p384_c : p256_c};
    S.pol[0] = (ami_dlms_policy){.client_sap = 1,
                                 .context = AMI_ACSE_CONTEXT_LN,
                                 .mechanism = (uint8_t)mech,
                                 .password = (const uint8_t *)PASSWORD,
                                 .password_len = mech == AMI_ACSE_MECH_LOW ? 8 : 0,
                                 .conformance = 0x00FFFFFF,
                                 .max_pdu = 1024,
                                 .sec = &S.sp};
    assert_int_equal(ami_replay_init(&S.replay, S.slots, 4, NULL), AMI_OK);
    S.sec = (ami_dlms_server_sec){
        .system_title = SST, .keys = {kp_get, NULL, kp_next_ic, &S}, .replay = &S.replay};
    ami_dlms_server_config cfg = {.ops = &ami_cosem_store_ops,
                                  .store = &S.store,
                                  .policies = S.pol,
                                  .policy_count = 1,
                                  .server_sap = 1,
                                  .sec = &S.sec};
    assert_int_equal(ami_dlms_server_init(&S.s, &cfg), AMI_OK);
    ami_dlms_assoc_mem mem = {S.block,          sizeof S.block, S.scratch,
                              sizeof S.scratch, S.cipher,       sizeof S.cipher};
    assert_int_equal(ami_dlms_assoc_init(&S.a, &S.s, 1, &mem), AMI_OK);
}

/* ---------------------------------------------------------------- client */

typedef struct cli {
    ami_dlms_client c;
    ami_dlms_client_sec sec;
    uint8_t data[8192], arena_buf[8192], buf[8192];
    ami_arena arena;
    ami_dlms_item items[8];
} cli;

static cli C;
static uint8_t key_info; /* form GC: AMI_DLMS_SEC_KI_* */
static bool signing;     /* general-signing of every request */

static int client_setup(int mech, int suite, int level, uint8_t form, bool dedicated)
{
    ami_dlms_sec_config sc;
    memset(&sc, 0, sizeof sc);
    sc.level = (uint8_t)level;
    sc.suite = (uint8_t)suite;
    sc.form = form;
    sc.client_title = CST;
    sc.ek = S.ek;
    sc.ek_len = S.kl;
    sc.ak = S.ak;
    sc.ak_len = S.kl;
    sc.random_dedicated_key = dedicated;
    sc.key_info = key_info;
    sc.general_signing = signing;
    sc.kek = S.kek;
    sc.kek_len = S.kl;
    sc.hls_secret = (const uint8_t *)SECRET;
    sc.hls_secret_len = 16;
    sc.sign_key = suite == 2 ? p384_c : p256_c;
    sc.server_key = suite == 2 ? p384_s : p256_s;
    sc.ic = 1;
    sc.buf = C.buf;
    sc.cap = sizeof C.buf;
    int rc = ami_dlms_client_sec_init(&C.sec, &sc);
    if (rc)
        return rc;
    ami_dlms_client_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.mechanism = (uint8_t)mech;
    if (mech == AMI_ACSE_MECH_LOW)
        cfg.auth_value = ami_view_of(PASSWORD, 8);
    cfg.max_pdu = 1024;
    cfg.data_buf = C.data;
    cfg.data_cap = sizeof C.data;
    ami_arena_init(&C.arena, C.arena_buf, sizeof C.arena_buf);
    cfg.arena = &C.arena;
    cfg.items = C.items;
    cfg.max_items = 8;
    cfg.sec = &C.sec;
    return ami_dlms_client_init(&C.c, &cfg);
}

/* Runs one exchange to completion: the request in w, answers through the server. */
static int run(ami_wr *w, ami_dlms_result *res, unsigned *apdus)
{
    static uint8_t resp[8192], next[8192];
    for (;;) {
        int n = ami_dlms_assoc_handle(&S.a, w->p, w->len, resp, sizeof resp);
        assert_true(n > 0);
        if (apdus)
            (*apdus)++;
        ami_wr_init(w, next, sizeof next);
        int rc = ami_dlms_client_input(&C.c, resp, (size_t)n, w, res);
        if (rc != AMI_E_AGAIN)
            return rc;
        assert_true(w->len > 0);
    }
}

static const char *const mech_label[] = {"none",     "low",      "hls-aes",    "hls-md5",
                                         "hls-sha1", "hls-gmac", "hls-sha256", "hls-ecdsa"};

/* One cell of the matrix: associate, GET, SET, ACTION, release. */
static void cell(int mech, int suite, int level, uint8_t form, bool dedicated)
{
    char what[96];
    snprintf(what, sizeof what, "mech %s suite %d level %s form %u ded %d", mech_label[mech], suite,
             ami_dlms_sec_level_name(level), form, dedicated);
    server_setup(mech, suite, level);
    if (client_setup(mech, suite, level, form, dedicated) != AMI_OK)
        fail_msg("%s: client setup", what);
    static uint8_t b[8192];
    ami_wr w;
    ami_dlms_result res;
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_associate(&C.c, &w), AMI_OK);
    /* what goes on the wire: ciphered AARQ user-information exactly when the level ciphers */
    ami_aarq q;
    assert_int_equal(ami_aarq_decode(b, w.len, &q), AMI_OK);
    assert_int_equal(q.c.user_information.p[0] == AMI_APDU_GLO_INITIATE_REQUEST,
                     level != AMI_DLMS_SEC_NONE);
    int rc = run(&w, &res, NULL);
    if (rc != AMI_OK || res.outcome != AMI_DLMS_SUCCESS) {
        char d[160] = "", e[160] = "";
        ami_dlms_result_describe(&res, d, sizeof d);
        ami_dlms_client_sec_describe(&C.sec, e, sizeof e);
        fail_msg("%s: association: %s / %s / %s", what, ami_strerror(rc), d, e);
    }
    assert_int_equal(ami_dlms_client_state_get(&C.c), AMI_DLMS_CLIENT_READY);
    uint32_t ic0 = ami_dlms_client_sec_ic(&C.sec);

    /* GET */
    ami_attr_sel get = {{1, AMI_OBIS(0, 0, 96, 1, 9, 255), 2}, {false, 0, {NULL, 0}}};
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_get(&C.c, &get, 1, &w), AMI_OK);
    if (signing)
        assert_int_equal(b[0], 0xDF);
    else if (level != AMI_DLMS_SEC_NONE && form == AMI_DLMS_SEC_FORM_GC)
        assert_int_equal(b[0], 0xDD);
    else if (level != AMI_DLMS_SEC_NONE)
        assert_int_equal(b[0], form ? (dedicated ? 0xDC : 0xDB) : (dedicated ? 0xD0 : 0xC8));
    else
        assert_int_equal(b[0], AMI_APDU_GET_REQUEST);
    rc = run(&w, &res, NULL);
    if (rc != AMI_OK || res.outcome != AMI_DLMS_SUCCESS)
        fail_msg("%s: GET: %s outcome %d", what, ami_strerror(rc), res.outcome);
    assert_true(res.has_data);
    assert_int_equal(res.data.len, 5);
    assert_int_equal(res.data.p[4], 42);
    /* the response came ciphered under the server's counter (it starts at 1000) */
    if (level != AMI_DLMS_SEC_NONE || mech == AMI_ACSE_MECH_GMAC)
        assert_true(ami_dlms_client_sec_server_ic(&C.sec) >= 1000);
    else
        assert_int_equal(ami_dlms_client_sec_server_ic(&C.sec), 0);

    /* SET */
    static const uint8_t v77[] = {AMI_AXDR_DOUBLE_LONG_UNSIGNED, 0, 0, 0, 77};
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_set(&C.c, &get, ami_view_of(v77, 5), &w), AMI_OK);
    rc = run(&w, &res, NULL);
    assert_int_equal(rc, AMI_OK);
    if (mech == AMI_ACSE_MECH_NONE) {
        assert_int_equal(res.outcome, AMI_DLMS_DATA_ACCESS_RESULT); /* public: read only */
    } else {
        if (res.outcome != AMI_DLMS_SUCCESS)
            fail_msg("%s: SET outcome %d dar %d", what, res.outcome, res.dar);
        assert_int_equal(S.value[4], 77);
    }

    /* ACTION: Register reset with an integer parameter, return data unsigned 0x5A */
    ami_cosem_desc m = {3, AMI_OBIS(1, 0, 1, 8, 0, 255), 1};
    static const uint8_t zero[] = {AMI_AXDR_INTEGER, 0};
    ami_view pv = ami_view_of(zero, 2);
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_action(&C.c, &m, &pv, &w), AMI_OK);
    rc = run(&w, &res, NULL);
    assert_int_equal(rc, AMI_OK);
    if (mech == AMI_ACSE_MECH_NONE) {
        assert_int_not_equal(res.outcome, AMI_DLMS_SUCCESS);
        assert_int_equal(S.methods, 0);
    } else {
        if (res.outcome != AMI_DLMS_SUCCESS)
            fail_msg("%s: ACTION outcome %d dar %d", what, res.outcome, res.dar);
        assert_int_equal(S.methods, 1);
        assert_true(res.has_data);
        assert_int_equal(res.data.p[1], 0x5A);
    }
    /* three ciphered requests, one counter each */
    if (level != AMI_DLMS_SEC_NONE && !(signing && form != AMI_DLMS_SEC_FORM_GC))
        assert_int_equal(ami_dlms_client_sec_ic(&C.sec), ic0 + 3);
    assert_int_equal(ami_dlms_client_sec_refusal(&C.sec), AMI_DLMS_SEC_REFUSAL_NONE);

    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_release(&C.c, &w), AMI_OK);
    int n = ami_dlms_assoc_handle(&S.a, b, w.len, b + 4096, 4096);
    assert_true(n > 0);
    ami_wr_init(&w, b, 4096);
    (void)ami_dlms_client_input(&C.c, b + 4096, (size_t)n, &w, &res);
    assert_int_equal(ami_dlms_client_state_get(&C.c), AMI_DLMS_CLIENT_IDLE);
    ami_dlms_client_sec_wipe(&C.sec);
}

static int keys_setup(void **state)
{
    (void)state;
    p256_c = EVP_EC_gen("P-256");
    p256_s = EVP_EC_gen("P-256");
    p384_c = EVP_EC_gen("P-384");
    p384_s = EVP_EC_gen("P-384");
    return p256_c && p256_s && p384_c && p384_s ? 0 : -1;
}

static int keys_teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(p256_c);
    EVP_PKEY_free(p256_s);
    EVP_PKEY_free(p384_c);
    EVP_PKEY_free(p384_s);
    return 0;
}

static void test_matrix(void **state)
{
    (void)state;
    unsigned cells = 0;
    for (int mech = 0; mech <= AMI_ACSE_MECH_ECDSA; mech++)
        for (int suite = 0; suite <= 2; suite++)
            for (int level = AMI_DLMS_SEC_NONE; level <= AMI_DLMS_SEC_AUTH_ENC; level++) {
                cell(mech, suite, level, AMI_DLMS_SEC_FORM_SERVICE, false);
                cells++;
            }
    assert_int_equal(cells, 8 * 3 * 4);
}

static void test_forms(void **state)
{
    (void)state;
    for (int suite = 0; suite <= 2; suite++) {
        cell(AMI_ACSE_MECH_GMAC, suite, AMI_DLMS_SEC_AUTH_ENC, AMI_DLMS_SEC_FORM_GENERAL, false);
        cell(AMI_ACSE_MECH_GMAC, suite, AMI_DLMS_SEC_AUTH_ENC, AMI_DLMS_SEC_FORM_SERVICE, true);
        cell(AMI_ACSE_MECH_LOW, suite, AMI_DLMS_SEC_ENC, AMI_DLMS_SEC_FORM_GENERAL, true);
    }
}

/* general-ciphering (0xDD): identified-key and wrapped-key, every suite and ciphering level;
 * agreed-key (one-pass ECDH with signed ephemeral keys) in suites 1 and 2. */
static void test_general_ciphering(void **state)
{
    (void)state;
    for (uint8_t ki = AMI_DLMS_SEC_KI_IDENTIFIED; ki <= AMI_DLMS_SEC_KI_AGREED; ki++) {
        key_info = ki;
        for (int suite = ki == AMI_DLMS_SEC_KI_AGREED ? 1 : 0; suite <= 2; suite++) {
            cell(AMI_ACSE_MECH_GMAC, suite, AMI_DLMS_SEC_AUTH_ENC, AMI_DLMS_SEC_FORM_GC, false);
            cell(AMI_ACSE_MECH_GMAC, suite, AMI_DLMS_SEC_AUTH, AMI_DLMS_SEC_FORM_GC, false);
            cell(AMI_ACSE_MECH_LOW, suite, AMI_DLMS_SEC_ENC, AMI_DLMS_SEC_FORM_GC, false);
        }
    }
    key_info = 0;
}

/* An associated GMAC session (auth-enc; suite 0, or 1 for agreed-key) with general-ciphering
 * requests; b holds one GET request, its length returned. */
static size_t gc_session(uint8_t ki, uint8_t *b, size_t cap)
{
    key_info = ki;
    int suite = ki == AMI_DLMS_SEC_KI_AGREED ? 1 : 0;
    server_setup(AMI_ACSE_MECH_GMAC, suite, AMI_DLMS_SEC_AUTH_ENC);
    assert_int_equal(
        client_setup(AMI_ACSE_MECH_GMAC, suite, AMI_DLMS_SEC_AUTH_ENC, AMI_DLMS_SEC_FORM_GC, false),
        AMI_OK);
    key_info = 0;
    ami_wr w;
    ami_dlms_result res;
    ami_wr_init(&w, b, cap);
    assert_int_equal(ami_dlms_client_associate(&C.c, &w), AMI_OK);
    assert_int_equal(run(&w, &res, NULL), AMI_OK);
    assert_int_equal(res.outcome, AMI_DLMS_SUCCESS);
    ami_attr_sel get = {{1, AMI_OBIS(0, 0, 96, 1, 9, 255), 2}, {false, 0, {NULL, 0}}};
    ami_wr_init(&w, b, cap);
    assert_int_equal(ami_dlms_client_get(&C.c, &get, 1, &w), AMI_OK);
    assert_int_equal(b[0], 0xDD);
    return w.len;
}

/* Every byte of a general-ciphering request is protected; each refusal has its own counter. */
static void test_general_ciphering_refusals(void **state)
{
    (void)state;
    static uint8_t b[8192], copy[8192], resp[8192];
    for (uint8_t ki = 0; ki <= AMI_DLMS_SEC_KI_AGREED; ki++) {
        size_t n = gc_session(ki, b, sizeof b);
        ami_gc_apdu g;
        assert_int_equal(ami_gc_parse(b, n, &g, NULL), AMI_OK);
        size_t content_at = (size_t)(g.content - b);
        uint64_t in0 = S.a.stats.ciphered_in;
        /* a flipped bit anywhere: header (AAD), wrapped key, ciphertext, tag */
        for (size_t i = 1; i < n; i++) {
            memcpy(copy, b, n);
            copy[i] ^= 0x01;
            ami_dlms_assoc_stats before = S.a.stats;
            int r = ami_dlms_assoc_handle(&S.a, copy, n, resp, sizeof resp);
            assert_true(r > 0);
            assert_int_equal(resp[0], AMI_APDU_EXCEPTION_RESPONSE);
            uint64_t refusals = (S.a.stats.bad_tag - before.bad_tag) +
                                (S.a.stats.bad_signature - before.bad_signature) +
                                (S.a.stats.system_title - before.system_title) +
                                (S.a.stats.downgrades - before.downgrades) +
                                (S.a.stats.key_refused - before.key_refused) +
                                (S.a.stats.replays - before.replays) +
                                (S.a.stats.malformed - before.malformed);
            if (refusals == 0)
                fail_msg("key-info %u: byte %zu flipped: accepted", ki, i);
            if (i > content_at + 5)
                assert_int_equal(S.a.stats.bad_tag, before.bad_tag + 1); /* payload, tag */
        }
        assert_int_equal(S.a.stats.ciphered_in, in0); /* none of them was accepted */
        /* the genuine request is still accepted, once; its replay is refused */
        int r = ami_dlms_assoc_handle(&S.a, b, n, resp, sizeof resp);
        assert_true(r > 0);
        assert_int_equal(resp[0], 0xDD);
        uint64_t rp = S.a.stats.replays;
        r = ami_dlms_assoc_handle(&S.a, b, n, resp + 4096, 4096);
        assert_true(r > 0);
        assert_int_equal(resp[4096], AMI_APDU_EXCEPTION_RESPONSE);
        assert_int_equal(S.a.stats.replays, rp + 1);
        ami_dlms_client_sec_wipe(&C.sec);
    }
    /* a wrapped key under another KEK: key-refused */
    size_t n = gc_session(AMI_DLMS_SEC_KI_WRAPPED, b, sizeof b);
    S.kek[0] ^= 0xFF;
    uint64_t kr = S.a.stats.key_refused;
    int r = ami_dlms_assoc_handle(&S.a, b, n, resp, sizeof resp);
    assert_true(r > 0);
    assert_int_equal(resp[0], AMI_APDU_EXCEPTION_RESPONSE);
    assert_int_equal(S.a.stats.key_refused, kr + 1);
    ami_dlms_client_sec_wipe(&C.sec);

    /* agreed-key: an ephemeral key signed by another key than the policy's client key */
    n = gc_session(AMI_DLMS_SEC_KI_AGREED, b, sizeof b);
    S.sp.client_verify_key = p256_s; /* not the client's */
    uint64_t bs = S.a.stats.bad_signature;
    r = ami_dlms_assoc_handle(&S.a, b, n, resp, sizeof resp);
    assert_true(r > 0);
    assert_int_equal(resp[0], AMI_APDU_EXCEPTION_RESPONSE);
    assert_int_equal(S.a.stats.bad_signature, bs + 1);
    ami_dlms_client_sec_wipe(&C.sec);

    /* the client: a response to another transaction, a tampered response, a wrong unwrap, a
     * server ephemeral key signed by another key */
    for (int kind = 0; kind < 4; kind++) {
        n = gc_session(kind == 2   ? AMI_DLMS_SEC_KI_WRAPPED
                       : kind == 3 ? AMI_DLMS_SEC_KI_AGREED
                                   : AMI_DLMS_SEC_KI_IDENTIFIED,
                       b, sizeof b);
        r = ami_dlms_assoc_handle(&S.a, b, n, resp, sizeof resp);
        assert_true(r > 0);
        assert_int_equal(resp[0], 0xDD);
        assert_int_equal(ami_gc_parse(resp, (size_t)r, &(ami_gc_apdu){0}, NULL), AMI_OK);
        if (kind == 0)
            resp[2] ^= 0x01; /* transaction-id (08 then 8 bytes) */
        else if (kind == 1)
            resp[r - 1] ^= 0x01; /* GCM tag */
        else if (kind == 2)
            C.sec.kek[0] ^= 0xFF;
        else
            C.sec.cfg.server_key = p256_c; /* the server's signature checked with another key */
        ami_wr w;
        ami_dlms_result res;
        ami_wr_init(&w, copy, sizeof copy);
        int rc = ami_dlms_client_input(&C.c, resp, (size_t)r, &w, &res);
        static const int want_rc[] = {AMI_E_PROTOCOL, AMI_E_AUTH, AMI_E_KEY, AMI_E_AUTH};
        static const int want_why[] = {AMI_DLMS_SEC_REFUSAL_TRANSACTION, AMI_DLMS_SEC_REFUSAL_TAG,
                                       AMI_DLMS_SEC_REFUSAL_UNWRAP, AMI_DLMS_SEC_REFUSAL_SIGNATURE};
        assert_int_equal(rc, want_rc[kind]);
        assert_int_equal(ami_dlms_client_sec_refusal(&C.sec), want_why[kind]);
        ami_dlms_client_sec_wipe(&C.sec);
    }
}

/* general-signing (0xDF), suites 1 and 2: signed plain requests, signed general-ciphering
 * (identified-key and agreed-key) and signed service-specific ciphering. */
static void test_general_signing(void **state)
{
    (void)state;
    signing = true;
    for (int suite = 1; suite <= 2; suite++) {
        cell(AMI_ACSE_MECH_GMAC, suite, AMI_DLMS_SEC_NONE, AMI_DLMS_SEC_FORM_SERVICE, false);
        cell(AMI_ACSE_MECH_GMAC, suite, AMI_DLMS_SEC_AUTH_ENC, AMI_DLMS_SEC_FORM_SERVICE, false);
        for (uint8_t ki = AMI_DLMS_SEC_KI_IDENTIFIED; ki <= AMI_DLMS_SEC_KI_AGREED; ki++) {
            key_info = ki;
            cell(AMI_ACSE_MECH_GMAC, suite, AMI_DLMS_SEC_AUTH_ENC, AMI_DLMS_SEC_FORM_GC, false);
        }
        key_info = 0;
    }
    signing = false;
}

/* An associated GMAC session of suite 1 with signed requests (level: none or auth-enc in
 * general-ciphering); b holds one GET request, its length returned. */
static size_t gs_session(int level, uint8_t *b, size_t cap)
{
    signing = true;
    server_setup(AMI_ACSE_MECH_GMAC, 1, level);
    assert_int_equal(client_setup(AMI_ACSE_MECH_GMAC, 1, level,
                                  level ? AMI_DLMS_SEC_FORM_GC : AMI_DLMS_SEC_FORM_SERVICE, false),
                     AMI_OK);
    signing = false;
    ami_wr w;
    ami_dlms_result res;
    ami_wr_init(&w, b, cap);
    assert_int_equal(ami_dlms_client_associate(&C.c, &w), AMI_OK);
    assert_int_equal(run(&w, &res, NULL), AMI_OK);
    assert_int_equal(res.outcome, AMI_DLMS_SUCCESS);
    ami_attr_sel get = {{1, AMI_OBIS(0, 0, 96, 1, 9, 255), 2}, {false, 0, {NULL, 0}}};
    ami_wr_init(&w, b, cap);
    assert_int_equal(ami_dlms_client_get(&C.c, &get, 1, &w), AMI_OK);
    assert_int_equal(b[0], 0xDF);
    return w.len;
}

/* Tampered signature or content, another signer: refused with bad-signature (server) or
 * SIGNATURE (client); a response to another transaction: TRANSACTION. */
static void test_general_signing_refusals(void **state)
{
    (void)state;
    static uint8_t b[8192], copy[8192], resp[8192];
    for (int level = AMI_DLMS_SEC_NONE; level <= AMI_DLMS_SEC_AUTH_ENC; level += 3) {
        size_t n = gs_session(level, b, sizeof b);
        /* any flipped bit (header, content, signature) fails the signature check first */
        for (size_t i = 1; i < n; i++) {
            memcpy(copy, b, n);
            copy[i] ^= 0x01;
            ami_dlms_assoc_stats before = S.a.stats;
            int r = ami_dlms_assoc_handle(&S.a, copy, n, resp, sizeof resp);
            assert_true(r > 0);
            assert_int_equal(resp[0], AMI_APDU_EXCEPTION_RESPONSE);
            uint64_t refused = (S.a.stats.bad_signature - before.bad_signature) +
                               (S.a.stats.malformed - before.malformed);
            if (refused == 0)
                fail_msg("level %d: byte %zu flipped: not refused", level, i);
        }
        /* a request signed with another key */
        S.sp.client_verify_key = p256_s;
        uint64_t bs = S.a.stats.bad_signature;
        int r = ami_dlms_assoc_handle(&S.a, b, n, resp, sizeof resp);
        assert_true(r > 0);
        assert_int_equal(resp[0], AMI_APDU_EXCEPTION_RESPONSE);
        assert_int_equal(S.a.stats.bad_signature, bs + 1);
        S.sp.client_verify_key = p256_c;
        /* the genuine request is answered signed */
        r = ami_dlms_assoc_handle(&S.a, b, n, resp, sizeof resp);
        assert_true(r > 0);
        assert_int_equal(resp[0], 0xDF);
        ami_gs_apdu g;
        assert_int_equal(ami_gs_parse(resp, (size_t)r, &g, NULL), AMI_OK);
        assert_int_equal(g.content[0], level ? 0xDD : AMI_APDU_GET_RESPONSE);
        assert_int_equal(ami_gs_verify(resp, &g, 1, p256_s), AMI_OK);
        ami_dlms_client_sec_wipe(&C.sec);
        /* the client: tampered content, tampered signature, another signer, another txid */
        for (int kind = 0; kind < 4; kind++) {
            n = gs_session(level, b, sizeof b);
            r = ami_dlms_assoc_handle(&S.a, b, n, resp, sizeof resp);
            assert_true(r > 0);
            assert_int_equal(ami_gs_parse(resp, (size_t)r, &g, NULL), AMI_OK);
            memcpy(copy, resp, (size_t)r);
            EVP_PKEY *sk = C.sec.cfg.server_key;
            if (kind == 0)
                copy[g.content - resp + 1] ^= 0x01;
            else if (kind == 1)
                copy[r - 1] ^= 0x01;
            else if (kind == 2)
                C.sec.cfg.server_key = p256_c;
            else
                C.sec.txid[7] ^= 0x01;
            ami_wr w;
            ami_dlms_result res;
            static uint8_t nx[8192];
            ami_wr_init(&w, nx, sizeof nx);
            int rc = ami_dlms_client_input(&C.c, copy, (size_t)r, &w, &res);
            assert_int_equal(rc, kind == 3 ? AMI_E_PROTOCOL : AMI_E_AUTH);
            assert_int_equal(ami_dlms_client_sec_refusal(&C.sec),
                             kind == 3 ? AMI_DLMS_SEC_REFUSAL_TRANSACTION
                                       : AMI_DLMS_SEC_REFUSAL_SIGNATURE);
            C.sec.cfg.server_key = sk;
            ami_dlms_client_sec_wipe(&C.sec);
        }
    }
    /* an unsigned response to a signed request: a downgrade */
    size_t n = gs_session(AMI_DLMS_SEC_NONE, b, sizeof b);
    static const uint8_t plain[] = {AMI_APDU_GET_RESPONSE, 1, 0xC1, 0, 6, 0, 0, 0, 42};
    ami_wr w;
    ami_dlms_result res;
    ami_wr_init(&w, copy, sizeof copy);
    (void)n;
    assert_int_equal(ami_dlms_client_input(&C.c, plain, sizeof plain, &w, &res), AMI_E_ACCESS);
    assert_int_equal(ami_dlms_client_sec_refusal(&C.sec), AMI_DLMS_SEC_REFUSAL_DOWNGRADE);
    ami_dlms_client_sec_wipe(&C.sec);
}

/* A value longer than the negotiated PDU: GET with datablocks, every block ciphered. */
static void test_blocks(void **state)
{
    (void)state;
    server_setup(AMI_ACSE_MECH_GMAC, 0, AMI_DLMS_SEC_AUTH_ENC);
    assert_int_equal(client_setup(AMI_ACSE_MECH_GMAC, 0, AMI_DLMS_SEC_AUTH_ENC, 0, false), AMI_OK);
    static uint8_t b[8192];
    ami_wr w;
    ami_dlms_result res;
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_associate(&C.c, &w), AMI_OK);
    assert_int_equal(run(&w, &res, NULL), AMI_OK);
    assert_int_equal(res.outcome, AMI_DLMS_SUCCESS);
    ami_attr_sel get = {{1, AMI_OBIS(0, 0, 96, 1, 10, 255), 2}, {false, 0, {NULL, 0}}};
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_get(&C.c, &get, 1, &w), AMI_OK);
    unsigned apdus = 0;
    assert_int_equal(run(&w, &res, &apdus), AMI_OK);
    assert_int_equal(res.outcome, AMI_DLMS_SUCCESS);
    assert_true(apdus >= 3);
    assert_int_equal(res.data.len, sizeof S.big);
    assert_memory_equal(res.data.p, S.big, sizeof S.big);
    /* a SET of the same long value goes in ciphered datablocks */
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_set(&C.c, &get, ami_view_of(S.big, sizeof S.big), &w), AMI_OK);
    apdus = 0;
    assert_int_equal(run(&w, &res, &apdus), AMI_OK);
    assert_true(apdus >= 3);
    ami_dlms_client_sec_wipe(&C.sec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matrix),
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_general_ciphering),
        cmocka_unit_test(test_general_ciphering_refusals),
        cmocka_unit_test(test_general_signing),
        cmocka_unit_test(test_general_signing_refusals),
        cmocka_unit_test(test_blocks),
    };
    return cmocka_run_group_tests(tests, keys_setup, keys_teardown);
}
