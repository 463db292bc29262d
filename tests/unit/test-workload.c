/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for daemon/core/workload.c: ids and paths, enum tables, the table's lookups, live counts
 * and the saturating reservation sum. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/macro.h"
#include "common/parse-util.h"
#include "daemon/core/workload.h"

static Workload *add(WorkloadTable *t, uint64_t id, pid_t pid, uid_t uid, WorkloadState s,
                     uint64_t limit) {
        Workload *w = NULL;

        assert_int_equal(workload_new(id, &w), 0);
        w->ident.pid = pid;
        w->uid = uid;
        w->state = s;
        w->settings.limit = limit;
        workload_table_add(t, w);
        return w;
}

static void test_new(void **state) {
        _cleanup_(workload_freep) Workload *w = NULL;

        assert_int_equal(workload_new(0, &w), -EINVAL);
        assert_null(w);
        assert_int_equal(workload_new(18446744073709551615ull, &w), 0);
        assert_string_equal(w->id_str, "18446744073709551615");
        assert_string_equal(w->path, "/org/mlockd1/workload/18446744073709551615");
        assert_int_equal(w->pidfd, -EBADF);
        assert_int_equal(w->report_fd, -EBADF);
        assert_int_equal(w->exit_status, -1);
        assert_int_equal(workload_set_error(w, "boom"), 0);
        assert_string_equal(w->error, "boom");
        assert_int_equal(workload_set_error(w, NULL), 0);
        assert_null(w->error);
        assert_null(workload_free(NULL));
}

static void test_enums(void **state) {
        for (int i = 0; i < _WORKLOAD_STATE_MAX; i++)
                assert_int_equal(workload_state_from_string(workload_state_to_string(i)), i);
        for (int i = 0; i < _WORKLOAD_KIND_MAX; i++)
                assert_int_equal(workload_kind_from_string(workload_kind_to_string(i)), i);
        assert_string_equal(workload_state_to_string(WORKLOAD_LOCKED), "locked");
        assert_string_equal(workload_state_to_string(WORKLOAD_DETACHED), "detached");
        assert_null(workload_state_to_string(_WORKLOAD_STATE_MAX));
        assert_null(workload_state_to_string(-1));
        assert_int_equal(workload_state_from_string("Locked"), -EINVAL);
        assert_int_equal(workload_state_from_string(NULL), -EINVAL);
        assert_int_equal(workload_kind_from_string("spawn"), -EINVAL);
}

static void test_table(void **state) {
        WorkloadTable t = {};
        Workload *a, *b, *c, *d;

        a = add(&t, 1, 100, 1000, WORKLOAD_LOCKED, 1024);
        b = add(&t, 2, 200, 1000, WORKLOAD_EXITED, 4096);
        c = add(&t, 3, 300, 0, WORKLOAD_LOCKING, 2048);
        d = add(&t, 4, 200, 1000, WORKLOAD_STARTING, 8192); /* pid 200 reused */
        assert_int_equal(t.n, 4);

        assert_ptr_equal(workload_table_find_id(&t, 3), c);
        assert_null(workload_table_find_id(&t, 5));
        /* Only live workloads match by pid: the exited one with pid 200 is skipped. */
        assert_ptr_equal(workload_table_find_pid(&t, 200), d);
        assert_ptr_equal(workload_table_find_pid(&t, 100), a);
        assert_null(workload_table_find_pid(&t, 999));
        assert_ptr_equal(workload_table_find_path(&t, "/org/mlockd1/workload/2"), b);
        assert_null(workload_table_find_path(&t, "/org/mlockd1/workload/02x"));
        assert_null(workload_table_find_path(&t, "/org/mlockd1/workload/"));
        assert_null(workload_table_find_path(&t, "/org/mlockd1/workloadx/2"));
        assert_null(workload_table_find_path(&t, NULL));

        assert_int_equal(workload_table_count_live_uid(&t, 1000), 2);
        assert_int_equal(workload_table_count_live_uid(&t, 0), 1);
        assert_int_equal(workload_table_count_live(&t), 3);
        assert_int_equal(workload_table_reserved(&t), 1024 + 2048 + 8192);

        workload_table_remove(&t, c);
        workload_free(c);
        assert_int_equal(t.n, 3);
        assert_ptr_equal(t.head, a);
        assert_ptr_equal(t.tail, d);
        assert_ptr_equal(a->next, b);
        assert_ptr_equal(b->next, d);
        assert_ptr_equal(d->prev, b);
        workload_table_remove(&t, a);
        workload_free(a);
        assert_ptr_equal(t.head, b);
        assert_null(b->prev);

        add(&t, 9, 900, 1, WORKLOAD_FAILED, SIZE_INFINITY);
        assert_int_equal(workload_table_reserved(&t), UINT64_MAX); /* saturates */
        workload_table_clear(&t);
        assert_int_equal(t.n, 0);
        assert_null(t.head);
        assert_null(t.tail);
}

/* The id index: many workloads (past a few growths of the buckets), ids that share a bucket,
 * removals from the middle of chains, and a table emptied and filled again. */
static void test_table_index(void **state) {
        WorkloadTable t = {};

        for (uint64_t id = 1; id <= 1000; id++)
                add(&t, id * 64, (pid_t) id, 0, WORKLOAD_LOCKED,
                    1); /* every id in bucket 0 first */
        assert_true(t.n_buckets >= 1000);
        for (uint64_t id = 1; id <= 1000; id++)
                assert_int_equal(workload_table_find_id(&t, id * 64)->ident.pid, (pid_t) id);
        assert_null(workload_table_find_id(&t, 65));
        for (uint64_t id = 2; id <= 1000; id += 2) {
                Workload *w = workload_table_find_id(&t, id * 64);
                workload_table_remove(&t, w);
                workload_free(w);
        }
        assert_int_equal(t.n, 500);
        for (uint64_t id = 1; id <= 1000; id++) {
                Workload *w = workload_table_find_id(&t, id * 64);
                if (id % 2)
                        assert_int_equal(w->ident.pid, (pid_t) id);
                else
                        assert_null(w);
        }
        workload_table_clear(&t);
        assert_null(t.buckets);
        add(&t, 7, 70, 0, WORKLOAD_LOCKED, 1);
        assert_int_equal(workload_table_find_id(&t, 7)->ident.pid, 70);
        workload_table_clear(&t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_new),
                cmocka_unit_test(test_enums),
                cmocka_unit_test(test_table),
                cmocka_unit_test(test_table_index),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
