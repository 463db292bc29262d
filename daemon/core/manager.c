/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "build-config.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/parse-util.h"
#include "common/proc.h"
#include "common/process-util.h"
#include "common/time-util.h"
#include "daemon/core/budget.h"
#include "daemon/libvirt-module.h"
#include "daemon/core/limits.h"
#include "daemon/core/manager.h"
#include "daemon/core/message-id.h"
#include "daemon/privileges.h"
#include "daemon/self.h"
#include "daemon/core/state.h"
#include "daemon/core/target.h"

static const char *const default_policy_dirs[] = { MLOCKD_POLICY_DIRS, NULL };

void workload_options_init(WorkloadOptions *o) {
        *o = (WorkloadOptions){
                .mode = _LOCK_MODE_INVALID,
                .prefault_threads = -2,
                .umask = 022,
        };
}

static char **strv_copy(char *const *l) {
        size_t n = 0;
        char **c;

        for (char *const *i = l; i && *i; i++)
                n++;
        c = calloc(n + 1, sizeof(char *));
        if (!c)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                c[i] = strdup(l[i]);
                if (!c[i])
                        return strv_free(c);
        }
        return c;
}

static int strdup_or_default(const char *s, const char *def, char **ret) {
        char *c = strdup(s ?: def);
        if (!c)
                return -ENOMEM;
        *ret = c;
        return 0;
}

int manager_new(const ManagerSettings *s, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        MemInfo mi;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->next_id = 1;
        m->next_job_id = 1;
        m->self_pid = getpid();

        r = daemon_config_init(&m->config, 0);
        if (r < 0)
                return r;
        r = strdup_or_default(s->config_path, MLOCKD_CONFIG_FILE, &m->config_path);
        if (r < 0)
                return r;
        r = strdup_or_default(s->socket_path, MLOCKD_SOCKET_PATH, &m->socket_path);
        if (r < 0)
                return r;
        r = strdup_or_default(s->state_dir, MLOCKD_STATE_DIR, &m->state_dir);
        if (r < 0)
                return r;
        r = strdup_or_default(s->shim_path, MLOCKD_SHIM_PATH, &m->shim_path);
        if (r < 0)
                return r;
        m->socket_from_cmdline = s->socket_path;
        m->state_dir_from_cmdline = s->state_dir;
        m->policy_dirs = strv_copy(s->policy_dirs && s->policy_dirs[0]
                                           ? s->policy_dirs
                                           : (char *const *) default_policy_dirs);
        if (!m->policy_dirs)
                return -ENOMEM;

        if (meminfo_read(&mi) >= 0 && mi.mem_total != PROC_UNSET)
                m->mem_total = mi.mem_total;

        r = sd_event_default(&m->event);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        m->stop_timer = sd_event_source_disable_unref(m->stop_timer);
        /* A launch that has not started yet is not a workload: its child goes, and so does its
         * request to systemd, before the connection to systemd does. */
        manager_jobs_clear(m);
        manager_containment_stop(m);
        /* Forget workloads without touching them: a stopping daemon never kills or unlocks. */
        workload_table_clear(&m->workloads);
        for (size_t i = 0; i < m->n_events; i++)
                free(m->events[i].error);
        free(m->events);
        free(m->last_status);
        sd_event_source_disable_unref(m->flush_source);
        sd_event_source_disable_unref(m->status_timer);
        if (m->libvirt)
                m->libvirt_module.events_free(m->libvirt);
        sd_event_source_disable_unref(m->budget_timer);
        sd_event_source_disable_unref(m->gc_timer);
        sd_event_source_disable_unref(m->watchdog_timer);
        sd_event_source_disable_unref(m->sigterm_source);
        sd_event_source_disable_unref(m->sigint_source);
        sd_event_source_disable_unref(m->sighup_source);
        sd_event_unref(m->event);
        policy_set_free(m->policies);
        daemon_config_done(&m->config);
        free(m->config_path);
        free(m->socket_path);
        free(m->state_dir);
        free(m->shim_path);
        strv_free(m->policy_dirs);
        free(m->policy_dirs_present);
        free(m);
        return NULL;
}

/* Which policy directories exist now. A missing directory is fine at start (packaging
 * creates them lazily), but one that vanishes between loads is more likely a mistake (a
 * deleted /etc/mlockd, an unmounted file system) than a wish to drop every policy: that
 * reload fails and keeps the previous set. An empty directory removes the policies. */
static int policy_dirs_check(Manager *m, bool **ret_present, PolicyDiagnostics *diags) {
        size_t n = 0;
        bool *present;
        int r = 0;

        while (m->policy_dirs && m->policy_dirs[n])
                n++;
        present = calloc(n + 1, sizeof(bool));
        if (!present)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                struct stat st;
                present[i] = stat(m->policy_dirs[i], &st) >= 0;
                if (!present[i] && m->policy_dirs_present && m->policy_dirs_present[i]) {
                        (void) policy_diagnostics_add(
                                diags,
                                "%s: the policy directory has disappeared since the last load; "
                                "create it (empty, to remove every policy) and reload",
                                m->policy_dirs[i]);
                        r = -ENOENT;
                }
        }
        if (r < 0) {
                free(present);
                return r;
        }
        *ret_present = present;
        return 0;
}

