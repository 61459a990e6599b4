/*
 * Streaming JSON writer (ami/json.h).
 *
 * Invariant: need_comma[depth] is true once the container at that depth holds a value, so the
 * next value (or key) is preceded by ','. after_key is true between a key and its value.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ami/bytes.h"
#include "ami/json.h"

static int file_sink(void *user, const char *s, size_t n)
{
    return fwrite(s, 1, n, (FILE *)user) == n ? AMI_OK : AMI_E_IO;
}

void ami_jw_init(ami_jw *w, ami_jw_sink sink, void *user)
{
    memset(w, 0, sizeof *w);
    w->sink = sink;
    w->user = user;
}

void ami_jw_init_file(ami_jw *w, FILE *f)
{
    ami_jw_init(w, file_sink, f);
}

int ami_jw_error(const ami_jw *w)
{
    return w->err;
}

static void put(ami_jw *w, const char *s, size_t n)
{
    if (w->err || n == 0)
        return;
    int rc = w->sink(w->user, s, n);
    if (rc < 0)
        w->err = rc;
}

static void fail(ami_jw *w, int err)
{
    if (!w->err)
        w->err = err;
}

/* Writes the comma that separates this member or element from the previous one. */
static void separate(ami_jw *w)
{
    if (w->need_comma[w->depth])
        put(w, ",", 1);
    w->need_comma[w->depth] = true;
}

/*
 * Called before every value: writes the separating comma unless a key was just written. Inside
 * an object a value must follow its key, or the output would not be JSON.
 */
static void begin_value(ami_jw *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->is_obj[w->depth]) {
        fail(w, AMI_E_STATE);
        return;
    }
    separate(w);
}

static void open(ami_jw *w, char c)
{
    begin_value(w);
    if (w->depth >= AMI_JW_MAX_DEPTH) {
        fail(w, AMI_E_TOO_DEEP);
        return;
    }
    put(w, &c, 1);
    w->need_comma[++w->depth] = false;
    w->is_obj[w->depth] = c == '{';
}

static void close_(ami_jw *w, char c)
{
    if (w->depth <= 0 || w->after_key || w->is_obj[w->depth] != (c == '}')) {
        fail(w, AMI_E_STATE);
        return;
    }
    w->depth--;
    put(w, &c, 1);
}

void ami_jw_obj_begin(ami_jw *w)
{
    open(w, '{');
}
void ami_jw_obj_end(ami_jw *w)
{
    close_(w, '}');
}
void ami_jw_arr_begin(ami_jw *w)
{
    open(w, '[');
}
void ami_jw_arr_end(ami_jw *w)
{
    close_(w, ']');
}

/* Length of a valid UTF-8 sequence starting at s (at most n bytes), or 0 if invalid. */
static size_t utf8_len(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07u;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3Fu);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return len;
}

static void put_string(ami_jw *w, const char *str, size_t n)
{
    const uint8_t *s = (const uint8_t *)str;
    size_t run = 0; /* start of the pending run of bytes that need no escaping */
    put(w, "\"", 1);
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        size_t ulen = 1;
        const char *esc = NULL;
        char buf[8];
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c < 0x20 || c == 0x7F) {
            snprintf(buf, sizeof buf, "\\u%04X", c);
            esc = buf;
        } else if (c >= 0x80) {
            ulen = utf8_len(s + i, n - i);
            if (ulen == 0) {
                snprintf(buf, sizeof buf, "\\u%04X", c);
                esc = buf;
                ulen = 1;
            }
        }
        if (esc) {
            put(w, str + run, i - run);
            put(w, esc, strlen(esc));
            run = i + 1;
        }
        i += ulen;
    }
    put(w, str + run, n - run);
    put(w, "\"", 1);
}

void ami_jw_key(ami_jw *w, const char *key)
{
    if (!key || w->after_key || !w->is_obj[w->depth]) {
        fail(w, AMI_E_STATE);
        return;
    }
    separate(w);
    put_string(w, key, strlen(key));
    put(w, ":", 1);
    w->after_key = true;
}

void ami_jw_strn(ami_jw *w, const char *s, size_t n)
{
    begin_value(w);
    put_string(w, s, n);
}

void ami_jw_str(ami_jw *w, const char *s)
{
    if (!s) {
        ami_jw_null(w);
        return;
    }
    ami_jw_strn(w, s, strlen(s));
}

void ami_jw_int(ami_jw *w, int64_t v)
{
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%" PRId64, v);
    begin_value(w);
    put(w, buf, (size_t)n);
}

void ami_jw_uint(ami_jw *w, uint64_t v)
{
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%" PRIu64, v);
    begin_value(w);
    put(w, buf, (size_t)n);
}

void ami_jw_double(ami_jw *w, double v)
{
    if (!isfinite(v)) {
        ami_jw_null(w);
        return;
    }
    char buf[32];
    /* Shortest of %.15g / %.17g that round-trips. */
    int n = snprintf(buf, sizeof buf, "%.15g", v);
    if (strtod(buf, NULL) != v)
        n = snprintf(buf, sizeof buf, "%.17g", v);
    begin_value(w);
    put(w, buf, (size_t)n);
}

void ami_jw_bool(ami_jw *w, bool v)
{
    begin_value(w);
    put(w, v ? "true" : "false", v ? 4 : 5);
}

void ami_jw_null(ami_jw *w)
{
    begin_value(w);
    put(w, "null", 4);
}

/* RFC 8259 section 6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static bool json_number(const char *s, size_t n)
{
    size_t i = 0, d;
    if (!s)
        return false;
    if (i < n && s[i] == '-')
        i++;
    if (i < n && s[i] == '0') {
        i++;
    } else {
        for (d = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++, d++)
            ;
        if (d == 0)
            return false;
    }
    if (i < n && s[i] == '.') {
        for (i++, d = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++, d++)
            ;
        if (d == 0)
            return false;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        for (d = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++, d++)
            ;
        if (d == 0)
            return false;
    }
    return i == n;
}

void ami_jw_number_text(ami_jw *w, const char *s, size_t n)
{
    if (!json_number(s, n)) {
        fail(w, AMI_E_SYNTAX); /* never let arbitrary text into the document */
        return;
    }
    begin_value(w);
    put(w, s, n);
}

void ami_jw_hex(ami_jw *w, const void *data, size_t n)
{
    static const char digits[] = "0123456789ABCDEF";
    const uint8_t *b = (const uint8_t *)data;
    char buf[128];
    begin_value(w);
    put(w, "\"", 1);
    while (n) {
        size_t chunk = n > sizeof buf / 2 ? sizeof buf / 2 : n;
        for (size_t i = 0; i < chunk; i++) {
            buf[2 * i] = digits[b[i] >> 4];
            buf[2 * i + 1] = digits[b[i] & 15];
        }
        put(w, buf, 2 * chunk);
        b += chunk;
        n -= chunk;
    }
    put(w, "\"", 1);
}
