/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Containment: backend probing, and the workload cgroups of the directory backends (cgroup v2
 * and the v1 memory controller). The systemd scope backend is in containment-scope.c. */
#include "daemon/containment/containment.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/parse-util.h"
#include "common/proc.h"
#include "common/string-table.h"
#include "daemon/containment/cgroup-util.h"
#include "daemon/containment/containment-scope.h"
#include "daemon/containment/seccomp-workload.h"

static const char *const containment_backend_table[_CONTAINMENT_BACKEND_MAX] = {
        [CONTAINMENT_NONE] = "none",
        [CONTAINMENT_SCOPE] = "scope",
        [CONTAINMENT_CGROUP2] = "cgroup2",
        [CONTAINMENT_CGROUP1] = "cgroup1-memory",
};

DEFINE_STRING_TABLE_LOOKUP(containment_backend, ContainmentBackend)

static bool file_exists(const char *dir, const char *name) {
        _cleanup_free_ char *p = NULL;

        if (asprintf(&p, "%s/%s", dir, name) < 0)
                return false;
        return access(p, F_OK) >= 0;
}

static char *path_join(const char *a, const char *b) {
        char *p;

        /* b is a cgroup path starting with '/', or a name; "/" alone adds nothing. */
        if (streq(b, "/"))
                b = "";
        if (asprintf(&p, "%s%s%s", a, b[0] == '/' || !b[0] ? "" : "/", b) < 0)
                return NULL;
        return p;
}

/* Whether the space-separated list in file dir/name contains word. */
static bool file_lists(const char *dir, const char *name, const char *word) {
        _cleanup_free_ char *s = NULL;
        size_t n, wl = strlen(word);

        if (cgroup_read(dir, name, &s, &n) < 0)
                return false;
        for (char *p = s; (p = strstr(p, word)); p += wl)
                if ((p == s || p[-1] == ' ') && (p[wl] == ' ' || p[wl] == '\n' || !p[wl]))
                        return true;
        return false;
}

static int make_dir(const char *p) {
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
                return negative_errno();
        return 0;
}

/* ---- cgroup v1 memory controller ------------------------------------------------------- */

static int probe_v1(const char *cgroupfs, const char *self, const char *subtree, Containment *c) {
        _cleanup_free_ char *hier = NULL, *own = NULL, *base = NULL, *dir = NULL;
        int r;

        hier = path_join(cgroupfs, "memory");
        if (!hier)
                return -ENOMEM;
        if (!file_exists(hier, "memory.limit_in_bytes")) {
                containment_set_error(
                        &c->reason, "the cgroup v1 memory controller is not mounted at '%s'", hier);
                return 0;
        }
        r = cgroup_path_parse(self, strlen(self), "memory", &own);
        if (r < 0) {
                containment_set_error(&c->reason, "the daemon's memory cgroup is unknown (%s)",
                                      strerror(-r));
                return r == -ENOMEM ? r : 0;
        }
        if (asprintf(&base, "%s%s%s", streq(own, "/") ? "" : own, "/", subtree) < 0)
                return -ENOMEM;
        dir = path_join(hier, base);
        if (!dir)
                return -ENOMEM;
        r = make_dir(dir);
        if (r < 0) {
                containment_set_error(&c->reason,
                                      "cannot create '%s' in the v1 memory controller: %s", dir,
                                      strerror(-r));
                return 0;
        }
        c->backend = CONTAINMENT_CGROUP1;
        c->hierarchy = TAKE_PTR(hier);
        c->base = TAKE_PTR(base);
        return 0;
}

/* ---- cgroup v2 ------------------------------------------------------------------------- */

/* The daemon needs the memory controller enabled for its workloads' cgroups, which a cgroup
 * v2 only allows in a cgroup without processes ("no internal processes"). Like a delegated
 * systemd service (Delegate=yes), the daemon moves itself into a leaf "supervisor" of its own
 * cgroup first, but only when that cgroup holds nothing but the daemon: never other processes
 * of someone else's cgroup. */
