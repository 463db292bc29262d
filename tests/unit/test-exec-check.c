/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for daemon/helpers/exec-check.c: resolving a command as its caller, and telling static
 * binaries and secure-exec programs (which LD_PRELOAD cannot reach) from the rest. */
#include <cap-ng.h>
#include <elf.h>
#include <grp.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/macro.h"
#include "daemon/helpers/exec-check.h"

/* ---- ELF buffers ---------------------------------------------------------------------- */

static void put(uint8_t *p, uint64_t v, size_t sz, bool msb) {
        for (size_t i = 0; i < sz; i++)
                p[msb ? sz - 1 - i : i] = (uint8_t) (v >> (8 * i));
}

/* Builds an ELF header plus phnum program headers of the given types at phoff. Returns the
 * size used. */
static size_t make_elf(uint8_t *buf, size_t size, bool is64, bool msb, uint16_t type,
                       const uint32_t *ptypes, size_t phnum) {
        size_t ehsize = is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
        size_t phentsize = is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
        size_t total = ehsize + phnum * phentsize;

        assert_true(total <= size);
        memset(buf, 0, size);
        memcpy(buf, ELFMAG, SELFMAG);
        buf[EI_CLASS] = is64 ? ELFCLASS64 : ELFCLASS32;
        buf[EI_DATA] = msb ? ELFDATA2MSB : ELFDATA2LSB;
        buf[EI_VERSION] = EV_CURRENT;
        if (is64) {
                put(buf + offsetof(Elf64_Ehdr, e_type), type, 2, msb);
                put(buf + offsetof(Elf64_Ehdr, e_phoff), ehsize, 8, msb);
                put(buf + offsetof(Elf64_Ehdr, e_phentsize), phentsize, 2, msb);
                put(buf + offsetof(Elf64_Ehdr, e_phnum), phnum, 2, msb);
        } else {
                put(buf + offsetof(Elf32_Ehdr, e_type), type, 2, msb);
                put(buf + offsetof(Elf32_Ehdr, e_phoff), ehsize, 4, msb);
                put(buf + offsetof(Elf32_Ehdr, e_phentsize), phentsize, 2, msb);
                put(buf + offsetof(Elf32_Ehdr, e_phnum), phnum, 2, msb);
        }
        for (size_t i = 0; i < phnum; i++)
                put(buf + ehsize + i * phentsize, ptypes[i], 4, msb);
        return total;
}

