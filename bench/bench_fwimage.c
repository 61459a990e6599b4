/*
 * Firmware images: verification and block ingestion, as ratios to baselines in the same run.
 *
 *   verify P-256 / P-384: ami_fwimg_verify of a 64 KiB image (header, exact length, key from
 *       the uncompressed point with the on-curve check, DER conversion, EVP_DigestVerify)
 *       against EVP_DigestVerify alone with a key and DER signature prepared beforehand.
 *   transfer: a 64 KiB image through an Image transfer object (class 18) via the store's
 *       action op: initiate and 256 image_block_transfer calls of 256 bytes (parameter decode,
 *       checks, copy, bitmap) against a memcpy of the same 64 KiB in 256-byte pieces.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ami/ami.h"
#include "benchutil.h"

#define IMG   65536u
#define BLOCK 256u

typedef struct ctx {
    uint8_t alg;
    uint8_t img[IMG];
    size_t len;
    uint8_t pub[AMI_FWIMG_KEY_MAX];
    size_t pub_len;
    EVP_PKEY *pkey;
    uint8_t der[160];
    size_t der_len;
    /* transfer */
    uint8_t params[BLOCK][BLOCK + 16];
    size_t plen[BLOCK];
    uint8_t init[32];
    size_t init_len;
    uint8_t buf[IMG];
    uint8_t dst[IMG];
} ctx;

static void make(ctx *c, uint8_t alg)
{
    c->alg = alg;
    c->pkey = EVP_EC_gen(alg == AMI_FWIMG_ECDSA_P256_SHA256 ? "P-256" : "P-384");
    if (!c->pkey || EVP_PKEY_get_octet_string_param(c->pkey, OSSL_PKEY_PARAM_PUB_KEY, c->pub,
                                                    sizeof c->pub, &c->pub_len) != 1)
        exit(1);
    size_t sl = ami_fwimg_sig_len(alg), plen = IMG - AMI_FWIMG_HEADER_LEN - sl;
    ami_fwimg_header h = {.alg = alg, .version = {1, 0, 0}, .payload_len = (uint32_t)plen};
    h.id_len = 5;
    memcpy(h.id, "BENCH", 5);
    ami_fwimg_header_encode(&h, c->img);
    for (size_t i = 0; i < plen; i++)
        c->img[AMI_FWIMG_HEADER_LEN + i] = (uint8_t)(i * 13);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    c->der_len = sizeof c->der;
    const EVP_MD *dg = alg == AMI_FWIMG_ECDSA_P256_SHA256 ? EVP_sha256() : EVP_sha384();
    if (EVP_DigestSignInit(md, NULL, dg, NULL, c->pkey) != 1 ||
        EVP_DigestSign(md, c->der, &c->der_len, c->img, AMI_FWIMG_HEADER_LEN + plen) != 1 ||
        ami_fwimg_sig_from_der(alg, c->der, c->der_len, c->img + AMI_FWIMG_HEADER_LEN + plen, sl) !=
            (int)sl)
        exit(1);
    EVP_MD_CTX_free(md);
    c->len = IMG;
}

static uint64_t op_verify(void *p)
{
    ctx *c = p;
    return (uint64_t)ami_fwimg_verify(c->img, c->len, c->pub, c->pub_len, NULL);
}

static uint64_t op_evp(void *p)
{
    ctx *c = p;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    const EVP_MD *dg = c->alg == AMI_FWIMG_ECDSA_P256_SHA256 ? EVP_sha256() : EVP_sha384();
    size_t signed_len = c->len - ami_fwimg_sig_len(c->alg);
    int v = EVP_DigestVerifyInit(md, NULL, dg, NULL, c->pkey) == 1 &&
            EVP_DigestVerify(md, c->der, c->der_len, c->img, signed_len) == 1;
    EVP_MD_CTX_free(md);
    return (uint64_t)v;
}

