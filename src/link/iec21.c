/*
 * IEC 62056-21 message codecs: request, identification, option select, command and data
 * messages with their BCC, data-set iteration. Pure functions over caller-owned bytes.
 * Clause numbers refer to IEC 62056-21:2002.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "ami/bytes.h"
#include "ami/iec21.h"

/* ---------------------------------------------------------------- character classes */

static bool is_print(uint8_t c)
{
    return c >= 0x20 && c < 0x7F;
}

/* Characters of a device address, identification text or data-set address (6.3.1, 6.3.2). */
static bool is_text(uint8_t c)
{
    return is_print(c) && c != '/' && c != '!' && c != '(' && c != ')';
}

static bool is_upper(uint8_t c)
{
    return c >= 'A' && c <= 'Z';
}

static bool is_lower(uint8_t c)
{
    return c >= 'a' && c <= 'z';
}

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

/* ---------------------------------------------------------------- baud rates (6.3.2 item 14) */

static const uint32_t rates[] = {300, 600, 1200, 2400, 4800, 9600, 19200};

uint32_t ami_iec21_baud_of(enum ami_iec21_mode mode, char z)
{
    switch (mode) {
    case AMI_IEC21_MODE_A:
        return 300;
    case AMI_IEC21_MODE_B:
        /* 'A' 600 .. 'F' 19200; 'G'..'I' reserved */
        return (z >= 'A' && z <= 'F') ? rates[z - 'A' + 1] : 0;
    case AMI_IEC21_MODE_C:
    case AMI_IEC21_MODE_E:
        /* '0' 300 .. '6' 19200; '7'..'9' reserved */
        return (z >= '0' && z <= '6') ? rates[z - '0'] : 0;
    case AMI_IEC21_MODE_D:
        return 2400;
    case AMI_IEC21_MODE_AUTO:
        break;
    }
    return 0;
}

enum ami_iec21_mode ami_iec21_mode_of(char z, bool mode_e_capable)
{
    if (z >= '0' && z <= '9')
        return mode_e_capable ? AMI_IEC21_MODE_E : AMI_IEC21_MODE_C;
    if (z >= 'A' && z <= 'I')
        return AMI_IEC21_MODE_B;
    return AMI_IEC21_MODE_A;
}

char ami_iec21_baud_char(enum ami_iec21_mode mode, uint32_t baud)
{
    for (size_t i = 0; i < AMI_COUNTOF(rates); i++) {
        if (rates[i] != baud)
            continue;
        if (mode == AMI_IEC21_MODE_B)
            return i == 0 ? 0 : (char)('A' + i - 1);
        if (mode == AMI_IEC21_MODE_C || mode == AMI_IEC21_MODE_E)
            return (char)('0' + i);
    }
    return 0;
}

uint8_t ami_iec21_bcc(const void *p, size_t n)
{
    const uint8_t *b = (const uint8_t *)p;
    uint8_t x = 0;
    for (size_t i = 0; i < n; i++)
        x ^= b[i];
    return x;
}

/* ---------------------------------------------------------------- identification */

int ami_iec21_ident_parse(const char *p, size_t n, unsigned lenient, ami_iec21_ident *id)
{
    if (!p || !id)
        return AMI_E_INVAL;
    memset(id, 0, sizeof *id);
    /* strip the line end when the caller left it */
    while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == '\n'))
        n--;
    const uint8_t *u = (const uint8_t *)p;
    if (n < 5 || u[0] != '/')
        return AMI_E_MALFORMED;
    for (size_t i = 1; i <= 3; i++) {
        if (!is_upper(u[i]) && !is_lower(u[i]))
            return AMI_E_MALFORMED;
        id->manufacturer[i - 1] = (char)u[i];
    }
    id->fast = is_lower(u[3]);
    if (!is_text(u[4]) || u[4] == '\\')
        return AMI_E_MALFORMED;
    id->baud_char = (char)u[4];
    size_t k = 5, ne = 0;
    /* enhanced identification "\W" (6.3.2 item 15): zero or more */
    while (k < n && u[k] == '\\') {
        if (k + 1 >= n || !is_print(u[k + 1]))
            return AMI_E_MALFORMED;
        if (ne == AMI_IEC21_MAX_ENHANCED)
            return AMI_E_TOO_LARGE;
        id->enhanced[ne++] = (char)u[k + 1];
        if (u[k + 1] == '2')
            id->mode_e = true;
        k += 2;
    }
    size_t tl = n - k;
    if (tl == 0)
        return AMI_E_MALFORMED;
    size_t limit =
        (lenient & AMI_IEC21_LENIENT_LONG_IDENT) ? AMI_IEC21_MAX_IDENT_LONG : AMI_IEC21_MAX_IDENT;
    if (tl > limit)
        return AMI_E_TOO_LARGE;
    for (size_t i = k; i < n; i++)
        if (!is_text(u[i]))
            return AMI_E_MALFORMED;
    id->text = p + k;
    id->text_len = tl;
    return AMI_OK;
}

