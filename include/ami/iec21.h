/*
 * IEC 62056-21 (formerly IEC 61107): direct local data exchange through the optical port or a
 * current loop. One sans-I/O engine plays either role: the client (a laptop with a probe, the
 * "HHU" of the standard) or the meter (the "tariff device"), in protocol modes A to E.
 *
 * Two levels of API:
 *
 *  1. Message codecs, pure functions over caller-owned bytes (zero copy): the request "/?!"
 *     (clause 6.3.1), the identification "/XXXZ\W<ident>" (6.3.2), the acknowledgement / option
 *     select "ACK V Z Y" (6.3.3), the data and programming command messages with their BCC
 *     (6.3.4 to 6.3.14) and an iterator over the data sets "address(value*unit)" of a data
 *     block (6.5).
 *
 *  2. A session engine (ami_iec21): bytes and "now" (milliseconds on any monotonic clock) go in
 *     with ami_iec21_input(); ami_iec21_poll() hands back one action at a time: bytes to send,
 *     a baud-rate switch, a time to wait until, an event, the end. The engine never sleeps,
 *     reads a clock or allocates: the caller gives it its receive and transmit buffers, and
 *     every reaction time and timeout of clause 6.3.14 / annex A is a deadline it returns.
 *
 * Strict by default. Deviations met in the field are accepted only when named in a
 * `lenient` mask (AMI_IEC21_LENIENT_*); each message reports in `deviations` which were used.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_IEC21_H
#define AMI_IEC21_H

#include <stdbool.h>
#include <stdint.h>

#include "ami/common.h"
#include "ami/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- characters and limits */

#define AMI_IEC21_SOH            0x01
#define AMI_IEC21_STX            0x02
#define AMI_IEC21_ETX            0x03
#define AMI_IEC21_EOT            0x04 /* ends a partial block instead of ETX (6.3.4) */
#define AMI_IEC21_ACK            0x06
#define AMI_IEC21_NAK            0x15

#define AMI_IEC21_MAX_ADDRESS    32  /* device address in a request: 32 characters (6.3.1) */
#define AMI_IEC21_MAX_IDENT      16  /* identification text: 16 characters (6.3.2) */
#define AMI_IEC21_MAX_IDENT_LONG 64  /* with AMI_IEC21_LENIENT_LONG_IDENT */
#define AMI_IEC21_MAX_ENHANCED   4   /* "\W" sequences kept from an identification */
#define AMI_IEC21_MAX_DS_ADDRESS 32  /* data-set address (16 in 6.5; OBIS "1-0:1.8.0*255" is 13) */
#define AMI_IEC21_MAX_VALUE      128 /* data-set value (32 in 6.5; load profiles are longer) */
#define AMI_IEC21_MAX_UNIT       16  /* data-set unit (16 in 6.5) */
#define AMI_IEC21_MAX_REPEAT     3   /* NAK / repeat attempts (6.3.14) */

/* ---------------------------------------------------------------- leniency */

/*
 * Tolerated deviations (bit mask). None is on by default; each message parsed reports in its
 * `deviations` field the bits it needed. Documented in docs/iec21.md, each with its own test.
 */
enum ami_iec21_lenient {
    /* Bytes that cannot start a message (line noise such as 0x7F from a probe powering up,
     * stray CR/LF between messages) are skipped instead of refused. */
    AMI_IEC21_LENIENT_GARBAGE = 1u << 0,
    /* A client ignores a request message "/?...!" read back before the identification: the
     * echo of a half-duplex probe that the transport did not drop. */
    AMI_IEC21_LENIENT_ECHO = 1u << 1,
    /* A readout without STX, ETX and BCC: data lines up to the "!" line (mode D pushes of
     * many meters, captures cut by the reading software). Its BCC status is "absent". */
    AMI_IEC21_LENIENT_BARE = 1u << 2,
    /* LF alone ends a line where CR LF is required. */
    AMI_IEC21_LENIENT_LF = 1u << 3,
    /* An identification text longer than 16 characters (up to 64). */
    AMI_IEC21_LENIENT_LONG_IDENT = 1u << 4,
    /* Every deviation above. */
    AMI_IEC21_LENIENT_ALL = 0x1Fu,
};

