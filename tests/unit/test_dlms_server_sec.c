/*
 * Unit tests of the server engine's security (ami/dlms_server.h with a security policy): the
 * recorded Gurux HLS-GMAC authenticated-encryption session replayed against our server, the
 * Green Book HLS-GMAC example, every HLS mechanism, every suite and security level, the
 * refusals (wrong key, flipped bits, replay, downgrade, wrong system title), Security Setup
 * (attributes, security_activate, key_transfer) and the invocation counter objects.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hdlc_testlib.h"
#include "testutil.h"
#include "ami/ami.h"

/* ---------------------------------------------------------------- fixture */

static const uint8_t EK[16] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                               0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F};
static const uint8_t AK[16] = {0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7,
                               0xD8, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF};
static const uint8_t CST[8] = {'G', 'u', 'r', 'u', 'x', '1', '2', '3'};
static const uint8_t SST[8] = {'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'};
#define SECRET "0123456789ABCDEF"

typedef struct fx {
    /* keys (the key provider's storage) */
    uint8_t guek[32], gbek[32], ak[32], kek[32];
    size_t guek_len, gbek_len, ak_len, kek_len;
    uint32_t ic;       /* next server invocation counter */
    bool gurux_ic;     /* Gurux's sequence: 0, then 2, 3, 4, ... */
    unsigned ic_calls; /* next_ic calls */
    unsigned updates;
    int events[8];
    uint8_t stoc[64]; /* the server challenge the test dictates */
    /* server */
    ami_cosem_obj objs[4];
    ami_cosem_store store;
    uint8_t secret_value[6];
    ami_dlms_sec_policy sp[4];
    ami_dlms_policy pol[4];
    ami_replay_entry slots[8];
    ami_replay replay;
    ami_dlms_server_sec sec;
    ami_dlms_server srv;
    ami_dlms_assoc a;
    uint8_t block[4096], scratch[2048], cipher[4096];
    uint8_t out[2048];
    /* client side */
    uint32_t cic; /* client invocation counter */
    uint8_t ctos[16];
    uint8_t dedicated[32];
} fx;

static fx F;

static int64_t fx_now(void *u)
{
    (void)u;
    return 1795327200;
}

static int kp_get(void *u, uint16_t sap, ami_dlms_keys *k)
{
    fx *f = u;
    (void)sap;
    k->guek = f->guek;
    k->guek_len = f->guek_len;
    k->gbek = f->gbek_len ? f->gbek : NULL;
    k->gbek_len = f->gbek_len;
    k->ak = f->ak;
    k->ak_len = f->ak_len;
    k->kek = f->kek;
    k->kek_len = f->kek_len;
    k->hls_secret = (const uint8_t *)SECRET;
    k->hls_secret_len = 16;
    return AMI_OK;
}

static int kp_update(void *u, uint16_t sap, uint8_t id, const uint8_t *key, size_t len)
{
    fx *f = u;
    (void)sap;
    uint8_t *dst = id == AMI_DLMS_KEY_GUEK   ? f->guek
                   : id == AMI_DLMS_KEY_GBEK ? f->gbek
                   : id == AMI_DLMS_KEY_AK   ? f->ak
                                             : f->kek;
    size_t *dl = id == AMI_DLMS_KEY_GUEK   ? &f->guek_len
                 : id == AMI_DLMS_KEY_GBEK ? &f->gbek_len
                 : id == AMI_DLMS_KEY_AK   ? &f->ak_len
                                           : &f->kek_len;
    memcpy(dst, key, len);
    *dl = len;
    f->updates++;
    return AMI_OK;
}

static int kp_next_ic(void *u, uint16_t sap, uint32_t *ic)
{
    fx *f = u;
    (void)sap;
    if (f->gurux_ic)
        *ic = f->ic_calls == 0 ? 0 : f->ic_calls + 1;
    else
        *ic = f->ic++;
    f->ic_calls++;
    return AMI_OK;
}

static void on_event(void *u, const ami_dlms_ctx *ctx, int ev)
{
    fx *f = u;
    (void)ctx;
    assert_true(ev > 0 && ev < 8);
    assert_string_not_equal(ami_dlms_sec_event_name(ev), "unknown");
    f->events[ev]++;
}

static int fixed_challenge(void *u, uint8_t *out, size_t len)
{
    fx *f = u;
    memcpy(out, f->stoc, len);
    return AMI_OK;
}

static const uint8_t auth_read[2] = {AMI_ACCESS_READ, AMI_ACCESS_AUTH_READ};

/*
 * Server with: SAP 16 public; SAP 1 `mech` + sec policy `policy` with suite `suite`; SAP 2
 * no authentication, ciphering accepted (policy 0); SAP 3 HLS-GMAC whose client title is fixed.
 */
static void setup_server(uint8_t mech, uint8_t suite, uint8_t policy, EVP_PKEY *skey,
                         EVP_PKEY *ckey)
{
    if (F.a.srv)
        ami_dlms_assoc_reset(&F.a); /* frees the association's cipher contexts */
    ami_wipe(&F, sizeof F);
    size_t kl = suite == 2 ? 32 : 16;
    for (size_t i = 0; i < kl; i++) {
        F.guek[i] = (uint8_t)(i < 16 ? EK[i] : 0x40 + i);
        F.gbek[i] = (uint8_t)(0x80 + i);
        F.ak[i] = (uint8_t)(i < 16 ? AK[i] : 0x60 + i);
        F.kek[i] = 0x31;
    }
    F.guek_len = F.ak_len = F.kek_len = kl;
    F.gbek_len = kl;
    F.ic = 100;
    for (int i = 0; i < 16; i++) {
        F.stoc[i] = (uint8_t)(0xA0 + i);
        F.ctos[i] = (uint8_t)(0x10 + i);
    }
    F.secret_value[0] = AMI_AXDR_DOUBLE_LONG_UNSIGNED;
    F.secret_value[4] = 42;
    F.objs[0] =
        (ami_cosem_obj){.class_id = AMI_COSEM_ASSOCIATION_LN, .ln = AMI_OBIS(0, 0, 40, 0, 0, 255)};
    F.objs[1] = (ami_cosem_obj){.class_id = AMI_COSEM_CLOCK, .ln = AMI_OBIS(0, 0, 1, 0, 0, 255)};
    F.objs[2] = (ami_cosem_obj){.class_id = AMI_COSEM_DATA,
                                .ln = AMI_OBIS(0, 0, 96, 1, 9, 255),
                                .attr_access = auth_read,
                                .value = F.secret_value,
                                .value_cap = sizeof F.secret_value,
                                .value_len = 5};
    ami_cosem_clock_src clk = {fx_now, NULL, NULL};
    assert_int_equal(ami_cosem_store_init(&F.store, F.objs, 3, &clk), AMI_OK);
    F.sp[0] = (ami_dlms_sec_policy){.suite = suite,
                                    .security_policy = policy,
                                    .challenge_len = 16,
                                    .server_sign_key = skey,
                                    .client_verify_key = ckey};
    F.sp[1] = (ami_dlms_sec_policy){.suite = suite, .security_policy = 0};
    F.sp[2] = (ami_dlms_sec_policy){
        .suite = suite, .security_policy = AMI_DLMS_SECPOL_AUTH_ENC, .client_system_title = CST};
    uint32_t conf = 0x00FFFFFF;
    F.pol[0] = (ami_dlms_policy){
        .client_sap = 16, .context = AMI_ACSE_CONTEXT_LN, .conformance = conf, .max_pdu = 512};
    F.pol[1] = (ami_dlms_policy){.client_sap = 1,
                                 .context = AMI_ACSE_CONTEXT_LN,
                                 .mechanism = mech,
                                 .conformance = conf,
                                 .max_pdu = 512,
                                 .sec = &F.sp[0]};
    F.pol[2] = (ami_dlms_policy){.client_sap = 2,
                                 .context = AMI_ACSE_CONTEXT_LN,
                                 .conformance = conf,
                                 .max_pdu = 512,
                                 .sec = &F.sp[1]};
    F.pol[3] = (ami_dlms_policy){.client_sap = 3,
                                 .context = AMI_ACSE_CONTEXT_LN,
                                 .mechanism = AMI_ACSE_MECH_GMAC,
                                 .conformance = conf,
                                 .max_pdu = 512,
                                 .sec = &F.sp[2]};
    assert_int_equal(ami_replay_init(&F.replay, F.slots, 8, NULL), AMI_OK);
    F.sec = (ami_dlms_server_sec){.system_title = SST,
                                  .keys = {kp_get, kp_update, kp_next_ic, &F},
                                  .replay = &F.replay,
                                  .on_event = on_event,
                                  .event_user = &F,
                                  .challenge = fixed_challenge,
                                  .challenge_user = &F};
    ami_dlms_server_config cfg = {.ops = &ami_cosem_store_ops,
                                  .store = &F.store,
                                  .policies = F.pol,
                                  .policy_count = 4,
                                  .server_sap = 1,
                                  .sec = &F.sec};
    assert_int_equal(ami_dlms_server_init(&F.srv, &cfg), AMI_OK);
    F.cic = 1;
}

