/*
 * IEC 62056-21 session engine, both roles (client = HHU, meter = tariff device), sans-I/O.
 *
 * The engine keeps a short queue of output steps (send, baud switch, event, failure). While the
 * queue holds something, ami_iec21_poll() hands its head out; when it is empty the engine parses
 * what was received and reacts, or returns WAIT with the next deadline. Reaction times (6.3.14:
 * tr >= 200 ms, 20 ms for manufacturers whose third letter is lower case) are "not before"
 * times on the send steps; the caller waits, the engine never sleeps.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ami/bytes.h"
#include "ami/iec21.h"
#include "core/internal.h"

/* ---------------------------------------------------------------- states */

enum {
    /* client */
    CS_INIT = 1,
    CS_WAIT_IDENT,
    CS_WAIT_DATA,
    CS_WAIT_P0,
    CS_WAIT_PW,
    CS_READY,
    CS_WAIT_ANSWER,
    /* meter */
    MS_IDLE,
    MS_WAIT_OPTION,
    MS_PROG,
    MS_PUSH,
    /* both */
    S_DONE,
    S_FAILED,
};

#define NEVER UINT64_MAX

/* ---------------------------------------------------------------- helpers */

static void fill_timing(ami_iec21_timing *t, const ami_iec21_timing *in)
{
    *t = *in;
    if (!t->reaction_ms)
        t->reaction_ms = 200;
    if (!t->reaction_fast_ms)
        t->reaction_fast_ms = 20;
    if (!t->response_ms)
        t->response_ms = 1500;
    if (!t->char_ms)
        t->char_ms = 1500;
    if (!t->inactivity_ms)
        t->inactivity_ms = 120000;
    if (!t->push_wait_ms)
        t->push_wait_ms = 30000;
    if (!t->push_every_ms)
        t->push_every_ms = 5000;
}

static uint32_t tr(const ami_iec21 *s)
{
    return s->fast ? s->t.reaction_fast_ms : s->t.reaction_ms;
}

AMI__PRINTF(2, 3)
static void set_why(ami_iec21 *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->why, sizeof s->why, fmt, ap);
    va_end(ap);
}

static ami_iec21__op *push_op(ami_iec21 *s, uint8_t kind)
{
    if (s->qn == AMI_IEC21__QLEN) {
        /* the engine never queues more than a handful of steps: a bug, not input */
        s->err = AMI_E_INTERNAL;
        s->state = S_FAILED;
        set_why(s, "iec21: output queue overflow");
        return NULL;
    }
    ami_iec21__op *op = &s->q[(s->qhead + s->qn) % AMI_IEC21__QLEN];
    memset(op, 0, sizeof *op);
    op->kind = kind;
    op->reg = -1;
    s->qn++;
    return op;
}

/* Starts composing a new message in tx; the previous one stays when steps still need it. */
static ami_wr tx_begin(ami_iec21 *s)
{
    ami_wr w;
    if (s->qn == 0)
        s->txlen = 0;
    ami_wr_init(&w, s->tx + s->txlen, s->txcap - s->txlen);
    return w;
}

/* Queues the message written in w for sending not before `at` (0: at once). */
static void q_send(ami_iec21 *s, ami_wr *w, uint64_t at, uint32_t delay)
{
    if (ami_wr_error(w)) {
        s->err = AMI_E_NOSPACE;
        s->state = S_FAILED;
        set_why(s, "iec21: transmit buffer too small");
        return;
    }
    ami_iec21__op *op = push_op(s, AMI_IEC21_ACT_SEND);
    if (!op)
        return;
    op->off = s->txlen;
    op->len = w->len;
    op->at = at;
    op->delay = delay;
    s->txlen += w->len;
}

static void q_send_encoded(ami_iec21 *s, int len, uint64_t at)
{
    if (len < 0) {
        s->err = len == AMI_E_NOSPACE ? AMI_E_NOSPACE : AMI_E_INTERNAL;
        s->state = S_FAILED;
        set_why(s, "iec21: cannot encode a message: %s", ami_strerror(len));
        return;
    }
    ami_iec21__op *op = push_op(s, AMI_IEC21_ACT_SEND);
    if (!op)
        return;
    op->off = s->txlen;
    op->len = (size_t)len;
    op->at = at;
    s->txlen += (size_t)len;
}

static void q_baud(ami_iec21 *s, uint32_t baud, enum ami_iec21_format fmt)
{
    ami_iec21__op *op = push_op(s, AMI_IEC21_ACT_BAUD);
    if (op) {
        op->baud = baud;
        op->format = (uint8_t)fmt;
    }
}

static ami_iec21__op *q_event(ami_iec21 *s, enum ami_iec21_event ev, const ami_iec21_msg *m)
{
    ami_iec21__op *op = push_op(s, AMI_IEC21_ACT_EVENT);
    if (op) {
        op->event = (uint8_t)ev;
        if (m) {
            s->ev_msg = *m;
            op->has_msg = true;
        }
    }
    return op;
}

/* Queues a failure after the steps already queued (e.g. a B0 sign-off first). */
static void q_fail(ami_iec21 *s, int err)
{
    ami_iec21__op *op = push_op(s, 0);
    if (op)
        op->err = err;
}

static int fail_now(ami_iec21 *s, int err, ami_iec21_action *a)
{
    s->err = err;
    s->state = S_FAILED;
    s->qn = 0;
    memset(a, 0, sizeof *a);
    a->kind = AMI_IEC21_ACT_DONE;
    return err;
}

