/*
 * Demand engine: fixed block and sliding windows against an independent computation, the
 * 157 kW / 141 kW effect, the 4+2 digit register rule, maxima and their times, errors.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "ami/ami.h"
#include "metrology/metro_internal.h"

/* 2025-06-16 00:00:00 UTC, a Monday. */
#define DAY0 INT64_C(1750032000)

static int64_t rand_range(uint64_t *s, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(tu_rand(s) % (uint64_t)(hi - lo + 1));
}

/* Feeds one minute of constant power (W) as energy in J, in one piece. */
static void feed_minute(ami_demand *d, int64_t t0, int64_t w)
{
    assert_int_equal(ami_demand_feed(d, t0 + 60, w * 60, 0), 0);
}

/*
 * The 157 kW against 141 kW effect: 125 kW with a 48 kW peak from 09:10 to 09:20, straddling
 * the 09:15 block boundary. Each fixed 15-minute block sees 5 minutes of it:
 * (5 * 173 + 10 * 125) / 15 = 141 kW. A sliding 15-minute window with 1- or 5-minute
 * sub-periods catches all 10 minutes: (10 * 173 + 5 * 125) / 15 = 157 kW.
 */
static void test_157_vs_141(void **state)
{
    (void)state;
    struct {
        unsigned sub;
        int64_t max_mw, time;
    } cfg[] = {
        {15, 141000000, DAY0 + 9 * 3600 + 15 * 60}, /* fixed block; the tie at 09:30 keeps 09:15 */
        {1, 157000000, DAY0 + 9 * 3600 + 20 * 60},  /* first window holding the whole peak */
        {5, 157000000, DAY0 + 9 * 3600 + 20 * 60},
    };
    for (size_t c = 0; c < AMI_COUNTOF(cfg); c++) {
        ami_demand d;
        assert_int_equal(ami_demand_init(&d, 15, cfg[c].sub, 0, DAY0 + 8 * 3600), 0);
        for (int64_t t = DAY0 + 8 * 3600; t < DAY0 + 11 * 3600; t += 60) {
            int64_t mod = (t - DAY0) / 60;
            int peak = mod >= 9 * 60 + 10 && mod < 9 * 60 + 20;
            feed_minute(&d, t, peak ? 173000 : 125000);
        }
        ami_demand_max mx = ami_demand_maximum(&d, -1);
        assert_int_equal(mx.value_mw, cfg[c].max_mw);
        assert_int_equal(mx.time, cfg[c].time);
        assert_int_equal(ami_demand_register(mx.value_mw), cfg[c].max_mw / 10000);
        assert_memory_equal(&mx, &d.max[1], sizeof mx); /* all in tariff 1 (index 0) */
        assert_int_equal(ami_demand_maximum(&d, 1).value_mw, 0);
        /* Back to the base load at the end. */
        assert_int_equal(ami_demand_last_mw(&d, NULL), 125000000);
    }
    assert_int_equal(ami_demand_register(141000000), 14100); /* "0141.00" kW */
    assert_int_equal(ami_demand_register(157000000), 15700); /* "0157.00" kW */
}

/* The 4+2 digit rule: 10 W resolution, truncation, saturation at 9999.99 kW. */
static void test_register_rule(void **state)
{
    (void)state;
    assert_int_equal(ami_demand_register(0), 0);
    assert_int_equal(ami_demand_register(9999), 0);
    assert_int_equal(ami_demand_register(10000), 1);
    assert_int_equal(ami_demand_register(12345678), 1234);              /* 12.345678 kW -> 12.34 */
    assert_int_equal(ami_demand_register(INT64_C(9999999999)), 999999); /* 9999.999999 kW */
    assert_int_equal(ami_demand_register(INT64_C(10000000000)), AMI_DEMAND_REGISTER_MAX);
    assert_int_equal(ami_demand_register(INT64_MAX), AMI_DEMAND_REGISTER_MAX);
    assert_int_equal(ami_demand_register(-12345678), -1234);
    assert_int_equal(ami_demand_register(INT64_MIN), -AMI_DEMAND_REGISTER_MAX);
}

