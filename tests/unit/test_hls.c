/*
 * HLS mechanisms 2-7, challenges and RFC 3394 key wrap.
 * GMAC: Green Book Table 43 (../shared/testdata/dlms/gb_hls5_gmac_table43.txt); key wrap: RFC 3394
 * 4.1 (rfc3394_keywrap.txt); MD5 / SHA-1 / SHA-256 / AES-ECB: known answers computed independently
 * (Python hashlib, the openssl command) for the Table 43 challenges and the secret "Gurux".
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/evp.h>

#include "testutil.h"
#include "ami/ami.h"
#include "ami/hls.h"

static const uint8_t EK[16] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                               0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F};
static const uint8_t AK[16] = {0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7,
                               0xD8, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF};
static const uint8_t ST_C[8] = {0x4D, 0x4D, 0x4D, 0x00, 0x00, 0x00, 0x00, 0x01};
static const uint8_t ST_S[8] = {0x4D, 0x4D, 0x4D, 0x00, 0x00, 0xBC, 0x61, 0x4E};
static const uint8_t CTOS[8] = {0x4B, 0x35, 0x36, 0x69, 0x56, 0x61, 0x67, 0x59};
static const uint8_t STOC[8] = {0x50, 0x36, 0x77, 0x52, 0x4A, 0x32, 0x31, 0x46};

static void expect_hex(const uint8_t *got, int len, const char *hex)
{
    size_t n;
    uint8_t *want = tu_hex(hex, &n);
    assert_int_equal(len, (int)n);
    assert_memory_equal(got, want, n);
    free(want);
}

static void test_gmac_table43(void **state)
{
    (void)state;
    uint8_t out[AMI_HLS_RESPONSE_MAX];
    /* Pass 3: the client answers StoC with its own system title and IC 1. */
    ami_hls_params client = {.mech = AMI_ACSE_MECH_GMAC,
                             .ek = EK,
                             .ek_len = 16,
                             .ak = AK,
                             .ak_len = 16,
                             .sc = 0x10,
                             .ic = 1,
                             .st_responder = ST_C};
    int n = ami_hls_compute(&client, STOC, 8, NULL, 0, out, sizeof out);
    expect_hex(out, n, "10000000011A52FE7DD3E72748973C1E28");
    /* The server checks it, reading the IC from the response. */
    uint32_t ic = 0;
    assert_int_equal(ami_hls_check(&client, STOC, 8, NULL, 0, out, (size_t)n, &ic), AMI_OK);
    assert_int_equal(ic, 1);
    /* Pass 4: the server answers CtoS with its system title and IC 01234567. */
    ami_hls_params server = client;
    server.st_responder = ST_S;
    server.ic = 0x01234567;
    n = ami_hls_compute(&server, CTOS, 8, NULL, 0, out, sizeof out);
    expect_hex(out, n, "1001234567FE1466AFB3DBCD4F9389E2B7");
    assert_int_equal(ami_hls_check(&server, CTOS, 8, NULL, 0, out, (size_t)n, NULL), AMI_OK);
    /* Every flipped bit is refused; so are a wrong SC, a wrong length, a wrong key. */
    for (int i = 0; i < n * 8; i++) {
        out[i / 8] ^= (uint8_t)(1u << (i % 8));
        assert_int_equal(ami_hls_check(&server, CTOS, 8, NULL, 0, out, (size_t)n, NULL),
                         AMI_E_AUTH);
        out[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    assert_int_equal(ami_hls_check(&server, CTOS, 8, NULL, 0, out, 16, NULL), AMI_E_MALFORMED);
    ami_hls_params wrong = server;
    wrong.ak = EK;
    assert_int_equal(ami_hls_check(&wrong, CTOS, 8, NULL, 0, out, (size_t)n, NULL), AMI_E_AUTH);
}

static void test_hash_mechanisms(void **state)
{
    (void)state;
    uint8_t out[AMI_HLS_RESPONSE_MAX];
    ami_hls_params p = {.secret = (const uint8_t *)"Gurux",
                        .secret_len = 5,
                        .st_responder = ST_C,
                        .st_other = ST_S};
    p.mech = AMI_ACSE_MECH_MD5;
    int n = ami_hls_compute(&p, STOC, 8, CTOS, 8, out, sizeof out);
    expect_hex(out, n, "B481209B439AD7B31C6852FB03655DD9");
    assert_int_equal(ami_hls_check(&p, STOC, 8, CTOS, 8, out, (size_t)n, NULL), AMI_OK);
    p.mech = AMI_ACSE_MECH_SHA1;
    n = ami_hls_compute(&p, STOC, 8, CTOS, 8, out, sizeof out);
    expect_hex(out, n, "EE1AE061D6C8DB8AF1F93BB7F7945D85A2D7B522");
    p.mech = AMI_ACSE_MECH_SHA256;
    n = ami_hls_compute(&p, STOC, 8, CTOS, 8, out, sizeof out);
    expect_hex(out, n, "F6D1E90A4E1D237972A02ED7F392D165BA5527D922A07C4A22D690397D6888F3");
    assert_int_equal(ami_hls_check(&p, STOC, 8, CTOS, 8, out, (size_t)n, NULL), AMI_OK);
    out[0] ^= 1;
    assert_int_equal(ami_hls_check(&p, STOC, 8, CTOS, 8, out, (size_t)n, NULL), AMI_E_AUTH);
    /* The wrong secret is refused; the responder's view (system titles swapped) matters. */
    out[0] ^= 1;
    ami_hls_params swapped = p;
    swapped.st_responder = ST_S;
    swapped.st_other = ST_C;
    assert_int_equal(ami_hls_check(&swapped, STOC, 8, CTOS, 8, out, (size_t)n, NULL), AMI_E_AUTH);
    p.mech = AMI_ACSE_MECH_HIGH;
    p.secret = EK;
    p.secret_len = 16;
    n = ami_hls_compute(&p, STOC, 8, NULL, 0, out, sizeof out);
    expect_hex(out, n, "BC17C3C4C2673C3363A96780D6611543");
}

static int custom_mech2(void *user, const uint8_t *x, size_t len, uint8_t *out, size_t cap)
{
    (void)user;
    if (cap < len)
        return AMI_E_NOSPACE;
    for (size_t i = 0; i < len; i++)
        out[i] = (uint8_t)~x[i];
    return (int)len;
}

/* A broken hook: claims one byte more than the capacity it was given. */
static int custom_overclaim(void *user, const uint8_t *x, size_t len, uint8_t *out, size_t cap)
{
    (void)user;
    (void)x;
    (void)len;
    (void)out;
    return (int)cap + 1;
}

static void test_custom_and_errors(void **state)
{
    (void)state;
    uint8_t out[AMI_HLS_RESPONSE_MAX];
    ami_hls_params p = {.mech = AMI_ACSE_MECH_HIGH, .custom = custom_mech2};
    assert_int_equal(ami_hls_compute(&p, STOC, 8, NULL, 0, out, sizeof out), 8);
    assert_int_equal(out[0], (uint8_t)~STOC[0]);
    assert_int_equal(ami_hls_check(&p, STOC, 8, NULL, 0, out, 8, NULL), AMI_OK);
    /* The length a hook returns is checked against cap before anything reads that many bytes
     * (ami_hls_check used to compare AMI_HLS_RESPONSE_MAX + 1 bytes of its stack buffer). */
    ami_hls_params bad = {.mech = AMI_ACSE_MECH_HIGH, .custom = custom_overclaim};
    uint8_t resp[AMI_HLS_RESPONSE_MAX + 1] = {0};
    assert_int_equal(ami_hls_compute(&bad, STOC, 8, NULL, 0, out, sizeof out), AMI_E_INTERNAL);
    assert_int_equal(ami_hls_check(&bad, STOC, 8, NULL, 0, resp, sizeof resp, NULL),
                     AMI_E_INTERNAL);
    ami_hls_params md5 = {.mech = AMI_ACSE_MECH_MD5, .secret = EK, .secret_len = 16};
    uint8_t big[65] = {0};
    assert_int_equal(ami_hls_compute(&md5, big, 7, NULL, 0, out, sizeof out), AMI_E_RANGE);
    assert_int_equal(ami_hls_compute(&md5, big, 65, NULL, 0, out, sizeof out), AMI_E_RANGE);
    assert_int_equal(ami_hls_compute(&md5, big, 8, NULL, 0, out, 15), AMI_E_NOSPACE);
    md5.secret = NULL;
    assert_int_equal(ami_hls_compute(&md5, big, 8, NULL, 0, out, sizeof out), AMI_E_INVAL);
    ami_hls_params lls = {.mech = AMI_ACSE_MECH_LOW};
    assert_int_equal(ami_hls_compute(&lls, big, 8, NULL, 0, out, sizeof out), AMI_E_UNSUPPORTED);
    assert_string_equal(ami_auth_mech_name(AMI_ACSE_MECH_GMAC), "hls-gmac");
    assert_int_equal(ami_auth_mech_parse("hls-ecdsa"), AMI_ACSE_MECH_ECDSA);
    assert_int_equal(ami_auth_mech_parse("hls-foo"), AMI_E_NOTFOUND);
}

static EVP_PKEY *ec_key(const char *curve)
{
    EVP_PKEY *k = EVP_EC_gen(curve);
    assert_non_null(k);
    return k;
}

static void test_ecdsa(void **state)
{
    (void)state;
    static const char *curves[] = {"P-256", "P-384"};
    for (int c = 0; c < 2; c++) {
        EVP_PKEY *client = ec_key(curves[c]), *other = ec_key(curves[c]);
        uint8_t out[AMI_HLS_RESPONSE_MAX];
        ami_hls_params p = {.mech = AMI_ACSE_MECH_ECDSA,
                            .st_responder = ST_C,
                            .st_other = ST_S,
                            .sign_key = client,
                            .verify_key = client};
        int n = ami_hls_compute(&p, STOC, 8, CTOS, 8, out, sizeof out);
        assert_int_equal(n, c == 0 ? 64 : 96);
        assert_int_equal(ami_hls_check(&p, STOC, 8, CTOS, 8, out, (size_t)n, NULL), AMI_OK);
        out[n - 1] ^= 0x01;
        assert_int_equal(ami_hls_check(&p, STOC, 8, CTOS, 8, out, (size_t)n, NULL), AMI_E_AUTH);
        out[n - 1] ^= 0x01;
        /* Other challenge or another key: refused. */
        assert_int_equal(ami_hls_check(&p, CTOS, 8, STOC, 8, out, (size_t)n, NULL), AMI_E_AUTH);
        p.verify_key = other;
        assert_int_equal(ami_hls_check(&p, STOC, 8, CTOS, 8, out, (size_t)n, NULL), AMI_E_AUTH);
        assert_int_equal(ami_hls_check(&p, STOC, 8, CTOS, 8, out, (size_t)n - 1, NULL),
                         AMI_E_MALFORMED);
        EVP_PKEY_free(client);
        EVP_PKEY_free(other);
    }
}

static void test_challenge(void **state)
{
    (void)state;
    uint8_t a[64], b[64];
    assert_int_equal(ami_hls_challenge(a, 7), AMI_E_RANGE);
    assert_int_equal(ami_hls_challenge(a, 65), AMI_E_RANGE);
    assert_int_equal(ami_hls_challenge(a, 64), AMI_OK);
    assert_int_equal(ami_hls_challenge(b, 64), AMI_OK);
    assert_memory_not_equal(a, b, 64);
}

static void test_keywrap_rfc3394(void **state)
{
    (void)state;
    size_t n;
    uint8_t *key = tu_hex("00112233445566778899AABBCCDDEEFF", &n);
    uint8_t wrapped[40], unwrapped[32];
    int w = ami_keywrap_wrap(EK, 16, key, 16, wrapped, sizeof wrapped);
    expect_hex(wrapped, w, "1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5");
    assert_int_equal(ami_keywrap_unwrap(EK, 16, wrapped, (size_t)w, unwrapped, sizeof unwrapped),
                     16);
    assert_memory_equal(unwrapped, key, 16);
    wrapped[10] ^= 0x40;
    assert_int_equal(ami_keywrap_unwrap(EK, 16, wrapped, (size_t)w, unwrapped, sizeof unwrapped),
                     AMI_E_AUTH);
    wrapped[10] ^= 0x40;
    assert_int_equal(ami_keywrap_unwrap(AK, 16, wrapped, (size_t)w, unwrapped, sizeof unwrapped),
                     AMI_E_AUTH);
    assert_int_equal(ami_keywrap_wrap(EK, 16, key, 15, wrapped, sizeof wrapped), AMI_E_INVAL);
    assert_int_equal(ami_keywrap_wrap(EK, 16, key, 16, wrapped, 23), AMI_E_NOSPACE);
    free(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gmac_table43),      cmocka_unit_test(test_hash_mechanisms),
        cmocka_unit_test(test_custom_and_errors), cmocka_unit_test(test_ecdsa),
        cmocka_unit_test(test_challenge),         cmocka_unit_test(test_keywrap_rfc3394),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
