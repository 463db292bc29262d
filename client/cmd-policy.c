/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* memlockctl explain PID, reload, policy check|list|explain: the policy side of the client.
 * `policy check`, `policy explain` and `policy list --offline` load policy files themselves
 * with the policy library and need no daemon. */
#include <grp.h>
#include <pwd.h>

#include "client/bus-client.h"
#include "client/format.h"
#include "client/json-output.h"
#include "client/memlockctl.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/parse-util.h"
#include "policy/policy.h"

/* The explanation as JSON: {verdict, policy, message, skipped[], settings{}}; humans get it
 * printed by print_explanation(). One shape for the daemon's answer and the offline one. */
static json_object *explanation_new(const char *verdict, const char *policy, const char *message) {
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        json_object_object_add(o, "verdict", json_object_new_string(strempty(verdict)));
        json_object_object_add(o, "policy",
                               policy && policy[0] ? json_object_new_string(policy) : NULL);
        json_object_object_add(o, "message", json_object_new_string(strempty(message)));
        json_object_object_add(o, "skipped", json_object_new_array());
        json_object_object_add(o, "settings", json_object_new_object());
        return o;
}

static void print_explanation(json_object *o) {
        json_object *v, *skipped, *settings;
        const char *verdict, *policy;
        bool allow, color = use_colors();

        verdict = json_object_object_get_ex(o, "verdict", &v) ? json_object_get_string(v) : "";
        policy = json_object_object_get_ex(o, "policy", &v) && v ? json_object_get_string(v) : NULL;
        allow = streq(strempty(verdict), "allow");
        printf("%12s: %s%s%s\n", "Verdict", color ? (allow ? ANSI_GREEN : ANSI_RED) : "",
               strempty(verdict), color ? ANSI_NORMAL : "");
        printf("%12s: %s\n", "Policy", policy ?: "(none)");
        if (json_object_object_get_ex(o, "message", &v))
                printf("%12s: %s\n", "Reason", json_object_get_string(v));
        if (json_object_object_get_ex(o, "settings", &settings) &&
            json_object_object_length(settings) > 0) {
                bool first = true;
                json_object_object_foreach(settings, key, val) {
                        const char *shown = val ? json_object_get_string(val) : "infinity";
                        char size[FORMAT_BYTES_MAX];

                        /* Humans get sizes in units and "auto" for -1 threads; JSON keeps numbers. */
                        if (val && streq(key, "limit") && json_object_is_type(val, json_type_int))
                                shown = format_bytes(size, sizeof(size),
                                                     json_object_get_uint64(val));
                        else if (val && streq(key, "prefault_threads") &&
                                 json_object_get_int(val) == -1)
                                shown = "auto";
                        printf("%12s  %s=%s\n", first ? "Settings:" : "", key, shown);
                        first = false;
                }
        }
        if (json_object_object_get_ex(o, "skipped", &skipped)) {
                size_t n = json_object_array_length(skipped);
                for (size_t i = 0; i < n; i++)
                        printf("%12s  %s\n", i == 0 ? "Not matched:" : "",
                               json_object_get_string(json_object_array_get_idx(skipped, i)));
        }
}

static int output_explanation(json_object *o) {
        if (arg_json != JSON_OFF)
                return json_print(stdout, o, arg_json == JSON_PRETTY) < 0 ? CTL_EXIT_FAILED
                                                                          : CTL_EXIT_OK;
        pager_open();
        print_explanation(o);
        return CTL_EXIT_OK;
}

static json_object *variant_to_json(sd_bus_message *m, const char *contents) {
        union {
                const char *s;
                int b;
                int32_t i;
                uint32_t u;
                int64_t x;
                uint64_t t;
                double d;
        } v;

        if (!contents[0] || contents[1] || !strchr("sobiuxtd", contents[0]))
                return NULL;
        if (sd_bus_message_read_basic(m, contents[0], &v) < 0)
                return NULL;
        switch (contents[0]) {
        case 's':
        case 'o':
                return json_object_new_string(v.s);
        case 'b':
                return json_object_new_boolean(v.b);
        case 'i':
                return json_object_new_int(v.i);
        case 'u':
                return json_object_new_uint64(v.u);
        case 'x':
                return json_object_new_int64(v.x);
        case 't':
                return json_size(v.t);
        case 'd':
                return json_object_new_double(v.d);
        }
        return NULL;
}

static int help_explain(void) {
        printf("memlockctl explain [OPTIONS] PID\n\n"
               "Ask the daemon which policy would apply to attaching PID, with what settings,\n"
               "and why each earlier policy did not match.\n\n"
               "  -h --help        Show this help\n"
               "     --json[=MODE] JSON: {verdict, policy, message, skipped, settings}\n");
        return CTL_EXIT_OK;
}

