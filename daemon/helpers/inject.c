/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/macro.h"
#include "common/parse-util.h"
#include "common/proc.h"
#include "common/process-util.h"
#include "daemon/helpers/inject.h"

/* How much of the target's executable mappings we scan for a syscall instruction before giving up.
 * The vDSO (scanned first) always has one on x86_64 and aarch64; this only matters for processes
 * that unmapped it. */
#define INJECT_SCAN_MAX (64u * 1024u * 1024u)
/* The largest /proc/PID/maps we read (a big qemu has a few thousand lines, ~100 bytes each). */
#define INJECT_MAPS_MAX (16u * 1024u * 1024u)
/* Signals we re-send after detaching (only stop signals, which cannot be blocked, end up here; this
 * bounds a pathological storm of them). */
#define INJECT_RESEND_MAX 8u

static const char *const inject_stage_table[_INJECT_STAGE_MAX] = {
        [INJECT_STAGE_VALIDATE] = "validate",
        [INJECT_STAGE_SEIZE] = "seize",
        [INJECT_STAGE_INTERRUPT] = "interrupt",
        [INJECT_STAGE_IDENTITY] = "identity",
        [INJECT_STAGE_GETREGS] = "getregs",
        [INJECT_STAGE_ABI] = "abi",
        [INJECT_STAGE_FIND_SYSCALL] = "find-syscall",
        [INJECT_STAGE_SETREGS] = "setregs",
        [INJECT_STAGE_RUN] = "run",
        [INJECT_STAGE_RESTORE] = "restore",
        [INJECT_STAGE_DETACH] = "detach",
        [INJECT_STAGE_SYSCALL] = "syscall",
};

const char *inject_stage_to_string(InjectStage s) {
        if (s < 0 || s >= _INJECT_STAGE_MAX)
                return NULL;
        return inject_stage_table[s];
}

/* ---- architecture: registers, the syscall instruction, the ABI check ---- */

#if defined(__x86_64__)

typedef struct user_regs_struct Regs;

static const uint8_t syscall_insn[] = { 0x0f, 0x05 }; /* syscall */
#define SYSCALL_INSN_ALIGN 1u
/* A 32-bit (compat) program enters the kernel by int $0x80, with the i386 numbers and argument
 * registers. Only the exec-stop lock of static programs supports it (the old i386 binaries). */
static const uint8_t compat_syscall_insn[] = { 0xcd, 0x80 }; /* int $0x80 */
#define HAVE_COMPAT 1
#define NR32_MLOCKALL 152
#define NR32_PRCTL 172
#define NR32_EXIT_GROUP 252

static bool regs_compat(const Regs *r) {
        return r->cs == 0x23;
}

static void regs_prepare_compat(Regs *r, uint64_t insn, long nr, const long a[6]) {
        r->rip = insn;
        r->rax = (uint64_t) nr;
        r->orig_rax = (uint64_t) -1;
        r->rbx = (uint64_t) (uint32_t) a[0];
        r->rcx = (uint64_t) (uint32_t) a[1];
        r->rdx = (uint64_t) (uint32_t) a[2];
        r->rsi = (uint64_t) (uint32_t) a[3];
        r->rdi = (uint64_t) (uint32_t) a[4];
        r->rbp = (uint64_t) (uint32_t) a[5];
}

static int regs_get(pid_t tid, Regs *ret) {
        if (ptrace(PTRACE_GETREGS, tid, NULL, ret) < 0)
                return negative_errno();
        return 0;
}

static int regs_set(pid_t tid, const Regs *r) {
        if (ptrace(PTRACE_SETREGS, tid, NULL, r) < 0)
                return negative_errno();
        return 0;
}

static bool regs_abi_supported(const Regs *r) {
        return r->cs == 0x33; /* __USER_CS: 64-bit code; 0x23 is the 32-bit compat segment */
}

static void regs_prepare(Regs *r, uint64_t insn, long nr, const long a[6]) {
        r->rip = insn;
        r->rax = (uint64_t) nr;
        /* Not "in a syscall": the kernel must not apply its restart logic (rewind rip, reload rax)
         * to our state when the thread leaves the current stop. */
        r->orig_rax = (uint64_t) -1;
        r->rdi = (uint64_t) a[0];
        r->rsi = (uint64_t) a[1];
        r->rdx = (uint64_t) a[2];
        r->r10 = (uint64_t) a[3];
        r->r8 = (uint64_t) a[4];
        r->r9 = (uint64_t) a[5];
}

