/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The core without a bus: a Manager driven directly, its changes heard through a recording
 * ManagerObserver. Run (a real launch child, the shim, VmLck), lock, a lock failure, exit,
 * Attach and Detach (the real injector), re-adoption by a new Manager from the state file,
 * and a budget refusal. Needs root (the launch child changes uid); the Run cases need the
 * shim built. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/log.h"
#include "common/macro.h"
#include "common/proc.h"
#include "common/time-util.h"
#include "daemon/core/manager.h"

#define NOBODY 65534

static char tmpdir[] = "/tmp/test-manager-XXXXXX";
static char shim_path[PATH_MAX];
static char state_dir[PATH_MAX], policy_dir[PATH_MAX], config_path[PATH_MAX];

/* ---- the recording observer --------------------------------------------------------------- */

typedef struct Recorder {
        ManagerEventType events[256];
        uint64_t event_ids[256];
        int codes[256];
        size_t n_events;
        uint64_t job_ids[64];
        uint64_t job_workloads[64]; /* 0 on failure */
        ErrorKind job_errors[64];
        char *job_messages[64];
        size_t n_jobs;
        unsigned changes; /* every WorkloadChange seen */
        unsigned manager_changes;
} Recorder;

static void on_event(void *userdata, const ManagerEvent *e) {
        Recorder *r = userdata;

        assert_true(r->n_events < ELEMENTSOF(r->events));
        r->events[r->n_events] = e->type;
        r->event_ids[r->n_events] = e->workload_id;
        r->codes[r->n_events] = e->code;
        r->n_events++;
}

static void on_workload_changed(void *userdata, Workload *w, unsigned changes) {
        Recorder *r = userdata;
        r->changes |= changes;
}

static void on_manager_changed(void *userdata, unsigned changes) {
        Recorder *r = userdata;
        r->manager_changes |= changes;
}

static void on_job_finished(void *userdata, const JobResult *res) {
        Recorder *r = userdata;

        assert_true(r->n_jobs < ELEMENTSOF(r->job_ids));
        r->job_ids[r->n_jobs] = res->job_id;
        r->job_workloads[r->n_jobs] = res->workload ? res->workload->id : 0;
        r->job_errors[r->n_jobs] = res->error ? res->error->kind : _ERROR_KIND_INVALID;
        r->job_messages[r->n_jobs] =
                res->error && res->error->message ? strdup(res->error->message) : NULL;
        r->n_jobs++;
}

static const ManagerObserver recorder_observer = {
        .event = on_event,
        .workload_changed = on_workload_changed,
        .manager_changed = on_manager_changed,
        .job_finished = on_job_finished,
};

static void recorder_clear(Recorder *r) {
        for (size_t i = 0; i < r->n_jobs; i++)
                free(r->job_messages[i]);
        *r = (Recorder){};
}

/* Index of the job's result, or -1. */
static ssize_t job_index(const Recorder *r, uint64_t job_id) {
        for (size_t i = 0; i < r->n_jobs; i++)
                if (r->job_ids[i] == job_id)
                        return (ssize_t) i;
        return -1;
}

static bool has_event(const Recorder *r, ManagerEventType t, uint64_t id) {
        for (size_t i = 0; i < r->n_events; i++)
                if (r->events[i] == t && r->event_ids[i] == id)
                        return true;
        return false;
}

/* ---- driving the loop ----------------------------------------------------------------------- */

typedef bool (*Predicate)(Manager *m, Recorder *r, uint64_t arg);

/* Runs the loop until pred holds. The deadline only keeps a broken build from hanging: nothing
 * here depends on how fast things are. */
static void run_until(Manager *m, Recorder *r, Predicate pred, uint64_t arg) {
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + 60 * USEC_PER_SEC;

        while (!pred(m, r, arg)) {
                assert_true(now_usec(CLOCK_MONOTONIC) < deadline);
                assert_true(sd_event_run(m->event, 100 * USEC_PER_MSEC) >= 0);
        }
}

static bool job_done(Manager *m, Recorder *r, uint64_t job_id) {
        return job_index(r, job_id) >= 0;
}

static bool workload_settled(Manager *m, Recorder *r, uint64_t id) {
        return has_event(r, MANAGER_EVENT_WORKLOAD_LOCKED, id) ||
               has_event(r, MANAGER_EVENT_WORKLOAD_FAILED, id);
}

