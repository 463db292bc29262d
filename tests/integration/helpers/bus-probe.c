/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A small sd-bus client for the daemon's integration tests. Prints "OK ..." or
 * "ERROR <name>: <message>" and exits 0 or 1 (2 on usage errors).
 *
 *   bus-probe ADDRESS stress N M          N concurrent connections, M calls each (mixed
 *                                         ListWorkloads, Get Version, Explain, Ping)
 *   bus-probe ADDRESS attach PID [POLICY]
 *   bus-probe ADDRESS attach-pidfd PID     AttachPidfd with a pidfd of PID
 *   bus-probe ADDRESS reload
 *   bus-probe ADDRESS explain PID
 *   bus-probe ADDRESS kill ID SIGNAL
 *   bus-probe ADDRESS run [--detach] [--policy P] [--limit BYTES] [--wait-exit] [--no-match]
 *                         -- CMD...
 *       Runs CMD through Manager.Run with this process's stdio, prints "OK <path>", then
 *       "LOCKED <bytes> <usec>" or "FAILED <error>", and with --wait-exit "EXITED <code>
 *       <status>" (exit status: the workload's, 128+N for a signal). --no-match: hears the
 *       signals without adding a match rule (a local filter only), as memlockctl does.
 *   bus-probe ADDRESS listen SECONDS [--match]
 *       Prints "READY", then counts the org.mlockd1.Manager signals that arrive for SECONDS and
 *       prints "SIGNALS <n>". Without --match it adds no match rule (a local filter only).
 *   bus-probe ADDRESS hold SECONDS         connect, Hello, and keep the connection open
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#define DEST "org.mlockd1"
#define PATH "/org/mlockd1"
#define IFACE "org.mlockd1.Manager"

static const char *address;

static int connect_bus(sd_bus **ret) {
        sd_bus *bus = NULL;
        int r;

        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        r = sd_bus_set_address(bus, address);
        if (r >= 0)
                r = sd_bus_set_bus_client(bus, true);
        if (r >= 0)
                r = sd_bus_negotiate_fds(bus, true);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0) {
                sd_bus_unref(bus);
                return r;
        }
        *ret = bus;
        return 0;
}

static int report(int r, sd_bus_error *e, const char *what) {
        if (e && sd_bus_error_is_set(e))
                printf("ERROR %s: %s\n", e->name, e->message ? e->message : "");
        else
                printf("ERROR %s: %s\n", what, strerror(-r));
        sd_bus_error_free(e);
        return 1;
}

/* ---- stress -------------------------------------------------------------------------------- */

typedef struct Worker {
        pthread_t thread;
        unsigned calls;
        unsigned ok;
        int first_error;
        char error_name[128];
} Worker;

static void *worker(void *p) {
        Worker *w = p;
        sd_bus *bus = NULL;
        int r;

        r = connect_bus(&bus);
        if (r < 0) {
                w->first_error = r;
                snprintf(w->error_name, sizeof(w->error_name), "connect: %s", strerror(-r));
                return NULL;
        }
        for (unsigned i = 0; i < w->calls; i++) {
                sd_bus_error e = SD_BUS_ERROR_NULL;
                sd_bus_message *reply = NULL;

                switch (i % 4) {
                case 0:
                        r = sd_bus_call_method(bus, DEST, PATH, IFACE, "ListWorkloads", &e, &reply,
                                               NULL);
                        break;
                case 1:
                        r = sd_bus_get_property(bus, DEST, PATH, IFACE, "Version", &e, &reply, "s");
                        break;
                case 2:
                        r = sd_bus_call_method(bus, DEST, PATH, IFACE, "Explain", &e, &reply, "u",
                                               (uint32_t) getpid());
                        break;
                default:
                        r = sd_bus_call_method(bus, DEST, PATH, "org.freedesktop.DBus.Peer", "Ping",
                                               &e, &reply, NULL);
                }
                if (r >= 0)
                        w->ok++;
                else if (!w->first_error) {
                        w->first_error = r;
                        snprintf(w->error_name, sizeof(w->error_name), "%s",
                                 e.name ? e.name : strerror(-r));
                }
                sd_bus_message_unref(reply);
                sd_bus_error_free(&e);
        }
        sd_bus_flush_close_unref(bus);
        return NULL;
}

