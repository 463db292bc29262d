/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "client/json-output.h"

json_object *json_size(uint64_t v) {
        return v == UINT64_MAX ? NULL : json_object_new_uint64(v);
}

static json_object *json_string_or_null(const char *s) {
        return s ? json_object_new_string(s) : NULL;
}

json_object *workload_to_json(const WorkloadInfo *w, const char *user) {
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        json_object_object_add(o, "id", json_string_or_null(w->id));
        json_object_object_add(o, "path", json_string_or_null(w->path));
        json_object_object_add(o, "name", json_string_or_null(w->name));
        json_object_object_add(o, "pid", json_object_new_uint64(w->pid));
        json_object_object_add(o, "uid", json_object_new_uint64(w->uid));
        json_object_object_add(o, "user", json_string_or_null(user));
        json_object_object_add(o, "policy", json_string_or_null(w->policy));
        if (w->full)
                json_object_object_add(o, "mode", json_string_or_null(w->mode));
        json_object_object_add(o, "mechanism", json_string_or_null(w->mechanism));
        json_object_object_add(o, "state", json_string_or_null(w->state));
        json_object_object_add(o, "limit_bytes", json_size(w->limit_bytes));
        json_object_object_add(o, "locked_bytes", json_object_new_uint64(w->locked_bytes));
        if (!w->full)
                return o;
        json_object_object_add(o, "resident_bytes", json_object_new_uint64(w->resident_bytes));
        json_object_object_add(o, "swap_bytes", json_object_new_uint64(w->swap_bytes));
        json_object_object_add(o, "pinned_bytes", json_object_new_uint64(w->pinned_bytes));
        json_object_object_add(o, "major_faults", json_object_new_uint64(w->major_faults));
        json_object_object_add(o, "minor_faults", json_object_new_uint64(w->minor_faults));
        json_object_object_add(o, "lock_duration_usec",
                               json_object_new_uint64(w->lock_duration_usec));
        json_object_object_add(o, "started_at_usec", json_object_new_uint64(w->started_at_usec));
        json_object_object_add(o, "exit_status", json_object_new_int(w->exit_status));
        json_object_object_add(o, "error", json_object_new_string(strempty(w->error)));
        json_object_object_add(o, "containment", json_string_or_null(w->containment));
        return o;
}

json_object *daemon_to_json(const DaemonInfo *d, const char *socket_path) {
        json_object *o = json_object_new_object(), *p;

        if (!o)
                return NULL;
        json_object_object_add(o, "version", json_string_or_null(d->version));
        json_object_object_add(o, "socket", json_string_or_null(socket_path));
        json_object_object_add(o, "budget_bytes", json_size(d->budget_bytes));
        json_object_object_add(o, "reserved_bytes", json_object_new_uint64(d->reserved_bytes));
        json_object_object_add(o, "locked_bytes", json_object_new_uint64(d->locked_bytes));
        json_object_object_add(o, "system_mlocked_bytes",
                               json_object_new_uint64(d->system_mlocked_bytes));
        json_object_object_add(o, "workloads", json_object_new_uint64(d->n_workloads));
        p = json_object_new_array();
        for (size_t i = 0; p && i < d->n_policies; i++)
                json_object_array_add(p, json_object_new_string(d->policies[i]));
        json_object_object_add(o, "policies", p);
        return o;
}

int json_print(FILE *f, json_object *o, bool pretty) {
        const char *s = json_object_to_json_string_ext(
                o, (pretty ? JSON_C_TO_STRING_PRETTY : JSON_C_TO_STRING_PLAIN) |
                           JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s)
                return -ENOMEM;
        fputs(s, f);
        fputc('\n', f);
        return ferror(f) ? -EIO : 0;
}
