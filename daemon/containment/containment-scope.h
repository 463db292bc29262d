/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The systemd scope backend of containment: a workload's first process is put into a transient
 * scope "mlock-<id>.scope" with MemoryMax= by org.freedesktop.systemd1.Manager.
 * StartTransientUnit, on systemd's private socket (root's direct connection, which needs no
 * system bus). The only containment file that speaks D-Bus. */

#include <sys/types.h>

#include "daemon/containment/containment.h"

typedef struct sd_bus sd_bus;

/* Connects to systemd at private_socket (NULL: /run/systemd/private), or uses bus (tests: a
 * peer on a socketpair; a reference is taken). -errno and a sentence in *ret_error. */
int containment_scope_new(const char *private_socket, sd_bus *bus, ContainmentScope **ret,
                          char **ret_error);
ContainmentScope *containment_scope_free(ContainmentScope *s);

/* Asks systemd to start cg->unit as a scope holding pid, bounded by MemoryMax=cg->bound, and
 * waits (at most CONTAINMENT_SCOPE_TIMEOUT_USEC) for its job to finish. Then finds the scope's
 * cgroup directory below hierarchy from /proc/PID/cgroup (cg->dir). -errno and *ret_error. */
int containment_scope_start(ContainmentScope *s, const char *hierarchy, bool v1,
                            ContainmentCgroup *cg, pid_t pid, char **ret_error);

/* How long a scope may take to start: systemd answers in milliseconds unless it is busy. */
#define CONTAINMENT_SCOPE_TIMEOUT_USEC (5ULL * 1000000ULL)
