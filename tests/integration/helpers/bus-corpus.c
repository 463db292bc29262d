/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Writes the seed corpus of tests/fuzz/fuzz-bus-message.c: each file holds the raw bytes of one
 * D-Bus method call to org.mlockd1, as a client sends them after "BEGIN\r\n". The client
 * talks to a socketpair whose other end answers the SASL exchange by hand.
 *
 *   bus-corpus DIR */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

typedef int (*BuildFunc)(sd_bus_message *m);

static int b_none(sd_bus_message *m) {
        return 0;
}
static int b_pid(sd_bus_message *m) {
        return sd_bus_message_append(m, "u", (uint32_t) 1);
}
static int b_attach(sd_bus_message *m) {
        return sd_bus_message_append(m, "ua{sv}", (uint32_t) 1, 3, "policy", "s", "x", "limit", "t",
                                     (uint64_t) 4096, "mode", "s", "on-fault");
}
static int b_run(sd_bus_message *m) {
        /* No fds can travel in the corpus: the 'h' indexes point nowhere. */
        return sd_bus_message_append(m, "asassuuua{sv}", 2, "/bin/true", "x", 1, "A=b", "/", 0, 1,
                                     2, 2, "detach", "b", 1, "prefault_threads", "i", 2);
}
static int b_exec(sd_bus_message *m) {
        return sd_bus_message_append(m, "asa{sv}", 1, "/bin/true", 1, "name", "s", "n");
}
static int b_kill(sd_bus_message *m) {
        return sd_bus_message_append(m, "oi", "/org/mlockd1/workload/1", 15);
}
static int b_detach(sd_bus_message *m) {
        return sd_bus_message_append(m, "o", "/org/mlockd1/workload/1");
}
static int b_get(sd_bus_message *m) {
        return sd_bus_message_append(m, "ss", "org.mlockd1.Manager", "Workloads");
}
static int b_getall(sd_bus_message *m) {
        return sd_bus_message_append(m, "s", "org.mlockd1.Manager");
}
static int b_hello(sd_bus_message *m) {
        return 0;
}

static const struct {
        const char *file, *path, *iface, *member;
        BuildFunc build;
} calls[] = {
        { "hello", "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello", b_hello },
        { "list", "/org/mlockd1", "org.mlockd1.Manager", "ListWorkloads", b_none },
        { "explain", "/org/mlockd1", "org.mlockd1.Manager", "Explain", b_pid },
        { "by-pid", "/org/mlockd1", "org.mlockd1.Manager", "GetWorkloadByPid", b_pid },
        { "attach", "/org/mlockd1", "org.mlockd1.Manager", "Attach", b_attach },
        { "run", "/org/mlockd1", "org.mlockd1.Manager", "Run", b_run },
        { "exec", "/org/mlockd1", "org.mlockd1.Manager", "Exec", b_exec },
        { "kill", "/org/mlockd1", "org.mlockd1.Manager", "Kill", b_kill },
        { "detach", "/org/mlockd1", "org.mlockd1.Manager", "Detach", b_detach },
        { "get", "/org/mlockd1", "org.freedesktop.DBus.Properties", "Get", b_get },
        { "getall", "/org/mlockd1/workload/1", "org.freedesktop.DBus.Properties", "GetAll",
          b_getall },
        { "managed", "/org/mlockd1", "org.freedesktop.DBus.ObjectManager", "GetManagedObjects",
          b_none },
        { "introspect", "/org/mlockd1", "org.freedesktop.DBus.Introspectable", "Introspect",
          b_none },
};

static int one(const char *dir, size_t i) {
        static const char ok[] = "DATA\r\nOK 0123456789abcdef0123456789abcdef\r\n";
        sd_bus *bus = NULL;
        sd_bus_message *m = NULL;
        char buf[65536], path[4096];
        size_t n = 0;
        int s[2], r;
        FILE *f;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s) < 0)
                return -errno;
        if (write(s[1], ok, sizeof(ok) - 1) != (ssize_t) sizeof(ok) - 1)
                return -EIO;
        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_fd(bus, s[0], s[0]);
        if (r >= 0)
                r = sd_bus_negotiate_fds(bus, false);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r >= 0)
                r = sd_bus_message_new_method_call(bus, &m, "org.mlockd1", calls[i].path,
                                                   calls[i].iface, calls[i].member);
        if (r >= 0)
                r = calls[i].build(m);
        if (r >= 0)
                r = sd_bus_send(bus, m, NULL);
        if (r >= 0)
                r = sd_bus_flush(bus);
        if (r < 0)
                return r;
        (void) fcntl(s[1], F_SETFL, O_NONBLOCK);
        for (;;) {
                ssize_t k = read(s[1], buf + n, sizeof(buf) - n);
                if (k <= 0)
                        break;
                n += (size_t) k;
        }
        const char *begin = memmem(buf, n, "BEGIN\r\n", 7);
        if (!begin)
                return -EBADMSG;
        begin += 7;
        snprintf(path, sizeof(path), "%s/%s", dir, calls[i].file);
        f = fopen(path, "we");
        if (!f)
                return -errno;
        fwrite(begin, 1, n - (size_t) (begin - buf), f);
        fclose(f);
        sd_bus_message_unref(m);
        sd_bus_flush_close_unref(bus);
        close(s[1]);
        return 0;
}

int main(int argc, char **argv) {
        if (argc != 2) {
                fprintf(stderr, "usage: bus-corpus DIR\n");
                return 2;
        }
        for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
                int r = one(argv[1], i);
                if (r < 0) {
                        fprintf(stderr, "%s: %s\n", calls[i].file, strerror(-r));
                        return 1;
                }
        }
        return 0;
}
