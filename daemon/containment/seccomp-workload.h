/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The seccomp filter of a workload: what CAP_IPC_LOCK would let it do outside its memory
 * cgroup is refused, for it and everything it forks and execs (a filter is inherited and
 * cannot be removed). What CAP_IPC_LOCK allows (capabilities(7)), and what becomes of it:
 *   mlock, mlock2, mlockall, mmap(MAP_LOCKED), beyond RLIMIT_MEMLOCK: allowed; the pages are
 *     charged to the workload's memory cgroup, whose bound stops it;
 *   shmctl(SHM_LOCK) beyond RLIMIT_MEMLOCK: refused (EPERM). A locked SysV segment outlives
 *     the workload, so its cgroup would not bound it;
 *   shmctl(SHM_UNLOCK) of segments of other users (the capability overrides the owner check):
 *     refused (EPERM);
 *   shmget(SHM_HUGETLB) without membership of vm.hugetlb_shm_group: refused (EPERM); huge
 *     pages are charged to the hugetlb controller, not the memory one;
 *   perf_event_open ring buffers beyond perf_event_mlock_kb: refused (EACCES); those pages are
 *     kernel memory no memory cgroup is charged for;
 *   memfd_secret(2) pages: allowed, charged to the memory cgroup like mlocked ones;
 *   io_uring, RDMA and VFIO pins beyond RLIMIT_MEMLOCK: allowed; they pin pages the workload
 *     already owns, which are charged to its cgroup.
 * And prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE) is refused (EPERM) unless Inherit=yes, so a
 * workload cannot hand CAP_IPC_LOCK to a program it execs after mlockd cleared the ambient set
 * (Inherit=no sticks). */

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>

/* The filter compiled to BPF once, in the daemon (libseccomp takes ~1.5 ms), so that the
 * launch child only loads it: no allocation after fork. */
typedef struct SeccompProgram {
        struct sock_filter *insns;
        size_t n;
} SeccompProgram;

/* Compiles the filter (allow_ambient_raise: Inherit=yes). Returns 0 or -errno. */
int seccomp_workload_compile(bool allow_ambient_raise, SeccompProgram *ret);
void seccomp_program_done(SeccompProgram *p);
/* Loads a compiled filter on the calling thread with PR_SET_NO_NEW_PRIVS (needed to install one
 * without CAP_SYS_ADMIN; it also keeps set-user-ID bits and file capabilities from granting
 * anything to the workload's programs). Async-signal-safe. Returns 0 or -errno. */
int seccomp_workload_load(const SeccompProgram *p);

/* Compiles and loads at once (tests; allocates). Returns 0 or -errno. */
int seccomp_workload_install(bool allow_ambient_raise);
