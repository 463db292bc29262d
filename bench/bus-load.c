/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Bus load: latency and throughput of mlockd's read calls, against any server that serves
 * the same shape (mlockd itself, or bench/bus-echo-server as the ceiling).
 *
 *   bus-load compare [--rounds 3] [--calls 2000] [--duration-ms 500] [--data FILE]
 *                    NAME=SOCKET...
 *       Interleaves the targets round by round and prints a Markdown table: latency p50/p99
 *       of Properties.GetAll on one workload and of Manager.ListWorkloads, and calls/s of each
 *       from 1 and from 8 concurrent clients (a connection each). The last target is the
 *       baseline of the ratio column.
 *   bus-load latency --socket SOCKET [--call getall|list] [--calls N]
 *       One line: "calls p50_us p99_us min_us max_us" (calls actually timed).
 *   A latency measurement stops after --max-seconds (5) once it has 20 calls.
 *   bus-load spawn --socket SOCKET --count N [--limit SIZE] [--mode MODE] -- ARGV...
 *       Calls Manager.Run N times with detach=true (stdio /dev/null): N live workloads.
 *   bus-load pids --socket SOCKET
 *       Prints the pid of every workload in ListWorkloads, one per line. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/parse-util.h"
#include "bench/bench-stats.h"

#define MANAGER_PATH "/org/mlockd1"
#define MANAGER_IFACE "org.mlockd1.Manager"
#define WORKLOAD_IFACE "org.mlockd1.Workload"
#define TARGETS_MAX 4
#define ROUNDS_MAX 50
#define CLIENTS_MAX 64

static unsigned arg_rounds = 3;
static unsigned arg_calls = 2000;
static unsigned arg_duration_ms = 500;
static unsigned arg_max_seconds = 5; /* per latency measurement, so a slow server cannot stall us */
static const char *arg_socket = NULL;
static const char *arg_call = "getall";
static unsigned arg_count = 0;
static uint64_t arg_limit = 0;
static const char *arg_mode = NULL;
static const char *arg_data = NULL; /* compare: calls/s medians for a plot */

static int bus_open(const char *socket_path, sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *address = NULL;
        int r;

        /* Socket paths from mktemp need no D-Bus address escaping; refuse the ones that do. */
        if (strpbrk(socket_path, ",;=% \t\n"))
                return -EINVAL;
        if (asprintf(&address, "unix:path=%s", socket_path) < 0)
                return -ENOMEM;
        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        r = sd_bus_set_address(bus, address);
        if (r < 0)
                return r;
        /* Peer-to-peer, like memlockctl: no bus daemon, no Hello. */
        r = sd_bus_set_bus_client(bus, false);
        if (r < 0)
                return r;
        r = sd_bus_negotiate_fds(bus, true);
        if (r < 0)
                return r;
        r = sd_bus_start(bus);
        if (r < 0)
                return r;
        r = sd_bus_call_method(bus, NULL, MANAGER_PATH, "org.freedesktop.DBus.Peer", "Ping", NULL,
                               NULL, NULL);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(bus);
        return 0;
}

typedef enum Call {
        CALL_GETALL,
        CALL_LIST,
} Call;

/* One call; the reply is read to its end, as a client would. */
static int do_call(sd_bus *bus, Call call, const char *workload, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        if (call == CALL_GETALL)
                r = sd_bus_call_method(bus, NULL, workload, "org.freedesktop.DBus.Properties",
                                       "GetAll", error, &reply, "s", WORKLOAD_IFACE);
        else
                r = sd_bus_call_method(bus, NULL, MANAGER_PATH, MANAGER_IFACE, "ListWorkloads",
                                       error, &reply, NULL);
        if (r < 0)
                return r;
        return sd_bus_message_skip(reply, NULL);
}

