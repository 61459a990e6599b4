/*
 * DSMR P1 telegrams (NEN-EN-IEC 62056-21 mode D framing as profiled by DSMR 5.0.2 P1 companion
 * standard, chapter 6; Belgian e-MUCS H; Luxembourg Smarty; Austrian and Swedish profiles):
 * a sans-I/O streaming framer and a zero-copy parser.
 *
 *   /XXX5identification CR LF           header (6.2)
 *   CR LF                               blank line
 *   A-B:C.D.E(value*unit)(...) CR LF    COSEM objects (6.4, 6.12)
 *   !CRC CR LF                          end; CRC-16/ARC over '/'..'!' as 4 hex digits (6.12),
 *                                       absent before DSMR 4
 *
 * Framing: ami_p1_framer takes bytes in chunks of any size and hands back whole telegrams, one
 * at a time, as views (pointer + length). It resynchronises on '/' after garbage or a cut-off
 * telegram, checks the CRC whenever the telegram carries one, and never holds more than the
 * caller's buffer. Bytes between telegrams (line noise, a capture that starts mid-telegram,
 * trailing gateway lines after the CRC) are skipped and counted, never an error.
 *
 * Parsing: ami_p1_parse() splits one telegram into its header and objects, stored in
 * caller-provided arrays (no allocation). Every value is typed in the same pass: numbers as an
 * exact decimal (mantissa and number of decimals, no binary floating point), units kept,
 * timestamps YYMMDDhhmmssX converted to Unix time with their UTC offset, placeholder timestamps
 * flagged as absent, OBIS references parsed, text kept as a view (hex-encoded text decoded on
 * demand with ami_p1_text()). Known objects are named from a table of quantities
 * (ami_p1_quantity_find()); unknown lines are kept generically, never dropped.
 *
 * Deviations seen on real meters are accepted only through the named AMI_P1_LENIENT_* flags
 * (docs/p1.md lists each with the meter that shows it).
 *
 * Every function is reentrant; contexts are not shared between threads.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_P1_H
#define AMI_P1_H

#include <stdbool.h>

#include "ami/common.h"
#include "ami/obis.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- leniency */

/* Tolerated deviations, each off in strict mode. AMI_P1_LENIENT_DEFAULT is what `ami p1` uses. */
enum ami_p1_lenient {
    /* Lines of the telegram end in LF without CR (captures that lost the CR; DSMR 2.2 meters
       behind some converters). Default on. */
    AMI_P1_LENIENT_LF_ONLY = 1u << 0,
    /* No blank line between the header and the first object (Kamstrup and Landis+Gyr DSMR 2.2,
       the DSMR 5.0 example as printed). Default on. */
    AMI_P1_LENIENT_NO_BLANK_AFTER_HEADER = 1u << 1,
    /* A blank line right before the '!' line. Default on. */
    AMI_P1_LENIENT_BLANK_BEFORE_END = 1u << 2,
    /* A CRC printed with fewer than 4 hex digits (leading zeros dropped, e.g. "!D3D" for 0D3D);
       it must then be followed by the line end. Default on. */
    AMI_P1_LENIENT_SHORT_CRC = 1u << 3,
    /* A value whose parentheses span a line break, e.g. a long 0-0:96.13.0 message wrapped
       over two lines (DSMR 5.0 example). Default on. */
    AMI_P1_LENIENT_SPLIT_VALUE = 1u << 4,
    /* Bytes other than the line end right after a "!" without CRC on the same line (gateway
       appends). Default on. */
    AMI_P1_LENIENT_TRAILING_BYTES = 1u << 5,
    /* OBIS codes written with a value group F, "1-0:1.8.0*255" (EasyMeter, Itron). Default on. */
    AMI_P1_LENIENT_OBIS_F = 1u << 6,
    /* A unit written without '*', "(000123.456kWh)" (anonymised Fluvius fixtures). Default
       OFF: without it such a value is kept as text. */
    AMI_P1_LENIENT_UNIT_NO_STAR = 1u << 7,
};

#define AMI_P1_LENIENT_DEFAULT                                                                 \
    (AMI_P1_LENIENT_LF_ONLY | AMI_P1_LENIENT_NO_BLANK_AFTER_HEADER |                           \
     AMI_P1_LENIENT_BLANK_BEFORE_END | AMI_P1_LENIENT_SHORT_CRC | AMI_P1_LENIENT_SPLIT_VALUE | \
     AMI_P1_LENIENT_TRAILING_BYTES | AMI_P1_LENIENT_OBIS_F)
