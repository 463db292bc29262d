/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "build-config.h"
#include "client/bus-client.h"
#include "client/memlockctl.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/parse-util.h"

const char *bus_socket_path(void) {
        const char *e;

        if (arg_socket)
                return arg_socket;
        /* MEMLOCKD_SOCKET is the name before the rename to mlockd; it keeps working for one
         * release (see memlockctl(1)). */
        e = getenv("MLOCKD_SOCKET");
        if (!e || e[0] == '\0')
                e = getenv("MEMLOCKD_SOCKET");
        if (e && e[0] != '\0')
                return e;
        return MLOCKD_SOCKET_PATH;
}

/* D-Bus addresses escape every byte outside [-0-9A-Za-z_/.\*] as %XX. */
static char *address_escape(const char *s) {
        static const char hex[] = "0123456789abcdef";
        char *r = malloc(strlen(s) * 3 + 1), *p = r;

        if (!r)
                return NULL;
        for (const char *c = s; *c; c++) {
                if ((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') ||
                    (*c >= 'A' && *c <= 'Z') || strchr("-_/.\\*", *c))
                        *p++ = *c;
                else {
                        *p++ = '%';
                        *p++ = hex[(unsigned char) *c >> 4];
                        *p++ = hex[(unsigned char) *c & 15];
                }
        }
        *p = '\0';
        return r;
}

static int connect_socket(bool ping, sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *escaped = NULL, *address = NULL;
        const char *path = bus_socket_path();
        int r;

        escaped = address_escape(path);
        if (!escaped || asprintf(&address, "unix:path=%s", escaped) < 0)
                return -ENOMEM;

        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        r = sd_bus_set_address(bus, address);
        if (r < 0)
                return r;
        /* Peer-to-peer: there is no bus daemon, so no Hello and no bus-side match rules. */
        r = sd_bus_set_bus_client(bus, false);
        if (r < 0)
                return r;
        r = sd_bus_negotiate_fds(bus, true);
        if (r < 0)
                return r;
        r = sd_bus_start(bus);
        if (r < 0)
                return r;
        /* Complete authentication now so that a socket that accepts but does not speak D-Bus
         * shows up here, not in the first call with a confusing message. (Nobody listening at
         * all fails in sd_bus_start() already.) */
        if (ping) {
                r = sd_bus_call_method(bus, NULL, MLOCKD_MANAGER_PATH, "org.freedesktop.DBus.Peer",
                                       "Ping", NULL, NULL, NULL);
                if (bus_is_connection_error(r))
                        return r;
        }

        *ret = TAKE_PTR(bus);
        return 0;
}

int bus_connect(sd_bus **ret) {
        return connect_socket(true, ret);
}

static int connect_or_log(bool ping, sd_bus **ret) {
        int r;

        r = connect_socket(ping, ret);
        if (r < 0) {
                log_error_errno(r,
                                "Failed to connect to mlockd at '%s': %m. Is mlockd running? "
                                "(--socket PATH or $MLOCKD_SOCKET choose the socket)",
                                bus_socket_path());
                return CTL_EXIT_UNREACHABLE;
        }
        return CTL_EXIT_OK;
}

int bus_connect_or_log(sd_bus **ret) {
        return connect_or_log(true, ret);
}

int bus_connect_quick_or_log(sd_bus **ret) {
        return connect_or_log(false, ret);
}

int bus_error_to_exit(const char *name) {
        static const struct {
                const char *name;
                int exit;
        } table[] = {
                { MLOCKD_ERROR_PREFIX "AccessDenied", CTL_EXIT_DENIED },
                { MLOCKD_ERROR_PREFIX "NoMatchingPolicy", CTL_EXIT_DENIED },
                { "org.freedesktop.DBus.Error.AccessDenied", CTL_EXIT_DENIED },
                { "org.freedesktop.DBus.Error.AuthFailed", CTL_EXIT_DENIED },
                { MLOCKD_ERROR_PREFIX "NoSuchWorkload", CTL_EXIT_NOT_FOUND },
                { MLOCKD_ERROR_PREFIX "NoSuchProcess", CTL_EXIT_NOT_FOUND },
                { "org.freedesktop.DBus.Error.UnknownObject", CTL_EXIT_NOT_FOUND },
                { "org.freedesktop.DBus.Error.FileNotFound", CTL_EXIT_NOT_FOUND },
                { MLOCKD_ERROR_PREFIX "InvalidArgument", CTL_EXIT_USAGE },
                { "org.freedesktop.DBus.Error.InvalidArgs", CTL_EXIT_USAGE },
                { "org.freedesktop.DBus.Error.Disconnected", CTL_EXIT_UNREACHABLE },
                { "org.freedesktop.DBus.Error.NoReply", CTL_EXIT_UNREACHABLE },
        };

        if (!name)
                return CTL_EXIT_FAILED;
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (streq(name, table[i].name))
                        return table[i].exit;
        return CTL_EXIT_FAILED;
}

int bus_log_error(const sd_bus_error *error, int r, const char *what) {
        if (error && sd_bus_error_is_set(error)) {
                int e = bus_error_to_exit(error->name);
                const char *short_name = startswith(error->name, MLOCKD_ERROR_PREFIX);

                if (e == CTL_EXIT_UNREACHABLE)
                        log_error("%s: mlockd at '%s' went away: %s", what, bus_socket_path(),
                                  strna(error->message));
                else if (short_name)
                        log_error("%s: %s (%s)", what, strna(error->message), short_name);
                else
                        log_error("%s: %s", what, error->message ?: error->name);
                return e;
        }
        if (bus_is_connection_error(r)) {
                log_error_errno(r, "%s: lost the connection to mlockd at '%s': %m", what,
                                bus_socket_path());
                return CTL_EXIT_UNREACHABLE;
        }
        log_error_errno(r, "%s: %m", what);
        return r == -EACCES || r == -EPERM ? CTL_EXIT_DENIED : CTL_EXIT_FAILED;
}

/* Table-driven reading of a GetAll reply into a struct. */
typedef struct PropertyMap {
        const char *name;
        char type; /* 's', 'o', 'u', 'i', 't', or 'S' for an array of strings/paths */
        size_t offset;
} PropertyMap;

static int map_properties(sd_bus_message *m, const PropertyMap *map, void *userdata) {
        int r;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r < 0)
                return r;
        for (;;) {
                const PropertyMap *p = NULL;
                const char *name, *contents;
                char type;

                r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = sd_bus_message_read_basic(m, SD_BUS_TYPE_STRING, &name);
                if (r < 0)
                        return r;
                for (const PropertyMap *i = map; i->name; i++)
                        if (streq(i->name, name)) {
                                p = i;
                                break;
                        }
                r = sd_bus_message_peek_type(m, &type, &contents);
                if (r < 0)
                        return r;
                /* Unknown properties (a newer daemon) and unexpected types are skipped. */
                bool match =
                        p &&
                        ((p->type == 'S' && (streq(contents, "as") || streq(contents, "ao"))) ||
                         (p->type != 'S' && contents[0] == p->type && contents[1] == '\0'));
                if (!match) {
                        r = sd_bus_message_skip(m, "v");
                        if (r < 0)
                                return r;
                } else {
                        void *dst = (uint8_t *) userdata + p->offset;

                        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_VARIANT, contents);
                        if (r < 0)
                                return r;
                        if (p->type == 'S') {
                                char **l = NULL;
                                r = sd_bus_message_read_strv(m, &l);
                                if (r < 0)
                                        return r;
                                strv_free(*(char ***) dst);
                                *(char ***) dst = l;
                        } else if (p->type == 's' || p->type == 'o') {
                                const char *s;
                                char *c;
                                r = sd_bus_message_read_basic(m, p->type, &s);
                                if (r < 0)
                                        return r;
                                c = strdup(s);
                                if (!c)
                                        return -ENOMEM;
                                free(*(char **) dst);
                                *(char **) dst = c;
                        } else {
                                r = sd_bus_message_read_basic(m, p->type, dst);
                                if (r < 0)
                                        return r;
                        }
                        r = sd_bus_message_exit_container(m);
                        if (r < 0)
                                return r;
                }
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_exit_container(m);
}

