/*
 * Signed firmware images (ami/fwimage.h) and the Image transfer class 18 (ami/cosem_image.h):
 * header codec, versions, ECDSA P-256 / P-384 verification, the class attributes and state
 * machine through the store ops, every refusal with its action-result and recorded reason.
 * Keys are generated per run with OpenSSL; images are signed as `ami fw sign` does.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "ami/ami.h"
#include "testutil.h"

/* ---------------------------------------------------------------- keys and images */

typedef struct key {
    EVP_PKEY *pkey;
    uint8_t pub[AMI_FWIMG_KEY_MAX];
    size_t pub_len;
    uint8_t alg;
} key;

static void key_gen(key *k, uint8_t alg)
{
    k->alg = alg;
    k->pkey = EVP_EC_gen(alg == AMI_FWIMG_ECDSA_P256_SHA256 ? "P-256" : "P-384");
    assert_non_null(k->pkey);
    assert_int_equal(EVP_PKEY_get_octet_string_param(k->pkey, OSSL_PKEY_PARAM_PUB_KEY, k->pub,
                                                     sizeof k->pub, &k->pub_len),
                     1);
}

/* Builds a signed image of `plen` payload bytes into out; returns its length. */
static size_t make_image(const key *k, uint8_t alg, const char *id, ami_fwimg_version v,
                         size_t plen, uint8_t *out, size_t cap)
{
    ami_fwimg_header h = {.alg = alg, .version = v, .payload_len = (uint32_t)plen};
    h.id_len = (uint8_t)strlen(id);
    memcpy(h.id, id, h.id_len);
    size_t sl = ami_fwimg_sig_len(alg), total = AMI_FWIMG_HEADER_LEN + plen + sl;
    assert_true(total <= cap);
    assert_int_equal(ami_fwimg_header_encode(&h, out), AMI_OK);
    for (size_t i = 0; i < plen; i++)
        out[AMI_FWIMG_HEADER_LEN + i] = (uint8_t)(i * 7 + 3);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t der[160];
    size_t dl = sizeof der;
    assert_int_equal(EVP_DigestSignInit(
                         md, NULL, alg == AMI_FWIMG_ECDSA_P256_SHA256 ? EVP_sha256() : EVP_sha384(),
                         NULL, k->pkey),
                     1);
    assert_int_equal(EVP_DigestSign(md, der, &dl, out, AMI_FWIMG_HEADER_LEN + plen), 1);
    EVP_MD_CTX_free(md);
    assert_int_equal(ami_fwimg_sig_from_der(alg, der, dl, out + AMI_FWIMG_HEADER_LEN + plen, sl),
                     (int)sl);
    return total;
}

static const ami_fwimg_version V100 = {1, 0, 0}, V110 = {1, 1, 0}, V099 = {0, 9, 9};

/* ---------------------------------------------------------------- format */

