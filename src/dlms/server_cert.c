/*
 * Certificates of Security Setup version 1 served by the association engine (Blue Book 4.4.7):
 * attribute 6 certificates and methods 4 generate_key_pair, 5 generate_certificate_request,
 * 6 import_certificate, 7 export_certificate, 8 remove_certificate. Key pairs and certificates
 * live with the caller's provider (ami_dlms_server_sec.certs). server_sec.c has already checked
 * the object, the SAP's security and that the request was authenticated.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include <openssl/x509.h>

#include "ami/axdr.h"
#include "ami/dlms_cert.h"
#include "ami/dlms_server.h"
#include "cert_internal.h"
#include "server_internal.h"

/* Largest certificate request produced (a P-384 CSR is about 250 bytes). */
#define CSR_MAX 1024

int ami_dlms_assoc_cert_refusal(const struct ami_dlms_assoc *a)
{
    return a ? a->sec.cert_refusal : AMI_DLMS_CERT_DENIED;
}

static const ami_dlms_cert_provider *provider(const ami_dlms_assoc *a)
{
    return a->srv->cfg.sec ? a->srv->cfg.sec->certs : NULL;
}

static int nid_of(const ami_dlms_assoc *a)
{
    return ami_dlms_cert_curve(a->policy->sec->suite);
}

/* Refuses with a reason; returns the action-result. */
static int refuse(ami_dlms_assoc *a, int why)
{
    a->sec.cert_refusal = (uint8_t)why;
    switch (why) {
    case AMI_DLMS_CERT_BAD_PARAMETERS:
        return AMI_DAR_TYPE_UNMATCHED;
    case AMI_DLMS_CERT_DENIED:
        return AMI_DAR_READ_WRITE_DENIED;
    case AMI_DLMS_CERT_NOT_FOUND:
    case AMI_DLMS_CERT_NO_KEY_PAIR:
        return AMI_DAR_OBJECT_UNAVAILABLE;
    case AMI_DLMS_CERT_STORE:
        return AMI_DAR_TEMPORARY_FAILURE;
    default:
        return AMI_DAR_OTHER_REASON;
    }
}

static size_t cert_count(const ami_dlms_assoc *a, const ami_dlms_cert_provider *p)
{
    size_t n = 0;
    ami_dlms_cert c;
    while (n < AMI_DLMS_CERT_SCAN_MAX && p->cert_at(p->user, a->ctx.client_sap, n, &c) == AMI_OK)
        n++;
    return n;
}

int ami__cert_get(ami_dlms_assoc *a, ami_wr *out)
{
    const ami_dlms_cert_provider *p = provider(a);
    size_t n = p ? cert_count(a, p) : 0;
    ami_wr_u8(out, AMI_AXDR_ARRAY);
    ami_axdr_put_length(out, n);
    for (size_t i = 0; i < n; i++) {
        ami_dlms_cert c;
        if (p->cert_at(p->user, a->ctx.client_sap, i, &c) != AMI_OK ||
            ami_dlms_cert_info_of(out, c.der, c.len, c.entity, c.type) != AMI_OK)
            return AMI_DAR_OTHER_REASON;
    }
    return AMI_DAR_SUCCESS;
}

/* The one enum parameter of methods 4 and 5 (key_pair_type 0..2), or -1. */
static int key_pair_param(ami_view params)
{
    if (params.len != 2 || params.p[0] != AMI_AXDR_ENUM || params.p[1] > AMI_DLMS_CERT_TLS)
        return -1;
    return params.p[1];
}

static bool matches(const ami_dlms_assoc *a, const ami_dlms_cert_id *id, const ami_dlms_cert *c)
{
    X509 *x;
    if (ami__x509_open(c->der, c->len, &x) != AMI_OK)
        return false;
    bool ok;
    if (id->kind == AMI_DLMS_CERT_BY_ENTITY) {
        ok = c->entity == id->entity && c->type == id->type &&
             (!id->system_title.len || ami__x509_cn_is(x, id->system_title.p));
    } else {
        ami_dlms_cert_info info;
        ami__x509_info(x, c->entity, c->type, &info);
        ok = info.serial.len == id->serial.len && info.issuer.len == id->issuer.len &&
             memcmp(info.serial.p, id->serial.p, id->serial.len) == 0 &&
             memcmp(info.issuer.p, id->issuer.p, id->issuer.len) == 0;
    }
    (void)a;
    X509_free(x);
    return ok;
}

