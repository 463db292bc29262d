/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for daemon/core/caller.c: the Groups: parser on real and malformed text, and credentials of
 * a real socket peer (uid, gid, pid, a pidfd of the peer, groups), also for a peer that changed
 * to uid 65534 before connecting. */
#include <fcntl.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/macro.h"
#include "common/process-util.h"
#include "daemon/core/caller.h"

static void test_groups_parse(void **state) {
        _cleanup_free_ gid_t *g = NULL;
        size_t n = 99;
        const char *t1 = "Name:\tbash\nUid:\t0\t0\t0\t0\nGroups:\t4 24 27 1000 \nNSpid:\t1\n";

        assert_int_equal(caller_groups_parse(t1, strlen(t1), &g, &n), 0);
        assert_int_equal(n, 4);
        assert_int_equal(g[0], 4);
        assert_int_equal(g[3], 1000);
        free(g);
        g = NULL;

        const char *t2 = "Groups:\nNSpid:\t1\n";
        assert_int_equal(caller_groups_parse(t2, strlen(t2), &g, &n), 0);
        assert_int_equal(n, 0);
        free(g);
        g = NULL;

        const char *t3 = "Groups:\t4294967295\n";
        assert_int_equal(caller_groups_parse(t3, strlen(t3), &g, &n), -EINVAL);
        const char *t4 = "Groups:\t12x\n";
        assert_int_equal(caller_groups_parse(t4, strlen(t4), &g, &n), -EINVAL);
        const char *t5 = "Groups:\t99999999999999999999\n";
        assert_int_equal(caller_groups_parse(t5, strlen(t5), &g, &n), -EINVAL);
        const char *t6 = "Name:\tx\nUid:\t0\n";
        assert_int_equal(caller_groups_parse(t6, strlen(t6), &g, &n), -ENOENT);
        /* Truncated buffer: the line ends where the buffer does. */
        const char *t7 = "Groups:\t5 6 7";
        assert_int_equal(caller_groups_parse(t7, 10, &g, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(g[0], 5);
}

static void test_from_socket(void **state) {
        _cleanup_(caller_done) Caller c = CALLER_NULL, copy = CALLER_NULL;
        pid_t fdpid;
        int sv[2];

        /* socketpair() records the creator's credentials: this process. */
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(caller_from_socket(sv[0], &c), 0);
        close(sv[0]);
        close(sv[1]);
        assert_int_equal(c.uid, getuid());
        assert_int_equal(c.gid, getgid());
        assert_int_equal(c.pid, getpid());
        assert_true(c.pidfd >= 0);
        assert_int_equal(pidfd_get_pid(c.pidfd, &fdpid), 0);
        assert_int_equal(fdpid, getpid());
        assert_true(caller_in_group(&c, getgid()));
        assert_int_equal(caller_is_root(&c), getuid() == 0);

        assert_int_equal(caller_copy(&c, &copy), 0);
        assert_int_equal(copy.uid, c.uid);
        assert_int_equal(copy.n_groups, c.n_groups);
        assert_true(copy.pidfd >= 0 && copy.pidfd != c.pidfd);
}

static void test_connect_as_nobody(void **state) {
        _cleanup_(caller_done) Caller c = CALLER_NULL;
        int lfd, cfd, status;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char dir[] = "/tmp/test-caller.XXXXXX";
        pid_t pid, fdpid;

        if (getuid() != 0)
                skip();
        assert_non_null(mkdtemp(dir));
        assert_int_equal(chmod(dir, 0755), 0);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s", dir);
        lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(lfd >= 0);
        assert_int_equal(bind(lfd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(chmod(sa.sun_path, 0666), 0);
        assert_int_equal(listen(lfd, 1), 0);

        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                gid_t groups[] = { 100, 65534 };
                char ch;
                if (setgroups(2, groups) < 0 || setresgid(65534, 65534, 65534) < 0 ||
                    setresuid(65534, 65534, 65534) < 0)
                        _exit(1);
                int s = socket(AF_UNIX, SOCK_STREAM, 0);
                if (s < 0 || connect(s, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                        _exit(2);
                if (read(s, &ch, 1) < 0) /* until the parent is done */
                        _exit(3);
                _exit(0);
        }
        cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        assert_true(cfd >= 0);
        assert_int_equal(caller_from_socket(cfd, &c), 0);
        assert_int_equal(c.uid, 65534);
        assert_int_equal(c.gid, 65534);
        assert_int_equal(c.pid, pid);
        assert_false(caller_is_root(&c));
        assert_true(caller_in_group(&c, 100));
        assert_false(caller_in_group(&c, 0));
        assert_int_equal(pidfd_get_pid(c.pidfd, &fdpid), 0);
        assert_int_equal(fdpid, pid);
        close(cfd);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        close(lfd);
        unlink(sa.sun_path);
        rmdir(dir);
}

static void test_values(void **state) {
        _cleanup_(caller_done) Caller c = CALLER_NULL, r = CALLER_NULL;
        gid_t g[] = { 7, 8 };

        assert_int_equal(caller_from_values(1000, 1000, getpid(), g, 2, &c), 0);
        assert_true(caller_in_group(&c, 8));
        assert_false(caller_in_group(&c, 9));
        assert_true(c.pidfd >= 0);
        assert_int_equal(caller_root(&r), 0);
        assert_true(caller_is_root(&r));
        assert_int_equal(r.pidfd, -EBADF);
        caller_done(NULL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_groups_parse),
                cmocka_unit_test(test_from_socket),
                cmocka_unit_test(test_connect_as_nobody),
                cmocka_unit_test(test_values),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
