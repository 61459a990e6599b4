/*
 * DLMS/COSEM server association engine (ami/dlms_server.h): AARQ/AARE, RLRQ/RLRE and the LN
 * services GET/SET/ACTION dispatched to an object store, with block transfer.
 *
 * Green Book references: 9.3.2 (association establishment, AARE result and diagnostics),
 * 9.3.3 (release), 9.3.6-9.3.9 (GET/SET/ACTION and their block transfer), 9.5 (ASN.1, A-XDR).
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "ami/dlms_server.h"
#include "server_internal.h"

/* VAA name (Green Book 9.5, InitiateResponse vaa-name): 0x0007 for LN, 0xFA00 for SN. */
#define VAA_LN 0x0007u
#define VAA_SN 0xFA00u

/* Confirmed-ServiceError: initiateError [1], ServiceError initiate [6] values. */
enum {
    CSE_INITIATE_ERROR = 1,
    CSE_READ = 5,
    CSE_WRITE = 6,
    SE_SERVICE = 3,
    SE_INITIATE = 6,
    SE_SERVICE_UNSUPPORTED = 2,
    INIT_OTHER = 0,
    INIT_DLMS_VERSION_TOO_LOW = 1,
    INIT_INCOMPATIBLE_CONFORMANCE = 2,
    INIT_PDU_SIZE_TOO_SHORT = 3,
};

/* ---------------------------------------------------------------- access rights */

bool ami_access_can_read(uint8_t mode, bool auth)
{
    switch (mode) {
    case AMI_ACCESS_READ:
    case AMI_ACCESS_READ_WRITE:
        return true;
    case AMI_ACCESS_AUTH_READ:
    case AMI_ACCESS_AUTH_READ_WRITE:
        return auth;
    default:
        return false;
    }
}

bool ami_access_can_write(uint8_t mode, bool auth)
{
    switch (mode) {
    case AMI_ACCESS_WRITE:
    case AMI_ACCESS_READ_WRITE:
        return true;
    case AMI_ACCESS_AUTH_WRITE:
    case AMI_ACCESS_AUTH_READ_WRITE:
        return auth;
    default:
        return false;
    }
}

bool ami_method_can_invoke(uint8_t mode, bool auth)
{
    return mode == AMI_METHOD_ACCESS || (mode == AMI_METHOD_AUTH_ACCESS && auth);
}

/* ---------------------------------------------------------------- server */

int ami_dlms_server_init(ami_dlms_server *s, const ami_dlms_server_config *cfg)
{
    if (!s || !cfg || !cfg->ops || (cfg->policy_count && !cfg->policies))
        return AMI_E_INVAL;
    if (!cfg->ops->access || !cfg->ops->get)
        return AMI_E_CONFIG;
    for (size_t i = 0; i < cfg->policy_count; i++) {
        const ami_dlms_policy *p = &cfg->policies[i];
        if (p->context != AMI_ACSE_CONTEXT_LN && p->context != AMI_ACSE_CONTEXT_SN)
            return AMI_E_CONFIG;
        if (p->mechanism > AMI_ACSE_MECH_ECDSA || (p->mechanism >= AMI_ACSE_MECH_HIGH && !p->sec) ||
            (p->sec && ami__sec_check_policy(cfg, p) != AMI_OK))
            return AMI_E_CONFIG;
        if (p->mechanism == AMI_ACSE_MECH_LOW && (!p->password || !p->password_len))
            return AMI_E_CONFIG;
        if (p->max_pdu && p->max_pdu < 12)
            return AMI_E_CONFIG;
        for (size_t j = 0; j < i; j++)
            if (cfg->policies[j].client_sap == p->client_sap)
                return AMI_E_CONFIG;
    }
    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    if (!s->cfg.server_sap)
        s->cfg.server_sap = 1;
    if (cfg->limits)
        s->lim = *cfg->limits;
    else
        ami_axdr_limits_default(&s->lim);
    return AMI_OK;
}

const ami_dlms_policy *ami_dlms_server_policy(const ami_dlms_server *s, uint16_t client_sap)
{
    if (!s)
        return NULL;
    for (size_t i = 0; i < s->cfg.policy_count; i++)
        if (s->cfg.policies[i].client_sap == client_sap)
            return &s->cfg.policies[i];
    return NULL;
}

static uint16_t policy_max_pdu(const ami_dlms_policy *p)
{
    return p->max_pdu ? p->max_pdu : 1024;
}

/* ---------------------------------------------------------------- association */

/* GBT is offered only to associations that have its buffers (ami_dlms_assoc_mem). */
static uint32_t usable_conformance(const ami_dlms_assoc *a, uint32_t conformance)
{
    if (!a->gbt.rx || !a->gbt.tx)
        conformance &= ~(uint32_t)AMI_CONF_GENERAL_BLOCK_TRANSFER;
    return conformance;
}

static void establish(ami_dlms_assoc *a, uint32_t conformance, uint16_t client_max_pdu)
{
    conformance = usable_conformance(a, conformance);
    a->ctx.state = AMI_DLMS_ASSOC_ASSOCIATED;
    a->ctx.context = a->policy->context;
    a->ctx.mechanism = a->policy->mechanism;
    a->ctx.conformance = conformance;
    a->ctx.client_max_pdu = client_max_pdu;
    a->ctx.server_max_pdu = policy_max_pdu(a->policy);
}

static void drop_blocks(ami_dlms_assoc *a)
{
    a->blk_kind = BLK_NONE;
    a->blk_len = a->blk_off = 0;
    a->blk_number = 0;
    a->blk_list = false;
    a->blk_list_count = 0;
}

void ami__dlms_drop_blocks(ami_dlms_assoc *a)
{
    drop_blocks(a);
}

void ami_dlms_assoc_reset(ami_dlms_assoc *a)
{
    if (!a)
        return;
    drop_blocks(a);
    ami__sec_reset(a);
    ami__dlms_gbt_reset(a);
    a->ctx.state = AMI_DLMS_ASSOC_IDLE;
    a->ctx.conformance = 0;
    a->ctx.client_max_pdu = 0;
    if (a->policy && a->policy->pre_established)
        establish(a, a->policy->conformance, policy_max_pdu(a->policy));
}

int ami_dlms_assoc_init(ami_dlms_assoc *a, const ami_dlms_server *s, uint16_t client_sap,
                        const ami_dlms_assoc_mem *mem)
{
    if (!a || !s || !mem || !mem->block)
        return AMI_E_INVAL;
    if (mem->block_cap < 64)
        return AMI_E_CONFIG;
    const ami_dlms_policy *p = ami_dlms_server_policy(s, client_sap);
    if (p && p->sec && (!mem->cipher || mem->cipher_cap < 2 * (size_t)policy_max_pdu(p) + 64))
        return AMI_E_CONFIG;
    memset(a, 0, sizeof *a);
    a->srv = s;
    a->mem = *mem;
    a->policy = p;
    a->ctx.client_sap = client_sap;
    a->ctx.server_sap = s->cfg.server_sap;
    a->ctx.context = a->policy ? a->policy->context : AMI_ACSE_CONTEXT_LN;
    ami_dlms_assoc_reset(a);
    return AMI_OK;
}

uint8_t ami_dlms_assoc_state(const ami_dlms_assoc *a)
{
    return a ? a->ctx.state : AMI_DLMS_ASSOC_IDLE;
}

