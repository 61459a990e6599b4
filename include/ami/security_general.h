/*
 * DLMS/COSEM general-ciphering (tag 0xDD) and general-signing (tag 0xDF) APDUs, and the
 * ECDH key agreement of security suites 1 and 2. The DLMS client and server sessions use
 * general-ciphering with identified-key, wrapped-key and agreed-key, and general-signing
 * (client option general_signing; ami/dlms_client_sec.h, ami/dlms_server.h).
 *
 * References: DLMS UA 1000-2 (Green Book) ed. 9, 9.2.7.2.4 (AES-GCM), 9.2.3.4.6 (key
 * agreement), the xDLMS ASN.1 module (General-Ciphering, General-Signing, Key-Info);
 * NIST SP 800-56A rev. 3, 5.8.2.1 (one-step concatenation KDF).
 *
 * general-ciphering, A-XDR:
 *     DD  transaction-id  originator-system-title  recipient-system-title  date-time
 *         other-information  key-info OPTIONAL  ciphered-content
 * every field but key-info an OCTET STRING (A-XDR length + bytes); key-info is a presence
 * byte (00 / 01) then the CHOICE index:
 *     [0] identified-key   key-id ENUMERATED (0 global unicast key, 1 global broadcast key)
 *     [1] wrapped-key      kek-id ENUMERATED (0 master key), key-ciphered-data OCTET STRING
 *                          (RFC 3394 wrap of the content key under the KEK)
 *     [2] agreed-key       key-parameters OCTET STRING (01 one-pass ephemeral-static ECDH,
 *                          02 static-unicast ECDH), key-ciphered-data OCTET STRING
 * ciphered-content = SC || IC || payload || tag (the security header of ami/security.h).
 *
 * AES-GCM of general-ciphering (Green Book ed. 9, 9.2.7.2.4, the general-ciphering rows of
 * the table of AAD contents):
 *     IV  = originator-system-title (8 bytes) || IC
 *     AAD = SC || AK || transaction-id || originator-system-title || recipient-system-title
 *           || date-time || other-information
 *           each of the five fields A-XDR encoded as in the APDU (its length byte(s), then the
 *           value; an empty field contributes its 00 length byte),
 *           followed by the plaintext when only A is set.
 * The length bytes are part of the AAD: that is how the Green Book text reads and how the
 * Gurux implementation computes it (GXDLMSChippering.getAuthenticatedData; consulted for the
 * fact only, nothing copied). Gurux adds the fields only for suites 1 and 2 with A+E; we add
 * them for every suite and level (the Green Book makes no such exception), so a suite-0 or
 * authentication-only general-ciphering APDU of ours does not interoperate with Gurux.
 * Until 2026-12 this library left the length bytes out (our earlier reading): fixed.
 * The transaction-id is the sender's unique value for the exchange: the AAD binds it, so a
 * response cannot be attached to another request. AK may be empty (ak_len 0) when the key
 * comes from key agreement.
 *
 * general-signing, A-XDR:
 *     DF  transaction-id  originator-system-title  recipient-system-title  date-time
 *         other-information  content  signature
 * signature = ECDSA r || s (64 bytes P-256/SHA-256 suite 1, 96 bytes P-384/SHA-384 suite 2)
 * over every byte of the APDU from the tag up to the signature field.
 *
 * Decoding is strict: every length is bounded (AMI_GC_*_MAX below), system titles are 0 or
 * 8 bytes, date-time 0 or 12, unknown CHOICE indices and enumerations are refused. Parsed
 * APDUs are views into the caller's buffer. No allocation except OpenSSL's own contexts.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_SECURITY_GENERAL_H
#define AMI_SECURITY_GENERAL_H

#include <stdbool.h>
#include <stdint.h>

#include "ami/bytes.h"
#include "ami/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct evp_pkey_st EVP_PKEY; /* OpenSSL's key type (same typedef as <openssl/types.h>) */

