/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* /proc readers: each a pure parser over a buffer (*_parse) plus a thin I/O wrapper (*_read). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A field that the file did not contain stays at this value. */
#define PROC_UNSET UINT64_MAX

typedef struct ProcStatus {
        char name[64]; /* Name: (comm, possibly truncated) */
        uid_t uid_real, uid_effective, uid_saved, uid_fs;
        gid_t gid_real, gid_effective, gid_saved, gid_fs;
        uint64_t vm_size; /* bytes, PROC_UNSET if absent (kernel threads, zombies) */
        uint64_t vm_lck;
        uint64_t vm_pin;
        uint64_t vm_rss;
        uint64_t vm_swap;
        uint64_t cap_eff; /* bitmask */
        uint64_t cap_prm;
        uint64_t cap_amb;
        int no_new_privs; /* 0, 1, or -1 if absent */
        uint64_t threads;
} ProcStatus;

typedef struct ProcStat {
        char comm[64]; /* between the first '(' and the last ')', may contain anything */
        char state; /* R, S, D, Z, T, t, X, ... */
        pid_t ppid;
        uint64_t minflt;
        uint64_t majflt;
        uint64_t starttime; /* clock ticks since boot: with the pid, the identity of a process */
} ProcStat;

typedef struct MemInfo {
        uint64_t mem_total; /* bytes; PROC_UNSET if absent */
        uint64_t mem_available;
        uint64_t mlocked;
        uint64_t unevictable;
        uint64_t swap_total;
        uint64_t swap_free;
} MemInfo;

typedef struct ProcLimits {
        uint64_t memlock_soft; /* bytes, UINT64_MAX for unlimited */
        uint64_t memlock_hard;
} ProcLimits;

/* Parsers: buf need not be NUL-terminated. They return 0, or -EINVAL (malformed: a required
 * field is missing, or a number is garbled or out of range) or -EBADMSG (truncated). */
int proc_status_parse(const char *buf, size_t n, ProcStatus *ret);
int proc_stat_parse(const char *buf, size_t n, ProcStat *ret);
int meminfo_parse(const char *buf, size_t n, MemInfo *ret);
int proc_limits_parse(const char *buf, size_t n, ProcLimits *ret);
/* Returns the systemd unit (last path element ending in .service/.scope/...) from the text of
 * /proc/PID/cgroup, in ret (malloc'd), or -ENOENT if the process sits in no unit. */
int proc_cgroup_unit_parse(const char *buf, size_t n, char **ret);

/* Opens /proc/PID as a directory fd (O_CLOEXEC). Read through this fd so that every file comes
 * from the same process, never from re-built paths after a check. */
int proc_open(pid_t pid);
/* Reads a whole file relative to dirfd (may be AT_FDCWD) into a NUL-terminated malloc'd buffer,
 * at most max bytes (-EFBIG beyond). */
int read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_size);

int proc_status_read(int proc_dirfd, ProcStatus *ret);
int proc_stat_read(int proc_dirfd, ProcStat *ret);
int proc_limits_read(int proc_dirfd, ProcLimits *ret);
int proc_cgroup_unit_read(int proc_dirfd, char **ret);
/* readlink of "exe" under proc_dirfd. */
int proc_exe_read(int proc_dirfd, char **ret);
/* The one VmLck reader: /proc/PID/status of pid, then, if pidfd >= 0, the check that pidfd still
 * names pid (else the numbers may be a reused pid's): -ESRCH. 0 with bytes in *ret (0 when the
 * line is absent). */
int proc_vm_lck_read(pid_t pid, int pidfd, uint64_t *ret);
int meminfo_read(MemInfo *ret);
