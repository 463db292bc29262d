/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* memlockctl's pure output functions: sizes and durations, tables, the status block, the
 * progress line, "did you mean", Prometheus exposition and the host check verdicts. The client
 * is an executable, not a library, so its pure sources are compiled into this test directly. */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "client/format.c"
#include "client/host-check.c"
#include "client/json-output.c"
#include "client/prometheus.c"
#include "client/workload-info.c"

/* Collects what a FILE-writing function printed. */
typedef struct Capture {
        char *buf;
        size_t size;
        FILE *f;
} Capture;

static void capture_begin(Capture *c) {
        *c = (Capture){};
        c->f = open_memstream(&c->buf, &c->size);
        assert_non_null(c->f);
}

static const char *capture_end(Capture *c) {
        assert_int_equal(fclose(c->f), 0);
        c->f = NULL;
        return c->buf;
}

static void test_duration(void **state) {
        char b[FORMAT_DURATION_MAX];

        assert_string_equal(format_duration_usec(b, sizeof(b), 0), "0us");
        assert_string_equal(format_duration_usec(b, sizeof(b), 999), "999us");
        assert_string_equal(format_duration_usec(b, sizeof(b), 12345), "12.3ms");
        assert_string_equal(format_duration_usec(b, sizeof(b), 1234567), "1.234s");
        assert_string_equal(format_duration_usec(b, sizeof(b), 125 * 1000000ULL), "2min 5s");
        assert_string_equal(format_duration_usec(b, sizeof(b), (3 * 3600 + 12 * 60) * 1000000ULL),
                            "3h 12min");
        assert_string_equal(format_duration_usec(b, sizeof(b), (2 * 86400 + 4 * 3600) * 1000000ULL),
                            "2d 4h");
}

static void test_timestamps(void **state) {
        char b[FORMAT_TIMESTAMP_MAX];

        assert_string_equal(format_timestamp_usec(b, sizeof(b), 0), "n/a");
        /* 2026-11-21 23:15:02 UTC */
        assert_string_equal(format_timestamp_usec(b, sizeof(b), 1795302902ULL * 1000000),
                            "2026-11-21 23:15:02 UTC");
        assert_string_equal(format_timestamp_relative(b, sizeof(b), 1000000, 6500000), "5s ago");
        assert_string_equal(format_timestamp_relative(b, sizeof(b), 1000000, 1000500), "500us ago");
        assert_string_equal(format_timestamp_relative(b, sizeof(b), 1000000, 122000000),
                            "2min 1s ago");
        assert_string_equal(format_timestamp_relative(b, sizeof(b), 7000000, 6000000), "n/a");
}

static void test_percent(void **state) {
        char b[FORMAT_PERCENT_MAX];

        assert_string_equal(format_percent(b, sizeof(b), 1, 4), "25%");
        assert_string_equal(format_percent(b, sizeof(b), 0, 4), "0%");
        assert_string_equal(format_percent(b, sizeof(b), 5, 4), "125%");
        assert_string_equal(format_percent(b, sizeof(b), 5, 0), "-");
        assert_string_equal(format_percent(b, sizeof(b), 5, UINT64_MAX), "-");
        /* No overflow for huge values. */
        assert_string_equal(format_percent(b, sizeof(b), UINT64_MAX - 1, UINT64_MAX - 2), "100%");
}

static void test_colors(void **state) {
        assert_true(colors_wanted(true, NULL, "xterm"));
        assert_true(colors_wanted(true, "", "xterm")); /* empty NO_COLOR does not count */
        assert_false(colors_wanted(true, "1", "xterm"));
        assert_false(colors_wanted(false, NULL, "xterm"));
        assert_false(colors_wanted(true, NULL, "dumb"));
        assert_true(colors_wanted(true, NULL, NULL));
}

