/*
 * general-ciphering / general-signing (ami/security_general.h): round trips over every
 * key-info choice, security level and suite; ECDH key agreement checked against an independent
 * computation (OpenSSL's SSKDF); tampered tags, wrapped keys and signatures refused; hostile
 * lengths and every truncation refused.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "testutil.h"
#include "ami/ami.h"

static const uint8_t st_a[8] = {0x4D, 0x4D, 0x4D, 0x00, 0x00, 0xBC, 0x61, 0x4E};
static const uint8_t st_b[8] = {0x4D, 0x4D, 0x4D, 0x00, 0x00, 0x00, 0x00, 0x01};
static const uint8_t txid[8] = {1, 2, 3, 4, 5, 6, 7, 8};
static const uint8_t dt[12] = {0x07, 0xEA, 0x0C, 0x03, 0x04, 0x11,
                               0x00, 0x00, 0xFF, 0x80, 0x00, 0x00};
static const uint8_t other[3] = {0xAA, 0xBB, 0xCC};
static const uint8_t plain[13] = {0xC0, 0x01, 0x00, 0x00, 0x08, 0x00, 0x00,
                                  0x01, 0x00, 0x00, 0xFF, 0x02, 0x00};
static const uint8_t key32[32] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A,
                                  0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
                                  0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F};
static const uint8_t ak[16] = {0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7,
                               0xD8, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF};
static const uint8_t kek[16] = {0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80,
                                0x90, 0xA0, 0xB0, 0xC0, 0xD0, 0xE0, 0xF0, 0x01};

static ami_gc_header hdr(void)
{
    ami_gc_header h = {txid, sizeof txid, st_a, 8, st_b, 8, dt, 12, other, sizeof other};
    return h;
}

static EVP_PKEY *gen(int suite)
{
    EVP_PKEY *k = EVP_EC_gen(suite == 1 ? "P-256" : "P-384");
    assert_non_null(k);
    return k;
}

/* One protect / parse / re-encode / unprotect round trip; returns the APDU length. */
static size_t round_trip(const ami_gc_key_info *ki, const uint8_t *ek, size_t ek_len, uint8_t sc,
                         uint8_t *buf, size_t cap)
{
    ami_gc_header h = hdr();
    ami_wr w;
    ami_wr_init(&w, buf, cap);
    assert_int_equal(
        ami_gc_protect(&w, &h, ki, ek, ek_len, ak, sizeof ak, sc, 0x01234567, plain, sizeof plain),
        AMI_OK);
    ami_wr m; /* measuring gives the same length */
    ami_wr_init(&m, NULL, 0);
    assert_int_equal(
        ami_gc_protect(&m, &h, ki, ek, ek_len, ak, sizeof ak, sc, 0x01234567, plain, sizeof plain),
        AMI_OK);
    assert_int_equal(m.len, w.len);
    ami_gc_apdu a;
    size_t used = 0;
    assert_int_equal(ami_gc_parse(buf, w.len, &a, &used), AMI_OK);
    assert_int_equal(used, w.len);
    assert_memory_equal(a.h.transaction_id, txid, 8);
    assert_memory_equal(a.h.originator, st_a, 8);
    assert_memory_equal(a.h.recipient, st_b, 8);
    assert_int_equal(a.h.date_time_len, 12);
    assert_int_equal(a.h.other_len, 3);
    assert_int_equal(a.key_info.kind, ki ? ki->kind : AMI_GC_KI_NONE);
    uint8_t again[512];
    ami_wr w2;
    ami_wr_init(&w2, again, sizeof again);
    assert_int_equal(ami_gc_write(&w2, &a), AMI_OK);
    assert_int_equal(w2.len, w.len);
    assert_memory_equal(again, buf, w.len);
    uint8_t out[64];
    size_t n = 0;
    uint32_t ic = 0;
    assert_int_equal(ami_gc_unprotect(&a, ek, ek_len, ak, sizeof ak, out, sizeof out, &n, &ic),
                     AMI_OK);
    assert_int_equal(n, sizeof plain);
    assert_memory_equal(out, plain, n);
    assert_int_equal(ic, 0x01234567);
    if (sc & AMI_SEC_SC_ENC)
        assert_memory_not_equal(a.content + 5, plain, sizeof plain);
    return w.len;
}

