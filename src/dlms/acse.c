/*
 * ACSE APDUs (AARQ, AARE, RLRQ, RLRE) in the BER profile of the DLMS UA Green Book 9.3/9.4.2.
 * See ami/acse.h for the field layout.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "ami/acse.h"

#include "dlms/ber.h"

/* 2.16.756.5.8 as BER: 60 85 74 05 08, then the arc (1 = context, 2 = mechanism), then x. */
static const uint8_t dlms_ua_oid[5] = {0x60, 0x85, 0x74, 0x05, 0x08};

/* ---------------------------------------------------------------- BER primitives */

int ami__ber_get_length(ami_rd *r, size_t *n)
{
    uint8_t b;
    int rc = ami_rd_u8(r, &b);
    if (rc)
        return rc;
    if (b < 0x80) {
        *n = b;
        return AMI_OK;
    }
    unsigned k = b & 0x7F;
    /* 0x80 is the indefinite form, not allowed in the DLMS profile. */
    if (k == 0 || k > 4)
        return AMI_E_MALFORMED;
    size_t v = 0;
    for (unsigned i = 0; i < k; i++) {
        if ((rc = ami_rd_u8(r, &b)))
            return rc;
        v = v << 8 | b;
    }
    *n = v;
    return AMI_OK;
}

void ami__ber_put_length(ami_wr *w, size_t n)
{
    if (n < 0x80) {
        ami_wr_u8(w, (uint8_t)n);
    } else if (n <= 0xFF) {
        ami_wr_u8(w, 0x81);
        ami_wr_u8(w, (uint8_t)n);
    } else if (n <= 0xFFFF) {
        ami_wr_u8(w, 0x82);
        ami_wr_u16be(w, (uint16_t)n);
    } else {
        ami_wr_u8(w, 0x84);
        ami_wr_u32be(w, (uint32_t)n);
    }
}

size_t ami__ber_length_size(size_t n)
{
    return n < 0x80 ? 1 : n <= 0xFF ? 2 : n <= 0xFFFF ? 3 : 5;
}

int ami__ber_get_tlv(ami_rd *r, uint8_t *tag, ami_rd *content)
{
    int rc = ami_rd_u8(r, tag);
    if (rc)
        return rc;
    /* Multi-byte tags (low 5 bits all set) do not occur in the DLMS profile except as 0x1F
     * inside application tags we never read here. */
    if ((*tag & 0x1F) == 0x1F)
        return AMI_E_MALFORMED;
    size_t n;
    if ((rc = ami__ber_get_length(r, &n)))
        return rc;
    return ami_rd_sub(r, n, content);
}

/* Reads one TLV inside `in` that must have tag `want` and fill `in` exactly. */
static int get_only(ami_rd *in, uint8_t want, ami_rd *content)
{
    uint8_t tag;
    int rc = ami__ber_get_tlv(in, &tag, content);
    if (rc)
        return rc == AMI_E_TRUNCATED ? AMI_E_MALFORMED : rc;
    if (tag != want || ami_rd_left(in))
        return AMI_E_MALFORMED;
    return AMI_OK;
}

/* An OBJECT IDENTIFIER of the DLMS UA tree, arc `arc`, last component in *x. */
static int get_dlms_oid(ami_rd *c, uint8_t arc, uint8_t *x)
{
    if (ami_rd_left(c) != 7 || memcmp(ami_rd_ptr(c), dlms_ua_oid, 5) != 0 ||
        c->p[c->pos + 5] != arc || c->p[c->pos + 6] > 0x7F)
        return AMI_E_MALFORMED;
    *x = c->p[c->pos + 6];
    c->pos = c->len;
    return AMI_OK;
}

static void put_dlms_oid(ami_wr *w, uint8_t arc, uint8_t x)
{
    ami_wr_bytes(w, dlms_ua_oid, sizeof dlms_ua_oid);
    ami_wr_u8(w, arc);
    ami_wr_u8(w, x);
}

