/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for daemon/helpers/inject.c and daemon/helpers/inject-job.c with real processes:
 * mlockall/munlockall injected into a child, an interrupted nanosleep()/read() that must behave as
 * if nothing happened, signals sent during injections that must all arrive, dead and mismatched
 * pids. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/macro.h"
#include "common/proc.h"
#include "common/process-util.h"
#include "daemon/helpers/inject-job.h"
#include "daemon/helpers/inject.h"

#define SLEEP_BIN "/bin/sleep"
/* What /proc/PID/exe shows for it (/bin may be a symlink to /usr/bin). */
static char sleep_exe[PATH_MAX];

static uint64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

static ProcStatus status_of(pid_t pid) {
        _cleanup_close_ int dfd = proc_open(pid);
        ProcStatus st;
        assert_true(dfd >= 0);
        assert_int_equal(proc_status_read(dfd, &st), 0);
        return st;
}

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

static pid_t remember(pid_t pid) {
        assert_true(pid >= 0);
        if (pid == 0)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(children); i++)
                if (children[i] <= 0) {
                        children[i] = pid;
                        return pid;
                }
        fail_msg("too many children");
        return -1;
}

static void forget(pid_t pid) {
        for (size_t i = 0; i < ELEMENTSOF(children); i++)
                if (children[i] == pid)
                        children[i] = 0;
}

static void kill_and_reap(pid_t pid) {
        (void) kill(pid, SIGKILL);
        assert_int_equal(waitpid(pid, NULL, 0), pid);
        forget(pid);
}

/* Waits until the child has exec'd path (so we inject into the uninstrumented program, not
 * into a copy of this possibly ASan-instrumented test). */
static void wait_exec(pid_t pid, const char *path) {
        for (int i = 0; i < 2000; i++) {
                _cleanup_close_ int dfd = proc_open(pid);
                _cleanup_free_ char *exe = NULL;
                if (dfd >= 0 && proc_exe_read(dfd, &exe) >= 0 && streq(exe, path))
                        return;
                usleep(1000);
        }
        fail_msg("child %d did not exec %s", (int) pid, path);
}

/* Waits until pid blocks in (clock_)nanosleep: done starting up, no more mappings coming. */
static void wait_asleep(pid_t pid) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/syscall", (int) pid);
        for (int i = 0; i < 5000; i++) {
                _cleanup_free_ char *buf = NULL;
                long nr;
                if (read_file_at(AT_FDCWD, path, 4096, &buf, NULL) >= 0 &&
                    sscanf(buf, "%ld ", &nr) == 1 &&
                    (nr == SYS_clock_nanosleep
#ifdef SYS_nanosleep
                     || nr == SYS_nanosleep
#endif
                     ))
                        return;
                usleep(1000);
        }
        fail_msg("child %d did not fall asleep", (int) pid);
}

static pid_t spawn_sleep_bin(void) {
        pid_t pid = remember(fork());
        assert_true(pid >= 0);
        if (pid == 0) {
                execl(SLEEP_BIN, "sleep", "60", (char *) NULL);
                _exit(127);
        }
        wait_exec(pid, sleep_exe);
        wait_asleep(pid);
        return pid;
}

static int setup(void **state) {
        if (access(SLEEP_BIN, X_OK) < 0 || !realpath(SLEEP_BIN, sleep_exe)) {
                print_message("skipping: %s missing\n", SLEEP_BIN);
                return -1;
        }
        return 0;
}

static void test_stage_strings(void **state) {
        assert_string_equal(inject_stage_to_string(INJECT_STAGE_SEIZE), "seize");
        assert_string_equal(inject_stage_to_string(INJECT_STAGE_SYSCALL), "syscall");
        assert_null(inject_stage_to_string(_INJECT_STAGE_MAX));
        assert_null(inject_stage_to_string(-1));
        for (int s = 0; s < _INJECT_STAGE_MAX; s++)
                assert_non_null(inject_stage_to_string(s));
}

