/*
 * The client session (ami/dlms_client.h) against the server engine (ami/dlms_server.h) in
 * process: general block transfer with tiny PDUs and windows 1..n, lost and duplicated blocks
 * in both directions; short-name Read (plain, with-list, parameterized), Write and
 * UnconfirmedWrite through the Association SN object_list; SN Read with block transfer
 * (data-block-result / block-number-access) and its hostile sequences at both ends; attribute 0;
 * ACTION with-list and first pblock and long ACTION return data.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "ami/ami.h"

/* ---------------------------------------------------------------- server fixture */

static int64_t fx_now(void *user)
{
    (void)user;
    return 1795327200;
}

/* Register method 1 returns its parameters; method 1 of the big Data-like register returns
 * the big value (long return data). */
static uint8_t fx_method(void *user, ami_cosem_obj *obj, uint8_t id, ami_view params, ami_wr *out)
{
    (void)obj;
    if (id != 1)
        return AMI_ACTION_OTHER_REASON;
    if (user) {
        const ami_cosem_obj *big = user;
        ami_wr_bytes(out, big->value, big->value_len);
    } else {
        ami_wr_bytes(out, params.p, params.len);
    }
    return AMI_ACTION_SUCCESS;
}

static uint8_t fx_energy(void *user, const ami_cosem_obj *obj, ami_wr *out)
{
    (void)obj;
    (void)user;
    ami_wr_u8(out, AMI_AXDR_DOUBLE_LONG_UNSIGNED);
    ami_wr_u32be(out, 123456);
    return AMI_DAR_SUCCESS;
}

static const uint8_t rw2[2] = {AMI_ACCESS_READ, AMI_ACCESS_READ_WRITE};
static const uint8_t m_access[1] = {AMI_METHOD_ACCESS};

#define CONF_ALL                                                                       \
    (AMI_CONF_GET | AMI_CONF_SET | AMI_CONF_ACTION | AMI_CONF_SELECTIVE_ACCESS |       \
     AMI_CONF_MULTIPLE_REFERENCES | AMI_CONF_BLOCK_TRANSFER_WITH_GET_OR_READ |         \
     AMI_CONF_BLOCK_TRANSFER_WITH_SET_OR_WRITE | AMI_CONF_BLOCK_TRANSFER_WITH_ACTION | \
     AMI_CONF_GENERAL_BLOCK_TRANSFER | AMI_CONF_ATTRIBUTE0_WITH_GET)
#define CONF_SN                                                                                    \
    (AMI_CONF_READ | AMI_CONF_WRITE | AMI_CONF_UNCONFIRMED_WRITE | AMI_CONF_PARAMETERIZED_ACCESS | \
     AMI_CONF_MULTIPLE_REFERENCES | AMI_CONF_BLOCK_TRANSFER_WITH_GET_OR_READ |                     \
     AMI_CONF_GENERAL_BLOCK_TRANSFER)

typedef struct fixture {
    ami_cosem_obj objs[6];
    uint8_t big[700];
    uint8_t small[64];
    ami_cosem_store store;
    ami_dlms_policy pol[2];
    ami_dlms_server srv;
    ami_dlms_assoc assoc;
    uint8_t block[2048], scratch[4096], rx[2048], tx[2048 + 64];
    /* client */
    ami_dlms_client cli;
    uint8_t data[4096], cgbt[4096], arena_buf[8192];
    ami_arena arena;
    ami_dlms_item items[8];
} fixture;

static fixture fx;

static void fx_setup(uint8_t server_window, uint16_t server_pdu)
{
    memset(&fx, 0, sizeof fx);
    fx.big[0] = AMI_AXDR_OCTET_STRING;
    fx.big[1] = 0x82;
    fx.big[2] = 0x02;
    fx.big[3] = 0x9B; /* 667 bytes */
    for (size_t i = 4; i < sizeof fx.big - 29; i++)
        fx.big[i] = (uint8_t)(i * 7);
    fx.small[0] = AMI_AXDR_LONG_UNSIGNED;
    fx.small[1] = 0x12;
    fx.small[2] = 0x34;
    fx.objs[0] =
        (ami_cosem_obj){.class_id = AMI_COSEM_ASSOCIATION_LN, .ln = AMI_OBIS(0, 0, 40, 0, 0, 255)};
    fx.objs[1] = (ami_cosem_obj){.class_id = AMI_COSEM_DATA,
                                 .ln = AMI_OBIS(0, 0, 128, 0, 0, 255),
                                 .attr_access = rw2,
                                 .value = fx.big,
                                 .value_cap = sizeof fx.big,
                                 .value_len = 4 + 667};
    fx.objs[2] = (ami_cosem_obj){.class_id = AMI_COSEM_REGISTER,
                                 .ln = AMI_OBIS(1, 0, 1, 8, 0, 255),
                                 .read = fx_energy,
                                 .method = fx_method,
                                 .method_access = m_access,
                                 .unit = 30};
    fx.objs[3] = (ami_cosem_obj){.class_id = AMI_COSEM_DATA,
                                 .ln = AMI_OBIS(0, 0, 128, 0, 1, 255),
                                 .attr_access = rw2,
                                 .value = fx.small,
                                 .value_cap = sizeof fx.small,
                                 .value_len = 3};
    fx.objs[4] = (ami_cosem_obj){.class_id = AMI_COSEM_REGISTER,
                                 .ln = AMI_OBIS(1, 0, 99, 8, 0, 255),
                                 .read = fx_energy,
                                 .method = fx_method,
                                 .method_access = m_access,
                                 .user = &fx.objs[1]};
    fx.objs[5] = (ami_cosem_obj){.class_id = AMI_COSEM_CLOCK, .ln = AMI_OBIS(0, 0, 1, 0, 0, 255)};
    ami_cosem_clock_src clk = {fx_now, NULL, NULL};
    assert_int_equal(ami_cosem_store_init(&fx.store, fx.objs, 6, &clk), AMI_OK);
    fx.pol[0] = (ami_dlms_policy){.client_sap = 16,
                                  .context = AMI_ACSE_CONTEXT_LN,
                                  .mechanism = AMI_ACSE_MECH_LOW,
                                  .password = (const uint8_t *)"pw",
                                  .password_len = 2,
                                  .conformance = CONF_ALL,
                                  .max_pdu = server_pdu,
                                  .gbt_window = server_window};
    fx.pol[1] = (ami_dlms_policy){.client_sap = 32,
                                  .context = AMI_ACSE_CONTEXT_SN,
                                  .mechanism = AMI_ACSE_MECH_LOW,
                                  .password = (const uint8_t *)"pw",
                                  .password_len = 2,
                                  .conformance = CONF_SN,
                                  .max_pdu = server_pdu,
                                  .gbt_window = server_window};
    ami_dlms_server_config cfg = {
        .ops = &ami_cosem_store_ops, .store = &fx.store, .policies = fx.pol, .policy_count = 2};
    assert_int_equal(ami_dlms_server_init(&fx.srv, &cfg), AMI_OK);
}

