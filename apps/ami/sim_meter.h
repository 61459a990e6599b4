/*
 * One virtual meter for `ami sim`: the reference COSEM store (ami/cosem.h) filled with the
 * standard meter profile of docs/meter-profile.md (identity, clock, energies per tariff,
 * instantaneous values, demand and maximum demand, load profiles, billing profile, event logs)
 * fed by the metrology model (ami/metrology.h) advancing with simulated time (sim_meter_now:
 * the system time, or an ami_simclock at --speed), and the DLMS server
 * (ami/dlms_server.h) with its association policies.
 *
 * The load profiles and the billing profile are virtual buffers: their entries are recomputed
 * on demand from the deterministic metrology (a copy of the state at the start of the history
 * run forward), so a meter holds 35 days of 15-minute history in no memory, and every entry's
 * energies are exactly the registers' values at that capture time. The event logs are stored
 * rings.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_APP_SIM_METER_H
#define AMI_APP_SIM_METER_H

#include "ami/ami.h"
#include "sim_classes.h"

#define SIM_METER_OBJECTS (70 + SIM_CLASSES_OBJECTS)
#define SIM_SERIAL_MAX    32
/* Firmware images the meter takes (Image transfer 0-0:44.0.0.255): capacity and block size. */
#define SIM_FW_CAP   65536u
#define SIM_FW_BLOCK 256u
/* The meter's firmware identifier: signed images must carry it (`ami fw sign --id`). */
#define SIM_FW_ID "OPENAMI-SIM"
/* Entries of each event log (stored ring). */
#define SIM_EVENT_ENTRIES 16

/* Entries of the monthly billing profile 0-0:98.1.0.255. */
#define SIM_BILLING_ENTRIES 24

/* One billing entry captured while the simulator runs (method 2 of 0-0:98.1.0.255, run by the
 * end-of-billing script): seconds after history_start of the capture and of the maximum demand
 * (0: none), and the A+ maximum demand (1-0:1.6.0.255, 10 W units). The energies are the
 * metrology's at the capture time, recomputed on demand. */
typedef struct sim_bill {
    uint32_t t;
    uint32_t max_t;
    uint32_t max;
} sim_bill;

/* The event logs (0-0:99.98.x.255, x = the value) and their event code objects 0-0:96.11.x.255. */
enum sim_log {
    SIM_LOG_STANDARD = 0, /* power up/down, clock adjusted, billing */
    SIM_LOG_TAMPER = 1,   /* fraud detection: terminal cover, strong magnetic field */
    SIM_LOG_POWER_QUALITY = 2,
    SIM_LOG_SECURITY = 3, /* communication and security: authentication failures, keys */
    SIM_LOG_COUNT = 4
};

/* Event codes the simulator itself records (the IDIS numbering of the standard log). */
enum {
    SIM_EVENT_POWER_DOWN = 1,
    SIM_EVENT_POWER_UP = 2,
    SIM_EVENT_CLOCK_ADJUSTED_OLD = 4,
    SIM_EVENT_CLOCK_ADJUSTED_NEW = 5,
    SIM_EVENT_TERMINAL_COVER_OPENED = 40,
    SIM_EVENT_TERMINAL_COVER_CLOSED = 41,
};

