/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for the D-Bus stream framing (daemon/bus-frame.c) that decides, from the
 * bytes a client sends, whether its next message may be read. The first byte chooses a split
 * point; the stream must give the same verdict, message count and announced size whether it
 * arrives in one piece, in two, or byte by byte (as recvmsg() may deliver it). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "daemon/bus/bus-frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Not assert(): it must hold in release builds too, where the corpus replays in CTest. */
#define CHECK(x)                                                                                   \
        do {                                                                                       \
                if (!(x))                                                                          \
                        abort();                                                                   \
        } while (0)

/* Small limits, so that inputs of a few KiB reach both. */
#define MAX_MESSAGE 4096u
#define MAX_AUTH 512u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        BusFrameParser whole, split, bytes;
        int r1, r2, r3 = 0;
        size_t cut;

        if (size < 1)
                return 0;
        cut = data[0] % size;
        data++;
        size--;

        bus_frame_parser_init(&whole, MAX_MESSAGE, MAX_AUTH);
        r1 = bus_frame_feed(&whole, data, size);

        bus_frame_parser_init(&split, MAX_MESSAGE, MAX_AUTH);
        r2 = bus_frame_feed(&split, data, cut);
        if (r2 >= 0)
                r2 = bus_frame_feed(&split, data + cut, size - cut);

        bus_frame_parser_init(&bytes, MAX_MESSAGE, MAX_AUTH);
        for (size_t i = 0; i < size && r3 >= 0; i++)
                r3 = bus_frame_feed(&bytes, data + i, 1);

        CHECK(r1 == r2 && r1 == r3);
        CHECK(r1 == 0 || r1 == -EMSGSIZE || r1 == -ENOBUFS || r1 == -EBADMSG);
        CHECK(whole.n_messages == split.n_messages && whole.n_messages == bytes.n_messages);
        CHECK(whole.message_size == split.message_size && whole.message_size == bytes.message_size);
        CHECK(whole.phase == split.phase && whole.phase == bytes.phase);
        /* Nothing over the limit is ever accepted. */
        if (r1 == 0)
                CHECK(whole.message_size <= MAX_MESSAGE && whole.auth_bytes <= MAX_AUTH);
        /* A failed parser stays failed. */
        if (r1 < 0)
                CHECK(bus_frame_feed(&whole, data, size) == r1 &&
                      bus_frame_feed(&whole, "", 0) == r1);
        return 0;
}
