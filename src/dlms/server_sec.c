/*
 * Security layer of the DLMS/COSEM server association engine (ami/dlms_server.h): association
 * establishment with ciphering and HLS pass 1/2, ciphered xDLMS APDUs in and out, replay and
 * downgrade refusal, and the objects the engine serves itself (Security Setup, invocation
 * counters). The plain engine (server.c) sees only deciphered requests.
 *
 * Green Book ed. 9 references: 9.2.7.2 (security header, GCM), 9.2.7.4 (HLS), 9.3.2 (AARQ/AARE
 * with a ciphered context: calling-AP-title carries the client system title, the xDLMS
 * InitiateRequest travels as glo-initiateRequest), 9.3.5 (protection of xDLMS APDUs: glo- with
 * the global keys, ded- with the dedicated key from the InitiateRequest, general-glo/ded-
 * ciphering with the sender's system title). Blue Book 4.4.7: Security Setup version 1.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "ami/axdr.h"
#include "ami/dlms_cert.h"
#include "ami/dlms_server.h"
#include "ami/security_general.h"
#include "server_internal.h"

#define SEC_AE (AMI_SEC_SC_AUTH | AMI_SEC_SC_ENC)
/* Bytes a ciphered wrapper adds: tag, system title (1 + 8), length (<= 3), SC, IC, GCM tag. */
#define CIPHER_OVERHEAD 32u
/* general-ciphering: tag, transaction-id (1 + 64), two titles (2 x 9), date-time and
 * other-information (empty), key-info (<= 200: agreed-key of suite 2, 4 x 48 bytes), length
 * (<= 3), SC, IC, GCM tag. */
#define GC_OVERHEAD 320u
#define VAA_LN      0x0007u
#define VAA_SN      0xFA00u

/* Which key protects an APDU. */
enum { KEY_GLOBAL = 0, KEY_BROADCAST, KEY_DEDICATED };

/* How a request came, so that its response goes out the same way. */
typedef struct how {
    bool ciphered;
    bool general;     /* general-glo/ded-ciphering (system titles in the APDU) */
    bool ded;         /* dedicated key */
    uint8_t sc;       /* the request's security control byte */
    bool gc;          /* general-ciphering (0xDD): answered with general-ciphering */
    int8_t key_kind;  /* gc: the request's key-info choice */
    uint8_t txid_len; /* gc: the request's transaction-id, echoed */
    uint8_t txid[AMI_GC_TXID_MAX];
} how;

/* ---------------------------------------------------------------- helpers */

const char *ami_dlms_sec_event_name(int event)
{
    switch (event) {
    case AMI_DLMS_SEC_EV_AUTH_FAILED:
        return "auth-failed";
    case AMI_DLMS_SEC_EV_BAD_TAG:
        return "bad-tag";
    case AMI_DLMS_SEC_EV_REPLAY:
        return "replay";
    case AMI_DLMS_SEC_EV_DOWNGRADE:
        return "downgrade";
    case AMI_DLMS_SEC_EV_SYSTEM_TITLE:
        return "system-title";
    case AMI_DLMS_SEC_EV_KEY_CHANGED:
        return "key-changed";
    case AMI_DLMS_SEC_EV_POLICY_ACTIVATED:
        return "policy-activated";
    case AMI_DLMS_SEC_EV_KEY_REFUSED:
        return "key-refused";
    case AMI_DLMS_SEC_EV_BAD_SIGNATURE:
        return "bad-signature";
    default:
        return "unknown";
    }
}

void ami__sec_event(ami_dlms_assoc *a, int event)
{
    switch (event) {
    case AMI_DLMS_SEC_EV_AUTH_FAILED:
        a->stats.auth_failed++;
        break;
    case AMI_DLMS_SEC_EV_BAD_TAG:
        a->stats.bad_tag++;
        break;
    case AMI_DLMS_SEC_EV_REPLAY:
        a->stats.replays++;
        break;
    case AMI_DLMS_SEC_EV_DOWNGRADE:
        a->stats.downgrades++;
        break;
    case AMI_DLMS_SEC_EV_SYSTEM_TITLE:
        a->stats.system_title++;
        break;
    case AMI_DLMS_SEC_EV_KEY_REFUSED:
        a->stats.key_refused++;
        break;
    case AMI_DLMS_SEC_EV_BAD_SIGNATURE:
        a->stats.bad_signature++;
        break;
    default:
        break;
    }
    const ami_dlms_server_sec *s = a->srv->cfg.sec;
    if (s && s->on_event)
        s->on_event(s->event_user, &a->ctx, event);
}

/* Security Setup version 0 security_policy (0 nothing, 1 all messages authenticated, 2 all
 * encrypted, 3 both) as policy bits, and back (-1: no version-0 value). */
static const uint8_t v0_bits[4] = {0, AMI_DLMS_SECPOL_AUTH_REQUEST | AMI_DLMS_SECPOL_AUTH_RESPONSE,
                                   AMI_DLMS_SECPOL_ENC_REQUEST | AMI_DLMS_SECPOL_ENC_RESPONSE,
                                   AMI_DLMS_SECPOL_AUTH_ENC};

static int v0_enum(uint8_t bits)
{
    for (int i = 0; i < 4; i++)
        if (v0_bits[i] == bits)
            return i;
    return -1;
}

static bool valid_key_len(size_t n)
{
    return n == 16 || n == 32;
}

int ami__sec_check_policy(const ami_dlms_server_config *cfg, const ami_dlms_policy *p)
{
    const ami_dlms_sec_policy *sp = p->sec;
    const ami_dlms_server_sec *s = cfg->sec;
    if (!s || !s->system_title || !s->keys.get || !s->keys.next_ic || !s->replay)
        return AMI_E_CONFIG;
    if (sp->suite > 2 || (sp->challenge_len && (sp->challenge_len < AMI_HLS_CHALLENGE_MIN ||
                                                sp->challenge_len > AMI_HLS_CHALLENGE_MAX)))
        return AMI_E_CONFIG;
    if (sp->security_policy & ~(unsigned)AMI_DLMS_SECPOL_AUTH_ENC)
        return AMI_E_CONFIG;
    if (sp->setup_v0 && (sp->suite != 0 || v0_enum(sp->security_policy) < 0))
        return AMI_E_CONFIG;
    if (p->mechanism == AMI_ACSE_MECH_ECDSA && (!sp->server_sign_key || !sp->client_verify_key))
        return AMI_E_CONFIG;
    return AMI_OK;
}

void ami__sec_reset(ami_dlms_assoc *a)
{
    /* The cached cipher contexts hold keys and OpenSSL state: wiped and freed first. */
    ami_sec_ctx_wipe(&a->sec.cache[0]);
    ami_sec_ctx_wipe(&a->sec.cache[1]);
    ami_wipe(&a->sec, sizeof a->sec);
    const ami_dlms_policy *p = a->policy;
    if (!p || !p->sec)
        return;
    a->sec.policy = p->sec->security_policy;
    if (p->pre_established) {
        /* No AARQ: the ciphered context and the global keys hold from the start (Green Book
         * 9.3.2.3); the client's system title must come from the policy. */
        a->sec.ciphered_context = true;
        if (p->sec->client_system_title) {
            memcpy(a->sec.client_st, p->sec->client_system_title, 8);
            a->sec.has_client_st = true;
        }
    }
}

/* The last accepted invocation counter of a client system title (0 when none is known). */
static uint32_t replay_last(const ami_replay *r, const uint8_t *st)
{
    for (size_t i = 0; r && st && i < r->cap; i++)
        if (r->slots[i].used && memcmp(r->slots[i].system_title, st, 8) == 0)
            return r->slots[i].last_ic;
    uint32_t ic = 0;
    if (r && st && r->store.load && r->store.load(r->store.user, st, &ic) == AMI_OK)
        return ic;
    return 0;
}