static void test_elf_is_static(void **state) {
        static const uint32_t dyn[] = { PT_PHDR, PT_INTERP, PT_LOAD, PT_LOAD, PT_DYNAMIC };
        static const uint32_t stat[] = { PT_LOAD, PT_LOAD, PT_TLS, PT_GNU_STACK };
        uint8_t buf[1024];
        bool s;

        for (int is64 = 0; is64 < 2; is64++)
                for (int msb = 0; msb < 2; msb++)
                        for (int t = 0; t < 2; t++) {
                                uint16_t type = t ? ET_DYN : ET_EXEC;
                                size_t n;

                                n = make_elf(buf, sizeof(buf), is64, msb, type, dyn, 5);
                                s = true;
                                assert_int_equal(elf_is_static(buf, n, &s), 1);
                                assert_false(s);

                                n = make_elf(buf, sizeof(buf), is64, msb, type, stat, 4);
                                s = false;
                                assert_int_equal(elf_is_static(buf, n, &s), 1);
                                assert_true(s);

                                /* Program headers cut short. */
                                assert_int_equal(elf_is_static(buf, n - 1, &s), -EBADMSG);
                        }

        /* Not ELF at all. */
        assert_int_equal(elf_is_static("#!/bin/sh\n", 10, &s), 0);
        assert_int_equal(elf_is_static("", 0, &s), 0);
        assert_int_equal(elf_is_static(ELFMAG, SELFMAG, &s), 0); /* shorter than e_ident */
        assert_int_equal(elf_is_static(NULL, 0, &s), 0);

        /* Malformed: bad class, bad byte order, relocatable object, no program headers, a
         * too-small phentsize, phoff beyond the buffer, header truncated. */
        make_elf(buf, sizeof(buf), true, false, ET_EXEC, stat, 4);
        buf[EI_CLASS] = 7;
        assert_int_equal(elf_is_static(buf, sizeof(buf), &s), -EBADMSG);
        make_elf(buf, sizeof(buf), true, false, ET_EXEC, stat, 4);
        buf[EI_DATA] = 0;
        assert_int_equal(elf_is_static(buf, sizeof(buf), &s), -EBADMSG);
        make_elf(buf, sizeof(buf), true, false, ET_REL, stat, 4);
        assert_int_equal(elf_is_static(buf, sizeof(buf), &s), -EBADMSG);
        make_elf(buf, sizeof(buf), true, false, ET_EXEC, stat, 0);
        assert_int_equal(elf_is_static(buf, sizeof(buf), &s), -EBADMSG);
        make_elf(buf, sizeof(buf), true, false, ET_EXEC, stat, 4);
        put(buf + offsetof(Elf64_Ehdr, e_phentsize), 8, 2, false);
        assert_int_equal(elf_is_static(buf, sizeof(buf), &s), -EBADMSG);
        make_elf(buf, sizeof(buf), true, false, ET_EXEC, stat, 4);
        put(buf + offsetof(Elf64_Ehdr, e_phoff), UINT64_MAX - 8, 8, false);
        assert_int_equal(elf_is_static(buf, sizeof(buf), &s), -EBADMSG);
        put(buf + offsetof(Elf64_Ehdr, e_phoff), sizeof(buf) - 10, 8, false);
        assert_int_equal(elf_is_static(buf, sizeof(buf), &s), -EBADMSG);
        make_elf(buf, sizeof(buf), true, false, ET_EXEC, stat, 4);
        put(buf + offsetof(Elf64_Ehdr, e_phnum), 0xffff, 2, false);
        assert_int_equal(elf_is_static(buf, sizeof(buf), &s), -EBADMSG);
        assert_int_equal(elf_is_static(buf, 40, &s), -EBADMSG);
}

static int read_head(const char *path, uint8_t *buf, size_t size, size_t *ret_n) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t k;

        if (fd < 0)
                return -errno;
        k = read(fd, buf, size);
        if (k < 0)
                return -errno;
        *ret_n = (size_t) k;
        return 0;
}

static void test_elf_real_files(void **state) {
        _cleanup_free_ uint8_t *buf = malloc(65536);
        size_t n;
        bool s;

        assert_non_null(buf);
        /* /bin/sh is dynamically linked on every distribution we build on. */
        assert_int_equal(read_head("/bin/sh", buf, 65536, &n), 0);
        assert_int_equal(elf_is_static(buf, n, &s), 1);
        assert_false(s);
        /* glibc's ldconfig is static(-pie). */
        if (read_head("/sbin/ldconfig", buf, 65536, &n) == 0) {
                assert_int_equal(elf_is_static(buf, n, &s), 1);
                assert_true(s);
        } else
                print_message("no /sbin/ldconfig: static real-file case skipped\n");
}

static void test_script_interpreter(void **state) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL;

        assert_int_equal(script_interpreter("#!/bin/sh\necho\n", 15, &a), 1);
        assert_string_equal(a, "/bin/sh");
        assert_int_equal(script_interpreter("#! \t/usr/bin/env python3 -u\n", 28, &b), 1);
        assert_string_equal(b, "/usr/bin/env");
        assert_int_equal(script_interpreter("#!/bin/bash", 11, &c), 1);
        assert_string_equal(c, "/bin/bash");
        /* Only the first line counts, and only so far. */
        assert_int_equal(script_interpreter("#!/bin/sh\0garbage", 17, &d), 1);
        assert_string_equal(d, "/bin/sh");
        assert_int_equal(script_interpreter("#!\n/bin/sh\n", 11, &a), -EINVAL);
        assert_int_equal(script_interpreter("#!   \n", 6, &a), -EINVAL);
        assert_int_equal(script_interpreter("echo hi\n", 8, &a), 0);
        assert_int_equal(script_interpreter("#", 1, &a), 0);
        assert_int_equal(script_interpreter("", 0, &a), 0);
}

