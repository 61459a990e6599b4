/*
 * M-Bus link layer and DLMS segment reassembly: the two long frames of the Netz NOe/EVN
 * Kaifa MA309 push (../shared/testdata/p1/encrypted), byte-by-byte streaming, resync after
 * garbage, checksum and framing errors, sequence and size errors of the reassembler.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "ami/ami.h"

#define EVN "p1/encrypted/austria_evn_netznoe_kaifa_mbus_dlms.bin"

static void test_evn_frames(void **state)
{
    (void)state;
    size_t len;
    uint8_t *bin = tu_read_file(tu_testdata(EVN), &len);
    assert_int_equal(len, 282);
    ami_mbus_frame f;
    size_t used;
    uint8_t *g = tu_guard_copy(bin, len);
    assert_int_equal(ami_mbus_frame_decode(g, len, &f, &used), AMI_OK);
    assert_int_equal(used, 0xFA + 6);
    assert_int_equal(f.kind, AMI_MBUS_LONG);
    assert_int_equal(f.c, 0x53);
    assert_int_equal(f.a, 0xFF);
    assert_int_equal(f.ci, 0x00); /* DLMS, segment 0, more to come */
    assert_int_equal(f.data_len, 0xFA - 3);
    assert_int_equal(f.data[0], 0x01); /* STSAP */
    assert_int_equal(f.data[1], 0x67); /* DTSAP */
    assert_int_equal(f.data[2], 0xDB); /* general-glo-ciphering starts */

    uint8_t apdu_buf[1024];
    ami_mbus_dlms r;
    assert_int_equal(ami_mbus_dlms_init(&r, apdu_buf, sizeof apdu_buf), AMI_OK);
    const uint8_t *apdu;
    size_t apdu_len;
    assert_int_equal(ami_mbus_dlms_push(&r, &f, &apdu, &apdu_len), AMI_E_AGAIN);
    assert_null(apdu);
    size_t used2;
    assert_int_equal(ami_mbus_frame_decode(g + used, len - used, &f, &used2), AMI_OK);
    assert_int_equal(used + used2, len);
    assert_int_equal(f.ci, 0x11); /* segment 1, FIN */
    assert_int_equal(f.data_len, 0x14 - 3);
    assert_int_equal(ami_mbus_dlms_push(&r, &f, &apdu, &apdu_len), AMI_OK);
    /* DB 08 <title> 81 F8 <248 bytes>: 260 bytes, the two segments minus their TSAPs. */
    assert_int_equal(apdu_len, 260);
    assert_int_equal(apdu[0], 0xDB);
    assert_memory_equal(apdu + 2, "KFMgP", 5);
    assert_int_equal(apdu[10], 0x81);
    assert_int_equal(apdu[11], 0xF8);
    assert_memory_equal(apdu, bin + 9, 245);
    assert_memory_equal(apdu + 245, bin + used + 9, 15);
    tu_guard_free(g, len);
    free(bin);
}

static void test_streaming_and_resync(void **state)
{
    (void)state;
    size_t len;
    uint8_t *bin = tu_read_file(tu_testdata(EVN), &len);
    /* Every proper prefix of the first frame asks for more. */
    ami_mbus_frame f;
    size_t used;
    for (size_t k = 0; k < 0xFA + 6; k++) {
        uint8_t *g = tu_guard_copy(bin, k);
        assert_int_equal(ami_mbus_frame_decode(g, k, &f, &used), AMI_E_AGAIN);
        tu_guard_free(g, k);
    }
    /* Garbage in front: drop one byte per MALFORMED until the frame decodes. */
    uint8_t stream[400];
    static const uint8_t junk[] = {0x00, 0x68, 0x05, 0x16, 0x68, 0x68, 0xFF};
    memcpy(stream, junk, sizeof junk);
    memcpy(stream + sizeof junk, bin, len);
    size_t n = sizeof junk + len, pos = 0, frames = 0, drops = 0;
    while (pos < n) {
        int rc = ami_mbus_frame_decode(stream + pos, n - pos, &f, &used);
        if (rc == AMI_OK) {
            frames++;
            pos += used;
        } else {
            assert_true(rc == AMI_E_MALFORMED || rc == AMI_E_CHECKSUM);
            drops++;
            pos++;
        }
    }
    assert_int_equal(frames, 2);
    assert_int_equal(drops, sizeof junk);
    free(bin);
}