static void test_mlockall_and_back(void **state) {
        pid_t pid = spawn_sleep_bin();
        _cleanup_close_ int pidfd = pidfd_open_checked(pid);
        InjectStage stage = _INJECT_STAGE_INVALID;
        long result = 1;

        assert_true(pidfd >= 0);
        assert_int_equal(status_of(pid).vm_lck, 0);

        assert_int_equal(inject_mlockall(pid, pidfd, MCL_CURRENT, &result, &stage), 0);
        assert_int_equal(stage, INJECT_STAGE_SYSCALL);
        assert_int_equal(result, 0);
        ProcStatus st = status_of(pid);
        /* Everything mapped is locked, except PROT_NONE guard areas. */
        assert_true(st.vm_lck > 0);
        assert_true(st.vm_lck >= st.vm_size / 10 * 9);

        assert_int_equal(inject_munlockall(pid, pidfd, &result, &stage), 0);
        assert_int_equal(stage, INJECT_STAGE_SYSCALL);
        assert_int_equal(result, 0);
        assert_int_equal(status_of(pid).vm_lck, 0);

        /* Still alive and well: not stopped, not dead. */
        assert_int_equal(waitpid(pid, NULL, WNOHANG), 0);
        ProcessIdentity id;
        assert_int_equal(process_identity_get(pid, &id), 0);
        kill_and_reap(pid);
}

static void test_job(void **state) {
        pid_t pid = spawn_sleep_bin();
        _cleanup_close_ int pidfd = pidfd_open_checked(pid);
        InjectResult res;

        assert_int_equal(inject_job_run(pid, pidfd, SYS_mlockall, MCL_CURRENT | MCL_FUTURE, &res),
                         0);
        assert_int_equal(res.error, 0);
        assert_int_equal(res.stage, INJECT_STAGE_SYSCALL);
        assert_int_equal(res.syscall_result, 0);
        assert_int_equal(res.vm_lck_before, 0);
        assert_true(res.vm_lck_after > 0);
        assert_int_equal(res.vm_lck_after, status_of(pid).vm_lck);

        /* The asynchronous interface, as the daemon uses it. */
        pid_t helper;
        _cleanup_close_ int fd = -EBADF;
        assert_int_equal(inject_job_start(pid, pidfd, SYS_munlockall, 0, &helper, &fd), 0);
        assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
        assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        struct pollfd p = { .fd = fd, .events = POLLIN };
        assert_int_equal(poll(&p, 1, 10000), 1);
        assert_int_equal(inject_job_read_result(fd, &res), 0);
        assert_int_equal(res.error, 0);
        assert_int_equal(res.vm_lck_after, 0);
        int status;
        assert_int_equal(waitpid(helper, &status, 0), helper);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        /* Exactly one result: then end of file. */
        assert_int_equal(inject_job_read_result(fd, &res), -EPIPE);

        kill_and_reap(pid);
}

