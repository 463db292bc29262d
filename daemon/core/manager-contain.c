/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Manager's side of containment (daemon/containment.h): the backend at start-up, a cgroup
 * for each workload mlockd grants something to, what a workload at its bound went through,
 * and the removal of cgroups once nothing lives in them. */
#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <signal.h>
#include <sys/epoll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build-config.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/parse-util.h"
#include "common/proc.h"
#include "daemon/core/budget.h"
#include "daemon/containment/cgroup-util.h"
#include "daemon/containment/containment-scope.h"
#include "daemon/core/limits.h"
#include "daemon/core/manager.h"
#include "daemon/core/message-id.h"

typedef struct OrphanCgroup {
        ContainmentCgroup cgroup;
        uid_t uid;
        uint64_t reservation;
        unsigned quick_tries; /* looks at LIMIT_ORPHAN_EXITING_USEC since it was kept */
} OrphanCgroup;

/* Workloads of different daemon instances (tests, a second daemon with its own socket and
 * state) must not meet in one directory: an instance with a state directory other than the
 * default gets a subtree of its own, named after it. */
static char *subtree_name(const char *state_dir) {
        uint32_t h = 2166136261u; /* FNV-1a */
        char *s;

        if (streq(state_dir, MLOCKD_STATE_DIR))
                return strdup("mlockd");
        for (const char *p = state_dir; *p; p++)
                h = (h ^ (uint8_t) *p) * 16777619u;
        if (asprintf(&s, "mlockd-%08" PRIx32, h) < 0)
                return NULL;
        return s;
}

static int set_label(Workload *w, const char *format, ...) _printf_(2, 3);
static int set_label(Workload *w, const char *format, ...) {
        va_list ap;
        char *s;
        int k;

        va_start(ap, format);
        k = vasprintf(&s, format, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        free(w->containment);
        w->containment = s;
        return 0;
}

static void orphan_add(Manager *m, ContainmentCgroup *cg, uid_t uid, uint64_t reservation) {
        OrphanCgroup *n = realloc(m->orphans, (m->n_orphans + 1) * sizeof(OrphanCgroup));

        if (!n) {
                log_warning("Out of memory: cgroup '%s' will not be removed.", strna(cg->dir));
                containment_cgroup_done(cg);
                return;
        }
        m->orphans = n;
        m->orphans[m->n_orphans++] =
                (OrphanCgroup){ .cgroup = *cg, .uid = uid, .reservation = reservation };
        *cg = (ContainmentCgroup){ .backend = CONTAINMENT_NONE };
}

static void watch_bound(Manager *m, Workload *w);

/* Whether dir/cgroup.procs lists pid. */
static bool procs_lists(const char *dir, pid_t pid) {
        _cleanup_free_ char *list = NULL;
        char want[24];
        size_t n, l;

        if (cgroup_read(dir, "cgroup.procs", &list, &n) < 0)
                return false;
        l = (size_t) snprintf(want, sizeof(want), "%d", (int) pid);
        for (char *p = list; p && *p;) {
                char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t) (nl - p) : strlen(p);
                if (len == l && memcmp(p, want, l) == 0)
                        return true;
                p = nl ? nl + 1 : NULL;
        }
        return false;
}

/* ---- start and stop -------------------------------------------------------------------- */

