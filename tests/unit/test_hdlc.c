/*
 * HDLC (IEC 62056-46): frame codec over every frame of ../shared/testdata/dlms (decode, and
 * re-encode byte for byte), addresses, negotiation parameters, the streaming deframer (split
 * input, 0x7E inside the FCS, shared flags, garbage and corruption), describe functions.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "hdlc_testlib.h"
#include "ami/ami.h"

/*
 * Decodes one frame from a guard-page copy and re-encodes it; returns the decode. With
 * prefixes, every prefix is also decoded against the guard page (slow under ASan: used for the
 * frames of hdlc_frames.txt, not for every session frame).
 */
static bool check_prefixes = true;

static ami_hdlc_frame decode_reencode(const uint8_t *bytes, size_t n)
{
    uint8_t *g = tu_guard_copy(bytes, n);
    ami_hdlc_frame f;
    int rc = ami_hdlc_frame_decode(g, n, 0, &f);
    assert_int_equal(rc, (int)n);
    /* Every prefix is TRUNCATED, never an over-read (the guard page would fault). */
    for (size_t k = 0; check_prefixes && k < n; k++) {
        uint8_t *gk = tu_guard_copy(bytes, k);
        ami_hdlc_frame t;
        int r = ami_hdlc_frame_decode(gk, k, 0, &t);
        assert_int_equal(r, AMI_E_TRUNCATED);
        tu_guard_free(gk, k);
    }
    uint8_t out[AMI_HDLC_MAX_FRAME_BYTES];
    ami_wr w;
    ami_wr_init(&w, out, sizeof out);
    assert_int_equal(ami_hdlc_frame_encode(&w, &f), AMI_OK);
    assert_int_equal(w.len, n);
    assert_memory_equal(out, bytes, n);
    /* Views point into the guard copy: copy the info out before freeing it. */
    static uint8_t info[AMI_HDLC_MAX_FRAME_BYTES];
    if (f.info_len)
        memcpy(info, f.info, f.info_len);
    f.info = f.info_len ? info : NULL;
    tu_guard_free(g, n);
    return f;
}

static void test_frames_file(void **state)
{
    (void)state;
    size_t count = 0;
    hdlc_record *r = hdlc_load(tu_testdata("dlms/hdlc_frames.txt"), &count);
    assert_int_equal(count, 15);
    for (size_t i = 0; i < count; i++)
        (void)decode_reencode(r[i].bytes, r[i].len);

    /* SNRM client 16 -> server (1, 17) with a 2-byte server address, no information field. */
    ami_hdlc_frame f = decode_reencode(r[0].bytes, r[0].len);
    assert_int_equal(f.type, AMI_HDLC_SNRM);
    assert_true(f.pf);
    assert_int_equal(f.dest.size, 2);
    assert_int_equal(f.dest.upper, 1);
    assert_int_equal(f.dest.lower, 17);
    assert_int_equal(f.src.size, 1);
    assert_int_equal(f.src.upper, 16);
    assert_false(f.has_hcs);
    assert_int_equal(f.info_len, 0);

    /* UA with parameters: max info 0x9A both ways, windows 1. */
    f = decode_reencode(r[1].bytes, r[1].len);
    assert_int_equal(f.type, AMI_HDLC_UA);
    ami_hdlc_params p;
    assert_int_equal(ami_hdlc_params_decode(f.info, f.info_len, &p), AMI_OK);
    assert_int_equal(p.max_info_tx, 0x9A);
    assert_int_equal(p.max_info_rx, 0x9A);
    assert_int_equal(p.window_tx, 1);
    assert_int_equal(p.window_rx, 1);

    /* I-frame AARQ: N(S)=0 N(R)=0 P, request LLC header. */
    f = decode_reencode(r[2].bytes, r[2].len);
    assert_int_equal(f.type, AMI_HDLC_I);
    assert_int_equal(f.ns, 0);
    assert_int_equal(f.nr, 0);
    assert_true(f.pf);
    assert_memory_equal(f.info, ami_hdlc_llc_request, 3);
    assert_int_equal(f.info[3], 0x60); /* AARQ */

    /* AARE: N(S)=0 N(R)=1 F, response LLC. */
    f = decode_reencode(r[3].bytes, r[3].len);
    assert_int_equal(f.ns, 0);
    assert_int_equal(f.nr, 1);
    assert_memory_equal(f.info, ami_hdlc_llc_response, 3);

    /* 4-byte source address (1, 17). */
    f = decode_reencode(r[4].bytes, r[4].len);
    assert_int_equal(f.src.size, 4);
    assert_int_equal(f.src.upper, 1);
    assert_int_equal(f.src.lower, 17);
    assert_int_equal(f.dest.upper, 1);

    /* 4-byte server address 1/3875 (huebrick) and the response whose FCS is 7E 8C. */
    f = decode_reencode(r[7].bytes, r[7].len);
    assert_int_equal(f.dest.size, 4);
    assert_int_equal(f.dest.upper, 1);
    assert_int_equal(f.dest.lower, 3875);
    assert_int_equal(f.ns, 1);
    assert_int_equal(f.nr, 1);
    assert_int_equal(r[8].bytes[r[8].len - 3], 0x7E);
    f = decode_reencode(r[8].bytes, r[8].len);
    assert_int_equal(f.type, AMI_HDLC_I);
    assert_int_equal(f.src.lower, 3875);

    /* RR to physical address 5481, client 48, N(R)=2. */
    f = decode_reencode(r[13].bytes, r[13].len);
    assert_int_equal(f.type, AMI_HDLC_RR);
    assert_int_equal(f.nr, 2);
    assert_int_equal(f.dest.lower, 5481);
    assert_int_equal(f.src.upper, 48);

    /* 579-byte UI frame: the 11-bit length 0x243. */
    f = decode_reencode(r[14].bytes, r[14].len);
    assert_int_equal(f.type, AMI_HDLC_UI);
    assert_int_equal(f.length, 0x243);
    assert_int_equal(r[14].len, 0x243 + 2);
    assert_int_equal(f.info[3], 0x0F); /* data-notification */
    hdlc_free(r, count);
}

