/*
 * DLMS/COSEM client session security (Green Book 9.2.7 "Cryptographic protection", 9.2.7.4 HLS,
 * 9.4.2 ciphered AA establishment): what ami_dlms_client (ami/dlms_client.h) does when its
 * configuration points to an ami_dlms_client_sec.
 *
 *   - HLS mechanisms 2..7 with a built-in pass 3 / pass 4 (ami/hls.h) from the keys below; the
 *     session's hls_pass3 / hls_pass4 callbacks, when set, still take precedence;
 *   - a random CtoS challenge (16 bytes, from the OS) when the configuration gives none;
 *   - the security policy of the xDLMS APDUs: none, authenticated, encrypted or authenticated
 *     and encrypted, security suite 0, 1 or 2 (AES-GCM-128 / -128 / -256);
 *   - a ciphered InitiateRequest (glo-initiateRequest) in the AARQ (and the RLRQ), with an
 *     optional dedicated key (given, or drawn from the OS); the application context becomes
 *     "with ciphering" and the calling-AP-title the client system title;
 *   - ciphered requests: glo- (or ded- with a dedicated key) service-specific APDUs, or
 *     general-glo-/general-ded-ciphering (AMI_DLMS_SEC_FORM_GENERAL), or general-ciphering
 *     (AMI_DLMS_SEC_FORM_GC, ami/security_general.h) with key-info identified-key (the global
 *     unicast key), wrapped-key (a fresh random content key per request, RFC 3394-wrapped
 *     under the KEK) or agreed-key (suites 1, 2: a fresh ephemeral EC key per request, signed
 *     with sign_key, agreed with server_key; the response's ephemeral key must be signed by
 *     server_key); its transaction-id is the request's invocation counter as 8 bytes, and
 *     the response must carry the same one;
 *   - deciphering of every response with checks: the GCM tag, the server system title (the AARE
 *     responding-AP-title; a general-ciphering APDU that names another one is refused), the
 *     security level (a response less protected than the policy is a downgrade and refused;
 *     a plain exception-response or confirmed-service-error is let through: it carries no
 *     data), and the server invocation counter (it must increase: ami_replay, optionally
 *     persisted by the caller).
 *
 * A refused response makes ami_dlms_client_input() return the error below and nothing of the
 * APDU's payload is released (the plaintext buffer is wiped); ami_dlms_client_sec_describe()
 * then names the cause ("security: ...").
 *
 *   AMI_E_AUTH      GCM tag mismatch: wrong EK/AK, or a bit flipped in the APDU (or the HLS
 *                   pass-4 response did not verify: outcome AUTHENTICATION_FAILED instead)
 *   AMI_E_REPLAY    the server invocation counter did not increase
 *   AMI_E_PROTOCOL  the system title of a general-glo-ciphering response is not the server's
 *                   (cause SYSTEM_TITLE), or a response ciphered with no server title known
 *   AMI_E_ACCESS    downgrade: a plain or less protected response under a ciphering policy
 *   AMI_E_KEY       a broadcast- or dedicated-key response without that key
 *   AMI_E_MALFORMED the ciphered APDU does not parse, or another suite than configured
 *   AMI_E_RANGE     the client invocation counter is exhausted (2^32 - 1 used): new keys needed
 *   AMI_E_PROTOCOL  general-ciphering: the transaction-id is not the request's (TRANSACTION),
 *                   or the recipient system title is not ours (SYSTEM_TITLE)
 *   AMI_E_KEY       general-ciphering: a wrapped key that does not unwrap under the KEK
 *                   (UNWRAP), or a key-info we do not support (KEY)
 *   AMI_E_AUTH      agreed-key: the ephemeral key's signature does not verify (SIGNATURE)
 *
 * Client invocation counter: starts at cfg.ic, is used once per ciphered APDU (and once per
 * HLS-GMAC f(StoC)) and incremented; cfg.ic_save, when set, is called with the NEXT value
 * before the APDU that uses the current one is released, so a counter is never reused after a
 * crash; cfg.ic_warning is called once per session when the counter reaches cfg.ic_warn
 * (default 0xFFFF0000).
 *
 * Keys are copied into the context and wiped by ami_dlms_client_sec_wipe(); nothing here logs.
 * The context must not move after init (the replay guard points into it). Thread safety: as
 * the session it belongs to.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_DLMS_CLIENT_SEC_H
#define AMI_DLMS_CLIENT_SEC_H

#include <stdbool.h>
#include <stdint.h>

#include "ami/common.h"
#include "ami/hls.h"
#include "ami/security.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Security policy of xDLMS APDUs: the A and E bits of the security control byte >> 4. */
typedef enum ami_dlms_sec_level {
    AMI_DLMS_SEC_NONE = 0,     /* plain APDUs */
    AMI_DLMS_SEC_AUTH = 1,     /* authenticated (SC 0x10) */
    AMI_DLMS_SEC_ENC = 2,      /* encrypted only (SC 0x20): NO integrity protection */
    AMI_DLMS_SEC_AUTH_ENC = 3, /* authenticated and encrypted (SC 0x30) */
} ami_dlms_sec_level;