int verb_explain(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL;
        const char *verdict, *policy, *message;
        json_object *skipped, *settings;
        uint32_t pid;
        int r;

        if (!parse_global_options_only(argc, argv, help_explain, &r))
                return r;
        if (optind + 1 != argc)
                return usage_error(argv[0], "Expected exactly one PID.");
        if (parse_uint32(argv[optind], &pid) < 0 || pid == 0)
                return usage_error(argv[0], "Invalid pid '%s'.", argv[optind]);

        r = bus_connect_or_log(&bus);
        if (r != CTL_EXIT_OK)
                return r;
        r = sd_bus_call_method(bus, NULL, MLOCKD_MANAGER_PATH, MLOCKD_MANAGER_IFACE, "Explain",
                               &error, &reply, "u", pid);
        if (r < 0)
                return bus_log_error(&error, r, "Failed to explain");
        r = sd_bus_message_read(reply, "sss", &verdict, &policy, &message);
        if (r < 0)
                return bus_log_error(NULL, r, "Failed to parse the daemon's answer");
        o = explanation_new(verdict, policy, message);
        if (!o)
                return log_oom(), CTL_EXIT_FAILED;
        json_object_object_get_ex(o, "skipped", &skipped);
        json_object_object_get_ex(o, "settings", &settings);

        r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "s");
        if (r < 0)
                return bus_log_error(NULL, r, "Failed to parse the daemon's answer");
        for (;;) {
                const char *s;
                r = sd_bus_message_read_basic(reply, 's', &s);
                if (r < 0)
                        return bus_log_error(NULL, r, "Failed to parse the daemon's answer");
                if (r == 0)
                        break;
                json_object_array_add(skipped, json_object_new_string(s));
        }
        r = sd_bus_message_exit_container(reply);
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r < 0)
                return bus_log_error(NULL, r, "Failed to parse the daemon's answer");
        for (;;) {
                const char *key, *contents;
                char type;

                r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_DICT_ENTRY, "sv");
                if (r < 0)
                        return bus_log_error(NULL, r, "Failed to parse the daemon's answer");
                if (r == 0)
                        break;
                r = sd_bus_message_read_basic(reply, 's', &key);
                if (r >= 0)
                        r = sd_bus_message_peek_type(reply, &type, &contents);
                if (r >= 0)
                        r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_VARIANT, contents);
                if (r < 0)
                        return bus_log_error(NULL, r, "Failed to parse the daemon's answer");
                if (strlen(contents) == 1 && strchr("sobiuxtd", contents[0]))
                        json_object_object_add(settings, key, variant_to_json(reply, contents));
                else
                        (void) sd_bus_message_skip(reply, contents);
                r = sd_bus_message_exit_container(reply);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return bus_log_error(NULL, r, "Failed to parse the daemon's answer");
        }
        r = output_explanation(o);
        /* Like `policy explain`: scripts can test the verdict by the exit status. */
        if (r == CTL_EXIT_OK && !streq(verdict, "allow"))
                r = CTL_EXIT_DENIED;
        return r;
}

static int help_reload(void) {
        printf("memlockctl reload\n\n"
               "Ask the daemon to re-read mlockd.conf and its policies. A broken file keeps the\n"
               "previous set in force; every error is printed and the exit status is 1.\n");
        return CTL_EXIT_OK;
}

int verb_reload(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        if (!parse_global_options_only(argc, argv, help_reload, &r))
                return r;
        if (optind < argc)
                return usage_error(argv[0], "Unexpected argument '%s'.", argv[optind]);
        r = bus_connect_or_log(&bus);
        if (r != CTL_EXIT_OK)
                return r;
        r = sd_bus_call_method(bus, NULL, MLOCKD_MANAGER_PATH, MLOCKD_MANAGER_IFACE, "Reload",
                               &error, NULL, NULL);
        if (r < 0)
                return bus_log_error(&error, r,
                                     "Reload failed, the previous policies stay in force");
        if (!arg_quiet)
                printf("Reloaded.\n");
        return CTL_EXIT_OK;
}

/* ---- policy check|list|explain ---- */

enum {
        ARG_OFFLINE = _ARG_VERB_FIRST,
        ARG_POLICY_DIR,
        ARG_EXE,
        ARG_USER,
        ARG_CALLER,
        ARG_KIND,
        ARG_DOMAIN,
        ARG_UNIT,
        ARG_POLICY,
        ARG_MODE,
        ARG_LIMIT,
};

