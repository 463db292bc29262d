/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "daemon/containment/containment-scope.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "common/macro.h"
#include "common/time-util.h"
#include "common/proc.h"
#include "daemon/containment/cgroup-util.h"

struct ContainmentScope {
        sd_bus *bus;
        sd_event *event; /* attached: the asynchronous starts run in this loop */
        sd_bus_slot *job_removed; /* the one JobRemoved match of the asynchronous starts */
        ContainmentScopeStart *starts; /* in flight */
};

/* One asynchronous start: the StartTransientUnit call, then its job's JobRemoved. */
struct ContainmentScopeStart {
        ContainmentScope *scope;
        ContainmentScopeStart *prev, *next;
        ContainmentCgroup *cg; /* the caller's, alive until done or cancel */
        char *hierarchy;
        bool v1;
        pid_t pid;
        bool replied; /* StartTransientUnit answered */
        char *result; /* JobRemoved's result for the unit, once seen */
        sd_bus_slot *call;
        sd_event_source *deadline;
        ContainmentScopeDone done;
        void *userdata;
};

typedef struct JobWait {
        const char *unit;
        char *result; /* JobRemoved's result for unit, once seen */
} JobWait;

int containment_scope_new(const char *private_socket, sd_bus *bus, ContainmentScope **ret,
                          char **ret_error) {
        _cleanup_free_ char *address = NULL;
        ContainmentScope *s;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        if (bus) {
                s->bus = sd_bus_ref(bus);
                *ret = s;
                return 0;
        }
        if (!private_socket)
                private_socket = "/run/systemd/private";
        if (asprintf(&address, "unix:path=%s", private_socket) < 0) {
                free(s);
                return -ENOMEM;
        }
        r = sd_bus_new(&s->bus);
        if (r >= 0)
                r = sd_bus_set_address(s->bus, address);
        if (r >= 0)
                r = sd_bus_start(s->bus);
        if (r < 0) {
                containment_set_error(ret_error, "cannot connect to systemd at '%s': %s",
                                      private_socket, strerror(-r));
                containment_scope_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

static void start_free(ContainmentScopeStart *op) {
        ContainmentScope *s = op->scope;

        if (op->prev)
                op->prev->next = op->next;
        else if (s->starts == op)
                s->starts = op->next;
        if (op->next)
                op->next->prev = op->prev;
        sd_bus_slot_unref(op->call);
        sd_event_source_disable_unref(op->deadline);
        free(op->hierarchy);
        free(op->result);
        free(op);
}

ContainmentScope *containment_scope_free(ContainmentScope *s) {
        if (!s)
                return NULL;
        while (s->starts)
                start_free(s->starts);
        sd_bus_slot_unref(s->job_removed);
        if (s->event)
                (void) sd_bus_detach_event(s->bus);
        sd_event_unref(s->event);
        sd_bus_flush_close_unref(s->bus);
        free(s);
        return NULL;
}

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        JobWait *w = userdata;
        const char *job, *unit, *result;
        uint32_t id;

        if (sd_bus_message_read(m, "uoss", &id, &job, &unit, &result) < 0)
                return 0;
        if (streq(unit, w->unit) && !w->result)
                w->result = strdup(result);
        return 0;
}

static int append_properties(sd_bus_message *m, const ContainmentCgroup *cg, pid_t pid) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)", "Description", "s",
                                          "mlockd workload (locked memory bounded by MemoryMax=)");
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)", "PIDs", "au", 1, (uint32_t) pid);
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)", "MemoryAccounting", "b", 1);
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)", "MemoryMax", "t", cg->bound);
        /* Gone from systemd's tables as soon as its last process is, even after a failure. */
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)", "CollectMode", "s", "inactive-or-failed");
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

