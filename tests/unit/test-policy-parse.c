/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for the policy parser (policy/policy-parse.c, policy/ini.c, policy/suggest.c): every
 * kind of error with its exact message, all errors of a file, defaults, and the conf/
 * examples shipped with mlockd. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/macro.h"
#include "common/parse-util.h"
#include "common/proc.h"
#include "policy/policy.h"
#include "policy/suggest.h"

#define GiB (1ULL << 30)
#define MiB (1ULL << 20)
#define MEM_TOTAL (16 * GiB)

static int parse(const char *text, Policy **ret, PolicyDiagnostics *d) {
        return policy_parse("t", "t.policy", text, strlen(text), MEM_TOTAL, ret, d);
}

static void dump(const PolicyDiagnostics *d) {
        for (size_t i = 0; i < d->n; i++)
                fprintf(stderr, "  diag[%zu]: %s\n", i, d->messages[i]);
}

/* Parses text, expects failure and exactly the messages given (NULL-terminated). */
static void expect_errors_v(const char *text, ...) {
        PolicyDiagnostics d = {};
        Policy *p = NULL;
        va_list ap;
        size_t n = 0;

        int r = parse(text, &p, &d);
        if (r != -EINVAL)
                dump(&d);
        assert_int_equal(r, -EINVAL);
        assert_null(p);
        va_start(ap, text);
        for (const char *m; (m = va_arg(ap, const char *)); n++) {
                if (n >= d.n || !streq(d.messages[n], m)) {
                        fprintf(stderr, "expected diag[%zu]: %s\n", n, m);
                        dump(&d);
                }
                assert_true(n < d.n);
                assert_string_equal(d.messages[n], m);
        }
        va_end(ap);
        if (n != d.n)
                dump(&d);
        assert_int_equal(d.n, n);
        policy_diagnostics_clear(&d);
}
#define expect_errors(text, ...) expect_errors_v(text, __VA_ARGS__, NULL)

static Policy *expect_valid(const char *text) {
        PolicyDiagnostics d = {};
        Policy *p = NULL;

        int r = parse(text, &p, &d);
        if (r != 0)
                dump(&d);
        assert_int_equal(r, 0);
        assert_int_equal(d.n, 0);
        assert_non_null(p);
        return p;
}

static void test_defaults(void **state) {
        Policy *p = expect_valid("[Lock]\nLimit=1G\n");
        const LockSettings *l = policy_lock(p);

        assert_string_equal(policy_name(p), "t");
        assert_string_equal(policy_path(p), "t.policy");
        assert_null(policy_description(p));
        assert_int_equal(l->mode, LOCK_MODE_ON);
        assert_true(l->limit == GiB);
        assert_int_equal(l->prefault_threads, -1);
        assert_true(l->transparent_hugepages);
        assert_false(l->inherit);
        assert_int_equal(l->on_failure, ON_FAILURE_ABORT);
        assert_int_equal(l->on_exceed, ON_EXCEED_WARN);
        assert_true(policy_allows_run(p));
        assert_true(policy_allows_attach(p));
        policy_free(p);
}

