/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The launch child of Manager.Run (and Exec): forked by the daemon, it becomes the caller, opens
 * the program in the caller's world, reports what it opened, and executes exactly that file once
 * the daemon has decided. Nothing here waits: the daemon hears from the child on a socket. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/containment/containment.h"
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
/* PATH entries the launch child looks at, at most: a PATH of 60000 "." entries must not make a
 * Run crawl through 60000 lookups (it fails at once, naming the limit). */
#define SPAWN_PATH_ENTRIES_MAX 1024u

typedef struct SpawnRequest {
        char *const *argv; /* NULL-terminated, argv[0] as the caller typed it; required */
        char *const *env; /* the caller's environment, unfiltered; NULL = empty */
        const char *cwd; /* absolute, in the caller's root; entered as the caller; NULL = "/" */
        int root_fd; /* the caller's root directory (O_PATH), -EBADF: the daemon's own */
        int cwd_fd; /* Exec: the caller's working directory (O_PATH), used instead of cwd */
        int stdin_fd; /* the caller's fds (not taken over; the child dups them); */
        int stdout_fd; /* -EBADF = /dev/null */
        int stderr_fd;
        uid_t uid; /* the caller's identity, which the child takes */
        gid_t gid;
        const gid_t *groups; /* supplementary groups, exactly these (no initgroups) */
        size_t n_groups;
        mode_t umask; /* the Run option "umask", default 022 */
        const char *shim_path; /* libmemlock-shim.so; required unless the target is static */
        /* With CAP_SYS_RESOURCE the workload's RLIMIT_MEMLOCK is raised to the decided limit,
         * otherwise it gets an ambient CAP_IPC_LOCK. */
        bool daemon_has_sys_resource;
        /* Exec: resolve and report, then exit; nothing is executed. */
        bool identify_only;
        /* The daemon's containment (daemon/containment/containment.h), whose compiled seccomp
         * filters the child loads last before its exec when the verdict says so; NULL: none. */
        const Containment *containment;
        /* spawn_workload() only (the daemon decides through the verdict instead): */
        const LockSettings *lock;
        bool daemon_has_sys_ptrace;
} SpawnRequest;

/* The running launch child, as the daemon holds it. */
typedef struct SpawnChild {
        pid_t pid; /* a child of the calling process: the caller reaps it */
        int pidfd; /* O_CLOEXEC */
        int control_fd; /* SOCK_SEQPACKET, O_CLOEXEC|O_NONBLOCK: SpawnMessages from the child,
                         * the SpawnVerdict to it; EOF once it has exec'd (or died) */
        int report_fd; /* read end of the report pipe, O_CLOEXEC|O_NONBLOCK: exactly one
                        * ShimReport (daemon/core/shim-report-reader.h), or EOF */
        int report_w; /* its write end, kept until the lock path is known: handed to the
                       * exec-stop injector for static programs, else closed */
} SpawnChild;

#define SPAWN_CHILD_NULL                                                                           \
        ((SpawnChild){                                                                             \
                .pidfd = -EBADF, .control_fd = -EBADF, .report_fd = -EBADF, .report_w = -EBADF })

/* Closes what c holds (not the process: kill it first if it must go). */
void spawn_child_done(SpawnChild *c);

/* Forks the launch child and returns at once. The child:
 *  - resets signal mask and dispositions, calls setsid() (not in the daemon's session: a
 *    signal to the daemon's group never reaches it; no controlling terminal, but its stdio are
 *    the caller's fds, so isatty() still answers true on a terminal), resets oom_score_adj;
 *  - enters the caller's root (chroot to root_fd, when given), takes the caller's groups, gid
 *    and uid with no effective capability (it keeps, only permitted, the one it may be granted:
 *    CAP_SYS_RESOURCE or CAP_IPC_LOCK), its umask, and enters cwd as the caller;
 *  - resolves and opens argv[0] there (exec_resolve(): PATH from env, at most
 *    SPAWN_PATH_ENTRIES_MAX entries) and sends a SPAWN_MESSAGE_IDENTITY (or SPAWN_MESSAGE_ERROR);
 *  - waits for the daemon's SpawnVerdict; without one (EOF, or allow = 0) it exits 0;
 *  - joins the workload's cgroup when the daemon sends it one (SpawnJoin) before the verdict;
 *  - applies the grant (RLIMIT_MEMLOCK := limit, or CAP_IPC_LOCK permitted, effective,
 *    inheritable and ambient), drops every other capability, gets the caller's stdin, stdout,
 *    stderr on 0-2, the report pipe on SPAWN_REPORT_FD (not for static programs: the injector
 *    reports for them), no other fd, the filtered environment (daemon/helpers/env-filter.h)
 *    plus, unless the verdict says exec_stop, LD_PRELOAD and MEMLOCK_* (spawn_build_env());
 *  - loads the workload's seccomp filter if the verdict says so (the last step before exec);
 *  - executes exactly the file it opened: execveat(fd, "", AT_EMPTY_PATH); a script through
 *    the interpreter it opened, with the script as /dev/fd/N (as the kernel passes it for an
 *    fd), so a path swapped meanwhile changes nothing.
 * Any failure in the child comes back as a SPAWN_MESSAGE_ERROR with a sentence, e.g.
 * "Failed to change directory to '/nope' as uid 65534: No such file or directory".
 * Returns 0 and fills *ret, or -errno (nothing left behind). */
