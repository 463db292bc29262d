/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Attach and Detach: identify the target by pidfd → policy → may the caller? → can a lock work
 * (raise the limit if we can) → inject mlockall in a helper → the result becomes
 * WorkloadLocked or WorkloadFailed. Detach injects munlockall and restores the limit. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "common/log.h"
#include "common/macro.h"
#include "common/parse-util.h"
#include "common/proc.h"
#include "common/process-util.h"
#include "daemon/core/budget.h"
#include "daemon/helpers/inject-job.h"
#include "daemon/helpers/inject.h"
#include "daemon/libvirt-events.h"
#include "daemon/core/manager.h"
#include "daemon/core/reap.h"
#include "daemon/core/target.h"
#include "daemon/core/message-id.h"

static void helper_done(Manager *m, Workload *w) {
        w->helper_source = sd_event_source_disable_unref(w->helper_source);
        w->helper_fd = safe_close(w->helper_fd);
        if (w->helper_pid > 0) {
                /* The helper writes its result and _exit()s: this wait is short. */
                if (waitpid(w->helper_pid, NULL, WNOHANG) == 0)
                        manager_reap_later(m, w->helper_pid);
        }
        w->helper_pid = 0;
}

void manager_attach_abandon(Manager *m, Workload *w) {
        helper_done(m, w);
}

static void restore_limit(Workload *w) {
        ProcLimits old = { .memlock_soft = w->orig_memlock_soft,
                           .memlock_hard = w->orig_memlock_hard };
        int r;

        if (!w->limit_raised || w->pidfd < 0)
                return;
        r = target_restore_memlock(w->pidfd, w->ident.pid, &old);
        if (r < 0)
                log_warning_errno(r, "Failed to restore RLIMIT_MEMLOCK of pid %d: %m",
                                  w->ident.pid);
        w->limit_raised = false;
}

static void detach_job_finished(Manager *m, uint64_t job_id, const CoreError *error) {
        JobResult res = { .job_id = job_id, .error = error };

        if (job_id > 0 && m->observer && m->observer->job_finished)
                m->observer->job_finished(m->observer_userdata, &res);
}

static void finish_detach(Manager *m, Workload *w, const char *error_msg) {
        uint64_t job_id = w->detach_job_id;

        w->detach_job_id = 0;
        if (error_msg) {
                _cleanup_(core_error_done) CoreError e = CORE_ERROR_NULL;

                /* Still locked: keep it in the table as it was. */
                w->detaching = false;
                log_warning("Detach of workload %s (pid %d) failed: %s", w->id_str, w->ident.pid,
                            error_msg);
                (void) core_error_setf(&e, ERROR_LOCK_FAILED, "munlockall in pid %d failed: %s",
                                       w->ident.pid, error_msg);
                detach_job_finished(m, job_id, &e);
                return;
        }
        restore_limit(w);
        /* Its cgroup keeps its bound for as long as any process is left in it: the workload
         * may still hold CAP_IPC_LOCK (in every thread and every child, which a capset
         * injected into one thread could not reach), and can thus never lock more after
         * Detach than its limit allowed before. */
        manager_contain_release(m, w, true);
        log_struct(LOG_INFO, &WORKLOAD_LOG(w, MESSAGE_WORKLOAD_DETACHED),
                   "Workload %s '%s' (pid %d) detached: unlocked and forgotten%s.", w->id_str,
                   strempty(w->name), w->ident.pid,
                   m->n_orphans > 0 ? "; its cgroup keeps bounding it" : "");
        if (w->is_child && workload_is_live(w))
                manager_reap_later(m, w->ident.pid);
        manager_workload_set_state(m, w, WORKLOAD_DETACHED);
        manager_workload_remove(m, w);
        detach_job_finished(m, job_id, NULL);
}

