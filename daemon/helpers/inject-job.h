/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Runs one mlockall()/munlockall() injection (inject.h) in a forked helper process, so the
 * event loop never blocks on a lock that takes seconds. The helper writes exactly one
 * InjectResult to a pipe and exits with 0 (result written) or 1 (could not write it).
 *
 * Usage from sd-event:
 *         r = inject_job_start(pid, pidfd, SYS_mlockall, MCL_CURRENT|MCL_FUTURE, &helper, &fd);
 *         sd_event_add_io(e, NULL, fd, EPOLLIN, on_result, w);          // owns fd
 *         sd_event_add_child(e, NULL, helper, WEXITED, on_helper_exit, w); // reaps helper
 *   and in on_result: r = inject_job_read_result(fd, &result); (-EPIPE: the helper died
 *   without a result, e.g. killed).
 *
 * The helper: closes every fd but the result pipe and the target pidfd, resets signal
 * dispositions and unblocks signals, ignores SIGTERM/SIGINT/SIGHUP/SIGPIPE (it must not die
 * mid-injection: the target's registers would not be restored), runs only the fixed injection
 * code below (never anything the caller supplies) and _exit()s. Do not SIGKILL it while it
 * runs; if the target must go, kill the target instead: the helper then reports ESRCH.
 * A helper that outlives the daemon finishes its injection and exits (no PDEATHSIG). */

#include <stdint.h>
#include <sys/types.h>

#include "daemon/helpers/inject.h"
#include "policy/policy.h"

typedef struct InjectResult {
        int32_t error; /* 0, or a positive errno: of the injection step at .stage, or, with
                        * .stage == INJECT_STAGE_SYSCALL, of the injected syscall itself
                        * (e.g. ENOMEM: RLIMIT_MEMLOCK too low; EPERM) */
        int32_t stage; /* InjectStage (inject.h): INJECT_STAGE_SYSCALL if the syscall ran */
        int64_t syscall_result; /* raw return value of the injected syscall if it ran, else 0 */
        uint64_t vm_lck_before; /* bytes, from /proc/PID/status; UINT64_MAX if unknown */
        uint64_t vm_lck_after;
        uint64_t duration_usec; /* wall time (CLOCK_MONOTONIC) of the injection itself */
} InjectResult;

/* Forks the helper. nr must be SYS_mlockall (flags: MCL_* bits) or SYS_munlockall (flags
 * must be 0): anything else gives -EINVAL. pidfd must refer to pid (the helper re-checks it
 * after stopping the target; pass -EBADF only in tests). On success returns 0, the helper's
 * pid in *ret_helper_pid (the caller must reap it) and the read end of the result pipe
 * (O_CLOEXEC|O_NONBLOCK) in *ret_result_fd (the caller closes it). */
int inject_job_start(pid_t pid, int pidfd, long nr, int flags, pid_t *ret_helper_pid,
                     int *ret_result_fd);
/* The same with verify run in the helper once the target is stopped (inject.h): Attach checks
 * there, again, what it checked before the seize. userdata is read in the helper (a copy made by
 * fork()), so it may point to the caller's memory. */
int inject_job_start_verified(pid_t pid, int pidfd, long nr, int flags, InjectVerifyFunc verify,
                              void *userdata, pid_t *ret_helper_pid, int *ret_result_fd);

/* The exec-stop lock of a launch child (daemon/helpers/spawn.h) whose program the shim cannot
 * reach: the helper runs inject_exec_stop() (the helper sends go on go_fd once it traces the
 * child) and writes the program's ShimReport to report_fd, as the shim would, unless the child
 * died before its exec (it reported its own error then). */
typedef struct InjectExecStop {
        int go_fd;
        const void *go; /* copied by fork(): may point to the caller's memory */
        size_t go_len;
        int report_fd;
        LockSettings lock;
} InjectExecStop;
int inject_job_start_exec_stop(pid_t pid, int pidfd, const InjectExecStop *x, pid_t *ret_helper_pid,
                               int *ret_result_fd);

/* Reads the one InjectResult from fd once it is readable. Returns 0, -EAGAIN if nothing is
 * there yet (non-blocking fd), -EPIPE if the helper exited without writing a full result,
 * -EBADMSG if the result is malformed. */
int inject_job_read_result(int fd, InjectResult *ret);

/* Blocking convenience for tools, tests and benchmarks: start, wait for the result, reap the
 * helper. Returns 0 with *ret filled (check ret->error), or -errno if the job itself failed. */
int inject_job_run(pid_t pid, int pidfd, long nr, int flags, InjectResult *ret);
