/*
 * DSMR P1 framer and parser: the expected decode of every file in ../shared/testdata/p1
 * (tests/vectors/p1/<file>.expect), each fed whole, byte by byte and in random chunks; every
 * lenient flag off and on against the real file that shows the deviation; placeholders,
 * exact numbers, hostile input against a guard page.
 *
 * AMI_P1_VECTORS_WRITE=1 rewrites the .expect files from the current decoder (then review the
 * diff by hand against the telegram text before committing).
 * SPDX-License-Identifier: Apache-2.0
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "ami/ami.h"

#define MAX_OBJ 256
#define MAX_GRP 1024

static ami_p1_object objs[MAX_OBJ];
static ami_p1_group grps[MAX_GRP];

/* ---------------------------------------------------------------- a growable text buffer */

struct sb {
    char *p;
    size_t n, cap;
};

static void sb_add(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(struct sb *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        assert_true(k >= 0);
        if (b->p && b->n + (size_t)k < b->cap) {
            b->n += (size_t)k;
            return;
        }
        b->cap = (b->cap + (size_t)k + 1) * 2;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
}

static void sb_quoted(struct sb *b, const char *s, size_t n)
{
    sb_add(b, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            sb_add(b, "\\%c", c);
        else if (c < 0x20 || c > 0x7E)
            sb_add(b, "\\x%02X", c);
        else
            sb_add(b, "%c", c);
    }
    sb_add(b, "\"");
}

/* ---------------------------------------------------------------- rendering a decode */

static void render_obis(struct sb *b, const ami_obis *o)
{
    sb_add(b, "%u-%u:%u.%u.%u", o->v[0], o->v[1], o->v[2], o->v[3], o->v[4]);
    if (o->v[5] != 255)
        sb_add(b, "*%u", o->v[5]);
}

static void render_time(struct sb *b, const char *key, const ami_p1_group *g)
{
    char t[40];
    int r = ami_p1_time_format(g, t, sizeof t);
    if (r == AMI_E_UNSPECIFIED)
        sb_add(b, " %s=absent", key);
    else if (r >= 0)
        sb_add(b, " %s=%s", key, t);
    else
        sb_add(b, " %s=?", key);
}

static void render_group(struct sb *b, const ami_p1_group *g, bool decode)
{
    char t[2048];
    switch (g->type) {
    case AMI_P1_NUMBER:
        assert_true(ami_p1_number_format(g, t, sizeof t) > 0);
        sb_add(b, " value=%s", t);
        break;
    case AMI_P1_TIME:
        render_time(b, "at", g);
        break;
    case AMI_P1_OBIS:
        sb_add(b, " ref=");
        render_obis(b, &g->u.obis);
        break;
    case AMI_P1_TEXT: {
        int n = ami_p1_text(g, decode, t, sizeof t);
        assert_true(n >= 0);
        sb_add(b, " text=");
        sb_quoted(b, t, (size_t)n);
        break;
    }
    default:
        sb_add(b, " empty");
        break;
    }
}

static void render_telegram(struct sb *b, const ami_p1_telegram *t)
{
    sb_add(b, "header=");
    sb_quoted(b, t->header, t->header_len);
    sb_add(b, " objects=%u raw=%u\n", t->nobjects, t->raw_lines);
    for (uint32_t i = 0; i < t->nobjects; i++) {
        const ami_p1_object *o = &t->objects[i];
        if (o->flags & AMI_P1_OF_RAW) {
            sb_add(b, "raw ");
            sb_quoted(b, o->line, o->line_len);
            sb_add(b, "\n");
            continue;
        }
        char name[40];
        assert_true(ami_p1_object_name(o, name, sizeof name) >= 0);
        render_obis(b, &o->obis);
        sb_add(b, " %s", name[0] ? name : "-");
        if (o->flags & AMI_P1_OF_BAD_SHAPE)
            sb_add(b, " bad-shape");
        bool decode = o->q && o->q->kind == AMI_P1_KIND_TEXT;
        if (o->shape == AMI_P1_SHAPE_LOG)
            sb_add(b, " entries=%u", o->nentries);
        for (size_t k = 0; k < o->nentries; k++) {
            ami_p1_entry e;
            assert_int_equal(ami_p1_entry_get(t, o, k, &e), AMI_OK);
            if (o->nentries > 1)
                sb_add(b, "\n  #%zu", k);
            if (e.value)
                render_group(b, e.value, decode);
            if (e.unit)
                sb_add(b, " unit=%.*s", e.unit_len, e.unit);
            if (e.time)
                render_time(b, "time", e.time);
            if (e.period)
                render_time(b, "period", e.period);
        }
        sb_add(b, "\n");
    }
}

struct run_opts {
    unsigned lenient;
    size_t cap;
    bool all;     /* render every telegram (else first and last good) */
    int chunking; /* 0 whole, 1 byte by byte, 2 random chunks */
};

/* Runs a whole input through framer + parser and renders the outcome. */
static void decode_all(const uint8_t *in, size_t n, const struct run_opts *ro, struct sb *b)
{
    uint8_t *buf = malloc(ro->cap);
    assert_non_null(buf);
    ami_p1_framer f;
    assert_int_equal(ami_p1_framer_init(&f, buf, ro->cap, ro->lenient), AMI_OK);
    ami_p1_options po = {ro->lenient, 0};
    uint64_t rng = 0x9E3779B97F4A7C15u ^ n;
    size_t off = 0;
    unsigned good = 0;
    struct sb last = {0};
    bool finished = false;
    while (!finished) {
        ami_p1_frame fr;
        int rc;
        size_t used = 0;
        if (off < n) {
            size_t chunk = n - off;
            if (ro->chunking == 1)
                chunk = 1;
            else if (ro->chunking == 2)
                chunk = 1 + (size_t)(tu_rand(&rng) % 97);
            if (chunk > n - off)
                chunk = n - off;
            /* A chunk is only valid during the call: a heap copy freed afterwards, so that a view
               kept past its life is a use-after-free under ASan. */
            uint8_t *c = malloc(chunk);
            if (!c)
                abort();
            memcpy(c, in + off, chunk);
            rc = ami_p1_framer_push(&f, c, chunk, &used, &fr);
            assert_true(used <= chunk);
            off += used;
            if (rc == AMI_E_AGAIN)
                assert_int_equal(used, chunk);
            if (rc == AMI_OK) {
                /* Parse while the chunk is alive (views may point into it). */
                ami_p1_telegram t;
                ami_p1_telegram_init(&t, objs, MAX_OBJ, grps, MAX_GRP);
                int prc = ami_p1_parse(fr.data, fr.len, &po, &t);
                struct sb one = {0};
                sb_add(&one, "telegram %u crc=%s ", good,
                       fr.crc_status == AMI_P1_CRC_OK ? "ok" : "absent");
                if (prc == AMI_OK)
                    render_telegram(&one, &t);
                else
                    sb_add(&one, "parse-error=%s \"%s\"\n", ami_errname(prc), t.error);
                if (ro->all || good == 0)
                    sb_add(b, "%s", one.p);
                else {
                    free(last.p);
                    last = one;
                    one.p = NULL;
                }
                free(one.p);
                good++;
            } else if (rc != AMI_E_AGAIN) {
                sb_add(b, "reject %s len=%zu", ami_errname(rc), fr.len);
                if (rc == AMI_E_CHECKSUM)
                    sb_add(b, " given=%04X computed=%04X", fr.crc_given, fr.crc_computed);
                sb_add(b, "\n");
            }
            free(c);
            continue;
        }
        rc = ami_p1_framer_finish(&f, &fr);
        if (rc == AMI_OK) {
            ami_p1_telegram t;
            ami_p1_telegram_init(&t, objs, MAX_OBJ, grps, MAX_GRP);
            int prc = ami_p1_parse(fr.data, fr.len, &po, &t);
            sb_add(b, "telegram %u crc=%s (at end of input) ", good,
                   fr.crc_status == AMI_P1_CRC_OK ? "ok" : "absent");
            if (prc == AMI_OK)
                render_telegram(b, &t);
            else
                sb_add(b, "parse-error=%s \"%s\"\n", ami_errname(prc), t.error);
            good++;
        } else if (rc != AMI_E_AGAIN) {
            sb_add(b, "reject %s len=%zu (at end of input)\n", ami_errname(rc), fr.len);
        }
        finished = true;
    }
    if (last.p) {
        sb_add(b, "%s", last.p);
        free(last.p);
    }
    const ami_p1_framer_stats *s = &f.stats;
    sb_add(b,
           "counts telegrams=%llu crc_ok=%llu crc_absent=%llu crc_errors=%llu truncated=%llu "
           "oversized=%llu malformed=%llu\n",
           (unsigned long long)s->telegrams, (unsigned long long)s->crc_ok,
           (unsigned long long)s->crc_absent, (unsigned long long)s->crc_errors,
           (unsigned long long)s->truncated, (unsigned long long)s->oversized,
           (unsigned long long)s->malformed);
    free(buf);
}

/* ---------------------------------------------------------------- vectors */

static unsigned lenient_by_word(const char *w)
{
    if (!strcmp(w, "all"))
        return AMI_P1_LENIENT_ALL;
    if (!strcmp(w, "strict"))
        return 0;
    return AMI_P1_LENIENT_DEFAULT;
}

/* Splits an .expect file into its directive lines (leading '#' or "option") and the body. */
static void run_vector(const char *expect_path, const char *data_name, unsigned *nchecked)
{
    size_t elen;
    char *exp = (char *)tu_read_file(expect_path, &elen);
    struct sb directives = {0};
    struct run_opts ro = {AMI_P1_LENIENT_DEFAULT, AMI_P1_MAX_TELEGRAM_DEFAULT, true, 0};
    char *body = exp;
    while (*body == '#' || !strncmp(body, "option ", 7)) {
        char *eol = strchr(body, '\n');
        assert_non_null(eol);
        *eol = '\0';
        char word[32];
        unsigned long v;
        if (sscanf(body, "option lenient %31s", word) == 1)
            ro.lenient = lenient_by_word(word);
        else if (sscanf(body, "option cap %lu", &v) == 1)
            ro.cap = v;
        else if (!strcmp(body, "option first-last"))
            ro.all = false;
        sb_add(&directives, "%s\n", body);
        body = eol + 1;
    }
    size_t n;
    uint8_t *in = tu_read_file(tu_testdata(data_name), &n);
    const char *write = getenv("AMI_P1_VECTORS_WRITE");
    for (int mode = 0; mode < 3; mode++) {
        struct sb got = {0};
        ro.chunking = mode;
        decode_all(in, n, &ro, &got);
        if (write && *write == '1') {
            if (mode == 0) {
                FILE *f = fopen(expect_path, "wb");
                assert_non_null(f);
                fputs(directives.p ? directives.p : "", f);
                fputs(got.p, f);
                fclose(f);
            }
        } else if (strcmp(got.p, body) != 0) {
            fprintf(stdout, "--- %s (chunking %d) decoded:\n%s", data_name, mode, got.p);
            fail_msg("decode of %s differs from %s", data_name, expect_path);
        }
        free(got.p);
    }
    free(directives.p);
    free(in);
    free(exp);
    ++*nchecked;
}

static void test_vectors(void **state)
{
    (void)state;
    DIR *d = opendir(tu_testdata("p1"));
    assert_non_null(d);
    struct dirent *de;
    unsigned files = 0, checked = 0;
    char data_name[512], expect[1024];
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 4, ".txt") || strstr(de->d_name, ".source."))
            continue;
        files++;
        snprintf(data_name, sizeof data_name, "p1/%s", de->d_name);
        snprintf(expect, sizeof expect, "%s", tu_testsdir("vectors/p1/"));
        size_t el = strlen(expect);
        snprintf(expect + el, sizeof expect - el, "%.*s.expect", (int)(l - 4), de->d_name);
        FILE *f = fopen(expect, "rb");
        if (!f)
            fail_msg("no expected decode %s for %s", expect, data_name);
        fclose(f);
        run_vector(expect, data_name, &checked);
    }
    closedir(d);
    assert_true(files >= 48);
    assert_int_equal(files, checked);
}

