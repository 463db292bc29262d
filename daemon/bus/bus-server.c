/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The socket: listening (or socket activation), one peer-to-peer sd_bus per accepted
 * connection, per-uid connection and rate limits, dropping peers that do not read, and sending
 * signals to every peer. The bus driver (Hello, ...) is bus-driver.c, the input bounds
 * bus-input-limit.c. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-id128.h>
#include <time.h>

#include "common/log.h"
#include "common/macro.h"
#include "daemon/bus/bus-driver.h"
#include "daemon/bus/bus-error.h"
#include "daemon/bus/bus-input-limit.h"
#include "daemon/bus/bus.h"
#include "common/time-util.h"
#include "daemon/bus/bus-limits.h"

static Connection *connection_free(Connection *c) {
        if (!c)
                return NULL;
        if (c->server) {
                BusServer *m = c->server;
                if (c->prev)
                        c->prev->next = c->next;
                else if (m->connections == c)
                        m->connections = c->next;
                if (c->next)
                        c->next->prev = c->prev;
                m->n_connections--;
        }
        sd_event_source_disable_unref(c->free_source);
        sd_event_source_disable_unref(c->auth_source);
        bus_input_limit_unregister(c->input_fd);
        if (c->bus) {
                (void) sd_bus_detach_event(c->bus);
                /* sd_bus_flush() waits, without a timeout, until the peer has read everything:
                 * never for a peer dropped because it does not read. */
                if (c->dropped)
                        sd_bus_close_unref(c->bus);
                else
                        sd_bus_flush_close_unref(c->bus);
        }
        caller_done(&c->caller);
        free(c);
        return NULL;
}

Connection *bus_server_find_connection(BusServer *m, sd_bus *bus) {
        for (Connection *c = m->connections; c; c = c->next)
                if (c->bus == bus)
                        return c;
        return NULL;
}

static size_t connections_of_uid(BusServer *m, uid_t uid, bool over_limit) {
        size_t n = 0;
        for (Connection *c = m->connections; c; c = c->next)
                if (c->caller.uid == uid && c->over_limit == over_limit)
                        n++;
        return n;
}

static int on_connection_free(sd_event_source *s, void *userdata) {
        Connection *c = userdata;

        connection_free(c);
        return 0;
}

/* The connection is over (closed by the peer, or dropped by us): its foreground workloads get
 * SIGHUP now, the object goes on the next loop iteration. */
static void connection_drop(Connection *c) {
        BusServer *m = c->server;
        int r;

        if (c->free_source)
                return;
        manager_owner_gone(m->manager, c->id);
        /* Not from inside the bus's own dispatch: free it on the next loop iteration. */
        r = sd_event_add_defer(m->event, &c->free_source, on_connection_free, c);
        if (r < 0) {
                log_warning_errno(r, "Failed to schedule freeing a connection: %m");
                return;
        }
        (void) sd_event_source_set_enabled(c->free_source, SD_EVENT_ONESHOT);
}

static int on_disconnected(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Connection *c = userdata;

        log_debug("Connection %s (uid %u, pid %d) closed.", c->unique_name,
                  (unsigned) c->caller.uid, c->caller.pid);
        /* sd-bus has closed the fd already: its number may be reused before the free. */
        bus_input_limit_unregister(c->input_fd);
        c->input_fd = -EBADF;
        connection_drop(c);
        return 0;
}

/* A peer that does not read what it is sent (replies, signals) makes sd-bus queue it in the
 * daemon's memory without bound, once the socket's buffer is full: dropped beyond
 * LIMIT_QUEUED_MESSAGES. */
static void connection_check_output(Connection *c) {
        uint64_t n = 0;

        if (c->free_source || sd_bus_get_n_queued_write(c->bus, &n) < 0 ||
            n <= LIMIT_QUEUED_MESSAGES)
                return;
        log_warning("Dropping connection %s of uid %u: it leaves %" PRIu64
                    " messages unread, more than %u.",
                    c->unique_name, (unsigned) c->caller.uid, n, LIMIT_QUEUED_MESSAGES);
        c->dropped = true;
        connection_drop(c);
}

