/*
 * Internal interface between the client session (client.c) and its general block transfer
 * (client_gbt.c). Not installed.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_DLMS_CLIENT_INTERNAL_H
#define AMI_DLMS_CLIENT_INTERNAL_H

#include "ami/dlms_client.h"

/* Returned when GBT has nothing to do with a request: send it as usual. */
#define AMI__GBT_PASS 1

/* Starts a new request: sends it in GBT blocks when negotiated and wanted (AMI_OK), else
 * AMI__GBT_PASS; AMI_E_NOSPACE / AMI_E_TOO_LARGE. Always forgets the previous transfer. */
int ami__dlms_client_gbt_send(ami_dlms_client *c, const ami_apdu *req, ami_wr *out);

/* A GBT APDU arrived: AMI_E_AGAIN (acknowledged, continued or waiting), AMI_OK with *apdu and
 * *len replaced by the reassembled response, or an AMI_E_* error. */
int ami__dlms_client_gbt_input(ami_dlms_client *c, const uint8_t **apdu, size_t *len, ami_wr *out);

/* Outstanding operations of the short-name services (beyond client.c's own). */
#define AMI__OP_READ  20
#define AMI__OP_WRITE 21

/* client.c primitives for client_sn.c. */
int ami__dlms_client_emit(ami_dlms_client *c, ami_wr *out, const ami_apdu *a);
void ami__dlms_client_begin(ami_dlms_client *c, uint8_t op, uint8_t iip);
int ami__dlms_client_keep(ami_dlms_client *c, ami_view v);

/* A response to Read/Write (client_sn.c): AMI_OK, AMI_E_AGAIN with the request for the next
 * data block in out, or an AMI_E_* error. */
int ami__dlms_client_sn_response(ami_dlms_client *c, const ami_apdu *a, ami_wr *out,
                                 ami_dlms_result *res);

#endif