/* ---------------------------------------------------------------- explicit values */

/* Frames and parses a whole file with default leniency; returns the number of good frames. */
static int parse_file(const char *name, unsigned lenient, ami_p1_telegram *t, uint8_t **keep,
                      int *frame_rc)
{
    size_t n;
    uint8_t *in = tu_read_file(tu_testdata(name), &n);
    static uint8_t buf[AMI_P1_MAX_TELEGRAM_DEFAULT];
    ami_p1_framer f;
    ami_p1_framer_init(&f, buf, sizeof buf, lenient);
    ami_p1_frame fr;
    size_t used;
    int rc = ami_p1_framer_push(&f, in, n, &used, &fr);
    if (rc == AMI_E_AGAIN)
        rc = ami_p1_framer_finish(&f, &fr);
    *frame_rc = rc;
    *keep = in;
    ami_p1_telegram_init(t, objs, MAX_OBJ, grps, MAX_GRP);
    if (rc != AMI_OK)
        return rc;
    ami_p1_options po = {lenient, 0};
    return ami_p1_parse(fr.data, fr.len, &po, t);
}

static const ami_p1_object *find(const ami_p1_telegram *t, ami_obis o)
{
    for (uint32_t i = 0; i < t->nobjects; i++)
        if (!(t->objects[i].flags & AMI_P1_OF_RAW) && !memcmp(t->objects[i].obis.v, o.v, 6))
            return &t->objects[i];
    fail_msg("object %u-%u:%u.%u.%u not found", o.v[0], o.v[1], o.v[2], o.v[3], o.v[4]);
    abort();
}