static void prepare_transfer(ctx *c)
{
    ami_wr w;
    ami_wr_init(&w, c->init, sizeof c->init);
    ami_wr_u8(&w, AMI_AXDR_STRUCTURE);
    ami_wr_u8(&w, 2);
    ami_wr_u8(&w, AMI_AXDR_OCTET_STRING);
    ami_wr_u8(&w, 5);
    ami_wr_bytes(&w, "BENCH", 5);
    ami_wr_u8(&w, AMI_AXDR_DOUBLE_LONG_UNSIGNED);
    ami_wr_u32be(&w, IMG);
    c->init_len = w.len;
    for (uint32_t i = 0; i < IMG / BLOCK; i++) {
        ami_wr_init(&w, c->params[i], sizeof c->params[i]);
        ami_wr_u8(&w, AMI_AXDR_STRUCTURE);
        ami_wr_u8(&w, 2);
        ami_wr_u8(&w, AMI_AXDR_DOUBLE_LONG_UNSIGNED);
        ami_wr_u32be(&w, i);
        ami_wr_u8(&w, AMI_AXDR_OCTET_STRING);
        ami_axdr_put_length(&w, BLOCK);
        ami_wr_bytes(&w, c->img + i * BLOCK, BLOCK);
        c->plen[i] = w.len;
    }
}

static ami_image_transfer xfer;
static ami_cosem_obj obj;
static ami_cosem_store store;

static uint64_t op_transfer(void *p)
{
    ctx *c = p;
    static const ami_dlms_ctx dc = {.client_sap = 17, .mechanism = AMI_ACSE_MECH_LOW};
    ami_cosem_desc d = {AMI_COSEM_IMAGE_TRANSFER, {{0, 0, 44, 0, 0, 255}}, 1};
    uint8_t out[16];
    ami_wr w;
    ami_wr_init(&w, out, sizeof out);
    /* the same image each round resumes (blocks kept): every block is still decoded, checked
     * and copied */
    uint64_t acc =
        ami_cosem_store_ops.action(&store, &d, ami_view_of(c->init, c->init_len), &dc, &w);
    d.id = 2;
    for (uint32_t i = 0; i < IMG / BLOCK; i++)
        acc +=
            ami_cosem_store_ops.action(&store, &d, ami_view_of(c->params[i], c->plen[i]), &dc, &w);
    return acc;
}

static uint64_t op_memcpy(void *p)
{
    ctx *c = p;
    for (uint32_t i = 0; i < IMG / BLOCK; i++)
        memcpy(c->dst + i * BLOCK, c->params[i] + (c->plen[i] - BLOCK), BLOCK);
    return c->dst[IMG - 1];
}

int main(void)
{
    ctx *c = calloc(1, sizeof *c);
    if (!c)
        return 1;
    unsigned ms = bench_ms();
    make(c, AMI_FWIMG_ECDSA_P256_SHA256);
    if (op_verify(c) != AMI_OK || op_evp(c) != 1)
        return 1;
    double base = bench_run(op_evp, c, ms), ours = bench_run(op_verify, c, ms);
    bench_report("ami_fwimg_verify P-256, 64 KiB", ours, "EVP_DigestVerify alone", base, IMG);
    EVP_PKEY_free(c->pkey);
    make(c, AMI_FWIMG_ECDSA_P384_SHA384);
    if (op_verify(c) != AMI_OK || op_evp(c) != 1)
        return 1;
    base = bench_run(op_evp, c, ms);
    ours = bench_run(op_verify, c, ms);
    bench_report("ami_fwimg_verify P-384, 64 KiB", ours, "EVP_DigestVerify alone", base, IMG);

    prepare_transfer(c);
    ami_image_config cfg = {
        .buf = c->buf, .cap = IMG, .block_size = BLOCK, .key = c->pub, .key_len = c->pub_len};
    obj = (ami_cosem_obj){
        .class_id = AMI_COSEM_IMAGE_TRANSFER, .ln = AMI_OBIS(0, 0, 44, 0, 0, 255), .state = &xfer};
    if (ami_image_init(&xfer, &cfg) != AMI_OK || ami_cosem_store_init(&store, &obj, 1, NULL))
        return 1;
    if (op_transfer(c) != 0)
        return 1; /* every action answered success (0) */
    base = bench_run(op_memcpy, c, ms);
    ours = bench_run(op_transfer, c, ms);
    bench_report("class 18 transfer, 256 blocks of 256 B", ours, "memcpy of the blocks", base, IMG);
    EVP_PKEY_free(c->pkey);
    free(c);
    return 0;
}
