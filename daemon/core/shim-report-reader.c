/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "daemon/core/shim-report-reader.h"

#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/lock-mode.h"
#include "common/macro.h"
#include "common/time-util.h"

static const char *const shim_stage_table[] = {
        [SHIM_STAGE_NONE] = "none",
        [SHIM_STAGE_CONFIG] = "config",
        [SHIM_STAGE_PREFAULT] = "prefault",
        [SHIM_STAGE_MLOCKALL] = "mlockall",
};

const char *shim_stage_to_string(uint32_t stage) {
        if (stage >= ELEMENTSOF(shim_stage_table))
                return NULL;
        return shim_stage_table[stage];
}

int shim_report_parse(const void *buf, size_t n, ShimReport *ret) {
        ShimReport r;

        if (!buf || n != sizeof(ShimReport))
                return -EBADMSG;

        memcpy(&r, buf, sizeof(r));
        r.magic = le32toh(r.magic);
        r.version = le32toh(r.version);
        r.error = (int32_t) le32toh((uint32_t) r.error);
        r.mode = le32toh(r.mode);
        r.stage = le32toh(r.stage);
        r.prefault_threads = le32toh(r.prefault_threads);
        r.vm_lck_bytes = le64toh(r.vm_lck_bytes);
        r.duration_usec = le64toh(r.duration_usec);
        r.prefault_bytes = le64toh(r.prefault_bytes);
        r.pid = (int32_t) le32toh((uint32_t) r.pid);
        r.flags = le32toh(r.flags);

        if (r.magic != SHIM_REPORT_MAGIC)
                return -EBADMSG;
        if (r.version != SHIM_REPORT_VERSION)
                return -EPROTONOSUPPORT;
        if (r.error < 0 || r.mode >= _LOCK_MODE_MAX || !shim_stage_to_string(r.stage) || r.pid < 0)
                return -EBADMSG;
        /* A failure names its stage and a success has none, except a prefault failure, which
         * is reported with error 0 too when mlockall still succeeded afterwards. */
        if (r.error != 0 && r.stage == SHIM_STAGE_NONE)
                return -EBADMSG;

        *ret = r;
        return 0;
}

void shim_report_init(ShimReport *r, int error, uint32_t mode, uint32_t stage, uint64_t vm_lck,
                      uint64_t duration_usec, int32_t pid, uint32_t flags) {
        *r = (ShimReport){
                .magic = htole32(SHIM_REPORT_MAGIC),
                .version = htole32(SHIM_REPORT_VERSION),
                .error = (int32_t) htole32((uint32_t) error),
                .mode = htole32(mode),
                .stage = htole32(stage),
                .prefault_threads = 0,
                .vm_lck_bytes = htole64(vm_lck),
                .duration_usec = htole64(duration_usec),
                .prefault_bytes = 0,
                .pid = (int32_t) htole32((uint32_t) pid),
                .flags = htole32(flags),
        };
}

int shim_report_read(int fd, ShimReportReader *r, ShimReport *ret) {
        while (r->n < sizeof(r->buf)) {
                ssize_t k;

                k = read(fd, r->buf + r->n, sizeof(r->buf) - r->n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno(); /* EAGAIN included */
                }
                if (k == 0)
                        return r->n == 0 ? -ENODATA : -EBADMSG;
                r->n += (size_t) k;
        }

        /* Do not wait for EOF: a workload that forks may keep the write end open in a child.
         * The record is what counts. */
        return shim_report_parse(r->buf, r->n, ret);
}

int shim_report_read_wait(int fd, uint64_t timeout_usec, ShimReport *ret) {
        ShimReportReader r = SHIM_REPORT_READER_INIT;
        uint64_t deadline =
                timeout_usec == UINT64_MAX ? UINT64_MAX : now_usec(CLOCK_MONOTONIC) + timeout_usec;

        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int timeout_ms = -1, k;

                if (deadline != UINT64_MAX) {
                        uint64_t t = now_usec(CLOCK_MONOTONIC);
                        if (t >= deadline)
                                return -ETIMEDOUT;
                        timeout_ms = (int) MIN((deadline - t + 999) / 1000, (uint64_t) INT32_MAX);
                }
                k = poll(&p, 1, timeout_ms);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        return -ETIMEDOUT;

                k = shim_report_read(fd, &r, ret);
                if (k != -EAGAIN)
                        return k;
        }
}