typedef struct sim_meter {
    char serial[SIM_SERIAL_MAX + 1];
    const ami_simclock *clock; /* simulated time (--speed; NULL: system time), not owned */
    int64_t clock_offset;      /* set by SET of the clock: meter time - simulated time (s) */
    int64_t history_start;     /* the metrology started here (now - the history at init) */
    /* The history ends here (the clock's now at init): the metrology closes the billing periods
     * of the month starts up to it by itself, as if the end-of-billing schedule had run; after
     * it, only the end-of-billing script (its capture of 0-0:98.1.0.255 and its resets of the
     * maxima) closes them. */
    int64_t history_end;
    sim_bill bills[SIM_BILLING_ENTRIES]; /* captured after history_end: a ring */
    uint8_t bills_head, bills_used;
    ami_metro metro; /* live: integrated up to the meter's time */
    ami_metro ckpt;  /* the state at yesterday's local midnight (or at history_start, which the
                      * virtual buffers derive again from the load model): a shortcut */
    ami_metro_load load;
    /* The object table is the fleet's (sim_meter_add_object): per-meter state below. */
    uint8_t status_value[2];              /* AMR profile status 0-0:96.10.1.255 */
    uint8_t code_value[SIM_LOG_COUNT][2]; /* event codes 0-0:96.11.x.255 */
    ami_cosem_profile lp1, lp2, billing;  /* virtual buffers */
    ami_cosem_profile_source lp1_src, lp2_src, billing_src;
    ami_cosem_profile logs[SIM_LOG_COUNT]; /* stored rings */
    uint8_t log_ring[SIM_LOG_COUNT][SIM_EVENT_ENTRIES * AMI_COSEM_EVENT_ROW_SIZE];
    ami_cosem_ext_register maxdem[3]; /* 1-0:1.6.0/1.6.1/1.6.2 */
    ami_cosem_demand_register demand; /* 1-0:1.4.0 */
    ami_cosem_store store;
    ami_dlms_policy policies[5];
    uint8_t password[64];
    size_t password_len;
    /* Security of SAP 1 (management): keys lent to the engine by the key provider. */
    uint8_t ek[16], ak[16], kek[16];
    uint8_t system_title[8];
    uint32_t ic;          /* the server's invocation counter: the last one used */
    uint32_t ic_reserved; /* with a counter store: the highest counter made durable */
    ami_dlms_sec_policy sec_policy;
    /* SAP 2 (sim_ec.c): suite 1, mechanism 7; the key pair made at the first use. */
    ami_dlms_sec_policy ec_policy;
    EVP_PKEY *ec_key;
    ami_replay_entry replay_slots[16];
    ami_replay replay;
    ami_dlms_server_sec sec;
    ami_dlms_cert_provider cert_provider; /* Security Setup certificates (sim_cert.c) */
    struct sim_certs *certs;              /* allocated at the first key pair or import */
    ami_dlms_server server;
    uint32_t nevents;      /* events recorded by sim_meter_event/_record_event (not the meter's own
                            * power-up and clock-adjusted entries) */
    sim_classes cls;       /* control objects (sim_classes.h) */
    bool supply_off;       /* disconnected: the metrology counts no energy */
    ami_image_transfer fw; /* Image transfer 0-0:44.0.0.255 (storage: sim_meter_set_fw) */
} sim_meter;

/* The client SAPs the meter answers: 16 public (no authentication), 17 LLS with the password,
 * 1 management (HLS-GMAC, authenticated encryption, suite 0), 32 the short-name context, and
 * with a client public key (sim_ec_configure) 2 management suite 1 (HLS-ECDSA, authenticated
 * encryption, general-ciphering agreed-key). */
enum {
    SIM_SAP_PUBLIC = 16,
    SIM_SAP_READER = 17,
    SIM_SAP_MANAGEMENT = 1,
    SIM_SAP_EC = 2,
    SIM_SAP_SN = 32
};

/* Keys of SAP 1 until sim_meter_set_security (the fleet sets the per-meter ones). */
#define SIM_DEFAULT_EK           "000102030405060708090A0B0C0D0E0F"
#define SIM_DEFAULT_AK           "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"
#define SIM_DEFAULT_KEK          "31313131313131313131313131313131"
#define SIM_DEFAULT_SYSTEM_TITLE "4F414D0000000001"

/* Limit of the history a meter starts with (sim_meter_init, --history-days): 366 days. */
#define SIM_HISTORY_MAX_S (366 * 86400)

/*
 * Builds the meter: serial (identity 0-0:96.1.0.255, also seeds the load model), LLS password
 * for SAP 17 (1..63 bytes), the simulated clock its time follows (caller-owned, outliving the
 * meter; NULL: system time), starting the metrology history_s (0..SIM_HISTORY_MAX_S) before
 * the clock's now (integrated at the first read); records power-up in the standard event log.
 * Returns AMI_OK or an AMI_E_* code (AMI_E_INVAL for a bad serial, password or history).
 */
int sim_meter_init(sim_meter *m, const char *serial, const char *password,
                   const ami_simclock *clock, int64_t history_s);

/*
 * Records an event at the meter's time: fraud detection codes (40..59, e.g.
 * SIM_EVENT_TERMINAL_COVER_OPENED) in the tamper log, other codes in the standard log (codes
 * above 255 are recorded as 255).
 */
void sim_meter_record_event(sim_meter *m, uint16_t code);

/*
 * Configures the firmware update of the meter (Image transfer 0-0:44.0.0.255, class 18): the
 * verification key (uncompressed P-256/P-384 point, copied; NULL: every image is refused,
 * reason "no firmware verification key configured"), the running version (served by
 * 1-0:0.2.0.255 as "openami-sim MAJOR.MINOR.PATCH"), and the image storage (caller-owned,
 * SIM_FW_CAP bytes, outliving the meter; NULL without a key). Resets any transfer in progress.
 * Returns AMI_OK, AMI_E_KEY for a key ami_fwimg_key_check refuses, AMI_E_CONFIG for a key
 * without storage. sim_meter_init configures no key and the version of this build.
 */