/* ---------------------------------------------------------------- modes and baud rates */

enum ami_iec21_mode {
    AMI_IEC21_MODE_AUTO = 0, /* client: take the mode the identification announces */
    AMI_IEC21_MODE_A = 'A',  /* 300 Bd throughout, no acknowledgement (6.4.1) */
    AMI_IEC21_MODE_B = 'B',  /* baud switch after the identification, no ACK (6.4.2) */
    AMI_IEC21_MODE_C = 'C',  /* ACK / option select, then switch (6.4.3) */
    AMI_IEC21_MODE_D = 'D',  /* the meter pushes a readout at 2400 Bd; read only (6.4.4) */
    AMI_IEC21_MODE_E = 'E',  /* mode C identification with "\2": ACK 2 Z 2 hands over to HDLC */
};

/*
 * Baud rate of a baud-rate character in a mode (6.3.2 item 14). Mode A: none (returns 300 for
 * any character); mode B: 'A' 600 .. 'F' 19200; modes C and E: '0' 300 .. '6' 19200; mode D:
 * 2400. Returns 0 for a character the mode reserves ('G'..'I' in B, '7'..'9' in C/E) or does
 * not allow. Thread-safe.
 */
AMI_EXTERN uint32_t ami_iec21_baud_of(enum ami_iec21_mode mode, char z);

/*
 * The mode a baud-rate character announces: '0'..'9' C (E when `mode_e_capable`), 'A'..'I' B,
 * anything else A. Mode D cannot be told from the character: it is known by the port being
 * passive. Thread-safe.
 */
AMI_EXTERN enum ami_iec21_mode ami_iec21_mode_of(char z, bool mode_e_capable);

/* Baud-rate character for `baud` in mode B or C/E, or 0 when that rate has none. */
AMI_EXTERN char ami_iec21_baud_char(enum ami_iec21_mode mode, uint32_t baud);

/*
 * Block check character (6.3.4): XOR of `n` bytes. Callers pass the bytes after the first
 * SOH or STX up to and including ETX or EOT. Thread-safe.
 */
AMI_EXTERN uint8_t ami_iec21_bcc(const void *p, size_t n);

/* ---------------------------------------------------------------- messages */

enum ami_iec21_msg_kind {
    AMI_IEC21_MSG_NONE = 0, /* only skipped bytes were consumed (AMI_IEC21_LENIENT_GARBAGE) */
    AMI_IEC21_MSG_REQUEST,  /* "/?" [address] "!" CR LF */
    AMI_IEC21_MSG_IDENT,    /* "/" XXX Z ["\W"...] ident CR LF */
    AMI_IEC21_MSG_OPTION,   /* ACK V Z Y CR LF (acknowledgement / option select) */
    AMI_IEC21_MSG_ACK,      /* ACK alone (programming mode) */
    AMI_IEC21_MSG_NAK,      /* NAK alone: repeat the last message */
    AMI_IEC21_MSG_COMMAND,  /* SOH C D [STX data] ETX|EOT BCC */
    AMI_IEC21_MSG_DATA,     /* STX data ETX|EOT BCC: a readout or an answer */
    AMI_IEC21_MSG_BARE,     /* data lines up to "!" without STX/ETX/BCC (LENIENT_BARE) */
};

/* Who sent the bytes being parsed: it settles whether ACK starts an option select. */
enum ami_iec21_dir {
    AMI_IEC21_FROM_METER = 0, /* ACK is a lone acknowledgement */
    AMI_IEC21_FROM_CLIENT,    /* ACK starts an option select "ACK V Z Y CR LF" */
    AMI_IEC21_FROM_ANY,       /* a capture of both: option select when the 5 bytes fit */
};

/* The identification message, clause 6.3.2. Views point into the parsed buffer. */
typedef struct ami_iec21_ident {
    char manufacturer[4]; /* the three letters, NUL-terminated */
    bool fast;            /* third letter lower case: 20 ms minimum reaction time */
    char baud_char;       /* Z */
    char enhanced[AMI_IEC21_MAX_ENHANCED + 1]; /* the W of each "\W", NUL-terminated */
    bool mode_e;                               /* "\2" present: mode E (HDLC) capable */
    const char *text;                          /* identification text (not NUL-terminated) */
    size_t text_len;
} ami_iec21_ident;

