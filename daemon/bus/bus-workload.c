/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.mlockd1.Workload objects at /org/mlockd1/workload/<id>. Status properties come from the
 * workload's /proc sample (manager_workload_sample(): at most WORKLOAD_SAMPLE_MAX_AGE_USEC old),
 * so a GetAll costs serialization. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "common/proc.h"
#include "common/process-util.h"
#include "daemon/bus/bus.h"

int bus_workload_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                      void **ret_found, sd_bus_error *error) {
        BusServer *s = userdata;
        Workload *w = workload_table_find_path(&s->manager->workloads, path);

        if (!w)
                return 0;
        *ret_found = w;
        return 1;
}

int bus_workload_enumerate(sd_bus *bus, const char *path, void *userdata, char ***ret_nodes,
                           sd_bus_error *error) {
        BusServer *s = userdata;
        Manager *m = s->manager;
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

static void workload_read_proc(Workload *w, ProcStatus *ret_status, ProcStat *ret_stat) {
        const WorkloadSample *sample = manager_workload_sample(w->manager, w);

        if (ret_status)
                *ret_status = sample->status;
        if (ret_stat)
                *ret_stat = sample->stat;
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
        else if (streq(property, "Containment"))
                s = w->containment ?: "none";
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
        /* Changes when event mode follows a guest's hotplug. */
        SD_BUS_PROPERTY("LimitBytes", "t", NULL, offsetof(Workload, settings.limit),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
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
        SD_BUS_PROPERTY("Containment", "s", property_string, 0, 0),
        SD_BUS_VTABLE_END,
};