/* Path and pid of every workload (either may be NULL). */
static int list_workloads(sd_bus *bus, char ***ret_paths, uint32_t **ret_pids, size_t *ret_n) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_strv_free_ char **paths = NULL;
        _cleanup_free_ uint32_t *pids = NULL;
        size_t n = 0, allocated = 0;
        int r;

        r = sd_bus_call_method(bus, NULL, MANAGER_PATH, MANAGER_IFACE, "ListWorkloads", &error,
                               &reply, NULL);
        if (r < 0) {
                fprintf(stderr, "bus-load: ListWorkloads: %s\n", error.message ?: strerror(-r));
                sd_bus_error_free(&error);
                return r;
        }
        r = sd_bus_message_enter_container(reply, 'a', "(souusssstt)");
        if (r < 0)
                return r;
        for (;;) {
                const char *path;
                uint32_t pid;

                r = sd_bus_message_read(reply, "(souusssstt)", NULL, &path, &pid, NULL, NULL, NULL,
                                        NULL, NULL, NULL, NULL);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                if (n + 2 > allocated) {
                        allocated = MAX(allocated * 2, (size_t) 64);
                        char **np = realloc(paths, allocated * sizeof(char *));
                        if (!np)
                                return -ENOMEM;
                        paths = np;
                        uint32_t *nq = realloc(pids, allocated * sizeof(uint32_t));
                        if (!nq)
                                return -ENOMEM;
                        pids = nq;
                }
                paths[n] = strdup(path);
                if (!paths[n])
                        return -ENOMEM;
                pids[n] = pid;
                paths[++n] = NULL;
        }
        if (ret_paths)
                *ret_paths = TAKE_PTR(paths);
        if (ret_pids)
                *ret_pids = TAKE_PTR(pids);
        *ret_n = n;
        return 0;
}

/* The workload GetAll is asked about: one from the middle of the table. */
static int pick_workload(sd_bus *bus, char **ret) {
        _cleanup_strv_free_ char **paths = NULL;
        size_t n = 0;
        int r;

        r = list_workloads(bus, &paths, NULL, &n);
        if (r < 0)
                return r;
        if (n == 0) {
                fprintf(stderr, "bus-load: the server has no workloads to ask about\n");
                return -ENOENT;
        }
        *ret = strdup(paths[n / 2]);
        return *ret ? 0 : -ENOMEM;
}

typedef struct Latency {
        uint64_t p50, p99, min, max; /* ns */
        unsigned calls, errors;
} Latency;

/* A latency measurement stops early after arg_max_seconds, once it has this many calls. */
#define LATENCY_CALLS_MIN 20U

static int measure_latency(sd_bus *bus, Call call, const char *workload, unsigned calls,
                           Latency *ret) {
        _cleanup_free_ uint64_t *lat = calloc(calls, sizeof(uint64_t));
        unsigned errors = 0, n = 0;

        if (!lat)
                return -ENOMEM;
        for (unsigned i = 0; i < 10; i++) /* warm up both sides */
                (void) do_call(bus, call, workload, NULL);
        uint64_t deadline = now_ns() + (uint64_t) arg_max_seconds * 1000000000ULL;
        for (unsigned i = 0; i < calls; i++) {
                if (n >= LATENCY_CALLS_MIN && now_ns() > deadline)
                        break;
                sd_bus_error error = SD_BUS_ERROR_NULL;
                uint64_t t0 = now_ns();
                int r = do_call(bus, call, workload, &error);
                uint64_t t1 = now_ns();
                if (r < 0) {
                        if (errors++ == 0)
                                fprintf(stderr, "bus-load: call failed: %s\n",
                                        error.message ?: strerror(-r));
                        sd_bus_error_free(&error);
                        if (r == -ECONNRESET || r == -ENOTCONN)
                                return r;
                        continue;
                }
                lat[n++] = t1 - t0;
        }
        if (n == 0)
                return -EIO;
        qsort(lat, n, sizeof(uint64_t), cmp_u64);
        *ret = (Latency){
                .p50 = percentile(lat, n, 50),
                .p99 = percentile(lat, n, 99),
                .min = lat[0],
                .max = lat[n - 1],
                .calls = n,
                .errors = errors,
        };
        return 0;
}

typedef struct Client {
        pthread_t thread;
        sd_bus *bus;
        Call call;
        const char *workload;
        const int *go; /* set to 1 once every client exists */
        const uint64_t *deadline_ns; /* written before go */
        uint64_t calls, errors;
} Client;

