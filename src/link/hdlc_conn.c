/*
 * HDLC connection engine for both roles (IEC 62056-46 clause 6.4.4, normal response mode).
 *
 * The client is the primary station: it sends SNRM, DISC and commands with the P bit, and waits
 * for the server's frame with the F bit before sending again. The server is the secondary: it
 * answers only when polled, except for UI frames (unsolicited push).
 *
 * Sequence numbers are modulo 8. I-frames are kept in the caller's tx_buf as (offset, length)
 * per N(S) until acknowledged, so a retransmission re-encodes them without a second copy.
 * Recovery is by checkpointing: when a frame with P/F arrives, every I-frame its N(R) does not
 * acknowledge is resent (go-back-N); when the client's response timer expires it resends its
 * unacknowledged I-frames, or polls with RR when it has none.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "ami/hdlc.h"
#include "core/internal.h"

/* Bits of ami_hdlc_conn.pending: control frames waiting for ami_hdlc_conn_output(). */
enum {
    PEND_SNRM = 1u << 0,
    PEND_DISC = 1u << 1,
    PEND_UA = 1u << 2,
    PEND_DM = 1u << 3,
    PEND_FRMR = 1u << 4,
    PEND_RR = 1u << 5,
    PEND_UI = 1u << 6,
};

#define DEFAULT_TIMEOUT_MS 3000u
#define DEFAULT_RETRIES    3u

static uint8_t mod8(int v)
{
    return (uint8_t)(v & 7);
}

static bool params_ok(const ami_hdlc_params *p)
{
    return p->max_info_tx >= 1 && p->max_info_tx <= AMI_HDLC_MAX_INFO && p->max_info_rx >= 1 &&
           p->max_info_rx <= AMI_HDLC_MAX_INFO && p->window_tx >= 1 &&
           p->window_tx <= AMI_HDLC_MAX_WINDOW && p->window_rx >= 1 &&
           p->window_rx <= AMI_HDLC_MAX_WINDOW;
}

static void reset_link(ami_hdlc_conn *c)
{
    c->vs = c->va = c->nxt = c->vr = 0;
    c->retries = 0;
    c->poll_held = c->peer_busy = c->awaiting_f = c->expect_reply = false;
    c->delivered = c->rx_overflow = c->rx_done = false;
    c->rx_len = c->tx_len = c->tx_sent = 0;
    c->pending &= PEND_UI;
    c->deadline = UINT64_MAX;
}

int ami_hdlc_conn_init(ami_hdlc_conn *c, const ami_hdlc_conn_config *cfg)
{
    ami_hdlc_addr chk;
    if (cfg->role != AMI_HDLC_CLIENT && cfg->role != AMI_HDLC_SERVER)
        return AMI_E_CONFIG;
    if (cfg->client.size != 1 || ami_hdlc_client_addr(&chk, (uint8_t)cfg->client.upper) ||
        cfg->client.upper > 0x7F)
        return AMI_E_CONFIG;
    if (ami_hdlc_server_addr(&chk, cfg->server.upper, cfg->server.lower, cfg->server.size))
        return AMI_E_CONFIG;
    if (!params_ok(&cfg->params))
        return AMI_E_CONFIG;
    if (!cfg->rx_buf || cfg->rx_cap < AMI_HDLC_LLC_LEN + 1 || !cfg->tx_buf ||
        cfg->tx_cap < AMI_HDLC_LLC_LEN + 1)
        return AMI_E_CONFIG;
    c->cfg = *cfg;
    if (!c->cfg.response_timeout_ms)
        c->cfg.response_timeout_ms = DEFAULT_TIMEOUT_MS;
    if (!c->cfg.max_retries)
        c->cfg.max_retries = DEFAULT_RETRIES;
    ami_hdlc_deframer_init(&c->dfr, cfg->lenient & 0xFFu);
    c->state = AMI_HDLC_ST_DISCONNECTED;
    ami_hdlc_params_default(&c->neg);
    c->stats = (ami_hdlc_conn_stats){0};
    c->pending = 0;
    c->ui_len = 0;
    c->last_rx = 0;
    reset_link(c);
    return AMI_OK;
}

