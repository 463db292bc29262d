/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/proc.h"
#include "daemon/helpers/inject-job.h"
#include "daemon/helpers/inject.h"

static bool request_valid(long nr, int flags) {
        if (nr == SYS_mlockall) {
                int known = MCL_CURRENT | MCL_FUTURE;
#ifdef MCL_ONFAULT
                known |= MCL_ONFAULT;
#endif
                return flags != 0 && (flags & ~known) == 0;
        }
        if (nr == SYS_munlockall)
                return flags == 0;
        return false;
}

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static uint64_t vm_lck_of(pid_t pid) {
        _cleanup_close_ int dfd = proc_open(pid);
        ProcStatus st;

        if (dfd < 0 || proc_status_read(dfd, &st) < 0)
                return UINT64_MAX;
        return st.vm_lck; /* PROC_UNSET (UINT64_MAX) when absent */
}

/* Closes every fd >= 3 except a and b (0, 1 and 2 stay open anyway). a must be >= 3. */
static void close_all_but(int a, int b) {
        if (b < 3)
                b = a;
        unsigned lo = (unsigned) MIN(a, b), hi = (unsigned) MAX(a, b);
        unsigned bounds[][2] = {
                { 3, lo - 1 },
                { lo + 1, hi - 1 },
                { hi + 1, ~0u },
        };

        for (size_t i = 0; i < ELEMENTSOF(bounds); i++) {
                if (bounds[i][0] > bounds[i][1] || bounds[i][0] < 3)
                        continue;
                if (syscall(SYS_close_range, bounds[i][0], bounds[i][1], 0) < 0)
                        for (unsigned fd = bounds[i][0]; fd <= MIN(bounds[i][1], 65535u); fd++)
                                (void) close((int) fd);
        }
}

static void helper_prepare(int keep_fd, int pidfd) {
        struct sigaction dfl = { .sa_handler = SIG_DFL }, ign = { .sa_handler = SIG_IGN };
        sigset_t none;

        for (int sig = 1; sig < _NSIG; sig++)
                (void) sigaction(sig, &dfl, NULL);
        /* Dying in the middle of an injection would leave the target with our registers: the
         * service manager's SIGTERM to the whole cgroup must not do that. */
        (void) sigaction(SIGTERM, &ign, NULL);
        (void) sigaction(SIGINT, &ign, NULL);
        (void) sigaction(SIGHUP, &ign, NULL);
        (void) sigaction(SIGPIPE, &ign, NULL);
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);

        close_all_but(keep_fd, pidfd);
}

_noreturn_ static void helper_main(pid_t pid, int pidfd, long nr, int flags, int result_fd) {
        InjectResult res = {};
        InjectStage stage;
        long args[6] = { flags }, result = 0;
        uint64_t t0;
        int r;

        /* Keep the result pipe above stdio (a daemon started with fd 0-2 closed may get it there),
         * so closing everything else cannot hit it. */
        if (result_fd < 3) {
                result_fd = fcntl(result_fd, F_DUPFD_CLOEXEC, 3);
                if (result_fd < 0)
                        _exit(1);
        }
        helper_prepare(result_fd, pidfd);

        res.vm_lck_before = vm_lck_of(pid);
        t0 = now_usec();
        r = inject_syscall(pid, 0, pidfd, nr, args, &result, &stage);
        res.duration_usec = now_usec() - t0;
        res.vm_lck_after = vm_lck_of(pid);
        res.stage = (int32_t) stage;
        if (r < 0) {
                res.error = (int32_t) -r;
                if (stage == INJECT_STAGE_RESTORE || stage == INJECT_STAGE_DETACH)
                        res.syscall_result = result;
        } else {
                res.syscall_result = result;
                res.error = result < 0 ? (int32_t) -result : 0;
        }

        ssize_t n = write(result_fd, &res, sizeof(res));
        _exit(n == (ssize_t) sizeof(res) ? 0 : 1);
}

int inject_job_start(pid_t pid, int pidfd, long nr, int flags, pid_t *ret_helper_pid,
                     int *ret_result_fd) {
        _cleanup_close_ int rfd = -EBADF, wfd = -EBADF;
        int fds[2];

        if (pid <= 0 || !request_valid(nr, flags) || !ret_helper_pid || !ret_result_fd)
                return -EINVAL;
        if (pipe2(fds, O_CLOEXEC) < 0)
                return negative_errno();
        rfd = fds[0];
        wfd = fds[1];

        pid_t child = fork();
        if (child < 0)
                return negative_errno();
        if (child == 0)
                helper_main(pid, pidfd, nr, flags, wfd);

        wfd = safe_close(wfd);
        int fl = fcntl(rfd, F_GETFL);
        if (fl < 0 || fcntl(rfd, F_SETFL, fl | O_NONBLOCK) < 0) {
                int r = negative_errno();
                /* The helper cannot report anywhere now; let it finish and reap it. */
                (void) waitpid(child, NULL, 0);
                return r;
        }

        *ret_helper_pid = child;
        *ret_result_fd = TAKE_FD(rfd);
        return 0;
}

int inject_job_read_result(int fd, InjectResult *ret) {
        InjectResult res;
        uint8_t buf[sizeof(InjectResult) + 1];
        ssize_t n;

        do
                n = read(fd, buf, sizeof(buf));
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return errno == EAGAIN ? -EAGAIN : negative_errno();
        if (n == 0)
                return -EPIPE;
        if ((size_t) n != sizeof(res))
                return -EBADMSG;
        memcpy(&res, buf, sizeof(res));
        if (res.error < 0 || res.stage < 0 || res.stage >= _INJECT_STAGE_MAX)
                return -EBADMSG;
        *ret = res;
        return 0;
}

int inject_job_run(pid_t pid, int pidfd, long nr, int flags, InjectResult *ret) {
        _cleanup_close_ int fd = -EBADF;
        InjectResult res;
        pid_t helper;
        int r;

        r = inject_job_start(pid, pidfd, nr, flags, &helper, &fd);
        if (r < 0)
                return r;

        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                if (poll(&p, 1, -1) < 0 && errno != EINTR) {
                        r = negative_errno();
                        break;
                }
                r = inject_job_read_result(fd, &res);
                if (r != -EAGAIN)
                        break;
        }

        while (waitpid(helper, NULL, 0) < 0 && errno == EINTR)
                ;
        if (r < 0)
                return r;
        *ret = res;
        return 0;
}
