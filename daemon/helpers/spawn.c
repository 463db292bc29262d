/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "daemon/helpers/spawn.h"

#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/lock-mode.h"
#include "common/macro.h"
#include "common/string-table.h"
#include "common/parse-util.h"
#include "common/proc.h"
#include "common/process-util.h"
#include "common/shim-report.h"
#include "daemon/helpers/env-filter.h"
#include "daemon/core/shim-report-reader.h"

/* In the child: the error pipe sits here until exec closes it (O_CLOEXEC). */
#define SPAWN_ERROR_FD 4

static const char *const mechanism_table[_MECHANISM_MAX] = {
        [MECHANISM_RLIMIT] = "rlimit",
        [MECHANISM_CAPABILITY] = "capability",
        [MECHANISM_PTRACE] = "ptrace",
        [MECHANISM_PREEXISTING] = "preexisting",
};

DEFINE_STRING_TABLE_LOOKUP(mechanism, Mechanism)

void spawn_result_done(SpawnResult *r) {
        if (!r)
                return;
        /* A zero-initialized result (= {}) has fds 0: only a filled one (pid > 0) owns fds. */
        if (r->pid > 0) {
                safe_close(r->pidfd);
                safe_close(r->report_fd);
        }
        free(r->exe);
        *r = (SpawnResult){
                .pid = 0,
                .pidfd = -EBADF,
                .report_fd = -EBADF,
                .mechanism = _MECHANISM_INVALID,
                .kind = _EXEC_KIND_INVALID,
        };
}

