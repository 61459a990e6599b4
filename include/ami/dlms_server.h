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
 * Security (docs/dlms-security.md): a policy with an ami_dlms_sec_policy gets HLS (mechanisms
 * 2..7, four passes with reply_to_HLS_authentication), ciphered APDUs (glo-/ded- service APDUs,
 * general-glo-/general-ded-ciphering, ciphered InitiateRequest/Response), a replay guard,
 * downgrade refusal, and the Security Setup object (class 64, 0-0:43.0.0.255) plus invocation
 * counter objects 0-0:43.1.x.255 served by the engine itself. Keys come from the caller's key
 * provider at each use (nothing per association but a dedicated key).
 *
 * Also: general block transfer (Green Book 9.4.6.13: requests reassembled from blocks,
 * responses streamed in windows, lost blocks recovered; ami_dlms_assoc_set_gbt and
 * ami_dlms_assoc_next), short-name Read/Write/UnconfirmedWrite through base names computed from
 * the store's object list with the Association SN object served by the engine
 * (ami_dlms_sn_resolve), attribute 0, ACTION-with-list-and-first-pblock and long ACTION return
 * data in pblocks. On a SAP with security, GBT carries the ciphered APDUs and long responses
 * keep the service-specific block transfer inside the ciphering.
 *
 * Short-name Read responses too long for the client's PDU go out in data-block-result blocks
 * (Green Book 9.3.14) when block transfer with Read was agreed, in GBT when GBT was.
 * Not covered here (yet): general-ciphering (0xDD), SN requests sent in blocks
 * (read-data-block-access, write-data-block-access).
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_DLMS_SERVER_H
#define AMI_DLMS_SERVER_H

#include <stdbool.h>

#include "ami/apdu.h"
#include "ami/arena.h"
#include "ami/bytes.h"
#include "ami/hls.h"
#include "ami/security.h"
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
    bool apdu_encrypted;     /* the current request came ciphered with encryption */
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
    uint8_t mechanism; /* AMI_ACSE_MECH_*: NONE, LOW; HIGH..ECDSA (2..7) need `sec` */
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
    /*
     * Security of this SAP (HLS, ciphering), or NULL for none. Requires the server config's
     * `sec`. Caller-owned, must outlive the server.
     */
    const struct ami_dlms_sec_policy *sec;
    /*
     * General block transfer (Green Book 9.3.10, 9.4.6.13), when `conformance` offers
     * AMI_CONF_GENERAL_BLOCK_TRANSFER and the association has GBT buffers: the receive window
     * the server announces and the most blocks it streams before waiting for an acknowledgement
     * (1..63; 0 means 1). Above 1 the transport must drain ami_dlms_assoc_next() after each
     * ami_dlms_assoc_handle().
     */
    uint8_t gbt_window;
} ami_dlms_policy;

/* ---------------------------------------------------------------- security */

/*
 * Security policy bits (Blue Book 4.4.7 Security Setup version 1, attribute 2 security_policy).
 * Request bits: a plain (or weaker) request is refused (downgrade). Response bits: responses are
 * protected at least so, on top of the protection the request came with.
 */
#define AMI_DLMS_SECPOL_AUTH_REQUEST  0x04u
#define AMI_DLMS_SECPOL_ENC_REQUEST   0x08u
#define AMI_DLMS_SECPOL_AUTH_RESPONSE 0x20u
#define AMI_DLMS_SECPOL_ENC_RESPONSE  0x40u
/* All four: what "authenticated encryption" means for a management client. */
#define AMI_DLMS_SECPOL_AUTH_ENC                                                                  \
    (AMI_DLMS_SECPOL_AUTH_REQUEST | AMI_DLMS_SECPOL_ENC_REQUEST | AMI_DLMS_SECPOL_AUTH_RESPONSE | \
     AMI_DLMS_SECPOL_ENC_RESPONSE)

