/*
 * DLMS client session security (ami/dlms_client_sec.h):
 *  - the recorded Gurux HLS-GMAC, authenticated+encrypted session: given its challenge, keys
 *    and counters our client sends the same ciphered AARQ, HLS pass 3, general-glo GETs
 *    (GET-next included) and ciphered RLRQ byte for byte, and deciphers every response; the
 *    public association before it reads the invocation counter (value + 1 is the next IC);
 *  - the Green Book suite-0 example: an AARQ with a glo-initiateRequest carrying a dedicated
 *    key, and the glo-initiateResponse; Table 43 HLS-GMAC f(StoC);
 *  - refusals, each with its own error and cause: wrong key, a bit flipped in the ciphertext
 *    or the tag, a replayed response, another system title, a downgrade (plain or less
 *    protected), no payload released;
 *  - the client invocation counter: save hook, warning hook, exhaustion.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "hdlc_testlib.h"
#include "ami/ami.h"
#include "dlms_client_fixtures.h"

static const char session_file[] = "dlms/session_gurux_hdlc_ln_hls5_gmac_authenc.txt";

/* The session's keys are DF_EK and DF_AK (dlms_client_fixtures.h). */
static const uint8_t CLIENT_ST[8] = {0x47, 0x75, 0x72, 0x75, 0x78, 0x31, 0x32, 0x33};
static const uint8_t SERVER_ST[8] = {0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48};
static const uint8_t CTOS[16] = {0x70, 0x38, 0x9C, 0xCE, 0x67, 0xB3, 0x59, 0xAC,
                                 0x56, 0xAB, 0x55, 0x2A, 0x15, 0x8A, 0x45, 0x22};

/* ---------------------------------------------------------------- the recorded APDUs */

typedef struct rec_apdu {
    bool tx;
    uint16_t client; /* HDLC client address */
    uint8_t *p;
    size_t len;
} rec_apdu;

static rec_apdu recs[256];
static size_t nrecs;

/* Reassembles the APDUs of the session's I-frames (LLC header stripped), in order. */
static void load_session(void)
{
    if (nrecs)
        return;
    size_t count;
    hdlc_record *r = hdlc_load(tu_testdata(session_file), &count);
    static uint8_t acc[2][1 << 16];
    size_t have[2] = {0, 0};
    for (size_t i = 0; i < count; i++) {
        ami_hdlc_frame f;
        assert_int_equal(ami_hdlc_frame_decode(r[i].bytes, r[i].len, 0, &f), (int)r[i].len);
        if (f.type != AMI_HDLC_I)
            continue;
        int d = r[i].tx ? 0 : 1;
        assert_true(have[d] + f.info_len <= sizeof acc[d]);
        memcpy(acc[d] + have[d], f.info, f.info_len);
        have[d] += f.info_len;
        if (f.segmented)
            continue;
        assert_true(nrecs < AMI_COUNTOF(recs) && have[d] > 3);
        rec_apdu *a = &recs[nrecs++];
        a->tx = r[i].tx;
        a->client = r[i].tx ? f.src.upper : f.dest.upper;
        a->len = have[d] - 3;
        a->p = malloc(a->len);
        assert_non_null(a->p);
        memcpy(a->p, acc[d] + 3, a->len);
        have[d] = 0;
    }
    hdlc_free(r, count);
}

static void free_session(void)
{
    for (size_t i = 0; i < nrecs; i++)
        free(recs[i].p);
    nrecs = 0;
}

/* ---------------------------------------------------------------- client setup */

static uint8_t data_buf[1 << 16];
static uint8_t arena_buf[1 << 16];
static ami_arena arena;
static ami_dlms_item items[32];
static uint8_t sec_buf[1 << 16];

static void client_config(ami_dlms_client_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    df_client_recorded(cfg);
    df_client_buffers(cfg, data_buf, sizeof data_buf, &arena, arena_buf, sizeof arena_buf, items,
                      AMI_COUNTOF(items));
}

static void sec_config(ami_dlms_sec_config *s, uint8_t level)
{
    df_sec_config(s, level, CLIENT_ST, sec_buf, sizeof sec_buf);
}

static void hexfail(const char *what, const uint8_t *ours, size_t n, const uint8_t *want, size_t wn)
{
    static char a[1 << 14], b[1 << 14];
    ami_hex_encode(ours, n, a, sizeof a);
    ami_hex_encode(want, wn, b, sizeof b);
    fail_msg("%s:\n ours %s\n want %s", what, a, b);
}

static void same(const char *what, const uint8_t *ours, size_t n, const uint8_t *want, size_t wn)
{
    if (n != wn || memcmp(ours, want, n) != 0)
        hexfail(what, ours, n, want, wn);
}

static void check_data(ami_view v)
{
    static uint8_t tree[1 << 20];
    ami_arena t;
    ami_arena_init(&t, tree, sizeof tree);
    ami_rd r;
    ami_rd_init(&r, v.p, v.len);
    ami_axdr_value *out;
    assert_int_equal(ami_axdr_decode(&r, &t, NULL, &out), AMI_OK);
}

/* ---------------------------------------------------------------- the recorded session */

