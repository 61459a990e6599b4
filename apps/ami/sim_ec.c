/*
 * EC key pairs of the simulated meters for SAP 2 (management, suite 1: HLS mechanism 7 ECDSA
 * P-256, general-ciphering agreed-key; docs/sim.md). A meter's private scalar is
 * HMAC-SHA256(fleet seed, "ec" || system title) reduced mod (n - 1), plus 1 (never zero), so the
 * same seed gives the same keys. Made lazily, when a client first addresses SAP 2 or
 * --ec-keys-out asks for the public key: an idle fleet of 10,000 meters costs nothing.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <string.h>

#include "sim_meter.h"

static const uint8_t *ec_seed;
static size_t ec_seed_len;
static EVP_PKEY *ec_client_key;

void sim_ec_configure(const uint8_t *seed, size_t seed_len, EVP_PKEY *client_key)
{
    ec_seed = seed;
    ec_seed_len = seed_len;
    ec_client_key = client_key;
}

EVP_PKEY *sim_ec_client_key(void)
{
    return ec_client_key;
}

/* The P-256 key pair of scalar d (big-endian, 32 bytes, 1 <= d < n). */
static EVP_PKEY *keypair(const uint8_t hmac[32])
{
    EVP_PKEY *pkey = NULL;
    EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    BN_CTX *bctx = BN_CTX_new();
    BIGNUM *h = BN_bin2bn(hmac, 32, NULL), *d = BN_new(), *nm1 = BN_new();
    EC_POINT *q = g ? EC_POINT_new(g) : NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    uint8_t pub[65];
    if (!g || !bctx || !h || !d || !nm1 || !q || !bld || !pctx)
        goto out;
    if (!BN_copy(nm1, EC_GROUP_get0_order(g)) || !BN_sub_word(nm1, 1) || !BN_mod(d, h, nm1, bctx) ||
        !BN_add_word(d, 1))
        goto out;
    if (!EC_POINT_mul(g, q, d, NULL, NULL, bctx) ||
        EC_POINT_point2oct(g, q, POINT_CONVERSION_UNCOMPRESSED, pub, sizeof pub, bctx) !=
            sizeof pub)
        goto out;
    if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub))
        goto out;
    params = OSSL_PARAM_BLD_to_param(bld);
    if (!params || EVP_PKEY_fromdata_init(pctx) <= 0 ||
        EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_KEYPAIR, params) <= 0)
        pkey = NULL;
out:
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(pctx);
    EC_POINT_free(q);
    BN_clear_free(h);
    BN_clear_free(d);
    BN_free(nm1);
    BN_CTX_free(bctx);
    EC_GROUP_free(g);
    return pkey;
}

EVP_PKEY *sim_ec_key(sim_meter *m)
{
    if (m->ec_key || !ec_client_key)
        return m->ec_key;
    static const char default_seed[] = "openami-sim";
    const uint8_t *seed = ec_seed ? ec_seed : (const uint8_t *)default_seed;
    size_t seed_len = ec_seed ? ec_seed_len : strlen(default_seed);
    uint8_t msg[10] = {'e', 'c'}, mac[EVP_MAX_MD_SIZE];
    unsigned mlen = 0;
    memcpy(msg + 2, m->system_title, 8);
    if (HMAC(EVP_sha256(), seed, (int)seed_len, msg, sizeof msg, mac, &mlen) && mlen == 32)
        m->ec_key = keypair(mac);
    ami_wipe(mac, sizeof mac);
    if (m->ec_key)
        m->ec_policy.server_sign_key = m->ec_key;
    return m->ec_key;
}

void sim_ec_fini(sim_meter *m)
{
    EVP_PKEY_free(m->ec_key);
    m->ec_key = NULL;
}
