/*
 * ami p1: read DSMR P1 telegrams from serial ports, files, stdin or TCP (ser2net), decode them,
 * print them (table or JSON Lines) and publish them to MQTT with Home Assistant discovery.
 * Several inputs in one process, one meter each; every input has its own framer, so a bad
 * telegram on one never disturbs another, and reading always goes on with the next telegram.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ami/ami.h"
#include "ami/mbus.h"
#include "ami/p1crypt.h"
#include "ami/security.h"
#include "cli.h"
#include "io/serial.h"
#include "p1_app.h"

#define MAX_INPUTS  16
#define MAX_OBJECTS 512
#define MAX_GROUPS  2048
#define READ_CHUNK  4096
#define BACKOFF_MIN 1000u
#define BACKOFF_MAX 60000u

enum in_kind { IN_FILE, IN_STDIN, IN_DEVICE, IN_TCP };

struct input {
    char name[300];
    enum in_kind kind;
    char host[256], port[16];
    int fd;
    bool done, connecting;
    unsigned backoff_ms;
    unsigned long long next_try_ms;
    ami_p1_framer f;
    uint8_t *tbuf;
    uint8_t rbuf[READ_CHUNK];
    unsigned long long frames; /* frames seen, good or bad (numbering in messages) */
    unsigned long long parse_errors, io_errors;
    char meter[64];
    struct decrypt *dec; /* encrypted input (--key), or NULL */
    ami_serial *ser;     /* serial port (character device), or NULL */
};

/* Per-input decryption state: ciphertext bytes gathered until a whole frame is there. */
#define CBUF_CAP     (AMI_P1_SMARTY_MAX + 512)
#define REPLAY_SLOTS 8
struct decrypt {
    ami_sec_ctx sec;
    ami_replay replay;
    ami_replay_entry slots[REPLAY_SLOTS];
    bool mbus; /* Austrian M-Bus DLMS push (encryption only) instead of Smarty */
    uint8_t cbuf[CBUF_CAP];
    size_t clen;
    uint8_t plain[AMI_P1_SMARTY_MAX];
    ami_mbus_dlms reasm;
    uint8_t apdu[2048];
    uint8_t arena_mem[AMI_P1_NOTIFY_ARENA];
    ami_arena arena;
    ami_reading readings[128];
    unsigned long long frames, bad;
};

struct p1_run {
    const char *cmd; /* "p1 read" / "p1 decode" */
    bool json, table, stats;
    int verbose;
    unsigned lenient;
    ami_p1_options popt;
    size_t max_telegram;
    struct input in[MAX_INPUTS];
    int nin;
    const char *meters[MAX_INPUTS];
    int nmeters;
    struct p1_mqtt *mqtt;
    bool any_error;
    ami_p1_object *objs;
    ami_p1_group *grps;
    /* --key / --key-file / --aad-key / --mbus */
    ami_serial_opts sopts; /* --serial */
    uint8_t ek[AMI_SEC_KEY_MAX], ak[AMI_SEC_KEY_MAX];
    size_t ek_len, ak_len;
    bool mbus;
    bool reopen; /* --reopen: a serial port that goes away is reopened with backoff */
    unsigned long long count, good; /* --count: stop after this many good telegrams */
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static unsigned long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000u + (unsigned long long)ts.tv_nsec / 1000000u;
}

/* ---------------------------------------------------------------- telegrams */

static void telegram_error(struct p1_run *r, struct input *in, const char *layer, const char *fmt,
                           ...) __attribute__((format(printf, 4, 5)));
static void telegram_error(struct p1_run *r, struct input *in, const char *layer, const char *fmt,
                           ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    (void)cli_fail(r->cmd, in->name, layer, "telegram %llu: %s", in->frames, msg);
    r->any_error = true;
}

static void on_frame(struct p1_run *r, struct input *in, int rc, const ami_p1_frame *fr)
{
    in->frames++;
    switch (rc) {
    case AMI_OK:
        break;
    case AMI_E_CHECKSUM:
        telegram_error(r, in, "crc", "CRC %04X expected, %04X received", fr->crc_computed,
                       fr->crc_given);
        return;
    case AMI_E_TOO_LARGE:
        telegram_error(r, in, "framing", "longer than %zu bytes (oversized), skipped",
                       r->max_telegram);
        return;
    case AMI_E_TRUNCATED:
        telegram_error(r, in, "framing", "truncated after %zu bytes (cut off)", fr->len);
        return;
    default:
        telegram_error(r, in, "framing", "bad end line after '!' (%s)", ami_strerror(rc));
        return;
    }
    ami_p1_telegram t;
    ami_p1_telegram_init(&t, r->objs, MAX_OBJECTS, r->grps, MAX_GROUPS);
    int prc = ami_p1_parse(fr->data, fr->len, &r->popt, &t);
    if (prc != AMI_OK) {
        in->parse_errors++;
        telegram_error(r, in, "parse", "%s at byte %zu", t.error ? t.error : ami_strerror(prc),
                       t.error_offset);
        return;
    }
    if (!in->meter[0])
        p1_meter_id(&t, in->meter, sizeof in->meter);
    if (r->verbose)
        fprintf(stderr, "ami %s: %s: telegram %llu: ok, meter %s, %u objects\n", r->cmd, in->name,
                in->frames, in->meter, t.nobjects);
    if (r->json) {
        ami_jw w;
        ami_jw_init_file(&w, stdout);
        p1_json_telegram(&w, &t, fr, in->name, in->meter);
        fputc('\n', stdout);
        fflush(stdout);
    } else if (r->table) {
        p1_table_telegram(stdout, &t, fr, in->name);
        fflush(stdout);
    }
    if (r->mqtt)
        p1_mqtt_telegram(r->mqtt, in->meter, &t, fr, now_ms());
    if (r->count && ++r->good >= r->count)
        stop_flag = 1;
}