/* The public association (client 16): the IC read of 0.0.43.1.0.255 attribute 2. */
static uint32_t replay_public(size_t *pos)
{
    static ami_dlms_client c;
    ami_dlms_client_config cfg;
    client_config(&cfg);
    assert_int_equal(ami_dlms_client_init(&c, &cfg), AMI_OK);
    uint8_t b[512];
    ami_wr w;
    ami_dlms_result res;
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_associate(&c, &w), AMI_OK);
    assert_true(recs[*pos].tx && recs[*pos].client == 16);
    same("public AARQ", b, w.len, recs[*pos].p, recs[*pos].len);
    (*pos)++;
    assert_int_equal(ami_dlms_client_input(&c, recs[*pos].p, recs[*pos].len, &w, &res), AMI_OK);
    assert_int_equal(res.outcome, AMI_DLMS_SUCCESS);
    (*pos)++;
    /* Invocation counter object: Data, 0-0:43.1.0.255, value (Gurux convention: the next
     * counter the server accepts is value + 1). */
    ami_attr_sel ic_attr;
    memset(&ic_attr, 0, sizeof ic_attr);
    ic_attr.attr = (ami_cosem_desc){1, AMI_OBIS(0, 0, 43, 1, 0, 255), 2};
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_get(&c, &ic_attr, 1, &w), AMI_OK);
    same("public GET of the invocation counter", b, w.len, recs[*pos].p, recs[*pos].len);
    (*pos)++;
    assert_int_equal(ami_dlms_client_input(&c, recs[*pos].p, recs[*pos].len, &w, &res), AMI_OK);
    (*pos)++;
    assert_true(res.has_data);
    assert_int_equal(res.data.len, 5);
    assert_int_equal(res.data.p[0], AMI_AXDR_DOUBLE_LONG_UNSIGNED);
    uint32_t v = (uint32_t)res.data.p[1] << 24 | (uint32_t)res.data.p[2] << 16 |
                 (uint32_t)res.data.p[3] << 8 | res.data.p[4];
    return v + 1;
}

/* The ciphered request a recorded TX APDU carries: its IC and plaintext (GET or RLRQ). */
static uint32_t recorded_ic(const rec_apdu *r)
{
    if (r->p[0] == AMI_ACSE_RLRQ) {
        ami_release rl;
        assert_int_equal(ami_release_decode(r->p, r->len, AMI_ACSE_RLRQ, &rl), AMI_OK);
        ami_sec_apdu s;
        assert_int_equal(
            ami_sec_apdu_parse(rl.user_information.p, rl.user_information.len, &s, NULL), AMI_OK);
        return s.ic;
    }
    ami_sec_apdu s;
    assert_int_equal(ami_sec_apdu_parse(r->p, r->len, &s, NULL), AMI_OK);
    return s.ic;
}

static size_t recorded_plain(const rec_apdu *r, uint8_t *out, size_t cap)
{
    ami_sec_ctx x;
    assert_int_equal(ami_sec_ctx_init(&x), AMI_OK);
    assert_int_equal(ami_sec_ctx_set_ek(&x, DF_EK, 16), AMI_OK);
    assert_int_equal(ami_sec_ctx_set_ak(&x, DF_AK, 16), AMI_OK);
    ami_sec_apdu s;
    assert_int_equal(ami_sec_apdu_parse(r->p, r->len, &s, NULL), AMI_OK);
    size_t n;
    assert_int_equal(ami_sec_apdu_decrypt(&x, &s, CLIENT_ST, out, cap, &n), AMI_OK);
    ami_sec_ctx_wipe(&x);
    return n;
}

typedef struct hls5 {
    ami_dlms_client c;
    ami_dlms_client_sec sec;
    size_t pos; /* next record */
} hls5;

/* Replays the public part and the ciphered association (AARQ, AARE, HLS pass 3 and 4). */
static void hls5_associate(hls5 *h, const uint8_t *ek)
{
    load_session();
    h->pos = 0;
    uint32_t ic = replay_public(&h->pos);
    assert_int_equal(ic, 1);
    while (recs[h->pos].client != 1)
        h->pos++;
    ami_dlms_sec_config sc;
    sec_config(&sc, AMI_DLMS_SEC_AUTH_ENC);
    sc.ic = ic;
    if (ek)
        sc.ek = ek;
    assert_int_equal(ami_dlms_client_sec_init(&h->sec, &sc), AMI_OK);
    ami_dlms_client_config cfg;
    client_config(&cfg);
    cfg.mechanism = AMI_ACSE_MECH_GMAC;
    cfg.auth_value = ami_view_of(CTOS, sizeof CTOS);
    cfg.sec = &h->sec;
    assert_int_equal(ami_dlms_client_init(&h->c, &cfg), AMI_OK);
    uint8_t b[1024];
    ami_wr w;
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_associate(&h->c, &w), AMI_OK);
    if (!ek)
        same("ciphered AARQ (glo-initiateRequest)", b, w.len, recs[h->pos].p, recs[h->pos].len);
    h->pos++;
}

