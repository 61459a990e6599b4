/*
 * Encrypted P1 decryption speed as a ratio to raw OpenSSL AES-GCM on the same frames.
 *
 *   smarty: ami_p1_smarty_decrypt (frame parse, policy, GCM decrypt + tag check) against a
 *           pre-keyed EVP context doing only IV set, AAD, decrypt, tag check.
 *   evn:    ami_sec_apdu_parse + ami_sec_apdu_decrypt (encryption-only) against EVP
 *           decrypt of the same bytes without a tag; and the whole ami_p1_dlms_readings
 *           (decrypt + data-notification -> readings) against the same baseline.
 *
 * The two sides run in alternating rounds; each figure is the median of the per-round
 * ratios (baseline time / our time, so 1.00 = as fast as raw OpenSSL).
 * Usage: bench_p1crypt [rounds] (default 41 rounds of 4000 frames per side)
 * SPDX-License-Identifier: Apache-2.0
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ami/ami.h"
#include "benchutil.h"

#define ITERS   4000
#define ENC_DIR AMI_TESTDATA "/p1/encrypted/"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct frame {
    const uint8_t *iv_title; /* system title in the frame */
    uint32_t ic;
    uint8_t sc;
    const uint8_t *ct;
    size_t ct_len;
    const uint8_t *tag; /* NULL: encryption-only */
};

/* Raw OpenSSL: the minimum any GCM decryption of this frame must do. */
static int raw_gcm(EVP_CIPHER_CTX *c, const struct frame *f, const uint8_t *ak, uint8_t *out)
{
    uint8_t iv[12];
    memcpy(iv, f->iv_title, 8);
    ami_enc32be(iv + 8, f->ic);
    int outl = 0;
    if (EVP_DecryptInit_ex(c, NULL, NULL, NULL, iv) != 1)
        return -1;
    if (f->tag) {
        if (EVP_DecryptUpdate(c, NULL, &outl, &f->sc, 1) != 1 ||
            EVP_DecryptUpdate(c, NULL, &outl, ak, 16) != 1)
            return -1;
    }
    if (EVP_DecryptUpdate(c, out, &outl, f->ct, (int)f->ct_len) != 1)
        return -1;
    if (f->tag) {
        uint8_t t[12], fin[16];
        memcpy(t, f->tag, 12);
        if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 12, t) != 1 ||
            EVP_DecryptFinal_ex(c, fin, &outl) != 1)
            return -1;
    }
    return 0;
}

static EVP_CIPHER_CTX *raw_ctx(const uint8_t *key)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (!c || EVP_DecryptInit_ex(c, EVP_aes_128_gcm(), NULL, key, NULL) != 1)
        exit(1);
    return c;
}

enum which { SMARTY, EVN_DECRYPT, EVN_READINGS };

static double run_ours(enum which w, ami_sec_ctx *ctx, const uint8_t *frame, size_t len,
                       uint8_t *out)
{
    uint64_t t0 = bench_now_ns();
    for (int i = 0; i < ITERS; i++) {
        int rc;
        size_t out_len, used;
        if (w == SMARTY) {
            rc = ami_p1_smarty_decrypt(ctx, NULL, frame, len, out, 4096, &out_len, &used, NULL);
        } else if (w == EVN_DECRYPT) {
            ami_sec_apdu a;
            rc = ami_sec_apdu_parse(frame, len, &a, &used);
            if (rc == AMI_OK)
                rc = ami_sec_apdu_decrypt(ctx, &a, NULL, out, 4096, &out_len);
        } else {
            static uint8_t arena_buf[AMI_P1_NOTIFY_ARENA];
            ami_arena arena;
            ami_arena_init(&arena, arena_buf, sizeof arena_buf);
            ami_p1_dlms c = {ctx, NULL, out, 4096, &arena};
            ami_reading rd[32];
            ami_p1_notification info;
            rc = ami_p1_dlms_readings(&c, frame, len, rd, 32, &info, NULL);
        }
        if (rc) {
            fprintf(stderr, "bench: decrypt failed: %s\n", ami_strerror(rc));
            exit(1);
        }
    }
    return (double)(bench_now_ns() - t0);
}

static double run_raw(EVP_CIPHER_CTX *c, const struct frame *f, const uint8_t *ak, uint8_t *out)
{
    uint64_t t0 = bench_now_ns();
    for (int i = 0; i < ITERS; i++)
        if (raw_gcm(c, f, ak, out)) {
            fprintf(stderr, "bench: raw OpenSSL decrypt failed\n");
            exit(1);
        }
    return (double)(bench_now_ns() - t0);
}

