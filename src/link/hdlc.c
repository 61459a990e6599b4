/*
 * HDLC frame codec, negotiation parameters and streaming deframer (IEC 62056-46).
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>

#include "ami/crc.h"
#include "ami/hdlc.h"

const uint8_t ami_hdlc_llc_request[AMI_HDLC_LLC_LEN] = {0xE6, 0xE6, 0x00};
const uint8_t ami_hdlc_llc_response[AMI_HDLC_LLC_LEN] = {0xE6, 0xE7, 0x00};

/* Frame format field: type 3 in the upper nibble (1010), then S and the 11-bit length. */
#define FORMAT_TYPE3 0xA0u
#define FORMAT_SEG   0x08u
/* format(2) + dest(1) + src(1) + control(1) + FCS(2). */
#define MIN_FRAME_LEN 7u

/* ---------------------------------------------------------------- addresses */

int ami_hdlc_server_addr(ami_hdlc_addr *a, uint16_t logical, uint16_t physical, uint8_t size)
{
    uint16_t max;
    switch (size) {
    case 1:
        if (physical != 0)
            return AMI_E_RANGE;
        max = 0x7F;
        break;
    case 2:
        max = 0x7F;
        break;
    case 4:
        max = 0x3FFF;
        break;
    default:
        return AMI_E_INVAL;
    }
    if (logical > max || physical > max)
        return AMI_E_RANGE;
    a->upper = logical;
    a->lower = physical;
    a->size = size;
    return AMI_OK;
}

int ami_hdlc_client_addr(ami_hdlc_addr *a, uint8_t client)
{
    return ami_hdlc_server_addr(a, client, 0, 1);
}

int ami_hdlc_addr_encode(ami_wr *w, const ami_hdlc_addr *a)
{
    ami_hdlc_addr chk;
    int rc = ami_hdlc_server_addr(&chk, a->upper, a->lower, a->size);
    if (rc)
        return rc;
    /* Each byte carries 7 bits in its upper part; bit 0 is the extension bit (1 = last). */
    switch (a->size) {
    case 1:
        ami_wr_u8(w, (uint8_t)(a->upper << 1 | 1));
        break;
    case 2:
        ami_wr_u8(w, (uint8_t)(a->upper << 1));
        ami_wr_u8(w, (uint8_t)(a->lower << 1 | 1));
        break;
    default:
        ami_wr_u8(w, (uint8_t)((a->upper >> 7) << 1));
        ami_wr_u8(w, (uint8_t)((a->upper & 0x7F) << 1));
        ami_wr_u8(w, (uint8_t)((a->lower >> 7) << 1));
        ami_wr_u8(w, (uint8_t)((a->lower & 0x7F) << 1 | 1));
        break;
    }
    return AMI_OK;
}

int ami_hdlc_addr_decode(ami_rd *r, ami_hdlc_addr *a)
{
    uint8_t b[4];
    size_t n = 0;
    for (;;) {
        uint8_t v;
        if (n == 4)
            return AMI_E_MALFORMED; /* no terminating byte within 4 */
        if (ami_rd_u8(r, &v))
            return AMI_E_TRUNCATED;
        b[n++] = v;
        if (v & 1)
            break;
    }
    switch (n) {
    case 1:
        a->upper = b[0] >> 1;
        a->lower = 0;
        break;
    case 2:
        a->upper = b[0] >> 1;
        a->lower = b[1] >> 1;
        break;
    case 4:
        a->upper = (uint16_t)((b[0] >> 1) << 7 | b[1] >> 1);
        a->lower = (uint16_t)((b[2] >> 1) << 7 | b[3] >> 1);
        break;
    default:
        return AMI_E_MALFORMED; /* 3-byte addresses do not exist (IEC 62056-46 6.4.2.2) */
    }
    a->size = (uint8_t)n;
    return AMI_OK;
}

bool ami_hdlc_addr_equal(const ami_hdlc_addr *a, const ami_hdlc_addr *b)
{
    return a->size == b->size && a->upper == b->upper && a->lower == b->lower;
}

/* ---------------------------------------------------------------- control field */

const char *ami_hdlc_type_name(ami_hdlc_type t)
{
    static const char *const names[] = {"I",  "RR", "RNR",  "SNRM", "DISC",
                                        "UA", "DM", "FRMR", "UI",   "UNKNOWN"};
    return (unsigned)t < AMI_COUNTOF(names) ? names[t] : "UNKNOWN";
}

