/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "common/escape.h"

bool unichar_is_control(uint32_t c) {
        return c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f) || (c >= 0x202a && c <= 0x202e) ||
               (c >= 0x2066 && c <= 0x2069);
}

int utf8_decode(const char *s, size_t n, uint32_t *ret) {
        const uint8_t *p = (const uint8_t *) s;
        uint32_t c, min;
        int len;

        if (n == 0)
                return -EILSEQ;
        if (p[0] < 0x80) {
                *ret = p[0];
                return 1;
        }
        if ((p[0] & 0xe0) == 0xc0) {
                len = 2;
                c = p[0] & 0x1f;
                min = 0x80;
        } else if ((p[0] & 0xf0) == 0xe0) {
                len = 3;
                c = p[0] & 0x0f;
                min = 0x800;
        } else if ((p[0] & 0xf8) == 0xf0) {
                len = 4;
                c = p[0] & 0x07;
                min = 0x10000;
        } else
                return -EILSEQ;
        if ((size_t) len > n)
                return -EILSEQ;
        for (int i = 1; i < len; i++) {
                if ((p[i] & 0xc0) != 0x80)
                        return -EILSEQ;
                c = (c << 6) | (p[i] & 0x3f);
        }
        /* Overlong forms, surrogates and values beyond Unicode are not UTF-8. */
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
                return -EILSEQ;
        *ret = c;
        return len;
}

int string_find_control(const char *s, size_t *ret_offset, uint32_t *ret_char) {
        size_t n = strlen(s);

        for (size_t i = 0; i < n;) {
                uint32_t c;
                int l = utf8_decode(s + i, n - i, &c);

                if (l < 0 || unichar_is_control(c)) {
                        *ret_offset = i;
                        *ret_char = l < 0 ? (uint8_t) s[i] : c;
                        return 1;
                }
                i += (size_t) l;
        }
        return 0;
}

/* Writes the escape of one character to out and returns its length, or 0 if it stays as is. */
static size_t escape_char(char out[static 8], uint32_t c, bool invalid, EscapeFlags flags) {
        static const char hex[] = "0123456789abcdef";
        static const struct {
                uint32_t c;
                char e;
        } named[] = {
                { '\a', 'a' }, { '\b', 'b' }, { '\t', 't' }, { '\n', 'n' },
                { '\v', 'v' }, { '\f', 'f' }, { '\r', 'r' }, { 0x1b, 'e' },
        };

        if (invalid) {
                memcpy(out, (char[]){ '\\', 'x', hex[c >> 4], hex[c & 15] }, 4);
                return 4;
        }
        if (c == '\\')
                return (flags & ESCAPE_BACKSLASH) ? (memcpy(out, "\\\\", 2), 2) : 0;
        if (!unichar_is_control(c))
                return 0;
        if ((flags & ESCAPE_KEEP_NEWLINE) && (c == '\n' || c == '\t'))
                return 0;
        for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
                if (named[i].c == c) {
                        out[0] = '\\';
                        out[1] = named[i].e;
                        return 2;
                }
        if (c < 0x80) {
                memcpy(out, (char[]){ '\\', 'x', hex[c >> 4], hex[c & 15] }, 4);
                return 4;
        }
        memcpy(out,
               (char[]){ '\\', 'u', hex[(c >> 12) & 15], hex[(c >> 8) & 15], hex[(c >> 4) & 15],
                         hex[c & 15] },
               6);
        return 6;
}

size_t escape_to_buffer(char *buf, size_t size, const char *s, EscapeFlags flags) {
        size_t n = strlen(s), need = 0, written = 0;
        bool stopped = size == 0;

        for (size_t i = 0; i < n;) {
                char e[8];
                uint32_t c;
                int l = utf8_decode(s + i, n - i, &c);
                const char *piece = e;
                size_t k;

                if (l < 0) {
                        k = escape_char(e, (uint8_t) s[i], true, flags);
                        l = 1;
                } else
                        k = escape_char(e, c, false, flags);
                if (k == 0) {
                        piece = s + i;
                        k = (size_t) l;
                }
                /* Whole characters only: a cut multi-byte sequence would be invalid UTF-8. */
                if (!stopped && written + k < size) {
                        memcpy(buf + written, piece, k);
                        written += k;
                } else
                        stopped = true;
                need += k;
                i += (size_t) l;
        }
        if (size > 0)
                buf[written] = '\0';
        return need;
}

char *escape_string(const char *s, EscapeFlags flags) {
        size_t n = escape_to_buffer(NULL, 0, s, flags);
        char *b = malloc(n + 1);

        if (!b)
                return NULL;
        (void) escape_to_buffer(b, n + 1, s, flags);
        return b;
}

char *cescape(const char *s) {
        return escape_string(s, ESCAPE_BACKSLASH);
}

static size_t char_width(uint32_t c) {
        int w = wcwidth((wchar_t) c);

        return w < 0 ? 1 : (size_t) w;
}

size_t utf8_display_width(const char *s) {
        size_t n = strlen(s), width = 0;

        for (size_t i = 0; i < n;) {
                uint32_t c;
                int l = utf8_decode(s + i, n - i, &c);

                if (l < 0) {
                        width++;
                        i++;
                        continue;
                }
                width += char_width(c);
                i += (size_t) l;
        }
        return width;
}

char *utf8_truncate_to_width(const char *s, size_t width) {
        static const char ellipsis[] = "…"; /* one column */
        size_t n = strlen(s), used = 0, cut = 0;
        char *r;

        if (utf8_display_width(s) <= width)
                return strdup(s);
        /* Room for the ellipsis: keep characters while they and "…" fit. */
        for (size_t i = 0; i < n;) {
                uint32_t c;
                int l = utf8_decode(s + i, n - i, &c);
                size_t w = l < 0 ? 1 : char_width(c);

                if (l < 0)
                        l = 1;
                if (used + w + 1 > width)
                        break;
                used += w;
                i += (size_t) l;
                cut = i;
        }
        if (width == 0)
                return strdup("");
        r = malloc(cut + sizeof(ellipsis));
        if (!r)
                return NULL;
        memcpy(r, s, cut);
        memcpy(r + cut, ellipsis, sizeof(ellipsis));
        return r;
}
