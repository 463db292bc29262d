/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* memlockctl's side of the D-Bus contract (docs/dbus-api.md): connect to the daemon's socket,
 * call it, read properties into WorkloadInfo/DaemonInfo, map errors to exit codes. */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "client/workload-info.h"

#define MLOCKD_BUS_NAME "org.mlockd1"
#define MLOCKD_MANAGER_PATH "/org/mlockd1"
#define MLOCKD_MANAGER_IFACE "org.mlockd1.Manager"
#define MLOCKD_WORKLOAD_IFACE "org.mlockd1.Workload"
#define MLOCKD_ERROR_PREFIX "org.mlockd1.Error."

/* The socket memlockctl talks to: --socket, else $MLOCKD_SOCKET, else the built-in path. */
const char *bus_socket_path(void);

/* Connects peer-to-peer to the daemon's socket (no Hello, unix fds negotiated) and checks that
 * a D-Bus server answers. Returns 0 or a negative errno; logs nothing. */
int bus_connect(sd_bus **ret);
/* bus_connect() plus the log line; returns a CtlExit code. */
int bus_connect_or_log(sd_bus **ret);
/* The same without the Ping that completes authentication first: the first call does, and
 * its error says what went wrong. For run, where a round trip is a fifth of the overhead. */
int bus_connect_quick_or_log(sd_bus **ret);

/* Whether r from sd-bus means the daemon is not there (never was, or went away). */
static inline bool bus_is_connection_error(int r) {
        return r == -ECONNREFUSED || r == -ENOENT || r == -ECONNRESET || r == -ENOTCONN ||
               r == -EPIPE || r == -ESHUTDOWN || r == -ENOTSOCK || r == -EACCES;
}

/* Maps a failed call to an exit code and logs "what: message". error may be unset, then r
 * decides. Disconnects map to CTL_EXIT_UNREACHABLE. */
int bus_log_error(const sd_bus_error *error, int r, const char *what);
/* The CtlExit code for a D-Bus error name (NULL: CTL_EXIT_FAILED). */
int bus_error_to_exit(const char *name);

/* Reads all Manager properties. */
int bus_get_daemon_info(sd_bus *bus, DaemonInfo *ret, sd_bus_error *error);
/* Reads all Workload properties of path. */
int bus_get_workload_info(sd_bus *bus, const char *path, WorkloadInfo *ret, sd_bus_error *error);
/* Every workload's properties in one call (ObjectManager.GetManagedObjects), in the table's
 * order: for whole-table commands (metrics), which asked GetAll of each before. */
int bus_get_workload_infos(sd_bus *bus, WorkloadInfo **ret, size_t *ret_n, sd_bus_error *error);
/* Manager.ListWorkloads as list rows (full = false). */
int bus_list_workloads(sd_bus *bus, WorkloadInfo **ret, size_t *ret_n, sd_bus_error *error);
/* Reads one uint64 property of a workload (the progress line polls LockedBytes). */
int bus_get_workload_u64(sd_bus *bus, const char *path, const char *property, uint64_t *ret);
/* Resolves "ID" or "PID" (a workload id is tried first; "pid:N" and "id:N" force one) to a
 * workload object path. Returns -ENXIO with a message in error when nothing matches. */
int bus_resolve_workload(sd_bus *bus, const char *spec, char **ret_path, sd_bus_error *error);
/* The id part of a workload path ("/org/mlockd1/workload/7" → "7"), or the path itself. */
const char *workload_path_to_id(const char *path);

/* Appends the a{sv} options of Run/Exec/Attach; unset values (NULL, 0, -2) are skipped. */
typedef struct RequestOptions {
        const char *policy;
        const char *name;
        const char *mode;
        uint64_t limit; /* 0: the policy's */
        int prefault_threads; /* -2: the policy's */
        int detach; /* -1: unset */
} RequestOptions;
#define REQUEST_OPTIONS_INIT                                                                       \
        { .prefault_threads = -2, .detach = -1 }
int bus_append_request_options(sd_bus_message *m, const RequestOptions *o);
