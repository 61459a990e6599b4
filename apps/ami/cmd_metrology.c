/*
 * ami metrology: the simulated meter's metrology from the command line.
 *   ami metrology sample   instantaneous values of a meter (U, I, PF, P, Q per phase, VA)
 *   ami metrology run      a meter primed with history: registers, demand, billing snapshots
 * SPDX-License-Identifier: Apache-2.0
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ami/error.h"
#include "ami/json.h"
#include "ami/metrology.h"
#include "cli.h"

/* Options shared by both sub-commands. */
struct mopts {
    bool json;
    uint64_t seed;
    int64_t at;
    long days;
    long window, sub;
    long utc_offset;
    bool arithmetic, two_rate;
};

enum { O_SEED = 256, O_AT, O_DAYS, O_WINDOW, O_SUB, O_OFFSET, O_ARITH, O_TWO, O_JSON };

static const char common_help[] =
    "  --seed N         the meter's identity (default 1); every parameter derives from it\n"
    "  --at T           simulated time, Unix seconds (default: now)\n"
    "  --utc-offset S   local time = UTC + S seconds, whole minutes (default 0)\n"
    "  --arithmetic     report arithmetic apparent power (default: vectorial)\n"
    "  --json           one JSON object\n"
    "  -h, --help       this help\n";

static void help_sample(FILE *out)
{
    fprintf(out,
            "Usage: ami metrology sample [OPTIONS]\n\n"
            "Prints a simulated meter's instantaneous values at a time: voltage, current,\n"
            "power factor, P and Q per phase, frequency, apparent power both ways.\n\n%s",
            common_help);
}

static void help_run(FILE *out)
{
    fprintf(out,
            "Usage: ami metrology run [OPTIONS]\n\n"
            "Starts a simulated meter DAYS before --at and runs it to --at, closing a billing\n"
            "period at each local month start. Prints the energy registers (Wh, varh) per\n"
            "tariff, the A+ demand registers (kW, 4+2 digits, truncated) and every billing\n"
            "snapshot.\n\n"
            "  --days D         history length (default 35)\n"
            "  --window M       demand integration period: 5, 15, 30 or 60 minutes (default 15)\n"
            "  --sub M          sub-period: M = window for a fixed block (default), or 1, 2,\n"
            "                   5, 6, 12, 15, 30 dividing the window for a sliding window\n"
            "  --two-rate       T2 on working days 07:00-21:00 local time, T1 otherwise\n"
            "                   (default: T1 always)\n%s",
            common_help);
}

/* Parses the options; returns -1 to continue, else an exit status. */
static int parse(const char *cmd, struct ami_cli *cli, int argc, char **argv, struct mopts *o,
                 void (*help)(FILE *))
{
    static const struct option opts[] = {
        {"seed", required_argument, NULL, O_SEED},
        {"at", required_argument, NULL, O_AT},
        {"days", required_argument, NULL, O_DAYS},
        {"window", required_argument, NULL, O_WINDOW},
        {"sub", required_argument, NULL, O_SUB},
        {"utc-offset", required_argument, NULL, O_OFFSET},
        {"arithmetic", no_argument, NULL, O_ARITH},
        {"two-rate", no_argument, NULL, O_TWO},
        {"json", no_argument, NULL, O_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (struct mopts){.json = cli->json,
                        .seed = 1,
                        .at = (int64_t)time(NULL),
                        .days = 35,
                        .window = 15,
                        .sub = 0};
    int c;
    long v;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_SEED:
            if (!cli_parse_long(optarg, 0, INT64_MAX, &v))
                return cli_usage(cmd, "--seed: not a number: %s", optarg);
            o->seed = (uint64_t)v;
            break;
        case O_AT:
            if (!cli_parse_long(optarg, -AMI_METRO_TIME_MAX / 2, AMI_METRO_TIME_MAX / 2, &v))
                return cli_usage(cmd, "--at: not a Unix time: %s", optarg);
            o->at = v;
            break;
        case O_DAYS:
            if (!cli_parse_long(optarg, 0, 36600, &o->days))
                return cli_usage(cmd, "--days: 0 to 36600: %s", optarg);
            break;
        case O_WINDOW:
            if (!cli_parse_long(optarg, 1, 60, &o->window))
                return cli_usage(cmd, "--window: minutes: %s", optarg);
            break;
        case O_SUB:
            if (!cli_parse_long(optarg, 1, 60, &o->sub))
                return cli_usage(cmd, "--sub: minutes: %s", optarg);
            break;
        case O_OFFSET:
            if (!cli_parse_long(optarg, -14 * 3600, 14 * 3600, &o->utc_offset) ||
                o->utc_offset % 60)
                return cli_usage(cmd, "--utc-offset: whole minutes within 14 h: %s", optarg);
            break;
        case O_ARITH:
            o->arithmetic = true;
            break;
        case O_TWO:
            o->two_rate = true;
            break;
        case O_JSON:
            o->json = true;
            break;
        case 'h':
            help(stdout);
            return AMI_EXIT_OK;
        default:
            return cli_usage(cmd, "bad option");
        }
    }
    if (optind < argc)
        return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    if (o->sub == 0)
        o->sub = o->window;
    return -1;
}