static void assert_entry(const ami_p1_telegram *t, ami_obis ob, size_t k, const char *value,
                         const char *unit, const char *time)
{
    const ami_p1_object *o = find(t, ob);
    assert_non_null(o);
    ami_p1_entry e;
    assert_int_equal(ami_p1_entry_get(t, o, k, &e), AMI_OK);
    char b[64];
    if (value) {
        assert_non_null(e.value);
        assert_true(ami_p1_number_format(e.value, b, sizeof b) > 0);
        assert_string_equal(b, value);
    }
    if (unit) {
        assert_int_equal(e.unit_len, strlen(unit));
        assert_memory_equal(e.unit, unit, strlen(unit));
    }
    if (time) {
        assert_non_null(e.time);
        int r = ami_p1_time_format(e.time, b, sizeof b);
        if (!strcmp(time, "absent"))
            assert_int_equal(r, AMI_E_UNSPECIFIED);
        else
            assert_string_equal(b, time);
    }
}

static void test_dsmr50_values(void **state)
{
    (void)state;
    ami_p1_telegram t;
    uint8_t *in;
    int frc;
    assert_int_equal(
        parse_file("p1/dsmr50_spec_like_openhab.txt", AMI_P1_LENIENT_DEFAULT, &t, &in, &frc),
        AMI_OK);
    assert_memory_equal(t.header, "ISk5\\2MT382-1000", 16);
    assert_non_null(t.time);
    char b[128];
    assert_int_equal(ami_p1_time_format(&t.groups[t.time->first], b, sizeof b), 25);
    assert_string_equal(b, "2010-12-09T11:30:20+01:00");
    /* 2010-12-09 10:30:20 UTC */
    assert_int_equal(t.groups[t.time->first].u.unix_time, 1291890620);
    assert_entry(&t, AMI_OBIS(1, 0, 1, 8, 1, 255), 0, "123456.789", "kWh", NULL);
    assert_entry(&t, AMI_OBIS(1, 0, 2, 8, 2, 255), 0, "123456.789", "kWh", NULL);
    assert_entry(&t, AMI_OBIS(1, 0, 21, 7, 0, 255), 0, "1.111", "kW", NULL);
    assert_entry(&t, AMI_OBIS(1, 0, 62, 7, 0, 255), 0, "6.666", "kW", NULL);
    assert_entry(&t, AMI_OBIS(0, 1, 24, 2, 1, 255), 0, "12785.123", "m3",
                 "2010-12-09T11:25:00+01:00");
    assert_entry(&t, AMI_OBIS(1, 0, 99, 97, 0, 255), 1, "301", "s", "2010-12-08T15:10:04+01:00");
    const ami_p1_object *o = find(&t, AMI_OBIS(0, 0, 96, 1, 1, 255));
    assert_non_null(o);
    assert_true(ami_p1_text(&t.groups[o->first], true, b, sizeof b) == 16);
    assert_string_equal(b, "K8EG004046395507");
    /* The message split over two lines is one value (AMI_P1_LENIENT_SPLIT_VALUE). */
    o = find(&t, AMI_OBIS(0, 0, 96, 13, 0, 255));
    assert_non_null(o);
    assert_true(t.groups[o->first].flags & AMI_P1_GF_SPLIT);
    assert_int_equal(ami_p1_text(&t.groups[o->first], true, b, sizeof b), 80);
    assert_memory_equal(b, "0123456789:;<=>?", 16);
    free(in);
}

