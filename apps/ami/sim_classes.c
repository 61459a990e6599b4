/*
 * The virtual meter's control objects (see sim_classes.h).
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "sim_meter.h"

/* Tariff scripts of 0-0:10.0.100.255: script 1 = T1 (index 0) ... 4 = T4. */
#define LN_TARIFFS                \
    {                             \
        {                         \
            0, 0, 10, 0, 100, 255 \
        }                         \
    }
#define LN_BILLING              \
    {                           \
        {                       \
            0, 0, 10, 0, 1, 255 \
        }                       \
    }
#define LN_PUSHSCR                \
    {                             \
        {                         \
            0, 0, 10, 0, 108, 255 \
        }                         \
    }
#define LN_PUSH                 \
    {                           \
        {                       \
            0, 0, 25, 9, 0, 255 \
        }                       \
    }

static const ami_cosem_script tariff_scripts[4] = {
    {1, NULL, 0}, {2, NULL, 0}, {3, NULL, 0}, {4, NULL, 0}};
static const ami_cosem_script reset_scripts[1] = {{1, NULL, 0}};
static const uint8_t int0[] = {AMI_AXDR_INTEGER, 0};
static const ami_cosem_action push_actions[1] = {
    {AMI_SCRIPT_EXECUTE_METHOD, AMI_COSEM_PUSH_SETUP, LN_PUSH, 1, int0, sizeof int0}};
static const ami_cosem_script push_scripts[1] = {{1, push_actions, 1}};
/* End of billing (0-0:10.0.1.255 script 1): capture the monthly billing profile (class 7
 * method 2), then reset the maximum demand registers, all tariffs, T1 and T2 (class 4
 * method 1). */
static const ami_cosem_action billing_actions[4] = {
    {AMI_SCRIPT_EXECUTE_METHOD,
     AMI_COSEM_PROFILE_GENERIC,
     {{0, 0, 98, 1, 0, 255}},
     2,
     int0,
     sizeof int0},
    {AMI_SCRIPT_EXECUTE_METHOD,
     AMI_COSEM_EXTENDED_REGISTER,
     {{1, 0, 1, 6, 0, 255}},
     1,
     int0,
     sizeof int0},
    {AMI_SCRIPT_EXECUTE_METHOD,
     AMI_COSEM_EXTENDED_REGISTER,
     {{1, 0, 1, 6, 1, 255}},
     1,
     int0,
     sizeof int0},
    {AMI_SCRIPT_EXECUTE_METHOD,
     AMI_COSEM_EXTENDED_REGISTER,
     {{1, 0, 1, 6, 2, 255}},
     1,
     int0,
     sizeof int0},
};
static const ami_cosem_script billing_scripts[1] = {{1, billing_actions, 4}};

/* ---------------------------------------------------------------- default calendar */

static void put_octets(ami_wr *w, const void *p, size_t n)
{
    ami_wr_u8(w, AMI_AXDR_OCTET_STRING);
    ami_axdr_put_length(w, n);
    ami_wr_bytes(w, p, n);
}

static void put_hdr(ami_wr *w, uint8_t type, size_t n)
{
    ami_wr_u8(w, type);
    ami_axdr_put_length(w, n);
}

/* Calendar "OPENAMI": one season from 1 January, week "W" with day 1 every day, day 1:
 * 00:00 T2, 07:00 T1, 23:00 T2 (the sim's historic day/night tariffs); day 2 (the special
 * days' holidays): 00:00 T2 all day. */
