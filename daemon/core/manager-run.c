/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Run and Exec: policy → budget → spawn (or the caller itself) → workload → the shim's report
 * becomes WorkloadLocked or WorkloadFailed. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>

#include "common/log.h"
#include "common/macro.h"
#include "common/parse-util.h"
#include "common/proc.h"
#include "common/process-util.h"
#include "daemon/bus/bus-error.h"
#include "daemon/helpers/env-filter.h"
#include "daemon/helpers/exec-check.h"
#include "daemon/core/manager.h"
#include "daemon/core/shim-report-reader.h"
#include "daemon/helpers/spawn.h"
#include "daemon/core/target.h"

static void report_done(Workload *w) {
        w->report_source = sd_event_source_disable_unref(w->report_source);
        w->report_fd = safe_close(w->report_fd);
}

/* final: the process is gone, so a report that is not complete now will never come. */
static void handle_report(Manager *m, Workload *w, bool final) {
        _cleanup_free_ char *msg = NULL;
        ShimReport rep;
        int r;

        r = shim_report_read(w->report_fd, &w->report_reader, &rep);
        if (r == -EAGAIN && !final)
                return;
        report_done(w);

        if (r == -EAGAIN || r == -ENODATA) {
                if (asprintf(&msg,
                             "the workload %s before the shim reported: the shim was not loaded "
                             "(is '%s' readable by uid %u, and the program dynamically linked?)",
                             final ? "exited" : "closed the report pipe", m->shim_path,
                             (unsigned) w->uid) < 0)
                        msg = NULL;
        } else if (r < 0) {
                if (asprintf(&msg, "unreadable lock report from the shim: %s", strerror(-r)) < 0)
                        msg = NULL;
        } else if (rep.error != 0 && rep.stage != SHIM_STAGE_PREFAULT) {
                if (asprintf(&msg, "%s failed: %s (VmLck %s)%s",
                             rep.stage == SHIM_STAGE_MLOCKALL
                                     ? "mlockall"
                                     : strna(shim_stage_to_string(rep.stage)),
                             strerror(rep.error), FORMAT_BYTES(rep.vm_lck_bytes),
                             rep.flags & SHIM_REPORT_ABORTED
                                     ? "; the workload was stopped (OnFailure=abort)"
                                     : "; the workload runs unlocked (OnFailure=continue)") < 0)
                        msg = NULL;
        } else {
                /* A prefault error is not a lock failure: mlockall ran and faulted in the rest
                 * itself, only slower (shim/README.md). */
                if (rep.error != 0)
                        log_warning("Workload %s '%s' (pid %d): prefaulting failed (%s); locked "
                                    "anyway.",
                                    w->id_str, strempty(w->name), w->ident.pid,
                                    strerror(rep.error));
                manager_workload_locked(m, w, rep.vm_lck_bytes, rep.duration_usec);
                return;
        }
        manager_workload_failed(m, w, msg ?: "lock failed");
}

void manager_run_flush_report(Manager *m, Workload *w) {
        if (w->report_fd >= 0)
                handle_report(m, w, true);
}

static int on_report(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Workload *w = userdata;

        handle_report(w->manager, w, false);
        return 0;
}

static const char *name_from_argv0(const char *argv0) {
        const char *s = strrchr(argv0, '/');
        return s && s[1] ? s + 1 : argv0;
}

static int set_name(Workload *w, const char *name, const char *fallback) {
        w->name = strndup(name ?: fallback, 255);
        return w->name ? 0 : -ENOMEM;
}

static int spawn_error(sd_bus_error *error, int r, const char *msg, const char *argv0) {
        const char *name;

        switch (-r) {
        case ENOENT:
        case EACCES:
        case EISDIR:
        case ENOEXEC:
        case ENOTDIR:
        case ELOOP:
                name = BUS_ERROR_INVALID_ARGUMENT;
                break;
        case EPERM:
                name = BUS_ERROR_UNSUPPORTED;
                break;
        default:
                name = BUS_ERROR_LOCK_FAILED;
        }
        if (msg)
                return bus_error_setf(error, name, "%s", msg);
        return bus_error_setf(error, name, "Cannot run '%s': %s", argv0, strerror(-r));
}

/* Run and Exec lock the caller's own program: the caller is the target. Decides by policy
 * and makes the workload entry with the decided settings (not yet in the table). */