typedef struct brute {
    int64_t last_mw[4000]; /* per sub-period end index */
    int64_t max_mw[1 + AMI_METRO_TARIFFS], max_t[1 + AMI_METRO_TARIFFS];
} brute;

/*
 * Random loads (per-minute power with peaks) over two days, every valid configuration, three
 * alignments: the engine, fed in random pieces, agrees with a direct computation of every
 * window at every sub-period end, and on the maxima with their times.
 */
static void test_against_bruteforce(void **state)
{
    (void)state;
    static const unsigned windows[] = {5, 15, 30, 60};
    static const unsigned subs[] = {1, 2, 5, 6, 12, 15, 30, 60};
    static const int32_t offsets[] = {0, 3600, 19800};
    enum { MINUTES = 2 * 1440 };
    static int64_t w[MINUTES]; /* W per minute */
    static brute b;
    uint64_t s = 77;
    int configs = 0;
    for (int rep = 0; rep < 3; rep++) {
        for (int i = 0; i < MINUTES; i++)
            w[i] = rand_range(&s, 0, 200000) + (tu_rand(&s) % 50 == 0 ? 500000 : 0);
        for (size_t wi = 0; wi < AMI_COUNTOF(windows); wi++) {
            for (size_t si = 0; si < AMI_COUNTOF(subs); si++) {
                unsigned win = windows[wi], sub = subs[si];
                if (sub > win || win % sub != 0 || (sub == 60 && win != 60))
                    continue;
                int32_t off = offsets[(size_t)rep % AMI_COUNTOF(offsets)];
                /* Start mid-sub-period, 7 minutes and 13 s into the data. */
                int64_t t0 = DAY0 + 7 * 60 + 13;
                ami_demand d;
                assert_int_equal(ami_demand_init(&d, win, sub, off, t0), 0);
                configs++;

                /* Independent: energy of minute m is w[m] * 60 J, the first minute partial. */
                memset(&b, 0, sizeof b);
                int64_t period = sub * 60, length = win * 60;
                int64_t first_end = ami__fdiv(t0 + off, period) * period - off + period;
                int64_t t_end = DAY0 + MINUTES * 60;
                int ends = 0;
                for (int64_t e = first_end; e <= t_end; e += period, ends++) {
                    int64_t energy = 0;
                    for (int64_t t = e - length; t < e; t += 60) {
                        if (t + 60 <= t0 || t < DAY0)
                            continue;
                        int64_t m = (t - DAY0) / 60;
                        int64_t from = t < t0 ? t0 : t;
                        energy += w[m] * (t + 60 - from);
                    }
                    int64_t v = energy * 1000 / length;
                    b.last_mw[ends] = v;
                    unsigned tariff = (unsigned)(((e - DAY0) / 3600) % 4);
                    if (v > b.max_mw[0]) {
                        b.max_mw[0] = v;
                        b.max_t[0] = e;
                    }
                    if (v > b.max_mw[1 + tariff]) {
                        b.max_mw[1 + tariff] = v;
                        b.max_t[1 + tariff] = e;
                    }
                }

                /* The engine, fed in random pieces that never cross a boundary. */
                int64_t t = t0;
                int k = 0;
                while (t < t_end) {
                    int64_t bound = ami_demand_boundary(&d);
                    int64_t minute_end = (ami__fdiv(t, 60) + 1) * 60;
                    int64_t stop = minute_end < bound ? minute_end : bound;
                    int64_t to = t + rand_range(&s, 1, stop - t);
                    int64_t m = (ami__fdiv(t, 60) * 60 - DAY0) / 60;
                    unsigned tariff = (unsigned)(((bound - DAY0) / 3600) % 4);
                    int64_t running = ami_demand_current_mw(&d);
                    assert_true(running >= 0);
                    assert_int_equal(ami_demand_feed(&d, to, w[m] * (to - t), tariff), 0);
                    t = to;
                    if (t == bound) {
                        /* The running value just before the close announced this window. */
                        int64_t cap;
                        assert_int_equal(ami_demand_last_mw(&d, &cap), b.last_mw[k]);
                        assert_int_equal(cap, bound);
                        k++;
                    }
                }
                assert_int_equal(k, ends);
                for (int i = 0; i <= AMI_METRO_TARIFFS; i++) {
                    ami_demand_max mx = ami_demand_maximum(&d, i - 1);
                    assert_int_equal(mx.value_mw, b.max_mw[i]);
                    assert_int_equal(mx.time, b.max_t[i]);
                }
            }
        }
    }
    assert_int_equal(configs, 3 * 19); /* 2 + 3 + 6 + 8 per repetition */
}

