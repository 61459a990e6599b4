/*
 * ACTION service APDUs (Green Book 9.5: Action-Request, Action-Response).
 * SPDX-License-Identifier: Apache-2.0
 */
#include "dlms/apdu_internal.h"

/* Cosem-Method-Descriptor: 2 + 6 + 1 bytes. */
#define METHOD_MIN 9u

static int get_outcome(ami__dec *d, ami_action_outcome *o)
{
    int rc = ami__get_u8(d, &o->result);
    if (rc == AMI_OK)
        rc = ami__get_flag(d, &o->has_return);
    if (rc == AMI_OK && o->has_return)
        rc = ami__get_data_result(d, &o->ret);
    return rc;
}

static void put_outcome(ami_wr *w, const ami_action_outcome *o)
{
    ami_wr_u8(w, o->result);
    ami_wr_u8(w, o->has_return ? 1 : 0);
    if (o->has_return)
        ami__put_data_result(w, &o->ret);
}

static int get_method_list(ami__dec *d, ami_action_request *q)
{
    int rc = ami__get_list(d, METHOD_MIN, sizeof *q->list, (void **)&q->list, &q->count);
    for (uint32_t i = 0; rc == AMI_OK && i < q->count; i++)
        rc = ami__get_desc(d, &q->list[i]);
    return rc;
}

int ami__dec_action(ami__dec *d, uint8_t tag, ami_apdu *out)
{
    uint8_t type, iip;
    int rc = ami__get_u8(d, &type);
    if (rc == AMI_OK)
        rc = ami__get_u8(d, &iip);
    if (rc)
        return rc;
    if (tag == AMI_APDU_ACTION_REQUEST) {
        ami_action_request *q = &out->u.action_request;
        q->type = type;
        q->iip = iip;
        switch (type) {
        case AMI_ACTION_NORMAL:
            rc = ami__get_desc(d, &q->method);
            if (rc == AMI_OK)
                rc = ami__get_flag(d, &q->has_params);
            if (rc == AMI_OK && q->has_params)
                rc = ami__get_data(d, &q->params);
            return rc;
        case AMI_ACTION_NEXT_PBLOCK:
            return ami__get_u32(d, &q->block_number);
        case AMI_ACTION_WITH_LIST:
            if ((rc = get_method_list(d, q)))
                return rc;
            rc = ami__get_list(d, 1, sizeof *q->params_list, (void **)&q->params_list,
                               &q->params_count);
            for (uint32_t i = 0; rc == AMI_OK && i < q->params_count; i++)
                rc = ami__get_data(d, &q->params_list[i]);
            return rc;
        case AMI_ACTION_WITH_FIRST_PBLOCK:
            rc = ami__get_desc(d, &q->method);
            return rc ? rc : ami__get_datablock(d, &q->block);
        case AMI_ACTION_WITH_LIST_AND_FIRST_PBLOCK:
            rc = get_method_list(d, q);
            return rc ? rc : ami__get_datablock(d, &q->block);
        case AMI_ACTION_WITH_PBLOCK:
            return ami__get_datablock(d, &q->block);
        default:
            return AMI_E_MALFORMED;
        }
    }
    ami_action_response *s = &out->u.action_response;
    s->type = type;
    s->iip = iip;
    switch (type) {
    case AMI_ACTION_RESPONSE_NORMAL:
        return get_outcome(d, &s->outcome);
    case AMI_ACTION_RESPONSE_WITH_PBLOCK:
        return ami__get_datablock(d, &s->block);
    case AMI_ACTION_RESPONSE_WITH_LIST:
        rc = ami__get_list(d, 2, sizeof *s->list, (void **)&s->list, &s->count);
        for (uint32_t i = 0; rc == AMI_OK && i < s->count; i++)
            rc = get_outcome(d, &s->list[i]);
        return rc;
    case AMI_ACTION_RESPONSE_NEXT_PBLOCK:
        return ami__get_u32(d, &s->block_number);
    default:
        return AMI_E_MALFORMED;
    }
}

int ami__enc_action(ami_wr *w, const ami_apdu *a)
{
    if (a->tag == AMI_APDU_ACTION_REQUEST) {
        const ami_action_request *q = &a->u.action_request;
        if ((q->count && !q->list) || (q->params_count && !q->params_list))
            return AMI_E_INVAL;
        ami_wr_u8(w, a->tag);
        ami_wr_u8(w, q->type);
        ami_wr_u8(w, q->iip);
        switch (q->type) {
        case AMI_ACTION_NORMAL:
            ami__put_desc(w, &q->method);
            ami_wr_u8(w, q->has_params ? 1 : 0);
            if (q->has_params)
                ami_wr_bytes(w, q->params.p, q->params.len);
            break;
        case AMI_ACTION_NEXT_PBLOCK:
            ami_wr_u32be(w, q->block_number);
            break;
        case AMI_ACTION_WITH_LIST:
        case AMI_ACTION_WITH_LIST_AND_FIRST_PBLOCK:
            ami_axdr_put_length(w, q->count);
            for (uint32_t i = 0; i < q->count; i++)
                ami__put_desc(w, &q->list[i]);
            if (q->type == AMI_ACTION_WITH_LIST_AND_FIRST_PBLOCK) {
                ami__put_datablock(w, &q->block);
                break;
            }
            ami_axdr_put_length(w, q->params_count);
            for (uint32_t i = 0; i < q->params_count; i++)
                ami_wr_bytes(w, q->params_list[i].p, q->params_list[i].len);
            break;
        case AMI_ACTION_WITH_FIRST_PBLOCK:
            ami__put_desc(w, &q->method);
            ami__put_datablock(w, &q->block);
            break;
        case AMI_ACTION_WITH_PBLOCK:
            ami__put_datablock(w, &q->block);
            break;
        default:
            return AMI_E_INVAL;
        }
        return ami_wr_error(w);
    }
    const ami_action_response *s = &a->u.action_response;
    if (s->count && !s->list)
        return AMI_E_INVAL;
    ami_wr_u8(w, a->tag);
    ami_wr_u8(w, s->type);
    ami_wr_u8(w, s->iip);
    switch (s->type) {
    case AMI_ACTION_RESPONSE_NORMAL:
        put_outcome(w, &s->outcome);
        break;
    case AMI_ACTION_RESPONSE_WITH_PBLOCK:
        ami__put_datablock(w, &s->block);
        break;
    case AMI_ACTION_RESPONSE_WITH_LIST:
        ami_axdr_put_length(w, s->count);
        for (uint32_t i = 0; i < s->count; i++)
            put_outcome(w, &s->list[i]);
        break;
    case AMI_ACTION_RESPONSE_NEXT_PBLOCK:
        ami_wr_u32be(w, s->block_number);
        break;
    default:
        return AMI_E_INVAL;
    }
    return ami_wr_error(w);
}
