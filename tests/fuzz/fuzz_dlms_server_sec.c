/*
 * Fuzz target for the server engine's security layer: a server whose SAP 1 uses HLS-GMAC and
 * authenticated encryption (suite 0) is associated (ciphered AARQ, pass 3/4), then fed APDUs
 * cut from the input: raw ones, and plaintexts the target ciphers correctly (glo-, ded-,
 * general-glo-, general-ded-ciphering, each security level) and then optionally mutates (one
 * flipped bit). Every APDU must be answered or dropped, never crash; a plain answer must be one
 * APDU our decoder accepts; a ciphered answer must decrypt with the session's keys; a refusal
 * must carry no plaintext (a bare exception-response).
 *
 * Input: byte 0: bit 0 stay in the pending state (skip pass 3), bit 1 propose a dedicated key.
 * Then records of a 2-byte big-endian length and that many bytes (the last takes what is
 * left). Record byte 0 (mode): 0 = the rest is a raw APDU; otherwise bits 1-2 choose the form
 * (glo service, general-glo, ded service, general-ded), bits 3-4 the level (A+E, A, E, A+E),
 * bit 5 makes it general-ciphering (0xDD) instead, with key-info identified-key (bit 6 clear)
 * or wrapped-key (bit 6 set: a fixed content key wrapped under the KEK), bit 7 flips bit
 * (record byte 1) of the ciphered APDU; the plaintext starts at byte 2. A general-ciphering
 * answer must carry the request's transaction-id and decrypt with the key it names.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ami/ami.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t EK[16] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                               0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F};
static const uint8_t AK[16] = {0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7,
                               0xD8, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF};
static const uint8_t KEK[16] = {0x31, 0x31, 0x31, 0x31, 0x31, 0x31, 0x31, 0x31,
                                0x31, 0x31, 0x31, 0x31, 0x31, 0x31, 0x31, 0x31};
static const uint8_t DED[16] = {0xC0, 0xC1, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7,
                                0xC8, 0xC9, 0xCA, 0xCB, 0xCC, 0xCD, 0xCE, 0xCF};
static const uint8_t CST[8] = {'G', 'u', 'r', 'u', 'x', '1', '2', '3'};
static const uint8_t SST[8] = {'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'};
static const uint8_t CTOS[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t STOC[16] = {0x70, 0x38, 0x9C, 0xCE, 0x67, 0xB3, 0x59, 0xAC,
                                 0x56, 0xAB, 0x55, 0x2A, 0x15, 0x8A, 0x45, 0x22};

static uint32_t server_ic, client_ic;
static bool have_ded;

static int kp_get(void *u, uint16_t sap, ami_dlms_keys *k)
{
    (void)u;
    (void)sap;
    k->guek = EK;
    k->guek_len = 16;
    k->ak = AK;
    k->ak_len = 16;
    k->kek = KEK;
    k->kek_len = 16;
    return AMI_OK;
}

static int kp_update(void *u, uint16_t sap, uint8_t id, const uint8_t *key, size_t len)
{
    (void)u;
    (void)sap;
    (void)id;
    (void)key;
    (void)len;
    return AMI_OK; /* keys stay fixed so that later records still decrypt */
}

static int kp_next_ic(void *u, uint16_t sap, uint32_t *ic)
{
    (void)u;
    (void)sap;
    *ic = server_ic++;
    return AMI_OK;
}

static int fz_challenge(void *u, uint8_t *out, size_t len)
{
    (void)u;
    memcpy(out, STOC, len);
    return AMI_OK;
}

static int64_t fz_now(void *user)
{
    (void)user;
    return 1795327200;
}

static uint8_t fz_value(void *user, const ami_cosem_obj *obj, ami_wr *out)
{
    (void)user;
    (void)obj;
    ami_wr_u8(out, AMI_AXDR_DOUBLE_LONG_UNSIGNED);
    ami_wr_u32be(out, 123456);
    return AMI_DAR_SUCCESS;
}

static const uint8_t auth_read[2] = {AMI_ACCESS_READ, AMI_ACCESS_AUTH_READ};

