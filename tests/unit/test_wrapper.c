/*
 * DLMS/COSEM wrapper (IEC 62056-47): every message of the recorded Gurux wrapper session
 * decodes as a datagram and re-encodes byte for byte; the TCP reassembler cuts the whole session
 * stream into the same messages for every chunk size; errors and limits.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "hdlc_testlib.h"
#include "ami/ami.h"

static void test_session_datagrams(void **state)
{
    (void)state;
    size_t count;
    hdlc_record *r = hdlc_load(
        tu_testdata("dlms/session_gurux_wrapper_ln_read_all_incl_selective_access.txt"), &count);
    assert_true(count > 400);
    size_t tx = 0;
    for (size_t i = 0; i < count; i++) {
        uint8_t *g = tu_guard_copy(r[i].bytes, r[i].len);
        ami_wrapper_msg m;
        assert_int_equal(ami_wrapper_datagram_decode(g, r[i].len, &m), AMI_OK);
        assert_int_equal(m.hdr.version, 1);
        /* Client wPort 16 (public client), server wPort 1 (management logical device). */
        assert_int_equal(r[i].tx ? m.hdr.src_wport : m.hdr.dst_wport, 16);
        assert_int_equal(r[i].tx ? m.hdr.dst_wport : m.hdr.src_wport, 1);
        assert_int_equal(m.apdu_len, r[i].len - 8);
        tx += r[i].tx;
        uint8_t out[70000];
        ami_wr w;
        ami_wr_init(&w, out, sizeof out);
        assert_int_equal(
            ami_wrapper_encode(&w, m.hdr.src_wport, m.hdr.dst_wport, m.apdu, m.apdu_len), AMI_OK);
        assert_int_equal(w.len, r[i].len);
        assert_memory_equal(out, r[i].bytes, r[i].len);
        /* Short datagrams are truncated, long ones malformed. */
        assert_int_equal(ami_wrapper_datagram_decode(g, r[i].len - 1, &m), AMI_E_TRUNCATED);
        tu_guard_free(g, r[i].len);
    }
    assert_true(tx > 200);
    /* First TX: AARQ. */
    assert_int_equal(r[0].bytes[8], 0x60);
    hdlc_free(r, count);
}

static void test_stream_reassembly(void **state)
{
    (void)state;
    size_t count;
    hdlc_record *r = hdlc_load(
        tu_testdata("dlms/session_gurux_wrapper_ln_read_all_incl_selective_access.txt"), &count);
    size_t total = 0;
    for (size_t i = 0; i < count; i++)
        total += r[i].len;
    uint8_t *stream = malloc(total);
    size_t pos = 0;
    for (size_t i = 0; i < count; i++) {
        memcpy(stream + pos, r[i].bytes, r[i].len);
        pos += r[i].len;
    }
    static uint8_t buf[4096];
    const size_t chunks[] = {1, 3, 8, 9, 100, 1500, 1u << 20};
    for (size_t ci = 0; ci < AMI_COUNTOF(chunks); ci++) {
        ami_wrapper_stream s;
        assert_int_equal(ami_wrapper_stream_init(&s, buf, sizeof buf), AMI_OK);
        size_t at = 0, got = 0;
        for (;;) {
            size_t len = total - at < chunks[ci] ? total - at : chunks[ci];
            /* Each chunk is a separate buffer, as from recv() (guarded unless tiny: ASan time). */
            bool guard = chunks[ci] >= 100;
            uint8_t *chunk = guard ? tu_guard_copy(stream + at, len) : stream + at;
            size_t off = 0;
            for (;;) {
                size_t used;
                ami_wrapper_msg m;
                int rc = ami_wrapper_stream_next(&s, chunk + off, len - off, &used, &m);
                off += used;
                if (rc == AMI_E_AGAIN)
                    break;
                assert_int_equal(rc, AMI_OK);
                assert_true(got < count);
                assert_int_equal(m.apdu_len + 8, r[got].len);
                assert_memory_equal(m.apdu, r[got].bytes + 8, m.apdu_len);
                got++;
            }
            assert_int_equal(off, len);
            if (guard)
                tu_guard_free(chunk, len);
            at += len;
            if (at == total)
                break;
        }
        assert_int_equal(got, count);
        assert_int_equal(s.messages, count);
    }
    free(stream);
    hdlc_free(r, count);
}