/* Unnumbered frame control values without the P/F bit (0x10). */
static const struct {
    uint8_t ctl;
    ami_hdlc_type type;
} unnumbered[] = {
    {0x83, AMI_HDLC_SNRM}, {0x43, AMI_HDLC_DISC}, {0x63, AMI_HDLC_UA},
    {0x0F, AMI_HDLC_DM},   {0x87, AMI_HDLC_FRMR}, {0x03, AMI_HDLC_UI},
};

int ami_hdlc_control(ami_hdlc_type type, uint8_t ns, uint8_t nr, bool pf)
{
    uint8_t p = pf ? 0x10 : 0;
    switch (type) {
    case AMI_HDLC_I:
        return (nr & 7) << 5 | p | (ns & 7) << 1;
    case AMI_HDLC_RR:
        return (nr & 7) << 5 | p | 0x01;
    case AMI_HDLC_RNR:
        return (nr & 7) << 5 | p | 0x05;
    default:
        for (size_t i = 0; i < AMI_COUNTOF(unnumbered); i++)
            if (unnumbered[i].type == type)
                return unnumbered[i].ctl | p;
        return -1;
    }
}

static void parse_control(ami_hdlc_frame *f, uint8_t c)
{
    f->control = c;
    f->pf = (c & 0x10) != 0;
    f->ns = 0;
    f->nr = 0;
    if ((c & 1) == 0) { /* I: NR NR NR P NS NS NS 0 */
        f->type = AMI_HDLC_I;
        f->ns = (c >> 1) & 7;
        f->nr = c >> 5;
        return;
    }
    if ((c & 3) == 1) { /* S: NR NR NR P/F S S 0 1 */
        f->nr = c >> 5;
        switch (c & 0x0F) {
        case 0x01:
            f->type = AMI_HDLC_RR;
            return;
        case 0x05:
            f->type = AMI_HDLC_RNR;
            return;
        default: /* REJ / SREJ are not used by IEC 62056-46 */
            f->type = AMI_HDLC_UNKNOWN;
            return;
        }
    }
    f->type = AMI_HDLC_UNKNOWN;
    for (size_t i = 0; i < AMI_COUNTOF(unnumbered); i++)
        if ((c & 0xEF) == unnumbered[i].ctl)
            f->type = unnumbered[i].type;
}

/* ---------------------------------------------------------------- frame codec */

static uint16_t fcs_of(const uint8_t *p, size_t n)
{
    return ami_crc16_x25(p, n);
}

int ami_hdlc_frame_decode(const uint8_t *buf, size_t len, unsigned flags, ami_hdlc_frame *f)
{
    ami_rd r;
    ami_rd_init(&r, buf, len);
    uint8_t flag;
    uint16_t format;
    if (ami_rd_u8(&r, &flag))
        return AMI_E_TRUNCATED;
    if (flag != AMI_HDLC_FLAG)
        return AMI_E_MALFORMED;
    if (ami_rd_u16be(&r, &format))
        return AMI_E_TRUNCATED;
    if ((format >> 8 & 0xF0) != FORMAT_TYPE3)
        return AMI_E_MALFORMED;
    size_t flen = format & 0x7FF;
    if (flen < MIN_FRAME_LEN)
        return AMI_E_MALFORMED;
    /* The whole frame body (format .. FCS) must be present before anything else is trusted. */
    if (len - 1 < flen)
        return AMI_E_TRUNCATED;
    const uint8_t *body = buf + 1;
    bool closing = len - 1 > flen && body[flen] == AMI_HDLC_FLAG;
    if (!closing && !(flags & AMI_HDLC_LENIENT_NO_CLOSING_FLAG)) {
        if (len - 1 == flen)
            return AMI_E_TRUNCATED;
        return AMI_E_MALFORMED;
    }
    uint16_t fcs = ami_dec16le(body + flen - 2);
    if (fcs_of(body, flen - 2) != fcs)
        return AMI_E_CHECKSUM;

    /* Parse the header inside the body without the FCS. */
    ami_rd h;
    ami_rd_init(&h, body, flen - 2);
    (void)ami_rd_skip(&h, 2);
    int rc = ami_hdlc_addr_decode(&h, &f->dest);
    if (rc == AMI_OK)
        rc = ami_hdlc_addr_decode(&h, &f->src);
    uint8_t ctl;
    if (rc == AMI_OK)
        rc = ami_rd_u8(&h, &ctl);
    if (rc)
        return AMI_E_MALFORMED; /* the length covers no complete header */
    parse_control(f, ctl);
    f->segmented = (format & (FORMAT_SEG << 8)) != 0;
    f->length = (uint16_t)flen;
    f->info = NULL;
    f->info_len = 0;
    f->has_hcs = false;
    size_t hdr = h.pos;
    if (ami_rd_left(&h) > 0) {
        /* An information field follows, preceded by the HCS over format..control (6.4.1). */
        uint16_t hcs;
        if (ami_rd_left(&h) < 2)
            return AMI_E_MALFORMED;
        (void)ami_rd_u16be(&h, &hcs);
        hcs = (uint16_t)(hcs >> 8 | hcs << 8); /* low byte first on the wire */
        if (fcs_of(body, hdr) != hcs)
            return AMI_E_CHECKSUM;
        f->has_hcs = true;
        f->info_len = ami_rd_left(&h);
        f->info = f->info_len ? ami_rd_ptr(&h) : NULL;
    }
    return (int)(flen + 1 + (closing ? 1 : 0));
}

