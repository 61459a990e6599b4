/*
 * DSMR P1 telegram parser (see ami/p1.h): one pass over the telegram, zero copy, no allocation.
 *
 * Grammar (DSMR 5.0.2 P1 companion standard 6.4 and 6.12, IEC 62056-21 data sets):
 *   telegram = "/" header EOL EOL *(object EOL) "!"
 *   object   = obis 1*("(" value ")")          obis = A "-" B ":" C "." D "." E
 *   value    = number ["*" unit] | timestamp | obis | text
 *   timestamp = YYMMDDhhmmss ("S" | "W")       (6.4: S = summer time, W = winter time)
 * DSMR 2.2/3.0 continue the groups of an object on the next line, a line that starts with "("
 * (0-n:24.3.0 gas reading); that is standard there and always accepted.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <string.h>

#include "ami/error.h"
#include "ami/p1.h"

/* ---------------------------------------------------------------- small scanners */

static inline bool is_digit(uint8_t c)
{
    return (unsigned)(c - '0') < 10u;
}

static inline int hexval(uint8_t c)
{
    if (is_digit(c))
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Reads 1..3 decimal digits as a value 0..255 at s[*i]; advances *i. */
static bool read_u8(const uint8_t *s, size_t n, size_t *i, uint8_t *v)
{
    size_t k = *i;
    unsigned acc = 0;
    size_t start = k;
    while (k < n && is_digit(s[k]) && k - start < 3)
        acc = acc * 10 + (unsigned)(s[k++] - '0');
    if (k == start || acc > 255 || (k < n && is_digit(s[k])))
        return false;
    *v = (uint8_t)acc;
    *i = k;
    return true;
}

/*
 * Parses "A-B:C.D.E" at s[*i]; with allow_f also "*F". Returns 0 (none), 1 (A-B:C.D.E), 2 (with
 * "*F"). *i advances past the code on success.
 */
static int read_obis(const uint8_t *s, size_t n, size_t *i, bool allow_f, ami_obis *o)
{
    static const char seps[4] = {'-', ':', '.', '.'};
    size_t k = *i;
    for (int g = 0; g < 5; g++) {
        if (!read_u8(s, n, &k, &o->v[g]))
            return 0;
        if (g < 4) {
            if (k >= n || s[k] != (uint8_t)seps[g])
                return 0;
            k++;
        }
    }
    o->v[5] = 255;
    int kind = 1;
    if (allow_f && k < n && s[k] == '*') {
        size_t j = k + 1;
        if (!read_u8(s, n, &j, &o->v[5]))
            return 0;
        k = j;
        kind = 2;
    }
    *i = k;
    return kind;
}

/* ---------------------------------------------------------------- dates */

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian), H. Hinnant's civil algorithm. */
static int64_t days_from_civil(int y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int64_t)era * 146097 + (int64_t)doe - 719468;
}

static unsigned days_in_month(int y, unsigned m)
{
    static const uint8_t dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dim[m - 1];
}

static inline unsigned d2(const uint8_t *s)
{
    return (unsigned)(s[0] - '0') * 10u + (unsigned)(s[1] - '0');
}

/*
 * Fills a TIME group from 12 digits YYMMDDhhmmss (already checked to be digits). offset: minutes
 * east of UTC, or INT16_MIN for "no offset" (local time, DSMR 2.2 24.3.0 and Itron profiles).
 * Placeholders (DSMR 5.0.2 6.4 leaves "no value" to the meter; seen: 000101000000W,
 * 000101000001W, 000000000000W, 632525252525W, 700101010000W): fields out of range, 2000-01-01
 * (the meters' "never") and 1970-01-01 (the Unix epoch written with a two-digit year).
 */
