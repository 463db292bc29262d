/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for mlockd.conf (policy/config.c): defaults, every key, every error with its exact
 * message, a failed parse leaves the settings alone, file checks, and conf/mlockd.conf. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "build-config.h"
#include "common/macro.h"
#include "common/parse-util.h"
#include "common/proc.h"
#include "policy/config.h"

#define GiB (1ULL << 30)
#define MEM_TOTAL (10 * GiB)

static int parse(const char *text, DaemonConfig *c, PolicyDiagnostics *d) {
        return daemon_config_parse("m.conf", text, strlen(text), MEM_TOTAL, c, d);
}

static void expect_errors_v(const char *text, ...) {
        DaemonConfig c;
        PolicyDiagnostics d = {};
        va_list ap;
        size_t n = 0;

        assert_int_equal(daemon_config_init(&c, MEM_TOTAL), 0);
        assert_int_equal(parse(text, &c, &d), -EINVAL);
        va_start(ap, text);
        for (const char *m; (m = va_arg(ap, const char *)); n++) {
                if (n >= d.n || !streq(d.messages[n], m))
                        policy_diagnostics_print(&d, stderr);
                assert_true(n < d.n);
                assert_string_equal(d.messages[n], m);
        }
        va_end(ap);
        assert_int_equal(d.n, n);
        /* Nothing of the broken file was applied. */
        assert_true(c.budget == 8 * GiB);
        assert_string_equal(c.budget_spec, "80%");
        assert_int_equal(c.max_workloads_per_user, 64);
        assert_string_equal(c.socket_path, MLOCKD_SOCKET_PATH);
        assert_null(c.libvirt_uri);
        policy_diagnostics_clear(&d);
        daemon_config_done(&c);
}
#define expect_errors(text, ...) expect_errors_v(text, __VA_ARGS__, NULL)

static void test_defaults(void **state) {
        DaemonConfig c;

        assert_int_equal(daemon_config_init(&c, MEM_TOTAL), 0);
        assert_true(c.budget == 8 * GiB);
        assert_string_equal(c.budget_spec, DAEMON_CONFIG_BUDGET_DEFAULT);
        assert_int_equal(c.max_workloads_per_user, DAEMON_CONFIG_MAX_WORKLOADS_PER_USER_DEFAULT);
        assert_string_equal(c.socket_path, MLOCKD_SOCKET_PATH);
        assert_false(c.system_bus);
        assert_string_equal(c.state_directory, MLOCKD_STATE_DIR);
        assert_null(c.libvirt_uri);
        _cleanup_free_ char *s = daemon_config_summary(&c);
        assert_non_null(strstr(s, "Budget=8.0G (80%) MaxWorkloadsPerUser=64 "
                                  "MaxLockedPerUser=4.0G (50%)"));
        assert_true(c.max_locked_per_user == 4 * GiB);
        daemon_config_done(&c);
        assert_null(c.socket_path);

        /* 0: read /proc/meminfo. */
        MemInfo mi;
        assert_int_equal(daemon_config_init(&c, 0), 0);
        if (meminfo_read(&mi) >= 0 && mi.mem_total != PROC_UNSET)
                assert_true(c.budget == mi.mem_total * 8 / 10 ||
                            c.budget == mi.mem_total * 8 / 10 - 1 ||
                            c.budget == mi.mem_total * 8 / 10 + 1);
        daemon_config_done(&c);
}

static void test_all_keys(void **state) {
        DaemonConfig c;
        PolicyDiagnostics d = {};

        assert_int_equal(daemon_config_init(&c, MEM_TOTAL), 0);
        assert_int_equal(parse("# comment\n"
                               "[Daemon]\n"
                               "Budget=50%\n"
                               "MaxWorkloadsPerUser=3\n"
                               "Socket=/tmp/x/io.socket\n"
                               "SystemBus=yes\n"
                               "StateDirectory=/var/lib/mlockd\n"
                               "[Libvirt]\n"
                               "URI=qemu:///system\n",
                               &c, &d),
                         0);
        assert_int_equal(d.n, 0);
        assert_true(c.budget == 5 * GiB);
        assert_string_equal(c.budget_spec, "50%");
        assert_int_equal(c.max_workloads_per_user, 3);
        assert_string_equal(c.socket_path, "/tmp/x/io.socket");
        assert_true(c.system_bus);
        assert_string_equal(c.state_directory, "/var/lib/mlockd");
        assert_string_equal(c.libvirt_uri, "qemu:///system");

        /* On top of the previous values; an empty URI= turns event mode off. */
        assert_int_equal(parse("[Daemon]\nBudget=infinity\n[Libvirt]\nURI=\n", &c, &d), 0);
        assert_true(c.budget == SIZE_INFINITY);
        assert_int_equal(c.max_workloads_per_user, 3);
        assert_null(c.libvirt_uri);
        _cleanup_free_ char *s = daemon_config_summary(&c);
        assert_string_equal(s, "Budget=infinity (infinity) MaxWorkloadsPerUser=3 "
                               "MaxLockedPerUser=infinity (50%) Socket=/tmp/x/io.socket "
                               "SystemBus=yes "
                               "StateDirectory=/var/lib/mlockd URI=(none)");
        daemon_config_done(&c);
}