int manager_load_config(Manager *m, PolicyDiagnostics *diags) {
        _cleanup_(policy_set_freep) PolicySet *set = NULL;
        _cleanup_free_ bool *present = NULL;
        DaemonConfig c = {};
        bool missing_ok = streq(m->config_path, MLOCKD_CONFIG_FILE);
        int r, k;

        r = daemon_config_init(&c, m->mem_total);
        if (r < 0)
                return r;
        r = daemon_config_load(m->config_path, missing_ok, m->mem_total, &c, diags);
        /* Policies are loaded even when the config is broken, so every error is reported. */
        k = policy_set_load(m->policy_dirs, &set, diags);
        if (k >= 0)
                k = policy_dirs_check(m, &present, diags);
        if (r < 0 || k < 0) {
                daemon_config_done(&c);
                return r < 0 ? r : k;
        }
        free(m->policy_dirs_present);
        m->policy_dirs_present = TAKE_PTR(present);

        daemon_config_done(&m->config);
        m->config = c;
        policy_set_free(m->policies);
        m->policies = TAKE_PTR(set);

        /* The socket and the state directory are fixed once the daemon runs. */
        if (!m->socket_from_cmdline && !m->started && m->config.socket_path) {
                char *p = strdup(m->config.socket_path);
                if (!p)
                        return -ENOMEM;
                free(m->socket_path);
                m->socket_path = p;
        }
        if (!m->state_dir_from_cmdline && !m->started && m->config.state_directory) {
                char *p = strdup(m->config.state_directory);
                if (!p)
                        return -ENOMEM;
                free(m->state_dir);
                m->state_dir = p;
        }
        return 0;
}

static void manager_changed(Manager *m, unsigned changes);

int manager_reload(Manager *m, PolicyDiagnostics *diags) {
        int r;

        r = manager_load_config(m, diags);
        if (r < 0) {
                log_error("Reload failed, keeping the previous configuration and %zu policies:",
                          m->policies ? policy_set_size(m->policies) : 0);
                for (size_t i = 0; i < diags->n; i++)
                        log_error("  %s", diags->messages[i]);
                return -EBADMSG;
        }
        log_info("Reloaded: %zu policies, budget %s.", policy_set_size(m->policies),
                 FORMAT_BYTES(m->config.budget));
        manager_changed(m, MANAGER_CHANGE_POLICIES | MANAGER_CHANGE_BUDGET);
        m->status_dirty = true;
        return 0;
}

/* ---- the loop-turn flush ------------------------------------------------------------------ */

/* Everything that changed is reported once per loop turn (systemd's manager_dispatch_dbus_queue
 * is the model): signals in order, one state save, one STATUS. The source runs after the
 * sources of normal priority have been served, so a burst of changes costs one of each. */
static int on_flush(sd_event_source *s, void *userdata) {
        manager_flush(userdata);
        return 0;
}

static void flush_schedule(Manager *m) {
        int r;

        if (!m->event)
                return;
        if (!m->flush_source) {
                r = sd_event_add_defer(m->event, &m->flush_source, on_flush, m);
                if (r < 0) {
                        log_warning_errno(r, "Failed to add the flush source, flushing now: %m");
                        manager_flush(m);
                        return;
                }
                (void) sd_event_source_set_priority(m->flush_source, SD_EVENT_PRIORITY_NORMAL + 10);
                (void) sd_event_source_set_description(m->flush_source, "manager-flush");
        }
        (void) sd_event_source_set_enabled(m->flush_source, SD_EVENT_ONESHOT);
}

static void queue_event(Manager *m, ManagerEventType type, Workload *w, uint64_t bytes,
                        uint64_t duration, int code, int status, const char *error) {
        ManagerEvent e = {
                .type = type,
                .workload_id = w->id,
                .started_by = w->started_by,
                .bytes = bytes,
                .duration_usec = duration,
                .code = code,
                .status = status,
        };

        if (error) {
                e.error = strdup(error);
                if (!e.error)
                        return (void) log_oom();
        }
        if (m->n_events == m->n_events_allocated) {
                size_t n = m->n_events_allocated ? m->n_events_allocated * 2 : 16;
                ManagerEvent *l = reallocarray(m->events, n, sizeof(ManagerEvent));
                if (!l) {
                        free(e.error);
                        return (void) log_oom();
                }
                m->events = l;
                m->n_events_allocated = n;
        }
        m->events[m->n_events++] = e;
        flush_schedule(m);
}

void manager_workload_changed(Manager *m, Workload *w, unsigned changes) {
        w->changes |= changes;
        flush_schedule(m);
}

static void manager_changed(Manager *m, unsigned changes) {
        m->manager_changes |= changes;
        flush_schedule(m);
}

/* The table changed: state file, STATUS, the budget watch. */
static int budget_timer_update(Manager *m);

static void table_changed(Manager *m) {
        m->state_dirty = true;
        m->status_dirty = true;
        flush_schedule(m);
}

void manager_flush(Manager *m) {
        const ManagerObserver *o = m->observer;
        ManagerEvent *events = m->events;
        size_t n = m->n_events;
        unsigned mc = m->manager_changes;

        /* Taken first: an observer may cause new changes, which schedule the next flush. */
        m->events = NULL;
        m->n_events = m->n_events_allocated = 0;
        m->manager_changes = 0;

        for (size_t i = 0; i < n; i++) {
                if (o && o->event)
                        o->event(m->observer_userdata, &events[i]);
                free(events[i].error);
        }
        free(events);
        for (Workload *w = m->workloads.head; w; w = w->next) {
                unsigned c = w->changes;
                if (c == 0)
                        continue;
                w->changes = 0;
                if (o && o->workload_changed)
                        o->workload_changed(m->observer_userdata, w, c);
        }
        if (mc && o && o->manager_changed)
                o->manager_changed(m->observer_userdata, mc);

        if (m->state_dirty) {
                m->state_dirty = false;
                manager_save_state(m);
                (void) budget_timer_update(m);
        }
        if (m->status_dirty) {
                m->status_dirty = false;
                manager_notify_status(m);
        }
}

