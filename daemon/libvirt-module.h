/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Loads event mode (daemon/libvirt-events.c, built as mlockd-libvirt.so) at run time.
 *
 * libvirt pulls in ~60 libraries (glib, gnutls, curl, ICU, Kerberos ...): linked into the
 * daemon they cost ~11 MiB of locked, resident memory on every host, most of which never set
 * [Libvirt] URI=. So the daemon links none of it and opens the module only when asked. */

#include "daemon/libvirt-events.h"

typedef struct LibvirtModule {
        void *handle;
        int (*events_new)(sd_event *e, const char *uri, const char *pid_dir,
                          const LibvirtEventsCallbacks *cb, void *userdata, LibvirtEvents **ret);
        LibvirtEvents *(*events_free)(LibvirtEvents *l);
} LibvirtModule;

/* Opens the module: next to the daemon's executable (a build tree), else the installed
 * MLOCKD_LIBVIRT_MODULE_PATH. -ENOENT with a log line when it is not there (mlockd was
 * built or packaged without libvirt). The module is never unloaded: libvirt keeps
 * process-global state. */
int libvirt_module_open(LibvirtModule *ret);