int sim_meter_set_fw(sim_meter *m, const uint8_t *key, size_t key_len, ami_fwimg_version running,
                     uint8_t *buf);

/* The running firmware version sim_meter_init starts with: this build's version. */
ami_fwimg_version sim_meter_default_fw(void);

/*
 * Replaces the keys and the system title of SAP 1 (16-byte EK, AK, KEK; 8-byte title); NULL
 * keeps one. Takes effect at the next request (the engine asks the key provider every time).
 */
void sim_meter_set_security(sim_meter *m, const uint8_t *ek, const uint8_t *ak, const uint8_t *kek,
                            const uint8_t *system_title);

/*
 * Invocation counter store of every meter (sim_state.c, `--state-dir`): before the server uses
 * a counter above m->ic_reserved, reserve(user, m, upto) must make `upto` durable (the meter
 * then uses counters up to it without asking again); AMI_OK, or an error that refuses the
 * response (a counter that might repeat is never used). NULL: counters in memory only.
 */
typedef int (*sim_ic_reserve_fn)(void *user, sim_meter *m, uint32_t upto);
void sim_meter_set_ic_store(sim_ic_reserve_fn reserve, void *user);

/* Called for every meter whose SAP 1 keys a key_transfer changed (after the engine installed
 * all of them; m->ek, m->ak, m->kek hold the new ones). NULL: nobody is told. */
typedef void (*sim_keys_changed_fn)(void *user, sim_meter *m);
void sim_meter_set_keys_hook(sim_keys_changed_fn changed, void *user);

/* Simulated Unix time of clock c at this instant (system time for NULL): every meter's time
 * derives from it. */
int64_t sim_time_now(const ami_simclock *c);

/* The meter's time (simulated time + the offset a SET of the clock made): the single source of
 * meter time (clock, metrology, demand, profiles, schedules, P1 and optical readouts). */
int64_t sim_meter_now(const sim_meter *m);

/*
 * Records event `code` in event log `log` at the meter's time and sets that log's event code
 * object (0-0:96.11.x.255). Returns AMI_OK or AMI_E_INVAL (unknown log).
 */
int sim_meter_event(sim_meter *m, enum sim_log log, uint8_t code);

/* The meter's object with this logical name, its per-meter fields resolved (a copy in *tmp:
 * the table is shared, ami_cosem_store_bind), or NULL. */
ami_cosem_obj *sim_meter_object(sim_meter *m, const ami_obis *ln, ami_cosem_obj *tmp);

/*
 * Adds object o of meter m to the object table every meter shares: its state, value and user
 * must be m or lie inside *m (they are kept as offsets, AMI_COSEM_MEMBER). Only the first
 * meter's sim_meter_init builds the table; for the others this does nothing. Returns AMI_OK,
 * AMI_E_NOSPACE (more than SIM_METER_OBJECTS) or AMI_E_CONFIG (a pointer outside *m).
 */
int sim_meter_add_object(sim_meter *m, ami_cosem_obj o);

/* The shared table's object with this logical name while the first meter builds the table (to
 * complete one added earlier), else NULL. */
ami_cosem_obj *sim_meter_building(const ami_obis *ln);

/* Releases what the meter allocated (a calendar written by a client, key pairs and
 * certificates). */
void sim_meter_fini(sim_meter *m);

/* Brings the metrology up to the meter's time, as a read of a register does (no energy while
 * the disconnect control 0-0:96.3.10.255 is open). */
void sim_meter_advance(sim_meter *m);

/*
 * The tariff in force at m->metro.t from the active calendar 0-0:13.0.0.255 (by default 0, T1,
 * 07:00-23:00 local, or 1, T2, night). For the P1 and optical ports, after sim_meter_advance.
 */
unsigned sim_meter_tariff(sim_meter *m);

/* Security Setup certificates of SAP 1 (sim_cert.c): sim_meter_init installs the provider;
 * sim_cert_fini (from sim_meter_fini) frees what a client made the meter keep (key pairs,
 * certificates). */
void sim_cert_init(sim_meter *m);
/* SAP 2 (sim_ec.c): the fleet seed and the client's P-256 public key, set before the meters
 * are made (NULL key: no SAP 2). Both caller-owned, outliving the meters. */
void sim_ec_configure(const uint8_t *seed, size_t seed_len, EVP_PKEY *client_key);
EVP_PKEY *sim_ec_client_key(void);
/* The meter's key pair, derived at the first call (NULL: no SAP 2 or out of memory). */
EVP_PKEY *sim_ec_key(sim_meter *m);
void sim_ec_fini(sim_meter *m);
void sim_cert_fini(sim_meter *m);

#endif
