/*
 * The fleet of `ami sim` (see sim_fleet.h, sim_server.h): meters at consecutive IPv4 loopback
 * addresses, their listeners, the file-descriptor budget, signals and the stop sequence.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "sim_server.h"

#define SIM_BACKLOG      64
#define SIM_FD_HEADROOM  1024 /* connections, control channel, ports, stdio */
#define SIM_NR_OPEN_PATH "/proc/sys/fs/nr_open"

/* ---------------------------------------------------------------- accessors (sim_fleet.h) */

uv_loop_t *sim_fleet_loop(sim_fleet *f)
{
    return &f->loop;
}

size_t sim_fleet_count(const sim_fleet *f)
{
    return f->n;
}

sim_meter *sim_fleet_meter(sim_fleet *f, size_t index)
{
    return index < f->n ? &f->nodes[index].meter : NULL;
}

const char *sim_fleet_address(const sim_fleet *f, size_t index, char *buf, size_t cap)
{
    struct in_addr a = {.s_addr = htonl(f->base + (uint32_t)index)};
    if (!inet_ntop(AF_INET, &a, buf, (socklen_t)cap) && cap)
        buf[0] = 0;
    return buf;
}

bool sim_fleet_answering(const sim_fleet *f, size_t index)
{
    if (index >= f->n)
        return false;
    const sim_node *n = &f->nodes[index];
    return !sim_fault_refusing(n) && !(n->fault.flags & SIM_FAULT_STOP);
}

FILE *sim_fleet_log(const sim_fleet *f)
{
    return f->log;
}

int sim_fleet_verbose(const sim_fleet *f)
{
    return f->o.verbose;
}

int sim_fleet_add_port(sim_fleet *f, const sim_fleet_port *p)
{
    if (!p || !p->open)
        return AMI_E_INVAL;
    if (f->nports >= SIM_FLEET_MAX_PORTS)
        return AMI_E_TOO_LARGE;
    f->ports[f->nports++] = *p;
    return AMI_OK;
}

sim_node *sim_fleet_node_at(sim_fleet *f, uint32_t addr)
{
    if (addr < f->base || addr - f->base >= f->n)
        return NULL;
    return &f->nodes[addr - f->base];
}

/* ---------------------------------------------------------------- creation */

