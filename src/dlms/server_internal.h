/*
 * Internal interface between the association engine (server.c) and its security layer
 * (server_sec.c, server_hls.c) and extensions: general block transfer (server_gbt.c),
 * short-name services (server_sn.c), attribute 0 (server_ext.c). Not installed.
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

/*
 * Association LN object_list (server_seclist.c): appends to the store's array in buf[0..*len)
 * the objects the engine serves itself that this association can reach (Security Setup on a
 * secured SAP, the invocation counter of every secured client SAP), unless the store lists them.
 * Updates *len; returns AMI_DAR_SUCCESS, or AMI_DAR_OTHER_REASON when the list does not fit cap
 * or buf is not an array.
 */
uint8_t ami__sec_object_list(const ami_dlms_assoc *a, uint8_t *buf, size_t cap, size_t *len);

/* Methods the engine serves itself (Security Setup security_activate, key_transfer): -1 when
 * not one of them, else the action-result (return data, if any, in out). */
int ami__sec_action(ami_dlms_assoc *a, const ami_cosem_desc *ref, ami_view params, ami_wr *out);

/* Security Setup version 1 certificates (server_cert.c): attribute 6 (the value in out; an
 * action-result), methods 4..8 (action-result; return data in out). */
int ami__cert_get(ami_dlms_assoc *a, ami_wr *out);
int ami__cert_action(ami_dlms_assoc *a, uint8_t method, ami_view params, ami_wr *out);

/* HLS pass 3/4 (server_hls.c): the plaintext of a request received in the PENDING state.
 * Writes the ACTION response (or an exception-response) into w. */
int ami__hls_reply(ami_dlms_assoc *a, const ami_dlms_keys *keys, const uint8_t *req, size_t len,
                   ami_wr *w);

/* Fills p with what the client needs as responder / the server as responder (server_hls.c). */
void ami__sec_event(ami_dlms_assoc *a, int event);

/* Block transfer kinds (ami_dlms_assoc.blk_kind): service-specific block transfer of LN
 * GET/SET/ACTION (server.c) and of the SN Read response (server_sn.c). */
enum { BLK_NONE = 0, BLK_GET_OUT, BLK_SET_IN, BLK_ACTION_IN, BLK_ACTION_OUT, BLK_READ_OUT };

/* Forgets any service-specific block transfer in progress (server.c). */
void ami__dlms_drop_blocks(ami_dlms_assoc *a);

/* Returned by ami__dlms_gbt_handle when the APDU is not general block transfer's business. */
#define AMI__GBT_PASS 1

/*
 * Serves one complete APDU (server.c): the security layer when the SAP has one, then the plain
 * engine. With clamp, the response is limited to the client's max PDU (service-specific block
 * transfer applies); without, to cap (the response then goes out in GBT blocks; the security
 * layer always limits its responses to the client's PDU).
 */
int ami__dlms_assoc_serve(ami_dlms_assoc *a, const uint8_t *req, size_t len, uint8_t *out,
                          size_t cap, bool clamp);

/* GBT (server_gbt.c): handles a GBT APDU, or any xDLMS request when GBT is negotiated and the
 * response may need blocks. AMI__GBT_PASS when the engine should serve it as usual. */
int ami__dlms_gbt_handle(ami_dlms_assoc *a, const uint8_t *req, size_t len, uint8_t *out,
                         size_t cap);

/* Forgets any GBT transfer (the buffers stay). */
void ami__dlms_gbt_reset(ami_dlms_assoc *a);

/* SN services (server_sn.c): ReadRequest, WriteRequest, UnconfirmedWriteRequest. Writes the
 * response into w; returns its length, 0 (unconfirmed) or AMI_E_NOSPACE. */
int ami__dlms_sn_handle(ami_dlms_assoc *a, const uint8_t *req, size_t len, ami_wr *w);

/* Engine primitives (server.c) for the extensions. */
uint8_t ami__dlms_read_attr(ami_dlms_assoc *a, const ami_attr_sel *sel, uint8_t *buf, size_t cap,
                            size_t *n);
uint8_t ami__dlms_write_attr(ami_dlms_assoc *a, const ami_cosem_desc *ref, ami_view data);
uint8_t ami__dlms_invoke(ami_dlms_assoc *a, const ami_cosem_desc *ref, ami_view params,
                         uint8_t *buf, size_t cap, size_t *n);
int ami__dlms_exception(ami_dlms_assoc *a, ami_wr *w, uint8_t state_error, uint8_t service_error);
int ami__dlms_finish(ami_dlms_assoc *a, ami_wr *w);

/* Attribute 0 (server_ext.c): every attribute of the object as a structure, unreadable ones
 * as null-data (Blue Book 4.1.4.2 / Green Book 9.4.6.8 attribute 0). Returns the DAR. */
uint8_t ami__dlms_read_attr0(ami_dlms_assoc *a, const ami_attr_sel *sel, uint8_t *buf, size_t cap,
                             size_t *n);

/* Finds an object of the store's list by class and logical name. */
bool ami__dlms_find_object(const ami_dlms_assoc *a, const ami_cosem_desc *ref,
                           ami_dlms_object *obj);

#endif