static void test_header_and_versions(void **state)
{
    (void)state;
    ami_fwimg_header h = {.alg = AMI_FWIMG_ECDSA_P384_SHA384,
                          .version = {2, 3, 4},
                          .payload_len = 1000,
                          .id_len = 4,
                          .id = "SIM1"};
    uint8_t b[AMI_FWIMG_HEADER_LEN];
    assert_int_equal(ami_fwimg_header_encode(&h, b), AMI_OK);
    assert_memory_equal(b, "AMFW\x01\x02\x04\x00\x00\x02\x00\x03\x00\x04\x00\x00\x00\x00\x03\xe8",
                        20);
    ami_fwimg_header d;
    assert_int_equal(ami_fwimg_header_decode(b, sizeof b, &d), AMI_OK);
    assert_int_equal(d.version.minor, 3);
    assert_int_equal(d.payload_len, 1000);
    assert_memory_equal(d.id, "SIM1", 4);
    assert_int_equal(ami_fwimg_total_len(&d), 52 + 1000 + 96);
    assert_int_equal(ami_fwimg_header_decode(b, 51, &d), AMI_E_TRUNCATED);
    b[24] = 1; /* identifier padding */
    assert_int_equal(ami_fwimg_header_decode(b, sizeof b, &d), AMI_E_MALFORMED);
    b[24] = 0;
    b[4] = 2; /* format version */
    assert_int_equal(ami_fwimg_header_decode(b, sizeof b, &d), AMI_E_UNSUPPORTED);
    b[4] = 1;
    b[5] = 3; /* algorithm */
    assert_int_equal(ami_fwimg_header_decode(b, sizeof b, &d), AMI_E_UNSUPPORTED);
    b[5] = 1;
    b[0] = 'X';
    assert_int_equal(ami_fwimg_header_decode(b, sizeof b, &d), AMI_E_MALFORMED);

    ami_fwimg_version v;
    assert_int_equal(ami_fwimg_version_parse("1.20.300", 8, &v), AMI_OK);
    assert_true(v.major == 1 && v.minor == 20 && v.patch == 300);
    assert_int_equal(ami_fwimg_version_parse("7", 1, &v), AMI_OK);
    assert_true(v.major == 7 && v.minor == 0 && v.patch == 0);
    assert_int_equal(ami_fwimg_version_parse("1.2.3.4", 7, &v), AMI_E_SYNTAX);
    assert_int_equal(ami_fwimg_version_parse("1..2", 4, &v), AMI_E_SYNTAX);
    assert_int_equal(ami_fwimg_version_parse("65536", 5, &v), AMI_E_SYNTAX);
    assert_int_equal(ami_fwimg_version_parse("", 0, &v), AMI_E_SYNTAX);
    char s[AMI_FWIMG_VERSION_STRLEN];
    ami_fwimg_version big = {65535, 65535, 65535};
    assert_int_equal(ami_fwimg_version_format(&big, s, sizeof s), 17);
    assert_string_equal(s, "65535.65535.65535");
    assert_true(ami_fwimg_version_cmp(&V110, &V100) > 0);
    assert_true(ami_fwimg_version_cmp(&V099, &V100) < 0);
    assert_true(ami_fwimg_version_cmp(&V100, &V100) == 0);
}

static void test_verify(void **state)
{
    (void)state;
    key k256, k384;
    key_gen(&k256, AMI_FWIMG_ECDSA_P256_SHA256);
    key_gen(&k384, AMI_FWIMG_ECDSA_P384_SHA384);
    static uint8_t img[4096];
    size_t n = make_image(&k256, AMI_FWIMG_ECDSA_P256_SHA256, "SIM", V110, 1000, img, sizeof img);
    assert_int_equal(n, 52 + 1000 + 64);
    ami_fwimg_header h;
    assert_int_equal(ami_fwimg_verify(img, n, k256.pub, k256.pub_len, &h), AMI_OK);
    assert_int_equal(h.version.minor, 1);
    assert_int_equal(ami_fwimg_verify(img, n - 1, k256.pub, k256.pub_len, NULL), AMI_E_TRUNCATED);
    assert_int_equal(ami_fwimg_verify(img, n + 1, k256.pub, k256.pub_len, NULL), AMI_E_MALFORMED);
    assert_int_equal(ami_fwimg_verify(img, n, k384.pub, k384.pub_len, NULL), AMI_E_KEY);
    assert_int_equal(ami_fwimg_verify(img, n, NULL, 0, NULL), AMI_E_KEY);
    img[100] ^= 1;
    assert_int_equal(ami_fwimg_verify(img, n, k256.pub, k256.pub_len, NULL), AMI_E_AUTH);
    img[100] ^= 1;
    img[9] ^= 1; /* the header is signed too */
    assert_int_equal(ami_fwimg_verify(img, n, k256.pub, k256.pub_len, NULL), AMI_E_AUTH);
    img[9] ^= 1;
    memset(img + n - 64, 0, 64); /* r = s = 0 */
    assert_int_equal(ami_fwimg_verify(img, n, k256.pub, k256.pub_len, NULL), AMI_E_AUTH);

    n = make_image(&k384, AMI_FWIMG_ECDSA_P384_SHA384, "SIM", V110, 3000, img, sizeof img);
    assert_int_equal(ami_fwimg_verify(img, n, k384.pub, k384.pub_len, NULL), AMI_OK);

    uint8_t alg = 0;
    assert_int_equal(ami_fwimg_key_check(k384.pub, k384.pub_len, &alg), AMI_OK);
    assert_int_equal(alg, AMI_FWIMG_ECDSA_P384_SHA384);
    uint8_t bad[65];
    memcpy(bad, k256.pub, 65);
    bad[64] ^= 1; /* not on the curve */
    assert_int_equal(ami_fwimg_key_check(bad, 65, NULL), AMI_E_KEY);
    assert_int_equal(ami_fwimg_key_check(k256.pub, 64, NULL), AMI_E_KEY);
    EVP_PKEY_free(k256.pkey);
    EVP_PKEY_free(k384.pkey);
}

