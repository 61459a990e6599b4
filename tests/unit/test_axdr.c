/*
 * A-XDR codec: the Data values of ../shared/testdata (tests/vectors/axdr.txt, extracted with
 * their expected decode by an independent decoder), hand-made vectors for every type and
 * compact-array form, hostile input (tests/vectors/axdr_bad.txt), every truncation of every
 * vector against a guard page, limits, arena exhaustion, length forms, seeded random round
 * trips, builders and getters.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "ami/ami.h"
#include "axdr/axdr_internal.h"

static uint8_t arena_buf[64u << 20]; /* holds max_nodes (1,000,000) nodes */

/* ---------------------------------------------------------------- notation (test-side) */

struct sbuf {
    char *p;
    size_t len, cap;
};

static void sb_add(struct sbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

static void sb_hex(struct sbuf *b, const uint8_t *p, size_t n)
{
    char two[3];
    for (size_t i = 0; i < n; i++) {
        snprintf(two, sizeof two, "%02X", p[i]);
        sb_add(b, two);
    }
}

static void note_desc(struct sbuf *b, const ami_axdr_value *d)
{
    char tmp[32];
    if (d->type == AMI_AXDR_ARRAY) {
        snprintf(tmp, sizeof tmp, "arr%u(", (unsigned)d->count);
        sb_add(b, tmp);
        note_desc(b, d->child);
        sb_add(b, ")");
    } else if (d->type == AMI_AXDR_STRUCTURE) {
        sb_add(b, "st(");
        for (const ami_axdr_value *c = d->child; c; c = c->next) {
            note_desc(b, c);
            if (c->next)
                sb_add(b, " ");
        }
        sb_add(b, ")");
    } else {
        snprintf(tmp, sizeof tmp, "t%u", d->type);
        sb_add(b, tmp);
    }
}

/* The notation of extract_axdr.py (recursion is fine in a test: depth is bounded). */
static void note(struct sbuf *b, const ami_axdr_value *v)
{
    char tmp[64];
    uint32_t f32;
    uint64_t f64;
    switch (v->type) {
    case AMI_AXDR_NULL_DATA:
        sb_add(b, "null");
        return;
    case AMI_AXDR_DONT_CARE:
        sb_add(b, "dc");
        return;
    case AMI_AXDR_BOOLEAN:
        snprintf(tmp, sizeof tmp, "bool:%llu", (unsigned long long)v->v.u);
        break;
    case AMI_AXDR_INTEGER:
    case AMI_AXDR_LONG:
    case AMI_AXDR_DOUBLE_LONG:
    case AMI_AXDR_LONG64:
        snprintf(tmp, sizeof tmp, "%s:%lld",
                 v->type == AMI_AXDR_INTEGER  ? "i8"
                 : v->type == AMI_AXDR_LONG   ? "i16"
                 : v->type == AMI_AXDR_LONG64 ? "i64"
                                              : "i32",
                 (long long)v->v.i);
        break;
    case AMI_AXDR_UNSIGNED:
    case AMI_AXDR_LONG_UNSIGNED:
    case AMI_AXDR_DOUBLE_LONG_UNSIGNED:
    case AMI_AXDR_LONG64_UNSIGNED:
    case AMI_AXDR_ENUM:
    case AMI_AXDR_BCD:
        snprintf(tmp, sizeof tmp, "%s:%llu",
                 v->type == AMI_AXDR_UNSIGNED          ? "u8"
                 : v->type == AMI_AXDR_LONG_UNSIGNED   ? "u16"
                 : v->type == AMI_AXDR_LONG64_UNSIGNED ? "u64"
                 : v->type == AMI_AXDR_ENUM            ? "enum"
                 : v->type == AMI_AXDR_BCD             ? "bcd"
                                                       : "u32",
                 (unsigned long long)v->v.u);
        break;
    case AMI_AXDR_FLOAT32:
        f32 = ami__axdr_double_to_f32(v->v.f);
        snprintf(tmp, sizeof tmp, "f32:%08X", (unsigned)f32);
        break;
    case AMI_AXDR_FLOAT64:
        memcpy(&f64, &v->v.f, 8);
        snprintf(tmp, sizeof tmp, "f64:%016llX", (unsigned long long)f64);
        break;
    case AMI_AXDR_OCTET_STRING:
    case AMI_AXDR_VISIBLE_STRING:
    case AMI_AXDR_UTF8_STRING:
    case AMI_AXDR_DATE_TIME:
    case AMI_AXDR_DATE:
    case AMI_AXDR_TIME:
        sb_add(b, v->type == AMI_AXDR_OCTET_STRING     ? "os:"
                  : v->type == AMI_AXDR_VISIBLE_STRING ? "vs:"
                  : v->type == AMI_AXDR_UTF8_STRING    ? "utf8:"
                  : v->type == AMI_AXDR_DATE_TIME      ? "dt:"
                  : v->type == AMI_AXDR_DATE           ? "date:"
                                                       : "time:");
        sb_hex(b, v->v.bytes, v->count);
        return;
    case AMI_AXDR_BIT_STRING:
        snprintf(tmp, sizeof tmp, "bits:%u:", (unsigned)v->count);
        sb_add(b, tmp);
        sb_hex(b, v->v.bytes, (v->count + 7) / 8);
        return;
    case AMI_AXDR_ARRAY:
    case AMI_AXDR_STRUCTURE: {
        sb_add(b, v->type == AMI_AXDR_ARRAY ? "arr(" : "st(");
        uint32_t n = 0;
        for (const ami_axdr_value *c = v->child; c; c = c->next, n++) {
            note(b, c);
            if (c->next)
                sb_add(b, " ");
        }
        assert_int_equal(n, v->count);
        sb_add(b, ")");
        return;
    }
    case AMI_AXDR_COMPACT_ARRAY: {
        sb_add(b, "ca(");
        note_desc(b, v->type_desc);
        sb_add(b, "; ");
        uint32_t n = 0;
        for (const ami_axdr_value *c = v->child; c; c = c->next, n++) {
            note(b, c);
            if (c->next)
                sb_add(b, " ");
        }
        assert_int_equal(n, v->count);
        sb_add(b, ")");
        return;
    }
    default:
        fail_msg("unexpected type %u", v->type);
    }
    sb_add(b, tmp);
}

/* Nodes as extract_axdr.py counts them (compact-arrays are not in the large vectors). */
static unsigned count_nodes(const ami_axdr_value *v)
{
    unsigned n = 1;
    for (const ami_axdr_value *c = v->child; c; c = c->next)
        n += count_nodes(c);
    return n;
}

/* Structural equality; float NaNs compare by bits. */
static bool same_tree(const ami_axdr_value *a, const ami_axdr_value *b)
{
    if (!a || !b)
        return a == b;
    if (a->type != b->type || a->count != b->count)
        return false;
    switch (a->type) {
    case AMI_AXDR_ARRAY:
    case AMI_AXDR_STRUCTURE:
    case AMI_AXDR_COMPACT_ARRAY:
        if (a->type == AMI_AXDR_COMPACT_ARRAY && !same_tree(a->type_desc, b->type_desc))
            return false;
        for (a = a->child, b = b->child; a && b; a = a->next, b = b->next)
            if (!same_tree(a, b))
                return false;
        return !a && !b;
    case AMI_AXDR_OCTET_STRING:
    case AMI_AXDR_VISIBLE_STRING:
    case AMI_AXDR_UTF8_STRING:
    case AMI_AXDR_DATE_TIME:
    case AMI_AXDR_DATE:
    case AMI_AXDR_TIME:
        return !a->count || memcmp(a->v.bytes, b->v.bytes, a->count) == 0;
    case AMI_AXDR_BIT_STRING:
        return !a->count || memcmp(a->v.bytes, b->v.bytes, (a->count + 7) / 8) == 0;
    case AMI_AXDR_FLOAT32:
    case AMI_AXDR_FLOAT64:
        return memcmp(&a->v.f, &b->v.f, sizeof a->v.f) == 0;
    default:
        return a->v.u == b->v.u;
    }
}

/* ---------------------------------------------------------------- vector files */

struct vec {
    char *label;
    uint8_t *bytes;
    size_t len;
    char *expect;
};

static size_t load_vectors(const char *path, struct vec **out)
{
    size_t flen;
    char *text = (char *)tu_read_file(path, &flen);
    size_t n = 0, cap = 256;
    struct vec *v = calloc(cap, sizeof *v);
    assert_non_null(v);
    char *save = text;
    for (char *line = text; line && *line;) {
        char *eol = strchr(line, '\n');
        if (eol)
            *eol = 0;
        if (strncmp(line, "label ", 6) == 0) {
            if (n == cap) {
                cap *= 2;
                v = realloc(v, cap * sizeof *v);
                assert_non_null(v);
            }
            v[n].label = strdup(line + 6);
        } else if (strncmp(line, "hex ", 4) == 0) {
            v[n].bytes = tu_hex(line + 4, &v[n].len);
        } else if (strncmp(line, "expect ", 7) == 0) {
            v[n].expect = strdup(line + 7);
            n++;
        }
        line = eol ? eol + 1 : NULL;
    }
    free(save);
    *out = v;
    return n;
}

static void free_vectors(struct vec *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].label);
        free(v[i].bytes);
        free(v[i].expect);
    }
    free(v);
}

