/*
 * HLS authentication mechanisms 2 to 7 and RFC 3394 key wrap (ami/hls.h), on OpenSSL 3.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "ami/bytes.h"
#include "ami/error.h"
#include "ami/hls.h"
#include "ecdsa_internal.h"

static const char *const mech_names[] = {
    "none", "low", "hls-aes", "hls-md5", "hls-sha1", "hls-gmac", "hls-sha256", "hls-ecdsa",
};

const char *ami_auth_mech_name(int mech)
{
    if (mech < 0 || (size_t)mech >= AMI_COUNTOF(mech_names))
        return "unknown";
    return mech_names[mech];
}

int ami_auth_mech_parse(const char *name)
{
    for (size_t i = 0; name && i < AMI_COUNTOF(mech_names); i++)
        if (!strcmp(name, mech_names[i]))
            return (int)i;
    return AMI_E_NOTFOUND;
}

int ami_hls_challenge(uint8_t *out, size_t len)
{
    if (!out || len < AMI_HLS_CHALLENGE_MIN || len > AMI_HLS_CHALLENGE_MAX)
        return AMI_E_RANGE;
    return RAND_bytes(out, (int)len) == 1 ? AMI_OK : AMI_E_CRYPTO;
}

/* Message digest of up to 5 concatenated parts. */
static int digest(const EVP_MD *md, const uint8_t *const parts[], const size_t lens[], int n,
                  uint8_t *out, size_t cap)
{
    size_t need = (size_t)EVP_MD_get_size(md);
    if (cap < need)
        return AMI_E_NOSPACE;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        return AMI_E_NOMEM;
    int ok = EVP_DigestInit_ex(ctx, md, NULL);
    for (int i = 0; ok && i < n; i++)
        ok = EVP_DigestUpdate(ctx, parts[i], lens[i]);
    unsigned int olen = 0;
    ok = ok && EVP_DigestFinal_ex(ctx, out, &olen);
    EVP_MD_CTX_free(ctx);
    return ok ? (int)olen : AMI_E_CRYPTO;
}

/* GMAC tag (12 bytes) over aad with key ek and a 12-byte iv. */
static int gmac12(const uint8_t *ek, size_t ek_len, const uint8_t iv[12], const uint8_t *aad,
                  size_t aad_len, uint8_t tag[12])
{
    const EVP_CIPHER *c = ek_len == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        return AMI_E_NOMEM;
    uint8_t full[16];
    int outl = 0;
    int ok = EVP_EncryptInit_ex(ctx, c, NULL, NULL, NULL) &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) &&
             EVP_EncryptInit_ex(ctx, NULL, NULL, ek, iv) &&
             EVP_EncryptUpdate(ctx, NULL, &outl, aad, (int)aad_len) &&
             EVP_EncryptFinal_ex(ctx, full, &outl) &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, full);
    EVP_CIPHER_CTX_free(ctx);
    if (!ok)
        return AMI_E_CRYPTO;
    memcpy(tag, full, 12);
    return AMI_OK;
}

/* Mechanism 2 default: AES-128-ECB of the challenge zero-padded to a multiple of 16 bytes. */
static int aes_ecb(const uint8_t *key, const uint8_t *x, size_t len, uint8_t *out, size_t cap)
{
    size_t padded = (len + 15) / 16 * 16;
    if (cap < padded)
        return AMI_E_NOSPACE;
    uint8_t in[AMI_HLS_CHALLENGE_MAX];
    memset(in, 0, sizeof in);
    memcpy(in, x, len);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        return AMI_E_NOMEM;
    int l1 = 0, l2 = 0;
    int ok = EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, key, NULL) &&
             EVP_CIPHER_CTX_set_padding(ctx, 0) &&
             EVP_EncryptUpdate(ctx, out, &l1, in, (int)padded) &&
             EVP_EncryptFinal_ex(ctx, out + l1, &l2);
    EVP_CIPHER_CTX_free(ctx);
    return ok ? l1 + l2 : AMI_E_CRYPTO;
}

/* The bytes signed by mechanism 7: ST-responder || ST-other || X || other challenge. */
static size_t ecdsa_message(const ami_hls_params *p, const uint8_t *x, size_t len,
                            const uint8_t *other, size_t other_len, uint8_t *msg)
{
    memcpy(msg, p->st_responder, 8);
    memcpy(msg + 8, p->st_other, 8);
    memcpy(msg + 16, x, len);
    if (other_len)
        memcpy(msg + 16 + len, other, other_len);
    return 16 + len + other_len;
}

