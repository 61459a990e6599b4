/*
 * libFuzzer target: an HDLC client and server wired together through a pipe whose faults
 * (drop, duplicate, corrupt a byte, split delivery) are chosen by the input, with parameters
 * (information lengths, windows) from its first bytes. Checked properties:
 *   - every APDU delivered is exactly the one sent, in order, once;
 *   - the exchange completes or fails cleanly with a named reason (timeout/protocol/dm);
 *   - it never livelocks: once the input is used up the pipe is perfect and the link must
 *     finish within a bounded number of steps.
 * Cost: an APDU is at most SEGMENTS information fields of its direction (the smaller of the
 * sender's max_info_tx and the receiver's max_info_rx), so that a 1-byte field does not make a
 * run hundreds of frames long: segmentation, windows and their recovery are as reachable with
 * a few segments as with hundreds, and a run costs about SEGMENTS frames per direction and
 * round (profiled with perf: CRC, framing and deframing of those frames are nearly all of it).
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "ami/ami.h"

typedef struct src {
    const uint8_t *p;
    size_t n;
} src;

static unsigned take(src *s)
{
    if (!s->n)
        return 0;
    s->n--;
    return *s->p++;
}

typedef struct pipe {
    uint8_t buf[1 << 15];
    size_t len;
} pipe;

static void put(pipe *p, const uint8_t *b, size_t n, src *s)
{
    unsigned f = take(s);
    if ((f & 7) == 1)
        return; /* lost */
    int copies = (f & 7) == 2 ? 2 : 1;
    for (int k = 0; k < copies; k++) {
        if (p->len + n > sizeof p->buf)
            return; /* a full pipe loses frames too */
        memcpy(p->buf + p->len, b, n);
        if ((f & 7) == 3)
            p->buf[p->len + take(s) % n] ^= (uint8_t)(1 + take(s) % 255);
        p->len += n;
    }
}

static uint8_t crx[1200], ctx_[1200], srx[1200], stx[1200];

/* Information fields per APDU at most (see the cost note above). */
#define SEGMENTS 6u

/* The longest APDU of a direction: SEGMENTS fields of the smaller negotiable length, and no
 * more than the buffer `cap` holds. */
static size_t apdu_max(uint16_t tx, uint16_t rx, size_t cap)
{
    size_t n = SEGMENTS * (size_t)(tx < rx ? tx : rx);
    return n < cap ? n : cap;
}

static void params(ami_hdlc_params *p, src *s)
{
    p->max_info_tx = (uint16_t)(1 + take(s) % 64);
    p->max_info_rx = (uint16_t)(1 + take(s) % 64);
    p->window_tx = (uint8_t)(1 + take(s) % 7);
    p->window_rx = (uint8_t)(1 + take(s) % 7);
}