static void set_time(ami_p1_group *g, const uint8_t *s, int offset)
{
    unsigned yy = d2(s), mo = d2(s + 2), dd = d2(s + 4), hh = d2(s + 6), mi = d2(s + 8),
             ss = d2(s + 10);
    int year = 2000 + (int)yy;
    g->type = AMI_P1_TIME;
    g->u.unix_time = 0;
    g->utc_offset = offset == INT16_MIN ? 0 : (int16_t)offset;
    if (offset == INT16_MIN)
        g->flags |= AMI_P1_GF_NO_OFFSET;
    if (mo < 1 || mo > 12 || dd < 1 || dd > days_in_month(year, mo) || hh > 23 || mi > 59 ||
        ss > 59 || (mo == 1 && dd == 1 && (yy == 0 || yy == 70))) {
        g->flags |= AMI_P1_GF_PLACEHOLDER;
        return;
    }
    g->u.unix_time = days_from_civil(year, mo, dd) * 86400 + hh * 3600 + mi * 60 + ss -
                     (int64_t)g->utc_offset * 60;
}

/* ---------------------------------------------------------------- groups */

static bool all_hex_even(const uint8_t *s, size_t n)
{
    size_t digits = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\r' || s[i] == '\n')
            continue;
        if (hexval(s[i]) < 0)
            return false;
        digits++;
    }
    return digits >= 2 && digits % 2 == 0;
}

static void set_text(ami_p1_group *g)
{
    g->type = AMI_P1_TEXT;
    if (all_hex_even((const uint8_t *)g->text, g->text_len))
        g->flags |= AMI_P1_GF_HEX;
}

/*
 * Types one group from its text s[0..n). text_kind: the object is known to hold text (ids,
 * messages), which keeps digit strings as text.
 */
static void type_group(ami_p1_group *g, const uint8_t *s, size_t n, bool text_kind,
                       const ami_p1_options *o, int std_offset)
{
    g->text = (const char *)s;
    g->text_len = (uint32_t)n;
    g->unit = NULL;
    g->unit_len = 0;
    g->decimals = 0;
    g->utc_offset = 0;
    g->u.mantissa = 0;
    if (n == 0) {
        g->type = AMI_P1_EMPTY;
        return;
    }
    if (text_kind) {
        set_text(g);
        return;
    }
    uint8_t last = s[n - 1];
    if (n == 13 && (last == 'S' || last == 'W')) {
        size_t k = 0;
        while (k < 12 && is_digit(s[k]))
            k++;
        if (k == 12) {
            set_time(g, s, last == 'W' ? std_offset : std_offset + 60);
            return;
        }
    }
    /* Number: [-] digits [. digits] [* unit] */
    size_t i = 0;
    bool neg = false;
    if (s[0] == '-') {
        neg = true;
        i = 1;
    }
    size_t d0 = i;
    int64_t m = 0;
    unsigned sig = 0; /* significant digits (after leading zeros) */
    int dec = -1;
    for (; i < n; i++) {
        uint8_t c = s[i];
        if (is_digit(c)) {
            if (m != 0 || c != '0')
                sig++;
            /* 18 significant digits always fit an int64 mantissa; a 19th is refused before it
             * is multiplied in (the value is then kept as text). */
            if (sig > 18)
                break;
            m = m * 10 + (c - '0');
            if (dec >= 0)
                dec++;
        } else if (c == '.' && dec < 0) {
            dec = 0;
        } else {
            break;
        }
    }
    size_t ndig = i - d0 - (dec >= 0 ? 1u : 0u);
    /* More than 18 fraction digits (leading zeros count here, unlike in `sig`) would not fit
     * the int8 scale exactly: such a value stays text rather than turning into another number. */
    if (sig <= 18 && ndig > 0 && dec != 0 && dec <= 18) {
        if (i == n) {
            g->type = AMI_P1_NUMBER;
            g->u.mantissa = neg ? -m : m;
            g->decimals = (int8_t)(dec < 0 ? 0 : dec);
            return;
        }
        size_t us = i;
        bool star = s[i] == '*';
        if (star)
            us++;
        size_t ul = n - us;
        if (ul > 0 && ul <= 255 && (star || (o->lenient & AMI_P1_LENIENT_UNIT_NO_STAR)) &&
            !is_digit(s[us])) {
            g->type = AMI_P1_NUMBER;
            g->u.mantissa = neg ? -m : m;
            g->decimals = (int8_t)(dec < 0 ? 0 : dec);
            g->text_len = (uint32_t)i;
            g->unit = (const char *)s + us;
            g->unit_len = (uint8_t)ul;
            if (!star)
                g->flags |= AMI_P1_GF_UNIT_NO_STAR;
            return;
        }
    }
    /* "YY-MM-DD hh:mm:ss" (Itron ACE4000 profiles): local time, no offset. */
    if (n == 17 && s[2] == '-' && s[5] == '-' && s[8] == ' ' && s[11] == ':' && s[14] == ':') {
        uint8_t t[12];
        static const uint8_t pos[12] = {0, 1, 3, 4, 6, 7, 9, 10, 12, 13, 15, 16};
        bool ok = true;
        for (int k = 0; k < 12; k++) {
            t[k] = s[pos[k]];
            ok = ok && is_digit(t[k]);
        }
        if (ok) {
            set_time(g, t, INT16_MIN);
            return;
        }
    }
    if (is_digit(s[0])) {
        size_t k = 0;
        ami_obis ob;
        if (read_obis(s, n, &k, true, &ob) && k == n) {
            g->type = AMI_P1_OBIS;
            g->u.obis = ob;
            return;
        }
    }
    set_text(g);
}

