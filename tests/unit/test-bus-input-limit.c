/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for daemon/bus-input-limit.c through the interposed recvmsg() on socketpairs: a header
 * announcing more than LIMIT_MESSAGE_BYTES fails the very read that brings it (fds passed with
 * it are closed), later reads keep failing, unregistered fds pass untouched, and a uid's
 * messages in progress are bounded by LIMIT_INPUT_PER_UID. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/bus/bus-input-limit.h"
#include "daemon/bus/bus-limits.h"

static const char auth[] = "\0AUTH EXTERNAL 31303030\r\nNEGOTIATE_UNIX_FD\r\nBEGIN\r\n";

/* A little-endian method-call header announcing total bytes (no header fields). */
static void header(uint8_t h[16], uint32_t total) {
        uint32_t body = total - 16;

        memset(h, 0, 16);
        h[0] = 'l';
        h[1] = 1;
        h[3] = 1;
        memcpy(h + 4, &body, 4);
        h[8] = 1;
}

static ssize_t read_some(int fd, void *buf, size_t n, int *ret_passed_fd) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct iovec iov = { .iov_base = buf, .iov_len = n };
        struct msghdr mh = { .msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = &control,
                             .msg_controllen = sizeof(control) };
        ssize_t k = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        struct cmsghdr *c = k > 0 ? CMSG_FIRSTHDR(&mh) : NULL;

        if (ret_passed_fd)
                *ret_passed_fd = -1;
        if (c && c->cmsg_type == SCM_RIGHTS && ret_passed_fd)
                memcpy(ret_passed_fd, CMSG_DATA(c), sizeof(int));
        return k;
}

static void send_with_fd(int fd, const void *data, size_t n, int passed) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct iovec iov = { .iov_base = (void *) data, .iov_len = n };
        struct msghdr mh = { .msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = &control,
                             .msg_controllen = sizeof(control) };
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &passed, sizeof(int));
        assert_int_equal(sendmsg(fd, &mh, 0), (ssize_t) n);
}

static size_t count_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        size_t n = 0;

        assert_non_null(d);
        while (readdir(d))
                n++;
        closedir(d);
        return n;
}

static void test_oversized_header(void **state) {
        uint8_t buf[4096], h[16];
        int sp[2], passed;
        size_t fds_before;

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
        assert_int_equal(bus_input_limit_register(sp[0], 1000, true, ":1.1"), 0);

        /* Authentication and a small message pass. */
        header(h, 64);
        assert_int_equal(write(sp[1], auth, sizeof(auth) - 1), (ssize_t) sizeof(auth) - 1);
        assert_int_equal(write(sp[1], h, 16), 16);
        assert_int_equal(write(sp[1], buf, 48), 48);
        assert_true(read_some(sp[0], buf, sizeof(buf), NULL) > 0);
        assert_int_equal(bus_input_limit_uid_pending(1000), 0);

        /* A header of LIMIT_MESSAGE_BYTES + 1 with an fd: the read fails, the fd is closed. */
        fds_before = count_fds();
        header(h, LIMIT_MESSAGE_BYTES + 1);
        send_with_fd(sp[1], h, 16, STDIN_FILENO);
        errno = 0;
        assert_int_equal(read_some(sp[0], buf, sizeof(buf), &passed), -1);
        assert_int_equal(errno, ECONNRESET);
        assert_int_equal(count_fds(), fds_before);
        /* And stays failed. */
        assert_int_equal(write(sp[1], "x", 1), 1);
        assert_int_equal(read_some(sp[0], buf, sizeof(buf), NULL), -1);
        assert_int_equal(errno, ECONNRESET);

        /* Unregistered: bytes pass as they are. */
        bus_input_limit_unregister(sp[0]);
        assert_int_equal(read_some(sp[0], buf, sizeof(buf), NULL), 1);
        close(sp[0]);
        close(sp[1]);
}

static void test_exact_limit_and_split_header(void **state) {
        uint8_t buf[64], h[16];
        int sp[2];

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
        assert_int_equal(bus_input_limit_register(sp[0], 1001, true, ":1.2"), 0);
        header(h, LIMIT_MESSAGE_BYTES);
        assert_int_equal(write(sp[1], auth, sizeof(auth) - 1), (ssize_t) sizeof(auth) - 1);
        /* The header arrives one byte per read, as sd-bus might see it. */
        assert_true(read_some(sp[0], buf, sizeof(auth) - 1, NULL) > 0);
        for (size_t i = 0; i < 16; i++) {
                assert_int_equal(write(sp[1], h + i, 1), 1);
                assert_int_equal(read_some(sp[0], buf, 1, NULL), 1);
        }
        assert_int_equal(bus_input_limit_uid_pending(1001), LIMIT_MESSAGE_BYTES);
        bus_input_limit_unregister(sp[0]);
        assert_int_equal(bus_input_limit_uid_pending(1001), 0);
        close(sp[0]);
        close(sp[1]);
}

