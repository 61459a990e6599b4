/*
 * Ciphered APDUs (Green Book 9.2.7.2.4.5, Table 40; xDLMS ASN.1 module in 9.5):
 *
 *   general-glo-ciphering [219] / general-ded-ciphering [220]:
 *       tag, system-title OCTET STRING, ciphered-content OCTET STRING
 *   glo-xxx [33..56, 200..207] / ded-xxx [65..88, 208..215] service APDUs:
 *       tag, ciphered-content OCTET STRING
 *   ciphered-content = security header (SC, IC) || payload || tag (when SC has A)
 *
 * OCTET STRING here is A-XDR: a length (ami/axdr.h: one byte below 0x80, else 0x80 + n
 * followed by n length bytes, big-endian, shortest form) and the bytes.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <limits.h>

#include "ami/apdu.h"
#include "ami/axdr.h"
#include "ami/security.h"

/* The ciphered APDUs this parser handles: all but general-ciphering (0xDD, another layout). */
static bool parsed_here(uint8_t tag)
{
    return ami_apdu_is_ciphered(tag) && tag != AMI_APDU_GENERAL_CIPHERING;
}

/* An A-XDR length (ami_axdr_get_length: strict, shortest form) no larger than INT32_MAX. */
static int rd_len(ami_rd *r, size_t *out)
{
    int rc = ami_axdr_get_length(r, out);
    if (rc == AMI_OK && *out > INT32_MAX)
        return AMI_E_TOO_LARGE;
    return rc;
}

int ami_sec_apdu_parse(const uint8_t *buf, size_t len, ami_sec_apdu *apdu, size_t *consumed)
{
    if (!apdu || (!buf && len))
        return AMI_E_INVAL;
    memset(apdu, 0, sizeof(*apdu));
    if (consumed)
        *consumed = 0;
    ami_rd r;
    ami_rd_init(&r, buf, len);
    uint8_t tag;
    int rc = ami_rd_u8(&r, &tag);
    if (rc)
        return rc;
    if (!parsed_here(tag))
        return AMI_E_PROTOCOL;
    apdu->tag = tag;
    size_t n;
    if (tag == AMI_SEC_TAG_GENERAL_GLO || tag == AMI_SEC_TAG_GENERAL_DED) {
        if ((rc = rd_len(&r, &n)) != 0)
            return rc;
        if (n != AMI_SEC_SYSTEM_TITLE_LEN)
            return AMI_E_MALFORMED;
        if ((rc = ami_rd_view(&r, n, &apdu->system_title)) != 0)
            return rc;
    }
    if ((rc = rd_len(&r, &n)) != 0)
        return rc;
    ami_rd c;
    if ((rc = ami_rd_sub(&r, n, &c)) != 0) {
        if (consumed)
            *consumed = r.pos + n;
        return rc;
    }
    if ((rc = ami_rd_u8(&c, &apdu->sc)) != 0 || (rc = ami_rd_u32be(&c, &apdu->ic)) != 0)
        return AMI_E_MALFORMED; /* content shorter than its own header */
    if (apdu->sc & AMI_SEC_SC_COMPRESS)
        return AMI_E_UNSUPPORTED;
    size_t body = ami_rd_left(&c);
    if (apdu->sc & AMI_SEC_SC_AUTH) {
        if (body < AMI_SEC_TAG_LEN)
            return AMI_E_MALFORMED;
        body -= AMI_SEC_TAG_LEN;
        apdu->auth_tag = ami_rd_ptr(&c) + body;
        apdu->auth_tag_len = AMI_SEC_TAG_LEN;
    }
    apdu->payload = ami_rd_ptr(&c);
    apdu->payload_len = body;
    if (consumed)
        *consumed = r.pos;
    return AMI_OK;
}

int ami_sec_apdu_decrypt(ami_sec_ctx *ctx, const ami_sec_apdu *apdu, const uint8_t *system_title,
                         uint8_t *out, size_t cap, size_t *out_len)
{
    if (!apdu || !out_len || (!out && apdu->payload_len))
        return AMI_E_INVAL;
    *out_len = 0;
    const uint8_t *st = system_title ? system_title : apdu->system_title;
    if (!st)
        return AMI_E_INVAL;
    if (cap < apdu->payload_len)
        return AMI_E_NOSPACE;
    int rc = ami_sec_decrypt(ctx, st, apdu->sc, apdu->ic, apdu->payload, apdu->payload_len,
                             apdu->auth_tag, apdu->auth_tag_len, out);
    if (rc == AMI_OK)
        *out_len = apdu->payload_len;
    return rc;
}

int ami_sec_apdu_build(ami_sec_ctx *ctx, ami_wr *w, uint8_t tag, const uint8_t system_title[8],
                       uint8_t sc, uint32_t ic, const uint8_t *plain, size_t n)
{
    if (!w || !system_title || !parsed_here(tag) || (n && !plain))
        return AMI_E_INVAL;
    if (n > INT32_MAX - AMI_SEC_HEADER_LEN - AMI_SEC_TAG_LEN)
        return AMI_E_TOO_LARGE;
    bool a = sc & AMI_SEC_SC_AUTH;
    size_t content = AMI_SEC_HEADER_LEN + n + (a ? AMI_SEC_TAG_LEN : 0);
    ami_wr_u8(w, tag);
    if (tag == AMI_SEC_TAG_GENERAL_GLO || tag == AMI_SEC_TAG_GENERAL_DED) {
        ami_axdr_put_length(w, AMI_SEC_SYSTEM_TITLE_LEN);
        ami_wr_bytes(w, system_title, AMI_SEC_SYSTEM_TITLE_LEN);
    }
    ami_axdr_put_length(w, content);
    ami_wr_u8(w, sc);
    ami_wr_u32be(w, ic);
    bool measuring = w->p == NULL;
    uint8_t *payload = ami_wr_reserve(w, n);
    uint8_t *t = a ? ami_wr_reserve(w, AMI_SEC_TAG_LEN) : NULL;
    if (ami_wr_error(w))
        return ami_wr_error(w);
    if (measuring)
        return AMI_OK;
    return ami_sec_encrypt(ctx, system_title, sc, ic, plain, n, payload, t);
}
