/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Every limit on a resource a caller controls, with its default and why. Exceeding one gives
 * org.mlockd1.Error.LimitExceeded (or InvalidArgument for a malformed value). Root (uid 0) is
 * exempt from the per-uid connection and rate limits: it could stop the daemon anyway, and
 * tooling such as the libvirt hook runs as root and must not be throttled.
 *
 * The bus layer enforces those of connections, calls and messages (daemon/bus/bus-limits.h,
 * which includes this file); here are the core's: how long things are kept and waited for. */

/* Exited workloads are kept for late `status` calls: for this long, and at most this many
 * (the oldest go first). */
#define LIMIT_EXITED_KEEP_USEC (60u * 1000000ull)
#define LIMIT_EXITED_KEEP_MAX 64u

/* From Run to the program's exec: the launch child resolves, opens and waits for the decision as
 * the caller; a caller that stops it (SIGSTOP), or a cwd on a mount that never answers, holds a
 * job and a reservation, never the daemon. After this long the child is killed. */
#define LIMIT_LAUNCH_TIMEOUT_USEC (30u * 1000000ull)

/* How often cgroups kept after their workload left the table (descendants that outlived it,
 * Detach) are checked for emptiness, to remove them. */
#define LIMIT_ORPHAN_CHECK_USEC (10u * 1000000ull)
/* ... and one that lists no process but cannot be removed yet (its last tasks are exiting). */
#define LIMIT_ORPHAN_EXITING_USEC (100u * 1000ull)
/* At shutdown, the loop runs on this long at most for the cgroups of exited workloads whose
 * last tasks are still exiting, looking at them this often (then they stay, and the next start
 * adopts them). */
#define LIMIT_STOP_CGROUP_WAIT_USEC (200u * 1000ull)
#define LIMIT_STOP_CGROUP_POLL_USEC (10u * 1000ull)

/* How often capability-locked workloads (no kernel limit) are checked against their limit. */
#define LIMIT_BUDGET_CHECK_USEC (2u * 1000000ull)
