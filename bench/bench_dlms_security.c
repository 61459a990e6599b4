/*
 * DLMS security costs, as ratios measured in the same run:
 *
 *   1. a ciphered GET round trip (client builds glo-get-request with auth-enc suite 0, server
 *      deciphers, answers, ciphers the glo-get-response, client deciphers and checks tag,
 *      title and counter) against the same GET in plain APDUs, client and server in process;
 *   2. AES-GCM per APDU (ami_sec_apdu_build: header + GCM with AAD SC||AK + tag) against raw
 *      OpenSSL EVP on the same bytes with a pre-keyed context (IV, AAD, encrypt, tag), for a
 *      short GET-sized APDU and a 1 KiB one; and the decryption side (ami_sec_apdu_parse +
 *      ami_sec_apdu_decrypt against raw EVP decrypt + tag check).
 * Usage: bench_dlms_security (BENCH_MS sets the time per figure).
 * SPDX-License-Identifier: Apache-2.0
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ami/ami.h"
#include "benchutil.h"

static const uint8_t CST[8] = {'O', 'A', 'M', 0, 0, 0, 0, 1};
static const uint8_t SST[8] = {'O', 'A', 'M', 0, 0, 0, 0, 2};
static uint8_t EK[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
static uint8_t AK[16] = {0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7,
                         0xD8, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF};

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_dlms_security: %s: %s\n", what, ami_strerror(rc));
    exit(1);
}

/* ---------------------------------------------------------------- round trip */

typedef struct pair {
    ami_cosem_obj objs[2];
    ami_cosem_store store;
    uint8_t value[8];
    ami_dlms_sec_policy sp;
    ami_dlms_policy pol;
    ami_replay_entry slots[2];
    ami_replay replay;
    ami_dlms_server_sec sec;
    ami_dlms_server s;
    ami_dlms_assoc a;
    uint8_t block[4096], scratch[2048], cipher[4096];
    uint32_t server_ic;
    /* client */
    ami_dlms_client c;
    ami_dlms_client_sec csec;
    uint8_t data[4096], buf[4096], req[512], resp[512], next[512];
} pair;

static int64_t now(void *u)
{
    (void)u;
    return 1795327200;
}

static int kp_get(void *u, uint16_t sap, ami_dlms_keys *k)
{
    (void)u;
    (void)sap;
    k->guek = EK;
    k->guek_len = 16;
    k->ak = AK;
    k->ak_len = 16;
    return AMI_OK;
}

static int kp_next_ic(void *u, uint16_t sap, uint32_t *ic)
{
    pair *p = u;
    (void)sap;
    *ic = p->server_ic++;
    return AMI_OK;
}

static void pair_setup(pair *p, bool ciphered)
{
    memset(p, 0, sizeof *p);
    p->value[0] = AMI_AXDR_DOUBLE_LONG_UNSIGNED;
    p->value[4] = 42;
    p->objs[0] =
        (ami_cosem_obj){.class_id = AMI_COSEM_ASSOCIATION_LN, .ln = AMI_OBIS(0, 0, 40, 0, 0, 255)};
    p->objs[1] = (ami_cosem_obj){.class_id = AMI_COSEM_DATA,
                                 .ln = AMI_OBIS(0, 0, 96, 1, 9, 255),
                                 .value = p->value,
                                 .value_cap = sizeof p->value,
                                 .value_len = 5};
    ami_cosem_clock_src clk = {now, NULL, NULL};
    int rc = ami_cosem_store_init(&p->store, p->objs, 2, &clk);
    p->sp = (ami_dlms_sec_policy){.suite = 0, .security_policy = AMI_DLMS_SECPOL_AUTH_ENC};
    p->pol = (ami_dlms_policy){.client_sap = 16,
                               .context = AMI_ACSE_CONTEXT_LN,
                               .conformance = 0x00FFFFFF,
                               .max_pdu = 1024,
                               .sec = ciphered ? &p->sp : NULL};
    ami_replay_init(&p->replay, p->slots, 2, NULL);
    p->sec = (ami_dlms_server_sec){
        .system_title = SST, .keys = {kp_get, NULL, kp_next_ic, p}, .replay = &p->replay};
    ami_dlms_server_config cfg = {.ops = &ami_cosem_store_ops,
                                  .store = &p->store,
                                  .policies = &p->pol,
                                  .policy_count = 1,
                                  .server_sap = 1,
                                  .sec = &p->sec};
    if (!rc)
        rc = ami_dlms_server_init(&p->s, &cfg);
    ami_dlms_assoc_mem mem = {p->block,          sizeof p->block, p->scratch,
                              sizeof p->scratch, p->cipher,       sizeof p->cipher};
    if (!rc)
        rc = ami_dlms_assoc_init(&p->a, &p->s, 16, &mem);
    if (rc)
        die("server", rc);
    ami_dlms_sec_config sc = {.level = ciphered ? AMI_DLMS_SEC_AUTH_ENC : AMI_DLMS_SEC_NONE,
                              .client_title = CST,
                              .ek = EK,
                              .ek_len = 16,
                              .ak = AK,
                              .ak_len = 16,
                              .ic = 1,
                              .buf = p->buf,
                              .cap = sizeof p->buf};
    if ((rc = ami_dlms_client_sec_init(&p->csec, &sc)) != AMI_OK)
        die("client security", rc);
    ami_dlms_client_config cfg2 = {.max_pdu = 1024,
                                   .data_buf = p->data,
                                   .data_cap = sizeof p->data,
                                   .sec = ciphered ? &p->csec : NULL};
    if ((rc = ami_dlms_client_init(&p->c, &cfg2)) != AMI_OK)
        die("client", rc);
    ami_wr w;
    ami_wr_init(&w, p->req, sizeof p->req);
    if ((rc = ami_dlms_client_associate(&p->c, &w)) != AMI_OK)
        die("associate", rc);
    int n = ami_dlms_assoc_handle(&p->a, p->req, w.len, p->resp, sizeof p->resp);
    ami_dlms_result res;
    ami_wr_init(&w, p->next, sizeof p->next);
    rc = n > 0 ? ami_dlms_client_input(&p->c, p->resp, (size_t)n, &w, &res) : AMI_E_PROTOCOL;
    if (rc || res.outcome != AMI_DLMS_SUCCESS)
        die("association", rc ? rc : AMI_E_REFUSED);
}