/* Option select fields, clause 6.3.3. */
typedef struct ami_iec21_option {
    char protocol; /* V: '0' normal, '1' secondary, '2' HDLC (mode E) */
    char baud;     /* Z: baud-rate character of mode C/E */
    char mode; /* Y: '0' data readout, '1' programming, '2' binary (HDLC), '6'..'9' manufacturer */
} ami_iec21_option;

enum ami_iec21_bcc_status {
    AMI_IEC21_BCC_NONE = 0, /* the message has no BCC (request, identification, ACK ...) */
    AMI_IEC21_BCC_OK,
    AMI_IEC21_BCC_ABSENT, /* a bare readout (AMI_IEC21_LENIENT_BARE) */
};

typedef struct ami_iec21_msg {
    enum ami_iec21_msg_kind kind;
    size_t start;        /* offset of the message's first byte (after skipped bytes) */
    size_t len;          /* bytes of the message itself */
    unsigned deviations; /* AMI_IEC21_LENIENT_* bits this message needed */
    /* REQUEST */
    const char *address; /* device address, may be empty */
    size_t address_len;
    /* IDENT */
    ami_iec21_ident ident;
    /* OPTION */
    ami_iec21_option option;
    /* COMMAND: C ('P','W','R','E','B') and D (the command type digit) */
    char cmd;
    char cmd_type;
    /* COMMAND, DATA, BARE: the data between STX and ETX/EOT, or the bare lines */
    const uint8_t *data;
    size_t data_len;
    bool partial; /* ended by EOT: more blocks follow */
    enum ami_iec21_bcc_status bcc_status;
    uint8_t bcc_received; /* also filled when AMI_E_CHECKSUM is returned */
    uint8_t bcc_computed;
} ami_iec21_msg;

/*
 * Parses the first message in p[0..n). `lenient` is a mask of AMI_IEC21_LENIENT_*.
 *
 * Returns the number of bytes consumed (skipped bytes plus the message; m->kind tells which
 * message, AMI_IEC21_MSG_NONE when only skipped bytes were consumed), or:
 *   AMI_E_AGAIN      the message is not complete yet (nothing consumed);
 *   AMI_E_CHECKSUM   the BCC does not match; m->start, m->len, m->bcc_received and
 *                    m->bcc_computed say where and what, so the caller can skip the message;
 *   AMI_E_MALFORMED  the bytes are not a message of this protocol (m->start is set);
 *   AMI_E_TOO_LARGE  a field exceeds its limit (address, identification);
 *   AMI_E_INVAL      p or m is NULL.
 * Views in *m point into p. Never reads past p[n-1]. Thread-safe.
 */
AMI_EXTERN int ami_iec21_msg_parse(const uint8_t *p, size_t n, enum ami_iec21_dir dir,
                                   unsigned lenient, ami_iec21_msg *m);

/*
 * Parses one identification line (with or without its CR LF, a convenience for the parse of
 * a message already delimited). Returns AMI_OK, AMI_E_MALFORMED or AMI_E_TOO_LARGE. The text
 * view points into p. Thread-safe.
 */
AMI_EXTERN int ami_iec21_ident_parse(const char *p, size_t n, unsigned lenient,
                                     ami_iec21_ident *id);

/* ---------------------------------------------------------------- encoders */

/*
 * Encoders write one message into out[0..cap) and return its length, or AMI_E_NOSPACE when
 * cap is too small, AMI_E_INVAL for a field outside its character set or limit. Thread-safe.
 */

/* "/?" address "!" CR LF; address NULL or "" for "/?!". */
AMI_EXTERN int ami_iec21_request_encode(const char *address, uint8_t *out, size_t cap);
/* "/" manufacturer baud_char ["\" enhanced...] ident CR LF; enhanced may be NULL. */
AMI_EXTERN int ami_iec21_ident_encode(const char *manufacturer, char baud_char,
                                      const char *enhanced, const char *ident, uint8_t *out,
                                      size_t cap);
/* ACK V Z Y CR LF */
AMI_EXTERN int ami_iec21_option_encode(const ami_iec21_option *opt, uint8_t *out, size_t cap);
/*
 * SOH C D [STX data] ETX BCC: data NULL for a command without a data set (B0). The data are
 * written as given (e.g. "1.8.0()" or "(password)"); they must not contain control characters.
 */
