/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sys/epoll.h>
#include <sys/wait.h>

#include "common/macro.h"
#include "common/process-util.h"
#include "daemon/core/manager.h"
#include "daemon/core/reap.h"

static int on_reap(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        siginfo_t si = {};

        (void) waitid(P_PIDFD, (id_t) fd, &si, WEXITED | WNOHANG);
        if (si.si_pid == 0)
                return 0;
        /* The loop held the only reference: handing it back frees the source (safe while it
         * is being dispatched), and with it the pidfd. */
        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        (void) sd_event_source_set_floating(s, false);
        return 0;
}

void manager_reap_later(Manager *m, pid_t pid) {
        sd_event_source *s = NULL;
        int fd, r;

        if (pid <= 0)
                return;
        fd = pidfd_open_checked(pid);
        if (fd < 0)
                return;
        r = sd_event_add_io(m->event, &s, fd, EPOLLIN, on_reap, NULL);
        if (r < 0) {
                (void) waitpid(pid, NULL, WNOHANG);
                safe_close(fd);
                return;
        }
        (void) sd_event_source_set_io_fd_own(s, true);
        (void) sd_event_source_set_floating(s, true);
        (void) sd_event_source_set_description(s, "reap");
        sd_event_source_unref(s);
}