void manager_set_observer(Manager *m, const ManagerObserver *o, void *userdata) {
        m->observer = o;
        m->observer_userdata = userdata;
}

/* ---- workload lifecycle ------------------------------------------------------------------ */

void manager_save_state(Manager *m) {
        int r;

        r = state_save(m->state_dir, m->next_id, &m->workloads);
        if (r < 0)
                log_error_errno(r, "Failed to save state in '%s': %m", m->state_dir);
}

void manager_workload_add(Manager *m, Workload *w) {
        w->manager = m;
        if (w->id >= m->next_id)
                m->next_id = w->id + 1;
        if (w->started_at == 0)
                w->started_at = now_usec(CLOCK_REALTIME);
        workload_table_add(&m->workloads, w);
        queue_event(m, MANAGER_EVENT_WORKLOAD_NEW, w, 0, 0, 0, 0, NULL);
        manager_changed(m, MANAGER_CHANGE_WORKLOADS | MANAGER_CHANGE_RESERVED);
        table_changed(m);
}

void manager_workload_set_state(Manager *m, Workload *w, WorkloadState state) {
        if (w->state == state)
                return;
        log_debug("Workload %s (pid %d): %s → %s", w->id_str, w->ident.pid,
                  workload_state_to_string(w->state), workload_state_to_string(state));
        w->state = state;
        w->sample.at = w->sample.held_at = 0; /* what it locks has just changed */
        manager_workload_changed(m, w, WORKLOAD_CHANGE_STATE);
        table_changed(m);
}

void manager_workload_locked(Manager *m, Workload *w, uint64_t locked_bytes, uint64_t duration) {
        w->locked_bytes = locked_bytes;
        w->lock_duration_usec = duration;
        (void) workload_set_error(w, NULL);
        log_struct(LOG_INFO, &WORKLOAD_LOG(w, MESSAGE_WORKLOAD_LOCKED),
                   "Workload %s '%s' (pid %d) locked: %s in %" PRIu64 " ms, mechanism %s.",
                   w->id_str, strempty(w->name), w->ident.pid, FORMAT_BYTES(locked_bytes),
                   duration / 1000, strna(mechanism_to_string(w->mechanism)));
        manager_workload_set_state(m, w, WORKLOAD_LOCKED);
        manager_workload_changed(m, w, WORKLOAD_CHANGE_LOCK_DURATION);
        queue_event(m, MANAGER_EVENT_WORKLOAD_LOCKED, w, locked_bytes, duration, 0, 0, NULL);
}

void manager_workload_failed(Manager *m, Workload *w, const char *error) {
        (void) workload_set_error(w, error);
        log_struct(LOG_WARNING, &WORKLOAD_LOG(w, MESSAGE_WORKLOAD_FAILED),
                   "Workload %s '%s' (pid %d) failed to lock: %s", w->id_str, strempty(w->name),
                   w->ident.pid, strempty(error));
        manager_workload_changed(m, w, WORKLOAD_CHANGE_ERROR);
        manager_workload_set_state(m, w, WORKLOAD_FAILED);
        queue_event(m, MANAGER_EVENT_WORKLOAD_FAILED, w, 0, 0, 0, 0, strempty(w->error));
}

static int gc_timer_update(Manager *m);

void manager_workload_remove(Manager *m, Workload *w) {
        if (w->helper_pid > 0)
                manager_attach_abandon(m, w);
        manager_contain_release(m, w, true);
        queue_event(m, MANAGER_EVENT_WORKLOAD_REMOVED, w, 0, 0, 0, 0, NULL);
        workload_table_remove(&m->workloads, w);
        workload_free(w);
        manager_changed(m, MANAGER_CHANGE_WORKLOADS | MANAGER_CHANGE_RESERVED);
        table_changed(m);
        (void) gc_timer_update(m); /* its cgroup may be kept until empty */
}

static void gc_enforce_max(Manager *m) {
        size_t n = 0;

        for (Workload *w = m->workloads.head; w; w = w->next)
                if (!workload_is_live(w))
                        n++;
        /* The table is in creation order; drop the oldest gone ones beyond the maximum. */
        for (Workload *w = m->workloads.head, *next; w && n > LIMIT_EXITED_KEEP_MAX; w = next) {
                next = w->next;
                if (workload_is_live(w))
                        continue;
                manager_workload_remove(m, w);
                n--;
        }
}