/* Lines of hdlc_fcs_vectors.txt that hold a whole frame body: wrap them in flags and decode. */
static void test_fcs_vectors_as_frames(void **state)
{
    (void)state;
    size_t len;
    char *text = (char *)tu_read_file(tu_testdata("dlms/hdlc_fcs_vectors.txt"), &len);
    int frames = 0;
    for (char *line = text, *eol; line && *line; line = eol ? eol + 1 : NULL) {
        eol = strchr(line, '\n');
        if (eol)
            *eol = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        uint8_t buf[600];
        char *sp = strrchr(line, ' ');
        assert_non_null(sp);
        int n = ami_hex_decode(line, (size_t)(sp - line), buf + 1, sizeof buf - 4);
        assert_true(n > 0);
        int m = ami_hex_decode(sp + 1, strlen(sp + 1), buf + 1 + n, 2);
        assert_int_equal(m, 2);
        if ((buf[1] & 0xF0) != 0xA0 || (size_t)((buf[1] & 7) << 8 | buf[2]) != (size_t)n + 2)
            continue; /* an HCS vector, not a frame body */
        buf[0] = 0x7E;
        buf[n + 3] = 0x7E;
        (void)decode_reencode(buf, (size_t)n + 4);
        frames++;
    }
    assert_int_equal(frames, 11);
    free(text);
}