static void default_calendar(ami_cosem_buf b[4])
{
    ami_wr w;
    ami_wr_init(&w, b[AMI_CALENDAR_NAME].p, b[AMI_CALENDAR_NAME].cap);
    put_octets(&w, "OPENAMI", 7);
    b[AMI_CALENDAR_NAME].len = w.len;

    static const uint8_t jan1[12] = {0xFF, 0xFF, 1, 1, 0xFF, 0, 0, 0, 0, 0x80, 0x00, 0xFF};
    ami_wr_init(&w, b[AMI_CALENDAR_SEASONS].p, b[AMI_CALENDAR_SEASONS].cap);
    put_hdr(&w, AMI_AXDR_ARRAY, 1);
    put_hdr(&w, AMI_AXDR_STRUCTURE, 3);
    put_octets(&w, "S", 1);
    put_octets(&w, jan1, sizeof jan1);
    put_octets(&w, "W", 1);
    b[AMI_CALENDAR_SEASONS].len = w.len;

    ami_wr_init(&w, b[AMI_CALENDAR_WEEKS].p, b[AMI_CALENDAR_WEEKS].cap);
    put_hdr(&w, AMI_AXDR_ARRAY, 1);
    put_hdr(&w, AMI_AXDR_STRUCTURE, 8);
    put_octets(&w, "W", 1);
    for (int i = 0; i < 7; i++) {
        ami_wr_u8(&w, AMI_AXDR_UNSIGNED);
        ami_wr_u8(&w, 1);
    }
    b[AMI_CALENDAR_WEEKS].len = w.len;

    static const struct {
        uint8_t hour;
        uint16_t script;
    } day[4] = {{0, 2}, {7, 1}, {23, 2}, {0, 2}};
    static const uint8_t tariffs[6] = {0, 0, 10, 0, 100, 255};
    ami_wr_init(&w, b[AMI_CALENDAR_DAYS].p, b[AMI_CALENDAR_DAYS].cap);
    put_hdr(&w, AMI_AXDR_ARRAY, 2);
    for (int id = 1, i = 0; id <= 2; id++) {
        int n = id == 1 ? 3 : 1;
        put_hdr(&w, AMI_AXDR_STRUCTURE, 2);
        ami_wr_u8(&w, AMI_AXDR_UNSIGNED);
        ami_wr_u8(&w, (uint8_t)id);
        put_hdr(&w, AMI_AXDR_ARRAY, (size_t)n);
        for (int k = 0; k < n; k++, i++) {
            uint8_t t[4] = {day[i].hour, 0, 0, 0};
            put_hdr(&w, AMI_AXDR_STRUCTURE, 3);
            put_octets(&w, t, 4);
            put_octets(&w, tariffs, 6);
            ami_wr_u8(&w, AMI_AXDR_LONG_UNSIGNED);
            ami_wr_u16be(&w, day[i].script);
        }
    }
    b[AMI_CALENDAR_DAYS].len = w.len;
}

/* The default calendar every meter shares until a client writes its own (active, passive:
 * the same contents; never written, on_write copies them first). */
static const size_t cal_caps[4] = {SIM_CAL_NAME, SIM_CAL_SEASON, SIM_CAL_WEEK, SIM_CAL_DAY};
static uint8_t shared_cal[2][SIM_CAL_BYTES / 2];
static ami_cosem_buf shared_bufs[2][4];
static bool shared_ready;

static void shared_calendar(void)
{
    if (shared_ready)
        return;
    for (int k = 0; k < 2; k++) {
        size_t at = 0;
        for (int i = 0; i < 4; i++) {
            shared_bufs[k][i] = (ami_cosem_buf){shared_cal[k] + at, cal_caps[i], 0};
            at += cal_caps[i];
        }
        default_calendar(shared_bufs[k]);
    }
    shared_ready = true;
}

/* Copy-on-write: the meter's own buffers, with the shared calendar's contents, before the
 * first write. */
static int own_calendar(void *user, ami_cosem_calendar *cal)
{
    sim_meter *m = user;
    if (m->cls.cal_own)
        return AMI_OK;
    uint8_t *p = malloc(SIM_CAL_BYTES);
    if (!p)
        return AMI_E_NOMEM;
    m->cls.cal_own = p;
    for (int k = 0; k < 2; k++) {
        ami_cosem_buf *b = k ? cal->passive : cal->active;
        for (int i = 0; i < 4; i++) {
            if (b[i].len)
                memcpy(p, b[i].p, b[i].len);
            b[i].p = p;
            p += cal_caps[i];
        }
    }
    return AMI_OK;
}

