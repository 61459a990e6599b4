/*
 * DLMS client I/O driver for the apps (src/io, not part of libami): opens one of the endpoint
 * URLs of io/url.h, runs the lower layer (TCP/UDP wrapper, HDLC over TCP or a serial port, IEC
 * 62056-21 mode E then HDLC) and a sans-I/O client session (ami/dlms_client.h) over it with
 * poll() and the engines' deadlines.
 *
 *   tcp://host:port            wrapper over TCP (stream reassembly)
 *   udp://host:port            wrapper over UDP (one datagram, one APDU)
 *   hdlc+tcp://host:port       HDLC over TCP (a terminal server, a simulator)
 *   hdlc:/dev/ttyUSB0?baud=9600  HDLC over a serial port, 8N1
 *   iec21:/dev/ttyUSB0         IEC 62056-21 mode E sign-on at 300 Bd, then HDLC
 *
 * Every call is blocking with the link's timeout. Errors are AMI_E_* codes; the text of
 * ami_dlms_link_why() names the layer (TCP, UDP, serial, IEC21, HDLC, wrapper, ACSE, xDLMS) and
 * the cause. Remote outcomes come in ami_dlms_result (AMI_OK). Not thread-safe per link.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_IO_DLMS_TRANSPORT_H
#define AMI_IO_DLMS_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ami/dlms_client.h"

/* What a trace callback is given. */
enum ami_dlms_trace_kind {
    AMI_DLMS_TRACE_FRAME = 1, /* one HDLC frame, flags included */
    AMI_DLMS_TRACE_WRAPPER,   /* one wrapper message (header + APDU) */
    AMI_DLMS_TRACE_APDU,      /* one complete APDU (after reassembly) */
    AMI_DLMS_TRACE_IEC21,     /* an IEC 62056-21 message of the mode E sign-on */
};

typedef void (*ami_dlms_trace_fn)(void *user, bool tx, enum ami_dlms_trace_kind kind,
                                  const uint8_t *p, size_t n);

typedef struct ami_dlms_link_opts {
    uint8_t client_sap;             /* client SAP / HDLC client address; 0: 16 (public client) */
    uint16_t server_logical;        /* logical device (server SAP / HDLC upper address); 0: 1 */
    uint16_t server_physical;       /* HDLC lower address; 0: none (1-byte server address) */
    int timeout_ms;                 /* per exchange; 0: 5000 */
    uint16_t hdlc_max_info;         /* proposed HDLC information field; 0: 128 (defaults) */
    ami_dlms_client_config session; /* buffers may be NULL: the link provides them */
    ami_dlms_trace_fn trace;
    void *trace_user;
} ami_dlms_link_opts;

typedef struct ami_dlms_link ami_dlms_link;

/*
 * Opens the URL and brings the lower layer up (TCP connect, serial open, mode E sign-on, HDLC
 * SNRM/UA). Nothing is associated yet. *out is owned by the caller (ami_dlms_link_close).
 * Returns AMI_OK; AMI_E_SYNTAX (bad URL or scheme), AMI_E_NOMEM, the socket/serial errors of
 * io/tcp.h and io/serial.h, AMI_E_TIMEOUT, AMI_E_REFUSED (HDLC DM), AMI_E_CONFIG (bad
 * addresses or session configuration). On failure *out is NULL and `why` (may be NULL,
 * capacity whycap) names the layer and cause.
 */
int ami_dlms_link_open(ami_dlms_link **out, const char *url, const ami_dlms_link_opts *o, char *why,
                       size_t whycap);

/*
 * COSEM services over the link. Each blocks until the service completes or times out.
 * Returns AMI_OK (the outcome in *res, views valid until the next call), AMI_E_TIMEOUT, the
 * lower layer's errors (AMI_E_CLOSED, AMI_E_IO, ...), or the session's (ami_dlms_client_input).
 */
int ami_dlms_link_associate(ami_dlms_link *l, ami_dlms_result *res);
int ami_dlms_link_get(ami_dlms_link *l, const ami_attr_sel *attrs, uint32_t n,
                      ami_dlms_result *res);
int ami_dlms_link_set(ami_dlms_link *l, const ami_attr_sel *attr, ami_view value,
                      ami_dlms_result *res);
int ami_dlms_link_action(ami_dlms_link *l, const ami_cosem_desc *m, const ami_view *params,
                         ami_dlms_result *res);
/* Short-name Read (n names) and Write (one name), in an SN association. */
int ami_dlms_link_read(ami_dlms_link *l, const ami_sn_access *items, uint32_t n,
                       ami_dlms_result *res);
int ami_dlms_link_write(ami_dlms_link *l, const ami_sn_access *item, ami_view value,
                        ami_dlms_result *res);
/* RLRQ/RLRE then the lower layer's release (HDLC DISC). Best effort; returns the first error. */
int ami_dlms_link_release(ami_dlms_link *l);

/* Called between blocks of a long GET: (user, blocks so far, bytes so far). */
void ami_dlms_link_progress(ami_dlms_link *l, void (*fn)(void *user, uint32_t blocks, size_t bytes),
                            void *user);

/* The text of the last failure: "HDLC: no answer to SNRM (timeout)". Never NULL. */
const char *ami_dlms_link_why(const ami_dlms_link *l);

/* The session (for the negotiated conformance and max PDU). */
const ami_dlms_client *ami_dlms_link_session(const ami_dlms_link *l);

/* Closes the transport and frees the link (no release is sent). NULL is a no-op. */
void ami_dlms_link_close(ami_dlms_link *l);

#endif
