/*
 * Security options of `ami dlms` (dlms_sec.h): keys, mechanisms, invocation counter state.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "dlms_sec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "cli.h"
#include "ic_state.h"

/* Counters reserved ahead in the state file (a crash skips at most this many). */
#define IC_RESERVE 64u

void dlms_sec_defaults(struct dlms_sec *s, const char *cmd)
{
    memset(s, 0, offsetof(struct dlms_sec, buf));
    s->cmd = cmd;
    s->ic = -1;
    s->ic_obis = "0.0.43.1.0.255";
}

void dlms_sec_help(FILE *out)
{
    fprintf(
        out,
        "\nSecurity options:\n"
        "  --auth hls-aes|hls-md5|hls-sha1|hls-gmac|hls-sha256|hls-ecdsa   HLS mechanisms 2..7\n"
        "  --password P        also the HLS secret of mechanisms 2, 3, 4 and 6\n"
        "  --security none|auth|enc|auth-enc   ciphering of the xDLMS APDUs (default none)\n"
        "  --suite 0|1|2       security suite (2: AES-256, 32-byte keys; default 0)\n"
        "  --ek HEX --ak HEX   global unicast encryption key, authentication key\n"
        "  --bek HEX           global broadcast encryption key\n"
        "  --kek HEX           master key (key wrapping for keys rotate)\n"
        "  --system-title HEX  the client's system title (8 bytes)\n"
        "  --server-system-title HEX   expected server system title (else from the AARE)\n"
        "  --dedicated-key     propose a random dedicated key (ded- ciphering; enc levels)\n"
        "  --ciphering glo|ded|general-glo|general-ded|general   form of the ciphered\n"
        "                      requests: glo- service APDUs (default), ded- (= --dedicated-key),\n"
        "                      general-glo/-ded-ciphering, or general-ciphering (0xDD)\n"
        "  --general-ciphering alias of --ciphering general-glo\n"
        "  --key-info identified|wrapped|agreed   key of general-ciphering: the global\n"
        "                      unicast key (default), a fresh random key wrapped under --kek,\n"
        "                      or one-pass ECDH (suites 1, 2) with a signed ephemeral key:\n"
        "                      needs --ecdsa-key and --server-public-key\n"
        "  --general-signing   wrap every request (plain or ciphered) in general-signing\n"
        "                      (0xDF), signed with --ecdsa-key; responses must come signed\n"
        "                      with --server-public-key's key (suites 1, 2; needs\n"
        "                      --system-title)\n"
        "  --key-file FILE     'ek = HEX' lines: ek ak bk kek hls_secret system_title\n"
        "                      client_system_title password (options win)\n"
        "  --ecdsa-key PEM --server-public-key PEM   keys of mechanism 7 and of\n"
        "                      --key-info agreed (P-256 for suites 0/1, P-384 for suite 2)\n"
        "  --ic N              the next client invocation counter\n"
        "  --read-ic           read the server's counter through the public client (SAP 16)\n"
        "                      even when the state file knows one\n"
        "  --ic-obis OBIS      the invocation counter object (default 0.0.43.1.0.255)\n"
        "  --state-dir DIR     invocation counter state files (default\n"
        "                      $XDG_STATE_HOME/openami/ic); --no-state: none\n"
        "Keys are never printed (--trace shows them as '*') and are wiped after use.\n");
}

static int key_opt(struct dlms_sec *s, const char *name, const char *arg, struct cli_key *k)
{
    return cli_key_set_hex(s->cmd, name, arg, k);
}

