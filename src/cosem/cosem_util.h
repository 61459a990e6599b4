/*
 * Helpers shared by the classes that act on other objects of the store (Script table, Single
 * action schedule, Activity calendar, Push setup) and that decode method parameters: small
 * bounded A-XDR readers and the store's own internal association.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_COSEM_UTIL_H
#define AMI_COSEM_UTIL_H

#include "cosem/cosem_internal.h"

/* True when v is exactly integer(0) (the "data ::= integer(0)" of most methods). */
bool ami__cosem_is_integer0(ami_view v);

/* Readers of one tagged A-XDR value at r: each checks the tag, reads the value and advances;
 * AMI_OK, AMI_E_TYPE (another tag; r does not move), AMI_E_TRUNCATED or AMI_E_MALFORMED. */
int ami__cosem_rd_u8(ami_rd *r, uint8_t type, uint8_t *v);
int ami__cosem_rd_u16(ami_rd *r, uint8_t type, uint16_t *v);
int ami__cosem_rd_u32(ami_rd *r, uint8_t type, uint32_t *v);
/* An octet-string: its contents as a view into r's buffer. */
int ami__cosem_rd_octets(ami_rd *r, ami_view *v);
/* A structure / array header: its element count (at most `max`, else AMI_E_TOO_LARGE). */
int ami__cosem_rd_struct(ami_rd *r, size_t *n, size_t max);
int ami__cosem_rd_array(ami_rd *r, size_t *n, size_t max);
/* Skips one Data (bounded by the default A-XDR limits, depth 16), giving its bytes. */
int ami__cosem_rd_data(ami_rd *r, ami_view *v);

/* Element `index` (1-based) of the structure or array Data v, as a view into v (the data_index
 * of a capture or push object definition). False when v is no structure / array, has fewer
 * elements or is malformed. */
bool ami__cosem_element(ami_view v, uint16_t index, ami_view *out);

/*
 * SET of an array attribute into a caller-owned array: the array header at r (at most `cap`
 * elements), then `elem` reads each element. Everything is read and checked first (store
 * false), then read again and stored (store true), so a bad element leaves the attribute as it
 * was. elem returns AMI_DAR_SUCCESS or the DAR to answer. On success *count is the new length.
 */
typedef uint8_t (*ami__cosem_elem_fn)(ami_rd *r, void *state, size_t i, bool store);
uint8_t ami__cosem_set_array(ami_rd *r, size_t cap, size_t *count, ami__cosem_elem_fn elem,
                             void *state);

/* The association the meter uses for its own actions (scripts, schedules): authenticated,
 * management logical device. Access rights are not checked for it. */
extern const ami_dlms_ctx ami__cosem_self_ctx;

/* True when attribute / method `id` exists in class `cls` (the checks the server makes before
 * a request reaches the store, repeated for the store's own calls). */
bool ami__cosem_id_valid(uint16_t cls, int8_t id, bool method);

/* Deviation (minutes, Blue Book sign: UTC = local + deviation) of the store's first Clock
 * object, 0 without one. */
int16_t ami__cosem_store_tz(const ami_cosem_store *s);

/* The same at unix time t, daylight saving applied (ami_cosem_clock_deviation). */
int16_t ami__cosem_store_dev(const ami_cosem_store *s, int64_t t);

/*
 * Local broken-down time of unix time t at deviation tz (weekday 1 = Monday). Returns AMI_OK or
 * AMI_E_RANGE.
 */
int ami__cosem_local(int64_t t, int16_t tz, ami_datetime *dt);

/* Timer steps of ami_cosem_store_run for one object (Single action schedule, Activity
 * calendar): the executions done. */
size_t ami__cosem_schedule_run(ami_cosem_store *s, ami_cosem_obj *o, int64_t now);
size_t ami__cosem_calendar_run(ami_cosem_store *s, ami_cosem_obj *o, int64_t now);

#endif