static void test_exec_is_secure(void **state) {
        /* setuid to another user; to oneself is no change of identity. */
        assert_true(exec_is_secure(04755, 0, 0, false, false, 1000, 1000));
        assert_false(exec_is_secure(04755, 1000, 0, false, false, 1000, 1000));
        assert_false(exec_is_secure(04755, 0, 0, false, true, 1000, 1000)); /* nosuid */
        /* setgid to another group; without group-x it is mandatory locking, not setgid. */
        assert_true(exec_is_secure(02755, 0, 5, false, false, 1000, 1000));
        assert_false(exec_is_secure(02755, 0, 1000, false, false, 1000, 1000));
        assert_false(exec_is_secure(02745, 0, 5, false, false, 1000, 1000));
        /* file capabilities: secure for a user, nothing gained for root. */
        assert_true(exec_is_secure(0755, 0, 0, true, false, 1000, 1000));
        assert_false(exec_is_secure(0755, 0, 0, true, false, 0, 0));
        assert_false(exec_is_secure(0755, 0, 0, true, true, 1000, 1000));
        assert_false(exec_is_secure(0755, 0, 0, false, false, 1000, 1000));
}

/* ---- resolution on real files --------------------------------------------------------- */

static char tmpdir[] = "/tmp/test-exec-check-XXXXXX";

static void make_file(const char *name, const char *content, mode_t mode, gid_t gid) {
        _cleanup_free_ char *p = NULL;
        _cleanup_close_ int fd = -EBADF;

        assert_true(asprintf(&p, "%s/%s", tmpdir, name) > 0);
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, content, strlen(content)), (ssize_t) strlen(content));
        if (gid != (gid_t) -1)
                assert_int_equal(fchown(fd, 0, gid), 0);
        assert_int_equal(fchmod(fd, mode), 0);
}

static int setup_tmpdir(void **state) {
        _cleanup_free_ char *d1 = NULL, *d2 = NULL;

        if (!mkdtemp(tmpdir) || chmod(tmpdir, 0755) < 0)
                return -1;
        assert_true(asprintf(&d1, "%s/d1", tmpdir) > 0);
        assert_true(asprintf(&d2, "%s/d2", tmpdir) > 0);
        assert_int_equal(mkdir(d1, 0755), 0);
        assert_int_equal(mkdir(d2, 0755), 0);
        make_file("plain", "data\n", 0644, (gid_t) -1);
        make_file("rootonly", "#!/bin/sh\n", 0700, (gid_t) -1);
        make_file("group100", "#!/bin/sh\n", 0750, 100);
        make_file("script", "#!/bin/sh\necho hi\n", 0755, (gid_t) -1);
        make_file("static-script", "#!/sbin/ldconfig -p\n", 0755, (gid_t) -1);
        make_file("badscript", "#!\n", 0755, (gid_t) -1);
        make_file("lost-interp", "#!/nonexistent/interp\n", 0755, (gid_t) -1);
        make_file("other", "just text, executable\n", 0755, (gid_t) -1);
        make_file("d1/prog", "#!/bin/sh\n", 0644, (gid_t) -1);
        make_file("d2/prog", "#!/bin/sh\n", 0755, (gid_t) -1);
        make_file("d1/only1", "#!/bin/sh\n", 0644, (gid_t) -1);
        return 0;
}

