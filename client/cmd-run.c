/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* memlockctl run, exec and kill. */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "client/bus-client.h"
#include "client/memlockctl.h"
#include "client/request-options.h"
#include "client/workload-wait.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/parse-util.h"
#include "daemon/bus/bus-limits.h"

extern char **environ;

enum {
        ARG_DETACH = _ARG_VERB_FIRST,
        ARG_SIGNAL,
};

static int help_run(void) {
        printf("memlockctl run [OPTIONS] -- CMD [ARG...]\n\n"
               "Start CMD through mlockd with its memory locked, as yourself, with this\n"
               "terminal's stdin, stdout and stderr, environment and working directory. In the\n"
               "foreground (default) SIGINT, SIGTERM, SIGHUP and SIGQUIT are forwarded to CMD and\n"
               "memlockctl exits with its status (128+N after signal N).\n\n"
               "  -h --help                 Show this help\n"
               "     --policy P             Ask for policy P\n"
               "     --mode MODE            on, on-fault or current\n"
               "     --limit SIZE           Lock at most SIZE (e.g. 512M, 4G)\n"
               "     --prefault-threads N   auto or 0..1024\n"
               "     --name NAME            The workload's display name\n"
               "     --detach               Print the workload id and return; CMD stays with the\n"
               "                            daemon\n");
        return CTL_EXIT_OK;
}

static int help_exec(void) {
        printf("memlockctl exec [OPTIONS] -- CMD [ARG...]\n\n"
               "Register this process with mlockd, then exec CMD in its place with the lock\n"
               "settings the daemon returns (same pid and cgroup: for systemd ExecStart= "
               "lines).\n\n"
               "  -h --help        Show this help\n"
               "     --policy P    Ask for policy P\n"
               "     --mode MODE   on, on-fault or current\n"
               "     --limit SIZE  Lock at most SIZE\n"
               "     --name NAME   The workload's display name (e.g. the unit's, %%N)\n");
        return CTL_EXIT_OK;
}

static int help_kill(void) {
        printf("memlockctl kill [--signal SIG] ID|PID\n\n"
               "Send a signal (default SIGTERM) to a workload.\n\n"
               "  -h --help          Show this help\n"
               "  -s --signal SIG    TERM, SIGKILL, 9, ...\n");
        return CTL_EXIT_OK;
}

/* "TERM", "SIGTERM", "15" → 15; -EINVAL otherwise. */
static int parse_signal(const char *s) {
        uint32_t n;

        if (parse_uint32(s, &n) >= 0)
                return n > 0 && n < _NSIG ? (int) n : -EINVAL;
        s = startswith(s, "SIG") ?: s;
        for (int i = 1; i < NSIG; i++) {
                const char *a = sigabbrev_np(i);
                if (a && streq(a, s))
                        return i;
        }
        return -EINVAL;
}

/* Whether CMD can be found and executed as the shell would, so that a typo fails here with a
 * clear message and nothing is asked of the daemon. */
static int find_command(const char *cmd) {
        _cleanup_free_ char *path_copy = NULL;
        const char *path;
        char *state = NULL;

        if (strchr(cmd, '/'))
                return access(cmd, X_OK) < 0 ? -errno : 0;
        path = getenv("PATH") ?: "/usr/local/bin:/usr/bin:/bin";
        path_copy = strdup(path);
        if (!path_copy)
                return -ENOMEM;
        for (char *dir = strtok_r(path_copy, ":", &state); dir; dir = strtok_r(NULL, ":", &state)) {
                _cleanup_free_ char *p = NULL;
                struct stat st;
                if (asprintf(&p, "%s/%s", dir[0] ? dir : ".", cmd) < 0)
                        return -ENOMEM;
                if (stat(p, &st) >= 0 && S_ISREG(st.st_mode) && access(p, X_OK) >= 0)
                        return 0;
        }
        return -ENOENT;
}