static void test_control_values(void **state)
{
    (void)state;
    /* IEC 62056-46 6.4.3 control field encodings (with P/F set). */
    assert_int_equal(ami_hdlc_control(AMI_HDLC_SNRM, 0, 0, true), 0x93);
    assert_int_equal(ami_hdlc_control(AMI_HDLC_DISC, 0, 0, true), 0x53);
    assert_int_equal(ami_hdlc_control(AMI_HDLC_UA, 0, 0, true), 0x73);
    assert_int_equal(ami_hdlc_control(AMI_HDLC_DM, 0, 0, true), 0x1F);
    assert_int_equal(ami_hdlc_control(AMI_HDLC_FRMR, 0, 0, true), 0x97);
    assert_int_equal(ami_hdlc_control(AMI_HDLC_UI, 0, 0, false), 0x03);
    assert_int_equal(ami_hdlc_control(AMI_HDLC_UI, 0, 0, true), 0x13);
    assert_int_equal(ami_hdlc_control(AMI_HDLC_RR, 0, 2, true), 0x51);
    assert_int_equal(ami_hdlc_control(AMI_HDLC_RNR, 0, 2, true), 0x55);
    assert_int_equal(ami_hdlc_control(AMI_HDLC_I, 1, 1, true), 0x32);
    assert_int_equal(ami_hdlc_control(AMI_HDLC_I, 2, 5, true), 0xB4);
    assert_int_equal(ami_hdlc_control(AMI_HDLC_UNKNOWN, 0, 0, true), -1);
    /* Every control byte decodes to something and re-encodes when known. */
    for (int c = 0; c < 256; c++) {
        uint8_t fr[16];
        ami_hdlc_frame f = {.control = (uint8_t)c};
        ami_hdlc_client_addr(&f.dest, 1);
        ami_hdlc_client_addr(&f.src, 16);
        ami_wr w;
        ami_wr_init(&w, fr, sizeof fr);
        assert_int_equal(ami_hdlc_frame_encode(&w, &f), AMI_OK);
        ami_hdlc_frame g;
        assert_int_equal(ami_hdlc_frame_decode(fr, w.len, 0, &g), (int)w.len);
        if (g.type != AMI_HDLC_UNKNOWN)
            assert_int_equal(ami_hdlc_control(g.type, g.ns, g.nr, g.pf), c);
    }
}

static void test_addresses(void **state)
{
    (void)state;
    ami_hdlc_addr a;
    uint8_t b[8];
    ami_wr w;
    assert_int_equal(ami_hdlc_server_addr(&a, 1, 17, 2), AMI_OK);
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_hdlc_addr_encode(&w, &a), AMI_OK);
    assert_int_equal(w.len, 2);
    assert_int_equal(b[0], 0x02);
    assert_int_equal(b[1], 0x23);
    assert_int_equal(ami_hdlc_server_addr(&a, 1, 3875, 4), AMI_OK);
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_hdlc_addr_encode(&w, &a), AMI_OK);
    assert_int_equal(w.len, 4);
    assert_memory_equal(b, "\x00\x02\x3C\x47", 4);
    assert_int_equal(ami_hdlc_server_addr(&a, 1, 0, 1), AMI_OK);
    ami_wr_init(&w, b, sizeof b);
    ami_hdlc_addr_encode(&w, &a);
    assert_int_equal(b[0], 0x03);
    assert_int_equal(ami_hdlc_server_addr(&a, 1, 1, 1), AMI_E_RANGE);
    assert_int_equal(ami_hdlc_server_addr(&a, 0x80, 1, 2), AMI_E_RANGE);
    assert_int_equal(ami_hdlc_server_addr(&a, 0x3FFF, 0x3FFF, 4), AMI_OK);
    assert_int_equal(ami_hdlc_server_addr(&a, 0x4000, 1, 4), AMI_E_RANGE);
    assert_int_equal(ami_hdlc_server_addr(&a, 1, 1, 3), AMI_E_INVAL);
    assert_int_equal(ami_hdlc_client_addr(&a, 0x80), AMI_E_RANGE);
    /* Decoding: 3-byte and 5-byte addresses are malformed; a cut one is truncated. */
    ami_rd r;
    ami_rd_init(&r, "\x00\x02\x03", 3);
    assert_int_equal(ami_hdlc_addr_decode(&r, &a), AMI_E_MALFORMED);
    ami_rd_init(&r, "\x00\x02\x04\x06\x07", 5);
    assert_int_equal(ami_hdlc_addr_decode(&r, &a), AMI_E_MALFORMED);
    ami_rd_init(&r, "\x00\x02", 2);
    assert_int_equal(ami_hdlc_addr_decode(&r, &a), AMI_E_TRUNCATED);
    /* Round trip of every 14-bit pair corner. */
    const uint16_t v[] = {0, 1, 0x7F, 0x80, 0x1234, 0x3FFF};
    for (size_t i = 0; i < AMI_COUNTOF(v); i++)
        for (size_t j = 0; j < AMI_COUNTOF(v); j++) {
            ami_hdlc_addr x, y;
            assert_int_equal(ami_hdlc_server_addr(&x, v[i], v[j], 4), AMI_OK);
            ami_wr_init(&w, b, sizeof b);
            ami_hdlc_addr_encode(&w, &x);
            ami_rd_init(&r, b, w.len);
            assert_int_equal(ami_hdlc_addr_decode(&r, &y), AMI_OK);
            assert_true(ami_hdlc_addr_equal(&x, &y));
        }
}

