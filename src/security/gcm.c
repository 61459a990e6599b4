/*
 * DLMS ciphering with AES-GCM (Green Book 9.2.7.2.4) on top of OpenSSL 3 EVP.
 *
 * Two EVP_CIPHER_CTX per ami_sec_ctx, one per direction, each keyed once per key; each message
 * only sets a new IV, so the AES key schedule and the GHASH key are not recomputed per frame,
 * and a context that deciphers a request and ciphers its response never switches direction.
 * Setting the key it already holds keeps both keyed (a caller may set the keys per message).
 *
 *   A+E  AES-GCM with AAD = SC || AK; the tag is verified by EVP_DecryptFinal_ex (OpenSSL
 *        compares with CRYPTO_memcmp, constant time).
 *   A    GMAC: AES-GCM over no plaintext with AAD = SC || AK || information; the tag is
 *        computed (encrypt direction) and compared with ami_ct_equal().
 *   E    GCM without tag: the keystream of GCM (counter starting at inc32(J0)), i.e. what
 *        EVP_*Update produces before any Final. No integrity: see ami/security.h.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <limits.h>
#include <openssl/evp.h>

#include "ami/security.h"
#include "core/internal.h"

enum { DIR_DEC = 0, DIR_ENC = 1 };

int ami_sec_ctx_init(ami_sec_ctx *ctx)
{
    if (!ctx)
        return AMI_E_INVAL;
    memset(ctx, 0, sizeof(*ctx));
    ctx->accept = AMI_SEC_ACCEPT_AUTH_ENC | AMI_SEC_ACCEPT_AUTH;
    ctx->keyed = 0;
    ctx->evp = EVP_CIPHER_CTX_new();
    ctx->evp_dec = EVP_CIPHER_CTX_new();
    if (ctx->evp && ctx->evp_dec)
        return AMI_OK;
    EVP_CIPHER_CTX_free((EVP_CIPHER_CTX *)ctx->evp);
    EVP_CIPHER_CTX_free((EVP_CIPHER_CTX *)ctx->evp_dec);
    ctx->evp = ctx->evp_dec = NULL;
    return AMI_E_NOMEM;
}

static int set_key(uint8_t *dst, uint8_t *dst_len, const uint8_t *key, size_t len)
{
    if (!key)
        return AMI_E_INVAL;
    if (len != 16 && len != 32)
        return AMI_E_KEY;
    ami_wipe(dst, AMI_SEC_KEY_MAX);
    memcpy(dst, key, len);
    *dst_len = (uint8_t)len;
    return AMI_OK;
}

int ami_sec_ctx_set_ek(ami_sec_ctx *ctx, const uint8_t *key, size_t len)
{
    if (!ctx)
        return AMI_E_INVAL;
    /* The same key again: the cipher contexts stay keyed (compared in constant time). */
    if (key && (len == 16 || len == 32) && len == ctx->ek_len && ami_ct_equal(key, ctx->ek, len))
        return AMI_OK;
    int rc = set_key(ctx->ek, &ctx->ek_len, key, len);
    if (rc == AMI_OK)
        ctx->keyed = 0; /* both cipher contexts must be rekeyed */
    return rc;
}

int ami_sec_ctx_set_ak(ami_sec_ctx *ctx, const uint8_t *key, size_t len)
{
    if (!ctx)
        return AMI_E_INVAL;
    return set_key(ctx->ak, &ctx->ak_len, key, len);
}

void ami_sec_ctx_wipe(ami_sec_ctx *ctx)
{
    if (!ctx)
        return;
    ami_wipe(ctx->ek, sizeof(ctx->ek));
    ami_wipe(ctx->ak, sizeof(ctx->ak));
    ctx->ek_len = ctx->ak_len = 0;
    /* EVP_CIPHER_CTX_free cleanses the key schedule held by OpenSSL. */
    EVP_CIPHER_CTX_free((EVP_CIPHER_CTX *)ctx->evp);
    EVP_CIPHER_CTX_free((EVP_CIPHER_CTX *)ctx->evp_dec);
    ctx->evp = ctx->evp_dec = NULL;
    ctx->keyed = 0;
    ctx->accept = 0;
}

/* Key length required by a suite (Green Book 9.2.7.2.3, Table 34). */
static size_t suite_key_len(unsigned suite)
{
    return suite == 2 ? 32 : 16;
}

