/*
 * DLMS ciphering (src/security): the Green Book worked example (auth+enc and auth-only),
 * round trips for every security level and both key sizes, the ciphered-APDU codec, policy
 * and key checks, bit flips, and the replay guard with its persistence hooks.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "ami/ami.h"

/* Green Book (DLMS UA 1000-2 ed. 9) 9.2.7.2.4 example: keys, system title, IC, plaintext. */
static const uint8_t gb_ek[16] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                  0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F};
static const uint8_t gb_ak[16] = {0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7,
                                  0xD8, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF};
static const uint8_t gb_st[8] = {0x4D, 0x4D, 0x4D, 0x00, 0x00, 0xBC, 0x61, 0x4E};
static const uint32_t gb_ic = 0x01234567;
static const uint8_t gb_plain[13] = {0xC0, 0x01, 0x00, 0x00, 0x08, 0x00, 0x00,
                                     0x01, 0x00, 0x00, 0xFF, 0x02, 0x00};

static void gb_ctx(ami_sec_ctx *ctx)
{
    assert_int_equal(ami_sec_ctx_init(ctx), AMI_OK);
    assert_int_equal(ami_sec_ctx_set_ek(ctx, gb_ek, 16), AMI_OK);
    assert_int_equal(ami_sec_ctx_set_ak(ctx, gb_ak, 16), AMI_OK);
}

static void test_green_book_auth_enc(void **state)
{
    (void)state;
    ami_sec_ctx ctx;
    gb_ctx(&ctx);
    size_t n;
    uint8_t *want_ct = tu_hex("411312FF935A47566827C467BC", &n);
    uint8_t *want_tag = tu_hex("7D825C3BE4A77C3FCC056B6B", &n);
    uint8_t ct[13], tag[12], back[13];
    assert_int_equal(ami_sec_encrypt(&ctx, gb_st, 0x30, gb_ic, gb_plain, 13, ct, tag), AMI_OK);
    assert_memory_equal(ct, want_ct, 13);
    assert_memory_equal(tag, want_tag, 12);
    assert_int_equal(ami_sec_decrypt(&ctx, gb_st, 0x30, gb_ic, ct, 13, tag, 12, back), AMI_OK);
    assert_memory_equal(back, gb_plain, 13);
    /* A flipped tag bit and a flipped ciphertext bit are both refused; out is zeroed. */
    tag[11] ^= 0x01;
    assert_int_equal(ami_sec_decrypt(&ctx, gb_st, 0x30, gb_ic, ct, 13, tag, 12, back), AMI_E_AUTH);
    static const uint8_t zero[13];
    assert_memory_equal(back, zero, 13);
    tag[11] ^= 0x01;
    ct[0] ^= 0x80;
    assert_int_equal(ami_sec_decrypt(&ctx, gb_st, 0x30, gb_ic, ct, 13, tag, 12, back), AMI_E_AUTH);
    assert_memory_equal(back, zero, 13);
    ct[0] ^= 0x80;
    /* Wrong IC (IV) and wrong AK (AAD) fail too. */
    assert_int_equal(ami_sec_decrypt(&ctx, gb_st, 0x30, gb_ic + 1, ct, 13, tag, 12, back),
                     AMI_E_AUTH);
    uint8_t other_ak[16] = {0};
    assert_int_equal(ami_sec_ctx_set_ak(&ctx, other_ak, 16), AMI_OK);
    assert_int_equal(ami_sec_decrypt(&ctx, gb_st, 0x30, gb_ic, ct, 13, tag, 12, back), AMI_E_AUTH);
    free(want_ct);
    free(want_tag);
    ami_sec_ctx_wipe(&ctx);
}

