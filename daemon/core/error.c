/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/string-table.h"
#include "daemon/core/error.h"

static const char *const error_kind_table[_ERROR_KIND_MAX] = {
        [ERROR_ACCESS_DENIED] = "access-denied",
        [ERROR_BUDGET_EXCEEDED] = "budget-exceeded",
        [ERROR_NO_SUCH_WORKLOAD] = "no-such-workload",
        [ERROR_NO_SUCH_PROCESS] = "no-such-process",
        [ERROR_NO_MATCHING_POLICY] = "no-matching-policy",
        [ERROR_LOCK_FAILED] = "lock-failed",
        [ERROR_INVALID_POLICY] = "invalid-policy",
        [ERROR_INVALID_ARGUMENT] = "invalid-argument",
        [ERROR_LIMIT_EXCEEDED] = "limit-exceeded",
        [ERROR_UNSUPPORTED] = "unsupported",
};

DEFINE_STRING_TABLE_LOOKUP(error_kind, ErrorKind)

static const int error_kind_errno[_ERROR_KIND_MAX] = {
        [ERROR_ACCESS_DENIED] = EACCES,      [ERROR_BUDGET_EXCEEDED] = ENOSPC,
        [ERROR_NO_SUCH_WORKLOAD] = ENOENT,   [ERROR_NO_SUCH_PROCESS] = ESRCH,
        [ERROR_NO_MATCHING_POLICY] = ENOENT, [ERROR_LOCK_FAILED] = EIO,
        [ERROR_INVALID_POLICY] = EBADMSG,    [ERROR_INVALID_ARGUMENT] = EINVAL,
        [ERROR_LIMIT_EXCEEDED] = EUSERS,     [ERROR_UNSUPPORTED] = EOPNOTSUPP,
};

int error_kind_to_errno(ErrorKind k) {
        if (k < 0 || k >= _ERROR_KIND_MAX)
                return -EIO;
        return -error_kind_errno[k];
}

ErrorKind error_kind_from_errno(int error) {
        switch (error < 0 ? -error : error) {
        case ESRCH:
                return ERROR_NO_SUCH_PROCESS;
        case EPERM:
        case EACCES:
                return ERROR_ACCESS_DENIED;
        case ENOENT:
        case ENXIO:
                return ERROR_NO_SUCH_WORKLOAD;
        case EINVAL:
        case E2BIG:
        case ENAMETOOLONG:
        case EBADF:
        case ENOEXEC:
                return ERROR_INVALID_ARGUMENT;
        case EUSERS:
        case EMFILE:
        case EBUSY:
        case EAGAIN:
                return ERROR_LIMIT_EXCEEDED;
        case ENOSPC:
                return ERROR_BUDGET_EXCEEDED;
        case EOPNOTSUPP:
        case ENOSYS:
                return ERROR_UNSUPPORTED;
        case EBADMSG:
                return ERROR_INVALID_POLICY;
        default:
                return ERROR_LOCK_FAILED;
        }
}

void core_error_done(CoreError *e) {
        if (!e)
                return;
        free(e->message);
        *e = CORE_ERROR_NULL;
}

bool core_error_is_set(const CoreError *e) {
        return e && e->kind >= 0;
}

_printf_(3, 0) static void setv(CoreError *e, ErrorKind kind, const char *format, va_list ap) {
        char *msg;

        if (!e || core_error_is_set(e))
                return;
        if (vasprintf(&msg, format, ap) < 0)
                msg = NULL;
        e->kind = kind;
        e->message = msg;
}

int core_error_setf(CoreError *e, ErrorKind kind, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        setv(e, kind, format, ap);
        va_end(ap);
        return error_kind_to_errno(kind);
}

int core_error_setf_errno(CoreError *e, int r, const char *format, ...) {
        va_list ap;

        if (r >= 0)
                r = -EIO;
        va_start(ap, format);
        setv(e, error_kind_from_errno(r), format, ap);
        va_end(ap);
        return r;
}

int core_error_set_verdict(CoreError *e, const PolicyDecision *d) {
        ErrorKind kind;

        switch (d->verdict) {
        case VERDICT_DENY_NO_MATCH:
        case VERDICT_DENY_NO_SUCH_POLICY:
                kind = ERROR_NO_MATCHING_POLICY;
                break;
        case VERDICT_DENY_BUDGET:
                kind = ERROR_BUDGET_EXCEEDED;
                break;
        case VERDICT_DENY_INVALID:
                kind = ERROR_INVALID_ARGUMENT;
                break;
        default: /* access, kind, limit */
                kind = ERROR_ACCESS_DENIED;
                break;
        }
        return core_error_setf(e, kind, "%s",
                               d->message ?: strempty(verdict_to_string(d->verdict)));
}

void core_error_move(CoreError *dst, CoreError *src) {
        if (!core_error_is_set(dst)) {
                *dst = *src;
                *src = CORE_ERROR_NULL;
                return;
        }
        core_error_done(src);
}
