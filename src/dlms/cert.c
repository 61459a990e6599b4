/*
 * Certificates of Security Setup version 1 (ami/dlms_cert.h): the A-XDR forms of
 * certificate_info and certificate_identification (Blue Book 4.4.7), and the X.509 facts the
 * engine needs (OpenSSL on bounded buffers). No input drives recursion or a preallocation.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ami/axdr.h"
#include "ami/dlms_cert.h"
#include "ami/error.h"
#include "cert_internal.h"

const char *ami_dlms_cert_refusal_name(int refusal)
{
    static const char *const names[] = {
        "ok",        "bad-parameters", "too-large",   "not-x509", "key-usage", "wrong-curve",
        "not-found", "no-key-pair",    "store-error", "crypto",   "denied",    "unsupported",
    };
    if (refusal < 0 || (size_t)refusal >= sizeof names / sizeof names[0])
        return "unknown";
    return names[refusal];
}

int ami_dlms_cert_curve(uint8_t suite)
{
    return suite == 2 ? NID_secp384r1 : NID_X9_62_prime256v1;
}

int ami_dlms_cert_keygen(int nid, EVP_PKEY **out)
{
    if (!out || (nid != NID_X9_62_prime256v1 && nid != NID_secp384r1))
        return AMI_E_INVAL;
    *out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", OBJ_nid2sn(nid));
    return *out ? AMI_OK : AMI_E_CRYPTO;
}

/* ---------------------------------------------------------------- A-XDR */

static void put_octets(ami_wr *w, ami_view v)
{
    ami_wr_u8(w, AMI_AXDR_OCTET_STRING);
    ami_axdr_put_length(w, v.len);
    ami_wr_bytes(w, v.p, v.len);
}

static void put_enum(ami_wr *w, uint8_t v)
{
    ami_wr_u8(w, AMI_AXDR_ENUM);
    ami_wr_u8(w, v);
}

static int get_tag(ami_rd *r, uint8_t want)
{
    uint8_t t;
    if (ami_rd_u8(r, &t) != AMI_OK)
        return AMI_E_TRUNCATED;
    return t == want ? AMI_OK : AMI_E_MALFORMED;
}

static int get_enum(ami_rd *r, uint8_t max, uint8_t *v)
{
    int rc = get_tag(r, AMI_AXDR_ENUM);
    if (rc != AMI_OK)
        return rc;
    if (ami_rd_u8(r, v) != AMI_OK)
        return AMI_E_TRUNCATED;
    return *v <= max ? AMI_OK : AMI_E_MALFORMED;
}

static int get_struct(ami_rd *r, size_t count)
{
    int rc = get_tag(r, AMI_AXDR_STRUCTURE);
    size_t n;
    if (rc != AMI_OK)
        return rc;
    if (ami_axdr_get_length(r, &n) != AMI_OK)
        return AMI_E_TRUNCATED;
    return n == count ? AMI_OK : AMI_E_MALFORMED;
}

static int get_octets(ami_rd *r, size_t max, ami_view *v)
{
    int rc = get_tag(r, AMI_AXDR_OCTET_STRING);
    size_t n;
    const uint8_t *p;
    if (rc != AMI_OK)
        return rc;
    if (ami_axdr_get_length(r, &n) != AMI_OK)
        return AMI_E_TRUNCATED;
    if (n > max)
        return AMI_E_MALFORMED;
    if (ami_rd_view(r, n, &p) != AMI_OK)
        return AMI_E_TRUNCATED;
    *v = ami_view_of(p, n);
    return AMI_OK;
}

void ami_dlms_cert_info_encode(ami_wr *w, const ami_dlms_cert_info *info)
{
    ami_wr_u8(w, AMI_AXDR_STRUCTURE);
    ami_wr_u8(w, 6);
    put_enum(w, info->entity);
    put_enum(w, info->type);
    put_octets(w, info->serial);
    put_octets(w, info->issuer);
    put_octets(w, info->subject);
    put_octets(w, info->alt_name);
}

