/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Syscall injection by ptrace: makes a running process call mlockall()/munlockall() itself.
 *
 * Recipe (x86_64; aarch64 is written the same way but only compile-tested):
 *  1. PTRACE_SEIZE one thread (the thread-group leader unless it is a zombie) and
 *     PTRACE_INTERRUPT it. Signal-delivery-stops seen before the interrupt stop are passed
 *     through unchanged (the signal is delivered, never swallowed).
 *  2. If a pidfd was given, check that it still refers to a live process with the pid we
 *     stopped: a stopped tracee cannot be replaced, so from here on it is the right process.
 *  3. Save the registers and the signal mask (PTRACE_GETSIGMASK), then block every signal
 *     with PTRACE_SETSIGMASK: signals sent during the injection stay pending and are delivered
 *     normally afterwards (to this thread, or to another one for process-directed signals).
 *  4. Find a `syscall` instruction (0f 05; aarch64: svc #0) in the vDSO or another executable
 *     mapping (read through /proc/PID/task/TID/mem), point the instruction pointer at it, load the
 *     syscall number and arguments, set orig_rax = -1 (so the kernel does not apply syscall
 *     restart logic to our state), and run exactly that one syscall with two PTRACE_SYSCALL
 *     steps (entry stop, exit stop). The result is read at the exit stop.
 *  5. Restore the registers and the signal mask, then PTRACE_INTERRUPT + PTRACE_CONT so the
 *     thread stops once more inside the kernel's signal path, and PTRACE_DETACH there: the
 *     kernel then applies its own syscall-restart logic to the restored registers exactly as
 *     for any ptrace stop, so an interrupted nanosleep() resumes with its remaining time
 *     (restart_syscall) and read() is restarted (or returns EINTR if a handler without
 *     SA_RESTART runs), as if the process had never been stopped.
 *  A SIGSTOP that arrives during steps 3-5 is suppressed and re-sent after the detach.
 *
 * aarch64 difference (compile-tested only): the kernel rewinds an interrupted syscall before the
 * stop we inject from, so the saved state already re-executes it; but a syscall that would have
 * continued through restart_syscall (a relative nanosleep(), poll() with a timeout) is restarted
 * from the beginning, i.e. sleeps its full time again.
 *
 * The calling thread becomes the tracer: it must not exit between seize and detach, and the
 * tracer process must not be killed during the injection (the kernel would detach the tracee
 * with its registers still pointing at the injected syscall, which usually crashes it). Hence
 * inject-job.h runs this in a helper process that ignores SIGTERM/SIGINT/SIGHUP.
 *
 * These functions block (mlockall() of a large process takes seconds) and must not run in the
 * event loop. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum InjectStage {
        INJECT_STAGE_VALIDATE, /* bad arguments, unsupported syscall or architecture */
        INJECT_STAGE_SEIZE, /* PTRACE_SEIZE failed: EPERM (no permission, Yama), ESRCH */
        INJECT_STAGE_INTERRUPT, /* PTRACE_INTERRUPT or waiting for the stop failed */
        INJECT_STAGE_IDENTITY, /* the pidfd no longer refers to the stopped process */
        INJECT_STAGE_GETREGS, /* reading registers or signal mask failed */
        INJECT_STAGE_ABI, /* the thread runs a 32-bit (compat) ABI: not supported */
        INJECT_STAGE_FIND_SYSCALL, /* no syscall instruction in any executable mapping */
        INJECT_STAGE_SETREGS, /* setting up registers or signal mask failed */
        INJECT_STAGE_RUN, /* running the injected syscall failed (target died: ESRCH) */
        INJECT_STAGE_RESTORE, /* restoring registers/mask failed (the syscall did run) */
        INJECT_STAGE_DETACH, /* the final stop or PTRACE_DETACH failed (the syscall did run) */
        INJECT_STAGE_SYSCALL, /* everything worked; the injected syscall itself may have failed */
        _INJECT_STAGE_MAX,
        _INJECT_STAGE_INVALID = -EINVAL,
} InjectStage;

/* "seize", "interrupt", ... ; NULL for out-of-range values. */
const char *inject_stage_to_string(InjectStage s);

/* Runs syscall nr with args (6 entries, unused ones 0) in thread tid of process pid. Only
 * SYS_mlockall and SYS_munlockall are accepted (-EINVAL otherwise): this never runs arbitrary
 * code in a target. tid may be 0: then the leader is used, or another live thread if the leader
 * is a zombie. pidfd (or -EBADF to skip the check) must refer to pid; it is re-checked once the
 * thread is stopped (step 2 above).
 * Returns 0 when the syscall ran and the process was restored and detached; *ret_result is then
 * the raw return value of the syscall (>= 0, or -errno of the injected call). Returns -errno if
 * the injection failed: -ESRCH if the process is gone or the pidfd no longer matches, -EPERM if
 * ptrace is refused (or pid is the caller itself), -EOPNOTSUPP for a compat (32-bit) thread or an
 * unsupported architecture, -ENOEXEC if no syscall instruction was found, -EPROTO if the thread
 * entered another syscall than ours, other ptrace errors as they come. *ret_stage (if non-NULL)
 * is set in every case: INJECT_STAGE_SYSCALL on success, else the stage that failed; at stages
 * RESTORE and DETACH the syscall did run and *ret_result is set. */
int inject_syscall(pid_t pid, pid_t tid, int pidfd, long nr, const long args[6], long *ret_result,
                   InjectStage *ret_stage);

/* Called once the target is stopped under ptrace, after the pidfd check: returns 0 to go on, or
 * -errno (e.g. -ESTALE: its credentials or its program changed since it was examined) to let it
 * go untouched, failing at INJECT_STAGE_IDENTITY. */
typedef int (*InjectVerifyFunc)(pid_t pid, int pidfd, void *userdata);
/* inject_syscall() with verify (NULL: none) run at the stop. */
int inject_syscall_verified(pid_t pid, pid_t tid, int pidfd, long nr, const long args[6],
                            InjectVerifyFunc verify, void *userdata, long *ret_result,
                            InjectStage *ret_stage);

/* The exec-stop lock of a program the shim cannot reach (static, secure-exec), with the same
 * machinery: seizes pid (a launch child waiting for go on go_fd) with PTRACE_O_TRACEEXEC and
 * PTRACE_O_EXITKILL, sends it go (go_len bytes), follows it to the syscall-exit stop of its
 * execve, injects mlockall(mlockall_flags) there, then, if it worked and clear_ambient,
 * prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL) (as the shim with MEMLOCK_INHERIT=0), restores
 * and detaches. If mlockall failed and exit_on_failure, the program leaves with exit_group(127)
 * before its first instruction, after notice (if non-NULL) was called with the program still
 * stopped (to tell it why on its stderr). *ret_vm_lck (if non-NULL) gets VmLck read at the stop
 * after a successful mlockall, UINT64_MAX otherwise. 0: the syscall ran, its raw result in *ret_result; -errno: the
 * injection failed at *ret_stage (-ESRCH at INJECT_STAGE_INTERRUPT: the child died before its
 * exec), and the program was killed. x86-64 and aarch64 (64-bit programs only). */
typedef void (*InjectExitNotice)(pid_t pid, int pidfd, int error);
int inject_exec_stop(pid_t pid, int pidfd, int go_fd, const void *go, size_t go_len,
                     int mlockall_flags, bool clear_ambient, bool exit_on_failure,
                     InjectExitNotice notice, uint64_t *ret_vm_lck, long *ret_result,
                     InjectStage *ret_stage);

/* inject_syscall(pid, 0, pidfd, SYS_mlockall, {flags}) / SYS_munlockall: same returns. */
int inject_mlockall(pid_t pid, int pidfd, int flags, long *ret_result, InjectStage *ret_stage);
int inject_munlockall(pid_t pid, int pidfd, long *ret_result, InjectStage *ret_stage);