static void *client_thread(void *p) {
        Client *c = p;
        while (!__atomic_load_n(c->go, __ATOMIC_ACQUIRE))
                sched_yield();
        while (now_ns() < *c->deadline_ns) {
                if (do_call(c->bus, c->call, c->workload, NULL) < 0)
                        c->errors++;
                else
                        c->calls++;
        }
        return NULL;
}

/* Calls/s of `call` from n clients, each on its own connection, for duration_ms. */
static int measure_throughput(const char *socket_path, Call call, const char *workload, unsigned n,
                              unsigned duration_ms, double *ret_rate, uint64_t *ret_errors) {
        Client clients[CLIENTS_MAX] = {};
        uint64_t total = 0, errors = 0, deadline = 0;
        unsigned started = 0;
        int go = 0, r = 0;

        if (n < 1 || n > CLIENTS_MAX)
                return -EINVAL;
        for (unsigned i = 0; i < n; i++) {
                r = bus_open(socket_path, &clients[i].bus);
                if (r < 0)
                        goto finish;
                for (unsigned k = 0; k < 5; k++)
                        (void) do_call(clients[i].bus, call, workload, NULL);
                clients[i].call = call;
                clients[i].workload = workload;
                clients[i].go = &go;
                clients[i].deadline_ns = &deadline;
        }
        for (; started < n; started++) {
                int k = pthread_create(&clients[started].thread, NULL, client_thread,
                                       &clients[started]);
                if (k != 0) {
                        r = -k;
                        break;
                }
        }
        uint64_t t0 = now_ns();
        deadline = r < 0 ? 0 : t0 + (uint64_t) duration_ms * 1000000ULL;
        __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
        for (unsigned i = 0; i < started; i++) {
                pthread_join(clients[i].thread, NULL);
                total += clients[i].calls;
                errors += clients[i].errors;
        }
        uint64_t t1 = now_ns();
        if (r == 0) {
                *ret_rate = (double) total * 1e9 / (double) (t1 - t0);
                *ret_errors = errors;
        }
finish:
        for (unsigned i = 0; i < CLIENTS_MAX; i++)
                if (clients[i].bus)
                        sd_bus_flush_close_unref(clients[i].bus);
        return r;
}

/* ---- compare -------------------------------------------------------------------------- */

enum {
        M_GETALL_P50,
        M_GETALL_P99,
        M_LIST_P50,
        M_LIST_P99,
        M_GETALL_RATE_1,
        M_GETALL_RATE_8,
        M_LIST_RATE_1,
        M_LIST_RATE_8,
        _M_MAX,
};

static const struct {
        const char *name;
        bool rate; /* higher is better */
} metrics[_M_MAX] = {
        [M_GETALL_P50] = { "GetAll on one workload: latency p50 (µs)", false },
        [M_GETALL_P99] = { "GetAll on one workload: latency p99 (µs)", false },
        [M_LIST_P50] = { "ListWorkloads: latency p50 (µs)", false },
        [M_LIST_P99] = { "ListWorkloads: latency p99 (µs)", false },
        [M_GETALL_RATE_1] = { "GetAll: calls/s, 1 client", true },
        [M_GETALL_RATE_8] = { "GetAll: calls/s, 8 concurrent clients", true },
        [M_LIST_RATE_1] = { "ListWorkloads: calls/s, 1 client", true },
        [M_LIST_RATE_8] = { "ListWorkloads: calls/s, 8 concurrent clients", true },
};

typedef struct Target {
        const char *name;
        const char *socket;
        char *workload;
        size_t n_workloads;
        double v[_M_MAX][ROUNDS_MAX];
        unsigned getall_calls, list_calls; /* fewest timed calls in a round */
        uint64_t errors;
        int failed; /* first error, 0 if none */
} Target;

