/*
 * Metrology: what an electricity meter measures and what utilities bill on.
 *
 *  - a deterministic load model: per-phase voltage, current, power factor, active power P and
 *    reactive power Q of one simulated meter, a pure function of (identity seed, time);
 *  - apparent power computed both ways (arithmetic and vectorial), selectable and labelled;
 *  - energy registers (A+, A-, reactive quadrants Q1..Q4, per tariff) integrated exactly in
 *    integer units, so they never drift and never depend on how often they were read;
 *  - demand (IC 5 "Demand register" semantics, DLMS UA 1000-1 Blue Book 4.3.4): fixed block
 *    and sliding windows aligned to the hour, with maximum-demand registers and their times;
 *  - billing-period closing (snapshot of energies and maxima, reset of the maxima);
 *  - a simulated clock running at a configurable speed.
 *
 * Sans-I/O: nothing here reads a clock or allocates. The caller passes simulated time as Unix
 * seconds (int64) and owns every struct. No floating point is involved in any register, so the
 * same seed and the same sequence of calls give bit-identical results on every platform.
 *
 * Units (all integers): power mW, reactive power mvar, apparent power mVA, voltage mV, current
 * mA, frequency mHz, power factor 1/1000, energy mJ (= mW*s) in the registers, exposed as Wh.
 * docs/metrology.md describes the model and every rounding rule.
 *
 * Thread safety: every function is reentrant; a given struct must not be used by two threads at
 * once. Pure functions (ami_va_*, ami_metro_sample, ami_simclock_*, ami_metro_*_start) are
 * thread-safe.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_METROLOGY_H
#define AMI_METROLOGY_H

#include "ami/common.h"
#include "ami/p1.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AMI_METRO_MAX_PHASES 3
/* Tariff (rate) registers per energy quantity: T1..T4, index 0..3. */
#define AMI_METRO_TARIFFS 4
/* Default history a new fleet starts with (issue 6): 35 days. */
#define AMI_METRO_HISTORY_DEFAULT_S (35 * 86400)
/* Times accepted by the stateful functions: |t| <= 2^40 s (about 34,800 years around 1970). */
#define AMI_METRO_TIME_MAX (INT64_C(1) << 40)

/* ------------------------------------------------------------------ apparent power */

/* How apparent power S is computed from the phases (the two definitions of IEEE Std 1459). */
typedef enum ami_va_method {
    /* S = sum over phases of U_k * I_k, i.e. sum of |P_k + jQ_k|. */
    AMI_VA_ARITHMETIC = 0,
    /* S = |sum P_k + j sum Q_k| = sqrt((sum P)^2 + (sum Q)^2). */
    AMI_VA_VECTORIAL = 1
} ami_va_method;

/*
 * Arithmetic apparent power in mVA of n phases (n = 1..3; p_mw and q_mvar hold n values each,
 * |value| < 2^40). Each phase magnitude is rounded UP to the next mVA; a single phase is rounded
 * to nearest (then both methods give the same value). Returns 0 when n is 0 or > 3, a pointer
 * is NULL or a value is outside -2^40 < value < 2^40. Pure, thread-safe.
 * Rounding this way keeps the real-number inequality arithmetic >= vectorial exact in integers.
 */
AMI_EXTERN int64_t ami_va_arithmetic(const int64_t *p_mw, const int64_t *q_mvar, unsigned n);

/*
 * Vectorial apparent power in mVA of n phases (same arguments). The magnitude is rounded DOWN,
 * or to nearest for a single phase. Returns 0 as ami_va_arithmetic does for bad arguments.
 */
AMI_EXTERN int64_t ami_va_vectorial(const int64_t *p_mw, const int64_t *q_mvar, unsigned n);

/* Either of the two above, by method. Returns 0 for an unknown method. */
AMI_EXTERN int64_t ami_va(ami_va_method method, const int64_t *p_mw, const int64_t *q_mvar,
                          unsigned n);

/* The label of a method: "arithmetic" or "vectorial" ("unknown" otherwise). Never NULL. */
AMI_EXTERN const char *ami_va_method_name(ami_va_method method);