/* Parses the options shared by run and exec. Returns -1 to go on, else an exit code. */
static int parse_run_args(int argc, char *argv[], bool exec_verb, RequestOptions *o,
                          bool *ret_detach) {
        static const struct option run_options[] = {
                GLOBAL_OPTIONS,
                REQUEST_OPTIONS_POLICY_MODE_LIMIT,
                REQUEST_OPTIONS_NAME_THREADS,
                { "detach", no_argument, NULL, ARG_DETACH },
                {},
        };
        static const struct option exec_options[] = {
                GLOBAL_OPTIONS,
                REQUEST_OPTIONS_POLICY_MODE_LIMIT,
                { "name", required_argument, NULL, ARG_REQ_NAME },
                {},
        };
        int c, r;

        /* '+': everything after CMD belongs to CMD, with or without "--". */
        while ((c = getopt_long(argc, argv, "+" GLOBAL_SHORTOPTS,
                                exec_verb ? exec_options : run_options, NULL)) >= 0) {
                r = global_option(c, optarg);
                if (r < 0)
                        return -r;
                if (r > 0)
                        continue;
                r = request_option(c, optarg, argv[0], o);
                if (r < 0)
                        return -r;
                if (r > 0)
                        continue;
                switch (c) {
                case 'h':
                        return exec_verb ? help_exec() : help_run();
                case ARG_DETACH:
                        *ret_detach = true;
                        break;
                default:
                        return option_error(argv[0], argv);
                }
        }
        if (optind >= argc)
                return usage_error(argv[0],
                                   "Expected a command: memlockctl %s [OPTIONS] -- CMD "
                                   "[ARG...]",
                                   argv[0]);
        r = find_command(argv[optind]);
        if (r == -ENOENT || r == -ENOTDIR) {
                log_error("%s: '%s': command not found.", argv[0], argv[optind]);
                return CTL_EXIT_NOT_FOUND;
        }
        if (r < 0) {
                log_error_errno(r, "%s: '%s' cannot be executed: %m", argv[0], argv[optind]);
                return CTL_EXIT_FAILED;
        }
        return -1;
}

/* stdin/stdout/stderr for the workload; a closed one is replaced by /dev/null. */
static int stdio_fd(int fd, int *ret_opened) {
        if (fd >= 0 && fcntl(fd, F_GETFD) >= 0)
                return fd;
        *ret_opened = open("/dev/null",
                           (fd == STDOUT_FILENO || fd == STDERR_FILENO ? O_WRONLY : O_RDONLY) |
                                   O_CLOEXEC);
        return *ret_opened;
}

/* mlockd refuses (and above LIMIT_MESSAGE_BYTES, disconnects) a Run whose argv or environment
 * is too large: say so here, with the numbers, rather than show a reset connection. */
static int check_strv_size(const char *what, char *const *l, unsigned max_n, size_t max_bytes) {
        size_t n = 0, bytes = 0;

        for (char *const *i = l; i && *i; i++) {
                n++;
                bytes += strlen(*i) + 1;
        }
        if (n <= max_n && bytes <= max_bytes)
                return 0;
        log_error("The %s has %zu entries and %zu KiB; mlockd accepts at most %u entries and "
                  "%zu KiB.",
                  what, n, (bytes + 1023) / 1024, max_n, max_bytes / 1024);
        return -E2BIG;
}

int verb_run(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(workload_wait_freep) WorkloadWait *wait = NULL;
        _cleanup_free_ char *cwd = NULL, *path = NULL;
        _cleanup_close_ int null0 = -EBADF, null1 = -EBADF, null2 = -EBADF;
        RequestOptions o = REQUEST_OPTIONS_INIT;
        bool detach = false;
        const char *p;
        int r;

        r = parse_run_args(argc, argv, false, &o, &detach);
        if (r >= 0)
                return r;
        o.detach = detach;

        cwd = getcwd(NULL, 0);
        if (!cwd)
                return log_error_errno(errno, "Failed to get the working directory: %m"),
                       CTL_EXIT_FAILED;

        if (check_strv_size("command line", argv + optind, LIMIT_ARGV_COUNT, LIMIT_ARGV_BYTES) <
                    0 ||
            check_strv_size("environment", environ, LIMIT_ENV_COUNT, LIMIT_ENV_BYTES) < 0)
                return CTL_EXIT_FAILED;
        r = bus_connect_quick_or_log(&bus);
        if (r != CTL_EXIT_OK)
                return r;
        if (!detach) {
                /* Subscribe and block the forwarded signals before the workload exists. */
                r = workload_wait_new(bus, WAIT_FOR_EXIT, &wait);
                if (r < 0)
                        return log_error_errno(r, "Failed to subscribe to signals: %m"),
                               CTL_EXIT_FAILED;
                r = forwarded_signals_block();
                if (r < 0)
                        return log_error_errno(r, "Failed to block signals: %m"), CTL_EXIT_FAILED;
        }

        r = sd_bus_message_new_method_call(bus, &m, NULL, MLOCKD_MANAGER_PATH, MLOCKD_MANAGER_IFACE,
                                           "Run");
        if (r >= 0)
                r = sd_bus_message_append_strv(m, argv + optind);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, environ);
        if (r >= 0)
                /* A detached workload outlives this terminal session: it gets no input, like a
                 * background job; its output still goes where ours goes. */
                r = sd_bus_message_append(
                        m, "shhh", cwd,
                        detach ? stdio_fd(-EBADF, &null0) : stdio_fd(STDIN_FILENO, &null0),
                        stdio_fd(STDOUT_FILENO, &null1), stdio_fd(STDERR_FILENO, &null2));
        if (r >= 0)
                r = bus_append_request_options(m, &o);
        if (r < 0)
                return log_error_errno(r, "Failed to build the request: %m"), CTL_EXIT_FAILED;

        /* The default timeout: the daemon answers once the workload is forked, before the lock
         * (which the progress line follows). The forwarded signals are blocked meanwhile, so a
         * hung daemon must not keep us waiting forever. */
        r = sd_bus_call(bus, m, 0, &error, &reply);
        if (r < 0)
                return bus_log_error(&error, r, "Failed to run");
        r = sd_bus_message_read(reply, "o", &p);
        if (r < 0)
                return bus_log_error(NULL, r, "Failed to parse the daemon's answer");
        path = strdup(p);
        if (!path)
                return log_oom(), CTL_EXIT_FAILED;

        if (detach) {
                printf("%s\n", workload_path_to_id(path));
                return CTL_EXIT_OK;
        }
        /* Our copies of the stdio fds went to the daemon; the workload has its own. */
        return workload_wait_run(wait, path, o.name ?: argv[optind], true);
}

