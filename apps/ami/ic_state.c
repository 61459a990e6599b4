/*
 * Invocation counter state files (ic_state.h).
 * SPDX-License-Identifier: Apache-2.0
 */
#include "ic_state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ic_state_mkdirs(const char *dir)
{
    char path[512];
    int n = snprintf(path, sizeof path, "%s", dir);
    if (n <= 0 || (size_t)n >= sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        int rc = mkdir(path, 0700);
        *p = '/';
        if (rc && errno != EEXIST)
            return -1;
    }
    return mkdir(path, 0700) && errno != EEXIST ? -1 : 0;
}

int ic_state_read(const char *path, ic_state_var *vars, size_t n)
{
    for (size_t i = 0; i < n; i++)
        vars[i].present = false;
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[128];
    while (fgets(line, sizeof line, f)) {
        unsigned long long v;
        char name[32];
        if (sscanf(line, "%31s %llu", name, &v) != 2 || v > 0xFFFFFFFFull)
            continue;
        for (size_t i = 0; i < n; i++)
            if (!strcmp(name, vars[i].name)) {
                vars[i].value = (uint32_t)v;
                vars[i].present = true;
            }
    }
    fclose(f);
    return 0;
}

int ic_state_write(const char *path, const ic_state_var *vars, size_t n)
{
    char tmp[600];
    int tl = snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (tl <= 0 || (size_t)tl >= sizeof tmp)
        return -1;
    char text[512];
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (!vars[i].present)
            continue;
        int k = snprintf(text + len, sizeof text - len, "%s %u\n", vars[i].name,
                         (unsigned)vars[i].value);
        if (k <= 0 || (size_t)k >= sizeof text - len)
            return -1;
        len += (size_t)k;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    bool ok = write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}
