/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sys/mman.h>

#include "common/shim-report.h"
#include "shim/shim-lock.h"
#include "shim/shim-util.h"

#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif

int shim_lock(LockMode mode, uint32_t prefault_threads, bool thp, ShimLockResult *ret) {
        ShimLockResult res = {};
        uint64_t t0, t1 = 0, t2;
        int flags, r;

        flags = lock_mode_to_mlockall_flags(mode);
        if (flags < 0) {
                *ret = (ShimLockResult){ .error = EINVAL, .stage = SHIM_STAGE_CONFIG };
                return flags;
        }

        t0 = shim_now_usec();
        if (mode != LOCK_MODE_ON_FAULT && prefault_threads > 0) {
                /* Lock on fault first: the kernel's limit check (RLIMIT_MEMLOCK, CAP_IPC_LOCK)
                 * happens here, so a lock that cannot succeed fails before gigabytes are
                 * populated for nothing (MCL_ONFAULT populates nothing). With 4 KiB pages the
                 * lock is kept: pages are locked as they are faulted in, which spares the final
                 * mlockall its pass over every page (~12% of the time). With huge pages it is
                 * dropped: faulting them into locked mappings measured ~25% slower (4 GiB,
                 * Linux 6.18). A kernel without MCL_ONFAULT (EINVAL) skips this; mlockall below
                 * then reports any failure. */
                r = mlockall(MCL_CURRENT | MCL_ONFAULT) < 0 ? -errno : 0;
                if (r < 0 && r != -EINVAL)
                        goto fail;
                if (r == 0 && thp)
                        (void) munlockall();
                r = prefault_self(prefault_threads, thp, &res.prefault);
                if (r < 0)
                        res.prefault.error = -r;
                if (res.prefault.error != 0) {
                        res.error = res.prefault.error;
                        res.stage = SHIM_STAGE_PREFAULT;
                }
        }
        t1 = shim_now_usec();
        r = mlockall(flags) < 0 ? -errno : 0;
fail:
        t2 = shim_now_usec();
        if (r < 0) {
                /* Leave nothing half-locked: with MEMLOCK_ON_FAILURE=continue the program runs
                 * unlocked. */
                (void) munlockall();
                if (t1 == 0)
                        t1 = t2;
                res.error = -r;
                res.stage = SHIM_STAGE_MLOCKALL;
        }
        res.prefault_usec = t1 - t0;
        res.mlock_usec = t2 - t1;
        res.duration_usec = t2 - t0;
        *ret = res;
        return r;
}

int shim_relock_after_fork(LockMode mode) {
        int flags = lock_mode_to_mlockall_flags(mode);

        if (flags < 0)
                return flags;
        /* A child starts with its parent's pages shared copy-on-write. mlockall(MCL_CURRENT)
         * would break every share (a full copy of a locked parent); MCL_CURRENT|MCL_ONFAULT marks
         * the mappings locked and pins the pages that are present, shared or not. Then
         * MCL_FUTURE alone (it leaves current mappings as they are) restores "populate and lock
         * new mappings" for mode on. */
        if (mlockall(MCL_CURRENT | MCL_ONFAULT | (flags & MCL_ONFAULT ? flags : 0)) < 0) {
                if (errno != EINVAL)
                        return -errno;
                /* A kernel without MCL_ONFAULT: lock as the parent did. */
                return mlockall(flags & ~MCL_ONFAULT) < 0 ? -errno : 0;
        }
        if ((flags & MCL_FUTURE) && !(flags & MCL_ONFAULT))
                if (mlockall(MCL_FUTURE) < 0)
                        return -errno;
        return 0;
}