static long regs_result(const Regs *r) {
        return regs_compat(r) ? (long) (int32_t) r->rax : (long) r->rax;
}

static long regs_syscall_nr(const Regs *r) {
        return (long) r->orig_rax;
}

#elif defined(__aarch64__)

#include <asm/ptrace.h>

typedef struct Regs {
        struct user_pt_regs r;
        int syscallno; /* NT_ARM_SYSTEM_CALL: -1 when not in a syscall */
} Regs;

static const uint8_t syscall_insn[] = { 0x01, 0x00, 0x00, 0xd4 }; /* svc #0, little endian */
#define SYSCALL_INSN_ALIGN 4u
static const uint8_t compat_syscall_insn[sizeof(syscall_insn)] = {};
#define HAVE_COMPAT 0
#define NR32_MLOCKALL (-1)
#define NR32_PRCTL (-1)
#define NR32_EXIT_GROUP (-1)

static bool regs_compat(const Regs *r) {
        return false;
}

static void regs_prepare_compat(Regs *r, uint64_t insn, long nr, const long a[6]) {
}

static int regs_get(pid_t tid, Regs *ret) {
        struct iovec iov = { .iov_base = &ret->r, .iov_len = sizeof(ret->r) };
        if (ptrace(PTRACE_GETREGSET, tid, (void *) NT_PRSTATUS, &iov) < 0)
                return negative_errno();
        iov = (struct iovec){ .iov_base = &ret->syscallno, .iov_len = sizeof(ret->syscallno) };
        if (ptrace(PTRACE_GETREGSET, tid, (void *) NT_ARM_SYSTEM_CALL, &iov) < 0)
                return negative_errno();
        return 0;
}

static int regs_set(pid_t tid, const Regs *r) {
        struct iovec iov = { .iov_base = (void *) &r->r, .iov_len = sizeof(r->r) };
        if (ptrace(PTRACE_SETREGSET, tid, (void *) NT_PRSTATUS, &iov) < 0)
                return negative_errno();
        iov = (struct iovec){ .iov_base = (void *) &r->syscallno, .iov_len = sizeof(r->syscallno) };
        if (ptrace(PTRACE_SETREGSET, tid, (void *) NT_ARM_SYSTEM_CALL, &iov) < 0)
                return negative_errno();
        return 0;
}

static bool regs_abi_supported(const Regs *r) {
        return !(r->r.pstate & 0x10); /* PSR_MODE32_BIT: an AArch32 (compat) task */
}

static void regs_prepare(Regs *r, uint64_t insn, long nr, const long a[6]) {
        r->r.pc = insn;
        for (size_t i = 0; i < 6; i++)
                r->r.regs[i] = (uint64_t) a[i];
        r->r.regs[8] = (uint64_t) nr;
        /* arm64 already rewound an interrupted syscall (pc at its svc, x0 = orig_x0) before the
         * stop we are in, and forgot the syscall; keep it that way for our state. */
        r->syscallno = -1;
}

static long regs_result(const Regs *r) {
        return (long) r->r.regs[0];
}

static long regs_syscall_nr(const Regs *r) {
        return (long) r->syscallno;
}

#else
#define INJECT_UNSUPPORTED_ARCH 1
#endif

#ifndef INJECT_UNSUPPORTED_ARCH

/* ---- waiting for the tracee ---- */

typedef enum StopKind {
        STOP_EVENT, /* PTRACE_EVENT_STOP: our interrupt, or a group-stop */
        STOP_SYSCALL, /* syscall entry or exit (PTRACE_O_TRACESYSGOOD) */
        STOP_SIGNAL, /* signal-delivery-stop: sig is being delivered */
        STOP_OTHER, /* another ptrace event */
} StopKind;

/* Waits for the next stop of tid. Returns the StopKind and the signal in *ret_sig, or -ESRCH if it
 * exited or was killed. */
