/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Lock modes shared by the policy, the shim, the injector and the daemon. */

#include <errno.h>

typedef enum LockMode {
        LOCK_MODE_ON, /* mlockall(MCL_CURRENT|MCL_FUTURE), like QEMU mem-lock=on */
        LOCK_MODE_ON_FAULT, /* ... | MCL_ONFAULT: pages lock as they are touched */
        LOCK_MODE_CURRENT, /* MCL_CURRENT: what is mapped now, nothing later */
        _LOCK_MODE_MAX,
        _LOCK_MODE_INVALID = -EINVAL,
} LockMode;

/* "on", "on-fault", "current"; NULL for out-of-range values. */
const char *lock_mode_to_string(LockMode m);
LockMode lock_mode_from_string(const char *s);
/* The mlockall(2) flags for a mode. */
int lock_mode_to_mlockall_flags(LockMode m);
