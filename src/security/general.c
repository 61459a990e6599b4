/*
 * general-ciphering / general-signing APDUs and ECDH key agreement (ami/security_general.h).
 * SPDX-License-Identifier: Apache-2.0
 */
#include "ami/security_general.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "ami/axdr.h"
#include "ami/error.h"
#include "ami/hls.h"
#include "ami/security.h"
#include "ecdsa_internal.h"

/* ---------------------------------------------------------------- field coding */

/* Reads an OCTET STRING field: A-XDR length (at most max) then the bytes. */
static int get_os(ami_rd *r, size_t max, const uint8_t **v, size_t *n)
{
    size_t len;
    int rc = ami_axdr_get_length(r, &len);
    if (rc)
        return rc;
    if (len > max)
        return AMI_E_TOO_LARGE;
    rc = ami_rd_view(r, len, v);
    if (rc)
        return rc;
    *n = len;
    return AMI_OK;
}

static void put_os(ami_wr *w, const uint8_t *v, size_t n)
{
    ami_axdr_put_length(w, n);
    ami_wr_bytes(w, v, n);
}

/* Reads an OCTET STRING that is either empty or exactly `size` bytes. */
static int get_fixed(ami_rd *r, size_t size, const uint8_t **v, size_t *n)
{
    int rc = get_os(r, size, v, n);
    if (rc == AMI_E_TOO_LARGE || (!rc && *n != 0 && *n != size))
        return AMI_E_MALFORMED;
    return rc;
}

static int get_header(ami_rd *r, ami_gc_header *h)
{
    int rc = get_os(r, AMI_GC_TXID_MAX, &h->transaction_id, &h->transaction_id_len);
    if (!rc)
        rc = get_fixed(r, AMI_SEC_SYSTEM_TITLE_LEN, &h->originator, &h->originator_len);
    if (!rc)
        rc = get_fixed(r, AMI_SEC_SYSTEM_TITLE_LEN, &h->recipient, &h->recipient_len);
    if (!rc)
        rc = get_fixed(r, AMI_GC_DATETIME_LEN, &h->date_time, &h->date_time_len);
    if (!rc)
        rc = get_os(r, AMI_GC_OTHER_MAX, &h->other, &h->other_len);
    return rc;
}

static bool header_valid(const ami_gc_header *h)
{
    if (!h || h->transaction_id_len > AMI_GC_TXID_MAX || h->other_len > AMI_GC_OTHER_MAX)
        return false;
    if (h->originator_len != 0 && h->originator_len != AMI_SEC_SYSTEM_TITLE_LEN)
        return false;
    if (h->recipient_len != 0 && h->recipient_len != AMI_SEC_SYSTEM_TITLE_LEN)
        return false;
    if (h->date_time_len != 0 && h->date_time_len != AMI_GC_DATETIME_LEN)
        return false;
    return (!h->transaction_id_len || h->transaction_id) && (!h->originator_len || h->originator) &&
           (!h->recipient_len || h->recipient) && (!h->date_time_len || h->date_time) &&
           (!h->other_len || h->other);
}

static void put_header(ami_wr *w, const ami_gc_header *h)
{
    put_os(w, h->transaction_id, h->transaction_id_len);
    put_os(w, h->originator, h->originator_len);
    put_os(w, h->recipient, h->recipient_len);
    put_os(w, h->date_time, h->date_time_len);
    put_os(w, h->other, h->other_len);
}

static bool key_info_valid(const ami_gc_key_info *k)
{
    switch (k->kind) {
    case AMI_GC_KI_NONE:
        return true;
    case AMI_GC_KI_IDENTIFIED:
        return k->key_id <= AMI_GC_KEY_ID_BROADCAST;
    case AMI_GC_KI_WRAPPED:
        return k->kek_id == AMI_GC_KEK_MASTER && k->data_len <= AMI_GC_KEYDATA_MAX &&
               (!k->data_len || k->data);
    case AMI_GC_KI_AGREED:
        return k->params_len <= AMI_GC_KEYDATA_MAX && k->data_len <= AMI_GC_KEYDATA_MAX &&
               (!k->params_len || k->params) && (!k->data_len || k->data);
    default:
        return false;
    }
}