_printf_(2, 3) static void set_error(char **ret_error, const char *format, ...) {
        va_list ap;

        if (!ret_error)
                return;
        va_start(ap, format);
        if (vasprintf(ret_error, format, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
}

/* ---- environment ---------------------------------------------------------------------- */

static int strv_push_printf(char **l, size_t *n, const char *format, ...) _printf_(3, 4);
static int strv_push_printf(char **l, size_t *n, const char *format, ...) {
        va_list ap;
        int k;

        va_start(ap, format);
        k = vasprintf(&l[*n], format, ap);
        va_end(ap);
        if (k < 0) {
                l[*n] = NULL;
                return -ENOMEM;
        }
        (*n)++;
        return 0;
}

int spawn_build_env(char *const *caller_env, const char *shim_path, const LockSettings *lock,
                    int report_fd, char ***ret) {
        _cleanup_strv_free_ char **filtered = NULL, **l = NULL;
        const char *mode;
        size_t n = 0, m = 0;
        int r;

        r = env_filter(caller_env, &filtered, NULL);
        if (r < 0)
                return r;
        while (filtered[m])
                m++;

        if (!shim_path) {
                *ret = TAKE_PTR(filtered);
                return 0;
        }

        mode = lock_mode_to_string(lock->mode);
        if (!mode)
                return -EINVAL;

        /* The filtered variables plus the 7 the shim reads, plus the terminator. */
        l = calloc(m + 8, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (; n < m; n++)
                l[n] = TAKE_PTR(filtered[n]);

        r = strv_push_printf(l, &n, "LD_PRELOAD=%s", shim_path);
        if (r >= 0)
                r = strv_push_printf(l, &n, "MEMLOCK_MODE=%s", mode);
        if (r >= 0) {
                if (lock->prefault_threads < 0)
                        r = strv_push_printf(l, &n, "MEMLOCK_PREFAULT_THREADS=auto");
                else
                        r = strv_push_printf(l, &n, "MEMLOCK_PREFAULT_THREADS=%d",
                                             lock->prefault_threads);
        }
        if (r >= 0)
                r = strv_push_printf(l, &n, "MEMLOCK_THP=%d", lock->transparent_hugepages);
        if (r >= 0)
                r = strv_push_printf(l, &n, "MEMLOCK_INHERIT=%d", lock->inherit);
        if (r >= 0)
                r = strv_push_printf(l, &n, "MEMLOCK_ON_FAILURE=%s",
                                     lock->on_failure == ON_FAILURE_CONTINUE ? "continue"
                                                                             : "abort");
        if (r >= 0 && report_fd >= 0)
                r = strv_push_printf(l, &n, "MEMLOCK_REPORT_FD=%d", report_fd);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(l);
        return 0;
}

/* ---- the child -------------------------------------------------------------------------- */

typedef enum SpawnStage {
        SPAWN_STAGE_SIGNALS,
        SPAWN_STAGE_SETSID,
        SPAWN_STAGE_FDS,
        SPAWN_STAGE_RLIMIT,
        SPAWN_STAGE_KEEPCAPS,
        SPAWN_STAGE_GROUPS,
        SPAWN_STAGE_GID,
        SPAWN_STAGE_UID,
        SPAWN_STAGE_CAPS,
        SPAWN_STAGE_AMBIENT,
        SPAWN_STAGE_CHDIR,
        SPAWN_STAGE_PTRACE,
        SPAWN_STAGE_EXEC,
        _SPAWN_STAGE_MAX,
} SpawnStage;

/* What the child writes on the error pipe before it _exit()s. */
typedef struct ChildError {
        int32_t stage;
        int32_t error;
} ChildError;

typedef struct ChildArgs {
        const SpawnRequest *req;
        const char *path;
        char **envp;
        int fds[3]; /* stdin, stdout, stderr */
        int report_fd; /* -EBADF in trace mode */
        int error_fd;
        bool trace;
} ChildArgs;

_noreturn_ static void child_fail(int error_fd, SpawnStage stage, int error) {
        ChildError e = { .stage = stage, .error = error > 0 ? error : EIO };
        ssize_t k;

        do
                k = write(error_fd, &e, sizeof(e));
        while (k < 0 && errno == EINTR);
        _exit(127);
}

static int child_reset_signals(void) {
        struct sigaction sa = { .sa_handler = SIG_DFL };
        sigset_t all;

        for (int sig = 1; sig < _NSIG; sig++) {
                if (sig == SIGKILL || sig == SIGSTOP)
                        continue;
                /* Fails for the signals glibc reserves (32, 33): nothing to reset there. */
                (void) sigaction(sig, &sa, NULL);
        }
        sigemptyset(&all);
        return sigprocmask(SIG_SETMASK, &all, NULL) < 0 ? -errno : 0;
}

/* Puts fds[0..2] on 0..2, report_fd on SPAWN_REPORT_FD, the error pipe on SPAWN_ERROR_FD (still
 * O_CLOEXEC), closes every other fd. *errfd is the error pipe's current number throughout, so
 * that a failure half-way can still be reported. Returns 0 or -errno. */
static int child_setup_fds(const ChildArgs *a, int *errfd) {
        int moved[4] = { -EBADF, -EBADF, -EBADF, -EBADF }, k;

        /* First move everything above SPAWN_ERROR_FD, so the dup2()s below cannot clobber a
         * source that happens to sit on a target number. The error pipe goes first. */
        k = fcntl(*errfd, F_DUPFD_CLOEXEC, SPAWN_ERROR_FD + 1);
        if (k < 0)
                return -errno;
        *errfd = k;
        for (int i = 0; i < 3; i++) {
                moved[i] = fcntl(a->fds[i], F_DUPFD_CLOEXEC, SPAWN_ERROR_FD + 1);
                if (moved[i] < 0)
                        return -errno;
        }
        if (a->report_fd >= 0) {
                moved[3] = fcntl(a->report_fd, F_DUPFD_CLOEXEC, SPAWN_ERROR_FD + 1);
                if (moved[3] < 0)
                        return -errno;
        }

        if (dup3(*errfd, SPAWN_ERROR_FD, O_CLOEXEC) < 0)
                return -errno;
        *errfd = SPAWN_ERROR_FD;
        for (int i = 0; i < 3; i++)
                if (dup2(moved[i], i) < 0) /* dup2() clears O_CLOEXEC on the target */
                        return -errno;
        if (moved[3] >= 0) {
                if (dup2(moved[3], SPAWN_REPORT_FD) < 0)
                        return -errno;
        } else
                (void) close(SPAWN_REPORT_FD);

        if (close_range(SPAWN_ERROR_FD + 1, ~0U, 0) < 0) {
                /* Kernels before 5.9: close one by one. */
                long max = sysconf(_SC_OPEN_MAX);
                for (long fd = SPAWN_ERROR_FD + 1; fd < MIN(max > 0 ? max : 1024, 65536L); fd++)
                        (void) close((int) fd);
        }
        return 0;
}

/* After the change to a non-root uid: the workload's capability sets. The kernel already
 * cleared permitted and effective (unless PR_SET_KEEPCAPS), but not the inheritable set, which
 * still holds what the daemon kept: a program with file-inheritable capabilities would get
 * those. So every set is written from a clean slate. With grant_ipc_lock, CAP_IPC_LOCK (only)
 * stays permitted, effective and inheritable and is raised in the ambient set: an unprivileged
 * program exec'd from here keeps it, so its mlockall() is not held to RLIMIT_MEMLOCK. */
static int child_set_caps(bool grant_ipc_lock, SpawnStage *ret_stage) {
        capng_clear((capng_select_t) (CAPNG_SELECT_CAPS | CAPNG_SELECT_AMBIENT));
        if ((grant_ipc_lock &&
             capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_INHERITABLE,
                          CAP_IPC_LOCK) < 0) ||
            capng_apply(CAPNG_SELECT_CAPS) < 0) {
                *ret_stage = SPAWN_STAGE_CAPS;
                return errno > 0 ? -errno : -EPERM;
        }
        if (!grant_ipc_lock)
                return 0;
        if (capng_update(CAPNG_ADD, CAPNG_AMBIENT, CAP_IPC_LOCK) < 0 ||
            capng_apply(CAPNG_SELECT_AMBIENT) < 0) {
                *ret_stage = SPAWN_STAGE_AMBIENT;
                return errno > 0 ? -errno : -EPERM;
        }
        return 0;
}

static void child_reset_oom_score_adj(void) {
        int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return;
        (void) !write(fd, "0", 1);
        close(fd);
}

_noreturn_ static void child_run(const ChildArgs *a) {
        const SpawnRequest *req = a->req;
        bool keep_caps = !req->daemon_has_sys_resource && req->uid != 0;
        SpawnStage stage;
        int errfd = a->error_fd, r;

        r = child_reset_signals();
        if (r < 0)
                child_fail(errfd, SPAWN_STAGE_SIGNALS, -r);

        if (setsid() < 0)
                child_fail(errfd, SPAWN_STAGE_SETSID, errno);

        /* The daemon runs with OOMScoreAdjust=-900 so that the OOM killer spares it; a
         * workload must not inherit that protection. Best effort: raising is always allowed. */
        child_reset_oom_score_adj();

        r = child_setup_fds(a, &errfd);
        if (r < 0)
                child_fail(errfd, SPAWN_STAGE_FDS, -r);

        if (req->daemon_has_sys_resource) {
                rlim_t l = req->lock->limit == SIZE_INFINITY ? RLIM_INFINITY
                                                             : (rlim_t) req->lock->limit;
                struct rlimit rl = { .rlim_cur = l, .rlim_max = l };

                if (setrlimit(RLIMIT_MEMLOCK, &rl) < 0)
                        child_fail(errfd, SPAWN_STAGE_RLIMIT, errno);
        }

        if (keep_caps && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
                child_fail(errfd, SPAWN_STAGE_KEEPCAPS, errno);

        (void) umask(req->umask & 0777);

        if (setgroups(req->n_groups, req->groups) < 0)
                child_fail(errfd, SPAWN_STAGE_GROUPS, errno);
        if (setresgid(req->gid, req->gid, req->gid) < 0)
                child_fail(errfd, SPAWN_STAGE_GID, errno);
        if (setresuid(req->uid, req->uid, req->uid) < 0)
                child_fail(errfd, SPAWN_STAGE_UID, errno);

        /* A root caller's workload is root, with what root gets; anyone else's gets nothing but
         * (in the capability world) CAP_IPC_LOCK. */
        if (req->uid != 0) {
                r = child_set_caps(keep_caps, &stage);
                if (r < 0)
                        child_fail(errfd, stage, -r);
                (void) prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
        }

        /* As the caller: a directory the caller may not enter fails here, as for them. */
        if (chdir(req->cwd ?: "/") < 0)
                child_fail(errfd, SPAWN_STAGE_CHDIR, errno);

        if (a->trace) {
                /* The parent (this process's tracer from now on) sees the exec stop. Our
                 * permitted set is a subset of the daemon's, so no privilege is needed. */
                if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0)
                        child_fail(errfd, SPAWN_STAGE_PTRACE, errno);
                if (raise(SIGSTOP) != 0)
                        child_fail(errfd, SPAWN_STAGE_PTRACE, errno);
        }

        execve(a->path, req->argv, a->envp);
        child_fail(errfd, SPAWN_STAGE_EXEC, errno);
}

/* ---- the parent ------------------------------------------------------------------------- */

static int format_child_error(const SpawnRequest *req, const char *path, const ChildError *e,
                              char **ret_error) {
        int error = e->error > 0 ? e->error : EIO;
        const char *what;
        char buf[128];

        switch (e->stage) {
        case SPAWN_STAGE_SIGNALS:
                what = "Failed to reset signal handling";
                break;
        case SPAWN_STAGE_SETSID:
                what = "Failed to start a new session";
                break;
        case SPAWN_STAGE_FDS:
                what = "Failed to set up the standard file descriptors";
                break;
        case SPAWN_STAGE_RLIMIT:
                (void) snprintf(buf, sizeof(buf), "Failed to raise RLIMIT_MEMLOCK to %s",
                                FORMAT_BYTES(req->lock->limit));
                what = buf;
                break;
        case SPAWN_STAGE_KEEPCAPS:
                what = "Failed to keep capabilities across the change of user";
                break;
        case SPAWN_STAGE_GROUPS:
                (void) snprintf(buf, sizeof(buf), "Failed to set %zu supplementary groups",
                                req->n_groups);
                what = buf;
                break;
        case SPAWN_STAGE_GID:
                (void) snprintf(buf, sizeof(buf), "Failed to change to gid %u",
                                (unsigned) req->gid);
                what = buf;
                break;
        case SPAWN_STAGE_UID:
                (void) snprintf(buf, sizeof(buf), "Failed to change to uid %u",
                                (unsigned) req->uid);
                what = buf;
                break;
        case SPAWN_STAGE_CAPS:
                what = "Failed to keep CAP_IPC_LOCK for the workload";
                break;
        case SPAWN_STAGE_AMBIENT:
                what = "Failed to raise CAP_IPC_LOCK in the ambient set";
                break;
        case SPAWN_STAGE_CHDIR:
                set_error(ret_error, "Failed to change directory to '%s' as uid %u: %s",
                          req->cwd ?: "/", (unsigned) req->uid, strerror(error));
                return -error;
        case SPAWN_STAGE_PTRACE:
                set_error(ret_error,
                          "'%s' cannot load the shim (a static or secure-exec program), and "
                          "tracing it to lock it at its exec stop was refused "
                          "(PTRACE_TRACEME): %s",
                          path, strerror(error));
                return -error;
        case SPAWN_STAGE_EXEC:
                set_error(ret_error, "Failed to execute '%s' as uid %u: %s", path,
                          (unsigned) req->uid, strerror(error));
                return -error;
        default:
                what = "Failed to start the workload";
                break;
        }
        set_error(ret_error, "%s: %s", what, strerror(error));
        return -error;
}

/* How long the child may take from fork to exec (set-up as the caller: chdir on a slow network
 * file system, the first stops under ptrace). After that it is killed and the spawn fails:
 * spawn_workload() runs in the daemon's loop and must not hang there. */
#define SPAWN_START_TIMEOUT_USEC (10ULL * 1000000ULL)

static uint64_t now_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

/* Reads a ChildError from the error pipe. 1: read one, 0: EOF (the exec succeeded),
 * -ETIMEDOUT when deadline (CLOCK_MONOTONIC µs) passes first. */
static int read_child_error(int fd, uint64_t deadline, ChildError *ret) {
        size_t n = 0;

        while (n < sizeof(*ret)) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                uint64_t t = now_usec();
                ssize_t k;
                int q;

                if (t >= deadline)
                        return -ETIMEDOUT;
                q = poll(&p, 1, (int) MIN((deadline - t + 999) / 1000, (uint64_t) INT32_MAX));
                if (q < 0 && errno == EINTR)
                        continue;
                if (q < 0)
                        return negative_errno();
                if (q == 0)
                        return -ETIMEDOUT;

                k = read(fd, (uint8_t *) ret + n, sizeof(*ret) - n);
                if (k < 0) {
                        if (errno == EINTR || errno == EAGAIN)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        return n == 0 ? 0 : -EBADMSG;
                n += (size_t) k;
        }
        return 1;
}

static void reap(pid_t pid) {
        while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
                ;
}

static void kill_and_reap(pid_t pid) {
        (void) kill(pid, SIGKILL);
        reap(pid);
}

/* waitpid() for our traced child, giving up at deadline (CLOCK_MONOTONIC µs): -ETIMEDOUT.
 * Polls with a short, growing sleep: stops cannot be waited for through a pidfd. */
static int wait_stopped(pid_t pid, uint64_t deadline, int *ret_status) {
        uint64_t nap = 50;

        for (;;) {
                int status;
                pid_t k = waitpid(pid, &status, __WALL | WNOHANG);
                uint64_t t;

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == pid) {
                        *ret_status = status;
                        return 0;
                }
                t = now_usec();
                if (t >= deadline)
                        return -ETIMEDOUT;
                nap = MIN(nap * 2, (uint64_t) 10000);
                (void) nanosleep(
                        &(struct timespec){ .tv_nsec = (long) MIN(nap, deadline - t) * 1000 },
                        NULL);
        }
}

#if defined(__x86_64__)

/* The tracee sits in a ptrace stop at a user-mode return point (syscall-exit-stop of execve).
 * Runs one syscall there: puts a syscall instruction at the instruction pointer, loads the
 * registers, single-steps over it, and restores text and registers. *pending_sig collects a
 * signal that arrived meanwhile, to be delivered at detach. */
static int exec_stop_syscall(pid_t pid, uint64_t deadline, long nr64, long nr32, const long args[3],
                             long *ret, int *pending_sig) {
        struct user_regs_struct saved, regs;
        bool compat;
        unsigned long word, patched;
        int status, r;

        if (ptrace(PTRACE_GETREGS, pid, NULL, &saved) < 0)
                return negative_errno();
        /* A 32-bit program runs with the compat code segment; it enters the kernel by int $0x80
         * with the i386 syscall numbers and argument registers. */
        compat = saved.cs == 0x23;

        errno = 0;
        word = (unsigned long) ptrace(PTRACE_PEEKTEXT, pid, (void *) saved.rip, NULL);
        if (errno != 0)
                return negative_errno();
        /* Little-endian: the low two bytes are the first two instruction bytes. */
        patched = (word & ~0xffffUL) | (compat ? 0x80cdUL /* cd 80 */ : 0x050fUL /* 0f 05 */);
        if (ptrace(PTRACE_POKETEXT, pid, (void *) saved.rip, (void *) patched) < 0)
                return negative_errno();

        regs = saved;
        regs.orig_rax = (unsigned long) -1; /* not in a syscall: no restart logic applies */
        if (compat) {
                regs.rax = (unsigned long) nr32;
                regs.rbx = (unsigned long) args[0];
                regs.rcx = (unsigned long) args[1];
                regs.rdx = (unsigned long) args[2];
        } else {
                regs.rax = (unsigned long) nr64;
                regs.rdi = (unsigned long) args[0];
                regs.rsi = (unsigned long) args[1];
                regs.rdx = (unsigned long) args[2];
        }
        if (ptrace(PTRACE_SETREGS, pid, NULL, &regs) < 0) {
                r = negative_errno();
                goto restore;
        }

        for (;;) {
                if (ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL) < 0) {
                        r = negative_errno();
                        goto restore;
                }
                r = wait_stopped(pid, deadline, &status);
                if (r < 0)
                        goto restore;
                if (!WIFSTOPPED(status))
                        return -ESRCH; /* died: nothing to restore */
                if (WSTOPSIG(status) == SIGTRAP || WSTOPSIG(status) == (SIGTRAP | 0x80))
                        break;
                /* Another signal arrived first: keep it for later, step again. */
                *pending_sig = WSTOPSIG(status);
        }

        if (ptrace(PTRACE_GETREGS, pid, NULL, &regs) < 0) {
                r = negative_errno();
                goto restore;
        }
        *ret = compat ? (long) (int32_t) regs.rax : (long) regs.rax;
        r = 0;

restore:
        if (ptrace(PTRACE_POKETEXT, pid, (void *) saved.rip, (void *) word) < 0 && r >= 0)
                r = negative_errno();
        if (ptrace(PTRACE_SETREGS, pid, NULL, &saved) < 0 && r >= 0)
                r = negative_errno();
        return r;
}

