/*
 * A-XDR decoding of COSEM Data (ami/axdr.h): lengths, decode into an arena tree, skip.
 *
 * One iterative walker serves decode and skip (skip passes no arena). Containers are frames on
 * an explicit stack of at most AMI_AXDR_MAX_DEPTH entries, so nothing the input says can make
 * the code recurse. Every declared length or count is checked against the configured limits
 * and against the bytes left before anything is done with it, and nodes are allocated one by
 * one as their bytes are read: a declared count never sizes memory.
 *
 * compact-array (Green Book 9.5, Data [19]):
 *     compact-array ::= SEQUENCE { contents-description TypeDescription,
 *                                  array-contents OCTET STRING }
 *     TypeDescription ::= CHOICE { <simple type tag alone>,
 *                                  array [1] SEQUENCE { number-of-elements Unsigned16,
 *                                                       type-description TypeDescription },
 *                                  structure [2] SEQUENCE OF TypeDescription }
 * The contents are values of the described type back to back, without their tags (strings
 * keep their length, arrays and structures have no count: the description gives it), until
 * the contents length is used up. The description is validated first and then interpreted
 * straight from its bytes while the contents are read; the reader is narrowed to the contents
 * so no element can read beyond them.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdalign.h>
#include <string.h>

#include "axdr/axdr_internal.h"

/* ---------------------------------------------------------------- tables */

void ami_axdr_limits_default(ami_axdr_limits *lim)
{
    lim->max_depth = 16;
    lim->max_nodes = 1000000;
    lim->max_length = 1u << 20;
}

const char *ami_axdr_type_name(uint8_t type)
{
    switch (type) {
    case AMI_AXDR_NULL_DATA:
        return "null-data";
    case AMI_AXDR_ARRAY:
        return "array";
    case AMI_AXDR_STRUCTURE:
        return "structure";
    case AMI_AXDR_BOOLEAN:
        return "boolean";
    case AMI_AXDR_BIT_STRING:
        return "bit-string";
    case AMI_AXDR_DOUBLE_LONG:
        return "double-long";
    case AMI_AXDR_DOUBLE_LONG_UNSIGNED:
        return "double-long-unsigned";
    case AMI_AXDR_OCTET_STRING:
        return "octet-string";
    case AMI_AXDR_VISIBLE_STRING:
        return "visible-string";
    case AMI_AXDR_UTF8_STRING:
        return "utf8-string";
    case AMI_AXDR_BCD:
        return "bcd";
    case AMI_AXDR_INTEGER:
        return "integer";
    case AMI_AXDR_LONG:
        return "long";
    case AMI_AXDR_UNSIGNED:
        return "unsigned";
    case AMI_AXDR_LONG_UNSIGNED:
        return "long-unsigned";
    case AMI_AXDR_COMPACT_ARRAY:
        return "compact-array";
    case AMI_AXDR_LONG64:
        return "long64";
    case AMI_AXDR_LONG64_UNSIGNED:
        return "long64-unsigned";
    case AMI_AXDR_ENUM:
        return "enum";
    case AMI_AXDR_FLOAT32:
        return "float32";
    case AMI_AXDR_FLOAT64:
        return "float64";
    case AMI_AXDR_DATE_TIME:
        return "date-time";
    case AMI_AXDR_DATE:
        return "date";
    case AMI_AXDR_TIME:
        return "time";
    case AMI_AXDR_DONT_CARE:
        return "dont-care";
    default:
        return "unknown";
    }
}

