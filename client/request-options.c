/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "client/request-options.h"
#include "common/lock-mode.h"
#include "common/macro.h"
#include "common/parse-util.h"

int request_option(int c, const char *optarg_, const char *verb, RequestOptions *o) {
        const char *reason = NULL;
        uint32_t n;
        int r;

        switch (c) {
        case ARG_REQ_POLICY:
                if (optarg_[0] == '\0')
                        return -usage_error(verb, "--policy needs a name.");
                o->policy = optarg_;
                return 1;
        case ARG_REQ_MODE:
                if (lock_mode_from_string(optarg_) < 0)
                        return -usage_error(
                                verb, "Unknown --mode '%s': use on, on-fault or current.", optarg_);
                o->mode = optarg_;
                return 1;
        case ARG_REQ_LIMIT:
                r = parse_size(optarg_, 0, &o->limit, &reason);
                if (r < 0)
                        return -usage_error(verb, "Invalid --limit '%s': %s.", optarg_,
                                            strna(reason));
                if (o->limit == 0)
                        return -usage_error(verb, "--limit must be more than 0.");
                return 1;
        case ARG_REQ_PREFAULT_THREADS:
                if (streq(optarg_, "auto"))
                        o->prefault_threads = -1;
                else if (parse_uint32(optarg_, &n) >= 0 && n <= 1024)
                        o->prefault_threads = (int) n;
                else
                        return -usage_error(verb,
                                            "Invalid --prefault-threads '%s': use auto or 0..1024.",
                                            optarg_);
                return 1;
        case ARG_REQ_NAME:
                if (optarg_[0] == '\0')
                        return -usage_error(verb, "--name must not be empty.");
                o->name = optarg_;
                return 1;
        default:
                return 0;
        }
}