static void test_per_uid(void **state) {
        enum { N = LIMIT_INPUT_PER_UID / LIMIT_MESSAGE_BYTES + 1 };
        int sp[N][2], root[2];
        uint8_t buf[4096], h[16];

        header(h, LIMIT_MESSAGE_BYTES);
        for (size_t i = 0; i < N; i++) {
                ssize_t k;

                assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp[i]), 0);
                assert_int_equal(bus_input_limit_register(sp[i][0], 1002, true, ":1.3"), 0);
                assert_int_equal(write(sp[i][1], auth, sizeof(auth) - 1),
                                 (ssize_t) sizeof(auth) - 1);
                assert_int_equal(write(sp[i][1], h, 16), 16);
                k = read_some(sp[i][0], buf, sizeof(buf), NULL);
                if (i + 1 < N)
                        assert_true(k > 0);
                else {
                        /* The one that would take the uid beyond its bound. */
                        assert_int_equal(k, -1);
                        assert_int_equal(errno, ECONNRESET);
                }
        }
        assert_int_equal(bus_input_limit_uid_pending(1002),
                         (uint64_t) (N - 1) * LIMIT_MESSAGE_BYTES);
        /* Another uid that is not charged (root) is not bound by it. */
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, root), 0);
        assert_int_equal(bus_input_limit_register(root[0], 0, false, ":1.4"), 0);
        assert_int_equal(write(root[1], auth, sizeof(auth) - 1), (ssize_t) sizeof(auth) - 1);
        assert_int_equal(write(root[1], h, 16), 16);
        assert_true(read_some(root[0], buf, sizeof(buf), NULL) > 0);
        bus_input_limit_unregister(root[0]);
        close(root[0]);
        close(root[1]);
        for (size_t i = 0; i < N; i++) {
                bus_input_limit_unregister(sp[i][0]);
                close(sp[i][0]);
                close(sp[i][1]);
        }
        assert_int_equal(bus_input_limit_uid_pending(1002), 0);
}

/* All non-root uids together are bounded by LIMIT_INPUT_TOTAL, each staying within its own. */
static void test_total(void **state) {
        enum {
                PER_UID = LIMIT_INPUT_PER_UID / LIMIT_MESSAGE_BYTES - 2,
                UIDS = LIMIT_INPUT_TOTAL / (PER_UID * LIMIT_MESSAGE_BYTES) + 1,
                N = PER_UID * UIDS,
        };
        static int sp[N][2];
        uint8_t buf[4096], h[16];
        size_t refused = 0;

        header(h, LIMIT_MESSAGE_BYTES);
        for (size_t i = 0; i < N; i++) {
                assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp[i]), 0);
                assert_int_equal(bus_input_limit_register(sp[i][0], 3000 + (uid_t) (i / PER_UID),
                                                          true, ":1.6"),
                                 0);
                assert_int_equal(write(sp[i][1], auth, sizeof(auth) - 1),
                                 (ssize_t) sizeof(auth) - 1);
                assert_int_equal(write(sp[i][1], h, 16), 16);
                if (read_some(sp[i][0], buf, sizeof(buf), NULL) < 0) {
                        assert_int_equal(errno, ECONNRESET);
                        refused++;
                }
                assert_true(bus_input_limit_total_pending() <= LIMIT_INPUT_TOTAL);
        }
        assert_int_equal(N - refused, LIMIT_INPUT_TOTAL / LIMIT_MESSAGE_BYTES);
        for (size_t i = 0; i < N; i++) {
                bus_input_limit_unregister(sp[i][0]);
                close(sp[i][0]);
                close(sp[i][1]);
        }
        assert_int_equal(bus_input_limit_total_pending(), 0);
}

/* A forked child forgets the table: an fd number it reuses is not parsed as a connection. */
static void test_fork_forgets(void **state) {
        uint8_t buf[64], h[16];
        int sp[2], status;
        pid_t pid;

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
        assert_int_equal(bus_input_limit_register(sp[0], 1003, true, ":1.5"), 0);
        header(h, LIMIT_MESSAGE_BYTES + 1);
        assert_int_equal(write(sp[1], auth, sizeof(auth) - 1), (ssize_t) sizeof(auth) - 1);
        assert_int_equal(write(sp[1], h, 16), 16);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                /* Same fd, same bytes: in the child they pass. */
                ssize_t k = read_some(sp[0], buf, sizeof(buf), NULL);
                _exit(k > 0 ? 0 : 1);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        bus_input_limit_unregister(sp[0]);
        close(sp[0]);
        close(sp[1]);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_oversized_header),
                cmocka_unit_test(test_exact_limit_and_split_header),
                cmocka_unit_test(test_per_uid),
                cmocka_unit_test(test_total),
                cmocka_unit_test(test_fork_forgets),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