const ami_dlms_ctx *ami_dlms_assoc_ctx(const ami_dlms_assoc *a)
{
    return a ? &a->ctx : NULL;
}

const ami_dlms_assoc_stats *ami_dlms_assoc_stats_get(const ami_dlms_assoc *a)
{
    return a ? &a->stats : NULL;
}

/* ---------------------------------------------------------------- response helpers */

/* Finishes a response written into w: its length, or AMI_E_NOSPACE. */
static int finish(ami_dlms_assoc *a, ami_wr *w)
{
    if (ami_wr_error(w))
        return AMI_E_NOSPACE;
    a->stats.responses++;
    return (int)w->len;
}

static int encode_response(ami_dlms_assoc *a, ami_wr *w, const ami_apdu *apdu)
{
    int rc = ami_apdu_encode(w, apdu);
    if (rc == AMI_E_NOSPACE || ami_wr_error(w))
        return AMI_E_NOSPACE;
    if (rc != AMI_OK)
        return AMI_E_INTERNAL;
    return finish(a, w);
}

/* exception-response (Green Book 9.5): state-error, service-error. */
static int exception(ami_dlms_assoc *a, ami_wr *w, uint8_t state_error, uint8_t service_error)
{
    a->stats.rejected++;
    ami_wr_u8(w, AMI_APDU_EXCEPTION_RESPONSE);
    ami_wr_u8(w, state_error);
    ami_wr_u8(w, service_error);
    return finish(a, w);
}

static int confirmed_service_error(ami_dlms_assoc *a, ami_wr *w, uint8_t service, uint8_t type,
                                   uint8_t value)
{
    a->stats.rejected++;
    ami_wr_u8(w, AMI_APDU_CONFIRMED_SERVICE_ERROR);
    ami_wr_u8(w, service);
    ami_wr_u8(w, type);
    ami_wr_u8(w, value);
    return finish(a, w);
}

/* Bytes of the A-XDR length prefix of n. */
static size_t length_size(size_t n)
{
    if (n < 0x80)
        return 1;
    if (n <= 0xFF)
        return 2;
    if (n <= 0xFFFF)
        return 3;
    if (n <= 0xFFFFFF)
        return 4;
    return 5;
}

/* True when v holds exactly one valid Data. */
static bool one_data(const ami_dlms_assoc *a, const uint8_t *p, size_t n)
{
    ami_rd r;
    ami_rd_init(&r, p, n);
    return n && ami_axdr_skip(&r, &a->srv->lim) == AMI_OK && ami_rd_left(&r) == 0;
}

/* ---------------------------------------------------------------- association services */

static int aare(ami_dlms_assoc *a, ami_wr *w, uint8_t context, uint8_t result, uint8_t diag,
                const uint8_t *ui, size_t ui_len)
{
    ami_apdu r;
    memset(&r, 0, sizeof r);
    r.tag = AMI_ACSE_AARE;
    r.u.aare.c.context = context;
    r.u.aare.result = result;
    r.u.aare.diag_source = AMI_ACSE_DIAG_USER;
    r.u.aare.diagnostic = diag;
    if (ui_len) {
        r.u.aare.c.has_user_information = true;
        r.u.aare.c.user_information = ami_view_of(ui, ui_len);
    }
    if (result != AMI_ACSE_ACCEPTED)
        a->stats.aarq_rejected++;
    return encode_response(a, w, &r);
}

static int reject(ami_dlms_assoc *a, ami_wr *w, uint8_t context, uint8_t diag)
{
    return aare(a, w, context, AMI_ACSE_REJECTED_PERMANENT, diag, NULL, 0);
}

/* AARE rejected with a confirmed-service-error initiateError in user-information. */
static int reject_initiate(ami_dlms_assoc *a, ami_wr *w, uint8_t context, uint8_t value)
{
    const uint8_t ui[4] = {AMI_APDU_CONFIRMED_SERVICE_ERROR, CSE_INITIATE_ERROR, SE_INITIATE,
                           value};
    return aare(a, w, context, AMI_ACSE_REJECTED_PERMANENT, AMI_ACSE_USER_NO_REASON, ui, sizeof ui);
}

/*
 * Authentication of the AARQ (Green Book 9.3.2, 9.2.7.3): the mechanism must be the one the
 * SAP's policy names; LLS compares the password in constant time. HLS (mechanisms 2..7) plugs
 * in here: pass 1/2 would accept with result accepted + authentication-required and a server
 * challenge, leaving the association PENDING until reply_to_HLS_authentication.
 * Returns 0 when accepted, else the acse-service-user diagnostic.
 */
static uint8_t authenticate(const ami_dlms_policy *p, const ami_aarq *q)
{
    uint8_t mech = q->c.has_mechanism ? q->c.mechanism : AMI_ACSE_MECH_NONE;
    if (p->mechanism == AMI_ACSE_MECH_NONE)
        return mech == AMI_ACSE_MECH_NONE ? 0 : AMI_ACSE_USER_MECHANISM_NOT_RECOGNISED;
    if (mech == AMI_ACSE_MECH_NONE)
        return AMI_ACSE_USER_MECHANISM_REQUIRED;
    if (mech != p->mechanism)
        return AMI_ACSE_USER_MECHANISM_NOT_RECOGNISED;
    if (!q->c.has_auth_value || q->c.auth_kind != AMI_ACSE_AUTH_CHARSTRING)
        return AMI_ACSE_USER_AUTHENTICATION_REQUIRED;
    /* The length is not secret in practice (it is on the wire); the contents are compared in
     * time that depends only on the stored length. */
    bool same = q->c.auth_value.len == p->password_len;
    const uint8_t *cand = same ? q->c.auth_value.p : p->password;
    bool eq = ami_ct_equal(cand, p->password, p->password_len);
    return (same && eq) ? 0 : AMI_ACSE_USER_AUTHENTICATION_FAILURE;
}

static int handle_aarq(ami_dlms_assoc *a, const uint8_t *req, size_t len, ami_wr *w)
{
    /* A new AARQ ends the current association (a pre-established one is re-established by
     * ami_dlms_assoc_reset): the Green Book leaves it to the server; accepting it anew is what
     * clients that reconnect without RLRQ expect. */
    ami_dlms_assoc_reset(a);
    const ami_dlms_policy *p = a->policy;
    uint8_t ctx = p ? p->context : AMI_ACSE_CONTEXT_LN;
    ami_aarq q;
    if (ami_aarq_decode(req, len, &q) != AMI_OK) {
        a->stats.malformed++;
        return reject(a, w, ctx, AMI_ACSE_USER_NO_REASON);
    }
    if (!p)
        return reject(a, w, q.c.context, AMI_ACSE_USER_NO_REASON);
    if (q.c.context != p->context)
        return reject(a, w, p->context, AMI_ACSE_USER_CONTEXT_NOT_SUPPORTED);
    uint8_t diag = authenticate(p, &q);
    if (diag)
        return reject(a, w, ctx, diag);
    if (!q.c.has_user_information)
        return reject(a, w, ctx, AMI_ACSE_USER_NO_REASON);
    ami_apdu init;
    if (ami_apdu_decode(q.c.user_information.p, q.c.user_information.len, NULL, NULL, &init) !=
            AMI_OK ||
        init.tag != AMI_APDU_INITIATE_REQUEST) {
        a->stats.malformed++;
        return reject_initiate(a, w, ctx, INIT_OTHER);
    }
    const ami_initiate_request *ir = &init.u.initiate_request;
    if (ir->dlms_version < 6)
        return reject_initiate(a, w, ctx, INIT_DLMS_VERSION_TOO_LOW);
    if (ir->max_pdu_size && ir->max_pdu_size < 12)
        return reject_initiate(a, w, ctx, INIT_PDU_SIZE_TOO_SHORT);
    uint32_t conf = usable_conformance(a, ir->conformance & p->conformance);
    if (!conf)
        return reject_initiate(a, w, ctx, INIT_INCOMPATIBLE_CONFORMANCE);
    /* client-max-receive-pdu-size 0 would mean "no limit"; the wrapper caps an APDU at 65535. */
    establish(a, conf, ir->max_pdu_size ? ir->max_pdu_size : 0xFFFF);

    uint8_t ui[32];
    ami_wr uw;
    ami_wr_init(&uw, ui, sizeof ui);
    ami_apdu resp;
    memset(&resp, 0, sizeof resp);
    resp.tag = AMI_APDU_INITIATE_RESPONSE;
    resp.u.initiate_response.dlms_version = 6;
    resp.u.initiate_response.conformance = conf;
    resp.u.initiate_response.max_pdu_size = a->ctx.server_max_pdu;
    resp.u.initiate_response.vaa_name = p->context == AMI_ACSE_CONTEXT_SN ? VAA_SN : VAA_LN;
    if (ami_apdu_encode(&uw, &resp) != AMI_OK)
        return AMI_E_INTERNAL;
    return aare(a, w, ctx, AMI_ACSE_ACCEPTED, AMI_ACSE_USER_NULL, ui, uw.len);
}