/* Scope backend: a re-adopted workload is in its scope still if systemd put it there. */
static void adopt_scopes(Manager *m) {
        for (Workload *w = m->workloads.head; w; w = w->next) {
                _cleanup_free_ char *p = NULL, *text = NULL, *path = NULL, *unit = NULL;
                const char *base;
                size_t n;

                if (!workload_is_live(w) || w->cgroup.backend != CONTAINMENT_NONE)
                        continue;
                if (asprintf(&p, "/proc/%d/cgroup", (int) w->ident.pid) < 0 ||
                    asprintf(&unit, "mlock-%s.scope", w->id_str) < 0)
                        return;
                if (read_file_at(AT_FDCWD, p, CGROUP_FILE_MAX, &text, &n) < 0 ||
                    cgroup_path_parse(text, n, m->containment.scope_v1 ? "memory" : NULL, &path) <
                            0)
                        continue;
                base = strrchr(path, '/');
                if (!base || !streq(base + 1, unit))
                        continue;
                w->cgroup = (ContainmentCgroup){ .backend = CONTAINMENT_SCOPE,
                                                 .v1_files = m->containment.scope_v1 };
                if (asprintf(&w->cgroup.dir, "%s%s", m->containment.hierarchy, path) < 0 ||
                    asprintf(&w->cgroup.label, "scope:%s", unit) < 0) {
                        containment_cgroup_done(&w->cgroup);
                        return;
                }
                w->cgroup.unit = TAKE_PTR(unit);
                (void) cgroup_read_u64(w->cgroup.dir,
                                       w->cgroup.v1_files ? "memory.limit_in_bytes" : "memory.max",
                                       &w->cgroup.bound);
                free(w->containment);
                w->containment = strdup(w->cgroup.label);
                watch_bound(m, w);
        }
}

/* Directories in our subtree that no workload owns: empty ones are removed, populated ones
 * (a daemon restarted while descendants lived on) are kept, bounded, as orphans. */
static void adopt_leftovers(Manager *m) {
        _cleanup_free_ char *base = NULL;
        DIR *d;
        struct dirent *de;

        if (m->containment.backend == CONTAINMENT_SCOPE)
                adopt_scopes(m);
        if (m->containment.backend != CONTAINMENT_CGROUP1 &&
            m->containment.backend != CONTAINMENT_CGROUP2)
                return;
        if (asprintf(&base, "%s%s", m->containment.hierarchy, m->containment.base) < 0)
                return;
        d = opendir(base);
        if (!d)
                return;
        while ((de = readdir(d))) {
                ContainmentCgroup cg = { .backend = m->containment.backend,
                                         .v1_files =
                                                 m->containment.backend == CONTAINMENT_CGROUP1 };
                uint64_t id = 0;
                Workload *w;

                if (strncmp(de->d_name, "workload-", 9) != 0 || de->d_type != DT_DIR)
                        continue;
                if (asprintf(&cg.dir, "%s/%s", base, de->d_name) < 0 ||
                    asprintf(&cg.label, "%s:%s/%s",
                             containment_backend_to_string(m->containment.backend),
                             m->containment.base, de->d_name) < 0) {
                        containment_cgroup_done(&cg);
                        break;
                }
                (void) sscanf(de->d_name + 9, "%" SCNu64, &id);
                w = workload_table_find_id(&m->workloads, id);
                if (w && workload_is_live(w) && w->cgroup.backend == CONTAINMENT_NONE) {
                        /* A re-adopted workload: its cgroup is the one its pid is in. */
                        if (procs_lists(cg.dir, w->ident.pid)) {
                                (void) cgroup_read_u64(cg.dir,
                                                       cg.v1_files ? "memory.limit_in_bytes"
                                                                   : "memory.max",
                                                       &cg.bound);
                                free(w->containment);
                                w->containment = strdup(cg.label);
                                w->cgroup = cg;
                                watch_bound(m, w);
                                continue;
                        }
                }
                if (containment_cgroup_remove(&cg) >= 0) {
                        log_debug("Removed the empty cgroup '%s' left from before.", cg.dir);
                        containment_cgroup_done(&cg);
                        continue;
                }
                log_info("Cgroup '%s' still holds processes of a workload from before the "
                         "restart: kept, bounded, until they are gone.",
                         cg.dir);
                orphan_add(m, &cg, 0, 0);
        }
        closedir(d);
}

