/*
 * Special days table (class 11, version 0; Blue Book 4.5.4) for the reference COSEM store
 * (ami/cosem.h): the state of an object of class AMI_COSEM_SPECIAL_DAYS_TABLE, and the lookup
 * the Activity calendar (ami/cosem_calendar.h) makes through it.
 *
 * Attribute 2 entries (read-only): array of spec_day_entry ::= structure {index long-unsigned,
 * specialday_date octet-string (a COSEM date, 5 bytes, wildcards allowed), day_id unsigned}.
 * Methods: 1 insert (data ::= spec_day_entry; an entry with the same index is replaced, else
 * one is added while the caller's array has room), 2 delete (data ::= long-unsigned index;
 * deleting an index that is not there succeeds and changes nothing).
 *
 * A special day's day_id replaces the week profile's day on the dates it matches: year 0xFFFF,
 * month 0xFF, day of month 0xFF and day of week 0xFF match any; day of month 0xFE is the last
 * day of the month and 0xFD the second last; with a day of week as well, 0xFE is the last such
 * weekday of the month and 0xFD the second last (0xFE with 7: the last Sunday); months 0xFD
 * and 0xFE (daylight saving end / begin) match no date. When several entries match, the first
 * in the table wins.
 * Not thread-safe.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_COSEM_SPECIAL_DAYS_H
#define AMI_COSEM_SPECIAL_DAYS_H

#include "ami/cosem.h"
#include "ami/datetime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ami_cosem_special_day {
    uint16_t index;
    uint8_t date[5]; /* COSEM date: year (2), month, day of month, day of week */
    uint8_t day_id;
} ami_cosem_special_day;

typedef struct ami_cosem_special_days {
    ami_cosem_special_day *entries; /* caller-owned array of cap, count in use */
    size_t cap;
    size_t count;
} ami_cosem_special_days;

/*
 * Does the COSEM date `date` (5 bytes, wildcards as above) match the local calendar date of
 * `local` (year, month, day and weekday used)?
 */
AMI_EXTERN bool ami_cosem_date_matches(const uint8_t date[5], const ami_datetime *local);

/* The day_id of the first entry of t matching the local date `local`, or -1 (none, t NULL). */
AMI_EXTERN int ami_cosem_special_day_at(const ami_cosem_special_days *t, const ami_datetime *local);

#ifdef __cplusplus
}
#endif
#endif