static void test_green_book_auth_only(void **state)
{
    (void)state;
    ami_sec_ctx ctx;
    gb_ctx(&ctx);
    size_t n;
    uint8_t *want_tag = tu_hex("06725D910F9221D263877516", &n);
    uint8_t out[13], tag[12], back[13];
    assert_int_equal(ami_sec_encrypt(&ctx, gb_st, 0x10, gb_ic, gb_plain, 13, out, tag), AMI_OK);
    assert_memory_equal(out, gb_plain, 13); /* payload stays plaintext */
    assert_memory_equal(tag, want_tag, 12);
    assert_int_equal(ami_sec_decrypt(&ctx, gb_st, 0x10, gb_ic, out, 13, tag, 12, back), AMI_OK);
    assert_memory_equal(back, gb_plain, 13);
    out[3] ^= 0x04;
    assert_int_equal(ami_sec_decrypt(&ctx, gb_st, 0x10, gb_ic, out, 13, tag, 12, back), AMI_E_AUTH);
    free(want_tag);
    ami_sec_ctx_wipe(&ctx);
}

static void test_enc_only_and_policy(void **state)
{
    (void)state;
    ami_sec_ctx ctx;
    gb_ctx(&ctx);
    uint8_t ct[13], back[13];
    assert_int_equal(ami_sec_encrypt(&ctx, gb_st, 0x20, gb_ic, gb_plain, 13, ct, NULL), AMI_OK);
    /* Encryption-only is the GCM keystream: same ciphertext as with authentication. */
    static const uint8_t gb_ct_head[4] = {0x41, 0x13, 0x12, 0xFF};
    assert_memory_equal(ct, gb_ct_head, 4);
    /* Refused by default (no integrity), accepted when named. */
    assert_int_equal(ami_sec_decrypt(&ctx, gb_st, 0x20, gb_ic, ct, 13, NULL, 0, back),
                     AMI_E_ACCESS);
    ctx.accept |= AMI_SEC_ACCEPT_ENC;
    assert_int_equal(ami_sec_decrypt(&ctx, gb_st, 0x20, gb_ic, ct, 13, NULL, 0, back), AMI_OK);
    assert_memory_equal(back, gb_plain, 13);
    /* Tag presence must match SC. */
    uint8_t tag[12] = {0};
    assert_int_equal(ami_sec_decrypt(&ctx, gb_st, 0x20, gb_ic, ct, 13, tag, 12, back),
                     AMI_E_MALFORMED);
    assert_int_equal(ami_sec_decrypt(&ctx, gb_st, 0x30, gb_ic, ct, 13, NULL, 0, back),
                     AMI_E_MALFORMED);
    /* Security control checks. */
    assert_int_equal(ami_sec_check_sc(&ctx, 0x30), AMI_OK);
    assert_int_equal(ami_sec_check_sc(&ctx, 0xB0), AMI_E_UNSUPPORTED); /* compression */
    assert_int_equal(ami_sec_check_sc(&ctx, 0x33), AMI_E_UNSUPPORTED); /* suite 3 */
    assert_int_equal(ami_sec_check_sc(&ctx, 0x00), AMI_E_MALFORMED);   /* no protection */
    assert_int_equal(ami_sec_check_sc(&ctx, 0x32), AMI_E_KEY);         /* suite 2 needs 256 */
    assert_int_equal(ami_sec_check_sc(&ctx, 0x31), AMI_OK);            /* suite 1: AES-128 */
    ctx.accept = AMI_SEC_ACCEPT_AUTH_ENC;
    assert_int_equal(ami_sec_check_sc(&ctx, 0x10), AMI_E_ACCESS);
    ami_sec_ctx_wipe(&ctx);
    /* Key errors. */
    assert_int_equal(ami_sec_ctx_init(&ctx), AMI_OK);
    assert_int_equal(ami_sec_ctx_set_ek(&ctx, gb_ek, 15), AMI_E_KEY);
    assert_int_equal(ami_sec_check_sc(&ctx, 0x30), AMI_E_KEY); /* no EK */
    assert_int_equal(ami_sec_ctx_set_ek(&ctx, gb_ek, 16), AMI_OK);
    assert_int_equal(ami_sec_check_sc(&ctx, 0x30), AMI_E_KEY); /* no AK */
    ami_sec_ctx_wipe(&ctx);
    static const uint8_t zero[AMI_SEC_KEY_MAX];
    assert_memory_equal(ctx.ek, zero, sizeof(zero));
    assert_null(ctx.evp);
    ami_sec_ctx_wipe(&ctx); /* twice is harmless */
}

