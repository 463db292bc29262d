/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for loading policy sets from real directories (policy/policy-set.c,
 * policy/trusted-file.c, policy/policy-check.c): masking across directories, /dev/null
 * masks, lexical order, the first match across directories, permission and size checks,
 * and the output of policy_check(). Files must be owned by root: the test needs root. */
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

#include "common/macro.h"
#include "common/parse-util.h"
#include "policy/policy.h"

#define GiB (1ULL << 30)
#define MiB (1ULL << 20)

typedef struct Dirs {
        char top[64];
        char a[96], b[96], c[96];
} Dirs;

static void write_file(const char *dir, const char *name, mode_t mode, const char *text) {
        char path[256];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        fputs(text, f);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(chmod(path, mode), 0);
}

static void link_null(const char *dir, const char *name) {
        char path[256];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        assert_int_equal(symlink("/dev/null", path), 0);
}

static int setup(void **state) {
        Dirs *d = calloc(1, sizeof(Dirs));
        assert_non_null(d);
        strcpy(d->top, "/tmp/test-policy-set-XXXXXX");
        assert_non_null(mkdtemp(d->top));
        snprintf(d->a, sizeof(d->a), "%s/etc", d->top);
        snprintf(d->b, sizeof(d->b), "%s/run", d->top);
        snprintf(d->c, sizeof(d->c), "%s/usr", d->top);
        assert_int_equal(mkdir(d->a, 0755), 0);
        assert_int_equal(mkdir(d->b, 0755), 0);
        assert_int_equal(mkdir(d->c, 0755), 0);
        *state = d;
        return 0;
}

static int teardown(void **state) {
        Dirs *d = *state;
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->top);
        assert_int_equal(system(cmd), 0);
        free(d);
        return 0;
}

static int load(const Dirs *d, PolicySet **ret, PolicyDiagnostics *diags) {
        char *const dirs[] = { (char *) d->a, (char *) d->b, (char *) d->c, NULL };
        return policy_set_load_paths(dirs, 16 * GiB, 0, ret, diags);
}

static void dump(const PolicyDiagnostics *d) {
        for (size_t i = 0; i < d->n; i++)
                fprintf(stderr, "  diag: %s\n", d->messages[i]);
}

static PolicySet *load_ok(const Dirs *d) {
        PolicyDiagnostics diags = {};
        PolicySet *s = NULL;
        int r = load(d, &s, &diags);
        if (r < 0)
                dump(&diags);
        assert_int_equal(r, 0);
        assert_int_equal(diags.n, 0);
        return s;
}

static void populate(const Dirs *d) {
        /* 20-x in etc masks 20-x in run (different limit). */
        write_file(d->a, "20-x.policy", 0644, "[Match]\nExecutable=/bin/x*\n[Lock]\nLimit=1G\n");
        write_file(d->b, "20-x.policy", 0644, "[Match]\nExecutable=/bin/x*\n[Lock]\nLimit=2G\n");
        /* 10-y in run masks a broken 10-y in usr: the broken one is never parsed. */
        write_file(d->b, "10-y.policy", 0644, "[Match]\nExecutable=/bin/xy\n[Lock]\nLimit=3G\n");
        write_file(d->c, "10-y.policy", 0644, "[Lock]\nLimit=broken\n");
        /* 05-z only in usr: sorted first across directories. */
        write_file(d->c, "05-z.policy", 0644, "[Match]\nExecutable=/bin/z\n[Lock]\nLimit=4G\n");
        /* 30-w in etc; 40-v in usr masked by a /dev/null link in etc. */
        write_file(d->a, "30-w.policy", 0644, "[Lock]\nLimit=5G\n");
        link_null(d->a, "40-v.policy");
        write_file(d->c, "40-v.policy", 0644, "[Lock]\nLimit=6G\n");
        /* Not policies: ignored. */
        write_file(d->a, "README", 0644, "not a policy\n");
        write_file(d->a, ".hidden.policy", 0644, "garbage\n");
        write_file(d->b, "20-x.policy~", 0644, "garbage\n");
}

