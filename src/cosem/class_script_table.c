/*
 * Script table (class 9, version 0; Blue Book 4.5.3): attribute 2 scripts (read-only: the
 * meter's configuration), method 1 execute (data ::= long-unsigned script_identifier).
 * SPDX-License-Identifier: Apache-2.0
 */
#include "ami/cosem_script.h"
#include "cosem/cosem_util.h"

static int script_check(const ami_cosem_store *s, const ami_cosem_obj *o)
{
    (void)s;
    const ami_cosem_script_table *t = o->state;
    if (!t || (t->count && !t->scripts))
        return AMI_E_CONFIG;
    for (size_t i = 0; i < t->count; i++) {
        const ami_cosem_script *sc = &t->scripts[i];
        if (sc->count && !sc->actions)
            return AMI_E_CONFIG;
        for (size_t j = 0; j < sc->count; j++) {
            const ami_cosem_action *a = &sc->actions[j];
            if ((a->service != AMI_SCRIPT_WRITE_ATTRIBUTE &&
                 a->service != AMI_SCRIPT_EXECUTE_METHOD) ||
                (a->param_len && !a->param))
                return AMI_E_CONFIG;
        }
    }
    return AMI_OK;
}

/* script ::= structure {script_identifier long-unsigned, actions array action_specification};
 * action_specification ::= structure {service_id enum, class_id long-unsigned, logical_name
 * octet-string, index integer, parameter data}. */
static uint8_t script_get(ami_cosem_store *s, ami_cosem_obj *o, uint8_t attr,
                          const ami_access_selection *sel, const ami_dlms_ctx *ctx, ami_wr *out)
{
    (void)s;
    (void)ctx;
    const ami_cosem_script_table *t = o->state;
    if (sel->present)
        return AMI_DAR_SCOPE_OF_ACCESS_VIOLATED;
    if (attr != 2)
        return AMI_DAR_OBJECT_UNDEFINED;
    ami__cosem_put_array(out, t->count);
    for (size_t i = 0; i < t->count; i++) {
        const ami_cosem_script *sc = &t->scripts[i];
        ami__cosem_put_struct(out, 2);
        ami__cosem_put_u16(out, AMI_AXDR_LONG_UNSIGNED, sc->id);
        ami__cosem_put_array(out, sc->count);
        for (size_t j = 0; j < sc->count; j++) {
            const ami_cosem_action *a = &sc->actions[j];
            ami__cosem_put_struct(out, 5);
            ami__cosem_put_u8(out, AMI_AXDR_ENUM, a->service);
            ami__cosem_put_u16(out, AMI_AXDR_LONG_UNSIGNED, a->class_id);
            ami__cosem_put_octets(out, a->ln.v, 6);
            ami__cosem_put_u8(out, AMI_AXDR_INTEGER, (uint8_t)a->index);
            if (a->param_len)
                ami_wr_bytes(out, a->param, a->param_len);
            else
                ami_wr_u8(out, AMI_AXDR_NULL_DATA);
        }
    }
    return AMI_DAR_SUCCESS;
}

uint8_t ami_cosem_script_execute(ami_cosem_store *s, ami_cosem_obj *table, uint16_t id)
{
    if (!s || !table || table->class_id != AMI_COSEM_SCRIPT_TABLE || !table->state)
        return AMI_ACTION_OTHER_REASON;
    ami_cosem_script_table *t = table->state;
    const ami_cosem_script *sc = NULL;
    for (size_t i = 0; i < t->count && !sc; i++)
        if (t->scripts[i].id == id)
            sc = &t->scripts[i];
    if (!sc || t->depth >= AMI_SCRIPT_MAX_DEPTH)
        return AMI_ACTION_OTHER_REASON;
    t->depth++;
    t->executed++;
    uint8_t rc = t->on_execute ? t->on_execute(t->user, id) : AMI_ACTION_SUCCESS;
    /* Return parameters of the methods a script invokes go nowhere (Blue Book: a script has
     * no results); a small sink suffices, and a longer answer only sets its sticky error. */
    uint8_t sink[64];
    for (size_t i = 0; i < sc->count && rc == AMI_ACTION_SUCCESS; i++) {
        const ami_cosem_action *a = &sc->actions[i];
        ami_cosem_desc d = {a->class_id, a->ln, a->index};
        ami_view p = ami_view_of(a->param, a->param_len);
        if (!ami__cosem_id_valid(a->class_id, a->index, a->service == AMI_SCRIPT_EXECUTE_METHOD)) {
            rc = AMI_DAR_OBJECT_UNDEFINED;
            break;
        }
        if (a->service == AMI_SCRIPT_WRITE_ATTRIBUTE) {
            rc = ami_cosem_store_ops.set(s, &d, p, &ami__cosem_self_ctx);
        } else {
            ami_wr w;
            ami_wr_init(&w, sink, sizeof sink);
            /* null-data parameters mean "none" */
            if (p.len == 1 && p.p[0] == AMI_AXDR_NULL_DATA)
                p.len = 0;
            rc = ami_cosem_store_ops.action(s, &d, p, &ami__cosem_self_ctx, &w);
        }
    }
    t->depth--;
    return rc;
}

static uint8_t script_action(ami_cosem_store *s, ami_cosem_obj *o, uint8_t id, ami_view params,
                             const ami_dlms_ctx *ctx, ami_wr *out)
{
    (void)ctx;
    (void)out;
    ami_rd r;
    ami_rd_init(&r, params.p, params.len);
    uint16_t sid;
    if (id != 1)
        return AMI_DAR_OBJECT_UNDEFINED;
    if (ami__cosem_rd_u16(&r, AMI_AXDR_LONG_UNSIGNED, &sid) != AMI_OK || ami_rd_left(&r))
        return AMI_DAR_TYPE_UNMATCHED;
    return ami_cosem_script_execute(s, o, sid);
}

const ami__cosem_class ami__cosem_class_script_table = {
    .id = AMI_COSEM_SCRIPT_TABLE,
    .version = 0,
    .attrs = 2,
    .methods = 1,
    .check = script_check,
    .get = script_get,
    .action = script_action,
};