static void test_round_trips(void **state)
{
    (void)state;
    uint64_t seed = 7;
    uint8_t key[32], ak[32], st[8];
    for (size_t i = 0; i < 32; i++) {
        key[i] = (uint8_t)tu_rand(&seed);
        ak[i] = (uint8_t)tu_rand(&seed);
    }
    memcpy(st, gb_st, 8);
    static const uint8_t levels[] = {0x10, 0x20, 0x30, 0x50, 0x60, 0x70};
    uint8_t plain[600], ct[600], back[600], tag[12];
    for (size_t i = 0; i < sizeof plain; i++)
        plain[i] = (uint8_t)tu_rand(&seed);
    for (unsigned suite = 0; suite <= 2; suite++) {
        ami_sec_ctx ctx;
        assert_int_equal(ami_sec_ctx_init(&ctx), AMI_OK);
        assert_int_equal(ami_sec_ctx_set_ek(&ctx, key, suite == 2 ? 32 : 16), AMI_OK);
        assert_int_equal(ami_sec_ctx_set_ak(&ctx, ak, suite == 2 ? 32 : 16), AMI_OK);
        ctx.accept |= AMI_SEC_ACCEPT_ENC;
        for (size_t l = 0; l < AMI_COUNTOF(levels); l++) {
            uint8_t sc = (uint8_t)(levels[l] | suite);
            bool a = sc & AMI_SEC_SC_AUTH;
            for (size_t n = 0; n <= sizeof plain; n += 37) {
                uint32_t ic = (uint32_t)tu_rand(&seed);
                assert_int_equal(ami_sec_encrypt(&ctx, st, sc, ic, plain, n, ct, tag), AMI_OK);
                /* Alternate directions on one context: rekeying must be transparent. */
                assert_int_equal(
                    ami_sec_decrypt(&ctx, st, sc, ic, ct, n, a ? tag : NULL, a ? 12 : 0, back),
                    AMI_OK);
                assert_memory_equal(back, plain, n);
                /* In place. */
                memcpy(back, ct, n);
                assert_int_equal(
                    ami_sec_decrypt(&ctx, st, sc, ic, back, n, a ? tag : NULL, a ? 12 : 0, back),
                    AMI_OK);
                assert_memory_equal(back, plain, n);
            }
        }
        ami_sec_ctx_wipe(&ctx);
    }
}

