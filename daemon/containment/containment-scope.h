/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The systemd scope backend of containment: a workload's first process is put into a transient
 * scope "mlock-<id>.scope" with MemoryMax= by org.freedesktop.systemd1.Manager.
 * StartTransientUnit, on systemd's private socket (root's direct connection, which needs no
 * system bus). The only containment file that speaks D-Bus. */

#include <sys/types.h>

#include "daemon/containment/containment.h"

typedef struct sd_bus sd_bus;
typedef struct sd_event sd_event;

/* Connects to systemd at private_socket (NULL: /run/systemd/private), or uses bus (tests: a
 * peer on a socketpair; a reference is taken). -errno and a sentence in *ret_error. */
int containment_scope_new(const char *private_socket, sd_bus *bus, ContainmentScope **ret,
                          char **ret_error);
ContainmentScope *containment_scope_free(ContainmentScope *s);

/* Asks systemd to start cg->unit as a scope holding pid, bounded by MemoryMax=cg->bound, and
 * waits (at most CONTAINMENT_SCOPE_TIMEOUT_USEC) for its job to finish. Then finds the scope's
 * cgroup directory below hierarchy from /proc/PID/cgroup (cg->dir). -errno and *ret_error.
 * Blocking: for Attach and Exec, which move a running process, and for tests; Run uses the
 * asynchronous form. */
int containment_scope_start(ContainmentScope *s, const char *hierarchy, bool v1,
                            ContainmentCgroup *cg, pid_t pid, char **ret_error);

/* The same in the daemon's loop (containment_scope_attach_event() first): returns at once;
 * done(0 or -errno, a sentence or NULL, userdata) follows exactly once from the loop (reply,
 * JobRemoved, or the CONTAINMENT_SCOPE_TIMEOUT_USEC deadline), unless the start is cancelled
 * first. cg must live until then. */
int containment_scope_attach_event(ContainmentScope *s, sd_event *event);
int containment_scope_start_async(ContainmentScope *s, const char *hierarchy, bool v1,
                                  ContainmentCgroup *cg, pid_t pid, ContainmentScopeDone done,
                                  void *userdata, ContainmentScopeStart **ret);
/* containment_scope_start_cancel() is declared in containment.h, for the core. */

/* How long a scope may take to start: systemd answers in milliseconds unless it is busy. */
#define CONTAINMENT_SCOPE_TIMEOUT_USEC (5ULL * 1000000ULL)
