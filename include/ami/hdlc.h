/*
 * HDLC data link layer for DLMS/COSEM (IEC 62056-46, "HDLC-based data link layer"; Green Book
 * clause 8.4), sans-I/O.
 *
 * Three parts:
 *  - the frame codec: ami_hdlc_frame_decode() / ami_hdlc_frame_encode() for one frame of
 *    format type 3 (flag, 11-bit length with segmentation bit, addresses, control, HCS,
 *    information, FCS, flag), plus describe functions for protocol analysers;
 *  - the streaming deframer: ami_hdlc_deframer_next() cuts frames out of a byte stream (serial,
 *    TCP terminal server, optical probe after the IEC 62056-21 mode E hand-over). It is driven by
 *    the length field, so a 0x7E inside the FCS or the information field does not split a frame,
 *    and it resynchronises on garbage in a loop (never by recursion);
 *  - the connection engine (ami_hdlc_conn_*): SNRM/UA/DISC/DM/FRMR, parameter negotiation,
 *    I-frame sequencing with windows up to 7, RR/RNR, segmentation and reassembly of APDUs, the
 *    LLC header, UI frames, retransmission and inactivity timeouts driven by a caller-supplied
 *    clock. It never touches sockets or clocks: bytes and "now" in; events, bytes to send and the
 *    next deadline out.
 *
 * Frame layout (IEC 62056-46 clause 6.4, ISO/IEC 13239 frame format type 3):
 *
 *   7E | A0+S+len(11 bit) | dest addr | src addr | control | [HCS | information] | FCS | 7E
 *
 * The length counts every byte between the flags. The HCS (header check sequence) is present
 * only when the frame carries an information field; HCS and FCS are CRC-16/X.25, low byte first.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_HDLC_H
#define AMI_HDLC_H

#include <stdbool.h>

#include "ami/bytes.h"
#include "ami/json.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- limits and constants */

#define AMI_HDLC_FLAG 0x7E
/* The length field has 11 bits (IEC 62056-46 6.4.1): at most 2047 bytes between the flags. */
#define AMI_HDLC_MAX_FRAME_LEN 2047u
/* A whole frame with both flags. */
#define AMI_HDLC_MAX_FRAME_BYTES (AMI_HDLC_MAX_FRAME_LEN + 2u)
/*
 * Largest information field that fits one frame: 2047 - format(2) - dest(4) - src(4) - control(1)
 * - HCS(2) - FCS(2). Negotiated information field lengths are capped to this.
 */
#define AMI_HDLC_MAX_INFO 2032u
/* Default negotiation values when SNRM/UA carry no parameter (IEC 62056-46 6.4.4.4.3.2). */
#define AMI_HDLC_DEFAULT_INFO   128u
#define AMI_HDLC_DEFAULT_WINDOW 1u
/* Modulo-8 sequence numbers: at most 7 outstanding I-frames. */
#define AMI_HDLC_MAX_WINDOW 7u

/* LLC headers (IEC 62056-46 / Green Book 8.4.2.1): destination LSAP, source LSAP, quality. */
#define AMI_HDLC_LLC_LEN 3u
extern AMI_EXTERN const uint8_t ami_hdlc_llc_request[AMI_HDLC_LLC_LEN];  /* E6 E6 00 */
extern AMI_EXTERN const uint8_t ami_hdlc_llc_response[AMI_HDLC_LLC_LEN]; /* E6 E7 00 */

/* ---------------------------------------------------------------- addresses */

/*
 * An HDLC address (IEC 62056-46 6.4.2.2). Each byte carries 7 address bits; the least
 * significant bit is 1 only on the last byte. A client address is one byte. A server address is
 * one byte (upper only), two bytes (upper and lower, 7 bits each) or four bytes (upper and lower,
 * 14 bits each). The upper address is the logical device, the lower the physical device.
 */
typedef struct ami_hdlc_addr {
    uint16_t upper; /* logical device (or the client address when size is 1) */
    uint16_t lower; /* physical device; 0 when size is 1 */
    uint8_t size;   /* 1, 2 or 4 bytes on the wire */
} ami_hdlc_addr;

