/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Wall-clock cost of starting a command, several commands interleaved run by run, so that the
 * machine's noise hits every candidate alike. Used for `memlockctl run -- /bin/true` against
 * `/bin/true` and `setpriv ... /bin/true`, and for timing `memlockctl metrics`.
 *
 *   spawn-overhead [--runs 200] [--warmup 5] [--baseline NAME] [--format markdown|tsv]
 *                  [--data FILE] [--max-seconds S] NAME=COMMAND...
 *
 * COMMAND is split on spaces (no quoting); it runs with stdin and stdout on /dev/null and
 * must exit 0. Time is measured from before posix_spawn() to after waitpid(). */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/parse-util.h"
#include "bench/bench-stats.h"

#define COMMANDS_MAX 8
#define ARGS_MAX 64
#define RUNS_MAX 100000U

extern char **environ;

static unsigned arg_runs = 200;
static unsigned arg_warmup = 5;
static const char *arg_baseline = NULL;
static const char *arg_data = NULL;
static bool arg_tsv = false;
static unsigned arg_max_seconds = 0; /* 0: no limit; else stop after this, with >= 3 runs */

typedef struct Command {
        const char *name;
        char *argv[ARGS_MAX + 1];
        uint64_t *ns; /* one per run */
        unsigned failures;
        int last_status;
} Command;

static int parse_command(char *spec, Command *ret) {
        char *eq = strchr(spec, '='), *save = NULL;
        size_t n = 0;

        if (!eq || eq == spec)
                return -EINVAL;
        *eq = '\0';
        *ret = (Command){ .name = spec };
        for (char *w = strtok_r(eq + 1, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
                if (n >= ARGS_MAX)
                        return -E2BIG;
                ret->argv[n++] = w;
        }
        if (n == 0)
                return -EINVAL;
        ret->argv[n] = NULL;
        return 0;
}

/* Runs the command once; returns the elapsed nanoseconds, or 0 if it could not be started or
 * did not exit 0 (then c->failures counts it). */
static uint64_t run_once(Command *c, int null_fd) {
        posix_spawn_file_actions_t fa;
        pid_t pid;
        int status, r;

        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, null_fd, STDIN_FILENO);
        posix_spawn_file_actions_adddup2(&fa, null_fd, STDOUT_FILENO);
        uint64_t t0 = now_ns();
        r = posix_spawnp(&pid, c->argv[0], &fa, NULL, c->argv, environ);
        if (r == 0)
                r = waitpid(pid, &status, 0) < 0 ? errno : 0;
        uint64_t t1 = now_ns();
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                if (c->failures++ == 0)
                        fprintf(stderr, "spawn-overhead: %s failed: %s\n", c->name,
                                r != 0 ? strerror(r) : "non-zero exit");
                c->last_status = r != 0 ? -r : status;
                return 0;
        }
        return t1 - t0;
}

