/*
 * Internals of `ami p1`: rendering a parsed telegram (JSON, table, MQTT values) and the MQTT
 * publisher. Not a library API.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_APP_P1_H
#define AMI_APP_P1_H

#include <stdbool.h>
#include <stdio.h>

#include "ami/json.h"
#include "ami/p1.h"
#include "ami/reading.h"

/* A growable byte buffer (for JSON payloads). */
struct p1_buf {
    char *p;
    size_t n, cap;
    bool oom;
};
void p1_buf_free(struct p1_buf *b);
/* A JSON writer sink appending to a struct p1_buf (user). */
int p1_buf_sink(void *user, const char *s, size_t n);

/* "A-B:C.D.E" (F = 255) or "A-B:C.D.E.F". */
void p1_obis_str(const ami_obis *o, char buf[AMI_OBIS_STRLEN]);

/*
 * Writes the JSON object of one telegram (the stable schema of docs/p1.md): input, meter,
 * header, crc, time, objects. `input`/`meter` may be NULL (omitted).
 */
void p1_json_telegram(ami_jw *w, const ami_p1_telegram *t, const ami_p1_frame *fr,
                      const char *input, const char *meter);

/* Prints the readable table of one telegram. */
void p1_table_telegram(FILE *out, const ami_p1_telegram *t, const ami_p1_frame *fr,
                       const char *input);

/*
 * The value of an object's single entry as MQTT payload text (exact decimal, decoded text, ISO
 * time); returns false for objects without a single scalar entry or absent values.
 */
bool p1_scalar_text(const ami_p1_telegram *t, const ami_p1_object *o, char *buf, size_t cap,
                    const char **unit, size_t *unit_len);

/* A meter id usable in MQTT topics: from 0-0:96.1.1 (decoded), else the header; [A-Za-z0-9_-]. */
void p1_meter_id(const ami_p1_telegram *t, char *buf, size_t cap);

/* ---- readings of a DLMS push (the Austrian M-Bus path: ami/reading.h instead of a telegram) */

/* The name of a reading in topics and JSON: the P1 quantity name when the OBIS code is known
 * (and not per M-Bus channel), else "obis_" and the code with [._:-] as '_'. */
void p1_reading_name(const ami_reading *rd, char *buf, size_t cap);

/* A meter id for a push: its 0-0:96.1.0 / 0-0:96.1.1 text reading when it has one, else
 * `fallback`; [A-Za-z0-9_-]. */
void p1_readings_meter_id(const ami_reading *rd, size_t n, const char *fallback, char *buf,
                          size_t cap);

/* The JSON object of one push in the telegram schema (header, crc and time null). `input` and
 * `meter` may be NULL (omitted). */
void p1_json_readings(ami_jw *w, const ami_reading *rd, size_t n, const char *input,
                      const char *meter);

/* ---------------------------------------------------------------- MQTT */

struct p1_mqtt;

struct p1_mqtt_opts {
    const char *url;       /* mqtt://user:pass@host:port/prefix or mqtts:// */
    unsigned queue_max;    /* messages held while the broker is away */
    unsigned interval_s;   /* publish at most one telegram per meter per interval (0: all) */
    const char *ha_prefix; /* Home Assistant discovery prefix ("homeassistant"; "" disables) */
    const char *cafile;    /* mqtts: CA file (NULL: system default) */
    int verbose;
};

struct p1_mqtt_stats {
    unsigned long long published, dropped, skipped_interval;
};

/* Returns NULL after printing the reason. */
struct p1_mqtt *p1_mqtt_open(const struct p1_mqtt_opts *o);
/* Publishes one good telegram of meter `meter`. now_ms: monotonic milliseconds. */
void p1_mqtt_telegram(struct p1_mqtt *m, const char *meter, const ami_p1_telegram *t,
                      const ami_p1_frame *fr, unsigned long long now_ms);
/* Publishes the readings of one decrypted DLMS push (Austrian M-Bus path) of meter `meter`. */
void p1_mqtt_readings(struct p1_mqtt *m, const char *meter, const ami_reading *rd, size_t n,
                      unsigned long long now_ms);
/* Drains the queue when connected; returns the milliseconds until it wants to run again. */
int p1_mqtt_service(struct p1_mqtt *m);
/* Flushes (waiting up to wait_ms for acknowledgements), marks meters offline, disconnects. */
void p1_mqtt_close(struct p1_mqtt *m, unsigned wait_ms, struct p1_mqtt_stats *st);
/* Returns whether the library was built in (libmosquitto found at build time). */
bool p1_mqtt_available(void);

#endif
