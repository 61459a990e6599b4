/*
 * DLMS/COSEM server association engine (DLMS UA Green Book 9.3 "DLMS/COSEM application layer
 * service specification" and 9.4 "protocol specification"), sans-I/O, at the APDU level.
 *
 * One ami_dlms_server holds what every connection shares: the object store (a vtable the meter
 * model implements), the per-client-SAP association policies and the limits. One caller-
 * allocated ami_dlms_assoc per connection (or per client SAP on a shared link) holds the state
 * of one application association: negotiated context, conformance and PDU size, the block
 * transfer in progress, counters. Give it one received APDU, get back the response APDU bytes
 * (or none). No sockets, no clocks, no malloc: the transport (HDLC, TCP/UDP wrapper) is the
 * caller's, and every buffer the engine uses is caller-owned and bounded.
 *
 * Services: AARQ -> AARE (with InitiateResponse or a confirmed-service-error), RLRQ -> RLRE,
 * GET (normal, next, with-list; responses too large for the client's PDU go out with-datablock
 * and are served on GET-next), SET (normal, with-list, first-datablock/datablock and
 * with-list-and-first-datablock accumulated), ACTION (normal, with-list, first-pblock/pblock
 * accumulated; long return data served with-pblock on next-pblock). Every request that cannot be
 * decoded or is not allowed is answered per the Green Book (exception-response, or a result
 * code) and counted; the association survives.
 *
 * Not covered here (yet): short-name services (an SN policy is negotiated but Read/Write get an
 * exception-response service-not-supported), ciphered APDUs (glo-/ded-/general-ciphering:
 * answered service-not-supported until ami/security.h is wired in), HLS authentication
 * (mechanisms 2..7 are refused with authentication-mechanism-name-not-recognised; see
 * docs/dlms-server.md for where it plugs in), general-block-transfer.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_DLMS_SERVER_H
#define AMI_DLMS_SERVER_H

#include <stdbool.h>

#include "ami/apdu.h"
#include "ami/arena.h"
#include "ami/bytes.h"
#include "ami/view.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- access rights */

/* Attribute access modes (Blue Book 4.4.3 Association LN, attribute_access_mode). */
enum ami_attr_access {
    AMI_ACCESS_NONE = 0,
    AMI_ACCESS_READ = 1,
    AMI_ACCESS_WRITE = 2,
    AMI_ACCESS_READ_WRITE = 3,
    AMI_ACCESS_AUTH_READ = 4,
    AMI_ACCESS_AUTH_WRITE = 5,
    AMI_ACCESS_AUTH_READ_WRITE = 6,
};

/* Method access modes (Blue Book 4.4.3, method_access_mode). */
enum ami_method_access {
    AMI_METHOD_NONE = 0,
    AMI_METHOD_ACCESS = 1,
    AMI_METHOD_AUTH_ACCESS = 2,
};

/*
 * The "authenticated" modes allow the operation only when the request itself was
 * authenticated (a ciphered APDU with the A bit, Blue Book 4.4.3); plain APDUs are denied. These
 * helpers apply that rule: `apdu_authenticated` tells whether the request was.
 */
AMI_EXTERN bool ami_access_can_read(uint8_t mode, bool apdu_authenticated);
AMI_EXTERN bool ami_access_can_write(uint8_t mode, bool apdu_authenticated);
AMI_EXTERN bool ami_method_can_invoke(uint8_t mode, bool apdu_authenticated);

/* ---------------------------------------------------------------- association context */

/* State of an association (also Association LN attribute 8 association_status, 0..2). */
enum ami_dlms_assoc_state {
    AMI_DLMS_ASSOC_IDLE = 0,       /* non-associated */
    AMI_DLMS_ASSOC_PENDING = 1,    /* association-pending (HLS pass 3/4 not done) */
    AMI_DLMS_ASSOC_ASSOCIATED = 2, /* associated */
};

/* What the object store learns about the association a request arrives on. */
typedef struct ami_dlms_ctx {
    uint16_t client_sap;     /* the client's SAP (HDLC client address / wrapper wPort) */
    uint16_t server_sap;     /* the logical device addressed (1 = management) */
    uint8_t context;         /* enum ami_acse_context (LN or SN) */
    uint8_t mechanism;       /* enum ami_acse_mechanism that authenticated the client */
    uint8_t state;           /* enum ami_dlms_assoc_state */
    bool apdu_authenticated; /* the current request came ciphered with authentication */
    uint32_t conformance;    /* negotiated conformance */
    uint16_t client_max_pdu; /* negotiated client-max-receive-pdu-size */
    uint16_t server_max_pdu; /* server-max-receive-pdu-size */
} ami_dlms_ctx;

/* ---------------------------------------------------------------- object store interface */

/* One object as listed in Association LN object_list (Blue Book 4.4.3, attribute 2). */
typedef struct ami_dlms_object {
    uint16_t class_id;
    uint8_t version;
    ami_obis ln;
    uint8_t attr_count;   /* attributes 1..attr_count */
    uint8_t method_count; /* methods 1..method_count */
} ami_dlms_object;

