/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dlfcn.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "build-config.h"
#include "common/log.h"
#include "common/macro.h"
#include "daemon/libvirt-module.h"

#define LIBVIRT_MODULE_NAME "mlockd-libvirt.so"

static void *open_candidate(const char *path) {
        if (access(path, R_OK) < 0)
                return NULL;
        void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!h)
                log_warning("Failed to load '%s': %s", path, dlerror());
        else
                log_debug("Loaded libvirt event mode from '%s'.", path);
        return h;
}

int libvirt_module_open(LibvirtModule *ret) {
        char exe[PATH_MAX], path[PATH_MAX + sizeof(LIBVIRT_MODULE_NAME) + 1];
        void *h = NULL;
        ssize_t n;

        /* Next to the executable first: a daemon run from its build tree uses the module built
         * with it. Installed, that directory (/usr/sbin) has none, and the libdir path is
         * used. Both are root's directories; nothing a caller controls is searched. */
        n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n > 0) {
                exe[n] = '\0';
                snprintf(path, sizeof(path), "%s/%s", dirname(exe), LIBVIRT_MODULE_NAME);
                h = open_candidate(path);
        }
        if (!h)
                h = open_candidate(MLOCKD_LIBVIRT_MODULE_PATH);
        if (!h)
                return log_error_errno(ENOENT,
                                       "[Libvirt] URI= is set, but event mode is not installed "
                                       "('%s' is missing: mlockd was built without libvirt?). "
                                       "The libvirt hook works without it.",
                                       MLOCKD_LIBVIRT_MODULE_PATH);

        LibvirtModule m = { .handle = h };
        *(void **) &m.events_new = dlsym(h, "libvirt_events_new");
        *(void **) &m.events_free = dlsym(h, "libvirt_events_free");
        if (!m.events_new || !m.events_free) {
                log_error("'%s' lacks libvirt_events_new/libvirt_events_free.",
                          LIBVIRT_MODULE_NAME);
                dlclose(h);
                return -ENOEXEC;
        }
        *ret = m;
        return 0;
}
