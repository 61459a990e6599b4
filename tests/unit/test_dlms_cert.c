/*
 * Unit tests of the certificates of Security Setup version 1 (ami/dlms_cert.h) served by the
 * server engine, and of Security Setup version 0: every certificate method right and wrong
 * (certificates made with OpenSSL here: a CA, a client, the server's own from our CSR), the
 * import/export round trip byte for byte, wrong curve / oversize / garbage / no key usage
 * refused with their reason, the A-XDR codecs, and version 0's attributes and methods.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "ami/ami.h"

static const uint8_t CST[8] = {'C', 'L', 'I', 'E', 'N', 'T', '0', '1'};
static const uint8_t SST[8] = {0x4F, 0x41, 0x4D, 0x00, 0x00, 0x00, 0x00, 0x07};

#define SLOTS 4

typedef struct fx {
    uint8_t ek[32], ak[32], kek[32];
    size_t kl;
    uint32_t ic, cic;
    /* certificate provider storage */
    EVP_PKEY *keys[3];
    uint8_t der[SLOTS][AMI_DLMS_CERT_MAX];
    ami_dlms_cert certs[SLOTS];
    size_t ncerts;
    unsigned keygens;
    bool fail_add;
    /* server */
    ami_cosem_obj objs[1];
    ami_cosem_store store;
    ami_dlms_sec_policy sp;
    ami_dlms_policy pol;
    ami_replay_entry slots[4];
    ami_replay replay;
    ami_dlms_cert_provider prov;
    ami_dlms_server_sec sec;
    ami_dlms_server srv;
    ami_dlms_assoc a;
    uint8_t block[8192], scratch[1024], cipher[2 * 4096 + 64];
    uint8_t out[4096], plain[4096];
} fx;

static fx F;

static int64_t fx_now(void *u)
{
    (void)u;
    return 1795327200;
}

static int kp_get(void *u, uint16_t sap, ami_dlms_keys *k)
{
    fx *f = u;
    (void)sap;
    k->guek = f->ek;
    k->guek_len = f->kl;
    k->ak = f->ak;
    k->ak_len = f->kl;
    k->kek = f->kek;
    k->kek_len = f->kl;
    return AMI_OK;
}

static int kp_next_ic(void *u, uint16_t sap, uint32_t *ic)
{
    (void)sap;
    *ic = ((fx *)u)->ic++;
    return AMI_OK;
}

static int cp_keygen(void *u, uint16_t sap, uint8_t kp, int nid)
{
    fx *f = u;
    (void)sap;
    assert_true(kp <= 2);
    EVP_PKEY *k;
    int rc = ami_dlms_cert_keygen(nid, &k);
    if (rc != AMI_OK)
        return rc;
    EVP_PKEY_free(f->keys[kp]);
    f->keys[kp] = k;
    f->keygens++;
    return AMI_OK;
}

static int cp_key_get(void *u, uint16_t sap, uint8_t kp, EVP_PKEY **key)
{
    fx *f = u;
    (void)sap;
    *key = kp <= 2 ? f->keys[kp] : NULL;
    return *key ? AMI_OK : AMI_E_NOTFOUND;
}

static int cp_at(void *u, uint16_t sap, size_t i, ami_dlms_cert *out)
{
    fx *f = u;
    (void)sap;
    if (i >= f->ncerts)
        return AMI_E_NOTFOUND;
    *out = f->certs[i];
    return AMI_OK;
}

static int cp_add(void *u, uint16_t sap, const ami_dlms_cert *c)
{
    fx *f = u;
    (void)sap;
    if (f->fail_add || f->ncerts == SLOTS || c->len > AMI_DLMS_CERT_MAX)
        return AMI_E_NOSPACE;
    memcpy(f->der[f->ncerts], c->der, c->len);
    f->certs[f->ncerts] = (ami_dlms_cert){c->entity, c->type, f->der[f->ncerts], c->len};
    f->ncerts++;
    return AMI_OK;
}

static int cp_remove(void *u, uint16_t sap, size_t i)
{
    fx *f = u;
    (void)sap;
    if (i >= f->ncerts)
        return AMI_E_NOTFOUND;
    for (size_t j = i; j + 1 < f->ncerts; j++) {
        memcpy(f->der[j], f->der[j + 1], f->certs[j + 1].len);
        f->certs[j] = f->certs[j + 1];
        f->certs[j].der = f->der[j];
    }
    f->ncerts--;
    return AMI_OK;
}

static void teardown_fx(void)
{
    ami_dlms_assoc_reset(&F.a); /* frees the association's keyed cipher contexts */
    for (int i = 0; i < 3; i++)
        EVP_PKEY_free(F.keys[i]);
    memset(F.keys, 0, sizeof F.keys);
}

