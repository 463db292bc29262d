/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* On a bus the driver answers at org.freedesktop.DBus; on mlockd's peer-to-peer socket there is
 * no bus, so the daemon answers for it. Names: the daemon is ":1.0" and owns org.mlockd1 (and
 * org.freedesktop.DBus is itself); each client connection is the ":1.<n>" its Hello returned.
 * Match rules count, their text does not: a client with one gets every signal (they carry no
 * secrets; see docs/SECURITY.md), one without only those about the workloads it started. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-id128.h>

#include "common/log.h"
#include "common/macro.h"
#include "daemon/bus/bus-driver.h"
#include "daemon/bus/bus-error.h"

#define DBUS_NAME "org.freedesktop.DBus"
#define DBUS_PATH "/org/freedesktop/DBus"
#define ERROR_NAME_HAS_NO_OWNER "org.freedesktop.DBus.Error.NameHasNoOwner"

/* The unique name that owns name, or NULL. */
static const char *name_owner(BusServer *m, const char *name) {
        if (streq(name, DBUS_NAME))
                return DBUS_NAME;
        if (streq(name, MANAGER_BUS_NAME) || streq(name, BUS_DRIVER_DAEMON_NAME))
                return BUS_DRIVER_DAEMON_NAME;
        for (Connection *c = m->connections; c; c = c->next)
                if (!c->free_source && streq(c->unique_name, name))
                        return c->unique_name;
        return NULL;
}

static int method_hello(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusServer *m = userdata;
        Connection *c = bus_server_find_connection(m, sd_bus_message_get_bus(msg));

        if (!c)
                return sd_bus_error_set(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                        "Hello is for peer connections.");
        return sd_bus_reply_method_return(msg, "s", c->unique_name);
}

/* AddMatch/RemoveMatch: a peer with a match rule gets every signal (the rules themselves are not
 * evaluated; signals carry no secrets, see docs/SECURITY.md); one without gets only those about
 * the workloads it started. A bus client (gdbus, python3-dbus) adds its rules this way. */
static int method_add_match(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Connection *c = bus_server_find_connection(userdata, sd_bus_message_get_bus(msg));

        if (c && c->n_matches < UINT_MAX)
                c->n_matches++;
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_remove_match(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Connection *c = bus_server_find_connection(userdata, sd_bus_message_get_bus(msg));

        if (c && c->n_matches > 0)
                c->n_matches--;
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_get_id(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        sd_id128_t id;
        char s[SD_ID128_STRING_MAX];
        int r;

        r = sd_id128_get_boot(&id);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(msg, "s", sd_id128_to_string(id, s));
}

static int method_get_name_owner(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusServer *m = userdata;
        const char *name, *owner;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        owner = name_owner(m, name);
        if (!owner)
                return sd_bus_error_setf(error, ERROR_NAME_HAS_NO_OWNER,
                                         "Could not get owner of name '%.255s': no such name",
                                         name);
        return sd_bus_reply_method_return(msg, "s", owner);
}

static int method_name_has_owner(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusServer *m = userdata;
        const char *name;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(msg, "b", name_owner(m, name) != NULL);
}

static int method_list_names(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        BusServer *m = userdata;
        bool activatable = streq(sd_bus_message_get_member(msg), "ListActivatableNames");
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "s");
        if (r >= 0)
                r = sd_bus_message_append(reply, "sss", DBUS_NAME, MANAGER_BUS_NAME,
                                          BUS_DRIVER_DAEMON_NAME);
        for (Connection *c = m->connections; r >= 0 && !activatable && c; c = c->next)
                if (!c->free_source)
                        r = sd_bus_message_append(reply, "s", c->unique_name);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_become_monitor(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *lost = NULL;
        BusServer *m = userdata;
        Connection *c = bus_server_find_connection(m, sd_bus_message_get_bus(msg));
        int r;

        /* A monitor sees every caller's method calls (Run's argv and environment): root only,
         * as dbus-daemon allows it only to root and the bus's own uid. */
        if (!c)
                return sd_bus_error_set(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                        "BecomeMonitor is for peer connections.");
        if (!caller_is_root(&c->caller))
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Only root may monitor mlockd (you are uid %u).",
                                         (unsigned) c->caller.uid);
        /* The match rules (as) and flags (u) are read and ignored: a monitor gets everything. */
        r = sd_bus_message_skip(msg, "asu");
        if (r < 0)
                return r;
        c->monitor = true;
        r = sd_bus_reply_method_return(msg, NULL);
        if (r < 0)
                return r;
        /* A bus takes a monitor's unique name away, and busctl waits for that NameLost before
         * it shows anything. */
        r = sd_bus_message_new_signal(c->bus, &lost, DBUS_PATH, DBUS_NAME, "NameLost");
        if (r >= 0)
                r = sd_bus_message_set_sender(lost, DBUS_NAME);
        if (r >= 0)
                r = sd_bus_message_set_destination(lost, c->unique_name);
        if (r >= 0)
                r = sd_bus_message_append(lost, "s", c->unique_name);
        if (r >= 0)
                r = sd_bus_send(c->bus, lost, NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to send NameLost to monitor %s: %m", c->unique_name);
        return 1;
}

void bus_driver_forward_to_monitors(BusServer *m, Connection *from, sd_bus_message *msg) {
        const char *sig = sd_bus_message_get_signature(msg, true);

        if (!sd_bus_message_is_method_call(msg, NULL, NULL) || (sig && strchr(sig, 'h')))
                return;
        for (Connection *c = m->connections; c; c = c->next) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *copy = NULL;
                int r;

                if (!c->monitor || c == from || c->free_source)
                        continue;
                r = sd_bus_message_new_method_call(
                        c->bus, &copy, sd_bus_message_get_destination(msg),
                        sd_bus_message_get_path(msg), sd_bus_message_get_interface(msg),
                        sd_bus_message_get_member(msg));
                if (r >= 0)
                        r = sd_bus_message_set_sender(copy, from->unique_name);
                if (r >= 0)
                        r = sd_bus_message_rewind(msg, true);
                if (r >= 0)
                        r = sd_bus_message_copy(copy, msg, true);
                if (r >= 0)
                        r = sd_bus_message_set_expect_reply(copy, false);
                if (r >= 0)
                        r = sd_bus_send(c->bus, copy, NULL);
                /* The handler reads msg from the start. */
                (void) sd_bus_message_rewind(msg, true);
                if (r < 0)
                        log_debug_errno(r, "Failed to copy a call to monitor %s: %m",
                                        c->unique_name);
        }
}

static const sd_bus_vtable bus_driver_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Hello", NULL, "s", method_hello, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("AddMatch", "s", NULL, method_add_match, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("RemoveMatch", "s", NULL, method_remove_match, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("GetId", NULL, "s", method_get_id, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("GetNameOwner", "s", "s", method_get_name_owner, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("NameHasOwner", "s", "b", method_name_has_owner, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("ListNames", NULL, "as", method_list_names, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("ListActivatableNames", NULL, "as", method_list_names,
                      SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

static const sd_bus_vtable bus_monitoring_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("BecomeMonitor", "asu", NULL, method_become_monitor,
                      SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int bus_driver_add(BusServer *m, sd_bus *bus) {
        int r;

        r = sd_bus_add_object_vtable(bus, NULL, DBUS_PATH, DBUS_NAME, bus_driver_vtable, m);
        if (r < 0)
                return r;
        return sd_bus_add_object_vtable(bus, NULL, DBUS_PATH, DBUS_NAME ".Monitoring",
                                        bus_monitoring_vtable, m);
}