static int new_own_workload(Manager *m, const Caller *c, RequestKind kind, const ExecCheck *ec,
                            const char *argv0, const WorkloadOptions *o, Workload **ret,
                            sd_bus_error *error) {
        _cleanup_(workload_freep) Workload *w = NULL;
        PolicyDecision d = {};
        PolicyRequest req;
        int r;

        r = manager_check_workload_limit(m, c, error);
        if (r < 0)
                return r;
        manager_request_init(&req, kind, c, o);
        req.exe = ec->canonical; /* like /proc/PID/exe, as for Attach */
        r = manager_decide(m, &req, &d, error);
        if (r < 0)
                return r;

        r = workload_new(m->next_id, &w);
        if (r >= 0) {
                w->kind = kind == REQUEST_EXEC ? WORKLOAD_KIND_EXEC : WORKLOAD_KIND_RUN;
                w->settings = d.settings;
                w->policy = strdup(policy_name(d.policy));
                r = w->policy ? set_name(w, o->name, name_from_argv0(argv0)) : -ENOMEM;
        }
        policy_decision_clear(&d);
        if (r < 0)
                return bus_error_setf_errno(error, r, "Out of memory.");
        *ret = TAKE_PTR(w);
        return 0;
}

int manager_run(Manager *m, const Caller *c, char **argv, char **env, const char *cwd,
                const int fds[3], const WorkloadOptions *o, sd_bus *owner, Workload **ret,
                sd_bus_error *error) {
        _cleanup_(workload_freep) Workload *w = NULL;
        _cleanup_(exec_check_done) ExecCheck ec = {};
        _cleanup_(spawn_result_done) SpawnResult res = {};
        _cleanup_free_ char *err = NULL;
        ExecCaller ecaller = {
                .uid = c->uid,
                .gid = c->gid,
                .groups = c->groups,
                .n_groups = c->n_groups,
                .cwd = cwd,
                .path = env_get(env, "PATH"),
        };
        int r;

        /* Validate: the command, as the caller would find it. */
        r = exec_check(argv[0], &ecaller, &ec, &err);
        if (r < 0)
                return spawn_error(error, r, err, argv[0]);

        /* Decide. */
        r = new_own_workload(m, c, REQUEST_RUN, &ec, argv[0], o, &w, error);
        if (r < 0)
                return r;

        /* Act. */
        SpawnRequest sreq = {
                .argv = argv,
                .env = env,
                .cwd = cwd,
                .stdin_fd = fds[0],
                .stdout_fd = fds[1],
                .stderr_fd = fds[2],
                .uid = c->uid,
                .gid = c->gid,
                .groups = c->groups,
                .n_groups = c->n_groups,
                .umask = o->umask,
                .shim_path = m->shim_path,
                .lock = &w->settings,
                .daemon_has_sys_resource = m->has_sys_resource,
                .daemon_has_sys_ptrace = m->has_sys_ptrace,
        };
        free(err);
        err = NULL;
        r = spawn_workload(&sreq, &res, &err);
        if (r < 0) {
                return spawn_error(error, r, err, argv[0]);
        }

        /* Record. */
        w->mechanism = res.mechanism;
        w->state = WORKLOAD_LOCKING;
        w->uid = c->uid;
        w->gid = c->gid;
        w->ident.pid = res.pid;
        if (process_identity_get(res.pid, &w->ident) < 0)
                w->ident = (ProcessIdentity){ .pid = res.pid };
        w->pidfd = TAKE_FD(res.pidfd);
        w->report_fd = TAKE_FD(res.report_fd);
        w->is_child = true;
        w->detach = o->detach;
        if (!o->detach && owner)
                w->owner_bus = sd_bus_ref(owner);
        w->manager = m;

        r = sd_event_add_io(m->event, &w->report_source, w->report_fd, EPOLLIN, on_report, w);
        if (r >= 0)
                r = manager_workload_watch(m, w);
        if (r < 0) {
                siginfo_t si;
                /* We cannot follow it: do not leave an unaccounted locked process behind. */
                (void) pidfd_send_signal_checked(w->pidfd, SIGKILL);
                (void) waitid(P_PIDFD, (id_t) w->pidfd, &si, WEXITED);
                return bus_error_setf_errno(error, r, "Failed to watch the workload: %s",
                                            strerror(-r));
        }
        log_info("Workload %s '%s': pid %d for uid %u, policy '%s', %s, limit %s, mechanism %s.",
                 w->id_str, w->name, w->ident.pid, (unsigned) c->uid, w->policy,
                 strna(lock_mode_to_string(w->settings.mode)), FORMAT_BYTES(w->settings.limit),
                 strna(mechanism_to_string(w->mechanism)));
        *ret = w;
        manager_workload_add(m, TAKE_PTR(w));
        return 0;
}

