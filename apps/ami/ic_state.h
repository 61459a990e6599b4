/*
 * Invocation counter state files, shared by the client (`ami dlms`, dlms_sec.c) and the
 * simulator (`ami sim --state-dir`, sim_fleet.c): small text files of "name value" lines
 * (value 0..4294967295), written atomically (temporary file, fsync, rename) with mode 0600, so
 * that a counter written ahead survives a crash and a reader never sees half a file.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_APP_IC_STATE_H
#define AMI_APP_IC_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One "name value" line. */
typedef struct ic_state_var {
    const char *name; /* up to 31 characters, no white space */
    uint32_t value;
    bool present; /* ic_state_read: found in the file; ic_state_write: written when true */
} ic_state_var;

/* Creates dir and its missing parents (mode 0700). Returns 0 or -1 (errno set). */
int ic_state_mkdirs(const char *dir);

/*
 * Reads path and fills the value and `present` of every var whose name appears (the last
 * line wins; other lines are ignored). Returns 0, or -1 when the file cannot be opened (every
 * var then not present).
 */
int ic_state_read(const char *path, ic_state_var *vars, size_t n);

/* Writes the present vars to path atomically (path.tmp, fsync, rename). Returns 0 or -1. */
int ic_state_write(const char *path, const ic_state_var *vars, size_t n);

#endif
