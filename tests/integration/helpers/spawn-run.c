/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Drives daemon/helpers/spawn.c without the daemon, for tests and by hand:
 *
 *   spawn-run [--uid N] [--gid N] [--groups G,G] [--cwd DIR] [--umask OCT] [--mode M]
 *             [--limit SIZE] [--prefault-threads N] [--on-failure abort|continue] [--inherit]
 *             [--shim PATH] [--sys-resource yes|no] [--sys-ptrace yes|no]
 *             [--clear-env] [--setenv NAME=VALUE]... -- CMD [ARG...]
 *
 * The workload gets this program's stdin/stdout/stderr and (unless --clear-env) its
 * environment, plus --setenv entries, as the caller's. On stderr it prints
 *   "spawn-run: pid=P mechanism=M kind=K exe=PATH"
 *   "spawn-run: report error=E stage=S vm_lck=B duration_usec=U flags=F"  (or "report none: ...")
 * then waits for the workload and exits with its status (128+N for a signal). Spawn errors
 * are printed as "spawn-run: error: MESSAGE" with exit status 125.
 * By default --sys-resource and --sys-ptrace are what this process holds (daemon/privileges.h). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/lock-mode.h"
#include "common/macro.h"
#include "common/parse-util.h"
#include "daemon/privileges.h"
#include "daemon/core/shim-report-reader.h"
#include "daemon/helpers/spawn.h"

#define ENV_MAX 4096
#define GROUPS_MAX 64

extern char **environ;

static int parse_yes_no(const char *s, bool *ret) {
        int b = parse_boolean(s);
        if (b < 0)
                return b;
        *ret = b;
        return 0;
}