/* ---------------------------------------------------------------- class 18 */

#define CAP   4096
#define BLOCK 100

typedef struct fixture {
    key k;
    uint8_t buf[CAP];
    ami_image_transfer t;
    ami_cosem_obj obj;
    ami_cosem_store store;
    ami_dlms_ctx ctx;
    int activations;
    ami_fwimg_version activated;
    int refuse_activation;
    uint8_t img[CAP + 512];
    size_t img_len;
    uint8_t out[2048];
    size_t out_len;
} fixture;

static int on_activate(void *user, const ami_fwimg_header *h, ami_view payload)
{
    fixture *f = user;
    f->activations++;
    f->activated = h->version;
    assert_int_equal(payload.len, h->payload_len);
    return f->refuse_activation ? AMI_E_REFUSED : AMI_OK;
}

static void fx_setup(fixture *f, bool with_key, bool deferred)
{
    memset(f, 0, sizeof *f);
    key_gen(&f->k, AMI_FWIMG_ECDSA_P256_SHA256);
    ami_image_config cfg = {.buf = f->buf,
                            .cap = CAP,
                            .block_size = BLOCK,
                            .key = with_key ? f->k.pub : NULL,
                            .key_len = with_key ? f->k.pub_len : 0,
                            .running = V100,
                            .id = (const uint8_t *)"SIM",
                            .id_len = 3,
                            .deferred_verify = deferred,
                            .activate = on_activate,
                            .user = f};
    assert_int_equal(ami_image_init(&f->t, &cfg), AMI_OK);
    f->obj = (ami_cosem_obj){
        .class_id = AMI_COSEM_IMAGE_TRANSFER, .ln = AMI_OBIS(0, 0, 44, 0, 0, 255), .state = &f->t};
    assert_int_equal(ami_cosem_store_init(&f->store, &f->obj, 1, NULL), AMI_OK);
    f->ctx = (ami_dlms_ctx){.client_sap = 17, .mechanism = AMI_ACSE_MECH_LOW};
}

static void fx_free(fixture *f)
{
    EVP_PKEY_free(f->k.pkey);
}

static uint8_t act(fixture *f, uint8_t id, const uint8_t *p, size_t n)
{
    ami_cosem_desc d = {AMI_COSEM_IMAGE_TRANSFER, {{0, 0, 44, 0, 0, 255}}, (int8_t)id};
    ami_wr w;
    ami_wr_init(&w, f->out, sizeof f->out);
    return ami_cosem_store_ops.action(&f->store, &d, ami_view_of(p, n), &f->ctx, &w);
}

/* Reads attribute attr into f->out; returns the DAR. */
static uint8_t get(fixture *f, uint8_t attr)
{
    ami_cosem_desc d = {AMI_COSEM_IMAGE_TRANSFER, {{0, 0, 44, 0, 0, 255}}, (int8_t)attr};
    ami_access_selection sel = {false, 0, {NULL, 0}};
    ami_wr w;
    ami_wr_init(&w, f->out, sizeof f->out);
    uint8_t dar = ami_cosem_store_ops.get(&f->store, &d, &sel, &f->ctx, &w);
    f->out_len = w.len;
    return dar;
}

static uint32_t get_u32(fixture *f, uint8_t attr)
{
    assert_int_equal(get(f, attr), AMI_DAR_SUCCESS);
    assert_int_equal(f->out[0], AMI_AXDR_DOUBLE_LONG_UNSIGNED);
    return ami_dec32be(f->out + 1);
}

static uint8_t get_status(fixture *f)
{
    assert_int_equal(get(f, 6), AMI_DAR_SUCCESS);
    assert_int_equal(f->out[0], AMI_AXDR_ENUM);
    return f->out[1];
}

