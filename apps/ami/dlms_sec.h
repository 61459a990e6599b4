/*
 * Security options of `ami dlms` (authentication mechanisms 0..7, ciphering, keys, invocation
 * counter state files) and the `ami dlms keys rotate` command. See docs/dlms.md.
 *
 * Invocation counter state: one file per meter and client SAP in
 *   $AMI_STATE_DIR, else $XDG_STATE_HOME/openami/ic, else $HOME/.local/state/openami/ic
 * named after the server system title (when given) or the URL, e.g.
 *   4142434445464748.c1   or   tcp_127.0.0.1_4059.c1
 * holding "client_ic N" (the next counter to use) and "server_ic M" (the last accepted).
 * The file is written ahead (a reservation of IC_RESERVE counters, fsync'd) so that a crash
 * never makes us reuse a counter; the exact value is written when the command ends.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_APP_DLMS_SEC_H
#define AMI_APP_DLMS_SEC_H

#include <getopt.h>
#include <stdbool.h>

#include "ami/ami.h"
#include "cli.h"
#include "io/dlms_transport.h"
#include "keys.h"

/* getopt_long codes of the security options (>= 1000; see DLMS_SEC_LONG_OPTIONS). */
enum {
    DSO_SECURITY = 1000,
    DSO_SUITE,
    DSO_EK,
    DSO_AK,
    DSO_BEK,
    DSO_KEK,
    DSO_SYSTEM_TITLE,
    DSO_SERVER_TITLE,
    DSO_DEDICATED,
    DSO_KEY_FILE,
    DSO_ECDSA_KEY,
    DSO_SERVER_PUB,
    DSO_READ_IC,
    DSO_IC,
    DSO_IC_OBIS,
    DSO_GENERAL,
    DSO_STATE_DIR,
    DSO_NO_STATE,
    DSO_CIPHERING,
    DSO_KEY_INFO,
    DSO_GENERAL_SIGNING,
};

/* Entries for the getopt_long table of every `ami dlms` sub-command. */
#define DLMS_SEC_LONG_OPTIONS                                                                   \
    {"security", required_argument, NULL, DSO_SECURITY},                                        \
        {"suite", required_argument, NULL, DSO_SUITE}, {"ek", required_argument, NULL, DSO_EK}, \
        {"ak", required_argument, NULL, DSO_AK}, {"bek", required_argument, NULL, DSO_BEK},     \
        {"kek", required_argument, NULL, DSO_KEK},                                              \
        {"system-title", required_argument, NULL, DSO_SYSTEM_TITLE},                            \
        {"server-system-title", required_argument, NULL, DSO_SERVER_TITLE},                     \
        {"dedicated-key", no_argument, NULL, DSO_DEDICATED},                                    \
        {"key-file", required_argument, NULL, DSO_KEY_FILE},                                    \
        {"ecdsa-key", required_argument, NULL, DSO_ECDSA_KEY},                                  \
        {"server-public-key", required_argument, NULL, DSO_SERVER_PUB},                         \
        {"read-ic", no_argument, NULL, DSO_READ_IC}, {"ic", required_argument, NULL, DSO_IC},   \
        {"ic-obis", required_argument, NULL, DSO_IC_OBIS},                                      \
        {"general-ciphering", no_argument, NULL, DSO_GENERAL},                                  \
        {"ciphering", required_argument, NULL, DSO_CIPHERING},                                  \
        {"key-info", required_argument, NULL, DSO_KEY_INFO},                                    \
        {"general-signing", no_argument, NULL, DSO_GENERAL_SIGNING},                            \
        {"state-dir", required_argument, NULL, DSO_STATE_DIR},                                  \
    {                                                                                           \
        "no-state", no_argument, NULL, DSO_NO_STATE                                             \
    }

struct dlms_sec {
    const char *cmd;
    int mech;  /* AMI_ACSE_MECH_* from --auth */
    int level; /* enum ami_dlms_sec_level */
    int suite;
    bool general, dedicated, read_ic, no_state;
    bool gc;      /* --ciphering general: general-ciphering (0xDD) */
    int key_info; /* --key-info: AMI_DLMS_SEC_KI_* */
    bool signing; /* --general-signing: requests and responses in general-signing (0xDF) */
    long long ic; /* --ic, or -1 */
    const char *key_file, *ecdsa_key, *server_pub, *ic_obis, *state_dir;
    struct cli_keys keys; /* ek, ak, bk, kek, hls_secret, system titles, password */
    /* prepared */
    bool active;
    EVP_PKEY *sign, *verify;
    ami_dlms_client_sec sec;
    char state_path[512];
    bool state_ok;
    uint32_t reserved;  /* client IC reserved in the state file (exclusive) */
    uint32_t server_ic; /* from the state file */
    bool server_ic_known;
    ami_replay_store store;
    bool warned;
    uint8_t buf[70000];
};

/* Initialises the defaults (mechanism none, no ciphering, suite 0). */
void dlms_sec_defaults(struct dlms_sec *s, const char *cmd);

/* Handles one security option. Returns 0, or an exit status after printing the cause. */
int dlms_sec_option(struct dlms_sec *s, int code, const char *arg);

/* The help text of the security options. */
void dlms_sec_help(FILE *out);

/*
 * After parsing: loads the key file and PEM keys, checks what the mechanism and the level
 * need, settles the client invocation counter (--ic, the state file, or a read of the
 * server's counter through the public client when none is known, or always with --read-ic)
 * and points lo->session.sec at the context. `password` is the --password text (the HLS
 * secret of mechanisms 2, 3, 4, 6 too). Returns 0 or an exit status after printing the cause.
 */
int dlms_sec_prepare(struct dlms_sec *s, const char *url, ami_dlms_link_opts *lo,
                     const char *password);

/* Writes the exact invocation counters to the state file, wipes every key, frees. */
void dlms_sec_finish(struct dlms_sec *s);

/* Replaces every key byte string of the configuration found in p[0..n) by '*' (trace). */
void dlms_sec_mask(const struct dlms_sec *s, uint8_t *p, size_t n);

#endif
