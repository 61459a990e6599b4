/*
 * xDLMS APDU dispatcher and the single-shape APDUs: InitiateRequest/Response,
 * confirmed-service-error, exception-response, data-notification, event-notification,
 * general-block-transfer and the ciphered APDU headers (Green Book 9.5, 9.3.10, 9.2.7.2).
 * SPDX-License-Identifier: Apache-2.0
 */
#include "dlms/apdu_internal.h"

/* Conformance ::= [APPLICATION 31] IMPLICIT BIT STRING (SIZE(24)), BER inside A-XDR:
 * tag 5F 1F, length 04, unused bits 00, three bytes. */
static const uint8_t conformance_head[4] = {0x5F, 0x1F, 0x04, 0x00};

static int get_conformance(ami__dec *d, uint32_t *conf)
{
    const uint8_t *p;
    int rc = ami_rd_view(&d->r, 7, &p);
    if (rc)
        return rc;
    if (memcmp(p, conformance_head, 4) != 0)
        return AMI_E_MALFORMED;
    *conf = (uint32_t)p[4] << 16 | (uint32_t)p[5] << 8 | p[6];
    return AMI_OK;
}

static void put_conformance(ami_wr *w, uint32_t conf)
{
    ami_wr_bytes(w, conformance_head, 4);
    ami_wr_u8(w, (uint8_t)(conf >> 16));
    ami_wr_u8(w, (uint8_t)(conf >> 8));
    ami_wr_u8(w, (uint8_t)conf);
}

static int get_opt_int8(ami__dec *d, bool *has, int8_t *v)
{
    int rc = ami__get_flag(d, has);
    if (rc == AMI_OK && *has) {
        uint8_t b;
        rc = ami__get_u8(d, &b);
        *v = (int8_t)b;
    }
    return rc;
}

static int dec_initiate_request(ami__dec *d, ami_initiate_request *q)
{
    int rc = ami__get_flag(d, &q->has_dedicated_key);
    if (rc == AMI_OK && q->has_dedicated_key)
        rc = ami__get_octets(d, &q->dedicated_key);
    if (rc == AMI_OK)
        rc = ami__get_flag(d, &q->has_response_allowed);
    q->response_allowed = true; /* DEFAULT TRUE */
    if (rc == AMI_OK && q->has_response_allowed)
        rc = ami__get_bool(d, &q->response_allowed);
    if (rc == AMI_OK)
        rc = get_opt_int8(d, &q->has_qos, &q->qos);
    if (rc == AMI_OK)
        rc = ami__get_u8(d, &q->dlms_version);
    if (rc == AMI_OK)
        rc = get_conformance(d, &q->conformance);
    if (rc == AMI_OK)
        rc = ami__get_u16(d, &q->max_pdu_size);
    return rc;
}

static void enc_initiate_request(ami_wr *w, const ami_initiate_request *q)
{
    ami_wr_u8(w, q->has_dedicated_key ? 1 : 0);
    if (q->has_dedicated_key)
        ami__put_octets(w, q->dedicated_key);
    ami_wr_u8(w, q->has_response_allowed ? 1 : 0);
    if (q->has_response_allowed)
        ami_wr_u8(w, q->response_allowed ? 1 : 0);
    ami_wr_u8(w, q->has_qos ? 1 : 0);
    if (q->has_qos)
        ami_wr_u8(w, (uint8_t)q->qos);
    ami_wr_u8(w, q->dlms_version);
    put_conformance(w, q->conformance);
    ami_wr_u16be(w, q->max_pdu_size);
}

static int dec_initiate_response(ami__dec *d, ami_initiate_response *s)
{
    int rc = get_opt_int8(d, &s->has_qos, &s->qos);
    if (rc == AMI_OK)
        rc = ami__get_u8(d, &s->dlms_version);
    if (rc == AMI_OK)
        rc = get_conformance(d, &s->conformance);
    if (rc == AMI_OK)
        rc = ami__get_u16(d, &s->max_pdu_size);
    if (rc == AMI_OK)
        rc = ami__get_u16(d, &s->vaa_name);
    return rc;
}

static void enc_initiate_response(ami_wr *w, const ami_initiate_response *s)
{
    ami_wr_u8(w, s->has_qos ? 1 : 0);
    if (s->has_qos)
        ami_wr_u8(w, (uint8_t)s->qos);
    ami_wr_u8(w, s->dlms_version);
    put_conformance(w, s->conformance);
    ami_wr_u16be(w, s->max_pdu_size);
    ami_wr_u16be(w, s->vaa_name);
}

static int dec_exception(ami__dec *d, ami_exception_response *e)
{
    int rc = ami__get_u8(d, &e->state_error);
    if (rc == AMI_OK)
        rc = ami__get_u8(d, &e->service_error);
    if (rc == AMI_OK && e->service_error == AMI_SERVICE_ERROR_INVOCATION_COUNTER_ERROR)
        rc = ami__get_u32(d, &e->invocation_counter);
    return rc;
}