static void test_belgium_values(void **state)
{
    (void)state;
    ami_p1_telegram t;
    uint8_t *in;
    int frc;
    assert_int_equal(parse_file("p1/belgium_fluvius_emucs171_dsmr_parser.txt",
                                AMI_P1_LENIENT_DEFAULT, &t, &in, &frc),
                     AMI_OK);
    assert_entry(&t, AMI_OBIS(1, 0, 1, 4, 0, 255), 0, "2.351", "kW", NULL);
    assert_entry(&t, AMI_OBIS(1, 0, 1, 6, 0, 255), 0, "2.589", "kW", "2020-05-09T13:45:58+02:00");
    const ami_p1_object *o = find(&t, AMI_OBIS(0, 0, 98, 1, 0, 255));
    assert_non_null(o);
    assert_int_equal(o->shape, AMI_P1_SHAPE_LOG);
    assert_int_equal(o->nentries, 3);
    assert_entry(&t, AMI_OBIS(0, 0, 98, 1, 0, 255), 2, "4.318", "kW", "2020-02-10T03:54:21+01:00");
    ami_p1_entry e;
    assert_int_equal(ami_p1_entry_get(&t, o, 0, &e), AMI_OK);
    char b[40];
    assert_true(ami_p1_time_format(e.period, b, sizeof b) > 0);
    assert_string_equal(b, "2020-05-01T00:00:00+02:00");
    assert_entry(&t, AMI_OBIS(0, 1, 24, 2, 3, 255), 0, "112.384", "m3",
                 "2020-05-12T13:45:58+02:00");
    assert_entry(&t, AMI_OBIS(0, 2, 24, 2, 1, 255), 0, "872.234", "m3",
                 "2020-05-12T13:45:58+02:00");
    o = find(&t, AMI_OBIS(0, 2, 24, 2, 1, 255));
    assert_true(ami_p1_object_name(o, b, sizeof b) > 0);
    assert_string_equal(b, "mbus2_reading");
    free(in);

    /* Disconnected gas meter: the placeholder time is absent, the value is still there. */
    assert_int_equal(parse_file("p1/belgium_fluvius_invalid_gasmeter_openhab.txt",
                                AMI_P1_LENIENT_DEFAULT, &t, &in, &frc),
                     AMI_OK);
    assert_entry(&t, AMI_OBIS(0, 1, 24, 2, 3, 255), 0, "0.000", NULL, "absent");
    free(in);
}

static void test_dsmr22_legacy_gas(void **state)
{
    (void)state;
    ami_p1_telegram t;
    uint8_t *in;
    int frc;
    assert_int_equal(
        parse_file("p1/dsmr22_iskra_mt382_1003_real_nb.txt", AMI_P1_LENIENT_DEFAULT, &t, &in, &frc),
        AMI_OK);
    const ami_p1_object *o = find(&t, AMI_OBIS(0, 2, 24, 3, 0, 255));
    assert_non_null(o);
    assert_int_equal(o->shape, AMI_P1_SHAPE_LEGACY_MBUS);
    assert_true(o->flags & AMI_P1_OF_CONTINUED);
    /* No DST letter in DSMR 2.2: local time without offset. */
    assert_entry(&t, AMI_OBIS(0, 2, 24, 3, 0, 255), 0, "13368.864", "m3", "2021-11-22T21:00:00");
    free(in);
}

static void test_placeholders(void **state)
{
    (void)state;
    ami_p1_telegram t;
    uint8_t *in;
    int frc;
    assert_int_equal(parse_file("p1/dsmr50_mcs_zeroed_odd_failure_log_dsmr5rs.txt",
                                AMI_P1_LENIENT_DEFAULT, &t, &in, &frc),
                     AMI_OK);
    assert_non_null(t.time);
    assert_true(t.groups[t.time->first].flags & AMI_P1_GF_PLACEHOLDER);
    assert_entry(&t, AMI_OBIS(1, 0, 99, 97, 0, 255), 0, "23", NULL, "absent");
    assert_entry(&t, AMI_OBIS(0, 1, 24, 2, 1, 255), 0, "0.0000", NULL, "absent");
    free(in);
    assert_int_equal(parse_file("p1/dsmr50_iskra_am550_two_mbus_dsmr_parser.txt",
                                AMI_P1_LENIENT_DEFAULT, &t, &in, &frc),
                     AMI_OK);
    assert_entry(&t, AMI_OBIS(0, 1, 24, 2, 1, 255), 0, "0", NULL, "absent"); /* 700101010000W */
    assert_entry(&t, AMI_OBIS(0, 2, 24, 2, 1, 255), 0, "246.138", "m3",
                 "2020-04-26T22:30:01+02:00");
    free(in);
    assert_int_equal(
        parse_file("p1/dsmr42_kaifa_real_nb.txt", AMI_P1_LENIENT_DEFAULT, &t, &in, &frc), AMI_OK);
    assert_entry(&t, AMI_OBIS(1, 0, 99, 97, 0, 255), 0, "2147483647", "s", "absent");
    free(in);
}

/* ---------------------------------------------------------------- leniency, one by one */

