/*
 * Short-name referencing services (Green Book 9.5): ReadRequest/Response, WriteRequest/
 * Response, UnconfirmedWriteRequest, InformationReportRequest.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "dlms/apdu_internal.h"

/* Variable-Access-Specification ::= CHOICE { variable-name [2] ObjectName, detailed-access [3]
 * (not used by DLMS), parameterized-access [4], block-number-access [5], read-data-block-access
 * [6], write-data-block-access [7] }. The smallest alternative is 3 bytes. */
#define ACCESS_MIN 3u

static int get_access(ami__dec *d, ami_sn_access *a)
{
    int rc = ami__get_u8(d, &a->kind);
    if (rc)
        return rc;
    switch (a->kind) {
    case AMI_SN_VARIABLE_NAME:
        return ami__get_u16(d, &a->name);
    case AMI_SN_PARAMETERIZED_ACCESS:
        rc = ami__get_u16(d, &a->name);
        if (rc == AMI_OK)
            rc = ami__get_u8(d, &a->selector);
        return rc ? rc : ami__get_data(d, &a->params);
    case AMI_SN_BLOCK_NUMBER_ACCESS:
        return ami__get_u16(d, &a->block_number);
    case AMI_SN_READ_DATA_BLOCK_ACCESS:
        rc = ami__get_last_block(d, &a->last);
        if (rc == AMI_OK)
            rc = ami__get_u16(d, &a->block_number);
        return rc ? rc : ami__get_octets(d, &a->raw);
    case AMI_SN_WRITE_DATA_BLOCK_ACCESS:
        rc = ami__get_last_block(d, &a->last);
        return rc ? rc : ami__get_u16(d, &a->block_number);
    default:
        return AMI_E_MALFORMED;
    }
}

static int put_access(ami_wr *w, const ami_sn_access *a)
{
    ami_wr_u8(w, a->kind);
    switch (a->kind) {
    case AMI_SN_VARIABLE_NAME:
        ami_wr_u16be(w, a->name);
        break;
    case AMI_SN_PARAMETERIZED_ACCESS:
        ami_wr_u16be(w, a->name);
        ami_wr_u8(w, a->selector);
        ami_wr_bytes(w, a->params.p, a->params.len);
        break;
    case AMI_SN_BLOCK_NUMBER_ACCESS:
        ami_wr_u16be(w, a->block_number);
        break;
    case AMI_SN_READ_DATA_BLOCK_ACCESS:
        ami_wr_u8(w, a->last ? 1 : 0);
        ami_wr_u16be(w, a->block_number);
        ami__put_octets(w, a->raw);
        break;
    case AMI_SN_WRITE_DATA_BLOCK_ACCESS:
        ami_wr_u8(w, a->last ? 1 : 0);
        ami_wr_u16be(w, a->block_number);
        break;
    default:
        return AMI_E_INVAL;
    }
    return AMI_OK;
}

static int get_request(ami__dec *d, uint8_t tag, ami_sn_request *q)
{
    int rc;
    if (tag == AMI_APDU_INFORMATION_REPORT_REQUEST) {
        /* current-time GeneralizedTime OPTIONAL: a presence flag, then a length-prefixed
         * string. */
        if ((rc = ami__get_flag(d, &q->has_time)))
            return rc;
        if (q->has_time && (rc = ami__get_octets(d, &q->time)))
            return rc;
    }
    rc = ami__get_list(d, ACCESS_MIN, sizeof *q->list, (void **)&q->list, &q->count);
    for (uint32_t i = 0; rc == AMI_OK && i < q->count; i++)
        rc = get_access(d, &q->list[i]);
    if (rc || tag == AMI_APDU_READ_REQUEST)
        return rc;
    rc = ami__get_list(d, 1, sizeof *q->data, (void **)&q->data, &q->data_count);
    for (uint32_t i = 0; rc == AMI_OK && i < q->data_count; i++)
        rc = ami__get_data(d, &q->data[i]);
    return rc;
}

static int get_read_result(ami__dec *d, ami_sn_read_result *x)
{
    int rc = ami__get_u8(d, &x->kind);
    if (rc)
        return rc;
    switch (x->kind) {
    case AMI_SN_READ_DATA:
        return ami__get_data(d, &x->data);
    case AMI_SN_READ_ERROR:
        return ami__get_u8(d, &x->dar);
    case AMI_SN_READ_DATA_BLOCK:
        rc = ami__get_last_block(d, &x->last);
        if (rc == AMI_OK)
            rc = ami__get_u16(d, &x->block_number);
        return rc ? rc : ami__get_octets(d, &x->raw);
    case AMI_SN_READ_BLOCK_NUMBER:
        return ami__get_u16(d, &x->block_number);
    default:
        return AMI_E_MALFORMED;
    }
}

