/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/parse-util.h"
#include "common/proc.h"
#include "common/process-util.h"

int pidfd_open_checked(pid_t pid) {
        if (pid <= 0)
                return -EINVAL;
        int fd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (fd < 0)
                return negative_errno();
        return fd;
}

int pidfd_send_signal_checked(int pidfd, int sig) {
        if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
                return negative_errno();
        return 0;
}

int pidfd_get_pid(int pidfd, pid_t *ret) {
        char path[64];
        _cleanup_free_ char *buf = NULL;
        int r;

        snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
        r = read_file_at(AT_FDCWD, path, 64 * 1024, &buf, NULL);
        if (r < 0)
                return r;
        const char *p = strstr(buf, "\nPid:");
        if (!p)
                return -ENOTTY; /* not a pidfd */
        p += 5;
        while (*p == ' ' || *p == '\t')
                p++;
        if (*p == '-')
                return -ESRCH; /* "Pid: -1": the process has exited */
        char tok[16];
        size_t n = strcspn(p, "\n");
        if (n == 0 || n >= sizeof(tok))
                return -EINVAL;
        memcpy(tok, p, n);
        tok[n] = '\0';
        uint32_t v;
        r = parse_uint32(tok, &v);
        if (r < 0)
                return r;
        if (v == 0)
                return -ESRCH; /* in another pid namespace, or gone */
        *ret = (pid_t) v;
        return 0;
}

int process_identity_get(pid_t pid, ProcessIdentity *ret) {
        _cleanup_close_ int dfd = -EBADF;
        ProcStat st;
        int r;

        dfd = proc_open(pid);
        if (dfd < 0)
                return dfd;
        r = proc_stat_read(dfd, &st);
        if (r < 0)
                return r;
        *ret = (ProcessIdentity){ .pid = pid, .starttime = st.starttime };
        return 0;
}

int process_identity_matches(const ProcessIdentity *id) {
        ProcessIdentity now;
        int r;

        r = process_identity_get(id->pid, &now);
        if (r < 0)
                return r;
        return now.starttime == id->starttime;
}