/* Special address values (IEC 62056-46 6.4.2.2, Table 1). */
#define AMI_HDLC_ADDR_ALL_STATION   0x7Fu /* 1-byte; 0x3FFF in 14-bit fields */
#define AMI_HDLC_ADDR_CLIENT_PUBLIC 0x10u /* public client (16) */
#define AMI_HDLC_ADDR_MANAGEMENT    0x01u /* management logical device */
#define AMI_HDLC_ADDR_NO_STATION    0x00u

/*
 * Makes a server address from a logical device, a physical device and a wire size.
 * Returns AMI_OK; AMI_E_INVAL when size is not 1, 2 or 4; AMI_E_RANGE when logical or physical do
 * not fit 7 bits (size 1 or 2) or 14 bits (size 4), or when size is 1 and physical is not 0.
 * Thread-safe.
 */
AMI_EXTERN int ami_hdlc_server_addr(ami_hdlc_addr *a, uint16_t logical, uint16_t physical,
                                    uint8_t size);

/* Makes a 1-byte client address. Returns AMI_OK or AMI_E_RANGE (above 0x7F). Thread-safe. */
AMI_EXTERN int ami_hdlc_client_addr(ami_hdlc_addr *a, uint8_t client);

/*
 * Appends the wire encoding of an address (1, 2 or 4 bytes). Errors go to the writer's sticky
 * error (AMI_E_NOSPACE); returns AMI_E_INVAL or AMI_E_RANGE for an address that cannot be
 * encoded, AMI_OK otherwise (check ami_wr_error() for space).
 */
AMI_EXTERN int ami_hdlc_addr_encode(ami_wr *w, const ami_hdlc_addr *a);

/*
 * Reads one address field: bytes up to and including the first one with LSB 1.
 * Returns AMI_OK; AMI_E_TRUNCATED when the input ends first; AMI_E_MALFORMED for a 3-byte or
 * longer-than-4-byte address.
 */
AMI_EXTERN int ami_hdlc_addr_decode(ami_rd *r, ami_hdlc_addr *a);

/* True when both addresses have the same size and values. */
AMI_EXTERN bool ami_hdlc_addr_equal(const ami_hdlc_addr *a, const ami_hdlc_addr *b);

/* ---------------------------------------------------------------- frames */

/* Frame kinds by control field (IEC 62056-46 6.4.3, ISO/IEC 13239 normal response mode). */
typedef enum ami_hdlc_type {
    AMI_HDLC_I = 0,   /* information:    NR NR NR PF NS NS NS 0 */
    AMI_HDLC_RR,      /* receive ready:  NR NR NR PF 0 0 0 1 */
    AMI_HDLC_RNR,     /* receive not ready: NR NR NR PF 0 1 0 1 */
    AMI_HDLC_SNRM,    /* 100P 0011 = 0x83 */
    AMI_HDLC_DISC,    /* 010P 0011 = 0x43 */
    AMI_HDLC_UA,      /* 011F 0011 = 0x63 */
    AMI_HDLC_DM,      /* 000F 1111 = 0x0F */
    AMI_HDLC_FRMR,    /* 100F 0111 = 0x87 */
    AMI_HDLC_UI,      /* 000P 0011 = 0x03 */
    AMI_HDLC_UNKNOWN, /* any other control value (kept raw; the engine answers FRMR) */
} ami_hdlc_type;

/* Returns "I", "RR", ... "UNKNOWN". Never NULL. Thread-safe. */
AMI_EXTERN const char *ami_hdlc_type_name(ami_hdlc_type t);

/*
 * One decoded frame. Pointers are views into the buffer given to the decoder (zero copy); they
 * stay valid as long as that buffer does.
 */
typedef struct ami_hdlc_frame {
    ami_hdlc_addr dest;
    ami_hdlc_addr src;
    ami_hdlc_type type;
    uint8_t control; /* raw control byte */
    uint8_t ns;      /* N(S), I-frames */
    uint8_t nr;      /* N(R), I, RR, RNR */
    bool pf;         /* poll/final bit */
    bool segmented;  /* segmentation bit S of the frame format field */
    uint16_t length; /* the 11-bit frame length (bytes between the flags) */
    bool has_hcs;    /* an HCS was present (the frame has an information field) */
    const uint8_t *info;
    size_t info_len;
} ami_hdlc_frame;