/*
 * The object store: what a meter model implements (see src/cosem for a reference one). Every
 * callback receives the store's `self`, the reference (class-id, logical name, attribute or
 * method id as received) and the association context. Callbacks are only called for requests
 * the engine decoded and whose access rights allowed them; they run synchronously and must not
 * call back into the engine.
 *
 * Encoded values: get and action write exactly one A-XDR Data (ami/axdr.h) into `out`, whose
 * capacity is the engine's bounded block buffer; running out of room is detected by the engine
 * (the writer's sticky AMI_E_NOSPACE) and answered data-access-result other-reason. Values the
 * engine passes in (set data, action parameters, selective-access parameters) are views of one
 * validated Data each, valid during the call only.
 */
typedef struct ami_dlms_store_ops {
    /*
     * Access rights of an attribute (method false, id = attribute) or a method (method true),
     * for this association: an enum ami_attr_access / enum ami_method_access value, or -1 when
     * the object (class-id + logical name) or the attribute/method does not exist. Required.
     */
    int (*access)(void *self, const ami_cosem_desc *ref, bool method, const ami_dlms_ctx *ctx);
    /*
     * Reads an attribute: writes its value into out and returns AMI_DAR_SUCCESS, or returns
     * another enum ami_dar (nothing needs to be written then). `sel` is the selective access
     * (sel->present false when none). Required.
     */
    uint8_t (*get)(void *self, const ami_cosem_desc *ref, const ami_access_selection *sel,
                   const ami_dlms_ctx *ctx, ami_wr *out);
    /* Writes an attribute from `data`; returns an enum ami_dar. NULL: every SET is denied. */
    uint8_t (*set)(void *self, const ami_cosem_desc *ref, ami_view data, const ami_dlms_ctx *ctx);
    /*
     * Invokes a method with `params` (len 0 when the request had none). May write one Data of
     * return parameters into out (leave it empty for none). Returns an enum ami_action_result
     * (the DAR values). NULL: every ACTION is denied.
     */
    uint8_t (*action)(void *self, const ami_cosem_desc *ref, ami_view params,
                      const ami_dlms_ctx *ctx, ami_wr *out);
    /*
     * Object list iterator (for Association LN object_list): fills *obj with the object at
     * position *cursor (start with 0) and advances *cursor; returns false at the end. Objects
     * the association may not see can be skipped. Optional (NULL: no object list).
     */
    bool (*next_object)(void *self, size_t *cursor, const ami_dlms_ctx *ctx, ami_dlms_object *obj);
} ami_dlms_store_ops;

/* ---------------------------------------------------------------- policies */

/* How a client SAP may associate (one per SAP the server answers). */
typedef struct ami_dlms_policy {
    uint16_t client_sap;
    uint8_t context;   /* AMI_ACSE_CONTEXT_LN or AMI_ACSE_CONTEXT_SN: the only one accepted */
    uint8_t mechanism; /* AMI_ACSE_MECH_NONE or AMI_ACSE_MECH_LOW (HLS: see the file comment) */
    /* LLS secret (mechanism LOW): compared in constant time; the bytes stay caller-owned. */
    const uint8_t *password;
    size_t password_len;
    uint32_t conformance; /* offered; the association gets (offered & proposed) */
    uint16_t max_pdu;     /* server-max-receive-pdu-size (>= 12; 0 means 1024) */
    /*
     * Pre-established (Green Book 9.3.2.3): the association exists without AARQ; the engine
     * answers xDLMS requests at once with `conformance` and max_pdu as the client PDU size.
     * RLRQ is answered RLRE not-finished and the association stays.
     */
    bool pre_established;
} ami_dlms_policy;

/* ---------------------------------------------------------------- server */

typedef struct ami_dlms_server_config {
    const ami_dlms_store_ops *ops;
    void *store;                     /* the ops' `self` */
    const ami_dlms_policy *policies; /* caller-owned, must outlive the server */
    size_t policy_count;
    uint16_t server_sap; /* logical device (given to the store in ami_dlms_ctx); 0 means 1 */
    /* Limits for every Data received (NULL: ami_axdr_limits_default()). */
    const ami_axdr_limits *limits;
} ami_dlms_server_config;

typedef struct ami_dlms_server {
    ami_dlms_server_config cfg;
    ami_axdr_limits lim;
} ami_dlms_server;

/*
 * Initialises a server (copies *cfg; the ops, store and policies stay caller-owned).
 * Returns AMI_OK; AMI_E_INVAL for NULL arguments; AMI_E_CONFIG when ops lacks access/get, a
 * policy has a context other than LN/SN, a mechanism other than NONE/LOW, LOW without a
 * password, or a max_pdu below 12, or two policies share a client SAP.
 * Thread safety: the server is read-only after init; associations of one server may run on
 * several threads if the store is thread-safe.
 */
