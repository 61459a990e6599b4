/*
 * `ami sim` local ports: P1, IEC 62056-21 optical, HDLC on a pty (see sim_ports.h). The
 * protocol engines stay sans-I/O (ami_p1_write, ami_p1_smarty_encrypt, ami_iec21 meter side,
 * ami_hdlc_conn, ami_dlms_assoc); this file moves their bytes over ptys and TCP on the fleet's
 * libuv loop and reads the monotonic clock.
 *
 * Pseudo-terminals: the master side is the meter. The slave side is also held open by the
 * meter (the "keeper", in raw mode) so that the master never reads EIO between two clients; a
 * client that opens the slave flushes what was queued while nobody listened.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ami/ami.h"
#include "io/serial.h"
#include "sim_ports.h"
#include "sim_server.h"

#define P1_TELEGRAM_MAX  1024 /* ami_p1_write: 1024 bytes always suffice */
#define P1_FRAME_MAX     (P1_TELEGRAM_MAX + 64)
#define P1_TCP_CLIENTS   8
#define P1_TCP_QUEUE_MAX (64 * 1024) /* a client this far behind is closed */
#define OPT_RX           1024
#define OPT_TX           4096
#define OPT_HANDOVER_MS  3000 /* after ACK 2 Z 2, HDLC must start (SNRM) within this time */
#define HDLC_PEND_MAX    (2 * AMI_HDLC_MAX_FRAME_BYTES)
#define HDLC_PDU         2045
#define HDLC_BLOCK       16384
#define HDLC_SCRATCH     16384
#define HDLC_CIPHER      (2 * 1024 + 64) /* a secured SAP: 2 * max PDU + 64 (dlms_server.h) */
#define SERVER_SAP       1               /* the management logical device */

/* ---------------------------------------------------------------- HDLC server on a byte stream */

/*
 * The meter's DLMS server behind HDLC on a serial line: the HDLC engine starts with the first
 * frame addressed to logical device 1 (answering with the address width the client used), one
 * association per client SAP. Shared by the HDLC pty and the optical port after mode E.
 */
typedef struct hlink {
    bool ready;
    ami_hdlc_conn hc;
    uint8_t pend[HDLC_PEND_MAX];
    size_t pend_len;
    uint8_t rx[2048], tx[2048];
    bool has_assoc;
    uint16_t sap;
    ami_dlms_assoc assoc;
    uint8_t block[HDLC_BLOCK];
    uint8_t scratch[HDLC_SCRATCH];
    uint8_t cipher[HDLC_CIPHER];
    uint8_t gbt_rx[4096];
    uint8_t gbt_tx[HDLC_BLOCK + 64];
} hlink;

enum { HL_OK = 0, HL_UP = 1, HL_DOWN = 2 };

static void hlink_reset(hlink *h)
{
    if (h->has_assoc)
        ami_dlms_assoc_reset(&h->assoc);
    h->ready = false;
    h->has_assoc = false;
    h->pend_len = 0;
}

static void hlink_assoc(hlink *h, sim_meter *m, uint16_t sap)
{
    if (h->has_assoc && h->sap == sap)
        return;
    ami_dlms_assoc_mem mem = {h->block,          sizeof h->block, h->scratch,
                              sizeof h->scratch, h->cipher,       sizeof h->cipher};
    if (h->has_assoc)
        ami_dlms_assoc_reset(&h->assoc); /* wipes a dedicated key */
    if (sap == SIM_SAP_EC)
        (void)sim_ec_key(m); /* the meter's EC key pair, made at the first use */
    (void)ami_dlms_assoc_init(&h->assoc, &m->server, sap, &mem);
    /* general block transfer: HDLC in normal response mode streams one block at a time */
    (void)ami_dlms_assoc_set_gbt(&h->assoc, h->gbt_rx, sizeof h->gbt_rx, h->gbt_tx,
                                 sizeof h->gbt_tx, 1);
    h->has_assoc = true;
    h->sap = sap;
}

static void hlink_flush(hlink *h, ami_serial *ser, uint64_t now)
{
    uint8_t frame[AMI_HDLC_MAX_FRAME_BYTES];
    int n;
    while ((n = ami_hdlc_conn_output(&h->hc, now, frame, sizeof frame)) > 0)
        (void)ami_serial_write(ser, frame, (size_t)n);
}

