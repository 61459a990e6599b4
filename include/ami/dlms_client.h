/*
 * DLMS/COSEM client session at the APDU level (Green Book clause 9.4 "application layer
 * services": COSEM-OPEN / GET / SET / ACTION / COSEM-RELEASE as seen by the client), sans-I/O.
 *
 * The session turns requests into APDUs and response APDUs into results. It knows nothing of
 * the lower layer: the caller moves the APDUs through an HDLC connection (ami/hdlc.h), a
 * wrapper (ami/wrapper.h) or anything else, and keeps the clocks (timeouts belong to the
 * transport). It never allocates: the caller gives a buffer that receives the result data
 * (reassembled block transfers included), an arena for the decoder's lists, and an array for
 * with-list results.
 *
 * One request is outstanding at a time (the Green Book's client application process issues
 * confirmed requests one after the other unless it pipelines, which this session does not):
 *
 *   ami_dlms_client_associate()/get()/set()/action()/release()   -> APDU to send
 *   loop: ami_dlms_client_input(response APDU)
 *         AMI_E_AGAIN: send `out` when it is not empty (GET-next, the next SET datablock or
 *                      ACTION pblock, HLS pass 3) and wait for the next response;
 *         AMI_OK:      the service completed; the outcome is in the ami_dlms_result.
 *
 * Block transfer (Green Book 9.4.6.4 "service-specific block transfer") is transparent: a
 * GET-response-with-datablock is answered with GET-request-next until the last block and the
 * raw data reassembled in the caller's buffer; a SET or ACTION request that does not fit the
 * server's max receive PDU (from the AARE) is sent as SET-with-first-datablock /
 * ACTION-with-first-pblock and continued block by block; ACTION return data in pblocks is
 * collected with ACTION-next-pblock. General block transfer (GBT, Green Book 9.4.6.13) is used
 * when negotiated: requests longer than the server's PDU (or every request, gbt_always) go out
 * in GBT blocks, responses in GBT blocks are acknowledged window by window and reassembled in
 * gbt_buf, lost blocks are asked again (ami_dlms_client_gbt_retry after a timeout).
 *
 * Remote outcomes (the AARE result and diagnostic, data-access-result, action-result,
 * exception-response, confirmed-service-error) come in ami_dlms_result with AMI_OK; the int
 * returned is a local AMI_E_* code only (a malformed response, a protocol violation, a buffer
 * too small).
 *
 * Thread safety: one session is used by one thread at a time; distinct sessions are
 * independent. Nothing is global.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_DLMS_CLIENT_H
#define AMI_DLMS_CLIENT_H

#include <stdbool.h>

#include "ami/acse.h"
#include "ami/apdu.h"
#include "ami/arena.h"
#include "ami/bytes.h"
#include "ami/dlms_client_sec.h"
#include "ami/view.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Proposed conformance when the configuration gives 0: GET, SET, ACTION, selective access,
 * multiple references and block transfer with GET, SET and ACTION (Green Book 9.4.6.1). */
#define AMI_DLMS_CLIENT_DEFAULT_CONFORMANCE                                      \
    (AMI_CONF_GET | AMI_CONF_SET | AMI_CONF_ACTION | AMI_CONF_SELECTIVE_ACCESS | \
     AMI_CONF_MULTIPLE_REFERENCES | AMI_CONF_BLOCK_TRANSFER_WITH_GET_OR_READ |   \
     AMI_CONF_BLOCK_TRANSFER_WITH_SET_OR_WRITE | AMI_CONF_BLOCK_TRANSFER_WITH_ACTION)

/* Longest calling authentication value (LLS password or HLS challenge) the session keeps. */
#define AMI_DLMS_CLIENT_MAX_AUTH 64u

/* The layer an outcome comes from. */
typedef enum ami_dlms_layer {
    AMI_DLMS_LAYER_NONE = 0,
    AMI_DLMS_LAYER_ACSE,     /* association control (AARE, RLRE) */
    AMI_DLMS_LAYER_XDLMS,    /* xDLMS services (GET, SET, ACTION, exception, service errors) */
    AMI_DLMS_LAYER_HLS,      /* HLS pass 3/4 (reply_to_HLS_authentication) */
    AMI_DLMS_LAYER_SECURITY, /* ciphering (ami/dlms_client_sec.h): a refused response */
} ami_dlms_layer;

