/*
 * Fuzz target: the meter side of IEC 62056-21 as `ami sim --optical` runs it: every protocol
 * mode (A, B, C, D, E, chosen by the first byte), an addressed meter, a P1 password, readable,
 * hidden and writable registers. Hostile bytes arrive in chunks with a clock that advances
 * (sometimes past the timeouts); a hand-over to HDLC (DONE) restarts the engine, as the sim does
 * when the HDLC link ends. Invariants: the engine never fails (a meter drops what it cannot
 * parse), every SEND lies inside its tx buffer, every baud rate is one of the standard's, every
 * deadline is in the future of "now" or none, writes stay NUL-terminated inside their buffers.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ami/iec21.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool std_baud(uint32_t b)
{
    static const uint32_t ok[] = {300, 600, 1200, 2400, 4800, 9600, 19200};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (b == ok[i])
            return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const enum ami_iec21_mode modes[] = {
        AMI_IEC21_MODE_A, AMI_IEC21_MODE_B, AMI_IEC21_MODE_C, AMI_IEC21_MODE_D, AMI_IEC21_MODE_E};
    static char v[4][24];
    static const char init[4][24] = {"000123.456", "AMI0000000001", "OPENAMI", "000.0"};
    memcpy(v, init, sizeof v); /* W1 may have written the last run's values */
    ami_iec21_register regs[] = {{"1.8.0", v[0], sizeof v[0], "kWh", 1, 0},
                                 {"0.0.0", v[1], sizeof v[1], NULL, 1, 0},
                                 {"0.0.1", v[2], sizeof v[2], NULL, 2, 2},
                                 {"52.7.0", v[3], sizeof v[3], "V", 5, 0}};
    ami_iec21_meter_cfg cfg = {.mode = modes[data[0] % 5],
                               .manufacturer = (data[0] & 0x08) ? "AMi" : "AMI",
                               .ident = "OPENAMI-SIM",
                               .max_baud = (data[0] & 0x10) ? 19200 : 9600,
                               .address = (data[0] & 0x20) ? "AMI0000000001" : NULL,
                               .regs = regs,
                               .nregs = 4,
                               .password = "s3cret",
                               .lenient = (data[0] & 0x40) ? AMI_IEC21_LENIENT_ALL : 0u};
    static uint8_t rx[1024], tx[4096];
    ami_iec21 e;
    if (ami_iec21_meter_init(&e, &cfg, rx, sizeof rx, tx, sizeof tx) != AMI_OK)
        abort();
    uint64_t now = 1000;
    size_t off = 1;
    for (int round = 0; round < 128 && off <= size; round++) {
        for (int k = 0; k < 64; k++) {
            ami_iec21_action a;
            int rc = ami_iec21_poll(&e, now, &a);
            if (rc < 0)
                abort(); /* a meter never stays failed */
            if (a.kind == AMI_IEC21_ACT_SEND) {
                bool in_tx = a.data >= tx && a.data + a.len <= tx + sizeof tx;
                if (!a.len || (!in_tx && a.len != 1))
                    abort(); /* only a lone NAK/ACK byte comes from elsewhere */
            }
            if (a.kind == AMI_IEC21_ACT_BAUD && !std_baud(a.baud))
                abort();
            if (a.kind == AMI_IEC21_ACT_DONE) {
                if (ami_iec21_meter_init(&e, &cfg, rx, sizeof rx, tx, sizeof tx) != AMI_OK)
                    abort();
                continue;
            }
            if (a.kind == AMI_IEC21_ACT_WAIT) {
                if (a.until != UINT64_MAX && a.until > now + 600000)
                    abort(); /* no deadline further than the longest timeout (tt 120 s) */
                if (a.until != UINT64_MAX && a.until <= now + 250) {
                    now = a.until > now ? a.until : now + 1; /* the reaction time passes */
                    continue;
                }
                break;
            }
        }
        if (ami_iec21_level(&e) > 4)
            abort();
        if (off >= size)
            break;
        size_t chunk = 1 + data[off] % 29;
        off++;
        if (chunk > size - off)
            chunk = size - off;
        if (ami_iec21_input(&e, data + off, chunk, now) < 0)
            abort();
        off += chunk;
        now += (data[off - 1] & 1) ? 5 : 300;
        if ((round & 15) == 15)
            now += 200000; /* past every timeout: the meter must be idle again */
    }
    for (int k = 0; k < 4; k++)
        if (!memchr(v[k], 0, sizeof v[k]))
            abort();
    return 0;
}