/* How one client SAP is secured. */
typedef struct ami_dlms_sec_policy {
    uint8_t suite; /* security suite 0 (AES-128-GCM), 1 (same, ECDSA P-256), 2 (AES-256) */
    uint8_t security_policy; /* AMI_DLMS_SECPOL_* bits (0: ciphering accepted, not demanded) */
    uint8_t challenge_len;   /* StoC length, 8..64 (0 means 16) */
    /* The client's system title (8 bytes); NULL: any, taken from the AARQ calling-AP-title. A
     * different title in the AARQ is refused (calling-AP-title-not-recognized). */
    const uint8_t *client_system_title;
    /* Mechanism 2: f(X) hook (NULL: AES-128-ECB with the HLS secret, ami/hls.h). */
    ami_hls_custom_fn hls_custom;
    void *hls_custom_user;
    /* Mechanism 7: the server's private key (signs f(CtoS)) and the client's public key (checks
     * f(StoC)); P-256 for suites 0/1, P-384 for suite 2. Caller-owned. Also the keys of
     * general-ciphering agreed-key (suites 1, 2): the server's static key-agreement and
     * signing key, and the client's (ami/security_general.h, ami_gc_agree_*); and of
     * general-signing (0xDF): a signed request is verified with client_verify_key before
     * anything else (bad-signature), its content (plain or ciphered) served, and the response
     * signed with server_sign_key, with the request's transaction-id. */
    EVP_PKEY *server_sign_key;
    EVP_PKEY *client_verify_key;
    /*
     * Serve Security Setup version 0 (Blue Book 4.4.7) instead of version 1, for old clients:
     * attributes 1..5 (security_policy as the version-0 enum 0 nothing, 1 all messages
     * authenticated, 2 all encrypted, 3 both), methods security_activate (that enum) and
     * global_key_transfer. Requires suite 0 and a security_policy that is 0, AUTH_REQUEST |
     * AUTH_RESPONSE, ENC_REQUEST | ENC_RESPONSE or AMI_DLMS_SECPOL_AUTH_ENC.
     */
    bool setup_v0;
} ami_dlms_sec_policy;

/* Key ids (Blue Book 4.4.7 key_transfer key_id). */
enum ami_dlms_key_id {
    AMI_DLMS_KEY_GUEK = 0, /* global unicast encryption key */
    AMI_DLMS_KEY_GBEK = 1, /* global broadcast encryption key */
    AMI_DLMS_KEY_AK = 2,   /* authentication key */
    AMI_DLMS_KEY_KEK = 3,  /* master key (key encryption key) */
};

/*
 * The keys of one client SAP, as the key provider lends them: pointers into the provider's own
 * storage, valid until the engine call that asked for them returns. Absent keys: NULL / 0.
 */
typedef struct ami_dlms_keys {
    const uint8_t *guek; /* 16 (suites 0, 1) or 32 (suite 2) bytes */
    size_t guek_len;
    const uint8_t *gbek; /* optional: requests with the key-set bit use it */
    size_t gbek_len;
    const uint8_t *ak; /* 16 or 32 bytes; required for authenticated APDUs and HLS-GMAC */
    size_t ak_len;
    const uint8_t *kek; /* required for key_transfer */
    size_t kek_len;
    const uint8_t *hls_secret; /* mechanisms 2 (16-byte AES key), 3, 4, 6 */
    size_t hls_secret_len;
} ami_dlms_keys;

/*
 * Key provider: one for the whole server, so a fleet of meters shares one key store and nothing
 * is copied per association. Callbacks run synchronously inside ami_dlms_assoc_handle().
 */
typedef struct ami_dlms_key_provider {
    /* Fills *keys for client_sap. Returns AMI_OK or an AMI_E_* code (the request is then
     * refused as a deciphering error). Required. */
    int (*get)(void *user, uint16_t client_sap, ami_dlms_keys *keys);
    /*
     * Security Setup key_transfer: replaces key `key_id` of client_sap with key[0..len) (already
     * unwrapped; wipe nothing, the engine wipes its copy). Called only after every key of the
     * method unwrapped, and after the response was built with the old keys. Returns AMI_OK or
     * an AMI_E_* code. NULL: key_transfer is refused (read-write-denied).
     */
    int (*update)(void *user, uint16_t client_sap, uint8_t key_id, const uint8_t *key, size_t len);
    /*
     * The server's invocation counter: stores *ic = the counter to use for the next APDU the
     * server ciphers for client_sap (never one used before with the same key), after making
     * the increment durable. Returns AMI_OK or an AMI_E_* code (nothing is sent then: a reused
     * counter would break GCM). Required.
     */
    int (*next_ic)(void *user, uint16_t client_sap, uint32_t *ic);
    void *user;
} ami_dlms_key_provider;