/* Bits of ami_hdlc_frame_decode()'s flags: named leniencies, strict when 0. */
enum {
    /*
     * Accept a frame whose closing flag is missing when it is otherwise valid (the next frame
     * starts right after the FCS). Seen with some optical-probe firmwares that share one flag
     * between frames and drop it at the end of a burst.
     */
    AMI_HDLC_LENIENT_NO_CLOSING_FLAG = 1u << 0,
};

/*
 * Decodes one frame that starts at buf[0] with the opening flag 0x7E.
 *
 * Returns the number of bytes consumed (the frame's length + 2 with the closing flag; +1 without
 * it under AMI_HDLC_LENIENT_NO_CLOSING_FLAG) and fills *f with views into buf. Errors (*f
 * unspecified):
 *   AMI_E_TRUNCATED  fewer bytes than the length field declares (or than a minimal frame);
 *   AMI_E_MALFORMED  no opening flag, frame format type not 3 (0xA), length below the minimum,
 *                    bad address field, missing closing flag, info shorter than an HCS;
 *   AMI_E_CHECKSUM   HCS or FCS mismatch.
 * Never reads beyond buf[len-1]. Thread-safe.
 */
AMI_EXTERN int ami_hdlc_frame_decode(const uint8_t *buf, size_t len, unsigned flags,
                                     ami_hdlc_frame *f);

/*
 * Encodes a frame from dest, src, control, segmented and info/info_len of *f (type, ns, nr and
 * pf are ignored: build control with ami_hdlc_control()). Writes both flags, HCS (when info_len >
 * 0) and FCS.
 * Returns AMI_OK; AMI_E_TOO_LARGE when the frame would exceed AMI_HDLC_MAX_FRAME_LEN;
 * AMI_E_INVAL / AMI_E_RANGE for a bad address; AMI_E_NOSPACE when the writer is full (also left
 * in the writer's sticky error). Thread-safe on distinct writers.
 */
AMI_EXTERN int ami_hdlc_frame_encode(ami_wr *w, const ami_hdlc_frame *f);

/*
 * Builds a control byte: for I-frames from ns, nr and pf; for RR/RNR from nr and pf; for
 * unnumbered frames from pf only. Returns the control byte, or -1 for AMI_HDLC_UNKNOWN.
 */
AMI_EXTERN int ami_hdlc_control(ami_hdlc_type type, uint8_t ns, uint8_t nr, bool pf);

/*
 * Describes a decoded frame in JSON as one object:
 *   {"type":"I","control":"0x10","pf":true,"ns":0,"nr":0,"segmented":false,"length":43,
 *    "dest":{"upper":1,"lower":0,"size":1},"src":{...},"hcs":"ok","fcs":"ok","info":"E6E6..."}
 * ("ns" only for I-frames, "nr" for I/RR/RNR, "hcs" only when present; checks are always "ok" for
 * a frame that ami_hdlc_frame_decode() accepted). UA and SNRM frames whose information field
 * parses as negotiation parameters get a "params" object {max_info_tx, max_info_rx, window_tx,
 * window_rx}; FRMR frames with 3 information bytes get "frmr": {"rejected_control":"0x..",
 * "vs", "vr", "w_undefined_control", "x_info_not_permitted", "y_info_too_long",
 * "z_invalid_nr"}. Errors go to the writer's sticky error. Thread-safe on distinct writers.
 */
AMI_EXTERN void ami_hdlc_frame_describe_json(const ami_hdlc_frame *f, ami_jw *w);

/*
 * Describes a decoded frame as one line of text into buf (capacity cap, NUL-terminated), e.g.
 *   "I ns=0 nr=0 PF dest=1 src=16 len=43 hcs=ok fcs=ok info[36]=E6E600601D..."
 * (addresses of 2 or 4 bytes print as "upper/lower(Nb)", a segmented frame adds "SEG").
 * The information field is printed in full when it fits, else cut with "..." at the end.
 * Returns the length written (without the NUL) or AMI_E_NOSPACE when cap < 64. Thread-safe.
 */