int ami__axdr_fixed_size(uint8_t type)
{
    switch (type) {
    case AMI_AXDR_NULL_DATA:
    case AMI_AXDR_DONT_CARE:
        return 0;
    case AMI_AXDR_BOOLEAN:
    case AMI_AXDR_BCD:
    case AMI_AXDR_INTEGER:
    case AMI_AXDR_UNSIGNED:
    case AMI_AXDR_ENUM:
        return 1;
    case AMI_AXDR_LONG:
    case AMI_AXDR_LONG_UNSIGNED:
        return 2;
    case AMI_AXDR_DOUBLE_LONG:
    case AMI_AXDR_DOUBLE_LONG_UNSIGNED:
    case AMI_AXDR_FLOAT32:
    case AMI_AXDR_TIME:
        return 4;
    case AMI_AXDR_DATE:
        return 5;
    case AMI_AXDR_LONG64:
    case AMI_AXDR_LONG64_UNSIGNED:
    case AMI_AXDR_FLOAT64:
        return 8;
    case AMI_AXDR_DATE_TIME:
        return 12;
    case AMI_AXDR_ARRAY:
    case AMI_AXDR_STRUCTURE:
    case AMI_AXDR_BIT_STRING:
    case AMI_AXDR_OCTET_STRING:
    case AMI_AXDR_VISIBLE_STRING:
    case AMI_AXDR_UTF8_STRING:
    case AMI_AXDR_COMPACT_ARRAY:
        return -1;
    default:
        return -2;
    }
}