static void test_all_keys(void **state) {
        Policy *p = expect_valid("# comment\n"
                                 "; another comment\n"
                                 "\n"
                                 "[Policy]\r\n"
                                 "Description = Guests # number one\r\n"
                                 "[Match]\n"
                                 "  Executable = /usr/bin/qemu-system-*   /usr/libexec/qemu-kvm\n"
                                 "User=root 2\n"
                                 "Group=adm 0\n"
                                 "LibvirtDomain=rt-*\n"
                                 "Unit=machine-qemu*.scope\n"
                                 "[Lock]\n"
                                 "Mode=on-fault\n"
                                 "Limit=25%\n"
                                 "PrefaultThreads=0\n"
                                 "TransparentHugepages=no\n"
                                 "Inherit=yes\n"
                                 "OnFailure=continue\n"
                                 "OnExceed=kill\n"
                                 "[Access]\n"
                                 "AllowUsers=daemon @adm 2\n"
                                 "AllowRun=no\n"
                                 "AllowAttach=yes\n");
        const LockSettings *l = policy_lock(p);

        assert_string_equal(policy_description(p), "Guests # number one");
        assert_int_equal(l->mode, LOCK_MODE_ON_FAULT);
        assert_true(l->limit == 4 * GiB);
        assert_int_equal(l->prefault_threads, 0);
        assert_false(l->transparent_hugepages);
        assert_true(l->inherit);
        assert_int_equal(l->on_failure, ON_FAILURE_CONTINUE);
        assert_int_equal(l->on_exceed, ON_EXCEED_KILL);
        assert_false(policy_allows_run(p));
        assert_true(policy_allows_attach(p));

        _cleanup_free_ char *s = policy_summary(p);
        assert_non_null(s);
        assert_string_equal(
                s, "t: match Executable=/usr/bin/qemu-system-* /usr/libexec/qemu-kvm User=root 2 "
                   "Group=adm 0 LibvirtDomain=rt-* Unit=machine-qemu*.scope; lock Mode=on-fault "
                   "Limit=4.0G (25%) PrefaultThreads=0 TransparentHugepages=no Inherit=yes "
                   "OnFailure=continue OnExceed=kill; access AllowUsers=root daemon 2 @adm "
                   "AllowRun=no AllowAttach=yes — \"Guests # number one\"");
        policy_free(p);
}

static void test_summary_deny_rule(void **state) {
        Policy *p = expect_valid("[Match]\nExecutable=/usr/sbin/sshd\n"
                                 "[Access]\nAllowRun=no\nAllowAttach=no\n");
        _cleanup_free_ char *s = policy_summary(p);
        assert_string_equal(s, "t: match Executable=/usr/sbin/sshd; deny run and attach");
        policy_free(p);

        p = expect_valid("[Lock]\nLimit=infinity\n");
        free(s);
        s = policy_summary(p);
        assert_string_equal(s, "t: match everything; lock Mode=on Limit=infinity "
                               "PrefaultThreads=auto TransparentHugepages=yes Inherit=no "
                               "OnFailure=abort OnExceed=warn; access AllowUsers=(root only) "
                               "AllowRun=yes AllowAttach=yes");
        policy_free(p);
}

static void test_list_reset_and_repeat(void **state) {
        /* Repeated list keys accumulate; an empty assignment resets. */
        Policy *p = expect_valid("[Match]\n"
                                 "Executable=/a\n"
                                 "Executable=\n"
                                 "Executable=/b /c\n"
                                 "Executable=/d\n"
                                 "User=root\n"
                                 "User=\n"
                                 "[Lock]\nLimit=1M\n"
                                 "[Access]\nAllowUsers=daemon\nAllowUsers=\nAllowUsers=bin bin\n");
        _cleanup_free_ char *s = policy_summary(p);
        assert_non_null(strstr(s, "match Executable=/b /c /d; lock"));
        assert_non_null(strstr(s, "AllowUsers=root bin AllowRun"));
        policy_free(p);
}

static void test_sections_repeat(void **state) {
        /* A section may appear twice; single keys are still single across them. */
        expect_errors("[Lock]\nLimit=1G\n[Access]\nAllowRun=yes\n[Lock]\nLimit=2G\n",
                      "t.policy:6: Limit=2G: duplicate key, already set on line 2");
}

static void test_error_unknown_section(void **state) {
        expect_errors("[Lok]\nLimit=1G\n[Lock]\nLimit=1G\n",
                      "t.policy:1: [Lok]: unknown section; did you mean [Lock]?");
        expect_errors("[Frobnicate]\nX=1\n[Lock]\nLimit=1G\n",
                      "t.policy:1: [Frobnicate]: unknown section; known sections are [Policy] "
                      "[Match] [Lock] [Access]");
        expect_errors("[match]\n[Lock]\nLimit=1G\n",
                      "t.policy:1: [match]: unknown section; did you mean [Match]?");
}

