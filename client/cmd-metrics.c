/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* memlockctl metrics: Prometheus text exposition for node_exporter's textfile collector. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/bus-client.h"
#include "client/memlockctl.h"
#include "client/prometheus.h"
#include "common/log.h"
#include "common/macro.h"

static int help_metrics(void) {
        printf("memlockctl metrics [OPTIONS]\n\n"
               "Print the daemon's and every workload's numbers in the Prometheus text\n"
               "exposition format, for node_exporter's textfile collector.\n\n"
               "  -h --help        Show this help\n"
               "  -o --output=FILE Write to FILE atomically (a temporary file in the same\n"
               "                   directory, renamed over FILE), mode 0644, e.g.\n"
               "                   /var/lib/prometheus/node-exporter/mlockd.prom\n");
        return CTL_EXIT_OK;
}

/* Collects everything first, so that a failed call leaves nothing half written. */
static int collect(sd_bus *bus, DaemonInfo *d, WorkloadInfo **ret_infos, size_t *ret_n) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        WorkloadInfo *infos;
        size_t n = 0;
        int r;

        r = bus_get_daemon_info(bus, d, &error);
        if (r < 0)
                return bus_log_error(&error, r, "Failed to read the daemon's properties");

        /* All workloads in one call: a GetAll each cost 90 ms with 1000 of them. */
        r = bus_get_workload_infos(bus, &infos, &n, &error);
        if (r < 0)
                return bus_log_error(&error, r, "Failed to read the workloads' properties");
        *ret_infos = infos;
        *ret_n = n;
        return CTL_EXIT_OK;
}

/* node_exporter reads the directory at any time: it must see the old file or the new one,
 * never a partial one. So write a temporary file beside the target (same file system), flush
 * it to disk, and rename it over the target. The collector ignores names not ending in .prom. */
static int write_atomically(const char *path, const DaemonInfo *d, const WorkloadInfo *infos,
                            size_t n) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        FILE *f;
        int r;

        if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
                return log_oom(), -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(-errno, "Failed to create a temporary file for '%s': %m",
                                       path);
        /* Readable by node_exporter, which runs as its own user. */
        if (fchmod(fd, 0644) < 0) {
                r = log_error_errno(-errno, "Failed to set the mode of '%s': %m", tmp);
                goto fail;
        }
        f = fdopen(fd, "w");
        if (!f) {
                r = log_error_errno(-errno, "Failed to open '%s': %m", tmp);
                goto fail;
        }
        fd = -EBADF; /* the stream owns it now */
        r = prometheus_render(f, d, infos, n);
        if (r >= 0 && fflush(f) != 0)
                r = -errno;
        if (r >= 0 && fsync(fileno(f)) < 0)
                r = -errno;
        if (fclose(f) != 0 && r >= 0)
                r = -errno;
        if (r < 0) {
                log_error_errno(r, "Failed to write '%s': %m", tmp);
                goto fail;
        }
        if (rename(tmp, path) < 0) {
                r = log_error_errno(-errno, "Failed to rename '%s' to '%s': %m", tmp, path);
                goto fail;
        }
        return 0;
fail:
        (void) unlink(tmp);
        return r;
}

int verb_metrics(int argc, char *argv[]) {
        static const struct option options[] = {
                GLOBAL_OPTIONS,
                { "output", required_argument, NULL, 'o' },
                {},
        };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const char *output = NULL;
        WorkloadInfo *infos = NULL;
        DaemonInfo d = {};
        size_t n = 0;
        int c, r, ret;

        while ((c = getopt_long(argc, argv, GLOBAL_SHORTOPTS "o:", options, NULL)) >= 0) {
                r = global_option(c, optarg);
                if (r < 0)
                        return -r;
                if (r > 0)
                        continue;
                switch (c) {
                case 'h':
                        return help_metrics();
                case 'o':
                        if (optarg[0] == '\0')
                                return usage_error(argv[0], "--output needs a file name.");
                        output = optarg;
                        break;
                default:
                        return option_error(argv[0], argv);
                }
        }
        if (optind < argc)
                return usage_error(argv[0], "Unexpected argument '%s'.", argv[optind]);

        r = bus_connect_or_log(&bus);
        if (r != CTL_EXIT_OK)
                return r;
        ret = collect(bus, &d, &infos, &n);
        if (ret != CTL_EXIT_OK)
                goto finish;

        if (output) {
                r = write_atomically(output, &d, infos, n);
                if (r < 0)
                        ret = CTL_EXIT_FAILED;
                goto finish;
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
