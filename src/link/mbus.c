/*
 * Wired M-Bus frames (EN 13757-2, 5.4) and DLMS segment reassembly (IEC 62056-7-3).
 * SPDX-License-Identifier: Apache-2.0
 */
#include "ami/mbus.h"

#include "ami/bytes.h"
#include "core/internal.h"

#define MBUS_ACK         0xE5u
#define MBUS_SHORT_START 0x10u
#define MBUS_LONG_START  0x68u
#define MBUS_STOP        0x16u
#define CI_DLMS_FIN      0x10u
#define CI_DLMS_SEQ      0x0Fu

static uint8_t sum8(const uint8_t *p, size_t n)
{
    unsigned s = 0;
    for (size_t i = 0; i < n; i++)
        s += p[i];
    return (uint8_t)s;
}

int ami_mbus_frame_decode(const uint8_t *buf, size_t len, ami_mbus_frame *f, size_t *consumed)
{
    if (!f || (!buf && len))
        return AMI_E_INVAL;
    memset(f, 0, sizeof(*f));
    if (len == 0)
        return AMI_E_AGAIN;
    uint8_t start = buf[0];
    if (start == MBUS_ACK) {
        f->kind = AMI_MBUS_ACK;
        if (consumed)
            *consumed = 1;
        return AMI_OK;
    }
    if (start == MBUS_SHORT_START) {
        /* 10 C A CS 16 */
        if (len < 5)
            return AMI_E_AGAIN;
        if (buf[4] != MBUS_STOP)
            return AMI_E_MALFORMED;
        if (sum8(buf + 1, 2) != buf[3])
            return AMI_E_CHECKSUM;
        f->kind = AMI_MBUS_SHORT;
        f->c = buf[1];
        f->a = buf[2];
        if (consumed)
            *consumed = 5;
        return AMI_OK;
    }
    if (start != MBUS_LONG_START)
        return AMI_E_MALFORMED;
    /* 68 L L 68: check each header byte as soon as it is there, so garbage is refused early. */
    if (len >= 2 && buf[1] < 3)
        return AMI_E_MALFORMED;
    if (len >= 3 && buf[2] != buf[1])
        return AMI_E_MALFORMED;
    if (len >= 4 && buf[3] != MBUS_LONG_START)
        return AMI_E_MALFORMED;
    if (len < 4)
        return AMI_E_AGAIN;
    size_t l = buf[1];
    size_t total = 4 + l + 2;
    if (len < total)
        return AMI_E_AGAIN;
    ami_rd r;
    ami_rd_init(&r, buf, total);
    const uint8_t *body = NULL;
    uint8_t cs = 0, stop = 0;
    if (ami_rd_skip(&r, 4) || ami_rd_view(&r, l, &body) || ami_rd_u8(&r, &cs) ||
        ami_rd_u8(&r, &stop))
        return AMI_E_INTERNAL; /* unreachable: len >= total */
    if (stop != MBUS_STOP)
        return AMI_E_MALFORMED;
    if (sum8(body, l) != cs)
        return AMI_E_CHECKSUM;
    f->kind = AMI_MBUS_LONG;
    f->c = body[0];
    f->a = body[1];
    f->ci = body[2];
    f->data = body + 3;
    f->data_len = l - 3;
    if (consumed)
        *consumed = total;
    return AMI_OK;
}

int ami_mbus_dlms_init(ami_mbus_dlms *r, uint8_t *buf, size_t cap)
{
    if (!r || (!buf && cap))
        return AMI_E_INVAL;
    memset(r, 0, sizeof(*r));
    r->buf = buf;
    r->cap = cap;
    return AMI_OK;
}

void ami_mbus_dlms_reset(ami_mbus_dlms *r)
{
    if (!r)
        return;
    r->len = 0;
    r->next_seq = 0;
    r->active = false;
}

int ami_mbus_dlms_push(ami_mbus_dlms *r, const ami_mbus_frame *f, const uint8_t **apdu,
                       size_t *apdu_len)
{
    if (!r || !f || !apdu || !apdu_len)
        return AMI_E_INVAL;
    *apdu = NULL;
    *apdu_len = 0;
    if (f->kind != AMI_MBUS_LONG || !ami_mbus_ci_is_dlms(f->ci)) {
        ami_mbus_dlms_reset(r);
        return AMI_E_PROTOCOL;
    }
    ami_rd rd;
    ami_rd_init(&rd, f->data, f->data_len);
    uint8_t stsap, dtsap;
    if (ami_rd_u8(&rd, &stsap) || ami_rd_u8(&rd, &dtsap)) {
        ami_mbus_dlms_reset(r);
        return AMI_E_MALFORMED;
    }
    unsigned seq = f->ci & CI_DLMS_SEQ;
    bool fin = (f->ci & CI_DLMS_FIN) != 0;
    if (seq == 0) {
        if (r->active)
            ami__log(AMI_LOG_WARN,
                     "mbus: DLMS segment 0 before the last segment of the previous "
                     "APDU (%zu bytes dropped)",
                     r->len);
        ami_mbus_dlms_reset(r);
        r->stsap = stsap;
        r->dtsap = dtsap;
    } else if (!r->active || seq != r->next_seq || stsap != r->stsap || dtsap != r->dtsap) {
        ami_mbus_dlms_reset(r);
        return AMI_E_PROTOCOL;
    }
    size_t n = ami_rd_left(&rd);
    if (n > r->cap - r->len) {
        ami_mbus_dlms_reset(r);
        return AMI_E_TOO_LARGE;
    }
    if (n)
        memcpy(r->buf + r->len, ami_rd_ptr(&rd), n);
    r->len += n;
    if (!fin) {
        if (seq == CI_DLMS_SEQ) { /* a 17th segment would wrap to 0, the start marker */
            ami_mbus_dlms_reset(r);
            return AMI_E_TOO_LARGE;
        }
        r->active = true;
        r->next_seq = (uint8_t)((seq + 1) & CI_DLMS_SEQ);
        return AMI_E_AGAIN;
    }
    *apdu = r->buf;
    *apdu_len = r->len;
    r->active = false;
    r->next_seq = 0;
    r->len = 0; /* the APDU stays in buf until the next push */
    return AMI_OK;
}