/* ---------------------------------------------------------------- ciphered APDUs */

bool ami_apdu_is_ciphered(uint8_t tag)
{
    switch (tag) {
    case 33:
    case 37:
    case 38:
    case 40:
    case 44:
    case 45:
    case 46:
    case 54:
    case 56:
    case 65:
    case 69:
    case 70:
    case 72:
    case 76:
    case 77:
    case 78:
    case 86:
    case 88:
    case 0xC8:
    case 0xC9:
    case 0xCA:
    case 0xCB:
    case 0xCC:
    case 0xCD:
    case 0xCF:
    case 0xD0:
    case 0xD1:
    case 0xD2:
    case 0xD3:
    case 0xD4:
    case 0xD5:
    case 0xD7:
    case AMI_APDU_GENERAL_GLO_CIPHERING:
    case AMI_APDU_GENERAL_DED_CIPHERING:
    case AMI_APDU_GENERAL_CIPHERING:
        return true;
    default:
        return false;
    }
}

/* "SC | IC | payload": the security header of every ciphered form (Green Book 9.2.7.2.4). */
static int split_content(ami_ciphered *c)
{
    if (c->content.len < 5)
        return AMI_E_MALFORMED;
    c->sc = c->content.p[0];
    c->ic = ami_dec32be(c->content.p + 1);
    c->payload.p = c->content.p + 5;
    c->payload.len = c->content.len - 5;
    return AMI_OK;
}

static int dec_ciphered(ami__dec *d, uint8_t tag, ami_ciphered *c)
{
    int rc = AMI_OK;
    if (tag == AMI_APDU_GENERAL_CIPHERING) {
        /* transaction-id, originator-system-title, recipient-system-title, date-time,
         * other-information (OCTET STRINGs), key-info OPTIONAL, ciphered-content. */
        ami_view *f[] = {&c->transaction_id, &c->system_title, &c->recipient_system_title,
                         &c->date_time, &c->other_information};
        for (size_t i = 0; rc == AMI_OK && i < AMI_COUNTOF(f); i++)
            rc = ami__get_octets(d, f[i]);
        if (rc == AMI_OK)
            rc = ami__get_flag(d, &c->has_key_info);
        if (rc == AMI_OK && c->has_key_info) {
            if ((rc = ami__get_u8(d, &c->key_info_type)))
                return rc;
            switch (c->key_info_type) {
            case 0: /* identified-key { key-id } */
                rc = ami__get_u8(d, &c->key_id);
                break;
            case 1: /* wrapped-key { kek-id, key-ciphered-data } */
                rc = ami__get_u8(d, &c->key_id);
                if (rc == AMI_OK)
                    rc = ami__get_octets(d, &c->key_ciphered);
                break;
            case 2: /* agreed-key { key-parameters, key-ciphered-data } */
                rc = ami__get_octets(d, &c->key_parameters);
                if (rc == AMI_OK)
                    rc = ami__get_octets(d, &c->key_ciphered);
                break;
            default:
                return AMI_E_MALFORMED;
            }
        }
    } else if (tag == AMI_APDU_GENERAL_GLO_CIPHERING || tag == AMI_APDU_GENERAL_DED_CIPHERING) {
        rc = ami__get_octets(d, &c->system_title);
    }
    if (rc == AMI_OK)
        rc = ami__get_octets(d, &c->content);
    return rc ? rc : split_content(c);
}

static int enc_ciphered(ami_wr *w, uint8_t tag, const ami_ciphered *c)
{
    if (tag == AMI_APDU_GENERAL_CIPHERING) {
        const ami_view f[] = {c->transaction_id, c->system_title, c->recipient_system_title,
                              c->date_time, c->other_information};
        for (size_t i = 0; i < AMI_COUNTOF(f); i++)
            ami__put_octets(w, f[i]);
        ami_wr_u8(w, c->has_key_info ? 1 : 0);
        if (c->has_key_info) {
            ami_wr_u8(w, c->key_info_type);
            switch (c->key_info_type) {
            case 0:
                ami_wr_u8(w, c->key_id);
                break;
            case 1:
                ami_wr_u8(w, c->key_id);
                ami__put_octets(w, c->key_ciphered);
                break;
            case 2:
                ami__put_octets(w, c->key_parameters);
                ami__put_octets(w, c->key_ciphered);
                break;
            default:
                return AMI_E_INVAL;
            }
        }
    } else if (tag == AMI_APDU_GENERAL_GLO_CIPHERING || tag == AMI_APDU_GENERAL_DED_CIPHERING) {
        ami__put_octets(w, c->system_title);
    }
    if (c->content.len < 5)
        return AMI_E_INVAL;
    ami__put_octets(w, c->content);
    return AMI_OK;
}