static int do_stress(unsigned n, unsigned m) {
        Worker *w = calloc(n, sizeof(Worker));
        struct timespec a, b;
        unsigned ok = 0, failed_workers = 0;

        if (!w)
                return 1;
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (unsigned i = 0; i < n; i++) {
                w[i].calls = m;
                if (pthread_create(&w[i].thread, NULL, worker, &w[i]) != 0) {
                        printf("ERROR pthread_create\n");
                        return 1;
                }
        }
        for (unsigned i = 0; i < n; i++) {
                pthread_join(w[i].thread, NULL);
                ok += w[i].ok;
                if (w[i].ok != m) {
                        /* Every failed worker: which ones are refused and which get an error
                         * depends on the order the daemon accepts them in. */
                        failed_workers++;
                        fprintf(stderr, "worker %u: %u/%u ok, first error %s\n", i, w[i].ok, m,
                                w[i].error_name);
                }
        }
        clock_gettime(CLOCK_MONOTONIC, &b);
        double ms = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
        printf("%s %u connections x %u calls: %u/%u answered in %.0f ms (%.0f calls/s)\n",
               ok == n * m ? "OK" : "ERROR", n, m, ok, n * m, ms, ok / (ms / 1e3));
        free(w);
        return ok == n * m ? 0 : 1;
}

/* ---- single calls ------------------------------------------------------------------------- */

static int do_simple(sd_bus *bus, int argc, char **argv) {
        __attribute__((cleanup(sd_bus_error_free))) sd_bus_error e = SD_BUS_ERROR_NULL;
        __attribute__((cleanup(sd_bus_message_unrefp))) sd_bus_message *reply = NULL;
        const char *cmd = argv[0];
        int r;

        if (strcmp(cmd, "attach") == 0 && argc >= 2) {
                const char *path;
                if (argc >= 3)
                        r = sd_bus_call_method(bus, DEST, PATH, IFACE, "Attach", &e, &reply,
                                               "ua{sv}", (uint32_t) atoi(argv[1]), 1, "policy", "s",
                                               argv[2]);
                else
                        r = sd_bus_call_method(bus, DEST, PATH, IFACE, "Attach", &e, &reply,
                                               "ua{sv}", (uint32_t) atoi(argv[1]), 0);
                if (r < 0)
                        return report(r, &e, "Attach");
                r = sd_bus_message_read(reply, "o", &path);
                if (r < 0)
                        return report(r, NULL, "read");
                printf("OK %s\n", path);
        } else if (strcmp(cmd, "attach-pidfd") == 0 && argc >= 2) {
                const char *path;
                int pidfd = (int) syscall(SYS_pidfd_open, atoi(argv[1]), 0);
                if (pidfd < 0)
                        return report(-errno, NULL, "pidfd_open");
                r = sd_bus_call_method(bus, DEST, PATH, IFACE, "AttachPidfd", &e, &reply, "ha{sv}",
                                       pidfd, 1, "name", "s", "by-pidfd");
                close(pidfd);
                if (r < 0)
                        return report(r, &e, "AttachPidfd");
                r = sd_bus_message_read(reply, "o", &path);
                if (r < 0)
                        return report(r, NULL, "read");
                printf("OK %s\n", path);
        } else if (strcmp(cmd, "reload") == 0) {
                r = sd_bus_call_method(bus, DEST, PATH, IFACE, "Reload", &e, &reply, NULL);
                if (r < 0)
                        return report(r, &e, "Reload");
                printf("OK\n");
        } else if (strcmp(cmd, "explain") == 0 && argc >= 2) {
                const char *verdict, *policy, *message;
                r = sd_bus_call_method(bus, DEST, PATH, IFACE, "Explain", &e, &reply, "u",
                                       (uint32_t) atoi(argv[1]));
                if (r < 0)
                        return report(r, &e, "Explain");
                r = sd_bus_message_read(reply, "sss", &verdict, &policy, &message);
                if (r < 0)
                        return report(r, NULL, "read");
                printf("OK %s %s %s\n", verdict, policy, message);
        } else if (strcmp(cmd, "kill") == 0 && argc >= 3) {
                char p[128];
                snprintf(p, sizeof(p), "/org/mlockd1/workload/%s", argv[1]);
                r = sd_bus_call_method(bus, DEST, PATH, IFACE, "Kill", &e, &reply, "oi", p,
                                       atoi(argv[2]));
                if (r < 0)
                        return report(r, &e, "Kill");
                printf("OK\n");
        } else {
                fprintf(stderr, "unknown command or missing arguments: %s\n", cmd);
                return 2;
        }
        return 0;
}

