/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The part of org.freedesktop.DBus (the bus driver) that generic clients expect on a peer
 * connection, so that busctl, gdbus and python3-dbus work on mlockd's socket as on a bus:
 * Hello, GetId, GetNameOwner, NameHasOwner, ListNames, AddMatch/RemoveMatch and
 * org.freedesktop.DBus.Monitoring.BecomeMonitor (docs/dbus-api.md). */

#include <systemd/sd-bus.h>

#include "daemon/bus/bus.h"

/* The daemon's unique name: the sender of its replies and signals, and the owner of
 * MANAGER_BUS_NAME. Clients get ":1.<n>" with n >= 1 from Hello. */
#define BUS_DRIVER_DAEMON_NAME ":1.0"

/* Installs the driver objects on a peer connection. */
int bus_driver_add(BusServer *m, sd_bus *bus);
/* Sends a copy of a method call that arrived on from to every monitor connection (root's
 * BecomeMonitor). Calls carrying fds are left out: monitors never receive a caller's fds. */
void bus_driver_forward_to_monitors(BusServer *m, Connection *from, sd_bus_message *msg);
