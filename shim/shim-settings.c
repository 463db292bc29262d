/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shim/prefault.h"
#include "shim/shim-mmap.h"
#include "shim/shim-settings.h"
#include "shim/shim-util.h"

/* An fd number above this is refused (far above any RLIMIT_NOFILE in practice). */
#define REPORT_FD_MAX 1048576u
/* MEMLOCK_PREFAULT_MMAP above this is refused: larger than any address space. */
#define PREFAULT_MMAP_MAX (1ull << 56)

static void note_bad(const char *name, int *r, const char **bad) {
        if (*r == 0) {
                *r = -EINVAL;
                *bad = name;
        }
}

int shim_settings_from_env(ShimSettings *ret, const char **ret_bad_name) {
        ShimSettings s = {
                .mode = LOCK_MODE_ON,
                .prefault_threads = PREFAULT_THREADS_AUTO,
                .thp = true,
                .prefault_mmap = SHIM_MMAP_MIN_DEFAULT,
                .inherit = false,
                .abort_on_failure = true,
                .report_fd = -EBADF,
                .verbose = false,
        };
        const char *v, *bad = NULL;
        uint64_t u;
        int r = 0, k;

        /* The report fd and the failure policy first: they decide how other errors are told. */
        v = getenv("MEMLOCK_REPORT_FD");
        if (v) {
                if (shim_parse_uint(v, REPORT_FD_MAX, &u) >= 0)
                        s.report_fd = (int) u;
                else
                        note_bad("MEMLOCK_REPORT_FD", &r, &bad);
        }
        v = getenv("MEMLOCK_ON_FAILURE");
        if (v) {
                if (strcmp(v, "abort") == 0)
                        s.abort_on_failure = true;
                else if (strcmp(v, "continue") == 0)
                        s.abort_on_failure = false;
                else
                        note_bad("MEMLOCK_ON_FAILURE", &r, &bad);
        }
        v = getenv("MEMLOCK_VERBOSE");
        if (v) {
                k = shim_parse_bool(v);
                if (k >= 0)
                        s.verbose = k;
                else
                        note_bad("MEMLOCK_VERBOSE", &r, &bad);
        }
        v = getenv("MEMLOCK_MODE");
        if (v) {
                LockMode m = lock_mode_from_string(v);
                if (m >= 0)
                        s.mode = m;
                else
                        note_bad("MEMLOCK_MODE", &r, &bad);
        }
        v = getenv("MEMLOCK_PREFAULT_THREADS");
        if (v) {
                if (strcmp(v, "auto") == 0)
                        s.prefault_threads = PREFAULT_THREADS_AUTO;
                else if (shim_parse_uint(v, PREFAULT_THREADS_MAX, &u) >= 0)
                        s.prefault_threads = (uint32_t) u;
                else
                        note_bad("MEMLOCK_PREFAULT_THREADS", &r, &bad);
        }
        v = getenv("MEMLOCK_THP");
        if (v) {
                k = shim_parse_bool(v);
                if (k >= 0)
                        s.thp = k;
                else
                        note_bad("MEMLOCK_THP", &r, &bad);
        }
        v = getenv("MEMLOCK_PREFAULT_MMAP");
        if (v) {
                k = shim_parse_bool(v);
                if (k == 0)
                        s.prefault_mmap = 0;
                else if (shim_parse_size(v, PREFAULT_MMAP_MAX, &u) >= 0)
                        s.prefault_mmap = u;
                else
                        note_bad("MEMLOCK_PREFAULT_MMAP", &r, &bad);
        }
        v = getenv("MEMLOCK_INHERIT");
        if (v) {
                k = shim_parse_bool(v);
                if (k >= 0)
                        s.inherit = k;
                else
                        note_bad("MEMLOCK_INHERIT", &r, &bad);
        }

        *ret = s;
        if (r < 0 && ret_bad_name)
                *ret_bad_name = bad;
        return r;
}

void shim_settings_unset_env(bool keep_inheritable) {
        static const char *const inheritable[] = {
                "MEMLOCK_MODE",          "MEMLOCK_PREFAULT_THREADS", "MEMLOCK_THP",
                "MEMLOCK_PREFAULT_MMAP", "MEMLOCK_INHERIT",          "MEMLOCK_ON_FAILURE",
                "MEMLOCK_VERBOSE",
        };

        (void) unsetenv("MEMLOCK_REPORT_FD");
        if (keep_inheritable)
                return;
        for (size_t i = 0; i < sizeof(inheritable) / sizeof(inheritable[0]); i++)
                (void) unsetenv(inheritable[i]);
}

static bool is_separator(char c) {
        return c == ' ' || c == ':' || c == '\t';
}

static bool entry_is_shim(const char *e, size_t n, const char *self_path) {
        size_t fl = strlen(SHIM_FILE_NAME);

        if (self_path && strlen(self_path) == n && strncmp(e, self_path, n) == 0)
                return true;
        /* "libmemlock-shim.so" or ".../libmemlock-shim.so" */
        return n >= fl && strncmp(e + n - fl, SHIM_FILE_NAME, fl) == 0 &&
               (n == fl || e[n - fl - 1] == '/');
}

int shim_ld_preload_remove(const char *self_path) {
        char *v = getenv("LD_PRELOAD"), *w;
        int removed = 0;

        if (!v)
                return 0;
        /* The result is never longer than the input: rewrite in place. */
        w = v;
        for (char *p = v; *p;) {
                size_t n;

                while (is_separator(*p))
                        p++;
                if (*p == '\0')
                        break;
                for (n = 0; p[n] && !is_separator(p[n]); n++)
                        ;
                if (entry_is_shim(p, n, self_path))
                        removed++;
                else {
                        if (w != v)
                                *w++ = ':';
                        memmove(w, p, n);
                        w += n;
                }
                p += n;
        }
        *w = '\0';
        if (w == v)
                (void) unsetenv("LD_PRELOAD");
        return removed;
}
