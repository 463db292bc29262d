/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* memlockctl: main(), global options, the verb table with "did you mean", the pager. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#include "build-config.h"
#include "client/bus-client.h"
#include "client/format.h"
#include "client/memlockctl.h"
#include "common/log.h"
#include "common/macro.h"

const char *arg_socket = NULL;
bool arg_no_pager = false;
bool arg_legend = true;
bool arg_full = false;
bool arg_quiet = false;
JsonMode arg_json = JSON_OFF;

typedef struct Verb {
        const char *name;
        int (*run)(int argc, char *argv[]);
        const char *args;
        const char *description;
} Verb;

static const Verb verbs[] = {
        { "run", verb_run, "[OPTIONS] -- CMD [ARG...]", "Start CMD with its memory locked" },
        { "exec", verb_exec, "[OPTIONS] -- CMD [ARG...]", "Lock this process, then exec CMD" },
        { "attach", verb_attach, "[OPTIONS] PID", "Lock a running process" },
        { "detach", verb_detach, "ID|PID", "Unlock a workload and forget it" },
        { "kill", verb_kill, "[--signal SIG] ID|PID", "Send a signal to a workload" },
        { "status", verb_status, "[ID|PID...]", "Show the daemon, or workloads" },
        { "list", verb_list, "", "List workloads with the budget use" },
        { "metrics", verb_metrics, "", "Prometheus text exposition" },
        { "check", verb_check, "", "Is this host ready to lock memory?" },
        { "explain", verb_explain, "PID", "Which policy applies to PID, and why" },
        { "reload", verb_reload, "", "Reload configuration and policies" },
        { "policy", verb_policy, "check|list|explain ...", "Check, list, explain policies" },
};

static const char *const verb_names[] = {
        "run",     "exec",  "attach",  "detach", "kill",   "status", "list",
        "metrics", "check", "explain", "reload", "policy", "help",   NULL,
};

static void help(void) {
        printf("memlockctl [OPTIONS] COMMAND ...\n\n"
               "Control mlockd, the daemon that keeps workloads' memory locked in RAM.\n\n"
               "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                printf("  %-8s %-26s %s\n", verbs[i].name, verbs[i].args, verbs[i].description);
        printf("\nOptions:\n"
               "  -h --help           Show this help (also after a command)\n"
               "     --version        Show the version\n"
               "     --socket PATH    The daemon's socket (default $MLOCKD_SOCKET, else %s)\n"
               "     --json[=MODE]    JSON output on read commands: short or pretty\n"
               "     --no-pager       Do not pipe output into a pager\n"
               "     --no-legend      Do not print column headers and the total line\n"
               "     --full           Do not cut names to fit the terminal's width\n"
               "  -q --quiet          Print less\n"
               "\nExit status: 0 ok, 1 failed, 2 usage, 3 denied, 4 not found, 5 daemon "
               "unreachable.\n"
               "See memlockctl(1) for details.\n",
               MLOCKD_SOCKET_PATH);
}

int usage_error(const char *verb, const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "memlockctl%s%s: ", verb ? " " : "", verb ?: "");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\nTry 'memlockctl %s%s--help'.\n", verb ?: "", verb ? " " : "");
        return CTL_EXIT_USAGE;
}

int option_error(const char *verb, char *argv[]) {
        const char *arg = optind > 0 ? argv[optind - 1] : "?";

        if (optopt > 0 && optopt < 0x100 && !startswith(arg, "--"))
                return usage_error(verb, "Unknown option '-%c' or missing argument.", optopt);
        return usage_error(verb, "Unknown option '%s' or missing argument.", arg);
}

int global_option(int c, const char *optarg_) {
        switch (c) {
        case ARG_SOCKET:
                if (optarg_[0] == '\0')
                        return -usage_error(NULL, "--socket needs a path.");
                arg_socket = optarg_;
                return 1;
        case ARG_NO_PAGER:
                arg_no_pager = true;
                return 1;
        case ARG_FULL:
                arg_full = true;
                return 1;
        case ARG_NO_LEGEND:
                arg_legend = false;
                return 1;
        case ARG_JSON:
                if (!optarg_)
                        arg_json = isatty(STDOUT_FILENO) ? JSON_PRETTY : JSON_SHORT;
                else if (streq(optarg_, "short"))
                        arg_json = JSON_SHORT;
                else if (streq(optarg_, "pretty"))
                        arg_json = JSON_PRETTY;
                else
                        return -usage_error(NULL, "--json takes 'short' or 'pretty', not '%s'.",
                                            optarg_);
                return 1;
        case 'q':
                arg_quiet = true;
                return 1;
        case ARG_VERSION:
                /* Nothing to clean up while options are parsed: done. */
                printf("memlockctl %s\n", MLOCKD_VERSION);
                fflush(stdout);
                exit(CTL_EXIT_OK);
        default:
                return 0;
        }
}

static int colors_cached = -1;

bool use_colors(void) {
        if (colors_cached < 0)
                colors_cached =
                        colors_wanted(isatty(STDOUT_FILENO), getenv("NO_COLOR"), getenv("TERM"));
        return colors_cached;
}

