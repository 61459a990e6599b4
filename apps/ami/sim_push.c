/*
 * `ami sim`: the control objects' side that needs the event loop (sim_classes.h): a one-second
 * timer running every meter's schedules and calendar (ami_cosem_store_run), and the delivery of
 * pushes (Push setup 0-0:25.9.0.255) to their destination over TCP or UDP in a wrapper frame
 * (IEC 62056-47; source wPort 1, the management logical device, destination wPort 102, the
 * push client). Attached to the fleet as a port (sim_fleet.h).
 * SPDX-License-Identifier: Apache-2.0
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "sim_fleet.h"
#include "sim_push.h"

#define PUSH_SRC_WPORT 1
#define PUSH_DST_WPORT 102

typedef struct push_ctx {
    sim_fleet *f;
    uv_timer_t tick;
    uv_udp_t udp;
    bool started, udp_ok;
} push_ctx;

static push_ctx g_push; /* one fleet per process */

typedef struct push_conn {
    uv_tcp_t tcp;
    uv_connect_t req;
    uv_write_t wr;
    uv_buf_t buf;
    uint8_t data[AMI_WRAPPER_HEADER_LEN + SIM_PUSH_APDU];
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

static void conn_closed(uv_handle_t *h)
{
    free(h->data);
}

static void on_written(uv_write_t *w, int status)
{
    push_conn *c = w->data;
    if (status < 0 && sim_fleet_verbose(g_push.f))
        fprintf(sim_fleet_log(g_push.f), "ami sim: push: tcp write: %s\n", uv_strerror(status));
    uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static void on_connected(uv_connect_t *req, int status)
{
    push_conn *c = req->data;
    if (status < 0) {
        if (sim_fleet_verbose(g_push.f))
            fprintf(sim_fleet_log(g_push.f), "ami sim: push: tcp connect: %s\n",
                    uv_strerror(status));
        uv_close((uv_handle_t *)&c->tcp, conn_closed);
        return;
    }
    c->wr.data = c;
    if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &c->buf, 1, on_written) < 0)
        uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static uint8_t deliver(sim_meter *m, const uint8_t *apdu, size_t len)
{
    const ami_cosem_push *p = &m->cls.push;
    struct sockaddr_in sa;
    if (!g_push.f || !parse_destination(p->destination, p->destination_len, &sa))
        return AMI_ACTION_OTHER_REASON;
    if (p->transport == AMI_PUSH_UDP) {
        uint8_t msg[AMI_WRAPPER_HEADER_LEN + SIM_PUSH_APDU];
        ami_wr w;
        ami_wr_init(&w, msg, sizeof msg);
        if (!g_push.udp_ok || ami_wrapper_encode(&w, PUSH_SRC_WPORT, PUSH_DST_WPORT, apdu, len))
            return AMI_ACTION_OTHER_REASON;
        uv_buf_t b = uv_buf_init((char *)msg, (unsigned)w.len);
        return uv_udp_try_send(&g_push.udp, &b, 1, (const struct sockaddr *)&sa) < 0
                   ? AMI_DAR_TEMPORARY_FAILURE
                   : AMI_ACTION_SUCCESS;
    }
    if (p->transport != AMI_PUSH_TCP)
        return AMI_ACTION_OTHER_REASON;
    push_conn *c = calloc(1, sizeof *c);
    if (!c)
        return AMI_DAR_TEMPORARY_FAILURE;
    ami_wr w;
    ami_wr_init(&w, c->data, sizeof c->data);
    if (ami_wrapper_encode(&w, PUSH_SRC_WPORT, PUSH_DST_WPORT, apdu, len) != AMI_OK) {
        free(c);
        return AMI_ACTION_OTHER_REASON;
    }
    c->buf = uv_buf_init((char *)c->data, (unsigned)w.len);
    uv_tcp_init(sim_fleet_loop(g_push.f), &c->tcp);
    c->tcp.data = c->req.data = c;
    if (uv_tcp_connect(&c->req, &c->tcp, (const struct sockaddr *)&sa, on_connected) < 0) {
        uv_close((uv_handle_t *)&c->tcp, conn_closed);
        return AMI_DAR_TEMPORARY_FAILURE;
    }
    return AMI_ACTION_SUCCESS; /* handed over; the connection completes on the loop */
}

static void on_tick(uv_timer_t *t)
{
    push_ctx *px = t->data;
    for (size_t i = 0; i < sim_fleet_count(px->f); i++)
        sim_classes_tick(sim_fleet_meter(px->f, i));
}

static int port_open(sim_fleet *f, size_t index, void *ctx)
{
    push_ctx *px = ctx;
    if (!px->started) {
        px->f = f;
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