ami_hdlc_state ami_hdlc_conn_state(const ami_hdlc_conn *c)
{
    return c->state;
}

const ami_hdlc_params *ami_hdlc_conn_params(const ami_hdlc_conn *c)
{
    return &c->neg;
}

const ami_hdlc_conn_stats *ami_hdlc_conn_stats_get(const ami_hdlc_conn *c)
{
    return &c->stats;
}

const char *ami_hdlc_reason_name(ami_hdlc_reason r)
{
    static const char *const names[] = {"none", "local",   "disc",       "dm",
                                        "frmr", "timeout", "inactivity", "protocol"};
    return (unsigned)r < AMI_COUNTOF(names) ? names[r] : "unknown";
}

/* ---------------------------------------------------------------- commands */

int ami_hdlc_conn_connect(ami_hdlc_conn *c, uint64_t now)
{
    if (c->cfg.role != AMI_HDLC_CLIENT || c->state != AMI_HDLC_ST_DISCONNECTED)
        return AMI_E_STATE;
    reset_link(c);
    c->state = AMI_HDLC_ST_CONNECTING;
    c->pending |= PEND_SNRM;
    c->last_rx = now;
    return AMI_OK;
}

int ami_hdlc_conn_disconnect(ami_hdlc_conn *c, uint64_t now)
{
    (void)now;
    if (c->cfg.role != AMI_HDLC_CLIENT || c->state != AMI_HDLC_ST_CONNECTED)
        return AMI_E_STATE;
    c->state = AMI_HDLC_ST_DISCONNECTING;
    c->retries = 0;
    c->awaiting_f = false;
    c->pending = (uint8_t)((c->pending & PEND_UI) | PEND_DISC);
    return AMI_OK;
}

static const uint8_t *own_llc(const ami_hdlc_conn *c)
{
    return c->cfg.role == AMI_HDLC_CLIENT ? ami_hdlc_llc_request : ami_hdlc_llc_response;
}

int ami_hdlc_conn_send_apdu(ami_hdlc_conn *c, const uint8_t *apdu, size_t len, uint64_t now)
{
    (void)now;
    if (!apdu || len == 0)
        return AMI_E_INVAL;
    if (c->state != AMI_HDLC_ST_CONNECTED)
        return AMI_E_STATE;
    if (c->tx_len)
        return AMI_E_BUSY;
    if (len > c->cfg.tx_cap - AMI_HDLC_LLC_LEN)
        return AMI_E_TOO_LARGE;
    memcpy(c->cfg.tx_buf, own_llc(c), AMI_HDLC_LLC_LEN);
    memcpy(c->cfg.tx_buf + AMI_HDLC_LLC_LEN, apdu, len);
    c->tx_len = len + AMI_HDLC_LLC_LEN;
    c->tx_sent = 0;
    c->delivered = false;
    return AMI_OK;
}

int ami_hdlc_conn_send_ui(ami_hdlc_conn *c, const uint8_t *info, size_t len, uint64_t now)
{
    (void)now;
    if (!info && len)
        return AMI_E_INVAL;
    if (c->ui_len)
        return AMI_E_BUSY;
    size_t max = c->state == AMI_HDLC_ST_CONNECTED ? c->neg.max_info_tx : AMI_HDLC_DEFAULT_INFO;
    if (len + AMI_HDLC_LLC_LEN > max)
        return AMI_E_TOO_LARGE;
    memcpy(c->ui_buf, own_llc(c), AMI_HDLC_LLC_LEN);
    if (len)
        memcpy(c->ui_buf + AMI_HDLC_LLC_LEN, info, len);
    c->ui_len = len + AMI_HDLC_LLC_LEN;
    c->pending |= PEND_UI;
    return AMI_OK;
}

/* ---------------------------------------------------------------- output */

