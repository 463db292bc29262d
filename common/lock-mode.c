/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>
#include <sys/mman.h>

#include "common/lock-mode.h"

#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif

static const char *const table[_LOCK_MODE_MAX] = {
        [LOCK_MODE_ON] = "on",
        [LOCK_MODE_ON_FAULT] = "on-fault",
        [LOCK_MODE_CURRENT] = "current",
};

const char *lock_mode_to_string(LockMode m) {
        if (m < 0 || m >= _LOCK_MODE_MAX)
                return NULL;
        return table[m];
}

LockMode lock_mode_from_string(const char *s) {
        if (!s)
                return _LOCK_MODE_INVALID;
        for (int i = 0; i < _LOCK_MODE_MAX; i++)
                if (strcmp(table[i], s) == 0)
                        return (LockMode) i;
        return _LOCK_MODE_INVALID;
}

int lock_mode_to_mlockall_flags(LockMode m) {
        switch (m) {
        case LOCK_MODE_ON:
                return MCL_CURRENT | MCL_FUTURE;
        case LOCK_MODE_ON_FAULT:
                return MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT;
        case LOCK_MODE_CURRENT:
                return MCL_CURRENT;
        default:
                return -EINVAL;
        }
}
