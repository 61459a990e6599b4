/*
 * DLMS client session (Green Book 9.4): replay of the recorded Gurux sessions through our client
 * over the HDLC connection engine and over the wrapper (byte-identical AARQ, GET, GET-next, RLRQ
 * and, at HDLC level, SNRM/I/RR/DISC; every response parsed), faults (corrupted and lost
 * frames, stale invoke ids, blocks out of sequence, oversize data), remote outcomes (rejected
 * association, data-access-result, exception-response), SET/ACTION block transfer against a
 * small server max PDU, and the HLS pass-3/4 hook.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "hdlc_testlib.h"
#include "ami/ami.h"
#include "dlms_client_fixtures.h"

/* ---------------------------------------------------------------- the recorded requests */

typedef struct req_list {
    ami_apdu a[512];
    size_t n, next;
} req_list;

static uint8_t pre_arena_buf[1 << 20];
static ami_arena pre_arena;

/* Adds the application requests of one APDU sent by the recorded client (GET-next excluded:
 * our client must emit those on its own). */
static void add_request(req_list *l, const uint8_t *apdu, size_t len)
{
    ami_apdu a;
    assert_int_equal(ami_apdu_decode(apdu, len, &pre_arena, NULL, &a), AMI_OK);
    if (a.tag == AMI_APDU_GET_REQUEST && a.u.get_request.type == AMI_GET_NEXT)
        return;
    assert_true(a.tag == AMI_ACSE_AARQ || a.tag == AMI_ACSE_RLRQ || a.tag == AMI_APDU_GET_REQUEST);
    assert_true(l->n < AMI_COUNTOF(l->a));
    l->a[l->n++] = a;
}

/* ---------------------------------------------------------------- client setup */

static uint8_t data_buf[1 << 16];
static uint8_t arena_buf[1 << 16];
static ami_arena arena;
static ami_dlms_item items[32];

static void client_config(ami_dlms_client_config *cfg, const char *password)
{
    memset(cfg, 0, sizeof *cfg);
    df_client_recorded(cfg);
    if (password) {
        cfg->mechanism = AMI_ACSE_MECH_LOW;
        cfg->auth_value = ami_view_of(password, strlen(password));
    }
    df_client_buffers(cfg, data_buf, sizeof data_buf, &arena, arena_buf, sizeof arena_buf, items,
                      AMI_COUNTOF(items));
}

/* Issues the next recorded request; false when none is left. */
static bool issue(ami_dlms_client *c, req_list *l, ami_wr *out)
{
    if (l->next == l->n)
        return false;
    const ami_apdu *a = &l->a[l->next++];
    switch (a->tag) {
    case AMI_ACSE_AARQ:
        assert_int_equal(ami_dlms_client_associate(c, out), AMI_OK);
        break;
    case AMI_ACSE_RLRQ:
        assert_int_equal(ami_dlms_client_release(c, out), AMI_OK);
        break;
    default:
        if (a->u.get_request.type == AMI_GET_NORMAL)
            assert_int_equal(ami_dlms_client_get(c, &a->u.get_request.attr, 1, out), AMI_OK);
        else
            assert_int_equal(
                ami_dlms_client_get(c, a->u.get_request.list, a->u.get_request.count, out), AMI_OK);
    }
    return true;
}

/* What a replay saw. */
typedef struct replay_stats {
    size_t completed, data, dar, blocks;
    ami_dlms_result last;
    uint8_t last_data[256];
    size_t last_len;
    bool released;
} replay_stats;

/* Checks one completed result: every Data decodes. */
static void check_result(const ami_dlms_result *res, replay_stats *st)
{
    st->completed++;
    st->blocks += res->blocks;
    if (res->outcome == AMI_DLMS_DATA_ACCESS_RESULT)
        st->dar++;
    if (res->has_data) {
        static uint8_t tree[1 << 20];
        ami_arena t;
        ami_arena_init(&t, tree, sizeof tree);
        ami_rd r;
        ami_rd_init(&r, res->data.p, res->data.len);
        ami_axdr_value *v;
        assert_int_equal(ami_axdr_decode(&r, &t, NULL, &v), AMI_OK);
        st->data++;
        st->last_len = res->data.len < sizeof st->last_data ? res->data.len : 0;
        memcpy(st->last_data, res->data.p, st->last_len);
    }
    st->last = *res;
}

static void mismatch(const char *file, size_t i, const uint8_t *ours, size_t n,
                     const hdlc_record *want)
{
    static char a[8192], b[8192];
    ami_hex_encode(ours, n, a, sizeof a);
    ami_hex_encode(want->bytes, want->len, b, sizeof b);
    fail_msg("%s record %zu:\n ours %s\n want %s", file, i, a, b);
}

/* ---------------------------------------------------------------- HDLC replay */

typedef struct hdlc_replay {
    const char *file;
    hdlc_record *r;
    size_t count, pos;
    ami_hdlc_conn conn;
    ami_dlms_client cl;
    req_list reqs;
    uint64_t now;
    replay_stats st;
    bool down;
    uint8_t *copies[64]; /* the recorded requests (decoded views point into them) */
    size_t ncopies;
} hdlc_replay;

static uint8_t conn_rx[1 << 16], conn_tx[1 << 16];

/* Every frame our client emits now must be the next recorded TX frame. */
static void flush_out(hdlc_replay *h)
{
    uint8_t out[AMI_HDLC_MAX_FRAME_BYTES];
    for (;;) {
        int n = ami_hdlc_conn_output(&h->conn, h->now, out, sizeof out);
        assert_true(n >= 0);
        if (n == 0)
            return;
        assert_true(h->pos < h->count);
        const hdlc_record *w = &h->r[h->pos];
        if (!w->tx || (size_t)n != w->len || memcmp(out, w->bytes, w->len) != 0)
            mismatch(h->file, h->pos, out, (size_t)n, w);
        h->pos++;
    }
}

