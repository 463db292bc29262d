/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.mlockd1.Workload objects at /org/mlockd1/workload/<id>. Status properties are read
 * from /proc when asked; nothing polls. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "common/proc.h"
#include "common/process-util.h"
#include "daemon/core/manager.h"

int bus_workload_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                      void **ret_found, sd_bus_error *error) {
        Manager *m = userdata;
        Workload *w = workload_table_find_path(&m->workloads, path);

        if (!w)
                return 0;
        *ret_found = w;
        return 1;
}

int bus_workload_enumerate(sd_bus *bus, const char *path, void *userdata, char ***ret_nodes,
                           sd_bus_error *error) {
        Manager *m = userdata;
        char **l;
        size_t i = 0;

        l = calloc(m->workloads.n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (Workload *w = m->workloads.head; w; w = w->next) {
                l[i] = strdup(w->path);
                if (!l[i]) {
                        strv_free(l);
                        return -ENOMEM;
                }
                i++;
        }
        *ret_nodes = l;
        return 0;
}

/* Status of a live workload, read through /proc/PID and checked against the pidfd afterwards
 * (a pid reused after the exit must not lend its numbers). Zeroes when gone. Read once per
 * loop iteration: the properties of one GetAll (or of many calls answered together) share it. */
static void workload_read_proc(Workload *w, ProcStatus *ret_status, ProcStat *ret_stat) {
        _cleanup_close_ int dfd = -EBADF;
        uint64_t now = 0;
        pid_t pid;

        if (w->manager && sd_event_now(w->manager->event, CLOCK_MONOTONIC, &now) >= 0 && now != 0 &&
            now == w->proc_read_at)
                goto done;

        w->proc_status = (ProcStatus){ .vm_lck = 0, .vm_rss = 0, .vm_swap = 0, .vm_pin = 0 };
        w->proc_stat = (ProcStat){};
        w->proc_read_at = now;
        if (!workload_is_live(w) || w->pidfd < 0)
                goto done;
        dfd = proc_open(w->ident.pid);
        if (dfd < 0)
                goto done;
        if (proc_status_read(dfd, &w->proc_status) < 0)
                w->proc_status = (ProcStatus){};
        if (proc_stat_read(dfd, &w->proc_stat) < 0)
                w->proc_stat = (ProcStat){};
        if (pidfd_get_pid(w->pidfd, &pid) < 0 || pid != w->ident.pid) {
                w->proc_status = (ProcStatus){};
                w->proc_stat = (ProcStat){};
        }
done:
        if (ret_status)
                *ret_status = w->proc_status;
        if (ret_stat)
                *ret_stat = w->proc_stat;
}

static uint64_t unset0(uint64_t v) {
        return v == PROC_UNSET ? 0 : v;
}

static int property_status(sd_bus *bus, const char *path, const char *interface,
                           const char *property, sd_bus_message *reply, void *userdata,
                           sd_bus_error *error) {
        Workload *w = userdata;
        ProcStatus st;
        uint64_t v;

        workload_read_proc(w, &st, NULL);
        if (streq(property, "LockedBytes"))
                v = st.vm_lck;
        else if (streq(property, "ResidentBytes"))
                v = st.vm_rss;
        else if (streq(property, "SwapBytes"))
                v = st.vm_swap;
        else
                v = st.vm_pin;
        return sd_bus_message_append(reply, "t", unset0(v));
}

static int property_faults(sd_bus *bus, const char *path, const char *interface,
                           const char *property, sd_bus_message *reply, void *userdata,
                           sd_bus_error *error) {
        Workload *w = userdata;
        ProcStat st;

        workload_read_proc(w, NULL, &st);
        return sd_bus_message_append(reply, "t",
                                     streq(property, "MajorFaults") ? st.majflt : st.minflt);
}

static int property_string(sd_bus *bus, const char *path, const char *interface,
                           const char *property, sd_bus_message *reply, void *userdata,
                           sd_bus_error *error) {
        Workload *w = userdata;
        const char *s = NULL;

        if (streq(property, "Id"))
                s = w->id_str;
        else if (streq(property, "Name"))
                s = w->name;
        else if (streq(property, "Policy"))
                s = w->policy;
        else if (streq(property, "Mode"))
                s = lock_mode_to_string(w->settings.mode);
        else if (streq(property, "Mechanism"))
                s = mechanism_to_string(w->mechanism);
        else if (streq(property, "State"))
                s = workload_state_to_string(w->state);
        else if (streq(property, "Error"))
                s = w->error;
        return sd_bus_message_append(reply, "s", strempty(s));
}

static int property_pid(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Workload *w = userdata;
        return sd_bus_message_append(reply, "u", (uint32_t) w->ident.pid);
}

static int property_uid(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Workload *w = userdata;
        return sd_bus_message_append(reply, "u", (uint32_t) w->uid);
}

const sd_bus_vtable bus_workload_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "s", property_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Name", "s", property_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Pid", "u", property_pid, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Uid", "u", property_uid, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Policy", "s", property_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Mode", "s", property_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Mechanism", "s", property_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", property_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LimitBytes", "t", NULL, offsetof(Workload, settings.limit),
                        SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("LockedBytes", "t", property_status, 0, 0),
        SD_BUS_PROPERTY("ResidentBytes", "t", property_status, 0, 0),
        SD_BUS_PROPERTY("SwapBytes", "t", property_status, 0, 0),
        SD_BUS_PROPERTY("PinnedBytes", "t", property_status, 0, 0),
        SD_BUS_PROPERTY("MajorFaults", "t", property_faults, 0, 0),
        SD_BUS_PROPERTY("MinorFaults", "t", property_faults, 0, 0),
        SD_BUS_PROPERTY("LockDurationUSec", "t", NULL, offsetof(Workload, lock_duration_usec),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("StartedAt", "t", NULL, offsetof(Workload, started_at),
                        SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ExitStatus", "i", NULL, offsetof(Workload, exit_status),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Error", "s", property_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_VTABLE_END,
};
