/*
 * Per-meter identities and secrets of `ami sim` (see sim_server.h, docs/sim.md): serial numbers
 * and system titles from the index; keys and LLS passwords derived from the fleet seed
 * (HMAC-SHA256(seed, label || index as 4 bytes big-endian), truncated) or read from a CSV; the
 * keys CSV written once the fleet listens.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "sim_parse.h"
#include "sim_server.h"

#define SIM_KEYS_CSV_MAX     (64u << 20)
#define SIM_DEFAULT_PASSWORD "12345678"
static const char csv_header[] = "address,port,system_title,ek,ak,kek,password";

static int derive(const uint8_t *seed, size_t seed_len, const char *label, uint32_t index,
                  uint8_t *out, size_t n)
{
    uint8_t msg[16], mac[EVP_MAX_MD_SIZE];
    unsigned mlen = 0;
    size_t l = strlen(label);
    memcpy(msg, label, l);
    msg[l] = (uint8_t)(index >> 24);
    msg[l + 1] = (uint8_t)(index >> 16);
    msg[l + 2] = (uint8_t)(index >> 8);
    msg[l + 3] = (uint8_t)index;
    if (!HMAC(EVP_sha256(), seed, (int)seed_len, msg, l + 4, mac, &mlen) || mlen < n)
        return AMI_E_CRYPTO;
    memcpy(out, mac, n);
    ami_wipe(mac, sizeof mac);
    return AMI_OK;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = 0;
}

/* The system title: "OAM" (our FLAG-style manufacturer letters) and the 5-byte meter number. */
static void system_title(uint32_t index, uint8_t st[8])
{
    uint64_t num = (uint64_t)index + 1;
    st[0] = 'O';
    st[1] = 'A';
    st[2] = 'M';
    for (int i = 0; i < 5; i++)
        st[7 - i] = (uint8_t)(num >> (8 * i));
}

/* Reads the CSV rows in meter order into the nodes and passwords. */
static int read_csv(sim_fleet *f, char (*passwords)[64], const char **what)
{
    static char whatbuf[96];
    unsigned char *buf = NULL;
    size_t len = 0;
    if (cli_read_file(f->o.keys_in, SIM_KEYS_CSV_MAX, &buf, &len) != 0) {
        *what = "--keys: cannot read the file";
        return AMI_E_IO;
    }
    int rc = AMI_OK;
    size_t row = 0, off = 0, line_no = 0;
    while (off < len && row < f->n && rc == AMI_OK) {
        size_t end = off;
        while (end < len && buf[end] != '\n')
            end++;
        size_t ll = end - off;
        const char *l = (const char *)buf + off;
        if (ll && l[ll - 1] == '\r')
            ll--;
        off = end + 1;
        line_no++;
        if (!ll || (line_no == 1 && ll >= 7 && !memcmp(l, "address", 7)))
            continue;
        sim_keys *k = &f->nodes[row].keys;
        if (sim_keys_parse_row(l, ll, k->system_title, k->ek, k->ak, k->kek, passwords[row],
                               sizeof passwords[0]) != AMI_OK) {
            snprintf(whatbuf, sizeof whatbuf, "--keys: line %zu: want %s", line_no, csv_header);
            *what = whatbuf;
            rc = AMI_E_SYNTAX;
            break;
        }
        row++;
    }
    if (rc == AMI_OK && row < f->n) {
        snprintf(whatbuf, sizeof whatbuf, "--keys: %zu rows for %zu meters", row, f->n);
        *what = whatbuf;
        rc = AMI_E_TRUNCATED;
    }
    ami_wipe(buf, len);
    free(buf);
    return rc;
}

