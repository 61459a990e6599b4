/*
 * The connection and association of every `ami dlms` sub-command (get, set, ..., keys rotate,
 * fw): the addressing, authentication, security and transport options, their help text, the
 * trace of frames and APDUs (passwords and keys masked), the association (with the hint on a
 * refused secured one), the progress line of long reads, and the release.
 *
 * Use: dlms_conn_defaults(); for each getopt code, dlms_conn_option() (DLMS_CONN_NOT_MINE for
 * the sub-command's own options); dlms_conn_prepare() with the URL; dlms_conn_open() ...
 * dlms_conn_done(); dlms_conn_finish() once when the command ends.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_APP_DLMS_CONN_H
#define AMI_APP_DLMS_CONN_H

#include <stdbool.h>
#include <stdio.h>

#include "ami/ami.h"
#include "dlms_sec.h"
#include "io/dlms_transport.h"

/* getopt_long codes of the connection options: the letters below and the DSO_* range. */
#define DLMS_CONN_LONG_OPTIONS                                                                 \
    {"client", required_argument, NULL, 'c'}, {"server", required_argument, NULL, 's'},        \
        {"logical", required_argument, NULL, 'L'}, {"physical", required_argument, NULL, 'P'}, \
        {"auth", required_argument, NULL, 'a'}, {"password", required_argument, NULL, 'p'},    \
        {"timeout", required_argument, NULL, 't'}, {"max-pdu", required_argument, NULL, 'm'},  \
        {"trace", no_argument, NULL, 'T'}, {"sn", no_argument, NULL, 'N'},                     \
        {"gbt", optional_argument, NULL, 'G'}, DLMS_SEC_LONG_OPTIONS

/* dlms_conn_option: the code is not a connection option. */
#define DLMS_CONN_NOT_MINE (-2)

struct dlms_conn {
    const char *cmd; /* "dlms get" ...: the prefix of every message */
    const char *url;
    ami_dlms_link_opts lo;
    char password[128];
    const char *auth; /* --auth text until dlms_conn_prepare */
    bool trace;
    bool sn;              /* short-name context */
    struct dlms_sec *sec; /* security options (one static: it holds a 64 KiB scratch buffer) */
};

/* Defaults: public client, LN context, no authentication or ciphering. */
void dlms_conn_defaults(struct dlms_conn *c, const char *cmd);

/* Handles getopt code `code` with argument `arg`: 0 when taken, DLMS_CONN_NOT_MINE when the
 * code is not a connection option, else an exit status after printing the cause. */
int dlms_conn_option(struct dlms_conn *c, int code, const char *arg);

/* After the options: checks the authentication, sets the conformance proposed (`sn`, GBT),
 * prepares the security (keys, invocation counter: see dlms_sec_prepare) and the trace.
 * Returns 0 or an exit status after printing the cause. */
int dlms_conn_prepare(struct dlms_conn *c, const char *url);

/* Opens the link and associates. Returns 0 with *l open and associated, or an exit status
 * after printing the cause (*l NULL). The caller ends with dlms_conn_done(*l). */
int dlms_conn_open(struct dlms_conn *c, ami_dlms_link **l);

/* Ends a progress line, releases the association (when the meter answers) and closes *l. */
void dlms_conn_done(ami_dlms_link *l);

/* The help text of the connection options (security ones included). */
void dlms_conn_help(FILE *out);

/* Once, when the `ami dlms` command ends: the invocation counters to the state file, every
 * key wiped. */
void dlms_conn_finish(void);

#endif
