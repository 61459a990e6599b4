/*
 * DLMS/COSEM symmetric security: the security header, AES-GCM ciphering (suites 0, 1 and 2),
 * the ciphered APDUs that carry it, and a replay guard for invocation (frame) counters.
 *
 * One implementation serves every user of DLMS ciphering: the DSMR P1 decryption of
 * Luxembourg (Smarty) and Austrian meters, and the xDLMS client and server (glo-/ded-
 * service APDUs, general-glo-ciphering, general-ded-ciphering).
 *
 * References: DLMS UA 1000-2 (Green Book) ed. 9, 9.2.7.2 "Security header" (security control
 * byte), 9.2.7.2.4 "Authenticated encryption with AES-GCM" (initialisation vector, additional
 * authenticated data), 9.2.7.2.4.5 / Table 40 "Ciphered APDUs"; NIST SP 800-38D (GCM).
 *
 * Security header, as it prefixes the ciphered content of every ciphered APDU:
 *
 *     SC (1 byte) || IC (4 bytes, big-endian) || payload || tag (12 bytes when SC has A)
 *
 *   SC bits 0-3  security suite id (0: AES-GCM-128; 1: AES-GCM-128 + ECDSA P-256;
 *                2: AES-GCM-256 + ECDSA P-384)
 *   SC bit 4     A: authenticated (a 12-byte GCM tag follows the payload)
 *   SC bit 5     E: encrypted
 *   SC bit 6     key set: 0 = unicast key (GUEK), 1 = broadcast key (GBEK)
 *   SC bit 7     compression: refused (AMI_E_UNSUPPORTED); no meter in the field uses it
 *
 * IV  = system title of the sender (8 bytes) || IC (4 bytes)            (Green Book 9.2.7.2.4.3)
 * AAD = SC || AK                          when A and E are set
 *     = SC || AK || payload (plaintext)   when only A is set (GMAC over the information)
 *     = none, and no tag                  when only E is set: such frames carry NO integrity
 *       protection at all. A flipped ciphertext bit flips the same plaintext bit; whatever
 *       parses the plaintext must therefore be strict (see ami/p1crypt.h).
 *
 * Keys live inside the caller-owned ami_sec_ctx; they are never logged and are overwritten by
 * ami_sec_ctx_wipe(). A context holds one block cipher key: the caller picks the context whose
 * key matches the key-set bit of SC (unicast GUEK or broadcast GBEK). A context holds two OpenSSL
 * cipher contexts (one per direction), created by ami_sec_ctx_init() (the only allocations, done
 * by OpenSSL), so that the AES key schedule is computed once per key and direction rather than
 * once per frame; setting the key a context already holds keeps them keyed.
 *
 * Thread safety: functions on distinct contexts may run concurrently; one context must not be
 * used from two threads at once. The parse functions are pure and thread-safe.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_SECURITY_H
#define AMI_SECURITY_H

#include <stdbool.h>
#include <stdint.h>

#include "ami/bytes.h"
#include "ami/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- constants */

#define AMI_SEC_SC_SUITE_MASK    0x0Fu /* security suite id */
#define AMI_SEC_SC_AUTH          0x10u /* A: authentication (GCM tag present) */
#define AMI_SEC_SC_ENC           0x20u /* E: encryption */
#define AMI_SEC_SC_KEY_SET       0x40u /* 1 = broadcast key, 0 = unicast key */
#define AMI_SEC_SC_COMPRESS      0x80u /* compression: not supported */

#define AMI_SEC_SYSTEM_TITLE_LEN 8  /* Green Book 4.3.4: 8 bytes, first 3 = FLAG manufacturer id */
#define AMI_SEC_HEADER_LEN       5  /* SC + IC */
#define AMI_SEC_TAG_LEN          12 /* GCM tag length used by DLMS (Green Book 9.2.7.2.4.5) */
#define AMI_SEC_KEY_MAX          32 /* AES-256 */

/* APDU tags (Green Book Table 40 / the xDLMS ASN.1 module). */
#define AMI_SEC_TAG_GENERAL_GLO 0xDBu /* general-glo-ciphering */
#define AMI_SEC_TAG_GENERAL_DED 0xDCu /* general-ded-ciphering */