#define AMI_P1_LENIENT_ALL (AMI_P1_LENIENT_DEFAULT | AMI_P1_LENIENT_UNIT_NO_STAR)

/*
 * Returns the flag named `name` ("lf-only", "no-blank-after-header", "blank-before-end",
 * "short-crc", "split-value", "trailing-bytes", "obis-f", "unit-no-star"), or 0 when unknown.
 */
AMI_EXTERN unsigned ami_p1_lenient_from_name(const char *name);
/* The name of a single flag, or NULL. */
AMI_EXTERN const char *ami_p1_lenient_name(unsigned flag);

/* ---------------------------------------------------------------- framer */

/* Default bound of one telegram (DSMR 5.0.2 telegrams are below 2 KiB; e-MUCS below 4 KiB). */
#define AMI_P1_MAX_TELEGRAM_DEFAULT 8192u

enum ami_p1_crc_status {
    AMI_P1_CRC_ABSENT = 0, /* no CRC after '!' (DSMR 2.2 / 3.0, non-DSMR meters) */
    AMI_P1_CRC_OK = 1,     /* present and verified */
    AMI_P1_CRC_BAD = 2,    /* present and wrong (only in a rejected frame) */
};

/* One telegram handed back by the framer. */
typedef struct ami_p1_frame {
    const uint8_t *data; /* from '/' through '!' inclusive: the bytes the CRC covers */
    size_t len;
    enum ami_p1_crc_status crc_status;
    uint16_t crc_given;    /* the CRC printed after '!' (when present) */
    uint16_t crc_computed; /* CRC-16/ARC over data (when a CRC was printed) */
    uint8_t crc_digits;    /* hex digits printed: 4, fewer with AMI_P1_LENIENT_SHORT_CRC, or 0 */
} ami_p1_frame;

/* Counters kept by a framer across its life (reset only by ami_p1_framer_init). */
typedef struct ami_p1_framer_stats {
    uint64_t telegrams;     /* complete telegrams handed back with AMI_OK */
    uint64_t crc_ok;        /* of which with a verified CRC */
    uint64_t crc_absent;    /* of which without CRC */
    uint64_t crc_errors;    /* rejected: CRC mismatch (AMI_E_CHECKSUM) */
    uint64_t oversized;     /* rejected: longer than the buffer (AMI_E_TOO_LARGE) */
    uint64_t truncated;     /* rejected: cut off by a new '/' or by the end (AMI_E_TRUNCATED) */
    uint64_t malformed;     /* rejected: a bad end line (AMI_E_MALFORMED) */
    uint64_t skipped_bytes; /* bytes outside any telegram (noise, trailing gateway bytes) */
} ami_p1_framer_stats;

/* Framer state. Caller-allocated; treat the fields as private except `stats`. */
typedef struct ami_p1_framer {
    uint8_t *buf; /* caller-owned telegram buffer */
    size_t cap;   /* its size: the longest telegram accepted ('/'..'!') */
    size_t len;   /* bytes of the current telegram held in buf */
    unsigned lenient;
    int state;
    uint16_t crc_acc; /* hex digits read after '!' */
    uint8_t crc_ndig; /* their count */
    bool in_parens;   /* BODY: the last byte buffered lies between '(' and ')' */
    ami_p1_framer_stats stats;
} ami_p1_framer;

/*
 * Initialises a framer over a caller-owned buffer of `cap` bytes (>= 16; the longest telegram
 * accepted, from '/' through '!'). `lenient`: AMI_P1_LENIENT_* flags (the framer uses SHORT_CRC
 * and TRAILING_BYTES). The buffer must outlive the framer; nothing is allocated.
 * Returns AMI_OK or AMI_E_INVAL (NULL, or cap below 16).
 */
AMI_EXTERN int ami_p1_framer_init(ami_p1_framer *f, uint8_t *buf, size_t cap, unsigned lenient);

