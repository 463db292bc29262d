/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* memlockctl's shared pieces: exit codes, global settings, the verbs, option helpers. */

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

/* The documented exit codes (memlockctl(1), EXIT STATUS). */
typedef enum CtlExit {
        CTL_EXIT_OK = 0,
        CTL_EXIT_FAILED = 1,
        CTL_EXIT_USAGE = 2,
        CTL_EXIT_DENIED = 3,
        CTL_EXIT_NOT_FOUND = 4,
        CTL_EXIT_UNREACHABLE = 5,
} CtlExit;

typedef enum JsonMode {
        JSON_OFF,
        JSON_SHORT,
        JSON_PRETTY,
} JsonMode;

/* Global command-line settings. */
extern const char *arg_socket;
extern bool arg_no_pager;
extern bool arg_legend;
extern bool arg_full;
extern bool arg_quiet;
extern JsonMode arg_json;

/* Options every verb accepts, so they may come before or after the verb. Each verb's option
 * table starts with GLOBAL_OPTIONS; getopt's result goes through global_option() first. */
enum {
        ARG_SOCKET = 0x100,
        ARG_NO_PAGER,
        ARG_NO_LEGEND,
        ARG_FULL,
        ARG_JSON,
        ARG_VERSION,
        _ARG_VERB_FIRST = 0x200, /* verbs number their own options from here */
};
#define GLOBAL_OPTIONS                                                                             \
        { "help", no_argument, NULL, 'h' }, { "socket", required_argument, NULL, ARG_SOCKET },     \
                { "no-pager", no_argument, NULL, ARG_NO_PAGER },                                   \
                { "no-legend", no_argument, NULL, ARG_NO_LEGEND },                                 \
                { "full", no_argument, NULL, ARG_FULL },                                           \
                { "json", optional_argument, NULL, ARG_JSON },                                     \
                { "quiet", no_argument, NULL, 'q' }, {                                             \
                "version", no_argument, NULL, ARG_VERSION                                          \
        }
#define GLOBAL_SHORTOPTS "hq"
/* Returns 1 if c was a global option and was handled, 0 if it is the verb's, or
 * -CTL_EXIT_USAGE when the verb must exit with CTL_EXIT_USAGE (after printing why). --version
 * prints and exits. */
int global_option(int c, const char *optarg);

/* For a verb that takes only the global options: parses them. Returns 1 to go on (optind is
 * the first argument), or 0 when the verb must return *ret (help was shown, or a usage error
 * was printed). */
int parse_global_options_only(int argc, char *argv[], int (*help)(void), int *ret);

/* After getopt_long returned '?' or ':' in a verb: prints which option was wrong; returns
 * CTL_EXIT_USAGE. */
int option_error(const char *verb, char *argv[]);

/* Prints a verb's usage error ("memlockctl VERB: ...", plus a --help hint); returns
 * CTL_EXIT_USAGE. */
int usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Whether stdout gets colours (decided once, before any pager starts). */
bool use_colors(void);
/* The width tables may take (columns_wanted() in format.h): decided before the pager starts. */
size_t output_columns(void);
/* Starts less (or $MEMLOCKCTL_PAGER / $PAGER) when stdout is a terminal and --no-pager was not
 * given; pager_close() flushes and waits for it. */
void pager_open(void);
void pager_close(void);

/* Verbs: each parses its own options (argv[0] is the verb) and returns a CtlExit code. */
int verb_run(int argc, char *argv[]);
int verb_exec(int argc, char *argv[]);
int verb_attach(int argc, char *argv[]);
int verb_detach(int argc, char *argv[]);
int verb_kill(int argc, char *argv[]);
int verb_status(int argc, char *argv[]);
int verb_list(int argc, char *argv[]);
int verb_metrics(int argc, char *argv[]);
int verb_check(int argc, char *argv[]);
int verb_explain(int argc, char *argv[]);
int verb_reload(int argc, char *argv[]);
int verb_policy(int argc, char *argv[]);
