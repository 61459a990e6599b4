/*
 * Selective access parameters of the profile generic buffer (Blue Book 4.3.6, attribute 2
 * access selectors 1 range_descriptor and 2 entry_descriptor), carried as the
 * access-parameters Data of a Selective-Access-Descriptor.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "dlms/apdu_internal.h"

/* Expects Data tag `type` (and for containers, `count` elements). */
static int expect(ami_rd *r, uint8_t type, size_t count)
{
    uint8_t t;
    int rc = ami_rd_u8(r, &t);
    if (rc)
        return rc;
    if (t != type)
        return AMI_E_MALFORMED;
    if (type != AMI_AXDR_STRUCTURE && type != AMI_AXDR_OCTET_STRING)
        return AMI_OK;
    size_t n;
    if ((rc = ami_axdr_get_length(r, &n)))
        return rc;
    return n == count ? AMI_OK : AMI_E_MALFORMED;
}

static int data_view(ami_rd *r, ami_view *v)
{
    size_t start = r->pos;
    int rc = ami_axdr_skip(r, NULL);
    if (rc == AMI_OK) {
        v->p = r->p + start;
        v->len = r->pos - start;
    }
    return rc;
}

int ami_range_descriptor_decode(ami_view params, ami_range_descriptor *out)
{
    if (!out || (!params.p && params.len))
        return AMI_E_INVAL;
    memset(out, 0, sizeof *out);
    ami_rd r;
    ami_rd_init(&r, params.p, params.len);
    uint8_t attr;
    int rc = expect(&r, AMI_AXDR_STRUCTURE, 4);
    if (rc == AMI_OK)
        rc = expect(&r, AMI_AXDR_STRUCTURE, 4);
    if (rc == AMI_OK)
        rc = expect(&r, AMI_AXDR_LONG_UNSIGNED, 0);
    if (rc == AMI_OK)
        rc = ami_rd_u16be(&r, &out->restricting.class_id);
    if (rc == AMI_OK)
        rc = expect(&r, AMI_AXDR_OCTET_STRING, 6);
    if (rc == AMI_OK)
        rc = ami_rd_copy(&r, out->restricting.instance.v, 6);
    if (rc == AMI_OK)
        rc = expect(&r, AMI_AXDR_INTEGER, 0);
    if (rc == AMI_OK && (rc = ami_rd_u8(&r, &attr)) == AMI_OK)
        out->restricting.id = (int8_t)attr;
    if (rc == AMI_OK)
        rc = expect(&r, AMI_AXDR_LONG_UNSIGNED, 0);
    if (rc == AMI_OK)
        rc = ami_rd_u16be(&r, &out->data_index);
    if (rc == AMI_OK)
        rc = data_view(&r, &out->from_value);
    if (rc == AMI_OK)
        rc = data_view(&r, &out->to_value);
    if (rc == AMI_OK) {
        uint8_t t;
        if ((rc = ami_rd_peek_u8(&r, &t)) == AMI_OK && t != AMI_AXDR_ARRAY)
            rc = AMI_E_MALFORMED;
    }
    if (rc == AMI_OK)
        rc = data_view(&r, &out->selected_values);
    if (rc == AMI_OK && ami_rd_left(&r))
        rc = AMI_E_MALFORMED;
    return rc;
}

int ami_range_descriptor_encode(ami_wr *w, const ami_range_descriptor *d)
{
    if (!w || !d)
        return AMI_E_INVAL;
    static const uint8_t head[] = {AMI_AXDR_STRUCTURE, 4, AMI_AXDR_STRUCTURE, 4,
                                   AMI_AXDR_LONG_UNSIGNED};
    ami_wr_bytes(w, head, sizeof head);
    ami_wr_u16be(w, d->restricting.class_id);
    ami_wr_u8(w, AMI_AXDR_OCTET_STRING);
    ami_wr_u8(w, 6);
    ami_wr_bytes(w, d->restricting.instance.v, 6);
    ami_wr_u8(w, AMI_AXDR_INTEGER);
    ami_wr_u8(w, (uint8_t)d->restricting.id);
    ami_wr_u8(w, AMI_AXDR_LONG_UNSIGNED);
    ami_wr_u16be(w, d->data_index);
    ami_wr_bytes(w, d->from_value.p, d->from_value.len);
    ami_wr_bytes(w, d->to_value.p, d->to_value.len);
    if (d->selected_values.len) {
        ami_wr_bytes(w, d->selected_values.p, d->selected_values.len);
    } else {
        ami_wr_u8(w, AMI_AXDR_ARRAY); /* all columns */
        ami_wr_u8(w, 0);
    }
    return ami_wr_error(w);
}

int ami_entry_descriptor_decode(ami_view params, ami_entry_descriptor *out)
{
    if (!out || (!params.p && params.len))
        return AMI_E_INVAL;
    memset(out, 0, sizeof *out);
    ami_rd r;
    ami_rd_init(&r, params.p, params.len);
    int rc = expect(&r, AMI_AXDR_STRUCTURE, 4);
    if (rc == AMI_OK)
        rc = expect(&r, AMI_AXDR_DOUBLE_LONG_UNSIGNED, 0);
    if (rc == AMI_OK)
        rc = ami_rd_u32be(&r, &out->from_entry);
    if (rc == AMI_OK)
        rc = expect(&r, AMI_AXDR_DOUBLE_LONG_UNSIGNED, 0);
    if (rc == AMI_OK)
        rc = ami_rd_u32be(&r, &out->to_entry);
    if (rc == AMI_OK)
        rc = expect(&r, AMI_AXDR_LONG_UNSIGNED, 0);
    if (rc == AMI_OK)
        rc = ami_rd_u16be(&r, &out->from_selected_value);
    if (rc == AMI_OK)
        rc = expect(&r, AMI_AXDR_LONG_UNSIGNED, 0);
    if (rc == AMI_OK)
        rc = ami_rd_u16be(&r, &out->to_selected_value);
    if (rc == AMI_OK && ami_rd_left(&r))
        rc = AMI_E_MALFORMED;
    return rc;
}

int ami_entry_descriptor_encode(ami_wr *w, const ami_entry_descriptor *d)
{
    if (!w || !d)
        return AMI_E_INVAL;
    ami_wr_u8(w, AMI_AXDR_STRUCTURE);
    ami_wr_u8(w, 4);
    ami_wr_u8(w, AMI_AXDR_DOUBLE_LONG_UNSIGNED);
    ami_wr_u32be(w, d->from_entry);
    ami_wr_u8(w, AMI_AXDR_DOUBLE_LONG_UNSIGNED);
    ami_wr_u32be(w, d->to_entry);
    ami_wr_u8(w, AMI_AXDR_LONG_UNSIGNED);
    ami_wr_u16be(w, d->from_selected_value);
    ami_wr_u8(w, AMI_AXDR_LONG_UNSIGNED);
    ami_wr_u16be(w, d->to_selected_value);
    return ami_wr_error(w);
}
