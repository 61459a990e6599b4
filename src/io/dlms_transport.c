/*
 * DLMS client I/O driver: URL -> lower layer -> client session. See dlms_transport.h.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "io/dlms_transport.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ami/error.h"
#include "ami/hdlc.h"
#include "ami/iec21.h"
#include "ami/wrapper.h"
#include "io/serial.h"
#include "io/tcp.h"
#include "io/url.h"

enum lower { LOW_WRAPPER_TCP = 1, LOW_WRAPPER_UDP, LOW_HDLC };

#define DATA_CAP  (1u << 20) /* largest reassembled value */
#define APDU_CAP  0x10000u   /* largest APDU in either direction */
#define ITEMS_MAX 64u

struct ami_dlms_link {
    enum lower lower;
    int fd;             /* socket, or -1 */
    ami_serial *serial; /* serial port, or NULL */
    ami_dlms_link_opts o;
    ami_dlms_client cl;
    ami_hdlc_conn hdlc;
    ami_wrapper_stream ws;
    ami_arena arena;
    void (*progress)(void *user, uint32_t blocks, size_t bytes);
    void *progress_user;
    char why[256];
    uint8_t rx[4096];
    uint8_t out[APDU_CAP];
    uint8_t wbuf[APDU_CAP + 8];
    uint8_t hdlc_rx[APDU_CAP], hdlc_tx[APDU_CAP];
    uint8_t arena_buf[64 * 1024];
    ami_dlms_item items[ITEMS_MAX];
    ami_hdlc_deframer trace_dfr; /* cuts received bytes into frames for the trace */
    size_t pending;              /* received bytes not yet given to the engines, at rx[0] */
    uint8_t next[APDU_CAP];
    uint8_t req[APDU_CAP]; /* the request being built */
    ami_iec21 iec;
    uint8_t iec_rx[2048], iec_tx[512]; /* the session's follow-up APDU */
    uint8_t msg[APDU_CAP + 8];         /* wrapper message / trace copy */
    uint8_t data[DATA_CAP];
    uint8_t gbt[DATA_CAP]; /* general block transfer: a request or response in blocks */
};

static int fail(ami_dlms_link *l, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->why, sizeof l->why, fmt, ap);
    va_end(ap);
    return rc;
}

static const char *low_name(const ami_dlms_link *l)
{
    if (l->serial)
        return "serial";
    return l->lower == LOW_WRAPPER_UDP ? "UDP" : "TCP";
}

static int timeout_of(const ami_dlms_link *l)
{
    return l->o.timeout_ms > 0 ? l->o.timeout_ms : 5000;
}

/* Reads what is there within timeout_ms: > 0 bytes, 0 on timeout, < 0 an error. */
static int rd(ami_dlms_link *l, uint8_t *buf, size_t cap, int timeout_ms)
{
    if (l->serial)
        return ami_serial_read(l->serial, buf, cap, timeout_ms);
    int rc = ami_io_wait(l->fd, false, timeout_ms);
    if (rc == AMI_E_TIMEOUT)
        return 0;
    if (rc)
        return rc;
    rc = ami_io_read(l->fd, buf, cap);
    return rc == AMI_E_AGAIN ? 0 : rc;
}

static int wr(ami_dlms_link *l, const uint8_t *p, size_t n)
{
    if (l->serial)
        return ami_serial_write(l->serial, p, n);
    return ami_io_write(l->fd, p, n, timeout_of(l));
}

static void trace(ami_dlms_link *l, bool tx, enum ami_dlms_trace_kind k, const uint8_t *p, size_t n)
{
    if (l->o.trace)
        l->o.trace(l->o.trace_user, tx, k, p, n);
}

/* ---------------------------------------------------------------- HDLC */

static int hdlc_flush(ami_dlms_link *l)
{
    uint8_t f[AMI_HDLC_MAX_FRAME_BYTES];
    for (;;) {
        int n = ami_hdlc_conn_output(&l->hdlc, ami_io_now_ms(), f, sizeof f);
        if (n <= 0)
            return n;
        trace(l, true, AMI_DLMS_TRACE_FRAME, f, (size_t)n);
        int rc = wr(l, f, (size_t)n);
        if (rc)
            return fail(l, rc, "%s: write: %s", low_name(l), ami_strerror(rc));
    }
}