#define HAVE_EXEC_STOP_INJECTION 1
#define NR32_MLOCKALL 152
#define NR32_PRCTL 172
#define NR32_EXIT_GROUP 252

/* Prepares the tracee for leaving by exit_group(status) once detached: nothing to restore. */
static int exec_stop_prepare_exit(pid_t pid, int status) {
        struct user_regs_struct regs;
        unsigned long word, patched;
        bool compat;

        if (ptrace(PTRACE_GETREGS, pid, NULL, &regs) < 0)
                return negative_errno();
        compat = regs.cs == 0x23;
        errno = 0;
        word = (unsigned long) ptrace(PTRACE_PEEKTEXT, pid, (void *) regs.rip, NULL);
        if (errno != 0)
                return negative_errno();
        patched = (word & ~0xffffUL) | (compat ? 0x80cdUL : 0x050fUL);
        if (ptrace(PTRACE_POKETEXT, pid, (void *) regs.rip, (void *) patched) < 0)
                return negative_errno();
        regs.orig_rax = (unsigned long) -1;
        regs.rax = compat ? NR32_EXIT_GROUP : SYS_exit_group;
        if (compat)
                regs.rbx = (unsigned long) status;
        else
                regs.rdi = (unsigned long) status;
        if (ptrace(PTRACE_SETREGS, pid, NULL, &regs) < 0)
                return negative_errno();
        return 0;
}