int manager_containment_start(Manager *m) {
        _cleanup_free_ char *subtree = NULL, *desc = NULL;
        ContainmentSettings s = {
                .only = _CONTAINMENT_BACKEND_INVALID,
                .try_scope = access("/run/systemd/system", F_OK) >= 0,
        };
        int r;

        subtree = subtree_name(m->state_dir);
        if (!subtree)
                return log_oom();
        s.subtree = subtree;
        r = containment_setup(&s, &m->containment);
        if (r < 0)
                return log_error_errno(r, "Failed to set up containment: %m");
        desc = containment_describe(&m->containment);
        if (m->containment.backend == CONTAINMENT_NONE)
                log_warning("Containment: %s. Workloads of users other than root that would get "
                            "CAP_IPC_LOCK are refused unless their policy says "
                            "Containment=optional.",
                            strna(desc));
        else
                log_info("Containment: %s.", strna(desc));
        if (m->containment.backend == CONTAINMENT_SCOPE) {
                r = containment_scope_attach_event(m->containment.scope, m->event);
                if (r < 0)
                        return log_error_errno(r, "Failed to watch the systemd connection: %m");
        }
        adopt_leftovers(m);
        return 0;
}

bool manager_containment_stopping(Manager *m) {
        /* Exited and detached workloads' cgroups go when empty; live ones stay with their
         * workloads, which a stopping daemon never touches. */
        for (Workload *w = m->workloads.head; w; w = w->next)
                if (!workload_is_live(w))
                        (void) containment_cgroup_remove(&w->cgroup);
        manager_contain_gc(m);
        /* A cgroup whose last tasks are still exiting empties within milliseconds. */
        return manager_contain_next_check(m) == LIMIT_ORPHAN_EXITING_USEC;
}

void manager_containment_stop(Manager *m) {
        /* Whatever is still there stays: the loop gave exiting tasks their time
         * (manager_containment_stopping()); a stopping daemon never waits here. */
        (void) manager_containment_stopping(m);
        for (size_t i = 0; i < m->n_orphans; i++)
                containment_cgroup_done(&m->orphans[i].cgroup);
        free(m->orphans);
        m->orphans = NULL;
        m->n_orphans = 0;
        containment_done(&m->containment);
}

void manager_contain_gc(Manager *m) {
        size_t j = 0;

        for (size_t i = 0; i < m->n_orphans; i++) {
                OrphanCgroup *o = &m->orphans[i];

                if (containment_cgroup_remove(&o->cgroup) >= 0) {
                        log_debug("Removed cgroup '%s': its last process is gone.",
                                  strna(o->cgroup.dir));
                        containment_cgroup_done(&o->cgroup);
                        continue;
                }
                m->orphans[j++] = *o;
        }
        m->n_orphans = j;
}

uint64_t manager_contain_next_check(Manager *m) {
        uint64_t next = UINT64_MAX;

        for (size_t i = 0; i < m->n_orphans; i++) {
                /* No process listed but not removable: its last tasks are still exiting (an OOM
                 * victim freeing its memory), which takes milliseconds. Not for ever: something
                 * else (a child cgroup root made in it) may keep it. */
                /* Also while processes are listed, for the first seconds: the descendants of
                 * a workload that was just killed (OOM, SIGKILL) exit right after it. */
                if (m->orphans[i].cgroup.dir && m->orphans[i].quick_tries < 50 &&
                    (m->orphans[i].quick_tries < 30 ||
                     cgroup_is_populated(m->orphans[i].cgroup.dir) == 0)) {
                        m->orphans[i].quick_tries++;
                        return LIMIT_ORPHAN_EXITING_USEC;
                }
                next = LIMIT_ORPHAN_CHECK_USEC;
        }
        return next;
}

/* ---- what the bound does, as it happens --------------------------------------------------- */