static void open_assoc(uint16_t sap)
{
    ami_dlms_assoc_mem mem = {F.block,          sizeof F.block, F.scratch,
                              sizeof F.scratch, F.cipher,       sizeof F.cipher};
    if (F.a.srv)
        ami_dlms_assoc_reset(&F.a);
    assert_int_equal(ami_dlms_assoc_init(&F.a, &F.srv, sap, &mem), AMI_OK);
}

static int handle(const uint8_t *req, size_t len)
{
    return ami_dlms_assoc_handle(&F.a, req, len, F.out, sizeof F.out);
}

/* ---------------------------------------------------------------- client-side helpers */

static size_t key_len(void)
{
    return F.sp[0].suite == 2 ? 32 : 16;
}

/* Ciphers plain[0..n) as the client would, into buf; returns the length. */
static size_t client_cipher(uint8_t tag, uint8_t sc, const uint8_t *ek, const uint8_t *plain,
                            size_t n, uint8_t *buf, size_t cap)
{
    ami_sec_ctx c;
    assert_int_equal(ami_sec_ctx_init(&c), AMI_OK);
    assert_int_equal(ami_sec_ctx_set_ek(&c, ek, key_len()), AMI_OK);
    assert_int_equal(ami_sec_ctx_set_ak(&c, F.ak, F.ak_len), AMI_OK);
    ami_wr w;
    ami_wr_init(&w, buf, cap);
    assert_int_equal(ami_sec_apdu_build(&c, &w, tag, CST, sc, F.cic++, plain, n), AMI_OK);
    ami_sec_ctx_wipe(&c);
    return w.len;
}

/* Deciphers a server response with key ek; returns the plaintext length (or a negative
 * error), *sc the security control byte. */
static int client_decipher(const uint8_t *ek, const uint8_t *apdu, size_t n, uint8_t *plain,
                           size_t cap, uint8_t *sc)
{
    ami_sec_apdu p;
    size_t used;
    int rc = ami_sec_apdu_parse(apdu, n, &p, &used);
    if (rc != AMI_OK)
        return rc;
    assert_int_equal(used, n);
    if (p.system_title)
        assert_memory_equal(p.system_title, F.sec.system_title, 8);
    if (sc)
        *sc = p.sc;
    ami_sec_ctx c;
    assert_int_equal(ami_sec_ctx_init(&c), AMI_OK);
    assert_int_equal(ami_sec_ctx_set_ek(&c, ek, key_len()), AMI_OK);
    assert_int_equal(ami_sec_ctx_set_ak(&c, F.ak, F.ak_len), AMI_OK);
    c.accept |= AMI_SEC_ACCEPT_ENC; /* the test judges the level itself */
    size_t out_len = 0;
    rc = ami_sec_apdu_decrypt(&c, &p, F.sec.system_title, plain, cap, &out_len);
    ami_sec_ctx_wipe(&c);
    return rc == AMI_OK ? (int)out_len : rc;
}

/* An AARQ: context, mechanism (with CtoS or password), user-information ui. */
static size_t make_aarq(uint8_t context, uint8_t mech, const uint8_t *auth, size_t auth_len,
                        const uint8_t *st, const uint8_t *ui, size_t ui_len, uint8_t *buf,
                        size_t cap)
{
    ami_apdu q;
    memset(&q, 0, sizeof q);
    q.tag = AMI_ACSE_AARQ;
    q.u.aarq.c.context = context;
    if (st)
        q.u.aarq.c.ap_title = ami_view_of(st, 8);
    if (mech) {
        q.u.aarq.c.has_acse_requirements = true;
        q.u.aarq.c.authentication = true;
        q.u.aarq.c.has_mechanism = true;
        q.u.aarq.c.mechanism = mech;
        q.u.aarq.c.has_auth_value = true;
        q.u.aarq.c.auth_kind = AMI_ACSE_AUTH_CHARSTRING;
        q.u.aarq.c.auth_value = ami_view_of(auth, auth_len);
    }
    q.u.aarq.c.has_user_information = true;
    q.u.aarq.c.user_information = ami_view_of(ui, ui_len);
    ami_wr w;
    ami_wr_init(&w, buf, cap);
    assert_int_equal(ami_apdu_encode(&w, &q), AMI_OK);
    return w.len;
}

/* InitiateRequest (optionally with a dedicated key), conformance 0x00401E1D, PDU 0xFFFF. */
static size_t make_initiate(const uint8_t *ded, size_t ded_len, uint8_t *buf, size_t cap)
{
    ami_apdu q;
    memset(&q, 0, sizeof q);
    q.tag = AMI_APDU_INITIATE_REQUEST;
    q.u.initiate_request.dlms_version = 6;
    q.u.initiate_request.conformance = 0x00401E1D;
    q.u.initiate_request.max_pdu_size = 0xFFFF;
    if (ded) {
        q.u.initiate_request.has_dedicated_key = true;
        q.u.initiate_request.dedicated_key = ami_view_of(ded, ded_len);
    }
    ami_wr w;
    ami_wr_init(&w, buf, cap);
    assert_int_equal(ami_apdu_encode(&w, &q), AMI_OK);
    return w.len;
}

/* Associates on SAP sap with mechanism mech (ciphered context, glo-initiateRequest with SC
 * 0x30 | suite, optional dedicated key). Returns the AARE length; leaves it in F.out. */