#else
#define HAVE_EXEC_STOP_INJECTION 0
#endif

/* Reads VmLck of pid; 0 if unknown. */
_unused_ static uint64_t read_vm_lck(pid_t pid) {
        _cleanup_close_ int dfd = -EBADF;
        ProcStatus st;

        dfd = proc_open(pid);
        if (dfd < 0 || proc_status_read(dfd, &st) < 0 || st.vm_lck == PROC_UNSET)
                return 0;
        return st.vm_lck;
}

/* The caller's stderr is the caller's: never block the daemon on it. One write of less than
 * PIPE_BUF bytes when poll() says there is room, else the message is lost (the report still
 * says what happened). */
_unused_ static void write_if_ready(int fd, const char *msg) {
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        size_t n = MIN(strlen(msg), (size_t) PIPE_BUF - 1);

        if (poll(&p, 1, 0) == 1 && (p.revents & POLLOUT))
                (void) !write(fd, msg, n);
}

/* Best effort: a reader that went away loses the message, nothing else to do about it. */
_unused_ static void write_all_ignore(int fd, const void *buf, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, buf, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return;
                buf = (const uint8_t *) buf + k;
                n -= (size_t) k;
        }
}

/* The child is traced by us and has stopped itself (SIGSTOP) before execve. Lets it exec,
 * injects mlockall (and the ambient clear) at the exec stop, detaches, and writes the report.
 * Returns 0 when the workload runs (the report says whether it locked), or -errno with the
 * child reaped. */