static int emit(ami_hdlc_conn *c, uint8_t *out, size_t cap, uint8_t control, bool seg,
                const uint8_t *info, size_t info_len)
{
    ami_hdlc_frame f = {0};
    if (c->cfg.role == AMI_HDLC_CLIENT) {
        f.dest = c->cfg.server;
        f.src = c->cfg.client;
    } else {
        f.dest = c->cfg.client;
        f.src = c->cfg.server;
    }
    f.control = control;
    f.segmented = seg;
    f.info = info;
    f.info_len = info_len;
    ami_wr w;
    ami_wr_init(&w, out, cap);
    int rc = ami_hdlc_frame_encode(&w, &f);
    if (rc)
        return rc;
    c->stats.frames_out++;
    return (int)w.len;
}

static uint8_t outstanding(const ami_hdlc_conn *c)
{
    return mod8(c->vs - c->va);
}

/* True when an I-frame can be output now (a resend, or a new one within the window). */
static bool can_send_i(const ami_hdlc_conn *c)
{
    if (c->state != AMI_HDLC_ST_CONNECTED || c->peer_busy || !c->tx_len)
        return false;
    if (c->nxt != c->vs)
        return true;
    return c->tx_sent < c->tx_len && outstanding(c) < c->neg.window_tx;
}

static void arm(ami_hdlc_conn *c, uint64_t now)
{
    c->deadline = now + c->cfg.response_timeout_ms;
}

static int output_i(ami_hdlc_conn *c, uint64_t now, uint8_t *out, size_t cap)
{
    uint8_t ns = c->nxt;
    bool fresh = ns == c->vs;
    size_t off, len;
    if (fresh) {
        off = c->tx_sent;
        len = c->tx_len - off;
        if (len > c->neg.max_info_tx)
            len = c->neg.max_info_tx;
    } else {
        off = c->seg_off[ns];
        len = c->seg_len[ns];
    }
    bool last_of_apdu = off + len == c->tx_len;
    /* P/F on the last frame we can send now: the window is full or nothing more is ready. */
    uint8_t after = mod8(ns + 1);
    uint8_t vs_after = fresh ? after : c->vs;
    size_t sent_after = c->tx_sent + (fresh ? len : 0);
    bool more =
        after != vs_after || (sent_after < c->tx_len && mod8(after - c->va) < c->neg.window_tx);
    bool pf = !more;
    int rc = emit(c, out, cap, (uint8_t)ami_hdlc_control(AMI_HDLC_I, ns, c->vr, pf), !last_of_apdu,
                  c->cfg.tx_buf + off, len);
    if (rc < 0)
        return rc;
    if (fresh) {
        c->seg_off[ns] = off;
        c->seg_len[ns] = (uint16_t)len;
        c->tx_sent += len;
        c->vs = after;
    } else {
        c->stats.retransmissions++;
    }
    c->nxt = after;
    c->pending &= (uint8_t)~PEND_RR; /* the I-frame carries N(R) */
    if (pf) {
        if (c->cfg.role == AMI_HDLC_CLIENT) {
            c->awaiting_f = true;
            arm(c, now);
        } else {
            c->poll_held = false;
        }
    }
    return rc;
}