/* "ACSE", "xDLMS", "HLS", "security", "none". Never NULL. */
AMI_EXTERN const char *ami_dlms_layer_name(ami_dlms_layer layer);

/* What the server answered. */
typedef enum ami_dlms_outcome {
    AMI_DLMS_SUCCESS = 0,           /* accepted / success (with-list: see each item) */
    AMI_DLMS_REJECTED,              /* AARE result not accepted: acse_* fields */
    AMI_DLMS_DATA_ACCESS_RESULT,    /* GET/SET refused: dar */
    AMI_DLMS_ACTION_RESULT,         /* ACTION refused: dar holds the action-result */
    AMI_DLMS_EXCEPTION,             /* exception-response: exception */
    AMI_DLMS_SERVICE_ERROR,         /* confirmed-service-error: service_error */
    AMI_DLMS_AUTHENTICATION_FAILED, /* HLS: the server's f(CtoS) did not verify */
} ami_dlms_outcome;

/* One element of a with-list result (GET-with-list, SET-with-list). */
typedef struct ami_dlms_item {
    bool ok;       /* data present (GET) / success (SET) */
    uint8_t dar;   /* enum ami_dar when !ok */
    ami_view data; /* GET: one encoded Data, a view into the session's data buffer */
} ami_dlms_item;

typedef struct ami_dlms_result {
    ami_dlms_outcome outcome;
    ami_dlms_layer layer;
    uint8_t dar; /* DATA_ACCESS_RESULT: enum ami_dar; ACTION_RESULT: enum ami_action_result */
    ami_exception_response exception;
    ami_confirmed_service_error service_error;
    /* Association (COSEM-OPEN): the AARE fields. */
    uint8_t acse_result;      /* enum ami_acse_result */
    uint8_t acse_diag_source; /* enum ami_acse_diag_source */
    uint8_t acse_diagnostic;  /* ami_acse_diag_name(source, diagnostic) */
    /*
     * GET (normal): the encoded Data. ACTION: the return parameters when has_data. Views into
     * the session's data buffer, valid until the next request on the session.
     */
    bool has_data;
    ami_view data;
    ami_dlms_item *items; /* with-list: the configuration's items array */
    uint32_t count;
    uint32_t blocks; /* data blocks exchanged by a block transfer (0 when none) */
} ami_dlms_result;

/*
 * Writes a one-line description of a result: "ACSE: rejected-permanent (acse-service-user:
 * authentication-failure)", "xDLMS: data-access-result read-write-denied", "success".
 * Returns the length written (without the NUL), or AMI_E_NOSPACE when cap < 96, AMI_E_INVAL
 * for NULL. Thread-safe.
 */
AMI_EXTERN int ami_dlms_result_describe(const ami_dlms_result *r, char *buf, size_t cap);

/*
 * HLS hook (Green Book 9.2.7.4 "HLS authentication", passes 3 and 4). pass3 receives the
 * server's challenge StoC (the AARE responding-authentication-value) and writes f(StoC) into
 * out (capacity cap), storing its length in *len; the session sends it with ACTION
 * reply_to_HLS_authentication (class 15, 0.0.40.0.0.255, method 1). pass4, when not NULL,
 * checks the server's f(CtoS) returned by that ACTION. Both return AMI_OK or an AMI_E_* code
 * that input() passes on (pass4: AMI_E_AUTH gives the AUTHENTICATION_FAILED outcome instead).
 */
typedef int (*ami_dlms_hls_pass3)(void *user, ami_view stoc, uint8_t *out, size_t cap, size_t *len);
typedef int (*ami_dlms_hls_pass4)(void *user, ami_view f_ctos);

