/*
 * Encrypted P1 meters (issue 7): the two encrypted formats met on customer interfaces.
 *
 *  1. Luxembourg "Smarty" (DSMR P1 v1.0 of Luxembourg, also Sagemcom T210-D-r elsewhere):
 *     every telegram is one general-glo-ciphering APDU
 *         DB 08 <system title> 82 <len> 30 <frame counter> <ciphertext> <12-byte tag>
 *     with authenticated encryption (SC 0x30, suite 0), AAD = 0x30 || AK where AK defaults to
 *     00112233445566778899AABBCCDDEEFF. The plaintext is a DSMR text telegram. A frame whose
 *     tag does not verify yields nothing.
 *
 *  2. Austrian and similar meters (EVN/Netz NOe Kaifa MA309, ...) that push a DLMS
 *     data-notification over M-Bus long frames (ami/mbus.h), ciphered with
 *     general-glo-ciphering, ENCRYPTION ONLY (SC 0x20 / 0x21: no tag, no integrity). The
 *     plaintext is an A-XDR data-notification whose body lists OBIS codes, values and
 *     scaler/unit pairs; it is turned into ami_reading values (ami/reading.h).
 *     Because nothing authenticates such frames, the plaintext parse is strict: every element
 *     must be well-formed and the body must end exactly at the APDU's end. A flipped bit that
 *     lands in a value is nonetheless undetectable: that is the meter's security level.
 *
 * Both take an ami_sec_ctx (keys; ami/security.h) and an optional ami_replay guard: a frame
 * whose counter is not above the last accepted one of its system title is refused with
 * AMI_E_REPLAY, and a counter is recorded only once the frame authenticated (Smarty) or
 * parsed strictly (encryption-only).
 *
 * Sans-I/O, no allocation; thread safety as for the ami_sec_ctx / ami_replay passed in.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_P1CRYPT_H
#define AMI_P1CRYPT_H

#include <stdbool.h>
#include <stdint.h>

#include "ami/arena.h"
#include "ami/common.h"
#include "ami/datetime.h"
#include "ami/p1.h"
#include "ami/reading.h"
#include "ami/security.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The authentication key every Smarty meter uses unless the grid operator says otherwise. */
AMI_EXTERN extern const uint8_t ami_p1_smarty_default_ak[16];

/* Largest Smarty frame accepted (a DSMR telegram is at most a few kB). */
#define AMI_P1_SMARTY_MAX 8192

/* What a decrypted frame said about itself. */
typedef struct ami_p1_frame_info {
    uint8_t system_title[AMI_SEC_SYSTEM_TITLE_LEN];
    uint32_t frame_counter;
    uint8_t security_control;
} ami_p1_frame_info;

/*
 * Decrypts one Smarty frame at the start of `frame` into out (capacity >= the ciphertext
 * length; len - 30 always suffices). ctx needs the block cipher key (16 bytes) and the
 * authentication key (ami_p1_smarty_default_ak unless configured). replay may be NULL.
 * *out_len receives the telegram length, *info (may be NULL) the header fields.
 * *consumed (may be NULL) receives the frame's length as soon as its length field is read,
 * also on AMI_E_TRUNCATED (how many bytes to wait for) and on the errors found after it (so a
 * stream reader skips a whole frame that fails, e.g. AMI_E_AUTH); it is 0 when the length is
 * unknown or refused (AMI_E_PROTOCOL, AMI_E_TOO_LARGE, ...): then drop one byte and resync.
 * Strict: the APDU must be general-glo-ciphering (0xDB) with SC = A|E (0x30 for suite 0).
 * Returns AMI_OK; AMI_E_TRUNCATED (frame incomplete: wait for more bytes in a stream);
 * AMI_E_PROTOCOL (not 0xDB); AMI_E_MALFORMED (bad lengths); AMI_E_TOO_LARGE (declared length
 * over AMI_P1_SMARTY_MAX); AMI_E_ACCESS (SC without authentication or encryption);
 * AMI_E_UNSUPPORTED (compression, unknown suite); AMI_E_KEY; AMI_E_REPLAY; AMI_E_AUTH (tag
 * mismatch); AMI_E_NOSPACE; AMI_E_CRYPTO. On failure out holds no plaintext.
 */
AMI_EXTERN int ami_p1_smarty_decrypt(ami_sec_ctx *ctx, ami_replay *replay, const uint8_t *frame,
                                     size_t len, uint8_t *out, size_t cap, size_t *out_len,
                                     size_t *consumed, ami_p1_frame_info *info);

/*
 * The meter side of Smarty: encrypts one DSMR telegram (plaintext `telegram`, n bytes) into a
 * general-glo-ciphering frame DB 08 <system title> <len> 30 <frame counter> <ciphertext>
 * <12-byte tag>, authenticated encryption with suite 0 (SC 0x30), written to out[0..cap).
 * ctx needs the block cipher key (16 bytes) and the authentication key (normally
 * ami_p1_smarty_default_ak). The caller increments frame_counter for every frame (receivers
 * refuse a counter that does not grow). *out_len receives the frame length (n + 30 for a
 * telegram of 128..65535 bytes). ami_p1_smarty_decrypt() with the same keys gives back the
 * telegram. Returns AMI_OK, AMI_E_INVAL (NULL argument), AMI_E_TOO_LARGE (a frame over
 * AMI_P1_SMARTY_MAX), AMI_E_NOSPACE, AMI_E_KEY (a key missing or of the wrong length) or
 * AMI_E_CRYPTO. Thread safety as for ctx.
 */