static void test_lenient_no_blank_after_header(void **state)
{
    (void)state;
    ami_p1_telegram t;
    uint8_t *in;
    int frc;
    const char *file = "p1/dsmr22_kamstrup_no_blank_line_real_nb.txt";
    assert_int_equal(parse_file(file, 0, &t, &in, &frc), AMI_E_MALFORMED);
    assert_string_equal(t.error, "no blank line after the header");
    free(in);
    assert_int_equal(parse_file(file, AMI_P1_LENIENT_NO_BLANK_AFTER_HEADER, &t, &in, &frc), AMI_OK);
    assert_entry(&t, AMI_OBIS(1, 0, 1, 8, 1, 255), 0, "185.000", "kWh", NULL);
    free(in);
    file = "p1/dsmr22_landis_gyr_e350_openhab.txt";
    assert_int_equal(parse_file(file, 0, &t, &in, &frc), AMI_E_MALFORMED);
    free(in);
    assert_int_equal(parse_file(file, AMI_P1_LENIENT_NO_BLANK_AFTER_HEADER, &t, &in, &frc), AMI_OK);
    assert_entry(&t, AMI_OBIS(1, 0, 1, 8, 1, 255), 0, "7654.321", "kWh", NULL);
    free(in);
}

static void test_lenient_split_value(void **state)
{
    (void)state;
    ami_p1_telegram t;
    uint8_t *in;
    int frc;
    const char *file = "p1/dsmr50_spec_like_openhab.txt";
    /* This file also lacks the blank line after the header. */
    assert_int_equal(parse_file(file, AMI_P1_LENIENT_NO_BLANK_AFTER_HEADER, &t, &in, &frc),
                     AMI_E_MALFORMED);
    assert_string_equal(t.error, "value split over two lines");
    free(in);
    assert_int_equal(parse_file(file,
                                AMI_P1_LENIENT_NO_BLANK_AFTER_HEADER | AMI_P1_LENIENT_SPLIT_VALUE,
                                &t, &in, &frc),
                     AMI_OK);
    free(in);
}

static void test_lenient_obis_f(void **state)
{
    (void)state;
    ami_p1_telegram t;
    uint8_t *in;
    int frc;
    const char *file = "p1/non_dsmr_itron_ace4000_gprs_openhab.txt";
    assert_int_equal(parse_file(file, 0, &t, &in, &frc), AMI_OK);
    assert_int_equal(t.raw_lines, t.nobjects); /* strict: "*255" lines are kept raw */
    free(in);
    assert_int_equal(parse_file(file, AMI_P1_LENIENT_OBIS_F, &t, &in, &frc), AMI_OK);
    assert_int_equal(t.raw_lines, 0);
    assert_entry(&t, AMI_OBIS(1, 0, 1, 8, 0, 255), 0, "12345.074", "kWh", NULL);
    /* Itron hourly profile: (value)(YY-MM-DD hh:mm:ss), local time. */
    assert_entry(&t, AMI_OBIS(7, 0, 23, 1, 0, 255), 0, "1238.740", "m3", "2019-01-01T00:00:00");
    free(in);
    file = "p1/germany_easymeter_q3d_a1004_com1_gateway_dsmr_parser.txt";
    assert_int_equal(parse_file(file, AMI_P1_LENIENT_OBIS_F, &t, &in, &frc), AMI_OK);
    assert_entry(&t, AMI_OBIS(1, 0, 1, 8, 0, 255), 0, "32549.5061662", "kWh", NULL);
    assert_entry(&t, AMI_OBIS(1, 0, 1, 7, 0, 255), 0, "1688.21", "W", NULL);
    free(in);
}

static void test_lenient_unit_no_star(void **state)
{
    (void)state;
    ami_p1_telegram t;
    uint8_t *in;
    int frc;
    const char *file = "p1/belgium_fluvius_v150_no_asterisk_units_openhab.txt";
    assert_int_equal(parse_file(file, AMI_P1_LENIENT_DEFAULT, &t, &in, &frc), AMI_OK);
    const ami_p1_object *o = find(&t, AMI_OBIS(1, 0, 1, 8, 1, 255));
    assert_int_equal(t.groups[o->first].type, AMI_P1_TEXT); /* kept, as text */
    free(in);
    assert_int_equal(parse_file(file, AMI_P1_LENIENT_ALL, &t, &in, &frc), AMI_OK);
    assert_entry(&t, AMI_OBIS(1, 0, 1, 8, 1, 255), 0, "123.456", "kWh", NULL);
    assert_entry(&t, AMI_OBIS(1, 0, 32, 7, 0, 255), 0, "234.5", "V", NULL);
    o = find(&t, AMI_OBIS(1, 0, 1, 8, 1, 255));
    assert_true(t.groups[o->first].flags & AMI_P1_GF_UNIT_NO_STAR);
    free(in);
}

/* Pushes a whole buffer and finishes; returns the first non-AGAIN outcome. */
static int frame_once(const uint8_t *in, size_t n, unsigned lenient, ami_p1_frame *fr)
{
    static uint8_t buf[4096];
    ami_p1_framer f;
    ami_p1_framer_init(&f, buf, sizeof buf, lenient);
    size_t used;
    int rc = ami_p1_framer_push(&f, in, n, &used, fr);
    if (rc == AMI_E_AGAIN)
        rc = ami_p1_framer_finish(&f, fr);
    return rc;
}

static void test_lenient_short_crc(void **state)
{
    (void)state;
    /* The real telegram whose CRC is 0D3D, written as "!D3D" (leading zero dropped). */
    size_t n;
    uint8_t *in = tu_read_file(tu_testsdir("vectors/p1/derived/short_crc_d3d.txt"), &n);
    ami_p1_frame fr;
    assert_int_equal(frame_once(in, n, 0, &fr), AMI_E_MALFORMED);
    assert_int_equal(frame_once(in, n, AMI_P1_LENIENT_SHORT_CRC, &fr), AMI_OK);
    assert_int_equal(fr.crc_status, AMI_P1_CRC_OK);
    assert_int_equal(fr.crc_digits, 3);
    assert_int_equal(fr.crc_given, 0x0D3D);
    free(in);
}

