/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* How the daemon sees the bytes sd-bus reads. sd-bus (252) reads a server connection with
 * recvmsg() only (readv() only for fds that are not sockets), first the 16-byte fixed header
 * plus 8, then, after realloc()ing its buffer to the announced size, the rest. Defining
 * recvmsg() here, in the executable, interposes it for libsystemd (symbols of the executable
 * come first in the lookup scope); the real one comes from dlsym(RTLD_NEXT). For a registered
 * fd the bytes received are fed to the connection's framing parser, and a header that announces
 * too much fails that very recvmsg() with ECONNRESET: sd-bus never allocates the message and
 * closes the connection.
 *
 * Why this and not the alternatives:
 * - A socketpair pump between the client socket and sd-bus copies every byte once more, has to
 *   forward SCM_RIGHTS (Run passes three fds) itself, and makes sd-bus see the daemon as its
 *   peer: SO_PEERCRED, and so the EXTERNAL authentication, would name root, not the client.
 * - sd_bus_set_fd() with a separate input fd (a pipe fed by us) has the same problems: no
 *   SCM_RIGHTS through a pipe, and peer credentials read from the wrong fd.
 * - Interposing keeps the client's socket in sd-bus's hands: credentials, fd passing and the
 *   SASL exchange are untouched. The cost is one array lookup per recvmsg(), and parsing 16
 *   bytes per message. The parser only reads what the kernel already wrote, so a bug in it can
 *   close a connection but not corrupt what sd-bus sees.
 * - Sanitizers: gcc's ASan runtime is a shared library, so RTLD_NEXT from the executable finds
 *   its recvmsg interceptor, which calls libc's. clang's static runtime defines its interceptor
 *   as a weak symbol in the executable; this strong definition replaces it and RTLD_NEXT then
 *   finds libc's (ASan checks nothing in recvmsg that matters here).
 *
 * The daemon is single-threaded. A forked child forgets the table (pthread_atfork): it may reuse
 * an fd number of a client connection for a socket of its own. */
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/macro.h"
#include "daemon/bus/bus-frame.h"
#include "daemon/bus/bus-input-limit.h"
#include "daemon/bus/bus-limits.h"

typedef struct InputGuard {
        bool used;
        bool charge_uid;
        uid_t uid;
        char description[32];
        BusFrameParser parser;
        uint64_t charged; /* what this connection adds to its uid's pending bytes */
} InputGuard;

typedef struct UidInput {
        uid_t uid;
        uint64_t pending;
        unsigned n_guards;
} UidInput;

static InputGuard *guards; /* indexed by fd */
static size_t n_guards;
static UidInput *uids;
static size_t n_uids;
static uint64_t total_pending; /* the sum of every charged uid's pending bytes */

static UidInput *uid_input(uid_t uid, bool create) {
        UidInput *n;

        for (size_t i = 0; i < n_uids; i++)
                if (uids[i].uid == uid)
                        return &uids[i];
        if (!create)
                return NULL;
        n = reallocarray(uids, n_uids + 1, sizeof(UidInput));
        if (!n)
                return NULL;
        uids = n;
        uids[n_uids] = (UidInput){ .uid = uid };
        return &uids[n_uids++];
}

static void uid_input_release(InputGuard *g) {
        UidInput *u;

        if (!g->charge_uid)
                return;
        u = uid_input(g->uid, false);
        if (!u)
                return;
        u->pending -= MIN(u->pending, g->charged);
        total_pending -= MIN(total_pending, g->charged);
        g->charged = 0;
        if (--u->n_guards == 0)
                *u = uids[--n_uids];
}

static void forget_in_child(void) {
        /* Only counters: after fork() the child may only do async-signal-safe things. */
        n_guards = 0;
        n_uids = 0;
        total_pending = 0;
}

int bus_input_limit_register(int fd, uid_t uid, bool charge_uid, const char *description) {
        static bool atfork_done = false;
        InputGuard *g;

        if (fd < 0)
                return -EBADF;
        if (!atfork_done) {
                int r = pthread_atfork(NULL, NULL, forget_in_child);
                if (r != 0)
                        return -r;
                atfork_done = true;
        }
        if ((size_t) fd >= n_guards) {
                size_t n = MAX((size_t) fd + 1, n_guards * 2);
                InputGuard *a = reallocarray(guards, n, sizeof(InputGuard));
                if (!a)
                        return -ENOMEM;
                memset(a + n_guards, 0, (n - n_guards) * sizeof(InputGuard));
                guards = a;
                n_guards = n;
        }
        bus_input_limit_unregister(fd);
        if (charge_uid) {
                UidInput *u = uid_input(uid, true);
                if (!u)
                        return -ENOMEM;
                u->n_guards++;
        }
        g = &guards[fd];
        *g = (InputGuard){ .used = true, .charge_uid = charge_uid, .uid = uid };
        snprintf(g->description, sizeof(g->description), "%s", strempty(description));
        bus_frame_parser_init(&g->parser, LIMIT_MESSAGE_BYTES, LIMIT_AUTH_BYTES);
        return 0;
}

