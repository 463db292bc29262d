/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/lock-mode.h"
#include "common/macro.h"
#include "common/shim-report.h"
#include "common/time-util.h"
#include "daemon/core/shim-report-reader.h"
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

/* Closes every fd >= 3 except those in keep (negative entries are ignored). */
static void close_all_but(const int *keep, size_t n_keep) {
        unsigned lo = 3;

        for (;;) {
                unsigned next = ~0u;
                /* The smallest kept fd >= lo. */
                for (size_t i = 0; i < n_keep; i++)
                        if (keep[i] >= (int) lo && (unsigned) keep[i] < next)
                                next = (unsigned) keep[i];
                if (next > lo) {
                        unsigned hi = next == ~0u ? ~0u : next - 1;
                        if (syscall(SYS_close_range, lo, hi, 0) < 0)
                                for (unsigned fd = lo; fd <= MIN(hi, 65535u); fd++)
                                        (void) close((int) fd);
                }
                if (next == ~0u)
                        return;
                lo = next + 1;
        }
}

static void helper_prepare(const int *keep, size_t n_keep) {
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

        close_all_but(keep, n_keep);
}

/* Test hook (tests/integration/test-attach-race.sh): with MLOCKD_TEST_STOP_BEFORE_SEIZE=1 in the
 * daemon's environment, which only root sets, the helper stops itself before it seizes, so a test
 * can change the target between the daemon's check and the seize. Stopping changes nothing else. */
static void test_hook_before_seize(void) {
        const char *e = getenv("MLOCKD_TEST_STOP_BEFORE_SEIZE");
        if (e && streq(e, "1"))
                (void) raise(SIGSTOP);
}

/* Like the shim: a one-line reason on the stopped program's stderr. Only if it does not block
 * (the caller's terminal or pipe is the caller's), else the report says it all. */
static void tell_workload(pid_t pid, int pidfd, int error) {
        _cleanup_free_ char *exe = NULL, *msg = NULL;
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        struct pollfd p;

        dfd = proc_open(pid);
        if (dfd < 0 || proc_exe_read(dfd, &exe) < 0)
                return;
        /* Its own stderr (the same open file, offset and all), not a new open of it. */
        fd = (int) syscall(SYS_pidfd_getfd, pidfd, 2, 0);
        if (fd < 0)
                return;
        if (asprintf(&msg,
                     "mlockd: could not lock the memory of '%s' (mlockall: %s); stopping it.\n",
                     exe, strerror(error)) < 0)
                return;
        p = (struct pollfd){ .fd = fd, .events = POLLOUT };
        if (poll(&p, 1, 0) == 1 && (p.revents & POLLOUT))
                (void) !write(fd, msg, MIN(strlen(msg), (size_t) PIPE_BUF - 1));
}

typedef struct HelperArgs {
        pid_t pid;
        int pidfd;
        long nr;
        int flags;
        InjectVerifyFunc verify;
        void *userdata;
        const InjectExecStop *exec_stop; /* NULL: attach/detach */
        int result_fd;
} HelperArgs;