/* A pre-established SAP 1 with suite `suite`, authenticated encryption demanded, the client's
 * system title fixed, Security Setup version 0 or 1. */
static void setup(uint8_t suite, bool v0)
{
    teardown_fx();
    memset(&F, 0, sizeof F);
    F.kl = suite == 2 ? 32 : 16;
    for (size_t i = 0; i < F.kl; i++) {
        F.ek[i] = (uint8_t)i;
        F.ak[i] = (uint8_t)(0xD0 + i);
        F.kek[i] = 0x31;
    }
    F.ic = 1;
    F.cic = 1;
    F.objs[0] =
        (ami_cosem_obj){.class_id = AMI_COSEM_ASSOCIATION_LN, .ln = AMI_OBIS(0, 0, 40, 0, 0, 255)};
    ami_cosem_clock_src clk = {fx_now, NULL, NULL};
    assert_int_equal(ami_cosem_store_init(&F.store, F.objs, 1, &clk), AMI_OK);
    F.sp = (ami_dlms_sec_policy){.suite = suite,
                                 .security_policy = AMI_DLMS_SECPOL_AUTH_ENC,
                                 .client_system_title = CST,
                                 .setup_v0 = v0};
    F.pol = (ami_dlms_policy){.client_sap = 1,
                              .context = AMI_ACSE_CONTEXT_LN,
                              .conformance = 0x00FFFFFF,
                              .max_pdu = 4096,
                              .pre_established = true,
                              .sec = &F.sp};
    assert_int_equal(ami_replay_init(&F.replay, F.slots, 4, NULL), AMI_OK);
    F.prov = (ami_dlms_cert_provider){cp_keygen, cp_key_get, cp_at, cp_add, cp_remove, &F};
    F.sec = (ami_dlms_server_sec){.system_title = SST,
                                  .keys = {kp_get, NULL, kp_next_ic, &F},
                                  .replay = &F.replay,
                                  .certs = &F.prov};
    ami_dlms_server_config cfg = {.ops = &ami_cosem_store_ops,
                                  .store = &F.store,
                                  .policies = &F.pol,
                                  .policy_count = 1,
                                  .server_sap = 1,
                                  .sec = &F.sec};
    assert_int_equal(ami_dlms_server_init(&F.srv, &cfg), AMI_OK);
    ami_dlms_assoc_mem mem = {F.block,          sizeof F.block, F.scratch,
                              sizeof F.scratch, F.cipher,       sizeof F.cipher};
    assert_int_equal(ami_dlms_assoc_init(&F.a, &F.srv, 1, &mem), AMI_OK);
}

/* Sends plain[0..n) as a glo- request with authenticated encryption (or, auth false, with
 * encryption only: not authenticated); returns the deciphered response length in F.plain. */
static int request(const uint8_t *plain, size_t n, bool auth)
{
    static uint8_t c[4096 + 64];
    ami_sec_ctx ctx;
    assert_int_equal(ami_sec_ctx_init(&ctx), AMI_OK);
    assert_int_equal(ami_sec_ctx_set_ek(&ctx, F.ek, F.kl), AMI_OK);
    assert_int_equal(ami_sec_ctx_set_ak(&ctx, F.ak, F.kl), AMI_OK);
    ami_wr w;
    ami_wr_init(&w, c, sizeof c);
    uint8_t tag = (uint8_t)(plain[0] + 8);
    uint8_t sc = (uint8_t)((auth ? 0x30 : 0x20) | F.sp.suite);
    assert_int_equal(ami_sec_apdu_build(&ctx, &w, tag, CST, sc, F.cic++, plain, n), AMI_OK);
    int m = ami_dlms_assoc_handle(&F.a, c, w.len, F.out, sizeof F.out);
    assert_true(m > 0);
    if (F.out[0] == AMI_APDU_EXCEPTION_RESPONSE) {
        ami_sec_ctx_wipe(&ctx);
        memcpy(F.plain, F.out, (size_t)m);
        return m;
    }
    ami_sec_apdu p;
    size_t used;
    assert_int_equal(ami_sec_apdu_parse(F.out, (size_t)m, &p, &used), AMI_OK);
    ctx.accept |= AMI_SEC_ACCEPT_ENC;
    size_t pl = 0;
    assert_int_equal(ami_sec_apdu_decrypt(&ctx, &p, SST, F.plain, sizeof F.plain, &pl), AMI_OK);
    ami_sec_ctx_wipe(&ctx);
    return (int)pl;
}

/* ACTION on Security Setup method `m` with params (A-XDR) p[0..n) (NULL: none). Returns the
 * action-result; *ret / *rn the return data (after the Get-Data-Result choice). */