/* Traces the frames of received bytes (the engine has its own deframer). */
static void trace_rx_frames(ami_dlms_link *l, const uint8_t *p, size_t n)
{
    if (!l->o.trace)
        return;
    size_t pos = 0;
    for (;;) {
        size_t used = 0;
        ami_hdlc_frame f;
        int rc = ami_hdlc_deframer_next(&l->trace_dfr, p + pos, n - pos, &used, &f);
        pos += used;
        if (rc == AMI_OK) {
            /* the frame re-encoded (identical bytes: the decoder checked them) */
            uint8_t fb[AMI_HDLC_MAX_FRAME_BYTES];
            ami_wr w;
            ami_wr_init(&w, fb, sizeof fb);
            if (ami_hdlc_frame_encode(&w, &f) == AMI_OK)
                trace(l, false, AMI_DLMS_TRACE_FRAME, fb, w.len);
            continue;
        }
        if (rc == AMI_E_AGAIN && pos == n)
            return;
        if (rc != AMI_E_AGAIN && rc != AMI_OK && pos == n && used == 0)
            return;
    }
}

/* Waits for one HDLC event (not NONE) until `until`. */
static int hdlc_event(ami_dlms_link *l, uint64_t until, ami_hdlc_event *ev)
{
    for (;;) {
        uint64_t now = ami_io_now_ms();
        if (l->pending) {
            /* bytes left over from the previous read: rx[0..pending) kept at the front */
            size_t used;
            int rc = ami_hdlc_conn_recv(&l->hdlc, l->rx, l->pending, now, &used, ev);
            memmove(l->rx, l->rx + used, l->pending - used);
            l->pending -= used;
            if (rc == AMI_E_TOO_LARGE)
                return fail(l, rc, "HDLC: an APDU larger than %zu bytes", sizeof l->hdlc_rx);
            int frc = hdlc_flush(l);
            if (frc)
                return frc;
            if (ev->type != AMI_HDLC_EV_NONE)
                return AMI_OK;
            if (used == 0)
                l->pending = 0;
            continue;
        }
        ami_hdlc_conn_tick(&l->hdlc, now, ev);
        int frc = hdlc_flush(l);
        if (frc)
            return frc;
        if (ev->type != AMI_HDLC_EV_NONE)
            return AMI_OK;
        if (now >= until)
            return fail(l, AMI_E_TIMEOUT, "HDLC: no answer within %d ms", timeout_of(l));
        uint64_t dl = ami_hdlc_conn_deadline(&l->hdlc);
        uint64_t stop = dl < until ? dl : until;
        int wait = stop > now ? (int)(stop - now) : 0;
        int n = rd(l, l->rx, sizeof l->rx, wait);
        if (n < 0)
            return fail(l, n, "%s: read: %s", low_name(l), ami_strerror(n));
        if (n > 0) {
            trace_rx_frames(l, l->rx, (size_t)n);
            l->pending = (size_t)n;
        }
    }
}

static int hdlc_down_why(ami_dlms_link *l, const ami_hdlc_event *ev)
{
    return fail(l, ev->reason == AMI_HDLC_REASON_DM ? AMI_E_REFUSED : AMI_E_CLOSED,
                "HDLC: link down (%s)", ami_hdlc_reason_name(ev->reason));
}