static int on_bound_event(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Workload *w = userdata;
        Manager *m = w->manager;
        ContainmentUsage u;
        _cleanup_free_ char *e = NULL;

        containment_watch_drain(fd);
        if (containment_cgroup_read(&w->cgroup, &u) < 0 || u.oom_kills <= w->oom_kills_seen)
                return 0;
        log_struct(LOG_WARNING, &WORKLOAD_LOG(w, MESSAGE_WORKLOAD_LIMIT),
                   "Workload %s '%s' (pid %d) is at its bound of %s (limit %s + allowance): the "
                   "kernel's OOM killer stopped %" PRIu64 " of its processes (%" PRIu64 " so far).",
                   w->id_str, strempty(w->name), w->ident.pid, FORMAT_BYTES(w->cgroup.bound),
                   FORMAT_BYTES(w->settings.limit), u.oom_kills - w->oom_kills_seen, u.oom_kills);
        w->oom_kills_seen = u.oom_kills;
        if (asprintf(&e, "reached its bound of %s: %" PRIu64 " process%s OOM-killed",
                     FORMAT_BYTES(w->cgroup.bound), u.oom_kills,
                     u.oom_kills == 1 ? "" : "es") >= 0) {
                (void) workload_set_error(w, e);
                manager_workload_changed(m, w, WORKLOAD_CHANGE_ERROR);
        }
        return 0;
}

/* Follows the workload's cgroup for OOM kills while it runs (an event, not a poll). Best effort:
 * without it the record is still read when the workload ends. */
static void watch_bound(Manager *m, Workload *w) {
        int fd, r;

        if (w->cgroup.backend == CONTAINMENT_NONE || !m->event)
                return;
        r = containment_cgroup_watch(&w->cgroup, &fd);
        if (r < 0) {
                log_debug_errno(r, "Cannot watch the cgroup of workload %s: %m", w->id_str);
                return;
        }
        r = sd_event_add_io(m->event, &w->oom_source, fd, EPOLLIN, on_bound_event, w);
        if (r < 0) {
                safe_close(fd);
                return;
        }
        (void) sd_event_source_set_io_fd_own(w->oom_source, true);
        (void) sd_event_source_set_description(w->oom_source, "workload-bound");
}

void manager_contain_watch(Manager *m, Workload *w) {
        watch_bound(m, w);
}

/* ---- Run ------------------------------------------------------------------------------- */

int manager_contain_run(Manager *m, Workload *w, const Caller *c, bool capability, bool secure_exec,
                        ContainmentChild *ret_child, CoreError *error) {
        _cleanup_free_ char *err = NULL;
        bool root = caller_is_root(c);
        int r;

        if (m->containment.backend != CONTAINMENT_NONE) {
                r = containment_cgroup_new(&m->containment, w->id, w->settings.limit, &w->cgroup,
                                           &err);
                if (r >= 0) {
                        w->containment = strdup(w->cgroup.label);
                        if (!w->containment)
                                return core_error_setf_errno(error, -ENOMEM, "Out of memory.");
                }
        } else {
                r = -EOPNOTSUPP;
                err = strdup(strna(m->containment.reason));
        }
        if (r < 0) {
                if (capability && !root && w->settings.containment == CONTAINMENT_REQUIRED)
                        return core_error_setf(
                                error, ERROR_UNSUPPORTED,
                                "Workload refused: it would get CAP_IPC_LOCK, which no kernel "
                                "limit bounds, and no containment is available to bound it "
                                "(%s). Mount the cgroup v1 memory controller, or give mlockd "
                                "a cgroup v2 with the memory controller delegated "
                                "(Delegate=yes), or run it under systemd; or let the policy "
                                "'%s' accept uncontained workloads with [Lock] "
                                "Containment=optional.",
                                strna(err), strna(w->policy));
                log_warning("Workload %s runs uncontained: %s", w->id_str, strna(err));
                if (set_label(w, "none (%s)", strna(err)) < 0)
                        return core_error_setf_errno(error, -ENOMEM, "Out of memory.");
        }

        /* Root's workloads are root: a filter would not keep root from anything. Set-user-ID
         * programs would lose their bit under no_new_privs; they carry their own privileges,
         * which the administrator gave them, and stay bounded by the cgroup. */
        r = containment_child_prepare(&m->containment,
                                      w->cgroup.backend != CONTAINMENT_NONE ? &w->cgroup : NULL,
                                      !root && !secure_exec, w->settings.inherit, ret_child);
        if (r < 0) {
                (void) containment_cgroup_remove(&w->cgroup);
                return core_error_setf_errno(
                        error, r, "Failed to prepare the workload's cgroup: %s", strerror(-r));
        }
        return 0;
}