AMI_EXTERN int ami_hdlc_frame_describe(const ami_hdlc_frame *f, char *buf, size_t cap);

/* ---------------------------------------------------------------- negotiation parameters */

/*
 * HDLC parameters of SNRM and UA (IEC 62056-46 6.4.4.4.3.2): format identifier 0x81, group
 * identifier 0x80, group length, then parameters 0x05 max info transmit, 0x06 max info receive,
 * 0x07 window transmit, 0x08 window receive, each as id, length, big-endian value. Values are
 * from the sender's point of view.
 */
typedef struct ami_hdlc_params {
    uint16_t max_info_tx;
    uint16_t max_info_rx;
    uint8_t window_tx;
    uint8_t window_rx;
} ami_hdlc_params;

/* Sets the defaults: 128 bytes, window 1. */
AMI_EXTERN void ami_hdlc_params_default(ami_hdlc_params *p);

/*
 * Parses SNRM/UA parameters. An empty info field yields the defaults; absent parameters keep
 * their defaults; unknown parameter ids in the group are skipped.
 * Returns AMI_OK; AMI_E_MALFORMED for a wrong format or group id, a group length beyond the
 * field or short of it, or a value of 0 or more than 4 bytes; AMI_E_TRUNCATED for a parameter
 * cut by the group end; AMI_E_RANGE for a value of 0. Information lengths above
 * AMI_HDLC_MAX_INFO are clamped to it and windows above 7 to 7 (what fits modulo 8).
 */
AMI_EXTERN int ami_hdlc_params_decode(const uint8_t *info, size_t len, ami_hdlc_params *p);

/*
 * Appends the parameter field: information lengths in 1 byte when below 256 else 2, windows in
 * 4 bytes (the layout of most meters and of the Green Book example). Errors go to the writer.
 */
AMI_EXTERN void ami_hdlc_params_encode(ami_wr *w, const ami_hdlc_params *p);

/* ---------------------------------------------------------------- streaming deframer */

typedef struct ami_hdlc_deframer_stats {
    uint64_t frames;        /* good frames returned */
    uint64_t bad_frames;    /* candidates rejected (checksum, format, closing flag) */
    uint64_t garbage_bytes; /* bytes skipped while hunting for a flag */
} ami_hdlc_deframer_stats;

/*
 * Cuts frames out of a byte stream. Caller-allocated (about 2 KiB), no allocation; one per
 * stream; not thread-safe.
 */
typedef struct ami_hdlc_deframer {
    unsigned flags; /* AMI_HDLC_LENIENT_* passed to the frame decoder */
    size_t start;   /* first unconsumed byte in buf */
    size_t have;    /* end of the buffered bytes; invariant start <= have <= sizeof buf */
    size_t drop;    /* bytes of the last returned frame, consumed on the next call */
    ami_hdlc_deframer_stats stats;
    uint8_t buf[AMI_HDLC_MAX_FRAME_BYTES + 1];
} ami_hdlc_deframer;

/* Initialises (or resets) a deframer with AMI_HDLC_LENIENT_* flags. */
AMI_EXTERN void ami_hdlc_deframer_init(ami_hdlc_deframer *d, unsigned flags);

/*
 * Feeds bytes and extracts at most one frame.
 *
 * Copies as many of the n input bytes as fit into the deframer (reported in *consumed; the
 * caller passes the rest again in the next call) and looks for a frame. Returns:
 *   AMI_OK           a good frame is in *f; its views point into the deframer and stay valid
 *                    until the next call. Call again (with the unconsumed input, maybe none) to
 *                    get further frames already buffered;
 *   AMI_E_AGAIN      no complete frame yet; all input was consumed;
 *   AMI_E_CHECKSUM / AMI_E_MALFORMED  a candidate frame was rejected and the deframer resynced
 *                    past its opening flag; call again to continue (the error is for counting
 *                    and logging; the stream is still usable).
 * A 0x7E inside a frame never splits it: the deframer trusts the length field and checks the
 * closing flag and the FCS. Consecutive frames may share one flag.
 */
AMI_EXTERN int ami_hdlc_deframer_next(ami_hdlc_deframer *d, const uint8_t *in, size_t n,
                                      size_t *consumed, ami_hdlc_frame *f);

