/*
 * The DLMS side of `ami sim` on libuv (see sim_server.h): TCP wrapper and HDLC-over-TCP
 * connections, the UDP wrapper, and where the faults act on them. One association engine per
 * connection; the protocol cores stay sans-I/O: this file moves bytes and gives them the loop's
 * monotonic time. Connection memory (association, block and scratch buffers, HDLC state) is
 * allocated on accept and freed on close, so an idle meter costs only its sim_node.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "sim_server.h"

#define SIM_PDU         2045 /* largest response (HDLC tx buffer less the LLC header) */
#define SIM_BLOCK       16384
#define SIM_SCRATCH     16384
#define SIM_CIPHER      (2 * 1024 + 64) /* ciphering buffer of a secured SAP: 2 * max PDU + 64 */
#define SIM_PEND_MAX    (2 * AMI_HDLC_MAX_FRAME_BYTES)
#define SIM_SERVER_SAP  1            /* the management logical device */
#define SIM_MAX_CONN    32           /* per meter */
#define SIM_WQUEUE_MAX  (256 * 1024) /* unsent bytes before a slow reader is dropped */
#define SIM_DELAYQ_MAX  8192         /* input held back by a delay fault */
#define SIM_UDP_IDLE_MS 120000       /* a UDP association without traffic is freed */
#define SIM_READ_BUF    4096

/* The association of one transport (a TCP connection or a meter's UDP peer). */
typedef struct sim_assoc_slot {
    bool has_assoc;
    uint16_t sap;
    ami_dlms_assoc assoc;
    uint8_t block[SIM_BLOCK];
    uint8_t scratch[SIM_SCRATCH];
    uint8_t cipher[SIM_CIPHER];
    /* general block transfer: request reassembly, whole response (block + headers) */
    uint8_t gbt_rx[4096];
    uint8_t gbt_tx[SIM_BLOCK + 64];
} sim_assoc_slot;

typedef struct sim_conn {
    uv_tcp_t tcp;
    uv_timer_t timer; /* HDLC deadline */
    uv_timer_t delay; /* delay fault: held-back input */
    sim_node *node;
    struct sim_conn *next, **pprev;
    int handles; /* handles still to close before free */
    bool hdlc, closing;
    /* wrapper */
    ami_wrapper_stream ws;
    uint8_t wbuf[AMI_WRAPPER_HEADER_LEN + 4096];
    /* HDLC: bytes kept until the first frame tells the server address the client uses */
    bool hdlc_ready;
    ami_hdlc_conn hc;
    uint8_t pend[SIM_PEND_MAX];
    size_t pend_len;
    uint8_t rx[2048], tx[2048];
    /* delay fault */
    uint8_t delayq[SIM_DELAYQ_MAX];
    size_t delayq_len;
    sim_assoc_slot as;
} sim_conn;

typedef struct sim_udp_held sim_udp_held;

typedef struct sim_udp_sess {
    uv_timer_t idle;
    sim_node *node;
    struct sockaddr_storage peer;
    sim_udp_held *held; /* delay fault: datagrams held back */
    size_t held_bytes;
    sim_assoc_slot as;
} sim_udp_sess;

/* A datagram held back by the delay fault (each one its own delay: they may overtake). */
struct sim_udp_held {
    uv_timer_t timer;
    sim_udp_sess *sess;
    sim_udp_held *next, **pprev;
    struct sockaddr_in peer;
    size_t len;
    uint8_t data[];
};

typedef struct sim_wreq {
    uv_write_t req;
    uint8_t data[];
} sim_wreq;

static uint8_t read_buf[SIM_READ_BUF];
static uint8_t udp_buf[AMI_WRAPPER_HEADER_LEN + 4096];

static sim_fleet *fleet_of(const sim_node *n)
{
    return n->fleet;
}

/* stream: GBT blocks the transport sends in a row (HDLC in normal response mode: 1). */
static void assoc_for(sim_assoc_slot *s, sim_meter *m, uint16_t sap, uint8_t stream)
{
    if (s->has_assoc && s->sap == sap)
        return;
    ami_dlms_assoc_mem mem = {s->block,          sizeof s->block, s->scratch,
                              sizeof s->scratch, s->cipher,       sizeof s->cipher};
    if (s->has_assoc)
        ami_dlms_assoc_reset(&s->assoc); /* wipes a dedicated key */
    if (sap == SIM_SAP_EC)
        (void)sim_ec_key(m); /* the meter's EC key pair, made at the first use */
    (void)ami_dlms_assoc_init(&s->assoc, &m->server, sap, &mem);
    (void)ami_dlms_assoc_set_gbt(&s->assoc, s->gbt_rx, sizeof s->gbt_rx, s->gbt_tx,
                                 sizeof s->gbt_tx, stream);
    s->has_assoc = true;
    s->sap = sap;
}