/* Integer square root: the largest r with r*r <= x. */
AMI_EXTERN uint64_t ami_isqrt64(uint64_t x);

/* ------------------------------------------------------------------ load model */

typedef enum ami_load_kind {
    AMI_LOAD_RESIDENTIAL = 0, /* morning and evening peaks, busier weekends */
    AMI_LOAD_COMMERCIAL = 1   /* office hours on working days, low weekends */
} ami_load_kind;

/*
 * Parameters of one meter's load model. ami_metro_load_from_seed() derives all of them from the
 * meter's identity; a caller may then override any field (ami_metro_load_check validates).
 */
typedef struct ami_metro_load {
    uint64_t seed;        /* identity: every random draw is a hash of it and the time */
    uint8_t phases;       /* 1 or 3 */
    uint8_t kind;         /* ami_load_kind */
    uint8_t va_method;    /* ami_va_method used for this meter's S */
    uint8_t reserved;     /* 0 */
    int32_t utc_offset_s; /* local time = UTC + offset: daily shape, windows, months */
    uint32_t base_w;      /* standing load, W */
    uint32_t peak_w;      /* load above base at the daily shape's maximum, W */
    uint32_t pv_peak_w;   /* photovoltaic peak at noon in June, W (0: no export) */
    /* Per phase: share of the load in 1/1000 (sum 1000), tan(phi) of the load in 1/1000 (negative:
     * capacitive), voltage offset from 230 V in mV. */
    uint16_t share[AMI_METRO_MAX_PHASES];
    int16_t tan_phi[AMI_METRO_MAX_PHASES];
    int16_t u_offset_mv[AMI_METRO_MAX_PHASES];
} ami_metro_load;

/*
 * Fills *p from a 64-bit identity (for example a hash of the meter's serial number): about a
 * third of the meters are three-phase, 15 % commercial, 25 % have PV (so A- is non-zero).
 * utc_offset_s is set to 0 and va_method to AMI_VA_VECTORIAL; change them afterwards if needed.
 */
AMI_EXTERN void ami_metro_load_from_seed(ami_metro_load *p, uint64_t seed);

/*
 * Validates a parameter set. Returns 0, or AMI_E_INVAL when p is NULL, phases is not 1 or 3, a
 * share sum is not 1000 (unused phases must be all 0), kind or va_method is unknown, reserved is
 * not 0, |utc_offset_s| > 14 h or not a multiple of 60, a power exceeds 10 MW, |tan_phi| > 3000
 * or |u_offset_mv| > 20000.
 */
AMI_EXTERN int ami_metro_load_check(const ami_metro_load *p);

typedef struct ami_metro_phase {
    int32_t u_mv;     /* RMS voltage */
    int32_t i_ma;     /* RMS current (= S_k / U_k, rounded to nearest) */
    int16_t pf_milli; /* P_k / S_k, signed like P (1000 when S_k is 0) */
    int64_t p_mw;     /* active power, + import, - export */
    int64_t q_mvar;   /* reactive power, + inductive (Q1/Q2), - capacitive (Q3/Q4) */
    int64_t s_mva;    /* |P_k + jQ_k|, rounded to nearest */
} ami_metro_phase;

/* The instantaneous values of one meter at one time. */
typedef struct ami_metro_sample {
    int64_t minute;    /* floor(t / 60): every value is constant over a simulated minute */
    uint32_t f_mhz;    /* grid frequency, the same for every meter at a given minute */
    uint8_t phases;    /* 1 or 3; ph[phases..2] are zero */
    uint8_t va_method; /* the method s_mva uses */
    ami_metro_phase ph[AMI_METRO_MAX_PHASES];
    int64_t p_mw;        /* sum of P_k */
    int64_t q_mvar;      /* sum of Q_k */
    int64_t s_arith_mva; /* ami_va_arithmetic of the phases */
    int64_t s_vect_mva;  /* ami_va_vectorial of the phases */
    int64_t s_mva;       /* the one selected by va_method */
    int16_t pf_milli;    /* p_mw / s_mva (1000 when s is 0) */
} ami_metro_sample;