static void test_params(void **state)
{
    (void)state;
    ami_hdlc_params p;
    assert_int_equal(ami_hdlc_params_decode(NULL, 0, &p), AMI_OK);
    assert_int_equal(p.max_info_tx, 128);
    assert_int_equal(p.window_rx, 1);
    /* Kamstrup UA: 2-byte info lengths 0x74. */
    const uint8_t k[] = {0x81, 0x80, 0x14, 0x05, 0x02, 0x00, 0x74, 0x06, 0x02, 0x00, 0x74, 0x07,
                         0x04, 0,    0,    0,    1,    0x08, 0x04, 0,    0,    0,    1};
    assert_int_equal(ami_hdlc_params_decode(k, sizeof k, &p), AMI_OK);
    assert_int_equal(p.max_info_tx, 0x74);
    assert_int_equal(p.max_info_rx, 0x74);
    /* Our encoding of the defaults is the Gurux/Green Book layout (UA of the Gurux server). */
    uint8_t b[32];
    ami_wr w;
    ami_wr_init(&w, b, sizeof b);
    ami_hdlc_params_default(&p);
    ami_hdlc_params_encode(&w, &p);
    size_t n;
    uint8_t *want = tu_hex("818012050180060180070400000001080400000001", &n);
    assert_int_equal(w.len, n);
    assert_memory_equal(b, want, n);
    free(want);
    /* Large values: 2-byte lengths, windows clamped to 7, lengths to the frame limit. */
    p = (ami_hdlc_params){.max_info_tx = 1000, .max_info_rx = 300, .window_tx = 7, .window_rx = 3};
    ami_wr_init(&w, b, sizeof b);
    ami_hdlc_params_encode(&w, &p);
    ami_hdlc_params q;
    assert_int_equal(ami_hdlc_params_decode(b, w.len, &q), AMI_OK);
    assert_memory_equal(&p, &q, sizeof p);
    const uint8_t big[] = {0x81, 0x80, 0x0A, 0x05, 0x02, 0xFF, 0xFF, 0x07, 0x04, 0, 0, 0, 9};
    assert_int_equal(ami_hdlc_params_decode(big, sizeof big, &q), AMI_OK);
    assert_int_equal(q.max_info_tx, AMI_HDLC_MAX_INFO);
    assert_int_equal(q.window_tx, 7);
    /* Errors. */
    const uint8_t badfid[] = {0x82, 0x80, 0x00};
    assert_int_equal(ami_hdlc_params_decode(badfid, 3, &q), AMI_E_MALFORMED);
    const uint8_t longer[] = {0x81, 0x80, 0x05, 0x05, 0x01, 0x80};
    assert_int_equal(ami_hdlc_params_decode(longer, sizeof longer, &q), AMI_E_TRUNCATED);
    const uint8_t cut[] = {0x81, 0x80, 0x03, 0x05, 0x02, 0x80};
    assert_int_equal(ami_hdlc_params_decode(cut, sizeof cut, &q), AMI_E_TRUNCATED);
    const uint8_t zero[] = {0x81, 0x80, 0x03, 0x07, 0x01, 0x00};
    assert_int_equal(ami_hdlc_params_decode(zero, sizeof zero, &q), AMI_E_RANGE);
    const uint8_t wide[] = {0x81, 0x80, 0x07, 0x05, 0x05, 0, 0, 0, 0, 1};
    assert_int_equal(ami_hdlc_params_decode(wide, sizeof wide, &q), AMI_E_MALFORMED);
    const uint8_t unknown[] = {0x81, 0x80, 0x06, 0x09, 0x01, 0x00, 0x05, 0x01, 0x40};
    assert_int_equal(ami_hdlc_params_decode(unknown, sizeof unknown, &q), AMI_OK);
    assert_int_equal(q.max_info_tx, 0x40);
}