void manager_workload_exited(Manager *m, Workload *w, int code, int status) {
        w->pidfd_source = sd_event_source_disable_unref(w->pidfd_source);
        w->exit_code = code;
        if (code == CLD_EXITED)
                w->exit_status = status;
        else if (code == CLD_KILLED || code == CLD_DUMPED)
                w->exit_status = 128 + status;
        else
                w->exit_status = -1;
        w->gone_at = now_usec(CLOCK_MONOTONIC);
        if (code == CLD_EXITED)
                log_struct(LOG_INFO, &WORKLOAD_LOG(w, MESSAGE_WORKLOAD_EXITED),
                           "Workload %s '%s' (pid %d) exited with status %d.", w->id_str,
                           strempty(w->name), w->ident.pid, status);
        else if (code == CLD_KILLED || code == CLD_DUMPED)
                log_struct(LOG_INFO, &WORKLOAD_LOG(w, MESSAGE_WORKLOAD_EXITED),
                           "Workload %s '%s' (pid %d) was killed by signal %s.", w->id_str,
                           strempty(w->name), w->ident.pid, strna(sigabbrev_np(status)));
        else
                log_struct(LOG_INFO, &WORKLOAD_LOG(w, MESSAGE_WORKLOAD_EXITED),
                           "Workload %s '%s' (pid %d) exited.", w->id_str, strempty(w->name),
                           w->ident.pid);
        w->owner = 0;
        manager_workload_changed(m, w, WORKLOAD_CHANGE_EXIT_STATUS);
        manager_workload_set_state(m, w, WORKLOAD_EXITED);
        /* WorkloadExited carries the raw code and status (a client exits with 128+N). */
        queue_event(m, MANAGER_EVENT_WORKLOAD_EXITED, w, 0, 0, code, code == 0 ? -1 : status, NULL);
        manager_changed(m, MANAGER_CHANGE_RESERVED);
        /* Reported in the same flush as WorkloadExited: what the bound did, then the cgroup
         * goes if it is empty. */
        manager_contain_release(m, w, false);
        gc_enforce_max(m);
        (void) gc_timer_update(m);
}

static int on_pidfd(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Workload *w = userdata;
        Manager *m = w->manager;
        siginfo_t si = {};
        int code = 0, status = -1;

        if (w->report_fd >= 0)
                manager_run_flush_report(m, w);

        if (w->is_child) {
                if (waitid(P_PIDFD, (id_t) w->pidfd, &si, WEXITED | WNOHANG) < 0)
                        log_debug_errno(errno, "waitid() on workload %s failed: %m", w->id_str);
                else if (si.si_pid != 0) {
                        code = si.si_code;
                        status = si.si_status;
                }
        }
        manager_workload_exited(m, w, code, status);
        return 0;
}

int manager_workload_watch(Manager *m, Workload *w) {
        int r;

        if (w->pidfd < 0)
                return -EBADF;
        w->pidfd_source = sd_event_source_disable_unref(w->pidfd_source);
        r = sd_event_add_io(m->event, &w->pidfd_source, w->pidfd, EPOLLIN, on_pidfd, w);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(w->pidfd_source, "workload-pidfd");
        return 0;
}

/* ---- garbage collection of exited workloads ---------------------------------------------- */

static int on_gc_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        for (Workload *w = m->workloads.head, *next; w; w = next) {
                next = w->next;
                if (!workload_is_live(w) && w->helper_pid <= 0 &&
                    w->gone_at + LIMIT_EXITED_KEEP_USEC <= now)
                        manager_workload_remove(m, w);
        }
        manager_contain_gc(m);
        (void) gc_timer_update(m);
        return 0;
}

static int gc_timer_update(Manager *m) {
        uint64_t next = UINT64_MAX;
        int r;

        for (Workload *w = m->workloads.head; w; w = w->next)
                if (!workload_is_live(w) && w->gone_at + LIMIT_EXITED_KEEP_USEC < next)
                        next = w->gone_at + LIMIT_EXITED_KEEP_USEC;
        /* Kept cgroups: the v1 memory controller tells nobody but a release agent when one
         * empties, so look now and then. */
        {
                uint64_t in = manager_contain_next_check(m);
                if (in != UINT64_MAX)
                        next = MIN(next, now_usec(CLOCK_MONOTONIC) + in);
        }
        if (next == UINT64_MAX) {
                if (m->gc_timer)
                        (void) sd_event_source_set_enabled(m->gc_timer, SD_EVENT_OFF);
                return 0;
        }
        /* Past due but kept (its injection helper still runs): look again in a second, not
         * in a busy loop (a kept cgroup whose last tasks are exiting: sooner). */
        next = MAX(next, now_usec(CLOCK_MONOTONIC) +
                                 MIN(manager_contain_next_check(m), (uint64_t) 1000000));
        if (!m->gc_timer) {
                r = sd_event_add_time(m->event, &m->gc_timer, CLOCK_MONOTONIC, next, 1000000,
                                      on_gc_timer, m);
                if (r < 0)
                        return log_warning_errno(r, "Failed to add GC timer: %m");
                return 0;
        }
        (void) sd_event_source_set_time(m->gc_timer, next);
        return sd_event_source_set_enabled(m->gc_timer, SD_EVENT_ONESHOT);
}

/* ---- the budget watch on workloads without a kernel limit -------------------------------- */

static int workload_read_vm_lck(Workload *w, uint64_t *ret) {
        return proc_vm_lck_read(w->ident.pid, w->pidfd, ret);
}

static bool workload_needs_watch(const Workload *w) {
        if (budget_workload_unbounded(w))
                return true;
        /* memlockctl exec: the lock happens after the caller execs, without a report. */
        return w->kind == WORKLOAD_KIND_EXEC && w->state == WORKLOAD_LOCKING;
}