static int associate(uint16_t sap, uint8_t mech, const uint8_t *ded)
{
    open_assoc(sap);
    uint8_t init[64], ui[128], aarq[256];
    size_t n = make_initiate(ded, ded ? key_len() : 0, init, sizeof init);
    size_t m = client_cipher(AMI_APDU_GLO_INITIATE_REQUEST, (uint8_t)(0x30 | F.sp[0].suite), F.guek,
                             init, n, ui, sizeof ui);
    size_t q = make_aarq(AMI_ACSE_CONTEXT_LN_CIPHER, mech, F.ctos, sizeof F.ctos, CST, ui, m, aarq,
                         sizeof aarq);
    return handle(aarq, q);
}

static ami_hls_params client_hls(uint8_t mech, EVP_PKEY *ckey)
{
    ami_hls_params p = {.mech = mech,
                        .secret = (const uint8_t *)SECRET,
                        .secret_len = 16,
                        .ek = F.guek,
                        .ek_len = key_len(),
                        .ak = F.ak,
                        .ak_len = F.ak_len,
                        .sc = (uint8_t)(0x10 | F.sp[0].suite),
                        .ic = 7,
                        .st_responder = CST,
                        .st_other = SST,
                        .sign_key = ckey};
    return p;
}

/* The ACTION reply_to_HLS_authentication carrying f, glo-ciphered with SC 0x30 | suite. */
static int send_hls_reply(const uint8_t *f, size_t n)
{
    uint8_t act[160] = {0xC3, 0x01, 0xC1, 0x00, 0x0F, 0, 0, 40, 0, 0, 255, 0x01, 0x01, 0x09};
    act[14] = (uint8_t)n;
    memcpy(act + 15, f, n);
    uint8_t c[256];
    size_t m =
        client_cipher(0xCB, (uint8_t)(0x30 | F.sp[0].suite), F.guek, act, 15 + n, c, sizeof c);
    return handle(c, m);
}

/* ---------------------------------------------------------------- the recorded Gurux session */

typedef struct apdu_rec {
    bool tx;
    uint8_t *p;
    size_t n;
} apdu_rec;

/* The APDUs of an HDLC session capture: I-frame information fields without the LLC header,
 * segmented frames joined. */
static apdu_rec *session_apdus(const char *file, size_t *count)
{
    size_t nf;
    hdlc_record *fr = hdlc_load(tu_testdata(file), &nf);
    apdu_rec *out = calloc(nf, sizeof *out);
    assert_non_null(out);
    size_t n = 0;
    uint8_t *acc = NULL;
    size_t acc_len = 0;
    for (size_t i = 0; i < nf; i++) {
        const uint8_t *b = fr[i].bytes;
        size_t len = fr[i].len, j = 3;
        while (!(b[j] & 1))
            j++;
        j++;
        while (!(b[j] & 1))
            j++;
        j++;
        uint8_t ctrl = b[j++];
        if ((ctrl & 1) || len < j + 2 + 3) /* not an I-frame, or no information */
            continue;
        j += 2; /* HCS */
        size_t info = len - 3 - j;
        const uint8_t *ip = b + j;
        if (!acc_len) {
            ip += 3; /* LLC E6 E6/E7 00 */
            info -= 3;
        }
        acc = realloc(acc, acc_len + info);
        assert_non_null(acc);
        memcpy(acc + acc_len, ip, info);
        acc_len += info;
        if (b[1] & 0x08) /* segmented: more follows */
            continue;
        out[n++] = (apdu_rec){.tx = fr[i].tx, .p = acc, .n = acc_len};
        acc = NULL;
        acc_len = 0;
    }
    free(acc);
    hdlc_free(fr, nf);
    *count = n;
    return out;
}

static void test_gurux_hls5_session(void **state)
{
    (void)state;
    setup_server(AMI_ACSE_MECH_GMAC, 0, AMI_DLMS_SECPOL_AUTH_ENC, NULL, NULL);
    static const uint8_t gst[8] = {0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48};
    static const uint8_t gchal[16] = {0x70, 0x38, 0x9C, 0xCE, 0x67, 0xB3, 0x59, 0xAC,
                                      0x56, 0xAB, 0x55, 0x2A, 0x15, 0x8A, 0x45, 0x22};
    F.sec.system_title = gst;
    F.sp[0].client_system_title = CST; /* "Gurux123": the IC object reports its counter */
    memcpy(F.stoc, gchal, 16);
    F.gurux_ic = true;
    size_t n;
    apdu_rec *r = session_apdus("dlms/session_gurux_hdlc_ln_hls5_gmac_authenc.txt", &n);
    assert_true(n > 20);
    /* The public association (client 16) reads 0-0:43.1.0.255: our answer is the recorded
     * one, byte for byte (the last invocation counter accepted from the client: none yet). */
    open_assoc(16);
    assert_true(handle(r[0].p, r[0].n) > 0);
    int m = handle(r[2].p, r[2].n);
    assert_int_equal((size_t)m, r[3].n);
    assert_memory_equal(F.out, r[3].p, r[3].n);
    /* Client 1: AARQ with HLS-GMAC and a glo-initiateRequest -> the recorded AARE exactly (our
     * challenge and invocation counters set to the recorded ones). */
    open_assoc(1);
    size_t i = 4;
    while (r[i].p[0] != AMI_ACSE_AARQ)
        i++;
    m = handle(r[i].p, r[i].n);
    assert_int_equal((size_t)m, r[i + 1].n);
    assert_memory_equal(F.out, r[i + 1].p, r[i + 1].n);
    assert_int_equal(ami_dlms_assoc_state(&F.a), AMI_DLMS_ASSOC_PENDING);
    /* Pass 3/4: the client's f(StoC) checks; the response carries f(CtoS), byte for byte. */
    m = handle(r[i + 2].p, r[i + 2].n);
    assert_int_equal((size_t)m, r[i + 3].n);
    assert_memory_equal(F.out, r[i + 3].p, r[i + 3].n);
    assert_int_equal(ami_dlms_assoc_state(&F.a), AMI_DLMS_ASSOC_ASSOCIATED);
    /* Every later request is accepted and answered with a general-glo-ciphering response that
     * decrypts with the client's keys. */
    unsigned answered = 0;
    for (i += 4; i < n; i++) {
        if (!r[i].tx || r[i].p[0] != AMI_APDU_GENERAL_GLO_CIPHERING)
            continue;
        m = handle(r[i].p, r[i].n);
        assert_true(m > 0);
        assert_int_equal(F.out[0], AMI_APDU_GENERAL_GLO_CIPHERING);
        uint8_t plain[2048], sc;
        int pn = client_decipher(EK, F.out, (size_t)m, plain, sizeof plain, &sc);
        assert_true(pn > 3);
        assert_int_equal(sc, 0x30);
        assert_int_equal(plain[0], AMI_APDU_GET_RESPONSE);
        assert_int_equal(plain[2], 0xC1); /* invoke-id-and-priority echoed */
        answered++;
    }
    assert_true(answered >= 10);
    const ami_dlms_assoc_stats *st = ami_dlms_assoc_stats_get(&F.a);
    assert_int_equal(st->bad_tag + st->replays + st->downgrades + st->auth_failed, 0);
    assert_int_equal(st->ciphered_in, answered + 1);
    /* Now the public client sees the counter the server accepted last. */
    ami_dlms_assoc pub = F.a;
    open_assoc(16);
    assert_true(handle(r[0].p, r[0].n) > 0);
    m = handle(r[2].p, r[2].n);
    assert_int_equal(m, 9);
    assert_true(ami_dec32be(F.out + 5) > 10);
    (void)pub;
    for (i = 0; i < n; i++)
        free(r[i].p);
    free(r);
}