static void test_hls5_session(void **state)
{
    (void)state;
    static hls5 h;
    hls5_associate(&h, NULL);
    ami_dlms_client *c = &h.c;
    uint8_t b[4096], plain[4096];
    ami_wr w;
    ami_dlms_result res;
    size_t gets = 0, blocks = 0, ic_sets = 0;
    bool released = false;
    ami_wr_init(&w, b, sizeof b);
    for (; h.pos < nrecs; h.pos++) {
        const rec_apdu *r = &recs[h.pos];
        if (r->client != 1)
            continue;
        if (r->tx) {
            /* A request we must issue ourselves (GET-next comes from input()). */
            if (w.len) {
                same("request emitted by the session", b, w.len, r->p, r->len);
                w.len = 0;
                continue;
            }
            uint32_t ic = recorded_ic(r);
            if (ic != ami_dlms_client_sec_ic(&h.sec)) {
                ami_dlms_client_sec_set_ic(&h.sec, ic); /* the recorded client skipped one */
                ic_sets++;
            }
            ami_wr_init(&w, b, sizeof b);
            if (r->p[0] == AMI_ACSE_RLRQ) {
                assert_int_equal(ami_dlms_client_release(c, &w), AMI_OK);
            } else {
                assert_int_equal(r->p[0], AMI_APDU_GENERAL_GLO_CIPHERING);
                ami_dlms_client_sec_set_form(&h.sec, AMI_DLMS_SEC_FORM_GENERAL);
                size_t n = recorded_plain(r, plain, sizeof plain);
                ami_apdu a;
                assert_int_equal(ami_apdu_decode(plain, n, NULL, NULL, &a), AMI_OK);
                assert_int_equal(a.tag, AMI_APDU_GET_REQUEST);
                assert_int_equal(a.u.get_request.type, AMI_GET_NORMAL);
                assert_int_equal(ami_dlms_client_get(c, &a.u.get_request.attr, 1, &w), AMI_OK);
                gets++;
            }
            same("ciphered request", b, w.len, r->p, r->len);
            w.len = 0;
            continue;
        }
        ami_wr_init(&w, b, sizeof b);
        int rc = ami_dlms_client_input(c, r->p, r->len, &w, &res);
        if (r->p[0] == AMI_ACSE_RLRE) {
            /* The recorded server's RLRE declares wrong lengths (63 24 ... BE 22 for 40 and 35
             * bytes): refused by our strict decoder, and the association ends all the same.
             * Its glo-initiateResponse deciphers with the server's keys and IC 0x0F. */
            assert_int_equal(rc, AMI_E_MALFORMED);
            assert_int_equal(ami_dlms_client_state_get(c), AMI_DLMS_CLIENT_IDLE);
            released = true;
            ami_sec_apdu sa;
            assert_int_equal(ami_sec_apdu_parse(r->p + 9, r->len - 9, &sa, NULL), AMI_OK);
            assert_int_equal(sa.ic, 0x0F);
            ami_sec_ctx x;
            assert_int_equal(ami_sec_ctx_init(&x), AMI_OK);
            assert_int_equal(ami_sec_ctx_set_ek(&x, DF_EK, 16), AMI_OK);
            assert_int_equal(ami_sec_ctx_set_ak(&x, DF_AK, 16), AMI_OK);
            size_t pn;
            assert_int_equal(ami_sec_apdu_decrypt(&x, &sa, SERVER_ST, plain, sizeof plain, &pn),
                             AMI_OK);
            assert_int_equal(plain[0], AMI_APDU_INITIATE_RESPONSE);
            ami_sec_ctx_wipe(&x);
            continue;
        }
        if (rc != AMI_OK && rc != AMI_E_AGAIN)
            fail_msg("record %zu (%02X, %zu bytes): %s, refusal %d", h.pos, r->p[0], r->len,
                     ami_strerror(rc), ami_dlms_client_sec_refusal(&h.sec));
        if (rc == AMI_E_AGAIN) {
            assert_true(w.len > 0);
            continue;
        }
        w.len = 0;
        assert_int_equal(rc, AMI_OK);
        assert_int_equal(res.outcome, AMI_DLMS_SUCCESS);
        if (ami_dlms_client_state_get(c) == AMI_DLMS_CLIENT_IDLE) {
            released = true;
            continue;
        }
        blocks += res.blocks;
        if (res.has_data)
            check_data(res.data);
    }
    assert_true(released);
    assert_int_equal(gets, 2); /* the object list (in 10 blocks) and the clock */
    assert_int_equal(blocks, 10);
    assert_int_equal(ic_sets, 1); /* IC 4 unused by the recorded client between HLS and GET */
    assert_memory_equal(ami_dlms_client_sec_server_title(&h.sec), SERVER_ST, 8);
    assert_int_equal(ami_dlms_client_sec_refusal(&h.sec), AMI_DLMS_SEC_REFUSAL_NONE);
    assert_int_equal(ami_dlms_client_sec_server_ic(&h.sec), 0x0E); /* the last GET response's */
    ami_dlms_client_sec_wipe(&h.sec);
    free_session();
}

/* ---------------------------------------------------------------- refusals */

static ami_sec_ctx server_ctx;

/* A glo-get-response (SC sc, server IC ic) for invoke id 1 carrying an unsigned 0x2A, built as
 * the server would. general: general-glo-ciphering with system title st. */
static size_t server_response(uint8_t *out, size_t cap, uint8_t sc, uint32_t ic, bool general,
                              const uint8_t *st)
{
    static const uint8_t plain[] = {0xC4, 0x01, 0xC1, 0x00, 0x11, 0x2A};
    ami_wr w;
    ami_wr_init(&w, out, cap);
    if (!st)
        st = SERVER_ST; /* a service-specific APDU carries none: the IV uses the server's */
    assert_int_equal(
        ami_sec_apdu_build(&server_ctx, &w, general ? 0xDB : 0xCC, st, sc, ic, plain, sizeof plain),
        AMI_OK);
    return w.len;
}