static int hlink_event(hlink *h, sim_meter *m, const ami_hdlc_event *ev, uint64_t now)
{
    static uint8_t out[HDLC_PDU];
    switch (ev->type) {
    case AMI_HDLC_EV_CONNECTED:
        /* a new link is a new transport: a new association for the client's address */
        if (h->has_assoc)
            ami_dlms_assoc_reset(&h->assoc);
        h->has_assoc = false;
        hlink_assoc(h, m, h->hc.cfg.client.upper);
        return HL_UP;
    case AMI_HDLC_EV_APDU: {
        hlink_assoc(h, m, h->hc.cfg.client.upper);
        int r = ami_dlms_assoc_handle(&h->assoc, ev->data, ev->len, out, sizeof out);
        for (; r > 0; r = ami_dlms_assoc_next(&h->assoc, out, sizeof out))
            (void)ami_hdlc_conn_send_apdu(&h->hc, out, (size_t)r, now);
        return HL_OK;
    }
    case AMI_HDLC_EV_DISCONNECTED:
        hlink_reset(h);
        return HL_DOWN;
    default:
        return HL_OK;
    }
}

/* Starts the engine on the first frame for logical device 1 in h->pend; false: not yet. */
static bool hlink_start(hlink *h)
{
    h->ready =
        sim_hdlc_start(&h->hc, h->pend, &h->pend_len, h->rx, sizeof h->rx, h->tx, sizeof h->tx);
    return h->ready;
}

/*
 * On a serial line a client may vanish without DISC (a refused association, a killed program)
 * and the next one starts with its own SNRM: an SNRM for us from another client address ends the
 * old link. Returns the offset of that SNRM in[0..n), or n when there is none.
 */
static size_t hlink_foreign_snrm(const hlink *h, const uint8_t *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (in[i] != AMI_HDLC_FLAG)
            continue;
        ami_hdlc_frame f;
        if (ami_hdlc_frame_decode(in + i, n - i, 0, &f) >= 0 && f.type == AMI_HDLC_SNRM &&
            f.dest.upper == SERVER_SAP && f.src.upper != h->hc.cfg.client.upper)
            return i;
    }
    return n;
}

/* Feeds received bytes; returns HL_UP / HL_DOWN when the link came up / went down. */
static int hlink_input(hlink *h, sim_meter *m, ami_serial *ser, const uint8_t *in, size_t n,
                       uint64_t now)
{
    if (h->ready) {
        size_t at = hlink_foreign_snrm(h, in, n);
        if (at < n) {
            hlink_reset(h); /* the old client is gone: serve the new one */
            in += at;
            n -= at;
        }
    }
    if (!h->ready) {
        if (n > sizeof h->pend - h->pend_len) {
            h->pend_len = 0; /* garbage without a frame for us: start over */
            if (n > sizeof h->pend)
                return HL_OK;
        }
        memcpy(h->pend + h->pend_len, in, n);
        h->pend_len += n;
        if (!hlink_start(h))
            return HL_OK;
        in = h->pend;
        n = h->pend_len;
        h->pend_len = 0;
    }
    int out = HL_OK;
    size_t off = 0;
    while (off < n) {
        size_t used = 0;
        ami_hdlc_event ev;
        (void)ami_hdlc_conn_recv(&h->hc, in + off, n - off, now, &used, &ev);
        off += used;
        hlink_flush(h, ser, now); /* an answer (UA to a DISC) before the event resets the link */
        int r = hlink_event(h, m, &ev, now);
        if (h->ready)
            hlink_flush(h, ser, now);
        if (r == HL_DOWN) {
            out = HL_DOWN;
            if (!h->ready)
                break; /* bytes after the link went down start a new one later */
        } else if (r == HL_UP) {
            out = HL_UP;
        }
        if (!used && ev.type == AMI_HDLC_EV_NONE)
            break;
    }
    return out;
}

static int hlink_tick(hlink *h, sim_meter *m, ami_serial *ser, uint64_t now)
{
    if (!h->ready)
        return HL_OK;
    ami_hdlc_event ev;
    (void)ami_hdlc_conn_tick(&h->hc, now, &ev);
    hlink_flush(h, ser, now);
    int r = hlink_event(h, m, &ev, now);
    if (h->ready)
        hlink_flush(h, ser, now);
    return r;
}

static uint64_t hlink_deadline(const hlink *h)
{
    return h->ready ? ami_hdlc_conn_deadline(&h->hc) : UINT64_MAX;
}

/* ---------------------------------------------------------------- per-meter state */

typedef struct pty_port {
    bool open;
    int keeper; /* the slave held open by the meter */
    ami_serial *ser;
    uv_poll_t poll;
    char path[64];
} pty_port;

struct mport;

typedef struct p1_client {
    uv_tcp_t tcp;
    struct mport *p;
    struct p1_client *next;
} p1_client;

typedef struct p1_write {
    uv_write_t req;
    size_t len;
    uint8_t data[];
} p1_write;

/* Registers of the optical readout (read level 1) and the one writable register. */
enum {
    R_SERIAL,
    R_TIME,
    R_DATE,
    R_A_PLUS,
    R_A_PLUS_T1,
    R_A_PLUS_T2,
    R_A_MINUS,
    R_A_MINUS_T1,
    R_A_MINUS_T2,
    R_P_PLUS,
    R_P_MINUS,
    R_U1,
    R_U2,
    R_U3,
    R_I1,
    R_I2,
    R_I3,
    R_OWNER, /* 0.0.1: read and written in programming mode after P1 */
    R_COUNT
};

