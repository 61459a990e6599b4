/*
 * Fuzz target: OBIS text parsing. Property: whatever parses, formats in every style within
 * AMI_OBIS_STRLEN and parses back to the same code; anything else is SYNTAX or RANGE.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "ami/ami.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ami_obis o;
    int rc = ami_obis_parse((const char *)data, size, &o);
    if (rc != AMI_OK) {
        if (rc != AMI_E_SYNTAX && rc != AMI_E_RANGE)
            abort();
        return 0;
    }
    for (int style = AMI_OBIS_STYLE_DOTS; style <= AMI_OBIS_STYLE_HEX; style++) {
        char buf[AMI_OBIS_STRLEN];
        int n = ami_obis_format(&o, (enum ami_obis_style)style, buf, sizeof buf);
        if (n <= 0 || (size_t)n >= sizeof buf || strlen(buf) != (size_t)n)
            abort();
        ami_obis back;
        if (ami_obis_parse(buf, (size_t)n, &back) != AMI_OK || !ami_obis_equal(&o, &back))
            abort();
    }
    return 0;
}
