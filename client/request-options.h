/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The request options shared by run, exec and attach: --policy, --mode, --limit,
 * --prefault-threads, --name, parsed into RequestOptions (bus-client.h). */

#include <getopt.h>

#include "client/bus-client.h"
#include "client/memlockctl.h"

enum {
        ARG_REQ_POLICY = _ARG_VERB_FIRST + 0x40,
        ARG_REQ_MODE,
        ARG_REQ_LIMIT,
        ARG_REQ_PREFAULT_THREADS,
        ARG_REQ_NAME,
};
#define REQUEST_OPTIONS_POLICY_MODE_LIMIT                                                          \
        { "policy", required_argument, NULL, ARG_REQ_POLICY },                                     \
                { "mode", required_argument, NULL, ARG_REQ_MODE }, {                               \
                "limit", required_argument, NULL, ARG_REQ_LIMIT                                    \
        }
#define REQUEST_OPTIONS_NAME_THREADS                                                               \
        { "prefault-threads", required_argument, NULL, ARG_REQ_PREFAULT_THREADS }, {               \
                "name", required_argument, NULL, ARG_REQ_NAME                                      \
        }

/* Returns 1 if c was a request option and was stored, 0 if not one, or -CTL_EXIT_USAGE after
 * printing why the value is invalid. */
int request_option(int c, const char *optarg, const char *verb, RequestOptions *o);
