/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Following one workload after Run or Attach: the daemon's signals (WorkloadLocked, ...Failed,
 * ...Exited, ...Removed), signal forwarding through Manager.Kill, and the progress line while
 * the lock takes more than a second. Shared by `run` (foreground) and `attach --wait`. */

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

typedef enum WaitFor {
        WAIT_FOR_LOCK, /* attach --wait: until locked or failed */
        WAIT_FOR_EXIT, /* run: until the workload exits; lock failures are warnings */
} WaitFor;

typedef struct WorkloadWait WorkloadWait;

/* Subscribes to the daemon's signals on bus. Call it before the method that creates the
 * workload, so that no signal about it can be missed. */
int workload_wait_new(sd_bus *bus, WaitFor what, WorkloadWait **ret);
WorkloadWait *workload_wait_free(WorkloadWait *w);
static inline void workload_wait_freep(WorkloadWait **w) {
        workload_wait_free(*w);
}
/* Runs until the awaited event. path is the workload's object path, name its display name for
 * the progress line. forward_signals: SIGINT, SIGTERM, SIGHUP and SIGQUIT are sent to the
 * workload with Manager.Kill instead of ending memlockctl (they must already be blocked).
 * Returns a CtlExit code, or for WAIT_FOR_EXIT the workload's exit status (128+N for a
 * signal). */
int workload_wait_run(WorkloadWait *w, const char *path, const char *name, bool forward_signals);

/* The signals a foreground `run` forwards to its workload. */
#define IN_FORWARDED_SIGNALS(s) ((s) == SIGINT || (s) == SIGTERM || (s) == SIGHUP || (s) == SIGQUIT)
/* Blocks them, so that they queue for the event loop instead of ending memlockctl. Call it
 * before the method that creates the workload. */
int forwarded_signals_block(void);

/* The exit status a shell would show for a WorkloadExited (code, status): CLD_EXITED gives the
 * status, CLD_KILLED/CLD_DUMPED give 128 + signal. */
int exit_status_from_child(int code, int status);