typedef struct mport {
    size_t index;
    sim_meter *m;
    sim_fleet *f;
    unsigned handles; /* initialised libuv handles still to close */
    /* P1 */
    uv_timer_t p1_timer;
    pty_port p1pty;
    uv_tcp_t p1_listen;
    bool p1_listening;
    uint16_t p1_bound;
    p1_client *clients;
    unsigned nclients;
    uint32_t fc;
    uint8_t st[8];
    uint64_t p1_sent, p1_dropped;
    /* optical */
    pty_port opt;
    uv_timer_t opt_timer;
    ami_iec21 iec;
    ami_iec21_meter_cfg icfg;
    ami_iec21_register regs[R_COUNT];
    char vals[R_COUNT][24];
    char password[64];
    char address[SIM_SERIAL_MAX + 1];
    uint8_t irx[OPT_RX], itx[OPT_TX];
    bool hdlc_mode;          /* after a mode E hand-over */
    bool hdlc_up;            /* the handed-over link is connected */
    uint64_t handover_until; /* HDLC must start before this */
    hlink *ohl;
    /* HDLC pty */
    pty_port hp;
    uv_timer_t h_timer;
    hlink *hl;
} mport;

static struct {
    sim_ports_opts o;
    ami_sec_ctx sec;
    bool sec_init;
    mport **ports;
    size_t n;
} g;