/* ---------------------------------------------------------------- shapes */

/* Decides how the groups of a finished object form entries. */
static void finish_object(ami_p1_telegram *t, ami_p1_object *ob, int std_offset)
{
    ami_p1_group *g = t->groups + ob->first;
    uint32_t n = ob->ngroups;
    int shape = ob->q ? ob->q->shape : AMI_P1_SHAPE_SINGLE;
    ob->shape = AMI_P1_SHAPE_SINGLE;
    ob->nentries = (uint16_t)(n > UINT16_MAX ? UINT16_MAX : n);
    if (shape == AMI_P1_SHAPE_LOG) {
        /* (count)(obis)...: entries of (refs + 1) groups; DSMR 5.0.2 6.12 power-failure log. */
        uint32_t r = 0;
        while (1 + r < n && g[1 + r].type == AMI_P1_OBIS)
            r++;
        if (n >= 1 + r && g[0].type == AMI_P1_NUMBER && g[0].decimals == 0 && r >= 1 &&
            g[0].u.mantissa >= 0 && (uint64_t)g[0].u.mantissa * (r + 1) == n - 1 - r &&
            g[0].u.mantissa <= UINT16_MAX) {
            ob->shape = AMI_P1_SHAPE_LOG;
            ob->nentries = (uint16_t)g[0].u.mantissa;
        } else {
            ob->flags |= AMI_P1_OF_BAD_SHAPE;
        }
        return;
    }
    if (shape == AMI_P1_SHAPE_LEGACY_MBUS) {
        /* DSMR 2.2/3.0: (YYMMDDhhmmss)(status)(interval)(count)(obis)(unit) then (value). */
        if (n == 7 && g[0].text_len == 12 && g[6].type == AMI_P1_NUMBER) {
            const uint8_t *s = (const uint8_t *)g[0].text;
            bool digits = true;
            for (int k = 0; k < 12; k++)
                digits = digits && is_digit(s[k]);
            if (digits) {
                g[0].flags = 0;
                set_time(&g[0], s, INT16_MIN);
                (void)std_offset;
                ob->shape = AMI_P1_SHAPE_LEGACY_MBUS;
                ob->nentries = 1;
                return;
            }
        }
        ob->flags |= AMI_P1_OF_BAD_SHAPE;
        return;
    }
    /* (time)(value) or (value)(time): any object, known or not (24.2.1, 1.6.0, Itron 23.1.0). */
    if (n == 2 &&
        ((g[0].type == AMI_P1_TIME && g[1].type != AMI_P1_TIME && g[1].type != AMI_P1_OBIS) ||
         (g[1].type == AMI_P1_TIME && g[0].type == AMI_P1_NUMBER))) {
        ob->shape = AMI_P1_SHAPE_TIMED;
        ob->nentries = 1;
        return;
    }
    if (shape == AMI_P1_SHAPE_TIMED && ob->q)
        ob->flags |= AMI_P1_OF_BAD_SHAPE;
}