/* Decodes a vector placed against a guard page and checks everything about it. */
static void check_vector(const struct vec *t)
{
    ami_arena a;
    ami_arena_init(&a, arena_buf, sizeof arena_buf);
    uint8_t *g = tu_guard_copy(t->bytes, t->len);
    ami_rd r;
    ami_rd_init(&r, g, t->len);
    ami_axdr_value *v = NULL;
    int rc = ami_axdr_decode(&r, &a, NULL, &v);
    if (rc)
        fail_msg("%s: %s", t->label, ami_errname(rc));
    assert_int_equal(r.pos, t->len);

    struct sbuf sb = {0};
    note(&sb, v);
    if (strncmp(t->expect, "nodes:", 6) == 0) {
        assert_int_equal(count_nodes(v), strtoul(t->expect + 6, NULL, 10));
    } else if (strcmp(sb.p, t->expect) != 0) {
        fail_msg("%s:\n got    %s\n expect %s", t->label, sb.p, t->expect);
    }
    free(sb.p);

    /* skip consumes the same bytes */
    ami_rd_init(&r, g, t->len);
    assert_int_equal(ami_axdr_skip(&r, NULL), AMI_OK);
    assert_int_equal(r.pos, t->len);

    /* exact re-encode, and the measuring writer agrees */
    uint8_t *out = malloc(t->len + 16);
    assert_non_null(out);
    ami_wr w;
    ami_wr_init(&w, out, t->len + 16);
    assert_int_equal(ami_axdr_encode(&w, v), AMI_OK);
    assert_int_equal(w.len, t->len);
    assert_memory_equal(out, t->bytes, t->len);
    ami_wr_init(&w, NULL, 0);
    assert_int_equal(ami_axdr_encode(&w, v), AMI_OK);
    assert_int_equal(w.len, t->len);
    /* one byte too small: NOSPACE */
    ami_wr_init(&w, out, t->len - 1);
    assert_int_equal(ami_axdr_encode(&w, v), AMI_E_NOSPACE);
    free(out);

    /* every strict prefix is TRUNCATED, never a read past the end (guard page) */
    size_t step = t->len > 4096 ? 13 : 1;
    for (size_t cut = 0; cut < t->len; cut += step) {
        uint8_t *p = tu_guard_copy(t->bytes, cut);
        ami_arena_reset(&a);
        ami_rd_init(&r, p, cut);
        rc = ami_axdr_decode(&r, &a, NULL, &v);
        if (rc != AMI_E_TRUNCATED)
            fail_msg("%s cut at %zu: %s", t->label, cut, ami_errname(rc));
        ami_rd_init(&r, p, cut);
        assert_int_equal(ami_axdr_skip(&r, NULL), AMI_E_TRUNCATED);
        tu_guard_free(p, cut);
    }
    tu_guard_free(g, t->len);
}

static void run_file(const char *rel, size_t min_count)
{
    struct vec *v;
    size_t n = load_vectors(tu_testsdir(rel), &v);
    assert_true(n >= min_count);
    for (size_t i = 0; i < n; i++)
        check_vector(&v[i]);
    free_vectors(v, n);
}

static void test_capture_vectors(void **state)
{
    (void)state;
    run_file("vectors/axdr.txt", 150);
}

static void test_handmade_vectors(void **state)
{
    (void)state;
    run_file("vectors/axdr_handmade.txt", 30);
}