static int hdlc_connect(ami_dlms_link *l)
{
    ami_hdlc_conn_config cc;
    memset(&cc, 0, sizeof cc);
    cc.role = AMI_HDLC_CLIENT;
    int rc = ami_hdlc_client_addr(&cc.client, l->o.client_sap);
    uint16_t lg = l->o.server_logical, ph = l->o.server_physical;
    uint8_t size = ph == 0 && lg < 0x80 ? 1 : (lg < 0x80 && ph < 0x80 ? 2 : 4);
    if (rc == AMI_OK)
        rc = ami_hdlc_server_addr(&cc.server, lg, ph, size);
    if (rc)
        return fail(l, AMI_E_CONFIG, "HDLC: bad address (client %u, server %u/%u)", l->o.client_sap,
                    lg, ph);
    ami_hdlc_params_default(&cc.params);
    if (l->o.hdlc_max_info) {
        cc.params.max_info_tx = l->o.hdlc_max_info;
        cc.params.max_info_rx = l->o.hdlc_max_info;
    }
    cc.rx_buf = l->hdlc_rx;
    cc.rx_cap = sizeof l->hdlc_rx;
    cc.tx_buf = l->hdlc_tx;
    cc.tx_cap = sizeof l->hdlc_tx;
    cc.response_timeout_ms = (uint32_t)(timeout_of(l) / 3 > 0 ? timeout_of(l) / 3 : 1);
    cc.max_retries = 2;
    rc = ami_hdlc_conn_init(&l->hdlc, &cc);
    if (rc)
        return fail(l, rc, "HDLC: configuration: %s", ami_strerror(rc));
    ami_hdlc_deframer_init(&l->trace_dfr, 0);
    uint64_t now = ami_io_now_ms();
    ami_hdlc_conn_connect(&l->hdlc, now);
    rc = hdlc_flush(l);
    if (rc)
        return rc;
    ami_hdlc_event ev;
    rc = hdlc_event(l, now + (uint64_t)timeout_of(l), &ev);
    if (rc == AMI_E_TIMEOUT)
        return fail(l, rc, "HDLC: no answer to SNRM within %d ms", timeout_of(l));
    if (rc)
        return rc;
    if (ev.type == AMI_HDLC_EV_DISCONNECTED)
        return hdlc_down_why(l, &ev);
    if (ev.type != AMI_HDLC_EV_CONNECTED)
        return fail(l, AMI_E_PROTOCOL, "HDLC: unexpected event before UA");
    return AMI_OK;
}

/* ---------------------------------------------------------------- IEC 62056-21 mode E */

static int iec21_sign_on(ami_dlms_link *l, const ami_url *u)
{
    ami_iec21_client_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.mode = AMI_IEC21_MODE_E;
    const char *addr = ami_url_param(u, "address");
    cfg.address = addr;
    const char *mb = ami_url_param(u, "baud");
    cfg.max_baud = mb ? (uint32_t)strtoul(mb, NULL, 10) : 0;
    ami_iec21 *s = &l->iec;
    int rc =
        ami_iec21_client_init(s, &cfg, l->iec_rx, sizeof l->iec_rx, l->iec_tx, sizeof l->iec_tx);
    if (rc == AMI_OK)
        rc = ami_iec21_start(s, ami_io_now_ms());
    if (rc)
        return fail(l, rc, "IEC21: %s", ami_strerror(rc));
    uint8_t buf[256];
    for (;;) {
        ami_iec21_action a;
        uint64_t now = ami_io_now_ms();
        rc = ami_iec21_poll(s, now, &a);
        if (rc < 0)
            return fail(l, rc, "IEC21: mode E sign-on: %s", ami_iec21_why(s));
        switch (a.kind) {
        case AMI_IEC21_ACT_SEND:
            trace(l, true, AMI_DLMS_TRACE_IEC21, a.data, a.len);
            rc = ami_serial_write(l->serial, a.data, a.len);
            if (rc == 0)
                rc = ami_serial_drain(l->serial);
            break;
        case AMI_IEC21_ACT_BAUD:
            rc = ami_serial_set(l->serial, a.baud,
                                a.format == AMI_IEC21_8N1 ? AMI_SERIAL_8N1 : AMI_SERIAL_7E1);
            break;
        case AMI_IEC21_ACT_WAIT: {
            int t = timeout_of(l);
            if (a.until != UINT64_MAX)
                t = a.until > now ? (int)(a.until - now < 600000 ? a.until - now : 600000) : 0;
            int n = ami_serial_read(l->serial, buf, sizeof buf, t);
            if (n > 0) {
                trace(l, false, AMI_DLMS_TRACE_IEC21, buf, (size_t)n);
                rc = ami_iec21_input(s, buf, (size_t)n, ami_io_now_ms());
            } else {
                rc = n;
            }
            break;
        }
        case AMI_IEC21_ACT_EVENT:
            if (a.event == AMI_IEC21_EV_HANDOVER)
                return AMI_OK;
            rc = AMI_OK;
            break;
        case AMI_IEC21_ACT_DONE:
            return fail(l, AMI_E_PROTOCOL, "IEC21: the meter did not hand over to HDLC (%s)",
                        ami_iec21_why(s));
        }
        if (rc < 0)
            return fail(l, rc, "serial: %s", ami_strerror(rc));
    }
}