/* A plain exception-response (Green Book 9.5): it carries no plaintext of the request. */
static int refuse(ami_dlms_assoc *a, int event, uint8_t se, uint32_t ic, uint8_t *out, size_t cap)
{
    if (event)
        ami__sec_event(a, event);
    a->stats.rejected++;
    ami_wr w;
    ami_wr_init(&w, out, cap);
    ami_wr_u8(&w, AMI_APDU_EXCEPTION_RESPONSE);
    ami_wr_u8(&w, AMI_STATE_ERROR_SERVICE_NOT_ALLOWED);
    ami_wr_u8(&w, se);
    if (se == AMI_SERVICE_ERROR_INVOCATION_COUNTER_ERROR)
        ami_wr_u32be(&w, ic);
    if (ami_wr_error(&w))
        return AMI_E_NOSPACE;
    a->stats.responses++;
    return (int)w.len;
}

/* True when a security control byte gives what the policy demands of a request. */
static bool meets_policy(uint8_t policy, uint8_t sc)
{
    if ((policy & AMI_DLMS_SECPOL_AUTH_REQUEST) && !(sc & AMI_SEC_SC_AUTH))
        return false;
    if ((policy & AMI_DLMS_SECPOL_ENC_REQUEST) && !(sc & AMI_SEC_SC_ENC))
        return false;
    return true;
}

static bool demands_request_protection(uint8_t policy)
{
    return (policy & (AMI_DLMS_SECPOL_AUTH_REQUEST | AMI_DLMS_SECPOL_ENC_REQUEST)) != 0;
}

/* A ciphering context keyed with ek and the AK. The caller wipes it. */
static int make_ctx(ami_sec_ctx *c, const uint8_t *ek, size_t ek_len, const ami_dlms_keys *k,
                    uint8_t policy)
{
    int rc = ami_sec_ctx_init(c);
    if (rc != AMI_OK)
        return rc;
    if (!ek || !valid_key_len(ek_len))
        return AMI_E_KEY;
    rc = ami_sec_ctx_set_ek(c, ek, ek_len);
    if (rc == AMI_OK && k->ak && k->ak_len)
        rc = ami_sec_ctx_set_ak(c, k->ak, k->ak_len);
    /* Encryption without authentication carries no integrity: accepted only where the
     * policy does not demand authenticated requests. */
    c->accept = AMI_SEC_ACCEPT_AUTH_ENC | AMI_SEC_ACCEPT_AUTH;
    if (!(policy & AMI_DLMS_SECPOL_AUTH_REQUEST))
        c->accept |= AMI_SEC_ACCEPT_ENC;
    return rc;
}

static int get_keys(ami_dlms_assoc *a, ami_dlms_keys *k)
{
    memset(k, 0, sizeof *k);
    const ami_dlms_server_sec *s = a->srv->cfg.sec;
    return s->keys.get(s->keys.user, a->ctx.client_sap, k);
}

/* The block cipher key for a key family. */
static void pick_key(const ami_dlms_assoc *a, const ami_dlms_keys *k, int which, const uint8_t **ek,
                     size_t *len)
{
    if (which == KEY_DEDICATED) {
        *ek = a->sec.dedicated_key_len ? a->sec.dedicated_key : NULL;
        *len = a->sec.dedicated_key_len;
    } else if (which == KEY_BROADCAST) {
        *ek = k->gbek;
        *len = k->gbek_len;
    } else {
        *ek = k->guek;
        *len = k->guek_len;
    }
}

/*
 * The ciphering context for a key family, keyed with its current key and the AK: the
 * association's cached context for the global unicast and the dedicated key (rekeyed only when
 * the key changed, e.g. after key_transfer), else (broadcast key) `own`, initialised here; the
 * caller wipes it.
 */
static int keyed_ctx(ami_dlms_assoc *a, const ami_dlms_keys *k, int which, ami_sec_ctx *own,
                     ami_sec_ctx **out)
{
    const uint8_t *ek;
    size_t ek_len;
    pick_key(a, k, which, &ek, &ek_len);
    if (which == KEY_BROADCAST) {
        *out = own;
        return own ? make_ctx(own, ek, ek_len, k, a->sec.policy) : AMI_E_INTERNAL;
    }
    ami_sec_ctx *c = &a->sec.cache[which == KEY_DEDICATED];
    *out = c;
    if (!ek || !valid_key_len(ek_len))
        return AMI_E_KEY;
    int rc = c->evp ? AMI_OK : ami_sec_ctx_init(c);
    if (rc == AMI_OK)
        rc = ami_sec_ctx_set_ek(c, ek, ek_len); /* a no-op when the key did not change */
    if (rc == AMI_OK && k->ak && k->ak_len) {
        rc = ami_sec_ctx_set_ak(c, k->ak, k->ak_len);
    } else if (rc == AMI_OK) {
        ami_wipe(c->ak, sizeof c->ak);
        c->ak_len = 0;
    }
    c->accept = AMI_SEC_ACCEPT_AUTH_ENC | AMI_SEC_ACCEPT_AUTH;
    if (!(a->sec.policy & AMI_DLMS_SECPOL_AUTH_REQUEST))
        c->accept |= AMI_SEC_ACCEPT_ENC;
    return rc;
}

/* The security control byte of a response: the protection of the request plus what the
 * policy demands of responses. */
static uint8_t response_sc(const ami_dlms_assoc *a, uint8_t req_sc)
{
    uint8_t sc = req_sc & SEC_AE;
    if (a->sec.policy & AMI_DLMS_SECPOL_AUTH_RESPONSE)
        sc |= AMI_SEC_SC_AUTH;
    if (a->sec.policy & AMI_DLMS_SECPOL_ENC_RESPONSE)
        sc |= AMI_SEC_SC_ENC;
    return sc ? (uint8_t)(sc | a->policy->sec->suite) : 0;
}

/* The ciphered tag answering plain response tag t for a request that came as h; 0 when the
 * response has no ciphered form (exception-response) and goes out plain. */
static uint8_t response_tag(const how *h, uint8_t t)
{
    if (h->general)
        return h->ded ? AMI_APDU_GENERAL_DED_CIPHERING : AMI_APDU_GENERAL_GLO_CIPHERING;
    switch (t) {
    case AMI_APDU_GET_RESPONSE:
    case AMI_APDU_SET_RESPONSE:
    case AMI_APDU_ACTION_RESPONSE:
        return (uint8_t)(t + (h->ded ? 16 : 8));
    case AMI_APDU_CONFIRMED_SERVICE_ERROR:
    case AMI_APDU_INITIATE_RESPONSE:
        return (uint8_t)(t + (h->ded ? 64 : 32));
    default:
        return 0;
    }
}

/*
 * general-ciphering response (Green Book 9.2.7.2.4, 9.3.5): the request's transaction-id,
 * originator = the server, recipient = the client, and the key-info form of the request:
 * identified-key answers with the global unicast key (also to a broadcast-key request),
 * wrapped-key with a fresh random content key wrapped under the KEK.
 */
static int cipher_gc_response(ami_dlms_assoc *a, const ami_dlms_keys *k, const how *h,
                              const uint8_t *resp, size_t n, uint8_t *out, size_t cap)
{
    const ami_dlms_server_sec *s = a->srv->cfg.sec;
    uint8_t sc = response_sc(a, h->sc);
    size_t klen = a->policy->sec->suite == 2 ? 32 : 16;
    uint8_t key[32], wrapped[48], kcd[4 * 48];
    ami_gc_key_info ki;
    memset(&ki, 0, sizeof ki);
    ki.kind = h->key_kind;
    const uint8_t *ek = k->guek;
    int rc = AMI_OK;
    if (h->key_kind == AMI_GC_KI_AGREED) {
        /* our own ephemeral key, signed with the server key, agreed with the client's key */
        const ami_dlms_sec_policy *sp = a->policy->sec;
        int kl = ami_gc_agree_originator(sp->suite, sp->server_sign_key, sp->client_verify_key,
                                         s->system_title, a->sec.client_st, &ki, kcd, sizeof kcd,
                                         key, sizeof key);
        if (kl != (int)klen) {
            ami_wipe(key, sizeof key);
            return AMI_E_INTERNAL;
        }
        ek = key;
    } else if (h->key_kind == AMI_GC_KI_WRAPPED) {
        rc = k->kek ? ami_hls_challenge(key, klen) : AMI_E_KEY;
        int wn = rc ? rc : ami_keywrap_wrap(k->kek, k->kek_len, key, klen, wrapped, sizeof wrapped);
        if (wn < 0) {
            ami_wipe(key, sizeof key);
            return AMI_E_INTERNAL;
        }
        ki.kek_id = AMI_GC_KEK_MASTER;
        ki.data = wrapped;
        ki.data_len = (size_t)wn;
        ek = key;
    } else {
        ki.kind = AMI_GC_KI_IDENTIFIED;
        ki.key_id = AMI_GC_KEY_ID_UNICAST;
        if (!ek || k->guek_len != klen)
            return AMI_E_INTERNAL;
    }
    uint32_t ic;
    rc = s->keys.next_ic(s->keys.user, a->ctx.client_sap, &ic);
    if (rc != AMI_OK) {
        ami_wipe(key, sizeof key);
        return rc < 0 ? rc : AMI_E_INTERNAL;
    }
    ami_gc_header hd = {
        h->txid, h->txid_len, s->system_title, 8, a->sec.client_st, 8, NULL, 0, NULL, 0};
    ami_wr w;
    ami_wr_init(&w, out, cap);
    rc = ami_gc_protect(&w, &hd, &ki, ek, klen, k->ak, k->ak ? k->ak_len : 0, sc, ic, resp, n);
    ami_wipe(key, sizeof key);
    if (rc != AMI_OK)
        return rc == AMI_E_NOSPACE ? AMI_E_NOSPACE : AMI_E_INTERNAL;
    a->stats.ciphered_out++;
    return (int)w.len;
}

