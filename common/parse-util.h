/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The one checked parser for numbers and sizes, and the matching formatter. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "infinity" parses to this. */
#define SIZE_INFINITY UINT64_MAX

/* Parses an unsigned decimal integer: no sign, no leading or trailing space, no trailing
 * garbage, no overflow. Returns 0, -EINVAL (not a number) or -ERANGE (too large).
 * *ret is untouched on failure. */
int parse_uint64(const char *s, uint64_t *ret);
int parse_uint32(const char *s, uint32_t *ret);

/* Parses a byte size: "4096", "512K", "512M", "16G", "1.5G", "2T" (binary units, an optional
 * trailing "B" or "iB" is accepted: "16GiB"), "infinity", and when percent_base is non-zero
 * "25%" of percent_base. Results are rounded down to whole bytes.
 * Returns 0 or a negative errno; *ret_reason (if non-NULL) is set to a static string saying
 * what was wrong, e.g. "unknown size suffix 'X'". */
int parse_size(const char *s, uint64_t percent_base, uint64_t *ret, const char **ret_reason);

/* Parses yes/no/true/false/on/off/1/0. Returns 1, 0 or -EINVAL. */
int parse_boolean(const char *s);

/* Formats bytes in the largest binary unit that keeps one decimal: "512.0M", "1.5G", "8.0K",
 * "100B", "infinity". buf should be FORMAT_BYTES_MAX long. Returns buf. */
#define FORMAT_BYTES_MAX 16
char *format_bytes(char *buf, size_t l, uint64_t bytes);
#define FORMAT_BYTES(b) format_bytes((char[FORMAT_BYTES_MAX]){}, FORMAT_BYTES_MAX, (b))