/* Green Book Table 43: our server computes f(CtoS) = 10 01234567 FE1466AFB3DBCD4F9389E2B7. */
static void test_green_book_hls5(void **state)
{
    (void)state;
    setup_server(AMI_ACSE_MECH_GMAC, 0, 0, NULL, NULL);
    static const uint8_t sst[8] = {0x4D, 0x4D, 0x4D, 0x00, 0x00, 0xBC, 0x61, 0x4E};
    static const uint8_t cst[8] = {0x4D, 0x4D, 0x4D, 0x00, 0x00, 0x00, 0x00, 0x01};
    static const uint8_t ctos[8] = {0x4B, 0x35, 0x36, 0x69, 0x56, 0x61, 0x67, 0x59};
    static const uint8_t stoc[8] = {0x50, 0x36, 0x77, 0x52, 0x4A, 0x32, 0x31, 0x46};
    static const uint8_t f_stoc[17] = {0x10, 0x00, 0x00, 0x00, 0x01, 0x1A, 0x52, 0xFE, 0x7D,
                                       0xD3, 0xE7, 0x27, 0x48, 0x97, 0x3C, 0x1E, 0x28};
    static const uint8_t f_ctos[17] = {0x10, 0x01, 0x23, 0x45, 0x67, 0xFE, 0x14, 0x66, 0xAF,
                                       0xB3, 0xDB, 0xCD, 0x4F, 0x93, 0x89, 0xE2, 0xB7};
    F.sec.system_title = sst;
    F.sp[0].challenge_len = 8;
    memcpy(F.stoc, stoc, 8);
    F.ic = 0x01234567;
    open_assoc(1);
    uint8_t init[64], aarq[256];
    size_t n = make_initiate(NULL, 0, init, sizeof init);
    size_t q = make_aarq(AMI_ACSE_CONTEXT_LN, AMI_ACSE_MECH_GMAC, ctos, 8, cst, init, n, aarq,
                         sizeof aarq);
    int m = handle(aarq, q);
    assert_true(m > 0);
    ami_aare e;
    assert_int_equal(ami_aare_decode(F.out, (size_t)m, &e), AMI_OK);
    assert_int_equal(e.result, AMI_ACSE_ACCEPTED);
    assert_int_equal(e.diagnostic, AMI_ACSE_USER_AUTHENTICATION_REQUIRED);
    assert_int_equal(e.c.auth_value.len, 8);
    assert_memory_equal(e.c.auth_value.p, stoc, 8);
    assert_memory_equal(e.c.ap_title.p, sst, 8);
    uint8_t act[40] = {0xC3, 0x01, 0xC1, 0x00, 0x0F, 0, 0, 40, 0, 0, 255, 0x01, 0x01, 0x09, 17};
    memcpy(act + 15, f_stoc, 17);
    m = handle(act, 32);
    uint8_t want[25] = {0xC7, 0x01, 0xC1, 0x00, 0x01, 0x00, 0x09, 17};
    memcpy(want + 8, f_ctos, 17);
    assert_int_equal(m, 25);
    assert_memory_equal(F.out, want, 25);
    assert_int_equal(ami_dlms_assoc_state(&F.a), AMI_DLMS_ASSOC_ASSOCIATED);
}

/* ---------------------------------------------------------------- every mechanism */

static void hls_round(uint8_t mech, uint8_t suite, EVP_PKEY *skey, EVP_PKEY *ckey, bool wrong)
{
    setup_server(mech, suite, AMI_DLMS_SECPOL_AUTH_ENC, skey, ckey);
    int m = associate(1, mech, NULL);
    assert_true(m > 0);
    ami_aare e;
    uint8_t plain_init[64];
    assert_int_equal(ami_aare_decode(F.out, (size_t)m, &e), AMI_OK);
    assert_int_equal(e.result, AMI_ACSE_ACCEPTED);
    assert_int_equal(e.c.mechanism, mech);
    assert_int_equal(ami_dlms_assoc_state(&F.a), AMI_DLMS_ASSOC_PENDING);
    /* The InitiateResponse came glo-ciphered. */
    assert_int_equal(e.c.user_information.p[0], AMI_APDU_GLO_INITIATE_RESPONSE);
    int pn = client_decipher(F.guek, e.c.user_information.p, e.c.user_information.len, plain_init,
                             sizeof plain_init, NULL);
    assert_true(pn > 0);
    assert_int_equal(plain_init[0], AMI_APDU_INITIATE_RESPONSE);
    uint8_t stoc[64];
    size_t sl = e.c.auth_value.len;
    memcpy(stoc, e.c.auth_value.p, sl);
    /* Before pass 3, nothing else is served. */
    uint8_t get[] = {0xC0, 0x01, 0xC1, 0x00, 0x08, 0, 0, 1, 0, 0, 255, 0x02, 0x00};
    uint8_t c[128], plain[256];
    size_t cn = client_cipher(0xC8, (uint8_t)(0x30 | suite), F.guek, get, sizeof get, c, sizeof c);
    m = handle(c, cn);
    assert_int_equal(m, 3); /* a plain exception-response: it has no ciphered form */
    assert_int_equal(F.out[0], AMI_APDU_EXCEPTION_RESPONSE);
    /* Pass 3. */
    ami_hls_params p = client_hls(mech, ckey);
    uint8_t f[AMI_HLS_RESPONSE_MAX];
    int fl = ami_hls_compute(&p, stoc, sl, F.ctos, sizeof F.ctos, f, sizeof f);
    assert_true(fl > 0);
    if (wrong)
        f[fl - 1] ^= 1;
    m = send_hls_reply(f, (size_t)fl);
    assert_true(m > 0);
    pn = client_decipher(F.guek, F.out, (size_t)m, plain, sizeof plain, NULL);
    assert_true(pn > 4);
    assert_int_equal(plain[0], AMI_APDU_ACTION_RESPONSE);
    if (wrong) {
        assert_int_equal(plain[3], AMI_DAR_READ_WRITE_DENIED);
        assert_int_equal(pn, 5); /* no f(CtoS) for a failed client */
        assert_int_equal(ami_dlms_assoc_state(&F.a), AMI_DLMS_ASSOC_IDLE);
        assert_int_equal(ami_dlms_assoc_stats_get(&F.a)->auth_failed, 1);
        assert_int_equal(F.events[AMI_DLMS_SEC_EV_AUTH_FAILED], 1);
        return;
    }
    assert_int_equal(plain[3], AMI_DAR_SUCCESS);
    assert_int_equal(ami_dlms_assoc_state(&F.a), AMI_DLMS_ASSOC_ASSOCIATED);
    /* f(CtoS) checks with the server as responder. */
    assert_int_equal(plain[6], AMI_AXDR_OCTET_STRING);
    ami_hls_params sp = p;
    sp.st_responder = SST;
    sp.st_other = CST;
    sp.verify_key = skey;
    assert_int_equal(ami_hls_check(&sp, F.ctos, sizeof F.ctos, stoc, sl, plain + 8, plain[7], NULL),
                     AMI_OK);
    /* Associated: the GET is served. */
    cn = client_cipher(0xC8, (uint8_t)(0x30 | suite), F.guek, get, sizeof get, c, sizeof c);
    m = handle(c, cn);
    assert_int_equal(F.out[0], 0xCC); /* glo-get-response */
    pn = client_decipher(F.guek, F.out, (size_t)m, plain, sizeof plain, NULL);
    assert_true(pn > 4);
    assert_int_equal(plain[3], 0); /* data */
}

