/*
 * Encrypted P1 meters against ../shared/testdata/p1/encrypted: every frame decrypts to its
 * .plain bytes; flipped bits in each part of a Smarty frame are refused with their own error
 * and release nothing; the EVN/Kaifa push becomes the documented readings; replays are
 * refused; the data-notification parse is strict.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "ami/ami.h"

#define DIR "p1/encrypted/"

struct vec {
    const char *name;
    const char *key;
    bool mbus; /* frames are M-Bus long frames carrying a DLMS APDU */
};

static const struct vec vecs[] = {
    {"luxembourg_smarty_gcm_openhab", "D491470F47126332B07D1923B3504188", false},
    {"luxembourg_format_sagemcom_t210dr_synthetic_esphome_libs", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
     false},
    {"austria_evn_netznoe_kaifa_mbus_dlms", "36C66639E48A8CA4D6BC8B282A793BBB", true},
};

static void make_ctx(ami_sec_ctx *ctx, const char *key_hex)
{
    size_t n;
    uint8_t *key = tu_hex(key_hex, &n);
    assert_int_equal(ami_sec_ctx_init(ctx), AMI_OK);
    assert_int_equal(ami_sec_ctx_set_ek(ctx, key, n), AMI_OK);
    assert_int_equal(ami_sec_ctx_set_ak(ctx, ami_p1_smarty_default_ak, 16), AMI_OK);
    free(key);
}

/* Reassembles the M-Bus frames of a capture into one APDU (copied to out). */
static size_t mbus_apdu(const uint8_t *bin, size_t len, uint8_t *out, size_t cap)
{
    uint8_t buf[1024];
    ami_mbus_dlms r;
    assert_int_equal(ami_mbus_dlms_init(&r, buf, sizeof buf), AMI_OK);
    size_t pos = 0;
    while (pos < len) {
        ami_mbus_frame f;
        size_t used;
        assert_int_equal(ami_mbus_frame_decode(bin + pos, len - pos, &f, &used), AMI_OK);
        pos += used;
        const uint8_t *apdu;
        size_t n;
        int rc = ami_mbus_dlms_push(&r, &f, &apdu, &n);
        if (rc == AMI_OK) {
            assert_true(n <= cap);
            memcpy(out, apdu, n);
            assert_int_equal(pos, len);
            return n;
        }
        assert_int_equal(rc, AMI_E_AGAIN);
    }
    fail_msg("no complete APDU");
    return 0;
}

static void test_every_file_decrypts_to_plain(void **state)
{
    (void)state;
    char path[256];
    for (size_t i = 0; i < AMI_COUNTOF(vecs); i++) {
        size_t blen, plen;
        snprintf(path, sizeof path, DIR "%s.bin", vecs[i].name);
        uint8_t *bin = tu_read_file(tu_testdata(path), &blen);
        snprintf(path, sizeof path, DIR "%s.plain", vecs[i].name);
        uint8_t *plain = tu_read_file(tu_testdata(path), &plen);
        ami_sec_ctx ctx;
        make_ctx(&ctx, vecs[i].key);
        uint8_t apdu[2048], out[2048];
        size_t alen = blen, out_len = 0;
        if (vecs[i].mbus) {
            alen = mbus_apdu(bin, blen, apdu, sizeof apdu);
            ctx.accept |= AMI_SEC_ACCEPT_ENC; /* the EVN push is encryption-only */
        } else {
            memcpy(apdu, bin, blen);
        }
        ami_sec_apdu a;
        size_t used;
        uint8_t *g = tu_guard_copy(apdu, alen);
        assert_int_equal(ami_sec_apdu_parse(g, alen, &a, &used), AMI_OK);
        assert_int_equal(used, alen);
        assert_int_equal(ami_sec_apdu_decrypt(&ctx, &a, NULL, out, sizeof out, &out_len), AMI_OK);
        assert_int_equal(out_len, plen);
        assert_memory_equal(out, plain, plen);
        tu_guard_free(g, alen);
        ami_sec_ctx_wipe(&ctx);
        free(bin);
        free(plain);
    }
}