#define AMI_GC_TAG_CIPHERING 0xDDu
#define AMI_GC_TAG_SIGNING   0xDFu

#define AMI_GC_TXID_MAX      64      /* transaction-id */
#define AMI_GC_OTHER_MAX     1024    /* other-information */
#define AMI_GC_KEYDATA_MAX   512     /* key-parameters, key-ciphered-data */
#define AMI_GC_CONTENT_MAX   1048576 /* ciphered-content / content */
#define AMI_GC_DATETIME_LEN  12      /* date-time: empty or a 12-byte COSEM date-time */

/* key-info CHOICE (the A-XDR choice index), or AMI_GC_KI_NONE when absent. */
enum ami_gc_key_kind {
    AMI_GC_KI_NONE = -1,
    AMI_GC_KI_IDENTIFIED = 0,
    AMI_GC_KI_WRAPPED = 1,
    AMI_GC_KI_AGREED = 2,
};

#define AMI_GC_KEY_ID_UNICAST   0u /* identified-key: global unicast encryption key */
#define AMI_GC_KEY_ID_BROADCAST 1u /* identified-key: global broadcast encryption key */
#define AMI_GC_KEK_MASTER       0u /* wrapped-key: the master key is the KEK */
#define AMI_GC_AGREED_EPHEMERAL 1u /* agreed-key parameters: C(1e, 1s ECC CDH) */
#define AMI_GC_AGREED_STATIC    2u /* agreed-key parameters: C(0e, 2s ECC CDH) */

typedef struct ami_gc_key_info {
    int kind;              /* enum ami_gc_key_kind */
    uint8_t key_id;        /* identified: AMI_GC_KEY_ID_* */
    uint8_t kek_id;        /* wrapped: AMI_GC_KEK_MASTER */
    const uint8_t *params; /* agreed: key-parameters */
    size_t params_len;
    const uint8_t *data; /* wrapped, agreed: key-ciphered-data */
    size_t data_len;
} ami_gc_key_info;

/* The fields shared by general-ciphering and general-signing; views into caller memory. */
typedef struct ami_gc_header {
    const uint8_t *transaction_id;
    size_t transaction_id_len; /* 0..AMI_GC_TXID_MAX */
    const uint8_t *originator;
    size_t originator_len; /* 0 or 8 */
    const uint8_t *recipient;
    size_t recipient_len; /* 0 or 8 */
    const uint8_t *date_time;
    size_t date_time_len; /* 0 or 12 */
    const uint8_t *other;
    size_t other_len; /* 0..AMI_GC_OTHER_MAX */
} ami_gc_header;

typedef struct ami_gc_apdu {
    ami_gc_header h;
    ami_gc_key_info key_info; /* kind AMI_GC_KI_NONE when absent */
    const uint8_t *content;   /* ciphered-content: SC || IC || payload || tag */
    size_t content_len;
} ami_gc_apdu;

/*
 * Parses one general-ciphering APDU at buf. *consumed (may be NULL) receives its length.
 * Returns AMI_OK, AMI_E_TRUNCATED, AMI_E_PROTOCOL (tag not 0xDD), AMI_E_MALFORMED (a field
 * of the wrong size, key-info presence byte not 0/1, unknown choice or enumeration, ciphered-
 * content shorter than its header and tag), AMI_E_UNSUPPORTED (SC compression bit) or
 * AMI_E_TOO_LARGE (a length above its bound).
 */
AMI_EXTERN int ami_gc_parse(const uint8_t *buf, size_t len, ami_gc_apdu *a, size_t *consumed);

/*
 * Appends a general-ciphering APDU whose ciphered-content is a->content, as is (to re-encode
 * a parsed one). Returns AMI_OK, AMI_E_INVAL (a field out of its bounds) or AMI_E_NOSPACE.
 */
AMI_EXTERN int ami_gc_write(ami_wr *w, const ami_gc_apdu *a);