static void log_line(sim_fleet *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_line(sim_fleet *f, const char *fmt, ...)
{
    FILE *log = sim_fleet_log(f);
    va_list ap;
    va_start(ap, fmt);
    fputs("ami sim: ", log);
    vfprintf(log, fmt, ap);
    fputc('\n', log);
    va_end(ap);
    fflush(log);
}

/* ---------------------------------------------------------------- ptys */

/* Drops one reference (an initialised handle, or the hold of the fleet); frees at zero. */
static void port_release(mport *p)
{
    if (--p->handles == 0) {
        /* wipes a dedicated key, frees the associations' cipher contexts */
        if (p->hl)
            hlink_reset(p->hl);
        if (p->ohl)
            hlink_reset(p->ohl);
        free(p->hl);
        free(p->ohl);
        ami_wipe(p->password, sizeof p->password);
        free(p);
    }
}

static void handle_closed(uv_handle_t *h)
{
    port_release(h->data);
}

static void close_handle(mport *p, uv_handle_t *h)
{
    (void)p;
    if (!uv_is_closing(h))
        uv_close(h, handle_closed);
}

/* Opens a pty pair for the meter: master wrapped as a serial port, slave kept open raw. */
static int pty_open(mport *p, pty_port *pp, uint32_t baud, enum ami_serial_format fmt,
                    uv_poll_cb cb)
{
    int master;
    int rc = ami_pty_open(&master, pp->path, sizeof pp->path);
    if (rc < 0)
        return rc;
    ami_serial_opts so = {.baud = baud, .format = fmt};
    rc = ami_serial_from_fd(&pp->ser, master, true, &so);
    if (rc < 0) {
        close(master);
        return rc;
    }
    /* Without the keeper the master would hang up (POLLHUP, EIO) whenever no client is open. */
    pp->keeper = open(pp->path, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    ami_serial *k = NULL; /* raw settings on the slave: no echo, no line discipline */
    if (pp->keeper < 0 || ami_serial_from_fd(&k, pp->keeper, false, &so) != 0) {
        if (pp->keeper >= 0)
            close(pp->keeper);
        ami_serial_close(pp->ser);
        return AMI_E_IO;
    }
    ami_serial_close(k);
    if (uv_poll_init(sim_fleet_loop(p->f), &pp->poll, master) != 0) {
        ami_serial_close(pp->ser);
        if (pp->keeper >= 0)
            close(pp->keeper);
        return AMI_E_IO;
    }
    pp->poll.data = p;
    p->handles++;
    pp->open = true;
    if (cb)
        uv_poll_start(&pp->poll, UV_READABLE, cb);
    return AMI_OK;
}

static void pty_close(mport *p, pty_port *pp)
{
    if (!pp->open)
        return;
    close_handle(p, (uv_handle_t *)&pp->poll);
    ami_serial_close(pp->ser); /* the poll handle is closed in the same loop turn */
    if (pp->keeper >= 0)
        close(pp->keeper);
    pp->open = false;
}

static int timer_init(mport *p, uv_timer_t *t)
{
    if (uv_timer_init(sim_fleet_loop(p->f), t) != 0)
        return AMI_E_IO;
    t->data = p;
    p->handles++;
    return AMI_OK;
}

/* Arms `t` for the deadline `until` on the ami_now_ms() clock (UINT64_MAX: stop it). */
static void timer_at(uv_timer_t *t, uint64_t until, uv_timer_cb cb)
{
    if (until == UINT64_MAX) {
        uv_timer_stop(t);
        return;
    }
    uint64_t now = ami_now_ms();
    uv_timer_start(t, cb, until > now ? until - now : 0, 0);
}

/* ---------------------------------------------------------------- P1 */

/* Composes the next telegram (or Smarty frame) into out; returns its length or 0. */
static size_t p1_compose(mport *p, uint8_t *out, size_t cap)
{
    sim_meter_advance(p->m);
    unsigned tariff = sim_meter_tariff(p->m);
    ami_p1_values v = {.header = "AMI5\\2OPENAMI-SIM", .version = 50};
    v.equipment_id = p->m->serial;
    /* P1 has two tariff registers: a calendar's T3/T4 would count as T2 here */
    if (ami_metro_p1_values(&p->m->metro, tariff > 1 ? 1 : tariff, &v) != AMI_OK)
        return 0;
    if (p->m->supply_off) { /* disconnected (0-0:96.3.10.255): nothing flows */
        v.power_import_w = v.power_export_w = 0;
        memset(v.current_a, 0, sizeof v.current_a);
        memset(v.phase_import_w, 0, sizeof v.phase_import_w);
        memset(v.phase_export_w, 0, sizeof v.phase_export_w);
    }
    v.time = sim_meter_now(p->m) > v.time ? sim_meter_now(p->m) : v.time;
    v.dst = ami_p1_eu_dst(v.time);
    /* a P1 display shows at most 99.999 kW (F5(3)): a large commercial load saturates */
    const int64_t pmax = 99999;
    v.power_import_w = v.power_import_w < pmax ? v.power_import_w : pmax;
    v.power_export_w = v.power_export_w < pmax ? v.power_export_w : pmax;
    for (int k = 0; k < 3; k++) {
        v.phase_import_w[k] = v.phase_import_w[k] < pmax ? v.phase_import_w[k] : pmax;
        v.phase_export_w[k] = v.phase_export_w[k] < pmax ? v.phase_export_w[k] : pmax;
        v.current_a[k] = v.current_a[k] < 999 ? v.current_a[k] : 999;
    }
    char tg[P1_TELEGRAM_MAX];
    int n = ami_p1_write(&v, tg, sizeof tg);
    if (n <= 0)
        return 0;
    if (!g.o.p1_encrypt) {
        if ((size_t)n > cap)
            return 0;
        memcpy(out, tg, (size_t)n);
        return (size_t)n;
    }
    size_t flen = 0;
    int rc = ami_p1_smarty_encrypt(&g.sec, p->st, ++p->fc, (const uint8_t *)tg, (size_t)n, out, cap,
                                   &flen);
    return rc == AMI_OK ? flen : 0;
}

static void p1_client_closed(uv_handle_t *h)
{
    p1_client *c = h->data;
    mport *p = c->p;
    free(c);
    port_release(p);
}

static void p1_client_close(p1_client *c)
{
    mport *p = c->p;
    for (p1_client **pp = &p->clients; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    p->nclients--;
    if (!uv_is_closing((uv_handle_t *)&c->tcp))
        uv_close((uv_handle_t *)&c->tcp, p1_client_closed);
}

static void p1_write_done(uv_write_t *req, int status)
{
    (void)status;
    free(req->data);
}

static void p1_send_tcp(mport *p, const uint8_t *data, size_t n)
{
    p1_client *c = p->clients;
    while (c) {
        p1_client *next = c->next;
        if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > P1_TCP_QUEUE_MAX) {
            p->p1_dropped++;
            p1_client_close(c); /* a reader this far behind is gone */
            c = next;
            continue;
        }
        p1_write *w = malloc(sizeof *w + n);
        if (w) {
            memcpy(w->data, data, n);
            w->len = n;
            w->req.data = w;
            uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)n);
            if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, p1_write_done) != 0) {
                free(w);
                p1_client_close(c);
            }
        }
        c = next;
    }
}

static void p1_send_pty(mport *p, const uint8_t *data, size_t n)
{
    int fd = ami_serial_fd(p->p1pty.ser);
    ssize_t w = write(fd, data, n);
    /* Nobody reading: the pty queue fills up; what does not fit is dropped (a reader that
     * opens the port flushes the queue and then gets whole telegrams). */
    if (w < 0 || (size_t)w < n)
        p->p1_dropped++;
    else
        p->p1_sent++;
}

static void p1_tick(uv_timer_t *t)
{
    mport *p = t->data;
    if (!sim_fleet_answering(p->f, p->index))
        return; /* a stopped or rebooting meter sends nothing */
    if (g.o.p1 == SIM_P1_TCP && !p->clients)
        return;
    static uint8_t frame[P1_FRAME_MAX];
    size_t n = p1_compose(p, frame, sizeof frame);
    if (!n)
        return;
    if (g.o.p1 == SIM_P1_PTY)
        p1_send_pty(p, frame, n);
    else
        p1_send_tcp(p, frame, n);
}

