/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"
#include "common/macro.h"
#include "common/proc.h"
#include "daemon/core/state.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

static int add_u64(json_object *o, const char *k, uint64_t v) {
        json_object *n = json_object_new_uint64(v);
        if (!n)
                return -ENOMEM;
        return json_object_object_add(o, k, n) < 0 ? -ENOMEM : 0;
}

static int add_i64(json_object *o, const char *k, int64_t v) {
        json_object *n = json_object_new_int64(v);
        if (!n)
                return -ENOMEM;
        return json_object_object_add(o, k, n) < 0 ? -ENOMEM : 0;
}

static int add_str(json_object *o, const char *k, const char *v) {
        json_object *n;

        if (!v)
                return 0;
        n = json_object_new_string(v);
        if (!n)
                return -ENOMEM;
        return json_object_object_add(o, k, n) < 0 ? -ENOMEM : 0;
}

static int add_bool(json_object *o, const char *k, bool v) {
        json_object *n = json_object_new_boolean(v);
        if (!n)
                return -ENOMEM;
        return json_object_object_add(o, k, n) < 0 ? -ENOMEM : 0;
}

static json_object *workload_to_json(const Workload *w) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        int r = 0;

        if (!o)
                return NULL;
        r = r ?: add_u64(o, "id", w->id);
        r = r ?: add_str(o, "kind", workload_kind_to_string(w->kind));
        r = r ?: add_str(o, "name", w->name);
        r = r ?: add_str(o, "policy", w->policy);
        r = r ?: add_i64(o, "pid", w->ident.pid);
        r = r ?: add_u64(o, "starttime", w->ident.starttime);
        r = r ?: add_u64(o, "uid", w->uid);
        r = r ?: add_u64(o, "gid", w->gid);
        r = r ?: add_str(o, "state", workload_state_to_string(w->state));
        r = r ?: add_str(o, "mechanism", mechanism_to_string(w->mechanism));
        r = r ?: add_str(o, "mode", lock_mode_to_string(w->settings.mode));
        r = r ?: add_u64(o, "limit", w->settings.limit);
        r = r ?: add_i64(o, "prefault_threads", w->settings.prefault_threads);
        r = r ?: add_bool(o, "transparent_hugepages", w->settings.transparent_hugepages);
        r = r ?: add_bool(o, "inherit", w->settings.inherit);
        r = r ?: add_str(o, "on_failure", on_failure_to_string(w->settings.on_failure));
        r = r ?: add_str(o, "on_exceed", on_exceed_to_string(w->settings.on_exceed));
        r = r ?: add_u64(o, "started_at", w->started_at);
        r = r ?: add_u64(o, "lock_duration_usec", w->lock_duration_usec);
        r = r ?: add_u64(o, "locked_bytes", w->locked_bytes);
        r = r ?: add_bool(o, "detach", w->detach);
        r = r ?: add_bool(o, "limit_raised", w->limit_raised);
        r = r ?: add_u64(o, "orig_memlock_soft", w->orig_memlock_soft);
        r = r ?: add_u64(o, "orig_memlock_hard", w->orig_memlock_hard);
        r = r ?: add_str(o, "error", w->error);
        if (r < 0)
                return NULL;
        return TAKE_PTR(o);
}

int state_format(uint64_t next_id, const WorkloadTable *t, char **ret) {
        _cleanup_(json_object_putp) json_object *root = json_object_new_object();
        json_object *arr;
        const char *s;
        char *c;
        int r = 0;

        if (!root)
                return -ENOMEM;
        r = r ?: add_i64(root, "version", STATE_VERSION);
        r = r ?: add_u64(root, "next_id", next_id);
        if (r < 0)
                return r;
        arr = json_object_new_array();
        if (!arr || json_object_object_add(root, "workloads", arr) < 0) {
                json_object_put(arr);
                return -ENOMEM;
        }
        for (const Workload *w = t->head; w; w = w->next) {
                json_object *o;
                if (!workload_is_live(w))
                        continue;
                o = workload_to_json(w);
                if (!o || json_object_array_add(arr, o) < 0) {
                        json_object_put(o);
                        return -ENOMEM;
                }
        }
        s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
                                                         JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s)
                return -ENOMEM;
        if (asprintf(&c, "%s\n", s) < 0)
                return -ENOMEM;
        *ret = c;
        return 0;
}