static int spawn_trace_exec(const SpawnRequest *req, const char *path, pid_t pid, int error_fd,
                            int report_w, char **ret_error) {
        uint64_t deadline = now_usec() + SPAWN_START_TIMEOUT_USEC;
        _unused_ int pending_sig = 0;
        int status, r;
        bool stopped = false;

        /* Phase 1: the initial SIGSTOP, or an early death (the error pipe says why). Phase 2:
         * the exec event. Other signals are passed on. */
        for (;;) {
                r = wait_stopped(pid, deadline, &status);
                if (r < 0) {
                        kill_and_reap(pid);
                        if (r == -ETIMEDOUT)
                                set_error(
                                        ret_error,
                                        "'%s' did not reach its exec within %llu s; it was "
                                        "killed.",
                                        path,
                                        (unsigned long long) (SPAWN_START_TIMEOUT_USEC / 1000000));
                        else
                                set_error(ret_error, "Failed to wait for the workload: %s",
                                          strerror(-r));
                        return r;
                }
                if (WIFEXITED(status) || WIFSIGNALED(status)) {
                        ChildError e;

                        r = read_child_error(error_fd, deadline, &e);
                        if (r > 0)
                                return format_child_error(req, path, &e, ret_error);
                        set_error(ret_error, "The workload died before it could be started.");
                        return -ECHILD;
                }
                if (!WIFSTOPPED(status))
                        continue;

                if (!stopped && WSTOPSIG(status) == SIGSTOP) {
                        stopped = true;
                        if (ptrace(PTRACE_SETOPTIONS, pid, NULL,
                                   (void *) (PTRACE_O_TRACEEXEC | PTRACE_O_TRACESYSGOOD |
                                             PTRACE_O_EXITKILL)) < 0 ||
                            ptrace(PTRACE_CONT, pid, NULL, NULL) < 0) {
                                r = negative_errno();
                                kill_and_reap(pid);
                                set_error(ret_error, "Failed to trace the workload: %s",
                                          strerror(-r));
                                return r;
                        }
                        continue;
                }
                if (stopped && status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXEC << 8)))
                        break;

                /* A signal for the child: deliver it. */
                if (ptrace(PTRACE_CONT, pid, NULL, (void *) (long) WSTOPSIG(status)) < 0) {
                        r = negative_errno();
                        kill_and_reap(pid);
                        set_error(ret_error, "Failed to trace the workload: %s", strerror(-r));
                        return r;
                }
        }