static void load_of(const struct mopts *o, ami_metro_load *p)
{
    ami_metro_load_from_seed(p, o->seed);
    p->utc_offset_s = (int32_t)o->utc_offset;
    p->va_method = o->arithmetic ? AMI_VA_ARITHMETIC : AMI_VA_VECTORIAL;
}

/* "-12.345" from a value in thousandths. */
static void milli(char *buf, size_t n, int64_t v)
{
    uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    snprintf(buf, n, "%s%" PRIu64 ".%03u", v < 0 ? "-" : "", a / 1000, (unsigned)(a % 1000));
}

static void jmilli(ami_jw *w, const char *key, int64_t v)
{
    char b[32];
    milli(b, sizeof b, v);
    ami_jw_key(w, key);
    ami_jw_number_text(w, b, strlen(b));
}

static const char *load_kind(unsigned k)
{
    return k == AMI_LOAD_COMMERCIAL ? "commercial" : "residential";
}

static void json_load(ami_jw *w, const ami_metro_load *p)
{
    ami_jw_key(w, "meter");
    ami_jw_obj_begin(w);
    ami_jw_key(w, "seed");
    ami_jw_uint(w, p->seed);
    ami_jw_key(w, "phases");
    ami_jw_uint(w, p->phases);
    ami_jw_key(w, "kind");
    ami_jw_str(w, load_kind(p->kind));
    ami_jw_key(w, "base_w");
    ami_jw_uint(w, p->base_w);
    ami_jw_key(w, "peak_w");
    ami_jw_uint(w, p->peak_w);
    ami_jw_key(w, "pv_peak_w");
    ami_jw_uint(w, p->pv_peak_w);
    ami_jw_key(w, "va_method");
    ami_jw_str(w, ami_va_method_name((ami_va_method)p->va_method));
    ami_jw_obj_end(w);
}

