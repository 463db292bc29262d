/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "client/host-check.h"
#include "common/macro.h"
#include "common/parse-util.h"

/* capability numbers, from linux/capability.h (not included: it clashes with libcap-ng) */
#define CAP_NUM_IPC_LOCK 14
#define CAP_NUM_SYS_PTRACE 19
#define CAP_NUM_SYS_RESOURCE 24

static const char *const level_table[_CHECK_LEVEL_MAX] = {
        [CHECK_OK] = "OK",
        [CHECK_WARN] = "WARN",
        [CHECK_FAIL] = "FAIL",
};

const char *check_level_to_string(CheckLevel l) {
        return l >= 0 && l < _CHECK_LEVEL_MAX ? level_table[l] : NULL;
}

void check_result_done(CheckResult *r) {
        if (!r)
                return;
        free(r->message);
        free(r->hint);
        *r = (CheckResult){};
}

static int result(CheckResult *ret, const char *name, CheckLevel level, const char *hint,
                  const char *fmt, ...) _printf_(5, 6);
static int result(CheckResult *ret, const char *name, CheckLevel level, const char *hint,
                  const char *fmt, ...) {
        char *m = NULL, *h = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&m, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        if (hint) {
                h = strdup(hint);
                if (!h) {
                        free(m);
                        return -ENOMEM;
                }
        }
        *ret = (CheckResult){ .name = name, .level = level, .message = m, .hint = h };
        return 0;
}

int check_swap(uint64_t swap_total, uint64_t swap_free, int swappiness, CheckResult *ret) {
        char sw[32] = "unknown";

        if (swappiness >= 0)
                snprintf(sw, sizeof(sw), "%d", swappiness);
        if (swap_total == UINT64_MAX)
                return result(ret, "swap", CHECK_WARN, "check that /proc/meminfo is readable",
                              "swap: cannot read /proc/meminfo");
        if (swap_total == 0)
                return result(ret, "swap", CHECK_OK, NULL,
                              "swap: none (swappiness %s); memory cannot be swapped out, locking "
                              "still keeps pages from being reclaimed or migrated",
                              sw);
        if (swappiness > 100)
                return result(ret, "swap", CHECK_WARN,
                              "sysctl vm.swappiness=10 makes the kernel prefer dropping caches",
                              "swap: %s, %s free, swappiness %s: unlocked memory is swapped "
                              "out eagerly",
                              FORMAT_BYTES(swap_total),
                              FORMAT_BYTES(swap_free == UINT64_MAX ? 0 : swap_free), sw);
        return result(ret, "swap", CHECK_OK, NULL,
                      "swap: %s, %s free, swappiness %s; only locked workloads are safe from it",
                      FORMAT_BYTES(swap_total),
                      FORMAT_BYTES(swap_free == UINT64_MAX ? 0 : swap_free), sw);
}

int check_rlimit_memlock(uint64_t soft, uint64_t hard, CheckResult *ret) {
        if (soft == UINT64_MAX && hard == UINT64_MAX)
                return result(ret, "rlimit-memlock", CHECK_OK, NULL,
                              "RLIMIT_MEMLOCK of this shell: unlimited");
        return result(ret, "rlimit-memlock", CHECK_WARN,
                      "run programs through 'memlockctl run' or 'memlockctl exec', which raise "
                      "the limit or grant CAP_IPC_LOCK by policy",
                      "RLIMIT_MEMLOCK of this shell: soft %s, hard %s; programs started from it "
                      "can lock no more on their own",
                      FORMAT_BYTES(soft), FORMAT_BYTES(hard));
}

static bool has_cap(uint64_t caps, int cap) {
        return caps & (UINT64_C(1) << cap);
}

