/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>

#include "client/prometheus.h"
#include "common/escape.h"
#include "common/macro.h"

void prometheus_write_label_value(FILE *f, const char *s) {
        /* The exposition format escapes only backslash, double quote and newline in label
         * values. Other control characters (and invalid UTF-8) would reach a terminal or a log
         * raw: they are written as the text "\xNN"/"\uNNNN" (common/escape.h), whose
         * backslash is then escaped as the format requires ("\\x1b" on the wire). */
        _cleanup_free_ char *e = escape_string(strempty(s), ESCAPE_KEEP_NEWLINE);
        const char *v = e ?: "";

        fputc('"', f);
        for (const char *p = v; *p; p++)
                switch (*p) {
                case '\\':
                        fputs("\\\\", f);
                        break;
                case '"':
                        fputs("\\\"", f);
                        break;
                case '\n':
                        fputs("\\n", f);
                        break;
                case '\t':
                        fputs("\\\\t", f);
                        break;
                default:
                        fputc(*p, f);
                }
        fputc('"', f);
}

/* Sample values are floats in the text format; "+Inf" stands for an unlimited size. */
static void write_value(FILE *f, uint64_t v, bool inf_if_max) {
        if (inf_if_max && v == UINT64_MAX)
                fputs("+Inf", f);
        else
                fprintf(f, "%" PRIu64, v);
}

static void write_header(FILE *f, const char *name, const char *type, const char *help) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void write_gauge(FILE *f, const char *name, const char *help, uint64_t v, bool inf) {
        write_header(f, name, "gauge", help);
        fputs(name, f);
        fputc(' ', f);
        write_value(f, v, inf);
        fputc('\n', f);
}

typedef enum WorkloadField {
        FIELD_LOCKED,
        FIELD_LIMIT,
        FIELD_RESIDENT,
        FIELD_SWAP,
        FIELD_PINNED,
        FIELD_MAJOR,
        FIELD_MINOR,
        FIELD_LOCK_SECONDS,
        FIELD_STARTED,
        FIELD_INFO,
        _FIELD_MAX,
} WorkloadField;

static const struct {
        const char *name;
        const char *type;
        const char *help;
} workload_metrics[_FIELD_MAX] = {
        [FIELD_LOCKED] = { "mlockd_workload_locked_bytes", "gauge",
                           "Locked memory of the workload (VmLck)." },
        [FIELD_LIMIT] = { "mlockd_workload_limit_bytes", "gauge",
                          "Memory reserved for the workload against the budget." },
        [FIELD_RESIDENT] = { "mlockd_workload_resident_bytes", "gauge",
                             "Resident memory of the workload (VmRSS)." },
        [FIELD_SWAP] = { "mlockd_workload_swap_bytes", "gauge",
                         "Swapped-out memory of the workload (VmSwap)." },
        [FIELD_PINNED] = { "mlockd_workload_pinned_bytes", "gauge",
                           "Pinned memory of the workload (VmPin)." },
        [FIELD_MAJOR] = { "mlockd_workload_major_faults_total", "counter",
                          "Major page faults of the workload since it started." },
        [FIELD_MINOR] = { "mlockd_workload_minor_faults_total", "counter",
                          "Minor page faults of the workload since it started." },
        [FIELD_LOCK_SECONDS] = { "mlockd_workload_lock_duration_seconds", "gauge",
                                 "Time the lock (with prefault) took." },
        [FIELD_STARTED] = { "mlockd_workload_start_time_seconds", "gauge",
                            "Start time of the workload since the Unix epoch." },
        [FIELD_INFO] = { "mlockd_workload_info", "gauge",
                         "Constant 1, labelled with the workload's settings." },
};

/* The one place that writes a workload's labels (and so escapes its values). Info carries
 * settings that do not change while the workload lives: no pid (a new series on every restart)
 * and no state (states are counted in mlockd_workloads{state=...}). */
static void write_labels(FILE *f, const WorkloadInfo *w, bool info) {
        fputs("{id=", f);
        prometheus_write_label_value(f, w->id);
        fputs(",name=", f);
        prometheus_write_label_value(f, w->name);
        fputs(",policy=", f);
        prometheus_write_label_value(f, w->policy);
        if (info) {
                fprintf(f, ",uid=\"%" PRIu32 "\",mode=", w->uid);
                prometheus_write_label_value(f, w->mode);
                fputs(",mechanism=", f);
                prometheus_write_label_value(f, w->mechanism);
        }
        fputs("} ", f);
}

/* The states of org.mlockd1.Workload.State (docs/dbus-api.md). Each gets a sample, 0 when no
 * workload is in it, so that a rate or an alert sees the series before the first workload. */