int ami_hdlc_frame_encode(ami_wr *w, const ami_hdlc_frame *f)
{
    /* Measure the header first: the length field precedes the addresses. */
    ami_wr m;
    ami_wr_init(&m, NULL, 0);
    int rc = ami_hdlc_addr_encode(&m, &f->dest);
    if (rc == AMI_OK)
        rc = ami_hdlc_addr_encode(&m, &f->src);
    if (rc)
        return rc;
    size_t hdr = 2 + m.len + 1;
    size_t flen = hdr + (f->info_len ? 2 + f->info_len : 0) + 2;
    if (flen > AMI_HDLC_MAX_FRAME_LEN)
        return AMI_E_TOO_LARGE;
    size_t start = w->len;
    ami_wr_u8(w, AMI_HDLC_FLAG);
    ami_wr_u16be(w, (uint16_t)((FORMAT_TYPE3 << 8) | (f->segmented ? FORMAT_SEG << 8 : 0) | flen));
    (void)ami_hdlc_addr_encode(w, &f->dest);
    (void)ami_hdlc_addr_encode(w, &f->src);
    ami_wr_u8(w, f->control);
    if (ami_wr_error(w))
        return ami_wr_error(w);
    const uint8_t *body = w->p ? w->p + start + 1 : NULL;
    uint8_t crc[2];
    if (f->info_len) {
        ami_enc16le(crc, body ? fcs_of(body, hdr) : 0);
        ami_wr_bytes(w, crc, 2);
        ami_wr_bytes(w, f->info, f->info_len);
    }
    if (ami_wr_error(w))
        return ami_wr_error(w);
    ami_enc16le(crc, body ? fcs_of(body, flen - 2) : 0);
    ami_wr_bytes(w, crc, 2);
    ami_wr_u8(w, AMI_HDLC_FLAG);
    return ami_wr_error(w);
}

/* ---------------------------------------------------------------- parameters */

void ami_hdlc_params_default(ami_hdlc_params *p)
{
    p->max_info_tx = AMI_HDLC_DEFAULT_INFO;
    p->max_info_rx = AMI_HDLC_DEFAULT_INFO;
    p->window_tx = AMI_HDLC_DEFAULT_WINDOW;
    p->window_rx = AMI_HDLC_DEFAULT_WINDOW;
}

#define PARAM_FORMAT_ID 0x81
#define PARAM_GROUP_ID  0x80
#define PARAM_INFO_TX   0x05
#define PARAM_INFO_RX   0x06
#define PARAM_WIN_TX    0x07
#define PARAM_WIN_RX    0x08

