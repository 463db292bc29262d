/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for common/parse-util.c: the one size and number parser, and format_bytes(). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/parse-util.h"

static void test_parse_uint64(void **state) {
        uint64_t v = 7;

        assert_int_equal(parse_uint64("0", &v), 0);
        assert_int_equal(v, 0);
        assert_int_equal(parse_uint64("18446744073709551615", &v), 0);
        assert_true(v == UINT64_MAX);
        v = 7;
        assert_int_equal(parse_uint64("18446744073709551616", &v), -ERANGE);
        assert_int_equal(parse_uint64("99999999999999999999999", &v), -ERANGE);
        assert_int_equal(parse_uint64("", &v), -EINVAL);
        assert_int_equal(parse_uint64("-1", &v), -EINVAL);
        assert_int_equal(parse_uint64(" 1", &v), -EINVAL);
        assert_int_equal(parse_uint64("1 ", &v), -EINVAL);
        assert_int_equal(parse_uint64("12abc", &v), -EINVAL);
        assert_int_equal(parse_uint64(NULL, &v), -EINVAL);
        assert_int_equal(v, 7); /* untouched on failure */

        uint32_t w = 3;
        assert_int_equal(parse_uint32("4294967295", &w), 0);
        assert_true(w == UINT32_MAX);
        assert_int_equal(parse_uint32("4294967296", &w), -ERANGE);
}

static void test_parse_size_units(void **state) {
        uint64_t v;
        const char *reason = NULL;

        assert_int_equal(parse_size("4096", 0, &v, &reason), 0);
        assert_int_equal(v, 4096);
        assert_int_equal(parse_size("512K", 0, &v, NULL), 0);
        assert_int_equal(v, 512ULL << 10);
        assert_int_equal(parse_size("512M", 0, &v, NULL), 0);
        assert_int_equal(v, 512ULL << 20);
        assert_int_equal(parse_size("16G", 0, &v, NULL), 0);
        assert_int_equal(v, 16ULL << 30);
        assert_int_equal(parse_size("16GiB", 0, &v, NULL), 0);
        assert_int_equal(v, 16ULL << 30);
        assert_int_equal(parse_size("1.5G", 0, &v, NULL), 0);
        assert_int_equal(v, 3ULL << 29);
        assert_int_equal(parse_size("0.5K", 0, &v, NULL), 0);
        assert_int_equal(v, 512);
        assert_int_equal(parse_size("2T", 0, &v, NULL), 0);
        assert_int_equal(v, 2ULL << 40);
        assert_int_equal(parse_size("infinity", 0, &v, NULL), 0);
        assert_true(v == SIZE_INFINITY);
        assert_int_equal(parse_size("15E", 0, &v, NULL), 0);
        assert_int_equal(v, 15ULL << 60);
}

static void test_parse_size_percent(void **state) {
        uint64_t v;
        const char *reason = NULL;

        assert_int_equal(parse_size("25%", 1000, &v, NULL), 0);
        assert_int_equal(v, 250);
        assert_int_equal(parse_size("100%", 1ULL << 40, &v, NULL), 0);
        assert_int_equal(v, 1ULL << 40);
        assert_int_equal(parse_size("12.5%", 1000, &v, NULL), 0);
        assert_int_equal(v, 125);
        assert_int_equal(parse_size("80%", UINT64_MAX, &v, NULL), 0);
        assert_true(v == (uint64_t) (((unsigned __int128) UINT64_MAX * 80) / 100));

        assert_int_equal(parse_size("25%", 0, &v, &reason), -EINVAL);
        assert_string_equal(reason, "percentages are not allowed here");
        assert_int_equal(parse_size("101%", 1000, &v, &reason), -ERANGE);
        assert_string_equal(reason, "percentage above 100%");
        assert_int_equal(parse_size("50%x", 1000, &v, &reason), -EINVAL);
}

static void test_parse_size_errors(void **state) {
        uint64_t v = 42;
        const char *reason = NULL;

        assert_int_equal(parse_size("12X", 0, &v, &reason), -EINVAL);
        assert_string_equal(reason, "unknown size suffix 'X'");
        assert_int_equal(parse_size("", 0, &v, &reason), -EINVAL);
        assert_string_equal(reason, "empty value");
        assert_int_equal(parse_size(NULL, 0, &v, &reason), -EINVAL);
        assert_int_equal(parse_size("-1", 0, &v, &reason), -ERANGE);
        assert_string_equal(reason, "negative sizes are not allowed");
        assert_int_equal(parse_size("G", 0, &v, &reason), -EINVAL);
        assert_string_equal(reason, "not a number");
        assert_int_equal(parse_size("1.G", 0, &v, &reason), -EINVAL);
        assert_int_equal(parse_size("99999999999999999999", 0, &v, &reason), -ERANGE);
        assert_int_equal(parse_size("16E", 0, &v, &reason), -ERANGE);
        assert_string_equal(reason, "size too large");
        assert_int_equal(parse_size("17179869184G", 0, &v, &reason), -ERANGE);
        assert_int_equal(parse_size("1.5", 0, &v, &reason), -EINVAL);
        assert_string_equal(reason, "fractional bytes are not allowed");
        assert_int_equal(parse_size("16G ", 0, &v, &reason), -EINVAL);
        assert_int_equal(parse_size(" 16G", 0, &v, &reason), -EINVAL);
        assert_int_equal(v, 42);
}

static void test_parse_boolean(void **state) {
        assert_int_equal(parse_boolean("yes"), 1);
        assert_int_equal(parse_boolean("On"), 1);
        assert_int_equal(parse_boolean("1"), 1);
        assert_int_equal(parse_boolean("no"), 0);
        assert_int_equal(parse_boolean("false"), 0);
        assert_int_equal(parse_boolean("maybe"), -EINVAL);
        assert_int_equal(parse_boolean(""), -EINVAL);
}

static void test_format_bytes(void **state) {
        char buf[FORMAT_BYTES_MAX];

        assert_string_equal(format_bytes(buf, sizeof(buf), 0), "0B");
        assert_string_equal(format_bytes(buf, sizeof(buf), 1023), "1023B");
        assert_string_equal(format_bytes(buf, sizeof(buf), 1024), "1.0K");
        assert_string_equal(format_bytes(buf, sizeof(buf), 512ULL << 20), "512.0M");
        assert_string_equal(format_bytes(buf, sizeof(buf), 3ULL << 29), "1.5G");
        /* Rounded down: just below 1G is not shown as 1.0G. */
        assert_string_equal(format_bytes(buf, sizeof(buf), (1ULL << 30) - 1), "1023.9M");
        assert_string_equal(format_bytes(buf, sizeof(buf), SIZE_INFINITY), "infinity");
        assert_string_equal(format_bytes(buf, sizeof(buf), UINT64_MAX - 1), "15.9E");
        assert_string_equal(FORMAT_BYTES(8ULL << 30), "8.0G");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_uint64),       cmocka_unit_test(test_parse_size_units),
                cmocka_unit_test(test_parse_size_percent), cmocka_unit_test(test_parse_size_errors),
                cmocka_unit_test(test_parse_boolean),      cmocka_unit_test(test_format_bytes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
