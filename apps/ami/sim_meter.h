/*
 * One virtual meter for `ami sim`: the reference COSEM store (ami/cosem.h) filled with an
 * identity, a clock and energy registers fed by the metrology model (ami/metrology.h) advancing
 * with real time, and the DLMS server (ami/dlms_server.h) with its association policies.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_APP_SIM_METER_H
#define AMI_APP_SIM_METER_H

#include "ami/ami.h"

#define SIM_METER_OBJECTS 14
#define SIM_SERIAL_MAX    32

/* Events kept for the event logs (the last SIM_METER_EVENTS; older ones are overwritten). */
#define SIM_METER_EVENTS 8
/* Terminal cover opened: 40, the code the IDIS fraud-detection event log gives it as far as we
 * know (not checked against the IDIS document). */
#define SIM_EVENT_TERMINAL_COVER_OPENED 40

typedef struct sim_meter_event {
    int64_t t; /* meter time, Unix s */
    uint16_t code;
} sim_meter_event;

typedef struct sim_meter {
    char serial[SIM_SERIAL_MAX + 1];
    int64_t clock_offset; /* set by SET of the clock: meter time - system time (s) */
    ami_metro metro;
    ami_metro_load load;
    ami_cosem_obj objs[SIM_METER_OBJECTS];
    size_t nobjs;
    uint8_t ident_value[2 + SIM_SERIAL_MAX];
    uint8_t ldn_value[2 + 16];
    ami_cosem_store store;
    ami_dlms_policy policies[3];
    uint8_t password[64];
    size_t password_len;
    /* Security of SAP 1 (management): keys lent to the engine by the key provider. */
    uint8_t ek[16], ak[16], kek[16];
    uint8_t system_title[8];
    uint32_t ic; /* the server's invocation counter (in memory: a restart starts again at 1) */
    ami_dlms_sec_policy sec_policy;
    ami_replay_entry replay_slots[16];
    ami_replay replay;
    ami_dlms_server_sec sec;
    ami_dlms_server server;
    sim_meter_event events[SIM_METER_EVENTS]; /* ring: event i at events[i % SIM_METER_EVENTS] */
    uint32_t nevents;                         /* events recorded since start */
} sim_meter;

/* The client SAPs the meter answers: 16 public (no authentication), 17 LLS with the password,
 * 1 management (HLS-GMAC, authenticated encryption, suite 0). */
enum { SIM_SAP_PUBLIC = 16, SIM_SAP_READER = 17, SIM_SAP_MANAGEMENT = 1 };

/* Keys of SAP 1 until sim_meter_set_security (the fleet sets the per-meter ones). */
#define SIM_DEFAULT_EK           "000102030405060708090A0B0C0D0E0F"
#define SIM_DEFAULT_AK           "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"
#define SIM_DEFAULT_KEK          "31313131313131313131313131313131"
#define SIM_DEFAULT_SYSTEM_TITLE "4F414D0000000001"

/*
 * Builds the meter: serial (identity 0-0:96.1.0.255, also seeds the load model), LLS password
 * for SAP 17 (1..63 bytes), starting the metrology AMI_METRO_HISTORY_DEFAULT_S before `now`
 * (Unix s). Returns AMI_OK or an AMI_E_* code (AMI_E_INVAL for a bad serial or password).
 */
int sim_meter_init(sim_meter *m, const char *serial, const char *password, int64_t now);

/* Records an event (code, the meter's time) in the ring the event logs read. */
void sim_meter_record_event(sim_meter *m, uint16_t code);

/*
 * Replaces the keys and the system title of SAP 1 (16-byte EK, AK, KEK; 8-byte title); NULL
 * keeps one. Takes effect at the next request (the engine asks the key provider every time).
 */
void sim_meter_set_security(sim_meter *m, const uint8_t *ek, const uint8_t *ak, const uint8_t *kek,
                            const uint8_t *system_title);

/* The meter's time (system time + the offset a SET of the clock made). */
int64_t sim_meter_now(const sim_meter *m);

#endif