static int on_budget_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        for (Workload *w = m->workloads.head, *next; w; w = next) {
                uint64_t locked;

                next = w->next;
                if (!workload_needs_watch(w))
                        continue;
                if (workload_read_vm_lck(w, &locked) < 0)
                        continue; /* gone: the pidfd event follows */

                if (w->kind == WORKLOAD_KIND_EXEC && w->state == WORKLOAD_LOCKING && locked > 0) {
                        manager_workload_locked(m, w, locked, 0);
                        continue;
                }
                if (!budget_over_limit(w, locked)) {
                        w->over_limit_warned = false;
                        continue;
                }
                if (w->settings.on_exceed == ON_EXCEED_KILL) {
                        _cleanup_free_ char *e = NULL;
                        log_struct(LOG_WARNING, &WORKLOAD_LOG(w, MESSAGE_WORKLOAD_LIMIT),
                                   "Workload %s '%s' (pid %d) locks %s, above its limit of "
                                   "%s: killing it (OnExceed=kill).",
                                   w->id_str, strempty(w->name), w->ident.pid, FORMAT_BYTES(locked),
                                   FORMAT_BYTES(w->settings.limit));
                        if (asprintf(&e, "killed: locked %s, above its limit of %s",
                                     FORMAT_BYTES(locked), FORMAT_BYTES(w->settings.limit)) >= 0)
                                (void) workload_set_error(w, e);
                        (void) pidfd_send_signal_checked(w->pidfd, SIGKILL);
                } else if (!w->over_limit_warned) {
                        _cleanup_free_ char *e = NULL;
                        log_struct(LOG_WARNING, &WORKLOAD_LOG(w, MESSAGE_WORKLOAD_LIMIT),
                                   "Workload %s '%s' (pid %d) locks %s, above its limit of "
                                   "%s (OnExceed=warn).",
                                   w->id_str, strempty(w->name), w->ident.pid, FORMAT_BYTES(locked),
                                   FORMAT_BYTES(w->settings.limit));
                        if (asprintf(&e, "locks %s, above its limit of %s", FORMAT_BYTES(locked),
                                     FORMAT_BYTES(w->settings.limit)) >= 0)
                                (void) workload_set_error(w, e);
                        manager_workload_changed(m, w, WORKLOAD_CHANGE_ERROR);
                        w->over_limit_warned = true;
                }
        }
        /* A one-shot timer: armed again only while some workload needs watching. */
        (void) budget_timer_update(m);
        return 0;
}

static int budget_timer_update(Manager *m) {
        bool needed = false;
        int r;

        for (Workload *w = m->workloads.head; w && !needed; w = w->next)
                needed = workload_needs_watch(w);
        if (!needed) {
                if (m->budget_timer)
                        (void) sd_event_source_set_enabled(m->budget_timer, SD_EVENT_OFF);
                return 0;
        }
        if (!m->budget_timer) {
                r = sd_event_add_time_relative(m->event, &m->budget_timer, CLOCK_MONOTONIC,
                                               LIMIT_BUDGET_CHECK_USEC, 100000, on_budget_timer, m);
                if (r < 0)
                        return log_warning_errno(r, "Failed to add budget timer: %m");
                return sd_event_source_set_enabled(m->budget_timer, SD_EVENT_ONESHOT);
        }
        /* Already armed: leave its time alone, or frequent changes would postpone the check
         * forever. Disarmed (it just fired, or nothing needed watching): arm it again. An
         * elapsed time source that stays enabled fires on every loop iteration. */
        r = sd_event_source_get_enabled(m->budget_timer, NULL);
        if (r > 0)
                return 0;
        r = sd_event_source_set_time_relative(m->budget_timer, LIMIT_BUDGET_CHECK_USEC);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(m->budget_timer, SD_EVENT_ONESHOT);
}

/* ---- queries -------------------------------------------------------------------------------- */

uint64_t manager_reserved_bytes(Manager *m) {
        uint64_t r = workload_table_reserved(&m->workloads),
                 j = manager_jobs_reserved(m, UID_INVALID);

        return r > UINT64_MAX - j ? UINT64_MAX : r + j;
}

/* Status of a live workload, read through /proc/PID and checked against the pidfd afterwards
 * (a pid reused after the exit must not lend its numbers). Zeroes when gone. */
const WorkloadSample *manager_workload_sample(Manager *m, Workload *w) {
        _cleanup_close_ int dfd = -EBADF;
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        pid_t pid;

        if (w->sample.at != 0 && now - w->sample.at < WORKLOAD_SAMPLE_MAX_AGE_USEC)
                return &w->sample;
        w->sample = (WorkloadSample){ .at = now ?: 1,
                                      .held = w->sample.held,
                                      .held_at = w->sample.held_at };
        if (!workload_is_live(w) || w->pidfd < 0)
                return &w->sample;
        dfd = proc_open(w->ident.pid);
        if (dfd < 0)
                return &w->sample;
        if (proc_status_read(dfd, &w->sample.status) < 0)
                w->sample.status = (ProcStatus){};
        if (proc_stat_read(dfd, &w->sample.stat) < 0)
                w->sample.stat = (ProcStat){};
        if (pidfd_get_pid(w->pidfd, &pid) < 0 || pid != w->ident.pid) {
                w->sample.status = (ProcStatus){};
                w->sample.stat = (ProcStat){};
        }
        return &w->sample;
}

uint64_t manager_locked_bytes(Manager *m) {
        uint64_t sum = 0;

        for (Workload *w = m->workloads.head; w; w = w->next) {
                const WorkloadSample *s;

                if (!workload_is_live(w))
                        continue;
                s = manager_workload_sample(m, w);
                if (s->status.vm_lck != PROC_UNSET)
                        sum += s->status.vm_lck;
        }
        return sum;
}