static int wait_stop(pid_t tid, int *ret_sig) {
        int status;

        for (;;) {
                pid_t p = waitpid(tid, &status, __WALL);
                if (p < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno() == -ECHILD ? -ESRCH : negative_errno();
                }
                if (p != tid)
                        continue;
                if (WIFEXITED(status) || WIFSIGNALED(status))
                        return -ESRCH;
                if (WIFSTOPPED(status))
                        break;
        }

        int sig = WSTOPSIG(status);
        unsigned event = (unsigned) status >> 16;
        *ret_sig = sig;
        if (event == PTRACE_EVENT_STOP)
                return STOP_EVENT;
        if (event != 0)
                return STOP_OTHER;
        if (sig == (SIGTRAP | 0x80))
                return STOP_SYSCALL;
        return STOP_SIGNAL;
}

static int ptrace_resume(int request, pid_t tid, int sig) {
        if (ptrace(request, tid, NULL, (void *) (uintptr_t) sig) < 0)
                return negative_errno();
        return 0;
}

/* ---- finding a syscall instruction ---- */

typedef struct Mapping {
        uint64_t start, end;
} Mapping;

/* Scans [m->start, m->end) of the target through its /proc/PID/mem fd. Returns 1 with the address
 * in *ret, 0 if not found, -errno on read errors. *budget is decremented. */
static int scan_mapping(int mem_fd, const Mapping *m, const uint8_t *insn, size_t *budget,
                        uint64_t *ret) {
        uint8_t buf[64 * 1024 + sizeof(syscall_insn)];
        size_t carry = 0; /* bytes kept from the end of the previous chunk */
        uint64_t addr = m->start;

        while (addr<m->end && * budget> 0) {
                size_t want = MIN((uint64_t) 64 * 1024, m->end - addr);
                want = MIN(want, *budget);
                ssize_t n = pread(mem_fd, buf + carry, want, (off_t) addr);
                if (n < 0)
                        return errno == EIO ? 0 : negative_errno(); /* EIO: unreadable area */
                if (n == 0)
                        return 0;
                *budget -= (size_t) n;

                size_t total = carry + (size_t) n;
                uint64_t base = addr - carry; /* address of buf[0] */
                for (size_t i = 0; i + sizeof(syscall_insn) <= total; i++) {
                        if ((base + i) % SYSCALL_INSN_ALIGN != 0)
                                continue;
                        if (memcmp(buf + i, insn, sizeof(syscall_insn)) == 0) {
                                *ret = base + i;
                                return 1;
                        }
                }
                carry = MIN(total, sizeof(syscall_insn) - 1);
                memmove(buf, buf + total - carry, carry);
                addr += (uint64_t) n;
        }
        return 0;
}

/* Parses one /proc/PID/maps line: "start-end perms offset dev inode [path]". Returns true for an
 * executable mapping; *ret_vdso tells whether it is the vDSO. */
static bool maps_line_parse(const char *line, size_t len, Mapping *ret, bool *ret_vdso) {
        char tmp[512];
        unsigned long long start, end;
        char perms[8];

        if (len >= sizeof(tmp))
                len = sizeof(tmp) - 1; /* the path may be long; we only need its tail */
        memcpy(tmp, line, len);
        tmp[len] = '\0';
        if (sscanf(tmp, "%llx-%llx %7s", &start, &end, perms) != 3)
                return false;
        if (end <= start || strlen(perms) < 4 || perms[2] != 'x')
                return false;
        *ret = (Mapping){ .start = start, .end = end };
        *ret_vdso = len >= 6 && memcmp(tmp + len - 6, "[vdso]", 6) == 0;
        return true;
}