int ami_hdlc_params_decode(const uint8_t *info, size_t len, ami_hdlc_params *p)
{
    ami_hdlc_params_default(p);
    if (len == 0)
        return AMI_OK;
    ami_rd r, g;
    ami_rd_init(&r, info, len);
    uint8_t fid, gid, glen;
    if (ami_rd_u8(&r, &fid) || ami_rd_u8(&r, &gid) || ami_rd_u8(&r, &glen))
        return AMI_E_TRUNCATED;
    if (fid != PARAM_FORMAT_ID || gid != PARAM_GROUP_ID)
        return AMI_E_MALFORMED;
    if (ami_rd_left(&r) != glen)
        return ami_rd_left(&r) < glen ? AMI_E_TRUNCATED : AMI_E_MALFORMED;
    (void)ami_rd_sub(&r, glen, &g);
    while (ami_rd_left(&g)) {
        uint8_t id, vlen;
        const uint8_t *v;
        if (ami_rd_u8(&g, &id) || ami_rd_u8(&g, &vlen) || ami_rd_view(&g, vlen, &v))
            return AMI_E_TRUNCATED;
        if (id < PARAM_INFO_TX || id > PARAM_WIN_RX)
            continue; /* unknown parameters of the group are ignored */
        if (vlen == 0 || vlen > 4)
            return AMI_E_MALFORMED;
        uint32_t val = 0;
        for (size_t i = 0; i < vlen; i++)
            val = val << 8 | v[i];
        if (val == 0)
            return AMI_E_RANGE;
        switch (id) {
        case PARAM_INFO_TX:
            p->max_info_tx = (uint16_t)(val > AMI_HDLC_MAX_INFO ? AMI_HDLC_MAX_INFO : val);
            break;
        case PARAM_INFO_RX:
            p->max_info_rx = (uint16_t)(val > AMI_HDLC_MAX_INFO ? AMI_HDLC_MAX_INFO : val);
            break;
        case PARAM_WIN_TX:
            p->window_tx = (uint8_t)(val > AMI_HDLC_MAX_WINDOW ? AMI_HDLC_MAX_WINDOW : val);
            break;
        default:
            p->window_rx = (uint8_t)(val > AMI_HDLC_MAX_WINDOW ? AMI_HDLC_MAX_WINDOW : val);
            break;
        }
    }
    return AMI_OK;
}

static void put_param(ami_wr *w, uint8_t id, uint32_t v, uint8_t width)
{
    ami_wr_u8(w, id);
    ami_wr_u8(w, width);
    for (int i = width - 1; i >= 0; i--)
        ami_wr_u8(w, (uint8_t)(v >> (8 * i)));
}

void ami_hdlc_params_encode(ami_wr *w, const ami_hdlc_params *p)
{
    uint8_t wtx = p->max_info_tx > 0xFF ? 2 : 1, wrx = p->max_info_rx > 0xFF ? 2 : 1;
    ami_wr_u8(w, PARAM_FORMAT_ID);
    ami_wr_u8(w, PARAM_GROUP_ID);
    ami_wr_u8(w, (uint8_t)(2 + wtx + 2 + wrx + 6 + 6));
    put_param(w, PARAM_INFO_TX, p->max_info_tx, wtx);
    put_param(w, PARAM_INFO_RX, p->max_info_rx, wrx);
    put_param(w, PARAM_WIN_TX, p->window_tx, 4);
    put_param(w, PARAM_WIN_RX, p->window_rx, 4);
}

/* ---------------------------------------------------------------- deframer */

void ami_hdlc_deframer_init(ami_hdlc_deframer *d, unsigned flags)
{
    d->flags = flags;
    d->start = 0;
    d->have = 0;
    d->drop = 0;
    d->stats = (ami_hdlc_deframer_stats){0};
}

/*
 * For a candidate whose body has not fully arrived: false when what has arrived already proves it
 * is not a frame (bad format or length, bad address field, or a wrong HCS), so the deframer does
 * not wait for up to 2 KiB of garbage before resynchronising.
 */
static bool header_plausible(const uint8_t *buf, size_t have)
{
    ami_rd r;
    ami_hdlc_addr a;
    uint8_t ctl;
    ami_rd_init(&r, buf + 1, have - 1);
    uint16_t format = 0;
    (void)ami_rd_u16be(&r, &format);
    size_t flen = format & 0x7FF;
    int rc = ami_hdlc_addr_decode(&r, &a);
    if (rc == AMI_OK)
        rc = ami_hdlc_addr_decode(&r, &a);
    if (rc == AMI_OK)
        rc = ami_rd_u8(&r, &ctl);
    if (rc == AMI_E_TRUNCATED)
        return true; /* header still incomplete */
    if (rc || r.pos + 2 > flen)
        return false;
    if (r.pos + 2 == flen || ami_rd_left(&r) < 2)
        return true; /* no information field, or HCS not here yet */
    uint16_t hcs = ami_dec16le(ami_rd_ptr(&r));
    return fcs_of(buf + 1, r.pos) == hcs;
}

