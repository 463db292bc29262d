/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Errors of the core: a -errno, a kind the API names, and a sentence for a person. The core knows
 * no D-Bus; daemon/bus/bus-error.c is the one place that turns kinds into org.mlockd1.Error.*. */

#include <errno.h>
#include <stdbool.h>

#include "common/macro.h"
#include "policy/policy.h"

typedef enum ErrorKind {
        ERROR_ACCESS_DENIED,
        ERROR_BUDGET_EXCEEDED,
        ERROR_NO_SUCH_WORKLOAD,
        ERROR_NO_SUCH_PROCESS,
        ERROR_NO_MATCHING_POLICY,
        ERROR_LOCK_FAILED,
        ERROR_INVALID_POLICY,
        ERROR_INVALID_ARGUMENT,
        ERROR_LIMIT_EXCEEDED,
        ERROR_UNSUPPORTED,
        _ERROR_KIND_MAX,
        _ERROR_KIND_INVALID = -EINVAL,
} ErrorKind;

/* "access-denied", "budget-exceeded", ... */
const char *error_kind_to_string(ErrorKind k);
ErrorKind error_kind_from_string(const char *s);

/* The kind for an errno: ESRCH → no such process, EPERM/EACCES → access denied, ENOENT/ENXIO →
 * no such workload, EINVAL/E2BIG/ENAMETOOLONG/EBADF/ENOEXEC → invalid argument,
 * EUSERS/EMFILE/EBUSY/EAGAIN → limit exceeded, ENOSPC → budget exceeded, EOPNOTSUPP/ENOSYS →
 * unsupported, EBADMSG → invalid policy; anything else lock failed. */
ErrorKind error_kind_from_errno(int error);
/* The errno a kind stands for (negative): EACCES, ENOSPC, ENOENT, ESRCH, ENOENT, EIO, EBADMSG,
 * EINVAL, EUSERS, EOPNOTSUPP. */
int error_kind_to_errno(ErrorKind k);

typedef struct CoreError {
        ErrorKind kind; /* _ERROR_KIND_INVALID while unset */
        char *message;
} CoreError;

#define CORE_ERROR_NULL ((CoreError){ .kind = _ERROR_KIND_INVALID })

void core_error_done(CoreError *e);
bool core_error_is_set(const CoreError *e);
/* Sets e (if non-NULL and not set yet: the first, most specific error wins) and returns the
 * negative errno of the kind. */
int core_error_setf(CoreError *e, ErrorKind kind, const char *format, ...) _printf_(3, 4);
/* The same with the kind derived from r; returns r (-EIO if r >= 0). */
int core_error_setf_errno(CoreError *e, int r, const char *format, ...) _printf_(3, 4);
/* A denial of policy_decide(): no matching policy, access denied, budget exceeded, invalid
 * argument; the decision's message. Returns the negative errno. */
int core_error_set_verdict(CoreError *e, const PolicyDecision *d);
/* Moves src into dst (if dst is not set yet), leaving src empty. */
void core_error_move(CoreError *dst, CoreError *src);