/* ---------------------------------------------------------------- message framing */

/*
 * Finds the end of a line starting at p[i]: returns the offset just past CR LF (or LF with
 * LENIENT_LF), AMI_E_AGAIN, or AMI_E_MALFORMED. *eol is the offset of the line end.
 */
static int line_end(const uint8_t *p, size_t n, size_t i, size_t max, unsigned lenient,
                    unsigned *dev, size_t *eol)
{
    for (size_t k = i; k < n; k++) {
        if (k - i > max)
            return AMI_E_TOO_LARGE;
        if (p[k] == '\r') {
            if (k + 1 >= n)
                return AMI_E_AGAIN;
            if (p[k + 1] != '\n')
                return AMI_E_MALFORMED;
            *eol = k;
            return (int)(k + 2);
        }
        if (p[k] == '\n') {
            if (!(lenient & AMI_IEC21_LENIENT_LF))
                return AMI_E_MALFORMED;
            *dev |= AMI_IEC21_LENIENT_LF;
            *eol = k;
            return (int)(k + 1);
        }
    }
    return n - i > max ? AMI_E_TOO_LARGE : AMI_E_AGAIN;
}

/* Checks the line ends inside a data block: LF alone needs LENIENT_LF; CR alone is refused. */
static int check_lines(const uint8_t *d, size_t n, unsigned lenient, unsigned *dev)
{
    for (size_t k = 0; k < n; k++) {
        if (d[k] == '\r' && (k + 1 >= n || d[k + 1] != '\n'))
            return AMI_E_MALFORMED;
        if (d[k] == '\n' && (k == 0 || d[k - 1] != '\r')) {
            if (!(lenient & AMI_IEC21_LENIENT_LF))
                return AMI_E_MALFORMED;
            *dev |= AMI_IEC21_LENIENT_LF;
        }
    }
    return AMI_OK;
}

/* A block SOH.../STX... up to ETX|EOT and its BCC; `from` is the offset of SOH or STX. */
static int block(const uint8_t *p, size_t n, size_t from, size_t data_at, ami_iec21_msg *m)
{
    for (size_t k = data_at; k < n; k++) {
        if (p[k] != AMI_IEC21_ETX && p[k] != AMI_IEC21_EOT)
            continue;
        if (k + 1 >= n)
            return AMI_E_AGAIN;
        m->partial = p[k] == AMI_IEC21_EOT;
        m->data = p + data_at;
        m->data_len = k - data_at;
        m->len = k + 2 - from;
        /* BCC: the bytes after SOH or STX up to and including ETX (6.3.4) */
        m->bcc_computed = ami_iec21_bcc(p + from + 1, k - from);
        m->bcc_received = p[k + 1];
        m->bcc_status = AMI_IEC21_BCC_OK;
        if (m->bcc_computed != m->bcc_received)
            return AMI_E_CHECKSUM;
        return (int)(k + 2);
    }
    return AMI_E_AGAIN;
}

static bool starts_message(uint8_t c)
{
    return c == '/' || c == AMI_IEC21_ACK || c == AMI_IEC21_NAK || c == AMI_IEC21_SOH ||
           c == AMI_IEC21_STX;
}

/* A bare readout starts with a data-set address character or "(". */
static bool starts_bare(uint8_t c)
{
    return (is_text(c) && c != ' ') || c == '(';
}