static int handle_rlrq(ami_dlms_assoc *a, const uint8_t *req, size_t len, ami_wr *w)
{
    ami_release q;
    if (ami_release_decode(req, len, AMI_ACSE_RLRQ, &q) != AMI_OK) {
        /* ACSE has no error APDU for a broken RLRQ: count it, keep the association. */
        a->stats.malformed++;
        return 0;
    }
    ami_apdu r;
    memset(&r, 0, sizeof r);
    r.tag = AMI_ACSE_RLRE;
    r.u.release.has_reason = true;
    if (a->policy && a->policy->pre_established) {
        /* A pre-established association cannot be released (Green Book 9.3.3). */
        r.u.release.reason = AMI_ACSE_RELEASE_URGENT; /* RLRE: not-finished */
    } else {
        r.u.release.reason = AMI_ACSE_RELEASE_NORMAL;
        ami_dlms_assoc_reset(a);
    }
    return encode_response(a, w, &r);
}

/* ---------------------------------------------------------------- GET */

/*
 * Reads one attribute into buf[0..cap): checks existence and access rights, calls the store,
 * validates what it wrote. Returns the DAR; *n the bytes of the Data on success.
 */
static uint8_t read_attr(ami_dlms_assoc *a, const ami_attr_sel *sel, uint8_t *buf, size_t cap,
                         size_t *n)
{
    const ami_dlms_store_ops *ops = a->srv->cfg.ops;
    void *self = a->srv->cfg.store;
    *n = 0;
    if (sel->attr.id == 0)
        return ami__dlms_read_attr0(a, sel, buf, cap, n);
    ami_wr out;
    ami_wr_init(&out, buf, cap);
    int own = ami__sec_get(a, sel, &out); /* objects the engine serves (security) */
    if (own >= 0) {
        if (own == AMI_DAR_SUCCESS && ami_wr_error(&out))
            return AMI_DAR_OTHER_REASON;
        *n = own == AMI_DAR_SUCCESS ? out.len : 0;
        return (uint8_t)own;
    }
    int mode = ops->access(self, &sel->attr, false, &a->ctx);
    if (mode < 0)
        return AMI_DAR_OBJECT_UNDEFINED;
    if (!ami_access_can_read((uint8_t)mode, a->ctx.apdu_authenticated))
        return AMI_DAR_READ_WRITE_DENIED;
    if (sel->access.present && !(a->ctx.conformance & AMI_CONF_SELECTIVE_ACCESS))
        return AMI_DAR_SCOPE_OF_ACCESS_VIOLATED;
    uint8_t dar = ops->get(self, &sel->attr, &sel->access, &a->ctx, &out);
    if (dar != AMI_DAR_SUCCESS)
        return dar;
    /* A value larger than the block buffer (AMI_E_NOSPACE: the ceiling) or a store that wrote
     * something else than one Data is answered other-reason. */
    if (ami_wr_error(&out) || !one_data(a, buf, out.len))
        return AMI_DAR_OTHER_REASON;
    size_t len = out.len;
    /* Association LN object_list: the store lists its objects, the engine adds its own. */
    if (sel->attr.class_id == 15 && sel->attr.id == 2) {
        dar = ami__sec_object_list(a, buf, cap, &len);
        if (dar != AMI_DAR_SUCCESS)
            return dar;
    }
    *n = len;
    return AMI_DAR_SUCCESS;
}

/* Sends the next block of a long GET (Green Book 9.3.7, GET-Response-With-Datablock). */
static int send_get_block(ami_dlms_assoc *a, ami_wr *w)
{
    /* Header: tag, choice, iip, last-block, block-number(4), result choice, raw-data length. */
    size_t avail = w->cap - 9;
    size_t left = a->blk_len - a->blk_off;
    size_t chunk = left < avail ? left : avail;
    while (chunk && chunk + length_size(chunk) > avail)
        chunk--;
    if (!chunk)
        return AMI_E_NOSPACE;
    bool last = chunk == left;
    a->blk_number++;
    ami_wr_u8(w, AMI_APDU_GET_RESPONSE);
    ami_wr_u8(w, AMI_GET_WITH_DATABLOCK);
    ami_wr_u8(w, a->blk_iip);
    ami_wr_u8(w, last ? 1 : 0);
    ami_wr_u32be(w, a->blk_number);
    ami_wr_u8(w, 0); /* raw-data */
    ami_axdr_put_length(w, chunk);
    ami_wr_bytes(w, a->mem.block + a->blk_off, chunk);
    a->blk_off += chunk;
    a->stats.blocks_out++;
    if (last)
        drop_blocks(a);
    return finish(a, w);
}

/* GET-Response-With-Datablock carrying a data-access-result (Green Book 9.3.7). */
static int get_block_error(ami_dlms_assoc *a, ami_wr *w, uint8_t iip, uint32_t number, uint8_t dar)
{
    a->stats.rejected++;
    ami_wr_u8(w, AMI_APDU_GET_RESPONSE);
    ami_wr_u8(w, AMI_GET_WITH_DATABLOCK);
    ami_wr_u8(w, iip);
    ami_wr_u8(w, 1);
    ami_wr_u32be(w, number);
    ami_wr_u8(w, 1); /* data-access-result */
    ami_wr_u8(w, dar);
    return finish(a, w);
}

/*
 * Sends a GET response whose body (a Data for NORMAL, a counted list of Get-Data-Results for
 * WITH_LIST) is in the block buffer: at once when it fits the client's PDU, else in blocks.
 */
