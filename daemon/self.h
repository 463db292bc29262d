/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* What the daemon does to itself: refuse to run unprivileged, lock its own memory, and drop
 * every capability it does not need. */

#include <stdbool.h>

/* -EPERM with a clear message if not root. */
int self_check_privileged(void);
/* mlockall(MCL_CURRENT|MCL_ONFAULT) after reserving heap and stack: the daemon that keeps
 * others in RAM must not be swapped out itself (a page fault in the watchdog path would stall
 * everyone), but buffers that clients fill are never locked (no MCL_FUTURE, see self.c). */
int self_lock_memory(void);
/* Keeps exactly the capabilities listed (with reasons) in self.c, drops the rest from the
 * effective, permitted and inheritable sets. */
int self_drop_capabilities(void);
