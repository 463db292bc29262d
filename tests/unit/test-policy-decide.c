/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The decision table of policy_decide() (policy/policy-decide.c): root, allowed users, group
 * members and strangers; own and foreign targets; limits, budget, no match, named policies,
 * deny rules and first-match order. Policies are parsed from memory; the users and groups are
 * those of a fresh Debian 12 (root, daemon, bin, nobody; root, daemon, adm, nogroup). */
#include <errno.h>
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
#include "policy/policy.h"

#define GiB (1ULL << 30)
#define MiB (1ULL << 20)

enum {
        U_ROOT = 0,
        U_DAEMON = 1,
        U_BIN = 2,
        U_NOBODY = 65534,
        G_ROOT = 0,
        G_DAEMON = 1,
        G_BIN = 2,
        G_ADM = 4,
        G_NOGROUP = 65534,
};

static const struct {
        const char *name;
        const char *text;
} policies[] = {
        { "10-deny-sshd", "[Match]\nExecutable=/usr/sbin/sshd\n"
                          "[Access]\nAllowRun=no\nAllowAttach=no\n" },
        { "20-qemu", "[Match]\nExecutable=/usr/bin/qemu-system-*\nLibvirtDomain=vm-*\n"
                     "[Lock]\nMode=on\nLimit=8G\nOnFailure=continue\n"
                     "[Access]\nAllowUsers=daemon @adm\nAllowRun=no\n" },
        { "30-daemon", "[Match]\nUser=daemon\nExecutable=/usr/bin/*\n"
                       "[Lock]\nMode=on-fault\nLimit=1G\n"
                       "[Access]\nAllowUsers=daemon\nAllowAttach=no\n" },
        { "40-adm", "[Match]\nGroup=adm\n"
                    "[Lock]\nLimit=512M\nPrefaultThreads=2\n"
                    "[Access]\nAllowUsers=@adm\n" },
        { "50-db", "[Match]\nUnit=db-*.service\n"
                   "[Lock]\nMode=current\nLimit=2G\n"
                   "[Access]\nAllowUsers=bin nobody\n" },
        { "90-catchall", "[Lock]\nLimit=infinity\n" },
};

/* Set A: all but the catch-all. Set B: all. Set E: empty. */
typedef enum SetId { SET_A, SET_B, SET_E } SetId;

typedef struct Case {
        const char *name;
        SetId set;
        RequestKind kind;
        uid_t caller;
        gid_t caller_gid;
        gid_t groups[2];
        size_t n_groups;
        const char *exe;
        uid_t target;
        gid_t target_gid;
        gid_t target_groups[2];
        size_t n_target_groups;
        const char *domain;
        const char *unit;
        const char *policy; /* requested by name */
        const char *mode; /* requested, NULL: the policy's */
        uint64_t limit; /* requested, 0: the policy's */
        int prefault; /* requested + 10, 0: the policy's (keeps 0 meaning "unset") */
        uint64_t budget; /* 0: infinity */
        uint64_t reserved;
        int raw_mode; /* non-zero: put this raw value in req.mode (invalid modes) */
        int raw_kind; /* non-zero: this raw value in req.kind */
        bool unknown_caller;

        Verdict expect;
        const char *expect_policy; /* NULL: none */
        uint64_t expect_limit; /* checked when non-zero */
        const char *expect_mode; /* checked when set */
        int expect_prefault; /* + 10, checked when non-zero */
        const char *expect_message; /* substring */
        int expect_skipped; /* + 1, checked when non-zero */
        const char *expect_skip_last; /* exact text of the last skipped entry */
} Case;

