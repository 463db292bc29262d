/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Run and Exec as launch jobs: fork the launch child (daemon/helpers/spawn.h), which becomes the
 * caller and opens the program in the caller's world → its identity arrives as an io event →
 * policy and budget decide on that file → the child executes exactly it (or the exec-stop
 * injector takes it for static programs) → EOF on the control socket: the workload is in the
 * table → the shim's report becomes WorkloadLocked or WorkloadFailed. The loop never waits. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common/log.h"
#include "common/macro.h"
#include "common/parse-util.h"
#include "common/proc.h"
#include "common/process-util.h"
#include "common/time-util.h"
#include "daemon/core/limits.h"
#include "daemon/core/manager.h"
#include "daemon/core/message-id.h"
#include "daemon/core/reap.h"
#include "daemon/core/shim-report-reader.h"
#include "daemon/core/target.h"
#include "daemon/helpers/env-filter.h"
#include "daemon/helpers/inject-job.h"
#include "daemon/helpers/inject.h"
#include "daemon/helpers/spawn.h"

typedef enum JobType {
        JOB_RUN,
        JOB_EXEC,
        _JOB_TYPE_MAX,
        _JOB_TYPE_INVALID = -EINVAL,
} JobType;

/* A launch in progress: the child is forked, the program not yet running. */
struct Job {
        Manager *manager;
        Job *prev, *next;
        uint64_t id;
        JobType type;
        Caller caller;
        uint64_t owner;
        WorkloadOptions options; /* strings point into opt_* */
        char *opt_policy, *opt_name;
        char *name; /* from argv[0] when no name was asked for */
        SpawnChild child;
        sd_event_source *control_source, *timeout_source;
        Workload *workload; /* decided: not in the table yet, but its limit is reserved */
        /* The exec-stop injector of a static program, until the program runs: a failure
         * before it could let the child go (e.g. ptrace refused) ends the job at once. */
        pid_t helper_pid;
        sd_event_source *helper_source;
        /* Decided, waiting for systemd to start the workload's scope (the scope backend); then
         * job_release() lets the child go with verdict. */
        ContainmentScopeStart *scope_start;
        ContainmentChild contain;
        SpawnVerdict verdict;
        char *exec_path; /* what the child opened, for messages */
};

/* ---- the shim's report ------------------------------------------------------------------ */

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

/* ---- jobs --------------------------------------------------------------------------------- */

static Job *job_free(Job *j) {
        if (!j)
                return NULL;
        if (j->manager) {
                Manager *m = j->manager;
                if (j->prev)
                        j->prev->next = j->next;
                else if (m->jobs == j)
                        m->jobs = j->next;
                if (j->next)
                        j->next->prev = j->prev;
                m->n_jobs--;
        }
        sd_event_source_disable_unref(j->control_source);
        sd_event_source_disable_unref(j->timeout_source);
        sd_event_source_disable_unref(j->helper_source);
        containment_scope_start_cancel(j->scope_start);
        containment_child_done(&j->contain);
        free(j->exec_path);
        if (j->helper_pid > 0 && j->manager)
                manager_reap_later(j->manager, j->helper_pid);
        if (j->child.pid > 0) {
                /* Not started: it must not run unaccounted. Reaped through its pidfd. */
                (void) pidfd_send_signal_checked(j->child.pidfd, SIGKILL);
                if (j->manager)
                        manager_reap_later(j->manager, j->child.pid);
                else
                        (void) waitpid(j->child.pid, NULL, 0);
        }
        spawn_child_done(&j->child);
        if (j->workload && j->manager)
                /* A decided launch that never ran: its cgroup goes once the child has. */
                manager_contain_release(j->manager, j->workload, false);
        workload_free(j->workload);
        caller_done(&j->caller);
        free(j->opt_policy);
        free(j->opt_name);
        free(j->name);
        free(j);
        return NULL;
}

uint64_t manager_jobs_reserved(Manager *m, uid_t uid) {
        uint64_t sum = 0;

        for (Job *j = m->jobs; j; j = j->next)
                if (j->workload && (uid == UID_INVALID || j->caller.uid == uid)) {
                        uint64_t l = j->workload->settings.limit;
                        sum = l > UINT64_MAX - sum ? UINT64_MAX : sum + l;
                }
        return sum;
}

