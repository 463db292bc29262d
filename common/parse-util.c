/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/parse-util.h"

int parse_uint64(const char *s, uint64_t *ret) {
        uint64_t v = 0;

        if (!s || !*s)
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                unsigned d = (unsigned) (*p - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        *ret = v;
        return 0;
}

int parse_uint32(const char *s, uint32_t *ret) {
        uint64_t v;
        int r;

        r = parse_uint64(s, &v);
        if (r < 0)
                return r;
        if (v > UINT32_MAX)
                return -ERANGE;
        *ret = (uint32_t) v;
        return 0;
}

int parse_boolean(const char *s) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
                if (strcasecmp(s, yes[i]) == 0)
                        return 1;
        for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
                if (strcasecmp(s, no[i]) == 0)
                        return 0;
        return -EINVAL;
}

static int fail(const char **ret_reason, const char *reason, int r) {
        if (ret_reason)
                *ret_reason = reason;
        return r;
}

int parse_size(const char *s, uint64_t percent_base, uint64_t *ret, const char **ret_reason) {
        static const struct {
                const char *suffix;
                unsigned shift;
        } table[] = {
                { "", 0 },     { "B", 0 },    { "K", 10 },   { "KB", 10 },  { "KiB", 10 },
                { "M", 20 },   { "MB", 20 },  { "MiB", 20 }, { "G", 30 },   { "GB", 30 },
                { "GiB", 30 }, { "T", 40 },   { "TB", 40 },  { "TiB", 40 }, { "P", 50 },
                { "PB", 50 },  { "PiB", 50 }, { "E", 60 },   { "EB", 60 },  { "EiB", 60 },
        };
        uint64_t whole = 0, frac = 0, frac_div = 1;
        const char *p = s;
        bool digits = false;

        if (!s || !*s)
                return fail(ret_reason, "empty value", -EINVAL);
        if (strcasecmp(s, "infinity") == 0) {
                *ret = SIZE_INFINITY;
                return 0;
        }
        if (*p == '-')
                return fail(ret_reason, "negative sizes are not allowed", -ERANGE);
        if (!isdigit((unsigned char) *p))
                return fail(ret_reason, "not a number", -EINVAL);

        for (; isdigit((unsigned char) *p); p++) {
                unsigned d = (unsigned) (*p - '0');
                if (whole > (UINT64_MAX - d) / 10)
                        return fail(ret_reason, "number too large", -ERANGE);
                whole = whole * 10 + d;
                digits = true;
        }
        if (*p == '.') {
                p++;
                if (!isdigit((unsigned char) *p))
                        return fail(ret_reason, "missing digits after '.'", -EINVAL);
                for (; isdigit((unsigned char) *p); p++) {
                        /* More than 9 fractional digits add nothing but overflow risk. */
                        if (frac_div < 1000000000ULL) {
                                frac = frac * 10 + (unsigned) (*p - '0');
                                frac_div *= 10;
                        }
                }
        }
        if (!digits)
                return fail(ret_reason, "not a number", -EINVAL);

        if (*p == '%') {
                if (p[1] != '\0')
                        return fail(ret_reason, "trailing characters after '%'", -EINVAL);
                if (percent_base == 0)
                        return fail(ret_reason, "percentages are not allowed here", -EINVAL);
                if (whole > 100 || (whole == 100 && frac > 0))
                        return fail(ret_reason, "percentage above 100%", -ERANGE);
                /* base * (whole + frac/frac_div) / 100, in 128-bit to avoid overflow. */
                unsigned __int128 v = (unsigned __int128) percent_base * whole * frac_div +
                                      (unsigned __int128) percent_base * frac;
                v /= (unsigned __int128) frac_div * 100;
                *ret = (uint64_t) v;
                return 0;
        }

        for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
                if (strcmp(p, table[i].suffix) != 0)
                        continue;
                unsigned __int128 v = ((unsigned __int128) whole << table[i].shift) +
                                      (((unsigned __int128) frac << table[i].shift) / frac_div);
                if (v > UINT64_MAX || (table[i].shift > 0 && whole >> (64 - table[i].shift)))
                        return fail(ret_reason, "size too large", -ERANGE);
                if (table[i].shift == 0 && frac > 0)
                        return fail(ret_reason, "fractional bytes are not allowed", -EINVAL);
                *ret = (uint64_t) v;
                return 0;
        }

        /* Say which suffix we did not understand: "unknown size suffix 'X'". */
        static __thread char reason[64];
        snprintf(reason, sizeof(reason), "unknown size suffix '%.16s'", p);
        return fail(ret_reason, reason, -EINVAL);
}

char *format_bytes(char *buf, size_t l, uint64_t bytes) {
        static const char units[] = "KMGTPE";

        if (bytes == SIZE_INFINITY) {
                snprintf(buf, l, "infinity");
                return buf;
        }
        if (bytes < 1024) {
                snprintf(buf, l, "%" PRIu64 "B", bytes);
                return buf;
        }
        unsigned i = 0;
        uint64_t div = 1024;
        while (i + 1 < sizeof(units) - 1 && bytes / div >= 1024) {
                div *= 1024;
                i++;
        }
        /* One decimal, rounded down so that "1.0G" is never shown for 1023.99M. */
        uint64_t tenths = (uint64_t) (((unsigned __int128) bytes * 10) / div);
        snprintf(buf, l, "%" PRIu64 ".%" PRIu64 "%c", tenths / 10, tenths % 10, units[i]);
        return buf;
}
