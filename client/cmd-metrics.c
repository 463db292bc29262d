/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* memlockctl metrics: Prometheus text exposition for node_exporter's textfile collector. */
#include "client/bus-client.h"
#include "client/memlockctl.h"
#include "client/prometheus.h"
#include "common/log.h"
#include "common/macro.h"

static int help_metrics(void) {
        printf("memlockctl metrics [OPTIONS]\n\n"
               "Print the daemon's and every workload's numbers in the Prometheus text\n"
               "exposition format, for node_exporter's textfile collector:\n"
               "  memlockctl metrics > /var/lib/node_exporter/mlockd.prom.$$ &&\n"
               "  mv /var/lib/node_exporter/mlockd.prom.$$ "
               "/var/lib/node_exporter/mlockd.prom\n\n"
               "  -h --help        Show this help\n");
        return CTL_EXIT_OK;
}

int verb_metrics(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        WorkloadInfo *infos = NULL;
        DaemonInfo d = {};
        size_t n = 0;
        int r, ret = CTL_EXIT_OK;

        if (!parse_global_options_only(argc, argv, help_metrics, &r))
                return r;
        if (optind < argc)
                return usage_error(argv[0], "Unexpected argument '%s'.", argv[optind]);

        r = bus_connect_or_log(&bus);
        if (r != CTL_EXIT_OK)
                return r;
        r = bus_get_daemon_info(bus, &d, &error);
        if (r < 0)
                return bus_log_error(&error, r, "Failed to read the daemon's properties");

        infos = calloc(MAX(d.n_workloads, (size_t) 1), sizeof(WorkloadInfo));
        if (!infos) {
                daemon_info_done(&d);
                return log_oom(), CTL_EXIT_FAILED;
        }
        for (size_t i = 0; i < d.n_workloads; i++) {
                sd_bus_error_free(&error);
                r = bus_get_workload_info(bus, d.workloads[i], &infos[n], &error);
                if (r < 0) {
                        /* It went away between the two calls: not an error for a scrape. */
                        if (sd_bus_error_has_name(&error,
                                                  "org.freedesktop.DBus.Error.UnknownObject") ||
                            sd_bus_error_has_name(&error, MLOCKD_ERROR_PREFIX "NoSuchWorkload"))
                                continue;
                        ret = bus_log_error(&error, r, "Failed to read a workload's properties");
                        goto finish;
                }
                n++;
        }
        r = prometheus_render(stdout, &d, infos, n);
        if (r >= 0 && fflush(stdout) != 0)
                r = -errno;
        if (r < 0) {
                log_error_errno(r, "Failed to write metrics: %m");
                ret = CTL_EXIT_FAILED;
        }
finish:
        workload_info_array_free(infos, n);
        daemon_info_done(&d);
        return ret;
}