static int action(uint8_t m, const uint8_t *p, size_t n, const uint8_t **ret, size_t *rn)
{
    static uint8_t req[4096];
    static const uint8_t head[] = {0xC3, 0x01, 0xC1, 0x00, 0x40, 0, 0, 43, 0, 0, 255};
    memcpy(req, head, sizeof head);
    req[sizeof head] = m;
    req[sizeof head + 1] = p ? 1 : 0;
    if (p)
        memcpy(req + sizeof head + 2, p, n);
    int len = request(req, sizeof head + 2 + (p ? n : 0), true);
    assert_int_equal(F.plain[0], AMI_APDU_ACTION_RESPONSE);
    if (ret) {
        *ret = NULL;
        *rn = 0;
        if (len > 6 && F.plain[4] == 1) {
            assert_int_equal(F.plain[5], 0);
            *ret = F.plain + 6;
            *rn = (size_t)len - 6;
        }
    }
    return F.plain[3];
}

static int get_attr(uint8_t attr, const uint8_t **val, size_t *vn)
{
    uint8_t req[] = {0xC0, 0x01, 0xC1, 0x00, 0x40, 0, 0, 43, 0, 0, 255, attr, 0x00};
    int len = request(req, sizeof req, true);
    assert_int_equal(F.plain[0], AMI_APDU_GET_RESPONSE);
    if (F.plain[3] != 0)
        return F.plain[4];
    *val = F.plain + 4;
    *vn = (size_t)len - 4;
    return 0;
}

static int enum_action(uint8_t m, uint8_t v)
{
    uint8_t p[2] = {AMI_AXDR_ENUM, v};
    return action(m, p, 2, NULL, NULL);
}

/* Wraps DER as an A-XDR octet-string into buf. */
static size_t octets(const uint8_t *der, size_t n, uint8_t *buf, size_t cap)
{
    ami_wr w;
    ami_wr_init(&w, buf, cap);
    ami_wr_u8(&w, AMI_AXDR_OCTET_STRING);
    ami_axdr_put_length(&w, n);
    ami_wr_bytes(&w, der, n);
    assert_int_equal(ami_wr_error(&w), 0);
    return w.len;
}

/* ---------------------------------------------------------------- certificates by OpenSSL */

static EVP_PKEY *ec_key(int nid)
{
    EVP_PKEY *k = NULL;
    assert_int_equal(ami_dlms_cert_keygen(nid, &k), AMI_OK);
    return k;
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(e);
    assert_int_equal(X509_add_ext(x, e, -1), 1);
    X509_EXTENSION_free(e);
}

/* A certificate for pub with subject CN cn, serial, key usage ku (NULL: none), a CA when ca,
 * signed by ikey (issuer: NULL for self-signed). DER into der; returns its length. */
static size_t make_cert(EVP_PKEY *pub, const char *cn, long serial, const char *ku, bool ca,
                        EVP_PKEY *ikey, X509 *issuer, X509 **keep, uint8_t *der, size_t cap)
{
    X509 *x = X509_new();
    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 365);
    X509_NAME *nm = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_ASC, (const unsigned char *)"openami test", -1, -1,
                               0);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : nm);
    X509_set_pubkey(x, pub);
    if (ca)
        add_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE");
    if (ku)
        add_ext(x, issuer, NID_key_usage, ku);
    add_ext(x, issuer, NID_subject_alt_name, "DNS:meter.example");
    assert_true(X509_sign(x, ikey, EVP_sha256()) > 0);
    int n = i2d_X509(x, NULL);
    assert_true(n > 0 && (size_t)n <= cap);
    unsigned char *p = der;
    assert_int_equal(i2d_X509(x, &p), n);
    if (keep)
        *keep = x;
    else
        X509_free(x);
    return (size_t)n;
}

static const uint8_t *list_certs(size_t *count, ami_dlms_cert_info *infos, size_t cap)
{
    const uint8_t *v = F.plain;
    size_t vn = 0;
    assert_int_equal(get_attr(6, &v, &vn), 0);
    ami_dlms_cert_list it;
    assert_int_equal(ami_dlms_cert_list_begin(&it, v, vn), AMI_OK);
    size_t n = 0;
    int rc;
    while ((rc = ami_dlms_cert_list_next(&it, &infos[n < cap ? n : cap - 1])) == 1)
        n++;
    assert_int_equal(rc, 0);
    *count = n;
    return v;
}

/* ---------------------------------------------------------------- tests */