static void p1_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    static char sink[256];
    *buf = uv_buf_init(sink, sizeof sink);
}

static void p1_client_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    if (nread < 0)
        p1_client_close(s->data); /* the reader went away; what it sends is ignored */
}

static void p1_on_connection(uv_stream_t *server, int status)
{
    mport *p = server->data;
    if (status < 0)
        return;
    p1_client *c = calloc(1, sizeof *c);
    if (!c || uv_tcp_init(sim_fleet_loop(p->f), &c->tcp) != 0) {
        free(c);
        return;
    }
    c->p = p;
    c->tcp.data = c;
    p->handles++; /* released by p1_client_closed */
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 || p->nclients >= P1_TCP_CLIENTS) {
        uv_close((uv_handle_t *)&c->tcp, p1_client_closed);
        return;
    }
    c->next = p->clients;
    p->clients = c;
    p->nclients++;
    uv_read_start((uv_stream_t *)&c->tcp, p1_alloc, p1_client_read);
    if (sim_fleet_verbose(p->f))
        log_line(p->f, "meter %zu: p1 client connected", p->index);
}

static int p1_open(mport *p)
{
    int rc = timer_init(p, &p->p1_timer);
    if (rc)
        return rc;
    /* the system title of the Smarty frames: "AMI", 0x00 and the meter index */
    memcpy(p->st, "AMI", 3);
    p->st[3] = 0;
    for (int k = 0; k < 4; k++)
        p->st[4 + k] = (uint8_t)(p->index >> (24 - 8 * k));
    if (g.o.p1 == SIM_P1_PTY) {
        if ((rc = pty_open(p, &p->p1pty, 115200, AMI_SERIAL_8N1, NULL)) != AMI_OK)
            return rc;
        log_line(p->f, "meter %zu: p1 port: %s", p->index, p->p1pty.path);
    } else {
        char addr[64];
        sim_fleet_address(p->f, p->index, addr, sizeof addr);
        struct sockaddr_in sa;
        if (uv_ip4_addr(addr, g.o.p1_port, &sa) != 0 ||
            uv_tcp_init(sim_fleet_loop(p->f), &p->p1_listen) != 0)
            return AMI_E_IO;
        p->p1_listen.data = p;
        p->handles++;
        p->p1_listening = true;
        if (uv_tcp_bind(&p->p1_listen, (const struct sockaddr *)&sa, 0) != 0 ||
            uv_listen((uv_stream_t *)&p->p1_listen, 8, p1_on_connection) != 0)
            return AMI_E_IO;
        struct sockaddr_storage ss;
        int len = sizeof ss;
        if (uv_tcp_getsockname(&p->p1_listen, (struct sockaddr *)&ss, &len) == 0)
            p->p1_bound = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        log_line(p->f, "meter %zu: p1 port: tcp %s:%u", p->index, addr, p->p1_bound);
    }
    uint32_t period = g.o.p1_period_ms ? g.o.p1_period_ms : 1000;
    uv_timer_start(&p->p1_timer, p1_tick, period, period);
    return AMI_OK;
}

/* ---------------------------------------------------------------- optical port */

static void put_kwh(char *out, int64_t wh)
{
    if (wh < 0)
        wh = 0;
    wh %= INT64_C(1000000000); /* F9(3): the register display rolls over */
    snprintf(out, 24, "%06lld.%03lld", (long long)(wh / 1000), (long long)(wh % 1000));
}

