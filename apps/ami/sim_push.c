/*
 * `ami sim`: the control objects' side that needs the event loop (sim_classes.h): a one-second
 * timer running every meter's schedules and calendar (ami_cosem_store_run), and the delivery of
 * pushes (Push setup 0-0:25.9.0.255) to their destination over TCP or UDP in a wrapper frame
 * (IEC 62056-47; source wPort 1, the management logical device, destination wPort 102, the
 * push client). Attached to the fleet as a port (sim_fleet.h).
 *
 * Each push becomes a job holding its wrapper frame: the first attempt after the randomised
 * start (randomisation_start_interval, drawn from the fleet seed, the meter and the invoke-id),
 * then up to number_of_retries more after a TCP connect or write failure, each after the
 * repetition delay (ami_cosem_push_retry). The delays are simulated seconds: with --speed N a
 * job waits N times less real time.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "sim_push.h"
#include "sim_server.h"

#define PUSH_SRC_WPORT   1
#define PUSH_DST_WPORT   102
#define PUSH_PENDING_MAX 16384 /* jobs waiting or connecting, fleet-wide */

typedef struct push_job push_job;

typedef struct push_ctx {
    sim_fleet *f;
    uv_timer_t tick;
    uv_udp_t udp;
    bool started, udp_ok, stopping;
    uint64_t seed; /* hash of the fleet seed */
    push_job *jobs;
    size_t njobs;
} push_ctx;

static push_ctx g_push; /* one fleet per process */

/* One push being delivered. The frame stays in the job until it is delivered or given up. */
struct push_job {
    uv_timer_t timer; /* randomised start, repetition delay */
    push_job *next, **pprev;
    struct push_conn *conn; /* the TCP attempt in progress */
    int refs;               /* handles not closed yet: the timer and a connection */
    bool ended;
    uint8_t transport;
    uint32_t meter;
    unsigned failed; /* attempts failed so far */
    /* number_of_retries and the repetition delay at the trigger */
    uint8_t retries;
    uint16_t delay, exponent, delay_max;
    struct sockaddr_in sa;
    size_t len;
    uint8_t data[AMI_WRAPPER_HEADER_LEN + SIM_PUSH_APDU];
};

/* One TCP attempt of a job. */
typedef struct push_conn {
    uv_tcp_t tcp;
    uv_connect_t req;
    uv_write_t wr;
    push_job *job;
    bool closing;
} push_conn;

/* "a.b.c.d:port" (IPv4, numeric) -> sa. */
static bool parse_destination(const uint8_t *d, size_t n, struct sockaddr_in *sa)
{
    char s[AMI_PUSH_DEST_MAX + 1];
    if (!n || n > AMI_PUSH_DEST_MAX)
        return false;
    memcpy(s, d, n);
    s[n] = '\0';
    char *colon = strrchr(s, ':');
    if (!colon || !colon[1])
        return false;
    *colon = '\0';
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (*end || !port || port > 65535)
        return false;
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, s, &sa->sin_addr) == 1;
}

/* splitmix64: the push's random number from the seed, the meter and the invoke-id. */
static uint32_t push_random(uint64_t seed, uint32_t meter, uint32_t invoke_id)
{
    uint64_t z = seed ^ ((uint64_t)meter << 32 | invoke_id);
    z += 0x9E3779B97F4A7C15u;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return (uint32_t)((z ^ (z >> 31)) >> 32);
}

/* Simulated seconds -> real ms of the loop (rounded up). */
static uint64_t real_ms(uint32_t sim_s)
{
    uint64_t speed = g_push.f->o.speed ? g_push.f->o.speed : 1;
    return ((uint64_t)sim_s * 1000u + speed - 1u) / speed;
}

