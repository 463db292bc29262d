/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libvirt-events-probe URI [PID_DIR]: runs daemon/libvirt-events.c on its own and prints what it
 * reports, one line each, until SIGTERM or SIGINT:
 *   connected | disconnected | started NAME PID LIMIT_BYTES LOCKED(0|1) |
 *   changed NAME PID LIMIT_BYTES LOCKED(0|1) | stopped NAME PID
 * (LIMIT_BYTES: guest_limit() of the facts the module read from the guest's XML)
 * tests/e2e/test-libvirt-events.sh checks the module against a real libvirtd with it. */
#include <signal.h>
#include <stdio.h>
#include <systemd/sd-event.h>

#include "common/macro.h"

#if defined(HAVE_LIBVIRT) && HAVE_LIBVIRT
#include <inttypes.h>

#include "daemon/libvirt-events.h"

/* libvirt's process-global state is never freed; not the probe's leak. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) {
        return "leak:libvirt.so\n";
}

static void on_started(const char *name, pid_t pid, const GuestFacts *f, void *userdata) {
        printf("started %s %d %" PRIu64 " %d\n", name, (int) pid, guest_limit(f).limit, f->locked);
        fflush(stdout);
}

static void on_changed(const char *name, pid_t pid, const GuestFacts *f, void *userdata) {
        printf("changed %s %d %" PRIu64 " %d\n", name, (int) pid, guest_limit(f).limit, f->locked);
        fflush(stdout);
}

static void on_stopped(const char *name, pid_t pid, void *userdata) {
        printf("stopped %s %d\n", name, (int) pid);
        fflush(stdout);
}

static void on_connection(bool connected, void *userdata) {
        printf("%s\n", connected ? "connected" : "disconnected");
        fflush(stdout);
}

int main(int argc, char *argv[]) {
        static const LibvirtEventsCallbacks cb = {
                .domain_started = on_started,
                .domain_changed = on_changed,
                .domain_stopped = on_stopped,
                .connection_changed = on_connection,
        };
        sd_event *e = NULL;
        LibvirtEvents *l = NULL;
        sigset_t ss;
        int r;

        if (argc < 2 || argc > 3) {
                fprintf(stderr, "usage: %s URI [PID_DIR]\n", argv[0]);
                return 2;
        }
        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        sigprocmask(SIG_BLOCK, &ss, NULL);

        r = sd_event_default(&e);
        if (r >= 0)
                r = sd_event_add_signal(e, NULL, SIGTERM, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(e, NULL, SIGINT, NULL, NULL);
        if (r >= 0)
                r = libvirt_events_new(e, argv[1], argc > 2 ? argv[2] : NULL, &cb, NULL, &l);
        if (r >= 0)
                r = sd_event_loop(e);
        if (r < 0)
                fprintf(stderr, "libvirt-events-probe: %s\n", strerror(-r));
        libvirt_events_free(l);
        sd_event_unref(e);
        return r < 0 ? 1 : 0;
}

#else

int main(void) {
        printf("libvirt support not built\n");
        return 77;
}

#endif
