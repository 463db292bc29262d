/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The global budget: admission control over reservations, and the watch on workloads that no
 * kernel limit holds (locked through CAP_IPC_LOCK). */

#include <stdbool.h>
#include <stdint.h>

#include "daemon/core/workload.h"
#include "policy/policy.h"

/* budget_fits() and budget_free_bytes() are policy/policy.h's: the one budget arithmetic. */
/* "needs 4.0G, 6.8G of the 8.0G budget is reserved, 1.2G is free" (malloc'd). */
char *budget_exceeded_message(uint64_t total, uint64_t reserved, uint64_t ask);
/* The sd_notify STATUS= text: "3 workloads, 5.2G locked of 18.0G budget" (malloc'd). */
char *budget_status_text(size_t n_workloads, uint64_t locked, uint64_t total);

/* A workload no kernel limit holds: its mechanism gives CAP_IPC_LOCK (capability, or
 * ptrace/preexisting targets with the capability) and so it can lock beyond its reservation.
 * Only locked or failed ones: while it is starting or locking its report is not in yet. */
bool budget_workload_unbounded(const Workload *w);
/* Whether locked bytes exceed the workload's limit. */
bool budget_over_limit(const Workload *w, uint64_t locked);
