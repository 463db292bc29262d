/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The ceiling for the bus benchmark: a minimal sd-bus server on a private unix socket that
 * serves mlockd's shape (Manager.ListWorkloads, the Workload properties, Peer.Ping, Hello)
 * from constant data. It does no work per call beyond what sd-bus itself does, so mlockd's
 * calls/s divided by this server's is the share of the cost that is mlockd's own.
 *
 *   bus-echo-server --socket PATH [--workloads N]
 *
 * Runs until SIGTERM or SIGINT. Prints "ready" on stdout once it listens. */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/parse-util.h"

#define WORKLOAD_PREFIX "/org/mlockd1/workload"
#define WORKLOADS_MAX 100000U

static const char *arg_socket = NULL;
static unsigned arg_workloads = 1000;

/* String fields are char * so that sd-bus's default property getters read them. */
typedef struct FakeWorkload {
        char *id, *path, *name;
        const char *policy, *mode, *mechanism, *state, *error;
        uint32_t pid;
        uint32_t uid;
        uint64_t limit, locked, resident, swap, pinned, majflt, minflt, lock_usec, started_at;
        int32_t exit_status;
} FakeWorkload;

typedef struct Server {
        sd_event *event;
        FakeWorkload *workloads;
        unsigned n_workloads;
        uint64_t n_connections;
        sd_id128_t id;
} Server;

static int method_hello(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return sd_bus_reply_method_return(m, "s", ":1.1");
}

static int method_list_workloads(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Server *s = userdata;
        sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(souusssstt)");
        for (unsigned i = 0; r >= 0 && i < s->n_workloads; i++) {
                const FakeWorkload *w = &s->workloads[i];
                r = sd_bus_message_append(reply, "(souusssstt)", w->id, w->path, w->pid, w->uid,
                                          w->name, w->policy, w->state, w->mechanism, w->locked,
                                          w->limit);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        sd_bus_message_unref(reply);
        return r;
}

static int property_version(sd_bus *bus, const char *path, const char *interface,
                            const char *property, sd_bus_message *reply, void *userdata,
                            sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", "echo");
}

static int property_workloads(sd_bus *bus, const char *path, const char *interface,
                              const char *property, sd_bus_message *reply, void *userdata,
                              sd_bus_error *error) {
        Server *s = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "o");
        for (unsigned i = 0; r >= 0 && i < s->n_workloads; i++)
                r = sd_bus_message_append(reply, "o", s->workloads[i].path);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

static int find_workload(sd_bus *bus, const char *path, const char *interface, void *userdata,
                         void **found, sd_bus_error *error) {
        Server *s = userdata;
        const char *e = startswith(path, WORKLOAD_PREFIX "/");
        uint32_t id;

        if (!e || parse_uint32(e, &id) < 0 || id < 1 || id > s->n_workloads)
                return 0;
        *found = &s->workloads[id - 1];
        return 1;
}

static int enumerate_workloads(sd_bus *bus, const char *path, void *userdata, char ***nodes,
                               sd_bus_error *error) {
        Server *s = userdata;
        char **l = calloc(s->n_workloads + 1, sizeof(char *));

        if (!l)
                return -ENOMEM;
        for (unsigned i = 0; i < s->n_workloads; i++) {
                l[i] = strdup(s->workloads[i].path);
                if (!l[i]) {
                        strv_free(l);
                        return -ENOMEM;
                }
        }
        *nodes = l;
        return 1;
}

static const sd_bus_vtable dbus_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Hello", "", "s", method_hello, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Workloads", "ao", property_workloads, 0, 0),
        SD_BUS_METHOD("ListWorkloads", "", "a(souusssstt)", method_list_workloads,
                      SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

#define W(field) offsetof(FakeWorkload, field)
static const sd_bus_vtable workload_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "s", NULL, W(id), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Name", "s", NULL, W(name), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Pid", "u", NULL, W(pid), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Uid", "u", NULL, W(uid), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Policy", "s", NULL, W(policy), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Mode", "s", NULL, W(mode), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Mechanism", "s", NULL, W(mechanism), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", NULL, W(state), 0),
        SD_BUS_PROPERTY("LimitBytes", "t", NULL, W(limit), 0),
        SD_BUS_PROPERTY("LockedBytes", "t", NULL, W(locked), 0),
        SD_BUS_PROPERTY("ResidentBytes", "t", NULL, W(resident), 0),
        SD_BUS_PROPERTY("SwapBytes", "t", NULL, W(swap), 0),
        SD_BUS_PROPERTY("PinnedBytes", "t", NULL, W(pinned), 0),
        SD_BUS_PROPERTY("MajorFaults", "t", NULL, W(majflt), 0),
        SD_BUS_PROPERTY("MinorFaults", "t", NULL, W(minflt), 0),
        SD_BUS_PROPERTY("LockDurationUSec", "t", NULL, W(lock_usec), 0),
        SD_BUS_PROPERTY("StartedAt", "t", NULL, W(started_at), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ExitStatus", "i", NULL, W(exit_status), 0),
        SD_BUS_PROPERTY("Error", "s", NULL, W(error), 0),
        SD_BUS_VTABLE_END,
};

static int on_disconnect(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        sd_bus *bus = sd_bus_message_get_bus(m);

        /* The slot list and the connection go together; the attached event source is
         * detached by the unref. */
        sd_bus_detach_event(bus);
        sd_bus_flush_close_unref(bus);
        return 0;
}

static int connection_setup(Server *s, int fd) {
        sd_bus *bus = NULL;
        sd_id128_t id = s->id;
        int r;

        r = sd_bus_new(&bus);
        if (r < 0) {
                close(fd);
                return r;
        }
        r = sd_bus_set_fd(bus, fd, fd);
        if (r < 0) {
                close(fd);
                goto fail;
        }
        /* The server id only needs to be unique per connection for sd-bus's bookkeeping. */
        id.bytes[0] ^= (uint8_t) s->n_connections++;
        r = sd_bus_set_server(bus, 1, id);
        if (r >= 0)
                r = sd_bus_set_anonymous(bus, true);
        if (r >= 0)
                r = sd_bus_negotiate_fds(bus, true);
        /* Every peer on one socket is served the same objects; the vtables are shared and
         * the userdata is the server. */
        if (r >= 0)
                r = sd_bus_add_object_vtable(bus, NULL, "/org/freedesktop/DBus",
                                             "org.freedesktop.DBus", dbus_vtable, s);
        if (r >= 0)
                r = sd_bus_add_object_vtable(bus, NULL, "/org/mlockd1", "org.mlockd1.Manager",
                                             manager_vtable, s);
        if (r >= 0)
                r = sd_bus_add_fallback_vtable(bus, NULL, WORKLOAD_PREFIX, "org.mlockd1.Workload",
                                               workload_vtable, find_workload, s);
        if (r >= 0)
                r = sd_bus_add_node_enumerator(bus, NULL, WORKLOAD_PREFIX, enumerate_workloads, s);
        if (r >= 0)
                r = sd_bus_add_object_manager(bus, NULL, "/org/mlockd1");
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, "org.freedesktop.DBus.Local",
                                        "/org/freedesktop/DBus/Local", "org.freedesktop.DBus.Local",
                                        "Disconnected", on_disconnect, NULL);
        if (r >= 0)
                r = sd_bus_attach_event(bus, s->event, SD_EVENT_PRIORITY_NORMAL);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0)
                goto fail;
        /* The connection now belongs to the event loop; on_disconnect drops it. */
        return 0;