static void test_every_mechanism(void **state)
{
    (void)state;
    static const uint8_t mechs[] = {AMI_ACSE_MECH_HIGH, AMI_ACSE_MECH_MD5, AMI_ACSE_MECH_SHA1,
                                    AMI_ACSE_MECH_GMAC, AMI_ACSE_MECH_SHA256};
    for (size_t i = 0; i < sizeof mechs; i++) {
        hls_round(mechs[i], 0, NULL, NULL, false);
        hls_round(mechs[i], 0, NULL, NULL, true);
    }
    for (uint8_t suite = 1; suite <= 2; suite++) {
        const char *curve = suite == 1 ? "P-256" : "P-384";
        EVP_PKEY *sk = EVP_EC_gen(curve), *ck = EVP_EC_gen(curve);
        assert_non_null(sk);
        assert_non_null(ck);
        hls_round(AMI_ACSE_MECH_ECDSA, suite, sk, ck, false);
        hls_round(AMI_ACSE_MECH_ECDSA, suite, sk, ck, true);
        hls_round(AMI_ACSE_MECH_GMAC, suite, NULL, NULL, false);
        EVP_PKEY_free(sk);
        EVP_PKEY_free(ck);
    }
}

/* ---------------------------------------------------------------- suites and levels */

static const uint8_t GET_AUTH_OBJ[] = {0xC0, 0x01, 0xC1, 0x00, 0x01, 0,   0,
                                       96,   1,    9,    255,  0x02, 0x00};

/* SAP 2 (ciphering accepted, not demanded; no HLS): each level and APDU form. */
static void test_suites_and_levels(void **state)
{
    (void)state;
    for (uint8_t suite = 0; suite <= 2; suite++) {
        setup_server(AMI_ACSE_MECH_GMAC, suite, AMI_DLMS_SECPOL_AUTH_ENC, NULL, NULL);
        uint8_t ded[32];
        for (int i = 0; i < 32; i++)
            ded[i] = (uint8_t)(0xC0 + i);
        int m = associate(2, AMI_ACSE_MECH_NONE, ded);
        assert_true(m > 0);
        assert_int_equal(ami_dlms_assoc_state(&F.a), AMI_DLMS_ASSOC_ASSOCIATED);
        uint8_t c[128], plain[256], sc;
        /* Plain GET: served, but the authenticated-read attribute is denied. */
        m = handle(GET_AUTH_OBJ, sizeof GET_AUTH_OBJ);
        assert_int_equal(F.out[0], AMI_APDU_GET_RESPONSE);
        assert_int_equal(F.out[3], 1);
        assert_int_equal(F.out[4], AMI_DAR_READ_WRITE_DENIED);
        static const uint8_t levels[] = {0x30, 0x10, 0x20};
        static const uint8_t tags[] = {0xC8, 0xD0, 0xDB, 0xDC};
        for (size_t l = 0; l < sizeof levels; l++) {
            for (size_t t = 0; t < sizeof tags; t++) {
                bool ded_key = tags[t] == 0xD0 || tags[t] == 0xDC;
                const uint8_t *ek = ded_key ? ded : F.guek;
                uint8_t sc_req = (uint8_t)(levels[l] | suite);
                size_t cn = client_cipher(tags[t], sc_req, ek, GET_AUTH_OBJ, sizeof GET_AUTH_OBJ, c,
                                          sizeof c);
                m = handle(c, cn);
                assert_true(m > 0);
                uint8_t want =
                    tags[t] == 0xDB || tags[t] == 0xDC ? tags[t] : (uint8_t)(tags[t] + 4);
                assert_int_equal(F.out[0], want);
                int pn = client_decipher(ek, F.out, (size_t)m, plain, sizeof plain, &sc);
                assert_true(pn > 0);
                assert_int_equal(sc, sc_req); /* answered the way it was asked */
                assert_int_equal(plain[0], AMI_APDU_GET_RESPONSE);
                /* Authenticated requests may read the AUTH_READ attribute; encryption-only may
                 * not. */
                if (levels[l] & 0x10) {
                    assert_int_equal(plain[3], 0);
                    assert_int_equal(plain[4], AMI_AXDR_DOUBLE_LONG_UNSIGNED);
                } else {
                    assert_int_equal(plain[3], 1);
                    assert_int_equal(plain[4], AMI_DAR_READ_WRITE_DENIED);
                }
            }
        }
        /* Broadcast key (key-set bit) accepted for a glo request; answered with the unicast
         * key. */
        size_t cn = client_cipher(0xC8, (uint8_t)(0x70 | suite), F.gbek, GET_AUTH_OBJ,
                                  sizeof GET_AUTH_OBJ, c, sizeof c);
        m = handle(c, cn);
        assert_int_equal(F.out[0], 0xCC);
        assert_true(client_decipher(F.guek, F.out, (size_t)m, plain, sizeof plain, &sc) > 0);
        assert_int_equal(sc, 0x30 | suite);
        ami_dlms_assoc_reset(&F.a);
    }
}

/* ---------------------------------------------------------------- refusals */

/* A refused ciphered request: a plain exception-response, no plaintext, the counter moved. */
static void assert_refused(int m, uint8_t se, uint64_t counter_before, uint64_t counter_after)
{
    assert_true(m == 3 || m == 7);
    assert_int_equal(F.out[0], AMI_APDU_EXCEPTION_RESPONSE);
    assert_int_equal(F.out[2], se);
    assert_int_equal(counter_after, counter_before + 1);
}