/* Through the thread's own /proc entry: a zombie leader's /proc/PID has no mm any more. */
static int find_insn(pid_t pid, pid_t tid, const uint8_t *insn, uint64_t *ret) {
        _cleanup_free_ char *maps = NULL;
        _cleanup_close_ int mem_fd = -EBADF;
        char path[64];
        size_t size, budget = INJECT_SCAN_MAX;
        int r;

        snprintf(path, sizeof(path), "/proc/%d/task/%d/maps", (int) pid, (int) tid);
        r = read_file_at(AT_FDCWD, path, INJECT_MAPS_MAX, &maps, &size);
        if (r < 0)
                return r;
        snprintf(path, sizeof(path), "/proc/%d/task/%d/mem", (int) pid, (int) tid);
        mem_fd = open(path, O_RDONLY | O_CLOEXEC);
        if (mem_fd < 0)
                return negative_errno();

        /* Two passes: the vDSO first (small, always has one), then every other executable mapping
         * in address order. */
        for (int pass = 0; pass < 2; pass++) {
                const char *p = maps, *end = maps + size;
                while (p < end) {
                        const char *nl = memchr(p, '\n', (size_t) (end - p));
                        size_t len = nl ? (size_t) (nl - p) : (size_t) (end - p);
                        Mapping m;
                        bool vdso;

                        if (maps_line_parse(p, len, &m, &vdso) && vdso == (pass == 0)) {
                                r = scan_mapping(mem_fd, &m, insn, &budget, ret);
                                if (r != 0)
                                        return r < 0 ? r : 0;
                        }
                        p += len + 1;
                }
        }
        return -ENOEXEC;
}

static int find_syscall_insn(pid_t pid, pid_t tid, uint64_t *ret) {
        return find_insn(pid, tid, syscall_insn, ret);
}

/* ---- choosing the thread ---- */

static int thread_state(pid_t pid, pid_t tid, char *ret) {
        _cleanup_close_ int dfd = -EBADF;
        char path[64];
        ProcStat st;
        int r;

        snprintf(path, sizeof(path), "/proc/%d/task/%d", (int) pid, (int) tid);
        dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return errno == ENOENT ? -ESRCH : negative_errno();
        r = proc_stat_read(dfd, &st);
        if (r < 0)
                return r;
        *ret = st.state;
        return 0;
}

/* The leader, unless it is a zombie (it called pthread_exit() while other threads run): then the
 * first live thread. */
static int choose_thread(pid_t pid, pid_t *ret) {
        char state, path[64];
        DIR *dir;
        int r;

        r = thread_state(pid, pid, &state);
        if (r < 0)
                return r;
        if (state != 'Z' && state != 'X') {
                *ret = pid;
                return 0;
        }

        snprintf(path, sizeof(path), "/proc/%d/task", (int) pid);
        dir = opendir(path);
        if (!dir)
                return errno == ENOENT ? -ESRCH : negative_errno();
        r = -ESRCH;
        for (struct dirent *de = readdir(dir); de; de = readdir(dir)) {
                uint32_t t;
                if (parse_uint32(de->d_name, &t) < 0 || t == 0 || t > INT32_MAX || (pid_t) t == pid)
                        continue;
                if (thread_state(pid, (pid_t) t, &state) >= 0 && state != 'Z' && state != 'X') {
                        *ret = (pid_t) t;
                        r = 0;
                        break;
                }
        }
        closedir(dir);
        return r;
}

/* ---- the injection ---- */

/* Checks, with tid stopped under our ptrace, that it belongs to pid and that pidfd (if given) still
 * refers to the live process pid: then the stopped thread is the pidfd's process. */
static int verify_identity(pid_t pid, pid_t tid, int pidfd) {
        char path[64];

        if (pidfd >= 0) {
                pid_t now;
                int r = pidfd_get_pid(pidfd, &now);
                if (r < 0)
                        return r;
                if (now != pid)
                        return -ESRCH;
        }
        snprintf(path, sizeof(path), "/proc/%d/task/%d", (int) pid, (int) tid);
        if (access(path, F_OK) < 0)
                return -ESRCH;
        return 0;
}

typedef struct Injection {
        pid_t pid, tid;
        bool seized;
        bool mask_saved, regs_changed;
        Regs saved;
        uint64_t saved_mask;
        int resend[INJECT_RESEND_MAX];
        size_t n_resend;
} Injection;

static void injection_note_signal(Injection *inj, int sig) {
        if (sig < SIGRTMIN)
                for (size_t i = 0; i < inj->n_resend; i++)
                        if (inj->resend[i] == sig)
                                return; /* standard signals coalesce anyway */
        if (inj->n_resend < INJECT_RESEND_MAX)
                inj->resend[inj->n_resend++] = sig;
}