static int get_all(sd_bus *bus, const char *path, const char *iface, const PropertyMap *map,
                   void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call_method(bus, NULL, path, "org.freedesktop.DBus.Properties", "GetAll", error,
                               &reply, "s", iface);
        if (r < 0)
                return r;
        return map_properties(reply, map, userdata);
}

static size_t strv_length(char **l) {
        size_t n = 0;
        while (l && l[n])
                n++;
        return n;
}

int bus_get_daemon_info(sd_bus *bus, DaemonInfo *ret, sd_bus_error *error) {
        static const PropertyMap map[] = {
                { "Version", 's', offsetof(DaemonInfo, version) },
                { "BudgetBytes", 't', offsetof(DaemonInfo, budget_bytes) },
                { "ReservedBytes", 't', offsetof(DaemonInfo, reserved_bytes) },
                { "LockedBytes", 't', offsetof(DaemonInfo, locked_bytes) },
                { "SystemMlockedBytes", 't', offsetof(DaemonInfo, system_mlocked_bytes) },
                { "Workloads", 'S', offsetof(DaemonInfo, workloads) },
                { "Policies", 'S', offsetof(DaemonInfo, policies) },
                {},
        };
        DaemonInfo d = {};
        int r;

        r = get_all(bus, MLOCKD_MANAGER_PATH, MLOCKD_MANAGER_IFACE, map, &d, error);
        if (r < 0) {
                daemon_info_done(&d);
                return r;
        }
        d.n_workloads = strv_length(d.workloads);
        d.n_policies = strv_length(d.policies);
        *ret = d;
        return 0;
}

