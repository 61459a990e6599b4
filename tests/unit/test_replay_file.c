/*
 * File-backed replay-guard persistence (src/io/replay_file.c): counters survive a restart,
 * a replayed frame after the restart is refused, corrupt files are refused, the write
 * interval is honoured, and the file is replaced atomically.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "ami/ami.h"
#include "io/replay_file.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/ami_replay_XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof path, "%s/p1.state", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char tmp[160];
    unlink(path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    unlink(tmp);
    rmdir(dir);
    return 0;
}

static void write_text(const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *read_text(void)
{
    size_t n;
    return (char *)tu_read_file(path, &n);
}

static const uint8_t st_a[8] = {0x53, 0x41, 0x47, 0x67, 0x70, 0x01, 0xBD, 0x54};
static const uint8_t st_b[8] = {0x4B, 0x46, 0x4D, 0x67, 0x50, 0x00, 0x00, 0x09};

static void test_restart(void **state)
{
    (void)state;
    ami_replay_file f;
    ami_replay_store store;
    ami_replay_entry slots[4];
    ami_replay r;
    assert_int_equal(ami_replay_file_open(&f, path), AMI_OK); /* no file yet: empty */
    ami_replay_file_store(&f, &store);
    assert_int_equal(ami_replay_init(&r, slots, 4, &store), AMI_OK);
    assert_int_equal(ami_replay_accept(&r, st_a, 0x0005A8E3), AMI_OK);
    assert_int_equal(ami_replay_accept(&r, st_b, 0x23), AMI_OK);
    char *text = read_text();
    assert_non_null(strstr(text, "534147677001BD54 370915\n"));
    assert_non_null(strstr(text, "4B464D6750000009 35\n"));
    free(text);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);

    /* Restart: a new guard over the same file refuses the old counters. */
    ami_replay_file g;
    assert_int_equal(ami_replay_file_open(&g, path), AMI_OK);
    ami_replay_file_store(&g, &store);
    assert_int_equal(ami_replay_init(&r, slots, 4, &store), AMI_OK);
    assert_int_equal(ami_replay_check(&r, st_a, 0x0005A8E3), AMI_E_REPLAY);
    assert_int_equal(ami_replay_check(&r, st_b, 0x22), AMI_E_REPLAY);
    assert_int_equal(ami_replay_accept(&r, st_b, 0x24), AMI_OK);
    text = read_text();
    assert_non_null(strstr(text, "4B464D6750000009 36\n"));
    free(text);
}

static void test_every(void **state)
{
    (void)state;
    ami_replay_file f;
    ami_replay_store store;
    ami_replay_entry slots[2];
    ami_replay r;
    assert_int_equal(ami_replay_file_open(&f, path), AMI_OK);
    f.every = 10;
    ami_replay_file_store(&f, &store);
    assert_int_equal(ami_replay_init(&r, slots, 2, &store), AMI_OK);
    assert_int_equal(ami_replay_accept(&r, st_a, 100), AMI_OK); /* new meter: written */
    assert_int_equal(ami_replay_accept(&r, st_a, 105), AMI_OK); /* within 10: not written */
    char *text = read_text();
    assert_non_null(strstr(text, " 100\n"));
    free(text);
    assert_int_equal(ami_replay_accept(&r, st_a, 110), AMI_OK);
    text = read_text();
    assert_non_null(strstr(text, " 110\n"));
    free(text);
    assert_int_equal(ami_replay_accept(&r, st_a, 111), AMI_OK);
    assert_int_equal(ami_replay_file_flush(&f), AMI_OK);
    text = read_text();
    assert_non_null(strstr(text, " 111\n"));
    free(text);
}

static void test_bad_files(void **state)
{
    (void)state;
    ami_replay_file f;
    write_text("# comment\n\n534147677001BD54 12\r\n");
    assert_int_equal(ami_replay_file_open(&f, path), AMI_OK);
    assert_int_equal(f.n, 1);
    assert_int_equal(f.e[0].ic, 12);
    static const char *const bad[] = {
        "534147677001BD5 12\n",          /* 15 hex digits */
        "534147677001BD54\n",            /* no counter */
        "534147677001BD54 4294967296\n", /* over 32 bits */
        "534147677001BD54 12x\n",        /* junk */
        "ZZ4147677001BD54 12\n",         /* not hex */
    };
    for (size_t i = 0; i < AMI_COUNTOF(bad); i++) {
        write_text(bad[i]);
        assert_int_equal(ami_replay_file_open(&f, path), AMI_E_SYNTAX);
    }
    char big[AMI_REPLAY_FILE_MAX_BYTES + 10];
    memset(big, '#', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    write_text(big);
    assert_int_equal(ami_replay_file_open(&f, path), AMI_E_TOO_LARGE);
    /* A directory that does not exist cannot be saved to. */
    ami_replay_store store;
    assert_int_equal(ami_replay_file_open(&f, "/nonexistent-dir/p1.state"), AMI_OK);
    ami_replay_file_store(&f, &store);
    assert_int_equal(store.save(store.user, st_a, 1), AMI_E_IO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_files, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