static bool workload_exited(Manager *m, Recorder *r, uint64_t id) {
        return has_event(r, MANAGER_EVENT_WORKLOAD_EXITED, id);
}

static bool workload_removed(Manager *m, Recorder *r, uint64_t id) {
        return has_event(r, MANAGER_EVENT_WORKLOAD_REMOVED, id);
}

/* ---- set-up ---------------------------------------------------------------------------------- */

static void write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        assert_true(fputs(text, f) >= 0);
        assert_int_equal(fclose(f), 0);
}

static Manager *manager_make(Recorder *r) {
        char *dirs[] = { policy_dir, NULL };
        ManagerSettings s = {
                .config_path = config_path,
                .policy_dirs = dirs,
                .state_dir = state_dir,
                .shim_path = shim_path,
                .socket_path = "/nonexistent/test-manager.socket",
        };
        PolicyDiagnostics d = {};
        Manager *m = NULL;

        assert_int_equal(manager_new(&s, &m), 0);
        assert_int_equal(manager_load_config(m, &d), 0);
        policy_diagnostics_clear(&d);
        manager_set_observer(m, &recorder_observer, r);
        assert_int_equal(manager_startup(m), 0);
        return m;
}

static int setup(void **state) {
        char exe[PATH_MAX];
        ssize_t k;

        if (geteuid() != 0) {
                print_message("not root: the launch child cannot take another uid\n");
                return -1;
        }
        k = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        assert_true(k > 0);
        exe[k] = '\0';
        (void) snprintf(shim_path, sizeof(shim_path), "%s/shim/libmemlock-shim.so",
                        dirname(dirname(dirname(exe))));
        assert_non_null(mkdtemp(tmpdir));
        assert_int_equal(chmod(tmpdir, 0755), 0);
        (void) snprintf(state_dir, sizeof(state_dir), "%s/state", tmpdir);
        (void) snprintf(policy_dir, sizeof(policy_dir), "%s/policy.d", tmpdir);
        (void) snprintf(config_path, sizeof(config_path), "%s/mlockd.conf", tmpdir);
        assert_int_equal(mkdir(policy_dir, 0755), 0);
        /* A 100M budget; no per-user share in the way of nobody's 64M workload. */
        write_file(config_path, "[Daemon]\nBudget=100M\nMaxLockedPerUser=infinity\n");
        {
                char cmd[2 * PATH_MAX];
                (void) snprintf(cmd, sizeof(cmd), "cp /bin/true '%s/true'", tmpdir);
                assert_int_equal(system(cmd), 0);
        }
        {
                char p[PATH_MAX + 32];
                (void) snprintf(p, sizeof(p), "%s/10-test.policy", policy_dir);
                write_file(p, "[Match]\nExecutable=/usr/bin/*\n\n[Lock]\nMode=on\nLimit=64M\n"
                              "OnFailure=continue\n\n[Access]\nAllowUsers=root nobody\n"
                              "AllowRun=yes\nAllowAttach=yes\n");
        }
        log_set_max_level(LOG_WARNING);
        return 0;
}

static int teardown(void **state) {
        char cmd[PATH_MAX + 16];

        (void) snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        (void) !system(cmd);
        return 0;
}

static void caller_nobody(Caller *ret) {
        assert_int_equal(caller_from_values(NOBODY, NOBODY, getpid(), NULL, 0, ret), 0);
        assert_true(ret->pidfd >= 0);
}

/* Starts a Run of argv for nobody and runs the loop until its job finishes. */
static uint64_t run_job(Manager *m, Recorder *r, char **argv, bool detach) {
        _cleanup_(core_error_done) CoreError e = CORE_ERROR_NULL;
        _cleanup_(caller_done) Caller c = CALLER_NULL;
        char *env[] = { (char *) "PATH=/usr/bin:/bin", NULL };
        const int fds[3] = { -EBADF, -EBADF, -EBADF };
        WorkloadOptions o;
        uint64_t job_id = 0;

        caller_nobody(&c);
        workload_options_init(&o);
        o.detach = detach;
        assert_int_equal(manager_run(m, &c, argv, env, "/", fds, &o, 0, &job_id, &e), 0);
        assert_true(job_id > 0);
        run_until(m, r, job_done, job_id);
        return job_id;
}

/* ---- the cases ----------------------------------------------------------------------------- */