int bus_check_rate(BusServer *m, const Caller *c, sd_bus_error *error) {
        RateBucket *b = NULL;
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        if (caller_is_root(c))
                return 0;
        for (size_t i = 0; i < m->n_rate_buckets; i++)
                if (m->rate_buckets[i].uid == c->uid) {
                        b = &m->rate_buckets[i];
                        break;
                }
        if (!b) {
                /* Buckets of uids that have been idle long enough to be full are reused. */
                for (size_t i = 0; i < m->n_rate_buckets; i++) {
                        RateBucket *x = &m->rate_buckets[i];
                        if ((now - x->last_usec) * (double) LIMIT_CALLS_PER_SEC / 1e6 + x->tokens >=
                            LIMIT_CALLS_BURST) {
                                b = x;
                                break;
                        }
                }
                if (!b) {
                        RateBucket *n = reallocarray(m->rate_buckets, m->n_rate_buckets + 1,
                                                     sizeof(RateBucket));
                        if (!n)
                                return bus_error_setf_errno(error, -ENOMEM, "Out of memory.");
                        m->rate_buckets = n;
                        b = &m->rate_buckets[m->n_rate_buckets++];
                }
                *b = (RateBucket){ .uid = c->uid, .tokens = LIMIT_CALLS_BURST, .last_usec = now };
        }
        b->tokens += (now - b->last_usec) * (double) LIMIT_CALLS_PER_SEC / 1e6;
        if (b->tokens > LIMIT_CALLS_BURST)
                b->tokens = LIMIT_CALLS_BURST;
        b->last_usec = now;
        if (b->tokens < 1.0)
                return bus_error_setf(error, BUS_ERROR_LIMIT_EXCEEDED,
                                      "uid %u makes more than %u calls per second; slow down.",
                                      (unsigned) c->uid, LIMIT_CALLS_PER_SEC);
        b->tokens -= 1.0;
        return 0;
}

/* Runs before any handler: connection and rate limits for every method call. */
static int on_filter(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Connection *c = userdata;
        BusServer *m = c->server;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        /* Signals go only to peers that have spoken: a bus client (busctl, gdbus) drops the
         * connection (EIO) if anything but the reply to its Hello arrives first, and its first
         * message is that Hello, answered before any signal we send after this point. */
        c->active = true;
        connection_check_output(c);
        if (c->free_source)
                return 1;
        if (!sd_bus_message_is_method_call(msg, NULL, NULL))
                return 0;
        bus_driver_forward_to_monitors(m, c, msg);
        if (sd_bus_message_is_method_call(msg, "org.freedesktop.DBus", "Hello"))
                return 0;
        if (c->over_limit) {
                (void) sd_bus_reply_method_errorf(
                        msg, BUS_ERROR_LIMIT_EXCEEDED,
                        "uid %u already has %u connections to mlockd, the most allowed; close "
                        "some first.",
                        (unsigned) c->caller.uid, LIMIT_CONNECTIONS_PER_UID);
                return 1;
        }
        r = bus_check_rate(m, &c->caller, &e);
        if (r < 0) {
                (void) sd_bus_reply_method_error(msg, &e);
                return 1;
        }
        return 0;
}

int bus_add_objects(BusServer *m, sd_bus *bus) {
        int r;

        r = sd_bus_add_object_vtable(bus, NULL, MANAGER_PATH, MANAGER_INTERFACE, bus_manager_vtable,
                                     m);
        if (r < 0)
                return r;
        r = sd_bus_add_fallback_vtable(bus, NULL, WORKLOAD_PATH_PREFIX, WORKLOAD_INTERFACE,
                                       bus_workload_vtable, bus_workload_find, m);
        if (r < 0)
                return r;
        r = sd_bus_add_node_enumerator(bus, NULL, WORKLOAD_PATH_PREFIX, bus_workload_enumerate, m);
        if (r < 0)
                return r;
        return sd_bus_add_object_manager(bus, NULL, MANAGER_PATH);
}