static void q_command(ami_iec21 *s, char cmd, char type, const char *data, size_t len, uint64_t at)
{
    uint8_t *out = s->tx + (s->qn ? s->txlen : 0);
    if (s->qn == 0)
        s->txlen = 0;
    q_send_encoded(s, ami_iec21_command_encode(cmd, type, data, len, out, s->txcap - s->txlen), at);
}

static void q_data(ami_iec21 *s, const char *data, size_t len, uint64_t at)
{
    uint8_t *out = s->tx + (s->qn ? s->txlen : 0);
    if (s->qn == 0)
        s->txlen = 0;
    q_send_encoded(s, ami_iec21_data_encode(data, len, out, s->txcap - s->txlen), at);
}

/*
 * Queues a NAK (6.3.14). It is not written into tx: the last message must stay intact there in
 * case the peer asks for it again.
 */
static void q_nak(ami_iec21 *s, uint64_t at)
{
    static const uint8_t nak = AMI_IEC21_NAK;
    ami_iec21__op *op = push_op(s, AMI_IEC21_ACT_SEND);
    if (op) {
        op->src = &nak;
        op->len = 1;
        op->at = at;
    }
}

/* Repeats the last message after a NAK (6.3.14: at most 3 times). */
static bool repeat_last(ami_iec21 *s, uint64_t at)
{
    if (s->repeats >= AMI_IEC21_MAX_REPEAT || s->last_len == 0)
        return false;
    s->repeats++;
    ami_iec21__op *op = push_op(s, AMI_IEC21_ACT_SEND);
    if (op) {
        op->off = s->last_off;
        op->len = s->last_len;
        op->at = at;
    }
    return true;
}

/* First data set of a command or answer block. */
static int first_ds(const ami_iec21_msg *m, unsigned lenient, ami_iec21_dataset *ds)
{
    ami_iec21_dsiter it;
    ami_iec21_ds_begin(&it, m->data, m->data_len, lenient);
    int rc = ami_iec21_ds_next(&it, ds);
    return rc == 1 ? AMI_OK : rc == 0 ? AMI_E_MALFORMED : rc;
}

static bool is_error_answer(const ami_iec21_dataset *ds)
{
    return ds->address_len == 0 && ds->raw_len >= 3 && memcmp(ds->raw, "ERR", 3) == 0;
}

/* ---------------------------------------------------------------- init */

static int common_init(ami_iec21 *s, void *rx, size_t rxcap, void *tx, size_t txcap)
{
    if (!rx || !tx || rxcap < 64 || txcap < 64)
        return AMI_E_INVAL;
    s->rx = (uint8_t *)rx;
    s->rxcap = rxcap;
    s->tx = (uint8_t *)tx;
    s->txcap = txcap;
    return AMI_OK;
}

int ami_iec21_client_init(ami_iec21 *s, const ami_iec21_client_cfg *cfg, void *rx, size_t rxcap,
                          void *tx, size_t txcap)
{
    if (!s || !cfg)
        return AMI_E_INVAL;
    memset(s, 0, sizeof *s);
    int rc = common_init(s, rx, rxcap, tx, txcap);
    if (rc < 0)
        return rc;
    s->role = AMI_IEC21_ROLE_CLIENT;
    s->ccfg = cfg;
    s->lenient = cfg->lenient;
    fill_timing(&s->t, &cfg->timing);
    s->state = CS_INIT;
    return AMI_OK;
}

int ami_iec21_meter_init(ami_iec21 *s, const ami_iec21_meter_cfg *cfg, void *rx, size_t rxcap,
                         void *tx, size_t txcap)
{
    if (!s || !cfg)
        return AMI_E_INVAL;
    memset(s, 0, sizeof *s);
    int rc = common_init(s, rx, rxcap, tx, txcap);
    if (rc < 0)
        return rc;
    uint8_t probe[AMI_IEC21_MAX_IDENT + 16];
    const char *m = cfg->manufacturer;
    if (!m || strlen(m) != 3 || !cfg->ident ||
        ami_iec21_ident_encode(m, '0', NULL, cfg->ident, probe, sizeof probe) < 0)
        return AMI_E_CONFIG;
    switch (cfg->mode) {
    case AMI_IEC21_MODE_A:
    case AMI_IEC21_MODE_D:
        break;
    case AMI_IEC21_MODE_B:
    case AMI_IEC21_MODE_C:
    case AMI_IEC21_MODE_E:
        if (ami_iec21_baud_char(cfg->mode, cfg->max_baud ? cfg->max_baud : 9600) == 0)
            return AMI_E_CONFIG;
        break;
    default:
        return AMI_E_CONFIG;
    }
    for (size_t i = 0; i < cfg->nregs; i++)
        if (!cfg->regs || !cfg->regs[i].address || !cfg->regs[i].value ||
            cfg->regs[i].value_cap == 0)
            return AMI_E_CONFIG;
    s->role = AMI_IEC21_ROLE_METER;
    s->mcfg = cfg;
    s->lenient = cfg->lenient;
    s->fast = m[2] >= 'a' && m[2] <= 'z';
    fill_timing(&s->t, &cfg->timing);
    s->state = cfg->mode == AMI_IEC21_MODE_D ? MS_PUSH : MS_IDLE;
    if (cfg->mode == AMI_IEC21_MODE_D)
        q_baud(s, 2400, AMI_IEC21_7E1); /* mode D pushes at 2400 Bd (6.4.4) */
    return AMI_OK;
}

int ami_iec21_start(ami_iec21 *s, uint64_t now)
{
    if (!s || s->role != AMI_IEC21_ROLE_CLIENT)
        return AMI_E_INVAL;
    if (s->started)
        return AMI_E_STATE;
    s->started = true;
    s->last_tx = now;
    s->state = CS_WAIT_IDENT;
    if (s->ccfg->mode == AMI_IEC21_MODE_D) {
        q_baud(s, 2400, AMI_IEC21_7E1);
        return AMI_OK;
    }
    q_send_encoded(s, ami_iec21_request_encode(s->ccfg->address, s->tx, s->txcap), 0);
    return AMI_OK;
}

