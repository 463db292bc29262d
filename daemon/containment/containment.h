/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Containment: every workload mlockd grants something to (CAP_IPC_LOCK or a raised
 * RLIMIT_MEMLOCK) lives with its descendants in a cgroup of its own whose memory bound is its
 * limit plus CONTAINMENT_ALLOWANCE. Locked pages are charged to the memory cgroup like any
 * page and cannot be reclaimed, so the kernel stops the whole process tree at that bound,
 * whatever it forks or locks. The backend is chosen once at start-up, in this order:
 *   scope           a transient systemd scope with MemoryMax= (PID 1 is systemd);
 *   cgroup2         a child of the daemon's own cgroup v2 (memory delegated to it);
 *   cgroup1-memory  a child of the daemon's cgroup in the v1 memory hierarchy;
 *   none            no usable memory controller (the reason is kept for messages).
 * The core calls only these functions; the systemd scope backend (containment-scope.c) is the
 * only part that speaks D-Bus. */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum ContainmentBackend {
        CONTAINMENT_NONE,
        CONTAINMENT_SCOPE,
        CONTAINMENT_CGROUP2,
        CONTAINMENT_CGROUP1,
        _CONTAINMENT_BACKEND_MAX,
        _CONTAINMENT_BACKEND_INVALID = -EINVAL,
} ContainmentBackend;

/* "none", "scope", "cgroup2", "cgroup1-memory" */
const char *containment_backend_to_string(ContainmentBackend b);
ContainmentBackend containment_backend_from_string(const char *s);

/* What a workload may use beyond its limit, unlocked: the pages of its program and libraries
 * that it faults in first, page tables, kernel memory charged to it (v1 counts kmem in the
 * same limit), stacks of threads, the shim's prefault threads. Locked memory is at most the
 * limit plus this, whatever the workload does. 32 MiB runs a shell, python3 and a QEMU
 * without its guest memory; the bound is limit + allowance, so a Limit=64M workload can pin at
 * most 96 MiB. */
#define CONTAINMENT_ALLOWANCE (32ULL * 1024 * 1024)

#include "daemon/containment/seccomp-workload.h"

typedef struct ContainmentScope ContainmentScope; /* containment-scope.c */
/* A scope systemd is starting (containment_scope_start_async()), and what hears the end. */
typedef struct ContainmentScopeStart ContainmentScopeStart;
typedef void (*ContainmentScopeDone)(int error, const char *message, void *userdata);
/* Forgets a start in flight (its reply and signal are then ignored); NULL is fine; returns
 * NULL. systemd may still start the scope: it is collected once its processes are gone. */
ContainmentScopeStart *containment_scope_start_cancel(ContainmentScopeStart *op);

typedef struct ContainmentSettings {
        const char *cgroupfs; /* where cgroup hierarchies are mounted; NULL: /sys/fs/cgroup */
        const char *self_cgroup; /* text of /proc/self/cgroup; NULL: read it */
        const char *subtree; /* the directory for workloads under our cgroup; NULL: "mlockd" */
        const char *systemd_private; /* systemd's private socket; NULL: /run/systemd/private */
        bool try_scope; /* PID 1 is systemd: try the scope backend first */
        /* Only this backend (tests); _CONTAINMENT_BACKEND_INVALID: probe in order. */
        ContainmentBackend only;
        uint64_t allowance; /* 0: CONTAINMENT_ALLOWANCE */
} ContainmentSettings;

typedef struct Containment {
        ContainmentBackend backend;
        char *hierarchy; /* mount point of the hierarchy (".../memory", ".../unified") */
        char *base; /* our subtree, relative to hierarchy ("/process_api/x/mlockd") */
        char *reason; /* NONE: why none could be used, as a sentence */
        ContainmentScope *scope;
        bool scope_v1; /* the scope backend reads the v1 memory files */
        uint64_t allowance;
        /* The workload seccomp filter, compiled once: [0] Inherit=no, [1] Inherit=yes. */
        SeccompProgram seccomp[2];
} Containment;

/* One workload's cgroup. */
typedef struct ContainmentCgroup {
        ContainmentBackend backend;
        char *dir; /* absolute directory; NULL until known (a scope before it started) */
        char *label; /* the Containment property: "cgroup1-memory:/a/mlockd/workload-3" */
        char *unit; /* scope backend: "mlock-3.scope" */
        uint64_t bound; /* bytes the memory controller allows */
        bool v1_files; /* memory.limit_in_bytes & co, not memory.max */
} ContainmentCgroup;

/* What the launch child needs to enter its cgroup (containment_child_join) and how it is
 * confined before exec. Prepared by the daemon before fork; fds are O_CLOEXEC. */
