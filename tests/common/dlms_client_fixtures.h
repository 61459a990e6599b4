/*
 * Fixtures of the DLMS client shared by the unit tests (tests/unit/test_dlms_client*.c) and the
 * fuzz targets (tests/fuzz/fuzz_dlms_client*.c), which had a copy each: the test keys, the
 * client's caller-owned buffers, the settings of the recorded Gurux client, a request after
 * association (GET, GET-with-list, SET and ACTION in blocks) and the checks every target makes
 * (an APDU we send decodes, result views stay in the data buffer, the session is in a state
 * its API allows). Header-only (static functions): the fuzz targets link no test library.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_TESTS_DLMS_CLIENT_FIXTURES_H
#define AMI_TESTS_DLMS_CLIENT_FIXTURES_H

#include <stdbool.h>
#include <string.h>

#include "ami/ami.h"

/* The keys of the Green Book suite-0 examples and of the recorded Gurux sessions: EK 00..0F,
 * AK D0..DF. */
static const uint8_t DF_EK[16] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                  0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F};
static const uint8_t DF_AK[16] = {0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7,
                                  0xD8, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF};

/* Points cfg at the caller's buffers: the data buffer, an arena over arena_buf, the items. */
static inline void df_client_buffers(ami_dlms_client_config *cfg, uint8_t *data, size_t data_cap,
                                     ami_arena *arena, uint8_t *arena_buf, size_t arena_cap,
                                     ami_dlms_item *items, uint32_t max_items)
{
    cfg->data_buf = data;
    cfg->data_cap = data_cap;
    ami_arena_init(arena, arena_buf, arena_cap);
    cfg->arena = arena;
    cfg->items = items;
    cfg->max_items = max_items;
}

/* What the recorded Gurux client proposes and does: LN context, the default conformance with
 * general-protection, max PDU 65535, invoke id 1 throughout; the Gurux server 9.0 appends stray
 * bytes to the clock (AMI_APDU_LENIENT_TRAILING). */
static inline void df_client_recorded(ami_dlms_client_config *cfg)
{
    cfg->context = AMI_ACSE_CONTEXT_LN;
    cfg->conformance = AMI_DLMS_CLIENT_DEFAULT_CONFORMANCE | AMI_CONF_GENERAL_PROTECTION;
    cfg->max_pdu = 0xFFFF;
    cfg->invoke_id = 1;
    cfg->fixed_invoke_id = true;
    cfg->apdu_lenient = AMI_APDU_LENIENT_TRAILING;
}

/* A security configuration with DF_EK and DF_AK (suite 0), invocation counter 1. */
static inline void df_sec_config(ami_dlms_sec_config *s, uint8_t level, const uint8_t *title,
                                 uint8_t *buf, size_t cap)
{
    memset(s, 0, sizeof *s);
    s->level = level;
    s->suite = 0;
    s->client_title = title;
    s->ek = DF_EK;
    s->ek_len = sizeof DF_EK;
    s->ak = DF_AK;
    s->ak_len = sizeof DF_AK;
    s->ic = 1;
    s->buf = buf;
    s->cap = cap;
}

/* True when p[0..n) is empty or one APDU our decoder accepts (strict, no lenience). */
static inline bool df_apdu_decodes(const uint8_t *p, size_t n)
{
    static uint8_t ab[1 << 16];
    ami_arena a;
    ami_arena_init(&a, ab, sizeof ab);
    ami_apdu x;
    return n == 0 || ami_apdu_decode(p, n, &a, NULL, &x) == AMI_OK;
}

/* True when every view of r lies in cfg's data buffer, the with-list count fits the items and
 * the result can be described. */
static inline bool df_result_ok(const ami_dlms_client_config *cfg, const ami_dlms_result *r)
{
    const uint8_t *lo = cfg->data_buf, *hi = cfg->data_buf + cfg->data_cap;
    if (r->has_data && (r->data.p < lo || r->data.p + r->data.len > hi))
        return false;
    if (r->count > cfg->max_items)
        return false;
    for (uint32_t i = 0; i < r->count; i++)
        if (r->items[i].ok &&
            (r->items[i].data.p < lo || r->items[i].data.p + r->items[i].data.len > hi))
            return false;
    char text[160];
    return ami_dlms_result_describe(r, text, sizeof text) >= 0;
}

/* True when the session is in one of the states its API documents. */
static inline bool df_state_ok(const ami_dlms_client *c)
{
    ami_dlms_client_state st = ami_dlms_client_state_get(c);
    return st == AMI_DLMS_CLIENT_IDLE || st == AMI_DLMS_CLIENT_READY ||
           st == AMI_DLMS_CLIENT_ASSOCIATING || st == AMI_DLMS_CLIENT_BUSY;
}

/* The clock and the active energy register, attribute 2 (GET, GET-with-list, SET), and the
 * first method of the script table 0-0:10.0.0.255 (ACTION). */
static const ami_attr_sel DF_SEL[2] = {{{8, {{0, 0, 1, 0, 0, 255}}, 2}, {false, 0, {NULL, 0}}},
                                       {{3, {{1, 0, 1, 8, 0, 255}}, 2}, {false, 0, {NULL, 0}}}};
static const ami_cosem_desc DF_METHOD = {9, {{0, 0, 10, 0, 0, 255}}, 1};

/* An octet-string Data of 1500 bytes in all: larger than a 1 KiB PDU, so SET and ACTION go in
 * blocks. */
static inline ami_view df_big_value(void)
{
    static uint8_t big[1500];
    memset(big, 0x11, sizeof big);
    big[0] = AMI_AXDR_OCTET_STRING;
    big[1] = 0x82;
    big[2] = (uint8_t)((sizeof big - 4) >> 8);
    big[3] = (uint8_t)((sizeof big - 4) & 0xFF);
    return ami_view_of(big, sizeof big);
}

/* Asks request `kind` of an associated LN session into w: 0 GET of DF_SEL[0], 1 GET-with-list
 * of DF_SEL, 2 SET of DF_SEL[0] to df_big_value(), 3 ACTION DF_METHOD with it. Returns what
 * the client call returns. */
static inline int df_ln_request(ami_dlms_client *c, unsigned kind, ami_wr *w)
{
    ami_view bv = df_big_value();
    switch (kind & 3) {
    case 0:
        return ami_dlms_client_get(c, DF_SEL, 1, w);
    case 1:
        return ami_dlms_client_get(c, DF_SEL, 2, w);
    case 2:
        return ami_dlms_client_set(c, DF_SEL, bv, w);
    default:
        return ami_dlms_client_action(c, &DF_METHOD, &bv, w);
    }
}

#endif