int sim_fleet_create(sim_fleet **out, const sim_fleet_opts *o, FILE *log, const char **what)
{
    *out = NULL;
    struct in_addr a;
    if (!o->listen || inet_pton(AF_INET, o->listen, &a) != 1) {
        *what = "--listen (a numeric IPv4 address)";
        return AMI_E_INVAL;
    }
    uint32_t base = ntohl(a.s_addr);
    if (o->meters < 1 || o->meters > (1u << 24)) {
        *what = "--meters";
        return AMI_E_RANGE;
    }
    if (o->meters > 1) {
        /* A fleet counts up inside 127.0.0.0/8 (all loopback on Linux) and never leaves it,
         * nor uses 127.255.255.255 (broadcast) or the network address. */
        uint64_t last = (uint64_t)base + o->meters - 1;
        if ((base >> 24) != 127 || (last >> 24) != 127 || (base & 0xFFFFFFu) == 0 ||
            (last & 0xFFFFFFu) == 0xFFFFFFu) {
            *what = "--meters with --listen: the fleet must stay inside 127.0.0.0/8";
            return AMI_E_RANGE;
        }
    }
    if (o->speed < 1 || o->speed > 1000000) {
        *what = "--speed";
        return AMI_E_RANGE;
    }
    if (o->history_s < 0 || o->history_s > SIM_HISTORY_MAX_S) {
        *what = "--history-days";
        return AMI_E_RANGE;
    }
    sim_fleet *f = calloc(1, sizeof *f);
    if (!f) {
        *what = "fleet";
        return AMI_E_NOMEM;
    }
    /* Speed 1 follows the system time (as a real meter's clock); faster runs from now on the
     * monotonic clock. */
    const ami_simclock *clock = NULL;
    if (o->speed > 1) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        (void)ami_simclock_init(&f->clock, (int64_t)time(NULL),
                                (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec, o->speed);
        clock = &f->clock;
    }
    f->o = *o;
    f->log = log;
    sim_ec_configure(o->seed ? o->seed : (const uint8_t *)SIM_DEFAULT_SEED,
                     o->seed ? o->seed_len : strlen(SIM_DEFAULT_SEED), o->client_public_key);
    f->n = o->meters;
    f->base = base;
    f->nodes = calloc(f->n, sizeof *f->nodes);
    char(*serials)[SIM_SERIAL_MAX + 1] = calloc(f->n, sizeof *serials);
    char(*passwords)[64] = calloc(f->n, sizeof *passwords);
    int rc = AMI_OK;
    if (!f->nodes || !serials || !passwords) {
        *what = "meters";
        rc = AMI_E_NOMEM;
    }
    if (rc == AMI_OK)
        rc = sim_keys_assign(f, serials, passwords, what);
    for (size_t i = 0; rc == AMI_OK && i < f->n; i++) { /* --ek/--ak/--kek/--system-title */
        sim_keys *k = &f->nodes[i].keys;
        if (o->ek)
            memcpy(k->ek, o->ek, sizeof k->ek);
        if (o->ak)
            memcpy(k->ak, o->ak, sizeof k->ak);
        if (o->kek)
            memcpy(k->kek, o->kek, sizeof k->kek);
        if (o->system_title && i == 0)
            memcpy(k->system_title, o->system_title, sizeof k->system_title);
    }
    for (size_t i = 0; rc == AMI_OK && i < f->n; i++) {
        sim_node *n = &f->nodes[i];
        n->fleet = f;
        n->index = (uint32_t)i;
        n->addr = base + (uint32_t)i;
        rc = sim_meter_init(&n->meter, serials[i], passwords[i], clock, o->history_s);
        if (rc != AMI_OK)
            *what = "meter";
        else
            sim_meter_set_security(&n->meter, n->keys.ek, n->keys.ak, n->keys.kek,
                                   n->keys.system_title);
        /* Per-meter fault generator: independent of the other meters' traffic. */
        uint64_t s = o->fault_seed ^ (0x9E3779B97F4A7C15ull * (i + 1));
        n->fault.rng = s ? s : 1;
    }
    if (passwords)
        for (size_t i = 0; i < f->n; i++)
            ami_wipe(passwords[i], sizeof passwords[i]);
    free(serials);
    free(passwords);
    if (rc == AMI_OK && uv_loop_init(&f->loop) != 0) {
        *what = "event loop";
        rc = AMI_E_IO;
    }
    if (rc != AMI_OK) {
        free(f->nodes);
        free(f);
        return rc;
    }
    f->loop.data = f;
    *out = f;
    return AMI_OK;
}

/* --ec-keys-out: each meter's SAP 2 public key as DIR/<system title hex>.pem (this makes the
 * key pairs of all meters). */
static int ec_keys_write(sim_fleet *f, const char *dir)
{
    for (size_t i = 0; i < f->n; i++) {
        sim_meter *m = &f->nodes[i].meter;
        EVP_PKEY *k = sim_ec_key(m);
        if (!k)
            return AMI_E_CONFIG; /* no --client-public-key, or no memory */
        char st[17], path[4096];
        for (size_t j = 0; j < 8; j++)
            snprintf(st + 2 * j, 3, "%02x", m->system_title[j]);
        int l = snprintf(path, sizeof path, "%s/%s.pem", dir, st);
        if (l <= 0 || (size_t)l >= sizeof path)
            return AMI_E_IO;
        FILE *fp = fopen(path, "w");
        if (!fp)
            return AMI_E_IO;
        int ok = PEM_write_PUBKEY(fp, k);
        if (fclose(fp) != 0 || !ok)
            return AMI_E_IO;
    }
    return AMI_OK;
}

void sim_fleet_destroy(sim_fleet *f)
{
    if (!f)
        return;
    (void)uv_loop_close(&f->loop);
    for (size_t i = 0; i < f->n; i++) {
        sim_meter_fini(&f->nodes[i].meter);
        ami_wipe(&f->nodes[i].keys, sizeof f->nodes[i].keys);
    }
    free(f->nodes);
    free(f);
}

/* ---------------------------------------------------------------- file descriptors */

/* Sockets the fleet needs with one TCP listener per meter and port (tcp) or only the per-meter
 * UDP sockets (!tcp). */