static const PropertyMap workload_map[] = {
        { "Id", 's', offsetof(WorkloadInfo, id) },
        { "Name", 's', offsetof(WorkloadInfo, name) },
        { "Pid", 'u', offsetof(WorkloadInfo, pid) },
        { "Uid", 'u', offsetof(WorkloadInfo, uid) },
        { "Policy", 's', offsetof(WorkloadInfo, policy) },
        { "Mode", 's', offsetof(WorkloadInfo, mode) },
        { "Mechanism", 's', offsetof(WorkloadInfo, mechanism) },
        { "State", 's', offsetof(WorkloadInfo, state) },
        { "LimitBytes", 't', offsetof(WorkloadInfo, limit_bytes) },
        { "LockedBytes", 't', offsetof(WorkloadInfo, locked_bytes) },
        { "ResidentBytes", 't', offsetof(WorkloadInfo, resident_bytes) },
        { "SwapBytes", 't', offsetof(WorkloadInfo, swap_bytes) },
        { "PinnedBytes", 't', offsetof(WorkloadInfo, pinned_bytes) },
        { "MajorFaults", 't', offsetof(WorkloadInfo, major_faults) },
        { "MinorFaults", 't', offsetof(WorkloadInfo, minor_faults) },
        { "LockDurationUSec", 't', offsetof(WorkloadInfo, lock_duration_usec) },
        { "StartedAt", 't', offsetof(WorkloadInfo, started_at_usec) },
        { "ExitStatus", 'i', offsetof(WorkloadInfo, exit_status) },
        { "Error", 's', offsetof(WorkloadInfo, error) },
        { "Containment", 's', offsetof(WorkloadInfo, containment) },
        {},
};

int bus_get_workload_info(sd_bus *bus, const char *path, WorkloadInfo *ret, sd_bus_error *error) {
        WorkloadInfo w = { .exit_status = -1, .full = true };
        int r;

        w.path = strdup(path);
        if (!w.path)
                return -ENOMEM;
        r = get_all(bus, path, MLOCKD_WORKLOAD_IFACE, workload_map, &w, error);
        if (r < 0) {
                workload_info_done(&w);
                return r;
        }
        *ret = w;
        return 0;
}

static int compare_by_id(const void *a, const void *b) {
        const WorkloadInfo *x = a, *y = b;
        uint64_t i = strtoull(workload_path_to_id(x->path), NULL, 10),
                 j = strtoull(workload_path_to_id(y->path), NULL, 10);

        return i < j ? -1 : i > j;
}

