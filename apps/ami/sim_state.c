/*
 * Server invocation counters of `ami sim` across restarts (sim_server.h: sim_state_open). A
 * meter must never cipher two APDUs with the same key and counter (GCM), and a client that keeps
 * the last counter it accepted (`ami dlms` state files) refuses a counter that does not grow.
 *
 * With --state-dir DIR: one file per meter, DIR/<system title in hex>.server, holding
 * "server_ic N" (ic_state.h): every counter up to N may have been used. The meter writes the
 * file ahead in steps (SIM_IC_RESERVE in sim_meter.c) before it uses a counter above N, and a
 * restarted meter continues at N + 1.
 * Without: every meter starts at 8 x (the seconds since 2024-01-01 UTC) at start, so a restart
 * continues above the counters of an earlier run as long as that run ciphered fewer than 8
 * responses per second on average (per meter) since it started.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ic_state.h"
#include "sim_server.h"

#define SIM_IC_EPOCH 1704067200LL /* 2024-01-01T00:00:00Z */

static char state_dir[400];

static void state_path(const sim_meter *m, char *out, size_t cap)
{
    char st[17];
    ami_hex_encode(m->system_title, 8, st, sizeof st);
    snprintf(out, cap, "%s/%s.server", state_dir, st);
}

static int reserve(void *user, sim_meter *m, uint32_t upto)
{
    (void)user;
    char path[512];
    state_path(m, path, sizeof path);
    const ic_state_var v = {"server_ic", upto, true};
    return ic_state_write(path, &v, 1) == 0 ? AMI_OK : AMI_E_IO;
}

int sim_state_open(sim_fleet *f, const char **what)
{
    if (!f->o.state_dir) {
        long long s = (long long)time(NULL) - SIM_IC_EPOCH;
        unsigned long long start = s > 0 ? 8ull * (unsigned long long)s : 0;
        if (start > UINT32_MAX / 2)
            start = UINT32_MAX / 2; /* after 2032: half the counter space is left */
        for (size_t i = 0; i < f->n; i++)
            f->nodes[i].meter.ic = (uint32_t)start;
        sim_meter_set_ic_store(NULL, NULL);
        return AMI_OK;
    }
    int n = snprintf(state_dir, sizeof state_dir, "%s", f->o.state_dir);
    if (n <= 0 || (size_t)n >= sizeof state_dir || ic_state_mkdirs(state_dir) != 0) {
        *what = "--state-dir: cannot create the directory";
        return AMI_E_IO;
    }
    for (size_t i = 0; i < f->n; i++) {
        sim_meter *m = &f->nodes[i].meter;
        char path[512];
        state_path(m, path, sizeof path);
        ic_state_var v = {"server_ic", 0, false};
        (void)ic_state_read(path, &v, 1);
        m->ic = m->ic_reserved = v.present ? v.value : 0;
    }
    sim_meter_set_ic_store(reserve, NULL);
    return AMI_OK;
}
