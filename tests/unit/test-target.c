/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for daemon/target.c with real processes: identity through a pidfd, the pid-reuse guard
 * (faked start time, and a real reused pid where the machine lets us force one), the attach
 * checks for root and uid 65534 callers, the lock plan, and RLIMIT_MEMLOCK raise/restore. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/macro.h"
#include "common/proc.h"
#include "common/process-util.h"
#include "daemon/privileges.h"
#include "daemon/core/target.h"

#define NOBODY 65534

typedef enum ChildKind {
        CHILD_ROOT, /* as we are */
        CHILD_NOBODY, /* uid/gid 65534 everywhere, dumpable again */
        CHILD_NOBODY_UNDUMPABLE, /* uid/gid 65534, not dumpable (the default after setuid) */
        CHILD_NOBODY_SAVED_ROOT, /* uid 65534 but saved uid 0: setuid-like */
        CHILD_LOW_MEMLOCK, /* root with a 64 KiB soft RLIMIT_MEMLOCK */
        CHILD_GROUPS, /* root with supplementary groups 29 (audio) and 100 (users) */
} ChildKind;

/* Children of the running test, killed by the teardown even when an assertion failed. */
static pid_t children[8];

static int teardown(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(children); i++)
                if (children[i] > 0) {
                        (void) kill(children[i], SIGKILL);
                        (void) waitpid(children[i], NULL, 0);
                        children[i] = 0;
                }
        return 0;
}

static void remember(pid_t pid) {
        for (size_t i = 0; i < ELEMENTSOF(children); i++)
                if (children[i] <= 0) {
                        children[i] = pid;
                        return;
                }
        fail_msg("too many children");
}

static void forget(pid_t pid) {
        for (size_t i = 0; i < ELEMENTSOF(children); i++)
                if (children[i] == pid)
                        children[i] = 0;
}

static pid_t spawn(ChildKind kind) {
        int p[2];
        char c;

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                int ok = 1;
                if (kind == CHILD_NOBODY || kind == CHILD_NOBODY_UNDUMPABLE ||
                    kind == CHILD_NOBODY_SAVED_ROOT) {
                        ok = setgroups(0, NULL) == 0 && setresgid(NOBODY, NOBODY, NOBODY) == 0 &&
                             setresuid(NOBODY, NOBODY,
                                       kind == CHILD_NOBODY_SAVED_ROOT ? 0 : NOBODY) == 0;
                        /* Changing ids makes a process undumpable unless fs.suid_dumpable=1;
                         * set what we want explicitly. */
                        ok = ok && prctl(PR_SET_DUMPABLE, kind == CHILD_NOBODY, 0, 0, 0) == 0;
                } else if (kind == CHILD_GROUPS) {
                        static const gid_t groups[] = { 29, 100 };
                        ok = setgroups(ELEMENTSOF(groups), groups) == 0;
                } else if (kind == CHILD_LOW_MEMLOCK) {
                        struct rlimit rl;
                        ok = getrlimit(RLIMIT_MEMLOCK, &rl) == 0;
                        rl.rlim_cur = 64 * 1024;
                        ok = ok && setrlimit(RLIMIT_MEMLOCK, &rl) == 0;
                }
                (void) !write(p[1], ok ? "y" : "n", 1);
                for (;;)
                        pause();
        }
        remember(pid);
        safe_close(p[1]);
        assert_int_equal(read(p[0], &c, 1), 1);
        safe_close(p[0]);
        assert_int_equal(c, 'y');
        return pid;
}

static void kill_and_reap(pid_t pid) {
        (void) kill(pid, SIGKILL);
        assert_int_equal(waitpid(pid, NULL, 0), pid);
        forget(pid);
}

static void test_info(void **state) {
        pid_t pid = spawn(CHILD_ROOT);
        _cleanup_close_ int pidfd = pidfd_open_checked(pid);
        _cleanup_free_ char *self_exe = realpath("/proc/self/exe", NULL);
        TargetInfo t = {};
        ProcessIdentity id;
        struct rlimit rl;

        assert_int_equal(target_info_from_pidfd(pidfd, &t), 0);
        assert_int_equal(t.pid, pid);
        assert_int_equal(process_identity_get(pid, &id), 0);
        assert_int_equal(t.starttime, id.starttime);
        assert_int_equal(t.uid, getuid());
        assert_int_equal(t.euid, geteuid());
        assert_int_equal(t.gid, getgid());
        assert_non_null(t.exe);
        assert_string_equal(t.exe, self_exe);
        assert_true(t.dumpable);
        assert_false(t.setuid_like);
        assert_false(t.kernel_thread);
        assert_true(t.vm_size > 0 && t.vm_size != PROC_UNSET);
        assert_true(t.seccomp >= 0);
        assert_int_equal(getrlimit(RLIMIT_MEMLOCK, &rl), 0);
        assert_int_equal(t.memlock_soft, rl.rlim_cur);
        assert_int_equal(t.memlock_hard, rl.rlim_max);
        target_info_done(&t);
        assert_null(t.exe);
        target_info_done(&t); /* twice is fine */
        target_info_done(NULL);
        kill_and_reap(pid);
}

