/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The global budget: admission control over reservations, and the watch on workloads that no
 * kernel limit holds (locked through CAP_IPC_LOCK). */

#include <stdbool.h>
#include <stdint.h>

#include "daemon/core/workload.h"
#include "policy/policy.h"

/* budget_fits() and budget_free_bytes() are policy/policy.h's: the one budget arithmetic. */
/* "needs 4.0G, 6.8G of the 8.0G budget is committed, 1.2G is free" (malloc'd). */
char *budget_exceeded_message(uint64_t total, uint64_t reserved, uint64_t ask);
/* The sd_notify STATUS= text: "3 workloads, 5.2G locked of 18.0G budget" (malloc'd). */
char *budget_status_text(size_t n_workloads, uint64_t locked, uint64_t total);

/* The rule (docs/mlockd.policy.5.scd, "BUDGET"). Two checks admit a workload:
 *  - Budget= (every user together) counts what is committed: a workload's whole reservation
 *    (its limit) while it is starting or locking, or when nothing but a sample of VmLck watches
 *    it (uncontained); once its lock is done and its cgroup bounds it, what its cgroup really
 *    holds locked (memory.stat unevictable), never more than its reservation. An idle
 *    workload that locked 2 MiB of its 64 MiB therefore counts 2 MiB. A cgroup whose workload
 *    left the table while processes remain (descendants, Detach) counts what it holds too.
 *  - MaxLockedPerUser= (one user's share, root exempt) counts reservations in full, of the
 *    user's live workloads and of their populated cgroups: the kernel bounds each cgroup by
 *    its reservation, so a user can never hold more than the share, and can block only
 *    itself, never everyone else.
 * Budget= can thus be overrun only by workloads that grow after their lock into the room
 * their reservation gave them, and by no more than their owners' shares. */

/* What one workload counts against Budget=. lock_done: locked or failed (the report is in);
 * contained: its cgroup bounds it; held: the bytes its cgroup holds locked now. */
uint64_t budget_committed(uint64_t reservation, bool lock_done, bool contained, uint64_t held);
/* a + b, saturating at UINT64_MAX. */
uint64_t budget_add(uint64_t a, uint64_t b);
/* Whether a user who reserves user_reserved may reserve ask more under share (SIZE_INFINITY:
 * no share): 1 yes, 0 no. */
int budget_share_fits(uint64_t share, uint64_t user_reserved, uint64_t ask);
/* "uid 1000 needs 64M, it reserves 960M of its 1.0G share (MaxLockedPerUser=), ..." */
char *budget_share_exceeded_message(unsigned uid, uint64_t share, uint64_t user_reserved,
                                    uint64_t ask);

/* A workload no kernel limit holds: its mechanism gives CAP_IPC_LOCK (capability, or
 * ptrace/preexisting targets with the capability) and so it can lock beyond its reservation.
 * Only locked or failed ones: while it is starting or locking its report is not in yet. */
bool budget_workload_unbounded(const Workload *w);
/* Whether its cgroup bounds it (Containment is not "none"). */
bool budget_workload_contained(const Workload *w);
/* Whether locked bytes exceed the workload's limit. */
bool budget_over_limit(const Workload *w, uint64_t locked);
