/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.mlockd1.Manager at /org/mlockd1. Each handler: read → validate → identify caller →
 * delegate to manager_*() (decide, act, record, emit) → reply. */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "build-config.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/parse-util.h"
#include "common/proc.h"
#include "common/process-util.h"
#include "daemon/bus/bus-error.h"
#include "daemon/bus/bus-options.h"
#include "daemon/bus/bus.h"
#include "daemon/bus/bus-limits.h"

/* ---- reading arguments ---------------------------------------------------------------------- */

static int check_string(const char *what, const char *s, sd_bus_error *error) {
        if (strlen(s) > LIMIT_STRING_BYTES)
                return bus_error_setf(error, BUS_ERROR_LIMIT_EXCEEDED,
                                      "%s is longer than %u bytes.", what, LIMIT_STRING_BYTES);
        return 0;
}

/* Reads "as" into a NULL-terminated copy, bounded in count and total size. */
static int read_strv(sd_bus_message *msg, const char *what, unsigned max_n, size_t max_bytes,
                     char ***ret, sd_bus_error *error) {
        _cleanup_strv_free_ char **l = NULL;
        size_t n = 0, bytes = 0;
        const char *s;
        int r;

        r = sd_bus_message_enter_container(msg, 'a', "s");
        if (r < 0)
                return r;
        l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (;;) {
                char **nl;

                r = sd_bus_message_read(msg, "s", &s);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                bytes += strlen(s) + 1;
                if (++n > max_n)
                        return bus_error_setf(error, BUS_ERROR_LIMIT_EXCEEDED,
                                              "%s has more than %u entries.", what, max_n);
                if (bytes > max_bytes)
                        return bus_error_setf(error, BUS_ERROR_LIMIT_EXCEEDED,
                                              "%s is larger than %zu KiB.", what, max_bytes / 1024);
                nl = reallocarray(l, n + 1, sizeof(char *));
                if (!nl)
                        return -ENOMEM;
                l = nl;
                l[n - 1] = strdup(s);
                l[n] = NULL;
                if (!l[n - 1])
                        return -ENOMEM;
        }
        r = sd_bus_message_exit_container(msg);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

static int reply_path(sd_bus_message *msg, Workload *w) {
        return sd_bus_reply_method_return(msg, "o", w->path);
}

/* ---- methods ------------------------------------------------------------------------------- */

static int method_run(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusServer *s = userdata;
        Manager *m = s->manager;
        _cleanup_strv_free_ char **argv = NULL, **env = NULL;
        _cleanup_(caller_done) Caller c = CALLER_NULL;
        _cleanup_(core_error_done) CoreError e = CORE_ERROR_NULL;
        WorkloadOptions o;
        const char *cwd;
        Connection *conn;
        uint64_t job_id;
        int fds[3];
        int r;

        r = read_strv(msg, "argv", LIMIT_ARGV_COUNT, LIMIT_ARGV_BYTES, &argv, error);
        if (r < 0)
                return r;
        r = read_strv(msg, "env", LIMIT_ENV_COUNT, LIMIT_ENV_BYTES, &env, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "shhh", &cwd, &fds[0], &fds[1], &fds[2]);
        if (r < 0)
                return r;
        r = bus_read_workload_options(msg, &o, error);
        if (r < 0)
                return r;
        if (!argv[0] || !argv[0][0])
                return bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                      "argv is empty: nothing to run.");
        r = check_string("cwd", cwd, error);
        if (r < 0)
                return r;
        if (cwd[0] != '/')
                return bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                      "cwd '%s' is not an absolute path.", cwd);

        r = bus_message_get_caller(s, msg, &c, error);
        if (r < 0)
                return r;
        conn = bus_server_find_connection(s, sd_bus_message_get_bus(msg));
        r = manager_run(m, &c, argv, env, cwd, fds, &o, conn ? conn->id : 0, &job_id, &e);
        if (r < 0)
                return bus_error_from_core(error, &e, r);
        /* The launch runs as a job: the reply follows when the program runs (or fails). */
        r = bus_server_pending_add(s, job_id, msg);
        if (r < 0)
                return r;
        return 1;
}

