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
                         "Constant 1, labelled with the workload's settings and state." },
};

static void write_labels(FILE *f, const WorkloadInfo *w, bool info) {
        fputs("{id=", f);
        prometheus_write_label_value(f, w->id);
        fputs(",name=", f);
        prometheus_write_label_value(f, w->name);
        fputs(",policy=", f);
        prometheus_write_label_value(f, w->policy);
        if (info) {
                fprintf(f, ",pid=\"%" PRIu32 "\",uid=\"%" PRIu32 "\",mode=", w->pid, w->uid);
                prometheus_write_label_value(f, w->mode);
                fputs(",mechanism=", f);
                prometheus_write_label_value(f, w->mechanism);
                fputs(",state=", f);
                prometheus_write_label_value(f, w->state);
        }
        fputs("} ", f);
}

int prometheus_render(FILE *f, const DaemonInfo *d, const WorkloadInfo *workloads, size_t n) {
        write_gauge(f, "mlockd_budget_bytes",
                    "Budget= of the daemon in bytes (+Inf when unlimited).", d->budget_bytes, true);
        write_gauge(f, "mlockd_reserved_bytes", "Sum of the limits of live workloads.",
                    d->reserved_bytes, false);
        write_gauge(f, "mlockd_locked_bytes", "Sum of VmLck of live workloads.", d->locked_bytes,
                    false);
        write_gauge(f, "mlockd_system_mlocked_bytes", "Mlocked of /proc/meminfo.",
                    d->system_mlocked_bytes, false);
        write_gauge(f, "mlockd_workloads", "Workloads in the daemon's table.", n, false);
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
