/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mlockd.conf: parsing and validating the daemon's settings. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "build-config.h"
#include "common/macro.h"
#include "common/parse-util.h"
#include "common/proc.h"
#include "policy/config.h"
#include "policy/ini.h"
#include "policy/trusted-file.h"

enum {
        CKEY_BUDGET,
        CKEY_MAX_WORKLOADS_PER_USER,
        CKEY_MAX_LOCKED_PER_USER,
        CKEY_SOCKET,
        CKEY_SYSTEM_BUS,
        CKEY_STATE_DIRECTORY,
        CKEY_URI,
        _CKEY_MAX,
};

static const char *const config_sections[] = { "Daemon", "Libvirt" };

static const IniKey config_keys[_CKEY_MAX] = {
        [CKEY_BUDGET] = { "Daemon", "Budget" },
        [CKEY_MAX_WORKLOADS_PER_USER] = { "Daemon", "MaxWorkloadsPerUser" },
        [CKEY_MAX_LOCKED_PER_USER] = { "Daemon", "MaxLockedPerUser" },
        [CKEY_SOCKET] = { "Daemon", "Socket" },
        [CKEY_SYSTEM_BUS] = { "Daemon", "SystemBus" },
        [CKEY_STATE_DIRECTORY] = { "Daemon", "StateDirectory" },
        [CKEY_URI] = { "Libvirt", "URI" },
};

typedef struct ConfigState {
        DaemonConfig *c;
        uint64_t mem_total;
} ConfigState;

static uint64_t resolve_mem_total(uint64_t mem_total) {
        MemInfo mi;

        if (mem_total > 0)
                return mem_total;
        if (meminfo_read(&mi) >= 0 && mi.mem_total != PROC_UNSET)
                return mi.mem_total;
        return 0;
}

void daemon_config_done(DaemonConfig *c) {
        if (!c)
                return;
        free(c->budget_spec);
        free(c->max_locked_per_user_spec);
        free(c->socket_path);
        free(c->state_directory);
        free(c->libvirt_uri);
        *c = (DaemonConfig){};
}

/* MaxLockedPerUser= against the budget: a percentage is of Budget= (which may be written after
 * it), so it is resolved once the whole file is read. */
static int resolve_share(DaemonConfig *c) {
        const char *spec = c->max_locked_per_user_spec ?: DAEMON_CONFIG_MAX_LOCKED_PER_USER_DEFAULT;
        uint64_t v;
        int r;

        if (c->budget == SIZE_INFINITY && spec[strlen(spec) - 1] == '%') {
                c->max_locked_per_user = SIZE_INFINITY;
                return 0;
        }
        r = parse_size(spec, c->budget, &v, NULL);
        if (r < 0)
                return r;
        c->max_locked_per_user = v;
        return 0;
}

int daemon_config_init(DaemonConfig *c, uint64_t mem_total) {
        uint64_t budget = SIZE_INFINITY;

        mem_total = resolve_mem_total(mem_total);
        if (mem_total > 0 && parse_size(DAEMON_CONFIG_BUDGET_DEFAULT, mem_total, &budget, NULL) < 0)
                budget = SIZE_INFINITY;

        *c = (DaemonConfig){
                .budget = budget,
                .budget_spec = strdup(mem_total > 0 ? DAEMON_CONFIG_BUDGET_DEFAULT : "infinity"),
                .max_workloads_per_user = DAEMON_CONFIG_MAX_WORKLOADS_PER_USER_DEFAULT,
                .max_locked_per_user_spec = strdup(DAEMON_CONFIG_MAX_LOCKED_PER_USER_DEFAULT),
                .socket_path = strdup(MLOCKD_SOCKET_PATH),
                .system_bus = false,
                .state_directory = strdup(MLOCKD_STATE_DIR),
                .libvirt_uri = NULL,
        };
        if (!c->budget_spec || !c->socket_path || !c->state_directory ||
            !c->max_locked_per_user_spec)
                return -ENOMEM;
        return resolve_share(c);
}

