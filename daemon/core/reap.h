/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Reaping children nobody else waits for (a launch child that was stopped, an injector whose
 * result is not needed), through a pidfd event: never a blocking wait in the loop. */

#include <sys/types.h>

typedef struct Manager Manager;

/* pid must be our child. Reaped when it exits; if the loop cannot watch it, it is reaped now
 * only if it has exited already (else it stays a zombie until the daemon exits). */
void manager_reap_later(Manager *m, pid_t pid);