/* ---------------------------------------------------------------- connection engine */

typedef enum ami_hdlc_role { AMI_HDLC_CLIENT = 0, AMI_HDLC_SERVER = 1 } ami_hdlc_role;

typedef enum ami_hdlc_state {
    AMI_HDLC_ST_DISCONNECTED = 0,
    AMI_HDLC_ST_CONNECTING,    /* client: SNRM sent, waiting for UA */
    AMI_HDLC_ST_CONNECTED,     /* NRM established */
    AMI_HDLC_ST_DISCONNECTING, /* client: DISC sent, waiting for UA/DM */
} ami_hdlc_state;

/* Why the link went down (the remote outcome; not an AMI_E_* code). */
typedef enum ami_hdlc_reason {
    AMI_HDLC_REASON_NONE = 0,
    AMI_HDLC_REASON_LOCAL,      /* we sent DISC and the peer confirmed (UA or DM) */
    AMI_HDLC_REASON_DISC,       /* the peer sent DISC */
    AMI_HDLC_REASON_DM,         /* the peer answered DM (refused SNRM, or disconnected mode) */
    AMI_HDLC_REASON_FRMR,       /* the peer rejected a frame (FRMR; see the event's frmr) */
    AMI_HDLC_REASON_TIMEOUT,    /* no answer after every retransmission */
    AMI_HDLC_REASON_INACTIVITY, /* nothing received within the inactivity timeout */
    AMI_HDLC_REASON_PROTOCOL,   /* the peer broke the protocol (we sent FRMR or gave up) */
} ami_hdlc_reason;

/* Returns "local", "disc", "dm", ... Never NULL. */
AMI_EXTERN const char *ami_hdlc_reason_name(ami_hdlc_reason r);

typedef enum ami_hdlc_event_type {
    AMI_HDLC_EV_NONE = 0,     /* nothing happened */
    AMI_HDLC_EV_CONNECTED,    /* UA received (client) or SNRM accepted (server); see params */
    AMI_HDLC_EV_APDU,         /* a complete APDU, reassembled, LLC header stripped */
    AMI_HDLC_EV_UI,           /* a UI frame's information, LLC header stripped when present */
    AMI_HDLC_EV_DISCONNECTED, /* the link is down; see reason */
} ami_hdlc_event_type;

typedef struct ami_hdlc_event {
    ami_hdlc_event_type type;
    const uint8_t *data; /* APDU / UI: view into the engine's buffers, valid until next call */
    size_t len;
    ami_hdlc_reason reason; /* DISCONNECTED */
    uint8_t frmr[3];        /* DISCONNECTED by FRMR: the FRMR information (ISO/IEC 13239) */
    uint8_t frmr_len;       /* 0..3 */
} ami_hdlc_event;

typedef struct ami_hdlc_conn_config {
    ami_hdlc_role role;
    ami_hdlc_addr client;   /* 1-byte client address (ami_hdlc_client_addr) */
    ami_hdlc_addr server;   /* server address (ami_hdlc_server_addr) */
    ami_hdlc_params params; /* proposed (client) or accepted at most (server), own point of view */
    /*
     * Client: send the parameters in SNRM even when they are the defaults. When false and the
     * parameters are the defaults, SNRM carries no information field (what many meters expect).
     */
    bool snrm_always_params;
    uint32_t response_timeout_ms;   /* retransmission timer; 0 means 3000 */
    uint32_t inactivity_timeout_ms; /* link dropped after this silence; 0 disables */
    uint8_t max_retries;            /* retransmissions before giving up; 0 means 3 */
    /*
     * Buffers (caller-owned, must outlive the engine). rx_buf receives reassembled APDUs (plus
     * the 3-byte LLC header); an APDU larger than rx_cap - 3 is rejected (AMI_E_TOO_LARGE
     * reported from ami_hdlc_conn_recv, link kept). tx_buf holds the APDU being sent until every
     * segment is acknowledged; ami_hdlc_conn_send_apdu rejects larger APDUs.
     */
    uint8_t *rx_buf;
    size_t rx_cap;
    uint8_t *tx_buf;
    size_t tx_cap;
    unsigned lenient; /* AMI_HDLC_LENIENT_* and AMI_HDLC_CONN_LENIENT_* bits */
} ami_hdlc_conn_config;

