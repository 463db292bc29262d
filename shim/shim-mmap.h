/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The shim's mmap(2) interposer: large mappings made after main() (QEMU's guest RAM) are
 * populated by several threads and locked before mmap returns, instead of by the kernel in one
 * thread under MCL_FUTURE. */

#include <stdbool.h>
#include <stdint.h>

/* MEMLOCK_PREFAULT_MMAP default: mappings from this size on are prefaulted in parallel. */
#define SHIM_MMAP_MIN_DEFAULT (64ull << 20)

/* Turns the interposer on (the process is locked with MCL_CURRENT|MCL_FUTURE, mode on) for
 * mappings of at least min_size bytes, populated with `threads` threads (PREFAULT_THREADS_AUTO
 * allowed), MADV_HUGEPAGE first with thp, one line on stderr per mapping with verbose. */
void shim_mmap_enable(uint64_t min_size, uint32_t threads, bool thp, bool verbose);

/* Turns it off: every mmap goes straight to the kernel (a forked child that could not lock). */
void shim_mmap_disable(void);