static int method_exec(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusServer *s = userdata;
        Manager *m = s->manager;
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_(caller_done) Caller c = CALLER_NULL;
        _cleanup_(core_error_done) CoreError e = CORE_ERROR_NULL;
        WorkloadOptions o;
        uint64_t job_id;
        int r;

        r = read_strv(msg, "argv", LIMIT_ARGV_COUNT, LIMIT_ARGV_BYTES, &argv, error);
        if (r < 0)
                return r;
        r = bus_read_workload_options(msg, &o, error);
        if (r < 0)
                return r;
        if (!argv[0] || !argv[0][0])
                return bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                      "argv is empty: nothing to exec.");
        r = bus_message_get_caller(s, msg, &c, error);
        if (r < 0)
                return r;
        r = manager_exec(m, &c, argv, &o, &job_id, &e);
        if (r < 0)
                return bus_error_from_core(error, &e, r);
        r = bus_server_pending_add(s, job_id, msg);
        if (r < 0)
                return r;
        return 1;
}

static int method_attach(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusServer *s = userdata;
        Manager *m = s->manager;
        _cleanup_(caller_done) Caller c = CALLER_NULL;
        _cleanup_(core_error_done) CoreError e = CORE_ERROR_NULL;
        WorkloadOptions o;
        uint32_t pid;
        Workload *w;
        int r;

        r = sd_bus_message_read(msg, "u", &pid);
        if (r < 0)
                return r;
        r = bus_read_workload_options(msg, &o, error);
        if (r < 0)
                return r;
        if (pid == 0 || pid > INT32_MAX)
                return bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "%u is not a pid.", pid);
        r = bus_message_get_caller(s, msg, &c, error);
        if (r < 0)
                return r;
        r = manager_attach(m, &c, (pid_t) pid, -EBADF, &o, &w, &e);
        if (r < 0)
                return bus_error_from_core(error, &e, r);
        return reply_path(msg, w);
}

static int method_attach_pidfd(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusServer *s = userdata;
        Manager *m = s->manager;
        _cleanup_(caller_done) Caller c = CALLER_NULL;
        _cleanup_(core_error_done) CoreError e = CORE_ERROR_NULL;
        WorkloadOptions o;
        pid_t pid;
        int pidfd;
        Workload *w;
        int r;

        r = sd_bus_message_read(msg, "h", &pidfd);
        if (r < 0)
                return r;
        r = bus_read_workload_options(msg, &o, error);
        if (r < 0)
                return r;
        r = pidfd_get_pid(pidfd, &pid);
        if (r == -ESRCH)
                return bus_error_setf(error, BUS_ERROR_NO_SUCH_PROCESS,
                                      "The process of the pidfd has exited.");
        if (r < 0)
                return bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                      "The fd passed is not a pidfd.");
        r = bus_message_get_caller(s, msg, &c, error);
        if (r < 0)
                return r;
        r = manager_attach(m, &c, pid, pidfd, &o, &w, &e);
        if (r < 0)
                return bus_error_from_core(error, &e, r);
        return reply_path(msg, w);
}