/*
 * Pushes bytes. Consumes input until one telegram is complete or rejected, or the input is used
 * up, and sets *consumed to the bytes used (call again with the rest).
 *
 * Returns:
 *   AMI_OK           *out is a complete telegram (CRC verified or absent). out->data points
 *                    into the framer's buffer or, when the whole telegram was inside `data`,
 *                    into `data` itself (zero copy); it stays valid until the next call on this
 *                    framer and, in the second case, while `data` is.
 *   AMI_E_AGAIN      all input consumed, no telegram complete yet.
 *   AMI_E_CHECKSUM   a telegram whose CRC does not match (out filled for diagnostics).
 *   AMI_E_TOO_LARGE  a telegram longer than the buffer; the framer skips to the next '/'.
 *   AMI_E_TRUNCATED  a telegram cut off by a new '/' (out->data is the fragment); that '/' is
 *                    not consumed, so the next call starts the new telegram with it.
 *   AMI_E_MALFORMED  a bad end line ("!" followed by something that is no CRC, or a short CRC
 *                    without AMI_P1_LENIENT_SHORT_CRC).
 *   AMI_E_INVAL      NULL arguments.
 * After any error the framer is ready for the next telegram; keep pushing.
 *
 * A '/' or '!' between parentheses is data; outside them it starts a new telegram or ends the
 * current one. Every outcome is also counted in f->stats.
 */
AMI_EXTERN int ami_p1_framer_push(ami_p1_framer *f, const uint8_t *data, size_t n, size_t *consumed,
                                  ami_p1_frame *out);

/*
 * Signals the end of the input. A telegram that only misses its line end ("!1BB8" at the end
 * of a file, or "!" without CRC) is completed. Returns AMI_OK (*out set), AMI_E_AGAIN (nothing
 * pending), AMI_E_TRUNCATED (a telegram was cut off by the end; out->data is the fragment),
 * AMI_E_CHECKSUM or AMI_E_MALFORMED. The framer is then idle, ready for a new stream.
 */
AMI_EXTERN int ami_p1_framer_finish(ami_p1_framer *f, ami_p1_frame *out);

/* ---------------------------------------------------------------- values */

enum ami_p1_type {
    AMI_P1_EMPTY = 0,  /* "()" */
    AMI_P1_NUMBER = 1, /* decimal number, optional unit */
    AMI_P1_TIME = 2,   /* timestamp (see ami_p1_group.flags for placeholders) */
    AMI_P1_OBIS = 3,   /* OBIS reference, e.g. the "(0-0:96.7.19)" of a power-failure log */
    AMI_P1_TEXT = 4,   /* anything else: identifiers, messages, versions (kept verbatim) */
};

/* ami_p1_group.flags */
enum {
    AMI_P1_GF_PLACEHOLDER = 1u << 0,  /* TIME: a placeholder ("000101000000W", "632525252525W",
                                         zeroed): the time is absent, unix_time is 0 */
    AMI_P1_GF_NO_OFFSET = 1u << 1,    /* TIME: local time without DST letter; utc_offset unknown */
    AMI_P1_GF_HEX = 1u << 2,          /* TEXT: an even number of hex digits (hex-encoded text) */
    AMI_P1_GF_SPLIT = 1u << 3,        /* the text spans a line break (AMI_P1_LENIENT_SPLIT_VALUE) */
    AMI_P1_GF_UNIT_NO_STAR = 1u << 4, /* NUMBER: unit written without '*' */
};

/* One "(...)" group of an object line. Views point into the telegram. */
typedef struct ami_p1_group {
    const char *text; /* between the parentheses, unit excluded (for NUMBER) */
    const char *unit; /* NUMBER: unit after '*' (or NULL); not NUL-terminated */
    uint32_t text_len;
    uint8_t unit_len;
    uint8_t type;       /* enum ami_p1_type */
    uint8_t flags;      /* AMI_P1_GF_* */
    int8_t decimals;    /* NUMBER: digits after the decimal point */
    int16_t utc_offset; /* TIME: minutes east of UTC (+60 for 'W', +120 for 'S' by default) */
    union {
        int64_t mantissa;  /* NUMBER: value = mantissa / 10^decimals, exactly */
        int64_t unix_time; /* TIME: seconds since 1970-01-01T00:00:00Z (0 for placeholders) */
        ami_obis obis;     /* OBIS */
    } u;
} ami_p1_group;

/* ---------------------------------------------------------------- quantities */

/* How an object's groups form entries (see ami_p1_entry_get). */
enum ami_p1_shape {
    AMI_P1_SHAPE_SINGLE = 0,      /* one entry per group (usually one group) */
    AMI_P1_SHAPE_TIMED = 1,       /* (time)(value) or (value)(time): one entry with its time */
    AMI_P1_SHAPE_LOG = 2,         /* (count)(obis...)(time...)(value)...: buffer / profile, e.g.
                                     1-0:99.97.0 power-failure log, 0-0:98.1.0 monthly peaks */
    AMI_P1_SHAPE_LEGACY_MBUS = 3, /* DSMR 2.2/3 0-n:24.3.0 (time)(..)(..)(..)(obis)(unit) +
                                     "(value)" on the next line */
};