static void put_key_info(ami_wr *w, const ami_gc_key_info *k)
{
    if (!k || k->kind == AMI_GC_KI_NONE) {
        ami_wr_u8(w, 0);
        return;
    }
    ami_wr_u8(w, 1);
    ami_wr_u8(w, (uint8_t)k->kind);
    switch (k->kind) {
    case AMI_GC_KI_IDENTIFIED:
        ami_wr_u8(w, k->key_id);
        break;
    case AMI_GC_KI_WRAPPED:
        ami_wr_u8(w, k->kek_id);
        put_os(w, k->data, k->data_len);
        break;
    default:
        put_os(w, k->params, k->params_len);
        put_os(w, k->data, k->data_len);
        break;
    }
}

static int get_key_info(ami_rd *r, ami_gc_key_info *k)
{
    memset(k, 0, sizeof *k);
    k->kind = AMI_GC_KI_NONE;
    uint8_t present, choice, v;
    int rc = ami_rd_u8(r, &present);
    if (rc)
        return rc;
    if (present == 0)
        return AMI_OK;
    if (present != 1)
        return AMI_E_MALFORMED;
    if ((rc = ami_rd_u8(r, &choice)) != 0)
        return rc;
    switch (choice) {
    case AMI_GC_KI_IDENTIFIED:
        if ((rc = ami_rd_u8(r, &v)) != 0)
            return rc;
        if (v > AMI_GC_KEY_ID_BROADCAST)
            return AMI_E_MALFORMED;
        k->key_id = v;
        break;
    case AMI_GC_KI_WRAPPED:
        if ((rc = ami_rd_u8(r, &v)) != 0)
            return rc;
        if (v != AMI_GC_KEK_MASTER)
            return AMI_E_MALFORMED;
        k->kek_id = v;
        if ((rc = get_os(r, AMI_GC_KEYDATA_MAX, &k->data, &k->data_len)) != 0)
            return rc;
        break;
    case AMI_GC_KI_AGREED:
        if ((rc = get_os(r, AMI_GC_KEYDATA_MAX, &k->params, &k->params_len)) != 0)
            return rc;
        if ((rc = get_os(r, AMI_GC_KEYDATA_MAX, &k->data, &k->data_len)) != 0)
            return rc;
        break;
    default:
        return AMI_E_MALFORMED;
    }
    k->kind = choice;
    return AMI_OK;
}

/* ---------------------------------------------------------------- general-ciphering */

int ami_gc_parse(const uint8_t *buf, size_t len, ami_gc_apdu *a, size_t *consumed)
{
    if (consumed)
        *consumed = 0;
    if (!a || (!buf && len))
        return AMI_E_INVAL;
    memset(a, 0, sizeof *a);
    a->key_info.kind = AMI_GC_KI_NONE;
    ami_rd r;
    ami_rd_init(&r, buf, len);
    uint8_t tag;
    int rc = ami_rd_u8(&r, &tag);
    if (rc)
        return rc;
    if (tag != AMI_GC_TAG_CIPHERING)
        return AMI_E_PROTOCOL;
    if ((rc = get_header(&r, &a->h)) != 0 || (rc = get_key_info(&r, &a->key_info)) != 0 ||
        (rc = get_os(&r, AMI_GC_CONTENT_MAX, &a->content, &a->content_len)) != 0) {
        memset(a, 0, sizeof *a);
        a->key_info.kind = AMI_GC_KI_NONE;
        return rc;
    }
    if (a->content_len < AMI_SEC_HEADER_LEN)
        return AMI_E_MALFORMED;
    uint8_t sc = a->content[0];
    if (sc & AMI_SEC_SC_COMPRESS)
        return AMI_E_UNSUPPORTED;
    if ((sc & AMI_SEC_SC_AUTH) && a->content_len < AMI_SEC_HEADER_LEN + AMI_SEC_TAG_LEN)
        return AMI_E_MALFORMED;
    if (consumed)
        *consumed = r.pos;
    return AMI_OK;
}

