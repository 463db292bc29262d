/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parsing and validating one policy file (mlockd.policy(5)) from memory. */
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "common/parse-util.h"
#include "policy/ini.h"
#include "policy/policy-internal.h"

enum {
        KEY_DESCRIPTION,
        KEY_EXECUTABLE,
        KEY_USER,
        KEY_GROUP,
        KEY_LIBVIRT_DOMAIN,
        KEY_UNIT,
        KEY_MODE,
        KEY_LIMIT,
        KEY_PREFAULT_THREADS,
        KEY_THP,
        KEY_INHERIT,
        KEY_ON_FAILURE,
        KEY_ON_EXCEED,
        KEY_CONTAINMENT,
        KEY_ALLOW_USERS,
        KEY_ALLOW_RUN,
        KEY_ALLOW_ATTACH,
        _KEY_MAX,
};

static const char *const policy_sections[] = { "Policy", "Match", "Lock", "Access" };

static const IniKey policy_keys[_KEY_MAX] = {
        [KEY_DESCRIPTION] = { "Policy", "Description", .text = true },
        [KEY_EXECUTABLE] = { "Match", "Executable", .list = true },
        [KEY_USER] = { "Match", "User", .list = true },
        [KEY_GROUP] = { "Match", "Group", .list = true },
        [KEY_LIBVIRT_DOMAIN] = { "Match", "LibvirtDomain", .list = true },
        [KEY_UNIT] = { "Match", "Unit", .list = true },
        [KEY_MODE] = { "Lock", "Mode" },
        [KEY_LIMIT] = { "Lock", "Limit" },
        [KEY_PREFAULT_THREADS] = { "Lock", "PrefaultThreads" },
        [KEY_THP] = { "Lock", "TransparentHugepages" },
        [KEY_INHERIT] = { "Lock", "Inherit" },
        [KEY_ON_FAILURE] = { "Lock", "OnFailure" },
        [KEY_ON_EXCEED] = { "Lock", "OnExceed" },
        [KEY_CONTAINMENT] = { "Lock", "Containment" },
        [KEY_ALLOW_USERS] = { "Access", "AllowUsers", .list = true },
        [KEY_ALLOW_RUN] = { "Access", "AllowRun" },
        [KEY_ALLOW_ATTACH] = { "Access", "AllowAttach" },
};

typedef struct ParseState {
        Policy *policy;
        uint64_t mem_total;
        bool limit_valid;
} ParseState;

static void glob_list_clear(GlobList *l) {
        l->globs = strv_free(l->globs);
        l->n = 0;
}

static void id_list_clear(IdList *l) {
        free(l->ids);
        l->ids = NULL;
        l->names = strv_free(l->names);
        l->n = 0;
}

static int glob_list_add(GlobList *l, const char *s) {
        char **g = reallocarray(l->globs, l->n + 2, sizeof(char *));
        if (!g)
                return -ENOMEM;
        l->globs = g;
        g[l->n] = strdup(s);
        if (!g[l->n])
                return -ENOMEM;
        g[++l->n] = NULL;
        return 0;
}

static int id_list_add(IdList *l, uint32_t id, const char *name) {
        uint32_t *ids = reallocarray(l->ids, l->n + 1, sizeof(uint32_t));
        if (!ids)
                return -ENOMEM;
        l->ids = ids;
        char **names = reallocarray(l->names, l->n + 2, sizeof(char *));
        if (!names)
                return -ENOMEM;
        l->names = names;
        names[l->n] = strdup(name);
        if (!names[l->n]) {
                names[l->n] = NULL;
                return -ENOMEM;
        }
        ids[l->n] = id;
        names[++l->n] = NULL;
        return 0;
}

bool id_list_contains(const IdList *l, uint32_t id) {
        for (size_t i = 0; i < l->n; i++)
                if (l->ids[i] == id)
                        return true;
        return false;
}

/* Resolves a user name or a numeric uid. -ESRCH if there is no such user. */
static int resolve_user(const char *name, uint32_t *ret) {
        uint32_t id;

        if (parse_uint32(name, &id) >= 0) {
                if (id == (uint32_t) POLICY_UID_INVALID)
                        return -ERANGE;
                *ret = id;
                return 0;
        }
        errno = 0;
        struct passwd *pw = getpwnam(name);
        if (!pw)
                return errno == ENOMEM ? -ENOMEM : -ESRCH;
        *ret = (uint32_t) pw->pw_uid;
        return 0;
}

