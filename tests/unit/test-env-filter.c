/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for daemon/helpers/env-filter.c and spawn_build_env(): what of a caller's environment
 * reaches a workload. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/macro.h"
#include "common/parse-util.h"
#include "daemon/helpers/env-filter.h"
#include "daemon/helpers/spawn.h"

static size_t strv_length(char *const *l) {
        size_t n = 0;
        while (l && l[n])
                n++;
        return n;
}

static void test_name_is_filtered(void **state) {
        static const char *const filtered[] = {
                "LD_PRELOAD",        "LD_LIBRARY_PATH",
                "LD_AUDIT",          "LD_",
                "LD_ANYTHING_NEW",   "MEMLOCK_MODE",
                "MEMLOCK_REPORT_FD", "MEMLOCK_",
                "GCONV_PATH",        "GLIBC_TUNABLES",
                "LOCPATH",           "NLSPATH",
                "MALLOC_TRACE",      "MALLOC_ARENA_MAX",
                "MALLOC_CHECK_",     "HOSTALIASES",
                "RES_OPTIONS",       "TZDIR",
                "GETCONF_DIR",       "NIS_PATH",
                "RESOLV_HOST_CONF",  "LOCALDOMAIN",
        };
        static const char *const kept[] = {
                "PATH",        "HOME", "TMPDIR",  "LANG",    "LC_ALL",      "TERM",
                "USER",        "LD",   "L",       "MEMLOCK", "XLD_PRELOAD", "ld_preload",
                "GCONV_PATHX", "TZ",   "DISPLAY", "MALLOC",  "SHELL",
        };

        for (size_t i = 0; i < ELEMENTSOF(filtered); i++)
                assert_true(env_name_is_filtered(filtered[i], strlen(filtered[i])));
        for (size_t i = 0; i < ELEMENTSOF(kept); i++)
                assert_false(env_name_is_filtered(kept[i], strlen(kept[i])));
        /* Only len bytes count: "PATH" out of "PATHLD_..." is kept, "LD_" out of "LD_X" not. */
        assert_false(env_name_is_filtered("PATH=LD_PRELOAD", 4));
        assert_true(env_name_is_filtered("LD_X=1", 4));
}

static void test_filter(void **state) {
        const char *env[] = {
                "PATH=/usr/bin:/bin",
                "LD_PRELOAD=/tmp/evil.so",
                "HOME=/home/alice",
                "LD_LIBRARY_PATH=/tmp",
                "MEMLOCK_MODE=current",
                "noequals",
                "=novalue",
                "PATH=/evil",
                "TMPDIR=/var/tmp",
                "GCONV_PATH=/tmp/gconv",
                "EMPTY=",
                NULL,
        };
        _cleanup_strv_free_ char **out = NULL;
        size_t dropped = 99;

        assert_int_equal(env_filter((char *const *) env, &out, &dropped), 0);
        assert_int_equal(dropped, 7);
        assert_int_equal(strv_length(out), 4);
        assert_string_equal(out[0], "PATH=/usr/bin:/bin");
        assert_string_equal(out[1], "HOME=/home/alice");
        assert_string_equal(out[2], "TMPDIR=/var/tmp");
        assert_string_equal(out[3], "EMPTY=");
        /* Copies, not the caller's pointers. */
        assert_ptr_not_equal(out[0], env[0]);

        assert_string_equal(env_get(out, "PATH"), "/usr/bin:/bin");
        assert_string_equal(env_get(out, "EMPTY"), "");
        assert_null(env_get(out, "PAT"));
        assert_null(env_get(out, "LD_PRELOAD"));
        assert_null(env_get(NULL, "PATH"));
}

static void test_filter_empty(void **state) {
        _cleanup_strv_free_ char **out = NULL, **out2 = NULL;
        char *const empty[] = { NULL };

        assert_int_equal(env_filter(NULL, &out, NULL), 0);
        assert_non_null(out);
        assert_null(out[0]);
        assert_int_equal(env_filter(empty, &out2, NULL), 0);
        assert_null(out2[0]);
}

