/*
 * xDLMS APDUs (DLMS UA Green Book 9.5 "xDLMS APDU" ASN.1, A-XDR encoded), and the dispatcher
 * that decodes any DLMS/COSEM APDU including the ACSE ones of ami/acse.h.
 *
 * Covered: InitiateRequest/Response, confirmed-service-error, exception-response; GET (normal,
 * next, with-list, with-datablock), SET (normal, first-datablock, datablock, with-list,
 * with-list-and-first-datablock), ACTION (normal, first-pblock, pblock, next-pblock, with-list,
 * with-list-and-first-pblock); data-notification, event-notification; general-block-transfer;
 * short-name services (ReadRequest/Response incl. parameterized access, WriteRequest/Response,
 * UnconfirmedWriteRequest, InformationReportRequest). Ciphered APDUs (glo-/ded- services,
 * general-glo-ciphering, general-ded-ciphering, general-ciphering) are recognised and their
 * security header parsed; decrypting them is ami/security.h's job.
 *
 * Zero copy: the A-XDR Data inside an APDU (a GET result, SET value, ACTION parameters, a
 * notification body) is returned as an ami_view over the input, validated and delimited with
 * ami_axdr_skip(); decode it with ami_axdr_decode() when a tree is wanted. Encoders take views
 * of pre-encoded Data too, so a server can stream values it already holds in wire form.
 *
 * Lists (with-list services, SN services) are decoded into arrays taken from a caller-provided
 * arena. A declared count is checked against the bytes left (each element needs at least one
 * byte, most need more) and against AMI_APDU_MAX_LIST before anything is allocated, so the peer
 * never sizes our memory beyond what its bytes justify.
 *
 * Remote outcomes (data-access-result, action-result, exception-response, confirmed-service-
 * error) are values in the decoded struct with name tables below; the int returned by the
 * functions is a local AMI_E_* code only.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_APDU_H
#define AMI_APDU_H

#include <stdbool.h>

#include "ami/acse.h"
#include "ami/arena.h"
#include "ami/axdr.h"
#include "ami/bytes.h"
#include "ami/obis.h"
#include "ami/view.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Most elements accepted in one list of an APDU. */
#define AMI_APDU_MAX_LIST 4096u

/* APDU tags (Green Book 9.5, XDLMS-APDU CHOICE; ACSE tags in ami/acse.h). */
enum ami_apdu_tag {
    AMI_APDU_INITIATE_REQUEST = 1,
    AMI_APDU_READ_REQUEST = 5,
    AMI_APDU_WRITE_REQUEST = 6,
    AMI_APDU_INITIATE_RESPONSE = 8,
    AMI_APDU_READ_RESPONSE = 12,
    AMI_APDU_WRITE_RESPONSE = 13,
    AMI_APDU_CONFIRMED_SERVICE_ERROR = 14,
    AMI_APDU_DATA_NOTIFICATION = 15,
    AMI_APDU_UNCONFIRMED_WRITE_REQUEST = 22,
    AMI_APDU_INFORMATION_REPORT_REQUEST = 24,
    /* glo-ciphered SN/initiate services: tag of the plain service + 32; ded-: + 64. */
    AMI_APDU_GLO_INITIATE_REQUEST = 33,
    AMI_APDU_GLO_INITIATE_RESPONSE = 40,
    AMI_APDU_GLO_CONFIRMED_SERVICE_ERROR = 46,
    AMI_APDU_DED_INITIATE_REQUEST = 65,
    AMI_APDU_DED_INITIATE_RESPONSE = 72,
    AMI_APDU_GET_REQUEST = 0xC0,
    AMI_APDU_SET_REQUEST = 0xC1,
    AMI_APDU_EVENT_NOTIFICATION_REQUEST = 0xC2,
    AMI_APDU_ACTION_REQUEST = 0xC3,
    AMI_APDU_GET_RESPONSE = 0xC4,
    AMI_APDU_SET_RESPONSE = 0xC5,
    AMI_APDU_ACTION_RESPONSE = 0xC7,
    /* glo-ciphered LN services: 0xC8..0xCF; ded-ciphered: 0xD0..0xD7 (plain tag + 8 / + 16). */
    AMI_APDU_GLO_GET_REQUEST = 0xC8,
    AMI_APDU_DED_GET_REQUEST = 0xD0,
    AMI_APDU_EXCEPTION_RESPONSE = 0xD8,
    AMI_APDU_GENERAL_GLO_CIPHERING = 0xDB,
    AMI_APDU_GENERAL_DED_CIPHERING = 0xDC,
    AMI_APDU_GENERAL_CIPHERING = 0xDD,
    AMI_APDU_GENERAL_BLOCK_TRANSFER = 0xE0,
};

