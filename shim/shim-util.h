/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Small helpers for the shim that avoid stdio, locale and malloc: safe in a constructor. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in microseconds. */
uint64_t shim_now_usec(void);

/* Parses an unsigned decimal number, no sign, no space, no trailing garbage, at most max.
 * Returns 0, -EINVAL or -ERANGE; *ret is untouched on failure. */
int shim_parse_uint(const char *s, uint64_t max, uint64_t *ret);
/* A size: decimal digits, then optionally K, M, G or T (powers of 1024). At most max. Returns 0,
 * -EINVAL or -ERANGE; *ret is untouched on failure. */
int shim_parse_size(const char *s, uint64_t max, uint64_t *ret);
/* "0"/"no"/"false"/"off" → 0, "1"/"yes"/"true"/"on" → 1, else -EINVAL. */
int shim_parse_bool(const char *s);

/* A bounded text buffer for building one message without stdio. Output that does not fit is
 * dropped; the buffer always stays NUL-terminated. */
typedef struct ShimBuf {
        char *p;
        size_t n, size;
} ShimBuf;
#define SHIM_BUF(b, s) ((ShimBuf){ .p = (b), .n = 0, .size = (s) })
void shim_buf_puts(ShimBuf *b, const char *s);
/* At most max bytes of s, then "..." if s was longer: for echoing untrusted values. */
void shim_buf_putsn(ShimBuf *b, const char *s, size_t max);
void shim_buf_putu(ShimBuf *b, uint64_t v);
void shim_buf_puti(ShimBuf *b, int64_t v);
void shim_buf_putx(ShimBuf *b, uint64_t v);

/* Writes all of buf to fd, retrying on EINTR and short writes. Async-signal-safe. */
int shim_write_all(int fd, const void *buf, size_t n);

/* Reads "VmLck:" from /proc/self/status, in bytes. Uses only open/read/close: async-signal-safe.
 * Returns 0 or -errno (-ENODATA if the field is missing). */
int shim_read_vm_lck(uint64_t *ret);

/* The symbolic name of an errno ("ENOMEM") and its English description, never translated;
 * "E?"/"unknown error" for unknown numbers. */
const char *shim_errno_name(int error);
const char *shim_errno_desc(int error);