/*
 * Protects n plaintext bytes with AES-GCM under ek (16 bytes for suites 0 and 1, 32 for
 * suite 2; the suite is SC's low nibble) and appends the general-ciphering APDU with header
 * h and key-info ki (NULL: absent). ak/ak_len: authentication key, may be empty.
 * h->originator must be 8 bytes (it is the IV's system title).
 * Returns AMI_OK, AMI_E_INVAL, AMI_E_KEY (key length does not match the suite),
 * AMI_E_UNSUPPORTED (suite > 2, compression), AMI_E_MALFORMED (neither A nor E),
 * AMI_E_NOSPACE or AMI_E_CRYPTO.
 */
AMI_EXTERN int ami_gc_protect(ami_wr *w, const ami_gc_header *h, const ami_gc_key_info *ki,
                              const uint8_t *ek, size_t ek_len, const uint8_t *ak, size_t ak_len,
                              uint8_t sc, uint32_t ic, const uint8_t *plain, size_t n);

/*
 * Verifies/decrypts a parsed APDU into out (capacity cap). *out_len receives the plaintext
 * length, *ic_out (may be NULL) the invocation counter for the caller's replay rule.
 * The tag is checked in constant time; on any failure out is zeroed.
 * Returns AMI_OK, AMI_E_AUTH (tag mismatch: tampered, or wrong key), AMI_E_KEY,
 * AMI_E_UNSUPPORTED, AMI_E_MALFORMED (no originator system title, neither A nor E),
 * AMI_E_NOSPACE, AMI_E_INVAL or AMI_E_CRYPTO.
 */
AMI_EXTERN int ami_gc_unprotect(const ami_gc_apdu *a, const uint8_t *ek, size_t ek_len,
                                const uint8_t *ak, size_t ak_len, uint8_t *out, size_t cap,
                                size_t *out_len, uint32_t *ic_out);

/*
 * wrapped-key: unwraps key-ciphered-data under kek (RFC 3394) into key (capacity cap) and
 * returns the key length, or AMI_E_KEY (integrity check failed: wrong KEK or tampered key
 * data), AMI_E_INVAL (ki not a wrapped key, or an unknown kek-id) or AMI_E_NOSPACE.
 */
AMI_EXTERN int ami_gc_unwrap_key(const ami_gc_key_info *ki, const uint8_t *kek, size_t kek_len,
                                 uint8_t *key, size_t cap);

/*
 * ECDH key agreement and the NIST SP 800-56A one-step KDF with the suite's hash (suite 1:
 * P-256, SHA-256, 16-byte key; suite 2: P-384, SHA-384, 32-byte key):
 *     key = leftmost bits of H(00000001 || Z || AlgorithmID || PartyUInfo || PartyVInfo)
 * AlgorithmID = the DER body of the content cipher's OID (2.16.756.5.8.3.0 AES-GCM-128 for
 * suite 1, 2.16.756.5.8.3.1 AES-GCM-256 for suite 2), PartyUInfo = originator system title,
 * PartyVInfo = recipient system title (8 bytes each).
 * own: private key; peer: public key; both on the suite's curve.
 * Returns the key length, or AMI_E_INVAL, AMI_E_UNSUPPORTED (suite not 1 or 2), AMI_E_KEY
 * (a key not on the suite's curve, or an invalid peer point), AMI_E_NOSPACE or AMI_E_CRYPTO.
 * Z is wiped.
 */
AMI_EXTERN int ami_gc_agree_key(int suite, EVP_PKEY *own, EVP_PKEY *peer, const uint8_t party_u[8],
                                const uint8_t party_v[8], uint8_t *key, size_t cap);

