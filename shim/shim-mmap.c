/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mmap(2) and mmap64 as the shim exports them, with mlockall/munlockall to follow the lock mode
 * (the shim's only exported symbols).
 *
 * Under mlockall(MCL_FUTURE) the kernel populates and locks every new mapping inside mmap(2), in
 * the calling thread, before the program can madvise(MADV_HUGEPAGE) it: for QEMU, whose guest
 * RAM is mapped in main() (an anonymous PROT_NONE reservation, then mmap(MAP_FIXED) of anonymous
 * or memfd memory over it), that is all of guest RAM in 4 KiB pages in one thread. Here a large
 * mapping is instead
 *   1. mapped PROT_NONE: still VM_LOCKED under MCL_FUTURE, so the kernel's RLIMIT_MEMLOCK /
 *      CAP_IPC_LOCK check runs now (EAGAIN, as the program would get without the shim), but a
 *      PROT_NONE mapping is not populated;
 *   2. munlock'ed, then mprotect'ed to the protection asked for (mprotect of a locked private
 *      mapping to writable would populate it; of an unlocked one it does not);
 *   3. MADV_HUGEPAGE (MEMLOCK_THP), then populated by several threads (MADV_POPULATE_WRITE, or
 *      _READ when not writable), each on its own 32 MiB pieces;
 *   4. mlock(2)ed: VM_LOCKED again, exactly as MCL_FUTURE would have left it, and its pages
 *      mlocked (a walk over pages that are all present).
 * Only then does mmap return, so the program never sees the mapping unlocked or not resident:
 * Mode=on stays Mode=on. Everything else (small mappings, files other than tmpfs/hugetlbfs,
 * PROT_NONE, stacks) goes straight to the kernel, which handles it under MCL_FUTURE as before.
 *
 * The kernel is called directly (syscall(2)), not through dlsym(RTLD_NEXT): no allocation, and
 * glibc's own mmap is the same system call. glibc's internal mappings (malloc, thread stacks)
 * do not go through the PLT and never get here. No stdio, no malloc; worker threads come from
 * pthread_create, whose stacks glibc maps internally. */

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim/prefault.h"
#include "shim/shim-mmap.h"
#include "shim/shim-util.h"

#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

#define SHIM_EXPORT __attribute__((visibility("default")))

/* Written by the constructor (before main) and the atfork child handler (one thread); read by
 * every mmap. */
static struct {
        bool enabled;
        bool future; /* the last mlockall() had MCL_FUTURE without MCL_ONFAULT (see below) */
        bool thp;
        bool verbose;
        uint32_t threads;
        uint64_t min_size;
} state;

void shim_mmap_enable(uint64_t min_size, uint32_t threads, bool thp, bool verbose) {
        state.min_size = min_size;
        state.threads = threads;
        state.thp = thp;
        state.verbose = verbose;
        __atomic_store_n(&state.enabled, min_size > 0 && threads > 0, __ATOMIC_RELEASE);
}

void shim_mmap_disable(void) {
        __atomic_store_n(&state.enabled, false, __ATOMIC_RELEASE);
}

static void *sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
        /* syscall(2) returns -1 with errno set on failure: MAP_FAILED. */
        return (void *) syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

/* Whether a file mapping is memory the kernel would populate in place (shared memory: memfd,
 * tmpfs, hugetlbfs) and that step 1 cannot map where the real call would fail: an fd that
 * cannot be mapped with this protection goes to the kernel, which says why. */
static bool shared_memory_fd(int fd, int prot, int flags) {
        struct statfs sfs;
        int fl, seals;
        bool shared_write = (flags & MAP_TYPE) != MAP_PRIVATE && (prot & PROT_WRITE);

        if (fstatfs(fd, &sfs) < 0 || (sfs.f_type != TMPFS_MAGIC && sfs.f_type != HUGETLBFS_MAGIC))
                return false;
        fl = fcntl(fd, F_GETFL);
        if (fl < 0 || (fl & O_ACCMODE) == O_WRONLY || (shared_write && (fl & O_ACCMODE) != O_RDWR))
                return false;
        seals = fcntl(fd, F_GET_SEALS);
        if (shared_write && seals > 0 && (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)))
                return false;
        /* PROT_EXEC may meet a noexec mount. */
        return !(prot & PROT_EXEC);
}

static bool wanted(size_t len, int prot, int flags, int fd, bool *ret_anon) {
        if (!__atomic_load_n(&state.enabled, __ATOMIC_ACQUIRE) ||
            !__atomic_load_n(&state.future, __ATOMIC_ACQUIRE) || len < state.min_size)
                return false;
        /* The kernel does not populate PROT_NONE (reservations) either; stacks grow by faults. */
        if (!(prot & (PROT_READ | PROT_WRITE)) || (flags & MAP_GROWSDOWN))
                return false;
        if (flags & MAP_ANONYMOUS) {
                *ret_anon = true;
                return true;
        }
        *ret_anon = false;
        return shared_memory_fd(fd, prot, flags);
}