/* "get-request", "glo-get-request", "AARQ", ...; "unknown" otherwise. Never NULL. */
AMI_EXTERN const char *ami_apdu_tag_name(uint8_t tag);

/* True for the tags whose APDU is a ciphered xDLMS APDU (glo-/ded-/general-*-ciphering). */
AMI_EXTERN bool ami_apdu_is_ciphered(uint8_t tag);

/* ---------------------------------------------------------------- remote outcomes */

/* Data-Access-Result (Green Book 9.5). */
enum ami_dar {
    AMI_DAR_SUCCESS = 0,
    AMI_DAR_HARDWARE_FAULT = 1,
    AMI_DAR_TEMPORARY_FAILURE = 2,
    AMI_DAR_READ_WRITE_DENIED = 3,
    AMI_DAR_OBJECT_UNDEFINED = 4,
    AMI_DAR_OBJECT_CLASS_INCONSISTENT = 9,
    AMI_DAR_OBJECT_UNAVAILABLE = 11,
    AMI_DAR_TYPE_UNMATCHED = 12,
    AMI_DAR_SCOPE_OF_ACCESS_VIOLATED = 13,
    AMI_DAR_DATA_BLOCK_UNAVAILABLE = 14,
    AMI_DAR_LONG_GET_ABORTED = 15,
    AMI_DAR_NO_LONG_GET_IN_PROGRESS = 16,
    AMI_DAR_LONG_SET_ABORTED = 17,
    AMI_DAR_NO_LONG_SET_IN_PROGRESS = 18,
    AMI_DAR_DATA_BLOCK_NUMBER_INVALID = 19,
    AMI_DAR_OTHER_REASON = 250,
};
/* "success", "hardware-fault", ... "other-reason"; "unknown". Never NULL. */
AMI_EXTERN const char *ami_dlms_dar_name(uint8_t dar);

/* Action-Result (Green Book 9.5): as the DAR, with 15/16 meaning long-action-*. */
enum ami_action_result {
    AMI_ACTION_SUCCESS = 0,
    AMI_ACTION_LONG_ACTION_ABORTED = 15,
    AMI_ACTION_NO_LONG_ACTION_IN_PROGRESS = 16,
    AMI_ACTION_OTHER_REASON = 250,
};
AMI_EXTERN const char *ami_dlms_action_result_name(uint8_t result);

/* exception-response state-error and service-error (Green Book 9.5). */
enum ami_state_error {
    AMI_STATE_ERROR_SERVICE_NOT_ALLOWED = 1,
    AMI_STATE_ERROR_SERVICE_UNKNOWN = 2,
};
enum ami_service_error {
    AMI_SERVICE_ERROR_OPERATION_NOT_POSSIBLE = 1,
    AMI_SERVICE_ERROR_SERVICE_NOT_SUPPORTED = 2,
    AMI_SERVICE_ERROR_OTHER_REASON = 3,
    AMI_SERVICE_ERROR_PDU_TOO_LONG = 4,
    AMI_SERVICE_ERROR_DECIPHERING_ERROR = 5,
    AMI_SERVICE_ERROR_INVOCATION_COUNTER_ERROR = 6, /* carries an Unsigned32 */
};
AMI_EXTERN const char *ami_dlms_state_error_name(uint8_t v);
AMI_EXTERN const char *ami_dlms_service_error_name(uint8_t v);