static int send_get_body(ami_dlms_assoc *a, ami_wr *w, uint8_t type, uint8_t iip, size_t body)
{
    size_t head = type == AMI_GET_NORMAL ? 4 : 3;
    if (head + body <= w->cap) {
        ami_wr_u8(w, AMI_APDU_GET_RESPONSE);
        ami_wr_u8(w, type);
        ami_wr_u8(w, iip);
        if (type == AMI_GET_NORMAL)
            ami_wr_u8(w, 0); /* data */
        ami_wr_bytes(w, a->mem.block, body);
        return finish(a, w);
    }
    if (!(a->ctx.conformance & AMI_CONF_BLOCK_TRANSFER_WITH_GET_OR_READ)) {
        /* Too long for the client and no block transfer negotiated. */
        if (type == AMI_GET_NORMAL) {
            ami_wr_u8(w, AMI_APDU_GET_RESPONSE);
            ami_wr_u8(w, type);
            ami_wr_u8(w, iip);
            ami_wr_u8(w, 1);
            ami_wr_u8(w, AMI_DAR_OTHER_REASON);
            return finish(a, w);
        }
        return exception(a, w, AMI_STATE_ERROR_SERVICE_NOT_ALLOWED, AMI_SERVICE_ERROR_PDU_TOO_LONG);
    }
    a->blk_kind = BLK_GET_OUT;
    a->blk_iip = iip;
    a->blk_list = type == AMI_GET_WITH_LIST;
    a->blk_len = body;
    a->blk_off = 0;
    a->blk_number = 0;
    return send_get_block(a, w);
}

static int handle_get(ami_dlms_assoc *a, const ami_get_request *g, ami_wr *w)
{
    uint32_t conf = a->ctx.conformance;
    if (!(conf & AMI_CONF_GET))
        return exception(a, w, AMI_STATE_ERROR_SERVICE_NOT_ALLOWED,
                         AMI_SERVICE_ERROR_SERVICE_NOT_SUPPORTED);
    switch (g->type) {
    case AMI_GET_NORMAL: {
        drop_blocks(a);
        size_t n;
        uint8_t dar = read_attr(a, &g->attr, a->mem.block, a->mem.block_cap, &n);
        if (dar != AMI_DAR_SUCCESS) {
            ami_wr_u8(w, AMI_APDU_GET_RESPONSE);
            ami_wr_u8(w, AMI_GET_NORMAL);
            ami_wr_u8(w, g->iip);
            ami_wr_u8(w, 1);
            ami_wr_u8(w, dar);
            return finish(a, w);
        }
        return send_get_body(a, w, AMI_GET_NORMAL, g->iip, n);
    }
    case AMI_GET_NEXT:
        if (a->blk_kind != BLK_GET_OUT)
            return get_block_error(a, w, g->iip, g->block_number, AMI_DAR_NO_LONG_GET_IN_PROGRESS);
        if (g->block_number != a->blk_number) {
            /* The client acknowledges another block than the last one sent: abort. */
            drop_blocks(a);
            return get_block_error(a, w, g->iip, g->block_number,
                                   AMI_DAR_DATA_BLOCK_NUMBER_INVALID);
        }
        return send_get_block(a, w);
    case AMI_GET_WITH_LIST: {
        if (!(conf & AMI_CONF_MULTIPLE_REFERENCES))
            return exception(a, w, AMI_STATE_ERROR_SERVICE_NOT_ALLOWED,
                             AMI_SERVICE_ERROR_SERVICE_NOT_SUPPORTED);
        drop_blocks(a);
        ami_wr b;
        ami_wr_init(&b, a->mem.block, a->mem.block_cap);
        ami_axdr_put_length(&b, g->count);
        for (uint32_t i = 0; i < g->count && !ami_wr_error(&b); i++) {
            size_t n = 0, at = b.len;
            uint8_t dar = AMI_DAR_OTHER_REASON;
            if (b.cap - b.len > 2)
                dar = read_attr(a, &g->list[i], a->mem.block + at + 1, b.cap - at - 1, &n);
            if (dar == AMI_DAR_SUCCESS) {
                ami_wr_u8(&b, 0);
                ami_wr_reserve(&b, n);
            } else {
                ami_wr_u8(&b, 1);
                ami_wr_u8(&b, dar);
            }
        }
        if (ami_wr_error(&b)) {
            /* The results do not fit the block buffer: the whole list fails. */
            return exception(a, w, AMI_STATE_ERROR_SERVICE_NOT_ALLOWED,
                             AMI_SERVICE_ERROR_PDU_TOO_LONG);
        }
        return send_get_body(a, w, AMI_GET_WITH_LIST, g->iip, b.len);
    }
    default:
        return exception(a, w, AMI_STATE_ERROR_SERVICE_UNKNOWN,
                         AMI_SERVICE_ERROR_SERVICE_NOT_SUPPORTED);
    }
}

/* ---------------------------------------------------------------- SET */

static uint8_t write_attr(ami_dlms_assoc *a, const ami_cosem_desc *ref, ami_view data)
{
    const ami_dlms_store_ops *ops = a->srv->cfg.ops;
    int mode = ops->access(a->srv->cfg.store, ref, false, &a->ctx);
    if (mode < 0)
        return AMI_DAR_OBJECT_UNDEFINED;
    if (!ami_access_can_write((uint8_t)mode, a->ctx.apdu_authenticated) || !ops->set)
        return AMI_DAR_READ_WRITE_DENIED;
    if (!one_data(a, data.p, data.len))
        return AMI_DAR_TYPE_UNMATCHED;
    return ops->set(a->srv->cfg.store, ref, data, &a->ctx);
}

static int set_response(ami_dlms_assoc *a, ami_wr *w, uint8_t type, uint8_t iip, uint8_t result,
                        uint32_t number)
{
    ami_wr_u8(w, AMI_APDU_SET_RESPONSE);
    ami_wr_u8(w, type);
    ami_wr_u8(w, iip);
    if (type == AMI_SET_RESPONSE_NORMAL || type == AMI_SET_RESPONSE_LAST_DATABLOCK)
        ami_wr_u8(w, result);
    if (type != AMI_SET_RESPONSE_NORMAL)
        ami_wr_u32be(w, number);
    return finish(a, w);
}

/* Room for data in the block buffer when descriptors are kept at its end. */
static size_t set_data_cap(const ami_dlms_assoc *a)
{
    return a->mem.block_cap - (size_t)a->blk_list_count * sizeof(ami_cosem_desc);
}

/* Completes a long SET: the accumulated bytes are one Data (normal) or a value list. */
static int finish_long_set(ami_dlms_assoc *a, ami_wr *w, uint8_t iip)
{
    uint32_t number = a->blk_number;
    if (!a->blk_list) {
        uint8_t dar = write_attr(a, &a->blk_ref, ami_view_of(a->mem.block, a->blk_len));
        drop_blocks(a);
        return set_response(a, w, AMI_SET_RESPONSE_LAST_DATABLOCK, iip, dar, number);
    }
    uint32_t count = a->blk_list_count;
    const uint8_t *descs = a->mem.block + set_data_cap(a);
    ami_rd r;
    ami_rd_init(&r, a->mem.block, a->blk_len);
    size_t n = 0;
    int rc = ami_axdr_get_length(&r, &n);
    if (rc != AMI_OK || n != count) {
        drop_blocks(a);
        a->stats.malformed++;
        return exception(a, w, AMI_STATE_ERROR_SERVICE_NOT_ALLOWED,
                         AMI_SERVICE_ERROR_OPERATION_NOT_POSSIBLE);
    }
    ami_wr_u8(w, AMI_APDU_SET_RESPONSE);
    ami_wr_u8(w, AMI_SET_RESPONSE_LAST_DATABLOCK_WITH_LIST);
    ami_wr_u8(w, iip);
    ami_axdr_put_length(w, count);
    for (uint32_t i = 0; i < count; i++) {
        ami_cosem_desc d;
        memcpy(&d, descs + (size_t)i * sizeof d, sizeof d);
        size_t at = r.pos;
        uint8_t dar = AMI_DAR_TYPE_UNMATCHED;
        if (ami_axdr_skip(&r, &a->srv->lim) == AMI_OK)
            dar = write_attr(a, &d, ami_view_of(a->mem.block + at, r.pos - at));
        else
            r.pos = r.len; /* the rest cannot be delimited */
        ami_wr_u8(w, dar);
    }
    ami_wr_u32be(w, number);
    drop_blocks(a);
    return finish(a, w);
}