static void test_import_export_roundtrip(void **state)
{
    (void)state;
    setup(1, false);
    static uint8_t der[2048], param[2100], der2[2048];
    size_t count;
    ami_dlms_cert_info infos[4];
    list_certs(&count, infos, 4);
    assert_int_equal(count, 0);

    EVP_PKEY *cakey = ec_key(NID_X9_62_prime256v1);
    X509 *ca;
    size_t can = make_cert(cakey, "openami test CA", 1, "critical,keyCertSign,cRLSign", true, cakey,
                           NULL, &ca, der, sizeof der);
    assert_int_equal(action(6, param, octets(der, can, param, sizeof param), NULL, NULL),
                     AMI_DAR_SUCCESS);
    EVP_PKEY *ck = ec_key(NID_X9_62_prime256v1);
    size_t cn = make_cert(ck, "434C49454E543031", 0x1234567, "critical,digitalSignature", false,
                          cakey, ca, NULL, der2, sizeof der2);
    assert_int_equal(action(6, param, octets(der2, cn, param, sizeof param), NULL, NULL),
                     AMI_DAR_SUCCESS);
    assert_int_equal(ami_dlms_assoc_cert_refusal(&F.a), AMI_DLMS_CERT_OK);
    list_certs(&count, infos, 4);
    assert_int_equal(count, 2);
    assert_int_equal(infos[0].entity, AMI_DLMS_CERT_CA);
    assert_int_equal(infos[0].type, AMI_DLMS_CERT_SIGNING);
    assert_int_equal(infos[1].entity, AMI_DLMS_CERT_CLIENT);
    assert_int_equal(infos[1].type, AMI_DLMS_CERT_SIGNING);
    assert_int_equal(infos[1].serial.len, 4);
    assert_int_equal(infos[1].serial.p[0], 0x01);
    assert_true(infos[1].alt_name.len > 0);
    /* issuer of the client certificate = subject of the CA's */
    assert_int_equal(infos[1].issuer.len, infos[0].subject.len);
    assert_memory_equal(infos[1].issuer.p, infos[0].subject.p, infos[0].subject.len);

    /* Export by serial and issuer: byte for byte what was imported. */
    ami_dlms_cert_id id = {
        .kind = AMI_DLMS_CERT_BY_SERIAL, .serial = infos[1].serial, .issuer = infos[1].issuer};
    uint8_t idb[512];
    ami_wr w;
    ami_wr_init(&w, idb, sizeof idb);
    ami_dlms_cert_id_encode(&w, &id);
    const uint8_t *ret;
    size_t rn;
    assert_int_equal(action(7, idb, w.len, &ret, &rn), AMI_DAR_SUCCESS);
    ami_rd r;
    ami_rd_init(&r, ret, rn);
    uint8_t t;
    size_t len;
    assert_int_equal(ami_rd_u8(&r, &t), AMI_OK);
    assert_int_equal(t, AMI_AXDR_OCTET_STRING);
    assert_int_equal(ami_axdr_get_length(&r, &len), AMI_OK);
    assert_int_equal(len, cn);
    assert_int_equal(ami_rd_left(&r), cn);
    assert_memory_equal(ami_rd_ptr(&r), der2, cn);
    /* Export by entity with the client's system title (subject CN in hex). */
    id = (ami_dlms_cert_id){.kind = AMI_DLMS_CERT_BY_ENTITY,
                            .entity = AMI_DLMS_CERT_CLIENT,
                            .type = AMI_DLMS_CERT_SIGNING,
                            .system_title = ami_view_of(CST, 8)};
    ami_wr_init(&w, idb, sizeof idb);
    ami_dlms_cert_id_encode(&w, &id);
    assert_int_equal(action(7, idb, w.len, &ret, &rn), AMI_DAR_SUCCESS);
    assert_memory_equal(ret + rn - cn, der2, cn);
    /* ... not with another title, nor another type */
    id.system_title = ami_view_of(SST, 8);
    ami_wr_init(&w, idb, sizeof idb);
    ami_dlms_cert_id_encode(&w, &id);
    assert_int_equal(action(7, idb, w.len, &ret, &rn), AMI_DAR_OBJECT_UNAVAILABLE);
    assert_int_equal(ami_dlms_assoc_cert_refusal(&F.a), AMI_DLMS_CERT_NOT_FOUND);
    id.system_title = ami_view_of(NULL, 0);
    id.type = AMI_DLMS_CERT_KEY_AGREEMENT;
    ami_wr_init(&w, idb, sizeof idb);
    ami_dlms_cert_id_encode(&w, &id);
    assert_int_equal(action(7, idb, w.len, &ret, &rn), AMI_DAR_OBJECT_UNAVAILABLE);

    /* Importing the same subject again replaces, not duplicates. */
    assert_int_equal(action(6, param, octets(der2, cn, param, sizeof param), NULL, NULL),
                     AMI_DAR_SUCCESS);
    list_certs(&count, infos, 4);
    assert_int_equal(count, 2);

    /* remove by serial; then export finds nothing; remove again: not found */
    id = (ami_dlms_cert_id){.kind = AMI_DLMS_CERT_BY_SERIAL,
                            .serial = ami_view_of((const uint8_t *)"\x01\x23\x45\x67", 4)};
    uint8_t issuer[256];
    memcpy(issuer, infos[0].subject.p, infos[0].subject.len);
    id.issuer = ami_view_of(issuer, infos[0].subject.len);
    ami_wr_init(&w, idb, sizeof idb);
    ami_dlms_cert_id_encode(&w, &id);
    size_t idn = w.len;
    assert_int_equal(action(8, idb, idn, NULL, NULL), AMI_DAR_SUCCESS);
    list_certs(&count, infos, 4);
    assert_int_equal(count, 1);
    assert_int_equal(action(7, idb, idn, &ret, &rn), AMI_DAR_OBJECT_UNAVAILABLE);
    assert_int_equal(action(8, idb, idn, NULL, NULL), AMI_DAR_OBJECT_UNAVAILABLE);
    /* a full store refuses, and loses nothing */
    F.fail_add = true;
    assert_int_equal(action(6, param, octets(der2, cn, param, sizeof param), NULL, NULL),
                     AMI_DAR_TEMPORARY_FAILURE);
    assert_int_equal(ami_dlms_assoc_cert_refusal(&F.a), AMI_DLMS_CERT_STORE);
    assert_int_equal(F.ncerts, 1);
    X509_free(ca);
    EVP_PKEY_free(cakey);
    EVP_PKEY_free(ck);
    teardown_fx();
}