/* Refreshes the readout values from the meter (not the writable register). */
static void opt_refresh(mport *p)
{
    sim_meter_advance(p->m);
    const ami_metro *mt = &p->m->metro;
    ami_datetime dt;
    int64_t local = sim_meter_now(p->m) + mt->load.utc_offset_s;
    if (ami_datetime_from_unix(local, AMI_DT_DEVIATION_UNSPEC, 0, AMI_DT_ASSUME_UTC, &dt) == 0) {
        snprintf(p->vals[R_TIME], 24, "%02u:%02u:%02u", dt.hour, dt.minute, dt.second);
        snprintf(p->vals[R_DATE], 24, "%02u-%02u-%02u", dt.year % 100u, dt.month, dt.day);
    }
    put_kwh(p->vals[R_A_PLUS], ami_metro_wh(mt->reg.a_plus));
    put_kwh(p->vals[R_A_MINUS], ami_metro_wh(mt->reg.a_minus));
    for (int k = 0; k < 2; k++) {
        put_kwh(p->vals[R_A_PLUS_T1 + k], ami_metro_wh(mt->reg.tariff[k][AMI_REG_A_PLUS]));
        put_kwh(p->vals[R_A_MINUS_T1 + k], ami_metro_wh(mt->reg.tariff[k][AMI_REG_A_MINUS]));
    }
    ami_metro_sample s;
    ami_metro_instant(mt, mt->t, &s);
    if (p->m->supply_off) { /* disconnected: no power, no current */
        s.p_mw = 0;
        for (unsigned k = 0; k < AMI_METRO_MAX_PHASES; k++)
            s.ph[k].i_ma = 0;
    }
    int64_t pw = s.p_mw / 1000;
    snprintf(p->vals[R_P_PLUS], 24, "%02lld.%03lld", (long long)(pw > 0 ? pw / 1000 : 0),
             (long long)(pw > 0 ? pw % 1000 : 0));
    snprintf(p->vals[R_P_MINUS], 24, "%02lld.%03lld", (long long)(pw < 0 ? -pw / 1000 : 0),
             (long long)(pw < 0 ? -pw % 1000 : 0));
    for (unsigned k = 0; k < 3; k++) {
        int32_t u = k < s.phases ? s.ph[k].u_mv / 100 : 0;
        int32_t i = k < s.phases ? s.ph[k].i_ma / 10 : 0;
        snprintf(p->vals[R_U1 + k], 24, "%03d.%d", (int)(u / 10), (int)(u % 10));
        snprintf(p->vals[R_I1 + k], 24, "%03d.%02d", (int)(i / 100), (int)(i % 100));
    }
}

static void opt_timer_cb(uv_timer_t *t);

static void opt_engine_init(mport *p)
{
    (void)ami_iec21_meter_init(&p->iec, &p->icfg, p->irx, sizeof p->irx, p->itx, sizeof p->itx);
}

/* Back from HDLC to IEC 62056-21 at 300 Bd 7E1. */
static void opt_back_to_iec(mport *p, const char *why)
{
    if (p->ohl)
        hlink_reset(p->ohl);
    p->hdlc_mode = p->hdlc_up = false;
    (void)ami_serial_set(p->opt.ser, 300, AMI_SERIAL_7E1);
    opt_engine_init(p);
    if (sim_fleet_verbose(p->f))
        log_line(p->f, "meter %zu: optical port back to IEC 62056-21 (%s)", p->index, why);
}

/* Runs the IEC 62056-21 engine until it waits. */
static void opt_run(mport *p)
{
    for (int guard = 0; guard < 64; guard++) {
        uint64_t now = ami_now_ms();
        ami_iec21_action a;
        if (ami_iec21_poll(&p->iec, now, &a) < 0) {
            opt_engine_init(p); /* a meter engine never stays failed */
            continue;
        }
        switch (a.kind) {
        case AMI_IEC21_ACT_SEND:
            (void)ami_serial_write(p->opt.ser, a.data, a.len);
            break;
        case AMI_IEC21_ACT_BAUD:
            (void)ami_serial_set(p->opt.ser, a.baud,
                                 a.format == AMI_IEC21_8N1 ? AMI_SERIAL_8N1 : AMI_SERIAL_7E1);
            break;
        case AMI_IEC21_ACT_WAIT:
            timer_at(&p->opt_timer, a.until, opt_timer_cb);
            return;
        case AMI_IEC21_ACT_EVENT:
            if (a.event == AMI_IEC21_EV_HANDOVER) {
                p->hdlc_mode = true;
                p->hdlc_up = false;
                p->handover_until = now + OPT_HANDOVER_MS;
                if (sim_fleet_verbose(p->f))
                    log_line(p->f, "meter %zu: optical port: mode E hand-over to HDLC at %u Bd",
                             p->index, a.baud);
            } else if (a.event == AMI_IEC21_EV_WRITTEN && sim_fleet_verbose(p->f)) {
                log_line(p->f, "meter %zu: optical port: %s written", p->index,
                         p->regs[a.reg].address);
            } else if (a.event == AMI_IEC21_EV_TAMPER) {
                log_line(p->f, "meter %zu: optical port locked after %u wrong passwords", p->index,
                         a.count);
            }
            break;
        case AMI_IEC21_ACT_DONE:
            if (p->hdlc_mode) {
                if (!p->ohl && !(p->ohl = calloc(1, sizeof *p->ohl))) {
                    opt_back_to_iec(p, "out of memory");
                    continue;
                }
                hlink_reset(p->ohl);
                timer_at(&p->opt_timer, p->handover_until, opt_timer_cb);
                return;
            }
            opt_engine_init(p);
            break;
        }
    }
    uv_timer_start(&p->opt_timer, opt_timer_cb, 1, 0); /* more to do: come back */
}

static void opt_hdlc_rearm(mport *p)
{
    uint64_t d = hlink_deadline(p->ohl);
    if (!p->hdlc_up && p->handover_until < d)
        d = p->handover_until;
    timer_at(&p->opt_timer, d, opt_timer_cb);
}

