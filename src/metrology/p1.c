/*
 * The metrology of a meter as the values of a DSMR P1 telegram (see ami/metrology.h).
 * SPDX-License-Identifier: Apache-2.0
 */
#include "ami/error.h"
#include "ami/metrology.h"

int ami_metro_p1_values(const ami_metro *m, unsigned tariff, ami_p1_values *v)
{
    if (!m || !v || tariff > 1)
        return AMI_E_INVAL;
    for (unsigned k = 0; k < 2; k++) {
        v->import_wh[k] = ami_metro_wh(m->reg.tariff[k][AMI_REG_A_PLUS]);
        v->export_wh[k] = ami_metro_wh(m->reg.tariff[k][AMI_REG_A_MINUS]);
    }
    v->tariff = (uint8_t)(tariff + 1);
    v->time = m->t;
    ami_metro_sample s;
    ami_metro_instant(m, m->t, &s);
    /* W, truncated toward zero: a display never shows more than was measured */
    v->power_import_w = s.p_mw > 0 ? s.p_mw / 1000 : 0;
    v->power_export_w = s.p_mw < 0 ? -s.p_mw / 1000 : 0;
    v->phases = s.phases == 3 ? 3 : 1;
    for (unsigned k = 0; k < AMI_METRO_MAX_PHASES; k++) {
        const ami_metro_phase *ph = &s.ph[k];
        bool on = k < v->phases;
        v->voltage_dv[k] = on && ph->u_mv > 0 ? ph->u_mv / 100 : 0;
        v->current_a[k] = on && ph->i_ma > 0 ? ph->i_ma / 1000 : 0;
        v->phase_import_w[k] = on && ph->p_mw > 0 ? ph->p_mw / 1000 : 0;
        v->phase_export_w[k] = on && ph->p_mw < 0 ? -ph->p_mw / 1000 : 0;
    }
    return AMI_OK;
}