static size_t cipher(uint8_t tag, uint8_t sc, const uint8_t *key, const uint8_t *plain, size_t n,
                     uint8_t *buf, size_t cap)
{
    ami_sec_ctx c;
    if (ami_sec_ctx_init(&c) || ami_sec_ctx_set_ek(&c, key, 16) || ami_sec_ctx_set_ak(&c, AK, 16))
        abort();
    ami_wr w;
    ami_wr_init(&w, buf, cap);
    int rc = ami_sec_apdu_build(&c, &w, tag, CST, sc, client_ic++, plain, n);
    ami_sec_ctx_wipe(&c);
    return rc == AMI_OK ? w.len : 0;
}

static const uint8_t CONTENT_KEY[16] = {0x5A, 0x5B, 0x5C, 0x5D, 0x5E, 0x5F, 0x60, 0x61,
                                        0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69};
static uint8_t last_txid[8];

/* A general-ciphering request (ami/security_general.h): identified-key or wrapped-key. */
static size_t cipher_gc(bool wrapped, uint8_t sc, const uint8_t *plain, size_t n, uint8_t *buf,
                        size_t cap)
{
    uint8_t wk[24];
    ami_gc_key_info ki = {.kind = AMI_GC_KI_IDENTIFIED, .key_id = AMI_GC_KEY_ID_UNICAST};
    if (wrapped) {
        if (ami_keywrap_wrap(KEK, 16, CONTENT_KEY, 16, wk, sizeof wk) != 24)
            abort();
        ki = (ami_gc_key_info){.kind = AMI_GC_KI_WRAPPED, .data = wk, .data_len = 24};
    }
    ami_enc64be(last_txid, 0x7000000000000000ull + client_ic);
    ami_gc_header h = {last_txid, 8, CST, 8, SST, 8, NULL, 0, NULL, 0};
    ami_wr w;
    ami_wr_init(&w, buf, cap);
    int rc = ami_gc_protect(&w, &h, &ki, wrapped ? CONTENT_KEY : EK, 16, AK, 16, sc, client_ic++,
                            plain, n);
    return rc == AMI_OK ? w.len : 0;
}

/* A general-ciphering answer: to our transaction, from the server to us, and it decrypts. */
static void check_gc_answer(const uint8_t *out, size_t n)
{
    ami_gc_apdu g;
    size_t used;
    if (ami_gc_parse(out, n, &g, &used) != AMI_OK || used != n)
        abort();
    if (g.h.transaction_id_len != 8 || memcmp(g.h.transaction_id, last_txid, 8) ||
        g.h.originator_len != 8 || memcmp(g.h.originator, SST, 8) || g.h.recipient_len != 8 ||
        memcmp(g.h.recipient, CST, 8))
        abort();
    uint8_t key[32];
    const uint8_t *ek = EK;
    if (g.key_info.kind == AMI_GC_KI_WRAPPED) {
        if (ami_gc_unwrap_key(&g.key_info, KEK, 16, key, sizeof key) != 16)
            abort();
        ek = key;
    } else if (g.key_info.kind != AMI_GC_KI_IDENTIFIED || g.key_info.key_id != 0) {
        abort();
    }
    static uint8_t plain[2048];
    size_t pn;
    if (ami_gc_unprotect(&g, ek, 16, AK, 16, plain, sizeof plain, &pn, NULL) != AMI_OK || !pn)
        abort();
}