/* Group= in a policy matches supplementary groups: the target's must be read. */
static void test_groups(void **state) {
        pid_t pid = spawn(CHILD_GROUPS);
        _cleanup_close_ int pidfd = pidfd_open_checked(pid);
        TargetInfo t = {};

        assert_int_equal(target_info_from_pidfd(pidfd, &t), 0);
        assert_int_equal(t.n_groups, 2);
        assert_int_equal(t.groups[0], 29);
        assert_int_equal(t.groups[1], 100);
        target_info_done(&t);
        assert_null(t.groups);
        assert_int_equal(t.n_groups, 0);
        kill_and_reap(pid);
}

static void test_kernel_thread(void **state) {
        TargetInfo t = {};
        _cleanup_close_ int pidfd = -EBADF;
        char *reason = NULL;

        /* kthreadd is pid 2 when we see the host's pid namespace. */
        if (target_info_from_pid(2, UINT64_MAX, &t, &pidfd) < 0 || !streq(t.comm, "kthreadd")) {
                target_info_done(&t);
                skip();
        }
        assert_true(t.kernel_thread);
        assert_int_equal(target_check_attach(&t, 0, UINT64_MAX, getpid(), &reason), -EPERM);
        assert_non_null(strstr(reason, "kernel thread"));
        free(reason);
        reason = NULL;
        assert_int_equal(target_lock_plan(&t, true, 0, &reason), -EOPNOTSUPP);
        free(reason);
        target_info_done(&t);
}

static void test_dead(void **state) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                _exit(0);
        _cleanup_close_ int pidfd = pidfd_open_checked(pid);
        TargetInfo t = {};
        assert_int_equal(waitpid(pid, NULL, 0), pid);
        assert_int_equal(target_info_from_pidfd(pidfd, &t), -ESRCH);
        assert_int_equal(target_info_from_pid(pid, UINT64_MAX, &t, NULL), -ESRCH);
        assert_int_equal(target_info_from_pidfd(-EBADF, &t), -EINVAL);
}

static void test_reuse_guard_faked(void **state) {
        pid_t pid = spawn(CHILD_ROOT);
        _cleanup_close_ int pidfd = -EBADF;
        TargetInfo t = {}, u = {};

        assert_int_equal(target_info_from_pid(pid, UINT64_MAX, &t, &pidfd), 0);
        assert_true(pidfd >= 0);
        assert_int_equal(target_verify_identity(&t, pidfd), 0);

        /* The same pid with another start time is another process. */
        TargetInfo fake = t;
        fake.starttime++;
        assert_int_equal(target_verify_identity(&fake, pidfd), -ESRCH);
        assert_int_equal(target_info_from_pid(pid, t.starttime + 1, &u, NULL), -ESRCH);
        assert_int_equal(target_info_from_pid(pid, t.starttime, &u, NULL), 0);
        target_info_done(&u);
        /* A pidfd for another process does not vouch for this one. */
        pid_t other = spawn(CHILD_ROOT);
        _cleanup_close_ int other_fd = pidfd_open_checked(other);
        assert_int_equal(target_verify_identity(&t, other_fd), -ESRCH);

        kill_and_reap(pid);
        assert_int_equal(target_verify_identity(&t, pidfd), -ESRCH);
        kill_and_reap(other);
        target_info_done(&t);
}

/* Forces a real pid reuse with ns_last_pid (root, CAP_SYS_ADMIN over the pid namespace):
 * A's pidfd must not vouch for B, which now has A's pid. */
