/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/escape.h"
#include "common/macro.h"
#include "common/parse-util.h"
#include "common/string-table.h"
#include "daemon/core/workload.h"

static const char *const workload_state_table[_WORKLOAD_STATE_MAX] = {
        [WORKLOAD_STARTING] = "starting", [WORKLOAD_LOCKING] = "locking",
        [WORKLOAD_LOCKED] = "locked",     [WORKLOAD_FAILED] = "failed",
        [WORKLOAD_EXITED] = "exited",     [WORKLOAD_DETACHED] = "detached",
};

static const char *const workload_kind_table[_WORKLOAD_KIND_MAX] = {
        [WORKLOAD_KIND_RUN] = "run",
        [WORKLOAD_KIND_EXEC] = "exec",
        [WORKLOAD_KIND_ATTACH] = "attach",
};

DEFINE_STRING_TABLE_LOOKUP(workload_state, WorkloadState)
DEFINE_STRING_TABLE_LOOKUP(workload_kind, WorkloadKind)

LogFields workload_log_fields(const Workload *w, const char *message_id) {
        return (LogFields){
                .message_id = message_id,
                .workload_id = w->id_str,
                .workload_pid = w->ident.pid,
                .policy = w->policy,
                .user_id = w->uid,
        };
}

int workload_new(uint64_t id, Workload **ret) {
        _cleanup_(workload_freep) Workload *w = NULL;

        if (id == 0)
                return -EINVAL;
        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->pidfd = -EBADF;
        w->report_fd = -EBADF;
        w->helper_fd = -EBADF;
        w->exit_status = -1;
        w->mechanism = _MECHANISM_INVALID;
        w->kind = _WORKLOAD_KIND_INVALID;
        w->settings.mode = LOCK_MODE_ON;
        w->settings.prefault_threads = -1;
        w->id = id;
        snprintf(w->id_str, sizeof(w->id_str), "%" PRIu64, id);
        if (asprintf(&w->path, WORKLOAD_PATH_PREFIX "/%" PRIu64, id) < 0) {
                w->path = NULL;
                return -ENOMEM;
        }
        *ret = TAKE_PTR(w);
        return 0;
}

Workload *workload_free(Workload *w) {
        if (!w)
                return NULL;
        sd_event_source_disable_unref(w->pidfd_source);
        sd_event_source_disable_unref(w->report_source);
        sd_event_source_disable_unref(w->helper_source);
        safe_close(w->pidfd);
        safe_close(w->report_fd);
        safe_close(w->helper_fd);
        sd_event_source_disable_unref(w->oom_source);
        containment_cgroup_done(&w->cgroup);
        free(w->containment);
        free(w->path);
        free(w->name);
        free(w->policy);
        free(w->error);
        free(w);
        return NULL;
}

/* Names and errors are shown by every client and saved in the state file: stored escaped
 * (common/escape.h), so that whatever a program name or comm held, they are valid UTF-8 without
 * control characters (sd-bus refuses to send invalid UTF-8 at all). */
int workload_set_name(Workload *w, const char *name) {
        char buf[256], *n;

        /* Cut at a character boundary: at most 255 bytes, as before. */
        (void) escape_to_buffer(buf, sizeof(buf), name, 0);
        n = strdup(buf);
        if (!n)
                return -ENOMEM;
        free(w->name);
        w->name = n;
        return 0;
}

int workload_set_error(Workload *w, const char *error) {
        char *e = NULL;

        if (error) {
                e = escape_string(error, 0);
                if (!e)
                        return -ENOMEM;
        }
        free(w->error);
        w->error = e;
        return 0;
}

bool workload_is_live(const Workload *w) {
        return w->state == WORKLOAD_STARTING || w->state == WORKLOAD_LOCKING ||
               w->state == WORKLOAD_LOCKED || w->state == WORKLOAD_FAILED;
}