static void test_refusals(void **state)
{
    (void)state;
    setup_server(AMI_ACSE_MECH_GMAC, 0, AMI_DLMS_SECPOL_AUTH_ENC, NULL, NULL);
    assert_true(associate(1, AMI_ACSE_MECH_GMAC, NULL) > 0);
    ami_hls_params p = client_hls(AMI_ACSE_MECH_GMAC, NULL);
    uint8_t f[64];
    int fl = ami_hls_compute(&p, F.stoc, 16, F.ctos, 16, f, sizeof f);
    assert_true(send_hls_reply(f, (size_t)fl) > 0);
    assert_int_equal(ami_dlms_assoc_state(&F.a), AMI_DLMS_ASSOC_ASSOCIATED);
    const ami_dlms_assoc_stats *st = ami_dlms_assoc_stats_get(&F.a);
    uint8_t c[128], bad[16];
    size_t cn;
    int m;

    /* Wrong key. */
    memset(bad, 0x55, sizeof bad);
    uint64_t before = st->bad_tag;
    cn = client_cipher(0xC8, 0x30, bad, GET_AUTH_OBJ, sizeof GET_AUTH_OBJ, c, sizeof c);
    m = handle(c, cn);
    assert_refused(m, AMI_SERVICE_ERROR_DECIPHERING_ERROR, before, st->bad_tag);
    /* A flipped bit in the ciphertext, then in the tag. */
    for (int where = 0; where < 2; where++) {
        before = st->bad_tag;
        cn = client_cipher(0xC8, 0x30, F.guek, GET_AUTH_OBJ, sizeof GET_AUTH_OBJ, c, sizeof c);
        c[where ? cn - 1 : 8] ^= 0x01;
        m = handle(c, cn);
        assert_refused(m, AMI_SERVICE_ERROR_DECIPHERING_ERROR, before, st->bad_tag);
    }
    /* Replay: the same APDU twice (the second is refused with invocation-counter-error). */
    cn = client_cipher(0xC8, 0x30, F.guek, GET_AUTH_OBJ, sizeof GET_AUTH_OBJ, c, sizeof c);
    assert_int_equal(F.out[0], AMI_APDU_EXCEPTION_RESPONSE);
    m = handle(c, cn);
    assert_int_equal(F.out[0], 0xCC);
    before = st->replays;
    m = handle(c, cn);
    assert_refused(m, AMI_SERVICE_ERROR_INVOCATION_COUNTER_ERROR, before, st->replays);
    assert_int_equal(ami_dec32be(F.out + 3), F.cic - 1);
    /* Downgrades: plain, authentication only, encryption only, another suite. */
    static const uint8_t weaker[] = {0x10, 0x20, 0x31};
    before = st->downgrades;
    m = handle(GET_AUTH_OBJ, sizeof GET_AUTH_OBJ);
    assert_refused(m, AMI_SERVICE_ERROR_DECIPHERING_ERROR, before, st->downgrades);
    for (size_t i = 0; i < sizeof weaker; i++) {
        before = st->downgrades;
        cn = client_cipher(0xC8, weaker[i], F.guek, GET_AUTH_OBJ, sizeof GET_AUTH_OBJ, c, sizeof c);
        m = handle(c, cn);
        assert_refused(m, AMI_SERVICE_ERROR_DECIPHERING_ERROR, before, st->downgrades);
    }
    /* Wrong system title in general-glo-ciphering. */
    cn = client_cipher(0xDB, 0x30, F.guek, GET_AUTH_OBJ, sizeof GET_AUTH_OBJ, c, sizeof c);
    c[2] ^= 0x01;
    before = st->system_title;
    m = handle(c, cn);
    assert_refused(m, AMI_SERVICE_ERROR_DECIPHERING_ERROR, before, st->system_title);
    /* ded- without a dedicated key. */
    before = st->bad_tag;
    cn = client_cipher(0xD0, 0x30, F.guek, GET_AUTH_OBJ, sizeof GET_AUTH_OBJ, c, sizeof c);
    m = handle(c, cn);
    assert_refused(m, AMI_SERVICE_ERROR_DECIPHERING_ERROR, before, st->bad_tag);
    /* A glo-get-request whose plaintext is a set-request: refused after authentication. */
    uint8_t set[] = {0xC1, 0x01, 0xC1, 0x00, 0x01, 0, 0, 96, 1, 9, 255, 0x02, 0x00, 0x11, 0x01};
    cn = client_cipher(0xC8, 0x30, F.guek, set, sizeof set, c, sizeof c);
    m = handle(c, cn);
    assert_int_equal(F.out[0], AMI_APDU_EXCEPTION_RESPONSE);
    /* Every refusal was reported as an event; the association survived. */
    assert_int_equal(F.events[AMI_DLMS_SEC_EV_BAD_TAG], 4);
    assert_int_equal(F.events[AMI_DLMS_SEC_EV_REPLAY], 1);
    assert_int_equal(F.events[AMI_DLMS_SEC_EV_DOWNGRADE], 4);
    assert_int_equal(F.events[AMI_DLMS_SEC_EV_SYSTEM_TITLE], 1);
    cn = client_cipher(0xC8, 0x30, F.guek, GET_AUTH_OBJ, sizeof GET_AUTH_OBJ, c, sizeof c);
    m = handle(c, cn);
    assert_int_equal(F.out[0], 0xCC);

    /* AARQ refusals: no calling-AP-title, a title other than the configured one (SAP 3), a
     * replayed glo-initiateRequest, a plain InitiateRequest where ciphering is demanded, the
     * non-ciphered context. */
    uint8_t init[64], ui[128], aarq[256];
    size_t in = make_initiate(NULL, 0, init, sizeof init);
    F.cic = 1000;
    size_t un = client_cipher(AMI_APDU_GLO_INITIATE_REQUEST, 0x30, F.guek, init, in, ui, sizeof ui);
    static const uint8_t other_st[8] = {'O', 'T', 'H', 'E', 'R', '0', '0', '1'};
    struct {
        uint16_t sap;
        uint8_t ctx;
        const uint8_t *st;
        bool plain_ui;
        uint8_t diag;
    } cases[] = {
        {1, AMI_ACSE_CONTEXT_LN_CIPHER, NULL, false, AMI_ACSE_USER_CALLING_AP_TITLE_NOT_RECOGNIZED},
        {3, AMI_ACSE_CONTEXT_LN_CIPHER, other_st, false,
         AMI_ACSE_USER_CALLING_AP_TITLE_NOT_RECOGNIZED},
        {1, AMI_ACSE_CONTEXT_LN_CIPHER, CST, true, AMI_ACSE_USER_NO_REASON},
        {1, AMI_ACSE_CONTEXT_LN, CST, false, AMI_ACSE_USER_CONTEXT_NOT_SUPPORTED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        open_assoc(cases[i].sap);
        size_t q = make_aarq(cases[i].ctx, AMI_ACSE_MECH_GMAC, F.ctos, 16, cases[i].st,
                             cases[i].plain_ui ? init : ui, cases[i].plain_ui ? in : un, aarq,
                             sizeof aarq);
        m = handle(aarq, q);
        ami_aare e;
        assert_int_equal(ami_aare_decode(F.out, (size_t)m, &e), AMI_OK);
        assert_int_equal(e.result, AMI_ACSE_REJECTED_PERMANENT);
        assert_int_equal(e.diagnostic, cases[i].diag);
        assert_false(e.c.has_auth_value); /* no challenge for a refused client */
        assert_int_equal(ami_dlms_assoc_state(&F.a), AMI_DLMS_ASSOC_IDLE);
    }
    /* Replayed glo-initiateRequest (IC 1000 accepted once, then replayed). */
    open_assoc(1);
    size_t q = make_aarq(AMI_ACSE_CONTEXT_LN_CIPHER, AMI_ACSE_MECH_GMAC, F.ctos, 16, CST, ui, un,
                         aarq, sizeof aarq);
    m = handle(aarq, q);
    assert_int_equal(ami_dlms_assoc_state(&F.a), AMI_DLMS_ASSOC_PENDING);
    m = handle(aarq, q);
    assert_int_equal(ami_dlms_assoc_state(&F.a), AMI_DLMS_ASSOC_IDLE);
    assert_int_equal(ami_dlms_assoc_stats_get(&F.a)->replays, 1);
    /* A wrong HLS-GMAC f(StoC) from a client whose AARQ was fine. */
    F.cic = 2000;
    assert_true(associate(1, AMI_ACSE_MECH_GMAC, NULL) > 0);
    f[5] ^= 0x80;
    m = send_hls_reply(f, (size_t)fl);
    assert_int_equal(ami_dlms_assoc_state(&F.a), AMI_DLMS_ASSOC_IDLE);
    assert_int_equal(ami_dlms_assoc_stats_get(&F.a)->auth_failed, 1);
}

/* ---------------------------------------------------------------- Security Setup */

static int sec_request(const uint8_t *plain, size_t n, uint8_t *resp, size_t cap)
{
    uint8_t c[256];
    size_t cn =
        client_cipher(0xCB - (plain[0] == 0xC0 ? 3 : 0), 0x30, F.guek, plain, n, c, sizeof c);
    int m = handle(c, cn);
    assert_true(m > 0);
    return client_decipher(F.guek, F.out, (size_t)m, resp, cap, NULL);
}

static void test_security_setup(void **state)
{
    (void)state;
    setup_server(AMI_ACSE_MECH_GMAC, 0, AMI_DLMS_SECPOL_AUTH_ENC, NULL, NULL);
    assert_true(associate(1, AMI_ACSE_MECH_GMAC, NULL) > 0);
    ami_hls_params p = client_hls(AMI_ACSE_MECH_GMAC, NULL);
    uint8_t f[64], r[256];
    int fl = ami_hls_compute(&p, F.stoc, 16, F.ctos, 16, f, sizeof f);
    assert_true(send_hls_reply(f, (size_t)fl) > 0);
    /* Attributes 2..5. */
    uint8_t get[] = {0xC0, 0x01, 0xC1, 0x00, 0x40, 0, 0, 43, 0, 0, 255, 0x02, 0x00};
    int n = sec_request(get, sizeof get, r, sizeof r);
    assert_int_equal(n, 6);
    assert_int_equal(r[4], AMI_AXDR_ENUM);
    assert_int_equal(r[5], AMI_DLMS_SECPOL_AUTH_ENC);
    get[11] = 3;
    n = sec_request(get, sizeof get, r, sizeof r);
    assert_int_equal(r[5], 0);
    get[11] = 4;
    n = sec_request(get, sizeof get, r, sizeof r);
    assert_int_equal(n, 14);
    assert_memory_equal(r + 6, CST, 8);
    get[11] = 5;
    n = sec_request(get, sizeof get, r, sizeof r);
    assert_memory_equal(r + 6, SST, 8);
    /* security_activate may not weaken the policy. */
    uint8_t act[64] = {0xC3, 0x01, 0xC1, 0x00, 0x40, 0, 0, 43, 0, 0, 255, 0x01, 0x01, 0x16, 0x0C};
    n = sec_request(act, 15, r, sizeof r);
    assert_int_equal(r[3], AMI_DAR_READ_WRITE_DENIED);
    act[14] = AMI_DLMS_SECPOL_AUTH_ENC;
    n = sec_request(act, 15, r, sizeof r);
    assert_int_equal(r[3], AMI_DAR_SUCCESS);
    /* key_transfer: the RFC 3394 vector (KEK 000102..0F wraps 00112233..FF) as the new GUEK. */
    static const uint8_t kek[16] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                    0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F};
    static const uint8_t wrapped[24] = {0x1F, 0xA6, 0x8B, 0x0A, 0x81, 0x12, 0xB4, 0x47,
                                        0xAE, 0xF3, 0x4B, 0xD8, 0xFB, 0x5A, 0x7B, 0x82,
                                        0x9D, 0x3E, 0x86, 0x23, 0x71, 0xD2, 0xCF, 0xE5};
    static const uint8_t newkey[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                       0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF};
    memcpy(F.kek, kek, 16);
    uint8_t kt[] = {0xC3, 0x01, 0xC1, 0x00, 0x40, 0,    0,    43,   0,    0, 255,
                    0x02, 0x01, 0x01, 0x01, 0x02, 0x02, 0x16, 0x00, 0x09, 24};
    memcpy(act, kt, sizeof kt);
    memcpy(act + sizeof kt, wrapped, 24);
    /* A tampered wrap first: refused, nothing installed. */
    act[sizeof kt + 3] ^= 1;
    n = sec_request(act, sizeof kt + 24, r, sizeof r);
    assert_int_equal(r[3], AMI_DAR_OTHER_REASON);
    assert_int_equal(F.updates, 0);
    act[sizeof kt + 3] ^= 1;
    /* The response to the transfer still comes under the old key (sec_request decrypts with
     * F.guek before the update). */
    uint8_t c[256];
    size_t cn = client_cipher(0xCB, 0x30, F.guek, act, sizeof kt + 24, c, sizeof c);
    int m = handle(c, cn);
    uint8_t oldkey[16];
    memcpy(oldkey, EK, 16);
    n = client_decipher(oldkey, F.out, (size_t)m, r, sizeof r, NULL);
    assert_true(n > 0);
    assert_int_equal(r[3], AMI_DAR_SUCCESS);
    assert_int_equal(F.updates, 1);
    assert_memory_equal(F.guek, newkey, 16);
    assert_int_equal(F.events[AMI_DLMS_SEC_EV_KEY_CHANGED], 1);
    /* The old key is now refused, the new one served. */
    cn = client_cipher(0xC8, 0x30, oldkey, GET_AUTH_OBJ, sizeof GET_AUTH_OBJ, c, sizeof c);
    m = handle(c, cn);
    assert_int_equal(F.out[0], AMI_APDU_EXCEPTION_RESPONSE);
    get[11] = 2;
    n = sec_request(get, sizeof get, r, sizeof r);
    assert_int_equal(n, 6);
    /* A plain-context association (SAP 2, ciphering accepted) may not use the methods
     * unauthenticated. */
    associate(2, AMI_ACSE_MECH_NONE, NULL);
    m = handle(act, sizeof kt + 24);
    assert_int_equal(F.out[0], AMI_APDU_ACTION_RESPONSE);
    assert_int_equal(F.out[3], AMI_DAR_READ_WRITE_DENIED);
}

