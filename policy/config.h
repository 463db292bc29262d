/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The daemon's settings file, memlockd.conf: [Daemon] and [Libvirt]. */

#include <stdbool.h>
#include <stdint.h>

#include "policy/policy.h"

typedef struct DaemonConfig {
        /* [Daemon] */
        uint64_t budget;                /* bytes, resolved against MemTotal; SIZE_INFINITY */
        char *budget_spec;              /* as written, e.g. "80%" */
        unsigned max_workloads_per_user;/* default 64 */
        char *socket_path;              /* default MEMLOCKD_SOCKET_PATH */
        bool system_bus;                /* default no */
        char *state_directory;          /* default MEMLOCKD_STATE_DIR */
        /* [Libvirt] */
        char *libvirt_uri;              /* NULL: event mode off */
} DaemonConfig;

/* Fills defaults. mem_total resolves percentages. */
void daemon_config_init(DaemonConfig *c, uint64_t mem_total);
void daemon_config_done(DaemonConfig *c);
/* Parses path into c (on top of defaults). A missing file is not an error when
 * missing_ok. Returns -EINVAL with every problem in diags. */
int daemon_config_load(const char *path, bool missing_ok, uint64_t mem_total, DaemonConfig *c,
                       PolicyDiagnostics *diags);