/* ---------------------------------------------------------------- open / close */

static int open_lower(ami_dlms_link *l, const char *url)
{
    ami_url u;
    int rc = ami_url_parse(url, &u);
    if (rc)
        return fail(l, AMI_E_SYNTAX, "URL: %s", ami_strerror(rc));
    char port[16];
    snprintf(port, sizeof port, "%d", u.port > 0 ? u.port : 4059);
    bool is_tcp = strcmp(u.scheme, "tcp") == 0, is_udp = strcmp(u.scheme, "udp") == 0;
    bool is_htcp = strcmp(u.scheme, "hdlc+tcp") == 0, is_hser = strcmp(u.scheme, "hdlc") == 0;
    bool is_iec = strcmp(u.scheme, "iec21") == 0;
    if (is_tcp || is_htcp) {
        rc = ami_tcp_connect(u.host, port, timeout_of(l), &l->fd);
        if (rc)
            return fail(l, rc, "TCP: connect %s:%s: %s", u.host, port, ami_strerror(rc));
        l->lower = is_tcp ? LOW_WRAPPER_TCP : LOW_HDLC;
    } else if (is_udp) {
        rc = ami_udp_open(u.host, port, true, &l->fd, NULL);
        if (rc)
            return fail(l, rc, "UDP: %s:%s: %s", u.host, port, ami_strerror(rc));
        l->lower = LOW_WRAPPER_UDP;
    } else if (is_hser || is_iec) {
        ami_serial_opts so;
        memset(&so, 0, sizeof so);
        const char *b = ami_url_param(&u, "baud");
        so.baud = is_iec ? 300 : (b ? (uint32_t)strtoul(b, NULL, 10) : 9600);
        so.format = is_iec ? AMI_SERIAL_7E1 : AMI_SERIAL_8N1;
        rc = ami_serial_open(&l->serial, u.path, &so);
        if (rc)
            return fail(l, rc, "serial: open %s: %s", u.path, ami_strerror(rc));
        l->lower = LOW_HDLC;
        if (is_iec) {
            rc = iec21_sign_on(l, &u);
            if (rc)
                return rc;
        }
    } else {
        return fail(l, AMI_E_SYNTAX,
                    "URL: scheme \"%s\" is not one of tcp, udp, hdlc+tcp, hdlc, "
                    "iec21",
                    u.scheme);
    }
    ami_url_wipe(&u);
    if (l->lower == LOW_HDLC)
        return hdlc_connect(l);
    return ami_wrapper_stream_init(&l->ws, l->wbuf, sizeof l->wbuf);
}

int ami_dlms_link_open(ami_dlms_link **out, const char *url, const ami_dlms_link_opts *o, char *why,
                       size_t whycap)
{
    if (!out || !url || !o)
        return AMI_E_INVAL;
    *out = NULL;
    ami_dlms_link *l = calloc(1, sizeof *l);
    if (!l)
        return AMI_E_NOMEM;
    l->fd = -1;
    l->o = *o;
    if (!l->o.client_sap)
        l->o.client_sap = 16;
    if (!l->o.server_logical)
        l->o.server_logical = 1;
    ami_dlms_client_config *sc = &l->o.session;
    if (!sc->data_buf) {
        sc->data_buf = l->data;
        sc->data_cap = sizeof l->data;
    }
    if (!sc->arena) {
        ami_arena_init(&l->arena, l->arena_buf, sizeof l->arena_buf);
        sc->arena = &l->arena;
    }
    if (!sc->items) {
        sc->items = l->items;
        sc->max_items = ITEMS_MAX;
    }
    if (!sc->gbt_buf) {
        sc->gbt_buf = l->gbt;
        sc->gbt_cap = sizeof l->gbt;
    }
    int rc = ami_dlms_client_init(&l->cl, sc);
    if (rc)
        rc = fail(l, rc, "session: bad configuration (%s)", ami_strerror(rc));
    else
        rc = open_lower(l, url);
    if (rc) {
        if (why)
            snprintf(why, whycap, "%s", l->why);
        ami_dlms_link_close(l);
        return rc;
    }
    *out = l;
    return AMI_OK;
}