/* ---------------------------------------------------------------- telegram */

void ami_p1_telegram_init(ami_p1_telegram *t, ami_p1_object *objects, size_t objects_cap,
                          ami_p1_group *groups, size_t groups_cap)
{
    memset(t, 0, sizeof *t);
    t->objects = objects;
    t->groups = groups;
    t->objects_cap = (uint32_t)(objects_cap > UINT32_MAX ? UINT32_MAX : objects_cap);
    t->groups_cap = (uint32_t)(groups_cap > UINT32_MAX ? UINT32_MAX : groups_cap);
}

static int fail(ami_p1_telegram *t, int err, const char *why, size_t off)
{
    t->error = why;
    t->error_offset = off;
    return err;
}

/*
 * Parses the groups of one line s[*i..eol) into t->groups, starting at '('. A group may run past
 * eol into the next line (split value): *eol and *next are moved then. Returns 1 when the rest
 * of the line is groups only, 0 when the line does not fit the grammar, or a negative error.
 */
static int parse_groups(ami_p1_telegram *t, const uint8_t *s, size_t body_end, size_t i,
                        size_t *eol, size_t *next, bool text_kind, const ami_p1_options *o,
                        int std_offset)
{
    while (i < *eol) {
        if (s[i] != '(')
            return 0;
        const uint8_t *close = memchr(s + i + 1, ')', *eol - i - 1);
        if (!close) {
            /* The value may continue on the next line (DSMR 5.0 example, long messages). */
            if (*next >= body_end)
                return 0;
            const uint8_t *nl = memchr(s + *next, '\n', body_end - *next);
            size_t next_eol = nl ? (size_t)(nl - s) : body_end;
            close = memchr(s + *next, ')', next_eol - *next);
            if (!close || memchr(s + i + 1, '(', *eol - i - 1))
                return 0;
            if (!(o->lenient & AMI_P1_LENIENT_SPLIT_VALUE))
                return fail(t, AMI_E_MALFORMED, "value split over two lines", i);
            size_t ne = next_eol;
            size_t nn = nl ? next_eol + 1 : body_end;
            if (ne > *next && s[ne - 1] == '\r')
                ne--;
            *eol = ne;
            *next = nn;
            if (t->ngroups >= t->groups_cap)
                return fail(t, AMI_E_TOO_LARGE, "too many values", i);
            ami_p1_group *g = &t->groups[t->ngroups++];
            g->flags = AMI_P1_GF_SPLIT;
            type_group(g, s + i + 1, (size_t)(close - s) - i - 1, true, o, std_offset);
            i = (size_t)(close - s) + 1;
            continue;
        }
        if (t->ngroups >= t->groups_cap)
            return fail(t, AMI_E_TOO_LARGE, "too many values", i);
        ami_p1_group *g = &t->groups[t->ngroups++];
        g->flags = 0;
        type_group(g, s + i + 1, (size_t)(close - s) - i - 1, text_kind, o, std_offset);
        i = (size_t)(close - s) + 1;
    }
    return 1;
}

