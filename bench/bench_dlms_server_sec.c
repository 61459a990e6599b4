/*
 * Cost of the server engine's security layer per request, as ratios against a baseline measured
 * in the same run: a plain GET of a register value through ami_dlms_assoc_handle() on a
 * pre-established association, against
 *   - the same GET glo-ciphered (authenticated encryption, suite 0) and ciphered back: the client
 *     builds each request with the next invocation counter (as it must) and the server checks
 *     the replay guard, deciphers, serves and ciphers the response;
 *   - the client's building of that ciphered request alone (to subtract it).
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ami/ami.h"
#include "benchutil.h"

static const uint8_t EK[16] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                               0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F};
static const uint8_t AK[16] = {0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7,
                               0xD8, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF};
static const uint8_t CST[8] = {'B', 'E', 'N', 'C', 'H', '0', '0', '1'};
static const uint8_t SST[8] = {'M', 'E', 'T', 'E', 'R', '0', '0', '1'};
static const uint8_t GET_REG[] = {0xC0, 1, 0xC1, 0, 3, 1, 0, 1, 8, 0, 255, 2, 0};

static uint32_t server_ic;

static int kp_get(void *u, uint16_t sap, ami_dlms_keys *k)
{
    (void)u;
    (void)sap;
    k->guek = EK;
    k->guek_len = 16;
    k->ak = AK;
    k->ak_len = 16;
    return AMI_OK;
}

static int kp_next_ic(void *u, uint16_t sap, uint32_t *ic)
{
    (void)u;
    (void)sap;
    *ic = server_ic++;
    return AMI_OK;
}

static uint8_t reg_value(void *user, const ami_cosem_obj *obj, ami_wr *out)
{
    (void)user;
    (void)obj;
    ami_wr_u8(out, AMI_AXDR_DOUBLE_LONG_UNSIGNED);
    ami_wr_u32be(out, 123456u);
    return AMI_DAR_SUCCESS;
}

typedef struct ctx {
    ami_dlms_assoc assoc;
    ami_sec_ctx client;
    uint32_t client_ic;
    uint8_t req[128];
    size_t req_len;
    uint8_t out[2048];
} ctx;

static uint64_t op_plain(void *p)
{
    ctx *c = p;
    return (uint64_t)ami_dlms_assoc_handle(&c->assoc, GET_REG, sizeof GET_REG, c->out,
                                           sizeof c->out);
}

static uint64_t op_build(void *p)
{
    ctx *c = p;
    ami_wr w;
    ami_wr_init(&w, c->req, sizeof c->req);
    (void)ami_sec_apdu_build(&c->client, &w, 0xC8, CST, 0x30, c->client_ic++, GET_REG,
                             sizeof GET_REG);
    c->req_len = w.len;
    return w.len;
}

static uint64_t op_ciphered(void *p)
{
    ctx *c = p;
    op_build(c);
    return (uint64_t)ami_dlms_assoc_handle(&c->assoc, c->req, c->req_len, c->out, sizeof c->out);
}

int main(void)
{
    static ami_cosem_obj objs[1];
    objs[0] = (ami_cosem_obj){
        .class_id = AMI_COSEM_REGISTER, .ln = AMI_OBIS(1, 0, 1, 8, 0, 255), .read = reg_value};
    static ami_cosem_store store;
    if (ami_cosem_store_init(&store, objs, 1, NULL))
        return 1;
    static ami_replay_entry slots[4];
    static ami_replay replay;
    if (ami_replay_init(&replay, slots, 4, NULL))
        return 1;
    /* Pre-established with ciphering accepted (policy 0): plain and ciphered GETs both served. */
    static const ami_dlms_sec_policy sp = {.suite = 0, .client_system_title = CST};
    ami_dlms_policy pol = {.client_sap = 1,
                           .context = AMI_ACSE_CONTEXT_LN,
                           .conformance = AMI_CONF_GET,
                           .max_pdu = 1024,
                           .pre_established = true,
                           .sec = &sp};
    ami_dlms_server_sec sec = {
        .system_title = SST, .keys = {kp_get, NULL, kp_next_ic, NULL}, .replay = &replay};
    ami_dlms_server srv;
    ami_dlms_server_config cfg = {.ops = &ami_cosem_store_ops,
                                  .store = &store,
                                  .policies = &pol,
                                  .policy_count = 1,
                                  .sec = &sec};
    if (ami_dlms_server_init(&srv, &cfg))
        return 1;
    static ctx c;
    static uint8_t block[4096], scratch[1024], cipher[4096];
    ami_dlms_assoc_mem mem = {block, sizeof block, scratch, sizeof scratch, cipher, sizeof cipher};
    if (ami_dlms_assoc_init(&c.assoc, &srv, 1, &mem))
        return 1;
    if (ami_sec_ctx_init(&c.client) || ami_sec_ctx_set_ek(&c.client, EK, 16) ||
        ami_sec_ctx_set_ak(&c.client, AK, 16))
        return 1;
    c.client_ic = 1;
    server_ic = 1;
    /* Sanity: both requests are served (9-byte plain response; glo-get-response 0xCC). */
    if (op_plain(&c) != 9 || (int)op_ciphered(&c) <= 9 || c.out[0] != 0xCC)
        return 1;
    unsigned ms = bench_ms();
    double base = bench_run(op_plain, &c, ms);
    double ciphered = bench_run(op_ciphered, &c, ms);
    double build = bench_run(op_build, &c, ms);
    bench_report("glo-ciphered GET, client build + server handle", ciphered, "plain GET (handle)",
                 base, 0);
    bench_report("client build of the glo-get-request alone", build, "plain GET (handle)", base, 0);
    if (ami_dlms_assoc_stats_get(&c.assoc)->replays || ami_dlms_assoc_stats_get(&c.assoc)->bad_tag)
        return 1;
    ami_sec_ctx_wipe(&c.client);
    ami_dlms_assoc_reset(&c.assoc); /* frees its cipher contexts */
    return 0;
}