/* A few values asserted field by field, as a consumer reads them. */
static void test_fields(void **state)
{
    (void)state;
    ami_arena a;
    ami_arena_init(&a, arena_buf, sizeof arena_buf);
    size_t len;
    /* Gurux clock object list entry: {class 8, 0.0.1.0.0.255, version 0, access ...} */
    uint8_t *b = tu_hex("020412000809060000010000FF0F02120000", &len);
    ami_rd r;
    ami_rd_init(&r, b, len);
    ami_axdr_value *v;
    assert_int_equal(ami_axdr_decode(&r, &a, NULL, &v), AMI_OK);
    assert_int_equal(v->type, AMI_AXDR_STRUCTURE);
    assert_int_equal(v->count, 4);
    uint64_t u;
    int64_t i;
    assert_int_equal(ami_axdr_get_u64(ami_axdr_child(v, 0), &u), AMI_OK);
    assert_int_equal(u, 8);
    const uint8_t *ln;
    size_t lnlen;
    assert_int_equal(ami_axdr_get_bytes(ami_axdr_child(v, 1), AMI_AXDR_OCTET_STRING, &ln, &lnlen),
                     AMI_OK);
    assert_int_equal(lnlen, 6);
    assert_memory_equal(ln, "\x00\x00\x01\x00\x00\xFF", 6);
    assert_int_equal(ami_axdr_get_i64(ami_axdr_child(v, 2), &i), AMI_OK);
    assert_int_equal(i, 2);
    assert_null(ami_axdr_child(v, 4));
    assert_null(ami_axdr_child(ami_axdr_child(v, 0), 0));
    assert_int_equal(ami_axdr_get_bytes(ami_axdr_child(v, 1), AMI_AXDR_VISIBLE_STRING, &ln, &lnlen),
                     AMI_E_TYPE);
    assert_int_equal(ami_axdr_get_u64(v, &u), AMI_E_TYPE);
    free(b);

    /* double-long-unsigned 5009 (xDLMS GET response) and double/float getters */
    b = tu_hex("0600001391", &len);
    ami_rd_init(&r, b, len);
    assert_int_equal(ami_axdr_decode(&r, &a, NULL, &v), AMI_OK);
    double d;
    assert_int_equal(ami_axdr_get_double(v, &d), AMI_OK);
    assert_true(d == 5009.0);
    free(b);

    /* OBIS, date-time and boolean getters */
    b = tu_hex(
        "0204 0906 0100010800FF 090C 07EA0B160703073A00FFC400 1907EA0B160703073A00FFC400 0303",
        &len);
    ami_rd_init(&r, b, len);
    assert_int_equal(ami_axdr_decode(&r, &a, NULL, &v), AMI_OK);
    ami_obis ob;
    assert_int_equal(ami_axdr_get_obis(ami_axdr_child(v, 0), &ob), AMI_OK);
    assert_true(ami_obis_equal(&ob, &AMI_OBIS(1, 0, 1, 8, 0, 255)));
    assert_int_equal(ami_axdr_get_obis(ami_axdr_child(v, 1), &ob), AMI_E_TYPE);
    ami_datetime dt;
    for (uint32_t k = 1; k <= 2; k++) {
        assert_int_equal(ami_axdr_get_datetime(ami_axdr_child(v, k), &dt), AMI_OK);
        assert_int_equal(dt.year, 2026);
        assert_int_equal(dt.minute, 7);
        assert_int_equal(dt.deviation, -60);
    }
    assert_int_equal(ami_axdr_get_datetime(ami_axdr_child(v, 0), &dt), AMI_E_TYPE);
    bool flag = false;
    assert_int_equal(ami_axdr_get_bool(ami_axdr_child(v, 3), &flag), AMI_OK);
    assert_true(flag);
    assert_int_equal(ami_axdr_get_bool(ami_axdr_child(v, 0), &flag), AMI_E_TYPE);
    assert_int_equal(ami_axdr_get_bool(NULL, &flag), AMI_E_INVAL);
    free(b);
    b = tu_hex("090C07E8021E070A1E00FF800080", &len); /* 30 February */
    ami_rd_init(&r, b, len);
    assert_int_equal(ami_axdr_decode(&r, &a, NULL, &v), AMI_OK);
    assert_int_equal(ami_axdr_get_datetime(v, &dt), AMI_E_RANGE);
    free(b);

    ami_axdr_value neg = {.type = AMI_AXDR_LONG, .v.i = -5};
    assert_int_equal(ami_axdr_get_u64(&neg, &u), AMI_E_RANGE);
    ami_axdr_value big = {.type = AMI_AXDR_LONG64_UNSIGNED, .v.u = UINT64_MAX};
    assert_int_equal(ami_axdr_get_i64(&big, &i), AMI_E_RANGE);
    ami_axdr_value f = {.type = AMI_AXDR_FLOAT32, .v.f = 1.5};
    assert_int_equal(ami_axdr_get_double(&f, &d), AMI_OK);
    assert_true(d == 1.5);
    assert_int_equal(ami_axdr_get_i64(&f, &i), AMI_E_TYPE);
    assert_int_equal(ami_axdr_get_i64(NULL, &i), AMI_E_INVAL);
    assert_true(ami_axdr_is_signed(AMI_AXDR_LONG64));
    assert_false(ami_axdr_is_signed(AMI_AXDR_ENUM));
    assert_true(ami_axdr_is_unsigned(AMI_AXDR_ENUM));
}

static void test_bad_vectors(void **state)
{
    (void)state;
    size_t flen;
    char *text = (char *)tu_read_file(tu_testsdir("vectors/axdr_bad.txt"), &flen);
    int count = 0;
    ami_arena a;
    ami_arena_init(&a, arena_buf, sizeof arena_buf);
    for (char *line = text; line && *line;) {
        char *eol = strchr(line, '\n');
        if (eol)
            *eol = 0;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        if (*line) {
            char *sp = strchr(line, ' ');
            assert_non_null(sp);
            *sp = 0;
            const char *want = line;
            const char *hex = sp + 1;
            while (*hex == ' ')
                hex++;
            size_t len = 0;
            uint8_t *b = strncmp(hex, "-", 1) == 0 ? calloc(1, 1) : tu_hex(hex, &len);
            uint8_t *g = tu_guard_copy(b, len);
            ami_rd r;
            ami_arena_reset(&a);
            ami_rd_init(&r, g, len);
            ami_axdr_value *v = NULL;
            int rc = ami_axdr_decode(&r, &a, NULL, &v);
            if (strcmp(ami_errname(rc), want) != 0)
                fail_msg("decode %s: got %s, want %s", hex, ami_errname(rc), want);
            assert_null(v);
            assert_true(r.len == len); /* the narrowing of compact contents is undone */
            ami_rd_init(&r, g, len);
            rc = ami_axdr_skip(&r, NULL);
            if (strcmp(ami_errname(rc), want) != 0)
                fail_msg("skip %s: got %s, want %s", hex, ami_errname(rc), want);
            tu_guard_free(g, len);
            free(b);
            count++;
        }
        line = eol ? eol + 1 : NULL;
    }
    free(text);
    assert_true(count >= 30);
}

/* ---------------------------------------------------------------- lengths */

static void test_lengths(void **state)
{
    (void)state;
    static const struct {
        size_t n;
        const char *hex;
    } ok[] = {
        {0, "00"},
        {127, "7F"},
        {128, "8180"},
        {255, "81FF"},
        {256, "820100"},
        {65535, "82FFFF"},
        {65536, "83010000"},
        {0xFFFFFF, "83FFFFFF"},
        {0x1000000, "8401000000"},
        {0xFFFFFFFFu, "84FFFFFFFF"},
    };
    for (size_t i = 0; i < AMI_COUNTOF(ok); i++) {
        uint8_t buf[8];
        ami_wr w;
        ami_wr_init(&w, buf, sizeof buf);
        ami_axdr_put_length(&w, ok[i].n);
        size_t len;
        uint8_t *want = tu_hex(ok[i].hex, &len);
        assert_int_equal(w.len, len);
        assert_memory_equal(buf, want, len);
        uint8_t *g = tu_guard_copy(want, len);
        ami_rd r;
        ami_rd_init(&r, g, len);
        size_t n = 1;
        assert_int_equal(ami_axdr_get_length(&r, &n), AMI_OK);
        assert_int_equal(n, ok[i].n);
        assert_int_equal(r.pos, len);
        for (size_t cut = 0; cut < len; cut++) {
            ami_rd_init(&r, g + (len - cut), cut); /* still ends at the guard page */
            ami_rd_init(&r, want, cut);
            assert_int_equal(ami_axdr_get_length(&r, &n), AMI_E_TRUNCATED);
            assert_int_equal(r.pos, 0);
        }
        tu_guard_free(g, len);
        free(want);
    }
    static const char *bad[] = {"80",     "85000000000001", "FF",        "817F",
                                "820080", "8300FFFF",       "8400FFFFFF"};
    for (size_t i = 0; i < AMI_COUNTOF(bad); i++) {
        size_t len, n;
        uint8_t *b = tu_hex(bad[i], &len);
        ami_rd r;
        ami_rd_init(&r, b, len);
        assert_int_equal(ami_axdr_get_length(&r, &n), AMI_E_MALFORMED);
        assert_int_equal(r.pos, 0);
        free(b);
    }
#if SIZE_MAX > 0xFFFFFFFFu
    ami_wr w;
    uint8_t buf[8];
    ami_wr_init(&w, buf, sizeof buf);
    ami_axdr_put_length(&w, (size_t)0x100000000u);
    assert_int_equal(ami_wr_error(&w), AMI_E_RANGE);
#endif
}

