/*
 * Client session security (ami/dlms_client_sec.h): ciphered AA establishment, glo-/ded- and
 * general ciphering of requests, deciphering and checking of responses, built-in HLS passes.
 *
 * References: Green Book ed. 9, 9.2.7.2 (security header, AES-GCM), 9.2.7.2.4.2 (invocation
 * counter: used once by the sender, must increase at the receiver), 9.2.7.4 (HLS), 9.4.2.2
 * (AARQ with glo-initiateRequest, application context "with ciphering"), Table 40 (ciphered
 * APDU tags: glo- = plain + 8 for the LN services and + 32 for initiate/confirmed-service-error;
 * ded- = plain + 16 / + 64).
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <string.h>

#include "ami/dlms_client_sec.h"
#include "ami/error.h"
#include "ami/security_general.h"
#include "client_sec.h"

/* ---------------------------------------------------------------- names */

static const char *const level_names[] = {"none", "auth", "enc", "auth-enc"};

const char *ami_dlms_sec_level_name(int level)
{
    if (level < 0 || (size_t)level >= AMI_COUNTOF(level_names))
        return "unknown";
    return level_names[level];
}

int ami_dlms_sec_level_parse(const char *name)
{
    for (size_t i = 0; name && i < AMI_COUNTOF(level_names); i++)
        if (!strcmp(name, level_names[i]))
            return (int)i;
    return AMI_E_NOTFOUND;
}

const char *ami_dlms_sec_refusal_name(int refusal)
{
    switch (refusal) {
    case AMI_DLMS_SEC_REFUSAL_NONE:
        return "none";
    case AMI_DLMS_SEC_REFUSAL_TAG:
        return "authentication tag mismatch (wrong key or tampered APDU)";
    case AMI_DLMS_SEC_REFUSAL_REPLAY:
        return "replayed invocation counter";
    case AMI_DLMS_SEC_REFUSAL_SYSTEM_TITLE:
        return "system title is not the server's";
    case AMI_DLMS_SEC_REFUSAL_NO_TITLE:
        return "no server system title (AARE without responding-AP-title)";
    case AMI_DLMS_SEC_REFUSAL_DOWNGRADE:
        return "response less protected than the security policy (downgrade)";
    case AMI_DLMS_SEC_REFUSAL_SUITE:
        return "another security suite than configured";
    case AMI_DLMS_SEC_REFUSAL_KEY:
        return "ciphered with a key we do not hold (broadcast or dedicated)";
    case AMI_DLMS_SEC_REFUSAL_MALFORMED:
        return "malformed ciphered APDU";
    case AMI_DLMS_SEC_REFUSAL_IC_EXHAUSTED:
        return "client invocation counter exhausted (new keys needed)";
    case AMI_DLMS_SEC_REFUSAL_CRYPTO:
        return "cryptographic library failure";
    case AMI_DLMS_SEC_REFUSAL_TRANSACTION:
        return "general-ciphering response to another transaction-id";
    case AMI_DLMS_SEC_REFUSAL_UNWRAP:
        return "wrapped key does not unwrap under the KEK (wrong KEK or tampered)";
    case AMI_DLMS_SEC_REFUSAL_SIGNATURE:
        return "agreed-key: the server's signature over its ephemeral key does not verify";
    default:
        return "unknown";
    }
}

/* ---------------------------------------------------------------- context */

static size_t suite_key_len(uint8_t suite)
{
    return suite == 2 ? 32 : 16;
}

static int set_keys(ami_sec_ctx *x, const uint8_t *ek, size_t ek_len, const uint8_t *ak,
                    size_t ak_len, unsigned accept)
{
    int rc = ami_sec_ctx_init(x);
    if (rc)
        return rc;
    x->accept = accept;
    if (ek && (rc = ami_sec_ctx_set_ek(x, ek, ek_len)) != AMI_OK)
        return rc;
    if (ak && (rc = ami_sec_ctx_set_ak(x, ak, ak_len)) != AMI_OK)
        return rc;
    return AMI_OK;
}

/* The response levels accepted under a policy: the policy's or a stronger one. */
static unsigned accept_for(uint8_t level)
{
    switch (level) {
    case AMI_DLMS_SEC_AUTH:
        return AMI_SEC_ACCEPT_AUTH | AMI_SEC_ACCEPT_AUTH_ENC;
    case AMI_DLMS_SEC_ENC:
        return AMI_SEC_ACCEPT_ENC | AMI_SEC_ACCEPT_AUTH_ENC;
    case AMI_DLMS_SEC_AUTH_ENC:
        return AMI_SEC_ACCEPT_AUTH_ENC;
    default:
        return AMI_SEC_ACCEPT_AUTH | AMI_SEC_ACCEPT_AUTH_ENC;
    }
}

