/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Starting a workload for Manager.Run: fork, take the caller's identity, grant the lock, exec. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "daemon/helpers/exec-check.h"
#include "policy/policy.h"

/* How the workload was given the right to lock beyond the default RLIMIT_MEMLOCK. Strings as
 * the Workload.Mechanism property in docs/dbus-api.md. */
typedef enum Mechanism {
        MECHANISM_RLIMIT, /* RLIMIT_MEMLOCK raised to the limit (daemon holds CAP_SYS_RESOURCE) */
        MECHANISM_CAPABILITY, /* ambient CAP_IPC_LOCK (libcap-ng); the shim calls mlockall */
        MECHANISM_PTRACE, /* mlockall injected at the exec stop (static / secure-exec) */
        MECHANISM_PREEXISTING, /* memlockctl exec: the caller already had the privilege */
        _MECHANISM_MAX,
        _MECHANISM_INVALID = -EINVAL,
} Mechanism;

/* "rlimit", "capability", "ptrace", "preexisting"; NULL when out of range. */
const char *mechanism_to_string(Mechanism m);
Mechanism mechanism_from_string(const char *s);

/* The fd number the workload finds the report pipe on (MEMLOCK_REPORT_FD). */
#define SPAWN_REPORT_FD 3

typedef struct SpawnRequest {
        char *const *argv; /* NULL-terminated, argv[0] as the caller typed it; required */
        char *const *env; /* the caller's environment, unfiltered; NULL = empty */
        const char *cwd; /* absolute; entered as the caller; NULL = "/" */
        int stdin_fd; /* the caller's fds (not taken over; spawn dups them); */
        int stdout_fd; /* -EBADF = /dev/null */
        int stderr_fd;
        uid_t uid; /* the caller's identity, which the workload takes */
        gid_t gid;
        const gid_t *groups; /* supplementary groups, exactly these (no initgroups) */
        size_t n_groups;
        mode_t umask; /* the Run option "umask", default 022 */
        const char *shim_path; /* libmemlock-shim.so; required unless the target is static */
        const LockSettings *lock; /* the decided settings (policy_decide); required */
        /* What the daemon holds now (daemon/privileges.h): with CAP_SYS_RESOURCE the child's
         * RLIMIT_MEMLOCK is raised to lock->limit, otherwise it gets an ambient CAP_IPC_LOCK.
         * CAP_SYS_PTRACE is required for secure-exec targets (else exec would drop setuid). */
        bool daemon_has_sys_resource;
        bool daemon_has_sys_ptrace;
} SpawnRequest;

typedef struct SpawnResult {
        pid_t pid; /* the workload, a child of the calling process: the caller reaps it */
        int pidfd; /* O_CLOEXEC pidfd of the workload */
        int report_fd; /* read end of the report pipe, O_CLOEXEC|O_NONBLOCK: exactly one
                          * ShimReport arrives (daemon/shim-report-reader.h), or EOF if the
                          * workload died before reporting */
        Mechanism mechanism;
        ExecKind kind; /* what exec_check found the command to be */
        char *exe; /* the resolved path that was executed (malloc'd) */
} SpawnResult;

/* Frees what a SpawnResult holds (closes fds, frees exe), leaves it empty; the process is not
 * touched. Usable as _cleanup_(spawn_result_done) on a result declared "= {}": fds are only
 * closed when pid > 0 (as spawn_workload() fills it; TAKE_FD() what you keep). */
void spawn_result_done(SpawnResult *r);

