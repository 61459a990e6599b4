/*
 * A-XDR encoding of COSEM data (IEC 61334-6 A-XDR as used by DLMS UA Green Book 9.5,
 * "Data ::= CHOICE" of the xDLMS ASN.1). Decoded values form a tree whose nodes come from a
 * caller-provided arena; strings are zero-copy views into the input buffer, so the input must
 * outlive the tree. Decoding is iterative (no recursion), bounded by ami_axdr_limits.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_AXDR_H
#define AMI_AXDR_H

#include <stdbool.h>

#include "ami/arena.h"
#include "ami/bytes.h"
#include "ami/datetime.h"
#include "ami/json.h"
#include "ami/obis.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The Data CHOICE tags (Green Book 9.5, Blue Book 4.1.5). */
enum ami_axdr_type {
    AMI_AXDR_NULL_DATA = 0,
    AMI_AXDR_ARRAY = 1,
    AMI_AXDR_STRUCTURE = 2,
    AMI_AXDR_BOOLEAN = 3,
    AMI_AXDR_BIT_STRING = 4,
    AMI_AXDR_DOUBLE_LONG = 5,          /* int32 */
    AMI_AXDR_DOUBLE_LONG_UNSIGNED = 6, /* uint32 */
    AMI_AXDR_OCTET_STRING = 9,
    AMI_AXDR_VISIBLE_STRING = 10,
    AMI_AXDR_UTF8_STRING = 12,
    AMI_AXDR_BCD = 13,           /* one byte */
    AMI_AXDR_INTEGER = 15,       /* int8 */
    AMI_AXDR_LONG = 16,          /* int16 */
    AMI_AXDR_UNSIGNED = 17,      /* uint8 */
    AMI_AXDR_LONG_UNSIGNED = 18, /* uint16 */
    AMI_AXDR_COMPACT_ARRAY = 19,
    AMI_AXDR_LONG64 = 20,
    AMI_AXDR_LONG64_UNSIGNED = 21,
    AMI_AXDR_ENUM = 22,      /* uint8 */
    AMI_AXDR_FLOAT32 = 23,   /* IEEE 754 single, big-endian */
    AMI_AXDR_FLOAT64 = 24,   /* IEEE 754 double, big-endian */
    AMI_AXDR_DATE_TIME = 25, /* 12 bytes, see ami/datetime.h */
    AMI_AXDR_DATE = 26,      /* 5 bytes */
    AMI_AXDR_TIME = 27,      /* 4 bytes */
    AMI_AXDR_DONT_CARE = 255,
};

/*
 * One decoded value.
 *  - integers (BOOLEAN, BCD, ENUM and every signed/unsigned width): v.i (signed types) or
 *    v.u (unsigned types; BOOLEAN, BCD and ENUM as the raw byte). A BOOLEAN is FALSE when 0 and
 *    TRUE for any other byte: A-XDR encodes BOOLEAN like BER (X.690 8.2.2, TRUE is any non-zero
 *    octet at the sender's option) and real servers send values such as 0x03, so test
 *    `v.u != 0`; keeping the byte makes decode -> encode byte-exact;
 *  - OCTET/VISIBLE/UTF8_STRING: v.bytes, `count` bytes; BIT_STRING: v.bytes, `count` bits
 *    ((count + 7) / 8 bytes, first bit in the MSB); DATE_TIME/DATE/TIME: v.bytes, 12/5/4 bytes;
 *  - ARRAY/STRUCTURE: `count` elements, first at `child`, linked by `next`;
 *  - FLOAT32/FLOAT64: v.f (a float32 NaN keeps its payload bit for bit through decode and
 *    encode, signalling NaNs included);
 *  - COMPACT_ARRAY: decoded into `count` elements like an ARRAY (each element an ordinary value
 *    tree of the described type); `type_desc` points at the element type description, a tree
 *    of values whose `type` fields give the types: an ARRAY description has `count` = number of
 *    elements and one `child`, the element description; a STRUCTURE description has `count`
 *    fields as children; any other description is a simple type.
 */
typedef struct ami_axdr_value ami_axdr_value;
struct ami_axdr_value {
    uint8_t type;   /* enum ami_axdr_type */
    uint32_t count; /* see above */
    union {
        int64_t i;
        uint64_t u;
        double f;
        const uint8_t *bytes;
    } v;
    ami_axdr_value *child;     /* first element (containers) */
    ami_axdr_value *next;      /* next sibling */
    ami_axdr_value *last;      /* last element (containers; kept by the builders) */
    ami_axdr_value *type_desc; /* COMPACT_ARRAY only */
};

/* Hard ceiling of the nesting depth, whatever the limits say. */
#define AMI_AXDR_MAX_DEPTH 64

