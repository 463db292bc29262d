/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Loading a policy set: directories and files, masking by name, permission checks, order. */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "build-config.h"
#include "common/macro.h"
#include "common/proc.h"
#include "policy/trusted-file.h"
#include "policy/policy-internal.h"

/* One file to parse, collected before parsing so that the set is in lexical order. */
typedef struct Entry {
        char *name;
        char *path;
        char *data; /* NULL: masked by /dev/null */
        size_t size;
} Entry;

typedef struct Entries {
        Entry *e;
        size_t n;
} Entries;

static void entries_done(Entries *l) {
        for (size_t i = 0; i < l->n; i++) {
                free(l->e[i].name);
                free(l->e[i].path);
                free(l->e[i].data);
        }
        free(l->e);
        l->e = NULL;
        l->n = 0;
}

static bool entries_has(const Entries *l, const char *name) {
        for (size_t i = 0; i < l->n; i++)
                if (streq(l->e[i].name, name))
                        return true;
        return false;
}

static int entry_compare(const void *a, const void *b) {
        return strcmp(((const Entry *) a)->name, ((const Entry *) b)->name);
}

static int string_compare(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

char *const *policy_default_dirs(void) {
        static const char *const dirs[] = { MLOCKD_POLICY_DIRS, NULL };
        return (char *const *) dirs;
}

PolicySet *policy_set_free(PolicySet *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n; i++)
                policy_free(s->policies[i]);
        free(s->policies);
        free(s);
        return NULL;
}

int policy_set_new(PolicySet **ret) {
        PolicySet *s = calloc(1, sizeof(PolicySet));
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int policy_set_add(PolicySet *s, Policy *p) {
        Policy **l = reallocarray(s->policies, s->n + 1, sizeof(Policy *));
        if (!l) {
                policy_free(p);
                return -ENOMEM;
        }
        s->policies = l;
        l[s->n++] = p;
        return 0;
}

size_t policy_set_size(const PolicySet *s) {
        return s ? s->n : 0;
}

const Policy *policy_set_get(const PolicySet *s, size_t i) {
        return s && i < s->n ? s->policies[i] : NULL;
}

const Policy *policy_set_find(const PolicySet *s, const char *name) {
        for (size_t i = 0; s && name && i < s->n; i++)
                if (streq(s->policies[i]->name, name))
                        return s->policies[i];
        return NULL;
}

static int entries_add(Entries *l, const char *name, const char *path) {
        Entry *n = reallocarray(l->e, l->n + 1, sizeof(Entry));
        if (!n)
                return -ENOMEM;
        l->e = n;
        n[l->n] = (Entry){ .name = strdup(name), .path = strdup(path) };
        l->n++;
        if (!n[l->n - 1].name || !n[l->n - 1].path)
                return -ENOMEM;
        return 0;
}

static char *path_join(const char *dir, const char *fn) {
        char *p;
        size_t l = strlen(dir);

        if (asprintf(&p, "%s%s%s", dir, l > 0 && dir[l - 1] == '/' ? "" : "/", fn) < 0)
                return NULL;
        return p;
}

/* Adds one file (name not yet seen). Problems go to diags; *failed is set. */
static int load_one(Entries *l, int dirfd, const char *fn, const char *name, const char *path,
                    PolicyDiagnostics *diags, bool *failed) {
        int r;

        if (l->n >= POLICY_SET_SIZE_MAX) {
                r = policy_diagnostics_add(diags, "%s: too many policies (at most %u)", path,
                                           POLICY_SET_SIZE_MAX);
                *failed = true;
                return r < 0 ? r : 0;
        }
        r = entries_add(l, name, path);
        if (r < 0)
                return r;
        Entry *e = &l->e[l->n - 1];
        r = trusted_read(dirfd, fn, path, "a policy file", POLICY_FILE_SIZE_MAX, &e->data, &e->size,
                         diags);
        if (r == -ENOENT) {
                /* Removed while we were listing: a race with an editor, not a problem. */
                free(e->name);
                free(e->path);
                l->n--;
                return 0;
        }
        if (r == -EINVAL) {
                *failed = true;
                return 0;
        }
        return r;
}

static int name_from_file(const char *fn, char **ret) {
        size_t l = strlen(fn);
        const size_t sl = strlen(".policy");
        char *n;

        if (l > sl && streq(fn + l - sl, ".policy"))
                n = strndup(fn, l - sl);
        else
                n = strdup(fn);
        if (!n)
                return -ENOMEM;
        *ret = n;
        return 0;
}

static int load_dir(Entries *l, const char *dir, int dirfd, PolicyDiagnostics *diags,
                    bool *failed) {
        _cleanup_strv_free_ char **names = NULL;
        size_t n = 0;
        DIR *d;
        int r;

        d = fdopendir(dirfd);
        if (!d)
                return -errno;
        for (struct dirent *de; (errno = 0, de = readdir(d));) {
                size_t len = strlen(de->d_name);
                if (de->d_name[0] == '.' || len <= strlen(".policy") ||
                    !streq(de->d_name + len - strlen(".policy"), ".policy"))
                        continue;
                char **nl = reallocarray(names, n + 2, sizeof(char *));
                if (!nl) {
                        closedir(d);
                        return -ENOMEM;
                }
                names = nl;
                names[n] = strdup(de->d_name);
                if (!names[n]) {
                        closedir(d);
                        return -ENOMEM;
                }
                names[++n] = NULL;
                if (n > POLICY_SET_SIZE_MAX)
                        break; /* reported by load_one */
        }
        r = errno > 0 ? -errno : 0;
        if (r < 0) {
                closedir(d);
                int q = policy_diagnostics_add(diags, "%s: cannot list: %s", dir, strerror(-r));
                *failed = true;
                return q < 0 ? q : 0;
        }

        /* Sorted, so that problems are reported in a stable order. */
        if (n > 0)
                qsort(names, n, sizeof(char *), string_compare);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *name = NULL, *path = NULL;

                r = name_from_file(names[i], &name);
                if (r < 0)
                        break;
                if (entries_has(l, name))
                        continue; /* masked by an earlier directory */
                path = path_join(dir, names[i]);
                if (!path) {
                        r = -ENOMEM;
                        break;
                }
                r = load_one(l, dirfd, names[i], name, path, diags, failed);
                if (r < 0)
                        break;
        }
        closedir(d);
        return r;
}