int manager_get_workload(Manager *m, const Caller *c, const char *path, Workload **ret,
                         CoreError *error) {
        Workload *w = workload_table_find_path(&m->workloads, path);

        if (!w)
                return core_error_setf(error, ERROR_NO_SUCH_WORKLOAD,
                                       "There is no workload '%s'; 'memlockctl list' shows the "
                                       "current ones.",
                                       strempty(path));
        if (c && !caller_is_root(c) && c->uid != w->uid)
                return core_error_setf(error, ERROR_ACCESS_DENIED,
                                       "Workload %s belongs to uid %u; only its owner and root may "
                                       "act on it.",
                                       w->id_str, (unsigned) w->uid);
        *ret = w;
        return 0;
}

int manager_check_workload_limit(Manager *m, const Caller *c, CoreError *error) {
        size_t n;

        if (caller_is_root(c))
                return 0;
        n = workload_table_count_live_uid(&m->workloads, c->uid) +
            manager_jobs_count_uid(m, c->uid);
        if (n >= m->config.max_workloads_per_user)
                return core_error_setf(error, ERROR_LIMIT_EXCEEDED,
                                       "uid %u already has %zu workloads, the most allowed "
                                       "(MaxWorkloadsPerUser=%u); stop one first.",
                                       (unsigned) c->uid, n, m->config.max_workloads_per_user);
        return 0;
}

void manager_request_init(PolicyRequest *req, RequestKind kind, const Caller *c,
                          const WorkloadOptions *o) {
        policy_request_init(req);
        req->kind = kind;
        req->caller_uid = c->uid;
        req->caller_gid = c->gid;
        req->caller_groups = c->groups;
        req->n_caller_groups = c->n_groups;
        req->target_uid = c->uid;
        req->target_gid = c->gid;
        req->target_groups = c->groups;
        req->n_target_groups = c->n_groups;
        if (o) {
                req->policy_name = o->policy;
                req->mode = o->mode;
                req->limit = o->limit;
                req->prefault_threads = o->prefault_threads;
                req->libvirt_domain = o->libvirt_domain;
        }
}

void manager_request_set_target(PolicyRequest *req, const TargetInfo *t) {
        req->exe = t->exe;
        req->target_uid = t->uid;
        req->target_gid = t->gid;
        req->target_groups = t->groups;
        req->n_target_groups = t->n_groups;
        req->unit = t->unit;
}

int manager_decide(Manager *m, const PolicyRequest *req, PolicyDecision *ret, CoreError *error) {
        PolicyRequest r = *req;
        PolicyDecision d = {};
        int k;

        /* Kept cgroups that emptied since the last look no longer count. */
        manager_contain_gc(m);
        r.budget_total = m->config.budget;
        r.budget_reserved = manager_committed_bytes(m);
        k = policy_decide(m->policies, &r, &d);
        if (k < 0)
                return core_error_setf_errno(error, k, "Policy decision failed: %s", strerror(-k));
        if (d.verdict != VERDICT_ALLOW) {
                log_info("Denied %s by uid %u for '%s': %s",
                         strna(request_kind_to_string(req->kind)), (unsigned) req->caller_uid,
                         strna(req->exe), strempty(d.message));
                k = core_error_set_verdict(error, &d);
                policy_decision_clear(&d);
                return k;
        }
        /* Belt and braces: the reservation must fit, whatever the policy library said. */
        if (!budget_fits(r.budget_total, r.budget_reserved, d.settings.limit)) {
                _cleanup_free_ char *msg = budget_exceeded_message(
                        r.budget_total, r.budget_reserved, d.settings.limit);
                policy_decision_clear(&d);
                return core_error_setf(error, ERROR_BUDGET_EXCEEDED, "%s",
                                       msg ?: "budget exceeded");
        }
        /* One user's share (MaxLockedPerUser=), counted in full reservations; root is exempt. */
        if (req->caller_uid != 0) {
                uint64_t mine = manager_user_reserved_bytes(m, req->caller_uid);
                if (!budget_share_fits(m->config.max_locked_per_user, mine, d.settings.limit)) {
                        _cleanup_free_ char *msg = budget_share_exceeded_message(
                                (unsigned) req->caller_uid, m->config.max_locked_per_user, mine,
                                d.settings.limit);
                        log_info("Denied %s by uid %u for '%s': %s",
                                 strna(request_kind_to_string(req->kind)),
                                 (unsigned) req->caller_uid, strna(req->exe), strna(msg));
                        policy_decision_clear(&d);
                        return core_error_setf(error, ERROR_BUDGET_EXCEEDED, "%s",
                                               msg ?: "share exceeded");
                }
        }
        *ret = d;
        return 0;
}

int manager_kill(Manager *m, const Caller *c, Workload *w, int sig, CoreError *error) {
        int r;

        if (sig <= 0 || sig >= _NSIG)
                return core_error_setf(error, ERROR_INVALID_ARGUMENT, "%d is not a signal number.",
                                       sig);
        if (!workload_is_live(w) || w->pidfd < 0)
                return core_error_setf(error, ERROR_NO_SUCH_PROCESS,
                                       "Workload %s is %s; there is no process to signal.",
                                       w->id_str, workload_state_to_string(w->state));
        r = pidfd_send_signal_checked(w->pidfd, sig);
        if (r < 0)
                return core_error_setf_errno(
                        error, r, "Failed to send %s to workload %s (pid %d): %s",
                        strna(sigabbrev_np(sig)), w->id_str, w->ident.pid, strerror(-r));
        log_info("Sent SIG%s to workload %s (pid %d) for uid %u.", strna(sigabbrev_np(sig)),
                 w->id_str, w->ident.pid, (unsigned) c->uid);
        return 0;
}