static void test_errors(void **state)
{
    (void)state;
    ami_wrapper_header h;
    const uint8_t bad[] = {0x00, 0x02, 0x00, 0x10, 0x00, 0x01, 0x00, 0x00};
    assert_int_equal(ami_wrapper_header_decode(bad, 8, &h), AMI_E_MALFORMED);
    assert_int_equal(ami_wrapper_header_decode(bad, 7, &h), AMI_E_TRUNCATED);
    const uint8_t extra[] = {0x00, 0x01, 0x00, 0x10, 0x00, 0x01, 0x00, 0x01, 0xC0, 0xC0};
    ami_wrapper_msg m;
    assert_int_equal(ami_wrapper_datagram_decode(extra, sizeof extra, &m), AMI_E_MALFORMED);
    assert_int_equal(ami_wrapper_datagram_decode(extra, 9, &m), AMI_OK);
    assert_int_equal(m.apdu_len, 1);
    /* Empty APDU: legal framing. */
    assert_int_equal(ami_wrapper_datagram_decode(extra, 8, &m), AMI_E_TRUNCATED);

    /* Stream: a declared length beyond the buffer is TOO_LARGE and sticky. */
    uint8_t buf[64];
    ami_wrapper_stream s;
    assert_int_equal(ami_wrapper_stream_init(&s, buf, 4), AMI_E_INVAL);
    assert_int_equal(ami_wrapper_stream_init(&s, buf, sizeof buf), AMI_OK);
    const uint8_t big[] = {0x00, 0x01, 0x00, 0x10, 0x00, 0x01, 0x00, 0x39};
    size_t used;
    assert_int_equal(ami_wrapper_stream_next(&s, big, 8, &used, &m), AMI_E_TOO_LARGE);
    assert_int_equal(ami_wrapper_stream_next(&s, extra, 9, &used, &m), AMI_E_TOO_LARGE);
    assert_int_equal(used, 0);
    /* 56 APDU bytes fit a 64-byte buffer exactly; 57 do not (split header). */
    assert_int_equal(ami_wrapper_stream_init(&s, buf, sizeof buf), AMI_OK);
    assert_int_equal(ami_wrapper_stream_next(&s, big, 3, &used, &m), AMI_E_AGAIN);
    assert_int_equal(ami_wrapper_stream_next(&s, big + 3, 5, &used, &m), AMI_E_TOO_LARGE);
    /* Bad version in a split header. */
    assert_int_equal(ami_wrapper_stream_init(&s, buf, sizeof buf), AMI_OK);
    assert_int_equal(ami_wrapper_stream_next(&s, bad, 5, &used, &m), AMI_E_AGAIN);
    assert_int_equal(ami_wrapper_stream_next(&s, bad + 5, 3, &used, &m), AMI_E_MALFORMED);
    /* Zero-length APDUs back to back. */
    const uint8_t two[] = {0, 1, 0, 16, 0, 1, 0, 0, 0, 1, 0, 16, 0, 1, 0, 0};
    assert_int_equal(ami_wrapper_stream_init(&s, buf, sizeof buf), AMI_OK);
    assert_int_equal(ami_wrapper_stream_next(&s, two, 11, &used, &m), AMI_OK);
    assert_int_equal(used, 8);
    assert_int_equal(m.apdu_len, 0);
    assert_int_equal(ami_wrapper_stream_next(&s, two + 8, 3, &used, &m), AMI_E_AGAIN);
    assert_int_equal(ami_wrapper_stream_next(&s, two + 11, 5, &used, &m), AMI_OK);
    assert_int_equal(m.apdu_len, 0);
    /* Encoder limits. */
    uint8_t out[16];
    ami_wr w;
    ami_wr_init(&w, out, sizeof out);
    assert_int_equal(ami_wrapper_encode(&w, 1, 2, out, 70000), AMI_E_TOO_LARGE);
    assert_int_equal(ami_wrapper_encode(&w, 1, 2, (const uint8_t *)"0123456789", 10),
                     AMI_E_NOSPACE);
}

static void test_describe(void **state)
{
    (void)state;
    size_t n;
    uint8_t *b = tu_hex("0001001000010007C002C100000001", &n);
    ami_wrapper_msg m;
    assert_int_equal(ami_wrapper_datagram_decode(b, n, &m), AMI_OK);
    char text[128];
    assert_true(ami_wrapper_describe(&m, text, sizeof text) > 0);
    assert_string_equal(text, "WRAPPER v1 src=16 dst=1 len=7 apdu=C002C100000001");
    char json[256];
    FILE *f = fmemopen(json, sizeof json, "w");
    ami_jw w;
    ami_jw_init_file(&w, f);
    ami_wrapper_describe_json(&m, &w);
    fclose(f);
    assert_string_equal(json, "{\"version\":1,\"src_wport\":16,\"dst_wport\":1,\"length\":7,"
                              "\"apdu\":\"C002C100000001\"}");
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_session_datagrams),
        cmocka_unit_test(test_stream_reassembly),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_describe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