/* ---------------------------------------------------------------- connection lifetime */

static void conn_handle_closed(uv_handle_t *h)
{
    sim_conn *c = h->data;
    if (--c->handles == 0)
        free(c);
}

static void conn_close(sim_conn *c, bool reset)
{
    if (c->closing)
        return;
    c->closing = true;
    sim_node *n = c->node;
    sim_fleet *f = fleet_of(n);
    if (f->o.verbose && c->as.has_assoc) {
        const ami_dlms_assoc_stats *st = ami_dlms_assoc_stats_get(&c->as.assoc);
        fprintf(f->log,
                "ami sim: meter %u: %s connection closed: %llu requests, %llu malformed, %llu "
                "refused\n",
                n->index, c->hdlc ? "hdlc" : "wrapper", (unsigned long long)st->requests,
                (unsigned long long)st->malformed, (unsigned long long)st->rejected);
    }
    /* Wipes a dedicated key and frees the association's cipher contexts. */
    if (c->as.has_assoc)
        ami_dlms_assoc_reset(&c->as.assoc);
    c->as.has_assoc = false;
    *c->pprev = c->next;
    if (c->next)
        c->next->pprev = c->pprev;
    n->nconn--;
    uv_timer_stop(&c->timer);
    uv_timer_stop(&c->delay);
    uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
    uv_close((uv_handle_t *)&c->delay, conn_handle_closed);
    if (reset && uv_tcp_close_reset(&c->tcp, conn_handle_closed) == 0)
        return;
    uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
}

static void write_done(uv_write_t *req, int status)
{
    (void)status;
    free(req->data);
}

/* Queues bytes to the peer, corrupting one byte when the corrupt fault hits. Returns false
 * when the connection must close (write failed, peer does not read). */
static bool conn_write(sim_conn *c, const uint8_t *p, size_t n)
{
    if (c->closing)
        return false;
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > SIM_WQUEUE_MAX)
        return false;
    sim_wreq *w = malloc(sizeof *w + n);
    if (!w)
        return false;
    memcpy(w->data, p, n);
    sim_fault *ft = &c->node->fault;
    if (ft->corrupt_ppm && n && sim_fault_hit(ft, ft->corrupt_ppm))
        w->data[sim_fault_draw(ft) % n] ^= (uint8_t)(1u + sim_fault_draw(ft) % 255u);
    w->req.data = w;
    uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)n);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, write_done) != 0) {
        free(w);
        return false;
    }
    return true;
}

/* The drop fault: per request, the connection closes instead of answering. */
static bool drop_now(sim_node *n)
{
    return n->fault.drop_ppm && sim_fault_hit(&n->fault, n->fault.drop_ppm);
}

/* ---------------------------------------------------------------- wrapper */

/* Returns false when the connection must close. */
static bool wrapper_input(sim_conn *c, const uint8_t *in, size_t n)
{
    static uint8_t out[SIM_PDU], msg[AMI_WRAPPER_HEADER_LEN + SIM_PDU];
    sim_meter *m = &c->node->meter;
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
        if (drop_now(c->node))
            return false;
        assoc_for(&c->as, m, w.hdr.src_wport, 0);
        int r = ami_dlms_assoc_handle(&c->as.assoc, w.apdu, w.apdu_len, out, sizeof out);
        /* GBT streaming: the rest of the window comes from ami_dlms_assoc_next. */
        for (; r > 0; r = ami_dlms_assoc_next(&c->as.assoc, out, sizeof out)) {
            ami_wr wr;
            ami_wr_init(&wr, msg, sizeof msg);
            if (ami_wrapper_encode(&wr, SIM_SERVER_SAP, w.hdr.src_wport, out, (size_t)r) != AMI_OK)
                break;
            if (!conn_write(c, msg, wr.len))
                return false;
        }
    }
}

/* ---------------------------------------------------------------- HDLC */