/* "none", "auth", "enc", "auth-enc" (the `ami dlms --security` spelling); "unknown". */
AMI_EXTERN const char *ami_dlms_sec_level_name(int level);
/* The reverse; AMI_E_NOTFOUND for another name. */
AMI_EXTERN int ami_dlms_sec_level_parse(const char *name);

/* How requests are ciphered. */
typedef enum ami_dlms_sec_form {
    AMI_DLMS_SEC_FORM_SERVICE = 0, /* glo-get-request ... (ded- with a dedicated key) */
    AMI_DLMS_SEC_FORM_GENERAL = 1, /* general-glo-ciphering / general-ded-ciphering */
    AMI_DLMS_SEC_FORM_GC = 2,      /* general-ciphering (0xDD) with cfg.key_info */
} ami_dlms_sec_form;

/* key-info of general-ciphering requests (the values of enum ami_gc_key_kind). */
enum {
    AMI_DLMS_SEC_KI_IDENTIFIED = 0, /* identified-key: global unicast key */
    AMI_DLMS_SEC_KI_WRAPPED = 1,    /* wrapped-key: random key wrapped under cfg.kek */
    AMI_DLMS_SEC_KI_AGREED = 2,     /* agreed-key: one-pass ECDH, suites 1/2, sign_key and
                                       server_key (ami_gc_agree_originator) */
};

/* Why a response was refused (ami_dlms_client_sec_refusal). */
typedef enum ami_dlms_sec_refusal {
    AMI_DLMS_SEC_REFUSAL_NONE = 0,
    AMI_DLMS_SEC_REFUSAL_TAG,          /* GCM tag mismatch (AMI_E_AUTH) */
    AMI_DLMS_SEC_REFUSAL_REPLAY,       /* server IC not increasing (AMI_E_REPLAY) */
    AMI_DLMS_SEC_REFUSAL_SYSTEM_TITLE, /* not the server's system title (AMI_E_PROTOCOL) */
    AMI_DLMS_SEC_REFUSAL_NO_TITLE,     /* no server system title known (AMI_E_PROTOCOL) */
    AMI_DLMS_SEC_REFUSAL_DOWNGRADE,    /* less protected than the policy (AMI_E_ACCESS) */
    AMI_DLMS_SEC_REFUSAL_SUITE,        /* another security suite (AMI_E_MALFORMED) */
    AMI_DLMS_SEC_REFUSAL_KEY,          /* broadcast/dedicated key not available (AMI_E_KEY) */
    AMI_DLMS_SEC_REFUSAL_MALFORMED,    /* the ciphered APDU does not parse */
    AMI_DLMS_SEC_REFUSAL_IC_EXHAUSTED, /* our own counter is used up (AMI_E_RANGE) */
    AMI_DLMS_SEC_REFUSAL_CRYPTO,       /* OpenSSL failed */
    AMI_DLMS_SEC_REFUSAL_TRANSACTION,  /* general-ciphering: not our transaction-id */
    AMI_DLMS_SEC_REFUSAL_UNWRAP,       /* general-ciphering: wrapped key does not unwrap */
    AMI_DLMS_SEC_REFUSAL_SIGNATURE,    /* agreed-key, general-signing: the server's signature
                                          does not verify */
} ami_dlms_sec_refusal;

