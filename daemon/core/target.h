/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Identifying and vetting a process mlockd is asked to attach to: who it is (read through a
 * pidfd and a /proc/PID dirfd, guarded against pid reuse), whether the caller may attach to
 * it, whether a lock can work, and raising/restoring its RLIMIT_MEMLOCK. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/proc.h"

typedef struct TargetInfo {
        pid_t pid;
        uint64_t starttime; /* clock ticks since boot: (pid, starttime) is the identity */
        char comm[64];
        uid_t uid, euid, suid, fsuid;
        gid_t gid, egid, sgid, fsgid;
        uint64_t cap_eff, cap_prm; /* bitmasks */
        bool dumpable; /* /proc/PID/status is owned by the process's euid/egid (root-owned
                        * when not dumpable; always true for euid 0 processes, which only
                        * root may attach to anyway) */
        bool setuid_like; /* real, effective, saved and fs uids (or gids) are not all equal */
        bool kernel_thread; /* no mm: nothing to lock, never attachable */
        int no_new_privs; /* 0, 1, or -1 if unknown */
        int seccomp; /* Seccomp: 0 none, 1 strict, 2 filter (mlockall may be refused), -1 */
        char *exe; /* readlink of /proc/PID/exe, NULL if unreadable (kernel thread, gone) */
        char *unit; /* systemd unit from /proc/PID/cgroup, NULL if none */
        gid_t *groups; /* supplementary groups (Groups: of /proc/PID/status) */
        size_t n_groups;
        uint64_t vm_size, vm_rss, vm_lck; /* bytes; PROC_UNSET if absent */
        uint64_t memlock_soft, memlock_hard; /* RLIMIT_MEMLOCK, UINT64_MAX = unlimited */
} TargetInfo;

/* Fills *ret about the process pidfd refers to. Everything is read through one /proc/PID
 * dirfd, then the pidfd is checked again: if the process exited meanwhile (its pid may have
 * been reused by the process we just read), -ESRCH. Kernel threads are returned with
 * kernel_thread set. Free with target_info_done(). */
int target_info_from_pidfd(int pidfd, TargetInfo *ret);
/* Opens a pidfd for pid and calls target_info_from_pidfd(). If expected_starttime is not
 * UINT64_MAX, a process with another start time (pid reused) gives -ESRCH. On success and if
 * ret_pidfd is non-NULL, the pidfd is handed over in *ret_pidfd. */
int target_info_from_pid(pid_t pid, uint64_t expected_starttime, TargetInfo *ret, int *ret_pidfd);
/* The pid-reuse guard on its own: 0 if pidfd still refers to a live process with pid t->pid
 * whose start time is t->starttime; -ESRCH if it exited or the pid now names another process. */
int target_verify_identity(const TargetInfo *t, int pidfd);
void target_info_done(TargetInfo *t);
/* Reads the process again and compares with what before says: same start time and program
 * (exe), same real/effective/saved/fs uids and gids, capabilities (effective, permitted) and
 * dumpability. 0 if all hold; -ESTALE if anything changed; -ESRCH if it is gone. The second half
 * of rtkit's verify → act → verify again, run with the target stopped. */
int target_verify_unchanged(const TargetInfo *before, int pidfd);

/* Whether a caller (uid, effective capability bitmask) may attach to t. self_pid is
 * mlockd's own pid. Returns 0, or -EPERM with a message in *ret_reason (malloc'd, if
 * non-NULL) for: PID 1, mlockd itself, a kernel thread, and for non-root callers a target
 * with more privilege: another uid (any of real/effective/saved/fs), capabilities (permitted
 * or effective) the caller lacks, setuid/setgid-like ids, or not dumpable.
 * Policy (AllowAttach, exe/user/unit rules) is checked separately by the caller. */
int target_check_attach(const TargetInfo *t, uid_t caller_uid, uint64_t caller_caps, pid_t self_pid,
                        char **ret_reason);

/* Yama: kernel.yama.ptrace_scope; *ret = 0 if Yama is absent. Returns 0 or -errno. */
int target_ptrace_scope_read(int *ret);
/* 0 if mlockd (with or without CAP_SYS_PTRACE) can attach to a process that is not its
 * descendant under this scope; -EOPNOTSUPP with a message in *ret_reason (malloc'd, if
 * non-NULL) for scope 3 ("ptrace is disabled ... until reboot"), and for scopes 1 and 2
 * without CAP_SYS_PTRACE. */
int target_ptrace_scope_check(int scope, bool have_cap_sys_ptrace, char **ret_reason);

typedef enum TargetLockPlan {
        TARGET_LOCK_HAS_CAP_IPC_LOCK, /* the target holds CAP_IPC_LOCK: no limit applies */
        TARGET_LOCK_LIMIT_SUFFICES, /* its soft RLIMIT_MEMLOCK already covers the need */
        TARGET_LOCK_RAISE_LIMIT, /* mlockd must raise it first (target_raise_memlock) */
        _TARGET_LOCK_PLAN_MAX,
        _TARGET_LOCK_PLAN_INVALID = -1,
} TargetLockPlan;

const char *target_lock_plan_to_string(TargetLockPlan p);

/* How a lock of `needed` bytes can work in t. Note that mlockall(MCL_CURRENT) compares the
 * limit with the whole mapped size (t->vm_size), not the resident size, and with MCL_FUTURE
 * every later mmap() beyond the limit fails (EAGAIN): pass at least t->vm_size, and raise to
 * a generous value (or infinity) when raising. UINT64_MAX means "unlimited needed".
 * Returns a TargetLockPlan (>= 0), or -EOPNOTSUPP with a message like "pid 1234 runs as
 * uid 64055 without CAP_IPC_LOCK, and mlockd lacks CAP_SYS_RESOURCE to raise its limit". */
int target_lock_plan(const TargetInfo *t, bool daemon_has_sys_resource, uint64_t needed,
                     char **ret_reason);

/* Raises RLIMIT_MEMLOCK of the process pidfd refers to (pid must be its pid) to limit for both
 * soft and hard (UINT64_MAX = unlimited) with prlimit(2), never lowering either. The old limits
 * go to *ret_old (if non-NULL) for target_restore_memlock(). Needs CAP_SYS_RESOURCE to raise
 * the hard limit (-EPERM otherwise). The pidfd is checked before and after: -ESRCH if the
 * process is gone (after the call, the limit may then have been set on a reused pid's process,
 * which is reported but cannot be undone safely). */
int target_raise_memlock(int pidfd, pid_t pid, uint64_t limit, ProcLimits *ret_old);
/* Puts back the limits saved by target_raise_memlock(). */
int target_restore_memlock(int pidfd, pid_t pid, const ProcLimits *old);