/* The physical quantity of a known object (for names, units, Home Assistant). */
enum ami_p1_kind {
    AMI_P1_KIND_OTHER = 0,
    AMI_P1_KIND_ENERGY,          /* kWh / Wh, total_increasing */
    AMI_P1_KIND_REACTIVE_ENERGY, /* kvarh */
    AMI_P1_KIND_POWER,           /* kW / W, measurement */
    AMI_P1_KIND_REACTIVE_POWER,  /* kvar */
    AMI_P1_KIND_APPARENT_POWER,  /* kVA */
    AMI_P1_KIND_VOLTAGE,
    AMI_P1_KIND_CURRENT,
    AMI_P1_KIND_FREQUENCY,
    AMI_P1_KIND_COUNT,     /* event counters (total_increasing) */
    AMI_P1_KIND_MBUS,      /* M-Bus reading: gas/water m3, heat GJ (device type decides) */
    AMI_P1_KIND_TIMESTAMP, /* the telegram time */
    AMI_P1_KIND_TEXT,      /* octet strings sent hex-encoded: identifiers, messages */
    AMI_P1_KIND_ID,        /* identifiers sent as plain text (1-0:0.0.0) */
    AMI_P1_KIND_STATE,     /* small integers: tariff, breaker/valve state, device type, version */
    AMI_P1_KIND_LOG,       /* power-failure log, peak history */
};

typedef struct ami_p1_quantity {
    ami_obis obis;     /* B = 0xFF in the table matches any M-Bus channel 1..4 */
    const char *name;  /* stable name, e.g. "energy_import_tariff1"; for per-channel
                          entries a prefix completed by ami_p1_object_name ("mbus" + n) */
    const char *unit;  /* the unit DSMR specifies (informative; the telegram's wins) */
    const char *label; /* short English description */
    uint8_t kind;      /* enum ami_p1_kind */
    uint8_t shape;     /* enum ami_p1_shape */
    bool per_channel;  /* M-Bus: name is "mbus<B>_" + name */
} ami_p1_quantity;

/*
 * Finds the quantity of an OBIS code (F ignored), or NULL. The table is static and sorted;
 * lookup is a binary search. Thread-safe.
 */
AMI_EXTERN const ami_p1_quantity *ami_p1_quantity_find(const ami_obis *obis);

/* The whole table (for documentation and tests): *n receives the count. Thread-safe. */
AMI_EXTERN const ami_p1_quantity *ami_p1_quantity_table(size_t *n);

/* Home Assistant device_class / state_class / default unit for a kind (NULL when none). */
AMI_EXTERN const char *ami_p1_kind_device_class(enum ami_p1_kind kind);
AMI_EXTERN const char *ami_p1_kind_state_class(enum ami_p1_kind kind);

/* ---------------------------------------------------------------- parser */

/* ami_p1_object.flags */
enum {
    AMI_P1_OF_RAW = 1u << 0,       /* the line did not parse as OBIS + groups: kept as `line` */
    AMI_P1_OF_OBIS_F = 1u << 1,    /* OBIS written with "*F" (AMI_P1_LENIENT_OBIS_F) */
    AMI_P1_OF_CONTINUED = 1u << 2, /* groups continued on following line(s) (DSMR 2.2 24.3.0) */
    AMI_P1_OF_BAD_SHAPE = 1u << 3, /* groups do not fit the known shape: entries are per group */
};

typedef struct ami_p1_object {
    ami_obis obis;            /* F = 255 unless written */
    uint8_t flags;            /* AMI_P1_OF_* */
    uint8_t shape;            /* enum ami_p1_shape actually used */
    uint16_t nentries;        /* see ami_p1_entry_get */
    uint32_t first;           /* index of the first group in telegram.groups */
    uint32_t ngroups;         /* number of groups */
    const ami_p1_quantity *q; /* known quantity, or NULL */
    const char *line;         /* the object's text (its line(s), without line end) */
    uint32_t line_len;
} ami_p1_object;

/* Parser options. Zero-initialised means strict, W = UTC+1, S = UTC+2. */
typedef struct ami_p1_options {
    unsigned lenient;   /* AMI_P1_LENIENT_* */
    int16_t std_offset; /* minutes east of UTC of 'W' (winter) timestamps; 0 means +60 */
} ami_p1_options;