static int check_sc(const ami_sec_ctx *ctx, uint8_t sc, bool policy)
{
    if (!ctx)
        return AMI_E_INVAL;
    if (sc & AMI_SEC_SC_COMPRESS)
        return AMI_E_UNSUPPORTED;
    unsigned suite = sc & AMI_SEC_SC_SUITE_MASK;
    if (suite > 2)
        return AMI_E_UNSUPPORTED;
    bool a = (sc & AMI_SEC_SC_AUTH) != 0, e = (sc & AMI_SEC_SC_ENC) != 0;
    if (!a && !e)
        return AMI_E_MALFORMED;
    if (policy) {
        unsigned level = a && e ? AMI_SEC_ACCEPT_AUTH_ENC
                         : a    ? AMI_SEC_ACCEPT_AUTH
                                : AMI_SEC_ACCEPT_ENC;
        if (!(ctx->accept & level))
            return AMI_E_ACCESS;
    }
    if (!ctx->evp || !ctx->evp_dec || ctx->ek_len != suite_key_len(suite))
        return AMI_E_KEY;
    if (a && ctx->ak_len == 0)
        return AMI_E_KEY;
    return AMI_OK;
}

int ami_sec_check_sc(const ami_sec_ctx *ctx, uint8_t sc)
{
    return check_sc(ctx, sc, true);
}

/* The cipher context of a direction. */
static EVP_CIPHER_CTX *evp_of(const ami_sec_ctx *ctx, int dir)
{
    return (EVP_CIPHER_CTX *)(dir == DIR_ENC ? ctx->evp : ctx->evp_dec);
}

/* Keys the cipher context of `dir` if needed and starts a message with the given IV. */
static int start(ami_sec_ctx *ctx, int dir, const uint8_t iv[12])
{
    EVP_CIPHER_CTX *evp = evp_of(ctx, dir);
    uint8_t bit = (uint8_t)(1u << dir);
    if (!(ctx->keyed & bit)) {
        const EVP_CIPHER *c = ctx->ek_len == 32 ? EVP_aes_256_gcm() : EVP_aes_128_gcm();
        /* The default GCM IV length is 12 bytes, the DLMS IV length. */
        if (EVP_CipherInit_ex(evp, c, NULL, ctx->ek, iv, dir) != 1)
            return AMI_E_CRYPTO;
        ctx->keyed |= bit;
        return AMI_OK;
    }
    return EVP_CipherInit_ex(evp, NULL, NULL, NULL, iv, -1) == 1 ? AMI_OK : AMI_E_CRYPTO;
}

static void make_iv(uint8_t iv[12], const uint8_t system_title[8], uint32_t ic)
{
    memcpy(iv, system_title, 8);
    ami_enc32be(iv + 8, ic);
}

/* Feeds AAD = SC || AK (the caller adds the information for GMAC). */
static int add_aad_head(ami_sec_ctx *ctx, int dir, uint8_t sc)
{
    EVP_CIPHER_CTX *evp = evp_of(ctx, dir);
    int outl = 0;
    if (EVP_CipherUpdate(evp, NULL, &outl, &sc, 1) != 1 ||
        EVP_CipherUpdate(evp, NULL, &outl, ctx->ak, ctx->ak_len) != 1)
        return AMI_E_CRYPTO;
    return AMI_OK;
}

/* Runs the keystream over n bytes (EVP takes int lengths; n <= INT32_MAX checked by callers). */
static int update(ami_sec_ctx *ctx, int dir, const uint8_t *in, size_t n, uint8_t *out)
{
    int outl = 0;
    if (n == 0)
        return AMI_OK;
    if (EVP_CipherUpdate(evp_of(ctx, dir), out, &outl, in, (int)n) != 1 || (size_t)outl != n)
        return AMI_E_CRYPTO;
    return AMI_OK;
}

/* GMAC over SC || AK || info, in the encrypt direction; writes the 12-byte tag. */
static int gmac(ami_sec_ctx *ctx, uint8_t sc, const uint8_t iv[12], const uint8_t *info, size_t n,
                uint8_t tag[AMI_SEC_TAG_LEN])
{
    EVP_CIPHER_CTX *evp = evp_of(ctx, DIR_ENC);
    int outl = 0;
    uint8_t fin[16];
    int rc = start(ctx, DIR_ENC, iv);
    if (rc == AMI_OK)
        rc = add_aad_head(ctx, DIR_ENC, sc);
    if (rc == AMI_OK && n && EVP_CipherUpdate(evp, NULL, &outl, info, (int)n) != 1)
        rc = AMI_E_CRYPTO;
    if (rc == AMI_OK && (EVP_CipherFinal_ex(evp, fin, &outl) != 1 ||
                         EVP_CIPHER_CTX_ctrl(evp, EVP_CTRL_GCM_GET_TAG, AMI_SEC_TAG_LEN, tag) != 1))
        rc = AMI_E_CRYPTO;
    return rc;
}