static void test_round_trips(void **state)
{
    (void)state;
    static const uint8_t wrapped_dummy[24] = {0};
    static const uint8_t params[1] = {AMI_GC_AGREED_EPHEMERAL};
    static const uint8_t eph[64] = {0x11};
    ami_gc_key_info kis[] = {
        {.kind = AMI_GC_KI_IDENTIFIED, .key_id = AMI_GC_KEY_ID_UNICAST},
        {.kind = AMI_GC_KI_IDENTIFIED, .key_id = AMI_GC_KEY_ID_BROADCAST},
        {.kind = AMI_GC_KI_WRAPPED, .data = wrapped_dummy, .data_len = 24},
        {.kind = AMI_GC_KI_AGREED, .params = params, .params_len = 1, .data = eph, .data_len = 64},
    };
    static const uint8_t levels[] = {0x30, 0x10, 0x20};
    uint8_t buf[512];
    for (int suite = 0; suite <= 2; suite++)
        for (size_t l = 0; l < sizeof levels; l++) {
            uint8_t sc = (uint8_t)(levels[l] | suite);
            size_t klen = suite == 2 ? 32 : 16;
            round_trip(NULL, key32, klen, sc, buf, sizeof buf);
            for (size_t k = 0; k < sizeof kis / sizeof kis[0]; k++)
                round_trip(&kis[k], key32, klen, sc, buf, sizeof buf);
        }
    /* key length must match the suite */
    ami_gc_header h = hdr();
    ami_wr w;
    ami_wr_init(&w, buf, sizeof buf);
    assert_int_equal(ami_gc_protect(&w, &h, NULL, key32, 32, ak, 16, 0x31, 1, plain, 13),
                     AMI_E_KEY);
    assert_int_equal(ami_gc_protect(&w, &h, NULL, key32, 16, ak, 16, 0x33, 1, plain, 13),
                     AMI_E_UNSUPPORTED);
    assert_int_equal(ami_gc_protect(&w, &h, NULL, key32, 16, ak, 16, 0x00, 1, plain, 13),
                     AMI_E_MALFORMED);
    uint8_t small[20];
    ami_wr_init(&w, small, sizeof small);
    assert_int_equal(ami_gc_protect(&w, &h, NULL, key32, 16, ak, 16, 0x30, 1, plain, 13),
                     AMI_E_NOSPACE);
}

/* wrapped-key: the content key travels wrapped under the KEK. */
static void test_wrapped_key_flow(void **state)
{
    (void)state;
    uint8_t wrapped[40];
    int wl = ami_keywrap_wrap(kek, sizeof kek, key32, 16, wrapped, sizeof wrapped);
    assert_int_equal(wl, 24);
    ami_gc_key_info ki = {.kind = AMI_GC_KI_WRAPPED, .data = wrapped, .data_len = 24};
    uint8_t buf[512];
    size_t len = round_trip(&ki, key32, 16, 0x31, buf, sizeof buf);
    ami_gc_apdu a;
    assert_int_equal(ami_gc_parse(buf, len, &a, NULL), AMI_OK);
    uint8_t key[32];
    assert_int_equal(ami_gc_unwrap_key(&a.key_info, kek, sizeof kek, key, sizeof key), 16);
    assert_memory_equal(key, key32, 16);
    uint8_t out[64];
    size_t n;
    assert_int_equal(ami_gc_unprotect(&a, key, 16, ak, 16, out, sizeof out, &n, NULL), AMI_OK);
    /* a tampered wrapped key, or the wrong KEK: AMI_E_KEY (distinct from a bad tag) */
    size_t off = (size_t)(a.key_info.data - buf);
    buf[off + 5] ^= 0x01;
    assert_int_equal(ami_gc_parse(buf, len, &a, NULL), AMI_OK);
    assert_int_equal(ami_gc_unwrap_key(&a.key_info, kek, sizeof kek, key, sizeof key), AMI_E_KEY);
    buf[off + 5] ^= 0x01;
    assert_int_equal(ami_gc_parse(buf, len, &a, NULL), AMI_OK);
    assert_int_equal(ami_gc_unwrap_key(&a.key_info, key32, 16, key, sizeof key), AMI_E_KEY);
    ami_gc_key_info id = {.kind = AMI_GC_KI_IDENTIFIED};
    assert_int_equal(ami_gc_unwrap_key(&id, kek, 16, key, sizeof key), AMI_E_INVAL);
}