/*
 * Ciphers the plain response resp[0..n) into out, with the server's next invocation counter.
 * Returns the length, 0 never, or AMI_E_NOSPACE / a key-provider error.
 */
static int cipher_response(ami_dlms_assoc *a, const ami_dlms_keys *k, const how *h,
                           const uint8_t *resp, size_t n, uint8_t *out, size_t cap)
{
    if (h->gc)
        return cipher_gc_response(a, k, h, resp, n, out, cap);
    uint8_t sc = response_sc(a, h->sc);
    uint8_t tag = sc ? response_tag(h, resp[0]) : 0;
    if (!tag) {
        if (n > cap)
            return AMI_E_NOSPACE;
        memmove(out, resp, n);
        return (int)n;
    }
    const ami_dlms_server_sec *s = a->srv->cfg.sec;
    uint32_t ic;
    int rc = s->keys.next_ic(s->keys.user, a->ctx.client_sap, &ic);
    if (rc != AMI_OK)
        return rc < 0 ? rc : AMI_E_INTERNAL;
    /* Broadcast requests are answered with the unicast key (a response is never broadcast):
     * the association's cached context, keyed once. */
    ami_sec_ctx *c;
    rc = keyed_ctx(a, k, h->ded ? KEY_DEDICATED : KEY_GLOBAL, NULL, &c);
    ami_wr w;
    ami_wr_init(&w, out, cap);
    if (rc == AMI_OK)
        rc = ami_sec_apdu_build(c, &w, tag, s->system_title, sc, ic, resp, n);
    if (rc != AMI_OK)
        return rc == AMI_E_NOSPACE ? AMI_E_NOSPACE : AMI_E_INTERNAL;
    a->stats.ciphered_out++;
    return (int)w.len;
}

/* Installs the keys a key_transfer left pending (after its response was built). */
static void install_pending(ami_dlms_assoc *a)
{
    if (!a->sec.pending_count)
        return;
    const ami_dlms_server_sec *s = a->srv->cfg.sec;
    bool ok = true;
    for (uint8_t i = 0; i < a->sec.pending_count; i++)
        if (s->keys.update(s->keys.user, a->ctx.client_sap, a->sec.pending_id[i],
                           a->sec.pending_key[i], a->sec.pending_len[i]) != AMI_OK)
            ok = false;
    a->sec.pending_count = 0;
    ami_wipe(a->sec.pending_key, sizeof a->sec.pending_key);
    if (ok)
        ami__sec_event(a, AMI_DLMS_SEC_EV_KEY_CHANGED);
}

/* ---------------------------------------------------------------- ciphered requests */

/* Request tags a ciphered service APDU may carry, and the plain tag inside. */
static bool service_tag(uint8_t tag, bool *ded, uint8_t *plain)
{
    switch (tag) {
    case 0xC8: /* glo-get-request */
    case 0xC9: /* glo-set-request */
    case 0xCB: /* glo-action-request */
        *ded = false;
        *plain = (uint8_t)(tag - 8);
        return true;
    case 0xD0: /* ded-get-request */
    case 0xD1:
    case 0xD3:
        *ded = true;
        *plain = (uint8_t)(tag - 16);
        return true;
    default:
        return false;
    }
}

static bool is_plain_request(uint8_t tag)
{
    return tag == AMI_APDU_GET_REQUEST || tag == AMI_APDU_SET_REQUEST ||
           tag == AMI_APDU_ACTION_REQUEST;
}

/*
 * general-ciphering request (0xDD; Green Book 9.2.7.2.4, 9.3.5): the originator must be the
 * association's client, the recipient (when given) this server; the content key comes from
 * key-info: identified-key (global unicast or broadcast key), wrapped-key (RFC 3394 under the
 * KEK) or agreed-key (suites 1, 2: one-pass ECDH with the client's signed ephemeral key, the
 * policy's server_sign_key and client_verify_key). The same refusals as decipher() below, plus
 * key-refused for a key we cannot have and bad-signature for an ephemeral key whose signature
 * does not verify.
 */