static void say_mapping(size_t len, const PrefaultStats *st, uint64_t usec, int error) {
        char msg[256];
        ShimBuf b = SHIM_BUF(msg, sizeof(msg));

        shim_buf_puts(&b, "memlock-shim: pid ");
        shim_buf_puti(&b, getpid());
        shim_buf_puts(&b, ": mmap of ");
        shim_buf_putu(&b, len >> 10);
        if (error == 0) {
                shim_buf_puts(&b, " KiB prefaulted by ");
                shim_buf_putu(&b, st->threads);
                shim_buf_puts(&b, " threads and locked in ");
                shim_buf_putu(&b, usec);
                shim_buf_puts(&b, " us");
                if (st->fallback)
                        shim_buf_puts(&b, " (touched: no MADV_POPULATE_*)");
                if (st->error) {
                        shim_buf_puts(&b, " (prefault error ");
                        shim_buf_puts(&b, shim_errno_name(st->error));
                        shim_buf_puts(&b, ", mlock populated the rest)");
                }
        } else {
                shim_buf_puts(&b, " KiB failed: mlock: ");
                shim_buf_puts(&b, shim_errno_desc(error));
                shim_buf_puts(&b, " (");
                shim_buf_puts(&b, shim_errno_name(error));
                shim_buf_puts(&b, ")");
        }
        shim_buf_puts(&b, "\n");
        (void) shim_write_all(STDERR_FILENO, msg, b.n);
}

static void *mmap_prefaulted(void *addr, size_t len, int prot, int flags, int fd, off_t off,
                             bool anon) {
        PrefaultStats st = {};
        uint64_t t0 = shim_now_usec();
        int saved_errno = errno, r;
        void *p;

        /* 1. The limit check, nothing populated. MAP_POPULATE would be moot on PROT_NONE. */
        p = sys_mmap(addr, len, PROT_NONE, flags & ~MAP_POPULATE, fd, off);
        if (p == MAP_FAILED)
                return p;
        /* 2. Unlocked while populating, so that mprotect does not populate in this thread. */
        if (munlock(p, len) < 0 || mprotect(p, len, prot) < 0) {
                /* Cannot happen for a mapping we just made; if it does, the kernel's path: map
                 * again over it, populated and locked in this thread. */
                void *q =
                        sys_mmap(p, len, prot, (flags & ~MAP_FIXED_NOREPLACE) | MAP_FIXED, fd, off);
                if (q == MAP_FAILED) {
                        int e = errno;
                        (void) munmap(p, len);
                        errno = e;
                }
                return q;
        }
        /* 3. THP first: 512x fewer faults. Refused for some memory (hugetlbfs); then 4 KiB. */
        if (state.thp)
                (void) madvise(p, len, MADV_HUGEPAGE);
        (void) prefault_range(p, len, state.threads, anon, prot & PROT_WRITE, &st);
        /* 4. Locked again; mlock also populates whatever the threads could not. If it fails
         * the mapping would break Mode=on (unlocked or not resident): the call fails instead,
         * in mmap's terms: mlock's ENOMEM is the limit (another thread took it since step 1),
         * which mmap calls EAGAIN; mlock's EAGAIN is pages it could not populate, ENOMEM. */
        r = mlock(p, len) < 0 ? -errno : 0;
        if (r < 0) {
                (void) munmap(p, len);
                if (state.verbose)
                        say_mapping(len, &st, 0, -r);
                errno = r == -ENOMEM ? EAGAIN : r == -EAGAIN ? ENOMEM : -r;
                return MAP_FAILED;
        }
        if (state.verbose)
                say_mapping(len, &st, shim_now_usec() - t0, 0);
        errno = saved_errno;
        return p;
}

#if __SIZEOF_POINTER__ == 8
/* 64-bit only: there, off_t is 64 bits and SYS_mmap takes the arguments as they are. On 32-bit
 * targets the shim exports nothing and the kernel populates as before. */
SHIM_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
        bool anon;

        if (wanted(len, prot, flags, fd, &anon))
                return mmap_prefaulted(addr, len, prot, flags, fd, off, anon);
        return sys_mmap(addr, len, prot, flags, fd, off);
}

/* The program's own mlockall/munlockall (and the shim's: these definitions come first in the
 * lookup order) decide whether the kernel would populate new mappings: the interposer acts only
 * while the last call asked for MCL_FUTURE without MCL_ONFAULT. A system call and a store:
 * async-signal-safe, as the atfork handler needs. */
SHIM_EXPORT int mlockall(int flags) {
        long r = syscall(SYS_mlockall, flags);

        if (r == 0)
                __atomic_store_n(&state.future, (flags & MCL_FUTURE) && !(flags & MCL_ONFAULT),
                                 __ATOMIC_RELEASE);
        return (int) r;
}

SHIM_EXPORT int munlockall(void) {
        long r = syscall(SYS_munlockall);

        if (r == 0)
                __atomic_store_n(&state.future, false, __ATOMIC_RELEASE);
        return (int) r;
}

/* glibc's mmap64 is the same function on 64-bit targets; programs built with
 * _FILE_OFFSET_BITS=64 (QEMU) call it by this name. */
SHIM_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
        __attribute__((alias("mmap")));
#endif