static int sec_init(ami_dlms_client_sec *s, const ami_dlms_sec_config *cfg)
{
    if (cfg->level > AMI_DLMS_SEC_AUTH_ENC || cfg->suite > 2 || cfg->form > AMI_DLMS_SEC_FORM_GC ||
        cfg->key_info > AMI_DLMS_SEC_KI_AGREED)
        return AMI_E_CONFIG;
    if (!cfg->buf || cfg->cap < 64)
        return AMI_E_CONFIG;
    bool ded = cfg->dedicated_key || cfg->random_dedicated_key;
    if ((cfg->level != AMI_DLMS_SEC_NONE || ded) && !cfg->client_title)
        return AMI_E_CONFIG;
    /* the dedicated key travels inside the glo-initiateRequest: only when that is encrypted */
    if (ded && !(cfg->level & AMI_DLMS_SEC_ENC))
        return AMI_E_CONFIG;
    size_t kl = suite_key_len(cfg->suite);
    if ((cfg->ek && cfg->ek_len != kl) || (cfg->ak && cfg->ak_len != kl) ||
        (cfg->bek && cfg->bek_len != kl) || (cfg->dedicated_key && cfg->dedicated_key_len != kl))
        return AMI_E_KEY;
    if (cfg->level != AMI_DLMS_SEC_NONE && !cfg->ek)
        return AMI_E_KEY;
    if ((cfg->level & AMI_DLMS_SEC_AUTH) && !cfg->ak)
        return AMI_E_KEY;
    if (cfg->hls_secret_len > sizeof s->secret || (cfg->hls_secret_len && !cfg->hls_secret))
        return AMI_E_KEY;
    if (cfg->kek && cfg->kek_len != 16 && cfg->kek_len != 32)
        return AMI_E_KEY;
    if (cfg->form == AMI_DLMS_SEC_FORM_GC && cfg->key_info == AMI_DLMS_SEC_KI_WRAPPED && !cfg->kek)
        return AMI_E_KEY;
    if (cfg->general_signing &&
        (cfg->suite == 0 || !cfg->sign_key || !cfg->server_key || !cfg->client_title))
        return cfg->suite == 0 ? AMI_E_CONFIG : AMI_E_KEY;
    if (cfg->form == AMI_DLMS_SEC_FORM_GC && cfg->key_info == AMI_DLMS_SEC_KI_AGREED &&
        (cfg->suite == 0 || !cfg->sign_key || !cfg->server_key))
        return cfg->suite == 0 ? AMI_E_CONFIG : AMI_E_KEY;
    s->cfg = *cfg;
    if (cfg->kek) {
        memcpy(s->kek, cfg->kek, cfg->kek_len);
        s->kek_len = (uint8_t)cfg->kek_len;
    }
    s->cfg.ek = s->cfg.ak = s->cfg.bek = s->cfg.dedicated_key = s->cfg.hls_secret = NULL;
    s->cfg.kek = NULL;
    s->cfg.ek_len = s->cfg.ak_len = s->cfg.bek_len = s->cfg.kek_len = 0;
    s->cfg.dedicated_key_len = s->cfg.hls_secret_len = 0;
    if (s->cfg.ic_warn == 0)
        s->cfg.ic_warn = 0xFFFF0000u;
    unsigned acc = accept_for(cfg->level);
    int rc = set_keys(&s->glo, cfg->ek, cfg->ek_len, cfg->ak, cfg->ak_len, acc);
    if (rc)
        return rc;
    rc = set_keys(&s->glo_rx, cfg->ek, cfg->ek_len, cfg->ak, cfg->ak_len, acc);
    if (rc)
        return rc;
    rc = set_keys(&s->bro, cfg->bek, cfg->bek_len, cfg->ak, cfg->ak_len, acc);
    if (rc)
        return rc;
    s->has_bek = cfg->bek != NULL;
    if (cfg->dedicated_key) {
        memcpy(s->dedicated, cfg->dedicated_key, kl);
        s->dedicated_len = (uint8_t)kl;
    } else if (cfg->random_dedicated_key) {
        /* ami_hls_challenge draws from the OS random source (RAND_bytes); 16/32 is in range. */
        if ((rc = ami_hls_challenge(s->dedicated, kl)) != AMI_OK)
            return rc;
        s->dedicated_len = (uint8_t)kl;
    }
    rc = set_keys(&s->ded, s->dedicated_len ? s->dedicated : NULL, s->dedicated_len, cfg->ak,
                  cfg->ak_len, acc);
    if (rc)
        return rc;
    rc = set_keys(&s->ded_rx, s->dedicated_len ? s->dedicated : NULL, s->dedicated_len, cfg->ak,
                  cfg->ak_len, acc);
    if (rc)
        return rc;
    if (cfg->client_title)
        memcpy(s->client_title, cfg->client_title, AMI_SEC_SYSTEM_TITLE_LEN);
    if (cfg->server_title) {
        memcpy(s->server_title, cfg->server_title, AMI_SEC_SYSTEM_TITLE_LEN);
        s->have_server_title = s->expect_title = true;
    }
    if (cfg->hls_secret_len)
        memcpy(s->secret, cfg->hls_secret, cfg->hls_secret_len);
    s->secret_len = cfg->hls_secret_len;
    s->ic = cfg->ic;
    return ami_replay_init(&s->replay, s->slot, AMI_COUNTOF(s->slot), cfg->server_ic_store);
}

int ami_dlms_client_sec_init(ami_dlms_client_sec *s, const ami_dlms_sec_config *cfg)
{
    if (!s || !cfg)
        return AMI_E_INVAL;
    memset(s, 0, sizeof *s);
    int rc = sec_init(s, cfg);
    if (rc)
        ami_dlms_client_sec_wipe(s);
    return rc;
}

void ami_dlms_client_sec_wipe(ami_dlms_client_sec *s)
{
    if (!s)
        return;
    ami_sec_ctx_wipe(&s->glo);
    ami_sec_ctx_wipe(&s->glo_rx);
    ami_sec_ctx_wipe(&s->bro);
    ami_sec_ctx_wipe(&s->ded);
    ami_sec_ctx_wipe(&s->ded_rx);
    ami_wipe(s->dedicated, sizeof s->dedicated);
    ami_wipe(s->kek, sizeof s->kek);
    s->kek_len = 0;
    ami_wipe(s->secret, sizeof s->secret);
    if (s->cfg.buf)
        ami_wipe(s->cfg.buf, s->cfg.cap);
    s->secret_len = 0;
    s->dedicated_len = 0;
}

uint32_t ami_dlms_client_sec_ic(const ami_dlms_client_sec *s)
{
    return s->ic;
}

void ami_dlms_client_sec_set_ic(ami_dlms_client_sec *s, uint32_t ic)
{
    s->ic = ic;
    s->ic_exhausted = false;
}

uint32_t ami_dlms_client_sec_server_ic(const ami_dlms_client_sec *s)
{
    return s->last_ic;
}

void ami_dlms_client_sec_set_form(ami_dlms_client_sec *s, uint8_t form)
{
    s->cfg.form = form <= AMI_DLMS_SEC_FORM_GC ? form : AMI_DLMS_SEC_FORM_SERVICE;
}

const uint8_t *ami_dlms_client_sec_server_title(const ami_dlms_client_sec *s)
{
    return s->have_server_title ? s->server_title : NULL;
}

const uint8_t *ami_dlms_client_sec_dedicated_key(const ami_dlms_client_sec *s, size_t *len)
{
    if (len)
        *len = s->dedicated_len;
    return s->dedicated_len ? s->dedicated : NULL;
}

int ami_dlms_client_sec_refusal(const ami_dlms_client_sec *s)
{
    return s->refusal;
}

