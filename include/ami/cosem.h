/*
 * Reference COSEM object store for servers (DLMS UA Blue Book 4 "COSEM interface classes"):
 * a small table of objects implementing ami_dlms_store_ops (ami/dlms_server.h), the beginning of
 * the virtual meter's object model.
 *
 * Each interface class is one file, src/cosem/class_<name>.c (see src/cosem/cosem_internal.h
 * for how a class plugs in). Classes: Data (class 1, version 0), Register (class 3, version 0,
 * scaler_unit), Clock (class 8, version 0: time, time_zone, status and daylight-savings
 * attributes, applied with an ami/cosem_clock.h state; time settable) and Association LN (class 15,
 * version 1: object_list with access rights, associated_partners_id, application_context_name,
 * xDLMS_context_info, authentication_mechanism_name, association_status); Profile generic (class 7,
 * version 1: ami/cosem_profile.h), Extended register (class 4, ami/cosem_ext_register.h) and Demand
 * register (class 5, ami/cosem_demand.h), Image transfer (class 18, ami/cosem_image.h). Values come
 * from the caller: a callback per
 * Data/Register object (so the virtual meter can feed metrology) or a caller-owned value buffer,
 * and a clock source.
 *
 * Access rights: each object carries the rights granted to an authenticated association
 * (mechanism LLS or higher); an association without authentication gets the same rights with
 * write access and method access removed (the "public client" rule meters apply). Class
 * defaults are used when an object gives none.
 *
 * Nothing allocates; the store only reads its table except for stored values and the clock's
 * time zone, which SET changes. Not thread-safe per store.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_COSEM_H
#define AMI_COSEM_H

#include <stddef.h>
#include <stdint.h>

#include "ami/dlms_server.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Interface class ids (Blue Book 4). ami_cosem_class_info() tells which this build serves. */
enum ami_cosem_class {
    AMI_COSEM_DATA = 1,
    AMI_COSEM_REGISTER = 3,
    AMI_COSEM_EXTENDED_REGISTER = 4,
    AMI_COSEM_DEMAND_REGISTER = 5,
    AMI_COSEM_PROFILE_GENERIC = 7,
    AMI_COSEM_CLOCK = 8,
    AMI_COSEM_SCRIPT_TABLE = 9,
    AMI_COSEM_SPECIAL_DAYS_TABLE = 11,
    AMI_COSEM_ASSOCIATION_SN = 12,
    AMI_COSEM_ASSOCIATION_LN = 15,
    AMI_COSEM_SAP_ASSIGNMENT = 17,
    AMI_COSEM_IMAGE_TRANSFER = 18,
    AMI_COSEM_ACTIVITY_CALENDAR = 20,
    AMI_COSEM_REGISTER_MONITOR = 21,
    AMI_COSEM_SINGLE_ACTION_SCHEDULE = 22,
    AMI_COSEM_PUSH_SETUP = 40,
    AMI_COSEM_SECURITY_SETUP = 64,
    AMI_COSEM_DISCONNECT_CONTROL = 70,
    AMI_COSEM_LIMITER = 71,
};

typedef struct ami_cosem_obj ami_cosem_obj;

/*
 * Value source of a Data or Register object (attribute 2): writes one encoded A-XDR Data into
 * out and returns AMI_DAR_SUCCESS, or returns another enum ami_dar.
 */
typedef uint8_t (*ami_cosem_value_fn)(void *user, const ami_cosem_obj *obj, ami_wr *out);

/*
 * Method of an object (Register reset, Clock adjust_to_quarter, ...): `id` is the method id,
 * params the parameters (one Data, len 0 when none). May write one Data of return parameters
 * into out. Returns an enum ami_action_result.
 */
typedef uint8_t (*ami_cosem_method_fn)(void *user, ami_cosem_obj *obj, uint8_t id, ami_view params,
                                       ami_wr *out);

