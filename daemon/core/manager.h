/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The Manager: all daemon state, the userdata of every handler. The manager_* functions are
 * the daemon's actions; bus handlers (bus-*.c) and other event sources (e.g. libvirt events)
 * call them, so nothing here depends on a bus message. Errors are returned as -errno and
 * described in an sd_bus_error (usable without a bus: sd_bus_error_free() it afterwards). */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "daemon/core/caller.h"
#include "daemon/libvirt-module.h"
#include "daemon/core/workload.h"
#include "policy/config.h"
#include "policy/policy.h"

typedef struct Manager Manager;
typedef struct Connection Connection;

/* One accepted peer-to-peer connection on the socket. */
struct Connection {
        Manager *manager;
        Connection *prev, *next;
        sd_bus *bus;
        Caller caller; /* from the socket, fixed for the connection's life */
        uint64_t id;
        char unique_name[32]; /* ":1.<id>", answered to Hello */
        bool over_limit; /* beyond LIMIT_CONNECTIONS_PER_UID: every call gets an error */
        bool active; /* has sent a message: signals may go to it (see bus-server.c) */
        sd_event_source *free_source; /* deferred free after Disconnected */
        sd_event_source *auth_source; /* until authenticated: see on_connection_authenticated */
};

/* Per-uid call-rate token bucket (daemon/limits.h). */
typedef struct RateBucket {
        uid_t uid;
        double tokens;
        uint64_t last_usec;
} RateBucket;

/* Command-line settings handed to manager_new(); NULL = default. */
typedef struct ManagerSettings {
        const char *config_path; /* --config */
        const char *socket_path; /* --socket, overrides Socket= */
        char **policy_dirs; /* --policy-dir (NULL-terminated), replaces the search path */
        const char *state_dir; /* --state-dir, overrides StateDirectory= */
        const char *shim_path; /* --shim */
} ManagerSettings;

struct Manager {
        sd_event *event;

        char *config_path;
        char *socket_path; /* effective: --socket, else Socket=, else the default */
        char **policy_dirs;
        bool *policy_dirs_present; /* at the last successful load; NULL before the first */
        char *state_dir;
        char *shim_path;
        bool socket_from_cmdline, state_dir_from_cmdline;

        uint64_t mem_total;
        DaemonConfig config;
        PolicySet *policies;

        WorkloadTable workloads;
        uint64_t next_id;

        /* bus-server.c */
        int listen_fd;
        bool listen_fd_ours; /* created by us (unlink on exit), not socket-activated */
        sd_event_source *listen_source;
        Connection *connections;
        size_t n_connections;
        uint64_t next_connection_id;
        sd_bus *system_bus;
        RateBucket *rate_buckets;
        size_t n_rate_buckets;

        /* manager.c */
        sd_event_source *budget_timer;
        sd_event_source *gc_timer;
        sd_event_source *sigterm_source, *sigint_source, *sighup_source;
        /* notify.c */
        sd_event_source *watchdog_timer;
        uint64_t watchdog_usec;

        bool has_sys_resource, has_ipc_lock, has_sys_ptrace;
        pid_t self_pid;

        /* [Libvirt] URI=: guests libvirt starts are attached as root, decided by policy. */
        struct LibvirtEvents *libvirt;
        LibvirtModule libvirt_module; /* mlockd-libvirt.so, opened only for URI= */
};

/* Options of Run, Exec, Attach, AttachPidfd (docs/dbus-api.md). */
typedef struct WorkloadOptions {
        const char *policy; /* NULL: first match */
        const char *name;
        LockMode mode; /* _LOCK_MODE_INVALID: the policy's */
        uint64_t limit; /* 0: the policy's */
        int prefault_threads; /* -2: the policy's */
        bool detach; /* Run */
        mode_t umask; /* Run, default 022 */
        const char *libvirt_domain; /* Attach */
        uint64_t memory; /* Attach: guest memory size; sizes the limit (plus overhead); 0 unknown */
        uint64_t hard_limit; /* Attach: libvirt's <memtune><hard_limit>; wins over memory */
} WorkloadOptions;
void workload_options_init(WorkloadOptions *o);