void ami_dlms_link_close(ami_dlms_link *l)
{
    if (!l)
        return;
    if (l->fd >= 0)
        close(l->fd);
    if (l->serial)
        ami_serial_close(l->serial);
    ami_wipe(l, sizeof *l);
    free(l);
}

const char *ami_dlms_link_why(const ami_dlms_link *l)
{
    return l && l->why[0] ? l->why : "no error";
}

const ami_dlms_client *ami_dlms_link_session(const ami_dlms_link *l)
{
    return &l->cl;
}

void ami_dlms_link_progress(ami_dlms_link *l, void (*fn)(void *user, uint32_t blocks, size_t bytes),
                            void *user)
{
    l->progress = fn;
    l->progress_user = user;
}

/* ---------------------------------------------------------------- APDU exchange */

static int send_apdu(ami_dlms_link *l, const uint8_t *apdu, size_t n)
{
    trace(l, true, AMI_DLMS_TRACE_APDU, apdu, n);
    if (l->lower == LOW_HDLC) {
        int rc = ami_hdlc_conn_send_apdu(&l->hdlc, apdu, n, ami_io_now_ms());
        if (rc)
            return fail(l, rc, "HDLC: send: %s", ami_strerror(rc));
        return hdlc_flush(l);
    }
    ami_wr w;
    uint8_t *msg = l->msg;
    ami_wr_init(&w, msg, sizeof l->msg);
    int rc = ami_wrapper_encode(&w, l->o.client_sap, l->o.server_logical, apdu, n);
    if (rc)
        return fail(l, rc, "wrapper: %s", ami_strerror(rc));
    trace(l, true, AMI_DLMS_TRACE_WRAPPER, msg, w.len);
    rc = wr(l, msg, w.len);
    if (rc)
        return fail(l, rc, "%s: write: %s", low_name(l), ami_strerror(rc));
    return AMI_OK;
}

/* Receives one APDU until `until`; *apdu points into the link's buffers. */
static void trace_wrapper(ami_dlms_link *l, const ami_wrapper_msg *m)
{
    if (!l->o.trace)
        return;
    ami_wr w;
    ami_wr_init(&w, l->msg, sizeof l->msg);
    if (ami_wrapper_encode(&w, m->hdr.src_wport, m->hdr.dst_wport, m->apdu, m->apdu_len) == AMI_OK)
        trace(l, false, AMI_DLMS_TRACE_WRAPPER, l->msg, w.len);
}

