/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The bus layer: the only code that speaks D-Bus. It owns the socket, the connections, the
 * per-uid limits, the objects, the replies that wait for a job (kept by job id, not by pointer)
 * and the signals; it reaches the core only through manager_*() and hears from it only through
 * the ManagerObserver it registers. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "daemon/core/caller.h"
#include "daemon/core/manager.h"

#define MANAGER_PATH "/org/mlockd1"
#define MANAGER_INTERFACE "org.mlockd1.Manager"
#define WORKLOAD_INTERFACE "org.mlockd1.Workload"
#define MANAGER_BUS_NAME "org.mlockd1"

typedef struct BusServer BusServer;
typedef struct Connection Connection;

/* One accepted peer-to-peer connection on the socket. */
struct Connection {
        BusServer *server;
        Connection *prev, *next;
        sd_bus *bus;
        int input_fd; /* registered with bus-input-limit.c while sd-bus has it open */
        Caller caller; /* from the socket, fixed for the connection's life */
        uint64_t id; /* also the owner id of the foreground workloads it starts */
        char unique_name[32]; /* ":1.<id>", answered to Hello */
        bool over_limit; /* beyond LIMIT_CONNECTIONS_PER_UID: every call gets an error */
        bool active; /* has sent a message: signals may go to it (see bus-server.c) */
        bool monitor; /* root's BecomeMonitor: gets a copy of every call (bus-driver.c) */
        unsigned n_matches; /* AddMatch calls not undone by RemoveMatch: it gets every signal */
        bool dropped; /* closed by us for not reading: freed without flushing */
        sd_event_source *free_source; /* deferred free after Disconnected */
        sd_event_source *auth_source; /* until authenticated: see on_connection_authenticated */
};

/* Per-uid call-rate token bucket (daemon/bus/bus-limits.h). */
typedef struct RateBucket {
        uid_t uid;
        double tokens;
        uint64_t last_usec;
} RateBucket;

/* A method call answered when its job finishes. */
typedef struct PendingReply {
        uint64_t job_id;
        sd_bus_message *message;
} PendingReply;

struct BusServer {
        Manager *manager;
        sd_event *event;

        int listen_fd;
        bool listen_fd_ours; /* created by us (unlink on exit), not socket-activated */
        char *socket_path;
        sd_event_source *listen_source;
        Connection *connections;
        size_t n_connections;
        uint64_t next_connection_id;
        sd_bus *system_bus;
        RateBucket *rate_buckets;
        size_t n_rate_buckets;

        PendingReply *pending;
        size_t n_pending;
};

/* bus-server.c */
/* Registers as the manager's observer. */
int bus_server_new(Manager *m, BusServer **ret);
BusServer *bus_server_free(BusServer *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(BusServer *, bus_server_free);
/* Listens on m->socket_path (or the socket-activated one), connects to the system bus when
 * SystemBus=yes. */
int bus_server_start(BusServer *s);
/* Serves one accepted (or socketpair) connection fd, taken over also on failure. */
int bus_server_add_connection(BusServer *s, int fd);
/* Finds the peer connection of a bus; NULL for the system bus. */
Connection *bus_server_find_connection(BusServer *s, sd_bus *bus);
/* The caller of a message on any of our buses (peer: from the socket; system bus: creds). */
int bus_message_get_caller(BusServer *s, sd_bus_message *msg, Caller *ret, sd_bus_error *error);
/* Per-uid call-rate limit: 0, or -EUSERS with an error. */
int bus_check_rate(BusServer *s, const Caller *c, sd_bus_error *error);
/* Keeps msg to be answered when job_id finishes. */
int bus_server_pending_add(BusServer *s, uint64_t job_id, sd_bus_message *msg);
/* Sends a signal on the system bus and to the peers that hear it: those that asked (AddMatch,
 * BecomeMonitor) and the one whose connection id is started_by (0: none). */
void bus_emit_signal(BusServer *s, uint64_t started_by, const char *path, const char *interface,
                     const char *member, const char *types, ...);
/* Installs the Hello, Manager, Workload and ObjectManager objects on a bus. */
int bus_add_objects(BusServer *s, sd_bus *bus);

/* bus-manager.c / bus-workload.c */
extern const sd_bus_vtable bus_manager_vtable[];
extern const sd_bus_vtable bus_workload_vtable[];
int bus_workload_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                      void **ret_found, sd_bus_error *error);
int bus_workload_enumerate(sd_bus *bus, const char *path, void *userdata, char ***ret_nodes,
                           sd_bus_error *error);
/* The reply of a finished Run/Exec/Detach job. */
void bus_manager_reply_job(sd_bus_message *msg, const JobResult *r);