int ami_hdlc_conn_output(ami_hdlc_conn *c, uint64_t now, uint8_t *out, size_t cap)
{
    int rc;
    bool client = c->cfg.role == AMI_HDLC_CLIENT;
    /* Unnumbered commands and responses first. */
    if (c->pending & PEND_SNRM) {
        ami_hdlc_params d;
        ami_hdlc_params_default(&d);
        uint8_t info[32];
        ami_wr w;
        ami_wr_init(&w, info, sizeof info);
        const ami_hdlc_params *p = &c->cfg.params;
        if (c->cfg.snrm_always_params || p->max_info_tx != d.max_info_tx ||
            p->max_info_rx != d.max_info_rx || p->window_tx != d.window_tx ||
            p->window_rx != d.window_rx)
            ami_hdlc_params_encode(&w, p);
        rc = emit(c, out, cap, (uint8_t)ami_hdlc_control(AMI_HDLC_SNRM, 0, 0, true), false, info,
                  w.len);
        if (rc > 0) {
            c->pending &= (uint8_t)~PEND_SNRM;
            c->awaiting_f = true;
            arm(c, now);
        }
        return rc;
    }
    if (c->pending & PEND_DISC) {
        rc =
            emit(c, out, cap, (uint8_t)ami_hdlc_control(AMI_HDLC_DISC, 0, 0, true), false, NULL, 0);
        if (rc > 0) {
            c->pending &= (uint8_t)~PEND_DISC;
            c->awaiting_f = true;
            arm(c, now);
        }
        return rc;
    }
    if (c->pending & PEND_UA) {
        uint8_t info[32];
        ami_wr w;
        ami_wr_init(&w, info, sizeof info);
        if (c->state == AMI_HDLC_ST_CONNECTED)
            ami_hdlc_params_encode(&w, &c->neg); /* UA to SNRM carries the result */
        rc = emit(c, out, cap, (uint8_t)ami_hdlc_control(AMI_HDLC_UA, 0, 0, true), false, info,
                  w.len);
        if (rc > 0) {
            c->pending &= (uint8_t)~PEND_UA;
        }
        return rc;
    }
    if (c->pending & PEND_DM) {
        rc = emit(c, out, cap, (uint8_t)ami_hdlc_control(AMI_HDLC_DM, 0, 0, true), false, NULL, 0);
        if (rc > 0) {
            c->pending &= (uint8_t)~PEND_DM;
        }
        return rc;
    }
    if (c->pending & PEND_FRMR) {
        rc = emit(c, out, cap, (uint8_t)ami_hdlc_control(AMI_HDLC_FRMR, 0, 0, true), false,
                  c->frmr_info, sizeof c->frmr_info);
        if (rc > 0) {
            c->pending &= (uint8_t)~PEND_FRMR;
        }
        return rc;
    }
    if (c->pending & PEND_UI) {
        /* UI frames go out unsolicited (push) and carry no sequence numbers. */
        rc = emit(c, out, cap, (uint8_t)ami_hdlc_control(AMI_HDLC_UI, 0, 0, false), false,
                  c->ui_buf, c->ui_len);
        if (rc > 0) {
            c->pending &= (uint8_t)~PEND_UI;
            c->ui_len = 0;
        }
        return rc;
    }
    if (c->state != AMI_HDLC_ST_CONNECTED)
        return 0;
    /* NRM: the client waits for F before sending again; the server sends only when polled. */
    if (client ? c->awaiting_f : !c->poll_held)
        return 0;
    if (can_send_i(c))
        return output_i(c, now, out, cap);
    if (!client && c->delivered && !(c->pending & PEND_RR))
        return 0; /* hold the poll: the answer to the delivered APDU will carry it */
    if (c->pending & PEND_RR) {
        uint8_t ctl = (uint8_t)ami_hdlc_control(AMI_HDLC_RR, 0, c->vr, true);
        rc = emit(c, out, cap, ctl, false, NULL, 0);
        if (rc > 0) {
            c->pending &= (uint8_t)~PEND_RR;
            if (client) {
                c->awaiting_f = true;
                arm(c, now);
            } else {
                c->poll_held = false;
            }
        }
        return rc;
    }
    return 0;
}

/* ---------------------------------------------------------------- input */

static void went_down(ami_hdlc_conn *c, ami_hdlc_event *ev, ami_hdlc_reason reason)
{
    c->state = AMI_HDLC_ST_DISCONNECTED;
    uint8_t keep = c->pending & (PEND_UA | PEND_DM | PEND_FRMR | PEND_UI);
    reset_link(c);
    c->pending = keep;
    ev->type = AMI_HDLC_EV_DISCONNECTED;
    ev->reason = reason;
}