static void test_apdu_codec(void **state)
{
    (void)state;
    ami_sec_ctx ctx;
    gb_ctx(&ctx);
    uint8_t buf[64];
    ami_wr w;
    /* glo-get-request (200) as in the Green Book example: C8 1E 30 01234567 ct tag. */
    ami_wr_init(&w, buf, sizeof buf);
    assert_int_equal(ami_sec_apdu_build(&ctx, &w, 200, gb_st, 0x30, gb_ic, gb_plain, 13), AMI_OK);
    size_t n;
    uint8_t *want = tu_hex("C81E3001234567411312FF935A47566827C467BC7D825C3BE4A77C3FCC056B6B", &n);
    assert_int_equal(w.len, n);
    assert_memory_equal(buf, want, n);
    free(want);
    ami_sec_apdu a;
    size_t used;
    assert_int_equal(ami_sec_apdu_parse(buf, w.len, &a, &used), AMI_OK);
    assert_int_equal(used, w.len);
    assert_int_equal(a.tag, 200);
    assert_null(a.system_title);
    assert_int_equal(a.sc, 0x30);
    assert_int_equal(a.ic, gb_ic);
    assert_int_equal(a.payload_len, 13);
    assert_int_equal(a.auth_tag_len, 12);
    uint8_t out[32];
    size_t out_len;
    /* A service APDU has no system title: the caller must give the sender's. */
    assert_int_equal(ami_sec_apdu_decrypt(&ctx, &a, NULL, out, sizeof out, &out_len), AMI_E_INVAL);
    assert_int_equal(ami_sec_apdu_decrypt(&ctx, &a, gb_st, out, sizeof out, &out_len), AMI_OK);
    assert_int_equal(out_len, 13);
    assert_memory_equal(out, gb_plain, 13);
    assert_int_equal(ami_sec_apdu_decrypt(&ctx, &a, gb_st, out, 12, &out_len), AMI_E_NOSPACE);

    /* general-glo-ciphering carries the title; measuring mode gives the same length. */
    ami_wr m;
    ami_wr_init(&m, NULL, 0);
    assert_int_equal(ami_sec_apdu_build(&ctx, &m, 0xDB, gb_st, 0x30, gb_ic, gb_plain, 13), AMI_OK);
    ami_wr_init(&w, buf, sizeof buf);
    assert_int_equal(ami_sec_apdu_build(&ctx, &w, 0xDB, gb_st, 0x30, gb_ic, gb_plain, 13), AMI_OK);
    assert_int_equal(m.len, w.len);
    assert_int_equal(w.len, 1 + 1 + 8 + 1 + 5 + 13 + 12);
    assert_int_equal(ami_sec_apdu_parse(buf, w.len, &a, &used), AMI_OK);
    assert_memory_equal(a.system_title, gb_st, 8);
    assert_int_equal(ami_sec_apdu_decrypt(&ctx, &a, NULL, out, sizeof out, &out_len), AMI_OK);
    assert_memory_equal(out, gb_plain, 13);
    /* Every proper prefix is TRUNCATED; the needed length is told once the header is in. */
    for (size_t k = 0; k < w.len; k++) {
        uint8_t *g = tu_guard_copy(buf, k);
        assert_int_equal(ami_sec_apdu_parse(g, k, &a, &used), AMI_E_TRUNCATED);
        assert_int_equal(used, k >= 11 ? w.len : 0);
        tu_guard_free(g, k);
    }
    /* Too small a writer. */
    ami_wr_init(&w, buf, 20);
    assert_int_equal(ami_sec_apdu_build(&ctx, &w, 0xDB, gb_st, 0x30, gb_ic, gb_plain, 13),
                     AMI_E_NOSPACE);
    assert_int_equal(ami_sec_apdu_build(&ctx, &w, 0xC0, gb_st, 0x30, gb_ic, gb_plain, 13),
                     AMI_E_INVAL); /* get-request is not a ciphered APDU */
    ami_sec_ctx_wipe(&ctx);
}

static void test_apdu_malformed(void **state)
{
    (void)state;
    ami_sec_apdu a;
    struct {
        const char *hex;
        int rc;
    } cases[] = {
        {"C0 01 02", AMI_E_PROTOCOL},                                 /* not ciphered */
        {"DB 07 01020304050607 05 2000000001", AMI_E_MALFORMED},      /* 7-byte title */
        {"DB 08 0102030405060708 04 20000000", AMI_E_MALFORMED},      /* content < header */
        {"DB 08 0102030405060708 05 3000000001", AMI_E_MALFORMED},    /* A without tag */
        {"DB 08 0102030405060708 05 A000000001", AMI_E_UNSUPPORTED},  /* compression */
        {"DB 08 0102030405060708 81 05 2000000001", AMI_E_MALFORMED}, /* non-minimal length */
        {"DB 08 0102030405060708 82 0005 2000000001", AMI_E_MALFORMED},
        {"DB 08 0102030405060708 85 0000000001", AMI_E_MALFORMED}, /* 5 length bytes */
        {"DB 08 0102030405060708 84 80000000", AMI_E_TOO_LARGE},
        {"DB 08 0102030405060708 80", AMI_E_MALFORMED},
        {"DB", AMI_E_TRUNCATED},
        {"", AMI_E_TRUNCATED},
    };
    for (size_t i = 0; i < AMI_COUNTOF(cases); i++) {
        size_t n;
        uint8_t *b = tu_hex(cases[i].hex, &n);
        uint8_t *g = tu_guard_copy(b, n);
        int rc = ami_sec_apdu_parse(g, n, &a, NULL);
        if (rc != cases[i].rc)
            fail_msg("case %zu (%s): got %s, want %s", i, cases[i].hex, ami_errname(rc),
                     ami_errname(cases[i].rc));
        tu_guard_free(g, n);
        free(b);
    }
    /* Enc-only with an empty payload is well-formed. */
    size_t n;
    uint8_t *b = tu_hex("DB 08 0102030405060708 05 2000000001", &n);
    assert_int_equal(ami_sec_apdu_parse(b, n, &a, NULL), AMI_OK);
    assert_int_equal(a.payload_len, 0);
    assert_null(a.auth_tag);
    free(b);
    assert_true(ami_apdu_is_ciphered(0xDB));
    assert_true(ami_apdu_is_ciphered(0xDC));
    assert_true(ami_apdu_is_ciphered(207));
    assert_false(ami_apdu_is_ciphered(206));
    assert_false(ami_apdu_is_ciphered(0x0F));
    /* general-ciphering (0xDD) has another layout: refused by this parser, not misread. */
    b = tu_hex("DD 08 0102030405060708 05 2000000001", &n);
    assert_int_equal(ami_sec_apdu_parse(b, n, &a, NULL), AMI_E_PROTOCOL);
    free(b);
}

