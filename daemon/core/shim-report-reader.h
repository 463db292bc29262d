/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Reading the shim's ShimReport (common/shim-report.h) from the report pipe. */

#include <stddef.h>
#include <stdint.h>

#include "common/shim-report.h"

/* Incremental reader state, for a non-blocking pipe watched by the event loop. Zero it (or use
 * SHIM_REPORT_READER_INIT) before the first call. */
typedef struct ShimReportReader {
        uint8_t buf[sizeof(ShimReport)];
        size_t n;
} ShimReportReader;
#define SHIM_REPORT_READER_INIT ((ShimReportReader){})

/* Pure: validates a complete record in buf (n must be sizeof(ShimReport)), converts from
 * little-endian and copies it into *ret. Returns 0, -EBADMSG (wrong size, magic, or an
 * impossible field: negative error, mode out of range, unknown stage), -EPROTONOSUPPORT
 * (another version). *ret is untouched on failure. */
int shim_report_parse(const void *buf, size_t n, ShimReport *ret);

/* Reads what is available from fd into r. Returns 0 with *ret filled once a whole valid record
 * has arrived; -EAGAIN when more is needed (call again when fd is readable); -ENODATA on EOF
 * before any byte (the workload exited or exec'd without reporting: shim not loaded);
 * -EBADMSG on EOF mid-record or an invalid record; -EPROTONOSUPPORT; other -errno from
 * read(2). EINTR is retried. It does not wait for EOF after the record (a forked child of the
 * workload may hold the write end); calling it again after success returns the same record. */
int shim_report_read(int fd, ShimReportReader *r, ShimReport *ret);

/* For a blocking or non-blocking fd: waits up to timeout_usec (UINT64_MAX: forever) with
 * poll(2) for the whole record. Returns as shim_report_read, -ETIMEDOUT when time is up. */
int shim_report_read_wait(int fd, uint64_t timeout_usec, ShimReport *ret);

/* Fills a record in host order, ready to write(2) (little-endian on the wire). */
void shim_report_init(ShimReport *r, int error, uint32_t mode, uint32_t stage, uint64_t vm_lck,
                      uint64_t duration_usec, int32_t pid, uint32_t flags);

/* "none", "config", "prefault", "mlockall"; NULL for unknown stages. */
const char *shim_stage_to_string(uint32_t stage);