int ami_iec21_input(ami_iec21 *s, const void *p, size_t n, uint64_t now)
{
    if (!s || (!p && n))
        return AMI_E_INVAL;
    if (s->state == S_DONE || s->state == S_FAILED)
        return (int)n; /* nothing listens any more */
    if (n > s->rxcap - s->rxlen) {
        if (s->role == AMI_IEC21_ROLE_METER) {
            /* a meter never dies of a flood: it drops what it holds */
            s->rxlen = 0;
            s->consume = 0;
            if (n > s->rxcap)
                return (int)n;
        } else {
            s->err = AMI_E_TOO_LARGE;
            s->state = S_FAILED;
            s->qn = 0;
            set_why(s, "iec21: receive buffer full (%zu bytes) without a complete message",
                    s->rxcap);
            return AMI_E_TOO_LARGE;
        }
    }
    if (n) {
        memcpy(s->rx + s->rxlen, p, n);
        s->rxlen += n;
        s->last_rx = now;
    }
    return n > INT32_MAX ? INT32_MAX : (int)n;
}

/* ---------------------------------------------------------------- client reactions */

static int client_ident(ami_iec21 *s, const ami_iec21_msg *m, uint64_t now)
{
    const ami_iec21_client_cfg *c = s->ccfg;
    const ami_iec21_ident *id = &m->ident;
    enum ami_iec21_mode announced = ami_iec21_mode_of(id->baud_char, id->mode_e);
    enum ami_iec21_mode want = c->mode;
    s->fast = id->fast;
    q_event(s, AMI_IEC21_EV_IDENT, m);
    if (want == AMI_IEC21_MODE_D) {
        s->mode = AMI_IEC21_MODE_D;
        s->state = CS_WAIT_DATA;
        return AMI_OK;
    }
    if (want == AMI_IEC21_MODE_AUTO)
        want = announced == AMI_IEC21_MODE_E ? AMI_IEC21_MODE_C : announced;
    bool ok = want == announced || (want == AMI_IEC21_MODE_C && announced == AMI_IEC21_MODE_E);
    if (want == AMI_IEC21_MODE_E && !id->mode_e) {
        set_why(s, "iec21: mode E asked but the identification has no \"\\2\"");
        return AMI_E_UNSUPPORTED;
    }
    if (!ok) {
        set_why(s, "iec21: the identification announces mode %c (baud character '%c'), not %c",
                (char)announced, id->baud_char, (char)want);
        return AMI_E_PROTOCOL;
    }
    if (c->programming && want != AMI_IEC21_MODE_C && want != AMI_IEC21_MODE_E) {
        set_why(s, "iec21: programming needs mode C, the meter speaks mode %c", (char)want);
        return AMI_E_UNSUPPORTED;
    }
    s->mode = want;
    if (want == AMI_IEC21_MODE_A) {
        s->state = CS_WAIT_DATA; /* data follow at 300 Bd (6.4.1) */
        return AMI_OK;
    }
    if (want == AMI_IEC21_MODE_B) {
        /* both switch to the announced rate, no acknowledgement (6.4.2) */
        uint32_t b = ami_iec21_baud_of(AMI_IEC21_MODE_B, id->baud_char);
        if (b == 0) {
            set_why(s, "iec21: mode B baud character '%c' is reserved", id->baud_char);
            return AMI_E_PROTOCOL;
        }
        if (c->max_baud && b > c->max_baud) {
            set_why(s, "iec21: mode B meter switches to %u Bd, above --max-baud %u", b,
                    c->max_baud);
            return AMI_E_UNSUPPORTED;
        }
        q_baud(s, b, AMI_IEC21_7E1);
        s->state = CS_WAIT_DATA;
        return AMI_OK;
    }
    /* modes C and E: option select at the highest common rate (6.4.3) */
    uint32_t meter = ami_iec21_baud_of(AMI_IEC21_MODE_C, id->baud_char);
    if (meter == 0)
        meter = 300; /* reserved character: stay at the initial rate */
    uint32_t b = 300;
    static const uint32_t steps[] = {600, 1200, 2400, 4800, 9600, 19200};
    for (size_t i = 0; i < AMI_COUNTOF(steps); i++)
        if (steps[i] <= meter && (!c->max_baud || steps[i] <= c->max_baud))
            b = steps[i];
    ami_iec21_option opt = {'0', ami_iec21_baud_char(AMI_IEC21_MODE_C, b),
                            c->programming ? '1' : '0'};
    if (want == AMI_IEC21_MODE_E)
        opt.protocol = opt.mode = '2';
    ami_wr w = tx_begin(s);
    int len = ami_iec21_option_encode(&opt, w.p, w.cap);
    q_send_encoded(s, len, now + tr(s));
    if (want == AMI_IEC21_MODE_E) {
        q_baud(s, b, AMI_IEC21_8N1);
        ami_iec21__op *op = q_event(s, AMI_IEC21_EV_HANDOVER, NULL);
        if (op)
            op->baud = b;
        s->state = S_DONE;
        return AMI_OK;
    }
    q_baud(s, b, AMI_IEC21_7E1);
    s->state = c->programming ? CS_WAIT_P0 : CS_WAIT_DATA;
    return AMI_OK;
}

