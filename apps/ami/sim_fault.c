/*
 * Fault injection for `ami sim` (see sim_server.h and docs/sim.md): the per-meter fault state,
 * its deterministic generator, the command language and the control channel (a unix socket
 * taking one command per line).
 * SPDX-License-Identifier: Apache-2.0
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sim_parse.h"
#include "sim_server.h"

#define SIM_CTL_MAX 16 /* open control connections */

uint32_t sim_fault_draw(sim_fault *ft)
{
    uint64_t x = ft->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    ft->rng = x;
    return (uint32_t)((x >> 11) % 1000000u);
}

bool sim_fault_hit(sim_fault *ft, uint32_t ppm)
{
    return ppm >= 1000000u || sim_fault_draw(ft) < ppm;
}

bool sim_fault_refusing(const sim_node *n)
{
    if (n->fault.flags & SIM_FAULT_REFUSE)
        return true;
    return n->fault.down_until_ms && (int64_t)uv_now(&n->fleet->loop) < n->fault.down_until_ms;
}

void sim_fault_tick(sim_fleet *f)
{
    int64_t now = sim_time_now(f->nodes[0].meter.clock); /* simulated: drift follows --speed */
    int64_t mono = (int64_t)uv_now(&f->loop);
    for (size_t i = 0; i < f->n; i++) {
        sim_fault *ft = &f->nodes[i].fault;
        if (ft->down_until_ms && mono >= ft->down_until_ms) {
            ft->down_until_ms = 0; /* rebooted: listening again */
            if (!sim_fault_refusing(&f->nodes[i]))
                sim_fleet_node_listen(&f->nodes[i], true);
        }
        if (!ft->drift_ppm)
            continue;
        /* The meter's clock offset grows by ppm of the time elapsed; a client's SET of the clock
         * in between is kept (only the increment is added). */
        int64_t want = (now - ft->drift_start) * ft->drift_ppm / 1000000;
        f->nodes[i].meter.clock_offset += want - ft->drift_applied;
        ft->drift_applied = (int32_t)want;
    }
}

/* ---------------------------------------------------------------- commands */

static void fault_status(const sim_node *n, char *buf, size_t cap)
{
    const sim_fault *ft = &n->fault;
    size_t k = 0;
#define ADD(...)                                                        \
    do {                                                                \
        int w_ = snprintf(buf + k, k < cap ? cap - k : 0, __VA_ARGS__); \
        if (w_ > 0)                                                     \
            k += (size_t)w_;                                            \
    } while (0)
    ADD("meter %u:", n->index);
    size_t bare = k;
    if (ft->flags & SIM_FAULT_REFUSE)
        ADD(" refuse");
    if (ft->flags & SIM_FAULT_STOP)
        ADD(" stop");
    if (ft->drop_ppm)
        ADD(" drop %g", ft->drop_ppm / 1e6);
    if (ft->corrupt_ppm)
        ADD(" corrupt %g", ft->corrupt_ppm / 1e6);
    if (ft->delay_ms || ft->jitter_ms)
        ADD(" delay %ums jitter %ums", ft->delay_ms, ft->jitter_ms);
    if (ft->drift_ppm)
        ADD(" drift %dppm", ft->drift_ppm);
    if (sim_fault_refusing(n) && !(ft->flags & SIM_FAULT_REFUSE))
        ADD(" rebooting");
    if (k == bare)
        ADD(" no fault;");
    ADD(" connections %u events %u", n->nconn, n->meter.nevents);
#undef ADD
}