static void test_lenient_blank_before_end(void **state)
{
    (void)state;
    size_t n;
    uint8_t *in = tu_read_file(tu_testsdir("vectors/p1/derived/blank_before_end.txt"), &n);
    ami_p1_frame fr;
    assert_int_equal(frame_once(in, n, 0, &fr), AMI_OK);
    ami_p1_telegram t;
    ami_p1_telegram_init(&t, objs, MAX_OBJ, grps, MAX_GRP);
    ami_p1_options po = {0, 0};
    assert_int_equal(ami_p1_parse(fr.data, fr.len, &po, &t), AMI_E_MALFORMED);
    assert_string_equal(t.error, "blank line before '!'");
    po.lenient = AMI_P1_LENIENT_BLANK_BEFORE_END;
    assert_int_equal(ami_p1_parse(fr.data, fr.len, &po, &t), AMI_OK);
    assert_int_equal(t.nobjects, 23);
    free(in);
}

static void test_lenient_lf_only(void **state)
{
    (void)state;
    /* A DSMR 2.2 telegram (no CRC) whose CRs were lost on the way. */
    size_t n;
    uint8_t *crlf = tu_read_file(tu_testdata("p1/dsmr22_kamstrup_ka6u_real_nb.txt"), &n);
    uint8_t *lf = malloc(n);
    if (!lf)
        abort();
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (crlf[i] != '\r')
            lf[m++] = crlf[i];
    ami_p1_frame fr;
    assert_int_equal(frame_once(lf, m, 0, &fr), AMI_OK);
    ami_p1_telegram t;
    ami_p1_telegram_init(&t, objs, MAX_OBJ, grps, MAX_GRP);
    ami_p1_options po = {0, 0};
    assert_int_equal(ami_p1_parse(fr.data, fr.len, &po, &t), AMI_E_MALFORMED);
    assert_string_equal(t.error, "line ends in LF without CR");
    po.lenient = AMI_P1_LENIENT_LF_ONLY;
    assert_int_equal(ami_p1_parse(fr.data, fr.len, &po, &t), AMI_OK);
    assert_int_equal(t.nobjects, 13);
    assert_entry(&t, AMI_OBIS(0, 1, 24, 3, 0, 255), 0, "4083.631", "m3", "2016-03-15T21:00:00");
    free(lf);
    free(crlf);
    /* The end line may end in LF alone whatever the flags (it is outside the CRC). */
    uint8_t *in = tu_read_file(
        tu_testdata("p1/broken_starts_midway_then_complete_kaifa_dsmr_reader.txt"), &n);
    assert_int_equal(frame_once(in, n, 0, &fr), AMI_OK);
    assert_int_equal(fr.crc_given, 0x4BC6);
    free(in);
}

static void test_trailing_bytes(void **state)
{
    (void)state;
    /* EasyMeter behind a COM-1 gateway: lines after "!" are skipped between telegrams. */
    size_t n;
    uint8_t *in = tu_read_file(
        tu_testdata("p1/germany_easymeter_q3d_a1004_com1_gateway_dsmr_parser.txt"), &n);
    static uint8_t buf[4096];
    ami_p1_framer f;
    ami_p1_framer_init(&f, buf, sizeof buf, 0);
    ami_p1_frame fr;
    size_t used;
    assert_int_equal(ami_p1_framer_push(&f, in, n, &used, &fr), AMI_OK);
    assert_int_equal(fr.crc_status, AMI_P1_CRC_ABSENT);
    assert_int_equal(ami_p1_framer_push(&f, in + used, n - used, &used, &fr), AMI_E_AGAIN);
    assert_int_equal(f.stats.skipped_bytes, 47); /* "  25818685" CR LF "DE0...3" CR LF */
    free(in);
    /* Same-line bytes after a "!" without CRC: AMI_P1_LENIENT_TRAILING_BYTES. */
    static const char tg[] =
        "/ESY5Q3DA1004 V3.04\r\n\r\n1-0:1.8.0(00032549.5061662*kWh)\r\n! GW42\r\n";
    assert_int_equal(frame_once((const uint8_t *)tg, sizeof tg - 1, 0, &fr), AMI_E_MALFORMED);
    assert_int_equal(
        frame_once((const uint8_t *)tg, sizeof tg - 1, AMI_P1_LENIENT_TRAILING_BYTES, &fr), AMI_OK);
    assert_int_equal(fr.len, 57);
}

/* ---------------------------------------------------------------- framer edge cases */

static void test_oversized(void **state)
{
    (void)state;
    size_t n;
    uint8_t *in = tu_read_file(tu_testdata("p1/stream_iskra_am550_566_telegrams_nb.txt"), &n);
    static uint8_t small[512];
    ami_p1_framer f;
    ami_p1_framer_init(&f, small, sizeof small, AMI_P1_LENIENT_DEFAULT);
    size_t off = 0;
    while (off < n) {
        ami_p1_frame fr;
        size_t used;
        size_t chunk = n - off < 300 ? n - off : 300;
        int rc = ami_p1_framer_push(&f, in + off, chunk, &used, &fr);
        assert_true(rc == AMI_E_AGAIN || rc == AMI_E_TOO_LARGE);
        off += used;
    }
    assert_int_equal(f.stats.telegrams, 0);
    assert_int_equal(f.stats.oversized, 566);
    free(in);
}

/* Markers inside parentheses split across chunks: a value full of '/' and '!' fed one byte at a
 * time is data, and the telegram still ends at the real '!'. */
