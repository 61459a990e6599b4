/*
 * DLMS/COSEM wrapper (IEC 62056-47): header codec, UDP datagrams, TCP stream reassembly.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>

#include "ami/wrapper.h"

int ami_wrapper_header_decode(const uint8_t *p, size_t n, ami_wrapper_header *h)
{
    ami_rd r;
    ami_rd_init(&r, p, n);
    if (ami_rd_need(&r, AMI_WRAPPER_HEADER_LEN))
        return AMI_E_TRUNCATED;
    (void)ami_rd_u16be(&r, &h->version);
    (void)ami_rd_u16be(&r, &h->src_wport);
    (void)ami_rd_u16be(&r, &h->dst_wport);
    (void)ami_rd_u16be(&r, &h->length);
    return h->version == AMI_WRAPPER_VERSION ? AMI_OK : AMI_E_MALFORMED;
}

int ami_wrapper_encode(ami_wr *w, uint16_t src_wport, uint16_t dst_wport, const uint8_t *apdu,
                       size_t len)
{
    if (len > AMI_WRAPPER_MAX_APDU)
        return AMI_E_TOO_LARGE;
    ami_wr_u16be(w, AMI_WRAPPER_VERSION);
    ami_wr_u16be(w, src_wport);
    ami_wr_u16be(w, dst_wport);
    ami_wr_u16be(w, (uint16_t)len);
    ami_wr_bytes(w, apdu, len);
    return ami_wr_error(w);
}

int ami_wrapper_datagram_decode(const uint8_t *p, size_t n, ami_wrapper_msg *m)
{
    int rc = ami_wrapper_header_decode(p, n, &m->hdr);
    if (rc)
        return rc;
    size_t body = n - AMI_WRAPPER_HEADER_LEN;
    if (body < m->hdr.length)
        return AMI_E_TRUNCATED;
    if (body > m->hdr.length)
        return AMI_E_MALFORMED; /* one message per datagram */
    m->apdu = p + AMI_WRAPPER_HEADER_LEN;
    m->apdu_len = m->hdr.length;
    return AMI_OK;
}

int ami_wrapper_stream_init(ami_wrapper_stream *s, uint8_t *buf, size_t cap)
{
    if (!buf || cap < AMI_WRAPPER_HEADER_LEN)
        return AMI_E_INVAL;
    *s = (ami_wrapper_stream){.buf = buf, .cap = cap};
    return AMI_OK;
}

/* Checks a complete header: version, and that the message fits the buffer. */
static int check_header(ami_wrapper_stream *s, const uint8_t *p, ami_wrapper_header *h)
{
    int rc = ami_wrapper_header_decode(p, AMI_WRAPPER_HEADER_LEN, h);
    if (rc == AMI_OK && (size_t)h->length > s->cap - AMI_WRAPPER_HEADER_LEN)
        rc = AMI_E_TOO_LARGE;
    if (rc)
        s->err = rc;
    return rc;
}

int ami_wrapper_stream_next(ami_wrapper_stream *s, const uint8_t *in, size_t n, size_t *consumed,
                            ami_wrapper_msg *m)
{
    *consumed = 0;
    if (s->err)
        return s->err;
    if (s->drop) {
        memmove(s->buf, s->buf + s->drop, s->have - s->drop);
        s->have -= s->drop;
        s->drop = 0;
    }
    if (s->have == 0 && n >= AMI_WRAPPER_HEADER_LEN) {
        /* Fast path: a whole message at the start of the input is returned in place. */
        int rc = check_header(s, in, &m->hdr);
        if (rc)
            return rc;
        size_t total = AMI_WRAPPER_HEADER_LEN + (size_t)m->hdr.length;
        if (n >= total) {
            m->apdu = in + AMI_WRAPPER_HEADER_LEN;
            m->apdu_len = m->hdr.length;
            *consumed = total;
            s->messages++;
            return AMI_OK;
        }
    }
    /* Buffer: first the header, then exactly the declared body (never more than one message). */
    size_t want = AMI_WRAPPER_HEADER_LEN;
    if (s->have >= AMI_WRAPPER_HEADER_LEN)
        want += ami_dec16be(s->buf + 6);
    for (;;) {
        size_t take = want - s->have;
        if (take > n - *consumed)
            take = n - *consumed;
        if (take) {
            memcpy(s->buf + s->have, in + *consumed, take);
            s->have += take;
            *consumed += take;
        }
        if (s->have < want)
            return AMI_E_AGAIN;
        if (want == AMI_WRAPPER_HEADER_LEN) {
            int rc = check_header(s, s->buf, &m->hdr);
            if (rc)
                return rc;
            want += m->hdr.length;
            if (m->hdr.length)
                continue;
        }
        (void)ami_wrapper_header_decode(s->buf, AMI_WRAPPER_HEADER_LEN, &m->hdr);
        m->apdu = s->buf + AMI_WRAPPER_HEADER_LEN;
        m->apdu_len = m->hdr.length;
        s->drop = s->have;
        s->messages++;
        return AMI_OK;
    }
}

void ami_wrapper_describe_json(const ami_wrapper_msg *m, ami_jw *w)
{
    ami_jw_obj_begin(w);
    ami_jw_key(w, "version");
    ami_jw_uint(w, m->hdr.version);
    ami_jw_key(w, "src_wport");
    ami_jw_uint(w, m->hdr.src_wport);
    ami_jw_key(w, "dst_wport");
    ami_jw_uint(w, m->hdr.dst_wport);
    ami_jw_key(w, "length");
    ami_jw_uint(w, m->hdr.length);
    ami_jw_key(w, "apdu");
    ami_jw_hex(w, m->apdu, m->apdu_len);
    ami_jw_obj_end(w);
}

int ami_wrapper_describe(const ami_wrapper_msg *m, char *buf, size_t cap)
{
    if (cap < 64)
        return AMI_E_NOSPACE;
    int n = snprintf(buf, cap, "WRAPPER v%u src=%u dst=%u len=%u apdu=", m->hdr.version,
                     m->hdr.src_wport, m->hdr.dst_wport, m->hdr.length);
    size_t pos = n < 0 ? 0 : (size_t)n;
    static const char hex[] = "0123456789ABCDEF";
    bool all = cap - pos > 2 * m->apdu_len;
    for (size_t i = 0; i < m->apdu_len; i++) {
        if (!all && cap - pos < 2 + 4) {
            memcpy(buf + pos, "...", 3);
            pos += 3;
            break;
        }
        buf[pos++] = hex[m->apdu[i] >> 4];
        buf[pos++] = hex[m->apdu[i] & 15];
    }
    buf[pos] = '\0';
    return (int)pos;
}