static void test_tampering(void **state)
{
    (void)state;
    uint8_t buf[512], out[64];
    size_t n;
    size_t len = round_trip(NULL, key32, 16, 0x30, buf, sizeof buf);
    ami_gc_apdu a;
    /* every byte of the APDU is protected: header fields through the AAD, content by GCM */
    for (size_t i = 1; i < len; i++) {
        uint8_t save = buf[i];
        buf[i] ^= 0x04;
        int rc = ami_gc_parse(buf, len, &a, NULL);
        if (rc == AMI_OK) {
            rc = ami_gc_unprotect(&a, key32, 16, ak, 16, out, sizeof out, &n, NULL);
            assert_int_not_equal(rc, AMI_OK);
            assert_int_equal(n, 0);
        }
        buf[i] = save;
    }
    assert_int_equal(ami_gc_parse(buf, len, &a, NULL), AMI_OK);
    /* tampered tag: AMI_E_AUTH and out zeroed */
    ((uint8_t *)a.content)[a.content_len - 1] ^= 0x80;
    memset(out, 0x55, sizeof out);
    assert_int_equal(ami_gc_unprotect(&a, key32, 16, ak, 16, out, sizeof out, &n, NULL),
                     AMI_E_AUTH);
    for (size_t i = 0; i < sizeof plain; i++)
        assert_int_equal(out[i], 0);
    ((uint8_t *)a.content)[a.content_len - 1] ^= 0x80;
    /* wrong key / wrong AK: AMI_E_AUTH */
    uint8_t wrong[16] = {0};
    assert_int_equal(ami_gc_unprotect(&a, wrong, 16, ak, 16, out, sizeof out, &n, NULL),
                     AMI_E_AUTH);
    assert_int_equal(ami_gc_unprotect(&a, key32, 16, wrong, 16, out, sizeof out, &n, NULL),
                     AMI_E_AUTH);
    assert_int_equal(ami_gc_unprotect(&a, key32, 32, ak, 16, out, sizeof out, &n, NULL), AMI_E_KEY);
    assert_int_equal(ami_gc_unprotect(&a, key32, 16, ak, 16, out, 4, &n, NULL), AMI_E_NOSPACE);
}