/* Security events (also counted in ami_dlms_assoc_stats). */
enum ami_dlms_sec_event {
    AMI_DLMS_SEC_EV_AUTH_FAILED = 1,      /* HLS f(StoC) did not check, or LLS/HLS AARQ refused */
    AMI_DLMS_SEC_EV_BAD_TAG = 2,          /* a ciphered APDU did not authenticate or decrypt */
    AMI_DLMS_SEC_EV_REPLAY = 3,           /* invocation counter at or below the last accepted */
    AMI_DLMS_SEC_EV_DOWNGRADE = 4,        /* weaker protection than the security policy demands */
    AMI_DLMS_SEC_EV_SYSTEM_TITLE = 5,     /* wrong or missing client system title */
    AMI_DLMS_SEC_EV_KEY_CHANGED = 6,      /* key_transfer installed new keys */
    AMI_DLMS_SEC_EV_POLICY_ACTIVATED = 7, /* security_activate raised the policy */
    /* general-ciphering: the content key could not be had (key-info absent or not supported,
     * a wrapped key that does not unwrap under the KEK, no KEK, a key of the wrong length);
     * a value apart from the others so that new events elsewhere do not collide */
    AMI_DLMS_SEC_EV_KEY_REFUSED = 12,
    /* general-ciphering agreed-key: the signature over the ephemeral key, or general-signing:
     * the request's signature, does not verify with the client's public key (policy
     * client_verify_key) */
    AMI_DLMS_SEC_EV_BAD_SIGNATURE = 13,
};

/* "auth-failed", "bad-tag", "replay", "downgrade", "system-title", ...; never NULL. */
AMI_EXTERN const char *ami_dlms_sec_event_name(int event);

/* Server-wide security configuration (ami_dlms_server_config.sec). */
typedef struct ami_dlms_server_sec {
    const uint8_t *system_title; /* the server's 8-byte system title; required */
    ami_dlms_key_provider keys;
    /*
     * Replay guard over the clients' system titles (ami/security.h), shared by every
     * association of the server (a client must not replay across connections). Required. It is
     * mutable: associations that share it must not run concurrently (or the caller locks).
     */
    ami_replay *replay;
    /* Security events: called synchronously with the association's context. Optional. */
    void (*on_event)(void *user, const ami_dlms_ctx *ctx, int event);
    void *event_user;
    /* StoC source: fills out[0..len) with random bytes (NULL: ami_hls_challenge, the OS random
     * source). Tests use it to replay recorded sessions. Returns AMI_OK or an AMI_E_* code. */
    int (*challenge)(void *user, uint8_t *out, size_t len);
    void *challenge_user;
    /* Key pairs and certificates of Security Setup version 1 (ami/dlms_cert.h): NULL, the
     * certificates attribute is empty and the certificate methods are denied. */
    const struct ami_dlms_cert_provider *certs;
} ami_dlms_server_sec;

/* ---------------------------------------------------------------- server */

typedef struct ami_dlms_server_config {
    const ami_dlms_store_ops *ops;
    void *store;                     /* the ops' `self` */
    const ami_dlms_policy *policies; /* caller-owned, must outlive the server */
    size_t policy_count;
    uint16_t server_sap; /* logical device (given to the store in ami_dlms_ctx); 0 means 1 */
    /* Limits for every Data received (NULL: ami_axdr_limits_default()). */
    const ami_axdr_limits *limits;
    /* Security (NULL: no policy may have `sec`). Caller-owned, must outlive the server. When
     * set, the invocation counter objects 0-0:43.1.x.255 are served to every association. */
    const ami_dlms_server_sec *sec;
} ami_dlms_server_config;

typedef struct ami_dlms_server {
    ami_dlms_server_config cfg;
    ami_axdr_limits lim;
} ami_dlms_server;

/*
 * Initialises a server (copies *cfg; the ops, store and policies stay caller-owned).
 * Returns AMI_OK; AMI_E_INVAL for NULL arguments; AMI_E_CONFIG when ops lacks access/get, a
 * policy has a context other than LN/SN, a mechanism above 7, HLS (2..7) without `sec`, LOW
 * without a password, or a max_pdu below 12, two policies share a client SAP, a policy has `sec`
 * but the config has none (or it lacks a system title, keys.get, keys.next_ic or replay), a
 * suite above 2, a challenge_len outside 8..64, or mechanism 7 without both EC keys.
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
    /* Security refusals (each also an ami_dlms_sec_event). */
    uint64_t auth_failed;   /* HLS / LLS authentication failures */
    uint64_t bad_tag;       /* ciphered APDUs that did not authenticate / decrypt */
    uint64_t replays;       /* invocation counter not above the last accepted */
    uint64_t downgrades;    /* protection weaker than the policy */
    uint64_t system_title;  /* wrong or missing client system title */
    uint64_t key_refused;   /* general-ciphering content key not available (KEY_REFUSED) */
    uint64_t bad_signature; /* agreed-key ephemeral key signature refused (BAD_SIGNATURE) */
    uint64_t ciphered_in;   /* ciphered requests accepted */
    uint64_t ciphered_out;  /* ciphered responses sent */
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
    /*
     * Ciphering buffer (required on a SAP with a security policy): holds the deciphered request
     * and the response before it is ciphered. Size: the policy's max_pdu plus the largest
     * response (the client's max PDU, at most the handle() cap); 2 * max_pdu + 64 suffices.
     */
    uint8_t *cipher;
    size_t cipher_cap;
} ami_dlms_assoc_mem;