static int client_p0(ami_iec21 *s, const ami_iec21_msg *m, uint64_t now)
{
    const ami_iec21_client_cfg *c = s->ccfg;
    ami_iec21_dataset ds;
    s->operand[0] = '\0';
    if (m->data && first_ds(m, s->lenient, &ds) == AMI_OK) {
        size_t n = ds.raw_len < AMI_IEC21_MAX_VALUE ? ds.raw_len : AMI_IEC21_MAX_VALUE;
        memcpy(s->operand, ds.raw, n);
        s->operand[n] = '\0';
    }
    char pw[AMI_IEC21_MAX_VALUE + 3];
    if (c->password) {
        int n = snprintf(pw, sizeof pw, "(%s)", c->password);
        if (n < 0 || (size_t)n >= sizeof pw) {
            ami_wipe(pw, sizeof pw); /* snprintf wrote as much of the password as fitted */
            set_why(s, "iec21: password too long");
            return AMI_E_INVAL;
        }
        q_command(s, 'P', '1', pw, (size_t)n, now + tr(s));
    } else if (c->secret) {
        char res[AMI_IEC21_MAX_VALUE];
        ami_iec21_p2_fn fn = c->p2 ? c->p2 : ami_iec21_p2_example;
        int n = fn(c->p2_user, c->secret, strlen(c->secret), s->operand, strlen(s->operand), res,
                   sizeof res);
        if (n < 0 || (size_t)n >= sizeof res) {
            ami_wipe(res, sizeof res); /* a failing hook may have left part of a result */
            set_why(s, "iec21: the P2 algorithm failed");
            return n < 0 ? n : AMI_E_INTERNAL;
        }
        int k = snprintf(pw, sizeof pw, "(%.*s)", n, res);
        q_command(s, 'P', '2', pw, (size_t)k, now + tr(s));
        ami_wipe(res, sizeof res);
    } else {
        q_event(s, AMI_IEC21_EV_PROG_READY, m);
        s->state = CS_READY;
        return AMI_OK;
    }
    ami_wipe(pw, sizeof pw);
    s->last_off = s->q[(s->qhead + s->qn - 1) % AMI_IEC21__QLEN].off;
    s->last_len = s->q[(s->qhead + s->qn - 1) % AMI_IEC21__QLEN].len;
    s->repeats = 0;
    s->state = CS_WAIT_PW;
    return AMI_OK;
}

/* Signs off with B0 and then fails with err (the meter would otherwise wait for tt). */
static void client_abort(ami_iec21 *s, int err, uint64_t now)
{
    q_command(s, 'B', '0', NULL, 0, now + tr(s));
    q_fail(s, err);
    s->state = S_FAILED;
}

static int client_message(ami_iec21 *s, const ami_iec21_msg *m, uint64_t now)
{
    switch (s->state) {
    case CS_WAIT_IDENT:
        if (m->kind == AMI_IEC21_MSG_REQUEST && (s->lenient & AMI_IEC21_LENIENT_ECHO)) {
            s->deviations |= AMI_IEC21_LENIENT_ECHO; /* our own request, echoed */
            return AMI_OK;
        }
        if (m->kind != AMI_IEC21_MSG_IDENT)
            break;
        return client_ident(s, m, now);
    case CS_WAIT_DATA:
        if (m->kind != AMI_IEC21_MSG_DATA && m->kind != AMI_IEC21_MSG_BARE)
            break;
        q_event(s, AMI_IEC21_EV_READOUT, m);
        s->state = S_DONE;
        return AMI_OK;
    case CS_WAIT_P0:
        if (m->kind != AMI_IEC21_MSG_COMMAND || m->cmd != 'P' || m->cmd_type != '0')
            break;
        return client_p0(s, m, now);
    case CS_WAIT_PW:
    case CS_WAIT_ANSWER: {
        bool pw = s->state == CS_WAIT_PW;
        if (m->kind == AMI_IEC21_MSG_NAK) {
            if (!repeat_last(s, now + tr(s))) {
                set_why(s, "iec21: the meter refused the message %d times (NAK)",
                        AMI_IEC21_MAX_REPEAT + 1);
                return AMI_E_PROTOCOL;
            }
            return AMI_OK;
        }
        if (m->kind == AMI_IEC21_MSG_COMMAND && m->cmd == 'B') {
            set_why(s, pw ? "iec21: the meter broke off after the password (B0): wrong "
                            "password or port locked"
                          : "iec21: the meter broke off the session (B0)");
            if (!pw) {
                ami_iec21__op *op = q_event(s, AMI_IEC21_EV_ANSWER, m);
                if (op)
                    op->answer = AMI_IEC21_ANS_BREAK;
            }
            q_fail(s, pw ? AMI_E_AUTH : AMI_E_REFUSED);
            s->state = S_FAILED;
            return AMI_OK;
        }
        if (m->kind == AMI_IEC21_MSG_ACK) {
            ami_iec21__op *op = q_event(s, pw ? AMI_IEC21_EV_PROG_READY : AMI_IEC21_EV_ANSWER, m);
            if (op)
                op->answer = AMI_IEC21_ANS_ACK;
            s->state = CS_READY;
            return AMI_OK;
        }
        if (m->kind == AMI_IEC21_MSG_DATA) {
            ami_iec21_dataset ds;
            bool error = first_ds(m, s->lenient, &ds) == AMI_OK && is_error_answer(&ds);
            if (pw) {
                if (error)
                    set_why(s, "iec21: password refused: (%.*s)", (int)ds.raw_len, ds.raw);
                else
                    set_why(s, "iec21: unexpected data message after the password");
                client_abort(s, error ? AMI_E_AUTH : AMI_E_PROTOCOL, now);
                return AMI_OK;
            }
            ami_iec21__op *op = q_event(s, AMI_IEC21_EV_ANSWER, m);
            if (op)
                op->answer = error ? AMI_IEC21_ANS_ERROR : AMI_IEC21_ANS_DATA;
            s->state = CS_READY;
            return AMI_OK;
        }
        break;
    }
    default:
        break;
    }
    set_why(s, "iec21: unexpected message (kind %d) in state %d", (int)m->kind, s->state);
    return AMI_E_PROTOCOL;
}