static void plog(const push_job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void plog(const push_job *j, const char *fmt, ...)
{
    if (!sim_fleet_verbose(g_push.f))
        return;
    FILE *log = sim_fleet_log(g_push.f);
    fprintf(log, "ami sim: meter %u: push: ", j->meter);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(log, fmt, ap);
    va_end(ap);
    fputc('\n', log);
}

static void job_unref(push_job *j)
{
    if (--j->refs == 0)
        free(j);
}

static void job_timer_closed(uv_handle_t *h)
{
    job_unref(h->data);
}

/* Delivered or given up: the job leaves the list; it is freed once its handles are closed. */
static void job_end(push_job *j)
{
    if (j->ended)
        return;
    j->ended = true;
    *j->pprev = j->next;
    if (j->next)
        j->next->pprev = j->pprev;
    g_push.njobs--;
    uv_timer_stop(&j->timer);
    uv_close((uv_handle_t *)&j->timer, job_timer_closed);
}

static void attempt(push_job *j);

static void on_timer(uv_timer_t *t)
{
    attempt(t->data);
}

/* An attempt failed (cause: a libuv error): retry after the repetition delay, or give up. */
static void job_failed(push_job *j, int cause)
{
    if (j->ended)
        return;
    j->failed++;
    ami_cosem_push plan = {.number_of_retries = j->retries,
                           .repetition_delay = j->delay,
                           .repetition_delay_exponent = j->exponent,
                           .repetition_delay_max = j->delay_max};
    uint32_t d;
    if (g_push.stopping || !ami_cosem_push_retry(&plan, j->failed, &d)) {
        plog(j, "%s; not delivered after %u attempt(s)", uv_strerror(cause), j->failed);
        job_end(j);
        return;
    }
    plog(j, "%s; retry %u of %u in %u s (%llu ms real)", uv_strerror(cause), j->failed, j->retries,
         d, (unsigned long long)real_ms(d));
    uv_timer_start(&j->timer, on_timer, real_ms(d), 0);
}

static void conn_closed(uv_handle_t *h)
{
    push_conn *c = h->data;
    push_job *j = c->job;
    free(c);
    job_unref(j);
}

static void conn_end(push_conn *c)
{
    if (c->closing)
        return; /* a callback cancelled by the close */
    c->closing = true;
    c->job->conn = NULL;
    uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static void on_written(uv_write_t *w, int status)
{
    push_conn *c = w->data;
    push_job *j = c->job;
    conn_end(c);
    if (status < 0) {
        job_failed(j, status);
        return;
    }
    if (!j->ended) {
        plog(j, "delivered over tcp (attempt %u)", j->failed + 1);
        job_end(j);
    }
}

static void on_connected(uv_connect_t *req, int status)
{
    push_conn *c = req->data;
    push_job *j = c->job;
    if (status < 0 || j->ended) {
        conn_end(c);
        job_failed(j, status < 0 ? status : UV_ECANCELED);
        return;
    }
    uv_buf_t b = uv_buf_init((char *)j->data, (unsigned)j->len);
    c->wr.data = c;
    int e = uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, on_written);
    if (e < 0) {
        conn_end(c);
        job_failed(j, e);
    }
}

static void attempt(push_job *j)
{
    if (j->ended)
        return;
    if (j->transport == AMI_PUSH_UDP) {
        uv_buf_t b = uv_buf_init((char *)j->data, (unsigned)j->len);
        int e = g_push.udp_ok ? uv_udp_try_send(&g_push.udp, &b, 1, (const struct sockaddr *)&j->sa)
                              : UV_EBADF;
        if (e < 0) {
            job_failed(j, e);
            return;
        }
        plog(j, "delivered over udp (attempt %u)", j->failed + 1);
        job_end(j);
        return;
    }
    push_conn *c = calloc(1, sizeof *c);
    if (!c) {
        job_failed(j, UV_ENOMEM);
        return;
    }
    c->job = j;
    j->refs++;
    j->conn = c;
    uv_tcp_init(sim_fleet_loop(g_push.f), &c->tcp);
    c->tcp.data = c->req.data = c;
    int e = uv_tcp_connect(&c->req, &c->tcp, (const struct sockaddr *)&j->sa, on_connected);
    if (e < 0) {
        conn_end(c);
        job_failed(j, e);
    }
}

static uint8_t deliver(sim_meter *m, const uint8_t *apdu, size_t len)
{
    const ami_cosem_push *p = &m->cls.push;
    struct sockaddr_in sa;
    if (!g_push.f || g_push.stopping || !parse_destination(p->destination, p->destination_len, &sa))
        return AMI_ACTION_OTHER_REASON;
    if (p->transport != AMI_PUSH_TCP && p->transport != AMI_PUSH_UDP)
        return AMI_ACTION_OTHER_REASON;
    if (g_push.njobs >= PUSH_PENDING_MAX)
        return AMI_DAR_TEMPORARY_FAILURE;
    push_job *j = calloc(1, sizeof *j);
    if (!j)
        return AMI_DAR_TEMPORARY_FAILURE;
    ami_wr w;
    ami_wr_init(&w, j->data, sizeof j->data);
    if (ami_wrapper_encode(&w, PUSH_SRC_WPORT, PUSH_DST_WPORT, apdu, len) != AMI_OK) {
        free(j);
        return AMI_ACTION_OTHER_REASON;
    }
    j->len = w.len;
    j->sa = sa;
    j->transport = p->transport;
    j->meter = ((const sim_node *)((const char *)m - offsetof(sim_node, meter)))->index;
    j->retries = p->number_of_retries;
    j->delay = p->repetition_delay;
    j->exponent = p->repetition_delay_exponent;
    j->delay_max = p->repetition_delay_max;
    uv_timer_init(sim_fleet_loop(g_push.f), &j->timer);
    j->timer.data = j;
    j->refs = 1;
    j->next = g_push.jobs;
    if (g_push.jobs)
        g_push.jobs->pprev = &j->next;
    g_push.jobs = j;
    j->pprev = &g_push.jobs;
    g_push.njobs++;
    uint32_t start =
        ami_cosem_push_start_delay(p, push_random(g_push.seed, j->meter, p->invoke_id));
    if (!start) {
        attempt(j);
    } else {
        plog(j, "first attempt in %u s (%llu ms real)", start, (unsigned long long)real_ms(start));
        uv_timer_start(&j->timer, on_timer, real_ms(start), 0);
    }
    return AMI_ACTION_SUCCESS; /* handed over; delivery completes on the loop */
}

static void on_tick(uv_timer_t *t)
{
    push_ctx *px = t->data;
    for (size_t i = 0; i < sim_fleet_count(px->f); i++)
        sim_classes_tick(sim_fleet_meter(px->f, i));
}

/* FNV-1a of the fleet seed. */
static uint64_t seed_hash(const sim_fleet *f)
{
    const uint8_t *s = f->o.seed ? f->o.seed : (const uint8_t *)SIM_DEFAULT_SEED;
    size_t n = f->o.seed ? f->o.seed_len : strlen(SIM_DEFAULT_SEED);
    uint64_t h = 0xCBF29CE484222325u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 0x100000001B3u;
    return h;
}

static int port_open(sim_fleet *f, size_t index, void *ctx)
{
    push_ctx *px = ctx;
    if (!px->started) {
        px->f = f;
        px->seed = seed_hash(f);
        uv_timer_init(sim_fleet_loop(f), &px->tick);
        px->tick.data = px;
        uv_timer_start(&px->tick, on_tick, 1000, 1000);
        px->udp_ok = uv_udp_init(sim_fleet_loop(f), &px->udp) == 0;
        px->started = true;
    }
    sim_meter *m = sim_fleet_meter(f, index);
    if (m)
        m->cls.deliver = deliver;
    return AMI_OK;
}

static void port_close(sim_fleet *f, void *ctx)
{
    (void)f;
    push_ctx *px = ctx;
    if (!px->started)
        return;
    px->stopping = true;
    /* Pending pushes are dropped: attempts in progress are cancelled (their callbacks see
     * ECANCELED and end the job), waiting ones end here. */
    for (push_job *j = px->jobs; j; j = j->next)
        if (j->conn)
            conn_end(j->conn);
    while (px->jobs)
        job_end(px->jobs);
    uv_timer_stop(&px->tick);
    uv_close((uv_handle_t *)&px->tick, NULL);
    if (px->udp_ok)
        uv_close((uv_handle_t *)&px->udp, NULL);
    px->started = false;
}

int sim_push_attach(sim_fleet *f)
{
    memset(&g_push, 0, sizeof g_push);
    sim_fleet_port p = {.name = "control", .open = port_open, .close = port_close, .ctx = &g_push};
    return sim_fleet_add_port(f, &p);
}
