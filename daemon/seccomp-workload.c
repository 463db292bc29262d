/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "daemon/seccomp-workload.h"

#include <errno.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/shm.h>

#include "common/macro.h"

#ifndef SHM_HUGETLB
#define SHM_HUGETLB 04000
#endif
/* glibc may add IPC_64 (0x100) to the command of shmctl; compare the command byte only. */
#define SHM_CMD_MASK 0xffU

static void seccomp_releasep(scmp_filter_ctx *ctx) {
        if (*ctx)
                seccomp_release(*ctx);
}

int seccomp_workload_install(bool allow_ambient_raise) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        int r;

        ctx = seccomp_init(SCMP_ACT_ALLOW);
        if (!ctx)
                return -ENOMEM;
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
        if (r < 0)
                return r;
#if defined(__x86_64__)
        /* A 64-bit workload can run 32-bit programs (ia32, x32): their syscalls (including the
         * ipc(2) multiplexer, which libseccomp resolves) are filtered too. */
        r = seccomp_arch_add(ctx, SCMP_ARCH_X86);
        if (r < 0 && r != -EEXIST)
                return r;
        r = seccomp_arch_add(ctx, SCMP_ARCH_X32);
        if (r < 0 && r != -EEXIST)
                return r;
#endif

        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(shmctl), 1,
                             SCMP_A1(SCMP_CMP_MASKED_EQ, SHM_CMD_MASK, SHM_LOCK));
        if (r >= 0)
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(shmctl), 1,
                                     SCMP_A1(SCMP_CMP_MASKED_EQ, SHM_CMD_MASK, SHM_UNLOCK));
        if (r >= 0)
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(shmget), 1,
                                     SCMP_A2(SCMP_CMP_MASKED_EQ, SHM_HUGETLB, SHM_HUGETLB));
        if (r >= 0)
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(perf_event_open), 0);
        if (r >= 0 && !allow_ambient_raise)
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(prctl), 2,
                                     SCMP_A0(SCMP_CMP_EQ, PR_CAP_AMBIENT),
                                     SCMP_A1(SCMP_CMP_EQ, PR_CAP_AMBIENT_RAISE));
        if (r < 0)
                return r;
        return seccomp_load(ctx);
}