/* ---------------------------------------------------------------- meter reactions */

static unsigned meter_level(const ami_iec21 *s)
{
    if (s->level >= 2 && s->mcfg->button && *s->mcfg->button)
        return 4;
    return s->level;
}

static int find_reg(const ami_iec21 *s, const char *a, size_t n)
{
    for (size_t i = 0; i < s->mcfg->nregs; i++) {
        const char *r = s->mcfg->regs[i].address;
        if (strlen(r) == n && memcmp(r, a, n) == 0)
            return (int)i;
    }
    return -1;
}

static void put_ds(ami_wr *w, const ami_iec21_register *r)
{
    ami_wr_bytes(w, r->address, strlen(r->address));
    ami_wr_u8(w, '(');
    ami_wr_bytes(w, r->value, strlen(r->value));
    if (r->unit && r->unit[0]) {
        ami_wr_u8(w, '*');
        ami_wr_bytes(w, r->unit, strlen(r->unit));
    }
    ami_wr_u8(w, ')');
}

/* The data message of a readout: STX, level-1 registers one per line, "!" CR LF, ETX, BCC. */
static void q_readout(ami_iec21 *s, uint64_t at, uint32_t delay)
{
    ami_wr w = tx_begin(s);
    ami_wr_u8(&w, AMI_IEC21_STX);
    for (size_t i = 0; i < s->mcfg->nregs; i++) {
        const ami_iec21_register *r = &s->mcfg->regs[i];
        if (r->read_level > 1)
            continue;
        put_ds(&w, r);
        ami_wr_bytes(&w, "\r\n", 2);
    }
    ami_wr_bytes(&w, "!\r\n", 3);
    ami_wr_u8(&w, AMI_IEC21_ETX);
    if (!ami_wr_error(&w))
        ami_wr_u8(&w, ami_iec21_bcc(w.p + 1, w.len - 1));
    q_send(s, &w, at, delay);
}

static void q_ident(ami_iec21 *s, uint64_t at)
{
    const ami_iec21_meter_cfg *c = s->mcfg;
    char z = '0';
    if (c->mode == AMI_IEC21_MODE_B || c->mode == AMI_IEC21_MODE_C || c->mode == AMI_IEC21_MODE_E)
        z = ami_iec21_baud_char(c->mode, c->max_baud ? c->max_baud : 9600);
    else if (c->mode == AMI_IEC21_MODE_D)
        z = '3'; /* 2400 Bd */
    else
        z = '1'; /* mode A: any character outside the ranges of B; '1' is customary */
    if (c->mode == AMI_IEC21_MODE_A)
        z = 'Z';
    ami_wr w = tx_begin(s);
    int len = ami_iec21_ident_encode(c->manufacturer, z, c->mode == AMI_IEC21_MODE_E ? "2" : NULL,
                                     c->ident, w.p, w.cap);
    q_send_encoded(s, len, at);
}

static void meter_idle(ami_iec21 *s)
{
    s->state = MS_IDLE;
    s->level = 0;
}

static void meter_sign_off(ami_iec21 *s, uint32_t delay)
{
    q_event(s, AMI_IEC21_EV_SIGNED_OFF, NULL);
    ami_iec21__op *op = push_op(s, AMI_IEC21_ACT_BAUD);
    if (op) {
        op->baud = 300;
        op->delay = delay;
    }
    meter_idle(s);
}

static void meter_error(ami_iec21 *s, const char *text, uint64_t at)
{
    char buf[40];
    int n = snprintf(buf, sizeof buf, "(%s)", text);
    q_data(s, buf, (size_t)n, at);
}

static void remember_last(ami_iec21 *s)
{
    /* the last message queued (an event may follow it), for a repeat after NAK */
    for (unsigned i = s->qn; i > 0; i--) {
        const ami_iec21__op *op = &s->q[(s->qhead + i - 1) % AMI_IEC21__QLEN];
        if (op->kind == AMI_IEC21_ACT_SEND) {
            s->last_off = op->off;
            s->last_len = op->len;
            s->repeats = 0;
            return;
        }
    }
}

static void meter_password(ami_iec21 *s, const ami_iec21_msg *m, uint64_t at, uint64_t now)
{
    const ami_iec21_meter_cfg *c = s->mcfg;
    ami_iec21_dataset ds;
    bool ok = false;
    unsigned level = m->cmd_type == '1' ? 2 : 3;
    if (m->data && first_ds(m, s->lenient, &ds) == AMI_OK && ds.address_len == 0) {
        if (m->cmd_type == '1' && c->password) {
            size_t n = strlen(c->password);
            ok = ds.raw_len == n && ami_ct_equal(ds.raw, c->password, n);
        } else if (m->cmd_type == '2' && c->secret) {
            char want[AMI_IEC21_MAX_VALUE];
            ami_iec21_p2_fn fn = c->p2 ? c->p2 : ami_iec21_p2_example;
            int n = fn(c->p2_user, c->secret, strlen(c->secret), s->operand, strlen(s->operand),
                       want, sizeof want);
            ok = n > 0 && ds.raw_len == (size_t)n && ami_ct_equal(ds.raw, want, (size_t)n);
            ami_wipe(want, sizeof want);
        }
    }
    if (ok) {
        s->bad_passwords = 0;
        if (s->level < level)
            s->level = level;
        ami_wr w = tx_begin(s);
        ami_wr_u8(&w, AMI_IEC21_ACK);
        q_send(s, &w, at, 0);
        return;
    }
    s->bad_passwords++;
    ami_iec21__op *op = q_event(s, AMI_IEC21_EV_BAD_PASSWORD, NULL);
    if (op)
        op->count = s->bad_passwords;
    unsigned max = c->max_bad_passwords ? c->max_bad_passwords : 3;
    if (s->bad_passwords >= max) {
        /* lock the port and log a tamper event; break the session off */
        s->lock_until = now + (c->lock_ms ? c->lock_ms : 60000);
        op = q_event(s, AMI_IEC21_EV_TAMPER, NULL);
        if (op)
            op->count = s->bad_passwords;
        q_command(s, 'B', '0', NULL, 0, at);
        meter_sign_off(s, 0);
        return;
    }
    meter_error(s, "ERROR:PASSWORD", at);
}

