/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for daemon/spawn.c with real processes, run as uid 65534 (nobody): identity, stdio,
 * environment, errors, the shim path (256 MiB locked) and the exec-stop injection path for
 * static and set-user-ID programs. Needs root; the shim cases need the shim built. */
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <linux/capability.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cap-ng.h>
#include <cmocka.h>

#include "common/macro.h"
#include "common/parse-util.h"
#include "common/proc.h"
#include "daemon/privileges.h"
#include "daemon/core/shim-report-reader.h"
#include "daemon/helpers/spawn.h"

#define NOBODY 65534
#define FAKE_SHIM "/nonexistent/libmemlock-shim.so"

static Privileges privs;
static char tmpdir[] = "/tmp/test-spawn-XXXXXX";
static char shim_path[PATH_MAX], target_path[PATH_MAX];
static bool have_shim;

static const LockSettings default_lock = {
        .mode = LOCK_MODE_ON,
        .limit = 512u << 20,
        .prefault_threads = 0,
        .transparent_hugepages = false,
        .inherit = false,
        .on_failure = ON_FAILURE_ABORT,
};

typedef struct Run {
        /* in */
        const char *const *argv;
        const char *const *env;
        const char *cwd;
        uid_t uid;
        gid_t gid;
        const gid_t *groups;
        size_t n_groups;
        mode_t umask;
        const char *shim;
        LockSettings lock;
        bool sys_resource;
        bool sys_ptrace;
        const char *input; /* NULL: stdin is /dev/null */
        bool want_report;
        /* out */
        int r;
        char *error;
        SpawnResult res;
        char *out, *err;
        int status;
        ShimReport report;
        int report_r;
} Run;

static const char *const default_env[] = { "PATH=/usr/bin:/bin", "HOME=/nonexistent", NULL };

static void run_init(Run *r, const char *const *argv) {
        *r = (Run){
                .argv = argv,
                .env = default_env,
                .cwd = "/",
                .uid = NOBODY,
                .gid = NOBODY,
                .umask = 022,
                .shim = FAKE_SHIM,
                .lock = default_lock,
                .sys_resource = false,
                .sys_ptrace = true,
                .res = { .pidfd = -EBADF, .report_fd = -EBADF },
                .report_r = -ENODATA,
        };
}

static void run_done(Run *r) {
        free(r->error);
        free(r->out);
        free(r->err);
        spawn_result_done(&r->res);
}