/* Security state of one association (private; wiped on reset). */
typedef struct ami_dlms_assoc_sec {
    uint8_t client_st[AMI_SEC_SYSTEM_TITLE_LEN]; /* from the AARQ calling-AP-title */
    bool has_client_st;
    bool ciphered_context; /* the AARQ used the ..._With_Ciphering context */
    uint8_t policy;        /* security_policy in force (security_activate may raise it) */
    uint8_t ctos_len, stoc_len;
    uint8_t ctos[AMI_HLS_CHALLENGE_MAX];
    uint8_t stoc[AMI_HLS_CHALLENGE_MAX];
    uint8_t dedicated_key[AMI_SEC_KEY_MAX]; /* from a ciphered InitiateRequest */
    uint8_t dedicated_key_len;
    /* Keys from key_transfer, installed after the response is built. */
    uint8_t pending_count;
    uint8_t pending_id[4];
    uint8_t pending_len[4];
    uint8_t pending_key[4][AMI_SEC_KEY_MAX];
    /* Cipher contexts kept keyed while the association lives: [0] global unicast key, [1]
     * dedicated key. Created on first use (by OpenSSL), rekeyed only when the key changes
     * (key_transfer, a new dedicated key), wiped and freed by ami_dlms_assoc_reset(). */
    ami_sec_ctx cache[2];
    uint8_t cert_refusal; /* enum ami_dlms_cert_refusal of the last certificate method */
} ami_dlms_assoc_sec;
/* State of the general block transfer of an association (private). */
typedef struct ami_dlms_gbt_state {
    uint16_t peer_bn;    /* last client block number received in sequence */
    uint16_t own_bn;     /* last block number the server used */
    uint16_t tx_first;   /* block number of the response's first block */
    uint16_t tx_last;    /* block number of the response's last block */
    uint16_t tx_next;    /* next block to stream (ami_dlms_assoc_next), 0: none */
    uint16_t tx_end;     /* last block of the window being streamed */
    uint8_t peer_window; /* the client's receive window (from its last GBT APDU) */
    bool rx_active;      /* a request is being reassembled */
    size_t rx_len;       /* bytes in mem.gbt_rx */
    size_t tx_len;       /* response bytes in mem.gbt_tx (0: no response in blocks) */
    size_t tx_chunk;     /* block-data bytes per block */
    uint8_t *rx;         /* buffers given by ami_dlms_assoc_set_gbt() */
    size_t rx_cap;
    uint8_t *tx;
    size_t tx_cap;
    uint8_t stream; /* most blocks sent in a row (0: the policy's window) */
} ami_dlms_gbt_state;

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
    ami_dlms_assoc_sec sec;  /* security state (policies with `sec`) */
    ami_dlms_gbt_state gbt;  /* general block transfer (Green Book 9.4.6.13) */
} ami_dlms_assoc;

/*
 * Initialises an association for a client SAP on server s, in the idle state (or associated at
 * once when the SAP's policy is pre-established). mem is copied; its buffers stay caller-owned
 * and must outlive the association. An unknown SAP is accepted here: its AARQs are rejected and
 * its other requests refused, as a meter does.
 * Returns AMI_OK; AMI_E_INVAL for NULL arguments or a NULL block buffer; AMI_E_CONFIG when
 * block_cap < 64, or the SAP's policy has security and mem->cipher is NULL or cipher_cap is
 * below 2 * max_pdu + 64.
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
 * response; the request is lost, the association stays), or an error of the key provider's
 * next_ic (nothing is sent). Every protocol problem of the request is answered, not returned;
 * a ciphered request that is refused (bad tag, replay, downgrade) is answered with a plain
 * exception-response that carries no plaintext. On a secured SAP, the first ciphered APDU makes
 * OpenSSL allocate the association's cipher contexts (freed by ami_dlms_assoc_reset()).
 * Not thread-safe per association.
 */