/* MaxLockedPerUser=: a size, infinity, or a percentage of Budget= (written before or after). */
static void test_share(void **state) {
        DaemonConfig c;
        PolicyDiagnostics d = {};

        assert_int_equal(daemon_config_init(&c, MEM_TOTAL), 0);
        assert_int_equal(parse("[Daemon]\nMaxLockedPerUser=25%\nBudget=4G\n", &c, &d), 0);
        assert_true(c.max_locked_per_user == GiB);
        assert_int_equal(parse("[Daemon]\nMaxLockedPerUser=768M\n", &c, &d), 0);
        assert_true(c.max_locked_per_user == 768ull << 20);
        assert_int_equal(parse("[Daemon]\nMaxLockedPerUser=infinity\n", &c, &d), 0);
        assert_true(c.max_locked_per_user == SIZE_INFINITY);
        daemon_config_done(&c);
        expect_errors("[Daemon]\nMaxLockedPerUser=0\n",
                      "m.conf:2: MaxLockedPerUser=0: a share of 0 bytes admits no workload of "
                      "any user but root");
        expect_errors("[Daemon]\nMaxLockedPerUser=lots\n",
                      "m.conf:2: MaxLockedPerUser=lots: not a number; expected a "
                      "size (4G), a percentage of Budget= (50%) or infinity");
}

static void test_errors(void **state) {
        expect_errors("[Daemon]\nBudget=12X\n", "m.conf:2: Budget=12X: unknown size suffix 'X'");
        expect_errors("[Daemon]\nBudget=0\n",
                      "m.conf:2: Budget=0: a budget of 0 bytes admits no workload");
        expect_errors("[Daemon]\nBudget=\n",
                      "m.conf:2: Budget=: empty value; expected a size (16G), a percentage of "
                      "memory (80%) or infinity");
        expect_errors("[Daemon]\nBuget=1G\n",
                      "m.conf:2: Buget=1G: unknown key in [Daemon]; did you mean 'Budget'?");
        expect_errors("[Daemon]\nURI=qemu:///system\n",
                      "m.conf:2: URI=qemu:///system: unknown key in [Daemon]; 'URI' belongs in "
                      "[Libvirt]");
        expect_errors("[Deamon]\nBudget=1G\n",
                      "m.conf:1: [Deamon]: unknown section; did you mean [Daemon]?");
        expect_errors("[Daemon]\nMaxWorkloadsPerUser=0\nMaxWorkloadsPerUser=x\n",
                      "m.conf:2: MaxWorkloadsPerUser=0: expected a number from 1 to 65536",
                      "m.conf:3: MaxWorkloadsPerUser=x: duplicate key, already set on line 2");
        expect_errors("[Daemon]\nSocket=run/io.socket\n",
                      "m.conf:2: Socket=run/io.socket: expected an absolute, normalized path");
        expect_errors(
                "[Daemon]\nSocket=/run/"
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
                "m.conf:2: Socket=/run/"
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                "...: path too long for a unix socket (at most 107 bytes)");
        expect_errors("[Daemon]\nStateDirectory=/run/../etc\nSystemBus=perhaps\n",
                      "m.conf:2: StateDirectory=/run/../etc: expected an absolute, normalized path",
                      "m.conf:3: SystemBus=perhaps: expected yes or no");
        expect_errors("[Libvirt]\nURI=not a uri\n",
                      "m.conf:2: URI=not a uri: not a libvirt URI; expected e.g. qemu:///system");
        expect_errors("[Libvirt]\nURI=/system\n",
                      "m.conf:2: URI=/system: not a libvirt URI; expected e.g. qemu:///system");
}

static void test_percent_without_memtotal(void **state) {
        DaemonConfig c = {
                .budget = 1,
        };
        PolicyDiagnostics d = {};
        const char *text = "[Daemon]\nBudget=50%\n";

        /* mem_total 0 reads /proc/meminfo: this works wherever /proc is mounted. */
        assert_int_equal(daemon_config_parse("m.conf", text, strlen(text), 0, &c, &d), 0);
        assert_true(c.budget > 1);
        daemon_config_done(&c);
}

