/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libmemlock-shim.so: preloaded into a workload, locks its memory before main() runs, keeps the
 * lock across fork, reports the result to the daemon, and drops what it was given so that
 * programs the workload execs inherit nothing.
 *
 * Everything here runs in someone else's program, before its main() or in its forked child:
 * no stdio, no locale, no malloc; after fork only async-signal-safe calls. */

#include <dlfcn.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/shim-report.h"
#include "shim/shim-lock.h"
#include "shim/shim-mmap.h"
#include "shim/shim-settings.h"
#include "shim/shim-util.h"

#define SHIM_EXIT_FAILURE 127

/* Set once in the constructor, read by the atfork handler. */
static struct {
        LockMode mode;
        bool relock_in_child;
        bool abort_on_failure;
        bool verbose;
} shim_state;

static void say(const char *msg) {
        (void) shim_write_all(STDERR_FILENO, msg, strlen(msg));
}

static bool have_cap_ipc_lock(void) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = {};

        if (syscall(SYS_capget, &h, d) < 0)
                return false;
        return d[CAP_IPC_LOCK / 32].effective & (1u << (CAP_IPC_LOCK % 32));
}

static void put_mode(ShimBuf *b, LockMode mode) {
        shim_buf_puts(b, "mlockall(");
        shim_buf_puts(b, mode == LOCK_MODE_CURRENT    ? "MCL_CURRENT"
                         : mode == LOCK_MODE_ON_FAULT ? "MCL_CURRENT|MCL_FUTURE|MCL_ONFAULT"
                                                      : "MCL_CURRENT|MCL_FUTURE");
        shim_buf_puts(b, ")");
}

/* Why mlockall failed, in terms a person can act on. */
static void put_lock_failure(ShimBuf *b, LockMode mode, int error) {
        struct rlimit rl;

        put_mode(b, mode);
        shim_buf_puts(b, " failed: ");
        shim_buf_puts(b, shim_errno_desc(error));
        shim_buf_puts(b, " (");
        shim_buf_puts(b, shim_errno_name(error));
        shim_buf_puts(b, ")");
        if (error == EINVAL && mode == LOCK_MODE_ON_FAULT)
                shim_buf_puts(b, "; this kernel may not support MCL_ONFAULT (Linux 4.4+)");
        if ((error == ENOMEM || error == EPERM) && getrlimit(RLIMIT_MEMLOCK, &rl) == 0) {
                shim_buf_puts(b, "; RLIMIT_MEMLOCK ");
                if (rl.rlim_cur == RLIM_INFINITY)
                        shim_buf_puts(b, "infinity");
                else {
                        shim_buf_putu(b, rl.rlim_cur);
                        shim_buf_puts(b, " bytes");
                }
                shim_buf_puts(b,
                              have_cap_ipc_lock() ? ", CAP_IPC_LOCK present" : ", no CAP_IPC_LOCK");
        }
}

static void shim_atfork_child(void) {
        char msg[256];
        ShimBuf b = SHIM_BUF(msg, sizeof(msg));
        int r;

        if (!shim_state.relock_in_child)
                return;
        r = shim_relock_after_fork(shim_state.mode);
        if (r >= 0)
                return;
        /* Not locked: large mappings go to the kernel again, unlocked. */
        shim_mmap_disable();
        if (!shim_state.abort_on_failure && !shim_state.verbose)
                return;
        shim_buf_puts(&b, "memlock-shim: pid ");
        shim_buf_puti(&b, getpid());
        shim_buf_puts(&b, " (forked): ");
        put_lock_failure(&b, shim_state.mode, -r);
        shim_buf_puts(&b, shim_state.abort_on_failure ? "; exiting\n" : "; running unlocked\n");
        say(msg);
        if (shim_state.abort_on_failure)
                _exit(SHIM_EXIT_FAILURE);
}

/* One write(2) of the record, then close. SIGPIPE (the daemon went away) must not kill the
 * program: it is blocked around the write, and a SIGPIPE this write raised is taken back. */
static void report_send(int fd, const ShimReport *rep) {
        ShimReport le = {
                .magic = htole32(rep->magic),
                .version = htole32(rep->version),
                .error = (int32_t) htole32((uint32_t) rep->error),
                .mode = htole32(rep->mode),
                .stage = htole32(rep->stage),
                .prefault_threads = htole32(rep->prefault_threads),
                .vm_lck_bytes = htole64(rep->vm_lck_bytes),
                .duration_usec = htole64(rep->duration_usec),
                .prefault_bytes = htole64(rep->prefault_bytes),
                .pid = (int32_t) htole32((uint32_t) rep->pid),
                .flags = htole32(rep->flags),
        };
        sigset_t pipe_set, saved, pending;
        bool was_pending;
        ssize_t k;

        sigemptyset(&pipe_set);
        sigaddset(&pipe_set, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &pipe_set, &saved);
        sigpending(&pending);
        was_pending = sigismember(&pending, SIGPIPE);
        do
                k = write(fd, &le, sizeof(le));
        while (k < 0 && errno == EINTR);
        if (k < 0 && errno == EPIPE && !was_pending) {
                struct timespec zero = {};
                (void) sigtimedwait(&pipe_set, NULL, &zero);
        }
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
        close(fd);
}