/* Appends a received datablock; answers the block or completes the SET. */
static int set_block(ami_dlms_assoc *a, ami_wr *w, uint8_t iip, const ami_datablock *b)
{
    a->stats.blocks_in++;
    if (b->raw.len > set_data_cap(a) - a->blk_len) {
        /* The value exceeds the block buffer (the configured ceiling). */
        uint32_t number = b->block_number;
        drop_blocks(a);
        return set_response(a, w, AMI_SET_RESPONSE_LAST_DATABLOCK, iip, AMI_DAR_OTHER_REASON,
                            number);
    }
    if (b->raw.len)
        memcpy(a->mem.block + a->blk_len, b->raw.p, b->raw.len);
    a->blk_len += b->raw.len;
    a->blk_number = b->block_number;
    if (b->last)
        return finish_long_set(a, w, iip);
    return set_response(a, w, AMI_SET_RESPONSE_DATABLOCK, iip, 0, b->block_number);
}

static int handle_set(ami_dlms_assoc *a, const ami_set_request *s, ami_wr *w)
{
    uint32_t conf = a->ctx.conformance;
    if (!(conf & AMI_CONF_SET))
        return exception(a, w, AMI_STATE_ERROR_SERVICE_NOT_ALLOWED,
                         AMI_SERVICE_ERROR_SERVICE_NOT_SUPPORTED);
    bool list = s->type == AMI_SET_WITH_LIST || s->type == AMI_SET_WITH_LIST_AND_FIRST_DATABLOCK;
    bool block = s->type == AMI_SET_WITH_FIRST_DATABLOCK || s->type == AMI_SET_WITH_DATABLOCK ||
                 s->type == AMI_SET_WITH_LIST_AND_FIRST_DATABLOCK;
    if ((list && !(conf & AMI_CONF_MULTIPLE_REFERENCES)) ||
        (block && !(conf & AMI_CONF_BLOCK_TRANSFER_WITH_SET_OR_WRITE)))
        return exception(a, w, AMI_STATE_ERROR_SERVICE_NOT_ALLOWED,
                         AMI_SERVICE_ERROR_SERVICE_NOT_SUPPORTED);
    switch (s->type) {
    case AMI_SET_NORMAL:
        drop_blocks(a);
        return set_response(a, w, AMI_SET_RESPONSE_NORMAL, s->iip,
                            write_attr(a, &s->attr.attr, s->value), 0);
    case AMI_SET_WITH_LIST:
        drop_blocks(a);
        if (s->count != s->value_count) {
            a->stats.malformed++;
            return exception(a, w, AMI_STATE_ERROR_SERVICE_NOT_ALLOWED,
                             AMI_SERVICE_ERROR_OPERATION_NOT_POSSIBLE);
        }
        ami_wr_u8(w, AMI_APDU_SET_RESPONSE);
        ami_wr_u8(w, AMI_SET_RESPONSE_WITH_LIST);
        ami_wr_u8(w, s->iip);
        ami_axdr_put_length(w, s->count);
        for (uint32_t i = 0; i < s->count; i++)
            ami_wr_u8(w, write_attr(a, &s->list[i].attr, s->values[i]));
        return finish(a, w);
    case AMI_SET_WITH_FIRST_DATABLOCK:
    case AMI_SET_WITH_LIST_AND_FIRST_DATABLOCK: {
        drop_blocks(a);
        if (s->block.block_number != 1)
            return set_response(a, w, AMI_SET_RESPONSE_LAST_DATABLOCK, s->iip,
                                AMI_DAR_DATA_BLOCK_NUMBER_INVALID, s->block.block_number);
        a->blk_kind = BLK_SET_IN;
        a->blk_iip = s->iip;
        if (s->type == AMI_SET_WITH_FIRST_DATABLOCK) {
            a->blk_ref = s->attr.attr;
        } else {
            /* Keep the descriptors at the end of the block buffer (the request's arena goes
             * away); the value list accumulates from the start. */
            size_t need = (size_t)s->count * sizeof(ami_cosem_desc);
            if (need + 1 > a->mem.block_cap) {
                drop_blocks(a);
                return set_response(a, w, AMI_SET_RESPONSE_LAST_DATABLOCK, s->iip,
                                    AMI_DAR_OTHER_REASON, s->block.block_number);
            }
            a->blk_list = true;
            a->blk_list_count = s->count;
            uint8_t *at = a->mem.block + set_data_cap(a);
            for (uint32_t i = 0; i < s->count; i++)
                memcpy(at + (size_t)i * sizeof(ami_cosem_desc), &s->list[i].attr,
                       sizeof(ami_cosem_desc));
        }
        return set_block(a, w, s->iip, &s->block);
    }
    case AMI_SET_WITH_DATABLOCK:
        if (a->blk_kind != BLK_SET_IN)
            return set_response(a, w, AMI_SET_RESPONSE_LAST_DATABLOCK, s->iip,
                                AMI_DAR_NO_LONG_SET_IN_PROGRESS, s->block.block_number);
        if (s->block.block_number != a->blk_number + 1) {
            drop_blocks(a);
            return set_response(a, w, AMI_SET_RESPONSE_LAST_DATABLOCK, s->iip,
                                AMI_DAR_DATA_BLOCK_NUMBER_INVALID, s->block.block_number);
        }
        return set_block(a, w, s->iip, &s->block);
    default:
        return exception(a, w, AMI_STATE_ERROR_SERVICE_UNKNOWN,
                         AMI_SERVICE_ERROR_SERVICE_NOT_SUPPORTED);
    }
}

/* ---------------------------------------------------------------- ACTION */

/*
 * Invokes one method; its return Data (if any) is written to buf[0..cap). Returns the
 * action-result; *n the bytes of return data (0: none).
 */
static uint8_t invoke(ami_dlms_assoc *a, const ami_cosem_desc *ref, ami_view params, uint8_t *buf,
                      size_t cap, size_t *n)
{
    const ami_dlms_store_ops *ops = a->srv->cfg.ops;
    *n = 0;
    ami_wr out;
    ami_wr_init(&out, buf, cap);
    int own = ami__sec_action(a, ref, params, &out); /* methods the engine serves (security) */
    if (own >= 0) {
        if (ami_wr_error(&out))
            return AMI_DAR_OTHER_REASON;
        *n = out.len;
        return (uint8_t)own;
    }
    int mode = ops->access(a->srv->cfg.store, ref, true, &a->ctx);
    if (mode < 0)
        return AMI_DAR_OBJECT_UNDEFINED;
    if (!ami_method_can_invoke((uint8_t)mode, a->ctx.apdu_authenticated) || !ops->action)
        return AMI_DAR_READ_WRITE_DENIED;
    if (params.len && !one_data(a, params.p, params.len))
        return AMI_DAR_TYPE_UNMATCHED;
    uint8_t result = ops->action(a->srv->cfg.store, ref, params, &a->ctx, &out);
    if (ami_wr_error(&out) || (out.len && !one_data(a, buf, out.len)))
        return AMI_DAR_OTHER_REASON;
    *n = out.len;
    return result;
}