typedef struct ami_axdr_limits {
    unsigned max_depth;  /* containers nested at most this deep (<= AMI_AXDR_MAX_DEPTH) */
    uint32_t max_nodes;  /* values decoded at most */
    uint32_t max_length; /* longest string or element count accepted */
} ami_axdr_limits;

/* Defaults: depth 16, 1,000,000 nodes, length 1 MiB (1,048,576). */
AMI_EXTERN void ami_axdr_limits_default(ami_axdr_limits *lim);

/* "double-long-unsigned" etc. (Green Book names); "unknown" for other values. Never NULL. */
AMI_EXTERN const char *ami_axdr_type_name(uint8_t type);

/*
 * A-XDR length (Green Book 9.5, BER-style): 0..127 in one byte, else 0x81..0x84 followed by 1 to
 * 4 big-endian bytes.
 * get: reads one length at r and advances past it. Returns AMI_OK, AMI_E_TRUNCATED (the input
 * ends inside it), AMI_E_MALFORMED (0x80, more than 4 length bytes, a long form whose value
 * fits a shorter form, or a length that does not fit size_t). On error r does not move.
 * put: writes n in its shortest form; a length above 0xFFFFFFFF sets the writer's sticky error
 * to AMI_E_RANGE.
 */
AMI_EXTERN int ami_axdr_get_length(ami_rd *r, size_t *n);
AMI_EXTERN void ami_axdr_put_length(ami_wr *w, size_t n);

/*
 * Decodes one Data value at the reader's position and advances past it. Nodes come from `a`;
 * strings point into the reader's buffer. lim may be NULL (defaults).
 * Returns AMI_OK, or: AMI_E_TRUNCATED (input ends inside the value), AMI_E_MALFORMED (unknown
 * tag, bad length form, a compact-array whose contents disagree
 * with its description or whose description names compact-array or an unknown type),
 * AMI_E_TOO_DEEP (containers nested deeper than lim->max_depth; a compact-array's description
 * counts as the values it describes), AMI_E_TOO_LARGE (more than lim->max_nodes values, or a
 * string, bit-string byte size or element count above lim->max_length), AMI_E_NOMEM (arena
 * full), AMI_E_INVAL (NULL r, a or out). A declared length or count is checked against the
 * limits and the bytes left before it is used; nothing is preallocated from it. The type
 * description nodes of compact-arrays count towards max_nodes. On error the reader's position
 * is unspecified, *out is not set, and the arena may hold nodes of the partial tree (reset it).
 * Thread-safe for distinct arguments.
 */
AMI_EXTERN int ami_axdr_decode(ami_rd *r, ami_arena *a, const ami_axdr_limits *lim,
                               ami_axdr_value **out);

/*
 * Validates one Data value and advances past it without building anything: it accepts exactly
 * what ami_axdr_decode accepts (AMI_E_NOMEM aside) and consumes the same bytes. Same errors.
 */
AMI_EXTERN int ami_axdr_skip(ami_rd *r, const ami_axdr_limits *lim);

/*
 * Encodes a value tree (iteratively; depth bounded by AMI_AXDR_MAX_DEPTH), tags included.
 * Container counts must match their elements; a compact-array's elements must match its
 * type_desc (as decoded: arrays of the described count, structures of the described fields)
 * and each take one byte at least (the contents have no count, so zero-size elements such as
 * null-data would be lost); DATE_TIME/DATE/TIME need count 12/5/4. Returns AMI_OK, AMI_E_INVAL
 * (inconsistent tree, unknown type, NULL argument), AMI_E_RANGE (an integer that does not fit its
 * type, an array description count above 65535), AMI_E_TOO_DEEP, or the writer's AMI_E_NOSPACE.
 * Output written before an error stays in the writer. Thread-safe for distinct arguments; a writer
 * with a NULL buffer measures the encoding.
 */
AMI_EXTERN int ami_axdr_encode(ami_wr *w, const ami_axdr_value *v);

/*
 * Builders: a new zeroed value of `type` from the arena (NULL when the arena is full or a is
 * NULL). The _int/_uint/_bytes forms also set v.i / v.u / (v.bytes, count); bytes are not
 * copied and must outlive the tree.
 * ami_axdr_append links child as the last element of an ARRAY, STRUCTURE or COMPACT_ARRAY and
 * increments its count. Returns AMI_OK, AMI_E_INVAL (NULL, not a container) or AMI_E_RANGE.
 */
AMI_EXTERN ami_axdr_value *ami_axdr_new(ami_arena *a, uint8_t type);
AMI_EXTERN ami_axdr_value *ami_axdr_new_int(ami_arena *a, uint8_t type, int64_t value);
AMI_EXTERN ami_axdr_value *ami_axdr_new_uint(ami_arena *a, uint8_t type, uint64_t value);
AMI_EXTERN ami_axdr_value *ami_axdr_new_bytes(ami_arena *a, uint8_t type, const void *bytes,
                                              uint32_t count);
