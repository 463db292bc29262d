/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for shim/shim-settings.c and shim_parse_size() (shim/shim-util.c): the MEMLOCK_*
 * environment contract, MEMLOCK_PREFAULT_MMAP in particular. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shim/shim-mmap.h"
#include "shim/shim-settings.h"
#include "shim/shim-util.h"

static void test_parse_size(void **state) {
        uint64_t v = 7;

        assert_int_equal(shim_parse_size("0", UINT64_MAX, &v), 0);
        assert_true(v == 0);
        assert_int_equal(shim_parse_size("4096", UINT64_MAX, &v), 0);
        assert_true(v == 4096);
        assert_int_equal(shim_parse_size("1K", UINT64_MAX, &v), 0);
        assert_true(v == 1024);
        assert_int_equal(shim_parse_size("64M", UINT64_MAX, &v), 0);
        assert_true(v == 64ull << 20);
        assert_int_equal(shim_parse_size("3G", UINT64_MAX, &v), 0);
        assert_true(v == 3ull << 30);
        assert_int_equal(shim_parse_size("2T", UINT64_MAX, &v), 0);
        assert_true(v == 2ull << 40);
        v = 7;
        assert_int_equal(shim_parse_size("", UINT64_MAX, &v), -EINVAL);
        assert_int_equal(shim_parse_size("M", UINT64_MAX, &v), -EINVAL);
        assert_int_equal(shim_parse_size("12X", UINT64_MAX, &v), -EINVAL);
        assert_int_equal(shim_parse_size("1.5G", UINT64_MAX, &v), -EINVAL);
        assert_int_equal(shim_parse_size("-1M", UINT64_MAX, &v), -EINVAL);
        assert_int_equal(shim_parse_size("64m", UINT64_MAX, &v), -EINVAL);
        assert_int_equal(shim_parse_size(NULL, UINT64_MAX, &v), -EINVAL);
        /* The limit applies to the value, suffix included. */
        assert_int_equal(shim_parse_size("2G", 1ull << 30, &v), -ERANGE);
        assert_int_equal(shim_parse_size("16777216T", UINT64_MAX, &v), -ERANGE);
        assert_int_equal(shim_parse_size("99999999999999999999999", UINT64_MAX, &v), -ERANGE);
        assert_true(v == 7); /* untouched on failure */
}

static void clear_env(void) {
        static const char *const names[] = {
                "MEMLOCK_MODE",          "MEMLOCK_PREFAULT_THREADS", "MEMLOCK_THP",
                "MEMLOCK_PREFAULT_MMAP", "MEMLOCK_INHERIT",          "MEMLOCK_ON_FAILURE",
                "MEMLOCK_VERBOSE",       "MEMLOCK_REPORT_FD",
        };
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                unsetenv(names[i]);
}

static void test_prefault_mmap(void **state) {
        ShimSettings s;
        const char *bad = NULL;

        clear_env();
        assert_int_equal(shim_settings_from_env(&s, &bad), 0);
        assert_true(s.prefault_mmap == SHIM_MMAP_MIN_DEFAULT);
        assert_true(s.prefault_mmap == 64ull << 20);

        setenv("MEMLOCK_PREFAULT_MMAP", "off", 1);
        assert_int_equal(shim_settings_from_env(&s, &bad), 0);
        assert_true(s.prefault_mmap == 0);
        setenv("MEMLOCK_PREFAULT_MMAP", "0", 1);
        assert_int_equal(shim_settings_from_env(&s, &bad), 0);
        assert_true(s.prefault_mmap == 0);
        setenv("MEMLOCK_PREFAULT_MMAP", "1G", 1);
        assert_int_equal(shim_settings_from_env(&s, &bad), 0);
        assert_true(s.prefault_mmap == 1ull << 30);

        /* A bad value is a config error naming the variable; the field keeps its default and
         * the other settings are still read. */
        setenv("MEMLOCK_PREFAULT_MMAP", "lots", 1);
        setenv("MEMLOCK_ON_FAILURE", "continue", 1);
        assert_int_equal(shim_settings_from_env(&s, &bad), -EINVAL);
        assert_string_equal(bad, "MEMLOCK_PREFAULT_MMAP");
        assert_true(s.prefault_mmap == SHIM_MMAP_MIN_DEFAULT);
        assert_false(s.abort_on_failure);
        clear_env();
}

static void test_unset_env(void **state) {
        clear_env();
        setenv("MEMLOCK_PREFAULT_MMAP", "128M", 1);
        setenv("MEMLOCK_REPORT_FD", "10", 1);
        /* Inherited settings stay for an exec'd program's shim, the report fd does not. */
        shim_settings_unset_env(true);
        assert_string_equal(getenv("MEMLOCK_PREFAULT_MMAP"), "128M");
        assert_null(getenv("MEMLOCK_REPORT_FD"));
        shim_settings_unset_env(false);
        assert_null(getenv("MEMLOCK_PREFAULT_MMAP"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_size),
                cmocka_unit_test(test_prefault_mmap),
                cmocka_unit_test(test_unset_env),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
