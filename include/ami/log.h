/*
 * Logging hook. libami never prints: it reports through return values and, for diagnostics
 * that are not errors (a tolerated deviation, a resynchronisation), through this hook.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_LOG_H
#define AMI_LOG_H

#include "ami/common.h"

#ifdef __cplusplus
extern "C" {
#endif

enum ami_log_level { AMI_LOG_ERROR = 0, AMI_LOG_WARN = 1, AMI_LOG_INFO = 2, AMI_LOG_DEBUG = 3 };

/* Receives one NUL-terminated message without a trailing newline. */
typedef void (*ami_log_fn)(void *user, enum ami_log_level level, const char *msg);

/*
 * Installs the process-wide log hook (NULL disables logging, the default) and the most verbose
 * level passed to it. Call before using the library from several threads; the hook itself must
 * be thread-safe if libami is used from several threads.
 */
AMI_EXTERN void ami_log_set(ami_log_fn fn, void *user, enum ami_log_level max_level);

#ifdef __cplusplus
}
#endif
#endif