static void test_hostile(void **state)
{
    (void)state;
    uint8_t buf[512];
    ami_gc_key_info ki = {.kind = AMI_GC_KI_IDENTIFIED, .key_id = 1};
    size_t len = round_trip(&ki, key32, 16, 0x30, buf, sizeof buf);
    ami_gc_apdu a;
    for (size_t i = 0; i < len; i++)
        assert_int_equal(ami_gc_parse(buf, i, &a, NULL), AMI_E_TRUNCATED);
    assert_int_equal(ami_gc_parse(buf, 0, &a, NULL), AMI_E_TRUNCATED);
    buf[0] = 0xDB;
    assert_int_equal(ami_gc_parse(buf, len, &a, NULL), AMI_E_PROTOCOL);
    size_t bad;
    struct {
        const char *hex;
        int rc;
    } cases[] = {
        /* transaction-id of 65 bytes (declared) */
        {"DD41", AMI_E_TOO_LARGE},
        /* huge declared lengths */
        {"DD84FFFFFFFF", AMI_E_TOO_LARGE},
        {"DD8000", AMI_E_MALFORMED},
        {"DD850000000001", AMI_E_MALFORMED},
        /* system title of 9 bytes, of 7 bytes */
        {"DD0009", AMI_E_MALFORMED},
        {"DD0007000000000000000000", AMI_E_MALFORMED},
        /* date-time of 5 bytes */
        {"DD000000050102030405", AMI_E_MALFORMED},
        /* other-information over its bound */
        {"DD000000008210000000", AMI_E_TOO_LARGE},
        /* key-info presence byte 2; unknown choice 3; key-id 2; kek-id 1 */
        {"DD000000000002", AMI_E_MALFORMED},
        {"DD00000000000103", AMI_E_MALFORMED},
        {"DD0000000000010002", AMI_E_MALFORMED},
        {"DD0000000000010101", AMI_E_MALFORMED},
        /* key-ciphered-data over its bound */
        {"DD000000000001010082FFFF", AMI_E_TOO_LARGE},
        /* ciphered-content shorter than SC+IC; A set but no room for a tag; compression */
        {"DD0000000000000400000000", AMI_E_MALFORMED},
        {"DD000000000000063000000001AA", AMI_E_MALFORMED},
        {"DD000000000000058000000001", AMI_E_UNSUPPORTED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *b = tu_hex(cases[i].hex, &bad);
        int rc = ami_gc_parse(b, bad, &a, NULL);
        if (rc != cases[i].rc)
            fail_msg("case %zu (%s): %d, want %d", i, cases[i].hex, rc, cases[i].rc);
        free(b);
    }
    /* a minimal valid one: all fields empty, E only, no originator: parse OK, unprotect
     * refuses (no system title for the IV) */
    uint8_t *b = tu_hex("DD0000000000000621000000017A", &bad);
    assert_int_equal(ami_gc_parse(b, bad, &a, NULL), AMI_OK);
    uint8_t out[8];
    size_t n;
    assert_int_equal(ami_gc_unprotect(&a, key32, 16, NULL, 0, out, sizeof out, &n, NULL),
                     AMI_E_MALFORMED);
    free(b);
}

/* Independent one-step KDF: OpenSSL's SSKDF over Z from a plain EVP_PKEY_derive. */
static void reference_key(int suite, EVP_PKEY *own, EVP_PKEY *peer, uint8_t *key, size_t klen)
{
    uint8_t z[48];
    size_t zl = sizeof z;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(own, NULL);
    assert_non_null(c);
    assert_int_equal(EVP_PKEY_derive_init(c), 1);
    assert_int_equal(EVP_PKEY_derive_set_peer(c, peer), 1);
    assert_int_equal(EVP_PKEY_derive(c, z, &zl), 1);
    EVP_PKEY_CTX_free(c);
    uint8_t info[7 + 16] = {0x60, 0x85, 0x74, 0x05, 0x08, 0x03, (uint8_t)(suite == 1 ? 0 : 1)};
    memcpy(info + 7, st_a, 8);
    memcpy(info + 15, st_b, 8);
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SSKDF", NULL);
    assert_non_null(kdf);
    EVP_KDF_CTX *kc = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string(
                          OSSL_KDF_PARAM_DIGEST, (char *)(suite == 1 ? "SHA256" : "SHA384"), 0),
                      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, z, zl),
                      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, sizeof info),
                      OSSL_PARAM_construct_end()};
    assert_int_equal(EVP_KDF_derive(kc, key, klen, p), 1);
    EVP_KDF_CTX_free(kc);
}

/* Rebuilds a public key from its uncompressed point, as a recipient of agreed-key does. */
static EVP_PKEY *pub_from_point(int suite, const uint8_t *pt, size_t len)
{
    EVP_PKEY *k = NULL;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                                       (char *)(suite == 1 ? "P-256" : "P-384"), 0),
                      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pt, len),
                      OSSL_PARAM_construct_end()};
    assert_int_equal(EVP_PKEY_fromdata_init(c), 1);
    assert_int_equal(EVP_PKEY_fromdata(c, &k, EVP_PKEY_PUBLIC_KEY, p), 1);
    EVP_PKEY_CTX_free(c);
    return k;
}