static int on_helper_result(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Workload *w = userdata;
        Manager *m = w->manager;
        _cleanup_free_ char *msg = NULL;
        InjectResult res;
        int r;

        r = inject_job_read_result(fd, &res);
        if (r == -EAGAIN)
                return 0;
        helper_done(m, w);

        if (r < 0) {
                if (asprintf(&msg, "the injection helper failed: %s", strerror(-r)) < 0)
                        msg = NULL;
        } else if (res.error == ESTALE && res.stage == INJECT_STAGE_IDENTITY) {
                if (asprintf(&msg,
                             "pid %d changed between the check and the seize (its credentials, "
                             "capabilities or program); it was left untouched",
                             w->ident.pid) < 0)
                        msg = NULL;
        } else if (res.error != 0) {
                if (asprintf(&msg, "%s%s%s: %s (VmLck %s)",
                             res.stage == INJECT_STAGE_SYSCALL
                                     ? (w->detaching ? "munlockall" : "mlockall")
                                     : "injection at stage ",
                             res.stage == INJECT_STAGE_SYSCALL
                                     ? ""
                                     : strna(inject_stage_to_string(res.stage)),
                             res.stage == INJECT_STAGE_SYSCALL ? " failed" : " failed",
                             strerror(res.error),
                             FORMAT_BYTES(res.vm_lck_after == UINT64_MAX ? 0 : res.vm_lck_after)) <
                    0)
                        msg = NULL;
        }

        if (w->detaching) {
                finish_detach(m, w, msg ? msg : (r < 0 || res.error != 0) ? "failed" : NULL);
                return 0;
        }
        if (!workload_is_live(w))
                return 0; /* exited meanwhile; nothing to report */
        if (msg || r < 0 || res.error != 0) {
                restore_limit(w);
                manager_workload_failed(m, w, msg ?: "injection failed");
                return 0;
        }
        manager_workload_locked(m, w, res.vm_lck_after == UINT64_MAX ? 0 : res.vm_lck_after,
                                res.duration_usec);
        return 0;
}

/* In the helper, with the target stopped under ptrace: the same process as examined. */
static int verify_target(pid_t pid, int pidfd, void *userdata) {
        return target_verify_unchanged(userdata, pidfd);
}

/* expected: what the target was when checked (Attach), NULL for Detach (our own workload). */
static int start_injection(Manager *m, Workload *w, long nr, int flags,
                           const TargetInfo *expected) {
        int r;

        r = inject_job_start_verified(w->ident.pid, w->pidfd, nr, flags,
                                      expected ? verify_target : NULL, (void *) expected,
                                      &w->helper_pid, &w->helper_fd);
        if (r < 0)
                return r;
        r = sd_event_add_io(m->event, &w->helper_source, w->helper_fd, EPOLLIN, on_helper_result,
                            w);
        if (r < 0) {
                /* Cannot hear the result; the helper finishes on its own. */
                helper_done(m, w);
                return r;
        }
        (void) sd_event_source_set_description(w->helper_source, "inject-result");
        return 0;
}

static int caller_caps(const Caller *c, uint64_t *ret) {
        ProcStatus st;
        int r;

        if (c->pid <= 0) {
                /* The daemon itself (internal events) acts as root. */
                *ret = caller_is_root(c) ? UINT64_MAX : 0;
                return 0;
        }
        r = caller_read_status(c, &st);
        if (r < 0)
                return r;
        *ret = st.cap_eff == PROC_UNSET ? 0 : st.cap_eff;
        return 0;
}

/* A libvirt guest is sized, not asked for: guest_limit() of its facts (docs/libvirt.md), and
 * the policy's Limit= caps it rather than denying it (an explicit `limit` option is a request,
 * and one above Limit= is denied). So learn the limit of the policy that would apply, ignoring
 * the budget, and ask for the smaller of the two: the budget is then checked against what is
 * really reserved. *ret stays 0 (the policy's limit) when nothing is known about the guest or
 * no policy would admit it. */