/* ---------------------------------------------------------------- the link between them */

/* Faults injected on the link: APDU numbers (1-based, per direction) to drop or duplicate. */
typedef struct faults {
    unsigned drop_s2c[4], dup_s2c[4], drop_c2s[4], dup_c2s[4];
    unsigned n_s2c, n_c2s; /* APDUs seen */
    unsigned retries;
} faults;

static bool listed(const unsigned *l, unsigned n)
{
    for (int i = 0; i < 4; i++)
        if (l[i] && l[i] == n)
            return true;
    return false;
}

#define QMAX 80

/*
 * Runs one exchange: `first` (the client's request) goes to the server; every server APDU
 * (handle, then ami_dlms_assoc_next until 0) goes to the client, whose APDUs go back. When the
 * link falls silent while the client waits, the client's GBT retry stands for its timeout.
 * Returns the client's final code.
 */
static int run(faults *f, const uint8_t *first, size_t first_len, ami_dlms_result *res)
{
    static uint8_t q[QMAX][1100];
    static size_t ql[QMAX];
    size_t head = 0, tail = 0;
    assert_true(first_len <= sizeof q[0]);
    memcpy(q[tail], first, first_len);
    ql[tail++] = first_len;
    for (int guard = 0; guard < 2000; guard++) {
        if (head == tail) {
            /* Silence: the client's timeout. */
            assert_true(f->retries < 20);
            f->retries++;
            ami_wr w;
            ami_wr_init(&w, q[tail % QMAX], sizeof q[0]);
            int rc = ami_dlms_client_gbt_retry(&fx.cli, &w);
            if (rc)
                return rc;
            ql[tail % QMAX] = w.len;
            tail++;
            continue;
        }
        const uint8_t *req = q[head % QMAX];
        size_t req_len = ql[head % QMAX];
        head++;
        f->n_c2s++;
        if (listed(f->drop_c2s, f->n_c2s))
            continue;
        int copies = listed(f->dup_c2s, f->n_c2s) ? 2 : 1;
        for (int k = 0; k < copies; k++) {
            static uint8_t out[1100];
            int n = ami_dlms_assoc_handle(&fx.assoc, req, req_len, out, sizeof out);
            assert_true(n >= 0);
            while (n > 0) {
                if (out[0] != AMI_ACSE_AARE)
                    assert_true((size_t)n <= fx.assoc.ctx.client_max_pdu);
                f->n_s2c++;
                int sc = listed(f->dup_s2c, f->n_s2c) ? 2 : listed(f->drop_s2c, f->n_s2c) ? 0 : 1;
                for (int j = 0; j < sc; j++) {
                    ami_wr w;
                    ami_wr_init(&w, q[tail % QMAX], sizeof q[0]);
                    int rc = ami_dlms_client_input(&fx.cli, out, (size_t)n, &w, res);
                    if (rc != AMI_E_AGAIN) {
                        /* Drain what the server still streams, as a transport would. */
                        while (ami_dlms_assoc_next(&fx.assoc, out, sizeof out) > 0)
                            ;
                        return rc;
                    }
                    if (w.len) {
                        ql[tail % QMAX] = w.len;
                        tail++;
                        assert_true(tail - head < QMAX);
                    }
                }
                n = ami_dlms_assoc_next(&fx.assoc, out, sizeof out);
                assert_true(n >= 0);
            }
        }
    }
    fail_msg("the exchange did not end");
    return AMI_E_INTERNAL;
}

static bool no_gbt; /* the client does not propose GBT */

static void client_new(uint8_t context, uint16_t client_pdu, uint8_t window, bool always)
{
    ami_arena_init(&fx.arena, fx.arena_buf, sizeof fx.arena_buf);
    ami_dlms_client_config cfg = {
        .context = context,
        .mechanism = AMI_ACSE_MECH_LOW,
        .auth_value = {(const uint8_t *)"pw", 2},
        .conformance = (context == AMI_ACSE_CONTEXT_SN ? CONF_SN : CONF_ALL) &
                       ~(no_gbt ? (uint32_t)AMI_CONF_GENERAL_BLOCK_TRANSFER : 0u),
        .max_pdu = client_pdu,
        .data_buf = fx.data,
        .data_cap = sizeof fx.data,
        .arena = &fx.arena,
        .items = fx.items,
        .max_items = 8,
        .gbt_buf = fx.cgbt,
        .gbt_cap = sizeof fx.cgbt,
        .gbt_window = window,
        .gbt_always = always,
    };
    assert_int_equal(ami_dlms_client_init(&fx.cli, &cfg), AMI_OK);
}

static void connect(uint16_t sap, uint8_t context, uint16_t client_pdu, uint8_t window, bool always)
{
    ami_dlms_assoc_mem mem = {.block = fx.block,
                              .block_cap = sizeof fx.block,
                              .scratch = fx.scratch,
                              .scratch_cap = sizeof fx.scratch};
    assert_int_equal(ami_dlms_assoc_init(&fx.assoc, &fx.srv, sap, &mem), AMI_OK);
    assert_int_equal(ami_dlms_assoc_set_gbt(&fx.assoc, fx.rx, sizeof fx.rx, fx.tx, sizeof fx.tx, 0),
                     AMI_OK);
    client_new(context, client_pdu, window, always);
    uint8_t buf[256];
    ami_wr w;
    ami_wr_init(&w, buf, sizeof buf);
    assert_int_equal(ami_dlms_client_associate(&fx.cli, &w), AMI_OK);
    faults f = {0};
    ami_dlms_result res;
    assert_int_equal(run(&f, buf, w.len, &res), AMI_OK);
    assert_int_equal(res.outcome, AMI_DLMS_SUCCESS);
    assert_true(no_gbt || (ami_dlms_client_conformance(&fx.cli) & AMI_CONF_GENERAL_BLOCK_TRANSFER));
}

static int get(faults *f, const ami_attr_sel *sel, ami_dlms_result *res)
{
    uint8_t buf[1100];
    ami_wr w;
    ami_wr_init(&w, buf, sizeof buf);
    int rc = ami_dlms_client_get(&fx.cli, sel, 1, &w);
    if (rc)
        return rc;
    return run(f, buf, w.len, res);
}

static const ami_attr_sel big_sel = {{1, {{0, 0, 128, 0, 0, 255}}, 2}, {false, 0, {NULL, 0}}};

static void expect_big(const ami_dlms_result *res)
{
    assert_int_equal(res->outcome, AMI_DLMS_SUCCESS);
    assert_true(res->has_data);
    assert_int_equal(res->data.len, 4 + 667);
    assert_memory_equal(res->data.p, fx.big, 4 + 667);
}