static uint8_t initiate(fixture *f, const char *ident, uint32_t size)
{
    uint8_t p[128];
    ami_wr w;
    ami_wr_init(&w, p, sizeof p);
    ami_wr_u8(&w, AMI_AXDR_STRUCTURE);
    ami_wr_u8(&w, 2);
    ami_wr_u8(&w, AMI_AXDR_OCTET_STRING);
    ami_axdr_put_length(&w, strlen(ident));
    ami_wr_bytes(&w, ident, strlen(ident));
    ami_wr_u8(&w, AMI_AXDR_DOUBLE_LONG_UNSIGNED);
    ami_wr_u32be(&w, size);
    return act(f, 1, p, w.len);
}

static uint8_t send_block_raw(fixture *f, uint32_t num, const uint8_t *v, size_t n)
{
    static uint8_t p[CAP + 16];
    ami_wr w;
    ami_wr_init(&w, p, sizeof p);
    ami_wr_u8(&w, AMI_AXDR_STRUCTURE);
    ami_wr_u8(&w, 2);
    ami_wr_u8(&w, AMI_AXDR_DOUBLE_LONG_UNSIGNED);
    ami_wr_u32be(&w, num);
    ami_wr_u8(&w, AMI_AXDR_OCTET_STRING);
    ami_axdr_put_length(&w, n);
    ami_wr_bytes(&w, v, n);
    return act(f, 2, p, w.len);
}

static uint8_t send_block(fixture *f, uint32_t num)
{
    size_t off = (size_t)num * BLOCK;
    size_t n = f->img_len - off < BLOCK ? f->img_len - off : BLOCK;
    return send_block_raw(f, num, f->img + off, n);
}

static const uint8_t int0[] = {AMI_AXDR_INTEGER, 0};

static uint32_t nblocks(const fixture *f)
{
    return (uint32_t)((f->img_len + BLOCK - 1) / BLOCK);
}

/* Initiates and sends the whole of f->img in order. */
static void transfer_all(fixture *f)
{
    assert_int_equal(initiate(f, "SIM 1.1.0", (uint32_t)f->img_len), AMI_ACTION_SUCCESS);
    for (uint32_t i = 0; i < nblocks(f); i++)
        assert_int_equal(send_block(f, i), AMI_ACTION_SUCCESS);
}

static void test_attributes(void **state)
{
    (void)state;
    fixture *f = malloc(sizeof *f);
    fx_setup(f, true, false);
    uint8_t ver, attrs, methods;
    assert_true(ami_cosem_class_info(AMI_COSEM_IMAGE_TRANSFER, &ver, &attrs, &methods));
    assert_true(ver == 0 && attrs == 7 && methods == 4);
    assert_int_equal(get_u32(f, 2), BLOCK);
    assert_int_equal(get(f, 3), AMI_DAR_SUCCESS);
    assert_int_equal(f->out_len, 2);
    assert_memory_equal(f->out, "\x04\x00", 2); /* empty bit-string */
    assert_int_equal(get_u32(f, 4), 0);
    assert_int_equal(get(f, 5), AMI_DAR_SUCCESS);
    assert_memory_equal(f->out, "\x03\x01", 2);
    assert_int_equal(get_status(f), AMI_IMAGE_NOT_INITIATED);
    assert_int_equal(get(f, 7), AMI_DAR_SUCCESS);
    assert_memory_equal(f->out, "\x01\x00", 2);
    assert_int_equal(get(f, 1), AMI_DAR_SUCCESS);
    assert_memory_equal(f->out, "\x09\x06\x00\x00\x2c\x00\x00\xff", 8);
    /* image_transfer_enabled is writable; false refuses every method */
    ami_cosem_desc d = {AMI_COSEM_IMAGE_TRANSFER, {{0, 0, 44, 0, 0, 255}}, 5};
    static const uint8_t off[] = {AMI_AXDR_BOOLEAN, 0}, bad[] = {AMI_AXDR_UNSIGNED, 0};
    assert_int_equal(ami_cosem_store_ops.set(&f->store, &d, ami_view_of(bad, 2), &f->ctx),
                     AMI_DAR_TYPE_UNMATCHED);
    assert_int_equal(ami_cosem_store_ops.set(&f->store, &d, ami_view_of(off, 2), &f->ctx),
                     AMI_DAR_SUCCESS);
    assert_int_equal(initiate(f, "X", 10), AMI_DAR_READ_WRITE_DENIED);
    assert_int_equal(ami_image_reason(&f->t), AMI_IMAGE_R_DISABLED);
    d.id = 2;
    assert_int_equal(ami_cosem_store_ops.set(&f->store, &d, ami_view_of(off, 2), &f->ctx),
                     AMI_DAR_READ_WRITE_DENIED);
    /* a class 18 object needs its state */
    ami_cosem_obj bare = {.class_id = AMI_COSEM_IMAGE_TRANSFER,
                          .ln = AMI_OBIS(0, 0, 44, 0, 0, 255)};
    ami_cosem_store st;
    assert_int_equal(ami_cosem_store_init(&st, &bare, 1, NULL), AMI_E_CONFIG);
    ami_image_transfer t;
    ami_image_config cfg = {.buf = f->buf, .cap = CAP, .block_size = 0};
    assert_int_equal(ami_image_init(&t, &cfg), AMI_E_CONFIG);
    cfg.block_size = 64;
    cfg.key = f->k.pub;
    cfg.key_len = 10;
    assert_int_equal(ami_image_init(&t, &cfg), AMI_E_KEY);
    fx_free(f);
    free(f);
}

