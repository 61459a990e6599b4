/*
 * X.509 helpers shared by the certificate codecs (cert.c) and the Security Setup certificate
 * methods of the server engine (server_cert.c). Not installed.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_DLMS_CERT_INTERNAL_H
#define AMI_DLMS_CERT_INTERNAL_H

#include <openssl/x509.h>

#include "ami/dlms_cert.h"

/* Parses exactly one DER certificate of at most AMI_DLMS_CERT_MAX bytes. AMI_OK (free *out
 * with X509_free); AMI_E_TOO_LARGE; AMI_E_MALFORMED. */
int ami__x509_open(const uint8_t *der, size_t len, X509 **out);

/* The certificate_info fields of x (views into x: valid while x lives). */
void ami__x509_info(const X509 *x, uint8_t entity, uint8_t type, ami_dlms_cert_info *info);

/* True when the subject common name is the 8-byte system title in hex (any case). */
bool ami__x509_cn_is(const X509 *x, const uint8_t *st);

/*
 * Checks the key (EC on curve nid) and the key usage, and gives the certificate_type (CA:
 * keyCertSign, type signing; else digitalSignature and keyAgreement: TLS, only one of them:
 * signing / key agreement) and whether it is a CA. Returns AMI_DLMS_CERT_OK or the refusal.
 */
int ami__x509_classify(const X509 *x, int nid, uint8_t *type, bool *ca);

#endif
