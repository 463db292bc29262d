/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for daemon/core/state.c: a round trip keeps every field, only live workloads are written,
 * malformed entries are dropped while the rest survive, broken documents and other versions are
 * refused, and the atomic save leaves no temporary file behind. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "common/macro.h"
#include "common/parse-util.h"
#include "daemon/core/state.h"

static Workload *make(WorkloadTable *t, uint64_t id, WorkloadState s) {
        Workload *w = NULL;

        assert_int_equal(workload_new(id, &w), 0);
        w->kind = WORKLOAD_KIND_ATTACH;
        w->name = strdup("qemu \"guest\"\n1");
        w->policy = strdup("50-qemu");
        w->ident = (ProcessIdentity){ .pid = 4242, .starttime = 123456789012ull };
        w->uid = 64055;
        w->gid = 64056;
        w->state = s;
        w->mechanism = MECHANISM_PTRACE;
        w->settings = (LockSettings){
                .mode = LOCK_MODE_ON_FAULT,
                .limit = SIZE_INFINITY,
                .prefault_threads = 4,
                .transparent_hugepages = true,
                .inherit = false,
                .on_failure = ON_FAILURE_CONTINUE,
                .on_exceed = ON_EXCEED_KILL,
        };
        w->started_at = 1700000000000000ull;
        w->lock_duration_usec = 1234;
        w->locked_bytes = 512ull << 20;
        w->detach = true;
        w->limit_raised = true;
        w->orig_memlock_soft = 8 << 20;
        w->orig_memlock_hard = UINT64_MAX;
        w->error = strdup("over limit");
        workload_table_add(t, w);
        return w;
}

static void test_roundtrip(void **state) {
        WorkloadTable t = {}, back = {};
        _cleanup_free_ char *text = NULL;
        uint64_t next_id = 0;
        Workload *w;

        make(&t, 7, WORKLOAD_LOCKED);
        make(&t, 8, WORKLOAD_EXITED); /* not written: gone */
        assert_int_equal(state_format(9, &t, &text), 0);
        assert_non_null(strstr(text, "\"version\":1"));
        assert_null(strstr(text, "\"id\":8"));

        assert_int_equal(state_parse(text, &next_id, &back), 0);
        assert_int_equal(next_id, 9);
        assert_int_equal(back.n, 1);
        w = back.head;
        assert_int_equal(w->id, 7);
        assert_string_equal(w->path, "/org/mlockd1/workload/7");
        assert_int_equal(w->kind, WORKLOAD_KIND_ATTACH);
        assert_string_equal(w->name, "qemu \"guest\"\n1");
        assert_string_equal(w->policy, "50-qemu");
        assert_int_equal(w->ident.pid, 4242);
        assert_int_equal(w->ident.starttime, 123456789012ull);
        assert_int_equal(w->uid, 64055);
        assert_int_equal(w->gid, 64056);
        assert_int_equal(w->state, WORKLOAD_LOCKED);
        assert_int_equal(w->mechanism, MECHANISM_PTRACE);
        assert_int_equal(w->settings.mode, LOCK_MODE_ON_FAULT);
        assert_int_equal(w->settings.limit, SIZE_INFINITY);
        assert_int_equal(w->settings.prefault_threads, 4);
        assert_true(w->settings.transparent_hugepages);
        assert_false(w->settings.inherit);
        assert_int_equal(w->settings.on_failure, ON_FAILURE_CONTINUE);
        assert_int_equal(w->settings.on_exceed, ON_EXCEED_KILL);
        assert_int_equal(w->started_at, 1700000000000000ull);
        assert_int_equal(w->lock_duration_usec, 1234);
        assert_int_equal(w->locked_bytes, 512ull << 20);
        assert_true(w->detach);
        assert_true(w->limit_raised);
        assert_int_equal(w->orig_memlock_soft, 8 << 20);
        assert_int_equal(w->orig_memlock_hard, UINT64_MAX);
        assert_string_equal(w->error, "over limit");
        assert_int_equal(w->pidfd, -EBADF);

        workload_table_clear(&t);
        workload_table_clear(&back);
}