/* True when an object_list (Data in p[0..n)) has an element of class_id at logical name ln,
 * and gives its first method's access mode (0 when it has none). */
static bool list_has(const uint8_t *p, size_t n, uint16_t class_id, const uint8_t ln[6],
                     uint8_t *method1_mode)
{
    const uint8_t head[] = {0x02, 0x04, 0x12, (uint8_t)(class_id >> 8), (uint8_t)class_id};
    for (size_t i = 0; i + 16 <= n; i++) {
        if (memcmp(p + i, head, sizeof head) || p[i + 7] != 0x09 || p[i + 8] != 6 ||
            memcmp(p + i + 9, ln, 6))
            continue;
        ami_rd r;
        ami_rd_init(&r, p + i, n - i);
        uint8_t arena_buf[8192];
        ami_arena a;
        ami_arena_init(&a, arena_buf, sizeof arena_buf);
        ami_axdr_value *v = NULL;
        assert_int_equal(ami_axdr_decode(&r, &a, NULL, &v), AMI_OK);
        assert_int_equal(v->type, AMI_AXDR_STRUCTURE);
        const ami_axdr_value *rights = v->child->next->next->next;
        const ami_axdr_value *methods = rights->child->next;
        *method1_mode = methods->count ? (uint8_t)methods->child->child->next->v.u : 0;
        return true;
    }
    return false;
}

/* The Association LN object_list lists the objects the engine serves: Security Setup on a
 * secured SAP (methods for authenticated requests), the invocation counter of every secured
 * client SAP on every SAP. */