/* sd-bus (252) can read a client's BEGIN and its first message with one recvmsg() and leave
 * the message unparsed in its buffer until more bytes arrive; a client that authenticates
 * lock-step (dbus-send --peer) sends nothing more and waits forever. So while a connection
 * authenticates, a post source (run only after other events, never a busy loop) watches
 * for the end of authentication and then processes whatever is buffered, once. */
static int on_connection_authenticated(sd_event_source *s, void *userdata) {
        Connection *c = userdata;
        int r;

        if (sd_bus_is_ready(c->bus) <= 0)
                return 0;
        do
                r = sd_bus_process(c->bus, NULL);
        while (r > 0);
        c->auth_source = sd_event_source_disable_unref(c->auth_source);
        return 0;
}

int bus_server_add_connection(BusServer *m, int fd) {
        Connection *c;
        sd_id128_t id;
        int r;

        c = calloc(1, sizeof(*c));
        if (!c) {
                safe_close(fd);
                return -ENOMEM;
        }
        c->caller = CALLER_NULL;
        c->input_fd = -EBADF;
        r = caller_from_socket(fd, &c->caller);
        if (r < 0) {
                safe_close(fd);
                free(c);
                return log_warning_errno(r, "Failed to read peer credentials, closing: %m");
        }
        c->id = m->next_connection_id++;
        snprintf(c->unique_name, sizeof(c->unique_name), ":1.%llu", (unsigned long long) c->id);
        if (!caller_is_root(&c->caller)) {
                /* Root is never refused: it could stop the daemon anyway, and must always be
                 * able to reach it, however many connections others hold. */
                if (m->n_connections >= LIMIT_CONNECTIONS_TOTAL ||
                    connections_of_uid(m, c->caller.uid, true) >= LIMIT_CONNECTIONS_OVER) {
                        log_warning("Refusing a connection of uid %u: too many connections.",
                                    (unsigned) c->caller.uid);
                        caller_done(&c->caller);
                        free(c);
                        safe_close(fd);
                        return -EUSERS;
                }
                if (connections_of_uid(m, c->caller.uid, false) >= LIMIT_CONNECTIONS_PER_UID) {
                        log_warning("uid %u has %u connections already; answering "
                                    "LimitExceeded.",
                                    (unsigned) c->caller.uid, LIMIT_CONNECTIONS_PER_UID);
                        c->over_limit = true;
                }
        }

        c->server = m;
        c->next = m->connections;
        if (m->connections)
                m->connections->prev = c;
        m->connections = c;
        m->n_connections++;

        r = sd_bus_new(&c->bus);
        if (r < 0) {
                safe_close(fd);
                goto fail;
        }
        (void) sd_bus_set_description(c->bus, c->unique_name);
        r = sd_bus_set_fd(c->bus, fd, fd);
        if (r < 0) {
                safe_close(fd);
                goto fail;
        }
        /* Before sd_bus_start(), which reads: every byte sd-bus reads passes the size checks. */
        r = bus_input_limit_register(fd, c->caller.uid, !caller_is_root(&c->caller),
                                     c->unique_name);
        if (r < 0)
                goto fail;
        c->input_fd = fd;
        r = sd_id128_randomize(&id);
        if (r >= 0)
                r = sd_bus_set_server(c->bus, 1, id);
        if (r >= 0)
                r = sd_bus_negotiate_fds(c->bus, true);
        if (r >= 0)
                r = sd_bus_add_filter(c->bus, NULL, on_filter, c);
        if (r >= 0)
                r = bus_driver_add(m, c->bus);
        /* As a bus stamps the sender: replies and signals come from the daemon's unique name
         * (gdbus matches signals by the owner GetNameOwner reports). */
        if (r >= 0)
                r = sd_bus_set_sender(c->bus, BUS_DRIVER_DAEMON_NAME);
        if (r >= 0)
                r = bus_add_objects(m, c->bus);
        if (r >= 0)
                r = sd_bus_match_signal(c->bus, NULL, NULL, "/org/freedesktop/DBus/Local",
                                        "org.freedesktop.DBus.Local", "Disconnected",
                                        on_disconnected, c);
        if (r >= 0)
                r = sd_bus_start(c->bus);
        if (r >= 0) {
                /* sd_bus_start() asks for an 8 MiB receive buffer: queued input is kernel
                 * memory charged to nobody; keep it to LIMIT_SOCKET_RCVBUF. */
                int v = LIMIT_SOCKET_RCVBUF / 2; /* the kernel doubles it */
                (void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
        }
        if (r >= 0)
                r = sd_bus_attach_event(c->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r >= 0)
                r = sd_event_add_post(m->event, &c->auth_source, on_connection_authenticated, c);
        if (r < 0)
                goto fail;
        log_debug("Connection %s from uid %u pid %d.", c->unique_name, (unsigned) c->caller.uid,
                  c->caller.pid);
        return 0;
fail:
        log_warning_errno(r, "Failed to set up connection from uid %u: %m",
                          (unsigned) c->caller.uid);
        connection_free(c);
        return r;
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        BusServer *m = userdata;

        /* Accept everything pending: a burst of clients must not wait one loop turn each. */
        for (unsigned i = 0; i < 64; i++) {
                int nfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (nfd < 0) {
                        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                                log_warning_errno(errno, "accept() failed: %m");
                        break;
                }
                (void) bus_server_add_connection(m, nfd);
        }
        return 0;
}

static int mkdir_parents(const char *path) {
        _cleanup_free_ char *copy = strdup(path);
        char *d;

        if (!copy)
                return -ENOMEM;
        d = dirname(copy);
        if (streq(d, "/") || streq(d, "."))
                return 0;
        if (mkdir(d, 0755) < 0 && errno != EEXIST) {
                if (errno != ENOENT)
                        return negative_errno();
                int r = mkdir_parents(d);
                if (r < 0)
                        return r;
                if (mkdir(d, 0755) < 0 && errno != EEXIST)
                        return negative_errno();
        }
        return 0;
}

static int bus_server_listen(BusServer *m) {
        _cleanup_close_ int fd = -EBADF;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int n, r;

        n = sd_listen_fds(true);
        if (n < 0)
                return log_error_errno(n, "Failed to read socket activation fds: %m");
        if (n > 1)
                return log_error_errno(EINVAL,
                                       "Got %d sockets from socket activation; expected "
                                       "one.",
                                       n);
        if (n == 1) {
                if (sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0) <= 0)
                        return log_error_errno(EINVAL, "The activation socket is not a listening "
                                                       "unix stream socket.");
                fd = SD_LISTEN_FDS_START;
                (void) fcntl(fd, F_SETFD, FD_CLOEXEC);
                (void) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
                log_info("Using the socket-activated socket.");
        } else {
                if (strlen(m->manager->socket_path) >= sizeof(sa.sun_path))
                        return log_error_errno(ENAMETOOLONG, "Socket path '%s' is too long.",
                                               m->manager->socket_path);
                strcpy(sa.sun_path, m->manager->socket_path);
                r = mkdir_parents(m->manager->socket_path);
                if (r < 0)
                        return log_error_errno(r, "Failed to create the directory of '%s': %m",
                                               m->manager->socket_path);
                fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                if (fd < 0)
                        return log_error_errno(errno, "Failed to create socket: %m");
                (void) unlink(m->manager->socket_path);
                if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                        return log_error_errno(errno, "Failed to bind '%s': %m",
                                               m->manager->socket_path);
                /* Anyone may connect: authorization is by peer credentials, per call. */
                if (chmod(m->manager->socket_path, 0666) < 0)
                        return log_error_errno(errno, "Failed to chmod '%s': %m",
                                               m->manager->socket_path);
                if (listen(fd, SOMAXCONN) < 0)
                        return log_error_errno(errno, "Failed to listen on '%s': %m",
                                               m->manager->socket_path);
                m->listen_fd_ours = true;
        }
        r = sd_event_add_io(m->event, &m->listen_source, fd, EPOLLIN, on_accept, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the socket: %m");
        m->listen_fd = TAKE_FD(fd);
        return 0;
}

static void bus_server_done(BusServer *m) {
        /* Without flushing: a peer that does not read must not hold up the daemon's exit. What
         * the kernel took is delivered; sd-bus's own queue holds only what it did not take. */
        for (Connection *c = m->connections; c; c = c->next)
                c->dropped = true;
        for (size_t i = 0; i < m->n_pending; i++)
                sd_bus_message_unref(m->pending[i].message);
        free(m->pending);
        m->pending = NULL;
        m->n_pending = 0;
        while (m->connections)
                connection_free(m->connections);
        m->listen_source = sd_event_source_disable_unref(m->listen_source);
        if (m->listen_fd >= 0 && m->listen_fd_ours)
                (void) unlink(m->manager->socket_path);
        m->listen_fd = safe_close(m->listen_fd);
        if (m->system_bus) {
                (void) sd_bus_detach_event(m->system_bus);
                m->system_bus = sd_bus_flush_close_unref(m->system_bus);
        }
}

static int bus_system_connect(BusServer *m) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0)
                return log_error_errno(r, "SystemBus=yes, but connecting to the system bus failed: "
                                          "%m");
        r = bus_add_objects(m, bus);
        if (r < 0)
                return log_error_errno(r, "Failed to add objects on the system bus: %m");
        r = sd_bus_request_name(bus, MANAGER_BUS_NAME, 0);
        if (r < 0)
                return log_error_errno(r,
                                       "Failed to own %s on the system bus (is the bus policy "
                                       "installed?): %m",
                                       MANAGER_BUS_NAME);
        r = sd_bus_attach_event(bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the system bus: %m");
        m->system_bus = TAKE_PTR(bus);
        log_info("Serving %s on the system bus too.", MANAGER_BUS_NAME);
        return 0;
}