/* INTEGER of 1..4 bytes (two's complement). */
static int get_int32(ami_rd *c, int32_t *v)
{
    size_t n = ami_rd_left(c);
    if (n == 0)
        return AMI_E_MALFORMED;
    if (n > 4)
        return AMI_E_RANGE;
    uint32_t u = (c->p[c->pos] & 0x80) ? UINT32_MAX : 0;
    for (size_t i = 0; i < n; i++)
        u = u << 8 | c->p[c->pos + i];
    *v = (int32_t)u;
    c->pos = c->len;
    return AMI_OK;
}

static size_t int32_size(int32_t v)
{
    size_t n = 1;
    while (n < 4) {
        int64_t lo = -((int64_t)1 << (8 * n - 1)), hi = ((int64_t)1 << (8 * n - 1)) - 1;
        if (v >= lo && v <= hi)
            break;
        n++;
    }
    return n;
}

static void put_int32(ami_wr *w, int32_t v)
{
    size_t n = int32_size(v);
    for (size_t i = n; i-- > 0;)
        ami_wr_u8(w, (uint8_t)((uint32_t)v >> (8 * i)));
}

/* ---------------------------------------------------------------- field helpers */

/* [n] EXPLICIT OCTET STRING (AP titles, AE qualifiers in the DLMS profile). */
static int get_octets(ami_rd *c, ami_view *v)
{
    ami_rd in;
    int rc = get_only(c, 0x04, &in);
    if (rc)
        return rc;
    v->p = ami_rd_ptr(&in);
    v->len = ami_rd_left(&in);
    return AMI_OK;
}

static void put_octets(ami_wr *w, uint8_t tag, ami_view v)
{
    ami_wr_u8(w, tag);
    ami__ber_put_length(w, 1 + ami__ber_length_size(v.len) + v.len);
    ami_wr_u8(w, 0x04);
    ami__ber_put_length(w, v.len);
    ami_wr_bytes(w, v.p, v.len);
}

/* [n] EXPLICIT INTEGER (invocation identifiers; result; diagnostic). */
static int get_explicit_int(ami_rd *c, int32_t *v)
{
    ami_rd in;
    int rc = get_only(c, 0x02, &in);
    if (rc)
        return rc;
    return get_int32(&in, v);
}

static void put_explicit_int(ami_wr *w, uint8_t tag, int32_t v)
{
    size_t n = int32_size(v);
    ami_wr_u8(w, tag);
    ami_wr_u8(w, (uint8_t)(2 + n));
    ami_wr_u8(w, 0x02);
    ami_wr_u8(w, (uint8_t)n);
    put_int32(w, v);
}

/* ACSE-requirements / protocol-version: BIT STRING, unused-bits byte then bits. */
static int get_bits(ami_rd *c, bool *first_bit)
{
    size_t n = ami_rd_left(c);
    if (n < 2 || c->p[c->pos] > 7)
        return AMI_E_MALFORMED;
    *first_bit = (c->p[c->pos + 1] & 0x80) != 0;
    c->pos = c->len;
    return AMI_OK;
}

static void put_bits(ami_wr *w, uint8_t tag, bool first_bit)
{
    ami_wr_u8(w, tag);
    ami_wr_u8(w, 2);
    ami_wr_u8(w, 7);
    ami_wr_u8(w, first_bit ? 0x80 : 0x00);
}

/* Authentication-value ::= CHOICE { charstring [0] GraphicString, bitstring [1] BIT STRING }. */
static int get_auth(ami_rd *c, ami_acse_common *a)
{
    uint8_t tag;
    ami_rd in;
    int rc = ami__ber_get_tlv(c, &tag, &in);
    if (rc)
        return rc == AMI_E_TRUNCATED ? AMI_E_MALFORMED : rc;
    if ((tag != 0x80 && tag != 0x81) || ami_rd_left(c))
        return AMI_E_MALFORMED;
    a->has_auth_value = true;
    a->auth_kind = (uint8_t)(tag - 0x80);
    a->auth_value.p = ami_rd_ptr(&in);
    a->auth_value.len = ami_rd_left(&in);
    return AMI_OK;
}

static void put_auth(ami_wr *w, uint8_t tag, const ami_acse_common *a)
{
    ami_wr_u8(w, tag);
    ami__ber_put_length(w, 1 + ami__ber_length_size(a->auth_value.len) + a->auth_value.len);
    ami_wr_u8(w, (uint8_t)(0x80 + a->auth_kind));
    ami__ber_put_length(w, a->auth_value.len);
    ami_wr_bytes(w, a->auth_value.p, a->auth_value.len);
}

