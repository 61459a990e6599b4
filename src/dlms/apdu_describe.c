/*
 * Protocol-analyser rendering of decoded APDUs: JSON (ami_apdu_to_json) and indented text
 * (ami_apdu_format_text), produced by one walker over an emitter with two back ends, so both
 * forms always carry the same fields.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>

#include "ami/apdu.h"
#include "ami/datetime.h"

typedef struct em {
    ami_jw *jw;       /* JSON back end, or NULL for text */
    ami_jw_sink sink; /* text back end */
    void *user;
    unsigned indent; /* text: current indentation in spaces */
    bool line_start; /* text: the next byte starts a line (indent it) */
    int err;         /* text: first sink error */
    ami_arena *scratch;
    unsigned depth; /* nesting of user-information rendering */
} em;

/* ---------------------------------------------------------------- text output */

static void raw(em *e, const char *s, size_t n)
{
    while (n && !e->err) {
        if (e->line_start) {
            static const char spaces[] = "                                                  ";
            size_t k = e->indent < sizeof spaces - 1 ? e->indent : sizeof spaces - 1;
            if (k)
                e->err = e->sink(e->user, spaces, k);
            e->line_start = false;
        }
        const char *nl = memchr(s, '\n', n);
        size_t chunk = nl ? (size_t)(nl - s) + 1 : n;
        if (!e->err)
            e->err = e->sink(e->user, s, chunk);
        if (nl)
            e->line_start = true;
        s += chunk;
        n -= chunk;
    }
}

static void line(em *e, const char *key, const char *value)
{
    raw(e, key, strlen(key));
    raw(e, ": ", 2);
    raw(e, value, strlen(value));
    raw(e, "\n", 1);
}

/* A text sink that re-indents what ami_axdr_format_text writes. */
static int indent_sink(void *user, const char *s, size_t n)
{
    em *e = user;
    raw(e, s, n);
    return e->err;
}

/* ---------------------------------------------------------------- emitter */

static void open_obj(em *e, const char *key)
{
    if (e->jw) {
        if (key)
            ami_jw_key(e->jw, key);
        ami_jw_obj_begin(e->jw);
    } else {
        if (key) {
            raw(e, key, strlen(key));
            raw(e, ":\n", 2);
        }
        e->indent += 2;
    }
}

static void close_obj(em *e)
{
    if (e->jw)
        ami_jw_obj_end(e->jw);
    else
        e->indent -= 2;
}

static void open_list(em *e, const char *key)
{
    if (e->jw) {
        ami_jw_key(e->jw, key);
        ami_jw_arr_begin(e->jw);
    } else {
        raw(e, key, strlen(key));
        raw(e, ":\n", 2);
        e->indent += 2;
    }
}

static void close_list(em *e)
{
    if (e->jw)
        ami_jw_arr_end(e->jw);
    else
        e->indent -= 2;
}

/* A list element (an object). */
static void open_item(em *e, uint32_t i)
{
    if (e->jw) {
        ami_jw_obj_begin(e->jw);
    } else {
        char b[16];
        snprintf(b, sizeof b, "[%u]:\n", i);
        raw(e, b, strlen(b));
        e->indent += 2;
    }
}

static void str(em *e, const char *key, const char *v)
{
    if (e->jw) {
        ami_jw_key(e->jw, key);
        ami_jw_str(e->jw, v);
    } else {
        line(e, key, v);
    }
}

/* A secret (LLS password, dedicated key): only its length is shown, in text and JSON. */
static void redacted(em *e, const char *key, size_t len)
{
    char b[48];
    snprintf(b, sizeof b, "(%zu bytes, redacted)", len);
    str(e, key, b);
}

static void uint_(em *e, const char *key, uint64_t v)
{
    if (e->jw) {
        ami_jw_key(e->jw, key);
        ami_jw_uint(e->jw, v);
    } else {
        char b[24];
        snprintf(b, sizeof b, "%llu", (unsigned long long)v);
        line(e, key, b);
    }
}

static void int_(em *e, const char *key, int64_t v)
{
    if (e->jw) {
        ami_jw_key(e->jw, key);
        ami_jw_int(e->jw, v);
    } else {
        char b[24];
        snprintf(b, sizeof b, "%lld", (long long)v);
        line(e, key, b);
    }
}

static void bool_(em *e, const char *key, bool v)
{
    if (e->jw) {
        ami_jw_key(e->jw, key);
        ami_jw_bool(e->jw, v);
    } else {
        line(e, key, v ? "true" : "false");
    }
}

