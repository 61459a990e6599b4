/*
 * Key options and key files (keys.h).
 * SPDX-License-Identifier: Apache-2.0
 */
#include "keys.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "ami/bytes.h"
#include "cli.h"

static int parse_key(const char *name, const char *hex, struct cli_key *k, const char **why)
{
    uint8_t tmp[33];
    int n = ami_hex_decode(hex, strlen(hex), tmp, sizeof tmp);
    bool title = strstr(name, "system_title") || strstr(name, "system-title");
    bool secret = !strcmp(name, "hls_secret") || !strcmp(name, "hls-secret");
    if (n < 0) {
        *why = n == AMI_E_NOSPACE ? "too long" : "not hex";
    } else if (title ? n != 8 : secret ? (n < 1 || n > 32) : (n != 16 && n != 32)) {
        *why = title    ? "a system title is 8 bytes (16 hex digits)"
               : secret ? "1 to 32 bytes"
                        : "a key is 16 or 32 bytes (32 or 64 hex digits)";
        n = -1;
    } else {
        memcpy(k->v, tmp, (size_t)n);
        k->len = (size_t)n;
    }
    ami_wipe(tmp, sizeof tmp);
    return n < 0 ? -1 : 0;
}

int cli_key_set_hex(const char *cmd, const char *name, const char *hex, struct cli_key *k)
{
    const char *why = NULL;
    if (parse_key(name, hex, k, &why) < 0)
        return cli_usage(cmd, "--%s: %s", name, why);
    return 0;
}

static struct cli_key *by_name(struct cli_keys *keys, const char *name)
{
    static const struct {
        const char *name;
        size_t off;
    } table[] = {
        {"ek", offsetof(struct cli_keys, ek)},
        {"bk", offsetof(struct cli_keys, bk)},
        {"ak", offsetof(struct cli_keys, ak)},
        {"kek", offsetof(struct cli_keys, kek)},
        {"hls_secret", offsetof(struct cli_keys, hls_secret)},
        {"system_title", offsetof(struct cli_keys, system_title)},
        {"client_system_title", offsetof(struct cli_keys, client_system_title)},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (!strcmp(name, table[i].name))
            return (struct cli_key *)((char *)keys + table[i].off);
    return NULL;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = 0;
    return s;
}

int cli_keys_load(const char *cmd, const char *path, struct cli_keys *keys)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return cli_fail(cmd, path, NULL, "cannot open the key file");
    char line[512];
    unsigned lineno = 0;
    int status = 0;
    while (!status && fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            status = cli_fail(cmd, path, NULL, "line %u: expected name = value", lineno);
            break;
        }
        *eq = 0;
        char *name = trim(s), *value = trim(eq + 1);
        if (!strcmp(name, "password")) {
            if (!keys->has_password) {
                size_t l = strlen(value);
                if (l >= sizeof keys->password) {
                    status = cli_fail(cmd, path, NULL, "line %u: password too long", lineno);
                    break;
                }
                memcpy(keys->password, value, l + 1);
                keys->has_password = true;
            }
            continue;
        }
        struct cli_key *k = by_name(keys, name);
        const char *why = NULL;
        if (!k)
            status = cli_fail(cmd, path, NULL, "line %u: unknown name '%s'", lineno, name);
        else if (!k->len && parse_key(name, value, k, &why) < 0)
            status = cli_fail(cmd, path, NULL, "line %u: %s: %s", lineno, name, why);
    }
    ami_wipe(line, sizeof line);
    fclose(f);
    return status;
}

void cli_keys_wipe(struct cli_keys *keys)
{
    ami_wipe(keys, sizeof *keys);
}
