/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* memlockctl status [ID|PID...], memlockctl list. */
#include <inttypes.h>
#include <pwd.h>
#include <time.h>

#include "client/bus-client.h"
#include "client/format.h"
#include "client/json-output.h"
#include "client/memlockctl.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/parse-util.h"
#include "common/time-util.h"

/* The user name of uid, or NULL; buf holds the strings getpwuid_r needs. */
static const char *user_name(uid_t uid, char *buf, size_t l) {
        struct passwd pw, *result = NULL;

        if (getpwuid_r(uid, &pw, buf, l, &result) != 0 || !result)
                return NULL;
        return result->pw_name;
}

static int help_status(void) {
        printf("memlockctl status [OPTIONS] [ID|PID...]\n\n"
               "Without an argument, show the daemon: version, budget, reserved, locked and\n"
               "system Mlocked memory, workload count. With workload ids or pids (\"pid:N\" and\n"
               "\"id:N\" force one reading), show each workload like systemctl status.\n\n"
               "  -h --help        Show this help\n"
               "     --json[=MODE] JSON: one object (an array for several workloads)\n"
               "     --no-pager    Do not use a pager\n");
        return CTL_EXIT_OK;
}

static int help_list(void) {
        printf("memlockctl list [OPTIONS]\n\n"
               "One row per workload and a total line with the budget use.\n\n"
               "  -h --help        Show this help\n"
               "     --json[=MODE] JSON: an array of objects\n"
               "     --no-legend   No header and total line\n"
               "     --full        Do not cut names to fit the terminal\n"
               "     --no-pager    Do not use a pager\n");
        return CTL_EXIT_OK;
}

static int status_daemon(sd_bus *bus) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        DaemonInfo d = {};
        int r;

        r = bus_get_daemon_info(bus, &d, &error);
        if (r < 0)
                return bus_log_error(&error, r, "Failed to read the daemon's properties");
        if (arg_json != JSON_OFF) {
                _cleanup_(json_object_putp) json_object *o = daemon_to_json(&d, bus_socket_path());
                r = o ? json_print(stdout, o, arg_json == JSON_PRETTY) : -ENOMEM;
        } else {
                pager_open();
                daemon_format_status(stdout, &d, bus_socket_path(), use_colors());
                r = 0;
        }
        daemon_info_done(&d);
        if (r < 0)
                return log_error_errno(r, "Failed to print: %m"), CTL_EXIT_FAILED;
        return CTL_EXIT_OK;
}

int verb_status(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(json_object_putp) json_object *array = NULL;
        WorkloadInfo *infos;
        size_t n;
        int r, ret = CTL_EXIT_OK;

        if (!parse_global_options_only(argc, argv, help_status, &r))
                return r;
        r = bus_connect_or_log(&bus);
        if (r != CTL_EXIT_OK)
                return r;
        if (optind >= argc)
                return status_daemon(bus);

        n = (size_t) (argc - optind);
        infos = calloc(n, sizeof(WorkloadInfo));
        if (!infos)
                return log_oom(), CTL_EXIT_FAILED;
        for (size_t i = 0; i < n; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_free_ char *path = NULL;
                const char *spec = argv[optind + i];

                infos[i].exit_status = -1;
                r = bus_resolve_workload(bus, spec, &path, &error);
                if (r >= 0)
                        r = bus_get_workload_info(bus, path, &infos[i], &error);
                if (r < 0) {
                        _cleanup_free_ char *what = NULL;
                        if (asprintf(&what, "Failed to get workload '%s'", spec) < 0)
                                what = NULL;
                        ret = bus_log_error(&error, r, what ?: "Failed to get workload");
                        workload_info_array_free(infos, n);
                        return ret;
                }
        }

        if (arg_json != JSON_OFF) {
                if (n > 1)
                        array = json_object_new_array();
                for (size_t i = 0; i < n; i++) {
                        char buf[1024];
                        json_object *o = workload_to_json(
                                &infos[i], user_name(infos[i].uid, buf, sizeof(buf)));
                        if (n > 1)
                                json_object_array_add(array, o);
                        else
                                array = o;
                }
                r = json_print(stdout, array, arg_json == JSON_PRETTY);
        } else {
                uint64_t now = now_usec(CLOCK_REALTIME);

                pager_open();
                for (size_t i = 0; i < n; i++) {
                        char buf[1024];
                        if (i > 0)
                                fputc('\n', stdout);
                        workload_format_status(stdout, &infos[i],
                                               user_name(infos[i].uid, buf, sizeof(buf)), now,
                                               use_colors());
                }
                r = 0;
        }
        workload_info_array_free(infos, n);
        if (r < 0)
                return log_error_errno(r, "Failed to print: %m"), CTL_EXIT_FAILED;
        return ret;
}

