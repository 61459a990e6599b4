/*
 * Fuzz target: the signed firmware image (ami/fwimage.h) and the Image transfer object that
 * receives it (ami/cosem_image.h). Properties: a header that decodes encodes back to the same
 * 52 bytes; verification under a fixed P-256 key answers only the documented codes and accepts
 * only an image of exactly the declared length; the same bytes moved through a class 18 object
 * in blocks (the last one first) verify to the same verdict; version text parses and formats
 * back to an equal version.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "ami/ami.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Public key of the seeds' signer (the private key is not kept: seeds were signed once). */
static const uint8_t key[65] = {0x04, 0x19, 0x08, 0x76, 0x12, 0xc9, 0x1a, 0x72, 0xd0, 0x67, 0x35,
                                0x03, 0x7c, 0xb2, 0x48, 0x10, 0x4d, 0x50, 0xc0, 0x17, 0x8e, 0xcb,
                                0x48, 0xee, 0x87, 0x38, 0x6b, 0x99, 0x43, 0x2e, 0xac, 0xbe, 0xe4,
                                0xaf, 0x60, 0xe2, 0x67, 0x39, 0x66, 0x40, 0xc7, 0x1f, 0xcd, 0x53,
                                0xba, 0x2f, 0x93, 0xfd, 0x6b, 0x65, 0x86, 0xd9, 0x56, 0x8a, 0x00,
                                0xb3, 0x52, 0x44, 0x24, 0xd7, 0xbe, 0x42, 0x12, 0xec, 0x84};

#define CAP   8192
#define BLOCK 64

static uint8_t act(ami_cosem_store *s, uint8_t id, const uint8_t *p, size_t n)
{
    ami_cosem_desc d = {AMI_COSEM_IMAGE_TRANSFER, {{0, 0, 44, 0, 0, 255}}, (int8_t)id};
    ami_dlms_ctx ctx = {.client_sap = 17, .mechanism = AMI_ACSE_MECH_LOW};
    uint8_t out[64];
    ami_wr w;
    ami_wr_init(&w, out, sizeof out);
    return ami_cosem_store_ops.action(s, &d, ami_view_of(p, n), &ctx, &w);
}

/* Moves the image through a class 18 object; returns the image_verify action-result. */
static uint8_t through_object(const uint8_t *data, size_t size)
{
    static uint8_t buf[CAP], params[BLOCK + 16];
    static ami_image_transfer t;
    ami_image_config cfg = {.buf = buf,
                            .cap = CAP,
                            .block_size = BLOCK,
                            .key = key,
                            .key_len = sizeof key,
                            .running = {0, 0, 1}};
    if (ami_image_init(&t, &cfg) != AMI_OK)
        abort();
    ami_cosem_obj o = {
        .class_id = AMI_COSEM_IMAGE_TRANSFER, .ln = AMI_OBIS(0, 0, 44, 0, 0, 255), .state = &t};
    ami_cosem_store s;
    if (ami_cosem_store_init(&s, &o, 1, NULL) != AMI_OK)
        abort();
    ami_wr w;
    ami_wr_init(&w, params, sizeof params);
    ami_wr_u8(&w, AMI_AXDR_STRUCTURE);
    ami_wr_u8(&w, 2);
    ami_wr_u8(&w, AMI_AXDR_OCTET_STRING);
    ami_wr_u8(&w, 1);
    ami_wr_u8(&w, 'F');
    ami_wr_u8(&w, AMI_AXDR_DOUBLE_LONG_UNSIGNED);
    ami_wr_u32be(&w, (uint32_t)size);
    if (act(&s, 1, params, w.len) != AMI_ACTION_SUCCESS)
        abort();
    size_t nb = (size + BLOCK - 1) / BLOCK;
    for (size_t k = 0; k < nb; k++) {
        size_t i = (k + nb - 1) % nb, off = i * BLOCK;
        size_t n = size - off < BLOCK ? size - off : BLOCK;
        ami_wr_init(&w, params, sizeof params);
        ami_wr_u8(&w, AMI_AXDR_STRUCTURE);
        ami_wr_u8(&w, 2);
        ami_wr_u8(&w, AMI_AXDR_DOUBLE_LONG_UNSIGNED);
        ami_wr_u32be(&w, (uint32_t)i);
        ami_wr_u8(&w, AMI_AXDR_OCTET_STRING);
        ami_axdr_put_length(&w, n);
        ami_wr_bytes(&w, data + off, n);
        if (ami_wr_error(&w) || act(&s, 2, params, w.len) != AMI_ACTION_SUCCESS)
            abort();
    }
    static const uint8_t zero[] = {AMI_AXDR_INTEGER, 0};
    uint8_t r = act(&s, 3, zero, sizeof zero);
    if ((r == AMI_ACTION_SUCCESS) != (ami_image_status(&t) == AMI_IMAGE_VERIFY_OK))
        abort();
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ami_fwimg_header h;
    int rc = ami_fwimg_header_decode(data, size, &h);
    if (rc == AMI_OK) {
        uint8_t back[AMI_FWIMG_HEADER_LEN];
        if (ami_fwimg_header_encode(&h, back) != AMI_OK || memcmp(back, data, sizeof back) != 0)
            abort();
    } else if (rc != AMI_E_TRUNCATED && rc != AMI_E_MALFORMED && rc != AMI_E_UNSUPPORTED) {
        abort();
    }
    rc = ami_fwimg_verify(data, size, key, sizeof key, &h);
    switch (rc) {
    case AMI_OK:
        if (ami_fwimg_total_len(&h) != size)
            abort();
        break;
    case AMI_E_TRUNCATED:
    case AMI_E_MALFORMED:
    case AMI_E_UNSUPPORTED:
    case AMI_E_KEY:
    case AMI_E_AUTH:
        break;
    default:
        abort();
    }
    if (size > 0 && size <= CAP) {
        uint8_t r = through_object(data, size);
        /* The object accepts exactly what verifies and is newer than 0.0.1: no identifier is
         * configured, so only the version can add a refusal. */
        ami_fwimg_version v001 = {0, 0, 1};
        bool newer = rc == AMI_OK && ami_fwimg_version_cmp(&h.version, &v001) > 0;
        if ((r == AMI_ACTION_SUCCESS) != newer)
            abort();
    }
    ami_fwimg_version v;
    size_t tl = size < 24 ? size : 24;
    if (ami_fwimg_version_parse((const char *)data, tl, &v) == AMI_OK) {
        char s[AMI_FWIMG_VERSION_STRLEN];
        ami_fwimg_version back;
        int n = ami_fwimg_version_format(&v, s, sizeof s);
        if (n <= 0 || ami_fwimg_version_parse(s, (size_t)n, &back) != AMI_OK ||
            ami_fwimg_version_cmp(&v, &back) != 0)
            abort();
    }
    return 0;
}
