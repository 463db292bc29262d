/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* memlockctl check: reads the host (and the daemon, when one answers) for host-check.c. */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "client/bus-client.h"
#include "client/format.h"
#include "client/host-check.h"
#include "client/json-output.h"
#include "client/memlockctl.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/parse-util.h"
#include "common/proc.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 0x01
#endif

/* A small integer from a sysctl-like file; -1 when absent or garbled. */
static int read_int_file(const char *path) {
        _cleanup_free_ char *buf = NULL;
        uint32_t v;
        size_t n;

        if (read_file_at(AT_FDCWD, path, 4096, &buf, &n) < 0)
                return -1;
        buf[strcspn(buf, "\n")] = '\0';
        if (parse_uint32(buf, &v) < 0 || v > INT32_MAX)
                return -1;
        return (int) v;
}

/* Probes on one page of our own: mlock2(MLOCK_ONFAULT) needs only the default 64K limit. */
static int probe_onfault(void) {
        long page = sysconf(_SC_PAGESIZE);
        void *p = mmap(NULL, (size_t) page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                       0);
        int e = 0;

        if (p == MAP_FAILED)
                return errno;
        if (mlock2(p, (size_t) page, MLOCK_ONFAULT) < 0)
                e = errno;
        else
                (void) munlock(p, (size_t) page);
        (void) munmap(p, (size_t) page);
        return e;
}

static int probe_populate_write(void) {
        long page = sysconf(_SC_PAGESIZE);
        void *p = mmap(NULL, (size_t) page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                       0);
        int e = 0;

        if (p == MAP_FAILED)
                return errno;
        if (madvise(p, (size_t) page, MADV_POPULATE_WRITE) < 0)
                e = errno;
        (void) munmap(p, (size_t) page);
        return e;
}

static uint64_t rlim_to_u64(rlim_t v) {
        return v == RLIM_INFINITY ? UINT64_MAX : (uint64_t) v;
}

static int help_check(void) {
        printf("memlockctl check [OPTIONS]\n\n"
               "Is this host ready to lock memory? One line per check: OK, WARN or FAIL, with a\n"
               "fix hint. Works without a daemon; with one it also checks the daemon's\n"
               "capabilities and budget. Exits 0 when nothing FAILs, 1 otherwise.\n\n"
               "  -h --help        Show this help\n"
               "     --json[=MODE] JSON: an array of {check, level, message, hint}\n");
        return CTL_EXIT_OK;
}

int verb_check(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *thp = NULL;
        CheckResult results[10] = {};
        MemInfo mi = { .mem_total = UINT64_MAX, .swap_total = UINT64_MAX, .swap_free = UINT64_MAX };
        DaemonInfo d = {};
        struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
        uint64_t cap_eff = UINT64_MAX;
        bool reachable = false;
        pid_t daemon_pid = 0;
        size_t n = 0, n_fail = 0;
        int r;

        if (!parse_global_options_only(argc, argv, help_check, &r))
                return r;
        if (optind < argc)
                return usage_error(argv[0], "Unexpected argument '%s'.", argv[optind]);

        /* The daemon part is optional: a missing daemon is one WARN line, not an error. */
        if (bus_connect(&bus) >= 0) {
                _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

                reachable = true;
                if (sd_bus_get_owner_creds(bus, SD_BUS_CREDS_PID, &creds) >= 0 &&
                    sd_bus_creds_get_pid(creds, &daemon_pid) >= 0 && daemon_pid > 0) {
                        _cleanup_close_ int dfd = proc_open(daemon_pid);
                        ProcStatus st;
                        if (dfd >= 0 && proc_status_read(dfd, &st) >= 0)
                                cap_eff = st.cap_eff;
                }
                if (bus_get_daemon_info(bus, &d, &error) < 0)
                        log_debug("Failed to read the daemon's properties: %s",
                                  strna(error.message));
        }

        (void) meminfo_read(&mi);
        (void) getrlimit(RLIMIT_MEMLOCK, &rl);
        (void) read_file_at(AT_FDCWD, "/sys/kernel/mm/transparent_hugepage/enabled", 4096, &thp,
                            NULL);

        r = check_swap(mi.swap_total, mi.swap_free, read_int_file("/proc/sys/vm/swappiness"),
                       &results[n++]);
        if (r >= 0)
                r = check_rlimit_memlock(rlim_to_u64(rl.rlim_cur), rlim_to_u64(rl.rlim_max),
                                         &results[n++]);
        if (r >= 0)
                r = check_daemon_caps(reachable, bus_socket_path(), daemon_pid, cap_eff,
                                      &results[n++]);
        if (r >= 0)
                r = check_yama(read_int_file("/proc/sys/kernel/yama/ptrace_scope"), &results[n++]);
        if (r >= 0)
                r = check_thp(thp, &results[n++]);
        if (r >= 0)
                r = check_ksm(read_int_file("/sys/kernel/mm/ksm/run"), &results[n++]);
        if (r >= 0)
                r = check_compact_unevictable(
                        read_int_file("/proc/sys/vm/compact_unevictable_allowed"), &results[n++]);
        if (r >= 0)
                r = check_budget(mi.mem_total, reachable ? d.budget_bytes : 0, d.reserved_bytes,
                                 &results[n++]);
        if (r >= 0)
                r = check_onfault(probe_onfault(), &results[n++]);
        if (r >= 0)
                r = check_populate_write(probe_populate_write(), &results[n++]);
        daemon_info_done(&d);
        if (r < 0) {
                for (size_t i = 0; i < n; i++)
                        check_result_done(&results[i]);
                return log_oom(), CTL_EXIT_FAILED;
        }

        if (arg_json != JSON_OFF) {
                _cleanup_(json_object_putp) json_object *a = json_object_new_array();
                for (size_t i = 0; a && i < n; i++) {
                        json_object *o = json_object_new_object();
                        json_object_object_add(o, "check", json_object_new_string(results[i].name));
                        json_object_object_add(
                                o, "level",
                                json_object_new_string(check_level_to_string(results[i].level)));
                        json_object_object_add(o, "message",
                                               json_object_new_string(results[i].message));
                        json_object_object_add(
                                o, "hint",
                                results[i].hint ? json_object_new_string(results[i].hint) : NULL);
                        json_object_array_add(a, o);
                }
                if (a)
                        json_print(stdout, a, arg_json == JSON_PRETTY);
        }
        for (size_t i = 0; i < n; i++) {
                static const char *const colors[_CHECK_LEVEL_MAX] = {
                        [CHECK_OK] = ANSI_GREEN,
                        [CHECK_WARN] = ANSI_YELLOW,
                        [CHECK_FAIL] = ANSI_RED,
                };
                if (results[i].level == CHECK_FAIL)
                        n_fail++;
                if (arg_json != JSON_OFF)
                        continue;
                if (arg_quiet && results[i].level == CHECK_OK)
                        continue;
                printf("%s%-4s%s %s\n", use_colors() ? colors[results[i].level] : "",
                       check_level_to_string(results[i].level), use_colors() ? ANSI_NORMAL : "",
                       results[i].message);
                if (results[i].hint && results[i].level != CHECK_OK)
                        printf("     fix: %s\n", results[i].hint);
        }
        for (size_t i = 0; i < n; i++)
                check_result_done(&results[i]);
        return n_fail > 0 ? CTL_EXIT_FAILED : CTL_EXIT_OK;
}