int ami_gc_write(ami_wr *w, const ami_gc_apdu *a)
{
    if (!w || !a || !header_valid(&a->h) || !key_info_valid(&a->key_info) ||
        a->content_len > AMI_GC_CONTENT_MAX || (a->content_len && !a->content))
        return AMI_E_INVAL;
    ami_wr_u8(w, AMI_GC_TAG_CIPHERING);
    put_header(w, &a->h);
    put_key_info(w, &a->key_info);
    put_os(w, a->content, a->content_len);
    return ami_wr_error(w);
}

static int check_sc(uint8_t sc, size_t ek_len)
{
    if (sc & AMI_SEC_SC_COMPRESS)
        return AMI_E_UNSUPPORTED;
    unsigned suite = sc & AMI_SEC_SC_SUITE_MASK;
    if (suite > 2)
        return AMI_E_UNSUPPORTED;
    if (!(sc & (AMI_SEC_SC_AUTH | AMI_SEC_SC_ENC)))
        return AMI_E_MALFORMED;
    if (ek_len != (suite == 2 ? 32u : 16u))
        return AMI_E_KEY;
    return AMI_OK;
}

/* AES-GCM over the general-ciphering AAD; enc selects the direction. On decryption `tag` is
 * the received 12-byte tag, compared by OpenSSL's GCM finalisation in constant time. */
static int gcm(bool enc, const ami_gc_header *h, const uint8_t *ek, size_t ek_len,
               const uint8_t *ak, size_t ak_len, uint8_t sc, uint32_t ic, const uint8_t *in,
               size_t n, uint8_t *out, uint8_t tag[AMI_SEC_TAG_LEN])
{
    if (n > INT32_MAX || ak_len > AMI_SEC_KEY_MAX)
        return AMI_E_TOO_LARGE;
    uint8_t iv[12];
    memcpy(iv, h->originator, 8);
    ami_enc32be(iv + 8, ic);
    bool a_only = (sc & AMI_SEC_SC_AUTH) && !(sc & AMI_SEC_SC_ENC);
    bool auth = (sc & AMI_SEC_SC_AUTH) != 0;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (!c)
        return AMI_E_NOMEM;
    const EVP_CIPHER *cipher = ek_len == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
    int l = 0;
    int ok = EVP_CipherInit_ex(c, cipher, NULL, NULL, NULL, enc ? 1 : 0) &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) &&
             EVP_CipherInit_ex(c, NULL, NULL, ek, iv, enc ? 1 : 0);
    if (ok && auth) {
        /* AAD = SC || AK || the five header fields A-XDR encoded, each with its length byte(s)
         * as it stands in the APDU (see ami/security_general.h for the sources). */
        ok = EVP_CipherUpdate(c, NULL, &l, &sc, 1) &&
             (!ak_len || EVP_CipherUpdate(c, NULL, &l, ak, (int)ak_len));
        const uint8_t *parts[] = {h->transaction_id, h->originator, h->recipient, h->date_time,
                                  h->other};
        const size_t lens[] = {h->transaction_id_len, h->originator_len, h->recipient_len,
                               h->date_time_len, h->other_len};
        for (size_t i = 0; ok && i < sizeof lens / sizeof lens[0]; i++) {
            uint8_t lb[5];
            ami_wr lw;
            ami_wr_init(&lw, lb, sizeof lb);
            ami_axdr_put_length(&lw, lens[i]);
            ok = !ami_wr_error(&lw) && EVP_CipherUpdate(c, NULL, &l, lb, (int)lw.len) &&
                 (!lens[i] || EVP_CipherUpdate(c, NULL, &l, parts[i], (int)lens[i]));
        }
        if (ok && a_only && n)
            ok = EVP_CipherUpdate(c, NULL, &l, in, (int)n);
    }
    int rc = AMI_OK;
    if (ok && !a_only && n)
        ok = EVP_CipherUpdate(c, out, &l, in, (int)n);
    if (ok && a_only && n && out != in)
        memmove(out, in, n);
    if (ok && !enc && auth)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, AMI_SEC_TAG_LEN, tag);
    if (ok && !enc && !auth) {
        /* E only: no tag to check, and OpenSSL refuses a GCM decryption final without one */
    } else if (ok) {
        uint8_t fin[16];
        if (EVP_CipherFinal_ex(c, fin, &l) != 1)
            rc = enc || !auth ? AMI_E_CRYPTO : AMI_E_AUTH;
        else if (enc && auth && !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, AMI_SEC_TAG_LEN, tag))
            rc = AMI_E_CRYPTO;
    } else {
        rc = AMI_E_CRYPTO;
    }
    EVP_CIPHER_CTX_free(c);
    return rc;
}

