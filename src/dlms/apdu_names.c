/*
 * Name tables of the xDLMS APDUs and of the remote outcomes they carry (Green Book 9.5).
 * SPDX-License-Identifier: Apache-2.0
 */
#include "ami/apdu.h"

const char *ami_apdu_tag_name(uint8_t tag)
{
    switch (tag) {
    case AMI_APDU_INITIATE_REQUEST:
        return "initiate-request";
    case AMI_APDU_READ_REQUEST:
        return "read-request";
    case AMI_APDU_WRITE_REQUEST:
        return "write-request";
    case AMI_APDU_INITIATE_RESPONSE:
        return "initiate-response";
    case AMI_APDU_READ_RESPONSE:
        return "read-response";
    case AMI_APDU_WRITE_RESPONSE:
        return "write-response";
    case AMI_APDU_CONFIRMED_SERVICE_ERROR:
        return "confirmed-service-error";
    case AMI_APDU_DATA_NOTIFICATION:
        return "data-notification";
    case AMI_APDU_UNCONFIRMED_WRITE_REQUEST:
        return "unconfirmed-write-request";
    case AMI_APDU_INFORMATION_REPORT_REQUEST:
        return "information-report-request";
    case 33:
        return "glo-initiate-request";
    case 37:
        return "glo-read-request";
    case 38:
        return "glo-write-request";
    case 40:
        return "glo-initiate-response";
    case 44:
        return "glo-read-response";
    case 45:
        return "glo-write-response";
    case 46:
        return "glo-confirmed-service-error";
    case 54:
        return "glo-unconfirmed-write-request";
    case 56:
        return "glo-information-report-request";
    case 65:
        return "ded-initiate-request";
    case 69:
        return "ded-read-request";
    case 70:
        return "ded-write-request";
    case 72:
        return "ded-initiate-response";
    case 76:
        return "ded-read-response";
    case 77:
        return "ded-write-response";
    case 78:
        return "ded-confirmed-service-error";
    case 86:
        return "ded-unconfirmed-write-request";
    case 88:
        return "ded-information-report-request";
    case AMI_ACSE_AARQ:
        return "AARQ";
    case AMI_ACSE_AARE:
        return "AARE";
    case AMI_ACSE_RLRQ:
        return "RLRQ";
    case AMI_ACSE_RLRE:
        return "RLRE";
    case AMI_APDU_GET_REQUEST:
        return "get-request";
    case AMI_APDU_SET_REQUEST:
        return "set-request";
    case AMI_APDU_EVENT_NOTIFICATION_REQUEST:
        return "event-notification-request";
    case AMI_APDU_ACTION_REQUEST:
        return "action-request";
    case AMI_APDU_GET_RESPONSE:
        return "get-response";
    case AMI_APDU_SET_RESPONSE:
        return "set-response";
    case AMI_APDU_ACTION_RESPONSE:
        return "action-response";
    case 0xC8:
        return "glo-get-request";
    case 0xC9:
        return "glo-set-request";
    case 0xCA:
        return "glo-event-notification-request";
    case 0xCB:
        return "glo-action-request";
    case 0xCC:
        return "glo-get-response";
    case 0xCD:
        return "glo-set-response";
    case 0xCF:
        return "glo-action-response";
    case 0xD0:
        return "ded-get-request";
    case 0xD1:
        return "ded-set-request";
    case 0xD2:
        return "ded-event-notification-request";
    case 0xD3:
        return "ded-action-request";
    case 0xD4:
        return "ded-get-response";
    case 0xD5:
        return "ded-set-response";
    case 0xD7:
        return "ded-action-response";
    case AMI_APDU_EXCEPTION_RESPONSE:
        return "exception-response";
    case AMI_APDU_GENERAL_GLO_CIPHERING:
        return "general-glo-ciphering";
    case AMI_APDU_GENERAL_DED_CIPHERING:
        return "general-ded-ciphering";
    case AMI_APDU_GENERAL_CIPHERING:
        return "general-ciphering";
    case AMI_APDU_GENERAL_BLOCK_TRANSFER:
        return "general-block-transfer";
    default:
        return "unknown";
    }
}

const char *ami_dlms_dar_name(uint8_t dar)
{
    switch (dar) {
    case 0:
        return "success";
    case 1:
        return "hardware-fault";
    case 2:
        return "temporary-failure";
    case 3:
        return "read-write-denied";
    case 4:
        return "object-undefined";
    case 9:
        return "object-class-inconsistent";
    case 11:
        return "object-unavailable";
    case 12:
        return "type-unmatched";
    case 13:
        return "scope-of-access-violated";
    case 14:
        return "data-block-unavailable";
    case 15:
        return "long-get-aborted";
    case 16:
        return "no-long-get-in-progress";
    case 17:
        return "long-set-aborted";
    case 18:
        return "no-long-set-in-progress";
    case 19:
        return "data-block-number-invalid";
    case 250:
        return "other-reason";
    default:
        return "unknown";
    }
}