static void test_closest(void **state) {
        static const char *const verbs[] = { "run",  "exec",    "attach", "detach", "status",
                                             "list", "metrics", "check",  NULL };

        assert_int_equal(string_distance("", ""), 0);
        assert_int_equal(string_distance("status", "stauts"), 2);
        assert_int_equal(string_distance("kitten", "sitting"), 3);
        assert_string_equal(find_closest("stauts", verbs), "status");
        assert_string_equal(find_closest("lst", verbs), "list");
        assert_string_equal(find_closest("atach", verbs), "attach");
        assert_string_equal(find_closest("metr", verbs), "metrics"); /* unique prefix */
        assert_null(find_closest("xyzzy", verbs));
        assert_null(find_closest("", verbs));
        /* A two-letter word is not "close" to everything two edits away. */
        assert_null(find_closest("zz", verbs));
}

static void test_table(void **state) {
        static const char *const headers[] = { "ID", "NAME", "LOCKED" };
        _cleanup_(table_freep) Table *t = table_new(3, headers);
        Capture c;

        assert_non_null(t);
        table_set_align_right(t, 0, true);
        table_set_align_right(t, 2, true);
        assert_int_equal(table_add_row(t, (const char *const[]){ "1", "qemu", "512.0M" }), 0);
        assert_int_equal(table_add_row(t, (const char *const[]){ "12", "a-long-name", NULL }), 0);
        assert_int_equal(table_get_rows(t), 2);

        capture_begin(&c);
        table_print(t, c.f, true, false);
        assert_string_equal(capture_end(&c), "ID NAME        LOCKED\n"
                                             " 1 qemu        512.0M\n"
                                             "12 a-long-name      -\n");
        free(c.buf);

        capture_begin(&c);
        table_print(t, c.f, false, false);
        assert_string_equal(capture_end(&c), " 1 qemu        512.0M\n"
                                             "12 a-long-name      -\n");
        free(c.buf);

        capture_begin(&c);
        table_print(t, c.f, true, true);
        assert_string_equal(capture_end(&c), ANSI_HIGHLIGHT "ID NAME        LOCKED" ANSI_NORMAL "\n"
                                                            " 1 qemu        512.0M\n"
                                                            "12 a-long-name      -\n");
        free(c.buf);
}

/* Like systemctl list-units: at 80 columns an 88-character name is cut with "…" so that every
 * row fits; --full (width 0) shows it whole; CJK names align by display width; control
 * characters come out escaped and never split a row. */
static void test_table_fit(void **state) {
        static const char *const headers[] = { "ID", "NAME", "PID", "STATE", "LOCKED" };
        char long_name[89];
        _cleanup_(table_freep) Table *t = table_new(5, headers);
        const char *out, *line;
        Capture c;

        memset(long_name, 'n', 88);
        long_name[88] = '\0';
        assert_non_null(t);
        table_set_align_right(t, 0, true);
        table_set_align_right(t, 2, true);
        table_set_align_right(t, 4, true);
        table_set_ellipsize(t, 1);
        assert_int_equal(
                table_add_row(t, (const char *const[]){ "1", long_name, "4242", "locked", "1.0G" }),
                0);
        assert_int_equal(
                table_add_row(t, (const char *const[]){ "2", "名前", "7", "locked", "2.0M" }), 0);
        assert_int_equal(table_add_row(t, (const char *const[]){ "3", "evil\x1b]0;pwn\a\tx\ny", "8",
                                                                 "failed", "0B" }),
                         0);

        table_set_width(t, 80);
        capture_begin(&c);
        table_print(t, c.f, true, false);
        out = capture_end(&c);
        /* Every line fits 80 columns; the long name ends in "…". */
        for (line = out; *line;) {
                const char *nl = strchr(line, '\n');
                char *l = strndup(line, nl - line);
                assert_true(utf8_display_width(l) <= 80);
                free(l);
                line = nl + 1;
        }
        assert_non_null(strstr(out, "nnnn…"));
        assert_null(strchr(out, '\x1b'));
        assert_null(strchr(out, '\a'));
        assert_null(strchr(out, '\t'));
        assert_non_null(strstr(out, "evil\\e]0;pwn\\a\\tx\\ny"));
        /* Four lines: header and three rows (the newline in the name did not add one). */
        assert_int_equal(out[strlen(out) - 1], '\n');
        {
                int n = 0;
                for (const char *p = out; *p; p++)
                        n += *p == '\n';
                assert_int_equal(n, 4);
        }
        free(c.buf);

        /* --full: nothing is cut. */
        table_set_width(t, 0);
        capture_begin(&c);
        table_print(t, c.f, false, false);
        out = capture_end(&c);
        assert_non_null(strstr(out, long_name));
        assert_null(strstr(out, "…"));
        free(c.buf);
}