static const Case cases[] = {
        /* --- no match and first-match order --- */
        { "root, no policy matches sleep",
          SET_A,
          REQUEST_RUN,
          U_ROOT,
          G_ROOT,
          {},
          0,
          "/usr/bin/sleep",
          U_ROOT,
          G_ROOT,
          .expect = VERDICT_DENY_NO_MATCH,
          .expect_message = "No policy matches /usr/bin/sleep (uid 0); 5 policies were checked",
          .expect_skipped = 6,
          .expect_skip_last = "50-db: Unit=db-*.service does not match: the target's systemd "
                              "unit is unknown" },
        { "root, catch-all matches last",
          SET_B,
          REQUEST_RUN,
          U_ROOT,
          G_ROOT,
          {},
          0,
          "/usr/bin/sleep",
          U_ROOT,
          G_ROOT,
          .expect = VERDICT_ALLOW,
          .expect_policy = "90-catchall",
          .expect_limit = SIZE_INFINITY,
          .expect_mode = "on",
          .expect_prefault = 9,
          .expect_skipped = 6,
          .expect_message = "Allowed by policy '90-catchall' (90-catchall.policy): mode on, "
                            "limit infinity." },
        { "empty set: no match",
          SET_E,
          REQUEST_RUN,
          U_ROOT,
          G_ROOT,
          {},
          0,
          "/usr/bin/sleep",
          U_ROOT,
          G_ROOT,
          .expect = VERDICT_DENY_NO_MATCH,
          .expect_message = "0 policies were checked",
          .expect_skipped = 1 },
        { "empty set: named policy",
          SET_E,
          REQUEST_RUN,
          U_ROOT,
          G_ROOT,
          {},
          0,
          "/usr/bin/sleep",
          U_ROOT,
          G_ROOT,
          .policy = "40-adm",
          .expect = VERDICT_DENY_NO_SUCH_POLICY,
          .expect_message = "No policy named '40-adm': no policies are loaded." },
        { "skip reasons name key and value",
          SET_A,
          REQUEST_RUN,
          U_BIN,
          G_BIN,
          {},
          0,
          "/opt/tool",
          U_BIN,
          G_BIN,
          .expect = VERDICT_DENY_NO_MATCH,
          .expect_skipped = 6,
          .expect_skip_last = "50-db: Unit=db-*.service does not match: the target's systemd "
                              "unit is unknown" },
        { "executable glob mismatch is explained",
          SET_A,
          REQUEST_RUN,
          U_DAEMON,
          G_DAEMON,
          {},
          0,
          "/opt/x",
          U_DAEMON,
          G_DAEMON,
          .unit = "x.service",
          .expect = VERDICT_DENY_NO_MATCH,
          .expect_skipped = 6,
          .expect_skip_last = "50-db: Unit=db-*.service does not match x.service" },

        /* --- deny rules stop the search, for root too --- */
        { "root runs sshd: deny rule",
          SET_B,
          REQUEST_RUN,
          U_ROOT,
          G_ROOT,
          {},
          0,
          "/usr/sbin/sshd",
          U_ROOT,
          G_ROOT,
          .expect = VERDICT_DENY_KIND,
          .expect_policy = "10-deny-sshd",
          .expect_message = "(AllowRun=no)",
          .expect_skipped = 1 },
        { "root attaches sshd: deny rule",
          SET_B,
          REQUEST_ATTACH,
          U_ROOT,
          G_ROOT,
          {},
          0,
          "/usr/sbin/sshd",
          U_ROOT,
          G_ROOT,
          .expect = VERDICT_DENY_KIND,
          .expect_policy = "10-deny-sshd",
          .expect_message = "(AllowAttach=no)" },
        { "nobody runs sshd: deny rule",
          SET_B,
          REQUEST_RUN,
          U_NOBODY,
          G_NOGROUP,
          {},
          0,
          "/usr/sbin/sshd",
          U_NOBODY,
          G_NOGROUP,
          .expect = VERDICT_DENY_KIND,
          .expect_policy = "10-deny-sshd" },
        { "adm member runs sshd: first match wins over 40-adm",
          SET_B,
          REQUEST_RUN,
          U_BIN,
          G_BIN,
          { G_ADM },
          1,
          "/usr/sbin/sshd",
          U_BIN,
          G_BIN,
          { G_ADM },
          1,
          .expect = VERDICT_DENY_KIND,
          .expect_policy = "10-deny-sshd" },
        { "exec is decided like run: deny rule",
          SET_B,
          REQUEST_EXEC,
          U_ROOT,
          G_ROOT,
          {},
          0,
          "/usr/sbin/sshd",
          U_ROOT,
          G_ROOT,
          .expect = VERDICT_DENY_KIND,
          .expect_policy = "10-deny-sshd" },

        /* --- qemu: attach only, daemon and @adm admitted --- */
        { "root attaches a guest",
          SET_A,
          REQUEST_ATTACH,
          U_ROOT,
          G_ROOT,
          {},
          0,
          "/usr/bin/qemu-system-x86_64",
          64055,
          107,
          .domain = "vm-1",
          .expect = VERDICT_ALLOW,
          .expect_policy = "20-qemu",
          .expect_limit = 8 * GiB,
          .expect_mode = "on",
          .expect_skipped = 2 },
        { "root runs qemu: AllowRun=no",
          SET_A,
          REQUEST_RUN,
          U_ROOT,
          G_ROOT,
          {},
          0,
          "/usr/bin/qemu-system-x86_64",
          U_ROOT,
          G_ROOT,
          .domain = "vm-1",
          .expect = VERDICT_DENY_KIND,
          .expect_policy = "20-qemu",
          .expect_message = "does not allow starting programs (AllowRun=no)" },
        { "allowed user attaches own guest",
          SET_A,
          REQUEST_ATTACH,
          U_DAEMON,
          G_DAEMON,
          {},
          0,
          "/usr/bin/qemu-system-x86_64",
          U_DAEMON,
          G_DAEMON,
          .domain = "vm-2",
          .expect = VERDICT_ALLOW,
          .expect_policy = "20-qemu" },
        { "allowed user attaches foreign guest",
          SET_A,
          REQUEST_ATTACH,
          U_DAEMON,
          G_DAEMON,
          {},
          0,
          "/usr/bin/qemu-system-x86_64",
          U_BIN,
          G_BIN,
          .domain = "vm-2",
          .expect = VERDICT_DENY_ACCESS,
          .expect_message = "uid 1 may only lock its own processes, but "
                            "/usr/bin/qemu-system-x86_64 (uid 2) belongs to another user" },
        { "group member (supplementary) attaches own guest",
          SET_A,
          REQUEST_ATTACH,
          U_BIN,
          G_BIN,
          { G_NOGROUP, G_ADM },
          2,
          "/usr/bin/qemu-system-aarch64",
          U_BIN,
          G_BIN,
          .domain = "vm-3",
          .expect = VERDICT_ALLOW,
          .expect_policy = "20-qemu" },
        { "group member (primary) attaches own guest",
          SET_A,
          REQUEST_ATTACH,
          U_BIN,
          G_ADM,
          {},
          0,
          "/usr/bin/qemu-system-aarch64",
          U_BIN,
          G_BIN,
          .domain = "vm-3",
          .expect = VERDICT_ALLOW,
          .expect_policy = "20-qemu" },
        { "stranger attaches own guest",
          SET_A,
          REQUEST_ATTACH,
          U_NOBODY,
          G_NOGROUP,
          {},
          0,
          "/usr/bin/qemu-system-x86_64",
          U_NOBODY,
          G_NOGROUP,
          .domain = "vm-1",
          .expect = VERDICT_DENY_ACCESS,
          .expect_policy = "20-qemu",
          .expect_message = "Policy '20-qemu' does not admit uid 65534: ask an administrator to "
                            "add the user or one of its groups to AllowUsers= in 20-qemu.policy." },
        { "guest of another domain falls through",
          SET_A,
          REQUEST_ATTACH,
          U_ROOT,
          G_ROOT,
          {},
          0,
          "/usr/bin/qemu-system-x86_64",
          U_ROOT,
          G_ROOT,
          .domain = "other",
          .expect = VERDICT_DENY_NO_MATCH,
          .expect_skipped = 6 },
        { "guest without a known domain falls through",
          SET_B,
          REQUEST_ATTACH,
          U_ROOT,
          G_ROOT,
          {},
          0,
          "/usr/bin/qemu-system-x86_64",
          U_ROOT,
          G_ROOT,
          .expect = VERDICT_ALLOW,
          .expect_policy = "90-catchall",
          .expect_skipped = 6 },

        /* --- 30-daemon: run only, limit 1G, on-fault --- */
        { "allowed user runs own program",
          SET_A,
          REQUEST_RUN,
          U_DAEMON,
          G_DAEMON,
          {},
          0,
          "/usr/bin/sleep",
          U_DAEMON,
          G_DAEMON,
          .expect = VERDICT_ALLOW,
          .expect_policy = "30-daemon",
          .expect_limit = GiB,
          .expect_mode = "on-fault",
          .expect_skipped = 3 },
        { "allowed user execs own program",
          SET_A,
          REQUEST_EXEC,
          U_DAEMON,
          G_DAEMON,
          {},
          0,
          "/usr/bin/sleep",
          U_DAEMON,
          G_DAEMON,
          .expect = VERDICT_ALLOW,
          .expect_policy = "30-daemon" },
        { "allowed user attaches: AllowAttach=no",
          SET_A,
          REQUEST_ATTACH,
          U_DAEMON,
          G_DAEMON,
          {},
          0,
          "/usr/bin/sleep",
          U_DAEMON,
          G_DAEMON,
          .expect = VERDICT_DENY_KIND,
          .expect_policy = "30-daemon" },
        { "request above the limit is denied, not clamped",
          SET_A,
          REQUEST_RUN,
          U_DAEMON,
          G_DAEMON,
          {},
          0,
          "/usr/bin/sleep",
          U_DAEMON,
          G_DAEMON,
          .limit = 2 * GiB,
          .expect = VERDICT_DENY_LIMIT,
          .expect_policy = "30-daemon",
          .expect_message = "The requested limit 2.0G is above the 1.0G that policy '30-daemon' "
                            "allows (Limit= in 30-daemon.policy); ask for at most 1.0G." },
        { "infinite request above a finite limit",
          SET_A,
          REQUEST_RUN,
          U_DAEMON,
          G_DAEMON,
          {},
          0,
          "/usr/bin/sleep",
          U_DAEMON,
          G_DAEMON,
          .limit = SIZE_INFINITY,
          .expect = VERDICT_DENY_LIMIT },
        { "request below the limit is taken",
          SET_A,
          REQUEST_RUN,
          U_DAEMON,
          G_DAEMON,
          {},
          0,
          "/usr/bin/sleep",
          U_DAEMON,
          G_DAEMON,
          .limit = 512 * MiB,
          .expect = VERDICT_ALLOW,
          .expect_limit = 512 * MiB },
        { "request equal to the limit",
          SET_A,
          REQUEST_RUN,
          U_DAEMON,
          G_DAEMON,
          {},
          0,
          "/usr/bin/sleep",
          U_DAEMON,
          G_DAEMON,
          .limit = GiB,
          .expect = VERDICT_ALLOW,
          .expect_limit = GiB },
        { "requested mode and prefault override",
          SET_A,
          REQUEST_RUN,
          U_DAEMON,
          G_DAEMON,
          {},
          0,
          "/usr/bin/sleep",
          U_DAEMON,
          G_DAEMON,
          .mode = "current",
          .prefault = 13,
          .expect = VERDICT_ALLOW,
          .expect_mode = "current",
          .expect_prefault = 13 },
        { "user match is explained",
          SET_A,
          REQUEST_RUN,
          U_BIN,
          G_BIN,
          {},
          0,
          "/usr/bin/sleep",
          U_BIN,
          G_BIN,
          .unit = "db-main.service",
          .expect = VERDICT_ALLOW,
          .expect_policy = "50-db",
          .expect_skipped = 5,
          .expect_skip_last = "40-adm: Group=adm does not match gid 2" },

        /* --- 40-adm: group match and group access --- */
        { "group member runs anything",
          SET_A,
          REQUEST_RUN,
          U_BIN,
          G_BIN,
          { G_ADM },
          1,
          "/opt/tool",
          U_BIN,
          G_BIN,
          { G_ADM },
          1,
          .expect = VERDICT_ALLOW,
          .expect_policy = "40-adm",
          .expect_limit = 512 * MiB,
          .expect_prefault = 12,
          .expect_mode = "on",
          .expect_skipped = 4,
          .expect_skip_last = "30-daemon: Executable=/usr/bin/* does not match /opt/tool" },
        { "root attaches a process in group adm",
          SET_A,
          REQUEST_ATTACH,
          U_ROOT,
          G_ROOT,
          {},
          0,
          "/opt/tool",
          U_NOBODY,
          G_NOGROUP,
          { G_ADM },
          1,
          .expect = VERDICT_ALLOW,
          .expect_policy = "40-adm" },
        { "stranger's own setgid-adm process",
          SET_A,
          REQUEST_ATTACH,
          U_NOBODY,
          G_NOGROUP,
          {},
          0,
          "/opt/tool",
          U_NOBODY,
          G_ADM,
          .expect = VERDICT_DENY_ACCESS,
          .expect_policy = "40-adm" },

        /* --- 50-db: unit match --- */
        { "allowed user runs db unit",
          SET_A,
          REQUEST_RUN,
          U_BIN,
          G_BIN,
          {},
          0,
          "/srv/db",
          U_BIN,
          G_BIN,
          .unit = "db-main.service",
          .expect = VERDICT_ALLOW,
          .expect_policy = "50-db",
          .expect_mode = "current",
          .expect_limit = 2 * GiB },
        { "second allowed user attaches own db",
          SET_A,
          REQUEST_ATTACH,
          U_NOBODY,
          G_NOGROUP,
          {},
          0,
          "/srv/db",
          U_NOBODY,
          G_NOGROUP,
          .unit = "db-x.service",
          .expect = VERDICT_ALLOW,
          .expect_policy = "50-db" },
        { "user not in AllowUsers",
          SET_A,
          REQUEST_RUN,
          U_DAEMON,
          G_DAEMON,
          {},
          0,
          "/srv/db",
          U_DAEMON,
          G_DAEMON,
          .unit = "db-x.service",
          .expect = VERDICT_DENY_ACCESS,
          .expect_policy = "50-db" },

        /* --- named policies --- */
        { "root names a policy that does not match",
          SET_A,
          REQUEST_RUN,
          U_ROOT,
          G_ROOT,
          {},
          0,
          "/usr/bin/sleep",
          U_ROOT,
          G_ROOT,
          .policy = "40-adm",
          .expect = VERDICT_ALLOW,
          .expect_policy = "40-adm",
          .expect_limit = 512 * MiB,
          .expect_skipped = 1 },
        { "member names a policy that does not match",
          SET_A,
          REQUEST_RUN,
          U_BIN,
          G_BIN,
          { G_ADM },
          1,
          "/usr/bin/sleep",
          U_BIN,
          G_BIN,
          .policy = "20-qemu",
          .expect = VERDICT_DENY_KIND },
        { "member names a policy not matching the target",
          SET_A,
          REQUEST_ATTACH,
          U_BIN,
          G_BIN,
          { G_ADM },
          1,
          "/usr/bin/sleep",
          U_BIN,
          G_BIN,
          .policy = "20-qemu",
          .expect = VERDICT_DENY_NO_MATCH,
          .expect_policy = "20-qemu",
          .expect_message = "Policy '20-qemu' does not apply to /usr/bin/sleep (uid 2): "
                            "Executable=/usr/bin/qemu-system-* does not match /usr/bin/sleep. "
                            "Only root may apply a policy to a target it does not match." },
        { "member names a matching policy",
          SET_A,
          REQUEST_RUN,
          U_BIN,
          G_BIN,
          { G_ADM },
          1,
          "/usr/bin/sleep",
          U_BIN,
          G_BIN,
          { G_ADM },
          1,
          .policy = "40-adm",
          .expect = VERDICT_ALLOW,
          .expect_policy = "40-adm" },
        { "stranger names a policy not admitting them",
          SET_B,
          REQUEST_RUN,
          U_NOBODY,
          G_NOGROUP,
          {},
          0,
          "/usr/bin/sleep",
          U_NOBODY,
          G_NOGROUP,
          .policy = "90-catchall",
          .expect = VERDICT_DENY_ACCESS,
          .expect_policy = "90-catchall" },
        { "stranger names an adm policy",
          SET_A,
          REQUEST_RUN,
          U_NOBODY,
          G_NOGROUP,
          {},
          0,
          "/usr/bin/sleep",
          U_NOBODY,
          G_NOGROUP,
          .policy = "40-adm",
          .expect = VERDICT_DENY_ACCESS },
        { "unknown policy name",
          SET_A,
          REQUEST_RUN,
          U_ROOT,
          G_ROOT,
          {},
          0,
          "/usr/bin/sleep",
          U_ROOT,
          G_ROOT,
          .policy = "nope",
          .expect = VERDICT_DENY_NO_SUCH_POLICY,
          .expect_message = "No policy named 'nope'; loaded policies: 10-deny-sshd, 20-qemu, "
                            "30-daemon, 40-adm, 50-db." },
        { "named policy: limit still applies",
          SET_A,
          REQUEST_RUN,
          U_BIN,
          G_BIN,
          {},
          0,
          "/srv/db",
          U_BIN,
          G_BIN,
          .unit = "db-a.service",
          .policy = "50-db",
          .limit = 3 * GiB,
          .expect = VERDICT_DENY_LIMIT },

        /* --- stranger and foreign targets --- */
        { "stranger runs own program: catch-all is root only",
          SET_B,
          REQUEST_RUN,
          U_NOBODY,
          G_NOGROUP,
          {},
          0,
          "/usr/bin/sleep",
          U_NOBODY,
          G_NOGROUP,
          .expect = VERDICT_DENY_ACCESS,
          .expect_policy = "90-catchall" },
        { "stranger attaches to root's process",
          SET_B,
          REQUEST_ATTACH,
          U_NOBODY,
          G_NOGROUP,
          {},
          0,
          "/usr/bin/sleep",
          U_ROOT,
          G_ROOT,
          .expect = VERDICT_DENY_ACCESS,
          .expect_message = "may only lock its own processes",
          .expect_skipped = 1 },
        { "run for another uid by non-root",
          SET_A,
          REQUEST_RUN,
          U_DAEMON,
          G_DAEMON,
          {},
          0,
          "/usr/bin/sleep",
          U_BIN,
          G_BIN,
          .expect = VERDICT_DENY_ACCESS },
        { "root attaches to anyone's process",
          SET_B,
          REQUEST_ATTACH,
          U_ROOT,
          G_ROOT,
          {},
          0,
          "/usr/bin/sleep",
          U_NOBODY,
          G_NOGROUP,
          .expect = VERDICT_ALLOW,
          .expect_policy = "90-catchall" },
        { "target with unknown uid, non-root caller",
          SET_B,
          REQUEST_ATTACH,
          U_BIN,
          G_BIN,
          {},
          0,
          "/usr/bin/sleep",
          (uid_t) -1,
          (gid_t) -1,
          .expect = VERDICT_DENY_ACCESS },

        /* --- budget --- */
        { "infinite limit against a finite budget",
          SET_B,
          REQUEST_RUN,
          U_ROOT,
          G_ROOT,
          {},
          0,
          "/usr/bin/sleep",
          U_ROOT,
          G_ROOT,
          .budget = 8 * GiB,
          .expect = VERDICT_DENY_BUDGET,
          .expect_policy = "90-catchall",
          .expect_message = "An unlimited lock (Limit=infinity in policy '90-catchall') cannot "
                            "be reserved against the 8.0G budget: ask for a limit (at most 8.0G "
                            "is free), or set Budget=infinity in mlockd.conf." },
        { "finite request under an infinite policy fits",
          SET_B,
          REQUEST_RUN,
          U_ROOT,
          G_ROOT,
          {},
          0,
          "/usr/bin/sleep",
          U_ROOT,
          G_ROOT,
          .limit = GiB,
          .budget = 8 * GiB,
          .reserved = 6 * GiB,
          .expect = VERDICT_ALLOW,
          .expect_limit = GiB },
        { "over budget",
          SET_B,
          REQUEST_RUN,
          U_ROOT,
          G_ROOT,
          {},
          0,
          "/usr/bin/sleep",
          U_ROOT,
          G_ROOT,
          .limit = 4 * GiB,
          .budget = 8 * GiB,
          .reserved = 6 * GiB + 819 * MiB,
          .expect = VERDICT_DENY_BUDGET,
          .expect_message = "needs 4.0G, 1.2G of the 8.0G budget is free" },
        { "budget fits exactly",
          SET_A,
          REQUEST_RUN,
          U_BIN,
          G_BIN,
          {},
          0,
          "/srv/db",
          U_BIN,
          G_BIN,
          .unit = "db-a.service",
          .budget = 3 * GiB,
          .reserved = GiB,
          .expect = VERDICT_ALLOW,
          .expect_limit = 2 * GiB },
        { "budget one byte short",
          SET_A,
          REQUEST_RUN,
          U_BIN,
          G_BIN,
          {},
          0,
          "/srv/db",
          U_BIN,
          G_BIN,
          .unit = "db-a.service",
          .budget = 3 * GiB,
          .reserved = GiB + 1,
          .expect = VERDICT_DENY_BUDGET },
        { "reservations above the budget",
          SET_A,
          REQUEST_RUN,
          U_DAEMON,
          G_DAEMON,
          {},
          0,
          "/usr/bin/true",
          U_DAEMON,
          G_DAEMON,
          .budget = GiB,
          .reserved = 2 * GiB,
          .expect = VERDICT_DENY_BUDGET,
          .expect_message = "needs 1.0G, 0B of the 1.0G budget is free" },
        { "infinite limit, infinite budget",
          SET_B,
          REQUEST_ATTACH,
          U_ROOT,
          G_ROOT,
          {},
          0,
          "/usr/bin/sleep",
          U_ROOT,
          G_ROOT,
          .limit = SIZE_INFINITY,
          .reserved = 100 * GiB,
          .expect = VERDICT_ALLOW,
          .expect_limit = SIZE_INFINITY },

        /* --- malformed requests --- */
        { "invalid mode",
          SET_B,
          REQUEST_RUN,
          U_ROOT,
          G_ROOT,
          {},
          0,
          "/usr/bin/sleep",
          U_ROOT,
          G_ROOT,
          .raw_mode = 7,
          .expect = VERDICT_DENY_INVALID,
          .expect_message = "Invalid lock mode 7" },
        { "invalid prefault threads",
          SET_B,
          REQUEST_RUN,
          U_ROOT,
          G_ROOT,
          {},
          0,
          "/usr/bin/sleep",
          U_ROOT,
          G_ROOT,
          .prefault = 5,
          .expect = VERDICT_DENY_INVALID },
        { "invalid kind",
          SET_B,
          REQUEST_RUN,
          U_ROOT,
          G_ROOT,
          {},
          0,
          "/usr/bin/sleep",
          U_ROOT,
          G_ROOT,
          .raw_kind = 9,
          .expect = VERDICT_DENY_INVALID },
        { "unknown caller",
          SET_B,
          REQUEST_RUN,
          U_ROOT,
          G_ROOT,
          {},
          0,
          "/usr/bin/sleep",
          U_ROOT,
          G_ROOT,
          .unknown_caller = true,
          .expect = VERDICT_DENY_INVALID },
};

