/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "daemon/helpers/env-filter.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"

/* Prefixes no caller-supplied variable may carry. */
static const char *const filtered_prefixes[] = {
        "LD_", /* the dynamic loader's: LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT, ... */
        "MEMLOCK_", /* the shim's settings: set by the daemon from policy */
        "MALLOC_", /* glibc malloc tuning (MALLOC_TRACE writes a file, MALLOC_CHECK_, ...) */
};

/* glibc's UNSECURE_ENVVARS (sysdeps/generic/unsecvars.h) not covered by a prefix, minus TMPDIR
 * (see env-filter.h). */
static const char *const filtered_names[] = {
        "GCONV_PATH", "GETCONF_DIR", "GLIBC_TUNABLES",   "HOSTALIASES", "LOCALDOMAIN", "LOCPATH",
        "NIS_PATH",   "NLSPATH",     "RESOLV_HOST_CONF", "RES_OPTIONS", "TZDIR",
};

bool env_name_is_filtered(const char *name, size_t len) {
        for (size_t i = 0; i < ELEMENTSOF(filtered_prefixes); i++) {
                size_t l = strlen(filtered_prefixes[i]);
                if (len >= l && memcmp(name, filtered_prefixes[i], l) == 0)
                        return true;
        }
        for (size_t i = 0; i < ELEMENTSOF(filtered_names); i++)
                if (strlen(filtered_names[i]) == len && memcmp(name, filtered_names[i], len) == 0)
                        return true;
        return false;
}

/* Whether env[0..n) already holds a variable named name (len bytes). */
static bool env_has_name(char *const *env, size_t n, const char *name, size_t len) {
        for (size_t i = 0; i < n; i++)
                if (strncmp(env[i], name, len) == 0 && env[i][len] == '=')
                        return true;
        return false;
}

int env_filter(char *const *env, char ***ret, size_t *ret_n_dropped) {
        _cleanup_strv_free_ char **l = NULL;
        size_t n = 0, total = 0, dropped = 0;

        if (env)
                while (env[total])
                        total++;

        l = calloc(total + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;

        for (size_t i = 0; i < total; i++) {
                const char *eq = strchr(env[i], '=');
                size_t len;

                if (!eq || eq == env[i]) {
                        dropped++;
                        continue;
                }
                len = (size_t) (eq - env[i]);
                /* Quadratic in the worst case; callers bound the environment's size. */
                if (env_name_is_filtered(env[i], len) || env_has_name(l, n, env[i], len)) {
                        dropped++;
                        continue;
                }
                l[n] = strdup(env[i]);
                if (!l[n])
                        return -ENOMEM;
                n++;
        }

        if (ret_n_dropped)
                *ret_n_dropped = dropped;
        *ret = TAKE_PTR(l);
        return 0;
}

const char *env_get(char *const *env, const char *name) {
        size_t len = strlen(name);

        if (!env)
                return NULL;
        for (char *const *e = env; *e; e++)
                if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
                        return *e + len + 1;
        return NULL;
}
