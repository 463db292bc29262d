/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for daemon/core/budget.c: admission arithmetic at the edges, the messages, and which
 * workloads the timer must watch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "common/macro.h"
#include "common/parse-util.h"
#include "daemon/core/budget.h"

#define G (1024ull * 1024 * 1024)

static void test_fits(void **state) {
        assert_true(budget_fits(8 * G, 0, 8 * G));
        assert_false(budget_fits(8 * G, 0, 8 * G + 1));
        assert_true(budget_fits(8 * G, 6 * G, 2 * G));
        assert_false(budget_fits(8 * G, 6 * G, 2 * G + 1));
        assert_false(budget_fits(8 * G, 9 * G, 0 + 1)); /* over-reserved (budget lowered) */
        assert_true(budget_fits(8 * G, 8 * G, 0));
        assert_false(budget_fits(8 * G, 0, SIZE_INFINITY));
        assert_true(budget_fits(SIZE_INFINITY, UINT64_MAX, SIZE_INFINITY));
        assert_true(budget_fits(UINT64_MAX - 1, 1, UINT64_MAX - 2));
        assert_false(budget_fits(UINT64_MAX - 1, 1, UINT64_MAX - 1));
}

static void test_messages(void **state) {
        _cleanup_free_ char *m = budget_exceeded_message(8 * G, 6 * G + 819 * 1024 * 1024, 4 * G);
        _cleanup_free_ char *o = budget_exceeded_message(8 * G, 9 * G, G);
        _cleanup_free_ char *s = budget_status_text(3, 5 * G + G / 4, 18 * G);
        _cleanup_free_ char *s1 = budget_status_text(1, 0, SIZE_INFINITY);

        assert_non_null(m);
        assert_string_equal(m, "needs 4.0G, 6.7G of the 8.0G budget is committed, 1.2G is free; "
                               "ask for a smaller limit or wait for other workloads to end");
        assert_non_null(strstr(o, "0B is free"));
        assert_string_equal(s, "3 workloads, 5.2G locked of 18.0G budget");
        assert_string_equal(s1, "1 workload, 0B locked of infinity budget");
}

static void test_unbounded(void **state) {
        Workload w = { .state = WORKLOAD_LOCKED, .mechanism = MECHANISM_CAPABILITY };

        w.settings.limit = G;
        assert_true(budget_workload_unbounded(&w));
        w.mechanism = MECHANISM_RLIMIT; /* the kernel enforces it */
        assert_false(budget_workload_unbounded(&w));
        w.mechanism = MECHANISM_PTRACE;
        assert_true(budget_workload_unbounded(&w));
        w.state = WORKLOAD_EXITED;
        assert_false(budget_workload_unbounded(&w));
        w.state = WORKLOAD_LOCKING; /* its report is not in yet */
        assert_false(budget_workload_unbounded(&w));
        w.state = WORKLOAD_FAILED;
        w.settings.limit = SIZE_INFINITY; /* nothing to exceed */
        assert_false(budget_workload_unbounded(&w));

        w.settings.limit = G;
        assert_false(budget_over_limit(&w, G));
        assert_true(budget_over_limit(&w, G + 1));
        w.settings.limit = SIZE_INFINITY;
        assert_false(budget_over_limit(&w, UINT64_MAX));
}

/* The rule: whole reservations while starting or locking or uncontained, what the cgroup holds
 * once the lock is done; a share counts reservations. */
static void test_committed(void **state) {
        assert_true(budget_committed(64 << 20, false, true, 1 << 20) == 64 << 20);
        assert_true(budget_committed(64 << 20, true, false, 1 << 20) == 64 << 20);
        assert_true(budget_committed(64 << 20, true, true, 1 << 20) == 1 << 20);
        assert_true(budget_committed(64 << 20, true, true, 96 << 20) == 64 << 20);
        assert_true(budget_add(UINT64_MAX - 1, 5) == UINT64_MAX);
        assert_true(budget_share_fits(128 << 20, 64 << 20, 64 << 20));
        assert_false(budget_share_fits(128 << 20, 64 << 20, (64 << 20) + 1));
        assert_true(budget_share_fits(SIZE_INFINITY, UINT64_MAX, G));

        _cleanup_free_ char *m =
                budget_share_exceeded_message(65534, 128 << 20, 128 << 20, 64 << 20);
        assert_string_equal(m, "uid 65534 needs 64.0M, and its workloads already reserve 128.0M of "
                               "its 128.0M share (MaxLockedPerUser= in mlockd.conf); stop one of "
                               "them or ask for a smaller limit");

        /* A contained workload is never "unbounded", whatever its mechanism. */
        Workload w = { .state = WORKLOAD_LOCKED, .mechanism = MECHANISM_CAPABILITY };
        w.settings.limit = 64 << 20;
        assert_true(budget_workload_unbounded(&w));
        w.cgroup.backend = CONTAINMENT_CGROUP1;
        assert_false(budget_workload_unbounded(&w));
        assert_true(budget_workload_contained(&w));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_committed),
                cmocka_unit_test(test_fits),
                cmocka_unit_test(test_messages),
                cmocka_unit_test(test_unbounded),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