int ami_dlms_client_sec_describe(const ami_dlms_client_sec *s, char *buf, size_t cap)
{
    if (!s || !buf)
        return AMI_E_INVAL;
    if (cap < 128)
        return AMI_E_NOSPACE;
    int n;
    if (s->refusal == AMI_DLMS_SEC_REFUSAL_REPLAY)
        n = snprintf(buf, cap, "security: replayed invocation counter %u (last accepted %u)",
                     (unsigned)s->refused_ic, (unsigned)s->refused_last);
    else
        n = snprintf(buf, cap, "security: %s", ami_dlms_sec_refusal_name(s->refusal));
    if (n < 0)
        return AMI_E_INTERNAL;
    return (size_t)n >= cap ? (int)(cap - 1) : n;
}

/* ---------------------------------------------------------------- helpers */

static int refuse(ami_dlms_client_sec *s, uint8_t why, int rc)
{
    s->refusal = why;
    s->refusal_rc = rc;
    return rc;
}

/* Records a replayed counter and the sender's last accepted one (from the guard, which holds
 * what a state file said as well as what this session accepted) for the error message. */
static void note_replay(ami_dlms_client_sec *s, const uint8_t *st, uint32_t ic)
{
    s->refused_ic = ic;
    s->refused_last = s->last_ic;
    for (size_t i = 0; i < s->replay.cap; i++)
        if (s->replay.slots[i].used &&
            !memcmp(s->replay.slots[i].system_title, st, AMI_SEC_SYSTEM_TITLE_LEN))
            s->refused_last = s->replay.slots[i].last_ic;
}

static bool ciphering(const ami_dlms_client_sec *s)
{
    return s->cfg.level != AMI_DLMS_SEC_NONE;
}

static uint8_t sc_of(const ami_dlms_client_sec *s)
{
    return (uint8_t)((s->cfg.level << 4) | s->cfg.suite);
}

/* Takes the next client invocation counter: persisted (next value) before use. */
static int take_ic(ami_dlms_client_sec *s, uint32_t *ic)
{
    if (s->ic_exhausted)
        return refuse(s, AMI_DLMS_SEC_REFUSAL_IC_EXHAUSTED, AMI_E_RANGE);
    uint32_t v = s->ic;
    bool last = v == UINT32_MAX;
    if (s->cfg.ic_save) {
        int rc = s->cfg.ic_save(s->cfg.user, last ? v : v + 1);
        if (rc)
            return rc;
    }
    if (v >= s->cfg.ic_warn && !s->warned) {
        s->warned = true;
        if (s->cfg.ic_warning)
            s->cfg.ic_warning(s->cfg.user, v);
    }
    if (last)
        s->ic_exhausted = true;
    else
        s->ic = v + 1;
    *ic = v;
    return AMI_OK;
}

/* Ciphers plain[0..n) (which may live in s->cfg.buf) as `tag` into w. */
static int cipher_into(ami_dlms_client_sec *s, ami_sec_ctx *x, ami_wr *w, uint8_t tag,
                       const uint8_t *plain, size_t n)
{
    uint32_t ic;
    int rc = take_ic(s, &ic);
    if (rc)
        return rc;
    rc = ami_sec_apdu_build(x, w, tag, s->client_title, sc_of(s), ic, plain, n);
    if (rc == AMI_E_CRYPTO)
        return refuse(s, AMI_DLMS_SEC_REFUSAL_CRYPTO, rc);
    return rc;
}

/* The server system title for a ciphered APDU; a general-* APDU must name the server's. */
static int sender_title(ami_dlms_client_sec *s, const ami_sec_apdu *p, const uint8_t **st)
{
    if (!s->have_server_title) {
        if (!p->system_title)
            return refuse(s, AMI_DLMS_SEC_REFUSAL_NO_TITLE, AMI_E_PROTOCOL);
        /* No AARE title (pre-established association): the APDU's own title is taken. */
        *st = p->system_title;
        return AMI_OK;
    }
    if (p->system_title && !ami_ct_equal(p->system_title, s->server_title, 8))
        return refuse(s, AMI_DLMS_SEC_REFUSAL_SYSTEM_TITLE, AMI_E_PROTOCOL);
    *st = s->server_title;
    return AMI_OK;
}

static bool is_ded(uint8_t tag)
{
    return (tag >= 0xD0 && tag <= 0xD7) || tag == AMI_SEC_TAG_GENERAL_DED ||
           (tag >= 65 && tag <= 88);
}

/*
 * general-ciphering response (0xDD): originator = the server, recipient (when given) = us,
 * transaction-id = the one of our request, key from key-info (identified-key: the global
 * unicast or broadcast key; wrapped-key: unwrapped under the KEK).
 */
