/*
 * CRC-16/X.25 and CRC-16/ARC, slicing-by-8 (see ami/crc.h).
 *
 * Both are reflected CRCs, so one step over byte b is c = (c >> 8) ^ T0[(c ^ b) & 0xFF]. Slicing
 * by 8 folds the 16-bit state into the first two bytes of each 8-byte block and looks up all
 * eight bytes in parallel tables, where Ts[i] is the CRC of byte i followed by s zero bytes.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "ami/crc.h"

#include "core/crc_tables.h"

static uint16_t crc16_reflected(const uint16_t tab[8][256], uint16_t crc, const uint8_t *p,
                                size_t n)
{
    while (n >= 8) {
        unsigned b0 = (p[0] ^ crc) & 0xFFu;
        unsigned b1 = (p[1] ^ (crc >> 8)) & 0xFFu;
        crc = (uint16_t)(tab[7][b0] ^ tab[6][b1] ^ tab[5][p[2]] ^ tab[4][p[3]] ^ tab[3][p[4]] ^
                         tab[2][p[5]] ^ tab[1][p[6]] ^ tab[0][p[7]]);
        p += 8;
        n -= 8;
    }
    while (n--)
        crc = (uint16_t)((crc >> 8) ^ tab[0][(crc ^ *p++) & 0xFFu]);
    return crc;
}

uint16_t ami_crc16_x25_update(uint16_t crc, const void *data, size_t n)
{
    return crc16_reflected(ami__crc16_x25_tab, crc, (const uint8_t *)data, n);
}

uint16_t ami_crc16_x25(const void *data, size_t n)
{
    return (uint16_t)(ami_crc16_x25_update(AMI_CRC16_X25_INIT, data, n) ^ 0xFFFFu);
}

uint16_t ami_crc16_arc_update(uint16_t crc, const void *data, size_t n)
{
    return crc16_reflected(ami__crc16_arc_tab, crc, (const uint8_t *)data, n);
}

uint16_t ami_crc16_arc(const void *data, size_t n)
{
    return ami_crc16_arc_update(AMI_CRC16_ARC_INIT, data, n);
}