/*
 * Confirmed-ServiceError (Green Book 9.5): the service that failed (initiateError 1, read 5,
 * write 6, ...), the ServiceError CHOICE (application-reference 0, hardware-resource 1,
 * vde-state-error 2, service 3, definition 4, access 5, initiate 6, load-data-set 7, task 9) and
 * its enumerated value.
 */
AMI_EXTERN const char *ami_dlms_confirmed_service_name(uint8_t service);
AMI_EXTERN const char *ami_dlms_service_error_type_name(uint8_t type);
AMI_EXTERN const char *ami_dlms_service_error_value_name(uint8_t type, uint8_t value);

/* ---------------------------------------------------------------- conformance block */

/*
 * The 24-bit conformance block (Green Book 9.5, Conformance ::= [APPLICATION 31] IMPLICIT BIT
 * STRING (SIZE(24))), as a host integer: ASN.1 bit n is (1u << (23 - n)). So bit 3 "read" is
 * 0x100000 and bit 23 "action" is 0x000001. Wire form: 5F 1F 04 00 b0 b1 b2.
 */
#define AMI_CONF_BIT(n) (1u << (23 - (n)))
enum ami_conformance {
    AMI_CONF_GENERAL_PROTECTION = AMI_CONF_BIT(1),
    AMI_CONF_GENERAL_BLOCK_TRANSFER = AMI_CONF_BIT(2),
    AMI_CONF_READ = AMI_CONF_BIT(3),
    AMI_CONF_WRITE = AMI_CONF_BIT(4),
    AMI_CONF_UNCONFIRMED_WRITE = AMI_CONF_BIT(5),
    AMI_CONF_DELTA_VALUE_ENCODING = AMI_CONF_BIT(6),
    AMI_CONF_ATTRIBUTE0_WITH_SET = AMI_CONF_BIT(8),
    AMI_CONF_PRIORITY_MGMT = AMI_CONF_BIT(9),
    AMI_CONF_ATTRIBUTE0_WITH_GET = AMI_CONF_BIT(10),
    AMI_CONF_BLOCK_TRANSFER_WITH_GET_OR_READ = AMI_CONF_BIT(11),
    AMI_CONF_BLOCK_TRANSFER_WITH_SET_OR_WRITE = AMI_CONF_BIT(12),
    AMI_CONF_BLOCK_TRANSFER_WITH_ACTION = AMI_CONF_BIT(13),
    AMI_CONF_MULTIPLE_REFERENCES = AMI_CONF_BIT(14),
    AMI_CONF_INFORMATION_REPORT = AMI_CONF_BIT(15),
    AMI_CONF_DATA_NOTIFICATION = AMI_CONF_BIT(16),
    AMI_CONF_ACCESS = AMI_CONF_BIT(17),
    AMI_CONF_PARAMETERIZED_ACCESS = AMI_CONF_BIT(18),
    AMI_CONF_GET = AMI_CONF_BIT(19),
    AMI_CONF_SET = AMI_CONF_BIT(20),
    AMI_CONF_SELECTIVE_ACCESS = AMI_CONF_BIT(21),
    AMI_CONF_EVENT_NOTIFICATION = AMI_CONF_BIT(22),
    AMI_CONF_ACTION = AMI_CONF_BIT(23),
};
/* Name of ASN.1 bit n (0..23): "read", "get", "reserved-zero", ... Never NULL. */
AMI_EXTERN const char *ami_dlms_conformance_bit_name(unsigned n);

/* ---------------------------------------------------------------- building blocks */

/* Invoke-Id-And-Priority (one byte): bits 0..3 invoke id, bit 6 service class (1 =
 * confirmed), bit 7 priority (1 = high). Kept raw in the structs below. */
#define AMI_IIP_INVOKE_ID(b)  ((b)&0x0F)
#define AMI_IIP_CONFIRMED     0x40
#define AMI_IIP_HIGH_PRIORITY 0x80

/* Cosem-Attribute-Descriptor / Cosem-Method-Descriptor: class-id, instance-id, id (Integer8). */
typedef struct ami_cosem_desc {
    uint16_t class_id;
    ami_obis instance;
    int8_t id; /* attribute-id or method-id */
} ami_cosem_desc;