/* ---------------------------------------------------------------- GBT */

/* Windows 1..6 on both sides (and a server that streams less than the client allows), a
 * 40-byte client PDU: the 675-byte response takes 22 blocks. */
static void test_gbt_windows(void **state)
{
    (void)state;
    for (uint8_t cw = 1; cw <= 6; cw++) {
        for (uint8_t sw = 1; sw <= 6; sw += 5) {
            fx_setup(sw, 256);
            connect(16, AMI_ACSE_CONTEXT_LN, 40, cw, true);
            faults f = {0};
            ami_dlms_result res;
            assert_int_equal(get(&f, &big_sel, &res), AMI_OK);
            expect_big(&res);
            assert_int_equal(res.blocks, 22);
            uint8_t win = cw < sw ? cw : sw;
            /* 1 request + acknowledgements at each window end (not after the last block). */
            assert_int_equal(f.n_c2s, 1 + (22 + win - 1) / win - 1);
            assert_int_equal(f.n_s2c, 22);
            assert_int_equal(f.retries, 0);
            /* The session is ready again: a second GET works on the same association. */
            f = (faults){0};
            assert_int_equal(get(&f, &big_sel, &res), AMI_OK);
            expect_big(&res);
        }
    }
}

/* A plain GET (no gbt_always) whose response exceeds the client PDU comes back in GBT. */
static void test_gbt_long_response_to_plain_request(void **state)
{
    (void)state;
    fx_setup(4, 256);
    connect(16, AMI_ACSE_CONTEXT_LN, 64, 4, false);
    faults f = {0};
    ami_dlms_result res;
    assert_int_equal(get(&f, &big_sel, &res), AMI_OK);
    expect_big(&res);
    assert_true(res.blocks > 1);
    /* A short response stays plain. */
    ami_attr_sel e = {{3, {{1, 0, 1, 8, 0, 255}}, 2}, {false, 0, {NULL, 0}}};
    f = (faults){0};
    assert_int_equal(get(&f, &e, &res), AMI_OK);
    assert_int_equal(res.blocks, 0);
    assert_int_equal(res.data.len, 5);
}

/* Lost server blocks (in the middle of a window, at a window's end, the last block) and
 * duplicated ones: recovered through the client's acknowledgements and retries. */
static void test_gbt_lost_and_duplicated_blocks(void **state)
{
    (void)state;
    static const faults cases[] = {
        {.drop_s2c = {3}},       {.drop_s2c = {4}},       {.drop_s2c = {22}},
        {.drop_s2c = {2, 3, 9}}, {.dup_s2c = {2, 8, 22}}, {.drop_s2c = {5}, .dup_s2c = {7}},
        {.drop_c2s = {2}},       {.dup_c2s = {2, 3}},
    };
    for (uint8_t w = 1; w <= 4; w += 3) {
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            fx_setup(w, 256);
            connect(16, AMI_ACSE_CONTEXT_LN, 40, w, true);
            faults f = cases[i];
            ami_dlms_result res;
            int rc = get(&f, &big_sel, &res);
            if (rc != AMI_OK)
                fail_msg("window %u case %zu: %s", w, i, ami_strerror(rc));
            expect_big(&res);
        }
    }
}

/* A SET longer than the server's PDU goes out in GBT blocks (one per round trip); a lost
 * request block is sent again after the client's timeout. */
static void test_gbt_long_request(void **state)
{
    (void)state;
    for (int drop = 0; drop <= 3; drop++) {
        fx_setup(2, 64);
        connect(16, AMI_ACSE_CONTEXT_LN, 1024, 1, false);
        uint8_t value[300];
        value[0] = AMI_AXDR_OCTET_STRING;
        value[1] = 0x82;
        value[2] = 0x01;
        value[3] = 0x28; /* 296 */
        for (size_t i = 4; i < sizeof value; i++)
            value[i] = (uint8_t)(i ^ 0x5A);
        uint8_t buf[512];
        ami_wr w;
        ami_wr_init(&w, buf, sizeof buf);
        assert_int_equal(
            ami_dlms_client_set(&fx.cli, &big_sel, ami_view_of(value, sizeof value), &w), AMI_OK);
        assert_int_equal(buf[0], AMI_APDU_GENERAL_BLOCK_TRANSFER);
        assert_true(w.len <= 64);
        faults f = {.drop_c2s = {(unsigned)drop}};
        ami_dlms_result res;
        assert_int_equal(run(&f, buf, w.len, &res), AMI_OK);
        assert_int_equal(res.outcome, AMI_DLMS_SUCCESS);
        assert_int_equal(fx.objs[1].value_len, sizeof value);
        assert_memory_equal(fx.objs[1].value, value, sizeof value);
        assert_int_equal(f.retries, drop ? 1 : 0);
    }
}

/* GBT is not negotiated without buffers, and GBT APDUs are refused then. */
static void test_gbt_not_negotiated(void **state)
{
    (void)state;
    fx_setup(1, 256);
    ami_dlms_assoc_mem mem = {.block = fx.block,
                              .block_cap = sizeof fx.block,
                              .scratch = fx.scratch,
                              .scratch_cap = sizeof fx.scratch};
    assert_int_equal(ami_dlms_assoc_init(&fx.assoc, &fx.srv, 16, &mem), AMI_OK);
    assert_int_equal(ami_dlms_assoc_set_gbt(&fx.assoc, fx.rx, 8, fx.tx, sizeof fx.tx, 0),
                     AMI_E_CONFIG);
    assert_int_equal(ami_dlms_assoc_set_gbt(&fx.assoc, fx.rx, sizeof fx.rx, fx.tx, 100, 0),
                     AMI_E_CONFIG);
    client_new(AMI_ACSE_CONTEXT_LN, 64, 1, true);
    uint8_t buf[256];
    ami_wr w;
    ami_wr_init(&w, buf, sizeof buf);
    assert_int_equal(ami_dlms_client_associate(&fx.cli, &w), AMI_OK);
    faults f = {0};
    ami_dlms_result res;
    assert_int_equal(run(&f, buf, w.len, &res), AMI_OK);
    assert_false(ami_dlms_client_conformance(&fx.cli) & AMI_CONF_GENERAL_BLOCK_TRANSFER);
    /* The client falls back to service-specific block transfer. */
    f = (faults){0};
    assert_int_equal(get(&f, &big_sel, &res), AMI_OK);
    expect_big(&res);
    /* A GBT APDU to the server: exception-response. */
    static const uint8_t gbt[] = {0xE0, 0x81, 0x00, 0x01, 0x00, 0x00, 0x02, 0xC0, 0x01};
    uint8_t out[64];
    int n = ami_dlms_assoc_handle(&fx.assoc, gbt, sizeof gbt, out, sizeof out);
    assert_int_equal(n, 3);
    assert_int_equal(out[0], AMI_APDU_EXCEPTION_RESPONSE);
}

