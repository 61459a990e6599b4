/*
 * xDLMS and ACSE APDUs: the vectors of tests/vectors/apdu.txt (expected fields + byte-exact
 * round trip), every APDU of ../shared/testdata/dlms (the ACSE and xDLMS files, the plaintext
 * APDUs of the Gurux sessions over the TCP wrapper and over HDLC after reassembly), truncation
 * at every length on a guard page, hostile counts, selective-access descriptors, name tables.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "ami/ami.h"

static uint8_t arena_buf[1 << 20];

/* ---------------------------------------------------------------- field extraction */

/* The decoded fields as " key=value" tokens (list elements prefixed "<index>."). */
typedef struct kv {
    char s[16384];
    size_t n;
} kv;

static void put(kv *k, const char *pfx, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void put(kv *k, const char *pfx, const char *key, const char *fmt, ...)
{
    va_list ap;
    k->n += (size_t)snprintf(k->s + k->n, sizeof k->s - k->n, " %s%s=", pfx, key);
    va_start(ap, fmt);
    k->n += (size_t)vsnprintf(k->s + k->n, sizeof k->s - k->n, fmt, ap);
    va_end(ap);
    assert_true(k->n < sizeof k->s);
}

static void put_hex(kv *k, const char *pfx, const char *key, ami_view v)
{
    if (!v.p) {
        put(k, pfx, key, "none");
        return;
    }
    char h[4096];
    assert_int_equal(ami_hex_encode(v.p, v.len, h, sizeof h), AMI_OK);
    put(k, pfx, key, "%s", h);
}

static void put_desc(kv *k, const char *pfx, const ami_cosem_desc *d)
{
    char o[AMI_OBIS_STRLEN];
    snprintf(o, sizeof o, "%u.%u.%u.%u.%u.%u", d->instance.v[0], d->instance.v[1], d->instance.v[2],
             d->instance.v[3], d->instance.v[4], d->instance.v[5]);
    put(k, pfx, "class", "%u", d->class_id);
    put(k, pfx, "obis", "%s", o);
    put(k, pfx, "id", "%d", d->id);
}

static void put_attr_sel(kv *k, const char *pfx, const ami_attr_sel *a)
{
    put_desc(k, pfx, &a->attr);
    if (a->access.present) {
        put(k, pfx, "sel", "%u", a->access.selector);
        put_hex(k, pfx, "params", a->access.params);
    } else {
        put(k, pfx, "sel", "none");
    }
}

static void put_result(kv *k, const char *pfx, const ami_data_result *r)
{
    if (r->is_data)
        put_hex(k, pfx, "data", r->data);
    else
        put(k, pfx, "dar", "%u", r->dar);
}

static void put_block(kv *k, const ami_datablock *b)
{
    put(k, "", "last", "%d", b->last);
    put(k, "", "block", "%u", b->block_number);
    put_hex(k, "", "raw", b->raw);
}

static void put_outcome(kv *k, const char *pfx, const ami_action_outcome *o)
{
    put(k, pfx, "result", "%u", o->result);
    if (o->has_return)
        put_result(k, pfx, &o->ret);
    else
        put(k, pfx, "return", "none");
}

static const char *ix(char *buf, uint32_t i)
{
    snprintf(buf, 16, "%u.", i);
    return buf;
}

static void put_common(kv *k, const ami_acse_common *c)
{
    put(k, "", "context", "%u", c->context);
    if (c->has_mechanism)
        put(k, "", "mech", "%u", c->mechanism);
    else
        put(k, "", "mech", "none");
    put(k, "", "authreq", "%d", c->has_acse_requirements && c->authentication);
    if (c->has_auth_value)
        put_hex(k, "", "auth", c->auth_value);
    if (c->ap_title.p)
        put_hex(k, "", "title", c->ap_title);
    if (c->has_user_information)
        put_hex(k, "", "ui", c->user_information);
    else
        put(k, "", "ui", "none");
}

static void put_sn_access(kv *k, const char *pfx, const ami_sn_access *a)
{
    put(k, pfx, "kind", "%u", a->kind);
    put(k, pfx, "name", "%04X", a->name);
    if (a->kind == AMI_SN_PARAMETERIZED_ACCESS) {
        put(k, pfx, "sel", "%u", a->selector);
        put_hex(k, pfx, "data", a->params);
    }
    if (a->kind >= AMI_SN_BLOCK_NUMBER_ACCESS)
        put(k, pfx, "block", "%u", a->block_number);
}

static void extract(const ami_apdu *a, kv *k)
{
    char b[16];
    k->n = 0;
    k->s[0] = 0;
    put(k, "", "tag", "%s", ami_apdu_tag_name(a->tag));
    switch (a->tag) {
    case AMI_APDU_GET_REQUEST: {
        const ami_get_request *g = &a->u.get_request;
        put(k, "", "type", "%u", g->type);
        put(k, "", "iip", "%02X", g->iip);
        if (g->type == AMI_GET_NORMAL)
            put_attr_sel(k, "", &g->attr);
        put(k, "", "block", "%u", g->block_number);
        put(k, "", "count", "%u", g->count);
        for (uint32_t i = 0; i < g->count; i++)
            put_attr_sel(k, ix(b, i), &g->list[i]);
        break;
    }
    case AMI_APDU_GET_RESPONSE: {
        const ami_get_response *g = &a->u.get_response;
        put(k, "", "type", "%u", g->type);
        put(k, "", "iip", "%02X", g->iip);
        if (g->type == AMI_GET_NORMAL)
            put_result(k, "", &g->result);
        if (g->type == AMI_GET_WITH_DATABLOCK) {
            put(k, "", "last", "%d", g->block.last);
            put(k, "", "block", "%u", g->block.block_number);
            if (g->block_ok)
                put_hex(k, "", "raw", g->block.raw);
            else
                put(k, "", "dar", "%u", g->block_dar);
        }
        put(k, "", "count", "%u", g->count);
        for (uint32_t i = 0; i < g->count; i++)
            put_result(k, ix(b, i), &g->list[i]);
        break;
    }
    case AMI_APDU_SET_REQUEST: {
        const ami_set_request *s = &a->u.set_request;
        put(k, "", "type", "%u", s->type);
        if (s->type == AMI_SET_NORMAL || s->type == AMI_SET_WITH_FIRST_DATABLOCK)
            put_attr_sel(k, "", &s->attr);
        if (s->type == AMI_SET_NORMAL)
            put_hex(k, "", "data", s->value);
        else if (s->type != AMI_SET_WITH_LIST)
            put_block(k, &s->block);
        put(k, "", "count", "%u", s->count);
        for (uint32_t i = 0; i < s->count; i++)
            put_attr_sel(k, ix(b, i), &s->list[i]);
        put(k, "", "dcount", "%u", s->value_count);
        for (uint32_t i = 0; i < s->value_count; i++)
            put_hex(k, ix(b, i), "data", s->values[i]);
        break;
    }
    case AMI_APDU_SET_RESPONSE: {
        const ami_set_response *s = &a->u.set_response;
        put(k, "", "type", "%u", s->type);
        put(k, "", "result", "%u", s->result);
        put(k, "", "block", "%u", s->block_number);
        put(k, "", "count", "%u", s->count);
        for (uint32_t i = 0; i < s->count; i++)
            put(k, ix(b, i), "result", "%u", s->results[i]);
        break;
    }
    case AMI_APDU_ACTION_REQUEST: {
        const ami_action_request *q = &a->u.action_request;
        put(k, "", "type", "%u", q->type);
        put(k, "", "iip", "%02X", q->iip);
        if (q->type == AMI_ACTION_NORMAL || q->type == AMI_ACTION_WITH_FIRST_PBLOCK)
            put_desc(k, "", &q->method);
        if (q->type == AMI_ACTION_NORMAL) {
            if (q->has_params)
                put_hex(k, "", "data", q->params);
            else
                put(k, "", "params", "none");
        }
        if (q->type >= AMI_ACTION_WITH_FIRST_PBLOCK)
            put_block(k, &q->block);
        if (q->type == AMI_ACTION_NEXT_PBLOCK)
            put(k, "", "block", "%u", q->block_number);
        put(k, "", "count", "%u", q->count);
        for (uint32_t i = 0; i < q->count; i++)
            put_desc(k, ix(b, i), &q->list[i]);
        put(k, "", "pcount", "%u", q->params_count);
        for (uint32_t i = 0; i < q->params_count; i++)
            put_hex(k, ix(b, i), "data", q->params_list[i]);
        break;
    }
    case AMI_APDU_ACTION_RESPONSE: {
        const ami_action_response *s = &a->u.action_response;
        put(k, "", "type", "%u", s->type);
        if (s->type == AMI_ACTION_RESPONSE_NORMAL)
            put_outcome(k, "", &s->outcome);
        if (s->type == AMI_ACTION_RESPONSE_WITH_PBLOCK)
            put_block(k, &s->block);
        if (s->type == AMI_ACTION_RESPONSE_NEXT_PBLOCK)
            put(k, "", "block", "%u", s->block_number);
        put(k, "", "count", "%u", s->count);
        for (uint32_t i = 0; i < s->count; i++)
            put_outcome(k, ix(b, i), &s->list[i]);
        break;
    }
    case AMI_APDU_INITIATE_REQUEST: {
        const ami_initiate_request *q = &a->u.initiate_request;
        put(k, "", "version", "%u", q->dlms_version);
        put(k, "", "conf", "%06X", q->conformance);
        put(k, "", "pdu", "%u", q->max_pdu_size);
        put_hex(k, "", "key", q->has_dedicated_key ? q->dedicated_key : (ami_view){NULL, 0});
        put(k, "", "response-allowed", "%d", q->response_allowed);
        if (q->has_qos)
            put(k, "", "qos", "%d", q->qos);
        break;
    }
    case AMI_APDU_INITIATE_RESPONSE: {
        const ami_initiate_response *s = &a->u.initiate_response;
        put(k, "", "version", "%u", s->dlms_version);
        put(k, "", "conf", "%06X", s->conformance);
        put(k, "", "pdu", "%u", s->max_pdu_size);
        put(k, "", "vaa", "%u", s->vaa_name);
        if (s->has_qos)
            put(k, "", "qos", "%d", s->qos);
        break;
    }
    case AMI_APDU_CONFIRMED_SERVICE_ERROR:
        put(k, "", "service", "%u", a->u.confirmed_service_error.service);
        put(k, "", "etype", "%u", a->u.confirmed_service_error.type);
        put(k, "", "evalue", "%u", a->u.confirmed_service_error.value);
        break;
    case AMI_APDU_EXCEPTION_RESPONSE:
        put(k, "", "state", "%u", a->u.exception.state_error);
        put(k, "", "serr", "%u", a->u.exception.service_error);
        put(k, "", "ic", "%u", a->u.exception.invocation_counter);
        break;
    case AMI_APDU_DATA_NOTIFICATION:
        put(k, "", "lip", "%u", a->u.data_notification.long_iip);
        put_hex(k, "", "dt",
                a->u.data_notification.date_time.len ? a->u.data_notification.date_time
                                                     : (ami_view){NULL, 0});
        put_hex(k, "", "data", a->u.data_notification.body);
        break;
    case AMI_APDU_EVENT_NOTIFICATION_REQUEST:
        put_hex(k, "", "dt",
                a->u.event_notification.has_time ? a->u.event_notification.time
                                                 : (ami_view){NULL, 0});
        put_desc(k, "", &a->u.event_notification.attr);
        put_hex(k, "", "data", a->u.event_notification.value);
        break;
    case AMI_APDU_GENERAL_BLOCK_TRANSFER:
        put(k, "", "last", "%d", a->u.gbt.last);
        put(k, "", "stream", "%d", a->u.gbt.streaming);
        put(k, "", "window", "%u", a->u.gbt.window);
        put(k, "", "block", "%u", a->u.gbt.block_number);
        put(k, "", "ack", "%u", a->u.gbt.block_number_ack);
        put_hex(k, "", "raw", a->u.gbt.data);
        break;
    case AMI_APDU_READ_REQUEST:
    case AMI_APDU_WRITE_REQUEST:
    case AMI_APDU_UNCONFIRMED_WRITE_REQUEST:
    case AMI_APDU_INFORMATION_REPORT_REQUEST: {
        const ami_sn_request *q = &a->u.sn_request;
        put_hex(k, "", "time", q->has_time ? q->time : (ami_view){NULL, 0});
        put(k, "", "count", "%u", q->count);
        for (uint32_t i = 0; i < q->count; i++)
            put_sn_access(k, ix(b, i), &q->list[i]);
        put(k, "", "dcount", "%u", q->data_count);
        for (uint32_t i = 0; i < q->data_count; i++)
            put_hex(k, ix(b, i), "data", q->data[i]);
        break;
    }
    case AMI_APDU_READ_RESPONSE:
        put(k, "", "count", "%u", a->u.read_response.count);
        for (uint32_t i = 0; i < a->u.read_response.count; i++) {
            const ami_sn_read_result *x = &a->u.read_response.list[i];
            put(k, ix(b, i), "kind", "%u", x->kind);
            if (x->kind == AMI_SN_READ_DATA)
                put_hex(k, b, "data", x->data);
            if (x->kind == AMI_SN_READ_ERROR)
                put(k, b, "dar", "%u", x->dar);
            if (x->kind == AMI_SN_READ_DATA_BLOCK) {
                put(k, b, "last", "%d", x->last);
                put_hex(k, b, "raw", x->raw);
            }
            if (x->kind >= AMI_SN_READ_DATA_BLOCK)
                put(k, b, "block", "%u", x->block_number);
        }
        break;
    case AMI_APDU_WRITE_RESPONSE:
        put(k, "", "count", "%u", a->u.write_response.count);
        for (uint32_t i = 0; i < a->u.write_response.count; i++) {
            const ami_sn_write_result *x = &a->u.write_response.list[i];
            put(k, ix(b, i), "kind", "%u", x->kind);
            put(k, b, "dar", "%u", x->dar);
            put(k, b, "block", "%u", x->block_number);
        }
        break;
    case AMI_ACSE_AARQ:
        put_common(k, &a->u.aarq.c);
        break;
    case AMI_ACSE_AARE:
        put_common(k, &a->u.aare.c);
        put(k, "", "result", "%u", a->u.aare.result);
        put(k, "", "src", "%u", a->u.aare.diag_source);
        put(k, "", "diag", "%u", a->u.aare.diagnostic);
        break;
    case AMI_ACSE_RLRQ:
    case AMI_ACSE_RLRE:
        if (a->u.release.has_reason)
            put(k, "", "reason", "%u", a->u.release.reason);
        put_hex(k, "", "ui",
                a->u.release.has_user_information ? a->u.release.user_information
                                                  : (ami_view){NULL, 0});
        break;
    default:
        if (ami_apdu_is_ciphered(a->tag)) {
            const ami_ciphered *c = &a->u.ciphered;
            put(k, "", "sc", "%02X", c->sc);
            put(k, "", "ic", "%08X", c->ic);
            put_hex(k, "", "payload", c->payload);
            if (c->system_title.p)
                put_hex(k, "", "st", c->system_title);
            if (a->tag == AMI_APDU_GENERAL_CIPHERING) {
                put_hex(k, "", "tid", c->transaction_id);
                put_hex(k, "", "rst", c->recipient_system_title);
                if (c->has_key_info) {
                    put(k, "", "keyinfo", "%u", c->key_info_type);
                    put(k, "", "keyid", "%u", c->key_id);
                }
            }
        }
        break;
    }
}

/* ---------------------------------------------------------------- helpers */

static ami_arena arena;

/* Decodes (on a guard page), re-encodes and compares; returns the decode result. */
static int decode_roundtrip(const uint8_t *bytes, size_t n, ami_apdu *out, bool expect_exact,
                            const ami_apdu_opts *opts)
{
    uint8_t *g = tu_guard_copy(bytes, n);
    ami_arena_init(&arena, arena_buf, sizeof arena_buf);
    int rc = ami_apdu_decode(g, n, &arena, opts, out);
    if (rc == AMI_OK && expect_exact) {
        uint8_t *enc = malloc(n + 64);
        ami_wr w;
        ami_wr_init(&w, enc, n + 64);
        int erc = ami_apdu_encode(&w, out);
        if (erc != AMI_OK || w.len != n || memcmp(enc, bytes, n) != 0) {
            char h[8192];
            ami_hex_encode(enc, w.len < 4000 ? w.len : 4000, h, sizeof h);
            print_message("re-encode (rc %d, %zu bytes): %s\n", erc, w.len, h);
            fail_msg("round trip differs");
        }
        /* The measuring writer gives the same length. */
        ami_wr m;
        ami_wr_init(&m, NULL, 0);
        assert_int_equal(ami_apdu_encode(&m, out), AMI_OK);
        assert_int_equal(m.len, n);
        /* One byte short: NOSPACE, never an overflow. */
        ami_wr_init(&w, enc, n - 1);
        assert_int_equal(ami_apdu_encode(&w, out), AMI_E_NOSPACE);
        free(enc);
    }
    /* Views point into the guarded copy: release it only after the re-encode. */
    tu_guard_free(g, n);
    return rc;
}

/* Every strict prefix is rejected without reading past it. */
static void check_prefixes(const uint8_t *bytes, size_t n)
{
    for (size_t cut = 0; cut < n; cut++) {
        uint8_t *g = tu_guard_copy(bytes, cut);
        ami_apdu a;
        ami_arena_init(&arena, arena_buf, sizeof arena_buf);
        int rc = ami_apdu_decode(g, cut, &arena, NULL, &a);
        if (rc != AMI_E_TRUNCATED)
            fail_msg("prefix of %zu/%zu bytes gave %s", cut, n, ami_errname(rc));
        tu_guard_free(g, cut);
    }
}

/* ---------------------------------------------------------------- tests */

/* Cuts the next line out of *p (NUL-terminating it); NULL at the end. */
static char *next_line(char **p)
{
    if (!**p)
        return NULL;
    char *line = *p, *eol = strchr(line, '\n');
    if (eol) {
        *eol = 0;
        *p = eol + 1;
    } else {
        *p = line + strlen(line);
    }
    return line;
}

static void test_vectors(void **state)
{
    (void)state;
    size_t len;
    char *text = (char *)tu_read_file(tu_testsdir("vectors/apdu.txt"), &len);
    char *p = text, *line;
    int count = 0;
    while ((line = next_line(&p))) {
        if (*line == '#' || *line == 0)
            continue;
        char *sp = NULL;
        char *label = strtok_r(line, " ", &sp);
        char *hex = strtok_r(NULL, " ", &sp);
        assert_non_null(hex);
        size_t n;
        uint8_t *bytes = tu_hex(hex, &n);
        ami_apdu a;
        int rc = decode_roundtrip(bytes, n, &a, true, NULL);
        if (rc != AMI_OK)
            fail_msg("%s: %s", label, ami_errname(rc));
        /* decode_roundtrip's views pointed into a released guard copy: decode again. */
        ami_arena_init(&arena, arena_buf, sizeof arena_buf);
        assert_int_equal(ami_apdu_decode(bytes, n, &arena, NULL, &a), AMI_OK);
        static kv k;
        extract(&a, &k);
        for (char *want = strtok_r(NULL, " ", &sp); want; want = strtok_r(NULL, " ", &sp)) {
            char tok[512];
            snprintf(tok, sizeof tok, " %s ", want);
            static char hay[sizeof k.s + 2];
            snprintf(hay, sizeof hay, "%s ", k.s);
            if (!strstr(hay, tok))
                fail_msg("%s: expected %s in%s", label, want, k.s);
        }
        check_prefixes(bytes, n);
        free(bytes);
        count++;
    }
    free(text);
    assert_int_equal(count, 72);
}

/* APDUs accepted only with AMI_APDU_LENIENT_TRAILING (see that flag). */
static int trailing_seen;

/*
 * Decodes an APDU that must be valid, round trips it and checks every prefix. Session data is
 * decoded with AMI_APDU_LENIENT_TRAILING; an APDU that needs it must also fail strictly.
 */
static void must_decode(const char *what, const uint8_t *bytes, size_t n, ami_apdu *a)
{
    static const ami_apdu_opts lenient = {NULL, AMI_APDU_LENIENT_TRAILING};
    int rc = decode_roundtrip(bytes, n, a, true, &lenient);
    if (rc != AMI_OK) {
        char h[200];
        ami_hex_encode(bytes, n < 90 ? n : 90, h, sizeof h);
        fail_msg("%s: %s (%zu bytes: %s...)", what, ami_errname(rc), n, h);
    }
    ami_arena_init(&arena, arena_buf, sizeof arena_buf);
    assert_int_equal(ami_apdu_decode(bytes, n, &arena, &lenient, a), AMI_OK);
    if (a->trailing.len) {
        trailing_seen++;
        ami_arena_init(&arena, arena_buf, sizeof arena_buf);
        assert_int_equal(ami_apdu_decode(bytes, n, &arena, NULL, &(ami_apdu){0}), AMI_E_MALFORMED);
        ami_arena_init(&arena, arena_buf, sizeof arena_buf);
        assert_int_equal(ami_apdu_decode(bytes, n, &arena, &lenient, a), AMI_OK);
        return;
    }
    check_prefixes(bytes, n);
    ami_arena_init(&arena, arena_buf, sizeof arena_buf);
    assert_int_equal(ami_apdu_decode(bytes, n, &arena, NULL, a), AMI_OK);
}

/* The xDLMS APDU inside an ACSE user-information decodes too. */
static void check_user_information(const ami_apdu *a, ami_apdu *inner)
{
    ami_view ui = {NULL, 0};
    if (a->tag == AMI_ACSE_AARQ && a->u.aarq.c.has_user_information)
        ui = a->u.aarq.c.user_information;
    else if (a->tag == AMI_ACSE_AARE && a->u.aare.c.has_user_information)
        ui = a->u.aare.c.user_information;
    else if ((a->tag == AMI_ACSE_RLRQ || a->tag == AMI_ACSE_RLRE) &&
             a->u.release.has_user_information)
        ui = a->u.release.user_information;
    inner->tag = 0;
    if (ui.p) {
        static ami_arena inner_arena;
        static uint8_t buf[4096];
        ami_arena_init(&inner_arena, buf, sizeof buf);
        assert_int_equal(ami_apdu_decode(ui.p, ui.len, &inner_arena, NULL, inner), AMI_OK);
    }
}

static void test_shared_acse(void **state)
{
    (void)state;
    size_t len;
    char *text = (char *)tu_read_file(tu_testdata("dlms/acse_aarq_aare_rlrq_rlre.txt"), &len);
    char *p = text, *line;
    int count = 0, initiate = 0, ciphered = 0, errors = 0;
    while ((line = next_line(&p))) {
        if (*line == '#' || *line == 0)
            continue;
        char *hash = strchr(line, '#');
        assert_non_null(hash);
        *hash = 0;
        size_t n;
        uint8_t *bytes = tu_hex(line, &n);
        ami_apdu a, inner;
        must_decode(hash + 1, bytes, n, &a);
        check_user_information(&a, &inner);
        initiate +=
            inner.tag == AMI_APDU_INITIATE_REQUEST || inner.tag == AMI_APDU_INITIATE_RESPONSE;
        ciphered += ami_apdu_is_ciphered(inner.tag);
        errors += inner.tag == AMI_APDU_CONFIRMED_SERVICE_ERROR;
        if (count == 0) {
            /* Green Book example AARQ: LN, no security, conformance 007E1F, PDU 1200. */
            assert_int_equal(a.tag, AMI_ACSE_AARQ);
            assert_int_equal(a.u.aarq.c.context, AMI_ACSE_CONTEXT_LN);
            assert_false(a.u.aarq.c.has_mechanism);
            assert_int_equal(inner.u.initiate_request.conformance, 0x007E1F);
            assert_int_equal(inner.u.initiate_request.max_pdu_size, 1200);
            assert_int_equal(inner.u.initiate_request.dlms_version, 6);
            assert_true(inner.u.initiate_request.conformance & AMI_CONF_GET);
            assert_false(inner.u.initiate_request.conformance & AMI_CONF_READ);
        }
        if (strstr(hash + 1, "dlms-version-too-low")) {
            assert_int_equal(a.u.aare.result, AMI_ACSE_REJECTED_PERMANENT);
            assert_int_equal(inner.u.confirmed_service_error.service, 1);
            assert_string_equal(
                ami_dlms_service_error_value_name(inner.u.confirmed_service_error.type,
                                                  inner.u.confirmed_service_error.value),
                "dlms-version-too-low");
        }
        if (strstr(hash + 1, "AARE_accepted_HLS5")) {
            assert_int_equal(a.u.aare.c.mechanism, AMI_ACSE_MECH_GMAC);
            assert_int_equal(a.u.aare.diag_source, AMI_ACSE_DIAG_USER);
            assert_string_equal(ami_acse_diag_name(1, a.u.aare.diagnostic),
                                "authentication-required");
            assert_memory_equal(a.u.aare.c.auth_value.p, "P6wRJ21F", 8);
        }
        if (strstr(hash + 1, "calling-AP-title")) {
            assert_int_equal(a.u.aarq.c.context, AMI_ACSE_CONTEXT_LN_CIPHER);
            assert_memory_equal(a.u.aarq.c.ap_title.p, "MMM\0\0\xBC\x61\x4E", 8);
            assert_int_equal(inner.tag, AMI_APDU_GLO_INITIATE_REQUEST);
            assert_int_equal(inner.u.ciphered.sc, 0x30);
            assert_int_equal(inner.u.ciphered.ic, 0x01234567);
        }
        free(bytes);
        count++;
    }
    free(text);
    assert_int_equal(count, 16);
    assert_int_equal(initiate, 10);
    assert_int_equal(ciphered, 3);
    assert_int_equal(errors, 1);
}

static void test_shared_xdlms(void **state)
{
    (void)state;
    size_t len;
    char *text = (char *)tu_read_file(tu_testdata("dlms/xdlms_apdus_plain.txt"), &len);
    char *p = text, *line;
    int count = 0;
    while ((line = next_line(&p))) {
        if (*line == '#' || *line == 0)
            continue;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char *sp = NULL;
        char *label = strtok_r(line, " ", &sp);
        char *hex = strtok_r(NULL, " ", &sp);
        size_t n;
        uint8_t *bytes = tu_hex(hex, &n);
        ami_apdu a;
        if (!strcmp(label, "selective-access_range-descriptor_only")) {
            /* access-selector 1 and its parameters, outside an APDU. */
            ami_range_descriptor d;
            assert_int_equal(bytes[0], 1);
            assert_int_equal(ami_range_descriptor_decode(ami_view_of(bytes + 1, n - 1), &d),
                             AMI_OK);
            assert_int_equal(d.restricting.class_id, 8);
            assert_true(ami_obis_equal(&d.restricting.instance, &AMI_OBIS(0, 0, 1, 0, 0, 255)));
            assert_int_equal(d.restricting.id, 2);
            assert_int_equal(d.data_index, 0);
            assert_int_equal(d.from_value.len, 14);
            assert_int_equal(d.from_value.p[0], AMI_AXDR_OCTET_STRING);
            assert_int_equal(d.selected_values.len, 2);
            uint8_t out[128];
            ami_wr w;
            ami_wr_init(&w, out, sizeof out);
            assert_int_equal(ami_range_descriptor_encode(&w, &d), AMI_OK);
            assert_int_equal(w.len, n - 1);
            assert_memory_equal(out, bytes + 1, n - 1);
            free(bytes);
            count++;
            continue;
        }
        must_decode(label, bytes, n, &a);
        if (!strcmp(label, "get-response-with-datablock_block1_not-last_profile-buffer")) {
            assert_int_equal(a.u.get_response.type, AMI_GET_WITH_DATABLOCK);
            assert_false(a.u.get_response.block.last);
            assert_int_equal(a.u.get_response.block.block_number, 1);
            assert_true(a.u.get_response.block_ok);
            assert_int_equal(a.u.get_response.block.raw.len, 0x049E);
        }
        if (!strcmp(label, "get-response-normal_error_hardware-fault"))
            assert_string_equal(ami_dlms_dar_name(a.u.get_response.result.dar), "hardware-fault");
        if (!strcmp(label, "action-response-normal_with-data-access-result_error_0xFA"))
            assert_string_equal(ami_dlms_dar_name(a.u.action_response.outcome.ret.dar),
                                "other-reason");
        if (!strcmp(label, "get-request-with-list_2items")) {
            assert_int_equal(a.u.get_request.count, 2);
            assert_int_equal(a.u.get_request.list[1].attr.class_id, 8);
        }
        free(bytes);
        count++;
    }
    free(text);
    assert_int_equal(count, 19);
}

/* ---------------------------------------------------------------- sessions */

/* TCP wrapper (IEC 62056-47): version 0001, source wPort, destination wPort, length. */
static void test_session_wrapper(void **state)
{
    (void)state;
    size_t len;
    char *text = (char *)tu_read_file(
        tu_testdata("dlms/session_gurux_wrapper_ln_read_all_incl_selective_access.txt"), &len);
    char *p = text, *line;
    int count = 0, selective = 0, dar = 0;
    while ((line = next_line(&p))) {
        if (strncmp(line, "TX ", 3) && strncmp(line, "RX ", 3))
            continue;
        size_t n;
        uint8_t *bytes = tu_hex(line + 3, &n);
        ami_wrapper_msg m;
        assert_int_equal(ami_wrapper_datagram_decode(bytes, n, &m), AMI_OK);
        assert_int_equal(m.apdu_len, n - AMI_WRAPPER_HEADER_LEN);
        ami_apdu a;
        must_decode(line, m.apdu, m.apdu_len, &a);
        if (a.tag == AMI_APDU_GET_REQUEST && a.u.get_request.type == AMI_GET_NORMAL &&
            a.u.get_request.attr.access.present) {
            selective++;
            if (a.u.get_request.attr.access.selector == 2) {
                ami_entry_descriptor e;
                assert_int_equal(
                    ami_entry_descriptor_decode(a.u.get_request.attr.access.params, &e), AMI_OK);
            } else {
                ami_range_descriptor r;
                assert_int_equal(a.u.get_request.attr.access.selector, 1);
                assert_int_equal(
                    ami_range_descriptor_decode(a.u.get_request.attr.access.params, &r), AMI_OK);
                assert_int_equal(r.restricting.class_id, 8);
            }
        }
        if (a.tag == AMI_APDU_GET_RESPONSE && a.u.get_response.type == AMI_GET_NORMAL &&
            !a.u.get_response.result.is_data)
            dar++;
        free(bytes);
        count++;
    }
    free(text);
    assert_true(count > 100);
    assert_true(selective >= 2);
    assert_true(dar >= 1); /* "One rows-by-entry read ends with temporary-failure" */
    /* Two answers of the Gurux 9.0 server carry stray bytes (LENIENT_TRAILING): the clock read
     * and the rows-by-entry read that fails with temporary-failure. */
    assert_int_equal(trailing_seen, 2);
    trailing_seen = 0;
}

/*
 * HDLC frames of the session files through the link layer's frame decoder: the information
 * fields of I and UI frames, concatenated while the segmentation bit is set, without the LLC
 * header, give the APDUs.
 */
typedef struct reasm {
    uint8_t buf[65536];
    size_t len;
} reasm;

/* Returns true when the frame carried information; *complete when an APDU is in r. */
static bool hdlc_feed(reasm *r, const uint8_t *f, size_t n, bool *complete)
{
    *complete = false;
    ami_hdlc_frame fr;
    assert_int_equal(ami_hdlc_frame_decode(f, n, 0, &fr), (int)n);
    if ((fr.type != AMI_HDLC_I && fr.type != AMI_HDLC_UI) || fr.info_len == 0)
        return false;
    const uint8_t *info = fr.info;
    size_t info_len = fr.info_len;
    if (r->len == 0) {
        assert_true(info_len >= AMI_HDLC_LLC_LEN && info[0] == 0xE6);
        info += AMI_HDLC_LLC_LEN;
        info_len -= AMI_HDLC_LLC_LEN;
    }
    memcpy(r->buf + r->len, info, info_len);
    r->len += info_len;
    *complete = !fr.segmented;
    return true;
}

static int broken_rlre;

static int check_hdlc_session(const char *file)
{
    size_t len;
    char *text = (char *)tu_read_file(tu_testdata(file), &len);
    char *p = text, *line;
    static reasm rx, tx;
    rx.len = tx.len = 0;
    int count = 0;
    while ((line = next_line(&p))) {
        if (strncmp(line, "TX ", 3) && strncmp(line, "RX ", 3))
            continue;
        reasm *r = line[0] == 'T' ? &tx : &rx;
        char *plain = strstr(line, "; PLAIN ");
        if (plain)
            *plain = 0;
        size_t n;
        uint8_t *bytes = tu_hex(line + 3, &n);
        bool complete;
        if (hdlc_feed(r, bytes, n, &complete) && complete) {
            ami_apdu a;
            if (r->buf[0] == AMI_ACSE_RLRE && r->buf[1] == 0x24 && r->len == 42) {
                /* The Gurux 9.0 server's RLRE with a ciphered InitiateResponse declares an
                 * outer length of 36 and a user-information length of 34 around 40 and 35
                 * bytes: a broken encoding, rejected (no leniency is offered for it). */
                assert_int_equal(ami_apdu_decode(r->buf, r->len, NULL, NULL, &a), AMI_E_MALFORMED);
                broken_rlre++;
                r->len = 0;
                free(bytes);
                continue;
            }
            must_decode(file, r->buf, r->len, &a);
            count++;
            r->len = 0;
        }
        free(bytes);
        if (plain) {
            bytes = tu_hex(plain + 8, &n);
            must_decode("PLAIN", bytes, n, &(ami_apdu){0});
            free(bytes);
            count++;
        }
    }
    free(text);
    assert_int_equal(rx.len, 0);
    assert_int_equal(tx.len, 0);
    return count;
}

static void test_session_hdlc(void **state)
{
    (void)state;
    assert_true(check_hdlc_session("dlms/session_gurux_hdlc_ln_noauth_get_clock.txt") >= 10);
    assert_true(check_hdlc_session("dlms/session_gurux_hdlc_ln_lls.txt") >= 10);
    assert_true(check_hdlc_session("dlms/session_gurux_hdlc_ln_read_profile_generic.txt") >= 8);
    /* Ciphered session: the ciphered frames (headers) and every PLAIN decode. */
    assert_true(check_hdlc_session("dlms/session_gurux_hdlc_ln_hls5_gmac_authenc.txt") >= 30);
    assert_int_equal(broken_rlre, 1);
    /* Clock reads with stray bytes: noauth, lls and the PLAIN of the ciphered session. */
    assert_int_equal(trailing_seen, 3);
    trailing_seen = 0;
}

/* ---------------------------------------------------------------- hostile input */

static int decode_hex(const char *hex, ami_arena *a, ami_apdu *out)
{
    size_t n;
    uint8_t *b = tu_hex(hex, &n);
    uint8_t *g = tu_guard_copy(b, n);
    int rc = ami_apdu_decode(g, n, a, NULL, out);
    tu_guard_free(g, n);
    free(b);
    return rc;
}

static void test_errors(void **state)
{
    (void)state;
    ami_apdu a;
    ami_arena ar;
    ami_arena_init(&ar, arena_buf, sizeof arena_buf);
    /* Bytes after the APDU. */
    assert_int_equal(decode_hex("C501C10000", &ar, &a), AMI_E_MALFORMED);
    assert_int_equal(decode_hex("620380010000", &ar, &a), AMI_E_MALFORMED);
    /* Unknown APDU and choice. */
    assert_int_equal(decode_hex("FF00", &ar, &a), AMI_E_UNSUPPORTED);
    assert_int_equal(decode_hex("C009C1", &ar, &a), AMI_E_MALFORMED);
    assert_int_equal(decode_hex("C40102", &ar, &a), AMI_E_TRUNCATED);
    assert_int_equal(decode_hex("C401C102", &ar, &a), AMI_E_MALFORMED);
    /* OPTIONAL flag other than 0/1. */
    assert_int_equal(decode_hex("C001C1000100002B0100FF0202", &ar, &a), AMI_E_MALFORMED);
    /* last-block of a data block: 0x00 or 0x01 only (GET DataBlock-G, SET DataBlock-SA, SN
     * data-block-result). */
    assert_int_equal(decode_hex("C402C10100000001000201AA", &ar, &a), AMI_OK);
    assert_true(a.u.get_response.block.last);
    assert_int_equal(decode_hex("C402C10000000001000201AA", &ar, &a), AMI_OK);
    assert_false(a.u.get_response.block.last);
    assert_int_equal(decode_hex("C402C10200000001000201AA", &ar, &a), AMI_E_MALFORMED);
    assert_int_equal(decode_hex("C402C1FF00000001000201AA", &ar, &a), AMI_E_MALFORMED);
    assert_int_equal(decode_hex("C103C1010000000101AA", &ar, &a), AMI_OK);
    assert_int_equal(decode_hex("C103C1020000000101AA", &ar, &a), AMI_E_MALFORMED);
    assert_int_equal(decode_hex("0C010201000101AA", &ar, &a), AMI_OK);
    assert_int_equal(decode_hex("0C010280000101AA", &ar, &a), AMI_E_MALFORMED);
    /* Invalid embedded Data (unknown A-XDR tag 0x07). */
    assert_int_equal(decode_hex("C401C10007", &ar, &a), AMI_E_MALFORMED);
    /* A count the bytes cannot hold: TRUNCATED before any allocation; over the ceiling:
     * TOO_LARGE. */
    ami_arena_init(&ar, arena_buf, sizeof arena_buf);
    assert_int_equal(decode_hex("C003C17F000100002A0000FF0200", &ar, &a), AMI_E_TRUNCATED);
    assert_int_equal(ar.used, 0);
    assert_int_equal(decode_hex("C505C1840FFFFFFF00", &ar, &a), AMI_E_TOO_LARGE);
    assert_int_equal(ar.used, 0);
    /* No arena, or one too small, for a list: NOMEM. */
    assert_int_equal(decode_hex("C505C1020003", NULL, &a), AMI_E_NOMEM);
    uint8_t tiny[4];
    ami_arena_init(&ar, tiny, sizeof tiny);
    assert_int_equal(decode_hex("C003C102000100002A0000FF020000080000010000FF0200", &ar, &a),
                     AMI_E_NOMEM);
    /* Conformance block with a wrong BER header. */
    assert_int_equal(decode_hex("01000000065F1F0300007E1F04B0", NULL, &a), AMI_E_MALFORMED);
    /* Ciphered content shorter than SC + IC. */
    assert_int_equal(decode_hex("C80430010203", NULL, &a), AMI_E_MALFORMED);
    /* ACSE: unknown mechanism arc, out-of-order fields, indefinite length, wrong context. */
    assert_int_equal(decode_hex("6014A1090607608574050801018B0760857405080301", NULL, &a),
                     AMI_E_MALFORMED);
    assert_int_equal(decode_hex("6011BE0404020000A109060760857405080101", NULL, &a),
                     AMI_E_MALFORMED);
    assert_int_equal(decode_hex("6080A109060760857405080101", NULL, &a), AMI_E_MALFORMED);
    assert_int_equal(decode_hex("600BA109060760857405080109", NULL, &a), AMI_E_MALFORMED);
    assert_int_equal(decode_hex("6000", NULL, &a), AMI_E_MALFORMED); /* no context name */
    /* AARE without its result, or without its diagnostic: never "accepted" by default. */
    assert_int_equal(decode_hex("6112A109060760857405080101A305A103020100", NULL, &a),
                     AMI_E_MALFORMED);
    assert_int_equal(decode_hex("6110A109060760857405080101A203020100", NULL, &a), AMI_E_MALFORMED);
    assert_int_equal(ami_apdu_decode(NULL, 0, NULL, NULL, &a), AMI_E_TRUNCATED);
    assert_int_equal(ami_apdu_decode(NULL, 3, NULL, NULL, &a), AMI_E_INVAL);
}

/* ---------------------------------------------------------------- encoders */

static void test_encode_from_scratch(void **state)
{
    (void)state;
    /* The Green Book AARQ of the first shared vector, built field by field. */
    ami_apdu q = {.tag = AMI_APDU_INITIATE_REQUEST};
    q.u.initiate_request.dlms_version = 6;
    q.u.initiate_request.conformance =
        AMI_CONF_GET | AMI_CONF_SET | AMI_CONF_ACTION | AMI_CONF_SELECTIVE_ACCESS |
        AMI_CONF_EVENT_NOTIFICATION | AMI_CONF_MULTIPLE_REFERENCES |
        AMI_CONF_BLOCK_TRANSFER_WITH_GET_OR_READ | AMI_CONF_BLOCK_TRANSFER_WITH_SET_OR_WRITE |
        AMI_CONF_BLOCK_TRANSFER_WITH_ACTION | AMI_CONF_ATTRIBUTE0_WITH_GET | AMI_CONF_PRIORITY_MGMT;
    q.u.initiate_request.max_pdu_size = 1200;
    uint8_t ui[64];
    ami_wr w;
    ami_wr_init(&w, ui, sizeof ui);
    assert_int_equal(ami_apdu_encode(&w, &q), AMI_OK);
    ami_apdu aarq = {.tag = AMI_ACSE_AARQ};
    aarq.u.aarq.c.context = AMI_ACSE_CONTEXT_LN;
    aarq.u.aarq.c.has_user_information = true;
    aarq.u.aarq.c.user_information = ami_view_of(ui, w.len);
    uint8_t out[128];
    ami_wr_init(&w, out, sizeof out);
    assert_int_equal(ami_apdu_encode(&w, &aarq), AMI_OK);
    size_t n;
    uint8_t *want = tu_hex("601DA109060760857405080101BE10040E01000000065F1F0400007E1F04B0", &n);
    assert_int_equal(w.len, n);
    assert_memory_equal(out, want, n);
    free(want);

    /* A GET-request normal with an entry descriptor built by the helper. */
    ami_entry_descriptor e = {.from_entry = 1, .to_entry = 10, .from_selected_value = 1};
    uint8_t params[32];
    ami_wr_init(&w, params, sizeof params);
    assert_int_equal(ami_entry_descriptor_encode(&w, &e), AMI_OK);
    ami_apdu g = {.tag = AMI_APDU_GET_REQUEST};
    g.u.get_request.type = AMI_GET_NORMAL;
    g.u.get_request.iip = 0xC1;
    g.u.get_request.attr.attr = (ami_cosem_desc){7, AMI_OBIS(1, 0, 99, 1, 0, 255), 2};
    g.u.get_request.attr.access = (ami_access_selection){true, 2, ami_view_of(params, w.len)};
    ami_wr_init(&w, out, sizeof out);
    assert_int_equal(ami_apdu_encode(&w, &g), AMI_OK);
    want = tu_hex("C001C100070100630100FF02010202040600000001060000000A120001120000", &n);
    assert_int_equal(w.len, n);
    assert_memory_equal(out, want, n);
    free(want);

    /* Invalid requests are refused before writing. */
    ami_apdu bad = {.tag = 0xFF};
    ami_wr_init(&w, out, sizeof out);
    assert_int_equal(ami_apdu_encode(&w, &bad), AMI_E_INVAL);
    bad.tag = AMI_APDU_GET_REQUEST;
    bad.u.get_request.type = AMI_GET_WITH_LIST;
    bad.u.get_request.count = 2;
    assert_int_equal(ami_apdu_encode(&w, &bad), AMI_E_INVAL);
    bad = (ami_apdu){.tag = AMI_APDU_GENERAL_BLOCK_TRANSFER};
    bad.u.gbt.window = 64;
    assert_int_equal(ami_apdu_encode(&w, &bad), AMI_E_INVAL);
    bad = (ami_apdu){.tag = AMI_ACSE_AARQ};
    assert_int_equal(ami_apdu_encode(&w, &bad), AMI_E_INVAL); /* context 0 */
    assert_int_equal(ami_apdu_encode(NULL, &bad), AMI_E_INVAL);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(ami_apdu_tag_name(0xC0), "get-request");
    assert_string_equal(ami_apdu_tag_name(0xDB), "general-glo-ciphering");
    assert_string_equal(ami_apdu_tag_name(0x61), "AARE");
    assert_string_equal(ami_apdu_tag_name(0x02), "unknown");
    assert_string_equal(ami_dlms_dar_name(3), "read-write-denied");
    assert_string_equal(ami_dlms_dar_name(5), "unknown");
    assert_string_equal(ami_dlms_action_result_name(15), "long-action-aborted");
    assert_string_equal(ami_dlms_action_result_name(17), "unknown");
    assert_string_equal(ami_dlms_state_error_name(2), "service-unknown");
    assert_string_equal(ami_dlms_service_error_name(6), "invocation-counter-error");
    assert_string_equal(ami_dlms_confirmed_service_name(5), "read");
    assert_string_equal(ami_dlms_service_error_type_name(6), "initiate");
    assert_string_equal(ami_dlms_service_error_value_name(3, 1), "pdu-size");
    assert_string_equal(ami_dlms_service_error_value_name(8, 0), "unknown");
    assert_string_equal(ami_dlms_conformance_bit_name(19), "get");
    assert_int_equal(AMI_CONF_GET, 0x000010);
    assert_int_equal(AMI_CONF_READ, 0x100000);
    assert_string_equal(ami_acse_mechanism_name(5), "HLS-GMAC");
    assert_string_equal(ami_acse_context_name(3), "LN-ciphered");
    assert_string_equal(ami_acse_result_name(2), "rejected-transient");
    assert_string_equal(ami_acse_diag_name(2, 2), "no-common-acse-version");
    assert_string_equal(ami_acse_release_reason_name(AMI_ACSE_RLRE, 1), "not-finished");
    assert_string_equal(ami_acse_release_reason_name(AMI_ACSE_RLRQ, 1), "urgent");
    assert_true(ami_apdu_is_ciphered(0xCC));
    assert_false(ami_apdu_is_ciphered(0xCE));
    assert_false(ami_apdu_is_ciphered(0xC4));
}

typedef struct membuf {
    char s[16384];
    size_t n;
    int fail_after; /* sink fails once this many bytes were written (0: never) */
} membuf;

static int mem_sink(void *user, const char *s, size_t n)
{
    membuf *m = user;
    if (m->fail_after && m->n + n > (size_t)m->fail_after)
        return AMI_E_IO;
    if (m->n + n >= sizeof m->s)
        return AMI_E_NOSPACE;
    memcpy(m->s + m->n, s, n);
    m->n += n;
    m->s[m->n] = 0;
    return AMI_OK;
}

static void decode_vector(const char *label, uint8_t **bytes, size_t *n, ami_apdu *a)
{
    size_t len;
    char *text = (char *)tu_read_file(tu_testsdir("vectors/apdu.txt"), &len);
    char *at = strstr(text, label);
    assert_non_null(at);
    at += strlen(label) + 1;
    *strchr(at, ' ') = 0;
    *bytes = tu_hex(at, n);
    free(text);
    ami_arena_init(&arena, arena_buf, sizeof arena_buf);
    assert_int_equal(ami_apdu_decode(*bytes, *n, &arena, NULL, a), AMI_OK);
}

/* Every optional ACSE field, and the renderings (text and JSON carry the same facts). */
static void test_acse_fields_and_rendering(void **state)
{
    (void)state;
    uint8_t *bytes;
    size_t n;
    ami_apdu a;
    decode_vector("\naarq-every-field", &bytes, &n, &a);
    const ami_aarq *q = &a.u.aarq;
    assert_memory_equal(q->called_ap_title.p, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
    assert_int_equal(q->called_ae_qualifier.len, 2);
    assert_true(q->has_called_ap_invocation_id);
    assert_int_equal(q->called_ap_invocation_id, 5);
    assert_int_equal(q->called_ae_invocation_id, 256);
    assert_int_equal(q->c.ae_qualifier.p[0], 0xEE);
    assert_int_equal(q->c.ap_invocation_id, 127);
    assert_int_equal(q->c.ae_invocation_id, -128);
    assert_int_equal(q->c.auth_kind, AMI_ACSE_AUTH_BITSTRING);
    assert_memory_equal(q->c.implementation_info.p, "ABC", 3);

    static uint8_t scratch_buf[1 << 16];
    ami_arena scratch;
    ami_arena_init(&scratch, scratch_buf, sizeof scratch_buf);
    static membuf m;
    m = (membuf){0};
    assert_int_equal(ami_apdu_format_text(&a, &scratch, 0, mem_sink, &m), AMI_OK);
    assert_non_null(strstr(m.s, "AARQ (0x60)\n  application-context: LN (1)\n"));
    assert_non_null(strstr(m.s, "  mechanism: HLS-ECDSA (7)\n"));
    assert_non_null(strstr(m.s, "  calling-AP-title: (8 bytes) 4D4D4D0000BC614E\n"));
    assert_non_null(strstr(m.s, "  AE-invocation-id: -128\n"));
    assert_non_null(strstr(m.s, "      initiate-request (0x01)\n"));
    m = (membuf){0};
    ami_jw jw;
    ami_jw_init(&jw, mem_sink, &m);
    ami_apdu_to_json(&a, &scratch, &jw);
    assert_int_equal(ami_jw_error(&jw), AMI_OK);
    assert_non_null(strstr(m.s, "{\"apdu\":\"AARQ\",\"tag\":96,"));
    assert_non_null(strstr(m.s, "\"mechanism\":{\"code\":7,\"name\":\"HLS-ECDSA\"}"));
    assert_non_null(strstr(m.s, "\"apdu\":{\"apdu\":\"initiate-request\""));
    assert_non_null(strstr(m.s, "\"bits\":[\"priority-mgmt-supported\""));
    /* A failing sink's error comes back, and nothing is written after it. */
    m = (membuf){.fail_after = 40};
    assert_int_equal(ami_apdu_format_text(&a, &scratch, 0, mem_sink, &m), AMI_E_IO);
    assert_true(m.n <= 40);
    free(bytes);

    decode_vector("\naare-every-field", &bytes, &n, &a);
    assert_true(a.u.aare.c.has_protocol_version);
    assert_int_equal(a.u.aare.c.ap_invocation_id, 128);
    assert_int_equal(a.u.aare.c.ae_invocation_id, -129);
    assert_int_equal(a.u.aare.c.auth_kind, AMI_ACSE_AUTH_CHARSTRING);
    free(bytes);

    /* A GET-response with a list renders every element and names its data-access-result. */
    decode_vector("\nget-response-with-list", &bytes, &n, &a);
    m = (membuf){0};
    assert_int_equal(ami_apdu_format_text(&a, &scratch, 2, mem_sink, &m), AMI_OK);
    assert_non_null(strstr(m.s, "  get-response (0xC4)\n    type: with-list\n"));
    assert_non_null(strstr(m.s, "data-access-result: object-undefined (4)"));
    free(bytes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_shared_acse),
        cmocka_unit_test(test_shared_xdlms),
        cmocka_unit_test(test_session_wrapper),
        cmocka_unit_test(test_session_hdlc),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_encode_from_scratch),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_acse_fields_and_rendering),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
