/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sd_notify: READY=1, STATUS= with the budget use, WATCHDOG=1 at half of WATCHDOG_USEC. */
#include <stdlib.h>
#include <systemd/sd-daemon.h>

#include "common/log.h"
#include "common/macro.h"
#include "common/time-util.h"
#include "daemon/core/budget.h"
#include "daemon/core/manager.h"

static int on_watchdog(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        (void) sd_notify(false, "WATCHDOG=1");
        (void) sd_event_source_set_time_relative(s, m->watchdog_usec / 2);
        return 0;
}

/* STATUS shows locked bytes, which grow without any event (MCL_ONFAULT, a program that maps
 * more): while workloads live it is refreshed at this period, from samples at most
 * WORKLOAD_SAMPLE_MAX_AGE_USEC old. */
#define STATUS_REFRESH_USEC (5 * USEC_PER_SEC)

static int on_status_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        manager_notify_status(userdata);
        return 0;
}

static void status_timer_update(Manager *m, bool needed) {
        int r;

        if (!needed) {
                if (m->status_timer)
                        (void) sd_event_source_set_enabled(m->status_timer, SD_EVENT_OFF);
                return;
        }
        if (!m->status_timer) {
                r = sd_event_add_time_relative(m->event, &m->status_timer, CLOCK_MONOTONIC,
                                               STATUS_REFRESH_USEC, USEC_PER_SEC, on_status_timer,
                                               m);
                if (r < 0)
                        return (void) log_warning_errno(r, "Failed to add the status timer: %m");
                (void) sd_event_source_set_description(m->status_timer, "status-refresh");
        } else
                (void) sd_event_source_set_time_relative(m->status_timer, STATUS_REFRESH_USEC);
        (void) sd_event_source_set_enabled(m->status_timer, SD_EVENT_ONESHOT);
}

void manager_notify_status(Manager *m) {
        _cleanup_free_ char *text = NULL, *msg = NULL;
        size_t n;

        /* Only when someone listens. */
        if (!getenv("NOTIFY_SOCKET"))
                return;
        n = workload_table_count_live(&m->workloads);
        text = budget_status_text(n, manager_locked_bytes(m), m->config.budget);
        status_timer_update(m, n > 0);
        if (!text || streq_ptr(text, m->last_status))
                return;
        if (asprintf(&msg, "STATUS=%s", text) < 0)
                return;
        (void) sd_notify(false, msg);
        free(m->last_status);
        m->last_status = TAKE_PTR(text);
}

int manager_notify_setup(Manager *m) {
        uint64_t usec = 0;
        int r;

        r = sd_watchdog_enabled(false, &usec);
        if (r > 0 && usec > 0) {
                m->watchdog_usec = usec;
                r = sd_event_add_time_relative(m->event, &m->watchdog_timer, CLOCK_MONOTONIC,
                                               usec / 2, usec / 20 ?: 1, on_watchdog, m);
                if (r < 0)
                        return log_error_errno(r, "Failed to add watchdog timer: %m");
                (void) sd_event_source_set_enabled(m->watchdog_timer, SD_EVENT_ON);
                log_debug("Watchdog enabled: pinging every %llu ms.",
                          (unsigned long long) (usec / 2000));
        }
        (void) sd_notify(false, "READY=1");
        manager_notify_status(m);
        return 0;
}

void manager_notify_stopping(Manager *m) {
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Shutting down; workloads keep running.");
}
