/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for common/escape.c: whatever bytes a caller chose, the escaped form holds no
 * control character and is valid UTF-8, a bounded buffer gets a prefix of it cut at a character
 * boundary, and truncation to a width never exceeds it. */
#include <locale.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/escape.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Not assert(): it must hold in release builds too, where the corpus replays in CTest. */
#define CHECK(x)                                                                                   \
        do {                                                                                       \
                if (!(x))                                                                          \
                        abort();                                                                   \
        } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const EscapeFlags all_flags[] = { 0, ESCAPE_BACKSLASH, ESCAPE_KEEP_NEWLINE };
        char *s, *e, small[17];
        size_t offset, width;
        uint32_t c;

        static bool locale_set = false;

        if (size < 1)
                return 0;
        if (!locale_set) {
                (void) setlocale(LC_CTYPE, "C.UTF-8");
                locale_set = true;
        }
        width = data[0] % 40;
        s = malloc(size);
        if (!s)
                return 0;
        memcpy(s, data + 1, size - 1);
        s[size - 1] = '\0';

        for (size_t i = 0; i < sizeof(all_flags) / sizeof(all_flags[0]); i++) {
                EscapeFlags flags = all_flags[i];
                size_t n;

                e = escape_string(s, flags);
                CHECK(e);
                n = strlen(e);
                CHECK(escape_to_buffer(NULL, 0, s, flags) == n);
                if (flags == ESCAPE_KEEP_NEWLINE) {
                        /* Only '\n' and '\t' may be left. */
                        for (char *p = e; *p; p++)
                                if (*p == '\n' || *p == '\t')
                                        *p = ' ';
                }
                CHECK(string_find_control(e, &offset, &c) == 0);
                /* A bounded buffer: a prefix of the whole, never a cut character. */
                CHECK(escape_to_buffer(small, sizeof(small), s, flags) == n);
                if (flags != ESCAPE_KEEP_NEWLINE) {
                        CHECK(strncmp(small, e, strlen(small)) == 0);
                        CHECK(string_find_control(small, &offset, &c) == 0);
                }
                free(e);
        }

        e = escape_string(s, 0);
        CHECK(e);
        {
                char *t = utf8_truncate_to_width(e, width);
                CHECK(t);
                CHECK(utf8_display_width(t) <= (width > 0 ? width : 0) ||
                      (width == 0 && t[0] == '\0'));
                if (utf8_display_width(e) <= width)
                        CHECK(strcmp(t, e) == 0);
                free(t);
        }
        free(e);
        free(s);
        return 0;
}
