/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The workload table: one entry per locked (or locking, or recently exited) process. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "common/log.h"
#include "common/proc.h"
#include "common/process-util.h"
#include "common/time-util.h"
#include "daemon/containment/containment.h"
#include "daemon/core/shim-report-reader.h"
#include "daemon/helpers/spawn.h" /* Mechanism */
#include "policy/policy.h"

typedef struct Manager Manager;

/* starting → locking → locked | failed → exited | detached */
typedef enum WorkloadState {
        WORKLOAD_STARTING, /* admitted, process being created or identified */
        WORKLOAD_LOCKING, /* the shim or the injector is locking */
        WORKLOAD_LOCKED,
        WORKLOAD_FAILED, /* the lock failed; the process may still run (OnFailure=continue) */
        WORKLOAD_EXITED,
        WORKLOAD_DETACHED, /* unlocked and forgotten; kept briefly like an exited one */
        _WORKLOAD_STATE_MAX,
        _WORKLOAD_STATE_INVALID = -EINVAL,
} WorkloadState;

typedef enum WorkloadKind {
        WORKLOAD_KIND_RUN,
        WORKLOAD_KIND_EXEC,
        WORKLOAD_KIND_ATTACH,
        _WORKLOAD_KIND_MAX,
        _WORKLOAD_KIND_INVALID = -EINVAL,
} WorkloadKind;

const char *workload_state_to_string(WorkloadState s);
WorkloadState workload_state_from_string(const char *s);
const char *workload_kind_to_string(WorkloadKind k);
WorkloadKind workload_kind_from_string(const char *s);

/* What /proc says about a workload's process, read at most once per
 * WORKLOAD_SAMPLE_MAX_AGE_USEC: ListWorkloads, GetAll, `memlockctl list` and `metrics`, the
 * sd_notify STATUS and the budget watch all read these, so a whole-table call costs
 * serialization only. A sample is also dropped when the workload's state changes. */
typedef struct WorkloadSample {
        uint64_t at; /* CLOCK_MONOTONIC µs of the read; 0: none yet */
        ProcStatus status; /* zeroes for a process that is gone */
        ProcStat stat;
        /* What the workload's cgroup holds locked (manager_contain_held()), read at held_at: the
         * budget admits each Run against these, so 1000 workloads cost 1000 reads a second at
         * most, not 1000 per Run (73 ms a Run before). */
        uint64_t held;
        uint64_t held_at;
} WorkloadSample;

#define WORKLOAD_SAMPLE_MAX_AGE_USEC (1 * USEC_PER_SEC)

typedef struct Workload Workload;
struct Workload {
        Manager *manager; /* may be NULL (unit tests) */
        Workload *prev, *next;
        Workload *id_next; /* WorkloadTable.buckets chain */

        uint64_t id;
        char id_str[24];
        char *path; /* /org/mlockd1/workload/<id> */
        WorkloadKind kind;
        char *name;
        char *policy;
        LockSettings settings; /* settings.limit is the reservation */
        WorkloadSample sample;
        unsigned changes; /* WorkloadChange bits not yet reported (manager_flush()) */
        Mechanism mechanism;
        WorkloadState state;
        char *error; /* last error, NULL if none */

        ProcessIdentity ident; /* pid + start time */
        uid_t uid;
        gid_t gid;
        int pidfd;
        sd_event_source *pidfd_source;
        bool is_child; /* forked by this daemon instance: exit status is known */
        bool adopted; /* re-adopted from the state file */

        uint64_t started_at; /* CLOCK_REALTIME µs */
        uint64_t lock_duration_usec;
        uint64_t locked_bytes; /* VmLck reported when the lock finished */
        int exit_code; /* CLD_EXITED/KILLED/DUMPED, 0 while running or unknown */
        int exit_status; /* ExitStatus: -1 while running or unknown */
        uint64_t gone_at; /* CLOCK_MONOTONIC µs when it exited or was detached */

        /* Run: foreground workloads belong to whoever started them (an id the bus layer gives:
         * its connection; 0: nobody). */
        uint64_t owner;
        /* Whoever started it (Run), detached or not: the bus layer sends that connection the
         * workload's signals without a subscription. 0: nobody. */
        uint64_t started_by;
        bool detach;
        int report_fd;
        sd_event_source *report_source;
        ShimReportReader report_reader;

        /* Attach/Detach: the injector helper. */
        pid_t helper_pid;
        int helper_fd;
        sd_event_source *helper_source;
        bool detaching;
        uint64_t detach_job_id; /* the Detach job waiting for the munlockall injection */

        /* The limit before we raised it, restored on Detach. */
        bool limit_raised;
        uint64_t orig_memlock_soft, orig_memlock_hard;

        bool over_limit_warned;

        /* Containment (daemon/manager-contain.c): its cgroup (backend NONE: uncontained), and
         * the Containment property: the cgroup's label, or "none (why)". */
        ContainmentCgroup cgroup;
        char *containment;
        sd_event_source *oom_source; /* containment_cgroup_watch(), owns its fd */
        uint64_t oom_kills_seen;
};

/* A new workload with id and path set, everything else empty. */
int workload_new(uint64_t id, Workload **ret);
/* The journal fields that tie a log message to w, with the event's MESSAGE_ID
 * (daemon/message-id.h): log_struct(LOG_INFO, &WORKLOAD_LOG(w, MESSAGE_...), "..."). */
LogFields workload_log_fields(const Workload *w, const char *message_id);
#define WORKLOAD_LOG(w, message_id) ((LogFields[]){ workload_log_fields(w, message_id) })[0]
/* Frees the workload and its event sources and fds; never signals or unlocks the process. */
Workload *workload_free(Workload *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(Workload *, workload_free);

/* Sets w->name / w->error to an escaped copy (control characters, invalid UTF-8). */
int workload_set_name(Workload *w, const char *name);
int workload_set_error(Workload *w, const char *error);
/* Starting, locking, locked or failed: the process is (believed) alive and holds a reservation. */
bool workload_is_live(const Workload *w);

typedef struct WorkloadTable {
        Workload *head, *tail; /* in order of addition: what lists show */
        size_t n;
        /* By id, for the lookups every bus call on a workload object makes (a walk of 1000
         * workloads was a tenth of a GetAll): chains through Workload.id_next, n_buckets a power
         * of two, grown as n passes it. Without buckets (empty table, or out of memory) the
         * lookups walk the list; a failed growth only lengthens the chains. */
        Workload **buckets;
        size_t n_buckets;
} WorkloadTable;

void workload_table_add(WorkloadTable *t, Workload *w);
void workload_table_remove(WorkloadTable *t, Workload *w);
void workload_table_clear(WorkloadTable *t); /* frees every workload */
Workload *workload_table_find_id(const WorkloadTable *t, uint64_t id);
/* Only live workloads match by pid: an exited one's pid may have been reused. */
Workload *workload_table_find_pid(const WorkloadTable *t, pid_t pid);
/* Accepts "/org/mlockd1/workload/<id>". */
Workload *workload_table_find_path(const WorkloadTable *t, const char *path);
size_t workload_table_count_live_uid(const WorkloadTable *t, uid_t uid);
size_t workload_table_count_live(const WorkloadTable *t);
/* Sum of the limits of live workloads, saturating at UINT64_MAX. */
uint64_t workload_table_reserved(const WorkloadTable *t);

#define WORKLOAD_PATH_PREFIX "/org/mlockd1/workload"
