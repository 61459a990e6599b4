/*
 * Disconnect control (class 70, version 0; Blue Book 4.5.8): see ami/cosem_disconnect.h for the
 * state machine.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "ami/cosem_disconnect.h"
#include "cosem/cosem_util.h"

/* logical_name, output_state, control_state, control_mode (rw). */
static const uint8_t disconnect_access[4] = {AMI_ACCESS_READ, AMI_ACCESS_READ, AMI_ACCESS_READ,
                                             AMI_ACCESS_READ_WRITE};

/* Transitions a..h by bit (bit 0 = a). */
enum {
    TR_A = 1u << 0,
    TR_B = 1u << 1,
    TR_C = 1u << 2,
    TR_D = 1u << 3,
    TR_E = 1u << 4,
    TR_F = 1u << 5,
    TR_G = 1u << 6,
    TR_H = 1u << 7
};

/* The transitions each control mode allows (Blue Book 4.5.8, control_mode). */
static const uint8_t mode_allows[7] = {
    0,
    TR_B | TR_C | TR_F | TR_G | TR_D | TR_E,
    TR_B | TR_C | TR_F | TR_G | TR_A | TR_E,
    TR_B | TR_C | TR_G | TR_D | TR_E,
    TR_B | TR_C | TR_G | TR_A | TR_E,
    TR_B | TR_C | TR_F | TR_G | TR_D | TR_E | TR_H,
    TR_B | TR_C | TR_G | TR_D | TR_E | TR_H,
};

static void set_state(ami_cosem_disconnect *d, uint8_t st)
{
    bool out = st == AMI_DISCONNECT_CONNECTED;
    d->control_state = st;
    if (out != d->output_state) {
        d->output_state = out;
        if (d->on_output)
            d->on_output(d->user, out);
    }
}

int ami_cosem_disconnect_init(ami_cosem_disconnect *d, uint8_t mode, ami_disconnect_fn on_output,
                              void *user)
{
    if (!d)
        return AMI_E_INVAL;
    if (mode > 6)
        return AMI_E_RANGE;
    *d = (ami_cosem_disconnect){.output_state = true,
                                .control_state = AMI_DISCONNECT_CONNECTED,
                                .control_mode = mode,
                                .on_output = on_output,
                                .user = user};
    return AMI_OK;
}

int ami_cosem_disconnect_trigger(ami_cosem_disconnect *d, unsigned trigger)
{
    if (!d || d->control_mode > 6)
        return AMI_E_INVAL;
    uint8_t allow = mode_allows[d->control_mode], st = d->control_state;
    /* The transition this trigger takes from this state (0: none), and the one it would take
     * in some mode (to tell "the mode forbids it" from "nothing to do from here"). */
    uint8_t tr = 0, to = st;
    switch (trigger) {
    case AMI_DISCONNECT_REMOTE_DISCONNECT:
        if (st == AMI_DISCONNECT_CONNECTED)
            tr = TR_B;
        else if (st == AMI_DISCONNECT_READY_FOR_RECONNECTION)
            tr = TR_C;
        to = AMI_DISCONNECT_DISCONNECTED;
        break;
    case AMI_DISCONNECT_REMOTE_RECONNECT:
        if (st == AMI_DISCONNECT_DISCONNECTED) {
            tr = (allow & TR_A) ? TR_A : TR_D;
            to = tr == TR_A ? AMI_DISCONNECT_CONNECTED : AMI_DISCONNECT_READY_FOR_RECONNECTION;
        }
        break;
    case AMI_DISCONNECT_MANUAL_DISCONNECT:
    case AMI_DISCONNECT_LOCAL_DISCONNECT:
        if (st == AMI_DISCONNECT_CONNECTED)
            tr = trigger == AMI_DISCONNECT_MANUAL_DISCONNECT ? TR_F : TR_G;
        to = AMI_DISCONNECT_READY_FOR_RECONNECTION;
        break;
    case AMI_DISCONNECT_MANUAL_RECONNECT:
    case AMI_DISCONNECT_LOCAL_RECONNECT:
        if (st == AMI_DISCONNECT_READY_FOR_RECONNECTION)
            tr = trigger == AMI_DISCONNECT_MANUAL_RECONNECT ? TR_E : TR_H;
        to = AMI_DISCONNECT_CONNECTED;
        break;
    default:
        return AMI_E_INVAL;
    }
    if (d->control_mode == 0)
        return AMI_E_ACCESS; /* mode 0: always connected */
    if (!tr)
        return AMI_E_STATE;
    if (!(allow & tr))
        return AMI_E_ACCESS;
    set_state(d, to);
    return AMI_OK;
}