int ami_gc_protect(ami_wr *w, const ami_gc_header *h, const ami_gc_key_info *ki, const uint8_t *ek,
                   size_t ek_len, const uint8_t *ak, size_t ak_len, uint8_t sc, uint32_t ic,
                   const uint8_t *plain, size_t n)
{
    if (!w || !header_valid(h) || h->originator_len != AMI_SEC_SYSTEM_TITLE_LEN || !ek ||
        (ak_len && !ak) || (n && !plain) || (ki && !key_info_valid(ki)))
        return AMI_E_INVAL;
    int rc = check_sc(sc, ek_len);
    if (rc)
        return rc;
    size_t clen = AMI_SEC_HEADER_LEN + n + ((sc & AMI_SEC_SC_AUTH) ? AMI_SEC_TAG_LEN : 0);
    if (n > AMI_GC_CONTENT_MAX || clen > AMI_GC_CONTENT_MAX)
        return AMI_E_TOO_LARGE;
    size_t start = w->len;
    ami_wr_u8(w, AMI_GC_TAG_CIPHERING);
    put_header(w, h);
    put_key_info(w, ki);
    ami_axdr_put_length(w, clen);
    ami_wr_u8(w, sc);
    ami_wr_u32be(w, ic);
    uint8_t *payload = ami_wr_reserve(w, n);
    uint8_t *tag = (sc & AMI_SEC_SC_AUTH) ? ami_wr_reserve(w, AMI_SEC_TAG_LEN) : NULL;
    if ((rc = ami_wr_error(w)) != 0)
        return rc;
    if (!w->p)
        return AMI_OK; /* measuring only */
    uint8_t scratch[AMI_SEC_TAG_LEN];
    rc = gcm(true, h, ek, ek_len, ak, ak_len, sc, ic, plain, n, payload, tag ? tag : scratch);
    if (rc) {
        ami_wipe(w->p + start, w->len - start);
        w->len = start;
    }
    return rc;
}

int ami_gc_unprotect(const ami_gc_apdu *a, const uint8_t *ek, size_t ek_len, const uint8_t *ak,
                     size_t ak_len, uint8_t *out, size_t cap, size_t *out_len, uint32_t *ic_out)
{
    if (out_len)
        *out_len = 0;
    if (!a || !ek || !out_len || (ak_len && !ak) || !a->content ||
        a->content_len < AMI_SEC_HEADER_LEN || !header_valid(&a->h))
        return AMI_E_INVAL;
    if (a->h.originator_len != AMI_SEC_SYSTEM_TITLE_LEN)
        return AMI_E_MALFORMED;
    uint8_t sc = a->content[0];
    int rc = check_sc(sc, ek_len);
    if (rc)
        return rc;
    size_t taglen = (sc & AMI_SEC_SC_AUTH) ? AMI_SEC_TAG_LEN : 0;
    if (a->content_len < AMI_SEC_HEADER_LEN + taglen)
        return AMI_E_MALFORMED;
    size_t n = a->content_len - AMI_SEC_HEADER_LEN - taglen;
    if (n > cap || (n && !out))
        return AMI_E_NOSPACE;
    uint32_t ic = ami_dec32be(a->content + 1);
    uint8_t tag[AMI_SEC_TAG_LEN] = {0};
    if (taglen)
        memcpy(tag, a->content + AMI_SEC_HEADER_LEN + n, AMI_SEC_TAG_LEN);
    rc = gcm(false, &a->h, ek, ek_len, ak, ak_len, sc, ic, a->content + AMI_SEC_HEADER_LEN, n, out,
             tag);
    if (rc) {
        if (n)
            ami_wipe(out, n);
        return rc;
    }
    *out_len = n;
    if (ic_out)
        *ic_out = ic;
    return AMI_OK;
}

