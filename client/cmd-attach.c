/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* memlockctl attach and detach. */
#include "client/bus-client.h"
#include "client/memlockctl.h"
#include "client/request-options.h"
#include "client/workload-wait.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/parse-util.h"
#include "common/process-util.h"

enum {
        ARG_WAIT = _ARG_VERB_FIRST,
};

static int help_attach(void) {
        printf("memlockctl attach [OPTIONS] PID\n\n"
               "Lock the memory of a running process: mlockd makes it call mlockall() by ptrace\n"
               "injection. Prints the workload id.\n\n"
               "  -h --help                 Show this help\n"
               "     --policy P             Ask for policy P\n"
               "     --mode MODE            on, on-fault or current\n"
               "     --limit SIZE           Lock at most SIZE\n"
               "     --name NAME            The workload's display name\n"
               "     --wait                 Wait until the lock is in place (progress on a tty);\n"
               "                            exit 1 if it failed\n");
        return CTL_EXIT_OK;
}

static int help_detach(void) {
        printf("memlockctl detach ID|PID\n\n"
               "Unlock a workload (munlockall in the target, its limit restored) and forget it.\n");
        return CTL_EXIT_OK;
}

int verb_attach(int argc, char *argv[]) {
        static const struct option options[] = {
                GLOBAL_OPTIONS,
                REQUEST_OPTIONS_POLICY_MODE_LIMIT,
                REQUEST_OPTIONS_NAME_THREADS,
                { "wait", no_argument, NULL, ARG_WAIT },
                {},
        };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(workload_wait_freep) WorkloadWait *wait = NULL;
        _cleanup_close_ int pidfd = -EBADF;
        RequestOptions o = REQUEST_OPTIONS_INIT;
        bool wait_lock = false;
        const char *path;
        uint32_t pid;
        int c, r;

        while ((c = getopt_long(argc, argv, GLOBAL_SHORTOPTS, options, NULL)) >= 0) {
                r = global_option(c, optarg);
                if (r < 0)
                        return -r;
                if (r > 0)
                        continue;
                r = request_option(c, optarg, argv[0], &o);
                if (r < 0)
                        return -r;
                if (r > 0)
                        continue;
                switch (c) {
                case 'h':
                        return help_attach();
                case ARG_WAIT:
                        wait_lock = true;
                        break;
                default:
                        return option_error(argv[0], argv);
                }
        }
        if (optind + 1 != argc)
                return usage_error(argv[0], "Expected exactly one PID.");
        if (parse_uint32(argv[optind], &pid) < 0 || pid == 0 || pid > INT32_MAX)
                return usage_error(argv[0], "Invalid pid '%s'.", argv[optind]);

        /* A pidfd pins the process we mean: the daemon cannot be tricked by pid reuse. */
        pidfd = pidfd_open_checked((pid_t) pid);
        if (pidfd == -ESRCH) {
                log_error("No process with pid %" PRIu32 ".", pid);
                return CTL_EXIT_NOT_FOUND;
        }

        r = bus_connect_or_log(&bus);
        if (r != CTL_EXIT_OK)
                return r;
        if (wait_lock) {
                r = workload_wait_new(bus, WAIT_FOR_LOCK, &wait);
                if (r < 0)
                        return log_error_errno(r, "Failed to subscribe to signals: %m"),
                               CTL_EXIT_FAILED;
        }

        if (pidfd >= 0) {
                r = sd_bus_message_new_method_call(bus, &m, NULL, MLOCKD_MANAGER_PATH,
                                                   MLOCKD_MANAGER_IFACE, "AttachPidfd");
                if (r >= 0)
                        r = sd_bus_message_append(m, "h", pidfd);
                if (r >= 0)
                        r = bus_append_request_options(m, &o);
                if (r < 0)
                        return log_error_errno(r, "Failed to build the request: %m"),
                               CTL_EXIT_FAILED;
                r = sd_bus_call(bus, m, 0, &error, &reply);
                /* An older daemon without AttachPidfd still knows Attach. */
                if (r < 0 &&
                    sd_bus_error_has_name(&error, "org.freedesktop.DBus.Error.UnknownMethod")) {
                        sd_bus_error_free(&error);
                        pidfd = safe_close(pidfd);
                }
        }
        if (pidfd < 0) {
                m = sd_bus_message_unref(m);
                r = sd_bus_message_new_method_call(bus, &m, NULL, MLOCKD_MANAGER_PATH,
                                                   MLOCKD_MANAGER_IFACE, "Attach");
                if (r >= 0)
                        r = sd_bus_message_append(m, "u", pid);
                if (r >= 0)
                        r = bus_append_request_options(m, &o);
                if (r < 0)
                        return log_error_errno(r, "Failed to build the request: %m"),
                               CTL_EXIT_FAILED;
                r = sd_bus_call(bus, m, 0, &error, &reply);
        }
        if (r < 0)
                return bus_log_error(&error, r, "Failed to attach");
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return bus_log_error(NULL, r, "Failed to parse the daemon's answer");
        printf("%s\n", workload_path_to_id(path));
        fflush(stdout);
        if (!wait_lock)
                return CTL_EXIT_OK;
        return workload_wait_run(wait, path, o.name, false);
}

int verb_detach(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL;
        int r;

        if (!parse_global_options_only(argc, argv, help_detach, &r))
                return r;
        if (optind + 1 != argc)
                return usage_error(argv[0], "Expected exactly one workload id or pid.");

        r = bus_connect_or_log(&bus);
        if (r != CTL_EXIT_OK)
                return r;
        r = bus_resolve_workload(bus, argv[optind], &path, &error);
        if (r < 0)
                return bus_log_error(&error, r, "Failed to find the workload");
        r = sd_bus_call_method(bus, NULL, MLOCKD_MANAGER_PATH, MLOCKD_MANAGER_IFACE, "Detach",
                               &error, NULL, "o", path);
        if (r < 0)
                return bus_log_error(&error, r, "Failed to detach");
        if (!arg_quiet)
                printf("Detached workload %s.\n", workload_path_to_id(path));
        return CTL_EXIT_OK;
}