/* Feeds bytes to an input's framer and handles every outcome. */
static void feed(struct p1_run *r, struct input *in, const uint8_t *p, size_t n)
{
    while (n > 0) {
        size_t used = 0;
        ami_p1_frame fr;
        int rc = ami_p1_framer_push(&in->f, p, n, &used, &fr);
        p += used;
        n -= used;
        if (rc != AMI_E_AGAIN)
            on_frame(r, in, rc, &fr);
    }
}

static void finish_input(struct p1_run *r, struct input *in)
{
    ami_p1_frame fr;
    int rc = ami_p1_framer_finish(&in->f, &fr);
    if (rc != AMI_E_AGAIN)
        on_frame(r, in, rc, &fr);
}

/* ---------------------------------------------------------------- encrypted inputs */

static int decrypt_init(struct p1_run *r, struct input *in)
{
    struct decrypt *d = calloc(1, sizeof *d);
    if (!d)
        return AMI_E_NOMEM;
    d->mbus = r->mbus;
    int rc = ami_sec_ctx_init(&d->sec);
    if (rc == AMI_OK)
        rc = ami_sec_ctx_set_ek(&d->sec, r->ek, r->ek_len);
    if (rc == AMI_OK && !r->mbus)
        rc = ami_sec_ctx_set_ak(&d->sec, r->ak_len ? r->ak : ami_p1_smarty_default_ak,
                                r->ak_len ? r->ak_len : 16);
    /* Smarty frames are authenticated (A|E); the M-Bus pushes are encryption only, which
       --mbus accepts by name (they carry no integrity). */
    d->sec.accept =
        r->mbus ? AMI_SEC_ACCEPT_ENC | AMI_SEC_ACCEPT_AUTH_ENC : AMI_SEC_ACCEPT_AUTH_ENC;
    if (rc == AMI_OK)
        rc = ami_replay_init(&d->replay, d->slots, REPLAY_SLOTS, NULL);
    if (rc == AMI_OK)
        rc = ami_mbus_dlms_init(&d->reasm, d->apdu, sizeof d->apdu);
    ami_arena_init(&d->arena, d->arena_mem, sizeof d->arena_mem);
    if (rc != AMI_OK) {
        ami_sec_ctx_wipe(&d->sec);
        free(d);
        return rc;
    }
    in->dec = d;
    return AMI_OK;
}

static void decrypt_free(struct input *in)
{
    if (!in->dec)
        return;
    ami_sec_ctx_wipe(&in->dec->sec);
    ami_wipe(in->dec->plain, sizeof in->dec->plain);
    free(in->dec);
    in->dec = NULL;
}

static const char *security_reason(int rc)
{
    switch (rc) {
    case AMI_E_AUTH:
        return "GCM tag mismatch (bad tag: wrong key or altered frame)";
    case AMI_E_REPLAY:
        return "frame counter not above the last one (replay)";
    case AMI_E_ACCESS:
        return "security control without authenticated encryption";
    case AMI_E_KEY:
        return "missing or invalid key";
    default:
        return ami_strerror(rc);
    }
}

static void security_error(struct p1_run *r, struct input *in, int rc)
{
    in->dec->bad++;
    (void)cli_fail(r->cmd, in->name, "security", "frame %llu: %s", in->dec->frames,
                   security_reason(rc));
    r->any_error = true;
}

/* Prints the readings of one decrypted DLMS push in the --json schema (or as a table). */
static void output_readings(struct p1_run *r, struct input *in, const ami_reading *rd, size_t n)
{
    char b[256], ob[AMI_OBIS_STRLEN];
    if (!r->json && r->table) {
        fprintf(stdout, "%s  (DLMS push, frame %llu)\n", in->name, in->dec->frames);
        for (size_t i = 0; i < n; i++) {
            p1_obis_str(&rd[i].obis, ob);
            const ami_p1_quantity *q = ami_p1_quantity_find(&rd[i].obis);
            if (ami_reading_format_value(&rd[i], b, sizeof b) < 0)
                snprintf(b, sizeof b, "?");
            fprintf(stdout, "  %-13s %-30s %s %s\n", ob, q && !q->per_channel ? q->name : "-", b,
                    rd[i].unit);
        }
        fputc('\n', stdout);
        return;
    }
    if (!r->json)
        return;
    ami_jw w;
    ami_jw_init_file(&w, stdout);
    p1_json_readings(&w, rd, n, in->name, in->meter);
    fputc('\n', stdout);
    fflush(stdout);
}

