/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "daemon/containment/seccomp-workload.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>

#include <unistd.h>

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

static int build(bool allow_ambient_raise, scmp_filter_ctx *ret) {
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
        *ret = TAKE_PTR(ctx);
        return 0;
}

int seccomp_workload_compile(bool allow_ambient_raise, SeccompProgram *ret) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t n = 0, size = 4096;
        int r;

        r = build(allow_ambient_raise, &ctx);
        if (r < 0)
                return r;
        /* libseccomp 2.5 exports BPF only to an fd. */
        fd = memfd_create("mlockd-seccomp", MFD_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return r;
        if (lseek(fd, 0, SEEK_SET) < 0)
                return negative_errno();
        buf = malloc(size);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k;

                if (n == size) {
                        char *b = realloc(buf, size * 2);
                        if (!b)
                                return -ENOMEM;
                        buf = b;
                        size *= 2;
                }
                k = read(fd, buf + n, size - n);
                if (k < 0)
                        return negative_errno();
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        if (n == 0 || n % sizeof(struct sock_filter) != 0)
                return -EBADMSG;
        *ret = (SeccompProgram){ .insns = (struct sock_filter *) TAKE_PTR(buf),
                                 .n = n / sizeof(struct sock_filter) };
        return 0;
}

void seccomp_program_done(SeccompProgram *p) {
        if (!p)
                return;
        free(p->insns);
        *p = (SeccompProgram){};
}

int seccomp_workload_load(const SeccompProgram *p) {
        struct sock_fprog prog = { .len = (unsigned short) p->n, .filter = p->insns };

        if (!p->insns || p->n == 0 || p->n > BPF_MAXINSNS)
                return -EINVAL;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;
        if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
                return -errno;
        return 0;
}

int seccomp_workload_install(bool allow_ambient_raise) {
        _cleanup_(seccomp_program_done) SeccompProgram p = {};
        int r;

        r = seccomp_workload_compile(allow_ambient_raise, &p);
        if (r < 0)
                return r;
        return seccomp_workload_load(&p);
}
