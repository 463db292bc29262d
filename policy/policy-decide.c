/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* policy_decide(): request + caller + target + policy set + budget -> verdict. Pure. */
#include <fnmatch.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "common/parse-util.h"
#include "policy/policy-internal.h"

/* At most this many policy names are listed in a "no such policy" message. */
#define DECIDE_LIST_NAMES_MAX 8U

bool glob_list_match(const GlobList *l, const char *s) {
        for (size_t i = 0; i < l->n; i++)
                if (fnmatch(l->globs[i], s, 0) == 0)
                        return true;
        return false;
}

static bool in_groups(const IdList *l, gid_t gid, const gid_t *groups, size_t n) {
        if (gid != POLICY_GID_INVALID && id_list_contains(l, gid))
                return true;
        for (size_t i = 0; groups && i < n; i++)
                if (id_list_contains(l, groups[i]))
                        return true;
        return false;
}

static int glob_mismatch(char **ret, const char *key, const GlobList *l, const char *value,
                         const char *what) {
        _cleanup_free_ char *j = strv_join_spaces(l->globs);

        if (!j)
                return -ENOMEM;
        if (value)
                return asprintf(ret, "%s=%s does not match %s", key, j, value) < 0 ? -ENOMEM : 0;
        return asprintf(ret, "%s=%s does not match: the target's %s is unknown", key, j, what) < 0
                       ? -ENOMEM
                       : 0;
}

static int id_mismatch(char **ret, const char *key, const IdList *l, const char *what,
                       uint32_t id) {
        _cleanup_free_ char *j = strv_join_spaces(l->names);

        if (!j)
                return -ENOMEM;
        if (id == (uint32_t) -1)
                return asprintf(ret, "%s=%s does not match: the target's %s is unknown", key, j,
                                what) < 0
                               ? -ENOMEM
                               : 0;
        return asprintf(ret, "%s=%s does not match %s %" PRIu32, key, j, what, id) < 0 ? -ENOMEM
                                                                                       : 0;
}

/* Whether p's [Match] fits the target. Returns 1 (match), 0 (no match: *ret_why says which key
 * and why, malloc'd) or -ENOMEM. */
static int policy_match(const Policy *p, const PolicyRequest *req, char **ret_why) {
        if (p->executables.n > 0 && !(req->exe && glob_list_match(&p->executables, req->exe)))
                return glob_mismatch(ret_why, "Executable", &p->executables, req->exe,
                                     "executable");
        if (p->users.n > 0 && !(req->target_uid != POLICY_UID_INVALID &&
                                id_list_contains(&p->users, req->target_uid)))
                return id_mismatch(ret_why, "User", &p->users, "uid", req->target_uid);
        if (p->groups.n > 0 &&
            !in_groups(&p->groups, req->target_gid, req->target_groups, req->n_target_groups))
                return id_mismatch(ret_why, "Group", &p->groups, "gid", req->target_gid);
        if (p->libvirt_domains.n > 0 &&
            !(req->libvirt_domain && glob_list_match(&p->libvirt_domains, req->libvirt_domain)))
                return glob_mismatch(ret_why, "LibvirtDomain", &p->libvirt_domains,
                                     req->libvirt_domain, "libvirt domain");
        if (p->units.n > 0 && !(req->unit && glob_list_match(&p->units, req->unit)))
                return glob_mismatch(ret_why, "Unit", &p->units, req->unit, "systemd unit");
        return 1;
}

static bool caller_admitted(const Policy *p, const PolicyRequest *req) {
        if (req->caller_uid == 0)
                return true;
        if (req->caller_uid == POLICY_UID_INVALID)
                return false;
        if (id_list_contains(&p->allow_uids, req->caller_uid))
                return true;
        return in_groups(&p->allow_gids, req->caller_gid, req->caller_groups, req->n_caller_groups);
}

static int strv_push(char ***l, size_t *n, char *s) {
        char **nl = reallocarray(*l, *n + 2, sizeof(char *));
        if (!nl) {
                free(s);
                return -ENOMEM;
        }
        nl[(*n)++] = s;
        nl[*n] = NULL;
        *l = nl;
        return 0;
}

/* Fills d with a verdict and a formatted message. Returns 0 or -ENOMEM. */
static int verdict(PolicyDecision *d, Verdict v, const Policy *p, const char *format, ...)
        _printf_(4, 5);
static int verdict(PolicyDecision *d, Verdict v, const Policy *p, const char *format, ...) {
        va_list ap;
        int r;

        d->verdict = v;
        d->policy = p;
        va_start(ap, format);
        r = vasprintf(&d->message, format, ap);
        va_end(ap);
        if (r < 0) {
                d->message = NULL;
                return -ENOMEM;
        }
        return 0;
}