/* A short name of the cause: "tag mismatch (wrong key or tampered APDU)", ... Never NULL. */
AMI_EXTERN const char *ami_dlms_sec_refusal_name(int refusal);

typedef struct ami_dlms_sec_config {
    uint8_t level;    /* enum ami_dlms_sec_level */
    uint8_t suite;    /* 0, 1 or 2 (2: 32-byte keys) */
    uint8_t form;     /* enum ami_dlms_sec_form */
    uint8_t key_info; /* AMI_DLMS_SEC_KI_*: general-ciphering requests (form GC) */
    /* general-signing (0xDF, suites 1 and 2): every request (plain or ciphered as the level
     * and form say) goes out wrapped in general-signing, signed with sign_key; responses must
     * come the same way, signed with server_key's private key (else SIGNATURE / DOWNGRADE). */
    bool general_signing;
    /* Client system title (8 bytes): required for ciphering and HLS mechanisms 5..7. */
    const uint8_t *client_title;
    /* Expected server system title (8 bytes) or NULL: learnt from the AARE
     * responding-AP-title; when given, an AARE naming another title is refused. */
    const uint8_t *server_title;
    const uint8_t *ek; /* global unicast encryption key: 16 bytes (suites 0, 1) or 32 (suite 2) */
    size_t ek_len;
    const uint8_t *ak; /* authentication key, same length rules */
    size_t ak_len;
    const uint8_t *bek; /* broadcast encryption key or NULL */
    size_t bek_len;
    const uint8_t *kek; /* key encryption key (16 or 32 bytes): wrapped-key; or NULL */
    size_t kek_len;
    /* Dedicated key (ded- ciphering after the association) or NULL; random_dedicated_key draws
     * one of the suite's key length from the OS instead. Needs an encrypting level (it travels
     * inside the glo-initiateRequest). */
    const uint8_t *dedicated_key;
    size_t dedicated_key_len;
    bool random_dedicated_key;
    /* HLS secret for mechanisms 2 (16-byte AES key), 3, 4 and 6; at most 64 bytes. */
    const uint8_t *hls_secret;
    size_t hls_secret_len;
    /* Mechanism 7: our private key (P-256 for suite 0/1, P-384 for suite 2) and the server's
     * public key. Borrowed (not copied): they must outlive the session. Also the keys of
     * general-ciphering agreed-key (each party's signing key is its key-agreement key). */
    EVP_PKEY *sign_key;
    EVP_PKEY *server_key;
    /* Client invocation counter (see the file comment). */
    uint32_t ic;
    uint32_t ic_warn; /* 0: 0xFFFF0000 */
    int (*ic_save)(void *user, uint32_t next_ic);
    void (*ic_warning)(void *user, uint32_t ic);
    void *user;
    /* Optional persistence of the server's last invocation counter (ami/security.h). */
    const ami_replay_store *server_ic_store;
    /* Scratch the size of the largest APDU exchanged (requests are ciphered from it, responses
     * deciphered into it); caller-owned, at least 64 bytes. Wiped after each use. */
    uint8_t *buf;
    size_t cap;
} ami_dlms_sec_config;

