/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The shim's lock step: prefault, then mlockall(2). Shared with bench/lock-throughput. */

#include <stdbool.h>
#include <stdint.h>

#include "common/lock-mode.h"
#include "shim/prefault.h"

typedef struct ShimLockResult {
        int error; /* positive errno of the failed step, 0 on success */
        uint32_t stage; /* SHIM_STAGE_* (common/shim-report.h) of that error */
        PrefaultStats prefault; /* zeroes when nothing was prefaulted */
        uint64_t prefault_usec;
        uint64_t mlock_usec;
        uint64_t duration_usec; /* both */
} ShimLockResult;

/* Locks this process per mode: for on and current, first checks that the lock can succeed
 * (mlockall(MCL_CURRENT|MCL_ONFAULT): the kernel's limit check before any memory is populated;
 * kept while prefaulting 4 KiB pages, undone at once with THP), prefaults the private writable mappings with prefault_threads threads (0: no
 * prefault; PREFAULT_THREADS_AUTO), then calls mlockall(2) with lock_mode_to_mlockall_flags(mode).
 * On failure everything is unlocked again. *ret is always filled. Returns 0, or -errno of
 * mlockall (an old kernel's EINVAL for MCL_ONFAULT included). A prefault error alone is not a
 * failure: it is in ret->error with stage SHIM_STAGE_PREFAULT and 0 is returned. */
int shim_lock(LockMode mode, uint32_t prefault_threads, bool thp, ShimLockResult *ret);

/* What a forked child calls to hold the lock its parent had (locks are not inherited). Pages
 * the child shares with its parent are locked in place (MCL_ONFAULT), not copied; mappings
 * created later are handled as in the parent. Async-signal-safe. Returns 0 or -errno. */
int shim_relock_after_fork(LockMode mode);