static void test_error_unknown_key(void **state) {
        expect_errors("[Lock]\nLimt=4G\nLimit=4G\n",
                      "t.policy:2: Limt=4G: unknown key in [Lock]; did you mean 'Limit'?");
        expect_errors("[Lock]\nlimit=4G\nLimit=4G\n",
                      "t.policy:2: limit=4G: unknown key in [Lock]; did you mean 'Limit'?");
        expect_errors("[Match]\nExectuable=/bin/x\n[Lock]\nLimit=4G\n",
                      "t.policy:2: Exectuable=/bin/x: unknown key in [Match]; did you mean "
                      "'Executable'?");
        expect_errors("[Match]\nLimit=4G\n",
                      "t.policy:2: Limit=4G: unknown key in [Match]; 'Limit' belongs in [Lock]",
                      "t.policy: [Lock] Limit= is missing: say how much this policy may lock, "
                      "e.g. Limit=4G, Limit=25% or Limit=infinity");
        expect_errors("[Match]\nAllowUser=bin\n[Lock]\nLimit=4G\n",
                      "t.policy:2: AllowUser=bin: unknown key in [Match]; did you mean "
                      "'AllowUsers' (in [Access])?");
        expect_errors("[Lock]\nLimit=4G\nColour=blue\n",
                      "t.policy:3: Colour=blue: unknown key in [Lock]");
}

static void test_error_syntax(void **state) {
        expect_errors("Limit=4G\n[Lock]\nLimit=4G\n",
                      "t.policy:1: Limit=4G: assignment outside of a section; put it under [Lock]");
        expect_errors("[Lock]\nLimit=4G\njust some words\n",
                      "t.policy:3: 'just some words': expected [Section] or Key=value");
        expect_errors("[Lock\nLimit=4G\n[Lock]\nLimit=4G\n",
                      "t.policy:1: '[Lock': a section header must end with ']'");
        expect_errors("[Lo ck]\n[Lock]\nLimit=4G\n", "t.policy:1: '[Lo ck]': invalid section name");
        expect_errors("[Lock]\nLimit=4G\n=5\n", "t.policy:3: '=5': missing key name");
        expect_errors("[Lock]\nLimit=4G\nLi mit=5\n", "t.policy:3: 'Li mit': invalid key name");
        expect_errors("[Lock]\nLimit=4G # four gigs\n",
                      "t.policy:2: Limit=4G # four gigs: comments must be on a line of their own",
                      "t.policy: [Lock] Limit= is missing: say how much this policy may lock, "
                      "e.g. Limit=4G, Limit=25% or Limit=infinity");
}

static void test_error_nul_and_long_lines(void **state) {
        static const char nul[] = "[Lock]\nLimit=4G\nMode=o\0n\n";
        PolicyDiagnostics d = {};
        Policy *p = NULL;

        assert_int_equal(policy_parse("t", "t.policy", nul, sizeof(nul) - 1, MEM_TOTAL, &p, &d),
                         -EINVAL);
        assert_int_equal(d.n, 1);
        assert_string_equal(d.messages[0], "t.policy:3: line contains a NUL byte");
        policy_diagnostics_clear(&d);

        size_t n = POLICY_LINE_MAX + 100;
        _cleanup_free_ char *buf = malloc(n + 64);
        assert_non_null(buf);
        strcpy(buf, "[Lock]\nLimit=4G\n[Match]\nExecutable=/");
        size_t l = strlen(buf);
        memset(buf + l, 'a', n);
        strcpy(buf + l + n, "\nUser=root\n");
        assert_int_equal(parse(buf, &p, &d), -EINVAL);
        assert_int_equal(d.n, 1);
        char expect[128];
        snprintf(expect, sizeof(expect), "t.policy:4: line too long (%zu bytes, at most %u)",
                 n + strlen("Executable=/"), POLICY_LINE_MAX);
        assert_string_equal(d.messages[0], expect);
        policy_diagnostics_clear(&d);
}