static void test_invalid(void **state) {
        const long args[6] = {};
        pid_t helper;
        int fd;
        long result;
        InjectStage stage;
        InjectResult res;

        /* Only mlockall and munlockall can be injected. */
        assert_int_equal(inject_syscall(1, 0, -EBADF, SYS_getpid, args, &result, &stage), -EINVAL);
        assert_int_equal(stage, INJECT_STAGE_VALIDATE);
        assert_int_equal(inject_job_start(1, -EBADF, SYS_getpid, 0, &helper, &fd), -EINVAL);
        assert_int_equal(inject_job_start(1, -EBADF, SYS_mlockall, 0, &helper, &fd), -EINVAL);
        assert_int_equal(inject_job_start(1, -EBADF, SYS_mlockall, 0x1000, &helper, &fd), -EINVAL);
        assert_int_equal(inject_job_start(1, -EBADF, SYS_munlockall, MCL_CURRENT, &helper, &fd),
                         -EINVAL);
        assert_int_equal(inject_job_run(0, -EBADF, SYS_munlockall, 0, &res), -EINVAL);
        /* Not ourselves. */
        assert_int_equal(inject_munlockall(getpid(), -EBADF, &result, &stage), -EPERM);

        /* A truncated or garbled result is refused. */
        int fds[2];
        assert_int_equal(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
        assert_int_equal(inject_job_read_result(fds[0], &res), -EAGAIN);
        assert_int_equal(write(fds[1], "x", 1), 1);
        assert_int_equal(inject_job_read_result(fds[0], &res), -EBADMSG);
        InjectResult bad = { .stage = 999 };
        assert_int_equal(write(fds[1], &bad, sizeof(bad)), (ssize_t) sizeof(bad));
        assert_int_equal(inject_job_read_result(fds[0], &res), -EBADMSG);
        safe_close(fds[1]);
        assert_int_equal(inject_job_read_result(fds[0], &res), -EPIPE);
        safe_close(fds[0]);
}

static void test_dead(void **state) {
        pid_t pid = remember(fork());
        assert_true(pid >= 0);
        if (pid == 0)
                _exit(0);
        _cleanup_close_ int pidfd = pidfd_open_checked(pid);
        assert_true(pidfd >= 0);
        assert_int_equal(waitpid(pid, NULL, 0), pid);
        forget(pid);

        long result;
        InjectStage stage;
        InjectResult res;
        assert_int_equal(inject_mlockall(pid, pidfd, MCL_CURRENT, &result, &stage), -ESRCH);
        assert_int_equal(inject_job_run(pid, pidfd, SYS_mlockall, MCL_CURRENT, &res), 0);
        assert_int_equal(res.error, ESRCH);
        assert_int_not_equal(res.stage, INJECT_STAGE_SYSCALL);
}

static void test_pidfd_mismatch(void **state) {
        pid_t a = spawn_sleep_bin(), b = spawn_sleep_bin();
        _cleanup_close_ int pidfd_a = pidfd_open_checked(a);
        long result;
        InjectStage stage;

        /* The pidfd names another process than the pid: stopped, checked, left untouched. */
        assert_int_equal(inject_mlockall(b, pidfd_a, MCL_CURRENT, &result, &stage), -ESRCH);
        assert_int_equal(stage, INJECT_STAGE_IDENTITY);
        assert_int_equal(status_of(b).vm_lck, 0);
        assert_int_equal(waitpid(b, NULL, WNOHANG), 0);
        kill_and_reap(a);
        kill_and_reap(b);
}

/* A single-threaded child that sleeps 2000 ms (relative, measured) or blocks in read(), and
 * reports what it saw on a pipe. */
static pid_t spawn_reporter(bool do_read, int in_fd, int out_fd) {
        pid_t pid = remember(fork());
        assert_true(pid >= 0);
        if (pid != 0)
                return pid;
        char buf[64] = {};
        if (do_read) {
                ssize_t n = read(in_fd, buf, sizeof(buf) - 1);
                if (n < 0)
                        snprintf(buf, sizeof(buf), "error %d", errno);
        } else {
                struct timespec ts = { .tv_sec = 2 };
                uint64_t t0 = now_ms();
                int r = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
                snprintf(buf, sizeof(buf), "%d %llu", r, (unsigned long long) (now_ms() - t0));
        }
        (void) !write(out_fd, buf, strlen(buf));
        _exit(0);
}

static void read_report(int fd, char *buf, size_t size) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        assert_int_equal(poll(&p, 1, 10000), 1);
        ssize_t n = read(fd, buf, size - 1);
        assert_true(n > 0);
        buf[n] = '\0';
}

static void test_restart_nanosleep(void **state) {
        int out[2];
        char buf[64];
        long result;
        InjectStage stage;

        assert_int_equal(pipe2(out, O_CLOEXEC), 0);
        pid_t pid = spawn_reporter(false, -1, out[1]);
        usleep(600 * 1000);
        /* munlockall: harmless in an ASan-instrumented child, same injection path. */
        assert_int_equal(inject_munlockall(pid, -EBADF, &result, &stage), 0);
        assert_int_equal(result, 0);
        read_report(out[0], buf, sizeof(buf));
        unsigned r, ms;
        assert_int_equal(sscanf(buf, "%u %u", &r, &ms), 2);
        assert_int_equal(r, 0);
        /* Its full time, and not restarted from scratch (which would be ~2600 ms). */
        assert_in_range(ms, 2000, 2400);
        assert_int_equal(waitpid(pid, NULL, 0), pid);
        forget(pid);
        safe_close(out[0]);
        safe_close(out[1]);
}