/* ---- run ---------------------------------------------------------------------------------- */

typedef struct RunState {
        const char *path;
        int done_lock;
        int exited;
        int code, status;
} RunState;

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        RunState *s = userdata;
        const char *id, *path;

        if (sd_bus_message_is_signal(m, IFACE, "WorkloadLocked")) {
                uint64_t bytes, usec;
                if (sd_bus_message_read(m, "sott", &id, &path, &bytes, &usec) >= 0 && s->path &&
                    strcmp(path, s->path) == 0) {
                        printf("LOCKED %" PRIu64 " %" PRIu64 "\n", bytes, usec);
                        s->done_lock = 1;
                }
        } else if (sd_bus_message_is_signal(m, IFACE, "WorkloadFailed")) {
                const char *err;
                if (sd_bus_message_read(m, "sos", &id, &path, &err) >= 0 && s->path &&
                    strcmp(path, s->path) == 0) {
                        printf("FAILED %s\n", err);
                        s->done_lock = 1;
                }
        } else if (sd_bus_message_is_signal(m, IFACE, "WorkloadExited")) {
                int code, status;
                if (sd_bus_message_read(m, "soii", &id, &path, &code, &status) >= 0 && s->path &&
                    strcmp(path, s->path) == 0) {
                        printf("EXITED %d %d\n", code, status);
                        s->exited = 1;
                        s->code = code;
                        s->status = status;
                }
        }
        fflush(stdout);
        return 0;
}

static void freep_str(char **p) {
        free(*p);
}

static int do_run(sd_bus *bus, int argc, char **argv) {
        __attribute__((cleanup(sd_bus_error_free))) sd_bus_error e = SD_BUS_ERROR_NULL;
        __attribute__((cleanup(sd_bus_message_unrefp))) sd_bus_message *call = NULL;
        __attribute__((cleanup(sd_bus_message_unrefp))) sd_bus_message *reply = NULL;
        __attribute__((cleanup(freep_str))) char *own_path = NULL;
        const char *policy = NULL, *path;
        uint64_t limit = 0;
        int detach = 0, wait_exit = 0, no_match = 0, i, r;
        char cwd[4096];
        RunState s = {};
        extern char **environ;

        for (i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--detach") == 0)
                        detach = 1;
                else if (strcmp(argv[i], "--wait-exit") == 0)
                        wait_exit = 1;
                else if (strcmp(argv[i], "--no-match") == 0)
                        no_match = 1;
                else if (strcmp(argv[i], "--policy") == 0 && i + 1 < argc)
                        policy = argv[++i];
                else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc)
                        limit = strtoull(argv[++i], NULL, 10);
                else if (strcmp(argv[i], "--") == 0) {
                        i++;
                        break;
                } else
                        break;
        }
        if (i >= argc) {
                fprintf(stderr, "run: no command\n");
                return 2;
        }
        if (no_match)
                r = sd_bus_add_filter(bus, NULL, on_signal, &s);
        else
                r = sd_bus_match_signal(bus, NULL, NULL, PATH, IFACE, NULL, on_signal, &s);
        if (r < 0)
                return report(r, NULL, "match");
        if (!getcwd(cwd, sizeof(cwd)))
                strcpy(cwd, "/");

        r = sd_bus_message_new_method_call(bus, &call, DEST, PATH, IFACE, "Run");
        if (r >= 0)
                r = sd_bus_message_append_strv(call, argv + i);
        if (r >= 0)
                r = sd_bus_message_append_strv(call, environ);
        if (r >= 0)
                r = sd_bus_message_append(call, "shhh", cwd, 0, 1, 2);
        if (r >= 0)
                r = sd_bus_message_open_container(call, 'a', "{sv}");
        if (r >= 0 && policy)
                r = sd_bus_message_append(call, "{sv}", "policy", "s", policy);
        if (r >= 0 && limit)
                r = sd_bus_message_append(call, "{sv}", "limit", "t", limit);
        if (r >= 0 && detach)
                r = sd_bus_message_append(call, "{sv}", "detach", "b", 1);
        if (r >= 0)
                r = sd_bus_message_close_container(call);
        if (r < 0)
                return report(r, NULL, "build");
        r = sd_bus_call(bus, call, 0, &e, &reply);
        if (r < 0)
                return report(r, &e, "Run");
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return report(r, NULL, "read");
        s.path = own_path = strdup(path);
        printf("OK %s\n", s.path);
        fflush(stdout);

        for (unsigned loops = 0; loops < 3000; loops++) {
                if (s.done_lock && (!wait_exit || s.exited))
                        break;
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return report(r, NULL, "process");
                if (r == 0)
                        (void) sd_bus_wait(bus, 10000);
        }
        if (wait_exit && s.exited)
                return s.code == CLD_EXITED ? s.status : 128 + s.status;
        return s.done_lock ? 0 : 1;
}