static void opt_hdlc_result(mport *p, int r)
{
    if (r == HL_UP)
        p->hdlc_up = true;
    if (r == HL_DOWN)
        opt_back_to_iec(p, "HDLC link closed");
    else
        opt_hdlc_rearm(p);
}

static void opt_timer_cb(uv_timer_t *t)
{
    mport *p = t->data;
    if (!p->hdlc_mode) {
        opt_run(p);
        return;
    }
    uint64_t now = ami_now_ms();
    if (!p->hdlc_up && now >= p->handover_until) {
        opt_back_to_iec(p, "no HDLC after the hand-over");
        opt_run(p);
        return;
    }
    opt_hdlc_result(p, hlink_tick(p->ohl, p->m, p->opt.ser, now));
}

static void opt_readable(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    mport *p = h->data;
    uint8_t buf[512];
    int n = ami_serial_read(p->opt.ser, buf, sizeof buf, 0);
    if (n <= 0)
        return;
    if (!sim_fleet_answering(p->f, p->index))
        return; /* a stopped meter: bytes are read and dropped */
    uint64_t now = ami_now_ms();
    if (p->hdlc_mode) {
        opt_hdlc_result(p, hlink_input(p->ohl, p->m, p->opt.ser, buf, (size_t)n, now));
        return;
    }
    opt_refresh(p);
    (void)ami_iec21_input(&p->iec, buf, (size_t)n, now);
    opt_run(p);
}

static int opt_open(mport *p)
{
    static const struct {
        const char *addr, *unit;
    } names[R_COUNT] = {
        [R_SERIAL] = {"0.0.0", NULL},      [R_TIME] = {"0.9.1", NULL},
        [R_DATE] = {"0.9.2", NULL},        [R_A_PLUS] = {"1.8.0", "kWh"},
        [R_A_PLUS_T1] = {"1.8.1", "kWh"},  [R_A_PLUS_T2] = {"1.8.2", "kWh"},
        [R_A_MINUS] = {"2.8.0", "kWh"},    [R_A_MINUS_T1] = {"2.8.1", "kWh"},
        [R_A_MINUS_T2] = {"2.8.2", "kWh"}, [R_P_PLUS] = {"1.7.0", "kW"},
        [R_P_MINUS] = {"2.7.0", "kW"},     [R_U1] = {"32.7.0", "V"},
        [R_U2] = {"52.7.0", "V"},          [R_U3] = {"72.7.0", "V"},
        [R_I1] = {"31.7.0", "A"},          [R_I2] = {"51.7.0", "A"},
        [R_I3] = {"71.7.0", "A"},          [R_OWNER] = {"0.0.1", NULL},
    };
    for (int k = 0; k < R_COUNT; k++) {
        p->regs[k] =
            (ami_iec21_register){names[k].addr, p->vals[k], sizeof p->vals[k], names[k].unit, 1, 0};
    }
    p->regs[R_OWNER].read_level = 2;
    p->regs[R_OWNER].write_level = 2;
    snprintf(p->vals[R_OWNER], sizeof p->vals[R_OWNER], "OPENAMI");
    snprintf(p->vals[R_SERIAL], sizeof p->vals[R_SERIAL], "%.23s", p->m->serial);
    snprintf(p->address, sizeof p->address, "%s", p->m->serial);
    size_t pl =
        p->m->password_len < sizeof p->password - 1 ? p->m->password_len : sizeof p->password - 1;
    memcpy(p->password, p->m->password, pl);
    p->password[pl] = '\0';
    p->icfg = (ami_iec21_meter_cfg){
        .mode = AMI_IEC21_MODE_E,
        .manufacturer = "AMI",
        .ident = "OPENAMI-SIM",
        .max_baud = 9600,
        .address = p->address,
        .regs = p->regs,
        .nregs = R_COUNT,
        .password = p->password,
    };
    ami_metro_sample s0;
    ami_metro_instant(&p->m->metro, p->m->metro.t, &s0);
    if (s0.phases < 3) /* a single-phase meter has no L2/L3 registers */
        for (int k = 1; k < 3; k++)
            p->regs[R_U1 + k].read_level = p->regs[R_I1 + k].read_level = 5;
    opt_refresh(p);
    int rc = timer_init(p, &p->opt_timer);
    if (rc)
        return rc;
    opt_engine_init(p);
    if ((rc = pty_open(p, &p->opt, 300, AMI_SERIAL_7E1, opt_readable)) != AMI_OK)
        return rc;
    log_line(p->f, "meter %zu: optical port: %s", p->index, p->opt.path);
    opt_run(p);
    return AMI_OK;
}

/* ---------------------------------------------------------------- HDLC pty */

