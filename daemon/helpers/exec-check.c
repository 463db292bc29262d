/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "daemon/helpers/exec-check.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/macro.h"

/* How much of a file is read to classify it: the ELF header and program headers sit at the
 * start of every real executable; "#!" lines are limited to 256 bytes by the kernel (6.x). */
#define EXEC_HEAD_MAX (64u * 1024u)
#define SCRIPT_LINE_MAX 256u
#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

static const char *const exec_kind_table[_EXEC_KIND_MAX] = {
        [EXEC_KIND_DYNAMIC] = "dynamic",
        [EXEC_KIND_STATIC] = "static",
        [EXEC_KIND_SECURE_EXEC] = "secure-exec",
        [EXEC_KIND_OTHER] = "other",
};

void helper_set_error(char **ret_error, const char *format, ...) {
        va_list ap;

        if (!ret_error)
                return;
        va_start(ap, format);
        if (vasprintf(ret_error, format, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
}

const char *exec_kind_to_string(ExecKind k) {
        if (k < 0 || k >= _EXEC_KIND_MAX)
                return NULL;
        return exec_kind_table[k];
}

bool exec_kind_needs_injection(ExecKind k) {
        return k == EXEC_KIND_STATIC || k == EXEC_KIND_SECURE_EXEC;
}

void exec_file_done(ExecFile *f) {
        if (!f)
                return;
        safe_close(f->fd);
        safe_close(f->interp_fd);
        free(f->path);
        free(f->interpreter);
        free(f->interp_arg);
        *f = EXEC_FILE_NULL;
}

/* Reads an unsigned field of size sz at off in the file's byte order. */
static uint64_t elf_get(const uint8_t *p, size_t sz, bool msb) {
        uint64_t v = 0;

        for (size_t i = 0; i < sz; i++)
                v |= (uint64_t) p[msb ? sz - 1 - i : i] << (8 * i);
        return v;
}

int elf_is_static(const void *buf, size_t n, bool *ret_static) {
        const uint8_t *b = buf;
        uint64_t phoff, phentsize, phnum, type;
        bool is64, msb;

        if (!b || n < EI_NIDENT || memcmp(b, ELFMAG, SELFMAG) != 0)
                return 0;

        switch (b[EI_CLASS]) {
        case ELFCLASS32:
                is64 = false;
                break;
        case ELFCLASS64:
                is64 = true;
                break;
        default:
                return -EBADMSG;
        }
        switch (b[EI_DATA]) {
        case ELFDATA2LSB:
                msb = false;
                break;
        case ELFDATA2MSB:
                msb = true;
                break;
        default:
                return -EBADMSG;
        }

        if (n < (is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr)))
                return -EBADMSG;

        if (is64) {
                type = elf_get(b + offsetof(Elf64_Ehdr, e_type), 2, msb);
                phoff = elf_get(b + offsetof(Elf64_Ehdr, e_phoff), 8, msb);
                phentsize = elf_get(b + offsetof(Elf64_Ehdr, e_phentsize), 2, msb);
                phnum = elf_get(b + offsetof(Elf64_Ehdr, e_phnum), 2, msb);
        } else {
                type = elf_get(b + offsetof(Elf32_Ehdr, e_type), 2, msb);
                phoff = elf_get(b + offsetof(Elf32_Ehdr, e_phoff), 4, msb);
                phentsize = elf_get(b + offsetof(Elf32_Ehdr, e_phentsize), 2, msb);
                phnum = elf_get(b + offsetof(Elf32_Ehdr, e_phnum), 2, msb);
        }

        /* Relocatable objects and core files cannot be executed. */
        if (type != ET_EXEC && type != ET_DYN)
                return -EBADMSG;
        /* PN_XNUM (more than 0xfffe headers) is never used by executables. */
        if (phnum == 0 || phnum >= PN_XNUM)
                return -EBADMSG;
        if (phentsize < (is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)))
                return -EBADMSG;
        /* All values are at most 64 bits read from at most 16-bit and 64-bit fields: the
         * product fits, the sum is checked against n without overflow. */
        if (phoff > n || phentsize * phnum > n - phoff)
                return -EBADMSG;

        for (uint64_t i = 0; i < phnum; i++) {
                const uint8_t *ph = b + phoff + i * phentsize;
                uint64_t p_type = elf_get(ph, 4, msb); /* p_type is first in both classes */

                if (p_type == PT_INTERP) {
                        *ret_static = false;
                        return 1;
                }
        }

        *ret_static = true;
        return 1;
}