static int run_sample(struct ami_cli *cli, int argc, char **argv)
{
    struct mopts o;
    int rc = parse("metrology sample", cli, argc, argv, &o, help_sample);
    if (rc >= 0)
        return rc;
    ami_metro_load p;
    load_of(&o, &p);
    ami_metro_sample x;
    ami_metro_sample_at(&p, o.at, &x);
    char a[32], b[32], c[32], d[32];
    if (o.json) {
        ami_jw w;
        ami_jw_init_file(&w, stdout);
        ami_jw_obj_begin(&w);
        json_load(&w, &p);
        ami_jw_key(&w, "time");
        ami_jw_int(&w, o.at);
        jmilli(&w, "frequency_hz", x.f_mhz);
        ami_jw_key(&w, "phases");
        ami_jw_arr_begin(&w);
        for (unsigned k = 0; k < x.phases; k++) {
            ami_jw_obj_begin(&w);
            jmilli(&w, "voltage_v", x.ph[k].u_mv);
            jmilli(&w, "current_a", x.ph[k].i_ma);
            jmilli(&w, "power_factor", x.ph[k].pf_milli);
            jmilli(&w, "p_w", x.ph[k].p_mw);
            jmilli(&w, "q_var", x.ph[k].q_mvar);
            jmilli(&w, "s_va", x.ph[k].s_mva);
            ami_jw_obj_end(&w);
        }
        ami_jw_arr_end(&w);
        jmilli(&w, "p_w", x.p_mw);
        jmilli(&w, "q_var", x.q_mvar);
        jmilli(&w, "s_va", x.s_mva);
        jmilli(&w, "s_arithmetic_va", x.s_arith_mva);
        jmilli(&w, "s_vectorial_va", x.s_vect_mva);
        jmilli(&w, "power_factor", x.pf_milli);
        ami_jw_obj_end(&w);
        fputc('\n', stdout);
        return ami_jw_error(&w) ? cli_fail("metrology sample", "stdout", NULL, "write failed")
                                : AMI_EXIT_OK;
    }
    printf("meter %" PRIu64 ": %u-phase %s, base %u W, peak %u W, PV %u W\n", p.seed, p.phases,
           load_kind(p.kind), p.base_w, p.peak_w, p.pv_peak_w);
    milli(a, sizeof a, x.f_mhz);
    printf("time %" PRId64 ", frequency %s Hz\n", o.at, a);
    for (unsigned k = 0; k < x.phases; k++) {
        milli(a, sizeof a, x.ph[k].u_mv);
        milli(b, sizeof b, x.ph[k].i_ma);
        milli(c, sizeof c, x.ph[k].p_mw);
        milli(d, sizeof d, x.ph[k].q_mvar);
        printf("L%u: U %s V  I %s A  P %s W  Q %s var  PF %.3f\n", k + 1, a, b, c, d,
               x.ph[k].pf_milli / 1000.0);
    }
    milli(a, sizeof a, x.p_mw);
    milli(b, sizeof b, x.q_mvar);
    milli(c, sizeof c, x.s_arith_mva);
    milli(d, sizeof d, x.s_vect_mva);
    printf("total: P %s W  Q %s var  S arithmetic %s VA  S vectorial %s VA (reported: %s)\n", a, b,
           c, d, ami_va_method_name((ami_va_method)p.va_method));
    return AMI_EXIT_OK;
}

/* T2 (index 1) on working days 07:00-21:00 local, T1 otherwise. */
struct calendar {
    int32_t offset;
};

static unsigned two_rate(void *ctx, int64_t t, int64_t *until)
{
    const struct calendar *cal = ctx;
    int64_t local = t + cal->offset;
    int64_t day = local >= 0 ? local / 86400 : (local - 86399) / 86400;
    int64_t sod = local - day * 86400, base = day * 86400 - cal->offset;
    unsigned wd = (unsigned)((day % 7 + 7 + 3) % 7); /* 0 = Monday */
    if (wd < 5 && sod >= 7 * 3600 && sod < 21 * 3600) {
        *until = base + 21 * 3600;
        return 1;
    }
    *until = wd < 5 && sod < 7 * 3600 ? base + 7 * 3600 : base + 86400;
    return 0;
}

struct billing_list {
    ami_metro_billing *b;
    size_t n, cap;
    bool failed;
};

static void on_bill(void *ctx, const ami_metro_billing *b)
{
    struct billing_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        ami_metro_billing *nb = realloc(l->b, cap * sizeof *nb);
        if (!nb) {
            l->failed = true;
            return;
        }
        l->b = nb;
        l->cap = cap;
    }
    l->b[l->n++] = *b;
}

static const char *reg_names[AMI_REG_COUNT] = {"a_plus_wh", "a_minus_wh", "r_plus_varh",
                                               "r_minus_varh"};