static const ami_attr_sel get_attr = {{1, {{0, 0, 96, 1, 9, 255}}, 2}, {false, 0, {NULL, 0}}};

static uint64_t round_trip(void *ctx)
{
    pair *p = ctx;
    ami_wr w;
    ami_wr_init(&w, p->req, sizeof p->req);
    int rc = ami_dlms_client_get(&p->c, &get_attr, 1, &w);
    int n = rc ? rc : ami_dlms_assoc_handle(&p->a, p->req, w.len, p->resp, sizeof p->resp);
    ami_dlms_result res;
    ami_wr_init(&w, p->next, sizeof p->next);
    rc = n > 0 ? ami_dlms_client_input(&p->c, p->resp, (size_t)n, &w, &res) : AMI_E_PROTOCOL;
    if (rc || !res.has_data)
        die("GET round trip", rc ? rc : AMI_E_PROTOCOL);
    return res.data.p[4];
}

/* ---------------------------------------------------------------- GCM per APDU */

typedef struct gcm {
    ami_sec_ctx ctx;
    EVP_CIPHER_CTX *evp;
    uint8_t plain[1024], out[1100], dec[1100];
    size_t n;
    uint32_t ic;
    size_t apdu_len; /* a built APDU in out (for the decryption side) */
} gcm;

static uint64_t ours_encrypt(void *ctx)
{
    gcm *g = ctx;
    ami_wr w;
    ami_wr_init(&w, g->out, sizeof g->out);
    int rc = ami_sec_apdu_build(&g->ctx, &w, 0xC8, CST, 0x30, g->ic++, g->plain, g->n);
    if (rc)
        die("ami_sec_apdu_build", rc);
    return g->out[w.len - 1];
}