static int decipher_gc(ami_dlms_assoc *a, const ami_dlms_keys *k, const uint8_t *req, size_t len,
                       how *h, size_t *plen, uint8_t *out, size_t cap)
{
    h->ciphered = h->gc = true;
    ami_gc_apdu g;
    size_t used = 0;
    if (ami_gc_parse(req, len, &g, &used) != AMI_OK || used != len) {
        a->stats.malformed++;
        return refuse(a, AMI_DLMS_SEC_EV_BAD_TAG, AMI_SERVICE_ERROR_DECIPHERING_ERROR, 0, out, cap);
    }
    uint8_t sc = g.content[0];
    h->sc = sc;
    const uint8_t *me = a->srv->cfg.sec->system_title;
    if (!a->sec.has_client_st || g.h.originator_len != AMI_SEC_SYSTEM_TITLE_LEN ||
        !ami_ct_equal(g.h.originator, a->sec.client_st, 8) ||
        (g.h.recipient_len && !ami_ct_equal(g.h.recipient, me, 8)))
        return refuse(a, AMI_DLMS_SEC_EV_SYSTEM_TITLE, AMI_SERVICE_ERROR_DECIPHERING_ERROR, 0, out,
                      cap);
    uint8_t suite = a->policy->sec->suite;
    bool e_only = (sc & SEC_AE) == AMI_SEC_SC_ENC;
    if ((sc & AMI_SEC_SC_SUITE_MASK) != suite || !(sc & SEC_AE) ||
        !meets_policy(a->sec.policy, sc) ||
        (e_only && (a->sec.policy & AMI_DLMS_SECPOL_AUTH_REQUEST)))
        return refuse(a, AMI_DLMS_SEC_EV_DOWNGRADE, AMI_SERVICE_ERROR_DECIPHERING_ERROR, 0, out,
                      cap);
    if (sc & AMI_SEC_SC_KEY_SET) /* the key is named by key-info, not by SC */
        return refuse(a, AMI_DLMS_SEC_EV_BAD_TAG, AMI_SERVICE_ERROR_DECIPHERING_ERROR, 0, out, cap);
    size_t klen = suite == 2 ? 32 : 16;
    uint8_t key[32];
    const uint8_t *ek = NULL;
    size_t ek_len = 0;
    h->key_kind = (int8_t)g.key_info.kind;
    if (g.key_info.kind == AMI_GC_KI_IDENTIFIED) {
        bool bro = g.key_info.key_id == AMI_GC_KEY_ID_BROADCAST;
        ek = bro ? k->gbek : k->guek;
        ek_len = bro ? k->gbek_len : k->guek_len;
    } else if (g.key_info.kind == AMI_GC_KI_WRAPPED && k->kek) {
        int n = ami_gc_unwrap_key(&g.key_info, k->kek, k->kek_len, key, sizeof key);
        if (n > 0) {
            ek = key;
            ek_len = (size_t)n;
        }
    } else if (g.key_info.kind == AMI_GC_KI_AGREED && suite >= 1 &&
               a->policy->sec->server_sign_key && a->policy->sec->client_verify_key) {
        /* one-pass ECDH: the client's ephemeral key, signed with its key, and ours */
        int n = ami_gc_agree_recipient(suite, &g.key_info, a->policy->sec->client_verify_key,
                                       a->policy->sec->server_sign_key, g.h.originator, me, key,
                                       sizeof key);
        if (n == AMI_E_AUTH)
            return refuse(a, AMI_DLMS_SEC_EV_BAD_SIGNATURE, AMI_SERVICE_ERROR_DECIPHERING_ERROR, 0,
                          out, cap);
        if (n > 0) {
            ek = key;
            ek_len = (size_t)n;
        }
    }
    /* absent key-info, agreed-key without EC keys or in suite 0, no KEK, no such key */
    if (!ek || ek_len != klen) {
        ami_wipe(key, sizeof key);
        return refuse(a, AMI_DLMS_SEC_EV_KEY_REFUSED, AMI_SERVICE_ERROR_DECIPHERING_ERROR, 0, out,
                      cap);
    }
    ami_replay *r = a->srv->cfg.sec->replay;
    uint32_t ic = ami_dec32be(g.content + 1);
    int rc = ami_replay_check(r, a->sec.client_st, ic);
    if (rc != AMI_OK) {
        ami_wipe(key, sizeof key);
        if (rc == AMI_E_REPLAY)
            return refuse(a, AMI_DLMS_SEC_EV_REPLAY, AMI_SERVICE_ERROR_INVOCATION_COUNTER_ERROR,
                          replay_last(r, a->sec.client_st), out, cap);
        return refuse(a, 0, AMI_SERVICE_ERROR_OTHER_REASON, 0, out, cap);
    }
    rc = ami_gc_unprotect(&g, ek, ek_len, k->ak, k->ak ? k->ak_len : 0, a->mem.cipher,
                          a->mem.cipher_cap, plen, NULL);
    ami_wipe(key, sizeof key);
    if (rc != AMI_OK)
        return refuse(a, AMI_DLMS_SEC_EV_BAD_TAG, AMI_SERVICE_ERROR_DECIPHERING_ERROR, 0, out, cap);
    if (!*plen || !is_plain_request(a->mem.cipher[0])) {
        ami_wipe(a->mem.cipher, *plen);
        a->stats.malformed++;
        return refuse(a, 0, AMI_SERVICE_ERROR_OPERATION_NOT_POSSIBLE, 0, out, cap);
    }
    (void)ami_replay_accept(r, a->sec.client_st, ic);
    memcpy(h->txid, g.h.transaction_id, g.h.transaction_id_len);
    h->txid_len = (uint8_t)g.h.transaction_id_len;
    a->ctx.apdu_authenticated = (sc & AMI_SEC_SC_AUTH) != 0;
    a->ctx.apdu_encrypted = (sc & AMI_SEC_SC_ENC) != 0;
    a->stats.ciphered_in++;
    return 0;
}

/*
 * Checks and deciphers a ciphered request into a->mem.cipher. Returns 0 with the plaintext length
 * in *plen and *h set, or a refusal already written into out (a positive length), or a negative
 * error.
 */
static int decipher(ami_dlms_assoc *a, const ami_dlms_keys *k, const uint8_t *req, size_t len,
                    how *h, size_t *plen, uint8_t *out, size_t cap, ami_sec_ctx *own)
{
    memset(h, 0, sizeof *h);
    uint8_t tag = req[0], inner = 0;
    bool ded = false;
    if (tag == AMI_APDU_GENERAL_CIPHERING)
        return decipher_gc(a, k, req, len, h, plen, out, cap);
    if (tag == AMI_APDU_GENERAL_GLO_CIPHERING || tag == AMI_APDU_GENERAL_DED_CIPHERING) {
        h->general = true;
        ded = tag == AMI_APDU_GENERAL_DED_CIPHERING;
    } else if (!service_tag(tag, &ded, &inner)) {
        return refuse(a, 0, AMI_SERVICE_ERROR_SERVICE_NOT_SUPPORTED, 0, out, cap);
    }
    h->ded = ded;
    h->ciphered = true;
    ami_sec_apdu p;
    size_t used = 0;
    if (ami_sec_apdu_parse(req, len, &p, &used) != AMI_OK || used != len) {
        a->stats.malformed++;
        return refuse(a, AMI_DLMS_SEC_EV_BAD_TAG, AMI_SERVICE_ERROR_DECIPHERING_ERROR, 0, out, cap);
    }
    h->sc = p.sc;
    /* The sender's system title: the one of the association (Green Book 9.3.5). */
    if (!a->sec.has_client_st ||
        (p.system_title && !ami_ct_equal(p.system_title, a->sec.client_st, 8)))
        return refuse(a, AMI_DLMS_SEC_EV_SYSTEM_TITLE, AMI_SERVICE_ERROR_DECIPHERING_ERROR, 0, out,
                      cap);
    if ((p.sc & AMI_SEC_SC_SUITE_MASK) != a->policy->sec->suite ||
        !meets_policy(a->sec.policy, p.sc))
        return refuse(a, AMI_DLMS_SEC_EV_DOWNGRADE, AMI_SERVICE_ERROR_DECIPHERING_ERROR, 0, out,
                      cap);
    if (ded && (p.sc & AMI_SEC_SC_KEY_SET))
        return refuse(a, AMI_DLMS_SEC_EV_BAD_TAG, AMI_SERVICE_ERROR_DECIPHERING_ERROR, 0, out, cap);
    ami_replay *r = a->srv->cfg.sec->replay;
    int rc = ami_replay_check(r, a->sec.client_st, p.ic);
    if (rc == AMI_E_REPLAY)
        return refuse(a, AMI_DLMS_SEC_EV_REPLAY, AMI_SERVICE_ERROR_INVOCATION_COUNTER_ERROR,
                      replay_last(r, a->sec.client_st), out, cap);
    if (rc != AMI_OK)
        return refuse(a, 0, AMI_SERVICE_ERROR_OTHER_REASON, 0, out, cap);
    ami_sec_ctx *c;
    rc = keyed_ctx(a, k,
                   ded                           ? KEY_DEDICATED
                   : (p.sc & AMI_SEC_SC_KEY_SET) ? KEY_BROADCAST
                                                 : KEY_GLOBAL,
                   own, &c); /* the caller wipes own */
    if (rc == AMI_OK)
        rc = ami_sec_apdu_decrypt(c, &p, a->sec.client_st, a->mem.cipher, a->mem.cipher_cap, plen);
    if (rc == AMI_E_ACCESS)
        return refuse(a, AMI_DLMS_SEC_EV_DOWNGRADE, AMI_SERVICE_ERROR_DECIPHERING_ERROR, 0, out,
                      cap);
    if (rc != AMI_OK)
        return refuse(a, AMI_DLMS_SEC_EV_BAD_TAG, AMI_SERVICE_ERROR_DECIPHERING_ERROR, 0, out, cap);
    /* The plaintext must be the service the tag names (general-*: any xDLMS request). */
    uint8_t t = *plen ? a->mem.cipher[0] : 0;
    if (h->general ? !is_plain_request(t) : t != inner) {
        ami_wipe(a->mem.cipher, *plen);
        a->stats.malformed++;
        return refuse(a, 0, AMI_SERVICE_ERROR_OPERATION_NOT_POSSIBLE, 0, out, cap);
    }
    /* Only now, after it authenticated (or parsed, for encryption-only), does the counter move. */
    (void)ami_replay_accept(r, a->sec.client_st, p.ic);
    a->ctx.apdu_authenticated = (p.sc & AMI_SEC_SC_AUTH) != 0;
    a->ctx.apdu_encrypted = (p.sc & AMI_SEC_SC_ENC) != 0;
    a->stats.ciphered_in++;
    return 0;
}

/* ---------------------------------------------------------------- association establishment */

