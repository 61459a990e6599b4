/*
 * Fuzz the `ami sim` control-command parser and the keys CSV row parser (apps/ami/sim_parse.c,
 * compiled into this target: it has no libuv or I/O dependency). The first byte chooses the
 * parser and, for commands, the fleet size (1..128 meters); the rest is the line, copied to a
 * heap buffer of its exact size so that any over-read is caught by ASan. Checks: a parsed
 * command names meters inside the fleet, lo <= hi, a known verb and kind, probabilities within
 * 0..1e6; a parsed row's password is NUL-terminated within its buffer.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "../../apps/ami/sim_parse.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    uint8_t sel = data[0];
    size_t len = size - 1;
    char *line = malloc(len ? len : 1);
    if (!line)
        return 0;
    memcpy(line, data + 1, len);
    if (sel & 1) {
        uint8_t st[8], ek[16], ak[16], kek[16];
        char pw[64];
        if (sim_keys_parse_row(line, len, st, ek, ak, kek, pw, sizeof pw) == AMI_OK &&
            strnlen(pw, sizeof pw) >= sizeof pw)
            abort();
    } else {
        size_t meters = 1 + (sel >> 1);
        sim_cmd cmd;
        char err[128];
        int rc = sim_cmd_parse(line, len, meters, &cmd, err, sizeof err);
        if (rc == AMI_OK) {
            if (cmd.verb > SIM_CMD_STATUS || cmd.kind > SIM_K_ALL)
                abort();
            if (cmd.verb != SIM_CMD_HELP && (cmd.lo > cmd.hi || cmd.hi >= meters))
                abort();
            if (cmd.p_ppm > 1000000 || cmd.d_ms > 3600000 || cmd.j_ms > 3600000)
                abort();
        } else if (strnlen(err, sizeof err) >= sizeof err || strncmp(err, "error: ", 7)) {
            abort();
        }
    }
    free(line);
    return 0;
}
