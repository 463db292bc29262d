/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for common/log.c: which target the daemon picks (journal only when JOURNAL_STREAM names
 * stderr), the journal fields of a structured message, and escaping on every target. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/log.h"

static void test_target_detect(void **state) {
        char path[] = "/tmp/test-log.XXXXXX", env[64];
        struct stat st;
        int fd = mkstemp(path);

        assert_true(fd >= 0);
        (void) unlink(path);
        assert_int_equal(fstat(fd, &st), 0);
        snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long) st.st_dev,
                 (unsigned long long) st.st_ino);
        assert_int_equal(log_target_detect(env, fd), LOG_TARGET_JOURNAL);
        /* Inherited variable, different stream: not the journal. */
        snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long) st.st_dev,
                 (unsigned long long) st.st_ino + 1);
        assert_int_equal(log_target_detect(env, fd), LOG_TARGET_PREFIXED);
        assert_int_equal(log_target_detect(NULL, fd), LOG_TARGET_PREFIXED);
        assert_int_equal(log_target_detect("garbage", fd), LOG_TARGET_PREFIXED);
        snprintf(env, sizeof(env), "%llu:%llux", (unsigned long long) st.st_dev,
                 (unsigned long long) st.st_ino);
        assert_int_equal(log_target_detect(env, fd), LOG_TARGET_PREFIXED);
        close(fd);
        /* A terminal, if the test has one. */
        fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
        if (fd >= 0) {
                assert_int_equal(log_target_detect(NULL, fd), LOG_TARGET_CONSOLE);
                close(fd);
        }
}

static bool has(char **f, int n, const char *want) {
        for (int i = 0; i < n; i++)
                if (strcmp(f[i], want) == 0)
                        return true;
        return false;
}

static void test_fields(void **state) {
        char *f[LOG_FIELDS_MAX];
        LogFields lf = {
                .message_id = "063882e35116442a921bf84ee0d54afe",
                .workload_id = "3",
                .workload_pid = 4242,
                .policy = "60-real\ntime",
                .user_id = 1000,
        };
        int n;

        n = log_fields_format(6, -EPERM, &lf, "mlockd", "daemon/manager.c", 12, "f", "locked", f);
        assert_int_equal(n, 12);
        assert_true(has(f, n, "MESSAGE=locked"));
        assert_true(has(f, n, "PRIORITY=6"));
        assert_true(has(f, n, "SYSLOG_IDENTIFIER=mlockd"));
        assert_true(has(f, n, "ERRNO=1"));
        assert_true(has(f, n, "MESSAGE_ID=063882e35116442a921bf84ee0d54afe"));
        assert_true(has(f, n, "WORKLOAD_ID=3"));
        assert_true(has(f, n, "WORKLOAD_PID=4242"));
        assert_true(has(f, n, "POLICY=60-real\\ntime"));
        assert_true(has(f, n, "USER_ID=1000"));
        assert_true(has(f, n, "CODE_LINE=12"));
        log_fields_free(f, n);

        /* Unset fields are left out; uid 0 is a real uid. */
        lf = LOG_FIELDS_NULL;
        lf.user_id = 0;
        n = log_fields_format(4, 0, &lf, NULL, "x.c", 1, "g", "m", f);
        assert_int_equal(n, 6);
        assert_true(has(f, n, "USER_ID=0"));
        assert_false(has(f, n, "WORKLOAD_ID="));
        log_fields_free(f, n);
        n = log_fields_format(4, 0, NULL, NULL, "x.c", 1, "g", "m", f);
        assert_int_equal(n, 5);
        log_fields_free(f, n);
}

/* Runs one log call with stderr redirected to a file and returns what was written. */
static char *capture(LogTarget t, const char *name) {
        char path[] = "/tmp/test-log.XXXXXX";
        int fd = mkstemp(path), saved = dup(STDERR_FILENO);
        char *buf = calloc(1, 4096);

        assert_true(fd >= 0 && saved >= 0 && buf);
        (void) unlink(path);
        fflush(stderr);
        dup2(fd, STDERR_FILENO);
        log_set_target(t);
        log_info("Workload 3 '%s' exited.", name);
        fflush(stderr);
        dup2(saved, STDERR_FILENO);
        close(saved);
        assert_true(pread(fd, buf, 4095, 0) >= 0);
        close(fd);
        return buf;
}

static void test_escaped_lines(void **state) {
        char *s;

        log_set_ident("mlockd");
        s = capture(LOG_TARGET_PREFIXED, "x\n<0>Policy 10-audit disabled by root");
        assert_string_equal(s, "<6>mlockd: Workload 3 'x\\n<0>Policy 10-audit disabled by root' "
                               "exited.\n");
        free(s);
        s = capture(LOG_TARGET_CONSOLE, "\x1b]0;pwned\a");
        assert_string_equal(s, "mlockd: Workload 3 '\\e]0;pwned\\a' exited.\n");
        free(s);
        log_set_ident(NULL);
        log_set_target(LOG_TARGET_PREFIXED);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_target_detect),
                cmocka_unit_test(test_fields),
                cmocka_unit_test(test_escaped_lines),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