int manager_contain_launch_child(Manager *m, Workload *w, ContainmentChild *cc, pid_t pid,
                                 int control_fd, ContainmentScopeDone done, void *userdata,
                                 ContainmentScopeStart **ret_start, char **ret_error) {
        int r;

        /* The child was forked before the decision and waits for its verdict. Before that, a
         * scope is started with it by systemd, asynchronously (systemd may be slow or stopped);
         * a cgroup it joins itself, through the fd the daemon hands it (spawn_join_send()). */
        if (w->cgroup.backend == CONTAINMENT_SCOPE) {
                r = containment_scope_start_async(m->containment.scope, m->containment.hierarchy,
                                                  m->containment.scope_v1, &w->cgroup, pid, done,
                                                  userdata, ret_start);
                if (r < 0) {
                        containment_set_error(ret_error,
                                              "Failed to ask systemd for the scope '%s': %s",
                                              strna(w->cgroup.unit), strerror(-r));
                        return r;
                }
                return 1;
        }
        if (cc->join_fd >= 0) {
                r = spawn_join_send(control_fd, cc->join_fd);
                if (r < 0) {
                        containment_set_error(ret_error,
                                              "Failed to hand pid %d its cgroup '%s': %s",
                                              (int) pid, strna(w->cgroup.dir), strerror(-r));
                        return r;
                }
                cc->join_fd = safe_close(cc->join_fd);
        }
        return 0;
}

/* ---- Attach and Exec ------------------------------------------------------------------- */

int manager_contain_process(Manager *m, Workload *w, pid_t pid, bool granted, CoreError *error) {
        _cleanup_free_ char *owner = NULL, *err = NULL;
        int r;

        /* Managed first: for a guest that is what bounds it, granted or not. */
        r = containment_pid_managed(&m->containment, pid, &owner);
        if (r > 0) {
                /* Never moved out of a cgroup systemd or libvirt made for it. What bounds it:
                 * the RLIMIT_MEMLOCK mlockd raised (per process), and that cgroup's own memory
                 * limit (libvirt's <memtune><hard_limit>, a unit's MemoryMax=). */
                log_info("Workload %s (pid %d) stays in '%s', which systemd or libvirt manages: "
                         "bounded by its RLIMIT_MEMLOCK of %s and that cgroup's own limit.",
                         w->id_str, (int) pid, owner, FORMAT_BYTES(w->settings.limit));
                return set_label(w, "none (managed by %s)", owner);
        }
        if (!granted)
                return set_label(w, "none (nothing granted: it could lock this much already)");
        if (m->containment.backend == CONTAINMENT_NONE)
                return set_label(w, "none (%s)", strna(m->containment.reason));
        r = containment_cgroup_new(&m->containment, w->id, w->settings.limit, &w->cgroup, &err);
        if (r >= 0)
                r = containment_cgroup_move(&m->containment, &w->cgroup, pid, &err);
        if (r < 0) {
                /* Not fatal: RLIMIT_MEMLOCK, which mlockd raised, still bounds each process. */
                (void) containment_cgroup_remove(&w->cgroup);
                containment_cgroup_done(&w->cgroup);
                log_warning("Workload %s (pid %d) runs uncontained: %s", w->id_str, (int) pid,
                            strna(err));
                return set_label(w, "none (%s)", strna(err));
        }
        free(w->containment);
        w->containment = strdup(w->cgroup.label);
        if (!w->containment)
                return -ENOMEM;
        watch_bound(m, w);
        return 0;
}

/* ---- the end of a workload --------------------------------------------------------------- */

