/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "daemon/helpers/spawn.h"

#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/lock-mode.h"
#include "common/macro.h"
#include "common/parse-util.h"
#include "common/process-util.h"
#include "common/string-table.h"
#include "daemon/helpers/env-filter.h"
#include "daemon/helpers/inject-job.h"

/* In the child: the control socket sits here until exec closes it (O_CLOEXEC). */
#define SPAWN_CONTROL_FD 4

static const char *const mechanism_table[_MECHANISM_MAX] = {
        [MECHANISM_RLIMIT] = "rlimit",
        [MECHANISM_CAPABILITY] = "capability",
        [MECHANISM_PTRACE] = "ptrace",
        [MECHANISM_PREEXISTING] = "preexisting",
};

DEFINE_STRING_TABLE_LOOKUP(mechanism, Mechanism)

void spawn_child_done(SpawnChild *c) {
        if (!c)
                return;
        safe_close(c->pidfd);
        safe_close(c->control_fd);
        safe_close(c->report_fd);
        safe_close(c->report_w);
        *c = SPAWN_CHILD_NULL;
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

/* ---- messages ---------------------------------------------------------------------------- */

void spawn_message_done(SpawnMessage *m) {
        if (!m)
                return;
        free(m->text);
        free(m->path);
        free(m->interpreter);
        *m = (SpawnMessage){ .kind = _EXEC_KIND_INVALID };
}

/* A string of exactly len bytes (NUL included) at p, or -EBADMSG. */
static int take_string(const uint8_t *p, size_t len, char **ret) {
        char *s;

        if (len == 0 || len > 4096 || p[len - 1] != '\0' || memchr(p, '\0', len) != p + len - 1)
                return -EBADMSG;
        s = strdup((const char *) p);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int spawn_message_parse(const void *buf, size_t n, SpawnMessage *ret) {
        _cleanup_(spawn_message_done) SpawnMessage m = { .kind = _EXEC_KIND_INVALID };
        const uint8_t *p = buf;
        SpawnMessageHeader h;
        int r;

        if (n < sizeof(h))
                return -EBADMSG;
        memcpy(&h, p, sizeof(h));
        p += sizeof(h);
        n -= sizeof(h);
        switch (h.type) {
        case SPAWN_MESSAGE_ERROR:
                if (h.error <= 0 || h.path_len != n)
                        return -EBADMSG;
                r = take_string(p, n, &m.text);
                if (r < 0)
                        return r;
                m.type = SPAWN_MESSAGE_ERROR;
                m.error = -h.error;
                break;
        case SPAWN_MESSAGE_IDENTITY:
                if (h.kind < 0 || h.kind >= _EXEC_KIND_MAX ||
                    (size_t) h.path_len + h.interpreter_len != n)
                        return -EBADMSG;
                r = take_string(p, h.path_len, &m.path);
                if (r < 0)
                        return r;
                if (h.interpreter_len > 0) {
                        r = take_string(p + h.path_len, h.interpreter_len, &m.interpreter);
                        if (r < 0)
                                return r;
                }
                m.type = SPAWN_MESSAGE_IDENTITY;
                m.kind = (ExecKind) h.kind;
                m.dev = h.dev;
                m.ino = h.ino;
                m.interp_dev = h.interp_dev;
                m.interp_ino = h.interp_ino;
                break;
        default:
                return -EBADMSG;
        }
        *ret = m;
        m = (SpawnMessage){ .kind = _EXEC_KIND_INVALID };
        return 0;
}

int spawn_message_read(int fd, SpawnMessage *ret) {
        _cleanup_free_ uint8_t *buf = NULL;
        ssize_t n;
        int r;

        buf = malloc(SPAWN_MESSAGE_MAX);
        if (!buf)
                return -ENOMEM;
        do
                n = recv(fd, buf, SPAWN_MESSAGE_MAX, MSG_DONTWAIT | MSG_TRUNC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return errno == EAGAIN ? -EAGAIN : negative_errno();
        if (n == 0)
                return 0;
        if ((size_t) n > SPAWN_MESSAGE_MAX)
                return -EBADMSG;
        r = spawn_message_parse(buf, (size_t) n, ret);
        return r < 0 ? r : 1;
}

int spawn_verdict_send(int fd, const SpawnVerdict *v) {
        ssize_t n;

        do
                n = send(fd, v, sizeof(*v), MSG_DONTWAIT | MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return negative_errno();
        return (size_t) n == sizeof(*v) ? 0 : -EIO;
}

int spawn_join_send(int fd, int cgroup_fd) {
        SpawnJoin j = { .magic = SPAWN_JOIN_MAGIC };
        struct iovec iov = { .iov_base = &j, .iov_len = sizeof(j) };
        union {
                struct cmsghdr h;
                uint8_t buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof(control),
        };
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        ssize_t n;

        if (cgroup_fd < 0)
                return -EBADF;
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &cgroup_fd, sizeof(int));
        do
                n = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return negative_errno();
        return (size_t) n == sizeof(j) ? 0 : -EIO;
}

/* ---- the child -------------------------------------------------------------------------- */

static void child_send(int fd, const void *buf, size_t n) {
        ssize_t k;

        do
                k = send(fd, buf, n, MSG_NOSIGNAL);
        while (k < 0 && errno == EINTR);
}

/* One datagram from the daemon, and the fd it carries if any (*ret_fd, else left alone). */
static ssize_t child_recv(int fd, void *buf, size_t size, int *ret_fd) {
        struct iovec iov = { .iov_base = buf, .iov_len = size };
        union {
                struct cmsghdr h;
                uint8_t buf[CMSG_SPACE(sizeof(int))];
        } control;
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof(control),
        };
        ssize_t n;

        do
                n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return n;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
                    c->cmsg_len == CMSG_LEN(sizeof(int)))
                        memcpy(ret_fd, CMSG_DATA(c), sizeof(int));
        return n;
}

/* Reports a failure to the daemon and exits. */
_noreturn_ _printf_(3, 4) static void child_fail(int fd, int error, const char *format, ...) {
        SpawnMessageHeader h = { .type = SPAWN_MESSAGE_ERROR, .error = error > 0 ? error : EIO };
        char buf[sizeof(h) + 1024];
        va_list ap;
        int k;

        va_start(ap, format);
        k = vsnprintf(buf + sizeof(h), sizeof(buf) - sizeof(h), format, ap);
        va_end(ap);
        if (k < 0)
                k = 0;
        k = MIN(k, (int) (sizeof(buf) - sizeof(h) - 1));
        h.path_len = (uint32_t) k + 1;
        buf[sizeof(h) + k] = '\0';
        memcpy(buf, &h, sizeof(h));
        child_send(fd, buf, sizeof(h) + (size_t) k + 1);
        _exit(127);
}

static void child_send_identity(int fd, const ExecFile *f) {
        SpawnMessageHeader h = {
                .type = SPAWN_MESSAGE_IDENTITY,
                .kind = f->kind,
                .dev = f->dev,
                .ino = f->ino,
                .interp_dev = f->interp_dev,
                .interp_ino = f->interp_ino,
        };
        size_t pl = strlen(f->path) + 1, il = f->interpreter ? strlen(f->interpreter) + 1 : 0;
        uint8_t *buf;

        if (pl > 4096 || il > 4096)
                child_fail(fd, ENAMETOOLONG, "The path of '%s' is too long.", f->path);
        h.path_len = (uint32_t) pl;
        h.interpreter_len = (uint32_t) il;
        buf = malloc(sizeof(h) + pl + il);
        if (!buf)
                child_fail(fd, ENOMEM, "Out of memory.");
        memcpy(buf, &h, sizeof(h));
        memcpy(buf + sizeof(h), f->path, pl);
        if (il > 0)
                memcpy(buf + sizeof(h) + pl, f->interpreter, il);
        child_send(fd, buf, sizeof(h) + pl + il);
        free(buf);
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

/* Puts fds[0..2] on 0..2, the report pipe on SPAWN_REPORT_FD, the control socket on
 * SPAWN_CONTROL_FD (still O_CLOEXEC), *cwd_fd (if any) on the next, closes every other fd. *ctl is the control socket's current
 * number throughout, so that a failure half-way can still be reported. */
static int child_setup_fds(const int fds[3], int report_w, int *ctl, int *cwd_fd) {
        int moved[4] = { -EBADF, -EBADF, -EBADF, -EBADF }, k;

        /* First move everything above SPAWN_CONTROL_FD, so the dup2()s below cannot clobber a
         * source that happens to sit on a target number. */
        if (*cwd_fd >= 0) {
                k = fcntl(*cwd_fd, F_DUPFD_CLOEXEC, SPAWN_CONTROL_FD + 2);
                if (k < 0)
                        return -errno;
                *cwd_fd = k;
        }
        k = fcntl(*ctl, F_DUPFD_CLOEXEC, SPAWN_CONTROL_FD + 2);
        if (k < 0)
                return -errno;
        *ctl = k;
        for (int i = 0; i < 3; i++) {
                moved[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, SPAWN_CONTROL_FD + 2);
                if (moved[i] < 0)
                        return -errno;
        }
        moved[3] = fcntl(report_w, F_DUPFD_CLOEXEC, SPAWN_CONTROL_FD + 2);
        if (moved[3] < 0)
                return -errno;

        if (dup3(*ctl, SPAWN_CONTROL_FD, O_CLOEXEC) < 0)
                return -errno;
        *ctl = SPAWN_CONTROL_FD;
        for (int i = 0; i < 3; i++)
                if (dup2(moved[i], i) < 0) /* dup2() clears O_CLOEXEC on the target */
                        return -errno;
        if (dup2(moved[3], SPAWN_REPORT_FD) < 0)
                return -errno;
        if (*cwd_fd >= 0) {
                /* Exec's working directory, entered later as the caller. */
                if (dup3(*cwd_fd, SPAWN_CONTROL_FD + 1, O_CLOEXEC) < 0)
                        return -errno;
                *cwd_fd = SPAWN_CONTROL_FD + 1;
        }

        if (close_range(SPAWN_CONTROL_FD + 2, ~0U, 0) < 0) {
                /* Kernels before 5.9: close one by one. */
                long max = sysconf(_SC_OPEN_MAX);
                for (long fd = SPAWN_CONTROL_FD + 2; fd < MIN(max > 0 ? max : 1024, 65536L); fd++)
                        (void) close((int) fd);
        }
        return 0;
}

/* After the change to a non-root uid: only `keep` stays, and only permitted. The kernel already
 * cleared the effective set (the permitted one survives PR_SET_KEEPCAPS), but not the
 * inheritable set: every set is written from a clean slate. While the child resolves the
 * command it so has no effective capability at all: it sees what the caller sees. */
static int child_caps_resolving(int keep) {
        bool held;

        held = capng_get_caps_process() >= 0 &&
               capng_have_capability(CAPNG_PERMITTED, (unsigned) keep) > 0;
        capng_clear((capng_select_t) (CAPNG_SELECT_CAPS | CAPNG_SELECT_AMBIENT));
        if ((held && capng_update(CAPNG_ADD, CAPNG_PERMITTED, (unsigned) keep) < 0) ||
            capng_apply(CAPNG_SELECT_CAPS) < 0)
                return errno > 0 ? -errno : -EPERM;
        return 0;
}

/* The workload's capability sets: nothing, or with grant_ipc_lock CAP_IPC_LOCK (only) permitted,
 * effective, inheritable and ambient: an unprivileged program exec'd from here keeps it, so its
 * mlockall() is not held to RLIMIT_MEMLOCK. */
static int child_caps_final(bool grant_ipc_lock) {
        capng_clear((capng_select_t) (CAPNG_SELECT_CAPS | CAPNG_SELECT_AMBIENT));
        if ((grant_ipc_lock &&
             capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_INHERITABLE,
                          CAP_IPC_LOCK) < 0) ||
            capng_apply(CAPNG_SELECT_CAPS) < 0)
                return errno > 0 ? -errno : -EPERM;
        if (!grant_ipc_lock)
                return 0;
        if (capng_update(CAPNG_ADD, CAPNG_AMBIENT, CAP_IPC_LOCK) < 0 ||
            capng_apply(CAPNG_SELECT_AMBIENT) < 0)
                return errno > 0 ? -errno : -EPERM;
        return 0;
}

static int child_raise_memlock(uid_t uid, uint64_t limit) {
        rlim_t l = limit == SIZE_INFINITY ? RLIM_INFINITY : (rlim_t) limit;
        struct rlimit rl = { .rlim_cur = l, .rlim_max = l };

        if (uid != 0) {
                /* The one capability kept permitted: effective for this call. Without it (the
                 * daemon lacks it) lowering the limit still works, raising fails below. */
                capng_clear(CAPNG_SELECT_CAPS);
                if (capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_SYS_RESOURCE) >=
                    0)
                        (void) capng_apply(CAPNG_SELECT_CAPS);
        }
        return setrlimit(RLIMIT_MEMLOCK, &rl) < 0 ? -errno : 0;
}