static int decipher_gc(ami_dlms_client_sec *s, const uint8_t *in, size_t n, ami_view *plain)
{
    ami_gc_apdu g;
    size_t used = 0;
    int rc = ami_gc_parse(in, n, &g, &used);
    if (rc || used != n)
        return refuse(s, AMI_DLMS_SEC_REFUSAL_MALFORMED, rc ? rc : AMI_E_MALFORMED);
    uint8_t sc = g.content[0];
    if ((sc & AMI_SEC_SC_SUITE_MASK) != s->cfg.suite)
        return refuse(s, AMI_DLMS_SEC_REFUSAL_SUITE, AMI_E_MALFORMED);
    if (g.h.originator_len != AMI_SEC_SYSTEM_TITLE_LEN ||
        (g.h.recipient_len && !ami_ct_equal(g.h.recipient, s->client_title, 8)))
        return refuse(s, AMI_DLMS_SEC_REFUSAL_SYSTEM_TITLE, AMI_E_PROTOCOL);
    ami_sec_apdu p; /* only the title matters to sender_title() */
    memset(&p, 0, sizeof p);
    p.system_title = g.h.originator;
    const uint8_t *st;
    if ((rc = sender_title(s, &p, &st)) != AMI_OK)
        return rc;
    if (!s->txid_set || g.h.transaction_id_len != sizeof s->txid ||
        !ami_ct_equal(g.h.transaction_id, s->txid, sizeof s->txid))
        return refuse(s, AMI_DLMS_SEC_REFUSAL_TRANSACTION, AMI_E_PROTOCOL);
    rc = ami_sec_check_sc(&s->glo_rx, (uint8_t)(sc & ~AMI_SEC_SC_KEY_SET));
    if (rc == AMI_E_ACCESS || rc == AMI_E_MALFORMED || (sc & AMI_SEC_SC_KEY_SET))
        return refuse(s, AMI_DLMS_SEC_REFUSAL_DOWNGRADE, AMI_E_ACCESS);
    if (rc)
        return refuse(s, AMI_DLMS_SEC_REFUSAL_MALFORMED, rc);
    uint8_t key[AMI_SEC_KEY_MAX];
    const uint8_t *ek = NULL;
    size_t ek_len = 0;
    if (g.key_info.kind == AMI_GC_KI_IDENTIFIED) {
        const ami_sec_ctx *x =
            g.key_info.key_id == AMI_GC_KEY_ID_BROADCAST ? (s->has_bek ? &s->bro : NULL) : &s->glo;
        if (x) {
            ek = x->ek;
            ek_len = x->ek_len;
        }
    } else if (g.key_info.kind == AMI_GC_KI_WRAPPED) {
        if (!s->kek_len)
            return refuse(s, AMI_DLMS_SEC_REFUSAL_KEY, AMI_E_KEY);
        int kn = ami_gc_unwrap_key(&g.key_info, s->kek, s->kek_len, key, sizeof key);
        if (kn < 0)
            return refuse(s, AMI_DLMS_SEC_REFUSAL_UNWRAP, AMI_E_KEY);
        ek = key;
        ek_len = (size_t)kn;
    } else if (g.key_info.kind == AMI_GC_KI_AGREED) {
        if (!s->cfg.sign_key || !s->cfg.server_key || !s->cfg.suite)
            return refuse(s, AMI_DLMS_SEC_REFUSAL_KEY, AMI_E_KEY);
        int kn =
            ami_gc_agree_recipient(s->cfg.suite, &g.key_info, s->cfg.server_key, s->cfg.sign_key,
                                   g.h.originator, s->client_title, key, sizeof key);
        if (kn == AMI_E_AUTH)
            return refuse(s, AMI_DLMS_SEC_REFUSAL_SIGNATURE, AMI_E_AUTH);
        if (kn < 0)
            return refuse(s, AMI_DLMS_SEC_REFUSAL_KEY, AMI_E_KEY);
        ek = key;
        ek_len = (size_t)kn;
    }
    if (!ek || ek_len != suite_key_len(s->cfg.suite)) {
        ami_wipe(key, sizeof key);
        return refuse(s, AMI_DLMS_SEC_REFUSAL_KEY, AMI_E_KEY);
    }
    uint32_t ic = ami_dec32be(g.content + 1);
    rc = ami_replay_check(&s->replay, st, ic);
    if (rc) {
        ami_wipe(key, sizeof key);
        if (rc == AMI_E_REPLAY) {
            note_replay(s, st, ic);
            return refuse(s, AMI_DLMS_SEC_REFUSAL_REPLAY, rc);
        }
        return rc;
    }
    size_t out_len = 0;
    rc = ami_gc_unprotect(&g, ek, ek_len, s->glo.ak, s->glo.ak_len, s->cfg.buf, s->cfg.cap,
                          &out_len, NULL);
    ami_wipe(key, sizeof key);
    if (rc == AMI_E_NOSPACE)
        return AMI_E_TOO_LARGE;
    if (rc == AMI_E_AUTH)
        return refuse(s, AMI_DLMS_SEC_REFUSAL_TAG, rc);
    if (rc)
        return refuse(s, AMI_DLMS_SEC_REFUSAL_CRYPTO, rc);
    (void)ami_replay_accept(&s->replay, st, ic); /* a persistence failure: held in memory */
    s->last_ic = ic;
    s->txid_set = false; /* one response per transaction */
    *plain = ami_view_of(s->cfg.buf, out_len);
    return AMI_OK;
}

/* Ciphers plain[0..n) (in s->cfg.buf) as a general-ciphering request into w. */
static int cipher_gc(ami_dlms_client_sec *s, ami_wr *w, const uint8_t *plain, size_t n)
{
    uint8_t key[AMI_SEC_KEY_MAX], wrapped[AMI_SEC_KEY_MAX + 8], kcd[4 * 48];
    size_t klen = suite_key_len(s->cfg.suite);
    ami_gc_key_info ki;
    memset(&ki, 0, sizeof ki);
    const uint8_t *ek = s->glo.ek;
    if (s->cfg.key_info == AMI_DLMS_SEC_KI_AGREED) {
        if (!s->have_server_title)
            return refuse(s, AMI_DLMS_SEC_REFUSAL_NO_TITLE, AMI_E_PROTOCOL);
        int kl = ami_gc_agree_originator(s->cfg.suite, s->cfg.sign_key, s->cfg.server_key,
                                         s->client_title, s->server_title, &ki, kcd, sizeof kcd,
                                         key, sizeof key);
        if (kl != (int)klen) {
            ami_wipe(key, sizeof key);
            return refuse(s, AMI_DLMS_SEC_REFUSAL_CRYPTO, kl < 0 ? kl : AMI_E_CRYPTO);
        }
        ek = key;
    } else if (s->cfg.key_info == AMI_DLMS_SEC_KI_WRAPPED) {
        int rc = ami_hls_challenge(key, klen); /* a fresh content key from the OS */
        int wn = rc ? rc : ami_keywrap_wrap(s->kek, s->kek_len, key, klen, wrapped, sizeof wrapped);
        if (wn < 0) {
            ami_wipe(key, sizeof key);
            return refuse(s, AMI_DLMS_SEC_REFUSAL_CRYPTO, AMI_E_CRYPTO);
        }
        ki.kind = AMI_GC_KI_WRAPPED;
        ki.kek_id = AMI_GC_KEK_MASTER;
        ki.data = wrapped;
        ki.data_len = (size_t)wn;
        ek = key;
    } else {
        ki.kind = AMI_GC_KI_IDENTIFIED;
        ki.key_id = AMI_GC_KEY_ID_UNICAST;
    }
    uint32_t ic;
    int rc = take_ic(s, &ic);
    if (rc) {
        ami_wipe(key, sizeof key);
        return rc;
    }
    /* transaction-id: the request's invocation counter, unique per key (8 bytes) */
    ami_enc64be(s->txid, ic);
    s->txid_set = true;
    ami_gc_header h;
    memset(&h, 0, sizeof h);
    h.transaction_id = s->txid;
    h.transaction_id_len = sizeof s->txid;
    h.originator = s->client_title;
    h.originator_len = AMI_SEC_SYSTEM_TITLE_LEN;
    if (s->have_server_title) {
        h.recipient = s->server_title;
        h.recipient_len = AMI_SEC_SYSTEM_TITLE_LEN;
    }
    rc = ami_gc_protect(w, &h, &ki, ek, klen, s->glo.ak, s->glo.ak_len, sc_of(s), ic, plain, n);
    ami_wipe(key, sizeof key);
    if (rc == AMI_E_CRYPTO)
        return refuse(s, AMI_DLMS_SEC_REFUSAL_CRYPTO, rc);
    return rc;
}