typedef struct ami_dlms_client_config {
    uint8_t context;   /* AMI_ACSE_CONTEXT_LN (default when 0) or AMI_ACSE_CONTEXT_SN */
    uint8_t mechanism; /* enum ami_acse_mechanism: NONE, LOW (LLS), >= HIGH with pass3 */
    /* LLS password or HLS CtoS challenge, copied (at most AMI_DLMS_CLIENT_MAX_AUTH bytes). */
    ami_view auth_value;
    ami_view calling_ap_title; /* optional (a system title); copied, at most 16 bytes */
    uint32_t conformance;      /* proposed; 0: AMI_DLMS_CLIENT_DEFAULT_CONFORMANCE */
    uint16_t max_pdu;          /* client-max-receive-pdu-size; 0: 0xFFFF */
    uint8_t dlms_version;      /* 0: 6 */
    uint8_t invoke_id;         /* first invoke id (0..15) */
    bool fixed_invoke_id;      /* keep the same invoke id for every request */
    bool normal_priority;      /* default: high priority (bit 7) set */
    /*
     * Result buffer (required): receives the Data of every response, reassembled block
     * transfers included. Bounds the largest value the session accepts (AMI_E_TOO_LARGE).
     */
    uint8_t *data_buf;
    size_t data_cap;
    ami_arena *arena;     /* for decoding with-list responses; may be NULL without lists */
    ami_dlms_item *items; /* with-list results (max_items elements); may be NULL */
    uint32_t max_items;
    unsigned apdu_lenient; /* AMI_APDU_LENIENT_* for responses */
    ami_dlms_hls_pass3 hls_pass3;
    ami_dlms_hls_pass4 hls_pass4;
    void *hls_user;
    /*
     * Security context (ami/dlms_client_sec.h) or NULL: HLS mechanisms 2..7 without the
     * callbacks above, ciphered AA establishment, ciphered requests and checked responses.
     * Caller-owned; must outlive the session; one session per context.
     */
    struct ami_dlms_client_sec *sec;
    /*
     * General block transfer (Green Book 9.3.10, 9.4.6.13), used when the server agrees
     * AMI_CONF_GENERAL_BLOCK_TRANSFER (add it to `conformance` to propose it). gbt_buf (optional;
     * NULL: GBT never used) holds a request sent in blocks and reassembles a response that
     * arrives in blocks: its size bounds both. gbt_window is the receive window announced
     * (1..63; 0 means 1): the server may stream that many blocks before the session
     * acknowledges. gbt_always sends every GET/SET/ACTION in GBT (so the server answers in GBT
     * with our window), not only the requests too long for the server's PDU.
     */
    uint8_t *gbt_buf;
    size_t gbt_cap;
    uint8_t gbt_window;
    bool gbt_always;
} ami_dlms_client_config;

typedef enum ami_dlms_client_state {
    AMI_DLMS_CLIENT_IDLE = 0,    /* not associated */
    AMI_DLMS_CLIENT_ASSOCIATING, /* AARQ (or HLS pass 3) sent */
    AMI_DLMS_CLIENT_READY,       /* associated, no request outstanding */
    AMI_DLMS_CLIENT_BUSY,        /* a request is outstanding */
    AMI_DLMS_CLIENT_RELEASING,   /* RLRQ sent */
} ami_dlms_client_state;