static void test_markers_in_parens_chunked(void **state)
{
    (void)state;
    static char tg[4200];
    int n = snprintf(tg, sizeof tg, "/AAA5X\r\n\r\n0-0:96.13.0(");
    for (int i = 0; i < 2000; i++)
        tg[n++] = i % 2 ? '/' : '!';
    n += snprintf(tg + n, sizeof tg - (size_t)n, ")\r\n!\r\n");
    static uint8_t buf[4096];
    ami_p1_framer f;
    ami_p1_framer_init(&f, buf, sizeof buf, 0);
    ami_p1_frame fr;
    int rc = AMI_E_AGAIN;
    size_t used = 0;
    for (int i = 0; i < n && rc == AMI_E_AGAIN; i++) {
        rc = ami_p1_framer_push(&f, (const uint8_t *)tg + i, 1, &used, &fr);
        assert_true(used <= 1);
    }
    assert_int_equal(rc, AMI_OK);
    assert_int_equal(fr.len, (size_t)n - 2);
    assert_int_equal(fr.crc_status, AMI_P1_CRC_ABSENT);
}

static void test_resync_on_slash(void **state)
{
    (void)state;
    /* A '/' inside parentheses is data; outside it starts a new telegram. */
    static const char s[] = "/AAA5X\r\n\r\n0-0:96.13.0(a/b)\r\n!\r\n"
                            "/AAA5X\r\n\r\n1-0:1.8.1(1*kWh)/AAA5Y\r\n\r\n1-0:1.8.1(2*kWh)\r\n!\r\n";
    static uint8_t buf[64];
    ami_p1_framer f;
    ami_p1_framer_init(&f, buf, sizeof buf, 0);
    ami_p1_frame fr;
    size_t off = 0, used, n = sizeof s - 1;
    int rc = ami_p1_framer_push(&f, (const uint8_t *)s, n, &used, &fr);
    assert_int_equal(rc, AMI_OK);
    assert_int_equal(fr.len, 29);
    off += used;
    rc = ami_p1_framer_push(&f, (const uint8_t *)s + off, n - off, &used, &fr);
    assert_int_equal(rc, AMI_E_TRUNCATED);
    off += used;
    rc = ami_p1_framer_push(&f, (const uint8_t *)s + off, n - off, &used, &fr);
    assert_int_equal(rc, AMI_OK);
    assert_memory_equal(fr.data, "/AAA5Y", 6);
    assert_int_equal(f.stats.truncated, 1);
    assert_int_equal(f.stats.telegrams, 2);
}

static void test_streams(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        uint64_t good, crc_errors, truncated;
    } cases[] = {
        {"p1/stream_iskra_am550_566_telegrams_nb.txt", 566, 0, 0},
        {"p1/stream_sagemcom_t210d_with_corrupted_d2m.txt", 51, 3, 1},
    };
    for (size_t i = 0; i < AMI_COUNTOF(cases); i++) {
        size_t n;
        uint8_t *in = tu_read_file(tu_testdata(cases[i].file), &n);
        static uint8_t buf[AMI_P1_MAX_TELEGRAM_DEFAULT];
        ami_p1_framer f;
        ami_p1_framer_init(&f, buf, sizeof buf, AMI_P1_LENIENT_DEFAULT);
        size_t off = 0;
        uint64_t parsed = 0;
        bool done = false;
        while (!done) {
            ami_p1_frame fr;
            size_t used = 0;
            int rc;
            if (off < n) {
                rc = ami_p1_framer_push(&f, in + off, n - off, &used, &fr);
            } else {
                rc = ami_p1_framer_finish(&f, &fr);
                done = true;
            }
            off += used;
            if (rc == AMI_OK) {
                ami_p1_telegram t;
                ami_p1_telegram_init(&t, objs, MAX_OBJ, grps, MAX_GRP);
                ami_p1_options po = {AMI_P1_LENIENT_DEFAULT, 0};
                assert_int_equal(ami_p1_parse(fr.data, fr.len, &po, &t), AMI_OK);
                assert_int_equal(t.raw_lines, 0);
                parsed++;
            }
        }
        assert_int_equal(parsed, cases[i].good);
        assert_int_equal(f.stats.telegrams, cases[i].good);
        assert_int_equal(f.stats.crc_ok, cases[i].good);
        assert_int_equal(f.stats.crc_errors, cases[i].crc_errors);
        assert_int_equal(f.stats.truncated, cases[i].truncated);
        free(in);
    }
}