static void __attribute__((constructor)) shim_init(void) {
        ShimSettings s;
        ShimLockResult res = {};
        ShimReport rep = {
                .magic = SHIM_REPORT_MAGIC,
                .version = SHIM_REPORT_VERSION,
                .pid = getpid(),
        };
        const char *bad = NULL;
        char msg[512];
        ShimBuf b = SHIM_BUF(msg, sizeof(msg));
        uint64_t vm_lck = 0;
        Dl_info self = {};
        bool failed;
        int r;

        r = shim_settings_from_env(&s, &bad);
        if (r < 0) {
                res.error = -r;
                res.stage = SHIM_STAGE_CONFIG;
                shim_buf_puts(&b, "memlock-shim: invalid ");
                shim_buf_puts(&b, bad);
                shim_buf_puts(&b, "='");
                shim_buf_putsn(&b, getenv(bad), 64);
                shim_buf_puts(&b, "', not locking");
        }
        shim_settings_unset_env(s.inherit);
        if (s.report_fd >= 0 && fcntl(s.report_fd, F_GETFD) < 0)
                s.report_fd = -EBADF; /* not ours to write to */

        if (r >= 0) {
                r = shim_lock(s.mode, s.prefault_threads, s.thp, &res);
                if (r < 0) {
                        shim_buf_puts(&b, "memlock-shim: ");
                        put_lock_failure(&b, s.mode, -r);
                }
        }
        (void) shim_read_vm_lck(&vm_lck);
        failed = r < 0;

        if (!failed) {
                shim_state.mode = s.mode;
                shim_state.abort_on_failure = s.abort_on_failure;
                shim_state.verbose = s.verbose;
                shim_state.relock_in_child = true;
                (void) pthread_atfork(NULL, NULL, shim_atfork_child);
                /* Mode on only: MCL_FUTURE populates new mappings, which the interposer then
                 * does in parallel. on-fault defers population; current locks nothing later. */
                if (s.mode == LOCK_MODE_ON)
                        shim_mmap_enable(s.prefault_mmap, s.prefault_threads, s.thp, s.verbose);
        }

        if (!s.inherit) {
                /* Exec'd programs get neither the shim nor the ambient capabilities the daemon
                 * may have granted us. Our own effective/permitted sets stay: MCL_FUTURE keeps
                 * needing CAP_IPC_LOCK (or the rlimit) for every later mapping. */
                (void) dladdr((void *) shim_init, &self);
                (void) shim_ld_preload_remove(self.dli_fname);
                (void) prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
        }

        rep.error = res.error;
        rep.mode = (uint32_t) s.mode;
        rep.stage = res.stage;
        rep.prefault_threads = res.prefault.threads;
        rep.vm_lck_bytes = vm_lck;
        rep.duration_usec = res.duration_usec;
        rep.prefault_bytes = res.prefault.bytes;
        rep.flags = (failed && s.abort_on_failure ? SHIM_REPORT_ABORTED : 0) |
                    (res.prefault.fallback ? SHIM_REPORT_FALLBACK : 0);
        if (s.report_fd >= 0)
                report_send(s.report_fd, &rep);

        if (failed) {
                if (s.abort_on_failure || s.verbose) {
                        shim_buf_puts(&b, s.abort_on_failure
                                                  ? "; exiting (MEMLOCK_ON_FAILURE=abort)\n"
                                                  : "; running unlocked\n");
                        say(msg);
                }
                if (s.abort_on_failure)
                        _exit(SHIM_EXIT_FAILURE);
                return;
        }

        if (s.verbose) {
                shim_buf_puts(&b, "memlock-shim: pid ");
                shim_buf_puti(&b, rep.pid);
                shim_buf_puts(&b, " locked ");
                shim_buf_putu(&b, vm_lck >> 10);
                shim_buf_puts(&b, " KiB with ");
                put_mode(&b, s.mode);
                shim_buf_puts(&b, " in ");
                shim_buf_putu(&b, res.duration_usec);
                shim_buf_puts(&b, " us (prefault: ");
                shim_buf_putu(&b, res.prefault.bytes >> 10);
                shim_buf_puts(&b, " KiB, ");
                shim_buf_putu(&b, res.prefault.threads);
                shim_buf_puts(&b, " threads");
                if (res.prefault.fallback)
                        shim_buf_puts(&b, ", touched: no MADV_POPULATE_WRITE");
                if (res.prefault.error) {
                        shim_buf_puts(&b, ", error ");
                        shim_buf_puts(&b, shim_errno_name(res.prefault.error));
                }
                shim_buf_puts(&b, ")\n");
                say(msg);
        }
}
