/*
 * DSMR P1 streaming framer (see ami/p1.h). DSMR 5.0.2 P1 companion standard 6.2 (telegram
 * layout) and 6.12 (CRC-16 over '/'..'!').
 *
 * States:
 *   HUNT   skipping bytes until a '/' (memchr);
 *   BODY   inside a telegram whose first bytes are buffered in f->buf[0..len);
 *   CRC    after '!': up to 4 hex digits, then the line end;
 *   EOL    after a telegram: swallow one CR and one LF, then HUNT.
 * When a whole telegram lies inside one pushed chunk it is handed back as a view of that chunk
 * without copying; otherwise the bytes seen so far are copied into the caller's buffer, which
 * bounds the telegram length.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "ami/crc.h"
#include "ami/error.h"
#include "ami/p1.h"
#include "core/internal.h"

enum { ST_HUNT = 0, ST_BODY, ST_CRC, ST_EOL };

int ami_p1_framer_init(ami_p1_framer *f, uint8_t *buf, size_t cap, unsigned lenient)
{
    if (!f || !buf || cap < 16)
        return AMI_E_INVAL;
    memset(f, 0, sizeof *f);
    f->buf = buf;
    f->cap = cap;
    f->lenient = lenient;
    f->state = ST_HUNT;
    return AMI_OK;
}

/*
 * True when the byte at s[pos] lies between '(' and ')' of its line: scans back to the nearest
 * '(' , ')' or line feed. Only called for the rare '/' or '!' inside a telegram body.
 */
static bool inside_parens(const uint8_t *s, size_t pos)
{
    while (pos > 0) {
        uint8_t c = s[--pos];
        if (c == '(')
            return true;
        if (c == ')' || c == '\n')
            return false;
    }
    return false;
}

/*
 * Finds the first '!' or '/' in s[from..to) that is not between parentheses. Returns its offset,
 * or `to` when there is none.
 */
static size_t find_marker(const uint8_t *s, size_t from, size_t to)
{
    size_t pos = from;
    while (pos < to) {
        const uint8_t *a = memchr(s + pos, '!', to - pos);
        size_t lim = a ? (size_t)(a - s) : to;
        const uint8_t *b = memchr(s + pos, '/', lim - pos);
        size_t m = b ? (size_t)(b - s) : lim;
        if (m == to)
            return to;
        if (!inside_parens(s, m))
            return m;
        /* Every marker up to the next ')' or line feed lies inside the same parentheses: skip
         * them all, so a value full of '/' costs one backward scan, not one per '/'. */
        pos = m + 1;
        while (pos < to && s[pos] != ')' && s[pos] != '\n')
            pos++;
    }
    return to;
}

/*
 * Finds the first '!' or '/' outside parentheses in s[from..to), carrying the parenthesis state
 * of the bytes before `from` in *in (updated to the state at the end of what was scanned). Used
 * for telegrams arriving in several chunks: each byte is looked at once however the stream is
 * cut, where find_marker() would scan back over the line for every chunk.
 */
static size_t find_marker_from(const uint8_t *s, size_t from, size_t to, bool *in)
{
    bool st = *in;
    for (size_t i = from; i < to; i++) {
        uint8_t c = s[i];
        if (c == '(') {
            st = true;
        } else if (c == ')' || c == '\n') {
            st = false;
        } else if (!st && (c == '!' || c == '/')) {
            *in = st;
            return i;
        }
    }
    *in = st;
    return to;
}

/* Completes the telegram tg[0..len) ('/'..'!') with the CRC digits read so far. */
static int complete(ami_p1_framer *f, const uint8_t *tg, size_t len, ami_p1_frame *out)
{
    out->data = tg;
    out->len = len;
    out->crc_digits = f->crc_ndig;
    out->crc_given = f->crc_acc;
    out->crc_computed = 0;
    f->state = ST_EOL;
    f->len = 0;
    if (f->crc_ndig == 0) {
        out->crc_status = AMI_P1_CRC_ABSENT;
        f->stats.telegrams++;
        f->stats.crc_absent++;
        return AMI_OK;
    }
    if (f->crc_ndig < 4 && !(f->lenient & AMI_P1_LENIENT_SHORT_CRC)) {
        out->crc_status = AMI_P1_CRC_ABSENT;
        f->stats.malformed++;
        return AMI_E_MALFORMED;
    }
    out->crc_computed = ami_crc16_arc(tg, len);
    if (out->crc_computed != out->crc_given) {
        out->crc_status = AMI_P1_CRC_BAD;
        f->stats.crc_errors++;
        return AMI_E_CHECKSUM;
    }
    out->crc_status = AMI_P1_CRC_OK;
    f->stats.telegrams++;
    f->stats.crc_ok++;
    return AMI_OK;
}

/*
 * Feeds the end line after '!' from p[0..n). Returns AMI_E_AGAIN when more is needed (all of p
 * used), otherwise the outcome with *used set.
 */
static int crc_step(ami_p1_framer *f, const uint8_t *p, size_t n, size_t *used, const uint8_t *tg,
                    size_t tglen, ami_p1_frame *out)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        int v = ami__hexval(c);
        if (v >= 0 && f->crc_ndig < 4) {
            f->crc_acc = (uint16_t)(f->crc_acc << 4 | (unsigned)v);
            f->crc_ndig++;
            i++;
            if (f->crc_ndig == 4) {
                *used = i;
                return complete(f, tg, tglen, out);
            }
            continue;
        }
        *used = i;
        if (c == '\r' || c == '\n')
            return complete(f, tg, tglen, out);
        if (f->crc_ndig == 0 && (f->lenient & AMI_P1_LENIENT_TRAILING_BYTES))
            return complete(f, tg, tglen, out);
        /* "!" followed by something that is neither a CRC nor a line end. */
        out->data = tg;
        out->len = tglen;
        out->crc_status = AMI_P1_CRC_ABSENT;
        out->crc_digits = f->crc_ndig;
        out->crc_given = f->crc_acc;
        out->crc_computed = 0;
        f->state = ST_HUNT;
        f->len = 0;
        f->stats.malformed++;
        return AMI_E_MALFORMED;
    }
    *used = n;
    return AMI_E_AGAIN;
}