static int get_write_result(ami__dec *d, ami_sn_write_result *x)
{
    int rc = ami__get_u8(d, &x->kind);
    if (rc)
        return rc;
    switch (x->kind) {
    case AMI_SN_WRITE_SUCCESS:
        return AMI_OK;
    case AMI_SN_WRITE_ERROR:
        return ami__get_u8(d, &x->dar);
    case AMI_SN_WRITE_BLOCK:
        return ami__get_u16(d, &x->block_number);
    default:
        return AMI_E_MALFORMED;
    }
}

int ami__dec_sn(ami__dec *d, uint8_t tag, ami_apdu *out)
{
    int rc;
    switch (tag) {
    case AMI_APDU_READ_REQUEST:
    case AMI_APDU_WRITE_REQUEST:
    case AMI_APDU_UNCONFIRMED_WRITE_REQUEST:
    case AMI_APDU_INFORMATION_REPORT_REQUEST:
        return get_request(d, tag, &out->u.sn_request);
    case AMI_APDU_READ_RESPONSE: {
        ami_sn_read_response *s = &out->u.read_response;
        rc = ami__get_list(d, 2, sizeof *s->list, (void **)&s->list, &s->count);
        for (uint32_t i = 0; rc == AMI_OK && i < s->count; i++)
            rc = get_read_result(d, &s->list[i]);
        return rc;
    }
    case AMI_APDU_WRITE_RESPONSE: {
        ami_sn_write_response *s = &out->u.write_response;
        rc = ami__get_list(d, 1, sizeof *s->list, (void **)&s->list, &s->count);
        for (uint32_t i = 0; rc == AMI_OK && i < s->count; i++)
            rc = get_write_result(d, &s->list[i]);
        return rc;
    }
    default:
        return AMI_E_UNSUPPORTED;
    }
}

int ami__enc_sn(ami_wr *w, const ami_apdu *a)
{
    int rc = AMI_OK;
    ami_wr_u8(w, a->tag);
    switch (a->tag) {
    case AMI_APDU_READ_REQUEST:
    case AMI_APDU_WRITE_REQUEST:
    case AMI_APDU_UNCONFIRMED_WRITE_REQUEST:
    case AMI_APDU_INFORMATION_REPORT_REQUEST: {
        const ami_sn_request *q = &a->u.sn_request;
        if ((q->count && !q->list) || (q->data_count && !q->data))
            return AMI_E_INVAL;
        if (a->tag == AMI_APDU_INFORMATION_REPORT_REQUEST) {
            ami_wr_u8(w, q->has_time ? 1 : 0);
            if (q->has_time)
                ami__put_octets(w, q->time);
        }
        ami_axdr_put_length(w, q->count);
        for (uint32_t i = 0; rc == AMI_OK && i < q->count; i++)
            rc = put_access(w, &q->list[i]);
        if (rc || a->tag == AMI_APDU_READ_REQUEST)
            break;
        ami_axdr_put_length(w, q->data_count);
        for (uint32_t i = 0; i < q->data_count; i++)
            ami_wr_bytes(w, q->data[i].p, q->data[i].len);
        break;
    }
    case AMI_APDU_READ_RESPONSE: {
        const ami_sn_read_response *s = &a->u.read_response;
        if (s->count && !s->list)
            return AMI_E_INVAL;
        ami_axdr_put_length(w, s->count);
        for (uint32_t i = 0; rc == AMI_OK && i < s->count; i++) {
            const ami_sn_read_result *x = &s->list[i];
            ami_wr_u8(w, x->kind);
            if (x->kind == AMI_SN_READ_DATA) {
                ami_wr_bytes(w, x->data.p, x->data.len);
            } else if (x->kind == AMI_SN_READ_ERROR) {
                ami_wr_u8(w, x->dar);
            } else if (x->kind == AMI_SN_READ_DATA_BLOCK) {
                ami_wr_u8(w, x->last ? 1 : 0);
                ami_wr_u16be(w, x->block_number);
                ami__put_octets(w, x->raw);
            } else if (x->kind == AMI_SN_READ_BLOCK_NUMBER) {
                ami_wr_u16be(w, x->block_number);
            } else {
                rc = AMI_E_INVAL;
            }
        }
        break;
    }
    case AMI_APDU_WRITE_RESPONSE: {
        const ami_sn_write_response *s = &a->u.write_response;
        if (s->count && !s->list)
            return AMI_E_INVAL;
        ami_axdr_put_length(w, s->count);
        for (uint32_t i = 0; rc == AMI_OK && i < s->count; i++) {
            const ami_sn_write_result *x = &s->list[i];
            ami_wr_u8(w, x->kind);
            if (x->kind == AMI_SN_WRITE_ERROR)
                ami_wr_u8(w, x->dar);
            else if (x->kind == AMI_SN_WRITE_BLOCK)
                ami_wr_u16be(w, x->block_number);
            else if (x->kind != AMI_SN_WRITE_SUCCESS)
                rc = AMI_E_INVAL;
        }
        break;
    }
    default:
        return AMI_E_INVAL;
    }
    return rc ? rc : ami_wr_error(w);
}