static void test_table_cjk(void **state) {
        static const char *const headers[] = { "ID", "NAME", "PID" };
        _cleanup_(table_freep) Table *t = table_new(3, headers);
        Capture c;

        assert_non_null(t);
        table_set_align_right(t, 2, true);
        assert_int_equal(table_add_row(t, (const char *const[]){ "1", "名前", "1" }), 0);
        assert_int_equal(table_add_row(t, (const char *const[]){ "2", "abcde", "22" }), 0);
        capture_begin(&c);
        table_print(t, c.f, true, false);
        /* "名前" is 4 columns wide: padded with one space to the 5 of "abcde". */
        assert_string_equal(capture_end(&c), "ID NAME  PID\n"
                                             "1  名前    1\n"
                                             "2  abcde  22\n");
        free(c.buf);

        /* Cut to fit: a wide character is never split. */
        table_set_ellipsize(t, 1);
        assert_int_equal(
                table_add_row(t, (const char *const[]){ "3", "長い名前の作業負荷です", "3" }), 0);
        table_set_width(t, 17);
        capture_begin(&c);
        table_print(t, c.f, false, false);
        /* 17 columns each: the name column shrank from 22 to 12. */
        assert_string_equal(capture_end(&c), "1 名前          1\n"
                                             "2 abcde        22\n"
                                             "3 長い名前の…   3\n");
        free(c.buf);
}

/* --json relies on json-c's escaping: every C0 control becomes \uNNNN or \n/\t. */
static void test_json_escapes(void **state) {
        WorkloadInfo w = { .name = (char *) "e\x1b]0;t\a\tx\ny", .exit_status = -1 };
        json_object *o = workload_to_json(&w, NULL);
        const char *s;

        assert_non_null(o);
        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        assert_non_null(strstr(s, "\"e\\u001b]0;t\\u0007\\tx\\ny\""));
        for (const char *p = s; *p; p++)
                assert_true((unsigned char) *p >= 0x20);
        json_object_put(o);
}

static void test_columns_wanted(void **state) {
        assert_int_equal(columns_wanted(false, NULL, true, 80), 80);
        assert_int_equal(columns_wanted(true, NULL, true, 80), 0);
        assert_int_equal(columns_wanted(false, "120", true, 80), 120);
        assert_int_equal(columns_wanted(false, "120", false, 0), 120);
        assert_int_equal(columns_wanted(false, "junk", true, 100), 100);
        assert_int_equal(columns_wanted(false, "0", false, 0), 0);
        assert_int_equal(columns_wanted(false, NULL, false, 0), 0);
}

static WorkloadInfo sample_workload(void) {
        return (WorkloadInfo){
                .path = (char *) "/org/mlockd1/workload/7",
                .id = (char *) "7",
                .name = (char *) "qemu \"rt\"\nguest\\1",
                .policy = (char *) "50-qemu-libvirt",
                .mode = (char *) "on",
                .mechanism = (char *) "ptrace",
                .state = (char *) "locked",
                .error = (char *) "",
                .pid = 4242,
                .uid = 64055,
                .limit_bytes = 1024ULL << 20,
                .locked_bytes = 512ULL << 20,
                .resident_bytes = 600ULL << 20,
                .swap_bytes = 0,
                .pinned_bytes = 4096,
                .major_faults = 3,
                .minor_faults = 120000,
                .lock_duration_usec = 1234567,
                .started_at_usec = 1795302902ULL * 1000000,
                .exit_status = -1,
                .full = true,
        };
}