int ami_dlms_cert_list_begin(ami_dlms_cert_list *it, const uint8_t *p, size_t n)
{
    if (!it || (!p && n))
        return AMI_E_INVAL;
    ami_rd_init(&it->r, p, n);
    int rc = get_tag(&it->r, AMI_AXDR_ARRAY);
    if (rc != AMI_OK)
        return rc;
    if (ami_axdr_get_length(&it->r, &it->left) != AMI_OK)
        return AMI_E_TRUNCATED;
    /* Each element takes at least 14 bytes: a count beyond that is a lie. */
    if (it->left > ami_rd_left(&it->r) / 14)
        return AMI_E_MALFORMED;
    return AMI_OK;
}

int ami_dlms_cert_list_next(ami_dlms_cert_list *it, ami_dlms_cert_info *out)
{
    if (!it || !out)
        return AMI_E_INVAL;
    if (!it->left)
        return ami_rd_left(&it->r) ? AMI_E_MALFORMED : 0;
    ami_rd *r = &it->r;
    int rc = get_struct(r, 6);
    if (rc == AMI_OK)
        rc = get_enum(r, 3, &out->entity);
    if (rc == AMI_OK)
        rc = get_enum(r, 3, &out->type);
    if (rc == AMI_OK)
        rc = get_octets(r, AMI_DLMS_CERT_MAX, &out->serial);
    if (rc == AMI_OK)
        rc = get_octets(r, AMI_DLMS_CERT_MAX, &out->issuer);
    if (rc == AMI_OK)
        rc = get_octets(r, AMI_DLMS_CERT_MAX, &out->subject);
    if (rc == AMI_OK)
        rc = get_octets(r, AMI_DLMS_CERT_MAX, &out->alt_name);
    if (rc != AMI_OK)
        return rc;
    it->left--;
    return 1;
}

void ami_dlms_cert_id_encode(ami_wr *w, const ami_dlms_cert_id *id)
{
    ami_wr_u8(w, AMI_AXDR_STRUCTURE);
    ami_wr_u8(w, 2);
    put_enum(w, id->kind);
    ami_wr_u8(w, AMI_AXDR_STRUCTURE);
    if (id->kind == AMI_DLMS_CERT_BY_ENTITY) {
        ami_wr_u8(w, 3);
        put_enum(w, id->entity);
        put_enum(w, id->type);
        put_octets(w, id->system_title);
    } else {
        ami_wr_u8(w, 2);
        put_octets(w, id->serial);
        put_octets(w, id->issuer);
    }
}

int ami_dlms_cert_id_decode(const uint8_t *p, size_t n, ami_dlms_cert_id *out)
{
    if (!out || (!p && n))
        return AMI_E_INVAL;
    memset(out, 0, sizeof *out);
    ami_rd r;
    ami_rd_init(&r, p, n);
    int rc = get_struct(&r, 2);
    if (rc == AMI_OK)
        rc = get_enum(&r, 1, &out->kind);
    if (rc == AMI_OK)
        rc = get_struct(&r, out->kind == AMI_DLMS_CERT_BY_ENTITY ? 3 : 2);
    if (rc == AMI_OK && out->kind == AMI_DLMS_CERT_BY_ENTITY) {
        rc = get_enum(&r, 3, &out->entity);
        if (rc == AMI_OK)
            rc = get_enum(&r, 3, &out->type);
        if (rc == AMI_OK)
            rc = get_octets(&r, 8, &out->system_title);
        if (rc == AMI_OK && out->system_title.len != 0 && out->system_title.len != 8)
            rc = AMI_E_MALFORMED;
    } else if (rc == AMI_OK) {
        rc = get_octets(&r, AMI_DLMS_CERT_MAX, &out->serial);
        if (rc == AMI_OK)
            rc = get_octets(&r, AMI_DLMS_CERT_MAX, &out->issuer);
    }
    if (rc == AMI_OK && ami_rd_left(&r))
        rc = AMI_E_MALFORMED;
    return rc;
}

/* ---------------------------------------------------------------- X.509 */

