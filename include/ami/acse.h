/*
 * ACSE APDUs of DLMS/COSEM: AARQ, AARE, RLRQ and RLRE (ISO/IEC 8650-1 as profiled by the DLMS
 * UA Green Book, clause 9.3 "DLMS/COSEM application layer ASN.1" and 9.4.2 "ACSE services").
 *
 * These APDUs are BER-encoded (unlike the xDLMS APDUs, which are A-XDR). The DLMS profile uses
 * single-byte context tags:
 *
 *   AARQ  60 len { 80 protocol-version, A1 application-context-name, A2 called-AP-title,
 *                  A3 called-AE-qualifier, A4 called-AP-invocation-id, A5 called-AE-invocation-id,
 *                  A6 calling-AP-title, A7 calling-AE-qualifier, A8 calling-AP-invocation-id,
 *                  A9 calling-AE-invocation-id, 8A sender-acse-requirements, 8B mechanism-name,
 *                  AC calling-authentication-value, 9D implementation-information,
 *                  BE user-information }
 *   AARE  61 len { 80 protocol-version, A1 application-context-name, A2 result,
 *                  A3 result-source-diagnostic, A4 responding-AP-title, A5 responding-AE-qualifier,
 *                  A6 responding-AP-invocation-id, A7 responding-AE-invocation-id,
 *                  88 responder-acse-requirements, 89 mechanism-name,
 *                  AA responding-authentication-value, 9D implementation-information,
 *                  BE user-information }
 *   RLRQ  62 len { 80 reason, BE user-information }
 *   RLRE  63 len { 80 reason, BE user-information }
 *
 * user-information is "BE len 04 len <xDLMS APDU>": an OCTET STRING holding an A-XDR
 * InitiateRequest / InitiateResponse / confirmed-service-error, or their ciphered (glo-/ded-)
 * forms. The views here give those inner bytes; decode them with ami_apdu_decode() (ami/apdu.h).
 *
 * Decoded structs hold views into the input buffer (zero copy): the input must outlive them.
 * Decoding is strict: fields in ascending tag order, each at most once, definite lengths, and
 * nothing after the APDU. Encoders write the fields present in canonical order, so
 * encode(decode(x)) == x for every APDU in canonical DER-like form (all DLMS ACSE APDUs seen in
 * the field are). Nothing allocates; every function is thread-safe for distinct arguments.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_ACSE_H
#define AMI_ACSE_H

#include <stdbool.h>

#include "ami/bytes.h"
#include "ami/view.h"

#ifdef __cplusplus
extern "C" {
#endif

/* APDU tags ([APPLICATION n] constructed). */
enum ami_acse_tag {
    AMI_ACSE_AARQ = 0x60,
    AMI_ACSE_AARE = 0x61,
    AMI_ACSE_RLRQ = 0x62,
    AMI_ACSE_RLRE = 0x63,
};

/*
 * Application context names {joint-iso-ccitt(2) country(16) country-name(756)
 * identified-organization(5) DLMS-UA(8) application-context(1) x} (Green Book 9.4.2.2.2).
 */
enum ami_acse_context {
    AMI_ACSE_CONTEXT_LN = 1,        /* Logical_Name_Referencing_No_Ciphering */
    AMI_ACSE_CONTEXT_SN = 2,        /* Short_Name_Referencing_No_Ciphering */
    AMI_ACSE_CONTEXT_LN_CIPHER = 3, /* Logical_Name_Referencing_With_Ciphering */
    AMI_ACSE_CONTEXT_SN_CIPHER = 4, /* Short_Name_Referencing_With_Ciphering */
};

/* Authentication mechanism names {2 16 756 5 8 2 x} (Green Book 9.4.2.2.3). */
enum ami_acse_mechanism {
    AMI_ACSE_MECH_NONE = 0,   /* lowest level security */
    AMI_ACSE_MECH_LOW = 1,    /* LLS: password */
    AMI_ACSE_MECH_HIGH = 2,   /* HLS, manufacturer specific */
    AMI_ACSE_MECH_MD5 = 3,    /* HLS MD5 (deprecated) */
    AMI_ACSE_MECH_SHA1 = 4,   /* HLS SHA-1 (deprecated) */
    AMI_ACSE_MECH_GMAC = 5,   /* HLS GMAC */
    AMI_ACSE_MECH_SHA256 = 6, /* HLS SHA-256 */
    AMI_ACSE_MECH_ECDSA = 7,  /* HLS ECDSA */
};

