/*
 * Certificates of Security Setup version 1 (DLMS UA Blue Book 4.4.7, class 64): attribute 6
 * certificates (array of certificate_info), methods generate_key_pair (4),
 * generate_certificate_request (5, PKCS#10), import_certificate (6, X.509 DER),
 * export_certificate (7) and remove_certificate (8), served by the association engine
 * (ami/dlms_server.h) for a SAP with a security policy when the server's security configuration
 * has a certificate provider. The A-XDR encoders and strict decoders of certificate_info and
 * certificate_identification are public here for clients (ami dlms cert) and fuzzing.
 *
 * Sans-I/O: the key pairs and certificates live with the caller; the engine asks the provider
 * to generate, lend and store them. X.509 and PKCS#10 parsing and building use OpenSSL on
 * bounded buffers (AMI_DLMS_CERT_MAX). See docs/dlms-security.md.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_DLMS_CERT_H
#define AMI_DLMS_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "ami/bytes.h"
#include "ami/common.h"
#include "ami/view.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest certificate (DER) imported, exported or listed. */
#define AMI_DLMS_CERT_MAX 2048u
/* Most certificates the engine looks at in a provider (more are ignored). */
#define AMI_DLMS_CERT_SCAN_MAX 32u

/* certificate_entity (Blue Book 4.4.7). */
enum ami_dlms_cert_entity {
    AMI_DLMS_CERT_SERVER = 0,
    AMI_DLMS_CERT_CLIENT = 1,
    AMI_DLMS_CERT_CA = 2, /* certification authority */
    AMI_DLMS_CERT_OTHER_ENTITY = 3,
};

/* certificate_type, and key_pair_type of generate_key_pair / generate_certificate_request
 * (0..2 there). */
enum ami_dlms_cert_type {
    AMI_DLMS_CERT_SIGNING = 0,       /* digital signature */
    AMI_DLMS_CERT_KEY_AGREEMENT = 1, /* key agreement */
    AMI_DLMS_CERT_TLS = 2,
    AMI_DLMS_CERT_OTHER_TYPE = 3,
};

/* Why the engine refused the last certificate method of an association
 * (ami_dlms_assoc_cert_refusal). */
enum ami_dlms_cert_refusal {
    AMI_DLMS_CERT_OK = 0,
    AMI_DLMS_CERT_BAD_PARAMETERS = 1, /* the method's A-XDR parameters (type-unmatched) */
    AMI_DLMS_CERT_TOO_LARGE = 2,      /* certificate above AMI_DLMS_CERT_MAX */
    AMI_DLMS_CERT_NOT_X509 = 3,       /* not one DER X.509 certificate (or bytes after it) */
    AMI_DLMS_CERT_KEY_USAGE = 4,      /* no key usage, or none this class knows */
    AMI_DLMS_CERT_WRONG_CURVE = 5,    /* not an EC key on the suite's curve */
    AMI_DLMS_CERT_NOT_FOUND = 6,      /* export/remove: no such certificate */
    AMI_DLMS_CERT_NO_KEY_PAIR = 7,    /* CSR: the key pair was never generated */
    AMI_DLMS_CERT_STORE = 8,          /* the provider failed (full, or its own error) */
    AMI_DLMS_CERT_CRYPTO = 9,         /* OpenSSL failed building the CSR */
    AMI_DLMS_CERT_DENIED = 10,        /* request not authenticated, or no provider */
    AMI_DLMS_CERT_UNSUPPORTED = 11,   /* key_agreement (method 3) is not served */
};

/* "ok", "bad-parameters", "too-large", ...; never NULL. */
AMI_EXTERN const char *ami_dlms_cert_refusal_name(int refusal);

/* A stored certificate, as the provider lends it (valid until the engine call returns). */
typedef struct ami_dlms_cert {
    uint8_t entity; /* enum ami_dlms_cert_entity, decided by the engine at import */
    uint8_t type;   /* enum ami_dlms_cert_type */
    const uint8_t *der;
    size_t len;
} ami_dlms_cert;

/*
 * Certificate provider of a server (ami_dlms_server_sec.certs). Keyed by client SAP like the
 * key provider (a provider may keep one set for the whole meter). Callbacks run synchronously
 * inside ami_dlms_assoc_handle(); they return AMI_OK or an AMI_E_* code.
 */
typedef struct ami_dlms_cert_provider {
    /* Generates and keeps a new key pair of type kp (0..2) on curve `nid` (NID_X9_62_prime256v1
     * or NID_secp384r1), replacing the old one (ami_dlms_cert_keygen can make it). */
    int (*key_generate)(void *user, uint16_t client_sap, uint8_t kp, int nid);
    /* Lends the key pair of type kp in *key (borrowed: the provider keeps owning it);
     * AMI_E_NOTFOUND when there is none. */
    int (*key_get)(void *user, uint16_t client_sap, uint8_t kp, EVP_PKEY **key);
    /* Lends certificate `index` (0, 1, ...) in *out; AMI_E_NOTFOUND past the last one. */
    int (*cert_at)(void *user, uint16_t client_sap, size_t index, ami_dlms_cert *out);
    /* Keeps a copy of *c (appended after the others); AMI_E_NOSPACE when full. */
    int (*cert_add)(void *user, uint16_t client_sap, const ami_dlms_cert *c);
    /* Removes certificate `index` (the later ones move down by one). */
    int (*cert_remove)(void *user, uint16_t client_sap, size_t index);
    void *user;
} ami_dlms_cert_provider;