static void test_import_refused(void **state)
{
    (void)state;
    setup(1, false);
    static uint8_t der[4096], param[4200];
    EVP_PKEY *cakey = ec_key(NID_X9_62_prime256v1);
    /* wrong curve: a P-384 key under suite 1 */
    EVP_PKEY *k384 = ec_key(NID_secp384r1);
    size_t n = make_cert(k384, "x", 2, "critical,digitalSignature", false, cakey, NULL, NULL, der,
                         sizeof der);
    assert_int_equal(action(6, param, octets(der, n, param, sizeof param), NULL, NULL),
                     AMI_DAR_OTHER_REASON);
    assert_int_equal(ami_dlms_assoc_cert_refusal(&F.a), AMI_DLMS_CERT_WRONG_CURVE);
    /* not EC at all */
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    assert_non_null(ed);
    X509 *x = X509_new();
    X509_set_version(x, 2);
    X509_set_pubkey(x, ed);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 1000);
    add_ext(x, NULL, NID_key_usage, "digitalSignature");
    assert_true(X509_sign(x, cakey, EVP_sha256()) > 0);
    unsigned char *p = der;
    n = (size_t)i2d_X509(x, &p);
    X509_free(x);
    assert_int_equal(action(6, param, octets(der, n, param, sizeof param), NULL, NULL),
                     AMI_DAR_OTHER_REASON);
    assert_int_equal(ami_dlms_assoc_cert_refusal(&F.a), AMI_DLMS_CERT_WRONG_CURVE);
    /* no key usage; a key usage of neither kind; a CA without keyCertSign */
    EVP_PKEY *k = ec_key(NID_X9_62_prime256v1);
    n = make_cert(k, "x", 3, NULL, false, cakey, NULL, NULL, der, sizeof der);
    assert_int_equal(action(6, param, octets(der, n, param, sizeof param), NULL, NULL),
                     AMI_DAR_OTHER_REASON);
    assert_int_equal(ami_dlms_assoc_cert_refusal(&F.a), AMI_DLMS_CERT_KEY_USAGE);
    n = make_cert(k, "x", 4, "dataEncipherment", false, cakey, NULL, NULL, der, sizeof der);
    assert_int_equal(action(6, param, octets(der, n, param, sizeof param), NULL, NULL),
                     AMI_DAR_OTHER_REASON);
    assert_int_equal(ami_dlms_assoc_cert_refusal(&F.a), AMI_DLMS_CERT_KEY_USAGE);
    n = make_cert(k, "x", 5, "digitalSignature", true, cakey, NULL, NULL, der, sizeof der);
    assert_int_equal(action(6, param, octets(der, n, param, sizeof param), NULL, NULL),
                     AMI_DAR_OTHER_REASON);
    assert_int_equal(ami_dlms_assoc_cert_refusal(&F.a), AMI_DLMS_CERT_KEY_USAGE);
    /* a good one with a byte after it; truncated; garbage */
    n = make_cert(k, "x", 6, "keyAgreement", false, cakey, NULL, NULL, der, sizeof der);
    der[n] = 0;
    assert_int_equal(action(6, param, octets(der, n + 1, param, sizeof param), NULL, NULL),
                     AMI_DAR_OTHER_REASON);
    assert_int_equal(ami_dlms_assoc_cert_refusal(&F.a), AMI_DLMS_CERT_NOT_X509);
    assert_int_equal(action(6, param, octets(der, n - 1, param, sizeof param), NULL, NULL),
                     AMI_DAR_OTHER_REASON);
    assert_int_equal(ami_dlms_assoc_cert_refusal(&F.a), AMI_DLMS_CERT_NOT_X509);
    memset(der, 0x30, 300);
    assert_int_equal(action(6, param, octets(der, 300, param, sizeof param), NULL, NULL),
                     AMI_DAR_OTHER_REASON);
    assert_int_equal(ami_dlms_assoc_cert_refusal(&F.a), AMI_DLMS_CERT_NOT_X509);
    /* oversize */
    assert_int_equal(
        action(6, param, octets(der, AMI_DLMS_CERT_MAX + 1, param, sizeof param), NULL, NULL),
        AMI_DAR_OTHER_REASON);
    assert_int_equal(ami_dlms_assoc_cert_refusal(&F.a), AMI_DLMS_CERT_TOO_LARGE);
    /* parameters of the wrong type or with extra bytes */
    uint8_t bad[] = {AMI_AXDR_VISIBLE_STRING, 1, 'x'};
    assert_int_equal(action(6, bad, sizeof bad, NULL, NULL), AMI_DAR_TYPE_UNMATCHED);
    assert_int_equal(ami_dlms_assoc_cert_refusal(&F.a), AMI_DLMS_CERT_BAD_PARAMETERS);
    uint8_t extra[] = {AMI_AXDR_OCTET_STRING, 1, 'x'};
    assert_int_equal(action(7, extra, sizeof extra, NULL, NULL), AMI_DAR_TYPE_UNMATCHED);
    assert_int_equal(action(8, extra, sizeof extra, NULL, NULL), AMI_DAR_TYPE_UNMATCHED);
    assert_int_equal(action(6, NULL, 0, NULL, NULL), AMI_DAR_TYPE_UNMATCHED);
    assert_int_equal(F.ncerts, 0);
    /* key agreement is not served; methods beyond 8 do not exist */
    assert_int_equal(action(3, extra, 3, NULL, NULL), AMI_DAR_OTHER_REASON);
    assert_int_equal(ami_dlms_assoc_cert_refusal(&F.a), AMI_DLMS_CERT_UNSUPPORTED);
    assert_int_equal(action(9, extra, 3, NULL, NULL), AMI_DAR_OBJECT_UNDEFINED);
    EVP_PKEY_free(ed);
    EVP_PKEY_free(k);
    EVP_PKEY_free(k384);
    EVP_PKEY_free(cakey);
    teardown_fx();
}