static void send_apdu(hdlc_replay *h, const uint8_t *apdu, size_t len)
{
    assert_int_equal(ami_hdlc_conn_send_apdu(&h->conn, apdu, len, h->now), AMI_OK);
}

static void next_request(hdlc_replay *h)
{
    uint8_t buf[4096];
    ami_wr w;
    ami_wr_init(&w, buf, sizeof buf);
    if (issue(&h->cl, &h->reqs, &w))
        send_apdu(h, buf, w.len);
    else
        assert_int_equal(ami_hdlc_conn_disconnect(&h->conn, h->now), AMI_OK);
}

static void on_event(hdlc_replay *h, const ami_hdlc_event *ev)
{
    if (ev->type == AMI_HDLC_EV_CONNECTED) {
        next_request(h);
    } else if (ev->type == AMI_HDLC_EV_APDU) {
        uint8_t buf[4096];
        ami_wr w;
        ami_wr_init(&w, buf, sizeof buf);
        ami_dlms_result res;
        int rc = ami_dlms_client_input(&h->cl, ev->data, ev->len, &w, &res);
        if (rc == AMI_E_AGAIN) {
            assert_true(w.len > 0);
            send_apdu(h, buf, w.len);
            return;
        }
        assert_int_equal(rc, AMI_OK);
        if (ami_dlms_client_state_get(&h->cl) == AMI_DLMS_CLIENT_IDLE)
            h->st.released = true;
        else
            check_result(&res, &h->st);
        next_request(h);
    } else if (ev->type == AMI_HDLC_EV_DISCONNECTED) {
        assert_int_equal(ev->reason, AMI_HDLC_REASON_LOCAL);
        h->down = true;
    }
}

static void feed_frame(hdlc_replay *h, const uint8_t *b, size_t n)
{
    size_t pos = 0;
    for (;;) {
        size_t used;
        ami_hdlc_event ev;
        int rc = ami_hdlc_conn_recv(&h->conn, b + pos, n - pos, h->now, &used, &ev);
        assert_int_equal(rc, AMI_OK);
        pos += used;
        if (ev.type != AMI_HDLC_EV_NONE) {
            on_event(h, &ev);
            continue;
        }
        if (pos == n)
            return;
    }
}

static void hdlc_setup(hdlc_replay *h, const char *file, const char *password)
{
    memset(h, 0, sizeof *h);
    h->file = file;
    h->r = hdlc_load(tu_testdata(file), &h->count);
    /* The recorded requests, reassembled from the TX I-frames. */
    static uint8_t apdu[1 << 16];
    size_t have = 0;
    ami_arena_init(&pre_arena, pre_arena_buf, sizeof pre_arena_buf);
    ami_hdlc_frame f;
    for (size_t i = 0; i < h->count; i++) {
        if (!h->r[i].tx)
            continue;
        assert_int_equal(ami_hdlc_frame_decode(h->r[i].bytes, h->r[i].len, 0, &f),
                         (int)h->r[i].len);
        if (f.type == AMI_HDLC_SNRM) {
            ami_hdlc_conn_config cc;
            memset(&cc, 0, sizeof cc);
            cc.role = AMI_HDLC_CLIENT;
            cc.client = f.src;
            cc.server = f.dest;
            ami_hdlc_params_default(&cc.params);
            cc.rx_buf = conn_rx;
            cc.rx_cap = sizeof conn_rx;
            cc.tx_buf = conn_tx;
            cc.tx_cap = sizeof conn_tx;
            cc.response_timeout_ms = 1000;
            assert_int_equal(ami_hdlc_conn_init(&h->conn, &cc), AMI_OK);
        }
        if (f.type != AMI_HDLC_I)
            continue;
        memcpy(apdu + have, f.info, f.info_len);
        have += f.info_len;
        if (!f.segmented) {
            /* Kept alive: the decoded views point into a copy per request. */
            uint8_t *copy = malloc(have);
            assert_non_null(copy);
            assert_true(h->ncopies < AMI_COUNTOF(h->copies));
            h->copies[h->ncopies++] = copy;
            memcpy(copy, apdu, have);
            add_request(&h->reqs, copy + 3, have - 3);
            have = 0;
        }
    }
    ami_dlms_client_config cfg;
    client_config(&cfg, password);
    assert_int_equal(ami_dlms_client_init(&h->cl, &cfg), AMI_OK);
    assert_int_equal(ami_hdlc_conn_connect(&h->conn, h->now), AMI_OK);
    flush_out(h);
}

static void hdlc_run(hdlc_replay *h)
{
    while (h->pos < h->count) {
        const hdlc_record *w = &h->r[h->pos];
        if (w->tx)
            fail_msg("%s record %zu: our client did not send it", h->file, h->pos);
        h->pos++;
        h->now += 10;
        feed_frame(h, w->bytes, w->len);
        flush_out(h);
    }
    assert_true(h->down);
    assert_true(h->st.released);
    assert_int_equal(h->reqs.next, h->reqs.n);
    assert_int_equal(ami_hdlc_conn_state(&h->conn), AMI_HDLC_ST_DISCONNECTED);
}

static void hdlc_teardown(hdlc_replay *h)
{
    hdlc_free(h->r, h->count);
    for (size_t i = 0; i < h->ncopies; i++)
        free(h->copies[i]);
}

static hdlc_replay hr;

