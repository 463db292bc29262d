/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* What the daemon may do: queries of its own capabilities (libcap-ng). Dropping them is
 * daemon/main's business; these only look, and keep libcap-ng's state as they found it. */

#include <stdbool.h>

typedef struct Privileges {
        bool sys_resource; /* CAP_SYS_RESOURCE: raise another process's hard RLIMIT_MEMLOCK */
        bool ipc_lock; /* CAP_IPC_LOCK: lock without limit; can be handed on as ambient */
        bool sys_ptrace; /* CAP_SYS_PTRACE: inject into processes of other users */
} Privileges;

/* Whether the calling process has capability cap (CAP_*) in its effective set now:
 * 1, 0, or -errno. */
int privileges_have(unsigned cap);

/* All three at once (effective set). Returns 0 or -errno. */
int privileges_query(Privileges *ret);

/* "CAP_SYS_RESOURCE CAP_IPC_LOCK" style list of what is held, "none" if nothing: for logs.
 * Returns a static string. */
const char *privileges_to_string(const Privileges *p);