static int size_guest_limit(Manager *m, const PolicyRequest *req, uint64_t wanted, uint64_t *ret) {
        PolicyRequest probe = *req;
        PolicyDecision d = {};
        int r;

        if (wanted == 0)
                return 0;
        probe.limit = 0;
        probe.budget_total = SIZE_INFINITY;
        probe.budget_reserved = 0;
        r = policy_decide(m->policies, &probe, &d);
        if (r < 0)
                return r;
        if (d.verdict == VERDICT_ALLOW)
                *ret = MIN(wanted, d.settings.limit);
        policy_decision_clear(&d);
        return 0;
}

int manager_attach_resize_guest(Manager *m, Workload *w, const GuestFacts *f) {
        _cleanup_(target_info_done) TargetInfo t = {};
        GuestLimit gl = guest_limit(f);
        uint64_t limit = 0, rlimit = 0, old = w->settings.limit;
        WorkloadOptions o;
        PolicyRequest req;
        Caller root;
        int r;

        if (gl.source == GUEST_LIMIT_NONE || !workload_is_live(w) || w->pidfd < 0)
                return 0;
        r = target_info_from_pidfd(w->pidfd, &t);
        if (r < 0)
                return r;
        /* Sized under the policy that admitted it, as at attach. */
        (void) caller_root(&root);
        workload_options_init(&o);
        o.policy = w->policy;
        o.name = w->name;
        o.libvirt_domain = w->name;
        manager_request_init(&req, REQUEST_ATTACH, &root, &o);
        manager_request_set_target(&req, &t);
        r = size_guest_limit(m, &req, gl.limit, &limit);
        if (r >= 0)
                r = size_guest_limit(m, &req, gl.limit_max, &rlimit);
        if (r < 0)
                return r;
        if (limit == 0 || limit == old)
                return 0; /* the policy no longer admits it (keep what it has), or no change */

        /* The growth must fit in what Budget= has left (daemon/budget.h: what is committed,
         * this workload's present share included). */
        if (limit > old &&
            !budget_fits(m->config.budget, manager_committed_bytes(m), limit - old)) {
                log_warning("Workload %s '%s' (pid %d) grew and needs %s, beyond the budget; its "
                            "reservation stays %s.",
                            w->id_str, strempty(w->name), w->ident.pid, FORMAT_BYTES(limit),
                            FORMAT_BYTES(old));
                return -ENOSPC;
        }
        if (w->limit_raised) {
                /* Raise before the guest needs it; lower only the soft limit (lowering the hard
                 * one could not be undone without CAP_SYS_RESOURCE). */
                uint64_t needed = MAX(MAX(limit, rlimit), t.vm_size == PROC_UNSET ? 0 : t.vm_size);
                ProcLimits cur;

                r = target_raise_memlock(w->pidfd, w->ident.pid, needed, &cur);
                if (r >= 0 && needed < cur.memlock_soft) {
                        ProcLimits lower = { .memlock_soft = MAX(needed, w->orig_memlock_soft),
                                             .memlock_hard = cur.memlock_hard };
                        r = target_restore_memlock(w->pidfd, w->ident.pid, &lower);
                }
                if (r < 0)
                        log_warning_errno(r, "Failed to set RLIMIT_MEMLOCK of pid %d to %s: %m",
                                          w->ident.pid, FORMAT_BYTES(needed));
        }
        w->settings.limit = limit;
        log_info("Workload %s '%s' (pid %d) resized: limit %s → %s.", w->id_str, strempty(w->name),
                 w->ident.pid, FORMAT_BYTES(old), FORMAT_BYTES(limit));
        /* LimitBytes and ReservedBytes are signalled, the state saved, at the next flush. */
        m->state_dirty = true;
        m->manager_changes |= MANAGER_CHANGE_RESERVED;
        manager_workload_changed(m, w, WORKLOAD_CHANGE_LIMIT);
        return 1;
}