int bus_message_get_caller(BusServer *m, sd_bus_message *msg, Caller *ret, sd_bus_error *error) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        sd_bus *bus = sd_bus_message_get_bus(msg);
        Connection *c = bus_server_find_connection(m, bus);
        const gid_t *groups = NULL;
        uid_t uid;
        gid_t gid = (gid_t) -1;
        pid_t pid = 0;
        int n, r;

        if (c) {
                r = caller_copy(&c->caller, ret);
                if (r < 0)
                        return bus_error_setf_errno(error, r, "Out of memory.");
                return 0;
        }
        r = sd_bus_query_sender_creds(msg,
                                      SD_BUS_CREDS_PID | SD_BUS_CREDS_EUID | SD_BUS_CREDS_EGID |
                                              SD_BUS_CREDS_SUPPLEMENTARY_GIDS |
                                              SD_BUS_CREDS_AUGMENT,
                                      &creds);
        if (r < 0)
                return bus_error_setf_errno(error, r, "Cannot identify the caller: %s",
                                            strerror(-r));
        r = sd_bus_creds_get_euid(creds, &uid);
        if (r < 0)
                return bus_error_setf(error, BUS_ERROR_ACCESS_DENIED,
                                      "Cannot identify the caller's uid.");
        (void) sd_bus_creds_get_egid(creds, &gid);
        (void) sd_bus_creds_get_pid(creds, &pid);
        n = sd_bus_creds_get_supplementary_gids(creds, &groups);
        r = caller_from_values(uid, gid, pid, groups, n > 0 ? (size_t) n : 0, ret);
        if (r < 0)
                return bus_error_setf_errno(error, r, "Out of memory.");
        /* Peer connections are rate-limited in their filter; system bus callers here. */
        r = bus_check_rate(m, ret, error);
        if (r < 0) {
                caller_done(ret);
                return r;
        }
        return 0;
}