/* A new EC key pair on curve nid (NID_X9_62_prime256v1 or NID_secp384r1) from OpenSSL's random
 * generator, for providers. The caller frees *out with EVP_PKEY_free. AMI_OK; AMI_E_INVAL;
 * AMI_E_CRYPTO. */
AMI_EXTERN int ami_dlms_cert_keygen(int nid, EVP_PKEY **out);

/* The curve of a security suite's certificates: P-384 for suite 2, P-256 otherwise (suite 1;
 * suite 0 has no public-key algorithms and uses suite 1's curve). */
AMI_EXTERN int ami_dlms_cert_curve(uint8_t suite);

struct ami_dlms_assoc;
/* Why the last certificate method of the association was refused (AMI_DLMS_CERT_OK when it
 * was not): the action-result alone (type-unmatched, object-unavailable, other-reason...) does
 * not tell. A server logs it with ami_dlms_cert_refusal_name. */
AMI_EXTERN int ami_dlms_assoc_cert_refusal(const struct ami_dlms_assoc *a);

/* ---------------------------------------------------------------- certificate_info */

/*
 * certificate_info ::= structure { certificate_entity enum, certificate_type enum,
 * serial_number octet-string, issuer octet-string, subject octet-string,
 * subject_alt_name octet-string }. serial_number holds the big-endian magnitude of the X.509
 * serial, issuer and subject the DER of the X.509 Names, subject_alt_name the DER of the
 * GeneralNames of the extension (empty when absent).
 */
typedef struct ami_dlms_cert_info {
    uint8_t entity, type;
    ami_view serial, issuer, subject, alt_name;
} ami_dlms_cert_info;

AMI_EXTERN void ami_dlms_cert_info_encode(ami_wr *w, const ami_dlms_cert_info *info);

/*
 * The certificate_info of one X.509 certificate (DER, at most AMI_DLMS_CERT_MAX bytes, exactly
 * one certificate) with the given entity and type, written to w. AMI_OK; AMI_E_TOO_LARGE;
 * AMI_E_MALFORMED (not X.509); AMI_E_NOSPACE (w's sticky error).
 */
AMI_EXTERN int ami_dlms_cert_info_of(ami_wr *w, const uint8_t *der, size_t len, uint8_t entity,
                                     uint8_t type);

/* Iterator over the certificates attribute (array of certificate_info): strict (definite
 * lengths, exact types, enums within 0..3, nothing after the array). */
typedef struct ami_dlms_cert_list {
    ami_rd r;
    size_t left;
} ami_dlms_cert_list;

/* Reads the array header of p[0..n). AMI_OK; AMI_E_MALFORMED / AMI_E_TRUNCATED. */
AMI_EXTERN int ami_dlms_cert_list_begin(ami_dlms_cert_list *it, const uint8_t *p, size_t n);
/* 1 with *out (views into the input), 0 at the end (all input consumed), or AMI_E_MALFORMED /
 * AMI_E_TRUNCATED. */
AMI_EXTERN int ami_dlms_cert_list_next(ami_dlms_cert_list *it, ami_dlms_cert_info *out);

/* ---------------------------------------------------------------- certificate_identification */

/*
 * certificate_identification ::= structure { certificate_identification_type enum
 * (0 by entity, 1 by serial), certificate_identification_options CHOICE:
 *   by entity: structure { certificate_entity enum, certificate_type enum,
 *                          system_title octet-string (empty or 8 bytes) }
 *   by serial: structure { serial_number octet-string, issuer octet-string } }
 * With a system title, the certificate's subject common name must be that title in hex (the
 * DLMS convention, Green Book 9.2.6).
 */
enum { AMI_DLMS_CERT_BY_ENTITY = 0, AMI_DLMS_CERT_BY_SERIAL = 1 };

typedef struct ami_dlms_cert_id {
    uint8_t kind; /* AMI_DLMS_CERT_BY_ENTITY / _BY_SERIAL */
    uint8_t entity, type;
    ami_view system_title;
    ami_view serial, issuer;
} ami_dlms_cert_id;

AMI_EXTERN void ami_dlms_cert_id_encode(ami_wr *w, const ami_dlms_cert_id *id);
/* Strict decoder of exactly p[0..n). AMI_OK; AMI_E_MALFORMED / AMI_E_TRUNCATED. */
AMI_EXTERN int ami_dlms_cert_id_decode(const uint8_t *p, size_t n, ami_dlms_cert_id *out);

#ifdef __cplusplus
}
#endif
#endif