static void test_malformed(void **state) {
        WorkloadTable t = {};
        uint64_t next_id = 0;
        static const char *const bad_documents[] = {
                "",
                "{",
                "[]",
                "{\"version\":1}",
                "{\"version\":1,\"next_id\":3}",
                "{\"version\":1,\"next_id\":\"3\",\"workloads\":[]}",
                "{\"version\":1,\"next_id\":3,\"workloads\":{}}",
                "{\"version\":\"1\",\"next_id\":3,\"workloads\":[]}",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad_documents); i++) {
                assert_int_equal(state_parse(bad_documents[i], &next_id, &t), -EBADMSG);
                assert_int_equal(t.n, 0);
        }
        assert_int_equal(
                state_parse("{\"version\":2,\"next_id\":3,\"workloads\":[]}", &next_id, &t),
                -EPROTONOSUPPORT);

        /* Bad entries are dropped, good ones kept; duplicates keep the first. */
        const char *doc =
                "{\"version\":1,\"next_id\":30,\"workloads\":["
                "{\"id\":1,\"pid\":10,\"starttime\":5,\"uid\":0,\"kind\":\"run\",\"state\":"
                "\"locked\",\"mechanism\":\"capability\",\"mode\":\"on\",\"on_failure\":"
                "\"abort\",\"on_exceed\":\"warn\",\"limit\":1024},"
                "{\"id\":2,\"pid\":-1,\"starttime\":5,\"uid\":0,\"kind\":\"run\",\"state\":"
                "\"locked\",\"mechanism\":\"capability\",\"mode\":\"on\",\"on_failure\":"
                "\"abort\",\"on_exceed\":\"warn\",\"limit\":1024},"
                "{\"id\":3,\"pid\":11,\"starttime\":5,\"uid\":0,\"kind\":\"run\",\"state\":"
                "\"molten\",\"mechanism\":\"capability\",\"mode\":\"on\",\"on_failure\":"
                "\"abort\",\"on_exceed\":\"warn\",\"limit\":1024},"
                "{\"id\":0,\"pid\":12},"
                "42,"
                "{\"id\":1,\"pid\":13,\"starttime\":5,\"uid\":0,\"kind\":\"run\",\"state\":"
                "\"locked\",\"mechanism\":\"capability\",\"mode\":\"on\",\"on_failure\":"
                "\"abort\",\"on_exceed\":\"warn\",\"limit\":1024}"
                "]}";
        assert_int_equal(state_parse(doc, &next_id, &t), 0);
        assert_int_equal(next_id, 30);
        assert_int_equal(t.n, 1);
        assert_int_equal(t.head->ident.pid, 10);
        workload_table_clear(&t);
}

static void test_save_load(void **state) {
        char dir[] = "/tmp/test-state.XXXXXX";
        WorkloadTable t = {}, back = {};
        uint64_t next_id = 0;
        struct stat st;
        char path[256];
        DIR *d;
        struct dirent *de;
        size_t n = 0;

        assert_non_null(mkdtemp(dir));
        assert_int_equal(state_load(dir, &next_id, &back), -ENOENT);
        make(&t, 3, WORKLOAD_LOCKING);
        assert_int_equal(state_save(dir, 4, &t), 0);
        make(&t, 4, WORKLOAD_FAILED);
        assert_int_equal(state_save(dir, 5, &t), 0); /* replaces the first */

        snprintf(path, sizeof(path), "%s/state", dir);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        d = opendir(dir);
        assert_non_null(d);
        while ((de = readdir(d)))
                if (de->d_name[0] != '.' || strlen(de->d_name) > 2)
                        n++;
        closedir(d);
        assert_int_equal(n, 1); /* no temporary file left */

        assert_int_equal(state_load(dir, &next_id, &back), 0);
        assert_int_equal(next_id, 5);
        assert_int_equal(back.n, 2);
        assert_int_equal(back.tail->id, 4);
        assert_int_equal(back.tail->state, WORKLOAD_FAILED);

        assert_int_equal(unlink(path), 0);
        assert_int_equal(rmdir(dir), 0);
        workload_table_clear(&t);
        workload_table_clear(&back);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_roundtrip),
                cmocka_unit_test(test_malformed),
                cmocka_unit_test(test_save_load),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