static int help_policy(void) {
        printf("memlockctl policy check [PATH...]\n"
               "memlockctl policy list [--offline] [--policy-dir DIR...]\n"
               "memlockctl policy explain --exe PATH [--user U] [--caller U] [--kind "
               "run|attach|exec]\n"
               "                          [--domain NAME] [--unit UNIT] [--policy P] [--mode M]\n"
               "                          [--limit SIZE] [--policy-dir DIR...]\n\n"
               "check    Validate policy files or directories (default: the installed policy\n"
               "         directories) without a daemon: one summary line per policy and exit 0,\n"
               "         or every error and exit 1.\n"
               "list     The daemon's policies in match order; --offline reads the files.\n"
               "explain  Decide offline which policy applies to an executable run by a user, with\n"
               "         which settings, and why each earlier policy did not match. The caller\n"
               "         defaults to the target user; no budget applies offline.\n\n"
               "  -h --help            Show this help\n"
               "     --policy-dir DIR  Read policies from DIR instead of the installed "
               "directories\n"
               "                       (repeatable; earlier directories mask later ones)\n"
               "     --json[=MODE]     JSON output for list and explain\n");
        return CTL_EXIT_OK;
}

static int add_dir(char ***dirs, size_t *n, const char *d) {
        char **l = reallocarray(*dirs, *n + 2, sizeof(char *));

        if (!l)
                return -ENOMEM;
        *dirs = l;
        l[*n] = strdup(d);
        if (!l[*n])
                return -ENOMEM;
        l[++*n] = NULL;
        return 0;
}

static int load_policies(char *const *dirs, PolicySet **ret) {
        PolicyDiagnostics diags = {};
        int r;

        r = policy_set_load_paths(dirs ?: policy_default_dirs(), 0,
                                  dirs ? 0 : POLICY_LOAD_MISSING_OK, ret, &diags);
        if (r == -EINVAL) {
                policy_diagnostics_print(&diags, stderr);
                fprintf(stderr, "The policies are invalid; 'memlockctl policy check' lists every "
                                "error.\n");
        } else if (r < 0)
                log_error_errno(r, "Failed to load policies: %m");
        policy_diagnostics_clear(&diags);
        return r;
}

static int policy_check_cmd(char **paths) {
        int r;

        r = policy_check(paths && paths[0] ? paths : NULL, 0, stdout);
        if (r == -EINVAL)
                return CTL_EXIT_FAILED;
        if (r < 0) {
                log_error_errno(r, "Failed to check policies: %m");
                return CTL_EXIT_FAILED;
        }
        return CTL_EXIT_OK;
}

static int policy_list_cmd(bool offline, char **dirs) {
        _cleanup_(json_object_putp) json_object *a = json_object_new_array();
        int r;

        if (!a)
                return log_oom(), CTL_EXIT_FAILED;
        if (offline || dirs) {
                _cleanup_(policy_set_freep) PolicySet *s = NULL;

                r = load_policies(dirs, &s);
                if (r < 0)
                        return CTL_EXIT_FAILED;
                for (size_t i = 0; i < policy_set_size(s); i++) {
                        const Policy *p = policy_set_get(s, i);
                        _cleanup_free_ char *summary = policy_summary(p);
                        json_object *o = json_object_new_object();

                        json_object_object_add(o, "name", json_object_new_string(policy_name(p)));
                        json_object_object_add(o, "path", json_object_new_string(policy_path(p)));
                        json_object_object_add(o, "summary",
                                               summary ? json_object_new_string(summary) : NULL);
                        json_object_array_add(a, o);
                }
        } else {
                _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                DaemonInfo d = {};

                r = bus_connect_or_log(&bus);
                if (r != CTL_EXIT_OK)
                        return r;
                r = bus_get_daemon_info(bus, &d, &error);
                if (r < 0)
                        return bus_log_error(&error, r, "Failed to read the daemon's policies");
                for (size_t i = 0; i < d.n_policies; i++) {
                        json_object *o = json_object_new_object();
                        json_object_object_add(o, "name", json_object_new_string(d.policies[i]));
                        json_object_array_add(a, o);
                }
                daemon_info_done(&d);
        }

        if (arg_json != JSON_OFF)
                return json_print(stdout, a, arg_json == JSON_PRETTY) < 0 ? CTL_EXIT_FAILED
                                                                          : CTL_EXIT_OK;
        pager_open();
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                json_object *o = json_object_array_get_idx(a, i), *v;
                if (json_object_object_get_ex(o, "summary", &v) && v)
                        printf("%s\n", json_object_get_string(v));
                else if (json_object_object_get_ex(o, "name", &v))
                        printf("%s\n", json_object_get_string(v));
        }
        return CTL_EXIT_OK;
}

