/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The policy library's public interface: load a policy set, decide a request. Pure: no sockets,
 * no globals, no logging above debug. Decisions are values (a verdict with a reason). */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "common/lock-mode.h"

/* An unknown or unset uid/gid in a request. */
#define POLICY_UID_INVALID ((uid_t) -1)
#define POLICY_GID_INVALID ((gid_t) -1)

/* Bounds on what a policy directory may make us read; each refused with a clear error. */
#define POLICY_FILE_SIZE_MAX (64U * 1024U) /* bytes per file */
#define POLICY_LINE_MAX 4096U /* bytes per line */
#define POLICY_SET_SIZE_MAX 1024U /* policies per set */
#define POLICY_VALUES_MAX 256U /* values per list key (Executable=, AllowUsers=, ...) */
#define POLICY_PREFAULT_THREADS_MAX 1024 /* PrefaultThreads=N */

typedef enum RequestKind {
        REQUEST_RUN,
        REQUEST_ATTACH,
        REQUEST_EXEC, /* memlockctl exec: the caller locks itself; decided like RUN */
        _REQUEST_KIND_MAX,
        _REQUEST_KIND_INVALID = -EINVAL,
} RequestKind;
const char *request_kind_to_string(RequestKind k); /* "run", "attach", "exec" */
RequestKind request_kind_from_string(const char *s);

typedef enum OnFailure {
        ON_FAILURE_ABORT, /* the workload is stopped (shim: exit 127) */
        ON_FAILURE_CONTINUE, /* the workload runs unlocked; the failure is reported */
        _ON_FAILURE_MAX,
        _ON_FAILURE_INVALID = -EINVAL,
} OnFailure;
const char *on_failure_to_string(OnFailure f); /* "abort", "continue" */
OnFailure on_failure_from_string(const char *s);

typedef enum OnExceed {
        ON_EXCEED_WARN, /* capability-locked workload above its limit: log and signal */
        ON_EXCEED_KILL, /* ... SIGKILL it */
        _ON_EXCEED_MAX,
        _ON_EXCEED_INVALID = -EINVAL,
} OnExceed;
const char *on_exceed_to_string(OnExceed e); /* "warn", "kill" */
OnExceed on_exceed_from_string(const char *s);

/* Whether a workload that gets CAP_IPC_LOCK may run without containment
 * (daemon/containment/containment.h) when no backend is usable. Root's workloads run either way. */
typedef enum ContainmentPolicy {
        CONTAINMENT_REQUIRED, /* refuse the workload, saying why and what to change */
        CONTAINMENT_OPTIONAL, /* run it uncontained; OnExceed= is then all that watches it */
        _CONTAINMENT_POLICY_MAX,
        _CONTAINMENT_POLICY_INVALID = -EINVAL,
} ContainmentPolicy;
const char *containment_policy_to_string(ContainmentPolicy c); /* "required", "optional" */
ContainmentPolicy containment_policy_from_string(const char *s);

/* The effective settings of a lock, after policy defaults and request overrides. */
typedef struct LockSettings {
        LockMode mode;
        uint64_t limit; /* bytes; SIZE_INFINITY for infinity */
        int prefault_threads; /* -1 = auto, 0 = none, N */
        bool transparent_hugepages;
        bool inherit;
        OnFailure on_failure;
        OnExceed on_exceed;
        ContainmentPolicy containment;
} LockSettings;

typedef struct Policy Policy; /* opaque: policy/policy-internal.h */
typedef struct PolicySet PolicySet;

/* All problems found while loading, each "file:line: Key=value: why". */
typedef struct PolicyDiagnostics {
        char **messages; /* NULL-terminated, may be NULL */
        size_t n;
} PolicyDiagnostics;
void policy_diagnostics_clear(PolicyDiagnostics *d);
/* Appends one message. Returns 0 or -ENOMEM. */
int policy_diagnostics_add(PolicyDiagnostics *d, const char *format, ...)
        __attribute__((format(printf, 2, 3)));
