/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "client/format.h"
#include "common/macro.h"
#include "common/parse-util.h"

#define USEC_PER_MSEC UINT64_C(1000)
#define USEC_PER_SEC UINT64_C(1000000)
#define USEC_PER_MINUTE (60 * USEC_PER_SEC)
#define USEC_PER_HOUR (60 * USEC_PER_MINUTE)
#define USEC_PER_DAY (24 * USEC_PER_HOUR)

bool colors_wanted(bool is_tty, const char *no_color_env, const char *term_env) {
        if (!is_tty)
                return false;
        if (no_color_env && no_color_env[0] != '\0')
                return false;
        if (term_env && streq(term_env, "dumb"))
                return false;
        return true;
}

char *format_duration_usec(char *buf, size_t l, uint64_t usec) {
        if (usec < USEC_PER_MSEC)
                snprintf(buf, l, "%" PRIu64 "us", usec);
        else if (usec < USEC_PER_SEC)
                snprintf(buf, l, "%" PRIu64 ".%" PRIu64 "ms", usec / USEC_PER_MSEC,
                         (usec % USEC_PER_MSEC) / 100);
        else if (usec < USEC_PER_MINUTE)
                snprintf(buf, l, "%" PRIu64 ".%03" PRIu64 "s", usec / USEC_PER_SEC,
                         (usec % USEC_PER_SEC) / USEC_PER_MSEC);
        else if (usec < USEC_PER_HOUR)
                snprintf(buf, l, "%" PRIu64 "min %" PRIu64 "s", usec / USEC_PER_MINUTE,
                         (usec % USEC_PER_MINUTE) / USEC_PER_SEC);
        else if (usec < USEC_PER_DAY)
                snprintf(buf, l, "%" PRIu64 "h %" PRIu64 "min", usec / USEC_PER_HOUR,
                         (usec % USEC_PER_HOUR) / USEC_PER_MINUTE);
        else
                snprintf(buf, l, "%" PRIu64 "d %" PRIu64 "h", usec / USEC_PER_DAY,
                         (usec % USEC_PER_DAY) / USEC_PER_HOUR);
        return buf;
}