void sim_classes_fini(sim_meter *m)
{
    free(m->cls.cal_own);
    m->cls.cal_own = NULL;
}

/* One push APDU for the fleet: built and handed to deliver (which copies it) at once. */
static uint8_t push_apdu[SIM_PUSH_APDU];

/* ---------------------------------------------------------------- hooks */

static void on_output(void *user, bool connected)
{
    sim_meter *m = user;
    /* Energy up to the switching instant counts as the previous state did. */
    sim_meter_advance(m);
    m->supply_off = !connected;
    /* Push on event: the state change is pushed when a destination is set. */
    if (m->cls.push.destination_len) {
        size_t len;
        static const ami_obis push_ln = LN_PUSH;
        ami_cosem_obj tmp, *o = sim_meter_object(m, &push_ln, &tmp);
        if (o)
            (void)ami_cosem_push_run(&m->store, o, sim_meter_now(m), &len);
    }
}

static uint8_t on_reset(void *user, uint16_t id)
{
    sim_meter *m = user;
    (void)id;
    /* Global meter reset: the registers start again from zero now. */
    if (ami_metro_init(&m->metro, &m->load, 15, 15, sim_meter_now(m)) != AMI_OK)
        return AMI_ACTION_OTHER_REASON;
    m->cls.resets++;
    return AMI_ACTION_SUCCESS;
}

static uint8_t push_send(void *user, const ami_cosem_push *p, const uint8_t *apdu, size_t len)
{
    sim_meter *m = user;
    (void)p;
    if (!m->cls.deliver)
        return AMI_DAR_TEMPORARY_FAILURE;
    return m->cls.deliver(m, apdu, len);
}

/* ---------------------------------------------------------------- objects */

static int add(sim_meter *m, ami_cosem_obj o)
{
    return sim_meter_add_object(m, o);
}

/* Read-write where the Blue Book lets a head-end configure (control mode, passive calendar,
 * schedule, push setup); methods for authenticated clients. */
static const uint8_t m_all[6] = {AMI_METHOD_ACCESS, AMI_METHOD_ACCESS, AMI_METHOD_ACCESS,
                                 AMI_METHOD_ACCESS, AMI_METHOD_ACCESS, AMI_METHOD_ACCESS};
static const uint8_t clock_rw[9] = {
    AMI_ACCESS_READ,       AMI_ACCESS_READ_WRITE, AMI_ACCESS_READ_WRITE,
    AMI_ACCESS_READ,       AMI_ACCESS_READ_WRITE, AMI_ACCESS_READ_WRITE,
    AMI_ACCESS_READ_WRITE, AMI_ACCESS_READ_WRITE, AMI_ACCESS_READ};