AMI_EXTERN int ami_p1_smarty_encrypt(ami_sec_ctx *ctx, const uint8_t system_title[8],
                                     uint32_t frame_counter, const uint8_t *telegram, size_t n,
                                     uint8_t *out, size_t cap, size_t *out_len);

/* Header fields of a data-notification (Green Book 9.5, Data-Notification). */
typedef struct ami_p1_notification {
    uint32_t invoke_id; /* long-invoke-id-and-priority */
    bool has_time;      /* the APDU's date-time was present (12 bytes) */
    ami_datetime time;
    size_t count;   /* readings written */
    size_t skipped; /* body elements not attached to an OBIS code (e.g. a meter number) */
} ami_p1_notification;

/* Nesting allowed in a notification body (pushes seen in the field use 1 or 2 levels). */
#define AMI_P1_NOTIFY_MAX_DEPTH 8

/* Arena bytes that hold the A-XDR tree of any push seen in the field (EVN: 58 nodes). */
#define AMI_P1_NOTIFY_ARENA 16384

/*
 * Parses a plaintext DLMS data-notification (tag 0x0F):
 *   0F, long-invoke-id-and-priority (4), date-time (A-XDR OCTET STRING of 0 or 12 bytes),
 *   notification-body (one A-XDR Data, normally a structure; decoded with ami/axdr.h).
 * The body is walked in order: an octet-string of 6 bytes names an OBIS code, the next
 * element is its value, and a following structure {integer scaler, enum unit} gives its
 * scaler and unit (Blue Book 4.3.2). A 12-byte octet-string or date-time before any OBIS code
 * is taken as the capture time of all readings. Other elements not attached to an OBIS code
 * are counted in info->skipped. Readings get the APDU date-time, else the body's capture
 * time. String values point into `apdu`.
 * arena: caller-owned memory for the temporary A-XDR tree (AMI_P1_NOTIFY_ARENA bytes are
 * plenty); it is left as it was on return.
 * Returns AMI_OK; AMI_E_PROTOCOL (not 0x0F); AMI_E_TRUNCATED; AMI_E_MALFORMED (bad length or
 * tag, an OBIS code with no value, a scaler/unit structure of the wrong shape, trailing
 * bytes); AMI_E_RANGE (a date-time field out of range, an unsigned 64-bit value above
 * INT64_MAX); AMI_E_TYPE (a structure or array where a value is expected);
 * AMI_E_UNSUPPORTED (floating point, bit-string, BCD, compact-array values); AMI_E_TOO_DEEP;
 * AMI_E_NOMEM (the arena is too small), AMI_E_TOO_LARGE (a string or count above the A-XDR
 * limits); AMI_E_NOSPACE (more readings than max);
 * AMI_E_INVAL.
 */
AMI_EXTERN int ami_p1_notification_parse(const uint8_t *apdu, size_t len, ami_arena *arena,
                                         ami_reading *readings, size_t max,
                                         ami_p1_notification *info);

/* What the Austrian path needs besides the frame: keys, guard and working memory. */
typedef struct ami_p1_dlms {
    ami_sec_ctx *sec;   /* keys; accept must include AMI_SEC_ACCEPT_ENC for encryption-only
                           meters (a named opt-in: such frames have no integrity) */
    ami_replay *replay; /* optional (NULL: no replay check) */
    uint8_t *work;      /* plaintext buffer; string readings point into it */
    size_t work_cap;    /* >= the APDU length */
    ami_arena *arena;   /* for the A-XDR tree (see ami_p1_notification_parse) */
} ami_p1_dlms;

/*
 * The whole Austrian path for one reassembled APDU (from ami_mbus_dlms_push): parses the
 * general-glo-ciphering APDU, checks the replay guard, decrypts into c->work, parses the
 * data-notification into readings, and only then records the frame counter.
 * frame (may be NULL) receives the header fields.
 * Returns AMI_OK, the errors of ami_sec_apdu_parse(), ami_sec_apdu_decrypt(),
 * ami_replay_check() and ami_p1_notification_parse(), AMI_E_PROTOCOL (not 0xDB) or
 * AMI_E_MALFORMED (bytes after the APDU). On failure nothing is recorded and c->work holds no
 * plaintext.
 */
AMI_EXTERN int ami_p1_dlms_readings(const ami_p1_dlms *c, const uint8_t *apdu, size_t len,
                                    ami_reading *readings, size_t max, ami_p1_notification *info,
                                    ami_p1_frame_info *frame);

/*
 * The same reading shape for plain DSMR telegrams (ami/p1.h): converts entry `e` of object
 * `obj` (from ami_p1_entry_get) into *r, so decrypted Smarty telegrams, plain P1 telegrams and
 * Austrian DLMS pushes all end as ami_reading values.
 *   NUMBER   -> mantissa, scale = -decimals, unit text from the telegram
 *   EMPTY    -> AMI_VALUE_NONE
 *   TIME, TEXT, OBIS values -> AMI_VALUE_STRING (the text as written, a view into the telegram)
 *   the entry's capture time (unless a placeholder) -> r->time: local fields, deviation =
 *   -(minutes east of UTC) in the Blue Book sign, status AMI_CLOCK_DST for an 'S' timestamp;
 *   a timestamp without DST letter gets an unspecified deviation.
 * Returns AMI_OK, AMI_E_INVAL or AMI_E_TOO_LARGE (a unit longer than r->unit holds).
 * Thread-safe.
 */
AMI_EXTERN int ami_p1_entry_reading(const ami_p1_object *obj, const ami_p1_entry *e,
                                    ami_reading *r);

#ifdef __cplusplus
}
#endif
#endif