size_t manager_jobs_count_uid(Manager *m, uid_t uid) {
        size_t n = 0;

        for (Job *j = m->jobs; j; j = j->next)
                if (j->caller.uid == uid)
                        n++;
        return n;
}

void manager_jobs_clear(Manager *m) {
        while (m->jobs)
                job_free(m->jobs);
}

/* Reports the end of the job and frees it. */
static void job_finish(Job *j, Workload *w, char **env, const CoreError *error) {
        Manager *m = j->manager;
        const ManagerObserver *o = m->observer;
        JobResult res = { .job_id = j->id, .workload = w, .env = env, .error = error };

        job_free(j);
        if (o && o->job_finished)
                o->job_finished(m->observer_userdata, &res);
}

static void job_fail(Job *j, CoreError *error) {
        if (core_error_is_set(error))
                log_info("Launch %" PRIu64 " for uid %u failed: %s", j->id,
                         (unsigned) j->caller.uid, strna(error->message));
        job_finish(j, NULL, NULL, error);
}

void manager_jobs_owner_gone(Manager *m, uint64_t owner) {
        for (Job *j = m->jobs, *next; j; j = next) {
                _cleanup_(core_error_done) CoreError e = CORE_ERROR_NULL;

                next = j->next;
                if (j->owner != owner || j->options.detach)
                        continue;
                /* A foreground program whose client is gone would get SIGHUP as soon as it ran:
                 * it does not start at all. */
                (void) core_error_setf(&e, ERROR_LOCK_FAILED,
                                       "The client went away before '%s' started.", j->name);
                job_fail(j, &e);
        }
}

/* The child's own errors: what the caller asked for is wrong (not found, not executable, not
 * enterable), or the system refused it. */
static ErrorKind child_error_kind(int r) {
        switch (-r) {
        case ENOENT:
        case EACCES:
        case EISDIR:
        case ENOEXEC:
        case ENOTDIR:
        case ELOOP:
        case E2BIG:
        case ENAMETOOLONG:
                return ERROR_INVALID_ARGUMENT;
        case EPERM:
                return ERROR_UNSUPPORTED;
        default:
                return ERROR_LOCK_FAILED;
        }
}

static const char *name_from_argv0(const char *argv0) {
        const char *s = strrchr(argv0, '/');
        return s && s[1] ? s + 1 : argv0;
}

/* Policy and budget decide on the file the child opened; the workload entry gets the decided
 * settings (its limit is reserved from here on). */
static int job_decide(Job *j, const SpawnMessage *msg, CoreError *error) {
        _cleanup_(workload_freep) Workload *w = NULL;
        Manager *m = j->manager;
        PolicyDecision d = {};
        PolicyRequest req;
        int r;

        manager_request_init(&req, j->type == JOB_EXEC ? REQUEST_EXEC : REQUEST_RUN, &j->caller,
                             &j->options);
        req.exe = msg->path; /* as the child opened it: what /proc/PID/exe will show */
        r = manager_decide(m, &req, &d, error);
        if (r < 0)
                return r;
        r = workload_new(m->next_id++, &w);
        if (r >= 0) {
                w->kind = j->type == JOB_EXEC ? WORKLOAD_KIND_EXEC : WORKLOAD_KIND_RUN;
                w->settings = d.settings;
                w->policy = strdup(policy_name(d.policy));
                w->uid = j->caller.uid;
                w->gid = j->caller.gid;
                w->manager = m;
                if (!w->policy)
                        r = -ENOMEM;
                else
                        r = workload_set_name(w, j->options.name ?: j->name);
        }
        policy_decision_clear(&d);
        if (r < 0)
                return core_error_setf_errno(error, r, "Out of memory.");
        j->workload = TAKE_PTR(w);
        return 0;
}