static int probe_v2(const char *cgroupfs, const char *self, const char *subtree, Containment *c) {
        _cleanup_free_ char *hier = NULL, *own = NULL, *owndir = NULL, *base = NULL, *dir = NULL,
                            *procs = NULL, *sup = NULL;
        size_t n;
        int r;

        hier = path_join(cgroupfs, "unified");
        if (!hier)
                return -ENOMEM;
        if (!file_exists(hier, "cgroup.controllers")) {
                free(hier);
                hier = strdup(cgroupfs);
                if (!hier)
                        return -ENOMEM;
                if (!file_exists(hier, "cgroup.controllers")) {
                        containment_set_error(&c->reason, "no cgroup v2 hierarchy at '%s'",
                                              cgroupfs);
                        return 0;
                }
        }
        r = cgroup_path_parse(self, strlen(self), NULL, &own);
        if (r < 0) {
                containment_set_error(&c->reason, "the daemon's cgroup v2 is unknown (%s)",
                                      strerror(-r));
                return r == -ENOMEM ? r : 0;
        }
        owndir = path_join(hier, own);
        if (!owndir)
                return -ENOMEM;
        if (!file_lists(owndir, "cgroup.controllers", "memory")) {
                containment_set_error(
                        &c->reason,
                        "the memory controller is not available in the daemon's cgroup v2 "
                        "'%s' (give mlockd a delegated cgroup: Delegate=yes)",
                        own);
                return 0;
        }
        if (!file_lists(owndir, "cgroup.subtree_control", "memory")) {
                r = cgroup_write(owndir, "cgroup.subtree_control", "+memory");
                if (r == -EBUSY) {
                        /* Processes in our cgroup: move ourselves out, if we are alone. */
                        pid_t self_pid = getpid();
                        char me[24];

                        r = cgroup_read(owndir, "cgroup.procs", &procs, &n);
                        if (r < 0)
                                goto cannot;
                        (void) snprintf(me, sizeof(me), "%d\n", (int) self_pid);
                        if (!streq(procs, me)) {
                                containment_set_error(
                                        &c->reason,
                                        "the daemon's cgroup v2 '%s' holds other processes; "
                                        "give mlockd a cgroup of its own (Delegate=yes)",
                                        own);
                                return 0;
                        }
                        sup = path_join(owndir, "supervisor");
                        if (!sup)
                                return -ENOMEM;
                        r = make_dir(sup);
                        if (r >= 0)
                                r = cgroup_write(sup, "cgroup.procs", "0");
                        if (r >= 0)
                                r = cgroup_write(owndir, "cgroup.subtree_control", "+memory");
                }
                if (r < 0)
                        goto cannot;
        }
        if (asprintf(&base, "%s/%s", streq(own, "/") ? "" : own, subtree) < 0)
                return -ENOMEM;
        dir = path_join(hier, base);
        if (!dir)
                return -ENOMEM;
        r = make_dir(dir);
        if (r >= 0 && !file_lists(dir, "cgroup.subtree_control", "memory"))
                r = cgroup_write(dir, "cgroup.subtree_control", "+memory");
        if (r < 0)
                goto cannot;
        c->backend = CONTAINMENT_CGROUP2;
        c->hierarchy = TAKE_PTR(hier);
        c->base = TAKE_PTR(base);
        return 0;
cannot:
        containment_set_error(&c->reason, "cannot delegate the memory controller below '%s': %s",
                              own, strerror(-r));
        return 0;
}

/* ---- set-up ------------------------------------------------------------------------------ */

