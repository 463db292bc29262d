/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The Manager: all daemon state and its actions (manager_*). It knows no D-Bus: bus handlers
 * (daemon/bus/) and other event sources (libvirt events) call it, and it reports every change
 * through one observer (ManagerObserver), flushed once per event-loop turn. Errors are -errno
 * plus a CoreError (daemon/core/error.h). Slow work runs in jobs: forked children whose
 * completion comes back as events. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "daemon/containment/containment.h"
#include "daemon/core/caller.h"
#include "daemon/core/error.h"
#include "daemon/core/workload.h"
#include "daemon/libvirt-module.h"
#include "policy/config.h"
#include "policy/guest-limit.h"
#include "policy/policy.h"

typedef struct Manager Manager;
typedef struct Job Job;

/* Command-line settings handed to manager_new(); NULL = default. */
typedef struct ManagerSettings {
        const char *config_path; /* --config */
        const char *socket_path; /* --socket, overrides Socket= */
        char **policy_dirs; /* --policy-dir (NULL-terminated), replaces the search path */
        const char *state_dir; /* --state-dir, overrides StateDirectory= */
        const char *shim_path; /* --shim */
} ManagerSettings;

/* What changed, as the observer hears it (once per loop turn, in order). */
typedef enum ManagerEventType {
        MANAGER_EVENT_WORKLOAD_NEW,
        MANAGER_EVENT_WORKLOAD_LOCKED, /* bytes, duration */
        MANAGER_EVENT_WORKLOAD_FAILED, /* error */
        MANAGER_EVENT_WORKLOAD_EXITED, /* code, status (raw; status -1 when code is 0) */
        MANAGER_EVENT_WORKLOAD_REMOVED,
        _MANAGER_EVENT_TYPE_MAX,
        _MANAGER_EVENT_TYPE_INVALID = -EINVAL,
} ManagerEventType;

typedef struct ManagerEvent {
        ManagerEventType type;
        uint64_t workload_id; /* the object may be gone by the flush (REMOVED) */
        uint64_t started_by; /* the workload's started_by, copied when the event was queued */
        uint64_t bytes, duration_usec;
        int code, status;
        char *error;
} ManagerEvent;

/* Properties whose value changed, per workload and for the Manager. */
typedef enum WorkloadChange {
        WORKLOAD_CHANGE_STATE = 1u << 0,
        WORKLOAD_CHANGE_ERROR = 1u << 1,
        WORKLOAD_CHANGE_EXIT_STATUS = 1u << 2,
        WORKLOAD_CHANGE_LOCK_DURATION = 1u << 3,
        WORKLOAD_CHANGE_LIMIT = 1u << 4, /* event mode re-sized a guest */
} WorkloadChange;

typedef enum ManagerChange {
        MANAGER_CHANGE_WORKLOADS = 1u << 0,
        MANAGER_CHANGE_RESERVED = 1u << 1,
        MANAGER_CHANGE_BUDGET = 1u << 2,
        MANAGER_CHANGE_POLICIES = 1u << 3,
} ManagerChange;

/* A finished job (Run, Exec, Detach): w is the workload (Run, Exec) or NULL (Detach, or any
 * failure, then error is set); env is Exec's environment additions. */
typedef struct JobResult {
        uint64_t job_id;
        Workload *workload;
        char **env;
        const CoreError *error;
} JobResult;

/* The one observer interface (logind's session_send_changed() is the model): the bus layer
 * implements it to emit signals and send deferred replies; tests record it. Every callback may
 * be NULL. Events and changes come from manager_flush(), once per loop turn; job_finished at once
 * (a reply is not batched). */
typedef struct ManagerObserver {
        void (*event)(void *userdata, const ManagerEvent *e);
        void (*workload_changed)(void *userdata, Workload *w, unsigned changes);
        void (*manager_changed)(void *userdata, unsigned changes);
        void (*job_finished)(void *userdata, const JobResult *r);
} ManagerObserver;

struct Manager {
        sd_event *event;