static void test_agreement(void **state)
{
    (void)state;
    for (int suite = 1; suite <= 2; suite++) {
        size_t klen = suite == 1 ? 16 : 32;
        EVP_PKEY *eph = gen(suite), *stat = gen(suite);
        /* originator: ephemeral private key + recipient's static public key */
        uint8_t k1[32], k2[32], ref[32];
        assert_int_equal(ami_gc_agree_key(suite, eph, stat, st_a, st_b, k1, sizeof k1), (int)klen);
        reference_key(suite, eph, stat, ref, klen);
        assert_memory_equal(k1, ref, klen);
        /* originator sends its ephemeral point in agreed-key; the recipient rebuilds it */
        uint8_t pt[1 + 96];
        size_t ptl = 0;
        assert_int_equal(
            EVP_PKEY_get_octet_string_param(eph, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt, &ptl), 1);
        static const uint8_t params[1] = {AMI_GC_AGREED_EPHEMERAL};
        ami_gc_key_info ki = {.kind = AMI_GC_KI_AGREED,
                              .params = params,
                              .params_len = 1,
                              .data = pt + 1,
                              .data_len = ptl - 1};
        uint8_t buf[512];
        ami_gc_header h = hdr();
        ami_wr w;
        ami_wr_init(&w, buf, sizeof buf);
        uint8_t sc = (uint8_t)(0x30 | suite);
        assert_int_equal(ami_gc_protect(&w, &h, &ki, k1, klen, NULL, 0, sc, 7, plain, sizeof plain),
                         AMI_OK);
        ami_gc_apdu a;
        assert_int_equal(ami_gc_parse(buf, w.len, &a, NULL), AMI_OK);
        assert_int_equal(a.key_info.kind, AMI_GC_KI_AGREED);
        uint8_t point[1 + 96] = {0x04};
        memcpy(point + 1, a.key_info.data, a.key_info.data_len);
        EVP_PKEY *rx = pub_from_point(suite, point, a.key_info.data_len + 1);
        assert_int_equal(
            ami_gc_agree_key(suite, stat, rx, a.h.originator, a.h.recipient, k2, sizeof k2),
            (int)klen);
        assert_memory_equal(k1, k2, klen);
        uint8_t out[64];
        size_t n;
        assert_int_equal(ami_gc_unprotect(&a, k2, klen, NULL, 0, out, sizeof out, &n, NULL),
                         AMI_OK);
        assert_memory_equal(out, plain, sizeof plain);
        /* another static key: another content key, and the tag refuses it */
        EVP_PKEY *other_key = gen(suite);
        assert_int_equal(ami_gc_agree_key(suite, other_key, rx, st_a, st_b, k2, sizeof k2),
                         (int)klen);
        assert_memory_not_equal(k1, k2, klen);
        assert_int_equal(ami_gc_unprotect(&a, k2, klen, NULL, 0, out, sizeof out, &n, NULL),
                         AMI_E_AUTH);
        /* swapped parties: another key */
        assert_int_equal(ami_gc_agree_key(suite, eph, stat, st_b, st_a, k2, sizeof k2), (int)klen);
        assert_memory_not_equal(k1, k2, klen);
        /* wrong curve for the suite, unsupported suite, small buffer */
        assert_int_equal(ami_gc_agree_key(3 - suite, eph, stat, st_a, st_b, k2, sizeof k2),
                         AMI_E_KEY);
        assert_int_equal(ami_gc_agree_key(0, eph, stat, st_a, st_b, k2, sizeof k2),
                         AMI_E_UNSUPPORTED);
        assert_int_equal(ami_gc_agree_key(suite, eph, stat, st_a, st_b, k2, klen - 1),
                         AMI_E_NOSPACE);
        EVP_PKEY_free(other_key);
        EVP_PKEY_free(rx);
        EVP_PKEY_free(eph);
        EVP_PKEY_free(stat);
    }
}

