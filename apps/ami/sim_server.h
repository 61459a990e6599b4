/*
 * Internals shared by the files of `ami sim` (sim_fleet.c, sim_server.c, sim_fault.c,
 * sim_keys.c): the fleet and its meters ("nodes"), the DLMS connection engine on libuv (TCP
 * wrapper IEC 62056-47, UDP wrapper, HDLC over TCP IEC 62056-46) and the fault model. Files
 * that only attach ports use sim_fleet.h.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_APP_SIM_SERVER_H
#define AMI_APP_SIM_SERVER_H

#include <netinet/in.h>

#include "sim_fleet.h"

/* ---------------------------------------------------------------- faults */

enum {
    SIM_FAULT_REFUSE = 1u << 0, /* accept and reset every connection; ignore datagrams */
    SIM_FAULT_STOP = 1u << 1,   /* read and discard: the meter stops answering */
};

/* One meter's faults (compact: every meter has one). Probabilities are parts per million. */
typedef struct sim_fault {
    uint64_t rng;         /* xorshift64 state, from --fault-seed and the index */
    uint32_t drop_ppm;    /* per request: close the connection instead of answering */
    uint32_t corrupt_ppm; /* per response: flip one byte */
    uint32_t delay_ms, jitter_ms;
    int64_t down_until_ms; /* after a reboot: refused until then (loop time) */
    int64_t drift_start;   /* Unix s when the drift started */
    int32_t drift_ppm;     /* clock runs fast (> 0) or slow by this many ppm */
    int32_t drift_applied; /* seconds of drift already added to the meter's clock offset */
    uint8_t flags;         /* SIM_FAULT_* */
} sim_fault;

/* ---------------------------------------------------------------- keys */

/* The fleet seed without --seed (public: keys without --seed/--keys are test keys). */
#define SIM_DEFAULT_SEED "openami-sim"

typedef struct sim_keys {
    uint8_t system_title[8];
    uint8_t ek[16], ak[16], kek[16];
} sim_keys;

/* ---------------------------------------------------------------- fleet */

struct sim_conn;
struct sim_udp_sess;

/* One meter of the fleet with its listeners. */
typedef struct sim_node {
    sim_meter meter;
    sim_fleet *fleet;
    uint32_t index;
    uint32_t addr;                 /* IPv4 address, host order */
    uint8_t listening;             /* bit 0 wrapper, 1 hdlc, 2 udp: handles initialised */
    uint8_t lclosing;              /* listeners being closed (refuse, reboot) */
    uint16_t nconn;                /* open TCP connections */
    struct sim_conn *conns;        /* list of open connections */
    struct sim_udp_sess *udp_sess; /* the UDP association, while one is open */
    uv_tcp_t wrapper, hdlc;
    uv_udp_t udp;
    sim_fault fault;
    sim_keys keys;
} sim_node;

typedef struct sim_fleet_opts {
    size_t meters;         /* >= 1 */
    const char *listen;    /* IPv4 address of meter 0 (numeric) */
    uint16_t wrapper_port; /* 0: any free port (the same one for every meter) */
    uint16_t hdlc_port;
    bool wrapper, hdlc, udp; /* which listeners */
    bool single_listener;    /* force one wildcard listener per port */
    const char *password;    /* LLS password (NULL: derived from the seed, else 12345678) */
    const char *serial;      /* serial of meter 0 when meters == 1 (NULL: derived) */
    const uint8_t *seed;     /* fleet seed (NULL: none) */
    size_t seed_len;
    const char *keys_in;  /* CSV of keys (NULL: none) */
    const char *keys_out; /* CSV written once listening (NULL: none) */
    /* SAP 2 (sim_ec.c): the client's P-256 public key (NULL: no SAP 2), and the directory
     * where each meter's public key goes as <system title hex>.pem once listening. */
    EVP_PKEY *client_public_key;
    const char *ec_keys_out;
    const char *state_dir; /* server invocation counters (NULL: from the wall clock) */
    /* SAP 1 keys for every meter (--ek/--ak/--kek, 16 bytes) and the system title of meter 0
     * (--system-title, 8 bytes, one meter only); NULL: the seed's or the CSV's. */
    const uint8_t *ek, *ak, *kek, *system_title;
    uint64_t fault_seed;
    uint32_t speed;            /* simulated seconds per real second (1..1000000; 1: system time) */
    int64_t history_s;         /* history of a new meter (0..SIM_HISTORY_MAX_S) */
    const char *control;       /* unix socket path of the control channel (NULL: none) */
    const char *const *faults; /* initial fault lines */
    size_t nfaults;
    int verbose;
} sim_fleet_opts;

