/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Checked reads of policy files and mlockd.conf. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/macro.h"
#include "policy/trusted-file.h"

static int report(PolicyDiagnostics *diags, int r) {
        return r < 0 ? r : -EINVAL;
}

int trusted_check_stat(const char *path, const struct stat *st, const char *what,
                       PolicyDiagnostics *diags) {
        if (st->st_uid != 0)
                return report(diags, policy_diagnostics_add(
                                             diags,
                                             "%s: refusing %s owned by uid %u (mode %04o): only "
                                             "root may own it; run chown root: '%s'",
                                             path, what, (unsigned) st->st_uid,
                                             (unsigned) (st->st_mode & 07777), path));
        if (st->st_mode & (S_IWGRP | S_IWOTH))
                return report(diags, policy_diagnostics_add(
                                             diags,
                                             "%s: refusing %s writable by group or others "
                                             "(mode %04o); run chmod go-w '%s'",
                                             path, what, (unsigned) (st->st_mode & 07777), path));
        return 0;
}

static bool is_dev_null(const struct stat *st) {
        return S_ISCHR(st->st_mode) && st->st_rdev == makedev(1, 3);
}

int trusted_read(int dirfd, const char *fn, const char *path, const char *what, size_t max,
                 char **ret_data, size_t *ret_size, PolicyDiagnostics *diags) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t size = 0;
        int r;

        if (fn[0]) {
                /* O_NONBLOCK: a FIFO must not hang the loader; it is refused below. */
                fd = openat(dirfd, fn, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
                if (fd < 0) {
                        r = -errno;
                        if (r == -ENOENT)
                                return r;
                        return report(diags, policy_diagnostics_add(diags, "%s: cannot open: %s",
                                                                    path, strerror(-r)));
                }
        } else {
                fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
                if (fd < 0)
                        return -errno;
        }
        if (fstat(fd, &st) < 0)
                return -errno;
        if (is_dev_null(&st)) {
                *ret_data = NULL;
                *ret_size = 0;
                return 0;
        }
        if (!S_ISREG(st.st_mode))
                return report(diags, policy_diagnostics_add(diags, "%s: not a regular file", path));
        r = trusted_check_stat(path, &st, what, diags);
        if (r < 0)
                return r;

        buf = malloc(max + 1);
        if (!buf)
                return -ENOMEM;
        /* Read one byte past the bound to tell "exactly max" from "too large". */
        for (;;) {
                ssize_t k = pread(fd, buf + size, max + 1 - size, (off_t) size);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        return report(diags, policy_diagnostics_add(diags, "%s: cannot read: %s",
                                                                    path, strerror(-r)));
                }
                if (k == 0)
                        break;
                size += (size_t) k;
                if (size > max)
                        return report(diags,
                                      policy_diagnostics_add(
                                              diags, "%s: file too large (more than %zu bytes)",
                                              path, max));
        }
        buf[size] = '\0';
        *ret_data = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}