static bool value_ok(const char *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = (uint8_t)v[i];
        if (ch < 0x20 || ch >= 0x7F || ch == '(' || ch == ')' || ch == '/' || ch == '!')
            return false;
    }
    return true;
}

static void meter_command(ami_iec21 *s, const ami_iec21_msg *m, uint64_t now)
{
    uint64_t at = now + tr(s);
    ami_iec21_dataset ds;
    int reg;
    switch (m->cmd) {
    case 'B':
        meter_sign_off(s, 0);
        return;
    case 'P':
        if (m->cmd_type == '1' || m->cmd_type == '2')
            meter_password(s, m, at, now);
        else
            meter_error(s, "ERROR:COMMAND", at);
        break;
    case 'R':
    case 'W':
    case 'E':
        if (m->cmd_type != '1' && m->cmd_type != '2') {
            meter_error(s, "ERROR:COMMAND", at);
            break;
        }
        if (!m->data || first_ds(m, s->lenient, &ds) != AMI_OK) {
            meter_error(s, "ERROR:SYNTAX", at);
            break;
        }
        reg = find_reg(s, ds.address, ds.address_len);
        if (reg < 0) {
            meter_error(s, "ERROR:ADDRESS", at);
            break;
        }
        ami_iec21_register *r = &s->mcfg->regs[reg];
        unsigned lvl = meter_level(s);
        if (m->cmd == 'R') {
            if (lvl < r->read_level) {
                meter_error(s, "ERROR:ACCESS", at);
                break;
            }
            ami_wr w = tx_begin(s);
            size_t from = w.len;
            ami_wr_u8(&w, AMI_IEC21_STX);
            put_ds(&w, r);
            ami_wr_u8(&w, AMI_IEC21_ETX);
            if (!ami_wr_error(&w))
                ami_wr_u8(&w, ami_iec21_bcc(w.p + from + 1, w.len - from - 1));
            q_send(s, &w, at, 0);
            break;
        }
        if (r->write_level == 0 || lvl < 2 || lvl < r->write_level) {
            meter_error(s, "ERROR:ACCESS", at);
            break;
        }
        if (m->cmd == 'W') {
            if (ds.raw_len >= r->value_cap || !value_ok(ds.raw, ds.raw_len)) {
                meter_error(s, "ERROR:VALUE", at);
                break;
            }
            memcpy(r->value, ds.raw, ds.raw_len);
            r->value[ds.raw_len] = '\0';
        }
        {
            ami_wr w = tx_begin(s);
            ami_wr_u8(&w, AMI_IEC21_ACK);
            q_send(s, &w, at, 0);
            ami_iec21__op *op =
                q_event(s, m->cmd == 'W' ? AMI_IEC21_EV_WRITTEN : AMI_IEC21_EV_EXECUTED, m);
            if (op)
                op->reg = reg;
        }
        break;
    default:
        meter_error(s, "ERROR:COMMAND", at);
        break;
    }
    remember_last(s);
}