/* get_u64() and get_i64(): the integer member k of o, through json-c's getter, which reports
 * an out-of-range value only through errno. An absent member is -EBADMSG if required, else 0
 * with *ret unchanged. */
#define DEFINE_GET_INT(name, type, getter)                                                         \
        static int name(json_object *o, const char *k, bool required, type *ret) {                 \
                json_object *v;                                                                    \
                                                                                                   \
                if (!json_object_object_get_ex(o, k, &v))                                          \
                        return required ? -EBADMSG : 0;                                            \
                if (!json_object_is_type(v, json_type_int))                                        \
                        return -EBADMSG;                                                           \
                errno = 0;                                                                         \
                *ret = getter(v);                                                                  \
                if (errno != 0)                                                                    \
                        return -EBADMSG;                                                           \
                return 0;                                                                          \
        }

DEFINE_GET_INT(get_u64, uint64_t, json_object_get_uint64)
DEFINE_GET_INT(get_i64, int64_t, json_object_get_int64)

static int get_bool(json_object *o, const char *k, bool *ret) {
        json_object *v;

        if (!json_object_object_get_ex(o, k, &v))
                return 0;
        if (!json_object_is_type(v, json_type_boolean))
                return -EBADMSG;
        *ret = json_object_get_boolean(v);
        return 0;
}

/* NULL if absent; -EBADMSG if not a string. */
static int get_str(json_object *o, const char *k, const char **ret) {
        json_object *v;

        *ret = NULL;
        if (!json_object_object_get_ex(o, k, &v))
                return 0;
        if (!json_object_is_type(v, json_type_string))
                return -EBADMSG;
        *ret = json_object_get_string(v);
        return 0;
}