static int aare_send(ami_dlms_assoc *a, uint8_t context, uint8_t result, uint8_t diag, bool hls,
                     const uint8_t *ui, size_t ui_len, uint8_t *out, size_t cap)
{
    ami_apdu r;
    memset(&r, 0, sizeof r);
    r.tag = AMI_ACSE_AARE;
    r.u.aare.c.context = context;
    r.u.aare.result = result;
    r.u.aare.diag_source = AMI_ACSE_DIAG_USER;
    r.u.aare.diagnostic = diag;
    if (result == AMI_ACSE_ACCEPTED &&
        (a->sec.ciphered_context || a->policy->mechanism >= AMI_ACSE_MECH_GMAC))
        r.u.aare.c.ap_title = ami_view_of(a->srv->cfg.sec->system_title, 8);
    if (hls) {
        r.u.aare.c.has_acse_requirements = true;
        r.u.aare.c.authentication = true;
        r.u.aare.c.has_mechanism = true;
        r.u.aare.c.mechanism = a->policy->mechanism;
        r.u.aare.c.has_auth_value = true;
        r.u.aare.c.auth_kind = AMI_ACSE_AUTH_CHARSTRING;
        r.u.aare.c.auth_value = ami_view_of(a->sec.stoc, a->sec.stoc_len);
    }
    if (ui_len) {
        r.u.aare.c.has_user_information = true;
        r.u.aare.c.user_information = ami_view_of(ui, ui_len);
    }
    if (result != AMI_ACSE_ACCEPTED)
        a->stats.aarq_rejected++;
    ami_wr w;
    ami_wr_init(&w, out, cap);
    int rc = ami_apdu_encode(&w, &r);
    if (rc == AMI_E_NOSPACE || ami_wr_error(&w))
        return AMI_E_NOSPACE;
    if (rc != AMI_OK)
        return AMI_E_INTERNAL;
    a->stats.responses++;
    return (int)w.len;
}

static int aarq_reject(ami_dlms_assoc *a, uint8_t context, uint8_t diag, int event, uint8_t *out,
                       size_t cap)
{
    if (event)
        ami__sec_event(a, event);
    ami__sec_reset(a);
    a->ctx.state = AMI_DLMS_ASSOC_IDLE;
    return aare_send(a, context, AMI_ACSE_REJECTED_PERMANENT, diag, false, NULL, 0, out, cap);
}

static int aarq_reject_initiate(ami_dlms_assoc *a, uint8_t context, uint8_t value, int event,
                                uint8_t *out, size_t cap)
{
    if (event)
        ami__sec_event(a, event);
    ami__sec_reset(a);
    a->ctx.state = AMI_DLMS_ASSOC_IDLE;
    /* confirmed-service-error, initiateError [1], ServiceError initiate [6], value */
    const uint8_t ui[4] = {AMI_APDU_CONFIRMED_SERVICE_ERROR, 1, 6, value};
    return aare_send(a, context, AMI_ACSE_REJECTED_PERMANENT, AMI_ACSE_USER_NO_REASON, false, ui,
                     sizeof ui, out, cap);
}

/* Checks the AARQ's authentication (mechanism, LLS password, HLS CtoS). 0 or a diagnostic. */
static uint8_t check_mechanism(ami_dlms_assoc *a, const ami_aarq *q, int *event)
{
    const ami_dlms_policy *p = a->policy;
    uint8_t mech = q->c.has_mechanism ? q->c.mechanism : AMI_ACSE_MECH_NONE;
    *event = 0;
    if (p->mechanism == AMI_ACSE_MECH_NONE)
        return mech == AMI_ACSE_MECH_NONE ? 0 : AMI_ACSE_USER_MECHANISM_NOT_RECOGNISED;
    if (mech == AMI_ACSE_MECH_NONE)
        return AMI_ACSE_USER_MECHANISM_REQUIRED;
    if (mech != p->mechanism)
        return AMI_ACSE_USER_MECHANISM_NOT_RECOGNISED;
    if (!q->c.has_auth_value || q->c.auth_kind != AMI_ACSE_AUTH_CHARSTRING)
        return AMI_ACSE_USER_AUTHENTICATION_REQUIRED;
    const ami_view *v = &q->c.auth_value;
    if (mech == AMI_ACSE_MECH_LOW) {
        bool same = v->len == p->password_len;
        bool eq = ami_ct_equal(same ? v->p : p->password, p->password, p->password_len);
        if (same && eq)
            return 0;
        *event = AMI_DLMS_SEC_EV_AUTH_FAILED;
        return AMI_ACSE_USER_AUTHENTICATION_FAILURE;
    }
    if (v->len < AMI_HLS_CHALLENGE_MIN || v->len > AMI_HLS_CHALLENGE_MAX) {
        *event = AMI_DLMS_SEC_EV_AUTH_FAILED;
        return AMI_ACSE_USER_AUTHENTICATION_FAILURE;
    }
    memcpy(a->sec.ctos, v->p, v->len);
    a->sec.ctos_len = (uint8_t)v->len;
    return 0;
}

/*
 * Deciphers a glo-initiateRequest from the AARQ user-information into a->mem.cipher.
 * Returns AMI_OK, or the security event that refuses it (positive).
 */
static int decipher_initiate(ami_dlms_assoc *a, const ami_dlms_keys *k, ami_view ui, uint8_t *sc,
                             size_t *plen)
{
    ami_sec_apdu p;
    size_t used = 0;
    if (ami_sec_apdu_parse(ui.p, ui.len, &p, &used) != AMI_OK || used != ui.len)
        return AMI_DLMS_SEC_EV_BAD_TAG;
    *sc = p.sc;
    if ((p.sc & AMI_SEC_SC_SUITE_MASK) != a->policy->sec->suite || (p.sc & AMI_SEC_SC_KEY_SET) ||
        !meets_policy(a->sec.policy, p.sc))
        return AMI_DLMS_SEC_EV_DOWNGRADE;
    ami_replay *r = a->srv->cfg.sec->replay;
    int rc = ami_replay_check(r, a->sec.client_st, p.ic);
    if (rc != AMI_OK)
        return AMI_DLMS_SEC_EV_REPLAY;
    ami_sec_ctx *c;
    rc = keyed_ctx(a, k, KEY_GLOBAL, NULL, &c);
    if (rc == AMI_OK)
        rc = ami_sec_apdu_decrypt(c, &p, a->sec.client_st, a->mem.cipher, a->mem.cipher_cap, plen);
    if (rc == AMI_E_ACCESS)
        return AMI_DLMS_SEC_EV_DOWNGRADE;
    if (rc != AMI_OK)
        return AMI_DLMS_SEC_EV_BAD_TAG;
    (void)ami_replay_accept(r, a->sec.client_st, p.ic);
    return AMI_OK;
}

