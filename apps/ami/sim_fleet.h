/*
 * A fleet of virtual meters for `ami sim` on one libuv event loop.
 *
 * The fleet owns the meters (sim_meter.h), their DLMS listeners (TCP wrapper, UDP wrapper, HDLC
 * over TCP; sim_server.c) and the loop. Other files attach per-meter ports (P1, IEC 62056-21
 * optical; sim_ports.c) through sim_fleet_add_port(): the fleet calls the port's open hook once
 * per meter after its own listeners are up and before it prints the "listening" line, and the
 * close hook once when it stops. Everything runs on the loop's thread; nothing here is
 * thread-safe.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_APP_SIM_FLEET_H
#define AMI_APP_SIM_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>

#include "sim_meter.h"

typedef struct sim_fleet sim_fleet;

/* Hooks of one kind of per-meter port. */
typedef struct sim_fleet_port {
    const char *name; /* for the log and errors, e.g. "p1" */
    /*
     * Opens the port of meter `index` (0 .. sim_fleet_count()-1) on sim_fleet_loop(f). Returns
     * AMI_OK, or an AMI_E_* code that stops the fleet from starting (the error names the port
     * and the meter). Called in index order, after the meter's DLMS listeners are up.
     */
    int (*open)(sim_fleet *f, size_t index, void *ctx);
    /*
     * Closes every handle the port opened (uv_close) so that the loop can end; called once when
     * the fleet stops, also after a failed open (for the meters opened so far). May be NULL.
     */
    void (*close)(sim_fleet *f, void *ctx);
    /* Appends to the "listening" line, e.g. ", p1 /dev/pts/3.." (may be NULL). */
    void (*describe)(sim_fleet *f, FILE *log, void *ctx);
    void *ctx;
} sim_fleet_port;

/* Up to this many kinds of port may be attached. */
#define SIM_FLEET_MAX_PORTS 4

/* The event loop the fleet runs on (valid from sim_fleet_create to sim_fleet_destroy). */
uv_loop_t *sim_fleet_loop(sim_fleet *f);

/* Number of meters. */
size_t sim_fleet_count(const sim_fleet *f);

/* Meter `index` (NULL when out of range). The meter stays at the same address. */
sim_meter *sim_fleet_meter(sim_fleet *f, size_t index);

/* The numeric IPv4 address meter `index` listens on (dotted quad) into buf; returns buf. */
const char *sim_fleet_address(const sim_fleet *f, size_t index, char *buf, size_t cap);

/*
 * True when meter `index` currently answers (no "stop answering", "refuse" or reboot fault is
 * active): a port should then neither accept nor answer. Ports may poll it per event.
 */
bool sim_fleet_answering(const sim_fleet *f, size_t index);

/* The fleet's log (stderr of `ami sim`) and verbosity (0: only errors and the listening line). */
FILE *sim_fleet_log(const sim_fleet *f);
int sim_fleet_verbose(const sim_fleet *f);

/*
 * Attaches a kind of per-meter port (p is copied). Call before sim_fleet_run. Returns AMI_OK or
 * AMI_E_TOO_LARGE when SIM_FLEET_MAX_PORTS are attached already.
 */
int sim_fleet_add_port(sim_fleet *f, const sim_fleet_port *p);

#endif
