/*
 * Endpoint URLs of the `ami` and `amid` programs, parsed strictly:
 *   tcp://host:4059            DLMS over the TCP wrapper       mqtt://user:pass@host:1883/prefix
 *   udp://host:4059            DLMS over the UDP wrapper       mqtts://host/prefix
 *   hdlc+tcp://host:port       HDLC over TCP (terminal server)
 *   hdlc:/dev/ttyUSB0?baud=9600  HDLC over a serial port
 *   iec21:/dev/ttyUSB0         IEC 62056-21 mode E, then HDLC
 * Hosts may be names, IPv4 or [IPv6]. Percent-escapes are decoded in user and password.
 * The parsed fields are copies inside the struct (bounded sizes); nothing is allocated.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_IO_URL_H
#define AMI_IO_URL_H

#include <stdbool.h>
#include <stdint.h>

#define AMI_URL_MAX_PARAMS 8

typedef struct ami_url {
    char scheme[16]; /* lower-case, e.g. "hdlc+tcp" */
    char user[64];   /* "" when absent */
    char password[128];
    bool has_password;
    char host[256]; /* without brackets for IPv6; "" for path URLs */
    int port;       /* -1 when absent */
    char path[256]; /* "/dev/ttyUSB0" for hdlc:/iec21:, "/prefix" for mqtt:, "" when absent */
    int nparams;
    struct {
        char key[32];
        char value[64];
    } params[AMI_URL_MAX_PARAMS];
} ami_url;

/*
 * Parses `s` (NUL-terminated). Returns 0, or AMI_E_SYNTAX (not a URL of the forms above:
 * unknown shape, empty host, bad port, bad escape, stray characters), AMI_E_TOO_LARGE (a field
 * longer than its buffer, more than AMI_URL_MAX_PARAMS parameters). The scheme is not checked
 * against a list: the caller decides which it accepts.
 */
int ami_url_parse(const char *s, ami_url *u);

/* The value of query parameter `key`, or NULL. */
const char *ami_url_param(const ami_url *u, const char *key);

/* Wipes the password (and user) from the struct: call when done with credentials. */
void ami_url_wipe(ami_url *u);

#endif