AMI_EXTERN int ami_dlms_server_init(ami_dlms_server *s, const ami_dlms_server_config *cfg);

/* The policy of a client SAP, or NULL when the server does not know it. */
AMI_EXTERN const ami_dlms_policy *ami_dlms_server_policy(const ami_dlms_server *s,
                                                         uint16_t client_sap);

/* ---------------------------------------------------------------- association */

/* Counters of one association (monotonic; reset by ami_dlms_assoc_init only). */
typedef struct ami_dlms_assoc_stats {
    uint64_t requests;  /* APDUs handled */
    uint64_t responses; /* APDUs produced */
    uint64_t malformed; /* APDUs that could not be decoded */
    uint64_t rejected;  /* requests refused (not associated, service not negotiated, ...) */
    uint64_t aarq_rejected;
    uint64_t blocks_out; /* GET datablocks / ACTION pblocks sent */
    uint64_t blocks_in;  /* SET datablocks / ACTION pblocks received */
} ami_dlms_assoc_stats;

/* Caller-owned memory of one association. */
typedef struct ami_dlms_assoc_mem {
    /*
     * Block buffer: holds a GET/ACTION response being served in blocks and SET/ACTION blocks
     * being accumulated. Its size is the ceiling of one value: a larger value is refused
     * (data-access-result other-reason; long-set-aborted). 1 KiB is enough for small meters;
     * an object list of 100 objects needs about 8 KiB.
     */
    uint8_t *block;
    size_t block_cap;
    /* Scratch for decoding with-list requests (ami_arena; about 40 bytes per list element). */
    uint8_t *scratch;
    size_t scratch_cap;
} ami_dlms_assoc_mem;

/* One association. Caller-allocated; fields are private (use the accessors). */
typedef struct ami_dlms_assoc {
    const ami_dlms_server *srv;
    const ami_dlms_policy *policy; /* NULL when the SAP is unknown */
    ami_dlms_assoc_mem mem;
    ami_dlms_ctx ctx;
    ami_dlms_assoc_stats stats;
    /* Block transfer in progress (one at a time; Green Book 9.3.7, 9.3.8, 9.3.9). */
    uint8_t blk_kind;        /* private: none, GET out, SET in, ACTION in, ACTION out */
    uint8_t blk_iip;         /* invoke-id-and-priority of the long service */
    bool blk_list;           /* the block data is a with-list sequence */
    uint32_t blk_number;     /* last block number sent / received */
    size_t blk_len;          /* bytes in mem.block */
    size_t blk_off;          /* bytes of mem.block already sent */
    ami_cosem_desc blk_ref;  /* SET/ACTION accumulation: the target */
    uint32_t blk_list_count; /* SET with-list: descriptors kept at the buffer end */
} ami_dlms_assoc;

/*
 * Initialises an association for a client SAP on server s, in the idle state (or associated at
 * once when the SAP's policy is pre-established). mem is copied; its buffers stay caller-owned
 * and must outlive the association. An unknown SAP is accepted here: its AARQs are rejected and
 * its other requests refused, as a meter does.
 * Returns AMI_OK; AMI_E_INVAL for NULL arguments or a NULL block buffer; AMI_E_CONFIG when
 * block_cap < 64.
 */
AMI_EXTERN int ami_dlms_assoc_init(ami_dlms_assoc *a, const ami_dlms_server *s, uint16_t client_sap,
                                   const ami_dlms_assoc_mem *mem);

/*
 * Handles one received APDU (req[0..len), a complete APDU after the transport's reassembly).
 * Writes the response APDU into out[0..cap) and returns its length, or 0 when nothing is to be
 * sent (an unconfirmed service, a response the Green Book does not allow). The response never
 * exceeds the client's negotiated max PDU size when associated (cap permitting); use cap >= the
 * largest PDU you negotiate (max_pdu of the policies) and at least 64.
 * Returns a negative AMI_E_INVAL (NULL arguments) or AMI_E_NOSPACE (cap too small for the
 * response; the request is lost, the association stays). Every protocol problem of the request
 * is answered, not returned. Not thread-safe per association.
 */
AMI_EXTERN int ami_dlms_assoc_handle(ami_dlms_assoc *a, const uint8_t *req, size_t len,
                                     uint8_t *out, size_t cap);

/*
 * The transport went down (HDLC DISC, TCP close): ends the association (a pre-established one
 * stays) and drops any block transfer. Counters are kept.
 */
AMI_EXTERN void ami_dlms_assoc_reset(ami_dlms_assoc *a);

/* Accessors. */
AMI_EXTERN uint8_t ami_dlms_assoc_state(const ami_dlms_assoc *a);
AMI_EXTERN const ami_dlms_ctx *ami_dlms_assoc_ctx(const ami_dlms_assoc *a);
AMI_EXTERN const ami_dlms_assoc_stats *ami_dlms_assoc_stats_get(const ami_dlms_assoc *a);

#ifdef __cplusplus
}
#endif
#endif