static const ami_attr_sel clock_attr = {{8, {{0, 0, 1, 0, 0, 255}}, 2}, {false, 0, {NULL, 0}}};

/* Issues a GET on an associated session and feeds resp; returns input()'s code. */
static int get_with(hls5 *h, const uint8_t *resp, size_t n, ami_dlms_result *res)
{
    uint8_t b[512];
    ami_wr w;
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_get(&h->c, &clock_attr, 1, &w), AMI_OK);
    assert_int_equal(b[0], 0xC8); /* glo-get-request */
    memset(data_buf, 0, 64);
    return ami_dlms_client_input(&h->c, resp, n, &w, res);
}

/* Runs the recorded association to READY. */
static void associated(hls5 *h)
{
    hls5_associate(h, NULL);
    uint8_t b[1024];
    ami_wr w;
    ami_dlms_result res;
    /* AARE -> HLS pass 3 -> ACTION response */
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_input(&h->c, recs[h->pos].p, recs[h->pos].len, &w, &res),
                     AMI_E_AGAIN);
    same("HLS pass 3 (glo-action-request)", b, w.len, recs[h->pos + 1].p, recs[h->pos + 1].len);
    assert_int_equal(
        ami_dlms_client_input(&h->c, recs[h->pos + 2].p, recs[h->pos + 2].len, &w, &res), AMI_OK);
    assert_int_equal(res.outcome, AMI_DLMS_SUCCESS);
    assert_int_equal(ami_dlms_client_state_get(&h->c), AMI_DLMS_CLIENT_READY);
    h->pos += 3;
}

static void no_payload(void)
{
    /* the session's data buffer holds nothing of a refused APDU */
    for (size_t i = 0; i < 64; i++)
        assert_int_equal(data_buf[i], 0);
}

static void test_refusals(void **state)
{
    (void)state;
    static hls5 h;
    ami_dlms_result res;
    uint8_t r[256];
    char why[160];
    assert_int_equal(ami_sec_ctx_init(&server_ctx), AMI_OK);
    assert_int_equal(ami_sec_ctx_set_ek(&server_ctx, DF_EK, 16), AMI_OK);
    assert_int_equal(ami_sec_ctx_set_ak(&server_ctx, DF_AK, 16), AMI_OK);

    /* wrong key: the AARE's glo-initiateResponse does not authenticate */
    static uint8_t bad_ek[16] = {0xFF};
    hls5_associate(&h, bad_ek);
    uint8_t b[1024];
    ami_wr w;
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_input(&h.c, recs[h.pos].p, recs[h.pos].len, &w, &res),
                     AMI_E_AUTH);
    assert_int_equal(res.layer, AMI_DLMS_LAYER_SECURITY);
    assert_int_equal(ami_dlms_client_sec_refusal(&h.sec), AMI_DLMS_SEC_REFUSAL_TAG);
    assert_int_equal(ami_dlms_client_state_get(&h.c), AMI_DLMS_CLIENT_IDLE);
    assert_true(ami_dlms_client_sec_describe(&h.sec, why, sizeof why) > 0);
    assert_non_null(strstr(why, "security: authentication tag mismatch"));
    ami_dlms_client_sec_wipe(&h.sec);

    associated(&h);
    /* a good response */
    size_t n = server_response(r, sizeof r, 0x30, 100, false, NULL);
    assert_int_equal(get_with(&h, r, n, &res), AMI_OK);
    assert_true(res.has_data);
    assert_int_equal(res.data.p[1], 0x2A);

    /* a bit flipped in the ciphertext */
    n = server_response(r, sizeof r, 0x30, 101, false, NULL);
    r[7] ^= 0x01;
    assert_int_equal(get_with(&h, r, n, &res), AMI_E_AUTH);
    assert_int_equal(ami_dlms_client_sec_refusal(&h.sec), AMI_DLMS_SEC_REFUSAL_TAG);
    assert_int_equal(res.layer, AMI_DLMS_LAYER_SECURITY);
    assert_false(res.has_data);
    no_payload();
    assert_int_equal(ami_dlms_client_state_get(&h.c), AMI_DLMS_CLIENT_READY);

    /* a bit flipped in the tag */
    n = server_response(r, sizeof r, 0x30, 102, false, NULL);
    r[n - 1] ^= 0x80;
    assert_int_equal(get_with(&h, r, n, &res), AMI_E_AUTH);
    no_payload();

    /* replayed: a counter not above the last accepted (100) */
    n = server_response(r, sizeof r, 0x30, 100, false, NULL);
    assert_int_equal(get_with(&h, r, n, &res), AMI_E_REPLAY);
    assert_int_equal(ami_dlms_client_sec_refusal(&h.sec), AMI_DLMS_SEC_REFUSAL_REPLAY);
    assert_true(ami_dlms_client_sec_describe(&h.sec, why, sizeof why) > 0);
    assert_string_equal(why, "security: replayed invocation counter 100 (last accepted 100)");
    no_payload();

    /* another system title in a general-glo-ciphering response */
    static const uint8_t other_st[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    n = server_response(r, sizeof r, 0x30, 103, true, other_st);
    assert_int_equal(get_with(&h, r, n, &res), AMI_E_PROTOCOL);
    assert_int_equal(ami_dlms_client_sec_refusal(&h.sec), AMI_DLMS_SEC_REFUSAL_SYSTEM_TITLE);
    no_payload();
    /* the server's title in a general-glo-ciphering response: fine */
    n = server_response(r, sizeof r, 0x30, 104, true, SERVER_ST);
    assert_int_equal(get_with(&h, r, n, &res), AMI_OK);
    assert_int_equal(res.data.p[1], 0x2A);

    /* downgrade: authenticated only under an auth-enc policy, then plain */
    n = server_response(r, sizeof r, 0x10, 105, false, NULL);
    assert_int_equal(get_with(&h, r, n, &res), AMI_E_ACCESS);
    assert_int_equal(ami_dlms_client_sec_refusal(&h.sec), AMI_DLMS_SEC_REFUSAL_DOWNGRADE);
    no_payload();
    static const uint8_t plain_resp[] = {0xC4, 0x01, 0xC1, 0x00, 0x11, 0x2A};
    assert_int_equal(get_with(&h, plain_resp, sizeof plain_resp, &res), AMI_E_ACCESS);
    assert_int_equal(ami_dlms_client_sec_refusal(&h.sec), AMI_DLMS_SEC_REFUSAL_DOWNGRADE);
    no_payload();
    /* a plain exception-response is an error report: let through as the outcome */
    static const uint8_t exc[] = {0xD8, 0x01, 0x05};
    assert_int_equal(get_with(&h, exc, sizeof exc, &res), AMI_OK);
    assert_int_equal(res.outcome, AMI_DLMS_EXCEPTION);

    /* another suite, a broadcast key we do not hold */
    n = server_response(r, sizeof r, 0x31, 106, false, NULL);
    assert_int_equal(get_with(&h, r, n, &res), AMI_E_MALFORMED);
    assert_int_equal(ami_dlms_client_sec_refusal(&h.sec), AMI_DLMS_SEC_REFUSAL_SUITE);
    n = server_response(r, sizeof r, 0x70, 107, false, NULL);
    assert_int_equal(get_with(&h, r, n, &res), AMI_E_KEY);
    assert_int_equal(ami_dlms_client_sec_refusal(&h.sec), AMI_DLMS_SEC_REFUSAL_KEY);

    /* and the session still works */
    n = server_response(r, sizeof r, 0x30, 108, false, NULL);
    assert_int_equal(get_with(&h, r, n, &res), AMI_OK);
    assert_int_equal(res.data.p[1], 0x2A);
    assert_int_equal(ami_dlms_client_sec_server_ic(&h.sec), 108);

    ami_dlms_client_sec_wipe(&h.sec);
    ami_sec_ctx_wipe(&server_ctx);
    free_session();
}