int ami_hdlc_deframer_next(ami_hdlc_deframer *d, const uint8_t *in, size_t n, size_t *consumed,
                           ami_hdlc_frame *f)
{
    /*
     * Consumed bytes only advance `start`; the buffer is compacted when new input needs the
     * room, so a burst of small frames costs no memmove per frame.
     */
    d->start += d->drop;
    d->drop = 0;
    if (d->start == d->have) {
        d->start = d->have = 0;
    } else if (n > sizeof d->buf - d->have && d->start > 0) {
        memmove(d->buf, d->buf + d->start, d->have - d->start);
        d->have -= d->start;
        d->start = 0;
    }
    size_t take = sizeof d->buf - d->have;
    if (take > n)
        take = n;
    if (take)
        memcpy(d->buf + d->have, in, take);
    d->have += take;
    *consumed = take;

    /* Skip to the first flag. */
    const uint8_t *flag = memchr(d->buf + d->start, AMI_HDLC_FLAG, d->have - d->start);
    size_t at = flag ? (size_t)(flag - d->buf) : d->have;
    d->stats.garbage_bytes += at - d->start;
    d->start = at;
    /* Inter-frame fill: of several flags in a row keep the last one. */
    while (d->start + 1 < d->have && d->buf[d->start + 1] == AMI_HDLC_FLAG)
        d->start++;
    const uint8_t *p = d->buf + d->start;
    size_t avail = d->have - d->start;
    if (avail < 3)
        return AMI_E_AGAIN;
    int rc = ami_hdlc_frame_decode(p, avail, d->flags, f);
    if (rc > 0) {
        /* Keep the closing flag: it may also open the next frame (shared flag). */
        size_t used = (size_t)rc;
        d->drop = used == (size_t)f->length + 2 ? used - 1 : used;
        d->stats.frames++;
        return AMI_OK;
    }
    if (rc == AMI_E_TRUNCATED && header_plausible(p, avail))
        return AMI_E_AGAIN;
    /*
     * Not a frame at this flag: drop the flag only and hunt again from the next byte, so a real
     * frame that started inside the rejected candidate is still found. The caller loops; no
     * recursion.
     */
    d->stats.bad_frames++;
    d->start++;
    return rc == AMI_E_TRUNCATED ? AMI_E_MALFORMED : rc;
}

/* ---------------------------------------------------------------- describe */

static void addr_json(ami_jw *w, const char *key, const ami_hdlc_addr *a)
{
    ami_jw_key(w, key);
    ami_jw_obj_begin(w);
    ami_jw_key(w, "upper");
    ami_jw_uint(w, a->upper);
    ami_jw_key(w, "lower");
    ami_jw_uint(w, a->lower);
    ami_jw_key(w, "size");
    ami_jw_uint(w, a->size);
    ami_jw_obj_end(w);
}