static void test_restart_read(void **state) {
        int in[2], out[2];
        char buf[64];
        long result;
        InjectStage stage;

        assert_int_equal(pipe2(in, O_CLOEXEC), 0);
        assert_int_equal(pipe2(out, O_CLOEXEC), 0);
        pid_t pid = spawn_reporter(true, in[0], out[1]);
        usleep(200 * 1000);
        assert_int_equal(inject_munlockall(pid, -EBADF, &result, &stage), 0);
        assert_int_equal(inject_munlockall(pid, -EBADF, &result, &stage), 0);
        /* The read is still waiting; it gets the data written after the injection. */
        struct pollfd p = { .fd = out[0], .events = POLLIN };
        assert_int_equal(poll(&p, 1, 100), 0);
        assert_int_equal(write(in[1], "hello", 5), 5);
        read_report(out[0], buf, sizeof(buf));
        assert_string_equal(buf, "hello");
        assert_int_equal(waitpid(pid, NULL, 0), pid);
        forget(pid);
        safe_close(in[0]);
        safe_close(in[1]);
        safe_close(out[0]);
        safe_close(out[1]);
}

/* Signals: the child counts SIGRTMIN (queued, never merged) and reports the count on a pipe
 * when it gets SIGRTMIN+1, which is delivered after every pending SIGRTMIN. */
static volatile sig_atomic_t n_rt;
static int report_fd = -EBADF;

static void on_rt(int sig) {
        if (sig == SIGRTMIN) {
                n_rt++;
                return;
        }
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "%d", (int) n_rt);
        (void) !write(report_fd, buf, (size_t) n);
}

#define N_SIGNALS 600

static void test_signals_not_lost(void **state) {
        int out[2], sent_pipe[2];
        char buf[64];

        assert_int_equal(pipe2(out, O_CLOEXEC), 0);
        assert_int_equal(pipe2(sent_pipe, O_CLOEXEC), 0);

        pid_t target = remember(fork());
        assert_true(target >= 0);
        if (target == 0) {
                /* The report must wait while a SIGRTMIN handler runs (and SIGRTMIN is
                 * blocked, with more of them pending). */
                struct sigaction sa = { .sa_handler = on_rt };
                sigaddset(&sa.sa_mask, SIGRTMIN + 1);
                report_fd = out[1];
                sigaction(SIGRTMIN, &sa, NULL);
                sigaction(SIGRTMIN + 1, &sa, NULL);
                (void) !write(out[1], "r", 1);
                for (;;) {
                        struct timespec ts = { .tv_nsec = 1000000 };
                        nanosleep(&ts, NULL);
                }
        }
        read_report(out[0], buf, sizeof(buf));
        assert_string_equal(buf, "r");

        pid_t sender = remember(fork());
        assert_true(sender >= 0);
        if (sender == 0) {
                int ok = 0;
                for (int i = 0; i < N_SIGNALS; i++) {
                        int r;
                        if (i % 2)
                                r = sigqueue(target, SIGRTMIN, (union sigval){ .sival_int = i });
                        else /* at the thread we inject into */
                                r = (int) syscall(SYS_tgkill, target, target, SIGRTMIN);
                        if (r == 0)
                                ok++;
                        if (i % 8 == 0)
                                usleep(200);
                }
                (void) !write(sent_pipe[1], &ok, sizeof(ok));
                _exit(0);
        }

        /* Inject over and over while the signals arrive. */
        int injections = 0, sent = -1;
        for (;;) {
                long result;
                InjectStage stage;
                assert_int_equal(inject_munlockall(target, -EBADF, &result, &stage), 0);
                assert_int_equal(result, 0);
                injections++;
                if (waitpid(sender, NULL, WNOHANG) == sender) {
                        forget(sender);
                        break;
                }
        }
        assert_int_equal(read(sent_pipe[0], &sent, sizeof(sent)), (ssize_t) sizeof(sent));
        assert_true(sent > N_SIGNALS / 2);
        assert_true(injections > 5);

        assert_int_equal(sigqueue(target, SIGRTMIN + 1, (union sigval){}), 0);
        read_report(out[0], buf, sizeof(buf));
        print_message("%d signals sent during %d injections, %s handled\n", sent, injections, buf);
        assert_int_equal(atoi(buf), sent);
        kill_and_reap(target);
        safe_close(out[0]);
        safe_close(out[1]);
        safe_close(sent_pipe[0]);
        safe_close(sent_pipe[1]);
}