char *format_timestamp_usec(char *buf, size_t l, uint64_t realtime_usec) {
        struct tm tm;
        time_t t;

        if (realtime_usec == 0 || realtime_usec == UINT64_MAX) {
                snprintf(buf, l, "n/a");
                return buf;
        }
        t = (time_t) (realtime_usec / USEC_PER_SEC);
        if (!localtime_r(&t, &tm) || strftime(buf, l, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                snprintf(buf, l, "n/a");
        return buf;
}

char *format_timestamp_relative(char *buf, size_t l, uint64_t realtime_usec, uint64_t now_usec) {
        char d[FORMAT_DURATION_MAX];
        uint64_t delta;

        if (realtime_usec == 0 || realtime_usec == UINT64_MAX || realtime_usec > now_usec) {
                snprintf(buf, l, "n/a");
                return buf;
        }
        delta = now_usec - realtime_usec;
        /* Sub-second precision is noise for "how long ago". */
        if (delta >= USEC_PER_SEC && delta < USEC_PER_MINUTE)
                snprintf(d, sizeof(d), "%" PRIu64 "s", delta / USEC_PER_SEC);
        else
                format_duration_usec(d, sizeof(d), delta);
        snprintf(buf, l, "%s ago", d);
        return buf;
}

char *format_percent(char *buf, size_t l, uint64_t part, uint64_t total) {
        if (total == 0 || total == UINT64_MAX)
                snprintf(buf, l, "-");
        else
                snprintf(buf, l, "%" PRIu64 "%%",
                         (uint64_t) (((unsigned __int128) part * 100) / total));
        return buf;
}

const char *state_color(const char *state) {
        if (!state)
                return ANSI_NORMAL;
        if (streq(state, "locked"))
                return ANSI_GREEN;
        if (streq(state, "starting") || streq(state, "locking"))
                return ANSI_YELLOW;
        if (streq(state, "failed"))
                return ANSI_RED;
        if (streq(state, "exited") || streq(state, "detached"))
                return ANSI_GREY;
        return ANSI_NORMAL;
}

unsigned string_distance(const char *a, const char *b) {
        /* Two rows of the classic dynamic programme; inputs are command names, so cap them. */
        unsigned prev[65], cur[65];
        size_t la = MIN(strlen(a), (size_t) 64), lb = MIN(strlen(b), (size_t) 64);

        for (size_t j = 0; j <= lb; j++)
                prev[j] = (unsigned) j;
        for (size_t i = 1; i <= la; i++) {
                cur[0] = (unsigned) i;
                for (size_t j = 1; j <= lb; j++) {
                        unsigned cost = a[i - 1] == b[j - 1] ? 0 : 1;
                        cur[j] = MIN(MIN(prev[j] + 1, cur[j - 1] + 1), prev[j - 1] + cost);
                }
                memcpy(prev, cur, sizeof(unsigned) * (lb + 1));
        }
        return MIN(prev[lb], 255u);
}

const char *find_closest(const char *s, const char *const *candidates) {
        const char *best = NULL, *prefix_match = NULL;
        unsigned best_d = UINT32_MAX;
        size_t n_prefix = 0;

        if (!s || s[0] == '\0')
                return NULL;
        for (const char *const *c = candidates; *c; c++) {
                unsigned d = string_distance(s, *c);
                if (d < best_d) {
                        best_d = d;
                        best = *c;
                }
                if (startswith(*c, s)) {
                        prefix_match = *c;
                        n_prefix++;
                }
        }
        if (best && best_d <= 2 && best_d < strlen(s))
                return best;
        if (n_prefix == 1)
                return prefix_match;
        return NULL;
}

struct Table {
        size_t n_columns;
        char **headers;
        bool *right;
        char **cells; /* n_rows * n_columns */
        size_t n_rows;
};

Table *table_free(Table *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; t->headers && i < t->n_columns; i++)
                free(t->headers[i]);
        free(t->headers);
        for (size_t i = 0; t->cells && i < t->n_rows * t->n_columns; i++)
                free(t->cells[i]);
        free(t->cells);
        free(t->right);
        free(t);
        return NULL;
}

Table *table_new(size_t n_columns, const char *const *headers) {
        _cleanup_(table_freep) Table *t = NULL;

        if (n_columns == 0)
                return NULL;
        t = calloc(1, sizeof(Table));
        if (!t)
                return NULL;
        t->n_columns = n_columns;
        t->headers = calloc(n_columns, sizeof(char *));
        t->right = calloc(n_columns, sizeof(bool));
        if (!t->headers || !t->right)
                return NULL;
        for (size_t i = 0; i < n_columns; i++) {
                t->headers[i] = strdup(headers[i]);
                if (!t->headers[i])
                        return NULL;
        }
        return TAKE_PTR(t);
}

void table_set_align_right(Table *t, size_t column, bool right) {
        if (column < t->n_columns)
                t->right[column] = right;
}

int table_add_row(Table *t, const char *const *cells) {
        char **n;

        n = reallocarray(t->cells, (t->n_rows + 1) * t->n_columns, sizeof(char *));
        if (!n)
                return -ENOMEM;
        t->cells = n;
        for (size_t i = 0; i < t->n_columns; i++) {
                char *c = strdup(cells[i] ?: "-");
                if (!c) {
                        for (size_t j = 0; j < i; j++)
                                free(t->cells[t->n_rows * t->n_columns + j]);
                        return -ENOMEM;
                }
                t->cells[t->n_rows * t->n_columns + i] = c;
        }
        t->n_rows++;
        return 0;
}

size_t table_get_rows(const Table *t) {
        return t->n_rows;
}

static void table_print_line(const Table *t, FILE *f, char *const *cells, const size_t *width) {
        for (size_t i = 0; i < t->n_columns; i++) {
                bool last = i + 1 == t->n_columns;
                int w = (int) width[i];

                if (t->right[i])
                        fprintf(f, "%*s", w, cells[i]);
                else if (last)
                        fputs(cells[i], f);
                else
                        fprintf(f, "%-*s", w, cells[i]);
                fputs(last ? "\n" : " ", f);
        }
}

int table_print(const Table *t, FILE *f, bool legend, bool color) {
        _cleanup_free_ size_t *width = calloc(t->n_columns, sizeof(size_t));

        if (!width)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_columns; i++) {
                if (legend)
                        width[i] = strlen(t->headers[i]);
                for (size_t r = 0; r < t->n_rows; r++)
                        width[i] = MAX(width[i], strlen(t->cells[r * t->n_columns + i]));
        }
        if (legend) {
                if (color)
                        fputs(ANSI_HIGHLIGHT, f);
                /* The header line is printed like a row; trailing colour reset before '\n'. */
                for (size_t i = 0; i < t->n_columns; i++) {
                        bool last = i + 1 == t->n_columns;
                        if (t->right[i])
                                fprintf(f, "%*s", (int) width[i], t->headers[i]);
                        else if (last)
                                fputs(t->headers[i], f);
                        else
                                fprintf(f, "%-*s", (int) width[i], t->headers[i]);
                        if (!last)
                                fputc(' ', f);
                }
                if (color)
                        fputs(ANSI_NORMAL, f);
                fputc('\n', f);
        }
        for (size_t r = 0; r < t->n_rows; r++)
                table_print_line(t, f, t->cells + r * t->n_columns, width);
        return 0;
}

