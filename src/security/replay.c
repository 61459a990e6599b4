/*
 * Replay guard for invocation counters (Green Book 9.2.7.2.4.2: the IC of each received
 * ciphered APDU must be greater than the last one accepted from the same sender).
 * A linear table: a P1 port sees one meter, a collector session a handful of senders.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "ami/security.h"

int ami_replay_init(ami_replay *r, ami_replay_entry *slots, size_t cap,
                    const ami_replay_store *store)
{
    if (!r || (!slots && cap))
        return AMI_E_INVAL;
    r->slots = slots;
    r->cap = cap;
    if (cap)
        memset(slots, 0, cap * sizeof(*slots));
    if (store)
        r->store = *store;
    else
        memset(&r->store, 0, sizeof(r->store));
    return AMI_OK;
}

/*
 * Finds the slot of system_title, loading a persisted counter into a free slot on first
 * sight. *slot is NULL when the title is unknown everywhere (a free slot is reserved in
 * *free_slot), and the call fails with AMI_E_TOO_LARGE when no slot is free.
 */
static int lookup(ami_replay *r, const uint8_t st[8], ami_replay_entry **slot)
{
    ami_replay_entry *free_slot = NULL;
    for (size_t i = 0; i < r->cap; i++) {
        ami_replay_entry *e = &r->slots[i];
        if (!e->used) {
            if (!free_slot)
                free_slot = e;
        } else if (memcmp(e->system_title, st, AMI_SEC_SYSTEM_TITLE_LEN) == 0) {
            *slot = e;
            return AMI_OK;
        }
    }
    if (!free_slot)
        return AMI_E_TOO_LARGE;
    *slot = free_slot;
    if (r->store.load) {
        uint32_t ic = 0;
        int rc = r->store.load(r->store.user, st, &ic);
        if (rc == AMI_OK) {
            memcpy(free_slot->system_title, st, AMI_SEC_SYSTEM_TITLE_LEN);
            free_slot->last_ic = ic;
            free_slot->used = true;
        } else if (rc != AMI_E_NOTFOUND) {
            return rc;
        }
    }
    return AMI_OK;
}

int ami_replay_check(ami_replay *r, const uint8_t system_title[8], uint32_t ic)
{
    if (!r || !system_title)
        return AMI_E_INVAL;
    ami_replay_entry *e = NULL;
    int rc = lookup(r, system_title, &e);
    if (rc)
        return rc;
    if (e->used && ic <= e->last_ic)
        return AMI_E_REPLAY;
    return AMI_OK;
}

int ami_replay_accept(ami_replay *r, const uint8_t system_title[8], uint32_t ic)
{
    if (!r || !system_title)
        return AMI_E_INVAL;
    ami_replay_entry *e = NULL;
    int rc = lookup(r, system_title, &e);
    if (rc)
        return rc;
    if (e->used && ic <= e->last_ic)
        return AMI_E_REPLAY;
    memcpy(e->system_title, system_title, AMI_SEC_SYSTEM_TITLE_LEN);
    e->last_ic = ic;
    e->used = true;
    if (r->store.save)
        return r->store.save(r->store.user, system_title, ic);
    return AMI_OK;
}