int dlms_sec_option(struct dlms_sec *s, int code, const char *arg)
{
    long v;
    switch (code) {
    case DSO_SECURITY:
        s->level = ami_dlms_sec_level_parse(arg);
        if (s->level < 0)
            return cli_usage(s->cmd, "--security: none, auth, enc or auth-enc");
        return 0;
    case DSO_SUITE:
        if (!cli_parse_long(arg, 0, 2, &v))
            return cli_usage(s->cmd, "--suite: 0, 1 or 2");
        s->suite = (int)v;
        return 0;
    case DSO_EK:
        return key_opt(s, "ek", arg, &s->keys.ek);
    case DSO_AK:
        return key_opt(s, "ak", arg, &s->keys.ak);
    case DSO_BEK:
        return key_opt(s, "bek", arg, &s->keys.bk);
    case DSO_KEK:
        return key_opt(s, "kek", arg, &s->keys.kek);
    case DSO_SYSTEM_TITLE:
        return key_opt(s, "system-title", arg, &s->keys.client_system_title);
    case DSO_SERVER_TITLE:
        return key_opt(s, "server-system-title", arg, &s->keys.system_title);
    case DSO_DEDICATED:
        s->dedicated = true;
        return 0;
    case DSO_KEY_FILE:
        s->key_file = arg;
        return 0;
    case DSO_ECDSA_KEY:
        s->ecdsa_key = arg;
        return 0;
    case DSO_SERVER_PUB:
        s->server_pub = arg;
        return 0;
    case DSO_READ_IC:
        s->read_ic = true;
        return 0;
    case DSO_IC: {
        char *end;
        errno = 0;
        unsigned long long x = strtoull(arg, &end, 10);
        if (!*arg || *end || *arg == '-' || errno || x > 0xFFFFFFFFull)
            return cli_usage(s->cmd, "--ic: 0..4294967295");
        s->ic = (long long)x;
        return 0;
    }
    case DSO_IC_OBIS: {
        ami_obis o;
        if (ami_obis_parse(arg, strlen(arg), &o) != AMI_OK)
            return cli_usage(s->cmd, "--ic-obis: an OBIS code such as 0.0.43.1.0.255");
        s->ic_obis = arg;
        return 0;
    }
    case DSO_GENERAL:
        s->general = true;
        return 0;
    case DSO_CIPHERING:
        if (!strcmp(arg, "glo") || !strcmp(arg, "ded")) {
            s->general = s->gc = false;
        } else if (!strcmp(arg, "general-glo") || !strcmp(arg, "general-ded")) {
            s->general = true;
            s->gc = false;
        } else if (!strcmp(arg, "general")) {
            s->general = false;
            s->gc = true;
        } else {
            return cli_usage(s->cmd, "--ciphering: glo, ded, general-glo, general-ded or general");
        }
        if (strstr(arg, "ded"))
            s->dedicated = true;
        return 0;
    case DSO_KEY_INFO:
        if (!strcmp(arg, "identified"))
            s->key_info = AMI_DLMS_SEC_KI_IDENTIFIED;
        else if (!strcmp(arg, "wrapped"))
            s->key_info = AMI_DLMS_SEC_KI_WRAPPED;
        else if (!strcmp(arg, "agreed"))
            s->key_info = AMI_DLMS_SEC_KI_AGREED;
        else
            return cli_usage(s->cmd, "--key-info: identified, wrapped or agreed");
        return 0;
    case DSO_GENERAL_SIGNING:
        s->signing = true;
        return 0;
    case DSO_STATE_DIR:
        s->state_dir = arg;
        return 0;
    case DSO_NO_STATE:
        s->no_state = true;
        return 0;
    default:
        return cli_usage(s->cmd, "bad option (see --help)");
    }
}

void dlms_sec_mask(const struct dlms_sec *s, uint8_t *p, size_t n)
{
    const struct cli_key *k[] = {&s->keys.ek, &s->keys.ak, &s->keys.bk, &s->keys.kek,
                                 &s->keys.hls_secret};
    for (size_t j = 0; j < sizeof k / sizeof k[0]; j++) {
        size_t m = k[j]->len;
        if (m < 4 || n < m)
            continue;
        for (size_t i = 0; i + m <= n; i++)
            if (memcmp(p + i, k[j]->v, m) == 0)
                memset(p + i, '*', m);
    }
    size_t dl;
    const uint8_t *d = s->active ? ami_dlms_client_sec_dedicated_key(&s->sec, &dl) : NULL;
    for (size_t i = 0; d && i + dl <= n; i++)
        if (memcmp(p + i, d, dl) == 0)
            memset(p + i, '*', dl);
}

/* ---------------------------------------------------------------- state files */

static void state_name(const struct dlms_sec *s, const char *url, uint8_t client_sap, char *out,
                       size_t cap)
{
    char base[200];
    if (s->keys.system_title.len == 8) {
        ami_hex_encode(s->keys.system_title.v, 8, base, sizeof base);
    } else {
        size_t j = 0;
        const char *u = strstr(url, "://");
        u = u ? u + 3 : url;
        /* the scheme kept as a prefix: tcp_host_port */
        size_t sl = (size_t)(strstr(url, "://") ? strstr(url, "://") - url : 0);
        for (size_t i = 0; i < sl && j + 1 < sizeof base; i++)
            base[j++] = url[i] == '+' ? '_' : url[i];
        if (sl && j + 1 < sizeof base)
            base[j++] = '_';
        for (; *u && j + 1 < sizeof base; u++) {
            char c = *u;
            bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '-';
            base[j++] = ok ? c : '_';
        }
        base[j] = 0;
    }
    snprintf(out, cap, "%s.c%u", base, client_sap ? client_sap : 16);
}