static int handle_aarq(ami_dlms_assoc *a, const uint8_t *req, size_t len, uint8_t *out, size_t cap)
{
    ami_dlms_assoc_reset(a); /* a new AARQ ends the association (as in server.c) */
    a->stats.requests++;
    const ami_dlms_policy *p = a->policy;
    const ami_dlms_sec_policy *sp = p->sec;
    uint8_t base = p->context, ciph = (uint8_t)(p->context + 2);
    ami_aarq q;
    if (ami_aarq_decode(req, len, &q) != AMI_OK) {
        a->stats.malformed++;
        return aarq_reject(a, base, AMI_ACSE_USER_NO_REASON, 0, out, cap);
    }
    if (q.c.context != base && q.c.context != ciph)
        return aarq_reject(a, base, AMI_ACSE_USER_CONTEXT_NOT_SUPPORTED, 0, out, cap);
    uint8_t ctx = q.c.context;
    a->sec.ciphered_context = ctx == ciph;
    if (!a->sec.ciphered_context && demands_request_protection(a->sec.policy))
        return aarq_reject(a, ctx, AMI_ACSE_USER_CONTEXT_NOT_SUPPORTED, AMI_DLMS_SEC_EV_DOWNGRADE,
                           out, cap);

    /* Client system title (calling-AP-title): needed for ciphering and HLS 5..7. */
    if (q.c.ap_title.len) {
        if (q.c.ap_title.len != AMI_SEC_SYSTEM_TITLE_LEN)
            return aarq_reject(a, ctx, AMI_ACSE_USER_CALLING_AP_TITLE_NOT_RECOGNIZED,
                               AMI_DLMS_SEC_EV_SYSTEM_TITLE, out, cap);
        memcpy(a->sec.client_st, q.c.ap_title.p, 8);
        a->sec.has_client_st = true;
    }
    bool need_st = a->sec.ciphered_context || p->mechanism >= AMI_ACSE_MECH_GMAC;
    if ((need_st && !a->sec.has_client_st) ||
        (sp->client_system_title && a->sec.has_client_st &&
         !ami_ct_equal(sp->client_system_title, a->sec.client_st, 8)))
        return aarq_reject(a, ctx, AMI_ACSE_USER_CALLING_AP_TITLE_NOT_RECOGNIZED,
                           AMI_DLMS_SEC_EV_SYSTEM_TITLE, out, cap);

    int event;
    uint8_t diag = check_mechanism(a, &q, &event);
    if (diag)
        return aarq_reject(a, ctx, diag, event, out, cap);
    if (!q.c.has_user_information)
        return aarq_reject(a, ctx, AMI_ACSE_USER_NO_REASON, 0, out, cap);

    ami_dlms_keys k;
    bool ciphered_ui =
        ami_apdu_is_ciphered(q.c.user_information.len ? q.c.user_information.p[0] : 0);
    ami_view init_bytes = q.c.user_information;
    uint8_t req_sc = 0;
    if (ciphered_ui) {
        if (!a->sec.ciphered_context || q.c.user_information.p[0] != AMI_APDU_GLO_INITIATE_REQUEST)
            return aarq_reject_initiate(a, ctx, 0, 0, out, cap);
        if (get_keys(a, &k) != AMI_OK)
            return aarq_reject(a, ctx, AMI_ACSE_USER_NO_REASON, 0, out, cap);
        size_t plen;
        int ev = decipher_initiate(a, &k, q.c.user_information, &req_sc, &plen);
        if (ev)
            return aarq_reject(a, ctx, AMI_ACSE_USER_NO_REASON, ev, out, cap);
        init_bytes = ami_view_of(a->mem.cipher, plen);
    } else if (demands_request_protection(a->sec.policy)) {
        return aarq_reject(a, ctx, AMI_ACSE_USER_NO_REASON, AMI_DLMS_SEC_EV_DOWNGRADE, out, cap);
    }
    ami_apdu init;
    int rc = ami_apdu_decode(init_bytes.p, init_bytes.len, NULL, NULL, &init);
    if (rc != AMI_OK || init.tag != AMI_APDU_INITIATE_REQUEST) {
        a->stats.malformed++;
        ami_wipe(a->mem.cipher, a->mem.cipher_cap);
        return aarq_reject_initiate(a, ctx, 0, 0, out, cap);
    }
    const ami_initiate_request *ir = &init.u.initiate_request;
    if (ir->has_dedicated_key) {
        /* A dedicated key travels only inside a ciphered InitiateRequest (Green Book 9.2.7.1);
         * its length is the suite's key length. */
        size_t want = sp->suite == 2 ? 32 : 16;
        if (!ciphered_ui || ir->dedicated_key.len != want) {
            ami_wipe(a->mem.cipher, a->mem.cipher_cap);
            return aarq_reject_initiate(a, ctx, 0, AMI_DLMS_SEC_EV_DOWNGRADE, out, cap);
        }
        memcpy(a->sec.dedicated_key, ir->dedicated_key.p, want);
        a->sec.dedicated_key_len = (uint8_t)want;
    }
    uint8_t dlms_version = ir->dlms_version;
    uint16_t client_pdu = ir->max_pdu_size;
    uint32_t conf = ir->conformance & p->conformance;
    ami_wipe(a->mem.cipher, a->mem.cipher_cap);
    if (dlms_version < 6)
        return aarq_reject_initiate(a, ctx, 1, 0, out, cap);
    if (client_pdu && client_pdu < 12)
        return aarq_reject_initiate(a, ctx, 3, 0, out, cap);
    if (!conf)
        return aarq_reject_initiate(a, ctx, 2, 0, out, cap);

    /* Accepted: the InitiateResponse, ciphered when the request was. */
    uint16_t server_pdu = p->max_pdu ? p->max_pdu : 1024;
    ami_apdu resp;
    memset(&resp, 0, sizeof resp);
    resp.tag = AMI_APDU_INITIATE_RESPONSE;
    resp.u.initiate_response.dlms_version = 6;
    resp.u.initiate_response.conformance = conf;
    resp.u.initiate_response.max_pdu_size = server_pdu;
    resp.u.initiate_response.vaa_name = p->context == AMI_ACSE_CONTEXT_SN ? VAA_SN : VAA_LN;
    uint8_t plain_ui[32], ui[96];
    ami_wr uw;
    ami_wr_init(&uw, plain_ui, sizeof plain_ui);
    if (ami_apdu_encode(&uw, &resp) != AMI_OK)
        return AMI_E_INTERNAL;
    size_t ui_len = uw.len;
    const uint8_t *ui_p = plain_ui;
    if (ciphered_ui) {
        how h = {.ciphered = true, .sc = req_sc};
        rc = cipher_response(a, &k, &h, plain_ui, uw.len, ui, sizeof ui);
        if (rc < 0)
            return rc;
        ui_p = ui;
        ui_len = (size_t)rc;
    }
    bool hls = p->mechanism >= AMI_ACSE_MECH_HIGH;
    if (hls) {
        const ami_dlms_server_sec *s = a->srv->cfg.sec;
        size_t n = sp->challenge_len ? sp->challenge_len : 16;
        rc = s->challenge ? s->challenge(s->challenge_user, a->sec.stoc, n)
                          : ami_hls_challenge(a->sec.stoc, n);
        if (rc != AMI_OK)
            return aarq_reject(a, ctx, AMI_ACSE_USER_NO_REASON, 0, out, cap);
        a->sec.stoc_len = (uint8_t)n;
    }
    a->ctx.state = hls ? AMI_DLMS_ASSOC_PENDING : AMI_DLMS_ASSOC_ASSOCIATED;
    a->ctx.context = p->context;
    a->ctx.mechanism = p->mechanism;
    a->ctx.conformance = conf;
    a->ctx.client_max_pdu = client_pdu ? client_pdu : 0xFFFF;
    a->ctx.server_max_pdu = server_pdu;
    return aare_send(a, ctx, AMI_ACSE_ACCEPTED,
                     hls ? AMI_ACSE_USER_AUTHENTICATION_REQUIRED : AMI_ACSE_USER_NULL, hls, ui_p,
                     ui_len, out, cap);
}

/* ---------------------------------------------------------------- dispatch */

/* general-signing: tag, transaction-id (1 + 64), two titles (2 x 9), date-time and
 * other-information (empty), content length (<= 5), signature (1 + 96). */
#define GS_OVERHEAD 200u

/*
 * general-signing request (0xDF; Green Book 9.2.7.2.4 general-signing, suites 1 and 2): the
 * signature is verified with the policy's client_verify_key before anything else (refused:
 * bad-signature), the originator must be the association's client and the recipient (when
 * given) this server. The content (a plain or ciphered xDLMS request, not another
 * general-signing APDU) is then served as if it came alone, and the response goes out in
 * general-signing, signed with server_sign_key, with the request's transaction-id.
 */