static void test_masking_and_order(void **state) {
        const Dirs *d = *state;
        char path[256];

        populate(d);
        PolicySet *s = load_ok(d);

        assert_int_equal(policy_set_size(s), 4);
        assert_string_equal(policy_name(policy_set_get(s, 0)), "05-z");
        assert_string_equal(policy_name(policy_set_get(s, 1)), "10-y");
        assert_string_equal(policy_name(policy_set_get(s, 2)), "20-x");
        assert_string_equal(policy_name(policy_set_get(s, 3)), "30-w");
        assert_null(policy_set_get(s, 4));
        assert_null(policy_set_find(s, "40-v"));

        const Policy *x = policy_set_find(s, "20-x");
        assert_non_null(x);
        assert_true(policy_lock(x)->limit == GiB);
        snprintf(path, sizeof(path), "%s/20-x.policy", d->a);
        assert_string_equal(policy_path(x), path);
        assert_true(policy_lock(policy_set_find(s, "10-y"))->limit == 3 * GiB);
        snprintf(path, sizeof(path), "%s/05-z.policy", d->c);
        assert_string_equal(policy_path(policy_set_find(s, "05-z")), path);

        /* The first match across directories: /bin/xy matches 10-y (run) before 20-x (etc). */
        PolicyRequest req;
        PolicyDecision dec = {};
        policy_request_init(&req);
        req.caller_uid = req.target_uid = 0;
        req.caller_gid = req.target_gid = 0;
        req.exe = "/bin/xy";
        assert_int_equal(policy_decide(s, &req, &dec), 0);
        assert_int_equal(dec.verdict, VERDICT_ALLOW);
        assert_string_equal(policy_name(dec.policy), "10-y");
        assert_string_equal(dec.skipped[0], "05-z: Executable=/bin/z does not match /bin/xy");
        assert_null(dec.skipped[1]);
        policy_decision_clear(&dec);

        /* /bin/xz: 20-x from etc, with etc's limit. */
        req.exe = "/bin/xz";
        assert_int_equal(policy_decide(s, &req, &dec), 0);
        assert_string_equal(policy_name(dec.policy), "20-x");
        assert_true(dec.settings.limit == GiB);
        policy_decision_clear(&dec);

        /* Anything else: 30-w, never the masked 40-v. */
        req.exe = "/usr/bin/sleep";
        assert_int_equal(policy_decide(s, &req, &dec), 0);
        assert_string_equal(policy_name(dec.policy), "30-w");
        policy_decision_clear(&dec);
        policy_set_free(s);

        /* Unmask 40-v and mask 30-w instead: the catch-all moves. */
        snprintf(path, sizeof(path), "%s/40-v.policy", d->a);
        assert_int_equal(unlink(path), 0);
        snprintf(path, sizeof(path), "%s/30-w.policy", d->a);
        assert_int_equal(unlink(path), 0);
        link_null(d->b, "30-w.policy");
        write_file(d->c, "30-w.policy", 0644, "[Lock]\nLimit=7G\n");
        s = load_ok(d);
        assert_int_equal(policy_set_size(s), 4);
        assert_null(policy_set_find(s, "30-w"));
        assert_true(policy_lock(policy_set_find(s, "40-v"))->limit == 6 * GiB);
        assert_int_equal(policy_decide(s, &req, &dec), 0);
        assert_string_equal(policy_name(dec.policy), "40-v");
        policy_decision_clear(&dec);
        policy_set_free(s);
}

static void test_errors_of_every_file(void **state) {
        const Dirs *d = *state;
        PolicyDiagnostics diags = {};
        PolicySet *s = NULL;
        char expect[1024];

        write_file(d->a, "10-a.policy", 0644, "[Lock]\nLimit=12X\n");
        write_file(d->b, "20-b.policy", 0644, "[Lock]\nLimt=1G\nLimit=1G\n");
        write_file(d->c, "30-c.policy", 0644, "[Lock]\nLimit=1G\n");
        assert_int_equal(load(d, &s, &diags), -EINVAL);
        assert_null(s);
        assert_int_equal(diags.n, 2);
        snprintf(expect, sizeof(expect), "%s/10-a.policy:2: Limit=12X: unknown size suffix 'X'",
                 d->a);
        assert_string_equal(diags.messages[0], expect);
        snprintf(expect, sizeof(expect),
                 "%s/20-b.policy:2: Limt=1G: unknown key in [Lock]; did you mean 'Limit'?", d->b);
        assert_string_equal(diags.messages[1], expect);
        policy_diagnostics_clear(&diags);

        /* A mask hides a broken file. */
        link_null(d->a, "20-b.policy");
        char path[256];
        snprintf(path, sizeof(path), "%s/10-a.policy", d->a);
        assert_int_equal(unlink(path), 0);
        s = load_ok(d);
        assert_int_equal(policy_set_size(s), 1);
        policy_set_free(s);
}

