/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "client/bus-client.h"
#include "client/format.h"
#include "client/memlockctl.h"
#include "client/workload-wait.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/parse-util.h"
#include "common/time-util.h"

/* How often the progress line and the fallback state check poll the workload. */
#define POLL_USEC (200 * UINT64_C(1000))
/* The progress line appears only when the lock takes longer than this. */
#define PROGRESS_DELAY_USEC (1000 * UINT64_C(1000))
/* Without any signal, the workload's State is re-read this often (a daemon that lost a signal,
 * or a race with a very short workload, must not leave us waiting forever). */
#define STATE_CHECK_USEC (1000 * UINT64_C(1000))

struct WorkloadWait {
        sd_bus *bus;
        sd_event *event;
        sd_bus_slot *slots[4];
        sd_event_source *timer;
        WaitFor what;
        char *path;
        char *name;
        bool done;
        bool lock_done; /* locked or failed: no more progress line */
        int result;

        uint64_t start_usec, last_state_check_usec;
        uint64_t target; /* for the progress line: LimitBytes, 0 when unknown */
        uint64_t first_bytes, first_usec; /* the first sample, for the rate */
        bool progress_visible;
        bool tty;
};

int forwarded_signals_block(void) {
        sigset_t ss;

        sigemptyset(&ss);
        sigaddset(&ss, SIGINT);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGHUP);
        sigaddset(&ss, SIGQUIT);
        return RET_NERRNO(sigprocmask(SIG_BLOCK, &ss, NULL));
}

int exit_status_from_child(int code, int status) {
        if (code == CLD_EXITED)
                return status & 0xff;
        if (code == CLD_KILLED || code == CLD_DUMPED)
                return 128 + (status & 0x7f);
        return CTL_EXIT_FAILED;
}

static void progress_clear(WorkloadWait *w) {
        if (!w->progress_visible)
                return;
        fputs("\r\x1B[K", stderr);
        fflush(stderr);
        w->progress_visible = false;
}

static void finish(WorkloadWait *w, int result) {
        if (w->done)
                return;
        progress_clear(w);
        w->done = true;
        w->result = result;
        (void) sd_event_exit(w->event, 0);
}

static bool is_ours(WorkloadWait *w, sd_bus_message *m, const char **ret_id) {
        const char *id, *path;

        if (!w->path)
                return false;
        if (sd_bus_message_read(m, "so", &id, &path) < 0)
                return false;
        if (ret_id)
                *ret_id = id;
        return streq(path, w->path);
}

static int on_locked(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        WorkloadWait *w = userdata;
        uint64_t bytes, usec;
        char d[FORMAT_DURATION_MAX];

        if (!is_ours(w, m, NULL) || sd_bus_message_read(m, "tt", &bytes, &usec) < 0)
                return 0;
        progress_clear(w);
        w->lock_done = true;
        if (w->what == WAIT_FOR_LOCK) {
                if (!arg_quiet)
                        fprintf(stderr, "Locked %s of '%s' in %s.\n", FORMAT_BYTES(bytes),
                                strna(w->name), format_duration_usec(d, sizeof(d), usec));
                finish(w, CTL_EXIT_OK);
        }
        return 0;
}

static int on_failed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        WorkloadWait *w = userdata;
        const char *err = NULL;

        if (!is_ours(w, m, NULL) || sd_bus_message_read(m, "s", &err) < 0)
                return 0;
        progress_clear(w);
        w->lock_done = true;
        if (w->what == WAIT_FOR_LOCK) {
                log_error("Failed to lock '%s': %s", strna(w->name), strna(err));
                finish(w, CTL_EXIT_FAILED);
        } else
                /* With OnFailure=continue the workload runs on, unlocked; with abort it exits and
                 * WorkloadExited follows. Either way the user must know. */
                log_warning("memlockctl: locking '%s' failed: %s", strna(w->name), strna(err));
        return 0;
}

static int on_exited(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        WorkloadWait *w = userdata;
        int32_t code, status;

        if (!is_ours(w, m, NULL) || sd_bus_message_read(m, "ii", &code, &status) < 0)
                return 0;
        if (w->what == WAIT_FOR_LOCK) {
                progress_clear(w);
                log_error("'%s' exited before it was locked.", strna(w->name));
                finish(w, CTL_EXIT_FAILED);
        } else
                finish(w, exit_status_from_child(code, status));
        return 0;
}