AMI_EXTERN int ami_iec21_command_encode(char cmd, char type, const char *data, size_t data_len,
                                        uint8_t *out, size_t cap);
/* STX data ETX BCC: an answer or a readout block whose data the caller composed. */
AMI_EXTERN int ami_iec21_data_encode(const void *data, size_t data_len, uint8_t *out, size_t cap);

/* ---------------------------------------------------------------- data sets */

/*
 * One data set "address(value*unit)" (clause 6.5). `value` has the spaces that precede or
 * follow it inside the brackets removed ("( 20000)" -> "20000", a rule met on Landis+Gyr
 * meters); `raw` is the exact text between "(" and "*" or ")". Views into the data block.
 */
typedef struct ami_iec21_dataset {
    const char *address; /* as the meter wrote it, may be empty ("(ERROR)", "(1234567)") */
    size_t address_len;
    const char *value;
    size_t value_len;
    const char *raw;
    size_t raw_len;
    const char *unit; /* NULL when the data set has no "*"; empty for "(013925.5*)" */
    size_t unit_len;
    unsigned group; /* 0, or 1.. for further "(...)" groups after the same address */
} ami_iec21_dataset;

/* Iterator state over a data block; fields are private. */
typedef struct ami_iec21_dsiter {
    const uint8_t *p;
    size_t len, pos;
    unsigned lenient, deviations;
    const char *addr;
    size_t addr_len;
    unsigned group;
    int err;
    bool ended, bang;
} ami_iec21_dsiter;

/* Starts iterating the data sets of data[0..len) (a msg's data). Never fails. */
AMI_EXTERN void ami_iec21_ds_begin(ami_iec21_dsiter *it, const uint8_t *data, size_t len,
                                   unsigned lenient);
/*
 * Next data set. Several data sets may share a line; lines end CR LF (LF alone with
 * AMI_IEC21_LENIENT_LF); a line "!" ends the block (it->bang is then true).
 * Returns 1 with *ds filled, 0 at the end of the block, or AMI_E_MALFORMED (a control
 * character, a bracket out of place, an unterminated data set) or AMI_E_TOO_LARGE (a field over
 * its limit). After an error every call returns the same error. Thread-safe per iterator.
 */
AMI_EXTERN int ami_iec21_ds_next(ami_iec21_dsiter *it, ami_iec21_dataset *ds);

/*
 * Whether the value is a decimal number "[-]digits[.digits]" and, if so, its text as a JSON
 * number: redundant leading zeros removed ("013925.5" -> "13925.5", "000000.0" -> "0.0"), every
 * fractional digit kept. Values with more than 15 significant digits (serial numbers) are not
 * numbers for this purpose: a double could not hold them exactly. Writes a NUL-terminated text
 * into out[0..cap) and returns its length, or 0 when not such a number (or cap too small).
 */
AMI_EXTERN size_t ami_iec21_value_number(const char *v, size_t n, char *out, size_t cap);

/* ---------------------------------------------------------------- passwords */

/*
 * Secret algorithm of P2 (6.3.8 "P2: secure algorithm result"): from the secret and the operand
 * the meter sent in P0, computes the text to send. Writes at most cap-1 characters and a NUL
 * into out; returns the length, or a negative AMI_E_* code. Called from the thread that calls
 * ami_iec21_poll().
 */
typedef int (*ami_iec21_p2_fn)(void *user, const char *secret, size_t secret_len,
                               const char *operand, size_t operand_len, char *out, size_t cap);

/*
 * The documented example P2 algorithm used by the tests and `ami sim` (it is not any
 * manufacturer's algorithm and gives no security): the 32-bit FNV-1a hash of the bytes
 * secret ":" operand, as 8 upper-case hexadecimal digits. Returns 8 or AMI_E_NOSPACE. Matches
 * ami_iec21_p2_fn with `user` unused.
 */
AMI_EXTERN int ami_iec21_p2_example(void *user, const char *secret, size_t secret_len,
                                    const char *operand, size_t operand_len, char *out, size_t cap);

/* ---------------------------------------------------------------- session engine */