/* Selective-Access-Descriptor (OPTIONAL): access-selector and access-parameters (one Data). */
typedef struct ami_access_selection {
    bool present;
    uint8_t selector; /* 1 = range_descriptor, 2 = entry_descriptor, others class-specific */
    ami_view params;  /* encoded Data */
} ami_access_selection;

/* Cosem-Attribute-Descriptor-With-Selection. */
typedef struct ami_attr_sel {
    ami_cosem_desc attr;
    ami_access_selection access;
} ami_attr_sel;

/* DataBlock-SA: last-block, block-number, raw-data (a slice of the encoded value stream). */
typedef struct ami_datablock {
    bool last;
    uint32_t block_number;
    ami_view raw;
} ami_datablock;

/* Get-Data-Result ::= CHOICE { data [0] Data, data-access-result [1] Data-Access-Result }. */
typedef struct ami_data_result {
    bool is_data;
    uint8_t dar;   /* when !is_data */
    ami_view data; /* when is_data: encoded Data */
} ami_data_result;

/* Action-Response-With-Optional-Data. */
typedef struct ami_action_outcome {
    uint8_t result; /* enum ami_action_result */
    bool has_return;
    ami_data_result ret; /* return-parameters */
} ami_action_outcome;

/* ---------------------------------------------------------------- association */

/* InitiateRequest (Green Book 9.5): carried in the AARQ user-information. */
typedef struct ami_initiate_request {
    ami_view dedicated_key; /* empty view when absent (p NULL) */
    bool has_dedicated_key;
    bool has_response_allowed; /* encoded explicitly (DEFAULT TRUE otherwise) */
    bool response_allowed;
    bool has_qos;
    int8_t qos;            /* proposed-quality-of-service */
    uint8_t dlms_version;  /* 6 */
    uint32_t conformance;  /* enum ami_conformance bits */
    uint16_t max_pdu_size; /* client-max-receive-pdu-size */
} ami_initiate_request;

/* InitiateResponse: carried in the AARE user-information. */
typedef struct ami_initiate_response {
    bool has_qos;
    int8_t qos;
    uint8_t dlms_version;
    uint32_t conformance;
    uint16_t max_pdu_size; /* server-max-receive-pdu-size */
    uint16_t vaa_name;     /* 0x0007 for LN, base name of the association object for SN */
} ami_initiate_response;

typedef struct ami_confirmed_service_error {
    uint8_t service; /* ami_dlms_confirmed_service_name() */
    uint8_t type;    /* ServiceError CHOICE */
    uint8_t value;   /* its enumerated value */
} ami_confirmed_service_error;

typedef struct ami_exception_response {
    uint8_t state_error;         /* enum ami_state_error */
    uint8_t service_error;       /* enum ami_service_error */
    uint32_t invocation_counter; /* with AMI_SERVICE_ERROR_INVOCATION_COUNTER_ERROR */
} ami_exception_response;

/* ---------------------------------------------------------------- GET / SET / ACTION */

enum ami_get_type { AMI_GET_NORMAL = 1, AMI_GET_NEXT = 2, AMI_GET_WITH_LIST = 3 };
/* Response choice 2 is with-datablock. */
enum { AMI_GET_WITH_DATABLOCK = 2 };

typedef struct ami_get_request {
    uint8_t type;          /* enum ami_get_type */
    uint8_t iip;           /* invoke-id-and-priority */
    ami_attr_sel attr;     /* NORMAL */
    uint32_t block_number; /* NEXT */
    ami_attr_sel *list;    /* WITH_LIST (count elements, from the arena) */
    uint32_t count;
} ami_get_request;

typedef struct ami_get_response {
    uint8_t type; /* NORMAL, AMI_GET_WITH_DATABLOCK, WITH_LIST */
    uint8_t iip;
    ami_data_result result; /* NORMAL */
    /* WITH_DATABLOCK: DataBlock-G { last-block, block-number, result CHOICE { raw-data [0],
     * data-access-result [1] } }: block.raw when block_ok, else block_dar. */
    ami_datablock block;
    bool block_ok;
    uint8_t block_dar;
    ami_data_result *list; /* WITH_LIST */
    uint32_t count;
} ami_get_response;