static int get_user_info(ami_rd *c, bool *has, ami_view *v)
{
    int rc = get_octets(c, v);
    if (rc)
        return rc;
    *has = true;
    return AMI_OK;
}

static void put_raw(ami_wr *w, uint8_t tag, ami_view v)
{
    ami_wr_u8(w, tag);
    ami__ber_put_length(w, v.len);
    ami_wr_bytes(w, v.p, v.len);
}

/*
 * Walks the fields of an ACSE APDU: checks the outer tag and length, then hands each TLV to
 * `field` in order. Tags must come in ascending order of their context number (BER SEQUENCE
 * order), each at most once.
 */
typedef int (*field_fn)(void *ctx, uint8_t tag, ami_rd *content);

static int walk(const uint8_t *buf, size_t len, uint8_t apdu_tag, field_fn field, void *ctx)
{
    if (!buf && len)
        return AMI_E_INVAL;
    ami_rd r, seq;
    ami_rd_init(&r, buf, len);
    uint8_t tag;
    int rc = ami_rd_u8(&r, &tag);
    if (rc)
        return rc;
    if (tag != apdu_tag)
        return AMI_E_MALFORMED;
    size_t n;
    if ((rc = ami__ber_get_length(&r, &n)) || (rc = ami_rd_sub(&r, n, &seq)))
        return rc;
    if (ami_rd_left(&r))
        return AMI_E_MALFORMED;
    int last = -1;
    while (ami_rd_left(&seq)) {
        ami_rd content;
        if ((rc = ami__ber_get_tlv(&seq, &tag, &content)))
            return rc;
        int num = tag & 0x1F;
        if ((tag & 0xC0) != 0x80 || num <= last)
            return AMI_E_MALFORMED;
        last = num;
        if ((rc = field(ctx, tag, &content)))
            return rc;
        if (ami_rd_left(&content))
            return AMI_E_MALFORMED;
    }
    return AMI_OK;
}

/* Fields with the same tag and meaning in AARQ and AARE. */
static int common_field(ami_acse_common *a, uint8_t tag, ami_rd *c)
{
    bool bit = false;
    switch (tag) {
    case 0x80: /* protocol-version [0] IMPLICIT BIT STRING */
        a->has_protocol_version = true;
        return get_bits(c, &bit);
    case 0xA1: { /* application-context-name [1] EXPLICIT OBJECT IDENTIFIER */
        ami_rd in;
        int rc = get_only(c, 0x06, &in);
        if (rc)
            return rc;
        if ((rc = get_dlms_oid(&in, 1, &a->context)))
            return rc;
        return (a->context >= 1 && a->context <= 4) ? AMI_OK : AMI_E_MALFORMED;
    }
    case 0x9D: /* implementation-information [29] IMPLICIT GraphicString */
        a->implementation_info.p = ami_rd_ptr(c);
        a->implementation_info.len = ami_rd_left(c);
        c->pos = c->len;
        return AMI_OK;
    case 0xBE: /* user-information [30] EXPLICIT OCTET STRING */
        return get_user_info(c, &a->has_user_information, &a->user_information);
    default:
        return AMI_E_MALFORMED;
    }
}

static void put_common_head(ami_wr *w, const ami_acse_common *a)
{
    if (a->has_protocol_version)
        put_bits(w, 0x80, true);
    ami_wr_u8(w, 0xA1);
    ami_wr_u8(w, 9);
    ami_wr_u8(w, 0x06);
    ami_wr_u8(w, 7);
    put_dlms_oid(w, 1, a->context);
}

/* Responding/calling fields from the AP title on: `base` is the tag number of the AP title. */
static int side_field(ami_acse_common *a, unsigned rel, ami_rd *c)
{
    int rc;
    bool bit = false;
    switch (rel) {
    case 0:
        return get_octets(c, &a->ap_title);
    case 1:
        return get_octets(c, &a->ae_qualifier);
    case 2:
        a->has_ap_invocation_id = true;
        return get_explicit_int(c, &a->ap_invocation_id);
    case 3:
        a->has_ae_invocation_id = true;
        return get_explicit_int(c, &a->ae_invocation_id);
    case 4:
        a->has_acse_requirements = true;
        rc = get_bits(c, &bit);
        a->authentication = bit;
        return rc;
    case 5:
        a->has_mechanism = true;
        return get_dlms_oid(c, 2, &a->mechanism);
    case 6:
        return get_auth(c, a);
    default:
        return AMI_E_MALFORMED;
    }
}