static int resolve_group(const char *name, uint32_t *ret) {
        uint32_t id;

        if (parse_uint32(name, &id) >= 0) {
                if (id == (uint32_t) POLICY_GID_INVALID)
                        return -ERANGE;
                *ret = id;
                return 0;
        }
        errno = 0;
        struct group *gr = getgrnam(name);
        if (!gr)
                return errno == ENOMEM ? -ENOMEM : -ESRCH;
        *ret = (uint32_t) gr->gr_gid;
        return 0;
}

static int add_id(IniContext *ctx, IdList *l, const char *name, bool group) {
        uint32_t id;
        int r;

        if (l->n >= POLICY_VALUES_MAX)
                return ini_error(ctx, "too many values (at most %u)", POLICY_VALUES_MAX);
        r = group ? resolve_group(name, &id) : resolve_user(name, &id);
        if (r == -ENOMEM)
                return r;
        if (r == -ERANGE)
                return ini_error(ctx, "'%s' is not a valid %s id", name, group ? "group" : "user");
        if (r < 0)
                return ini_error(ctx, "no such %s '%s'", group ? "group" : "user", name);
        if (id_list_contains(l, id))
                return 0;
        return id_list_add(l, id, name);
}

static int add_glob(IniContext *ctx, GlobList *l, const char *glob, size_t key) {
        if (l->n >= POLICY_VALUES_MAX)
                return ini_error(ctx, "too many values (at most %u)", POLICY_VALUES_MAX);
        if (key == KEY_EXECUTABLE && glob[0] != '/')
                return ini_error(ctx,
                                 "'%s' is not an absolute path; write a path or a glob starting "
                                 "with '/', or leave Executable= out to match any program",
                                 glob);
        if (key == KEY_UNIT && strchr(glob, '/'))
                return ini_error(ctx,
                                 "'%s' is a path; write a unit name such as "
                                 "'machine-qemu*.scope' or 'myapp.service'",
                                 glob);
        return glob_list_add(l, glob);
}