static void test_smarty_frame(void **state)
{
    (void)state;
    size_t blen, plen;
    uint8_t *bin = tu_read_file(tu_testdata(DIR "luxembourg_smarty_gcm_openhab.bin"), &blen);
    uint8_t *plain = tu_read_file(tu_testdata(DIR "luxembourg_smarty_gcm_openhab.plain"), &plen);
    ami_sec_ctx ctx;
    make_ctx(&ctx, vecs[0].key);
    uint8_t out[1024];
    size_t out_len, used;
    ami_p1_frame_info info;
    /* Followed by the start of the next frame: only this one is consumed. */
    uint8_t stream[1024];
    memcpy(stream, bin, blen);
    stream[blen] = 0xDB;
    assert_int_equal(ami_p1_smarty_decrypt(&ctx, NULL, stream, blen + 1, out, sizeof out, &out_len,
                                           &used, &info),
                     AMI_OK);
    assert_int_equal(used, 711);
    assert_int_equal(out_len, 681);
    assert_memory_equal(out, plain, plen);
    assert_memory_equal(out, "/", 1); /* a DSMR telegram */
    assert_memory_equal(info.system_title, "SAGgp\x01\xBD\x54", 8);
    assert_int_equal(info.frame_counter, 0x0005A8E3);
    assert_int_equal(info.security_control, 0x30);
    /* Incomplete frames ask for more; so does the second frame's first byte. */
    assert_int_equal(
        ami_p1_smarty_decrypt(&ctx, NULL, bin, 400, out, sizeof out, &out_len, &used, NULL),
        AMI_E_TRUNCATED);
    assert_int_equal(used, 711); /* the length field says how much to wait for */
    assert_int_equal(
        ami_p1_smarty_decrypt(&ctx, NULL, stream + blen, 1, out, sizeof out, &out_len, &used, NULL),
        AMI_E_TRUNCATED);
    /* Not a Smarty frame. */
    assert_int_equal(
        ami_p1_smarty_decrypt(&ctx, NULL, plain, plen, out, sizeof out, &out_len, &used, NULL),
        AMI_E_PROTOCOL);
    /* Output buffer too small. */
    assert_int_equal(ami_p1_smarty_decrypt(&ctx, NULL, bin, blen, out, 680, &out_len, &used, NULL),
                     AMI_E_NOSPACE);
    ami_sec_ctx_wipe(&ctx);
    free(bin);
    free(plain);
}

