/*
 * Fuzz target: the IEC 62056-21 identification and request parsers (untrusted bytes from a
 * meter or a probe). Checks the invariants of a successful parse.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ami/iec21.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ami_iec21_ident id;
    if (ami_iec21_ident_parse((const char *)data, size, AMI_IEC21_LENIENT_ALL, &id) == AMI_OK) {
        if (id.text < (const char *)data || id.text + id.text_len > (const char *)data + size ||
            id.text_len == 0 || id.text_len > AMI_IEC21_MAX_IDENT_LONG ||
            strlen(id.enhanced) > AMI_IEC21_MAX_ENHANCED || strlen(id.manufacturer) != 3)
            abort();
        /* a strict re-encoding of what was parsed parses back the same */
        uint8_t out[128];
        char text[AMI_IEC21_MAX_IDENT_LONG + 1];
        memcpy(text, id.text, id.text_len);
        text[id.text_len] = 0;
        int n = ami_iec21_ident_encode(id.manufacturer, id.baud_char, id.enhanced, text, out,
                                       sizeof out);
        if (n > 0) {
            ami_iec21_ident back;
            if (ami_iec21_ident_parse((const char *)out, (size_t)n, 0, &back) != AMI_OK ||
                back.baud_char != id.baud_char || back.mode_e != id.mode_e ||
                back.text_len != id.text_len)
                abort();
        }
    }
    for (int dir = 0; dir < 3; dir++) {
        for (unsigned lenient = 0; lenient <= AMI_IEC21_LENIENT_ALL; lenient += 31) {
            ami_iec21_msg m;
            int rc = ami_iec21_msg_parse(data, size, (enum ami_iec21_dir)dir, lenient, &m);
            if (rc > 0 && ((size_t)rc > size || m.start + m.len > size))
                abort();
        }
    }
    return 0;
}