static int on_helper_result(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        _cleanup_(core_error_done) CoreError e = CORE_ERROR_NULL;
        Job *j = userdata;
        InjectResult res;
        int r;

        r = inject_job_read_result(fd, &res);
        if (r == -EAGAIN)
                return 0;
        j->helper_source = sd_event_source_disable_unref(j->helper_source);
        if (r >= 0 && (res.error == 0 || res.stage >= INJECT_STAGE_IDENTITY))
                return 0; /* it reached the program: the report pipe says the rest */
        if (r >= 0 && res.stage == INJECT_STAGE_INTERRUPT && res.error == ESRCH)
                return 0; /* the child died before its exec: it says why on the control socket */
        if (r < 0)
                (void) core_error_setf_errno(&e, r, "The exec-stop injector failed: %s",
                                             strerror(-r));
        else
                (void) core_error_setf(&e, ERROR_UNSUPPORTED,
                                       "'%s' cannot load the shim (a static or secure-exec "
                                       "program), and tracing it to lock it at its exec stop "
                                       "failed at stage %s: %s",
                                       j->name, strna(inject_stage_to_string(res.stage)),
                                       strerror(res.error));
        job_fail(j, &e);
        return 0;
}

/* Run, once contained: let the child (or, for static programs, the injector that traces it)
 * go on with j->verdict. */
static int job_release(Job *j, CoreError *error) {
        Manager *m = j->manager;
        int r;

        if (j->verdict.exec_stop) {
                InjectExecStop x = {
                        .go_fd = j->child.control_fd,
                        .go = &j->verdict,
                        .go_len = sizeof(j->verdict),
                        .report_fd = j->child.report_w,
                        .lock = j->workload->settings,
                };
                pid_t helper;
                int result_fd;

                r = inject_job_start_exec_stop(j->child.pid, j->child.pidfd, &x, &helper,
                                               &result_fd);
                if (r >= 0) {
                        /* It reports in the report pipe, like the shim; its own result only
                         * matters if it fails before the program runs. Reaped by job_free(). */
                        j->helper_pid = helper;
                        r = sd_event_add_io(m->event, &j->helper_source, result_fd, EPOLLIN,
                                            on_helper_result, j);
                        if (r >= 0)
                                (void) sd_event_source_set_io_fd_own(j->helper_source, true);
                        else
                                safe_close(result_fd);
                }
        } else
                r = spawn_verdict_send(j->child.control_fd, &j->verdict);
        j->child.report_w = safe_close(j->child.report_w);
        containment_child_done(&j->contain);
        if (r < 0)
                return core_error_setf_errno(error, r, "Failed to let '%s' start: %s",
                                             strna(j->exec_path), strerror(-r));
        return 0;
}

/* systemd started the workload's scope (or could not): the job goes on or fails. */
static void on_scope_started(int error, const char *message, void *userdata) {
        _cleanup_(core_error_done) CoreError e = CORE_ERROR_NULL;
        Job *j = userdata;

        j->scope_start = NULL; /* freed by its caller */
        if (error < 0)
                (void) core_error_setf_errno(&e, error, "%s", message ?: strerror(-error));
        else if (job_release(j, &e) >= 0)
                return;
        job_fail(j, &e);
}

/* Run: the program is decided; contain it, then job_release() (at once, or once systemd has
 * started its scope). */
static int job_proceed(Job *j, const SpawnMessage *msg, CoreError *error) {
        _cleanup_free_ char *err = NULL;
        Manager *m = j->manager;
        Workload *w = j->workload;
        bool exec_stop = exec_kind_needs_injection(msg->kind);
        int r;

        if (exec_stop && !m->has_sys_ptrace)
                return core_error_setf(error, ERROR_UNSUPPORTED,
                                       "'%s' is a %s program, which LD_PRELOAD cannot reach, and "
                                       "without CAP_SYS_PTRACE mlockd cannot lock it at its exec "
                                       "stop.",
                                       msg->path, exec_kind_to_string(msg->kind));
        w->mechanism = exec_stop             ? MECHANISM_PTRACE
                       : m->has_sys_resource ? MECHANISM_RLIMIT
                                             : MECHANISM_CAPABILITY;
        j->exec_path = strdup(msg->path);
        if (!j->exec_path)
                return core_error_setf_errno(error, -ENOMEM, "Out of memory.");

        /* Contain: the workload's cgroup, which the waiting child joins before it may go on
         * (or systemd's scope, into which systemd moves it); the seccomp filter the child loads
         * last before its exec. The child gets CAP_IPC_LOCK when the daemon cannot raise its
         * limit instead. */
        r = manager_contain_run(m, w, &j->caller, !m->has_sys_resource && j->caller.uid != 0,
                                msg->kind == EXEC_KIND_SECURE_EXEC, &j->contain, error);
        if (r < 0)
                return r;
        j->verdict = (SpawnVerdict){
                .allow = 1,
                .exec_stop = exec_stop,
                .mechanism = (uint32_t) w->mechanism,
                .seccomp = !j->contain.seccomp                                ? 0
                           : j->contain.seccomp == &m->containment.seccomp[1] ? 2
                                                                              : 1,
                .lock = w->settings,
        };
        r = manager_contain_launch_child(m, w, &j->contain, j->child.pid, j->child.control_fd,
                                         on_scope_started, j, &j->scope_start, &err);
        if (r < 0)
                return core_error_setf_errno(error, r, "%s", err ?: strerror(-r));
        if (r > 0)
                return 0; /* on_scope_started() follows */
        return job_release(j, error);
}

