/*
 * The error table (ami/error.h) turned into messages and names.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "ami/error.h"

const char *ami_strerror(int err)
{
    switch (err) {
    case AMI_OK:
        return "success";
#define AMI__ERR_MSG(name, value, msg) \
    case AMI_E_##name:                 \
        return msg;
        AMI_ERRNO_MAP(AMI__ERR_MSG)
#undef AMI__ERR_MSG
    default:
        return "unknown error";
    }
}

const char *ami_errname(int err)
{
    switch (err) {
    case AMI_OK:
        return "OK";
#define AMI__ERR_NAME(name, value, msg) \
    case AMI_E_##name:                  \
        return #name;
        AMI_ERRNO_MAP(AMI__ERR_NAME)
#undef AMI__ERR_NAME
    default:
        return "UNKNOWN";
    }
}