void manager_contain_release(Manager *m, Workload *w, bool keep_bound) {
        ContainmentUsage u;
        int r;

        w->oom_source = sd_event_source_disable_unref(w->oom_source);
        if (w->cgroup.backend == CONTAINMENT_NONE)
                return;
        if (containment_cgroup_read(&w->cgroup, &u) >= 0 && (u.oom_kills > 0 || u.limit_hits > 0)) {
                _cleanup_free_ char *e = NULL;

                log_struct(LOG_WARNING, &WORKLOAD_LOG(w, MESSAGE_WORKLOAD_LIMIT),
                           "Workload %s '%s' reached its bound of %s (limit %s + allowance): "
                           "%" PRIu64 " charges refused, %" PRIu64 " processes killed by the "
                           "kernel's OOM killer.",
                           w->id_str, strempty(w->name), FORMAT_BYTES(w->cgroup.bound),
                           FORMAT_BYTES(w->settings.limit), u.limit_hits, u.oom_kills);
                if (u.oom_kills > 0 &&
                    asprintf(&e, "reached its bound of %s: %" PRIu64 " process%s OOM-killed",
                             FORMAT_BYTES(w->cgroup.bound), u.oom_kills,
                             u.oom_kills == 1 ? "" : "es") >= 0) {
                        (void) workload_set_error(w, e);
                        manager_workload_changed(m, w, WORKLOAD_CHANGE_ERROR);
                }
        }
        r = containment_cgroup_remove(&w->cgroup);
        if (r >= 0) {
                containment_cgroup_done(&w->cgroup);
                return;
        }
        if (!keep_bound)
                log_info("Workload %s: its main process is gone, but processes remain in '%s'; "
                         "they stay bounded by %s until they end.",
                         w->id_str, strna(w->cgroup.dir), FORMAT_BYTES(w->cgroup.bound));
        orphan_add(m, &w->cgroup, w->uid, w->settings.limit);
}

/* ---- the budget's view ----------------------------------------------------------------- */

uint64_t manager_contain_held(Manager *m, Workload *w) {
        uint64_t now = now_usec(CLOCK_MONOTONIC), held;

        if (w->cgroup.backend == CONTAINMENT_NONE)
                return w->settings.limit;
        if (w->sample.held_at != 0 && now - w->sample.held_at < WORKLOAD_SAMPLE_MAX_AGE_USEC)
                return w->sample.held;
        if (containment_cgroup_read_locked(&w->cgroup, &held) < 0)
                return w->settings.limit;
        w->sample.held = held;
        w->sample.held_at = now ?: 1;
        return held;
}

uint64_t manager_committed_bytes(Manager *m) {
        uint64_t sum = 0;

        for (Workload *w = m->workloads.head; w; w = w->next) {
                bool done = w->state == WORKLOAD_LOCKED || w->state == WORKLOAD_FAILED;

                if (!workload_is_live(w))
                        continue;
                sum = budget_add(sum, budget_committed(w->settings.limit, done,
                                                       budget_workload_contained(w),
                                                       done && budget_workload_contained(w)
                                                               ? manager_contain_held(m, w)
                                                               : 0));
        }
        for (size_t i = 0; i < m->n_orphans; i++) {
                ContainmentUsage u;
                if (containment_cgroup_read(&m->orphans[i].cgroup, &u) >= 0)
                        sum = budget_add(sum, u.unevictable);
        }
        /* Launches decided but not started yet: their whole reservation. */
        return budget_add(sum, manager_jobs_reserved(m, UID_INVALID));
}

uint64_t manager_user_reserved_bytes(Manager *m, uid_t uid) {
        uint64_t sum = 0;

        for (Workload *w = m->workloads.head; w; w = w->next)
                if (workload_is_live(w) && w->uid == uid)
                        sum = budget_add(sum, w->settings.limit);
        for (size_t i = 0; i < m->n_orphans; i++)
                if (m->orphans[i].uid == uid)
                        sum = budget_add(sum, m->orphans[i].reservation);
        return budget_add(sum, manager_jobs_reserved(m, uid));
}