/* ---------------------------------------------------------------- limits and exhaustion */

static int decode_hex_lim(const char *hex, const ami_axdr_limits *lim)
{
    size_t len;
    uint8_t *b = tu_hex(hex, &len);
    ami_arena a;
    ami_arena_init(&a, arena_buf, sizeof arena_buf);
    ami_rd r;
    ami_rd_init(&r, b, len);
    ami_axdr_value *v;
    int rc = ami_axdr_decode(&r, &a, lim, &v);
    ami_rd_init(&r, b, len);
    assert_int_equal(ami_axdr_skip(&r, lim), rc);
    free(b);
    return rc;
}

static void test_depth_limit(void **state)
{
    (void)state;
    ami_axdr_limits lim;
    ami_axdr_limits_default(&lim);
    assert_int_equal(lim.max_depth, 16);
    assert_int_equal(lim.max_nodes, 1000000);
    assert_int_equal(lim.max_length, 1u << 20);
    /* empty containers count as a level */
    assert_int_equal(decode_hex_lim("0101010101010101010101010101010101010101010101010101010101010"
                                    "1010100",
                                    NULL),
                     AMI_E_TOO_DEEP);
    assert_int_equal(decode_hex_lim("01010101010101010101010101010101010101010101010101010101010101"
                                    "00",
                                    NULL),
                     AMI_OK);
    /* exactly 16 nested arrays pass, 17 do not */
    uint8_t buf[2 * 200 + 1];
    for (unsigned depth = 1; depth <= 200; depth++) {
        for (unsigned i = 0; i < depth; i++) {
            buf[2 * i] = AMI_AXDR_ARRAY;
            buf[2 * i + 1] = 1;
        }
        buf[2 * depth] = AMI_AXDR_NULL_DATA;
        size_t len = 2 * depth + 1;
        ami_rd r;
        ami_rd_init(&r, buf, len);
        assert_int_equal(ami_axdr_skip(&r, NULL), depth <= 16 ? AMI_OK : AMI_E_TOO_DEEP);
        /* a limit above the hard ceiling is clamped to AMI_AXDR_MAX_DEPTH */
        lim.max_depth = 1000;
        ami_rd_init(&r, buf, len);
        assert_int_equal(ami_axdr_skip(&r, &lim),
                         depth <= AMI_AXDR_MAX_DEPTH ? AMI_OK : AMI_E_TOO_DEEP);
        lim.max_depth = 0; /* scalars only */
        ami_rd_init(&r, buf, len);
        assert_int_equal(ami_axdr_skip(&r, &lim), AMI_E_TOO_DEEP);
    }
    lim.max_depth = 0;
    assert_int_equal(decode_hex_lim("1105", &lim), AMI_OK);
    /* the compact-array counts as a level, and so does its description */
    lim.max_depth = 1;
    assert_int_equal(decode_hex_lim("131103010203", &lim), AMI_OK);
    assert_int_equal(decode_hex_lim("1301000111 02 0102", &lim), AMI_E_TOO_DEEP);
    assert_int_equal(decode_hex_lim("1301000011 00", &lim), AMI_E_TOO_DEEP);
    lim.max_depth = 2;
    assert_int_equal(decode_hex_lim("1301000111 02 0102", &lim), AMI_OK);
}

static void test_node_and_length_limits(void **state)
{
    (void)state;
    ami_axdr_limits lim;
    ami_axdr_limits_default(&lim);
    lim.max_nodes = 4;
    assert_int_equal(decode_hex_lim("0103110111021103", &lim), AMI_OK); /* 4 nodes */
    lim.max_nodes = 3;
    assert_int_equal(decode_hex_lim("0103110111021103", &lim), AMI_E_TOO_LARGE);
    /* description nodes count: compact-array + st + 2 types = 4, elements 2 x 3 = 6 */
    lim.max_nodes = 10;
    assert_int_equal(decode_hex_lim("130202110906 0502AABB 0600", &lim), AMI_OK);
    lim.max_nodes = 9;
    assert_int_equal(decode_hex_lim("130202110906 0502AABB 0600", &lim), AMI_E_TOO_LARGE);

    ami_axdr_limits_default(&lim);
    lim.max_length = 3;
    assert_int_equal(decode_hex_lim("0903010203", &lim), AMI_OK);
    assert_int_equal(decode_hex_lim("090401020304", &lim), AMI_E_TOO_LARGE);
    assert_int_equal(decode_hex_lim("0103000000", &lim), AMI_OK);
    assert_int_equal(decode_hex_lim("010400000000", &lim), AMI_E_TOO_LARGE);
    assert_int_equal(decode_hex_lim("0418FFFFFF", &lim), AMI_OK); /* 24 bits = 3 bytes */
    assert_int_equal(decode_hex_lim("0419FFFFFF00", &lim), AMI_E_TOO_LARGE);
    assert_int_equal(decode_hex_lim("1311 03 010203", &lim), AMI_OK);
    assert_int_equal(decode_hex_lim("1311 04 01020304", &lim), AMI_E_TOO_LARGE); /* contents */
    assert_int_equal(decode_hex_lim("1301000411 00", &lim), AMI_E_TOO_LARGE);    /* desc count */
    /* fields of a structure description */
    assert_int_equal(decode_hex_lim("1302 03 111111 03 010203", &lim), AMI_OK);
    assert_int_equal(decode_hex_lim("1302 04 11111111 04 01020304", &lim), AMI_E_TOO_LARGE);
}

/* The arena runs out at every possible point: NOMEM, never a crash or a partial success. */
static void test_arena_exhaustion(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = tu_hex("0202 130202110906 0502AABB 0600 01020203110106000000011907EA0B1607030D3900"
                        "0000000203110106000000021907EA0B1607030D3900000000",
                        &len);
    ami_arena a;
    ami_arena_init(&a, arena_buf, sizeof arena_buf);
    ami_rd r;
    ami_rd_init(&r, b, len);
    ami_axdr_value *v;
    assert_int_equal(ami_axdr_decode(&r, &a, NULL, &v), AMI_OK);
    size_t need = a.used;
    static uint8_t small[4096] __attribute__((aligned(16)));
    assert_true(need <= sizeof small);
    for (size_t cap = 0; cap < need; cap++) {
        ami_arena_init(&a, small, cap);
        ami_rd_init(&r, b, len);
        v = NULL;
        assert_int_equal(ami_axdr_decode(&r, &a, NULL, &v), AMI_E_NOMEM);
        assert_null(v);
    }
    ami_arena_init(&a, small, need);
    ami_rd_init(&r, b, len);
    assert_int_equal(ami_axdr_decode(&r, &a, NULL, &v), AMI_OK);
    free(b);

    ami_rd_init(&r, "\x11\x05", 2);
    assert_int_equal(ami_axdr_decode(&r, NULL, NULL, &v), AMI_E_INVAL);
    assert_int_equal(ami_axdr_decode(NULL, &a, NULL, &v), AMI_E_INVAL);
    assert_int_equal(ami_axdr_skip(NULL, NULL), AMI_E_INVAL);
}

/* ---------------------------------------------------------------- encode */

