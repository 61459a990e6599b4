/*
 * DLMS over loopback TCP (issue #4), as ratios against baselines measured in the same run:
 *   - GET round trips: our client session and our server engine in two threads, one wrapper
 *     TCP connection on 127.0.0.1, a GET of a register value per round trip (request built,
 *     framed, sent, served, answered, decoded), against a raw TCP echo round trip of the same
 *     request and response sizes over the same kind of connection;
 *   - GET in GBT: the same with the response (a 1 KB value) in 40-byte-PDU GBT blocks, window 8
 *     streamed, against the same echo baseline (one round trip);
 *   - memory of one association: sizeof(ami_dlms_assoc) plus the buffers a server gives it
 *     (block, scratch, and GBT), in bytes, against a 1 KiB block buffer.
 * Round trips per second = 1e9 / ns per op.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ami/ami.h"
#include "benchutil.h"

#define HDR AMI_WRAPPER_HEADER_LEN

static int read_full(int fd, uint8_t *p, size_t n)
{
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static int write_full(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t r = write(fd, p, n);
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Reads one wrapper message: its APDU into apdu (returns its length, or -1). */
static long read_msg(int fd, uint8_t *apdu, size_t cap)
{
    uint8_t h[HDR];
    if (read_full(fd, h, HDR))
        return -1;
    size_t n = ami_dec16be(h + 6);
    if (n > cap || read_full(fd, apdu, n))
        return -1;
    return (long)n;
}

static int write_msg(int fd, uint16_t src, uint16_t dst, const uint8_t *apdu, size_t n)
{
    uint8_t buf[HDR + 2048];
    ami_wr w;
    ami_wr_init(&w, buf, sizeof buf);
    if (ami_wrapper_encode(&w, src, dst, apdu, n) != AMI_OK)
        return -1;
    return write_full(fd, buf, w.len);
}

/* ---------------------------------------------------------------- server side */

static uint8_t big_value[1024 + 4];

static uint8_t reg_value(void *user, const ami_cosem_obj *obj, ami_wr *out)
{
    (void)user;
    (void)obj;
    ami_wr_u8(out, AMI_AXDR_DOUBLE_LONG_UNSIGNED);
    ami_wr_u32be(out, 123456);
    return AMI_DAR_SUCCESS;
}

typedef struct server {
    int listen_fd;
    volatile bool echo; /* raw echo of each message instead of the engine (set between ops) */
    ami_dlms_server srv;
} server;

static void *serve(void *p)
{
    server *s = p;
    int fd = accept(s->listen_fd, NULL, NULL);
    if (fd < 0)
        return NULL;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    static uint8_t block[2048], scratch[2048], rx[1024], tx[2048 + 64];
    ami_dlms_assoc a;
    ami_dlms_assoc_mem mem = {.block = block,
                              .block_cap = sizeof block,
                              .scratch = scratch,
                              .scratch_cap = sizeof scratch};
    if (ami_dlms_assoc_init(&a, &s->srv, 16, &mem) ||
        ami_dlms_assoc_set_gbt(&a, rx, sizeof rx, tx, sizeof tx, 0))
        abort();
    uint8_t req[2048], out[2048];
    long n;
    while ((n = read_msg(fd, req, sizeof req)) >= 0) {
        if (s->echo) {
            if (write_msg(fd, 1, 16, req, (size_t)n))
                break;
            continue;
        }
        int r = ami_dlms_assoc_handle(&a, req, (size_t)n, out, sizeof out);
        for (; r > 0; r = ami_dlms_assoc_next(&a, out, sizeof out))
            if (write_msg(fd, 1, 16, out, (size_t)r))
                goto done;
    }
done:
    close(fd);
    return NULL;
}

/* ---------------------------------------------------------------- client side */

typedef struct client {
    int fd;
    ami_dlms_client c;
    uint8_t data[4096], gbt[4096];
    ami_attr_sel sel;
    uint8_t echo_req[64];
    size_t echo_len;
} client;

