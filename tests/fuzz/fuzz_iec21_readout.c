/*
 * Fuzz target: IEC 62056-21 message framing (BCC, bare readouts) and the data-set iterator
 * over a whole capture, as `ami iec21 decode` walks it.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ami/iec21.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const uint8_t *data, size_t size, unsigned lenient)
{
    size_t off = 0;
    while (off < size) {
        ami_iec21_msg m;
        int rc = ami_iec21_msg_parse(data + off, size - off, AMI_IEC21_FROM_ANY, lenient, &m);
        if (rc <= 0)
            return;
        if ((size_t)rc > size - off)
            abort();
        if (m.data) {
            if (m.data < data + off || m.data + m.data_len > data + off + (size_t)rc)
                abort();
            ami_iec21_dsiter it;
            ami_iec21_dataset ds;
            ami_iec21_ds_begin(&it, m.data, m.data_len, lenient);
            int guard = 0;
            while (ami_iec21_ds_next(&it, &ds) == 1) {
                if (ds.address_len > AMI_IEC21_MAX_DS_ADDRESS || ds.raw_len > AMI_IEC21_MAX_VALUE ||
                    ds.value_len > ds.raw_len || (ds.unit && ds.unit_len > AMI_IEC21_MAX_UNIT) ||
                    ++guard > 100000)
                    abort();
                char num[AMI_IEC21_MAX_VALUE + 2];
                size_t n = ami_iec21_value_number(ds.value, ds.value_len, num, sizeof num);
                if (n && (n != strlen(num) || n > ds.value_len))
                    abort();
            }
        }
        off += (size_t)rc;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    walk(data, size, 0);
    walk(data, size, AMI_IEC21_LENIENT_ALL);
    return 0;
}