/* Security levels a context accepts on decryption (ami_sec_ctx.accept). */
#define AMI_SEC_ACCEPT_AUTH_ENC 0x1u /* SC with A and E: authenticated encryption */
#define AMI_SEC_ACCEPT_AUTH     0x2u /* SC with A only: authenticated, plaintext payload */
#define AMI_SEC_ACCEPT_ENC      0x4u /* SC with E only: encrypted, NOT authenticated */

/* ---------------------------------------------------------------- context */

/*
 * Ciphering context. Caller-owned; initialise with ami_sec_ctx_init(), release with
 * ami_sec_ctx_wipe(). Fields are private except `accept`, which the caller may set after
 * init (default AMI_SEC_ACCEPT_AUTH_ENC | AMI_SEC_ACCEPT_AUTH: unauthenticated frames are
 * refused unless AMI_SEC_ACCEPT_ENC is added by name).
 */
typedef struct ami_sec_ctx {
    unsigned accept;             /* AMI_SEC_ACCEPT_* bits */
    uint8_t ek[AMI_SEC_KEY_MAX]; /* block cipher key (GUEK or GBEK) */
    uint8_t ak[AMI_SEC_KEY_MAX]; /* authentication key */
    uint8_t ek_len;              /* 0 (unset), 16 or 32 */
    uint8_t ak_len;              /* 0 (unset), 16 or 32 */
    uint8_t keyed;               /* private: bit 0 evp_dec, bit 1 evp keyed with ek */
    void *evp;                   /* private: EVP_CIPHER_CTX, encryption (and GMAC) */
    void *evp_dec;               /* private: EVP_CIPHER_CTX, decryption */
} ami_sec_ctx;

/*
 * Initialises *ctx with no keys and the default acceptance policy.
 * Returns AMI_OK, AMI_E_INVAL (ctx NULL) or AMI_E_NOMEM (OpenSSL could not allocate its
 * cipher context). On failure *ctx needs no wipe, but wiping it is harmless.
 */
AMI_EXTERN int ami_sec_ctx_init(ami_sec_ctx *ctx);

/*
 * Sets the block cipher key (16 bytes for suites 0/1, 32 for suite 2). The key is copied. Setting
 * the key the context already holds (compared in constant time) changes nothing, so a caller may
 * set it before every message and pay the key schedule only when it changes.
 * Returns AMI_OK, AMI_E_INVAL (NULL) or AMI_E_KEY (length not 16 or 32).
 */
AMI_EXTERN int ami_sec_ctx_set_ek(ami_sec_ctx *ctx, const uint8_t *key, size_t len);

/*
 * Sets the authentication key (used only as part of the AAD; 16 or 32 bytes). The key is
 * copied. Returns AMI_OK, AMI_E_INVAL (NULL) or AMI_E_KEY (length not 16 or 32).
 */
AMI_EXTERN int ami_sec_ctx_set_ak(ami_sec_ctx *ctx, const uint8_t *key, size_t len);

/*
 * Overwrites both keys, frees the OpenSSL cipher context and leaves *ctx unusable until the
 * next ami_sec_ctx_init(). Safe on a zeroed or already wiped context; NULL is a no-op.
 */
AMI_EXTERN void ami_sec_ctx_wipe(ami_sec_ctx *ctx);

/* ---------------------------------------------------------------- ciphering */

/*
 * Checks a security control byte against the context: returns AMI_OK, AMI_E_UNSUPPORTED
 * (compression bit, or a suite id other than 0, 1, 2), AMI_E_MALFORMED (neither A nor E: no
 * protection in a ciphered APDU), AMI_E_ACCESS (a security level not in ctx->accept) or
 * AMI_E_KEY (no block cipher key, a key length that does not match the suite, or A without
 * an authentication key).
 */
AMI_EXTERN int ami_sec_check_sc(const ami_sec_ctx *ctx, uint8_t sc);

