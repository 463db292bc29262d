/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The daemon's settings file, mlockd.conf: [Daemon] and [Libvirt]. */

#include <stdbool.h>
#include <stdint.h>

#include "policy/policy.h"

/* Bound on mlockd.conf's size; a bigger file is refused. */
#define DAEMON_CONFIG_FILE_SIZE_MAX (64U * 1024U)
/* Defaults of the keys (documented in mlockd.policy(5) and conf/mlockd.conf). */
#define DAEMON_CONFIG_BUDGET_DEFAULT "80%"
#define DAEMON_CONFIG_MAX_WORKLOADS_PER_USER_DEFAULT 64U
#define DAEMON_CONFIG_MAX_WORKLOADS_PER_USER_MAX 65536U
/* One user's share of the budget: half of it, so that one user can never lock everyone else
 * out, and two can use it all. A percentage here is of Budget=, not of memory. */
#define DAEMON_CONFIG_MAX_LOCKED_PER_USER_DEFAULT "50%"

typedef struct DaemonConfig {
        /* [Daemon] */
        uint64_t budget; /* bytes, resolved against MemTotal; SIZE_INFINITY */
        char *budget_spec; /* as written, e.g. "80%" */
        unsigned max_workloads_per_user; /* default 64 */
        /* bytes one non-root user's workloads may reserve together, resolved against budget
         * (SIZE_INFINITY: no share); as written in max_locked_per_user_spec ("50%") */
        uint64_t max_locked_per_user;
        char *max_locked_per_user_spec;
        char *socket_path; /* default MLOCKD_SOCKET_PATH */
        bool system_bus; /* default no */
        char *state_directory; /* default MLOCKD_STATE_DIR */
        /* [Libvirt] */
        char *libvirt_uri; /* NULL: event mode off */
} DaemonConfig;

/* Fills defaults. mem_total resolves percentages (0: read /proc/meminfo; if that fails too, the
 * default budget is infinity). Returns 0 or -ENOMEM (then c is safe to pass to _done). */
int daemon_config_init(DaemonConfig *c, uint64_t mem_total);
void daemon_config_done(DaemonConfig *c);
/* Parses path into c (on top of defaults). A missing file is not an error when
 * missing_ok. The file must be owned by root and not writable by group or others.
 * mem_total as for daemon_config_init. Returns -EINVAL with every problem in diags (c is then
 * left as it was). */
int daemon_config_load(const char *path, bool missing_ok, uint64_t mem_total, DaemonConfig *c,
                       PolicyDiagnostics *diags);
/* The same from memory (the fuzzer's entry point; no permission checks); path names the file
 * in messages. */
int daemon_config_parse(const char *path, const char *buf, size_t n, uint64_t mem_total,
                        DaemonConfig *c, PolicyDiagnostics *diags);
/* "budget 19.2G (80%), 64 workloads per user, socket /run/mlockd/io.socket, ...". malloc'd. */
char *daemon_config_summary(const DaemonConfig *c);