static int config_copy(const DaemonConfig *src, DaemonConfig *dst) {
        *dst = *src;
        dst->budget_spec = src->budget_spec ? strdup(src->budget_spec) : NULL;
        dst->max_locked_per_user_spec =
                src->max_locked_per_user_spec ? strdup(src->max_locked_per_user_spec) : NULL;
        if (src->max_locked_per_user_spec && !dst->max_locked_per_user_spec)
                return -ENOMEM;
        dst->socket_path = src->socket_path ? strdup(src->socket_path) : NULL;
        dst->state_directory = src->state_directory ? strdup(src->state_directory) : NULL;
        dst->libvirt_uri = src->libvirt_uri ? strdup(src->libvirt_uri) : NULL;
        if ((src->budget_spec && !dst->budget_spec) || (src->socket_path && !dst->socket_path) ||
            (src->state_directory && !dst->state_directory) ||
            (src->libvirt_uri && !dst->libvirt_uri))
                return -ENOMEM;
        return 0;
}

static int set_string(char **s, const char *v) {
        char *n = strdup(v);
        if (!n)
                return -ENOMEM;
        free(*s);
        *s = n;
        return 0;
}

/* An absolute, normalized path: no "." or ".." components, no "//". */
static bool path_is_normal_absolute(const char *p) {
        if (p[0] != '/')
                return false;
        if (strstr(p, "//") || strstr(p, "/./") || strstr(p, "/../"))
                return false;
        size_t l = strlen(p);
        if ((l >= 2 && streq(p + l - 2, "/.")) || (l >= 3 && streq(p + l - 3, "/..")))
                return false;
        return true;
}

static bool uri_is_valid(const char *u) {
        /* scheme ":" rest, scheme = letter *( letter / digit / "+" / "-" / "." ) */
        const char *c = strchr(u, ':');
        if (!c || c == u || !((u[0] >= 'a' && u[0] <= 'z') || (u[0] >= 'A' && u[0] <= 'Z')))
                return false;
        for (const char *p = u; p < c; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || strchr("+-.", *p)))
                        return false;
        for (const char *p = u; *p; p++)
                if ((unsigned char) *p <= ' ' || *p == 0x7f)
                        return false;
        return true;
}

static int config_handle(IniContext *ctx, size_t key, const char *value, void *userdata) {
        ConfigState *st = userdata;
        DaemonConfig *c = st->c;
        int r;

        switch (key) {
        case CKEY_BUDGET: {
                uint64_t v;
                r = ini_parse_memory_size(ctx, value, st->mem_total, "16G", "80%", &v);
                if (r <= 0)
                        return r;
                if (v == 0)
                        return ini_error(ctx, "a budget of 0 bytes admits no workload");
                c->budget = v;
                return set_string(&c->budget_spec, value);
        }
        case CKEY_MAX_WORKLOADS_PER_USER: {
                uint32_t v;
                r = parse_uint32(value, &v);
                if (r < 0 || v == 0 || v > DAEMON_CONFIG_MAX_WORKLOADS_PER_USER_MAX)
                        return ini_error(ctx, "expected a number from 1 to %u",
                                         DAEMON_CONFIG_MAX_WORKLOADS_PER_USER_MAX);
                c->max_workloads_per_user = v;
                return 0;
        }
        case CKEY_MAX_LOCKED_PER_USER: {
                const char *reason = NULL;
                uint64_t v;
                /* Checked here for the message; resolved against Budget= at the end. */
                r = parse_size(value, 100, &v, &reason);
                if (r < 0)
                        return ini_error(ctx,
                                         "%s; expected a size (4G), a percentage of Budget= "
                                         "(50%%) or infinity",
                                         reason ?: "invalid size");
                if (v == 0)
                        return ini_error(ctx, "a share of 0 bytes admits no workload of any "
                                              "user but root");
                return set_string(&c->max_locked_per_user_spec, value);
        }
        case CKEY_SOCKET:
                if (!path_is_normal_absolute(value))
                        return ini_error(ctx, "expected an absolute, normalized path");
                if (strlen(value) >= sizeof(((struct sockaddr_un *) NULL)->sun_path))
                        return ini_error(ctx, "path too long for a unix socket (at most %zu bytes)",
                                         sizeof(((struct sockaddr_un *) NULL)->sun_path) - 1);
                return set_string(&c->socket_path, value);
        case CKEY_SYSTEM_BUS:
                r = parse_boolean(value);
                if (r < 0)
                        return ini_error(ctx, "expected yes or no");
                c->system_bus = r;
                return 0;
        case CKEY_STATE_DIRECTORY:
                if (!path_is_normal_absolute(value))
                        return ini_error(ctx, "expected an absolute, normalized path");
                return set_string(&c->state_directory, value);
        case CKEY_URI:
                if (!*value) {
                        /* Empty: libvirt event mode off. */
                        free(c->libvirt_uri);
                        c->libvirt_uri = NULL;
                        return 0;
                }
                if (!uri_is_valid(value))
                        return ini_error(ctx, "not a libvirt URI; expected e.g. qemu:///system");
                return set_string(&c->libvirt_uri, value);
        }
        return 0;
}

