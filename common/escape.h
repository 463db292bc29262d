/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Caller-chosen strings as data: finding control characters, C-style escaping for logs and
 * terminals, and display width for tables. Pure; UTF-8 aware (valid multi-byte characters
 * stay as they are, invalid bytes are escaped). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum EscapeFlags {
        /* Also escape '\\' as "\\\\", so that the escaped form can be unescaped exactly (as
         * systemd's cescape). Without it, only what changes a terminal or splits a line is
         * escaped, and a backslash in a name prints as itself. */
        ESCAPE_BACKSLASH = 1 << 0,
        /* Leave '\n' and '\t' as they are (memlockctl's own messages may span lines). */
        ESCAPE_KEEP_NEWLINE = 1 << 1,
} EscapeFlags;

/* Whether c (a Unicode code point) must never reach a terminal or a log raw: C0 controls, DEL,
 * C1 controls (U+0080..U+009F: some terminals take U+009B as CSI), and the bidirectional
 * overrides and isolates (U+202A..U+202E, U+2066..U+2069) that reorder what is shown. */
bool unichar_is_control(uint32_t c);

/* Decodes one UTF-8 character at s (at most n bytes). Returns its length (1..4) and the code
 * point in *ret, or -EILSEQ for an invalid or overlong sequence (length 1 then applies). */
int utf8_decode(const char *s, size_t n, uint32_t *ret);

/* The first control character (unichar_is_control) or invalid UTF-8 byte in s: returns 1 and
 * sets *ret_offset (bytes from the start) and *ret_char (the code point, or the byte for
 * invalid UTF-8), or 0 when s has none. */
int string_find_control(const char *s, size_t *ret_offset, uint32_t *ret_char);

/* The escaped form of s: "\n", "\t", "\r", "\a", "\b", "\f", "\v", "\e" for those controls,
 * "\xNN" for other C0 controls, DEL and invalid UTF-8 bytes, "\uNNNN" for C1 controls and
 * bidi overrides. Writes at most size bytes including the NUL (truncating at a character
 * boundary); returns the length the whole escaped string needs, like snprintf. */
size_t escape_to_buffer(char *buf, size_t size, const char *s, EscapeFlags flags);
/* The same, allocated. NULL on OOM. */
char *escape_string(const char *s, EscapeFlags flags);
/* escape_string(s, ESCAPE_BACKSLASH): systemd's cescape for what a caller chose. */
char *cescape(const char *s);

/* Columns s takes on a terminal (wcwidth() per character under the current LC_CTYPE; a
 * character wcwidth() does not know counts 1). s must be escaped (no controls). */
size_t utf8_display_width(const char *s);
/* A copy of s cut to at most width columns, ending in "…" when cut. NULL on OOM. */
char *utf8_truncate_to_width(const char *s, size_t width);