        char *config_path;
        char *socket_path; /* effective: --socket, else Socket=, else the default */
        char **policy_dirs;
        bool *policy_dirs_present; /* at the last successful load; NULL before the first */
        char *state_dir;
        char *shim_path;
        bool socket_from_cmdline, state_dir_from_cmdline;
        bool started; /* manager_startup() ran: socket and state directory are fixed */

        uint64_t mem_total;
        DaemonConfig config;
        PolicySet *policies;

        WorkloadTable workloads;
        uint64_t next_id;
        Job *jobs;
        size_t n_jobs;
        uint64_t next_job_id;

        const ManagerObserver *observer;
        void *observer_userdata;

        /* The loop-turn flush (manager.c): queued events, dirty workloads, dirty flags. */
        sd_event_source *flush_source;
        ManagerEvent *events;
        size_t n_events, n_events_allocated;
        unsigned manager_changes;
        bool state_dirty, status_dirty;
        char *last_status;

        sd_event_source *budget_timer;
        sd_event_source *gc_timer;
        /* Shutting down: the loop runs on only until the cgroups of exited workloads are gone
         * (manager_containment_stopping()), at most LIMIT_STOP_CGROUP_WAIT_USEC. */
        sd_event_source *stop_timer;
        uint64_t stop_deadline;
        sd_event_source *status_timer;
        sd_event_source *sigterm_source, *sigint_source, *sighup_source;
        /* notify.c */
        sd_event_source *watchdog_timer;
        uint64_t watchdog_usec;

        bool has_sys_resource, has_ipc_lock, has_sys_ptrace, has_sys_chroot;

        /* manager-contain.c: the backend chosen at start-up, and cgroups whose workload is gone
         * from the table while processes remain in them (descendants, detached workloads):
         * still bounded, removed once empty. */
        Containment containment;
        struct OrphanCgroup *orphans;
        size_t n_orphans;
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
        GuestFacts guest; /* Attach: a libvirt guest's facts; they size its limit (guest_limit()) */
} WorkloadOptions;
void workload_options_init(WorkloadOptions *o);

/* manager.c */
int manager_new(const ManagerSettings *s, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);
void manager_set_observer(Manager *m, const ManagerObserver *o, void *userdata);
/* Loads mlockd.conf and policies into fresh objects; on success replaces the old ones; on
 * failure everything stays as it was and diags lists every problem. */
int manager_load_config(Manager *m, PolicyDiagnostics *diags);
/* Reload(): manager_load_config() plus a log line; -EBADMSG with diags on error. */
int manager_reload(Manager *m, PolicyDiagnostics *diags);
/* Re-adopts from the state file, adds signal handlers and libvirt, sends READY=1. (main.c locks
 * memory and drops capabilities before, and starts the bus server after.) */
int manager_startup(Manager *m);
/* Once the bus server listens: READY=1, the watchdog, a log line. */
int manager_ready(Manager *m);
int manager_run_loop(Manager *m);

/* Table changes: every change goes through these, which queue events and mark the state and
 * the sd_notify STATUS dirty; manager_flush() reports them once per loop turn. */
void manager_workload_add(Manager *m, Workload *w);
void manager_workload_set_state(Manager *m, Workload *w, WorkloadState state);
/* Locked: records bytes and duration, queues WorkloadLocked. */
void manager_workload_locked(Manager *m, Workload *w, uint64_t locked_bytes, uint64_t duration);
/* Failed: records the error, queues WorkloadFailed. */
void manager_workload_failed(Manager *m, Workload *w, const char *error);
/* The process is gone: exit status (code 0 = unknown), reservation freed, WorkloadExited. */
void manager_workload_exited(Manager *m, Workload *w, int code, int status);
/* Drops a workload from the table now: WorkloadRemoved, freed. */
void manager_workload_remove(Manager *m, Workload *w);
/* Marks properties of w changed (WorkloadChange bits). */
void manager_workload_changed(Manager *m, Workload *w, unsigned changes);
/* Starts watching w->pidfd for the process's end. */
int manager_workload_watch(Manager *m, Workload *w);
/* Emits what is queued, saves the state and updates STATUS if dirty: normally from the
 * loop-turn source; tests and shutdown call it directly. */