static int state_dir(const struct dlms_sec *s, char *out, size_t cap)
{
    const char *d = s->state_dir ? s->state_dir : getenv("AMI_STATE_DIR");
    int n;
    if (d && *d) {
        n = snprintf(out, cap, "%s", d);
    } else if ((d = getenv("XDG_STATE_HOME")) && *d == '/') {
        n = snprintf(out, cap, "%s/openami/ic", d);
    } else if ((d = getenv("HOME")) && *d) {
        n = snprintf(out, cap, "%s/.local/state/openami/ic", d);
    } else {
        return -1;
    }
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static void state_load(struct dlms_sec *s, uint32_t *client_ic, bool *known)
{
    ic_state_var v[2] = {{"client_ic", 0, false}, {"server_ic", 0, false}};
    (void)ic_state_read(s->state_path, v, 2);
    *known = v[0].present;
    if (v[0].present)
        *client_ic = v[0].value;
    if (v[1].present) {
        s->server_ic = v[1].value;
        s->server_ic_known = true;
    }
}

/* Writes the state file atomically (ic_state.h). */
static int state_write(struct dlms_sec *s, uint32_t client_ic)
{
    if (!s->state_ok)
        return AMI_OK;
    const ic_state_var v[2] = {{"client_ic", client_ic, true},
                               {"server_ic", s->server_ic, s->server_ic_known}};
    return ic_state_write(s->state_path, v, 2) == 0 ? AMI_OK : AMI_E_IO;
}

static int ic_save(void *user, uint32_t next)
{
    struct dlms_sec *s = user;
    if (!s->state_ok || next < s->reserved)
        return AMI_OK;
    uint32_t r = next > UINT32_MAX - IC_RESERVE ? UINT32_MAX : next + IC_RESERVE;
    int rc = state_write(s, r);
    if (rc == AMI_OK)
        s->reserved = r;
    return rc;
}

static void ic_warning(void *user, uint32_t ic)
{
    struct dlms_sec *s = user;
    fprintf(stderr,
            "ami %s: warning: security: the client invocation counter is %u, near 2^32: "
            "renew the keys (ami dlms keys rotate)\n",
            s->cmd, (unsigned)ic);
}

static int store_load(void *user, const uint8_t st[8], uint32_t *ic)
{
    struct dlms_sec *s = user;
    (void)st;
    if (!s->server_ic_known)
        return AMI_E_NOTFOUND;
    *ic = s->server_ic;
    return AMI_OK;
}

static int store_save(void *user, const uint8_t st[8], uint32_t ic)
{
    struct dlms_sec *s = user;
    (void)st;
    s->server_ic = ic;
    s->server_ic_known = true;
    return AMI_OK;
}

/* ---------------------------------------------------------------- counter read */

/* Reads the server's invocation counter object through the public client (SAP 16, no
 * authentication): the next counter it accepts from us is that value + 1 (the convention of
 * the Gurux examples and of meters that expose 0-0:43.1.x.255). */
static int read_server_ic(struct dlms_sec *s, const char *url, const ami_dlms_link_opts *lo,
                          uint32_t *ic)
{
    ami_dlms_link_opts po = *lo;
    po.client_sap = 16;
    memset(&po.session, 0, sizeof po.session);
    po.session.context = lo->session.context;
    po.session.max_pdu = lo->session.max_pdu;
    po.session.apdu_lenient = lo->session.apdu_lenient;
    ami_obis obis;
    ami_obis_parse(s->ic_obis, strlen(s->ic_obis), &obis);
    char why[256];
    ami_dlms_link *l;
    int rc = ami_dlms_link_open(&l, url, &po, why, sizeof why);
    if (rc)
        return cli_fail(s->cmd, url, NULL, "reading the invocation counter (public client): %s",
                        why);
    ami_dlms_result res;
    rc = ami_dlms_link_associate(l, &res);
    if (rc == AMI_OK && res.outcome == AMI_DLMS_SUCCESS) {
        ami_attr_sel a = {{1, obis, 2}, {false, 0, {NULL, 0}}};
        rc = ami_dlms_link_get(l, &a, 1, &res);
    }
    int st = AMI_EXIT_OK;
    if (rc || res.outcome != AMI_DLMS_SUCCESS) {
        char d[160];
        if (!rc)
            ami_dlms_result_describe(&res, d, sizeof d);
        st = cli_fail(s->cmd, url, NULL, "reading the invocation counter %s (public client): %s",
                      s->ic_obis, rc ? ami_dlms_link_why(l) : d);
    } else {
        static uint8_t tb[4096];
        ami_arena a;
        ami_arena_init(&a, tb, sizeof tb);
        ami_rd r;
        ami_rd_init(&r, res.data.p, res.data.len);
        ami_axdr_value *v = NULL;
        uint64_t u = 0;
        if (ami_axdr_decode(&r, &a, NULL, &v) != AMI_OK || ami_axdr_get_u64(v, &u) != AMI_OK ||
            u >= 0xFFFFFFFFull)
            st = cli_fail(s->cmd, url, "COSEM", "the invocation counter %s is not a counter",
                          s->ic_obis);
        else
            *ic = (uint32_t)u + 1;
    }
    (void)ami_dlms_link_release(l);
    ami_dlms_link_close(l);
    return st;
}

/* ---------------------------------------------------------------- prepare */

static EVP_PKEY *load_pem(const char *path, bool priv)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    EVP_PKEY *k =
        priv ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : PEM_read_PUBKEY(f, NULL, NULL, NULL);
    fclose(f);
    return k;
}