static void test_replay_hdlc_noauth_clock(void **state)
{
    (void)state;
    hdlc_setup(&hr, "dlms/session_gurux_hdlc_ln_noauth_get_clock.txt", NULL);
    hdlc_run(&hr);
    /* association view (in blocks) + the clock's attributes */
    assert_true(hr.st.completed >= 2);
    assert_true(hr.st.blocks >= 5);
    assert_int_equal(ami_dlms_client_server_max_pdu(&hr.cl), 0x0200);
    hdlc_teardown(&hr);
}

static void test_replay_hdlc_lls(void **state)
{
    (void)state;
    hdlc_setup(&hr, "dlms/session_gurux_hdlc_ln_lls.txt", "Gurux");
    hdlc_run(&hr);
    assert_true(hr.st.completed >= 2);
    hdlc_teardown(&hr);
}

static void test_replay_hdlc_profile(void **state)
{
    (void)state;
    hdlc_setup(&hr, "dlms/session_gurux_hdlc_ln_read_profile_generic.txt", NULL);
    hdlc_run(&hr);
    assert_true(hr.st.completed >= 2);
    assert_true(hr.st.data >= 2);
    hdlc_teardown(&hr);
}

/*
 * Faults: a corrupted AARE frame is dropped by the HDLC layer and recovered by retransmission
 * (the session survives); a server that never answers ends in DISCONNECTED/TIMEOUT and the
 * session is reset (a clean, named failure).
 */
static void test_replay_faults(void **state)
{
    (void)state;
    hdlc_setup(&hr, "dlms/session_gurux_hdlc_ln_noauth_get_clock.txt", NULL);
    /* UA */
    hr.now += 10;
    feed_frame(&hr, hr.r[hr.pos].bytes, hr.r[hr.pos].len);
    hr.pos++;
    flush_out(&hr); /* AARQ */
    const hdlc_record *aare = &hr.r[hr.pos];
    assert_true(aare->rx);
    uint8_t bad[256];
    memcpy(bad, aare->bytes, aare->len);
    bad[aare->len / 2] ^= 0x01;
    feed_frame(&hr, bad, aare->len);
    assert_int_equal(ami_dlms_client_state_get(&hr.cl), AMI_DLMS_CLIENT_ASSOCIATING);
    assert_true(ami_hdlc_conn_stats_get(&hr.conn)->bad_frames >= 1);
    /* The retransmission timer fires: the AARQ I-frame again (poll bit). */
    uint64_t dl = ami_hdlc_conn_deadline(&hr.conn);
    assert_true(dl != UINT64_MAX);
    hr.now = dl;
    ami_hdlc_event ev;
    assert_int_equal(ami_hdlc_conn_tick(&hr.conn, hr.now, &ev), AMI_OK);
    assert_int_equal(ev.type, AMI_HDLC_EV_NONE);
    uint8_t out[AMI_HDLC_MAX_FRAME_BYTES];
    int n = ami_hdlc_conn_output(&hr.conn, hr.now, out, sizeof out);
    assert_int_equal(n, (int)hr.r[hr.pos - 1].len);
    assert_memory_equal(out, hr.r[hr.pos - 1].bytes, hr.r[hr.pos - 1].len);
    /* The good AARE now: the replay continues unchanged. */
    hdlc_run(&hr);
    assert_true(hr.st.completed >= 2);
    hdlc_teardown(&hr);

    /* Lost for good: the server falls silent after the AARQ. */
    hdlc_setup(&hr, "dlms/session_gurux_hdlc_ln_noauth_get_clock.txt", NULL);
    hr.now += 10;
    feed_frame(&hr, hr.r[hr.pos].bytes, hr.r[hr.pos].len);
    hr.pos++;
    flush_out(&hr);
    for (int i = 0; i < 10 && ami_hdlc_conn_state(&hr.conn) == AMI_HDLC_ST_CONNECTED; i++) {
        hr.now = ami_hdlc_conn_deadline(&hr.conn);
        assert_int_equal(ami_hdlc_conn_tick(&hr.conn, hr.now, &ev), AMI_OK);
        while (ami_hdlc_conn_output(&hr.conn, hr.now, out, sizeof out) > 0)
            ;
        if (ev.type == AMI_HDLC_EV_DISCONNECTED)
            assert_int_equal(ev.reason, AMI_HDLC_REASON_TIMEOUT);
    }
    assert_int_equal(ami_hdlc_conn_state(&hr.conn), AMI_HDLC_ST_DISCONNECTED);
    ami_dlms_client_reset(&hr.cl);
    assert_int_equal(ami_dlms_client_state_get(&hr.cl), AMI_DLMS_CLIENT_IDLE);
    ami_wr w;
    ami_wr_init(&w, out, sizeof out);
    assert_int_equal(ami_dlms_client_get(&hr.cl, &hr.reqs.a[1].u.get_request.attr, 1, &w),
                     AMI_E_STATE);
    hdlc_teardown(&hr);
}

/* ---------------------------------------------------------------- wrapper replay */