static size_t id_bucket(uint64_t id, size_t n_buckets) {
        /* Ids are sequential: the low bits spread them already. */
        return (size_t) (id & (n_buckets - 1));
}

static void index_grow(WorkloadTable *t) {
        size_t n = t->n_buckets ? t->n_buckets * 2 : 64;
        Workload **b = calloc(n, sizeof(Workload *));

        if (!b)
                return;
        for (Workload *w = t->head; w; w = w->next) {
                size_t i = id_bucket(w->id, n);
                w->id_next = b[i];
                b[i] = w;
        }
        free(t->buckets);
        t->buckets = b;
        t->n_buckets = n;
}

void workload_table_add(WorkloadTable *t, Workload *w) {
        w->prev = t->tail;
        w->next = NULL;
        if (t->tail)
                t->tail->next = w;
        else
                t->head = w;
        t->tail = w;
        t->n++;
        w->id_next = NULL;
        if (t->n > t->n_buckets)
                index_grow(t); /* indexes w too */
        else {
                size_t i = id_bucket(w->id, t->n_buckets);
                w->id_next = t->buckets[i];
                t->buckets[i] = w;
        }
}

void workload_table_remove(WorkloadTable *t, Workload *w) {
        if (w->prev)
                w->prev->next = w->next;
        else
                t->head = w->next;
        if (w->next)
                w->next->prev = w->prev;
        else
                t->tail = w->prev;
        w->prev = w->next = NULL;
        t->n--;
        if (t->buckets) {
                for (Workload **p = &t->buckets[id_bucket(w->id, t->n_buckets)]; *p;
                     p = &(*p)->id_next)
                        if (*p == w) {
                                *p = w->id_next;
                                break;
                        }
        }
        w->id_next = NULL;
        if (t->n == 0) {
                free(t->buckets);
                t->buckets = NULL;
                t->n_buckets = 0;
        }
}

void workload_table_clear(WorkloadTable *t) {
        while (t->head) {
                Workload *w = t->head;
                workload_table_remove(t, w);
                workload_free(w);
        }
}

Workload *workload_table_find_id(const WorkloadTable *t, uint64_t id) {
        if (t->buckets) {
                for (Workload *w = t->buckets[id_bucket(id, t->n_buckets)]; w; w = w->id_next)
                        if (w->id == id)
                                return w;
                return NULL;
        }
        for (Workload *w = t->head; w; w = w->next)
                if (w->id == id)
                        return w;
        return NULL;
}

Workload *workload_table_find_pid(const WorkloadTable *t, pid_t pid) {
        for (Workload *w = t->head; w; w = w->next)
                if (workload_is_live(w) && w->ident.pid == pid)
                        return w;
        return NULL;
}

Workload *workload_table_find_path(const WorkloadTable *t, const char *path) {
        const char *e;
        uint64_t id;

        if (!path)
                return NULL;
        e = startswith(path, WORKLOAD_PATH_PREFIX "/");
        if (!e)
                return NULL;
        if (parse_uint64(e, &id) < 0)
                return NULL;
        return workload_table_find_id(t, id);
}

size_t workload_table_count_live_uid(const WorkloadTable *t, uid_t uid) {
        size_t n = 0;
        for (Workload *w = t->head; w; w = w->next)
                if (workload_is_live(w) && w->uid == uid)
                        n++;
        return n;
}

size_t workload_table_count_live(const WorkloadTable *t) {
        size_t n = 0;
        for (Workload *w = t->head; w; w = w->next)
                if (workload_is_live(w))
                        n++;
        return n;
}

uint64_t workload_table_reserved(const WorkloadTable *t) {
        uint64_t sum = 0;
        for (Workload *w = t->head; w; w = w->next) {
                if (!workload_is_live(w))
                        continue;
                if (w->settings.limit > UINT64_MAX - sum)
                        return UINT64_MAX;
                sum += w->settings.limit;
        }
        return sum;
}