int ami_p1_parse(const uint8_t *s, size_t len, const ami_p1_options *opt, ami_p1_telegram *t)
{
    static const ami_p1_options strict = {0, 0};
    if (!s || !t || !t->objects || !t->groups)
        return AMI_E_INVAL;
    const ami_p1_options *o = opt ? opt : &strict;
    const int std_offset = o->std_offset ? o->std_offset : 60;
    const bool lf_ok = (o->lenient & AMI_P1_LENIENT_LF_ONLY) != 0;
    t->nobjects = t->ngroups = 0;
    t->raw_lines = 0;
    t->time = NULL;
    t->header = NULL;
    t->header_len = 0;
    t->error = NULL;
    t->error_offset = 0;

    if (len == 0 || s[0] != '/')
        return fail(t, AMI_E_MALFORMED, "telegram does not start with '/'", 0);
    size_t body_end = s[len - 1] == '!' ? len - 1 : len;

    /* Header line (6.2): "/" + identification. */
    const uint8_t *nl = memchr(s, '\n', body_end);
    if (!nl)
        return fail(t, AMI_E_MALFORMED, "header line has no line end", 0);
    size_t hl = (size_t)(nl - s);
    if (hl > 0 && s[hl - 1] == '\r')
        hl--;
    else if (!lf_ok)
        return fail(t, AMI_E_MALFORMED, "line ends in LF without CR", hl);
    t->header = (const char *)s + 1;
    t->header_len = (uint32_t)(hl - 1);
    size_t pos = (size_t)(nl - s) + 1;

    /* The blank line after the header. */
    if (pos < body_end &&
        (s[pos] == '\n' || (s[pos] == '\r' && pos + 1 < body_end && s[pos + 1] == '\n'))) {
        if (s[pos] == '\n' && !lf_ok)
            return fail(t, AMI_E_MALFORMED, "line ends in LF without CR", pos);
        pos += s[pos] == '\r' ? 2 : 1;
    } else if (pos < body_end && !(o->lenient & AMI_P1_LENIENT_NO_BLANK_AFTER_HEADER)) {
        return fail(t, AMI_E_MALFORMED, "no blank line after the header", pos);
    }

    ami_p1_object *cur = NULL;
    while (pos < body_end) {
        nl = memchr(s + pos, '\n', body_end - pos);
        if (!nl)
            return fail(t, AMI_E_MALFORMED, "line before '!' has no line end", pos);
        size_t eol = (size_t)(nl - s);
        size_t next = eol + 1;
        if (eol > pos && s[eol - 1] == '\r')
            eol--;
        else if (!lf_ok)
            return fail(t, AMI_E_MALFORMED, "line ends in LF without CR", eol);

        if (eol == pos) {
            if (next == body_end && (o->lenient & AMI_P1_LENIENT_BLANK_BEFORE_END))
                break;
            return fail(t, AMI_E_MALFORMED,
                        next == body_end ? "blank line before '!'" : "blank line inside", pos);
        }

        /* A line starting with '(' continues the previous object (DSMR 2.2 / 3.0). */
        if (s[pos] == '(' && cur && !(cur->flags & AMI_P1_OF_RAW) &&
            cur->first + cur->ngroups == t->ngroups) {
            size_t e2 = eol, n2 = next;
            int rc = parse_groups(t, s, body_end, pos, &e2, &n2, false, o, std_offset);
            if (rc < 0)
                return rc;
            if (rc == 1) {
                cur->ngroups = t->ngroups - cur->first;
                cur->flags |= AMI_P1_OF_CONTINUED;
                cur->line_len = (uint32_t)(e2 - (size_t)((const uint8_t *)cur->line - s));
                pos = n2;
                continue;
            }
            t->ngroups = cur->first + cur->ngroups;
        }

        if (cur)
            finish_object(t, cur, std_offset);
        if (t->nobjects >= t->objects_cap)
            return fail(t, AMI_E_TOO_LARGE, "too many objects", pos);
        cur = &t->objects[t->nobjects++];
        cur->flags = 0;
        cur->first = t->ngroups;
        cur->ngroups = 0;
        cur->nentries = 0;
        cur->shape = AMI_P1_SHAPE_SINGLE;
        cur->line = (const char *)s + pos;
        cur->q = NULL;
        memset(&cur->obis, 0, sizeof cur->obis);

        size_t i = pos;
        int ok = read_obis(s, eol, &i, (o->lenient & AMI_P1_LENIENT_OBIS_F) != 0, &cur->obis);
        if (ok == 2)
            cur->flags |= AMI_P1_OF_OBIS_F;
        if (ok && i < eol && s[i] == '(') {
            cur->q = ami_p1_quantity_find(&cur->obis);
            bool text_kind =
                cur->q && (cur->q->kind == AMI_P1_KIND_TEXT || cur->q->kind == AMI_P1_KIND_ID);
            size_t e2 = eol, n2 = next;
            int rc = parse_groups(t, s, body_end, i, &e2, &n2, text_kind, o, std_offset);
            if (rc < 0)
                return rc;
            if (rc == 1) {
                cur->ngroups = t->ngroups - cur->first;
                cur->line_len = (uint32_t)(e2 - pos);
                if (cur->q && cur->q->kind == AMI_P1_KIND_TIMESTAMP && !t->time &&
                    cur->ngroups == 1 && t->groups[cur->first].type == AMI_P1_TIME)
                    t->time = cur;
                pos = n2;
                continue;
            }
        }
        /* Not OBIS + groups: keep the line as it is. */
        t->ngroups = cur->first;
        cur->ngroups = 0;
        cur->q = NULL;
        cur->flags = AMI_P1_OF_RAW;
        cur->line_len = (uint32_t)(eol - pos);
        t->raw_lines++;
        pos = next;
    }
    if (cur)
        finish_object(t, cur, std_offset);
    return AMI_OK;
}