static int measure_round(Target *t, unsigned round) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        Latency l;
        double rate = 0;
        uint64_t errors = 0;
        int r;

        r = bus_open(t->socket, &bus);
        if (r < 0)
                return r;
        if (!t->workload) {
                _cleanup_strv_free_ char **paths = NULL;
                r = list_workloads(bus, &paths, NULL, &t->n_workloads);
                if (r < 0)
                        return r;
                r = pick_workload(bus, &t->workload);
                if (r < 0)
                        return r;
        }
        r = measure_latency(bus, CALL_GETALL, t->workload, arg_calls, &l);
        if (r < 0)
                return r;
        t->getall_calls = round == 0 ? l.calls : MIN(t->getall_calls, l.calls);
        t->v[M_GETALL_P50][round] = (double) l.p50 / 1e3;
        t->v[M_GETALL_P99][round] = (double) l.p99 / 1e3;
        t->errors += l.errors;
        r = measure_latency(bus, CALL_LIST, NULL, MAX(arg_calls / 10, 20U), &l);
        if (r < 0)
                return r;
        t->list_calls = round == 0 ? l.calls : MIN(t->list_calls, l.calls);
        t->v[M_LIST_P50][round] = (double) l.p50 / 1e3;
        t->v[M_LIST_P99][round] = (double) l.p99 / 1e3;
        t->errors += l.errors;

        static const struct {
                int metric;
                Call call;
                unsigned clients;
        } rates[] = {
                { M_GETALL_RATE_1, CALL_GETALL, 1 },
                { M_GETALL_RATE_8, CALL_GETALL, 8 },
                { M_LIST_RATE_1, CALL_LIST, 1 },
                { M_LIST_RATE_8, CALL_LIST, 8 },
        };
        for (size_t i = 0; i < ELEMENTSOF(rates); i++) {
                r = measure_throughput(t->socket, rates[i].call, t->workload, rates[i].clients,
                                       arg_duration_ms, &rate, &errors);
                if (r < 0)
                        return r;
                t->v[rates[i].metric][round] = rate;
                t->errors += errors;
        }
        return 0;
}

static void stat_of(const double *v, size_t n, double *median, double *min, double *max) {
        double s[ROUNDS_MAX];
        memcpy(s, v, n * sizeof(double));
        qsort(s, n, sizeof(double), cmp_double);
        *median = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
        *min = s[0];
        *max = s[n - 1];
}

static int compare(int argc, char **argv) {
        Target targets[TARGETS_MAX] = {};
        size_t n = 0;
        int r;

        for (int i = 0; i < argc; i++) {
                char *eq = strchr(argv[i], '=');
                if (!eq || eq == argv[i] || n >= TARGETS_MAX) {
                        fprintf(stderr, "bus-load: expected NAME=SOCKET (at most %d), got '%s'\n",
                                TARGETS_MAX, argv[i]);
                        return -EINVAL;
                }
                *eq = '\0';
                targets[n++] = (Target){ .name = argv[i], .socket = eq + 1 };
        }
        if (n == 0)
                return -EINVAL;

        for (unsigned round = 0; round < arg_rounds; round++)
                for (size_t i = 0; i < n; i++) {
                        /* Alternate which target goes first. */
                        Target *t = &targets[round % 2 ? n - 1 - i : i];
                        if (t->failed)
                                continue;
                        r = measure_round(t, round);
                        if (r < 0) {
                                fprintf(stderr, "bus-load: %s: %s\n", t->name, strerror(-r));
                                t->failed = r;
                        }
                }

        printf("| measurement |");
        for (size_t i = 0; i < n; i++)
                printf(" %s |", targets[i].name);
        for (size_t i = 0; i + 1 < n; i++)
                printf(" %s / %s |", targets[i].name, targets[n - 1].name);
        printf("\n|---|");
        for (size_t i = 0; i < 2 * n - 1; i++)
                printf("---|");
        printf("\n");
        for (int m = 0; m < _M_MAX; m++) {
                double med[TARGETS_MAX] = {};
                printf("| %s |", metrics[m].name);
                for (size_t i = 0; i < n; i++) {
                        double mn, mx;
                        if (targets[i].failed) {
                                printf(" failed: %s |", strerror(-targets[i].failed));
                                continue;
                        }
                        stat_of(targets[i].v[m], arg_rounds, &med[i], &mn, &mx);
                        int d = metrics[m].rate || med[i] >= 100 ? 0 : 1;
                        printf(" %.*f (%.*f–%.*f) |", d, med[i], d, mn, d, mx);
                }
                for (size_t i = 0; i + 1 < n; i++) {
                        if (targets[i].failed || targets[n - 1].failed || med[n - 1] <= 0)
                                printf(" – |");
                        else
                                printf(" %.2fx |", med[i] / med[n - 1]);
                }
                printf("\n");
        }
        printf("\n");
        if (arg_data) {
                _cleanup_fclose_ FILE *f = fopen(arg_data, "we");
                if (!f)
                        return -errno;
                /* One row per calls/s measurement: a label, then each target's median. */
                fprintf(f, "label");
                for (size_t i = 0; i < n; i++)
                        fprintf(f, "\t%s", targets[i].name);
                fprintf(f, "\n");
                for (int m = 0; m < _M_MAX; m++) {
                        if (!metrics[m].rate)
                                continue;
                        fprintf(f, "\"%s\"", metrics[m].name);
                        for (size_t i = 0; i < n; i++) {
                                double med = 0, mn, mx;
                                if (!targets[i].failed)
                                        stat_of(targets[i].v[m], arg_rounds, &med, &mn, &mx);
                                fprintf(f, "\t%.1f", med);
                        }
                        fprintf(f, "\n");
                }
        }
        for (size_t i = 0; i < n; i++) {
                if (targets[i].failed)
                        continue;
                printf("%s: %zu workloads listed, GetAll asked about `%s`; latency from %u "
                       "GetAll and %u ListWorkloads calls per round (at most %u s each); "
                       "%" PRIu64 " failed calls.  \n",
                       targets[i].name, targets[i].n_workloads, targets[i].workload,
                       targets[i].getall_calls, targets[i].list_calls, arg_max_seconds,
                       targets[i].errors);
        }
        printf("\n");
        for (size_t i = 0; i < n; i++)
                free(targets[i].workload);
        for (size_t i = 0; i < n; i++)
                if (targets[i].failed)
                        return targets[i].failed;
        return 0;
}