/* Hostile GBT sequences at the server: a block of no transfer, a request over the reassembly
 * buffer, an ACSE APDU inside GBT; the association survives each. */
static void test_gbt_server_hostile(void **state)
{
    (void)state;
    fx_setup(1, 256);
    connect(16, AMI_ACSE_CONTEXT_LN, 64, 1, true);
    uint8_t out[128];
    static const uint8_t stray[] = {0xE0, 0x01, 0x00, 0x05, 0x00, 0x00, 0x01, 0xC0};
    int n = ami_dlms_assoc_handle(&fx.assoc, stray, sizeof stray, out, sizeof out);
    assert_int_equal(n, 3);
    assert_int_equal(out[0], AMI_APDU_EXCEPTION_RESPONSE);
    static const uint8_t aarq[] = {0xE0, 0x81, 0x00, 0x01, 0x00, 0x00, 0x02, 0x60, 0x00};
    n = ami_dlms_assoc_handle(&fx.assoc, aarq, sizeof aarq, out, sizeof out);
    assert_int_equal(n, 3);
    assert_int_equal(out[0], AMI_APDU_EXCEPTION_RESPONSE);
    /* 60 blocks of 60 bytes: more than the 2048-byte reassembly buffer. */
    uint8_t blk[7 + 60];
    memset(blk, 0xAA, sizeof blk);
    int last = 0;
    for (uint16_t bn = 1; bn <= 60; bn++) {
        blk[0] = 0xE0;
        blk[1] = 0x01;
        blk[2] = (uint8_t)(bn >> 8);
        blk[3] = (uint8_t)bn;
        blk[4] = 0;
        blk[5] = 0;
        blk[6] = 60;
        blk[7] = 0xC0;
        last = ami_dlms_assoc_handle(&fx.assoc, blk, sizeof blk, out, sizeof out);
        assert_true(last > 0);
        if (out[0] == AMI_APDU_EXCEPTION_RESPONSE)
            break;
        assert_int_equal(out[0], AMI_APDU_GENERAL_BLOCK_TRANSFER); /* acknowledged */
    }
    assert_int_equal(out[0], AMI_APDU_EXCEPTION_RESPONSE);
    assert_int_equal(out[2], AMI_SERVICE_ERROR_PDU_TOO_LONG);
    faults f = {0};
    ami_dlms_result res;
    assert_int_equal(get(&f, &big_sel, &res), AMI_OK);
    expect_big(&res);
}

/* ---------------------------------------------------------------- SN */

static int sn_read(const ami_sn_access *items, uint32_t n, ami_dlms_result *res)
{
    uint8_t buf[512];
    ami_wr w;
    ami_wr_init(&w, buf, sizeof buf);
    int rc = ami_dlms_client_read(&fx.cli, items, n, &w);
    if (rc)
        return rc;
    faults f = {0};
    return run(&f, buf, w.len, res);
}

/* Finds an object's base name in an Association SN object_list (fewer than 128 entries of
 * 18 bytes each: 02 04 10 base 12 class 11 version 09 06 ln). */
static uint16_t base_of(ami_view list, uint16_t class_id, ami_obis ln)
{
    assert_int_equal(list.p[0], AMI_AXDR_ARRAY);
    size_t n = list.p[1];
    assert_int_equal(list.len, 2 + 18 * n);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *e = list.p + 2 + 18 * i;
        assert_int_equal(e[0], AMI_AXDR_STRUCTURE);
        assert_int_equal(e[2], AMI_AXDR_LONG);
        if (ami_dec16be(e + 6) == class_id && memcmp(e + 12, ln.v, 6) == 0)
            return ami_dec16be(e + 3);
    }
    fail_msg("object not in the list");
    return 0;
}