static void hp_timer_cb(uv_timer_t *t)
{
    mport *p = t->data;
    (void)hlink_tick(p->hl, p->m, p->hp.ser, ami_now_ms());
    timer_at(&p->h_timer, hlink_deadline(p->hl), hp_timer_cb);
}

static void hp_readable(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    mport *p = h->data;
    uint8_t buf[1024];
    int n = ami_serial_read(p->hp.ser, buf, sizeof buf, 0);
    if (n <= 0 || !sim_fleet_answering(p->f, p->index))
        return;
    (void)hlink_input(p->hl, p->m, p->hp.ser, buf, (size_t)n, ami_now_ms());
    timer_at(&p->h_timer, hlink_deadline(p->hl), hp_timer_cb);
}

static int hp_open(mport *p)
{
    if (!(p->hl = calloc(1, sizeof *p->hl)))
        return AMI_E_NOMEM;
    int rc = timer_init(p, &p->h_timer);
    if (rc)
        return rc;
    if ((rc = pty_open(p, &p->hp, 9600, AMI_SERIAL_8N1, hp_readable)) != AMI_OK)
        return rc;
    log_line(p->f, "meter %zu: hdlc port: %s", p->index, p->hp.path);
    return AMI_OK;
}

/* ---------------------------------------------------------------- fleet hooks */

static int ports_open(sim_fleet *f, size_t index, void *ctx)
{
    (void)ctx;
    if (index >= g.n)
        return AMI_E_INVAL;
    mport *p = calloc(1, sizeof *p);
    if (!p)
        return AMI_E_NOMEM;
    p->index = index;
    p->f = f;
    p->m = sim_fleet_meter(f, index);
    p->p1pty.keeper = p->opt.keeper = p->hp.keeper = -1;
    p->handles = 1; /* held until ports_close: the port is freed by the last close */
    g.ports[index] = p;
    int rc = AMI_OK;
    if (g.o.p1 != SIM_P1_NONE)
        rc = p1_open(p);
    if (rc == AMI_OK && g.o.optical)
        rc = opt_open(p);
    if (rc == AMI_OK && g.o.hdlc_pty)
        rc = hp_open(p);
    return rc;
}

static void ports_close(sim_fleet *f, void *ctx)
{
    (void)f;
    (void)ctx;
    for (size_t i = 0; i < g.n; i++) {
        mport *p = g.ports[i];
        if (!p)
            continue;
        g.ports[i] = NULL;
        if (p->p1_timer.data)
            close_handle(p, (uv_handle_t *)&p->p1_timer);
        while (p->clients)
            p1_client_close(p->clients);
        if (p->p1_listening)
            close_handle(p, (uv_handle_t *)&p->p1_listen);
        pty_close(p, &p->p1pty);
        if (p->opt_timer.data)
            close_handle(p, (uv_handle_t *)&p->opt_timer);
        pty_close(p, &p->opt);
        if (p->h_timer.data)
            close_handle(p, (uv_handle_t *)&p->h_timer);
        pty_close(p, &p->hp);
        port_release(p);
    }
    free(g.ports);
    g.ports = NULL;
    if (g.sec_init)
        ami_sec_ctx_wipe(&g.sec);
    g.sec_init = false;
}

bool sim_ports_parse_p1(const char *arg, sim_ports_opts *o)
{
    if (!strcmp(arg, "pty")) {
        o->p1 = SIM_P1_PTY;
        return true;
    }
    if (strncmp(arg, "tcp:", 4) != 0)
        return false;
    char *end;
    errno = 0;
    unsigned long v = strtoul(arg + 4, &end, 10);
    if (!arg[4] || *end || errno || v > 65535)
        return false;
    o->p1 = SIM_P1_TCP;
    o->p1_port = (uint16_t)v;
    return true;
}

int sim_ports_attach(sim_fleet *f, sim_ports_opts *o)
{
    g.o = *o;
    ami_wipe(o->p1_key, sizeof o->p1_key);
    if (g.o.p1 == SIM_P1_NONE && !g.o.optical && !g.o.hdlc_pty)
        return AMI_OK;
    if (g.o.p1_encrypt) {
        int rc = ami_sec_ctx_init(&g.sec);
        if (rc)
            return rc;
        g.sec_init = true;
        rc = ami_sec_ctx_set_ek(&g.sec, g.o.p1_key, sizeof g.o.p1_key);
        if (rc == AMI_OK)
            rc = ami_sec_ctx_set_ak(&g.sec, ami_p1_smarty_default_ak, 16);
        ami_wipe(g.o.p1_key, sizeof g.o.p1_key);
        if (rc)
            return rc;
    }
    g.n = sim_fleet_count(f);
    g.ports = calloc(g.n, sizeof *g.ports);
    if (!g.ports)
        return AMI_E_NOMEM;
    sim_fleet_port port = {
        .name = "p1/optical/hdlc-pty port", .open = ports_open, .close = ports_close};
    return sim_fleet_add_port(f, &port);
}
