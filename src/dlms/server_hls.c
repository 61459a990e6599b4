/*
 * HLS pass 3 and 4 on the server (Green Book 9.2.7.4, Blue Book 4.4.3 Association LN method 1
 * reply_to_HLS_authentication): in the association-pending state the only service accepted is
 * ACTION on the current association (class 15, 0-0:40.0.0.255, method 1) with f(StoC) as an
 * octet-string. The engine checks it in constant time (ami_hls_check) and answers with f(CtoS);
 * a wrong f(StoC) is answered read-write-denied and leaves the association non-associated.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "ami/axdr.h"
#include "ami/dlms_server.h"
#include "server_internal.h"

/* The HLS parameters of one party as responder: the client (to check f(StoC)) or the server
 * (to compute f(CtoS)). */
static void hls_params(const ami_dlms_assoc *a, const ami_dlms_keys *k, bool client,
                       ami_hls_params *p)
{
    const ami_dlms_sec_policy *sp = a->policy->sec;
    const uint8_t *server_st = a->srv->cfg.sec->system_title;
    memset(p, 0, sizeof *p);
    p->mech = a->policy->mechanism;
    p->secret = k->hls_secret;
    p->secret_len = k->hls_secret_len;
    p->ek = k->guek;
    p->ek_len = k->guek_len;
    p->ak = k->ak;
    p->ak_len = k->ak_len;
    p->sc = (uint8_t)(AMI_SEC_SC_AUTH | sp->suite);
    p->st_responder = client ? a->sec.client_st : server_st;
    p->st_other = client ? server_st : a->sec.client_st;
    p->sign_key = sp->server_sign_key;
    p->verify_key = sp->client_verify_key;
    p->custom = sp->hls_custom;
    p->custom_user = sp->hls_custom_user;
}

static bool is_reply_to_hls(const ami_action_request *q)
{
    const ami_obis *o = &q->method.instance;
    static const uint8_t assoc_ln[6] = {0, 0, 40, 0, 0, 255};
    return q->type == AMI_ACTION_NORMAL && q->method.class_id == 15 &&
           memcmp(o->v, assoc_ln, 6) == 0 && q->method.id == 1 && q->has_params;
}

static void action_response(ami_wr *w, uint8_t iip, uint8_t result, const uint8_t *data, size_t n)
{
    ami_wr_u8(w, AMI_APDU_ACTION_RESPONSE);
    ami_wr_u8(w, 1); /* action-response-normal */
    ami_wr_u8(w, iip);
    ami_wr_u8(w, result);
    if (!data) {
        ami_wr_u8(w, 0); /* no return-parameters */
        return;
    }
    ami_wr_u8(w, 1);
    ami_wr_u8(w, 0); /* Get-Data-Result: data */
    ami_wr_u8(w, AMI_AXDR_OCTET_STRING);
    ami_axdr_put_length(w, n);
    ami_wr_bytes(w, data, n);
}

static int finish(ami_dlms_assoc *a, ami_wr *w)
{
    if (ami_wr_error(w))
        return AMI_E_NOSPACE;
    a->stats.responses++;
    return (int)w->len;
}

int ami__hls_reply(ami_dlms_assoc *a, const ami_dlms_keys *k, const uint8_t *req, size_t len,
                   ami_wr *w)
{
    ami_apdu apdu;
    ami_arena arena;
    ami_arena_init(&arena, a->mem.scratch, a->mem.scratch ? a->mem.scratch_cap : 0);
    ami_apdu_opts opts = {.limits = &a->srv->lim, .lenient = 0};
    int rc = ami_apdu_decode(req, len, &arena, &opts, &apdu);
    if (rc != AMI_OK || apdu.tag != AMI_APDU_ACTION_REQUEST ||
        !is_reply_to_hls(&apdu.u.action_request)) {
        /* Nothing but pass 3 in the pending state (Green Book 9.2.7.4). */
        if (rc != AMI_OK)
            a->stats.malformed++;
        a->stats.rejected++;
        ami_wr_u8(w, AMI_APDU_EXCEPTION_RESPONSE);
        ami_wr_u8(w, AMI_STATE_ERROR_SERVICE_NOT_ALLOWED);
        ami_wr_u8(w, AMI_SERVICE_ERROR_OPERATION_NOT_POSSIBLE);
        return finish(a, w);
    }
    const ami_action_request *q = &apdu.u.action_request;
    /* The parameter: one octet-string holding f(StoC). */
    ami_rd r;
    ami_rd_init(&r, q->params.p, q->params.len);
    uint8_t t;
    size_t n = 0;
    const uint8_t *f = NULL;
    bool shape = ami_rd_u8(&r, &t) == AMI_OK && t == AMI_AXDR_OCTET_STRING &&
                 ami_axdr_get_length(&r, &n) == AMI_OK && ami_rd_view(&r, n, &f) == AMI_OK &&
                 ami_rd_left(&r) == 0;
    ami_hls_params p;
    hls_params(a, k, true, &p);
    rc = shape ? ami_hls_check(&p, a->sec.stoc, a->sec.stoc_len, a->sec.ctos, a->sec.ctos_len, f, n,
                               NULL)
               : AMI_E_MALFORMED;
    if (rc != AMI_OK) {
        /* Failed authentication: the association stays non-associated. */
        ami__sec_event(a, AMI_DLMS_SEC_EV_AUTH_FAILED);
        a->stats.rejected++;
        ami__sec_reset(a);
        a->ctx.state = AMI_DLMS_ASSOC_IDLE;
        a->ctx.conformance = 0;
        action_response(w, q->iip, AMI_DAR_READ_WRITE_DENIED, NULL, 0);
        return finish(a, w);
    }
    /* Pass 4: f(CtoS) with the server's next invocation counter (mechanism 5). */
    hls_params(a, k, false, &p);
    if (p.mech == AMI_ACSE_MECH_GMAC) {
        const ami_dlms_server_sec *s = a->srv->cfg.sec;
        rc = s->keys.next_ic(s->keys.user, a->ctx.client_sap, &p.ic);
        if (rc != AMI_OK)
            return rc < 0 ? rc : AMI_E_INTERNAL;
    }
    uint8_t resp[AMI_HLS_RESPONSE_MAX];
    int m = ami_hls_compute(&p, a->sec.ctos, a->sec.ctos_len, a->sec.stoc, a->sec.stoc_len, resp,
                            sizeof resp);
    if (m < 0) {
        a->stats.rejected++;
        action_response(w, q->iip, AMI_DAR_OTHER_REASON, NULL, 0);
        return finish(a, w);
    }
    a->ctx.state = AMI_DLMS_ASSOC_ASSOCIATED;
    ami_wipe(a->sec.stoc, sizeof a->sec.stoc);
    ami_wipe(a->sec.ctos, sizeof a->sec.ctos);
    action_response(w, q->iip, AMI_DAR_SUCCESS, resp, (size_t)m);
    ami_wipe(resp, sizeof resp);
    return finish(a, w);
}