int manager_attach(Manager *m, const Caller *c, pid_t pid, int pidfd_in, const WorkloadOptions *o,
                   Workload **ret, CoreError *error) {
        _cleanup_(workload_freep) Workload *w = NULL;
        _cleanup_(target_info_done) TargetInfo t = {};
        _cleanup_close_ int pidfd = -EBADF;
        _cleanup_free_ char *reason = NULL;
        PolicyDecision d = {};
        uint64_t caps = 0, needed, guest_rlimit = 0;
        Workload *existing;
        int scope = 0, plan, r;

        /* Identify the target: held by pidfd from here on. */
        if (pidfd_in >= 0)
                pidfd = fcntl(pidfd_in, F_DUPFD_CLOEXEC, 3);
        else
                pidfd = pidfd_open_checked(pid);
        if (pidfd < 0)
                return core_error_setf(error, ERROR_NO_SUCH_PROCESS, "No process %d: %s.",
                                       (int) pid, strerror(-pidfd));
        r = target_info_from_pidfd(pidfd, &t);
        if (r < 0)
                return core_error_setf(error, ERROR_NO_SUCH_PROCESS,
                                       "Cannot examine process %d: %s.", (int) pid, strerror(-r));
        existing = workload_table_find_pid(&m->workloads, pid);
        if (existing)
                return core_error_setf(error, ERROR_INVALID_ARGUMENT,
                                       "pid %d is workload %s already (%s); detach it first.",
                                       (int) pid, existing->id_str,
                                       workload_state_to_string(existing->state));

        /* May this caller touch it at all (privilege, PID 1, ourselves)? */
        r = caller_caps(c, &caps);
        if (r < 0)
                return core_error_setf(error, ERROR_ACCESS_DENIED,
                                       "Cannot read the caller's capabilities.");
        r = target_check_attach(&t, c->uid, caps, m->self_pid, &reason);
        if (r < 0)
                return core_error_setf(error, ERROR_ACCESS_DENIED, "%s",
                                       reason ?: "attaching to this process is not allowed");
        r = manager_check_workload_limit(m, c, error);
        if (r < 0)
                return r;

        /* Decide. */
        PolicyRequest req;
        manager_request_init(&req, REQUEST_ATTACH, c, o);
        manager_request_set_target(&req, &t);
        if (o->limit == 0) {
                GuestLimit gl = guest_limit(&o->guest);

                /* limit: the reservation; limit_max: what RLIMIT_MEMLOCK must allow for
                 * memory hot-added up to <maxMemory> (both capped by Limit=). */
                r = size_guest_limit(m, &req, gl.limit, &req.limit);
                if (r >= 0)
                        r = size_guest_limit(m, &req, gl.limit_max, &guest_rlimit);
                if (r < 0)
                        return core_error_setf_errno(error, r, "Policy decision failed: %s",
                                                     strerror(-r));
        }
        r = manager_decide(m, &req, &d, error);
        if (r < 0)
                return r;

        r = workload_new(m->next_id, &w);
        if (r < 0)
                goto oom;
        w->kind = WORKLOAD_KIND_ATTACH;
        w->settings = d.settings;
        w->policy = strdup(policy_name(d.policy));
        policy_decision_clear(&d);
        if (!w->policy || workload_set_name(w, o->name ?: o->libvirt_domain ?: t.comm) < 0)
                goto oom;

        /* Can a lock work? */
        r = target_ptrace_scope_read(&scope);
        if (r >= 0) {
                r = target_ptrace_scope_check(scope, m->has_sys_ptrace, &reason);
                if (r < 0)
                        return core_error_setf(error, ERROR_UNSUPPORTED, "%s",
                                               reason ?: "ptrace is not permitted here");
        }
        /* mlockall(MCL_CURRENT) is charged for the whole mapped size, not the resident one. */
        needed = w->settings.limit == SIZE_INFINITY
                         ? UINT64_MAX
                         : MAX(MAX(w->settings.limit, t.vm_size == PROC_UNSET ? 0 : t.vm_size),
                               guest_rlimit);
        free(reason);
        reason = NULL;
        plan = target_lock_plan(&t, m->has_sys_resource, needed, &reason);
        if (plan < 0)
                return core_error_setf(error, ERROR_UNSUPPORTED, "%s",
                                       reason ?: "the target cannot lock its memory");
        if (plan == TARGET_LOCK_RAISE_LIMIT) {
                ProcLimits old;
                r = target_raise_memlock(pidfd, t.pid, needed, &old);
                if (r < 0)
                        return core_error_setf_errno(error, r,
                                                     "Failed to raise RLIMIT_MEMLOCK of pid %d: %s",
                                                     (int) pid, strerror(-r));
                w->limit_raised = true;
                w->orig_memlock_soft = old.memlock_soft;
                w->orig_memlock_hard = old.memlock_hard;
        }

        /* Contain it when mlockd raised its limit (never out of a unit's or guest's cgroup). */
        r = manager_contain_process(m, w, pid, w->limit_raised, error);
        if (r < 0) {
                restore_limit(w);
                return core_error_setf_errno(error, r, "Out of memory.");
        }

        /* Act: the injection runs in a helper; its result arrives as an event. */
        w->mechanism = MECHANISM_PTRACE;
        w->state = WORKLOAD_LOCKING;
        w->uid = t.uid;
        w->gid = t.gid;
        w->ident = (ProcessIdentity){ .pid = pid, .starttime = t.starttime };
        w->pidfd = TAKE_FD(pidfd);
        w->manager = m;
        r = manager_workload_watch(m, w);
        if (r >= 0)
                r = start_injection(m, w, SYS_mlockall,
                                    lock_mode_to_mlockall_flags(w->settings.mode), &t);
        if (r < 0) {
                restore_limit(w);
                return core_error_setf_errno(error, r,
                                             "Failed to start the injection into pid %d: %s",
                                             (int) pid, strerror(-r));
        }
        log_struct(
                LOG_INFO, &WORKLOAD_LOG(w, MESSAGE_WORKLOAD_STARTED),
                "Workload %s '%s': attaching to pid %d (uid %u, %s) for uid %u, policy '%s', %s, "
                "limit %s%s.",
                w->id_str, w->name, (int) pid, (unsigned) t.uid, strna(t.exe), (unsigned) c->uid,
                w->policy, strna(lock_mode_to_string(w->settings.mode)),
                FORMAT_BYTES(w->settings.limit), w->limit_raised ? ", RLIMIT_MEMLOCK raised" : "");
        *ret = w;
        manager_workload_add(m, TAKE_PTR(w));
        return 0;
oom:
        policy_decision_clear(&d);
        return core_error_setf_errno(error, -ENOMEM, "Out of memory.");
}