int verb_list(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        WorkloadInfo *list = NULL;
        DaemonInfo d = {};
        size_t n = 0;
        int r;

        if (!parse_global_options_only(argc, argv, help_list, &r))
                return r;
        if (optind < argc)
                return usage_error(argv[0], "Unexpected argument '%s'.", argv[optind]);
        r = bus_connect_or_log(&bus);
        if (r != CTL_EXIT_OK)
                return r;
        r = bus_list_workloads(bus, &list, &n, &error);
        if (r < 0)
                return bus_log_error(&error, r, "Failed to list workloads");

        if (arg_json != JSON_OFF) {
                _cleanup_(json_object_putp) json_object *a = json_object_new_array();
                for (size_t i = 0; a && i < n; i++) {
                        char buf[1024];
                        json_object_array_add(
                                a, workload_to_json(&list[i],
                                                    user_name(list[i].uid, buf, sizeof(buf))));
                }
                r = a ? json_print(stdout, a, arg_json == JSON_PRETTY) : -ENOMEM;
        } else {
                static const char *const headers[] = { "ID",    "NAME",   "PID",
                                                       "USER",  "POLICY", "MECHANISM",
                                                       "STATE", "LOCKED", "LIMIT" };
                _cleanup_(table_freep) Table *t = table_new(ELEMENTSOF(headers), headers);
                uint64_t locked = 0;

                if (!t) {
                        workload_info_array_free(list, n);
                        return log_oom(), CTL_EXIT_FAILED;
                }
                table_set_align_right(t, 0, true);
                table_set_align_right(t, 2, true);
                table_set_align_right(t, 7, true);
                table_set_align_right(t, 8, true);
                /* Like systemctl list-units: the name gives way when a row is too wide. */
                table_set_ellipsize(t, 1);
                table_set_width(t, output_columns());
                for (size_t i = 0; i < n; i++) {
                        char pid[16], uid[16], buf[1024], l1[FORMAT_BYTES_MAX],
                                l2[FORMAT_BYTES_MAX];
                        const char *user = user_name(list[i].uid, buf, sizeof(buf));

                        snprintf(pid, sizeof(pid), "%" PRIu32, list[i].pid);
                        snprintf(uid, sizeof(uid), "%" PRIu32, list[i].uid);
                        const char *cells[] = {
                                list[i].id,
                                list[i].name,
                                pid,
                                user ?: uid,
                                list[i].policy,
                                list[i].mechanism,
                                list[i].state,
                                format_bytes(l1, sizeof(l1), list[i].locked_bytes),
                                format_bytes(l2, sizeof(l2), list[i].limit_bytes),
                        };
                        r = table_add_row(t, cells);
                        if (r < 0) {
                                workload_info_array_free(list, n);
                                return log_oom(), CTL_EXIT_FAILED;
                        }
                        locked += list[i].locked_bytes;
                }
                /* The total line needs the budget; the table alone does not. */
                if (arg_legend) {
                        r = bus_get_daemon_info(bus, &d, &error);
                        if (r < 0) {
                                workload_info_array_free(list, n);
                                return bus_log_error(&error, r, "Failed to read the budget");
                        }
                }
                pager_open();
                if (n > 0 || !arg_legend)
                        table_print(t, stdout, arg_legend, use_colors());
                if (arg_legend) {
                        if (n > 0)
                                fputc('\n', stdout);
                        list_format_total(stdout, n, locked, &d);
                }
                daemon_info_done(&d);
                r = 0;
        }
        workload_info_array_free(list, n);
        if (r < 0)
                return log_error_errno(r, "Failed to print: %m"), CTL_EXIT_FAILED;
        return CTL_EXIT_OK;
}