static void child_reset_oom_score_adj(void) {
        int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return;
        (void) !write(fd, "0", 1);
        close(fd);
}

typedef struct ChildArgs {
        const SpawnRequest *req;
        int fds[3]; /* stdin, stdout, stderr */
        int report_w;
        int control_fd;
} ChildArgs;

/* Runs the script through the interpreter the child opened, with the script as /dev/fd/N: the
 * interpreter reads exactly the file that was decided on. */
static void child_exec_script(const ExecFile *f, char *const *argv, char *const *envp) {
        char fdpath[sizeof("/dev/fd/") + 12];
        size_t n = 0;
        char **l;

        while (argv[n])
                n++;
        l = calloc(n + 3, sizeof(char *));
        if (!l)
                return;
        (void) snprintf(fdpath, sizeof(fdpath), "/dev/fd/%d", f->fd);
        if (fcntl(f->fd, F_SETFD, 0) < 0)
                return;
        size_t k = 0;
        l[k++] = f->interpreter;
        if (f->interp_arg)
                l[k++] = f->interp_arg;
        l[k++] = fdpath;
        for (size_t i = 1; i < n; i++)
                l[k++] = argv[i];
        l[k] = NULL;
        (void) execveat(f->interp_fd, "", l, envp, AT_EMPTY_PATH);
        free(l);
}