enum ami_set_type {
    AMI_SET_NORMAL = 1,
    AMI_SET_WITH_FIRST_DATABLOCK = 2,
    AMI_SET_WITH_DATABLOCK = 3,
    AMI_SET_WITH_LIST = 4,
    AMI_SET_WITH_LIST_AND_FIRST_DATABLOCK = 5,
};

typedef struct ami_set_request {
    uint8_t type; /* enum ami_set_type */
    uint8_t iip;
    ami_attr_sel attr;   /* NORMAL, WITH_FIRST_DATABLOCK */
    ami_view value;      /* NORMAL: encoded Data */
    ami_datablock block; /* *_DATABLOCK */
    ami_attr_sel *list;  /* WITH_LIST, WITH_LIST_AND_FIRST_DATABLOCK */
    uint32_t count;
    ami_view *values; /* WITH_LIST: value-list (its own count) */
    uint32_t value_count;
} ami_set_request;

enum ami_set_response_type {
    AMI_SET_RESPONSE_NORMAL = 1,
    AMI_SET_RESPONSE_DATABLOCK = 2,
    AMI_SET_RESPONSE_LAST_DATABLOCK = 3,
    AMI_SET_RESPONSE_LAST_DATABLOCK_WITH_LIST = 4,
    AMI_SET_RESPONSE_WITH_LIST = 5,
};

typedef struct ami_set_response {
    uint8_t type; /* enum ami_set_response_type */
    uint8_t iip;
    uint8_t result;        /* NORMAL, LAST_DATABLOCK: enum ami_dar */
    uint32_t block_number; /* DATABLOCK, LAST_DATABLOCK* */
    uint8_t *results;      /* *_WITH_LIST: enum ami_dar each */
    uint32_t count;
} ami_set_response;

enum ami_action_type {
    AMI_ACTION_NORMAL = 1,
    AMI_ACTION_NEXT_PBLOCK = 2,
    AMI_ACTION_WITH_LIST = 3,
    AMI_ACTION_WITH_FIRST_PBLOCK = 4,
    AMI_ACTION_WITH_LIST_AND_FIRST_PBLOCK = 5,
    AMI_ACTION_WITH_PBLOCK = 6,
};

typedef struct ami_action_request {
    uint8_t type; /* enum ami_action_type */
    uint8_t iip;
    ami_cosem_desc method; /* NORMAL, WITH_FIRST_PBLOCK */
    bool has_params;       /* NORMAL */
    ami_view params;       /* NORMAL: encoded Data */
    uint32_t block_number; /* NEXT_PBLOCK */
    ami_datablock block;   /* *_PBLOCK */
    ami_cosem_desc *list;  /* WITH_LIST, WITH_LIST_AND_FIRST_PBLOCK */
    uint32_t count;
    ami_view *params_list; /* WITH_LIST: method-invocation-parameters (its own count) */
    uint32_t params_count;
} ami_action_request;

enum ami_action_response_type {
    AMI_ACTION_RESPONSE_NORMAL = 1,
    AMI_ACTION_RESPONSE_WITH_PBLOCK = 2,
    AMI_ACTION_RESPONSE_WITH_LIST = 3,
    AMI_ACTION_RESPONSE_NEXT_PBLOCK = 4,
};

typedef struct ami_action_response {
    uint8_t type; /* enum ami_action_response_type */
    uint8_t iip;
    ami_action_outcome outcome; /* NORMAL */
    ami_datablock block;        /* WITH_PBLOCK */
    uint32_t block_number;      /* NEXT_PBLOCK */
    ami_action_outcome *list;   /* WITH_LIST */
    uint32_t count;
} ami_action_response;

/* ---------------------------------------------------------------- notifications, GBT */

/* Data-Notification: long-invoke-id-and-priority, date-time (OCTET STRING: empty, or the
 * 12-byte COSEM date-time; other lengths are passed through), notification-body (one Data). */