int ami_gc_unwrap_key(const ami_gc_key_info *ki, const uint8_t *kek, size_t kek_len, uint8_t *key,
                      size_t cap)
{
    if (!ki || ki->kind != AMI_GC_KI_WRAPPED || ki->kek_id != AMI_GC_KEK_MASTER || !kek || !key)
        return AMI_E_INVAL;
    if (ki->data_len < 24 || ki->data_len > 40 || ki->data_len % 8)
        return AMI_E_KEY;
    if (cap < ki->data_len - 8)
        return AMI_E_NOSPACE;
    int rc = ami_keywrap_unwrap(kek, kek_len, ki->data, ki->data_len, key, cap);
    return rc == AMI_E_AUTH ? AMI_E_KEY : rc;
}

/* ---------------------------------------------------------------- raw ECDSA (r || s) */

/* Signs msg with the suite's hash; sig receives r || s, 2 * half bytes. */
static int ecdsa_raw_sign(int suite, EVP_PKEY *key, const uint8_t *msg, size_t n, uint8_t *sig)
{
    return ami__ecdsa_sign_raw(key, suite == 1 ? 32 : 48, msg, n, sig);
}

/* Verifies r || s (2 * half bytes) over msg: AMI_OK or AMI_E_AUTH. */
static int ecdsa_raw_verify(int suite, EVP_PKEY *pub, const uint8_t *msg, size_t n,
                            const uint8_t *sig)
{
    return ami__ecdsa_verify_raw(pub, suite == 1 ? 32 : 48, msg, n, sig);
}

/* ---------------------------------------------------------------- key agreement */

static int suite_curve_ok(int suite, EVP_PKEY *k)
{
    if (!k || EVP_PKEY_get_base_id(k) != EVP_PKEY_EC)
        return AMI_E_KEY;
    return EVP_PKEY_get_bits(k) == (suite == 1 ? 256 : 384) ? AMI_OK : AMI_E_KEY;
}

int ami_gc_agree_key(int suite, EVP_PKEY *own, EVP_PKEY *peer, const uint8_t party_u[8],
                     const uint8_t party_v[8], uint8_t *key, size_t cap)
{
    if (!own || !peer || !party_u || !party_v || !key)
        return AMI_E_INVAL;
    if (suite != 1 && suite != 2)
        return AMI_E_UNSUPPORTED;
    int rc = suite_curve_ok(suite, own);
    if (!rc)
        rc = suite_curve_ok(suite, peer);
    if (rc)
        return rc;
    size_t klen = suite == 1 ? 16 : 32;
    if (cap < klen)
        return AMI_E_NOSPACE;
    static const uint8_t alg1[] = {0x60, 0x85, 0x74, 0x05, 0x08, 0x03, 0x00};
    static const uint8_t alg2[] = {0x60, 0x85, 0x74, 0x05, 0x08, 0x03, 0x01};
    uint8_t z[48];
    size_t zlen = sizeof z;
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(own, NULL);
    if (!pc)
        return AMI_E_NOMEM;
    if (EVP_PKEY_derive_init(pc) != 1)
        rc = AMI_E_CRYPTO;
    else if (EVP_PKEY_derive_set_peer(pc, peer) != 1)
        rc = AMI_E_KEY;
    else if (EVP_PKEY_derive(pc, z, &zlen) != 1 || zlen != (suite == 1 ? 32u : 48u))
        rc = AMI_E_CRYPTO;
    EVP_PKEY_CTX_free(pc);
    if (rc) {
        ami_wipe(z, sizeof z);
        return rc;
    }
    static const uint8_t counter[4] = {0, 0, 0, 1};
    uint8_t h[48];
    unsigned hl = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestInit_ex(md, suite == 1 ? EVP_sha256() : EVP_sha384(), NULL) &&
             EVP_DigestUpdate(md, counter, 4) && EVP_DigestUpdate(md, z, zlen) &&
             EVP_DigestUpdate(md, suite == 1 ? alg1 : alg2, sizeof alg1) &&
             EVP_DigestUpdate(md, party_u, 8) && EVP_DigestUpdate(md, party_v, 8) &&
             EVP_DigestFinal_ex(md, h, &hl);
    EVP_MD_CTX_free(md);
    ami_wipe(z, sizeof z);
    if (!ok || hl < klen) {
        ami_wipe(h, sizeof h);
        return AMI_E_CRYPTO;
    }
    memcpy(key, h, klen);
    ami_wipe(h, sizeof h);
    return (int)klen;
}