int manager_explain(Manager *m, const Caller *c, pid_t pid, PolicyDecision *ret, CoreError *error) {
        TargetInfo t = {};
        PolicyRequest req;
        int r;

        if (pid <= 0)
                return core_error_setf(error, ERROR_INVALID_ARGUMENT, "%d is not a pid.", pid);
        r = target_info_from_pid(pid, UINT64_MAX, &t, NULL);
        if (r < 0)
                return core_error_setf(error, ERROR_NO_SUCH_PROCESS, "No process %d: %s.",
                                       (int) pid, strerror(-r));
        if (!caller_is_root(c) && t.uid != c->uid) {
                target_info_done(&t);
                return core_error_setf(error, ERROR_ACCESS_DENIED,
                                       "pid %d runs as uid %u; you may only ask about your own "
                                       "processes.",
                                       (int) pid, (unsigned) t.uid);
        }
        manager_request_init(&req, REQUEST_ATTACH, c, NULL);
        manager_request_set_target(&req, &t);
        req.budget_total = m->config.budget;
        req.budget_reserved = manager_committed_bytes(m);
        r = policy_decide(m->policies, &req, ret);
        target_info_done(&t);
        if (r < 0)
                return core_error_setf_errno(error, r, "Policy decision failed: %s", strerror(-r));
        return 0;
}

void manager_owner_gone(Manager *m, uint64_t owner) {
        if (owner == 0)
                return;
        manager_jobs_owner_gone(m, owner);
        for (Workload *w = m->workloads.head; w; w = w->next) {
                if (w->owner != owner)
                        continue;
                w->owner = 0;
                if (w->detach || !workload_is_live(w) || w->pidfd < 0)
                        continue;
                log_info("The client of foreground workload %s (pid %d) went away: sending "
                         "SIGHUP.",
                         w->id_str, w->ident.pid);
                (void) pidfd_send_signal_checked(w->pidfd, SIGHUP);
        }
}

/* ---- start-up: re-adoption ------------------------------------------------------------------- */

static void manager_adopt(Manager *m) {
        WorkloadTable loaded = {};
        uint64_t next_id = 1;
        int r;

        r = state_load(m->state_dir, &next_id, &loaded);
        if (r == -ENOENT) {
                manager_save_state(m);
                return;
        }
        if (r < 0) {
                _cleanup_free_ char *from = NULL, *to = NULL;

                log_error_errno(r,
                                "State file in '%s' is unreadable or corrupt (%m): workloads "
                                "started before this restart are not re-adopted; they keep "
                                "running but are not listed, and their reservations are lost. "
                                "The file is kept as '" STATE_FILE_NAME ".corrupt'.",
                                m->state_dir);
                workload_table_clear(&loaded);
                if (asprintf(&from, "%s/" STATE_FILE_NAME, m->state_dir) >= 0 &&
                    asprintf(&to, "%s/" STATE_FILE_NAME ".corrupt", m->state_dir) >= 0)
                        (void) rename(from, to);
                manager_save_state(m);
                return;
        }
        if (next_id > m->next_id)
                m->next_id = next_id;

        while (loaded.head) {
                Workload *w = loaded.head;
                workload_table_remove(&loaded, w);

                if (w->id >= m->next_id)
                        m->next_id = w->id + 1;
                r = pidfd_open_checked(w->ident.pid);
                if (r >= 0) {
                        w->pidfd = r;
                        r = process_identity_matches(&w->ident);
                        if (r == 0)
                                r = -ESRCH; /* the pid was reused */
                }
                if (r < 0) {
                        log_info("Workload %s '%s' (pid %d) is gone, dropping it.", w->id_str,
                                 strempty(w->name), w->ident.pid);
                        workload_free(w);
                        continue;
                }
                w->manager = m;
                w->adopted = true;
                w->is_child = false; /* reparented: its exit status is not ours to see */
                if (w->state == WORKLOAD_STARTING || w->state == WORKLOAD_LOCKING) {
                        uint64_t l = 0;
                        if (workload_read_vm_lck(w, &l) >= 0 && l > 0) {
                                w->state = WORKLOAD_LOCKED;
                                w->locked_bytes = l;
                        } else if (w->kind != WORKLOAD_KIND_EXEC) {
                                w->state = WORKLOAD_FAILED;
                                (void) workload_set_error(
                                        w, "the daemon restarted while the lock was in progress");
                        }
                }
                r = manager_workload_watch(m, w);
                if (r < 0) {
                        log_warning_errno(r, "Failed to watch workload %s: %m", w->id_str);
                        workload_free(w);
                        continue;
                }
                workload_table_add(&m->workloads, w);
                log_info("Re-adopted workload %s '%s' (pid %d, %s, %s).", w->id_str,
                         strempty(w->name), w->ident.pid, workload_state_to_string(w->state),
                         FORMAT_BYTES(w->settings.limit));
        }
        manager_save_state(m);
        (void) budget_timer_update(m);
}

/* ---- signals and the loop -------------------------------------------------------------------- */

/* Shutting down: the loop goes on (still serving) until the cgroups of exited workloads are
 * gone, looking every LIMIT_STOP_CGROUP_POLL_USEC, for at most LIMIT_STOP_CGROUP_WAIT_USEC.
 * The v1 memory controller tells nobody when a cgroup empties, so this looks. */