static int on_removed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        WorkloadWait *w = userdata;

        if (!is_ours(w, m, NULL))
                return 0;
        /* WorkloadExited comes first for an exit; a removal alone is a detach from elsewhere. */
        progress_clear(w);
        log_error("Workload '%s' was removed from mlockd (detached).", strna(w->name));
        finish(w, CTL_EXIT_FAILED);
        return 0;
}

/* Fallback when no signal arrives: the State property says the same thing, later. */
static void check_state(WorkloadWait *w) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *state = NULL;
        int32_t status = -1;
        int r;

        r = sd_bus_get_property_string(w->bus, NULL, w->path, MLOCKD_WORKLOAD_IFACE, "State",
                                       &error, &state);
        if (r < 0) {
                if (sd_bus_error_has_name(&error, "org.freedesktop.DBus.Error.UnknownObject") ||
                    sd_bus_error_has_name(&error, MLOCKD_ERROR_PREFIX "NoSuchWorkload")) {
                        log_error("Workload '%s' is gone from mlockd.", strna(w->name));
                        finish(w, CTL_EXIT_FAILED);
                }
                return;
        }
        if (w->what == WAIT_FOR_LOCK) {
                if (streq(state, "locked")) {
                        w->lock_done = true;
                        finish(w, CTL_EXIT_OK);
                } else if (streq(state, "failed") || streq(state, "exited") ||
                           streq(state, "detached")) {
                        _cleanup_free_ char *err = NULL;
                        (void) sd_bus_get_property_string(
                                w->bus, NULL, w->path, MLOCKD_WORKLOAD_IFACE, "Error", NULL, &err);
                        progress_clear(w);
                        log_error("Failed to lock '%s': %s", strna(w->name),
                                  err && err[0] ? err : state);
                        finish(w, CTL_EXIT_FAILED);
                }
                return;
        }
        if (streq(state, "locked") || streq(state, "failed"))
                w->lock_done = true;
        if (streq(state, "exited")) {
                (void) sd_bus_get_property_trivial(w->bus, NULL, w->path, MLOCKD_WORKLOAD_IFACE,
                                                   "ExitStatus", NULL, 'i', &status);
                /* ExitStatus is the shell-style status (128+N for a signal) when known. */
                finish(w, status >= 0 && status <= 255 ? status : CTL_EXIT_FAILED);
        }
}

static void show_progress(WorkloadWait *w, uint64_t now) {
        char line[256];
        uint64_t locked = 0, resident = 0, done, target, rate = 0;

        /* VmLck jumps to the full size as soon as mlockall() marks the mappings; the pages are
         * faulted in afterwards. So the part done is what is both locked and resident, and the
         * target is VmLck itself (the workload's limit until VmLck is known). */
        if (bus_get_workload_u64(w->bus, w->path, "LockedBytes", &locked) < 0 ||
            bus_get_workload_u64(w->bus, w->path, "ResidentBytes", &resident) < 0)
                return;
        done = MIN(locked, resident);
        if (locked == 0 && w->target == 0) /* asked only when needed: most runs never show this */
                (void) bus_get_workload_u64(w->bus, w->path, "LimitBytes", &w->target);
        target = locked > 0 ? locked : w->target;
        if (w->first_bytes == UINT64_MAX) {
                w->first_bytes = done;
                w->first_usec = now;
        } else if (now > w->first_usec && done > w->first_bytes)
                rate = (uint64_t) ((unsigned __int128) (done - w->first_bytes) * 1000000 /
                                   (now - w->first_usec));
        format_progress(line, sizeof(line), w->name, done, target, rate);
        fprintf(stderr, "\r\x1B[K%s", line);
        fflush(stderr);
        w->progress_visible = true;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        WorkloadWait *w = userdata;
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        if (w->done)
                return 0;
        if (now - w->last_state_check_usec >= STATE_CHECK_USEC) {
                w->last_state_check_usec = now;
                check_state(w);
                if (w->done)
                        return 0;
        }
        if (!w->lock_done && w->tty && !arg_quiet && now - w->start_usec >= PROGRESS_DELAY_USEC)
                show_progress(w, now);
        (void) sd_event_source_set_time(s, usec + POLL_USEC);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ON);
        return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        WorkloadWait *w = userdata;
        int r;

        r = sd_bus_call_method_async(w->bus, NULL, NULL, MLOCKD_MANAGER_PATH, MLOCKD_MANAGER_IFACE,
                                     "Kill", NULL, NULL, "oi", w->path, (int32_t) si->ssi_signo);
        if (r < 0)
                log_warning_errno(r, "Failed to forward signal %u to the workload: %m",
                                  si->ssi_signo);
        return 0;
}