/* Whether c gets a signal about the workload that started_by started (0: a Manager signal
 * about nobody's workload). A peer gets signals once it asked for them (AddMatch, as on a bus,
 * or BecomeMonitor), and without asking those about the workloads it started: `memlockctl run`
 * hears of its own workload, and eight of them running side by side do not wake each other
 * (every peer got every signal before, which cost each Run a wake-up of every other client). */
static bool connection_hears(const Connection *c, uint64_t started_by) {
        if (c->over_limit || c->free_source || !c->active)
                return false;
        return c->n_matches > 0 || c->monitor || (started_by != 0 && c->id == started_by);
}

void bus_emit_signal(BusServer *m, uint64_t started_by, const char *path, const char *interface,
                     const char *member, const char *types, ...) {
        va_list ap;

        for (Connection *c = m->connections; c; c = c->next) {
                if (!connection_hears(c, started_by))
                        continue;
                va_start(ap, types);
                (void) sd_bus_emit_signalv(c->bus, path, interface, member, types, ap);
                va_end(ap);
                connection_check_output(c);
        }
        if (m->system_bus) {
                va_start(ap, types);
                (void) sd_bus_emit_signalv(m->system_bus, path, interface, member, types, ap);
                va_end(ap);
        }
}

#define FOREACH_BUS(m, started_by, b, body)                                                        \
        do {                                                                                       \
                for (Connection *_c = (m)->connections; _c; _c = _c->next) {                       \
                        sd_bus *b = _c->bus;                                                       \
                        if (!connection_hears(_c, started_by))                                     \
                                continue;                                                          \
                        body;                                                                      \
                        connection_check_output(_c);                                               \
                }                                                                                  \
                if ((m)->system_bus) {                                                             \
                        sd_bus *b = (m)->system_bus;                                               \
                        body;                                                                      \
                }                                                                                  \
        } while (0)