/* Feeds a pipe to an engine, in pieces whose sizes come from the input. */
static int deliver(ami_hdlc_conn *e, pipe *p, uint64_t now, src *s, ami_hdlc_event *evs,
                   size_t *nev)
{
    size_t pos = 0;
    *nev = 0;
    /* Until the input is used up and the engine has no buffered frame left to report. */
    for (;;) {
        size_t piece = s->n ? 1 + take(s) % 64 : p->len; /* whole once the input is used up */
        if (piece > p->len - pos)
            piece = p->len - pos;
        size_t used;
        ami_hdlc_event ev;
        (void)ami_hdlc_conn_recv(e, p->buf + pos, piece, now, &used, &ev);
        pos += used;
        if (ev.type != AMI_HDLC_EV_NONE) {
            /* Views last until the next call: keep a copy. */
            static uint8_t copies[16][1200];
            if (*nev == 16 || ev.len > sizeof copies[0])
                abort();
            if (ev.len)
                memcpy(copies[*nev], ev.data, ev.len);
            ev.data = copies[*nev];
            evs[(*nev)++] = ev;
        } else if (pos == p->len) {
            break;
        }
    }
    p->len = 0;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    src s = {data, size};
    static ami_hdlc_conn c, sv;
    static pipe to_s, to_c;
    /* Small APDUs keep a run short (1-byte segments are possible): more runs per second. */
    static uint8_t req[200], rsp[300];
    ami_hdlc_conn_config cc = {.role = AMI_HDLC_CLIENT,
                               .rx_buf = crx,
                               .rx_cap = sizeof crx,
                               .tx_buf = ctx_,
                               .tx_cap = sizeof ctx_,
                               .response_timeout_ms = 100,
                               .max_retries = 6};
    ami_hdlc_client_addr(&cc.client, 16);
    ami_hdlc_server_addr(&cc.server, 1, 17, 2);
    params(&cc.params, &s);
    ami_hdlc_conn_config sc = cc;
    sc.role = AMI_HDLC_SERVER;
    sc.rx_buf = srx;
    sc.tx_buf = stx;
    params(&sc.params, &s);
    if (ami_hdlc_conn_init(&c, &cc) || ami_hdlc_conn_init(&sv, &sc))
        abort();
    size_t req_max = apdu_max(cc.params.max_info_tx, sc.params.max_info_rx, sizeof req);
    size_t rsp_max = apdu_max(sc.params.max_info_tx, cc.params.max_info_rx, sizeof rsp);
    to_s.len = to_c.len = 0;
    if (ami_hdlc_conn_connect(&c, 0))
        abort();
    uint64_t now = 0;
    size_t round = 0, rounds = 3, req_len = 0, rsp_len = 0;
    bool has_rsp = false, has_req = false, started = false;
    for (int iter = 0; iter < 20000; iter++) {
        if (s.n == 0 && iter > 10000)
            abort(); /* perfect pipe for a long time and still not done: livelock */
        static uint8_t out[AMI_HDLC_MAX_FRAME_BYTES];
        int n;
        bool moved = false;
        while ((n = ami_hdlc_conn_output(&c, now, out, sizeof out)) > 0) {
            put(&to_s, out, (size_t)n, &s);
            moved = true;
        }
        while ((n = ami_hdlc_conn_output(&sv, now, out, sizeof out)) > 0) {
            put(&to_c, out, (size_t)n, &s);
            moved = true;
        }
        if (n < 0)
            abort();
        ami_hdlc_event ev[16];
        size_t ne;
        if (to_s.len) {
            moved = true;
            deliver(&sv, &to_s, now, &s, ev, &ne);
            for (size_t k = 0; k < ne; k++) {
                if (ev[k].type != AMI_HDLC_EV_APDU)
                    continue;
                if (has_req || ev[k].len != req_len || memcmp(ev[k].data, req, req_len))
                    abort();
                has_req = true;
                rsp_len = 1 + (req_len * 3) % rsp_max;
                for (size_t i = 0; i < rsp_len; i++)
                    rsp[i] = (uint8_t)(round * 5 + i);
                if (ami_hdlc_conn_send_apdu(&sv, rsp, rsp_len, now))
                    abort();
            }
        }
        if (to_c.len) {
            moved = true;
            deliver(&c, &to_c, now, &s, ev, &ne);
            for (size_t k = 0; k < ne; k++) {
                if (ev[k].type == AMI_HDLC_EV_APDU) {
                    if (!has_req || has_rsp || ev[k].len != rsp_len ||
                        memcmp(ev[k].data, rsp, rsp_len))
                        abort();
                    has_rsp = true;
                } else if (ev[k].type == AMI_HDLC_EV_DISCONNECTED) {
                    if (ev[k].reason == AMI_HDLC_REASON_LOCAL && round != rounds)
                        abort();
                    return 0; /* done, or failed cleanly */
                }
            }
        }
        if (ami_hdlc_conn_state(&c) == AMI_HDLC_ST_CONNECTED && (!started || has_rsp) &&
            round < rounds) {
            if (has_rsp)
                round++;
            started = true;
            has_rsp = has_req = false;
            if (round == rounds) {
                if (ami_hdlc_conn_disconnect(&c, now))
                    abort();
            } else {
                req_len = 1 + (take(&s) * 7u + round * 131u) % req_max;
                for (size_t i = 0; i < req_len; i++)
                    req[i] = (uint8_t)(round + i * 3);
                if (ami_hdlc_conn_send_apdu(&c, req, req_len, now))
                    abort();
            }
            moved = true;
        }
        if (!moved) {
            uint64_t d = ami_hdlc_conn_deadline(&c), d2 = ami_hdlc_conn_deadline(&sv);
            if (d2 < d)
                d = d2;
            if (d == UINT64_MAX)
                abort(); /* nothing in flight, nothing scheduled, not finished: stuck */
            if (d > now)
                now = d;
            ami_hdlc_event t;
            ami_hdlc_conn_tick(&sv, now, &t);
            ami_hdlc_conn_tick(&c, now, &t);
            if (t.type == AMI_HDLC_EV_DISCONNECTED)
                return 0; /* clean failure (timeout) */
        }
    }
    abort();
}
