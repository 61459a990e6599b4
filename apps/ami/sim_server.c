/*
 * `ami sim` socket loop (see sim_server.h). One association engine per TCP connection; the
 * protocol cores stay sans-I/O: this file only moves bytes and reads the monotonic clock.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/tcp.h"
#include "sim_server.h"

#define SIM_MAX_CONN   32
#define SIM_PDU        2045 /* largest response (HDLC tx buffer less the LLC header) */
#define SIM_BLOCK      16384
#define SIM_SCRATCH    16384
#define SIM_WRITE_MS   5000
#define SIM_PEND_MAX   (2 * AMI_HDLC_MAX_FRAME_BYTES)
#define SIM_SERVER_SAP 1 /* the management logical device */

typedef struct sim_conn {
    int fd;
    bool hdlc;
    /* wrapper */
    ami_wrapper_stream ws;
    uint8_t wbuf[AMI_WRAPPER_HEADER_LEN + 4096];
    /* HDLC: bytes kept until the first frame tells the server address the client uses */
    bool hdlc_ready;
    ami_hdlc_conn hc;
    uint8_t pend[SIM_PEND_MAX];
    size_t pend_len;
    uint8_t rx[2048], tx[2048];
    /* association */
    bool has_assoc;
    uint16_t sap;
    ami_dlms_assoc assoc;
    uint8_t block[SIM_BLOCK];
    uint8_t scratch[SIM_SCRATCH];
} sim_conn;

static void conn_close(sim_conn **slot, FILE *log, int verbose)
{
    sim_conn *c = *slot;
    if (verbose && c->has_assoc) {
        const ami_dlms_assoc_stats *st = ami_dlms_assoc_stats_get(&c->assoc);
        fprintf(log, "ami sim: %s connection closed: %llu requests, %llu malformed, %llu refused\n",
                c->hdlc ? "hdlc" : "wrapper", (unsigned long long)st->requests,
                (unsigned long long)st->malformed, (unsigned long long)st->rejected);
    }
    close(c->fd);
    free(c);
    *slot = NULL;
}

static void assoc_for(sim_conn *c, sim_meter *m, uint16_t sap)
{
    if (c->has_assoc && c->sap == sap)
        return;
    ami_dlms_assoc_mem mem = {c->block, sizeof c->block, c->scratch, sizeof c->scratch};
    (void)ami_dlms_assoc_init(&c->assoc, &m->server, sap, &mem);
    c->has_assoc = true;
    c->sap = sap;
}

/* ---------------------------------------------------------------- wrapper */

/* Returns false when the connection must close. */
static bool wrapper_input(sim_conn *c, sim_meter *m, const uint8_t *in, size_t n)
{
    static uint8_t out[SIM_PDU], msg[AMI_WRAPPER_HEADER_LEN + SIM_PDU];
    size_t off = 0;
    for (;;) {
        size_t used = 0;
        ami_wrapper_msg w;
        int rc = ami_wrapper_stream_next(&c->ws, in + off, n - off, &used, &w);
        off += used;
        if (rc == AMI_E_AGAIN)
            return true;
        if (rc != AMI_OK)
            return false; /* bad version or oversized message: the stream cannot resync */
        if (w.hdr.dst_wport != SIM_SERVER_SAP)
            continue; /* no such logical device: dropped, as a meter does */
        assoc_for(c, m, w.hdr.src_wport);
        int r = ami_dlms_assoc_handle(&c->assoc, w.apdu, w.apdu_len, out, sizeof out);
        if (r <= 0)
            continue;
        ami_wr wr;
        ami_wr_init(&wr, msg, sizeof msg);
        if (ami_wrapper_encode(&wr, SIM_SERVER_SAP, w.hdr.src_wport, out, (size_t)r) != AMI_OK)
            continue;
        if (ami_io_write(c->fd, msg, wr.len, SIM_WRITE_MS) != AMI_OK)
            return false;
    }
}

/* ---------------------------------------------------------------- HDLC */

static bool hdlc_flush(sim_conn *c, uint64_t now)
{
    uint8_t frame[AMI_HDLC_MAX_FRAME_BYTES];
    int n;
    while ((n = ami_hdlc_conn_output(&c->hc, now, frame, sizeof frame)) > 0)
        if (ami_io_write(c->fd, frame, (size_t)n, SIM_WRITE_MS) != AMI_OK)
            return false;
    return true;
}

