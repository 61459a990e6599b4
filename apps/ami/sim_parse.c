/*
 * Parsers of `ami sim` control commands and keys CSV rows (see sim_parse.h).
 * SPDX-License-Identifier: Apache-2.0
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ami/ami.h"
#include "sim_parse.h"

static const char *const kinds[] = {"refuse", "drop",   "delay", "corrupt",
                                    "stop",   "reboot", "drift", "tamper"};

static int reply_err(char *reply, size_t cap, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int reply_err(char *reply, size_t cap, int rc, const char *fmt, ...)
{
    int k = snprintf(reply, cap, "error: ");
    va_list ap;
    va_start(ap, fmt);
    if (k > 0 && (size_t)k < cap)
        vsnprintf(reply + k, cap - (size_t)k, fmt, ap);
    va_end(ap);
    return rc;
}

/* A probability 0..1 (decimal) into ppm. */
static bool parse_prob(const char *s, uint32_t *ppm)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0.0 && v <= 1.0))
        return false;
    *ppm = (uint32_t)(v * 1000000.0 + 0.5);
    return true;
}

/* A duration: N, Nms or Ns (N integer), at most one hour; into ms. */
static bool parse_ms(const char *s, uint32_t *ms)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || v < 0 || v > 3600LL * 1000)
        return false; /* bounded before any scaling: "777777777777777777s" must not overflow */
    if (!strcmp(end, "s"))
        v *= 1000;
    else if (*end && strcmp(end, "ms"))
        return false;
    if (v > 3600 * 1000)
        return false;
    *ms = (uint32_t)v;
    return true;
}

/* TARGET: an index, a range a-b, or "all". */
static bool parse_target(size_t meters, const char *s, size_t *lo, size_t *hi)
{
    if (!strcmp(s, "all")) {
        *lo = 0;
        *hi = meters - 1;
        return true;
    }
    char *end;
    errno = 0;
    unsigned long long a = strtoull(s, &end, 10), b = a;
    if (errno || end == s || !isdigit((unsigned char)*s))
        return false;
    if (*end == '-') {
        const char *t = end + 1;
        if (!isdigit((unsigned char)*t))
            return false;
        b = strtoull(t, &end, 10);
        if (errno)
            return false;
    }
    if (*end || a > b || b >= meters)
        return false;
    *lo = (size_t)a;
    *hi = (size_t)b;
    return true;
}

static int kind_of(const char *s)
{
    for (int k = 0; k < SIM_K_ALL; k++)
        if (!strcmp(s, kinds[k]))
            return k;
    return -1;
}