static void test_transfer_verify_activate(void **state)
{
    (void)state;
    fixture *f = malloc(sizeof *f);
    fx_setup(f, true, false);
    f->img_len =
        make_image(&f->k, AMI_FWIMG_ECDSA_P256_SHA256, "SIM", V110, 1234, f->img, sizeof f->img);
    uint32_t nb = nblocks(f); /* 1350 bytes: 14 blocks, the last of 50 */
    assert_int_equal(nb, 14);
    assert_int_equal(initiate(f, "SIM 1.1.0", (uint32_t)f->img_len), AMI_ACTION_SUCCESS);
    assert_int_equal(get_status(f), AMI_IMAGE_TRANSFER_INITIATED);
    /* out of order, one twice */
    assert_int_equal(send_block(f, 13), AMI_ACTION_SUCCESS);
    assert_int_equal(send_block(f, 1), AMI_ACTION_SUCCESS);
    assert_int_equal(get_u32(f, 4), 0);
    assert_int_equal(send_block(f, 0), AMI_ACTION_SUCCESS);
    assert_int_equal(send_block(f, 0), AMI_ACTION_SUCCESS);
    assert_int_equal(get_u32(f, 4), 2);
    assert_int_equal(get(f, 3), AMI_DAR_SUCCESS);
    /* 14 bits: blocks 0, 1 and 13 */
    assert_int_equal(f->out_len, 4);
    assert_memory_equal(f->out, "\x04\x0e\xc0\x04", 4);
    /* verify with blocks missing */
    assert_int_equal(act(f, 3, int0, 2), AMI_ACTION_OTHER_REASON);
    assert_int_equal(get_status(f), AMI_IMAGE_VERIFY_FAILED);
    assert_int_equal(ami_image_reason(&f->t), AMI_IMAGE_R_INCOMPLETE);
    /* the rest (a block after a failed verification goes back to transfer-initiated) */
    for (uint32_t i = 2; i < 13; i++)
        assert_int_equal(send_block(f, i), AMI_ACTION_SUCCESS);
    assert_int_equal(get_status(f), AMI_IMAGE_TRANSFER_INITIATED);
    assert_int_equal(get_u32(f, 4), nb);
    assert_int_equal(act(f, 3, int0, 2), AMI_ACTION_SUCCESS);
    assert_int_equal(get_status(f), AMI_IMAGE_VERIFY_OK);
    /* image_to_activate_info: {size, identification, signature} */
    assert_int_equal(get(f, 7), AMI_DAR_SUCCESS);
    assert_memory_equal(f->out, "\x01\x01\x02\x03\x06\x00\x00\x05\x46\x09\x09SIM 1.1.0\x09\x40",
                        22);
    assert_memory_equal(f->out + 22, f->img + f->img_len - 64, 64);
    assert_int_equal(act(f, 4, int0, 2), AMI_ACTION_SUCCESS);
    assert_int_equal(get_status(f), AMI_IMAGE_ACTIVATE_OK);
    assert_int_equal(f->activations, 1);
    assert_int_equal(f->activated.minor, 1);
    ami_fwimg_version r = ami_image_running(&f->t);
    assert_int_equal(ami_fwimg_version_cmp(&r, &V110), 0);
    /* activating again is answered success without a second activation */
    assert_int_equal(act(f, 4, int0, 2), AMI_ACTION_SUCCESS);
    assert_int_equal(f->activations, 1);
    /* the same image again is now older-or-equal */
    transfer_all(f);
    assert_int_equal(act(f, 3, int0, 2), AMI_ACTION_OTHER_REASON);
    assert_int_equal(ami_image_reason(&f->t), AMI_IMAGE_R_NOT_NEWER);
    assert_int_equal(act(f, 4, int0, 2), AMI_ACTION_OTHER_REASON);
    assert_int_equal(ami_image_reason(&f->t), AMI_IMAGE_R_NOT_VERIFIED);
    fx_free(f);
    free(f);
}