/* Deciphers the ciphered APDU in[0..n) into the scratch buffer; checks everything. */
static int decipher(ami_dlms_client_sec *s, const uint8_t *in, size_t n, ami_view *plain)
{
    if (n && in[0] == AMI_GC_TAG_CIPHERING)
        return decipher_gc(s, in, n, plain);
    ami_sec_apdu p;
    size_t used;
    int rc = ami_sec_apdu_parse(in, n, &p, &used);
    if (rc || used != n)
        return refuse(s, AMI_DLMS_SEC_REFUSAL_MALFORMED, rc ? rc : AMI_E_MALFORMED);
    if ((p.sc & AMI_SEC_SC_SUITE_MASK) != s->cfg.suite)
        return refuse(s, AMI_DLMS_SEC_REFUSAL_SUITE, AMI_E_MALFORMED);
    ami_sec_ctx *x = &s->glo_rx;
    if (is_ded(p.tag)) {
        if (!s->dedicated_len)
            return refuse(s, AMI_DLMS_SEC_REFUSAL_KEY, AMI_E_KEY);
        x = &s->ded_rx;
    } else if (p.sc & AMI_SEC_SC_KEY_SET) {
        if (!s->has_bek)
            return refuse(s, AMI_DLMS_SEC_REFUSAL_KEY, AMI_E_KEY);
        x = &s->bro;
    }
    const uint8_t *st;
    if ((rc = sender_title(s, &p, &st)) != AMI_OK)
        return rc;
    rc = ami_sec_check_sc(x, p.sc);
    if (rc == AMI_E_ACCESS || rc == AMI_E_MALFORMED)
        return refuse(s, AMI_DLMS_SEC_REFUSAL_DOWNGRADE, AMI_E_ACCESS);
    if (rc == AMI_E_KEY)
        return refuse(s, AMI_DLMS_SEC_REFUSAL_KEY, rc);
    if (rc)
        return refuse(s, AMI_DLMS_SEC_REFUSAL_MALFORMED, rc);
    rc = ami_replay_check(&s->replay, st, p.ic);
    if (rc == AMI_E_REPLAY) {
        note_replay(s, st, p.ic);
        return refuse(s, AMI_DLMS_SEC_REFUSAL_REPLAY, rc);
    }
    if (rc)
        return rc;
    size_t out_len;
    rc = ami_sec_apdu_decrypt(x, &p, st, s->cfg.buf, s->cfg.cap, &out_len);
    if (rc == AMI_E_NOSPACE)
        return AMI_E_TOO_LARGE;
    if (rc == AMI_E_AUTH)
        return refuse(s, AMI_DLMS_SEC_REFUSAL_TAG, rc);
    if (rc)
        return refuse(s, AMI_DLMS_SEC_REFUSAL_CRYPTO, rc);
    /* Authenticated (or, for an encryption-only policy the caller chose, decrypted): the
     * counter is accepted now and never before (ami/security.h). */
    rc = ami_replay_accept(&s->replay, st, p.ic);
    if (rc && rc != AMI_E_REPLAY) {
        /* a persistence failure: the counter is held in memory; the session goes on */
        rc = AMI_OK;
    }
    if (rc)
        return rc;
    s->last_ic = p.ic;
    *plain = ami_view_of(s->cfg.buf, out_len);
    return AMI_OK;
}

/* ---------------------------------------------------------------- hooks */

int ami__csec_check(const ami_dlms_client_config *k)
{
    const ami_dlms_client_sec *s = k->sec;
    if (k->mechanism < AMI_ACSE_MECH_HIGH)
        return AMI_OK;
    if (!s)
        return k->hls_pass3 ? AMI_OK : AMI_E_CONFIG;
    if (k->hls_pass3)
        return AMI_OK;
    switch (k->mechanism) {
    case AMI_ACSE_MECH_HIGH:
    case AMI_ACSE_MECH_MD5:
    case AMI_ACSE_MECH_SHA1:
        return s->secret_len ? AMI_OK : AMI_E_KEY;
    case AMI_ACSE_MECH_GMAC:
        return s->glo.ek_len && s->glo.ak_len && s->cfg.client_title ? AMI_OK : AMI_E_KEY;
    case AMI_ACSE_MECH_SHA256:
        return s->secret_len && s->cfg.client_title ? AMI_OK : AMI_E_KEY;
    case AMI_ACSE_MECH_ECDSA:
        return s->cfg.sign_key && s->cfg.server_key && s->cfg.client_title ? AMI_OK : AMI_E_KEY;
    default:
        return AMI_E_CONFIG;
    }
}

int ami__csec_aarq(ami_dlms_client *c, ami_aarq *q, ami_apdu *ini, uint8_t *ui, size_t cap,
                   size_t *ui_len)
{
    ami_dlms_client_sec *s = c->cfg.sec;
    ami_wr w;
    ami_wr_init(&w, ui, cap);
    if (!s) {
        int rc = ami_apdu_encode(&w, ini);
        if (rc == AMI_OK)
            rc = ami_wr_error(&w);
        *ui_len = w.len;
        return rc;
    }
    s->ded_active = false;
    /* Built-in HLS without a configured challenge: a fresh random CtoS per association. */
    if (c->cfg.mechanism >= AMI_ACSE_MECH_HIGH && !c->cfg.hls_pass3 &&
        (c->cfg.auth_value.len == 0 || s->own_ctos)) {
        int rc = ami_hls_challenge(c->auth, 16);
        if (rc)
            return rc;
        s->own_ctos = true;
        c->cfg.auth_value = ami_view_of(c->auth, 16);
        q->c.auth_value = c->cfg.auth_value;
    }
    bool titled = ciphering(s) || c->cfg.mechanism >= AMI_ACSE_MECH_GMAC;
    if (titled && c->cfg.calling_ap_title.len == 0 && s->cfg.client_title)
        q->c.ap_title = ami_view_of(s->client_title, AMI_SEC_SYSTEM_TITLE_LEN);
    if (!ciphering(s)) {
        int rc = ami_apdu_encode(&w, ini);
        if (rc == AMI_OK)
            rc = ami_wr_error(&w);
        *ui_len = w.len;
        return rc;
    }
    /* Green Book 9.4.2.2.2: ciphered contexts; the InitiateRequest goes glo-ciphered with the
     * dedicated key, if any, inside. */
    q->c.context = c->cfg.context == AMI_ACSE_CONTEXT_SN ? AMI_ACSE_CONTEXT_SN_CIPHER
                                                         : AMI_ACSE_CONTEXT_LN_CIPHER;
    if (s->dedicated_len) {
        ini->u.initiate_request.has_dedicated_key = true;
        ini->u.initiate_request.dedicated_key = ami_view_of(s->dedicated, s->dedicated_len);
    }
    ami_wr p;
    ami_wr_init(&p, s->cfg.buf, s->cfg.cap);
    int rc = ami_apdu_encode(&p, ini);
    if (rc == AMI_OK)
        rc = ami_wr_error(&p);
    if (rc == AMI_OK)
        rc = cipher_into(s, &s->glo, &w, AMI_APDU_GLO_INITIATE_REQUEST, s->cfg.buf, p.len);
    if (rc == AMI_OK)
        rc = ami_wr_error(&w);
    ami_wipe(s->cfg.buf, p.len);
    *ui_len = w.len;
    return rc;
}