/* Matches an address from the peer against the configured one (with the size leniency). */
static bool addr_match(const ami_hdlc_conn *c, const ami_hdlc_addr *got, const ami_hdlc_addr *want)
{
    if (ami_hdlc_addr_equal(got, want))
        return true;
    if (!(c->cfg.lenient & AMI_HDLC_CONN_LENIENT_ADDR_SIZE) || got->upper != want->upper)
        return false;
    /* Another width: the physical address must match where both carry one. */
    return got->size == 1 || want->size == 1 || got->lower == want->lower;
}

static bool for_us(ami_hdlc_conn *c, const ami_hdlc_frame *f)
{
    if (c->cfg.role == AMI_HDLC_CLIENT)
        return addr_match(c, &f->dest, &c->cfg.client) && addr_match(c, &f->src, &c->cfg.server);
    if (!addr_match(c, &f->dest, &c->cfg.server))
        return false;
    if (f->src.size != 1)
        return false;
    if (f->type == AMI_HDLC_SNRM && c->state == AMI_HDLC_ST_DISCONNECTED) {
        c->cfg.client = f->src; /* the server serves whichever client connects */
        return true;
    }
    return ami_hdlc_addr_equal(&f->src, &c->cfg.client) || f->type == AMI_HDLC_UI;
}

/* Acknowledges our I-frames up to N(R). Returns false for an N(R) outside va..vs. */
static bool take_ack(ami_hdlc_conn *c, uint8_t nr)
{
    uint8_t n = mod8(nr - c->va);
    if (n > outstanding(c))
        return false;
    if (n)
        c->retries = 0;
    c->va = nr;
    if (mod8(c->nxt - c->va) > outstanding(c))
        c->nxt = c->va;
    if (c->tx_len && c->va == c->vs && c->tx_sent == c->tx_len) {
        c->tx_len = c->tx_sent = 0; /* the whole APDU is acknowledged */
        if (c->cfg.role == AMI_HDLC_CLIENT)
            c->expect_reply = true;
    }
    return true;
}

static void server_frmr(ami_hdlc_conn *c, ami_hdlc_event *ev, const ami_hdlc_frame *f, uint8_t why)
{
    /* FRMR information (ISO/IEC 13239 5.5.3.4.2): rejected control, V(R)/V(S), W X Y Z. */
    c->frmr_info[0] = f->control;
    c->frmr_info[1] =
        (uint8_t)(c->vr << 5 | (c->cfg.role == AMI_HDLC_SERVER ? 0x10 : 0) | c->vs << 1);
    c->frmr_info[2] = why;
    went_down(c, ev, AMI_HDLC_REASON_PROTOCOL);
    c->pending |= PEND_FRMR;
}

static int deliver_apdu(ami_hdlc_conn *c, ami_hdlc_event *ev)
{
    size_t len = c->rx_len;
    c->rx_len = 0;
    if (c->rx_overflow) {
        c->rx_overflow = false;
        return AMI_E_TOO_LARGE;
    }
    const uint8_t *p = c->cfg.rx_buf;
    if (!(c->cfg.lenient & AMI_HDLC_CONN_LENIENT_NO_LLC)) {
        const uint8_t *want =
            c->cfg.role == AMI_HDLC_CLIENT ? ami_hdlc_llc_response : ami_hdlc_llc_request;
        if (len < AMI_HDLC_LLC_LEN || memcmp(p, want, AMI_HDLC_LLC_LEN) != 0) {
            c->stats.bad_frames++;
            ami__log(AMI_LOG_WARN, "hdlc: APDU without the LLC header %02X %02X %02X dropped",
                     want[0], want[1], want[2]);
            return AMI_E_MALFORMED;
        }
        p += AMI_HDLC_LLC_LEN;
        len -= AMI_HDLC_LLC_LEN;
    }
    c->rx_done = true;
    ev->type = AMI_HDLC_EV_APDU;
    ev->data = p;
    ev->len = len;
    return AMI_OK;
}