static void clear_kind(sim_node *n, int k)
{
    sim_fault *ft = &n->fault;
    switch (k) {
    case SIM_K_REFUSE:
        ft->flags &= (uint8_t)~SIM_FAULT_REFUSE;
        break;
    case SIM_K_STOP:
        ft->flags &= (uint8_t)~SIM_FAULT_STOP;
        break;
    case SIM_K_DROP:
        ft->drop_ppm = 0;
        break;
    case SIM_K_CORRUPT:
        ft->corrupt_ppm = 0;
        break;
    case SIM_K_DELAY:
        ft->delay_ms = ft->jitter_ms = 0;
        break;
    case SIM_K_REBOOT:
        ft->down_until_ms = 0;
        break;
    case SIM_K_DRIFT:
        ft->drift_ppm = 0; /* the drift already applied stays in the clock */
        ft->drift_applied = 0;
        break;
    case SIM_K_TAMPER:
        break; /* an event recorded stays recorded */
    default:
        for (int i = 0; i < SIM_K_TAMPER; i++)
            clear_kind(n, i);
    }
}

int sim_fault_command(sim_fleet *f, const char *line, char *reply, size_t cap)
{
    sim_cmd cmd;
    int rc = sim_cmd_parse(line, strlen(line), f->n, &cmd, reply, cap);
    if (rc != AMI_OK)
        return rc;
    size_t lo = cmd.lo, hi = cmd.hi;
    switch (cmd.verb) {
    case SIM_CMD_HELP:
        snprintf(reply, cap,
                 "ok: fault T refuse|drop [P]|delay D [jitter J]|corrupt [P]|stop|reboot [D]|"
                 "drift PPM|tamper; clear T [KIND]; status T (T: N, A-B or all)");
        return AMI_OK;
    case SIM_CMD_STATUS:
        fault_status(&f->nodes[lo], reply, cap);
        return AMI_OK;
    case SIM_CMD_CLEAR:
        for (size_t i = lo; i <= hi; i++) {
            clear_kind(&f->nodes[i], cmd.kind);
            if (!sim_fault_refusing(&f->nodes[i]))
                sim_fleet_node_listen(&f->nodes[i], true);
        }
        snprintf(reply, cap, "ok");
        return AMI_OK;
    default:
        break;
    }
    int k = cmd.kind;
    uint32_t p = cmd.p_ppm, d = cmd.d_ms, j = cmd.j_ms;
    int32_t ppm = cmd.ppm;
    int64_t now_s = sim_time_now(f->nodes[0].meter.clock);
    for (size_t i = lo; i <= hi; i++) {
        sim_node *n = &f->nodes[i];
        sim_fault *ft = &n->fault;
        switch (k) {
        case SIM_K_REFUSE:
            ft->flags |= SIM_FAULT_REFUSE;
            sim_fleet_node_listen(n, false);
            break;
        case SIM_K_STOP:
            ft->flags |= SIM_FAULT_STOP;
            break;
        case SIM_K_DROP:
            ft->drop_ppm = p;
            break;
        case SIM_K_CORRUPT:
            ft->corrupt_ppm = p;
            break;
        case SIM_K_DELAY:
            ft->delay_ms = d;
            ft->jitter_ms = j;
            break;
        case SIM_K_REBOOT:
            /* Power cycle: every connection and association is lost; down for d ms; the
             * standard event log shows a power down and a power up. */
            sim_server_close_node(n);
            (void)sim_meter_event(&n->meter, SIM_LOG_STANDARD, SIM_EVENT_POWER_DOWN);
            (void)sim_meter_event(&n->meter, SIM_LOG_STANDARD, SIM_EVENT_POWER_UP);
            ft->down_until_ms = d ? (int64_t)uv_now(&f->loop) + d : 0;
            if (d)
                sim_fleet_node_listen(n, false);
            break;
        case SIM_K_DRIFT:
            ft->drift_ppm = ppm;
            ft->drift_start = now_s;
            ft->drift_applied = 0;
            break;
        case SIM_K_TAMPER:
            sim_meter_record_event(&n->meter, SIM_EVENT_TERMINAL_COVER_OPENED);
            break;
        default:
            break;
        }
    }
    if (f->o.verbose)
        fprintf(f->log, "ami sim: %s\n", line);
    snprintf(reply, cap, "ok");
    return AMI_OK;
}

