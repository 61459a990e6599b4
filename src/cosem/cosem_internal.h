/*
 * Internals of the COSEM object store (ami/cosem.h): how one interface class plugs in.
 *
 * Each interface class lives in its own file src/cosem/class_<name>.c and defines
 *
 *     const ami__cosem_class ami__cosem_class_<name> = { ... };
 *
 * CMake generates the table of classes from those file names (cosem_classes.inc), so adding a
 * class touches no list. The store core (store.c) does lookup, access rights, the object list
 * and dispatch; a class implements only its attributes and methods. Attribute 1
 * (logical_name) is answered by the core for every class.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_COSEM_INTERNAL_H
#define AMI_COSEM_INTERNAL_H

#include "ami/axdr.h"
#include "ami/cosem.h"

typedef struct ami__cosem_class {
    uint16_t id; /* class_id */
    uint8_t version;
    uint8_t attrs;   /* attributes 1..attrs */
    uint8_t methods; /* methods 1..methods */
    /* Default attribute access modes (enum ami_attr_access, index 0 = attribute 1) for an
     * authenticated association; objects may override them (ami_cosem_obj.attr_access). */
    const uint8_t *access;
    /* Access selectors each attribute supports, as a bit mask (bit n = selector n; index 0 =
     * attribute 1), listed in the object list; NULL: none. */
    const uint8_t *selectors;
    /*
     * Checks an object of this class at ami_cosem_store_init (state present and coherent, ...):
     * AMI_OK or AMI_E_CONFIG. NULL: nothing to check.
     */
    int (*check)(const ami_cosem_store *s, const ami_cosem_obj *o);
    /*
     * Reads attribute attr (2..attrs) into out; returns an enum ami_dar. `sel` is never NULL
     * (sel->present false without selective access); a class that takes no selective access
     * on that attribute answers AMI_DAR_SCOPE_OF_ACCESS_VIOLATED.
     */
    uint8_t (*get)(ami_cosem_store *s, ami_cosem_obj *o, uint8_t attr,
                   const ami_access_selection *sel, const ami_dlms_ctx *ctx, ami_wr *out);
    /* Writes attribute attr; returns an enum ami_dar. NULL: read-write-denied. */
    uint8_t (*set)(ami_cosem_store *s, ami_cosem_obj *o, uint8_t attr, ami_view data,
                   const ami_dlms_ctx *ctx);
    /*
     * Runs method id (1..methods); may write one Data of return parameters into out; returns an
     * enum ami_action_result. NULL: the object's own `method` callback runs (the meter model
     * owns the methods), other-reason without one.
     */
    uint8_t (*action)(ami_cosem_store *s, ami_cosem_obj *o, uint8_t id, ami_view params,
                      const ami_dlms_ctx *ctx, ami_wr *out);
} ami__cosem_class;

/* The class with this id, or NULL. */
const ami__cosem_class *ami__cosem_class_of(uint16_t id);

/* Access mode of an attribute / a method of o for the association ctx (public rule applied). */
uint8_t ami__cosem_attr_mode(const ami_cosem_obj *o, const ami__cosem_class *c, uint8_t attr,
                             const ami_dlms_ctx *ctx);
uint8_t ami__cosem_method_mode(const ami_cosem_obj *o, uint8_t method, const ami_dlms_ctx *ctx);

/* o with its per-instance fields resolved: o itself for a store of its own, else a copy in
 * *tmp (shared table, ami_cosem_store_init_shared). NULL for NULL. */
ami_cosem_obj *ami__cosem_bind(const ami_cosem_store *s, ami_cosem_obj *o, ami_cosem_obj *tmp);

/* Association LN object_list (attribute 2) of the whole store, as ctx sees it. */
void ami__cosem_put_object_list(const ami_cosem_store *s, const ami_dlms_ctx *ctx, ami_wr *out);

/* Calls the object's own method callback (other-reason without one). */
uint8_t ami__cosem_obj_method(ami_cosem_obj *o, uint8_t id, ami_view params, ami_wr *out);

/* Encoders of one A-XDR Data. */
void ami__cosem_put_octets(ami_wr *w, const uint8_t *p, size_t n);
void ami__cosem_put_u8(ami_wr *w, uint8_t type, uint8_t v);
void ami__cosem_put_u16(ami_wr *w, uint8_t type, uint16_t v);
void ami__cosem_put_u32(ami_wr *w, uint8_t type, uint32_t v);
void ami__cosem_put_u64(ami_wr *w, uint8_t type, uint64_t v);
/* A structure or array header with n elements. */
void ami__cosem_put_struct(ami_wr *w, size_t n);
void ami__cosem_put_array(ami_wr *w, size_t n);
/* A COSEM date-time (octet-string of 12) for unix time t at deviation tz minutes (east of UTC
 * negative, Blue Book sign) and clock status. */
void ami__cosem_put_datetime(ami_wr *w, int64_t t, int16_t tz, uint8_t status);
/* A date-time with every field not specified. */
void ami__cosem_put_datetime_unspec(ami_wr *w);

/* The stored value of a Data-like attribute: the object's read callback, else its buffer. */
uint8_t ami__cosem_get_value(const ami_cosem_obj *o, ami_wr *out);
/* Replaces the stored value (type kept), refusing computed values. */
uint8_t ami__cosem_set_value(ami_cosem_obj *o, ami_view data);

#endif