static int handle_signed(ami_dlms_assoc *a, const uint8_t *req, size_t len, uint8_t *out,
                         size_t cap)
{
    const ami_dlms_sec_policy *sp = a->policy->sec;
    const uint8_t *me = a->srv->cfg.sec->system_title;
    ami_gs_apdu g;
    size_t used = 0;
    if (ami_gs_parse(req, len, &g, &used) != AMI_OK || used != len || !g.content_len) {
        a->stats.requests++;
        a->stats.malformed++;
        return refuse(a, AMI_DLMS_SEC_EV_BAD_TAG, AMI_SERVICE_ERROR_DECIPHERING_ERROR, 0, out, cap);
    }
    if (sp->suite < 1 || !sp->client_verify_key || !sp->server_sign_key) {
        a->stats.requests++;
        return refuse(a, AMI_DLMS_SEC_EV_KEY_REFUSED, AMI_SERVICE_ERROR_DECIPHERING_ERROR, 0, out,
                      cap);
    }
    if (ami_gs_verify(req, &g, sp->suite, sp->client_verify_key) != AMI_OK) {
        a->stats.requests++;
        return refuse(a, AMI_DLMS_SEC_EV_BAD_SIGNATURE, AMI_SERVICE_ERROR_DECIPHERING_ERROR, 0, out,
                      cap);
    }
    if (!a->sec.has_client_st || g.h.originator_len != AMI_SEC_SYSTEM_TITLE_LEN ||
        !ami_ct_equal(g.h.originator, a->sec.client_st, 8) ||
        (g.h.recipient_len && !ami_ct_equal(g.h.recipient, me, 8))) {
        a->stats.requests++;
        return refuse(a, AMI_DLMS_SEC_EV_SYSTEM_TITLE, AMI_SERVICE_ERROR_DECIPHERING_ERROR, 0, out,
                      cap);
    }
    if (g.content[0] == AMI_GC_TAG_SIGNING || g.content[0] == AMI_ACSE_AARQ ||
        g.content[0] == AMI_ACSE_RLRQ || cap <= GS_OVERHEAD) {
        a->stats.requests++;
        a->stats.malformed++;
        return refuse(a, 0, AMI_SERVICE_ERROR_OPERATION_NOT_POSSIBLE, 0, out, cap);
    }
    uint8_t txid[AMI_GC_TXID_MAX];
    size_t txid_len = g.h.transaction_id_len;
    memcpy(txid, g.h.transaction_id, txid_len);
    /* the inner response goes after our header room, then into the (now free) cipher buffer */
    int n = ami__sec_handle(a, g.content, g.content_len, out + GS_OVERHEAD, cap - GS_OVERHEAD);
    if (n <= 0)
        return n;
    if ((size_t)n > a->mem.cipher_cap)
        return AMI_E_NOSPACE;
    memcpy(a->mem.cipher, out + GS_OVERHEAD, (size_t)n);
    ami_gc_header hd = {txid, txid_len, me, 8, a->sec.client_st, 8, NULL, 0, NULL, 0};
    ami_wr w;
    ami_wr_init(&w, out, cap);
    int rc = ami_gs_sign(&w, &hd, a->mem.cipher, (size_t)n, sp->suite, sp->server_sign_key);
    ami_wipe(a->mem.cipher, (size_t)n);
    if (rc != AMI_OK)
        return rc == AMI_E_NOSPACE ? AMI_E_NOSPACE : AMI_E_INTERNAL;
    return (int)w.len;
}

int ami__sec_handle(ami_dlms_assoc *a, const uint8_t *req, size_t len, uint8_t *out, size_t cap)
{
    uint8_t tag = req[0];
    if (tag == AMI_ACSE_AARQ)
        return handle_aarq(a, req, len, out, cap);
    if (tag == AMI_GC_TAG_SIGNING && a->ctx.state != AMI_DLMS_ASSOC_IDLE)
        return handle_signed(a, req, len, out, cap);
    uint8_t state = a->ctx.state;
    bool ciphered = ami_apdu_is_ciphered(tag);
    if (state == AMI_DLMS_ASSOC_IDLE || tag == AMI_ACSE_RLRQ ||
        (ciphered && !a->sec.ciphered_context))
        return ami__dlms_handle_plain(a, req, len, out, cap);
    ami_dlms_keys k;
    ami_sec_ctx c;
    memset(&c, 0, sizeof c); /* wiping a zeroed context is harmless */
    how h = {0};
    size_t plen = 0;
    const uint8_t *plain = req;
    if (ciphered) {
        if (get_keys(a, &k) != AMI_OK) {
            a->stats.requests++;
            return refuse(a, 0, AMI_SERVICE_ERROR_OTHER_REASON, 0, out, cap);
        }
        int rc = decipher(a, &k, req, len, &h, &plen, out, cap, &c);
        if (rc != 0) {
            ami_sec_ctx_wipe(&c);
            a->stats.requests++;
            return rc;
        }
        plain = a->mem.cipher;
    } else {
        bool xdlms =
            is_plain_request(tag) || tag == AMI_APDU_READ_REQUEST || tag == AMI_APDU_WRITE_REQUEST;
        if (xdlms && demands_request_protection(a->sec.policy)) {
            /* A plain request where the policy demands protection: a downgrade. */
            a->stats.requests++;
            return refuse(a, AMI_DLMS_SEC_EV_DOWNGRADE, AMI_SERVICE_ERROR_DECIPHERING_ERROR, 0, out,
                          cap);
        }
        if (state != AMI_DLMS_ASSOC_PENDING &&
            !(a->sec.policy & (AMI_DLMS_SECPOL_AUTH_RESPONSE | AMI_DLMS_SECPOL_ENC_RESPONSE)))
            return ami__dlms_handle_plain(a, req, len, out, cap);
        if (get_keys(a, &k) != AMI_OK) {
            a->stats.requests++;
            return refuse(a, 0, AMI_SERVICE_ERROR_OTHER_REASON, 0, out, cap);
        }
        plen = len;
    }

    /* The plain response goes after the plaintext request in the ciphering buffer, small
     * enough that its ciphered form fits the client's PDU. */
    size_t off = ciphered ? plen : 0;
    uint8_t *resp = a->mem.cipher + off;
    size_t rcap = a->mem.cipher_cap - off;
    size_t ovh = h.gc ? GC_OVERHEAD : CIPHER_OVERHEAD;
    size_t limit = a->ctx.client_max_pdu > 64 + ovh ? a->ctx.client_max_pdu - ovh : 64;
    if (cap > ovh && cap - ovh < limit)
        limit = cap - ovh;
    if (rcap > limit)
        rcap = limit;
    int pn;
    if (state == AMI_DLMS_ASSOC_PENDING) {
        a->stats.requests++;
        ami_wr w;
        ami_wr_init(&w, resp, rcap);
        pn = ami__hls_reply(a, &k, plain, plen, &w);
    } else {
        pn = ami__dlms_handle_plain(a, plain, plen, resp, rcap);
    }
    int n = pn;
    if (pn > 0) {
        if (!h.ciphered && !response_sc(a, 0)) {
            if ((size_t)pn > cap)
                n = AMI_E_NOSPACE;
            else
                memmove(out, resp, (size_t)pn);
        } else {
            n = cipher_response(a, &k, &h, resp, (size_t)pn, out, cap);
        }
    }
    /* Nothing deciphered stays behind in the buffer. */
    if (ciphered || pn > 0)
        ami_wipe(a->mem.cipher, off + (pn > 0 ? (size_t)pn : 0));
    ami_sec_ctx_wipe(&c);
    install_pending(a);
    return n;
}

/* ---------------------------------------------------------------- objects the engine serves */

static const ami_dlms_policy *ic_policy(const ami_dlms_server *s, uint8_t x)
{
    for (size_t i = 0; i < s->cfg.policy_count; i++) {
        const ami_dlms_policy *p = &s->cfg.policies[i];
        if (p->sec && (x == 0 || p->client_sap == x))
            return p;
    }
    return NULL;
}

static void put_ln(ami_wr *w, const ami_obis *ln)
{
    ami_wr_u8(w, AMI_AXDR_OCTET_STRING);
    ami_wr_u8(w, 6);
    ami_wr_bytes(w, ln->v, 6);
}

static void put_octets(ami_wr *w, const uint8_t *p, size_t n)
{
    ami_wr_u8(w, AMI_AXDR_OCTET_STRING);
    ami_axdr_put_length(w, n);
    ami_wr_bytes(w, p, n);
}

static bool is_ln(const ami_obis *o, uint8_t c, uint8_t d, uint8_t e)
{
    return o->v[0] == 0 && o->v[1] == 0 && o->v[2] == c && o->v[3] == d && o->v[4] == e &&
           o->v[5] == 255;
}

