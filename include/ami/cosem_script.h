/*
 * Script table (class 9, version 0; Blue Book 4.5.3) and Single action schedule (class 22,
 * version 0; Blue Book 4.5.7) for the reference COSEM store (ami/cosem.h), and the store's
 * timer, ami_cosem_store_run(), that fires schedules and activates passive calendars.
 *
 * A Script table's scripts are the meter's own configuration (caller-owned, read-only over
 * DLMS): each action writes an attribute or invokes a method of an object of the same store,
 * as the meter itself (access rights do not apply). Scripts may run scripts; the nesting is
 * bounded (AMI_SCRIPT_MAX_DEPTH per table), so a loop of scripts ends with other-reason
 * instead of recursing without end.
 *
 * A Single action schedule runs one script of a Script table at each of its execution times
 * (time and date with wildcards: "every month, day 1, 00:00:00" is date FFFF FF 01 FF, time
 * 00 00 00 FF). Its three attributes are settable; execution_time is kept in a caller-owned
 * array.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_COSEM_SCRIPT_H
#define AMI_COSEM_SCRIPT_H

#include "ami/cosem.h"

#ifdef __cplusplus
extern "C" {
#endif

/* action_specification service_id (Blue Book 4.5.3). */
enum ami_script_service {
    AMI_SCRIPT_WRITE_ATTRIBUTE = 1,
    AMI_SCRIPT_EXECUTE_METHOD = 2,
};

/* Scripts running scripts of one table nest at most this deep. */
#define AMI_SCRIPT_MAX_DEPTH 4

/* One action_specification: service_id, class_id, logical_name, index, parameter. */
typedef struct ami_cosem_action {
    uint8_t service; /* enum ami_script_service */
    uint16_t class_id;
    ami_obis ln;
    int8_t index; /* attribute or method id */
    /* parameter: one encoded Data (the value written, or the method's parameters; null-data
     * (0x00) or len 0 for none). */
    const uint8_t *param;
    size_t param_len;
} ami_cosem_action;

/* One script: script_identifier (1..65535; 0 is reserved) and its actions. */
typedef struct ami_cosem_script {
    uint16_t id;
    const ami_cosem_action *actions;
    size_t count;
} ami_cosem_script;

typedef struct ami_cosem_script_table {
    const ami_cosem_script *scripts; /* caller-owned */
    size_t count;
    /*
     * Called when a script starts, before its actions (may be NULL): lets the meter model own
     * scripts whose effect is internal (tariff switching, a billing reset). Returns an enum
     * ami_action_result; anything but success stops the script with that result.
     */
    uint8_t (*on_execute)(void *user, uint16_t script_id);
    void *user;
    uint8_t depth;     /* nesting in progress (internal) */
    uint32_t executed; /* scripts run (statistics) */
} ami_cosem_script_table;

/*
 * Runs script `id` of the Script table object `table` (class 9 of store s): on_execute, then
 * each action in order, stopping at the first that fails. Returns an enum ami_action_result:
 * success, other-reason for an unknown id or a nesting deeper than AMI_SCRIPT_MAX_DEPTH, or the
 * result of the failing action (a failed write gives its data-access-result).
 */
AMI_EXTERN uint8_t ami_cosem_script_execute(ami_cosem_store *s, ami_cosem_obj *table, uint16_t id);

/* ---------------------------------------------------------------- single action schedule */

/* type (attribute 3). */
enum ami_schedule_type {
    AMI_SCHEDULE_ONE = 1,            /* one execution time, date wildcards allowed */
    AMI_SCHEDULE_SAME_TIME = 2,      /* n times, all the same time, no date wildcard */
    AMI_SCHEDULE_SAME_TIME_WILD = 3, /* n times, all the same time, date wildcards allowed */
    AMI_SCHEDULE_ANY = 4,            /* n times, any times, no date wildcard */
    AMI_SCHEDULE_ANY_WILD = 5,       /* n times, any times, date wildcards allowed */
};

/* One execution_time element: time octet-string(4), date octet-string(5) (COSEM time and
 * date, wildcards allowed as the type says). */
typedef struct ami_cosem_exec_time {
    uint8_t time[4];
    uint8_t date[5];
} ami_cosem_exec_time;

typedef struct ami_cosem_schedule {
    /* executed_script (attribute 2): the Script table's logical name and the script id. */
    ami_obis script_ln;
    uint16_t script_selector;
    uint8_t type; /* attribute 3: enum ami_schedule_type */
    /* execution_time (attribute 4): caller-owned array of `cap`, `count` in use. */
    ami_cosem_exec_time *times;
    size_t cap;
    size_t count;
    int64_t last;        /* ami_cosem_store_run: time run up to (internal; 0 before the first) */
    uint32_t fired;      /* executions done (statistics) */
    uint8_t last_result; /* result of the last execution (enum ami_action_result) */
} ami_cosem_schedule;

/*
 * The store's timer: runs what falls due in (last, now], where last is the `now` of the previous
 * call (the first call only records `now`): every Single action schedule whose execution times
 * match a local time (the store's Clock time zone) in that interval runs its script, and every
 * Activity calendar whose activate_passive_calendar_time falls in it activates its passive
 * calendar. A gap longer than one day (the meter was off, or its clock was set forward) is
 * shortened to its last day: executions before that are missed, as on a meter without a
 * battery-backed scheduler. Call it at least once a minute. Returns the number of executions.
 * Not thread-safe with the store's other calls.
 */
AMI_EXTERN size_t ami_cosem_store_run(ami_cosem_store *s, int64_t now);

#ifdef __cplusplus
}
#endif
#endif
