/*
 * Profile generic (interface class 7, version 1; DLMS UA Blue Book 4.3.6) for the reference COSEM
 * store (ami/cosem.h): load profiles, billing profiles and event logs.
 *
 * Attributes: 1 logical_name, 2 buffer, 3 capture_objects, 4 capture_period, 5 sort_method,
 * 6 sort_object, 7 entries_in_use, 8 profile_entries. Methods: 1 reset, 2 capture.
 *
 * The buffer (attribute 2) is an array of entries, each a structure of the values of the capture
 * objects in capture_objects order. It can be read whole or with selective access:
 *  - selector 1, range_descriptor {restricting_object, from_value, to_value, selected_values}:
 *    the entries whose restricting-object column lies in [from_value, to_value] (integers of any
 *    width, or COSEM date-times compared as instants), with the columns of selected_values (an
 *    empty array: every column). The restricting object must be one of the capture objects.
 *  - selector 2, entry_descriptor {from_entry, to_entry, from_selected_value, to_selected_value}:
 *    entries from_entry..to_entry (1 = the oldest; to_entry 0 = the newest), columns
 *    from_selected_value..to_selected_value (1 = the first; 0 = the last). A range past
 *    entries_in_use gives the entries that exist (possibly none: an empty array).
 * Parameters that cannot apply (a restricting object or a selected column that is not captured,
 * from > to, column 0, values that are not comparable) are answered
 * data-access-result scope-of-access-violated; an answer larger than the engine's block buffer
 * other-reason. Entries are written row by row into the engine's writer, nothing is staged.
 *
 * Two kinds of buffer:
 *  (a) stored: a bounded ring of profile_entries slots of row_size bytes in caller-owned memory.
 *      capture (method 2 or ami_cosem_profile_capture) reads the capture objects through the
 *      store and appends one entry; when the ring is full the oldest entry is overwritten
 *      (sort_method FIFO). ami_cosem_profile_push appends an encoded entry (event logs).
 *  (b) virtual: entries produced on demand by a callback (ami_cosem_profile_source), for
 *      example from a deterministic metrology model, so that a simulated meter has weeks of
 *      history without holding it in memory. reset and capture go to the object's method
 *      callback (ami_cosem_obj.method) for a virtual buffer.
 * Only sort_method FIFO (1) is served: another one is refused by ami_cosem_store_init.
 *
 * Not thread-safe per object; nothing allocates.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_COSEM_PROFILE_H
#define AMI_COSEM_PROFILE_H

#include "ami/cosem.h"

#ifdef __cplusplus
extern "C" {
#endif

/* sort_method values (Blue Book 4.3.6 attribute 5). Only FIFO is served. */
enum ami_cosem_sort {
    AMI_COSEM_SORT_FIFO = 1,
    AMI_COSEM_SORT_LIFO = 2,
    AMI_COSEM_SORT_LARGEST = 3,
    AMI_COSEM_SORT_SMALLEST = 4,
    AMI_COSEM_SORT_NEAREST_TO_ZERO = 5,
    AMI_COSEM_SORT_FAREST_FROM_ZERO = 6,
};

/* Most capture objects (columns) of one profile. */
#define AMI_COSEM_PROFILE_MAX_COLUMNS 32
/* Most entries a profile declares (profile_entries): the buffer answer counts at most this. */
#define AMI_COSEM_PROFILE_MAX_ENTRIES 1000000u
/* Longest entry ami_cosem_profile_capture builds (the capture objects' values). */
#define AMI_COSEM_PROFILE_MAX_ROW 1024

/* capture_object_definition (Blue Book 4.3.6): class_id, logical_name, attribute_index,
 * data_index (0: the whole attribute; n: element n of a structure or array value). */
typedef struct ami_cosem_capture_def {
    uint16_t class_id;
    ami_obis ln;
    int8_t attr;
    uint16_t data_index;
} ami_cosem_capture_def;

/*
 * Receives one entry of a virtual buffer: `row` is one encoded structure of the capture objects'
 * values (len bytes, valid during the call). Returns true to get the next one, false to stop.
 */
typedef bool (*ami_cosem_row_fn)(void *ctx, const uint8_t *row, size_t len);