/* One reassembled M-Bus DLMS APDU (Austrian path). */
static void on_apdu(struct p1_run *r, struct input *in, const uint8_t *apdu, size_t len)
{
    struct decrypt *d = in->dec;
    d->frames++;
    uint8_t *work = malloc(len + 1);
    if (!work) {
        security_error(r, in, AMI_E_NOMEM);
        return;
    }
    ami_p1_dlms c = {&d->sec, &d->replay, work, len + 1, &d->arena};
    ami_p1_notification info;
    int rc =
        ami_p1_dlms_readings(&c, apdu, len, d->readings, AMI_COUNTOF(d->readings), &info, NULL);
    if (rc == AMI_OK) {
        if (!in->meter[0])
            p1_readings_meter_id(d->readings, info.count, in->name, in->meter, sizeof in->meter);
        output_readings(r, in, d->readings, info.count);
        if (r->mqtt)
            p1_mqtt_readings(r->mqtt, in->meter, d->readings, info.count, now_ms());
    } else
        security_error(r, in, rc);
    ami_wipe(work, len + 1);
    free(work);
}

/* Gathers ciphertext and decrypts every whole frame; plaintext telegrams go to the framer. */
static void feed_encrypted(struct p1_run *r, struct input *in, const uint8_t *p, size_t n)
{
    struct decrypt *d = in->dec;
    while (n > 0) {
        size_t k = CBUF_CAP - d->clen < n ? CBUF_CAP - d->clen : n;
        memcpy(d->cbuf + d->clen, p, k);
        d->clen += k;
        p += k;
        n -= k;
        for (;;) {
            const uint8_t start = d->mbus ? 0x68 : AMI_SEC_TAG_GENERAL_GLO;
            const uint8_t *s = memchr(d->cbuf, start, d->clen);
            size_t skip = s ? (size_t)(s - d->cbuf) : d->clen;
            in->f.stats.skipped_bytes += skip;
            memmove(d->cbuf, d->cbuf + skip, d->clen - skip);
            d->clen -= skip;
            if (!d->clen)
                break;
            size_t drop = 0;
            int rc;
            if (d->mbus) {
                ami_mbus_frame fr;
                rc = ami_mbus_frame_decode(d->cbuf, d->clen, &fr, &drop);
                if (rc == AMI_OK) {
                    const uint8_t *apdu;
                    size_t alen;
                    int prc = ami_mbus_dlms_push(&d->reasm, &fr, &apdu, &alen);
                    if (prc == AMI_OK)
                        on_apdu(r, in, apdu, alen);
                    else if (prc != AMI_E_AGAIN)
                        (void)cli_fail(r->cmd, in->name, "m-bus", "segment dropped: %s",
                                       ami_strerror(prc));
                } else if (rc != AMI_E_AGAIN) {
                    drop = 1; /* not a frame here: resynchronise byte by byte */
                }
            } else {
                size_t plen = 0;
                rc = ami_p1_smarty_decrypt(&d->sec, &d->replay, d->cbuf, d->clen, d->plain,
                                           sizeof d->plain, &plen, &drop, NULL);
                if (rc == AMI_OK) {
                    d->frames++;
                    feed(r, in, d->plain, plen);
                    finish_input(r, in);
                    ami_wipe(d->plain, plen);
                } else if (rc == AMI_E_TRUNCATED && d->clen < CBUF_CAP) {
                    break;
                } else if (rc == AMI_E_AUTH || rc == AMI_E_REPLAY || rc == AMI_E_ACCESS ||
                           rc == AMI_E_UNSUPPORTED) {
                    d->frames++;
                    security_error(r, in, rc);
                    if (!drop)
                        drop = 1;
                } else {
                    drop = 1; /* not a frame start: look for the next one */
                }
            }
            if (rc == AMI_E_AGAIN && d->clen < CBUF_CAP)
                break;
            if (!drop)
                drop = 1;
            memmove(d->cbuf, d->cbuf + drop, d->clen - drop);
            d->clen -= drop;
        }
    }
}

/* Bytes read from an input: ciphertext or plaintext. */
static void input_bytes(struct p1_run *r, struct input *in, const uint8_t *p, size_t n)
{
    if (in->dec)
        feed_encrypted(r, in, p, n);
    else
        feed(r, in, p, n);
}

/* ---------------------------------------------------------------- inputs */

static void close_fd(struct input *in)
{
    if (in->ser) {
        ami_serial_close(in->ser);
        in->ser = NULL;
    } else if (in->fd >= 0 && in->kind != IN_STDIN) {
        close(in->fd);
    }
    in->fd = -1;
}

static void schedule_reconnect(struct input *in)
{
    close_fd(in);
    in->connecting = false;
    in->next_try_ms = now_ms() + in->backoff_ms;
    in->backoff_ms = in->backoff_ms * 2 > BACKOFF_MAX ? BACKOFF_MAX : in->backoff_ms * 2;
}

/* --reopen: opens a serial port again after it went away (a USB adapter unplugged and plugged
 * back); tries again with backoff while it is absent. */
static void serial_reopen(struct p1_run *r, struct input *in)
{
    int rc = ami_serial_open(&in->ser, in->name, &r->sopts);
    if (rc != AMI_OK) {
        if (r->verbose)
            fprintf(stderr, "ami %s: %s: not back yet (%s)\n", r->cmd, in->name, strerror(errno));
        schedule_reconnect(in);
        return;
    }
    in->fd = ami_serial_fd(in->ser);
    in->backoff_ms = BACKOFF_MIN;
    fprintf(stderr, "ami %s: %s: serial port reopened\n", r->cmd, in->name);
}