int check_daemon_caps(bool reachable, const char *socket_path, pid_t pid, uint64_t cap_eff,
                      CheckResult *ret) {
        bool ipc, res, ptr;
        char missing[128] = "";

        if (!reachable)
                return result(ret, "daemon-capabilities", CHECK_WARN,
                              "start mlockd (or point --socket at it) to check the daemon too",
                              "mlockd: not reachable at '%s'; daemon checks skipped",
                              strna(socket_path));
        if (pid <= 0 || cap_eff == UINT64_MAX)
                return result(ret, "daemon-capabilities", CHECK_WARN,
                              "run 'memlockctl check' as root in the daemon's pid namespace",
                              "mlockd: running, but its capabilities cannot be read");

        ipc = has_cap(cap_eff, CAP_NUM_IPC_LOCK);
        res = has_cap(cap_eff, CAP_NUM_SYS_RESOURCE);
        ptr = has_cap(cap_eff, CAP_NUM_SYS_PTRACE);
        snprintf(missing, sizeof(missing), "%s%s%s", ipc ? "" : " CAP_IPC_LOCK",
                 res ? "" : " CAP_SYS_RESOURCE", ptr ? "" : " CAP_SYS_PTRACE");

        if (!ipc && !res)
                return result(ret, "daemon-capabilities", CHECK_FAIL,
                              "give mlockd CAP_IPC_LOCK and CAP_SYS_RESOURCE "
                              "(CapabilityBoundingSet=, AmbientCapabilities= or run it as root)",
                              "mlockd (pid %d) lacks%s: it can neither raise limits nor grant "
                              "CAP_IPC_LOCK, so nothing can be locked",
                              (int) pid, missing);
        if (!res || !ptr)
                return result(ret, "daemon-capabilities", CHECK_WARN,
                              !res ? "grant CAP_SYS_RESOURCE to mlockd to raise RLIMIT_MEMLOCK "
                                     "instead of handing out CAP_IPC_LOCK"
                                   : "grant CAP_SYS_PTRACE to mlockd to attach to running "
                                     "processes",
                              "mlockd (pid %d) lacks%s%s%s", (int) pid, missing,
                              !res ? ": workloads are locked through an ambient CAP_IPC_LOCK "
                                     "(no kernel limit; the daemon watches them)"
                                   : "",
                              !ptr ? "; attach is unavailable" : "");
        return result(ret, "daemon-capabilities", CHECK_OK, NULL,
                      "mlockd (pid %d) holds CAP_IPC_LOCK, CAP_SYS_RESOURCE and CAP_SYS_PTRACE",
                      (int) pid);
}

int check_yama(int ptrace_scope, CheckResult *ret) {
        switch (ptrace_scope) {
        case -1:
                return result(ret, "yama-ptrace-scope", CHECK_OK, NULL,
                              "Yama ptrace_scope: not present (no Yama restriction on attach)");
        case 0:
        case 1:
        case 2:
                return result(ret, "yama-ptrace-scope", CHECK_OK, NULL,
                              "Yama ptrace_scope: %d; mlockd attaches with CAP_SYS_PTRACE",
                              ptrace_scope);
        case 3:
                return result(ret, "yama-ptrace-scope", CHECK_FAIL,
                              "ptrace_scope=3 cannot be lowered until reboot: set "
                              "kernel.yama.ptrace_scope=2 in /etc/sysctl.d and reboot, or use "
                              "'memlockctl run' instead of attach",
                              "Yama ptrace_scope: 3 (no ptrace at all): 'memlockctl attach' "
                              "cannot work");
        default:
                return result(ret, "yama-ptrace-scope", CHECK_WARN, NULL,
                              "Yama ptrace_scope: unexpected value %d", ptrace_scope);
        }
}

int check_thp(const char *thp_enabled, CheckResult *ret) {
        const char *b, *e;
        char mode[32];

        if (!thp_enabled)
                return result(
                        ret, "transparent-hugepages", CHECK_WARN,
                        "a kernel with CONFIG_TRANSPARENT_HUGEPAGE prefaults ~512x fewer pages",
                        "Transparent hugepages: not supported by this kernel; prefault "
                        "takes one fault per 4K page");
        b = strchr(thp_enabled, '[');
        e = b ? strchr(b, ']') : NULL;
        if (!b || !e || (size_t) (e - b - 1) >= sizeof(mode))
                return result(ret, "transparent-hugepages", CHECK_WARN, NULL,
                              "Transparent hugepages: cannot parse '%s'", thp_enabled);
        memcpy(mode, b + 1, (size_t) (e - b - 1));
        mode[e - b - 1] = '\0';
        if (streq(mode, "never"))
                return result(ret, "transparent-hugepages", CHECK_WARN,
                              "echo madvise > /sys/kernel/mm/transparent_hugepage/enabled",
                              "Transparent hugepages: never; prefault and mlock take one fault "
                              "per 4K page (policies with TransparentHugepages=yes get no effect)");
        return result(ret, "transparent-hugepages", CHECK_OK, NULL, "Transparent hugepages: %s",
                      mode);
}

