/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Logging: to the journal with structured fields when stderr is connected to journald, plain
 * lines on a terminal, "<N>"-prefixed lines otherwise (a pipe or file under a supervisor that
 * understands syslog priorities). Control characters in a message are escaped (common/escape.h)
 * wherever it goes, so a caller-chosen name cannot start a line of its own. */

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <syslog.h>

#include "common/macro.h"

typedef enum LogTarget {
        LOG_TARGET_PREFIXED, /* "<N>ident: message" on stderr */
        LOG_TARGET_CONSOLE, /* "ident: message" on stderr */
        LOG_TARGET_JOURNAL, /* sd_journal_sendv() with fields */
        _LOG_TARGET_MAX,
        _LOG_TARGET_INVALID = -1,
} LogTarget;
const char *log_target_to_string(LogTarget t);

/* Messages above this priority (numerically greater) are dropped. Default LOG_INFO. */
void log_set_max_level(int level);
int log_get_max_level(void);
/* false: LOG_TARGET_CONSOLE (memlockctl); true: LOG_TARGET_PREFIXED. */
void log_set_prefix(bool prefix);
void log_set_target(LogTarget t);
LogTarget log_get_target(void);
/* The daemon's choice: the journal if $JOURNAL_STREAM names stderr's device and inode (systemd
 * connected stderr to journald), plain lines if stderr is a terminal, else prefixed lines. */
LogTarget log_target_detect(const char *journal_stream_env, int stderr_fd);
void log_set_ident(const char *ident);
/* Keep '\n' and '\t' in messages (memlockctl: the daemon's error texts may span lines). */
void log_set_keep_newlines(bool keep);

/* What a structured message is about; each field is sent only when set. */
typedef struct LogFields {
        /* 32 hex digits, one per kind of event (daemon/core/message-id.h) */
        const char *message_id;
        const char *workload_id; /* "3" */
        pid_t workload_pid; /* 0: unset */
        const char *policy;
        uid_t user_id; /* (uid_t) -1: unset */
} LogFields;
#define LOG_FIELDS_NULL ((LogFields){ .user_id = (uid_t) -1 })

/* The journal fields of one message, "KEY=value" each, in *ret (at most LOG_FIELDS_MAX, each
 * malloc'd; free with log_fields_free()). message must already be escaped. Returns the count or
 * -ENOMEM. Pure: the journal target sends exactly these. */
#define LOG_FIELDS_MAX 12
int log_fields_format(int level, int error, const LogFields *f, const char *ident, const char *file,
                      int line, const char *func, const char *message,
                      char *ret[static LOG_FIELDS_MAX]);
void log_fields_free(char *fields[static LOG_FIELDS_MAX], int n);

/* Logs and returns -abs(error) (or 0 if error is 0). %m in format means strerror(error). */
int log_internal(int level, int error, const char *file, int line, const char *func,
                 const char *format, ...) _printf_(6, 7);
/* The same with fields (NULL: none). */
int log_struct_internal(int level, int error, const LogFields *f, const char *file, int line,
                        const char *func, const char *format, ...) _printf_(7, 8);

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
/* log_struct(LOG_INFO, &fields, "Workload %s locked.", id) */
#define log_struct(level, fields, ...)                                                             \
        log_struct_internal(level, 0, fields, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_struct_errno(level, error, fields, ...)                                                \
        log_struct_internal(level, error, fields, __FILE__, __LINE__, __func__, __VA_ARGS__)