static ssize_t columns_cached = -1;

size_t output_columns(void) {
        struct winsize ws = {};
        bool tty = isatty(STDOUT_FILENO);

        if (columns_cached >= 0)
                return (size_t) columns_cached;
        if (tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0)
                ws.ws_col = 80;
        columns_cached = (ssize_t) columns_wanted(arg_full, getenv("COLUMNS"), tty,
                                                  ws.ws_col > 0 ? ws.ws_col : 80);
        return (size_t) columns_cached;
}

static pid_t pager_pid = 0;

void pager_open(void) {
        const char *pager;
        int fds[2];
        pid_t pid;

        if (arg_no_pager || pager_pid > 0 || !isatty(STDOUT_FILENO))
                return;
        pager = getenv("MEMLOCKCTL_PAGER") ?: getenv("PAGER");
        if (pager && (pager[0] == '\0' || streq(pager, "cat")))
                return;
        (void) use_colors(); /* decide while stdout is still the terminal */
        (void) output_columns();

        if (pipe2(fds, O_CLOEXEC) < 0)
                return;
        fflush(stdout);
        pid = fork();
        if (pid < 0) {
                safe_close(fds[0]);
                safe_close(fds[1]);
                return;
        }
        if (pid == 0) {
                if (dup2(fds[0], STDIN_FILENO) < 0)
                        _exit(EXIT_FAILURE);
                /* F: quit if one screen; R: colours; X: leave the text on the screen. */
                setenv("LESS", "FRX", 0);
                if (pager)
                        execl("/bin/sh", "sh", "-c", pager, (char *) NULL);
                execlp("less", "less", (char *) NULL);
                execlp("more", "more", (char *) NULL);
                /* No pager at all: copy through. */
                execlp("cat", "cat", (char *) NULL);
                _exit(EXIT_FAILURE);
        }
        if (dup2(fds[1], STDOUT_FILENO) < 0) {
                safe_close(fds[0]);
                safe_close(fds[1]);
                return;
        }
        safe_close(fds[0]);
        safe_close(fds[1]);
        /* A pager that quits early must not kill us with SIGPIPE mid-output. */
        signal(SIGPIPE, SIG_IGN);
        pager_pid = pid;
}

void pager_close(void) {
        if (pager_pid <= 0)
                return;
        fflush(stdout);
        (void) close(STDOUT_FILENO);
        (void) waitpid(pager_pid, NULL, 0);
        pager_pid = 0;
}

static int verb_help(int argc, char *argv[]) {
        help();
        return CTL_EXIT_OK;
}

static int dispatch(int argc, char *argv[]) {
        const char *closest;

        if (argc <= 0) {
                help();
                return CTL_EXIT_USAGE;
        }
        if (streq(argv[0], "help"))
                return verb_help(argc, argv);
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, argv[0])) {
                        optind = 0; /* the verb parses its own options from scratch */
                        return verbs[i].run(argc, argv);
                }
        closest = find_closest(argv[0], verb_names);
        if (closest)
                return usage_error(NULL, "Unknown command '%s'. Did you mean '%s'?", argv[0],
                                   closest);
        return usage_error(NULL, "Unknown command '%s'.", argv[0]);
}

int parse_global_options_only(int argc, char *argv[], int (*show_help)(void), int *ret) {
        static const struct option options[] = { GLOBAL_OPTIONS, {} };
        int c, r;

        while ((c = getopt_long(argc, argv, GLOBAL_SHORTOPTS, options, NULL)) >= 0) {
                r = global_option(c, optarg);
                if (r < 0) {
                        *ret = -r;
                        return 0;
                }
                if (r > 0)
                        continue;
                if (c == 'h') {
                        *ret = show_help();
                        return 0;
                }
                *ret = option_error(argv[0], argv);
                return 0;
        }
        return 1;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = { GLOBAL_OPTIONS, {} };
        int c, r;

        log_set_prefix(false);
        log_set_keep_newlines(true);
        log_set_ident("memlockctl");
        /* Display widths (wcwidth) of names in tables need a UTF-8 LC_CTYPE; without one in the
         * environment, C.UTF-8 still measures CJK names right (output bytes do not change). */
        if (!setlocale(LC_CTYPE, "") || !streq(nl_langinfo(CODESET), "UTF-8"))
                (void) setlocale(LC_CTYPE, "C.UTF-8");
        if (getenv("MEMLOCKCTL_DEBUG"))
                log_set_max_level(LOG_DEBUG);

        /* Global options before the command; '+' stops at the command name. */
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+" GLOBAL_SHORTOPTS, options, NULL)) >= 0) {
                if (c == 'h') {
                        help();
                        return CTL_EXIT_OK;
                }
                if (c == '?' || c == ':')
                        return option_error(NULL, argv);
                r = global_option(c, optarg);
                if (r < 0)
                        return -r;
        }

        r = dispatch(argc - optind, argv + optind);
        pager_close();
        fflush(stdout);
        return r;
}