/*
 * Protects `n` bytes of `in` according to `sc` and writes the payload (ciphertext, or a copy
 * of the plaintext when only A is set) to `out` (capacity >= n; may equal `in`) and, when A is
 * set, the 12-byte tag to `tag`.
 * system_title: the sender's 8-byte system title. ic: the invocation counter of this message.
 * Returns AMI_OK, the errors of ami_sec_check_sc() (ignoring ctx->accept), AMI_E_INVAL,
 * AMI_E_TOO_LARGE (n > INT32_MAX) or AMI_E_CRYPTO.
 */
AMI_EXTERN int ami_sec_encrypt(ami_sec_ctx *ctx, const uint8_t system_title[8], uint8_t sc,
                               uint32_t ic, const uint8_t *in, size_t n, uint8_t *out,
                               uint8_t tag[AMI_SEC_TAG_LEN]);

/*
 * Verifies and/or decrypts `n` payload bytes into `out` (capacity >= n; may equal `in`).
 * `tag` / `tag_len`: the received tag; required (tag_len == 12) when A is set, must be
 * absent (tag_len == 0) otherwise. The tag is compared in constant time.
 * On any failure, `out` is overwritten with zeros: nothing unauthenticated is released.
 * Returns AMI_OK, the errors of ami_sec_check_sc(), AMI_E_AUTH (tag mismatch),
 * AMI_E_MALFORMED (tag presence does not match SC), AMI_E_INVAL, AMI_E_TOO_LARGE or
 * AMI_E_CRYPTO.
 */
AMI_EXTERN int ami_sec_decrypt(ami_sec_ctx *ctx, const uint8_t system_title[8], uint8_t sc,
                               uint32_t ic, const uint8_t *in, size_t n, const uint8_t *tag,
                               size_t tag_len, uint8_t *out);

/* ---------------------------------------------------------------- ciphered APDUs */

/* The parts of a ciphered APDU: views into the caller's buffer. */
typedef struct ami_sec_apdu {
    uint8_t tag;                 /* APDU tag: 0xDB, 0xDC or a glo-/ded- service tag */
    const uint8_t *system_title; /* 8 bytes, or NULL for service APDUs (title from the AA) */
    uint8_t sc;                  /* security control byte */
    uint32_t ic;                 /* invocation counter */
    const uint8_t *payload;      /* ciphertext (or plaintext when only A is set) */
    size_t payload_len;
    const uint8_t *auth_tag; /* 12 bytes when SC has A, else NULL */
    size_t auth_tag_len;     /* 12 or 0 */
} ami_sec_apdu;

/*
 * Parses one ciphered APDU at the start of buf:
 *   general-glo-ciphering / general-ded-ciphering (0xDB / 0xDC):
 *       tag, system-title OCTET STRING, ciphered-content OCTET STRING
 *   a glo-/ded- service APDU (any other tag accepted by ami_apdu_is_ciphered (ami/apdu.h)):
 *       tag, ciphered-content OCTET STRING
 * where OCTET STRING is an A-XDR length (1 byte < 0x80, or 0x81..0x84 + 1..4 bytes) and the
 * bytes, and ciphered-content = SC || IC || payload || tag-if-A.
 * Only the structure is checked here (SC is not judged against a policy).
 * *consumed (may be NULL) receives the APDU's length: trailing bytes are left to the caller.
 * On AMI_E_TRUNCATED it receives the whole APDU's length when the length fields were
 * complete (so a stream reader knows how much to wait for), else 0.
 * Returns AMI_OK, AMI_E_TRUNCATED (buf ends inside the APDU: for a stream, wait for more),
 * AMI_E_PROTOCOL (tag is not a ciphered APDU), AMI_E_MALFORMED (system title not 8 bytes,
 * content shorter than its header and tag, non-minimal length over 4 bytes),
 * AMI_E_UNSUPPORTED (SC compression bit) or AMI_E_TOO_LARGE (a declared length over 2^31).
 */
AMI_EXTERN int ami_sec_apdu_parse(const uint8_t *buf, size_t len, ami_sec_apdu *apdu,
                                  size_t *consumed);