#if HAVE_EXEC_STOP_INJECTION
        /* The exec event stop comes before execve returns: the kernel still stores the syscall's
         * return value in rax afterwards, so injected registers would be overwritten. Go on to
         * the syscall-exit stop, which is a clean return-to-user point. */
        for (;;) {
                if (ptrace(PTRACE_SYSCALL, pid, NULL, NULL) < 0) {
                        r = negative_errno();
                        goto fail_kill;
                }
                r = wait_stopped(pid, deadline, &status);
                if (r < 0)
                        goto fail_kill;
                if (!WIFSTOPPED(status)) {
                        set_error(ret_error, "'%s' died at its start.", path);
                        return -ECHILD;
                }
                if (WSTOPSIG(status) == (SIGTRAP | 0x80))
                        break;
                pending_sig = WSTOPSIG(status);
        }

        {
                int flags = lock_mode_to_mlockall_flags(req->lock->mode);
                long args[3] = { flags, 0, 0 }, res = 0;
                uint64_t start = now_usec(), duration;
                ShimReport report;
                int error;

                r = exec_stop_syscall(pid, deadline, SYS_mlockall, NR32_MLOCKALL, args, &res,
                                      &pending_sig);
                if (r < 0)
                        goto fail_kill;
                duration = now_usec() - start;
                error = res < 0 ? (int) -res : 0;

                if (error == 0 && !req->lock->inherit) {
                        /* As the shim does with MEMLOCK_INHERIT=0: what this program execs
                         * gets no CAP_IPC_LOCK. The program itself keeps it (MCL_FUTURE). */
                        long a[3] = { PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0 }, res2 = 0;

                        r = exec_stop_syscall(pid, deadline, SYS_prctl, NR32_PRCTL, a, &res2,
                                              &pending_sig);
                        if (r < 0)
                                goto fail_kill;
                }

                if (error != 0 && req->lock->on_failure == ON_FAILURE_ABORT) {
                        /* Like the shim: a one-line reason on the workload's stderr, exit 127. */
                        _cleanup_free_ char *msg = NULL;

                        if (asprintf(&msg,
                                     "mlockd: could not lock the memory of '%s' (mlockall: "
                                     "%s); stopping it.\n",
                                     path, strerror(error)) >= 0 &&
                            req->stderr_fd >= 0)
                                write_if_ready(req->stderr_fd, msg);
                        r = exec_stop_prepare_exit(pid, 127);
                        if (r < 0)
                                goto fail_kill;
                        pending_sig = 0;
                }

                shim_report_init(&report, error, (uint32_t) req->lock->mode,
                                 error ? SHIM_STAGE_MLOCKALL : SHIM_STAGE_NONE,
                                 error ? 0 : read_vm_lck(pid), duration, pid,
                                 error != 0 && req->lock->on_failure == ON_FAILURE_ABORT
                                         ? SHIM_REPORT_ABORTED
                                         : 0);
                write_all_ignore(report_w, &report, sizeof(report));
        }

        if (ptrace(PTRACE_DETACH, pid, NULL, (void *) (long) pending_sig) < 0) {
                r = negative_errno();
                goto fail_kill;
        }
        return 0;