/* ---- the observer: the core's changes become signals, finished jobs replies ------------------ */

static void emit_properties_changed(BusServer *m, uint64_t started_by, const char *path,
                                    const char *interface, char **properties) {
        FOREACH_BUS(m, started_by, b,
                    (void) sd_bus_emit_properties_changed_strv(b, path, interface, properties));
}

/* InterfacesRemoved by hand: by the time of the flush the object may be gone, and sd-bus would
 * then leave out the interfaces only the object's own vtable names. */
static void emit_object_removed(BusServer *m, uint64_t started_by, const char *path) {
        static const char *const interfaces[] = { "org.freedesktop.DBus.Peer",
                                                  "org.freedesktop.DBus.Introspectable",
                                                  "org.freedesktop.DBus.Properties",
                                                  WORKLOAD_INTERFACE, NULL };

        FOREACH_BUS(m, started_by, b, {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *sig = NULL;
                if (sd_bus_message_new_signal(b, &sig, MANAGER_PATH,
                                              "org.freedesktop.DBus.ObjectManager",
                                              "InterfacesRemoved") >= 0 &&
                    sd_bus_message_append(sig, "o", path) >= 0 &&
                    sd_bus_message_append_strv(sig, (char **) interfaces) >= 0)
                        (void) sd_bus_send(b, sig, NULL);
        });
}

static void on_manager_event(void *userdata, const ManagerEvent *e) {
        BusServer *m = userdata;
        char id[24], path[sizeof(WORKLOAD_PATH_PREFIX) + 24];

        if (!m->connections && !m->system_bus)
                return; /* nobody listens */
        (void) snprintf(id, sizeof(id), "%" PRIu64, e->workload_id);
        (void) snprintf(path, sizeof(path), WORKLOAD_PATH_PREFIX "/%" PRIu64, e->workload_id);
        switch (e->type) {
        case MANAGER_EVENT_WORKLOAD_NEW:
                if (workload_table_find_id(&m->manager->workloads, e->workload_id))
                        FOREACH_BUS(m, e->started_by, b, (void) sd_bus_emit_object_added(b, path));
                bus_emit_signal(m, e->started_by, MANAGER_PATH, MANAGER_INTERFACE, "WorkloadNew",
                                "so", id, path);
                break;
        case MANAGER_EVENT_WORKLOAD_LOCKED:
                bus_emit_signal(m, e->started_by, MANAGER_PATH, MANAGER_INTERFACE, "WorkloadLocked",
                                "sott", id, path, e->bytes, e->duration_usec);
                break;
        case MANAGER_EVENT_WORKLOAD_FAILED:
                bus_emit_signal(m, e->started_by, MANAGER_PATH, MANAGER_INTERFACE, "WorkloadFailed",
                                "sos", id, path, strempty(e->error));
                break;
        case MANAGER_EVENT_WORKLOAD_EXITED:
                bus_emit_signal(m, e->started_by, MANAGER_PATH, MANAGER_INTERFACE, "WorkloadExited",
                                "soii", id, path, e->code, e->status);
                break;
        case MANAGER_EVENT_WORKLOAD_REMOVED:
                bus_emit_signal(m, e->started_by, MANAGER_PATH, MANAGER_INTERFACE,
                                "WorkloadRemoved", "so", id, path);
                emit_object_removed(m, e->started_by, path);
                break;
        default:
                break;
        }
}