static const char *const known_states[] = {
        "starting", "locking", "locked", "failed", "exited", "detached",
};

static bool state_is_known(const char *state) {
        for (size_t i = 0; i < ELEMENTSOF(known_states); i++)
                if (streq(known_states[i], strempty(state)))
                        return true;
        return false;
}

static size_t count_state(const WorkloadInfo *workloads, size_t n, const char *state) {
        size_t k = 0;

        for (size_t i = 0; i < n; i++)
                if (streq(strempty(workloads[i].state), state))
                        k++;
        return k;
}

static void write_state_sample(FILE *f, const char *state, size_t count) {
        fputs("mlockd_workloads{state=", f);
        prometheus_write_label_value(f, state);
        fprintf(f, "} %zu\n", count);
}

static void write_workloads_by_state(FILE *f, const WorkloadInfo *workloads, size_t n) {
        write_header(f, "mlockd_workloads", "gauge", "Workloads in the daemon's table, by state.");
        for (size_t i = 0; i < ELEMENTSOF(known_states); i++)
                write_state_sample(f, known_states[i], count_state(workloads, n, known_states[i]));
        /* A state this client does not know (a newer daemon): counted once, at its first
         * occurrence. */
        for (size_t i = 0; i < n; i++) {
                const char *state = strempty(workloads[i].state);
                bool seen = false;

                if (state_is_known(state))
                        continue;
                for (size_t j = 0; j < i && !seen; j++)
                        seen = streq(strempty(workloads[j].state), state);
                if (!seen)
                        write_state_sample(f, state, count_state(workloads, n, state));
        }
}

static void write_build_info(FILE *f, const DaemonInfo *d) {
        write_header(f, "mlockd_build_info", "gauge",
                     "Constant 1, labelled with the version of the running daemon.");
        fputs("mlockd_build_info{version=", f);
        prometheus_write_label_value(f, d->version);
        fputs("} 1\n", f);
}

int prometheus_render(FILE *f, const DaemonInfo *d, const WorkloadInfo *workloads, size_t n) {
        write_build_info(f, d);
        write_gauge(f, "mlockd_budget_bytes",
                    "Budget= of the daemon in bytes (+Inf when unlimited).", d->budget_bytes, true);
        write_gauge(f, "mlockd_reserved_bytes", "Sum of the limits of live workloads.",
                    d->reserved_bytes, false);
        write_gauge(f, "mlockd_locked_bytes", "Sum of VmLck of live workloads.", d->locked_bytes,
                    false);
        write_gauge(f, "mlockd_system_mlocked_bytes", "Mlocked of /proc/meminfo.",
                    d->system_mlocked_bytes, false);
        write_workloads_by_state(f, workloads, n);
        write_gauge(f, "mlockd_policies", "Loaded policies.", d->n_policies, false);

        for (WorkloadField m = 0; m < _FIELD_MAX; m++) {
                if (n == 0)
                        break;
                write_header(f, workload_metrics[m].name, workload_metrics[m].type,
                             workload_metrics[m].help);
                for (size_t i = 0; i < n; i++) {
                        const WorkloadInfo *w = &workloads[i];

                        fputs(workload_metrics[m].name, f);
                        write_labels(f, w, m == FIELD_INFO);
                        switch (m) {
                        case FIELD_LOCKED:
                                write_value(f, w->locked_bytes, false);
                                break;
                        case FIELD_LIMIT:
                                write_value(f, w->limit_bytes, true);
                                break;
                        case FIELD_RESIDENT:
                                write_value(f, w->resident_bytes, false);
                                break;
                        case FIELD_SWAP:
                                write_value(f, w->swap_bytes, false);
                                break;
                        case FIELD_PINNED:
                                write_value(f, w->pinned_bytes, false);
                                break;
                        case FIELD_MAJOR:
                                write_value(f, w->major_faults, false);
                                break;
                        case FIELD_MINOR:
                                write_value(f, w->minor_faults, false);
                                break;
                        case FIELD_LOCK_SECONDS:
                                fprintf(f, "%" PRIu64 ".%06" PRIu64,
                                        w->lock_duration_usec / 1000000,
                                        w->lock_duration_usec % 1000000);
                                break;
                        case FIELD_STARTED:
                                fprintf(f, "%" PRIu64 ".%06" PRIu64, w->started_at_usec / 1000000,
                                        w->started_at_usec % 1000000);
                                break;
                        case FIELD_INFO:
                                fputc('1', f);
                                break;
                        default:
                                break;
                        }
                        fputc('\n', f);
                }
        }
        return ferror(f) ? -EIO : 0;
}