int dlms_sec_prepare(struct dlms_sec *s, const char *url, ami_dlms_link_opts *lo,
                     const char *password)
{
    int st;
    if (s->key_file && (st = cli_keys_load(s->cmd, s->key_file, &s->keys)) != 0)
        return st;
    size_t kl = s->suite == 2 ? 32 : 16;
    bool hls = s->mech >= AMI_ACSE_MECH_HIGH;
    if (!hls && s->level == AMI_DLMS_SEC_NONE && !s->signing) {
        if (s->dedicated || s->general || s->gc)
            return cli_usage(s->cmd, "--dedicated-key/--ciphering need --security");
        return 0;
    }
    struct cli_keys *k = &s->keys;
    bool gmac = s->mech == AMI_ACSE_MECH_GMAC;
    if ((s->level != AMI_DLMS_SEC_NONE || gmac) && !k->ek.len)
        return cli_usage(s->cmd, "--ek (or ek in --key-file) is needed");
    if (((s->level & AMI_DLMS_SEC_AUTH) || gmac) && !k->ak.len)
        return cli_usage(s->cmd, "--ak (or ak in --key-file) is needed");
    const struct cli_key *all[] = {&k->ek, &k->ak, &k->bk};
    for (size_t i = 0; i < 3; i++)
        if (all[i]->len && all[i]->len != kl)
            return cli_usage(s->cmd, "suite %d needs %zu-byte keys", s->suite, kl);
    if ((s->level != AMI_DLMS_SEC_NONE || s->mech >= AMI_ACSE_MECH_GMAC || s->signing) &&
        !k->client_system_title.len)
        return cli_usage(s->cmd, "--system-title (the client's, 8 bytes) is needed");
    if (s->dedicated && !(s->level & AMI_DLMS_SEC_ENC))
        return cli_usage(s->cmd, "--dedicated-key needs --security enc or auth-enc");
    if (s->gc && s->dedicated)
        return cli_usage(s->cmd, "--ciphering general takes no dedicated key");
    if (s->gc && s->key_info == AMI_DLMS_SEC_KI_WRAPPED && !k->kek.len)
        return cli_usage(s->cmd, "--key-info wrapped needs --kek (or kek in --key-file)");
    if (k->kek.len && k->kek.len != 16 && k->kek.len != 32)
        return cli_usage(s->cmd, "--kek: 16 or 32 bytes");
    /* the HLS secret: hls_secret from the key file, else the --password text */
    const uint8_t *secret = k->hls_secret.len ? k->hls_secret.v : (const uint8_t *)password;
    size_t secret_len = k->hls_secret.len ? k->hls_secret.len : strlen(password);
    if (!k->hls_secret.len && !password[0] && k->has_password) {
        secret = (const uint8_t *)k->password;
        secret_len = strlen(k->password);
    }
    int m = s->mech;
    if ((m == AMI_ACSE_MECH_HIGH || m == AMI_ACSE_MECH_MD5 || m == AMI_ACSE_MECH_SHA1 ||
         m == AMI_ACSE_MECH_SHA256) &&
        !secret_len)
        return cli_usage(s->cmd, "--auth %s needs --password (the HLS secret)",
                         ami_auth_mech_name(m));
    if (m == AMI_ACSE_MECH_HIGH && secret_len != 16)
        return cli_usage(s->cmd, "--auth hls-aes needs a 16-byte secret");
    bool agreed = s->gc && s->key_info == AMI_DLMS_SEC_KI_AGREED;
    if (agreed && s->suite == 0)
        return cli_usage(s->cmd, "--key-info agreed needs --suite 1 or 2");
    if (s->signing && s->suite == 0)
        return cli_usage(s->cmd, "--general-signing needs --suite 1 or 2");
    if (m == AMI_ACSE_MECH_ECDSA || agreed || s->signing) {
        if (!s->ecdsa_key || !s->server_pub)
            return cli_usage(s->cmd, "--auth hls-ecdsa, --key-info agreed and --general-signing "
                                     "need --ecdsa-key and --server-public-key");
        s->sign = load_pem(s->ecdsa_key, true);
        if (!s->sign)
            return cli_fail(s->cmd, s->ecdsa_key, NULL, "cannot read a PEM private key");
        s->verify = load_pem(s->server_pub, false);
        if (!s->verify)
            return cli_fail(s->cmd, s->server_pub, NULL, "cannot read a PEM public key");
    }
    /* invocation counters */
    uint32_t ic = 1;
    bool known = false;
    char dir[400];
    if (!s->no_state && state_dir(s, dir, sizeof dir) == 0) {
        char name[256];
        state_name(s, url, lo->client_sap, name, sizeof name);
        int n = snprintf(s->state_path, sizeof s->state_path, "%s/%s", dir, name);
        if (n > 0 && (size_t)n < sizeof s->state_path && ic_state_mkdirs(dir) == 0) {
            s->state_ok = true;
            state_load(s, &ic, &known);
        }
    }
    bool ciphered = s->level != AMI_DLMS_SEC_NONE || gmac;
    if (s->ic >= 0) {
        ic = (uint32_t)s->ic;
    } else if (ciphered && (s->read_ic || !known)) {
        if ((st = read_server_ic(s, url, lo, &ic)) != 0)
            return st;
    }
    s->store = (ami_replay_store){store_load, store_save, s};
    ami_dlms_sec_config c;
    memset(&c, 0, sizeof c);
    c.level = (uint8_t)s->level;
    c.suite = (uint8_t)s->suite;
    c.form = s->gc        ? AMI_DLMS_SEC_FORM_GC
             : s->general ? AMI_DLMS_SEC_FORM_GENERAL
                          : AMI_DLMS_SEC_FORM_SERVICE;
    c.key_info = (uint8_t)s->key_info;
    c.general_signing = s->signing;
    c.kek = k->kek.len ? k->kek.v : NULL;
    c.kek_len = k->kek.len;
    c.client_title = k->client_system_title.len ? k->client_system_title.v : NULL;
    c.server_title = k->system_title.len ? k->system_title.v : NULL;
    c.ek = k->ek.len ? k->ek.v : NULL;
    c.ek_len = k->ek.len;
    c.ak = k->ak.len ? k->ak.v : NULL;
    c.ak_len = k->ak.len;
    c.bek = k->bk.len ? k->bk.v : NULL;
    c.bek_len = k->bk.len;
    c.random_dedicated_key = s->dedicated;
    c.hls_secret = secret_len ? secret : NULL;
    c.hls_secret_len = secret_len;
    c.sign_key = s->sign;
    c.server_key = s->verify;
    c.ic = ic;
    c.ic_save = ic_save;
    c.ic_warning = ic_warning;
    c.user = s;
    c.server_ic_store = &s->store;
    c.buf = s->buf;
    c.cap = sizeof s->buf;
    int rc = ami_dlms_client_sec_init(&s->sec, &c);
    if (rc)
        return cli_usage(s->cmd, "security configuration: %s", ami_strerror(rc));
    s->active = true;
    s->reserved = 0;
    lo->session.mechanism = (uint8_t)s->mech;
    lo->session.sec = &s->sec;
    if (hls)
        lo->session.auth_value = ami_view_of(NULL, 0); /* a random CtoS */
    return 0;
}

void dlms_sec_finish(struct dlms_sec *s)
{
    if (s->active) {
        if (s->state_ok && (s->reserved || s->server_ic_known))
            (void)state_write(s, ami_dlms_client_sec_ic(&s->sec));
        ami_dlms_client_sec_wipe(&s->sec);
        s->active = false;
    }
    EVP_PKEY_free(s->sign);
    EVP_PKEY_free(s->verify);
    s->sign = s->verify = NULL;
    cli_keys_wipe(&s->keys);
    ami_wipe(s->buf, sizeof s->buf);
}