/*
 * Evaluates the load model at Unix time t (any value; the result depends only on *p and
 * floor(t / 60)). p must have passed ami_metro_load_check. Pure, thread-safe.
 */
AMI_EXTERN void ami_metro_sample_at(const ami_metro_load *p, int64_t t, ami_metro_sample *out);

/* ------------------------------------------------------------------ demand */

/*
 * Demand register values follow the "4+2 digit" rule of meter displays: kW with 4 integer digits
 * and 2 decimals, i.e. a resolution of 10 W. ami_demand_register() converts an exact demand in mW
 * to that register value (centi-kW): truncated toward zero, never rounded up, saturated at
 * 999999 (9999.99 kW) and at -999999 for a negative demand. As a COSEM value it carries scaler_unit
 * {1, W}: value * 10 W.
 */
#define AMI_DEMAND_REGISTER_MAX 999999
AMI_EXTERN int32_t ami_demand_register(int64_t demand_mw);

/* Most sub-periods a sliding window holds (60-min window of 1-min sub-periods). */
#define AMI_DEMAND_MAX_PERIODS 60

/* A maximum with the end time of the window that produced it (Unix s); time 0, value 0: none. */
typedef struct ami_demand_max {
    int64_t value_mw;
    int64_t time;
} ami_demand_max;

/*
 * One demand engine (Blue Book IC 5 "Demand register"). `period` is the sub-period (attribute 8)
 * and `number_of_periods` (attribute 9) the window length in sub-periods: 1 gives a fixed block
 * window, more give a sliding window updated at each sub-period end. Sub-periods are aligned so
 * that local hours start on a boundary. Caller-allocated; no pointers inside, so it may be copied.
 * Fields are read-only for the caller: use the functions.
 */
typedef struct ami_demand {
    int64_t period_start; /* start of the running sub-period (Unix s) */
    int64_t fed_until;    /* time up to which energy was fed (period_start <= fed_until) */
    int32_t align_s;      /* utc_offset_s: boundaries are multiples of period in local time */
    uint32_t period_s;    /* sub-period length, s */
    uint8_t n;            /* number_of_periods */
    uint8_t head;         /* ring index of the oldest completed sub-period */
    uint8_t wide;         /* ring holds uint64 (n <= 30) rather than uint32 entries */
    uint8_t reserved;
    int64_t partial_j;    /* energy of the running sub-period, J */
    int64_t window_j;     /* energy of the last n completed sub-periods, J */
    int64_t last_mw;      /* last_average_value */
    int64_t capture_time; /* end of the window last_average_value was computed for */
    ami_demand_max max[1 + AMI_METRO_TARIFFS]; /* [0] all, [1 + k] windows closed in T(k+1) */
    union {
        uint32_t e32[AMI_DEMAND_MAX_PERIODS];
        uint64_t e64[AMI_DEMAND_MAX_PERIODS / 2];
    } ring; /* energy of each completed sub-period in the window, J */
} ami_demand;

/*
 * Starts a demand engine at time `now`, in the sub-period that contains it.
 *   window_min: integration period in minutes: 5, 15, 30 or 60.
 *   sub_min:    sub-period in minutes: equal to window_min for a fixed block window, or one of
 *               1, 2, 5, 6, 12, 15, 30 that divides window_min for a sliding window.
 *   utc_offset_s: alignment of the hour (local time = UTC + offset), |offset| <= 14 h, whole
 *               minutes.
 * Sub-periods completed before `now` count as zero energy until the window has slid past them.
 * Returns 0, AMI_E_INVAL for a NULL d or a combination outside those lists, or AMI_E_RANGE for
 * |now| > AMI_METRO_TIME_MAX (on error *d is zeroed).
 */
AMI_EXTERN int ami_demand_init(ami_demand *d, unsigned window_min, unsigned sub_min,
                               int32_t utc_offset_s, int64_t now);