/* Connection-level named leniencies (bits of ami_hdlc_conn_config.lenient). */
enum {
    /*
     * Accept frames from the server whose address has another width than configured when the
     * logical (and, if sent, physical) address matches: e.g. a meter that answers with a 1-byte
     * source address to a client that addressed it with 4 bytes.
     */
    AMI_HDLC_CONN_LENIENT_ADDR_SIZE = 1u << 8,
    /* Do not strip or check the LLC header on received I-frames (some gateways omit it). */
    AMI_HDLC_CONN_LENIENT_NO_LLC = 1u << 9,
};

typedef struct ami_hdlc_conn_stats {
    uint64_t frames_in, frames_out, bad_frames, retransmissions, ignored;
} ami_hdlc_conn_stats;

/* The engine. Caller-allocated; initialise with ami_hdlc_conn_init(). Fields are private. */
typedef struct ami_hdlc_conn {
    ami_hdlc_conn_config cfg;
    ami_hdlc_deframer dfr;
    ami_hdlc_state state;
    ami_hdlc_params neg; /* negotiated, own point of view */
    ami_hdlc_conn_stats stats;
    uint8_t vs;  /* V(S): N(S) of the next new I-frame */
    uint8_t va;  /* oldest unacknowledged N(S) */
    uint8_t nxt; /* N(S) of the next I-frame to output (va..vs; < vs when resending) */
    uint8_t vr;  /* V(R): next expected N(S) */
    uint8_t retries;
    uint8_t pending;   /* control frames to send (private bit set) */
    bool poll_held;    /* server: a P bit was received and not answered with F yet */
    bool peer_busy;    /* RNR received */
    bool awaiting_f;   /* client: we sent P and wait for a frame with F */
    bool expect_reply; /* client: an APDU was sent and its answer has not started */
    bool delivered;    /* server: an APDU was delivered and not answered yet */
    bool rx_overflow;  /* the APDU being received does not fit rx_buf: dropping segments */
    bool rx_done;      /* rx_buf holds a delivered APDU; cleared on the next call */
    uint8_t frmr_info[3];
    size_t rx_len;     /* bytes of the APDU being reassembled in rx_buf */
    size_t tx_len;     /* bytes of the APDU in tx_buf (LLC header included), 0 when idle */
    size_t tx_sent;    /* bytes of tx_buf already cut into I-frames */
    size_t seg_off[8]; /* offset in tx_buf of the I-frame with N(S) = index */
    uint16_t seg_len[8];
    size_t ui_len; /* queued UI information (LLC header included), 0 when none */
    uint8_t ui_buf[AMI_HDLC_MAX_INFO];
    uint64_t deadline; /* retransmission / poll deadline (ms), UINT64_MAX when none */
    uint64_t last_rx;  /* time of the last good frame for us (ms) */
} ami_hdlc_conn;

/*
 * Initialises an engine in the disconnected state. Copies *cfg (buffers stay caller-owned).
 * Returns AMI_OK; AMI_E_CONFIG for an unknown role, a bad address (client not 1 byte, server
 * size not 1/2/4 or values out of range), parameters out of range (info 1..2032, window 1..7),
 * or a missing buffer or one below 4 bytes (the LLC header plus one byte).
 * Every ami_hdlc_conn_* function works on one engine and is not thread-safe for that engine;
 * distinct engines are independent.
 */
AMI_EXTERN int ami_hdlc_conn_init(ami_hdlc_conn *c, const ami_hdlc_conn_config *cfg);

/* Current state; negotiated parameters (own point of view) once connected. */
AMI_EXTERN ami_hdlc_state ami_hdlc_conn_state(const ami_hdlc_conn *c);
AMI_EXTERN const ami_hdlc_params *ami_hdlc_conn_params(const ami_hdlc_conn *c);
AMI_EXTERN const ami_hdlc_conn_stats *ami_hdlc_conn_stats_get(const ami_hdlc_conn *c);