static bool hdlc_flush(sim_conn *c, uint64_t now)
{
    uint8_t frame[AMI_HDLC_MAX_FRAME_BYTES];
    int n;
    while ((n = ami_hdlc_conn_output(&c->hc, now, frame, sizeof frame)) > 0)
        if (!conn_write(c, frame, (size_t)n))
            return false;
    return true;
}

/* Returns false when the connection must close (drop fault). */
static bool hdlc_event(sim_conn *c, const ami_hdlc_event *ev, uint64_t now)
{
    static uint8_t out[SIM_PDU];
    sim_meter *m = &c->node->meter;
    switch (ev->type) {
    case AMI_HDLC_EV_CONNECTED:
        /* A new link is a new transport: a new association for the client's address. */
        c->as.has_assoc = false;
        assoc_for(&c->as, m, c->hc.cfg.client.upper, 1);
        break;
    case AMI_HDLC_EV_APDU: {
        if (drop_now(c->node))
            return false;
        if (!c->as.has_assoc)
            assoc_for(&c->as, m, c->hc.cfg.client.upper, 1);
        int r = ami_dlms_assoc_handle(&c->as.assoc, ev->data, ev->len, out, sizeof out);
        for (; r > 0; r = ami_dlms_assoc_next(&c->as.assoc, out, sizeof out))
            (void)ami_hdlc_conn_send_apdu(&c->hc, out, (size_t)r, now);
        break;
    }
    case AMI_HDLC_EV_DISCONNECTED:
        if (c->as.has_assoc)
            ami_dlms_assoc_reset(&c->as.assoc);
        break;
    default:
        break;
    }
    return true;
}

bool sim_hdlc_start(ami_hdlc_conn *hc, uint8_t *pend, size_t *pend_len, uint8_t *rx, size_t rx_cap,
                    uint8_t *tx, size_t tx_cap)
{
    size_t i = 0;
    while (i < *pend_len) {
        if (pend[i] != AMI_HDLC_FLAG) {
            i++;
            continue;
        }
        ami_hdlc_frame f;
        int rc = ami_hdlc_frame_decode(pend + i, *pend_len - i, 0, &f);
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
        cfg.rx_buf = rx;
        cfg.rx_cap = rx_cap;
        cfg.tx_buf = tx;
        cfg.tx_cap = tx_cap;
        if (ami_hdlc_conn_init(hc, &cfg) != AMI_OK) {
            i++;
            continue;
        }
        memmove(pend, pend + i, *pend_len - i);
        *pend_len -= i;
        return true;
    }
    /* Keep the unparsed tail, bounded. */
    memmove(pend, pend + i, *pend_len - i);
    *pend_len -= i;
    return false;
}

static bool hdlc_start(sim_conn *c)
{
    c->hdlc_ready =
        sim_hdlc_start(&c->hc, c->pend, &c->pend_len, c->rx, sizeof c->rx, c->tx, sizeof c->tx);
    return c->hdlc_ready;
}

static void hdlc_timer_cb(uv_timer_t *t);

/* Re-arms the HDLC timer for the engine's next deadline. */
static void hdlc_arm(sim_conn *c, uint64_t now)
{
    if (c->closing || !c->hdlc_ready)
        return;
    uint64_t d = ami_hdlc_conn_deadline(&c->hc);
    if (d == UINT64_MAX) {
        uv_timer_stop(&c->timer);
        return;
    }
    uv_timer_start(&c->timer, hdlc_timer_cb, d > now ? d - now : 0, 0);
}

static bool hdlc_feed(sim_conn *c, const uint8_t *in, size_t n, uint64_t now)
{
    size_t off = 0;
    while (off < n) {
        size_t used = 0;
        ami_hdlc_event ev;
        (void)ami_hdlc_conn_recv(&c->hc, in + off, n - off, now, &used, &ev);
        off += used;
        if (!hdlc_event(c, &ev, now) || !hdlc_flush(c, now))
            return false;
        if (!used && ev.type == AMI_HDLC_EV_NONE)
            break;
    }
    return true;
}

static bool hdlc_input(sim_conn *c, const uint8_t *in, size_t n, uint64_t now)
{
    if (c->hdlc_ready)
        return hdlc_feed(c, in, n, now);
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
    return hdlc_feed(c, c->pend, len, now);
}