int containment_setup(const ContainmentSettings *s, Containment *ret) {
        static const ContainmentSettings defaults = { .only = _CONTAINMENT_BACKEND_INVALID };
        _cleanup_free_ char *self_buf = NULL, *why_scope = NULL, *why_v2 = NULL;
        const char *cgroupfs, *self, *subtree;
        Containment c = { .backend = CONTAINMENT_NONE };
        size_t n;
        int r;

        if (!s)
                s = &defaults;
        /* Compiled now, before any launch child is forked: a child forked before the decision
         * (the asynchronous launch) finds both in its copy of the daemon's memory. */
        for (int k = 0; k < 2; k++) {
                r = seccomp_workload_compile(k, &c.seccomp[k]);
                if (r < 0) {
                        containment_done(&c);
                        return r;
                }
        }
        cgroupfs = s->cgroupfs ?: "/sys/fs/cgroup";
        subtree = s->subtree ?: "mlockd";
        c.allowance = s->allowance ?: CONTAINMENT_ALLOWANCE;
        self = s->self_cgroup;
        if (!self) {
                r = read_file_at(AT_FDCWD, "/proc/self/cgroup", CGROUP_FILE_MAX, &self_buf, &n);
                if (r < 0)
                        return r;
                self = self_buf;
        }

        if ((s->only < 0 && s->try_scope) || s->only == CONTAINMENT_SCOPE) {
                r = containment_scope_new(s->systemd_private, NULL, &c.scope, &why_scope);
                if (r >= 0) {
                        c.backend = CONTAINMENT_SCOPE;
                        c.hierarchy = path_join(
                                cgroupfs,
                                file_exists(cgroupfs, "cgroup.controllers") ? "/" : "memory");
                        c.scope_v1 = !file_exists(cgroupfs, "cgroup.controllers");
                        if (!c.hierarchy) {
                                containment_done(&c);
                                return -ENOMEM;
                        }
                        *ret = c;
                        return 0;
                }
        }
        if (s->only < 0 || s->only == CONTAINMENT_CGROUP2) {
                r = probe_v2(cgroupfs, self, subtree, &c);
                if (r < 0)
                        goto fail;
                if (c.backend != CONTAINMENT_NONE)
                        goto done;
                why_v2 = TAKE_PTR(c.reason);
        }
        if (s->only < 0 || s->only == CONTAINMENT_CGROUP1) {
                r = probe_v1(cgroupfs, self, subtree, &c);
                if (r < 0)
                        goto fail;
                if (c.backend != CONTAINMENT_NONE)
                        goto done;
        }
        {
                /* None: say why, for each candidate. */
                _cleanup_free_ char *v1 = TAKE_PTR(c.reason);
                const char *parts[3] = { why_scope, why_v2, v1 };
                size_t len = 1;
                for (size_t i = 0; i < 3; i++)
                        len += parts[i] ? strlen(parts[i]) + 2 : 0;
                c.reason = calloc(1, len);
                if (!c.reason) {
                        r = -ENOMEM;
                        goto fail;
                }
                for (size_t i = 0; i < 3; i++)
                        if (parts[i]) {
                                if (c.reason[0])
                                        strcat(c.reason, "; ");
                                strcat(c.reason, parts[i]);
                        }
        }
done:
        *ret = c;
        return 0;
fail:
        containment_done(&c);
        return r;
}

void containment_done(Containment *c) {
        if (!c)
                return;
        if (c->hierarchy && c->base && c->backend != CONTAINMENT_SCOPE) {
                _cleanup_free_ char *dir = path_join(c->hierarchy, c->base);
                /* Fails while workload cgroups (or another instance's) remain: fine. */
                if (dir)
                        (void) rmdir(dir);
        }
        c->scope = containment_scope_free(c->scope);
        seccomp_program_done(&c->seccomp[0]);
        seccomp_program_done(&c->seccomp[1]);
        free(c->hierarchy);
        free(c->base);
        free(c->reason);
        *c = (Containment){ .backend = CONTAINMENT_NONE };
}

char *containment_describe(const Containment *c) {
        char *s = NULL;
        int k;

        switch (c->backend) {
        case CONTAINMENT_SCOPE:
                k = asprintf(&s, "transient systemd scopes (MemoryMax=), limit + %s allowance",
                             FORMAT_BYTES(c->allowance));
                break;
        case CONTAINMENT_CGROUP2:
        case CONTAINMENT_CGROUP1:
                k = asprintf(&s, "%s under %s (%s%s, limit + %s allowance)",
                             containment_backend_to_string(c->backend), c->base, c->hierarchy,
                             c->base, FORMAT_BYTES(c->allowance));
                break;
        default:
                k = asprintf(&s, "none: %s", strna(c->reason));
        }
        return k < 0 ? NULL : s;
}

