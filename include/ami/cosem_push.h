/*
 * Push setup (class 40, version 0; Blue Book 4.4.8.2) and SAP assignment (class 17, version 0;
 * Blue Book 4.4.5) for the reference COSEM store (ami/cosem.h).
 *
 * Push setup attributes: 2 push_object_list (array {class_id long-unsigned, logical_name
 * octet-string, attribute_index integer, data_index long-unsigned}), 3
 * send_destination_and_method (structure {transport_service enum, destination octet-string,
 * message enum}), 4 communication_window (array {start, end date-time octet-strings}), 5
 * randomisation_start_interval (long-unsigned, s), 6 number_of_retries (unsigned), 7
 * repetition_delay (long-unsigned, s); all settable, lists in caller-owned arrays. Method 1 push
 * (integer(0)) builds a Data-Notification APDU (Green Book 9.3.7) whose body is a structure of
 * the listed attributes' values, in list order (attribute_index 0: a structure of all the
 * object's attributes; data_index n > 0: only element n, 1-based, of a structure or array
 * value, as in a Profile generic capture object; a data_index with attribute_index 0, or past
 * the value's elements, fails the push), with the meter's clock time in date-time and a
 * long-invoke-id counting up from 1, and hands it to the caller's `send` callback. Outside every
 * communication window (when the list is not empty) the push answers temporary-failure.
 *
 * Delivery is the caller's (libami opens no socket and reads no clock), with the schedule
 * arithmetic here: the first attempt ami_cosem_push_start_delay() seconds after the trigger
 * (randomisation_start_interval), and after a failed attempt ami_cosem_push_retry() says whether
 * to retry (number_of_retries) and after how long (repetition_delay; the version 2 structure
 * {repetition_delay_min, repetition_delay_exponent, repetition_delay_max} is in the fields
 * repetition_delay, repetition_delay_exponent and repetition_delay_max, set by the caller since
 * this class is version 0, whose attribute 7 sets repetition_delay only).
 *
 * SAP assignment: attribute 2 SAP_assignment_list (array {SAP long-unsigned,
 * logical_device_name octet-string}) in a caller-owned array; method 1 connect_logical_device
 * (structure {SAP, logical_device_name}) assigns a SAP to a logical device (adding it when the
 * array has room), SAP 0 removes it; a SAP used by another device is refused (other-reason).
 * Not thread-safe.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_COSEM_PUSH_H
#define AMI_COSEM_PUSH_H

#include "ami/cosem.h"

#ifdef __cplusplus
extern "C" {
#endif

/* transport_service (send_destination_and_method). */
enum ami_push_transport {
    AMI_PUSH_TCP = 0,
    AMI_PUSH_UDP = 1,
    AMI_PUSH_FTP = 2,
    AMI_PUSH_SMTP = 3,
    AMI_PUSH_SMS = 4,
    AMI_PUSH_HDLC = 5,
    AMI_PUSH_MBUS = 6,
    AMI_PUSH_ZIGBEE = 7,
};

/* One push_object_list element. */
typedef struct ami_cosem_push_obj {
    uint16_t class_id;
    ami_obis ln;
    int8_t attr;         /* attribute_index (0: every attribute) */
    uint16_t data_index; /* 0: the whole attribute */
} ami_cosem_push_obj;

/* One communication_window element: start and end date-times (wildcards allowed). */
typedef struct ami_cosem_window {
    uint8_t start[12];
    uint8_t end[12];
} ami_cosem_window;

#define AMI_PUSH_DEST_MAX 64

typedef struct ami_cosem_push ami_cosem_push;

/* Delivers one encoded Data-Notification APDU (valid only during the call). Returns an enum
 * ami_action_result (the answer of the push method). */
typedef uint8_t (*ami_push_send_fn)(void *user, const ami_cosem_push *p, const uint8_t *apdu,
                                    size_t len);

struct ami_cosem_push {
    ami_cosem_push_obj *objects; /* caller-owned array of objects_cap */
    size_t objects_cap, objects_count;
    uint8_t transport; /* enum ami_push_transport */
    uint8_t destination[AMI_PUSH_DEST_MAX];
    size_t destination_len;
    uint8_t message;           /* 0: A-XDR encoded xDLMS APDU */
    ami_cosem_window *windows; /* caller-owned array of windows_cap (may be NULL with cap 0) */
    size_t windows_cap, windows_count;
    uint16_t randomisation_start_interval; /* s */
    uint8_t number_of_retries;
    uint16_t repetition_delay; /* s (version 2: repetition_delay_min) */
    /* version 2: the delay grows by exponent / 100 per retry (0 or 100: constant) up to max
     * (s, 0: no maximum); 0 and 0 for versions 0 and 1 */
    uint16_t repetition_delay_exponent, repetition_delay_max;
    uint8_t *apdu; /* caller-owned buffer the notification is built in */
    size_t apdu_cap;
    ami_push_send_fn send;
    void *user;
    uint32_t invoke_id; /* the last long-invoke-id used */
    uint32_t pushed;    /* notifications handed to send (statistics) */
};

/*
 * Builds the notification of Push setup object `push` of store s at time now (unix s) into
 * p->apdu and hands it to p->send (without send: built only). *len (may be NULL) gets its
 * length. Returns an enum ami_action_result: success (or send's result), temporary-failure
 * outside the communication windows, other-reason when an attribute cannot be read, the APDU
 * does not fit p->apdu, or a data_index does not select an element.
 */
AMI_EXTERN uint8_t ami_cosem_push_run(ami_cosem_store *s, ami_cosem_obj *push, int64_t now,
                                      size_t *len);

/*
 * Seconds from a push's trigger to its first attempt: uniform in [0,
 * randomisation_start_interval] given `random`, any value of the caller's 32-bit generator
 * (random mod (interval + 1)). 0 for p NULL. Pure.
 */
AMI_EXTERN uint32_t ami_cosem_push_start_delay(const ami_cosem_push *p, uint32_t random);

/*
 * After `failed` failed attempts of one push (1: the first attempt failed): true when another
 * attempt is due (failed <= number_of_retries), with *delay_s (may be NULL) the seconds to wait
 * before it: repetition_delay; with a version 2 exponent e (not 0 or 100) the n-th retry waits
 * repetition_delay x (e / 100)^(n - 1), rounded down at each step, at most repetition_delay_max
 * when that is not 0 (Blue Book 4.4.8.2 version 2). False when the retries are used up (or
 * failed is 0, p NULL). Pure.
 */
AMI_EXTERN bool ami_cosem_push_retry(const ami_cosem_push *p, unsigned failed, uint32_t *delay_s);

/* ---------------------------------------------------------------- SAP assignment */

#define AMI_LDN_MAX 16 /* logical device names: up to 16 octets (Blue Book 4.4.5) */

typedef struct ami_cosem_sap_entry {
    uint16_t sap;
    uint8_t name[AMI_LDN_MAX];
    uint8_t name_len;
} ami_cosem_sap_entry;

typedef struct ami_cosem_sap {
    ami_cosem_sap_entry *entries; /* caller-owned array of cap */
    size_t cap, count;
} ami_cosem_sap;

#ifdef __cplusplus
}
#endif
#endif