static void test_decode_errors(void **state)
{
    (void)state;
    size_t n;
    uint8_t *ok = tu_hex("7EA00721037301407E", &n); /* UA, no info */
    ami_hdlc_frame f;
    assert_int_equal(ami_hdlc_frame_decode(ok, n, 0, &f), 9);
    assert_int_equal(f.type, AMI_HDLC_UA);
    uint8_t b[16];
    memcpy(b, ok, n);
    b[0] = 0x00;
    assert_int_equal(ami_hdlc_frame_decode(b, n, 0, &f), AMI_E_MALFORMED);
    memcpy(b, ok, n);
    b[1] = 0xB0; /* not format type 3 */
    assert_int_equal(ami_hdlc_frame_decode(b, n, 0, &f), AMI_E_MALFORMED);
    memcpy(b, ok, n);
    b[2] = 0x05; /* below the minimal length */
    assert_int_equal(ami_hdlc_frame_decode(b, n, 0, &f), AMI_E_MALFORMED);
    memcpy(b, ok, n);
    b[5] ^= 0x01; /* FCS */
    assert_int_equal(ami_hdlc_frame_decode(b, n, 0, &f), AMI_E_CHECKSUM);
    memcpy(b, ok, n);
    b[8] = 0x00; /* no closing flag */
    assert_int_equal(ami_hdlc_frame_decode(b, n, 0, &f), AMI_E_MALFORMED);
    assert_int_equal(ami_hdlc_frame_decode(b, n, AMI_HDLC_LENIENT_NO_CLOSING_FLAG, &f), 8);
    assert_int_equal(ami_hdlc_frame_decode(ok, n - 1, AMI_HDLC_LENIENT_NO_CLOSING_FLAG, &f), 8);
    assert_int_equal(ami_hdlc_frame_decode(ok, n - 1, 0, &f), AMI_E_TRUNCATED);
    free(ok);
    /* Bad HCS with a good FCS over it. */
    uint8_t *i = tu_hex("7EA0190321326FD8E6E600C001C1000F0000280000FF020091537E", &n);
    memcpy(b, i, 8);
    i[6] ^= 0xFF;
    uint16_t fcs = ami_crc16_x25(i + 1, n - 4);
    i[n - 3] = (uint8_t)fcs;
    i[n - 2] = (uint8_t)(fcs >> 8);
    assert_int_equal(ami_hdlc_frame_decode(i, n, 0, &f), AMI_E_CHECKSUM);
    free(i);
    /* A frame whose 1-byte remainder after the control cannot hold an HCS. */
    uint8_t odd[] = {0x7E, 0xA0, 0x08, 0x03, 0x21, 0x13, 0x55, 0, 0, 0x7E};
    uint16_t c = ami_crc16_x25(odd + 1, 6);
    odd[7] = (uint8_t)c;
    odd[8] = (uint8_t)(c >> 8);
    assert_int_equal(ami_hdlc_frame_decode(odd, sizeof odd, 0, &f), AMI_E_MALFORMED);
    /* Encoding limits. */
    /* 2037 info bytes: 2046 with 1-byte addresses, 2049 with a 4-byte one (limit 2047). */
    static uint8_t big[2037];
    ami_hdlc_frame e = {.control = 0x13, .info = big, .info_len = sizeof big};
    ami_hdlc_client_addr(&e.dest, 1);
    ami_hdlc_client_addr(&e.src, 16);
    static uint8_t out[AMI_HDLC_MAX_FRAME_BYTES + 8];
    ami_wr w;
    ami_wr_init(&w, out, sizeof out);
    assert_int_equal(ami_hdlc_frame_encode(&w, &e), AMI_OK); /* 1-byte addresses: fits */
    assert_int_equal(ami_hdlc_server_addr(&e.dest, 1, 1, 4), AMI_OK);
    ami_wr_init(&w, out, sizeof out);
    assert_int_equal(ami_hdlc_frame_encode(&w, &e), AMI_E_TOO_LARGE);
    e.info_len = 10;
    ami_wr_init(&w, out, 12);
    assert_int_equal(ami_hdlc_frame_encode(&w, &e), AMI_E_NOSPACE);
}

