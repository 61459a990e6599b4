/*
 * Keys and secrets for `ami` commands: from options or a key file, never printed, wiped after
 * use.
 *
 * Key file: one `name = value` per line, '#' comments, names: ek (global unicast encryption
 * key), bk (broadcast key), ak (authentication key), kek (master key), system_title (the
 * peer's, 8 bytes), client_system_title, password (LLS, text), hls_secret (hex). Hex values may
 * contain spaces. Unknown names are an error (a typo must not silently drop a key).
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_APP_KEYS_H
#define AMI_APP_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cli_key {
    uint8_t v[32];
    size_t len; /* 0 = not given */
};

struct cli_keys {
    struct cli_key ek, bk, ak, kek, hls_secret;
    struct cli_key system_title, client_system_title;
    char password[128];
    bool has_password;
};

/*
 * Sets one key from hex text (option value). `name` is used in error messages. Returns 0, or
 * prints "ami <cmd>: --<name>: <why>" and returns AMI_EXIT_USAGE. Lengths: keys 16 or 32
 * bytes, system titles 8.
 */
int cli_key_set_hex(const char *cmd, const char *name, const char *hex, struct cli_key *k);

/* Loads a key file into *keys (values already set by options are kept: options win).
 * Returns 0 or an exit status after printing the file, line and cause. */
int cli_keys_load(const char *cmd, const char *path, struct cli_keys *keys);

/* Overwrites every secret in *keys. */
void cli_keys_wipe(struct cli_keys *keys);

#endif