/* ---------------------------------------------------------------- accessors */

int ami_p1_entry_get(const ami_p1_telegram *t, const ami_p1_object *ob, size_t i, ami_p1_entry *e)
{
    if (!t || !ob || !e || i >= ob->nentries)
        return AMI_E_RANGE;
    const ami_p1_group *g = t->groups + ob->first;
    memset(e, 0, sizeof *e);
    switch (ob->shape) {
    case AMI_P1_SHAPE_TIMED:
        e->time = g[0].type == AMI_P1_TIME ? &g[0] : &g[1];
        e->value = g[0].type == AMI_P1_TIME ? &g[1] : &g[0];
        break;
    case AMI_P1_SHAPE_LOG: {
        uint32_t r = 0;
        while (1 + r < ob->ngroups && g[1 + r].type == AMI_P1_OBIS)
            r++;
        const ami_p1_group *b = g + 1 + r + i * (r + 1);
        e->value = &b[r];
        if (r >= 1 && b[r - 1].type == AMI_P1_TIME)
            e->time = &b[r - 1];
        if (r >= 2 && b[r - 2].type == AMI_P1_TIME)
            e->period = &b[r - 2];
        break;
    }
    case AMI_P1_SHAPE_LEGACY_MBUS:
        e->time = &g[0];
        e->value = &g[6];
        if (g[6].unit_len == 0 && g[5].type == AMI_P1_TEXT) {
            e->unit = g[5].text;
            e->unit_len = (uint8_t)(g[5].text_len > 255 ? 255 : g[5].text_len);
            return AMI_OK;
        }
        break;
    default:
        e->value = &g[i];
        break;
    }
    if (e->value && e->value->type == AMI_P1_NUMBER) {
        e->unit = e->value->unit;
        e->unit_len = e->value->unit_len;
    }
    return AMI_OK;
}

int ami_p1_object_name(const ami_p1_object *ob, char *buf, size_t cap)
{
    if (!ob || !buf || cap == 0)
        return AMI_E_NOSPACE;
    int n;
    if (!ob->q)
        n = snprintf(buf, cap, "%s", "");
    else if (ob->q->per_channel)
        n = snprintf(buf, cap, "mbus%u_%s", (unsigned)ob->obis.v[1], ob->q->name);
    else
        n = snprintf(buf, cap, "%s", ob->q->name);
    if (n < 0 || (size_t)n >= cap)
        return AMI_E_NOSPACE;
    return n;
}