typedef struct ami_data_notification {
    uint32_t long_iip;
    ami_view date_time; /* empty when absent */
    ami_view body;      /* encoded Data */
} ami_data_notification;

/* Event-Notification-Request: time OPTIONAL, cosem-attribute-descriptor, attribute-value. */
typedef struct ami_event_notification {
    bool has_time;
    ami_view time; /* OCTET STRING contents (12 bytes when a COSEM date-time) */
    ami_cosem_desc attr;
    ami_view value; /* encoded Data */
} ami_event_notification;

/* General-Block-Transfer (Green Book 9.3.10): block-control = last(bit 7) | streaming(bit 6)
 * | window (bits 0..5). */
typedef struct ami_gbt {
    bool last;
    bool streaming;
    uint8_t window; /* 0..63 */
    uint16_t block_number;
    uint16_t block_number_ack;
    ami_view data;
} ami_gbt;

/* ---------------------------------------------------------------- ciphered APDUs */

/* Security control byte (Green Book 9.2.7.2.4.1): suite id bits 0..3, A (0x10), E (0x20),
 * key set (0x40: 0 unicast, 1 broadcast), compression (0x80). */
#define AMI_SC_AUTHENTICATED 0x10
#define AMI_SC_ENCRYPTED     0x20
#define AMI_SC_BROADCAST     0x40
#define AMI_SC_COMPRESSED    0x80

typedef struct ami_ciphered {
    /* general-glo/ded-ciphering: system title; general-ciphering: originator system title. */
    ami_view system_title;
    /* general-ciphering only. */
    ami_view transaction_id;
    ami_view recipient_system_title;
    ami_view date_time;
    ami_view other_information;
    bool has_key_info;
    uint8_t key_info_type;   /* 0 identified-key, 1 wrapped-key, 2 agreed-key */
    uint8_t key_id;          /* identified-key: key-id; wrapped-key: kek-id */
    ami_view key_parameters; /* agreed-key */
    ami_view key_ciphered;   /* wrapped-key / agreed-key key-ciphered-data */
    /* Every form: the ciphered content "SC | IC | ciphertext [| tag]". */
    ami_view content;
    uint8_t sc;       /* security control byte (content[0]) */
    uint32_t ic;      /* invocation counter (content[1..4]) */
    ami_view payload; /* content after SC and IC */
} ami_ciphered;

/* ---------------------------------------------------------------- short-name services */

/* Variable-Access-Specification CHOICE (Green Book 9.5). */
enum ami_sn_access_kind {
    AMI_SN_VARIABLE_NAME = 2,
    AMI_SN_PARAMETERIZED_ACCESS = 4,
    AMI_SN_BLOCK_NUMBER_ACCESS = 5,
    AMI_SN_READ_DATA_BLOCK_ACCESS = 6,
    AMI_SN_WRITE_DATA_BLOCK_ACCESS = 7,
};

typedef struct ami_sn_access {
    uint8_t kind;          /* enum ami_sn_access_kind */
    uint16_t name;         /* VARIABLE_NAME, PARAMETERIZED_ACCESS: ObjectName (base + offset) */
    uint8_t selector;      /* PARAMETERIZED_ACCESS */
    ami_view params;       /* PARAMETERIZED_ACCESS: encoded Data */
    uint16_t block_number; /* *_BLOCK_* */
    bool last;             /* READ/WRITE_DATA_BLOCK_ACCESS */
    ami_view raw;          /* READ_DATA_BLOCK_ACCESS */
} ami_sn_access;

/* ReadResponse item CHOICE: data [0], data-access-error [1], data-block-result [2],
 * block-number [3]. */
enum ami_sn_read_kind {
    AMI_SN_READ_DATA = 0,
    AMI_SN_READ_ERROR = 1,
    AMI_SN_READ_DATA_BLOCK = 2,
    AMI_SN_READ_BLOCK_NUMBER = 3,
};

typedef struct ami_sn_read_result {
    uint8_t kind;
    ami_view data; /* DATA: encoded Data */
    uint8_t dar;   /* ERROR */
    bool last;     /* DATA_BLOCK */
    uint16_t block_number;
    ami_view raw; /* DATA_BLOCK */
} ami_sn_read_result;

