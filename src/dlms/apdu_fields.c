/*
 * A-XDR field helpers of the xDLMS APDU codec (see apdu_internal.h).
 * SPDX-License-Identifier: Apache-2.0
 */
#include "dlms/apdu_internal.h"

int ami__get_u8(ami__dec *d, uint8_t *v)
{
    return ami_rd_u8(&d->r, v);
}

int ami__get_u16(ami__dec *d, uint16_t *v)
{
    return ami_rd_u16be(&d->r, v);
}

int ami__get_u32(ami__dec *d, uint32_t *v)
{
    return ami_rd_u32be(&d->r, v);
}

int ami__get_bool(ami__dec *d, bool *v)
{
    uint8_t b;
    int rc = ami_rd_u8(&d->r, &b);
    if (rc == AMI_OK)
        *v = b != 0;
    return rc;
}

int ami__get_last_block(ami__dec *d, bool *v)
{
    return ami__get_flag(d, v);
}

int ami__get_flag(ami__dec *d, bool *v)
{
    uint8_t b;
    int rc = ami_rd_u8(&d->r, &b);
    if (rc)
        return rc;
    if (b > 1)
        return AMI_E_MALFORMED;
    *v = b == 1;
    return AMI_OK;
}

int ami__get_octets(ami__dec *d, ami_view *v)
{
    size_t n;
    int rc = ami_axdr_get_length(&d->r, &n);
    if (rc)
        return rc;
    v->len = n;
    return ami_rd_view(&d->r, n, &v->p);
}

int ami__get_data(ami__dec *d, ami_view *v)
{
    size_t start = d->r.pos;
    int rc = ami_axdr_skip(&d->r, d->lim);
    if (rc)
        return rc;
    v->p = d->r.p + start;
    v->len = d->r.pos - start;
    return AMI_OK;
}

int ami__get_list(ami__dec *d, size_t min_size, size_t elem_size, void **arr, uint32_t *count)
{
    size_t n;
    int rc = ami_axdr_get_length(&d->r, &n);
    if (rc)
        return rc;
    if (n > AMI_APDU_MAX_LIST)
        return AMI_E_TOO_LARGE;
    /* Each element needs min_size bytes: a count the bytes cannot justify is a truncation. */
    if (n > ami_rd_left(&d->r) / min_size)
        return AMI_E_TRUNCATED;
    *count = (uint32_t)n;
    *arr = NULL;
    if (n == 0)
        return AMI_OK;
    if (!d->arena)
        return AMI_E_NOMEM;
    *arr = ami_arena_alloc(d->arena, n * elem_size);
    return *arr ? AMI_OK : AMI_E_NOMEM;
}

int ami__get_desc(ami__dec *d, ami_cosem_desc *c)
{
    uint8_t id;
    int rc = ami_rd_u16be(&d->r, &c->class_id);
    if (rc == AMI_OK)
        rc = ami_rd_copy(&d->r, c->instance.v, 6);
    if (rc == AMI_OK)
        rc = ami_rd_u8(&d->r, &id);
    if (rc == AMI_OK)
        c->id = (int8_t)id;
    return rc;
}

int ami__get_attr_sel(ami__dec *d, ami_attr_sel *a)
{
    int rc = ami__get_desc(d, &a->attr);
    if (rc == AMI_OK)
        rc = ami__get_flag(d, &a->access.present);
    if (rc == AMI_OK && a->access.present) {
        rc = ami__get_u8(d, &a->access.selector);
        if (rc == AMI_OK)
            rc = ami__get_data(d, &a->access.params);
    }
    return rc;
}

int ami__get_datablock(ami__dec *d, ami_datablock *b)
{
    int rc = ami__get_last_block(d, &b->last);
    if (rc == AMI_OK)
        rc = ami__get_u32(d, &b->block_number);
    if (rc == AMI_OK)
        rc = ami__get_octets(d, &b->raw);
    return rc;
}

int ami__get_data_result(ami__dec *d, ami_data_result *res)
{
    uint8_t choice;
    int rc = ami__get_u8(d, &choice);
    if (rc)
        return rc;
    if (choice == 0) {
        res->is_data = true;
        return ami__get_data(d, &res->data);
    }
    if (choice == 1) {
        res->is_data = false;
        return ami__get_u8(d, &res->dar);
    }
    return AMI_E_MALFORMED;
}

void ami__put_octets(ami_wr *w, ami_view v)
{
    ami_axdr_put_length(w, v.len);
    ami_wr_bytes(w, v.p, v.len);
}

void ami__put_desc(ami_wr *w, const ami_cosem_desc *c)
{
    ami_wr_u16be(w, c->class_id);
    ami_wr_bytes(w, c->instance.v, 6);
    ami_wr_u8(w, (uint8_t)c->id);
}

void ami__put_attr_sel(ami_wr *w, const ami_attr_sel *a)
{
    ami__put_desc(w, &a->attr);
    if (a->access.present) {
        ami_wr_u8(w, 1);
        ami_wr_u8(w, a->access.selector);
        ami_wr_bytes(w, a->access.params.p, a->access.params.len);
    } else {
        ami_wr_u8(w, 0);
    }
}

void ami__put_datablock(ami_wr *w, const ami_datablock *b)
{
    ami_wr_u8(w, b->last ? 1 : 0);
    ami_wr_u32be(w, b->block_number);
    ami__put_octets(w, b->raw);
}

void ami__put_data_result(ami_wr *w, const ami_data_result *res)
{
    if (res->is_data) {
        ami_wr_u8(w, 0);
        ami_wr_bytes(w, res->data.p, res->data.len);
    } else {
        ami_wr_u8(w, 1);
        ami_wr_u8(w, res->dar);
    }
}