static void test_replay_wrapper(void **state)
{
    (void)state;
    const char *file = "dlms/session_gurux_wrapper_ln_read_all_incl_selective_access.txt";
    size_t count;
    hdlc_record *r = hdlc_load(tu_testdata(file), &count);
    static req_list reqs;
    memset(&reqs, 0, sizeof reqs);
    ami_arena_init(&pre_arena, pre_arena_buf, sizeof pre_arena_buf);
    for (size_t i = 0; i < count; i++) {
        ami_wrapper_msg m;
        assert_int_equal(ami_wrapper_datagram_decode(r[i].bytes, r[i].len, &m), AMI_OK);
        if (r[i].tx)
            add_request(&reqs, m.apdu, m.apdu_len);
    }
    static ami_dlms_client c;
    ami_dlms_client_config cfg;
    client_config(&cfg, NULL);
    assert_int_equal(ami_dlms_client_init(&c, &cfg), AMI_OK);
    static uint8_t sbuf[1 << 16];
    ami_wrapper_stream s;
    assert_int_equal(ami_wrapper_stream_init(&s, sbuf, sizeof sbuf), AMI_OK);
    replay_stats st;
    memset(&st, 0, sizeof st);
    size_t pos = 0, selective = 0;
    uint8_t apdu[4096], msg[4200];
    ami_wr w;
    ami_wr_init(&w, apdu, sizeof apdu);
    assert_true(issue(&c, &reqs, &w));
    for (;;) {
        if (w.len) {
            ami_wr mw;
            ami_wr_init(&mw, msg, sizeof msg);
            assert_int_equal(ami_wrapper_encode(&mw, 16, 1, apdu, w.len), AMI_OK);
            assert_true(pos < count);
            if (!r[pos].tx || mw.len != r[pos].len || memcmp(msg, r[pos].bytes, mw.len) != 0)
                mismatch(file, pos, msg, mw.len, &r[pos]);
            if (apdu[0] == AMI_APDU_GET_REQUEST && apdu[1] == AMI_GET_NORMAL && apdu[12] == 1)
                selective++;
            pos++;
        }
        if (pos == count)
            break;
        assert_true(r[pos].rx);
        size_t used;
        ami_wrapper_msg m;
        assert_int_equal(ami_wrapper_stream_next(&s, r[pos].bytes, r[pos].len, &used, &m), AMI_OK);
        assert_int_equal(used, r[pos].len);
        assert_int_equal(m.hdr.src_wport, 1);
        assert_int_equal(m.hdr.dst_wport, 16);
        pos++;
        ami_dlms_result res;
        ami_wr_init(&w, apdu, sizeof apdu);
        int rc = ami_dlms_client_input(&c, m.apdu, m.apdu_len, &w, &res);
        if (rc == AMI_E_AGAIN) {
            assert_true(w.len > 0);
            continue;
        }
        assert_int_equal(rc, AMI_OK);
        if (ami_dlms_client_state_get(&c) == AMI_DLMS_CLIENT_IDLE)
            st.released = true;
        else
            check_result(&res, &st);
        ami_wr_init(&w, apdu, sizeof apdu);
        if (!issue(&c, &reqs, &w))
            break;
    }
    assert_int_equal(pos, count);
    assert_true(st.released);
    assert_int_equal(reqs.next, reqs.n);
    /* the AARQ and 286 GETs (4 of them in 28 blocks, i.e. 24 GET-next), two with selective access;
     * two reads end in a data-access-result */
    assert_int_equal(st.completed, 287);
    assert_int_equal(st.data, 284);
    assert_int_equal(selective, 2);
    assert_int_equal(st.dar, 2);
    assert_int_equal(st.blocks, 28);
    hdlc_free(r, count);
}

/* ---------------------------------------------------------------- synthetic exchanges */

static const char aare_ok_hex[] = "6129A109060760857405080101A203020100A305A103020100BE10040E0800"
                                  "065F1F040000001802000007";

static void associate(ami_dlms_client *c, ami_dlms_client_config *cfg)
{
    assert_int_equal(ami_dlms_client_init(c, cfg), AMI_OK);
    uint8_t b[256];
    ami_wr w;
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_associate(c, &w), AMI_OK);
    size_t n;
    uint8_t *aare = tu_hex(aare_ok_hex, &n);
    ami_dlms_result res;
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_input(c, aare, n, &w, &res), AMI_OK);
    assert_int_equal(res.outcome, AMI_DLMS_SUCCESS);
    assert_int_equal(res.layer, AMI_DLMS_LAYER_ACSE);
    assert_int_equal(ami_dlms_client_state_get(c), AMI_DLMS_CLIENT_READY);
    assert_int_equal(ami_dlms_client_conformance(c), 0x000018);
    free(aare);
}

static int feed_hex(ami_dlms_client *c, const char *hex, ami_wr *w, ami_dlms_result *res)
{
    size_t n;
    uint8_t *b = tu_hex(hex, &n);
    int rc = ami_dlms_client_input(c, b, n, w, res);
    free(b);
    return rc;
}

static const ami_attr_sel clock_time = {{8, {{0, 0, 1, 0, 0, 255}}, 2}, {false, 0, {NULL, 0}}};