static void hdlc_timer_cb(uv_timer_t *t)
{
    sim_conn *c = t->data;
    uint64_t now = uv_now(t->loop);
    ami_hdlc_event ev;
    (void)ami_hdlc_conn_tick(&c->hc, now, &ev);
    if (!hdlc_event(c, &ev, now) || !hdlc_flush(c, now)) {
        conn_close(c, false);
        return;
    }
    hdlc_arm(c, now);
}

/* ---------------------------------------------------------------- reading */

static bool conn_process(sim_conn *c, const uint8_t *in, size_t n)
{
    uint64_t now = uv_now(c->tcp.loop);
    bool ok = c->hdlc ? hdlc_input(c, in, n, now) : wrapper_input(c, in, n);
    if (ok && c->hdlc)
        hdlc_arm(c, now);
    return ok;
}

static void delay_cb(uv_timer_t *t)
{
    sim_conn *c = t->data;
    size_t len = c->delayq_len;
    c->delayq_len = 0;
    /* conn_process may queue more input into delayq only from read_cb, never from here. */
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) {
        conn_close(c, false);
        return;
    }
    memcpy(copy, c->delayq, len);
    bool ok = conn_process(c, copy, len);
    free(copy);
    if (!ok)
        conn_close(c, false);
}

static uint64_t delay_of(sim_fault *ft)
{
    uint64_t d = ft->delay_ms;
    if (ft->jitter_ms) {
        int64_t j = (int64_t)(sim_fault_draw(ft) % (2u * ft->jitter_ms + 1u)) - ft->jitter_ms;
        d = (int64_t)d + j < 0 ? 0 : (uint64_t)((int64_t)d + j);
    }
    return d;
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    *buf = uv_buf_init((char *)read_buf, sizeof read_buf);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    sim_conn *c = s->data;
    if (nread == 0 || c->closing)
        return;
    if (nread < 0) {
        conn_close(c, false);
        return;
    }
    sim_fault *ft = &c->node->fault;
    if (ft->flags & SIM_FAULT_STOP)
        return; /* swallowed: the meter does not answer */
    const uint8_t *in = (const uint8_t *)buf->base;
    size_t n = (size_t)nread;
    if (ft->delay_ms || ft->jitter_ms || c->delayq_len) {
        if (n > sizeof c->delayq - c->delayq_len) {
            conn_close(c, false); /* the client floods a slow meter */
            return;
        }
        memcpy(c->delayq + c->delayq_len, in, n);
        if (!c->delayq_len)
            uv_timer_start(&c->delay, delay_cb, delay_of(ft), 0);
        c->delayq_len += n;
        return;
    }
    if (!conn_process(c, in, n))
        conn_close(c, false);
}

/* ---------------------------------------------------------------- accepting */

static bool in_fleet(sim_fleet *f, const struct sockaddr_storage *ss, sim_node **node)
{
    if (ss->ss_family != AF_INET)
        return false;
    uint32_t a = ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr);
    *node = sim_fleet_node_at(f, a);
    return *node != NULL;
}

void sim_server_on_connection(uv_stream_t *server, int status)
{
    if (status < 0)
        return;
    sim_node *n = server->data; /* NULL: a shared wildcard listener */
    sim_fleet *f = n ? n->fleet : (sim_fleet *)server->loop->data;
    bool hdlc = n ? server == (uv_stream_t *)&n->hdlc : server == (uv_stream_t *)&f->shdlc;
    sim_conn *c = calloc(1, sizeof *c);
    if (!c) {
        /* Take the connection off the backlog and close it. */
        uv_tcp_t *t = malloc(sizeof *t);
        if (t && uv_tcp_init(server->loop, t) == 0) {
            t->data = t;
            (void)uv_accept(server, (uv_stream_t *)t);
            uv_close((uv_handle_t *)t, (uv_close_cb)free);
        } else {
            free(t);
        }
        return;
    }
    uv_tcp_init(server->loop, &c->tcp);
    uv_timer_init(server->loop, &c->timer);
    uv_timer_init(server->loop, &c->delay);
    c->tcp.data = c->timer.data = c->delay.data = c;
    c->handles = 3;
    c->hdlc = hdlc;
    c->pprev = &c->next; /* unlinked until the node is known */
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        c->closing = true;
        uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
        uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
        uv_close((uv_handle_t *)&c->delay, conn_handle_closed);
        return;
    }
    f->accepted++;
    if (!n) {
        /* Shared listener: the local address the client dialled names the meter. */
        struct sockaddr_storage ss;
        int len = sizeof ss;
        if (uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&ss, &len) != 0 ||
            !in_fleet(f, &ss, &n)) {
            f->dropped_foreign++;
            c->closing = true;
            uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
            uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
            uv_close((uv_handle_t *)&c->delay, conn_handle_closed);
            return;
        }
    }
    c->node = n;
    c->next = n->conns;
    if (n->conns)
        n->conns->pprev = &c->next;
    n->conns = c;
    c->pprev = &n->conns;
    n->nconn++;
    if (sim_fault_refusing(n) || n->nconn > SIM_MAX_CONN) {
        conn_close(c, true);
        return;
    }
    (void)uv_tcp_nodelay(&c->tcp, 1);
    (void)ami_wrapper_stream_init(&c->ws, c->wbuf, sizeof c->wbuf);
    if (f->o.verbose)
        fprintf(f->log, "ami sim: meter %u: %s connection accepted\n", n->index,
                hdlc ? "hdlc" : "wrapper");
    if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) != 0)
        conn_close(c, false);
}