/* The index of the first certificate an identification designates, or -1. */
static long find(const ami_dlms_assoc *a, const ami_dlms_cert_provider *p,
                 const ami_dlms_cert_id *id, ami_dlms_cert *found)
{
    for (size_t i = 0; i < AMI_DLMS_CERT_SCAN_MAX; i++) {
        if (p->cert_at(p->user, a->ctx.client_sap, i, found) != AMI_OK)
            break;
        if (matches(a, id, found))
            return (long)i;
    }
    return -1;
}

static int generate_key_pair(ami_dlms_assoc *a, const ami_dlms_cert_provider *p, ami_view params)
{
    int kp = key_pair_param(params);
    if (kp < 0)
        return refuse(a, AMI_DLMS_CERT_BAD_PARAMETERS);
    if (p->key_generate(p->user, a->ctx.client_sap, (uint8_t)kp, nid_of(a)) != AMI_OK)
        return refuse(a, AMI_DLMS_CERT_STORE);
    /* The server's certificates of that key pair certify a key that is gone. */
    for (size_t i = cert_count(a, p); i-- > 0;) {
        ami_dlms_cert c;
        if (p->cert_at(p->user, a->ctx.client_sap, i, &c) == AMI_OK &&
            c.entity == AMI_DLMS_CERT_SERVER && c.type == kp)
            (void)p->cert_remove(p->user, a->ctx.client_sap, i);
    }
    return AMI_DAR_SUCCESS;
}

/* The server's key pair of type kp on the suite's curve, or NULL. */
static EVP_PKEY *own_key(ami_dlms_assoc *a, const ami_dlms_cert_provider *p, uint8_t kp)
{
    EVP_PKEY *k = NULL;
    if (p->key_get(p->user, a->ctx.client_sap, kp, &k) != AMI_OK || !k)
        return NULL;
    char grp[32];
    size_t gl = 0;
    if (EVP_PKEY_get_base_id(k) != EVP_PKEY_EC ||
        EVP_PKEY_get_group_name(k, grp, sizeof grp, &gl) != 1 ||
        strcmp(grp, OBJ_nid2sn(nid_of(a))) != 0)
        return NULL;
    return k;
}

/* PKCS#10 request for the key pair: subject CN = the server system title in hex (Green Book
 * 9.2.6), signed with the key (ECDSA with SHA-256, SHA-384 for suite 2). */
static int generate_csr(ami_dlms_assoc *a, const ami_dlms_cert_provider *p, ami_view params,
                        ami_wr *out)
{
    int kp = key_pair_param(params);
    if (kp < 0)
        return refuse(a, AMI_DLMS_CERT_BAD_PARAMETERS);
    EVP_PKEY *k = own_key(a, p, (uint8_t)kp);
    if (!k)
        return refuse(a, AMI_DLMS_CERT_NO_KEY_PAIR);
    char hex[17];
    ami_hex_encode(a->srv->cfg.sec->system_title, 8, hex, sizeof hex);
    X509_REQ *req = X509_REQ_new();
    int why = AMI_DLMS_CERT_CRYPTO;
    if (req && X509_REQ_set_version(req, 0) == 1 &&
        X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_ASC,
                                   (const unsigned char *)hex, -1, -1, 0) == 1 &&
        X509_REQ_set_pubkey(req, k) == 1 &&
        X509_REQ_sign(req, k, a->policy->sec->suite == 2 ? EVP_sha384() : EVP_sha256()) > 0) {
        int n = i2d_X509_REQ(req, NULL);
        if (n > 0 && n <= CSR_MAX) {
            ami_wr_u8(out, AMI_AXDR_OCTET_STRING);
            ami_axdr_put_length(out, (size_t)n);
            unsigned char *at = ami_wr_reserve(out, (size_t)n);
            if (at && i2d_X509_REQ(req, &at) == n)
                why = AMI_DLMS_CERT_OK;
            else if (!at)
                why = AMI_DLMS_CERT_OK; /* the engine answers the full writer other-reason */
        }
    }
    X509_REQ_free(req);
    return why == AMI_DLMS_CERT_OK ? AMI_DAR_SUCCESS : refuse(a, why);
}

