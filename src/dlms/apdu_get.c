/*
 * GET service APDUs (Green Book 9.5: Get-Request, Get-Response).
 * SPDX-License-Identifier: Apache-2.0
 */
#include "dlms/apdu_internal.h"

int ami__dec_get(ami__dec *d, uint8_t tag, ami_apdu *out)
{
    uint8_t type, iip;
    int rc = ami__get_u8(d, &type);
    if (rc == AMI_OK)
        rc = ami__get_u8(d, &iip);
    if (rc)
        return rc;
    if (tag == AMI_APDU_GET_REQUEST) {
        ami_get_request *g = &out->u.get_request;
        g->type = type;
        g->iip = iip;
        switch (type) {
        case AMI_GET_NORMAL:
            return ami__get_attr_sel(d, &g->attr);
        case AMI_GET_NEXT:
            return ami__get_u32(d, &g->block_number);
        case AMI_GET_WITH_LIST:
            rc = ami__get_list(d, AMI__ATTR_SEL_MIN, sizeof *g->list, (void **)&g->list, &g->count);
            for (uint32_t i = 0; rc == AMI_OK && i < g->count; i++)
                rc = ami__get_attr_sel(d, &g->list[i]);
            return rc;
        default:
            return AMI_E_MALFORMED;
        }
    }
    ami_get_response *g = &out->u.get_response;
    g->type = type;
    g->iip = iip;
    switch (type) {
    case AMI_GET_NORMAL:
        return ami__get_data_result(d, &g->result);
    case AMI_GET_WITH_DATABLOCK: {
        /* DataBlock-G: last-block, block-number, CHOICE { raw-data [0], data-access-result [1] } */
        uint8_t choice;
        rc = ami__get_last_block(d, &g->block.last);
        if (rc == AMI_OK)
            rc = ami__get_u32(d, &g->block.block_number);
        if (rc == AMI_OK)
            rc = ami__get_u8(d, &choice);
        if (rc)
            return rc;
        if (choice == 0) {
            g->block_ok = true;
            return ami__get_octets(d, &g->block.raw);
        }
        if (choice == 1)
            return ami__get_u8(d, &g->block_dar);
        return AMI_E_MALFORMED;
    }
    case AMI_GET_WITH_LIST:
        rc = ami__get_list(d, 2, sizeof *g->list, (void **)&g->list, &g->count);
        for (uint32_t i = 0; rc == AMI_OK && i < g->count; i++)
            rc = ami__get_data_result(d, &g->list[i]);
        return rc;
    default:
        return AMI_E_MALFORMED;
    }
}

int ami__enc_get(ami_wr *w, const ami_apdu *a)
{
    if (a->tag == AMI_APDU_GET_REQUEST) {
        const ami_get_request *g = &a->u.get_request;
        if (g->type == AMI_GET_WITH_LIST && g->count && !g->list)
            return AMI_E_INVAL;
        ami_wr_u8(w, a->tag);
        ami_wr_u8(w, g->type);
        ami_wr_u8(w, g->iip);
        switch (g->type) {
        case AMI_GET_NORMAL:
            ami__put_attr_sel(w, &g->attr);
            break;
        case AMI_GET_NEXT:
            ami_wr_u32be(w, g->block_number);
            break;
        case AMI_GET_WITH_LIST:
            ami_axdr_put_length(w, g->count);
            for (uint32_t i = 0; i < g->count; i++)
                ami__put_attr_sel(w, &g->list[i]);
            break;
        default:
            return AMI_E_INVAL;
        }
        return ami_wr_error(w);
    }
    const ami_get_response *g = &a->u.get_response;
    if (g->type == AMI_GET_WITH_LIST && g->count && !g->list)
        return AMI_E_INVAL;
    ami_wr_u8(w, a->tag);
    ami_wr_u8(w, g->type);
    ami_wr_u8(w, g->iip);
    switch (g->type) {
    case AMI_GET_NORMAL:
        ami__put_data_result(w, &g->result);
        break;
    case AMI_GET_WITH_DATABLOCK:
        ami_wr_u8(w, g->block.last ? 1 : 0);
        ami_wr_u32be(w, g->block.block_number);
        if (g->block_ok) {
            ami_wr_u8(w, 0);
            ami__put_octets(w, g->block.raw);
        } else {
            ami_wr_u8(w, 1);
            ami_wr_u8(w, g->block_dar);
        }
        break;
    case AMI_GET_WITH_LIST:
        ami_axdr_put_length(w, g->count);
        for (uint32_t i = 0; i < g->count; i++)
            ami__put_data_result(w, &g->list[i]);
        break;
    default:
        return AMI_E_INVAL;
    }
    return ami_wr_error(w);
}