static void test_hostile(void **state)
{
    (void)state;
    /* Every prefix of a real telegram, against a guard page: never a read past the end. */
    size_t n;
    uint8_t *in = tu_read_file(tu_testdata("p1/belgium_fluvius_emucs171_dsmr_parser.txt"), &n);
    for (size_t k = 0; k <= n; k++) {
        uint8_t *g = tu_guard_copy(in, k);
        ami_p1_telegram t;
        ami_p1_telegram_init(&t, objs, MAX_OBJ, grps, MAX_GRP);
        ami_p1_options po = {AMI_P1_LENIENT_ALL, 0};
        (void)ami_p1_parse(g, k, &po, &t);
        ami_p1_frame fr;
        (void)frame_once(g, k, AMI_P1_LENIENT_ALL, &fr);
        tu_guard_free(g, k);
    }
    /* Capacity: too many objects or values is TOO_LARGE, never an overflow. */
    ami_p1_telegram t;
    ami_p1_telegram_init(&t, objs, 3, grps, MAX_GRP);
    assert_int_equal(ami_p1_parse(in, n - 6, NULL, &t), AMI_E_TOO_LARGE);
    ami_p1_telegram_init(&t, objs, MAX_OBJ, grps, 10);
    assert_int_equal(ami_p1_parse(in, n - 6, NULL, &t), AMI_E_TOO_LARGE);
    assert_string_equal(t.error, "too many values");
    free(in);
    /* Numbers: 18 significant digits fit, 19 are text; exact formatting. */
    static const char tg[] = "/X\r\n\r\n1-0:1.8.0(999999999999999999*Wh)\r\n"
                             "1-0:2.8.0(9999999999999999999*Wh)\r\n1-0:1.7.0(-0.05*kW)\r\n!";
    ami_p1_telegram_init(&t, objs, MAX_OBJ, grps, MAX_GRP);
    assert_int_equal(ami_p1_parse((const uint8_t *)tg, sizeof tg - 1, NULL, &t), AMI_OK);
    char b[32];
    assert_int_equal(t.groups[0].type, AMI_P1_NUMBER);
    assert_true(ami_p1_number_format(&t.groups[0], b, sizeof b) > 0);
    assert_string_equal(b, "999999999999999999");
    assert_int_equal(t.groups[1].type, AMI_P1_TEXT);
    assert_true(ami_p1_number_format(&t.groups[2], b, sizeof b) > 0);
    assert_string_equal(b, "-0.05");
    /* More fraction digits than the scale can hold (leading zeros included): text, never a
     * different number (0.000...01 once read as 1). */
    static char zeros[300];
    memset(zeros, 0, sizeof zeros);
    int zl = snprintf(zeros, sizeof zeros, "/X\r\n\r\n1-0:1.8.1(0.%0200d1*kWh)\r\n!", 0);
    ami_p1_telegram_init(&t, objs, MAX_OBJ, grps, MAX_GRP);
    assert_int_equal(ami_p1_parse((const uint8_t *)zeros, (size_t)zl, NULL, &t), AMI_OK);
    assert_int_equal(t.groups[0].type, AMI_P1_TEXT);
    /* Nineteen fraction digits: text too; eighteen: a number with scale 18. */
    static const char d18[] = "/X\r\n\r\n1-0:1.8.1(0.000000000000000001*kWh)\r\n"
                              "1-0:1.8.2(0.0000000000000000001*kWh)\r\n!";
    ami_p1_telegram_init(&t, objs, MAX_OBJ, grps, MAX_GRP);
    assert_int_equal(ami_p1_parse((const uint8_t *)d18, sizeof d18 - 1, NULL, &t), AMI_OK);
    assert_int_equal(t.groups[0].type, AMI_P1_NUMBER);
    assert_int_equal(t.groups[0].decimals, 18);
    assert_int_equal(t.groups[1].type, AMI_P1_TEXT);
}

/* A value full of '/' and '!' inside parentheses is part of its telegram (one backward scan,
 * then a skip to the closing parenthesis), and the framer still finds the real end. */
static void test_markers_inside_value(void **state)
{
    (void)state;
    static char tg[6000];
    size_t n = 0;
    n += (size_t)snprintf(tg + n, sizeof tg - n, "/ABC5\\2test\r\n\r\n0-0:96.13.0(");
    for (int i = 0; i < 4000; i++)
        tg[n++] = (char)(i % 3 ? '/' : '!');
    n += (size_t)snprintf(tg + n, sizeof tg - n, ")\r\n!");
    uint16_t crc = ami_crc16_arc(tg, n);
    n += (size_t)snprintf(tg + n, sizeof tg - n, "%04X\r\n", crc);
    ami_p1_frame fr;
    assert_int_equal(frame_once((const uint8_t *)tg, n, AMI_P1_LENIENT_DEFAULT, &fr), AMI_OK);
    assert_int_equal(fr.len, n - 6);
}

static void test_quantity_table(void **state)
{
    (void)state;
    size_t n;
    const ami_p1_quantity *q = ami_p1_quantity_table(&n);
    assert_true(n > 60);
    for (size_t i = 1; i < n; i++)
        assert_true(memcmp(q[i - 1].obis.v, q[i].obis.v, 5) < 0);
    for (size_t i = 0; i < n; i++) {
        assert_ptr_equal(ami_p1_quantity_find(&q[i].obis), &q[i]);
        /* ami_p1_object_name promises that 32 bytes suffice ("mbusN_" + name + NUL). */
        assert_true(strlen(q[i].name) > 0 && strlen(q[i].name) + (q[i].per_channel ? 6 : 0) < 32);
    }
    ami_obis gas = AMI_OBIS(0, 3, 24, 2, 1, 255);
    assert_non_null(ami_p1_quantity_find(&gas));
    gas.v[1] = 5;
    assert_null(ami_p1_quantity_find(&gas));
    assert_int_equal(ami_p1_lenient_from_name("short-crc"), AMI_P1_LENIENT_SHORT_CRC);
    assert_int_equal(ami_p1_lenient_from_name("nope"), 0);
    assert_string_equal(ami_p1_lenient_name(AMI_P1_LENIENT_UNIT_NO_STAR), "unit-no-star");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_dsmr50_values),
        cmocka_unit_test(test_belgium_values),
        cmocka_unit_test(test_dsmr22_legacy_gas),
        cmocka_unit_test(test_placeholders),
        cmocka_unit_test(test_lenient_no_blank_after_header),
        cmocka_unit_test(test_lenient_split_value),
        cmocka_unit_test(test_lenient_obis_f),
        cmocka_unit_test(test_lenient_unit_no_star),
        cmocka_unit_test(test_lenient_short_crc),
        cmocka_unit_test(test_lenient_blank_before_end),
        cmocka_unit_test(test_lenient_lf_only),
        cmocka_unit_test(test_trailing_bytes),
        cmocka_unit_test(test_oversized),
        cmocka_unit_test(test_markers_in_parens_chunked),
        cmocka_unit_test(test_resync_on_slash),
        cmocka_unit_test(test_streams),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_markers_inside_value),
        cmocka_unit_test(test_quantity_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