static int parse_list(IniContext *ctx, ParseState *st, size_t key, const char *value) {
        _cleanup_strv_free_ char **words = NULL;
        Policy *p = st->policy;
        int r;

        r = ini_split(value, &words, NULL);
        if (r < 0)
                return r;

        if (!words[0]) {
                /* An empty assignment resets the list, as in systemd units. */
                switch (key) {
                case KEY_EXECUTABLE:
                        glob_list_clear(&p->executables);
                        break;
                case KEY_LIBVIRT_DOMAIN:
                        glob_list_clear(&p->libvirt_domains);
                        break;
                case KEY_UNIT:
                        glob_list_clear(&p->units);
                        break;
                case KEY_USER:
                        id_list_clear(&p->users);
                        break;
                case KEY_GROUP:
                        id_list_clear(&p->groups);
                        break;
                case KEY_ALLOW_USERS:
                        id_list_clear(&p->allow_uids);
                        id_list_clear(&p->allow_gids);
                        break;
                }
                return 0;
        }

        for (char **w = words; *w; w++) {
                switch (key) {
                case KEY_EXECUTABLE:
                        r = add_glob(ctx, &p->executables, *w, key);
                        break;
                case KEY_LIBVIRT_DOMAIN:
                        r = add_glob(ctx, &p->libvirt_domains, *w, key);
                        break;
                case KEY_UNIT:
                        r = add_glob(ctx, &p->units, *w, key);
                        break;
                case KEY_USER:
                        r = add_id(ctx, &p->users, *w, false);
                        break;
                case KEY_GROUP:
                        r = add_id(ctx, &p->groups, *w, true);
                        break;
                case KEY_ALLOW_USERS:
                        if ((*w)[0] == '@') {
                                if (!(*w)[1])
                                        r = ini_error(ctx, "'@' must be followed by a group name");
                                else
                                        r = add_id(ctx, &p->allow_gids, *w + 1, true);
                        } else
                                r = add_id(ctx, &p->allow_uids, *w, false);
                        break;
                default:
                        r = 0;
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_bool_key(IniContext *ctx, const char *value, bool *ret) {
        int b = parse_boolean(value);
        if (b < 0)
                return ini_error(ctx, "expected yes or no");
        *ret = b;
        return 0;
}

static int policy_handle(IniContext *ctx, size_t key, const char *value, void *userdata) {
        ParseState *st = userdata;
        Policy *p = st->policy;
        LockSettings *l = &p->lock;
        int r;

        switch (key) {
        case KEY_DESCRIPTION:
                free(p->description);
                p->description = strdup(value);
                return p->description ? 0 : -ENOMEM;

        case KEY_EXECUTABLE:
        case KEY_USER:
        case KEY_GROUP:
        case KEY_LIBVIRT_DOMAIN:
        case KEY_UNIT:
        case KEY_ALLOW_USERS:
                return parse_list(ctx, st, key, value);

        case KEY_MODE: {
                LockMode m = lock_mode_from_string(value);
                if (m < 0)
                        return ini_error(ctx, "unknown mode; expected on, on-fault or current");
                l->mode = m;
                return 0;
        }

        case KEY_LIMIT: {
                uint64_t v;
                r = ini_parse_memory_size(ctx, value, st->mem_total, "4G", "25%", &v);
                if (r <= 0)
                        return r;
                if (v == 0)
                        return ini_error(ctx, "a limit of 0 bytes locks nothing; to forbid "
                                              "locking, write AllowRun=no and AllowAttach=no");
                l->limit = v;
                free(p->limit_spec);
                p->limit_spec = strdup(value);
                if (!p->limit_spec)
                        return -ENOMEM;
                st->limit_valid = true;
                return 0;
        }

        case KEY_PREFAULT_THREADS: {
                uint32_t v;
                if (streq(value, "auto")) {
                        l->prefault_threads = -1;
                        return 0;
                }
                r = parse_uint32(value, &v);
                if (r < 0 || v > POLICY_PREFAULT_THREADS_MAX)
                        return ini_error(ctx,
                                         "expected auto, 0 (no prefault) or a number of "
                                         "threads up to %d",
                                         POLICY_PREFAULT_THREADS_MAX);
                l->prefault_threads = (int) v;
                return 0;
        }

        case KEY_THP:
                return parse_bool_key(ctx, value, &l->transparent_hugepages);
        case KEY_INHERIT:
                return parse_bool_key(ctx, value, &l->inherit);
        case KEY_ALLOW_RUN:
                return parse_bool_key(ctx, value, &p->allow_run);
        case KEY_ALLOW_ATTACH:
                return parse_bool_key(ctx, value, &p->allow_attach);

        case KEY_ON_FAILURE: {
                OnFailure f = on_failure_from_string(value);
                if (f < 0)
                        return ini_error(ctx, "expected abort or continue");
                l->on_failure = f;
                return 0;
        }

        case KEY_ON_EXCEED: {
                OnExceed e = on_exceed_from_string(value);
                if (e < 0)
                        return ini_error(ctx, "expected warn or kill");
                l->on_exceed = e;
                return 0;
        }

        case KEY_CONTAINMENT: {
                ContainmentPolicy c = containment_policy_from_string(value);
                if (c < 0)
                        return ini_error(ctx, "expected required or optional");
                l->containment = c;
                return 0;
        }
        }
        return 0;
}

/* Settings that parse on their own but make no sense together. */
static int policy_check_conflicts(Policy *p, const ParseState *st, const unsigned *lines,
                                  PolicyDiagnostics *diags, int *error) {
        IniContext ctx = { .path = p->path, .diags = diags };
        char buf[32];
        int r;

        if (!p->allow_run && !p->allow_attach) {
                /* A deny rule: it stops the search for a matching policy. */
                if (p->allow_uids.n + p->allow_gids.n > 0) {
                        ctx.line = lines[KEY_ALLOW_USERS];
                        ctx.key = "AllowUsers";
                        ctx.value = p->allow_users_text;
                        r = ini_error(&ctx, "has no effect: AllowRun=no and AllowAttach=no "
                                            "admit nobody");
                        if (r < 0)
                                return r;
                }
        } else if (lines[KEY_LIMIT] == 0) {
                ctx.line = 0;
                r = ini_error(&ctx, "[Lock] Limit= is missing: say how much this policy may "
                                    "lock, e.g. Limit=4G, Limit=25%% or Limit=infinity");
                if (r < 0)
                        return r;
        }

        if (p->lock.mode == LOCK_MODE_ON_FAULT && lines[KEY_PREFAULT_THREADS] > 0 &&
            p->lock.prefault_threads > 0) {
                snprintf(buf, sizeof(buf), "%d", p->lock.prefault_threads);
                ctx.line = lines[KEY_PREFAULT_THREADS];
                ctx.key = "PrefaultThreads";
                ctx.value = buf;
                r = ini_error(&ctx, "has no effect with Mode=on-fault, where pages are locked as "
                                    "they are touched; remove it or use Mode=on");
                if (r < 0)
                        return r;
        }

        if (p->lock.on_exceed == ON_EXCEED_KILL && st->limit_valid &&
            p->lock.limit == SIZE_INFINITY) {
                ctx.line = lines[KEY_ON_EXCEED];
                ctx.key = "OnExceed";
                ctx.value = "kill";
                r = ini_error(&ctx, "can never happen with Limit=infinity; set a finite Limit= "
                                    "or remove OnExceed=");
                if (r < 0)
                        return r;
        }

        if (ctx.error < 0)
                *error = ctx.error;
        return 0;
}

static int build_allow_users_text(Policy *p) {
        size_t len = 1;

        for (size_t i = 0; i < p->allow_uids.n; i++)
                len += strlen(p->allow_uids.names[i]) + 1;
        for (size_t i = 0; i < p->allow_gids.n; i++)
                len += strlen(p->allow_gids.names[i]) + 2;

        char *s = malloc(len), *q = s;
        if (!s)
                return -ENOMEM;
        *q = '\0';
        for (size_t i = 0; i < p->allow_uids.n; i++)
                q += sprintf(q, "%s%s", q == s ? "" : " ", p->allow_uids.names[i]);
        for (size_t i = 0; i < p->allow_gids.n; i++)
                q += sprintf(q, "%s@%s", q == s ? "" : " ", p->allow_gids.names[i]);
        free(p->allow_users_text);
        p->allow_users_text = s;
        return 0;
}

Policy *policy_free(Policy *p) {
        if (!p)
                return NULL;
        free(p->name);
        free(p->path);
        free(p->description);
        glob_list_clear(&p->executables);
        id_list_clear(&p->users);
        id_list_clear(&p->groups);
        glob_list_clear(&p->libvirt_domains);
        glob_list_clear(&p->units);
        free(p->limit_spec);
        id_list_clear(&p->allow_uids);
        id_list_clear(&p->allow_gids);
        free(p->allow_users_text);
        free(p);
        return NULL;
}

bool policy_name_is_valid(const char *name) {
        size_t l = strlen(name);

        if (l == 0 || l > POLICY_NAME_MAX || name[0] == '.')
                return false;
        for (const char *c = name; *c; c++)
                if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
                      (*c >= '0' && *c <= '9') || strchr("-_.@", *c)))
                        return false;
        return true;
}

int policy_parse(const char *name, const char *path, const char *buf, size_t n, uint64_t mem_total,
                 Policy **ret, PolicyDiagnostics *diags) {
        _cleanup_(policy_freep) Policy *p = NULL;
        _cleanup_free_ unsigned *lines = NULL;
        int r, error;

        if (!path)
                path = name;
        if (!name || !policy_name_is_valid(name)) {
                r = policy_diagnostics_add(diags,
                                           "%s: invalid policy name '%s': use up to %u letters, "
                                           "digits and '-', '_', '.', '@' (not starting with '.')",
                                           path, strempty(name), POLICY_NAME_MAX);
                return r < 0 ? r : -EINVAL;
        }
        if (n > POLICY_FILE_SIZE_MAX) {
                r = policy_diagnostics_add(diags, "%s: file too large (%zu bytes, at most %u)",
                                           path, n, POLICY_FILE_SIZE_MAX);
                return r < 0 ? r : -EINVAL;
        }

        p = calloc(1, sizeof(Policy));
        if (!p)
                return -ENOMEM;
        p->name = strdup(name);
        p->path = strdup(path);
        if (!p->name || !p->path)
                return -ENOMEM;
        p->lock = (LockSettings){
                .mode = POLICY_DEFAULT_MODE,
                .limit = 0,
                .prefault_threads = POLICY_DEFAULT_PREFAULT_THREADS,
                .transparent_hugepages = POLICY_DEFAULT_THP,
                .inherit = POLICY_DEFAULT_INHERIT,
                .on_failure = POLICY_DEFAULT_ON_FAILURE,
                .on_exceed = POLICY_DEFAULT_ON_EXCEED,
                .containment = POLICY_DEFAULT_CONTAINMENT,
        };
        p->allow_run = POLICY_DEFAULT_ALLOW_RUN;
        p->allow_attach = POLICY_DEFAULT_ALLOW_ATTACH;

        ParseState st = { .policy = p, .mem_total = mem_total };
        error = ini_parse(path, buf, n, policy_sections, ELEMENTSOF(policy_sections), policy_keys,
                          _KEY_MAX, policy_handle, &st, diags, &lines);
        if (error == -ENOMEM || !lines)
                return -ENOMEM;

        r = build_allow_users_text(p);
        if (r < 0)
                return r;
        r = policy_check_conflicts(p, &st, lines, diags, &error);
        if (r < 0)
                return r;
        if (error < 0)
                return error;

        *ret = TAKE_PTR(p);
        return 0;
}
