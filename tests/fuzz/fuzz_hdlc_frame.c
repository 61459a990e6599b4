/*
 * libFuzzer target: HDLC frame decoder (IEC 62056-46). Whatever decodes must re-encode to the
 * same bytes, describe itself in text and JSON, and its SNRM/UA parameters must parse safely.
 * The first input byte selects the leniency flags.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "ami/ami.h"

static int null_sink(void *user, const char *s, size_t n)
{
    (void)user;
    (void)s;
    (void)n;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned flags = data[0] & 1 ? AMI_HDLC_LENIENT_NO_CLOSING_FLAG : 0;
    data++;
    size--;
    ami_hdlc_frame f;
    int rc = ami_hdlc_frame_decode(data, size, flags, &f);
    if (rc <= 0)
        return 0;
    if ((size_t)rc > size)
        abort();
    static uint8_t out[AMI_HDLC_MAX_FRAME_BYTES];
    ami_wr w;
    ami_wr_init(&w, out, sizeof out);
    if (ami_hdlc_frame_encode(&w, &f) != AMI_OK)
        abort();
    /* With its closing flag the frame is reproduced exactly. */
    if ((size_t)rc == (size_t)f.length + 2 && (w.len != (size_t)rc || memcmp(out, data, w.len)))
        abort();
    char text[300];
    if (ami_hdlc_frame_describe(&f, text, sizeof text) < 0)
        abort();
    ami_jw jw;
    ami_jw_init(&jw, null_sink, NULL);
    ami_hdlc_frame_describe_json(&f, &jw);
    ami_hdlc_params p;
    (void)ami_hdlc_params_decode(f.info, f.info_len, &p);
    return 0;
}
