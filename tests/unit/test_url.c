/*
 * Endpoint URL parsing (src/io/url.c): every form `ami` accepts, and what it refuses.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "testutil.h"
#include "ami/error.h"
#include "io/url.h"

static void test_forms(void **state)
{
    (void)state;
    ami_url u;
    assert_int_equal(ami_url_parse("tcp://127.0.0.1:4059", &u), 0);
    assert_string_equal(u.scheme, "tcp");
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 4059);
    assert_string_equal(u.path, "");

    assert_int_equal(ami_url_parse("HDLC+TCP://meter-7.example:10001", &u), 0);
    assert_string_equal(u.scheme, "hdlc+tcp");
    assert_string_equal(u.host, "meter-7.example");

    assert_int_equal(ami_url_parse("udp://[::1]:4059", &u), 0);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 4059);

    assert_int_equal(ami_url_parse("hdlc:/dev/ttyUSB0?baud=9600&parity=none", &u), 0);
    assert_string_equal(u.scheme, "hdlc");
    assert_string_equal(u.path, "/dev/ttyUSB0");
    assert_int_equal(u.port, -1);
    assert_string_equal(ami_url_param(&u, "baud"), "9600");
    assert_string_equal(ami_url_param(&u, "parity"), "none");
    assert_null(ami_url_param(&u, "stop"));

    assert_int_equal(ami_url_parse("iec21:/dev/ttyUSB0", &u), 0);
    assert_string_equal(u.path, "/dev/ttyUSB0");

    assert_int_equal(ami_url_parse("mqtt://alice:p%40ss%3Aw@broker:1883/home/p1", &u), 0);
    assert_string_equal(u.user, "alice");
    assert_true(u.has_password);
    assert_string_equal(u.password, "p@ss:w");
    assert_string_equal(u.host, "broker");
    assert_string_equal(u.path, "/home/p1");
    ami_url_wipe(&u);
    assert_string_equal(u.password, "");

    assert_int_equal(ami_url_parse("mqtts://broker", &u), 0);
    assert_int_equal(u.port, -1);
    assert_false(u.has_password);
}

static void test_refused(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "tcp",
        "://host",
        "tcp://",
        "tcp://:4059",
        "tcp://h:0",
        "tcp://h:65536",
        "tcp://h:40a9",
        "tcp://h:",
        "tcp://[::1",
        "tcp://[]:1",
        "tcp://[::1]x",
        "tcp://ho st:1",
        "hdlc:dev/tty",
        "hdlc:/dev/tty?baud",
        "mqtt://u:%4@h",
        "mqtt://u:%00@h",
        "mqtt://u:%zz@h",
        "tc p://h:1",
        "hdlc:",
    };
    ami_url u;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = ami_url_parse(bad[i], &u);
        if (rc != AMI_E_SYNTAX)
            fail_msg("'%s' gave %d", bad[i], rc);
    }
    char longhost[400] = "tcp://";
    memset(longhost + 6, 'a', 300);
    assert_int_equal(ami_url_parse(longhost, &u), AMI_E_TOO_LARGE);
    assert_int_equal(ami_url_parse("hdlc:/d?a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9", &u),
                     AMI_E_TOO_LARGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