static void test_status_block(void **state) {
        WorkloadInfo w = sample_workload();
        Capture c;

        /* Escaped: a name, policy or error never talks to the terminal. */
        w.name = (char *) "a\x1b[2Jb\ac";
        w.error = (char *) "bad\tthing";
        capture_begin(&c);
        workload_format_status(c.f, &w, NULL, 0, false);
        {
                const char *out = capture_end(&c);
                assert_non_null(strstr(out, "● a\\e[2Jb\\ac (workload 7)\n"));
                assert_non_null(strstr(out, "Error: bad\\tthing\n"));
                assert_null(strchr(out, '\x1b'));
        }
        free(c.buf);
        w.error = NULL;

        w.name = (char *) "qemu-rt";
        w.containment = (char *) "none (managed by machine-qemu\\x2d1\\x2dqemu\\x2drt.scope)";
        capture_begin(&c);
        workload_format_status(c.f, &w, "libvirt-qemu", 1795302902ULL * 1000000 + 65000000, false);
        assert_string_equal(
                capture_end(&c),
                "● qemu-rt (workload 7)\n"
                "         PID: 4242\n"
                "        User: libvirt-qemu (64055)\n"
                "      Policy: 50-qemu-libvirt\n"
                "        Mode: on\n"
                "   Mechanism: ptrace\n"
                " Containment: none (managed by machine-qemu\\x2d1\\x2dqemu\\x2drt.scope)\n"
                "       State: locked\n"
                "      Locked: 512.0M of 1.0G limit (50%)\n"
                "    Resident: 600.0M, swap 0B, pinned 4.0K\n"
                "      Faults: 3 major, 120000 minor\n"
                "   Lock time: 1.234s\n"
                "     Started: 2026-11-21 23:15:02 UTC; 1min 5s ago\n");
        free(c.buf);

        /* An exited workload with an error and an unlimited limit. */
        w.state = (char *) "exited";
        w.containment = NULL; /* a daemon without the property */
        w.exit_status = 3;
        w.error = (char *) "mlockall: Cannot allocate memory";
        w.limit_bytes = UINT64_MAX;
        w.lock_duration_usec = 0;
        capture_begin(&c);
        workload_format_status(c.f, &w, NULL, 0, false);
        assert_string_equal(capture_end(&c), "○ qemu-rt (workload 7)\n"
                                             "         PID: 4242\n"
                                             "        User: 64055\n"
                                             "      Policy: 50-qemu-libvirt\n"
                                             "        Mode: on\n"
                                             "   Mechanism: ptrace\n"
                                             "       State: exited (status 3)\n"
                                             "      Locked: 512.0M of infinity limit (-)\n"
                                             "    Resident: 600.0M, swap 0B, pinned 4.0K\n"
                                             "      Faults: 3 major, 120000 minor\n"
                                             "   Lock time: n/a\n"
                                             "     Started: 2026-11-21 23:15:02 UTC; n/a\n"
                                             "       Error: mlockall: Cannot allocate memory\n");
        free(c.buf);
}

static void test_daemon_block_and_total(void **state) {
        char *policies[] = { (char *) "a", (char *) "b", NULL };
        DaemonInfo d = {
                .version = (char *) "0.1.0",
                .budget_bytes = 8ULL << 30,
                .reserved_bytes = 2ULL << 30,
                .locked_bytes = 1536ULL << 20,
                .system_mlocked_bytes = 1600ULL << 20,
                .n_workloads = 3,
                .policies = policies,
                .n_policies = 2,
        };
        Capture c;

        capture_begin(&c);
        daemon_format_status(c.f, &d, "/tmp/x/io.socket", false);
        assert_string_equal(capture_end(&c), "● mlockd 0.1.0\n"
                                             "      Socket: /tmp/x/io.socket\n"
                                             "      Budget: 8.0G\n"
                                             "    Reserved: 2.0G (25% of budget)\n"
                                             "      Locked: 1.5G\n"
                                             "     Mlocked: 1.5G\n"
                                             "   Workloads: 3\n"
                                             "    Policies: 2\n");
        free(c.buf);

        capture_begin(&c);
        list_format_total(c.f, 3, 1536ULL << 20, &d);
        list_format_total(c.f, 1, 0, &(DaemonInfo){ .budget_bytes = UINT64_MAX });
        assert_string_equal(capture_end(&c),
                            "3 workloads, 1.5G locked, 2.0G reserved of 8.0G budget (25%).\n"
                            "1 workload, 0B locked, 0B reserved of infinity budget (-).\n");
        free(c.buf);
}