static int recv_apdu(ami_dlms_link *l, uint64_t until, const uint8_t **apdu, size_t *n)
{
    if (l->lower == LOW_HDLC) {
        ami_hdlc_event ev;
        for (;;) {
            int rc = hdlc_event(l, until, &ev);
            if (rc)
                return rc;
            if (ev.type == AMI_HDLC_EV_DISCONNECTED)
                return hdlc_down_why(l, &ev);
            if (ev.type == AMI_HDLC_EV_APDU) {
                /* the view lasts until the next engine call: copy */
                memcpy(l->out, ev.data, ev.len);
                *apdu = l->out;
                *n = ev.len;
                return AMI_OK;
            }
        }
    }
    for (;;) {
        uint64_t now = ami_io_now_ms();
        ami_wrapper_msg m;
        size_t used = 0;
        int rc = AMI_E_AGAIN;
        if (l->lower == LOW_WRAPPER_TCP) {
            rc = ami_wrapper_stream_next(&l->ws, l->rx, l->pending, &used, &m);
            if (rc == AMI_OK) {
                /* m.apdu may point into rx: take it before the unread bytes move down (several
                 * messages arrive in one read when the server streams GBT blocks). */
                trace_wrapper(l, &m);
                memcpy(l->out, m.apdu, m.apdu_len);
                m.apdu = l->out;
            }
            memmove(l->rx, l->rx + used, l->pending - used);
            l->pending -= used;
            if (rc != AMI_OK && rc != AMI_E_AGAIN)
                return fail(l, rc, "wrapper: broken stream (%s)", ami_strerror(rc));
        }
        if (rc == AMI_OK) {
            if (m.hdr.dst_wport != l->o.client_sap)
                continue;
            if (m.apdu != l->out)
                memcpy(l->out, m.apdu, m.apdu_len);
            *apdu = l->out;
            *n = m.apdu_len;
            return AMI_OK;
        }
        if (now >= until)
            return fail(l, AMI_E_TIMEOUT, "%s: no answer within %d ms", low_name(l), timeout_of(l));
        int got = rd(l, l->rx + l->pending, sizeof l->rx - l->pending, (int)(until - now));
        if (got < 0)
            return fail(l, got, "%s: read: %s", low_name(l), ami_strerror(got));
        if (got == 0)
            continue;
        if (l->lower == LOW_WRAPPER_UDP) {
            rc = ami_wrapper_datagram_decode(l->rx, (size_t)got, &m);
            if (rc)
                return fail(l, rc, "wrapper: bad datagram (%s)", ami_strerror(rc));
            trace_wrapper(l, &m);
            if (m.hdr.dst_wport != l->o.client_sap)
                continue;
            memcpy(l->out, m.apdu, m.apdu_len);
            *apdu = l->out;
            *n = m.apdu_len;
            return AMI_OK;
        }
        l->pending += (size_t)got;
    }
}

/* A refusal of the security layer: "security: <cause>" (ami/dlms_client_sec.h). */
static int sec_fail(ami_dlms_link *l, int rc)
{
    char d[160];
    if (ami_dlms_client_sec_describe(l->cl.cfg.sec, d, sizeof d) < 0)
        snprintf(d, sizeof d, "security: %s", ami_strerror(rc));
    return fail(l, rc, "%s", d);
}

/* Sends the APDU in `w` and runs the session until the service completes. */
static int exchange(ami_dlms_link *l, ami_wr *w, ami_dlms_result *res)
{
    uint8_t *next = l->next;
    int rc = send_apdu(l, w->p, w->len);
    uint32_t blocks = 0;
    int retries = 0;
    while (rc == AMI_OK) {
        const uint8_t *apdu = NULL;
        size_t n = 0;
        rc = recv_apdu(l, ami_io_now_ms() + (uint64_t)timeout_of(l), &apdu, &n);
        if (rc == AMI_E_TIMEOUT && retries < 2) {
            /* GBT: a lost block; ask the server to resume (Green Book 9.4.6.13). */
            ami_wr rw;
            ami_wr_init(&rw, next, sizeof l->next);
            if (ami_dlms_client_gbt_retry(&l->cl, &rw) == AMI_OK) {
                retries++;
                rc = send_apdu(l, next, rw.len);
                continue;
            }
        }
        if (rc)
            break;
        trace(l, false, AMI_DLMS_TRACE_APDU, apdu, n);
        ami_wr nw;
        ami_wr_init(&nw, next, sizeof l->next);
        rc = ami_dlms_client_input(&l->cl, apdu, n, &nw, res);
        if (rc == AMI_OK)
            return AMI_OK;
        if (rc != AMI_E_AGAIN) {
            if (res->layer == AMI_DLMS_LAYER_SECURITY && l->cl.cfg.sec)
                return sec_fail(l, rc);
            return fail(l, rc, "xDLMS: bad response (%s)", ami_strerror(rc));
        }
        rc = AMI_OK;
        if (nw.len) {
            blocks++;
            if (l->progress)
                l->progress(l->progress_user, blocks, l->cl.have);
            rc = send_apdu(l, next, nw.len);
        }
    }
    ami_dlms_client_reset(&l->cl);
    return rc;
}