static void test_get_outcomes_and_faults(void **state)
{
    (void)state;
    static ami_dlms_client c;
    ami_dlms_client_config cfg;
    client_config(&cfg, NULL);
    cfg.fixed_invoke_id = false;
    associate(&c, &cfg);
    uint8_t b[256];
    ami_wr w;
    ami_dlms_result res;
    char text[160];

    /* invoke id 1, high priority: C0 01 C1 0008 0000010000FF 02 00 */
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_get(&c, &clock_time, 1, &w), AMI_OK);
    assert_int_equal(w.len, 13);
    assert_memory_equal(b, "\xC0\x01\xC1\x00\x08\x00\x00\x01\x00\x00\xFF\x02\x00", 13);
    /* busy: a second request is refused */
    assert_int_equal(ami_dlms_client_get(&c, &clock_time, 1, &w), AMI_E_STATE);
    /* a late answer with invoke id 0 is ignored */
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(feed_hex(&c, "C401C00011 05", &w, &res), AMI_E_AGAIN);
    assert_int_equal(w.len, 0);
    /* data-access-result object-undefined */
    assert_int_equal(feed_hex(&c, "C401C10104", &w, &res), AMI_OK);
    assert_int_equal(res.outcome, AMI_DLMS_DATA_ACCESS_RESULT);
    assert_int_equal(res.dar, AMI_DAR_OBJECT_UNDEFINED);
    assert_true(ami_dlms_result_describe(&res, text, sizeof text) > 0);
    assert_string_equal(text, "xDLMS: data-access-result object-undefined");

    /* invoke id 2: exception-response */
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_get(&c, &clock_time, 1, &w), AMI_OK);
    assert_int_equal(b[2], 0xC2);
    assert_int_equal(feed_hex(&c, "D80102", &w, &res), AMI_OK);
    assert_int_equal(res.outcome, AMI_DLMS_EXCEPTION);
    ami_dlms_result_describe(&res, text, sizeof text);
    assert_string_equal(text, "xDLMS: exception-response service-not-allowed, "
                              "service-not-supported");

    /* invoke id 3: truncated response, session ready again */
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_get(&c, &clock_time, 1, &w), AMI_OK);
    assert_int_equal(feed_hex(&c, "C401C30009", &w, &res), AMI_E_TRUNCATED);
    assert_int_equal(ami_dlms_client_state_get(&c), AMI_DLMS_CLIENT_READY);
    assert_int_equal(feed_hex(&c, "C401C30011 05", &w, &res), AMI_E_STATE);

    /* invoke id 4: blocks, then one out of sequence */
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_get(&c, &clock_time, 1, &w), AMI_OK);
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(feed_hex(&c, "C402C4 00 00000001 00 02 0102", &w, &res), AMI_E_AGAIN);
    assert_int_equal(w.len, 7);
    assert_memory_equal(b, "\xC0\x02\xC4\x00\x00\x00\x01", 7);
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(feed_hex(&c, "C402C4 00 00000003 00 02 1105", &w, &res), AMI_E_PROTOCOL);

    /* invoke id 5: blocks reassembled into one array of two unsigned */
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_get(&c, &clock_time, 1, &w), AMI_OK);
    assert_int_equal(feed_hex(&c, "C402C5 00 00000001 00 02 0102", &w, &res), AMI_E_AGAIN);
    assert_int_equal(feed_hex(&c, "C402C5 00 00000002 00 02 1105", &w, &res), AMI_E_AGAIN);
    assert_int_equal(feed_hex(&c, "C402C5 01 00000003 00 02 1106", &w, &res), AMI_OK);
    assert_int_equal(res.outcome, AMI_DLMS_SUCCESS);
    assert_int_equal(res.blocks, 3);
    assert_int_equal(res.data.len, 6);
    assert_memory_equal(res.data.p, "\x01\x02\x11\x05\x11\x06", 6);

    /* invoke id 6: with-list, one data and one refusal */
    ami_attr_sel two[2] = {clock_time, clock_time};
    two[1].attr.id = 3;
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_get(&c, two, 2, &w), AMI_OK);
    assert_int_equal(b[1], AMI_GET_WITH_LIST);
    assert_int_equal(feed_hex(&c, "C403C6 02 00 0F 02 01 03", &w, &res), AMI_OK);
    assert_int_equal(res.count, 2);
    assert_true(res.items[0].ok);
    assert_memory_equal(res.items[0].data.p, "\x0F\x02", 2);
    assert_false(res.items[1].ok);
    assert_int_equal(res.items[1].dar, AMI_DAR_READ_WRITE_DENIED);

    /* invoke id 7: data larger than the result buffer */
    static ami_dlms_client small;
    uint8_t tiny[4];
    cfg.data_buf = tiny;
    cfg.data_cap = sizeof tiny;
    associate(&small, &cfg);
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_get(&small, &clock_time, 1, &w), AMI_OK);
    assert_int_equal(feed_hex(&small, "C401C100 0906 010203040506", &w, &res), AMI_E_TOO_LARGE);
    assert_int_equal(ami_dlms_client_state_get(&small), AMI_DLMS_CLIENT_READY);

    /* release */
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_release(&c, &w), AMI_OK);
    assert_int_equal(w.len, 5);
    assert_memory_equal(b, "\x62\x03\x80\x01\x00", 5);
    assert_int_equal(feed_hex(&c, "6303800100", &w, &res), AMI_OK);
    assert_int_equal(ami_dlms_client_state_get(&c), AMI_DLMS_CLIENT_IDLE);
}

static void test_association_rejected(void **state)
{
    (void)state;
    static ami_dlms_client c;
    ami_dlms_client_config cfg;
    client_config(&cfg, "wrong");
    assert_int_equal(ami_dlms_client_init(&c, &cfg), AMI_OK);
    uint8_t b[256];
    ami_wr w;
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_associate(&c, &w), AMI_OK);
    /* The LLS AARQ carries acse-requirements, the mechanism and the password. */
    ami_aarq q;
    assert_int_equal(ami_aarq_decode(b, w.len, &q), AMI_OK);
    assert_int_equal(q.c.mechanism, AMI_ACSE_MECH_LOW);
    assert_int_equal(q.c.auth_value.len, 5);
    assert_memory_equal(q.c.auth_value.p, "wrong", 5);
    /* AARE rejected-permanent, acse-service-user authentication-failure (13). */
    ami_aare e;
    memset(&e, 0, sizeof e);
    e.c.context = AMI_ACSE_CONTEXT_LN;
    e.result = AMI_ACSE_REJECTED_PERMANENT;
    e.diag_source = AMI_ACSE_DIAG_USER;
    e.diagnostic = AMI_ACSE_USER_AUTHENTICATION_FAILURE;
    uint8_t ab[128];
    ami_wr aw;
    ami_wr_init(&aw, ab, sizeof ab);
    assert_int_equal(ami_aare_encode(&aw, &e), AMI_OK);
    ami_dlms_result res;
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_input(&c, ab, aw.len, &w, &res), AMI_OK);
    assert_int_equal(res.outcome, AMI_DLMS_REJECTED);
    assert_int_equal(res.acse_diagnostic, AMI_ACSE_USER_AUTHENTICATION_FAILURE);
    char text[160];
    ami_dlms_result_describe(&res, text, sizeof text);
    assert_non_null(strstr(text, "ACSE: association rejected-permanent"));
    assert_non_null(strstr(text, "authentication-failure"));
    assert_int_equal(ami_dlms_client_state_get(&c), AMI_DLMS_CLIENT_IDLE);
    /* not associated: no GET */
    assert_int_equal(ami_dlms_client_get(&c, &clock_time, 1, &w), AMI_E_STATE);
}