static void test_reuse_guard_real(void **state) {
        pid_t a = spawn(CHILD_ROOT), b = -1;
        _cleanup_close_ int pidfd_a = pidfd_open_checked(a);
        TargetInfo t = {}, u = {};

        assert_int_equal(target_info_from_pidfd(pidfd_a, &t), 0);
        kill_and_reap(a);
        /* Start times count clock ticks (10 ms): a reuse within the same tick would be
         * invisible to (pid, start time), which is why the pidfd is checked as well. */
        usleep(30 * 1000);

        for (int attempt = 0; attempt < 20 && b != a; attempt++) {
                FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "we");
                if (!f)
                        break;
                int ok = fprintf(f, "%d", (int) a - 1) > 0;
                ok = fclose(f) == 0 && ok;
                if (!ok)
                        break;
                if (b > 0)
                        kill_and_reap(b);
                b = spawn(CHILD_ROOT);
        }
        if (b != a) {
                if (b > 0)
                        kill_and_reap(b);
                target_info_done(&t);
                print_message("cannot force pid reuse here (ns_last_pid): skipped\n");
                skip();
        }

        /* /proc/A exists again, but it is B. */
        assert_int_equal(target_info_from_pidfd(pidfd_a, &u), -ESRCH);
        assert_int_equal(target_verify_identity(&t, pidfd_a), -ESRCH);
        assert_int_equal(target_info_from_pid(a, t.starttime, &u, NULL), -ESRCH);
        _cleanup_close_ int pidfd_b = pidfd_open_checked(b);
        /* Even with B's own pidfd, A's recorded start time does not match B. */
        assert_int_equal(target_verify_identity(&t, pidfd_b), -ESRCH);
        assert_int_equal(target_info_from_pid(a, UINT64_MAX, &u, NULL), 0);
        assert_int_not_equal(u.starttime, t.starttime);
        target_info_done(&u);
        kill_and_reap(b);
        target_info_done(&t);
}

static TargetInfo info_of(pid_t pid) {
        TargetInfo t = {};
        assert_int_equal(target_info_from_pid(pid, UINT64_MAX, &t, NULL), 0);
        return t;
}

static void expect_refusal(const TargetInfo *t, uid_t uid, uint64_t caps, const char *needle) {
        char *reason = NULL;
        assert_int_equal(target_check_attach(t, uid, caps, getpid(), &reason), -EPERM);
        assert_non_null(reason);
        if (!strstr(reason, needle))
                fail_msg("reason '%s' lacks '%s'", reason, needle);
        free(reason);
}

static void test_check_attach(void **state) {
        char *reason = NULL;

        if (geteuid() != 0)
                skip();

        /* Root caller, root target: fine. uid 65534 caller, root target: refused. */
        pid_t root = spawn(CHILD_ROOT);
        TargetInfo t = info_of(root);
        assert_int_equal(target_check_attach(&t, 0, 0, getpid(), &reason), 0);
        assert_null(reason);
        expect_refusal(&t, NOBODY, 0, "uid 0");
        target_info_done(&t);
        kill_and_reap(root);

        /* Never PID 1, never ourselves, whoever asks. */
        t = info_of(1);
        expect_refusal(&t, 0, UINT64_MAX, "PID 1");
        target_info_done(&t);
        t = info_of(getpid());
        expect_refusal(&t, 0, UINT64_MAX, "itself");
        target_info_done(&t);

        /* Its own dumpable process: fine for uid 65534, not for another uid. */
        pid_t nobody = spawn(CHILD_NOBODY);
        t = info_of(nobody);
        assert_true(t.dumpable);
        assert_int_equal(t.cap_eff, 0);
        assert_int_equal(target_check_attach(&t, NOBODY, 0, getpid(), NULL), 0);
        expect_refusal(&t, 1000, 0, "uid 65534");
        /* With capabilities the caller lacks (faked: a real one needs a file capability). */
        t.cap_prm = UINT64_C(1) << CAP_IPC_LOCK;
        expect_refusal(&t, NOBODY, 0, "capabilities");
        assert_int_equal(
                target_check_attach(&t, NOBODY, UINT64_C(1) << CAP_IPC_LOCK, getpid(), NULL), 0);
        target_info_done(&t);
        kill_and_reap(nobody);

        pid_t undumpable = spawn(CHILD_NOBODY_UNDUMPABLE);
        t = info_of(undumpable);
        assert_false(t.dumpable);
        expect_refusal(&t, NOBODY, 0, "not dumpable");
        assert_int_equal(target_check_attach(&t, 0, 0, getpid(), NULL), 0);
        target_info_done(&t);
        kill_and_reap(undumpable);

        pid_t setuid_like = spawn(CHILD_NOBODY_SAVED_ROOT);
        t = info_of(setuid_like);
        assert_true(t.setuid_like);
        expect_refusal(&t, NOBODY, 0, "saved 0");
        t.suid = NOBODY; /* the id check passes; the setuid-like flag still refuses */
        expect_refusal(&t, NOBODY, 0, "setuid");
        target_info_done(&t);
        kill_and_reap(setuid_like);
}

static void test_ptrace_scope(void **state) {
        char *reason = NULL;
        int scope = -1;

        assert_int_equal(target_ptrace_scope_read(&scope), 0);
        assert_in_range(scope, 0, 3);

        assert_int_equal(target_ptrace_scope_check(0, false, &reason), 0);
        assert_int_equal(target_ptrace_scope_check(1, true, &reason), 0);
        assert_int_equal(target_ptrace_scope_check(2, true, &reason), 0);
        assert_null(reason);
        assert_int_equal(target_ptrace_scope_check(1, false, &reason), -EOPNOTSUPP);
        assert_non_null(strstr(reason, "CAP_SYS_PTRACE"));
        assert_int_equal(target_ptrace_scope_check(3, true, &reason), -EOPNOTSUPP);
        assert_non_null(strstr(reason, "ptrace_scope=3"));
        free(reason);
        assert_int_equal(target_ptrace_scope_check(7, true, NULL), -EINVAL);
}