static void test_sn_services(void **state)
{
    (void)state;
    fx_setup(1, 256);
    connect(32, AMI_ACSE_CONTEXT_SN, 1024, 1, false);
    ami_dlms_result res;
    /* LN services are refused locally in SN. */
    uint8_t buf[256];
    ami_wr w;
    ami_wr_init(&w, buf, sizeof buf);
    assert_int_equal(ami_dlms_client_get(&fx.cli, &big_sel, 1, &w), AMI_E_UNSUPPORTED);

    /* Association SN: logical name and object_list. */
    ami_sn_access it = {.kind = AMI_SN_VARIABLE_NAME, .name = 0xFA00};
    assert_int_equal(sn_read(&it, 1, &res), AMI_OK);
    assert_true(res.has_data);
    assert_int_equal(res.data.len, 8);
    assert_memory_equal(res.data.p, "\x09\x06\x00\x00\x28\x00\x00\xFF", 8);
    it.name = 0xFA08;
    assert_int_equal(sn_read(&it, 1, &res), AMI_OK);
    static uint8_t list[1024];
    memcpy(list, res.data.p, res.data.len);
    ami_view lv = ami_view_of(list, res.data.len);
    /* 5 store objects (Association LN left out) + Association SN itself. */
    assert_int_equal(list[1], 6);
    assert_int_equal(base_of(lv, 12, AMI_OBIS(0, 0, 40, 0, 0, 255)), 0xFA00);
    uint16_t big = base_of(lv, 1, AMI_OBIS(0, 0, 128, 0, 0, 255));
    uint16_t reg = base_of(lv, 3, AMI_OBIS(1, 0, 1, 8, 0, 255));
    uint16_t small = base_of(lv, 1, AMI_OBIS(0, 0, 128, 0, 1, 255));
    assert_int_equal(big, AMI_DLMS_SN_FIRST_BASE);
    assert_int_equal(reg, big + 16);
    assert_int_equal(ami_dlms_sn_method_offset(3, 3), 0x28);
    assert_int_equal(small, reg + 0x30); /* register: 3 attributes, reset at 0x28 */

    /* Read with-list: register value, its scaler_unit, a name that designates nothing. */
    ami_sn_access three[3] = {{.kind = AMI_SN_VARIABLE_NAME, .name = (uint16_t)(reg + 8)},
                              {.kind = AMI_SN_VARIABLE_NAME, .name = (uint16_t)(reg + 16)},
                              {.kind = AMI_SN_VARIABLE_NAME, .name = 0x0102}};
    assert_int_equal(sn_read(three, 3, &res), AMI_OK);
    assert_int_equal(res.count, 3);
    assert_true(res.items[0].ok);
    assert_memory_equal(res.items[0].data.p, "\x06\x00\x01\xE2\x40", 5);
    assert_true(res.items[1].ok);
    assert_memory_equal(res.items[1].data.p, "\x02\x02\x0F\x00\x16\x1E", 6);
    assert_false(res.items[2].ok);
    assert_int_equal(res.items[2].dar, AMI_DAR_OBJECT_UNDEFINED);

    /* The big value: longer than the 256-byte server PDU? No: than nothing; read whole. */
    it.name = (uint16_t)(big + 8);
    assert_int_equal(sn_read(&it, 1, &res), AMI_OK);
    expect_big(&res);

    /* Write, read back; a write to a read-only attribute is refused. */
    static const uint8_t v[] = {AMI_AXDR_LONG_UNSIGNED, 0xBE, 0xEF};
    ami_sn_access wr = {.kind = AMI_SN_VARIABLE_NAME, .name = (uint16_t)(small + 8)};
    ami_wr_init(&w, buf, sizeof buf);
    assert_int_equal(ami_dlms_client_write(&fx.cli, &wr, ami_view_of(v, 3), &w), AMI_OK);
    faults f = {0};
    assert_int_equal(run(&f, buf, w.len, &res), AMI_OK);
    assert_int_equal(res.outcome, AMI_DLMS_SUCCESS);
    assert_memory_equal(fx.small, v, 3);
    wr.name = small; /* logical_name: read-only */
    ami_wr_init(&w, buf, sizeof buf);
    assert_int_equal(ami_dlms_client_write(&fx.cli, &wr, ami_view_of(v, 3), &w), AMI_OK);
    assert_int_equal(run(&f, buf, w.len, &res), AMI_OK);
    assert_int_equal(res.outcome, AMI_DLMS_DATA_ACCESS_RESULT);
    assert_int_equal(res.dar, AMI_DAR_READ_WRITE_DENIED);

    /* UnconfirmedWrite: no response; the value changes. */
    static const uint8_t v2[] = {AMI_AXDR_LONG_UNSIGNED, 0x00, 0x07};
    wr.name = (uint16_t)(small + 8);
    ami_wr_init(&w, buf, sizeof buf);
    assert_int_equal(ami_dlms_client_unconfirmed_write(&fx.cli, &wr, ami_view_of(v2, 3), &w),
                     AMI_OK);
    assert_int_equal(ami_dlms_client_state_get(&fx.cli), AMI_DLMS_CLIENT_READY);
    uint8_t out[64];
    assert_int_equal(ami_dlms_assoc_handle(&fx.assoc, buf, w.len, out, sizeof out), 0);
    assert_memory_equal(fx.small, v2, 3);

    /* Parameterized access of a method name: the register's reset (method 1) echoes. */
    static const uint8_t p[] = {AMI_AXDR_INTEGER, 0x05};
    ami_sn_access pm = {.kind = AMI_SN_PARAMETERIZED_ACCESS,
                        .name = (uint16_t)(reg + 0x28),
                        .selector = 0,
                        .params = ami_view_of(p, 2)};
    assert_int_equal(sn_read(&pm, 1, &res), AMI_OK);
    assert_true(res.has_data);
    assert_memory_equal(res.data.p, p, 2);
    /* Parameterized access of an attribute: selective access the Data class refuses. */
    pm.name = (uint16_t)(big + 8);
    assert_int_equal(sn_read(&pm, 1, &res), AMI_OK);
    assert_int_equal(res.outcome, AMI_DLMS_DATA_ACCESS_RESULT);
    /* Block-transfer kinds are not driven by the session. */
    ami_sn_access bad = {.kind = AMI_SN_BLOCK_NUMBER_ACCESS};
    ami_wr_init(&w, buf, sizeof buf);
    assert_int_equal(ami_dlms_client_read(&fx.cli, &bad, 1, &w), AMI_E_INVAL);
}

/* SN Read with block transfer (Green Book 9.3.14), no GBT: a 64-byte client PDU takes the
 * 671-byte value in 12 data-block-result blocks of 57 raw bytes (64 - 7 of header), each
 * acknowledged with block-number-access; the method mapping through Write too. */
static void test_sn_read_blocks(void **state)
{
    (void)state;
    fx_setup(1, 256);
    no_gbt = true;
    connect(32, AMI_ACSE_CONTEXT_SN, 64, 1, false);
    no_gbt = false;
    assert_false(ami_dlms_client_conformance(&fx.cli) & AMI_CONF_GENERAL_BLOCK_TRANSFER);
    ami_sn_access it = {.kind = AMI_SN_VARIABLE_NAME, .name = AMI_DLMS_SN_FIRST_BASE + 8};
    for (int round = 0; round < 2; round++) {
        uint8_t buf[64];
        ami_wr w;
        ami_wr_init(&w, buf, sizeof buf);
        assert_int_equal(ami_dlms_client_read(&fx.cli, &it, 1, &w), AMI_OK);
        faults f = {0};
        ami_dlms_result res;
        assert_int_equal(run(&f, buf, w.len, &res), AMI_OK);
        expect_big(&res);
        assert_int_equal(res.blocks, 12);
        assert_int_equal(f.n_s2c, 12);
        assert_int_equal(f.n_c2s, 12); /* the Read and 11 block-number-access */
        assert_int_equal(ami_dlms_client_state_get(&fx.cli), AMI_DLMS_CLIENT_READY);
    }
    assert_int_equal(ami_dlms_assoc_stats_get(&fx.assoc)->blocks_out, 24);
    /* Two items that do not fit: ConfirmedServiceError read / pdu-size (one Data only). */
    ami_sn_access two[2] = {it, {.kind = AMI_SN_VARIABLE_NAME, .name = 0xFA00}};
    ami_dlms_result res;
    assert_int_equal(sn_read(two, 2, &res), AMI_OK);
    assert_int_equal(res.outcome, AMI_DLMS_SERVICE_ERROR);
    /* A method through Write (the register at 0x1010 echoes; Write has no return data). */
    static const uint8_t p[] = {AMI_AXDR_INTEGER, 0x05};
    ami_sn_access m = {.kind = AMI_SN_VARIABLE_NAME, .name = AMI_DLMS_SN_FIRST_BASE + 16 + 0x28};
    uint8_t buf[64];
    ami_wr w;
    ami_wr_init(&w, buf, sizeof buf);
    assert_int_equal(ami_dlms_client_write(&fx.cli, &m, ami_view_of(p, 2), &w), AMI_OK);
    faults f = {0};
    assert_int_equal(run(&f, buf, w.len, &res), AMI_OK);
    assert_int_equal(res.outcome, AMI_DLMS_SUCCESS);

    /* Without block transfer with Read agreed: pdu-size. */
    fx.pol[1].conformance &= ~(uint32_t)AMI_CONF_BLOCK_TRANSFER_WITH_GET_OR_READ;
    no_gbt = true;
    connect(32, AMI_ACSE_CONTEXT_SN, 64, 1, false);
    no_gbt = false;
    assert_int_equal(sn_read(&it, 1, &res), AMI_OK);
    assert_int_equal(res.outcome, AMI_DLMS_SERVICE_ERROR);
    assert_int_equal(res.service_error.value, 1); /* pdu-size */
}