/* manager.c */
int manager_new(const ManagerSettings *s, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);
/* Loads mlockd.conf and policies into fresh objects; on success replaces the old ones; on
 * failure everything stays as it was and diags lists every problem. */
int manager_load_config(Manager *m, PolicyDiagnostics *diags);
/* Reload(): manager_load_config() plus a log line; -EBADMSG with diags on error. */
int manager_reload(Manager *m, PolicyDiagnostics *diags);
/* Re-adopts from the state file, listens, connects to the system bus, sends READY=1.
 * (main.c locks memory and drops capabilities before.) */
int manager_startup(Manager *m);
int manager_run_loop(Manager *m);

/* Table changes: every change goes through these, which also save the state file and emit
 * signals. */
void manager_workload_add(Manager *m, Workload *w);
void manager_workload_set_state(Manager *m, Workload *w, WorkloadState state);
/* Locked: records bytes and duration, emits WorkloadLocked. */
void manager_workload_locked(Manager *m, Workload *w, uint64_t locked_bytes, uint64_t duration);
/* Failed: records the error, emits WorkloadFailed. */
void manager_workload_failed(Manager *m, Workload *w, const char *error);
/* The process is gone: exit status (code 0 = unknown), reservation freed, WorkloadExited. */
void manager_workload_exited(Manager *m, Workload *w, int code, int status);
/* Drops a workload from the table now: WorkloadRemoved, InterfacesRemoved, freed. */
void manager_workload_remove(Manager *m, Workload *w);
/* Starts watching w->pidfd for the process's end. */
int manager_workload_watch(Manager *m, Workload *w);
/* Saves the state file (logs failures; the daemon keeps running). */
void manager_save_state(Manager *m);
/* Re-reads everything from /proc that the sd_notify STATUS and the properties show. */
uint64_t manager_locked_bytes(Manager *m);
uint64_t manager_reserved_bytes(Manager *m);
/* Finds a workload by id or path, checks the caller may act on it (root or its uid). */
int manager_get_workload(Manager *m, const Caller *c, const char *path, Workload **ret,
                         sd_bus_error *error);
/* Workloads per uid (MaxWorkloadsPerUser=); -EUSERS with a message if one more is too many. */
int manager_check_workload_limit(Manager *m, const Caller *c, sd_bus_error *error);

/* Starts a policy request: who asks (c), what they asked for (o, may be NULL), and the caller
 * as the target with its groups (Run and Exec lock the caller's own program). Attach and
 * Explain then set the target with manager_request_set_target(). */
void manager_request_init(PolicyRequest *req, RequestKind kind, const Caller *c,
                          const WorkloadOptions *o);
typedef struct TargetInfo TargetInfo;
void manager_request_set_target(PolicyRequest *req, const TargetInfo *t);

/* Decides a request by policy; fills decision. Verdict denials are turned into errors
 * (AccessDenied says which rule and why, BudgetExceeded the numbers). */
int manager_decide(Manager *m, const PolicyRequest *req, PolicyDecision *ret, sd_bus_error *error);
int manager_kill(Manager *m, const Caller *c, Workload *w, int sig, sd_bus_error *error);
/* Explain(pid): what policy would decide for attaching pid. decision is filled even for
 * denials; returns -errno only if the process cannot be examined. */
int manager_explain(Manager *m, const Caller *c, pid_t pid, PolicyDecision *ret,
                    sd_bus_error *error);
/* A peer connection closed: foreground workloads it started get SIGHUP. */
void manager_connection_gone(Manager *m, sd_bus *bus);

/* manager-run.c: Run and Exec. fds are the caller's stdin/stdout/stderr (not taken). owner is
 * the connection a foreground workload belongs to (NULL: none). */
int manager_run(Manager *m, const Caller *c, char **argv, char **env, const char *cwd,
                const int fds[3], const WorkloadOptions *o, sd_bus *owner, Workload **ret,
                sd_bus_error *error);
