/*
 * Fuzz the endpoint URL parser: any bytes, parsed as a C string; every field must come back
 * NUL-terminated within its buffer.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "io/url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    ami_url u;
    if (ami_url_parse(s, &u) == 0) {
        if (strlen(u.host) >= sizeof u.host || strlen(u.path) >= sizeof u.path ||
            strlen(u.password) >= sizeof u.password || u.nparams > AMI_URL_MAX_PARAMS ||
            (u.port != -1 && (u.port < 1 || u.port > 65535)))
            abort();
        for (int i = 0; i < u.nparams; i++)
            (void)ami_url_param(&u, u.params[i].key);
    }
    free(s);
    return 0;
}