int ami__csec_aare(ami_dlms_client *c, const ami_aare *e, ami_view *ui)
{
    ami_dlms_client_sec *s = c->cfg.sec;
    *ui = e->c.user_information;
    if (!s)
        return AMI_OK;
    if (e->c.ap_title.len) {
        if (e->c.ap_title.len != AMI_SEC_SYSTEM_TITLE_LEN)
            return refuse(s, AMI_DLMS_SEC_REFUSAL_SYSTEM_TITLE, AMI_E_PROTOCOL);
        if (s->expect_title) {
            if (!ami_ct_equal(e->c.ap_title.p, s->server_title, AMI_SEC_SYSTEM_TITLE_LEN))
                return refuse(s, AMI_DLMS_SEC_REFUSAL_SYSTEM_TITLE, AMI_E_PROTOCOL);
        } else {
            memcpy(s->server_title, e->c.ap_title.p, AMI_SEC_SYSTEM_TITLE_LEN);
            s->have_server_title = true;
        }
    }
    if (!e->c.has_user_information || ui->len == 0)
        return AMI_OK;
    if (ami_apdu_is_ciphered(ui->p[0]))
        return decipher(s, ui->p, ui->len, ui);
    /* A plain InitiateResponse to a ciphered AARQ is a downgrade; a plain rejection
     * (confirmed-service-error) carries no data and is reported as such. */
    if (ciphering(s) && e->result == AMI_ACSE_ACCEPTED)
        return refuse(s, AMI_DLMS_SEC_REFUSAL_DOWNGRADE, AMI_E_ACCESS);
    return AMI_OK;
}

void ami__csec_associated(ami_dlms_client *c)
{
    ami_dlms_client_sec *s = c->cfg.sec;
    if (s && ciphering(s) && s->dedicated_len)
        s->ded_active = true;
}

int ami__csec_rlrq(ami_dlms_client *c, ami_release *r, uint8_t *ui, size_t cap)
{
    ami_dlms_client_sec *s = c->cfg.sec;
    if (!s || !ciphering(s))
        return AMI_OK;
    /* Green Book 9.4.4.2: the RLRQ of a ciphered association carries a glo-initiateRequest
     * (authenticating the release); the dedicated key is not sent again. */
    ami_apdu ini;
    memset(&ini, 0, sizeof ini);
    ini.tag = AMI_APDU_INITIATE_REQUEST;
    ini.u.initiate_request.dlms_version = c->cfg.dlms_version;
    ini.u.initiate_request.conformance = c->cfg.conformance;
    ini.u.initiate_request.max_pdu_size = c->cfg.max_pdu;
    ami_wr p, w;
    ami_wr_init(&p, s->cfg.buf, s->cfg.cap);
    ami_wr_init(&w, ui, cap);
    int rc = ami_apdu_encode(&p, &ini);
    if (rc == AMI_OK)
        rc = ami_wr_error(&p);
    if (rc == AMI_OK)
        rc = cipher_into(s, &s->glo, &w, AMI_APDU_GLO_INITIATE_REQUEST, s->cfg.buf, p.len);
    if (rc == AMI_OK)
        rc = ami_wr_error(&w);
    if (rc)
        return rc;
    r->has_user_information = true;
    r->user_information = ami_view_of(ui, w.len);
    return AMI_OK;
}

int ami__csec_rlre(ami_dlms_client *c, const ami_release *r)
{
    ami_dlms_client_sec *s = c->cfg.sec;
    if (!s || !r->has_user_information || r->user_information.len == 0)
        return AMI_OK;
    if (!ami_apdu_is_ciphered(r->user_information.p[0]))
        return AMI_OK;
    ami_view plain;
    int rc = decipher(s, r->user_information.p, r->user_information.len, &plain);
    ami_wipe(s->cfg.buf, s->cfg.cap < plain.len ? s->cfg.cap : plain.len);
    return rc;
}

size_t ami__csec_overhead(const ami_dlms_client *c)
{
    const ami_dlms_client_sec *s = c->cfg.sec;
    /* general-signing: tag, txid (9), two titles (18), two empty fields, content length (<= 5),
     * signature (1 + 96) */
    size_t gs = s && s->cfg.general_signing ? 1 + 9 + 18 + 2 + 5 + 1 + 96 : 0;
    if (!s || !ciphering(s))
        return gs;
    /* tag, length (up to 3 bytes), SC, IC, GCM tag; general-*: system title + its length */
    size_t n = 1 + 3 + AMI_SEC_HEADER_LEN + AMI_SEC_TAG_LEN;
    if (s->cfg.form == AMI_DLMS_SEC_FORM_GC)        /* txid, two titles, empty fields, key-info */
        return gs + n + 9 + 9 + 9 + 2 + 8 + 4 * 48; /* agreed-key of suite 2 is the largest */
    return gs + (s->cfg.form == AMI_DLMS_SEC_FORM_GENERAL ? n + 1 + AMI_SEC_SYSTEM_TITLE_LEN : n);
}

