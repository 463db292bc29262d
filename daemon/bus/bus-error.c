/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The one map from the core's error kinds to the API's names. */
static const char *const error_kind_names[_ERROR_KIND_MAX] = {
        [ERROR_ACCESS_DENIED] = BUS_ERROR_ACCESS_DENIED,
        [ERROR_BUDGET_EXCEEDED] = BUS_ERROR_BUDGET_EXCEEDED,
        [ERROR_NO_SUCH_WORKLOAD] = BUS_ERROR_NO_SUCH_WORKLOAD,
        [ERROR_NO_SUCH_PROCESS] = BUS_ERROR_NO_SUCH_PROCESS,
        [ERROR_NO_MATCHING_POLICY] = BUS_ERROR_NO_MATCHING_POLICY,
        [ERROR_LOCK_FAILED] = BUS_ERROR_LOCK_FAILED,
        [ERROR_INVALID_POLICY] = BUS_ERROR_INVALID_POLICY,
        [ERROR_INVALID_ARGUMENT] = BUS_ERROR_INVALID_ARGUMENT,
        [ERROR_LIMIT_EXCEEDED] = BUS_ERROR_LIMIT_EXCEEDED,
        [ERROR_UNSUPPORTED] = BUS_ERROR_UNSUPPORTED,
};

const char *bus_error_name_from_kind(ErrorKind k) {
        if (k < 0 || k >= _ERROR_KIND_MAX)
                return BUS_ERROR_LOCK_FAILED;
        return error_kind_names[k];
}

const char *bus_error_name_from_errno(int error) {
        return bus_error_name_from_kind(error_kind_from_errno(error));
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

int bus_error_from_core(sd_bus_error *e, const CoreError *ce, int r) {
        if (r >= 0)
                r = -EIO;
        if (!core_error_is_set(ce))
                return bus_error_setf_errno(e, r, "%s", strerror(-r));
        if (!e || sd_bus_error_is_set(e))
                return r;
        (void) sd_bus_error_set(e, bus_error_name_from_kind(ce->kind), ce->message ?: strerror(-r));
        return r;
}