static void hex(em *e, const char *key, ami_view v)
{
    if (e->jw) {
        ami_jw_key(e->jw, key);
        ami_jw_hex(e->jw, v.p, v.len);
        return;
    }
    raw(e, key, strlen(key));
    char b[80];
    snprintf(b, sizeof b, ": (%zu bytes) ", v.len);
    raw(e, b, strlen(b));
    for (size_t i = 0; i < v.len; i++) {
        snprintf(b, sizeof b, "%02X", v.p[i]);
        raw(e, b, 2);
    }
    raw(e, "\n", 1);
}

/* A COSEM date-time (12 bytes) as text and hex; other lengths as hex only. */
static void datetime(em *e, const char *key, ami_view v)
{
    ami_datetime dt;
    char text[AMI_DATETIME_STRLEN];
    if (v.len != 12 || ami_datetime_decode(v.p, &dt) != AMI_OK ||
        ami_datetime_format(&dt, text, sizeof text) < 0) {
        hex(e, key, v);
        return;
    }
    if (e->jw) {
        ami_jw_key(e->jw, key);
        ami_jw_obj_begin(e->jw);
        ami_jw_key(e->jw, "hex");
        ami_jw_hex(e->jw, v.p, v.len);
        ami_jw_key(e->jw, "text");
        ami_jw_str(e->jw, text);
        ami_jw_obj_end(e->jw);
    } else {
        char b[AMI_DATETIME_STRLEN + 40];
        char h[25];
        for (size_t i = 0; i < 12; i++)
            snprintf(h + 2 * i, 3, "%02X", v.p[i]);
        snprintf(b, sizeof b, "%s (%s)", text, h);
        line(e, key, b);
    }
}

/* "name (n)" in text, {"code":n,"name":"..."} in JSON. */
static void named(em *e, const char *key, unsigned v, const char *name)
{
    if (e->jw) {
        ami_jw_key(e->jw, key);
        ami_jw_obj_begin(e->jw);
        ami_jw_key(e->jw, "code");
        ami_jw_uint(e->jw, v);
        ami_jw_key(e->jw, "name");
        ami_jw_str(e->jw, name);
        ami_jw_obj_end(e->jw);
    } else {
        char b[128];
        snprintf(b, sizeof b, "%s (%u)", name, v);
        line(e, key, b);
    }
}

/* One embedded Data: decoded into scratch and rendered; as hex when it cannot be. */
static void data(em *e, const char *key, ami_view v)
{
    ami_axdr_value *val = NULL;
    size_t mark = e->scratch ? e->scratch->used : 0;
    if (e->scratch) {
        ami_rd r;
        ami_rd_init(&r, v.p, v.len);
        if (ami_axdr_decode(&r, e->scratch, NULL, &val) != AMI_OK || ami_rd_left(&r))
            val = NULL;
    }
    if (!val) {
        hex(e, key, v);
    } else if (e->jw) {
        ami_jw_key(e->jw, key);
        ami_axdr_to_json(val, e->jw);
    } else {
        raw(e, key, strlen(key));
        raw(e, ":\n", 2);
        e->indent += 2;
        int rc = ami_axdr_format_text(val, indent_sink, e);
        if (rc && !e->err)
            e->err = rc;
        if (!e->line_start)
            raw(e, "\n", 1);
        e->indent -= 2;
    }
    if (e->scratch)
        e->scratch->used = mark; /* the tree is not needed any more */
}

/* ---------------------------------------------------------------- building blocks */

static void iip(em *e, uint8_t b)
{
    uint_(e, "invoke-id", AMI_IIP_INVOKE_ID(b));
    str(e, "service-class", (b & AMI_IIP_CONFIRMED) ? "confirmed" : "unconfirmed");
    str(e, "priority", (b & AMI_IIP_HIGH_PRIORITY) ? "high" : "normal");
}

static void desc(em *e, const char *key, const char *id_name, const ami_cosem_desc *d)
{
    char o[AMI_OBIS_STRLEN];
    if (ami_obis_format(&d->instance, AMI_OBIS_STYLE_DOTS, o, sizeof o) < 0)
        o[0] = 0;
    open_obj(e, key);
    uint_(e, "class-id", d->class_id);
    str(e, "instance-id", o);
    int_(e, id_name, d->id);
    close_obj(e);
}