/* Association-result (Green Book 9.3, AARE result [2]). */
enum ami_acse_result {
    AMI_ACSE_ACCEPTED = 0,
    AMI_ACSE_REJECTED_PERMANENT = 1,
    AMI_ACSE_REJECTED_TRANSIENT = 2,
};

/* Source of the AARE result-source-diagnostic [3] CHOICE. */
enum ami_acse_diag_source {
    AMI_ACSE_DIAG_USER = 1,     /* acse-service-user [1] */
    AMI_ACSE_DIAG_PROVIDER = 2, /* acse-service-provider [2] */
};

/* acse-service-user diagnostics (values of the [1] alternative). */
enum ami_acse_user_diag {
    AMI_ACSE_USER_NULL = 0,
    AMI_ACSE_USER_NO_REASON = 1,
    AMI_ACSE_USER_CONTEXT_NOT_SUPPORTED = 2,
    AMI_ACSE_USER_CALLING_AP_TITLE_NOT_RECOGNIZED = 3,
    AMI_ACSE_USER_CALLING_AP_INVOCATION_NOT_RECOGNIZED = 4,
    AMI_ACSE_USER_CALLING_AE_QUALIFIER_NOT_RECOGNIZED = 5,
    AMI_ACSE_USER_CALLING_AE_INVOCATION_NOT_RECOGNIZED = 6,
    AMI_ACSE_USER_CALLED_AP_TITLE_NOT_RECOGNIZED = 7,
    AMI_ACSE_USER_CALLED_AP_INVOCATION_NOT_RECOGNIZED = 8,
    AMI_ACSE_USER_CALLED_AE_QUALIFIER_NOT_RECOGNIZED = 9,
    AMI_ACSE_USER_CALLED_AE_INVOCATION_NOT_RECOGNIZED = 10,
    AMI_ACSE_USER_MECHANISM_NOT_RECOGNISED = 11,
    AMI_ACSE_USER_MECHANISM_REQUIRED = 12,
    AMI_ACSE_USER_AUTHENTICATION_FAILURE = 13,
    AMI_ACSE_USER_AUTHENTICATION_REQUIRED = 14,
};

/* Authentication-value CHOICE alternatives (AC / AA contents). */
enum ami_acse_auth_kind {
    AMI_ACSE_AUTH_CHARSTRING = 0, /* charstring [0] GraphicString: passwords, HLS challenges */
    AMI_ACSE_AUTH_BITSTRING = 1,  /* bitstring [1] BIT STRING (kept raw, unused-bits byte first) */
};

/*
 * Fields shared by AARQ and AARE. `has_*` flags say whether an OPTIONAL field is present;
 * views are empty when absent. AP titles and AE qualifiers are the contents of the OCTET STRING
 * the DLMS profile puts inside them (a system title, a certificate).
 */
typedef struct ami_acse_common {
    bool has_protocol_version;    /* 80 02 07 80 (version1) was present */
    uint8_t context;              /* enum ami_acse_context (last arc) */
    ami_view ap_title;            /* AARQ calling-AP-title [6] / AARE responding-AP-title [4] */
    ami_view ae_qualifier;        /* AARQ calling-AE-qualifier [7] / AARE responding [5] */
    bool has_ap_invocation_id;    /* AARQ [8] / AARE [6] */
    bool has_ae_invocation_id;    /* AARQ [9] / AARE [7] */
    int32_t ap_invocation_id;     /* INTEGER, 1..4 bytes */
    int32_t ae_invocation_id;     /* INTEGER, 1..4 bytes */
    bool has_acse_requirements;   /* sender [10] / responder [8] acse-requirements */
    bool authentication;          /* the authentication functional unit bit */
    bool has_mechanism;           /* mechanism-name [11] / [9] */
    uint8_t mechanism;            /* enum ami_acse_mechanism (last arc) */
    bool has_auth_value;          /* calling [12] / responding [10] authentication-value */
    uint8_t auth_kind;            /* enum ami_acse_auth_kind */
    ami_view auth_value;          /* the password / challenge bytes */
    ami_view implementation_info; /* implementation-information [29] (GraphicString) */
    bool has_user_information;    /* user-information [30] */
    ami_view user_information;    /* the xDLMS APDU inside (see ami_apdu_decode) */
} ami_acse_common;