/* ---------------------------------------------------------------- UDP */

static void udp_sess_closed(uv_handle_t *h)
{
    free(h->data);
}

static void udp_held_closed(uv_handle_t *h)
{
    free(h->data);
}

static void udp_held_unlink(sim_udp_held *d)
{
    *d->pprev = d->next;
    if (d->next)
        d->next->pprev = d->pprev;
    d->sess->held_bytes -= d->len;
}

static void udp_sess_close(sim_udp_sess *s)
{
    if (s->as.has_assoc)
        ami_dlms_assoc_reset(&s->as.assoc); /* frees its cipher contexts */
    s->as.has_assoc = false;
    s->node->udp_sess = NULL;
    while (s->held) {
        sim_udp_held *d = s->held;
        udp_held_unlink(d);
        uv_close((uv_handle_t *)&d->timer, udp_held_closed);
    }
    uv_close((uv_handle_t *)&s->idle, udp_sess_closed);
}

static void udp_idle_cb(uv_timer_t *t)
{
    sim_udp_sess *s = t->data;
    if (s->held) { /* requests still held by a delay fault keep the association */
        uv_timer_start(&s->idle, udp_idle_cb, SIM_UDP_IDLE_MS, 0);
        return;
    }
    udp_sess_close(s);
}

static void udp_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    *buf = uv_buf_init((char *)udp_buf, sizeof udp_buf);
}

static bool same_peer(const struct sockaddr_storage *a, const struct sockaddr *b)
{
    if (b->sa_family != AF_INET || a->ss_family != AF_INET)
        return false;
    const struct sockaddr_in *x = (const struct sockaddr_in *)a, *y = (const struct sockaddr_in *)b;
    return x->sin_addr.s_addr == y->sin_addr.s_addr && x->sin_port == y->sin_port;
}

/* The node's UDP association for a datagram from addr: one per meter, a new peer takes it
 * over. NULL when out of memory. */
static sim_udp_sess *udp_sess_for(sim_node *n, uv_loop_t *loop, const struct sockaddr *addr)
{
    sim_udp_sess *s = n->udp_sess;
    if (s && !same_peer(&s->peer, addr)) {
        s->as.has_assoc = false;
        memcpy(&s->peer, addr, sizeof(struct sockaddr_in));
    }
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s)
            return NULL;
        s->node = n;
        uv_timer_init(loop, &s->idle);
        s->idle.data = s;
        memcpy(&s->peer, addr, sizeof(struct sockaddr_in));
        n->udp_sess = s;
    }
    uv_timer_start(&s->idle, udp_idle_cb, SIM_UDP_IDLE_MS, 0);
    return s;
}