/* Timing of clause 6.3.14 / annex A, in milliseconds; 0 in a field takes the default. */
typedef struct ami_iec21_timing {
    uint32_t reaction_ms;      /* minimum reaction time tr: 200 (20 for "fast" manufacturers) */
    uint32_t reaction_fast_ms; /* 20 */
    uint32_t response_ms;      /* maximum time to the first byte of an answer: 1500 */
    uint32_t char_ms;          /* maximum time between two characters ta: 1500 */
    uint32_t inactivity_ms;    /* programming mode left after tt without a message: 120000 */
    uint32_t push_wait_ms;     /* client, mode D: wait for a push: 30000 */
    uint32_t push_every_ms;    /* meter, mode D: period of the pushes: 5000 */
} ami_iec21_timing;

/* Serial frame format after a switch: 7E1 for the protocol, 8N1 for HDLC after mode E. */
enum ami_iec21_format { AMI_IEC21_7E1 = 0, AMI_IEC21_8N1 = 1 };

typedef struct ami_iec21_client_cfg {
    enum ami_iec21_mode mode; /* AMI_IEC21_MODE_AUTO: the identification decides (not D) */
    const char *address;      /* device address for "/?address!", NULL for "/?!" */
    uint32_t max_baud;        /* 0: as fast as the meter offers */
    bool programming;         /* option select Y = '1' (modes C/E) instead of a readout */
    const char *password;     /* P1 answer to P0; NULL when not used */
    const char *secret;       /* P2: secret given to `p2` with the P0 operand; NULL when not used */
    ami_iec21_p2_fn p2;       /* NULL: ami_iec21_p2_example */
    void *p2_user;
    unsigned lenient; /* AMI_IEC21_LENIENT_* */
    ami_iec21_timing timing;
} ami_iec21_client_cfg;

/*
 * A register of the simulated meter. Registers with read_level 1 form the data readout; in
 * programming mode R1/R2 need read_level, W1/W2 and E2 need write_level (0: never written).
 * The value buffer is caller-owned and written by W1/W2 (NUL-terminated, at most value_cap-1).
 */
typedef struct ami_iec21_register {
    const char *address;
    char *value;
    size_t value_cap;
    const char *unit; /* NULL or "" for none */
    uint8_t read_level;
    uint8_t write_level;
} ami_iec21_register;

/*
 * Access levels of the meter side: 1 protocol only (readout, level-1 reads); 2 after a right
 * P1 password; 3 after a right P2 result; 4 level 2 or 3 plus the sealable button flag set.
 */
typedef struct ami_iec21_meter_cfg {
    enum ami_iec21_mode mode; /* A, B, C, D or E (E: C with "\2" and the HDLC hand-over) */
    const char *manufacturer; /* three letters; lower-case third letter = 20 ms reaction */
    const char *ident;        /* identification text */
    uint32_t max_baud;        /* highest rate offered (B, C, E); 0: 9600 */
    const char *address;      /* answer only "/?address!" and "/?!"; NULL: any address */
    ami_iec21_register *regs; /* caller-owned, outlives the engine */
    size_t nregs;
    const char *password; /* P1; NULL: P1 refused */
    const char *secret;   /* P2; NULL: P2 refused */
    ami_iec21_p2_fn p2;   /* NULL: ami_iec21_p2_example */
    void *p2_user;
    const char *operand;        /* P0 operand (a fresh random text per session is best) */
    const bool *button;         /* level-4 flag, read at each command; NULL: never set */
    unsigned max_bad_passwords; /* lock the port after this many wrong passwords; 0: 3 */
    uint32_t lock_ms;           /* lock period; 0: 60000 */
    unsigned lenient;
    ami_iec21_timing timing;
} ami_iec21_meter_cfg;

enum ami_iec21_action_kind {
    AMI_IEC21_ACT_SEND = 1, /* write data[0..len) and drain it, then poll again */
    AMI_IEC21_ACT_BAUD,     /* switch the port to `baud` and `format`, then poll again */
    AMI_IEC21_ACT_WAIT,     /* wait for input, at most until `until`, then input/poll again */
    AMI_IEC21_ACT_EVENT,    /* `event` happened; poll again */
    AMI_IEC21_ACT_DONE,     /* the session is over (see ami_iec21_poll for failures) */
};