/* ---------------------------------------------------------------- agreed-key (one-pass) */

/* An EC public key of the suite's curve from x || y (2 * half bytes), checked on the curve. */
static EVP_PKEY *point_key(int suite, const uint8_t *xy, size_t half)
{
    uint8_t pt[1 + 96];
    pt[0] = 0x04;
    memcpy(pt + 1, xy, 2 * half);
    return ami__ec_public_key(suite == 1 ? "P-256" : "P-384", pt, 1 + 2 * half);
}

int ami_gc_agree_originator(int suite, EVP_PKEY *sign_key, EVP_PKEY *peer_static,
                            const uint8_t party_u[8], const uint8_t party_v[8], ami_gc_key_info *ki,
                            uint8_t *kcd, size_t kcd_cap, uint8_t *key, size_t cap)
{
    static const uint8_t one_pass = AMI_GC_AGREED_EPHEMERAL;
    if (!sign_key || !peer_static || !party_u || !party_v || !ki || !kcd || !key)
        return AMI_E_INVAL;
    if (suite != 1 && suite != 2)
        return AMI_E_UNSUPPORTED;
    int rc = suite_curve_ok(suite, sign_key);
    if (!rc)
        rc = suite_curve_ok(suite, peer_static);
    if (rc)
        return rc;
    size_t half = suite == 1 ? 32 : 48;
    if (kcd_cap < 4 * half)
        return AMI_E_NOSPACE;
    EVP_PKEY *eph = EVP_EC_gen(suite == 1 ? "P-256" : "P-384");
    if (!eph)
        return AMI_E_CRYPTO;
    uint8_t pt[1 + 96];
    size_t ptlen = 0;
    rc = AMI_E_CRYPTO;
    if (EVP_PKEY_get_octet_string_param(eph, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof pt,
                                        &ptlen) == 1 &&
        ptlen == 1 + 2 * half && pt[0] == 0x04) {
        memcpy(kcd, pt + 1, 2 * half);
        rc = ecdsa_raw_sign(suite, sign_key, kcd, 2 * half, kcd + 2 * half);
    }
    int kl = rc ? rc : ami_gc_agree_key(suite, eph, peer_static, party_u, party_v, key, cap);
    EVP_PKEY_free(eph); /* the ephemeral private key is used once */
    if (kl < 0) {
        ami_wipe(kcd, kcd_cap);
        return kl;
    }
    memset(ki, 0, sizeof *ki);
    ki->kind = AMI_GC_KI_AGREED;
    ki->params = &one_pass;
    ki->params_len = 1;
    ki->data = kcd;
    ki->data_len = 4 * half;
    return kl;
}

