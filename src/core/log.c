/*
 * The process-wide log hook (ami/log.h) and the internal ami__log().
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdarg.h>
#include <stdio.h>

#include "ami/log.h"
#include "core/internal.h"

static ami_log_fn log_fn;
static void *log_user;
static enum ami_log_level log_max = AMI_LOG_WARN;

void ami_log_set(ami_log_fn fn, void *user, enum ami_log_level max_level)
{
    log_fn = fn;
    log_user = user;
    log_max = max_level;
}

void ami__log(enum ami_log_level level, const char *fmt, ...)
{
    if (!log_fn || level > log_max)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_fn(log_user, level, msg);
}