static void json_regs(ami_jw *w, const ami_metro_registers *r)
{
    ami_jw_key(w, "registers");
    ami_jw_obj_begin(w);
    ami_jw_key(w, "a_plus_wh");
    ami_jw_int(w, ami_metro_wh(r->a_plus));
    ami_jw_key(w, "a_minus_wh");
    ami_jw_int(w, ami_metro_wh(r->a_minus));
    ami_jw_key(w, "quadrants_varh");
    ami_jw_arr_begin(w);
    for (int q = 0; q < 4; q++)
        ami_jw_int(w, ami_metro_wh(r->q[q]));
    ami_jw_arr_end(w);
    ami_jw_key(w, "tariffs");
    ami_jw_arr_begin(w);
    for (int t = 0; t < AMI_METRO_TARIFFS; t++) {
        ami_jw_obj_begin(w);
        for (int k = 0; k < AMI_REG_COUNT; k++) {
            ami_jw_key(w, reg_names[k]);
            ami_jw_int(w, ami_metro_wh(r->tariff[t][k]));
        }
        ami_jw_obj_end(w);
    }
    ami_jw_arr_end(w);
    ami_jw_obj_end(w);
}

/* Demand as the 4+2 digit register: "0157.00" kW. */
static void kw(char *buf, size_t n, int64_t mw)
{
    int32_t r = ami_demand_register(mw);
    snprintf(buf, n, "%s%04d.%02d", r < 0 ? "-" : "", abs(r) / 100, abs(r) % 100);
}

static void jkw(ami_jw *w, const char *key, int64_t mw)
{
    char b[32];
    int32_t r = ami_demand_register(mw);
    snprintf(b, sizeof b, "%s%d.%02d", r < 0 ? "-" : "", abs(r) / 100, abs(r) % 100);
    ami_jw_key(w, key);
    ami_jw_number_text(w, b, strlen(b));
}

static void json_max(ami_jw *w, const ami_demand_max *mx)
{
    ami_jw_key(w, "max_demand");
    ami_jw_arr_begin(w);
    for (int i = 0; i <= AMI_METRO_TARIFFS; i++) {
        ami_jw_obj_begin(w);
        ami_jw_key(w, "tariff");
        if (i == 0)
            ami_jw_str(w, "all");
        else
            ami_jw_int(w, i);
        jkw(w, "kw", mx[i].value_mw);
        ami_jw_key(w, "time");
        if (mx[i].time)
            ami_jw_int(w, mx[i].time);
        else
            ami_jw_null(w);
        ami_jw_obj_end(w);
    }
    ami_jw_arr_end(w);
}

static void print_regs(const ami_metro_registers *r)
{
    printf("  A+ %" PRId64 " Wh  A- %" PRId64 " Wh  R+ %" PRId64 " varh  R- %" PRId64 " varh\n",
           ami_metro_wh(r->a_plus), ami_metro_wh(r->a_minus), ami_metro_wh(r->q[0] + r->q[1]),
           ami_metro_wh(r->q[2] + r->q[3]));
    for (int t = 0; t < AMI_METRO_TARIFFS; t++)
        if (r->tariff[t][0] || r->tariff[t][1])
            printf("  T%d: A+ %" PRId64 " Wh  A- %" PRId64 " Wh\n", t + 1,
                   ami_metro_wh(r->tariff[t][0]), ami_metro_wh(r->tariff[t][1]));
}

