/* check_spool.c -- the spool: order, torn tails, the cap, restarts. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sbuf.h"
#include "spool.h"
#include "testutil.h"

static void put(struct spool *sp, unsigned i, size_t pad)
{
    char buf[512];

    ck_assert_uint_lt(pad, sizeof(buf) - 16);
    memset(buf, 'x', sizeof(buf));
    snprintf(buf, 16, "rec %u", i);
    ck_assert_int_eq(spool_append(sp, buf, 16 + pad, NULL), PW_OK);
}

/* The number in each record, in file order, into <out>; returns count. */
static size_t numbers(struct spool *sp, unsigned *out, size_t max)
{
    struct sbuf b = SBUF_INIT;
    uint64_t pos = 0;
    size_t n = 0;

    while (spool_read(sp, &pos, &b)) {
        ck_assert_uint_lt(n, max);
        ck_assert_int_eq(sscanf(b.buf, "rec %u", &out[n]), 1);
        n++;
    }
    sbuf_release(&b);
    return n;
}

START_TEST(test_spool_order_and_restart)
{
    const char *dir = tu_mkdir("order");
    struct spool *sp = spool_open(dir, "s", 0, NULL);
    unsigned got[64];
    size_t i, n;

    ck_assert_ptr_nonnull(sp);
    for (i = 0; i < 40; i++)
        put(sp, (unsigned)i, i);
    ck_assert_int_eq(spool_dirty(sp), 1);
    ck_assert_int_eq(spool_sync(sp, NULL), PW_OK);
    ck_assert_int_eq(spool_dirty(sp), 0);
    spool_close(sp);

    sp = spool_open(dir, "s", 0, NULL);
    ck_assert_uint_eq(spool_records(sp), 40);
    ck_assert_uint_eq(spool_torn(sp), 0);
    n = numbers(sp, got, 64);
    ck_assert_uint_eq(n, 40);
    for (i = 0; i < n; i++)
        ck_assert_uint_eq(got[i], i);
    ck_assert_int_eq(spool_truncate(sp, NULL), PW_OK);
    ck_assert_uint_eq(spool_records(sp), 0);
    ck_assert_uint_eq(numbers(sp, got, 64), 0);
    spool_close(sp);
}
END_TEST

START_TEST(test_spool_torn_tail)
{
    const char *dir = tu_mkdir("torn");
    struct spool *sp = spool_open(dir, "s", 0, NULL);
    char path[512];
    /* A header promising 100 bytes, followed by 10: a crash mid-write. */
    const unsigned char torn[18] = { 100, 0, 0, 0, 1, 2, 3, 4, 'r', 'e',
                                     'c', ' ', '9', '9', 0, 0, 0, 0 };
    unsigned got[8];
    int fd;

    put(sp, 0, 0);
    put(sp, 1, 3);
    put(sp, 2, 5);
    spool_close(sp);
    snprintf(path, sizeof(path), "%s/s", dir);
    fd = open(path, O_WRONLY | O_APPEND);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, torn, sizeof(torn)), (int)sizeof(torn));
    close(fd);

    sp = spool_open(dir, "s", 0, NULL);
    ck_assert_uint_eq(spool_torn(sp), 1);
    ck_assert_uint_eq(spool_records(sp), 3);
    /* Appends after the cut are read back too. */
    put(sp, 3, 0);
    ck_assert_uint_eq(numbers(sp, got, 8), 4);
    ck_assert_uint_eq(got[0], 0);
    ck_assert_uint_eq(got[3], 3);
    spool_close(sp);

    /* A flipped byte inside the last record fails its checksum. */
    fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, "Z", 1, lseek(fd, 0, SEEK_END) - 1), 1);
    close(fd);
    sp = spool_open(dir, "s", 0, NULL);
    ck_assert_uint_eq(spool_torn(sp), 1);
    ck_assert_uint_eq(numbers(sp, got, 8), 3);
    spool_close(sp);
}
END_TEST

START_TEST(test_spool_cap_drops_oldest)
{
    const char *dir = tu_mkdir("cap");
    struct spool *sp = spool_open(dir, "s", 4096, NULL);
    unsigned got[200];
    size_t n, i;

    for (i = 0; i < 200; i++) {
        put(sp, (unsigned)i, 84); /* 108 bytes framed */
        ck_assert_uint_le(spool_bytes(sp), 4096);
    }
    ck_assert_uint_gt(spool_dropped(sp), 0);
    n = numbers(sp, got, 200);
    ck_assert_uint_eq(n, spool_records(sp));
    ck_assert_uint_eq(n + spool_dropped(sp), 200);
    /* What is left is the newest, still in order. */
    for (i = 0; i < n; i++)
        ck_assert_uint_eq(got[i], 200 - n + i);
    /* A record that cannot fit at all is refused, nothing dropped. */
    {
        char big[4000] = { 0 };
        uint64_t before = spool_records(sp);

        ck_assert_int_eq(spool_append(sp, big, sizeof(big), NULL),
                         PW_ERR_TOOBIG);
        ck_assert_uint_eq(spool_records(sp), before);
    }
    spool_close(sp);
}
END_TEST

START_TEST(test_spool_prepend)
{
    const char *dir = tu_mkdir("prepend");
    struct spool *sp = spool_open(dir, "s", 0, NULL);
    struct sbuf front[2] = { SBUF_INIT, SBUF_INIT };
    unsigned long gen = spool_generation(sp);
    unsigned got[8];

    put(sp, 2, 0);
    put(sp, 3, 0);
    sbuf_adds(&front[0], "rec 0");
    sbuf_adds(&front[1], "rec 1");
    ck_assert_int_eq(spool_prepend(sp, front, 2, NULL), PW_OK);
    ck_assert_uint_ne(spool_generation(sp), gen);
    ck_assert_uint_eq(numbers(sp, got, 8), 4);
    ck_assert_uint_eq(got[0], 0);
    ck_assert_uint_eq(got[1], 1);
    ck_assert_uint_eq(got[2], 2);
    ck_assert_uint_eq(got[3], 3);
    sbuf_release(&front[0]);
    sbuf_release(&front[1]);
    spool_close(sp);
}
END_TEST

/* One process a spool: a second opener -- here in a child, as another
 * daemon with the same state_dir would be -- is refused while the first
 * holds it, and welcome after. */
START_TEST(test_spool_one_user)
{
    const char *dir = tu_mkdir("lock");
    struct spool *sp = spool_open(dir, "s", 0, NULL);
    pid_t pid;
    int status;

    ck_assert_ptr_nonnull(sp);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct pw_err err = { PW_OK, "" };
        struct spool *other = spool_open(dir, "s", 0, &err);

        _exit(other == NULL && err.code == PW_ERR_BUSY &&
                      strstr(err.msg, "in use by another process")
                  ? 0
                  : 1);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    spool_close(sp);
    sp = spool_open(dir, "s", 0, NULL);
    ck_assert_ptr_nonnull(sp);
    spool_close(sp);
}
END_TEST

static Suite *spool_suite(void)
{
    Suite *s = suite_create("spool");
    TCase *tc = tcase_create("file");

    tcase_add_test(tc, test_spool_order_and_restart);
    tcase_add_test(tc, test_spool_torn_tail);
    tcase_add_test(tc, test_spool_cap_drops_oldest);
    tcase_add_test(tc, test_spool_prepend);
    tcase_add_test(tc, test_spool_one_user);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pw_run_suite(spool_suite());
}
