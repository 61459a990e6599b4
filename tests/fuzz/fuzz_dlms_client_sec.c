/*
 * libFuzzer target: the DLMS client session with security (ami/dlms_client_sec.h) fed hostile
 * responses. The first byte picks the level (bit 0: encryption only, where every ciphertext
 * deciphers to something and reaches the APDU decoder; else authenticated encryption, where
 * the tag check must refuse), the form (bit 1: general-glo), the mechanism (bit 2: HLS-GMAC
 * built in) and the request (bits 3-4: GET, GET-with-list, SET or ACTION in blocks); the rest
 * is a list of response APDUs, each preceded by a 2-byte length. Keys: EK 00..0F, AK D0..DF,
 * client title "OAM\0\0\0\0\1" (the seeds are ciphered with them). Invariants: every APDU the
 * session sends decodes; result views stay in the data buffer; a refusal names a cause and
 * leaves the session in a state its API allows.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "ami/ami.h"

static const uint8_t EK[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
static const uint8_t AK[16] = {0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7,
                               0xD8, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF};
static const uint8_t CST[8] = {'O', 'A', 'M', 0, 0, 0, 0, 1};

static void check_out(const uint8_t *p, size_t n)
{
    static uint8_t ab[1 << 16];
    ami_arena a;
    ami_arena_init(&a, ab, sizeof ab);
    ami_apdu x;
    if (n && ami_apdu_decode(p, n, &a, NULL, &x) != AMI_OK)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    data++;
    size--;
    static uint8_t dbuf[4096], abuf[8192], sbuf[4096];
    static ami_dlms_item items[8];
    static ami_arena arena;
    static ami_dlms_client_sec sec;
    ami_dlms_sec_config sc;
    memset(&sc, 0, sizeof sc);
    sc.level = (mode & 1) ? AMI_DLMS_SEC_ENC : AMI_DLMS_SEC_AUTH_ENC;
    sc.form = (mode & 2) ? AMI_DLMS_SEC_FORM_GENERAL : AMI_DLMS_SEC_FORM_SERVICE;
    sc.client_title = CST;
    sc.ek = EK;
    sc.ek_len = 16;
    sc.ak = AK;
    sc.ak_len = 16;
    sc.ic = 1;
    sc.buf = sbuf;
    sc.cap = sizeof sbuf;
    if (ami_dlms_client_sec_init(&sec, &sc))
        abort();
    ami_arena_init(&arena, abuf, sizeof abuf);
    ami_dlms_client_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.data_buf = dbuf;
    cfg.data_cap = sizeof dbuf;
    cfg.arena = &arena;
    cfg.items = items;
    cfg.max_items = 8;
    cfg.max_pdu = 1024;
    cfg.sec = &sec;
    if (mode & 4) {
        cfg.mechanism = AMI_ACSE_MECH_GMAC;
        cfg.auth_value = ami_view_of("12345678", 8);
    }
    static ami_dlms_client c;
    if (ami_dlms_client_init(&c, &cfg))
        abort();
    static uint8_t out[8192];
    ami_wr w;
    ami_wr_init(&w, out, sizeof out);
    if (ami_dlms_client_associate(&c, &w))
        abort();
    check_out(out, w.len);
    static uint8_t big[1500];
    memset(big, 0x11, sizeof big);
    big[0] = AMI_AXDR_OCTET_STRING;
    big[1] = 0x82;
    big[2] = (uint8_t)((sizeof big - 4) >> 8);
    big[3] = (uint8_t)((sizeof big - 4) & 0xFF);
    ami_attr_sel sel[2] = {{{8, {{0, 0, 1, 0, 0, 255}}, 2}, {false, 0, {NULL, 0}}},
                           {{3, {{1, 0, 1, 8, 0, 255}}, 2}, {false, 0, {NULL, 0}}}};
    ami_cosem_desc m = {9, {{0, 0, 10, 0, 0, 255}}, 1};
    size_t pos = 0;
    bool asked = false;
    while (pos + 2 <= size) {
        size_t n = (size_t)data[pos] << 8 | data[pos + 1];
        pos += 2;
        if (n > size - pos)
            n = size - pos;
        if (ami_dlms_client_state_get(&c) == AMI_DLMS_CLIENT_READY && !asked) {
            asked = true;
            ami_wr_init(&w, out, sizeof out);
            ami_view bv = ami_view_of(big, sizeof big);
            int rc;
            switch ((mode >> 3) & 3) {
            case 0:
                rc = ami_dlms_client_get(&c, sel, 1, &w);
                break;
            case 1:
                rc = ami_dlms_client_get(&c, sel, 2, &w);
                break;
            case 2:
                rc = ami_dlms_client_set(&c, sel, bv, &w);
                break;
            default:
                rc = ami_dlms_client_action(&c, &m, &bv, &w);
                break;
            }
            if (rc != AMI_OK && rc != AMI_E_TOO_LARGE)
                abort();
            check_out(out, w.len);
        }
        ami_dlms_result res;
        ami_wr_init(&w, out, sizeof out);
        int rc = ami_dlms_client_input(&c, data + pos, n, &w, &res);
        pos += n;
        if (rc == AMI_OK) {
            const uint8_t *lo = dbuf, *hi = dbuf + sizeof dbuf;
            if (res.has_data && (res.data.p < lo || res.data.p + res.data.len > hi))
                abort();
            if (res.count > cfg.max_items)
                abort();
        } else if (rc == AMI_E_AGAIN) {
            check_out(out, w.len);
        } else if (res.layer == AMI_DLMS_LAYER_SECURITY) {
            char why[160];
            if (ami_dlms_client_sec_refusal(&sec) == AMI_DLMS_SEC_REFUSAL_NONE ||
                ami_dlms_client_sec_describe(&sec, why, sizeof why) <= 0)
                abort();
        }
        ami_dlms_client_state st = ami_dlms_client_state_get(&c);
        if (st != AMI_DLMS_CLIENT_IDLE && st != AMI_DLMS_CLIENT_READY &&
            st != AMI_DLMS_CLIENT_ASSOCIATING && st != AMI_DLMS_CLIENT_BUSY)
            abort();
    }
    ami_dlms_client_sec_wipe(&sec);
    return 0;
}
