/*
 * The virtual meter's control objects (sim_meter.h): disconnect control 0-0:96.3.10.255,
 * activity calendar 0-0:13.0.0.255 driving the tariffs with the special days table 0-0:11.0.0.255,
 * end-of-billing single action schedule 0-0:15.0.0.255, script tables 0-0:10.0.0.255 (global meter
 * reset), 0-0:10.0.1.255 (end of billing: capture of the billing profile, reset of the maximum
 * demand) and 0-0:10.0.100.255 (tariffication), push setup 0-0:25.9.0.255 with its schedule
 * 0-0:15.0.4.255 and script table 0-0:10.0.108.255, and SAP assignment 0-0:41.0.0.255. See
 * docs/meter-profile.md. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_APP_SIM_CLASSES_H
#define AMI_APP_SIM_CLASSES_H

#include "ami/ami.h"

/* Objects sim_classes_add adds. */
#define SIM_CLASSES_OBJECTS 11
/* Entries of the special days table 0-0:11.0.0.255. */
#define SIM_SPECIAL_DAYS 8

/* Calendar buffers (one encoded Data each): name, season, week and day profiles. */
#define SIM_CAL_NAME   32
#define SIM_CAL_SEASON 160
#define SIM_CAL_WEEK   160
#define SIM_CAL_DAY    320
#define SIM_CAL_BYTES  (2 * (SIM_CAL_NAME + SIM_CAL_SEASON + SIM_CAL_WEEK + SIM_CAL_DAY))
/* The push APDU is built in one buffer of this size for the whole fleet (and sent at once). */
#define SIM_PUSH_APDU 512

typedef struct sim_meter sim_meter;

typedef struct sim_classes {
    ami_cosem_disconnect disconnect;
    ami_cosem_clock clock;
    /* script tables: global reset, end of billing, tariffs, push */
    ami_cosem_script_table reset_table, billing_table, tariff_table, push_table;
    ami_cosem_schedule billing_schedule, push_schedule;
    ami_cosem_exec_time billing_times[1], push_times[4];
    ami_cosem_calendar calendar;
    /* The meter's own calendar buffers (SIM_CAL_BYTES, active then passive) once a client
     * writes the calendar; until then both point at the default every meter shares. */
    uint8_t *cal_own;
    ami_cosem_special_days special;
    ami_cosem_special_day special_entries[SIM_SPECIAL_DAYS];
    ami_cosem_push push;
    ami_cosem_push_obj push_objs[8];
    ami_cosem_window push_windows[2];
    ami_cosem_sap sap;
    ami_cosem_sap_entry sap_entries[2];
    /* Delivers a push (the fleet sets it: TCP or UDP to the destination); NULL: not sent. */
    uint8_t (*deliver)(sim_meter *m, const uint8_t *apdu, size_t len);
    uint32_t resets; /* global meter resets run */
} sim_classes;

/*
 * Adds the objects to m->objs (room for SIM_CLASSES_OBJECTS more needed): call it after the
 * other objects are added, before the store is initialised. Sets the Clock's time zone to the load
 * model's UTC offset so that the calendar, the schedules and the metrology agree on local time.
 * Returns AMI_OK or AMI_E_NOSPACE.
 */
int sim_classes_add(sim_meter *m);

/* The tariff (0..3) the active calendar gives at t and the next time it may change. */
unsigned sim_classes_tariff(const sim_meter *m, int64_t t, int64_t *until);

/* True while the supply is connected (disconnect control output_state). */
bool sim_classes_supply_on(const sim_meter *m);

/* Frees the meter's own calendar (copy-on-write, sim_classes_add). */
void sim_classes_fini(sim_meter *m);

/* Runs the store's timer (schedules, calendar activation) at the meter's time. */
void sim_classes_tick(sim_meter *m);

#endif
