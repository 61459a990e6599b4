/*
 * `ami sim`: the schedules' timer and push delivery of the control objects (sim_classes.h) on
 * the fleet's loop.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_APP_SIM_PUSH_H
#define AMI_APP_SIM_PUSH_H

#include "sim_fleet.h"

/* Attaches to the fleet (before sim_fleet_run): a one-second timer running every meter's
 * schedules, and push delivery. Returns AMI_OK or sim_fleet_add_port's error. */
int sim_push_attach(sim_fleet *f);

#endif