static int on_i(ami_hdlc_conn *c, const ami_hdlc_frame *f, ami_hdlc_event *ev)
{
    if (f->ns != c->vr) {
        /* Duplicate or out of sequence: discard; the checkpoint below asks for a resend. */
        c->stats.ignored++;
        if (f->pf)
            c->pending |= PEND_RR;
        return AMI_OK;
    }
    c->vr = mod8(c->vr + 1);
    if (c->cfg.role == AMI_HDLC_CLIENT)
        c->expect_reply = false;
    if (!c->rx_overflow && f->info_len > c->cfg.rx_cap - c->rx_len)
        c->rx_overflow = true;
    if (!c->rx_overflow && f->info_len) {
        memcpy(c->cfg.rx_buf + c->rx_len, f->info, f->info_len);
        c->rx_len += f->info_len;
    }
    if (f->segmented) {
        if (f->pf)
            c->pending |= PEND_RR; /* ask for the next segments */
        return AMI_OK;
    }
    int rc = deliver_apdu(c, ev);
    if (c->cfg.role == AMI_HDLC_SERVER) {
        if (rc == AMI_OK)
            c->delivered = true; /* answer with the response I-frames */
        else if (f->pf)
            c->pending |= PEND_RR;
    }
    return rc;
}

/* Client: the F bit answering our last P arrived. */
static void got_final(ami_hdlc_conn *c)
{
    c->awaiting_f = false;
    c->deadline = UINT64_MAX;
    c->retries = 0;
}

