/*
 * The openami signed firmware image (ami/fwimage.h, docs/firmware.md): header codec, version
 * order, and ECDSA verification with OpenSSL 3 EVP.
 *
 * The signature is stored as r || s of fixed width (not DER) so that the image length is a
 * function of the header alone: a receiver knows the exact size to expect before the first
 * payload byte, and "length exact" is one comparison. It is turned into DER only to hand it to
 * EVP_DigestVerify.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <string.h>

#include "ami/bytes.h"
#include "ami/error.h"
#include "ami/fwimage.h"
#include "ecdsa_internal.h"

static const uint8_t magic[4] = {'A', 'M', 'F', 'W'};

size_t ami_fwimg_sig_len(uint8_t alg)
{
    return alg == AMI_FWIMG_ECDSA_P256_SHA256 ? 64 : alg == AMI_FWIMG_ECDSA_P384_SHA384 ? 96 : 0;
}

const char *ami_fwimg_alg_name(uint8_t alg)
{
    return alg == AMI_FWIMG_ECDSA_P256_SHA256   ? "ecdsa-p256-sha256"
           : alg == AMI_FWIMG_ECDSA_P384_SHA384 ? "ecdsa-p384-sha384"
                                                : "unknown";
}

int ami_fwimg_header_decode(const uint8_t *p, size_t len, ami_fwimg_header *h)
{
    if (!p || !h)
        return AMI_E_INVAL;
    if (len < AMI_FWIMG_HEADER_LEN)
        return AMI_E_TRUNCATED;
    memset(h, 0, sizeof *h);
    if (memcmp(p, magic, 4) != 0)
        return AMI_E_MALFORMED;
    h->format = p[4];
    h->alg = p[5];
    h->id_len = p[6];
    if (p[7] != 0 || ami_dec16be(p + 14) != 0 || h->id_len == 0 || h->id_len > AMI_FWIMG_ID_MAX)
        return AMI_E_MALFORMED;
    for (size_t i = h->id_len; i < AMI_FWIMG_ID_MAX; i++)
        if (p[20 + i] != 0)
            return AMI_E_MALFORMED;
    if (h->format != AMI_FWIMG_FORMAT || ami_fwimg_sig_len(h->alg) == 0)
        return AMI_E_UNSUPPORTED;
    h->version.major = ami_dec16be(p + 8);
    h->version.minor = ami_dec16be(p + 10);
    h->version.patch = ami_dec16be(p + 12);
    h->payload_len = ami_dec32be(p + 16);
    memcpy(h->id, p + 20, h->id_len);
    return AMI_OK;
}

int ami_fwimg_header_encode(const ami_fwimg_header *h, uint8_t *out)
{
    if (!h || !out || h->id_len == 0 || h->id_len > AMI_FWIMG_ID_MAX ||
        ami_fwimg_sig_len(h->alg) == 0)
        return AMI_E_INVAL;
    memset(out, 0, AMI_FWIMG_HEADER_LEN);
    memcpy(out, magic, 4);
    out[4] = AMI_FWIMG_FORMAT;
    out[5] = h->alg;
    out[6] = h->id_len;
    ami_enc16be(out + 8, h->version.major);
    ami_enc16be(out + 10, h->version.minor);
    ami_enc16be(out + 12, h->version.patch);
    ami_enc32be(out + 16, h->payload_len);
    memcpy(out + 20, h->id, h->id_len);
    return AMI_OK;
}

uint64_t ami_fwimg_total_len(const ami_fwimg_header *h)
{
    size_t s = h ? ami_fwimg_sig_len(h->alg) : 0;
    return s ? AMI_FWIMG_HEADER_LEN + (uint64_t)h->payload_len + s : 0;
}

int ami_fwimg_version_cmp(const ami_fwimg_version *a, const ami_fwimg_version *b)
{
    uint64_t x = ((uint64_t)a->major << 32) | ((uint64_t)a->minor << 16) | a->patch;
    uint64_t y = ((uint64_t)b->major << 32) | ((uint64_t)b->minor << 16) | b->patch;
    return x < y ? -1 : x > y ? 1 : 0;
}

int ami_fwimg_version_parse(const char *s, size_t n, ami_fwimg_version *v)
{
    if (!s || !v)
        return AMI_E_INVAL;
    uint16_t part[3] = {0, 0, 0};
    size_t k = 0, i = 0;
    for (;;) {
        uint32_t x = 0;
        size_t digits = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9' && digits < 6) {
            x = x * 10 + (uint32_t)(s[i++] - '0');
            digits++;
        }
        if (digits == 0 || x > 0xFFFF)
            return AMI_E_SYNTAX;
        part[k++] = (uint16_t)x;
        if (i == n)
            break;
        if (s[i] != '.' || k == 3)
            return AMI_E_SYNTAX;
        i++;
    }
    v->major = part[0];
    v->minor = part[1];
    v->patch = part[2];
    return AMI_OK;
}

int ami_fwimg_version_format(const ami_fwimg_version *v, char *buf, size_t cap)
{
    if (!v || !buf)
        return AMI_E_INVAL;
    if (cap < AMI_FWIMG_VERSION_STRLEN)
        return AMI_E_NOSPACE;
    return snprintf(buf, cap, "%u.%u.%u", v->major, v->minor, v->patch);
}

/* ---------------------------------------------------------------- keys */