int ami_gc_agree_recipient(int suite, const ami_gc_key_info *ki, EVP_PKEY *originator_pub,
                           EVP_PKEY *own, const uint8_t party_u[8], const uint8_t party_v[8],
                           uint8_t *key, size_t cap)
{
    if (!ki || !originator_pub || !own || !party_u || !party_v || !key)
        return AMI_E_INVAL;
    if (suite != 1 && suite != 2)
        return AMI_E_UNSUPPORTED;
    size_t half = suite == 1 ? 32 : 48;
    if (ki->kind != AMI_GC_KI_AGREED || ki->params_len != 1 || !ki->params ||
        ki->params[0] != AMI_GC_AGREED_EPHEMERAL)
        return AMI_E_UNSUPPORTED;
    if (ki->data_len != 4 * half || !ki->data)
        return AMI_E_MALFORMED;
    int rc = suite_curve_ok(suite, originator_pub);
    if (!rc)
        rc = suite_curve_ok(suite, own);
    if (rc)
        return rc;
    rc = ecdsa_raw_verify(suite, originator_pub, ki->data, 2 * half, ki->data + 2 * half);
    if (rc)
        return rc;
    EVP_PKEY *eph = point_key(suite, ki->data, half);
    if (!eph)
        return AMI_E_KEY;
    rc = ami_gc_agree_key(suite, own, eph, party_u, party_v, key, cap);
    EVP_PKEY_free(eph);
    return rc;
}

/* ---------------------------------------------------------------- general-signing */

int ami_gs_parse(const uint8_t *buf, size_t len, ami_gs_apdu *a, size_t *consumed)
{
    if (consumed)
        *consumed = 0;
    if (!a || (!buf && len))
        return AMI_E_INVAL;
    memset(a, 0, sizeof *a);
    ami_rd r;
    ami_rd_init(&r, buf, len);
    uint8_t tag;
    int rc = ami_rd_u8(&r, &tag);
    if (rc)
        return rc;
    if (tag != AMI_GC_TAG_SIGNING)
        return AMI_E_PROTOCOL;
    if ((rc = get_header(&r, &a->h)) != 0 ||
        (rc = get_os(&r, AMI_GC_CONTENT_MAX, &a->content, &a->content_len)) != 0) {
        memset(a, 0, sizeof *a);
        return rc;
    }
    a->signed_len = r.pos;
    if ((rc = get_os(&r, 96, &a->signature, &a->signature_len)) != 0) {
        memset(a, 0, sizeof *a);
        return rc == AMI_E_TOO_LARGE ? AMI_E_MALFORMED : rc;
    }
    if (a->signature_len != 0 && a->signature_len != 64 && a->signature_len != 96) {
        memset(a, 0, sizeof *a);
        return AMI_E_MALFORMED;
    }
    if (consumed)
        *consumed = r.pos;
    return AMI_OK;
}

int ami_gs_sign(ami_wr *w, const ami_gc_header *h, const uint8_t *content, size_t n, int suite,
                EVP_PKEY *key)
{
    if (!w || !header_valid(h) || (n && !content) || !key)
        return AMI_E_INVAL;
    if (suite != 1 && suite != 2)
        return AMI_E_UNSUPPORTED;
    if (n > AMI_GC_CONTENT_MAX)
        return AMI_E_TOO_LARGE;
    int rc = suite_curve_ok(suite, key);
    if (rc)
        return rc;
    size_t half = suite == 1 ? 32 : 48;
    size_t start = w->len;
    ami_wr_u8(w, AMI_GC_TAG_SIGNING);
    put_header(w, h);
    put_os(w, content, n);
    size_t signed_len = w->len - start;
    ami_axdr_put_length(w, 2 * half);
    uint8_t *sig = ami_wr_reserve(w, 2 * half);
    if ((rc = ami_wr_error(w)) != 0)
        return rc;
    if (!w->p)
        return AMI_OK;
    rc = ecdsa_raw_sign(suite, key, w->p + start, signed_len, sig);
    if (rc) {
        ami_wipe(w->p + start, w->len - start);
        w->len = start;
    }
    return rc;
}

int ami_gs_verify(const uint8_t *buf, const ami_gs_apdu *a, int suite, EVP_PKEY *pub)
{
    if (!buf || !a || !pub || !a->signed_len)
        return AMI_E_INVAL;
    if (suite != 1 && suite != 2)
        return AMI_E_UNSUPPORTED;
    int rc = suite_curve_ok(suite, pub);
    if (rc)
        return rc;
    size_t half = suite == 1 ? 32 : 48;
    if (a->signature_len != 2 * half || !a->signature)
        return AMI_E_MALFORMED;
    return ecdsa_raw_verify(suite, pub, buf, a->signed_len, a->signature);
}