void manager_flush(Manager *m);
/* Saves the state file now (logs failures; the daemon keeps running). */
void manager_save_state(Manager *m);

/* The cached /proc sample of w (workload.h), refreshed when older than
 * WORKLOAD_SAMPLE_MAX_AGE_USEC. */
const WorkloadSample *manager_workload_sample(Manager *m, Workload *w);
/* Sum of VmLck over live workloads, from the samples. */
uint64_t manager_locked_bytes(Manager *m);
/* Reservations of live workloads and of jobs that have been decided but not started yet. */
uint64_t manager_reserved_bytes(Manager *m);
/* Finds a workload by path, checks the caller may act on it (root or its uid). */
int manager_get_workload(Manager *m, const Caller *c, const char *path, Workload **ret,
                         CoreError *error);
/* Workloads (and pending launches) per uid (MaxWorkloadsPerUser=); -EUSERS if one more is too
 * many. */
int manager_check_workload_limit(Manager *m, const Caller *c, CoreError *error);

/* Starts a policy request: who asks (c), what they asked for (o, may be NULL), and the caller
 * as the target with its groups (Run and Exec lock the caller's own program). Attach and
 * Explain then set the target with manager_request_set_target(). */
void manager_request_init(PolicyRequest *req, RequestKind kind, const Caller *c,
                          const WorkloadOptions *o);
typedef struct TargetInfo TargetInfo;
void manager_request_set_target(PolicyRequest *req, const TargetInfo *t);

/* Decides a request by policy; fills decision. Verdict denials are turned into errors
 * (AccessDenied says which rule and why, BudgetExceeded the numbers). */
int manager_decide(Manager *m, const PolicyRequest *req, PolicyDecision *ret, CoreError *error);
int manager_kill(Manager *m, const Caller *c, Workload *w, int sig, CoreError *error);
/* Explain(pid): what policy would decide for attaching pid. decision is filled even for
 * denials; returns -errno only if the process cannot be examined. */
int manager_explain(Manager *m, const Caller *c, pid_t pid, PolicyDecision *ret, CoreError *error);
/* The owner of foreground workloads (an opaque id the bus layer gives Run: its connection)
 * went away: those still running get SIGHUP, those still launching are cancelled. */
void manager_owner_gone(Manager *m, uint64_t owner);

/* manager-run.c: Run and Exec are launch jobs. Each returns at once with a job id in *ret_job_id;
 * observer->job_finished reports the workload or the error. fds are the caller's
 * stdin/stdout/stderr (dup'd). owner (0: none) is who a foreground workload belongs to. */
int manager_run(Manager *m, const Caller *c, char **argv, char **env, const char *cwd,
                const int fds[3], const WorkloadOptions *o, uint64_t owner, uint64_t *ret_job_id,
                CoreError *error);
/* Exec: the caller's own process becomes the workload; the result's env has the entries
 * (LD_PRELOAD=, MEMLOCK_*=) to add before exec. */
int manager_exec(Manager *m, const Caller *c, char **argv, const WorkloadOptions *o,
                 uint64_t *ret_job_id, CoreError *error);
/* Reads a shim report that is already in the pipe (the process exited right after it). */
void manager_run_flush_report(Manager *m, Workload *w);
/* The owner of foreground launches went away: they are cancelled (manager_owner_gone()). */
void manager_jobs_owner_gone(Manager *m, uint64_t owner);
/* Every launch job is dropped (its child killed): at shutdown. */
void manager_jobs_clear(Manager *m);
/* What decided launch jobs reserve (of uid; UID_INVALID: everyone's), and how many jobs a uid
 * has. */
#define UID_INVALID ((uid_t) -1)
uint64_t manager_jobs_reserved(Manager *m, uid_t uid);
size_t manager_jobs_count_uid(Manager *m, uid_t uid);