/* Byte length of a coordinate for the key's curve: 32 (P-256) or 48 (P-384), else 0. */
static size_t ec_coord_len(EVP_PKEY *k)
{
    int bits = EVP_PKEY_get_bits(k);
    return bits == 256 ? 32 : bits == 384 ? 48 : 0;
}

static int ecdsa_sign(const ami_hls_params *p, const uint8_t *msg, size_t mlen, uint8_t *out,
                      size_t cap)
{
    size_t n = ec_coord_len(p->sign_key);
    if (!n)
        return AMI_E_INVAL;
    if (cap < 2 * n)
        return AMI_E_NOSPACE;
    int rc = ami__ecdsa_sign_raw(p->sign_key, n, msg, mlen, out);
    return rc == AMI_OK ? (int)(2 * n) : rc;
}

static int ecdsa_verify(const ami_hls_params *p, const uint8_t *msg, size_t mlen,
                        const uint8_t *sigb, size_t slen)
{
    size_t n = ec_coord_len(p->verify_key);
    if (!n)
        return AMI_E_INVAL;
    if (slen != 2 * n)
        return AMI_E_MALFORMED;
    return ami__ecdsa_verify_raw(p->verify_key, n, msg, mlen, sigb);
}

static int check_common(const ami_hls_params *p, const uint8_t *x, size_t len, const uint8_t *other,
                        size_t other_len)
{
    if (!p || !x || (other_len && !other))
        return AMI_E_INVAL;
    if (p->mech == AMI_ACSE_MECH_HIGH && p->custom)
        return AMI_OK;
    if (len < AMI_HLS_CHALLENGE_MIN || len > AMI_HLS_CHALLENGE_MAX ||
        other_len > AMI_HLS_CHALLENGE_MAX)
        return AMI_E_RANGE;
    return AMI_OK;
}

int ami_hls_compute(const ami_hls_params *p, const uint8_t *x, size_t len, const uint8_t *other,
                    size_t other_len, uint8_t *out, size_t cap)
{
    int rc = check_common(p, x, len, other, other_len);
    if (rc)
        return rc;
    switch (p->mech) {
    case AMI_ACSE_MECH_HIGH:
        if (p->custom) {
            rc = p->custom(p->custom_user, x, len, out, cap);
            /* A hook that claims more than cap broke its contract: never let a caller (or
             * ami_hls_check) read that many bytes from out. */
            return rc > 0 && (size_t)rc > cap ? AMI_E_INTERNAL : rc;
        }
        if (!p->secret || p->secret_len != 16)
            return AMI_E_INVAL;
        return aes_ecb(p->secret, x, len, out, cap);
    case AMI_ACSE_MECH_MD5:
    case AMI_ACSE_MECH_SHA1: {
        if (!p->secret || !p->secret_len)
            return AMI_E_INVAL;
        const uint8_t *parts[2] = {x, p->secret};
        size_t lens[2] = {len, p->secret_len};
        return digest(p->mech == AMI_ACSE_MECH_MD5 ? EVP_md5() : EVP_sha1(), parts, lens, 2, out,
                      cap);
    }
    case AMI_ACSE_MECH_SHA256: {
        if (!p->secret || !p->secret_len || !p->st_responder || !p->st_other)
            return AMI_E_INVAL;
        const uint8_t *parts[5] = {p->secret, p->st_responder, p->st_other, x, other};
        size_t lens[5] = {p->secret_len, 8, 8, len, other_len};
        return digest(EVP_sha256(), parts, lens, other_len ? 5 : 4, out, cap);
    }
    case AMI_ACSE_MECH_GMAC: {
        if (!p->ek || (p->ek_len != 16 && p->ek_len != 32) || !p->ak || !p->st_responder)
            return AMI_E_INVAL;
        if (p->ak_len > 64)
            return AMI_E_RANGE;
        if (cap < 17)
            return AMI_E_NOSPACE;
        uint8_t iv[12], aad[1 + 64 + AMI_HLS_CHALLENGE_MAX];
        memcpy(iv, p->st_responder, 8);
        ami_enc32be(iv + 8, p->ic);
        aad[0] = p->sc;
        memcpy(aad + 1, p->ak, p->ak_len);
        memcpy(aad + 1 + p->ak_len, x, len);
        out[0] = p->sc;
        ami_enc32be(out + 1, p->ic);
        rc = gmac12(p->ek, p->ek_len, iv, aad, 1 + p->ak_len + len, out + 5);
        ami_wipe(aad, sizeof aad);
        return rc ? rc : 17;
    }
    case AMI_ACSE_MECH_ECDSA: {
        if (!p->sign_key || !p->st_responder || !p->st_other)
            return AMI_E_INVAL;
        uint8_t msg[16 + 2 * AMI_HLS_CHALLENGE_MAX];
        size_t mlen = ecdsa_message(p, x, len, other, other_len, msg);
        return ecdsa_sign(p, msg, mlen, out, cap);
    }
    default:
        return AMI_E_UNSUPPORTED;
    }
}