/* A parsed telegram. The caller provides the object and group arrays (ami_p1_telegram_init). */
typedef struct ami_p1_telegram {
    ami_p1_object *objects;
    ami_p1_group *groups;
    uint32_t objects_cap, groups_cap;
    uint32_t nobjects, ngroups;
    const char *header; /* the identification line without '/' and line end */
    uint32_t header_len;
    uint32_t raw_lines;        /* lines kept as AMI_P1_OF_RAW */
    const ami_p1_object *time; /* the 0-0:1.0.0 object, or NULL */
    /* On AMI_E_MALFORMED / AMI_E_TOO_LARGE: a static reason and the byte offset in the input. */
    const char *error;
    size_t error_offset;
} ami_p1_telegram;

/* Sets the arrays a telegram is parsed into (caller-owned; sizes in elements). */
AMI_EXTERN void ami_p1_telegram_init(ami_p1_telegram *t, ami_p1_object *objects, size_t objects_cap,
                                     ami_p1_group *groups, size_t groups_cap);

/*
 * Parses one telegram, `data`/`len` from '/' through '!' (as given by the framer; a trailing
 * '!' is optional). Views in *t point into `data`, which must outlive them. One pass, no
 * allocation, no recursion.
 *
 * Returns AMI_OK; AMI_E_MALFORMED when the structure is wrong (no '/', no header line end, a
 * missing blank line after the header, LF-only lines, a blank line before '!', a value split
 * over lines, an unterminated group) and the lenient flag that would accept it is off:
 * t->error names the rule; AMI_E_TOO_LARGE when the object or group arrays are full;
 * AMI_E_INVAL for NULL arguments. Lines that do not parse as OBIS + groups are kept as
 * AMI_P1_OF_RAW objects, never dropped.
 */
AMI_EXTERN int ami_p1_parse(const uint8_t *data, size_t len, const ami_p1_options *opt,
                            ami_p1_telegram *t);

/* One logical entry of an object: a value with its unit and capture time. */
typedef struct ami_p1_entry {
    const ami_p1_group *value;  /* the value group (NULL when the entry has none) */
    const ami_p1_group *time;   /* capture time (NULL when none) */
    const ami_p1_group *period; /* LOG entries with two times: the first (period) */
    const char *unit;           /* unit (from the value, or the 24.3.0 header); may be NULL */
    uint8_t unit_len;
} ami_p1_entry;

/*
 * Entry i (< obj->nentries) of an object, e.g. for 0-1:24.2.1(101209112500W)(12785.123*m3) the
 * single entry {value 12785.123, unit m3, time 2010-12-09T11:25:00+01:00}; for 1-0:99.97.0 one
 * entry per failure {time = end of failure, value = duration}. Returns AMI_OK or AMI_E_RANGE.
 */
AMI_EXTERN int ami_p1_entry_get(const ami_p1_telegram *t, const ami_p1_object *obj, size_t i,
                                ami_p1_entry *e);

/*
 * The stable name of an object ("energy_import_tariff1", "mbus1_reading"), or for unknown
 * objects the empty string. Writes a NUL-terminated name into buf. Returns its length or
 * AMI_E_NOSPACE (32 bytes always suffice).
 */
AMI_EXTERN int ami_p1_object_name(const ami_p1_object *obj, char *buf, size_t cap);

/*
 * Formats a number group as exact JSON-compatible decimal text ("12785.123", "-0.5", "0.000";
 * leading zeros removed, decimals kept) into buf. Returns the length or AMI_E_NOSPACE
 * (24 bytes always suffice) or AMI_E_TYPE (not a NUMBER).
 */
AMI_EXTERN int ami_p1_number_format(const ami_p1_group *g, char *buf, size_t cap);

/* The number as a double (for display only; exactness is in mantissa/decimals). */
AMI_EXTERN double ami_p1_number_double(const ami_p1_group *g);

/*
 * Formats a TIME group as ISO 8601 with offset ("2010-12-09T11:25:00+01:00"; without offset for
 * AMI_P1_GF_NO_OFFSET). Returns the length, AMI_E_UNSPECIFIED (placeholder: the time is
 * absent), AMI_E_TYPE or AMI_E_NOSPACE (26 bytes always suffice).
 */
AMI_EXTERN int ami_p1_time_format(const ami_p1_group *g, char *buf, size_t cap);

