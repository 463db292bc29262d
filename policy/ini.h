/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* A parser for systemd-style INI files ([Section], Key=value, # comments), driven by a table of
 * known keys: unknown sections and keys (with suggestions), duplicate keys, overlong lines and
 * malformed lines are reported here; values are checked by the caller's handler. Every problem
 * is reported, the parse goes on after each. */

#include <stdbool.h>
#include <stddef.h>

#include "policy/policy.h"

typedef struct IniKey {
        const char *section; /* without brackets: "Lock" */
        const char *key; /* "Limit" */
        bool list; /* may be repeated, values accumulate; an empty value resets */
        bool text; /* free text: '#' inside the value is not taken for a comment */
} IniKey;

/* Where the parser is, for messages: "path:line: Key=value: why". */
typedef struct IniContext {
        const char *path;
        unsigned line;
        const char *key; /* the key being handled */
        const char *value; /* its value as written */
        PolicyDiagnostics *diags;
        int error; /* 0, or the first error: -EINVAL (a problem was reported) or -ENOMEM */
} IniContext;

/* Called for each assignment to a known key, in file order. key_index indexes the table.
 * A handler reports problems with ini_error() and returns 0; a negative return (-ENOMEM)
 * stops the parse. */
typedef int (*IniHandler)(IniContext *ctx, size_t key_index, const char *value, void *userdata);

/* Parses buf (n bytes, need not be NUL-terminated). sections lists the known sections
 * (n_sections). Returns 0 if no problem was found, -EINVAL if problems were reported in diags,
 * -ENOMEM. *ret_lines (if non-NULL) receives, for each key of the table, the line of its last
 * assignment (0 if never set), also when -EINVAL is returned; malloc'd. */
int ini_parse(const char *path, const char *buf, size_t n, const char *const *sections,
              size_t n_sections, const IniKey *keys, size_t n_keys, IniHandler handler,
              void *userdata, PolicyDiagnostics *diags, unsigned **ret_lines);

/* Reports "path:line: Key=value: why" (the value shortened if long). Returns 0, or -ENOMEM. */
int ini_error(IniContext *ctx, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* Parses a size that may also be a percentage of memory (Budget=, Limit=): "16G", "80%",
 * "infinity". Returns 1 with *ret set; 0 when the problem was reported with ini_error() (the
 * handler then returns 0 as well); or -ENOMEM. mem_total resolves percentages (0: unknown);
 * example_size and example_percent go into the message for an empty value. */
int ini_parse_memory_size(IniContext *ctx, const char *value, uint64_t mem_total,
                          const char *example_size, const char *example_percent, uint64_t *ret);

/* Splits a value at spaces and tabs into a NULL-terminated list (empty for an empty value).
 * Returns 0 or -ENOMEM. */
int ini_split(const char *value, char ***ret, size_t *ret_n);

/* Shortens s for a message: at most max bytes, "..." appended when cut. malloc'd. */
char *ini_ellipsize(const char *s, size_t max);
