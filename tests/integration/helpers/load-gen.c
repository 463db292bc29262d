/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Load generator for test-load.sh: CLIENTS threads, each connecting, making CALLS calls
 * (ListWorkloads, Get Version, Explain of its own pid, Peer.Ping, GetAll), disconnecting and
 * starting over until SECONDS have passed; and RUNS short Runs per second (/bin/true, detached,
 * stdio on /dev/null) from RUNNERS threads. Counts every reply; LimitExceeded (a deliberate
 * refusal) is counted apart from failures. Prints one "key value" per line and exits 0 if
 * nothing failed.
 *
 *   load-gen ADDRESS CLIENTS CALLS SECONDS RUNS_PER_SEC [noexplain]
 *
 * "noexplain" leaves Explain out (it needs pidfds, which valgrind 3.19 lacks). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#define DEST "org.mlockd1"
#define PATH "/org/mlockd1"
#define IFACE "org.mlockd1.Manager"
#define RUNNERS 5

static const char *address;
static unsigned n_calls;
static bool no_explain;
static uint64_t deadline;
static unsigned runs_per_runner_sec;
static atomic_uint_fast64_t ok_calls, failed_calls, limited_calls, connects, failed_connects;
static atomic_uint_fast64_t ok_runs, failed_runs, limited_runs, max_latency_usec;
static pthread_mutex_t err_lock = PTHREAD_MUTEX_INITIALIZER;
static char first_error[256];

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static void note_error(const char *what, int r, const sd_bus_error *e) {
        pthread_mutex_lock(&err_lock);
        if (!first_error[0])
                snprintf(first_error, sizeof(first_error), "%s: %s %s", what,
                         e && e->name ? e->name : strerror(-r), e && e->message ? e->message : "");
        pthread_mutex_unlock(&err_lock);
}

static void note_latency(uint64_t t0) {
        uint64_t d = now_usec() - t0, cur = atomic_load(&max_latency_usec);

        while (d > cur && !atomic_compare_exchange_weak(&max_latency_usec, &cur, d))
                ;
}

static int connect_bus(sd_bus **ret) {
        sd_bus *bus = NULL;
        int r;

        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        r = sd_bus_set_address(bus, address);
        if (r >= 0)
                r = sd_bus_set_bus_client(bus, 1);
        if (r >= 0)
                r = sd_bus_negotiate_fds(bus, 1);
        if (r >= 0)
                r = sd_bus_set_method_call_timeout(bus, 60u * 1000000u);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0) {
                sd_bus_unref(bus);
                return r;
        }
        *ret = bus;
        return 0;
}

static int one_call(sd_bus *bus, unsigned i, sd_bus_error *e) {
        sd_bus_message *reply = NULL;
        int r;

        if (no_explain && i % 5 == 2)
                i++;
        switch (i % 5) {
        case 0:
                r = sd_bus_call_method(bus, DEST, PATH, IFACE, "ListWorkloads", e, &reply, "");
                break;
        case 1:
                r = sd_bus_call_method(bus, DEST, PATH, "org.freedesktop.DBus.Properties", "Get", e,
                                       &reply, "ss", IFACE, "Version");
                break;
        case 2:
                r = sd_bus_call_method(bus, DEST, PATH, IFACE, "Explain", e, &reply, "u",
                                       (uint32_t) getpid());
                break;
        case 3:
                r = sd_bus_call_method(bus, DEST, PATH, "org.freedesktop.DBus.Peer", "Ping", e,
                                       &reply, "");
                break;
        default:
                r = sd_bus_call_method(bus, DEST, PATH, "org.freedesktop.DBus.Properties", "GetAll",
                                       e, &reply, "s", IFACE);
                break;
        }
        sd_bus_message_unref(reply);
        return r;
}

static void *client(void *p) {
        (void) p;
        while (now_usec() < deadline) {
                sd_bus *bus = NULL;
                int r;

                r = connect_bus(&bus);
                atomic_fetch_add(&connects, 1);
                if (r < 0) {
                        atomic_fetch_add(&failed_connects, 1);
                        note_error("connect", r, NULL);
                        usleep(10000);
                        continue;
                }
                for (unsigned i = 0; i < n_calls; i++) {
                        sd_bus_error e = SD_BUS_ERROR_NULL;
                        uint64_t t0 = now_usec();

                        r = one_call(bus, i, &e);
                        note_latency(t0);
                        if (r >= 0)
                                atomic_fetch_add(&ok_calls, 1);
                        else if (sd_bus_error_has_name(&e, "org.mlockd1.Error.LimitExceeded"))
                                atomic_fetch_add(&limited_calls, 1);
                        else {
                                atomic_fetch_add(&failed_calls, 1);
                                note_error("call", r, &e);
                        }
                        sd_bus_error_free(&e);
                }
                sd_bus_flush_close_unref(bus);
        }
        return NULL;
}

