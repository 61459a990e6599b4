/*
 * The store's timer (ami_cosem_store_run, ami/cosem_script.h).
 * SPDX-License-Identifier: Apache-2.0
 */
#include "ami/cosem_script.h"
#include "cosem/cosem_util.h"

size_t ami_cosem_store_run(ami_cosem_store *s, int64_t now)
{
    if (!s)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < s->count; i++) {
        ami_cosem_obj tmp;
        ami_cosem_obj *o = ami__cosem_bind(s, &s->objects[i], &tmp);
        if (o->class_id == AMI_COSEM_SINGLE_ACTION_SCHEDULE)
            n += ami__cosem_schedule_run(s, o, now);
        else if (o->class_id == AMI_COSEM_ACTIVITY_CALENDAR)
            n += ami__cosem_calendar_run(s, o, now);
    }
    return n;
}