static void test_lock_plan(void **state) {
        TargetInfo t = {
                .pid = 1234,
                .euid = 64055,
                .memlock_soft = 8u << 20,
                .memlock_hard = 8u << 20,
        };
        char *reason = NULL;

        assert_string_equal(target_lock_plan_to_string(TARGET_LOCK_RAISE_LIMIT), "raise-limit");
        assert_null(target_lock_plan_to_string(_TARGET_LOCK_PLAN_MAX));

        assert_int_equal(target_lock_plan(&t, false, 4u << 20, &reason),
                         TARGET_LOCK_LIMIT_SUFFICES);
        assert_int_equal(target_lock_plan(&t, true, 512u << 20, &reason), TARGET_LOCK_RAISE_LIMIT);
        assert_null(reason);
        assert_int_equal(target_lock_plan(&t, false, 512u << 20, &reason), -EOPNOTSUPP);
        assert_string_equal(reason,
                            "pid 1234 runs as uid 64055 without CAP_IPC_LOCK, and mlockd lacks "
                            "CAP_SYS_RESOURCE to raise its limit (RLIMIT_MEMLOCK 8.0M, 512.0M "
                            "needed)");
        free(reason);
        assert_int_equal(target_lock_plan(&t, false, UINT64_MAX, NULL), -EOPNOTSUPP);

        t.cap_eff = UINT64_C(1) << CAP_IPC_LOCK;
        assert_int_equal(target_lock_plan(&t, false, UINT64_MAX, NULL),
                         TARGET_LOCK_HAS_CAP_IPC_LOCK);
        t.cap_eff = 0;
        t.memlock_soft = UINT64_MAX;
        assert_int_equal(target_lock_plan(&t, false, UINT64_MAX, NULL), TARGET_LOCK_LIMIT_SUFFICES);
}

static void test_raise_memlock(void **state) {
        pid_t pid = spawn(CHILD_LOW_MEMLOCK);
        _cleanup_close_ int pidfd = -EBADF;
        ProcLimits old;
        TargetInfo t = {};
        int have;

        assert_int_equal(target_info_from_pid(pid, UINT64_MAX, &t, &pidfd), 0);
        assert_int_equal(t.memlock_soft, 64 * 1024);
        uint64_t hard = t.memlock_hard;
        target_info_done(&t);

        /* Up to the hard limit: the same uid may do that without CAP_SYS_RESOURCE. */
        assert_int_equal(target_raise_memlock(pidfd, pid, hard, &old), 0);
        assert_int_equal(old.memlock_soft, 64 * 1024);
        assert_int_equal(old.memlock_hard, hard);
        t = info_of(pid);
        assert_int_equal(t.memlock_soft, hard);
        target_info_done(&t);

        /* Beyond it: only with CAP_SYS_RESOURCE. */
        have = privileges_have(CAP_SYS_RESOURCE);
        assert_true(have >= 0);
        if (hard != UINT64_MAX) {
                int r = target_raise_memlock(pidfd, pid, UINT64_MAX, NULL);
                assert_int_equal(r, have ? 0 : -EPERM);
        }

        assert_int_equal(target_restore_memlock(pidfd, pid, &old), 0);
        t = info_of(pid);
        assert_int_equal(t.memlock_soft, 64 * 1024);
        assert_int_equal(t.memlock_hard, hard);
        target_info_done(&t);

        /* A wrong pid for the pidfd, or a dead process: refused. */
        assert_int_equal(target_raise_memlock(pidfd, getpid(), hard, NULL), -ESRCH);
        kill_and_reap(pid);
        assert_int_equal(target_raise_memlock(pidfd, pid, hard, NULL), -ESRCH);
        assert_int_equal(target_restore_memlock(pidfd, pid, &old), -ESRCH);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_teardown(test_info, teardown),
                cmocka_unit_test_teardown(test_groups, teardown),
                cmocka_unit_test_teardown(test_kernel_thread, teardown),
                cmocka_unit_test_teardown(test_dead, teardown),
                cmocka_unit_test_teardown(test_reuse_guard_faked, teardown),
                cmocka_unit_test_teardown(test_reuse_guard_real, teardown),
                cmocka_unit_test_teardown(test_check_attach, teardown),
                cmocka_unit_test_teardown(test_ptrace_scope, teardown),
                cmocka_unit_test_teardown(test_lock_plan, teardown),
                cmocka_unit_test_teardown(test_raise_memlock, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