double ami__axdr_f32_to_double(uint32_t bits)
{
    if ((bits & 0x7F800000u) == 0x7F800000u && (bits & 0x007FFFFFu)) {
        /* NaN: move the payload by hand; a float->double conversion would quiet it. */
        uint64_t d = (uint64_t)(bits >> 31) << 63 | UINT64_C(0x7FF) << 52 |
                     (uint64_t)(bits & 0x007FFFFFu) << 29;
        double x;
        memcpy(&x, &d, sizeof x);
        return x;
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return (double)f;
}

uint32_t ami__axdr_double_to_f32(double x)
{
    uint64_t d;
    memcpy(&d, &x, sizeof d);
    if ((d & UINT64_C(0x7FF0000000000000)) == UINT64_C(0x7FF0000000000000) &&
        (d & UINT64_C(0x000FFFFFFFFFFFFF))) {
        uint32_t payload = (uint32_t)(d >> 29) & 0x007FFFFFu;
        if (!payload)
            payload = 0x00400000u; /* a payload only in the low bits: keep it a (quiet) NaN */
        return (uint32_t)(d >> 63) << 31 | 0x7F800000u | payload;
    }
    float f = (float)x;
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    return bits;
}

/* ---------------------------------------------------------------- length */

int ami_axdr_get_length(ami_rd *r, size_t *n)
{
    size_t start = r->pos;
    uint8_t b;
    int rc = ami_rd_u8(r, &b);
    if (rc)
        return rc;
    if (b < 0x80) {
        *n = b;
        return AMI_OK;
    }
    unsigned k = b & 0x7Fu;
    if (k == 0 || k > 4) {
        r->pos = start;
        return AMI_E_MALFORMED; /* 0x80 (indefinite) is not A-XDR; more than 4 bytes */
    }
    if (ami_rd_left(r) < k) {
        r->pos = start;
        return AMI_E_TRUNCATED;
    }
    uint64_t v = 0;
    for (unsigned i = 0; i < k; i++)
        v = v << 8 | r->p[r->pos + i];
    /* A-XDR gives every length its shortest form (IEC 61334-6 clause 6.4 aims at minimal
     * encoding): a long form whose value fits a shorter one is rejected, which also keeps
     * decode -> encode byte-exact. */
    if (v < 0x80 || (k > 1 && v >> (8 * (k - 1)) == 0)) {
        r->pos = start;
        return AMI_E_MALFORMED;
    }
    if (v > SIZE_MAX) {
        r->pos = start;
        return AMI_E_MALFORMED;
    }
    r->pos += k;
    *n = (size_t)v;
    return AMI_OK;
}

/* ---------------------------------------------------------------- walker */

enum frame_kind {
    FR_TAGGED,  /* array or structure: every element carries its tag */
    FR_CTOP,    /* compact-array: elements of the description until the contents end */
    FR_CARRAY,  /* array inside compact contents: `left` elements of the description at `sub` */
    FR_CSTRUCT, /* structure inside compact contents: `left` fields, descriptions in sequence */
};

struct frame {
    ami_axdr_value *node; /* container being filled (NULL when skipping) */
    uint32_t left;        /* elements still to read (not FR_CTOP) */
    uint8_t kind;
    uint32_t elements; /* FR_CTOP: elements read so far */
    size_t sub;        /* FR_CARRAY: offset of the element description in the description */
    size_t elem_start; /* FR_CTOP: reader position where the current element began */
};

struct walker {
    ami_rd *r;
    ami_arena *a; /* NULL: skip (validate only) */
    unsigned max_depth;
    uint32_t max_nodes, max_length;
    uint32_t nodes;
    /* Inside compact-array contents: the validated description and the position in it. */
    bool compact;
    const uint8_t *desc;
    size_t desclen, dpos;
    size_t outer_len; /* reader length outside the contents (restored when they end) */
    unsigned depth;
    struct frame st[AMI_AXDR_MAX_DEPTH];
};

/*
 * ami_arena_alloc for one node, with the common case inline: when the next free byte is already
 * aligned for a node, take it directly (sizeof(ami_axdr_value) keeps it aligned for the next).
 */
static inline ami_axdr_value *node_alloc(ami_arena *a)
{
    if (a->cap - a->used >= sizeof(ami_axdr_value)) {
        uint8_t *p = a->buf + a->used;
        if ((uintptr_t)p % alignof(max_align_t) == 0) {
            a->used += sizeof(ami_axdr_value);
            return memset(p, 0, sizeof(ami_axdr_value));
        }
    }
    return ami_arena_alloc(a, sizeof(ami_axdr_value));
}

static int new_node(struct walker *w, uint8_t type, ami_axdr_value **out)
{
    *out = NULL;
    if (w->nodes >= w->max_nodes)
        return AMI_E_TOO_LARGE;
    w->nodes++;
    if (w->a) {
        ami_axdr_value *v = node_alloc(w->a);
        if (!v)
            return AMI_E_NOMEM;
        v->type = type;
        *out = v;
    }
    return AMI_OK;
}

static void link_child(ami_axdr_value *parent, ami_axdr_value *child)
{
    if (!parent || !child)
        return;
    if (parent->last)
        parent->last->next = child;
    else
        parent->child = child;
    parent->last = child;
}

/* A length that must also fit the limit: TOO_LARGE before anything else is looked at. */
static int get_bounded_length(struct walker *w, size_t *n)
{
    int rc = ami_axdr_get_length(w->r, n);
    if (rc)
        return rc;
    if (*n > w->max_length)
        return AMI_E_TOO_LARGE;
    return AMI_OK;
}

/*
 * Validates the TypeDescription at the reader (Green Book 9.5) and, when building, turns it into
 * a tree hung on ca->type_desc. Iterative; its nesting counts towards the depth limit as the
 * values it describes will. On success *start and *len give its bytes.
 */
static int parse_desc(struct walker *w, ami_axdr_value *ca, size_t *start, size_t *len)
{
    struct {
        ami_axdr_value *node;
        uint32_t left;
    } st[AMI_AXDR_MAX_DEPTH];
    unsigned d = 0;
    ami_rd *r = w->r;
    *start = r->pos;
    for (;;) {
        uint8_t t;
        int rc = ami_rd_u8(r, &t);
        if (rc)
            return rc;
        int fs = ami__axdr_fixed_size(t);
        if (fs == -2 || t == AMI_AXDR_COMPACT_ARRAY)
            return AMI_E_MALFORMED; /* not a type that a description may name */
        ami_axdr_value *v;
        rc = new_node(w, t, &v);
        if (rc)
            return rc;
        if (d) {
            link_child(st[d - 1].node, v);
            st[d - 1].left--;
        } else if (ca) {
            ca->type_desc = v;
        }
        uint32_t n = 0;
        /* The compact-array sits at depth w->depth + 1, this container one below. */
        if ((t == AMI_AXDR_ARRAY || t == AMI_AXDR_STRUCTURE) && w->depth + 2 + d > w->max_depth)
            return AMI_E_TOO_DEEP;
        if (t == AMI_AXDR_ARRAY) {
            uint16_t c;
            if ((rc = ami_rd_u16be(r, &c)) != AMI_OK)
                return rc;
            if (c > w->max_length)
                return AMI_E_TOO_LARGE;
            n = 1; /* one element description follows */
            if (v)
                v->count = c;
        } else if (t == AMI_AXDR_STRUCTURE) {
            size_t c;
            if ((rc = get_bounded_length(w, &c)) != AMI_OK)
                return rc;
            if (c > ami_rd_left(r))
                return AMI_E_TRUNCATED; /* each field description takes a byte at least */
            n = (uint32_t)c;
            if (v)
                v->count = n;
        }
        if (n) {
            st[d].node = v;
            st[d].left = n;
            d++;
        }
        while (d && st[d - 1].left == 0)
            d--;
        if (!d)
            break;
    }
    *len = r->pos - *start;
    return AMI_OK;
}

/* Skips one (validated) description starting at *pos, without recursion. */
static void desc_skip(const uint8_t *desc, size_t desclen, size_t *pos)
{
    size_t p = *pos;
    uint64_t pending = 1;
    while (pending && p < desclen) {
        uint8_t t = desc[p++];
        pending--;
        if (t == AMI_AXDR_ARRAY) {
            p += 2;
            pending++;
        } else if (t == AMI_AXDR_STRUCTURE) {
            ami_rd r;
            size_t n = 0;
            ami_rd_init(&r, desc + p, desclen - p);
            (void)ami_axdr_get_length(&r, &n); /* validated by parse_desc */
            p += r.pos;
            pending += n;
        }
    }
    *pos = p;
}

static int push(struct walker *w, ami_axdr_value *node, uint8_t kind, uint32_t left)
{
    if (w->depth >= w->max_depth)
        return AMI_E_TOO_DEEP;
    struct frame *f = &w->st[w->depth++];
    memset(f, 0, sizeof *f);
    f->node = node;
    f->kind = kind;
    f->left = left;
    return AMI_OK;
}

/* Reads the contents of a value of type t (its tag, if any, already read) into v (may be NULL). */
static int read_contents(struct walker *w, uint8_t t, ami_axdr_value *v)
{
    ami_rd *r = w->r;
    int rc = AMI_OK;
    union {
        uint8_t u8;
        uint16_t u16;
        uint32_t u32;
        uint64_t u64;
    } x;
    size_t n;
    const uint8_t *p;
    ami_axdr_value scratch; /* skip: written, never read */
    if (!v)
        v = &scratch;
    switch (t) {
    case AMI_AXDR_NULL_DATA:
    case AMI_AXDR_DONT_CARE:
        return AMI_OK;
    case AMI_AXDR_BOOLEAN: /* the byte as received: FALSE 0x00, TRUE any other (see axdr.h) */
    case AMI_AXDR_BCD:
    case AMI_AXDR_UNSIGNED:
    case AMI_AXDR_ENUM:
        if ((rc = ami_rd_u8(r, &x.u8)) != AMI_OK)
            return rc;
        v->v.u = x.u8;
        return AMI_OK;
    case AMI_AXDR_INTEGER:
        if ((rc = ami_rd_u8(r, &x.u8)) != AMI_OK)
            return rc;
        v->v.i = (int8_t)x.u8;
        return AMI_OK;
    case AMI_AXDR_LONG:
        if ((rc = ami_rd_u16be(r, &x.u16)) != AMI_OK)
            return rc;
        v->v.i = (int16_t)x.u16;
        return AMI_OK;
    case AMI_AXDR_LONG_UNSIGNED:
        if ((rc = ami_rd_u16be(r, &x.u16)) != AMI_OK)
            return rc;
        v->v.u = x.u16;
        return AMI_OK;
    case AMI_AXDR_DOUBLE_LONG:
        if ((rc = ami_rd_u32be(r, &x.u32)) != AMI_OK)
            return rc;
        v->v.i = (int32_t)x.u32;
        return AMI_OK;
    case AMI_AXDR_DOUBLE_LONG_UNSIGNED:
        if ((rc = ami_rd_u32be(r, &x.u32)) != AMI_OK)
            return rc;
        v->v.u = x.u32;
        return AMI_OK;
    case AMI_AXDR_LONG64:
        if ((rc = ami_rd_u64be(r, &x.u64)) != AMI_OK)
            return rc;
        v->v.i = (int64_t)x.u64;
        return AMI_OK;
    case AMI_AXDR_LONG64_UNSIGNED:
        if ((rc = ami_rd_u64be(r, &x.u64)) != AMI_OK)
            return rc;
        v->v.u = x.u64;
        return AMI_OK;
    case AMI_AXDR_FLOAT32:
        if ((rc = ami_rd_u32be(r, &x.u32)) != AMI_OK)
            return rc;
        v->v.f = ami__axdr_f32_to_double(x.u32);
        return AMI_OK;
    case AMI_AXDR_FLOAT64:
        if ((rc = ami_rd_u64be(r, &x.u64)) != AMI_OK)
            return rc;
        memcpy(&v->v.f, &x.u64, sizeof v->v.f);
        return AMI_OK;
    case AMI_AXDR_DATE_TIME:
    case AMI_AXDR_DATE:
    case AMI_AXDR_TIME:
        n = (size_t)ami__axdr_fixed_size(t);
        if ((rc = ami_rd_view(r, n, &p)) != AMI_OK)
            return rc;
        v->v.bytes = p;
        v->count = (uint32_t)n;
        return AMI_OK;
    case AMI_AXDR_OCTET_STRING:
    case AMI_AXDR_VISIBLE_STRING:
    case AMI_AXDR_UTF8_STRING:
        if ((rc = get_bounded_length(w, &n)) != AMI_OK)
            return rc;
        if ((rc = ami_rd_view(r, n, &p)) != AMI_OK)
            return rc;
        v->v.bytes = p;
        v->count = (uint32_t)n;
        return AMI_OK;
    case AMI_AXDR_BIT_STRING: {
        /* The length counts bits; the bytes follow, first bit in the MSB (Green Book 9.5). */
        size_t bits;
        if ((rc = ami_axdr_get_length(r, &bits)) != AMI_OK)
            return rc;
        n = bits / 8 + (bits % 8 != 0);
        if (n > w->max_length)
            return AMI_E_TOO_LARGE;
        if ((rc = ami_rd_view(r, n, &p)) != AMI_OK)
            return rc;
        v->v.bytes = p;
        v->count = (uint32_t)bits;
        return AMI_OK;
    }
    default:
        return AMI_E_MALFORMED; /* unknown tag */
    }
}

/* Starts a value of type t whose tag (or description entry) has been consumed. */
static int start_value(struct walker *w, uint8_t t, ami_axdr_value *v)
{
    ami_rd *r = w->r;
    int rc;
    if (t == AMI_AXDR_ARRAY || t == AMI_AXDR_STRUCTURE) {
        uint32_t count;
        uint8_t kind;
        if (w->depth >= w->max_depth)
            return AMI_E_TOO_DEEP; /* empty containers count as a level too */
        if (!w->compact) {
            size_t n;
            if ((rc = get_bounded_length(w, &n)) != AMI_OK)
                return rc;
            if (n > ami_rd_left(r))
                return AMI_E_TRUNCATED; /* every element takes one byte at least */
            count = (uint32_t)n;
            kind = FR_TAGGED;
        } else if (t == AMI_AXDR_ARRAY) {
            count = ami_dec16be(w->desc + w->dpos);
            w->dpos += 2;
            kind = FR_CARRAY;
        } else {
            ami_rd d;
            size_t n;
            ami_rd_init(&d, w->desc + w->dpos, w->desclen - w->dpos);
            if ((rc = ami_axdr_get_length(&d, &n)) != AMI_OK)
                return AMI_E_INTERNAL; /* validated by parse_desc */
            w->dpos += d.pos;
            count = (uint32_t)n;
            kind = FR_CSTRUCT;
        }
        if (v)
            v->count = count;
        if (kind == FR_CARRAY && count == 0) {
            desc_skip(w->desc, w->desclen, &w->dpos); /* no element walks the element description */
            return AMI_OK;
        }
        if (count == 0)
            return AMI_OK;
        if ((rc = push(w, v, kind, count)) != AMI_OK)
            return rc;
        if (kind == FR_CARRAY)
            w->st[w->depth - 1].sub = w->dpos;
        return AMI_OK;
    }
    if (t == AMI_AXDR_COMPACT_ARRAY) {
        size_t dstart, dlen, clen;
        if (w->compact)
            return AMI_E_MALFORMED; /* descriptions cannot name compact-array */
        if (w->depth >= w->max_depth)
            return AMI_E_TOO_DEEP;
        if ((rc = parse_desc(w, v, &dstart, &dlen)) != AMI_OK)
            return rc;
        if ((rc = get_bounded_length(w, &clen)) != AMI_OK)
            return rc;
        if ((rc = ami_rd_need(r, clen)) != AMI_OK)
            return rc;
        if (clen == 0)
            return AMI_OK;
        if ((rc = push(w, v, FR_CTOP, 0)) != AMI_OK)
            return rc;
        w->st[w->depth - 1].elem_start = r->pos;
        w->compact = true;
        w->desc = r->p + dstart;
        w->desclen = dlen;
        w->dpos = 0;
        w->outer_len = r->len;
        r->len = r->pos + clen; /* narrowed to the contents */
        return AMI_OK;
    }
    rc = read_contents(w, t, v);
    if (rc == AMI_E_TRUNCATED && w->compact)
        rc = AMI_E_MALFORMED; /* the contents end inside an element */
    return rc;
}

static int walk(struct walker *w, ami_axdr_value **out)
{
    ami_rd *r = w->r;
    ami_axdr_value *root = NULL;
    for (;;) {
        /* One value: its type from its tag, or from the description inside compact contents. */
        uint8_t t;
        int rc;
        if (!w->compact) {
            if ((rc = ami_rd_u8(r, &t)) != AMI_OK)
                return rc;
        } else {
            t = w->desc[w->dpos++];
        }
        ami_axdr_value *v;
        if ((rc = new_node(w, t, &v)) != AMI_OK)
            return rc;
        if (w->depth) {
            struct frame *f = &w->st[w->depth - 1];
            link_child(f->node, v);
            if (f->kind == FR_CTOP) {
                f->elements++;
                if (f->node)
                    f->node->count = f->elements;
            } else {
                f->left--;
            }
        } else {
            root = v;
        }
        if ((rc = start_value(w, t, v)) != AMI_OK)
            return rc;

        /* Close every container that is complete, then set up the next element. */
        for (;;) {
            if (!w->depth) {
                if (out)
                    *out = root;
                return AMI_OK;
            }
            struct frame *f = &w->st[w->depth - 1];
            if (f->kind == FR_CTOP) {
                if (ami_rd_left(r) == 0) {
                    r->len = w->outer_len;
                    w->compact = false;
                    w->depth--;
                    continue;
                }
                if (f->elements && r->pos == f->elem_start)
                    return AMI_E_MALFORMED; /* zero-size elements cannot fill the contents */
                if (f->elements >= w->max_length)
                    return AMI_E_TOO_LARGE;
                f->elem_start = r->pos;
                w->dpos = 0;
                break;
            }
            if (f->left == 0) {
                w->depth--;
                continue;
            }
            if (f->kind == FR_CARRAY)
                w->dpos = f->sub;
            break;
        }
    }
}

static int run(ami_rd *r, ami_arena *a, const ami_axdr_limits *lim, ami_axdr_value **out)
{
    struct walker w;
    ami_axdr_limits def;
    if (!r)
        return AMI_E_INVAL;
    if (!lim) {
        ami_axdr_limits_default(&def);
        lim = &def;
    }
    memset(&w, 0, offsetof(struct walker, st));
    w.r = r;
    w.a = a;
    w.max_depth = lim->max_depth < AMI_AXDR_MAX_DEPTH ? lim->max_depth : AMI_AXDR_MAX_DEPTH;
    w.max_nodes = lim->max_nodes;
    w.max_length = lim->max_length;
    size_t len = r->len;
    int rc = walk(&w, out);
    if (w.compact)
        r->len = len; /* failed inside compact contents: undo the narrowing */
    return rc;
}

int ami_axdr_decode(ami_rd *r, ami_arena *a, const ami_axdr_limits *lim, ami_axdr_value **out)
{
    if (!a || !out)
        return AMI_E_INVAL;
    ami_axdr_value *v = NULL;
    int rc = run(r, a, lim, &v);
    if (rc == AMI_OK)
        *out = v;
    return rc;
}

int ami_axdr_skip(ami_rd *r, const ami_axdr_limits *lim)
{
    return run(r, NULL, lim, NULL);
}