static int dup_str(json_object *o, const char *k, char **ret) {
        const char *s;
        int r;

        r = get_str(o, k, &s);
        if (r < 0)
                return r;
        if (!s)
                return 0;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static int workload_from_json(json_object *o, Workload **ret) {
        _cleanup_(workload_freep) Workload *w = NULL;
        uint64_t id = 0, u = 0;
        int64_t i = 0;
        const char *s;
        int r;

        if (!json_object_is_type(o, json_type_object))
                return -EBADMSG;
        r = get_u64(o, "id", true, &id);
        if (r < 0)
                return r;
        r = workload_new(id, &w);
        if (r < 0)
                return r;

        r = get_i64(o, "pid", true, &i);
        if (r < 0)
                return r;
        if (i <= 0 || i > INT32_MAX)
                return -EBADMSG;
        w->ident.pid = (pid_t) i;
        r = get_u64(o, "starttime", true, &w->ident.starttime);
        if (r < 0)
                return r;
        r = get_u64(o, "uid", true, &u);
        if (r < 0 || u >= UINT32_MAX)
                return -EBADMSG;
        w->uid = (uid_t) u;
        u = 0;
        r = get_u64(o, "gid", false, &u);
        if (r < 0 || u >= UINT32_MAX)
                return -EBADMSG;
        w->gid = (gid_t) u;

        r = get_str(o, "kind", &s);
        if (r < 0 || (w->kind = workload_kind_from_string(s)) < 0)
                return -EBADMSG;
        r = get_str(o, "state", &s);
        if (r < 0 || (w->state = workload_state_from_string(s)) < 0)
                return -EBADMSG;
        r = get_str(o, "mechanism", &s);
        if (r < 0 || (w->mechanism = mechanism_from_string(s)) < 0)
                return -EBADMSG;
        r = get_str(o, "mode", &s);
        if (r < 0 || (w->settings.mode = lock_mode_from_string(s)) < 0)
                return -EBADMSG;
        r = get_str(o, "on_failure", &s);
        if (r < 0 || (w->settings.on_failure = on_failure_from_string(s)) < 0)
                return -EBADMSG;
        r = get_str(o, "on_exceed", &s);
        if (r < 0 || (w->settings.on_exceed = on_exceed_from_string(s)) < 0)
                return -EBADMSG;
        r = get_u64(o, "limit", true, &w->settings.limit);
        if (r < 0)
                return r;
        i = -1;
        r = get_i64(o, "prefault_threads", false, &i);
        if (r < 0 || i < -1 || i > 4096)
                return -EBADMSG;
        w->settings.prefault_threads = (int) i;

        r = get_bool(o, "transparent_hugepages", &w->settings.transparent_hugepages);
        r = r ?: get_bool(o, "inherit", &w->settings.inherit);
        r = r ?: get_bool(o, "detach", &w->detach);
        r = r ?: get_bool(o, "limit_raised", &w->limit_raised);
        r = r ?: get_u64(o, "started_at", false, &w->started_at);
        r = r ?: get_u64(o, "lock_duration_usec", false, &w->lock_duration_usec);
        r = r ?: get_u64(o, "locked_bytes", false, &w->locked_bytes);
        r = r ?: get_u64(o, "orig_memlock_soft", false, &w->orig_memlock_soft);
        r = r ?: get_u64(o, "orig_memlock_hard", false, &w->orig_memlock_hard);
        r = r ?: dup_str(o, "name", &w->name);
        r = r ?: dup_str(o, "policy", &w->policy);
        r = r ?: dup_str(o, "error", &w->error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(w);
        return 0;
}

int state_parse(const char *text, uint64_t *ret_next_id, WorkloadTable *ret) {
        _cleanup_(json_object_putp) json_object *root = NULL;
        json_object *arr;
        enum json_tokener_error e;
        int64_t version = 0;
        uint64_t next_id = 1;
        size_t n;
        int r;

        root = json_tokener_parse_verbose(text, &e);
        if (!root || !json_object_is_type(root, json_type_object))
                return -EBADMSG;
        r = get_i64(root, "version", true, &version);
        if (r < 0)
                return r;
        if (version != STATE_VERSION)
                return -EPROTONOSUPPORT;
        r = get_u64(root, "next_id", true, &next_id);
        if (r < 0)
                return r;
        if (!json_object_object_get_ex(root, "workloads", &arr) ||
            !json_object_is_type(arr, json_type_array))
                return -EBADMSG;

        n = json_object_array_length(arr);
        for (size_t i = 0; i < n; i++) {
                Workload *w = NULL;

                r = workload_from_json(json_object_array_get_idx(arr, i), &w);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        log_warning("State file entry %zu is malformed, dropping it: the "
                                    "workload it described is no longer listed.",
                                    i);
                        continue;
                }
                if (workload_table_find_id(ret, w->id)) {
                        log_warning("State file lists workload %s twice, keeping the first.",
                                    w->id_str);
                        workload_free(w);
                        continue;
                }
                workload_table_add(ret, w);
        }
        *ret_next_id = next_id;
        return 0;
}

static int fsync_dir(const char *dir) {
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        return fsync(fd) < 0 ? negative_errno() : 0;
}

int state_save(const char *dir, uint64_t next_id, const WorkloadTable *t) {
        _cleanup_free_ char *text = NULL, *tmp = NULL, *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t l, done = 0;
        int r;

        r = state_format(next_id, t, &text);
        if (r < 0)
                return r;
        if (asprintf(&path, "%s/" STATE_FILE_NAME, dir) < 0 ||
            asprintf(&tmp, "%s/." STATE_FILE_NAME ".XXXXXX", dir) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        l = strlen(text);
        while (done < l) {
                ssize_t k = write(fd, text + done, l - done);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        r = negative_errno();
                        goto fail;
                }
                done += (size_t) k;
        }
        if (fchmod(fd, 0600) < 0 || fsync(fd) < 0) {
                r = negative_errno();
                goto fail;
        }
        if (rename(tmp, path) < 0) {
                r = negative_errno();
                goto fail;
        }
        (void) fsync_dir(dir);
        return 0;
fail:
        (void) unlink(tmp);
        return r;
}

int state_load(const char *dir, uint64_t *ret_next_id, WorkloadTable *ret) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int dfd = -EBADF;
        int r;

        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return errno == ENOENT ? -ENOENT : negative_errno();
        if (faccessat(dfd, STATE_FILE_NAME, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? -ENOENT : negative_errno();
        r = read_file_at(dfd, STATE_FILE_NAME, STATE_FILE_MAX, &buf, NULL);
        if (r < 0)
                return r;
        return state_parse(buf, ret_next_id, ret);
}