/* One Workload interface in a GetManagedObjects entry (a{sa{sv}}): 1 read, 0 not there. */
static int read_workload_interfaces(sd_bus_message *m, WorkloadInfo *w) {
        bool found = false;
        int r;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{sa{sv}}");
        if (r < 0)
                return r;
        for (;;) {
                const char *iface;

                r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, "sa{sv}");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = sd_bus_message_read_basic(m, SD_BUS_TYPE_STRING, &iface);
                if (r < 0)
                        return r;
                if (streq(iface, MLOCKD_WORKLOAD_IFACE)) {
                        r = map_properties(m, workload_map, w);
                        found = true;
                } else
                        r = sd_bus_message_skip(m, "a{sv}");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_exit_container(m);
        return r < 0 ? r : found;
}

int bus_get_workload_infos(sd_bus *bus, WorkloadInfo **ret, size_t *ret_n, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        WorkloadInfo *list = NULL;
        size_t n = 0;
        int r;

        r = sd_bus_call_method(bus, NULL, MLOCKD_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager",
                               "GetManagedObjects", error, &reply, NULL);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "{oa{sa{sv}}}");
        while (r >= 0) {
                WorkloadInfo w = { .exit_status = -1, .full = true };
                const char *path;

                r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_DICT_ENTRY, "oa{sa{sv}}");
                if (r <= 0)
                        break;
                r = sd_bus_message_read_basic(reply, SD_BUS_TYPE_OBJECT_PATH, &path);
                if (r >= 0) {
                        w.path = strdup(path);
                        r = w.path ? read_workload_interfaces(reply, &w) : -ENOMEM;
                }
                if (r > 0) {
                        WorkloadInfo *l = reallocarray(list, n + 1, sizeof(WorkloadInfo));
                        if (l) {
                                list = l;
                                list[n++] = w;
                        } else
                                r = -ENOMEM;
                }
                if (r <= 0 || list[n - 1].path != w.path)
                        workload_info_done(&w);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
        }
        if (r < 0) {
                workload_info_array_free(list, n);
                return r;
        }
        /* The table's order, as the Workloads property gives it. */
        if (n > 1)
                qsort(list, n, sizeof(WorkloadInfo), compare_by_id);
        *ret = list;
        *ret_n = n;
        return 0;
}

int bus_list_workloads(sd_bus *bus, WorkloadInfo **ret, size_t *ret_n, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        WorkloadInfo *list = NULL;
        size_t n = 0;
        int r;

        r = sd_bus_call_method(bus, NULL, MLOCKD_MANAGER_PATH, MLOCKD_MANAGER_IFACE,
                               "ListWorkloads", error, &reply, NULL);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "(souusssstt)");
        if (r < 0)
                return r;
        for (;;) {
                const char *id, *path, *name, *policy, *state, *mechanism;
                uint32_t pid, uid;
                uint64_t locked, limit;
                WorkloadInfo *nl;

                r = sd_bus_message_read(reply, "(souusssstt)", &id, &path, &pid, &uid, &name,
                                        &policy, &state, &mechanism, &locked, &limit);
                if (r < 0)
                        goto fail;
                if (r == 0)
                        break;
                nl = reallocarray(list, n + 1, sizeof(WorkloadInfo));
                if (!nl) {
                        r = -ENOMEM;
                        goto fail;
                }
                list = nl;
                list[n] = (WorkloadInfo){
                        .id = strdup(id),
                        .path = strdup(path),
                        .name = strdup(name),
                        .policy = strdup(policy),
                        .state = strdup(state),
                        .mechanism = strdup(mechanism),
                        .pid = pid,
                        .uid = uid,
                        .locked_bytes = locked,
                        .limit_bytes = limit,
                        .exit_status = -1,
                };
                n++;
                if (!list[n - 1].id || !list[n - 1].path || !list[n - 1].name ||
                    !list[n - 1].policy || !list[n - 1].state || !list[n - 1].mechanism) {
                        r = -ENOMEM;
                        goto fail;
                }
        }
        *ret = list;
        *ret_n = n;
        return 0;
fail:
        workload_info_array_free(list, n);
        return r;
}

int bus_get_workload_u64(sd_bus *bus, const char *path, const char *property, uint64_t *ret) {
        return sd_bus_get_property_trivial(bus, NULL, path, MLOCKD_WORKLOAD_IFACE, property, NULL,
                                           't', ret);
}