/* ---- latency, spawn, pids ------------------------------------------------------------- */

static int latency(void) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *workload = NULL;
        Latency l;
        Call call = streq(arg_call, "list") ? CALL_LIST : CALL_GETALL;
        int r;

        r = bus_open(arg_socket, &bus);
        if (r < 0)
                return r;
        if (call == CALL_GETALL) {
                r = pick_workload(bus, &workload);
                if (r < 0)
                        return r;
        }
        r = measure_latency(bus, call, workload, arg_calls, &l);
        if (r < 0)
                return r;
        printf("%u %.1f %.1f %.1f %.1f\n", l.calls, (double) l.p50 / 1e3, (double) l.p99 / 1e3,
               (double) l.min / 1e3, (double) l.max / 1e3);
        return 0;
}

static int spawn(char **argv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_close_ int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        int r;

        if (null_fd < 0)
                return -errno;
        r = bus_open(arg_socket, &bus);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < arg_count; i++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
                sd_bus_error error = SD_BUS_ERROR_NULL;
                char name[32];

                r = sd_bus_message_new_method_call(bus, &m, NULL, MANAGER_PATH, MANAGER_IFACE,
                                                   "Run");
                if (r < 0)
                        return r;
                r = sd_bus_message_append_strv(m, argv);
                if (r >= 0)
                        r = sd_bus_message_append(m, "as", 1, "PATH=/usr/bin:/bin");
                if (r >= 0)
                        r = sd_bus_message_append(m, "shhh", "/", null_fd, null_fd, null_fd);
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'a', "{sv}");
                snprintf(name, sizeof name, "bench-%u", i);
                if (r >= 0)
                        r = sd_bus_message_append(m, "{sv}", "detach", "b", 1);
                if (r >= 0)
                        r = sd_bus_message_append(m, "{sv}", "name", "s", name);
                if (r >= 0 && arg_limit > 0)
                        r = sd_bus_message_append(m, "{sv}", "limit", "t", arg_limit);
                if (r >= 0 && arg_mode)
                        r = sd_bus_message_append(m, "{sv}", "mode", "s", arg_mode);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r < 0)
                        return r;
                r = sd_bus_call(bus, m, 0, &error, &reply);
                if (r < 0) {
                        fprintf(stderr, "bus-load: Run #%u: %s\n", i,
                                error.message ?: strerror(-r));
                        sd_bus_error_free(&error);
                        return r;
                }
        }
        return 0;
}