/* Exec: the caller itself becomes the workload, with a raised limit (it must exec the program
 * itself, so only the limit is the policy's to give). */
static int job_exec_finish(Job *j, const SpawnMessage *msg, char ***ret_env, Workload **ret,
                           CoreError *error) {
        _cleanup_strv_free_ char **env = NULL;
        Manager *m = j->manager;
        Workload *w = j->workload;
        const Caller *c = &j->caller;
        ProcStatus st;
        ProcLimits old;
        int r;

        if (exec_kind_needs_injection(msg->kind))
                return core_error_setf(error, ERROR_UNSUPPORTED,
                                       "'%s' is %s: the shim cannot reach it through exec; use "
                                       "'memlockctl run', which locks such programs by "
                                       "injection.",
                                       msg->path, exec_kind_to_string(msg->kind));
        r = caller_read_status(c, &st);
        if (r < 0)
                return core_error_setf(error, ERROR_NO_SUCH_PROCESS, "pid %d is gone.", c->pid);
        if (st.cap_eff != PROC_UNSET && (st.cap_eff & (UINT64_C(1) << CAP_IPC_LOCK))) {
                w->mechanism = MECHANISM_PREEXISTING;
                r = manager_contain_process(m, w, c->pid, false, error);
                if (r < 0)
                        return r;
        } else if (m->has_sys_resource) {
                r = target_raise_memlock(c->pidfd, c->pid, w->settings.limit, &old);
                if (r < 0)
                        return core_error_setf_errno(error, r,
                                                     "Failed to raise RLIMIT_MEMLOCK of pid %d: %s",
                                                     c->pid, strerror(-r));
                w->mechanism = MECHANISM_RLIMIT;
                w->limit_raised = true;
                w->orig_memlock_soft = old.memlock_soft;
                w->orig_memlock_hard = old.memlock_hard;
                r = manager_contain_process(m, w, c->pid, true, error);
                if (r < 0)
                        return r;
        } else
                return core_error_setf(
                        error, ERROR_UNSUPPORTED,
                        "pid %d (uid %u) lacks CAP_IPC_LOCK, and mlockd lacks CAP_SYS_RESOURCE "
                        "to raise its RLIMIT_MEMLOCK: 'memlockctl exec' cannot work here. Use "
                        "'memlockctl run', which gives the new process CAP_IPC_LOCK.",
                        c->pid, (unsigned) c->uid);

        /* The entries memlockctl exec adds to its own environment before exec'ing. */
        r = spawn_build_env(NULL, m->shim_path, &w->settings, -1, &env);
        if (r < 0)
                return core_error_setf_errno(error, r, "Out of memory.");
        w->state = WORKLOAD_LOCKING;
        if (process_identity_get(c->pid, &w->ident) < 0)
                w->ident = (ProcessIdentity){ .pid = c->pid };
        w->pidfd = fcntl(c->pidfd, F_DUPFD_CLOEXEC, 3);
        if (w->pidfd < 0)
                return core_error_setf_errno(error, -errno, "Failed to duplicate pidfd: %m");
        w->detach = true; /* it is the caller itself: nothing to hang up */
        r = manager_workload_watch(m, w);
        if (r < 0)
                return core_error_setf_errno(error, r, "Failed to watch pid %d: %s", c->pid,
                                             strerror(-r));
        log_struct(LOG_INFO, &WORKLOAD_LOG(w, MESSAGE_WORKLOAD_STARTED),
                   "Workload %s '%s': pid %d (uid %u) execs '%s' with the shim, policy '%s', "
                   "limit %s, mechanism %s.",
                   w->id_str, w->name, c->pid, (unsigned) c->uid, msg->path, w->policy,
                   FORMAT_BYTES(w->settings.limit), strna(mechanism_to_string(w->mechanism)));
        *ret_env = TAKE_PTR(env);
        *ret = TAKE_PTR(j->workload);
        return 0;
}