AMI_EXTERN int ami_dlms_assoc_handle(ami_dlms_assoc *a, const uint8_t *req, size_t len,
                                     uint8_t *out, size_t cap);

/*
 * Gives an association the buffers of general block transfer (Green Book 9.4.6.13); without
 * them GBT is never negotiated (the conformance bit is removed from the AARE). rx reassembles a
 * request that arrives in blocks (rx_cap is the longest request accepted); tx holds a whole
 * response while it goes out in blocks (tx_cap must be at least the block buffer's size + 16,
 * so every value the block buffer holds fits). stream: the most blocks this transport can send
 * in a row (1 when it carries one response per request, as HDLC in normal response mode does
 * unless the client polls; 0: the policy's gbt_window). Call after ami_dlms_assoc_init() and
 * before the association is established; the buffers stay caller-owned. Returns AMI_OK;
 * AMI_E_INVAL for NULL arguments; AMI_E_CONFIG when rx_cap < 16 or tx_cap < block_cap + 16.
 */
AMI_EXTERN int ami_dlms_assoc_set_gbt(ami_dlms_assoc *a, uint8_t *rx, size_t rx_cap, uint8_t *tx,
                                      size_t tx_cap, uint8_t stream);

/*
 * General block transfer streaming: after ami_dlms_assoc_handle() returned a GBT block with the
 * streaming bit set, call this until it returns 0 to get the other blocks of the window
 * (Green Book 9.4.6.13: up to the client's window, and at most the policy's gbt_window, are
 * sent before the client acknowledges). Writes one APDU into out[0..cap) and returns its
 * length; 0 when nothing more is to be sent now; AMI_E_INVAL (NULL arguments) or AMI_E_NOSPACE.
 */
AMI_EXTERN int ami_dlms_assoc_next(ami_dlms_assoc *a, uint8_t *out, size_t cap);

/*
 * Short-name referencing (Blue Book 4.1.3, Green Book 9.1.4.2): in an SN association the
 * objects of the store are addressed by base names computed from the store's object list in
 * its order: the Association SN object (class 12, 0-0:40.0.0.255, served by the engine) is at
 * AMI_DLMS_SN_ASSOCIATION_BASE; the other objects (Association LN objects excepted) get
 * consecutive ranges from AMI_DLMS_SN_FIRST_BASE. Attribute i of an object is at base +
 * 8 * (i - 1); method j at base + first_method_offset(class) + 8 * (j - 1), with the class
 * offsets of the Blue Book (Register 0x28, Extended register 0x38, Demand register 0x48,
 * Profile generic 0x58, Clock 0x60, Association SN 0x20; other classes: right after their
 * attributes).
 */
#define AMI_DLMS_SN_ASSOCIATION_BASE  0xFA00u
#define AMI_DLMS_SN_FIRST_BASE        0x1000u
#define AMI_DLMS_CLASS_ASSOCIATION_SN 12u

/* What a short name designates. */
typedef struct ami_dlms_sn_target {
    uint16_t base;          /* the object's base name */
    ami_dlms_object object; /* class, version, logical name, attribute and method counts */
    bool method;            /* true: method `id`; false: attribute `id` */
    uint8_t id;
} ami_dlms_sn_target;

/* Offset of method 1 from the base name for a class (Blue Book short-name tables). */
AMI_EXTERN uint16_t ami_dlms_sn_method_offset(uint16_t class_id, uint8_t attr_count);

/*
 * Resolves a short name in the object list the store shows to ctx. Returns true and fills
 * *out when `name` designates an attribute or method of an object (or of the Association SN
 * object); false otherwise. O(objects) per call; never allocates.
 */
AMI_EXTERN bool ami_dlms_sn_resolve(const ami_dlms_server *s, const ami_dlms_ctx *ctx,
                                    uint16_t name, ami_dlms_sn_target *out);

/*
 * The transport went down (HDLC DISC, TCP close): ends the association (a pre-established one
 * stays) and drops any block transfer. The dedicated key, the challenges and the cipher contexts
 * the association kept keyed (see below) are wiped, and those contexts freed. Counters are kept.
 * Call it before freeing (or re-initialising) an association that served ciphered APDUs: such
 * an association holds two OpenSSL cipher contexts per key it used (global unicast, dedicated),
 * created by OpenSSL on the first ciphered APDU and kept until this call, a new AARQ or an RLRQ,
 * so that the key schedule is computed once per key and direction instead of once per APDU.
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