static void test_object_list(void **state)
{
    (void)state;
    static const uint8_t ss[6] = {0, 0, 43, 0, 0, 255}, ic1[6] = {0, 0, 43, 1, 1, 255},
                         ic3[6] = {0, 0, 43, 1, 3, 255}, ic16[6] = {0, 0, 43, 1, 16, 255};
    const uint8_t get[] = {0xC0, 0x01, 0xC1, 0x00, 0x0F, 0, 0, 40, 0, 0, 255, 0x02, 0x00};
    uint8_t mode = 0xFF;
    setup_server(AMI_ACSE_MECH_GMAC, 0, AMI_DLMS_SECPOL_AUTH_ENC, NULL, NULL);
    /* The public client (no security): 3 store objects and the counters of SAPs 1, 2, 3. */
    open_assoc(16);
    uint8_t init[64], aarq[256];
    size_t in = make_initiate(NULL, 0, init, sizeof init);
    size_t q = make_aarq(AMI_ACSE_CONTEXT_LN, AMI_ACSE_MECH_NONE, NULL, 0, NULL, init, in, aarq,
                         sizeof aarq);
    assert_true(handle(aarq, q) > 0);
    assert_int_equal(ami_dlms_assoc_state(&F.a), AMI_DLMS_ASSOC_ASSOCIATED);
    int n = handle(get, sizeof get);
    assert_true(n > 6);
    assert_int_equal(F.out[0], AMI_APDU_GET_RESPONSE);
    assert_int_equal(F.out[4], AMI_AXDR_ARRAY);
    assert_int_equal(F.out[5], 6);
    assert_false(list_has(F.out + 4, (size_t)n - 4, 64, ss, &mode));
    assert_true(list_has(F.out + 4, (size_t)n - 4, 1, ic1, &mode));
    assert_int_equal(mode, 0);
    assert_true(list_has(F.out + 4, (size_t)n - 4, 1, ic3, &mode));
    assert_false(list_has(F.out + 4, (size_t)n - 4, 1, ic16, &mode));
    /* The management client after HLS: Security Setup too. */
    assert_true(associate(1, AMI_ACSE_MECH_GMAC, NULL) > 0);
    ami_hls_params p = client_hls(AMI_ACSE_MECH_GMAC, NULL);
    uint8_t f[64];
    static uint8_t r[2048];
    int fl = ami_hls_compute(&p, F.stoc, 16, F.ctos, 16, f, sizeof f);
    assert_true(send_hls_reply(f, (size_t)fl) > 0);
    n = sec_request(get, sizeof get, r, sizeof r);
    assert_true(n > 6);
    assert_int_equal(r[0], AMI_APDU_GET_RESPONSE);
    assert_int_equal(r[1], 1); /* normal: the whole list in one response */
    assert_int_equal(r[5], 7);
    assert_true(list_has(r + 4, (size_t)n - 4, 64, ss, &mode));
    assert_int_equal(mode, AMI_METHOD_AUTH_ACCESS);
    assert_true(list_has(r + 4, (size_t)n - 4, 1, ic1, &mode));
    /* Attribute 2 of what the list announces is served. */
    const uint8_t get_ic[] = {0xC0, 0x01, 0xC1, 0x00, 0x01, 0, 0, 43, 1, 3, 255, 0x02, 0x00};
    n = sec_request(get_ic, sizeof get_ic, r, sizeof r);
    assert_int_equal(r[3], 0);
    assert_int_equal(r[4], AMI_AXDR_DOUBLE_LONG_UNSIGNED);
}

/* ---------------------------------------------------------------- pre-established */

/* A pre-established secured SAP: ciphered at once with the global keys and the policy's client
 * title; plain requests are a downgrade when the policy demands protection. */
static void test_pre_established(void **state)
{
    (void)state;
    setup_server(AMI_ACSE_MECH_GMAC, 0, AMI_DLMS_SECPOL_AUTH_ENC, NULL, NULL);
    F.sp[1].client_system_title = CST;
    F.sp[1].security_policy = AMI_DLMS_SECPOL_AUTH_ENC;
    F.pol[2].pre_established = true;
    ami_dlms_server_config cfg = F.srv.cfg;
    assert_int_equal(ami_dlms_server_init(&F.srv, &cfg), AMI_OK);
    open_assoc(2);
    assert_int_equal(ami_dlms_assoc_state(&F.a), AMI_DLMS_ASSOC_ASSOCIATED);
    uint8_t c[128], plain[128];
    size_t cn = client_cipher(0xC8, 0x30, F.guek, GET_AUTH_OBJ, sizeof GET_AUTH_OBJ, c, sizeof c);
    int m = handle(c, cn);
    assert_int_equal(F.out[0], 0xCC);
    assert_true(client_decipher(F.guek, F.out, (size_t)m, plain, sizeof plain, NULL) > 0);
    assert_int_equal(plain[3], 0);
    m = handle(GET_AUTH_OBJ, sizeof GET_AUTH_OBJ);
    assert_int_equal(m, 3);
    assert_int_equal(ami_dlms_assoc_stats_get(&F.a)->downgrades, 1);
}

/* ---------------------------------------------------------------- configuration */

static void test_config(void **state)
{
    (void)state;
    setup_server(AMI_ACSE_MECH_GMAC, 0, 0, NULL, NULL);
    ami_dlms_server_config cfg = F.srv.cfg;
    ami_dlms_server s;
    /* HLS without a security policy, or a policy without the server's security. */
    F.pol[1].sec = NULL;
    assert_int_equal(ami_dlms_server_init(&s, &cfg), AMI_E_CONFIG);
    F.pol[1].sec = &F.sp[0];
    cfg.sec = NULL;
    assert_int_equal(ami_dlms_server_init(&s, &cfg), AMI_E_CONFIG);
    cfg.sec = &F.sec;
    F.sp[0].suite = 3;
    assert_int_equal(ami_dlms_server_init(&s, &cfg), AMI_E_CONFIG);
    F.sp[0].suite = 0;
    F.sp[0].challenge_len = 7;
    assert_int_equal(ami_dlms_server_init(&s, &cfg), AMI_E_CONFIG);
    F.sp[0].challenge_len = 16;
    F.pol[1].mechanism = AMI_ACSE_MECH_ECDSA; /* no EC keys */
    assert_int_equal(ami_dlms_server_init(&s, &cfg), AMI_E_CONFIG);
    F.pol[1].mechanism = AMI_ACSE_MECH_GMAC;
    assert_int_equal(ami_dlms_server_init(&s, &cfg), AMI_OK);
    /* A secured SAP needs the ciphering buffer. */
    ami_dlms_assoc_mem mem = {F.block, sizeof F.block, NULL, 0, NULL, 0};
    assert_int_equal(ami_dlms_assoc_init(&F.a, &s, 1, &mem), AMI_E_CONFIG);
    assert_int_equal(ami_dlms_assoc_init(&F.a, &s, 16, &mem), AMI_OK);
    ami_wipe(&F.a, sizeof F.a); /* it points at the local server; it holds no cipher context */
    assert_string_equal(ami_dlms_sec_event_name(99), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gurux_hls5_session),
        cmocka_unit_test(test_green_book_hls5),
        cmocka_unit_test(test_every_mechanism),
        cmocka_unit_test(test_suites_and_levels),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_security_setup),
        cmocka_unit_test(test_object_list),
        cmocka_unit_test(test_pre_established),
        cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
