/*
 * HDLC and wrapper throughput, each as a ratio against memcpy and CRC-16/X.25 of the same bytes
 * measured in the same run:
 *   - frame decode (both CRCs + header) of a 134-byte segment and of a 579-byte UI frame;
 *   - frame encode of the same frames;
 *   - streaming deframer over a recorded Gurux session fed in 256-byte reads;
 *   - wrapper TCP reassembly over a recorded session fed in 1460-byte reads.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ami/ami.h"
#include "benchutil.h"

typedef struct ctx {
    const uint8_t *in;
    size_t len;
    uint8_t *out;
    size_t cap;
    ami_hdlc_frame frame;
} ctx;

static uint64_t op_memcpy(void *p)
{
    ctx *c = p;
    memcpy(c->out, c->in, c->len);
    return c->out[c->len / 2];
}

static uint64_t op_crc(void *p)
{
    ctx *c = p;
    return ami_crc16_x25(c->in, c->len);
}

static uint64_t op_decode(void *p)
{
    ctx *c = p;
    ami_hdlc_frame f;
    return (uint64_t)ami_hdlc_frame_decode(c->in, c->len, 0, &f) + f.info_len;
}

static uint64_t op_encode(void *p)
{
    ctx *c = p;
    ami_wr w;
    ami_wr_init(&w, c->out, c->cap);
    return (uint64_t)ami_hdlc_frame_encode(&w, &c->frame) + w.len;
}

static uint64_t op_deframe(void *p)
{
    ctx *c = p;
    static ami_hdlc_deframer d;
    ami_hdlc_deframer_init(&d, 0);
    uint64_t frames = 0;
    size_t pos = 0;
    while (pos < c->len) {
        size_t n = c->len - pos < 256 ? c->len - pos : 256, used;
        ami_hdlc_frame f;
        int rc = ami_hdlc_deframer_next(&d, c->in + pos, n, &used, &f);
        pos += used;
        frames += rc == AMI_OK;
    }
    ami_hdlc_frame f;
    size_t used;
    while (ami_hdlc_deframer_next(&d, NULL, 0, &used, &f) == AMI_OK)
        frames++;
    return frames;
}

static uint64_t op_wrapper(void *p)
{
    ctx *c = p;
    ami_wrapper_stream s;
    ami_wrapper_stream_init(&s, c->out, c->cap);
    uint64_t msgs = 0;
    size_t pos = 0;
    while (pos < c->len) {
        size_t n = c->len - pos < 1460 ? c->len - pos : 1460, off = 0;
        for (;;) {
            size_t used;
            ami_wrapper_msg m;
            int rc = ami_wrapper_stream_next(&s, c->in + pos + off, n - off, &used, &m);
            off += used;
            if (rc != AMI_OK)
                break;
            msgs++;
        }
        pos += n;
    }
    return msgs;
}

/* Concatenates the hex records ("7E.." lines, or TX/RX lines) of a test data file. */
static size_t load(const char *file, uint8_t *buf, size_t cap, int only_line)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", AMI_TESTDATA, file);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "bench_hdlc: cannot open %s\n", path);
        exit(1);
    }
    static char line[65536];
    size_t n = 0;
    int idx = 0;
    while (fgets(line, sizeof line, f)) {
        char *h = line;
        if (!strncmp(line, "TX ", 3) || !strncmp(line, "RX ", 3))
            h = line + 3;
        else if (strncmp(line, "7E", 2) != 0 && strncmp(line, "00", 2) != 0)
            continue;
        size_t l = strcspn(h, "#;\n");
        if (only_line >= 0 && idx++ != only_line)
            continue;
        int m = ami_hex_decode(h, l, buf + n, cap - n);
        if (m < 0) {
            fprintf(stderr, "bench_hdlc: bad hex in %s\n", path);
            exit(1);
        }
        n += (size_t)m;
    }
    fclose(f);
    return n;
}

static void frame_figures(const char *label, const uint8_t *frame, size_t len)
{
    static uint8_t out[70000];
    ctx c = {.in = frame, .len = len, .out = out, .cap = sizeof out};
    if (ami_hdlc_frame_decode(frame, len, 0, &c.frame) != (int)len) {
        fprintf(stderr, "bench_hdlc: %s does not decode\n", label);
        exit(1);
    }
    unsigned ms = bench_ms();
    double base = bench_run(op_memcpy, &c, ms);
    double crc = bench_run(op_crc, &c, ms);
    double dec = bench_run(op_decode, &c, ms);
    double enc = bench_run(op_encode, &c, ms);
    char name[128];
    bench_report("crc-16/x.25 (baseline 2)", crc, "memcpy", base, len);
    snprintf(name, sizeof name, "hdlc decode %s", label);
    bench_report(name, dec, "memcpy", base, len);
    bench_report(name, dec, "crc-16/x.25", crc, len);
    snprintf(name, sizeof name, "hdlc encode %s", label);
    bench_report(name, enc, "memcpy", base, len);
    bench_report(name, enc, "crc-16/x.25", crc, len);
}

int main(void)
{
    static uint8_t frames[8192], stream[1 << 20], out[1 << 20];
    /* Line 14 of hdlc_frames.txt: the 579-byte UI frame; a 134-byte Gurux segment. */
    size_t n = load("dlms/hdlc_frames.txt", frames, sizeof frames, 14);
    static uint8_t seg[4096];
    size_t sn = load("dlms/session_gurux_hdlc_ln_noauth_get_clock.txt", seg, sizeof seg, 5);
    frame_figures("134-byte I-frame", seg, sn);
    frame_figures("581-byte UI frame", frames, n);

    size_t len =
        load("dlms/session_gurux_hdlc_ln_read_profile_generic.txt", stream, sizeof stream, -1);
    ctx c = {.in = stream, .len = len, .out = out, .cap = sizeof out};
    unsigned ms = bench_ms();
    double base = bench_run(op_memcpy, &c, ms);
    double crc = bench_run(op_crc, &c, ms);
    double d = bench_run(op_deframe, &c, ms);
    bench_report("hdlc deframer, session in 256-byte reads", d, "memcpy", base, len);
    bench_report("hdlc deframer, session in 256-byte reads", d, "crc-16/x.25", crc, len);

    len = load("dlms/session_gurux_wrapper_ln_read_all_incl_selective_access.txt", stream,
               sizeof stream, -1);
    c = (ctx){.in = stream, .len = len, .out = out, .cap = 65536 + 8};
    base = bench_run(op_memcpy, &c, ms);
    double w = bench_run(op_wrapper, &c, ms);
    bench_report("wrapper reassembly, session in 1460-byte reads", w, "memcpy", base, len);
    return 0;
}