static void test_permissions(void **state) {
        const Dirs *d = *state;
        PolicyDiagnostics diags = {};
        PolicySet *s = NULL;
        char path[256], expect[1024];

        write_file(d->a, "10-a.policy", 0666, "[Lock]\nLimit=1G\n");
        write_file(d->a, "20-b.policy", 0620, "[Lock]\nLimit=1G\n");
        write_file(d->a, "30-c.policy", 0600, "[Lock]\nLimit=1G\n");
        write_file(d->a, "40-d.policy", 0644, "[Lock]\nLimit=1G\n");
        snprintf(path, sizeof(path), "%s/40-d.policy", d->a);
        assert_int_equal(chown(path, 65534, 65534), 0);

        assert_int_equal(load(d, &s, &diags), -EINVAL);
        assert_int_equal(diags.n, 3);
        snprintf(path, sizeof(path), "%s/10-a.policy", d->a);
        snprintf(expect, sizeof(expect),
                 "%s: refusing a policy file writable by group or others (mode 0666); run chmod "
                 "go-w '%s'",
                 path, path);
        assert_string_equal(diags.messages[0], expect);
        snprintf(path, sizeof(path), "%s/20-b.policy", d->a);
        assert_non_null(strstr(diags.messages[1], path));
        assert_non_null(strstr(diags.messages[1], "(mode 0620)"));
        snprintf(path, sizeof(path), "%s/40-d.policy", d->a);
        snprintf(expect, sizeof(expect),
                 "%s: refusing a policy file owned by uid 65534 (mode 0644): only root may own "
                 "it; run chown root: '%s'",
                 path, path);
        assert_string_equal(diags.messages[2], expect);
        policy_diagnostics_clear(&diags);

        /* A world-writable directory is refused as a whole. */
        char dir[128];
        snprintf(dir, sizeof(dir), "%s/open", d->top);
        assert_int_equal(mkdir(dir, 0755), 0);
        assert_int_equal(chmod(dir, 0777), 0);
        write_file(dir, "10-a.policy", 0644, "[Lock]\nLimit=1G\n");
        char *const dirs[] = { dir, NULL };
        assert_int_equal(policy_set_load_paths(dirs, 16 * GiB, 0, &s, &diags), -EINVAL);
        assert_int_equal(diags.n, 1);
        snprintf(expect, sizeof(expect),
                 "%s: refusing a policy directory writable by group or others (mode 0777); run "
                 "chmod go-w '%s'",
                 dir, dir);
        assert_string_equal(diags.messages[0], expect);
        policy_diagnostics_clear(&diags);
}

static void test_special_files(void **state) {
        const Dirs *d = *state;
        PolicyDiagnostics diags = {};
        PolicySet *s = NULL;
        char path[256], expect[1024];

        /* A FIFO must neither hang the loader nor be read. */
        snprintf(path, sizeof(path), "%s/10-fifo.policy", d->a);
        assert_int_equal(mkfifo(path, 0644), 0);
        /* A directory named like a policy. */
        snprintf(path, sizeof(path), "%s/20-dir.policy", d->a);
        assert_int_equal(mkdir(path, 0755), 0);
        /* Too large. */
        size_t n = POLICY_FILE_SIZE_MAX + 10;
        char *big = malloc(n + 1);
        assert_non_null(big);
        memset(big, '#', n);
        big[n] = '\0';
        write_file(d->a, "30-big.policy", 0644, big);
        free(big);
        /* Empty: a policy without Limit=. */
        write_file(d->a, "40-empty.policy", 0644, "");
        /* A dangling symlink. */
        snprintf(path, sizeof(path), "%s/50-dangling.policy", d->a);
        assert_int_equal(symlink("/nonexistent/x", path), 0);

        assert_int_equal(load(d, &s, &diags), -EINVAL);
        if (diags.n != 4)
                dump(&diags);
        assert_int_equal(diags.n, 4);
        snprintf(expect, sizeof(expect), "%s/10-fifo.policy: not a regular file", d->a);
        assert_string_equal(diags.messages[0], expect);
        snprintf(expect, sizeof(expect), "%s/20-dir.policy: not a regular file", d->a);
        assert_string_equal(diags.messages[1], expect);
        snprintf(expect, sizeof(expect), "%s/30-big.policy: file too large (more than 65536 bytes)",
                 d->a);
        assert_string_equal(diags.messages[2], expect);
        snprintf(expect, sizeof(expect),
                 "%s/40-empty.policy: [Lock] Limit= is missing: say how much this policy may "
                 "lock, e.g. Limit=4G, Limit=25%% or Limit=infinity",
                 d->a);
        assert_string_equal(diags.messages[3], expect);
        policy_diagnostics_clear(&diags);
}