static char *read_all(int fd) {
        size_t n = 0, size = 4096;
        char *buf = malloc(size);

        assert_non_null(buf);
        for (;;) {
                ssize_t k;

                if (size - n < 2048) {
                        size *= 2;
                        buf = realloc(buf, size);
                        assert_non_null(buf);
                }
                k = read(fd, buf + n, size - n - 1);
                if (k < 0 && errno == EINTR)
                        continue;
                assert_true(k >= 0);
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        buf[n] = '\0';
        return buf;
}

/* Spawns, feeds input, collects stdout and stderr to EOF, the report if asked, and the exit
 * status. */
static void run(Run *r) {
        int in[2] = { -EBADF, -EBADF }, out[2], err[2];
        SpawnRequest req;

        if (r->input)
                assert_int_equal(pipe2(in, O_CLOEXEC), 0);
        assert_int_equal(pipe2(out, O_CLOEXEC), 0);
        assert_int_equal(pipe2(err, O_CLOEXEC), 0);

        req = (SpawnRequest){
                .root_fd = -EBADF,
                .cwd_fd = -EBADF,
                .argv = (char *const *) r->argv,
                .env = (char *const *) r->env,
                .cwd = r->cwd,
                .stdin_fd = in[0],
                .stdout_fd = out[1],
                .stderr_fd = err[1],
                .uid = r->uid,
                .gid = r->gid,
                .groups = r->groups,
                .n_groups = r->n_groups,
                .umask = r->umask,
                .shim_path = r->shim,
                .lock = &r->lock,
                .daemon_has_sys_resource = r->sys_resource,
                .daemon_has_sys_ptrace = r->sys_ptrace,
        };
        r->r = spawn_workload(&req, &r->res, &r->error);
        safe_close(in[0]);
        safe_close(out[1]);
        safe_close(err[1]);
        if (r->r < 0) {
                assert_non_null(r->error);
                assert_int_equal(r->res.pidfd, -EBADF);
                safe_close(in[1]);
                safe_close(out[0]);
                safe_close(err[0]);
                /* Nothing is left behind. */
                assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
                assert_int_equal(errno, ECHILD);
                return;
        }
        assert_null(r->error);
        assert_true(r->res.pid > 0);
        assert_true(r->res.pidfd >= 0);
        assert_true(r->res.report_fd >= 0);

        if (r->input) {
                size_t l = strlen(r->input);
                assert_int_equal(write(in[1], r->input, l), (ssize_t) l);
                safe_close(in[1]);
        }
        r->out = read_all(out[0]);
        r->err = read_all(err[0]);
        safe_close(out[0]);
        safe_close(err[0]);
        if (r->want_report)
                r->report_r = shim_report_read_wait(r->res.report_fd, 10 * 1000000ULL, &r->report);
        assert_int_equal(waitpid(r->res.pid, &r->status, 0), r->res.pid);
}

static void assert_contains(const char *haystack, const char *needle) {
        if (!haystack || !strstr(haystack, needle))
                fail_msg("'%s' does not contain '%s'", strna(haystack), needle);
}

static void assert_exit(const Run *r, int code) {
        if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != code)
                fail_msg("status 0x%x, expected exit %d; stdout '%s' stderr '%s'", r->status, code,
                         strna(r->out), strna(r->err));
}

/* ---- tests ---------------------------------------------------------------------------- */

static void test_stdio_through_cat(void **state) {
        static const char *const argv[] = { "cat", NULL };
        Run r;

        run_init(&r, argv);
        r.input = "hello through cat\nsecond line\n";
        r.shim = ""; /* LD_PRELOAD= preloads nothing */
        run(&r);
        assert_int_equal(r.r, 0);
        assert_string_equal(r.out, "hello through cat\nsecond line\n");
        assert_exit(&r, 0);
        assert_string_equal(r.res.exe, "/usr/bin/cat");
        assert_int_equal(r.res.kind, EXEC_KIND_DYNAMIC);
        assert_int_equal(r.res.mechanism, MECHANISM_CAPABILITY);
        run_done(&r);
}

static void test_environment(void **state) {
        static const char *const argv[] = {
                "sh", "-c",
                "printf '%s|%s|%s|%s|%s|%s|%s|%s|%s\\n' \"${LD_PRELOAD-unset}\" "
                "\"${LD_LIBRARY_PATH-unset}\" \"${MEMLOCK_MODE-unset}\" \"${MEMLOCK_EVIL-unset}\" "
                "\"$HOME\" \"$TMPDIR\" \"${GCONV_PATH-unset}\" \"$MEMLOCK_REPORT_FD\" \"$PATH\"",
                NULL
        };
        static const char *const env[] = {
                "LD_PRELOAD=/tmp/evil.so", "LD_LIBRARY_PATH=/tmp/evil",
                "MEMLOCK_MODE=current",    "MEMLOCK_EVIL=1",
                "HOME=/home/somebody",     "TMPDIR=/var/tmp",
                "GCONV_PATH=/tmp/gconv",   "PATH=/usr/bin:/bin",
                "MEMLOCK_REPORT_FD=0",     NULL,
        };
        Run r;

        run_init(&r, argv);
        r.env = env;
        r.lock.mode = LOCK_MODE_ON_FAULT;
        run(&r);
        assert_int_equal(r.r, 0);
        /* The loader complains about the missing shim on stderr; that is all it does. */
        assert_string_equal(r.out, FAKE_SHIM "|unset|on-fault|unset|/home/somebody|/var/tmp|"
                                             "unset|3|/usr/bin:/bin\n");
        assert_exit(&r, 0);
        run_done(&r);
}