static void test_progress(void **state) {
        char b[256];

        assert_string_equal(
                format_progress(b, sizeof(b), "db", 1ULL << 30, 4ULL << 30, 512ULL << 20),
                "Locking 'db': 1.0G / 4.0G (25%), 512.0M/s, ETA 6s");
        assert_string_equal(format_progress(b, sizeof(b), "db", 0, 64ULL << 30, 1ULL << 20),
                            "Locking 'db': 0B / 64.0G (0%), 1.0M/s, ETA 18h 12min");
        assert_string_equal(format_progress(b, sizeof(b), "db", 1ULL << 30, UINT64_MAX, 0),
                            "Locking 'db': 1.0G / ?");
        assert_string_equal(format_progress(b, sizeof(b), NULL, 5ULL << 30, 4ULL << 30, 1ULL << 30),
                            "Locking 'n/a': 5.0G / 4.0G (100%), 1.0G/s");
}

static void test_prometheus_escape(void **state) {
        Capture c;

        capture_begin(&c);
        prometheus_write_label_value(c.f, "a\"b\\c\nd");
        prometheus_write_label_value(c.f, NULL);
        assert_string_equal(capture_end(&c), "\"a\\\"b\\\\c\\nd\"\"\"");
        free(c.buf);

        /* ESC, BEL, TAB: as the text \e, \a, \t, whose backslash the format escapes. */
        capture_begin(&c);
        prometheus_write_label_value(c.f, "x\x1b]0;t\a\ty");
        assert_string_equal(capture_end(&c), "\"x\\\\e]0;t\\\\a\\\\ty\"");
        free(c.buf);
}