static int on_stop_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        if (!manager_containment_stopping(m) || usec >= m->stop_deadline)
                return sd_event_exit(m->event, 0);
        (void) sd_event_source_set_time(s, usec + LIMIT_STOP_CGROUP_POLL_USEC);
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static int on_exit_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        int r;

        if (m->stop_timer)
                return 0; /* already on the way out */
        log_info("Received SIG%s, shutting down; workloads keep running.",
                 strna(sigabbrev_np((int) si->ssi_signo)));
        manager_flush(m);
        manager_notify_stopping(m);
        if (!manager_containment_stopping(m))
                return sd_event_exit(m->event, 0);
        m->stop_deadline = now + LIMIT_STOP_CGROUP_WAIT_USEC;
        r = sd_event_add_time(m->event, &m->stop_timer, CLOCK_MONOTONIC,
                              now + LIMIT_STOP_CGROUP_POLL_USEC, 0, on_stop_timer, m);
        if (r < 0)
                return sd_event_exit(m->event, 0);
        return 0;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;
        PolicyDiagnostics d = {};

        (void) manager_reload(m, &d);
        policy_diagnostics_clear(&d);
        return 0;
}

static void on_domain_started(const char *name, pid_t pid, const GuestFacts *facts,
                              void *userdata) {
        _cleanup_(core_error_done) CoreError e = CORE_ERROR_NULL;
        Manager *m = userdata;
        WorkloadOptions o;
        Workload *w;
        int r;

        if (pid <= 0 || workload_table_find_pid(&m->workloads, pid))
                return;
        workload_options_init(&o);
        o.libvirt_domain = name;
        o.name = name;
        o.guest = *facts;
        r = manager_attach_pid(m, pid, &o, &w, &e);
        if (r < 0)
                log_full_errno(facts->locked ? LOG_WARNING : LOG_INFO, r,
                               "Not locking libvirt guest '%s' (pid %d)%s: %s", name, (int) pid,
                               facts->locked ? ", which asks for <locked/>," : "",
                               e.message ?: strerror(-r));
}

static void on_domain_changed(const char *name, pid_t pid, const GuestFacts *facts,
                              void *userdata) {
        Manager *m = userdata;
        Workload *w = pid > 0 ? workload_table_find_pid(&m->workloads, pid) : NULL;

        if (w)
                (void) manager_attach_resize_guest(m, w, facts);
}

static void on_domain_stopped(const char *name, pid_t pid, void *userdata) {
        /* Nothing to do: the workload's pidfd reports the end of the process. */
        log_debug("libvirt guest '%s' (pid %d) stopped.", name, (int) pid);
}

static int manager_libvirt_start(Manager *m) {
        static const LibvirtEventsCallbacks cb = {
                .domain_started = on_domain_started,
                .domain_changed = on_domain_changed,
                .domain_stopped = on_domain_stopped,
        };
        int r;

        if (!m->config.libvirt_uri)
                return 0;
        r = libvirt_module_open(&m->libvirt_module);
        if (r < 0)
                return r;
        r = m->libvirt_module.events_new(m->event, m->config.libvirt_uri, NULL, &cb, m,
                                         &m->libvirt);
        if (r < 0)
                return log_error_errno(r, "Failed to follow libvirt at '%s': %m",
                                       m->config.libvirt_uri);
        log_info("Following libvirt guests at '%s'.", m->config.libvirt_uri);
        return 0;
}

int manager_startup(Manager *m) {
        sigset_t ss;
        Privileges p = {};
        int r;

        r = mkdir(m->state_dir, 0755);
        if (r < 0 && errno != EEXIST)
                return log_error_errno(errno, "Failed to create state directory '%s': %m",
                                       m->state_dir);

        if (privileges_query(&p) >= 0) {
                m->has_sys_resource = p.sys_resource;
                m->has_ipc_lock = p.ipc_lock;
                m->has_sys_ptrace = p.sys_ptrace;
        }
        m->has_sys_chroot = privileges_have(CAP_SYS_CHROOT) > 0;
        log_info("Privileges: %s. %s", privileges_to_string(&p),
                 m->has_sys_resource
                         ? "Workloads get RLIMIT_MEMLOCK raised."
                         : "No CAP_SYS_RESOURCE: workloads get CAP_IPC_LOCK instead of a raised "
                           "limit.");

        (void) sigemptyset(&ss);
        (void) sigaddset(&ss, SIGTERM);
        (void) sigaddset(&ss, SIGINT);
        (void) sigaddset(&ss, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &ss, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m");
        (void) signal(SIGPIPE, SIG_IGN);
        r = sd_event_add_signal(m->event, &m->sigterm_source, SIGTERM, on_exit_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, &m->sigint_source, SIGINT, on_exit_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, &m->sighup_source, SIGHUP, on_sighup, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add signal handlers: %m");

        manager_adopt(m);
        r = manager_containment_start(m);
        if (r < 0)
                return r;
        m->started = true;

        return manager_libvirt_start(m);
}

int manager_ready(Manager *m) {
        int r;

        r = manager_notify_setup(m);
        if (r < 0)
                return r;
        log_info("mlockd " MLOCKD_VERSION " serving on %s: %zu policies, budget %s, %zu "
                 "workloads re-adopted.",
                 m->socket_path, policy_set_size(m->policies), FORMAT_BYTES(m->config.budget),
                 m->workloads.n);
        return 0;
}

int manager_run_loop(Manager *m) {
        return sd_event_loop(m->event);
}
