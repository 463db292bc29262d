/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* `memlockctl check`: turning what was read from the host into OK/WARN/FAIL lines with a fix
 * hint. Pure: the values come in (cmd-check.c reads them), a verdict goes out. */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

typedef enum CheckLevel {
        CHECK_OK,
        CHECK_WARN,
        CHECK_FAIL,
        _CHECK_LEVEL_MAX,
        _CHECK_LEVEL_INVALID = -EINVAL,
} CheckLevel;
const char *check_level_to_string(CheckLevel l); /* "OK", "WARN", "FAIL" */

typedef struct CheckResult {
        const char *name; /* stable key: "swap", "rlimit-memlock", ... (static) */
        CheckLevel level;
        char *message; /* malloc'd */
        char *hint; /* malloc'd, NULL when there is nothing to fix */
} CheckResult;
void check_result_done(CheckResult *r);

/* Unknown integers are passed as -1, unknown sizes as UINT64_MAX, absent files as NULL. */
int check_swap(uint64_t swap_total, uint64_t swap_free, int swappiness, CheckResult *ret);
int check_rlimit_memlock(uint64_t soft, uint64_t hard, CheckResult *ret);
/* reachable: whether a daemon answered; pid 0 when its pid is unknown; cap_eff its CapEff. */
int check_daemon_caps(bool reachable, const char *socket_path, pid_t pid, uint64_t cap_eff,
                      CheckResult *ret);
int check_yama(int ptrace_scope, CheckResult *ret);
/* thp_enabled: the text of /sys/kernel/mm/transparent_hugepage/enabled ("always [madvise]
 * never"). */
int check_thp(const char *thp_enabled, CheckResult *ret);
int check_ksm(int ksm_run, CheckResult *ret);
int check_compact_unevictable(int allowed, CheckResult *ret);
/* budget: the daemon's BudgetBytes, or 0 when no daemon answered. */
int check_budget(uint64_t mem_total, uint64_t budget, uint64_t reserved, CheckResult *ret);
/* probe_error: 0 when mlock2(MLOCK_ONFAULT) worked, else the errno. */
int check_onfault(int probe_error, CheckResult *ret);
/* probe_error: 0 when madvise(MADV_POPULATE_WRITE) worked, else the errno. */
int check_populate_write(int probe_error, CheckResult *ret);