static void test_error_values(void **state) {
        expect_errors("[Lock]\nLimit=12X\n", "t.policy:2: Limit=12X: unknown size suffix 'X'");
        expect_errors("[Lock]\nLimit=-1G\n",
                      "t.policy:2: Limit=-1G: negative sizes are not allowed");
        expect_errors("[Lock]\nLimit=0\n",
                      "t.policy:2: Limit=0: a limit of 0 bytes locks nothing; to forbid "
                      "locking, write AllowRun=no and AllowAttach=no");
        expect_errors("[Lock]\nLimit=\n",
                      "t.policy:2: Limit=: empty value; expected a size (4G), a percentage of "
                      "memory (25%) or infinity");
        expect_errors("[Lock]\nLimit=150%\n", "t.policy:2: Limit=150%: percentage above 100%");
        expect_errors("[Lock]\nLimit=99999999999G\n",
                      "t.policy:2: Limit=99999999999G: size too large");
        expect_errors("[Lock]\nLimit=1G\nMode=fast\n",
                      "t.policy:3: Mode=fast: unknown mode; expected on, on-fault or current");
        expect_errors("[Lock]\nLimit=1G\nPrefaultThreads=many\n",
                      "t.policy:3: PrefaultThreads=many: expected auto, 0 (no prefault) or a "
                      "number of threads up to 1024");
        expect_errors("[Lock]\nLimit=1G\nPrefaultThreads=1025\n",
                      "t.policy:3: PrefaultThreads=1025: expected auto, 0 (no prefault) or a "
                      "number of threads up to 1024");
        expect_errors("[Lock]\nLimit=1G\nTransparentHugepages=maybe\n",
                      "t.policy:3: TransparentHugepages=maybe: expected yes or no");
        expect_errors("[Lock]\nLimit=1G\nInherit=2\n", "t.policy:3: Inherit=2: expected yes or no");
        expect_errors("[Lock]\nLimit=1G\nOnFailure=ignore\n",
                      "t.policy:3: OnFailure=ignore: expected abort or continue");
        expect_errors("[Lock]\nLimit=1G\nOnExceed=shrug\n",
                      "t.policy:3: OnExceed=shrug: expected warn or kill");
        expect_errors("[Lock]\nLimit=1G\n[Access]\nAllowRun=sure\nAllowAttach=nah\n",
                      "t.policy:4: AllowRun=sure: expected yes or no",
                      "t.policy:5: AllowAttach=nah: expected yes or no");
}

static void test_error_percent_without_memtotal(void **state) {
        PolicyDiagnostics d = {};
        Policy *p = NULL;
        const char *text = "[Lock]\nLimit=25%\n";

        assert_int_equal(policy_parse("t", "t.policy", text, strlen(text), 0, &p, &d), -EINVAL);
        assert_int_equal(d.n, 1);
        assert_string_equal(d.messages[0], "t.policy:2: Limit=25%: cannot resolve a percentage: "
                                           "the size of memory (MemTotal) is unknown");
        policy_diagnostics_clear(&d);
}

static void test_error_match_values(void **state) {
        expect_errors("[Match]\nExecutable=qemu-*\n[Lock]\nLimit=1G\n",
                      "t.policy:2: Executable=qemu-*: 'qemu-*' is not an absolute path; write a "
                      "path or a glob starting with '/', or leave Executable= out to match any "
                      "program");
        expect_errors("[Match]\nUnit=/system.slice/x.service\n[Lock]\nLimit=1G\n",
                      "t.policy:2: Unit=/system.slice/x.service: '/system.slice/x.service' is a "
                      "path; write a unit name such as 'machine-qemu*.scope' or 'myapp.service'");
        expect_errors("[Match]\nUser=root no-such-user-mlockd\n[Lock]\nLimit=1G\n",
                      "t.policy:2: User=root no-such-user-mlockd: no such user "
                      "'no-such-user-mlockd'");
        expect_errors("[Match]\nGroup=no-such-group-mlockd\n[Lock]\nLimit=1G\n",
                      "t.policy:2: Group=no-such-group-mlockd: no such group "
                      "'no-such-group-mlockd'");
        expect_errors("[Match]\nUser=4294967295\n[Lock]\nLimit=1G\n",
                      "t.policy:2: User=4294967295: '4294967295' is not a valid user id");
        expect_errors("[Lock]\nLimit=1G\n[Access]\nAllowUsers=@no-such-group-mlockd nobody @\n",
                      "t.policy:4: AllowUsers=@no-such-group-mlockd nobody @: no such group "
                      "'no-such-group-mlockd'",
                      "t.policy:4: AllowUsers=@no-such-group-mlockd nobody @: '@' must be "
                      "followed by a group name");
}