/* manager-contain.c: containment (daemon/containment/containment.h). */
/* Chooses the backend at start-up (logged) and deals with cgroups left from before. */
int manager_containment_start(Manager *m);
/* At exit: removes the empty cgroups of gone workloads; live ones stay with their workloads. */
void manager_containment_stop(Manager *m);
/* On the way out, in the loop: removes the cgroups of exited workloads; returns true when some
 * are still emptying (their last tasks exiting), to be looked at again shortly. */
bool manager_containment_stopping(Manager *m);
/* Run, once decided: the workload's cgroup and what the launch child needs (*ret_child).
 * capability: the workload gets CAP_IPC_LOCK; without a backend a non-root caller's such
 * workload is refused (ERROR_UNSUPPORTED, saying why and what to change) unless its policy says
 * Containment=optional. */
int manager_contain_run(Manager *m, Workload *w, const Caller *c, bool capability, bool secure_exec,
                        ContainmentChild *ret_child, CoreError *error);
/* Run: hands the waiting launch child pid its cgroup on control_fd, which it joins itself
 * before its verdict: 0, ready. The scope backend asks systemd to start the scope with pid
 * instead: 1, and done(userdata) follows from the loop (*ret_start cancels it). -errno and
 * *ret_error on failure (the launch fails). */
int manager_contain_launch_child(Manager *m, Workload *w, ContainmentChild *cc, pid_t pid,
                                 int control_fd, ContainmentScopeDone done, void *userdata,
                                 ContainmentScopeStart **ret_start, char **ret_error);
/* Run, once the workload is in the table: follow its cgroup's OOM kills as they happen. */
void manager_contain_watch(Manager *m, Workload *w);
/* Attach, Exec: contains a running process if mlockd granted it something (granted) and no
 * systemd unit or libvirt guest cgroup holds it; sets the Containment property either way. */
int manager_contain_process(Manager *m, Workload *w, pid_t pid, bool granted, CoreError *error);
/* The workload's process is gone, or it was detached (keep_bound: the cgroup and its bound
 * stay while any process remains in it): logs and records what the bound did (OOM kills),
 * removes the cgroup when empty, else keeps it until it is. */
void manager_contain_release(Manager *m, Workload *w, bool keep_bound);
/* Removes the kept cgroups that have become empty. */
void manager_contain_gc(Manager *m);
/* When to look at the kept cgroups again (µs from now), UINT64_MAX when there are none. */
uint64_t manager_contain_next_check(Manager *m);
/* Budget (daemon/core/budget.h): what is committed against Budget=, and what uid reserves
 * (launches decided but not started yet included). */
uint64_t manager_contain_held(Manager *m, Workload *w);
uint64_t manager_committed_bytes(Manager *m);
uint64_t manager_user_reserved_bytes(Manager *m, uid_t uid);

/* manager-attach.c: attach to a running process (pidfd may be -EBADF: opened from pid).
 * Returns once the injection has started; WorkloadLocked/WorkloadFailed follow. */
int manager_attach(Manager *m, const Caller *c, pid_t pid, int pidfd, const WorkloadOptions *o,
                   Workload **ret, CoreError *error);
/* A guest's facts changed (hotplug, event mode): re-sizes its reservation and, where mlockd
 * raised it, RLIMIT_MEMLOCK. 1 changed, 0 unchanged, -ENOSPC beyond the budget (kept). */
int manager_attach_resize_guest(Manager *m, Workload *w, const GuestFacts *f);
/* Non-bus callers (libvirt events): attach as root. */
int manager_attach_pid(Manager *m, pid_t pid, const WorkloadOptions *o, Workload **ret,
                       CoreError *error);
/* Detach: munlockall in the target, restore its limit, remove it from the table. Returns 0 when
 * done at once (the process had already exited), 1 when the injection runs as a job
 * (*ret_job_id; observer->job_finished follows). */
int manager_detach(Manager *m, const Caller *c, Workload *w, uint64_t *ret_job_id,
                   CoreError *error);
/* A workload that is being removed while its helper still runs. */
void manager_attach_abandon(Manager *m, Workload *w);

/* notify.c: sd_notify. */
int manager_notify_setup(Manager *m); /* READY=1 and the watchdog timer */
void manager_notify_status(Manager *m);
void manager_notify_stopping(Manager *m);