static void meter_message(ami_iec21 *s, const ami_iec21_msg *m, uint64_t now)
{
    const ami_iec21_meter_cfg *c = s->mcfg;
    uint64_t at = now + tr(s);
    switch (s->state) {
    case MS_IDLE:
        if (m->kind != AMI_IEC21_MSG_REQUEST)
            return; /* a meter ignores everything but a request when idle */
        if (c->address && m->address_len &&
            (strlen(c->address) != m->address_len ||
             memcmp(c->address, m->address, m->address_len) != 0))
            return; /* another meter on the bus */
        if (s->lock_until && now < s->lock_until) {
            ami__log(AMI_LOG_INFO, "iec21: request ignored, port locked");
            return;
        }
        if (s->lock_until) {
            s->lock_until = 0; /* the lock period is over: a fresh count */
            s->bad_passwords = 0;
        }
        s->level = 1;
        q_ident(s, at);
        switch (c->mode) {
        case AMI_IEC21_MODE_A:
            q_readout(s, 0, tr(s));
            meter_idle(s);
            break;
        case AMI_IEC21_MODE_B:
            q_baud(s,
                   ami_iec21_baud_of(
                       AMI_IEC21_MODE_B,
                       ami_iec21_baud_char(AMI_IEC21_MODE_B, c->max_baud ? c->max_baud : 9600)),
                   AMI_IEC21_7E1);
            q_readout(s, 0, tr(s));
            q_baud(s, 300, AMI_IEC21_7E1);
            meter_idle(s);
            break;
        default:
            s->state = MS_WAIT_OPTION;
            break;
        }
        return;
    case MS_WAIT_OPTION: {
        if (m->kind != AMI_IEC21_MSG_OPTION) {
            meter_idle(s);
            return;
        }
        const ami_iec21_option *o = &m->option;
        uint32_t b = ami_iec21_baud_of(AMI_IEC21_MODE_C, o->baud);
        uint32_t max = c->max_baud ? c->max_baud : 9600;
        if (b == 0 || b > max) {
            ami__log(AMI_LOG_INFO, "iec21: option select with baud character '%c' refused",
                     o->baud);
            meter_idle(s);
            return;
        }
        if (o->protocol == '2' && o->mode == '2' && c->mode == AMI_IEC21_MODE_E) {
            /* mode E: the port carries HDLC from now on, 8N1 */
            q_baud(s, b, AMI_IEC21_8N1);
            ami_iec21__op *op = q_event(s, AMI_IEC21_EV_HANDOVER, NULL);
            if (op)
                op->baud = b;
            s->state = S_DONE;
            return;
        }
        if (o->protocol != '0' || (o->mode != '0' && o->mode != '1')) {
            meter_idle(s);
            return;
        }
        q_baud(s, b, AMI_IEC21_7E1);
        if (o->mode == '0') {
            q_readout(s, at, 0);
            q_baud(s, 300, AMI_IEC21_7E1);
            meter_idle(s);
            return;
        }
        /* programming mode: P0 with the operand (6.3.5) */
        snprintf(s->operand, sizeof s->operand, "%s", c->operand ? c->operand : "");
        char buf[AMI_IEC21_MAX_VALUE + 3];
        int n = snprintf(buf, sizeof buf, "(%s)", s->operand);
        q_command(s, 'P', '0', buf, (size_t)n, at);
        remember_last(s);
        s->state = MS_PROG;
        return;
    }
    case MS_PROG:
        if (m->kind == AMI_IEC21_MSG_NAK) {
            if (!repeat_last(s, at))
                meter_sign_off(s, 0);
            return;
        }
        if (m->kind == AMI_IEC21_MSG_COMMAND) {
            meter_command(s, m, now);
            return;
        }
        return; /* anything else is ignored; tt runs */
    default:
        return;
    }
}

/* ---------------------------------------------------------------- poll */

static void fill_from_op(ami_iec21 *s, const ami_iec21__op *op, ami_iec21_action *a)
{
    a->kind = (enum ami_iec21_action_kind)op->kind;
    switch (op->kind) {
    case AMI_IEC21_ACT_SEND:
        a->data = op->src ? op->src : s->tx + op->off;
        a->len = op->len;
        break;
    case AMI_IEC21_ACT_BAUD:
        a->baud = op->baud;
        a->format = (enum ami_iec21_format)op->format;
        break;
    case AMI_IEC21_ACT_EVENT:
        a->event = (enum ami_iec21_event)op->event;
        a->msg = op->has_msg ? &s->ev_msg : NULL;
        a->answer = (enum ami_iec21_answer)op->answer;
        a->reg = op->reg;
        a->count = op->count;
        a->baud = op->baud;
        break;
    default:
        break;
    }
}

static void drop_consumed(ami_iec21 *s)
{
    if (s->consume) {
        size_t c = s->consume < s->rxlen ? s->consume : s->rxlen;
        memmove(s->rx, s->rx + c, s->rxlen - c);
        s->rxlen -= c;
        s->consume = 0;
    }
}

static uint64_t deadline(const ami_iec21 *s)
{
    uint64_t base = s->last_tx > s->last_rx ? s->last_tx : s->last_rx;
    switch (s->state) {
    case CS_WAIT_IDENT:
        if (s->ccfg->mode == AMI_IEC21_MODE_D && s->rxlen == 0)
            return base + s->t.push_wait_ms;
        return base + (s->rxlen ? s->t.char_ms : s->t.response_ms);
    case CS_WAIT_DATA:
        if (s->mode == AMI_IEC21_MODE_D && s->rxlen == 0)
            return base + s->t.push_wait_ms;
        return base + (s->rxlen ? s->t.char_ms : s->t.response_ms);
    case CS_WAIT_P0:
    case CS_WAIT_PW:
    case CS_WAIT_ANSWER:
        return base + (s->rxlen ? s->t.char_ms : s->t.response_ms);
    case MS_WAIT_OPTION:
        return base + s->t.response_ms + s->t.char_ms;
    case MS_PROG:
        return base + s->t.inactivity_ms;
    case MS_PUSH:
        return s->next_push;
    default:
        return NEVER;
    }
}