static void test_prometheus_render(void **state) {
        WorkloadInfo w = sample_workload();
        DaemonInfo d = { .version = (char *) "0.9",
                         .budget_bytes = UINT64_MAX,
                         .reserved_bytes = 1ULL << 30 };
        const char *out;
        Capture c;

        capture_begin(&c);
        assert_int_equal(prometheus_render(c.f, &d, &w, 1), 0);
        out = capture_end(&c);
        assert_non_null(strstr(out, "# HELP mlockd_budget_bytes "));
        assert_non_null(
                strstr(out, "# TYPE mlockd_budget_bytes gauge\nmlockd_budget_bytes +Inf\n"));
        assert_non_null(strstr(out, "\nmlockd_reserved_bytes 1073741824\n"));
        assert_non_null(strstr(out, "# TYPE mlockd_workload_major_faults_total counter\n"
                                    "mlockd_workload_major_faults_total{id=\"7\",name=\"qemu "
                                    "\\\"rt\\\"\\nguest\\\\1\",policy=\"50-qemu-libvirt\"} 3\n"));
        assert_non_null(strstr(out, "mlockd_workload_locked_bytes{id=\"7\",name=\"qemu "
                                    "\\\"rt\\\"\\nguest\\\\1\",policy=\"50-qemu-libvirt\"} "
                                    "536870912\n"));
        assert_non_null(strstr(out, "mlockd_workload_lock_duration_seconds{id=\"7\",name=\"qemu "
                                    "\\\"rt\\\"\\nguest\\\\1\",policy=\"50-qemu-libvirt\"} "
                                    "1.234567\n"));
        /* Info labels are settings only: no pid (a new series per restart), no state. */
        assert_non_null(strstr(out, "mlockd_workload_info{id=\"7\",name=\"qemu "
                                    "\\\"rt\\\"\\nguest\\\\1\",policy=\"50-qemu-libvirt\","
                                    "uid=\"64055\",mode=\"on\",mechanism=\"ptrace\"} 1\n"));
        assert_null(strstr(out, "pid="));
        /* States are a labelled gauge, every known state present. */
        assert_non_null(strstr(out, "# TYPE mlockd_workloads gauge\n"));
        assert_non_null(strstr(out, "\nmlockd_workloads{state=\"locked\"} 1\n"));
        assert_non_null(strstr(out, "\nmlockd_workloads{state=\"starting\"} 0\n"));
        assert_non_null(strstr(out, "\nmlockd_build_info{version=\"0.9\"} 1\n"));
        /* Every line is a comment or a sample; HELP and TYPE come once per family. */
        assert_null(strstr(out, "\n\n"));
        free(c.buf);

        /* A state this client does not know is counted once, with its escaped name. */
        WorkloadInfo two[3] = { sample_workload(), sample_workload(), sample_workload() };
        two[0].state = two[2].state = (char *) "paused\"x";
        capture_begin(&c);
        assert_int_equal(prometheus_render(c.f, &d, two, 3), 0);
        out = capture_end(&c);
        assert_non_null(strstr(out, "\nmlockd_workloads{state=\"paused\\\"x\"} 2\n"));
        assert_null(strstr(strstr(out, "state=\"paused") + 1, "state=\"paused"));
        assert_non_null(strstr(out, "\nmlockd_workloads{state=\"locked\"} 1\n"));
        free(c.buf);

        /* No workloads: no workload families at all (a family without samples is noise). */
        capture_begin(&c);
        assert_int_equal(prometheus_render(c.f, &d, NULL, 0), 0);
        out = capture_end(&c);
        assert_null(strstr(out, "mlockd_workload_"));
        assert_non_null(strstr(out, "mlockd_workloads{state=\"locked\"} 0\n"));
        free(c.buf);
}