static void tcp_start(struct p1_run *r, struct input *in)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int gai = getaddrinfo(in->host, in->port, &hints, &res);
    if (gai != 0) {
        (void)cli_fail(r->cmd, in->name, "tcp", "%s", gai_strerror(gai));
        in->io_errors++;
        r->any_error = true;
        schedule_reconnect(in);
        return;
    }
    int fd =
        socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, res->ai_protocol);
    if (fd < 0) {
        freeaddrinfo(res);
        schedule_reconnect(in);
        return;
    }
    int c = connect(fd, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    in->fd = fd;
    if (c == 0) {
        in->connecting = false;
    } else if (errno == EINPROGRESS) {
        in->connecting = true;
    } else {
        (void)cli_fail(r->cmd, in->name, "tcp", "connect: %s", strerror(errno));
        in->io_errors++;
        r->any_error = true;
        schedule_reconnect(in);
    }
}

static int open_input(struct p1_run *r, struct input *in, const char *arg, bool tcp)
{
    memset(in, 0, sizeof *in);
    in->fd = -1;
    in->backoff_ms = BACKOFF_MIN;
    in->tbuf = malloc(r->max_telegram);
    if (!in->tbuf)
        return cli_fail(r->cmd, arg, NULL, "out of memory");
    ami_p1_framer_init(&in->f, in->tbuf, r->max_telegram, r->lenient);
    if (r->ek_len && decrypt_init(r, in) != AMI_OK)
        return cli_fail(r->cmd, arg, "security", "cannot set up decryption (key length?)");
    if (tcp) {
        const char *colon = strrchr(arg, ':');
        if (!colon || colon == arg || !colon[1] || (size_t)(colon - arg) >= sizeof in->host ||
            strlen(colon + 1) >= sizeof in->port)
            return cli_usage(r->cmd, "--tcp %s: expected HOST:PORT", arg);
        size_t hl = (size_t)(colon - arg);
        const char *h = arg;
        if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
            h++;
            hl -= 2;
        }
        memcpy(in->host, h, hl);
        in->host[hl] = '\0';
        snprintf(in->port, sizeof in->port, "%s", colon + 1);
        long port;
        if (!cli_parse_long(in->port, 1, 65535, &port))
            return cli_usage(r->cmd, "--tcp %s: bad port", arg);
        in->kind = IN_TCP;
        snprintf(in->name, sizeof in->name, "tcp://%s", arg);
        tcp_start(r, in);
        return AMI_EXIT_OK;
    }
    snprintf(in->name, sizeof in->name, "%s", arg);
    if (!strcmp(arg, "-")) {
        in->kind = IN_STDIN;
        in->fd = STDIN_FILENO;
        snprintf(in->name, sizeof in->name, "stdin");
        return AMI_EXIT_OK;
    }
    in->fd = open(arg, O_RDONLY | O_NOCTTY | O_CLOEXEC);
    if (in->fd < 0) {
        in->done = true;
        in->io_errors++;
        r->any_error = true;
        return cli_fail(r->cmd, arg, "io", "%s", strerror(errno));
    }
    struct stat st;
    in->kind = fstat(in->fd, &st) == 0 && S_ISCHR(st.st_mode) ? IN_DEVICE : IN_FILE;
    if (in->kind == IN_DEVICE && strcmp(arg, "/dev/null") != 0) {
        /* A serial port (or pty): raw, at --serial's rate and format, parity in software on
           ptys (src/io/serial.c). */
        close(in->fd);
        in->fd = -1;
        int rc = ami_serial_open(&in->ser, arg, &r->sopts);
        if (rc != AMI_OK) {
            in->done = true;
            in->io_errors++;
            r->any_error = true;
            return cli_fail(r->cmd, arg, "serial", "%s (%s)", ami_strerror(rc), strerror(errno));
        }
        in->fd = ami_serial_fd(in->ser);
        if (r->verbose)
            fprintf(stderr, "ami %s: %s: serial %u baud%s%s\n", r->cmd, arg,
                    (unsigned)ami_serial_baud(in->ser),
                    r->sopts.format == AMI_SERIAL_7E1 ? " 7E1" : " 8N1",
                    ami_serial_soft_parity(in->ser) ? " (software parity)" : "");
    }
    return AMI_EXIT_OK;
}

