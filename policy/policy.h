/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The policy library's public interface: load a policy set, decide a request. Pure: no sockets,
 * no globals, no logging above debug. Decisions are values (a verdict with a reason). */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/lock-mode.h"

typedef enum RequestKind {
        REQUEST_RUN,
        REQUEST_ATTACH,
        REQUEST_EXEC, /* memlockctl exec: the caller locks itself; decided like RUN */
        _REQUEST_KIND_MAX,
        _REQUEST_KIND_INVALID = -EINVAL,
} RequestKind;

typedef enum OnFailure {
        ON_FAILURE_ABORT,    /* the workload is stopped (shim: exit 127) */
        ON_FAILURE_CONTINUE, /* the workload runs unlocked; the failure is reported */
        _ON_FAILURE_MAX,
        _ON_FAILURE_INVALID = -EINVAL,
} OnFailure;

typedef enum OnExceed {
        ON_EXCEED_WARN, /* capability-locked workload above its limit: log and signal */
        ON_EXCEED_KILL, /* ... SIGKILL it */
        _ON_EXCEED_MAX,
        _ON_EXCEED_INVALID = -EINVAL,
} OnExceed;

/* The effective settings of a lock, after policy defaults and request overrides. */
typedef struct LockSettings {
        LockMode mode;
        uint64_t limit;            /* bytes; SIZE_INFINITY for infinity */
        int prefault_threads;      /* -1 = auto, 0 = none, N */
        bool transparent_hugepages;
        bool inherit;
        OnFailure on_failure;
        OnExceed on_exceed;
} LockSettings;

typedef struct Policy Policy; /* opaque: policy/policy-set.c */
typedef struct PolicySet PolicySet;

/* All problems found while loading, each "file:line: Key=value: why". */
typedef struct PolicyDiagnostics {
        char **messages; /* NULL-terminated, may be NULL */
        size_t n;
} PolicyDiagnostics;
void policy_diagnostics_clear(PolicyDiagnostics *d);

/* Loads *.policy from dirs (NULL-terminated, earlier masks later by file name; a symlink to
 * /dev/null masks without a policy). Returns 0 and a set, or -EINVAL with every problem in
 * diags (nothing is returned then: a broken set is never half-used). Missing directories are
 * not an error. */
int policy_set_load(char *const *dirs, PolicySet **ret, PolicyDiagnostics *diags);
PolicySet *policy_set_free(PolicySet *s);
size_t policy_set_size(const PolicySet *s);
const Policy *policy_set_get(const PolicySet *s, size_t i);
const Policy *policy_set_find(const PolicySet *s, const char *name);

const char *policy_name(const Policy *p); /* file name without ".policy" */
const char *policy_path(const Policy *p);
const LockSettings *policy_lock(const Policy *p);
/* A one-line summary for `policy check` and `policy list`. malloc'd. */
char *policy_summary(const Policy *p);

/* Who asks, about what. Strings may be NULL when unknown. */
typedef struct PolicyRequest {
        RequestKind kind;
        uid_t caller_uid;
        gid_t caller_gid;
        const gid_t *caller_groups;
        size_t n_caller_groups;

        const char *exe;    /* target executable (Run: resolved command path) */
        uid_t target_uid;   /* Run: the caller's uid */
        gid_t target_gid;
        const char *libvirt_domain;
        const char *unit;

        const char *policy_name; /* explicitly requested policy, or NULL */
        LockMode mode;           /* requested, or _LOCK_MODE_INVALID for the policy's */
        uint64_t limit;          /* requested, or 0 for the policy's */
        int prefault_threads;    /* requested, or -2 for the policy's */

        uint64_t budget_total;    /* SIZE_INFINITY if there is no budget */
        uint64_t budget_reserved; /* sum of current reservations */
} PolicyRequest;

typedef enum Verdict {
        VERDICT_ALLOW,
        VERDICT_DENY_NO_MATCH,       /* no policy matched the target */
        VERDICT_DENY_NO_SUCH_POLICY, /* the named policy does not exist */
        VERDICT_DENY_ACCESS,         /* [Access] does not admit the caller */
        VERDICT_DENY_KIND,           /* AllowRun=no / AllowAttach=no */
        VERDICT_DENY_LIMIT,          /* requested limit above the policy's */
        VERDICT_DENY_BUDGET,         /* would exceed the budget */
        VERDICT_DENY_INVALID,        /* malformed request (mode, limit 0, ...) */
        _VERDICT_MAX,
        _VERDICT_INVALID = -EINVAL,
} Verdict;
const char *verdict_to_string(Verdict v);

typedef struct PolicyDecision {
        Verdict verdict;
        const Policy *policy;  /* the matched policy (ALLOW, and some denials), else NULL */
        LockSettings settings; /* effective settings when ALLOW */
        char *message;         /* a sentence a person can act on (malloc'd) */
        char **skipped;        /* NULL-terminated: "NAME: why it did not match", in order */
} PolicyDecision;
void policy_decision_clear(PolicyDecision *d);

/* The one decision function. Returns 0 with *ret filled (allow or deny), or -ENOMEM. */
int policy_decide(const PolicySet *set, const PolicyRequest *req, PolicyDecision *ret);