static void test_error_too_many_values(void **state) {
        _cleanup_free_ char *buf = malloc(16 * (POLICY_VALUES_MAX + 2) + 64);
        char *p = buf;

        assert_non_null(buf);
        p = stpcpy(p, "[Lock]\nLimit=1G\n[Match]\n");
        for (unsigned i = 0; i <= POLICY_VALUES_MAX; i++)
                p += sprintf(p, "Unit=u%u\n", i);

        PolicyDiagnostics d = {};
        Policy *pol = NULL;
        assert_int_equal(parse(buf, &pol, &d), -EINVAL);
        assert_int_equal(d.n, 1);
        char expect[64];
        snprintf(expect, sizeof(expect), "t.policy:%u: Unit=u%u: too many values (at most %u)",
                 POLICY_VALUES_MAX + 4, POLICY_VALUES_MAX, POLICY_VALUES_MAX);
        assert_string_equal(d.messages[0], expect);
        policy_diagnostics_clear(&d);
}

static void test_error_conflicts(void **state) {
        expect_errors("[Match]\n[Lock]\nMode=current\n",
                      "t.policy: [Lock] Limit= is missing: say how much this policy may lock, "
                      "e.g. Limit=4G, Limit=25% or Limit=infinity");
        expect_errors("[Lock]\nMode=on-fault\nLimit=1G\nPrefaultThreads=4\n",
                      "t.policy:4: PrefaultThreads=4: has no effect with Mode=on-fault, where "
                      "pages are locked as they are touched; remove it or use Mode=on");
        expect_errors("[Lock]\nLimit=infinity\nOnExceed=kill\n",
                      "t.policy:3: OnExceed=kill: can never happen with Limit=infinity; set a "
                      "finite Limit= or remove OnExceed=");
        expect_errors("[Access]\nAllowUsers=bin @adm\nAllowRun=no\nAllowAttach=no\n",
                      "t.policy:2: AllowUsers=bin @adm: has no effect: AllowRun=no and "
                      "AllowAttach=no admit nobody");

        /* Not conflicts: prefault 0 or auto with on-fault, and a deny rule without [Lock]. */
        policy_free(expect_valid("[Lock]\nMode=on-fault\nLimit=1G\nPrefaultThreads=0\n"));
        policy_free(expect_valid("[Lock]\nMode=on-fault\nLimit=1G\nPrefaultThreads=auto\n"));
        policy_free(expect_valid("[Access]\nAllowRun=no\nAllowAttach=no\n"));
}

static void test_all_errors_reported(void **state) {
        /* Every problem of the file, in line order, not just the first. */
        expect_errors("[Match]\n" /* 1 */
                      "Executable=relative\n" /* 2 */
                      "Grop=adm\n" /* 3 */
                      "[Lock]\n" /* 4 */
                      "Limit=12X\n" /* 5 */
                      "Mode=on\n" /* 6 */
                      "Mode=current\n" /* 7 */
                      "Inherit=perhaps\n" /* 8 */
                      "[Acess]\n" /* 9 */
                      "AllowUsers=nobody\n" /* 10: ignored, in an unknown section */
                      "[Access]\n" /* 11 */
                      "AllowUsers=no-such-user-mlockd\n", /* 12 */
                      "t.policy:2: Executable=relative: 'relative' is not an absolute path; "
                      "write a path or a glob starting with '/', or leave Executable= out to "
                      "match any program",
                      "t.policy:3: Grop=adm: unknown key in [Match]; did you mean 'Group'?",
                      "t.policy:5: Limit=12X: unknown size suffix 'X'",
                      "t.policy:7: Mode=current: duplicate key, already set on line 6",
                      "t.policy:8: Inherit=perhaps: expected yes or no",
                      "t.policy:9: [Acess]: unknown section; did you mean [Access]?",
                      "t.policy:12: AllowUsers=no-such-user-mlockd: no such user "
                      "'no-such-user-mlockd'");
}