int main(int argc, char *argv[]) {
        enum {
                ARG_UID = 0x100,
                ARG_GID,
                ARG_GROUPS,
                ARG_CWD,
                ARG_UMASK,
                ARG_MODE,
                ARG_LIMIT,
                ARG_PREFAULT,
                ARG_ON_FAILURE,
                ARG_INHERIT,
                ARG_SHIM,
                ARG_SYS_RESOURCE,
                ARG_SYS_PTRACE,
                ARG_CLEAR_ENV,
                ARG_SETENV,
        };
        static const struct option options[] = {
                { "uid", required_argument, NULL, ARG_UID },
                { "gid", required_argument, NULL, ARG_GID },
                { "groups", required_argument, NULL, ARG_GROUPS },
                { "cwd", required_argument, NULL, ARG_CWD },
                { "umask", required_argument, NULL, ARG_UMASK },
                { "mode", required_argument, NULL, ARG_MODE },
                { "limit", required_argument, NULL, ARG_LIMIT },
                { "prefault-threads", required_argument, NULL, ARG_PREFAULT },
                { "on-failure", required_argument, NULL, ARG_ON_FAILURE },
                { "inherit", no_argument, NULL, ARG_INHERIT },
                { "shim", required_argument, NULL, ARG_SHIM },
                { "sys-resource", required_argument, NULL, ARG_SYS_RESOURCE },
                { "sys-ptrace", required_argument, NULL, ARG_SYS_PTRACE },
                { "clear-env", no_argument, NULL, ARG_CLEAR_ENV },
                { "setenv", required_argument, NULL, ARG_SETENV },
                {},
        };
        LockSettings lock = {
                .mode = LOCK_MODE_ON,
                .limit = 512ULL << 20,
                .prefault_threads = 0,
                .on_failure = ON_FAILURE_ABORT,
        };
        static char *env[ENV_MAX + 1];
        static gid_t groups[GROUPS_MAX];
        _cleanup_free_ char *error = NULL, *cwd_buf = NULL;
        SpawnResult res = { .pidfd = -EBADF, .report_fd = -EBADF };
        const char *shim = "", *cwd = NULL, *reason = NULL;
        size_t n_env = 0, n_groups = 0;
        Privileges privs = {};
        bool clear_env = false;
        uid_t uid = getuid();
        gid_t gid = getgid();
        mode_t mask = 022;
        ShimReport report;
        SpawnRequest req;
        uint32_t u;
        int c, r, status;

        (void) privileges_query(&privs);

        while ((c = getopt_long(argc, argv, "+", options, NULL)) >= 0) {
                switch (c) {
                case ARG_UID:
                        if (parse_uint32(optarg, &u) < 0)
                                goto usage;
                        uid = u;
                        break;
                case ARG_GID:
                        if (parse_uint32(optarg, &u) < 0)
                                goto usage;
                        gid = u;
                        break;
                case ARG_GROUPS:
                        for (char *s = optarg, *t; (t = strsep(&s, ","));) {
                                if (n_groups >= GROUPS_MAX || parse_uint32(t, &u) < 0)
                                        goto usage;
                                groups[n_groups++] = u;
                        }
                        break;
                case ARG_CWD:
                        cwd = optarg;
                        break;
                case ARG_UMASK: {
                        char *end;
                        unsigned long m;

                        errno = 0;
                        m = strtoul(optarg, &end, 8);
                        if (errno != 0 || *end != '\0' || end == optarg || m > 0777)
                                goto usage;
                        mask = (mode_t) m;
                        break;
                }
                case ARG_MODE:
                        lock.mode = lock_mode_from_string(optarg);
                        if (lock.mode < 0)
                                goto usage;
                        break;
                case ARG_LIMIT:
                        if (parse_size(optarg, 0, &lock.limit, &reason) < 0) {
                                fprintf(stderr, "spawn-run: --limit: %s\n", strna(reason));
                                return 2;
                        }
                        break;
                case ARG_PREFAULT:
                        if (streq(optarg, "auto"))
                                lock.prefault_threads = -1;
                        else if (parse_uint32(optarg, &u) < 0 || u > 1024)
                                goto usage;
                        else
                                lock.prefault_threads = (int) u;
                        break;
                case ARG_ON_FAILURE:
                        if (streq(optarg, "abort"))
                                lock.on_failure = ON_FAILURE_ABORT;
                        else if (streq(optarg, "continue"))
                                lock.on_failure = ON_FAILURE_CONTINUE;
                        else
                                goto usage;
                        break;
                case ARG_INHERIT:
                        lock.inherit = true;
                        break;
                case ARG_SHIM:
                        shim = optarg;
                        break;
                case ARG_SYS_RESOURCE:
                        if (parse_yes_no(optarg, &privs.sys_resource) < 0)
                                goto usage;
                        break;
                case ARG_SYS_PTRACE:
                        if (parse_yes_no(optarg, &privs.sys_ptrace) < 0)
                                goto usage;
                        break;
                case ARG_CLEAR_ENV:
                        clear_env = true;
                        break;
                case ARG_SETENV:
                        if (n_env >= ENV_MAX)
                                goto usage;
                        env[n_env++] = optarg;
                        break;
                default:
                        goto usage;
                }
        }
        if (optind >= argc)
                goto usage;

        if (!clear_env)
                for (char **e = environ; *e && n_env < ENV_MAX; e++)
                        env[n_env++] = *e;
        env[n_env] = NULL;

        if (!cwd) {
                cwd_buf = getcwd(NULL, 0);
                cwd = cwd_buf ?: "/";
        }

        req = (SpawnRequest){
                .root_fd = -EBADF,
                .cwd_fd = -EBADF,
                .argv = argv + optind,
                .env = env,
                .cwd = cwd,
                .stdin_fd = STDIN_FILENO,
                .stdout_fd = STDOUT_FILENO,
                .stderr_fd = STDERR_FILENO,
                .uid = uid,
                .gid = gid,
                .groups = groups,
                .n_groups = n_groups,
                .umask = mask,
                .shim_path = shim,
                .lock = &lock,
                .daemon_has_sys_resource = privs.sys_resource,
                .daemon_has_sys_ptrace = privs.sys_ptrace,
        };
        r = spawn_workload(&req, &res, &error);
        if (r < 0) {
                fprintf(stderr, "spawn-run: error: %s\n", strna(error));
                return 125;
        }
        fprintf(stderr, "spawn-run: pid=%d mechanism=%s kind=%s exe=%s\n", (int) res.pid,
                mechanism_to_string(res.mechanism), exec_kind_to_string(res.kind), res.exe);

        r = shim_report_read_wait(res.report_fd, 30 * 1000000ULL, &report);
        if (r < 0)
                fprintf(stderr, "spawn-run: report none: %s\n", strerror(-r));
        else
                fprintf(stderr,
                        "spawn-run: report error=%d stage=%s vm_lck=%llu duration_usec=%llu "
                        "flags=%u\n",
                        report.error, strna(shim_stage_to_string(report.stage)),
                        (unsigned long long) report.vm_lck_bytes,
                        (unsigned long long) report.duration_usec, report.flags);

        while (waitpid(res.pid, &status, 0) < 0)
                if (errno != EINTR) {
                        perror("spawn-run: waitpid");
                        spawn_result_done(&res);
                        return 125;
                }
        spawn_result_done(&res);
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return WEXITSTATUS(status);

usage:
        fprintf(stderr, "spawn-run: bad arguments (see the comment at the top of spawn-run.c)\n");
        return 2;
}
