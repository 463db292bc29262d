/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* policy_check(): the work behind `mlockd --check-config` and `memlockctl policy check`. */
#include <stdio.h>
#include <stdlib.h>

#include "common/macro.h"
#include "policy/policy-internal.h"

int policy_check(char *const *paths, uint64_t mem_total, FILE *out) {
        _cleanup_(policy_set_freep) PolicySet *s = NULL;
        PolicyDiagnostics diags = {};
        bool defaults = !paths || !paths[0];
        int r;

        if (defaults)
                paths = policy_default_dirs();

        r = policy_set_load_paths(paths, mem_total, defaults ? POLICY_LOAD_MISSING_OK : 0, &s,
                                  &diags);
        if (r == -EINVAL) {
                policy_diagnostics_print(&diags, out);
                fprintf(out, "%zu %s found.\n", diags.n, diags.n == 1 ? "error" : "errors");
                policy_diagnostics_clear(&diags);
                return r;
        }
        policy_diagnostics_clear(&diags);
        if (r < 0)
                return r;

        if (policy_set_size(s) == 0) {
                _cleanup_free_ char *j = strv_join_spaces(paths);
                fprintf(out, "No policies found in %s.\n", strna(j));
                return 0;
        }
        for (size_t i = 0; i < policy_set_size(s); i++) {
                _cleanup_free_ char *line = policy_summary(policy_set_get(s, i));
                if (!line)
                        return -ENOMEM;
                fprintf(out, "%s\n", line);
        }
        return 0;
}