static void test_error_name_and_size(void **state) {
        PolicyDiagnostics d = {};
        Policy *p = NULL;
        const char *text = "[Lock]\nLimit=1G\n";

        assert_int_equal(policy_parse("bad name", "/x/bad name.policy", text, strlen(text),
                                      MEM_TOTAL, &p, &d),
                         -EINVAL);
        assert_int_equal(
                policy_parse(".hidden", "/x/.hidden.policy", text, strlen(text), MEM_TOTAL, &p, &d),
                -EINVAL);
        assert_int_equal(d.n, 2);
        assert_string_equal(d.messages[0],
                            "/x/bad name.policy: invalid policy name 'bad name': use up to 128 "
                            "letters, digits and '-', '_', '.', '@' (not starting with '.')");
        policy_diagnostics_clear(&d);

        size_t n = POLICY_FILE_SIZE_MAX + 1;
        _cleanup_free_ char *big = malloc(n);
        assert_non_null(big);
        memset(big, '#', n);
        assert_int_equal(policy_parse("big", "big.policy", big, n, MEM_TOTAL, &p, &d), -EINVAL);
        assert_int_equal(d.n, 1);
        assert_string_equal(d.messages[0],
                            "big.policy: file too large (65537 bytes, at most 65536)");
        policy_diagnostics_clear(&d);
        assert_null(p);
}

static void test_long_value_is_shortened(void **state) {
        char buf[400];
        PolicyDiagnostics d = {};
        Policy *p = NULL;

        snprintf(buf, sizeof(buf), "[Lock]\nLimit=1G\nMode=%0200d\n", 7);
        assert_int_equal(parse(buf, &p, &d), -EINVAL);
        assert_int_equal(d.n, 1);
        /* The quoted value is cut at 80 bytes and marked. */
        assert_non_null(strstr(d.messages[0], "0000...: unknown mode"));
        assert_true(strlen(d.messages[0]) < 160);
        policy_diagnostics_clear(&d);
}

static void test_suggest(void **state) {
        static const char *const keys[] = { "Mode", "Limit", "PrefaultThreads", "Inherit" };

        assert_int_equal(suggest_distance("Limit", "Limit"), 0);
        assert_int_equal(suggest_distance("Limt", "Limit"), 2);
        assert_int_equal(suggest_distance("limit", "Limit"), 1);
        assert_int_equal(suggest_distance("Lmiit", "Limit"), 2); /* one transposition */
        assert_int_equal(suggest_distance("", "abc"), 6);
        assert_string_equal(suggest_nearest("Limt", keys, 4), "Limit");
        assert_string_equal(suggest_nearest("PrefaultThread", keys, 4), "PrefaultThreads");
        assert_string_equal(suggest_nearest("MODE", keys, 4), "Mode");
        assert_null(suggest_nearest("Colour", keys, 4));
        assert_null(suggest_nearest("X", keys, 4));
        assert_null(suggest_nearest("", keys, 4));
}

