/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Human output of memlockctl: tables, durations, times, colours, status blocks. Pure: every
 * function writes to the FILE it is given and reads nothing but its arguments, so the unit test
 * (tests/unit/test-client-format.c) can check the exact text. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "client/workload-info.h"

/* ANSI sequences; callers print them only when colours are enabled. */
#define ANSI_HIGHLIGHT "\x1B[0;1;39m"
#define ANSI_GREEN "\x1B[0;32m"
#define ANSI_YELLOW "\x1B[0;33m"
#define ANSI_RED "\x1B[0;1;31m"
#define ANSI_GREY "\x1B[0;90m"
#define ANSI_NORMAL "\x1B[0m"

/* Whether to colour output: only when stdout is a terminal, TERM is not "dumb" and NO_COLOR is
 * unset or empty (https://no-color.org). Inputs are passed in so the rule itself is testable. */
bool colors_wanted(bool is_tty, const char *no_color_env, const char *term_env);

/* "850us", "12.3ms", "1.234s", "2min 5s", "3h 12min", "2d 4h". buf: FORMAT_DURATION_MAX. */
#define FORMAT_DURATION_MAX 32
char *format_duration_usec(char *buf, size_t l, uint64_t usec);
/* Local time "2026-11-21 23:15:02 UTC"; "n/a" for 0. buf: FORMAT_TIMESTAMP_MAX. */
#define FORMAT_TIMESTAMP_MAX 64
char *format_timestamp_usec(char *buf, size_t l, uint64_t realtime_usec);
/* "5min 3s ago" relative to now_usec; "n/a" for 0 or a time in the future. */
char *format_timestamp_relative(char *buf, size_t l, uint64_t realtime_usec, uint64_t now_usec);
/* "25%" of total; "-" when total is 0 or infinity. buf: FORMAT_PERCENT_MAX. */
#define FORMAT_PERCENT_MAX 16
char *format_percent(char *buf, size_t l, uint64_t part, uint64_t total);

/* The state word coloured by meaning: locked green, locking/starting yellow, failed red. */
const char *state_color(const char *state);

/* Levenshtein distance between a and b (bytes), capped at 255. */
unsigned string_distance(const char *a, const char *b);
/* The candidate nearest to s if it is close enough to be a likely typo (distance at most 2, or
 * a unique prefix), else NULL. candidates is NULL-terminated. */
const char *find_closest(const char *s, const char *const *candidates);

/* A simple text table: left-aligned columns padded to the widest cell, optionally right-aligned
 * for numbers; the last column is not padded. */
typedef struct Table Table;
Table *table_new(size_t n_columns, const char *const *headers);
Table *table_free(Table *t);
static inline void table_freep(Table **t) {
        table_free(*t);
}
void table_set_align_right(Table *t, size_t column, bool right);
/* The column to cut with "…" when a line is wider than table_set_width() allows (the name). */
void table_set_ellipsize(Table *t, size_t column);
/* The most terminal columns a line may take (columns_wanted()); 0, the default: no limit. */
void table_set_width(Table *t, size_t width);
/* Copies the n_columns cells (NULL is printed as "-"), escaped (common/escape.h): a control
 * character in a name never reaches the terminal. Widths are display widths, so CJK names
 * align. Returns 0 or -ENOMEM. */
int table_add_row(Table *t, const char *const *cells);
size_t table_get_rows(const Table *t);
/* Prints the header line (when legend, highlighted when color) and the rows. */
int table_print(const Table *t, FILE *f, bool legend, bool color);

/* The width a table may take, like systemctl: 0 (no limit) with --full or when stdout is not a
 * terminal, else $COLUMNS when set to a number, else the terminal's width. */
size_t columns_wanted(bool full, const char *columns_env, bool is_tty, size_t tty_columns);
/* The systemctl-status-like block of one workload. user is the resolved user name (or NULL);
 * now_usec the current CLOCK_REALTIME µs (for "ago"). */
void workload_format_status(FILE *f, const WorkloadInfo *w, const char *user, uint64_t now_usec,
                            bool color);
/* The daemon summary printed by `memlockctl status` without argument. */
void daemon_format_status(FILE *f, const DaemonInfo *d, const char *socket_path, bool color);
/* The total line under `memlockctl list`: "3 workloads, 1.5G locked, 2.0G reserved of 8.0G
 * budget (25%)." */
void list_format_total(FILE *f, size_t n_workloads, uint64_t locked, const DaemonInfo *d);

/* The progress line shown while a lock is in progress, without a trailing newline:
 * "Locking 'name': 1.2G / 4.0G (30%), 850.0M/s, ETA 3s". target may be 0 or infinity (no
 * percentage, no ETA); rate_bytes_per_sec may be 0 (no rate, no ETA). */
char *format_progress(char *buf, size_t l, const char *name, uint64_t locked, uint64_t target,
                      uint64_t rate_bytes_per_sec);
