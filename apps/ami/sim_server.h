/*
 * The socket side of `ami sim`: a poll() loop serving one virtual meter over the DLMS/COSEM
 * TCP wrapper (IEC 62056-47) and over HDLC on TCP (IEC 62056-46), both at once.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_APP_SIM_SERVER_H
#define AMI_APP_SIM_SERVER_H

#include <signal.h>
#include <stdio.h>

#include "sim_meter.h"

typedef struct sim_server_opts {
    const char *host;         /* address to listen on (numeric or name) */
    const char *wrapper_port; /* "0": any free port; NULL: no wrapper listener */
    const char *hdlc_port;    /* "0": any free port; NULL: no HDLC listener */
    int verbose;              /* log connections and counters on stderr */
} sim_server_opts;

/*
 * Listens, prints one "listening" line on `log` once every listener is ready, and serves until
 * *stop becomes non-zero (set it from a signal handler). Returns AMI_OK after a clean stop, or
 * an AMI_E_* code when a listener cannot be opened (*what names it).
 */
int sim_server_run(sim_meter *m, const sim_server_opts *o, volatile sig_atomic_t *stop, FILE *log,
                   const char **what);

#endif