static int deny_no_such_policy(const PolicySet *set, const char *name, PolicyDecision *d) {
        _cleanup_free_ char *names = strdup("");
        size_t n = policy_set_size(set);

        if (!names)
                return -ENOMEM;
        for (size_t i = 0; i < n && i < DECIDE_LIST_NAMES_MAX; i++) {
                char *j;
                if (asprintf(&j, "%s%s%s", names, i > 0 ? ", " : "",
                             policy_name(policy_set_get(set, i))) < 0)
                        return -ENOMEM;
                free(names);
                names = j;
        }
        if (n == 0)
                return verdict(d, VERDICT_DENY_NO_SUCH_POLICY, NULL,
                               "No policy named '%s': no policies are loaded.", name);
        return verdict(d, VERDICT_DENY_NO_SUCH_POLICY, NULL,
                       "No policy named '%s'; loaded policies: %s%s.", name, names,
                       n > DECIDE_LIST_NAMES_MAX ? ", ..." : "");
}

static const char *target_desc(const PolicyRequest *req, char *buf, size_t l) {
        if (req->exe)
                snprintf(buf, l, "%s (uid %" PRIu32 ")", req->exe, (uint32_t) req->target_uid);
        else if (req->libvirt_domain)
                snprintf(buf, l, "libvirt domain '%s' (uid %" PRIu32 ")", req->libvirt_domain,
                         (uint32_t) req->target_uid);
        else
                snprintf(buf, l, "the target (uid %" PRIu32 ")", (uint32_t) req->target_uid);
        return buf;
}

static int request_check(const PolicyRequest *req, PolicyDecision *d) {
        if (req->kind < 0 || req->kind >= _REQUEST_KIND_MAX)
                return verdict(d, VERDICT_DENY_INVALID, NULL, "Invalid request kind %d.",
                               (int) req->kind);
        if (req->mode != _LOCK_MODE_INVALID && (req->mode < 0 || req->mode >= _LOCK_MODE_MAX))
                return verdict(d, VERDICT_DENY_INVALID, NULL,
                               "Invalid lock mode %d: use on, on-fault or current.",
                               (int) req->mode);
        if (req->prefault_threads < -2 || req->prefault_threads > POLICY_PREFAULT_THREADS_MAX)
                return verdict(d, VERDICT_DENY_INVALID, NULL,
                               "Invalid number of prefault threads %d: use -1 (auto), 0 (none) "
                               "or up to %d.",
                               req->prefault_threads, POLICY_PREFAULT_THREADS_MAX);
        if (req->caller_uid == POLICY_UID_INVALID)
                return verdict(d, VERDICT_DENY_INVALID, NULL, "The caller's uid is unknown.");
        return 0;
}

uint64_t budget_free_bytes(uint64_t total, uint64_t reserved) {
        if (total == SIZE_INFINITY)
                return UINT64_MAX;
        return reserved < total ? total - reserved : 0;
}

bool budget_fits(uint64_t total, uint64_t reserved, uint64_t ask) {
        if (total == SIZE_INFINITY)
                return true;
        return ask != SIZE_INFINITY && ask <= budget_free_bytes(total, reserved);
}

