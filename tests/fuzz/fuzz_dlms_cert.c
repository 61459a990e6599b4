/*
 * libFuzzer target: the certificate decoders of Security Setup version 1 (ami/dlms_cert.h) and
 * the engine's certificate methods.
 *
 * Input byte 0 selects:
 *   0: certificate_identification (ami_dlms_cert_id_decode): an accepted input must re-encode
 *      to exactly the same bytes;
 *   1: the certificates attribute (ami_dlms_cert_list_*): every accepted element re-encodes to
 *      the bytes it came from;
 *   2: X.509 DER (ami_dlms_cert_info_of, d2i_X509 on a bounded buffer): what it writes must be
 *      one certificate_info the list decoder accepts;
 *   3..: the method parameters: a server with a pre-established secured SAP and a certificate
 *      provider (one generated P-256 key pair; an empty store at each input) gets Security Setup
 *      method 3 + (byte 0 - 3) % 6 with the rest as parameters (one Data, else the engine
 *      refuses it before the method), ciphered with authentication; the response must decrypt
 *      and be an ACTION response.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/obj_mac.h>

#include "ami/ami.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t EK[16] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                               0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F};
static const uint8_t AK[16] = {0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7,
                               0xD8, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF};
static const uint8_t CST[8] = {'C', 'L', 'I', 'E', 'N', 'T', '0', '1'};
static const uint8_t SST[8] = {'S', 'E', 'R', 'V', 'E', 'R', '0', '1'};

static uint8_t enc[1 << 16];

/* ---------------------------------------------------------------- codecs */

static void ident(const uint8_t *d, size_t n)
{
    ami_dlms_cert_id id;
    if (ami_dlms_cert_id_decode(d, n, &id) != AMI_OK)
        return;
    ami_wr w;
    ami_wr_init(&w, enc, sizeof enc);
    ami_dlms_cert_id_encode(&w, &id);
    if (ami_wr_error(&w) || w.len != n || memcmp(enc, d, n) != 0)
        abort();
}

static void list(const uint8_t *d, size_t n)
{
    ami_dlms_cert_list it;
    if (ami_dlms_cert_list_begin(&it, d, n) != AMI_OK)
        return;
    ami_dlms_cert_info info;
    size_t at = n - ami_rd_left(&it.r);
    int rc;
    while ((rc = ami_dlms_cert_list_next(&it, &info)) == 1) {
        ami_wr w;
        ami_wr_init(&w, enc, sizeof enc);
        ami_dlms_cert_info_encode(&w, &info);
        size_t end = n - ami_rd_left(&it.r);
        /* lengths in the input may be non-minimal; re-encoding never makes them longer */
        if (ami_wr_error(&w) || w.len > end - at || info.entity > 3 || info.type > 3)
            abort();
        at = end;
    }
    if (rc > 0)
        abort();
}

static void x509(const uint8_t *d, size_t n)
{
    ami_wr w;
    ami_wr_init(&w, enc + 4, sizeof enc - 4);
    if (ami_dlms_cert_info_of(&w, d, n, 1, 2) != AMI_OK)
        return;
    /* wrap it in a one-element array and read it back */
    enc[0] = AMI_AXDR_ARRAY;
    enc[1] = 1;
    memmove(enc + 2, enc + 4, w.len);
    ami_dlms_cert_list it;
    ami_dlms_cert_info info;
    if (ami_dlms_cert_list_begin(&it, enc, w.len + 2) != AMI_OK ||
        ami_dlms_cert_list_next(&it, &info) != 1 || ami_dlms_cert_list_next(&it, &info) != 0 ||
        info.entity != 1 || info.type != 2)
        abort();
}

/* ---------------------------------------------------------------- engine */

static uint32_t server_ic, client_ic;
static EVP_PKEY *key;
static uint8_t store_der[2][AMI_DLMS_CERT_MAX];
static ami_dlms_cert store[2];
static size_t nstore;

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
    (void)u;
    (void)sap;
    *ic = ++server_ic;
    return AMI_OK;
}

static int cp_keygen(void *u, uint16_t sap, uint8_t kp, int nid)
{
    (void)u;
    (void)sap;
    (void)kp;
    (void)nid;
    return AMI_OK; /* keep the one key: generating per input would only slow the fuzzer */
}

static int cp_key_get(void *u, uint16_t sap, uint8_t kp, EVP_PKEY **k)
{
    (void)u;
    (void)sap;
    *k = kp == 0 ? key : NULL;
    return *k ? AMI_OK : AMI_E_NOTFOUND;
}

static int cp_at(void *u, uint16_t sap, size_t i, ami_dlms_cert *out)
{
    (void)u;
    (void)sap;
    if (i >= nstore)
        return AMI_E_NOTFOUND;
    *out = store[i];
    return AMI_OK;
}

static int cp_add(void *u, uint16_t sap, const ami_dlms_cert *c)
{
    (void)u;
    (void)sap;
    if (nstore == 2 || c->len > AMI_DLMS_CERT_MAX)
        return AMI_E_NOSPACE;
    memcpy(store_der[nstore], c->der, c->len);
    store[nstore] = (ami_dlms_cert){c->entity, c->type, store_der[nstore], c->len};
    nstore++;
    return AMI_OK;
}