/* Associates with a server whose max receive PDU is `max_pdu`. */
static void associate_small_pdu(ami_dlms_client *c, ami_dlms_client_config *cfg, uint16_t max_pdu)
{
    assert_int_equal(ami_dlms_client_init(c, cfg), AMI_OK);
    uint8_t b[256], ui[32], ab[128];
    ami_wr w;
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_associate(c, &w), AMI_OK);
    ami_apdu ini;
    memset(&ini, 0, sizeof ini);
    ini.tag = AMI_APDU_INITIATE_RESPONSE;
    ini.u.initiate_response.dlms_version = 6;
    ini.u.initiate_response.conformance = AMI_DLMS_CLIENT_DEFAULT_CONFORMANCE;
    ini.u.initiate_response.max_pdu_size = max_pdu;
    ini.u.initiate_response.vaa_name = 7;
    ami_wr uw;
    ami_wr_init(&uw, ui, sizeof ui);
    assert_int_equal(ami_apdu_encode(&uw, &ini), AMI_OK);
    ami_aare e;
    memset(&e, 0, sizeof e);
    e.c.context = AMI_ACSE_CONTEXT_LN;
    e.diag_source = AMI_ACSE_DIAG_USER;
    e.c.has_user_information = true;
    e.c.user_information = ami_view_of(ui, uw.len);
    ami_wr aw;
    ami_wr_init(&aw, ab, sizeof ab);
    assert_int_equal(ami_aare_encode(&aw, &e), AMI_OK);
    ami_dlms_result res;
    assert_int_equal(ami_dlms_client_input(c, ab, aw.len, &w, &res), AMI_OK);
    assert_int_equal(res.outcome, AMI_DLMS_SUCCESS);
    assert_int_equal(ami_dlms_client_server_max_pdu(c), max_pdu);
}