enum ami_iec21_event {
    AMI_IEC21_EV_IDENT = 1,    /* client: identification received (`msg`) */
    AMI_IEC21_EV_READOUT,      /* client: data readout received (`msg`, DATA or BARE) */
    AMI_IEC21_EV_PROG_READY,   /* client: programming mode open; `msg` is P0 (or NULL) */
    AMI_IEC21_EV_ANSWER,       /* client: answer to a command: `answer`, `msg` */
    AMI_IEC21_EV_HANDOVER,     /* both: mode E, the port now carries HDLC at `baud` 8N1 */
    AMI_IEC21_EV_SIGNED_OFF,   /* meter: the session ended (B0, timeout or lock) */
    AMI_IEC21_EV_WRITTEN,      /* meter: register `reg` was written */
    AMI_IEC21_EV_EXECUTED,     /* meter: E2 on register `reg`, argument in `msg` */
    AMI_IEC21_EV_BAD_PASSWORD, /* meter: a wrong P1/P2; `count` so far */
    AMI_IEC21_EV_TAMPER,       /* meter: too many wrong passwords; the port is locked */
};

/* Outcome of a programming command, as the meter answered it (not an AMI_E_* code). */
enum ami_iec21_answer {
    AMI_IEC21_ANS_ACK = 1, /* ACK: done */
    AMI_IEC21_ANS_DATA,    /* a data message (R1/R2) */
    AMI_IEC21_ANS_ERROR,   /* a data message "(ERROR...)": `msg` holds it */
    AMI_IEC21_ANS_BREAK,   /* the meter sent B0 */
};

typedef struct ami_iec21_action {
    enum ami_iec21_action_kind kind;
    const uint8_t *data; /* SEND: bytes in the engine's tx buffer, valid until the next call */
    size_t len;
    uint32_t baud; /* BAUD, EV_HANDOVER */
    enum ami_iec21_format format;
    uint64_t until; /* WAIT: deadline on the caller's clock; UINT64_MAX: none */
    enum ami_iec21_event event;
    const ami_iec21_msg *msg; /* EVENT: valid until the next call */
    enum ami_iec21_answer answer;
    int reg; /* meter events: index in cfg->regs, or -1 */
    unsigned count;
} ami_iec21_action;

enum ami_iec21_role { AMI_IEC21_ROLE_CLIENT = 1, AMI_IEC21_ROLE_METER };

/* One queued output step of the engine (private). */
typedef struct ami_iec21__op {
    uint8_t kind; /* ami_iec21_action_kind, or 0 for "fail with err" */
    uint8_t format;
    uint8_t event;
    uint8_t answer;
    bool has_msg;
    const uint8_t *src; /* SEND: static bytes (a NAK), else NULL */
    size_t off, len;    /* SEND: range in tx */
    uint64_t at;        /* not before (0: none) */
    uint32_t delay;     /* ms after the previous step */
    uint32_t baud;
    int reg, err;
    unsigned count;
} ami_iec21__op;

#define AMI_IEC21__QLEN 8

/* The engine. Caller-allocated; fields are private. */
typedef struct ami_iec21 {
    enum ami_iec21_role role;
    const ami_iec21_client_cfg *ccfg;
    const ami_iec21_meter_cfg *mcfg;
    ami_iec21_timing t;
    unsigned lenient;
    uint8_t *rx, *tx;
    size_t rxcap, rxlen, txcap, txlen;
    size_t consume; /* bytes of rx to drop before the next parse (a delivered message) */
    int state, err;
    uint64_t last_rx, last_tx, lock_until, next_push;
    bool tx_done, fast, started;
    unsigned repeats, bad_passwords, level, deviations;
    size_t last_off, last_len; /* last message sent, for a repeat after NAK */
    enum ami_iec21_mode mode;
    ami_iec21__op q[AMI_IEC21__QLEN];
    unsigned qhead, qn;
    ami_iec21_msg ev_msg;
    char operand[AMI_IEC21_MAX_VALUE + 1];
    char why[128];
} ami_iec21;