/* Stage 1: seize and stop the thread inside the kernel's signal path. */
static int injection_stop(Injection *inj) {
        int r, sig;

        if (ptrace(PTRACE_SEIZE, inj->tid, NULL, (void *) (uintptr_t) PTRACE_O_TRACESYSGOOD) < 0)
                return negative_errno();
        inj->seized = true;
        if (ptrace(PTRACE_INTERRUPT, inj->tid, NULL, NULL) < 0)
                return negative_errno();

        for (;;) {
                r = wait_stop(inj->tid, &sig);
                if (r < 0)
                        return r;
                if (r == STOP_EVENT)
                        return 0; /* our interrupt, or a group-stop: either way stopped */
                /* A signal being delivered before our stop: let it through unchanged. */
                r = ptrace_resume(PTRACE_CONT, inj->tid, r == STOP_SIGNAL ? sig : 0);
                if (r < 0)
                        return r;
        }
}

/* Stage 2: run the syscall from the entry stop to the exit stop; *ret_result at exit. */
static int injection_run(Injection *inj, long nr, long *ret_result) {
        bool entered = false;
        int r, sig;

        r = ptrace_resume(PTRACE_SYSCALL, inj->tid, 0);
        if (r < 0)
                return r;
        for (;;) {
                r = wait_stop(inj->tid, &sig);
                if (r < 0)
                        return r;
                if (r == STOP_SYSCALL) {
                        Regs now;
                        r = regs_get(inj->tid, &now);
                        if (r < 0)
                                return r;
                        if (entered) {
                                *ret_result = regs_result(&now);
                                return 0;
                        }
                        if (regs_syscall_nr(&now) != nr)
                                return -EPROTO; /* not our syscall: refuse to go on blindly */
                        entered = true;
                } else if (r == STOP_SIGNAL) {
                        /* Every blockable signal is blocked: this is a stop signal (or an
                         * unexpected synchronous one). Suppress it now, re-send it after. */
                        injection_note_signal(inj, sig);
                }
                /* STOP_EVENT (group-stop, a second interrupt) and others: keep going. */
                r = ptrace_resume(PTRACE_SYSCALL, inj->tid, 0);
                if (r < 0)
                        return r;
        }
}

static int injection_restore(Injection *inj) {
        int r = 0;

        if (inj->regs_changed) {
                r = regs_set(inj->tid, &inj->saved);
                if (r < 0)
                        return r;
                inj->regs_changed = false;
        }
        if (inj->mask_saved) {
                if (ptrace(PTRACE_SETSIGMASK, inj->tid, (void *) sizeof(inj->saved_mask),
                           &inj->saved_mask) < 0)
                        return negative_errno();
                inj->mask_saved = false;
        }
        return r;
}

/* Final stage: stop once more inside the kernel's signal path with the restored registers and
 * detach there, so the kernel's own syscall-restart logic runs on them. */
static int injection_detach(Injection *inj, bool via_stop) {
        int r, sig = 0;

        if (via_stop) {
                if (ptrace(PTRACE_INTERRUPT, inj->tid, NULL, NULL) < 0)
                        return negative_errno();
                r = ptrace_resume(PTRACE_CONT, inj->tid, 0);
                if (r < 0)
                        return r;
                for (;;) {
                        r = wait_stop(inj->tid, &sig);
                        if (r < 0)
                                return r;
                        if (r == STOP_EVENT) {
                                sig = 0;
                                break;
                        }
                        if (r == STOP_SIGNAL)
                                break; /* deliver it with the detach: same semantics */
                        r = ptrace_resume(PTRACE_CONT, inj->tid, 0);
                        if (r < 0)
                                return r;
                }
        }
        if (ptrace(PTRACE_DETACH, inj->tid, NULL, (void *) (uintptr_t) sig) < 0)
                return negative_errno();
        inj->seized = false;

        for (size_t i = 0; i < inj->n_resend; i++)
                (void) syscall(SYS_tgkill, inj->pid, inj->tid, inj->resend[i]);
        return 0;
}

/* Best effort on a failure path: put back what we changed and let the thread go. */
static void injection_abort(Injection *inj) {
        if (!inj->seized)
                return;
        if (injection_restore(inj) < 0)
                log_debug("Failed to restore thread %d after a failed injection.", inj->tid);
        (void) ptrace(PTRACE_DETACH, inj->tid, NULL, NULL);
        inj->seized = false;
}

