/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Who is calling: the peer's credentials from the kernel (SO_PEERCRED, SO_PEERPIDFD,
 * SO_PEERGROUPS), never from anything the peer says. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/proc.h"

typedef struct Caller {
        uid_t uid;
        gid_t gid;
        pid_t pid;
        int pidfd; /* -EBADF when unknown */
        gid_t *groups;
        size_t n_groups;
} Caller;

#define CALLER_NULL ((Caller){ .uid = (uid_t) -1, .gid = (gid_t) -1, .pidfd = -EBADF })

/* Credentials of the peer of a connected unix socket. The pidfd comes from SO_PEERPIDFD (the
 * process that connected, race-free) or, on older kernels, pidfd_open() of the SO_PEERCRED
 * pid. Groups come from SO_PEERGROUPS, or /proc/PID/status as a fallback. */
int caller_from_socket(int fd, Caller *ret);
/* Fills c from already known values (the system bus gives them through sd_bus_creds). */
int caller_from_values(uid_t uid, gid_t gid, pid_t pid, const gid_t *groups, size_t n_groups,
                       Caller *ret);
/* The daemon itself acting for an internal event (e.g. libvirt lifecycle): root. */
int caller_root(Caller *ret);
int caller_copy(const Caller *c, Caller *ret);
void caller_done(Caller *c);
bool caller_is_root(const Caller *c);

/* The calling process, reached by its pidfd (never by the pid number alone): /proc/PID is read
 * only if the pidfd still names that pid afterwards (-ESRCH otherwise: it exited and the pid
 * may have been reused). A caller without a pidfd (the daemon itself) gives -ESRCH. */
int caller_read_status(const Caller *c, ProcStatus *ret);
/* Opens, O_PATH, the caller's root directory ("root") or working directory ("cwd"). */
int caller_open_dir(const Caller *c, const char *which, int *ret_fd);
bool caller_in_group(const Caller *c, gid_t gid);

/* Parses the "Groups:" line of /proc/PID/status text. Returns 0 (an empty list is fine),
 * -EINVAL if malformed, -ENOENT if there is no Groups line. */
int caller_groups_parse(const char *buf, size_t n, gid_t **ret, size_t *ret_n);