int ami_iec21_msg_parse(const uint8_t *p, size_t n, enum ami_iec21_dir dir, unsigned lenient,
                        ami_iec21_msg *m)
{
    if (!p || !m)
        return AMI_E_INVAL;
    memset(m, 0, sizeof *m);
    size_t i = 0;
    bool bare = (lenient & AMI_IEC21_LENIENT_BARE) != 0;
    while (i < n && !starts_message(p[i]) && !(bare && starts_bare(p[i]))) {
        /* CR/LF left after a bare readout's "!" belong to it */
        if (bare && (p[i] == '\r' || p[i] == '\n')) {
            i++;
            continue;
        }
        if (!(lenient & AMI_IEC21_LENIENT_GARBAGE))
            return AMI_E_MALFORMED;
        m->deviations |= AMI_IEC21_LENIENT_GARBAGE;
        i++;
    }
    m->start = i;
    if (i == n) {
        m->kind = AMI_IEC21_MSG_NONE;
        return i > 0 ? (int)i : AMI_E_AGAIN;
    }
    /* keep offsets in int range: callers' buffers are far smaller */
    if (n > (size_t)INT32_MAX)
        return AMI_E_TOO_LARGE;
    int rc;
    size_t eol = 0;
    switch (p[i]) {
    case '/':
        if (i + 1 >= n)
            return AMI_E_AGAIN;
        if (p[i + 1] == '?') {
            /* request "/?" address "!" CR LF (6.3.1) */
            size_t k = i + 2;
            while (k < n && p[k] != '!') {
                if (!is_text(p[k]) || p[k] == '?')
                    return AMI_E_MALFORMED;
                if (k - (i + 2) >= AMI_IEC21_MAX_ADDRESS)
                    return AMI_E_TOO_LARGE;
                k++;
            }
            if (k >= n)
                return AMI_E_AGAIN;
            rc = line_end(p, n, k + 1, 0, lenient, &m->deviations, &eol);
            if (rc < 0)
                return rc;
            m->kind = AMI_IEC21_MSG_REQUEST;
            m->address = (const char *)p + i + 2;
            m->address_len = k - (i + 2);
            m->len = (size_t)rc - i;
            return rc;
        }
        /* identification "/XXXZ\W..ident" CR LF (6.3.2) */
        rc = line_end(p, n, i + 1, 5 + 2 * AMI_IEC21_MAX_ENHANCED + AMI_IEC21_MAX_IDENT_LONG,
                      lenient, &m->deviations, &eol);
        if (rc < 0)
            return rc;
        {
            int e = ami_iec21_ident_parse((const char *)p + i, eol - i, lenient, &m->ident);
            if (e < 0)
                return e;
        }
        if (m->ident.text_len > AMI_IEC21_MAX_IDENT)
            m->deviations |= AMI_IEC21_LENIENT_LONG_IDENT;
        m->kind = AMI_IEC21_MSG_IDENT;
        m->len = (size_t)rc - i;
        return rc;
    case AMI_IEC21_ACK: {
        bool option = dir == AMI_IEC21_FROM_CLIENT;
        if (dir == AMI_IEC21_FROM_ANY)
            option = n - i >= 6 && is_digit(p[i + 1]) && is_print(p[i + 2]) && is_print(p[i + 3]) &&
                     p[i + 4] == '\r' && p[i + 5] == '\n';
        if (!option) {
            m->kind = AMI_IEC21_MSG_ACK;
            m->len = 1;
            return (int)(i + 1);
        }
        /* option select ACK V Z Y CR LF (6.3.3) */
        if (n - i < 6)
            return AMI_E_AGAIN;
        if (!is_digit(p[i + 1]) || !is_text(p[i + 2]) || !is_text(p[i + 3]) || p[i + 4] != '\r' ||
            p[i + 5] != '\n')
            return AMI_E_MALFORMED;
        m->kind = AMI_IEC21_MSG_OPTION;
        m->option.protocol = (char)p[i + 1];
        m->option.baud = (char)p[i + 2];
        m->option.mode = (char)p[i + 3];
        m->len = 6;
        return (int)(i + 6);
    }
    case AMI_IEC21_NAK:
        m->kind = AMI_IEC21_MSG_NAK;
        m->len = 1;
        return (int)(i + 1);
    case AMI_IEC21_SOH:
        /* command SOH C D [STX data] ETX BCC (6.3.7 to 6.3.12) */
        if (n - i < 4)
            return AMI_E_AGAIN;
        if (!strchr("PWREB", p[i + 1]) || p[i + 1] == 0 || !is_digit(p[i + 2]) ||
            (p[i + 3] != AMI_IEC21_STX && p[i + 3] != AMI_IEC21_ETX))
            return AMI_E_MALFORMED;
        m->kind = AMI_IEC21_MSG_COMMAND;
        m->cmd = (char)p[i + 1];
        m->cmd_type = (char)p[i + 2];
        rc = block(p, n, i, p[i + 3] == AMI_IEC21_STX ? i + 4 : i + 3, m);
        if (rc < 0)
            return rc;
        if (p[i + 3] == AMI_IEC21_ETX)
            m->data = NULL;
        break;
    case AMI_IEC21_STX:
        m->kind = AMI_IEC21_MSG_DATA;
        rc = block(p, n, i, i + 1, m);
        if (rc < 0)
            return rc;
        break;
    default: {
        /* bare readout: lines up to a line "!" */
        size_t k = i;
        for (;;) {
            if (k >= n)
                return AMI_E_AGAIN;
            if (p[k] == '!' && (k == i || p[k - 1] == '\n'))
                break;
            if (p[k] == '/' && p[k - 1] == '\n')
                return AMI_E_MALFORMED; /* a new identification: the block never ended */
            k++;
        }
        size_t end = k + 1;
        if (end < n && p[end] == '\r' && end + 1 < n && p[end + 1] == '\n')
            end += 2;
        else if (end < n && p[end] == '\n')
            end += 1;
        m->kind = AMI_IEC21_MSG_BARE;
        m->deviations |= AMI_IEC21_LENIENT_BARE;
        m->data = p + i;
        m->data_len = end - i;
        m->len = end - i;
        m->bcc_status = AMI_IEC21_BCC_ABSENT;
        rc = (int)end;
        break;
    }
    }
    if (m->data_len) {
        int e = check_lines(m->data, m->data_len, lenient, &m->deviations);
        if (e < 0)
            return e;
    }
    return rc;
}