/* ---- listen ------------------------------------------------------------------------------- */

static int on_any(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        unsigned *n = userdata;
        uint8_t type = 0;

        if (sd_bus_message_get_type(m, &type) >= 0 && type == SD_BUS_MESSAGE_SIGNAL &&
            sd_bus_message_get_interface(m) && strcmp(sd_bus_message_get_interface(m), IFACE) == 0)
                (*n)++;
        return 0;
}

static int do_listen(sd_bus *bus, int argc, char **argv) {
        struct timespec t0, t;
        unsigned n = 0;
        int r;

        if (argc < 2)
                return fprintf(stderr, "listen: SECONDS missing\n"), 2;
        r = sd_bus_add_filter(bus, NULL, on_any, &n);
        if (r >= 0 && argc >= 3 && strcmp(argv[2], "--match") == 0)
                r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "AddMatch", NULL, NULL, "s",
                                       "type='signal',interface='" IFACE "'");
        if (r < 0)
                return report(r, NULL, "listen");
        printf("READY\n");
        fflush(stdout);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
                clock_gettime(CLOCK_MONOTONIC, &t);
                if (t.tv_sec - t0.tv_sec >= atoi(argv[1]))
                        break;
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return report(r, NULL, "process");
                if (r == 0)
                        (void) sd_bus_wait(bus, 100000);
        }
        printf("SIGNALS %u\n", n);
        return 0;
}

int main(int argc, char **argv) {
        sd_bus *bus = NULL;
        int r;

        if (argc < 3) {
                fprintf(stderr, "usage: bus-probe ADDRESS COMMAND ...\n");
                return 2;
        }
        address = argv[1];
        signal(SIGPIPE, SIG_IGN);
        if (strcmp(argv[2], "stress") == 0 && argc >= 5)
                return do_stress((unsigned) atoi(argv[3]), (unsigned) atoi(argv[4]));

        r = connect_bus(&bus);
        if (r < 0)
                return report(r, NULL, "connect");
        if (strcmp(argv[2], "hold") == 0 && argc >= 4) {
                printf("OK\n");
                fflush(stdout);
                sleep((unsigned) atoi(argv[3]));
                r = 0;
        } else if (strcmp(argv[2], "listen") == 0)
                r = do_listen(bus, argc - 2, argv + 2);
        else if (strcmp(argv[2], "run") == 0)
                r = do_run(bus, argc - 2, argv + 2);
        else
                r = do_simple(bus, argc - 2, argv + 2);
        sd_bus_flush_close_unref(bus);
        return r;
}