static void test_host_checks(void **state) {
        CheckResult r = {};
        const uint64_t all_caps = (1ULL << 14) | (1ULL << 19) | (1ULL << 24);

#define EXPECT(call, lvl)                                                                          \
        do {                                                                                       \
                assert_int_equal(call, 0);                                                         \
                assert_int_equal(r.level, lvl);                                                    \
                assert_non_null(r.message);                                                        \
                assert_non_null(r.name);                                                           \
                if ((lvl) == CHECK_FAIL)                                                           \
                        assert_non_null(r.hint);                                                   \
                check_result_done(&r);                                                             \
        } while (0)

        EXPECT(check_swap(0, 0, 60, &r), CHECK_OK);
        EXPECT(check_swap(4ULL << 30, 4ULL << 30, 60, &r), CHECK_OK);
        EXPECT(check_swap(4ULL << 30, 4ULL << 30, 150, &r), CHECK_WARN);
        EXPECT(check_swap(UINT64_MAX, UINT64_MAX, -1, &r), CHECK_WARN);
        EXPECT(check_rlimit_memlock(UINT64_MAX, UINT64_MAX, &r), CHECK_OK);
        EXPECT(check_rlimit_memlock(8 << 20, 8 << 20, &r), CHECK_WARN);
        EXPECT(check_daemon_caps(false, "/x", 0, 0, &r), CHECK_WARN);
        EXPECT(check_daemon_caps(true, "/x", 1, all_caps, &r), CHECK_OK);
        EXPECT(check_daemon_caps(true, "/x", 1, 1ULL << 14, &r), CHECK_WARN);
        EXPECT(check_daemon_caps(true, "/x", 1, 0, &r), CHECK_FAIL);
        EXPECT(check_daemon_caps(true, "/x", 0, UINT64_MAX, &r), CHECK_WARN);
        EXPECT(check_yama(-1, &r), CHECK_OK);
        EXPECT(check_yama(1, &r), CHECK_OK);
        EXPECT(check_yama(3, &r), CHECK_FAIL);
        EXPECT(check_thp("always [madvise] never\n", &r), CHECK_OK);
        EXPECT(check_thp("always madvise [never]\n", &r), CHECK_WARN);
        EXPECT(check_thp(NULL, &r), CHECK_WARN);
        EXPECT(check_thp("garbage", &r), CHECK_WARN);
        EXPECT(check_ksm(-1, &r), CHECK_OK);
        EXPECT(check_ksm(0, &r), CHECK_OK);
        EXPECT(check_ksm(1, &r), CHECK_WARN);
        EXPECT(check_compact_unevictable(0, &r), CHECK_OK);
        EXPECT(check_compact_unevictable(1, &r), CHECK_WARN);
        EXPECT(check_budget(16ULL << 30, 0, 0, &r), CHECK_OK);
        EXPECT(check_budget(16ULL << 30, 8ULL << 30, 0, &r), CHECK_OK);
        EXPECT(check_budget(16ULL << 30, 15ULL << 30, 0, &r), CHECK_WARN);
        EXPECT(check_budget(16ULL << 30, UINT64_MAX, 0, &r), CHECK_WARN);
        EXPECT(check_onfault(0, &r), CHECK_OK);
        EXPECT(check_onfault(EINVAL, &r), CHECK_FAIL);
        EXPECT(check_onfault(EPERM, &r), CHECK_WARN);
        EXPECT(check_populate_write(0, &r), CHECK_OK);
        EXPECT(check_populate_write(EINVAL, &r), CHECK_WARN);

        assert_int_equal(check_budget(16ULL << 30, 8ULL << 30, 1ULL << 30, &r), 0);
        assert_string_equal(r.message, "Budget: 8.0G (50% of MemTotal 16.0G), 1.0G reserved");
        check_result_done(&r);
        assert_int_equal(check_daemon_caps(true, "/x", 77, 1ULL << 14, &r), 0);
        assert_non_null(strstr(r.message, "pid 77"));
        assert_non_null(strstr(r.message, "lacks CAP_SYS_RESOURCE CAP_SYS_PTRACE:"));
        check_result_done(&r);
        assert_string_equal(check_level_to_string(CHECK_FAIL), "FAIL");
        assert_null(check_level_to_string(_CHECK_LEVEL_MAX));
#undef EXPECT
}

static void test_workload_info_done(void **state) {
        WorkloadInfo *a = calloc(2, sizeof(WorkloadInfo));
        DaemonInfo d = {};

        assert_non_null(a);
        a[0].id = strdup("1");
        a[1].name = strdup("x");
        workload_info_array_free(a, 2); /* ASan checks that nothing leaks */
        workload_info_array_free(NULL, 0);
        d.version = strdup("1");
        daemon_info_done(&d);
        assert_null(d.version);
        daemon_info_done(NULL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_duration),
                cmocka_unit_test(test_timestamps),
                cmocka_unit_test(test_percent),
                cmocka_unit_test(test_colors),
                cmocka_unit_test(test_closest),
                cmocka_unit_test(test_table),
                cmocka_unit_test(test_table_fit),
                cmocka_unit_test(test_table_cjk),
                cmocka_unit_test(test_columns_wanted),
                cmocka_unit_test(test_json_escapes),
                cmocka_unit_test(test_status_block),
                cmocka_unit_test(test_daemon_block_and_total),
                cmocka_unit_test(test_progress),
                cmocka_unit_test(test_prometheus_escape),
                cmocka_unit_test(test_prometheus_render),
                cmocka_unit_test(test_host_checks),
                cmocka_unit_test(test_workload_info_done),
        };

        /* Display widths of CJK names need a UTF-8 LC_CTYPE (built into glibc). */
        if (!setlocale(LC_CTYPE, "C.UTF-8")) {
                fprintf(stderr, "SKIP: no C.UTF-8 locale\n");
                return 77;
        }
        /* Timestamps are compared in UTC, whatever the machine's zone. */
        setenv("TZ", "UTC", 1);
        tzset();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