static void access_sel(em *e, const ami_access_selection *a)
{
    if (!a->present)
        return;
    open_obj(e, "access-selection");
    named(e, "selector", a->selector,
          a->selector == 1   ? "range-descriptor"
          : a->selector == 2 ? "entry-descriptor"
                             : "class-specific");
    data(e, "parameters", a->params);
    close_obj(e);
}

static void attr_sel(em *e, const char *key, const ami_attr_sel *a)
{
    desc(e, key, "attribute-id", &a->attr);
    access_sel(e, &a->access);
}

static void data_result(em *e, const ami_data_result *r)
{
    if (r->is_data)
        data(e, "data", r->data);
    else
        named(e, "data-access-result", r->dar, ami_dlms_dar_name(r->dar));
}

static void datablock(em *e, const char *key, const ami_datablock *b)
{
    open_obj(e, key);
    bool_(e, "last-block", b->last);
    uint_(e, "block-number", b->block_number);
    hex(e, "raw-data", b->raw);
    close_obj(e);
}

static void outcome(em *e, const ami_action_outcome *o)
{
    named(e, "result", o->result, ami_dlms_action_result_name(o->result));
    if (o->has_return) {
        open_obj(e, "return-parameters");
        data_result(e, &o->ret);
        close_obj(e);
    }
}

static void conformance(em *e, uint32_t conf)
{
    if (e->jw) {
        ami_jw_key(e->jw, "conformance");
        ami_jw_obj_begin(e->jw);
        char h[8];
        snprintf(h, sizeof h, "%06X", (unsigned)conf);
        ami_jw_key(e->jw, "hex");
        ami_jw_str(e->jw, h);
        ami_jw_key(e->jw, "bits");
        ami_jw_arr_begin(e->jw);
        for (unsigned n = 0; n < 24; n++)
            if (conf & AMI_CONF_BIT(n))
                ami_jw_str(e->jw, ami_dlms_conformance_bit_name(n));
        ami_jw_arr_end(e->jw);
        ami_jw_obj_end(e->jw);
        return;
    }
    char b[32];
    snprintf(b, sizeof b, "%06X", (unsigned)conf);
    line(e, "conformance", b);
    e->indent += 2;
    for (unsigned n = 0; n < 24; n++)
        if (conf & AMI_CONF_BIT(n)) {
            raw(e, ami_dlms_conformance_bit_name(n), strlen(ami_dlms_conformance_bit_name(n)));
            raw(e, "\n", 1);
        }
    e->indent -= 2;
}

static void body(em *e, const ami_apdu *a);

/* ACSE user-information: the bytes, and the xDLMS APDU inside decoded one level down. */
static void user_information(em *e, ami_view ui)
{
    open_obj(e, "user-information");
    hex(e, "hex", ui);
    if (e->depth == 0) {
        ami_apdu inner;
        ami_arena none;
        ami_arena_init(&none, NULL, 0);
        int rc = ami_apdu_decode(ui.p, ui.len, e->scratch ? e->scratch : &none, NULL, &inner);
        if (rc == AMI_OK) {
            e->depth++;
            open_obj(e, "apdu");
            body(e, &inner);
            close_obj(e);
            e->depth--;
        } else {
            str(e, "error", ami_strerror(rc));
        }
    }
    close_obj(e);
}

static void acse_common(em *e, const ami_acse_common *c, bool request)
{
    named(e, "application-context", c->context, ami_acse_context_name(c->context));
    if (c->ap_title.p)
        hex(e, request ? "calling-AP-title" : "responding-AP-title", c->ap_title);
    if (c->ae_qualifier.p)
        hex(e, request ? "calling-AE-qualifier" : "responding-AE-qualifier", c->ae_qualifier);
    if (c->has_ap_invocation_id)
        int_(e, "AP-invocation-id", c->ap_invocation_id);
    if (c->has_ae_invocation_id)
        int_(e, "AE-invocation-id", c->ae_invocation_id);
    if (c->has_acse_requirements)
        bool_(e, "authentication-required", c->authentication);
    if (c->has_mechanism)
        named(e, "mechanism", c->mechanism, ami_acse_mechanism_name(c->mechanism));
    if (c->has_auth_value) {
        const char *key = c->auth_kind == AMI_ACSE_AUTH_CHARSTRING ? "authentication-value"
                                                                   : "authentication-value-bits";
        /* With LLS the value is the password: never shown. HLS challenges are public. */
        if (c->has_mechanism && c->mechanism == AMI_ACSE_MECH_LOW)
            redacted(e, key, c->auth_value.len);
        else
            hex(e, key, c->auth_value);
    }
    if (c->implementation_info.p)
        hex(e, "implementation-information", c->implementation_info);
    if (c->has_user_information)
        user_information(e, c->user_information);
}