static void test_activate_verifies_and_callback_refusal(void **state)
{
    (void)state;
    fixture *f = malloc(sizeof *f);
    fx_setup(f, true, false);
    f->img_len =
        make_image(&f->k, AMI_FWIMG_ECDSA_P256_SHA256, "SIM", V110, 300, f->img, sizeof f->img);
    transfer_all(f);
    f->refuse_activation = 1;
    assert_int_equal(act(f, 4, int0, 2), AMI_ACTION_OTHER_REASON); /* verified, then refused */
    assert_int_equal(get_status(f), AMI_IMAGE_ACTIVATE_FAILED);
    assert_int_equal(ami_image_reason(&f->t), AMI_IMAGE_R_ACTIVATION);
    ami_fwimg_version r = ami_image_running(&f->t);
    assert_int_equal(ami_fwimg_version_cmp(&r, &V100), 0);
    fx_free(f);
    free(f);
}

/* Transfers f->img and returns the verify result. */
static uint8_t transfer_and_verify(fixture *f)
{
    transfer_all(f);
    return act(f, 3, int0, 2);
}

static void expect_refused(fixture *f, uint8_t reason)
{
    assert_int_equal(transfer_and_verify(f), AMI_ACTION_OTHER_REASON);
    assert_int_equal(get_status(f), AMI_IMAGE_VERIFY_FAILED);
    assert_int_equal(ami_image_reason(&f->t), reason);
    assert_string_not_equal(ami_image_reason_text(reason), "unknown");
    assert_int_equal(act(f, 4, int0, 2), AMI_ACTION_OTHER_REASON);
    assert_int_equal(f->activations, 0);
}