/* current_average_value: closed sub-periods still in the next window plus the running one. */
static void test_running_value(void **state)
{
    (void)state;
    ami_demand d;
    assert_int_equal(ami_demand_init(&d, 15, 5, 0, DAY0), 0);
    assert_int_equal(ami_demand_boundary(&d), DAY0 + 300);
    /* 30 kW for 5 minutes, 60 kW for 5, then 90 kW half-way into the third. */
    assert_int_equal(ami_demand_feed(&d, DAY0 + 300, 30000 * 300, 0), 0);
    assert_int_equal(ami_demand_last_mw(&d, NULL), 10000000); /* 9 MJ / 900 s */
    assert_int_equal(ami_demand_feed(&d, DAY0 + 600, 60000 * 300, 0), 0);
    assert_int_equal(ami_demand_last_mw(&d, NULL), 30000000);
    assert_int_equal(ami_demand_feed(&d, DAY0 + 750, 90000 * 150, 0), 0);
    /* (9 + 18 + 13.5) MJ / 900 s = 45 kW. */
    assert_int_equal(ami_demand_current_mw(&d), 45000000);
    assert_int_equal(ami_demand_feed(&d, DAY0 + 900, 90000 * 150, 0), 0);
    assert_int_equal(ami_demand_last_mw(&d, NULL), 60000000);
    /* The oldest (30 kW) sub-period has left: (18 + 27) / 900 with nothing running yet. */
    assert_int_equal(ami_demand_current_mw(&d), 50000000);
    /* A meter that was off: zero sub-periods push the energy out. */
    assert_int_equal(ami_demand_skip_to(&d, DAY0 + 1800 + 10, 2), 0);
    assert_int_equal(ami_demand_last_mw(&d, NULL), 0);
    assert_int_equal(ami_demand_boundary(&d), DAY0 + 2100);
    assert_int_equal(ami_demand_maximum(&d, -1).value_mw, 60000000);
    assert_int_equal(ami_demand_maximum(&d, -1).time, DAY0 + 900);
    /* A long outage: constant time, aligned, all zero afterwards. */
    assert_int_equal(ami_demand_feed(&d, DAY0 + 2100, 50000 * 290, 1), 0);
    assert_int_equal(ami_demand_skip_to(&d, DAY0 + 2100 + 86400 * INT64_C(365000) + 7, 1), 0);
    assert_int_equal(ami_demand_boundary(&d), DAY0 + 2100 + 86400 * INT64_C(365000) + 300);
    int64_t cap;
    assert_int_equal(ami_demand_last_mw(&d, &cap), 0);
    assert_int_equal(cap, DAY0 + 2100 + 86400 * INT64_C(365000));
    assert_int_equal(ami_demand_current_mw(&d), 0);
    assert_int_equal(ami_demand_maximum(&d, 1).value_mw, INT64_C(50000) * 290 * 1000 / 900);
    assert_int_equal(ami_demand_maximum(&d, 1).time, DAY0 + 2100); /* ties keep the first */
    assert_int_equal(ami_demand_skip_to(&d, AMI_METRO_TIME_MAX + 1, 0), AMI_E_RANGE);
    ami_demand_clear_max(&d);
    assert_int_equal(ami_demand_maximum(&d, -1).value_mw, 0);
    assert_int_equal(ami_demand_maximum(&d, 9).value_mw, 0);
}