/* ---------------------------------------------------------------- Green Book examples */

static void test_green_book_aarq(void **state)
{
    (void)state;
    /* gb_suite0_ciphering.txt: AARQ_WITH_IT (LLS "12345678", glo-initiateRequest with the
     * dedicated key, IC 01234567, system title 4D4D4D0000BC614E) */
    static const uint8_t st[8] = {0x4D, 0x4D, 0x4D, 0x00, 0x00, 0xBC, 0x61, 0x4E};
    static const uint8_t ded[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                    0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF};
    size_t wn, rn;
    uint8_t *want = tu_hex("6066A109060760857405080103A60A04084D4D4D0000BC614E8A0207808B07608574"
                           "05080201AC0A80083132333435363738BE34043221303001234567801302FF8A78"
                           "74133D414CED25B42534D28DB0047720606B175BD52211BE6841DB204D39EE6FDB"
                           "8E356855",
                           &wn);
    static ami_dlms_client c;
    static ami_dlms_client_sec sec;
    ami_dlms_sec_config sc;
    sec_config(&sc, AMI_DLMS_SEC_AUTH_ENC);
    sc.client_title = st;
    sc.ic = 0x01234567;
    sc.dedicated_key = ded;
    sc.dedicated_key_len = sizeof ded;
    assert_int_equal(ami_dlms_client_sec_init(&sec, &sc), AMI_OK);
    ami_dlms_client_config cfg;
    client_config(&cfg);
    cfg.mechanism = AMI_ACSE_MECH_LOW;
    cfg.auth_value = ami_view_of("12345678", 8);
    cfg.conformance = 0x007E1F;
    cfg.max_pdu = 0x04B0;
    cfg.sec = &sec;
    assert_int_equal(ami_dlms_client_init(&c, &cfg), AMI_OK);
    uint8_t b[512];
    ami_wr w;
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_associate(&c, &w), AMI_OK);
    same("Green Book AARQ with glo-initiateRequest", b, w.len, want, wn);
    assert_int_equal(ami_dlms_client_sec_ic(&sec), 0x01234568);
    /* The AARE carrying the Green Book glo-initiateResponse (same title and keys). */
    uint8_t *gir =
        tu_hex("281F3001234567891214A0845E475714383F65BC19745CA235906525E4F3E1C893", &rn);
    ami_aare e;
    memset(&e, 0, sizeof e);
    e.c.context = AMI_ACSE_CONTEXT_LN_CIPHER;
    e.diag_source = AMI_ACSE_DIAG_USER;
    e.c.ap_title = ami_view_of(st, 8);
    e.c.has_user_information = true;
    e.c.user_information = ami_view_of(gir, rn);
    uint8_t ab[256];
    ami_wr aw;
    ami_wr_init(&aw, ab, sizeof ab);
    assert_int_equal(ami_aare_encode(&aw, &e), AMI_OK);
    ami_dlms_result res;
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_input(&c, ab, aw.len, &w, &res), AMI_OK);
    assert_int_equal(res.outcome, AMI_DLMS_SUCCESS);
    assert_int_equal(ami_dlms_client_conformance(&c), 0x007C1F);
    /* with a dedicated key, requests go ded-ciphered (ded-get-request 0xD0) */
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_get(&c, &clock_attr, 1, &w), AMI_OK);
    assert_int_equal(b[0], 0xD0);
    size_t kl;
    assert_non_null(ami_dlms_client_sec_dedicated_key(&sec, &kl));
    assert_int_equal(kl, 16);
    /* ... and the server's ded-get-response is deciphered with the dedicated key */
    ami_sec_ctx x;
    assert_int_equal(ami_sec_ctx_init(&x), AMI_OK);
    assert_int_equal(ami_sec_ctx_set_ek(&x, ded, 16), AMI_OK);
    assert_int_equal(ami_sec_ctx_set_ak(&x, DF_AK, 16), AMI_OK);
    static const uint8_t plain[] = {0xC4, 0x01, 0xC1, 0x00, 0x11, 0x07};
    uint8_t r[128];
    ami_wr rw;
    ami_wr_init(&rw, r, sizeof r);
    assert_int_equal(ami_sec_apdu_build(&x, &rw, 0xD4, st, 0x30, 0x01234568, plain, sizeof plain),
                     AMI_OK);
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_input(&c, r, rw.len, &w, &res), AMI_OK);
    assert_true(res.has_data);
    assert_int_equal(res.data.p[1], 0x07);
    ami_sec_ctx_wipe(&x);
    ami_dlms_client_sec_wipe(&sec);
    free(want);
    free(gir);
}