static void test_builders_and_encode(void **state)
{
    (void)state;
    ami_arena a;
    ami_arena_init(&a, arena_buf, sizeof arena_buf);
    static const uint8_t ln[6] = {0, 0, 1, 0, 0, 255};
    ami_axdr_value *s = ami_axdr_new(&a, AMI_AXDR_STRUCTURE);
    assert_int_equal(ami_axdr_append(s, ami_axdr_new_uint(&a, AMI_AXDR_LONG_UNSIGNED, 8)), AMI_OK);
    assert_int_equal(ami_axdr_append(s, ami_axdr_new_bytes(&a, AMI_AXDR_OCTET_STRING, ln, 6)),
                     AMI_OK);
    assert_int_equal(ami_axdr_append(s, ami_axdr_new_int(&a, AMI_AXDR_INTEGER, 2)), AMI_OK);
    assert_int_equal(ami_axdr_append(s, ami_axdr_new_uint(&a, AMI_AXDR_LONG_UNSIGNED, 0)), AMI_OK);
    assert_int_equal(s->count, 4);
    uint8_t out[64];
    ami_wr w;
    ami_wr_init(&w, out, sizeof out);
    assert_int_equal(ami_axdr_encode(&w, s), AMI_OK);
    size_t len;
    uint8_t *want = tu_hex("020412000809060000010000FF0F02120000", &len);
    assert_int_equal(w.len, len);
    assert_memory_equal(out, want, len);
    free(want);

    /* a compact-array built by hand: array of structure {unsigned, octet-string} */
    ami_axdr_value *ca = ami_axdr_new(&a, AMI_AXDR_COMPACT_ARRAY);
    ami_axdr_value *d = ami_axdr_new(&a, AMI_AXDR_STRUCTURE);
    ami_axdr_append(d, ami_axdr_new(&a, AMI_AXDR_UNSIGNED));
    ami_axdr_append(d, ami_axdr_new(&a, AMI_AXDR_OCTET_STRING));
    ca->type_desc = d;
    for (unsigned i = 5; i <= 6; i++) {
        ami_axdr_value *e = ami_axdr_new(&a, AMI_AXDR_STRUCTURE);
        ami_axdr_append(e, ami_axdr_new_uint(&a, AMI_AXDR_UNSIGNED, i));
        ami_axdr_append(e,
                        ami_axdr_new_bytes(&a, AMI_AXDR_OCTET_STRING, "\xAA\xBB", i == 5 ? 2 : 0));
        ami_axdr_append(ca, e);
    }
    ami_wr_init(&w, out, sizeof out);
    assert_int_equal(ami_axdr_encode(&w, ca), AMI_OK);
    want = tu_hex("130202110906 0502AABB 0600", &len);
    assert_int_equal(w.len, len);
    assert_memory_equal(out, want, len);
    free(want);

    /* an element that disagrees with the description */
    ca->last->child->type = AMI_AXDR_LONG_UNSIGNED;
    ami_wr_init(&w, out, sizeof out);
    assert_int_equal(ami_axdr_encode(&w, ca), AMI_E_INVAL);
    ca->last->child->type = AMI_AXDR_UNSIGNED;
    ca->type_desc = NULL;
    ami_wr_init(&w, out, sizeof out);
    assert_int_equal(ami_axdr_encode(&w, ca), AMI_E_INVAL);

    /* Zero-size elements: two null-data would be written as empty contents, which decode as
     * no element at all (and the decoder refuses zero-size elements): refused, not lost. */
    ami_axdr_value *cz = ami_axdr_new(&a, AMI_AXDR_COMPACT_ARRAY);
    cz->type_desc = ami_axdr_new(&a, AMI_AXDR_NULL_DATA);
    ami_axdr_append(cz, ami_axdr_new(&a, AMI_AXDR_NULL_DATA));
    ami_axdr_append(cz, ami_axdr_new(&a, AMI_AXDR_NULL_DATA));
    ami_wr_init(&w, out, sizeof out);
    assert_int_equal(ami_axdr_encode(&w, cz), AMI_E_INVAL);

    /* inconsistent counts and values out of range */
    s->count = 5;
    ami_wr_init(&w, out, sizeof out);
    assert_int_equal(ami_axdr_encode(&w, s), AMI_E_INVAL);
    s->count = 3;
    ami_wr_init(&w, out, sizeof out);
    assert_int_equal(ami_axdr_encode(&w, s), AMI_E_INVAL);
    static const struct {
        uint8_t type;
        int64_t i;
        uint64_t u;
        bool is_signed;
    } range[] = {
        {AMI_AXDR_INTEGER, 128, 0, true},   {AMI_AXDR_INTEGER, -129, 0, true},
        {AMI_AXDR_LONG, 32768, 0, true},    {AMI_AXDR_DOUBLE_LONG, INT64_C(1) << 31, 0, true},
        {AMI_AXDR_UNSIGNED, 0, 256, false}, {AMI_AXDR_LONG_UNSIGNED, 0, 65536, false},
        {AMI_AXDR_ENUM, 0, 256, false},     {AMI_AXDR_DOUBLE_LONG_UNSIGNED, 0, 1ull << 32, false},
        {AMI_AXDR_BOOLEAN, 0, 256, false},  {AMI_AXDR_BCD, 0, 300, false},
    };
    for (size_t i = 0; i < AMI_COUNTOF(range); i++) {
        ami_axdr_value v = {.type = range[i].type};
        if (range[i].is_signed)
            v.v.i = range[i].i;
        else
            v.v.u = range[i].u;
        ami_wr_init(&w, out, sizeof out);
        assert_int_equal(ami_axdr_encode(&w, &v), AMI_E_RANGE);
    }
    ami_axdr_value unknown = {.type = 8};
    ami_wr_init(&w, out, sizeof out);
    assert_int_equal(ami_axdr_encode(&w, &unknown), AMI_E_INVAL);
    ami_axdr_value dt = {.type = AMI_AXDR_DATE_TIME, .count = 11, .v.bytes = out};
    ami_wr_init(&w, out, sizeof out);
    assert_int_equal(ami_axdr_encode(&w, &dt), AMI_E_INVAL);
    assert_int_equal(ami_axdr_encode(NULL, &dt), AMI_E_INVAL);
    ami_axdr_value scalar = {.type = AMI_AXDR_UNSIGNED};
    assert_int_equal(ami_axdr_append(&scalar, &dt), AMI_E_INVAL);
    assert_int_equal(ami_axdr_append(NULL, &dt), AMI_E_INVAL);

    /* 65 nested arrays exceed the encoder's hard ceiling */
    ami_axdr_value *root = ami_axdr_new(&a, AMI_AXDR_ARRAY), *cur = root;
    for (int i = 0; i < AMI_AXDR_MAX_DEPTH; i++) {
        ami_axdr_value *c = ami_axdr_new(&a, AMI_AXDR_ARRAY);
        ami_axdr_append(cur, c);
        cur = c;
    }
    ami_wr_init(&w, NULL, 0);
    assert_int_equal(ami_axdr_encode(&w, root), AMI_E_TOO_DEEP);
    ami_wr_init(&w, NULL, 0);
    assert_int_equal(ami_axdr_encode(&w, root->child), AMI_OK);

    ami_arena small;
    uint8_t tiny[8];
    ami_arena_init(&small, tiny, sizeof tiny);
    assert_null(ami_axdr_new(&small, AMI_AXDR_NULL_DATA));
    assert_null(ami_axdr_new(NULL, AMI_AXDR_NULL_DATA));
}

