/*
 * DLMS/COSEM TCP-UDP transport layer: the wrapper (IEC 62056-47 / Green Book 8.3.2), sans-I/O.
 *
 * Every APDU is preceded by an 8-byte header, all fields big-endian:
 *
 *   version (2, = 0x0001) | source wPort (2) | destination wPort (2) | length (2, APDU bytes)
 *
 * wPorts identify the client and server application processes (the client SAP and the logical
 * device address). Over UDP one datagram carries one wrapper message; over TCP the messages are
 * a byte stream that the reassembler cuts by the length field into a bounded, caller-owned
 * buffer. TCP gives no way to resynchronise inside a stream, so a bad header is fatal to the
 * stream (the caller closes the connection).
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_WRAPPER_H
#define AMI_WRAPPER_H

#include "ami/bytes.h"
#include "ami/json.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AMI_WRAPPER_HEADER_LEN 8u
#define AMI_WRAPPER_VERSION    0x0001u
/* The length field has 16 bits. */
#define AMI_WRAPPER_MAX_APDU 0xFFFFu

typedef struct ami_wrapper_header {
    uint16_t version;
    uint16_t src_wport;
    uint16_t dst_wport;
    uint16_t length; /* APDU bytes following the header */
} ami_wrapper_header;

/* One message: header and a view of its APDU (zero copy; see each function for the lifetime). */
typedef struct ami_wrapper_msg {
    ami_wrapper_header hdr;
    const uint8_t *apdu;
    size_t apdu_len;
} ami_wrapper_msg;

/*
 * Decodes the 8-byte header at p. Returns AMI_OK; AMI_E_TRUNCATED when n < 8; AMI_E_MALFORMED
 * when the version is not 0x0001 (IEC 62056-47 defines no other). Thread-safe.
 */
AMI_EXTERN int ami_wrapper_header_decode(const uint8_t *p, size_t n, ami_wrapper_header *h);

/*
 * Appends one message (header + APDU) to w. Returns AMI_OK; AMI_E_TOO_LARGE when len exceeds
 * 65535; AMI_E_NOSPACE when w is full (also the writer's sticky error).
 */
AMI_EXTERN int ami_wrapper_encode(ami_wr *w, uint16_t src_wport, uint16_t dst_wport,
                                  const uint8_t *apdu, size_t len);

/*
 * Decodes one UDP datagram holding exactly one message. m->apdu points into p.
 * Returns AMI_OK; AMI_E_TRUNCATED when the datagram is shorter than its header says;
 * AMI_E_MALFORMED for a bad version or bytes after the declared APDU. Thread-safe.
 */
AMI_EXTERN int ami_wrapper_datagram_decode(const uint8_t *p, size_t n, ami_wrapper_msg *m);

/* TCP stream reassembler. Caller-allocated; allocates nothing; one per connection. */
typedef struct ami_wrapper_stream {
    uint8_t *buf; /* caller-owned, capacity cap: bounds the largest message (header + APDU) */
    size_t cap;
    size_t have; /* bytes buffered */
    size_t drop; /* bytes of the message returned last, dropped on the next call */
    int err;     /* sticky: once the stream is broken every call returns this */
    uint64_t messages;
} ami_wrapper_stream;

/*
 * Initialises a reassembler over buf (capacity cap >= 8; a message larger than cap is rejected
 * with AMI_E_TOO_LARGE). buf stays owned by the caller and must outlive the reassembler.
 * Returns AMI_OK or AMI_E_INVAL.
 */
AMI_EXTERN int ami_wrapper_stream_init(ami_wrapper_stream *s, uint8_t *buf, size_t cap);

/*
 * Feeds stream bytes and extracts at most one message. *consumed receives how many input bytes
 * were used (pass the rest again). Returns:
 *   AMI_OK           a message is in *m; m->apdu points into the input (when the message was
 *                    whole in it and nothing was buffered: zero copy) or into the buffer; valid
 *                    until the next call and, for input views, as long as the input;
 *   AMI_E_AGAIN      need more bytes; all input consumed;
 *   AMI_E_MALFORMED  bad version: the stream is broken (sticky; close the connection);
 *   AMI_E_TOO_LARGE  the declared length does not fit the buffer: broken (sticky).
 * Not thread-safe per reassembler.
 */
AMI_EXTERN int ami_wrapper_stream_next(ami_wrapper_stream *s, const uint8_t *in, size_t n,
                                       size_t *consumed, ami_wrapper_msg *m);

/*
 * Describes a message as JSON: {"version":1,"src_wport":16,"dst_wport":1,"length":31,
 * "apdu":"601D..."} (upper-case hex). Errors go to the writer. Thread-safe on
 * distinct writers.
 */
AMI_EXTERN void ami_wrapper_describe_json(const ami_wrapper_msg *m, ami_jw *w);

/*
 * Describes a message as one line of text ("WRAPPER v1 src=16 dst=1 len=31 apdu=601D...", cut
 * with "..." when buf is short). Returns the length written or AMI_E_NOSPACE when cap < 64.
 */
AMI_EXTERN int ami_wrapper_describe(const ami_wrapper_msg *m, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