fail_kill:
        kill_and_reap(pid);
        set_error(ret_error, "Failed to lock '%s' at its exec stop: %s", path, strerror(-r));
        return r;
#else
        kill_and_reap(pid);
        set_error(ret_error,
                  "Locking '%s' at its exec stop is not implemented on this "
                  "architecture.",
                  path);
        return -EOPNOTSUPP;
#endif
}

int spawn_workload(const SpawnRequest *req, SpawnResult *ret, char **ret_error) {
        _cleanup_(exec_check_done) ExecCheck check = { .kind = _EXEC_KIND_INVALID };
        _cleanup_strv_free_ char **envp = NULL;
        _cleanup_close_ int report_r = -EBADF, report_w = -EBADF, error_r = -EBADF,
                            error_w = -EBADF, null_fd = -EBADF, pidfd = -EBADF;
        ExecCaller caller;
        ChildArgs args;
        bool trace;
        pid_t pid;
        int r;

        if (!req || !req->argv || !req->argv[0] || !req->lock ||
            (req->n_groups > 0 && !req->groups)) {
                set_error(ret_error, "Invalid spawn request.");
                return -EINVAL;
        }
        if (req->cwd && req->cwd[0] != '/') {
                set_error(ret_error, "The working directory '%s' is not an absolute path.",
                          req->cwd);
                return -EINVAL;
        }

        caller = (ExecCaller){
                .uid = req->uid,
                .gid = req->gid,
                .groups = req->groups,
                .n_groups = req->n_groups,
                .cwd = req->cwd,
                .path = env_get(req->env, "PATH"),
        };
        r = exec_check(req->argv[0], &caller, &check, ret_error);
        if (r < 0)
                return r;

        trace = exec_kind_needs_injection(check.kind);
        if (check.kind == EXEC_KIND_SECURE_EXEC && !req->daemon_has_sys_ptrace) {
                set_error(ret_error,
                          "'%s' is a set-user-ID, set-group-ID or file-capability program: the "
                          "loader ignores LD_PRELOAD for it, and without CAP_SYS_PTRACE the "
                          "daemon cannot lock it at its exec stop.",
                          check.path);
                return -EPERM;
        }
        if (trace && !HAVE_EXEC_STOP_INJECTION) {
                set_error(ret_error,
                          "'%s' is a %s program, which the shim cannot reach, and locking at "
                          "the exec stop is not implemented on this architecture.",
                          check.path, exec_kind_to_string(check.kind));
                return -EOPNOTSUPP;
        }
        if (!trace && !req->shim_path) {
                set_error(ret_error, "No shim library configured.");
                return -EINVAL;
        }

        r = spawn_build_env(req->env, trace ? NULL : req->shim_path, req->lock, SPAWN_REPORT_FD,
                            &envp);
        if (r < 0) {
                set_error(ret_error, "Failed to build the environment: %s", strerror(-r));
                return r;
        }

        {
                int p[2];

                if (pipe2(p, O_CLOEXEC) < 0)
                        return negative_errno();
                report_r = p[0];
                report_w = p[1];
                if (pipe2(p, O_CLOEXEC) < 0)
                        return negative_errno();
                error_r = p[0];
                error_w = p[1];
        }
        if (req->stdin_fd < 0 || req->stdout_fd < 0 || req->stderr_fd < 0) {
                null_fd = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
                if (null_fd < 0)
                        return negative_errno();
        }

        args = (ChildArgs){
                .req = req,
                .path = check.path,
                .envp = envp,
                .fds = { req->stdin_fd >= 0 ? req->stdin_fd : null_fd,
                         req->stdout_fd >= 0 ? req->stdout_fd : null_fd,
                         req->stderr_fd >= 0 ? req->stderr_fd : null_fd },
                .report_fd = trace ? -EBADF : report_w,
                .error_fd = error_w,
                .trace = trace,
        };

        pid = fork();
        if (pid < 0) {
                r = negative_errno();
                set_error(ret_error, "Failed to fork: %s", strerror(-r));
                return r;
        }
        if (pid == 0)
                child_run(&args);

        error_w = safe_close(error_w);
        if (!trace)
                report_w = safe_close(report_w);

        /* Our unreaped child: the pid cannot have been reused. */
        pidfd = pidfd_open_checked(pid);
        if (pidfd < 0) {
                r = pidfd;
                kill_and_reap(pid);
                set_error(ret_error, "Failed to open a pidfd for the workload: %s", strerror(-r));
                return r;
        }

        if (trace) {
                r = spawn_trace_exec(req, check.path, pid, error_r, report_w, ret_error);
                if (r < 0)
                        return r;
                report_w = safe_close(report_w);
        } else {
                ChildError e;

                /* Blocks until the child has exec'd (EOF) or failed: set-up work only. */
                r = read_child_error(error_r, now_usec() + SPAWN_START_TIMEOUT_USEC, &e);
                if (r > 0) {
                        reap(pid); /* it _exit()s right after writing */
                        return format_child_error(req, check.path, &e, ret_error);
                }
                if (r < 0) {
                        kill_and_reap(pid);
                        if (r == -ETIMEDOUT)
                                set_error(ret_error,
                                          "'%s' did not start within %llu s (stuck entering "
                                          "'%s'?); it was killed.",
                                          check.path,
                                          (unsigned long long) (SPAWN_START_TIMEOUT_USEC / 1000000),
                                          req->cwd ?: "/");
                        else
                                set_error(ret_error,
                                          "Failed to read the workload's start-up status: %s",
                                          strerror(-r));
                        return r;
                }
        }

        if (fcntl(report_r, F_SETFL, O_NONBLOCK) < 0) {
                r = negative_errno();
                kill_and_reap(pid);
                return r;
        }

        *ret = (SpawnResult){
                .pid = pid,
                .pidfd = TAKE_FD(pidfd),
                .report_fd = TAKE_FD(report_r),
                .mechanism = trace                          ? MECHANISM_PTRACE
                             : req->daemon_has_sys_resource ? MECHANISM_RLIMIT
                                                            : MECHANISM_CAPABILITY,
                .kind = check.kind,
                .exe = TAKE_PTR(check.path),
        };
        return 0;
}
