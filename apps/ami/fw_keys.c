/*
 * PEM keys of the firmware tools (see fw_keys.h).
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>

#include "ami/ami.h"
#include "fw_keys.h"

/* The algorithm of an EC key's curve; 0 for another key type or curve. */
static uint8_t alg_of(const EVP_PKEY *k)
{
    char group[64];
    size_t n = 0;
    if (!EVP_PKEY_is_a(k, "EC") ||
        EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &n) != 1)
        return 0;
    if (!strcmp(group, "prime256v1") || !strcmp(group, "P-256"))
        return AMI_FWIMG_ECDSA_P256_SHA256;
    if (!strcmp(group, "secp384r1") || !strcmp(group, "P-384"))
        return AMI_FWIMG_ECDSA_P384_SHA384;
    return 0;
}

static EVP_PKEY *read_pem(const char *path, int priv, char *why, size_t whycap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(why, whycap, "%s: %s", path, strerror(errno));
        return NULL;
    }
    EVP_PKEY *k = priv ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (!priv) {
        k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
        if (!k) { /* the public half of a private key file will do */
            rewind(f);
            k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        }
    }
    fclose(f);
    if (!k)
        snprintf(why, whycap, "%s: not a PEM %s key", path, priv ? "private" : "public");
    else if (!alg_of(k)) {
        snprintf(why, whycap, "%s: not an EC key on P-256 or P-384", path);
        EVP_PKEY_free(k);
        k = NULL;
    }
    return k;
}

int fw_load_public(const char *path, uint8_t *out, size_t cap, size_t *len, uint8_t *alg, char *why,
                   size_t whycap)
{
    EVP_PKEY *k = read_pem(path, 0, why, whycap);
    if (!k)
        return -1;
    *alg = alg_of(k);
    /* The encoded public key of an EC key is the point; ask for the uncompressed form. */
    int ok = EVP_PKEY_set_utf8_string_param(k, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                            "uncompressed") == 1 &&
             EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, out, cap, len) == 1 &&
             ami_fwimg_key_check(out, *len, NULL) == AMI_OK;
    EVP_PKEY_free(k);
    if (!ok) {
        snprintf(why, whycap, "%s: cannot take the public point of the key", path);
        return -1;
    }
    return 0;
}

EVP_PKEY *fw_load_private(const char *path, uint8_t *alg, char *why, size_t whycap)
{
    EVP_PKEY *k = read_pem(path, 1, why, whycap);
    if (k)
        *alg = alg_of(k);
    return k;
}
