/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "common/escape.h"
#include "common/log.h"
#include "common/string-table.h"

static int max_level = LOG_INFO;
static LogTarget target = LOG_TARGET_PREFIXED;
static bool keep_newlines = false;
static const char *ident = NULL;

static const char *const log_target_table[_LOG_TARGET_MAX] = {
        [LOG_TARGET_PREFIXED] = "prefixed",
        [LOG_TARGET_CONSOLE] = "console",
        [LOG_TARGET_JOURNAL] = "journal",
};
DEFINE_STRING_TABLE_TO_STRING(log_target, LogTarget);

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

void log_set_prefix(bool prefix) {
        target = prefix ? LOG_TARGET_PREFIXED : LOG_TARGET_CONSOLE;
}

void log_set_target(LogTarget t) {
        target = t;
}

LogTarget log_get_target(void) {
        return target;
}

void log_set_ident(const char *i) {
        ident = i;
}

void log_set_keep_newlines(bool keep) {
        keep_newlines = keep;
}

LogTarget log_target_detect(const char *journal_stream_env, int stderr_fd) {
        struct stat st;
        unsigned long long dev, ino;
        int n = 0;

        /* systemd sets JOURNAL_STREAM=DEV:INO of the stream it connected stdout/stderr to; a
         * child that inherited the variable but not the fd must not trust it. */
        if (journal_stream_env && sscanf(journal_stream_env, "%llu:%llu%n", &dev, &ino, &n) == 2 &&
            journal_stream_env[n] == '\0' && fstat(stderr_fd, &st) >= 0 &&
            (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino)
                return LOG_TARGET_JOURNAL;
        if (isatty(stderr_fd))
                return LOG_TARGET_CONSOLE;
        return LOG_TARGET_PREFIXED;
}

static int field(char **ret, const char *fmt, ...) _printf_(2, 3);
static int field(char **ret, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(ret, fmt, ap);
        va_end(ap);
        if (r < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}

void log_fields_free(char *fields[static LOG_FIELDS_MAX], int n) {
        for (int i = 0; i < n; i++)
                free(fields[i]);
}

int log_fields_format(int level, int error, const LogFields *f, const char *id, const char *file,
                      int line, const char *func, const char *message,
                      char *ret[static LOG_FIELDS_MAX]) {
        _cleanup_free_ char *policy = NULL;
        int n = 0, r = 0;

#define ADD(...)                                                                                   \
        do {                                                                                       \
                if (r >= 0)                                                                        \
                        r = field(&ret[n], __VA_ARGS__);                                           \
                if (r >= 0)                                                                        \
                        n++;                                                                       \
        } while (0)

        ADD("MESSAGE=%s", message);
        ADD("PRIORITY=%d", level);
        if (id)
                ADD("SYSLOG_IDENTIFIER=%s", id);
        if (error != 0)
                ADD("ERRNO=%d", error < 0 ? -error : error);
        ADD("CODE_FILE=%s", file);
        ADD("CODE_LINE=%d", line);
        ADD("CODE_FUNC=%s", func);
        if (f && f->message_id)
                ADD("MESSAGE_ID=%s", f->message_id);
        if (f && f->workload_id)
                ADD("WORKLOAD_ID=%s", f->workload_id);
        if (f && f->workload_pid > 0)
                ADD("WORKLOAD_PID=%d", (int) f->workload_pid);
        if (f && f->policy) {
                /* A field is one line: escaped like the message. */
                policy = escape_string(f->policy, 0);
                if (!policy)
                        r = -ENOMEM;
                ADD("POLICY=%s", policy);
        }
        if (f && f->user_id != (uid_t) -1)
                ADD("USER_ID=%u", (unsigned) f->user_id);
#undef ADD
        if (r < 0) {
                log_fields_free(ret, n);
                return r;
        }
        return n;
}

static void log_to_journal(int level, int error, const LogFields *f, const char *file, int line,
                           const char *func, const char *message) {
        char *fields[LOG_FIELDS_MAX];
        struct iovec iov[LOG_FIELDS_MAX];
        int n;

        n = log_fields_format(level, error, f, ident ?: program_invocation_short_name, file, line,
                              func, message, fields);
        if (n >= 0) {
                for (int i = 0; i < n; i++)
                        iov[i] = (struct iovec){ .iov_base = fields[i],
                                                 .iov_len = strlen(fields[i]) };
                int r = sd_journal_sendv(iov, n);
                log_fields_free(fields, n);
                if (r >= 0)
                        return;
        }
        /* The journal is gone (or out of memory): stderr still reaches it as a stream. */
        fprintf(stderr, "<%d>%s%s%s\n", level, ident ?: "", ident ? ": " : "", message);
}

static int log_dispatch(int level, int error, const LogFields *f, const char *file, int line,
                        const char *func, const char *format, va_list ap) _printf_(7, 0);
static int log_dispatch(int level, int error, const LogFields *f, const char *file, int line,
                        const char *func, const char *format, va_list ap) {
        int saved = errno;
        int e = error < 0 ? -error : error;
        char raw[2048], msg[4096];

        if (level > max_level) {
                errno = saved;
                return -e;
        }

        /* Make %m print the error we were given, not whatever errno happens to hold. */
        errno = e;
        (void) vsnprintf(raw, sizeof(raw), format, ap);
        (void) escape_to_buffer(msg, sizeof(msg), raw, keep_newlines ? ESCAPE_KEEP_NEWLINE : 0);

        switch (target) {
        case LOG_TARGET_JOURNAL:
                log_to_journal(level, e, f, file, line, func, msg);
                break;
        case LOG_TARGET_CONSOLE:
                fprintf(stderr, "%s%s%s\n", ident ?: "", ident ? ": " : "", msg);
                break;
        default:
                fprintf(stderr, "<%d>%s%s%s\n", level, ident ?: "", ident ? ": " : "", msg);
        }
        if (target != LOG_TARGET_JOURNAL && max_level >= LOG_DEBUG && level >= LOG_DEBUG)
                fprintf(stderr, "    (%s:%d %s)\n", file, line, func);

        errno = saved;
        return -e;
}

int log_internal(int level, int error, const char *file, int line, const char *func,
                 const char *format, ...) {
        va_list ap;
        int r;

        va_start(ap, format);
        r = log_dispatch(level, error, NULL, file, line, func, format, ap);
        va_end(ap);
        return r;
}

int log_struct_internal(int level, int error, const LogFields *f, const char *file, int line,
                        const char *func, const char *format, ...) {
        va_list ap;
        int r;

        va_start(ap, format);
        r = log_dispatch(level, error, f, file, line, func, format, ap);
        va_end(ap);
        return r;
}