static int method_detach(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusServer *s = userdata;
        Manager *m = s->manager;
        _cleanup_(caller_done) Caller c = CALLER_NULL;
        _cleanup_(core_error_done) CoreError e = CORE_ERROR_NULL;
        const char *path;
        uint64_t job_id;
        Workload *w;
        int r;

        r = sd_bus_message_read(msg, "o", &path);
        if (r < 0)
                return r;
        r = bus_message_get_caller(s, msg, &c, error);
        if (r < 0)
                return r;
        r = manager_get_workload(m, &c, path, &w, &e);
        if (r < 0)
                return bus_error_from_core(error, &e, r);
        r = manager_detach(m, &c, w, &job_id, &e);
        if (r < 0)
                return bus_error_from_core(error, &e, r);
        if (r > 0) {
                /* munlockall runs in a helper: answer when it is done. */
                r = bus_server_pending_add(s, job_id, msg);
                if (r < 0)
                        return r;
                return 1;
        }
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_kill(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusServer *s = userdata;
        Manager *m = s->manager;
        _cleanup_(caller_done) Caller c = CALLER_NULL;
        _cleanup_(core_error_done) CoreError e = CORE_ERROR_NULL;
        const char *path;
        int32_t sig;
        Workload *w;
        int r;

        r = sd_bus_message_read(msg, "oi", &path, &sig);
        if (r < 0)
                return r;
        r = bus_message_get_caller(s, msg, &c, error);
        if (r < 0)
                return r;
        r = manager_get_workload(m, &c, path, &w, &e);
        if (r < 0)
                return bus_error_from_core(error, &e, r);
        r = manager_kill(m, &c, w, sig, &e);
        if (r < 0)
                return bus_error_from_core(error, &e, r);
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_list_workloads(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusServer *s = userdata;
        Manager *m = s->manager;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(souusssstt)");
        if (r < 0)
                return r;
        for (Workload *w = m->workloads.head; w; w = w->next) {
                uint64_t locked = 0;

                if (workload_is_live(w)) {
                        const WorkloadSample *sample = manager_workload_sample(m, w);
                        if (sample->status.vm_lck != PROC_UNSET)
                                locked = sample->status.vm_lck;
                }
                r = sd_bus_message_append(
                        reply, "(souusssstt)", w->id_str, w->path, (uint32_t) w->ident.pid,
                        (uint32_t) w->uid, strempty(w->name), strempty(w->policy),
                        strempty(workload_state_to_string(w->state)),
                        strempty(mechanism_to_string(w->mechanism)), locked, w->settings.limit);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_get_workload_by_pid(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusServer *s = userdata;
        Manager *m = s->manager;
        uint32_t pid;
        Workload *w;
        int r;

        r = sd_bus_message_read(msg, "u", &pid);
        if (r < 0)
                return r;
        w = pid > 0 && pid <= INT32_MAX ? workload_table_find_pid(&m->workloads, (pid_t) pid)
                                        : NULL;
        if (!w)
                return bus_error_setf(error, BUS_ERROR_NO_SUCH_WORKLOAD,
                                      "pid %u is not a workload of mlockd; 'memlockctl list' "
                                      "shows the current ones.",
                                      pid);
        return reply_path(msg, w);
}

static int method_explain(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusServer *s = userdata;
        Manager *m = s->manager;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(caller_done) Caller c = CALLER_NULL;
        _cleanup_(core_error_done) CoreError e = CORE_ERROR_NULL;
        PolicyDecision d = {};
        uint32_t pid;
        int r;

        r = sd_bus_message_read(msg, "u", &pid);
        if (r < 0)
                return r;
        if (pid == 0 || pid > INT32_MAX)
                return bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "%u is not a pid.", pid);
        r = bus_message_get_caller(s, msg, &c, error);
        if (r < 0)
                return r;
        r = manager_explain(m, &c, (pid_t) pid, &d, &e);
        if (r < 0)
                return bus_error_from_core(error, &e, r);

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "sss", strempty(verdict_to_string(d.verdict)),
                                          d.policy ? policy_name(d.policy) : "",
                                          strempty(d.message));
        if (r >= 0)
                r = sd_bus_message_append_strv(reply, d.skipped);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r >= 0 && d.verdict == VERDICT_ALLOW)
                r = sd_bus_message_append(
                        reply, "{sv}{sv}{sv}{sv}{sv}{sv}{sv}", "mode", "s",
                        strempty(lock_mode_to_string(d.settings.mode)), "limit", "t",
                        d.settings.limit, "prefault_threads", "i", d.settings.prefault_threads,
                        "transparent_hugepages", "b", d.settings.transparent_hugepages, "inherit",
                        "b", d.settings.inherit, "on_failure", "s",
                        strempty(on_failure_to_string(d.settings.on_failure)), "on_exceed", "s",
                        strempty(on_exceed_to_string(d.settings.on_exceed)));
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        policy_decision_clear(&d);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_reload(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusServer *s = userdata;
        Manager *m = s->manager;
        _cleanup_(caller_done) Caller c = CALLER_NULL;
        _cleanup_free_ char *joined = NULL;
        PolicyDiagnostics d = {};
        size_t l = 0;
        int r;

        r = bus_message_get_caller(s, msg, &c, error);
        if (r < 0)
                return r;
        if (!caller_is_root(&c))
                return bus_error_setf(error, BUS_ERROR_ACCESS_DENIED,
                                      "Only root may reload mlockd's configuration (you are "
                                      "uid %u).",
                                      (unsigned) c.uid);
        r = manager_reload(m, &d);
        if (r >= 0) {
                policy_diagnostics_clear(&d);
                return sd_bus_reply_method_return(msg, NULL);
        }
        for (size_t i = 0; i < d.n; i++)
                l += strlen(d.messages[i]) + 1;
        joined = calloc(l + 1, 1);
        if (joined)
                for (size_t i = 0; i < d.n; i++) {
                        strcat(joined, d.messages[i]);
                        if (i + 1 < d.n)
                                strcat(joined, "\n");
                }
        r = bus_error_setf(error, BUS_ERROR_INVALID_POLICY,
                           "The new configuration has %zu error%s; the previous one stays in "
                           "force:\n%s",
                           d.n, d.n == 1 ? "" : "s", strempty(joined));
        policy_diagnostics_clear(&d);
        return r;
}

/* ---- properties ------------------------------------------------------------------------------ */

static int property_version(sd_bus *bus, const char *path, const char *interface,
                            const char *property, sd_bus_message *reply, void *userdata,
                            sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", MLOCKD_VERSION);
}

static int property_containment(sd_bus *bus, const char *path, const char *interface,
                                const char *property, sd_bus_message *reply, void *userdata,
                                sd_bus_error *error) {
        BusServer *server = userdata;
        _cleanup_free_ char *s = containment_describe(&server->manager->containment);

        if (!s)
                return -ENOMEM;
        return sd_bus_message_append(reply, "s", s);
}

static int property_bytes(sd_bus *bus, const char *path, const char *interface,
                          const char *property, sd_bus_message *reply, void *userdata,
                          sd_bus_error *error) {
        BusServer *s = userdata;
        Manager *m = s->manager;
        uint64_t v = 0;

        if (streq(property, "BudgetBytes"))
                v = m->config.budget;
        else if (streq(property, "ReservedBytes"))
                v = manager_reserved_bytes(m);
        else if (streq(property, "CommittedBytes"))
                v = manager_committed_bytes(m);
        else if (streq(property, "LockedBytes"))
                v = manager_locked_bytes(m);
        else if (streq(property, "SystemMlockedBytes")) {
                MemInfo mi;
                if (meminfo_read(&mi) >= 0 && mi.mlocked != PROC_UNSET)
                        v = mi.mlocked;
        }
        return sd_bus_message_append(reply, "t", v);
}

static int property_workloads(sd_bus *bus, const char *path, const char *interface,
                              const char *property, sd_bus_message *reply, void *userdata,
                              sd_bus_error *error) {
        BusServer *s = userdata;
        Manager *m = s->manager;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "o");
        if (r < 0)
                return r;
        for (Workload *w = m->workloads.head; w; w = w->next) {
                r = sd_bus_message_append(reply, "o", w->path);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int property_policies(sd_bus *bus, const char *path, const char *interface,
                             const char *property, sd_bus_message *reply, void *userdata,
                             sd_bus_error *error) {
        BusServer *s = userdata;
        Manager *m = s->manager;
        size_t n = m->policies ? policy_set_size(m->policies) : 0;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "s");
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                r = sd_bus_message_append(reply, "s", policy_name(policy_set_get(m->policies, i)));
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

/* ---- replies of jobs ------------------------------------------------------------------------- */

void bus_manager_reply_job(sd_bus_message *msg, const JobResult *r) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int k;

        if (core_error_is_set(r->error)) {
                (void) bus_error_from_core(&error, r->error, error_kind_to_errno(r->error->kind));
                (void) sd_bus_reply_method_error(msg, &error);
                return;
        }
        if (!r->workload) {
                (void) sd_bus_reply_method_return(msg, NULL); /* Detach */
                return;
        }
        k = sd_bus_message_new_method_return(msg, &reply);
        if (k >= 0)
                k = sd_bus_message_append(reply, "o", r->workload->path);
        if (k >= 0 && sd_bus_message_has_signature(msg, "asa{sv}"))
                k = sd_bus_message_append_strv(reply, r->env); /* Exec */
        if (k >= 0)
                k = sd_bus_send(NULL, reply, NULL);
        if (k < 0)
                log_debug_errno(k, "Failed to send the reply of job %" PRIu64 ": %m", r->job_id);
}

const sd_bus_vtable bus_manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("BudgetBytes", "t", property_bytes, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ReservedBytes", "t", property_bytes, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_PROPERTY("Containment", "s", property_containment, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        /* Moves with what workloads' cgroups hold: read when asked, never signalled. */
        SD_BUS_PROPERTY("CommittedBytes", "t", property_bytes, 0, 0),
        SD_BUS_PROPERTY("LockedBytes", "t", property_bytes, 0, 0),
        SD_BUS_PROPERTY("SystemMlockedBytes", "t", property_bytes, 0, 0),
        /* Invalidated, not sent: with 1000 workloads every change would carry 1000 paths. */
        SD_BUS_PROPERTY("Workloads", "ao", property_workloads, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_PROPERTY("Policies", "as", property_policies, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),

        SD_BUS_METHOD_WITH_ARGS("Run",
                                SD_BUS_ARGS("as", argv, "as", env, "s", cwd, "h", stdin_fd, "h",
                                            stdout_fd, "h", stderr_fd, "a{sv}", options),
                                SD_BUS_RESULT("o", workload), method_run,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Exec", SD_BUS_ARGS("as", argv, "a{sv}", options),
                                SD_BUS_RESULT("o", workload, "as", environment), method_exec,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Attach", SD_BUS_ARGS("u", pid, "a{sv}", options),
                                SD_BUS_RESULT("o", workload), method_attach,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AttachPidfd", SD_BUS_ARGS("h", pidfd, "a{sv}", options),
                                SD_BUS_RESULT("o", workload), method_attach_pidfd,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Detach", SD_BUS_ARGS("o", workload), SD_BUS_NO_RESULT,
                                method_detach, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Kill", SD_BUS_ARGS("o", workload, "i", signal), SD_BUS_NO_RESULT,
                                method_kill, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListWorkloads", SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(souusssstt)", workloads), method_list_workloads,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetWorkloadByPid", SD_BUS_ARGS("u", pid),
                                SD_BUS_RESULT("o", workload), method_get_workload_by_pid,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Explain", SD_BUS_ARGS("u", pid),
                                SD_BUS_RESULT("s", verdict, "s", policy, "s", message, "as",
                                              skipped, "a{sv}", settings),
                                method_explain, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Reload", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_reload,
                                SD_BUS_VTABLE_UNPRIVILEGED),

        SD_BUS_SIGNAL_WITH_ARGS("WorkloadNew", SD_BUS_ARGS("s", id, "o", workload), 0),
        SD_BUS_SIGNAL_WITH_ARGS(
                "WorkloadLocked",
                SD_BUS_ARGS("s", id, "o", workload, "t", locked_bytes, "t", duration_usec), 0),
        SD_BUS_SIGNAL_WITH_ARGS("WorkloadFailed", SD_BUS_ARGS("s", id, "o", workload, "s", error),
                                0),
        SD_BUS_SIGNAL_WITH_ARGS("WorkloadExited",
                                SD_BUS_ARGS("s", id, "o", workload, "i", code, "i", status), 0),
        SD_BUS_SIGNAL_WITH_ARGS("WorkloadRemoved", SD_BUS_ARGS("s", id, "o", workload), 0),
        SD_BUS_VTABLE_END,
};