static uint64_t fds_needed(const sim_fleet *f, bool tcp)
{
    uint64_t per = (uint64_t)f->o.udp + (tcp ? (uint64_t)f->o.wrapper + f->o.hdlc : 0);
    return per * f->n + SIM_FD_HEADROOM;
}

/* Raises RLIMIT_NOFILE (the hard limit too when privileged, up to fs.nr_open). Returns true
 * when `want` descriptors are allowed. */
static bool raise_nofile(uint64_t want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return false;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= want)
        return true;
    if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want) {
        rl.rlim_cur = want;
        return setrlimit(RLIMIT_NOFILE, &rl) == 0;
    }
    uint64_t nr_open = 0;
    FILE *fp = fopen(SIM_NR_OPEN_PATH, "r");
    if (fp) {
        unsigned long long v;
        if (fscanf(fp, "%llu", &v) == 1)
            nr_open = v;
        fclose(fp);
    }
    if (nr_open && nr_open < want)
        return false;
    struct rlimit nl = {want, want};
    return setrlimit(RLIMIT_NOFILE, &nl) == 0; /* EPERM without CAP_SYS_RESOURCE */
}

/* ---------------------------------------------------------------- listeners */

static int tcp_listen_at(sim_fleet *f, uv_tcp_t *t, void *data, uint32_t addr, uint16_t *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(*port)};
    sa.sin_addr.s_addr = htonl(addr);
    int e = uv_tcp_init(&f->loop, t);
    if (e)
        return e;
    t->data = data;
    e = uv_tcp_bind(t, (const struct sockaddr *)&sa, 0);
    if (!e)
        e = uv_listen((uv_stream_t *)t, SIM_BACKLOG, sim_server_on_connection);
    if (!e && !*port) {
        struct sockaddr_in b;
        int len = sizeof b;
        e = uv_tcp_getsockname(t, (struct sockaddr *)&b, &len);
        if (!e)
            *port = ntohs(b.sin_port);
    }
    return e;
}

static int udp_bind_at(sim_fleet *f, sim_node *n, uint16_t port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(n->addr);
    int e = uv_udp_init(&f->loop, &n->udp);
    if (e)
        return e;
    n->udp.data = n;
    n->listening |= 4;
    e = uv_udp_bind(&n->udp, (const struct sockaddr *)&sa, 0);
    if (!e)
        e = sim_server_udp_start(n);
    return e;
}

static int map_uv(int e)
{
    return e == UV_ENOMEM                     ? AMI_E_NOMEM
           : e == UV_EMFILE || e == UV_ENFILE ? AMI_E_TOO_LARGE
                                              : AMI_E_IO;
}

static char whatbuf[128];

static int shared_udp(sim_fleet *f, const char **what)
{
    char ab[INET_ADDRSTRLEN];
    int e;
    for (size_t i = 0; f->udp && i < f->n; i++) {
        e = udp_bind_at(f, &f->nodes[i], f->wport);
        if (e) {
            snprintf(whatbuf, sizeof whatbuf, "meter %zu udp port on %s: %s", i,
                     sim_fleet_address(f, i, ab, sizeof ab), uv_strerror(e));
            *what = whatbuf;
            return map_uv(e);
        }
    }
    return AMI_OK;
}

static int open_listeners(sim_fleet *f, const char **what)
{
    char ab[INET_ADDRSTRLEN];
    f->wport = f->o.wrapper_port;
    f->hport = f->o.hdlc_port;
    if (f->shared) {
        /* One wildcard listener per port; the accepted socket's local address picks the meter.
         * UDP stays one socket per meter (a wildcard UDP socket cannot tell which address a
         * datagram was sent to without IP_PKTINFO, which uv_udp does not expose). */
        int e = 0;
        if (f->o.wrapper) {
            e = tcp_listen_at(f, &f->swrapper, NULL, INADDR_ANY, &f->wport);
            f->slistening |= 1;
            if (e) {
                *what = "wrapper port (wildcard)";
                return map_uv(e);
            }
        }
        if (f->o.hdlc) {
            e = tcp_listen_at(f, &f->shdlc, NULL, INADDR_ANY, &f->hport);
            f->slistening |= 2;
            if (e) {
                *what = "hdlc port (wildcard)";
                return map_uv(e);
            }
        }
        return shared_udp(f, what);
    }
    for (size_t i = 0; i < f->n; i++) {
        sim_node *n = &f->nodes[i];
        int e = 0;
        const char *which = NULL;
        if (f->o.wrapper) {
            n->listening |= 1;
            e = tcp_listen_at(f, &n->wrapper, n, n->addr, &f->wport);
            which = "wrapper port";
        }
        if (!e && f->o.hdlc) {
            n->listening |= 2;
            e = tcp_listen_at(f, &n->hdlc, n, n->addr, &f->hport);
            which = "hdlc port";
        }
        if (!e && f->udp) {
            e = udp_bind_at(f, n, f->wport);
            which = "udp port";
        }
        if (e) {
            snprintf(whatbuf, sizeof whatbuf, "meter %zu %s on %s: %s", i, which,
                     sim_fleet_address(f, i, ab, sizeof ab), uv_strerror(e));
            *what = whatbuf;
            return map_uv(e);
        }
    }
    return AMI_OK;
}