static int import_certificate(ami_dlms_assoc *a, const ami_dlms_cert_provider *p, ami_view params)
{
    ami_rd r;
    ami_rd_init(&r, params.p, params.len);
    uint8_t t;
    size_t n;
    const uint8_t *der;
    if (ami_rd_u8(&r, &t) || t != AMI_AXDR_OCTET_STRING || ami_axdr_get_length(&r, &n))
        return refuse(a, AMI_DLMS_CERT_BAD_PARAMETERS);
    if (n > AMI_DLMS_CERT_MAX)
        return refuse(a, AMI_DLMS_CERT_TOO_LARGE);
    if (ami_rd_view(&r, n, &der) || ami_rd_left(&r))
        return refuse(a, AMI_DLMS_CERT_BAD_PARAMETERS);
    X509 *x;
    int rc = ami__x509_open(der, n, &x);
    if (rc != AMI_OK)
        return refuse(a, rc == AMI_E_TOO_LARGE ? AMI_DLMS_CERT_TOO_LARGE : AMI_DLMS_CERT_NOT_X509);
    uint8_t type = 0;
    bool ca = false;
    int why = ami__x509_classify(x, nid_of(a), &type, &ca);
    if (why != AMI_DLMS_CERT_OK) {
        X509_free(x);
        return refuse(a, why);
    }
    /* The server's own certificate certifies one of its key pairs; a CA's is a CA's; any
     * other is a client's. */
    uint8_t entity = ca ? AMI_DLMS_CERT_CA : AMI_DLMS_CERT_CLIENT;
    EVP_PKEY *own = ca ? NULL : own_key(a, p, type);
    if (own && EVP_PKEY_eq(X509_get0_pubkey(x), own) == 1)
        entity = AMI_DLMS_CERT_SERVER;
    /* One certificate per entity, type and subject: a new one replaces the old (added first,
     * so a full store loses nothing). */
    ami_dlms_cert_info info;
    ami__x509_info(x, entity, type, &info);
    long old = -1;
    for (size_t i = 0; old < 0 && i < AMI_DLMS_CERT_SCAN_MAX; i++) {
        ami_dlms_cert c;
        X509 *y;
        if (p->cert_at(p->user, a->ctx.client_sap, i, &c) != AMI_OK)
            break;
        if (c.entity != entity || c.type != type || ami__x509_open(c.der, c.len, &y) != AMI_OK)
            continue;
        ami_dlms_cert_info yi;
        ami__x509_info(y, c.entity, c.type, &yi);
        if (yi.subject.len == info.subject.len &&
            memcmp(yi.subject.p, info.subject.p, yi.subject.len) == 0)
            old = (long)i;
        X509_free(y);
    }
    X509_free(x);
    ami_dlms_cert c = {entity, type, der, n};
    if (p->cert_add(p->user, a->ctx.client_sap, &c) != AMI_OK)
        return refuse(a, AMI_DLMS_CERT_STORE);
    if (old >= 0)
        (void)p->cert_remove(p->user, a->ctx.client_sap, (size_t)old);
    return AMI_DAR_SUCCESS;
}

static int export_or_remove(ami_dlms_assoc *a, const ami_dlms_cert_provider *p, bool remove,
                            ami_view params, ami_wr *out)
{
    ami_dlms_cert_id id;
    if (ami_dlms_cert_id_decode(params.p, params.len, &id) != AMI_OK)
        return refuse(a, AMI_DLMS_CERT_BAD_PARAMETERS);
    ami_dlms_cert c;
    long i = find(a, p, &id, &c);
    if (i < 0)
        return refuse(a, AMI_DLMS_CERT_NOT_FOUND);
    if (remove) {
        if (p->cert_remove(p->user, a->ctx.client_sap, (size_t)i) != AMI_OK)
            return refuse(a, AMI_DLMS_CERT_STORE);
        return AMI_DAR_SUCCESS;
    }
    ami_wr_u8(out, AMI_AXDR_OCTET_STRING);
    ami_axdr_put_length(out, c.len);
    ami_wr_bytes(out, c.der, c.len);
    return AMI_DAR_SUCCESS;
}

int ami__cert_action(ami_dlms_assoc *a, uint8_t method, ami_view params, ami_wr *out)
{
    const ami_dlms_cert_provider *p = provider(a);
    a->sec.cert_refusal = AMI_DLMS_CERT_OK;
    if (!p || !p->key_generate || !p->key_get || !p->cert_at || !p->cert_add || !p->cert_remove)
        return refuse(a, AMI_DLMS_CERT_DENIED);
    switch (method) {
    case 3: /* key_agreement: not served yet (docs/dlms-security.md) */
        return refuse(a, AMI_DLMS_CERT_UNSUPPORTED);
    case 4:
        return generate_key_pair(a, p, params);
    case 5:
        return generate_csr(a, p, params, out);
    case 6:
        return import_certificate(a, p, params);
    case 7:
        return export_or_remove(a, p, false, params, out);
    case 8:
        return export_or_remove(a, p, true, params, out);
    default:
        return AMI_DAR_OBJECT_UNDEFINED;
    }
}
