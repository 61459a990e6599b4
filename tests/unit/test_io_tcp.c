/*
 * src/io/tcp.c on 127.0.0.1: TCP connect/listen/accept, refused and unresolvable peers, UDP
 * datagrams carrying wrapper messages, and an HDLC client and server engine talking through a
 * real TCP connection (HDLC over TCP, as through a terminal server), driven by poll.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "ami/ami.h"
#include "io/tcp.h"

static void tcp_pair(int *c, int *s)
{
    int l;
    uint16_t port;
    assert_int_equal(ami_tcp_listen("127.0.0.1", "0", 4, &l, &port), AMI_OK);
    assert_true(port > 0);
    char ps[8];
    snprintf(ps, sizeof ps, "%u", port);
    assert_int_equal(ami_tcp_connect("127.0.0.1", ps, 5000, c), AMI_OK);
    assert_int_equal(ami_io_wait(l, false, 5000), AMI_OK);
    assert_int_equal(ami_tcp_accept(l, s), AMI_OK);
    assert_int_equal(ami_tcp_accept(l, &(int){0}), AMI_E_AGAIN);
    close(l);
}

static void test_tcp_basics(void **state)
{
    (void)state;
    int c, s;
    tcp_pair(&c, &s);
    assert_int_equal(ami_io_read(s, (uint8_t[4]){0}, 4), AMI_E_AGAIN);
    assert_int_equal(ami_io_write(c, "hello", 5, 5000), AMI_OK);
    assert_int_equal(ami_io_wait(s, false, 5000), AMI_OK);
    char buf[16];
    assert_int_equal(ami_io_read(s, buf, sizeof buf), 5);
    assert_memory_equal(buf, "hello", 5);
    close(c);
    assert_int_equal(ami_io_wait(s, false, 5000), AMI_OK);
    assert_int_equal(ami_io_read(s, buf, sizeof buf), AMI_E_CLOSED);
    close(s);

    /* A port nobody listens on: refused. */
    int l;
    uint16_t port;
    assert_int_equal(ami_tcp_listen("127.0.0.1", "0", 1, &l, &port), AMI_OK);
    close(l);
    char ps[8];
    snprintf(ps, sizeof ps, "%u", port);
    assert_int_equal(ami_tcp_connect("127.0.0.1", ps, 5000, &c), AMI_E_REFUSED);
    assert_int_equal(c, -1);
    /* A service name that does not exist: not found (no DNS query for a numeric host). */
    assert_int_equal(ami_tcp_connect("127.0.0.1", "no-such-service-x", 1000, &c), AMI_E_NOTFOUND);
    assert_int_equal(ami_tcp_connect(NULL, "1", 1000, &c), AMI_E_INVAL);
}

static void test_udp_wrapper(void **state)
{
    (void)state;
    int srv, cli;
    uint16_t port;
    assert_int_equal(ami_udp_open("127.0.0.1", "0", false, &srv, &port), AMI_OK);
    char ps[8];
    snprintf(ps, sizeof ps, "%u", port);
    assert_int_equal(ami_udp_open("127.0.0.1", ps, true, &cli, NULL), AMI_OK);
    uint8_t out[64];
    ami_wr w;
    ami_wr_init(&w, out, sizeof out);
    assert_int_equal(ami_wrapper_encode(&w, 16, 1, (const uint8_t *)"\xC0\x01\xC1", 3), AMI_OK);
    assert_int_equal(ami_io_write(cli, out, w.len, 5000), AMI_OK);
    assert_int_equal(ami_io_wait(srv, false, 5000), AMI_OK);
    uint8_t in[64];
    int n = ami_io_read(srv, in, sizeof in);
    assert_int_equal(n, 11);
    ami_wrapper_msg m;
    assert_int_equal(ami_wrapper_datagram_decode(in, (size_t)n, &m), AMI_OK);
    assert_int_equal(m.hdr.src_wport, 16);
    assert_int_equal(m.apdu_len, 3);
    close(cli);
    close(srv);
}

/* Moves every frame an engine has to send into its socket. */
static void flush(ami_hdlc_conn *e, int fd)
{
    uint8_t out[AMI_HDLC_MAX_FRAME_BYTES];
    int n;
    while ((n = ami_hdlc_conn_output(e, ami_io_now_ms(), out, sizeof out)) > 0)
        assert_int_equal(ami_io_write(fd, out, (size_t)n, 5000), AMI_OK);
    assert_int_equal(n, 0);
}