int ami_hls_check(const ami_hls_params *p, const uint8_t *x, size_t len, const uint8_t *other,
                  size_t other_len, const uint8_t *resp, size_t resp_len, uint32_t *ic_out)
{
    int rc = check_common(p, x, len, other, other_len);
    if (rc)
        return rc;
    if (!resp)
        return AMI_E_INVAL;
    if (p->mech == AMI_ACSE_MECH_ECDSA) {
        if (!p->verify_key || !p->st_responder || !p->st_other)
            return AMI_E_INVAL;
        uint8_t msg[16 + 2 * AMI_HLS_CHALLENGE_MAX];
        size_t mlen = ecdsa_message(p, x, len, other, other_len, msg);
        return ecdsa_verify(p, msg, mlen, resp, resp_len);
    }
    ami_hls_params q = *p;
    if (p->mech == AMI_ACSE_MECH_GMAC) {
        if (resp_len != 17)
            return AMI_E_MALFORMED;
        if (resp[0] != p->sc)
            return AMI_E_AUTH;
        q.ic = ami_dec32be(resp + 1);
    }
    uint8_t expect[AMI_HLS_RESPONSE_MAX];
    rc = ami_hls_compute(&q, x, len, other, other_len, expect, sizeof expect);
    if (rc < 0)
        return rc;
    bool same = (size_t)rc == resp_len && ami_ct_equal(expect, resp, resp_len);
    ami_wipe(expect, sizeof expect);
    if (!same)
        return AMI_E_AUTH;
    if (ic_out && p->mech == AMI_ACSE_MECH_GMAC)
        *ic_out = q.ic;
    return AMI_OK;
}

static int keywrap(int enc, const uint8_t *kek, size_t kek_len, const uint8_t *in, size_t in_len,
                   uint8_t *out, size_t cap)
{
    if (!kek || !in || !out || (kek_len != 16 && kek_len != 32) || in_len % 8)
        return AMI_E_INVAL;
    size_t out_len = enc ? in_len + 8 : in_len - 8;
    if (enc ? (in_len < 16 || in_len > 32) : (in_len < 24 || in_len > 40))
        return AMI_E_INVAL;
    if (cap < out_len)
        return AMI_E_NOSPACE;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        return AMI_E_NOMEM;
    EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    const EVP_CIPHER *c = kek_len == 16 ? EVP_aes_128_wrap() : EVP_aes_256_wrap();
    uint8_t tmp[40];
    int l1 = 0, l2 = 0;
    int ok = EVP_CipherInit_ex(ctx, c, NULL, kek, NULL, enc) &&
             EVP_CipherUpdate(ctx, tmp, &l1, in, (int)in_len) &&
             EVP_CipherFinal_ex(ctx, tmp + l1, &l2);
    EVP_CIPHER_CTX_free(ctx);
    int rc;
    if (!ok || (size_t)(l1 + l2) != out_len) {
        rc = enc ? AMI_E_CRYPTO : AMI_E_AUTH;
    } else {
        memcpy(out, tmp, out_len);
        rc = (int)out_len;
    }
    ami_wipe(tmp, sizeof tmp);
    return rc;
}

int ami_keywrap_wrap(const uint8_t *kek, size_t kek_len, const uint8_t *key, size_t key_len,
                     uint8_t *out, size_t cap)
{
    return keywrap(1, kek, kek_len, key, key_len, out, cap);
}

int ami_keywrap_unwrap(const uint8_t *kek, size_t kek_len, const uint8_t *wrapped,
                       size_t wrapped_len, uint8_t *out, size_t cap)
{
    return keywrap(0, kek, kek_len, wrapped, wrapped_len, out, cap);
}