static int teardown_tmpdir(void **state) {
        _cleanup_free_ char *cmd = NULL;

        if (asprintf(&cmd, "rm -rf '%s'", tmpdir) > 0)
                (void) !system(cmd);
        return 0;
}

static char *tmp_path(const char *name) {
        char *p;
        assert_true(asprintf(&p, "%s/%s", tmpdir, name) > 0);
        return p;
}

static void assert_contains(const char *haystack, const char *needle) {
        if (!haystack || !strstr(haystack, needle))
                fail_msg("'%s' does not contain '%s'", strna(haystack), needle);
}

/* Who resolves: exec_resolve() runs as the current process, as in the launch child. */
typedef struct As {
        uid_t uid;
        gid_t gid;
        const gid_t *groups;
        size_t n_groups;
        const char *cwd;
        const char *path; /* PATH; NULL = default */
} As;

typedef struct Resolved {
        ExecKind kind;
        char *path, *interpreter, *error;
} Resolved;

static void resolved_done(Resolved *r) {
        free(r->path);
        free(r->interpreter);
        free(r->error);
        *r = (Resolved){};
}

static void write_str(int fd, const char *s) {
        (void) !write(fd, s ?: "", strlen(s ?: "") + 1);
}

/* Forks, becomes who (no capabilities), enters who->cwd and resolves argv0 there. */
static int resolve_as(const As *who, const char *argv0, Resolved *ret) {
        char buf[16384];
        int p[2], status, r;
        ssize_t n;
        pid_t pid;

        assert_int_equal(pipe(p), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                ExecFile f = EXEC_FILE_NULL;
                _cleanup_free_ char *err = NULL;
                int32_t k[2];

                close(p[0]);
                if (setgroups(who->n_groups, who->groups) < 0 ||
                    setresgid(who->gid, who->gid, who->gid) < 0 ||
                    setresuid(who->uid, who->uid, who->uid) < 0 || chdir(who->cwd ?: "/") < 0)
                        _exit(100);
                r = exec_resolve(argv0, who->path, 64, &f, &err);
                k[0] = r;
                k[1] = r >= 0 ? f.kind : -1;
                (void) !write(p[1], k, sizeof(k));
                write_str(p[1], r >= 0 ? f.path : NULL);
                write_str(p[1], r >= 0 ? f.interpreter : NULL);
                write_str(p[1], err);
                _exit(0);
        }
        close(p[1]);
        n = 0;
        for (;;) {
                ssize_t k = read(p[0], buf + n, sizeof(buf) - 1 - (size_t) n);
                if (k <= 0)
                        break;
                n += k;
        }
        close(p[0]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        assert_true((size_t) n >= 2 * sizeof(int32_t) + 3);
        buf[n] = '\0';
        {
                int32_t k[2];
                const char *s = buf + sizeof(k);

                memcpy(k, buf, sizeof(k));
                *ret = (Resolved){ .kind = (ExecKind) k[1] };
                ret->path = *s ? strdup(s) : NULL;
                s += strlen(s) + 1;
                ret->interpreter = *s ? strdup(s) : NULL;
                s += strlen(s) + 1;
                ret->error = *s ? strdup(s) : NULL;
                return k[0];
        }
}

static void test_resolve_path_search(void **state) {
        As nobody = { .uid = 65534, .gid = 65534, .cwd = tmpdir, .path = "/nonexistent:/bin" };
        _cleanup_(resolved_done) Resolved c = {};
        _cleanup_free_ char *d1 = tmp_path("d1"), *d2 = tmp_path("d2"), *search = NULL,
                            *expect = tmp_path("d2/prog"), *sh = realpath("/bin/sh", NULL);

        assert_int_equal(resolve_as(&nobody, "sh", &c), 0);
        assert_null(c.error);
        /* The canonical path of the opened file, through any symlink. */
        assert_string_equal(c.path, sh);
        assert_int_equal(c.kind, EXEC_KIND_DYNAMIC);
        assert_null(c.interpreter);
        resolved_done(&c);

        /* The default PATH when the caller has none. */
        nobody.path = NULL;
        assert_int_equal(resolve_as(&nobody, "sh", &c), 0);
        assert_string_equal(c.path, sh);
        resolved_done(&c);

        /* The first executable candidate wins over an earlier non-executable one. */
        assert_true(asprintf(&search, "%s:%s", d1, d2) > 0);
        nobody.path = search;
        assert_int_equal(resolve_as(&nobody, "prog", &c), 0);
        assert_string_equal(c.path, expect);
        assert_int_equal(c.kind, EXEC_KIND_DYNAMIC);
        assert_string_equal(c.interpreter, sh);
        resolved_done(&c);

        /* Only a non-executable candidate: that error, naming the path. */
        assert_int_equal(resolve_as(&nobody, "only1", &c), -EACCES);
        assert_contains(c.error, "/d1/only1");
        assert_contains(c.error, "not executable by uid 65534");
        resolved_done(&c);

        /* Nowhere in PATH: the command and the PATH are named. */
        assert_int_equal(resolve_as(&nobody, "no-such-command-xyz", &c), -ENOENT);
        assert_contains(c.error, "'no-such-command-xyz'");
        assert_contains(c.error, search);
        resolved_done(&c);

        /* A relative PATH entry is relative to the caller's cwd; an empty one is the cwd. */
        nobody.path = "d2";
        assert_int_equal(resolve_as(&nobody, "prog", &c), 0);
        assert_string_equal(c.path, expect);
        resolved_done(&c);
        nobody.path = ":/bin";
        assert_int_equal(resolve_as(&nobody, "script", &c), 0);
        assert_int_equal(c.kind, EXEC_KIND_DYNAMIC);
        resolved_done(&c);

        /* A bound on PATH entries (64 in resolve_as()). */
        {
                _cleanup_free_ char *many = malloc(200 * 2 + 1);
                assert_non_null(many);
                for (size_t i = 0; i < 200; i++)
                        memcpy(many + 2 * i, ".:", 2);
                many[399] = '\0';
                nobody.path = many;
                assert_int_equal(resolve_as(&nobody, "no-such-command-xyz", &c), -E2BIG);
                assert_contains(c.error, "more than 64 entries");
                resolved_done(&c);
        }
}

static void test_resolve_paths(void **state) {
        As nobody = { .uid = 65534, .gid = 65534, .cwd = tmpdir };
        As root = { .uid = 0, .gid = 0, .cwd = tmpdir };
        As grouped = {
                .uid = 65534, .gid = 65534, .groups = (gid_t[]){ 100 }, .n_groups = 1, .cwd = tmpdir
        };
        _cleanup_(resolved_done) Resolved c = {};
        _cleanup_free_ char *script = tmp_path("script");

        /* Relative with a slash: against the cwd; the canonical path through the fd. */
        assert_int_equal(resolve_as(&nobody, "./script", &c), 0);
        assert_string_equal(c.path, script);
        resolved_done(&c);
        assert_int_equal(resolve_as(&nobody, ".//d2/../script", &c), 0);
        assert_string_equal(c.path, script);
        resolved_done(&c);

        assert_int_equal(resolve_as(&nobody, "/nonexistent/x", &c), -ENOENT);
        assert_contains(c.error, "'/nonexistent/x'");
        resolved_done(&c);

        assert_int_equal(resolve_as(&root, "./plain", &c), -EACCES);
        assert_contains(c.error, "plain' is not executable by uid 0");
        resolved_done(&c);

        assert_int_equal(resolve_as(&nobody, "./rootonly", &c), -EACCES);
        assert_contains(c.error, "rootonly");
        resolved_done(&c);
        assert_int_equal(resolve_as(&root, "./rootonly", &c), 0);
        resolved_done(&c);

        assert_int_equal(resolve_as(&nobody, "./group100", &c), -EACCES);
        resolved_done(&c);
        assert_int_equal(resolve_as(&grouped, "./group100", &c), 0);
        resolved_done(&c);

        assert_int_equal(resolve_as(&nobody, "/tmp", &c), -EISDIR);
        assert_contains(c.error, "'/tmp' is a directory");
        resolved_done(&c);

        assert_int_equal(resolve_as(&nobody, "/dev/null", &c), -EACCES);
        assert_contains(c.error, "'/dev/null' is not a regular file");
        resolved_done(&c);

        assert_int_equal(resolve_as(&nobody, "./lost-interp", &c), -ENOENT);
        assert_contains(c.error, "the interpreter '/nonexistent/interp', which does not exist");
        resolved_done(&c);

        assert_int_equal(resolve_as(&nobody, "./badscript", &c), -ENOEXEC);
        assert_contains(c.error, "badscript");
        resolved_done(&c);

        assert_int_equal(resolve_as(&nobody, "./other", &c), 0);
        assert_int_equal(c.kind, EXEC_KIND_OTHER);
        resolved_done(&c);

        assert_int_equal(resolve_as(&nobody, "", &c), -EINVAL);
        resolved_done(&c);

        /* What the caller cannot see answers like what does not exist (issue 16). */
        {
                _cleanup_(resolved_done) Resolved a = {}, b = {};
                _cleanup_free_ char *hidden = tmp_path("hidden"), *cmd = NULL;

                assert_int_equal(mkdir(hidden, 0700), 0);
                make_file("hidden/there", "#!/bin/sh\n", 0755, (gid_t) -1);
                assert_int_equal(resolve_as(&nobody, "./hidden/there", &a), -EACCES);
                assert_int_equal(resolve_as(&nobody, "./hidden/nope", &b), -EACCES);
                assert_contains(a.error, "Permission denied");
                assert_contains(b.error, "Permission denied");
                assert_true(asprintf(&cmd, "rm -rf '%s'", hidden) > 0);
                assert_int_equal(system(cmd), 0);
        }
}

static void test_resolve_kinds(void **state) {
        As nobody = { .uid = 65534, .gid = 65534, .cwd = tmpdir };
        As root = { .uid = 0, .gid = 0, .cwd = tmpdir };
        _cleanup_(resolved_done) Resolved c = {};
        _cleanup_free_ char *copy = tmp_path("suid-true"), *cmd = NULL, *caps = tmp_path("caps");
        struct statvfs sv;
        bool nosuid;

        if (access("/sbin/ldconfig", X_OK) == 0) {
                assert_int_equal(resolve_as(&nobody, "/sbin/ldconfig", &c), 0);
                assert_int_equal(c.kind, EXEC_KIND_STATIC);
                assert_true(exec_kind_needs_injection(c.kind));
                resolved_done(&c);

                /* A script run by a static interpreter cannot be reached either. */
                assert_int_equal(resolve_as(&nobody, "./static-script", &c), 0);
                assert_int_equal(c.kind, EXEC_KIND_STATIC);
                assert_contains(c.interpreter, "/ldconfig");
                resolved_done(&c);
        }

        assert_int_equal(statvfs(tmpdir, &sv), 0);
        nosuid = sv.f_flag & ST_NOSUID;

        /* A set-user-ID copy of a dynamic program owned by root. */
        assert_true(asprintf(&cmd, "cp /bin/true '%s' && chmod 4755 '%s'", copy, copy) > 0);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(resolve_as(&nobody, copy, &c), 0);
        assert_int_equal(c.kind, nosuid ? EXEC_KIND_DYNAMIC : EXEC_KIND_SECURE_EXEC);
        resolved_done(&c);
        assert_int_equal(resolve_as(&root, copy, &c), 0);
        assert_int_equal(c.kind, EXEC_KIND_DYNAMIC);
        resolved_done(&c);

        /* A set-user-ID script is not secure-exec: the kernel ignores a script's set-id bits. */
        free(cmd);
        assert_true(asprintf(&cmd, "chmod 4755 '%s/script'", tmpdir) > 0);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(resolve_as(&nobody, "./script", &c), 0);
        assert_int_equal(c.kind, EXEC_KIND_DYNAMIC);
        resolved_done(&c);

        /* File capabilities (v2 xattr: CAP_NET_RAW permitted + effective). */
        free(cmd);
        assert_true(asprintf(&cmd, "cp /bin/true '%s'", caps) > 0);
        assert_int_equal(system(cmd), 0);
        {
                uint32_t data[5] = { htole32(VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE),
                                     htole32(1u << CAP_NET_RAW), 0, 0, 0 };
                if (setxattr(caps, "security.capability", data, sizeof(data), 0) < 0) {
                        print_message("cannot set file capabilities here (%m): case skipped\n");
                        return;
                }
        }
        assert_int_equal(resolve_as(&nobody, caps, &c), 0);
        assert_int_equal(c.kind, nosuid ? EXEC_KIND_DYNAMIC : EXEC_KIND_SECURE_EXEC);
        resolved_done(&c);
        assert_int_equal(resolve_as(&root, caps, &c), 0);
        assert_int_equal(c.kind, EXEC_KIND_DYNAMIC);
}

/* A caller that cannot read an execute-only program: it is let through as "other" (execve
 * decides), not refused. */
static void test_execute_only(void **state) {
        As nobody = { .uid = 65534, .gid = 65534, .cwd = "/" };
        _cleanup_(resolved_done) Resolved c = {};
        _cleanup_free_ char *p = tmp_path("exec-only");

        make_file("exec-only", "#!/bin/sh\n", 0711, (gid_t) -1);
        assert_int_equal(chown(p, 1, 1), 0);
        assert_int_equal(resolve_as(&nobody, p, &c), 0);
        assert_int_equal(c.kind, EXEC_KIND_OTHER);
}

static void test_kind_strings(void **state) {
        assert_string_equal(exec_kind_to_string(EXEC_KIND_DYNAMIC), "dynamic");
        assert_string_equal(exec_kind_to_string(EXEC_KIND_STATIC), "static");
        assert_string_equal(exec_kind_to_string(EXEC_KIND_SECURE_EXEC), "secure-exec");
        assert_string_equal(exec_kind_to_string(EXEC_KIND_OTHER), "other");
        assert_null(exec_kind_to_string(_EXEC_KIND_MAX));
        assert_null(exec_kind_to_string(_EXEC_KIND_INVALID));
        assert_false(exec_kind_needs_injection(EXEC_KIND_DYNAMIC));
        assert_false(exec_kind_needs_injection(EXEC_KIND_OTHER));
        assert_true(exec_kind_needs_injection(EXEC_KIND_STATIC));
        assert_true(exec_kind_needs_injection(EXEC_KIND_SECURE_EXEC));
}

int main(void) {
        const struct CMUnitTest pure[] = {
                cmocka_unit_test(test_elf_is_static),      cmocka_unit_test(test_elf_real_files),
                cmocka_unit_test(test_script_interpreter), cmocka_unit_test(test_exec_is_secure),
                cmocka_unit_test(test_kind_strings),
        };
        const struct CMUnitTest files[] = {
                cmocka_unit_test(test_resolve_path_search),
                cmocka_unit_test(test_resolve_paths),
                cmocka_unit_test(test_resolve_kinds),
                cmocka_unit_test(test_execute_only),
        };
        int r;

        r = cmocka_run_group_tests(pure, NULL, NULL);
        if (r != 0)
                return r;
        if (geteuid() != 0) {
                /* The file cases chown and chmod to root-owned set-user-ID files. */
                printf("not root: the file resolution cases are skipped\n");
                return 0;
        }
        return cmocka_run_group_tests(files, setup_tmpdir, teardown_tmpdir);
}