_noreturn_ static void child_main(const ChildArgs *a) {
        const SpawnRequest *req = a->req;
        int keep_cap = req->daemon_has_sys_resource ? CAP_SYS_RESOURCE : CAP_IPC_LOCK;
        _cleanup_(exec_file_done) ExecFile f = EXEC_FILE_NULL;
        _cleanup_strv_free_ char **envp = NULL;
        _cleanup_free_ char *err = NULL;
        int ctl = a->control_fd, cwd_fd, r;
        SpawnVerdict v;
        ssize_t n;

        r = child_reset_signals();
        if (r < 0)
                child_fail(ctl, -r, "Failed to reset signal handling: %s", strerror(-r));
        if (setsid() < 0)
                child_fail(ctl, errno, "Failed to start a new session: %m");
        /* The daemon runs with OOMScoreAdjust=-900 so that the OOM killer spares it; a
         * workload must not inherit that protection. Best effort: raising is always allowed. */
        child_reset_oom_score_adj();

        /* The caller's root: what it names "/" is what it meant. */
        if (req->root_fd >= 0 && (fchdir(req->root_fd) < 0 || chroot(".") < 0))
                child_fail(ctl, errno, "Failed to enter the caller's root directory: %m");

        cwd_fd = req->cwd_fd;
        r = child_setup_fds(a->fds, a->report_w, &ctl, &cwd_fd);
        if (r < 0)
                child_fail(ctl, -r, "Failed to set up the standard file descriptors: %s",
                           strerror(-r));

        (void) umask(req->umask & 0777);
        if (req->uid != 0 && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
                child_fail(ctl, errno, "Failed to keep capabilities across the change of user: %m");
        if (setgroups(req->n_groups, req->groups) < 0)
                child_fail(ctl, errno, "Failed to set %zu supplementary groups: %m", req->n_groups);
        if (setresgid(req->gid, req->gid, req->gid) < 0)
                child_fail(ctl, errno, "Failed to change to gid %u: %m", (unsigned) req->gid);
        if (setresuid(req->uid, req->uid, req->uid) < 0)
                child_fail(ctl, errno, "Failed to change to uid %u: %m", (unsigned) req->uid);
        if (req->uid != 0) {
                r = child_caps_resolving(keep_cap);
                if (r < 0)
                        child_fail(ctl, -r, "Failed to drop capabilities: %s", strerror(-r));
                (void) prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
        }

        /* As the caller: a directory the caller may not enter fails here, as for them. */
        if (cwd_fd >= 0) {
                if (fchdir(cwd_fd) < 0)
                        child_fail(ctl, errno,
                                   "Failed to enter the caller's working directory as uid %u: %m",
                                   (unsigned) req->uid);
        } else if (chdir(req->cwd ?: "/") < 0)
                child_fail(ctl, errno, "Failed to change directory to '%s' as uid %u: %m",
                           req->cwd ?: "/", (unsigned) req->uid);

        r = exec_resolve(req->argv[0], env_get(req->env, "PATH"), SPAWN_PATH_ENTRIES_MAX, &f, &err);
        if (r < 0)
                child_fail(ctl, -r, "%s", err ?: "Cannot resolve the command.");
        child_send_identity(ctl, &f);
        if (req->identify_only)
                _exit(0);

        /* The decision, after the cgroup if there is one. Blocking here is the child's own
         * time, never the daemon's. */
        for (;;) {
                int cgroup_fd = -EBADF;

                n = child_recv(ctl, &v, sizeof(v), &cgroup_fd);
                if (n == (ssize_t) sizeof(SpawnJoin) && cgroup_fd >= 0 &&
                    ((const SpawnJoin *) &v)->magic == SPAWN_JOIN_MAGIC) {
                        ContainmentChild cc = CONTAINMENT_CHILD_NULL;

                        cc.join_fd = cgroup_fd;
                        r = containment_child_join(&cc);
                        (void) close(cgroup_fd);
                        if (r < 0)
                                child_fail(ctl, -r, "Failed to enter the workload's cgroup: %s",
                                           strerror(-r));
                        continue;
                }
                if (cgroup_fd >= 0)
                        (void) close(cgroup_fd);
                break;
        }
        if (n != (ssize_t) sizeof(v) || !v.allow)
                _exit(0);

        if (req->daemon_has_sys_resource) {
                r = child_raise_memlock(req->uid, v.lock.limit);
                if (r < 0)
                        child_fail(ctl, -r, "Failed to raise RLIMIT_MEMLOCK to %s: %s",
                                   FORMAT_BYTES(v.lock.limit), strerror(-r));
        }
        /* A root caller's workload is root, with what root gets; anyone else's gets nothing but
         * (in the capability world) CAP_IPC_LOCK. */
        if (req->uid != 0) {
                r = child_caps_final(!req->daemon_has_sys_resource);
                if (r < 0)
                        child_fail(ctl, -r, "Failed to keep CAP_IPC_LOCK for the workload: %s",
                                   strerror(-r));
        }

        r = spawn_build_env(req->env, v.exec_stop ? NULL : req->shim_path, &v.lock,
                            v.exec_stop ? -1 : SPAWN_REPORT_FD, &envp);
        if (r < 0)
                child_fail(ctl, -r, "Failed to build the environment: %s", strerror(-r));
        if (v.exec_stop)
                (void) close(SPAWN_REPORT_FD); /* the injector reports */

        /* Containment's hook: the seccomp filter, last before exec, after the change of uid
         * and capabilities (it forbids raising ambient capabilities). */
        if (v.seccomp != 0) {
                ContainmentChild cc = CONTAINMENT_CHILD_NULL;

                cc.seccomp = req->containment
                                     ? containment_seccomp_program(req->containment, v.seccomp == 2)
                                     : NULL;
                r = cc.seccomp ? containment_child_confine(&cc) : -EINVAL;
                if (r < 0)
                        child_fail(ctl, -r, "Failed to install the workload's seccomp filter: %s",
                                   strerror(-r));
        }

        if (f.interp_fd >= 0)
                child_exec_script(&f, req->argv, envp);
        else
                (void) execveat(f.fd, "", req->argv, envp, AT_EMPTY_PATH);
        child_fail(ctl, errno, "Failed to execute '%s' as uid %u: %m", f.path, (unsigned) req->uid);
}

/* ---- the parent ------------------------------------------------------------------------- */

int spawn_start(const SpawnRequest *req, SpawnChild *ret) {
        _cleanup_(spawn_child_done) SpawnChild c = SPAWN_CHILD_NULL;
        _cleanup_close_ int child_ctl = -EBADF, null_fd = -EBADF;
        ChildArgs args;
        int p[2], r;
        pid_t pid;

        if (!req || !req->argv || !req->argv[0] || (req->n_groups > 0 && !req->groups))
                return -EINVAL;
        if (req->cwd && req->cwd[0] != '/')
                return -EINVAL;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p) < 0)
                return negative_errno();
        c.control_fd = p[0];
        child_ctl = p[1];
        if (pipe2(p, O_CLOEXEC) < 0)
                return negative_errno();
        c.report_fd = p[0];
        c.report_w = p[1];
        if (req->stdin_fd < 0 || req->stdout_fd < 0 || req->stderr_fd < 0) {
                null_fd = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
                if (null_fd < 0)
                        return negative_errno();
        }
        args = (ChildArgs){
                .req = req,
                .fds = { req->stdin_fd >= 0 ? req->stdin_fd : null_fd,
                         req->stdout_fd >= 0 ? req->stdout_fd : null_fd,
                         req->stderr_fd >= 0 ? req->stderr_fd : null_fd },
                .report_w = c.report_w,
                .control_fd = child_ctl,
        };

        pid = fork();
        if (pid < 0)
                return negative_errno();
        if (pid == 0)
                child_main(&args);

        /* Our unreaped child: the pid cannot have been reused. */
        c.pid = pid;
        c.pidfd = pidfd_open_checked(pid);
        if (c.pidfd < 0) {
                r = c.pidfd;
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                return r;
        }
        if (fcntl(c.control_fd, F_SETFL, O_NONBLOCK) < 0 ||
            fcntl(c.report_fd, F_SETFL, O_NONBLOCK) < 0) {
                r = negative_errno();
                (void) pidfd_send_signal_checked(c.pidfd, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                return r;
        }
        *ret = c;
        c = SPAWN_CHILD_NULL;
        return 0;
}

