/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Clock and order statistics shared by the benchmarks. Header-only: every benchmark .c
 * file is a program of its own. */

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/macro.h"

static inline uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static inline int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static inline int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of n sorted values. */
static inline uint64_t percentile(const uint64_t *sorted, size_t n, double p) {
        if (n == 0)
                return 0;
        size_t i = (size_t) (p / 100.0 * (double) n + 0.5);
        if (i > 0)
                i--;
        return sorted[MIN(i, n - 1)];
}
