/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Reaching processes safely: pidfds and the (pid, start time) identity. */

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

int pidfd_open_checked(pid_t pid); /* O_CLOEXEC pidfd or -errno */
int pidfd_send_signal_checked(int pidfd, int sig); /* 0 or -errno */
/* The pid a pidfd refers to, from /proc/self/fdinfo (Pid: field); -ESRCH if it exited. */
int pidfd_get_pid(int pidfd, pid_t *ret);

/* A process is identified by its pid and its start time (clock ticks since boot, field 22
 * of /proc/PID/stat). A pid alone can be reused by an unrelated process. */
typedef struct ProcessIdentity {
        pid_t pid;
        uint64_t starttime;
} ProcessIdentity;

/* Reads the identity of pid now. */
int process_identity_get(pid_t pid, ProcessIdentity *ret);
/* 1 if the process pid is still the one in id, 0 if the pid was reused, -ESRCH if gone. */
int process_identity_matches(const ProcessIdentity *id);