static void measure(const char *label, enum which w, ami_sec_ctx *ctx, EVP_CIPHER_CTX *raw,
                    const struct frame *f, const uint8_t *frame, size_t len, int rounds)
{
    static uint8_t out[4096];
    double ratios[64], ours_ns = 0, raw_ns = 0;
    for (int r = 0; r < rounds; r++) {
        double b = run_raw(raw, f, ami_p1_smarty_default_ak, out);
        double o = run_ours(w, ctx, frame, len, out);
        ratios[r] = b / o;
        raw_ns += b;
        ours_ns += o;
    }
    qsort(ratios, (size_t)rounds, sizeof(double), cmp_double);
    printf("%-34s %5zu B  raw %7.0f ns/frame  ours %7.0f ns/frame  ratio %.2f\n", label, len,
           raw_ns / rounds / ITERS, ours_ns / rounds / ITERS, ratios[rounds / 2]);
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 41;
    if (rounds < 1 || rounds > 64)
        rounds = 41;
    size_t slen, elen;
    uint8_t *smarty = bench_read_file(ENC_DIR "luxembourg_smarty_gcm_openhab.bin", &slen);
    uint8_t *evn_bin = bench_read_file(ENC_DIR "austria_evn_netznoe_kaifa_mbus_dlms.bin", &elen);
    static const uint8_t smarty_key[16] = {0xD4, 0x91, 0x47, 0x0F, 0x47, 0x12, 0x63, 0x32,
                                           0xB0, 0x7D, 0x19, 0x23, 0xB3, 0x50, 0x41, 0x88};
    static const uint8_t evn_key[16] = {0x36, 0xC6, 0x66, 0x39, 0xE4, 0x8A, 0x8C, 0xA4,
                                        0xD6, 0xBC, 0x8B, 0x28, 0x2A, 0x79, 0x3B, 0xBB};

    /* Reassemble the EVN APDU once (M-Bus framing is not part of the decryption figure). */
    static uint8_t seg[1024], evn[1024];
    ami_mbus_dlms r;
    ami_mbus_dlms_init(&r, seg, sizeof seg);
    size_t pos = 0, evn_len = 0;
    while (pos < elen) {
        ami_mbus_frame f;
        size_t used;
        const uint8_t *apdu;
        if (ami_mbus_frame_decode(evn_bin + pos, elen - pos, &f, &used))
            return 1;
        pos += used;
        if (ami_mbus_dlms_push(&r, &f, &apdu, &evn_len) == AMI_OK)
            memcpy(evn, apdu, evn_len);
    }

    ami_sec_ctx sctx, ectx;
    ami_sec_ctx_init(&sctx);
    ami_sec_ctx_set_ek(&sctx, smarty_key, 16);
    ami_sec_ctx_set_ak(&sctx, ami_p1_smarty_default_ak, 16);
    ami_sec_ctx_init(&ectx);
    ami_sec_ctx_set_ek(&ectx, evn_key, 16);
    ectx.accept |= AMI_SEC_ACCEPT_ENC;

    ami_sec_apdu a;
    struct frame fs, fe;
    if (ami_sec_apdu_parse(smarty, slen, &a, NULL))
        return 1;
    fs = (struct frame){a.system_title, a.ic, a.sc, a.payload, a.payload_len, a.auth_tag};
    if (ami_sec_apdu_parse(evn, evn_len, &a, NULL))
        return 1;
    fe = (struct frame){a.system_title, a.ic, a.sc, a.payload, a.payload_len, NULL};

    EVP_CIPHER_CTX *rs = raw_ctx(smarty_key), *re = raw_ctx(evn_key);
    printf("bench_p1crypt: %d rounds x %d frames; ratio = raw OpenSSL time / our time\n", rounds,
           ITERS);
    measure("smarty (auth+enc, parse+decrypt)", SMARTY, &sctx, rs, &fs, smarty, slen, rounds);
    measure("evn (enc-only, parse+decrypt)", EVN_DECRYPT, &ectx, re, &fe, evn, evn_len, rounds);
    measure("evn (decrypt + readings)", EVN_READINGS, &ectx, re, &fe, evn, evn_len, rounds);
    EVP_CIPHER_CTX_free(rs);
    EVP_CIPHER_CTX_free(re);
    ami_sec_ctx_wipe(&sctx);
    ami_sec_ctx_wipe(&ectx);
    free(smarty);
    free(evn_bin);
    return 0;
}
