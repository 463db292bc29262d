/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the message size bound (daemon/bus/bus-input-limit.c) costs per message: a socketpair
 * carries 64-byte D-Bus messages, read as sd-bus reads them (the fixed header plus 8, then the
 * rest, two recvmsg() calls), once from an fd the bound watches and once from one it does not.
 * Rounds alternate, after a warm-up; prints the median ns per message of each, the spread
 * (min-max of the rounds) and the ratio watched/unwatched.
 *
 *   input-limit-cost [--rounds 11] [--messages 100000] */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/bench-stats.h"
#include "daemon/bus/bus-input-limit.h"

#define ROUNDS_MAX 101

static const char auth[] = "\0AUTH EXTERNAL 30\r\nBEGIN\r\n";

static uint64_t run(int sp[2], size_t messages) {
        uint8_t msg[64] = { 'l', 1, 0, 1, 48, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0 };
        uint8_t buf[64];
        struct iovec iov;
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        uint64_t t0 = now_ns();

        for (size_t i = 0; i < messages; i++) {
                if (write(sp[1], msg, sizeof(msg)) != (ssize_t) sizeof(msg))
                        abort();
                iov = (struct iovec){ .iov_base = buf, .iov_len = 24 };
                if (recvmsg(sp[0], &mh, MSG_DONTWAIT) != 24)
                        abort();
                iov = (struct iovec){ .iov_base = buf + 24, .iov_len = 40 };
                if (recvmsg(sp[0], &mh, MSG_DONTWAIT) != 40)
                        abort();
        }
        return (now_ns() - t0) / messages;
}

static int open_pair(int sp[2], bool watched) {
        char sink[64];
        struct iovec iov = { .iov_base = sink, .iov_len = sizeof(auth) - 1 };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
                return -errno;
        if (watched && bus_input_limit_register(sp[0], 1000, true, "bench") < 0)
                return -ENOMEM;
        /* Past authentication (read as sd-bus reads it), as sd-bus is when messages flow. */
        if (write(sp[1], auth, sizeof(auth) - 1) != (ssize_t) sizeof(auth) - 1 ||
            recvmsg(sp[0], &mh, 0) != (ssize_t) sizeof(auth) - 1)
                return -EIO;
        return 0;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "rounds", required_argument, NULL, 'r' },
                { "messages", required_argument, NULL, 'm' },
                {},
        };
        uint64_t watched[ROUNDS_MAX], plain[ROUNDS_MAX];
        size_t rounds = 11, messages = 100000;
        int w[2], p[2], c;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'r':
                        rounds = strtoul(optarg, NULL, 10);
                        break;
                case 'm':
                        messages = strtoul(optarg, NULL, 10);
                        break;
                default:
                        return 2;
                }
        if (rounds < 1 || rounds > ROUNDS_MAX || messages < 1)
                return 2;
        /* The auth read above goes through the interposed recvmsg too: read() is not. */
        if (open_pair(w, true) < 0 || open_pair(p, false) < 0) {
                fprintf(stderr, "socketpair setup failed\n");
                return 1;
        }
        (void) run(w, messages / 10 + 1); /* warm-up */
        (void) run(p, messages / 10 + 1);
        for (size_t i = 0; i < rounds; i++) {
                watched[i] = run(w, messages);
                plain[i] = run(p, messages);
        }
        qsort(watched, rounds, sizeof(uint64_t), cmp_u64);
        qsort(plain, rounds, sizeof(uint64_t), cmp_u64);
        printf("| reading a 64-byte message (2 recvmsg) | ns, median (min-max) |\n|---|---|\n");
        printf("| fd watched by bus-input-limit | %" PRIu64 " (%" PRIu64 "-%" PRIu64 ") |\n",
               watched[rounds / 2], watched[0], watched[rounds - 1]);
        printf("| fd not watched (baseline) | %" PRIu64 " (%" PRIu64 "-%" PRIu64 ") |\n",
               plain[rounds / 2], plain[0], plain[rounds - 1]);
        printf("| ratio watched/baseline | %.3fx |\n",
               (double) watched[rounds / 2] / (double) plain[rounds / 2]);
        return 0;
}