static bool syscall_allowed(long nr) {
        return nr == SYS_mlockall || nr == SYS_munlockall;
}

int inject_syscall_verified(pid_t pid, pid_t tid, int pidfd, long nr, const long args[6],
                            InjectVerifyFunc verify, void *userdata, long *ret_result,
                            InjectStage *ret_stage) {
        Injection inj = { .pid = pid, .tid = tid };
        InjectStage stage = INJECT_STAGE_VALIDATE;
        uint64_t insn, all = UINT64_MAX;
        long result = 0;
        Regs call;
        int r;

        if (pid <= 0 || tid < 0 || !args || !syscall_allowed(nr)) {
                r = -EINVAL;
                goto fail;
        }
        if (pid == getpid()) {
                r = -EPERM; /* a process cannot trace itself */
                goto fail;
        }
        if (tid == 0) {
                r = choose_thread(pid, &inj.tid);
                if (r < 0)
                        goto fail;
        }

        stage = INJECT_STAGE_SEIZE;
        r = injection_stop(&inj);
        if (r < 0) {
                if (inj.seized)
                        stage = INJECT_STAGE_INTERRUPT;
                goto fail;
        }

        stage = INJECT_STAGE_IDENTITY;
        r = verify_identity(pid, inj.tid, pidfd);
        if (r < 0)
                goto fail;
        /* Stopped under us, it cannot change any more: whatever was checked before the seize
         * is checked again now (verify → act → verify again). */
        if (verify) {
                r = verify(pid, pidfd, userdata);
                if (r < 0)
                        goto fail;
        }

        stage = INJECT_STAGE_GETREGS;
        r = regs_get(inj.tid, &inj.saved);
        if (r < 0)
                goto fail;
        if (ptrace(PTRACE_GETSIGMASK, inj.tid, (void *) sizeof(inj.saved_mask), &inj.saved_mask) <
            0) {
                r = negative_errno();
                goto fail;
        }

        stage = INJECT_STAGE_ABI;
        if (!regs_abi_supported(&inj.saved)) {
                r = -EOPNOTSUPP;
                goto fail;
        }

        stage = INJECT_STAGE_FIND_SYSCALL;
        r = find_syscall_insn(pid, inj.tid, &insn);
        if (r < 0)
                goto fail;

        stage = INJECT_STAGE_SETREGS;
        /* Block every signal: whatever arrives now stays pending and is delivered normally once the
         * old mask is back (SIGKILL and SIGSTOP cannot be blocked). */
        if (ptrace(PTRACE_SETSIGMASK, inj.tid, (void *) sizeof(all), &all) < 0) {
                r = negative_errno();
                goto fail;
        }
        inj.mask_saved = true;
        call = inj.saved;
        regs_prepare(&call, insn, nr, args);
        inj.regs_changed = true;
        r = regs_set(inj.tid, &call);
        if (r < 0)
                goto fail;

        stage = INJECT_STAGE_RUN;
        r = injection_run(&inj, nr, &result);
        if (r < 0)
                goto fail;

        stage = INJECT_STAGE_RESTORE;
        r = injection_restore(&inj);
        if (r < 0)
                goto fail_ran;

        stage = INJECT_STAGE_DETACH;
        r = injection_detach(&inj, /* via_stop= */ true);
        if (r < 0)
                goto fail_ran;

        if (ret_stage)
                *ret_stage = INJECT_STAGE_SYSCALL;
        *ret_result = result;
        return 0;

fail_ran:
        *ret_result = result;
fail:
        injection_abort(&inj);
        if (ret_stage)
                *ret_stage = stage;
        return r;
}

/* Runs one prepared syscall from the current stop and leaves the registers changed (the caller
 * restores them). */
static int injection_call(Injection *inj, uint64_t insn, bool compat, long nr, const long args[6],
                          long *ret_result) {
        Regs call = inj->saved;
        int r;

        if (compat)
                regs_prepare_compat(&call, insn, nr, args);
        else
                regs_prepare(&call, insn, nr, args);
        inj->regs_changed = true;
        r = regs_set(inj->tid, &call);
        if (r < 0)
                return r;
        return injection_run(inj, nr, ret_result);
}