int ami_p1_number_format(const ami_p1_group *g, char *buf, size_t cap)
{
    if (!g || g->type != AMI_P1_NUMBER)
        return AMI_E_TYPE;
    char tmp[24];
    uint64_t m =
        g->u.mantissa < 0 ? (uint64_t)0 - (uint64_t)g->u.mantissa : (uint64_t)g->u.mantissa;
    int d = g->decimals;
    size_t k = 0;
    /* Digits backwards, at least d + 1 of them. */
    do {
        tmp[k++] = (char)('0' + m % 10);
        m /= 10;
    } while (m && k < sizeof tmp);
    while ((int)k < d + 1 && k < sizeof tmp)
        tmp[k++] = '0';
    size_t need = k + (d > 0 ? 1 : 0) + (g->u.mantissa < 0 ? 1 : 0);
    if (need + 1 > cap)
        return AMI_E_NOSPACE;
    size_t w = 0;
    if (g->u.mantissa < 0)
        buf[w++] = '-';
    for (size_t j = k; j-- > 0;) {
        buf[w++] = tmp[j];
        if (d > 0 && j == (size_t)d)
            buf[w++] = '.';
    }
    buf[w] = '\0';
    return (int)w;
}

double ami_p1_number_double(const ami_p1_group *g)
{
    if (!g || g->type != AMI_P1_NUMBER)
        return 0.0;
    double v = (double)g->u.mantissa;
    for (int d = 0; d < g->decimals; d++)
        v /= 10.0;
    return v;
}

/* Civil date from days since 1970-01-01 (inverse of days_from_civil). */
static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yoe + era * 400) + (*m <= 2);
}

int ami_p1_time_format(const ami_p1_group *g, char *buf, size_t cap)
{
    if (!g || g->type != AMI_P1_TIME)
        return AMI_E_TYPE;
    if (g->flags & AMI_P1_GF_PLACEHOLDER)
        return AMI_E_UNSPECIFIED;
    int64_t local = g->u.unix_time + (int64_t)g->utc_offset * 60;
    int64_t days = local >= 0 ? local / 86400 : (local - 86399) / 86400;
    int64_t sod = local - days * 86400;
    int y;
    unsigned mo, d;
    civil_from_days(days, &y, &mo, &d);
    int n;
    if (g->flags & AMI_P1_GF_NO_OFFSET) {
        n = snprintf(buf, cap, "%04d-%02u-%02uT%02d:%02d:%02d", y, mo, d, (int)(sod / 3600),
                     (int)(sod / 60 % 60), (int)(sod % 60));
    } else {
        int off = g->utc_offset, a = off < 0 ? -off : off;
        n = snprintf(buf, cap, "%04d-%02u-%02uT%02d:%02d:%02d%c%02d:%02d", y, mo, d,
                     (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60), off < 0 ? '-' : '+',
                     a / 60, a % 60);
    }
    if (n < 0 || (size_t)n >= cap)
        return AMI_E_NOSPACE;
    return n;
}

int ami_p1_text(const ami_p1_group *g, bool decode_hex, char *buf, size_t cap)
{
    if (!g || !buf || cap == 0)
        return AMI_E_NOSPACE;
    const uint8_t *s = (const uint8_t *)g->text;
    size_t w = 0;
    bool hex = decode_hex && (g->flags & AMI_P1_GF_HEX);
    int hi = -1;
    if (hex) {
        for (size_t i = 0; i < g->text_len && hex; i++) {
            if (s[i] == '\r' || s[i] == '\n')
                continue;
            if (hi < 0) {
                hi = hexval(s[i]);
                continue;
            }
            unsigned c = (unsigned)(hi << 4 | hexval(s[i]));
            hex = c >= 0x20 && c <= 0x7E;
            hi = -1;
        }
        hi = -1;
    }
    for (size_t i = 0; i < g->text_len; i++) {
        uint8_t c = s[i];
        if (c == '\r' || c == '\n')
            continue;
        if (hex) {
            int v = hexval(c);
            if (hi < 0) {
                hi = v;
                continue;
            }
            c = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
        if (w + 1 >= cap)
            return AMI_E_NOSPACE;
        buf[w++] = (char)c;
    }
    buf[w] = '\0';
    return (int)w;
}
