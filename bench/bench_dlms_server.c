/*
 * DLMS server engine cost per request, as ratios against baselines measured in the same run:
 *   - GET of a register value through ami_dlms_assoc_handle (decode, access check, store,
 *     response encode) against ami_apdu_decode of the same request alone;
 *   - GET of a 20-object Association LN object_list (built per request) against
 *     ami_axdr_skip validating the same encoded list.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ami/ami.h"
#include "benchutil.h"

static uint8_t reg_value(void *user, const ami_cosem_obj *obj, ami_wr *out)
{
    (void)user;
    ami_wr_u8(out, AMI_AXDR_DOUBLE_LONG_UNSIGNED);
    ami_wr_u32be(out, (uint32_t)obj->ln.v[4] * 1000u + 123u);
    return AMI_DAR_SUCCESS;
}

typedef struct ctx {
    ami_dlms_assoc assoc;
    const uint8_t *req;
    size_t req_len;
    uint8_t out[4096];
    const uint8_t *data;
    size_t data_len;
} ctx;

static uint64_t op_handle(void *p)
{
    ctx *c = p;
    return (uint64_t)ami_dlms_assoc_handle(&c->assoc, c->req, c->req_len, c->out, sizeof c->out);
}

static uint64_t op_decode(void *p)
{
    ctx *c = p;
    ami_apdu a;
    return (uint64_t)ami_apdu_decode(c->req, c->req_len, NULL, NULL, &a) + a.u.get_request.iip;
}

static uint64_t op_skip(void *p)
{
    ctx *c = p;
    ami_rd r;
    ami_rd_init(&r, c->data, c->data_len);
    return (uint64_t)ami_axdr_skip(&r, NULL) + r.pos;
}

int main(void)
{
    static ami_cosem_obj objs[20];
    objs[0] =
        (ami_cosem_obj){.class_id = AMI_COSEM_ASSOCIATION_LN, .ln = AMI_OBIS(0, 0, 40, 0, 0, 255)};
    for (int i = 1; i < 20; i++)
        objs[i] = (ami_cosem_obj){.class_id = AMI_COSEM_REGISTER,
                                  .ln = AMI_OBIS(1, 0, 1, 8, i, 255),
                                  .read = reg_value,
                                  .unit = 30};
    ami_cosem_store store;
    if (ami_cosem_store_init(&store, objs, 20, NULL))
        return 1;
    ami_dlms_policy pol = {.client_sap = 16,
                           .context = AMI_ACSE_CONTEXT_LN,
                           .conformance = AMI_CONF_GET | AMI_CONF_BLOCK_TRANSFER_WITH_GET_OR_READ,
                           .max_pdu = 4096,
                           .pre_established = true};
    ami_dlms_server srv;
    ami_dlms_server_config cfg = {
        .ops = &ami_cosem_store_ops, .store = &store, .policies = &pol, .policy_count = 1};
    if (ami_dlms_server_init(&srv, &cfg))
        return 1;
    static ctx c;
    static uint8_t block[8192], scratch[4096];
    ami_dlms_assoc_mem mem = {block, sizeof block, scratch, sizeof scratch, NULL, 0};
    if (ami_dlms_assoc_init(&c.assoc, &srv, 16, &mem))
        return 1;
    unsigned ms = bench_ms();

    static const uint8_t get_reg[] = {0xC0, 1, 0xC1, 0, 3, 1, 0, 1, 8, 5, 255, 2, 0};
    c.req = get_reg;
    c.req_len = sizeof get_reg;
    if (op_handle(&c) != 9)
        return 1;
    double base = bench_run(op_decode, &c, ms);
    double get = bench_run(op_handle, &c, ms);
    bench_report("GET register value (handle)", get, "ami_apdu_decode of the request", base, 0);

    /* The object list fits one response (pre-established PDU 4096). */
    static const uint8_t get_list[] = {0xC0, 1, 0xC1, 0, 15, 0, 0, 40, 0, 0, 255, 2, 0};
    c.req = get_list;
    c.req_len = sizeof get_list;
    int n = (int)op_handle(&c);
    if (n <= 4 || c.out[1] != AMI_GET_NORMAL)
        return 1;
    static uint8_t copy[4096];
    size_t body = (size_t)n - 4;
    memcpy(copy, c.out + 4, body);
    c.data = copy;
    c.data_len = body;
    base = bench_run(op_skip, &c, ms);
    double list = bench_run(op_handle, &c, ms);
    bench_report("GET object_list, 20 objects (handle)", list, "ami_axdr_skip of the list", base,
                 body);
    return 0;
}