/* Prints every message, one per line. */
void policy_diagnostics_print(const PolicyDiagnostics *d, FILE *f);
/* All messages joined by sep (e.g. "\n" for an InvalidPolicy error). malloc'd, NULL on OOM. */
char *policy_diagnostics_join(const PolicyDiagnostics *d, const char *sep);

/* Loads *.policy from dirs (NULL-terminated, earlier masks later by file name; a symlink to
 * /dev/null masks without a policy). Returns 0 and a set, or -EINVAL with every problem in
 * diags (nothing is returned then: a broken set is never half-used). Missing directories are
 * not an error. */
int policy_set_load(char *const *dirs, PolicySet **ret, PolicyDiagnostics *diags);

typedef enum PolicyLoadFlags {
        POLICY_LOAD_MISSING_OK = 1 << 0, /* a path that does not exist is skipped */
} PolicyLoadFlags;
/* The general loader behind policy_set_load(): each path is a directory of *.policy files or a
 * single policy file (named after its base name, ".policy" stripped). Earlier paths mask later
 * ones by policy name. mem_total (bytes) resolves Limit=N%; 0 reads /proc/meminfo once.
 * Files must be owned by root and not writable by group or others. */
int policy_set_load_paths(char *const *paths, uint64_t mem_total, PolicyLoadFlags flags,
                          PolicySet **ret, PolicyDiagnostics *diags);
/* The built-in search path: /etc/mlockd/policy.d, /run/mlockd/policy.d,
 * /usr/lib/mlockd/policy.d (from build-config.h). NULL-terminated, static. */
char *const *policy_default_dirs(void);

/* Parses one policy from memory: the entry point of file loading and of the fuzzer; no
 * permission checks. name is the policy name, path is used in messages ("path:line: ...").
 * Users and groups are resolved with getpwnam/getgrnam (numeric ids are accepted too).
 * Returns 0 and a policy, or -EINVAL with every problem in diags, or -ENOMEM. */
int policy_parse(const char *name, const char *path, const char *buf, size_t n, uint64_t mem_total,
                 Policy **ret, PolicyDiagnostics *diags);
Policy *policy_free(Policy *p);
/* An empty set, and adding a parsed policy at the end (the set takes ownership, also on
 * failure). For tests and the fuzzer; loaders build sets themselves. */
int policy_set_new(PolicySet **ret);
int policy_set_add(PolicySet *s, Policy *p);

/* For `mlockd --check-config` and `memlockctl policy check [PATH...]`: loads paths (NULL or
 * empty: the default directories; a missing path is an error unless it is a default directory),
 * then prints to out either "NAME: summary" for each policy in match order, or every error.
 * Returns 0 when valid, -EINVAL when not (the errors were printed), other -errno on failure. */
int policy_check(char *const *paths, uint64_t mem_total, FILE *out);

PolicySet *policy_set_free(PolicySet *s);
static inline void policy_set_freep(PolicySet **s) {
        if (*s)
                policy_set_free(*s);
}
static inline void policy_freep(Policy **p) {
        if (*p)
                policy_free(*p);
}
size_t policy_set_size(const PolicySet *s);
const Policy *policy_set_get(const PolicySet *s, size_t i);
const Policy *policy_set_find(const PolicySet *s, const char *name);

const char *policy_name(const Policy *p); /* file name without ".policy" */
const char *policy_path(const Policy *p);
const LockSettings *policy_lock(const Policy *p);
const char *policy_description(const Policy *p); /* [Policy] Description=, or NULL */
bool policy_allows_run(const Policy *p); /* [Access] AllowRun= (also covers exec) */
bool policy_allows_attach(const Policy *p); /* [Access] AllowAttach= */
/* A one-line summary for `policy check` and `policy list`. malloc'd. */
char *policy_summary(const Policy *p);