static int disconnect_check(const ami_cosem_store *s, const ami_cosem_obj *o)
{
    (void)s;
    const ami_cosem_disconnect *d = o->state;
    return d && d->control_mode <= 6 && d->control_state <= 2 ? AMI_OK : AMI_E_CONFIG;
}

static uint8_t disconnect_get(ami_cosem_store *s, ami_cosem_obj *o, uint8_t attr,
                              const ami_access_selection *sel, const ami_dlms_ctx *ctx, ami_wr *out)
{
    (void)s;
    (void)ctx;
    const ami_cosem_disconnect *d = o->state;
    if (sel->present)
        return AMI_DAR_SCOPE_OF_ACCESS_VIOLATED;
    switch (attr) {
    case 2:
        ami__cosem_put_u8(out, AMI_AXDR_BOOLEAN, d->output_state ? 1 : 0);
        return AMI_DAR_SUCCESS;
    case 3:
        ami__cosem_put_u8(out, AMI_AXDR_ENUM, d->control_state);
        return AMI_DAR_SUCCESS;
    case 4:
        ami__cosem_put_u8(out, AMI_AXDR_ENUM, d->control_mode);
        return AMI_DAR_SUCCESS;
    default:
        return AMI_DAR_OBJECT_UNDEFINED;
    }
}

static uint8_t disconnect_set(ami_cosem_store *s, ami_cosem_obj *o, uint8_t attr, ami_view data,
                              const ami_dlms_ctx *ctx)
{
    (void)s;
    (void)ctx;
    ami_cosem_disconnect *d = o->state;
    if (attr != 4)
        return AMI_DAR_READ_WRITE_DENIED;
    if (data.len != 2 || data.p[0] != AMI_AXDR_ENUM)
        return AMI_DAR_TYPE_UNMATCHED;
    if (data.p[1] > 6)
        return AMI_DAR_OTHER_REASON;
    d->control_mode = data.p[1];
    if (d->control_mode == 0) /* mode 0: the object is always connected */
        set_state(d, AMI_DISCONNECT_CONNECTED);
    return AMI_DAR_SUCCESS;
}

static uint8_t disconnect_action(ami_cosem_store *s, ami_cosem_obj *o, uint8_t id, ami_view params,
                                 const ami_dlms_ctx *ctx, ami_wr *out)
{
    (void)s;
    (void)ctx;
    (void)out;
    /* data ::= integer(0); absent parameters are taken as that too (many clients send none). */
    if (params.len && !ami__cosem_is_integer0(params))
        return AMI_DAR_TYPE_UNMATCHED;
    int rc = ami_cosem_disconnect_trigger(o->state, id == 1 ? AMI_DISCONNECT_REMOTE_DISCONNECT
                                                            : AMI_DISCONNECT_REMOTE_RECONNECT);
    if (rc == AMI_E_ACCESS)
        return AMI_DAR_TEMPORARY_FAILURE;
    return rc == AMI_OK || rc == AMI_E_STATE ? AMI_ACTION_SUCCESS : AMI_ACTION_OTHER_REASON;
}

const ami__cosem_class ami__cosem_class_disconnect_control = {
    .id = AMI_COSEM_DISCONNECT_CONTROL,
    .version = 0,
    .attrs = 4,
    .methods = 2,
    .access = disconnect_access,
    .check = disconnect_check,
    .get = disconnect_get,
    .set = disconnect_set,
    .action = disconnect_action,
};