int sim_classes_add(sim_meter *m)
{
    sim_classes *c = &m->cls;
    void *user = m;
    int rc = AMI_OK;

    /* The Clock: methods and daylight saving (its time zone, the load model's, is set per
     * meter by sim_meter_init: the table is shared). */
    ami_cosem_clock_init(&c->clock, 900);
    static const ami_obis clock_ln = {{0, 0, 1, 0, 0, 255}};
    ami_cosem_obj *co = sim_meter_building(&clock_ln);
    if (co) {
        co->state = AMI_COSEM_MEMBER(sim_meter, cls.clock);
        co->attr_access = clock_rw;
        co->method_access = m_all;
    }

    /* Disconnect control, mode 2: remote reconnection connects at once (a), no push button on
     * a virtual meter. */
    (void)ami_cosem_disconnect_init(&c->disconnect, 2, on_output, user);
    rc |= add(m, (ami_cosem_obj){.class_id = AMI_COSEM_DISCONNECT_CONTROL,
                                 .ln = AMI_OBIS(0, 0, 96, 3, 10, 255),
                                 .method_access = m_all,
                                 .state = &c->disconnect});

    /* Script tables. The end of billing is the only path that closes a billing period after
     * the history: the schedule below runs it monthly, a client may run it any time. */
    c->reset_table = (ami_cosem_script_table){
        .scripts = reset_scripts, .count = 1, .on_execute = on_reset, .user = user};
    c->billing_table = (ami_cosem_script_table){.scripts = billing_scripts, .count = 1};
    c->tariff_table = (ami_cosem_script_table){.scripts = tariff_scripts, .count = 4};
    c->push_table = (ami_cosem_script_table){.scripts = push_scripts, .count = 1};
    rc |= add(m, (ami_cosem_obj){.class_id = AMI_COSEM_SCRIPT_TABLE,
                                 .ln = AMI_OBIS(0, 0, 10, 0, 0, 255),
                                 .method_access = m_all,
                                 .state = &c->reset_table});
    rc |= add(m, (ami_cosem_obj){.class_id = AMI_COSEM_SCRIPT_TABLE,
                                 .ln = AMI_OBIS(0, 0, 10, 0, 1, 255),
                                 .method_access = m_all,
                                 .state = &c->billing_table});
    rc |= add(m, (ami_cosem_obj){.class_id = AMI_COSEM_SCRIPT_TABLE,
                                 .ln = AMI_OBIS(0, 0, 10, 0, 100, 255),
                                 .method_access = m_all,
                                 .state = &c->tariff_table});
    rc |= add(m, (ami_cosem_obj){.class_id = AMI_COSEM_SCRIPT_TABLE,
                                 .ln = AMI_OBIS(0, 0, 10, 0, 108, 255),
                                 .method_access = m_all,
                                 .state = &c->push_table});

    /* End of billing: 00:00:00 on the 1st of every month -> 0-0:10.0.1.255 script 1. */
    static const ami_cosem_exec_time month_start = {{0, 0, 0, 0xFF}, {0xFF, 0xFF, 0xFF, 1, 0xFF}};
    c->billing_times[0] = month_start;
    c->billing_schedule = (ami_cosem_schedule){.script_ln = LN_BILLING,
                                               .script_selector = 1,
                                               .type = AMI_SCHEDULE_ONE,
                                               .times = c->billing_times,
                                               .cap = 1,
                                               .count = 1};
    rc |= add(m, (ami_cosem_obj){.class_id = AMI_COSEM_SINGLE_ACTION_SCHEDULE,
                                 .ln = AMI_OBIS(0, 0, 15, 0, 0, 255),
                                 .state = &c->billing_schedule});
    /* Push schedule: no execution time until a head-end sets one. */
    c->push_schedule = (ami_cosem_schedule){.script_ln = LN_PUSHSCR,
                                            .script_selector = 1,
                                            .type = AMI_SCHEDULE_ANY_WILD,
                                            .times = c->push_times,
                                            .cap = 4};
    rc |= add(m, (ami_cosem_obj){.class_id = AMI_COSEM_SINGLE_ACTION_SCHEDULE,
                                 .ln = AMI_OBIS(0, 0, 15, 0, 4, 255),
                                 .state = &c->push_schedule});

    /* Activity calendar: the default one active and passive, shared until written. */
    shared_calendar();
    memcpy(c->calendar.active, shared_bufs[0], sizeof c->calendar.active);
    memcpy(c->calendar.passive, shared_bufs[1], sizeof c->calendar.passive);
    c->calendar.on_write = own_calendar;
    c->calendar.user = user;
    ami_datetime never;
    ami_datetime_unspecified(&never);
    ami_datetime_encode(&never, c->calendar.activate_time);
    c->calendar.special_days = &c->special;
    rc |= add(m, (ami_cosem_obj){.class_id = AMI_COSEM_ACTIVITY_CALENDAR,
                                 .ln = AMI_OBIS(0, 0, 13, 0, 0, 255),
                                 .method_access = m_all,
                                 .state = &c->calendar});

    /* Special days: public holidays (every year) take day 2 of the calendar, T2 all day. */
    static const ami_cosem_special_day holidays[4] = {
        {1, {0xFF, 0xFF, 1, 1, 0xFF}, 2},   /* 1 January */
        {2, {0xFF, 0xFF, 5, 1, 0xFF}, 2},   /* 1 May */
        {3, {0xFF, 0xFF, 12, 25, 0xFF}, 2}, /* 25 December */
        {4, {0xFF, 0xFF, 12, 26, 0xFF}, 2}, /* 26 December */
    };
    memcpy(c->special_entries, holidays, sizeof holidays);
    c->special = (ami_cosem_special_days){
        .entries = c->special_entries, .cap = SIM_SPECIAL_DAYS, .count = 4};
    rc |= add(m, (ami_cosem_obj){.class_id = AMI_COSEM_SPECIAL_DAYS_TABLE,
                                 .ln = AMI_OBIS(0, 0, 11, 0, 0, 255),
                                 .method_access = m_all,
                                 .state = &c->special});

    /* Push setup: the push setup's name, identity, clock, A+ and the disconnector state. */
    static const ami_cosem_push_obj pushed[5] = {
        {AMI_COSEM_PUSH_SETUP, LN_PUSH, 1, 0},
        {AMI_COSEM_DATA, {{0, 0, 96, 1, 0, 255}}, 2, 0},
        {AMI_COSEM_CLOCK, {{0, 0, 1, 0, 0, 255}}, 2, 0},
        {AMI_COSEM_REGISTER, {{1, 0, 1, 8, 0, 255}}, 2, 0},
        {AMI_COSEM_DISCONNECT_CONTROL, {{0, 0, 96, 3, 10, 255}}, 3, 0},
    };
    memcpy(c->push_objs, pushed, sizeof pushed);
    c->push = (ami_cosem_push){.objects = c->push_objs,
                               .objects_cap = sizeof c->push_objs / sizeof c->push_objs[0],
                               .objects_count = 5,
                               .transport = AMI_PUSH_TCP,
                               .windows = c->push_windows,
                               .windows_cap = 2,
                               .randomisation_start_interval = 0,
                               .number_of_retries = 0,
                               .repetition_delay = 0,
                               .apdu = push_apdu,
                               .apdu_cap = sizeof push_apdu,
                               .send = push_send,
                               .user = user};
    rc |= add(m, (ami_cosem_obj){.class_id = AMI_COSEM_PUSH_SETUP,
                                 .ln = AMI_OBIS(0, 0, 25, 9, 0, 255),
                                 .method_access = m_all,
                                 .state = &c->push});

    /* SAP assignment: the management logical device at SAP 1. */
    c->sap = (ami_cosem_sap){.entries = c->sap_entries, .cap = 2, .count = 1};
    c->sap_entries[0].sap = 1;
    memcpy(c->sap_entries[0].name, "OPENAMI-SIM", 11);
    c->sap_entries[0].name_len = 11;
    rc |= add(m, (ami_cosem_obj){.class_id = AMI_COSEM_SAP_ASSIGNMENT,
                                 .ln = AMI_OBIS(0, 0, 41, 0, 0, 255),
                                 .method_access = m_all,
                                 .state = &c->sap});
    return rc ? AMI_E_NOSPACE : AMI_OK;
}

unsigned sim_classes_tariff(const sim_meter *m, int64_t t, int64_t *until)
{
    ami_cosem_calendar_action a;
    int16_t tz = (int16_t)(-m->load.utc_offset_s / 60);
    if (ami_cosem_calendar_at(&m->cls.calendar, t, tz, &a, until) != AMI_OK ||
        a.script_selector < 1 || a.script_selector > AMI_METRO_TARIFFS) {
        /* no usable calendar: T1 until the next local midnight */
        int64_t local = t + m->load.utc_offset_s;
        *until = local - (local % 86400 + 86400) % 86400 + 86400 - m->load.utc_offset_s;
        return 0;
    }
    return a.script_selector - 1u;
}

bool sim_classes_supply_on(const sim_meter *m)
{
    return !m->supply_off;
}

void sim_classes_tick(sim_meter *m)
{
    (void)ami_cosem_store_run(&m->store, sim_meter_now(m));
}