static void test_frame_errors(void **state)
{
    (void)state;
    size_t len;
    uint8_t *bin = tu_read_file(tu_testdata(EVN), &len);
    ami_mbus_frame f;
    size_t used;
    uint8_t copy[300];
    memcpy(copy, bin, len);
    copy[100] ^= 0x01; /* data byte: checksum no longer matches */
    assert_int_equal(ami_mbus_frame_decode(copy, len, &f, &used), AMI_E_CHECKSUM);
    memcpy(copy, bin, len);
    copy[0xFA + 5] = 0x17; /* stop byte */
    assert_int_equal(ami_mbus_frame_decode(copy, len, &f, &used), AMI_E_MALFORMED);
    memcpy(copy, bin, len);
    copy[2] = 0xF9; /* L fields differ */
    assert_int_equal(ami_mbus_frame_decode(copy, len, &f, &used), AMI_E_MALFORMED);
    memcpy(copy, bin, len);
    copy[3] = 0x69; /* second start byte */
    assert_int_equal(ami_mbus_frame_decode(copy, len, &f, &used), AMI_E_MALFORMED);
    static const uint8_t l2[] = {0x68, 0x02, 0x02, 0x68, 0x53, 0xFF, 0x52, 0x16};
    assert_int_equal(ami_mbus_frame_decode(l2, sizeof l2, &f, &used), AMI_E_MALFORMED);
    /* Short frame (SND_NKE to 0xFE), control frame, ack. */
    static const uint8_t shortf[] = {0x10, 0x40, 0xFE, 0x3E, 0x16};
    assert_int_equal(ami_mbus_frame_decode(shortf, sizeof shortf, &f, &used), AMI_OK);
    assert_int_equal(f.kind, AMI_MBUS_SHORT);
    assert_int_equal(f.c, 0x40);
    assert_int_equal(f.a, 0xFE);
    assert_int_equal(used, 5);
    static const uint8_t badshort[] = {0x10, 0x40, 0xFE, 0x3F, 0x16};
    assert_int_equal(ami_mbus_frame_decode(badshort, sizeof badshort, &f, &used), AMI_E_CHECKSUM);
    static const uint8_t ctrl[] = {0x68, 0x03, 0x03, 0x68, 0x53, 0xFE, 0x51, 0xA2, 0x16};
    assert_int_equal(ami_mbus_frame_decode(ctrl, sizeof ctrl, &f, &used), AMI_OK);
    assert_int_equal(f.kind, AMI_MBUS_LONG);
    assert_int_equal(f.ci, 0x51);
    assert_int_equal(f.data_len, 0);
    static const uint8_t ack[] = {0xE5, 0x10};
    assert_int_equal(ami_mbus_frame_decode(ack, sizeof ack, &f, &used), AMI_OK);
    assert_int_equal(f.kind, AMI_MBUS_ACK);
    assert_int_equal(used, 1);
    assert_int_equal(ami_mbus_frame_decode(ack, 0, &f, &used), AMI_E_AGAIN);
    free(bin);
}

static ami_mbus_frame seg(uint8_t ci, const uint8_t *data, size_t n)
{
    ami_mbus_frame f = {.kind = AMI_MBUS_LONG, .c = 0x53, .a = 0xFF, .ci = ci};
    f.data = data;
    f.data_len = n;
    return f;
}