int check_ksm(int ksm_run, CheckResult *ret) {
        if (ksm_run < 0)
                return result(ret, "ksm", CHECK_OK, NULL, "KSM: not present");
        if (ksm_run == 0 || ksm_run == 2)
                return result(ret, "ksm", CHECK_OK, NULL, "KSM: %s",
                              ksm_run == 0 ? "stopped" : "stopped, merged pages unmerged");
        return result(ret, "ksm", CHECK_WARN,
                      "echo 2 > /sys/kernel/mm/ksm/run (stop and unmerge), or start QEMU with "
                      "-machine mem-merge=off",
                      "KSM: running; merged pages of mergeable regions (QEMU guests by default) "
                      "are shared copy-on-write, so a write to a locked page can still fault");
}

int check_compact_unevictable(int allowed, CheckResult *ret) {
        if (allowed < 0)
                return result(ret, "compact-unevictable", CHECK_OK, NULL,
                              "vm.compact_unevictable_allowed: not present");
        if (allowed == 0)
                return result(ret, "compact-unevictable", CHECK_OK, NULL,
                              "vm.compact_unevictable_allowed: 0; locked pages are not migrated");
        return result(ret, "compact-unevictable", CHECK_WARN,
                      "sysctl vm.compact_unevictable_allowed=0 (for realtime workloads)",
                      "vm.compact_unevictable_allowed: %d; compaction may migrate locked pages, "
                      "which costs minor faults (latency spikes for realtime workloads)",
                      allowed);
}

int check_budget(uint64_t mem_total, uint64_t budget, uint64_t reserved, CheckResult *ret) {
        char pct[8];

        if (mem_total == UINT64_MAX || mem_total == 0)
                return result(ret, "budget", CHECK_WARN, NULL,
                              "MemTotal: cannot read /proc/meminfo");
        if (budget == 0)
                return result(ret, "budget", CHECK_OK, NULL,
                              "MemTotal: %s (budget unknown without the daemon)",
                              FORMAT_BYTES(mem_total));
        if (budget == UINT64_MAX)
                return result(ret, "budget", CHECK_WARN,
                              "set Budget= in mlockd.conf, e.g. Budget=80%",
                              "Budget: infinity of MemTotal %s: workloads may lock all memory "
                              "and leave the kernel nothing to reclaim",
                              FORMAT_BYTES(mem_total));
        snprintf(pct, sizeof(pct), "%" PRIu64 "%%",
                 (uint64_t) ((unsigned __int128) budget * 100 / mem_total));
        if (budget > mem_total / 10 * 9)
                return result(ret, "budget", CHECK_WARN,
                              "lower Budget= in mlockd.conf below 90% of MemTotal",
                              "Budget: %s is %s of MemTotal %s; little is left for the kernel "
                              "and unlocked programs",
                              FORMAT_BYTES(budget), pct, FORMAT_BYTES(mem_total));
        return result(ret, "budget", CHECK_OK, NULL, "Budget: %s (%s of MemTotal %s), %s reserved",
                      FORMAT_BYTES(budget), pct, FORMAT_BYTES(mem_total), FORMAT_BYTES(reserved));
}

int check_onfault(int probe_error, CheckResult *ret) {
        if (probe_error == 0)
                return result(ret, "mcl-onfault", CHECK_OK, NULL,
                              "MCL_ONFAULT: supported (Mode=on-fault works)");
        if (probe_error == EINVAL || probe_error == ENOSYS)
                return result(ret, "mcl-onfault", CHECK_FAIL,
                              "use Mode=on or Mode=current, or a kernel >= 4.4",
                              "MCL_ONFAULT: not supported by this kernel (%s)",
                              strerror(probe_error));
        return result(ret, "mcl-onfault", CHECK_WARN, NULL, "MCL_ONFAULT: could not probe (%s)",
                      strerror(probe_error));
}

int check_populate_write(int probe_error, CheckResult *ret) {
        if (probe_error == 0)
                return result(ret, "madv-populate-write", CHECK_OK, NULL,
                              "MADV_POPULATE_WRITE: supported (fast parallel prefault)");
        if (probe_error == EINVAL)
                return result(ret, "madv-populate-write", CHECK_WARN,
                              "a kernel >= 5.14 prefaults faster",
                              "MADV_POPULATE_WRITE: not supported; the shim prefaults by "
                              "touching each page");
        return result(ret, "madv-populate-write", CHECK_WARN, NULL,
                      "MADV_POPULATE_WRITE: could not probe (%s)", strerror(probe_error));
}