int ami_iec21_poll(ami_iec21 *s, uint64_t now, ami_iec21_action *a)
{
    if (!s || !a)
        return AMI_E_INVAL;
    for (;;) {
        memset(a, 0, sizeof *a);
        if (s->tx_done) {
            s->tx_done = false;
            s->last_tx = now;
        }
        if (s->qn) {
            ami_iec21__op *op = &s->q[s->qhead];
            if (op->kind == 0) {
                s->qhead = (s->qhead + 1) % AMI_IEC21__QLEN;
                s->qn--;
                return fail_now(s, op->err, a);
            }
            if (op->delay && !op->at)
                op->at = now + op->delay; /* counts from the end of the previous step */
            if (op->at && now < op->at) {
                a->kind = AMI_IEC21_ACT_WAIT;
                a->until = op->at;
                return AMI_OK;
            }
            fill_from_op(s, op, a);
            if (op->kind == AMI_IEC21_ACT_SEND)
                s->tx_done = true; /* sent and drained when the host polls again */
            s->qhead = (s->qhead + 1) % AMI_IEC21__QLEN;
            s->qn--;
            return AMI_OK;
        }
        if (s->state == S_FAILED) {
            a->kind = AMI_IEC21_ACT_DONE;
            return s->err ? s->err : AMI_E_INTERNAL;
        }
        if (s->state == S_DONE) {
            a->kind = AMI_IEC21_ACT_DONE;
            return AMI_OK;
        }
        if (s->state == CS_INIT || s->state == CS_READY) {
            a->kind = AMI_IEC21_ACT_WAIT;
            a->until = NEVER;
            return AMI_OK;
        }
        /* parse what arrived */
        drop_consumed(s);
        if (s->rxlen) {
            bool client = s->role == AMI_IEC21_ROLE_CLIENT;
            ami_iec21_msg m;
            int rc = ami_iec21_msg_parse(s->rx, s->rxlen,
                                         client ? AMI_IEC21_FROM_METER : AMI_IEC21_FROM_CLIENT,
                                         s->lenient, &m);
            if (rc > 0) {
                s->consume = (size_t)rc;
                s->deviations |= m.deviations;
                if (m.kind == AMI_IEC21_MSG_NONE)
                    continue;
                if (client) {
                    int e = client_message(s, &m, now);
                    if (e < 0)
                        return fail_now(s, e, a);
                } else {
                    meter_message(s, &m, now);
                }
                continue;
            }
            if (rc == AMI_E_CHECKSUM) {
                s->consume = m.start + m.len;
                if (!client) {
                    if (s->state == MS_PROG)
                        q_nak(s, now + tr(s));
                    continue;
                }
                if ((s->state == CS_WAIT_ANSWER || s->state == CS_WAIT_PW ||
                     s->state == CS_WAIT_P0) &&
                    s->repeats < AMI_IEC21_MAX_REPEAT) {
                    /* ask for a repeat (6.3.14); the meter sends the answer again */
                    s->repeats++;
                    q_nak(s, now + tr(s));
                    continue;
                }
                set_why(s, "iec21: bcc: received 0x%02X, computed 0x%02X", m.bcc_received,
                        m.bcc_computed);
                return fail_now(s, AMI_E_CHECKSUM, a);
            }
            if (rc != AMI_E_AGAIN) {
                if (!client) {
                    s->consume = s->rxlen; /* a meter drops what it cannot parse */
                    continue;
                }
                set_why(s, "iec21: %s at byte %zu of the %s", ami_strerror(rc), m.start,
                        s->state == CS_WAIT_IDENT ? "identification" : "message");
                return fail_now(s, rc, a);
            }
        }
        /* nothing complete: timeouts, pushes, or wait */
        uint64_t dl = deadline(s);
        if (now >= dl) {
            if (s->role == AMI_IEC21_ROLE_METER) {
                if (s->state == MS_PUSH) {
                    q_ident(s, 0);
                    q_readout(s, 0, 0);
                    s->next_push = now + s->t.push_every_ms;
                    continue;
                }
                s->rxlen = 0;
                if (s->state == MS_PROG)
                    meter_sign_off(s, 0);
                else
                    meter_idle(s);
                continue;
            }
            set_why(s, "iec21: timeout waiting for the %s",
                    s->state == CS_WAIT_IDENT  ? "identification"
                    : s->state == CS_WAIT_DATA ? "data readout"
                    : s->state == CS_WAIT_P0   ? "password request (P0)"
                                               : "answer");
            return fail_now(s, AMI_E_TIMEOUT, a);
        }
        a->kind = AMI_IEC21_ACT_WAIT;
        a->until = dl;
        return AMI_OK;
    }
}

int ami_iec21_command(ami_iec21 *s, char cmd, char type, const char *address, const char *value,
                      uint64_t now)
{
    if (!s || !address || s->role != AMI_IEC21_ROLE_CLIENT)
        return AMI_E_INVAL;
    if (s->state != CS_READY || s->qn)
        return AMI_E_STATE;
    size_t al = strlen(address), vl = value ? strlen(value) : 0;
    if (al == 0 || al > AMI_IEC21_MAX_DS_ADDRESS || vl > AMI_IEC21_MAX_VALUE ||
        !value_ok(address, al) || (value && !value_ok(value, vl)))
        return AMI_E_INVAL;
    char buf[AMI_IEC21_MAX_DS_ADDRESS + AMI_IEC21_MAX_VALUE + 3];
    int n = snprintf(buf, sizeof buf, "%s(%s)", address, value ? value : "");
    drop_consumed(s);
    s->txlen = 0;
    int len = ami_iec21_command_encode(cmd, type, buf, (size_t)n, s->tx, s->txcap);
    if (len < 0)
        return len;
    q_send_encoded(s, len, now > s->last_rx + tr(s) ? 0 : s->last_rx + tr(s));
    s->last_off = 0;
    s->last_len = (size_t)len;
    s->repeats = 0;
    s->state = CS_WAIT_ANSWER;
    return AMI_OK;
}

int ami_iec21_close(ami_iec21 *s, uint64_t now)
{
    if (!s)
        return AMI_E_INVAL;
    if (s->role == AMI_IEC21_ROLE_CLIENT &&
        (s->state == CS_READY || s->state == CS_WAIT_ANSWER || s->state == CS_WAIT_PW)) {
        s->qn = 0;
        s->txlen = 0;
        q_command(s, 'B', '0', NULL, 0, now > s->last_rx + tr(s) ? 0 : s->last_rx + tr(s));
    }
    if (s->state != S_FAILED)
        s->state = S_DONE;
    return AMI_OK;
}

unsigned ami_iec21_level(const ami_iec21 *s)
{
    return s && s->role == AMI_IEC21_ROLE_METER ? meter_level(s) : 0;
}

unsigned ami_iec21_deviations(const ami_iec21 *s)
{
    return s ? s->deviations : 0;
}

const char *ami_iec21_why(const ami_iec21 *s)
{
    return s ? s->why : "";
}
