/*
 * Local ports of the virtual meters of `ami sim` (docs/sim.md, section "Ports"):
 *
 *   P1         a DSMR 5.0.2 telegram every second from the meter's metrology, on a new
 *              pseudo-terminal or a TCP listener on the meter's address, optionally encrypted
 *              as Luxembourg Smarty frames (AES-128-GCM);
 *   optical    IEC 62056-21 on a new pseudo-terminal: sign-on, identification, mode C data
 *              readout of the metrology, programming mode with the meter's password, and the
 *              mode E hand-over into the meter's DLMS server over HDLC;
 *   HDLC pty   DLMS/COSEM over HDLC (IEC 62056-46) directly on a new pseudo-terminal.
 *
 * Attached to the fleet through sim_fleet_add_port (sim_fleet.h): every port runs on the fleet's
 * libuv loop. Each pty path is printed on the fleet's log ("meter 0: p1 port: /dev/pts/3").
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_APP_SIM_PORTS_H
#define AMI_APP_SIM_PORTS_H

#include <stdbool.h>
#include <stdint.h>

#include "sim_fleet.h"

enum sim_p1_kind { SIM_P1_NONE = 0, SIM_P1_PTY, SIM_P1_TCP };

typedef struct sim_ports_opts {
    enum sim_p1_kind p1;
    uint16_t p1_port;      /* SIM_P1_TCP: the port on each meter's address (0: any free port) */
    bool p1_encrypt;       /* Smarty frames with p1_key (and the default authentication key) */
    uint8_t p1_key[16];    /* wiped by sim_ports_attach once copied */
    uint32_t p1_period_ms; /* 0: 1000 */
    bool optical;          /* IEC 62056-21 on a pty */
    bool hdlc_pty;         /* HDLC on a pty */
} sim_ports_opts;

/*
 * Parses the argument of --p1: "pty" or "tcp:PORT". Returns true and fills o->p1 / o->p1_port,
 * or false for anything else.
 */
bool sim_ports_parse_p1(const char *arg, sim_ports_opts *o);

/*
 * Attaches the ports of *o (copied) to every meter of the fleet. Nothing is opened before the
 * fleet runs. Returns AMI_OK (also when *o asks for no port), AMI_E_NOMEM, AMI_E_KEY (the
 * P1 key was refused) or the error of sim_fleet_add_port.
 */
int sim_ports_attach(sim_fleet *f, sim_ports_opts *o);

#endif