static void test_set_action_blocks(void **state)
{
    (void)state;
    static ami_dlms_client c;
    ami_dlms_client_config cfg;
    client_config(&cfg, NULL);
    associate_small_pdu(&c, &cfg, 64);
    /* a 300-byte octet-string value */
    uint8_t value[303];
    value[0] = AMI_AXDR_OCTET_STRING;
    value[1] = 0x82;
    value[2] = 0x01;
    for (size_t i = 3; i < sizeof value; i++)
        value[i] = (uint8_t)i;
    value[2] = 0x2C; /* 0x012C = 300 */
    uint8_t got[512];
    size_t have = 0;
    uint8_t b[256], resp[32];
    ami_wr w;
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_set(&c, &clock_time, ami_view_of(value, sizeof value), &w),
                     AMI_OK);
    ami_dlms_result res;
    uint32_t expect = 1;
    for (;;) {
        assert_true(w.len <= 64);
        ami_apdu a;
        assert_int_equal(ami_apdu_decode(b, w.len, NULL, NULL, &a), AMI_OK);
        assert_int_equal(a.tag, AMI_APDU_SET_REQUEST);
        const ami_set_request *s = &a.u.set_request;
        assert_int_equal(s->type,
                         expect == 1 ? AMI_SET_WITH_FIRST_DATABLOCK : AMI_SET_WITH_DATABLOCK);
        if (expect == 1)
            assert_int_equal(s->attr.attr.class_id, 8);
        assert_int_equal(s->block.block_number, expect);
        memcpy(got + have, s->block.raw.p, s->block.raw.len);
        have += s->block.raw.len;
        /* the server acknowledges: set-response-datablock or last-datablock success */
        ami_apdu r;
        memset(&r, 0, sizeof r);
        r.tag = AMI_APDU_SET_RESPONSE;
        r.u.set_response.iip = s->iip;
        r.u.set_response.type =
            s->block.last ? AMI_SET_RESPONSE_LAST_DATABLOCK : AMI_SET_RESPONSE_DATABLOCK;
        r.u.set_response.block_number = expect;
        ami_wr rw;
        ami_wr_init(&rw, resp, sizeof resp);
        assert_int_equal(ami_apdu_encode(&rw, &r), AMI_OK);
        ami_wr_init(&w, b, sizeof b);
        int rc = ami_dlms_client_input(&c, resp, rw.len, &w, &res);
        if (s->block.last) {
            assert_int_equal(rc, AMI_OK);
            break;
        }
        assert_int_equal(rc, AMI_E_AGAIN);
        expect++;
    }
    assert_int_equal(res.outcome, AMI_DLMS_SUCCESS);
    assert_true(expect >= 6);
    assert_int_equal(res.blocks, expect);
    assert_int_equal(have, sizeof value);
    assert_memory_equal(got, value, sizeof value);

    /* ACTION with the same parameters in pblocks, return data in pblocks too. */
    ami_cosem_desc m = {9, {{0, 0, 10, 0, 0, 255}}, 1};
    ami_view pv = ami_view_of(value, sizeof value);
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_action(&c, &m, &pv, &w), AMI_OK);
    have = 0;
    expect = 1;
    for (;;) {
        assert_true(w.len <= 64);
        ami_apdu a;
        assert_int_equal(ami_apdu_decode(b, w.len, NULL, NULL, &a), AMI_OK);
        const ami_action_request *q = &a.u.action_request;
        assert_int_equal(q->type,
                         expect == 1 ? AMI_ACTION_WITH_FIRST_PBLOCK : AMI_ACTION_WITH_PBLOCK);
        assert_int_equal(q->block.block_number, expect);
        memcpy(got + have, q->block.raw.p, q->block.raw.len);
        have += q->block.raw.len;
        ami_apdu r;
        memset(&r, 0, sizeof r);
        r.tag = AMI_APDU_ACTION_RESPONSE;
        r.u.action_response.iip = q->iip;
        if (q->block.last) {
            /* return data in two pblocks: 11 2A | nothing else -> "11" then "2A" */
            r.u.action_response.type = AMI_ACTION_RESPONSE_WITH_PBLOCK;
            r.u.action_response.block = (ami_datablock){false, 1, ami_view_of("\x11", 1)};
        } else {
            r.u.action_response.type = AMI_ACTION_RESPONSE_NEXT_PBLOCK;
            r.u.action_response.block_number = expect;
        }
        ami_wr rw;
        ami_wr_init(&rw, resp, sizeof resp);
        assert_int_equal(ami_apdu_encode(&rw, &r), AMI_OK);
        ami_wr_init(&w, b, sizeof b);
        assert_int_equal(ami_dlms_client_input(&c, resp, rw.len, &w, &res), AMI_E_AGAIN);
        if (q->block.last)
            break;
        expect++;
    }
    assert_int_equal(have, sizeof value);
    assert_memory_equal(got, value, sizeof value);
    /* the client asks for the next return block */
    ami_apdu a;
    assert_int_equal(ami_apdu_decode(b, w.len, NULL, NULL, &a), AMI_OK);
    assert_int_equal(a.u.action_request.type, AMI_ACTION_NEXT_PBLOCK);
    assert_int_equal(a.u.action_request.block_number, 1);
    ami_apdu r;
    memset(&r, 0, sizeof r);
    r.tag = AMI_APDU_ACTION_RESPONSE;
    r.u.action_response.iip = a.u.action_request.iip;
    r.u.action_response.type = AMI_ACTION_RESPONSE_WITH_PBLOCK;
    r.u.action_response.block = (ami_datablock){true, 2, ami_view_of("\x2A", 1)};
    ami_wr rw;
    ami_wr_init(&rw, resp, sizeof resp);
    assert_int_equal(ami_apdu_encode(&rw, &r), AMI_OK);
    assert_int_equal(ami_dlms_client_input(&c, resp, rw.len, &w, &res), AMI_OK);
    assert_true(res.has_data);
    assert_int_equal(res.data.len, 2);
    assert_memory_equal(res.data.p, "\x11\x2A", 2);

    /* A small SET goes in one APDU; an action-result refusal. */
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_set(&c, &clock_time, ami_view_of("\x11\x05", 2), &w), AMI_OK);
    assert_int_equal(b[1], AMI_SET_NORMAL);
    assert_int_equal(feed_hex(&c, "C501C1 03", &w, &res), AMI_OK);
    assert_int_equal(res.outcome, AMI_DLMS_DATA_ACCESS_RESULT);
    assert_int_equal(res.dar, AMI_DAR_READ_WRITE_DENIED);
    assert_int_equal(res.blocks, 0);
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_action(&c, &m, NULL, &w), AMI_OK);
    assert_int_equal(feed_hex(&c, "C701C1 FA 00", &w, &res), AMI_OK);
    assert_int_equal(res.outcome, AMI_DLMS_ACTION_RESULT);
    assert_int_equal(res.dar, AMI_ACTION_OTHER_REASON);
}

/* HLS hook: pass 3 sends f(StoC) with reply_to_HLS_authentication, pass 4 checks f(CtoS). */
static int pass3(void *user, ami_view stoc, uint8_t *out, size_t cap, size_t *len)
{
    (void)user;
    assert_true(cap >= stoc.len);
    for (size_t i = 0; i < stoc.len; i++)
        out[i] = (uint8_t)(stoc.p[i] ^ 0x55);
    *len = stoc.len;
    return AMI_OK;
}

static int pass4(void *user, ami_view f)
{
    int *calls = user;
    (*calls)++;
    return f.len == 2 && f.p[0] == 0xAB ? AMI_OK : AMI_E_AUTH;
}