/*
 * agreed-key, one-pass Diffie-Hellman C(1e, 1s ECC CDH) (Green Book 9.2.3.4.6: the originator
 * sends an ephemeral public key signed with its signing key; key-parameters 01):
 *     key-ciphered-data = ephemeral public key x || y  ||  ECDSA(x || y) as r || s
 * (4 x 32 bytes for suite 1, 4 x 48 for suite 2; the signature with the suite's hash).
 * The content key is ami_gc_agree_key(ephemeral private, recipient's static public key,
 * party_u = originator system title, party_v = recipient system title).
 *
 * ami_gc_agree_originator: draws the ephemeral key pair (OpenSSL's random source), signs its
 * public key with sign_key, fills *ki (pointing at kcd, capacity >= 4 x half, and at a static
 * key-parameters byte) and the content key into key. The ephemeral private key is freed.
 * Returns the key length, or AMI_E_INVAL, AMI_E_UNSUPPORTED (suite), AMI_E_KEY (a key not on
 * the suite's curve), AMI_E_NOSPACE, AMI_E_CRYPTO.
 *
 * ami_gc_agree_recipient: checks the key-info (agreed-key with parameters 01, else
 * AMI_E_UNSUPPORTED; key-ciphered-data of 4 x half bytes, else AMI_E_MALFORMED), verifies the
 * signature with the originator's public key (AMI_E_AUTH when it does not verify), checks the
 * ephemeral point is on the curve (AMI_E_KEY) and derives the content key with own (the
 * recipient's static private key). Returns the key length or a negative error.
 *
 * In this implementation each party's static key-agreement key is its signing key (one EC key
 * pair per party); the Green Book allows separate ones.
 */
AMI_EXTERN int ami_gc_agree_originator(int suite, EVP_PKEY *sign_key, EVP_PKEY *peer_static,
                                       const uint8_t party_u[8], const uint8_t party_v[8],
                                       ami_gc_key_info *ki, uint8_t *kcd, size_t kcd_cap,
                                       uint8_t *key, size_t cap);
AMI_EXTERN int ami_gc_agree_recipient(int suite, const ami_gc_key_info *ki,
                                      EVP_PKEY *originator_pub, EVP_PKEY *own,
                                      const uint8_t party_u[8], const uint8_t party_v[8],
                                      uint8_t *key, size_t cap);

/* ---------------------------------------------------------------- general-signing */

typedef struct ami_gs_apdu {
    ami_gc_header h;
    const uint8_t *content;
    size_t content_len;
    const uint8_t *signature; /* r || s */
    size_t signature_len;     /* 64 or 96 once parsed (0 allowed: an unsigned APDU) */
    size_t signed_len;        /* parse: bytes from the tag up to the signature field */
} ami_gs_apdu;

/*
 * Parses one general-signing APDU. Returns AMI_OK, AMI_E_TRUNCATED, AMI_E_PROTOCOL (tag not
 * 0xDF), AMI_E_MALFORMED (a field of the wrong size; signature not 0, 64 or 96 bytes) or
 * AMI_E_TOO_LARGE.
 */
AMI_EXTERN int ami_gs_parse(const uint8_t *buf, size_t len, ami_gs_apdu *a, size_t *consumed);

/*
 * Builds and appends a general-signing APDU over h and content, signed with key (suite 1:
 * P-256 / SHA-256, suite 2: P-384 / SHA-384). Returns AMI_OK, AMI_E_INVAL,
 * AMI_E_UNSUPPORTED (suite), AMI_E_KEY (key not on the suite's curve), AMI_E_NOSPACE or
 * AMI_E_CRYPTO.
 */
AMI_EXTERN int ami_gs_sign(ami_wr *w, const ami_gc_header *h, const uint8_t *content, size_t n,
                           int suite, EVP_PKEY *key);

/*
 * Verifies a parsed APDU (buf: the buffer it was parsed from) with the signer's public key.
 * Returns AMI_OK, AMI_E_AUTH (signature does not verify: tampered or another signer),
 * AMI_E_MALFORMED (signature length not the suite's), AMI_E_UNSUPPORTED, AMI_E_KEY,
 * AMI_E_INVAL or AMI_E_CRYPTO.
 */
AMI_EXTERN int ami_gs_verify(const uint8_t *buf, const ami_gs_apdu *a, int suite, EVP_PKEY *pub);

#ifdef __cplusplus
}
#endif
#endif
