/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The one place that maps errno values and policy verdicts to org.mlockd1.Error.* names. */

#include <systemd/sd-bus.h>

#include "common/macro.h"
#include "policy/policy.h"

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

/* The error name for an errno: ESRCH → NoSuchProcess, EPERM/EACCES → AccessDenied,
 * ENOENT/ENXIO → NoSuchWorkload, EINVAL/E2BIG/ENAMETOOLONG → InvalidArgument,
 * EUSERS/EMFILE/EBUSY → LimitExceeded, ENOSPC → BudgetExceeded, EOPNOTSUPP/ENOSYS →
 * Unsupported, EBADMSG → InvalidPolicy; anything else LockFailed. */
const char *bus_error_name_from_errno(int error);

/* Sets e to the name for r and the formatted message; returns r (negative). If e is already
 * set, it is kept (the first, most specific error wins). */
int bus_error_setf_errno(sd_bus_error *e, int r, const char *format, ...) _printf_(3, 4);
/* Sets a specific name; returns -errno matching the name. */
int bus_error_setf(sd_bus_error *e, const char *name, const char *format, ...) _printf_(3, 4);

/* A denial from policy_decide(): AccessDenied, NoMatchingPolicy, BudgetExceeded, ...
 * with the decision's message. Returns a negative errno. */
int bus_error_set_verdict(sd_bus_error *e, const PolicyDecision *d);
