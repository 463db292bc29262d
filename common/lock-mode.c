/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>
#include <sys/mman.h>

#include "common/lock-mode.h"
#include "common/string-table.h"

#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif

static const char *const lock_mode_table[_LOCK_MODE_MAX] = {
        [LOCK_MODE_ON] = "on",
        [LOCK_MODE_ON_FAULT] = "on-fault",
        [LOCK_MODE_CURRENT] = "current",
};

DEFINE_STRING_TABLE_LOOKUP(lock_mode, LockMode)

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