void bus_input_limit_unregister(int fd) {
        InputGuard *g;

        if (fd < 0 || (size_t) fd >= n_guards || !guards[fd].used)
                return;
        g = &guards[fd];
        uid_input_release(g);
        *g = (InputGuard){};
}

uint64_t bus_input_limit_total_pending(void) {
        return total_pending;
}

uint64_t bus_input_limit_uid_pending(uid_t uid) {
        UidInput *u = uid_input(uid, false);

        return u ? u->pending : 0;
}

/* Feeds what recvmsg() returned; < 0 when the connection must be dropped. */
static int guard_feed(InputGuard *g, const struct msghdr *mh, size_t k) {
        UidInput *u = NULL;
        int r = 0;

        for (size_t i = 0; k > 0 && i < (size_t) mh->msg_iovlen; i++) {
                size_t l = MIN(k, mh->msg_iov[i].iov_len);

                r = bus_frame_feed(&g->parser, mh->msg_iov[i].iov_base, l);
                if (r < 0)
                        break;
                k -= l;
        }
        if (r == -EMSGSIZE)
                return log_warning_errno(r,
                                         "Dropping connection %s of uid %u: its message announces "
                                         "%" PRIu64 " bytes, more than the %u allowed.",
                                         g->description, (unsigned) g->uid, g->parser.message_size,
                                         LIMIT_MESSAGE_BYTES);
        if (r < 0)
                return log_warning_errno(r, "Dropping connection %s of uid %u: %s.", g->description,
                                         (unsigned) g->uid,
                                         r == -ENOBUFS ? "authentication takes too many bytes"
                                                       : "a message header is not D-Bus");
        if (!g->charge_uid || g->charged == g->parser.message_size)
                return 0;
        u = uid_input(g->uid, false);
        if (!u)
                return 0;
        u->pending -= MIN(u->pending, g->charged);
        total_pending -= MIN(total_pending, g->charged);
        g->charged = 0;
        if (u->pending + g->parser.message_size > LIMIT_INPUT_PER_UID ||
            total_pending + g->parser.message_size > LIMIT_INPUT_TOTAL) {
                bool uid_bound = u->pending + g->parser.message_size > LIMIT_INPUT_PER_UID;

                g->parser.phase = BUS_FRAME_FAILED;
                g->parser.remaining = ECONNRESET;
                return log_warning_errno(ECONNRESET,
                                         "Dropping connection %s of uid %u: its message of %" PRIu64
                                         " bytes would make %s unread input more than %u bytes.",
                                         g->description, (unsigned) g->uid, g->parser.message_size,
                                         uid_bound ? "the uid's" : "all users'",
                                         uid_bound ? LIMIT_INPUT_PER_UID : LIMIT_INPUT_TOTAL);
        }
        g->charged = g->parser.message_size;
        u->pending += g->charged;
        total_pending += g->charged;
        return 0;
}

static void close_received_fds(struct msghdr *mh) {
        for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

                        for (size_t i = 0; i < n; i++) {
                                int fd;

                                memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                                (void) close(fd);
                        }
                }
        mh->msg_controllen = 0;
}

ssize_t recvmsg(int fd, struct msghdr *mh, int flags) {
        static ssize_t (*real_recvmsg)(int, struct msghdr *, int) = NULL;
        InputGuard *g = NULL;
        ssize_t k;

        if (!real_recvmsg) {
                real_recvmsg = (ssize_t(*)(int, struct msghdr *, int)) dlsym(RTLD_NEXT, "recvmsg");
                if (!real_recvmsg) {
                        errno = ENOSYS;
                        return -1;
                }
        }
        if (fd >= 0 && (size_t) fd < n_guards && guards[fd].used)
                g = &guards[fd];
        if (g && g->parser.phase == BUS_FRAME_FAILED) {
                errno = ECONNRESET;
                return -1;
        }
        k = real_recvmsg(fd, mh, flags);
        if (k <= 0 || !g || (flags & MSG_PEEK))
                return k;
        if (guard_feed(g, mh, (size_t) k) < 0) {
                close_received_fds(mh);
                errno = ECONNRESET;
                return -1;
        }
        return k;
}