int ami__sec_get(ami_dlms_assoc *a, const ami_attr_sel *sel, ami_wr *out)
{
    const ami_dlms_server_sec *s = a->srv->cfg.sec;
    const ami_cosem_desc *d = &sel->attr;
    if (!s)
        return -1;
    /* Invocation counters 0-0:43.1.x.255 (Data): the last counter the server accepted from the
     * client of SAP x (x = 0: the first secured SAP in the policy list), so that a client that
     * lost its counter can continue above it. Readable by every association, as meters do for the
     * public client. */
    if (d->class_id == 1 && is_ln(&d->instance, 43, 1, d->instance.v[4])) {
        const ami_dlms_policy *p = ic_policy(a->srv, d->instance.v[4]);
        if (!p)
            return -1;
        if (sel->access.present)
            return AMI_DAR_SCOPE_OF_ACCESS_VIOLATED;
        if (d->id == 1) {
            put_ln(out, &d->instance);
            return AMI_DAR_SUCCESS;
        }
        if (d->id != 2)
            return AMI_DAR_OBJECT_UNDEFINED;
        const uint8_t *st = p->sec->client_system_title;
        uint32_t ic = 0;
        if (st) {
            ic = replay_last(s->replay, st);
        } else {
            /* No fixed client title: the highest counter accepted from any client (a meter
             * with one ciphering client; configure the title when there are several). */
            for (size_t i = 0; i < s->replay->cap; i++)
                if (s->replay->slots[i].used && s->replay->slots[i].last_ic > ic)
                    ic = s->replay->slots[i].last_ic;
        }
        ami_wr_u8(out, AMI_AXDR_DOUBLE_LONG_UNSIGNED);
        ami_wr_u32be(out, ic);
        return AMI_DAR_SUCCESS;
    }
    /* Security Setup (class 64 version 1, or 0 per policy) of this association's security
     * context. */
    if (d->class_id != 64 || !is_ln(&d->instance, 43, 0, 0) || !a->policy || !a->policy->sec)
        return -1;
    if (sel->access.present)
        return AMI_DAR_SCOPE_OF_ACCESS_VIOLATED;
    bool v0 = a->policy->sec->setup_v0;
    switch (d->id) {
    case 1:
        put_ln(out, &d->instance);
        break;
    case 2: /* security_policy: version 1 bits, or the version 0 enum */
        ami_wr_u8(out, AMI_AXDR_ENUM);
        ami_wr_u8(out, v0 ? (uint8_t)v0_enum(a->sec.policy) : a->sec.policy);
        break;
    case 3: /* security_suite */
        ami_wr_u8(out, AMI_AXDR_ENUM);
        ami_wr_u8(out, a->policy->sec->suite);
        break;
    case 4: /* client_system_title */
        put_octets(out, a->sec.client_st, a->sec.has_client_st ? 8 : 0);
        break;
    case 5: /* server_system_title */
        put_octets(out, s->system_title, 8);
        break;
    case 6: /* certificates (version 1 only: server_cert.c) */
        if (v0)
            return AMI_DAR_OBJECT_UNDEFINED;
        return ami__cert_get(a, out);
    default:
        return AMI_DAR_OBJECT_UNDEFINED;
    }
    return AMI_DAR_SUCCESS;
}

/* key_transfer (method 2): array of structure { key_id enum, key_wrapped octet-string }. The
 * keys are unwrapped with the KEK; all must unwrap before any is kept. */
static int key_transfer(ami_dlms_assoc *a, ami_view params)
{
    const ami_dlms_server_sec *s = a->srv->cfg.sec;
    if (!s->keys.update)
        return AMI_DAR_READ_WRITE_DENIED;
    ami_dlms_keys k;
    if (get_keys(a, &k) != AMI_OK || !k.kek || !valid_key_len(k.kek_len))
        return AMI_DAR_OTHER_REASON;
    ami_rd r;
    ami_rd_init(&r, params.p, params.len);
    uint8_t t;
    size_t count;
    if (ami_rd_u8(&r, &t) || t != AMI_AXDR_ARRAY || ami_axdr_get_length(&r, &count) || count == 0 ||
        count > 4)
        return AMI_DAR_TYPE_UNMATCHED;
    uint8_t ids[4], lens[4], keys[4][AMI_SEC_KEY_MAX];
    int result = AMI_DAR_SUCCESS;
    size_t i;
    for (i = 0; i < count && result == AMI_DAR_SUCCESS; i++) {
        uint8_t st, n2, et, id, ot;
        size_t wl;
        const uint8_t *wp;
        if (ami_rd_u8(&r, &st) || st != AMI_AXDR_STRUCTURE || ami_rd_u8(&r, &n2) || n2 != 2 ||
            ami_rd_u8(&r, &et) || et != AMI_AXDR_ENUM || ami_rd_u8(&r, &id) || ami_rd_u8(&r, &ot) ||
            ot != AMI_AXDR_OCTET_STRING || ami_axdr_get_length(&r, &wl) ||
            ami_rd_view(&r, wl, &wp)) {
            result = AMI_DAR_TYPE_UNMATCHED;
            break;
        }
        bool dup = false;
        for (size_t j = 0; j < i; j++)
            dup |= ids[j] == id;
        if (id > AMI_DLMS_KEY_KEK || dup) {
            result = AMI_DAR_OTHER_REASON;
            break;
        }
        int n = ami_keywrap_unwrap(k.kek, k.kek_len, wp, wl, keys[i], sizeof keys[i]);
        if (n < 0 || !valid_key_len((size_t)n) ||
            (id != AMI_DLMS_KEY_AK && id != AMI_DLMS_KEY_KEK &&
             (size_t)n != (a->policy->sec->suite == 2 ? 32u : 16u))) {
            if (n == AMI_E_AUTH)
                ami__sec_event(a, AMI_DLMS_SEC_EV_BAD_TAG);
            result = AMI_DAR_OTHER_REASON;
            break;
        }
        ids[i] = id;
        lens[i] = (uint8_t)n;
    }
    if (result == AMI_DAR_SUCCESS && ami_rd_left(&r))
        result = AMI_DAR_TYPE_UNMATCHED;
    if (result == AMI_DAR_SUCCESS) {
        a->sec.pending_count = (uint8_t)count;
        memcpy(a->sec.pending_id, ids, count);
        memcpy(a->sec.pending_len, lens, count);
        memcpy(a->sec.pending_key, keys, count * sizeof keys[0]);
    }
    ami_wipe(keys, sizeof keys);
    return result;
}

int ami__sec_action(ami_dlms_assoc *a, const ami_cosem_desc *ref, ami_view params, ami_wr *out)
{
    if (!a->srv->cfg.sec || !a->policy || !a->policy->sec || ref->class_id != 64 ||
        !is_ln(&ref->instance, 43, 0, 0))
        return -1;
    bool v0 = a->policy->sec->setup_v0;
    if (ref->id < 1 || ref->id > (v0 ? 2 : 8))
        return AMI_DAR_OBJECT_UNDEFINED;
    /* Every method changes or reveals the security of the meter: only for authenticated
     * requests. */
    if (!a->ctx.apdu_authenticated) {
        a->sec.cert_refusal = AMI_DLMS_CERT_DENIED;
        return AMI_DAR_READ_WRITE_DENIED;
    }
    if (ref->id >= 3)
        return ami__cert_action(a, (uint8_t)ref->id, params, out);
    if (ref->id == 1) { /* security_activate(security_policy): may only strengthen */
        if (params.len != 2 || params.p[0] != AMI_AXDR_ENUM)
            return AMI_DAR_TYPE_UNMATCHED;
        uint8_t v = params.p[1];
        if (v0) { /* the version 0 enum */
            if (v > 3)
                return AMI_DAR_TYPE_UNMATCHED;
            v = v0_bits[v];
        }
        if ((v & ~(unsigned)AMI_DLMS_SECPOL_AUTH_ENC) || (v & a->sec.policy) != a->sec.policy)
            return AMI_DAR_READ_WRITE_DENIED;
        if (v != a->sec.policy) {
            a->sec.policy = v;
            ami__sec_event(a, AMI_DLMS_SEC_EV_POLICY_ACTIVATED);
        }
        return AMI_DAR_SUCCESS;
    }
    return key_transfer(a, params); /* version 0: global_key_transfer, the same parameters */
}