const char *workload_path_to_id(const char *path) {
        const char *id = startswith(path, MLOCKD_MANAGER_PATH "/workload/");
        return id ?: path;
}

int bus_resolve_workload(sd_bus *bus, const char *spec, char **ret_path, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        WorkloadInfo *list = NULL;
        const char *by_id = NULL, *by_pid = NULL, *by_name = NULL, *v;
        bool want_id = true, want_pid = true, want_name = true, ambiguous_name = false;
        uint32_t pid = 0;
        size_t n = 0;
        char *path;
        int r;

        if (startswith(spec, "pid:")) {
                v = spec + strlen("pid:");
                want_id = want_name = false;
        } else if (startswith(spec, "id:")) {
                v = spec + strlen("id:");
                want_pid = want_name = false;
        } else
                v = spec;
        if (want_pid && parse_uint32(v, &pid) < 0) {
                if (!want_id && !want_name)
                        return sd_bus_error_setf(error, MLOCKD_ERROR_PREFIX "InvalidArgument",
                                                 "Invalid pid '%s'.", v);
                want_pid = false;
        }

        r = bus_list_workloads(bus, &list, &n, error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                if (want_id && streq(list[i].id, v) && !by_id)
                        by_id = list[i].path;
                if (want_pid && list[i].pid == pid && !by_pid)
                        by_pid = list[i].path;
                if (want_name && streq(list[i].name, v)) {
                        if (by_name)
                                ambiguous_name = true;
                        by_name = list[i].path;
                }
        }
        /* An id wins over a pid, and both over a name: ids and pids are the documented forms. */
        v = by_id ?: by_pid ?: (ambiguous_name ? NULL : by_name);
        if (v) {
                path = strdup(v);
                workload_info_array_free(list, n);
                if (!path)
                        return -ENOMEM;
                *ret_path = path;
                return 0;
        }
        workload_info_array_free(list, n);

        if (ambiguous_name)
                return sd_bus_error_setf(error, MLOCKD_ERROR_PREFIX "InvalidArgument",
                                         "More than one workload is named '%s'; use its id.", spec);
        if (want_pid && pid > 0) {
                /* Not in the list (or the list is being rebuilt): ask the daemon directly. */
                r = sd_bus_call_method(bus, NULL, MLOCKD_MANAGER_PATH, MLOCKD_MANAGER_IFACE,
                                       "GetWorkloadByPid", NULL, &reply, "u", pid);
                if (r >= 0) {
                        const char *p;
                        r = sd_bus_message_read(reply, "o", &p);
                        if (r < 0)
                                return r;
                        path = strdup(p);
                        if (!path)
                                return -ENOMEM;
                        *ret_path = path;
                        return 0;
                }
                if (bus_is_connection_error(r))
                        return r;
        }
        sd_bus_error_setf(error, MLOCKD_ERROR_PREFIX "NoSuchWorkload",
                          "No workload with id, pid or name '%s'. 'memlockctl list' shows them.",
                          spec);
        return -ENXIO;
}

int bus_append_request_options(sd_bus_message *m, const RequestOptions *o) {
        int r;

        r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r < 0)
                return r;
        if (o->policy) {
                r = sd_bus_message_append(m, "{sv}", "policy", "s", o->policy);
                if (r < 0)
                        return r;
        }
        if (o->name) {
                r = sd_bus_message_append(m, "{sv}", "name", "s", o->name);
                if (r < 0)
                        return r;
        }
        if (o->mode) {
                r = sd_bus_message_append(m, "{sv}", "mode", "s", o->mode);
                if (r < 0)
                        return r;
        }
        if (o->limit > 0) {
                r = sd_bus_message_append(m, "{sv}", "limit", "t", o->limit);
                if (r < 0)
                        return r;
        }
        if (o->prefault_threads >= -1) {
                r = sd_bus_message_append(m, "{sv}", "prefault_threads", "i",
                                          (int32_t) o->prefault_threads);
                if (r < 0)
                        return r;
        }
        if (o->detach >= 0) {
                r = sd_bus_message_append(m, "{sv}", "detach", "b", o->detach);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(m);
}