static int write_oom_score_adj(const char *value) {
        _cleanup_close_ int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (write(fd, value, strlen(value)) < 0)
                return -errno;
        return 0;
}

static void test_identity(void **state) {
        static const char *const argv[] = {
                "/bin/sh", "-c",
                "id -u; id -G; pwd; umask; "
                /* stat(2) only: a glob would open a directory fd of its own */
                "i=0; while [ $i -lt 64 ]; do [ -e /proc/$$/fd/$i ] && printf '%s ' $i; "
                "i=$((i+1)); done; echo; "
                "read -r pid comm st ppid pgrp sid rest < /proc/$$/stat; echo $$ $pgrp $sid; "
                "cat /proc/$$/oom_score_adj; "
                "exec grep -E '^(CapAmb|CapEff|SigBlk|SigIgn):' /proc/self/status",
                NULL
        };
        static const gid_t groups[] = { 100 };
        _cleanup_free_ char *dir = NULL, *expect = NULL;
        _cleanup_close_ int leaked = -EBADF;
        sigset_t block, saved;
        Run r;

        assert_true(asprintf(&dir, "%s/work dir", tmpdir) > 0);
        assert_int_equal(mkdir(dir, 0755), 0);

        /* The daemon blocks signals for its event loop and may ignore some; the workload must
         * start with neither. And an fd without O_CLOEXEC must not leak into it. */
        sigemptyset(&block);
        sigaddset(&block, SIGUSR1);
        assert_int_equal(sigprocmask(SIG_BLOCK, &block, &saved), 0);
        signal(SIGUSR2, SIG_IGN);
        leaked = open("/dev/null", O_RDONLY);
        assert_true(leaked >= 0);
        /* The daemon runs with OOMScoreAdjust=-900; the workload must not inherit it. Lowering
         * needs CAP_SYS_RESOURCE (absent here), so the test moves the other way: any value
         * other than 0 shows whether the child reset it. */
        assert_int_equal(write_oom_score_adj("500"), 0);

        run_init(&r, argv);
        r.cwd = dir;
        r.groups = groups;
        r.n_groups = ELEMENTSOF(groups);
        r.umask = 027;
        r.shim = "";
        run(&r);

        signal(SIGUSR2, SIG_DFL);
        assert_int_equal(sigprocmask(SIG_SETMASK, &saved, NULL), 0);
        assert_int_equal(write_oom_score_adj("0"), 0);

        assert_int_equal(r.r, 0);
        assert_int_equal(r.res.mechanism, MECHANISM_CAPABILITY);
        /* CAP_IPC_LOCK (14) is ambient, so an unprivileged program has it effective. */
        assert_true(asprintf(&expect,
                             "65534\n65534 100\n%s\n0027\n"
                             "0 1 2 3 \n"
                             "%d %d %d\n"
                             "0\n"
                             "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n"
                             "CapEff:\t0000000000004000\nCapAmb:\t0000000000004000\n",
                             dir, r.res.pid, r.res.pid, r.res.pid) > 0);
        assert_true(leaked < 64);
        assert_string_equal(r.out, expect);
        assert_exit(&r, 0);
        run_done(&r);
}

