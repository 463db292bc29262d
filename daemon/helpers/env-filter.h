/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Which of a caller's environment variables may reach a workload the daemon starts. */

#include <stdbool.h>
#include <stddef.h>

/* Whether the variable named name (len bytes, no '=') must not pass from the caller to a
 * workload: every LD_* (the loader's; the daemon sets LD_PRELOAD itself), every MEMLOCK_*
 * (the shim's settings come from policy, not from the caller), and the other variables glibc
 * removes for secure-exec programs (sysdeps/generic/unsecvars.h: GCONV_PATH, GETCONF_DIR,
 * GLIBC_TUNABLES, HOSTALIASES, LOCALDOMAIN, LOCPATH, MALLOC_*, NIS_PATH, NLSPATH,
 * RESOLV_HOST_CONF, RES_OPTIONS, TZDIR), except TMPDIR: it names where the caller's files
 * go, loads no code, and a workload runs as its caller. */
bool env_name_is_filtered(const char *name, size_t len);

/* Copies env (NULL-terminated "NAME=value" strings; NULL = empty) without the filtered
 * variables, without malformed entries (no '=', empty name) and without later duplicates of a
 * name (getenv(3) sees the first). Returns 0 and a malloc'd NULL-terminated list in *ret (the
 * strings are copies), or -ENOMEM. If ret_n_dropped is non-NULL it gets how many were left
 * out. */
int env_filter(char *const *env, char ***ret, size_t *ret_n_dropped);

/* The value of name in env, or NULL (first match, like getenv). */
const char *env_get(char *const *env, const char *name);