/* Table 43: HLS-GMAC pass 3 through the built-in hook: ACTION with f(StoC). */
static void test_green_book_hls5(void **state)
{
    (void)state;
    static const uint8_t cst[8] = {0x4D, 0x4D, 0x4D, 0x00, 0x00, 0x00, 0x00, 0x01};
    static const uint8_t sst[8] = {0x4D, 0x4D, 0x4D, 0x00, 0x00, 0xBC, 0x61, 0x4E};
    static ami_dlms_client c;
    static ami_dlms_client_sec sec;
    ami_dlms_sec_config sc;
    sec_config(&sc, AMI_DLMS_SEC_NONE);
    sc.client_title = cst;
    sc.ic = 1;
    assert_int_equal(ami_dlms_client_sec_init(&sec, &sc), AMI_OK);
    ami_dlms_client_config cfg;
    client_config(&cfg);
    cfg.mechanism = AMI_ACSE_MECH_GMAC;
    cfg.auth_value = ami_view_of("K56iVagY", 8); /* CtoS 4B35366956616759 */
    cfg.sec = &sec;
    assert_int_equal(ami_dlms_client_init(&c, &cfg), AMI_OK);
    uint8_t b[512];
    ami_wr w;
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_associate(&c, &w), AMI_OK);
    ami_aarq q;
    assert_int_equal(ami_aarq_decode(b, w.len, &q), AMI_OK);
    assert_int_equal(q.c.context, AMI_ACSE_CONTEXT_LN); /* no ciphering policy */
    assert_int_equal(q.c.ap_title.len, 8);              /* GMAC needs our title */
    /* AARE: StoC 503677524A323146 ("P6wRJ21F"), responding-AP-title sst */
    ami_apdu ini;
    memset(&ini, 0, sizeof ini);
    ini.tag = AMI_APDU_INITIATE_RESPONSE;
    ini.u.initiate_response.dlms_version = 6;
    ini.u.initiate_response.conformance = AMI_CONF_GET | AMI_CONF_ACTION;
    ini.u.initiate_response.max_pdu_size = 512;
    ini.u.initiate_response.vaa_name = 7;
    uint8_t ui[32], ab[256];
    ami_wr uw, aw;
    ami_wr_init(&uw, ui, sizeof ui);
    assert_int_equal(ami_apdu_encode(&uw, &ini), AMI_OK);
    ami_aare e;
    memset(&e, 0, sizeof e);
    e.c.context = AMI_ACSE_CONTEXT_LN;
    e.c.ap_title = ami_view_of(sst, 8);
    e.diag_source = AMI_ACSE_DIAG_USER;
    e.diagnostic = AMI_ACSE_USER_AUTHENTICATION_REQUIRED;
    e.c.has_mechanism = true;
    e.c.mechanism = AMI_ACSE_MECH_GMAC;
    e.c.has_auth_value = true;
    e.c.auth_value = ami_view_of("P6wRJ21F", 8);
    e.c.has_user_information = true;
    e.c.user_information = ami_view_of(ui, uw.len);
    ami_wr_init(&aw, ab, sizeof ab);
    assert_int_equal(ami_aare_encode(&aw, &e), AMI_OK);
    ami_dlms_result res;
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_input(&c, ab, aw.len, &w, &res), AMI_E_AGAIN);
    size_t fn;
    uint8_t *f = tu_hex("C301C1000F0000280000FF01010911 10000000011A52FE7DD3E72748973C1E28", &fn);
    same("Table 43 f(StoC) in reply_to_HLS_authentication", b, w.len, f, fn);
    free(f);
    /* pass 4: the server's f(CtoS) of Table 43 */
    size_t rn;
    uint8_t *resp = tu_hex("C701C1000100091110 01234567FE1466AFB3DBCD4F9389E2B7", &rn);
    assert_int_equal(ami_dlms_client_input(&c, resp, rn, &w, &res), AMI_OK);
    assert_int_equal(res.outcome, AMI_DLMS_SUCCESS);
    assert_int_equal(ami_dlms_client_sec_server_ic(&sec), 0x01234567);
    /* a tampered f(CtoS): authentication failed */
    free(resp);
    ami_dlms_client_sec_wipe(&sec);
}

