/*
 * Hooks of the client session (client.c) into its security context (client_sec.c). Internal.
 * Every hook is a no-op returning AMI_OK when the session has no security context.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_DLMS_CLIENT_SEC_INTERNAL_H
#define AMI_DLMS_CLIENT_SEC_INTERNAL_H

#include "ami/dlms_client.h"

/* ami_dlms_client_init: what the configured mechanism needs is there (AMI_E_CONFIG / _KEY). */
int ami__csec_check(const ami_dlms_client_config *k);

/* Associate: random CtoS when needed, calling-AP-title, context with ciphering (applied to *q);
 * encodes *ini (adding the dedicated key) into ui, ciphered as glo-initiateRequest when the
 * policy ciphers. *ui_len receives the length. */
int ami__csec_aarq(ami_dlms_client *c, ami_aarq *q, ami_apdu *ini, uint8_t *ui, size_t cap,
                   size_t *ui_len);

/* AARE: learns and checks the server system title, deciphers the user-information. *ui
 * receives the plaintext (a view into the scratch buffer, or the AARE's own). */
int ami__csec_aare(ami_dlms_client *c, const ami_aare *e, ami_view *ui);

/* After an accepted association: the dedicated key, when proposed, is in use from now on. */
void ami__csec_associated(ami_dlms_client *c);

/* RLRQ: adds the ciphered InitiateRequest as user-information (ui: its buffer). */
int ami__csec_rlrq(ami_dlms_client *c, ami_release *r, uint8_t *ui, size_t cap);
/* RLRE: checks a ciphered user-information when present. */
int ami__csec_rlre(ami_dlms_client *c, const ami_release *r);

/* Ciphers the xDLMS request out->p[mark .. out->len) in place per the policy. */
int ami__csec_protect(ami_dlms_client *c, ami_wr *out, size_t mark);
/* Bytes protection may add to a request (for the block size computation). */
size_t ami__csec_overhead(const ami_dlms_client *c);

/* Deciphers a response when ciphered (*apdu, *len then point to the plaintext), refuses a
 * downgrade. */
int ami__csec_unprotect(ami_dlms_client *c, const uint8_t **apdu, size_t *len);

/* Built-in HLS pass 3 (f(StoC)) and pass 4 (check of f(CtoS)). */
int ami__csec_pass3(ami_dlms_client *c, ami_view stoc, uint8_t *out, size_t cap, size_t *len);
int ami__csec_pass4(ami_dlms_client *c, ami_view f_ctos);

#endif