static void field(FILE *f, const char *label, const char *value) {
        fprintf(f, "%12s: %s\n", label, value);
}

void workload_format_status(FILE *f, const WorkloadInfo *w, const char *user, uint64_t now_usec,
                            bool color) {
        char b1[FORMAT_BYTES_MAX], b2[FORMAT_BYTES_MAX], d[FORMAT_DURATION_MAX],
                ts[FORMAT_TIMESTAMP_MAX], rel[FORMAT_TIMESTAMP_MAX], pct[FORMAT_PERCENT_MAX];
        bool live = !w->state || !(streq(w->state, "exited") || streq(w->state, "detached"));

        fprintf(f, "%s%s%s %s (workload %s)\n", color ? state_color(w->state) : "",
                live ? "●" : "○", color ? ANSI_NORMAL : "", strna(w->name), strna(w->id));
        fprintf(f, "%12s: %" PRIu32 "\n", "PID", w->pid);
        if (user)
                fprintf(f, "%12s: %s (%" PRIu32 ")\n", "User", user, w->uid);
        else
                fprintf(f, "%12s: %" PRIu32 "\n", "User", w->uid);
        field(f, "Policy", strna(w->policy));
        field(f, "Mode", strna(w->mode));
        field(f, "Mechanism", strna(w->mechanism));
        if (w->containment)
                field(f, "Containment", w->containment);
        fprintf(f, "%12s: %s%s%s", "State", color ? state_color(w->state) : "", strna(w->state),
                color ? ANSI_NORMAL : "");
        if (w->exit_status >= 0 && w->state && streq(w->state, "exited"))
                fprintf(f, " (status %" PRIi32 ")", w->exit_status);
        fputc('\n', f);
        fprintf(f, "%12s: %s of %s limit (%s)\n", "Locked",
                format_bytes(b1, sizeof(b1), w->locked_bytes),
                format_bytes(b2, sizeof(b2), w->limit_bytes),
                format_percent(pct, sizeof(pct), w->locked_bytes, w->limit_bytes));
        fprintf(f, "%12s: %s, swap %s, pinned %s\n", "Resident",
                format_bytes(b1, sizeof(b1), w->resident_bytes),
                format_bytes(b2, sizeof(b2), w->swap_bytes), FORMAT_BYTES(w->pinned_bytes));
        fprintf(f, "%12s: %" PRIu64 " major, %" PRIu64 " minor\n", "Faults", w->major_faults,
                w->minor_faults);
        field(f, "Lock time",
              w->lock_duration_usec > 0 ? format_duration_usec(d, sizeof(d), w->lock_duration_usec)
                                        : "n/a");
        fprintf(f, "%12s: %s; %s\n", "Started",
                format_timestamp_usec(ts, sizeof(ts), w->started_at_usec),
                format_timestamp_relative(rel, sizeof(rel), w->started_at_usec, now_usec));
        if (w->error && w->error[0] != '\0')
                fprintf(f, "%12s: %s%s%s\n", "Error", color ? ANSI_RED : "", w->error,
                        color ? ANSI_NORMAL : "");
}