/* ---------------------------------------------------------------- random round trips */

static const uint8_t scalar_types[] = {
    AMI_AXDR_NULL_DATA,
    AMI_AXDR_BOOLEAN,
    AMI_AXDR_BIT_STRING,
    AMI_AXDR_DOUBLE_LONG,
    AMI_AXDR_DOUBLE_LONG_UNSIGNED,
    AMI_AXDR_OCTET_STRING,
    AMI_AXDR_VISIBLE_STRING,
    AMI_AXDR_UTF8_STRING,
    AMI_AXDR_BCD,
    AMI_AXDR_INTEGER,
    AMI_AXDR_LONG,
    AMI_AXDR_UNSIGNED,
    AMI_AXDR_LONG_UNSIGNED,
    AMI_AXDR_LONG64,
    AMI_AXDR_LONG64_UNSIGNED,
    AMI_AXDR_ENUM,
    AMI_AXDR_FLOAT32,
    AMI_AXDR_FLOAT64,
    AMI_AXDR_DATE_TIME,
    AMI_AXDR_DATE,
    AMI_AXDR_TIME,
    AMI_AXDR_DONT_CARE,
};

static uint8_t rnd_bytes[4096];

static void rnd_scalar(ami_axdr_value *v, uint64_t *seed)
{
    uint64_t x = tu_rand(seed);
    switch (v->type) {
    case AMI_AXDR_BOOLEAN:
    case AMI_AXDR_BCD:
    case AMI_AXDR_UNSIGNED:
    case AMI_AXDR_ENUM:
        v->v.u = x & 0xFF;
        break;
    case AMI_AXDR_LONG_UNSIGNED:
        v->v.u = x & 0xFFFF;
        break;
    case AMI_AXDR_DOUBLE_LONG_UNSIGNED:
        v->v.u = x & 0xFFFFFFFFu;
        break;
    case AMI_AXDR_LONG64_UNSIGNED:
        v->v.u = x;
        break;
    case AMI_AXDR_INTEGER:
        v->v.i = (int8_t)x;
        break;
    case AMI_AXDR_LONG:
        v->v.i = (int16_t)x;
        break;
    case AMI_AXDR_DOUBLE_LONG:
        v->v.i = (int32_t)x;
        break;
    case AMI_AXDR_LONG64:
        v->v.i = (int64_t)x;
        break;
    case AMI_AXDR_FLOAT32: {
        /* any float32 bit pattern, NaNs included, must survive */
        uint32_t b = (uint32_t)x;
        v->v.f = ami__axdr_f32_to_double(b);
        break;
    }
    case AMI_AXDR_FLOAT64:
        memcpy(&v->v.f, &x, sizeof x);
        break;
    case AMI_AXDR_DATE_TIME:
    case AMI_AXDR_DATE:
    case AMI_AXDR_TIME:
        v->count = v->type == AMI_AXDR_DATE_TIME ? 12 : v->type == AMI_AXDR_DATE ? 5 : 4;
        v->v.bytes = rnd_bytes + (x % 1000);
        break;
    case AMI_AXDR_OCTET_STRING:
    case AMI_AXDR_VISIBLE_STRING:
    case AMI_AXDR_UTF8_STRING:
        v->count = (uint32_t)((x >> 8) % ((x & 3) == 0 ? 300 : 20));
        v->v.bytes = rnd_bytes + (x >> 40) % 1000;
        break;
    case AMI_AXDR_BIT_STRING:
        v->count = (uint32_t)((x >> 8) % 70);
        v->v.bytes = rnd_bytes + (x >> 40) % 1000;
        break;
    default:
        break;
    }
}

/* A random tree of at most ~max nodes and the given depth (built iteratively by levels). */
static ami_axdr_value *rnd_tree(ami_arena *a, uint64_t *seed, unsigned depth)
{
    uint64_t x = tu_rand(seed);
    if (depth == 0 || x % 3 == 0) {
        ami_axdr_value *v = ami_axdr_new(a, scalar_types[(x >> 8) % AMI_COUNTOF(scalar_types)]);
        rnd_scalar(v, seed);
        return v;
    }
    if (x % 7 == 1) {
        /* compact-array of structure {long-unsigned, octet-string, array[2] of integer} */
        ami_axdr_value *ca = ami_axdr_new(a, AMI_AXDR_COMPACT_ARRAY);
        ami_axdr_value *d = ami_axdr_new(a, AMI_AXDR_STRUCTURE);
        ami_axdr_value *da = ami_axdr_new(a, AMI_AXDR_ARRAY);
        ami_axdr_append(d, ami_axdr_new(a, AMI_AXDR_LONG_UNSIGNED));
        ami_axdr_append(d, ami_axdr_new(a, AMI_AXDR_OCTET_STRING));
        da->count = 2;
        da->child = da->last = ami_axdr_new(a, AMI_AXDR_INTEGER);
        ami_axdr_append(d, da);
        ca->type_desc = d;
        unsigned n = (unsigned)((x >> 8) % 5);
        for (unsigned i = 0; i < n; i++) {
            ami_axdr_value *e = ami_axdr_new(a, AMI_AXDR_STRUCTURE);
            ami_axdr_value *f = ami_axdr_new(a, AMI_AXDR_LONG_UNSIGNED);
            rnd_scalar(f, seed);
            ami_axdr_append(e, f);
            f = ami_axdr_new(a, AMI_AXDR_OCTET_STRING);
            rnd_scalar(f, seed);
            ami_axdr_append(e, f);
            ami_axdr_value *arr = ami_axdr_new(a, AMI_AXDR_ARRAY);
            for (int k = 0; k < 2; k++) {
                f = ami_axdr_new(a, AMI_AXDR_INTEGER);
                rnd_scalar(f, seed);
                ami_axdr_append(arr, f);
            }
            ami_axdr_append(e, arr);
            ami_axdr_append(ca, e);
        }
        return ca;
    }
    ami_axdr_value *c = ami_axdr_new(a, (x & 8) ? AMI_AXDR_ARRAY : AMI_AXDR_STRUCTURE);
    unsigned n = (unsigned)((x >> 16) % 6);
    for (unsigned i = 0; i < n; i++)
        ami_axdr_append(c, rnd_tree(a, seed, depth - 1));
    return c;
}

static void test_random_round_trips(void **state)
{
    (void)state;
    uint64_t seed = 20240331;
    for (size_t i = 0; i < sizeof rnd_bytes; i++)
        rnd_bytes[i] = (uint8_t)tu_rand(&seed);
    static uint8_t enc[1 << 20], enc2[1 << 20];
    ami_arena a;
    for (int iter = 0; iter < 2000; iter++) {
        ami_arena_init(&a, arena_buf, sizeof arena_buf / 2);
        ami_axdr_value *t = rnd_tree(&a, &seed, 1 + (unsigned)(iter % 8));
        assert_non_null(t);
        ami_wr w;
        ami_wr_init(&w, enc, sizeof enc);
        int rc = ami_axdr_encode(&w, t);
        if (rc)
            fail_msg("iteration %d: encode %s", iter, ami_errname(rc));
        size_t n = w.len;
        ami_arena b;
        ami_arena_init(&b, arena_buf + sizeof arena_buf / 2, sizeof arena_buf / 2);
        ami_rd r;
        ami_rd_init(&r, enc, n);
        ami_axdr_value *back;
        rc = ami_axdr_decode(&r, &b, NULL, &back);
        if (rc)
            fail_msg("iteration %d: decode %s", iter, ami_errname(rc));
        assert_int_equal(r.pos, n);
        assert_true(same_tree(t, back));
        ami_wr_init(&w, enc2, sizeof enc2);
        assert_int_equal(ami_axdr_encode(&w, back), AMI_OK);
        assert_int_equal(w.len, n);
        assert_memory_equal(enc, enc2, n);
        ami_rd_init(&r, enc, n);
        assert_int_equal(ami_axdr_skip(&r, NULL), AMI_OK);
        assert_int_equal(r.pos, n);
    }
}

