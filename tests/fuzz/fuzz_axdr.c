/*
 * Fuzz target: A-XDR Data decode and skip. Properties: only the documented errors occur;
 * decode and skip agree on the result and on the bytes consumed; nothing reads past the input
 * (ASan); the limits hold (the nesting depth of the tree never exceeds max_depth); every
 * decoded tree renders as text and as JSON (JSON may only hit the writer's nesting limit).
 * The first input byte picks the limits so that small limits are exercised too.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "ami/ami.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t arena_buf[4u << 20];

static int null_sink(void *user, const char *s, size_t n)
{
    (void)user;
    (void)s;
    (void)n;
    return AMI_OK;
}

/* Nesting depth of the containers of a tree, walked with a stack of sibling cursors. */
static unsigned depth_of(const ami_axdr_value *v)
{
    const ami_axdr_value *st[AMI_AXDR_MAX_DEPTH + 1];
    unsigned sp = 1, max = 0;
    st[0] = v;
    while (sp) {
        const ami_axdr_value *n = st[sp - 1];
        if (!n) {
            sp--;
            continue;
        }
        st[sp - 1] = sp == 1 ? NULL : n->next; /* the root has no siblings */
        if (n->type == AMI_AXDR_ARRAY || n->type == AMI_AXDR_STRUCTURE ||
            n->type == AMI_AXDR_COMPACT_ARRAY) {
            if (sp > max)
                max = sp;
            if (n->child) {
                if (sp > AMI_AXDR_MAX_DEPTH)
                    abort();
                st[sp++] = n->child;
            }
        }
    }
    return max;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    ami_axdr_limits lim;
    ami_axdr_limits_default(&lim);
    lim.max_nodes = 20000; /* see fuzz_axdr_roundtrip.c: keeps every run short */
    uint8_t sel = data[0];
    if (sel & 1) {
        lim.max_depth = sel >> 4;
        lim.max_nodes = 64u << ((sel >> 1) & 7);
        lim.max_length = 16u << ((sel >> 1) & 7);
    }
    data++;
    size--;

    ami_arena a;
    ami_arena_init(&a, arena_buf, sizeof arena_buf);
    ami_rd r;
    ami_rd_init(&r, data, size);
    ami_axdr_value *v = NULL;
    int rc = ami_axdr_decode(&r, &a, &lim, &v);
    size_t used = r.pos;

    ami_rd s;
    ami_rd_init(&s, data, size);
    int rc2 = ami_axdr_skip(&s, &lim);
    if (r.len != size || s.len != size)
        abort(); /* the compact-contents narrowing must always be undone */

    switch (rc) {
    case AMI_OK:
        if (rc2 != AMI_OK || s.pos != used || !v)
            abort();
        if (depth_of(v) > lim.max_depth)
            abort();
        if (ami_axdr_format_text(v, null_sink, NULL) != AMI_OK)
            abort();
        ami_jw w;
        ami_jw_init(&w, null_sink, NULL);
        ami_axdr_to_json(v, &w);
        if (ami_jw_error(&w) != AMI_OK &&
            !(ami_jw_error(&w) == AMI_E_TOO_DEEP && 2 * depth_of(v) + 1 > AMI_JW_MAX_DEPTH))
            abort();
        break;
    case AMI_E_NOMEM:
        break; /* skip allocates nothing and may go further */
    case AMI_E_TRUNCATED:
    case AMI_E_MALFORMED:
    case AMI_E_TOO_DEEP:
    case AMI_E_TOO_LARGE:
        if (rc2 != rc)
            abort();
        break;
    default:
        abort();
    }
    return 0;
}