static void test_signing(void **state)
{
    (void)state;
    for (int suite = 1; suite <= 2; suite++) {
        EVP_PKEY *k = gen(suite), *k2 = gen(suite);
        ami_gc_header h = hdr();
        uint8_t buf[512];
        ami_wr w;
        ami_wr_init(&w, buf, sizeof buf);
        assert_int_equal(ami_gs_sign(&w, &h, plain, sizeof plain, suite, k), AMI_OK);
        ami_gs_apdu a;
        size_t used;
        assert_int_equal(ami_gs_parse(buf, w.len, &a, &used), AMI_OK);
        assert_int_equal(used, w.len);
        assert_int_equal(a.signature_len, suite == 1 ? 64 : 96);
        assert_int_equal(a.content_len, sizeof plain);
        assert_memory_equal(a.content, plain, sizeof plain);
        assert_int_equal(ami_gs_verify(buf, &a, suite, k), AMI_OK);
        /* another signer, the other suite */
        assert_int_equal(ami_gs_verify(buf, &a, suite, k2), AMI_E_AUTH);
        assert_int_equal(ami_gs_verify(buf, &a, 3 - suite, k), AMI_E_KEY);
        /* every signed byte and every signature byte is covered */
        for (size_t i = 1; i < w.len; i++) {
            buf[i] ^= 0x01;
            int rc = ami_gs_parse(buf, w.len, &a, NULL);
            if (rc == AMI_OK)
                assert_int_not_equal(ami_gs_verify(buf, &a, suite, k), AMI_OK);
            buf[i] ^= 0x01;
        }
        /* tampered signature: AMI_E_AUTH */
        assert_int_equal(ami_gs_parse(buf, w.len, &a, NULL), AMI_OK);
        buf[w.len - 1] ^= 0x01;
        assert_int_equal(ami_gs_verify(buf, &a, suite, k), AMI_E_AUTH);
        buf[w.len - 1] ^= 0x01;
        /* truncations */
        for (size_t i = 0; i < w.len; i++)
            assert_int_equal(ami_gs_parse(buf, i, &a, NULL), AMI_E_TRUNCATED);
        /* wrong key type for the suite on signing */
        ami_wr_init(&w, buf, sizeof buf);
        assert_int_equal(ami_gs_sign(&w, &h, plain, sizeof plain, 3 - suite, k), AMI_E_KEY);
        assert_int_equal(ami_gs_sign(&w, &h, plain, sizeof plain, 0, k), AMI_E_UNSUPPORTED);
        EVP_PKEY_free(k);
        EVP_PKEY_free(k2);
    }
    /* hostile signature lengths */
    size_t n;
    ami_gs_apdu a;
    uint8_t *b = tu_hex("DF000000000000020102", &n);
    assert_int_equal(ami_gs_parse(b, n, &a, NULL), AMI_E_MALFORMED);
    free(b);
    b = tu_hex("DF00000000000061", &n);
    assert_int_equal(ami_gs_parse(b, n, &a, NULL), AMI_E_MALFORMED);
    free(b);
    b = tu_hex("DF00000000000000", &n);
    assert_int_equal(ami_gs_parse(b, n, &a, NULL), AMI_OK);
    EVP_PKEY *k = gen(1);
    assert_int_equal(ami_gs_verify(b, &a, 1, k), AMI_E_MALFORMED);
    EVP_PKEY_free(k);
    free(b);
    b = tu_hex("DD00000000000000", &n);
    assert_int_equal(ami_gs_parse(b, n, &a, NULL), AMI_E_PROTOCOL);
    free(b);
}

/* Vectors computed independently (Python "cryptography" AESGCM) from the AAD rule of
 * ami/security_general.h (header fields with their A-XDR length bytes), with the header of hdr(),
 * identified-key unicast, EK 00..0F, AK D0..DF, IC 01234567 and the Green Book example plaintext
 * (whose ciphertext 411312FF... is the Green Book's: the keystream does not depend on the AAD). */
static void test_independent_vectors(void **state)
{
    (void)state;
    static const char *const want[] = {
        "DD080102030405060708084D4D4D0000BC614E084D4D4D00000000010C07EA0C0304110000FF80000003AABBCC"
        "0100001E3001234567411312FF935A47566827C467BC85F24493657D1E16BC3E1489",
        "DD080102030405060708084D4D4D0000BC614E084D4D4D00000000010C07EA0C0304110000FF80000003AABBCC"
        "0100001E1001234567C0010000080000010000FF020029D71E50967E5A68DC381D31",
    };
    static const uint8_t scs[] = {0x30, 0x10};
    ami_gc_key_info ki = {.kind = AMI_GC_KI_IDENTIFIED, .key_id = AMI_GC_KEY_ID_UNICAST};
    for (size_t i = 0; i < 2; i++) {
        size_t n;
        uint8_t *v = tu_hex(want[i], &n);
        uint8_t buf[256];
        ami_gc_header h = hdr();
        ami_wr w;
        ami_wr_init(&w, buf, sizeof buf);
        assert_int_equal(ami_gc_protect(&w, &h, &ki, key32, 16, ak, sizeof ak, scs[i], 0x01234567,
                                        plain, sizeof plain),
                         AMI_OK);
        assert_int_equal(w.len, n);
        assert_memory_equal(buf, v, n);
        free(v);
    }
}

