/*
 * Raw (r || s) ECDSA and EC public keys from points, shared by HLS mechanism 7, general-signing,
 * agreed-key and firmware image verification.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "ecdsa_internal.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/params.h>
#include <string.h>

#include "ami/error.h"

static const EVP_MD *hash_of(size_t half)
{
    return half == 32 ? EVP_sha256() : EVP_sha384();
}

int ami__ecdsa_raw_to_der(const uint8_t *raw, size_t half, uint8_t *der, size_t cap)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, (int)half, NULL), *s = BN_bin2bn(raw + half, (int)half, NULL);
    int len = -1;
    if (sig && r && s && ECDSA_SIG_set0(sig, r, s) == 1) {
        r = s = NULL; /* owned by sig now */
        int need = i2d_ECDSA_SIG(sig, NULL);
        if (need > 0 && (size_t)need <= cap) {
            uint8_t *p = der;
            len = i2d_ECDSA_SIG(sig, &p);
        }
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return len;
}

int ami__ecdsa_sign_raw(EVP_PKEY *key, size_t half, const uint8_t *msg, size_t n, uint8_t *sig)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t der[160];
    size_t dlen = sizeof der;
    int rc = AMI_E_CRYPTO;
    if (ctx && EVP_DigestSignInit(ctx, NULL, hash_of(half), NULL, key) == 1 &&
        EVP_DigestSign(ctx, der, &dlen, msg, n) == 1) {
        const unsigned char *q = der;
        ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &q, (long)dlen);
        if (s) {
            const BIGNUM *br, *bs;
            ECDSA_SIG_get0(s, &br, &bs);
            if (BN_bn2binpad(br, sig, (int)half) == (int)half &&
                BN_bn2binpad(bs, sig + half, (int)half) == (int)half)
                rc = AMI_OK;
            ECDSA_SIG_free(s);
        }
    }
    EVP_MD_CTX_free(ctx);
    return rc;
}

int ami__ecdsa_verify_raw(EVP_PKEY *pub, size_t half, const uint8_t *msg, size_t n,
                          const uint8_t *sig)
{
    uint8_t der[160];
    int dlen = ami__ecdsa_raw_to_der(sig, half, der, sizeof der);
    if (dlen <= 0)
        return AMI_E_AUTH; /* r or s unusable: no valid signature */
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        return AMI_E_NOMEM;
    int rc = AMI_E_CRYPTO;
    if (EVP_DigestVerifyInit(ctx, NULL, hash_of(half), NULL, pub) == 1) {
        int v = EVP_DigestVerify(ctx, der, (size_t)dlen, msg, n);
        rc = v == 1 ? AMI_OK : AMI_E_AUTH; /* 0: mismatch; < 0: a malformed (r, s) */
    }
    EVP_MD_CTX_free(ctx);
    return rc;
}

EVP_PKEY *ami__ec_public_key(const char *group, const uint8_t *point, size_t len)
{
    char g[8];
    size_t gl = strlen(group);
    if (gl >= sizeof g || len == 0 || point[0] != 0x04)
        return NULL;
    memcpy(g, group, gl + 1);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, g, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)point, len),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (pc && (EVP_PKEY_fromdata_init(pc) <= 0 ||
               EVP_PKEY_fromdata(pc, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0))
        pkey = NULL;
    EVP_PKEY_CTX_free(pc);
    if (!pkey)
        return NULL;
    /* fromdata decodes the point; the quick public check makes sure it lies on the curve (not
     * the point at infinity). The full check would also multiply by the group order, costing
     * about as much as a verification, and adds nothing on P-256 and P-384: their cofactor is
     * 1, so every point on the curve is in the prime-order group. */
    EVP_PKEY_CTX *cc = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    int ok = cc && EVP_PKEY_public_check_quick(cc) == 1;
    EVP_PKEY_CTX_free(cc);
    if (!ok) {
        EVP_PKEY_free(pkey);
        return NULL;
    }
    return pkey;
}