typedef struct ExplainArgs {
        const char *exe, *user, *caller, *domain, *unit, *policy, *mode;
        RequestKind kind;
        uint64_t limit;
} ExplainArgs;

/* Resolves a user name or numeric uid, with its primary group and supplementary groups. */
static int resolve_user(const char *spec, uid_t *ret_uid, gid_t *ret_gid, gid_t **ret_groups,
                        int *ret_n) {
        struct passwd *pw;
        uint32_t uid;
        int n = 64;
        gid_t *groups;

        if (parse_uint32(spec, &uid) >= 0)
                pw = getpwuid(uid);
        else
                pw = getpwnam(spec);
        if (!pw)
                return -ESRCH;
        for (;;) {
                int k = n;
                groups = malloc(sizeof(gid_t) * (size_t) n);
                if (!groups)
                        return -ENOMEM;
                if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &k) >= 0) {
                        n = k;
                        break;
                }
                free(groups);
                if (k <= n || k > 65536)
                        return -E2BIG;
                n = k;
        }
        *ret_uid = pw->pw_uid;
        *ret_gid = pw->pw_gid;
        *ret_groups = groups;
        *ret_n = n;
        return 0;
}

static int policy_explain_cmd(const ExplainArgs *a, char **dirs) {
        _cleanup_(policy_set_freep) PolicySet *s = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_free_ gid_t *tgroups = NULL, *cgroups = NULL;
        json_object *skipped, *settings;
        PolicyDecision dec = {};
        PolicyRequest req;
        const char *user = a->user, *caller;
        char uidbuf[16];
        int n_tgroups = 0, n_cgroups = 0, r;

        if (!a->exe)
                return usage_error("policy explain", "--exe PATH is required.");
        if (!user) {
                snprintf(uidbuf, sizeof(uidbuf), "%u", (unsigned) getuid());
                user = uidbuf;
        }
        caller = a->caller ?: user;

        policy_request_init(&req);
        req.kind = a->kind;
        req.exe = a->exe;
        r = resolve_user(user, &req.target_uid, &req.target_gid, &tgroups, &n_tgroups);
        if (r < 0)
                return usage_error("policy explain", "Unknown user '%s'.", user);
        req.target_groups = tgroups;
        req.n_target_groups = (size_t) n_tgroups;
        r = resolve_user(caller, &req.caller_uid, &req.caller_gid, &cgroups, &n_cgroups);
        if (r < 0)
                return usage_error("policy explain", "Unknown user '%s'.", caller);
        req.caller_groups = cgroups;
        req.n_caller_groups = (size_t) n_cgroups;
        req.libvirt_domain = a->domain;
        req.unit = a->unit;
        req.policy_name = a->policy;
        if (a->mode) {
                req.mode = lock_mode_from_string(a->mode);
                if (req.mode < 0)
                        return usage_error("policy explain", "Unknown mode '%s'.", a->mode);
        }
        req.limit = a->limit;

        r = load_policies(dirs, &s);
        if (r < 0)
                return CTL_EXIT_FAILED;
        r = policy_decide(s, &req, &dec);
        if (r < 0)
                return log_error_errno(r, "Failed to decide: %m"), CTL_EXIT_FAILED;

        o = explanation_new(verdict_to_string(dec.verdict),
                            dec.policy ? policy_name(dec.policy) : NULL, dec.message);
        if (!o) {
                policy_decision_clear(&dec);
                return log_oom(), CTL_EXIT_FAILED;
        }
        json_object_object_get_ex(o, "skipped", &skipped);
        json_object_object_get_ex(o, "settings", &settings);
        for (char **i = dec.skipped; i && *i; i++)
                json_object_array_add(skipped, json_object_new_string(*i));
        if (dec.verdict == VERDICT_ALLOW) {
                const LockSettings *l = &dec.settings;
                json_object_object_add(settings, "mode",
                                       json_object_new_string(strna(lock_mode_to_string(l->mode))));
                json_object_object_add(settings, "limit", json_size(l->limit));
                json_object_object_add(settings, "prefault_threads",
                                       json_object_new_int(l->prefault_threads));
                json_object_object_add(settings, "transparent_hugepages",
                                       json_object_new_boolean(l->transparent_hugepages));
                json_object_object_add(settings, "inherit", json_object_new_boolean(l->inherit));
                json_object_object_add(
                        settings, "on_failure",
                        json_object_new_string(strna(on_failure_to_string(l->on_failure))));
                json_object_object_add(
                        settings, "on_exceed",
                        json_object_new_string(strna(on_exceed_to_string(l->on_exceed))));
        }
        r = output_explanation(o);
        if (r == CTL_EXIT_OK && dec.verdict != VERDICT_ALLOW)
                r = CTL_EXIT_DENIED;
        policy_decision_clear(&dec);
        return r;
}