/* Who asks, about what. Strings may be NULL when unknown. */
typedef struct PolicyRequest {
        RequestKind kind;
        uid_t caller_uid;
        gid_t caller_gid;
        const gid_t *caller_groups;
        size_t n_caller_groups;

        const char *exe; /* target executable (Run: resolved command path) */
        uid_t target_uid; /* Run: the caller's uid */
        gid_t target_gid;
        const gid_t *target_groups; /* supplementary groups of the target (Group= matches the
                                     * primary group or any of these); may be NULL */
        size_t n_target_groups;
        const char *libvirt_domain;
        const char *unit;

        const char *policy_name; /* explicitly requested policy, or NULL */
        LockMode mode; /* requested, or _LOCK_MODE_INVALID for the policy's */
        uint64_t limit; /* requested, or 0 for the policy's */
        int prefault_threads; /* requested, or -2 for the policy's */

        uint64_t budget_total; /* SIZE_INFINITY if there is no budget */
        uint64_t budget_reserved; /* sum of current reservations */
} PolicyRequest;
/* Sets every field to "unknown / the policy's": uids and gids POLICY_*_INVALID, mode
 * _LOCK_MODE_INVALID, limit 0, prefault_threads -2, no budget (SIZE_INFINITY), kind RUN. */
void policy_request_init(PolicyRequest *r);

typedef enum Verdict {
        VERDICT_ALLOW,
        VERDICT_DENY_NO_MATCH, /* no policy matched the target */
        VERDICT_DENY_NO_SUCH_POLICY, /* the named policy does not exist */
        VERDICT_DENY_ACCESS, /* [Access] does not admit the caller */
        VERDICT_DENY_KIND, /* AllowRun=no / AllowAttach=no */
        VERDICT_DENY_LIMIT, /* requested limit above the policy's */
        VERDICT_DENY_BUDGET, /* would exceed the budget */
        VERDICT_DENY_INVALID, /* malformed request (mode, limit 0, ...) */
        _VERDICT_MAX,
        _VERDICT_INVALID = -EINVAL,
} Verdict;
const char *verdict_to_string(Verdict v); /* "allow", "deny-no-match", "deny-access", ... */

typedef struct PolicyDecision {
        Verdict verdict;
        const Policy *policy; /* the matched policy (ALLOW, and some denials), else NULL */
        LockSettings settings; /* effective settings when ALLOW */
        char *message; /* a sentence a person can act on (malloc'd) */
        char **skipped; /* NULL-terminated: "NAME: why it did not match", in order */
} PolicyDecision;
void policy_decision_clear(PolicyDecision *d);

/* The one budget arithmetic, used by policy_decide(), the daemon's admission check and its
 * messages: what is free of total after reserved (0 when over-reserved, e.g. after Budget= was
 * lowered; UINT64_MAX for an infinite budget), and whether ask fits (an infinite ask fits only
 * an infinite budget). */
uint64_t budget_free_bytes(uint64_t total, uint64_t reserved);
bool budget_fits(uint64_t total, uint64_t reserved, uint64_t ask);

/* The one decision function; pure (no I/O, no globals). In order: a malformed request is
 * DENY_INVALID; a non-root caller whose uid is not target_uid gets DENY_ACCESS; the named
 * policy (DENY_NO_SUCH_POLICY if absent) or else the first policy whose [Match] fits
 * (DENY_NO_MATCH if none; every policy tried before is listed in skipped with why); the kind
 * must be allowed (DENY_KIND, also for root: deny rules); a non-root caller must be admitted by
 * AllowUsers= (DENY_ACCESS) and, if it named the policy, the policy must match the target
 * (DENY_NO_MATCH); a requested limit above Limit= is DENY_LIMIT; the effective limit must fit
 * in budget_total - budget_reserved (DENY_BUDGET; an infinite limit fits only an infinite
 * budget). Returns 0 with *ret filled (allow or deny; clear it with policy_decision_clear()),
 * or -ENOMEM. */
int policy_decide(const PolicySet *set, const PolicyRequest *req, PolicyDecision *ret);
