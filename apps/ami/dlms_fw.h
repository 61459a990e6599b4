/*
 * `ami dlms fw` (apps/ami/dlms_fw.c), hooked into the `ami dlms` sub-command table.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_APP_DLMS_FW_H
#define AMI_APP_DLMS_FW_H

#include "cli.h"

/* Firmware update through the Image transfer object; see its --help. */
int ami_dlms_fw(struct ami_cli *cli, int argc, char **argv);

#endif
