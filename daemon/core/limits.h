/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Every limit on a resource a caller controls, with its default and why. Exceeding one gives
 * org.mlockd1.Error.LimitExceeded (or InvalidArgument for a malformed value). Root (uid 0) is
 * exempt from the per-uid connection and rate limits: it could stop the daemon anyway, and
 * tooling such as the libvirt hook runs as root and must not be throttled. */

/* Concurrent bus connections of one non-root uid. memlockctl uses one per command; 64 leaves
 * room for scripts that run a few in parallel while bounding fds held per user. */
#define LIMIT_CONNECTIONS_PER_UID 64u
/* Beyond its limit a uid gets this many more connections, on which every call is answered with
 * LimitExceeded (so the client can say why); further ones are closed at once. */
#define LIMIT_CONNECTIONS_OVER 8u
/* Concurrent non-root connections in total (each costs an fd and an sd_bus object, ~10 KiB).
 * Root's connections are always accepted. */
#define LIMIT_CONNECTIONS_TOTAL 1000u

/* Method calls per second per non-root uid (token bucket refilled at this rate), with a burst
 * of LIMIT_CALLS_BURST. memlockctl makes a handful of calls per command; status polling by a
 * monitoring agent every second stays far below. */
#define LIMIT_CALLS_PER_SEC 100u
#define LIMIT_CALLS_BURST 500u

/* Workloads per uid: the config's MaxWorkloadsPerUser= (default 64), see policy/config.h. */

/* Run: argv entries and their total size; env entries and total size. A typical shell
 * environment is ~4 KiB; 256 KiB mirrors a generous ARG_MAX share. */
#define LIMIT_ARGV_COUNT 4096u
#define LIMIT_ARGV_BYTES (256u * 1024u)
#define LIMIT_ENV_COUNT 4096u
#define LIMIT_ENV_BYTES (256u * 1024u)
/* Single strings: cwd, name, policy name, libvirt domain. PATH_MAX is 4096. */
#define LIMIT_STRING_BYTES 4096u
/* Entries in an a{sv} options dictionary (there are 9 known keys). */
#define LIMIT_OPTIONS_COUNT 32u

/* Whole incoming messages: sd-bus refuses messages above 128 MiB while reading and offers no
 * smaller bound; every field a handler accepts is bounded by the limits above, so nothing a
 * caller sends is kept beyond about LIMIT_ARGV_BYTES + LIMIT_ENV_BYTES, and the per-uid
 * connection limit bounds how many such messages can be in flight. */

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

/* How often capability-locked workloads (no kernel limit) are checked against their limit. */
#define LIMIT_BUDGET_CHECK_USEC (2u * 1000000ull)