/* Sends one APDU to the server; returns the response length (out holds it). */
static int to_server(const uint8_t *req, size_t len, uint8_t *out, size_t cap)
{
    int n = ami_dlms_assoc_handle(&fx.assoc, req, len, out, cap);
    assert_true(n > 0);
    assert_true((size_t)n <= fx.assoc.ctx.client_max_pdu);
    return n;
}

/* Hostile block sequences at the server: a future, a repeated and a stale block number abort
 * the transfer (data-block-number-invalid); a block-number-access without a transfer, or after
 * another request dropped it, is no-long-get-in-progress. The association survives each. */
static void test_sn_read_blocks_server_hostile(void **state)
{
    (void)state;
    fx_setup(1, 256);
    no_gbt = true;
    connect(32, AMI_ACSE_CONTEXT_SN, 64, 1, false);
    no_gbt = false;
    static const uint8_t read_big[] = {0x05, 0x01, 0x02, 0x10, 0x08};
    static const uint8_t read_ln[] = {0x05, 0x01, 0x02, 0xFA, 0x00};
    uint8_t out[128], ack[] = {0x05, 0x01, 0x05, 0x00, 0x00};
    /* first block: 0C 01 02 last=0 0001 len=57 */
    int n = to_server(read_big, sizeof read_big, out, sizeof out);
    assert_int_equal(n, 64);
    static const uint8_t head1[] = {0x0C, 0x01, 0x02, 0x00, 0x00, 0x01, 57};
    assert_memory_equal(out, head1, sizeof head1);
    struct {
        uint16_t ack; /* acknowledged number after `valid` good acknowledgements */
        int valid;    /* good acknowledgements first */
        uint8_t dar;  /* expected */
        bool other;   /* another Read comes in between (drops the transfer) */
    } cases[] = {
        {2, 0, AMI_DAR_DATA_BLOCK_NUMBER_INVALID, false}, /* a future block (one lost) */
        {1, 1, AMI_DAR_DATA_BLOCK_NUMBER_INVALID, false}, /* a repeated block */
        {0, 0, AMI_DAR_DATA_BLOCK_NUMBER_INVALID, false}, /* block 0 */
        {1, 0, AMI_DAR_NO_LONG_GET_IN_PROGRESS, true},    /* the transfer was dropped */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        n = to_server(read_big, sizeof read_big, out, sizeof out);
        assert_int_equal(out[5], 1);
        for (int k = 1; k <= cases[i].valid; k++) {
            ack[4] = (uint8_t)k;
            n = to_server(ack, sizeof ack, out, sizeof out);
            assert_int_equal(out[2], AMI_SN_READ_DATA_BLOCK);
            assert_int_equal(out[5], k + 1);
        }
        if (cases[i].other) {
            n = to_server(read_ln, sizeof read_ln, out, sizeof out);
            assert_int_equal(out[2], AMI_SN_READ_DATA);
        }
        ack[3] = (uint8_t)(cases[i].ack >> 8);
        ack[4] = (uint8_t)cases[i].ack;
        n = to_server(ack, sizeof ack, out, sizeof out);
        assert_int_equal(n, 4);
        assert_int_equal(out[2], AMI_SN_READ_ERROR);
        assert_int_equal(out[3], cases[i].dar);
        /* Aborted: even the right number is refused now. */
        ack[3] = 0;
        ack[4] = (uint8_t)(cases[i].valid + 1);
        n = to_server(ack, sizeof ack, out, sizeof out);
        assert_int_equal(out[3], AMI_DAR_NO_LONG_GET_IN_PROGRESS);
    }
    /* block-number-access among other items, and read-data-block-access: data-block-unavailable
     * for those items (requests in blocks are not served). */
    static const uint8_t mixed[] = {0x05, 0x02, 0x02, 0xFA, 0x00, 0x05, 0x00, 0x01};
    n = to_server(mixed, sizeof mixed, out, sizeof out);
    assert_int_equal(out[1], 2);
    assert_int_equal(out[2], AMI_SN_READ_DATA);
    assert_int_equal(out[n - 2], AMI_SN_READ_ERROR);
    assert_int_equal(out[n - 1], AMI_DAR_DATA_BLOCK_UNAVAILABLE);
    static const uint8_t rdba[] = {0x05, 0x01, 0x06, 0x01, 0x00, 0x01, 0x02, 0x02, 0x00};
    n = to_server(rdba, sizeof rdba, out, sizeof out);
    assert_int_equal(n, 4);
    assert_int_equal(out[3], AMI_DAR_DATA_BLOCK_UNAVAILABLE);
    /* The association still serves a whole transfer. */
    ami_sn_access it = {.kind = AMI_SN_VARIABLE_NAME, .name = AMI_DLMS_SN_FIRST_BASE + 8};
    ami_dlms_result res;
    assert_int_equal(sn_read(&it, 1, &res), AMI_OK);
    expect_big(&res);
}

/* Feeds one response to the client; out receives what it asks to send. */
static int to_client(const uint8_t *apdu, size_t len, uint8_t *out, size_t cap, size_t *out_len,
                     ami_dlms_result *res)
{
    ami_wr w;
    ami_wr_init(&w, out, cap);
    int rc = ami_dlms_client_input(&fx.cli, apdu, len, &w, res);
    *out_len = w.len;
    return rc;
}

/* Starts a one-item (or two-item) Read on the client, nothing sent anywhere. */
static void client_read(uint32_t n)
{
    ami_sn_access it[2] = {{.kind = AMI_SN_VARIABLE_NAME, .name = 0x1008},
                           {.kind = AMI_SN_VARIABLE_NAME, .name = 0x1010}};
    uint8_t buf[64];
    ami_wr w;
    ami_wr_init(&w, buf, sizeof buf);
    assert_int_equal(ami_dlms_client_read(&fx.cli, it, n, &w), AMI_OK);
}

/* Hostile block sequences at the client: a first block other than 1, a lost, repeated or
 * out-of-order block, an empty block that is not the last, blocks for a two-item Read, raw
 * data that is not one Data, a transfer that never ends (bounded by the data buffer); an error
 * in place of a block ends the Read with that outcome. */
