/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test tool: injects mlockall()/munlockall() into a running process the way mlockd does
 * (a forked helper via inject_job_run(), target identified by a pidfd), or with --tid directly
 * into one thread with inject_syscall(). Prints one "key=value ..." line; exits 0 when the
 * injected syscall succeeded, 1 otherwise.
 *
 *   inject-tool mlockall PID [current,future,onfault]
 *   inject-tool munlockall PID
 *   inject-tool --tid TID mlockall PID current */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "common/macro.h"
#include "common/parse-util.h"
#include "common/process-util.h"
#include "daemon/helpers/inject-job.h"
#include "daemon/helpers/inject.h"

static int parse_flags(const char *s, int *ret) {
        _cleanup_free_ char *copy = strdup(s);
        int flags = 0;

        if (!copy)
                return -ENOMEM;
        for (char *save = NULL, *w = strtok_r(copy, ",", &save); w;
             w = strtok_r(NULL, ",", &save)) {
                if (streq(w, "current"))
                        flags |= MCL_CURRENT;
                else if (streq(w, "future"))
                        flags |= MCL_FUTURE;
                else if (streq(w, "onfault"))
                        flags |= MCL_ONFAULT;
                else
                        return -EINVAL;
        }
        *ret = flags;
        return 0;
}

static int parse_pid(const char *s, pid_t *ret) {
        uint32_t v;
        if (parse_uint32(s, &v) < 0 || v == 0 || v > INT32_MAX)
                return -EINVAL;
        *ret = (pid_t) v;
        return 0;
}

int main(int argc, char **argv) {
        _cleanup_close_ int pidfd = -EBADF;
        pid_t pid, tid = 0;
        int flags = MCL_CURRENT | MCL_FUTURE, r;
        long nr;

        if (argc > 2 && streq(argv[1], "--tid")) {
                if (parse_pid(argv[2], &tid) < 0) {
                        fprintf(stderr, "bad tid '%s'\n", argv[2]);
                        return 2;
                }
                argv += 2, argc -= 2;
        }
        if (argc < 3 || argc > 4) {
                fprintf(stderr, "usage: inject-tool [--tid TID] mlockall|munlockall PID [FLAGS]\n");
                return 2;
        }
        if (streq(argv[1], "mlockall"))
                nr = SYS_mlockall;
        else if (streq(argv[1], "munlockall")) {
                nr = SYS_munlockall;
                flags = 0;
        } else {
                fprintf(stderr, "unknown syscall '%s'\n", argv[1]);
                return 2;
        }
        if (parse_pid(argv[2], &pid) < 0) {
                fprintf(stderr, "bad pid '%s'\n", argv[2]);
                return 2;
        }
        if (argc == 4 && nr == SYS_mlockall && parse_flags(argv[3], &flags) < 0) {
                fprintf(stderr, "bad flags '%s'\n", argv[3]);
                return 2;
        }

        pidfd = pidfd_open_checked(pid);
        if (pidfd < 0) {
                printf("stage=validate error=%d (%s)\n", -pidfd, strerror(-pidfd));
                return 1;
        }

        if (tid > 0) {
                const long args[6] = { flags };
                InjectStage stage;
                long result = 0;
                r = inject_syscall(pid, tid, pidfd, nr, args, &result, &stage);
                printf("stage=%s error=%d result=%ld\n", inject_stage_to_string(stage),
                       r < 0 ? -r : (result < 0 ? (int) -result : 0), result);
                return r < 0 || result < 0 ? 1 : 0;
        }

        InjectResult res;
        r = inject_job_run(pid, pidfd, nr, flags, &res);
        if (r < 0) {
                printf("stage=job error=%d (%s)\n", -r, strerror(-r));
                return 1;
        }
        printf("stage=%s error=%d result=%" PRId64 " vm_lck_before=%" PRIu64
               " vm_lck_after=%" PRIu64 " duration_usec=%" PRIu64 "\n",
               strna(inject_stage_to_string(res.stage)), res.error, res.syscall_result,
               res.vm_lck_before, res.vm_lck_after, res.duration_usec);
        return res.error == 0 ? 0 : 1;
}