/* Action-Response-With-Optional-Data for a result and n bytes of return data in buf. */
static void put_outcome(ami_wr *w, uint8_t result, const uint8_t *buf, size_t n)
{
    ami_wr_u8(w, result);
    if (!n) {
        ami_wr_u8(w, 0); /* no return-parameters */
        return;
    }
    ami_wr_u8(w, 1);
    ami_wr_u8(w, 0); /* Get-Data-Result: data */
    ami_wr_bytes(w, buf, n);
}

/* Sends the next pblock of long ACTION return data (Green Book 9.3.9,
 * ACTION-Response-With-Pblock): the raw data of the blocks is the return Data. */
static int send_action_block(ami_dlms_assoc *a, ami_wr *w)
{
    /* tag, choice, iip, last-block, block-number(4), raw-data length (at most 3). */
    size_t avail = w->cap > 11 ? w->cap - 8 : 0;
    size_t left = a->blk_len - a->blk_off;
    size_t chunk = left < avail ? left : avail;
    while (chunk && chunk + length_size(chunk) > avail)
        chunk--;
    if (!chunk)
        return AMI_E_NOSPACE;
    bool last = chunk == left;
    a->blk_number++;
    ami_wr_u8(w, AMI_APDU_ACTION_RESPONSE);
    ami_wr_u8(w, AMI_ACTION_RESPONSE_WITH_PBLOCK);
    ami_wr_u8(w, a->blk_iip);
    ami_wr_u8(w, last ? 1 : 0);
    ami_wr_u32be(w, a->blk_number);
    ami_axdr_put_length(w, chunk);
    ami_wr_bytes(w, a->mem.block + a->blk_off, chunk);
    a->blk_off += chunk;
    a->stats.blocks_out++;
    if (last)
        drop_blocks(a);
    return finish(a, w);
}

/* Answers an ACTION whose return data (n bytes) is in the block buffer: at once when it fits
 * the client's PDU, else in pblocks when block transfer with ACTION was agreed. */
static int action_result(ami_dlms_assoc *a, ami_wr *w, uint8_t iip, uint8_t result, size_t n)
{
    if (6 + n > w->cap) {
        if (result == AMI_ACTION_SUCCESS &&
            (a->ctx.conformance & AMI_CONF_BLOCK_TRANSFER_WITH_ACTION)) {
            a->blk_kind = BLK_ACTION_OUT;
            a->blk_iip = iip;
            a->blk_len = n;
            a->blk_off = 0;
            a->blk_number = 0;
            return send_action_block(a, w);
        }
        result = AMI_ACTION_OTHER_REASON;
        n = 0;
    }
    ami_wr_u8(w, AMI_APDU_ACTION_RESPONSE);
    ami_wr_u8(w, AMI_ACTION_RESPONSE_NORMAL);
    ami_wr_u8(w, iip);
    put_outcome(w, result, a->mem.block, n);
    return finish(a, w);
}

/* Invokes each method of a list with its parameters (a list of Data in params[0..plen)) and
 * answers ACTION-Response-With-List. */
static int action_list(ami_dlms_assoc *a, ami_wr *w, uint8_t iip, const ami_cosem_desc *descs,
                       uint32_t count, const ami_view *params, size_t buf_cap)
{
    ami_wr_u8(w, AMI_APDU_ACTION_RESPONSE);
    ami_wr_u8(w, AMI_ACTION_RESPONSE_WITH_LIST);
    ami_wr_u8(w, iip);
    ami_axdr_put_length(w, count);
    for (uint32_t i = 0; i < count; i++) {
        size_t n;
        ami_cosem_desc d;
        memcpy(&d, &descs[i], sizeof d);
        /* Each return value goes through the block buffer straight into the response. */
        uint8_t result = invoke(a, &d, params[i], a->mem.block, buf_cap, &n);
        if (n > ami_wr_left(w)) {
            result = AMI_ACTION_OTHER_REASON;
            n = 0;
        }
        put_outcome(w, result, a->mem.block, n);
    }
    if (ami_wr_error(w)) {
        w->err = 0;
        w->len = 0;
        return exception(a, w, AMI_STATE_ERROR_SERVICE_NOT_ALLOWED, AMI_SERVICE_ERROR_PDU_TOO_LONG);
    }
    return finish(a, w);
}

static int action_normal(ami_dlms_assoc *a, ami_wr *w, uint8_t iip, const ami_cosem_desc *ref,
                         ami_view params)
{
    size_t n;
    uint8_t result = invoke(a, ref, params, a->mem.block, a->mem.block_cap, &n);
    return action_result(a, w, iip, result, n);
}

/* Completes ACTION-with-list-and-first-pblock: the accumulated bytes are the counted list of
 * method-invocation-parameters, the descriptors are at the end of the block buffer. */
static int finish_long_action_list(ami_dlms_assoc *a, ami_wr *w, uint8_t iip)
{
    uint32_t count = a->blk_list_count;
    const uint8_t *descs = a->mem.block + set_data_cap(a);
    ami_rd r;
    ami_rd_init(&r, a->mem.block, a->blk_len);
    size_t n = 0;
    int rc = ami_axdr_get_length(&r, &n);
    /* The parameters and descriptors move to a list of views kept in the scratch arena. */
    ami_arena arena;
    ami_arena_init(&arena, a->mem.scratch, a->mem.scratch ? a->mem.scratch_cap : 0);
    ami_view *params = NULL;
    ami_cosem_desc *d = NULL;
    if (rc == AMI_OK && n == count) {
        params = ami_arena_alloc(&arena, (size_t)count * sizeof *params);
        d = ami_arena_alloc(&arena, (size_t)count * sizeof *d);
    }
    if (!params || !d) {
        drop_blocks(a);
        a->stats.malformed++;
        return exception(a, w, AMI_STATE_ERROR_SERVICE_NOT_ALLOWED,
                         AMI_SERVICE_ERROR_OPERATION_NOT_POSSIBLE);
    }
    for (uint32_t i = 0; i < count; i++) {
        memcpy(&d[i], descs + (size_t)i * sizeof d[i], sizeof d[i]);
        size_t at = r.pos;
        if (ami_axdr_skip(&r, &a->srv->lim) == AMI_OK) {
            params[i] = ami_view_of(a->mem.block + at, r.pos - at);
        } else {
            drop_blocks(a);
            a->stats.malformed++;
            return exception(a, w, AMI_STATE_ERROR_SERVICE_NOT_ALLOWED,
                             AMI_SERVICE_ERROR_OPERATION_NOT_POSSIBLE);
        }
    }
    /* The return values pass through the block buffer: move the parameters behind them. */
    size_t plen = r.pos;
    if (plen > a->mem.block_cap / 2) {
        drop_blocks(a);
        return exception(a, w, AMI_STATE_ERROR_SERVICE_NOT_ALLOWED, AMI_SERVICE_ERROR_PDU_TOO_LONG);
    }
    uint8_t *moved = a->mem.block + a->mem.block_cap - plen;
    memmove(moved, a->mem.block, plen);
    for (uint32_t i = 0; i < count; i++)
        params[i].p = moved + (params[i].p - a->mem.block);
    drop_blocks(a);
    return action_list(a, w, iip, d, count, params, a->mem.block_cap - plen);
}