/* ---------------------------------------------------------------- replay guard */

struct mem_store {
    uint8_t st[8];
    uint32_t ic;
    bool have;
    int loads, saves;
    int save_rc;
};

static int mem_load(void *user, const uint8_t st[8], uint32_t *ic)
{
    struct mem_store *s = user;
    s->loads++;
    if (!s->have || memcmp(s->st, st, 8) != 0)
        return AMI_E_NOTFOUND;
    *ic = s->ic;
    return AMI_OK;
}

static int mem_save(void *user, const uint8_t st[8], uint32_t ic)
{
    struct mem_store *s = user;
    s->saves++;
    memcpy(s->st, st, 8);
    s->ic = ic;
    s->have = true;
    return s->save_rc;
}

static void test_replay(void **state)
{
    (void)state;
    ami_replay_entry slots[2];
    ami_replay r;
    assert_int_equal(ami_replay_init(&r, slots, 2, NULL), AMI_OK);
    const uint8_t a[8] = "METER-A", b[8] = "METER-B", c[8] = "METER-C";
    assert_int_equal(ami_replay_check(&r, a, 5), AMI_OK);
    assert_int_equal(ami_replay_accept(&r, a, 5), AMI_OK);
    assert_int_equal(ami_replay_check(&r, a, 5), AMI_E_REPLAY);
    assert_int_equal(ami_replay_accept(&r, a, 4), AMI_E_REPLAY);
    assert_int_equal(ami_replay_accept(&r, a, 6), AMI_OK);
    /* Counters are per system title. */
    assert_int_equal(ami_replay_accept(&r, b, 1), AMI_OK);
    assert_int_equal(ami_replay_check(&r, a, 6), AMI_E_REPLAY);
    /* The table is bounded. */
    assert_int_equal(ami_replay_check(&r, c, 1), AMI_E_TOO_LARGE);
    /* After 0xFFFFFFFF nothing more can be accepted. */
    assert_int_equal(ami_replay_accept(&r, b, UINT32_MAX), AMI_OK);
    assert_int_equal(ami_replay_check(&r, b, UINT32_MAX), AMI_E_REPLAY);

    /* Persistence: a restart loads the last counter and refuses a replay. */
    struct mem_store s = {0};
    ami_replay_store store = {mem_load, mem_save, &s};
    assert_int_equal(ami_replay_init(&r, slots, 2, &store), AMI_OK);
    assert_int_equal(ami_replay_accept(&r, a, 100), AMI_OK);
    assert_int_equal(s.saves, 1);
    assert_int_equal(s.ic, 100);
    assert_int_equal(ami_replay_init(&r, slots, 2, &store), AMI_OK); /* "restart" */
    assert_int_equal(ami_replay_check(&r, a, 100), AMI_E_REPLAY);
    assert_int_equal(s.loads, 2);
    assert_int_equal(ami_replay_check(&r, a, 101), AMI_OK);
    assert_int_equal(s.loads, 2); /* loaded once, then cached */
    s.save_rc = AMI_E_IO;
    assert_int_equal(ami_replay_accept(&r, a, 101), AMI_E_IO);
    assert_int_equal(ami_replay_check(&r, a, 101), AMI_E_REPLAY); /* kept in memory */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_green_book_auth_enc),
        cmocka_unit_test(test_green_book_auth_only),
        cmocka_unit_test(test_enc_only_and_policy),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_apdu_codec),
        cmocka_unit_test(test_apdu_malformed),
        cmocka_unit_test(test_replay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