static int protect_inner(ami_dlms_client *c, ami_wr *out, size_t mark)
{
    ami_dlms_client_sec *s = c->cfg.sec;
    if (!ciphering(s))
        return AMI_OK;
    size_t n = out->len - mark;
    if (!out->p) {
        out->len += ami__csec_overhead(c);
        return AMI_OK;
    }
    uint8_t plain_tag = out->p[mark];
    if (n > s->cfg.cap)
        return AMI_E_TOO_LARGE;
    uint8_t tag;
    bool ded = s->ded_active;
    if (s->cfg.form == AMI_DLMS_SEC_FORM_GC) {
        if (!(plain_tag >= AMI_APDU_GET_REQUEST && plain_tag <= AMI_APDU_ACTION_REQUEST))
            return AMI_E_UNSUPPORTED; /* the server takes LN service requests in it */
        memcpy(s->cfg.buf, out->p + mark, n);
        out->len = mark;
        int rc = cipher_gc(s, out, s->cfg.buf, n);
        ami_wipe(s->cfg.buf, n);
        if (rc == AMI_OK)
            rc = ami_wr_error(out);
        return rc;
    }
    if (s->cfg.form == AMI_DLMS_SEC_FORM_GENERAL)
        tag = ded ? AMI_SEC_TAG_GENERAL_DED : AMI_SEC_TAG_GENERAL_GLO;
    else if (plain_tag >= AMI_APDU_GET_REQUEST && plain_tag <= AMI_APDU_ACTION_REQUEST)
        tag = (uint8_t)(plain_tag + (ded ? 16 : 8)); /* Table 40: glo +8, ded +16 */
    else if (plain_tag == AMI_APDU_READ_REQUEST || plain_tag == AMI_APDU_WRITE_REQUEST ||
             plain_tag == AMI_APDU_UNCONFIRMED_WRITE_REQUEST)
        tag = (uint8_t)(plain_tag + (ded ? 64 : 32)); /* SN services: glo +32, ded +64 */
    else
        return AMI_E_UNSUPPORTED;
    memcpy(s->cfg.buf, out->p + mark, n);
    out->len = mark;
    int rc = cipher_into(s, ded ? &s->ded : &s->glo, out, tag, s->cfg.buf, n);
    ami_wipe(s->cfg.buf, n);
    if (rc == AMI_OK)
        rc = ami_wr_error(out);
    return rc;
}

/*
 * general-signing of the request at out[mark..): the transaction-id is the one of the
 * general-ciphering content when there is one, else a fresh invocation counter (8 bytes).
 */
static int sign_request(ami_dlms_client_sec *s, ami_wr *out, size_t mark)
{
    size_t n = out->len - mark;
    if (n > s->cfg.cap)
        return AMI_E_TOO_LARGE;
    if (!s->txid_set) {
        uint32_t ic;
        int rc = take_ic(s, &ic);
        if (rc)
            return rc;
        ami_enc64be(s->txid, ic);
        s->txid_set = true;
    }
    memcpy(s->cfg.buf, out->p + mark, n);
    out->len = mark;
    ami_gc_header h;
    memset(&h, 0, sizeof h);
    h.transaction_id = s->txid;
    h.transaction_id_len = sizeof s->txid;
    h.originator = s->client_title;
    h.originator_len = AMI_SEC_SYSTEM_TITLE_LEN;
    if (s->have_server_title) {
        h.recipient = s->server_title;
        h.recipient_len = AMI_SEC_SYSTEM_TITLE_LEN;
    }
    int rc = ami_gs_sign(out, &h, s->cfg.buf, n, s->cfg.suite, s->cfg.sign_key);
    ami_wipe(s->cfg.buf, n);
    if (rc == AMI_E_CRYPTO)
        return refuse(s, AMI_DLMS_SEC_REFUSAL_CRYPTO, rc);
    return rc ? rc : ami_wr_error(out);
}

int ami__csec_protect(ami_dlms_client *c, ami_wr *out, size_t mark)
{
    ami_dlms_client_sec *s = c->cfg.sec;
    if (!s || out->len <= mark)
        return AMI_OK;
    if (!out->p) {
        out->len += ami__csec_overhead(c);
        return AMI_OK;
    }
    uint8_t plain_tag = out->p[mark];
    if (s->cfg.general_signing && plain_tag != AMI_ACSE_AARQ && plain_tag != AMI_ACSE_RLRQ)
        s->txid_set = false; /* a fresh transaction */
    int rc = protect_inner(c, out, mark);
    if (rc || !s->cfg.general_signing || plain_tag == AMI_ACSE_AARQ || plain_tag == AMI_ACSE_RLRQ)
        return rc;
    return sign_request(s, out, mark);
}

/*
 * general-signing response (0xDF): the signature is checked with server_key first, then the
 * titles (originator the server, recipient when given us) and the transaction-id (our
 * request's); the content is then taken as the response (deciphered when ciphered).
 */
static int unsign(ami_dlms_client_sec *s, const uint8_t **apdu, size_t *len)
{
    ami_gs_apdu g;
    size_t used = 0;
    int rc = ami_gs_parse(*apdu, *len, &g, &used);
    if (rc || used != *len || !g.content_len)
        return refuse(s, AMI_DLMS_SEC_REFUSAL_MALFORMED, rc ? rc : AMI_E_MALFORMED);
    rc = ami_gs_verify(*apdu, &g, s->cfg.suite, s->cfg.server_key);
    if (rc == AMI_E_AUTH || rc == AMI_E_MALFORMED)
        return refuse(s, AMI_DLMS_SEC_REFUSAL_SIGNATURE, AMI_E_AUTH);
    if (rc)
        return refuse(s, AMI_DLMS_SEC_REFUSAL_CRYPTO, rc);
    if (g.h.originator_len != AMI_SEC_SYSTEM_TITLE_LEN ||
        (g.h.recipient_len && !ami_ct_equal(g.h.recipient, s->client_title, 8)))
        return refuse(s, AMI_DLMS_SEC_REFUSAL_SYSTEM_TITLE, AMI_E_PROTOCOL);
    ami_sec_apdu p;
    memset(&p, 0, sizeof p);
    p.system_title = g.h.originator;
    const uint8_t *st;
    if ((rc = sender_title(s, &p, &st)) != AMI_OK)
        return rc;
    if (!s->txid_set || g.h.transaction_id_len != sizeof s->txid ||
        !ami_ct_equal(g.h.transaction_id, s->txid, sizeof s->txid))
        return refuse(s, AMI_DLMS_SEC_REFUSAL_TRANSACTION, AMI_E_PROTOCOL);
    uint8_t t = g.content[0];
    if (t == AMI_GC_TAG_SIGNING)
        return refuse(s, AMI_DLMS_SEC_REFUSAL_MALFORMED, AMI_E_MALFORMED);
    if (ami_apdu_is_ciphered(t)) {
        ami_view plain;
        rc = decipher(s, g.content, g.content_len, &plain);
        if (rc)
            return rc;
        s->last_secured = true;
        s->txid_set = false;
        *apdu = plain.p;
        *len = plain.len;
        return AMI_OK;
    }
    if (ciphering(s) && t != AMI_APDU_EXCEPTION_RESPONSE && t != AMI_APDU_CONFIRMED_SERVICE_ERROR)
        return refuse(s, AMI_DLMS_SEC_REFUSAL_DOWNGRADE, AMI_E_ACCESS);
    s->txid_set = false; /* one response per transaction */
    *apdu = g.content;
    *len = g.content_len;
    return AMI_OK;
}

