/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "client/format.h"
#include "common/escape.h"
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
        char **cells; /* n_rows * n_columns, escaped */
        size_t n_rows;
        size_t ellipsize; /* the column cut to fit the width; SIZE_MAX: none */
        size_t width; /* the most columns a line may take; 0: no limit */
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
        t->ellipsize = SIZE_MAX;
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

void table_set_ellipsize(Table *t, size_t column) {
        t->ellipsize = column < t->n_columns ? column : SIZE_MAX;
}

void table_set_width(Table *t, size_t width) {
        t->width = width;
}

int table_add_row(Table *t, const char *const *cells) {
        char **n;

        n = reallocarray(t->cells, (t->n_rows + 1) * t->n_columns, sizeof(char *));
        if (!n)
                return -ENOMEM;
        t->cells = n;
        for (size_t i = 0; i < t->n_columns; i++) {
                /* Cells are data from the daemon: a tab or newline would split the row, an
                 * escape sequence would talk to the terminal. */
                char *c = escape_string(cells[i] ?: "-", 0);
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

/* Prints s in w columns: padded by display width (printf pads by bytes), cut with "…" if it is
 * wider (only the ellipsized column ever is). */
static void print_cell(FILE *f, const char *s, size_t w, bool right, bool last) {
        _cleanup_free_ char *cut = NULL;
        size_t sw = utf8_display_width(s);

        if (sw > w) {
                cut = utf8_truncate_to_width(s, w);
                if (cut) {
                        s = cut;
                        sw = utf8_display_width(s);
                }
        }
        if (right)
                fprintf(f, "%*s", (int) (w > sw ? w - sw : 0), "");
        fputs(s, f);
        if (!right && !last)
                fprintf(f, "%*s", (int) (w > sw ? w - sw : 0), "");
}

static void table_print_line(const Table *t, FILE *f, char *const *cells, const size_t *width) {
        for (size_t i = 0; i < t->n_columns; i++) {
                bool last = i + 1 == t->n_columns;

                print_cell(f, cells[i], width[i], t->right[i], last);
                fputs(last ? "\n" : " ", f);
        }
}

/* Shrinks the ellipsized column so that a line fits t->width, down to its header's width (and
 * at least 8 columns, so that a cut name still says something). */
static void table_fit(const Table *t, size_t *width) {
        size_t total = t->n_columns - 1, min, excess;

        if (t->width == 0 || t->ellipsize == SIZE_MAX)
                return;
        for (size_t i = 0; i < t->n_columns; i++)
                total += width[i];
        if (total <= t->width)
                return;
        excess = total - t->width;
        min = MAX(utf8_display_width(t->headers[t->ellipsize]), (size_t) 8);
        if (width[t->ellipsize] <= min)
                return;
        width[t->ellipsize] = MAX(width[t->ellipsize] - MIN(excess, width[t->ellipsize]), min);
}

int table_print(const Table *t, FILE *f, bool legend, bool color) {
        _cleanup_free_ size_t *width = calloc(t->n_columns, sizeof(size_t));

        if (!width)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_columns; i++) {
                if (legend)
                        width[i] = utf8_display_width(t->headers[i]);
                for (size_t r = 0; r < t->n_rows; r++)
                        width[i] =
                                MAX(width[i], utf8_display_width(t->cells[r * t->n_columns + i]));
        }
        table_fit(t, width);
        if (legend) {
                if (color)
                        fputs(ANSI_HIGHLIGHT, f);
                /* The header line is printed like a row; trailing colour reset before '\n'. */
                for (size_t i = 0; i < t->n_columns; i++) {
                        bool last = i + 1 == t->n_columns;

                        print_cell(f, t->headers[i], width[i], t->right[i], last);
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

size_t columns_wanted(bool full, const char *columns_env, bool is_tty, size_t tty_columns) {
        uint32_t v;

        if (full)
                return 0;
        if (columns_env && parse_uint32(columns_env, &v) >= 0 && v > 0)
                return v;
        /* Into a pipe or file: all of it, as scripts want; on a terminal: its width. */
        return is_tty ? tty_columns : 0;
}

static void field(FILE *f, const char *label, const char *value) {
        fprintf(f, "%12s: %s\n", label, value);
}

/* An escaped copy of a daemon-supplied string for a status block ("n/a" for NULL); NULL only
 * on OOM, which the callers print as "n/a" too. */
static char *esc(const char *s) {
        return escape_string(strna(s), 0);
}

void workload_format_status(FILE *f, const WorkloadInfo *w, const char *user, uint64_t now_usec,
                            bool color) {
        char b1[FORMAT_BYTES_MAX], b2[FORMAT_BYTES_MAX], d[FORMAT_DURATION_MAX],
                ts[FORMAT_TIMESTAMP_MAX], rel[FORMAT_TIMESTAMP_MAX], pct[FORMAT_PERCENT_MAX];
        bool live = !w->state || !(streq(w->state, "exited") || streq(w->state, "detached"));
        /* Everything the daemon sends is data: names, policies and errors are escaped. */
        _cleanup_free_ char *name = esc(w->name), *id = esc(w->id), *policy = esc(w->policy),
                            *mode = esc(w->mode), *mechanism = esc(w->mechanism),
                            *state = esc(w->state), *error = esc(w->error),
                            *user_e = user ? esc(user) : NULL,
                            *containment = w->containment ? esc(w->containment) : NULL;

        fprintf(f, "%s%s%s %s (workload %s)\n", color ? state_color(w->state) : "",
                live ? "●" : "○", color ? ANSI_NORMAL : "", strna(name), strna(id));
        fprintf(f, "%12s: %" PRIu32 "\n", "PID", w->pid);
        if (user)
                fprintf(f, "%12s: %s (%" PRIu32 ")\n", "User", strna(user_e), w->uid);
        else
                fprintf(f, "%12s: %" PRIu32 "\n", "User", w->uid);
        field(f, "Policy", strna(policy));
        field(f, "Mode", strna(mode));
        field(f, "Mechanism", strna(mechanism));
        if (w->containment)
                field(f, "Containment", strna(containment));
        fprintf(f, "%12s: %s%s%s", "State", color ? state_color(w->state) : "", strna(state),
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
                fprintf(f, "%12s: %s%s%s\n", "Error", color ? ANSI_RED : "", strna(error),
                        color ? ANSI_NORMAL : "");
}

void daemon_format_status(FILE *f, const DaemonInfo *d, const char *socket_path, bool color) {
        _cleanup_free_ char *version = esc(d->version), *socket = esc(socket_path);
        char pct[FORMAT_PERCENT_MAX];

        fprintf(f, "%s●%s mlockd %s\n", color ? ANSI_GREEN : "", color ? ANSI_NORMAL : "", version);
        field(f, "Socket", socket);
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
        _cleanup_free_ char *n = esc(name);
        snprintf(buf, l, "Locking '%s': %s / %s%s%s%s", strna(n), FORMAT_BYTES(locked),
                 have_target ? FORMAT_BYTES(target) : "?", pct, rate, eta);
        return buf;
}