static void test_rlimit(void **state) {
        static const char *const argv[] = {
                "sh", "-c", "ulimit -l; exec grep -E '^(CapInh|CapEff|CapAmb):' /proc/self/status",
                NULL
        };
        void *saved_caps;
        Run r;

        /* The daemon keeps its capabilities inheritable (it hands CAP_IPC_LOCK on as ambient);
         * none of them may reach a workload in the rlimit world. */
        saved_caps = capng_save_state();
        assert_non_null(saved_caps);
        assert_int_equal(capng_get_caps_process(), 0);
        assert_int_equal(capng_updatev(CAPNG_ADD, CAPNG_INHERITABLE, CAP_NET_RAW, CAP_IPC_LOCK,
                                       CAP_SYS_PTRACE, -1),
                         0);
        assert_int_equal(capng_apply(CAPNG_SELECT_CAPS), 0);

        /* Lowering the limit works in both worlds: the rlimit mechanism, no capability. */
        run_init(&r, argv);
        r.shim = "";
        r.sys_resource = true;
        r.lock.limit = 4096;
        run(&r);
        assert_int_equal(r.r, 0);
        assert_int_equal(r.res.mechanism, MECHANISM_RLIMIT);
        assert_string_equal(r.out, "4\nCapInh:\t0000000000000000\nCapEff:\t0000000000000000\n"
                                   "CapAmb:\t0000000000000000\n");
        assert_exit(&r, 0);
        run_done(&r);

        /* The capability world: CAP_IPC_LOCK alone. */
        run_init(&r, argv);
        r.shim = "";
        run(&r);
        assert_int_equal(r.r, 0);
        assert_int_equal(r.res.mechanism, MECHANISM_CAPABILITY);
        /* (The limit is left as inherited from the daemon.) */
        assert_contains(r.out, "\nCapInh:\t0000000000004000\nCapEff:\t0000000000004000\n"
                               "CapAmb:\t0000000000004000\n");
        run_done(&r);

        capng_clear(CAPNG_SELECT_CAPS);
        assert_int_equal(capng_get_caps_process(), 0);
        assert_int_equal(capng_update(CAPNG_DROP, CAPNG_INHERITABLE, CAP_NET_RAW), 0);
        assert_int_equal(capng_update(CAPNG_DROP, CAPNG_INHERITABLE, CAP_IPC_LOCK), 0);
        assert_int_equal(capng_update(CAPNG_DROP, CAPNG_INHERITABLE, CAP_SYS_PTRACE), 0);
        assert_int_equal(capng_apply(CAPNG_SELECT_CAPS), 0);
        capng_restore_state(&saved_caps);

        /* Raising it above the hard limit needs CAP_SYS_RESOURCE. */
        run_init(&r, argv);
        r.shim = "";
        r.sys_resource = true;
        r.lock.limit = 64ULL << 30;
        run(&r);
        if (privs.sys_resource) {
                assert_int_equal(r.r, 0);
                assert_string_equal(r.out, "67108864\nCapEff:\t0000000000000000\n"
                                           "CapAmb:\t0000000000000000\n");
        } else {
                assert_int_equal(r.r, -EPERM);
                assert_string_equal(r.error, "Failed to raise RLIMIT_MEMLOCK to 64.0G: Operation "
                                             "not permitted");
        }
        run_done(&r);
}