/* ---------------------------------------------------------------- encoders */

static int finish(ami_wr *w)
{
    return ami_wr_error(w) ? ami_wr_error(w) : (int)w->len;
}

int ami_iec21_request_encode(const char *address, uint8_t *out, size_t cap)
{
    size_t al = address ? strlen(address) : 0;
    if (al > AMI_IEC21_MAX_ADDRESS)
        return AMI_E_INVAL;
    for (size_t i = 0; i < al; i++)
        if (!is_text((uint8_t)address[i]) || address[i] == '?')
            return AMI_E_INVAL;
    ami_wr w;
    ami_wr_init(&w, out, cap);
    ami_wr_bytes(&w, "/?", 2);
    ami_wr_bytes(&w, address, al);
    ami_wr_bytes(&w, "!\r\n", 3);
    return finish(&w);
}

int ami_iec21_ident_encode(const char *manufacturer, char baud_char, const char *enhanced,
                           const char *ident, uint8_t *out, size_t cap)
{
    if (!manufacturer || strlen(manufacturer) != 3 || !ident || !is_text((uint8_t)baud_char) ||
        baud_char == '\\')
        return AMI_E_INVAL;
    for (int i = 0; i < 3; i++)
        if (!is_upper((uint8_t)manufacturer[i]) && !is_lower((uint8_t)manufacturer[i]))
            return AMI_E_INVAL;
    size_t el = enhanced ? strlen(enhanced) : 0, il = strlen(ident);
    if (el > AMI_IEC21_MAX_ENHANCED || il == 0 || il > AMI_IEC21_MAX_IDENT)
        return AMI_E_INVAL;
    for (size_t i = 0; i < il; i++)
        if (!is_text((uint8_t)ident[i]))
            return AMI_E_INVAL;
    ami_wr w;
    ami_wr_init(&w, out, cap);
    ami_wr_u8(&w, '/');
    ami_wr_bytes(&w, manufacturer, 3);
    ami_wr_u8(&w, (uint8_t)baud_char);
    for (size_t i = 0; i < el; i++) {
        if (!is_print((uint8_t)enhanced[i]))
            return AMI_E_INVAL;
        ami_wr_u8(&w, '\\');
        ami_wr_u8(&w, (uint8_t)enhanced[i]);
    }
    ami_wr_bytes(&w, ident, il);
    ami_wr_bytes(&w, "\r\n", 2);
    return finish(&w);
}

int ami_iec21_option_encode(const ami_iec21_option *opt, uint8_t *out, size_t cap)
{
    if (!opt || !is_digit((uint8_t)opt->protocol) || !is_text((uint8_t)opt->baud) ||
        !is_text((uint8_t)opt->mode))
        return AMI_E_INVAL;
    ami_wr w;
    ami_wr_init(&w, out, cap);
    ami_wr_u8(&w, AMI_IEC21_ACK);
    ami_wr_u8(&w, (uint8_t)opt->protocol);
    ami_wr_u8(&w, (uint8_t)opt->baud);
    ami_wr_u8(&w, (uint8_t)opt->mode);
    ami_wr_bytes(&w, "\r\n", 2);
    return finish(&w);
}