/*
 * Initialises a client session. `rx`/`tx` are caller-owned buffers that outlive the engine;
 * rx must hold the largest readout expected (a readout that does not fit fails with
 * AMI_E_TOO_LARGE), tx at least 256 bytes. cfg is kept by pointer and must outlive the engine.
 * Returns AMI_OK or AMI_E_INVAL (NULL argument, tx smaller than 64 bytes, rx smaller than 64).
 * Nothing is sent before ami_iec21_start().
 */
AMI_EXTERN int ami_iec21_client_init(ami_iec21 *s, const ami_iec21_client_cfg *cfg, void *rx,
                                     size_t rxcap, void *tx, size_t txcap);
/*
 * Initialises the meter side. Same buffers rule; tx must hold the whole readout. The engine
 * answers requests as soon as it is polled. Returns AMI_OK, AMI_E_INVAL or AMI_E_CONFIG (bad
 * manufacturer, mode or baud rate).
 */
AMI_EXTERN int ami_iec21_meter_init(ami_iec21 *s, const ami_iec21_meter_cfg *cfg, void *rx,
                                    size_t rxcap, void *tx, size_t txcap);

/*
 * Client: starts a session at `now`: sends the request at 300 Bd (modes A, B, C, E) or listens
 * for a push (mode D, at 2400 Bd). Returns AMI_OK or AMI_E_STATE (already started).
 */
AMI_EXTERN int ami_iec21_start(ami_iec21 *s, uint64_t now);

/*
 * Feeds bytes received at `now` (copied into the receive buffer; parsed at the next poll).
 * Returns the number of bytes taken (n), or AMI_E_INVAL. A client whose receive buffer is full
 * without a complete message fails with AMI_E_TOO_LARGE (returned here and by every later
 * poll); a meter never fails on input: it drops what it holds and keeps listening.
 */
AMI_EXTERN int ami_iec21_input(ami_iec21 *s, const void *p, size_t n, uint64_t now);

/*
 * Gives the next action at `now` (see enum ami_iec21_action_kind). Returns AMI_OK with *a
 * filled, or a negative code when the session failed (*a is then DONE and ami_iec21_why()
 * names the cause):
 *   AMI_E_TIMEOUT   no (complete) answer within the response / character time;
 *   AMI_E_CHECKSUM  a readout with a bad BCC, or an answer still bad after 3 NAKs;
 *   AMI_E_MALFORMED a message that does not parse; AMI_E_PROTOCOL an unexpected message or a
 *                   mode the meter does not announce; AMI_E_UNSUPPORTED a baud rate above
 *                   max_baud in mode B or mode E asked of a meter without "\2";
 *   AMI_E_AUTH      the meter refused the password; AMI_E_REFUSED the meter broke off (B0);
 *   AMI_E_TOO_LARGE the receive buffer overflowed.
 * After DONE or a failure every call returns the same. Not thread-safe per engine.
 */
AMI_EXTERN int ami_iec21_poll(ami_iec21 *s, uint64_t now, ami_iec21_action *a);

/*
 * Client, programming mode, after EV_PROG_READY or EV_ANSWER: sends command `cmd` `type`
 * ('R','1'; 'W','2'; 'E','2' ...) for `address` with `value` (NULL for "()"). The answer comes
 * as EV_ANSWER. Returns AMI_OK, AMI_E_STATE (not ready), AMI_E_INVAL (a character not allowed
 * in an address or value), AMI_E_NOSPACE (tx too small).
 */
AMI_EXTERN int ami_iec21_command(ami_iec21 *s, char cmd, char type, const char *address,
                                 const char *value, uint64_t now);

/*
 * Client: ends the session: in programming mode sends B0 (sign-off) first. The session then
 * polls DONE. Returns AMI_OK.
 */
AMI_EXTERN int ami_iec21_close(ami_iec21 *s, uint64_t now);

/* Meter: the current access level (1..4) of the session, 0 when idle. */
AMI_EXTERN unsigned ami_iec21_level(const ami_iec21 *s);

/* The AMI_IEC21_LENIENT_* deviations the session has met so far. */
AMI_EXTERN unsigned ami_iec21_deviations(const ami_iec21 *s);

/* A NUL-terminated English description of the last failure ("" if none). Never NULL. */
AMI_EXTERN const char *ami_iec21_why(const ami_iec21 *s);

#ifdef __cplusplus
}
#endif
#endif