static void *idle_thread(void *arg) {
        for (;;)
                pause();
        return NULL;
}

static char thread_state_of(pid_t pid, pid_t tid) {
        char path[64];
        _cleanup_close_ int dfd = -EBADF;
        ProcStat st;

        snprintf(path, sizeof(path), "/proc/%d/task/%d", (int) pid, (int) tid);
        dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || proc_stat_read(dfd, &st) < 0)
                return '?';
        return st.state;
}

static void test_zombie_leader(void **state) {
        /* The main thread called pthread_exit(): a zombie leader cannot be stopped, so another
         * thread is used. */
        pid_t pid = remember(fork());
        if (pid == 0) {
                pthread_t t;
                if (pthread_create(&t, NULL, idle_thread, NULL) != 0)
                        _exit(1);
                pthread_exit(NULL);
        }
        for (int i = 0; i < 2000 && thread_state_of(pid, pid) != 'Z'; i++)
                usleep(1000);
        assert_int_equal(thread_state_of(pid, pid), 'Z');

        long result;
        InjectStage stage;
        assert_int_equal(inject_munlockall(pid, -EBADF, &result, &stage), 0);
        assert_int_equal(stage, INJECT_STAGE_SYSCALL);
        assert_int_equal(result, 0);
        assert_int_equal(waitpid(pid, NULL, WNOHANG), 0);
        kill_and_reap(pid);
}

static void test_stopped_target(void **state) {
        /* A stopped (SIGSTOP) process gets locked and stays stopped until SIGCONT. */
        pid_t pid = spawn_sleep_bin();
        long result;
        InjectStage stage;

        assert_int_equal(kill(pid, SIGSTOP), 0);
        for (int i = 0; i < 2000 && thread_state_of(pid, pid) != 'T'; i++)
                usleep(1000);
        assert_int_equal(thread_state_of(pid, pid), 'T');
        assert_int_equal(inject_mlockall(pid, -EBADF, MCL_CURRENT, &result, &stage), 0);
        assert_int_equal(result, 0);
        assert_true(status_of(pid).vm_lck > 0);
        usleep(50 * 1000);
        assert_int_equal(thread_state_of(pid, pid), 'T');
        assert_int_equal(kill(pid, SIGCONT), 0);
        /* Running again, back asleep in its (restarted) nanosleep. */
        for (int i = 0; i < 2000 && thread_state_of(pid, pid) != 'S'; i++)
                usleep(1000);
        assert_int_equal(thread_state_of(pid, pid), 'S');
        assert_int_equal(waitpid(pid, NULL, WNOHANG), 0);
        kill_and_reap(pid);
}

static int vfork_child(void *arg) {
        usleep(1000 * 1000);
        _exit(0);
}

/* Counts the fds of pid and checks that none of them is `forbidden`. */
static int fds_of(pid_t pid, int forbidden_inode, bool *ret_has_forbidden) {
        char path[64];
        int n = 0;

        *ret_has_forbidden = false;
        snprintf(path, sizeof(path), "/proc/%d/fd", (int) pid);
        DIR *d = opendir(path);
        if (!d)
                return -1;
        for (struct dirent *de = readdir(d); de; de = readdir(d)) {
                if (de->d_name[0] == '.')
                        continue;
                struct stat st;
                if (fstatat(dirfd(d), de->d_name, &st, 0) == 0 &&
                    (int) st.st_ino == forbidden_inode)
                        *ret_has_forbidden = true;
                n++;
        }
        closedir(d);
        return n;
}