/*
 * Verifies/decrypts a parsed APDU with ami_sec_decrypt(). system_title: the sender's title
 * for service APDUs that carry none (NULL to use apdu->system_title). out: capacity >=
 * apdu->payload_len. *out_len receives the plaintext length.
 * Returns AMI_OK, AMI_E_INVAL (no system title at all), AMI_E_NOSPACE, or an error of
 * ami_sec_decrypt(); on failure out holds zeros.
 */
AMI_EXTERN int ami_sec_apdu_decrypt(ami_sec_ctx *ctx, const ami_sec_apdu *apdu,
                                    const uint8_t *system_title, uint8_t *out, size_t cap,
                                    size_t *out_len);

/*
 * Builds a ciphered APDU with the given tag (general-glo/ded-ciphering include system_title;
 * service APDUs do not) protecting `n` plaintext bytes, and appends it to w.
 * Returns AMI_OK, AMI_E_INVAL (tag not a ciphered APDU, or system_title NULL), the errors of
 * ami_sec_encrypt(), or AMI_E_NOSPACE (w too small; also left as w's sticky error).
 */
AMI_EXTERN int ami_sec_apdu_build(ami_sec_ctx *ctx, ami_wr *w, uint8_t tag,
                                  const uint8_t system_title[8], uint8_t sc, uint32_t ic,
                                  const uint8_t *plain, size_t n);

/* ---------------------------------------------------------------- replay guard */

/*
 * Invocation counters must increase strictly per sender (Green Book 9.2.7.2.4.2: a receiver
 * rejects an IC not greater than the last one accepted). The guard keeps the last accepted
 * counter per system title in a caller-supplied table, and can ask the caller to load and
 * save it (e.g. a state file kept across restarts): the library itself does no I/O.
 *
 * Use: ami_replay_check() before decrypting (cheap rejection), ami_replay_accept() only after
 * the frame authenticated (or, for encryption-only frames, after its plaintext parsed
 * strictly) - never before, or a forged frame could push the counter forward.
 */
typedef struct ami_replay_entry {
    uint8_t system_title[AMI_SEC_SYSTEM_TITLE_LEN];
    uint32_t last_ic;
    bool used;
} ami_replay_entry;

/* Optional persistence hooks; either may be NULL. */
typedef struct ami_replay_store {
    /* Fills *ic with the persisted last counter for system_title; returns AMI_OK or
     * AMI_E_NOTFOUND (no record); any other error is passed up. */
    int (*load)(void *user, const uint8_t system_title[8], uint32_t *ic);
    /* Persists ic as the last accepted counter for system_title; returns AMI_OK or an error
     * that is passed up (the counter is then still accepted in memory). */
    int (*save)(void *user, const uint8_t system_title[8], uint32_t ic);
    void *user;
} ami_replay_store;

typedef struct ami_replay {
    ami_replay_entry *slots; /* caller-owned table */
    size_t cap;
    ami_replay_store store;
} ami_replay;

/*
 * Initialises a guard over `cap` caller-owned slots (zeroed here); store may be NULL.
 * Returns AMI_OK or AMI_E_INVAL.
 */
AMI_EXTERN int ami_replay_init(ami_replay *r, ami_replay_entry *slots, size_t cap,
                               const ami_replay_store *store);

/*
 * Returns AMI_OK when ic is greater than the last accepted counter of system_title (or none
 * is known, after asking store->load), AMI_E_REPLAY when it is not, AMI_E_TOO_LARGE when the
 * title is new and the table is full, or an error from store->load.
 */
AMI_EXTERN int ami_replay_check(ami_replay *r, const uint8_t system_title[8], uint32_t ic);

/*
 * Checks as ami_replay_check() and records ic as the last accepted counter, then calls
 * store->save. Returns AMI_OK, the errors of ami_replay_check() (nothing recorded), or the
 * error of store->save (recorded in memory all the same).
 */
AMI_EXTERN int ami_replay_accept(ami_replay *r, const uint8_t system_title[8], uint32_t ic);

#ifdef __cplusplus
}
#endif
#endif