static void test_sn_read_blocks_client_hostile(void **state)
{
    (void)state;
    fx_setup(1, 256);
    no_gbt = true;
    connect(32, AMI_ACSE_CONTEXT_SN, 64, 1, false);
    no_gbt = false;
    uint8_t out[64];
    size_t ol;
    ami_dlms_result res;
    /* 0C 01 02 last bn(2) len raw: block 1 of an octet-string 09 04 'abcd' split in two. */
    uint8_t b1[] = {0x0C, 0x01, 0x02, 0x00, 0x00, 0x01, 0x03, 0x09, 0x04, 'a'};
    uint8_t b2[] = {0x0C, 0x01, 0x02, 0x01, 0x00, 0x02, 0x03, 'b', 'c', 'd'};
    /* The good sequence: block 1 acknowledged with block-number-access 1, then the Data. */
    client_read(1);
    assert_int_equal(to_client(b1, sizeof b1, out, sizeof out, &ol, &res), AMI_E_AGAIN);
    static const uint8_t ack1[] = {0x05, 0x01, 0x05, 0x00, 0x01};
    assert_int_equal(ol, sizeof ack1);
    assert_memory_equal(out, ack1, sizeof ack1);
    assert_int_equal(to_client(b2, sizeof b2, out, sizeof out, &ol, &res), AMI_OK);
    assert_int_equal(res.outcome, AMI_DLMS_SUCCESS);
    assert_int_equal(res.blocks, 2);
    assert_int_equal(res.data.len, 6);
    assert_memory_equal(res.data.p,
                        "\x09\x04"
                        "abcd",
                        6);
    /* First block numbered 2 (block 1 lost). */
    client_read(1);
    assert_int_equal(to_client(b2, sizeof b2, out, sizeof out, &ol, &res), AMI_E_PROTOCOL);
    assert_int_equal(ami_dlms_client_state_get(&fx.cli), AMI_DLMS_CLIENT_READY);
    /* Block 1 repeated. */
    client_read(1);
    assert_int_equal(to_client(b1, sizeof b1, out, sizeof out, &ol, &res), AMI_E_AGAIN);
    assert_int_equal(to_client(b1, sizeof b1, out, sizeof out, &ol, &res), AMI_E_PROTOCOL);
    /* Out of order: block 3 after block 1. */
    client_read(1);
    assert_int_equal(to_client(b1, sizeof b1, out, sizeof out, &ol, &res), AMI_E_AGAIN);
    b2[5] = 3;
    assert_int_equal(to_client(b2, sizeof b2, out, sizeof out, &ol, &res), AMI_E_PROTOCOL);
    b2[5] = 2;
    /* An empty block that is not the last. */
    static const uint8_t empty[] = {0x0C, 0x01, 0x02, 0x00, 0x00, 0x01, 0x00};
    client_read(1);
    assert_int_equal(to_client(empty, sizeof empty, out, sizeof out, &ol, &res), AMI_E_PROTOCOL);
    /* Blocks for a two-item Read. */
    client_read(2);
    assert_int_equal(to_client(b1, sizeof b1, out, sizeof out, &ol, &res), AMI_E_PROTOCOL);
    /* Raw data that is not one Data (truncated, then trailing bytes). */
    static const uint8_t cut[] = {0x0C, 0x01, 0x02, 0x01, 0x00, 0x01, 0x02, 0x09, 0x04};
    client_read(1);
    assert_true(to_client(cut, sizeof cut, out, sizeof out, &ol, &res) < 0);
    static const uint8_t trail[] = {0x0C, 0x01, 0x02, 0x01, 0x00, 0x01, 0x03, 0x11, 0x01, 0x00};
    client_read(1);
    assert_int_equal(to_client(trail, sizeof trail, out, sizeof out, &ol, &res), AMI_E_MALFORMED);
    /* A plain Data in the middle of a transfer. */
    static const uint8_t plain[] = {0x0C, 0x01, 0x00, 0x11, 0x01};
    client_read(1);
    assert_int_equal(to_client(b1, sizeof b1, out, sizeof out, &ol, &res), AMI_E_AGAIN);
    assert_int_equal(to_client(plain, sizeof plain, out, sizeof out, &ol, &res), AMI_E_PROTOCOL);
    /* A data-access-error in place of block 2 ends the Read with it. */
    static const uint8_t err[] = {0x0C, 0x01, 0x01, AMI_DAR_DATA_BLOCK_NUMBER_INVALID};
    client_read(1);
    assert_int_equal(to_client(b1, sizeof b1, out, sizeof out, &ol, &res), AMI_E_AGAIN);
    assert_int_equal(to_client(err, sizeof err, out, sizeof out, &ol, &res), AMI_OK);
    assert_int_equal(res.outcome, AMI_DLMS_DATA_ACCESS_RESULT);
    assert_int_equal(res.dar, AMI_DAR_DATA_BLOCK_NUMBER_INVALID);
    assert_int_equal(res.blocks, 1);
    /* Last block never comes: the data buffer bounds the reassembly. */
    static uint8_t endless[7 + 100];
    memcpy(endless, "\x0C\x01\x02\x00\x00\x00\x64", 7);
    memset(endless + 7, 0x11, 100);
    client_read(1);
    int rc = AMI_E_AGAIN;
    uint16_t bn = 0;
    while (rc == AMI_E_AGAIN) {
        bn++;
        assert_true(bn < 100);
        endless[4] = (uint8_t)(bn >> 8);
        endless[5] = (uint8_t)bn;
        rc = to_client(endless, sizeof endless, out, sizeof out, &ol, &res);
    }
    assert_int_equal(rc, AMI_E_TOO_LARGE);
    assert_int_equal(bn, sizeof fx.data / 100 + 1);
    assert_int_equal(ami_dlms_client_state_get(&fx.cli), AMI_DLMS_CLIENT_READY);
}

/* The resolver: names between attributes, past the methods, and Association SN methods. */
static void test_sn_resolve(void **state)
{
    (void)state;
    fx_setup(1, 256);
    ami_dlms_ctx ctx = {.context = AMI_ACSE_CONTEXT_SN};
    ami_dlms_sn_target t;
    assert_true(ami_dlms_sn_resolve(&fx.srv, &ctx, AMI_DLMS_SN_FIRST_BASE + 8, &t));
    assert_false(t.method);
    assert_int_equal(t.id, 2);
    assert_false(ami_dlms_sn_resolve(&fx.srv, &ctx, AMI_DLMS_SN_FIRST_BASE + 3, &t));
    uint16_t reg = AMI_DLMS_SN_FIRST_BASE + 16;
    assert_true(ami_dlms_sn_resolve(&fx.srv, &ctx, (uint16_t)(reg + 0x28), &t));
    assert_true(t.method);
    assert_int_equal(t.id, 1);
    assert_int_equal(t.object.class_id, 3);
    assert_true(ami_dlms_sn_resolve(&fx.srv, &ctx, (uint16_t)(reg + 0x30), &t));
    assert_int_equal(t.object.class_id, 1); /* the next object */
    assert_false(ami_dlms_sn_resolve(&fx.srv, &ctx, 0x0008, &t));
    assert_true(ami_dlms_sn_resolve(&fx.srv, &ctx, 0xFA08, &t));
    assert_false(ami_dlms_sn_resolve(&fx.srv, &ctx, 0xFA10, &t));
    assert_false(ami_dlms_sn_resolve(&fx.srv, &ctx, 0xF000, &t));
}

