/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The record the shim writes on MEMLOCK_REPORT_FD: the contract between shim and daemon. */

#include <stdint.h>

#define SHIM_REPORT_MAGIC 0x4d4c4b31u /* "MLK1" */
#define SHIM_REPORT_VERSION 1u

/* One fixed-size little-endian record, written with a single write(2) (atomic on a pipe,
 * being far below PIPE_BUF), then the fd is closed. */
typedef struct __attribute__((packed)) ShimReport {
        uint32_t magic; /* SHIM_REPORT_MAGIC */
        uint32_t version; /* SHIM_REPORT_VERSION */
        int32_t error; /* 0, or the positive errno of the failed step */
        uint32_t mode; /* LockMode applied (common/lock-mode.h) */
        uint32_t stage; /* ShimStage of the failure, 0 on success */
        uint32_t prefault_threads; /* threads used to prefault, 0 if none */
        uint64_t vm_lck_bytes; /* VmLck after locking */
        uint64_t duration_usec; /* prefault + mlockall, wall clock */
        uint64_t prefault_bytes; /* bytes populated before mlockall */
        int32_t pid; /* the process that locked (differs after fork) */
        uint32_t flags; /* SHIM_REPORT_* */
} ShimReport;

enum {
        SHIM_STAGE_NONE = 0,
        SHIM_STAGE_CONFIG = 1, /* a MEMLOCK_* variable could not be parsed */
        SHIM_STAGE_PREFAULT = 2, /* populating memory failed (not fatal: mlockall still ran) */
        SHIM_STAGE_MLOCKALL = 3, /* mlockall failed */
};

enum {
        SHIM_REPORT_ABORTED = 1u << 0, /* MEMLOCK_ON_FAILURE=abort: the program was stopped */
        SHIM_REPORT_FALLBACK = 1u << 1, /* MADV_POPULATE_WRITE missing: touched pages instead */
};
