/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shim/shim-util.h"

uint64_t shim_now_usec(void) {
        struct timespec ts;

        if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
                return 0;
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

int shim_parse_uint(const char *s, uint64_t max, uint64_t *ret) {
        uint64_t v = 0;

        if (!s || *s == '\0')
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                unsigned d = (unsigned) (*p - '0');
                /* d > max first: max - d would wrap around. */
                if (d > max || v > (max - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        *ret = v;
        return 0;
}

int shim_parse_size(const char *s, uint64_t max, uint64_t *ret) {
        static const char suffixes[] = "KMGT";
        char digits[24];
        unsigned shift = 0;
        size_t n;
        uint64_t v;
        int r;

        if (!s)
                return -EINVAL;
        n = strlen(s);
        if (n > 0) {
                const char *x = memchr(suffixes, s[n - 1], sizeof(suffixes) - 1);
                if (x) {
                        shift = 10 * (unsigned) (x - suffixes + 1);
                        n--;
                }
        }
        if (n == 0 || n >= sizeof(digits))
                return n == 0 ? -EINVAL : -ERANGE;
        memcpy(digits, s, n);
        digits[n] = '\0';
        r = shim_parse_uint(digits, max >> shift, &v);
        if (r < 0)
                return r;
        *ret = v << shift;
        return 0;
}

int shim_parse_bool(const char *s) {
        static const char *const yes[] = { "1", "yes", "true", "on" };
        static const char *const no[] = { "0", "no", "false", "off" };

        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
                if (strcmp(s, yes[i]) == 0)
                        return 1;
                if (strcmp(s, no[i]) == 0)
                        return 0;
        }
        return -EINVAL;
}

void shim_buf_puts(ShimBuf *b, const char *s) {
        if (b->size == 0)
                return;
        for (; s && *s && b->n + 1 < b->size; s++)
                b->p[b->n++] = *s;
        b->p[b->n] = '\0';
}

void shim_buf_putsn(ShimBuf *b, const char *s, size_t max) {
        size_t i;

        for (i = 0; s && s[i] && i < max; i++) {
                char c[2] = { s[i], '\0' };
                shim_buf_puts(b, c);
        }
        if (s && s[i])
                shim_buf_puts(b, "...");
}

static void shim_buf_put_base(ShimBuf *b, uint64_t v, unsigned base) {
        char digits[24];
        size_t i = sizeof(digits);

        digits[--i] = '\0';
        do {
                digits[--i] = "0123456789abcdef"[v % base];
                v /= base;
        } while (v > 0 && i > 0);
        shim_buf_puts(b, digits + i);
}

void shim_buf_putu(ShimBuf *b, uint64_t v) {
        shim_buf_put_base(b, v, 10);
}

void shim_buf_puti(ShimBuf *b, int64_t v) {
        if (v < 0) {
                shim_buf_puts(b, "-");
                shim_buf_putu(b, -(uint64_t) v);
        } else
                shim_buf_putu(b, (uint64_t) v);
}

void shim_buf_putx(ShimBuf *b, uint64_t v) {
        shim_buf_puts(b, "0x");
        shim_buf_put_base(b, v, 16);
}

int shim_write_all(int fd, const void *buf, size_t n) {
        const char *p = buf;

        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        return -EIO;
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

/* Parses the number of a "VmLck:   1234 kB" line (after the colon). */
static int parse_kb(const char *s, uint64_t *ret) {
        uint64_t v = 0;
        bool any = false;

        while (*s == ' ' || *s == '\t')
                s++;
        for (; *s >= '0' && *s <= '9'; s++) {
                if (v > UINT64_MAX / 10 - 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t) (*s - '0');
                any = true;
        }
        if (!any)
                return -EINVAL;
        if (v > UINT64_MAX / 1024)
                return -ERANGE;
        *ret = v * 1024;
        return 0;
}

int shim_read_vm_lck(uint64_t *ret) {
        /* Lines are scanned one at a time through a bounded line buffer; long lines (Groups:)
         * are truncated, which is harmless for the short line we look for. */
        char chunk[1024], line[128];
        size_t ll = 0;
        bool truncated = false;
        int fd, r = -ENODATA;

        fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        for (;;) {
                ssize_t k = read(fd, chunk, sizeof(chunk));
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        break;
                }
                if (k == 0)
                        break;
                for (ssize_t i = 0; i < k; i++) {
                        if (chunk[i] != '\n') {
                                if (ll + 1 < sizeof(line))
                                        line[ll++] = chunk[i];
                                else
                                        truncated = true;
                                continue;
                        }
                        line[ll] = '\0';
                        if (!truncated && strncmp(line, "VmLck:", 6) == 0) {
                                r = parse_kb(line + 6, ret);
                                goto finish;
                        }
                        ll = 0;
                        truncated = false;
                }
        }
finish:
        close(fd);
        return r;
}

const char *shim_errno_name(int error) {
        const char *s = strerrorname_np(error);
        return s ?: "E?";
}

const char *shim_errno_desc(int error) {
        const char *s = strerrordesc_np(error);
        return s ?: "unknown error";
}
