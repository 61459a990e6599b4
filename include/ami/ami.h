/*
 * openami: the whole public API of libami. Include this, or only the area headers you use.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_AMI_H
#define AMI_AMI_H

#include "ami/common.h"
#include "ami/error.h"
#include "ami/bytes.h"
#include "ami/crc.h"
#include "ami/arena.h"
#include "ami/obis.h"
#include "ami/datetime.h"
#include "ami/p1.h"
#include "ami/axdr.h"
#include "ami/view.h"
#include "ami/acse.h"
#include "ami/apdu.h"
#include "ami/hls.h"
#include "ami/json.h"
#include "ami/log.h"
#include "ami/security.h"
#include "ami/security_general.h"
#include "ami/mbus.h"
#include "ami/reading.h"
#include "ami/p1crypt.h"
#include "ami/hdlc.h"
#include "ami/wrapper.h"
#include "ami/dlms_client.h"
#include "ami/iec21.h"
#include "ami/metrology.h"
#include "ami/dlms_server.h"
#include "ami/dlms_cert.h"
#include "ami/cosem.h"
#include "ami/cosem_profile.h"
#include "ami/cosem_ext_register.h"
#include "ami/cosem_demand.h"
#include "ami/fwimage.h"
#include "ami/cosem_image.h"
#include "ami/cosem_calendar.h"
#include "ami/cosem_clock.h"
#include "ami/cosem_disconnect.h"
#include "ami/cosem_push.h"
#include "ami/cosem_script.h"
#include "ami/cosem_special_days.h"

#endif