/* EOF on the control socket after the verdict: the program runs. */
static void job_started(Job *j) {
        _cleanup_(core_error_done) CoreError e = CORE_ERROR_NULL;
        Manager *m = j->manager;
        Workload *w = j->workload;
        int r;

        w->state = WORKLOAD_LOCKING;
        if (process_identity_get(j->child.pid, &w->ident) < 0)
                w->ident = (ProcessIdentity){ .pid = j->child.pid };
        w->pidfd = TAKE_FD(j->child.pidfd);
        w->report_fd = TAKE_FD(j->child.report_fd);
        w->is_child = true;
        w->detach = j->options.detach;
        w->started_by = j->owner;
        if (!j->options.detach)
                w->owner = j->owner;
        j->child.pid = 0; /* the workload's now */

        r = sd_event_add_io(m->event, &w->report_source, w->report_fd, EPOLLIN, on_report, w);
        if (r >= 0)
                r = manager_workload_watch(m, w);
        if (r < 0) {
                /* We cannot follow it: do not leave an unaccounted locked process behind. */
                (void) pidfd_send_signal_checked(w->pidfd, SIGKILL);
                manager_reap_later(m, w->ident.pid);
                (void) core_error_setf_errno(&e, r, "Failed to watch the workload: %s",
                                             strerror(-r));
                return job_fail(j, &e);
        }
        log_struct(LOG_INFO, &WORKLOAD_LOG(w, MESSAGE_WORKLOAD_STARTED),
                   "Workload %s '%s': pid %d for uid %u, policy '%s', %s, limit %s, mechanism %s, "
                   "containment %s.",
                   w->id_str, w->name, w->ident.pid, (unsigned) w->uid, w->policy,
                   strna(lock_mode_to_string(w->settings.mode)), FORMAT_BYTES(w->settings.limit),
                   strna(mechanism_to_string(w->mechanism)), strna(w->containment));
        j->workload = NULL;
        manager_workload_add(m, w);
        manager_contain_watch(m, w);
        job_finish(j, w, NULL, NULL);
}

