/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The limits the bus layer enforces on connections, calls and messages, with their defaults
 * and why (the core's are in daemon/core/limits.h). Exceeding one gives
 * org.mlockd1.Error.LimitExceeded (or InvalidArgument for a malformed value). Root (uid 0) is
 * exempt from the per-uid connection and rate limits: it could stop the daemon anyway, and
 * tooling such as the libvirt hook runs as root and must not be throttled. */

#include "daemon/core/limits.h"

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
/* Entries in an a{sv} options dictionary, counted before their keys are looked at. */
#define LIMIT_OPTIONS_COUNT 32u

/* Entries in an a{sv} options dictionary: each known key at most once (the table in
 * daemon/bus/bus-options.c has 17), unknown keys are refused. Of them, at most
 * LIMIT_OPTIONS_KNOWN_STRINGS take a string (policy, name, mode, libvirt_domain); the others
 * take a number or a boolean. */
#define LIMIT_OPTIONS_KNOWN 17u
#define LIMIT_OPTIONS_KNOWN_STRINGS 4u
/* Option keys: the longest known one is "prefault_threads" (16). */
#define LIMIT_OPTION_KEY_BYTES 32u

/* ---- Whole messages and unprocessed input (daemon/bus/bus-input-limit.c) ----------------------
 * sd-bus reads a message's 16-byte fixed header, then allocates the whole size it announces
 * (up to 128 MiB) and only then reads the rest; no handler sees the message before it is
 * complete. So the announced size is checked as the header is read, and a connection that
 * announces more than LIMIT_MESSAGE_BYTES is dropped before anything is allocated for it. */

/* Wire size bounds of the largest legal Run (the largest method): a string is a u32 length,
 * its bytes, a NUL and up to 3 bytes of padding before the next; an array of strings adds its
 * u32 length. LIMIT_ARGV_BYTES counts each entry's NUL. */
#define WIRE_STRING_MAX(len) (4u + (len) + 1u + 3u)
#define WIRE_STRV_MAX(count, bytes) (4u + (bytes) + 7u * (count))
/* One a{sv} entry: 8-byte alignment, the key, the variant's signature ("s", 3 bytes) and
 * padding, the value (a string is the largest). */
#define WIRE_OPTION_MAX                                                                            \
        (8u + WIRE_STRING_MAX(LIMIT_OPTION_KEY_BYTES) + 4u + WIRE_STRING_MAX(LIMIT_STRING_BYTES))
/* One a{sv} entry whose value is a number or a boolean (8 bytes at most). */
#define WIRE_OPTION_SCALAR_MAX (8u + WIRE_STRING_MAX(LIMIT_OPTION_KEY_BYTES) + 4u + 8u)
/* The fixed header and the header fields of a method call (path, interface, member,
 * destination, signature, sender, unix_fds): under 512 bytes for our methods. */
#define WIRE_HEADER_MAX 1024u
/* Run(as argv, as env, s cwd, h, h, h, a{sv} options): 604192 bytes (590 KiB). */
#define WIRE_RUN_MAX                                                                               \
        (WIRE_HEADER_MAX + WIRE_STRV_MAX(LIMIT_ARGV_COUNT, LIMIT_ARGV_BYTES) +                     \
         WIRE_STRV_MAX(LIMIT_ENV_COUNT, LIMIT_ENV_BYTES) + WIRE_STRING_MAX(LIMIT_STRING_BYTES) +   \
         3u * 4u + 8u + LIMIT_OPTIONS_KNOWN_STRINGS * WIRE_OPTION_MAX +                            \
         (LIMIT_OPTIONS_KNOWN - LIMIT_OPTIONS_KNOWN_STRINGS) * WIRE_OPTION_SCALAR_MAX)

/* The largest message mlockd reads: every legal call fits (the largest is a Run at the argv
 * and env limits). A larger announced size closes the connection (the client sees a reset);
 * a message below it whose fields break a limit above gets LimitExceeded as usual. */
#define LIMIT_MESSAGE_BYTES (640u * 1024u)
_Static_assert(LIMIT_MESSAGE_BYTES >= WIRE_RUN_MAX, "a legal Run must fit in a message");

/* The SASL exchange before BEGIN (sd-bus allows 64 KiB; real clients send ~100 bytes). */
#define LIMIT_AUTH_BYTES (16u * 1024u)

/* Per connection, what sd-bus holds of a client's input is at most one message in progress
 * (it reads one, dispatches it, then reads the next): LIMIT_MESSAGE_BYTES, or LIMIT_AUTH_BYTES
 * while authenticating. The kernel's receive buffer of the socket (which sd-bus raises to
 * 8 MiB) is set back to this much, so queued input is bounded in the kernel too. */
#define LIMIT_SOCKET_RCVBUF (256u * 1024u)

/* Per non-root uid: the sum of the sizes announced by its connections' messages in progress.
 * Without it, a uid's LIMIT_CONNECTIONS_PER_UID + LIMIT_CONNECTIONS_OVER connections could hold
 * 72 x 640 KiB = 45 MiB; with it, 8 MiB (twelve largest-possible Runs in flight at once). A
 * header that would go beyond closes that connection. */
#define LIMIT_INPUT_PER_UID (8u * 1024u * 1024u)
/* Messages sd-bus holds for a peer that does not read them (replies and signals beyond what the
 * socket's buffer took): a client waiting for its reply never has more than a few; one that
 * never reads is dropped here instead of growing the daemon without bound. Applies to root. */
#define LIMIT_QUEUED_MESSAGES 256u

/* All non-root uids together: without it, LIMIT_CONNECTIONS_TOTAL connections of many uids could
 * hold 1000 x 640 KiB. 64 MiB is eight uids at their bound. */
#define LIMIT_INPUT_TOTAL (64u * 1024u * 1024u)