static void test_errors(void **state) {
        static const char *const missing[] = { "no-such-command-xyz", "arg", NULL };
        static const char *const missing_abs[] = { "/nonexistent/prog", NULL };
        static const char *const sh[] = { "sh", "-c", "true", NULL };
        _cleanup_free_ char *plain = NULL, *closed = NULL, *inside = NULL, *cmd = NULL,
                            *expect = NULL;
        const char *argv[2] = {};
        Run r;

        run_init(&r, missing);
        run(&r);
        assert_int_equal(r.r, -ENOENT);
        assert_contains(r.error, "'no-such-command-xyz'");
        run_done(&r);

        run_init(&r, missing_abs);
        run(&r);
        assert_int_equal(r.r, -ENOENT);
        assert_contains(r.error, "'/nonexistent/prog'");
        run_done(&r);

        /* Not executable. */
        assert_true(asprintf(&plain, "%s/plain", tmpdir) > 0);
        assert_true(asprintf(&cmd, "echo data > '%s' && chmod 0644 '%s'", plain, plain) > 0);
        assert_int_equal(system(cmd), 0);
        argv[0] = plain;
        run_init(&r, argv);
        run(&r);
        assert_int_equal(r.r, -EACCES);
        assert_true(asprintf(&expect, "'%s' is not executable by uid 65534.", plain) > 0);
        assert_string_equal(r.error, expect);
        run_done(&r);

        /* chdir as the caller. */
        run_init(&r, sh);
        r.cwd = "/nope";
        run(&r);
        assert_int_equal(r.r, -ENOENT);
        assert_string_equal(r.error, "Failed to change directory to '/nope' as uid 65534: No "
                                     "such file or directory");
        run_done(&r);

        assert_true(asprintf(&closed, "%s/closed", tmpdir) > 0);
        assert_int_equal(mkdir(closed, 0700), 0);
        run_init(&r, sh);
        r.cwd = closed;
        run(&r);
        assert_int_equal(r.r, -EACCES);
        free(expect);
        assert_true(asprintf(&expect,
                             "Failed to change directory to '%s' as uid 65534: Permission denied",
                             closed) > 0);
        assert_string_equal(r.error, expect);
        run_done(&r);

        /* The daemon (root) could see the program, the caller cannot reach it: the launch child,
         * which resolves as the caller, says so, as it would for a name that is not there. */
        assert_true(asprintf(&inside, "%s/prog", closed) > 0);
        free(cmd);
        assert_true(asprintf(&cmd, "cp /bin/true '%s'", inside) > 0);
        assert_int_equal(system(cmd), 0);
        argv[0] = inside;
        run_init(&r, argv);
        run(&r);
        assert_int_equal(r.r, -EACCES);
        free(expect);
        assert_true(asprintf(&expect, "Cannot run '%s': Permission denied", inside) > 0);
        assert_string_equal(r.error, expect);
        run_done(&r);

        /* The same for a static program, which goes through the traced start. */
        if (access("/sbin/ldconfig", X_OK) == 0) {
                free(inside);
                free(cmd);
                free(expect);
                assert_true(asprintf(&inside, "%s/static", closed) > 0);
                assert_true(asprintf(&cmd, "cp /sbin/ldconfig '%s'", inside) > 0);
                assert_int_equal(system(cmd), 0);
                argv[0] = inside;
                run_init(&r, argv);
                run(&r);
                assert_int_equal(r.r, -EACCES);
                assert_true(asprintf(&expect, "Cannot run '%s': Permission denied", inside) > 0);
                assert_string_equal(r.error, expect);
                run_done(&r);
        }

        /* A set-user-ID program without CAP_SYS_PTRACE: refused, saying why. */
        if (access("/bin/mount", X_OK) == 0) {
                static const char *const mount[] = { "/bin/mount", "--version", NULL };
                run_init(&r, mount);
                r.sys_ptrace = false;
                run(&r);
                assert_int_equal(r.r, -EPERM);
                assert_contains(r.error, "/mount' is a set-user-ID");
                assert_contains(r.error, "CAP_SYS_PTRACE");
                run_done(&r);
        }
}

/* Reads one line from fd within timeout_ms. */
static int read_line(int fd, char *buf, size_t size, int timeout_ms) {
        size_t n = 0;

        while (n + 1 < size) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                ssize_t k;

                if (poll(&p, 1, timeout_ms) <= 0)
                        return -ETIMEDOUT;
                k = read(fd, buf + n, 1);
                if (k <= 0)
                        return -EPIPE;
                if (buf[n] == '\n') {
                        buf[n] = '\0';
                        return 0;
                }
                n++;
        }
        return -E2BIG;
}

static uint64_t vm_lck_of(pid_t pid) {
        _cleanup_close_ int dfd = proc_open(pid);
        ProcStatus st;

        assert_true(dfd >= 0);
        assert_int_equal(proc_status_read(dfd, &st), 0);
        return st.vm_lck;
}