static int on_control(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        _cleanup_(spawn_message_done) SpawnMessage msg = { .kind = _EXEC_KIND_INVALID };
        _cleanup_(core_error_done) CoreError e = CORE_ERROR_NULL;
        Job *j = userdata;
        int r;

        r = spawn_message_read(fd, &msg);
        if (r == -EAGAIN)
                return 0;
        if (r < 0) {
                (void) core_error_setf_errno(&e, r, "Unreadable message from the launch child: %s",
                                             strerror(-r));
                job_fail(j, &e);
                return 0;
        }
        if (r == 0) {
                if (j->workload && j->type == JOB_RUN) {
                        job_started(j);
                        return 0;
                }
                (void) core_error_setf(&e, ERROR_LOCK_FAILED,
                                       "The workload died before it could be started.");
                job_fail(j, &e);
                return 0;
        }
        if (msg.type == SPAWN_MESSAGE_ERROR) {
                (void) core_error_setf(&e, child_error_kind(msg.error), "%s", msg.text);
                job_fail(j, &e);
                return 0;
        }
        if (j->workload) {
                (void) core_error_setf(&e, ERROR_LOCK_FAILED,
                                       "The launch child reported twice; it was stopped.");
                job_fail(j, &e);
                return 0;
        }

        log_debug("Launch %" PRIu64 " for uid %u opened '%s' (%s%s%s).", j->id,
                  (unsigned) j->caller.uid, msg.path, strna(exec_kind_to_string(msg.kind)),
                  msg.interpreter ? ", interpreter " : "", strempty(msg.interpreter));
        r = job_decide(j, &msg, &e);
        if (r < 0) {
                job_fail(j, &e);
                return 0;
        }
        if (j->type == JOB_EXEC) {
                _cleanup_strv_free_ char **env = NULL;
                Workload *w = NULL;

                r = job_exec_finish(j, &msg, &env, &w, &e);
                if (r < 0) {
                        job_fail(j, &e);
                        return 0;
                }
                manager_workload_add(j->manager, w);
                job_finish(j, w, env, NULL);
                return 0;
        }
        r = job_proceed(j, &msg, &e);
        if (r < 0)
                job_fail(j, &e);
        return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        _cleanup_(core_error_done) CoreError e = CORE_ERROR_NULL;
        Job *j = userdata;

        (void) core_error_setf(&e, ERROR_LOCK_FAILED,
                               "'%s' did not reach its exec within %llu s; it was killed.", j->name,
                               (unsigned long long) (LIMIT_LAUNCH_TIMEOUT_USEC / USEC_PER_SEC));
        job_fail(j, &e);
        return 0;
}

/* The caller's root, when it is not ours: the child enters it. */
static int caller_root_fd(Manager *m, const Caller *c, int *ret, CoreError *error) {
        _cleanup_close_ int fd = -EBADF;
        struct stat a, b;
        int r;

        *ret = -EBADF;
        if (c->pid <= 0 || c->pidfd < 0)
                return 0; /* the system bus without a pid: its root is unknowable, ours */
        r = caller_open_dir(c, "root", &fd);
        if (r < 0)
                return core_error_setf(error, ERROR_NO_SUCH_PROCESS,
                                       "Cannot find the calling process: %s", strerror(-r));
        if (fstat(fd, &a) < 0 || stat("/", &b) < 0)
                return core_error_setf_errno(error, -errno, "Failed to stat a root directory: %m");
        if (a.st_dev == b.st_dev && a.st_ino == b.st_ino)
                return 0;
        if (!m->has_sys_chroot)
                return core_error_setf(error, ERROR_UNSUPPORTED,
                                       "The caller runs in another root directory, and mlockd "
                                       "lacks CAP_SYS_CHROOT to start a workload there.");
        *ret = TAKE_FD(fd);
        return 0;
}

static int job_start(Manager *m, JobType type, const Caller *c, const SpawnRequest *req,
                     const WorkloadOptions *o, uint64_t owner, uint64_t *ret_job_id,
                     CoreError *error) {
        Job *j;
        int r;

        j = calloc(1, sizeof(*j));
        if (!j)
                return core_error_setf_errno(error, -ENOMEM, "Out of memory.");
        j->child = SPAWN_CHILD_NULL;
        j->contain = CONTAINMENT_CHILD_NULL;
        j->caller = CALLER_NULL;
        j->type = type;
        j->owner = owner;
        j->options = *o;
        r = caller_copy(c, &j->caller);
        if (r >= 0 && o->policy && !(j->opt_policy = strdup(o->policy)))
                r = -ENOMEM;
        if (r >= 0 && o->name && !(j->opt_name = strdup(o->name)))
                r = -ENOMEM;
        if (r >= 0 && !(j->name = strdup(name_from_argv0(req->argv[0]))))
                r = -ENOMEM;
        j->options.policy = j->opt_policy;
        j->options.name = j->opt_name;
        j->options.libvirt_domain = NULL;
        if (r < 0) {
                job_free(j);
                return core_error_setf_errno(error, r, "Out of memory.");
        }

        r = spawn_start(req, &j->child);
        if (r < 0) {
                job_free(j);
                return core_error_setf_errno(error, r, "Failed to start the launch child: %s",
                                             strerror(-r));
        }
        /* In the list from here: job_free() unlinks, kills and reaps. */
        j->manager = m;
        j->id = m->next_job_id++;
        j->next = m->jobs;
        if (m->jobs)
                m->jobs->prev = j;
        m->jobs = j;
        m->n_jobs++;

        r = sd_event_add_io(m->event, &j->control_source, j->child.control_fd, EPOLLIN, on_control,
                            j);
        if (r >= 0)
                r = sd_event_add_time_relative(m->event, &j->timeout_source, CLOCK_MONOTONIC,
                                               LIMIT_LAUNCH_TIMEOUT_USEC, USEC_PER_SEC, on_timeout,
                                               j);
        if (r < 0) {
                job_free(j);
                return core_error_setf_errno(error, r, "Failed to watch the launch child: %s",
                                             strerror(-r));
        }
        (void) sd_event_source_set_description(j->control_source, "launch-control");
        *ret_job_id = j->id;
        return 0;
}