static void test_enum_strings(void **state) {
        for (int i = 0; i < _REQUEST_KIND_MAX; i++)
                assert_int_equal(request_kind_from_string(request_kind_to_string(i)), i);
        for (int i = 0; i < _ON_FAILURE_MAX; i++)
                assert_int_equal(on_failure_from_string(on_failure_to_string(i)), i);
        for (int i = 0; i < _ON_EXCEED_MAX; i++)
                assert_int_equal(on_exceed_from_string(on_exceed_to_string(i)), i);
        for (int i = 0; i < _VERDICT_MAX; i++)
                assert_non_null(verdict_to_string(i));
        assert_null(verdict_to_string(_VERDICT_MAX));
        assert_null(request_kind_to_string(_REQUEST_KIND_INVALID));
        assert_int_equal(request_kind_from_string("detach"), _REQUEST_KIND_INVALID);
        assert_int_equal(on_failure_from_string(NULL), _ON_FAILURE_INVALID);
        assert_string_equal(verdict_to_string(VERDICT_DENY_BUDGET), "deny-budget");
}

static void test_diagnostics_join(void **state) {
        PolicyDiagnostics d = {};
        _cleanup_free_ char *e = policy_diagnostics_join(&d, "\n");

        assert_string_equal(e, "");
        assert_int_equal(policy_diagnostics_add(&d, "a:%d", 1), 0);
        assert_int_equal(policy_diagnostics_add(&d, "b"), 0);
        _cleanup_free_ char *j = policy_diagnostics_join(&d, "; ");
        assert_string_equal(j, "a:1; b");
        assert_null(d.messages[2]);
        policy_diagnostics_clear(&d);
        assert_int_equal(d.n, 0);
        assert_null(d.messages);
}

/* The source tree, found from this file's path: tests get no environment from CTest. */
/* MLOCKD_TEST_SOURCE_DIR (tests/CMakeLists.txt), not __FILE__: package builds map the source
 * directory in __FILE__ to "." (-ffile-prefix-map), and tests run in the build directory. */
static char *source_path(const char *rel) {
        char *p;

        if (asprintf(&p, "%s/%s", MLOCKD_TEST_SOURCE_DIR, rel) < 0)
                return NULL;
        return p;
}

static void test_conf_examples(void **state) {
        static const char *const examples[] = {
                "40-secret-agents",
                "50-qemu-libvirt",
                "60-realtime",
        };

        for (size_t i = 0; i < ELEMENTSOF(examples); i++) {
                _cleanup_free_ char *rel = NULL, *path = NULL, *buf = NULL, *sum = NULL;
                PolicyDiagnostics d = {};
                Policy *p = NULL;
                size_t n;

                assert_true(asprintf(&rel, "conf/policy.d/%s.policy", examples[i]) > 0);
                path = source_path(rel);
                assert_non_null(path);
                assert_int_equal(read_file_at(AT_FDCWD, path, POLICY_FILE_SIZE_MAX, &buf, &n), 0);
                int r = policy_parse(examples[i], path, buf, n, MEM_TOTAL, &p, &d);
                if (r < 0)
                        dump(&d);
                assert_int_equal(r, 0);
                sum = policy_summary(p);
                assert_non_null(sum);
                fprintf(stderr, "%s\n", sum);
                assert_non_null(policy_description(p));
                policy_free(p);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_all_keys),
                cmocka_unit_test(test_summary_deny_rule),
                cmocka_unit_test(test_list_reset_and_repeat),
                cmocka_unit_test(test_sections_repeat),
                cmocka_unit_test(test_error_unknown_section),
                cmocka_unit_test(test_error_unknown_key),
                cmocka_unit_test(test_error_syntax),
                cmocka_unit_test(test_error_nul_and_long_lines),
                cmocka_unit_test(test_error_values),
                cmocka_unit_test(test_error_percent_without_memtotal),
                cmocka_unit_test(test_error_match_values),
                cmocka_unit_test(test_error_too_many_values),
                cmocka_unit_test(test_error_conflicts),
                cmocka_unit_test(test_all_errors_reported),
                cmocka_unit_test(test_error_name_and_size),
                cmocka_unit_test(test_long_value_is_shortened),
                cmocka_unit_test(test_suggest),
                cmocka_unit_test(test_enum_strings),
                cmocka_unit_test(test_diagnostics_join),
                cmocka_unit_test(test_conf_examples),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