static void test_reassembly_errors(void **state)
{
    (void)state;
    uint8_t buf[8];
    ami_mbus_dlms r;
    assert_int_equal(ami_mbus_dlms_init(&r, buf, sizeof buf), AMI_OK);
    const uint8_t *apdu;
    size_t n;
    static const uint8_t d[] = {0x01, 0x67, 0xA0, 0xA1, 0xA2};
    ami_mbus_frame f;
    /* Single segment APDU (FIN with sequence 0). */
    f = seg(0x10, d, sizeof d);
    assert_int_equal(ami_mbus_dlms_push(&r, &f, &apdu, &n), AMI_OK);
    assert_int_equal(n, 3);
    assert_memory_equal(apdu, d + 2, 3);
    /* A gap in the sequence drops the APDU. */
    f = seg(0x00, d, sizeof d);
    assert_int_equal(ami_mbus_dlms_push(&r, &f, &apdu, &n), AMI_E_AGAIN);
    f = seg(0x12, d, sizeof d);
    assert_int_equal(ami_mbus_dlms_push(&r, &f, &apdu, &n), AMI_E_PROTOCOL);
    /* A continuation without a start. */
    f = seg(0x11, d, sizeof d);
    assert_int_equal(ami_mbus_dlms_push(&r, &f, &apdu, &n), AMI_E_PROTOCOL);
    /* TSAPs changing mid-APDU. */
    static const uint8_t d2[] = {0x02, 0x67, 0xB0};
    f = seg(0x00, d, sizeof d);
    assert_int_equal(ami_mbus_dlms_push(&r, &f, &apdu, &n), AMI_E_AGAIN);
    f = seg(0x11, d2, sizeof d2);
    assert_int_equal(ami_mbus_dlms_push(&r, &f, &apdu, &n), AMI_E_PROTOCOL);
    /* Over the buffer: 3 + 3 + 3 > 8. */
    f = seg(0x00, d, sizeof d);
    assert_int_equal(ami_mbus_dlms_push(&r, &f, &apdu, &n), AMI_E_AGAIN);
    f = seg(0x01, d, sizeof d);
    assert_int_equal(ami_mbus_dlms_push(&r, &f, &apdu, &n), AMI_E_AGAIN);
    f = seg(0x12, d, sizeof d);
    assert_int_equal(ami_mbus_dlms_push(&r, &f, &apdu, &n), AMI_E_TOO_LARGE);
    /* A new segment 0 replaces an unfinished APDU. */
    f = seg(0x00, d, sizeof d);
    assert_int_equal(ami_mbus_dlms_push(&r, &f, &apdu, &n), AMI_E_AGAIN);
    f = seg(0x10, d2, sizeof d2);
    assert_int_equal(ami_mbus_dlms_push(&r, &f, &apdu, &n), AMI_OK);
    assert_int_equal(n, 1);
    assert_int_equal(apdu[0], 0xB0);
    /* Not DLMS, no TSAPs, not a long frame. */
    f = seg(0x72, d, sizeof d);
    assert_int_equal(ami_mbus_dlms_push(&r, &f, &apdu, &n), AMI_E_PROTOCOL);
    f = seg(0x10, d, 1);
    assert_int_equal(ami_mbus_dlms_push(&r, &f, &apdu, &n), AMI_E_MALFORMED);
    f = seg(0x10, d, sizeof d);
    f.kind = AMI_MBUS_SHORT;
    assert_int_equal(ami_mbus_dlms_push(&r, &f, &apdu, &n), AMI_E_PROTOCOL);
    /* At most 16 segments. */
    uint8_t big[64];
    assert_int_equal(ami_mbus_dlms_init(&r, big, sizeof big), AMI_OK);
    int rc = AMI_OK;
    for (unsigned s = 0; s < 16; s++) {
        f = seg((uint8_t)s, d, sizeof d);
        rc = ami_mbus_dlms_push(&r, &f, &apdu, &n);
        if (s < 15)
            assert_int_equal(rc, AMI_E_AGAIN);
    }
    assert_int_equal(rc, AMI_E_TOO_LARGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_evn_frames),
        cmocka_unit_test(test_streaming_and_resync),
        cmocka_unit_test(test_frame_errors),
        cmocka_unit_test(test_reassembly_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