int sim_cmd_parse(const char *line, size_t len, size_t meters, sim_cmd *cmd, char *reply,
                  size_t cap)
{
    char buf[SIM_CTL_LINE];
    if (len >= sizeof buf)
        return reply_err(reply, cap, AMI_E_TOO_LARGE, "line too long");
    if (memchr(line, 0, len))
        return reply_err(reply, cap, AMI_E_SYNTAX, "NUL byte in the line");
    memcpy(buf, line, len);
    buf[len] = 0;
    memset(cmd, 0, sizeof *cmd);
    char *tok[8];
    size_t nt = 0;
    for (char *save = NULL, *t = strtok_r(buf, " \t\r\n", &save); t;
         t = strtok_r(NULL, " \t\r\n", &save)) {
        if (nt == sizeof tok / sizeof *tok)
            return reply_err(reply, cap, AMI_E_SYNTAX, "too many words");
        tok[nt++] = t;
    }
    if (!nt)
        return reply_err(reply, cap, AMI_E_SYNTAX, "empty command");
    size_t lo, hi;
    if (!strcmp(tok[0], "help")) {
        cmd->verb = SIM_CMD_HELP;
        return AMI_OK;
    }
    if (strcmp(tok[0], "fault") && strcmp(tok[0], "clear") && strcmp(tok[0], "status"))
        return reply_err(reply, cap, AMI_E_SYNTAX, "unknown command '%s' (try help)", tok[0]);
    if (nt < 2 || !parse_target(meters, tok[1], &lo, &hi))
        return reply_err(reply, cap, AMI_E_SYNTAX, "%s: want a meter 0..%zu, a range A-B or all",
                         tok[0], meters - 1);
    cmd->lo = lo;
    cmd->hi = hi;
    if (!strcmp(tok[0], "status")) {
        if (lo != hi || nt != 2)
            return reply_err(reply, cap, AMI_E_SYNTAX, "status: one meter");
        cmd->verb = SIM_CMD_STATUS;
        return AMI_OK;
    }
    if (!strcmp(tok[0], "clear")) {
        int k = SIM_K_ALL;
        if (nt > 3 || (nt == 3 && (k = kind_of(tok[2])) < 0))
            return reply_err(reply, cap, AMI_E_SYNTAX, "clear T [KIND]");
        cmd->verb = SIM_CMD_CLEAR;
        cmd->kind = (uint8_t)k;
        return AMI_OK;
    }
    if (nt < 3)
        return reply_err(reply, cap, AMI_E_SYNTAX, "unknown command (try help)");
    int k = kind_of(tok[2]);
    uint32_t p = 1000000, d = 0, j = 0;
    int32_t ppm = 0;
    size_t extra = nt - 3;
    switch (k) {
    case SIM_K_REFUSE:
    case SIM_K_STOP:
    case SIM_K_TAMPER:
        if (extra)
            return reply_err(reply, cap, AMI_E_SYNTAX, "%s takes no argument", tok[2]);
        break;
    case SIM_K_DROP:
    case SIM_K_CORRUPT:
        if (extra > 1 || (extra && !parse_prob(tok[3], &p)))
            return reply_err(reply, cap, AMI_E_RANGE, "%s [P]: P a probability 0..1", tok[2]);
        break;
    case SIM_K_DELAY:
        if (extra < 1 || !parse_ms(tok[3], &d) ||
            (extra != 1 && (extra != 3 || strcmp(tok[4], "jitter") || !parse_ms(tok[5], &j))))
            return reply_err(reply, cap, AMI_E_RANGE,
                             "delay D [jitter J]: durations like 200ms or 2s, at most 1 h");
        break;
    case SIM_K_REBOOT:
        if (extra > 1 || (extra && !parse_ms(tok[3], &d)))
            return reply_err(reply, cap, AMI_E_RANGE, "reboot [D]: down time like 5s");
        break;
    case SIM_K_DRIFT: {
        char *end;
        long v = extra == 1 ? strtol(tok[3], &end, 10) : 0;
        if (extra != 1 || end == tok[3] || (*end && strcmp(end, "ppm")) || v < -1000000 ||
            v > 1000000 || !v)
            return reply_err(reply, cap, AMI_E_RANGE, "drift PPM: -1000000..1000000, not 0");
        ppm = (int32_t)v;
        break;
    }
    default:
        return reply_err(reply, cap, AMI_E_SYNTAX, "unknown fault '%s' (try help)", tok[2]);
    }
    cmd->verb = SIM_CMD_FAULT;
    cmd->kind = (uint8_t)k;
    cmd->p_ppm = p;
    cmd->d_ms = d;
    cmd->j_ms = j;
    cmd->ppm = ppm;
    return AMI_OK;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Exactly 2n hex digits in s[0..len) into out[n]. */
static bool unhex(const char *s, size_t len, uint8_t *out, size_t n)
{
    if (len != 2 * n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (hexval(s[2 * i]) < 0 || hexval(s[2 * i + 1]) < 0)
            return false;
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)(hexval(s[2 * i]) << 4 | hexval(s[2 * i + 1]));
    return true;
}

int sim_keys_parse_row(const char *l, size_t ll, uint8_t system_title[8], uint8_t ek[16],
                       uint8_t ak[16], uint8_t kek[16], char *pw, size_t pw_cap)
{
    const char *fld[7];
    size_t fl[7], nf = 0, s = 0;
    for (size_t i = 0; i <= ll; i++)
        if (i == ll || l[i] == ',') {
            if (nf == 7)
                return AMI_E_SYNTAX; /* an eighth field */
            fld[nf] = l + s;
            fl[nf++] = i - s;
            s = i + 1;
        }
    uint8_t st[8], e[16], a[16], k[16];
    if (nf != 7 || !unhex(fld[2], fl[2], st, 8) || !unhex(fld[3], fl[3], e, 16) ||
        !unhex(fld[4], fl[4], a, 16) || !unhex(fld[5], fl[5], k, 16) || fl[6] >= pw_cap ||
        memchr(fld[6], 0, fl[6])) {
        ami_wipe(e, sizeof e);
        ami_wipe(a, sizeof a);
        ami_wipe(k, sizeof k);
        return AMI_E_SYNTAX;
    }
    memcpy(system_title, st, 8);
    memcpy(ek, e, 16);
    memcpy(ak, a, 16);
    memcpy(kek, k, 16);
    memcpy(pw, fld[6], fl[6]);
    pw[fl[6]] = 0;
    ami_wipe(e, sizeof e);
    ami_wipe(a, sizeof a);
    ami_wipe(k, sizeof k);
    return AMI_OK;
}