AMI_EXTERN int ami_axdr_append(ami_axdr_value *container, ami_axdr_value *child);

/*
 * Typed getters, for reading decoded values without switching on the type.
 * is_signed: INTEGER, LONG, DOUBLE_LONG, LONG64. is_unsigned: UNSIGNED, LONG_UNSIGNED,
 * DOUBLE_LONG_UNSIGNED, LONG64_UNSIGNED, ENUM, BOOLEAN, BCD (raw byte).
 * get_i64 / get_u64: any integer type; AMI_E_RANGE when the value does not fit (a negative
 * value as u64, a u64 above INT64_MAX as i64). get_double: integers and floats.
 * get_bytes: the bytes of a value of exactly `type` (octet/visible/utf8-string, date-time,
 * date, time). Each returns AMI_OK, AMI_E_TYPE (another type) or AMI_E_INVAL (NULL argument).
 * ami_axdr_child: element `index` of a container (O(index)), or NULL.
 */
AMI_EXTERN bool ami_axdr_is_signed(uint8_t type);
AMI_EXTERN bool ami_axdr_is_unsigned(uint8_t type);
AMI_EXTERN int ami_axdr_get_i64(const ami_axdr_value *v, int64_t *out);
AMI_EXTERN int ami_axdr_get_u64(const ami_axdr_value *v, uint64_t *out);
AMI_EXTERN int ami_axdr_get_double(const ami_axdr_value *v, double *out);
AMI_EXTERN int ami_axdr_get_bytes(const ami_axdr_value *v, uint8_t type, const uint8_t **bytes,
                                  size_t *n);
AMI_EXTERN const ami_axdr_value *ami_axdr_child(const ami_axdr_value *v, uint32_t index);

/*
 * get_bool: a BOOLEAN (TRUE for any non-zero byte). get_obis: an octet-string of exactly 6
 * bytes (a logical name, Blue Book 4.1.8.1) as an OBIS code. get_datetime: a DATE_TIME, or an
 * octet-string of exactly 12 bytes (how profile buffers and the clock carry date-times),
 * decoded with ami_datetime_decode. Each returns AMI_OK, AMI_E_TYPE (another type or length),
 * AMI_E_INVAL (NULL argument), and get_datetime also AMI_E_RANGE (a field out of range).
 */
AMI_EXTERN int ami_axdr_get_bool(const ami_axdr_value *v, bool *out);
AMI_EXTERN int ami_axdr_get_obis(const ami_axdr_value *v, ami_obis *out);
AMI_EXTERN int ami_axdr_get_datetime(const ami_axdr_value *v, ami_datetime *out);

/*
 * Renders a value as readable indented text through a sink (used by `ami axdr`, `ami decode`
 * and --trace): one element per line, indented two spaces per level, "type value" with the
 * Green Book type names, integers in decimal, containers as "structure[4]", compact-arrays as
 * "compact-array[96] of structure{...}". Octet-strings are shown in hex followed by a reading
 * where one fits: a 12-byte valid date-time, a 6-byte OBIS-looking code (group A 0..15) or
 * printable text; date-time/date/time values in hex and as ami_datetime_format shows them.
 * Output is buffered (512 bytes) and written in a few sink calls.
 * Returns AMI_OK, the sink's first error, AMI_E_INVAL (NULL argument, unknown type, counts that
 * disagree with the elements) or AMI_E_TOO_DEEP (a tree nested deeper than AMI_AXDR_MAX_DEPTH).
 * Iterative; thread-safe for distinct arguments.
 */
AMI_EXTERN int ami_axdr_format_text(const ami_axdr_value *v, ami_jw_sink sink, void *user);

/*
 * Renders a value as one JSON object, losslessly: {"type":"long-unsigned","value":230} for
 * scalars; "value" a list for containers; octet-strings as hex with an optional "date_time",
 * "obis" or "text" reading; date-time/date/time with "value" ISO 8601 where fully specified
 * (else null), "text" (readable) and "hex" always; floats with their "hex" bits; booleans with
 * a "raw" byte when not 0/1; compact-arrays with their "description". docs/axdr.md has the
 * full shape. Errors go to the writer's sticky error: AMI_E_INVAL (as for format_text),
 * AMI_E_TOO_DEEP (each container takes two JSON levels: AMI_JW_MAX_DEPTH (136) holds every tree
 * the decoder accepts, AMI_AXDR_MAX_DEPTH containers at the writer's top level, with 8 levels
 * to spare for an envelope), or the sink's error. Iterative; thread-safe for distinct
 * arguments.
 */
AMI_EXTERN void ami_axdr_to_json(const ami_axdr_value *v, ami_jw *w);

#ifdef __cplusplus
}
#endif
#endif