static void listener_closed(uv_handle_t *h)
{
    sim_node *n = h->data;
    uint8_t bit = h == (uv_handle_t *)&n->wrapper ? 1 : 2;
    n->listening &= (uint8_t)~bit;
    n->lclosing &= (uint8_t)~bit;
    if (!n->fleet->stopping && !sim_fault_refusing(n))
        sim_fleet_node_listen(n, true); /* cleared while closing */
}

void sim_fleet_node_listen(sim_node *n, bool on)
{
    sim_fleet *f = n->fleet;
    if (f->shared || f->stopping)
        return;
    uv_tcp_t *h[2] = {&n->wrapper, &n->hdlc};
    bool want[2] = {f->o.wrapper, f->o.hdlc};
    uint16_t *port[2] = {&f->wport, &f->hport};
    for (unsigned i = 0; i < 2; i++) {
        uint8_t bit = (uint8_t)(1u << i);
        if (!want[i] || (n->lclosing & bit))
            continue; /* listener_closed reopens it when it should */
        if (!on && (n->listening & bit)) {
            n->lclosing |= bit;
            uv_close((uv_handle_t *)h[i], listener_closed);
        } else if (on && !(n->listening & bit)) {
            n->listening |= bit;
            int e = tcp_listen_at(f, h[i], n, n->addr, port[i]);
            if (e) {
                char ab[INET_ADDRSTRLEN];
                fprintf(f->log, "ami sim: meter %u: cannot listen again on %s: %s\n", n->index,
                        sim_fleet_address(f, n->index, ab, sizeof ab), uv_strerror(e));
                /* Left initialised and silent (closed at stop): no retry loop. */
            }
        }
    }
}

/* ---------------------------------------------------------------- stop */

static void close_if(uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

void sim_fleet_stop(sim_fleet *f)
{
    if (f->stopping)
        return;
    f->stopping = true;
    for (size_t i = 0; i < f->n; i++) {
        sim_node *n = &f->nodes[i];
        sim_server_close_node(n);
        if (n->listening & 1)
            close_if((uv_handle_t *)&n->wrapper);
        if (n->listening & 2)
            close_if((uv_handle_t *)&n->hdlc);
        if (n->listening & 4)
            close_if((uv_handle_t *)&n->udp);
        n->listening = 0;
    }
    if (f->slistening & 1)
        close_if((uv_handle_t *)&f->swrapper);
    if (f->slistening & 2)
        close_if((uv_handle_t *)&f->shdlc);
    f->slistening = 0;
    for (size_t i = 0; i < f->ports_opened; i++)
        if (f->ports[i].close)
            f->ports[i].close(f, f->ports[i].ctx);
    f->ports_opened = 0;
    sim_control_close(f);
    close_if((uv_handle_t *)&f->sigint);
    close_if((uv_handle_t *)&f->sigterm);
    close_if((uv_handle_t *)&f->tick);
}

static void on_signal(uv_signal_t *s, int sig)
{
    (void)sig;
    sim_fleet_stop(s->data);
}

static void on_tick(uv_timer_t *t)
{
    sim_fault_tick(t->data);
}

/* ---------------------------------------------------------------- run */

/* The listening line, written in one piece (scripts wait for it and parse its ports: a line
 * written in several pieces could be read half written). */
static void print_listening(sim_fleet *f)
{
    char a0[INET_ADDRSTRLEN], a1[INET_ADDRSTRLEN];
    char *line = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&line, &len);
    if (!out)
        out = f->log; /* no memory: in pieces then */
    sim_fleet_address(f, 0, a0, sizeof a0);
    fprintf(out, "ami sim: listening on %s", a0);
    if (f->n > 1)
        fprintf(out, "..%s", sim_fleet_address(f, f->n - 1, a1, sizeof a1));
    fprintf(out, ": wrapper %s%u, ", f->o.wrapper ? "" : "off ", f->wport);
    if (f->udp)
        fprintf(out, "udp %u, ", f->wport);
    fprintf(out, "hdlc %s%u ", f->o.hdlc ? "" : "off ", f->hport);
    if (f->n == 1)
        fprintf(out, "(meter %s)", f->nodes[0].meter.serial);
    else
        fprintf(out, "(%zu meters%s)", f->n, f->shared ? ", shared wildcard listeners" : "");
    for (size_t i = 0; i < f->nports; i++)
        if (f->ports[i].describe)
            f->ports[i].describe(f, out, f->ports[i].ctx);
    fputc('\n', out);
    if (out != f->log) {
        fclose(out);
        fwrite(line, 1, len, f->log);
        free(line);
    }
    fflush(f->log);
}

