/*
 * Strict endpoint URL parser (url.h). Hand-written, bounded, no allocation.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "io/url.h"

#include <ctype.h>
#include <string.h>

#include "ami/bytes.h"
#include "ami/error.h"

/* Copies [s, s+n) into dst (capacity cap) with optional %XX decoding. */
static int copy_field(char *dst, size_t cap, const char *s, size_t n, bool unescape)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (unescape && c == '%') {
            uint8_t b;
            /* "%XX" needs two more characters; NUL is refused so fields stay C strings. */
            if (i + 2 >= n || !isxdigit((unsigned char)s[i + 1]) ||
                !isxdigit((unsigned char)s[i + 2]) || ami_hex_decode(s + i + 1, 2, &b, 1) != 1 ||
                b == 0)
                return AMI_E_SYNTAX;
            c = (char)b;
            i += 2;
        } else if ((unsigned char)c < 0x21 || c == 0x7F) {
            return AMI_E_SYNTAX;
        }
        if (o + 1 >= cap)
            return AMI_E_TOO_LARGE;
        dst[o++] = c;
    }
    dst[o] = '\0';
    return AMI_OK;
}

static int parse_port(const char *s, size_t n, int *port)
{
    if (n == 0 || n > 5)
        return AMI_E_SYNTAX;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return AMI_E_SYNTAX;
        v = v * 10 + (s[i] - '0');
    }
    if (v < 1 || v > 65535)
        return AMI_E_SYNTAX;
    *port = v;
    return AMI_OK;
}

static int parse_query(const char *q, ami_url *u)
{
    while (*q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', len);
        if (!eq || eq == q)
            return AMI_E_SYNTAX;
        if (u->nparams >= AMI_URL_MAX_PARAMS)
            return AMI_E_TOO_LARGE;
        int rc = copy_field(u->params[u->nparams].key, sizeof u->params[0].key, q, (size_t)(eq - q),
                            false);
        if (!rc)
            rc = copy_field(u->params[u->nparams].value, sizeof u->params[0].value, eq + 1,
                            len - (size_t)(eq - q) - 1, true);
        if (rc)
            return rc;
        u->nparams++;
        if (!amp)
            break;
        q = amp + 1;
    }
    return AMI_OK;
}

int ami_url_parse(const char *s, ami_url *u)
{
    if (!s || !u)
        return AMI_E_INVAL;
    memset(u, 0, sizeof *u);
    u->port = -1;
    const char *colon = strchr(s, ':');
    if (!colon || colon == s || (size_t)(colon - s) >= sizeof u->scheme)
        return AMI_E_SYNTAX;
    for (const char *p = s; p < colon; p++) {
        if (!isalnum((unsigned char)*p) && *p != '+' && *p != '-' && *p != '.')
            return AMI_E_SYNTAX;
        u->scheme[p - s] = (char)tolower((unsigned char)*p);
    }
    const char *rest = colon + 1;
    const char *qmark = strchr(rest, '?');
    size_t rest_len = qmark ? (size_t)(qmark - rest) : strlen(rest);
    int rc;
    if (strncmp(rest, "//", 2) != 0) {
        /* Path form: scheme:/dev/ttyUSB0 */
        if (rest_len == 0 || rest[0] != '/')
            return AMI_E_SYNTAX;
        rc = copy_field(u->path, sizeof u->path, rest, rest_len, false);
        return rc ? rc : qmark ? parse_query(qmark + 1, u) : AMI_OK;
    }
    /* Authority form: scheme://[user[:password]@]host[:port][/path][?query] */
    const char *auth = rest + 2;
    const char *end = rest + rest_len;
    const char *slash = memchr(auth, '/', (size_t)(end - auth));
    const char *auth_end = slash ? slash : end;
    const char *at = NULL;
    for (const char *p = auth; p < auth_end; p++)
        if (*p == '@')
            at = p;
    const char *host = auth;
    if (at) {
        const char *pc = memchr(auth, ':', (size_t)(at - auth));
        rc = copy_field(u->user, sizeof u->user, auth, (size_t)((pc ? pc : at) - auth), true);
        if (!rc && pc) {
            u->has_password = true;
            rc = copy_field(u->password, sizeof u->password, pc + 1, (size_t)(at - pc - 1), true);
        }
        if (rc)
            return rc;
        host = at + 1;
    }
    const char *host_end, *port_colon = NULL;
    if (host < auth_end && *host == '[') {
        const char *rb = memchr(host, ']', (size_t)(auth_end - host));
        if (!rb || rb == host + 1)
            return AMI_E_SYNTAX;
        rc = copy_field(u->host, sizeof u->host, host + 1, (size_t)(rb - host - 1), false);
        if (rc)
            return rc;
        host_end = rb + 1;
        if (host_end < auth_end) {
            if (*host_end != ':')
                return AMI_E_SYNTAX;
            port_colon = host_end;
        }
    } else {
        port_colon = memchr(host, ':', (size_t)(auth_end - host));
        host_end = port_colon ? port_colon : auth_end;
        if (host_end == host)
            return AMI_E_SYNTAX;
        for (const char *p = host; p < host_end; p++)
            if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_')
                return AMI_E_SYNTAX;
        rc = copy_field(u->host, sizeof u->host, host, (size_t)(host_end - host), false);
        if (rc)
            return rc;
    }
    if (port_colon &&
        (rc = parse_port(port_colon + 1, (size_t)(auth_end - port_colon - 1), &u->port)) != 0)
        return rc;
    if (slash && (rc = copy_field(u->path, sizeof u->path, slash, (size_t)(end - slash), true)))
        return rc;
    return qmark ? parse_query(qmark + 1, u) : AMI_OK;
}

const char *ami_url_param(const ami_url *u, const char *key)
{
    for (int i = 0; i < u->nparams; i++)
        if (!strcmp(u->params[i].key, key))
            return u->params[i].value;
    return NULL;
}

void ami_url_wipe(ami_url *u)
{
    ami_wipe(u->password, sizeof u->password);
    ami_wipe(u->user, sizeof u->user);
}