static void hdlc_event(sim_conn *c, sim_meter *m, const ami_hdlc_event *ev, uint64_t now)
{
    static uint8_t out[SIM_PDU];
    switch (ev->type) {
    case AMI_HDLC_EV_CONNECTED:
        /* A new link is a new transport: a new association for the client's address. */
        c->has_assoc = false;
        assoc_for(c, m, c->hc.cfg.client.upper);
        break;
    case AMI_HDLC_EV_APDU: {
        if (!c->has_assoc)
            assoc_for(c, m, c->hc.cfg.client.upper);
        int r = ami_dlms_assoc_handle(&c->assoc, ev->data, ev->len, out, sizeof out);
        if (r > 0)
            (void)ami_hdlc_conn_send_apdu(&c->hc, out, (size_t)r, now);
        break;
    }
    case AMI_HDLC_EV_DISCONNECTED:
        if (c->has_assoc)
            ami_dlms_assoc_reset(&c->assoc);
        break;
    default:
        break;
    }
}

/* Initialises the HDLC engine once the first frame addressed to logical device 1 arrived,
 * answering with the address width the client used. */
static bool hdlc_start(sim_conn *c)
{
    size_t i = 0;
    while (i < c->pend_len) {
        if (c->pend[i] != AMI_HDLC_FLAG) {
            i++;
            continue;
        }
        ami_hdlc_frame f;
        int rc = ami_hdlc_frame_decode(c->pend + i, c->pend_len - i, 0, &f);
        if (rc == AMI_E_TRUNCATED)
            break;
        if (rc < 0 || f.dest.upper != SIM_SERVER_SAP) {
            i++;
            continue;
        }
        ami_hdlc_conn_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.role = AMI_HDLC_SERVER;
        (void)ami_hdlc_client_addr(&cfg.client, AMI_HDLC_ADDR_CLIENT_PUBLIC);
        cfg.server = f.dest;
        ami_hdlc_params_default(&cfg.params);
        cfg.params.max_info_tx = cfg.params.max_info_rx = 1024;
        cfg.rx_buf = c->rx;
        cfg.rx_cap = sizeof c->rx;
        cfg.tx_buf = c->tx;
        cfg.tx_cap = sizeof c->tx;
        if (ami_hdlc_conn_init(&c->hc, &cfg) != AMI_OK) {
            i++;
            continue;
        }
        memmove(c->pend, c->pend + i, c->pend_len - i);
        c->pend_len -= i;
        c->hdlc_ready = true;
        return true;
    }
    /* Keep the unparsed tail, bounded. */
    if (i) {
        memmove(c->pend, c->pend + i, c->pend_len - i);
        c->pend_len -= i;
    }
    return false;
}

static bool hdlc_feed(sim_conn *c, sim_meter *m, const uint8_t *in, size_t n, uint64_t now)
{
    size_t off = 0;
    while (off < n) {
        size_t used = 0;
        ami_hdlc_event ev;
        (void)ami_hdlc_conn_recv(&c->hc, in + off, n - off, now, &used, &ev);
        off += used;
        hdlc_event(c, m, &ev, now);
        if (!hdlc_flush(c, now))
            return false;
        if (!used && ev.type == AMI_HDLC_EV_NONE)
            break;
    }
    return true;
}

static bool hdlc_input(sim_conn *c, sim_meter *m, const uint8_t *in, size_t n, uint64_t now)
{
    if (c->hdlc_ready)
        return hdlc_feed(c, m, in, n, now);
    if (n > sizeof c->pend - c->pend_len) {
        c->pend_len = 0; /* garbage without a frame for us: start over */
        if (n > sizeof c->pend)
            return true;
    }
    memcpy(c->pend + c->pend_len, in, n);
    c->pend_len += n;
    if (!hdlc_start(c))
        return true;
    size_t len = c->pend_len;
    c->pend_len = 0;
    return hdlc_feed(c, m, c->pend, len, now);
}

/* ---------------------------------------------------------------- loop */

