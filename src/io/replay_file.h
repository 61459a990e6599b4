/*
 * File-backed persistence for the replay guard of ami/security.h: keeps the last accepted
 * frame counter of each meter (system title) across restarts, so a frame recorded before a
 * restart cannot be replayed after it. Part of the apps' I/O library (src/io), not of libami.
 *
 * File format (text, one meter per line, '#' starts a comment line):
 *     <system title, 16 hex digits> <last frame counter, decimal>
 * Saves rewrite the whole file to "<path>.tmp", fsync it and rename it over <path>, so a
 * crash leaves either the old or the new file, never a torn one.
 *
 * Thread safety: one ami_replay_file per thread (or external locking).
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_IO_REPLAY_FILE_H
#define AMI_IO_REPLAY_FILE_H

#include <stdbool.h>
#include <stdint.h>

#include "ami/security.h"

#define AMI_REPLAY_FILE_MAX       32   /* meters per file */
#define AMI_REPLAY_FILE_MAX_BYTES 4096 /* larger files are refused as not ours */

typedef struct ami_replay_file {
    const char *path; /* caller-owned; must outlive the object */
    struct {
        uint8_t system_title[AMI_SEC_SYSTEM_TITLE_LEN];
        uint32_t ic;       /* last accepted counter */
        uint32_t saved_ic; /* last counter written to the file */
    } e[AMI_REPLAY_FILE_MAX];
    size_t n;
    /* Writes at most every `every` counters per meter (1 = every accepted frame, the
     * default). A larger value spares flash storage; after a crash, frames in the unsaved
     * window (at most every - 1 counters) could be replayed once. */
    uint32_t every;
} ami_replay_file;

/*
 * Loads path (a missing file is an empty table). Returns AMI_OK, AMI_E_IO (cannot read),
 * AMI_E_TOO_LARGE (over AMI_REPLAY_FILE_MAX_BYTES or AMI_REPLAY_FILE_MAX meters) or
 * AMI_E_SYNTAX (a line that is not "<16 hex> <counter>"; the file is left untouched).
 */
int ami_replay_file_open(ami_replay_file *f, const char *path);

/* Fills *store with hooks backed by f, for ami_replay_init(). */
void ami_replay_file_store(ami_replay_file *f, ami_replay_store *store);

/* Writes any counter not yet on disk (e.g. at exit when every > 1). AMI_OK or AMI_E_IO. */
int ami_replay_file_flush(ami_replay_file *f);

#endif