typedef struct ContainmentChild {
        /* The file of the workload's cgroup a process moves itself with by writing "0", opened
         * by the daemon: v1 "tasks" (moves the writing thread; the launch child has one, and the
         * kernel moves a thread that moves itself without the global threadgroup lock), v2
         * "cgroup.procs". */
        int join_fd; /* -EBADF: none (no cgroup, or a scope, into which systemd moves it) */
        const SeccompProgram *seccomp; /* the workload filter to load; NULL: none */
} ContainmentChild;
#define CONTAINMENT_CHILD_NULL ((ContainmentChild){ .join_fd = -EBADF })

/* The state of a workload's cgroup. */
typedef struct ContainmentUsage {
        uint64_t current; /* bytes charged (memory.usage_in_bytes / memory.current) */
        uint64_t unevictable; /* locked bytes charged (memory.stat "unevictable") */
        uint64_t limit_hits; /* times the bound was hit (v1 memory.failcnt, v2 events "max") */
        uint64_t oom_kills; /* processes the cgroup's OOM killer killed */
} ContainmentUsage;

/* Probes the backends (s may be NULL for the defaults) and fills ret. Never fails for want of
 * a backend: ret->backend is then CONTAINMENT_NONE with ret->reason set. -ENOMEM only. */
int containment_setup(const ContainmentSettings *s, Containment *ret);
/* Frees c; removes our subtree directory when it is empty. */
void containment_done(Containment *c);
/* "cgroup1-memory under /a/mlockd" or "none: <reason>", malloc'd. */
char *containment_describe(const Containment *c);

/* Creates the cgroup of workload id bounded by limit + allowance (SIZE_INFINITY: no bound).
 * On failure returns -errno and a sentence in *ret_error (malloc'd, may be NULL). */
int containment_cgroup_new(Containment *c, uint64_t id, uint64_t limit, ContainmentCgroup *ret,
                           char **ret_error);
void containment_cgroup_done(ContainmentCgroup *cg);
/* Removes the cgroup if it is empty: 0 removed (or nothing to do), -EBUSY populated. */
int containment_cgroup_remove(ContainmentCgroup *cg);
/* Moves a running process (all its threads) into the cgroup (Attach, Exec). v1 moves its
 * charges along (memory.move_charge_at_immigrate); v2 bounds what it charges from now on. */
int containment_cgroup_move(Containment *c, ContainmentCgroup *cg, pid_t pid, char **ret_error);
int containment_cgroup_read(const ContainmentCgroup *cg, ContainmentUsage *ret);
/* Only ContainmentUsage.unevictable, from one file (memory.stat): what the budget reads. */
int containment_cgroup_read_locked(const ContainmentCgroup *cg, uint64_t *ret);
/* An fd (O_CLOEXEC|O_NONBLOCK) that becomes readable when the cgroup's OOM killer acts or its
 * bound is hit: v1 an eventfd registered on memory.oom_control through cgroup.event_control,
 * v2 an inotify watch on memory.events. containment_watch_drain() empties it. */
int containment_cgroup_watch(const ContainmentCgroup *cg, int *ret_fd);
void containment_watch_drain(int fd);

/* The compiled workload filter (compiled by containment_setup()); NULL if there is none. */
const SeccompProgram *containment_seccomp_program(const Containment *c, bool allow_ambient_raise);

/* Before fork: fills ret for the launch child; cg NULL: no cgroup. seccomp: load the filter
 * (allow_ambient_raise for Inherit=yes). */
int containment_child_prepare(Containment *c, const ContainmentCgroup *cg, bool seccomp,
                              bool allow_ambient_raise, ContainmentChild *ret);
void containment_child_done(ContainmentChild *cc);

/* THE LAUNCH-PATH HOOKS, called in the launch child (fork of a single-threaded daemon):
 * containment_child_join() with the join fd the daemon handed it (daemon/helpers/spawn.h,
 * SpawnJoin), before its verdict, so that everything it then execs is charged to the
 * workload's cgroup; containment_child_confine() as the last step before execve, after the
 * change of uid and capabilities (the seccomp filter, which forbids raising ambient
 * capabilities, must come after the child raised its own). Both are inherited by everything
 * the workload forks and execs. Return 0 or -errno. */
int containment_child_join(const ContainmentChild *cc);
int containment_child_confine(const ContainmentChild *cc);

/* Reads the memory cgroup of pid and says whether systemd or libvirt manages it (see
 * cgroup_path_is_managed()): 1 and *ret_owner, 0, or -errno. */
int containment_pid_managed(const Containment *c, pid_t pid, char **ret_owner);