typedef struct Sets {
        PolicySet *set[3];
} Sets;

static int setup(void **state) {
        Sets *s = calloc(1, sizeof(Sets));
        assert_non_null(s);
        for (int k = 0; k < 3; k++) {
                assert_int_equal(policy_set_new(&s->set[k]), 0);
                for (size_t i = 0; k != SET_E && i < ELEMENTSOF(policies); i++) {
                        PolicyDiagnostics d = {};
                        Policy *p = NULL;
                        char path[64];

                        if (k == SET_A && streq(policies[i].name, "90-catchall"))
                                continue;
                        snprintf(path, sizeof(path), "%s.policy", policies[i].name);
                        int r = policy_parse(policies[i].name, path, policies[i].text,
                                             strlen(policies[i].text), 16 * GiB, &p, &d);
                        if (r < 0)
                                policy_diagnostics_print(&d, stderr);
                        assert_int_equal(r, 0);
                        assert_int_equal(policy_set_add(s->set[k], p), 0);
                }
        }
        *state = s;
        return 0;
}

static int teardown(void **state) {
        Sets *s = *state;
        for (int k = 0; k < 3; k++)
                policy_set_free(s->set[k]);
        free(s);
        return 0;
}

static void run_case(const Sets *sets, const Case *c) {
        PolicyRequest req;
        PolicyDecision d = {};

        policy_request_init(&req);
        req.kind = c->raw_kind ? (RequestKind) c->raw_kind : c->kind;
        req.caller_uid = c->unknown_caller ? (uid_t) -1 : c->caller;
        req.caller_gid = c->caller_gid;
        req.caller_groups = c->groups;
        req.n_caller_groups = c->n_groups;
        req.exe = c->exe;
        req.target_uid = c->target;
        req.target_gid = c->target_gid;
        req.target_groups = c->target_groups;
        req.n_target_groups = c->n_target_groups;
        req.libvirt_domain = c->domain;
        req.unit = c->unit;
        req.policy_name = c->policy;
        if (c->mode)
                req.mode = lock_mode_from_string(c->mode);
        if (c->raw_mode)
                req.mode = (LockMode) c->raw_mode;
        req.limit = c->limit;
        if (c->prefault)
                req.prefault_threads = c->prefault - 10;
        if (c->budget)
                req.budget_total = c->budget;
        req.budget_reserved = c->reserved;

        assert_int_equal(policy_decide(sets->set[c->set], &req, &d), 0);

        bool ok = d.verdict == c->expect;
        ok = ok &&
             (!c->expect_policy || (d.policy && streq(policy_name(d.policy), c->expect_policy)));
        ok = ok && (!c->expect_message || (d.message && strstr(d.message, c->expect_message)));
        size_t n_skipped = 0;
        while (d.skipped[n_skipped])
                n_skipped++;
        ok = ok && (!c->expect_skipped || n_skipped == (size_t) (c->expect_skipped - 1));
        ok = ok && (!c->expect_skip_last ||
                    (n_skipped > 0 && streq(d.skipped[n_skipped - 1], c->expect_skip_last)));
        if (d.verdict == VERDICT_ALLOW) {
                ok = ok && (!c->expect_limit || d.settings.limit == c->expect_limit);
                ok = ok && (!c->expect_mode ||
                            streq(lock_mode_to_string(d.settings.mode), c->expect_mode));
                ok = ok && (!c->expect_prefault ||
                            d.settings.prefault_threads == c->expect_prefault - 10);
                ok = ok && d.policy != NULL;
        }
        /* Every verdict comes with a sentence. */
        ok = ok && d.message && strlen(d.message) > 10;

        if (!ok) {
                fprintf(stderr,
                        "case '%s': got %s policy=%s message=%s limit=%llu mode=%s "
                        "prefault=%d\n",
                        c->name, verdict_to_string(d.verdict),
                        d.policy ? policy_name(d.policy) : "(none)", d.message,
                        (unsigned long long) d.settings.limit, lock_mode_to_string(d.settings.mode),
                        d.settings.prefault_threads);
                for (size_t i = 0; i < n_skipped; i++)
                        fprintf(stderr, "  skipped: %s\n", d.skipped[i]);
        }
        policy_decision_clear(&d);
        assert_true(ok);
}