static void test_hdlc_over_tcp(void **state)
{
    (void)state;
    int cfd, sfd;
    tcp_pair(&cfd, &sfd);
    static ami_hdlc_conn c, s;
    static uint8_t crx[4096], ctx[4096], srx[4096], stx[4096];
    ami_hdlc_conn_config cc = {.role = AMI_HDLC_CLIENT,
                               .rx_buf = crx,
                               .rx_cap = sizeof crx,
                               .tx_buf = ctx,
                               .tx_cap = sizeof ctx,
                               .response_timeout_ms = 2000};
    ami_hdlc_client_addr(&cc.client, 16);
    ami_hdlc_server_addr(&cc.server, 1, 17, 2);
    cc.params = (ami_hdlc_params){32, 32, 2, 2};
    ami_hdlc_conn_config sc = cc;
    sc.role = AMI_HDLC_SERVER;
    sc.rx_buf = srx;
    sc.tx_buf = stx;
    sc.params = (ami_hdlc_params){64, 64, 7, 7};
    assert_int_equal(ami_hdlc_conn_init(&c, &cc), AMI_OK);
    assert_int_equal(ami_hdlc_conn_init(&s, &sc), AMI_OK);
    assert_int_equal(ami_hdlc_conn_connect(&c, ami_io_now_ms()), AMI_OK);
    static uint8_t req[700], rsp[1500];
    for (size_t i = 0; i < sizeof req; i++)
        req[i] = (uint8_t)(i * 5);
    for (size_t i = 0; i < sizeof rsp; i++)
        rsp[i] = (uint8_t)(i * 11 + 1);
    bool got_rsp = false, down = false;
    for (int iter = 0; iter < 10000 && !down; iter++) {
        flush(&c, cfd);
        flush(&s, sfd);
        struct pollfd p[2] = {{.fd = cfd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
        assert_true(poll(p, 2, 5000) > 0);
        for (int k = 0; k < 2; k++) {
            if (!(p[k].revents & POLLIN))
                continue;
            ami_hdlc_conn *e = k == 0 ? &c : &s;
            uint8_t in[700]; /* smaller than some bursts: frames arrive split */
            int n = ami_io_read(p[k].fd, in, sizeof in);
            if (n == AMI_E_AGAIN)
                continue;
            assert_true(n > 0);
            size_t pos = 0;
            for (;;) {
                size_t used;
                ami_hdlc_event ev;
                assert_int_equal(
                    ami_hdlc_conn_recv(e, in + pos, (size_t)n - pos, ami_io_now_ms(), &used, &ev),
                    AMI_OK);
                pos += used;
                if (ev.type == AMI_HDLC_EV_NONE)
                    break;
                if (k == 0 && ev.type == AMI_HDLC_EV_CONNECTED) {
                    assert_int_equal(ami_hdlc_conn_params(&c)->max_info_tx, 32);
                    assert_int_equal(ami_hdlc_conn_params(&c)->window_tx, 2);
                    assert_int_equal(ami_hdlc_conn_send_apdu(&c, req, sizeof req, ami_io_now_ms()),
                                     AMI_OK);
                } else if (k == 1 && ev.type == AMI_HDLC_EV_APDU) {
                    assert_int_equal(ev.len, sizeof req);
                    assert_memory_equal(ev.data, req, sizeof req);
                    assert_int_equal(ami_hdlc_conn_send_apdu(&s, rsp, sizeof rsp, ami_io_now_ms()),
                                     AMI_OK);
                } else if (k == 0 && ev.type == AMI_HDLC_EV_APDU) {
                    assert_int_equal(ev.len, sizeof rsp);
                    assert_memory_equal(ev.data, rsp, sizeof rsp);
                    got_rsp = true;
                    assert_int_equal(ami_hdlc_conn_disconnect(&c, ami_io_now_ms()), AMI_OK);
                } else if (k == 0 && ev.type == AMI_HDLC_EV_DISCONNECTED) {
                    assert_int_equal(ev.reason, AMI_HDLC_REASON_LOCAL);
                    down = true;
                }
            }
        }
    }
    assert_true(got_rsp);
    assert_true(down);
    assert_int_equal(ami_hdlc_conn_state(&s), AMI_HDLC_ST_DISCONNECTED);
    close(cfd);
    close(sfd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp_basics),
        cmocka_unit_test(test_udp_wrapper),
        cmocka_unit_test(test_hdlc_over_tcp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