/* ---- workload cgroups -------------------------------------------------------------------- */

void containment_cgroup_done(ContainmentCgroup *cg) {
        if (!cg)
                return;
        free(cg->dir);
        free(cg->label);
        free(cg->unit);
        *cg = (ContainmentCgroup){ .backend = CONTAINMENT_NONE };
}

static uint64_t bound_of(const Containment *c, uint64_t limit) {
        if (limit == SIZE_INFINITY || limit > UINT64_MAX - c->allowance)
                return UINT64_MAX;
        return limit + c->allowance;
}

int containment_cgroup_new(Containment *c, uint64_t id, uint64_t limit, ContainmentCgroup *ret,
                           char **ret_error) {
        _cleanup_(containment_cgroup_done) ContainmentCgroup cg = {};
        _cleanup_free_ char *rel = NULL;
        int r = -EEXIST;

        cg.backend = c->backend;
        cg.bound = bound_of(c, limit);
        switch (c->backend) {
        case CONTAINMENT_SCOPE:
                if (asprintf(&cg.unit, "mlock-%" PRIu64 ".scope", id) < 0 ||
                    asprintf(&cg.label, "scope:%s", cg.unit) < 0)
                        return -ENOMEM;
                cg.v1_files = c->scope_v1;
                *ret = cg;
                cg = (ContainmentCgroup){};
                return 0;
        case CONTAINMENT_CGROUP1:
        case CONTAINMENT_CGROUP2:
                break;
        default:
                containment_set_error(ret_error, "no containment is available: %s",
                                      strna(c->reason));
                return -EOPNOTSUPP;
        }

        cg.v1_files = c->backend == CONTAINMENT_CGROUP1;
        /* A directory of that name is left over from an earlier daemon of this subtree: reuse it
         * when empty; one with processes (another instance's workload) is never touched. */
        for (unsigned k = 0; k < 8 && r == -EEXIST; k++) {
                free(rel);
                free(cg.dir);
                cg.dir = NULL;
                if ((k == 0 ? asprintf(&rel, "%s/workload-%" PRIu64, c->base, id)
                            : asprintf(&rel, "%s/workload-%" PRIu64 "-%u", c->base, id, k)) < 0)
                        return -ENOMEM;
                cg.dir = path_join(c->hierarchy, rel);
                if (!cg.dir)
                        return -ENOMEM;
                r = mkdir(cg.dir, 0755) < 0 ? negative_errno() : 0;
                if (r == -EEXIST && cgroup_is_populated(cg.dir) == 0 && rmdir(cg.dir) >= 0)
                        r = mkdir(cg.dir, 0755) < 0 ? negative_errno() : 0;
        }
        if (r < 0) {
                containment_set_error(ret_error, "Failed to create the cgroup '%s': %s", cg.dir,
                                      strerror(-r));
                free(cg.dir);
                cg.dir = NULL;
                return r;
        }
        r = cgroup_write_u64(cg.dir, cg.v1_files ? "memory.limit_in_bytes" : "memory.max",
                             cg.bound == UINT64_MAX && cg.v1_files ? (uint64_t) -1 : cg.bound);
        if (r == -EINVAL && cg.v1_files && cg.bound == UINT64_MAX)
                r = cgroup_write(cg.dir, "memory.limit_in_bytes", "-1");
        if (r < 0) {
                containment_set_error(ret_error, "Failed to bound the cgroup '%s' at %s: %s",
                                      cg.dir, FORMAT_BYTES(cg.bound), strerror(-r));
                (void) rmdir(cg.dir);
                return r;
        }
        if (asprintf(&cg.label, "%s:%s", containment_backend_to_string(c->backend), rel) < 0) {
                (void) rmdir(cg.dir);
                return -ENOMEM;
        }
        *ret = cg;
        cg = (ContainmentCgroup){};
        return 0;
}