int spawn_start(const SpawnRequest *req, SpawnChild *ret);

typedef enum SpawnMessageType {
        SPAWN_MESSAGE_IDENTITY = 1,
        SPAWN_MESSAGE_ERROR = 2,
} SpawnMessageType;

/* Child → daemon, one datagram: this header, then path and interpreter (NUL-terminated) for
 * IDENTITY, or the message text for ERROR. */
typedef struct SpawnMessageHeader {
        uint32_t type; /* SpawnMessageType */
        int32_t error; /* ERROR: positive errno */
        int32_t kind; /* IDENTITY: ExecKind */
        uint32_t path_len; /* bytes including the NUL; ERROR: the text's */
        uint32_t interpreter_len; /* 0 if not a script */
        uint32_t _pad;
        uint64_t dev, ino, interp_dev, interp_ino;
} SpawnMessageHeader;

#define SPAWN_MESSAGE_MAX (sizeof(SpawnMessageHeader) + 2 * 4096 + 4096)

/* What the child reported, parsed. */
typedef struct SpawnMessage {
        SpawnMessageType type;
        int error; /* ERROR: negative errno */
        char *text; /* ERROR: the sentence */
        ExecKind kind; /* IDENTITY */
        char *path;
        char *interpreter; /* NULL if not a script */
        uint64_t dev, ino, interp_dev, interp_ino;
} SpawnMessage;

void spawn_message_done(SpawnMessage *m);
/* Reads one message from the non-blocking control fd. 1: one read; 0: EOF (the child exec'd or
 * died); -EAGAIN: nothing yet; -EBADMSG: malformed. */
int spawn_message_read(int fd, SpawnMessage *ret);
/* Pure: parses one datagram. */
int spawn_message_parse(const void *buf, size_t n, SpawnMessage *ret);

/* Daemon → child. */
typedef struct SpawnVerdict {
        uint32_t allow; /* 0: exit without running anything */
        uint32_t exec_stop; /* static/secure-exec: no shim; the exec-stop injector locks it */
        uint32_t mechanism; /* Mechanism */
        uint32_t seccomp; /* 0: none; 1: the workload filter for Inherit=no, 2: Inherit=yes */
        LockSettings lock; /* the decided settings */
} SpawnVerdict;

/* Sends the verdict (non-blocking; the socket is empty at this point). */
int spawn_verdict_send(int fd, const SpawnVerdict *v);

/* Daemon → child, before the verdict: the workload's cgroup, as an fd of the file a process
 * writes "0" into to move itself there (containment_child_prepare()), passed with SCM_RIGHTS.
 * The child joins at once, before anything else happens (it is still the daemon's code, single
 * threaded). Moving itself is the cheap way: the kernel then skips the global lock that moving
 * another process takes, whose RCU grace period cost every Run 10-13 ms on cgroup v1. */
#define SPAWN_JOIN_MAGIC 0x4e494f4au /* "JOIN" */
typedef struct SpawnJoin {
        uint32_t magic;
        uint32_t _pad;
} SpawnJoin;
int spawn_join_send(int fd, int cgroup_fd);

/* The environment a workload gets: env_filter(caller_env), then, when shim_path is non-NULL,
 * LD_PRELOAD=shim_path and the MEMLOCK_* settings of lock with MEMLOCK_REPORT_FD=report_fd
 * (none when report_fd < 0: memlockctl exec). The one place that writes the shim's contract.
 * Pure. Returns 0 and a malloc'd NULL-terminated list, or -ENOMEM. */
int spawn_build_env(char *const *caller_env, const char *shim_path, const LockSettings *lock,
                    int report_fd, char ***ret);

/* ---- blocking, for tools, tests and benchmarks (never the daemon) ---- */

typedef struct SpawnResult {
        pid_t pid; /* the workload, a child of the calling process: the caller reaps it */
        int pidfd; /* O_CLOEXEC pidfd of the workload */
        int report_fd; /* read end of the report pipe, O_CLOEXEC|O_NONBLOCK */
        Mechanism mechanism;
        ExecKind kind; /* what the child found the command to be */
        char *exe; /* the canonical path that was executed (malloc'd) */
} SpawnResult;

/* Frees what a SpawnResult holds (closes fds, frees exe), leaves it empty; the process is not
 * touched. Usable as _cleanup_(spawn_result_done) on a result declared "= {}": fds are only
 * closed when pid > 0. */
void spawn_result_done(SpawnResult *r);

/* spawn_start(), then as the daemon would, but waiting: reads the identity, allows it with
 * req->lock (static and secure-exec programs through the exec-stop injector of
 * daemon/helpers/inject-job.h; secure-exec ones need req->daemon_has_sys_ptrace), waits for the
 * exec. Returns 0 and fills *ret, or -errno with a sentence in *ret_error (malloc'd, if non-NULL);
 * then no child is left behind (reaped) and *ret is untouched. */
int spawn_workload(const SpawnRequest *req, SpawnResult *ret, char **ret_error);
