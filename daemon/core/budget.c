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
                     "needs %s, %s of the %s budget is committed, %s is free; "
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

uint64_t budget_add(uint64_t a, uint64_t b) {
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

uint64_t budget_committed(uint64_t reservation, bool lock_done, bool contained, uint64_t held) {
        if (!lock_done || !contained)
                return reservation;
        return MIN(reservation, held);
}

int budget_share_fits(uint64_t share, uint64_t user_reserved, uint64_t ask) {
        return budget_fits(share, user_reserved, ask);
}

char *budget_share_exceeded_message(unsigned uid, uint64_t share, uint64_t user_reserved,
                                    uint64_t ask) {
        char *s = NULL;

        if (asprintf(&s,
                     "uid %u needs %s, and its workloads already reserve %s of its %s share "
                     "(MaxLockedPerUser= in mlockd.conf); stop one of them or ask for a smaller "
                     "limit",
                     uid, FORMAT_BYTES(ask), FORMAT_BYTES(user_reserved), FORMAT_BYTES(share)) < 0)
                return NULL;
        return s;
}

bool budget_workload_contained(const Workload *w) {
        return w->cgroup.backend != CONTAINMENT_NONE;
}

bool budget_workload_unbounded(const Workload *w) {
        /* Not while starting or locking: the lock is still being made, the report not in. */
        if (w->state != WORKLOAD_LOCKED && w->state != WORKLOAD_FAILED)
                return false;
        /* Its cgroup bounds it, whatever it holds. */
        if (budget_workload_contained(w))
                return false;
        /* RLIMIT_MEMLOCK is enforced by the kernel; everything else holds CAP_IPC_LOCK or may. */
        return w->mechanism != MECHANISM_RLIMIT && w->settings.limit != SIZE_INFINITY;
}

bool budget_over_limit(const Workload *w, uint64_t locked) {
        return w->settings.limit != SIZE_INFINITY && locked > w->settings.limit;
}