/* generate_key_pair, our CSR signed by a CA and imported back as the server's certificate. */
static void csr_round(uint8_t suite)
{
    setup(suite, false);
    int nid = ami_dlms_cert_curve(suite);
    const uint8_t *ret;
    size_t rn;
    /* no key pair yet */
    assert_int_equal(action(5, (const uint8_t[]){AMI_AXDR_ENUM, 0}, 2, &ret, &rn),
                     AMI_DAR_OBJECT_UNAVAILABLE);
    assert_int_equal(ami_dlms_assoc_cert_refusal(&F.a), AMI_DLMS_CERT_NO_KEY_PAIR);
    assert_int_equal(enum_action(4, 3), AMI_DAR_TYPE_UNMATCHED);
    assert_int_equal(enum_action(5, 3), AMI_DAR_TYPE_UNMATCHED);
    assert_int_equal(enum_action(4, 0), AMI_DAR_SUCCESS);
    assert_int_equal(F.keygens, 1);
    assert_int_equal(action(5, (const uint8_t[]){AMI_AXDR_ENUM, 0}, 2, &ret, &rn), AMI_DAR_SUCCESS);
    assert_non_null(ret);
    if (!ret)
        return;
    assert_int_equal(ret[0], AMI_AXDR_OCTET_STRING);
    ami_rd r;
    ami_rd_init(&r, ret + 1, rn - 1);
    size_t len;
    assert_int_equal(ami_axdr_get_length(&r, &len), AMI_OK);
    assert_int_equal(len, ami_rd_left(&r));
    const unsigned char *q = ami_rd_ptr(&r);
    X509_REQ *req = d2i_X509_REQ(NULL, &q, (long)len);
    assert_non_null(req);
    EVP_PKEY *pub = X509_REQ_get0_pubkey(req);
    assert_int_equal(X509_REQ_verify(req, pub), 1);
    assert_int_equal(EVP_PKEY_eq(pub, F.keys[0]), 1);
    char cn[32];
    assert_int_equal(
        X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req), NID_commonName, cn, sizeof cn),
        16);
    assert_string_equal(cn, "4F414D0000000007");
    /* The CA signs it; the meter takes it as its own (the key is its key pair's). */
    EVP_PKEY *cakey = ec_key(nid);
    static uint8_t der[2048], param[2100];
    size_t n = make_cert(pub, cn, 77, "critical,digitalSignature", false, cakey, NULL, NULL, der,
                         sizeof der);
    X509_REQ_free(req);
    assert_int_equal(action(6, param, octets(der, n, param, sizeof param), NULL, NULL),
                     AMI_DAR_SUCCESS);
    size_t count;
    ami_dlms_cert_info infos[4];
    list_certs(&count, infos, 4);
    assert_int_equal(count, 1);
    assert_int_equal(infos[0].entity, AMI_DLMS_CERT_SERVER);
    ami_dlms_cert_id id = {.kind = AMI_DLMS_CERT_BY_ENTITY,
                           .entity = AMI_DLMS_CERT_SERVER,
                           .type = AMI_DLMS_CERT_SIGNING,
                           .system_title = ami_view_of(SST, 8)};
    uint8_t idb[64];
    ami_wr w;
    ami_wr_init(&w, idb, sizeof idb);
    ami_dlms_cert_id_encode(&w, &id);
    assert_int_equal(action(7, idb, w.len, &ret, &rn), AMI_DAR_SUCCESS);
    assert_memory_equal(ret + rn - n, der, n);
    /* A new key pair voids the server's certificate of that type. */
    assert_int_equal(enum_action(4, 0), AMI_DAR_SUCCESS);
    list_certs(&count, infos, 4);
    assert_int_equal(count, 0);
    EVP_PKEY_free(cakey);
    teardown_fx();
}

