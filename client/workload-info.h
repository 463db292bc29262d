/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* What memlockctl knows about the daemon and its workloads: plain structs filled from D-Bus
 * properties (bus-client.c) and rendered by format.c, json-output.c and prometheus.c. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct WorkloadInfo {
        char *path; /* D-Bus object path */
        char *id;
        char *name;
        char *policy;
        char *mode; /* NULL when read from ListWorkloads (no mode column there) */
        char *mechanism;
        char *containment; /* full status only; NULL from a daemon without containment */
        char *state;
        char *error;
        uint32_t pid;
        uint32_t uid;
        uint64_t limit_bytes; /* UINT64_MAX: infinity */
        uint64_t locked_bytes;
        uint64_t resident_bytes;
        uint64_t swap_bytes;
        uint64_t pinned_bytes;
        uint64_t major_faults;
        uint64_t minor_faults;
        uint64_t lock_duration_usec;
        uint64_t started_at_usec; /* CLOCK_REALTIME µs, 0 if unknown */
        int32_t exit_status; /* -1 while running */
        bool full; /* all org.mlockd1.Workload properties were read, not just a list row */
} WorkloadInfo;

typedef struct DaemonInfo {
        char *version;
        uint64_t budget_bytes; /* UINT64_MAX: infinity */
        uint64_t reserved_bytes;
        uint64_t locked_bytes;
        uint64_t system_mlocked_bytes;
        char **workloads; /* object paths, NULL-terminated, may be NULL */
        size_t n_workloads;
        char **policies; /* NULL-terminated, may be NULL */
        size_t n_policies;
} DaemonInfo;

void workload_info_done(WorkloadInfo *w);
void workload_info_array_free(WorkloadInfo *w, size_t n);
void daemon_info_done(DaemonInfo *d);