int ami__x509_open(const uint8_t *der, size_t len, X509 **out)
{
    *out = NULL;
    if (len > AMI_DLMS_CERT_MAX)
        return AMI_E_TOO_LARGE;
    if (!der || len == 0)
        return AMI_E_MALFORMED;
    const unsigned char *q = der;
    X509 *x = d2i_X509(NULL, &q, (long)len);
    if (!x)
        return AMI_E_MALFORMED;
    if ((size_t)(q - der) != len) { /* exactly one certificate, nothing after it */
        X509_free(x);
        return AMI_E_MALFORMED;
    }
    *out = x;
    return AMI_OK;
}

static ami_view name_der(const X509_NAME *nm)
{
    const unsigned char *p = NULL;
    size_t n = 0;
    if (!nm || X509_NAME_get0_der(nm, &p, &n) != 1)
        return ami_view_of(NULL, 0);
    return ami_view_of(p, n);
}

void ami__x509_info(const X509 *x, uint8_t entity, uint8_t type, ami_dlms_cert_info *info)
{
    memset(info, 0, sizeof *info);
    info->entity = entity;
    info->type = type;
    const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
    info->serial = ami_view_of(ASN1_STRING_get0_data(sn), (size_t)ASN1_STRING_length(sn));
    info->issuer = name_der(X509_get_issuer_name(x));
    info->subject = name_der(X509_get_subject_name(x));
    int idx = X509_get_ext_by_NID(x, NID_subject_alt_name, -1);
    if (idx >= 0) {
        const ASN1_OCTET_STRING *d = X509_EXTENSION_get_data(X509_get_ext(x, idx));
        if (d)
            info->alt_name = ami_view_of(ASN1_STRING_get0_data(d), (size_t)ASN1_STRING_length(d));
    }
}

int ami_dlms_cert_info_of(ami_wr *w, const uint8_t *der, size_t len, uint8_t entity, uint8_t type)
{
    if (!w)
        return AMI_E_INVAL;
    X509 *x;
    int rc = ami__x509_open(der, len, &x);
    if (rc != AMI_OK)
        return rc;
    ami_dlms_cert_info info;
    ami__x509_info(x, entity, type, &info);
    ami_dlms_cert_info_encode(w, &info);
    X509_free(x);
    return ami_wr_error(w) ? AMI_E_NOSPACE : AMI_OK;
}

bool ami__x509_cn_is(const X509 *x, const uint8_t *st)
{
    char cn[64], hex[17];
    int n = X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn);
    if (n != 16)
        return false;
    ami_hex_encode(st, 8, hex, sizeof hex);
    for (int i = 0; i < 16; i++) {
        char c = cn[i];
        if (c >= 'a' && c <= 'f')
            c = (char)(c - 'a' + 'A');
        if (c != hex[i])
            return false;
    }
    return true;
}

int ami__x509_classify(const X509 *x, int nid, uint8_t *type, bool *ca)
{
    EVP_PKEY *pk = X509_get0_pubkey(x);
    char grp[32];
    size_t gl = 0;
    if (!pk || EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC ||
        EVP_PKEY_get_group_name(pk, grp, sizeof grp, &gl) != 1 || strcmp(grp, OBJ_nid2sn(nid)))
        return AMI_DLMS_CERT_WRONG_CURVE;
    uint32_t ku = X509_get_key_usage((X509 *)x); /* computes the cached extensions */
    uint32_t flags = X509_get_extension_flags((X509 *)x);
    if (flags & EXFLAG_INVALID)
        return AMI_DLMS_CERT_NOT_X509;
    if (!(flags & EXFLAG_KUSAGE))
        return AMI_DLMS_CERT_KEY_USAGE;
    *ca = (flags & EXFLAG_CA) != 0;
    bool ds = ku & KU_DIGITAL_SIGNATURE, ka = ku & KU_KEY_AGREEMENT;
    if (*ca) {
        if (!(ku & KU_KEY_CERT_SIGN))
            return AMI_DLMS_CERT_KEY_USAGE;
        *type = AMI_DLMS_CERT_SIGNING;
    } else if (ds && ka) {
        *type = AMI_DLMS_CERT_TLS;
    } else if (ds) {
        *type = AMI_DLMS_CERT_SIGNING;
    } else if (ka) {
        *type = AMI_DLMS_CERT_KEY_AGREEMENT;
    } else {
        return AMI_DLMS_CERT_KEY_USAGE;
    }
    return AMI_DLMS_CERT_OK;
}