/* ---------------------------------------------------------------- invocation counter */

typedef struct ic_log {
    uint32_t saved, warned;
    int saves, warnings;
    int fail;
} ic_log;

static int ic_save(void *user, uint32_t next)
{
    ic_log *l = user;
    if (l->fail)
        return l->fail;
    l->saved = next;
    l->saves++;
    return AMI_OK;
}

static void ic_warn(void *user, uint32_t ic)
{
    ic_log *l = user;
    l->warned = ic;
    l->warnings++;
}

static void test_invocation_counter(void **state)
{
    (void)state;
    static ami_dlms_client c;
    static ami_dlms_client_sec sec;
    ic_log log = {0};
    ami_dlms_sec_config sc;
    sec_config(&sc, AMI_DLMS_SEC_AUTH_ENC);
    sc.ic = 0xFFFFFFFE;
    sc.ic_warn = 0xFFFFFFF0;
    sc.ic_save = ic_save;
    sc.ic_warning = ic_warn;
    sc.user = &log;
    assert_int_equal(ami_dlms_client_sec_init(&sec, &sc), AMI_OK);
    ami_dlms_client_config cfg;
    client_config(&cfg);
    cfg.sec = &sec;
    assert_int_equal(ami_dlms_client_init(&c, &cfg), AMI_OK);
    uint8_t b[512];
    ami_wr w;
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_associate(&c, &w), AMI_OK);
    assert_int_equal(log.saved, 0xFFFFFFFF);
    assert_int_equal(log.warnings, 1);
    assert_int_equal(log.warned, 0xFFFFFFFE);
    ami_dlms_client_reset(&c);
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_associate(&c, &w), AMI_OK); /* uses 0xFFFFFFFF */
    assert_int_equal(log.warnings, 1);                           /* once per session */
    ami_dlms_client_reset(&c);
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_associate(&c, &w), AMI_E_RANGE);
    assert_int_equal(ami_dlms_client_sec_refusal(&sec), AMI_DLMS_SEC_REFUSAL_IC_EXHAUSTED);
    /* a failing save: nothing is sent */
    ami_dlms_client_sec_set_ic(&sec, 10);
    log.fail = AMI_E_IO;
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_associate(&c, &w), AMI_E_IO);
    assert_int_equal(ami_dlms_client_sec_ic(&sec), 10);
    ami_dlms_client_sec_wipe(&sec);
}

/* Short-name services are ciphered too: glo-read-request (0x25), its glo-read-response
 * deciphered. */
static void test_sn_ciphered(void **state)
{
    (void)state;
    static ami_dlms_client c;
    static ami_dlms_client_sec sec;
    ami_dlms_sec_config sc;
    sec_config(&sc, AMI_DLMS_SEC_AUTH_ENC);
    assert_int_equal(ami_dlms_client_sec_init(&sec, &sc), AMI_OK);
    ami_dlms_client_config cfg;
    client_config(&cfg);
    cfg.context = AMI_ACSE_CONTEXT_SN;
    cfg.sec = &sec;
    assert_int_equal(ami_dlms_client_init(&c, &cfg), AMI_OK);
    uint8_t b[512];
    ami_wr w;
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_associate(&c, &w), AMI_OK);
    ami_aarq q;
    assert_int_equal(ami_aarq_decode(b, w.len, &q), AMI_OK);
    assert_int_equal(q.c.context, AMI_ACSE_CONTEXT_SN_CIPHER);
    /* AARE with a glo-initiateResponse from the server */
    assert_int_equal(ami_sec_ctx_init(&server_ctx), AMI_OK);
    assert_int_equal(ami_sec_ctx_set_ek(&server_ctx, DF_EK, 16), AMI_OK);
    assert_int_equal(ami_sec_ctx_set_ak(&server_ctx, DF_AK, 16), AMI_OK);
    static const uint8_t ini[] = {0x08, 0x00, 0x06, 0x5F, 0x1F, 0x04, 0x00,
                                  0x1C, 0x03, 0x20, 0x04, 0x00, 0xFA, 0x00};
    uint8_t ui[128], ab[256], r[128];
    ami_wr uw, aw, rw;
    ami_wr_init(&uw, ui, sizeof ui);
    assert_int_equal(ami_sec_apdu_build(&server_ctx, &uw, AMI_APDU_GLO_INITIATE_RESPONSE, SERVER_ST,
                                        0x30, 1, ini, sizeof ini),
                     AMI_OK);
    ami_aare e;
    memset(&e, 0, sizeof e);
    e.c.context = AMI_ACSE_CONTEXT_SN_CIPHER;
    e.diag_source = AMI_ACSE_DIAG_USER;
    e.c.ap_title = ami_view_of(SERVER_ST, 8);
    e.c.has_user_information = true;
    e.c.user_information = ami_view_of(ui, uw.len);
    ami_wr_init(&aw, ab, sizeof ab);
    assert_int_equal(ami_aare_encode(&aw, &e), AMI_OK);
    ami_dlms_result res;
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_input(&c, ab, aw.len, &w, &res), AMI_OK);
    assert_int_equal(res.outcome, AMI_DLMS_SUCCESS);
    ami_sn_access item;
    memset(&item, 0, sizeof item);
    item.kind = AMI_SN_VARIABLE_NAME;
    item.name = 0x2B08;
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_read(&c, &item, 1, &w), AMI_OK);
    assert_int_equal(b[0], 0x25); /* glo-read-request */
    /* ReadResponse: one data item, unsigned 7 */
    static const uint8_t rr[] = {0x0C, 0x01, 0x00, 0x11, 0x07};
    ami_wr_init(&rw, r, sizeof r);
    assert_int_equal(ami_sec_apdu_build(&server_ctx, &rw, 0x2C, SERVER_ST, 0x30, 2, rr, sizeof rr),
                     AMI_OK);
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_input(&c, r, rw.len, &w, &res), AMI_OK);
    assert_int_equal(res.outcome, AMI_DLMS_SUCCESS);
    ami_sec_ctx_wipe(&server_ctx);
    ami_dlms_client_sec_wipe(&sec);
}