int manager_attach_pid(Manager *m, pid_t pid, const WorkloadOptions *o, Workload **ret,
                       CoreError *error) {
        Caller root;

        (void) caller_root(&root);
        return manager_attach(m, &root, pid, -EBADF, o, ret, error);
}

int manager_detach(Manager *m, const Caller *c, Workload *w, uint64_t *ret_job_id,
                   CoreError *error) {
        int r;

        if (w->helper_pid > 0)
                return core_error_setf(error, ERROR_LIMIT_EXCEEDED,
                                       "Workload %s is still %s; try again when it is locked or "
                                       "failed.",
                                       w->id_str, w->detaching ? "detaching" : "locking");
        if (!workload_is_live(w)) {
                manager_workload_remove(m, w);
                return 0;
        }
        r = start_injection(m, w, SYS_munlockall, 0, NULL);
        if (r < 0)
                return core_error_setf_errno(error, r, "Failed to start munlockall in pid %d: %s",
                                             w->ident.pid, strerror(-r));
        w->detaching = true;
        w->detach_job_id = m->next_job_id++;
        *ret_job_id = w->detach_job_id;
        log_info("Detaching workload %s (pid %d) for uid %u.", w->id_str, w->ident.pid,
                 (unsigned) c->uid);
        return 1; /* in progress: the reply follows when munlockall has run */
}
