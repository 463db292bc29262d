/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for prefault_range() (shim/prefault.c): a range, anonymous or shared memory, is
 * populated by the threads asked for, every page of it, and nothing outside it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "shim/prefault.h"

#define SIZE (40u << 20) /* not a multiple of the 4 MiB pieces once offset below */

static size_t resident_pages(void *p, size_t n) {
        size_t ps = (size_t) sysconf(_SC_PAGESIZE), pages = n / ps, r = 0;
        unsigned char *vec = malloc(pages);

        assert_non_null(vec);
        assert_int_equal(mincore(p, n, vec), 0);
        for (size_t i = 0; i < pages; i++)
                r += vec[i] & 1;
        free(vec);
        return r;
}

static void test_anonymous(void **state) {
        size_t ps = (size_t) sysconf(_SC_PAGESIZE);
        char *p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        PrefaultStats st = {};

        assert_true(p != MAP_FAILED);
        /* An unaligned start and length: pieces are cut on 2 MiB boundaries but stay inside. */
        char *start = p + 3 * ps;
        size_t len = SIZE - 8 * ps;
        assert_int_equal(prefault_range(start, len, 2, true, true, &st), 0);
        assert_int_equal(st.threads, 2);
        assert_true(st.bytes == len);
        assert_int_equal(st.error, 0);
        assert_int_equal(resident_pages(start, len), len / ps);
        assert_int_equal(resident_pages(p, 3 * ps), 0);
        assert_int_equal(resident_pages(start + len, 5 * ps), 0);
        munmap(p, SIZE);
}

static void test_shared_read(void **state) {
        size_t ps = (size_t) sysconf(_SC_PAGESIZE);
        int fd = memfd_create("test-prefault", MFD_CLOEXEC);
        PrefaultStats st = {};
        char *p;

        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, SIZE), 0);
        p = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, fd, 0);
        assert_true(p != MAP_FAILED);
        /* Read-only shared memory: MADV_POPULATE_READ; shmem allocates on a read fault. */
        assert_int_equal(prefault_range(p, SIZE, PREFAULT_THREADS_AUTO, false, false, &st), 0);
        assert_true(st.threads >= 1);
        assert_int_equal(st.error, 0);
        assert_int_equal(resident_pages(p, SIZE), SIZE / ps);
        munmap(p, SIZE);
        close(fd);
}

static void test_errors(void **state) {
        PrefaultStats st = {};
        char *p = mmap(NULL, 4u << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

        assert_int_equal(prefault_range(p, 0, 2, true, true, &st), -EINVAL);
        /* PROT_NONE cannot be populated: the error lands in the stats, not in a crash. */
        assert_int_equal(prefault_range(p, 4u << 20, 2, true, true, &st), 0);
        assert_int_not_equal(st.error, 0);
        munmap(p, 4u << 20);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_anonymous),
                cmocka_unit_test(test_shared_read),
                cmocka_unit_test(test_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