/*
 * Client: starts the connection (queues SNRM; send it with ami_hdlc_conn_output()).
 * Returns AMI_OK; AMI_E_STATE when not disconnected or when called on a server.
 */
AMI_EXTERN int ami_hdlc_conn_connect(ami_hdlc_conn *c, uint64_t now);

/*
 * Client: releases the link (queues DISC). The DISCONNECTED event (reason LOCAL) follows the
 * peer's UA or DM. Returns AMI_OK; AMI_E_STATE when not connected or on a server.
 */
AMI_EXTERN int ami_hdlc_conn_disconnect(ami_hdlc_conn *c, uint64_t now);

/*
 * Queues an APDU for sending: copies the LLC header (request for a client, response for a
 * server) and the APDU into tx_buf, then ami_hdlc_conn_output() sends it in I-frames of the
 * negotiated size, setting the segmentation bit on all but the last.
 * Returns AMI_OK; AMI_E_STATE when not connected; AMI_E_BUSY while a previous APDU is not fully
 * acknowledged; AMI_E_TOO_LARGE when len + 3 > tx_cap; AMI_E_INVAL for len 0.
 */
AMI_EXTERN int ami_hdlc_conn_send_apdu(ami_hdlc_conn *c, const uint8_t *apdu, size_t len,
                                       uint64_t now);

/*
 * Queues a UI frame (no sequence numbers, no acknowledgement; e.g. a DataNotification push).
 * The engine prepends the LLC header (E6 E7 00 on a server, E6 E6 00 on a client) and copies
 * info. Returns AMI_OK; AMI_E_TOO_LARGE when len + 3 exceeds the negotiated information length
 * (128 when not connected); AMI_E_BUSY while another UI is queued; AMI_E_INVAL for NULL info
 * with len > 0.
 */
AMI_EXTERN int ami_hdlc_conn_send_ui(ami_hdlc_conn *c, const uint8_t *info, size_t len,
                                     uint64_t now);

/*
 * Writes the next frame to send into out (capacity cap) and returns its length, or 0 when there
 * is nothing to send now. Call it in a loop until it returns 0 after every other call.
 * Returns AMI_E_NOSPACE when cap is below the next frame's size (nothing is lost: call again
 * with a larger buffer; AMI_HDLC_MAX_FRAME_BYTES always suffices).
 */
AMI_EXTERN int ami_hdlc_conn_output(ami_hdlc_conn *c, uint64_t now, uint8_t *out, size_t cap);

/*
 * Feeds received bytes. Processes frames until one produces an event or the input is used up;
 * *consumed tells how much input was used (pass the rest again). *ev receives the event
 * (type NONE when none). Views in *ev stay valid until the next call on this engine.
 * Returns AMI_OK (also for frames that were rejected and counted: bad checksum, foreign address,
 * out-of-sequence I-frame); AMI_E_TOO_LARGE when a reassembled APDU exceeded rx_cap, or
 * AMI_E_MALFORMED when it lacks the LLC header of its direction (unless
 * AMI_HDLC_CONN_LENIENT_NO_LLC): the APDU is dropped, the link stays up, no event is given.
 * Remote outcomes (DM, FRMR, a UA with unusable parameters) come as DISCONNECTED events with
 * AMI_OK.
 */
AMI_EXTERN int ami_hdlc_conn_recv(ami_hdlc_conn *c, const uint8_t *in, size_t n, uint64_t now,
                                  size_t *consumed, ami_hdlc_event *ev);

/*
 * Processes timers at time now: retransmission after response_timeout_ms (up to max_retries,
 * then DISCONNECTED with reason TIMEOUT) and the inactivity timeout. *ev receives a
 * DISCONNECTED event when the link was given up. Always returns AMI_OK.
 */
AMI_EXTERN int ami_hdlc_conn_tick(ami_hdlc_conn *c, uint64_t now, ami_hdlc_event *ev);

/* The next time (ms) ami_hdlc_conn_tick() must be called, or UINT64_MAX when no timer runs. */
AMI_EXTERN uint64_t ami_hdlc_conn_deadline(const ami_hdlc_conn *c);

#ifdef __cplusplus
}
#endif
#endif