static int on_frame(ami_hdlc_conn *c, const ami_hdlc_frame *f, uint64_t now, ami_hdlc_event *ev)
{
    bool client = c->cfg.role == AMI_HDLC_CLIENT;
    if (!for_us(c, f)) {
        c->stats.ignored++;
        return AMI_OK;
    }
    c->stats.frames_in++;
    c->last_rx = now;

    if (f->type == AMI_HDLC_UI) {
        const uint8_t *p = f->info;
        size_t len = f->info_len;
        if (len >= AMI_HDLC_LLC_LEN && p[0] == 0xE6 && (p[1] == 0xE6 || p[1] == 0xE7) &&
            p[2] == 0x00) {
            p += AMI_HDLC_LLC_LEN;
            len -= AMI_HDLC_LLC_LEN;
        }
        ev->type = AMI_HDLC_EV_UI;
        ev->data = p;
        ev->len = len;
        return AMI_OK;
    }

    if (!client) {
        /*
         * Mode-setting commands (SNRM, DISC) are answered by UA/DM/FRMR at once; the poll that
         * gates I and RR responses comes only from I/RR/RNR commands (one F per P).
         */
        switch (f->type) {
        case AMI_HDLC_SNRM: {
            ami_hdlc_params p;
            if (ami_hdlc_params_decode(f->info, f->info_len, &p) != AMI_OK) {
                c->pending |= PEND_DM; /* unacceptable parameters: stay disconnected */
                return AMI_OK;
            }
            bool was = c->state == AMI_HDLC_ST_CONNECTED;
            reset_link(c);
            const ami_hdlc_params *mine = &c->cfg.params;
            /* 6.4.4.4.3.2: each side takes the smaller of its own limit and the peer's. */
            c->neg.max_info_tx =
                mine->max_info_tx < p.max_info_rx ? mine->max_info_tx : p.max_info_rx;
            c->neg.max_info_rx =
                mine->max_info_rx < p.max_info_tx ? mine->max_info_rx : p.max_info_tx;
            c->neg.window_tx = mine->window_tx < p.window_rx ? mine->window_tx : p.window_rx;
            c->neg.window_rx = mine->window_rx < p.window_tx ? mine->window_rx : p.window_tx;
            c->state = AMI_HDLC_ST_CONNECTED;
            c->pending |= PEND_UA;
            if (was)
                ami__log(AMI_LOG_INFO, "hdlc: SNRM on an established link: link reset");
            ev->type = AMI_HDLC_EV_CONNECTED;
            return AMI_OK;
        }
        case AMI_HDLC_DISC:
            if (c->state != AMI_HDLC_ST_CONNECTED) {
                c->pending |= PEND_DM;
                return AMI_OK;
            }
            went_down(c, ev, AMI_HDLC_REASON_DISC);
            c->pending |= PEND_UA;
            return AMI_OK;
        case AMI_HDLC_I:
        case AMI_HDLC_RR:
        case AMI_HDLC_RNR:
            if (c->state != AMI_HDLC_ST_CONNECTED) {
                if (f->pf)
                    c->pending |= PEND_DM; /* disconnected mode */
                return AMI_OK;
            }
            if (!take_ack(c, f->nr)) {
                server_frmr(c, ev, f, 0x08); /* Z: invalid N(R) */
                return AMI_OK;
            }
            if (f->pf) {
                c->poll_held = true;
                c->nxt = c->va; /* checkpoint: resend what N(R) did not acknowledge */
            }
            c->peer_busy = f->type == AMI_HDLC_RNR;
            if (f->type == AMI_HDLC_I) {
                if (f->info_len > c->neg.max_info_rx) {
                    server_frmr(c, ev, f, 0x04); /* Y: information field too long */
                    return AMI_OK;
                }
                return on_i(c, f, ev);
            }
            if (f->pf && !can_send_i(c))
                c->pending |= PEND_RR;
            return AMI_OK;
        default:
            /* UA, DM, FRMR are responses, not commands; unknown controls are rejected. */
            if (c->state == AMI_HDLC_ST_CONNECTED)
                server_frmr(c, ev, f, 0x01); /* W: undefined or not implemented control */
            else if (f->pf)
                c->pending |= PEND_DM;
            return AMI_OK;
        }
    }

    /*
     * Client. A frame with F that answers what we sent ends the wait for it (a stray UA or DM
     * in the wrong state does not): the timer stops and the retry count restarts.
     */
    switch (f->type) {
    case AMI_HDLC_UA:
        if (c->state == AMI_HDLC_ST_CONNECTING) {
            got_final(c);
            ami_hdlc_params u;
            if (ami_hdlc_params_decode(f->info, f->info_len, &u) != AMI_OK) {
                ami__log(AMI_LOG_WARN, "hdlc: UA with malformed parameters: link refused");
                went_down(c, ev, AMI_HDLC_REASON_PROTOCOL);
                return AMI_OK;
            }
            const ami_hdlc_params *mine = &c->cfg.params;
            /* The UA carries the server's view: its receive limit is our transmit limit. */
            c->neg.max_info_tx =
                mine->max_info_tx < u.max_info_rx ? mine->max_info_tx : u.max_info_rx;
            c->neg.max_info_rx = u.max_info_tx;
            c->neg.window_tx = mine->window_tx < u.window_rx ? mine->window_tx : u.window_rx;
            c->neg.window_rx = u.window_tx;
            c->state = AMI_HDLC_ST_CONNECTED;
            c->retries = 0;
            ev->type = AMI_HDLC_EV_CONNECTED;
            return AMI_OK;
        }
        if (c->state == AMI_HDLC_ST_DISCONNECTING) {
            went_down(c, ev, AMI_HDLC_REASON_LOCAL);
            return AMI_OK;
        }
        c->stats.ignored++; /* e.g. the answer to a duplicated SNRM */
        return AMI_OK;
    case AMI_HDLC_DM:
        if (c->state == AMI_HDLC_ST_DISCONNECTED) {
            c->stats.ignored++;
            return AMI_OK;
        }
        went_down(c, ev,
                  c->state == AMI_HDLC_ST_DISCONNECTING ? AMI_HDLC_REASON_LOCAL
                                                        : AMI_HDLC_REASON_DM);
        return AMI_OK;
    case AMI_HDLC_FRMR: {
        if (c->state == AMI_HDLC_ST_DISCONNECTED) {
            c->stats.ignored++;
            return AMI_OK;
        }
        size_t n = f->info_len < 3 ? f->info_len : 3;
        went_down(c, ev, AMI_HDLC_REASON_FRMR);
        if (n)
            memcpy(ev->frmr, f->info, n);
        ev->frmr_len = (uint8_t)n;
        return AMI_OK;
    }
    case AMI_HDLC_I:
    case AMI_HDLC_RR:
    case AMI_HDLC_RNR: {
        if (c->state != AMI_HDLC_ST_CONNECTED) {
            c->stats.ignored++;
            return AMI_OK;
        }
        if (!take_ack(c, f->nr)) {
            c->stats.bad_frames++;
            ami__log(AMI_LOG_WARN, "hdlc: N(R)=%u outside the window, frame ignored", f->nr);
            return AMI_OK;
        }
        if (f->pf)
            got_final(c);
        c->peer_busy = f->type == AMI_HDLC_RNR;
        int rc = f->type == AMI_HDLC_I ? on_i(c, f, ev) : AMI_OK;
        if (f->pf) {
            c->nxt = c->va; /* checkpoint: resend what N(R) did not acknowledge */
            /* Poll again later when the answer (or room at a busy peer) does not come. */
            if (c->expect_reply || c->peer_busy)
                arm(c, now);
        }
        return rc;
    }
    default:
        c->stats.ignored++;
        return AMI_OK;
    }
}