void ami_hdlc_frame_describe_json(const ami_hdlc_frame *f, ami_jw *w)
{
    char ctl[8];
    snprintf(ctl, sizeof ctl, "0x%02X", f->control);
    ami_jw_obj_begin(w);
    ami_jw_key(w, "type");
    ami_jw_str(w, ami_hdlc_type_name(f->type));
    ami_jw_key(w, "control");
    ami_jw_str(w, ctl);
    ami_jw_key(w, "pf");
    ami_jw_bool(w, f->pf);
    if (f->type == AMI_HDLC_I) {
        ami_jw_key(w, "ns");
        ami_jw_uint(w, f->ns);
    }
    if (f->type == AMI_HDLC_I || f->type == AMI_HDLC_RR || f->type == AMI_HDLC_RNR) {
        ami_jw_key(w, "nr");
        ami_jw_uint(w, f->nr);
    }
    ami_jw_key(w, "segmented");
    ami_jw_bool(w, f->segmented);
    ami_jw_key(w, "length");
    ami_jw_uint(w, f->length);
    addr_json(w, "dest", &f->dest);
    addr_json(w, "src", &f->src);
    if (f->has_hcs) {
        ami_jw_key(w, "hcs");
        ami_jw_str(w, "ok");
    }
    ami_jw_key(w, "fcs");
    ami_jw_str(w, "ok");
    ami_hdlc_params p;
    if ((f->type == AMI_HDLC_SNRM || f->type == AMI_HDLC_UA) &&
        ami_hdlc_params_decode(f->info, f->info_len, &p) == AMI_OK) {
        ami_jw_key(w, "params");
        ami_jw_obj_begin(w);
        ami_jw_key(w, "max_info_tx");
        ami_jw_uint(w, p.max_info_tx);
        ami_jw_key(w, "max_info_rx");
        ami_jw_uint(w, p.max_info_rx);
        ami_jw_key(w, "window_tx");
        ami_jw_uint(w, p.window_tx);
        ami_jw_key(w, "window_rx");
        ami_jw_uint(w, p.window_rx);
        ami_jw_obj_end(w);
    }
    if (f->type == AMI_HDLC_FRMR && f->info_len >= 3) {
        /* FRMR information (ISO/IEC 13239): rejected control, V(S)/V(R), W X Y Z bits. */
        const uint8_t *i = f->info;
        char rej[8];
        snprintf(rej, sizeof rej, "0x%02X", i[0]);
        ami_jw_key(w, "frmr");
        ami_jw_obj_begin(w);
        ami_jw_key(w, "rejected_control");
        ami_jw_str(w, rej);
        ami_jw_key(w, "vs");
        ami_jw_uint(w, i[1] >> 1 & 7);
        ami_jw_key(w, "vr");
        ami_jw_uint(w, i[1] >> 5);
        static const char *const bits[] = {"w_undefined_control", "x_info_not_permitted",
                                           "y_info_too_long", "z_invalid_nr"};
        for (unsigned b = 0; b < 4; b++) {
            ami_jw_key(w, bits[b]);
            ami_jw_bool(w, (i[2] >> b & 1) != 0);
        }
        ami_jw_obj_end(w);
    }
    ami_jw_key(w, "info");
    ami_jw_hex(w, f->info, f->info_len);
    ami_jw_obj_end(w);
}

static void addr_text(char *s, size_t cap, const ami_hdlc_addr *a)
{
    if (a->size == 1)
        snprintf(s, cap, "%u", a->upper);
    else
        snprintf(s, cap, "%u/%u(%ub)", a->upper, a->lower, a->size);
}

int ami_hdlc_frame_describe(const ami_hdlc_frame *f, char *buf, size_t cap)
{
    if (cap < 64)
        return AMI_E_NOSPACE;
    char d[24], s[24], seq[24] = "";
    addr_text(d, sizeof d, &f->dest);
    addr_text(s, sizeof s, &f->src);
    if (f->type == AMI_HDLC_I)
        snprintf(seq, sizeof seq, " ns=%u nr=%u", f->ns, f->nr);
    else if (f->type == AMI_HDLC_RR || f->type == AMI_HDLC_RNR)
        snprintf(seq, sizeof seq, " nr=%u", f->nr);
    int n = snprintf(
        buf, cap, "%s%s%s%s dest=%s src=%s len=%u%s fcs=ok info[%zu]=", ami_hdlc_type_name(f->type),
        seq, f->pf ? " PF" : "", f->segmented ? " SEG" : "", d, s, f->length,
        f->has_hcs ? " hcs=ok" : "", f->info_len);
    size_t pos = n < 0 ? 0 : (size_t)n;
    if (pos >= cap) {
        buf[cap - 1] = '\0';
        return (int)(cap - 1);
    }
    static const char hex[] = "0123456789ABCDEF";
    /* Print everything when it fits; else keep room for "..." and the NUL. */
    bool all = cap - pos > 2 * f->info_len;
    for (size_t i = 0; i < f->info_len; i++) {
        if (!all && cap - pos < 2 + 4) {
            memcpy(buf + pos, "...", 3);
            pos += 3;
            break;
        }
        buf[pos++] = hex[f->info[i] >> 4];
        buf[pos++] = hex[f->info[i] & 15];
    }
    buf[pos] = '\0';
    return (int)pos;
}
