/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* STATE_DIR/state: the workload table on disk (JSON, versioned), rewritten atomically on every
 * change, read at start to re-adopt workloads that outlived a daemon restart. */

#include <stdint.h>

#include "daemon/core/workload.h"

#define STATE_VERSION 1
#define STATE_FILE_NAME "state"
#define STATE_FILE_MAX (16u * 1024u * 1024u)

/* Serializes next_id and the live workloads of t (exited ones are not worth keeping). */
int state_format(uint64_t next_id, const WorkloadTable *t, char **ret);
/* Parses text, appending workloads to ret (ident, settings, names, states; no fds). A bad
 * entry is skipped with a log line; a bad document gives -EBADMSG, an unknown version
 * -EPROTONOSUPPORT. */
int state_parse(const char *text, uint64_t *ret_next_id, WorkloadTable *ret);
/* Writes dir/state through a temporary file, fsync and rename. */
int state_save(const char *dir, uint64_t next_id, const WorkloadTable *t);
/* Reads dir/state; -ENOENT if there is none. */
int state_load(const char *dir, uint64_t *ret_next_id, WorkloadTable *ret);