int daemon_config_parse(const char *path, const char *buf, size_t n, uint64_t mem_total,
                        DaemonConfig *c, PolicyDiagnostics *diags) {
        _cleanup_(daemon_config_done) DaemonConfig tmp = {};
        int r;

        if (n > DAEMON_CONFIG_FILE_SIZE_MAX) {
                r = policy_diagnostics_add(diags, "%s: file too large (%zu bytes, at most %u)",
                                           path, n, DAEMON_CONFIG_FILE_SIZE_MAX);
                return r < 0 ? r : -EINVAL;
        }
        r = config_copy(c, &tmp);
        if (r < 0)
                return r;

        ConfigState st = { .c = &tmp, .mem_total = resolve_mem_total(mem_total) };
        r = ini_parse(path, buf, n, config_sections, ELEMENTSOF(config_sections), config_keys,
                      _CKEY_MAX, config_handle, &st, diags, NULL);
        if (r < 0)
                return r;
        r = resolve_share(&tmp);
        if (r < 0) {
                int k = policy_diagnostics_add(diags, "%s: MaxLockedPerUser=%s: cannot resolve",
                                               path, strna(tmp.max_locked_per_user_spec));
                return k < 0 ? k : -EINVAL;
        }

        daemon_config_done(c);
        *c = tmp;
        tmp = (DaemonConfig){};
        return 0;
}

int daemon_config_load(const char *path, bool missing_ok, uint64_t mem_total, DaemonConfig *c,
                       PolicyDiagnostics *diags) {
        _cleanup_free_ char *data = NULL;
        size_t size;
        int r;

        r = trusted_read(AT_FDCWD, path, path, "a configuration file", DAEMON_CONFIG_FILE_SIZE_MAX,
                         &data, &size, diags);
        if (r == -ENOENT) {
                if (missing_ok)
                        return 0;
                r = policy_diagnostics_add(diags, "%s: %s", path, strerror(ENOENT));
                return r < 0 ? r : -EINVAL;
        }
        if (r < 0)
                return r;
        if (!data)
                return 0; /* /dev/null: defaults */
        return daemon_config_parse(path, data, size, mem_total, c, diags);
}

char *daemon_config_summary(const DaemonConfig *c) {
        char *s;

        if (asprintf(&s,
                     "Budget=%s (%s) MaxWorkloadsPerUser=%u MaxLockedPerUser=%s (%s) Socket=%s "
                     "SystemBus=%s StateDirectory=%s URI=%s",
                     FORMAT_BYTES(c->budget), strna(c->budget_spec), c->max_workloads_per_user,
                     FORMAT_BYTES(c->max_locked_per_user), strna(c->max_locked_per_user_spec),
                     strna(c->socket_path), c->system_bus ? "yes" : "no", strna(c->state_directory),
                     c->libvirt_uri ?: "(none)") < 0)
                return NULL;
        return s;
}