/* Reads what is available on one input; returns false when the input has ended. */
static void service_input(struct p1_run *r, struct input *in, short revents)
{
    if (in->kind == IN_TCP && in->connecting) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(in->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
            (void)cli_fail(r->cmd, in->name, "tcp", "connect: %s", strerror(err ? err : errno));
            in->io_errors++;
            r->any_error = true;
            schedule_reconnect(in);
            return;
        }
        in->connecting = false;
        return;
    }
    if (!(revents & (POLLIN | POLLHUP | POLLERR)))
        return;
    ssize_t got;
    if (in->ser) {
        int n = ami_serial_read(in->ser, in->rbuf, sizeof in->rbuf, 0);
        if (n == 0)
            return; /* only echo or bad-parity bytes */
        got = n > 0 ? n : n == AMI_E_CLOSED ? 0 : -1;
        if (n < 0 && n != AMI_E_CLOSED)
            errno = EIO;
    } else {
        got = read(in->fd, in->rbuf, sizeof in->rbuf);
    }
    if (got > 0) {
        if (in->kind == IN_TCP)
            in->backoff_ms = BACKOFF_MIN;
        input_bytes(r, in, in->rbuf, (size_t)got);
        return;
    }
    if (got < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (got < 0) {
        (void)cli_fail(r->cmd, in->name, "io", "read: %s", strerror(errno));
        in->io_errors++;
        r->any_error = true;
    }
    /* End of input: a telegram cut off by it is reported; TCP reconnects. */
    if (in->dec && in->dec->clen) {
        (void)cli_fail(r->cmd, in->name, "security",
                       "frame cut off by the end of input (%zu bytes)", in->dec->clen);
        in->dec->bad++;
        in->dec->clen = 0;
        r->any_error = true;
    }
    finish_input(r, in);
    if (in->ser && r->reopen) {
        (void)cli_fail(r->cmd, in->name, "serial", "port went away; reopening");
        in->backoff_ms = BACKOFF_MIN;
        schedule_reconnect(in);
        return;
    }
    if (in->kind == IN_TCP) {
        if (got == 0)
            (void)cli_fail(r->cmd, in->name, "tcp", "connection closed; reconnecting");
        schedule_reconnect(in);
        return;
    }
    close_fd(in);
    in->done = true;
}

static void print_stats(struct p1_run *r, struct input *in)
{
    const ami_p1_framer_stats *s = &in->f.stats;
    fprintf(stderr,
            "ami %s: %s: %llu telegrams (%llu crc ok, %llu without crc), %llu crc errors, "
            "%llu truncated, %llu oversized, %llu malformed, %llu parse errors, %llu i/o errors, "
            "%llu bytes skipped\n",
            r->cmd, in->name, (unsigned long long)s->telegrams, (unsigned long long)s->crc_ok,
            (unsigned long long)s->crc_absent, (unsigned long long)s->crc_errors,
            (unsigned long long)s->truncated, (unsigned long long)s->oversized,
            (unsigned long long)s->malformed, in->parse_errors, in->io_errors,
            (unsigned long long)s->skipped_bytes);
    if (in->dec)
        fprintf(stderr,
                "ami %s: %s: %llu encrypted frames, %llu rejected (bad tag, replay, "
                "cut off)\n",
                r->cmd, in->name, in->dec->frames, in->dec->bad);
    if (!(r->json && r->stats))
        return;
    ami_jw w;
    ami_jw_init_file(&w, stdout);
    ami_jw_obj_begin(&w);
    ami_jw_key(&w, "input");
    ami_jw_str(&w, in->name);
    ami_jw_key(&w, "stats");
    ami_jw_obj_begin(&w);
    static const char *const keys[] = {"telegrams", "crc_ok",       "crc_absent", "crc_errors",
                                       "truncated", "oversized",    "malformed",  "parse_errors",
                                       "io_errors", "skipped_bytes"};
    unsigned long long vals[] = {s->telegrams,  s->crc_ok,       s->crc_absent, s->crc_errors,
                                 s->truncated,  s->oversized,    s->malformed,  in->parse_errors,
                                 in->io_errors, s->skipped_bytes};
    for (size_t i = 0; i < AMI_COUNTOF(keys); i++) {
        ami_jw_key(&w, keys[i]);
        ami_jw_uint(&w, vals[i]);
    }
    if (in->dec) {
        ami_jw_key(&w, "frames");
        ami_jw_uint(&w, in->dec->frames);
        ami_jw_key(&w, "frames_rejected");
        ami_jw_uint(&w, in->dec->bad);
    }
    ami_jw_obj_end(&w);
    ami_jw_obj_end(&w);
    fputc('\n', stdout);
}

/* The event loop over every input (and the MQTT queue). */
static void run_loop(struct p1_run *r)
{
    struct pollfd pfd[MAX_INPUTS];
    int map[MAX_INPUTS];
    while (!stop_flag) {
        int np = 0, live = 0;
        int timeout = -1;
        unsigned long long now = now_ms();
        for (int i = 0; i < r->nin; i++) {
            struct input *in = &r->in[i];
            if (in->done)
                continue;
            live++;
            if (in->fd < 0 && (in->kind == IN_TCP || in->kind == IN_DEVICE)) {
                if (now >= in->next_try_ms) {
                    if (in->kind == IN_TCP)
                        tcp_start(r, in);
                    else
                        serial_reopen(r, in);
                }
                /* Still away (or failed at once): wake up for the next attempt. */
                if (in->fd < 0) {
                    int w = in->next_try_ms > now ? (int)(in->next_try_ms - now) : 0;
                    timeout = timeout < 0 || w < timeout ? w : timeout;
                }
            }
            if (in->fd < 0)
                continue;
            pfd[np].fd = in->fd;
            pfd[np].events = in->connecting ? POLLOUT : POLLIN;
            pfd[np].revents = 0;
            map[np++] = i;
        }
        if (!live)
            break;
        if (r->mqtt) {
            int w = p1_mqtt_service(r->mqtt);
            if (w >= 0)
                timeout = timeout < 0 || w < timeout ? w : timeout;
        }
        int n = poll(pfd, (nfds_t)np, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int k = 0; k < np; k++)
            if (pfd[k].revents)
                service_input(r, &r->in[map[k]], pfd[k].revents);
    }
}

/* ---------------------------------------------------------------- command line */