int ami__csec_unprotect(ami_dlms_client *c, const uint8_t **apdu, size_t *len)
{
    ami_dlms_client_sec *s = c->cfg.sec;
    if (!s || *len == 0)
        return AMI_OK;
    s->last_secured = false;
    uint8_t tag = (*apdu)[0];
    if (tag == AMI_GC_TAG_SIGNING && s->cfg.general_signing)
        return unsign(s, apdu, len);
    if (s->cfg.general_signing && tag != AMI_ACSE_AARE && tag != AMI_ACSE_RLRE &&
        tag != AMI_APDU_EXCEPTION_RESPONSE && tag != AMI_APDU_CONFIRMED_SERVICE_ERROR)
        return refuse(s, AMI_DLMS_SEC_REFUSAL_DOWNGRADE, AMI_E_ACCESS);
    if (ami_apdu_is_ciphered(tag)) {
        ami_view plain;
        int rc = decipher(s, *apdu, *len, &plain);
        if (rc)
            return rc;
        s->last_secured = true;
        *apdu = plain.p;
        *len = plain.len;
        return AMI_OK;
    }
    switch (tag) {
    case AMI_ACSE_AARE:
    case AMI_ACSE_RLRE:
        return AMI_OK; /* checked by the AARE / RLRE hooks */
    case AMI_APDU_EXCEPTION_RESPONSE:
    case AMI_APDU_CONFIRMED_SERVICE_ERROR:
        return AMI_OK; /* error reports carry no data (a deciphering failure comes this way) */
    default:
        if (ciphering(s))
            return refuse(s, AMI_DLMS_SEC_REFUSAL_DOWNGRADE, AMI_E_ACCESS);
        return AMI_OK;
    }
}

/* ---------------------------------------------------------------- HLS */

static void hls_params(ami_dlms_client *c, ami_hls_params *p, bool peer)
{
    ami_dlms_client_sec *s = c->cfg.sec;
    memset(p, 0, sizeof *p);
    p->mech = c->cfg.mechanism;
    p->secret = s->secret_len ? s->secret : NULL;
    p->secret_len = s->secret_len;
    p->ek = s->glo.ek;
    p->ek_len = s->glo.ek_len;
    p->ak = s->glo.ak;
    p->ak_len = s->glo.ak_len;
    p->sc = (uint8_t)(AMI_SEC_SC_AUTH | s->cfg.suite);
    const uint8_t *me = s->client_title, *peer_t = s->have_server_title ? s->server_title : NULL;
    p->st_responder = peer ? peer_t : me;
    p->st_other = peer ? me : peer_t;
    p->sign_key = s->cfg.sign_key;
    p->verify_key = s->cfg.server_key;
}

int ami__csec_pass3(ami_dlms_client *c, ami_view stoc, uint8_t *out, size_t cap, size_t *len)
{
    ami_dlms_client_sec *s = c->cfg.sec;
    if (!s)
        return AMI_E_CONFIG;
    if (stoc.len > sizeof s->stoc)
        return AMI_E_RANGE;
    memcpy(s->stoc, stoc.p, stoc.len);
    s->stoc_len = stoc.len;
    ami_hls_params p;
    hls_params(c, &p, false);
    if (c->cfg.mechanism >= AMI_ACSE_MECH_SHA256 && !p.st_other)
        return refuse(s, AMI_DLMS_SEC_REFUSAL_NO_TITLE, AMI_E_PROTOCOL);
    if (c->cfg.mechanism == AMI_ACSE_MECH_GMAC) {
        int rc = take_ic(s, &p.ic);
        if (rc)
            return rc;
    }
    int n =
        ami_hls_compute(&p, stoc.p, stoc.len, c->cfg.auth_value.p, c->cfg.auth_value.len, out, cap);
    if (n < 0)
        return n;
    *len = (size_t)n;
    return AMI_OK;
}

int ami__csec_pass4(ami_dlms_client *c, ami_view f_ctos)
{
    ami_dlms_client_sec *s = c->cfg.sec;
    ami_hls_params p;
    hls_params(c, &p, true);
    if (c->cfg.mechanism >= AMI_ACSE_MECH_GMAC && !p.st_responder)
        return refuse(s, AMI_DLMS_SEC_REFUSAL_NO_TITLE, AMI_E_PROTOCOL);
    uint32_t ic = 0;
    int rc = ami_hls_check(&p, c->cfg.auth_value.p, c->cfg.auth_value.len, s->stoc, s->stoc_len,
                           f_ctos.p, f_ctos.len, &ic);
    if (rc == AMI_E_MALFORMED)
        rc = AMI_E_AUTH;
    if (rc)
        return rc;
    if (c->cfg.mechanism == AMI_ACSE_MECH_GMAC && !s->last_secured) {
        /* f(CtoS) came in a plain ACTION response: its counter is the server's frame counter
         * (inside a ciphered response the outer APDU's counter was checked instead). */
        rc = ami_replay_accept(&s->replay, p.st_responder, ic);
        if (rc == AMI_E_REPLAY) {
            note_replay(s, p.st_responder, ic);
            return refuse(s, AMI_DLMS_SEC_REFUSAL_REPLAY, rc);
        }
        s->last_ic = ic;
    }
    return AMI_OK;
}
