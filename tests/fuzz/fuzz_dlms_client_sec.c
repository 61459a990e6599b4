/*
 * libFuzzer target: the DLMS client session with security (ami/dlms_client_sec.h) fed hostile
 * responses. The first byte picks the level (bit 0: encryption only, where every ciphertext
 * deciphers to something and reaches the APDU decoder; else authenticated encryption, where
 * the tag check must refuse), the form (bit 1: general-glo; bit 5: general-ciphering 0xDD,
 * with wrapped-key when bit 6 is set, else identified-key), the mechanism (bit 2: HLS-GMAC
 * built in) and the request (bits 3-4: GET, GET-with-list, SET or ACTION in blocks); the rest
 * is a list of response APDUs, each preceded by a 2-byte length. Keys: EK 00..0F, AK D0..DF,
 * KEK 31..31, client title "OAM\0\0\0\0\1" (the seeds are ciphered with them; a
 * general-ciphering response answers transaction-id = the request's invocation counter).
 * Invariants: every APDU the session sends decodes; result views stay in the data buffer; a refusal
 * names a cause and leaves the session in a state its API allows. SPDX-License-Identifier:
 * Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "ami/ami.h"
#include "dlms_client_fixtures.h"

static const uint8_t CST[8] = {'O', 'A', 'M', 0, 0, 0, 0, 1};
static const uint8_t KEK[16] = {0x31, 0x31, 0x31, 0x31, 0x31, 0x31, 0x31, 0x31,
                                0x31, 0x31, 0x31, 0x31, 0x31, 0x31, 0x31, 0x31};

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
    df_sec_config(&sc, (mode & 1) ? AMI_DLMS_SEC_ENC : AMI_DLMS_SEC_AUTH_ENC, CST, sbuf,
                  sizeof sbuf);
    sc.form = (mode & 0x20) ? AMI_DLMS_SEC_FORM_GC
              : (mode & 2)  ? AMI_DLMS_SEC_FORM_GENERAL
                            : AMI_DLMS_SEC_FORM_SERVICE;
    sc.key_info = (mode & 0x40) ? AMI_DLMS_SEC_KI_WRAPPED : AMI_DLMS_SEC_KI_IDENTIFIED;
    sc.kek = KEK;
    sc.kek_len = sizeof KEK;
    if (ami_dlms_client_sec_init(&sec, &sc))
        abort();
    ami_dlms_client_config cfg;
    memset(&cfg, 0, sizeof cfg);
    df_client_buffers(&cfg, dbuf, sizeof dbuf, &arena, abuf, sizeof abuf, items, 8);
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
            int rc = df_ln_request(&c, (mode >> 3) & 3, &w);
            if ((rc != AMI_OK && rc != AMI_E_TOO_LARGE) || !df_apdu_decodes(out, w.len))
                abort();
        }
        ami_dlms_result res;
        ami_wr_init(&w, out, sizeof out);
        int rc = ami_dlms_client_input(&c, data + pos, n, &w, &res);
        pos += n;
        if (rc == AMI_OK) {
            if (!df_result_ok(&cfg, &res))
                abort();
        } else if (rc == AMI_E_AGAIN) {
            if (!df_apdu_decodes(out, w.len))
                abort();
        } else if (res.layer == AMI_DLMS_LAYER_SECURITY) {
            char why[160];
            if (ami_dlms_client_sec_refusal(&sec) == AMI_DLMS_SEC_REFUSAL_NONE ||
                ami_dlms_client_sec_describe(&sec, why, sizeof why) <= 0)
                abort();
        }
        if (!df_state_ok(&c))
            abort();
    }
    ami_dlms_client_sec_wipe(&sec);
    return 0;
}
