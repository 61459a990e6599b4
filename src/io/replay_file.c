/*
 * File-backed replay-guard persistence (io/replay_file.h).
 * SPDX-License-Identifier: Apache-2.0
 */
#include "io/replay_file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int find(const ami_replay_file *f, const uint8_t st[8])
{
    for (size_t i = 0; i < f->n; i++)
        if (memcmp(f->e[i].system_title, st, AMI_SEC_SYSTEM_TITLE_LEN) == 0)
            return (int)i;
    return -1;
}

/* Parses "<16 hex> <decimal>" (spaces/tabs around); returns AMI_OK or AMI_E_SYNTAX. */
static int parse_line(const char *s, size_t n, uint8_t st[8], uint32_t *ic)
{
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    if (n - i < 16 || ami_hex_decode(s + i, 16, st, 8) != 8)
        return AMI_E_SYNTAX;
    i += 16;
    if (i >= n || (s[i] != ' ' && s[i] != '\t'))
        return AMI_E_SYNTAX;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    uint64_t v = 0;
    size_t digits = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        v = v * 10 + (uint64_t)(s[i] - '0');
        if (v > UINT32_MAX)
            return AMI_E_SYNTAX;
        i++;
        digits++;
    }
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
        i++;
    if (digits == 0 || i != n)
        return AMI_E_SYNTAX;
    *ic = (uint32_t)v;
    return AMI_OK;
}

int ami_replay_file_open(ami_replay_file *f, const char *path)
{
    if (!f || !path)
        return AMI_E_INVAL;
    memset(f, 0, sizeof(*f));
    f->path = path;
    f->every = 1;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return errno == ENOENT ? AMI_OK : AMI_E_IO;
    char buf[AMI_REPLAY_FILE_MAX_BYTES + 1];
    size_t len = fread(buf, 1, sizeof buf, fp);
    int err = ferror(fp);
    fclose(fp);
    if (err)
        return AMI_E_IO;
    if (len > AMI_REPLAY_FILE_MAX_BYTES)
        return AMI_E_TOO_LARGE;
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - buf) : len;
        const char *line = buf + pos;
        size_t n = end - pos;
        pos = end + 1;
        size_t k = 0;
        while (k < n && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r'))
            k++;
        if (k == n || line[k] == '#')
            continue;
        uint8_t st[8];
        uint32_t ic;
        if (parse_line(line, n, st, &ic) != AMI_OK) {
            f->n = 0;
            return AMI_E_SYNTAX;
        }
        int at = find(f, st);
        if (at < 0) {
            if (f->n >= AMI_REPLAY_FILE_MAX) {
                f->n = 0;
                return AMI_E_TOO_LARGE;
            }
            at = (int)f->n++;
            memcpy(f->e[at].system_title, st, 8);
        }
        f->e[at].ic = f->e[at].saved_ic = ic;
    }
    return AMI_OK;
}

static int write_all(ami_replay_file *f)
{
    char tmp[4096];
    int k = snprintf(tmp, sizeof tmp, "%s.tmp", f->path);
    if (k < 0 || (size_t)k >= sizeof tmp)
        return AMI_E_IO;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return AMI_E_IO;
    FILE *fp = fdopen(fd, "wb");
    if (!fp) {
        close(fd);
        unlink(tmp);
        return AMI_E_IO;
    }
    int bad = fprintf(fp, "# openami: last accepted frame counter per meter (system title)\n") < 0;
    for (size_t i = 0; i < f->n && !bad; i++) {
        char hex[17];
        (void)ami_hex_encode(f->e[i].system_title, 8, hex, sizeof hex);
        bad = fprintf(fp, "%s %" PRIu32 "\n", hex, f->e[i].ic) < 0;
    }
    bad |= fflush(fp) != 0;
    bad |= fsync(fileno(fp)) != 0;
    bad |= fclose(fp) != 0;
    if (bad || rename(tmp, f->path) != 0) {
        unlink(tmp);
        return AMI_E_IO;
    }
    for (size_t i = 0; i < f->n; i++)
        f->e[i].saved_ic = f->e[i].ic;
    return AMI_OK;
}

static int load_cb(void *user, const uint8_t st[8], uint32_t *ic)
{
    ami_replay_file *f = user;
    int at = find(f, st);
    if (at < 0)
        return AMI_E_NOTFOUND;
    *ic = f->e[at].ic;
    return AMI_OK;
}

static int save_cb(void *user, const uint8_t st[8], uint32_t ic)
{
    ami_replay_file *f = user;
    int at = find(f, st);
    bool fresh = at < 0;
    if (fresh) {
        if (f->n >= AMI_REPLAY_FILE_MAX)
            return AMI_E_TOO_LARGE;
        at = (int)f->n++;
        memcpy(f->e[at].system_title, st, 8);
    }
    f->e[at].ic = ic;
    uint32_t every = f->every ? f->every : 1;
    if (!fresh && ic - f->e[at].saved_ic < every)
        return AMI_OK;
    return write_all(f);
}

void ami_replay_file_store(ami_replay_file *f, ami_replay_store *store)
{
    store->load = load_cb;
    store->save = save_cb;
    store->user = f;
}

int ami_replay_file_flush(ami_replay_file *f)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->e[i].ic != f->e[i].saved_ic)
            return write_all(f);
    return AMI_OK;
}