/* Data of a block: printable characters and CR LF line ends only. */
static bool block_text_ok(const char *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)d[i];
        if (!is_print(c) && c != '\r' && c != '\n')
            return false;
    }
    return true;
}

static void put_bcc_block(ami_wr *w, size_t from)
{
    /* BCC over the bytes after SOH/STX (at `from`) up to and including ETX */
    ami_wr_u8(w, AMI_IEC21_ETX);
    const uint8_t *start = ami_wr_at(w, from + 1);
    uint8_t bcc = 0;
    if (start && !ami_wr_error(w))
        bcc = ami_iec21_bcc(start, w->len - from - 1);
    ami_wr_u8(w, bcc);
}

int ami_iec21_command_encode(char cmd, char type, const char *data, size_t data_len, uint8_t *out,
                             size_t cap)
{
    if (!strchr("PWREB", cmd) || cmd == 0 || !is_digit((uint8_t)type) ||
        (data && !block_text_ok(data, data_len)))
        return AMI_E_INVAL;
    ami_wr w;
    ami_wr_init(&w, out, cap);
    ami_wr_u8(&w, AMI_IEC21_SOH);
    ami_wr_u8(&w, (uint8_t)cmd);
    ami_wr_u8(&w, (uint8_t)type);
    if (data) {
        ami_wr_u8(&w, AMI_IEC21_STX);
        ami_wr_bytes(&w, data, data_len);
    }
    put_bcc_block(&w, 0);
    return finish(&w);
}

int ami_iec21_data_encode(const void *data, size_t data_len, uint8_t *out, size_t cap)
{
    if (!data && data_len)
        return AMI_E_INVAL;
    if (data && !block_text_ok((const char *)data, data_len))
        return AMI_E_INVAL;
    ami_wr w;
    ami_wr_init(&w, out, cap);
    ami_wr_u8(&w, AMI_IEC21_STX);
    ami_wr_bytes(&w, data, data_len);
    put_bcc_block(&w, 0);
    return finish(&w);
}

/* ---------------------------------------------------------------- data sets (6.5) */

void ami_iec21_ds_begin(ami_iec21_dsiter *it, const uint8_t *data, size_t len, unsigned lenient)
{
    memset(it, 0, sizeof *it);
    it->p = data;
    it->len = data ? len : 0;
    it->lenient = lenient;
}

static int ds_fail(ami_iec21_dsiter *it, int err)
{
    it->ended = true;
    it->err = err; /* later calls return it again */
    return err;
}