static void ciphered(em *e, uint8_t tag, const ami_ciphered *c)
{
    if (tag == AMI_APDU_GENERAL_CIPHERING) {
        hex(e, "transaction-id", c->transaction_id);
        hex(e, "originator-system-title", c->system_title);
        hex(e, "recipient-system-title", c->recipient_system_title);
        hex(e, "date-time", c->date_time);
        hex(e, "other-information", c->other_information);
        if (c->has_key_info) {
            static const char *const kinds[] = {"identified-key", "wrapped-key", "agreed-key"};
            open_obj(e, "key-info");
            str(e, "type", c->key_info_type < 3 ? kinds[c->key_info_type] : "unknown");
            if (c->key_info_type <= 1)
                uint_(e, c->key_info_type == 0 ? "key-id" : "kek-id", c->key_id);
            if (c->key_info_type == 2)
                hex(e, "key-parameters", c->key_parameters);
            if (c->key_info_type >= 1)
                hex(e, "key-ciphered-data", c->key_ciphered);
            close_obj(e);
        }
    } else if (c->system_title.p) {
        hex(e, "system-title", c->system_title);
    }
    open_obj(e, "security-header");
    char b[96];
    snprintf(b, sizeof b, "%02X", c->sc);
    str(e, "security-control", b);
    uint_(e, "suite", c->sc & 0x0F);
    bool_(e, "authenticated", c->sc & AMI_SC_AUTHENTICATED);
    bool_(e, "encrypted", c->sc & AMI_SC_ENCRYPTED);
    bool_(e, "broadcast-key", c->sc & AMI_SC_BROADCAST);
    bool_(e, "compressed", c->sc & AMI_SC_COMPRESSED);
    uint_(e, "invocation-counter", c->ic);
    close_obj(e);
    /* Suites 0..2 append a 12-byte GMAC tag when the A bit is set. */
    ami_view p = c->payload, t = {NULL, 0};
    if ((c->sc & AMI_SC_AUTHENTICATED) && p.len >= 12) {
        t.p = p.p + p.len - 12;
        t.len = 12;
        p.len -= 12;
    }
    hex(e, (c->sc & AMI_SC_ENCRYPTED) ? "ciphertext" : "plaintext", p);
    if (t.p)
        hex(e, "authentication-tag", t);
    str(e, "note", "ciphered: ami decode --ek/--ak decrypts it");
}

static void sn_access(em *e, const ami_sn_access *x)
{
    static const char *const kinds[] = {NULL,
                                        NULL,
                                        "variable-name",
                                        NULL,
                                        "parameterized-access",
                                        "block-number-access",
                                        "read-data-block-access",
                                        "write-data-block-access"};
    str(e, "kind", x->kind < 8 && kinds[x->kind] ? kinds[x->kind] : "unknown");
    if (x->kind == AMI_SN_VARIABLE_NAME || x->kind == AMI_SN_PARAMETERIZED_ACCESS) {
        char b[8];
        snprintf(b, sizeof b, "%04X", x->name);
        str(e, "variable-name", b);
    }
    if (x->kind == AMI_SN_PARAMETERIZED_ACCESS) {
        uint_(e, "selector", x->selector);
        data(e, "parameter", x->params);
    }
    if (x->kind >= AMI_SN_READ_DATA_BLOCK_ACCESS)
        bool_(e, "last-block", x->last);
    if (x->kind >= AMI_SN_BLOCK_NUMBER_ACCESS)
        uint_(e, "block-number", x->block_number);
    if (x->kind == AMI_SN_READ_DATA_BLOCK_ACCESS)
        hex(e, "raw-data", x->raw);
}