static int load_path(Entries *l, const char *path, PolicyLoadFlags flags, PolicyDiagnostics *diags,
                     bool *failed) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                r = -errno;
                if (r == -ENOENT && (flags & POLICY_LOAD_MISSING_OK))
                        return 0;
                *failed = true;
                int q = policy_diagnostics_add(diags, "%s: %s", path, strerror(-r));
                return q < 0 ? q : 0;
        }
        if (fstat(fd, &st) < 0)
                return -errno;

        if (S_ISDIR(st.st_mode)) {
                r = trusted_check_stat(path, &st, "a policy directory", diags);
                if (r == -EINVAL) {
                        *failed = true;
                        return 0;
                }
                if (r < 0)
                        return r;
                r = load_dir(l, path, fd, diags, failed);
                TAKE_FD(fd); /* closedir() closed it */
                return r;
        }

        /* A single file given by path: named after its base name. */
        _cleanup_free_ char *name = NULL;
        const char *fn = strrchr(path, '/');
        fn = fn ? fn + 1 : path;
        r = name_from_file(fn, &name);
        if (r < 0)
                return r;
        if (entries_has(l, name))
                return 0;
        return load_one(l, fd, "", name, path, diags, failed);
}

int policy_set_load_paths(char *const *paths, uint64_t mem_total, PolicyLoadFlags flags,
                          PolicySet **ret, PolicyDiagnostics *diags) {
        _cleanup_(entries_done) Entries l = {};
        _cleanup_(policy_set_freep) PolicySet *s = NULL;
        bool failed = false;
        int r;

        for (char *const *p = paths; p && *p; p++) {
                r = load_path(&l, *p, flags, diags, &failed);
                if (r < 0)
                        return r;
        }

        if (mem_total == 0) {
                MemInfo mi;
                if (meminfo_read(&mi) >= 0 && mi.mem_total != PROC_UNSET)
                        mem_total = mi.mem_total;
        }

        if (l.n > 0)
                qsort(l.e, l.n, sizeof(Entry), entry_compare);

        r = policy_set_new(&s);
        if (r < 0)
                return r;
        for (size_t i = 0; i < l.n; i++) {
                Policy *p = NULL;

                if (!l.e[i].data)
                        continue; /* masked */
                r = policy_parse(l.e[i].name, l.e[i].path, l.e[i].data, l.e[i].size, mem_total, &p,
                                 diags);
                if (r == -EINVAL) {
                        failed = true;
                        continue;
                }
                if (r < 0)
                        return r;
                r = policy_set_add(s, p);
                if (r < 0)
                        return r;
        }
        if (failed)
                return -EINVAL;

        *ret = TAKE_PTR(s);
        return 0;
}

int policy_set_load(char *const *dirs, PolicySet **ret, PolicyDiagnostics *diags) {
        return policy_set_load_paths(dirs, 0, POLICY_LOAD_MISSING_OK, ret, diags);
}
