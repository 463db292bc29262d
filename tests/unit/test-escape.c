/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for common/escape.c: control characters found and escaped, UTF-8 kept, display width
 * and truncation by columns. */
#include <errno.h>
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/escape.h"

static void check_escape(const char *in, EscapeFlags flags, const char *want) {
        char *s = escape_string(in, flags);

        assert_non_null(s);
        assert_string_equal(s, want);
        assert_int_equal(escape_to_buffer(NULL, 0, in, flags), strlen(want));
        free(s);
}

static void test_escape(void **state) {
        check_escape("plain name", 0, "plain name");
        check_escape("x\n<0>Policy 10-audit disabled by root", 0,
                     "x\\n<0>Policy 10-audit disabled by root");
        check_escape("\x1b]0;title\a", 0, "\\e]0;title\\a");
        check_escape("tab\there\r\v\f\b", 0, "tab\\there\\r\\v\\f\\b");
        check_escape("\x01\x7f", 0, "\\x01\\x7f");
        check_escape("back\\slash", 0, "back\\slash");
        check_escape("back\\slash", ESCAPE_BACKSLASH, "back\\\\slash");
        /* Valid UTF-8 stays; invalid bytes, C1 controls and bidi overrides are escaped. */
        check_escape("名前 ü", 0, "名前 ü");
        check_escape("a\xff"
                     "b\xc3",
                     0, "a\\xffb\\xc3");
        check_escape("\xc2\x9b"
                     "31m",
                     0, "\\u009b31m");
        check_escape("evil\xe2\x80\xae"
                     "txt.exe",
                     0, "evil\\u202etxt.exe");
        /* Overlong NUL and a surrogate are not UTF-8. */
        check_escape("\xc0\x80\xed\xa0\x80", 0, "\\xc0\\x80\\xed\\xa0\\x80");
        check_escape("line\nnext\tcol\x1b", ESCAPE_KEEP_NEWLINE, "line\nnext\tcol\\e");
        {
                char *s = cescape("a\\b\n");
                assert_string_equal(s, "a\\\\b\\n");
                free(s);
        }
}

static void test_escape_truncation(void **state) {
        char buf[8];

        /* Never a partial escape or a partial UTF-8 sequence; always terminated. */
        assert_int_equal(escape_to_buffer(buf, 7, "abcde\n", 0), 7);
        assert_string_equal(buf, "abcde");
        assert_int_equal(escape_to_buffer(buf, sizeof(buf), "abcdef名", 0), 9);
        assert_string_equal(buf, "abcdef");
        assert_int_equal(escape_to_buffer(buf, 1, "abc", 0), 3);
        assert_string_equal(buf, "");
}

static void test_find_control(void **state) {
        size_t off = 99;
        uint32_t c = 0;

        assert_int_equal(string_find_control("fine-name_1 名前", &off, &c), 0);
        assert_int_equal(off, 99);
        assert_int_equal(string_find_control("x\n<0>", &off, &c), 1);
        assert_int_equal(off, 1);
        assert_int_equal(c, 0x0a);
        assert_int_equal(string_find_control("名\x1b", &off, &c), 1);
        assert_int_equal(off, 3);
        assert_int_equal(c, 0x1b);
        assert_int_equal(string_find_control("ab\xc2\x85", &off, &c), 1);
        assert_int_equal(off, 2);
        assert_int_equal(c, 0x85);
        assert_int_equal(string_find_control("a\xfe", &off, &c), 1);
        assert_int_equal(off, 1);
        assert_int_equal(c, 0xfe);
        assert_int_equal(string_find_control("a\x7f", &off, &c), 1);
        assert_int_equal(c, 0x7f);
}

static void test_width(void **state) {
        char *s;

        assert_int_equal(utf8_display_width("abc"), 3);
        assert_int_equal(utf8_display_width(""), 0);
        assert_int_equal(utf8_display_width("名前"), 4); /* CJK: two columns each */
        assert_int_equal(utf8_display_width("ü"), 1);

        s = utf8_truncate_to_width("abcdefghij", 5);
        assert_string_equal(s, "abcd…");
        free(s);
        s = utf8_truncate_to_width("abc", 5);
        assert_string_equal(s, "abc");
        free(s);
        /* A wide character that does not fit is left out whole. */
        s = utf8_truncate_to_width("名前の長い", 6);
        assert_string_equal(s, "名前…");
        assert_int_equal(utf8_display_width(s), 5);
        free(s);
        s = utf8_truncate_to_width("abc", 1);
        assert_string_equal(s, "…");
        free(s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_escape),
                cmocka_unit_test(test_escape_truncation),
                cmocka_unit_test(test_find_control),
                cmocka_unit_test(test_width),
        };

        /* Widths of CJK characters need a UTF-8 LC_CTYPE; C.UTF-8 is built into glibc. */
        if (!setlocale(LC_CTYPE, "C.UTF-8")) {
                fprintf(stderr, "SKIP: no C.UTF-8 locale\n");
                return 77;
        }
        return cmocka_run_group_tests(tests, NULL, NULL);
}