/* ---------------------------------------------------------------- dispatch */

static int dec_body(ami__dec *d, uint8_t tag, ami_apdu *out)
{
    int rc;
    switch (tag) {
    case AMI_APDU_INITIATE_REQUEST:
        return dec_initiate_request(d, &out->u.initiate_request);
    case AMI_APDU_INITIATE_RESPONSE:
        return dec_initiate_response(d, &out->u.initiate_response);
    case AMI_APDU_CONFIRMED_SERVICE_ERROR: {
        ami_confirmed_service_error *e = &out->u.confirmed_service_error;
        rc = ami__get_u8(d, &e->service);
        if (rc == AMI_OK)
            rc = ami__get_u8(d, &e->type);
        if (rc == AMI_OK)
            rc = ami__get_u8(d, &e->value);
        return rc;
    }
    case AMI_APDU_EXCEPTION_RESPONSE:
        return dec_exception(d, &out->u.exception);
    case AMI_APDU_GET_REQUEST:
    case AMI_APDU_GET_RESPONSE:
        return ami__dec_get(d, tag, out);
    case AMI_APDU_SET_REQUEST:
    case AMI_APDU_SET_RESPONSE:
        return ami__dec_set(d, tag, out);
    case AMI_APDU_ACTION_REQUEST:
    case AMI_APDU_ACTION_RESPONSE:
        return ami__dec_action(d, tag, out);
    case AMI_APDU_DATA_NOTIFICATION: {
        ami_data_notification *n = &out->u.data_notification;
        rc = ami__get_u32(d, &n->long_iip);
        if (rc == AMI_OK)
            rc = ami__get_octets(d, &n->date_time);
        if (rc == AMI_OK)
            rc = ami__get_data(d, &n->body);
        return rc;
    }
    case AMI_APDU_EVENT_NOTIFICATION_REQUEST: {
        ami_event_notification *n = &out->u.event_notification;
        rc = ami__get_flag(d, &n->has_time);
        if (rc == AMI_OK && n->has_time)
            rc = ami__get_octets(d, &n->time);
        if (rc == AMI_OK)
            rc = ami__get_desc(d, &n->attr);
        if (rc == AMI_OK)
            rc = ami__get_data(d, &n->value);
        return rc;
    }
    case AMI_APDU_GENERAL_BLOCK_TRANSFER: {
        ami_gbt *g = &out->u.gbt;
        uint8_t bc;
        rc = ami__get_u8(d, &bc);
        if (rc == AMI_OK)
            rc = ami__get_u16(d, &g->block_number);
        if (rc == AMI_OK)
            rc = ami__get_u16(d, &g->block_number_ack);
        if (rc == AMI_OK)
            rc = ami__get_octets(d, &g->data);
        g->last = (bc & 0x80) != 0;
        g->streaming = (bc & 0x40) != 0;
        g->window = bc & 0x3F;
        return rc;
    }
    case AMI_APDU_READ_REQUEST:
    case AMI_APDU_WRITE_REQUEST:
    case AMI_APDU_UNCONFIRMED_WRITE_REQUEST:
    case AMI_APDU_INFORMATION_REPORT_REQUEST:
    case AMI_APDU_READ_RESPONSE:
    case AMI_APDU_WRITE_RESPONSE:
        return ami__dec_sn(d, tag, out);
    default:
        if (ami_apdu_is_ciphered(tag))
            return dec_ciphered(d, tag, &out->u.ciphered);
        return AMI_E_UNSUPPORTED;
    }
}

int ami_apdu_decode(const uint8_t *buf, size_t len, ami_arena *arena, const ami_apdu_opts *opts,
                    ami_apdu *out)
{
    if (!out || (!buf && len))
        return AMI_E_INVAL;
    memset(out, 0, sizeof *out);
    if (len == 0)
        return AMI_E_TRUNCATED;
    uint8_t tag = buf[0];
    out->tag = tag;
    switch (tag) {
    case AMI_ACSE_AARQ:
        return ami_aarq_decode(buf, len, &out->u.aarq);
    case AMI_ACSE_AARE:
        return ami_aare_decode(buf, len, &out->u.aare);
    case AMI_ACSE_RLRQ:
    case AMI_ACSE_RLRE:
        return ami_release_decode(buf, len, tag, &out->u.release);
    default:
        break;
    }
    ami__dec d;
    ami_rd_init(&d.r, buf + 1, len - 1);
    d.arena = arena;
    d.lim = opts ? opts->limits : NULL;
    int rc = dec_body(&d, tag, out);
    if (rc == AMI_OK && ami_rd_left(&d.r)) {
        if (!opts || !(opts->lenient & AMI_APDU_LENIENT_TRAILING))
            return AMI_E_MALFORMED; /* bytes after the APDU */
        out->trailing.p = ami_rd_ptr(&d.r);
        out->trailing.len = ami_rd_left(&d.r);
    }
    return rc;
}

