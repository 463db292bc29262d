/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "daemon/containment/containment-scope.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>

#include "common/macro.h"
#include "common/proc.h"
#include "daemon/containment/cgroup-util.h"

struct ContainmentScope {
        sd_bus *bus;
};

typedef struct JobWait {
        const char *unit;
        char *result; /* JobRemoved's result for unit, once seen */
} JobWait;

static uint64_t now_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

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

ContainmentScope *containment_scope_free(ContainmentScope *s) {
        if (!s)
                return NULL;
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

int containment_scope_start(ContainmentScope *s, const char *hierarchy, bool v1,
                            ContainmentCgroup *cg, pid_t pid, char **ret_error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        _cleanup_free_ char *text = NULL, *path = NULL, *procfile = NULL;
        JobWait w = { .unit = cg->unit };
        uint64_t deadline = now_usec() + CONTAINMENT_SCOPE_TIMEOUT_USEC;
        size_t n;
        int r;

        if (!s || !cg->unit)
                return -EINVAL;
        /* Listen before asking: the job may finish before the reply is read. */
        r = sd_bus_match_signal(s->bus, &slot, NULL, "/org/freedesktop/systemd1",
                                "org.freedesktop.systemd1.Manager", "JobRemoved", on_job_removed,
                                &w);
        if (r < 0)
                goto fail;
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
                goto fail;
        r = sd_bus_call(s->bus, m, CONTAINMENT_SCOPE_TIMEOUT_USEC, &e, &reply);
        if (r < 0) {
                containment_set_error(ret_error, "systemd refused the scope '%s': %s", cg->unit,
                                      e.message ?: strerror(-r));
                return r;
        }
        while (!w.result) {
                uint64_t t = now_usec();

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

        /* Where systemd put it: the scope's directory in the hierarchy we read. */
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
fail:
        containment_set_error(ret_error, "Failed to talk to systemd about the scope '%s': %s",
                              cg->unit, strerror(-r));
        return r;
}
