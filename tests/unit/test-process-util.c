/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for common/process-util.c: pidfds and the (pid, start time) identity guard. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/macro.h"
#include "common/process-util.h"

static pid_t spawn_sleeper(void) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                pause();
                _exit(0);
        }
        return pid;
}

static void test_pidfd(void **state) {
        pid_t child = spawn_sleeper(), got = 0;
        _cleanup_close_ int fd = pidfd_open_checked(child);

        assert_true(fd >= 0);
        assert_int_equal(pidfd_get_pid(fd, &got), 0);
        assert_int_equal(got, child);
        assert_int_equal(pidfd_send_signal_checked(fd, SIGKILL), 0);
        assert_int_equal(waitpid(child, NULL, 0), child);
        /* After the process is reaped the pidfd reports it gone. */
        assert_int_equal(pidfd_get_pid(fd, &got), -ESRCH);
        assert_int_equal(pidfd_send_signal_checked(fd, 0), -ESRCH);
        assert_int_equal(pidfd_open_checked(0), -EINVAL);
        /* A plain file is not a pidfd. */
        assert_int_equal(pidfd_get_pid(STDIN_FILENO, &got), -ENOTTY);
}

static void test_identity(void **state) {
        pid_t child = spawn_sleeper();
        ProcessIdentity id, forged;

        assert_int_equal(process_identity_get(child, &id), 0);
        assert_int_equal(id.pid, child);
        assert_int_equal(process_identity_matches(&id), 1);

        /* Same pid, another start time: a reused pid must not match. */
        forged = id;
        forged.starttime++;
        assert_int_equal(process_identity_matches(&forged), 0);

        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        assert_int_equal(process_identity_matches(&id), -ESRCH);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_pidfd),
                cmocka_unit_test(test_identity),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