/* ---------------------------------------------------------------- control channel */

typedef struct sim_ctl {
    uv_pipe_t pipe;
    sim_fleet *f;
    struct sim_ctl *next, **pprev;
    char line[SIM_CTL_LINE];
    size_t len;
    bool overflow;
} sim_ctl;

static size_t nctl;

static void ctl_closed(uv_handle_t *h)
{
    free(h->data);
    nctl--;
}

static void ctl_close(sim_ctl *c)
{
    *c->pprev = c->next;
    if (c->next)
        c->next->pprev = c->pprev;
    c->pprev = &c->next;
    c->next = NULL;
    uv_close((uv_handle_t *)&c->pipe, ctl_closed);
}

static void ctl_write_done(uv_write_t *req, int status)
{
    (void)status;
    free(req);
}

static void ctl_reply(sim_ctl *c, const char *text)
{
    size_t n = strlen(text);
    uv_write_t *req = malloc(sizeof *req + n + 1);
    if (!req)
        return;
    char *p = (char *)(req + 1);
    memcpy(p, text, n);
    p[n] = '\n';
    uv_buf_t b = uv_buf_init(p, (unsigned)n + 1);
    if (uv_write(req, (uv_stream_t *)&c->pipe, &b, 1, ctl_write_done) != 0)
        free(req);
}

static char ctl_buf[1024];

static void ctl_alloc(uv_handle_t *h, size_t s, uv_buf_t *b)
{
    (void)h;
    (void)s;
    *b = uv_buf_init(ctl_buf, sizeof ctl_buf);
}

static void ctl_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    sim_ctl *c = s->data;
    if (nread < 0) {
        ctl_close(c);
        return;
    }
    for (ssize_t i = 0; i < nread; i++) {
        char ch = buf->base[i];
        if (ch != '\n') {
            if (c->len + 1 < sizeof c->line)
                c->line[c->len++] = ch;
            else
                c->overflow = true;
            continue;
        }
        c->line[c->len] = 0;
        char reply[SIM_CTL_LINE];
        if (c->overflow)
            snprintf(reply, sizeof reply, "error: line too long");
        else
            (void)sim_fault_command(c->f, c->line, reply, sizeof reply);
        ctl_reply(c, reply);
        c->len = 0;
        c->overflow = false;
    }
}

static void ctl_connection(uv_stream_t *server, int status)
{
    sim_fleet *f = server->data;
    if (status < 0)
        return;
    sim_ctl *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->f = f;
    uv_pipe_init(&f->loop, &c->pipe, 0);
    c->pipe.data = c;
    nctl++;
    c->next = f->ctls;
    if (f->ctls)
        f->ctls->pprev = &c->next;
    f->ctls = c;
    c->pprev = &f->ctls;
    if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0 || nctl > SIM_CTL_MAX ||
        uv_read_start((uv_stream_t *)&c->pipe, ctl_alloc, ctl_read) != 0)
        ctl_close(c);
}

int sim_control_open(sim_fleet *f)
{
    if (uv_pipe_init(&f->loop, &f->control, 0) != 0)
        return AMI_E_IO;
    f->control.data = f;
    f->control_open = true;
    struct stat st;
    if (lstat(f->o.control, &st) == 0 && S_ISSOCK(st.st_mode))
        (void)unlink(f->o.control); /* a stale socket of an earlier run; never another file */
    int e = uv_pipe_bind(&f->control, f->o.control);
    if (!e)
        e = uv_listen((uv_stream_t *)&f->control, 4, ctl_connection);
    if (!e)
        (void)chmod(f->o.control, 0600);
    return e ? AMI_E_IO : AMI_OK;
}

void sim_control_close(sim_fleet *f)
{
    while (f->ctls)
        ctl_close(f->ctls);
    if (f->control_open) {
        f->control_open = false;
        uv_close((uv_handle_t *)&f->control, NULL);
        (void)unlink(f->o.control);
    }
}