static void test_decision_table(void **state) {
        const Sets *s = *state;

        assert_true(ELEMENTSOF(cases) >= 40);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                run_case(s, &cases[i]);
        fprintf(stderr, "%zu decision cases\n", ELEMENTSOF(cases));
}

static void test_no_policy_leaks_into_deny(void **state) {
        const Sets *s = *state;
        PolicyRequest req;
        PolicyDecision d = {};

        /* Every skipped entry names a policy and a reason, in set order. */
        policy_request_init(&req);
        req.caller_uid = req.target_uid = U_ROOT;
        req.caller_gid = req.target_gid = G_ROOT;
        req.exe = "/usr/bin/sleep";
        assert_int_equal(policy_decide(s->set[SET_A], &req, &d), 0);
        assert_int_equal(d.verdict, VERDICT_DENY_NO_MATCH);
        assert_null(d.policy);
        assert_string_equal(d.skipped[0], "10-deny-sshd: Executable=/usr/sbin/sshd does not "
                                          "match /usr/bin/sleep");
        assert_string_equal(d.skipped[1], "20-qemu: Executable=/usr/bin/qemu-system-* does not "
                                          "match /usr/bin/sleep");
        assert_string_equal(d.skipped[2], "30-daemon: User=daemon does not match uid 0");
        assert_string_equal(d.skipped[3], "40-adm: Group=adm does not match gid 0");
        assert_null(d.skipped[5]);
        policy_decision_clear(&d);
        assert_null(d.message);
        assert_null(d.skipped);

        /* An unknown executable is said so. */
        req.exe = NULL;
        assert_int_equal(policy_decide(s->set[SET_A], &req, &d), 0);
        assert_string_equal(d.skipped[0], "10-deny-sshd: Executable=/usr/sbin/sshd does not "
                                          "match: the target's executable is unknown");
        policy_decision_clear(&d);

        /* A NULL set is an empty set. */
        assert_int_equal(policy_decide(NULL, &req, &d), 0);
        assert_int_equal(d.verdict, VERDICT_DENY_NO_MATCH);
        policy_decision_clear(&d);
}

static void test_request_init(void **state) {
        PolicyRequest r;

        memset(&r, 0x55, sizeof(r));
        policy_request_init(&r);
        assert_int_equal(r.kind, REQUEST_RUN);
        assert_true(r.caller_uid == POLICY_UID_INVALID);
        assert_true(r.target_uid == POLICY_UID_INVALID);
        assert_int_equal(r.mode, _LOCK_MODE_INVALID);
        assert_int_equal(r.prefault_threads, -2);
        assert_true(r.limit == 0);
        assert_true(r.budget_total == SIZE_INFINITY);
        assert_null(r.exe);
        assert_null(r.policy_name);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_decision_table, setup, teardown),
                cmocka_unit_test_setup_teardown(test_no_policy_leaks_into_deny, setup, teardown),
                cmocka_unit_test(test_request_init),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