void daemon_format_status(FILE *f, const DaemonInfo *d, const char *socket_path, bool color) {
        char pct[FORMAT_PERCENT_MAX];

        fprintf(f, "%s●%s mlockd %s\n", color ? ANSI_GREEN : "", color ? ANSI_NORMAL : "",
                strna(d->version));
        field(f, "Socket", strna(socket_path));
        field(f, "Budget", FORMAT_BYTES(d->budget_bytes));
        fprintf(f, "%12s: %s (%s of budget)\n", "Reserved", FORMAT_BYTES(d->reserved_bytes),
                format_percent(pct, sizeof(pct), d->reserved_bytes, d->budget_bytes));
        field(f, "Locked", FORMAT_BYTES(d->locked_bytes));
        field(f, "Mlocked", FORMAT_BYTES(d->system_mlocked_bytes));
        fprintf(f, "%12s: %zu\n", "Workloads", d->n_workloads);
        fprintf(f, "%12s: %zu\n", "Policies", d->n_policies);
}

void list_format_total(FILE *f, size_t n_workloads, uint64_t locked, const DaemonInfo *d) {
        char pct[FORMAT_PERCENT_MAX];

        fprintf(f, "%zu workload%s, %s locked, %s reserved of %s budget (%s).\n", n_workloads,
                n_workloads == 1 ? "" : "s", FORMAT_BYTES(locked), FORMAT_BYTES(d->reserved_bytes),
                FORMAT_BYTES(d->budget_bytes),
                format_percent(pct, sizeof(pct), d->reserved_bytes, d->budget_bytes));
}

char *format_progress(char *buf, size_t l, const char *name, uint64_t locked, uint64_t target,
                      uint64_t rate_bytes_per_sec) {
        char pct[FORMAT_PERCENT_MAX + 4] = "", rate[FORMAT_BYTES_MAX + 8] = "",
                                      eta[FORMAT_DURATION_MAX + 8] = "";
        bool have_target = target != 0 && target != UINT64_MAX;

        if (have_target) {
                char p[FORMAT_PERCENT_MAX];
                snprintf(pct, sizeof(pct), " (%s)",
                         format_percent(p, sizeof(p), MIN(locked, target), target));
        }
        if (rate_bytes_per_sec > 0) {
                snprintf(rate, sizeof(rate), ", %s/s", FORMAT_BYTES(rate_bytes_per_sec));
                if (have_target && target > locked) {
                        char d[FORMAT_DURATION_MAX];
                        uint64_t secs =
                                (target - locked + rate_bytes_per_sec - 1) / rate_bytes_per_sec;
                        /* Whole seconds: "ETA 1.000s" would claim a precision it does not have. */
                        if (secs < 60)
                                snprintf(d, sizeof(d), "%" PRIu64 "s", secs);
                        else
                                format_duration_usec(d, sizeof(d),
                                                     MIN(secs, UINT64_C(1) << 32) * USEC_PER_SEC);
                        snprintf(eta, sizeof(eta), ", ETA %s", d);
                }
        }
        snprintf(buf, l, "Locking '%s': %s / %s%s%s%s", strna(name), FORMAT_BYTES(locked),
                 have_target ? FORMAT_BYTES(target) : "?", pct, rate, eta);
        return buf;
}