static const char *curve_of(size_t key_len, uint8_t *alg)
{
    if (key_len == 65) {
        *alg = AMI_FWIMG_ECDSA_P256_SHA256;
        return "P-256";
    }
    if (key_len == 97) {
        *alg = AMI_FWIMG_ECDSA_P384_SHA384;
        return "P-384";
    }
    return NULL;
}

/* An EVP_PKEY for an uncompressed point, checked to be on the curve; NULL on any failure. */
static EVP_PKEY *load_key(const uint8_t *key, size_t key_len, uint8_t *alg, int *err)
{
    const char *curve = curve_of(key_len, alg);
    *err = AMI_E_KEY;
    if (!curve)
        return NULL;
    EVP_PKEY *pkey = ami__ec_public_key(curve, key, key_len);
    if (pkey)
        *err = AMI_OK;
    return pkey;
}

int ami_fwimg_key_check(const uint8_t *key, size_t key_len, uint8_t *alg)
{
    if (!key)
        return AMI_E_INVAL;
    uint8_t a = 0;
    int err;
    EVP_PKEY *k = load_key(key, key_len, &a, &err);
    if (!k)
        return err;
    EVP_PKEY_free(k);
    if (alg)
        *alg = a;
    return AMI_OK;
}

/* ---------------------------------------------------------------- signatures */

int ami_fwimg_verify(const uint8_t *img, size_t len, const uint8_t *key, size_t key_len,
                     ami_fwimg_header *out)
{
    if (!img)
        return AMI_E_INVAL;
    ami_fwimg_header h;
    int rc = ami_fwimg_header_decode(img, len, &h);
    if (out && rc != AMI_E_TRUNCATED && rc != AMI_E_MALFORMED)
        *out = h;
    if (rc != AMI_OK)
        return rc;
    uint64_t total = ami_fwimg_total_len(&h);
    if (len < total)
        return AMI_E_TRUNCATED;
    if (len > total)
        return AMI_E_MALFORMED;
    if (!key)
        return AMI_E_KEY;
    uint8_t key_alg = 0;
    EVP_PKEY *pkey = load_key(key, key_len, &key_alg, &rc);
    if (!pkey)
        return rc;
    if (key_alg != h.alg) {
        EVP_PKEY_free(pkey);
        return AMI_E_KEY;
    }
    size_t sl = ami_fwimg_sig_len(h.alg), signed_len = (size_t)total - sl;
    rc = ami__ecdsa_verify_raw(pkey, sl / 2, img, signed_len, img + signed_len);
    EVP_PKEY_free(pkey);
    return rc;
}

int ami_fwimg_sig_from_der(uint8_t alg, const uint8_t *der, size_t der_len, uint8_t *out,
                           size_t cap)
{
    size_t sl = ami_fwimg_sig_len(alg);
    if (!der || !out || sl == 0 || der_len > 0x7FFFFFFF)
        return AMI_E_INVAL;
    if (cap < sl)
        return AMI_E_NOSPACE;
    const uint8_t *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    if (!sig || p != der + der_len) {
        ECDSA_SIG_free(sig);
        return AMI_E_MALFORMED;
    }
    const BIGNUM *r = NULL, *s = NULL;
    ECDSA_SIG_get0(sig, &r, &s);
    int rc =
        BN_bn2binpad(r, out, (int)(sl / 2)) < 0 || BN_bn2binpad(s, out + sl / 2, (int)(sl / 2)) < 0
            ? AMI_E_MALFORMED
            : (int)sl;
    ECDSA_SIG_free(sig);
    return rc;
}
