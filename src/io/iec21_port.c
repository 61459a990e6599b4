/*
 * IEC 62056-21 engine over a serial port. See iec21_port.h.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "io/iec21_port.h"

#include "ami/error.h"

int ami_iec21_port_run(ami_serial *port, ami_iec21 *s, ami_iec21_action *a)
{
    uint8_t buf[512];
    for (;;) {
        uint64_t now = ami_now_ms();
        int rc = ami_iec21_poll(s, now, a);
        if (rc < 0)
            return rc;
        switch (a->kind) {
        case AMI_IEC21_ACT_SEND:
            rc = ami_serial_write(port, a->data, a->len);
            if (rc == 0)
                rc = ami_serial_drain(port);
            if (rc < 0)
                return rc;
            break;
        case AMI_IEC21_ACT_BAUD:
            rc = ami_serial_set(port, a->baud,
                                a->format == AMI_IEC21_8N1 ? AMI_SERIAL_8N1 : AMI_SERIAL_7E1);
            if (rc < 0)
                return rc;
            break;
        case AMI_IEC21_ACT_WAIT: {
            int timeout = -1;
            if (a->until != UINT64_MAX) {
                now = ami_now_ms();
                uint64_t left = a->until > now ? a->until - now : 0;
                timeout = left > 600000 ? 600000 : (int)left;
            }
            int n = ami_serial_read(port, buf, sizeof buf, timeout);
            if (n < 0)
                return n;
            if (n > 0) {
                rc = ami_iec21_input(s, buf, (size_t)n, ami_now_ms());
                if (rc < 0)
                    return rc;
            }
            break;
        }
        case AMI_IEC21_ACT_EVENT:
        case AMI_IEC21_ACT_DONE:
            return 0;
        }
    }
}