int ami_hdlc_conn_recv(ami_hdlc_conn *c, const uint8_t *in, size_t n, uint64_t now,
                       size_t *consumed, ami_hdlc_event *ev)
{
    *ev = (ami_hdlc_event){0};
    *consumed = 0;
    if (c->rx_done) {
        c->rx_done = false;
        c->rx_len = 0;
    }
    for (;;) {
        size_t used = 0;
        ami_hdlc_frame f;
        int rc =
            ami_hdlc_deframer_next(&c->dfr, in ? in + *consumed : in, n - *consumed, &used, &f);
        *consumed += used;
        if (rc == AMI_E_AGAIN)
            return AMI_OK;
        if (rc != AMI_OK) {
            c->stats.bad_frames++;
            continue; /* the deframer resynchronised; a lost frame is recovered by timers */
        }
        rc = on_frame(c, &f, now, ev);
        if (rc != AMI_OK || ev->type != AMI_HDLC_EV_NONE)
            return rc;
    }
}

/* ---------------------------------------------------------------- timers */

uint64_t ami_hdlc_conn_deadline(const ami_hdlc_conn *c)
{
    uint64_t d = c->deadline;
    if (c->state == AMI_HDLC_ST_CONNECTED && c->cfg.inactivity_timeout_ms) {
        uint64_t i = c->last_rx + c->cfg.inactivity_timeout_ms;
        if (i < d)
            d = i;
    }
    return d;
}

int ami_hdlc_conn_tick(ami_hdlc_conn *c, uint64_t now, ami_hdlc_event *ev)
{
    *ev = (ami_hdlc_event){0};
    if (c->state == AMI_HDLC_ST_CONNECTED && c->cfg.inactivity_timeout_ms &&
        now >= c->last_rx + c->cfg.inactivity_timeout_ms) {
        went_down(c, ev, AMI_HDLC_REASON_INACTIVITY);
        return AMI_OK;
    }
    if (c->cfg.role != AMI_HDLC_CLIENT || now < c->deadline)
        return AMI_OK;
    c->deadline = UINT64_MAX;
    if (c->retries >= c->cfg.max_retries) {
        went_down(c, ev, AMI_HDLC_REASON_TIMEOUT);
        return AMI_OK;
    }
    c->retries++;
    c->awaiting_f = false;
    switch (c->state) {
    case AMI_HDLC_ST_CONNECTING:
        c->pending |= PEND_SNRM;
        c->stats.retransmissions++;
        break;
    case AMI_HDLC_ST_DISCONNECTING:
        c->pending |= PEND_DISC;
        c->stats.retransmissions++;
        break;
    case AMI_HDLC_ST_CONNECTED:
        if (c->va != c->vs && !c->peer_busy)
            c->nxt = c->va; /* resend every unacknowledged I-frame, P on the last */
        else
            c->pending |= PEND_RR; /* poll: ask for the answer or the peer's state */
        break;
    default:
        break;
    }
    return AMI_OK;
}