static int run_run(struct ami_cli *cli, int argc, char **argv)
{
    const char *cmd = "metrology run";
    struct mopts o;
    int rc = parse(cmd, cli, argc, argv, &o, help_run);
    if (rc >= 0)
        return rc;
    ami_metro_load p;
    load_of(&o, &p);
    ami_metro m;
    int64_t start = o.at - (int64_t)o.days * 86400;
    rc = ami_metro_init(&m, &p, (unsigned)o.window, (unsigned)o.sub, start);
    if (rc == AMI_E_INVAL)
        return cli_usage(cmd, "--window %ld --sub %ld: not a demand configuration", o.window,
                         o.sub);
    if (rc != 0)
        return cli_fail(cmd, NULL, "metrology", "%s", ami_strerror(rc));
    struct calendar cal = {p.utc_offset_s};
    struct billing_list bl = {0};
    ami_metro_hooks hooks = {.tariff = o.two_rate ? two_rate : NULL,
                             .tariff_ctx = &cal,
                             .billed = on_bill,
                             .billed_ctx = &bl};
    rc = ami_metro_run(&m, o.at, &hooks);
    if (rc != 0 || bl.failed) {
        free(bl.b);
        return cli_fail(cmd, NULL, "metrology", "%s",
                        bl.failed ? "out of memory" : ami_strerror(rc));
    }
    int64_t cap, last = ami_demand_last_mw(&m.demand, &cap);
    int64_t cur = ami_demand_current_mw(&m.demand);
    if (o.json) {
        ami_jw w;
        ami_jw_init_file(&w, stdout);
        ami_jw_obj_begin(&w);
        json_load(&w, &p);
        ami_jw_key(&w, "from");
        ami_jw_int(&w, start);
        ami_jw_key(&w, "to");
        ami_jw_int(&w, o.at);
        json_regs(&w, &m.reg);
        ami_jw_key(&w, "demand");
        ami_jw_obj_begin(&w);
        ami_jw_key(&w, "window_min");
        ami_jw_int(&w, o.window);
        ami_jw_key(&w, "sub_period_min");
        ami_jw_int(&w, o.sub);
        jkw(&w, "current_kw", cur);
        jkw(&w, "last_kw", last);
        ami_jw_key(&w, "last_time");
        ami_jw_int(&w, cap);
        json_max(&w, m.demand.max);
        ami_jw_obj_end(&w);
        ami_jw_key(&w, "billing");
        ami_jw_arr_begin(&w);
        for (size_t i = 0; i < bl.n; i++) {
            ami_jw_obj_begin(&w);
            ami_jw_key(&w, "count");
            ami_jw_uint(&w, bl.b[i].count);
            ami_jw_key(&w, "start");
            ami_jw_int(&w, bl.b[i].start);
            ami_jw_key(&w, "end");
            ami_jw_int(&w, bl.b[i].end);
            json_regs(&w, &bl.b[i].reg);
            json_max(&w, bl.b[i].max);
            ami_jw_obj_end(&w);
        }
        ami_jw_arr_end(&w);
        ami_jw_obj_end(&w);
        fputc('\n', stdout);
        free(bl.b);
        return ami_jw_error(&w) ? cli_fail(cmd, "stdout", NULL, "write failed") : AMI_EXIT_OK;
    }
    char a[32], b[32], c[32];
    printf("meter %" PRIu64 ": %u-phase %s, %ld days to %" PRId64 "\n", p.seed, p.phases,
           load_kind(p.kind), o.days, o.at);
    print_regs(&m.reg);
    kw(a, sizeof a, cur);
    kw(b, sizeof b, last);
    kw(c, sizeof c, m.demand.max[0].value_mw);
    printf("demand %s (%ld/%ld min): current %s kW, last %s kW, max %s kW at %" PRId64 "\n",
           o.sub == o.window ? "fixed" : "sliding", o.window, o.sub, a, b, c, m.demand.max[0].time);
    for (size_t i = 0; i < bl.n; i++) {
        kw(a, sizeof a, bl.b[i].max[0].value_mw);
        printf("billing %u: %" PRId64 " .. %" PRId64 ", max demand %s kW at %" PRId64 "\n",
               bl.b[i].count, bl.b[i].start, bl.b[i].end, a, bl.b[i].max[0].time);
        print_regs(&bl.b[i].reg);
    }
    free(bl.b);
    return AMI_EXIT_OK;
}

static int run(struct ami_cli *cli, int argc, char **argv)
{
    static const struct ami_subcommand table[] = {
        {"sample", "instantaneous values of a simulated meter", run_sample},
        {"run", "a simulated meter run over its history: registers, demand, billing", run_run},
        {NULL, NULL, NULL},
    };
    return cli_dispatch(cli, argc, argv, "ami metrology COMMAND [OPTIONS]", table);
}

const struct ami_command ami_cmd_metrology = {
    "metrology", "the virtual meters' metrology: load model, registers, demand, billing", run};