int ami_sec_encrypt(ami_sec_ctx *ctx, const uint8_t system_title[8], uint8_t sc, uint32_t ic,
                    const uint8_t *in, size_t n, uint8_t *out, uint8_t tag[AMI_SEC_TAG_LEN])
{
    int rc = check_sc(ctx, sc, false);
    if (rc)
        return rc;
    bool a = sc & AMI_SEC_SC_AUTH, e = sc & AMI_SEC_SC_ENC;
    if (!system_title || (n && (!in || !out)) || (a && !tag))
        return AMI_E_INVAL;
    if (n > INT32_MAX)
        return AMI_E_TOO_LARGE;
    uint8_t iv[12];
    make_iv(iv, system_title, ic);
    if (!e) {
        if (out != in && n)
            memmove(out, in, n);
        return gmac(ctx, sc, iv, out, n, tag);
    }
    EVP_CIPHER_CTX *evp = evp_of(ctx, DIR_ENC);
    rc = start(ctx, DIR_ENC, iv);
    if (rc == AMI_OK && a)
        rc = add_aad_head(ctx, DIR_ENC, sc);
    if (rc == AMI_OK)
        rc = update(ctx, DIR_ENC, in, n, out);
    if (rc == AMI_OK && a) {
        uint8_t fin[16];
        int outl = 0;
        if (EVP_CipherFinal_ex(evp, fin, &outl) != 1 ||
            EVP_CIPHER_CTX_ctrl(evp, EVP_CTRL_GCM_GET_TAG, AMI_SEC_TAG_LEN, tag) != 1)
            rc = AMI_E_CRYPTO;
    }
    return rc;
}

int ami_sec_decrypt(ami_sec_ctx *ctx, const uint8_t system_title[8], uint8_t sc, uint32_t ic,
                    const uint8_t *in, size_t n, const uint8_t *tag, size_t tag_len, uint8_t *out)
{
    if (!system_title || (n && (!in || !out)))
        return AMI_E_INVAL;
    int rc = check_sc(ctx, sc, true);
    if (rc == AMI_OK && n > INT32_MAX)
        rc = AMI_E_TOO_LARGE;
    bool a = sc & AMI_SEC_SC_AUTH, e = sc & AMI_SEC_SC_ENC;
    if (rc == AMI_OK && (a ? (tag_len != AMI_SEC_TAG_LEN || !tag) : tag_len != 0))
        rc = AMI_E_MALFORMED;
    if (rc) {
        if (n && out)
            ami_wipe(out, n);
        return rc;
    }
    uint8_t iv[12];
    make_iv(iv, system_title, ic);
    if (!e) {
        uint8_t calc[AMI_SEC_TAG_LEN];
        rc = gmac(ctx, sc, iv, in, n, calc);
        if (rc == AMI_OK && !ami_ct_equal(calc, tag, AMI_SEC_TAG_LEN))
            rc = AMI_E_AUTH;
        if (rc == AMI_OK && out != in && n)
            memmove(out, in, n);
        else if (rc && n)
            ami_wipe(out, n);
        return rc;
    }
    EVP_CIPHER_CTX *evp = evp_of(ctx, DIR_DEC);
    rc = start(ctx, DIR_DEC, iv);
    if (rc == AMI_OK && a)
        rc = add_aad_head(ctx, DIR_DEC, sc);
    if (rc == AMI_OK)
        rc = update(ctx, DIR_DEC, in, n, out);
    if (rc == AMI_OK && a) {
        uint8_t fin[16];
        int outl = 0;
        /* The ctrl takes a non-const pointer but only copies the tag. */
        uint8_t t[AMI_SEC_TAG_LEN];
        memcpy(t, tag, sizeof(t));
        if (EVP_CIPHER_CTX_ctrl(evp, EVP_CTRL_GCM_SET_TAG, AMI_SEC_TAG_LEN, t) != 1)
            rc = AMI_E_CRYPTO;
        else if (EVP_CipherFinal_ex(evp, fin, &outl) != 1)
            rc = AMI_E_AUTH; /* OpenSSL compares the tag with CRYPTO_memcmp */
    }
    if (rc && n)
        ami_wipe(out, n);
    return rc;
}