static void test_float32_bits(void **state)
{
    (void)state;
    /* every exponent with a few payloads: float32 -> double -> float32 is the identity */
    uint64_t seed = 7;
    for (uint32_t e = 0; e < 256; e++) {
        for (int k = 0; k < 64; k++) {
            uint32_t bits = e << 23 | ((uint32_t)tu_rand(&seed) & 0x807FFFFFu);
            assert_int_equal(ami__axdr_double_to_f32(ami__axdr_f32_to_double(bits)), bits);
        }
    }
    assert_int_equal(ami__axdr_double_to_f32(1.0), 0x3F800000u);
    assert_true(ami__axdr_f32_to_double(0x3F800000u) == 1.0);
    assert_true(isnan(ami__axdr_f32_to_double(0x7F800001u)));
    assert_true(isinf(ami__axdr_f32_to_double(0xFF800000u)));
    /* a double NaN whose payload sits only below the float32 bits stays a NaN */
    double nan_low;
    uint64_t b = UINT64_C(0x7FF0000000000001);
    memcpy(&nan_low, &b, sizeof b);
    assert_int_equal(ami__axdr_double_to_f32(nan_low) & 0x7FC00000u, 0x7FC00000u);
}

static void test_type_names(void **state)
{
    (void)state;
    assert_string_equal(ami_axdr_type_name(AMI_AXDR_DOUBLE_LONG_UNSIGNED), "double-long-unsigned");
    assert_string_equal(ami_axdr_type_name(AMI_AXDR_COMPACT_ARRAY), "compact-array");
    assert_string_equal(ami_axdr_type_name(AMI_AXDR_DONT_CARE), "dont-care");
    assert_string_equal(ami_axdr_type_name(7), "unknown");
    assert_string_equal(ami_axdr_type_name(28), "unknown");
    for (unsigned t = 0; t < 256; t++) {
        bool known = strcmp(ami_axdr_type_name((uint8_t)t), "unknown") != 0;
        assert_int_equal(known, ami__axdr_fixed_size((uint8_t)t) != -2);
    }
}

/* ---------------------------------------------------------------- rendering */

struct capture {
    char *p;
    size_t len, cap;
    int fail_after; /* fail the n-th write (0: never) */
    int writes;
};

static int capture_sink(void *user, const char *s, size_t n)
{
    struct capture *c = user;
    if (c->fail_after && ++c->writes >= c->fail_after)
        return AMI_E_IO;
    if (c->len + n + 1 > c->cap) {
        c->cap = (c->len + n + 1) * 2;
        c->p = realloc(c->p, c->cap);
        assert_non_null(c->p);
    }
    memcpy(c->p + c->len, s, n);
    c->len += n;
    c->p[c->len] = 0;
    return AMI_OK;
}

static ami_axdr_value *decode_hex(ami_arena *a, const char *hex, uint8_t **keep)
{
    size_t len;
    *keep = tu_hex(hex, &len);
    ami_rd r;
    ami_rd_init(&r, *keep, len);
    ami_axdr_value *v;
    assert_int_equal(ami_axdr_decode(&r, a, NULL, &v), AMI_OK);
    assert_int_equal(r.pos, len);
    return v;
}

static void expect_text(const char *hex, const char *want)
{
    ami_arena a;
    ami_arena_init(&a, arena_buf, sizeof arena_buf);
    uint8_t *b;
    ami_axdr_value *v = decode_hex(&a, hex, &b);
    struct capture c = {0};
    assert_int_equal(ami_axdr_format_text(v, capture_sink, &c), AMI_OK);
    if (strcmp(c.p, want) != 0)
        fail_msg("%s:\n got:\n%s\n want:\n%s", hex, c.p, want);
    free(c.p);
    free(b);
}

static void expect_json(const char *hex, const char *want)
{
    ami_arena a;
    ami_arena_init(&a, arena_buf, sizeof arena_buf);
    uint8_t *b;
    ami_axdr_value *v = decode_hex(&a, hex, &b);
    struct capture c = {0};
    ami_jw w;
    ami_jw_init(&w, capture_sink, &c);
    ami_axdr_to_json(v, &w);
    assert_int_equal(ami_jw_error(&w), AMI_OK);
    if (strcmp(c.p, want) != 0)
        fail_msg("%s:\n got  %s\n want %s", hex, c.p, want);
    free(c.p);
    free(b);
}

static void test_text_rendering(void **state)
{
    (void)state;
    /* a COSEM object list entry (Gurux association view): OBIS interpretation */
    expect_text("020412000809060000010000FF0F02120000", "structure[4]\n"
                                                        "  long-unsigned 8\n"
                                                        "  octet-string[6] 0000010000FF "
                                                        "(0-0:1.0.0.255)\n"
                                                        "  integer 2\n"
                                                        "  long-unsigned 0\n");
    /* the clock value of the Gurux session: a date-time carried in an octet-string */
    expect_text("090C07EA0B160703073A00000000",
                "octet-string[12] 07EA0B160703073A00000000 (date-time 2026-11-22 Sun "
                "03:07:58.00 dev=0 status=00)\n");
    /* every scalar form */
    expect_text("0210 00 03FF 0300 0409FF80 05FFFFFFFE 0600000005 0A03414243 0C02C3A9 0D12 "
                "0F80 10FFFF 1105 12FFFF 14FFFFFFFFFFFFFFFE 16 03 FF",
                "structure[16]\n"
                "  null-data\n"
                "  boolean true (0xFF)\n"
                "  boolean false\n"
                "  bit-string[9] 111111111\n"
                "  double-long -2\n"
                "  double-long-unsigned 5\n"
                "  visible-string[3] \"ABC\"\n"
                "  utf8-string[2] \"\xC3\xA9\"\n"
                "  bcd 0x12\n"
                "  integer -128\n"
                "  long -1\n"
                "  unsigned 5\n"
                "  long-unsigned 65535\n"
                "  long64 -2\n"
                "  enum 3\n"
                "  dont-care\n");
    expect_text("0203 173FC00000 18C004000000000000 177F800001",
                "structure[3]\n  float32 1.5\n  float64 -2.5\n  float32 nan (7F800001)\n");
    expect_text("0203 0A04410A225C 0C02C328 0903414243",
                "structure[3]\n  visible-string[4] \"A\\x0A\\\"\\\\\"\n"
                "  utf8-string[2] \"\\xC3(\"\n  octet-string[3] 414243 \"ABC\"\n");
    expect_text("1907E8031F070A1E00FF800080",
                "date-time 07E8031F070A1E00FF800080 (2024-03-31 Sun 10:30:00.* dev=* status=80 "
                "(DST))\n");
    expect_text("1907E8021E070A1E00FF800080", "date-time 07E8021E070A1E00FF800080 (invalid)\n");
    expect_text("1301000210 08 0001FFFF00020003", "compact-array[2] of array[2] of long\n"
                                                  "  array[2]\n"
                                                  "    long 1\n"
                                                  "    long -1\n"
                                                  "  array[2]\n"
                                                  "    long 2\n"
                                                  "    long 3\n");
    expect_text("13020201000011110201 02", "compact-array[2] of structure{array[0] of unsigned, "
                                           "unsigned}\n"
                                           "  structure[2]\n"
                                           "    array[0]\n"
                                           "    unsigned 1\n"
                                           "  structure[2]\n"
                                           "    array[0]\n"
                                           "    unsigned 2\n");
    expect_text("13 0200 00", "compact-array[0] of structure{}\n");
}

