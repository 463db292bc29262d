/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Populating memory of this process in parallel: the private writable mappings before
 * mlockall(2), or one range (a large mapping made later, see shim-mmap.h). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* MEMLOCK_PREFAULT_THREADS=auto. 0 means "do not prefault" and is handled by the caller. */
#define PREFAULT_THREADS_AUTO UINT32_MAX
/* Upper bound for an explicit thread count: beyond the CPUs more threads only contend. */
#define PREFAULT_THREADS_MAX 256u

typedef struct PrefaultStats {
        uint32_t threads; /* threads that populated, the caller's included; 0 if none ran */
        uint64_t bytes; /* size of the ranges handed to the threads */
        bool fallback; /* MADV_POPULATE_WRITE missing: one byte per page was touched instead */
        int error; /* first positive errno on an anonymous range, 0 if none */
} PrefaultStats;

/* The thread count "auto" picks: one per 64 MiB of memory to populate, at most one per CPU we may
 * run on and at most 16, at least 1. */
uint32_t prefault_auto_threads(uint64_t bytes);

/* Populates every private writable mapping listed in /proc/self/maps with `threads` threads
 * (PREFAULT_THREADS_AUTO: see above; the calling thread is one of them; all are joined before
 * this returns). With thp, anonymous mappings get MADV_HUGEPAGE first. Uses raw read(2), mmap(2)
 * and pthread_create(3) only: no stdio, no malloc. Returns 0 (*ret filled; per-range errors land
 * in ret->error) or -errno if the map could not be read (nothing was populated). */
int prefault_self(uint32_t threads, bool thp, PrefaultStats *ret);

/* Populates [start, start + len) with `threads` threads as above: MADV_POPULATE_WRITE if write,
 * else MADV_POPULATE_READ. anon says whether the range is anonymous memory: only then is it
 * touched by hand where MADV_POPULATE_* is missing. The first error lands in ret->error. Returns
 * 0 (*ret filled) or -EINVAL for an empty range. */
int prefault_range(void *start, size_t len, uint32_t threads, bool anon, bool write,
                   PrefaultStats *ret);