static void test_lock_256m_with_shim(void **state) {
        const char *argv[] = { target_path, "alloc", "256", "touch", "status",
                               "L",         "sleep", "30",  NULL };
        _cleanup_close_ int out_r = -EBADF, out_w = -EBADF;
        _cleanup_free_ char *error = NULL;
        SpawnResult res = { .pidfd = -EBADF, .report_fd = -EBADF };
        ShimReport report;
        SpawnRequest req;
        char line[512];
        const char *p;
        uint64_t kb;
        int fds[2], status;

        if (!have_shim) {
                print_message("shim or shim/targets/shim-target not built: skipped\n");
                skip();
        }
        assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
        out_r = fds[0];
        out_w = fds[1];

        req = (SpawnRequest){
                .root_fd = -EBADF,
                .cwd_fd = -EBADF,
                .argv = (char *const *) argv,
                .env = (char *const *) default_env,
                .cwd = "/",
                .stdin_fd = -EBADF,
                .stdout_fd = out_w,
                .stderr_fd = STDERR_FILENO,
                .uid = NOBODY,
                .gid = NOBODY,
                .umask = 022,
                .shim_path = shim_path,
                .lock = &default_lock,
                .daemon_has_sys_resource = privs.sys_resource,
                .daemon_has_sys_ptrace = privs.sys_ptrace,
        };
        assert_int_equal(spawn_workload(&req, &res, &error), 0);
        out_w = safe_close(out_w);
        assert_int_equal(res.mechanism,
                         privs.sys_resource ? MECHANISM_RLIMIT : MECHANISM_CAPABILITY);

        /* The shim reports from its constructor, before main() allocates. */
        assert_int_equal(shim_report_read_wait(res.report_fd, 10 * 1000000ULL, &report), 0);
        assert_int_equal(report.error, 0);
        assert_int_equal(report.mode, LOCK_MODE_ON);
        assert_int_equal(report.pid, res.pid);

        /* MCL_FUTURE: the 256 MiB mapped later is locked too. */
        assert_int_equal(read_line(out_r, line, sizeof(line), 20000), 0);
        p = strstr(line, "VmLck=");
        assert_non_null(p);
        assert_int_equal(sscanf(p, "VmLck=%" SCNu64, &kb), 1);
        print_message("workload as uid 65534: %s\n", line);
        assert_true(kb >= 256u * 1024u);
        assert_true(vm_lck_of(res.pid) >= (256ULL << 20));

        assert_int_equal(kill(res.pid, SIGKILL), 0);
        assert_int_equal(waitpid(res.pid, &status, 0), res.pid);
        spawn_result_done(&res);
}

static void test_static_via_ptrace(void **state) {
        static const char *const argv[] = { "/sbin/ldconfig", "-p", NULL };
        Run r;

        if (access(argv[0], X_OK) < 0) {
                print_message("no /sbin/ldconfig (static): skipped\n");
                skip();
        }
        run_init(&r, argv);
        r.want_report = true;
        r.shim = NULL; /* not needed for a static program */
        run(&r);
        assert_int_equal(r.r, 0);
        assert_int_equal(r.res.kind, EXEC_KIND_STATIC);
        assert_int_equal(r.res.mechanism, MECHANISM_PTRACE);
        assert_int_equal(r.report_r, 0);
        assert_int_equal(r.report.error, 0);
        assert_int_equal(r.report.stage, SHIM_STAGE_NONE);
        assert_int_equal(r.report.pid, r.res.pid);
        assert_int_equal(r.report.mode, LOCK_MODE_ON);
        /* VmLck at the exec stop: the program image, locked. */
        assert_true(r.report.vm_lck_bytes > 0);
        assert_contains(r.out, "libs found in cache");
        assert_exit(&r, 0);
        run_done(&r);
}

