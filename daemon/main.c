/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mlockd: command line, then the Manager's loop. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build-config.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/parse-util.h"
#include "common/proc.h"
#include "daemon/bus/bus-error.h"
#include "daemon/bus/bus.h"
#include "daemon/core/manager.h"
#include "daemon/self.h"
#include "policy/config.h"
#include "policy/policy.h"

static const char *arg_config = NULL;
static const char *arg_socket = NULL;
static char **arg_policy_dirs = NULL;
static size_t arg_n_policy_dirs = 0;
static const char *arg_state_dir = NULL;
static const char *arg_shim = NULL;
static bool arg_check_config = false;

static void help(void) {
        printf("mlockd [OPTIONS...]\n\n"
               "Keeps workloads' memory locked in RAM, by policy, over a D-Bus API.\n\n"
               "  -h --help              Show this help\n"
               "     --version           Show the version\n"
               "     --config FILE       Daemon settings (default " MLOCKD_CONFIG_FILE ")\n"
               "     --socket PATH       Listen here (default " MLOCKD_SOCKET_PATH ")\n"
               "     --policy-dir DIR    Read policies from DIR instead of the default\n"
               "                         directories (repeatable; earlier masks later)\n"
               "     --state-dir DIR     Keep the state file here (default " MLOCKD_STATE_DIR ")\n"
               "     --shim PATH         The LD_PRELOAD shim (default " MLOCKD_SHIM_PATH ")\n"
               "     --check-config      Validate configuration and policies, then exit\n"
               "     --log-level LEVEL   debug, info, notice, warning, err (default info)\n"
               "\nSee mlockd(8).\n");
}

static int parse_log_level(const char *s) {
        static const struct {
                const char *name;
                int level;
        } levels[] = {
                { "emerg", LOG_EMERG },   { "alert", LOG_ALERT }, { "crit", LOG_CRIT },
                { "err", LOG_ERR },       { "error", LOG_ERR },   { "warning", LOG_WARNING },
                { "notice", LOG_NOTICE }, { "info", LOG_INFO },   { "debug", LOG_DEBUG },
        };
        uint32_t v;

        for (size_t i = 0; i < ELEMENTSOF(levels); i++)
                if (streq(s, levels[i].name))
                        return levels[i].level;
        if (parse_uint32(s, &v) >= 0 && v <= LOG_DEBUG)
                return (int) v;
        return -EINVAL;
}

static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_VERSION = 0x100,
                ARG_CONFIG,
                ARG_SOCKET,
                ARG_POLICY_DIR,
                ARG_STATE_DIR,
                ARG_SHIM,
                ARG_CHECK_CONFIG,
                ARG_LOG_LEVEL,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "config", required_argument, NULL, ARG_CONFIG },
                { "socket", required_argument, NULL, ARG_SOCKET },
                { "policy-dir", required_argument, NULL, ARG_POLICY_DIR },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "shim", required_argument, NULL, ARG_SHIM },
                { "check-config", no_argument, NULL, ARG_CHECK_CONFIG },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                {},
        };
        int c, l;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("mlockd %s\n", MLOCKD_VERSION);
                        return 0;
                case ARG_CONFIG:
                        arg_config = optarg;
                        break;
                case ARG_SOCKET:
                        arg_socket = optarg;
                        break;
                case ARG_POLICY_DIR: {
                        char **n = reallocarray(arg_policy_dirs, arg_n_policy_dirs + 2,
                                                sizeof(char *));
                        if (!n)
                                return log_oom();
                        arg_policy_dirs = n;
                        arg_policy_dirs[arg_n_policy_dirs++] = optarg;
                        arg_policy_dirs[arg_n_policy_dirs] = NULL;
                        break;
                }
                case ARG_STATE_DIR:
                        arg_state_dir = optarg;
                        break;
                case ARG_SHIM:
                        /* Workloads resolve LD_PRELOAD in their own working directory: a
                         * relative path is made absolute here, once. */
                        if (optarg[0] != '/') {
                                static char *abs_shim = NULL;

                                free(abs_shim);
                                abs_shim = realpath(optarg, NULL);
                                if (!abs_shim)
                                        return log_error_errno(errno, "--shim '%s': %m", optarg);
                                arg_shim = abs_shim;
                        } else
                                arg_shim = optarg;
                        break;
                case ARG_CHECK_CONFIG:
                        arg_check_config = true;
                        break;
                case ARG_LOG_LEVEL:
                        l = parse_log_level(optarg);
                        if (l < 0)
                                return log_error_errno(EINVAL, "Unknown log level '%s'.", optarg);
                        log_set_max_level(l);
                        break;
                case '?':
                        return -EINVAL;
                default:
                        return log_error_errno(EINVAL, "Unhandled option.");
                }
        if (optind < argc)
                return log_error_errno(EINVAL, "mlockd takes no arguments ('%s').", argv[optind]);
        return 1;
}

/* --check-config: every error, or a line per policy; exit 0 or 1. */
static int check_config(Manager *m) {
        PolicyDiagnostics d = {};
        int r;

        r = manager_load_config(m, &d);
        if (r < 0) {
                for (size_t i = 0; i < d.n; i++)
                        fprintf(stderr, "%s\n", d.messages[i]);
                policy_diagnostics_clear(&d);
                return r;
        }
        policy_diagnostics_clear(&d);
        {
                _cleanup_free_ char *s = daemon_config_summary(&m->config);
                printf("%s: %s\n", m->config_path, strna(s));
        }
        for (size_t i = 0; i < policy_set_size(m->policies); i++) {
                const Policy *p = policy_set_get(m->policies, i);
                _cleanup_free_ char *s = policy_summary(p);
                printf("%s: %s\n", policy_name(p), strna(s));
        }
        printf("%zu policies, configuration valid.\n", policy_set_size(m->policies));
        return 0;
}

static int run(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        /* Freed first (declared later): it is the manager's observer. */
        _cleanup_(bus_server_freep) BusServer *bus = NULL;
        PolicyDiagnostics d = {};
        int r;

        /* Under systemd: the journal, with fields; on a terminal: plain lines; else "<N>". */
        log_set_target(log_target_detect(getenv("JOURNAL_STREAM"), STDERR_FILENO));
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r;

        ManagerSettings s = {
                .config_path = arg_config,
                .socket_path = arg_socket,
                .policy_dirs = arg_policy_dirs,
                .state_dir = arg_state_dir,
                .shim_path = arg_shim,
        };
        r = manager_new(&s, &m);
        if (r < 0)
                return log_error_errno(r, "Failed to set up: %m");
        if (arg_check_config)
                return check_config(m);

        r = self_check_privileged();
        if (r < 0)
                return r;
        bus_error_register();

        r = manager_load_config(m, &d);
        if (r < 0) {
                log_error("The configuration is invalid, not starting:");
                for (size_t i = 0; i < d.n; i++)
                        log_error("  %s", d.messages[i]);
                policy_diagnostics_clear(&d);
                return r;
        }
        policy_diagnostics_clear(&d);

        (void) self_lock_memory();
        r = self_drop_capabilities();
        if (r < 0)
                return r;

        r = manager_startup(m);
        if (r < 0)
                return r;
        r = bus_server_new(m, &bus);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the bus server: %m");
        r = bus_server_start(bus);
        if (r < 0)
                return r;
        r = manager_ready(m);
        if (r < 0)
                return r;
        r = manager_run_loop(m);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        return 0;
}

int main(int argc, char *argv[]) {
        int r = run(argc, argv);

        free(arg_policy_dirs);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
