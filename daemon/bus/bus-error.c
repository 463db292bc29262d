/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon/bus/bus-error.h"

static const sd_bus_error_map mlockd_errors[] = {
        SD_BUS_ERROR_MAP(BUS_ERROR_ACCESS_DENIED, EACCES),
        SD_BUS_ERROR_MAP(BUS_ERROR_BUDGET_EXCEEDED, ENOSPC),
        SD_BUS_ERROR_MAP(BUS_ERROR_NO_SUCH_WORKLOAD, ENOENT),
        SD_BUS_ERROR_MAP(BUS_ERROR_NO_SUCH_PROCESS, ESRCH),
        SD_BUS_ERROR_MAP(BUS_ERROR_NO_MATCHING_POLICY, ENOENT),
        SD_BUS_ERROR_MAP(BUS_ERROR_LOCK_FAILED, EIO),
        SD_BUS_ERROR_MAP(BUS_ERROR_INVALID_POLICY, EBADMSG),
        SD_BUS_ERROR_MAP(BUS_ERROR_INVALID_ARGUMENT, EINVAL),
        SD_BUS_ERROR_MAP(BUS_ERROR_LIMIT_EXCEEDED, EUSERS),
        SD_BUS_ERROR_MAP(BUS_ERROR_UNSUPPORTED, EOPNOTSUPP),
        SD_BUS_ERROR_MAP_END,
};

void bus_error_register(void) {
        (void) sd_bus_error_add_map(mlockd_errors);
}

const char *bus_error_name_from_errno(int error) {
        switch (error < 0 ? -error : error) {
        case ESRCH:
                return BUS_ERROR_NO_SUCH_PROCESS;
        case EPERM:
        case EACCES:
                return BUS_ERROR_ACCESS_DENIED;
        case ENOENT:
        case ENXIO:
                return BUS_ERROR_NO_SUCH_WORKLOAD;
        case EINVAL:
        case E2BIG:
        case ENAMETOOLONG:
        case EBADF:
        case ENOEXEC:
                return BUS_ERROR_INVALID_ARGUMENT;
        case EUSERS:
        case EMFILE:
        case EBUSY:
        case EAGAIN:
                return BUS_ERROR_LIMIT_EXCEEDED;
        case ENOSPC:
                return BUS_ERROR_BUDGET_EXCEEDED;
        case EOPNOTSUPP:
        case ENOSYS:
                return BUS_ERROR_UNSUPPORTED;
        case EBADMSG:
                return BUS_ERROR_INVALID_POLICY;
        default:
                return BUS_ERROR_LOCK_FAILED;
        }
}

static int errno_from_name(const char *name) {
        for (const sd_bus_error_map *m = mlockd_errors; m->name; m++)
                if (streq(m->name, name))
                        return -m->code;
        return -EIO;
}

static int setv(sd_bus_error *e, const char *name, int r, const char *format, va_list ap)
        _printf_(4, 0);
static int setv(sd_bus_error *e, const char *name, int r, const char *format, va_list ap) {
        _cleanup_free_ char *msg = NULL;

        if (!e || sd_bus_error_is_set(e))
                return r;
        if (vasprintf(&msg, format, ap) < 0) {
                msg = NULL;
                (void) sd_bus_error_set_const(e, name, "Out of memory.");
                return r;
        }
        (void) sd_bus_error_set(e, name, msg);
        return r;
}

int bus_error_setf_errno(sd_bus_error *e, int r, const char *format, ...) {
        va_list ap;

        if (r >= 0)
                r = -EIO;
        va_start(ap, format);
        r = setv(e, bus_error_name_from_errno(r), r, format, ap);
        va_end(ap);
        return r;
}

int bus_error_setf(sd_bus_error *e, const char *name, const char *format, ...) {
        va_list ap;
        int r = errno_from_name(name);

        va_start(ap, format);
        r = setv(e, name, r, format, ap);
        va_end(ap);
        return r;
}

int bus_error_set_verdict(sd_bus_error *e, const PolicyDecision *d) {
        const char *name;

        switch (d->verdict) {
        case VERDICT_DENY_NO_MATCH:
        case VERDICT_DENY_NO_SUCH_POLICY:
                name = BUS_ERROR_NO_MATCHING_POLICY;
                break;
        case VERDICT_DENY_ACCESS:
        case VERDICT_DENY_KIND:
        case VERDICT_DENY_LIMIT:
                name = BUS_ERROR_ACCESS_DENIED;
                break;
        case VERDICT_DENY_BUDGET:
                name = BUS_ERROR_BUDGET_EXCEEDED;
                break;
        case VERDICT_DENY_INVALID:
                name = BUS_ERROR_INVALID_ARGUMENT;
                break;
        default:
                name = BUS_ERROR_ACCESS_DENIED;
                break;
        }
        return bus_error_setf(e, name, "%s", d->message ?: strempty(verdict_to_string(d->verdict)));
}
