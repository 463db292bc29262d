/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/macro.h"
#include "common/parse-util.h"
#include "common/proc.h"
#include "common/process-util.h"
#include "daemon/core/caller.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

#define GROUPS_MAX 65536

int caller_groups_parse(const char *buf, size_t n, gid_t **ret, size_t *ret_n) {
        _cleanup_free_ gid_t *groups = NULL;
        size_t n_groups = 0, allocated = 0;
        const char *p = NULL, *end = buf + n;

        for (const char *line = buf; line < end;) {
                const char *eol = memchr(line, '\n', end - line);
                if (!eol)
                        eol = end;
                if ((size_t) (eol - line) >= 7 && memcmp(line, "Groups:", 7) == 0) {
                        p = line + 7;
                        end = eol;
                        break;
                }
                line = eol + 1;
        }
        if (!p)
                return -ENOENT;

        while (p < end) {
                char tok[16];
                size_t l;
                uint32_t v;

                while (p < end && (*p == ' ' || *p == '\t'))
                        p++;
                if (p >= end)
                        break;
                l = 0;
                while (p + l < end && p[l] != ' ' && p[l] != '\t')
                        l++;
                if (l >= sizeof(tok))
                        return -EINVAL;
                memcpy(tok, p, l);
                tok[l] = '\0';
                if (parse_uint32(tok, &v) < 0 || v == (uint32_t) -1)
                        return -EINVAL;
                if (n_groups >= GROUPS_MAX)
                        return -E2BIG;
                if (n_groups == allocated) {
                        size_t a = allocated ? allocated * 2 : 8;
                        gid_t *g = reallocarray(groups, a, sizeof(gid_t));
                        if (!g)
                                return -ENOMEM;
                        groups = g;
                        allocated = a;
                }
                groups[n_groups++] = (gid_t) v;
                p += l;
        }
        *ret = TAKE_PTR(groups);
        *ret_n = n_groups;
        return 0;
}

static int groups_from_socket(int fd, gid_t **ret, size_t *ret_n) {
        socklen_t len = 64 * sizeof(gid_t);

        for (;;) {
                _cleanup_free_ gid_t *g = malloc(len ? len : sizeof(gid_t));
                socklen_t l = len;

                if (!g)
                        return -ENOMEM;
                if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &l) >= 0) {
                        *ret_n = l / sizeof(gid_t);
                        *ret = TAKE_PTR(g);
                        return 0;
                }
                if (errno != ERANGE)
                        return negative_errno();
                if (l <= len || l > GROUPS_MAX * sizeof(gid_t))
                        return -E2BIG;
                len = l;
        }
}

static int groups_from_proc(pid_t pid, gid_t **ret, size_t *ret_n) {
        _cleanup_close_ int dfd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t n;
        int r;

        dfd = proc_open(pid);
        if (dfd < 0)
                return dfd;
        r = read_file_at(dfd, "status", 1024 * 1024, &buf, &n);
        if (r < 0)
                return r;
        return caller_groups_parse(buf, n, ret, ret_n);
}

int caller_from_socket(int fd, Caller *ret) {
        _cleanup_(caller_done) Caller c = CALLER_NULL;
        struct ucred uc;
        socklen_t l = sizeof(uc);
        int pidfd = -EBADF, r;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &l) < 0)
                return negative_errno();
        if (l != sizeof(uc) || uc.uid == (uid_t) -1)
                return -EINVAL;
        c.uid = uc.uid;
        c.gid = uc.gid;
        c.pid = uc.pid;

        l = sizeof(pidfd);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &l) >= 0 && pidfd >= 0)
                c.pidfd = pidfd;
        else if (uc.pid > 0)
                c.pidfd = pidfd_open_checked(uc.pid); /* may be -ESRCH: the peer already left */
        if (c.pidfd < 0)
                c.pidfd = -EBADF;

        r = groups_from_socket(fd, &c.groups, &c.n_groups);
        if (r < 0 && uc.pid > 0)
                r = groups_from_proc(uc.pid, &c.groups, &c.n_groups);
        if (r < 0) {
                /* Without groups the caller is judged by its uid and primary gid only: a
                 * denial at worst, never more access. */
                c.groups = NULL;
                c.n_groups = 0;
        }
        *ret = c;
        c = CALLER_NULL;
        return 0;
}

int caller_from_values(uid_t uid, gid_t gid, pid_t pid, const gid_t *groups, size_t n_groups,
                       Caller *ret) {
        Caller c = CALLER_NULL;

        c.uid = uid;
        c.gid = gid;
        c.pid = pid;
        if (n_groups > 0) {
                c.groups = malloc(n_groups * sizeof(gid_t));
                if (!c.groups)
                        return -ENOMEM;
                memcpy(c.groups, groups, n_groups * sizeof(gid_t));
                c.n_groups = n_groups;
        }
        if (pid > 0) {
                c.pidfd = pidfd_open_checked(pid);
                if (c.pidfd < 0)
                        c.pidfd = -EBADF;
        }
        *ret = c;
        return 0;
}

int caller_root(Caller *ret) {
        *ret = (Caller){ .uid = 0, .gid = 0, .pid = 0, .pidfd = -EBADF };
        return 0;
}

int caller_copy(const Caller *c, Caller *ret) {
        Caller n = *c;

        n.groups = NULL;
        n.pidfd = -EBADF;
        if (c->n_groups > 0) {
                n.groups = malloc(c->n_groups * sizeof(gid_t));
                if (!n.groups)
                        return -ENOMEM;
                memcpy(n.groups, c->groups, c->n_groups * sizeof(gid_t));
        }
        if (c->pidfd >= 0) {
                n.pidfd = fcntl(c->pidfd, F_DUPFD_CLOEXEC, 3);
                if (n.pidfd < 0) {
                        free(n.groups);
                        return negative_errno();
                }
        }
        *ret = n;
        return 0;
}

void caller_done(Caller *c) {
        if (!c)
                return;
        free(c->groups);
        c->groups = NULL;
        c->n_groups = 0;
        c->pidfd = safe_close(c->pidfd);
}

bool caller_is_root(const Caller *c) {
        return c->uid == 0;
}

bool caller_in_group(const Caller *c, gid_t gid) {
        if (c->gid == gid)
                return true;
        for (size_t i = 0; i < c->n_groups; i++)
                if (c->groups[i] == gid)
                        return true;
        return false;
}

/* 0 if c's pidfd still names c->pid. */
static int caller_verify(const Caller *c) {
        pid_t now;
        int r;

        if (c->pid <= 0 || c->pidfd < 0)
                return -ESRCH;
        r = pidfd_get_pid(c->pidfd, &now);
        if (r < 0)
                return r;
        return now == c->pid ? 0 : -ESRCH;
}

int caller_read_status(const Caller *c, ProcStatus *ret) {
        _cleanup_close_ int dfd = -EBADF;
        ProcStatus st;
        int r;

        r = caller_verify(c);
        if (r < 0)
                return r;
        dfd = proc_open(c->pid);
        if (dfd < 0)
                return dfd;
        r = proc_status_read(dfd, &st);
        if (r < 0)
                return r;
        r = caller_verify(c);
        if (r < 0)
                return r;
        *ret = st;
        return 0;
}

int caller_open_dir(const Caller *c, const char *which, int *ret_fd) {
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        int r;

        r = caller_verify(c);
        if (r < 0)
                return r;
        dfd = proc_open(c->pid);
        if (dfd < 0)
                return dfd;
        fd = openat(dfd, which, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        r = caller_verify(c);
        if (r < 0)
                return r;
        *ret_fd = TAKE_FD(fd);
        return 0;
}