int sim_fleet_run(sim_fleet *f, const char **what)
{
    int rc = AMI_OK;
    /* Descriptors: 3 per meter when the limit allows (raised when privileged); else one
     * wildcard TCP listener per port and a UDP socket per meter; else no UDP. */
    uint64_t want = fds_needed(f, true);
    f->udp = f->o.udp;
    if (f->o.single_listener || !raise_nofile(want)) {
        f->shared = true;
        if (f->udp && !raise_nofile(fds_needed(f, false))) {
            f->udp = false;
            fprintf(f->log,
                    "ami sim: open-file limit too low for a UDP socket per meter: no UDP\n");
        }
        if (!f->o.single_listener)
            fprintf(f->log,
                    "ami sim: cannot raise the open-file limit to %llu: one wildcard TCP listener "
                    "per port, connections to other addresses dropped\n",
                    (unsigned long long)want);
        (void)raise_nofile(fds_needed(f, false) + SIM_FD_HEADROOM * 3);
    }
    uv_signal_init(&f->loop, &f->sigint);
    uv_signal_init(&f->loop, &f->sigterm);
    uv_timer_init(&f->loop, &f->tick);
    f->sigint.data = f->sigterm.data = f->tick.data = f;
    uv_signal_start(&f->sigint, on_signal, SIGINT);
    uv_signal_start(&f->sigterm, on_signal, SIGTERM);
    uv_timer_start(&f->tick, on_tick, 1000, 1000);
    uv_unref((uv_handle_t *)&f->tick);

    rc = sim_state_open(f, what);
    if (rc == AMI_OK)
        rc = open_listeners(f, what);
    for (size_t p = 0; rc == AMI_OK && p < f->nports; p++) {
        f->ports_opened = p + 1;
        for (size_t i = 0; rc == AMI_OK && i < f->n; i++) {
            rc = f->ports[p].open(f, i, f->ports[p].ctx);
            if (rc != AMI_OK)
                *what = f->ports[p].name;
        }
    }
    for (size_t i = 0; rc == AMI_OK && i < f->o.nfaults; i++) {
        static char reply[200];
        char line[256];
        snprintf(line, sizeof line, "fault %s", f->o.faults[i]);
        rc = sim_fault_command(f, line, reply, sizeof reply);
        if (rc != AMI_OK)
            *what = reply; /* "error: ..." */
    }
    if (rc == AMI_OK && f->o.control) {
        rc = sim_control_open(f);
        if (rc != AMI_OK)
            *what = "--control";
    }
    if (rc == AMI_OK && f->o.keys_out) {
        rc = sim_keys_write(f, f->o.keys_out);
        if (rc != AMI_OK)
            *what = "--keys-out";
        sim_keys_watch(f);
    }
    if (rc == AMI_OK && f->o.ec_keys_out) {
        rc = ec_keys_write(f, f->o.ec_keys_out);
        if (rc != AMI_OK)
            *what = "--ec-keys-out";
    }
    if (rc == AMI_OK)
        print_listening(f);
    else
        sim_fleet_stop(f);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    return rc;
}
