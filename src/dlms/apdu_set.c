/*
 * SET service APDUs (Green Book 9.5: Set-Request, Set-Response).
 * SPDX-License-Identifier: Apache-2.0
 */
#include "dlms/apdu_internal.h"

static int get_attr_list(ami__dec *d, ami_set_request *s)
{
    int rc = ami__get_list(d, AMI__ATTR_SEL_MIN, sizeof *s->list, (void **)&s->list, &s->count);
    for (uint32_t i = 0; rc == AMI_OK && i < s->count; i++)
        rc = ami__get_attr_sel(d, &s->list[i]);
    return rc;
}

int ami__dec_set(ami__dec *d, uint8_t tag, ami_apdu *out)
{
    uint8_t type, iip;
    int rc = ami__get_u8(d, &type);
    if (rc == AMI_OK)
        rc = ami__get_u8(d, &iip);
    if (rc)
        return rc;
    if (tag == AMI_APDU_SET_REQUEST) {
        ami_set_request *s = &out->u.set_request;
        s->type = type;
        s->iip = iip;
        switch (type) {
        case AMI_SET_NORMAL:
            rc = ami__get_attr_sel(d, &s->attr);
            return rc ? rc : ami__get_data(d, &s->value);
        case AMI_SET_WITH_FIRST_DATABLOCK:
            rc = ami__get_attr_sel(d, &s->attr);
            return rc ? rc : ami__get_datablock(d, &s->block);
        case AMI_SET_WITH_DATABLOCK:
            return ami__get_datablock(d, &s->block);
        case AMI_SET_WITH_LIST:
            if ((rc = get_attr_list(d, s)))
                return rc;
            rc = ami__get_list(d, 1, sizeof *s->values, (void **)&s->values, &s->value_count);
            for (uint32_t i = 0; rc == AMI_OK && i < s->value_count; i++)
                rc = ami__get_data(d, &s->values[i]);
            return rc;
        case AMI_SET_WITH_LIST_AND_FIRST_DATABLOCK:
            rc = get_attr_list(d, s);
            return rc ? rc : ami__get_datablock(d, &s->block);
        default:
            return AMI_E_MALFORMED;
        }
    }
    ami_set_response *s = &out->u.set_response;
    s->type = type;
    s->iip = iip;
    switch (type) {
    case AMI_SET_RESPONSE_NORMAL:
        return ami__get_u8(d, &s->result);
    case AMI_SET_RESPONSE_DATABLOCK:
        return ami__get_u32(d, &s->block_number);
    case AMI_SET_RESPONSE_LAST_DATABLOCK:
        rc = ami__get_u8(d, &s->result);
        return rc ? rc : ami__get_u32(d, &s->block_number);
    case AMI_SET_RESPONSE_LAST_DATABLOCK_WITH_LIST:
    case AMI_SET_RESPONSE_WITH_LIST:
        rc = ami__get_list(d, 1, sizeof *s->results, (void **)&s->results, &s->count);
        for (uint32_t i = 0; rc == AMI_OK && i < s->count; i++)
            rc = ami__get_u8(d, &s->results[i]);
        if (rc == AMI_OK && type == AMI_SET_RESPONSE_LAST_DATABLOCK_WITH_LIST)
            rc = ami__get_u32(d, &s->block_number);
        return rc;
    default:
        return AMI_E_MALFORMED;
    }
}

int ami__enc_set(ami_wr *w, const ami_apdu *a)
{
    if (a->tag == AMI_APDU_SET_REQUEST) {
        const ami_set_request *s = &a->u.set_request;
        if ((s->count && !s->list) || (s->value_count && !s->values))
            return AMI_E_INVAL;
        ami_wr_u8(w, a->tag);
        ami_wr_u8(w, s->type);
        ami_wr_u8(w, s->iip);
        switch (s->type) {
        case AMI_SET_NORMAL:
            ami__put_attr_sel(w, &s->attr);
            ami_wr_bytes(w, s->value.p, s->value.len);
            break;
        case AMI_SET_WITH_FIRST_DATABLOCK:
            ami__put_attr_sel(w, &s->attr);
            ami__put_datablock(w, &s->block);
            break;
        case AMI_SET_WITH_DATABLOCK:
            ami__put_datablock(w, &s->block);
            break;
        case AMI_SET_WITH_LIST:
        case AMI_SET_WITH_LIST_AND_FIRST_DATABLOCK:
            ami_axdr_put_length(w, s->count);
            for (uint32_t i = 0; i < s->count; i++)
                ami__put_attr_sel(w, &s->list[i]);
            if (s->type == AMI_SET_WITH_LIST_AND_FIRST_DATABLOCK) {
                ami__put_datablock(w, &s->block);
                break;
            }
            ami_axdr_put_length(w, s->value_count);
            for (uint32_t i = 0; i < s->value_count; i++)
                ami_wr_bytes(w, s->values[i].p, s->values[i].len);
            break;
        default:
            return AMI_E_INVAL;
        }
        return ami_wr_error(w);
    }
    const ami_set_response *s = &a->u.set_response;
    if (s->count && !s->results)
        return AMI_E_INVAL;
    ami_wr_u8(w, a->tag);
    ami_wr_u8(w, s->type);
    ami_wr_u8(w, s->iip);
    switch (s->type) {
    case AMI_SET_RESPONSE_NORMAL:
        ami_wr_u8(w, s->result);
        break;
    case AMI_SET_RESPONSE_DATABLOCK:
        ami_wr_u32be(w, s->block_number);
        break;
    case AMI_SET_RESPONSE_LAST_DATABLOCK:
        ami_wr_u8(w, s->result);
        ami_wr_u32be(w, s->block_number);
        break;
    case AMI_SET_RESPONSE_LAST_DATABLOCK_WITH_LIST:
    case AMI_SET_RESPONSE_WITH_LIST:
        ami_axdr_put_length(w, s->count);
        ami_wr_bytes(w, s->results, s->count);
        if (s->type == AMI_SET_RESPONSE_LAST_DATABLOCK_WITH_LIST)
            ami_wr_u32be(w, s->block_number);
        break;
    default:
        return AMI_E_INVAL;
    }
    return ami_wr_error(w);
}
