/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/macro.h"
#include "common/parse-util.h"
#include "daemon/core/budget.h"

char *budget_exceeded_message(uint64_t total, uint64_t reserved, uint64_t ask) {
        char *s = NULL;
        uint64_t free_bytes = budget_free_bytes(total, reserved);

        if (asprintf(&s,
                     "needs %s, %s of the %s budget is reserved, %s is free; "
                     "ask for a smaller limit or wait for other workloads to end",
                     FORMAT_BYTES(ask), FORMAT_BYTES(reserved), FORMAT_BYTES(total),
                     FORMAT_BYTES(free_bytes)) < 0)
                return NULL;
        return s;
}

char *budget_status_text(size_t n_workloads, uint64_t locked, uint64_t total) {
        char *s = NULL;

        if (asprintf(&s, "%zu workload%s, %s locked of %s budget", n_workloads,
                     n_workloads == 1 ? "" : "s", FORMAT_BYTES(locked), FORMAT_BYTES(total)) < 0)
                return NULL;
        return s;
}

bool budget_workload_unbounded(const Workload *w) {
        /* Not while starting or locking: the lock is still being made, the report not in. */
        if (w->state != WORKLOAD_LOCKED && w->state != WORKLOAD_FAILED)
                return false;
        /* RLIMIT_MEMLOCK is enforced by the kernel; everything else holds CAP_IPC_LOCK or may. */
        return w->mechanism != MECHANISM_RLIMIT && w->settings.limit != SIZE_INFINITY;
}

bool budget_over_limit(const Workload *w, uint64_t locked) {
        return w->settings.limit != SIZE_INFINITY && locked > w->settings.limit;
}