/*
 * The text of a group, line breaks of split values removed, as a NUL-terminated string.
 * With decode_hex (for AMI_P1_KIND_TEXT objects: equipment identifiers, messages, DSMR 5.0.2
 * 6.12 "octet string" sent as hex) text flagged AMI_P1_GF_HEX is decoded when every decoded
 * byte is printable ASCII (0x20..0x7E); otherwise, and without decode_hex, the text is copied
 * verbatim. Returns the length, or AMI_E_NOSPACE.
 */
AMI_EXTERN int ami_p1_text(const ami_p1_group *g, bool decode_hex, char *buf, size_t cap);

/* ---------------------------------------------------------------- writer */

/* Longest equipment identifier the writer takes (DSMR 5.0.2: Sn, n = 96, sent as hex). */
#define AMI_P1_MAX_EQUIPMENT_ID 96

/*
 * What one DSMR 5.0.2 telegram written by ami_p1_write() says (the meter side of P1, for
 * simulators and gateway tests). Units are those of the telegram's resolution, all integers.
 */
typedef struct ami_p1_values {
    const char *header;        /* identification after '/', e.g. "AMI5\\2OPENAMI" (no CR LF);
                                  printable ASCII but "/!()", 5..64 characters */
    uint8_t version;           /* 1-3:0.2.8 (P1 version, 50 for DSMR 5.0); 0: line omitted */
    int64_t time;              /* 0-0:1.0.0, Unix seconds */
    int16_t std_offset;        /* minutes east of UTC of winter time ('W'); 0 means +60 */
    bool dst;                  /* summer time: written 'S', local = UTC + std_offset + 60 */
    const char *equipment_id;  /* 0-0:96.1.1 (hex-encoded by the writer); NULL: omitted */
    int64_t import_wh[2];      /* 1-0:1.8.1, 1-0:1.8.2 (Wh, written as kWh F9(3)) */
    int64_t export_wh[2];      /* 1-0:2.8.1, 1-0:2.8.2 */
    uint8_t tariff;            /* 0-0:96.14.0 tariff indicator: 1 or 2 */
    int64_t power_import_w;    /* 1-0:1.7.0 (W, written as kW F5(3)) */
    int64_t power_export_w;    /* 1-0:2.7.0 */
    uint8_t phases;            /* 1 or 3: the per-phase lines written */
    int32_t voltage_dv[3];     /* 1-0:32.7.0 / 52.7.0 / 72.7.0 (0.1 V, written F4(1)) */
    int32_t current_a[3];      /* 1-0:31.7.0 / 51.7.0 / 71.7.0 (A, written F3(0)) */
    int64_t phase_import_w[3]; /* 1-0:21.7.0 / 41.7.0 / 61.7.0 */
    int64_t phase_export_w[3]; /* 1-0:22.7.0 / 42.7.0 / 62.7.0 */
} ami_p1_values;

/*
 * Writes one DSMR 5.0.2 P1 telegram (P1 companion standard 6.2, 6.4, 6.12): the header line,
 * a blank line, the objects of *v in the order of the standard's example, each line ending
 * CR LF, and "!" with the CRC-16/ARC over '/'..'!' as 4 upper-case hex digits and CR LF.
 * The timestamp is local time YYMMDDhhmmssX with X 'W' or 'S' (v->dst).
 * Writes into out[0..cap) and returns the telegram's length, or AMI_E_NOSPACE (cap too small;
 * 1024 bytes always suffice), AMI_E_INVAL (NULL argument, a header or identifier outside its
 * character set or length, phases not 1 or 3, tariff not 1 or 2) or AMI_E_RANGE (a value
 * negative or wider than its DSMR format: energy above 999999.999 kWh, power above 99.999 kW,
 * voltage above 999.9 V, current above 999 A, a local time outside years 2000..2099 or on
 * 1 January 2000 or 2070, the dates receivers take for a placeholder "no time").
 * Pure, thread-safe. The output is accepted by ami_p1_parse() in strict mode.
 */
AMI_EXTERN int ami_p1_write(const ami_p1_values *v, char *out, size_t cap);

/*
 * Whether Unix time t falls in European summer time (from 01:00 UTC on the last Sunday of March
 * to 01:00 UTC on the last Sunday of October), the rule of the Dutch, Belgian and Luxembourg
 * P1 timestamps. Pure, thread-safe.
 */
AMI_EXTERN bool ami_p1_eu_dst(int64_t t);

#ifdef __cplusplus
}
#endif
#endif