int manager_run(Manager *m, const Caller *c, char **argv, char **env, const char *cwd,
                const int fds[3], const WorkloadOptions *o, uint64_t owner, uint64_t *ret_job_id,
                CoreError *error) {
        _cleanup_close_ int root_fd = -EBADF;
        int r;

        if (!argv || !argv[0] || !argv[0][0])
                return core_error_setf(error, ERROR_INVALID_ARGUMENT,
                                       "argv is empty: nothing to run.");
        if (!m->shim_path)
                return core_error_setf(error, ERROR_INVALID_ARGUMENT,
                                       "No shim library configured.");
        r = manager_check_workload_limit(m, c, error);
        if (r < 0)
                return r;
        r = caller_root_fd(m, c, &root_fd, error);
        if (r < 0)
                return r;

        SpawnRequest req = {
                .argv = argv,
                .env = env,
                .cwd = cwd,
                .root_fd = root_fd,
                .cwd_fd = -EBADF,
                .stdin_fd = fds[0],
                .stdout_fd = fds[1],
                .stderr_fd = fds[2],
                .uid = c->uid,
                .gid = c->gid,
                .groups = c->groups,
                .n_groups = c->n_groups,
                .umask = o->umask,
                .shim_path = m->shim_path,
                .daemon_has_sys_resource = m->has_sys_resource,
                .containment = &m->containment,
        };
        return job_start(m, JOB_RUN, c, &req, o, owner, ret_job_id, error);
}

int manager_exec(Manager *m, const Caller *c, char **argv, const WorkloadOptions *o,
                 uint64_t *ret_job_id, CoreError *error) {
        _cleanup_close_ int root_fd = -EBADF, cwd_fd = -EBADF;
        int r;

        if (!argv || !argv[0] || !argv[0][0])
                return core_error_setf(error, ERROR_INVALID_ARGUMENT,
                                       "argv is empty: nothing to exec.");
        if (c->pid <= 0 || c->pidfd < 0)
                return core_error_setf(error, ERROR_NO_SUCH_PROCESS,
                                       "Cannot identify the calling process; Exec needs a caller "
                                       "on the local socket.");
        if (workload_table_find_pid(&m->workloads, c->pid))
                return core_error_setf(error, ERROR_INVALID_ARGUMENT,
                                       "pid %d is a workload already.", c->pid);
        r = manager_check_workload_limit(m, c, error);
        if (r < 0)
                return r;
        r = caller_root_fd(m, c, &root_fd, error);
        if (r < 0)
                return r;
        r = caller_open_dir(c, "cwd", &cwd_fd);
        if (r < 0)
                return core_error_setf(error, ERROR_NO_SUCH_PROCESS, "pid %d is gone.", c->pid);

        /* The command is resolved by a launch child in the caller's world, which only reports
         * what it found and exits. */
        SpawnRequest req = {
                .argv = argv,
                .root_fd = root_fd,
                .cwd_fd = cwd_fd,
                .stdin_fd = -EBADF,
                .stdout_fd = -EBADF,
                .stderr_fd = -EBADF,
                .uid = c->uid,
                .gid = c->gid,
                .groups = c->groups,
                .n_groups = c->n_groups,
                .umask = 022,
                .shim_path = m->shim_path,
                .daemon_has_sys_resource = m->has_sys_resource,
                .identify_only = true,
        };
        return job_start(m, JOB_EXEC, c, &req, o, 0, ret_job_id, error);
}