/* Where systemd put pid: the scope's directory in the hierarchy we read (cg->dir). */
static int scope_find_dir(const char *hierarchy, bool v1, ContainmentCgroup *cg, pid_t pid,
                          char **ret_error) {
        _cleanup_free_ char *text = NULL, *path = NULL, *procfile = NULL;
        size_t n;
        int r;

        if (asprintf(&procfile, "/proc/%d/cgroup", (int) pid) < 0)
                return -ENOMEM;
        r = read_file_at(AT_FDCWD, procfile, CGROUP_FILE_MAX, &text, &n);
        if (r >= 0)
                r = cgroup_path_parse(text, n, v1 ? "memory" : NULL, &path);
        if (r < 0) {
                containment_set_error(ret_error, "cannot find the cgroup of scope '%s': %s",
                                      cg->unit, strerror(-r));
                return r;
        }
        free(cg->dir);
        if (asprintf(&cg->dir, "%s%s", hierarchy, path) < 0) {
                cg->dir = NULL;
                return -ENOMEM;
        }
        return 0;
}

static int new_start_call(ContainmentScope *s, const ContainmentCgroup *cg, pid_t pid,
                          sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(
                s->bus, &m, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                "org.freedesktop.systemd1.Manager", "StartTransientUnit");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", cg->unit, "fail");
        if (r >= 0)
                r = append_properties(m, cg, pid);
        if (r >= 0)
                r = sd_bus_message_append(m, "a(sa(sv))", 0);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

int containment_scope_start(ContainmentScope *s, const char *hierarchy, bool v1,
                            ContainmentCgroup *cg, pid_t pid, char **ret_error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        JobWait w = { .unit = cg->unit };
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + CONTAINMENT_SCOPE_TIMEOUT_USEC;
        int r;

        if (!s || !cg->unit)
                return -EINVAL;
        /* Listen before asking: the job may finish before the reply is read. */
        r = sd_bus_match_signal(s->bus, &slot, NULL, "/org/freedesktop/systemd1",
                                "org.freedesktop.systemd1.Manager", "JobRemoved", on_job_removed,
                                &w);
        if (r < 0)
                goto fail;
        r = new_start_call(s, cg, pid, &m);
        if (r < 0)
                goto fail;
        r = sd_bus_call(s->bus, m, CONTAINMENT_SCOPE_TIMEOUT_USEC, &e, &reply);
        if (r < 0) {
                containment_set_error(ret_error, "systemd refused the scope '%s': %s", cg->unit,
                                      e.message ?: strerror(-r));
                return r;
        }
        while (!w.result) {
                uint64_t t = now_usec(CLOCK_MONOTONIC);

                if (t >= deadline) {
                        containment_set_error(
                                ret_error, "systemd did not start the scope '%s' within %llu s",
                                cg->unit,
                                (unsigned long long) (CONTAINMENT_SCOPE_TIMEOUT_USEC / 1000000));
                        return -ETIMEDOUT;
                }
                r = sd_bus_process(s->bus, NULL);
                if (r < 0)
                        goto fail;
                if (r > 0)
                        continue;
                r = sd_bus_wait(s->bus, deadline - t);
                if (r < 0)
                        goto fail;
        }
        if (!streq(w.result, "done")) {
                containment_set_error(ret_error, "systemd could not start the scope '%s': job %s",
                                      cg->unit, w.result);
                free(w.result);
                return -EIO;
        }
        free(w.result);
        return scope_find_dir(hierarchy, v1, cg, pid, ret_error);
fail:
        containment_set_error(ret_error, "Failed to talk to systemd about the scope '%s': %s",
                              cg->unit, strerror(-r));
        return r;
}

/* ---- asynchronous: in the daemon's loop ------------------------------------------------------ */

int containment_scope_attach_event(ContainmentScope *s, sd_event *event) {
        int r;

        if (!s || !event)
                return -EINVAL;
        if (s->event)
                return 0;
        r = sd_bus_attach_event(s->bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;
        s->event = sd_event_ref(event);
        return 0;
}

/* Calls op's done once and frees op: the callback may start another. */
static void start_finish(ContainmentScopeStart *op, int error, const char *message) {
        ContainmentScopeDone done = op->done;
        void *userdata = op->userdata;
        _cleanup_free_ char *text = message ? strdup(message) : NULL;

        start_free(op);
        done(error, text, userdata);
}

static void start_complete(ContainmentScopeStart *op) {
        _cleanup_free_ char *err = NULL;
        int r;

        if (!streq(op->result, "done")) {
                if (asprintf(&err, "systemd could not start the scope '%s': job %s", op->cg->unit,
                             op->result) < 0)
                        err = NULL;
                return start_finish(op, -EIO, err);
        }
        r = scope_find_dir(op->hierarchy, op->v1, op->cg, op->pid, &err);
        start_finish(op, r < 0 ? r : 0, err);
}

static int on_start_reply(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        ContainmentScopeStart *op = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        _cleanup_free_ char *err = NULL;

        op->call = sd_bus_slot_unref(op->call);
        if (e) {
                if (asprintf(&err, "systemd refused the scope '%s': %s", op->cg->unit,
                             e->message ?: e->name) < 0)
                        err = NULL;
                start_finish(op, -sd_bus_message_get_errno(m) ?: -EIO, err);
                return 0;
        }
        op->replied = true;
        if (op->result)
                start_complete(op);
        return 0;
}

static int on_start_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        ContainmentScope *s = userdata;
        const char *job, *unit, *result;
        uint32_t id;

        if (sd_bus_message_read(m, "uoss", &id, &job, &unit, &result) < 0)
                return 0;
        for (ContainmentScopeStart *op = s->starts; op; op = op->next) {
                if (!streq(op->cg->unit, unit) || op->result)
                        continue;
                op->result = strdup(result);
                if (!op->result)
                        start_finish(op, -ENOMEM, "Out of memory.");
                else if (op->replied)
                        start_complete(op);
                break;
        }
        return 0;
}

static int on_start_deadline(sd_event_source *source, uint64_t usec, void *userdata) {
        ContainmentScopeStart *op = userdata;
        _cleanup_free_ char *err = NULL;

        if (asprintf(&err, "systemd did not start the scope '%s' within %llu s", op->cg->unit,
                     (unsigned long long) (CONTAINMENT_SCOPE_TIMEOUT_USEC / 1000000)) < 0)
                err = NULL;
        start_finish(op, -ETIMEDOUT, err);
        return 0;
}

int containment_scope_start_async(ContainmentScope *s, const char *hierarchy, bool v1,
                                  ContainmentCgroup *cg, pid_t pid, ContainmentScopeDone done,
                                  void *userdata, ContainmentScopeStart **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        ContainmentScopeStart *op;
        int r;

        if (!s || !s->event || !cg->unit || !done || !ret)
                return -EINVAL;
        /* Listen before asking: the job may finish before the reply is read. */
        if (!s->job_removed) {
                r = sd_bus_match_signal(s->bus, &s->job_removed, NULL, "/org/freedesktop/systemd1",
                                        "org.freedesktop.systemd1.Manager", "JobRemoved",
                                        on_start_job_removed, s);
                if (r < 0)
                        return r;
        }
        r = new_start_call(s, cg, pid, &m);
        if (r < 0)
                return r;
        op = calloc(1, sizeof(*op));
        if (!op)
                return -ENOMEM;
        *op = (ContainmentScopeStart){
                .scope = s,
                .cg = cg,
                .hierarchy = strdup(hierarchy),
                .v1 = v1,
                .pid = pid,
                .done = done,
                .userdata = userdata,
                .next = s->starts,
        };
        if (s->starts)
                s->starts->prev = op;
        s->starts = op;
        if (!op->hierarchy) {
                start_free(op);
                return -ENOMEM;
        }
        r = sd_bus_call_async(s->bus, &op->call, m, on_start_reply, op,
                              CONTAINMENT_SCOPE_TIMEOUT_USEC);
        if (r >= 0)
                r = sd_event_add_time_relative(s->event, &op->deadline, CLOCK_MONOTONIC,
                                               CONTAINMENT_SCOPE_TIMEOUT_USEC, 0, on_start_deadline,
                                               op);
        if (r < 0) {
                start_free(op);
                return r;
        }
        *ret = op;
        return 0;
}

ContainmentScopeStart *containment_scope_start_cancel(ContainmentScopeStart *op) {
        if (op)
                start_free(op);
        return NULL;
}
