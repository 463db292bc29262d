/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for the bus side of mlockd: bytes → D-Bus messages on a peer connection →
 * sd-bus parsing, dispatch and our handlers (bus-server.c, bus-manager.c, bus-workload.c).
 * Each input is written after a SASL exchange onto a socketpair served exactly like an accepted
 * connection, and the event loop runs until the connection is gone. The Manager has an empty
 * policy set, so no request ever gets as far as spawning or injecting. Seeds: corpus/bus-message
 * (written by tests/integration/helpers/bus-corpus.c). */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/macro.h"
#include "daemon/bus/bus.h"
#include "daemon/core/manager.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static Manager *manager;
static char state_dir[] = "/tmp/fuzz-bus-message.XXXXXX";

static void remove_state_dir(void) {
        char path[sizeof(state_dir) + 16];

        snprintf(path, sizeof(path), "%s/state", state_dir);
        (void) unlink(path);
        (void) rmdir(state_dir);
}

static Manager *setup(void) {
        static char *policy_dirs[] = { (char *) "/nonexistent/mlockd-fuzz/policy.d", NULL };
        PolicyDiagnostics d = {};
        Manager *m = NULL;

        log_set_max_level(LOG_CRIT);
        if (!mkdtemp(state_dir))
                abort();
        atexit(remove_state_dir);
        ManagerSettings s = {
                .config_path = "/nonexistent/mlockd-fuzz.conf",
                .policy_dirs = policy_dirs,
                .state_dir = state_dir,
                .shim_path = "/nonexistent/libmemlock-shim.so",
        };
        if (manager_new(&s, &m) < 0)
                abort();
        /* A missing non-default config is an error; the defaults and empty policies remain. */
        (void) manager_load_config(m, &d);
        policy_diagnostics_clear(&d);
        return m;
}

static void drain(int fd) {
        char buf[4096];

        while (read(fd, buf, sizeof(buf)) > 0)
                ;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char auth[] = "\0AUTH EXTERNAL\r\nDATA\r\nBEGIN\r\n";
        _cleanup_(bus_server_freep) BusServer *server = NULL;
        int s[2];

        if (size > 64 * 1024)
                return 0;
        if (!manager)
                manager = setup();
        if (bus_server_new(manager, &server) < 0)
                abort();
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, s) < 0)
                return 0;
        if (bus_server_add_connection(server, s[0]) < 0) {
                safe_close(s[1]);
                return 0;
        }
        if (write(s[1], auth, sizeof(auth) - 1) < 0 || (size > 0 && write(s[1], data, size) < 0)) {
                /* The socket buffer is large enough for 64 KiB; anything else is a setup bug. */
        }
        (void) shutdown(s[1], SHUT_WR);

        for (unsigned i = 0; i < 10000 && server->n_connections > 0; i++) {
                drain(s[1]);
                if (sd_event_run(manager->event, 0) < 0)
                        break;
        }
        safe_close(s[1]);
        /* Whatever did not finish (a half-read message, a launch job) goes now. */
        server = bus_server_free(server);
        manager_jobs_clear(manager);
        manager_flush(manager);
        return 0;
}