static int pids(void) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ uint32_t *p = NULL;
        size_t n = 0;
        int r;

        r = bus_open(arg_socket, &bus);
        if (r < 0)
                return r;
        r = list_workloads(bus, NULL, &p, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                printf("%" PRIu32 "\n", p[i]);
        return 0;
}

static int help(void) {
        printf("Usage:\n"
               "  bus-load compare [--rounds N] [--calls N] [--duration-ms N] [--data FILE]\n"
               "                   NAME=SOCKET...\n"
               "  bus-load latency --socket PATH [--call getall|list] [--calls N]\n"
               "  (latency measurements stop after --max-seconds S, default 5, once 20 calls "
               "are timed)\n"
               "  bus-load spawn --socket PATH --count N [--limit SIZE] [--mode MODE] -- ARGV...\n"
               "  bus-load pids --socket PATH\n");
        return 0;
}

static int parse_unsigned(const char *s, unsigned min, unsigned max, const char *what,
                          unsigned *ret) {
        uint32_t u;
        if (parse_uint32(s, &u) < 0 || u < min || u > max) {
                fprintf(stderr, "bus-load: %s: %u..%u\n", what, min, max);
                return -EINVAL;
        }
        *ret = u;
        return 0;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "rounds", required_argument, NULL, 'r' },
                { "calls", required_argument, NULL, 'c' },
                { "duration-ms", required_argument, NULL, 'd' },
                { "socket", required_argument, NULL, 's' },
                { "call", required_argument, NULL, 'C' },
                { "count", required_argument, NULL, 'n' },
                { "limit", required_argument, NULL, 'l' },
                { "mode", required_argument, NULL, 'm' },
                { "max-seconds", required_argument, NULL, 'M' },
                { "data", required_argument, NULL, 'D' },
                {},
        };
        int c, r;

        if (argc < 2) {
                help();
                return 2;
        }
        const char *verb = argv[1];
        argv++;
        argc--;
        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return help();
                case 'r':
                        if (parse_unsigned(optarg, 1, ROUNDS_MAX, "--rounds", &arg_rounds) < 0)
                                return 2;
                        break;
                case 'c':
                        if (parse_unsigned(optarg, 1, 10000000, "--calls", &arg_calls) < 0)
                                return 2;
                        break;
                case 'd':
                        if (parse_unsigned(optarg, 10, 600000, "--duration-ms", &arg_duration_ms) <
                            0)
                                return 2;
                        break;
                case 's':
                        arg_socket = optarg;
                        break;
                case 'C':
                        if (!streq(optarg, "getall") && !streq(optarg, "list")) {
                                fprintf(stderr, "bus-load: --call getall|list\n");
                                return 2;
                        }
                        arg_call = optarg;
                        break;
                case 'n':
                        if (parse_unsigned(optarg, 1, 100000, "--count", &arg_count) < 0)
                                return 2;
                        break;
                case 'l':
                        if (parse_size(optarg, 0, &arg_limit, NULL) < 0) {
                                fprintf(stderr, "bus-load: invalid --limit '%s'\n", optarg);
                                return 2;
                        }
                        break;
                case 'm':
                        arg_mode = optarg;
                        break;
                case 'D':
                        arg_data = optarg;
                        break;
                case 'M':
                        if (parse_unsigned(optarg, 1, 3600, "--max-seconds", &arg_max_seconds) < 0)
                                return 2;
                        break;
                default:
                        return 2;
                }

        if (streq(verb, "compare"))
                r = compare(argc - optind, argv + optind);
        else if (!arg_socket) {
                help();
                return 2;
        } else if (streq(verb, "latency"))
                r = latency();
        else if (streq(verb, "spawn")) {
                if (optind >= argc || arg_count == 0) {
                        help();
                        return 2;
                }
                r = spawn(argv + optind);
        } else if (streq(verb, "pids"))
                r = pids();
        else {
                help();
                return 2;
        }
        if (r < 0) {
                fprintf(stderr, "bus-load %s: %s\n", verb, strerror(-r));
                return 1;
        }
        return 0;
}