int containment_cgroup_remove(ContainmentCgroup *cg) {
        if (cg->backend == CONTAINMENT_SCOPE || !cg->dir)
                return 0; /* systemd collects a scope when its last process is gone */
        if (rmdir(cg->dir) < 0) {
                if (errno == ENOENT)
                        return 0;
                return negative_errno();
        }
        return 0;
}

int containment_cgroup_move(Containment *c, ContainmentCgroup *cg, pid_t pid, char **ret_error) {
        char buf[24];
        int r;

        if (cg->backend == CONTAINMENT_SCOPE)
                return containment_scope_start(c->scope, c->hierarchy, c->scope_v1, cg, pid,
                                               ret_error);
        if (!cg->dir)
                return -EINVAL;
        if (cg->v1_files)
                /* Deprecated, but the one way to bring the pages it already has along. */
                (void) cgroup_write(cg->dir, "memory.move_charge_at_immigrate", "3");
        (void) snprintf(buf, sizeof(buf), "%d", (int) pid);
        r = cgroup_write(cg->dir, "cgroup.procs", buf);
        if (r < 0)
                containment_set_error(ret_error, "Failed to move pid %d into '%s': %s", (int) pid,
                                      cg->dir, strerror(-r));
        return r;
}

int containment_cgroup_read_locked(const ContainmentCgroup *cg, uint64_t *ret) {
        uint64_t v = 0;
        int r;

        if (!cg->dir)
                return -ENOENT;
        /* As containment_cgroup_read() does. */
        r = cgroup_read_keyed(cg->dir, "memory.stat",
                              cg->v1_files ? "total_unevictable" : "unevictable", &v);
        if (r < 0 && cg->v1_files)
                r = cgroup_read_keyed(cg->dir, "memory.stat", "unevictable", &v);
        if (r < 0)
                return r;
        *ret = v;
        return 0;
}

int containment_cgroup_read(const ContainmentCgroup *cg, ContainmentUsage *ret) {
        ContainmentUsage u = {};
        int r;

        if (!cg->dir)
                return -ENOENT;
        r = cgroup_read_u64(cg->dir, cg->v1_files ? "memory.usage_in_bytes" : "memory.current",
                            &u.current);
        if (r < 0)
                return r;
        /* v1 "total_unevictable" includes child cgroups, which a workload cannot create
         * (cgroupfs is root's), so "unevictable" is the same; read the total anyway. */
        if (cg->v1_files) {
                if (cgroup_read_keyed(cg->dir, "memory.stat", "total_unevictable", &u.unevictable) <
                    0)
                        (void) cgroup_read_keyed(cg->dir, "memory.stat", "unevictable",
                                                 &u.unevictable);
                (void) cgroup_read_u64(cg->dir, "memory.failcnt", &u.limit_hits);
                (void) cgroup_read_keyed(cg->dir, "memory.oom_control", "oom_kill", &u.oom_kills);
        } else {
                (void) cgroup_read_keyed(cg->dir, "memory.stat", "unevictable", &u.unevictable);
                (void) cgroup_read_keyed(cg->dir, "memory.events", "max", &u.limit_hits);
                (void) cgroup_read_keyed(cg->dir, "memory.events", "oom_kill", &u.oom_kills);
        }
        *ret = u;
        return 0;
}