/* Answers one wrapper datagram (already checked) of the session's peer addr. */
static void udp_answer(sim_node *n, sim_udp_sess *s, const uint8_t *dgram, size_t len,
                       const struct sockaddr *addr)
{
    static uint8_t out[SIM_PDU], msg[AMI_WRAPPER_HEADER_LEN + SIM_PDU];
    ami_wrapper_msg w;
    if (ami_wrapper_datagram_decode(dgram, len, &w) != AMI_OK)
        return;
    sim_fault *ft = &n->fault;
    if (ft->drop_ppm && sim_fault_hit(ft, ft->drop_ppm)) {
        udp_sess_close(s); /* the association is lost, the datagram unanswered */
        return;
    }
    assoc_for(&s->as, &n->meter, w.hdr.src_wport, 0);
    int r = ami_dlms_assoc_handle(&s->as.assoc, w.apdu, w.apdu_len, out, sizeof out);
    /* GBT streaming: the rest of the window comes from ami_dlms_assoc_next. */
    for (; r > 0; r = ami_dlms_assoc_next(&s->as.assoc, out, sizeof out)) {
        ami_wr wr;
        ami_wr_init(&wr, msg, sizeof msg);
        if (ami_wrapper_encode(&wr, SIM_SERVER_SAP, w.hdr.src_wport, out, (size_t)r) != AMI_OK)
            return;
        if (ft->corrupt_ppm && sim_fault_hit(ft, ft->corrupt_ppm))
            msg[sim_fault_draw(ft) % wr.len] ^= (uint8_t)(1u + sim_fault_draw(ft) % 255u);
        uv_buf_t b = uv_buf_init((char *)msg, (unsigned)wr.len);
        (void)uv_udp_try_send(&n->udp, &b, 1,
                              addr); /* a full socket buffer loses it, as UDP does */
    }
}

/* A held datagram's delay is over: answered as if it came now (unless the meter stopped
 * answering meanwhile). */
static void udp_held_cb(uv_timer_t *t)
{
    sim_udp_held *d = t->data;
    sim_udp_sess *s = d->sess;
    sim_node *n = s->node;
    udp_held_unlink(d);
    if (!sim_fault_refusing(n) && !(n->fault.flags & SIM_FAULT_STOP)) {
        s = udp_sess_for(n, t->loop, (const struct sockaddr *)&d->peer);
        if (s)
            udp_answer(n, s, d->data, d->len, (const struct sockaddr *)&d->peer);
    }
    uv_close((uv_handle_t *)&d->timer, udp_held_closed);
}

static void udp_recv_cb(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                        const struct sockaddr *addr, unsigned flags)
{
    sim_node *n = h->data;
    if (nread <= 0 || !addr || (flags & UV_UDP_PARTIAL) || addr->sa_family != AF_INET)
        return;
    if (sim_fault_refusing(n) || (n->fault.flags & SIM_FAULT_STOP))
        return;
    ami_wrapper_msg w;
    const uint8_t *dgram = (const uint8_t *)buf->base;
    size_t len = (size_t)nread;
    if (ami_wrapper_datagram_decode(dgram, len, &w) != AMI_OK || w.hdr.dst_wport != SIM_SERVER_SAP)
        return;
    sim_fault *ft = &n->fault;
    if (!ft->delay_ms && !ft->jitter_ms) {
        sim_udp_sess *s = udp_sess_for(n, h->loop, addr);
        if (s)
            udp_answer(n, s, dgram, len, addr);
        return;
    }
    /* Delay fault: held D +- J, then answered (the association is taken at that time). At
     * most SIM_DELAYQ_MAX bytes held per meter; beyond, datagrams are lost, as on a congested
     * link. */
    sim_udp_sess *s = n->udp_sess;
    if (!s && !(s = udp_sess_for(n, h->loop, addr)))
        return;
    if (len > SIM_DELAYQ_MAX - s->held_bytes)
        return;
    sim_udp_held *d = malloc(sizeof *d + len);
    if (!d)
        return;
    d->sess = s;
    memcpy(&d->peer, addr, sizeof d->peer);
    d->len = len;
    memcpy(d->data, dgram, len);
    d->next = s->held;
    if (s->held)
        s->held->pprev = &d->next;
    s->held = d;
    d->pprev = &s->held;
    s->held_bytes += len;
    uv_timer_init(h->loop, &d->timer);
    d->timer.data = d;
    uv_timer_start(&d->timer, udp_held_cb, delay_of(ft), 0);
}

int sim_server_udp_start(sim_node *node)
{
    return uv_udp_recv_start(&node->udp, udp_alloc_cb, udp_recv_cb);
}

void sim_server_close_node(sim_node *node)
{
    while (node->conns)
        conn_close(node->conns, false);
    if (node->udp_sess)
        udp_sess_close(node->udp_sess);
}