static int action_block(ami_dlms_assoc *a, ami_wr *w, uint8_t iip, const ami_datablock *b)
{
    a->stats.blocks_in++;
    if (b->raw.len > set_data_cap(a) - a->blk_len) {
        drop_blocks(a);
        ami_wr_u8(w, AMI_APDU_ACTION_RESPONSE);
        ami_wr_u8(w, AMI_ACTION_RESPONSE_NORMAL);
        ami_wr_u8(w, iip);
        put_outcome(w, AMI_ACTION_LONG_ACTION_ABORTED, NULL, 0);
        return finish(a, w);
    }
    if (b->raw.len)
        memcpy(a->mem.block + a->blk_len, b->raw.p, b->raw.len);
    a->blk_len += b->raw.len;
    a->blk_number = b->block_number;
    if (!b->last) {
        ami_wr_u8(w, AMI_APDU_ACTION_RESPONSE);
        ami_wr_u8(w, AMI_ACTION_RESPONSE_NEXT_PBLOCK);
        ami_wr_u8(w, iip);
        ami_wr_u32be(w, b->block_number);
        return finish(a, w);
    }
    if (a->blk_list)
        return finish_long_action_list(a, w, iip);
    /* The parameters are complete: move them out of the way of the return data. */
    ami_cosem_desc ref = a->blk_ref;
    size_t plen = a->blk_len;
    drop_blocks(a);
    if (plen > a->mem.block_cap / 2) {
        ami_wr_u8(w, AMI_APDU_ACTION_RESPONSE);
        ami_wr_u8(w, AMI_ACTION_RESPONSE_NORMAL);
        ami_wr_u8(w, iip);
        put_outcome(w, AMI_ACTION_OTHER_REASON, NULL, 0);
        return finish(a, w);
    }
    uint8_t *params = a->mem.block + a->mem.block_cap - plen;
    memmove(params, a->mem.block, plen);
    size_t n;
    uint8_t result =
        invoke(a, &ref, ami_view_of(params, plen), a->mem.block, a->mem.block_cap - plen, &n);
    return action_result(a, w, iip, result, n);
}

static int handle_action(ami_dlms_assoc *a, const ami_action_request *q, ami_wr *w)
{
    uint32_t conf = a->ctx.conformance;
    if (!(conf & AMI_CONF_ACTION))
        return exception(a, w, AMI_STATE_ERROR_SERVICE_NOT_ALLOWED,
                         AMI_SERVICE_ERROR_SERVICE_NOT_SUPPORTED);
    switch (q->type) {
    case AMI_ACTION_NORMAL:
        drop_blocks(a);
        return action_normal(a, w, q->iip, &q->method,
                             q->has_params ? q->params : ami_view_of(NULL, 0));
    case AMI_ACTION_WITH_LIST: {
        if (!(conf & AMI_CONF_MULTIPLE_REFERENCES))
            return exception(a, w, AMI_STATE_ERROR_SERVICE_NOT_ALLOWED,
                             AMI_SERVICE_ERROR_SERVICE_NOT_SUPPORTED);
        drop_blocks(a);
        if (q->count != q->params_count) {
            a->stats.malformed++;
            return exception(a, w, AMI_STATE_ERROR_SERVICE_NOT_ALLOWED,
                             AMI_SERVICE_ERROR_OPERATION_NOT_POSSIBLE);
        }
        return action_list(a, w, q->iip, q->list, q->count, q->params_list, a->mem.block_cap);
    }
    case AMI_ACTION_WITH_FIRST_PBLOCK:
        if (!(conf & AMI_CONF_BLOCK_TRANSFER_WITH_ACTION))
            return exception(a, w, AMI_STATE_ERROR_SERVICE_NOT_ALLOWED,
                             AMI_SERVICE_ERROR_SERVICE_NOT_SUPPORTED);
        drop_blocks(a);
        if (q->block.block_number != 1) {
            ami_wr_u8(w, AMI_APDU_ACTION_RESPONSE);
            ami_wr_u8(w, AMI_ACTION_RESPONSE_NORMAL);
            ami_wr_u8(w, q->iip);
            put_outcome(w, AMI_ACTION_LONG_ACTION_ABORTED, NULL, 0);
            return finish(a, w);
        }
        a->blk_kind = BLK_ACTION_IN;
        a->blk_iip = q->iip;
        a->blk_ref = q->method;
        return action_block(a, w, q->iip, &q->block);
    case AMI_ACTION_WITH_PBLOCK:
        if (a->blk_kind != BLK_ACTION_IN || q->block.block_number != a->blk_number + 1) {
            uint8_t result = a->blk_kind == BLK_ACTION_IN ? AMI_ACTION_LONG_ACTION_ABORTED
                                                          : AMI_ACTION_NO_LONG_ACTION_IN_PROGRESS;
            drop_blocks(a);
            ami_wr_u8(w, AMI_APDU_ACTION_RESPONSE);
            ami_wr_u8(w, AMI_ACTION_RESPONSE_NORMAL);
            ami_wr_u8(w, q->iip);
            put_outcome(w, result, NULL, 0);
            return finish(a, w);
        }
        return action_block(a, w, q->iip, &q->block);
    case AMI_ACTION_NEXT_PBLOCK:
        /* The client acknowledges the last pblock of return data sent (Green Book 9.3.9). */
        if (a->blk_kind == BLK_ACTION_OUT && q->block_number == a->blk_number)
            return send_action_block(a, w);
        drop_blocks(a);
        ami_wr_u8(w, AMI_APDU_ACTION_RESPONSE);
        ami_wr_u8(w, AMI_ACTION_RESPONSE_NORMAL);
        ami_wr_u8(w, q->iip);
        put_outcome(w, AMI_ACTION_NO_LONG_ACTION_IN_PROGRESS, NULL, 0);
        return finish(a, w);
    case AMI_ACTION_WITH_LIST_AND_FIRST_PBLOCK: {
        if (!(conf & AMI_CONF_BLOCK_TRANSFER_WITH_ACTION) || !(conf & AMI_CONF_MULTIPLE_REFERENCES))
            return exception(a, w, AMI_STATE_ERROR_SERVICE_NOT_ALLOWED,
                             AMI_SERVICE_ERROR_SERVICE_NOT_SUPPORTED);
        drop_blocks(a);
        /* As SET-with-list-and-first-datablock: the descriptors stay at the end of the block
         * buffer, the raw data (the counted parameter list) accumulates from its start. */
        size_t need = (size_t)q->count * sizeof(ami_cosem_desc);
        if (q->block.block_number != 1 || need + 1 > a->mem.block_cap / 2) {
            ami_wr_u8(w, AMI_APDU_ACTION_RESPONSE);
            ami_wr_u8(w, AMI_ACTION_RESPONSE_NORMAL);
            ami_wr_u8(w, q->iip);
            put_outcome(w,
                        q->block.block_number != 1 ? AMI_ACTION_LONG_ACTION_ABORTED
                                                   : AMI_ACTION_OTHER_REASON,
                        NULL, 0);
            return finish(a, w);
        }
        a->blk_kind = BLK_ACTION_IN;
        a->blk_iip = q->iip;
        a->blk_list = true;
        a->blk_list_count = q->count;
        uint8_t *at = a->mem.block + set_data_cap(a);
        for (uint32_t i = 0; i < q->count; i++)
            memcpy(at + (size_t)i * sizeof(ami_cosem_desc), &q->list[i], sizeof(ami_cosem_desc));
        return action_block(a, w, q->iip, &q->block);
    }
    default:
        return exception(a, w, AMI_STATE_ERROR_SERVICE_UNKNOWN,
                         AMI_SERVICE_ERROR_SERVICE_NOT_SUPPORTED);
    }
}

