/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small pieces of the public interface: enum tables, accessors, summaries, request defaults. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "common/parse-util.h"
#include "common/string-table.h"
#include "policy/policy-internal.h"

static const char *const request_kind_table[_REQUEST_KIND_MAX] = {
        [REQUEST_RUN] = "run",
        [REQUEST_ATTACH] = "attach",
        [REQUEST_EXEC] = "exec",
};

static const char *const on_failure_table[_ON_FAILURE_MAX] = {
        [ON_FAILURE_ABORT] = "abort",
        [ON_FAILURE_CONTINUE] = "continue",
};

static const char *const on_exceed_table[_ON_EXCEED_MAX] = {
        [ON_EXCEED_WARN] = "warn",
        [ON_EXCEED_KILL] = "kill",
};

static const char *const containment_policy_table[_CONTAINMENT_POLICY_MAX] = {
        [CONTAINMENT_REQUIRED] = "required",
        [CONTAINMENT_OPTIONAL] = "optional",
};

static const char *const verdict_table[_VERDICT_MAX] = {
        [VERDICT_ALLOW] = "allow",
        [VERDICT_DENY_NO_MATCH] = "deny-no-match",
        [VERDICT_DENY_NO_SUCH_POLICY] = "deny-no-such-policy",
        [VERDICT_DENY_ACCESS] = "deny-access",
        [VERDICT_DENY_KIND] = "deny-kind",
        [VERDICT_DENY_LIMIT] = "deny-limit",
        [VERDICT_DENY_BUDGET] = "deny-budget",
        [VERDICT_DENY_INVALID] = "deny-invalid",
};

DEFINE_STRING_TABLE_LOOKUP(request_kind, RequestKind)
DEFINE_STRING_TABLE_LOOKUP(on_failure, OnFailure)
DEFINE_STRING_TABLE_LOOKUP(on_exceed, OnExceed)
DEFINE_STRING_TABLE_LOOKUP(containment_policy, ContainmentPolicy)
DEFINE_STRING_TABLE_TO_STRING(verdict, Verdict)

const char *policy_name(const Policy *p) {
        return p->name;
}
const char *policy_path(const Policy *p) {
        return p->path;
}
const LockSettings *policy_lock(const Policy *p) {
        return &p->lock;
}
const char *policy_description(const Policy *p) {
        return p->description;
}
bool policy_allows_run(const Policy *p) {
        return p->allow_run;
}
bool policy_allows_attach(const Policy *p) {
        return p->allow_attach;
}

char *strv_join_spaces(char *const *l) {
        size_t len = 1;

        for (char *const *i = l; i && *i; i++)
                len += strlen(*i) + 1;
        char *s = malloc(len), *p = s;
        if (!s)
                return NULL;
        *p = '\0';
        for (char *const *i = l; i && *i; i++) {
                if (p != s)
                        *p++ = ' ';
                p = stpcpy(p, *i);
        }
        return s;
}

/* Appends " Key=a b c" to *s for a set list. */
static int append_list(char **s, const char *key, char *const *values) {
        _cleanup_free_ char *j = NULL;
        char *n;

        if (!values || !values[0])
                return 0;
        j = strv_join_spaces(values);
        if (!j || asprintf(&n, "%s %s=%s", *s, key, j) < 0)
                return -ENOMEM;
        free(*s);
        *s = n;
        return 0;
}

char *policy_summary(const Policy *p) {
        _cleanup_free_ char *match = strdup(""), *out = NULL;
        const LockSettings *l = &p->lock;
        char threads[16];

        if (!match)
                return NULL;
        if (append_list(&match, "Executable", p->executables.globs) < 0 ||
            append_list(&match, "User", p->users.names) < 0 ||
            append_list(&match, "Group", p->groups.names) < 0 ||
            append_list(&match, "LibvirtDomain", p->libvirt_domains.globs) < 0 ||
            append_list(&match, "Unit", p->units.globs) < 0)
                return NULL;

        if (!p->allow_run && !p->allow_attach) {
                if (asprintf(&out, "%s: match%s; deny run and attach%s%s%s", p->name,
                             *match ? match : " everything", p->description ? " — \"" : "",
                             strempty(p->description), p->description ? "\"" : "") < 0)
                        return NULL;
                return TAKE_PTR(out);
        }

        char limit[FORMAT_BYTES_MAX + 48];
        if (p->limit_spec && p->limit_spec[strlen(p->limit_spec) - 1] == '%')
                snprintf(limit, sizeof(limit), "%s (%.32s)", FORMAT_BYTES(l->limit), p->limit_spec);
        else
                snprintf(limit, sizeof(limit), "%s", FORMAT_BYTES(l->limit));

        if (l->prefault_threads < 0)
                snprintf(threads, sizeof(threads), "auto");
        else
                snprintf(threads, sizeof(threads), "%d", l->prefault_threads);

        if (asprintf(&out,
                     "%s: match%s; lock Mode=%s Limit=%s PrefaultThreads=%s "
                     "TransparentHugepages=%s Inherit=%s OnFailure=%s OnExceed=%s; "
                     "access AllowUsers=%s%s AllowRun=%s AllowAttach=%s%s%s%s",
                     p->name, *match ? match : " everything", lock_mode_to_string(l->mode), limit,
                     threads, l->transparent_hugepages ? "yes" : "no", l->inherit ? "yes" : "no",
                     on_failure_to_string(l->on_failure), on_exceed_to_string(l->on_exceed),
                     *p->allow_users_text ? "root " : "(root only)", p->allow_users_text,
                     p->allow_run ? "yes" : "no", p->allow_attach ? "yes" : "no",
                     p->description ? " — \"" : "", strempty(p->description),
                     p->description ? "\"" : "") < 0)
                return NULL;
        return TAKE_PTR(out);
}

void policy_request_init(PolicyRequest *r) {
        *r = (PolicyRequest){
                .kind = REQUEST_RUN,
                .caller_uid = POLICY_UID_INVALID,
                .caller_gid = POLICY_GID_INVALID,
                .target_uid = POLICY_UID_INVALID,
                .target_gid = POLICY_GID_INVALID,
                .mode = _LOCK_MODE_INVALID,
                .limit = 0,
                .prefault_threads = -2,
                .budget_total = SIZE_INFINITY,
                .budget_reserved = 0,
        };
}

void policy_decision_clear(PolicyDecision *d) {
        if (!d)
                return;
        free(d->message);
        d->message = NULL;
        d->skipped = strv_free(d->skipped);
        d->policy = NULL;
}