static void test_static_lock_failure(void **state) {
        static const char *const argv[] = { "/sbin/ldconfig", "-p", NULL };
        Run r;

        if (access(argv[0], X_OK) < 0)
                skip();

        /* RLIMIT_MEMLOCK of one page, no capability: mlockall fails. OnFailure=abort stops the
         * program with 127 and a reason on its stderr, as the shim does. */
        run_init(&r, argv);
        r.want_report = true;
        r.sys_resource = true;
        r.lock.limit = 4096;
        run(&r);
        assert_int_equal(r.r, 0);
        assert_int_equal(r.res.mechanism, MECHANISM_PTRACE);
        assert_int_equal(r.report_r, 0);
        assert_true(r.report.error == ENOMEM || r.report.error == EAGAIN ||
                    r.report.error == EPERM);
        assert_int_equal(r.report.stage, SHIM_STAGE_MLOCKALL);
        assert_true(r.report.flags & SHIM_REPORT_ABORTED);
        assert_contains(r.err, "could not lock the memory of '");
        assert_contains(r.err, "/ldconfig' (mlockall: ");
        assert_string_equal(r.out, "");
        assert_exit(&r, 127);
        run_done(&r);

        /* OnFailure=continue: it runs unlocked, the report says why. */
        run_init(&r, argv);
        r.want_report = true;
        r.sys_resource = true;
        r.lock.limit = 4096;
        r.lock.on_failure = ON_FAILURE_CONTINUE;
        run(&r);
        assert_int_equal(r.r, 0);
        assert_int_equal(r.report_r, 0);
        assert_true(r.report.error != 0);
        assert_false(r.report.flags & SHIM_REPORT_ABORTED);
        assert_contains(r.out, "libs found in cache");
        assert_exit(&r, 0);
        run_done(&r);
}

static void test_setuid_via_ptrace(void **state) {
        static const char *const argv[] = { "/bin/mount", "--version", NULL };
        Run r;

        if (access(argv[0], X_OK) < 0) {
                print_message("no /bin/mount: skipped\n");
                skip();
        }
        run_init(&r, argv);
        r.want_report = true;
        run(&r);
        assert_int_equal(r.r, 0);
        assert_int_equal(r.res.kind, EXEC_KIND_SECURE_EXEC);
        assert_int_equal(r.res.mechanism, MECHANISM_PTRACE);
        assert_int_equal(r.report_r, 0);
        assert_int_equal(r.report.error, 0);
        assert_true(r.report.vm_lck_bytes > 0);
        assert_contains(r.out, "util-linux");
        assert_exit(&r, 0);
        run_done(&r);
}

static void test_report_reader(void **state) {
        ShimReportReader rd = SHIM_REPORT_READER_INIT;
        ShimReport in, out, bad;
        int p[2];

        shim_report_init(&in, 0, LOCK_MODE_ON_FAULT, SHIM_STAGE_NONE, 1 << 20, 1234, 42, 0);
        assert_int_equal(shim_report_parse(&in, sizeof(in), &out), 0);
        assert_int_equal(out.mode, LOCK_MODE_ON_FAULT);
        assert_int_equal(out.vm_lck_bytes, 1 << 20);
        assert_int_equal(out.duration_usec, 1234);
        assert_int_equal(out.pid, 42);
        assert_int_equal(shim_report_parse(&in, sizeof(in) - 1, &out), -EBADMSG);
        bad = in;
        bad.magic = 0;
        assert_int_equal(shim_report_parse(&bad, sizeof(bad), &out), -EBADMSG);
        bad = in;
        bad.version = htole32(2);
        assert_int_equal(shim_report_parse(&bad, sizeof(bad), &out), -EPROTONOSUPPORT);
        bad = in;
        bad.mode = htole32(9);
        assert_int_equal(shim_report_parse(&bad, sizeof(bad), &out), -EBADMSG);
        bad = in;
        bad.error = (int32_t) htole32(ENOMEM); /* an error without its stage */
        assert_int_equal(shim_report_parse(&bad, sizeof(bad), &out), -EBADMSG);
        bad.stage = htole32(SHIM_STAGE_MLOCKALL);
        assert_int_equal(shim_report_parse(&bad, sizeof(bad), &out), 0);
        assert_int_equal(out.error, ENOMEM);
        assert_string_equal(shim_stage_to_string(out.stage), "mlockall");
        assert_null(shim_stage_to_string(17));

        /* In pieces on a non-blocking pipe. */
        assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
        assert_int_equal(shim_report_read(p[0], &rd, &out), -EAGAIN);
        assert_int_equal(write(p[1], &in, 10), 10);
        assert_int_equal(shim_report_read(p[0], &rd, &out), -EAGAIN);
        assert_int_equal(write(p[1], (uint8_t *) &in + 10, sizeof(in) - 10),
                         (ssize_t) (sizeof(in) - 10));
        assert_int_equal(shim_report_read(p[0], &rd, &out), 0);
        assert_int_equal(out.pid, 42);
        safe_close(p[1]);
        safe_close(p[0]);

        /* EOF before anything, and EOF mid-record. */
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        safe_close(p[1]);
        rd = SHIM_REPORT_READER_INIT;
        assert_int_equal(shim_report_read(p[0], &rd, &out), -ENODATA);
        safe_close(p[0]);
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        assert_int_equal(write(p[1], &in, 5), 5);
        safe_close(p[1]);
        assert_int_equal(shim_report_read_wait(p[0], 1000000, &out), -EBADMSG);
        safe_close(p[0]);
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        assert_int_equal(shim_report_read_wait(p[0], 20000, &out), -ETIMEDOUT);
        safe_close(p[1]);
        safe_close(p[0]);
}

