/*
 * OBIS parsing and COSEM date-time conversion against C library baselines measured in the same
 * run: ami_obis_parse vs sscanf of the same six groups; ami_datetime_decode + to_unix vs glibc
 * timegm on the same fields; ami_datetime_from_unix vs gmtime_r.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ami/ami.h"
#include "benchutil.h"

static const char *const codes[] = {"1-0:1.8.0.255", "0-0:96.1.0*255", "1-0:32.7.0",
                                    "0100010800FF",  "1.0.2.8.1.255",  "0-1:24.2.1*255"};
static unsigned pick;

static uint64_t op_obis(void *ctx)
{
    (void)ctx;
    const char *s = codes[pick++ % AMI_COUNTOF(codes)];
    ami_obis o;
    (void)ami_obis_parse(s, strlen(s), &o);
    return o.v[2];
}

static uint64_t op_sscanf(void *ctx)
{
    (void)ctx;
    const char *s = codes[pick++ % AMI_COUNTOF(codes)];
    unsigned v[6] = {0};
    (void)sscanf(s, "%u-%u:%u.%u.%u.%u", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]);
    return v[2];
}

static const uint8_t dtb[12] = {0x07, 0xE1, 0x0A, 0x01, 0x07, 0x00,
                                0x00, 0x00, 0x00, 0xFF, 0xC4, 0x80};

static uint64_t op_dt_to_unix(void *ctx)
{
    (void)ctx;
    ami_datetime dt;
    int64_t u = 0;
    if (ami_datetime_decode(dtb, &dt) == AMI_OK)
        (void)ami_datetime_to_unix(&dt, 0, &u);
    return (uint64_t)u;
}

static uint64_t op_timegm(void *ctx)
{
    (void)ctx;
    struct tm tm = {.tm_year = 2017 - 1900, .tm_mon = 9, .tm_mday = 1};
    return (uint64_t)(timegm(&tm) + 3600);
}

static int64_t t0 = 1506812400;

static uint64_t op_from_unix(void *ctx)
{
    (void)ctx;
    ami_datetime dt;
    (void)ami_datetime_from_unix(t0++, -60, 0, 0, &dt);
    return dt.day;
}

static uint64_t op_gmtime(void *ctx)
{
    (void)ctx;
    struct tm tm;
    time_t t = (time_t)(t0++ + 3600);
    gmtime_r(&t, &tm);
    return (uint64_t)tm.tm_mday;
}

int main(void)
{
    unsigned ms = bench_ms();
    double base = bench_run(op_sscanf, NULL, ms);
    double ours = bench_run(op_obis, NULL, ms);
    bench_report("ami_obis_parse", ours, "sscanf %u-%u:%u.%u.%u.%u", base, 0);
    base = bench_run(op_timegm, NULL, ms);
    ours = bench_run(op_dt_to_unix, NULL, ms);
    bench_report("ami_datetime_decode + to_unix", ours, "glibc timegm", base, 0);
    base = bench_run(op_gmtime, NULL, ms);
    ours = bench_run(op_from_unix, NULL, ms);
    bench_report("ami_datetime_from_unix", ours, "glibc gmtime_r", base, 0);
    return 0;
}