/* ---- blocking, for tools and tests -------------------------------------------------------- */

static int wait_readable(int fd) {
        struct pollfd p = { .fd = fd, .events = POLLIN };

        for (;;) {
                int k = poll(&p, 1, -1);
                if (k >= 0)
                        return 0;
                if (errno != EINTR)
                        return negative_errno();
        }
}

static int read_message_blocking(int fd, SpawnMessage *ret) {
        for (;;) {
                int r = spawn_message_read(fd, ret);
                if (r != -EAGAIN)
                        return r;
                r = wait_readable(fd);
                if (r < 0)
                        return r;
        }
}

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
                .pidfd = -EBADF,
                .report_fd = -EBADF,
                .mechanism = _MECHANISM_INVALID,
                .kind = _EXEC_KIND_INVALID,
        };
}

int spawn_workload(const SpawnRequest *req, SpawnResult *ret, char **ret_error) {
        const LockSettings *lock = req ? req->lock : NULL;
        _cleanup_(spawn_child_done) SpawnChild c = SPAWN_CHILD_NULL;
        _cleanup_(spawn_message_done) SpawnMessage m = { .kind = _EXEC_KIND_INVALID };
        _cleanup_close_ int result_fd = -EBADF;
        _cleanup_free_ char *exe = NULL;
        ExecKind kind;
        pid_t helper = 0;
        SpawnVerdict v = {};
        int r;

        if (!lock) {
                helper_set_error(ret_error, "Invalid spawn request.");
                return -EINVAL;
        }
        r = spawn_start(req, &c);
        if (r < 0) {
                helper_set_error(ret_error, "Invalid spawn request: %s", strerror(-r));
                return r;
        }
        r = read_message_blocking(c.control_fd, &m);
        if (r <= 0 || m.type != SPAWN_MESSAGE_IDENTITY) {
                if (r > 0 && m.type == SPAWN_MESSAGE_ERROR) {
                        helper_set_error(ret_error, "%s", m.text);
                        r = m.error;
                } else {
                        helper_set_error(ret_error,
                                         "The workload died before it could be started.");
                        r = r < 0 ? r : -ECHILD;
                }
                goto fail;
        }
        v = (SpawnVerdict){
                .allow = 1,
                .exec_stop = exec_kind_needs_injection(m.kind),
                .lock = *lock,
        };
        v.mechanism = v.exec_stop                    ? MECHANISM_PTRACE
                      : req->daemon_has_sys_resource ? MECHANISM_RLIMIT
                                                     : MECHANISM_CAPABILITY;
        if (v.exec_stop && m.kind == EXEC_KIND_SECURE_EXEC && !req->daemon_has_sys_ptrace) {
                helper_set_error(
                        ret_error,
                        "'%s' is a set-user-ID, set-group-ID or file-capability program: the "
                        "loader ignores LD_PRELOAD for it, and without CAP_SYS_PTRACE it "
                        "cannot be locked at its exec stop.",
                        m.path);
                r = -EPERM;
                goto fail;
        }
        if (v.exec_stop) {
                InjectExecStop x = {
                        .go_fd = c.control_fd,
                        .go = &v,
                        .go_len = sizeof(v),
                        .report_fd = c.report_w,
                        .lock = *lock,
                };
                r = inject_job_start_exec_stop(c.pid, c.pidfd, &x, &helper, &result_fd);
        } else
                r = spawn_verdict_send(c.control_fd, &v);
        c.report_w = safe_close(c.report_w);
        if (r < 0) {
                helper_set_error(ret_error, "Failed to let the workload go on: %s", strerror(-r));
                goto fail;
        }

        kind = m.kind;
        exe = TAKE_PTR(m.path);
        spawn_message_done(&m);
        r = read_message_blocking(c.control_fd, &m);
        if (helper > 0) {
                while (waitpid(helper, NULL, 0) < 0 && errno == EINTR)
                        ;
                helper = 0;
        }
        if (r > 0) {
                helper_set_error(ret_error, "%s",
                                 m.type == SPAWN_MESSAGE_ERROR ? m.text : "Unexpected message.");
                r = m.type == SPAWN_MESSAGE_ERROR ? m.error : -EBADMSG;
                goto fail;
        }
        if (r < 0) {
                helper_set_error(ret_error, "Failed to hear from the workload: %s", strerror(-r));
                goto fail;
        }
        *ret = (SpawnResult){
                .pid = c.pid,
                .pidfd = TAKE_FD(c.pidfd),
                .report_fd = TAKE_FD(c.report_fd),
                .mechanism = (Mechanism) v.mechanism,
                .kind = kind,
                .exe = TAKE_PTR(exe),
        };
        return 0;

fail:
        (void) pidfd_send_signal_checked(c.pidfd, SIGKILL);
        while (waitpid(c.pid, NULL, 0) < 0 && errno == EINTR)
                ;
        if (helper > 0)
                while (waitpid(helper, NULL, 0) < 0 && errno == EINTR)
                        ;
        return r;
}