/* The producer of a virtual buffer. */
typedef struct ami_cosem_profile_source {
    /* entries_in_use at this moment (at most the profile's profile_entries). Required. */
    uint32_t (*entries)(void *user, const ami_cosem_obj *o);
    /*
     * Produces entries first..first+count-1 (1 = the oldest of entries()), in that order, calling
     * emit for each until it returns false. Returns AMI_DAR_SUCCESS or another enum ami_dar.
     * first >= 1, count >= 1 and first+count-1 <= entries() are guaranteed. Required.
     */
    uint8_t (*rows)(void *user, const ami_cosem_obj *o, uint32_t first, uint32_t count,
                    ami_cosem_row_fn emit, void *ctx);
    /*
     * Optional: narrows a range read restricted by the clock (the first capture object being
     * the Clock's time): sets *first and *count to entries that include every entry whose
     * capture time lies in [from, to] (Unix s), so that the others need not be produced; the
     * class still checks each entry's value. NULL: every entry is produced and checked.
     */
    void (*locate)(void *user, const ami_cosem_obj *o, int64_t from, int64_t to, uint32_t *first,
                   uint32_t *count);
    void *user;
} ami_cosem_profile_source;

/*
 * The state of a Profile generic object (ami_cosem_obj.state). The caller fills the
 * configuration before ami_cosem_store_init and leaves the private fields zero.
 */
typedef struct ami_cosem_profile {
    /* capture_objects (caller-owned, 1..AMI_COSEM_PROFILE_MAX_COLUMNS). */
    const ami_cosem_capture_def *columns;
    uint16_t ncolumns;
    uint8_t sort_method;               /* AMI_COSEM_SORT_FIFO (0 is taken as FIFO) */
    uint32_t capture_period;           /* s; 0: captures are asynchronous (event logs) */
    ami_cosem_capture_def sort_object; /* unused with FIFO: all zero */
    uint32_t profile_entries;          /* capacity, 1..AMI_COSEM_PROFILE_MAX_ENTRIES */
    /* (a) stored buffer: profile_entries slots of row_size bytes (caller-owned). row_size is
     * the largest encoded entry plus 2; ring_cap >= profile_entries * row_size. */
    uint8_t *ring;
    size_t ring_cap;
    size_t row_size;
    /* (b) virtual buffer (instead of ring): the producer (caller-owned). */
    const ami_cosem_profile_source *source;
    /* private: stored buffer position */
    uint32_t head; /* slot of the oldest entry */
    uint32_t used; /* entries_in_use */
} ami_cosem_profile;

/*
 * Captures one entry into a stored buffer (what method 2 capture does): reads every capture
 * object through the store (attribute, then data_index element) and appends the entry,
 * overwriting the oldest when full. Returns AMI_OK; AMI_E_INVAL (NULL argument, o not a Profile
 * generic of s, or a virtual buffer); AMI_E_NOSPACE (the entry exceeds row_size - 2 or
 * AMI_COSEM_PROFILE_MAX_ROW: nothing is stored); AMI_E_REMOTE (a capture object could not be read:
 * nothing is stored).
 */
AMI_EXTERN int ami_cosem_profile_capture(ami_cosem_store *s, ami_cosem_obj *o);

/*
 * Appends an encoded entry (one structure of ncolumns values: not checked against the capture
 * objects' types) to a stored buffer, overwriting the oldest when full. Returns AMI_OK,
 * AMI_E_INVAL (NULL argument, not a stored Profile generic, or row not one structure of
 * ncolumns elements) or AMI_E_NOSPACE (longer than row_size - 2).
 */
AMI_EXTERN int ami_cosem_profile_push(ami_cosem_obj *o, const uint8_t *row, size_t len);

/* Empties a stored buffer (what method 1 reset does). */
AMI_EXTERN void ami_cosem_profile_reset(ami_cosem_obj *o);

/* entries_in_use of a Profile generic (stored or virtual); 0 for anything else. */
AMI_EXTERN uint32_t ami_cosem_profile_entries(const ami_cosem_obj *o);

/*
 * Event logs as profiles (standard event log 0-0:99.98.0.255, power quality, tamper, security /
 * communication logs): a stored Profile generic whose two capture objects are the clock time
 * (class 8, attribute 2) and an event code Data object (class 1, attribute 2, unsigned).
 * Appends the entry {date-time of unix_s at deviation tz minutes (Blue Book sign) with clock
 * status `status`, unsigned code}. Returns as ami_cosem_profile_push (row_size must be >= 20).
 */
AMI_EXTERN int ami_cosem_event_record(ami_cosem_obj *log, int64_t unix_s, int16_t tz,
                                      uint8_t status, uint8_t code);

/* Bytes of one event log entry, plus the 2 bytes of slot header: a row_size for event logs. */
#define AMI_COSEM_EVENT_ROW_SIZE 20

#ifdef __cplusplus
}
#endif
#endif