static const char *choice_name(uint8_t tag, uint8_t type)
{
    static const char *const get_req[] = {NULL, "normal", "next", "with-list"};
    static const char *const get_rsp[] = {NULL, "normal", "with-datablock", "with-list"};
    static const char *const set_req[] = {NULL,
                                          "normal",
                                          "with-first-datablock",
                                          "with-datablock",
                                          "with-list",
                                          "with-list-and-first-datablock"};
    static const char *const set_rsp[] = {
        NULL, "normal", "datablock", "last-datablock", "last-datablock-with-list", "with-list"};
    static const char *const act_req[] = {NULL,
                                          "normal",
                                          "next-pblock",
                                          "with-list",
                                          "with-first-pblock",
                                          "with-list-and-first-pblock",
                                          "with-pblock"};
    static const char *const act_rsp[] = {NULL, "normal", "with-pblock", "with-list",
                                          "next-pblock"};
    const char *const *t = NULL;
    size_t n = 0;
    switch (tag) {
    case AMI_APDU_GET_REQUEST:
        t = get_req, n = AMI_COUNTOF(get_req);
        break;
    case AMI_APDU_GET_RESPONSE:
        t = get_rsp, n = AMI_COUNTOF(get_rsp);
        break;
    case AMI_APDU_SET_REQUEST:
        t = set_req, n = AMI_COUNTOF(set_req);
        break;
    case AMI_APDU_SET_RESPONSE:
        t = set_rsp, n = AMI_COUNTOF(set_rsp);
        break;
    case AMI_APDU_ACTION_REQUEST:
        t = act_req, n = AMI_COUNTOF(act_req);
        break;
    case AMI_APDU_ACTION_RESPONSE:
        t = act_rsp, n = AMI_COUNTOF(act_rsp);
        break;
    default:
        break;
    }
    return t && type < n && t[type] ? t[type] : "unknown";
}

static void get_set_action(em *e, const ami_apdu *a)
{
    switch (a->tag) {
    case AMI_APDU_GET_REQUEST: {
        const ami_get_request *g = &a->u.get_request;
        if (g->type == AMI_GET_NORMAL)
            attr_sel(e, "attribute", &g->attr);
        if (g->type == AMI_GET_NEXT)
            uint_(e, "block-number", g->block_number);
        if (g->type == AMI_GET_WITH_LIST) {
            open_list(e, "attributes");
            for (uint32_t i = 0; i < g->count; i++) {
                open_item(e, i);
                attr_sel(e, "attribute", &g->list[i]);
                close_obj(e);
            }
            close_list(e);
        }
        break;
    }
    case AMI_APDU_GET_RESPONSE: {
        const ami_get_response *g = &a->u.get_response;
        if (g->type == AMI_GET_NORMAL)
            data_result(e, &g->result);
        if (g->type == AMI_GET_WITH_DATABLOCK) {
            open_obj(e, "datablock");
            bool_(e, "last-block", g->block.last);
            uint_(e, "block-number", g->block.block_number);
            if (g->block_ok)
                hex(e, "raw-data", g->block.raw);
            else
                named(e, "data-access-result", g->block_dar, ami_dlms_dar_name(g->block_dar));
            close_obj(e);
        }
        if (g->type == AMI_GET_WITH_LIST) {
            open_list(e, "results");
            for (uint32_t i = 0; i < g->count; i++) {
                open_item(e, i);
                data_result(e, &g->list[i]);
                close_obj(e);
            }
            close_list(e);
        }
        break;
    }
    case AMI_APDU_SET_REQUEST: {
        const ami_set_request *s = &a->u.set_request;
        if (s->type == AMI_SET_NORMAL || s->type == AMI_SET_WITH_FIRST_DATABLOCK)
            attr_sel(e, "attribute", &s->attr);
        if (s->type == AMI_SET_WITH_LIST || s->type == AMI_SET_WITH_LIST_AND_FIRST_DATABLOCK) {
            open_list(e, "attributes");
            for (uint32_t i = 0; i < s->count; i++) {
                open_item(e, i);
                attr_sel(e, "attribute", &s->list[i]);
                close_obj(e);
            }
            close_list(e);
        }
        if (s->type == AMI_SET_NORMAL)
            data(e, "value", s->value);
        if (s->type == AMI_SET_WITH_LIST) {
            open_list(e, "values");
            for (uint32_t i = 0; i < s->value_count; i++) {
                open_item(e, i);
                data(e, "value", s->values[i]);
                close_obj(e);
            }
            close_list(e);
        }
        if (s->type == AMI_SET_WITH_FIRST_DATABLOCK || s->type == AMI_SET_WITH_DATABLOCK ||
            s->type == AMI_SET_WITH_LIST_AND_FIRST_DATABLOCK)
            datablock(e, "datablock", &s->block);
        break;
    }
    case AMI_APDU_SET_RESPONSE: {
        const ami_set_response *s = &a->u.set_response;
        if (s->type == AMI_SET_RESPONSE_NORMAL || s->type == AMI_SET_RESPONSE_LAST_DATABLOCK)
            named(e, "result", s->result, ami_dlms_dar_name(s->result));
        if (s->type == AMI_SET_RESPONSE_LAST_DATABLOCK_WITH_LIST ||
            s->type == AMI_SET_RESPONSE_WITH_LIST) {
            open_list(e, "results");
            for (uint32_t i = 0; i < s->count; i++) {
                open_item(e, i);
                named(e, "result", s->results[i], ami_dlms_dar_name(s->results[i]));
                close_obj(e);
            }
            close_list(e);
        }
        if (s->type >= AMI_SET_RESPONSE_DATABLOCK &&
            s->type <= AMI_SET_RESPONSE_LAST_DATABLOCK_WITH_LIST)
            uint_(e, "block-number", s->block_number);
        break;
    }
    case AMI_APDU_ACTION_REQUEST: {
        const ami_action_request *q = &a->u.action_request;
        if (q->type == AMI_ACTION_NORMAL || q->type == AMI_ACTION_WITH_FIRST_PBLOCK)
            desc(e, "method", "method-id", &q->method);
        if (q->type == AMI_ACTION_WITH_LIST || q->type == AMI_ACTION_WITH_LIST_AND_FIRST_PBLOCK) {
            open_list(e, "methods");
            for (uint32_t i = 0; i < q->count; i++) {
                open_item(e, i);
                desc(e, "method", "method-id", &q->list[i]);
                close_obj(e);
            }
            close_list(e);
        }
        if (q->type == AMI_ACTION_NORMAL && q->has_params)
            data(e, "parameters", q->params);
        if (q->type == AMI_ACTION_WITH_LIST) {
            open_list(e, "parameters");
            for (uint32_t i = 0; i < q->params_count; i++) {
                open_item(e, i);
                data(e, "value", q->params_list[i]);
                close_obj(e);
            }
            close_list(e);
        }
        if (q->type == AMI_ACTION_NEXT_PBLOCK)
            uint_(e, "block-number", q->block_number);
        if (q->type >= AMI_ACTION_WITH_FIRST_PBLOCK)
            datablock(e, "pblock", &q->block);
        break;
    }
    case AMI_APDU_ACTION_RESPONSE: {
        const ami_action_response *s = &a->u.action_response;
        if (s->type == AMI_ACTION_RESPONSE_NORMAL)
            outcome(e, &s->outcome);
        if (s->type == AMI_ACTION_RESPONSE_WITH_PBLOCK)
            datablock(e, "pblock", &s->block);
        if (s->type == AMI_ACTION_RESPONSE_NEXT_PBLOCK)
            uint_(e, "block-number", s->block_number);
        if (s->type == AMI_ACTION_RESPONSE_WITH_LIST) {
            open_list(e, "results");
            for (uint32_t i = 0; i < s->count; i++) {
                open_item(e, i);
                outcome(e, &s->list[i]);
                close_obj(e);
            }
            close_list(e);
        }
        break;
    }
    default:
        break;
    }
}