int verb_exec(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        RequestOptions o = REQUEST_OPTIONS_INIT;
        bool detach = false;
        const char *p;
        int r;

        r = parse_run_args(argc, argv, true, &o, &detach);
        if (r >= 0)
                return r;

        if (check_strv_size("command line", argv + optind, LIMIT_ARGV_COUNT, LIMIT_ARGV_BYTES) < 0)
                return CTL_EXIT_FAILED;
        r = bus_connect_or_log(&bus);
        if (r != CTL_EXIT_OK)
                return r;
        r = sd_bus_message_new_method_call(bus, &m, NULL, MLOCKD_MANAGER_PATH, MLOCKD_MANAGER_IFACE,
                                           "Exec");
        if (r >= 0)
                r = sd_bus_message_append_strv(m, argv + optind);
        if (r >= 0)
                r = bus_append_request_options(m, &o);
        if (r < 0)
                return log_error_errno(r, "Failed to build the request: %m"), CTL_EXIT_FAILED;
        r = sd_bus_call(bus, m, 0, &error, &reply);
        if (r < 0)
                return bus_log_error(&error, r, "Failed to register with mlockd");
        r = sd_bus_message_read(reply, "o", &p);
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "s");
        if (r < 0)
                return bus_log_error(NULL, r, "Failed to parse the daemon's answer");
        for (;;) {
                const char *e, *eq;
                _cleanup_free_ char *key = NULL;

                r = sd_bus_message_read_basic(reply, 's', &e);
                if (r < 0)
                        return bus_log_error(NULL, r, "Failed to parse the daemon's answer");
                if (r == 0)
                        break;
                eq = strchr(e, '=');
                if (!eq || eq == e) {
                        log_warning("Ignoring malformed environment entry '%s' from mlockd.", e);
                        continue;
                }
                key = strndup(e, (size_t) (eq - e));
                if (!key || setenv(key, eq + 1, 1) < 0)
                        return log_oom(), CTL_EXIT_FAILED;
        }
        log_debug("Registered as workload %s, executing '%s'.", workload_path_to_id(p),
                  argv[optind]);

        /* The connection goes; the daemon follows this pid through its pidfd. */
        m = sd_bus_message_unref(m);
        reply = sd_bus_message_unref(reply);
        bus = sd_bus_flush_close_unref(bus);
        fflush(stdout);
        execvp(argv[optind], argv + optind);
        r = -errno;
        log_error_errno(r, "Failed to execute '%s': %m", argv[optind]);
        return r == -ENOENT ? CTL_EXIT_NOT_FOUND : CTL_EXIT_FAILED;
}

int verb_kill(int argc, char *argv[]) {
        static const struct option options[] = {
                GLOBAL_OPTIONS,
                { "signal", required_argument, NULL, 's' },
                {},
        };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL;
        int sig = SIGTERM, c, r;

        while ((c = getopt_long(argc, argv, GLOBAL_SHORTOPTS "s:", options, NULL)) >= 0) {
                r = global_option(c, optarg);
                if (r < 0)
                        return -r;
                if (r > 0)
                        continue;
                switch (c) {
                case 'h':
                        return help_kill();
                case 's':
                        sig = parse_signal(optarg);
                        if (sig < 0)
                                return usage_error(argv[0], "Unknown signal '%s'.", optarg);
                        break;
                default:
                        return option_error(argv[0], argv);
                }
        }
        if (optind + 1 != argc)
                return usage_error(argv[0], "Expected exactly one workload id or pid.");

        r = bus_connect_or_log(&bus);
        if (r != CTL_EXIT_OK)
                return r;
        r = bus_resolve_workload(bus, argv[optind], &path, &error);
        if (r < 0)
                return bus_log_error(&error, r, "Failed to find the workload");
        r = sd_bus_call_method(bus, NULL, MLOCKD_MANAGER_PATH, MLOCKD_MANAGER_IFACE, "Kill", &error,
                               NULL, "oi", path, (int32_t) sig);
        if (r < 0)
                return bus_log_error(&error, r, "Failed to kill the workload");
        return CTL_EXIT_OK;
}