struct ami_cosem_obj {
    uint16_t class_id; /* enum ami_cosem_class */
    ami_obis ln;
    /*
     * Attribute access modes (enum ami_attr_access) for attributes 1..n (index 0 = attribute
     * 1), n = the class's attribute count, for authenticated associations; NULL: the class
     * defaults (read-only, clock time and time zone read-write).
     */
    const uint8_t *attr_access;
    /* Method access modes (enum ami_method_access); NULL: no method is accessible. */
    const uint8_t *method_access;
    /* Data / Register value: the callback when set, else the stored value below. */
    ami_cosem_value_fn read;
    /* Methods the table grants access to (method_access) are run by this; NULL: other-reason. */
    ami_cosem_method_fn method;
    void *user; /* given to read and method */
    /*
     * Class-specific state (Profile generic buffer, Demand register periods, ...): the type the
     * class's header names; NULL for Data, Register, Clock and Association LN.
     */
    void *state;
    /* Stored value (one encoded Data, caller-owned buffer); SET replaces it when it fits. */
    uint8_t *value;
    size_t value_cap;
    size_t value_len;
    /* Register: scaler_unit (Blue Book 4.3.2): scaler (power of ten) and unit (enum). */
    int8_t scaler;
    uint8_t unit;
    /* Clock: time_zone (minutes, long) and status (unsigned) kept by the store. */
    int16_t time_zone;
    uint8_t clock_status;
};

/* The clock source of the store (Clock objects read and set it). */
typedef struct ami_cosem_clock_src {
    /* Current time, UTC seconds since 1970. Required when the table holds a Clock. */
    int64_t (*now)(void *user);
    /* Sets the time (UTC seconds); returns an enum ami_dar. NULL: time is read-only. */
    uint8_t (*set)(void *user, int64_t unix_s);
    void *user;
} ami_cosem_clock_src;

typedef struct ami_cosem_store {
    ami_cosem_obj *objects; /* caller-owned table */
    size_t count;
    ami_cosem_clock_src clock;
    /* The instance of a shared table (ami_cosem_store_init_shared), else NULL. */
    void *instance;
    /* Shared table: the Clock's time_zone and status of this instance (SET changes them). */
    int16_t time_zone;
    uint8_t clock_status;
} ami_cosem_store;

/*
 * A member of an instance as the state or value of an object of a shared table: its offset in
 * the instance's type (plus one, so that NULL stays "none").
 */
#define AMI_COSEM_MEMBER(type, member) ((void *)(uintptr_t)(offsetof(type, member) + 1u))

/* The ops to put in ami_dlms_server_config.ops, with the store as `store`. */
extern AMI_EXTERN const ami_dlms_store_ops ami_cosem_store_ops;

/*
 * Initialises a store over a table (caller-owned; must outlive the store and every server using
 * it). Returns AMI_OK; AMI_E_INVAL for NULL arguments; AMI_E_CONFIG for an unknown class, a
 * duplicate logical name, a stored value whose value_len exceeds value_cap, or a Clock without
 * clock->now.
 */
AMI_EXTERN int ami_cosem_store_init(ami_cosem_store *s, ami_cosem_obj *objects, size_t count,
                                    const ami_cosem_clock_src *clock);

/*
 * Initialises a store over a table shared by several stores, one per instance (the meters of a
 * fleet hold one table instead of one each). In such a table each object's `state` and `value`
 * are offsets into the instance (AMI_COSEM_MEMBER, or NULL), and a NULL `user` stands for the
 * instance itself; the store gives its classes and callbacks a copy of the object with these
 * resolved. The table is only read: the Clock's time_zone and status are kept per store
 * (initialised from the table's Clock), and a stored value keeps its length (a SET of another
 * length answers other-reason). Same errors as ami_cosem_store_init (AMI_E_INVAL for a NULL
 * instance).
 */
AMI_EXTERN int ami_cosem_store_init_shared(ami_cosem_store *s, ami_cosem_obj *objects, size_t count,
                                           const ami_cosem_clock_src *clock, void *instance);

/*
 * The object with this logical name with its per-instance fields resolved: the table's own
 * entry for a store of its own, a copy in *tmp for a shared table (ami_cosem_store_init_shared).
 * For functions that take an object (ami_cosem_push_run, ami_cosem_event_record, ...). NULL when
 * absent.
 */
AMI_EXTERN ami_cosem_obj *ami_cosem_store_bind(ami_cosem_store *s, const ami_obis *ln,
                                               ami_cosem_obj *tmp);

/* Version, attribute count and method count of a class of this store; false when unknown. */
AMI_EXTERN bool ami_cosem_class_info(uint16_t class_id, uint8_t *version, uint8_t *attrs,
                                     uint8_t *methods);

/* The object with this logical name (the table's entry, unresolved for a shared table), or
 * NULL. */
AMI_EXTERN ami_cosem_obj *ami_cosem_store_find(ami_cosem_store *s, const ami_obis *ln);

#ifdef __cplusplus
}
#endif
#endif