static void test_verification_refusals(void **state)
{
    (void)state;
    fixture *f = malloc(sizeof *f);
    fx_setup(f, true, false);
    /* bad signature: one payload bit flipped after signing */
    f->img_len =
        make_image(&f->k, AMI_FWIMG_ECDSA_P256_SHA256, "SIM", V110, 500, f->img, sizeof f->img);
    f->img[300] ^= 0x10;
    expect_refused(f, AMI_IMAGE_R_SIGNATURE);
    /* initiating the same image after a failed verification does not keep the bad blocks */
    assert_int_equal(initiate(f, "SIM 1.1.0", (uint32_t)f->img_len), AMI_ACTION_SUCCESS);
    assert_int_equal(get_u32(f, 4), 0);
    /* signed by another key */
    key other;
    key_gen(&other, AMI_FWIMG_ECDSA_P256_SHA256);
    f->img_len =
        make_image(&other, AMI_FWIMG_ECDSA_P256_SHA256, "SIM", V110, 500, f->img, sizeof f->img);
    expect_refused(f, AMI_IMAGE_R_SIGNATURE);
    EVP_PKEY_free(other.pkey);
    /* P-384 image against a P-256 key */
    key k384;
    key_gen(&k384, AMI_FWIMG_ECDSA_P384_SHA384);
    f->img_len =
        make_image(&k384, AMI_FWIMG_ECDSA_P384_SHA384, "SIM", V110, 500, f->img, sizeof f->img);
    expect_refused(f, AMI_IMAGE_R_KEY_MISMATCH);
    EVP_PKEY_free(k384.pkey);
    /* older and equal versions */
    f->img_len =
        make_image(&f->k, AMI_FWIMG_ECDSA_P256_SHA256, "SIM", V099, 500, f->img, sizeof f->img);
    expect_refused(f, AMI_IMAGE_R_NOT_NEWER);
    f->img_len =
        make_image(&f->k, AMI_FWIMG_ECDSA_P256_SHA256, "SIM", V100, 500, f->img, sizeof f->img);
    expect_refused(f, AMI_IMAGE_R_NOT_NEWER);
    /* another meter's firmware */
    f->img_len =
        make_image(&f->k, AMI_FWIMG_ECDSA_P256_SHA256, "OTHER", V110, 500, f->img, sizeof f->img);
    expect_refused(f, AMI_IMAGE_R_WRONG_ID);
    /* truncated image: the transfer is shorter than the header declares */
    f->img_len =
        make_image(&f->k, AMI_FWIMG_ECDSA_P256_SHA256, "SIM", V110, 500, f->img, sizeof f->img) - 1;
    expect_refused(f, AMI_IMAGE_R_LENGTH);
    /* not an image at all */
    memset(f->img, 0x55, 400);
    f->img_len = 400;
    expect_refused(f, AMI_IMAGE_R_HEADER);
    f->img_len = 20;
    expect_refused(f, AMI_IMAGE_R_HEADER);
    fx_free(f);

    /* no key configured: every image refused at initiate, and no storage needed */
    fx_setup(f, false, false);
    assert_int_equal(initiate(f, "SIM 1.1.0", 616), AMI_ACTION_OTHER_REASON);
    assert_int_equal(ami_image_reason(&f->t), AMI_IMAGE_R_NO_KEY);
    assert_int_equal(get_status(f), AMI_IMAGE_NOT_INITIATED);
    ami_image_config nobuf = {.block_size = 64};
    assert_int_equal(ami_image_init(&f->t, &nobuf), AMI_OK);
    assert_int_equal(initiate(f, "SIM 1.1.0", 616), AMI_ACTION_OTHER_REASON);
    assert_int_equal(ami_image_reason(&f->t), AMI_IMAGE_R_NO_KEY);
    nobuf.key = f->k.pub;
    nobuf.key_len = f->k.pub_len;
    assert_int_equal(ami_image_init(&f->t, &nobuf), AMI_E_CONFIG);
    fx_free(f);
    free(f);
}

