/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "client/workload-info.h"
#include "common/macro.h"

void workload_info_done(WorkloadInfo *w) {
        if (!w)
                return;
        free(w->path);
        free(w->id);
        free(w->name);
        free(w->policy);
        free(w->mode);
        free(w->mechanism);
        free(w->containment);
        free(w->state);
        free(w->error);
        *w = (WorkloadInfo){ .exit_status = -1 };
}

void workload_info_array_free(WorkloadInfo *w, size_t n) {
        for (size_t i = 0; w && i < n; i++)
                workload_info_done(&w[i]);
        free(w);
}

void daemon_info_done(DaemonInfo *d) {
        if (!d)
                return;
        free(d->version);
        strv_free(d->workloads);
        strv_free(d->policies);
        *d = (DaemonInfo){};
}