static void test_build_env(void **state) {
        const char *env[] = { "LD_PRELOAD=/tmp/evil.so", "MEMLOCK_MODE=current",
                              "MEMLOCK_INHERIT=1", "HOME=/root", NULL };
        LockSettings lock = {
                .mode = LOCK_MODE_ON_FAULT,
                .limit = 512u << 20,
                .prefault_threads = -1,
                .transparent_hugepages = true,
                .inherit = false,
                .on_failure = ON_FAILURE_CONTINUE,
        };
        _cleanup_strv_free_ char **out = NULL, **out2 = NULL, **bare = NULL;
        size_t preloads = 0;

        assert_int_equal(spawn_build_env((char *const *) env, "/usr/lib/mlockd/libmemlock-shim.so",
                                         &lock, 3, &out),
                         0);
        assert_string_equal(env_get(out, "HOME"), "/root");
        assert_string_equal(env_get(out, "LD_PRELOAD"), "/usr/lib/mlockd/libmemlock-shim.so");
        assert_string_equal(env_get(out, "MEMLOCK_MODE"), "on-fault");
        assert_string_equal(env_get(out, "MEMLOCK_PREFAULT_THREADS"), "auto");
        assert_string_equal(env_get(out, "MEMLOCK_THP"), "1");
        assert_string_equal(env_get(out, "MEMLOCK_INHERIT"), "0");
        assert_string_equal(env_get(out, "MEMLOCK_ON_FAILURE"), "continue");
        assert_string_equal(env_get(out, "MEMLOCK_REPORT_FD"), "3");
        for (char **e = out; *e; e++)
                if (startswith(*e, "LD_PRELOAD="))
                        preloads++;
        assert_int_equal(preloads, 1);
        assert_int_equal(strv_length(out), 8);

        lock.mode = LOCK_MODE_CURRENT;
        lock.prefault_threads = 4;
        lock.transparent_hugepages = false;
        lock.inherit = true;
        lock.on_failure = ON_FAILURE_ABORT;
        assert_int_equal(spawn_build_env(NULL, "/shim.so", &lock, 7, &out2), 0);
        assert_string_equal(env_get(out2, "MEMLOCK_MODE"), "current");
        assert_string_equal(env_get(out2, "MEMLOCK_PREFAULT_THREADS"), "4");
        assert_string_equal(env_get(out2, "MEMLOCK_THP"), "0");
        assert_string_equal(env_get(out2, "MEMLOCK_INHERIT"), "1");
        assert_string_equal(env_get(out2, "MEMLOCK_ON_FAILURE"), "abort");
        assert_string_equal(env_get(out2, "MEMLOCK_REPORT_FD"), "7");
        assert_int_equal(strv_length(out2), 7);

        /* memlockctl exec: the settings without a report fd (nobody reads one). */
        _cleanup_strv_free_ char **exec_env = NULL;
        assert_int_equal(spawn_build_env(NULL, "/shim.so", &lock, -1, &exec_env), 0);
        assert_string_equal(env_get(exec_env, "LD_PRELOAD"), "/shim.so");
        assert_string_equal(env_get(exec_env, "MEMLOCK_MODE"), "current");
        assert_null(env_get(exec_env, "MEMLOCK_REPORT_FD"));
        assert_int_equal(strv_length(exec_env), 6);

        /* Without a shim (injection at the exec stop): no LD_PRELOAD, no MEMLOCK_*. */
        assert_int_equal(spawn_build_env((char *const *) env, NULL, &lock, 3, &bare), 0);
        assert_int_equal(strv_length(bare), 1);
        assert_string_equal(bare[0], "HOME=/root");

        /* A mode out of range is refused. */
        lock.mode = _LOCK_MODE_MAX;
        assert_int_equal(
                spawn_build_env((char *const *) env, "/shim.so", &lock, 3, &(char **){ NULL }),
                -EINVAL);
}

static void test_mechanism_strings(void **state) {
        assert_string_equal(mechanism_to_string(MECHANISM_RLIMIT), "rlimit");
        assert_string_equal(mechanism_to_string(MECHANISM_CAPABILITY), "capability");
        assert_string_equal(mechanism_to_string(MECHANISM_PTRACE), "ptrace");
        assert_string_equal(mechanism_to_string(MECHANISM_PREEXISTING), "preexisting");
        assert_null(mechanism_to_string(_MECHANISM_MAX));
        assert_null(mechanism_to_string(_MECHANISM_INVALID));
        for (Mechanism m = 0; m < _MECHANISM_MAX; m++)
                assert_int_equal(mechanism_from_string(mechanism_to_string(m)), m);
        assert_int_equal(mechanism_from_string("root"), _MECHANISM_INVALID);
        assert_int_equal(mechanism_from_string(NULL), _MECHANISM_INVALID);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_name_is_filtered),  cmocka_unit_test(test_filter),
                cmocka_unit_test(test_filter_empty),      cmocka_unit_test(test_build_env),
                cmocka_unit_test(test_mechanism_strings),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