/* Checks one answer: see the file comment. */
static void check_answer(const uint8_t *out, int r, size_t cap)
{
    if (r < 0) {
        if (r != AMI_E_NOSPACE)
            abort();
        return;
    }
    if ((size_t)r > cap)
        abort();
    if (r == 0)
        return;
    uint8_t tag = out[0];
    if (!ami_apdu_is_ciphered(tag)) {
        ami_apdu apdu;
        static uint8_t arena_buf[8192];
        ami_arena arena;
        ami_arena_init(&arena, arena_buf, sizeof arena_buf);
        if (tag == AMI_ACSE_AARE || tag == AMI_ACSE_RLRE)
            return;
        if (ami_apdu_decode(out, (size_t)r, &arena, NULL, &apdu) != AMI_OK)
            abort();
        return;
    }
    if (tag == AMI_APDU_GENERAL_CIPHERING) {
        check_gc_answer(out, (size_t)r);
        return;
    }
    ami_sec_apdu p;
    size_t used;
    if (ami_sec_apdu_parse(out, (size_t)r, &p, &used) != AMI_OK || used != (size_t)r)
        abort();
    bool ded = (tag >= 0xD0 && tag <= 0xD7) || tag == AMI_APDU_GENERAL_DED_CIPHERING;
    ami_sec_ctx c;
    if (ami_sec_ctx_init(&c) || ami_sec_ctx_set_ek(&c, ded ? DED : EK, 16) ||
        ami_sec_ctx_set_ak(&c, AK, 16))
        abort();
    c.accept |= AMI_SEC_ACCEPT_ENC;
    static uint8_t plain[2048];
    size_t pn;
    int rc = ami_sec_apdu_decrypt(&c, &p, SST, plain, sizeof plain, &pn);
    ami_sec_ctx_wipe(&c);
    if (rc != AMI_OK || pn == 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ami_cosem_obj objs[4];
    static uint8_t secret_value[5] = {AMI_AXDR_DOUBLE_LONG_UNSIGNED, 0, 0, 0, 42};
    objs[0] =
        (ami_cosem_obj){.class_id = AMI_COSEM_ASSOCIATION_LN, .ln = AMI_OBIS(0, 0, 40, 0, 0, 255)};
    objs[1] = (ami_cosem_obj){.class_id = AMI_COSEM_CLOCK, .ln = AMI_OBIS(0, 0, 1, 0, 0, 255)};
    objs[2] = (ami_cosem_obj){.class_id = AMI_COSEM_DATA,
                              .ln = AMI_OBIS(0, 0, 96, 1, 9, 255),
                              .attr_access = auth_read,
                              .value = secret_value,
                              .value_cap = sizeof secret_value,
                              .value_len = 5};
    objs[3] = (ami_cosem_obj){
        .class_id = AMI_COSEM_REGISTER, .ln = AMI_OBIS(1, 0, 1, 8, 0, 255), .read = fz_value};
    static ami_cosem_store store;
    ami_cosem_clock_src clk = {fz_now, NULL, NULL};
    if (ami_cosem_store_init(&store, objs, 4, &clk))
        abort();
    static ami_replay_entry slots[4];
    static ami_replay replay;
    if (ami_replay_init(&replay, slots, 4, NULL))
        abort();
    server_ic = 1;
    client_ic = 1;
    static const ami_dlms_sec_policy sp = {
        .suite = 0, .security_policy = AMI_DLMS_SECPOL_AUTH_ENC, .challenge_len = 16};
    ami_dlms_server_sec sec = {.system_title = SST,
                               .keys = {kp_get, kp_update, kp_next_ic, NULL},
                               .replay = &replay,
                               .challenge = fz_challenge};
    uint32_t conf = 0x00FFFFFF;
    ami_dlms_policy pol[2] = {
        {.client_sap = 16, .context = 1, .conformance = conf, .max_pdu = 512},
        {.client_sap = 1,
         .context = 1,
         .mechanism = AMI_ACSE_MECH_GMAC,
         .conformance = conf,
         .max_pdu = 512,
         .sec = &sp},
    };
    ami_dlms_server srv;
    ami_dlms_server_config cfg = {.ops = &ami_cosem_store_ops,
                                  .store = &store,
                                  .policies = pol,
                                  .policy_count = 2,
                                  .sec = &sec};
    if (ami_dlms_server_init(&srv, &cfg))
        abort();
    static uint8_t block[2048], scratch[2048], cbuf[2048], out[1200];
    ami_dlms_assoc a;
    ami_dlms_assoc_mem mem = {block, sizeof block, scratch, sizeof scratch, cbuf, sizeof cbuf};
    if (size < 1 || ami_dlms_assoc_init(&a, &srv, 1, &mem))
        return 0;
    uint8_t opt = data[0];
    have_ded = opt & 2;

    /* Association: AARQ with a glo-initiateRequest, then pass 3. */
    ami_apdu q;
    memset(&q, 0, sizeof q);
    q.tag = AMI_APDU_INITIATE_REQUEST;
    q.u.initiate_request.dlms_version = 6;
    q.u.initiate_request.conformance = 0x00401E1D;
    q.u.initiate_request.max_pdu_size = 512;
    if (have_ded) {
        q.u.initiate_request.has_dedicated_key = true;
        q.u.initiate_request.dedicated_key = ami_view_of(DED, 16);
    }
    uint8_t init[64], ui[128], aarq[256];
    ami_wr w;
    ami_wr_init(&w, init, sizeof init);
    if (ami_apdu_encode(&w, &q))
        abort();
    size_t un = cipher(AMI_APDU_GLO_INITIATE_REQUEST, 0x30, EK, init, w.len, ui, sizeof ui);
    memset(&q, 0, sizeof q);
    q.tag = AMI_ACSE_AARQ;
    q.u.aarq.c.context = AMI_ACSE_CONTEXT_LN_CIPHER;
    q.u.aarq.c.ap_title = ami_view_of(CST, 8);
    q.u.aarq.c.has_acse_requirements = true;
    q.u.aarq.c.authentication = true;
    q.u.aarq.c.has_mechanism = true;
    q.u.aarq.c.mechanism = AMI_ACSE_MECH_GMAC;
    q.u.aarq.c.has_auth_value = true;
    q.u.aarq.c.auth_value = ami_view_of(CTOS, 16);
    q.u.aarq.c.has_user_information = true;
    q.u.aarq.c.user_information = ami_view_of(ui, un);
    ami_wr_init(&w, aarq, sizeof aarq);
    if (ami_apdu_encode(&w, &q))
        abort();
    int r = ami_dlms_assoc_handle(&a, aarq, w.len, out, sizeof out);
    check_answer(out, r, sizeof out);
    if (ami_dlms_assoc_state(&a) != AMI_DLMS_ASSOC_PENDING)
        abort();
    if (!(opt & 1)) {
        ami_hls_params hp = {.mech = AMI_ACSE_MECH_GMAC,
                             .ek = EK,
                             .ek_len = 16,
                             .ak = AK,
                             .ak_len = 16,
                             .sc = 0x10,
                             .ic = 1,
                             .st_responder = CST};
        uint8_t act[64] = {0xC3, 0x01, 0xC1, 0x00, 0x0F, 0, 0, 40, 0, 0, 255, 0x01, 0x01, 0x09};
        int fl = ami_hls_compute(&hp, STOC, 16, CTOS, 16, act + 15, sizeof act - 15);
        if (fl <= 0)
            abort();
        act[14] = (uint8_t)fl;
        uint8_t c[128];
        size_t cn = cipher(0xCB, 0x30, EK, act, 15 + (size_t)fl, c, sizeof c);
        r = ami_dlms_assoc_handle(&a, c, cn, out, sizeof out);
        check_answer(out, r, sizeof out);
        if (ami_dlms_assoc_state(&a) != AMI_DLMS_ASSOC_ASSOCIATED)
            abort();
    }

    size_t pos = 1;
    static uint8_t apdu_buf[4096];
    while (pos < size) {
        size_t len = size - pos;
        if (len >= 2) {
            size_t want = (size_t)data[pos] << 8 | data[pos + 1];
            pos += 2;
            len = size - pos < want ? size - pos : want;
        } else {
            pos = size - len;
        }
        const uint8_t *rec = data + pos;
        pos += len;
        size_t n = 0;
        if (len >= 1 && rec[0] == 0) {
            n = len - 1;
            memcpy(apdu_buf, rec + 1, n);
        } else if (len >= 3) {
            uint8_t mode = rec[0];
            static const uint8_t forms[4] = {0xC8, 0xDB, 0xD0, 0xDC};
            static const uint8_t levels[4] = {0x30, 0x10, 0x20, 0x30};
            const uint8_t *plain = rec + 2;
            size_t pn = len - 2;
            uint8_t tag = forms[(mode >> 1) & 3];
            if ((tag == 0xC8 || tag == 0xD0) && plain[0] >= 0xC0 && plain[0] <= 0xC3)
                tag = (uint8_t)(tag + (plain[0] - 0xC0));
            bool ded = tag >= 0xD0 && tag != 0xDB;
            if (mode & 0x20)
                n = cipher_gc(mode & 0x40, levels[(mode >> 3) & 3], plain, pn, apdu_buf,
                              sizeof apdu_buf);
            else
                n = cipher(tag, levels[(mode >> 3) & 3], ded ? DED : EK, plain, pn, apdu_buf,
                           sizeof apdu_buf);
            if (n && (mode & 0x80))
                apdu_buf[(rec[1] % n)] ^= (uint8_t)(1u << (rec[1] & 7));
        }
        /* A private copy: the engine must not read past the APDU it was given. */
        uint8_t *apdu = n ? malloc(n) : NULL;
        if (n && !apdu)
            abort();
        if (n)
            memcpy(apdu, apdu_buf, n);
        r = ami_dlms_assoc_handle(&a, apdu, n, out, sizeof out);
        check_answer(out, r, sizeof out);
        free(apdu);
    }
    ami_dlms_assoc_reset(&a);
    return 0;
}