static void sn(em *e, const ami_apdu *a)
{
    if (a->tag == AMI_APDU_READ_RESPONSE) {
        static const char *const kinds[] = {"data", "data-access-error", "data-block-result",
                                            "block-number"};
        open_list(e, "results");
        for (uint32_t i = 0; i < a->u.read_response.count; i++) {
            const ami_sn_read_result *x = &a->u.read_response.list[i];
            open_item(e, i);
            str(e, "kind", x->kind < 4 ? kinds[x->kind] : "unknown");
            if (x->kind == AMI_SN_READ_DATA)
                data(e, "data", x->data);
            if (x->kind == AMI_SN_READ_ERROR)
                named(e, "data-access-result", x->dar, ami_dlms_dar_name(x->dar));
            if (x->kind == AMI_SN_READ_DATA_BLOCK)
                bool_(e, "last-block", x->last);
            if (x->kind >= AMI_SN_READ_DATA_BLOCK)
                uint_(e, "block-number", x->block_number);
            if (x->kind == AMI_SN_READ_DATA_BLOCK)
                hex(e, "raw-data", x->raw);
            close_obj(e);
        }
        close_list(e);
        return;
    }
    if (a->tag == AMI_APDU_WRITE_RESPONSE) {
        static const char *const kinds[] = {"success", "data-access-error", "block-number"};
        open_list(e, "results");
        for (uint32_t i = 0; i < a->u.write_response.count; i++) {
            const ami_sn_write_result *x = &a->u.write_response.list[i];
            open_item(e, i);
            str(e, "kind", x->kind < 3 ? kinds[x->kind] : "unknown");
            if (x->kind == AMI_SN_WRITE_ERROR)
                named(e, "data-access-result", x->dar, ami_dlms_dar_name(x->dar));
            if (x->kind == AMI_SN_WRITE_BLOCK)
                uint_(e, "block-number", x->block_number);
            close_obj(e);
        }
        close_list(e);
        return;
    }
    const ami_sn_request *q = &a->u.sn_request;
    if (q->has_time)
        hex(e, "current-time", q->time);
    open_list(e, "variables");
    for (uint32_t i = 0; i < q->count; i++) {
        open_item(e, i);
        sn_access(e, &q->list[i]);
        close_obj(e);
    }
    close_list(e);
    if (a->tag != AMI_APDU_READ_REQUEST) {
        open_list(e, "data");
        for (uint32_t i = 0; i < q->data_count; i++) {
            open_item(e, i);
            data(e, "value", q->data[i]);
            close_obj(e);
        }
        close_list(e);
    }
}