/* End of the running sub-period (Unix s): the furthest time ami_demand_feed accepts. */
AMI_EXTERN int64_t ami_demand_boundary(const ami_demand *d);

/*
 * Feeds the energy (J, >= 0) consumed from the previous feed (or init) up to time t, with `tariff`
 * (0..3) the rate this energy was consumed in; the call that closes a sub-period decides which
 * tariff's maximum the window counts for (the rate just before the window's end). t may not pass
 * ami_demand_boundary(d): split the energy at boundaries. When t reaches the boundary the
 * sub-period closes: the window demand becomes the last_average_value, the maxima ([0] and [1 +
 * tariff]) are updated when it is strictly greater (so a tie keeps the earlier time), and the next
 * sub-period starts. Returns 0, AMI_E_INVAL (NULL d, energy_j < 0, tariff >= AMI_METRO_TARIFFS),
 * AMI_E_RANGE (t before the previous feed or past the boundary) or AMI_E_OVERFLOW (a sub-period's
 * energy above 2^40 J, or above 2^32 - 1 J for the 60-minute window of 1-minute sub-periods, i.e.
 * an average above 71 MW there). On error nothing changes.
 */
AMI_EXTERN int ami_demand_feed(ami_demand *d, int64_t t, int64_t energy_j, unsigned tariff);

/*
 * Closes sub-periods with zero energy until the running one contains t (a meter that was off),
 * with `tariff` as for ami_demand_feed. Constant time past one window. Returns 0, AMI_E_INVAL
 * (NULL d, tariff >= 4) or AMI_E_RANGE (t before the previous feed, t > AMI_METRO_TIME_MAX).
 */
AMI_EXTERN int ami_demand_skip_to(ami_demand *d, int64_t t, unsigned tariff);

/*
 * current_average_value (IC 5 attribute 2): the energy of the last n-1 completed sub-periods plus
 * the running one, divided by the whole window length (n * period), in mW, truncated.
 */
AMI_EXTERN int64_t ami_demand_current_mw(const ami_demand *d);

/* last_average_value (IC 5 attribute 3), mW; *capture_time (if not NULL) the window's end. */
AMI_EXTERN int64_t ami_demand_last_mw(const ami_demand *d, int64_t *capture_time);

/* Maximum for all tariffs (tariff < 0) or for one tariff (0..3); a zero struct when none yet. */
AMI_EXTERN ami_demand_max ami_demand_maximum(const ami_demand *d, int tariff);

/* Clears the maxima (end of a billing period); the windows keep integrating. */
AMI_EXTERN void ami_demand_clear_max(ami_demand *d);

/* ------------------------------------------------------------------ energy registers, billing */

/* Register indices per tariff. */
enum {
    AMI_REG_A_PLUS = 0,  /* active import, 1.8.x */
    AMI_REG_A_MINUS = 1, /* active export, 2.8.x */
    AMI_REG_R_PLUS = 2,  /* reactive import Q1 + Q2, 3.8.x */
    AMI_REG_R_MINUS = 3, /* reactive export Q3 + Q4, 4.8.x */
    AMI_REG_COUNT = 4
};

/*
 * Energy registers in mJ (active: mW*s, reactive: mvar*s). Monotonic, never reset; they wrap
 * modulo 2^64 (defined behaviour) after 9.2e18 mJ: 29 years at 10 MW, 29,000 years at 10 kW.
 */
typedef struct ami_metro_registers {
    int64_t a_plus;                                   /* 1.8.0 */
    int64_t a_minus;                                  /* 2.8.0 */
    int64_t q[4];                                     /* 5.8.0 .. 8.8.0: quadrants Q1..Q4 */
    int64_t tariff[AMI_METRO_TARIFFS][AMI_REG_COUNT]; /* 1.8.1.., 2.8.1.., 3.8.1.., 4.8.1.. */
} ami_metro_registers;

/* A register in Wh (or varh), truncated as a meter display does: floor(mj / 3.6e6). */
AMI_EXTERN int64_t ami_metro_wh(int64_t mj);