static int help(void) {
        printf("Usage: spawn-overhead [--runs N] [--warmup N] [--baseline NAME]\n"
               "                      [--format markdown|tsv] [--data FILE] [--max-seconds S]\n"
               "                      NAME=COMMAND...\n");
        return 0;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "runs", required_argument, NULL, 'r' },
                { "warmup", required_argument, NULL, 'w' },
                { "baseline", required_argument, NULL, 'b' },
                { "format", required_argument, NULL, 'f' },
                { "data", required_argument, NULL, 'd' },
                { "max-seconds", required_argument, NULL, 'M' },
                {},
        };
        Command cmds[COMMANDS_MAX];
        size_t n = 0, base = 0;
        uint32_t u;
        int c, r;

        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return help();
                case 'r':
                case 'w':
                        r = parse_uint32(optarg, &u);
                        if (r < 0 || u > RUNS_MAX || (c == 'r' && u < 1)) {
                                fprintf(stderr, "spawn-overhead: invalid count '%s'\n", optarg);
                                return 2;
                        }
                        if (c == 'r')
                                arg_runs = u;
                        else
                                arg_warmup = u;
                        break;
                case 'b':
                        arg_baseline = optarg;
                        break;
                case 'f':
                        if (!streq(optarg, "markdown") && !streq(optarg, "tsv")) {
                                fprintf(stderr, "spawn-overhead: --format markdown|tsv\n");
                                return 2;
                        }
                        arg_tsv = streq(optarg, "tsv");
                        break;
                case 'd':
                        arg_data = optarg;
                        break;
                case 'M':
                        r = parse_uint32(optarg, &u);
                        if (r < 0 || u < 1 || u > 86400) {
                                fprintf(stderr, "spawn-overhead: --max-seconds: 1..86400\n");
                                return 2;
                        }
                        arg_max_seconds = u;
                        break;
                default:
                        return 2;
                }
        for (int i = optind; i < argc; i++) {
                if (n >= COMMANDS_MAX) {
                        fprintf(stderr, "spawn-overhead: at most %d commands\n", COMMANDS_MAX);
                        return 2;
                }
                r = parse_command(argv[i], &cmds[n]);
                if (r < 0) {
                        fprintf(stderr, "spawn-overhead: expected NAME=COMMAND, got '%s'\n",
                                argv[i]);
                        return 2;
                }
                cmds[n].ns = calloc(arg_runs, sizeof(uint64_t));
                if (!cmds[n].ns)
                        return 1;
                if (arg_baseline && streq(cmds[n].name, arg_baseline))
                        base = n;
                n++;
        }
        if (n == 0) {
                help();
                return 2;
        }

        _cleanup_close_ int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null_fd < 0)
                return 1;

        /* The time budget includes the warm-up. */
        uint64_t deadline = now_ns() + (uint64_t) arg_max_seconds * 1000000000ULL;
        for (unsigned w = 0; w < arg_warmup; w++)
                for (size_t i = 0; i < n; i++)
                        (void) run_once(&cmds[i], null_fd);
        for (size_t i = 0; i < n; i++)
                cmds[i].failures = 0;

        /* Interleaved: each run starts every command once, the order rotating run by run. */
        for (unsigned run = 0; run < arg_runs; run++) {
                if (arg_max_seconds > 0 && run >= 3 && now_ns() > deadline) {
                        fprintf(stderr, "spawn-overhead: stopped after %u runs (--max-seconds)\n",
                                run);
                        arg_runs = run;
                        break;
                }
                for (size_t i = 0; i < n; i++) {
                        Command *cmd = &cmds[(i + run) % n];
                        cmd->ns[run] = run_once(cmd, null_fd);
                }
        }

        /* Failed runs (0) sort first; statistics use the successful ones only. */
        size_t ok[COMMANDS_MAX];
        int exit_code = 0;
        for (size_t i = 0; i < n; i++) {
                qsort(cmds[i].ns, arg_runs, sizeof(uint64_t), cmp_u64);
                ok[i] = arg_runs - cmds[i].failures;
                if (ok[i] == 0) {
                        fprintf(stderr, "spawn-overhead: every run of %s failed\n", cmds[i].name);
                        exit_code = 1;
                }
        }
        if (exit_code)
                return exit_code;

#define MS(x) ((double) (x) / 1e6)
        const uint64_t *bs = cmds[base].ns + cmds[base].failures;
        uint64_t b50 = percentile(bs, ok[base], 50), b99 = percentile(bs, ok[base], 99);
        if (!arg_tsv) {
                printf("| command | runs | median (ms) | p99 (ms) | min (ms) | max (ms) | added "
                       "at median (ms) | added at p99 (ms) | ratio (median) |\n");
                printf("|---|---|---|---|---|---|---|---|---|\n");
        }
        for (size_t i = 0; i < n; i++) {
                const uint64_t *s = cmds[i].ns + cmds[i].failures;
                uint64_t p50 = percentile(s, ok[i], 50), p99 = percentile(s, ok[i], 99);
                if (arg_tsv) {
                        printf("%s\t%zu\t%.3f\t%.3f\t%.3f\t%.3f\t%u\n", cmds[i].name, ok[i],
                               MS(p50), MS(p99), MS(s[0]), MS(s[ok[i] - 1]), cmds[i].failures);
                        continue;
                }
                printf("| %s | %zu%s | %.3f | %.3f | %.3f | %.3f | ", cmds[i].name, ok[i],
                       cmds[i].failures ? " (some failed)" : "", MS(p50), MS(p99), MS(s[0]),
                       MS(s[ok[i] - 1]));
                if (i == base)
                        printf("baseline | baseline | 1.00x |\n");
                else
                        printf("%+.3f | %+.3f | %.2fx |\n", MS((double) p50 - (double) b50),
                               MS((double) p99 - (double) b99), (double) p50 / (double) b50);
        }

        if (arg_data) {
                _cleanup_fclose_ FILE *f = fopen(arg_data, "we");
                if (!f)
                        return 1;
                /* One row per quantile: the fraction, then each command's time in ms. */
                fprintf(f, "# fraction");
                for (size_t i = 0; i < n; i++)
                        fprintf(f, " %s", cmds[i].name);
                fprintf(f, "\n");
                for (unsigned k = 0; k < arg_runs; k++) {
                        double q = ((double) k + 0.5) / arg_runs;
                        fprintf(f, "%.4f", q);
                        for (size_t i = 0; i < n; i++) {
                                const uint64_t *s = cmds[i].ns + cmds[i].failures;
                                fprintf(f, " %.4f", MS(percentile(s, ok[i], q * 100)));
                        }
                        fprintf(f, "\n");
                }
        }
        return 0;
}