typedef struct ami_aarq {
    ami_acse_common c;                /* calling-side fields */
    ami_view called_ap_title;         /* called-AP-title [2] */
    ami_view called_ae_qualifier;     /* called-AE-qualifier [3] */
    bool has_called_ap_invocation_id; /* [4] */
    bool has_called_ae_invocation_id; /* [5] */
    int32_t called_ap_invocation_id;
    int32_t called_ae_invocation_id;
} ami_aarq;

typedef struct ami_aare {
    ami_acse_common c;   /* responding-side fields */
    uint8_t result;      /* enum ami_acse_result */
    uint8_t diag_source; /* enum ami_acse_diag_source */
    uint8_t diagnostic;  /* enum ami_acse_user_diag (user) or 0..2 (provider) */
} ami_aare;

/* RLRQ and RLRE: reason [0] OPTIONAL and user-information [30] OPTIONAL. */
enum ami_acse_release_reason {
    AMI_ACSE_RELEASE_NORMAL = 0, /* RLRQ normal / RLRE normal */
    AMI_ACSE_RELEASE_URGENT = 1, /* RLRQ urgent / RLRE not-finished */
    AMI_ACSE_RELEASE_USER_DEFINED = 30,
};

typedef struct ami_release {
    bool has_reason;
    uint8_t reason; /* enum ami_acse_release_reason */
    bool has_user_information;
    ami_view user_information;
} ami_release;

/*
 * Decodes an AARQ / AARE / RLRQ / RLRE occupying exactly buf[0..len). Views point into buf.
 * Returns AMI_OK, or: AMI_E_INVAL (NULL argument), AMI_E_TRUNCATED (input ends inside the
 * APDU), AMI_E_MALFORMED (wrong APDU tag, bad BER length, unknown, repeated or out-of-order
 * field, a field of the wrong shape, an application context or mechanism name outside the DLMS
 * arcs, bytes after the APDU), AMI_E_RANGE (an invocation id wider than 32 bits).
 * *out is fully written on success and unspecified on error.
 */
AMI_EXTERN int ami_aarq_decode(const uint8_t *buf, size_t len, ami_aarq *out);
AMI_EXTERN int ami_aare_decode(const uint8_t *buf, size_t len, ami_aare *out);
/* tag: AMI_ACSE_RLRQ or AMI_ACSE_RLRE; the input must carry that tag. */
AMI_EXTERN int ami_release_decode(const uint8_t *buf, size_t len, uint8_t tag, ami_release *out);

/*
 * Encoders: write the APDU into w (errors sticky in the writer). Returns AMI_OK, AMI_E_INVAL
 * (NULL argument, a context/mechanism/auth kind out of range, a release tag that is not
 * RLRQ/RLRE) or the writer's AMI_E_NOSPACE. Lengths up to 65535 bytes per field.
 */
AMI_EXTERN int ami_aarq_encode(ami_wr *w, const ami_aarq *a);
AMI_EXTERN int ami_aare_encode(ami_wr *w, const ami_aare *a);
AMI_EXTERN int ami_release_encode(ami_wr *w, uint8_t tag, const ami_release *r);

/* Name tables; "unknown" for values outside them. Never NULL. Thread-safe. */
AMI_EXTERN const char *ami_acse_context_name(uint8_t context);     /* "LN", "SN-ciphered" ... */
AMI_EXTERN const char *ami_acse_mechanism_name(uint8_t mechanism); /* "none", "LLS", "HLS-GMAC" */
AMI_EXTERN const char *ami_acse_result_name(uint8_t result);       /* "accepted" ... */
/* A diagnostic by its source: "authentication-required", "no-common-acse-version", ... */
AMI_EXTERN const char *ami_acse_diag_name(uint8_t source, uint8_t diagnostic);
/* tag: AMI_ACSE_RLRQ (request reasons) or AMI_ACSE_RLRE (response reasons). */
AMI_EXTERN const char *ami_acse_release_reason_name(uint8_t tag, uint8_t reason);

#ifdef __cplusplus
}
#endif
#endif
