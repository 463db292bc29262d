/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Logging to stderr with "<N>" syslog priority prefixes, which journald understands. */

#include <stdarg.h>
#include <syslog.h>

#include "common/macro.h"

/* Messages above this priority (numerically greater) are dropped. Default LOG_INFO. */
void log_set_max_level(int level);
int log_get_max_level(void);
/* Whether to print the "<N>" prefix; on by default for the daemon, off for the client. */
void log_set_prefix(bool prefix);
void log_set_ident(const char *ident);

/* Logs and returns -abs(error) (or 0 if error is 0). %m in format means strerror(error). */
int log_internal(int level, int error, const char *file, int line, const char *func,
                 const char *format, ...) _printf_(6, 7);

#define log_full_errno(level, error, ...)                                                          \
        log_internal(level, error, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_debug(...) log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_full_errno(LOG_ERR, 0, __VA_ARGS__)
#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_INFO, e, __VA_ARGS__)
#define log_notice_errno(e, ...) log_full_errno(LOG_NOTICE, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, e, __VA_ARGS__)
#define log_oom() log_full_errno(LOG_ERR, ENOMEM, "Out of memory.")
