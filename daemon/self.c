/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cap-ng.h>
#include <errno.h>
#include <linux/capability.h>
#include <malloc.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/log.h"
#include "common/macro.h"
#include "common/parse-util.h"
#include "daemon/self.h"

#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif

int self_check_privileged(void) {
        if (geteuid() != 0)
                return log_error_errno(EPERM,
                                       "mlockd must run as root (it runs as uid %u): it starts "
                                       "workloads as their callers, raises their limits and "
                                       "injects mlockall() into running processes. Start it "
                                       "from mlockd.service, or with sudo for a test.",
                                       (unsigned) geteuid());
        return 0;
}

/* Says which RLIMIT_MEMLOCK the daemon got. A service manager without CAP_SYS_RESOURCE (a
 * container, a restricted VM) cannot set LimitMEMLOCK=infinity above its own hard limit and
 * silently uses the hard limit instead. The daemon's own lock does not depend on it
 * (CAP_IPC_LOCK), but an admin who reads LimitMEMLOCK=infinity in the unit should not have to
 * guess what the daemon and its run workloads really got. */
static void self_log_memlock_limit(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_MEMLOCK, &rl) < 0)
                return;
        if (rl.rlim_max == RLIM_INFINITY) {
                log_info("RLIMIT_MEMLOCK: unlimited.");
                return;
        }
        log_info("RLIMIT_MEMLOCK: %s, hard limit %s (a higher LimitMEMLOCK= was cut to the hard "
                 "limit if the service manager lacks CAP_SYS_RESOURCE).",
                 rl.rlim_cur == RLIM_INFINITY ? "unlimited" : FORMAT_BYTES(rl.rlim_cur),
                 FORMAT_BYTES(rl.rlim_max));
}

/* Heap the daemon keeps locked beyond what it uses at start-up: small allocations
 * (workloads, replies, sd-bus objects) reuse it. */
#define SELF_HEAP_RESERVE (4u * 1024u * 1024u)
/* Blocks from this size up get mappings of their own, which are never locked: sd-bus's buffer
 * for a large incoming message is one of them, and so are clients' bytes in it. */
#define SELF_MMAP_THRESHOLD (64u * 1024u)

static void reserve_heap(void) {
        void *p;

        /* One block taken from the heap (not a mapping of its own) grows the heap by the
         * reserve; freed, it stays with malloc, as the trim threshold is above it. Untouched,
         * it costs no RSS: MCL_ONFAULT locks its pages as they are first used. */
        (void) mallopt(M_MMAP_THRESHOLD, 2 * SELF_HEAP_RESERVE);
        p = malloc(SELF_HEAP_RESERVE);
        /* One byte written, so the compiler cannot drop the pair; one page touched. */
        if (p)
                *(volatile char *) p = 0;
        free(p);
        (void) mallopt(M_MMAP_THRESHOLD, SELF_MMAP_THRESHOLD);
}

int self_lock_memory(void) {
        self_log_memlock_limit();
        /* Not MCL_FUTURE: it locks every page the daemon ever maps, including the buffers that
         * clients fill (sd-bus allocates a whole announced message before reading it), so
         * clients could pin the daemon's memory at will. Locked instead, as they are touched:
         * what is mapped now (code, data, the heap with its reserve, and the stack, whose
         * mapping grows with its flags); new mappings (large buffers, heap growth beyond the
         * reserve) stay unlocked and swappable. */
        (void) mallopt(M_TRIM_THRESHOLD, 2 * SELF_HEAP_RESERVE);
        reserve_heap();
        if (mlockall(MCL_CURRENT | MCL_ONFAULT) < 0) {
                int r = negative_errno();
                if (r == -EINVAL && mlockall(MCL_CURRENT) >= 0)
                        return 0;
                return log_warning_errno(r, "Failed to lock the daemon's own memory, continuing "
                                            "unlocked: %m");
        }
        return 0;
}

/* The capabilities mlockd keeps, and why. Everything else goes. */
static const struct {
        unsigned cap;
        const char *name;
        bool only_if_held; /* optional: kept if the daemon was given it, no error otherwise */
        const char *why;
} kept_caps[] = {
        { CAP_IPC_LOCK, "CAP_IPC_LOCK", false,
          "lock the daemon's own memory beyond RLIMIT_MEMLOCK; handed to Run workloads as an "
          "ambient capability, which requires it in our permitted and inheritable sets" },
        { CAP_SYS_RESOURCE, "CAP_SYS_RESOURCE", true,
          "raise RLIMIT_MEMLOCK of workloads and attach targets above their hard limit" },
        { CAP_SYS_PTRACE, "CAP_SYS_PTRACE", true,
          "inject mlockall()/munlockall() into processes of other users, and read their "
          "/proc/PID/exe" },
        { CAP_SETUID, "CAP_SETUID", false, "a Run workload takes its caller's uid" },
        { CAP_SETGID, "CAP_SETGID", false,
          "a Run workload takes its caller's gid and supplementary groups" },
        { CAP_KILL, "CAP_KILL", false,
          "Kill() and the SIGHUP of foreground workloads reach processes of other users" },
        { CAP_DAC_READ_SEARCH, "CAP_DAC_READ_SEARCH", true,
          "the injector reads an attach target's /proc/PID/mem (mode 0600, the target's own) to "
          "find a syscall instruction; read and search only. Never used for a Run command: the "
          "launch child resolves it as the caller, without capabilities" },
        { CAP_SYS_CHROOT, "CAP_SYS_CHROOT", true,
          "a Run workload of a caller in a chroot starts in that caller's root directory" },
};
/* Not kept, on purpose: CAP_SYS_ADMIN (SO_PEERCRED and SO_PEERPIDFD need nothing),
 * CAP_DAC_OVERRIDE (we write only our own root-owned directories), CAP_CHOWN/CAP_FOWNER,
 * CAP_SETPCAP (raising an ambient capability needs it only in permitted+inheritable),
 * CAP_NET_*. The bounding set is left alone: it is inherited by workloads, and a workload
 * running e.g. sudo must get what it would get without mlockd. */

int self_drop_capabilities(void) {
        bool held[ELEMENTSOF(kept_caps)];
        int r;

        r = capng_get_caps_process();
        if (r < 0)
                return log_error_errno(EIO, "Failed to read the daemon's capabilities.");
        for (size_t i = 0; i < ELEMENTSOF(kept_caps); i++)
                held[i] = capng_have_capability(CAPNG_PERMITTED, kept_caps[i].cap) > 0;

        capng_clear(CAPNG_SELECT_CAPS);
        for (size_t i = 0; i < ELEMENTSOF(kept_caps); i++) {
                if (!held[i]) {
                        if (kept_caps[i].only_if_held)
                                log_info("Not holding %s: cannot %s.", kept_caps[i].name,
                                         kept_caps[i].why);
                        else
                                log_warning("Not holding %s, which mlockd needs to %s.",
                                            kept_caps[i].name, kept_caps[i].why);
                        continue;
                }
                r = capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_INHERITABLE,
                                 kept_caps[i].cap);
                if (r < 0)
                        return log_error_errno(EINVAL, "Failed to keep %s.", kept_caps[i].name);
                log_debug("Keeping %s: %s.", kept_caps[i].name, kept_caps[i].why);
        }
        r = capng_apply(CAPNG_SELECT_CAPS);
        if (r < 0)
                return log_error_errno(EPERM, "Failed to drop capabilities (capng_apply: %d).", r);
        return 0;
}
