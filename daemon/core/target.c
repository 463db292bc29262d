/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/parse-util.h"
#include "common/proc.h"
#include "common/process-util.h"
#include "daemon/core/caller.h"
#include "daemon/core/target.h"

/* The largest /proc/PID/status we accept (a few KiB in practice). */
#define TARGET_STATUS_MAX (64u * 1024u)

static const char *const target_lock_plan_table[_TARGET_LOCK_PLAN_MAX] = {
        [TARGET_LOCK_HAS_CAP_IPC_LOCK] = "has-cap-ipc-lock",
        [TARGET_LOCK_LIMIT_SUFFICES] = "limit-suffices",
        [TARGET_LOCK_RAISE_LIMIT] = "raise-limit",
};

const char *target_lock_plan_to_string(TargetLockPlan p) {
        if (p < 0 || p >= _TARGET_LOCK_PLAN_MAX)
                return NULL;
        return target_lock_plan_table[p];
}

/* Returns error, with the formatted message in *ret_reason (if non-NULL); -ENOMEM if the message
 * cannot be allocated. */
_printf_(3, 4) static int refuse(char **ret_reason, int error, const char *format, ...) {
        va_list ap;
        char *s;
        int k;

        if (!ret_reason)
                return error;
        va_start(ap, format);
        k = vasprintf(&s, format, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        free(*ret_reason);
        *ret_reason = s;
        return error;
}

/* "Seccomp:\t2" from the status text; -1 if absent. */
static int seccomp_parse(const char *buf) {
        const char *p = strstr(buf, "\nSeccomp:");
        if (!p)
                return -1;
        p += strlen("\nSeccomp:");
        p += strspn(p, " \t");
        if (p[0] < '0' || p[0] > '2' || (p[1] != '\n' && p[1] != '\0'))
                return -1;
        return p[0] - '0';
}

/* Whether pidfd still names a live process with pid `pid`. */
static int pidfd_still(int pidfd, pid_t pid) {
        pid_t now;
        int r;

        r = pidfd_get_pid(pidfd, &now);
        if (r < 0)
                return r;
        return now == pid ? 0 : -ESRCH;
}

void target_info_done(TargetInfo *t) {
        if (!t)
                return;
        free(t->exe);
        t->exe = NULL;
        free(t->unit);
        t->unit = NULL;
        free(t->groups);
        t->groups = NULL;
        t->n_groups = 0;
}

int target_info_from_pidfd(int pidfd, TargetInfo *ret) {
        _cleanup_close_ int dfd = -EBADF;
        _cleanup_free_ char *status_buf = NULL, *exe = NULL, *unit = NULL;
        _cleanup_free_ gid_t *groups = NULL;
        size_t n_groups = 0;
        ProcStatus status;
        ProcStat stat;
        ProcLimits limits;
        struct stat st;
        size_t n;
        pid_t pid;
        int r;

        if (pidfd < 0 || !ret)
                return -EINVAL;
        r = pidfd_get_pid(pidfd, &pid);
        if (r < 0)
                return r;
        dfd = proc_open(pid);
        if (dfd < 0)
                return dfd;

        r = proc_stat_read(dfd, &stat);
        if (r < 0)
                return r;
        r = read_file_at(dfd, "status", TARGET_STATUS_MAX, &status_buf, &n);
        if (r < 0)
                return r;
        r = proc_status_parse(status_buf, n, &status);
        if (r < 0)
                return r;
        /* Supplementary groups: policies' Group= matches them too. */
        r = caller_groups_parse(status_buf, n, &groups, &n_groups);
        if (r < 0 && r != -ENOENT)
                return r;
        r = proc_limits_read(dfd, &limits);
        if (r < 0)
                return r;
        r = proc_exe_read(dfd, &exe);
        if (r < 0 && r != -ENOENT && r != -EACCES && r != -ESRCH)
                return r;
        r = proc_cgroup_unit_read(dfd, &unit);
        if (r < 0 && r != -ENOENT)
                return r;
        /* The files in /proc/PID are owned by the euid/egid of a dumpable process, by root
         * otherwise (the directory itself keeps the euid on recent kernels: not usable). */
        if (fstatat(dfd, "status", &st, 0) < 0)
                return errno == ENOENT ? -ESRCH : negative_errno();

        /* Everything above came from /proc/PID; if the pidfd's process is still alive now, it was
         * alive all along, and /proc/PID was that process and no other. */
        r = pidfd_still(pidfd, pid);
        if (r < 0)
                return r;

        *ret = (TargetInfo){
                .pid = pid,
                .starttime = stat.starttime,
                .uid = status.uid_real,
                .euid = status.uid_effective,
                .suid = status.uid_saved,
                .fsuid = status.uid_fs,
                .gid = status.gid_real,
                .egid = status.gid_effective,
                .sgid = status.gid_saved,
                .fsgid = status.gid_fs,
                .cap_eff = status.cap_eff == PROC_UNSET ? 0 : status.cap_eff,
                .cap_prm = status.cap_prm == PROC_UNSET ? 0 : status.cap_prm,
                .dumpable = st.st_uid == status.uid_effective && st.st_gid == status.gid_effective,
                .setuid_like =
                        status.uid_real != status.uid_effective ||
                        status.uid_real != status.uid_saved || status.uid_real != status.uid_fs ||
                        status.gid_real != status.gid_effective ||
                        status.gid_real != status.gid_saved || status.gid_real != status.gid_fs,
                .kernel_thread = status.vm_size == PROC_UNSET,
                .no_new_privs = status.no_new_privs,
                .seccomp = seccomp_parse(status_buf),
                .exe = TAKE_PTR(exe),
                .unit = TAKE_PTR(unit),
                .groups = TAKE_PTR(groups),
                .n_groups = n_groups,
                .vm_size = status.vm_size,
                .vm_rss = status.vm_rss,
                .vm_lck = status.vm_lck,
                .memlock_soft = limits.memlock_soft,
                .memlock_hard = limits.memlock_hard,
        };
        _Static_assert(sizeof(ret->comm) == sizeof(stat.comm), "comm sizes differ");
        memcpy(ret->comm, stat.comm, sizeof(ret->comm));
        return 0;
}

int target_info_from_pid(pid_t pid, uint64_t expected_starttime, TargetInfo *ret, int *ret_pidfd) {
        _cleanup_close_ int pidfd = -EBADF;
        TargetInfo t;
        int r;

        if (pid <= 0 || !ret)
                return -EINVAL;
        pidfd = pidfd_open_checked(pid);
        if (pidfd < 0)
                return pidfd;
        r = target_info_from_pidfd(pidfd, &t);
        if (r < 0)
                return r;
        if (expected_starttime != UINT64_MAX && t.starttime != expected_starttime) {
                target_info_done(&t);
                return -ESRCH; /* the pid now names another process */
        }
        *ret = t;
        if (ret_pidfd)
                *ret_pidfd = TAKE_FD(pidfd);
        return 0;
}

int target_verify_identity(const TargetInfo *t, int pidfd) {
        ProcessIdentity now;
        int r;

        if (!t || pidfd < 0)
                return -EINVAL;
        r = process_identity_get(t->pid, &now);
        if (r < 0)
                return r;
        /* Checked after the read: a live pidfd process means /proc/PID was it. */
        r = pidfd_still(pidfd, t->pid);
        if (r < 0)
                return r;
        return now.starttime == t->starttime ? 0 : -ESRCH;
}

int target_check_attach(const TargetInfo *t, uid_t caller_uid, uint64_t caller_caps, pid_t self_pid,
                        char **ret_reason) {
        if (!t)
                return -EINVAL;
        if (t->pid == 1)
                return refuse(ret_reason, -EPERM, "refusing to attach to PID 1");
        if (t->pid == self_pid)
                return refuse(ret_reason, -EPERM, "refusing to attach to mlockd itself (pid %d)",
                              (int) t->pid);
        if (t->kernel_thread)
                return refuse(ret_reason, -EPERM, "pid %d is a kernel thread or a zombie",
                              (int) t->pid);
        if (caller_uid == 0)
                return 0;

        if (t->uid != caller_uid || t->euid != caller_uid || t->suid != caller_uid ||
            t->fsuid != caller_uid)
                return refuse(ret_reason, -EPERM,
                              "pid %d runs as uid %u (effective %u, saved %u), not as the "
                              "caller's uid %u",
                              (int) t->pid, (unsigned) t->uid, (unsigned) t->euid,
                              (unsigned) t->suid, (unsigned) caller_uid);
        if (t->setuid_like)
                return refuse(ret_reason, -EPERM,
                              "pid %d has differing real, effective and saved ids (setuid or "
                              "setgid)",
                              (int) t->pid);
        uint64_t extra = (t->cap_eff | t->cap_prm) & ~caller_caps;
        if (extra != 0)
                return refuse(ret_reason, -EPERM,
                              "pid %d holds capabilities the caller lacks (mask 0x%" PRIx64 ")",
                              (int) t->pid, extra);
        if (!t->dumpable)
                return refuse(ret_reason, -EPERM, "pid %d is not dumpable", (int) t->pid);
        return 0;
}

int target_ptrace_scope_read(int *ret) {
        _cleanup_free_ char *buf = NULL;
        uint32_t v;
        int r;

        if (!ret)
                return -EINVAL;
        r = read_file_at(AT_FDCWD, "/proc/sys/kernel/yama/ptrace_scope", 64, &buf, NULL);
        if (r == -ENOENT) {
                *ret = 0;
                return 0;
        }
        if (r < 0)
                return r;
        buf[strcspn(buf, "\n")] = '\0';
        r = parse_uint32(buf, &v);
        if (r < 0)
                return r;
        if (v > 3)
                return -EINVAL;
        *ret = (int) v;
        return 0;
}

int target_ptrace_scope_check(int scope, bool have_cap_sys_ptrace, char **ret_reason) {
        if (scope == 3)
                return refuse(ret_reason, -EOPNOTSUPP,
                              "ptrace is disabled on this system (kernel.yama.ptrace_scope=3, "
                              "which cannot be lowered until reboot): cannot attach to "
                              "running processes");
        if ((scope == 1 || scope == 2) && !have_cap_sys_ptrace)
                return refuse(ret_reason, -EOPNOTSUPP,
                              "kernel.yama.ptrace_scope=%d and mlockd lacks CAP_SYS_PTRACE: "
                              "cannot attach to running processes",
                              scope);
        if (scope < 0 || scope > 3)
                return -EINVAL;
        return 0;
}

int target_lock_plan(const TargetInfo *t, bool daemon_has_sys_resource, uint64_t needed,
                     char **ret_reason) {
        if (!t)
                return -EINVAL;
        if (t->kernel_thread)
                return refuse(ret_reason, -EOPNOTSUPP, "pid %d has no memory to lock",
                              (int) t->pid);
        if (t->cap_eff & (UINT64_C(1) << CAP_IPC_LOCK))
                return TARGET_LOCK_HAS_CAP_IPC_LOCK;
        if (t->memlock_soft == UINT64_MAX || (needed != UINT64_MAX && t->memlock_soft >= needed))
                return TARGET_LOCK_LIMIT_SUFFICES;
        if (daemon_has_sys_resource)
                return TARGET_LOCK_RAISE_LIMIT;
        return refuse(ret_reason, -EOPNOTSUPP,
                      "pid %d runs as uid %u without CAP_IPC_LOCK, and mlockd lacks "
                      "CAP_SYS_RESOURCE to raise its limit (RLIMIT_MEMLOCK %s, %s needed)",
                      (int) t->pid, (unsigned) t->euid, FORMAT_BYTES(t->memlock_soft),
                      FORMAT_BYTES(needed));
}

static int memlock_set(int pidfd, pid_t pid, const struct rlimit *new, struct rlimit *ret_old) {
        int r;

        r = pidfd_still(pidfd, pid);
        if (r < 0)
                return r;
        if (prlimit(pid, RLIMIT_MEMLOCK, new, ret_old) < 0)
                return negative_errno();
        return pidfd_still(pidfd, pid);
}

int target_raise_memlock(int pidfd, pid_t pid, uint64_t limit, ProcLimits *ret_old) {
        struct rlimit old, new;
        int r;

        if (pidfd < 0 || pid <= 0)
                return -EINVAL;
        r = memlock_set(pidfd, pid, NULL, &old);
        if (r < 0)
                return r;
        /* RLIM_INFINITY is UINT64_MAX on 64-bit Linux. */
        new.rlim_cur = MAX((uint64_t) old.rlim_cur, limit);
        new.rlim_max = MAX((uint64_t) old.rlim_max, limit);
        r = memlock_set(pidfd, pid, &new, &old);
        if (r < 0)
                return r;
        if (ret_old)
                *ret_old =
                        (ProcLimits){ .memlock_soft = old.rlim_cur, .memlock_hard = old.rlim_max };
        return 0;
}

int target_restore_memlock(int pidfd, pid_t pid, const ProcLimits *old) {
        if (pidfd < 0 || pid <= 0 || !old)
                return -EINVAL;
        struct rlimit rl = { .rlim_cur = old->memlock_soft, .rlim_max = old->memlock_hard };
        return memlock_set(pidfd, pid, &rl, NULL);
}

int target_verify_unchanged(const TargetInfo *before, int pidfd) {
        _cleanup_(target_info_done) TargetInfo now = {};
        int r;

        r = target_info_from_pidfd(pidfd, &now);
        if (r < 0)
                return r;
        if (now.pid != before->pid || now.starttime != before->starttime ||
            !streq_ptr(now.exe, before->exe) || now.uid != before->uid ||
            now.euid != before->euid || now.suid != before->suid || now.fsuid != before->fsuid ||
            now.gid != before->gid || now.egid != before->egid || now.sgid != before->sgid ||
            now.fsgid != before->fsgid || now.cap_eff != before->cap_eff ||
            now.cap_prm != before->cap_prm || now.dumpable != before->dumpable ||
            now.setuid_like != before->setuid_like)
                return -ESTALE;
        return 0;
}