/* ---------------------------------------------------------------- dispatch */

static bool is_xdlms_request(uint8_t tag)
{
    return tag == AMI_APDU_GET_REQUEST || tag == AMI_APDU_SET_REQUEST ||
           tag == AMI_APDU_ACTION_REQUEST;
}

int ami_dlms_assoc_handle(ami_dlms_assoc *a, const uint8_t *req, size_t len, uint8_t *out,
                          size_t cap)
{
    if (!a || !out || (!req && len))
        return AMI_E_INVAL;
    a->ctx.apdu_authenticated = false;
    a->ctx.apdu_encrypted = false;
    int rc = ami__dlms_gbt_handle(a, req, len, out, cap);
    if (rc != AMI__GBT_PASS)
        return rc;
    return ami__dlms_assoc_serve(a, req, len, out, cap, true);
}

static int handle_plain(ami_dlms_assoc *a, const uint8_t *req, size_t len, uint8_t *out, size_t cap,
                        bool clamp);

int ami__dlms_assoc_serve(ami_dlms_assoc *a, const uint8_t *req, size_t len, uint8_t *out,
                          size_t cap, bool clamp)
{
    if (len && a->policy && a->policy->sec)
        return ami__sec_handle(a, req, len, out, cap); /* server_sec.c: unciphers, then here */
    return handle_plain(a, req, len, out, cap, clamp);
}

int ami__dlms_handle_plain(ami_dlms_assoc *a, const uint8_t *req, size_t len, uint8_t *out,
                           size_t cap)
{
    return handle_plain(a, req, len, out, cap, true);
}

static int handle_plain(ami_dlms_assoc *a, const uint8_t *req, size_t len, uint8_t *out, size_t cap,
                        bool clamp)
{
    a->stats.requests++;
    bool associated = a->ctx.state == AMI_DLMS_ASSOC_ASSOCIATED;
    /* Responses never exceed the client's max PDU once negotiated (Green Book 9.3.2). */
    size_t limit = cap;
    if (clamp && associated && a->ctx.client_max_pdu < limit)
        limit = a->ctx.client_max_pdu;
    ami_wr w;
    ami_wr_init(&w, out, limit);
    if (len == 0) {
        a->stats.malformed++;
        return 0; /* nothing to answer: no service is known */
    }
    uint8_t tag = req[0];
    switch (tag) {
    case AMI_ACSE_AARQ:
        ami_wr_init(&w, out, cap);
        return handle_aarq(a, req, len, &w);
    case AMI_ACSE_RLRQ:
        return handle_rlrq(a, req, len, &w);
    default:
        break;
    }
    if (!associated) {
        /* No association on this SAP: refuse every other service (Green Book 9.3.2). */
        return exception(a, &w, AMI_STATE_ERROR_SERVICE_NOT_ALLOWED,
                         AMI_SERVICE_ERROR_OPERATION_NOT_POSSIBLE);
    }
    if (tag == AMI_APDU_READ_REQUEST || tag == AMI_APDU_WRITE_REQUEST ||
        tag == AMI_APDU_UNCONFIRMED_WRITE_REQUEST) {
        if (a->ctx.context == AMI_ACSE_CONTEXT_SN)
            return ami__dlms_sn_handle(a, req, len, &w);
        /* Short-name services in a logical-name association (Green Book 9.5 ServiceError). */
        if (tag == AMI_APDU_UNCONFIRMED_WRITE_REQUEST)
            return 0; /* unconfirmed: never answered */
        return confirmed_service_error(a, &w, tag == AMI_APDU_READ_REQUEST ? CSE_READ : CSE_WRITE,
                                       SE_SERVICE, SE_SERVICE_UNSUPPORTED);
    }
    if (!is_xdlms_request(tag)) {
        bool known = ami_apdu_is_ciphered(tag) || strcmp(ami_apdu_tag_name(tag), "unknown") != 0;
        return exception(
            a, &w, known ? AMI_STATE_ERROR_SERVICE_NOT_ALLOWED : AMI_STATE_ERROR_SERVICE_UNKNOWN,
            AMI_SERVICE_ERROR_SERVICE_NOT_SUPPORTED);
    }
    if (a->ctx.context == AMI_ACSE_CONTEXT_SN) {
        /* LN services in a short-name association (Green Book 9.1.4: the context fixes the
         * referencing). */
        return exception(a, &w, AMI_STATE_ERROR_SERVICE_NOT_ALLOWED,
                         AMI_SERVICE_ERROR_SERVICE_NOT_SUPPORTED);
    }
    /* A request reassembled from GBT blocks (clamp false) may exceed it: that is GBT's purpose. */
    if (clamp && len > a->ctx.server_max_pdu)
        return exception(a, &w, AMI_STATE_ERROR_SERVICE_NOT_ALLOWED,
                         AMI_SERVICE_ERROR_PDU_TOO_LONG);
    ami_arena arena;
    ami_arena_init(&arena, a->mem.scratch, a->mem.scratch ? a->mem.scratch_cap : 0);
    ami_apdu_opts opts = {.limits = &a->srv->lim, .lenient = 0};
    ami_apdu apdu;
    int rc = ami_apdu_decode(req, len, &arena, &opts, &apdu);
    if (rc != AMI_OK) {
        a->stats.malformed++;
        uint8_t se = (rc == AMI_E_NOMEM || rc == AMI_E_TOO_LARGE)
                         ? AMI_SERVICE_ERROR_PDU_TOO_LONG
                         : AMI_SERVICE_ERROR_OPERATION_NOT_POSSIBLE;
        return exception(a, &w, AMI_STATE_ERROR_SERVICE_NOT_ALLOWED, se);
    }
    switch (tag) {
    case AMI_APDU_GET_REQUEST:
        return handle_get(a, &apdu.u.get_request, &w);
    case AMI_APDU_SET_REQUEST:
        return handle_set(a, &apdu.u.set_request, &w);
    default:
        return handle_action(a, &apdu.u.action_request, &w);
    }
}

/* ---------------------------------------------------------------- for the extensions */

uint8_t ami__dlms_read_attr(ami_dlms_assoc *a, const ami_attr_sel *sel, uint8_t *buf, size_t cap,
                            size_t *n)
{
    return read_attr(a, sel, buf, cap, n);
}

uint8_t ami__dlms_write_attr(ami_dlms_assoc *a, const ami_cosem_desc *ref, ami_view data)
{
    return write_attr(a, ref, data);
}

uint8_t ami__dlms_invoke(ami_dlms_assoc *a, const ami_cosem_desc *ref, ami_view params,
                         uint8_t *buf, size_t cap, size_t *n)
{
    return invoke(a, ref, params, buf, cap, n);
}

int ami__dlms_exception(ami_dlms_assoc *a, ami_wr *w, uint8_t state_error, uint8_t service_error)
{
    return exception(a, w, state_error, service_error);
}

int ami__dlms_finish(ami_dlms_assoc *a, ami_wr *w)
{
    return finish(a, w);
}