static void test_privileges(void **state) {
        Privileges p;

        assert_int_equal(privileges_query(&p), 0);
        assert_int_equal(p.ipc_lock, privileges_have(CAP_IPC_LOCK));
        assert_non_null(privileges_to_string(&p));
        assert_string_equal(privileges_to_string(&(Privileges){}), "none");
        assert_string_equal(
                privileges_to_string(&(Privileges){ .sys_resource = true, .sys_ptrace = true }),
                "CAP_SYS_RESOURCE CAP_SYS_PTRACE");
        print_message("daemon-side privileges here: %s\n", privileges_to_string(&p));
}

static int setup(void **state) {
        char exe[PATH_MAX];
        const char *build = getenv("MLOCKD_BUILD_DIR");
        ssize_t k;

        if (!mkdtemp(tmpdir))
                return -1;
        if (chmod(tmpdir, 0755) < 0)
                return -1;

        /* The build directory: from the environment, else three levels above this binary
         * (BUILD/tests/unit/test-spawn). */
        if (!build) {
                k = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
                if (k < 0)
                        return -1;
                exe[k] = '\0';
                build = dirname(dirname(dirname(exe)));
        }
        (void) snprintf(shim_path, sizeof(shim_path), "%s/shim/libmemlock-shim.so", build);
        (void) snprintf(target_path, sizeof(target_path), "%s/shim/targets/shim-target", build);
        have_shim = access(shim_path, R_OK) == 0 && access(target_path, X_OK) == 0;
        return 0;
}

static int teardown(void **state) {
        _cleanup_free_ char *cmd = NULL;

        if (asprintf(&cmd, "rm -rf '%s'", tmpdir) > 0)
                (void) !system(cmd);
        return 0;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_report_reader),
                cmocka_unit_test(test_privileges),
                cmocka_unit_test(test_stdio_through_cat),
                cmocka_unit_test(test_environment),
                cmocka_unit_test(test_identity),
                cmocka_unit_test(test_rlimit),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_lock_256m_with_shim),
                cmocka_unit_test(test_static_via_ptrace),
                cmocka_unit_test(test_static_lock_failure),
                cmocka_unit_test(test_setuid_via_ptrace),
        };

        if (geteuid() != 0) {
                printf("not root: spawning as uid 65534 needs root\n");
                return 77;
        }
        if (privileges_query(&privs) < 0 || !privs.ipc_lock) {
                printf("no CAP_IPC_LOCK: the workload's capability cannot be granted here\n");
                return 77;
        }
        return cmocka_run_group_tests(tests, setup, teardown);
}