static void test_missing_paths_and_files(void **state) {
        const Dirs *d = *state;
        PolicyDiagnostics diags = {};
        PolicySet *s = NULL;
        char missing[128], file[256], expect[1024];

        snprintf(missing, sizeof(missing), "%s/missing", d->top);
        char *const dirs[] = { missing, (char *) d->a, NULL };

        /* The daemon's loader: missing directories are fine. */
        assert_int_equal(policy_set_load(dirs, &s, &diags), 0);
        assert_int_equal(policy_set_size(s), 0);
        policy_set_free(s);
        s = NULL;

        /* An explicit path that does not exist is an error. */
        assert_int_equal(policy_set_load_paths(dirs, GiB, 0, &s, &diags), -EINVAL);
        assert_int_equal(diags.n, 1);
        snprintf(expect, sizeof(expect), "%s: No such file or directory", missing);
        assert_string_equal(diags.messages[0], expect);
        policy_diagnostics_clear(&diags);

        /* Single files, named after their base name; an earlier one masks a later one. */
        write_file(d->a, "10-one.policy", 0644, "[Lock]\nLimit=10%\n");
        write_file(d->b, "10-one.policy", 0644, "[Lock]\nLimit=broken\n");
        snprintf(file, sizeof(file), "%s/10-one.policy", d->a);
        char other[256];
        snprintf(other, sizeof(other), "%s/10-one.policy", d->b);
        char *const files[] = { file, other, NULL };
        assert_int_equal(policy_set_load_paths(files, 10 * GiB, 0, &s, &diags), 0);
        assert_int_equal(policy_set_size(s), 1);
        assert_string_equal(policy_name(policy_set_get(s, 0)), "10-one");
        assert_true(policy_lock(policy_set_get(s, 0))->limit == GiB);
        policy_set_free(s);
}

static void test_check_output(void **state) {
        const Dirs *d = *state;
        char *buf = NULL;
        size_t len = 0;
        FILE *f;

        write_file(d->a, "10-a.policy", 0644,
                   "[Policy]\nDescription=First\n[Match]\nUser=daemon\n[Lock]\nLimit=1G\n");
        write_file(d->b, "20-b.policy", 0644, "[Access]\nAllowRun=no\nAllowAttach=no\n");
        char *const dirs[] = { (char *) d->a, (char *) d->b, NULL };

        f = open_memstream(&buf, &len);
        assert_non_null(f);
        assert_int_equal(policy_check(dirs, 16 * GiB, f), 0);
        fclose(f);
        assert_string_equal(buf, "10-a: match User=daemon; lock Mode=on Limit=1.0G "
                                 "PrefaultThreads=auto TransparentHugepages=yes Inherit=no "
                                 "OnFailure=abort OnExceed=warn; access AllowUsers=(root only) "
                                 "AllowRun=yes AllowAttach=yes — \"First\"\n"
                                 "20-b: match everything; deny run and attach\n");
        free(buf);

        write_file(d->b, "30-c.policy", 0644, "[Lock]\nLimit=1G\nMode=off\nInherit=x\n");
        f = open_memstream(&buf, &len);
        assert_non_null(f);
        assert_int_equal(policy_check(dirs, 16 * GiB, f), -EINVAL);
        fclose(f);
        char expect[1024];
        snprintf(expect, sizeof(expect),
                 "%s/30-c.policy:3: Mode=off: unknown mode; expected on, on-fault or current\n"
                 "%s/30-c.policy:4: Inherit=x: expected yes or no\n"
                 "2 errors found.\n",
                 d->b, d->b);
        assert_string_equal(buf, expect);
        free(buf);

        /* Nothing to load. */
        char empty[128];
        snprintf(empty, sizeof(empty), "%s/empty", d->top);
        assert_int_equal(mkdir(empty, 0755), 0);
        char *const none[] = { empty, NULL };
        f = open_memstream(&buf, &len);
        assert_int_equal(policy_check(none, 16 * GiB, f), 0);
        fclose(f);
        snprintf(expect, sizeof(expect), "No policies found in %s.\n", empty);
        assert_string_equal(buf, expect);
        free(buf);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_masking_and_order, setup, teardown),
                cmocka_unit_test_setup_teardown(test_errors_of_every_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_permissions, setup, teardown),
                cmocka_unit_test_setup_teardown(test_special_files, setup, teardown),
                cmocka_unit_test_setup_teardown(test_missing_paths_and_files, setup, teardown),
                cmocka_unit_test_setup_teardown(test_check_output, setup, teardown),
        };

        if (geteuid() != 0) {
                printf("test-policy-set: skipped, needs root (policy files must be owned by "
                       "root)\n");
                return 77;
        }
        umask(022);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
