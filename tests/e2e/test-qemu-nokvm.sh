#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The KVM-less path on a machine that has KVM: test-qemu-inject.sh runs in a mount namespace
# where /dev/kvm is /dev/null (a character device that answers no KVM ioctl), so accel.sh must
# choose TCG by itself (not forced), and the attach must still lock the guest. On a machine
# without /dev/kvm the other e2e tests take this path anyway.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
[[ $EUID -eq 0 ]] || { echo "SKIP: needs root (mount namespace)"; exit 77; }
unshare -m true 2>/dev/null || { echo "SKIP: cannot create a mount namespace"; exit 77; }

rc=0
out=$(env -u MLOCKD_E2E_ACCEL unshare -m --propagation private sh -c '
        if [ -e /dev/kvm ]; then mount --bind /dev/null /dev/kvm || exit 1; fi
        exec "$1"' sh "$here/test-qemu-inject.sh" 2>&1) || rc=$?
echo "$out"
((rc != 77)) || exit 77
if ((rc != 0)); then
        echo "FAIL: test-qemu-inject.sh without KVM exited with $rc"
        exit 1
fi
[[ $out == *"accelerator: TCG (/dev/kvm is missing or not usable)"* ]] ||
        { echo "FAIL: TCG was not chosen without a usable /dev/kvm"; exit 1; }
echo OK