static void help(FILE *out, bool read)
{
    if (read)
        fprintf(out, "Usage: ami p1 read [OPTIONS] [INPUT...] [--tcp HOST:PORT...]\n\n"
                     "Reads DSMR P1 telegrams continuously from each INPUT (a serial port such as\n"
                     "/dev/ttyUSB0, a file or FIFO, '-' for stdin) and each --tcp endpoint\n"
                     "(ser2net-style; reconnects with backoff), one meter per input.\n\n");
    else
        fprintf(out, "Usage: ami p1 decode [OPTIONS] FILE...\n\n"
                     "Decodes captured P1 telegrams or streams ('-' for stdin).\n\n");
    fprintf(out,
            "Output:\n"
            "  --json              JSON Lines, one object per telegram (schema: docs/p1.md)\n"
            "  --stats             with --json, a final {\"input\",\"stats\"} line per input\n"
            "  (counters per input are always printed on stderr at exit)\n\n"
            "Parsing:\n"
            "  --strict            accept no deviation from DSMR (default: the usual ones)\n"
            "  --lenient LIST      also accept these deviations (comma-separated): lf-only,\n"
            "                      no-blank-after-header, blank-before-end, short-crc,\n"
            "                      split-value, trailing-bytes, obis-f, unit-no-star\n"
            "  --max-telegram N    longest telegram accepted, bytes (default 8192)\n"
            "  --utc-offset MIN    offset of 'W' (winter) timestamps, minutes (default 60)\n\n"
            "Encrypted meters (keys are never printed):\n"
            "  --key HEX           AES key (16 or 32 bytes): inputs carry Luxembourg Smarty\n"
            "                      AES-GCM frames (general-glo-ciphering), checked and decrypted\n"
            "  --key-file FILE     the key in hex from a file (keeps it off the command line)\n"
            "  --aad-key HEX       authentication key (default 00112233445566778899AABBCCDDEEFF)\n"
            "  --mbus              inputs carry Austrian M-Bus DLMS pushes (EVN/Netz NOe Kaifa\n"
            "                      MA309...): encryption only, NO integrity protection\n");
    if (read)
        fprintf(out,
                "\nInputs:\n"
                "  --serial BAUD-FMT   serial ports: 115200-8N1 (default, DSMR 4/5) or 9600-7E1\n"
                "                      (DSMR 2.2/3; parity in software on ptys)\n"
                "  --reopen            a serial port that goes away (USB adapter unplugged) is\n"
                "                      reopened by its path with backoff instead of ending\n"
                "  --tcp HOST:PORT     read from a TCP server (repeatable)\n"
                "  --meter NAME        meter name for MQTT topics, one per input in order\n"
                "                      (default: the equipment identifier)\n"
                "  --count N           stop after N good telegrams (all inputs together)\n\n"
                "MQTT (libmosquitto):\n"
                "  --mqtt URL          mqtt://[user:pass@]host[:port]/prefix or mqtts://...\n"
                "  --cafile FILE       CA certificates for mqtts (default: system store)\n"
                "  --interval SEC      publish at most one telegram per meter every SEC s\n"
                "  --queue N           messages kept while the broker is away (default 10000;\n"
                "                      when full the oldest are dropped and counted)\n"
                "  --ha-prefix P       Home Assistant discovery prefix (default homeassistant)\n"
                "  --no-ha             no Home Assistant discovery\n");
    fprintf(out, "\n  -h, --help          this help\n\n"
                 "Exit status: 0 every telegram good, 1 any input error (bad CRC, truncated,\n"
                 "oversized, malformed, unreadable input), 2 usage error.\n");
}

static int add_lenient(struct p1_run *r, const char *list)
{
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", list);
    char *save = NULL;
    for (char *tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        unsigned f = ami_p1_lenient_from_name(tok);
        if (!f)
            return cli_usage(r->cmd, "--lenient: unknown deviation '%s'", tok);
        r->lenient |= f;
    }
    return AMI_EXIT_OK;
}