/* What closing a billing period returns. */
typedef struct ami_metro_billing {
    int64_t start;           /* start of the period (Unix s) */
    int64_t end;             /* end of the period: the time of the closing */
    uint32_t count;          /* billing period counter after the closing (1 for the first) */
    ami_metro_registers reg; /* energies at the end */
    ami_demand_max max[1 + AMI_METRO_TARIFFS]; /* A+ maximum demand, all and per tariff */
} ami_metro_billing;

/*
 * The metrology of one meter: its load model, registers and an A+ demand engine. 664
 * bytes; no pointers inside, so it may be copied or stored as is.
 */
typedef struct ami_metro {
    ami_metro_load load;
    int64_t t; /* registers are integrated up to this time */
    ami_metro_registers reg;
    int64_t cache_minute; /* minute whose totals are cached below */
    int64_t cache_p_mw;
    int64_t cache_q_mvar;
    int64_t demand_rem_mj; /* A+ energy not yet fed to the demand engine (< 1 J) */
    int64_t billing_start;
    uint32_t billing_count;
    uint32_t reserved;
    ami_demand demand; /* A+ (import active) demand */
} ami_metro;

/*
 * Starts a meter's metrology at time `start` with all registers zero.
 *   load: validated with ami_metro_load_check (copied).
 *   window_min, sub_min: the A+ demand configuration (see ami_demand_init); aligned with
 *   load->utc_offset_s.
 * Returns 0, AMI_E_INVAL (NULL argument, invalid load or demand configuration) or AMI_E_RANGE
 * (|start| > AMI_METRO_TIME_MAX).
 */
AMI_EXTERN int ami_metro_init(ami_metro *m, const ami_metro_load *load, unsigned window_min,
                              unsigned sub_min, int64_t start);

/*
 * Integrates the registers and feeds the demand engine from m->t up to t, with `tariff` (0..3)
 * active over the whole interval (split calls at tariff switches). Power is constant within each
 * simulated minute, so the result is exact and independent of how [m->t, t] is split.
 * Returns 0 (also when t == m->t), AMI_E_INVAL (NULL m, tariff >= 4), AMI_E_RANGE (t < m->t or
 * t > AMI_METRO_TIME_MAX). (The demand engine's AMI_E_OVERFLOW needs more than 71 MW, which a
 * load that passed ami_metro_load_check cannot draw.)
 */
AMI_EXTERN int ami_metro_advance(ami_metro *m, int64_t t, unsigned tariff);

/* The meter's instantaneous values at t (ami_metro_sample_at of its load). */
AMI_EXTERN void ami_metro_instant(const ami_metro *m, int64_t t, ami_metro_sample *out);

/*
 * Closes the billing period at m->t (advance first): fills *out (may be NULL) with the energies
 * and the A+ maxima, clears the maxima, increments the billing counter and starts the next
 * period. Returns 0 or AMI_E_INVAL (NULL m).
 */
AMI_EXTERN int ami_metro_bill(ami_metro *m, ami_metro_billing *out);

/*
 * A tariff calendar: returns the tariff (0..3) active at t and sets *until to the first time > t
 * at which it may change. Must be a pure function of t.
 */
typedef unsigned (*ami_metro_tariff_fn)(void *ctx, int64_t t, int64_t *until);

/* Called for every billing period closed by ami_metro_run; the snapshot is valid during the call.
 */
typedef void (*ami_metro_billing_fn)(void *ctx, const ami_metro_billing *b);

/* Called by ami_metro_run at each capture time, with the meter advanced to it. */
typedef void (*ami_metro_capture_fn)(void *ctx, const ami_metro *m);

