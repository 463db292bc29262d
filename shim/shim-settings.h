/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The shim's settings: MEMLOCK_* environment variables, the contract with the daemon. */

#include <stdbool.h>
#include <stdint.h>

#include "common/lock-mode.h"

typedef struct ShimSettings {
        LockMode mode; /* MEMLOCK_MODE=on|on-fault|current, default on */
        uint32_t prefault_threads; /* MEMLOCK_PREFAULT_THREADS=N|auto, default auto; 0 = none */
        bool thp; /* MEMLOCK_THP=0|1, default 1: MADV_HUGEPAGE before prefaulting */
        uint64_t prefault_mmap; /* MEMLOCK_PREFAULT_MMAP=SIZE|off, default 64M: mappings made
                                 * after main() from this size on are prefaulted (mode on); 0 =
                                 * off */
        bool inherit; /* MEMLOCK_INHERIT=0|1, default 0 */
        bool abort_on_failure; /* MEMLOCK_ON_FAILURE=abort|continue, default abort */
        int report_fd; /* MEMLOCK_REPORT_FD=N, default -EBADF (no report) */
        bool verbose; /* MEMLOCK_VERBOSE=0|1, default 0 */
} ShimSettings;

/* Fills *ret from getenv(). Every variable is parsed even after an error, so that
 * MEMLOCK_ON_FAILURE and MEMLOCK_REPORT_FD still apply to a bad MEMLOCK_MODE. Returns 0, or
 * -EINVAL with *ret_bad_name set to the first variable that did not parse (its field keeps the
 * default). */
int shim_settings_from_env(ShimSettings *ret, const char **ret_bad_name);

/* Removes the MEMLOCK_* variables from environ. With keep_inheritable, the settings an exec'd
 * child's shim needs stay (all but MEMLOCK_REPORT_FD, whose fd is closed and must not be
 * written twice). */
void shim_settings_unset_env(bool keep_inheritable);

/* Removes the entries naming the shim (self_path, or any entry whose file name is
 * SHIM_FILE_NAME) from LD_PRELOAD, keeping the others in order; unsets LD_PRELOAD if none
 * is left. Edits the environ string in place: no allocation. Returns the number removed. */
#define SHIM_FILE_NAME "libmemlock-shim.so"
int shim_ld_preload_remove(const char *self_path);