static void test_hls_hook(void **state)
{
    (void)state;
    static ami_dlms_client c;
    ami_dlms_client_config cfg;
    client_config(&cfg, NULL);
    int calls = 0;
    cfg.mechanism = AMI_ACSE_MECH_GMAC;
    cfg.auth_value = ami_view_of("CtoS1234", 8);
    cfg.hls_pass3 = pass3;
    cfg.hls_pass4 = pass4;
    cfg.hls_user = &calls;
    assert_int_equal(ami_dlms_client_init(&c, &cfg), AMI_OK);
    uint8_t b[256], ui[32], ab[128];
    ami_wr w;
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_associate(&c, &w), AMI_OK);
    ami_aarq q;
    assert_int_equal(ami_aarq_decode(b, w.len, &q), AMI_OK);
    assert_int_equal(q.c.mechanism, AMI_ACSE_MECH_GMAC);
    /* AARE accepted, authentication-required, StoC "ab" */
    ami_apdu ini;
    memset(&ini, 0, sizeof ini);
    ini.tag = AMI_APDU_INITIATE_RESPONSE;
    ini.u.initiate_response.dlms_version = 6;
    ini.u.initiate_response.conformance = AMI_CONF_GET | AMI_CONF_ACTION;
    ini.u.initiate_response.max_pdu_size = 512;
    ini.u.initiate_response.vaa_name = 7;
    ami_wr uw;
    ami_wr_init(&uw, ui, sizeof ui);
    assert_int_equal(ami_apdu_encode(&uw, &ini), AMI_OK);
    ami_aare e;
    memset(&e, 0, sizeof e);
    e.c.context = AMI_ACSE_CONTEXT_LN;
    e.diag_source = AMI_ACSE_DIAG_USER;
    e.diagnostic = AMI_ACSE_USER_AUTHENTICATION_REQUIRED;
    e.c.has_mechanism = true;
    e.c.mechanism = AMI_ACSE_MECH_GMAC;
    e.c.has_auth_value = true;
    e.c.auth_value = ami_view_of("ab", 2);
    e.c.has_user_information = true;
    e.c.user_information = ami_view_of(ui, uw.len);
    ami_wr aw;
    ami_wr_init(&aw, ab, sizeof ab);
    assert_int_equal(ami_aare_encode(&aw, &e), AMI_OK);
    ami_dlms_result res;
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_input(&c, ab, aw.len, &w, &res), AMI_E_AGAIN);
    /* ACTION 15 / 0.0.40.0.0.255 / 1 with octet-string f(StoC) */
    static const uint8_t want[] = {0xC3, 0x01, 0xC1, 0x00, 0x0F, 0x00, 0x00,       0x28,      0x00,
                                   0x00, 0xFF, 0x01, 0x01, 0x09, 0x02, 'a' ^ 0x55, 'b' ^ 0x55};
    assert_int_equal(w.len, sizeof want);
    assert_memory_equal(b, want, sizeof want);
    assert_int_equal(ami_dlms_client_state_get(&c), AMI_DLMS_CLIENT_ASSOCIATING);
    assert_int_equal(feed_hex(&c, "C701C1 00 01 00 0902AB01", &w, &res), AMI_OK);
    assert_int_equal(calls, 1);
    assert_int_equal(res.outcome, AMI_DLMS_SUCCESS);
    assert_int_equal(ami_dlms_client_state_get(&c), AMI_DLMS_CLIENT_READY);

    /* A wrong f(CtoS): authentication failed, not associated. */
    assert_int_equal(ami_dlms_client_init(&c, &cfg), AMI_OK);
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_associate(&c, &w), AMI_OK);
    assert_int_equal(ami_dlms_client_input(&c, ab, aw.len, &w, &res), AMI_E_AGAIN);
    assert_int_equal(feed_hex(&c, "C701C1 00 01 00 0902CD01", &w, &res), AMI_OK);
    assert_int_equal(res.outcome, AMI_DLMS_AUTHENTICATION_FAILED);
    assert_int_equal(res.layer, AMI_DLMS_LAYER_HLS);
    assert_int_equal(ami_dlms_client_state_get(&c), AMI_DLMS_CLIENT_IDLE);
}

static void test_config(void **state)
{
    (void)state;
    static ami_dlms_client c;
    ami_dlms_client_config cfg;
    client_config(&cfg, NULL);
    cfg.data_buf = NULL;
    assert_int_equal(ami_dlms_client_init(&c, &cfg), AMI_E_CONFIG);
    client_config(&cfg, NULL);
    cfg.mechanism = AMI_ACSE_MECH_LOW;
    assert_int_equal(ami_dlms_client_init(&c, &cfg), AMI_E_CONFIG);
    client_config(&cfg, NULL);
    cfg.mechanism = AMI_ACSE_MECH_GMAC;
    assert_int_equal(ami_dlms_client_init(&c, &cfg), AMI_E_CONFIG);
    client_config(&cfg, NULL);
    cfg.invoke_id = 16;
    assert_int_equal(ami_dlms_client_init(&c, &cfg), AMI_E_CONFIG);
    client_config(&cfg, NULL);
    cfg.context = AMI_ACSE_CONTEXT_SN;
    assert_int_equal(ami_dlms_client_init(&c, &cfg), AMI_OK);
    /* SN context: AARQ yes, LN services no */
    uint8_t b[128];
    ami_wr w;
    ami_wr_init(&w, b, sizeof b);
    assert_int_equal(ami_dlms_client_associate(&c, &w), AMI_OK);
    ami_aarq q;
    assert_int_equal(ami_aarq_decode(b, w.len, &q), AMI_OK);
    assert_int_equal(q.c.context, AMI_ACSE_CONTEXT_SN);
    /* AARQ does not fit: NOSPACE, state unchanged */
    static ami_dlms_client d;
    client_config(&cfg, NULL);
    assert_int_equal(ami_dlms_client_init(&d, &cfg), AMI_OK);
    ami_wr_init(&w, b, 10);
    assert_int_equal(ami_dlms_client_associate(&d, &w), AMI_E_NOSPACE);
    assert_int_equal(w.len, 0);
    assert_int_equal(ami_dlms_client_state_get(&d), AMI_DLMS_CLIENT_IDLE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_hdlc_noauth_clock),
        cmocka_unit_test(test_replay_hdlc_lls),
        cmocka_unit_test(test_replay_hdlc_profile),
        cmocka_unit_test(test_replay_faults),
        cmocka_unit_test(test_replay_wrapper),
        cmocka_unit_test(test_get_outcomes_and_faults),
        cmocka_unit_test(test_association_rejected),
        cmocka_unit_test(test_set_action_blocks),
        cmocka_unit_test(test_hls_hook),
        cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
