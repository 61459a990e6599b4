/*
 * Activity calendar (class 20, version 0; Blue Book 4.5.5) for the reference COSEM store
 * (ami/cosem.h): the state of an object of class AMI_COSEM_ACTIVITY_CALENDAR.
 *
 * Attributes: 2 calendar_name_active, 3 season_profile_active, 4 week_profile_table_active,
 * 5 day_profile_table_active (read-only), 6..9 the same passive (settable), 10
 * activate_passive_calendar_time (settable); method 1 activate_passive_calendar (integer(0))
 * copies the passive calendar into the active one, as does ami_cosem_store_run() when
 * activate_passive_calendar_time (fully specified; wildcards never fire) falls due.
 *
 * Each profile is kept as its encoded A-XDR Data in a caller-owned buffer and parsed when used,
 * so nothing is sized by the peer: a SET that does not fit the buffer is refused. The
 * encodings (Blue Book 4.5.5):
 *   season_profile ::= array {season_profile_name octet-string, season_start octet-string
 *                             (date-time), week_name octet-string}
 *   week_profile_table ::= array {week_profile_name octet-string, monday .. sunday unsigned
 *                                 (day_id)}
 *   day_profile_table ::= array {day_id unsigned, day_schedule array {start_time octet-string
 *                               (time), script_logical_name octet-string, script_selector
 *                               long-unsigned}}
 * Not thread-safe.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_COSEM_CALENDAR_H
#define AMI_COSEM_CALENDAR_H

#include "ami/cosem.h"
#include "ami/cosem_special_days.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The four parts of one calendar (index into ami_cosem_calendar.active / .passive). */
enum ami_calendar_part {
    AMI_CALENDAR_NAME = 0,    /* calendar_name: octet-string */
    AMI_CALENDAR_SEASONS = 1, /* season_profile */
    AMI_CALENDAR_WEEKS = 2,   /* week_profile_table */
    AMI_CALENDAR_DAYS = 3,    /* day_profile_table */
};

/* A caller-owned buffer holding one encoded Data. */
typedef struct ami_cosem_buf {
    uint8_t *p;
    size_t cap;
    size_t len;
} ami_cosem_buf;

typedef struct ami_cosem_calendar {
    ami_cosem_buf active[4]; /* each active[i].cap >= passive[i].cap */
    ami_cosem_buf passive[4];
    uint8_t activate_time[12]; /* date-time (not specified: never) */
    /* Called after each activation (may be NULL): the meter re-reads its tariff. */
    void (*on_activate)(void *user);
    /*
     * Called before the buffers are written (a SET of a passive part, an activation; may be
     * NULL): it may point active and passive at buffers of the object's own, keeping their
     * contents and capacities (copy-on-write of a default calendar several objects share).
     * AMI_OK, else the write is refused (temporary-failure; activation returns the error).
     */
    int (*on_write)(void *user, struct ami_cosem_calendar *c);
    void *user; /* given to on_activate and on_write */
    /* The Special days table (class 11) whose day_ids replace the week profile's day on its
     * dates (ami/cosem_special_days.h); NULL: none. */
    const ami_cosem_special_days *special_days;
    int64_t last;         /* ami_cosem_store_run: time run up to (internal) */
    uint32_t activations; /* statistics */
} ami_cosem_calendar;

/* The action of the active calendar at a time: the script to run (a tariff script). */
typedef struct ami_cosem_calendar_action {
    ami_obis script_ln;
    uint16_t script_selector;
} ami_cosem_calendar_action;

/*
 * Checks one encoded part (enum ami_calendar_part) as a SET would: AMI_OK, AMI_E_TYPE (not the
 * structure above), AMI_E_RANGE (a date, time or day_id out of range), AMI_E_TOO_LARGE (more
 * than 255 elements in one array).
 */
AMI_EXTERN int ami_cosem_calendar_check_part(unsigned part, const uint8_t *p, size_t len);

/*
 * The active calendar's action at unix time t for local time at deviation tz (Blue Book sign):
 * the season whose season_start is the latest not after t (none: the latest of all, the season
 * running since last year), its week profile, that weekday's day profile (or the day_id of a
 * special day of c->special_days matching the local date), and the latest
 * day_schedule entry whose start_time is not after the time of day (none: the day's last
 * entry, running since the day before). *until (may be NULL) gets the next time the answer may
 * change (the next start_time of the day, else the next local midnight).
 * Returns AMI_OK, AMI_E_NOTFOUND (the calendar names a week or day that is not there, or has
 * no season or entry), AMI_E_MALFORMED (the stored encoding is bad) or AMI_E_INVAL.
 */
AMI_EXTERN int ami_cosem_calendar_at(const ami_cosem_calendar *c, int64_t t, int16_t tz,
                                     ami_cosem_calendar_action *out, int64_t *until);

/* Copies the passive calendar into the active one (after on_write) and calls on_activate.
 * AMI_OK, AMI_E_INVAL or on_write's error. */
AMI_EXTERN int ami_cosem_calendar_activate(ami_cosem_calendar *c);

#ifdef __cplusplus
}
#endif
#endif