/* MLOCKD_TEST_SOURCE_DIR (tests/CMakeLists.txt), not __FILE__: package builds map the source
 * directory in __FILE__ to "." (-ffile-prefix-map), and tests run in the build directory. */
static char *source_path(const char *rel) {
        char *p;

        if (asprintf(&p, "%s/%s", MLOCKD_TEST_SOURCE_DIR, rel) < 0)
                return NULL;
        return p;
}

static void test_conf_example(void **state) {
        _cleanup_free_ char *path = source_path("conf/mlockd.conf"), *buf = NULL;
        DaemonConfig c, ref;
        PolicyDiagnostics d = {};
        size_t n;

        assert_non_null(path);
        assert_int_equal(read_file_at(AT_FDCWD, path, DAEMON_CONFIG_FILE_SIZE_MAX, &buf, &n), 0);
        assert_int_equal(daemon_config_init(&c, MEM_TOTAL), 0);
        assert_int_equal(daemon_config_init(&ref, MEM_TOTAL), 0);
        int r = daemon_config_parse(path, buf, n, MEM_TOTAL, &c, &d);
        if (r < 0)
                policy_diagnostics_print(&d, stderr);
        assert_int_equal(r, 0);

        /* The example shows the defaults, commented out: uncommented, they must parse to the
         * same settings. */
        for (char *p = buf; (p = strstr(p, "\n#")); p++)
                if (p[2] >= 'A' && p[2] <= 'Z')
                        p[1] = ' ';
        r = daemon_config_parse(path, buf, n, MEM_TOTAL, &c, &d);
        if (r < 0)
                policy_diagnostics_print(&d, stderr);
        assert_int_equal(r, 0);
        assert_true(c.budget == ref.budget);
        assert_int_equal(c.max_workloads_per_user, ref.max_workloads_per_user);
        assert_string_equal(c.socket_path, ref.socket_path);
        assert_int_equal(c.system_bus, ref.system_bus);
        assert_string_equal(c.state_directory, ref.state_directory);
        assert_string_equal(c.libvirt_uri, "qemu:///system"); /* the one non-default example */
        daemon_config_done(&c);
        daemon_config_done(&ref);
}

static void test_load_file(void **state) {
        char dir[] = "/tmp/test-policy-config-XXXXXX", path[128], expect[512];
        DaemonConfig c;
        PolicyDiagnostics d = {};

        if (geteuid() != 0) {
                fprintf(stderr, "skipping file checks: they need files owned by root\n");
                return;
        }
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/mlockd.conf", dir);
        assert_int_equal(daemon_config_init(&c, MEM_TOTAL), 0);

        /* Missing: fine or not, as asked. */
        assert_int_equal(daemon_config_load(path, true, MEM_TOTAL, &c, &d), 0);
        assert_int_equal(daemon_config_load(path, false, MEM_TOTAL, &c, &d), -EINVAL);
        snprintf(expect, sizeof(expect), "%s: No such file or directory", path);
        assert_string_equal(d.messages[0], expect);
        policy_diagnostics_clear(&d);

        FILE *f = fopen(path, "we");
        assert_non_null(f);
        fputs("[Daemon]\nMaxWorkloadsPerUser=7\n", f);
        fclose(f);
        assert_int_equal(chmod(path, 0644), 0);
        assert_int_equal(daemon_config_load(path, false, MEM_TOTAL, &c, &d), 0);
        assert_int_equal(c.max_workloads_per_user, 7);

        assert_int_equal(chmod(path, 0666), 0);
        assert_int_equal(daemon_config_load(path, false, MEM_TOTAL, &c, &d), -EINVAL);
        snprintf(expect, sizeof(expect),
                 "%s: refusing a configuration file writable by group or others (mode 0666); "
                 "run chmod go-w '%s'",
                 path, path);
        assert_string_equal(d.messages[0], expect);
        policy_diagnostics_clear(&d);

        assert_int_equal(unlink(path), 0);
        assert_int_equal(symlink("/dev/null", path), 0);
        assert_int_equal(daemon_config_load(path, false, MEM_TOTAL, &c, &d), 0);
        assert_int_equal(c.max_workloads_per_user, 7);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(rmdir(dir), 0);
        daemon_config_done(&c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_all_keys),
                cmocka_unit_test(test_share),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_percent_without_memtotal),
                cmocka_unit_test(test_conf_example),
                cmocka_unit_test(test_load_file),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
