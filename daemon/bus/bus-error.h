/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The one place that maps the core's errors (daemon/core/error.h: kinds, errno values) to
 * org.mlockd1.Error.* names. */

#include <systemd/sd-bus.h>

#include "common/macro.h"
#include "daemon/core/error.h"

#define BUS_ERROR_ACCESS_DENIED "org.mlockd1.Error.AccessDenied"
#define BUS_ERROR_BUDGET_EXCEEDED "org.mlockd1.Error.BudgetExceeded"
#define BUS_ERROR_NO_SUCH_WORKLOAD "org.mlockd1.Error.NoSuchWorkload"
#define BUS_ERROR_NO_SUCH_PROCESS "org.mlockd1.Error.NoSuchProcess"
#define BUS_ERROR_NO_MATCHING_POLICY "org.mlockd1.Error.NoMatchingPolicy"
#define BUS_ERROR_LOCK_FAILED "org.mlockd1.Error.LockFailed"
#define BUS_ERROR_INVALID_POLICY "org.mlockd1.Error.InvalidPolicy"
#define BUS_ERROR_INVALID_ARGUMENT "org.mlockd1.Error.InvalidArgument"
#define BUS_ERROR_LIMIT_EXCEEDED "org.mlockd1.Error.LimitExceeded"
#define BUS_ERROR_UNSUPPORTED "org.mlockd1.Error.Unsupported"

/* Registers the names with sd-bus so sd_bus_error_get_errno() gives sensible values. */
void bus_error_register(void);

/* The error name for a kind, and for an errno (through error_kind_from_errno()). */
const char *bus_error_name_from_kind(ErrorKind k);
const char *bus_error_name_from_errno(int error);

/* Sets e to the name for r and the formatted message; returns r (negative). If e is already
 * set, it is kept (the first, most specific error wins). */
int bus_error_setf_errno(sd_bus_error *e, int r, const char *format, ...) _printf_(3, 4);
/* Sets a specific name; returns -errno matching the name. */
int bus_error_setf(sd_bus_error *e, const char *name, const char *format, ...) _printf_(3, 4);

/* Sets e from a core error (its kind's name and its message; r's name and strerror() if ce is
 * not set); returns r (negative). */
int bus_error_from_core(sd_bus_error *e, const CoreError *ce, int r);