int script_parse(const void *buf, size_t n, char **ret_interpreter, char **ret_arg) {
        _cleanup_free_ char *interp = NULL, *arg = NULL;
        const char *b = buf, *end, *p, *q, *e;

        if (!b || n < 2 || b[0] != '#' || b[1] != '!')
                return 0;

        n = MIN(n, (size_t) SCRIPT_LINE_MAX);
        end = memchr(b, '\n', n) ?: b + n;

        /* Like the kernel (fs/binfmt_script.c): skip blanks, the interpreter runs to the next
         * blank, the rest of the line without surrounding blanks is one optional argument. */
        for (p = b + 2; p < end && (*p == ' ' || *p == '\t'); p++)
                ;
        for (q = p; q < end && *q != ' ' && *q != '\t' && *q != '\0'; q++)
                ;
        if (q == p)
                return -EINVAL;
        interp = strndup(p, (size_t) (q - p));
        if (!interp)
                return -ENOMEM;
        for (; q < end && (*q == ' ' || *q == '\t'); q++)
                ;
        for (e = end; e > q && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\0'); e--)
                ;
        if (e > q) {
                arg = strndup(q, (size_t) (e - q));
                if (!arg)
                        return -ENOMEM;
        }
        *ret_interpreter = TAKE_PTR(interp);
        if (ret_arg)
                *ret_arg = TAKE_PTR(arg);
        return 1;
}

int script_interpreter(const void *buf, size_t n, char **ret) {
        return script_parse(buf, n, ret, NULL);
}

bool exec_is_secure(mode_t mode, uid_t owner, gid_t group, bool has_file_caps, bool nosuid,
                    uid_t uid, gid_t gid) {
        if (nosuid)
                return false; /* the kernel ignores set-id bits and file capabilities there */
        if ((mode & S_ISUID) && owner != uid)
                return true;
        /* Set-group-ID without group execute permission is mandatory locking, not set-gid. */
        if ((mode & S_ISGID) && (mode & S_IXGRP) && group != gid)
                return true;
        /* Root already holds every capability: nothing is gained. */
        if (has_file_caps && uid != 0)
                return true;
        return false;
}

static int read_head(int fd, uint8_t *buf, size_t size, size_t *ret_n) {
        size_t n = 0;

        while (n < size) {
                ssize_t k = pread(fd, buf + n, size - n, (off_t) n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        *ret_n = n;
        return 0;
}

/* Everything below runs in the launch child, with the caller's uid, groups, cwd and root and
 * without capabilities: what it can open is what the caller could. Nothing is opened by name
 * twice: the checks and the exec use the one O_PATH fd. */

/* Opens one candidate. 0 and *ret_fd: a file that is there; -errno otherwise, with the
 * kernel's answer (a directory the caller cannot search gives EACCES for any name in it,
 * existing or not). */
static int open_candidate(const char *path, int *ret_fd, struct stat *ret_st) {
        int fd;

        fd = open(path, O_PATH | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, ret_st) < 0) {
                int r = negative_errno();
                safe_close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

/* The checks execve() would make on an opened file, as the current process. */
static int check_executable(int fd, const struct stat *st, const char *path, char **ret_error) {
        struct statfs sf;

        if (S_ISDIR(st->st_mode)) {
                helper_set_error(ret_error, "'%s' is a directory, not a program.", path);
                return -EISDIR;
        }
        if (!S_ISREG(st->st_mode)) {
                helper_set_error(ret_error, "'%s' is not a regular file.", path);
                return -EACCES;
        }
        if (fstatfs(fd, &sf) >= 0 && (sf.f_flags & ST_NOEXEC)) {
                helper_set_error(ret_error,
                                 "'%s' is on a file system mounted noexec: it cannot be executed.",
                                 path);
                return -EACCES;
        }
        if (faccessat(fd, "", X_OK, AT_EMPTY_PATH) < 0) {
                if (errno == EACCES || errno == EPERM) {
                        helper_set_error(ret_error, "'%s' is not executable by uid %u.", path,
                                         (unsigned) getuid());
                        return -EACCES;
                }
                /* Kernels without faccessat2(): execve() has the last word. */
        }
        return 0;
}

static int fd_canonical_path(int fd, char **ret) {
        char link[sizeof("/proc/self/fd/") + 12];
        _cleanup_free_ char *buf = NULL;
        ssize_t n;

        buf = malloc(PATH_MAX);
        if (!buf)
                return -ENOMEM;
        (void) snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        n = readlink(link, buf, PATH_MAX - 1);
        if (n < 0)
                return negative_errno();
        buf[n] = '\0';
        *ret = TAKE_PTR(buf);
        return 0;
}

/* Classifies the opened file (ELF static or dynamic, script, set-id or file capabilities). For
 * a script, *ret_interp gets the "#!" interpreter and its argument (not yet opened). */
static int classify_fd(int fd, const struct stat *st, const char *path, ExecKind *ret_kind,
                       char **ret_interp, char **ret_interp_arg, char **ret_error) {
        char link[sizeof("/proc/self/fd/") + 12];
        _cleanup_free_ char *interp = NULL, *arg = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        _cleanup_close_ int rfd = -EBADF;
        struct statfs sf;
        bool has_caps, is_static, secure, nosuid;
        size_t n;
        int r;

        (void) snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        has_caps = getxattr(link, "security.capability", NULL, 0) >= 0;
        nosuid = fstatfs(fd, &sf) >= 0 && (sf.f_flags & ST_NOSUID);
        /* For a script this is decided by its interpreter: the kernel ignores a script's own
         * set-id bits and capabilities. */
        secure = exec_is_secure(st->st_mode, st->st_uid, st->st_gid, has_caps, nosuid, getuid(),
                                getgid());

        /* The same inode, reopened for reading: a swapped path cannot slip another file in. */
        rfd = open(link, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (rfd < 0) {
                /* Execute-only for the caller: nothing to look at; execve() decides, and the
                 * program is treated like a dynamic one. */
                if (errno == EACCES || errno == EPERM) {
                        *ret_kind = secure ? EXEC_KIND_SECURE_EXEC : EXEC_KIND_OTHER;
                        return 0;
                }
                r = negative_errno();
                helper_set_error(ret_error, "Failed to open '%s': %s", path, strerror(-r));
                return r;
        }
        buf = malloc(EXEC_HEAD_MAX);
        if (!buf)
                return -ENOMEM;
        r = read_head(rfd, buf, EXEC_HEAD_MAX, &n);
        if (r < 0) {
                helper_set_error(ret_error, "Failed to read '%s': %s", path, strerror(-r));
                return r;
        }
        r = elf_is_static(buf, n, &is_static);
        if (r == -EBADMSG) {
                helper_set_error(ret_error, "'%s' is not a valid ELF executable.", path);
                return -ENOEXEC;
        }
        if (r > 0) {
                *ret_kind = secure      ? EXEC_KIND_SECURE_EXEC
                            : is_static ? EXEC_KIND_STATIC
                                        : EXEC_KIND_DYNAMIC;
                return 0;
        }
        if (ret_interp) {
                r = script_parse(buf, n, &interp, &arg);
                if (r == -EINVAL) {
                        helper_set_error(ret_error, "'%s' has a '#!' line without interpreter.",
                                         path);
                        return -ENOEXEC;
                }
                if (r < 0)
                        return r;
                if (r > 0) {
                        *ret_kind = EXEC_KIND_DYNAMIC; /* refined by the interpreter */
                        *ret_interp = TAKE_PTR(interp);
                        *ret_interp_arg = TAKE_PTR(arg);
                        return 0;
                }
        }
        *ret_kind = secure ? EXEC_KIND_SECURE_EXEC : EXEC_KIND_OTHER;
        return 0;
}

/* The usable file at path: opened, checked, classified, the interpreter of a script opened and
 * classified the same way. 0: usable; -errno with a message otherwise. */
static int try_candidate(const char *path, int fd, const struct stat *st, ExecFile *ret,
                         char **ret_error) {
        _cleanup_(exec_file_done) ExecFile f = EXEC_FILE_NULL;
        _cleanup_free_ char *interp = NULL, *arg = NULL;
        ExecKind kind;
        int r;

        f.fd = fd;
        r = check_executable(fd, st, path, ret_error);
        if (r < 0)
                return r;
        r = classify_fd(fd, st, path, &kind, &interp, &arg, ret_error);
        if (r < 0)
                return r;
        r = fd_canonical_path(fd, &f.path);
        if (r < 0)
                return r;
        f.dev = st->st_dev;
        f.ino = st->st_ino;
        f.kind = kind;

        if (interp) {
                struct stat ist;
                ExecKind ikind;

                /* Relative interpreters resolve against the cwd, as the kernel does. */
                r = open_candidate(interp, &f.interp_fd, &ist);
                if (r == -ENOENT) {
                        helper_set_error(
                                ret_error,
                                "'%s' is a script for the interpreter '%s', which does not exist.",
                                path, interp);
                        return r;
                }
                if (r < 0) {
                        helper_set_error(ret_error, "Cannot run the interpreter '%s' of '%s': %s",
                                         interp, path, strerror(-r));
                        return r;
                }
                r = check_executable(f.interp_fd, &ist, interp, ret_error);
                if (r < 0)
                        return r;
                r = classify_fd(f.interp_fd, &ist, interp, &ikind, NULL, NULL, ret_error);
                if (r < 0)
                        return r;
                r = fd_canonical_path(f.interp_fd, &f.interpreter);
                if (r < 0)
                        return r;
                f.interp_dev = ist.st_dev;
                f.interp_ino = ist.st_ino;
                f.interp_arg = TAKE_PTR(arg);
                f.kind = ikind == EXEC_KIND_OTHER ? EXEC_KIND_DYNAMIC : ikind;
        }
        *ret = f;
        f = EXEC_FILE_NULL;
        return 0;
}

int exec_resolve(const char *argv0, const char *search, size_t max_entries, ExecFile *ret,
                 char **ret_error) {
        _cleanup_free_ char *first_error = NULL;
        size_t n_entries = 0;
        int first_r = 0, r;

        if (!argv0 || argv0[0] == '\0') {
                helper_set_error(ret_error, "No command given.");
                return -EINVAL;
        }

        if (strchr(argv0, '/')) {
                struct stat st;
                int fd;

                r = open_candidate(argv0, &fd, &st);
                if (r == -ENOENT || r == -ENOTDIR) {
                        helper_set_error(ret_error, "Command '%s' not found: it does not exist.",
                                         argv0);
                        return -ENOENT;
                }
                if (r < 0) {
                        helper_set_error(ret_error, "Cannot run '%s': %s", argv0, strerror(-r));
                        return r;
                }
                return try_candidate(argv0, fd, &st, ret, ret_error);
        }

        /* Like execvp(3): every PATH entry in order; remember the first "exists, but unusable"
         * error and report it if no later entry works. An empty entry is the cwd. */
        search = search ?: DEFAULT_PATH;
        for (const char *d = search;; n_entries++) {
                _cleanup_free_ char *p = NULL, *err = NULL;
                size_t l = strcspn(d, ":");
                struct stat st;
                bool opened;
                int fd;

                if (n_entries >= max_entries) {
                        helper_set_error(
                                ret_error,
                                "PATH has more than %zu entries; '%s' was not found in the first "
                                "%zu.",
                                max_entries, argv0, max_entries);
                        return -E2BIG;
                }
                if (asprintf(&p, "%.*s/%s", (int) (l ?: 1), l ? d : ".", argv0) < 0)
                        return -ENOMEM;
                r = open_candidate(p, &fd, &st);
                opened = r >= 0;
                if (opened) {
                        r = try_candidate(p, fd, &st, ret, ret_error ? &err : NULL);
                        if (r == 0)
                                return 0;
                }
                if (r == -ENOMEM)
                        return r;
                /* A directory the caller cannot search hides its names: like a name that is
                 * not there (as the shell reports it), not an error to report. */
                if (r < 0 && r != -ENOENT && r != -ENOTDIR && (r != -EACCES || opened) &&
                    first_r == 0) {
                        first_r = r;
                        if (!err && asprintf(&err, "Cannot run '%s': %s", p, strerror(-r)) < 0)
                                err = NULL;
                        first_error = TAKE_PTR(err);
                }
                if (d[l] == '\0')
                        break;
                d += l + 1;
        }

        if (first_r < 0) {
                if (ret_error)
                        *ret_error = TAKE_PTR(first_error);
                return first_r;
        }
        helper_set_error(ret_error, "Command '%s' not found in PATH '%s'.", argv0, search);
        return -ENOENT;
}