static void test_config(void **state)
{
    (void)state;
    static ami_dlms_client_sec sec;
    static ami_dlms_client c;
    ami_dlms_sec_config sc;
    sec_config(&sc, AMI_DLMS_SEC_AUTH_ENC);
    sc.ek_len = 32; /* suite 0 needs 16 bytes */
    assert_int_equal(ami_dlms_client_sec_init(&sec, &sc), AMI_E_KEY);
    sec_config(&sc, AMI_DLMS_SEC_AUTH);
    sc.ak = NULL;
    assert_int_equal(ami_dlms_client_sec_init(&sec, &sc), AMI_E_KEY);
    sec_config(&sc, AMI_DLMS_SEC_AUTH_ENC);
    sc.client_title = NULL;
    assert_int_equal(ami_dlms_client_sec_init(&sec, &sc), AMI_E_CONFIG);
    sec_config(&sc, AMI_DLMS_SEC_NONE);
    sc.random_dedicated_key = true;
    assert_int_equal(ami_dlms_client_sec_init(&sec, &sc), AMI_E_CONFIG);
    sec_config(&sc, AMI_DLMS_SEC_AUTH_ENC);
    sc.suite = 3;
    assert_int_equal(ami_dlms_client_sec_init(&sec, &sc), AMI_E_CONFIG);
    /* mechanism 3 without a secret */
    sec_config(&sc, AMI_DLMS_SEC_NONE);
    assert_int_equal(ami_dlms_client_sec_init(&sec, &sc), AMI_OK);
    ami_dlms_client_config cfg;
    client_config(&cfg);
    cfg.mechanism = AMI_ACSE_MECH_MD5;
    cfg.sec = &sec;
    assert_int_equal(ami_dlms_client_init(&c, &cfg), AMI_E_KEY);
    cfg.mechanism = AMI_ACSE_MECH_ECDSA;
    assert_int_equal(ami_dlms_client_init(&c, &cfg), AMI_E_KEY);
    ami_dlms_client_sec_wipe(&sec);
    /* random dedicated key: 32 bytes for suite 2, two draws differ */
    static uint8_t k32[32];
    sec_config(&sc, AMI_DLMS_SEC_AUTH_ENC);
    sc.suite = 2;
    sc.ek = sc.ak = k32;
    sc.ek_len = sc.ak_len = 32;
    sc.random_dedicated_key = true;
    assert_int_equal(ami_dlms_client_sec_init(&sec, &sc), AMI_OK);
    size_t kl;
    uint8_t first[32];
    memcpy(first, ami_dlms_client_sec_dedicated_key(&sec, &kl), 32);
    assert_int_equal(kl, 32);
    ami_dlms_client_sec_wipe(&sec);
    assert_int_equal(ami_dlms_client_sec_init(&sec, &sc), AMI_OK);
    assert_memory_not_equal(first, ami_dlms_client_sec_dedicated_key(&sec, &kl), 32);
    ami_dlms_client_sec_wipe(&sec);
    assert_string_equal(ami_dlms_sec_level_name(AMI_DLMS_SEC_AUTH_ENC), "auth-enc");
    assert_int_equal(ami_dlms_sec_level_parse("enc"), AMI_DLMS_SEC_ENC);
    assert_int_equal(ami_dlms_sec_level_parse("bogus"), AMI_E_NOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hls5_session),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_green_book_aarq),
        cmocka_unit_test(test_green_book_hls5),
        cmocka_unit_test(test_invocation_counter),
        cmocka_unit_test(test_sn_ciphered),
        cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