static void test_transfer_refusals(void **state)
{
    (void)state;
    fixture *f = malloc(sizeof *f);
    fx_setup(f, true, false);
    f->img_len =
        make_image(&f->k, AMI_FWIMG_ECDSA_P256_SHA256, "SIM", V110, 500, f->img, sizeof f->img);
    /* nothing initiated */
    assert_int_equal(send_block(f, 0), AMI_ACTION_OTHER_REASON);
    assert_int_equal(ami_image_reason(&f->t), AMI_IMAGE_R_NOT_INITIATED);
    assert_int_equal(act(f, 3, int0, 2), AMI_ACTION_OTHER_REASON);
    assert_int_equal(act(f, 4, int0, 2), AMI_ACTION_OTHER_REASON);
    assert_int_equal(ami_image_reason(&f->t), AMI_IMAGE_R_NOT_INITIATED);
    /* oversize, zero and too many blocks */
    assert_int_equal(initiate(f, "SIM", CAP + 1), AMI_ACTION_OTHER_REASON);
    assert_int_equal(ami_image_reason(&f->t), AMI_IMAGE_R_TOO_LARGE);
    assert_int_equal(initiate(f, "SIM", 0), AMI_ACTION_OTHER_REASON);
    assert_int_equal(initiate(f, "SIM", 0xFFFFFFFFu), AMI_ACTION_OTHER_REASON);
    assert_int_equal(get_status(f), AMI_IMAGE_NOT_INITIATED);
    assert_int_equal(initiate(f, "", 100), AMI_ACTION_OTHER_REASON);
    assert_int_equal(ami_image_reason(&f->t), AMI_IMAGE_R_IDENT);
    /* parameters of the wrong type */
    static const uint8_t u8[] = {AMI_AXDR_UNSIGNED, 1};
    for (uint8_t m = 1; m <= 4; m++) {
        assert_int_equal(act(f, m, u8, 2), AMI_DAR_TYPE_UNMATCHED);
        assert_int_equal(act(f, m, NULL, 0), AMI_DAR_TYPE_UNMATCHED);
    }
    assert_int_equal(ami_image_reason(&f->t), AMI_IMAGE_R_PARAMS);
    static const uint8_t trunc[] = {AMI_AXDR_STRUCTURE, 2, AMI_AXDR_OCTET_STRING, 9, 'x'};
    assert_int_equal(act(f, 1, trunc, sizeof trunc), AMI_DAR_TYPE_UNMATCHED);
    /* wrong block numbers and lengths */
    assert_int_equal(initiate(f, "SIM 1.1.0", (uint32_t)f->img_len), AMI_ACTION_SUCCESS);
    assert_int_equal(send_block(f, 6), AMI_ACTION_SUCCESS); /* 616 bytes: 7 blocks */
    assert_int_equal(send_block_raw(f, 7, f->img, 16), AMI_ACTION_OTHER_REASON);
    assert_int_equal(ami_image_reason(&f->t), AMI_IMAGE_R_BLOCK_NUMBER);
    assert_int_equal(send_block_raw(f, 0xFFFFFFFFu, f->img, BLOCK), AMI_ACTION_OTHER_REASON);
    assert_int_equal(send_block_raw(f, 0, f->img, BLOCK - 1), AMI_ACTION_OTHER_REASON);
    assert_int_equal(ami_image_reason(&f->t), AMI_IMAGE_R_BLOCK_SIZE);
    assert_int_equal(send_block_raw(f, 6, f->img, BLOCK), AMI_ACTION_OTHER_REASON);
    assert_int_equal(get_u32(f, 4), 0);
    /* resume: the same identifier and size keep the blocks; another image restarts */
    for (uint32_t i = 0; i < 3; i++)
        assert_int_equal(send_block(f, i), AMI_ACTION_SUCCESS);
    assert_int_equal(get_u32(f, 4), 3);
    assert_int_equal(initiate(f, "SIM 1.1.0", (uint32_t)f->img_len), AMI_ACTION_SUCCESS);
    assert_int_equal(get_u32(f, 4), 3);
    assert_int_equal(initiate(f, "SIM 1.1.1", (uint32_t)f->img_len), AMI_ACTION_SUCCESS);
    assert_int_equal(get_u32(f, 4), 0);
    assert_int_equal(act(f, 5, int0, 2), AMI_DAR_OBJECT_UNDEFINED);
    fx_free(f);
    free(f);
}

static void test_deferred_verification(void **state)
{
    (void)state;
    fixture *f = malloc(sizeof *f);
    fx_setup(f, true, true);
    f->img_len =
        make_image(&f->k, AMI_FWIMG_ECDSA_P256_SHA256, "SIM", V110, 700, f->img, sizeof f->img);
    assert_int_equal(transfer_and_verify(f), AMI_DAR_TEMPORARY_FAILURE);
    assert_int_equal(ami_image_status(&f->t), AMI_IMAGE_VERIFY_INITIATED);
    assert_int_equal(get_status(f), AMI_IMAGE_VERIFY_OK); /* completes on the next access */
    assert_int_equal(act(f, 3, int0, 2), AMI_ACTION_SUCCESS);
    assert_int_equal(act(f, 4, int0, 2), AMI_ACTION_SUCCESS);
    assert_int_equal(get_status(f), AMI_IMAGE_ACTIVATE_OK);
    /* a bad image fails the same way, recorded */
    f->img_len =
        make_image(&f->k, AMI_FWIMG_ECDSA_P256_SHA256, "SIM", V110, 700, f->img, sizeof f->img);
    assert_int_equal(transfer_and_verify(f), AMI_DAR_TEMPORARY_FAILURE);
    ami_image_step(&f->t);
    assert_int_equal(ami_image_status(&f->t), AMI_IMAGE_VERIFY_FAILED);
    assert_int_equal(ami_image_reason(&f->t), AMI_IMAGE_R_NOT_NEWER);
    fx_free(f);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_and_versions),
        cmocka_unit_test(test_verify),
        cmocka_unit_test(test_attributes),
        cmocka_unit_test(test_transfer_verify_activate),
        cmocka_unit_test(test_activate_verifies_and_callback_refusal),
        cmocka_unit_test(test_verification_refusals),
        cmocka_unit_test(test_transfer_refusals),
        cmocka_unit_test(test_deferred_verification),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