int inject_exec_stop(pid_t pid, int pidfd, int go_fd, const void *go, size_t go_len,
                     int mlockall_flags, bool clear_ambient, bool exit_on_failure,
                     InjectExitNotice notice, uint64_t *ret_vm_lck, long *ret_result,
                     InjectStage *ret_stage) {
        Injection inj = { .pid = pid, .tid = pid };
        InjectStage stage = INJECT_STAGE_VALIDATE;
        const long lock_args[6] = { mlockall_flags };
        const long ambient_args[6] = { PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL };
        const long exit_args[6] = { 127 };
        uint64_t insn, all = UINT64_MAX;
        long result = 0, ignored;
        bool compat = false;
        int r, status;

        if (pid <= 0 || pid == getpid() || go_fd < 0 || !go) {
                r = -EINVAL;
                goto fail;
        }

        /* Traced before it may go on: its exec is then seen, whatever it is. PTRACE_O_EXITKILL:
         * if this helper dies, the program dies rather than running unlocked unnoticed. */
        stage = INJECT_STAGE_SEIZE;
        if (ptrace(PTRACE_SEIZE, pid, NULL,
                   (void *) (uintptr_t) (PTRACE_O_TRACEEXEC | PTRACE_O_TRACESYSGOOD |
                                         PTRACE_O_EXITKILL)) < 0) {
                r = negative_errno();
                goto fail;
        }
        inj.seized = true;
        for (size_t done = 0; done < go_len;) {
                ssize_t k = send(go_fd, (const uint8_t *) go + done, go_len - done, MSG_NOSIGNAL);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        r = k < 0 ? negative_errno() : -EIO;
                        goto fail;
                }
                done += (size_t) k;
        }

        /* Until the exec event; signals pass through unchanged. A death here is the child's
         * own failure, which it has reported itself. */
        stage = INJECT_STAGE_INTERRUPT;
        for (;;) {
                pid_t p = waitpid(pid, &status, __WALL);
                if (p < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -ESRCH;
                        goto fail;
                }
                if (WIFEXITED(status) || WIFSIGNALED(status)) {
                        inj.seized = false;
                        r = -ESRCH;
                        goto fail;
                }
                if (!WIFSTOPPED(status))
                        continue;
                if ((unsigned) status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXEC << 8)))
                        break;
                r = ptrace_resume(PTRACE_CONT, pid,
                                  (unsigned) status >> 16 == 0 ? WSTOPSIG(status) : 0);
                if (r < 0)
                        goto fail;
        }

        /* The exec event stop comes before execve returns: the kernel still stores the syscall's
         * return value afterwards, so injected registers would be overwritten. Go on to the
         * syscall-exit stop, a clean return-to-user point of the new program. */
        for (;;) {
                int sig;

                r = ptrace_resume(PTRACE_SYSCALL, pid, 0);
                if (r < 0)
                        goto fail;
                r = wait_stop(pid, &sig);
                if (r < 0)
                        goto fail;
                if (r == STOP_SYSCALL)
                        break;
                if (r == STOP_SIGNAL)
                        injection_note_signal(&inj, sig);
        }

        stage = INJECT_STAGE_IDENTITY;
        r = verify_identity(pid, pid, pidfd);
        if (r < 0)
                goto fail;
        stage = INJECT_STAGE_GETREGS;
        r = regs_get(pid, &inj.saved);
        if (r < 0)
                goto fail;
        if (ptrace(PTRACE_GETSIGMASK, pid, (void *) sizeof(inj.saved_mask), &inj.saved_mask) < 0) {
                r = negative_errno();
                goto fail;
        }
        stage = INJECT_STAGE_ABI;
        compat = HAVE_COMPAT && regs_compat(&inj.saved);
        if (!compat && !regs_abi_supported(&inj.saved)) {
                r = -EOPNOTSUPP;
                goto fail;
        }
        stage = INJECT_STAGE_FIND_SYSCALL;
        r = find_insn(pid, pid, compat ? compat_syscall_insn : syscall_insn, &insn);
        if (r < 0)
                goto fail;
        stage = INJECT_STAGE_SETREGS;
        if (ptrace(PTRACE_SETSIGMASK, pid, (void *) sizeof(all), &all) < 0) {
                r = negative_errno();
                goto fail;
        }
        inj.mask_saved = true;

        stage = INJECT_STAGE_RUN;
        r = injection_call(&inj, insn, compat, compat ? NR32_MLOCKALL : SYS_mlockall, lock_args,
                           &result);
        if (r < 0)
                goto fail;
        if (result >= 0 && clear_ambient) {
                /* As the shim does with MEMLOCK_INHERIT=0: what this program execs gets no
                 * CAP_IPC_LOCK. The program itself keeps its lock (MCL_FUTURE). */
                r = injection_call(&inj, insn, compat, compat ? NR32_PRCTL : SYS_prctl,
                                   ambient_args, &ignored);
                if (r < 0)
                        goto fail;
        }

        /* VmLck while it is still stopped: a short program may be gone right after. */
        if (ret_vm_lck && (result < 0 || proc_vm_lck_read(pid, pidfd, ret_vm_lck) < 0))
                *ret_vm_lck = UINT64_MAX;

        stage = INJECT_STAGE_RESTORE;
        r = injection_restore(&inj);
        if (r < 0)
                goto fail_ran;
        if (result < 0 && exit_on_failure) {
                /* OnFailure=abort, as the shim: the program leaves with 127 before its first
                 * instruction. Nothing to restore afterwards. */
                Regs call = inj.saved;
                /* While it is still stopped and its stderr still open. */
                if (notice)
                        notice(pid, pidfd, (int) -result);
                if (compat)
                        regs_prepare_compat(&call, insn, NR32_EXIT_GROUP, exit_args);
                else
                        regs_prepare(&call, insn, SYS_exit_group, exit_args);
                r = regs_set(pid, &call);
                if (r < 0)
                        goto fail_ran;
        }

        stage = INJECT_STAGE_DETACH;
        r = injection_detach(&inj, /* via_stop= */ false);
        if (r < 0)
                goto fail_ran;
        if (ret_stage)
                *ret_stage = INJECT_STAGE_SYSCALL;
        *ret_result = result;
        return 0;