static int encode_apdu(ami_wr *w, const ami_apdu *a);

int ami_apdu_encode(ami_wr *w, const ami_apdu *a)
{
    if (!w || !a)
        return AMI_E_INVAL;
    int rc = encode_apdu(w, a);
    if (rc == AMI_OK && a->trailing.len) {
        ami_wr_bytes(w, a->trailing.p, a->trailing.len);
        rc = ami_wr_error(w);
    }
    return rc;
}

static int encode_apdu(ami_wr *w, const ami_apdu *a)
{
    switch (a->tag) {
    case AMI_ACSE_AARQ:
        return ami_aarq_encode(w, &a->u.aarq);
    case AMI_ACSE_AARE:
        return ami_aare_encode(w, &a->u.aare);
    case AMI_ACSE_RLRQ:
    case AMI_ACSE_RLRE:
        return ami_release_encode(w, a->tag, &a->u.release);
    case AMI_APDU_GET_REQUEST:
    case AMI_APDU_GET_RESPONSE:
        return ami__enc_get(w, a);
    case AMI_APDU_SET_REQUEST:
    case AMI_APDU_SET_RESPONSE:
        return ami__enc_set(w, a);
    case AMI_APDU_ACTION_REQUEST:
    case AMI_APDU_ACTION_RESPONSE:
        return ami__enc_action(w, a);
    case AMI_APDU_READ_REQUEST:
    case AMI_APDU_WRITE_REQUEST:
    case AMI_APDU_UNCONFIRMED_WRITE_REQUEST:
    case AMI_APDU_INFORMATION_REPORT_REQUEST:
    case AMI_APDU_READ_RESPONSE:
    case AMI_APDU_WRITE_RESPONSE:
        return ami__enc_sn(w, a);
    default:
        break;
    }
    switch (a->tag) {
    case AMI_APDU_INITIATE_REQUEST:
        ami_wr_u8(w, a->tag);
        enc_initiate_request(w, &a->u.initiate_request);
        break;
    case AMI_APDU_INITIATE_RESPONSE:
        ami_wr_u8(w, a->tag);
        enc_initiate_response(w, &a->u.initiate_response);
        break;
    case AMI_APDU_CONFIRMED_SERVICE_ERROR:
        ami_wr_u8(w, a->tag);
        ami_wr_u8(w, a->u.confirmed_service_error.service);
        ami_wr_u8(w, a->u.confirmed_service_error.type);
        ami_wr_u8(w, a->u.confirmed_service_error.value);
        break;
    case AMI_APDU_EXCEPTION_RESPONSE:
        ami_wr_u8(w, a->tag);
        ami_wr_u8(w, a->u.exception.state_error);
        ami_wr_u8(w, a->u.exception.service_error);
        if (a->u.exception.service_error == AMI_SERVICE_ERROR_INVOCATION_COUNTER_ERROR)
            ami_wr_u32be(w, a->u.exception.invocation_counter);
        break;
    case AMI_APDU_DATA_NOTIFICATION: {
        const ami_data_notification *n = &a->u.data_notification;
        ami_wr_u8(w, a->tag);
        ami_wr_u32be(w, n->long_iip);
        ami__put_octets(w, n->date_time);
        ami_wr_bytes(w, n->body.p, n->body.len);
        break;
    }
    case AMI_APDU_EVENT_NOTIFICATION_REQUEST: {
        const ami_event_notification *n = &a->u.event_notification;
        ami_wr_u8(w, a->tag);
        ami_wr_u8(w, n->has_time ? 1 : 0);
        if (n->has_time)
            ami__put_octets(w, n->time);
        ami__put_desc(w, &n->attr);
        ami_wr_bytes(w, n->value.p, n->value.len);
        break;
    }
    case AMI_APDU_GENERAL_BLOCK_TRANSFER: {
        const ami_gbt *g = &a->u.gbt;
        if (g->window > 63)
            return AMI_E_INVAL;
        ami_wr_u8(w, a->tag);
        ami_wr_u8(w, (uint8_t)((g->last ? 0x80 : 0) | (g->streaming ? 0x40 : 0) | g->window));
        ami_wr_u16be(w, g->block_number);
        ami_wr_u16be(w, g->block_number_ack);
        ami__put_octets(w, g->data);
        break;
    }
    default:
        if (!ami_apdu_is_ciphered(a->tag))
            return AMI_E_INVAL;
        ami_wr_u8(w, a->tag);
        int rc = enc_ciphered(w, a->tag, &a->u.ciphered);
        if (rc)
            return rc;
        break;
    }
    return ami_wr_error(w);
}