static void on_workload_changed(void *userdata, Workload *w, unsigned changes) {
        BusServer *m = userdata;
        const char *props[6];
        size_t n = 0;

        if (!m->connections && !m->system_bus)
                return;
        if (changes & WORKLOAD_CHANGE_STATE)
                props[n++] = "State";
        if (changes & WORKLOAD_CHANGE_ERROR)
                props[n++] = "Error";
        if (changes & WORKLOAD_CHANGE_EXIT_STATUS)
                props[n++] = "ExitStatus";
        if (changes & WORKLOAD_CHANGE_LOCK_DURATION)
                props[n++] = "LockDurationUSec";
        if (changes & WORKLOAD_CHANGE_LIMIT)
                props[n++] = "LimitBytes";
        props[n] = NULL;
        if (n > 0)
                emit_properties_changed(m, w->started_by, w->path, WORKLOAD_INTERFACE,
                                        (char **) props);
}

static void on_manager_changed(void *userdata, unsigned changes) {
        BusServer *m = userdata;
        const char *props[5];
        size_t n = 0;

        if (!m->connections && !m->system_bus)
                return;
        if (changes & MANAGER_CHANGE_WORKLOADS)
                props[n++] = "Workloads";
        if (changes & MANAGER_CHANGE_RESERVED)
                props[n++] = "ReservedBytes";
        if (changes & MANAGER_CHANGE_BUDGET)
                props[n++] = "BudgetBytes";
        if (changes & MANAGER_CHANGE_POLICIES)
                props[n++] = "Policies";
        props[n] = NULL;
        if (n > 0)
                emit_properties_changed(m, 0, MANAGER_PATH, MANAGER_INTERFACE, (char **) props);
}

int bus_server_pending_add(BusServer *m, uint64_t job_id, sd_bus_message *msg) {
        PendingReply *l;

        l = reallocarray(m->pending, m->n_pending + 1, sizeof(PendingReply));
        if (!l)
                return -ENOMEM;
        m->pending = l;
        m->pending[m->n_pending++] = (PendingReply){
                .job_id = job_id,
                .message = sd_bus_message_ref(msg),
        };
        return 0;
}

static void on_job_finished(void *userdata, const JobResult *r) {
        BusServer *m = userdata;

        for (size_t i = 0; i < m->n_pending; i++) {
                if (m->pending[i].job_id != r->job_id)
                        continue;
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = m->pending[i].message;
                m->pending[i] = m->pending[--m->n_pending];
                /* The caller may have gone meanwhile: sending then fails, harmlessly. */
                bus_manager_reply_job(msg, r);
                return;
        }
}

static const ManagerObserver bus_observer = {
        .event = on_manager_event,
        .workload_changed = on_workload_changed,
        .manager_changed = on_manager_changed,
        .job_finished = on_job_finished,
};

int bus_server_new(Manager *manager, BusServer **ret) {
        BusServer *m;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->manager = manager;
        m->event = sd_event_ref(manager->event);
        m->listen_fd = -EBADF;
        m->next_connection_id = 1;
        manager_set_observer(manager, &bus_observer, m);
        *ret = m;
        return 0;
}

BusServer *bus_server_free(BusServer *m) {
        if (!m)
                return NULL;
        if (m->manager && m->manager->observer == &bus_observer)
                manager_set_observer(m->manager, NULL, NULL);
        bus_server_done(m);
        free(m->rate_buckets);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}

int bus_server_start(BusServer *m) {
        int r;

        r = bus_server_listen(m);
        if (r < 0)
                return r;
        if (m->manager->config.system_bus) {
                r = bus_system_connect(m);
                if (r < 0)
                        return r;
        }
        return 0;
}