static void test_json_rendering(void **state)
{
    (void)state;
    expect_json("020412000809060000010000FF0F02120000",
                "{\"type\":\"structure\",\"value\":[{\"type\":\"long-unsigned\",\"value\":8},"
                "{\"type\":\"octet-string\",\"value\":\"0000010000FF\",\"obis\":\"0-0:1.0.0.255\"},"
                "{\"type\":\"integer\",\"value\":2},{\"type\":\"long-unsigned\",\"value\":0}]}");
    expect_json("090C07EA0B160703073A00000000",
                "{\"type\":\"octet-string\",\"value\":\"07EA0B160703073A00000000\","
                "\"date_time\":\"2026-11-22T03:07:58+00:00\"}");
    expect_json("1907EA0B160703073A00FFC400",
                "{\"type\":\"date-time\",\"value\":\"2026-11-22T03:07:58+01:00\",\"text\":"
                "\"2026-11-22 Sun 03:07:58.00 dev=-60 status=00\",\"hex\":"
                "\"07EA0B160703073A00FFC400\"}");
    expect_json(
        "0206 03FF 0300 0409FF80 173FC00000 15FFFFFFFFFFFFFFFF 0A02C3A9",
        "{\"type\":\"structure\",\"value\":[{\"type\":\"boolean\",\"value\":true,\"raw\":255},"
        "{\"type\":\"boolean\",\"value\":false},"
        "{\"type\":\"bit-string\",\"bits\":9,\"value\":\"FF80\"},"
        "{\"type\":\"float32\",\"value\":1.5,\"hex\":\"3FC00000\"},"
        "{\"type\":\"long64-unsigned\",\"value\":18446744073709551615},"
        "{\"type\":\"visible-string\",\"value\":\"\xC3\xA9\",\"hex\":\"C3A9\"}]}");
    expect_json("1301000210 08 0001FFFF00020003",
                "{\"type\":\"compact-array\",\"description\":{\"type\":\"array\",\"count\":2,"
                "\"element\":{\"type\":\"long\"}},\"value\":[{\"type\":\"array\",\"value\":["
                "{\"type\":\"long\",\"value\":1},{\"type\":\"long\",\"value\":-1}]},"
                "{\"type\":\"array\",\"value\":[{\"type\":\"long\",\"value\":2},"
                "{\"type\":\"long\",\"value\":3}]}]}");
    expect_json("1302021109 00", "{\"type\":\"compact-array\",\"description\":{\"type\":"
                                 "\"structure\",\"fields\":[{\"type\":\"unsigned\"},{\"type\":"
                                 "\"octet-string\"}]},\"value\":[]}");
    expect_json("0100", "{\"type\":\"array\",\"value\":[]}");
    expect_json("00", "{\"type\":\"null-data\",\"value\":null}");
}

/* Every vector renders; sink errors and inconsistent trees are reported, never ignored. */
static void test_rendering_errors(void **state)
{
    (void)state;
    struct vec *vs;
    size_t n = load_vectors(tu_testsdir("vectors/axdr.txt"), &vs);
    ami_arena a;
    for (size_t i = 0; i < n; i++) {
        ami_arena_init(&a, arena_buf, sizeof arena_buf);
        ami_rd r;
        ami_rd_init(&r, vs[i].bytes, vs[i].len);
        ami_axdr_value *v;
        assert_int_equal(ami_axdr_decode(&r, &a, NULL, &v), AMI_OK);
        struct capture c = {0};
        assert_int_equal(ami_axdr_format_text(v, capture_sink, &c), AMI_OK);
        assert_non_null(strchr(c.p, '\n'));
        size_t full = c.len;
        free(c.p);
        struct capture j = {0};
        ami_jw w;
        ami_jw_init(&w, capture_sink, &j);
        ami_axdr_to_json(v, &w);
        assert_int_equal(ami_jw_error(&w), AMI_OK);
        free(j.p);
        if (i % 16 == 0) { /* a failing sink: its error comes back */
            struct capture f = {.fail_after = 1};
            assert_int_equal(ami_axdr_format_text(v, capture_sink, &f), AMI_E_IO);
            free(f.p);
            (void)full;
        }
    }
    free_vectors(vs, n);

    ami_arena_init(&a, arena_buf, sizeof arena_buf);
    ami_axdr_value *s = ami_axdr_new(&a, AMI_AXDR_STRUCTURE);
    ami_axdr_append(s, ami_axdr_new_uint(&a, AMI_AXDR_UNSIGNED, 1));
    s->count = 2; /* says 2, holds 1 */
    struct capture c = {0};
    assert_int_equal(ami_axdr_format_text(s, capture_sink, &c), AMI_E_INVAL);
    free(c.p);
    ami_jw w;
    struct capture j = {0};
    ami_jw_init(&w, capture_sink, &j);
    ami_axdr_to_json(s, &w);
    assert_int_equal(ami_jw_error(&w), AMI_E_INVAL);
    free(j.p);
    assert_int_equal(ami_axdr_format_text(NULL, capture_sink, &c), AMI_E_INVAL);
    ami_axdr_value bad = {.type = 8};
    memset(&c, 0, sizeof c);
    assert_int_equal(ami_axdr_format_text(&bad, capture_sink, &c), AMI_E_INVAL);
    free(c.p);

    /* deeper than AMI_AXDR_MAX_DEPTH: refused, not recursed */
    ami_axdr_value *root = ami_axdr_new(&a, AMI_AXDR_ARRAY), *cur = root;
    for (int i = 0; i < AMI_AXDR_MAX_DEPTH + 5; i++) {
        ami_axdr_value *k = ami_axdr_new(&a, AMI_AXDR_ARRAY);
        ami_axdr_append(cur, k);
        cur = k;
    }
    memset(&c, 0, sizeof c);
    assert_int_equal(ami_axdr_format_text(root, capture_sink, &c), AMI_E_TOO_DEEP);
    free(c.p);
    /* JSON nests two levels per container: past AMI_JW_MAX_DEPTH the writer reports it */
    memset(&j, 0, sizeof j);
    ami_jw_init(&w, capture_sink, &j);
    ami_axdr_to_json(root, &w);
    assert_int_equal(ami_jw_error(&w), AMI_E_TOO_DEEP);
    free(j.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capture_vectors),
        cmocka_unit_test(test_handmade_vectors),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_bad_vectors),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_node_and_length_limits),
        cmocka_unit_test(test_arena_exhaustion),
        cmocka_unit_test(test_builders_and_encode),
        cmocka_unit_test(test_random_round_trips),
        cmocka_unit_test(test_float32_bits),
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_text_rendering),
        cmocka_unit_test(test_json_rendering),
        cmocka_unit_test(test_rendering_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