static int cp_remove(void *u, uint16_t sap, size_t i)
{
    (void)u;
    (void)sap;
    if (i >= nstore)
        return AMI_E_NOTFOUND;
    if (i == 0 && nstore == 2) {
        memcpy(store_der[0], store_der[1], store[1].len);
        store[0] = store[1];
        store[0].der = store_der[0];
    }
    nstore--;
    return AMI_OK;
}

static ami_dlms_server srv;
static ami_dlms_sec_policy sp;
static ami_dlms_policy pol;
static ami_replay_entry slots[2];
static ami_replay replay;
static ami_dlms_cert_provider prov = {cp_keygen, cp_key_get, cp_at, cp_add, cp_remove, NULL};
static ami_dlms_server_sec sec;
static ami_cosem_obj objs[1];
static ami_cosem_store cstore;
static uint8_t block[8192], scratch[1024], cipher[2 * 4096 + 64], out[4096], plain[4096], req[8192],
    creq[8192 + 64];

static int64_t fx_now(void *u)
{
    (void)u;
    return 0;
}

static bool init_server(void)
{
    if (key)
        return true;
    if (ami_dlms_cert_keygen(NID_X9_62_prime256v1, &key) != AMI_OK)
        return false;
    objs[0] =
        (ami_cosem_obj){.class_id = AMI_COSEM_ASSOCIATION_LN, .ln = AMI_OBIS(0, 0, 40, 0, 0, 255)};
    ami_cosem_clock_src clk = {fx_now, NULL, NULL};
    if (ami_cosem_store_init(&cstore, objs, 1, &clk) != AMI_OK)
        return false;
    sp = (ami_dlms_sec_policy){
        .suite = 1, .security_policy = AMI_DLMS_SECPOL_AUTH_ENC, .client_system_title = CST};
    pol = (ami_dlms_policy){.client_sap = 1,
                            .context = AMI_ACSE_CONTEXT_LN,
                            .conformance = 0x00FFFFFF,
                            .max_pdu = 4096,
                            .pre_established = true,
                            .sec = &sp};
    sec = (ami_dlms_server_sec){.system_title = SST,
                                .keys = {kp_get, NULL, kp_next_ic, NULL},
                                .replay = &replay,
                                .certs = &prov};
    ami_dlms_server_config cfg = {.ops = &ami_cosem_store_ops,
                                  .store = &cstore,
                                  .policies = &pol,
                                  .policy_count = 1,
                                  .server_sap = 1,
                                  .sec = &sec};
    return ami_dlms_server_init(&srv, &cfg) == AMI_OK;
}

static void method(uint8_t m, const uint8_t *d, size_t n)
{
    if (!init_server() || n > sizeof req - 16)
        abort();
    nstore = 0;
    client_ic = 0;
    if (ami_replay_init(&replay, slots, 2, NULL) != AMI_OK)
        abort();
    ami_dlms_assoc a;
    ami_dlms_assoc_mem mem = {block, sizeof block, scratch, sizeof scratch, cipher, sizeof cipher};
    if (ami_dlms_assoc_init(&a, &srv, 1, &mem) != AMI_OK)
        abort();
    static const uint8_t head[] = {0xC3, 0x01, 0xC1, 0x00, 0x40, 0, 0, 43, 0, 0, 255};
    memcpy(req, head, sizeof head);
    req[sizeof head] = m;
    req[sizeof head + 1] = n ? 1 : 0;
    memcpy(req + sizeof head + 2, d, n);
    /* twice: the second call sees what the first stored (an import replaces its twin) */
    for (int round = 0; round < 2; round++) {
        ami_sec_ctx c;
        if (ami_sec_ctx_init(&c) || ami_sec_ctx_set_ek(&c, EK, 16) ||
            ami_sec_ctx_set_ak(&c, AK, 16))
            abort();
        ami_wr w;
        ami_wr_init(&w, creq, sizeof creq);
        if (ami_sec_apdu_build(&c, &w, 0xCB, CST, 0x31, ++client_ic, req, sizeof head + 2 + n))
            abort();
        int r = ami_dlms_assoc_handle(&a, creq, w.len, out, sizeof out);
        if (r <= 0)
            abort();
        if (out[0] != AMI_APDU_EXCEPTION_RESPONSE) {
            ami_sec_apdu p;
            size_t used, pl = 0;
            if (ami_sec_apdu_parse(out, (size_t)r, &p, &used) ||
                ami_sec_apdu_decrypt(&c, &p, SST, plain, sizeof plain, &pl) ||
                plain[0] != AMI_APDU_ACTION_RESPONSE)
                abort();
        }
        ami_sec_ctx_wipe(&c);
    }
    ami_dlms_assoc_reset(&a); /* frees the association's keyed cipher contexts */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 6000)
        return 0;
    const uint8_t *d = data + 1;
    size_t n = size - 1;
    switch (data[0]) {
    case 0:
        ident(d, n);
        break;
    case 1:
        list(d, n);
        break;
    case 2:
        x509(d, n);
        break;
    default:
        method((uint8_t)(3 + (data[0] - 3) % 6), d, n);
        break;
    }
    return 0;
}
