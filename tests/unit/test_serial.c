/*
 * src/io/serial.c over a real pseudo-terminal pair: pty detection, software 7E1 parity on the
 * wire (generated, checked, stripped), the echo drop of half-duplex probes, baud switching and
 * read timeouts.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "ami/error.h"
#include "io/serial.h"

struct pair {
    int master;
    char path[64];
    ami_serial *slave;
};

static void open_pair(struct pair *p, bool drop_echo)
{
    assert_int_equal(ami_pty_open(&p->master, p->path, sizeof p->path), AMI_OK);
    ami_serial_opts o = {.baud = 300, .format = AMI_SERIAL_7E1, .drop_echo = drop_echo};
    assert_int_equal(ami_serial_open(&p->slave, p->path, &o), AMI_OK);
    assert_true(ami_serial_is_pty(p->slave));
    assert_true(ami_serial_soft_parity(p->slave));
    assert_int_equal(ami_serial_baud(p->slave), 300);
}

static void close_pair(struct pair *p)
{
    ami_serial_close(p->slave);
    close(p->master);
}

/* Reads exactly n raw bytes from the master (polling, bounded). */
static void master_read(int fd, uint8_t *buf, size_t n)
{
    size_t got = 0;
    for (int i = 0; i < 2000 && got < n; i++) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r > 0)
            got += (size_t)r;
        else
            usleep(1000);
    }
    assert_int_equal(got, n);
}

static void test_parity_table(void **state)
{
    (void)state;
    /* even parity over the 7 data bits, in bit 7 */
    assert_int_equal(ami_serial_parity7e('/'), 0xAF); /* 0x2F: five ones */
    assert_int_equal(ami_serial_parity7e('?'), 0x3F); /* six ones */
    assert_int_equal(ami_serial_parity7e('\r'), 0x8D);
    assert_int_equal(ami_serial_parity7e('\n'), 0x0A);
    assert_int_equal(ami_serial_parity7e(0x06), 0x06);
    assert_int_equal(ami_serial_parity7e(0xFF), 0xFF); /* 0x7F: seven ones */
}

static void test_soft_parity_on_the_wire(void **state)
{
    (void)state;
    struct pair p;
    open_pair(&p, false);
    assert_int_equal(ami_serial_write(p.slave, "/?!\r\n", 5), AMI_OK);
    uint8_t wire[5];
    master_read(p.master, wire, 5);
    static const uint8_t want[] = {0xAF, 0x3F, 0x21, 0x8D, 0x0A};
    assert_memory_equal(wire, want, 5);
    /* the other way: parity stripped; a byte with a wrong parity dropped and counted */
    static const uint8_t in[] = {0xAF, 0x41 | 0x80, 0x41, 0x8D, 0x0A};
    assert_int_equal(write(p.master, in, sizeof in), (ssize_t)sizeof in);
    uint8_t buf[16];
    size_t got = 0;
    for (int i = 0; i < 10 && got < 4; i++) {
        int n = ami_serial_read(p.slave, buf + got, sizeof buf - got, 1000);
        assert_true(n >= 0);
        got += (size_t)n;
    }
    assert_int_equal(got, 4);
    assert_memory_equal(buf, "/A\r\n", 4);
    assert_int_equal(ami_serial_parity_errors(p.slave), 1);
    close_pair(&p);
}

static void test_echo_drop_and_timeout(void **state)
{
    (void)state;
    struct pair p;
    open_pair(&p, true);
    assert_int_equal(ami_serial_write(p.slave, "/?!\r\n", 5), AMI_OK);
    uint8_t wire[5];
    master_read(p.master, wire, 5);
    /* the probe echoes what we sent, then the meter answers */
    assert_int_equal(write(p.master, wire, 5), 5);
    static const uint8_t ans[] = {0xAF, 0x41, 0x42, 0xC3};
    assert_int_equal(write(p.master, ans, sizeof ans), (ssize_t)sizeof ans);
    uint8_t buf[16];
    size_t got = 0;
    for (int i = 0; i < 10 && got < 4; i++) {
        int n = ami_serial_read(p.slave, buf + got, sizeof buf - got, 1000);
        assert_true(n >= 0);
        got += (size_t)n;
    }
    assert_int_equal(got, 4);
    assert_memory_equal(buf, "/ABC", 4);
    /* nothing more: a zero timeout returns 0 */
    assert_int_equal(ami_serial_read(p.slave, buf, sizeof buf, 0), 0);
    /* baud switch and format change keep the port usable */
    assert_int_equal(ami_serial_set(p.slave, 9600, AMI_SERIAL_7E1), AMI_OK);
    assert_int_equal(ami_serial_baud(p.slave), 9600);
    assert_int_equal(ami_serial_set(p.slave, 19200, AMI_SERIAL_8N1), AMI_OK);
    assert_false(ami_serial_soft_parity(p.slave)); /* 8N1: bytes pass unchanged */
    assert_int_equal(ami_serial_write(p.slave, "\x7E\xA0", 2), AMI_OK);
    master_read(p.master, wire, 2);
    assert_memory_equal(wire, "\x7E\xA0", 2);
    assert_int_equal(ami_serial_set(p.slave, 12345, AMI_SERIAL_8N1), AMI_E_UNSUPPORTED);
    close_pair(&p);
}

static void test_closed_peer_and_bad_path(void **state)
{
    (void)state;
    struct pair p;
    open_pair(&p, false);
    close(p.master);
    uint8_t buf[4];
    int n = ami_serial_read(p.slave, buf, sizeof buf, 1000);
    assert_true(n == AMI_E_CLOSED || n == AMI_E_IO);
    ami_serial_close(p.slave);
    ami_serial *s;
    ami_serial_opts o = {.baud = 300};
    assert_int_equal(ami_serial_open(&s, "/nonexistent/tty", &o), AMI_E_IO);
    assert_int_equal(ami_serial_open(&s, "/dev/null", &o), AMI_E_IO); /* not a tty */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parity_table),
        cmocka_unit_test(test_soft_parity_on_the_wire),
        cmocka_unit_test(test_echo_drop_and_timeout),
        cmocka_unit_test(test_closed_peer_and_bad_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