fail:
        sd_bus_detach_event(bus);
        sd_bus_flush_close_unref(bus);
        return r;
}

static int on_accept(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        Server *s = userdata;
        int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

        if (cfd < 0) /* EAGAIN, or the peer gave up already: keep listening either way */
                return 0;
        int r = connection_setup(s, cfd);
        if (r < 0)
                fprintf(stderr, "bus-echo-server: connection setup failed: %s\n", strerror(-r));
        return 0;
}

static int listen_unix(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        (void) unlink(path);
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(fd, SOMAXCONN) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

static int help(void) {
        printf("Usage: bus-echo-server --socket PATH [--workloads N]\n"
               "Serves mlockd's bus shape from constant data: the ceiling for bus-load.\n");
        return 0;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "socket", required_argument, NULL, 's' },
                { "workloads", required_argument, NULL, 'n' },
                {},
        };
        Server s = {};
        _cleanup_close_ int lfd = -EBADF;
        uint32_t u;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return help();
                case 's':
                        arg_socket = optarg;
                        break;
                case 'n':
                        r = parse_uint32(optarg, &u);
                        if (r < 0 || u > WORKLOADS_MAX) {
                                fprintf(stderr, "--workloads: 0..%u\n", WORKLOADS_MAX);
                                return 2;
                        }
                        arg_workloads = u;
                        break;
                default:
                        return 2;
                }
        if (!arg_socket || optind != argc) {
                help();
                return 2;
        }

        s.n_workloads = arg_workloads;
        s.workloads = calloc(MAX(arg_workloads, 1U), sizeof(FakeWorkload));
        if (!s.workloads)
                return 1;
        for (unsigned i = 0; i < arg_workloads; i++) {
                FakeWorkload *w = &s.workloads[i];
                *w = (FakeWorkload){
                        .policy = "bench",
                        .mode = "on",
                        .mechanism = "capability",
                        .state = "locked",
                        .error = "",
                        .pid = 100000 + i,
                        .limit = 8 << 20,
                        .locked = 2 << 20,
                        .resident = 2 << 20,
                        .majflt = 1,
                        .minflt = 100,
                        .lock_usec = 500,
                        .started_at = 1700000000000000ULL,
                        .exit_status = -1,
                };
                if (asprintf(&w->id, "%u", i + 1) < 0 ||
                    asprintf(&w->path, WORKLOAD_PREFIX "/%u", i + 1) < 0 ||
                    asprintf(&w->name, "sleep-%u", i + 1) < 0)
                        return 1;
        }
        r = sd_id128_randomize(&s.id);
        if (r < 0)
                return 1;

        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        r = sd_event_default(&s.event);
        if (r < 0)
                goto fail;
        r = sd_event_add_signal(s.event, NULL, SIGTERM, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(s.event, NULL, SIGINT, NULL, NULL);
        if (r < 0)
                goto fail;
        lfd = listen_unix(arg_socket);
        if (lfd < 0) {
                r = lfd;
                goto fail;
        }
        r = sd_event_add_io(s.event, NULL, lfd, EPOLLIN, on_accept, &s);
        if (r < 0)
                goto fail;
        printf("ready\n");
        fflush(stdout);
        r = sd_event_loop(s.event);
        (void) unlink(arg_socket);
        sd_event_unref(s.event);
        free(s.workloads);
        return r < 0 ? 1 : 0;
fail:
        fprintf(stderr, "bus-echo-server: %s\n", strerror(-r));
        return 1;
}
