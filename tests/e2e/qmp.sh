# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# Sourced by the QEMU e2e tests: a minimal QMP client.
#
#   qmp_call SOCKET COMMAND...   one QMP session on SOCKET: capabilities negotiation, then each
#                                COMMAND (no arguments); prints each reply as one JSON line

qmp_call() {
        python3 - "$@" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(30)
s.connect(sys.argv[1])
f = s.makefile("rw")
def reply():
    while True:
        m = json.loads(f.readline())
        if "return" in m or "error" in m:
            return m
json.loads(f.readline())  # greeting
f.write(json.dumps({"execute": "qmp_capabilities"}) + "\n"); f.flush()
reply()
for cmd in sys.argv[2:]:
    f.write(json.dumps({"execute": cmd}) + "\n"); f.flush()
    print(json.dumps(reply()))
PY
}