/* The tag of side field `rel` when the AP title has context number `base`. */
static uint8_t side_tag(unsigned base, unsigned rel)
{
    /* AP title, AE qualifier, invocation ids and the authentication value are constructed
     * (EXPLICIT), ACSE requirements and mechanism name primitive (IMPLICIT). */
    bool constructed = rel <= 3 || rel == 6;
    return (uint8_t)((constructed ? 0xA0 : 0x80) | (base + rel));
}

static int side_dispatch(ami_acse_common *a, unsigned base, uint8_t tag, ami_rd *c)
{
    unsigned num = tag & 0x1F;
    if (num >= base && num <= base + 6 && tag == side_tag(base, num - base))
        return side_field(a, num - base, c);
    return common_field(a, tag, c);
}

static void put_side(ami_wr *w, const ami_acse_common *a, unsigned base)
{
    if (a->ap_title.len || a->ap_title.p)
        put_octets(w, side_tag(base, 0), a->ap_title);
    if (a->ae_qualifier.len || a->ae_qualifier.p)
        put_octets(w, side_tag(base, 1), a->ae_qualifier);
    if (a->has_ap_invocation_id)
        put_explicit_int(w, side_tag(base, 2), a->ap_invocation_id);
    if (a->has_ae_invocation_id)
        put_explicit_int(w, side_tag(base, 3), a->ae_invocation_id);
    if (a->has_acse_requirements)
        put_bits(w, side_tag(base, 4), a->authentication);
    if (a->has_mechanism) {
        ami_wr_u8(w, side_tag(base, 5));
        ami_wr_u8(w, 7);
        put_dlms_oid(w, 2, a->mechanism);
    }
    if (a->has_auth_value)
        put_auth(w, side_tag(base, 6), a);
}

static void put_tail(ami_wr *w, const ami_acse_common *a)
{
    if (a->implementation_info.len || a->implementation_info.p)
        put_raw(w, 0x9D, a->implementation_info);
    if (a->has_user_information)
        put_octets(w, 0xBE, a->user_information);
}

static int check_common(const ami_acse_common *a)
{
    if (a->context < 1 || a->context > 4 || (a->has_mechanism && a->mechanism > 0x7F) ||
        (a->has_auth_value && a->auth_kind > 1))
        return AMI_E_INVAL;
    return AMI_OK;
}

/*
 * Encodes `body` twice: once measuring to learn the content length, once for real, so the
 * outer length is exact without a back-patch that would need a worst-case length width.
 */
typedef void (*body_fn)(ami_wr *w, const void *apdu);

static int put_apdu(ami_wr *w, uint8_t tag, body_fn body, const void *apdu)
{
    ami_wr m;
    ami_wr_init(&m, NULL, 0);
    body(&m, apdu);
    ami_wr_u8(w, tag);
    ami__ber_put_length(w, m.len);
    body(w, apdu);
    return ami_wr_error(w);
}

/* ---------------------------------------------------------------- AARQ */

static int aarq_field(void *ctx, uint8_t tag, ami_rd *c)
{
    ami_aarq *q = ctx;
    switch (tag) {
    case 0xA2:
        return get_octets(c, &q->called_ap_title);
    case 0xA3:
        return get_octets(c, &q->called_ae_qualifier);
    case 0xA4:
        q->has_called_ap_invocation_id = true;
        return get_explicit_int(c, &q->called_ap_invocation_id);
    case 0xA5:
        q->has_called_ae_invocation_id = true;
        return get_explicit_int(c, &q->called_ae_invocation_id);
    default:
        return side_dispatch(&q->c, 6, tag, c);
    }
}

int ami_aarq_decode(const uint8_t *buf, size_t len, ami_aarq *out)
{
    if (!out)
        return AMI_E_INVAL;
    memset(out, 0, sizeof *out);
    int rc = walk(buf, len, AMI_ACSE_AARQ, aarq_field, out);
    if (rc == AMI_OK && out->c.context == 0) /* application-context-name is mandatory */
        rc = AMI_E_MALFORMED;
    return rc;
}