fail_ran:
        *ret_result = result;
fail:
        /* The program must not run unlocked and unreported: it goes. */
        if (inj.seized)
                (void) kill(pid, SIGKILL);
        injection_abort(&inj);
        if (ret_stage)
                *ret_stage = stage;
        return r;
}

#else /* INJECT_UNSUPPORTED_ARCH */

int inject_syscall_verified(pid_t pid, pid_t tid, int pidfd, long nr, const long args[6],
                            InjectVerifyFunc verify, void *userdata, long *ret_result,
                            InjectStage *ret_stage) {
        if (ret_stage)
                *ret_stage = INJECT_STAGE_VALIDATE;
        return -EOPNOTSUPP;
}

int inject_exec_stop(pid_t pid, int pidfd, int go_fd, const void *go, size_t go_len,
                     int mlockall_flags, bool clear_ambient, bool exit_on_failure,
                     InjectExitNotice notice, uint64_t *ret_vm_lck, long *ret_result,
                     InjectStage *ret_stage) {
        if (ret_stage)
                *ret_stage = INJECT_STAGE_VALIDATE;
        return -EOPNOTSUPP;
}

#endif

int inject_syscall(pid_t pid, pid_t tid, int pidfd, long nr, const long args[6], long *ret_result,
                   InjectStage *ret_stage) {
        return inject_syscall_verified(pid, tid, pidfd, nr, args, NULL, NULL, ret_result,
                                       ret_stage);
}

int inject_mlockall(pid_t pid, int pidfd, int flags, long *ret_result, InjectStage *ret_stage) {
        const long args[6] = { flags };
        return inject_syscall(pid, 0, pidfd, SYS_mlockall, args, ret_result, ret_stage);
}

int inject_munlockall(pid_t pid, int pidfd, long *ret_result, InjectStage *ret_stage) {
        const long args[6] = {};
        return inject_syscall(pid, 0, pidfd, SYS_munlockall, args, ret_result, ret_stage);
}