static void test_csr_suites(void **state)
{
    (void)state;
    csr_round(0);
    csr_round(1);
    csr_round(2);
}

static void test_denied(void **state)
{
    (void)state;
    setup(1, false);
    F.sp.security_policy = 0; /* encryption-only requests accepted: not authenticated */
    ami_dlms_assoc_reset(&F.a);
    ami_dlms_assoc_mem mem = {F.block,          sizeof F.block, F.scratch,
                              sizeof F.scratch, F.cipher,       sizeof F.cipher};
    assert_int_equal(ami_dlms_assoc_init(&F.a, &F.srv, 1, &mem), AMI_OK);
    static const uint8_t head[] = {0xC3, 0x01, 0xC1, 0x00, 0x40, 0,    0, 43,
                                   0,    0,    255,  4,    1,    0x16, 0};
    request(head, sizeof head, false);
    assert_int_equal(F.plain[3], AMI_DAR_READ_WRITE_DENIED);
    assert_int_equal(ami_dlms_assoc_cert_refusal(&F.a), AMI_DLMS_CERT_DENIED);
    assert_int_equal(F.keygens, 0);
    /* no provider: an empty certificates attribute, methods denied */
    F.sp.security_policy = AMI_DLMS_SECPOL_AUTH_ENC;
    F.sec.certs = NULL;
    const uint8_t *v = F.plain;
    size_t vn = 0;
    assert_int_equal(get_attr(6, &v, &vn), 0);
    assert_int_equal(vn, 2);
    assert_int_equal(v[0], AMI_AXDR_ARRAY);
    assert_int_equal(v[1], 0);
    assert_int_equal(enum_action(4, 0), AMI_DAR_READ_WRITE_DENIED);
    teardown_fx();
}