static void aarq_body(ami_wr *w, const void *p)
{
    const ami_aarq *q = p;
    put_common_head(w, &q->c);
    if (q->called_ap_title.len || q->called_ap_title.p)
        put_octets(w, 0xA2, q->called_ap_title);
    if (q->called_ae_qualifier.len || q->called_ae_qualifier.p)
        put_octets(w, 0xA3, q->called_ae_qualifier);
    if (q->has_called_ap_invocation_id)
        put_explicit_int(w, 0xA4, q->called_ap_invocation_id);
    if (q->has_called_ae_invocation_id)
        put_explicit_int(w, 0xA5, q->called_ae_invocation_id);
    put_side(w, &q->c, 6);
    put_tail(w, &q->c);
}

int ami_aarq_encode(ami_wr *w, const ami_aarq *a)
{
    if (!w || !a || check_common(&a->c))
        return AMI_E_INVAL;
    return put_apdu(w, AMI_ACSE_AARQ, aarq_body, a);
}

/* ---------------------------------------------------------------- AARE */

/* The AARE being decoded, and whether its mandatory result [2] was seen. */
typedef struct aare_ctx {
    ami_aare *e;
    bool has_result;
} aare_ctx;

static int aare_field(void *ctx, uint8_t tag, ami_rd *c)
{
    aare_ctx *x = ctx;
    ami_aare *e = x->e;
    int32_t v;
    int rc;
    switch (tag) {
    case 0xA2: /* result [2] EXPLICIT Association-result (INTEGER) */
        if ((rc = get_explicit_int(c, &v)))
            return rc;
        if (v < 0 || v > 2)
            return AMI_E_MALFORMED;
        e->result = (uint8_t)v;
        x->has_result = true;
        return AMI_OK;
    case 0xA3: { /* result-source-diagnostic [3] CHOICE { user [1], provider [2] } of INTEGER */
        uint8_t t;
        ami_rd in;
        if ((rc = ami__ber_get_tlv(c, &t, &in)))
            return rc == AMI_E_TRUNCATED ? AMI_E_MALFORMED : rc;
        if ((t != 0xA1 && t != 0xA2) || ami_rd_left(c))
            return AMI_E_MALFORMED;
        if ((rc = get_explicit_int(&in, &v)))
            return rc;
        if (v < 0 || v > 255)
            return AMI_E_MALFORMED;
        e->diag_source = (uint8_t)(t & 0x1F);
        e->diagnostic = (uint8_t)v;
        return AMI_OK;
    }
    default:
        return side_dispatch(&e->c, 4, tag, c);
    }
}

int ami_aare_decode(const uint8_t *buf, size_t len, ami_aare *out)
{
    if (!out)
        return AMI_E_INVAL;
    memset(out, 0, sizeof *out);
    aare_ctx x = {out, false};
    int rc = walk(buf, len, AMI_ACSE_AARE, aare_field, &x);
    /* application-context-name, result and result-source-diagnostic are mandatory: an AARE
     * without a result must never read as "accepted". */
    if (rc == AMI_OK && (out->c.context == 0 || !x.has_result || out->diag_source == 0))
        rc = AMI_E_MALFORMED;
    return rc;
}

static void aare_body(ami_wr *w, const void *p)
{
    const ami_aare *e = p;
    put_common_head(w, &e->c);
    put_explicit_int(w, 0xA2, e->result);
    ami_wr_u8(w, 0xA3);
    ami_wr_u8(w, (uint8_t)(4 + int32_size(e->diagnostic)));
    put_explicit_int(w, (uint8_t)(0xA0 | e->diag_source), e->diagnostic);
    put_side(w, &e->c, 4);
    put_tail(w, &e->c);
}

int ami_aare_encode(ami_wr *w, const ami_aare *a)
{
    if (!w || !a || check_common(&a->c) || a->result > 2 ||
        (a->diag_source != AMI_ACSE_DIAG_USER && a->diag_source != AMI_ACSE_DIAG_PROVIDER))
        return AMI_E_INVAL;
    return put_apdu(w, AMI_ACSE_AARE, aare_body, a);
}