static void test_run_lock_exit_budget_readopt(void **state) {
        char *sleep_argv[] = { (char *) "sleep", (char *) "60", NULL };
        Recorder r = {}, r2 = {};
        Manager *m, *m2;
        Workload *w;
        uint64_t job, id, lck;
        ssize_t i;
        int pidfd;
        pid_t pid;

        if (access(shim_path, R_OK) < 0)
                skip();
        m = manager_make(&r);

        /* Run: the job finishes with a workload; WorkloadNew, then WorkloadLocked. */
        job = run_job(m, &r, sleep_argv, true);
        i = job_index(&r, job);
        assert_true(i >= 0);
        id = r.job_workloads[i];
        if (id == 0)
                fail_msg("Run failed: %s", strna(r.job_messages[i]));
        w = workload_table_find_id(&m->workloads, id);
        assert_non_null(w);
        assert_int_equal(w->kind, WORKLOAD_KIND_RUN);
        assert_int_equal(w->uid, NOBODY);
        assert_string_equal(w->policy, "10-test");
        run_until(m, &r, workload_settled, id);
        assert_true(has_event(&r, MANAGER_EVENT_WORKLOAD_NEW, id));
        assert_true(has_event(&r, MANAGER_EVENT_WORKLOAD_LOCKED, id));
        assert_int_equal(w->state, WORKLOAD_LOCKED);
        assert_true(r.changes & WORKLOAD_CHANGE_STATE);
        assert_true(r.manager_changes & MANAGER_CHANGE_WORKLOADS);
        assert_int_equal(proc_vm_lck_read(w->ident.pid, w->pidfd, &lck), 0);
        assert_true(lck > 0);
        /* The sample the bus serves is the same reading. */
        assert_true(manager_workload_sample(m, w)->status.vm_lck > 0);
        assert_int_equal(manager_reserved_bytes(m), 64u << 20);

        /* Budget: with the budget lowered below what another 64M workload needs (a contained,
         * locked workload commits only what it holds), the job fails and says why. */
        {
                uint64_t saved_budget = m->config.budget;

                m->config.budget = 10u << 20;
                job = run_job(m, &r, sleep_argv, true);
                m->config.budget = saved_budget;
        }
        i = job_index(&r, job);
        assert_int_equal(r.job_workloads[i], 0);
        assert_int_equal(r.job_errors[i], ERROR_BUDGET_EXCEEDED);
        assert_non_null(strstr(r.job_messages[i], "budget"));
        assert_int_equal(manager_reserved_bytes(m), 64u << 20);

        /* Re-adoption: the state file holds it; a new manager takes it over, untouched. */
        pid = w->ident.pid;
        manager_flush(m);
        manager_free(m);
        m2 = manager_make(&r2);
        w = workload_table_find_id(&m2->workloads, id);
        assert_non_null(w);
        assert_true(w->adopted);
        assert_int_equal(w->ident.pid, pid);
        assert_int_equal(w->state, WORKLOAD_LOCKED);
        assert_int_equal(manager_reserved_bytes(m2), 64u << 20);

        /* Exit: killed, WorkloadExited, the reservation freed. */
        pidfd = pidfd_open_checked(pid);
        assert_true(pidfd >= 0);
        {
                _cleanup_(core_error_done) CoreError e = CORE_ERROR_NULL;
                Caller root;
                assert_int_equal(caller_root(&root), 0);
                assert_int_equal(manager_kill(m2, &root, w, SIGKILL, &e), 0);
        }
        run_until(m2, &r2, workload_exited, id);
        assert_int_equal(w->state, WORKLOAD_EXITED);
        assert_int_equal(manager_reserved_bytes(m2), 0);
        /* Not our child after the restart: reaped by init's stand-in, the test. */
        (void) waitpid(pid, NULL, 0);
        safe_close(pidfd);
        manager_free(m2);
        recorder_clear(&r);
        recorder_clear(&r2);
}