/* Feeds a stream to the deframer in chunks of `chunk` bytes; collects frames as hex lines. */
static size_t deframe_all(const uint8_t *s, size_t n, size_t chunk, uint8_t out[][600],
                          size_t *lens, size_t max, int *errors)
{
    static ami_hdlc_deframer d;
    ami_hdlc_deframer_init(&d, 0);
    size_t got = 0, pos = 0;
    *errors = 0;
    for (;;) {
        size_t len = n - pos < chunk ? n - pos : chunk, used;
        ami_hdlc_frame f;
        int rc = ami_hdlc_deframer_next(&d, s + pos, len, &used, &f);
        pos += used;
        if (rc == AMI_OK) {
            assert_true(got < max);
            /* Rebuild the frame from its views to compare with the original bytes. */
            ami_wr w;
            ami_wr_init(&w, out[got], 600);
            assert_int_equal(ami_hdlc_frame_encode(&w, &f), AMI_OK);
            lens[got++] = w.len;
        } else if (rc == AMI_E_AGAIN) {
            if (pos == n)
                break;
        } else {
            assert_true(rc == AMI_E_CHECKSUM || rc == AMI_E_MALFORMED);
            (*errors)++;
        }
    }
    return got;
}

static void test_deframer_sessions(void **state)
{
    (void)state;
    const char *files[] = {
        "dlms/session_gurux_hdlc_ln_noauth_get_clock.txt", "dlms/session_gurux_hdlc_ln_lls.txt",
        "dlms/session_gurux_hdlc_ln_hls5_gmac_authenc.txt",
        "dlms/session_gurux_hdlc_ln_read_profile_generic.txt", "dlms/hdlc_frames.txt"};
    static uint8_t stream[65536];
    static uint8_t out[200][600];
    size_t lens[200];
    check_prefixes = false;
    for (size_t fi = 0; fi < AMI_COUNTOF(files); fi++) {
        size_t count;
        hdlc_record *r = hdlc_load(tu_testdata(files[fi]), &count);
        size_t n = 0;
        for (size_t i = 0; i < count; i++) {
            (void)decode_reencode(r[i].bytes, r[i].len);
            memcpy(stream + n, r[i].bytes, r[i].len);
            n += r[i].len;
        }
        const size_t chunks[] = {1, 2, 7, 64, 4096};
        for (size_t ci = 0; ci < AMI_COUNTOF(chunks); ci++) {
            int errors;
            size_t got = deframe_all(stream, n, chunks[ci], out, lens, 200, &errors);
            assert_int_equal(errors, 0);
            assert_int_equal(got, count);
            for (size_t i = 0; i < count; i++) {
                assert_int_equal(lens[i], r[i].len);
                assert_memory_equal(out[i], r[i].bytes, r[i].len);
            }
        }
        hdlc_free(r, count);
    }
    check_prefixes = true;
}

static void test_deframer_resync(void **state)
{
    (void)state;
    size_t count;
    hdlc_record *r = hdlc_load(tu_testdata("dlms/hdlc_frames.txt"), &count);
    static uint8_t stream[16384];
    static uint8_t out[200][600];
    size_t lens[200];
    uint64_t seed = 7;
    /* Garbage (with stray flags and fake format bytes) between frames; shared flags; idle fill. */
    size_t n = 0, expect = 0;
    for (size_t i = 0; i < count; i++) {
        if (r[i].len > 600)
            continue;
        size_t g = tu_rand(&seed) % 9;
        for (size_t k = 0; k < g; k++) {
            static const uint8_t junk[] = {0x7E, 0xA0, 0x00, 0x7E, 0x7E, 0x13, 0xA8, 0xFF};
            stream[n++] = junk[tu_rand(&seed) % sizeof junk];
        }
        if (i % 3 == 1 && n > 0 && stream[n - 1] == 0x7E) {
            memcpy(stream + n, r[i].bytes + 1, r[i].len - 1); /* share the previous flag */
            n += r[i].len - 1;
        } else {
            memcpy(stream + n, r[i].bytes, r[i].len);
            n += r[i].len;
        }
        expect++;
    }
    int errors;
    size_t got = deframe_all(stream, n, 5, out, lens, 200, &errors);
    assert_int_equal(got, expect);
    assert_true(errors > 0);

    /* A corrupted frame is rejected, the next one is still found. */
    n = 0;
    memcpy(stream, r[2].bytes, r[2].len);
    stream[10] ^= 0x40;
    n = r[2].len;
    memcpy(stream + n, r[3].bytes, r[3].len);
    n += r[3].len;
    got = deframe_all(stream, n, 1000, out, lens, 200, &errors);
    assert_int_equal(got, 1);
    assert_int_equal(errors, 1);
    assert_memory_equal(out[0], r[3].bytes, r[3].len);

    /* A false start "7E A2 43" (a 579-byte promise) does not swallow the next frame. */
    memcpy(stream, "\x7E\xA2\x43\x03\x21\x13\x00\x00", 8);
    memcpy(stream + 8, r[2].bytes, r[2].len);
    got = deframe_all(stream, 8 + r[2].len, 3, out, lens, 200, &errors);
    assert_int_equal(got, 1);
    assert_memory_equal(out[0], r[2].bytes, r[2].len);

    /* Only garbage: nothing, no error storm beyond one per false flag, all consumed. */
    memset(stream, 0x55, 5000);
    got = deframe_all(stream, 5000, 100, out, lens, 200, &errors);
    assert_int_equal(got, 0);
    assert_int_equal(errors, 0);
    hdlc_free(r, count);
}