static int open_listener(const char *host, const char *port, int *fd, uint16_t *bound)
{
    *fd = -1;
    if (!port)
        return AMI_OK;
    return ami_tcp_listen(host, port, 16, fd, bound);
}

int sim_server_run(sim_meter *m, const sim_server_opts *o, volatile sig_atomic_t *stop, FILE *log,
                   const char **what)
{
    int lw, lh;
    uint16_t pw = 0, ph = 0;
    int rc = open_listener(o->host, o->wrapper_port, &lw, &pw);
    if (rc != AMI_OK) {
        *what = "wrapper port";
        return rc;
    }
    rc = open_listener(o->host, o->hdlc_port, &lh, &ph);
    if (rc != AMI_OK) {
        if (lw >= 0)
            close(lw);
        *what = "hdlc port";
        return rc;
    }
    fprintf(log, "ami sim: listening on %s: wrapper %s%u, hdlc %s%u (meter %s)\n", o->host,
            lw >= 0 ? "" : "off ", pw, lh >= 0 ? "" : "off ", ph, m->serial);
    fflush(log);

    sim_conn *conns[SIM_MAX_CONN] = {0};
    struct pollfd pfd[2 + SIM_MAX_CONN];
    static uint8_t in[4096];
    while (!*stop) {
        size_t np = 0;
        pfd[np++] = (struct pollfd){.fd = lw, .events = POLLIN};
        pfd[np++] = (struct pollfd){.fd = lh, .events = POLLIN};
        uint64_t now = ami_io_now_ms(), deadline = UINT64_MAX;
        for (size_t i = 0; i < SIM_MAX_CONN; i++) {
            pfd[np++] = (struct pollfd){.fd = conns[i] ? conns[i]->fd : -1, .events = POLLIN};
            if (conns[i] && conns[i]->hdlc && conns[i]->hdlc_ready) {
                uint64_t d = ami_hdlc_conn_deadline(&conns[i]->hc);
                if (d < deadline)
                    deadline = d;
            }
        }
        int timeout = 1000;
        if (deadline != UINT64_MAX)
            timeout = deadline <= now ? 0 : (deadline - now < 1000 ? (int)(deadline - now) : 1000);
        int n = poll(pfd, np, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        now = ami_io_now_ms();
        for (int l = 0; l < 2; l++) {
            if (!(pfd[l].revents & POLLIN))
                continue;
            int fd;
            while (ami_tcp_accept(pfd[l].fd, &fd) == AMI_OK) {
                size_t slot = 0;
                while (slot < SIM_MAX_CONN && conns[slot])
                    slot++;
                sim_conn *c = slot < SIM_MAX_CONN ? calloc(1, sizeof *c) : NULL;
                if (!c) {
                    close(fd); /* full: refuse */
                    continue;
                }
                c->fd = fd;
                c->hdlc = l == 1;
                (void)ami_wrapper_stream_init(&c->ws, c->wbuf, sizeof c->wbuf);
                conns[slot] = c;
                if (o->verbose)
                    fprintf(log, "ami sim: %s connection accepted\n", c->hdlc ? "hdlc" : "wrapper");
            }
        }
        for (size_t i = 0; i < SIM_MAX_CONN; i++) {
            sim_conn *c = conns[i];
            if (!c)
                continue;
            bool ok = true;
            if (pfd[2 + i].revents & (POLLIN | POLLHUP | POLLERR)) {
                int r = ami_io_read(c->fd, in, sizeof in);
                if (r > 0)
                    ok = c->hdlc ? hdlc_input(c, m, in, (size_t)r, now)
                                 : wrapper_input(c, m, in, (size_t)r);
                else if (r != AMI_E_AGAIN)
                    ok = false;
            }
            if (ok && c->hdlc && c->hdlc_ready) {
                ami_hdlc_event ev;
                (void)ami_hdlc_conn_tick(&c->hc, now, &ev);
                hdlc_event(c, m, &ev, now);
                ok = hdlc_flush(c, now);
            }
            if (!ok)
                conn_close(&conns[i], log, o->verbose);
        }
    }
    for (size_t i = 0; i < SIM_MAX_CONN; i++)
        if (conns[i])
            conn_close(&conns[i], log, o->verbose);
    if (lw >= 0)
        close(lw);
    if (lh >= 0)
        close(lh);
    return AMI_OK;
}
