/*
 * Helpers shared by the COSEM classes (src/cosem/cosem_util.h).
 * SPDX-License-Identifier: Apache-2.0
 */
#include "cosem/cosem_util.h"

#include "ami/axdr.h"
#include "ami/cosem_clock.h"
#include "ami/datetime.h"

bool ami__cosem_is_integer0(ami_view v)
{
    return v.len == 2 && v.p[0] == AMI_AXDR_INTEGER && v.p[1] == 0;
}

static int rd_tag(ami_rd *r, uint8_t type)
{
    uint8_t t;
    if (ami_rd_peek_u8(r, &t) != AMI_OK)
        return AMI_E_TRUNCATED;
    if (t != type)
        return AMI_E_TYPE;
    return ami_rd_skip(r, 1);
}

int ami__cosem_rd_u8(ami_rd *r, uint8_t type, uint8_t *v)
{
    size_t pos = r->pos;
    int rc = rd_tag(r, type);
    if (rc == AMI_OK && (rc = ami_rd_u8(r, v)) != AMI_OK)
        r->pos = pos;
    return rc;
}

int ami__cosem_rd_u16(ami_rd *r, uint8_t type, uint16_t *v)
{
    size_t pos = r->pos;
    int rc = rd_tag(r, type);
    if (rc == AMI_OK && (rc = ami_rd_u16be(r, v)) != AMI_OK)
        r->pos = pos;
    return rc;
}

int ami__cosem_rd_u32(ami_rd *r, uint8_t type, uint32_t *v)
{
    size_t pos = r->pos;
    int rc = rd_tag(r, type);
    if (rc == AMI_OK && (rc = ami_rd_u32be(r, v)) != AMI_OK)
        r->pos = pos;
    return rc;
}

int ami__cosem_rd_octets(ami_rd *r, ami_view *v)
{
    size_t pos = r->pos, n = 0;
    const uint8_t *p = NULL;
    int rc = rd_tag(r, AMI_AXDR_OCTET_STRING);
    if (rc == AMI_OK)
        rc = ami_axdr_get_length(r, &n);
    if (rc == AMI_OK)
        rc = ami_rd_view(r, n, &p);
    if (rc != AMI_OK) {
        r->pos = pos;
        return rc;
    }
    *v = ami_view_of(p, n);
    return AMI_OK;
}

static int rd_container(ami_rd *r, uint8_t type, size_t *n, size_t max)
{
    size_t pos = r->pos;
    int rc = rd_tag(r, type);
    if (rc == AMI_OK)
        rc = ami_axdr_get_length(r, n);
    if (rc == AMI_OK && *n > max)
        rc = AMI_E_TOO_LARGE;
    if (rc != AMI_OK)
        r->pos = pos;
    return rc;
}

int ami__cosem_rd_struct(ami_rd *r, size_t *n, size_t max)
{
    return rd_container(r, AMI_AXDR_STRUCTURE, n, max);
}

int ami__cosem_rd_array(ami_rd *r, size_t *n, size_t max)
{
    return rd_container(r, AMI_AXDR_ARRAY, n, max);
}

int ami__cosem_rd_data(ami_rd *r, ami_view *v)
{
    size_t pos = r->pos;
    int rc = ami_axdr_skip(r, NULL);
    if (rc != AMI_OK) {
        r->pos = pos;
        return rc;
    }
    *v = ami_view_of(r->p + pos, r->pos - pos);
    return AMI_OK;
}

bool ami__cosem_element(ami_view v, uint16_t index, ami_view *out)
{
    ami_rd r;
    ami_rd_init(&r, v.p, v.len);
    uint8_t t;
    size_t n;
    if (!index || ami_rd_u8(&r, &t) || (t != AMI_AXDR_STRUCTURE && t != AMI_AXDR_ARRAY) ||
        ami_axdr_get_length(&r, &n) || index > n)
        return false;
    for (uint16_t i = 1; i < index; i++)
        if (ami_axdr_skip(&r, NULL) != AMI_OK)
            return false;
    size_t at = r.pos;
    if (ami_axdr_skip(&r, NULL) != AMI_OK)
        return false;
    *out = ami_view_of(v.p + at, r.pos - at);
    return true;
}

uint8_t ami__cosem_set_array(ami_rd *r, size_t cap, size_t *count, ami__cosem_elem_fn elem,
                             void *state)
{
    size_t n;
    if (ami__cosem_rd_array(r, &n, cap) != AMI_OK)
        return AMI_DAR_OTHER_REASON;
    size_t start = r->pos;
    for (int pass = 0; pass < 2; pass++) {
        r->pos = start;
        for (size_t i = 0; i < n; i++) {
            uint8_t dar = elem(r, state, i, pass == 1);
            if (dar != AMI_DAR_SUCCESS)
                return dar;
        }
        if (ami_rd_left(r))
            return AMI_DAR_TYPE_UNMATCHED;
    }
    *count = n;
    return AMI_DAR_SUCCESS;
}

const ami_dlms_ctx ami__cosem_self_ctx = {.client_sap = 0,
                                          .server_sap = 1,
                                          .context = AMI_ACSE_CONTEXT_LN,
                                          .mechanism = AMI_ACSE_MECH_HIGH,
                                          .state = 0,
                                          .apdu_authenticated = true};

bool ami__cosem_id_valid(uint16_t cls, int8_t id, bool method)
{
    uint8_t attrs, methods;
    if (id < 1 || !ami_cosem_class_info(cls, NULL, &attrs, &methods))
        return false;
    return (uint8_t)id <= (method ? methods : attrs);
}

int16_t ami__cosem_store_tz(const ami_cosem_store *s)
{
    for (size_t i = 0; i < s->count; i++)
        if (s->objects[i].class_id == AMI_COSEM_CLOCK)
            return s->instance ? s->time_zone : s->objects[i].time_zone;
    return 0;
}

int16_t ami__cosem_store_dev(const ami_cosem_store *s, int64_t t)
{
    for (size_t i = 0; i < s->count; i++) {
        if (s->objects[i].class_id != AMI_COSEM_CLOCK)
            continue;
        ami_cosem_obj tmp; /* a shared table's state is an offset: bind it to the instance */
        return ami_cosem_clock_deviation(ami__cosem_bind(s, &s->objects[i], &tmp), t, NULL);
    }
    return 0;
}

int ami__cosem_local(int64_t t, int16_t tz, ami_datetime *dt)
{
    return ami_datetime_from_unix(t, tz, 0, 0, dt);
}