/* The session. Caller-allocated; initialise with ami_dlms_client_init(). Fields are private. */
typedef struct ami_dlms_client {
    ami_dlms_client_config cfg;
    ami_dlms_client_state state;
    uint8_t auth[AMI_DLMS_CLIENT_MAX_AUTH];
    uint8_t title[16];
    uint8_t op;        /* the outstanding operation */
    uint8_t iip;       /* invoke-id-and-priority of the outstanding request */
    uint8_t next_id;   /* next invoke id */
    uint32_t block;    /* block number of the transfer in progress */
    size_t have;       /* bytes in data_buf */
    ami_view src;      /* SET value / ACTION parameters being sent in blocks (caller-owned) */
    size_t src_off;    /* bytes of src already sent */
    size_t chunk;      /* raw bytes per block */
    uint32_t sn_items; /* SN Read: results expected (SN has no invoke id to match) */
    uint32_t server_conformance;
    uint16_t server_max_pdu;
    uint64_t ignored; /* responses dropped (another invoke id) */
    struct {
        uint16_t own_bn;    /* last block number the session used */
        uint16_t peer_bn;   /* last server block received in sequence */
        uint16_t tx_blocks; /* blocks of the request being sent in GBT (0: none) */
        uint16_t tx_acked;  /* request blocks the server acknowledged */
        size_t tx_len;      /* request bytes in gbt_buf */
        size_t tx_chunk;
        size_t rx_len;   /* response bytes reassembled in gbt_buf */
        uint32_t blocks; /* GBT blocks received for the outstanding request */
    } gbt;
} ami_dlms_client;

/*
 * Initialises a session (not associated). Copies *cfg (buffers stay caller-owned and must
 * outlive the session). Returns AMI_OK; AMI_E_CONFIG for a missing data buffer, a context other
 * than LN/SN, a mechanism above 7, an HLS mechanism without pass3 nor a security context, LLS
 * without a password, an authentication value or AP title too long, an invoke id above 15,
 * items without max_items; AMI_E_KEY when the security context lacks what the mechanism needs
 * (secret, EK/AK, system title, ECDSA keys).
 */
AMI_EXTERN int ami_dlms_client_init(ami_dlms_client *c, const ami_dlms_client_config *cfg);

AMI_EXTERN ami_dlms_client_state ami_dlms_client_state_get(const ami_dlms_client *c);

/* After a successful association: the negotiated conformance (the server's InitiateResponse)
 * and the server's max receive PDU size. */
AMI_EXTERN uint32_t ami_dlms_client_conformance(const ami_dlms_client *c);
AMI_EXTERN uint16_t ami_dlms_client_server_max_pdu(const ami_dlms_client *c);

/*
 * Request builders: each appends one APDU to out (send it whole) and makes it the outstanding
 * request. Returns AMI_OK; AMI_E_STATE (associate when not idle; the others when not ready, i.e.
 * not associated or a request outstanding); AMI_E_INVAL (NULL argument, n == 0, n above
 * max_items for a list); AMI_E_UNSUPPORTED (GET/SET/ACTION in the SN context);
 * AMI_E_NOSPACE (out too small; the state is unchanged).
 *
 * associate: AARQ (Green Book 9.3) with the application context, mechanism name and calling
 *   authentication value (LLS / HLS), user-information = InitiateRequest.
 * get: GET-request-normal for n == 1, GET-request-with-list otherwise.
 * set: SET-request-normal, or with-first-datablock when the APDU exceeds the server's max PDU;
 *   value is one encoded Data, and must stay valid until the SET completes.
 * action: ACTION-request-normal (params NULL: no parameters), or with-first-pblock as for set.
 * release: RLRQ with reason normal (Green Book 9.4.4.2).
 */
AMI_EXTERN int ami_dlms_client_associate(ami_dlms_client *c, ami_wr *out);
AMI_EXTERN int ami_dlms_client_get(ami_dlms_client *c, const ami_attr_sel *attrs, uint32_t n,
                                   ami_wr *out);
AMI_EXTERN int ami_dlms_client_set(ami_dlms_client *c, const ami_attr_sel *attr, ami_view value,
                                   ami_wr *out);
AMI_EXTERN int ami_dlms_client_action(ami_dlms_client *c, const ami_cosem_desc *method,
                                      const ami_view *params, ami_wr *out);
AMI_EXTERN int ami_dlms_client_release(ami_dlms_client *c, ami_wr *out);

