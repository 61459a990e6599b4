/*
 * Internal helpers shared by libami modules (not installed).
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_CORE_INTERNAL_H
#define AMI_CORE_INTERNAL_H

#include "ami/log.h"

#if defined(__GNUC__)
#define AMI__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define AMI__PRINTF(f, a)
#endif

/* Value of an ASCII hex digit (either case), or -1. */
int ami__hexval(int c);

/* Logs through the hook installed with ami_log_set(); a no-op when none is installed. */
void ami__log(enum ami_log_level level, const char *fmt, ...) AMI__PRINTF(2, 3);

#endif
