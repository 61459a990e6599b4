/*
 * openami common definitions: export macro, version query.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_COMMON_H
#define AMI_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "ami/version.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * AMI_EXTERN marks the public API. libami is built with hidden visibility, so only
 * functions declared with AMI_EXTERN are exported from the shared library.
 */
#if defined(AMI_BUILDING) && defined(__GNUC__)
#define AMI_EXTERN __attribute__((visibility("default")))
#else
#define AMI_EXTERN
#endif

/* Number of elements of an array (not of a pointer). */
#define AMI_COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Returns the version of the linked library as "MAJOR.MINOR.PATCH". The string is static.
 * Thread-safe.
 */
AMI_EXTERN const char *ami_version(void);

#ifdef __cplusplus
}
#endif
#endif
