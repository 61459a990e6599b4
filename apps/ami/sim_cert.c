/*
 * Key pairs and certificates of the simulated meters' Security Setup (SAP 1, management): the
 * certificate provider of ami/dlms_cert.h. Nothing is held until a client asks: the storage
 * (SIM_CERTS certificates of at most AMI_DLMS_CERT_MAX bytes, three key pairs) is allocated at
 * the first key generation or import, and a key pair is generated on demand (a CSR without a
 * generate_key_pair first gets a fresh one). In memory only: a restarted simulator starts empty.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "sim_meter.h"

#define SIM_CERTS 4

struct sim_certs {
    EVP_PKEY *keys[3]; /* by key_pair_type */
    int nids[3];
    size_t n;
    ami_dlms_cert certs[SIM_CERTS];
    uint8_t der[SIM_CERTS][AMI_DLMS_CERT_MAX];
};

static struct sim_certs *state(sim_meter *m, bool create)
{
    if (!m->certs && create)
        m->certs = calloc(1, sizeof *m->certs);
    return m->certs;
}

static int key_generate(void *user, uint16_t sap, uint8_t kp, int nid)
{
    sim_meter *m = user;
    struct sim_certs *s = sap == SIM_SAP_MANAGEMENT && kp < 3 ? state(m, true) : NULL;
    if (!s)
        return sap == SIM_SAP_MANAGEMENT && kp < 3 ? AMI_E_NOMEM : AMI_E_UNSUPPORTED;
    EVP_PKEY *k;
    int rc = ami_dlms_cert_keygen(nid, &k);
    if (rc != AMI_OK)
        return rc;
    EVP_PKEY_free(s->keys[kp]);
    s->keys[kp] = k;
    s->nids[kp] = nid;
    return AMI_OK;
}

static int key_get(void *user, uint16_t sap, uint8_t kp, EVP_PKEY **key)
{
    sim_meter *m = user;
    *key = NULL;
    if (sap != SIM_SAP_MANAGEMENT || kp >= 3)
        return AMI_E_NOTFOUND;
    int nid = ami_dlms_cert_curve(m->sec_policy.suite);
    struct sim_certs *s = state(m, false);
    if (!s || !s->keys[kp] || s->nids[kp] != nid) { /* generated on demand */
        int rc = key_generate(user, sap, kp, nid);
        if (rc != AMI_OK)
            return rc;
        s = m->certs;
    }
    *key = s->keys[kp];
    return AMI_OK;
}

static int cert_at(void *user, uint16_t sap, size_t i, ami_dlms_cert *out)
{
    struct sim_certs *s = sap == SIM_SAP_MANAGEMENT ? state(user, false) : NULL;
    if (!s || i >= s->n)
        return AMI_E_NOTFOUND;
    *out = s->certs[i];
    return AMI_OK;
}

static int cert_add(void *user, uint16_t sap, const ami_dlms_cert *c)
{
    struct sim_certs *s = sap == SIM_SAP_MANAGEMENT ? state(user, true) : NULL;
    if (!s)
        return AMI_E_NOMEM;
    if (s->n == SIM_CERTS || c->len > AMI_DLMS_CERT_MAX)
        return AMI_E_NOSPACE;
    memcpy(s->der[s->n], c->der, c->len);
    s->certs[s->n] = (ami_dlms_cert){c->entity, c->type, s->der[s->n], c->len};
    s->n++;
    return AMI_OK;
}

static int cert_remove(void *user, uint16_t sap, size_t i)
{
    struct sim_certs *s = sap == SIM_SAP_MANAGEMENT ? state(user, false) : NULL;
    if (!s || i >= s->n)
        return AMI_E_NOTFOUND;
    for (size_t j = i; j + 1 < s->n; j++) {
        memcpy(s->der[j], s->der[j + 1], s->certs[j + 1].len);
        s->certs[j] = s->certs[j + 1];
        s->certs[j].der = s->der[j];
    }
    s->n--;
    return AMI_OK;
}

void sim_cert_init(sim_meter *m)
{
    m->cert_provider =
        (ami_dlms_cert_provider){key_generate, key_get, cert_at, cert_add, cert_remove, m};
    m->certs = NULL;
}

void sim_cert_fini(sim_meter *m)
{
    struct sim_certs *s = m ? m->certs : NULL;
    if (!s)
        return;
    for (int i = 0; i < 3; i++)
        EVP_PKEY_free(s->keys[i]);
    free(s);
    m->certs = NULL;
}
