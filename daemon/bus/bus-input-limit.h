/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Bounds on what clients can make the daemon buffer: every byte sd-bus reads from a registered
 * connection passes through a framing parser (daemon/bus-frame.h), and a connection whose next
 * message announces more than LIMIT_MESSAGE_BYTES, or more than its uid's LIMIT_INPUT_PER_UID
 * allows, is failed with ECONNRESET before sd-bus allocates the message. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Watches fd, a connection of uid (charged to the uid's input bound unless charge_uid is
 * false, e.g. for root). description names the connection in the log (":1.5"). Call it before
 * sd-bus reads anything from fd. */
int bus_input_limit_register(int fd, uid_t uid, bool charge_uid, const char *description);
/* Forgets fd; call it before the fd is closed. Safe for fds never registered. */
void bus_input_limit_unregister(int fd);
/* Bytes the uid's connections have announced in messages not yet fully read. */
uint64_t bus_input_limit_uid_pending(uid_t uid);
/* The same for every charged uid together (bounded by LIMIT_INPUT_TOTAL). */
uint64_t bus_input_limit_total_pending(void);