/* Starts the workload. The child:
 *  - resets signal mask and dispositions (the daemon blocks signals for sd-event);
 *  - calls setsid(): the workload is not in the daemon's session or process group, so a
 *    signal to the daemon's group (Ctrl-C on a foreground daemon, a restart) never reaches it,
 *    and a daemon restart does not kill it. It has no controlling terminal: the caller's
 *    terminal stays the caller's; `memlockctl run` forwards SIGINT/SIGTERM/SIGHUP/SIGQUIT.
 *    Its stdio are the caller's fds, so isatty() still answers true on a terminal;
 *  - gets the caller's stdin/stdout/stderr on 0/1/2, the report pipe on SPAWN_REPORT_FD, and
 *    no other fd;
 *  - RLIMIT_MEMLOCK := lock->limit (soft and hard) when daemon_has_sys_resource, else keeps
 *    CAP_IPC_LOCK across setresuid (PR_SET_KEEPCAPS) and raises it as an ambient capability;
 *  - umask, setgroups(groups), setresgid(gid), setresuid(uid), then chdir(cwd) as the caller,
 *    so the permission checks of chdir and execve are the caller's;
 *  - execs the resolved path with the filtered environment (daemon/env-filter.h) plus
 *    LD_PRELOAD=shim_path and MEMLOCK_MODE/PREFAULT_THREADS/THP/INHERIT/ON_FAILURE/REPORT_FD.
 * Static binaries and secure-exec programs (exec_check) cannot be reached by the shim: the
 * child stops before exec (PTRACE_TRACEME + SIGSTOP, after dropping to the caller's uid), and
 * spawn_workload itself, synchronously, lets it exec, goes to the syscall-exit stop of
 * execve, injects mlockall(flags of lock->mode) there (x86-64, and i386 programs on it), and,
 * unless lock->inherit, prctl(PR_CAP_AMBIENT_CLEAR_ALL) as the shim would; then detaches.
 * It writes a synthesized ShimReport into the report pipe (error and stage MLOCKALL if the
 * injected call failed, VmLck read at the stop, the injection's duration, flags
 * SHIM_REPORT_ABORTED as below), so the caller reads both paths alike. With
 * OnFailure=abort and a failed mlockall the program is made to exit_group(127) before its
 * first instruction, after a one-line reason on the caller's stderr (only written if it
 * would not block), as the shim does. The ptrace helpers of daemon/inject.h are not used:
 * they seize a running process, while here the process is already our tracee.
 * Mechanism is then MECHANISM_PTRACE. A daemonizing static program is not re-locked in its
 * forked children (the shim's atfork handler is what does that for dynamic programs).
 *
 * Blocking: spawn_workload waits for the child to reach exec (the error pipe's EOF, or the
 * exec stop): set-up work only, about a millisecond, but bounded by 10 s
 * (SPAWN_START_TIMEOUT_USEC in spawn.c; e.g. chdir into a hung NFS mount), after which the
 * child is killed and -ETIMEDOUT returned. It does not wait for the shim's report.
 *
 * Before forking, the command is resolved in the caller's PATH and checked (exec_check):
 * not found / not executable / a secure-exec target without CAP_SYS_PTRACE → error.
 * Any failure in the child before exec comes back as a precise message, e.g.
 * "Failed to change directory to '/nope' as uid 65534: No such file or directory",
 * "Failed to execute '/x/y' as uid 65534: Permission denied".
 *
 * Privileges the calling process needs: CAP_SETUID, CAP_SETGID; CAP_IPC_LOCK (to hand on,
 * without CAP_SYS_RESOURCE); CAP_SYS_RESOURCE when daemon_has_sys_resource; CAP_SYS_PTRACE
 * for secure-exec targets (static ones need none); CAP_DAC_READ_SEARCH to classify programs
 * in directories only their owner can read (without it they are treated as dynamic).
 *
 * Returns 0 and fills *ret, or -errno and, if ret_error is non-NULL, a malloc'd sentence a
 * person can act on in *ret_error (the return value then tells the class: -ENOENT, -EACCES,
 * -ENOEXEC, -EPERM, -ETIMEDOUT, ...). On failure no child is left behind (it has been
 * reaped) and *ret is untouched. */
int spawn_workload(const SpawnRequest *req, SpawnResult *ret, char **ret_error);

/* The environment a workload gets: env_filter(caller_env), then, when shim_path is non-NULL,
 * LD_PRELOAD=shim_path and the MEMLOCK_* settings of lock with MEMLOCK_REPORT_FD=report_fd
 * (none when report_fd < 0: memlockctl exec). The one place that writes the shim's contract.
 * Pure. Returns 0 and a malloc'd NULL-terminated list, or -ENOMEM. */
int spawn_build_env(char *const *caller_env, const char *shim_path, const LockSettings *lock,
                    int report_fd, char ***ret);
