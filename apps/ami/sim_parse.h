/*
 * Parsers of `ami sim` input that does not come from the DLMS side: control-channel commands
 * (docs/sim.md) and rows of the keys CSV. Pure functions (no libuv, no I/O) so that a fuzz
 * target (tests/fuzz/fuzz_sim_parse.c) can drive them.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_APP_SIM_PARSE_H
#define AMI_APP_SIM_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_CTL_LINE 256 /* longest command line, with its terminator */

enum sim_verb { SIM_CMD_HELP, SIM_CMD_FAULT, SIM_CMD_CLEAR, SIM_CMD_STATUS };

/* Fault kinds; SIM_K_ALL in a clear command means every kind. */
enum sim_kind {
    SIM_K_REFUSE,
    SIM_K_DROP,
    SIM_K_DELAY,
    SIM_K_CORRUPT,
    SIM_K_STOP,
    SIM_K_REBOOT,
    SIM_K_DRIFT,
    SIM_K_TAMPER,
    SIM_K_ALL
};

typedef struct sim_cmd {
    uint8_t verb;        /* enum sim_verb */
    uint8_t kind;        /* enum sim_kind (fault, clear) */
    size_t lo, hi;       /* meters lo..hi (fault, clear, status: lo == hi) */
    uint32_t p_ppm;      /* drop, corrupt: probability in parts per million (default 1e6) */
    uint32_t d_ms, j_ms; /* delay and jitter; reboot down time */
    int32_t ppm;         /* drift */
} sim_cmd;

/*
 * Parses one command for a fleet of `meters` (>= 1) meters. Returns AMI_OK, or AMI_E_SYNTAX,
 * AMI_E_RANGE or AMI_E_TOO_LARGE with "error: <cause>" in err[0..cap). The line need not be
 * NUL-terminated within len; it must not contain NUL bytes (AMI_E_SYNTAX).
 */
int sim_cmd_parse(const char *line, size_t len, size_t meters, sim_cmd *cmd, char *err, size_t cap);

/*
 * Parses one keys CSV row "address,port,system_title,ek,ak,kek,password" (no line end):
 * 16, 32, 32, 32 hex digits and a password shorter than pw_cap (may be empty). Returns AMI_OK
 * or AMI_E_SYNTAX. Outputs are written only on success.
 */
int sim_keys_parse_row(const char *l, size_t len, uint8_t system_title[8], uint8_t ek[16],
                       uint8_t ak[16], uint8_t kek[16], char *pw, size_t pw_cap);

#endif
