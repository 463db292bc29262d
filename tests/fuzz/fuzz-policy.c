/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for the policy parser (policy/policy-parse.c, policy/ini.c) and, for what
 * parses, policy_summary() and policy_decide() over a few requests. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/macro.h"
#include "common/parse-util.h"
#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        PolicyDiagnostics diags = {};
        PolicySet *set = NULL;
        Policy *p = NULL;

        /* The parser takes a buffer that need not be NUL-terminated. */
        if (policy_parse("fuzz", "fuzz.policy", (const char *) data, size, 16ULL << 30, &p,
                         &diags) < 0) {
                free(policy_diagnostics_join(&diags, "\n"));
                policy_diagnostics_clear(&diags);
                return 0;
        }
        free(policy_summary(p));
        if (policy_set_new(&set) < 0 || policy_set_add(set, p) < 0) {
                policy_set_free(set);
                return 0;
        }

        static const gid_t groups[] = { 4, 65534 };
        static const struct {
                RequestKind kind;
                uid_t caller, target;
                const char *exe, *domain, *unit, *policy;
                uint64_t limit, budget;
        } requests[] = {
                { REQUEST_RUN, 0, 0, "/usr/bin/sleep", NULL, NULL, NULL, 0, SIZE_INFINITY },
                { REQUEST_ATTACH, 1000, 1000, "/usr/bin/qemu-system-x86_64", "vm-1",
                  "machine-qemu.scope", NULL, 1ULL << 30, 8ULL << 30 },
                { REQUEST_EXEC, 65534, 65534, "/opt/x", NULL, "x.service", "fuzz", 0, 4ULL << 30 },
                { REQUEST_ATTACH, 2, 0, NULL, NULL, NULL, "fuzz", SIZE_INFINITY, 1 },
        };
        for (size_t i = 0; i < ELEMENTSOF(requests); i++) {
                PolicyRequest req;
                PolicyDecision d = {};

                policy_request_init(&req);
                req.kind = requests[i].kind;
                req.caller_uid = requests[i].caller;
                req.caller_gid = requests[i].caller;
                req.caller_groups = groups;
                req.n_caller_groups = ELEMENTSOF(groups);
                req.target_uid = requests[i].target;
                req.target_gid = requests[i].target;
                req.exe = requests[i].exe;
                req.libvirt_domain = requests[i].domain;
                req.unit = requests[i].unit;
                req.policy_name = requests[i].policy;
                req.limit = requests[i].limit;
                req.budget_total = requests[i].budget;
                if (policy_decide(set, &req, &d) >= 0)
                        policy_decision_clear(&d);
        }
        policy_set_free(set);
        return 0;
}