static void body(em *e, const ami_apdu *a)
{
    char b[16];
    if (e->jw) {
        ami_jw_key(e->jw, "apdu");
        ami_jw_str(e->jw, ami_apdu_tag_name(a->tag));
        ami_jw_key(e->jw, "tag");
        ami_jw_uint(e->jw, a->tag);
    } else {
        snprintf(b, sizeof b, " (0x%02X)\n", a->tag);
        raw(e, ami_apdu_tag_name(a->tag), strlen(ami_apdu_tag_name(a->tag)));
        raw(e, b, strlen(b));
    }
    if (!e->jw)
        e->indent += 2;
    switch (a->tag) {
    case AMI_APDU_GET_REQUEST:
    case AMI_APDU_GET_RESPONSE:
    case AMI_APDU_SET_REQUEST:
    case AMI_APDU_SET_RESPONSE:
    case AMI_APDU_ACTION_REQUEST:
    case AMI_APDU_ACTION_RESPONSE: {
        /* type and invoke-id-and-priority sit at the same place in all six. */
        uint8_t type = a->u.get_request.type, ip = a->u.get_request.iip;
        switch (a->tag) {
        case AMI_APDU_GET_RESPONSE:
            type = a->u.get_response.type, ip = a->u.get_response.iip;
            break;
        case AMI_APDU_SET_REQUEST:
            type = a->u.set_request.type, ip = a->u.set_request.iip;
            break;
        case AMI_APDU_SET_RESPONSE:
            type = a->u.set_response.type, ip = a->u.set_response.iip;
            break;
        case AMI_APDU_ACTION_REQUEST:
            type = a->u.action_request.type, ip = a->u.action_request.iip;
            break;
        case AMI_APDU_ACTION_RESPONSE:
            type = a->u.action_response.type, ip = a->u.action_response.iip;
            break;
        default:
            break;
        }
        str(e, "type", choice_name(a->tag, type));
        iip(e, ip);
        get_set_action(e, a);
        break;
    }
    case AMI_APDU_INITIATE_REQUEST: {
        const ami_initiate_request *q = &a->u.initiate_request;
        if (q->has_dedicated_key)
            redacted(e, "dedicated-key", q->dedicated_key.len); /* a key: never shown */
        bool_(e, "response-allowed", q->response_allowed);
        if (q->has_qos)
            int_(e, "proposed-quality-of-service", q->qos);
        uint_(e, "dlms-version", q->dlms_version);
        conformance(e, q->conformance);
        uint_(e, "client-max-receive-pdu-size", q->max_pdu_size);
        break;
    }
    case AMI_APDU_INITIATE_RESPONSE: {
        const ami_initiate_response *s = &a->u.initiate_response;
        if (s->has_qos)
            int_(e, "negotiated-quality-of-service", s->qos);
        uint_(e, "dlms-version", s->dlms_version);
        conformance(e, s->conformance);
        uint_(e, "server-max-receive-pdu-size", s->max_pdu_size);
        snprintf(b, sizeof b, "%04X", s->vaa_name);
        str(e, "vaa-name", b);
        break;
    }
    case AMI_APDU_CONFIRMED_SERVICE_ERROR: {
        const ami_confirmed_service_error *x = &a->u.confirmed_service_error;
        named(e, "service", x->service, ami_dlms_confirmed_service_name(x->service));
        named(e, "error-type", x->type, ami_dlms_service_error_type_name(x->type));
        named(e, "error", x->value, ami_dlms_service_error_value_name(x->type, x->value));
        break;
    }
    case AMI_APDU_EXCEPTION_RESPONSE:
        named(e, "state-error", a->u.exception.state_error,
              ami_dlms_state_error_name(a->u.exception.state_error));
        named(e, "service-error", a->u.exception.service_error,
              ami_dlms_service_error_name(a->u.exception.service_error));
        if (a->u.exception.service_error == AMI_SERVICE_ERROR_INVOCATION_COUNTER_ERROR)
            uint_(e, "invocation-counter", a->u.exception.invocation_counter);
        break;
    case AMI_APDU_DATA_NOTIFICATION:
        /* Long-Invoke-Id-And-Priority: id in bits 0..23, service class bit 30, priority 31. */
        uint_(e, "long-invoke-id", a->u.data_notification.long_iip & 0x00FFFFFF);
        str(e, "service-class",
            (a->u.data_notification.long_iip & 0x40000000u) ? "confirmed" : "unconfirmed");
        str(e, "priority", (a->u.data_notification.long_iip & 0x80000000u) ? "high" : "normal");
        if (a->u.data_notification.date_time.len)
            datetime(e, "date-time", a->u.data_notification.date_time);
        data(e, "notification-body", a->u.data_notification.body);
        break;
    case AMI_APDU_EVENT_NOTIFICATION_REQUEST:
        if (a->u.event_notification.has_time)
            datetime(e, "time", a->u.event_notification.time);
        desc(e, "attribute", "attribute-id", &a->u.event_notification.attr);
        data(e, "value", a->u.event_notification.value);
        break;
    case AMI_APDU_GENERAL_BLOCK_TRANSFER:
        bool_(e, "last-block", a->u.gbt.last);
        bool_(e, "streaming", a->u.gbt.streaming);
        uint_(e, "window", a->u.gbt.window);
        uint_(e, "block-number", a->u.gbt.block_number);
        uint_(e, "block-number-ack", a->u.gbt.block_number_ack);
        hex(e, "block-data", a->u.gbt.data);
        break;
    case AMI_APDU_READ_REQUEST:
    case AMI_APDU_WRITE_REQUEST:
    case AMI_APDU_UNCONFIRMED_WRITE_REQUEST:
    case AMI_APDU_INFORMATION_REPORT_REQUEST:
    case AMI_APDU_READ_RESPONSE:
    case AMI_APDU_WRITE_RESPONSE:
        sn(e, a);
        break;
    case AMI_ACSE_AARQ:
        acse_common(e, &a->u.aarq.c, true);
        if (a->u.aarq.called_ap_title.p)
            hex(e, "called-AP-title", a->u.aarq.called_ap_title);
        if (a->u.aarq.called_ae_qualifier.p)
            hex(e, "called-AE-qualifier", a->u.aarq.called_ae_qualifier);
        break;
    case AMI_ACSE_AARE:
        named(e, "result", a->u.aare.result, ami_acse_result_name(a->u.aare.result));
        named(
            e,
            a->u.aare.diag_source == AMI_ACSE_DIAG_USER ? "diagnostic-user" : "diagnostic-provider",
            a->u.aare.diagnostic, ami_acse_diag_name(a->u.aare.diag_source, a->u.aare.diagnostic));
        acse_common(e, &a->u.aare.c, false);
        break;
    case AMI_ACSE_RLRQ:
    case AMI_ACSE_RLRE:
        if (a->u.release.has_reason)
            named(e, "reason", a->u.release.reason,
                  ami_acse_release_reason_name(a->tag, a->u.release.reason));
        if (a->u.release.has_user_information)
            user_information(e, a->u.release.user_information);
        break;
    default:
        if (ami_apdu_is_ciphered(a->tag))
            ciphered(e, a->tag, &a->u.ciphered);
        break;
    }
    if (a->trailing.len)
        hex(e, "trailing-bytes", a->trailing);
    if (!e->jw)
        e->indent -= 2;
}

void ami_apdu_to_json(const ami_apdu *apdu, ami_arena *scratch, ami_jw *w)
{
    if (!apdu || !w)
        return;
    em e = {.jw = w, .scratch = scratch};
    ami_jw_obj_begin(w);
    body(&e, apdu);
    ami_jw_obj_end(w);
}

int ami_apdu_format_text(const ami_apdu *apdu, ami_arena *scratch, unsigned indent,
                         ami_jw_sink sink, void *user)
{
    if (!apdu || !sink)
        return AMI_E_INVAL;
    em e = {.sink = sink, .user = user, .indent = indent, .line_start = true, .scratch = scratch};
    body(&e, apdu);
    return e.err;
}