/* Exec: the caller's own process becomes the workload; *ret_env gets the entries
 * (LD_PRELOAD=, MEMLOCK_*=) to add before exec. */
int manager_exec(Manager *m, const Caller *c, char **argv, const WorkloadOptions *o, Workload **ret,
                 char ***ret_env, sd_bus_error *error);
/* Reads a shim report that is already in the pipe (the process exited right after it). */
void manager_run_flush_report(Manager *m, Workload *w);

/* manager-attach.c: attach to a running process (pidfd may be -EBADF: opened from pid).
 * Returns once the injection has started; WorkloadLocked/WorkloadFailed follow. */
int manager_attach(Manager *m, const Caller *c, pid_t pid, int pidfd, const WorkloadOptions *o,
                   Workload **ret, sd_bus_error *error);
/* Non-bus callers (libvirt events): attach as root. */
int manager_attach_pid(Manager *m, pid_t pid, const WorkloadOptions *o, Workload **ret,
                       sd_bus_error *error);
/* Detach: munlockall in the target, restore its limit, remove it from the table. Returns 0 when
 * done at once (the process had already exited), 1 when the injection runs: the caller may
 * store a method call in w->detach_reply, answered when it finishes. */
int manager_detach(Manager *m, const Caller *c, Workload *w, sd_bus_error *error);
/* A workload that is being removed while its helper still runs. */
void manager_attach_abandon(Manager *m, Workload *w);

/* bus-server.c */
int bus_server_listen(Manager *m);
/* Serves one accepted (or socketpair) connection fd, taken over also on failure. */
int bus_server_add_connection(Manager *m, int fd);
void bus_server_done(Manager *m);
int bus_system_connect(Manager *m);
/* Finds the peer connection of a bus; NULL for the system bus. */
Connection *manager_find_connection(Manager *m, sd_bus *bus);
/* The caller of a message on any of our buses (peer: from the socket; system bus: creds). */
int bus_message_get_caller(Manager *m, sd_bus_message *msg, Caller *ret, sd_bus_error *error);
/* Per-uid call-rate limit: 0, or -EUSERS with an error. */
int bus_check_rate(Manager *m, const Caller *c, sd_bus_error *error);
/* Sends a signal on every peer connection and the system bus. */
void bus_emit_signal(Manager *m, const char *path, const char *interface, const char *member,
                     const char *types, ...);
void bus_emit_properties_changed(Manager *m, const char *path, const char *interface,
                                 const char *property);
void bus_emit_object_added(Manager *m, const char *path);
void bus_emit_object_removed(Manager *m, const char *path);
/* Installs the Hello, Manager, Workload and ObjectManager objects on a bus. */
int bus_add_objects(Manager *m, sd_bus *bus);

/* bus-manager.c / bus-workload.c */
extern const sd_bus_vtable bus_manager_vtable[];
extern const sd_bus_vtable bus_workload_vtable[];
extern const sd_bus_vtable bus_hello_vtable[];
int bus_workload_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                      void **ret_found, sd_bus_error *error);
int bus_workload_enumerate(sd_bus *bus, const char *path, void *userdata, char ***ret_nodes,
                           sd_bus_error *error);
void bus_manager_emit_workload_new(Manager *m, Workload *w);
void bus_manager_emit_workload_locked(Manager *m, Workload *w);
void bus_manager_emit_workload_failed(Manager *m, Workload *w);
void bus_manager_emit_workload_exited(Manager *m, Workload *w);
void bus_manager_emit_workload_removed(Manager *m, Workload *w);

/* notify.c */
int manager_notify_setup(Manager *m); /* READY=1 and the watchdog timer */
void manager_notify_status(Manager *m);
void manager_notify_stopping(Manager *m);

#define MANAGER_PATH "/org/mlockd1"
#define MANAGER_INTERFACE "org.mlockd1.Manager"
#define WORKLOAD_INTERFACE "org.mlockd1.Workload"
#define MANAGER_BUS_NAME "org.mlockd1"