int verb_policy(int argc, char *argv[]) {
        static const struct option options[] = {
                GLOBAL_OPTIONS,
                { "offline", no_argument, NULL, ARG_OFFLINE },
                { "policy-dir", required_argument, NULL, ARG_POLICY_DIR },
                { "exe", required_argument, NULL, ARG_EXE },
                { "user", required_argument, NULL, ARG_USER },
                { "caller", required_argument, NULL, ARG_CALLER },
                { "kind", required_argument, NULL, ARG_KIND },
                { "domain", required_argument, NULL, ARG_DOMAIN },
                { "unit", required_argument, NULL, ARG_UNIT },
                { "policy", required_argument, NULL, ARG_POLICY },
                { "mode", required_argument, NULL, ARG_MODE },
                { "limit", required_argument, NULL, ARG_LIMIT },
                {},
        };
        static const char *const subverbs[] = { "check", "list", "explain", NULL };
        ExplainArgs ea = { .kind = REQUEST_ATTACH };
        char **dirs = NULL;
        size_t n_dirs = 0;
        bool offline = false;
        const char *sub, *reason;
        int c, r, ret;

        while ((c = getopt_long(argc, argv, GLOBAL_SHORTOPTS, options, NULL)) >= 0) {
                r = global_option(c, optarg);
                if (r < 0) {
                        strv_free(dirs);
                        return -r;
                }
                if (r > 0)
                        continue;
                switch (c) {
                case 'h':
                        strv_free(dirs);
                        return help_policy();
                case ARG_OFFLINE:
                        offline = true;
                        break;
                case ARG_POLICY_DIR:
                        if (add_dir(&dirs, &n_dirs, optarg) < 0) {
                                strv_free(dirs);
                                return log_oom(), CTL_EXIT_FAILED;
                        }
                        break;
                case ARG_EXE:
                        ea.exe = optarg;
                        break;
                case ARG_USER:
                        ea.user = optarg;
                        break;
                case ARG_CALLER:
                        ea.caller = optarg;
                        break;
                case ARG_KIND:
                        ea.kind = request_kind_from_string(optarg);
                        if (ea.kind < 0) {
                                strv_free(dirs);
                                return usage_error("policy", "--kind takes run, attach or exec.");
                        }
                        break;
                case ARG_DOMAIN:
                        ea.domain = optarg;
                        break;
                case ARG_UNIT:
                        ea.unit = optarg;
                        break;
                case ARG_POLICY:
                        ea.policy = optarg;
                        break;
                case ARG_MODE:
                        ea.mode = optarg;
                        break;
                case ARG_LIMIT:
                        r = parse_size(optarg, 0, &ea.limit, &reason);
                        if (r < 0 || ea.limit == 0) {
                                strv_free(dirs);
                                return usage_error("policy", "Invalid --limit '%s': %s.", optarg,
                                                   r < 0 ? strna(reason) : "must not be 0");
                        }
                        break;
                default:
                        strv_free(dirs);
                        return option_error("policy", argv);
                }
        }
        if (optind >= argc) {
                strv_free(dirs);
                return usage_error("policy", "Expected a subcommand: check, list or explain.");
        }
        sub = argv[optind++];
        if (streq(sub, "check")) {
                char **paths = argv + optind;
                /* --policy-dir and positional paths are the same thing for check. */
                for (; dirs && *paths; paths++)
                        if (add_dir(&dirs, &n_dirs, *paths) < 0) {
                                strv_free(dirs);
                                return log_oom(), CTL_EXIT_FAILED;
                        }
                ret = policy_check_cmd(dirs ?: argv + optind);
        } else if (streq(sub, "list")) {
                if (optind < argc)
                        ret = usage_error("policy list", "Unexpected argument '%s'.", argv[optind]);
                else
                        ret = policy_list_cmd(offline, dirs);
        } else if (streq(sub, "explain")) {
                if (optind < argc)
                        ret = usage_error("policy explain", "Unexpected argument '%s'.",
                                          argv[optind]);
                else
                        ret = policy_explain_cmd(&ea, dirs);
        } else {
                const char *closest = find_closest(sub, subverbs);
                if (closest)
                        ret = usage_error("policy", "Unknown subcommand '%s'. Did you mean '%s'?",
                                          sub, closest);
                else
                        ret = usage_error("policy", "Unknown subcommand '%s'.", sub);
        }
        strv_free(dirs);
        return ret;
}