/* The security context of one client session. Caller-allocated; fields are private. */
typedef struct ami_dlms_client_sec {
    ami_dlms_sec_config cfg; /* copied; key pointers cleared (the keys live below) */
    /* one cipher context per key and direction: a context switching between encryption and
     * decryption is re-keyed each time (ami/security.h) */
    ami_sec_ctx glo, ded;            /* requests */
    ami_sec_ctx glo_rx, bro, ded_rx; /* responses */
    uint8_t client_title[AMI_SEC_SYSTEM_TITLE_LEN];
    uint8_t server_title[AMI_SEC_SYSTEM_TITLE_LEN];
    uint8_t dedicated[AMI_SEC_KEY_MAX];
    uint8_t kek[AMI_SEC_KEY_MAX];
    uint8_t kek_len;
    uint8_t txid[8]; /* general-ciphering: transaction-id of the last request */
    bool txid_set;
    uint8_t secret[64];
    size_t secret_len;
    uint8_t dedicated_len;
    uint8_t stoc[AMI_HLS_CHALLENGE_MAX]; /* the server's challenge (HLS pass 4 of mech 6, 7) */
    size_t stoc_len;
    bool have_server_title, expect_title, has_bek, ded_active, warned, own_ctos;
    uint32_t ic;
    bool ic_exhausted;
    ami_replay replay;
    ami_replay_entry slot[1];
    uint8_t refusal;       /* enum ami_dlms_sec_refusal of the last refusal */
    int refusal_rc;        /* the error returned with it */
    uint32_t refused_ic;   /* the counter of a replayed response */
    uint32_t refused_last; /* the last counter accepted from that sender (state included) */
    uint32_t last_ic;      /* the last server counter accepted */
    bool last_secured;     /* the last response came ciphered (or was a plain error report) */
} ami_dlms_client_sec;

/*
 * Initialises *s from *cfg (copied; keys copied). Returns AMI_OK; AMI_E_INVAL (NULL);
 * AMI_E_CONFIG (level or suite out of range, no scratch buffer or cap < 64, a ciphering level or
 * dedicated key without client system title, a dedicated key without encryption); AMI_E_KEY
 * (a key of the wrong length for the suite, a ciphering level without EK, an authenticating
 * level without AK, an HLS secret over 64 bytes); AMI_E_NOMEM / AMI_E_CRYPTO (OpenSSL). On
 * failure *s is wiped.
 */
AMI_EXTERN int ami_dlms_client_sec_init(ami_dlms_client_sec *s, const ami_dlms_sec_config *cfg);

/* Overwrites every key and frees the OpenSSL contexts. NULL is a no-op; safe twice. */
AMI_EXTERN void ami_dlms_client_sec_wipe(ami_dlms_client_sec *s);

/* The next client invocation counter (the one the next ciphered APDU will carry). */
AMI_EXTERN uint32_t ami_dlms_client_sec_ic(const ami_dlms_client_sec *s);
/* Sets the next client invocation counter (e.g. from a state file or a counter read). */
AMI_EXTERN void ami_dlms_client_sec_set_ic(ami_dlms_client_sec *s, uint32_t ic);
/* The last server invocation counter accepted (0 before any). */
AMI_EXTERN uint32_t ami_dlms_client_sec_server_ic(const ami_dlms_client_sec *s);
/* Switches the form of the following requests (enum ami_dlms_sec_form; another value: the
 * service-specific form). Form GC with wrapped-key needs the KEK given at init. */
AMI_EXTERN void ami_dlms_client_sec_set_form(ami_dlms_client_sec *s, uint8_t form);
/* The server system title once known (from the configuration or the AARE), else NULL. */
AMI_EXTERN const uint8_t *ami_dlms_client_sec_server_title(const ami_dlms_client_sec *s);
/* The dedicated key in use (NULL when none); len receives its length. For tests only: never
 * print it. */
AMI_EXTERN const uint8_t *ami_dlms_client_sec_dedicated_key(const ami_dlms_client_sec *s,
                                                            size_t *len);

/* The cause of the last refusal (AMI_DLMS_SEC_REFUSAL_NONE when none since init). */
AMI_EXTERN int ami_dlms_client_sec_refusal(const ami_dlms_client_sec *s);

/*
 * Writes "security: <cause>" for the last refusal (with the counters of a replay), e.g.
 * "security: replayed invocation counter 5 (last accepted 7)". Returns the length or
 * AMI_E_NOSPACE (cap < 128), AMI_E_INVAL.
 */
AMI_EXTERN int ami_dlms_client_sec_describe(const ami_dlms_client_sec *s, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