static void start_crc(ami_p1_framer *f)
{
    f->state = ST_CRC;
    f->crc_acc = 0;
    f->crc_ndig = 0;
}

static int fail_fragment(ami_p1_framer *f, const uint8_t *tg, size_t len, ami_p1_frame *out,
                         int err)
{
    out->data = tg;
    out->len = len;
    out->crc_status = AMI_P1_CRC_ABSENT;
    out->crc_digits = 0;
    out->crc_given = out->crc_computed = 0;
    f->len = 0;
    f->state = ST_HUNT;
    if (err == AMI_E_TRUNCATED)
        f->stats.truncated++;
    else
        f->stats.oversized++;
    return err;
}

int ami_p1_framer_push(ami_p1_framer *f, const uint8_t *data, size_t n, size_t *consumed,
                       ami_p1_frame *out)
{
    if (!f || !consumed || !out || (!data && n))
        return AMI_E_INVAL;
    const uint8_t *p = data, *end = data + n;
    *consumed = 0;
    while (p < end) {
        switch (f->state) {
        case ST_EOL:
            if (*p == '\r' || *p == '\n') {
                /* One CR and one LF belong to the end line; anything else is noise. */
                if (*p == '\n')
                    f->state = ST_HUNT;
                p++;
                continue;
            }
            f->state = ST_HUNT;
            continue;
        case ST_HUNT: {
            const uint8_t *s = memchr(p, '/', (size_t)(end - p));
            if (!s) {
                f->stats.skipped_bytes += (uint64_t)(end - p);
                p = end;
                continue;
            }
            f->stats.skipped_bytes += (uint64_t)(s - p);
            p = s;
            /* Zero-copy attempt: the whole telegram inside this chunk. */
            size_t avail = (size_t)(end - p);
            size_t window = avail < f->cap ? avail : f->cap;
            size_t m = find_marker(p, 1, window);
            if (m < window && p[m] == '/') {
                *consumed = (size_t)(p + m - data);
                return fail_fragment(f, p, m, out, AMI_E_TRUNCATED);
            }
            if (m < window) { /* '!' */
                start_crc(f);
                size_t used;
                int rc = crc_step(f, p + m + 1, avail - m - 1, &used, p, m + 1, out);
                if (rc != AMI_E_AGAIN) {
                    *consumed = (size_t)(p + m + 1 + used - data);
                    return rc;
                }
                /* The end line continues in the next chunk: keep the telegram. */
                memcpy(f->buf, p, m + 1);
                f->len = m + 1;
                *consumed = n;
                return AMI_E_AGAIN;
            }
            if (window == f->cap) {
                *consumed = (size_t)(p + window - data);
                return fail_fragment(f, p, window, out, AMI_E_TOO_LARGE);
            }
            memcpy(f->buf, p, window);
            f->len = window;
            f->in_parens = false;
            (void)find_marker_from(f->buf, 1, window, &f->in_parens); /* no marker: state only */
            f->state = ST_BODY;
            p += window;
            continue;
        }
        case ST_BODY: {
            size_t room = f->cap - f->len;
            size_t k = (size_t)(end - p) < room ? (size_t)(end - p) : room;
            size_t from = f->len;
            memcpy(f->buf + from, p, k);
            size_t m = find_marker_from(f->buf, from, from + k, &f->in_parens);
            if (m < from + k && f->buf[m] == '/') {
                /* Cut off: the new telegram starts at the '/', left unconsumed. */
                *consumed = (size_t)(p + (m - from) - data);
                return fail_fragment(f, f->buf, m, out, AMI_E_TRUNCATED);
            }
            if (m < from + k) {
                p += m - from + 1;
                f->len = m + 1;
                start_crc(f);
                continue;
            }
            p += k;
            f->len = from + k;
            if (f->len == f->cap && p < end) {
                *consumed = (size_t)(p - data);
                return fail_fragment(f, f->buf, f->len, out, AMI_E_TOO_LARGE);
            }
            continue;
        }
        case ST_CRC: {
            size_t used;
            int rc = crc_step(f, p, (size_t)(end - p), &used, f->buf, f->len, out);
            p += used;
            if (rc != AMI_E_AGAIN) {
                *consumed = (size_t)(p - data);
                return rc;
            }
            continue;
        }
        default:
            f->state = ST_HUNT;
            continue;
        }
    }
    /* A full buffer with no end in sight is only rejected when more bytes arrive. */
    *consumed = n;
    return AMI_E_AGAIN;
}

int ami_p1_framer_finish(ami_p1_framer *f, ami_p1_frame *out)
{
    if (!f || !out)
        return AMI_E_INVAL;
    int st = f->state;
    if (st == ST_BODY && f->len > 0)
        return fail_fragment(f, f->buf, f->len, out, AMI_E_TRUNCATED);
    if (st == ST_CRC)
        return complete(f, f->buf, f->len, out);
    f->state = ST_HUNT;
    f->len = 0;
    return AMI_E_AGAIN;
}