/* WriteResponse item CHOICE: success [0], data-access-error [1], block-number [2]. */
enum ami_sn_write_kind { AMI_SN_WRITE_SUCCESS = 0, AMI_SN_WRITE_ERROR = 1, AMI_SN_WRITE_BLOCK = 2 };

typedef struct ami_sn_write_result {
    uint8_t kind;
    uint8_t dar;
    uint16_t block_number;
} ami_sn_write_result;

/* ReadRequest; WriteRequest, UnconfirmedWriteRequest, InformationReportRequest (which adds an
 * optional current-time, a GeneralizedTime carried as a length-prefixed string). */
typedef struct ami_sn_request {
    bool has_time; /* InformationReportRequest only */
    ami_view time;
    ami_sn_access *list;
    uint32_t count;
    ami_view *data; /* Write*, InformationReport: list-of-data (its own count) */
    uint32_t data_count;
} ami_sn_request;

typedef struct ami_sn_read_response {
    ami_sn_read_result *list;
    uint32_t count;
} ami_sn_read_response;

typedef struct ami_sn_write_response {
    ami_sn_write_result *list;
    uint32_t count;
} ami_sn_write_response;

/* ---------------------------------------------------------------- any APDU */

typedef struct ami_apdu {
    uint8_t tag; /* enum ami_apdu_tag / enum ami_acse_tag: selects the union member */
    /* Bytes after the APDU, accepted only with AMI_APDU_LENIENT_TRAILING (empty otherwise);
     * the encoder writes them back after the APDU. */
    ami_view trailing;
    union {
        ami_aarq aarq;
        ami_aare aare;
        ami_release release; /* RLRQ, RLRE */
        ami_initiate_request initiate_request;
        ami_initiate_response initiate_response;
        ami_confirmed_service_error confirmed_service_error;
        ami_exception_response exception;
        ami_get_request get_request;
        ami_get_response get_response;
        ami_set_request set_request;
        ami_set_response set_response;
        ami_action_request action_request;
        ami_action_response action_response;
        ami_data_notification data_notification;
        ami_event_notification event_notification;
        ami_gbt gbt;
        ami_ciphered ciphered;     /* every ciphered tag (ami_apdu_is_ciphered) */
        ami_sn_request sn_request; /* READ/WRITE/UNCONFIRMED_WRITE/INFORMATION_REPORT request */
        ami_sn_read_response read_response;
        ami_sn_write_response write_response;
    } u;
} ami_apdu;

/*
 * Named leniencies of the decoder (strict when 0).
 *
 * AMI_APDU_LENIENT_TRAILING: accept bytes after a complete xDLMS APDU and give them in
 * ami_apdu.trailing instead of failing with AMI_E_MALFORMED. Seen in the field: the Gurux
 * DLMS server 9.0 answers a GET of the clock (0.0.1.0.0.255, attribute 2) with the date-time
 * followed by 18 stray bytes ("09 0F 09 0C <12 bytes> 09 0F"), and a failed rows-by-entry read
 * with 14. Not applied to ACSE APDUs, whose outer BER length delimits them.
 */
enum { AMI_APDU_LENIENT_TRAILING = 1u << 0 };

typedef struct ami_apdu_opts {
    const ami_axdr_limits *limits; /* for every embedded Data; NULL: ami_axdr_limits_default */
    unsigned lenient;              /* AMI_APDU_LENIENT_* bits */
} ami_apdu_opts;

