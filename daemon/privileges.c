/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "daemon/privileges.h"

#include <cap-ng.h>
#include <errno.h>
#include <linux/capability.h>

#include "common/macro.h"

int privileges_have(unsigned cap) {
        void *saved;
        int r;

        /* libcap-ng keeps one working set per thread; the daemon's own capability drop may be
         * mid-way through building one. Look, then put it back as it was. */
        saved = capng_save_state();
        if (!saved)
                return -ENOMEM;

        if (capng_get_caps_process() < 0)
                r = negative_errno();
        else
                r = capng_have_capability(CAPNG_EFFECTIVE, cap) ? 1 : 0;

        capng_restore_state(&saved);
        return r;
}

int privileges_query(Privileges *ret) {
        Privileges p = {};
        int r;

        r = privileges_have(CAP_SYS_RESOURCE);
        if (r < 0)
                return r;
        p.sys_resource = r;
        r = privileges_have(CAP_IPC_LOCK);
        if (r < 0)
                return r;
        p.ipc_lock = r;
        r = privileges_have(CAP_SYS_PTRACE);
        if (r < 0)
                return r;
        p.sys_ptrace = r;

        *ret = p;
        return 0;
}

const char *privileges_to_string(const Privileges *p) {
        static const char *const table[8] = {
                [0] = "none",
                [1] = "CAP_SYS_RESOURCE",
                [2] = "CAP_IPC_LOCK",
                [3] = "CAP_SYS_RESOURCE CAP_IPC_LOCK",
                [4] = "CAP_SYS_PTRACE",
                [5] = "CAP_SYS_RESOURCE CAP_SYS_PTRACE",
                [6] = "CAP_IPC_LOCK CAP_SYS_PTRACE",
                [7] = "CAP_SYS_RESOURCE CAP_IPC_LOCK CAP_SYS_PTRACE",
        };

        return table[(p->sys_resource ? 1 : 0) | (p->ipc_lock ? 2 : 0) | (p->sys_ptrace ? 4 : 0)];
}