const char *ami_dlms_action_result_name(uint8_t result)
{
    switch (result) {
    case 15:
        return "long-action-aborted";
    case 16:
        return "no-long-action-in-progress";
    case 17:
    case 18:
    case 19:
        return "unknown";
    default:
        return ami_dlms_dar_name(result);
    }
}

const char *ami_dlms_state_error_name(uint8_t v)
{
    switch (v) {
    case 1:
        return "service-not-allowed";
    case 2:
        return "service-unknown";
    default:
        return "unknown";
    }
}

const char *ami_dlms_service_error_name(uint8_t v)
{
    static const char *const names[] = {
        NULL,           "operation-not-possible", "service-not-supported",   "other-reason",
        "pdu-too-long", "deciphering-error",      "invocation-counter-error"};
    return v >= 1 && v < AMI_COUNTOF(names) ? names[v] : "unknown";
}

const char *ami_dlms_confirmed_service_name(uint8_t service)
{
    static const char *const names[] = {
        NULL,
        "initiateError",
        "getStatus",
        "getNameList",
        "getVariableAttribute",
        "read",
        "write",
        "getDataSetAttribute",
        "getTIAttribute",
        "changeScope",
        "start",
        "stop",
        "resume",
        "makeUsable",
        "initiateLoad",
        "loadSegment",
        "terminateLoad",
        "initiateUpLoad",
        "upLoadSegment",
        "terminateUpLoad",
    };
    return service >= 1 && service < AMI_COUNTOF(names) ? names[service] : "unknown";
}

const char *ami_dlms_service_error_type_name(uint8_t type)
{
    static const char *const names[] = {"application-reference",
                                        "hardware-resource",
                                        "vde-state-error",
                                        "service",
                                        "definition",
                                        "access",
                                        "initiate",
                                        "load-data-set",
                                        "change-scope",
                                        "task"};
    return type < AMI_COUNTOF(names) ? names[type] : "unknown";
}

const char *ami_dlms_service_error_value_name(uint8_t type, uint8_t value)
{
    static const char *const application_reference[] = {"other",
                                                        "time-elapsed",
                                                        "application-unreachable",
                                                        "application-reference-invalid",
                                                        "application-context-unsupported",
                                                        "provider-communication-error",
                                                        "deciphering-error"};
    static const char *const hardware_resource[] = {
        "other", "memory-unavailable", "processor-resource-unavailable", "mass-storage-unavailable",
        "other-resource-unavailable"};
    static const char *const vde_state[] = {"other", "no-dlms-context", "loading-data-set",
                                            "status-nochange", "status-inoperable"};
    static const char *const service[] = {"other", "pdu-size", "service-unsupported"};
    static const char *const definition[] = {
        "other", "object-undefined", "object-class-inconsistent", "object-attribute-inconsistent"};
    static const char *const access[] = {"other", "scope-of-access-violated",
                                         "object-access-violated", "hardware-fault",
                                         "object-unavailable"};
    static const char *const initiate[] = {"other", "dlms-version-too-low",
                                           "incompatible-conformance", "pdu-size-too-short",
                                           "refused-by-the-VDE-Handler"};
    static const char *const load_data_set[] = {"other",
                                                "primitive-out-of-sequence",
                                                "not-loadable",
                                                "dataset-size-too-large",
                                                "not-awaited-segment",
                                                "interpretation-failure",
                                                "storage-failure",
                                                "data-set-not-ready"};
    static const char *const task[] = {"other", "no-remote-control", "ti-stopped", "ti-running",
                                       "ti-unusable"};
    static const struct {
        const char *const *names;
        size_t n;
    } tables[] = {
        {application_reference, AMI_COUNTOF(application_reference)},
        {hardware_resource, AMI_COUNTOF(hardware_resource)},
        {vde_state, AMI_COUNTOF(vde_state)},
        {service, AMI_COUNTOF(service)},
        {definition, AMI_COUNTOF(definition)},
        {access, AMI_COUNTOF(access)},
        {initiate, AMI_COUNTOF(initiate)},
        {load_data_set, AMI_COUNTOF(load_data_set)},
        {NULL, 0}, /* change-scope: reserved */
        {task, AMI_COUNTOF(task)},
    };
    if (type < AMI_COUNTOF(tables) && value < tables[type].n)
        return tables[type].names[value];
    return "unknown";
}

const char *ami_dlms_conformance_bit_name(unsigned n)
{
    static const char *const names[24] = {
        "reserved-zero",
        "general-protection",
        "general-block-transfer",
        "read",
        "write",
        "unconfirmed-write",
        "delta-value-encoding",
        "reserved-seven",
        "attribute0-supported-with-set",
        "priority-mgmt-supported",
        "attribute0-supported-with-get",
        "block-transfer-with-get-or-read",
        "block-transfer-with-set-or-write",
        "block-transfer-with-action",
        "multiple-references",
        "information-report",
        "data-notification",
        "access",
        "parameterized-access",
        "get",
        "set",
        "selective-access",
        "event-notification",
        "action",
    };
    return n < 24 ? names[n] : "unknown";
}