/*
 * Decodes the APDU occupying buf[0..len) (all of it, unless a leniency allows trailing bytes).
 * Views point into buf, list arrays into `arena` (which may be NULL when no list is expected; a
 * list then fails with AMI_E_NOMEM). Every embedded Data is validated with ami_axdr_skip().
 * opts may be NULL (strict, default limits).
 * Returns AMI_OK, or: AMI_E_INVAL (NULL out, or NULL buf with len > 0), AMI_E_TRUNCATED (the
 * input ends inside the APDU, or a list declares more elements than its bytes can hold),
 * AMI_E_MALFORMED (unknown choice, bad length, a field outside its
 * range, bytes after the APDU, an invalid embedded Data), AMI_E_UNSUPPORTED (a tag that is not
 * one of the APDUs above), AMI_E_TOO_LARGE (a list longer than AMI_APDU_MAX_LIST or a Data over
 * a limit), AMI_E_TOO_DEEP (Data nested too deep), AMI_E_NOMEM (the arena cannot hold a list).
 * *out is unspecified on error. Thread-safe for distinct arguments.
 */
AMI_EXTERN int ami_apdu_decode(const uint8_t *buf, size_t len, ami_arena *arena,
                               const ami_apdu_opts *opts, ami_apdu *out);

/*
 * Encodes an APDU (any tag ami_apdu_decode accepts). Data views are copied as given (they must
 * hold one encoded Data each; they are not re-validated). Returns AMI_OK, AMI_E_INVAL (NULL
 * argument, unknown tag or choice, a list with a NULL array, a field out of range such as a
 * GBT window above 63 or ciphered content shorter than SC + IC) or AMI_E_NOSPACE from the
 * writer. Deterministic: encode(decode(x)) == x for every APDU in its shortest-length form.
 */
AMI_EXTERN int ami_apdu_encode(ami_wr *w, const ami_apdu *apdu);

/* ---------------------------------------------------------------- selective access */

/* range_descriptor (access-selector 1, Blue Book 4.3.6 profile generic buffer). */
typedef struct ami_range_descriptor {
    ami_cosem_desc restricting; /* class-id, logical name, attribute-index (id) */
    uint16_t data_index;
    ami_view from_value;      /* encoded Data */
    ami_view to_value;        /* encoded Data */
    ami_view selected_values; /* encoded Data: an array of capture-object definitions */
} ami_range_descriptor;

/* entry_descriptor (access-selector 2). */
typedef struct ami_entry_descriptor {
    uint32_t from_entry, to_entry;                   /* 1-based; to_entry 0 = the last entry */
    uint16_t from_selected_value, to_selected_value; /* 1-based; 0 = the last column */
} ami_entry_descriptor;

/*
 * Decode the access-parameters Data of a selective access into a descriptor. Returns AMI_OK,
 * AMI_E_TRUNCATED, AMI_E_MALFORMED (not the structure the descriptor requires) or the errors
 * of ami_axdr_skip(). Encoders return AMI_OK or the writer's AMI_E_NOSPACE; AMI_E_INVAL for a
 * NULL argument.
 */
AMI_EXTERN int ami_range_descriptor_decode(ami_view params, ami_range_descriptor *out);
AMI_EXTERN int ami_range_descriptor_encode(ami_wr *w, const ami_range_descriptor *d);
AMI_EXTERN int ami_entry_descriptor_decode(ami_view params, ami_entry_descriptor *out);
AMI_EXTERN int ami_entry_descriptor_encode(ami_wr *w, const ami_entry_descriptor *d);

/* ---------------------------------------------------------------- description */

/*
 * Writes a decoded APDU as JSON (an object with "apdu" = ami_apdu_tag_name() and the fields of
 * the service; Data views decoded with ami_axdr_decode() into `scratch` and rendered with
 * ami_axdr_to_json(); a Data that cannot be decoded (scratch full) is given as {"hex": ...}).
 * ACSE user-information is decoded and described recursively (one level). scratch may be NULL
 * (Data then as hex). Errors are sticky in the JSON writer.
 */
AMI_EXTERN void ami_apdu_to_json(const ami_apdu *apdu, ami_arena *scratch, ami_jw *w);

/*
 * Writes a decoded APDU as indented readable text through a sink, starting at `indent`
 * spaces; Data rendered with ami_axdr_format_text(). Returns AMI_OK or the sink's error.
 */
AMI_EXTERN int ami_apdu_format_text(const ami_apdu *apdu, ami_arena *scratch, unsigned indent,
                                    ami_jw_sink sink, void *user);

#ifdef __cplusplus
}
#endif
#endif