static void *runner(void *p) {
        sd_bus *bus = NULL;
        uint64_t next = now_usec();
        int null, r;

        (void) p;
        null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null < 0 || connect_bus(&bus) < 0) {
                note_error("runner setup", -errno, NULL);
                atomic_fetch_add(&failed_runs, 1);
                return NULL;
        }
        while (now_usec() < deadline) {
                sd_bus_error e = SD_BUS_ERROR_NULL;
                sd_bus_message *reply = NULL;
                uint64_t t0 = now_usec();

                r = sd_bus_call_method(bus, DEST, PATH, IFACE, "Run", &e, &reply, "asasshhha{sv}",
                                       1, "/bin/true", 0, "/", null, null, null, 2, "detach", "b",
                                       1, "name", "s", "load");
                note_latency(t0);
                if (r >= 0)
                        atomic_fetch_add(&ok_runs, 1);
                else if (sd_bus_error_has_name(&e, "org.mlockd1.Error.LimitExceeded"))
                        atomic_fetch_add(&limited_runs, 1);
                else {
                        atomic_fetch_add(&failed_runs, 1);
                        note_error("Run", r, &e);
                }
                sd_bus_error_free(&e);
                sd_bus_message_unref(reply);
                next += 1000000u / (runs_per_runner_sec ? runs_per_runner_sec : 1);
                t0 = now_usec();
                if (next > t0)
                        usleep((useconds_t) (next - t0));
        }
        sd_bus_flush_close_unref(bus);
        close(null);
        return NULL;
}

int main(int argc, char **argv) {
        pthread_t *threads;
        pthread_attr_t attr;
        unsigned n_clients, runs, n_threads = 0;
        uint64_t t0;

        if (argc < 6) {
                fprintf(stderr,
                        "usage: %s ADDRESS CLIENTS CALLS SECONDS RUNS_PER_SEC [noexplain]\n",
                        argv[0]);
                return 2;
        }
        no_explain = argc > 6 && strcmp(argv[6], "noexplain") == 0;
        address = argv[1];
        n_clients = (unsigned) atoi(argv[2]);
        n_calls = (unsigned) atoi(argv[3]);
        runs = (unsigned) atoi(argv[5]);
        runs_per_runner_sec = (runs + RUNNERS - 1) / RUNNERS;
        t0 = now_usec();
        deadline = t0 + (uint64_t) atoi(argv[4]) * 1000000u;

        threads = calloc(n_clients + RUNNERS, sizeof(pthread_t));
        if (!threads)
                return 2;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 256u * 1024u);
        for (unsigned i = 0; i < n_clients + (runs ? RUNNERS : 0); i++) {
                int r = pthread_create(&threads[n_threads], &attr, i < n_clients ? client : runner,
                                       NULL);
                if (r != 0) {
                        fprintf(stderr, "pthread_create: %s\n", strerror(r));
                        break;
                }
                n_threads++;
        }
        for (unsigned i = 0; i < n_threads; i++)
                pthread_join(threads[i], NULL);
        pthread_attr_destroy(&attr);
        free(threads);

        printf("threads %u\n", n_threads);
        printf("seconds %.1f\n", (double) (now_usec() - t0) / 1e6);
        printf("connects %" PRIu64 "\n", (uint64_t) connects);
        printf("failed_connects %" PRIu64 "\n", (uint64_t) failed_connects);
        printf("ok_calls %" PRIu64 "\n", (uint64_t) ok_calls);
        printf("limited_calls %" PRIu64 "\n", (uint64_t) limited_calls);
        printf("failed_calls %" PRIu64 "\n", (uint64_t) failed_calls);
        printf("ok_runs %" PRIu64 "\n", (uint64_t) ok_runs);
        printf("limited_runs %" PRIu64 "\n", (uint64_t) limited_runs);
        printf("failed_runs %" PRIu64 "\n", (uint64_t) failed_runs);
        printf("max_latency_ms %.1f\n", (double) max_latency_usec / 1e3);
        if (first_error[0])
                printf("first_error %s\n", first_error);
        return failed_calls || failed_runs || failed_connects || n_threads < n_clients ? 1 : 0;
}
