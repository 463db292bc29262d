/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* --json output (json-c). The field names are a stable interface, documented in
 * memlockctl(1): change them only by adding new ones. Sizes are bytes; null stands for
 * "infinity" (D-Bus UINT64_MAX). */

#include <json-c/json.h>
#include <stdio.h>

#include "client/workload-info.h"
#include "common/macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

/* { "id", "path", "name", "pid", "uid", "user", "policy", "mode", "mechanism", "state",
 *   "limit_bytes", "locked_bytes", "resident_bytes", "swap_bytes", "pinned_bytes",
 *   "major_faults", "minor_faults", "lock_duration_usec", "started_at_usec", "exit_status",
 *   "error" }; a list row (not full) has only id, path, name, pid, uid, user, policy, state,
 * mechanism, locked_bytes and limit_bytes. user is the resolved name or NULL (then null). */
json_object *workload_to_json(const WorkloadInfo *w, const char *user);
/* { "version", "budget_bytes", "reserved_bytes", "locked_bytes", "system_mlocked_bytes",
 *   "workloads" (count), "policies" (array of names), "socket" } */
json_object *daemon_to_json(const DaemonInfo *d, const char *socket_path);
/* A size, or null for UINT64_MAX. */
json_object *json_size(uint64_t v);
/* Prints pretty when pretty, else one line; always with a trailing newline. */
int json_print(FILE *f, json_object *o, bool pretty);