int ami_iec21_ds_next(ami_iec21_dsiter *it, ami_iec21_dataset *ds)
{
    if (it->ended)
        return it->err;
    memset(ds, 0, sizeof *ds);
    const uint8_t *p = it->p;
    size_t n = it->len;
    for (;;) {
        if (it->pos >= n) {
            it->ended = true;
            return 0;
        }
        uint8_t c = p[it->pos];
        if (c == '\r') {
            if (it->pos + 1 >= n || p[it->pos + 1] != '\n')
                return ds_fail(it, AMI_E_MALFORMED);
            it->pos += 2;
            continue;
        }
        if (c == '\n') {
            if (!(it->lenient & AMI_IEC21_LENIENT_LF))
                return ds_fail(it, AMI_E_MALFORMED);
            it->deviations |= AMI_IEC21_LENIENT_LF;
            it->pos++;
            continue;
        }
        break;
    }
    size_t k = it->pos;
    if (p[k] == '!') {
        /* end of the data block: "!" then the line end, nothing else */
        size_t rest = n - k - 1;
        const uint8_t *r = p + k + 1;
        bool ok = rest == 0 || (rest == 2 && r[0] == '\r' && r[1] == '\n') ||
                  (rest == 1 && r[0] == '\n' && (it->lenient & AMI_IEC21_LENIENT_LF));
        if (!ok)
            return ds_fail(it, AMI_E_MALFORMED);
        it->bang = true;
        it->ended = true;
        it->pos = n;
        return 0;
    }
    size_t a0 = k;
    if (p[k] == '(' && k > 0 && p[k - 1] == ')' && it->addr) {
        /* a further value group of the same address (load profiles, 6.5) */
        it->group++;
        ds->address = it->addr;
        ds->address_len = it->addr_len;
    } else {
        while (k < n && p[k] != '(') {
            if (!is_text(p[k]))
                return ds_fail(it, AMI_E_MALFORMED);
            if (k - a0 >= AMI_IEC21_MAX_DS_ADDRESS)
                return ds_fail(it, AMI_E_TOO_LARGE);
            k++;
        }
        if (k >= n)
            return ds_fail(it, AMI_E_MALFORMED);
        ds->address = (const char *)p + a0;
        ds->address_len = k - a0;
        it->addr = ds->address;
        it->addr_len = ds->address_len;
        it->group = 0;
    }
    ds->group = it->group;
    k++; /* "(" */
    size_t v0 = k, star = 0;
    bool has_star = false;
    while (k < n && p[k] != ')') {
        uint8_t c = p[k];
        if (!is_print(c) || c == '(' || c == '/' || c == '!')
            return ds_fail(it, AMI_E_MALFORMED);
        if (c == '*' && !has_star) {
            has_star = true;
            star = k;
        }
        k++;
    }
    if (k >= n)
        return ds_fail(it, AMI_E_MALFORMED);
    size_t vend = has_star ? star : k;
    if (vend - v0 > AMI_IEC21_MAX_VALUE)
        return ds_fail(it, AMI_E_TOO_LARGE);
    ds->raw = (const char *)p + v0;
    ds->raw_len = vend - v0;
    if (has_star) {
        if (k - star - 1 > AMI_IEC21_MAX_UNIT)
            return ds_fail(it, AMI_E_TOO_LARGE);
        ds->unit = (const char *)p + star + 1;
        ds->unit_len = k - star - 1;
    }
    /* value without the spaces around it inside the brackets ("( 20000)") */
    size_t s = v0, e = vend;
    while (s < e && p[s] == ' ')
        s++;
    while (e > s && p[e - 1] == ' ')
        e--;
    ds->value = (const char *)p + s;
    ds->value_len = e - s;
    it->pos = k + 1;
    return 1;
}

size_t ami_iec21_value_number(const char *v, size_t n, char *out, size_t cap)
{
    if (!v || !out || n == 0)
        return 0;
    size_t i = 0;
    bool neg = false;
    if (v[0] == '-') {
        neg = true;
        i = 1;
    }
    size_t i0 = i;
    while (i < n && is_digit((uint8_t)v[i]))
        i++;
    size_t iend = i;
    if (iend == i0)
        return 0;
    size_t f0 = 0, fend = 0;
    if (i < n && v[i] == '.') {
        f0 = ++i;
        while (i < n && is_digit((uint8_t)v[i]))
            i++;
        fend = i;
        if (fend == f0)
            return 0;
    }
    if (i != n)
        return 0;
    /* drop redundant leading zeros of the integer part, keep one */
    while (iend - i0 > 1 && v[i0] == '0')
        i0++;
    size_t sig = (iend - i0 == 1 && v[i0] == '0') ? 0 : iend - i0;
    sig += fend - f0;
    if (sig > 15)
        return 0;
    size_t len = (neg ? 1 : 0) + (iend - i0) + (fend > f0 ? 1 + fend - f0 : 0);
    if (len + 1 > cap)
        return 0;
    size_t o = 0;
    if (neg)
        out[o++] = '-';
    memcpy(out + o, v + i0, iend - i0);
    o += iend - i0;
    if (fend > f0) {
        out[o++] = '.';
        memcpy(out + o, v + f0, fend - f0);
        o += fend - f0;
    }
    out[o] = '\0';
    return o;
}

/* ---------------------------------------------------------------- P2 example */

int ami_iec21_p2_example(void *user, const char *secret, size_t secret_len, const char *operand,
                         size_t operand_len, char *out, size_t cap)
{
    (void)user;
    if (!out || cap < 9)
        return AMI_E_NOSPACE;
    /* 32-bit FNV-1a over secret ":" operand: an example, no security */
    uint32_t h = 0x811C9DC5u;
    for (size_t i = 0; i < secret_len; i++)
        h = (h ^ (uint8_t)secret[i]) * 0x01000193u;
    h = (h ^ (uint8_t)':') * 0x01000193u;
    for (size_t i = 0; i < operand_len; i++)
        h = (h ^ (uint8_t)operand[i]) * 0x01000193u;
    static const char hex[] = "0123456789ABCDEF";
    for (int i = 0; i < 8; i++)
        out[i] = hex[(h >> (28 - 4 * i)) & 15];
    out[8] = '\0';
    return 8;
}