static void test_run_failures(void **state) {
        char *sleep_argv[] = { (char *) "/usr/bin/sleep", (char *) "0.2", NULL };
        char *nope_argv[] = { (char *) "no-such-command-xyz", NULL };
        char *denied_argv[] = { (char *) "/bin/sh", (char *) "-c", (char *) "exit 0", NULL };
        _cleanup_free_ char *saved = NULL;
        Recorder r = {};
        Manager *m;
        uint64_t job, id;
        ssize_t i;

        m = manager_make(&r);

        /* Not found: the launch child's own answer. */
        job = run_job(m, &r, nope_argv, true);
        i = job_index(&r, job);
        assert_int_equal(r.job_errors[i], ERROR_INVALID_ARGUMENT);
        assert_non_null(strstr(r.job_messages[i], "'no-such-command-xyz'"));

        /* No policy for a program outside /usr/bin. */
        {
                _cleanup_free_ char *p = NULL;
                assert_true(asprintf(&p, "%s/true", tmpdir) > 0);
                denied_argv[0] = p;
                job = run_job(m, &r, denied_argv, true);
        }
        i = job_index(&r, job);
        assert_int_equal(r.job_workloads[i], 0);
        assert_true(r.job_errors[i] == ERROR_NO_MATCHING_POLICY ||
                    r.job_errors[i] == ERROR_ACCESS_DENIED);

        /* A lock failure: the shim cannot be loaded, so no report comes; the workload runs
         * unlocked (OnFailure=continue) and fails with the reason, then exits. */
        saved = m->shim_path;
        m->shim_path = strdup("/nonexistent/libmemlock-shim.so");
        assert_non_null(m->shim_path);
        job = run_job(m, &r, sleep_argv, false);
        i = job_index(&r, job);
        id = r.job_workloads[i];
        assert_true(id > 0);
        run_until(m, &r, workload_settled, id);
        assert_true(has_event(&r, MANAGER_EVENT_WORKLOAD_FAILED, id));
        assert_non_null(strstr(workload_table_find_id(&m->workloads, id)->error, "shim"));
        run_until(m, &r, workload_exited, id);
        free(m->shim_path);
        m->shim_path = TAKE_PTR(saved);
        manager_free(m);
        recorder_clear(&r);
}

static void test_attach_detach(void **state) {
        _cleanup_(core_error_done) CoreError e = CORE_ERROR_NULL;
        Recorder r = {};
        WorkloadOptions o;
        Workload *w;
        Caller root;
        Manager *m;
        uint64_t lck, job = 0, id;
        pid_t target;
        int k;

        m = manager_make(&r);
        target = fork();
        assert_true(target >= 0);
        if (target == 0) {
                execl("/usr/bin/sleep", "sleep", "60", NULL);
                _exit(127);
        }
        /* Attach only once it is sleep (an Attach before its exec would lock the fork). */
        for (unsigned n = 0; n < 1000; n++) {
                _cleanup_free_ char *exe = NULL;
                _cleanup_close_ int dfd = proc_open(target);
                if (dfd >= 0 && proc_exe_read(dfd, &exe) >= 0 && strstr(exe, "sleep"))
                        break;
                (void) usleep(1000);
        }

        assert_int_equal(caller_root(&root), 0);
        workload_options_init(&o);
        k = manager_attach(m, &root, target, -EBADF, &o, &w, &e);
        if (k < 0)
                fail_msg("attach: %s", strna(e.message));
        id = w->id;
        assert_int_equal(w->kind, WORKLOAD_KIND_ATTACH);
        run_until(m, &r, workload_settled, id);
        assert_true(has_event(&r, MANAGER_EVENT_WORKLOAD_LOCKED, id));
        assert_int_equal(proc_vm_lck_read(target, -EBADF, &lck), 0);
        assert_true(lck > 0);

        /* Detach: a job; munlockall, then the workload goes. */
        k = manager_detach(m, &root, w, &job, &e);
        assert_int_equal(k, 1);
        assert_true(job > 0);
        run_until(m, &r, job_done, job);
        assert_int_equal(r.job_errors[job_index(&r, job)], _ERROR_KIND_INVALID);
        run_until(m, &r, workload_removed, id);
        assert_null(workload_table_find_id(&m->workloads, id));
        assert_int_equal(proc_vm_lck_read(target, -EBADF, &lck), 0);
        assert_int_equal(lck, 0);

        (void) kill(target, SIGKILL);
        (void) waitpid(target, NULL, 0);
        manager_free(m);
        recorder_clear(&r);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_run_lock_exit_budget_readopt),
                cmocka_unit_test(test_run_failures),
                cmocka_unit_test(test_attach_detach),
        };

        if (geteuid() != 0) {
                printf("SKIP: needs root (the launch child takes the caller's uid)\n");
                return 77;
        }
        return cmocka_run_group_tests(tests, setup, teardown);
}