_noreturn_ static void helper_main(const HelperArgs *a) {
        InjectResult res = {};
        InjectStage stage;
        long args[6] = { a->flags }, result = 0;
        uint64_t vm_lck_at_stop = UINT64_MAX;
        int result_fd = a->result_fd;
        uint64_t t0;
        int r;

        /* Keep the result pipe above stdio (a daemon started with fd 0-2 closed may get it there),
         * so closing everything else cannot hit it. */
        if (result_fd < 3) {
                result_fd = fcntl(result_fd, F_DUPFD_CLOEXEC, 3);
                if (result_fd < 0)
                        _exit(1);
        }
        {
                int keep[] = { result_fd, a->pidfd, a->exec_stop ? a->exec_stop->go_fd : -1,
                               a->exec_stop ? a->exec_stop->report_fd : -1 };
                helper_prepare(keep, ELEMENTSOF(keep));
        }

        if (proc_vm_lck_read(a->pid, a->pidfd, &res.vm_lck_before) < 0)
                res.vm_lck_before = UINT64_MAX;
        t0 = now_usec(CLOCK_MONOTONIC);
        if (a->exec_stop) {
                const InjectExecStop *x = a->exec_stop;
                r = inject_exec_stop(a->pid, a->pidfd, x->go_fd, x->go, x->go_len,
                                     lock_mode_to_mlockall_flags(x->lock.mode), !x->lock.inherit,
                                     x->lock.on_failure == ON_FAILURE_ABORT, tell_workload,
                                     &vm_lck_at_stop, &result, &stage);
        } else {
                test_hook_before_seize();
                r = inject_syscall_verified(a->pid, 0, a->pidfd, a->nr, args, a->verify,
                                            a->userdata, &result, &stage);
        }
        res.duration_usec = now_usec(CLOCK_MONOTONIC) - t0;
        if (proc_vm_lck_read(a->pid, a->pidfd, &res.vm_lck_after) < 0)
                res.vm_lck_after = UINT64_MAX;
        if (a->exec_stop && vm_lck_at_stop != UINT64_MAX)
                res.vm_lck_after = vm_lck_at_stop;
        res.stage = (int32_t) stage;
        if (r < 0) {
                res.error = (int32_t) -r;
                if (stage == INJECT_STAGE_RESTORE || stage == INJECT_STAGE_DETACH)
                        res.syscall_result = result;
        } else {
                res.syscall_result = result;
                res.error = result < 0 ? (int32_t) -result : 0;
        }

        if (a->exec_stop && !(r < 0 && stage == INJECT_STAGE_INTERRUPT)) {
                /* The program's report, as the shim would write it: the daemon reads both paths
                 * alike. A child that died before its exec reported its own error. */
                const InjectExecStop *x = a->exec_stop;
                int error = r < 0 ? -r : result < 0 ? (int) -result : 0;
                ShimReport report;

                shim_report_init(&report, error, (uint32_t) x->lock.mode,
                                 error ? SHIM_STAGE_MLOCKALL : SHIM_STAGE_NONE,
                                 error || res.vm_lck_after == UINT64_MAX ? 0 : res.vm_lck_after,
                                 res.duration_usec, a->pid,
                                 error != 0 && x->lock.on_failure == ON_FAILURE_ABORT
                                         ? SHIM_REPORT_ABORTED
                                         : 0);
                (void) !write(x->report_fd, &report, sizeof(report));
        }

        ssize_t n = write(result_fd, &res, sizeof(res));
        _exit(n == (ssize_t) sizeof(res) ? 0 : 1);
}

static int job_fork(const HelperArgs *a, pid_t *ret_helper_pid, int *ret_result_fd) {
        _cleanup_close_ int rfd = -EBADF, wfd = -EBADF;
        HelperArgs h = *a;
        int fds[2];

        if (pipe2(fds, O_CLOEXEC) < 0)
                return negative_errno();
        rfd = fds[0];
        wfd = fds[1];

        pid_t child = fork();
        if (child < 0)
                return negative_errno();
        if (child == 0) {
                h.result_fd = wfd;
                helper_main(&h);
        }

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

int inject_job_start_verified(pid_t pid, int pidfd, long nr, int flags, InjectVerifyFunc verify,
                              void *userdata, pid_t *ret_helper_pid, int *ret_result_fd) {
        if (pid <= 0 || !request_valid(nr, flags) || !ret_helper_pid || !ret_result_fd)
                return -EINVAL;
        return job_fork(&(HelperArgs){ .pid = pid,
                                       .pidfd = pidfd,
                                       .nr = nr,
                                       .flags = flags,
                                       .verify = verify,
                                       .userdata = userdata },
                        ret_helper_pid, ret_result_fd);
}

int inject_job_start(pid_t pid, int pidfd, long nr, int flags, pid_t *ret_helper_pid,
                     int *ret_result_fd) {
        return inject_job_start_verified(pid, pidfd, nr, flags, NULL, NULL, ret_helper_pid,
                                         ret_result_fd);
}

int inject_job_start_exec_stop(pid_t pid, int pidfd, const InjectExecStop *x, pid_t *ret_helper_pid,
                               int *ret_result_fd) {
        if (pid <= 0 || !x || x->go_fd < 0 || x->report_fd < 0 || !x->go ||
            !request_valid(SYS_mlockall, lock_mode_to_mlockall_flags(x->lock.mode)) ||
            !ret_helper_pid || !ret_result_fd)
                return -EINVAL;
        return job_fork(&(HelperArgs){ .pid = pid, .pidfd = pidfd, .exec_stop = x }, ret_helper_pid,
                        ret_result_fd);
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