/*
 * Short-name services (Green Book 9.3.14-9.3.16), in an SN association only (AMI_E_UNSUPPORTED
 * in LN, as GET/SET/ACTION are in SN). Names are base names + offsets (Blue Book 4.1.3: attribute
 * i of an object at base + 8 * (i - 1)); the Association SN object_list (0xFA08) gives the bases.
 *
 * read: ReadRequest for n items, each AMI_SN_VARIABLE_NAME or AMI_SN_PARAMETERIZED_ACCESS
 *   (selector and params: selective access of an attribute, or a method's parameters). The
 *   result as for get: n == 1 gives has_data/data or DATA_ACCESS_RESULT with the
 *   data-access-error; n > 1 gives items (max_items). A one-item Read answered in
 *   data-block-result blocks (block transfer with Read agreed, no GBT) is acknowledged block by
 *   block (input() returns AMI_E_AGAIN with a ReadRequest of block-number-access in out) and
 *   reassembled in data_buf (AMI_E_TOO_LARGE past data_cap; lost, repeated or out-of-order
 *   blocks AMI_E_PROTOCOL); res->blocks counts the blocks.
 * write: WriteRequest of one encoded Data to one name (a method's name invokes it with the Data
 *   as parameters): SUCCESS or DATA_ACCESS_RESULT. value must stay valid until the response.
 * unconfirmed_write: UnconfirmedWriteRequest; nothing answers it, so the session stays ready
 *   and there is nothing to feed to input().
 * Returns as the LN builders; AMI_E_INVAL also for an item kind other than variable-name /
 * parameterized-access (block-number-access is the session's own acknowledgement; requests are
 * never sent in blocks: read-data-block-access / write-data-block-access are not used).
 */
AMI_EXTERN int ami_dlms_client_read(ami_dlms_client *c, const ami_sn_access *items, uint32_t n,
                                    ami_wr *out);
AMI_EXTERN int ami_dlms_client_write(ami_dlms_client *c, const ami_sn_access *item, ami_view value,
                                     ami_wr *out);
AMI_EXTERN int ami_dlms_client_unconfirmed_write(ami_dlms_client *c, const ami_sn_access *item,
                                                 ami_view value, ami_wr *out);

/*
 * Processes one response APDU (whole, as the transport delivered it).
 * Returns:
 *   AMI_OK          the outstanding service completed: *res holds the outcome (remote refusals
 *                   included); the session is ready (or idle after a release or a rejected
 *                   association);
 *   AMI_E_AGAIN     not complete: when out->len grew, send that APDU (GET-next, SET/ACTION
 *                   block, HLS pass 3) and feed the next response; when it did not, the
 *                   response carried another invoke id and was ignored;
 *   AMI_E_STATE     no request outstanding;
 *   AMI_E_TRUNCATED / AMI_E_MALFORMED / AMI_E_UNSUPPORTED / AMI_E_TOO_DEEP   the APDU did not
 *                   decode (ami_apdu_decode);
 *   AMI_E_PROTOCOL  a response that does not answer the request (wrong service or choice, a
 *                   block number out of sequence, an empty non-last block);
 *   AMI_E_TOO_LARGE the data does not fit data_buf or the list exceeds max_items;
 *   AMI_E_NOSPACE   out is too small for the next APDU;
 *   the pass3/pass4 callbacks' errors.
 * On an error the outstanding request is abandoned and the session goes back to ready (idle
 * during an association). Views in *res are valid until the next request.
 */
AMI_EXTERN int ami_dlms_client_input(ami_dlms_client *c, const uint8_t *apdu, size_t len,
                                     ami_wr *out, ami_dlms_result *res);

/*
 * General block transfer recovery (Green Book 9.4.6.13): after the transport's timeout while a
 * GBT transfer is outstanding, appends the APDU that makes the server resume: an
 * acknowledgement of the server blocks received in sequence (the server resends from the next
 * one), or, while the request itself is going out, the first block the server has not
 * acknowledged. Returns AMI_OK; AMI_E_STATE when no GBT transfer is outstanding;
 * AMI_E_NOSPACE.
 */
AMI_EXTERN int ami_dlms_client_gbt_retry(ami_dlms_client *c, ami_wr *out);

/* Forgets the association and any outstanding request (after a transport failure). */
AMI_EXTERN void ami_dlms_client_reset(ami_dlms_client *c);

#ifdef __cplusplus
}
#endif
#endif
