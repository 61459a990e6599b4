/*
 * Drives an IEC 62056-21 engine (client or meter) over a serial port: performs its SEND, BAUD
 * and WAIT actions and returns at each EVENT or at DONE. The only place where the engine meets
 * a clock and a file descriptor.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_IO_IEC21_PORT_H
#define AMI_IO_IEC21_PORT_H

#include "ami/iec21.h"
#include "io/serial.h"

/*
 * Runs `s` over `port` until an EVENT or DONE action, stored in *a. Returns 0, the engine's
 * failure code (ami_iec21_why() names it), or a port error (AMI_E_IO, AMI_E_CLOSED: the
 * transport failed; AMI_E_UNSUPPORTED: a baud rate the port cannot take).
 */
int ami_iec21_port_run(ami_serial *port, ami_iec21 *s, ami_iec21_action *a);

#endif