int policy_decide(const PolicySet *set, const PolicyRequest *req, PolicyDecision *ret) {
        _cleanup_strv_free_ char **skipped = NULL;
        PolicyDecision d = { .verdict = _VERDICT_INVALID };
        const Policy *p = NULL;
        bool is_attach = req->kind == REQUEST_ATTACH;
        char target[512];
        size_t n_skipped = 0;
        int r;

        target_desc(req, target, sizeof(target));

        r = request_check(req, &d);
        if (r < 0)
                goto fail;
        if (d.message)
                goto done;

        /* Own processes only, unless root: the daemon enforces this too, but the decision table
         * must cover it. */
        if (req->caller_uid != 0 && req->caller_uid != req->target_uid) {
                r = verdict(&d, VERDICT_DENY_ACCESS, NULL,
                            "uid %" PRIu32 " may only lock its own processes, but %s belongs "
                            "to another user; ask root to do it.",
                            (uint32_t) req->caller_uid, target);
                goto done_check;
        }

        if (req->policy_name) {
                p = policy_set_find(set, req->policy_name);
                if (!p) {
                        r = deny_no_such_policy(set, req->policy_name, &d);
                        goto done_check;
                }
        } else {
                for (size_t i = 0; i < policy_set_size(set); i++) {
                        const Policy *c = policy_set_get(set, i);
                        _cleanup_free_ char *why = NULL;
                        char *s;

                        r = policy_match(c, req, &why);
                        if (r < 0)
                                goto fail;
                        if (r > 0) {
                                p = c;
                                break;
                        }
                        if (asprintf(&s, "%s: %s", c->name, why) < 0) {
                                r = -ENOMEM;
                                goto fail;
                        }
                        r = strv_push(&skipped, &n_skipped, s);
                        if (r < 0)
                                goto fail;
                }
                if (!p) {
                        r = verdict(&d, VERDICT_DENY_NO_MATCH, NULL,
                                    "No policy matches %s; %zu %s checked. Add a policy that "
                                    "matches it (see mlockd.policy(5)), or run `memlockctl "
                                    "explain` to see why each one did not match.",
                                    target, policy_set_size(set),
                                    policy_set_size(set) == 1 ? "policy was" : "policies were");
                        goto done_check;
                }
        }

        /* A policy that forbids this kind of request ends the search: that is how deny rules
         * are written (AllowRun=no AllowAttach=no), and it applies to root as well. */
        if (is_attach ? !p->allow_attach : !p->allow_run) {
                r = verdict(&d, VERDICT_DENY_KIND, p, "Policy '%s' (%s) does not allow %s (%s=no).",
                            p->name, p->path,
                            is_attach ? "attaching to running processes" : "starting programs",
                            is_attach ? "AllowAttach" : "AllowRun");
                goto done_check;
        }

        if (!caller_admitted(p, req)) {
                r = verdict(&d, VERDICT_DENY_ACCESS, p,
                            "Policy '%s' does not admit uid %" PRIu32 ": ask an administrator "
                            "to add the user or one of its groups to AllowUsers= in %s.",
                            p->name, (uint32_t) req->caller_uid, p->path);
                goto done_check;
        }

        /* Root may apply any policy; others only one that also matches the target, so that
         * AllowUsers= cannot lift a policy's [Match] off its programs. */
        if (req->policy_name && req->caller_uid != 0) {
                _cleanup_free_ char *why = NULL;

                r = policy_match(p, req, &why);
                if (r < 0)
                        goto fail;
                if (r == 0) {
                        r = verdict(&d, VERDICT_DENY_NO_MATCH, p,
                                    "Policy '%s' does not apply to %s: %s. Only root may apply "
                                    "a policy to a target it does not match.",
                                    p->name, target, why);
                        goto done_check;
                }
        }

        LockSettings s = p->lock;
        if (req->mode != _LOCK_MODE_INVALID)
                s.mode = req->mode;
        if (req->prefault_threads != -2)
                s.prefault_threads = req->prefault_threads;
        if (req->limit != 0) {
                if (req->limit > p->lock.limit) {
                        r = verdict(&d, VERDICT_DENY_LIMIT, p,
                                    "The requested limit %s is above the %s that policy '%s' "
                                    "allows (Limit= in %s); ask for at most %s.",
                                    FORMAT_BYTES(req->limit), FORMAT_BYTES(p->lock.limit), p->name,
                                    p->path, FORMAT_BYTES(p->lock.limit));
                        goto done_check;
                }
                s.limit = req->limit;
        }

        /* Budget: the limit is reserved in full. An infinite limit reserves everything, so it
         * fits only an infinite budget. */
        if (!budget_fits(req->budget_total, req->budget_reserved, s.limit)) {
                uint64_t free_bytes = budget_free_bytes(req->budget_total, req->budget_reserved);
                if (s.limit == SIZE_INFINITY) {
                        r = verdict(&d, VERDICT_DENY_BUDGET, p,
                                    "An unlimited lock (Limit=infinity in policy '%s') cannot be "
                                    "reserved against the %s budget: ask for a limit (at most %s "
                                    "is free), or set Budget=infinity in mlockd.conf.",
                                    p->name, FORMAT_BYTES(req->budget_total),
                                    FORMAT_BYTES(free_bytes));
                        goto done_check;
                }
                r = verdict(&d, VERDICT_DENY_BUDGET, p,
                            "needs %s, %s of the %s budget is free: ask for a smaller "
                            "limit or wait for other workloads to end.",
                            FORMAT_BYTES(s.limit), FORMAT_BYTES(free_bytes),
                            FORMAT_BYTES(req->budget_total));
                goto done_check;
        }

        d.settings = s;
        r = verdict(&d, VERDICT_ALLOW, p, "Allowed by policy '%s' (%s): mode %s, limit %s.",
                    p->name, p->path, lock_mode_to_string(s.mode), FORMAT_BYTES(s.limit));

done_check:
        if (r < 0)
                goto fail;
done:
        d.skipped = TAKE_PTR(skipped);
        if (!d.skipped) {
                d.skipped = calloc(1, sizeof(char *));
                if (!d.skipped) {
                        r = -ENOMEM;
                        goto fail;
                }
        }
        *ret = d;
        return 0;

fail:
        policy_decision_clear(&d);
        return r;
}
