/*
 * `ami sim` fleet figures (BENCHMARKS.md "Simulator fleet"):
 *   1. memory per idle meter: the RSS of a fleet of N meters less the RSS of one meter, over
 *      N - 1, as a ratio to the 16 KiB goal;
 *   2. associations per second the fleet answers (TCP connect, AARQ, AARE, close; one at a
 *      time) spread over its meters, as a ratio to associations per second to one meter of the
 *      same fleet (best batch of three interleaved rounds each).
 * Runs the real `ami` binary ($AMI, else the `ami` next to this program) on loopback addresses
 * 127.<x>.0.1.. with free ports, and stops it by PID.
 *   bench_sim_fleet [METERS]     (default 10000; BENCH_MS sets the time per association figure)
 * SPDX-License-Identifier: Apache-2.0
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchutil.h"

#define GOAL_BYTES 16384.0

typedef struct sim {
    pid_t pid;
    FILE *err;
    unsigned port;
} sim;

static const char *ami_path(const char *argv0, char *buf, size_t cap)
{
    const char *env = getenv("AMI");
    if (env && *env)
        return env;
    const char *slash = strrchr(argv0, '/');
    size_t dir = slash ? (size_t)(slash - argv0) : 1;
    snprintf(buf, cap, "%.*s/ami", (int)dir, slash ? argv0 : ".");
    return buf;
}

static void sim_start(sim *s, const char *ami, const char *base, unsigned meters)
{
    int p[2];
    if (pipe(p) != 0) {
        perror("pipe");
        exit(1);
    }
    char n[16];
    snprintf(n, sizeof n, "%u", meters);
    s->pid = fork();
    if (s->pid == 0) {
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        execl(ami, ami, "sim", "--listen", base, "--meters", n, "--port", "0", "--hdlc-port", "0",
              (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    s->err = fdopen(p[0], "r");
    char line[512];
    while (fgets(line, sizeof line, s->err)) {
        const char *w = strstr(line, "listening");
        if (w && (w = strstr(line, "wrapper ")) && sscanf(w, "wrapper %u", &s->port) == 1)
            return;
    }
    fprintf(stderr, "bench_sim_fleet: %s sim did not start\n", ami);
    exit(1);
}

static void sim_stop(sim *s)
{
    kill(s->pid, SIGTERM);
    int st;
    waitpid(s->pid, &st, 0);
    fclose(s->err);
}

static long rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

/* One association: connect, AARQ (no authentication, SAP 16) in a wrapper message, the whole
 * AARE, close. Returns 0 or -1. */
static int associate(uint32_t addr, unsigned port)
{
    static const uint8_t aarq[] = {0x00, 0x01, 0x00, 0x10, 0x00, 0x01, 0x00, 0x1F, 0x60, 0x1D,
                                   0xA1, 0x09, 0x06, 0x07, 0x60, 0x85, 0x74, 0x05, 0x08, 0x01,
                                   0x01, 0xBE, 0x10, 0x04, 0x0E, 0x01, 0x00, 0x00, 0x00, 0x06,
                                   0x5F, 0x1F, 0x04, 0x00, 0x40, 0x1E, 0x1D, 0xFF, 0xFF};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(addr);
    int one = 1, rc = -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        write(fd, aarq, sizeof aarq) == (ssize_t)sizeof aarq) {
        uint8_t buf[512];
        size_t got = 0, want = 8;
        while (got < want) {
            ssize_t r = read(fd, buf + got, sizeof buf - got);
            if (r <= 0)
                break;
            got += (size_t)r;
            if (got >= 8)
                want = 8 + ((size_t)buf[6] << 8 | buf[7]);
        }
        rc = got >= want && want > 8 && buf[8] == 0x61 ? 0 : -1;
    }
    close(fd);
    return rc;
}

typedef struct assoc_ctx {
    uint32_t base;
    unsigned port, meters, next;
} assoc_ctx;

static uint64_t assoc_op(void *p)
{
    assoc_ctx *c = p;
    uint32_t a = c->base + (c->meters > 1 ? c->next++ % c->meters : 0);
    if (associate(a, c->port) != 0) {
        fprintf(stderr, "bench_sim_fleet: association failed\n");
        exit(1);
    }
    return a;
}

int main(int argc, char **argv)
{
    unsigned meters = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 10000;
    if (meters < 2) {
        fprintf(stderr, "usage: bench_sim_fleet [METERS >= 2]\n");
        return 2;
    }
    char buf[PATH_MAX];
    const char *ami = ami_path(argv[0], buf, sizeof buf);
    char base[32];
    unsigned oct = 20 + (unsigned)getpid() % 200;
    snprintf(base, sizeof base, "127.%u.0.1", oct);
    signal(SIGPIPE, SIG_IGN);

    sim one, many;
    sim_start(&one, ami, base, 1);
    long r1 = rss_kib(one.pid);
    sim_stop(&one);
    sim_start(&many, ami, base, meters);
    long rn = rss_kib(many.pid);
    double per = (double)(rn - r1) * 1024.0 / (meters - 1);
    printf("sim fleet idle meter: %.0f bytes/meter (RSS %ld KiB for %u meters, %ld KiB for 1), "
           "%.3fx the 16 KiB goal\n",
           per, rn, meters, r1, per / GOAL_BYTES);

    assoc_ctx c = {.base = (uint32_t)(127u << 24 | oct << 16 | 1), .port = many.port, .meters = 1};
    /* Three interleaved rounds, the best of each: the machine is shared and noisy. */
    double single = 1e300, spread = 1e300;
    for (int round = 0; round < 3; round++) {
        c.meters = 1;
        double t = bench_run(assoc_op, &c, bench_ms());
        single = t < single ? t : single;
        c.meters = meters;
        t = bench_run(assoc_op, &c, bench_ms());
        spread = t < spread ? t : spread;
    }
    printf("sim fleet associations over %u meters: %.0f/s, %.2fx the rate to one meter (%.0f/s)\n",
           meters, 1e9 / spread, single / spread, 1e9 / single);
    long after = rss_kib(many.pid);
    printf("sim fleet RSS after %u+ associations: %ld KiB (%+ld KiB: allocator caches of closed "
           "connections)\n",
           c.next, after, after - rn);
    sim_stop(&many);
    return 0;
}