static void test_describe(void **state)
{
    (void)state;
    size_t n;
    uint8_t *b = tu_hex("7EA01E210373C37A818012050180060180070400000001080400000001533B7E", &n);
    ami_hdlc_frame f;
    assert_int_equal(ami_hdlc_frame_decode(b, n, 0, &f), (int)n);
    char text[256];
    int len = ami_hdlc_frame_describe(&f, text, sizeof text);
    assert_true(len > 0);
    assert_string_equal(text, "UA PF dest=16 src=1 len=30 hcs=ok fcs=ok "
                              "info[21]=818012050180060180070400000001080400000001");
    /* Cut with "..." when the buffer is short. */
    len = ami_hdlc_frame_describe(&f, text, 80);
    assert_int_equal(len, (int)strlen(text));
    assert_true(len < 80);
    assert_string_equal(text + len - 3, "...");
    assert_int_equal(ami_hdlc_frame_describe(&f, text, 10), AMI_E_NOSPACE);

    char json[1024];
    FILE *mf = fmemopen(json, sizeof json, "w");
    ami_jw w;
    ami_jw_init_file(&w, mf);
    ami_hdlc_frame_describe_json(&f, &w);
    fclose(mf);
    assert_int_equal(ami_jw_error(&w), 0);
    assert_string_equal(
        json, "{\"type\":\"UA\",\"control\":\"0x73\",\"pf\":true,\"segmented\":false,\"length\":30,"
              "\"dest\":{\"upper\":16,\"lower\":0,\"size\":1},\"src\":{\"upper\":1,\"lower\":0,"
              "\"size\":1},\"hcs\":\"ok\",\"fcs\":\"ok\",\"params\":{\"max_info_tx\":128,"
              "\"max_info_rx\":128,\"window_tx\":1,\"window_rx\":1},"
              "\"info\":\"818012050180060180070400000001080400000001\"}");
    free(b);

    /* FRMR: Z (invalid N(R)) for rejected control 0xB0, V(S)=0 V(R)=1. */
    uint8_t frmr[32];
    ami_hdlc_frame r = {.control = 0x97, .info = (const uint8_t *)"\xB0\x30\x08", .info_len = 3};
    ami_hdlc_client_addr(&r.dest, 16);
    ami_hdlc_server_addr(&r.src, 1, 0, 1);
    ami_wr wr;
    ami_wr_init(&wr, frmr, sizeof frmr);
    assert_int_equal(ami_hdlc_frame_encode(&wr, &r), AMI_OK);
    assert_int_equal(ami_hdlc_frame_decode(frmr, wr.len, 0, &f), (int)wr.len);
    mf = fmemopen(json, sizeof json, "w");
    ami_jw_init_file(&w, mf);
    ami_hdlc_frame_describe_json(&f, &w);
    fclose(mf);
    assert_non_null(strstr(json, "\"frmr\":{\"rejected_control\":\"0xB0\",\"vs\":0,\"vr\":1,"
                                 "\"w_undefined_control\":false,\"x_info_not_permitted\":false,"
                                 "\"y_info_too_long\":false,\"z_invalid_nr\":true}"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frames_file),
        cmocka_unit_test(test_fcs_vectors_as_frames),
        cmocka_unit_test(test_control_values),
        cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_decode_errors),
        cmocka_unit_test(test_deframer_sessions),
        cmocka_unit_test(test_deframer_resync),
        cmocka_unit_test(test_describe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
