/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"
#include "common/macro.h"
#include "common/proc.h"
#include "daemon/core/state.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

/* The state file is written directly, not through json-c objects: with 1000 workloads a tree of
 * 26000 objects per save was most of a Run's cost (the table is saved at every change). The
 * parser below reads it with json-c. Strings are escaped as JSON needs: quote, backslash and
 * control characters; other bytes pass as they are, as json-c writes them. */
static void put_string(FILE *f, const char *s) {
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if (*p == '"' || *p == '\\')
                        fprintf(f, "\\%c", *p);
                else if (*p < 0x20)
                        fprintf(f, "\\u%04x", *p);
                else
                        fputc(*p, f);
        }
        fputc('"', f);
}

static void put_str(FILE *f, const char *k, const char *v) {
        if (!v)
                return; /* absent, as the parser expects of an unset string */
        fprintf(f, ",\"%s\":", k);
        put_string(f, v);
}

static void put_u64(FILE *f, const char *k, uint64_t v) {
        fprintf(f, ",\"%s\":%" PRIu64, k, v);
}

static void put_i64(FILE *f, const char *k, int64_t v) {
        fprintf(f, ",\"%s\":%" PRId64, k, v);
}

static void put_bool(FILE *f, const char *k, bool v) {
        fprintf(f, ",\"%s\":%s", k, v ? "true" : "false");
}

static void put_workload(FILE *f, const Workload *w) {
        fprintf(f, "{\"id\":%" PRIu64, w->id);
        put_str(f, "kind", workload_kind_to_string(w->kind));
        put_str(f, "name", w->name);
        put_str(f, "policy", w->policy);
        put_i64(f, "pid", w->ident.pid);
        put_u64(f, "starttime", w->ident.starttime);
        put_u64(f, "uid", w->uid);
        put_u64(f, "gid", w->gid);
        put_str(f, "state", workload_state_to_string(w->state));
        put_str(f, "mechanism", mechanism_to_string(w->mechanism));
        put_str(f, "mode", lock_mode_to_string(w->settings.mode));
        put_u64(f, "limit", w->settings.limit);
        put_i64(f, "prefault_threads", w->settings.prefault_threads);
        put_bool(f, "transparent_hugepages", w->settings.transparent_hugepages);
        put_bool(f, "inherit", w->settings.inherit);
        put_str(f, "on_failure", on_failure_to_string(w->settings.on_failure));
        put_str(f, "on_exceed", on_exceed_to_string(w->settings.on_exceed));
        put_u64(f, "started_at", w->started_at);
        put_u64(f, "lock_duration_usec", w->lock_duration_usec);
        put_u64(f, "locked_bytes", w->locked_bytes);
        put_bool(f, "detach", w->detach);
        put_bool(f, "limit_raised", w->limit_raised);
        put_u64(f, "orig_memlock_soft", w->orig_memlock_soft);
        put_u64(f, "orig_memlock_hard", w->orig_memlock_hard);
        put_str(f, "error", w->error);
        fputc('}', f);
}

int state_format(uint64_t next_id, const WorkloadTable *t, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        bool first = true;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, "{\n  \"version\":%d,\n  \"next_id\":%" PRIu64 ",\n  \"workloads\":[",
                STATE_VERSION, next_id);
        for (const Workload *w = t->head; w; w = w->next) {
                if (!workload_is_live(w))
                        continue;
                fputs(first ? "\n    " : ",\n    ", f);
                first = false;
                put_workload(f, w);
        }
        fputs(first ? "]\n}\n" : "\n  ]\n}\n", f);
        bool bad = ferror(f);
        if (fclose(f) != 0 || bad)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
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
