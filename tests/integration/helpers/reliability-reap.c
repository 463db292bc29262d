/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* How fast the daemon notices a workload's death: connects, reads ReservedBytes, SIGKILLs the
 * workload's pid, then polls the workload's State and the Manager's ReservedBytes until the
 * workload has left the live set and its reservation is freed. Prints
 * "REAPED <usec> <reserved before> <reserved after> <state>" or "TIMEOUT ..." (exit 1).
 *
 *   reliability-reap ADDRESS WORKLOAD_PATH PID [TIMEOUT_MS]
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static int get_reserved(sd_bus *bus, uint64_t *ret) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_get_property_trivial(bus, "org.mlockd1", "/org/mlockd1", "org.mlockd1.Manager",
                                        "ReservedBytes", &e, 't', ret);
        sd_bus_error_free(&e);
        return r;
}

static int get_state(sd_bus *bus, const char *path, char **ret) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_get_property_string(bus, "org.mlockd1", path, "org.mlockd1.Workload", "State",
                                       &e, ret);
        /* A workload removed from the table altogether is out of the live set too. */
        if (r < 0 && sd_bus_error_has_name(&e, SD_BUS_ERROR_UNKNOWN_OBJECT)) {
                *ret = strdup("removed");
                r = *ret ? 0 : -ENOMEM;
        }
        sd_bus_error_free(&e);
        return r;
}

static int is_live(const char *state) {
        return strcmp(state, "starting") == 0 || strcmp(state, "locking") == 0 ||
               strcmp(state, "locked") == 0;
}

int main(int argc, char **argv) {
        sd_bus *bus = NULL;
        uint64_t before = 0, after = 0, t0, timeout;
        char *state = NULL;
        int r;

        if (argc < 4) {
                fprintf(stderr, "usage: %s ADDRESS WORKLOAD_PATH PID [TIMEOUT_MS]\n", argv[0]);
                return 2;
        }
        timeout = (argc > 4 ? strtoull(argv[4], NULL, 10) : 2000) * 1000u;

        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_address(bus, argv[1]);
        if (r >= 0)
                r = sd_bus_set_bus_client(bus, 1);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r >= 0)
                r = get_reserved(bus, &before);
        if (r >= 0)
                r = get_state(bus, argv[2], &state);
        if (r < 0) {
                fprintf(stderr, "setup: %s\n", strerror(-r));
                return 2;
        }
        if (!is_live(state)) {
                fprintf(stderr, "workload %s is %s, not live\n", argv[2], state);
                return 2;
        }

        t0 = now_usec();
        if (kill((pid_t) atoi(argv[3]), SIGKILL) < 0) {
                perror("kill");
                return 2;
        }
        for (;;) {
                free(state);
                state = NULL;
                r = get_state(bus, argv[2], &state);
                if (r >= 0)
                        r = get_reserved(bus, &after);
                if (r < 0) {
                        fprintf(stderr, "poll: %s\n", strerror(-r));
                        return 2;
                }
                if (!is_live(state) && after < before)
                        break;
                if (now_usec() - t0 > timeout) {
                        printf("TIMEOUT %" PRIu64 " %" PRIu64 " %" PRIu64 " %s\n", now_usec() - t0,
                               before, after, state);
                        return 1;
                }
        }
        printf("REAPED %" PRIu64 " %" PRIu64 " %" PRIu64 " %s\n", now_usec() - t0, before, after,
               state);
        free(state);
        sd_bus_flush_close_unref(bus);
        return 0;
}