/* What ami_metro_run calls while it runs. Every member may be 0 / NULL. */
typedef struct ami_metro_hooks {
    ami_metro_tariff_fn tariff; /* NULL: tariff 0 (T1) throughout */
    void *tariff_ctx;
    ami_metro_billing_fn billed; /* each billing period closed at a local month start */
    void *billed_ctx;
    /*
     * Profile capture: called at every multiple of capture_period_s in local time (900: each
     * quarter hour of a load profile; 86400: local midnights of a daily profile). 0: none.
     * At most 86400 and a divisor of 86400 (so captures align on local midnight).
     */
    uint32_t capture_period_s;
    ami_metro_capture_fn capture;
    void *capture_ctx;
    /*
     * true: month starts close nothing (no ami_metro_bill, no `billed` call, the maxima kept):
     * the caller closes billing periods itself, e.g. through an end-of-billing script.
     */
    bool no_billing;
} ami_metro_hooks;

/*
 * Advances to t, switching tariffs by the calendar, calling the capture hook at each capture time
 * and closing a billing period at each local month start (00:00 on the 1st, load.utc_offset_s)
 * it passes (unless hooks->no_billing). At an instant that is both, the capture comes first (it
 * sees the period's maxima). This is how a new meter is given its history: init at now -
 * AMI_METRO_HISTORY_DEFAULT_S, then run to now; profiles, billing snapshots and demand are then
 * filled as if it had run all along. hooks may be NULL. Returns as ami_metro_advance, or
 * AMI_E_INVAL when the calendar returns a tariff >= 4 or an *until <= the time asked, or
 * capture_period_s is not a divisor of 86400.
 */
AMI_EXTERN int ami_metro_run(ami_metro *m, int64_t t, const ami_metro_hooks *hooks);

/* The first local month start (00:00 on the 1st, local = UTC + utc_offset_s) strictly after t. */
AMI_EXTERN int64_t ami_metro_next_month_start(int64_t t, int32_t utc_offset_s);

/* ------------------------------------------------------------------ P1 output */

/*
 * Fills the measured fields of a DSMR P1 telegram (ami_p1_write, ami/p1.h) from a meter at
 * m->t (advance it first): 1-0:1.8.1 / 1.8.2 / 2.8.1 / 2.8.2 from the A+ and A- registers of
 * tariffs T1 and T2 (Wh, truncated as ami_metro_wh), the tariff indicator `tariff` + 1, total
 * and per-phase import / export power (W, truncated; import when P > 0, export when P < 0),
 * voltages (0.1 V, truncated) and currents (A, truncated) of the meter's phases, and
 * v->time = m->t. header, version, equipment_id, std_offset and dst are left as they were.
 * Returns 0, or AMI_E_INVAL (NULL argument, tariff > 1: P1 has two tariff registers).
 */
AMI_EXTERN int ami_metro_p1_values(const ami_metro *m, unsigned tariff, ami_p1_values *v);

/* ------------------------------------------------------------------ simulated clock */

/* Simulated time running `speed` times faster than a monotonic reference clock. */
typedef struct ami_simclock {
    int64_t sim0;      /* simulated Unix time at real0_ns */
    uint64_t real0_ns; /* reference (monotonic) time, ns */
    uint32_t speed;    /* 1 = real time, 60 = a simulated minute per second, ... */
} ami_simclock;

/*
 * Starts a simulated clock: sim time `sim0` at reference time `real0_ns` (the caller reads its own
 * monotonic clock). Returns 0, or AMI_E_INVAL for a NULL c or a speed of 0 or above 1000000.
 */
AMI_EXTERN int ami_simclock_init(ami_simclock *c, int64_t sim0, uint64_t real0_ns, uint32_t speed);

/*
 * Simulated Unix seconds at reference time real_ns (floor; times before real0_ns give sim0;
 * saturated at INT64_MAX). c must have been set by ami_simclock_init. Pure, thread-safe.
 */
AMI_EXTERN int64_t ami_simclock_now(const ami_simclock *c, uint64_t real_ns);

/*
 * The reference time (ns) at which simulated time reaches `sim` (the earliest real_ns with
 * ami_simclock_now(c, real_ns) >= sim): a deadline for the caller's timer. real0_ns when sim <=
 * sim0; UINT64_MAX when the reference clock would never get there.
 */
AMI_EXTERN uint64_t ami_simclock_deadline(const ami_simclock *c, int64_t sim);

#ifdef __cplusplus
}
#endif
#endif