int manager_exec(Manager *m, const Caller *c, char **argv, const WorkloadOptions *o, Workload **ret,
                 char ***ret_env, sd_bus_error *error) {
        _cleanup_(workload_freep) Workload *w = NULL;
        _cleanup_(exec_check_done) ExecCheck ec = {};
        _cleanup_strv_free_ char **env = NULL;
        _cleanup_free_ char *err = NULL, *cwd = NULL;
        _cleanup_close_ int dfd = -EBADF;
        ProcStatus st;
        ProcLimits old;
        int r;

        if (c->pid <= 0 || c->pidfd < 0)
                return bus_error_setf(error, BUS_ERROR_NO_SUCH_PROCESS,
                                      "Cannot identify the calling process; Exec needs a caller "
                                      "on the local socket.");
        if (workload_table_find_pid(&m->workloads, c->pid))
                return bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                      "pid %d is a workload already.", c->pid);
        dfd = proc_open(c->pid);
        if (dfd < 0)
                return bus_error_setf(error, BUS_ERROR_NO_SUCH_PROCESS, "pid %d is gone.", c->pid);
        r = proc_status_read(dfd, &st);
        if (r < 0)
                return bus_error_setf(error, BUS_ERROR_NO_SUCH_PROCESS, "pid %d is gone.", c->pid);
        {
                char buf[4096];
                ssize_t n = readlinkat(dfd, "cwd", buf, sizeof(buf) - 1);
                if (n > 0) {
                        buf[n] = '\0';
                        cwd = strdup(buf);
                }
        }

        ExecCaller ecaller = {
                .uid = c->uid,
                .gid = c->gid,
                .groups = c->groups,
                .n_groups = c->n_groups,
                .cwd = cwd,
        };
        r = exec_check(argv[0], &ecaller, &ec, &err);
        if (r < 0)
                return spawn_error(error, r, err, argv[0]);
        if (exec_kind_needs_injection(ec.kind))
                return bus_error_setf(error, BUS_ERROR_UNSUPPORTED,
                                      "'%s' is %s: the shim cannot reach it through exec; use "
                                      "'memlockctl run', which locks such programs by injection.",
                                      ec.path, exec_kind_to_string(ec.kind));
        r = new_own_workload(m, c, REQUEST_EXEC, &ec, argv[0], o, &w, error);
        if (r < 0)
                return r;

        if (st.cap_eff != PROC_UNSET && (st.cap_eff & (UINT64_C(1) << CAP_IPC_LOCK)))
                w->mechanism = MECHANISM_PREEXISTING;
        else if (m->has_sys_resource) {
                r = target_raise_memlock(c->pidfd, c->pid, w->settings.limit, &old);
                if (r < 0)
                        return bus_error_setf_errno(error, r,
                                                    "Failed to raise RLIMIT_MEMLOCK of pid %d: %s",
                                                    c->pid, strerror(-r));
                w->mechanism = MECHANISM_RLIMIT;
                w->limit_raised = true;
                w->orig_memlock_soft = old.memlock_soft;
                w->orig_memlock_hard = old.memlock_hard;
        } else
                return bus_error_setf(
                        error, BUS_ERROR_UNSUPPORTED,
                        "pid %d (uid %u) lacks CAP_IPC_LOCK, and mlockd lacks CAP_SYS_RESOURCE "
                        "to raise its RLIMIT_MEMLOCK: 'memlockctl exec' cannot work here. Use "
                        "'memlockctl run', which gives the new process CAP_IPC_LOCK.",
                        c->pid, (unsigned) c->uid);

        /* The entries memlockctl exec adds to its own environment before exec'ing. */
        r = spawn_build_env(NULL, m->shim_path, &w->settings, -1, &env);
        if (r < 0)
                goto oom;
        w->state = WORKLOAD_LOCKING;
        w->uid = c->uid;
        w->gid = c->gid;
        if (process_identity_get(c->pid, &w->ident) < 0)
                w->ident = (ProcessIdentity){ .pid = c->pid };
        w->pidfd = fcntl(c->pidfd, F_DUPFD_CLOEXEC, 3);
        if (w->pidfd < 0)
                return bus_error_setf_errno(error, -errno, "Failed to duplicate pidfd: %m");
        w->manager = m;
        w->detach = true; /* it is the caller itself: nothing to hang up */
        r = manager_workload_watch(m, w);
        if (r < 0)
                return bus_error_setf_errno(error, r, "Failed to watch pid %d: %s", c->pid,
                                            strerror(-r));
        log_info("Workload %s '%s': pid %d (uid %u) execs with the shim, policy '%s', limit %s, "
                 "mechanism %s.",
                 w->id_str, w->name, c->pid, (unsigned) c->uid, w->policy,
                 FORMAT_BYTES(w->settings.limit), strna(mechanism_to_string(w->mechanism)));
        *ret = w;
        *ret_env = TAKE_PTR(env);
        manager_workload_add(m, TAKE_PTR(w));
        return 0;
oom:
        return bus_error_setf_errno(error, -ENOMEM, "Out of memory.");
}