/* agreed-key one-pass: originator and recipient derive the same key; the signature over the
 * ephemeral key is checked; malformed key-info refused. */
static void test_agreed_one_pass(void **state)
{
    (void)state;
    for (int suite = 1; suite <= 2; suite++) {
        EVP_PKEY *orig = gen(suite), *recip = gen(suite), *stranger = gen(suite);
        size_t half = suite == 1 ? 32 : 48, kl = suite == 1 ? 16 : 32;
        uint8_t kcd[4 * 48], k1[32], k2[32];
        ami_gc_key_info ki;
        assert_int_equal(ami_gc_agree_originator(suite, orig, recip, st_a, st_b, &ki, kcd,
                                                 sizeof kcd, k1, sizeof k1),
                         (int)kl);
        assert_int_equal(ki.kind, AMI_GC_KI_AGREED);
        assert_int_equal(ki.params_len, 1);
        assert_int_equal(ki.params[0], AMI_GC_AGREED_EPHEMERAL);
        assert_int_equal(ki.data_len, 4 * half);
        assert_int_equal(ami_gc_agree_recipient(suite, &ki, orig, recip, st_a, st_b, k2, sizeof k2),
                         (int)kl);
        assert_memory_equal(k1, k2, kl);
        /* another signer, a flipped bit in the point or the signature */
        assert_int_equal(
            ami_gc_agree_recipient(suite, &ki, stranger, recip, st_a, st_b, k2, sizeof k2),
            AMI_E_AUTH);
        for (size_t i = 0; i < ki.data_len; i += half / 2) {
            kcd[i] ^= 0x01;
            assert_int_equal(
                ami_gc_agree_recipient(suite, &ki, orig, recip, st_a, st_b, k2, sizeof k2),
                AMI_E_AUTH);
            kcd[i] ^= 0x01;
        }
        /* another party info gives another key */
        assert_int_equal(ami_gc_agree_recipient(suite, &ki, orig, recip, st_b, st_a, k2, sizeof k2),
                         (int)kl);
        assert_memory_not_equal(k1, k2, kl);
        /* malformed key-info */
        ami_gc_key_info bad = ki;
        bad.data_len--;
        assert_int_equal(
            ami_gc_agree_recipient(suite, &bad, orig, recip, st_a, st_b, k2, sizeof k2),
            AMI_E_MALFORMED);
        static const uint8_t two = AMI_GC_AGREED_STATIC;
        bad = ki;
        bad.params = &two;
        assert_int_equal(
            ami_gc_agree_recipient(suite, &bad, orig, recip, st_a, st_b, k2, sizeof k2),
            AMI_E_UNSUPPORTED);
        assert_int_equal(ami_gc_agree_recipient(0, &ki, orig, recip, st_a, st_b, k2, sizeof k2),
                         AMI_E_UNSUPPORTED);
        /* a key of the stranger suite's curve */
        EVP_PKEY *wrong = gen(suite == 1 ? 2 : 1);
        assert_int_equal(ami_gc_agree_recipient(suite, &ki, orig, wrong, st_a, st_b, k2, sizeof k2),
                         AMI_E_KEY);
        assert_int_equal(ami_gc_agree_originator(suite, wrong, recip, st_a, st_b, &ki, kcd,
                                                 sizeof kcd, k1, sizeof k1),
                         AMI_E_KEY);
        assert_int_equal(ami_gc_agree_originator(suite, orig, recip, st_a, st_b, &ki, kcd,
                                                 4 * half - 1, k1, sizeof k1),
                         AMI_E_NOSPACE);
        EVP_PKEY_free(wrong);
        EVP_PKEY_free(orig);
        EVP_PKEY_free(recip);
        EVP_PKEY_free(stranger);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_independent_vectors),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_wrapped_key_flow),
        cmocka_unit_test(test_tampering),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_agreement),
        cmocka_unit_test(test_agreed_one_pass),
        cmocka_unit_test(test_signing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