/* Windows align on local hours: with +05:30 a 60-minute block ends at :30 UTC. */
static void test_alignment(void **state)
{
    (void)state;
    ami_demand d;
    assert_int_equal(ami_demand_init(&d, 60, 60, 19800, DAY0 + 100), 0);
    assert_int_equal(ami_demand_boundary(&d), DAY0 + 1800);
    assert_int_equal(ami_demand_init(&d, 60, 60, -3600, DAY0 + 100), 0);
    assert_int_equal(ami_demand_boundary(&d), DAY0 + 3600);
    assert_int_equal(ami_demand_init(&d, 30, 6, 0, DAY0 - 1), 0);
    assert_int_equal(ami_demand_boundary(&d), DAY0);
}

static void test_errors(void **state)
{
    (void)state;
    ami_demand d;
    static const unsigned bad[][2] = {{10, 10}, {15, 4}, {15, 30}, {15, 2},  {60, 7},
                                      {5, 2},   {0, 0},  {60, 0},  {45, 15}, {30, 60}};
    for (size_t i = 0; i < AMI_COUNTOF(bad); i++)
        assert_int_equal(ami_demand_init(&d, bad[i][0], bad[i][1], 0, DAY0), AMI_E_INVAL);
    assert_int_equal(ami_demand_init(&d, 15, 5, 30, DAY0), AMI_E_INVAL);
    assert_int_equal(ami_demand_init(&d, 15, 5, 15 * 3600, DAY0), AMI_E_INVAL);
    assert_int_equal(ami_demand_init(NULL, 15, 5, 0, DAY0), AMI_E_INVAL);
    /* A zeroed (failed) engine refuses to be fed. */
    assert_int_equal(ami_demand_feed(&d, DAY0, 0, 0), AMI_E_INVAL);

    assert_int_equal(ami_demand_init(&d, 15, 5, 0, DAY0 + 10), 0);
    ami_demand before = d;
    assert_int_equal(ami_demand_feed(&d, DAY0 + 301, 1, 0), AMI_E_RANGE);
    assert_int_equal(ami_demand_feed(&d, DAY0 + 9, 1, 0), AMI_E_RANGE);
    assert_int_equal(ami_demand_feed(&d, DAY0 + 20, -1, 0), AMI_E_INVAL);
    assert_int_equal(ami_demand_feed(&d, DAY0 + 20, 1, 4), AMI_E_INVAL);
    assert_int_equal(ami_demand_feed(&d, DAY0 + 20, (INT64_C(1) << 40) + 1, 0), AMI_E_OVERFLOW);
    assert_int_equal(ami_demand_skip_to(&d, DAY0, 0), AMI_E_RANGE);
    assert_int_equal(ami_demand_skip_to(&d, DAY0 + 20, 5), AMI_E_INVAL);
    assert_memory_equal(&d, &before, sizeof d);

    /* 60-minute windows of 1-minute sub-periods keep 32-bit entries: 71 MW average at most. */
    assert_int_equal(ami_demand_init(&d, 60, 1, 0, DAY0), 0);
    assert_int_equal(ami_demand_feed(&d, DAY0 + 30, UINT32_MAX, 0), 0);
    assert_int_equal(ami_demand_feed(&d, DAY0 + 60, 1, 0), AMI_E_OVERFLOW);
    assert_int_equal(ami_demand_feed(&d, DAY0 + 60, 0, 0), 0);
    assert_int_equal(ami_demand_last_mw(&d, NULL), (int64_t)UINT32_MAX * 1000 / 3600);
    /* 9999.99 kW over a 30-minute sub-period fits the 64-bit entries. */
    assert_int_equal(ami_demand_init(&d, 60, 30, 0, DAY0), 0);
    assert_int_equal(ami_demand_feed(&d, DAY0 + 1800, INT64_C(9999990) * 1800, 0), 0);
    assert_int_equal(ami_demand_feed(&d, DAY0 + 3600, INT64_C(9999990) * 1800, 0), 0);
    assert_int_equal(ami_demand_register(ami_demand_last_mw(&d, NULL)), 999999);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_157_vs_141),         cmocka_unit_test(test_register_rule),
        cmocka_unit_test(test_against_bruteforce), cmocka_unit_test(test_running_value),
        cmocka_unit_test(test_alignment),          cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