static void test_version0(void **state)
{
    (void)state;
    setup(0, true);
    const uint8_t *v = F.plain;
    size_t vn = 0;
    assert_int_equal(get_attr(2, &v, &vn), 0);
    assert_int_equal(v[0], AMI_AXDR_ENUM);
    assert_int_equal(v[1], 3); /* authenticated and encrypted */
    assert_int_equal(get_attr(3, &v, &vn), 0);
    assert_int_equal(v[1], 0);
    assert_int_equal(get_attr(5, &v, &vn), 0);
    assert_memory_equal(v + 2, SST, 8);
    assert_int_equal(get_attr(6, &v, &vn), AMI_DAR_OBJECT_UNDEFINED);
    /* security_activate with the version-0 enum: 3 keeps, 4 is no value, 1 would weaken */
    assert_int_equal(enum_action(1, 3), AMI_DAR_SUCCESS);
    assert_int_equal(enum_action(1, 4), AMI_DAR_TYPE_UNMATCHED);
    assert_int_equal(enum_action(1, 1), AMI_DAR_READ_WRITE_DENIED);
    /* certificate methods do not exist in version 0 */
    assert_int_equal(enum_action(4, 0), AMI_DAR_OBJECT_UNDEFINED);
    /* global_key_transfer: method 2 with a wrong wrap is refused like key_transfer */
    uint8_t kt[64] = {AMI_AXDR_ARRAY, 1, AMI_AXDR_STRUCTURE,    2,
                      AMI_AXDR_ENUM,  0, AMI_AXDR_OCTET_STRING, 24};
    assert_int_equal(action(2, kt, 8 + 24, NULL, NULL), AMI_DAR_READ_WRITE_DENIED); /* no update */
    teardown_fx();

    /* A version-0 policy the enum cannot say, or another suite, is a configuration error. */
    setup(0, false);
    F.sp.setup_v0 = true;
    F.sp.security_policy = AMI_DLMS_SECPOL_AUTH_REQUEST;
    ami_dlms_server s;
    ami_dlms_server_config cfg = F.srv.cfg;
    assert_int_equal(ami_dlms_server_init(&s, &cfg), AMI_E_CONFIG);
    F.sp.security_policy = AMI_DLMS_SECPOL_AUTH_REQUEST | AMI_DLMS_SECPOL_AUTH_RESPONSE;
    assert_int_equal(ami_dlms_server_init(&s, &cfg), AMI_OK);
    F.sp.suite = 1;
    assert_int_equal(ami_dlms_server_init(&s, &cfg), AMI_E_CONFIG);
    teardown_fx();
}

static void test_codecs(void **state)
{
    (void)state;
    uint8_t b[64];
    ami_wr w;
    ami_dlms_cert_id id = {.kind = AMI_DLMS_CERT_BY_ENTITY,
                           .entity = 2,
                           .type = 1,
                           .system_title = ami_view_of(SST, 8)};
    ami_wr_init(&w, b, sizeof b);
    ami_dlms_cert_id_encode(&w, &id);
    ami_dlms_cert_id back;
    assert_int_equal(ami_dlms_cert_id_decode(b, w.len, &back), AMI_OK);
    assert_int_equal(back.entity, 2);
    assert_int_equal(back.type, 1);
    assert_int_equal(back.system_title.len, 8);
    assert_int_equal(ami_dlms_cert_id_decode(b, w.len - 1, &back), AMI_E_TRUNCATED);
    b[w.len] = 0;
    assert_int_equal(ami_dlms_cert_id_decode(b, w.len + 1, &back), AMI_E_MALFORMED);
    b[3] = 2; /* identification type 2 */
    assert_int_equal(ami_dlms_cert_id_decode(b, w.len, &back), AMI_E_MALFORMED);
    /* a system title of 7 bytes */
    static const uint8_t st7[] = {2, 2, 0x16, 0, 2, 3, 0x16, 0, 0x16, 0, 9, 7, 1, 2, 3, 4, 5, 6, 7};
    assert_int_equal(ami_dlms_cert_id_decode(st7, sizeof st7, &back), AMI_E_MALFORMED);
    /* a list claiming more elements than its bytes can hold */
    static const uint8_t lie[] = {1, 0x82, 0xFF, 0xFF, 2, 6};
    ami_dlms_cert_list it;
    assert_int_equal(ami_dlms_cert_list_begin(&it, lie, sizeof lie), AMI_E_MALFORMED);
    static const uint8_t one[] = {1, 1, 2, 6, 0x16, 0, 0x16, 4, 9, 0, 9, 0, 9, 0, 9, 0};
    ami_dlms_cert_info info;
    assert_int_equal(ami_dlms_cert_list_begin(&it, one, sizeof one), AMI_OK);
    assert_int_equal(ami_dlms_cert_list_next(&it, &info), AMI_E_MALFORMED); /* type 4 */
    assert_string_equal(ami_dlms_cert_refusal_name(AMI_DLMS_CERT_WRONG_CURVE), "wrong-curve");
    assert_string_equal(ami_dlms_cert_refusal_name(99), "unknown");
    /* ami_dlms_cert_info_of refuses what is not a certificate */
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_cert_info_of(&w, b, 10, 0, 0), AMI_E_MALFORMED);
    assert_int_equal(ami_dlms_cert_info_of(&w, b, AMI_DLMS_CERT_MAX + 1, 0, 0), AMI_E_TOO_LARGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_import_export_roundtrip),
        cmocka_unit_test(test_import_refused),
        cmocka_unit_test(test_csr_suites),
        cmocka_unit_test(test_denied),
        cmocka_unit_test(test_version0),
        cmocka_unit_test(test_codecs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