static uint64_t raw_encrypt(void *ctx)
{
    gcm *g = ctx;
    uint8_t iv[12], sc = 0x30, tag[16];
    memcpy(iv, CST, 8);
    ami_enc32be(iv + 8, g->ic++);
    int l = 0;
    if (EVP_EncryptInit_ex(g->evp, NULL, NULL, NULL, iv) != 1 ||
        EVP_EncryptUpdate(g->evp, NULL, &l, &sc, 1) != 1 ||
        EVP_EncryptUpdate(g->evp, NULL, &l, AK, 16) != 1 ||
        EVP_EncryptUpdate(g->evp, g->out + 7, &l, g->plain, (int)g->n) != 1 ||
        EVP_EncryptFinal_ex(g->evp, g->out + 7 + l, &l) != 1 ||
        EVP_CIPHER_CTX_ctrl(g->evp, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1)
        die("EVP encrypt", AMI_E_CRYPTO);
    return tag[0];
}

static uint64_t ours_decrypt(void *ctx)
{
    gcm *g = ctx;
    ami_sec_apdu a;
    size_t n;
    int rc = ami_sec_apdu_parse(g->out, g->apdu_len, &a, NULL);
    if (!rc)
        rc = ami_sec_apdu_decrypt(&g->ctx, &a, CST, g->dec, sizeof g->dec, &n);
    if (rc)
        die("ami_sec_apdu_decrypt", rc);
    return g->dec[0];
}

static uint64_t raw_decrypt(void *ctx)
{
    gcm *g = ctx;
    /* the same APDU: header of 1 tag + length (1 or 3) + SC + IC */
    size_t hdr = g->n + 17 < 0x80 ? 2 : 4;
    const uint8_t *c = g->out + hdr;
    uint8_t iv[12], tag[12];
    memcpy(iv, CST, 8);
    memcpy(iv + 8, c + 1, 4);
    memcpy(tag, c + 5 + g->n, 12);
    int l = 0;
    if (EVP_DecryptInit_ex(g->evp, NULL, NULL, NULL, iv) != 1 ||
        EVP_DecryptUpdate(g->evp, NULL, &l, c, 1) != 1 ||
        EVP_DecryptUpdate(g->evp, NULL, &l, AK, 16) != 1 ||
        EVP_DecryptUpdate(g->evp, g->dec, &l, c + 5, (int)g->n) != 1 ||
        EVP_CIPHER_CTX_ctrl(g->evp, EVP_CTRL_GCM_SET_TAG, 12, tag) != 1 ||
        EVP_DecryptFinal_ex(g->evp, g->dec + l, &l) != 1)
        die("EVP decrypt", AMI_E_CRYPTO);
    return g->dec[0];
}

static void gcm_figures(size_t n)
{
    static gcm g;
    memset(&g.plain, 0x5A, sizeof g.plain);
    g.n = n;
    g.ic = 1;
    int rc = ami_sec_ctx_init(&g.ctx);
    if (!rc)
        rc = ami_sec_ctx_set_ek(&g.ctx, EK, 16);
    if (!rc)
        rc = ami_sec_ctx_set_ak(&g.ctx, AK, 16);
    if (rc)
        die("ami_sec_ctx", rc);
    g.evp = EVP_CIPHER_CTX_new();
    if (!g.evp || EVP_EncryptInit_ex(g.evp, EVP_aes_128_gcm(), NULL, EK, NULL) != 1)
        die("EVP", AMI_E_CRYPTO);
    char name[64];
    double base = bench_run(raw_encrypt, &g, bench_ms());
    double ours = bench_run(ours_encrypt, &g, bench_ms());
    snprintf(name, sizeof name, "AES-GCM encrypt, %zu-byte APDU", n);
    bench_report(name, ours, "raw EVP", base, n);
    /* decryption of one APDU built above */
    ami_wr w;
    ami_wr_init(&w, g.out, sizeof g.out);
    if ((rc = ami_sec_apdu_build(&g.ctx, &w, 0xC8, CST, 0x30, 7, g.plain, n)) != AMI_OK)
        die("build", rc);
    g.apdu_len = w.len;
    EVP_CIPHER_CTX_free(g.evp);
    g.evp = EVP_CIPHER_CTX_new();
    if (!g.evp || EVP_DecryptInit_ex(g.evp, EVP_aes_128_gcm(), NULL, EK, NULL) != 1)
        die("EVP", AMI_E_CRYPTO);
    base = bench_run(raw_decrypt, &g, bench_ms());
    ours = bench_run(ours_decrypt, &g, bench_ms());
    snprintf(name, sizeof name, "AES-GCM decrypt, %zu-byte APDU", n);
    bench_report(name, ours, "raw EVP", base, n);
    EVP_CIPHER_CTX_free(g.evp);
    ami_sec_ctx_wipe(&g.ctx);
}

int main(void)
{
    static pair plain, ciph;
    pair_setup(&plain, false);
    pair_setup(&ciph, true);
    double best_p = 1e30, best_c = 1e30;
    for (int round = 0; round < 3; round++) {
        double p = bench_run(round_trip, &plain, bench_ms());
        double c = bench_run(round_trip, &ciph, bench_ms());
        best_p = p < best_p ? p : best_p;
        best_c = c < best_c ? c : best_c;
    }
    bench_report("ciphered GET round trip (auth-enc, suite 0)", best_c, "plain GET round trip",
                 best_p, 0);
    gcm_figures(13);
    gcm_figures(1024);
    ami_dlms_client_sec_wipe(&plain.csec);
    ami_dlms_client_sec_wipe(&ciph.csec);
    ami_dlms_assoc_reset(&plain.a); /* frees the server association's cipher contexts */
    ami_dlms_assoc_reset(&ciph.a);
    return 0;
}