static void test_helper_holds_no_fds(void **state) {
        /* A target blocked in vfork() cannot be stopped until its child exits (1 s): meanwhile
         * the helper is observable. It holds stdio, the result pipe and the pidfd, nothing of
         * ours. */
        int in[2];
        pid_t pid = remember(fork());
        if (pid == 0) {
                static char stack[64 * 1024];
                for (;;)
                        if (clone(vfork_child, stack + sizeof(stack), CLONE_VFORK | SIGCHLD, NULL) <
                            0)
                                _exit(1);
        }
        usleep(100 * 1000);
        _cleanup_close_ int pidfd = pidfd_open_checked(pid);
        assert_int_equal(pipe(in), 0); /* not O_CLOEXEC: the helper must close it itself */
        struct stat st;
        assert_int_equal(fstat(in[0], &st), 0);

        pid_t helper;
        _cleanup_close_ int fd = -EBADF;
        assert_int_equal(inject_job_start(pid, pidfd, SYS_munlockall, 0, &helper, &fd), 0);
        usleep(300 * 1000);
        bool leaked;
        int n = fds_of(helper, (int) st.st_ino, &leaked);
        assert_false(leaked);
        assert_in_range(n, 2, 5); /* 0-2 (if open), the result pipe, the pidfd */

        InjectResult res;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        assert_int_equal(poll(&p, 1, 10000), 1);
        assert_int_equal(inject_job_read_result(fd, &res), 0);
        assert_int_equal(res.error, 0);
        assert_int_equal(waitpid(helper, NULL, 0), helper);
        safe_close(in[0]);
        safe_close(in[1]);
        kill_and_reap(pid);
}

static void test_thread_of_other_process(void **state) {
        /* A thread id of another process is refused. */
        pid_t a = spawn_sleep_bin(), b = spawn_sleep_bin();
        const long args[6] = {};
        long result;
        InjectStage stage;

        assert_int_equal(inject_syscall(a, b, -EBADF, SYS_munlockall, args, &result, &stage),
                         -ESRCH);
        assert_int_equal(stage, INJECT_STAGE_IDENTITY);
        assert_int_equal(waitpid(b, NULL, WNOHANG), 0);
        kill_and_reap(a);
        kill_and_reap(b);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_teardown(test_stage_strings, teardown),
                cmocka_unit_test_teardown(test_mlockall_and_back, teardown),
                cmocka_unit_test_teardown(test_job, teardown),
                cmocka_unit_test_teardown(test_invalid, teardown),
                cmocka_unit_test_teardown(test_dead, teardown),
                cmocka_unit_test_teardown(test_pidfd_mismatch, teardown),
                cmocka_unit_test_teardown(test_restart_nanosleep, teardown),
                cmocka_unit_test_teardown(test_restart_read, teardown),
                cmocka_unit_test_teardown(test_signals_not_lost, teardown),
                cmocka_unit_test_teardown(test_zombie_leader, teardown),
                cmocka_unit_test_teardown(test_stopped_target, teardown),
                cmocka_unit_test_teardown(test_helper_holds_no_fds, teardown),
                cmocka_unit_test_teardown(test_thread_of_other_process, teardown),
        };
        if (geteuid() != 0 && access("/proc/sys/kernel/yama/ptrace_scope", F_OK) == 0) {
                int scope = 0;
                FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
                if (f) {
                        if (fscanf(f, "%d", &scope) != 1)
                                scope = 0;
                        fclose(f);
                }
                if (scope > 0) {
                        printf("skipping: ptrace_scope=%d and not root\n", scope);
                        return 77;
                }
        }
        if (setup(NULL) < 0)
                return 77;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