/* The fuzz seeds were built with an independent AES-GCM implementation: they must decrypt. */
static void test_independent_seed(void **state)
{
    (void)state;
    size_t blen;
    uint8_t *bin = tu_read_file(tu_testsdir("fuzz/corpus/p1crypt/smarty_seed.bin"), &blen);
    ami_sec_ctx ctx;
    make_ctx(&ctx, vecs[0].key);
    uint8_t out[512];
    size_t out_len, used;
    ami_p1_frame_info info;
    assert_int_equal(
        ami_p1_smarty_decrypt(&ctx, NULL, bin, blen, out, sizeof out, &out_len, &used, &info),
        AMI_OK);
    assert_int_equal(used, blen);
    assert_int_equal(info.frame_counter, 42);
    assert_memory_equal(info.system_title, "OPENAMI1", 8);
    assert_memory_equal(out, "/OAM5openami-seed\r\n", 19);
    ami_sec_ctx_wipe(&ctx);
    free(bin);
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* Flips one bit of a Smarty frame and expects `want`, with no plaintext released. */
static void flip_expect(ami_sec_ctx *ctx, const uint8_t *bin, size_t blen, size_t off, uint8_t mask,
                        int want)
{
    uint8_t frame[1024], out[1024];
    memcpy(frame, bin, blen);
    frame[off] ^= mask;
    memset(out, 0, sizeof out);
    size_t out_len = 99, used = 99;
    int rc = ami_p1_smarty_decrypt(ctx, NULL, frame, blen, out, sizeof out, &out_len, &used, NULL);
    if (rc != want)
        fail_msg("bit %02X at %zu: got %s, want %s", mask, off, ami_errname(rc), ami_errname(want));
    assert_int_equal(out_len, 0);
    assert_true(all_zero(out, sizeof out));
    if (want == AMI_E_AUTH && off >= 13)
        assert_int_equal(used, blen); /* a stream reader skips the whole forged frame */
    if (want == AMI_E_PROTOCOL || want == AMI_E_TOO_LARGE)
        assert_int_equal(used, 0);
}

static void test_smarty_bit_flips(void **state)
{
    (void)state;
    size_t blen;
    uint8_t *bin = tu_read_file(tu_testdata(DIR "luxembourg_smarty_gcm_openhab.bin"), &blen);
    ami_sec_ctx ctx;
    make_ctx(&ctx, vecs[0].key);
    /* Layout: DB | 08 | title 2..9 | 82 | len 11..12 | SC 13 | FC 14..17 | ct 18..698 | tag */
    flip_expect(&ctx, bin, blen, 0, 0x01, AMI_E_PROTOCOL);     /* DA: not general-glo */
    flip_expect(&ctx, bin, blen, 1, 0x01, AMI_E_MALFORMED);    /* title length 9 */
    flip_expect(&ctx, bin, blen, 5, 0x10, AMI_E_AUTH);         /* system title (IV) */
    flip_expect(&ctx, bin, blen, 10, 0x02, AMI_E_MALFORMED);   /* 0x80: no length bytes */
    flip_expect(&ctx, bin, blen, 10, 0x01, AMI_E_TOO_LARGE);   /* 0x83: 0x02BA30 bytes */
    flip_expect(&ctx, bin, blen, 12, 0x01, AMI_E_TRUNCATED);   /* length + 1 */
    flip_expect(&ctx, bin, blen, 12, 0x02, AMI_E_AUTH);        /* length - 2: tag moves */
    flip_expect(&ctx, bin, blen, 11, 0x40, AMI_E_TOO_LARGE);   /* over AMI_P1_SMARTY_MAX */
    flip_expect(&ctx, bin, blen, 13, 0x10, AMI_E_ACCESS);      /* SC 0x20: no authentication */
    flip_expect(&ctx, bin, blen, 13, 0x20, AMI_E_ACCESS);      /* SC 0x10: no encryption */
    flip_expect(&ctx, bin, blen, 13, 0x80, AMI_E_UNSUPPORTED); /* compression */
    flip_expect(&ctx, bin, blen, 13, 0x04, AMI_E_UNSUPPORTED); /* suite 4 */
    flip_expect(&ctx, bin, blen, 13, 0x01, AMI_E_AUTH);        /* suite 1: AAD differs */
    flip_expect(&ctx, bin, blen, 13, 0x02, AMI_E_KEY);         /* suite 2 needs AES-256 */
    flip_expect(&ctx, bin, blen, 17, 0x01, AMI_E_AUTH);        /* frame counter (IV) */
    /* Every bit of the ciphertext and of the tag. */
    for (size_t off = 18; off < blen; off++)
        for (unsigned b = 0; b < 8; b++)
            flip_expect(&ctx, bin, blen, off, (uint8_t)(1u << b), AMI_E_AUTH);
    /* Wrong authentication key, wrong block cipher key. */
    uint8_t frame_out[1024];
    size_t out_len, used;
    uint8_t zero_ak[16] = {0};
    assert_int_equal(ami_sec_ctx_set_ak(&ctx, zero_ak, 16), AMI_OK);
    assert_int_equal(ami_p1_smarty_decrypt(&ctx, NULL, bin, blen, frame_out, sizeof frame_out,
                                           &out_len, &used, NULL),
                     AMI_E_AUTH);
    ami_sec_ctx_wipe(&ctx);
    free(bin);
}

static void test_smarty_no_key_capture(void **state)
{
    (void)state;
    size_t blen;
    uint8_t *bin =
        tu_read_file(tu_testdata(DIR "luxembourg_smarty_real_capture_no_key_sgrimee.bin"), &blen);
    assert_int_equal(blen, 647);
    ami_sec_apdu a;
    size_t used;
    assert_int_equal(ami_sec_apdu_parse(bin, blen, &a, &used), AMI_OK);
    assert_int_equal(used, 647);
    assert_int_equal(a.sc, 0x30);
    assert_int_equal(a.ic, 0x97);
    assert_int_equal(a.payload_len, 634 - 5 - 12);
    /* The key is not published: any key we try fails authentication. */
    ami_sec_ctx ctx;
    make_ctx(&ctx, vecs[0].key);
    uint8_t out[1024];
    size_t out_len;
    assert_int_equal(
        ami_p1_smarty_decrypt(&ctx, NULL, bin, blen, out, sizeof out, &out_len, &used, NULL),
        AMI_E_AUTH);
    assert_true(all_zero(out, 634 - 17));
    ami_sec_ctx_wipe(&ctx);
    free(bin);
}

static void test_smarty_replay(void **state)
{
    (void)state;
    size_t blen;
    uint8_t *bin = tu_read_file(tu_testdata(DIR "luxembourg_smarty_gcm_openhab.bin"), &blen);
    ami_sec_ctx ctx;
    make_ctx(&ctx, vecs[0].key);
    ami_replay_entry slots[4];
    ami_replay rp;
    assert_int_equal(ami_replay_init(&rp, slots, 4, NULL), AMI_OK);
    uint8_t out[1024];
    size_t out_len, used;
    assert_int_equal(
        ami_p1_smarty_decrypt(&ctx, &rp, bin, blen, out, sizeof out, &out_len, &used, NULL),
        AMI_OK);
    /* The same frame again is a replay, refused before decryption. */
    assert_int_equal(
        ami_p1_smarty_decrypt(&ctx, &rp, bin, blen, out, sizeof out, &out_len, &used, NULL),
        AMI_E_REPLAY);
    assert_int_equal(out_len, 0);
    /* A forged frame with a higher counter does not authenticate and does not move it. */
    assert_int_equal(ami_replay_init(&rp, slots, 4, NULL), AMI_OK);
    uint8_t forged[1024];
    memcpy(forged, bin, blen);
    forged[17] ^= 0x10; /* counter + 16 */
    assert_int_equal(
        ami_p1_smarty_decrypt(&ctx, &rp, forged, blen, out, sizeof out, &out_len, &used, NULL),
        AMI_E_AUTH);
    assert_int_equal(
        ami_p1_smarty_decrypt(&ctx, &rp, bin, blen, out, sizeof out, &out_len, &used, NULL),
        AMI_OK);
    ami_sec_ctx_wipe(&ctx);
    free(bin);
}

/* A serial stream: garbage, a good frame, a forged frame, a replay, a partial frame. */
static void test_smarty_stream(void **state)
{
    (void)state;
    size_t blen;
    uint8_t *bin = tu_read_file(tu_testdata(DIR "luxembourg_smarty_gcm_openhab.bin"), &blen);
    static uint8_t stream[4096];
    size_t n = 0;
    stream[n++] = 0x00;
    stream[n++] = 0xDB; /* a lone start byte followed by garbage */
    stream[n++] = 0x07;
    memcpy(stream + n, bin, blen);
    n += blen;
    memcpy(stream + n, bin, blen);
    stream[n + 17] ^= 0x10; /* forged: a higher counter (the replay check passes, the tag not) */
    n += blen;
    memcpy(stream + n, bin, blen); /* replay of the first */
    n += blen;
    memcpy(stream + n, bin, 100); /* the start of a frame still arriving */
    n += 100;
    ami_sec_ctx ctx;
    make_ctx(&ctx, vecs[0].key);
    ami_replay_entry slots[1];
    ami_replay rp;
    assert_int_equal(ami_replay_init(&rp, slots, 1, NULL), AMI_OK);
    uint8_t out[1024];
    size_t pos = 0, good = 0, auth = 0, replay = 0, dropped = 0, waiting = 0;
    while (pos < n) {
        size_t out_len, used;
        int rc = ami_p1_smarty_decrypt(&ctx, &rp, stream + pos, n - pos, out, sizeof out, &out_len,
                                       &used, NULL);
        if (rc == AMI_E_TRUNCATED && used > n - pos) {
            waiting = used - (n - pos);
            break;
        }
        good += rc == AMI_OK;
        auth += rc == AMI_E_AUTH;
        replay += rc == AMI_E_REPLAY;
        if (used) {
            pos += used;
        } else {
            pos++;
            dropped++;
        }
    }
    assert_int_equal(good, 1);
    assert_int_equal(auth, 1);
    assert_int_equal(replay, 1);
    assert_int_equal(dropped, 3);
    assert_int_equal(waiting, blen - 100);
    ami_sec_ctx_wipe(&ctx);
    free(bin);
}

static void expect_reading(const ami_reading *r, ami_obis obis, int64_t mantissa, int scale,
                           const char *unit, uint8_t dlms_unit)
{
    assert_true(ami_obis_equal(&r->obis, &obis));
    assert_int_equal(r->kind, AMI_VALUE_NUMBER);
    assert_int_equal(r->mantissa, mantissa);
    assert_int_equal(r->scale, scale);
    assert_string_equal(r->unit, unit);
    assert_int_equal(r->dlms_unit, dlms_unit);
    assert_true(r->has_time);
    assert_int_equal(r->time.year, 2021);
    assert_int_equal(r->time.month, 9);
    assert_int_equal(r->time.day, 27);
    assert_int_equal(r->time.hour, 9);
    assert_int_equal(r->time.minute, 47);
    assert_int_equal(r->time.second, 15);
}

#define OBIS(c, d) AMI_OBIS(1, 0, c, d, 0, 255)

static void test_evn_readings(void **state)
{
    (void)state;
    size_t blen;
    uint8_t *bin = tu_read_file(tu_testdata(DIR "austria_evn_netznoe_kaifa_mbus_dlms.bin"), &blen);
    uint8_t apdu[1024], work[1024];
    size_t alen = mbus_apdu(bin, blen, apdu, sizeof apdu);
    ami_sec_ctx ctx;
    make_ctx(&ctx, vecs[2].key);
    ami_reading rd[16];
    ami_p1_notification info;
    ami_p1_frame_info fi;
    static uint8_t arena_buf[AMI_P1_NOTIFY_ARENA];
    ami_arena arena;
    ami_arena_init(&arena, arena_buf, sizeof arena_buf);
    ami_p1_dlms c = {&ctx, NULL, work, sizeof work, &arena};
    /* Encryption-only is refused until named. */
    assert_int_equal(ami_p1_dlms_readings(&c, apdu, alen, rd, 16, &info, &fi), AMI_E_ACCESS);
    ctx.accept |= AMI_SEC_ACCEPT_ENC;
    ami_replay_entry slots[1];
    ami_replay rp;
    assert_int_equal(ami_replay_init(&rp, slots, 1, NULL), AMI_OK);
    c.replay = &rp;
    assert_int_equal(ami_p1_dlms_readings(&c, apdu, alen, rd, 16, &info, &fi), AMI_OK);
    assert_memory_equal(fi.system_title, "KFMgP\x00\x00\x09", 8);
    assert_int_equal(fi.frame_counter, 0x23);
    assert_int_equal(fi.security_control, 0x20);
    assert_int_equal(info.invoke_id, 0x8006870E);
    assert_true(info.has_time);
    assert_int_equal(info.time.year, 2021);
    assert_int_equal(info.time.deviation, -120);
    assert_int_equal(info.time.status, 0x80);
    assert_int_equal(info.time.weekday, 1);
    assert_int_equal(arena.used, 0); /* the A-XDR tree was temporary */
    assert_int_equal(info.count, 11);
    assert_int_equal(info.skipped, 1); /* the meter number, not tied to an OBIS code */
    expect_reading(&rd[0], OBIS(1, 8), 12937, 0, "Wh", 30);
    expect_reading(&rd[1], OBIS(2, 8), 0, 0, "Wh", 30);
    expect_reading(&rd[2], OBIS(1, 7), 0, 0, "W", 27);
    expect_reading(&rd[3], OBIS(2, 7), 0, 0, "W", 27);
    expect_reading(&rd[4], OBIS(32, 7), 2337, -1, "V", 35);
    expect_reading(&rd[5], OBIS(52, 7), 0, -1, "V", 35);
    expect_reading(&rd[6], OBIS(72, 7), 0, -1, "V", 35);
    expect_reading(&rd[7], OBIS(31, 7), 0, -2, "A", 33);
    expect_reading(&rd[8], OBIS(51, 7), 0, -2, "A", 33);
    expect_reading(&rd[9], OBIS(71, 7), 0, -2, "A", 33);
    expect_reading(&rd[10], OBIS(13, 7), 1000, -3, "", 255);
    char txt[32];
    assert_int_equal(ami_reading_format_value(&rd[4], txt, sizeof txt), 5);
    assert_string_equal(txt, "233.7");
    assert_int_equal(ami_reading_format_value(&rd[10], txt, sizeof txt), 5);
    assert_string_equal(txt, "1.000");
    /* Replayed push refused; nothing recorded on a failed parse. */
    assert_int_equal(ami_p1_dlms_readings(&c, apdu, alen, rd, 16, &info, &fi), AMI_E_REPLAY);
    /* Too few reading slots. */
    assert_int_equal(ami_replay_init(&rp, slots, 1, NULL), AMI_OK);
    assert_int_equal(ami_p1_dlms_readings(&c, apdu, alen, rd, 10, &info, &fi), AMI_E_NOSPACE);
    assert_true(all_zero(work, 243)); /* no plaintext left behind */
    assert_int_equal(ami_replay_check(&rp, fi.system_title, 0x23), AMI_OK); /* not recorded */
    /* Without authentication a flipped bit is caught only where it breaks the structure:
     * here the data-notification tag (first plaintext byte, APDU offset 16). */
    apdu[16] ^= 0x01;
    assert_int_equal(ami_p1_dlms_readings(&c, apdu, alen, rd, 16, &info, &fi), AMI_E_PROTOCOL);
    apdu[16] ^= 0x01;
    /* ... and here the body's structure count (plaintext offset 19: 0x23 -> 0x22): the body
     * then ends before the APDU does. */
    apdu[16 + 19] ^= 0x01;
    assert_int_equal(ami_p1_dlms_readings(&c, apdu, alen, rd, 16, &info, &fi), AMI_E_MALFORMED);
    ami_sec_ctx_wipe(&ctx);
    free(bin);
}

static void test_notification_strict(void **state)
{
    (void)state;
    static uint8_t arena_buf[AMI_P1_NOTIFY_ARENA];
    ami_arena arena;
    ami_arena_init(&arena, arena_buf, sizeof arena_buf);
    ami_reading rd[4];
    ami_p1_notification info;
    struct {
        const char *hex;
        int rc;
        size_t count;
    } cases[] = {
        /* no date-time, one nested triple, a long64-unsigned value */
        {"0F 00000001 00 02 01 02 03 09 06 0100010800FF 15 0000000000000064 02 02 0F FD 16 1E",
         AMI_OK, 1},
        /* value without scaler/unit, then a visible-string value */
        {"0F 00000001 00 02 04 09 06 0100010800FF 06 00000005 09 06 0000600100FF 0A 03 414243",
         AMI_OK, 2},
        {"0E 00000001 00 00", AMI_E_PROTOCOL, 0},
        {"0F 00000001 05 0102030405 00", AMI_E_MALFORMED, 0},            /* date-time not 0/12 */
        {"0F 00000001 00 02 01 09 06 0100010800FF", AMI_E_MALFORMED, 0}, /* OBIS, no value */
        {"0F 00000001 00 02 02 09 06 0100010800FF 02 00", AMI_E_TYPE, 0},
        {"0F 00000001 00 02 02 09 06 0100010800FF 17 00000000", AMI_E_UNSUPPORTED, 0}, /* float */
        {"0F 00000001 00 02 03 09 06 0100010800FF 11 05 02 02 0F 00 11 1E", AMI_E_MALFORMED, 0},
        {"0F 00000001 00 11 05 00", AMI_E_MALFORMED, 0},    /* trailing byte */
        {"0F 00000001 00 02 05 11 01", AMI_E_TRUNCATED, 0}, /* count beyond the input */
        {"0F 00000001 00 02 01 02 01 02 01 02 01 02 01 02 01 02 01 02 01 02 01 11 00",
         AMI_E_TOO_DEEP, 0},
        {"0F 00000001 00 02 02 09 06 0100010800FF 15 8000000000000000", AMI_E_RANGE, 0},
        {"0F 00000001 00 01 05 11 01 11 02 11 03 11 04 11 05", AMI_OK, 0}, /* 5 skipped */
        {"0F 00000001 0C 07E50D1B01092F0F00FF8880 00", AMI_E_RANGE, 0},    /* month 13 */
        {"0F 00000001 00 02 02 0C 07E5091B01092F0F00FF8880 09 06 0100010800FF", AMI_E_MALFORMED,
         0}, /* a body date-time, then an OBIS code without value */
    };
    for (size_t i = 0; i < AMI_COUNTOF(cases); i++) {
        size_t n;
        uint8_t *b = tu_hex(cases[i].hex, &n);
        uint8_t *g = tu_guard_copy(b, n);
        int rc = ami_p1_notification_parse(g, n, &arena, rd, 4, &info);
        if (rc != cases[i].rc)
            fail_msg("case %zu: got %s, want %s", i, ami_errname(rc), ami_errname(cases[i].rc));
        if (rc == AMI_OK)
            assert_int_equal(info.count, cases[i].count);
        if (i == 0) {
            assert_int_equal(rd[0].mantissa, 100);
            assert_int_equal(rd[0].scale, -3);
            assert_string_equal(rd[0].unit, "Wh");
            assert_false(rd[0].has_time);
        }
        if (i == 1) {
            assert_int_equal(rd[0].mantissa, 5);
            assert_string_equal(rd[0].unit, "");
            assert_int_equal(rd[1].kind, AMI_VALUE_STRING);
            assert_int_equal(rd[1].str_len, 3);
            assert_memory_equal(rd[1].str, "ABC", 3);
        }
        if (i == 12)
            assert_int_equal(info.skipped, 5);
        tu_guard_free(g, n);
        free(b);
    }
}

static void test_notification_small_arena(void **state)
{
    (void)state;
    size_t n;
    uint8_t *plain = tu_read_file(tu_testdata(DIR "austria_evn_netznoe_kaifa_mbus_dlms.plain"), &n);
    uint8_t small[256];
    ami_arena arena;
    ami_arena_init(&arena, small, sizeof small);
    ami_reading rd[16];
    ami_p1_notification info;
    assert_int_equal(ami_p1_notification_parse(plain, n, &arena, rd, 16, &info), AMI_E_NOMEM);
    assert_int_equal(arena.used, 0);
    /* The whole plaintext, guarded: every prefix is refused without reading past it. */
    static uint8_t big[AMI_P1_NOTIFY_ARENA];
    ami_arena_init(&arena, big, sizeof big);
    for (size_t k = 0; k < n; k++) {
        uint8_t *g = tu_guard_copy(plain, k);
        assert_int_not_equal(ami_p1_notification_parse(g, k, &arena, rd, 16, &info), AMI_OK);
        tu_guard_free(g, k);
    }
    uint8_t *g = tu_guard_copy(plain, n);
    assert_int_equal(ami_p1_notification_parse(g, n, &arena, rd, 16, &info), AMI_OK);
    assert_int_equal(info.count, 11);
    tu_guard_free(g, n);
    free(plain);
}

/* Encrypted Smarty frame -> DSMR telegram -> the same ami_reading shape as the DLMS push. */
static void test_smarty_to_readings(void **state)
{
    (void)state;
    size_t blen;
    uint8_t *bin = tu_read_file(
        tu_testdata(DIR "luxembourg_format_sagemcom_t210dr_synthetic_esphome_libs.bin"), &blen);
    ami_sec_ctx ctx;
    make_ctx(&ctx, vecs[1].key);
    static uint8_t telegram[1024];
    size_t tlen, used;
    assert_int_equal(
        ami_p1_smarty_decrypt(&ctx, NULL, bin, blen, telegram, sizeof telegram, &tlen, &used, NULL),
        AMI_OK);
    ami_p1_object objs[32];
    ami_p1_group groups[64];
    ami_p1_telegram t;
    ami_p1_options opt;
    memset(&opt, 0, sizeof opt);
    ami_p1_telegram_init(&t, objs, 32, groups, 64);
    assert_int_equal(ami_p1_parse(telegram, tlen, &opt, &t), AMI_OK);
    size_t found = 0;
    for (uint32_t i = 0; i < t.nobjects; i++) {
        ami_p1_entry e;
        ami_reading r;
        if (t.objects[i].nentries == 0)
            continue;
        assert_int_equal(ami_p1_entry_get(&t, &t.objects[i], 0, &e), AMI_OK);
        assert_int_equal(ami_p1_entry_reading(&t.objects[i], &e, &r), AMI_OK);
        ami_obis imp = AMI_OBIS(1, 0, 1, 8, 0, 255), pw = AMI_OBIS(1, 0, 1, 7, 0, 255),
                 q4 = AMI_OBIS(1, 0, 4, 8, 2, 255), clk = AMI_OBIS(0, 0, 1, 0, 0, 255);
        if (ami_obis_equal(&r.obis, &imp)) {
            assert_int_equal(r.kind, AMI_VALUE_NUMBER);
            assert_int_equal(r.mantissa, 6545766);
            assert_int_equal(r.scale, 0);
            assert_string_equal(r.unit, "Wh");
            found++;
        } else if (ami_obis_equal(&r.obis, &pw)) {
            assert_int_equal(r.mantissa, 286);
            assert_string_equal(r.unit, "W");
            found++;
        } else if (ami_obis_equal(&r.obis, &q4)) {
            assert_int_equal(r.mantissa, 1204878);
            assert_string_equal(r.unit, "varh");
            found++;
        } else if (ami_obis_equal(&r.obis, &clk)) {
            assert_int_equal(r.kind, AMI_VALUE_STRING);
            assert_int_equal(r.str_len, 13);
            assert_memory_equal(r.str, "221006155014S", 13);
            found++;
        }
    }
    assert_int_equal(found, 4);
    ami_sec_ctx_wipe(&ctx);
    free(bin);

    /* A capture time: summer (S) and winter (W) timestamps, Blue Book deviation sign. */
    static const char tg[] = "/ISk5\\2MT382-1000\r\n\r\n"
                             "0-1:24.2.1(220601120000S)(12785.123*m3)\r\n"
                             "0-2:24.2.1(221201120000W)(00001.5*GJ)\r\n!";
    ami_p1_telegram_init(&t, objs, 32, groups, 64);
    assert_int_equal(ami_p1_parse((const uint8_t *)tg, sizeof tg - 1, &opt, &t), AMI_OK);
    assert_int_equal(t.nobjects, 2);
    ami_p1_entry e;
    ami_reading r;
    assert_int_equal(ami_p1_entry_get(&t, &t.objects[0], 0, &e), AMI_OK);
    assert_int_equal(ami_p1_entry_reading(&t.objects[0], &e, &r), AMI_OK);
    assert_int_equal(r.mantissa, 12785123);
    assert_int_equal(r.scale, -3);
    assert_string_equal(r.unit, "m3");
    assert_true(r.has_time);
    assert_int_equal(r.time.year, 2022);
    assert_int_equal(r.time.month, 6);
    assert_int_equal(r.time.day, 1);
    assert_int_equal(r.time.hour, 12);
    assert_int_equal(r.time.deviation, -120);
    assert_int_equal(r.time.status, AMI_CLOCK_DST);
    assert_int_equal(ami_p1_entry_get(&t, &t.objects[1], 0, &e), AMI_OK);
    assert_int_equal(ami_p1_entry_reading(&t.objects[1], &e, &r), AMI_OK);
    assert_int_equal(r.mantissa, 15);
    assert_int_equal(r.scale, -1);
    assert_string_equal(r.unit, "GJ");
    assert_int_equal(r.time.hour, 12);
    assert_int_equal(r.time.deviation, -60);
    assert_int_equal(r.time.status, 0);
}

static void test_format_and_units(void **state)
{
    (void)state;
    ami_reading r = {.kind = AMI_VALUE_NUMBER};
    char b[64];
    struct {
        int64_t m;
        int8_t s;
        const char *want;
    } cases[] = {
        {12937, 0, "12937"},
        {2337, -1, "233.7"},
        {-15, -3, "-0.015"},
        {12, 2, "1200"},
        {0, -2, "0.00"},
        {0, 3, "0"},
        {INT64_MIN, 0, "-9223372036854775808"},
        {5, -1, "0.5"},
    };
    for (size_t i = 0; i < AMI_COUNTOF(cases); i++) {
        r.mantissa = cases[i].m;
        r.scale = cases[i].s;
        assert_int_equal(ami_reading_format_value(&r, b, sizeof b), (int)strlen(cases[i].want));
        assert_string_equal(b, cases[i].want);
    }
    r.mantissa = 123456;
    r.scale = -3;
    assert_int_equal(ami_reading_format_value(&r, b, 7), AMI_E_NOSPACE);
    assert_int_equal(ami_reading_format_value(&r, b, 8), 7);
    assert_string_equal(ami_dlms_unit_text(30), "Wh");
    assert_string_equal(ami_dlms_unit_text(27), "W");
    assert_string_equal(ami_dlms_unit_text(35), "V");
    assert_string_equal(ami_dlms_unit_text(33), "A");
    assert_string_equal(ami_dlms_unit_text(32), "varh");
    assert_string_equal(ami_dlms_unit_text(13), "m3");
    assert_string_equal(ami_dlms_unit_text(255), "");
    assert_null(ami_dlms_unit_text(0));
    assert_null(ami_dlms_unit_text(200));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_file_decrypts_to_plain),
        cmocka_unit_test(test_smarty_frame),
        cmocka_unit_test(test_independent_seed),
        cmocka_unit_test(test_smarty_bit_flips),
        cmocka_unit_test(test_smarty_no_key_capture),
        cmocka_unit_test(test_smarty_replay),
        cmocka_unit_test(test_smarty_stream),
        cmocka_unit_test(test_evn_readings),
        cmocka_unit_test(test_notification_strict),
        cmocka_unit_test(test_notification_small_arena),
        cmocka_unit_test(test_smarty_to_readings),
        cmocka_unit_test(test_format_and_units),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