struct sim_fleet {
    uv_loop_t loop;
    sim_fleet_opts o;
    FILE *log;
    ami_simclock clock; /* the meters' simulated time (speed > 1) */
    sim_node *nodes;
    size_t n;
    uint32_t base;         /* address of meter 0, host order */
    uint16_t wport, hport; /* bound ports */
    bool shared;           /* one wildcard TCP listener per port */
    bool udp;              /* UDP sockets open (per meter) */
    uv_tcp_t swrapper, shdlc;
    uint8_t slistening;
    uv_signal_t sigint, sigterm;
    uv_timer_t tick; /* 1 s: clock drift */
    uv_pipe_t control;
    bool control_open;
    struct sim_ctl *ctls; /* open control connections */
    bool stopping;
    sim_fleet_port ports[SIM_FLEET_MAX_PORTS];
    size_t nports, ports_opened;
    uint64_t accepted, dropped_foreign;
};

/*
 * Creates the fleet (meters, keys) without opening anything. Returns AMI_OK or an AMI_E_* code
 * with *what naming the cause. The caller frees with sim_fleet_destroy.
 */
int sim_fleet_create(sim_fleet **out, const sim_fleet_opts *o, FILE *log, const char **what);

/* Opens every listener and port, prints the listening line, runs until SIGINT/SIGTERM. */
int sim_fleet_run(sim_fleet *f, const char **what);

void sim_fleet_destroy(sim_fleet *f);

/* Stops the fleet: closes every handle; sim_fleet_run returns once they are closed. */
void sim_fleet_stop(sim_fleet *f);

/*
 * Opens (on) or closes (off) the meter's TCP listeners, so that connections are refused by the
 * kernel while a refuse or reboot fault lasts. With shared wildcard listeners it does nothing
 * (accepted connections are reset instead).
 */
void sim_fleet_node_listen(sim_node *n, bool on);

/* The node of the meter at IPv4 address `addr` (host order), or NULL. */
sim_node *sim_fleet_node_at(sim_fleet *f, uint32_t addr);

/* ---------------------------------------------------------------- connections (sim_server.c) */

/* A listener of `node` (or of the fleet, node NULL, shared mode) has a connection to accept. */
void sim_server_on_connection(uv_stream_t *server, int status);

/* Starts receiving wrapper datagrams on node->udp (bound). */
int sim_server_udp_start(sim_node *node);

/* Closes every connection and the UDP session of the node (a reboot, a stop). */
void sim_server_close_node(sim_node *node);

/* ---------------------------------------------------------------- faults (sim_fault.c) */

/* A uniformly random number in [0, 1e6) from the node's fault generator. */
uint32_t sim_fault_draw(sim_fault *ft);

/* True with probability ppm / 1e6. */
bool sim_fault_hit(sim_fault *ft, uint32_t ppm);

/* The node refuses new connections now (refuse fault or rebooting). */
bool sim_fault_refusing(const sim_node *n);

/*
 * Applies one control line ("fault 17 drop 0.1", "clear all", ...) to the fleet; writes a
 * one-line answer without newline into reply. Returns AMI_OK or AMI_E_SYNTAX / AMI_E_RANGE.
 */
int sim_fault_command(sim_fleet *f, const char *line, char *reply, size_t cap);

/* Advances clock drift (called every second by the fleet). */
void sim_fault_tick(sim_fleet *f);

/* Opens the control channel (unix socket at f->o.control). */
int sim_control_open(sim_fleet *f);
void sim_control_close(sim_fleet *f);

/* ---------------------------------------------------------------- keys (sim_keys.c) */

/*
 * Derives (from the seed and the index) or reads (--keys CSV) every meter's serial, password and
 * keys into serials[i], passwords[i] and f->nodes[i].keys. Returns AMI_OK or an AMI_E_* code
 * (*what names the cause).
 */
int sim_keys_assign(sim_fleet *f, char (*serials)[SIM_SERIAL_MAX + 1], char (*passwords)[64],
                    const char **what);

/*
 * Starts an HDLC server engine on the first frame addressed to logical device 1 in
 * pend[0..*pend_len) (answering with the address width the client used), dropping what comes
 * before it; true when started. Otherwise keeps only the unparsed tail and returns false.
 * Shared by the TCP connections and the pty ports.
 */
bool sim_hdlc_start(ami_hdlc_conn *hc, uint8_t *pend, size_t *pend_len, uint8_t *rx, size_t rx_cap,
                    uint8_t *tx, size_t tx_cap);

/* Writes the keys CSV (mode 0600) atomically (path.tmp, fsync, rename). */
int sim_keys_write(sim_fleet *f, const char *path);

/* With --keys-out: rewrites the CSV whenever a key_transfer changes a meter's keys. */
void sim_keys_watch(sim_fleet *f);

/*
 * The meters' server invocation counters at start (sim_state.c): with o.state_dir, each
 * meter's counter continues above the reservation in DIR/<system title hex>.server (written
 * ahead in steps; created with DIR when missing); without, every counter starts at 8 x the
 * seconds since 2024-01-01 UTC. Returns AMI_OK or AMI_E_IO (*what names the cause).
 */
int sim_state_open(sim_fleet *f, const char **what);

#endif