/* ---------------------------------------------------------------- RLRQ / RLRE */

static int release_field(void *ctx, uint8_t tag, ami_rd *c)
{
    ami_release *r = ctx;
    switch (tag) {
    case 0x80: /* reason [0] IMPLICIT INTEGER */ {
        int32_t v;
        int rc = get_int32(c, &v);
        if (rc)
            return rc;
        if (v < 0 || v > 255)
            return AMI_E_MALFORMED;
        r->has_reason = true;
        r->reason = (uint8_t)v;
        return AMI_OK;
    }
    case 0xBE:
        return get_user_info(c, &r->has_user_information, &r->user_information);
    default:
        return AMI_E_MALFORMED;
    }
}

int ami_release_decode(const uint8_t *buf, size_t len, uint8_t tag, ami_release *out)
{
    if (!out || (tag != AMI_ACSE_RLRQ && tag != AMI_ACSE_RLRE))
        return AMI_E_INVAL;
    memset(out, 0, sizeof *out);
    return walk(buf, len, tag, release_field, out);
}

static void release_body(ami_wr *w, const void *p)
{
    const ami_release *r = p;
    if (r->has_reason) {
        ami_wr_u8(w, 0x80);
        ami_wr_u8(w, (uint8_t)int32_size(r->reason));
        put_int32(w, r->reason);
    }
    if (r->has_user_information)
        put_octets(w, 0xBE, r->user_information);
}

int ami_release_encode(ami_wr *w, uint8_t tag, const ami_release *r)
{
    if (!w || !r || (tag != AMI_ACSE_RLRQ && tag != AMI_ACSE_RLRE))
        return AMI_E_INVAL;
    return put_apdu(w, tag, release_body, r);
}

/* ---------------------------------------------------------------- names */

const char *ami_acse_context_name(uint8_t context)
{
    static const char *const names[] = {NULL, "LN", "SN", "LN-ciphered", "SN-ciphered"};
    return context >= 1 && context <= 4 ? names[context] : "unknown";
}

const char *ami_acse_mechanism_name(uint8_t mechanism)
{
    static const char *const names[] = {"none",     "LLS",      "HLS",        "HLS-MD5",
                                        "HLS-SHA1", "HLS-GMAC", "HLS-SHA256", "HLS-ECDSA"};
    return mechanism < AMI_COUNTOF(names) ? names[mechanism] : "unknown";
}

const char *ami_acse_result_name(uint8_t result)
{
    static const char *const names[] = {"accepted", "rejected-permanent", "rejected-transient"};
    return result < AMI_COUNTOF(names) ? names[result] : "unknown";
}

const char *ami_acse_diag_name(uint8_t source, uint8_t diagnostic)
{
    static const char *const user[] = {
        "null",
        "no-reason-given",
        "application-context-name-not-supported",
        "calling-AP-title-not-recognized",
        "calling-AP-invocation-identifier-not-recognized",
        "calling-AE-qualifier-not-recognized",
        "calling-AE-invocation-identifier-not-recognized",
        "called-AP-title-not-recognized",
        "called-AP-invocation-identifier-not-recognized",
        "called-AE-qualifier-not-recognized",
        "called-AE-invocation-identifier-not-recognized",
        "authentication-mechanism-name-not-recognised",
        "authentication-mechanism-name-required",
        "authentication-failure",
        "authentication-required",
    };
    static const char *const provider[] = {"null", "no-reason-given", "no-common-acse-version"};
    if (source == AMI_ACSE_DIAG_USER && diagnostic < AMI_COUNTOF(user))
        return user[diagnostic];
    if (source == AMI_ACSE_DIAG_PROVIDER && diagnostic < AMI_COUNTOF(provider))
        return provider[diagnostic];
    return "unknown";
}

const char *ami_acse_release_reason_name(uint8_t tag, uint8_t reason)
{
    if (reason == AMI_ACSE_RELEASE_NORMAL)
        return "normal";
    if (reason == AMI_ACSE_RELEASE_USER_DEFINED)
        return "user-defined";
    if (reason == 1)
        return tag == AMI_ACSE_RLRE ? "not-finished" : "urgent";
    return "unknown";
}