WorkloadWait *workload_wait_free(WorkloadWait *w) {
        if (!w)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(w->slots); i++)
                sd_bus_slot_unref(w->slots[i]);
        sd_event_source_unref(w->timer);
        if (w->bus)
                (void) sd_bus_detach_event(w->bus);
        sd_event_unref(w->event);
        sd_bus_unref(w->bus);
        free(w->path);
        free(w->name);
        free(w);
        return NULL;
}

int workload_wait_new(sd_bus *bus, WaitFor what, WorkloadWait **ret) {
        static const struct {
                const char *member;
                sd_bus_message_handler_t handler;
        } signals[] = {
                { "WorkloadLocked", on_locked },
                { "WorkloadFailed", on_failed },
                { "WorkloadExited", on_exited },
                { "WorkloadRemoved", on_removed },
        };
        _cleanup_(workload_wait_freep) WorkloadWait *w = NULL;
        int r;

        w = calloc(1, sizeof(WorkloadWait));
        if (!w)
                return -ENOMEM;
        w->bus = sd_bus_ref(bus);
        w->what = what;
        w->first_bytes = UINT64_MAX;
        /* On a peer-to-peer connection these matches are local filters. The daemon sends a peer
         * the signals about the workloads it started (Run), and every signal once it added a
         * match rule: attach follows a workload somebody else started, so it asks. */
        if (what == WAIT_FOR_LOCK) {
                r = sd_bus_call_method(bus, NULL, "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                       "AddMatch", NULL, NULL, "s",
                                       "type='signal',interface='" MLOCKD_MANAGER_IFACE "'");
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(signals); i++) {
                r = sd_bus_match_signal(bus, &w->slots[i], NULL, MLOCKD_MANAGER_PATH,
                                        MLOCKD_MANAGER_IFACE, signals[i].member, signals[i].handler,
                                        w);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(w);
        return 0;
}

int workload_wait_run(WorkloadWait *w, const char *path, const char *name, bool forward_signals) {
        int r;

        w->path = strdup(path);
        if (!w->path)
                return log_oom(), CTL_EXIT_FAILED;
        if (name)
                w->name = strdup(name);
        else if (sd_bus_get_property_string(w->bus, NULL, path, MLOCKD_WORKLOAD_IFACE, "Name", NULL,
                                            &w->name) < 0)
                w->name = strdup(workload_path_to_id(path));
        if (!w->name)
                return log_oom(), CTL_EXIT_FAILED;
        w->tty = isatty(STDERR_FILENO);
        w->start_usec = w->last_state_check_usec = now_usec(CLOCK_MONOTONIC);

        r = sd_event_new(&w->event);
        if (r < 0)
                return log_error_errno(r, "Failed to create an event loop: %m"), CTL_EXIT_FAILED;
        r = sd_bus_attach_event(w->bus, w->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus: %m"), CTL_EXIT_FAILED;
        /* The daemon going away ends the loop; the workload itself lives on. */
        (void) sd_bus_set_exit_on_disconnect(w->bus, true);
        if (forward_signals)
                for (int sig = 1; sig < _NSIG; sig++) {
                        if (!IN_FORWARDED_SIGNALS(sig))
                                continue;
                        r = sd_event_add_signal(w->event, NULL, sig, on_signal, w);
                        if (r < 0)
                                return log_error_errno(r, "Failed to watch signal %d: %m", sig),
                                       CTL_EXIT_FAILED;
                }
        r = sd_event_add_time_relative(w->event, &w->timer, CLOCK_MONOTONIC, POLL_USEC, 0, on_timer,
                                       w);
        if (r < 0)
                return log_error_errno(r, "Failed to add a timer: %m"), CTL_EXIT_FAILED;

        r = sd_event_loop(w->event);
        progress_clear(w);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m"), CTL_EXIT_FAILED;
        if (!w->done) {
                log_error("Lost the connection to mlockd at '%s'; the workload keeps running.",
                          bus_socket_path());
                return CTL_EXIT_UNREACHABLE;
        }
        return w->result;
}