/* ---------------------------------------------------------------- attribute 0 */

static void test_attribute0(void **state)
{
    (void)state;
    fx_setup(1, 1024);
    connect(16, AMI_ACSE_CONTEXT_LN, 1024, 1, false);
    ami_attr_sel s = {{3, {{1, 0, 1, 8, 0, 255}}, 0}, {false, 0, {NULL, 0}}};
    faults f = {0};
    ami_dlms_result res;
    assert_int_equal(get(&f, &s, &res), AMI_OK);
    assert_true(res.has_data);
    static const uint8_t want[] = {0x02, 0x03, 0x09, 0x06, 1,    0,    1,    8,    0,    255, 0x06,
                                   0x00, 0x01, 0xE2, 0x40, 0x02, 0x02, 0x0F, 0x00, 0x16, 0x1E};
    assert_int_equal(res.data.len, sizeof want);
    assert_memory_equal(res.data.p, want, sizeof want);
    /* Without attribute0-supported-with-get: object-undefined. */
    fx.pol[0].conformance &= ~(uint32_t)AMI_CONF_ATTRIBUTE0_WITH_GET;
    connect(16, AMI_ACSE_CONTEXT_LN, 1024, 1, false);
    assert_int_equal(get(&f, &s, &res), AMI_OK);
    assert_int_equal(res.outcome, AMI_DLMS_DATA_ACCESS_RESULT);
    assert_int_equal(res.dar, AMI_DAR_OBJECT_UNDEFINED);
}

/* ---------------------------------------------------------------- long ACTION */

/* Return data longer than the client's PDU goes out with-pblock (no GBT agreed) and is
 * collected by the client with next-pblock. */
static void test_action_long_return(void **state)
{
    (void)state;
    fx_setup(1, 1024);
    no_gbt = true;
    connect(16, AMI_ACSE_CONTEXT_LN, 100, 1, false);
    no_gbt = false;
    ami_cosem_desc m = {3, {{1, 0, 99, 8, 0, 255}}, 1};
    static const uint8_t p[] = {AMI_AXDR_INTEGER, 0};
    ami_view pv = ami_view_of(p, 2);
    uint8_t buf[128];
    ami_wr w;
    ami_wr_init(&w, buf, sizeof buf);
    assert_int_equal(ami_dlms_client_action(&fx.cli, &m, &pv, &w), AMI_OK);
    faults f = {0};
    ami_dlms_result res;
    assert_int_equal(run(&f, buf, w.len, &res), AMI_OK);
    expect_big(&res);
    assert_int_equal(res.blocks, 8); /* 671 bytes in blocks of 92 */
    assert_int_equal(f.n_c2s, 8);
}

/* ACTION-Request-With-List-And-First-Pblock, continued with-pblock: the parameter list in 3
 * blocks, each method's return data in the with-list response. */
static void test_action_with_list_and_first_pblock(void **state)
{
    (void)state;
    fx_setup(1, 1024);
    connect(16, AMI_ACSE_CONTEXT_LN, 1024, 1, false);
    ami_cosem_desc list[2] = {{3, {{1, 0, 1, 8, 0, 255}}, 1}, {3, {{1, 0, 1, 8, 0, 255}}, 1}};
    /* The raw data: the counted method-invocation-parameters, two Data. */
    static const uint8_t raw[] = {0x02, 0x0F, 0x07, 0x09, 0x03, 'a', 'b', 'c'};
    uint8_t buf[256], out[256];
    const size_t cut[4] = {0, 3, 6, sizeof raw};
    for (uint32_t i = 0; i < 3; i++) {
        ami_apdu q;
        memset(&q, 0, sizeof q);
        q.tag = AMI_APDU_ACTION_REQUEST;
        q.u.action_request.iip = 0xC5;
        q.u.action_request.type =
            i == 0 ? AMI_ACTION_WITH_LIST_AND_FIRST_PBLOCK : AMI_ACTION_WITH_PBLOCK;
        q.u.action_request.list = list;
        q.u.action_request.count = 2;
        q.u.action_request.block =
            (ami_datablock){i == 2, i + 1, ami_view_of(raw + cut[i], cut[i + 1] - cut[i])};
        ami_wr w;
        ami_wr_init(&w, buf, sizeof buf);
        assert_int_equal(ami_apdu_encode(&w, &q), AMI_OK);
        int n = ami_dlms_assoc_handle(&fx.assoc, buf, w.len, out, sizeof out);
        assert_true(n > 0);
        if (i < 2) {
            /* ACTION-Response-Next-Pblock for block i + 1. */
            static const uint8_t next[] = {0xC7, 0x04, 0xC5, 0, 0, 0};
            assert_int_equal(n, 7);
            assert_memory_equal(out, next, 6);
            assert_int_equal(out[6], i + 1);
        } else {
            static const uint8_t want[] = {0xC7, 0x03, 0xC5, 0x02, 0x00, 0x01, 0x00, 0x0F, 0x07,
                                           0x00, 0x01, 0x00, 0x09, 0x03, 'a',  'b',  'c'};
            assert_int_equal(n, sizeof want);
            assert_memory_equal(out, want, sizeof want);
        }
    }
    /* A pblock with a wrong number aborts it; next-pblock with nothing in progress refused. */
    static const uint8_t stray[] = {0xC3, 0x02, 0xC5, 0x00, 0x00, 0x00, 0x01};
    int n = ami_dlms_assoc_handle(&fx.assoc, stray, sizeof stray, out, sizeof out);
    assert_int_equal(n, 5);
    assert_int_equal(out[3], AMI_ACTION_NO_LONG_ACTION_IN_PROGRESS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gbt_windows),
        cmocka_unit_test(test_gbt_long_response_to_plain_request),
        cmocka_unit_test(test_gbt_lost_and_duplicated_blocks),
        cmocka_unit_test(test_gbt_long_request),
        cmocka_unit_test(test_gbt_not_negotiated),
        cmocka_unit_test(test_gbt_server_hostile),
        cmocka_unit_test(test_sn_services),
        cmocka_unit_test(test_sn_read_blocks),
        cmocka_unit_test(test_sn_read_blocks_server_hostile),
        cmocka_unit_test(test_sn_read_blocks_client_hostile),
        cmocka_unit_test(test_sn_resolve),
        cmocka_unit_test(test_attribute0),
        cmocka_unit_test(test_action_long_return),
        cmocka_unit_test(test_action_with_list_and_first_pblock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
