/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Reading configuration that decides who may lock memory: only files that root alone can
 * write, of bounded size, checked on the opened fd. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "policy/policy.h"

/* Refuses (with a diagnostic naming path and its mode) what is not owned by root or is writable
 * by group or others. what is "a policy file", "a policy directory", ... Returns 0 or -EINVAL
 * (reported), -ENOMEM. */
int trusted_check_stat(const char *path, const struct stat *st, const char *what,
                       PolicyDiagnostics *diags);

/* Opens fn relative to dirfd (fn "" with dirfd an open file: that file), checks it and reads at
 * most max bytes. path names the file in messages. A file that is /dev/null (a mask) gives
 * *ret_data = NULL and returns 0. Returns 0, -EINVAL (reported in diags), -ENOENT (not
 * reported: the caller decides), -ENOMEM. */
int trusted_read(int dirfd, const char *fn, const char *path, const char *what, size_t max,
                 char **ret_data, size_t *ret_size, PolicyDiagnostics *diags);
