/*
 * Fuzz target: the IEC 62056-21 session engine in both roles fed hostile bytes in chunks, with
 * a clock that advances between them. The engine must never loop, overflow or misreport.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ami/iec21.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char v1[16] = "001234.5", v2[16] = "1";
static ami_iec21_register regs[] = {{"1.8.0", v1, sizeof v1, "kWh", 1, 0},
                                    {"C.1", v2, sizeof v2, NULL, 2, 2}};

static void drive(ami_iec21 *e, const uint8_t *data, size_t size)
{
    uint64_t now = 1000;
    size_t off = 0;
    for (int round = 0; round < 64; round++) {
        for (int k = 0; k < 32; k++) {
            ami_iec21_action a;
            int rc = ami_iec21_poll(e, now, &a);
            if (rc < 0 || a.kind == AMI_IEC21_ACT_DONE)
                return;
            if (a.kind == AMI_IEC21_ACT_EVENT && a.event == AMI_IEC21_EV_PROG_READY)
                (void)ami_iec21_command(e, 'R', '1', "1.8.0", NULL, now);
            if (a.kind == AMI_IEC21_ACT_WAIT)
                break;
        }
        if (off >= size)
            return;
        size_t chunk = 1 + data[off] % 37;
        off++;
        if (chunk > size - off)
            chunk = size - off;
        (void)ami_iec21_input(e, data + off, chunk, now);
        off += chunk;
        now += 100;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t rx[512], tx[512];
    ami_iec21 e;
    ami_iec21_client_cfg c = {.programming = size & 1,
                              .password = "pw",
                              .lenient = size & 2 ? AMI_IEC21_LENIENT_ALL : 0u};
    if (ami_iec21_client_init(&e, &c, rx, sizeof rx, tx, sizeof tx) == AMI_OK &&
        ami_iec21_start(&e, 1000) == AMI_OK)
        drive(&e, data, size);
    ami_iec21_meter_cfg m = {.mode = AMI_IEC21_MODE_C,
                             .manufacturer = "OAM",
                             .ident = "F",
                             .regs = regs,
                             .nregs = 2,
                             .password = "pw",
                             .secret = "s",
                             .operand = "1"};
    if (ami_iec21_meter_init(&e, &m, rx, sizeof rx, tx, sizeof tx) == AMI_OK)
        drive(&e, data, size);
    return 0;
}