static int run(struct ami_cli *cli, int argc, char **argv, bool read)
{
    enum {
        O_JSON = 256,
        O_STATS,
        O_STRICT,
        O_LENIENT,
        O_MAXT,
        O_UTC,
        O_TCP,
        O_METER,
        O_MQTT,
        O_CAFILE,
        O_INTERVAL,
        O_QUEUE,
        O_HA,
        O_NOHA,
        O_KEY,
        O_KEYFILE,
        O_AAD,
        O_MBUS,
        O_SERIAL,
        O_REOPEN,
        O_COUNT,
    };
    static const struct option opts[] = {
        {"json", no_argument, NULL, O_JSON},
        {"stats", no_argument, NULL, O_STATS},
        {"strict", no_argument, NULL, O_STRICT},
        {"lenient", required_argument, NULL, O_LENIENT},
        {"max-telegram", required_argument, NULL, O_MAXT},
        {"utc-offset", required_argument, NULL, O_UTC},
        {"tcp", required_argument, NULL, O_TCP},
        {"meter", required_argument, NULL, O_METER},
        {"mqtt", required_argument, NULL, O_MQTT},
        {"cafile", required_argument, NULL, O_CAFILE},
        {"interval", required_argument, NULL, O_INTERVAL},
        {"queue", required_argument, NULL, O_QUEUE},
        {"ha-prefix", required_argument, NULL, O_HA},
        {"no-ha", no_argument, NULL, O_NOHA},
        {"key", required_argument, NULL, O_KEY},
        {"key-file", required_argument, NULL, O_KEYFILE},
        {"aad-key", required_argument, NULL, O_AAD},
        {"mbus", no_argument, NULL, O_MBUS},
        {"serial", required_argument, NULL, O_SERIAL},
        {"reopen", no_argument, NULL, O_REOPEN},
        {"count", required_argument, NULL, O_COUNT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static struct p1_run r;
    memset(&r, 0, sizeof r);
    r.cmd = read ? "p1 read" : "p1 decode";
    r.json = cli->json;
    r.verbose = cli->verbose;
    r.lenient = AMI_P1_LENIENT_DEFAULT;
    r.sopts.baud = 115200; /* DSMR 4 and later: 115200 8N1 */
    r.sopts.format = AMI_SERIAL_8N1;
    r.max_telegram = AMI_P1_MAX_TELEGRAM_DEFAULT;
    const char *tcp[MAX_INPUTS];
    int ntcp = 0;
    struct p1_mqtt_opts mo = {NULL, 10000, 0, "homeassistant", NULL, cli->verbose};
    long v;
    int c, rc;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (!read && ((c >= O_TCP && c <= O_NOHA) || c == O_SERIAL || c == O_REOPEN))
            return cli_usage(r.cmd, "%s is an option of 'ami p1 read'", argv[optind - 1]);
        switch (c) {
        case O_JSON:
            r.json = true;
            break;
        case O_STATS:
            r.stats = true;
            break;
        case O_STRICT:
            r.lenient = 0;
            break;
        case O_LENIENT:
            if ((rc = add_lenient(&r, optarg)) != AMI_EXIT_OK)
                return rc;
            break;
        case O_MAXT:
            if (!cli_parse_long(optarg, 64, 1 << 20, &v))
                return cli_usage(r.cmd, "--max-telegram: a number of bytes, 64..1048576");
            r.max_telegram = (size_t)v;
            break;
        case O_UTC:
            if (!cli_parse_long(optarg, -720, 720, &v) || v == 0)
                return cli_usage(r.cmd, "--utc-offset: minutes, -720..720, not 0");
            r.popt.std_offset = (int16_t)v;
            break;
        case O_TCP:
            if (ntcp >= MAX_INPUTS)
                return cli_usage(r.cmd, "at most %d inputs", MAX_INPUTS);
            tcp[ntcp++] = optarg;
            break;
        case O_METER:
            if (r.nmeters >= MAX_INPUTS)
                return cli_usage(r.cmd, "at most %d --meter", MAX_INPUTS);
            r.meters[r.nmeters++] = optarg;
            break;
        case O_MQTT:
            mo.url = optarg;
            break;
        case O_CAFILE:
            mo.cafile = optarg;
            break;
        case O_INTERVAL:
            if (!cli_parse_long(optarg, 0, 86400, &v))
                return cli_usage(r.cmd, "--interval: seconds, 0..86400");
            mo.interval_s = (unsigned)v;
            break;
        case O_QUEUE:
            if (!cli_parse_long(optarg, 1, 10000000, &v))
                return cli_usage(r.cmd, "--queue: 1..10000000 messages");
            mo.queue_max = (unsigned)v;
            break;
        case O_HA:
            mo.ha_prefix = optarg;
            break;
        case O_NOHA:
            mo.ha_prefix = "";
            break;
        case O_KEY:
        case O_AAD:
        case O_KEYFILE: {
            uint8_t *dst = c == O_AAD ? r.ak : r.ek;
            size_t *dlen = c == O_AAD ? &r.ak_len : &r.ek_len;
            const char *what = c == O_KEY ? "--key" : c == O_AAD ? "--aad-key" : "--key-file";
            int n;
            if (c == O_KEYFILE) {
                unsigned char *kb;
                size_t kl;
                if (cli_read_file(optarg, 4096, &kb, &kl) != AMI_OK)
                    return cli_fail(r.cmd, optarg, "security", "cannot read the key file");
                n = ami_hex_decode((const char *)kb, kl, dst, AMI_SEC_KEY_MAX);
                ami_wipe(kb, kl);
                free(kb);
            } else {
                n = ami_hex_decode(optarg, strlen(optarg), dst, AMI_SEC_KEY_MAX);
                ami_wipe(optarg, strlen(optarg)); /* keys never stay visible (ps, /proc) */
            }
            if (n != 16 && n != 32) {
                ami_wipe(dst, AMI_SEC_KEY_MAX);
                return cli_usage(r.cmd, "%s: expected 16 or 32 bytes in hex", what);
            }
            *dlen = (size_t)n;
            break;
        }
        case O_MBUS:
            r.mbus = true;
            break;
        case O_REOPEN:
            r.reopen = true;
            break;
        case O_COUNT:
            if (!cli_parse_long(optarg, 1, 1000000000, &v))
                return cli_usage(r.cmd, "--count: 1 or more");
            r.count = (unsigned long long)v;
            break;
        case O_SERIAL: {
            /* BAUD[-FORMAT]: 115200-8N1 (DSMR 4/5), 9600-7E1 (DSMR 2.2/3) */
            char spec[32];
            snprintf(spec, sizeof spec, "%s", optarg);
            char *dash = strchr(spec, '-');
            if (dash)
                *dash++ = '\0';
            if (!cli_parse_long(spec, 300, 230400, &v))
                return cli_usage(r.cmd, "--serial: BAUD[-8N1|-7E1], e.g. 9600-7E1");
            r.sopts.baud = (uint32_t)v;
            if (!dash || !strcmp(dash, "8N1"))
                r.sopts.format = AMI_SERIAL_8N1;
            else if (!strcmp(dash, "7E1"))
                r.sopts.format = AMI_SERIAL_7E1;
            else
                return cli_usage(r.cmd, "--serial: format 8N1 or 7E1");
            break;
        }
        case 'h':
            help(stdout, read);
            return AMI_EXIT_OK;
        default:
            return cli_usage(r.cmd, "bad option");
        }
    }
    int nfiles = argc - optind;
    if (nfiles + ntcp == 0)
        return cli_usage(r.cmd, read ? "give at least one INPUT or --tcp HOST:PORT"
                                     : "give at least one FILE");
    if (nfiles + ntcp > MAX_INPUTS)
        return cli_usage(r.cmd, "at most %d inputs", MAX_INPUTS);
    if (r.nmeters > nfiles + ntcp)
        return cli_usage(r.cmd, "more --meter names than inputs");
    if ((r.ak_len || r.mbus) && !r.ek_len)
        return cli_usage(r.cmd, "--aad-key and --mbus need --key or --key-file");
    r.popt.lenient = r.lenient;
    r.table = !r.json && !mo.url;
    if (mo.url && !p1_mqtt_available())
        return cli_usage(r.cmd, "--mqtt: this ami was built without libmosquitto");

    r.objs = calloc(MAX_OBJECTS, sizeof *r.objs);
    r.grps = calloc(MAX_GROUPS, sizeof *r.grps);
    if (!r.objs || !r.grps) {
        free(r.objs);
        free(r.grps);
        return cli_fail(r.cmd, NULL, NULL, "out of memory");
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int status = AMI_EXIT_OK;
    if (mo.url) {
        r.mqtt = p1_mqtt_open(&mo);
        if (!r.mqtt)
            status = AMI_EXIT_ERROR;
    }
    for (int i = 0; i < nfiles && status == AMI_EXIT_OK; i++) {
        rc = open_input(&r, &r.in[r.nin], argv[optind + i], false);
        r.nin++;
        if (rc == AMI_EXIT_USAGE)
            status = rc;
    }
    for (int i = 0; i < ntcp && status == AMI_EXIT_OK; i++) {
        rc = open_input(&r, &r.in[r.nin], tcp[i], true);
        r.nin++;
        if (rc == AMI_EXIT_USAGE)
            status = rc;
    }
    for (int i = 0; i < r.nmeters && i < r.nin; i++)
        snprintf(r.in[i].meter, sizeof r.in[i].meter, "%s", r.meters[i]);

    if (status == AMI_EXIT_OK) {
        if (read)
            run_loop(&r);
        else {
            /* decode: one input after the other, to the end of each. */
            for (int i = 0; i < r.nin && !stop_flag; i++) {
                struct input *in = &r.in[i];
                while (!in->done && !stop_flag) {
                    struct pollfd p = {in->fd, POLLIN, 0};
                    if (poll(&p, 1, -1) < 0 && errno != EINTR)
                        break;
                    service_input(&r, in, p.revents ? p.revents : POLLIN);
                }
            }
        }
        for (int i = 0; i < r.nin; i++)
            print_stats(&r, &r.in[i]);
    }
    if (r.mqtt) {
        struct p1_mqtt_stats ms;
        p1_mqtt_close(r.mqtt, 10000, &ms);
        fprintf(stderr,
                "ami %s: mqtt: %llu messages published, %llu dropped (queue full), "
                "%llu telegrams skipped (--interval)\n",
                r.cmd, ms.published, ms.dropped, ms.skipped_interval);
        if (ms.dropped)
            r.any_error = true;
    }
    for (int i = 0; i < r.nin; i++) {
        close_fd(&r.in[i]);
        decrypt_free(&r.in[i]);
        free(r.in[i].tbuf);
    }
    ami_wipe(r.ek, sizeof r.ek);
    ami_wipe(r.ak, sizeof r.ak);
    free(r.objs);
    free(r.grps);
    if (status != AMI_EXIT_OK)
        return status;
    return r.any_error ? AMI_EXIT_ERROR : AMI_EXIT_OK;
}

static int run_read(struct ami_cli *cli, int argc, char **argv)
{
    return run(cli, argc, argv, true);
}

static int run_decode(struct ami_cli *cli, int argc, char **argv)
{
    return run(cli, argc, argv, false);
}

static int run_p1(struct ami_cli *cli, int argc, char **argv)
{
    static const struct ami_subcommand table[] = {
        {"read", "read telegrams from serial ports, files, stdin or TCP; print or publish",
         run_read},
        {"decode", "decode captured telegrams or streams", run_decode},
        {NULL, NULL, NULL},
    };
    return cli_dispatch(cli, argc, argv, "ami p1 COMMAND [OPTIONS]", table);
}

const struct ami_command ami_cmd_p1 = {"p1", "DSMR P1 telegrams: read, decode, publish to MQTT",
                                       run_p1};