static int connect_to(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa))
        abort();
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* One request and its whole answer through the session. */
static int transact(client *k, const uint8_t *req, size_t n, ami_dlms_result *res)
{
    if (write_msg(k->fd, 16, 1, req, n))
        return -1;
    for (;;) {
        uint8_t in[2048], next[2048];
        long m = read_msg(k->fd, in, sizeof in);
        if (m < 0)
            return -1;
        ami_wr w;
        ami_wr_init(&w, next, sizeof next);
        int rc = ami_dlms_client_input(&k->c, in, (size_t)m, &w, res);
        if (rc != AMI_E_AGAIN)
            return rc;
        if (w.len && write_msg(k->fd, 16, 1, next, w.len))
            return -1;
    }
}

static uint64_t op_get(void *p)
{
    client *k = p;
    uint8_t req[128];
    ami_wr w;
    ami_wr_init(&w, req, sizeof req);
    ami_dlms_result res;
    if (ami_dlms_client_get(&k->c, &k->sel, 1, &w) || transact(k, req, w.len, &res))
        abort();
    return res.data.len;
}

static uint64_t op_echo(void *p)
{
    client *k = p;
    uint8_t in[2048];
    if (write_msg(k->fd, 16, 1, k->echo_req, k->echo_len) || read_msg(k->fd, in, sizeof in) < 0)
        abort();
    return in[0];
}

static uint16_t listen_on(int *fd)
{
    *fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (*fd < 0 || bind(*fd, (struct sockaddr *)&sa, sizeof sa) || listen(*fd, 1) ||
        getsockname(*fd, (struct sockaddr *)&sa, &len))
        abort();
    return ntohs(sa.sin_port);
}

static void open_session(client *k, server *s, pthread_t *t, uint16_t max_pdu, bool gbt)
{
    uint16_t port = listen_on(&s->listen_fd);
    pthread_create(t, NULL, serve, s);
    k->fd = connect_to(port);
    ami_dlms_client_config cfg = {
        .conformance = AMI_CONF_GET | AMI_CONF_BLOCK_TRANSFER_WITH_GET_OR_READ |
                       (gbt ? AMI_CONF_GENERAL_BLOCK_TRANSFER : 0),
        .max_pdu = max_pdu,
        .data_buf = k->data,
        .data_cap = sizeof k->data,
        .gbt_buf = k->gbt,
        .gbt_cap = sizeof k->gbt,
        .gbt_window = 8,
        .gbt_always = gbt,
    };
    uint8_t req[128];
    ami_wr w;
    ami_wr_init(&w, req, sizeof req);
    ami_dlms_result res;
    if (ami_dlms_client_init(&k->c, &cfg) || ami_dlms_client_associate(&k->c, &w) ||
        transact(k, req, w.len, &res) || res.outcome != AMI_DLMS_SUCCESS)
        abort();
}

static void close_session(client *k, server *s, pthread_t t)
{
    close(k->fd);
    pthread_join(t, NULL);
    close(s->listen_fd);
}

