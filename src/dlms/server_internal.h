/*
 * Internal interface between the association engine (server.c) and its security layer
 * (server_sec.c, server_hls.c). Not installed.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_DLMS_SERVER_INTERNAL_H
#define AMI_DLMS_SERVER_INTERNAL_H

#include "ami/dlms_server.h"

/* The plain engine: handles one unciphered APDU (what ami_dlms_assoc_handle did before
 * security). Counts the request. */
int ami__dlms_handle_plain(ami_dlms_assoc *a, const uint8_t *req, size_t len, uint8_t *out,
                           size_t cap);

/* Checks a policy's security configuration: AMI_OK or AMI_E_CONFIG. */
int ami__sec_check_policy(const ami_dlms_server_config *cfg, const ami_dlms_policy *p);

/* Wipes the security state of an association (dedicated key, challenges, pending keys). */
void ami__sec_reset(ami_dlms_assoc *a);

/* Handles one APDU on a SAP with a security policy (len >= 1). */
int ami__sec_handle(ami_dlms_assoc *a, const uint8_t *req, size_t len, uint8_t *out, size_t cap);

/*
 * Attributes the engine serves itself: Security Setup (class 64, 0-0:43.0.0.255) of a secured
 * association and the invocation counter objects 0-0:43.1.x.255. Returns -1 when the attribute
 * is not one of them (the store is asked), else the data-access-result (the value in out on
 * success).
 */
int ami__sec_get(ami_dlms_assoc *a, const ami_attr_sel *sel, ami_wr *out);

/* Methods the engine serves itself (Security Setup security_activate, key_transfer): -1 when
 * not one of them, else the action-result (return data, if any, in out). */
int ami__sec_action(ami_dlms_assoc *a, const ami_cosem_desc *ref, ami_view params, ami_wr *out);

/* HLS pass 3/4 (server_hls.c): the plaintext of a request received in the PENDING state.
 * Writes the ACTION response (or an exception-response) into w. */
int ami__hls_reply(ami_dlms_assoc *a, const ami_dlms_keys *keys, const uint8_t *req, size_t len,
                   ami_wr *w);

/* Fills p with what the client needs as responder / the server as responder (server_hls.c). */
void ami__sec_event(ami_dlms_assoc *a, int event);

#endif
