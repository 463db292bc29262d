/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PolicyDiagnostics: the list of every problem found while loading policies or the config. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "policy/policy.h"

void policy_diagnostics_clear(PolicyDiagnostics *d) {
        if (!d)
                return;
        d->messages = strv_free(d->messages);
        d->n = 0;
}

int policy_diagnostics_add(PolicyDiagnostics *d, const char *format, ...) {
        _cleanup_free_ char *m = NULL;
        va_list ap;
        int r;

        if (!d)
                return 0;

        va_start(ap, format);
        r = vasprintf(&m, format, ap);
        va_end(ap);
        if (r < 0) {
                m = NULL;
                return -ENOMEM;
        }

        char **l = reallocarray(d->messages, d->n + 2, sizeof(char *));
        if (!l)
                return -ENOMEM;
        l[d->n++] = TAKE_PTR(m);
        l[d->n] = NULL;
        d->messages = l;
        return 0;
}

void policy_diagnostics_print(const PolicyDiagnostics *d, FILE *f) {
        if (!d)
                return;
        for (size_t i = 0; i < d->n; i++)
                fprintf(f, "%s\n", d->messages[i]);
}

char *policy_diagnostics_join(const PolicyDiagnostics *d, const char *sep) {
        size_t len = 1, l_sep = strlen(sep);

        for (size_t i = 0; d && i < d->n; i++)
                len += strlen(d->messages[i]) + l_sep;

        char *s = malloc(len), *p = s;
        if (!s)
                return NULL;
        for (size_t i = 0; d && i < d->n; i++) {
                if (i > 0)
                        p = stpcpy(p, sep);
                p = stpcpy(p, d->messages[i]);
        }
        *p = '\0';
        return s;
}