int sim_keys_assign(sim_fleet *f, char (*serials)[SIM_SERIAL_MAX + 1], char (*passwords)[64],
                    const char **what)
{
    const uint8_t *seed = f->o.seed ? f->o.seed : (const uint8_t *)SIM_DEFAULT_SEED;
    size_t seed_len = f->o.seed ? f->o.seed_len : strlen(SIM_DEFAULT_SEED);
    if (f->o.keys_in) {
        int rc = read_csv(f, passwords, what);
        if (rc != AMI_OK)
            return rc;
    }
    for (size_t i = 0; i < f->n; i++) {
        sim_keys *k = &f->nodes[i].keys;
        uint32_t idx = (uint32_t)i;
        if (f->o.serial && f->n == 1)
            snprintf(serials[i], sizeof serials[i], "%s", f->o.serial);
        else
            snprintf(serials[i], sizeof serials[i], "AMI%010u", idx + 1);
        if (f->o.keys_in) {
            if (!passwords[i][0])
                snprintf(passwords[i], sizeof passwords[i], "%s",
                         f->o.password ? f->o.password : SIM_DEFAULT_PASSWORD);
            continue;
        }
        system_title(idx, k->system_title);
        if (derive(seed, seed_len, "ek", idx, k->ek, 16) != AMI_OK ||
            derive(seed, seed_len, "ak", idx, k->ak, 16) != AMI_OK ||
            derive(seed, seed_len, "kek", idx, k->kek, 16) != AMI_OK) {
            *what = "key derivation";
            return AMI_E_CRYPTO;
        }
        if (f->o.password || !f->o.seed) {
            snprintf(passwords[i], sizeof passwords[i], "%s",
                     f->o.password ? f->o.password : SIM_DEFAULT_PASSWORD);
        } else {
            uint8_t pw[8];
            if (derive(seed, seed_len, "pw", idx, pw, sizeof pw) != AMI_OK) {
                *what = "password derivation";
                return AMI_E_CRYPTO;
            }
            hex(pw, sizeof pw, passwords[i]);
            ami_wipe(pw, sizeof pw);
        }
    }
    return AMI_OK;
}

int sim_keys_write(sim_fleet *f, const char *path)
{
    /* Atomically: a temporary file (mode 0600), fsync, rename over the CSV, so a reader never
     * sees half of it, also when a key change rewrites it while a client reads it. */
    char tmp[4096];
    int tl = snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (tl <= 0 || (size_t)tl >= sizeof tmp)
        return AMI_E_IO;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return AMI_E_IO;
    (void)fchmod(fd, 0600); /* also when the file existed with a wider mode */
    FILE *fp = fdopen(fd, "w");
    if (!fp) {
        close(fd);
        unlink(tmp);
        return AMI_E_IO;
    }
    fprintf(fp, "%s\n", csv_header);
    char addr[16], st[17], ek[33], ak[33], kek[33];
    for (size_t i = 0; i < f->n; i++) {
        const sim_node *n = &f->nodes[i];
        hex(n->keys.system_title, 8, st);
        hex(n->keys.ek, 16, ek);
        hex(n->keys.ak, 16, ak);
        hex(n->keys.kek, 16, kek);
        fprintf(fp, "%s,%u,%s,%s,%s,%s,%.*s\n", sim_fleet_address(f, i, addr, sizeof addr),
                f->wport, st, ek, ak, kek, (int)n->meter.password_len,
                (const char *)n->meter.password);
    }
    ami_wipe(ek, sizeof ek);
    ami_wipe(ak, sizeof ak);
    ami_wipe(kek, sizeof kek);
    int bad = ferror(fp) || fflush(fp) != 0 || fsync(fileno(fp)) != 0;
    if (fclose(fp) != 0 || bad || rename(tmp, path) != 0) {
        unlink(tmp);
        return AMI_E_IO;
    }
    return AMI_OK;
}

/* A key_transfer changed a meter's keys: the fleet's copy and the CSV follow, so that `ami
 * dlms` with the CSV keeps reaching the meter. */
static void keys_changed(void *user, sim_meter *m)
{
    sim_fleet *f = user;
    for (size_t i = 0; i < f->n; i++) {
        sim_node *n = &f->nodes[i];
        if (&n->meter != m)
            continue;
        memcpy(n->keys.ek, m->ek, sizeof n->keys.ek);
        memcpy(n->keys.ak, m->ak, sizeof n->keys.ak);
        memcpy(n->keys.kek, m->kek, sizeof n->keys.kek);
        break;
    }
    if (sim_keys_write(f, f->o.keys_out) != AMI_OK)
        fprintf(f->log, "ami sim: --keys-out: cannot rewrite %s after a key change\n",
                f->o.keys_out);
    else if (f->o.verbose)
        fprintf(f->log, "ami sim: --keys-out: %s rewritten after a key change\n", f->o.keys_out);
}

void sim_keys_watch(sim_fleet *f)
{
    sim_meter_set_keys_hook(f->o.keys_out ? keys_changed : NULL, f);
}
