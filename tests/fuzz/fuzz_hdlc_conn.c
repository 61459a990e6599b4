/*
 * libFuzzer target: HDLC connection engine. A client (already connected through a scripted
 * SNRM/UA) and a server are each fed the input as if it came from the peer, in chunks, with
 * time advancing and their output drained: no crash, no over-read, no stuck loop.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>

#include "ami/ami.h"

static uint8_t rx[2][600], tx[2][600];

static void drain(ami_hdlc_conn *e, uint64_t now)
{
    static uint8_t out[AMI_HDLC_MAX_FRAME_BYTES];
    for (int i = 0; i < 64; i++) {
        int n = ami_hdlc_conn_output(e, now, out, sizeof out);
        if (n < 0)
            abort();
        if (n == 0)
            return;
    }
    abort(); /* an engine never has more than a window of frames plus a few controls queued */
}

static void run(ami_hdlc_conn *e, const uint8_t *data, size_t size, size_t chunk)
{
    uint64_t now = 0;
    size_t pos = 0;
    for (size_t guard = 0; guard < 4 * size + 64; guard++) {
        size_t n = size - pos < chunk ? size - pos : chunk, used;
        ami_hdlc_event ev;
        (void)ami_hdlc_conn_recv(e, data + pos, n, now, &used, &ev);
        pos += used;
        if (ev.type == AMI_HDLC_EV_APDU && ami_hdlc_conn_state(e) == AMI_HDLC_ST_CONNECTED)
            (void)ami_hdlc_conn_send_apdu(e, ev.data, ev.len > 200 ? 200 : ev.len, now);
        drain(e, now);
        if (ev.type == AMI_HDLC_EV_NONE) {
            now += 700;
            (void)ami_hdlc_conn_tick(e, now, &ev);
            drain(e, now);
            if (pos == size)
                return;
        }
    }
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t chunk = (size_t)(data[0] & 0x3F) + 1;
    unsigned lenient = (data[0] & 0x40 ? AMI_HDLC_CONN_LENIENT_ADDR_SIZE : 0) |
                       (data[0] & 0x80 ? AMI_HDLC_CONN_LENIENT_NO_LLC : 0);
    data++;
    size--;
    static ami_hdlc_conn c, s;
    ami_hdlc_conn_config cfg = {.role = AMI_HDLC_CLIENT,
                                .rx_buf = rx[0],
                                .rx_cap = sizeof rx[0],
                                .tx_buf = tx[0],
                                .tx_cap = sizeof tx[0],
                                .response_timeout_ms = 1000,
                                .inactivity_timeout_ms = 5000,
                                .lenient = lenient};
    ami_hdlc_client_addr(&cfg.client, 16);
    ami_hdlc_server_addr(&cfg.server, 1, 0, 1);
    ami_hdlc_params_default(&cfg.params);
    cfg.params.window_rx = 7;
    if (ami_hdlc_conn_init(&c, &cfg) || ami_hdlc_conn_connect(&c, 0))
        abort();
    drain(&c, 0);
    /* UA from server 1 to client 16 with default parameters. */
    static const uint8_t ua[] = {0x7E, 0xA0, 0x07, 0x21, 0x03, 0x73, 0x01, 0x40, 0x7E};
    size_t used;
    ami_hdlc_event ev;
    (void)ami_hdlc_conn_recv(&c, ua, sizeof ua, 0, &used, &ev);
    if (ev.type != AMI_HDLC_EV_CONNECTED)
        abort();
    (void)ami_hdlc_conn_send_apdu(&c, (const uint8_t *)"\xC0\x01\xC1\x00\x01", 5, 0);
    drain(&c, 0);
    run(&c, data, size, chunk);

    cfg.role = AMI_HDLC_SERVER;
    cfg.rx_buf = rx[1];
    cfg.tx_buf = tx[1];
    if (ami_hdlc_conn_init(&s, &cfg))
        abort();
    run(&s, data, size, chunk);
    return 0;
}
