/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

static int max_level = LOG_INFO;
static bool with_prefix = true;
static const char *ident = NULL;

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

void log_set_prefix(bool prefix) {
        with_prefix = prefix;
}

void log_set_ident(const char *i) {
        ident = i;
}

int log_internal(int level, int error, const char *file, int line, const char *func,
                 const char *format, ...) {
        int saved = errno;
        int e = error < 0 ? -error : error;

        if (level > max_level) {
                errno = saved;
                return -e;
        }

        /* Make %m print the error we were given, not whatever errno happens to hold. */
        errno = e;
        char msg[2048];
        va_list ap;
        va_start(ap, format);
        (void) vsnprintf(msg, sizeof(msg), format, ap);
        va_end(ap);

        if (with_prefix)
                fprintf(stderr, "<%d>%s%s%s\n", level, ident ?: "", ident ? ": " : "", msg);
        else
                fprintf(stderr, "%s%s%s\n", ident ?: "", ident ? ": " : "", msg);
        if (max_level >= LOG_DEBUG && level >= LOG_DEBUG)
                fprintf(stderr, "    (%s:%d %s)\n", file, line, func);

        errno = saved;
        return -e;
}
