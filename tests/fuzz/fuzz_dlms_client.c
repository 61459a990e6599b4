/*
 * libFuzzer target: the DLMS client session fed hostile responses. The first byte picks the
 * mechanism (none / HLS hook) and the request after association (GET, GET-with-list, SET or
 * ACTION large enough for blocks; with bit 6, the short-name context: Read of one or two names,
 * Write, UnconfirmedWrite); bit 4 proposes general block transfer (1 KiB GBT buffer, window 3),
 * bit 5 sends every request in GBT; the rest is a list of response APDUs, each preceded by a
 * 2-byte length. Invariants: every APDU the session asks to send decodes; result views lie in
 * the session's data buffer; with-list counts stay within the items array; the session is
 * always in a state its API allows.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "ami/ami.h"
#include "dlms_client_fixtures.h"

static int pass3(void *user, ami_view stoc, uint8_t *out, size_t cap, size_t *len)
{
    (void)user;
    size_t n = stoc.len < cap ? stoc.len : cap;
    if (n)
        memcpy(out, stoc.p, n);
    *len = n;
    return AMI_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    data++;
    size--;
    static uint8_t dbuf[4096], abuf[8192], gbuf[1024];
    static ami_dlms_item items[8];
    static ami_arena arena;
    ami_dlms_client_config cfg;
    memset(&cfg, 0, sizeof cfg);
    df_client_buffers(&cfg, dbuf, sizeof dbuf, &arena, abuf, sizeof abuf, items, 8);
    if (mode & 1) {
        cfg.mechanism = AMI_ACSE_MECH_GMAC;
        cfg.auth_value = ami_view_of("12345678", 8);
        cfg.hls_pass3 = pass3;
    }
    cfg.apdu_lenient = (mode & 2) ? AMI_APDU_LENIENT_TRAILING : 0;
    bool sn = (mode & 0x40) != 0;
    if (sn) {
        cfg.context = AMI_ACSE_CONTEXT_SN;
        cfg.conformance = AMI_CONF_READ | AMI_CONF_WRITE | AMI_CONF_UNCONFIRMED_WRITE |
                          AMI_CONF_PARAMETERIZED_ACCESS | AMI_CONF_MULTIPLE_REFERENCES |
                          AMI_CONF_BLOCK_TRANSFER_WITH_GET_OR_READ;
    }
    if (mode & 0x10) {
        cfg.conformance =
            (cfg.conformance ? cfg.conformance : AMI_DLMS_CLIENT_DEFAULT_CONFORMANCE) |
            AMI_CONF_GENERAL_BLOCK_TRANSFER;
        cfg.gbt_buf = gbuf;
        cfg.gbt_cap = sizeof gbuf;
        cfg.gbt_window = 3;
        cfg.gbt_always = (mode & 0x20) != 0;
    }
    static ami_dlms_client c;
    if (ami_dlms_client_init(&c, &cfg))
        abort();
    static uint8_t out[8192];
    ami_wr w;
    ami_wr_init(&w, out, sizeof out);
    if (ami_dlms_client_associate(&c, &w))
        abort();
    if (!df_apdu_decodes(out, w.len))
        abort();
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
            ami_view bv = df_big_value();
            int rc;
            ami_sn_access names[2] = {{.kind = AMI_SN_VARIABLE_NAME, .name = 0xFA08},
                                      {.kind = AMI_SN_PARAMETERIZED_ACCESS,
                                       .name = 0x1010,
                                       .selector = 1,
                                       .params = ami_view_of("\x11\x05", 2)}};
            switch (((mode >> 2) & 3) | (sn ? 4 : 0)) {
            case 4:
                rc = ami_dlms_client_read(&c, names, 1, &w);
                break;
            case 5:
                rc = ami_dlms_client_read(&c, names, 2, &w);
                break;
            case 6:
                rc = ami_dlms_client_write(&c, names, bv, &w);
                break;
            case 7:
                rc = ami_dlms_client_unconfirmed_write(&c, names, bv, &w);
                break;
            default:
                rc = df_ln_request(&c, (mode >> 2) & 3, &w);
                break;
            }
            if ((rc != AMI_OK && rc != AMI_E_TOO_LARGE) || !df_apdu_decodes(out, w.len))
                abort();
        }
        ami_dlms_result res;
        ami_wr_init(&w, out, sizeof out);
        int rc = ami_dlms_client_input(&c, data + pos, n, &w, &res);
        pos += n;
        if ((rc == AMI_OK && !df_result_ok(&cfg, &res)) ||
            (rc == AMI_E_AGAIN && !df_apdu_decodes(out, w.len)) || !df_state_ok(&c))
            abort();
    }
    return 0;
}