int containment_cgroup_watch(const ContainmentCgroup *cg, int *ret_fd) {
        _cleanup_close_ int fd = -EBADF, ofd = -EBADF;
        _cleanup_free_ char *p = NULL;
        char buf[64];
        int r;

        if (!cg->dir)
                return -ENOENT;
        if (!cg->v1_files) {
                fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
                if (fd < 0)
                        return negative_errno();
                p = path_join(cg->dir, "memory.events");
                if (!p)
                        return -ENOMEM;
                if (inotify_add_watch(fd, p, IN_MODIFY) < 0)
                        return negative_errno();
                *ret_fd = TAKE_FD(fd);
                return 0;
        }
        fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (fd < 0)
                return negative_errno();
        p = path_join(cg->dir, "memory.oom_control");
        if (!p)
                return -ENOMEM;
        ofd = open(p, O_RDONLY | O_CLOEXEC);
        if (ofd < 0)
                return negative_errno();
        /* The registration lives until the eventfd is closed or the cgroup removed. */
        (void) snprintf(buf, sizeof(buf), "%d %d", fd, ofd);
        r = cgroup_write(cg->dir, "cgroup.event_control", buf);
        if (r < 0)
                return r;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

void containment_watch_drain(int fd) {
        char buf[4096];

        while (read(fd, buf, sizeof(buf)) > 0)
                ;
}

/* ---- the launch child -------------------------------------------------------------------- */

int containment_child_prepare(Containment *c, const ContainmentCgroup *cg, bool seccomp,
                              bool allow_ambient_raise, ContainmentChild *ret) {
        ContainmentChild cc = CONTAINMENT_CHILD_NULL;

        if (seccomp) {
                cc.seccomp = containment_seccomp_program(c, allow_ambient_raise);
                if (!cc.seccomp)
                        return -EINVAL;
        }
        if (cg && cg->backend != CONTAINMENT_SCOPE && cg->dir) {
                _cleanup_free_ char *p = path_join(
                        cg->dir, cg->backend == CONTAINMENT_CGROUP1 ? "tasks" : "cgroup.procs");
                if (!p)
                        return -ENOMEM;
                /* Opened here, as root: the kernel checks a write to these files against the
                 * credentials of whoever opened them, so the child can join after it took the
                 * caller's uid (cgroup.procs: Linux >= 5.16). */
                cc.join_fd = open(p, O_WRONLY | O_CLOEXEC);
                if (cc.join_fd < 0)
                        return negative_errno();
        }
        *ret = cc;
        return 0;
}

void containment_child_done(ContainmentChild *cc) {
        if (!cc)
                return;
        safe_close(cc->join_fd);
        *cc = CONTAINMENT_CHILD_NULL;
}

const SeccompProgram *containment_seccomp_program(const Containment *c, bool allow_ambient_raise) {
        const SeccompProgram *p = &c->seccomp[allow_ambient_raise ? 1 : 0];
        return p->insns ? p : NULL;
}

int containment_child_join(const ContainmentChild *cc) {
        /* "0" is the writer itself. */
        if (cc->join_fd >= 0 && write(cc->join_fd, "0", 1) != 1)
                return errno > 0 ? -errno : -EIO;
        return 0;
}

int containment_child_confine(const ContainmentChild *cc) {
        if (!cc->seccomp)
                return 0;
        return seccomp_workload_load(cc->seccomp);
}

int containment_pid_managed(const Containment *c, pid_t pid, char **ret_owner) {
        _cleanup_free_ char *buf = NULL, *path = NULL, *p = NULL;
        size_t n;
        int r;

        if (asprintf(&p, "/proc/%d/cgroup", (int) pid) < 0)
                return -ENOMEM;
        r = read_file_at(AT_FDCWD, p, CGROUP_FILE_MAX, &buf, &n);
        if (r < 0)
                return r;
        /* Any hierarchy that names a unit or a guest counts: the v1 memory one, the named
         * systemd one, and the unified one. */
        {
                static const char *const which[] = { "memory", "name=systemd", NULL };
                for (size_t i = 0; i < ELEMENTSOF(which); i++) {
                        free(path);
                        path = NULL;
                        r = cgroup_path_parse(buf, n, which[i], &path);
                        if (r == -ENOMEM)
                                return r;
                        if (r < 0)
                                continue;
                        r = cgroup_path_is_managed(path, ret_owner);
                        if (r != 0)
                                return r;
                }
        }
        return 0;
}