static int start(ami_dlms_link *l, int rc, ami_wr *w, ami_dlms_result *res)
{
    if (rc && l->cl.cfg.sec &&
        ami_dlms_client_sec_refusal(l->cl.cfg.sec) == AMI_DLMS_SEC_REFUSAL_IC_EXHAUSTED)
        return sec_fail(l, rc);
    if (rc)
        return fail(l, rc, "xDLMS: cannot build the request (%s)", ami_strerror(rc));
    return exchange(l, w, res);
}

int ami_dlms_link_associate(ami_dlms_link *l, ami_dlms_result *res)
{
    ami_wr w;
    ami_wr_init(&w, l->req, sizeof l->req);
    int rc = start(l, ami_dlms_client_associate(&l->cl, &w), &w, res);
    if (rc == AMI_OK && res->outcome != AMI_DLMS_SUCCESS) {
        char d[160];
        ami_dlms_result_describe(res, d, sizeof d);
        fail(l, AMI_E_REFUSED, "%s", d);
    }
    return rc;
}

int ami_dlms_link_get(ami_dlms_link *l, const ami_attr_sel *attrs, uint32_t n, ami_dlms_result *res)
{
    ami_wr w;
    ami_wr_init(&w, l->req, sizeof l->req);
    return start(l, ami_dlms_client_get(&l->cl, attrs, n, &w), &w, res);
}

int ami_dlms_link_set(ami_dlms_link *l, const ami_attr_sel *attr, ami_view value,
                      ami_dlms_result *res)
{
    ami_wr w;
    ami_wr_init(&w, l->req, sizeof l->req);
    return start(l, ami_dlms_client_set(&l->cl, attr, value, &w), &w, res);
}

int ami_dlms_link_action(ami_dlms_link *l, const ami_cosem_desc *m, const ami_view *params,
                         ami_dlms_result *res)
{
    ami_wr w;
    ami_wr_init(&w, l->req, sizeof l->req);
    return start(l, ami_dlms_client_action(&l->cl, m, params, &w), &w, res);
}

int ami_dlms_link_read(ami_dlms_link *l, const ami_sn_access *items, uint32_t n,
                       ami_dlms_result *res)
{
    ami_wr w;
    ami_wr_init(&w, l->req, sizeof l->req);
    return start(l, ami_dlms_client_read(&l->cl, items, n, &w), &w, res);
}

int ami_dlms_link_write(ami_dlms_link *l, const ami_sn_access *item, ami_view value,
                        ami_dlms_result *res)
{
    ami_wr w;
    ami_wr_init(&w, l->req, sizeof l->req);
    return start(l, ami_dlms_client_write(&l->cl, item, value, &w), &w, res);
}

int ami_dlms_link_release(ami_dlms_link *l)
{
    int first = AMI_OK;
    if (ami_dlms_client_state_get(&l->cl) == AMI_DLMS_CLIENT_READY) {
        uint8_t b[256]; /* an RLRQ with a ciphered InitiateRequest */
        ami_wr w;
        ami_wr_init(&w, b, sizeof b);
        ami_dlms_result res;
        first = start(l, ami_dlms_client_release(&l->cl, &w), &w, &res);
    }
    if (l->lower == LOW_HDLC && ami_hdlc_conn_state(&l->hdlc) == AMI_HDLC_ST_CONNECTED) {
        ami_hdlc_conn_disconnect(&l->hdlc, ami_io_now_ms());
        int rc = hdlc_flush(l);
        ami_hdlc_event ev = {0};
        uint64_t until = ami_io_now_ms() + (uint64_t)timeout_of(l);
        while (rc == AMI_OK && ami_hdlc_conn_state(&l->hdlc) != AMI_HDLC_ST_DISCONNECTED)
            rc = hdlc_event(l, until, &ev);
        if (first == AMI_OK)
            first = rc;
    }
    return first;
}