int main(void)
{
    static ami_cosem_obj objs[2];
    big_value[0] = AMI_AXDR_OCTET_STRING;
    big_value[1] = 0x82;
    big_value[2] = 0x04;
    big_value[3] = 0x00;
    objs[0] = (ami_cosem_obj){.class_id = AMI_COSEM_REGISTER,
                              .ln = AMI_OBIS(1, 0, 1, 8, 0, 255),
                              .read = reg_value,
                              .unit = 30};
    objs[1] = (ami_cosem_obj){.class_id = AMI_COSEM_DATA,
                              .ln = AMI_OBIS(0, 0, 128, 0, 0, 255),
                              .value = big_value,
                              .value_cap = sizeof big_value,
                              .value_len = sizeof big_value};
    static ami_cosem_store store;
    if (ami_cosem_store_init(&store, objs, 2, NULL))
        return 1;
    ami_dlms_policy pol = {.client_sap = 16,
                           .context = AMI_ACSE_CONTEXT_LN,
                           .conformance = AMI_CONF_GET | AMI_CONF_BLOCK_TRANSFER_WITH_GET_OR_READ |
                                          AMI_CONF_GENERAL_BLOCK_TRANSFER,
                           .max_pdu = 1024,
                           .gbt_window = 8};
    static server s;
    ami_dlms_server_config cfg = {
        .ops = &ami_cosem_store_ops, .store = &store, .policies = &pol, .policy_count = 1};
    if (ami_dlms_server_init(&s.srv, &cfg))
        return 1;
    unsigned ms = bench_ms();
    static client k;
    pthread_t t;
    ami_dlms_result res;

    /* One connection, associated; the echo baseline runs on it too (the server echoes while
     * s.echo is set, between round trips). */
    open_session(&k, &s, &t, 0xFFFF, false);
    k.sel = (ami_attr_sel){{3, {{1, 0, 1, 8, 0, 255}}, 2}, {false, 0, {NULL, 0}}};
    if (op_get(&k) != 5)
        return 1;
    /* Baseline message: the GET request (13 bytes) echoed (the response is 9). */
    static const uint8_t get_reg[] = {0xC0, 1, 0xC1, 0, 3, 1, 0, 1, 8, 0, 255, 2, 0};
    memcpy(k.echo_req, get_reg, sizeof get_reg);
    k.echo_len = sizeof get_reg;
    double base = 0, get = 0;
    for (int round = 0; round < 3; round++) {
        s.echo = true;
        double b = bench_run(op_echo, &k, ms);
        s.echo = false;
        double g = bench_run(op_get, &k, ms);
        if (round == 0 || b < base)
            base = b;
        if (round == 0 || g < get)
            get = g;
    }
    bench_report("GET register round trip over loopback TCP (client + server)", get,
                 "raw TCP echo round trip of the request", base, 0);
    printf("  = %.0f GET round trips/s against %.0f echo round trips/s\n", 1e9 / get, 1e9 / base);
    close_session(&k, &s, t);

    /* GBT: a 1 KB value in 40-byte-PDU blocks, window 8, streamed. */
    open_session(&k, &s, &t, 40, true);
    k.sel = (ami_attr_sel){{1, {{0, 0, 128, 0, 0, 255}}, 2}, {false, 0, {NULL, 0}}};
    if (op_get(&k) != sizeof big_value)
        return 1;
    double gbt = 0;
    base = 0;
    for (int round = 0; round < 3; round++) {
        s.echo = true;
        double b = bench_run(op_echo, &k, ms);
        s.echo = false;
        double g = bench_run(op_get, &k, ms);
        if (round == 0 || b < base)
            base = b;
        if (round == 0 || g < gbt)
            gbt = g;
    }
    {
        uint8_t req[128];
        ami_wr w;
        ami_wr_init(&w, req, sizeof req);
        if (ami_dlms_client_get(&k.c, &k.sel, 1, &w) || transact(&k, req, w.len, &res))
            return 1;
    }
    char name[128];
    snprintf(name, sizeof name, "GET 1028-byte value in %u GBT blocks (window 8, PDU 40)",
             (unsigned)res.blocks);
    bench_report(name, gbt, "raw TCP echo round trip of the request", base, sizeof big_value);
    close_session(&k, &s, t);

    /* Memory of one association: the struct and the buffers the server gives it. */
    size_t assoc = sizeof(ami_dlms_assoc);
    size_t small = assoc + 1024 + 1024;                     /* block 1 KiB, scratch 1 KiB */
    size_t with_gbt = small + 1024 + (1024 + 16);           /* + GBT rx 1 KiB, tx block + 16 */
    size_t sim = assoc + 16384 + 16384 + 4096 + 16384 + 64; /* ami sim's slot */
    printf("memory per association: ami_dlms_assoc %zu bytes = %.3fx a 1 KiB block buffer\n", assoc,
           (double)assoc / 1024.0);
    printf("  with 1 KiB block + 1 KiB scratch: %zu bytes = %.2fx; + GBT (1 KiB rx, 1040 tx): "
           "%zu bytes = %.2fx; ami sim's slot (16 KiB buffers): %zu bytes = %.1fx\n",
           small, (double)small / 1024.0, with_gbt, (double)with_gbt / 1024.0, sim,
           (double)sim / 1024.0);
    return 0;
}
