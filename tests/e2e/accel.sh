# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# Sourced by the QEMU and libvirt e2e tests: chooses the accelerator their guests use.
#
# KVM when /dev/kvm is usable (it opens read-write and answers KVM_GET_API_VERSION), TCG
# otherwise, so a machine without KVM still runs every guest test instead of skipping it.
# MLOCKD_E2E_ACCEL=tcg forces TCG (to prove the TCG path on a machine with KVM), =kvm demands
# KVM (the test fails without it), =auto (the default) chooses.
#
# TCG's translation cache defaults to 1 GiB of anonymous memory, which a mlockall() would lock
# along with the guest RAM; the tests cap it at 64 MiB (qemu: -accel tcg,tb-size=64; libvirt:
# <features><tcg><tb-cache unit='MiB'>64</tb-cache></tcg></features>).
#
#   e2e_accel_choose      sets E2E_ACCEL (kvm or tcg) and prints the choice and why
#   e2e_qemu_accel_args   prints qemu's -accel arguments for E2E_ACCEL
#   e2e_libvirt_type      prints the <domain type=...> for E2E_ACCEL (kvm or qemu)
#   e2e_libvirt_features  prints the <features> element for E2E_ACCEL (empty for kvm)

E2E_ACCEL=

e2e_kvm_usable() {
        [[ -c /dev/kvm ]] || return 1
        python3 - <<'PY' 2>/dev/null
import fcntl, os
fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
# KVM_GET_API_VERSION = _IO(0xAE, 0x00); every KVM answers 12.
raise SystemExit(0 if fcntl.ioctl(fd, 0xAE00) == 12 else 1)
PY
}

e2e_accel_choose() {
        case ${MLOCKD_E2E_ACCEL:-auto} in
        tcg)
                E2E_ACCEL=tcg
                echo "accelerator: TCG (forced by MLOCKD_E2E_ACCEL=tcg)"
                ;;
        kvm)
                if ! e2e_kvm_usable; then
                        echo "FAIL: MLOCKD_E2E_ACCEL=kvm, but /dev/kvm is not usable" >&2
                        exit 1
                fi
                E2E_ACCEL=kvm
                echo "accelerator: KVM (forced by MLOCKD_E2E_ACCEL=kvm)"
                ;;
        auto | '')
                if e2e_kvm_usable; then
                        E2E_ACCEL=kvm
                        echo "accelerator: KVM (/dev/kvm is usable)"
                else
                        E2E_ACCEL=tcg
                        echo "accelerator: TCG (/dev/kvm is missing or not usable)"
                fi
                ;;
        *)
                echo "FAIL: MLOCKD_E2E_ACCEL='$MLOCKD_E2E_ACCEL' is not auto, kvm or tcg" >&2
                exit 1
                ;;
        esac
        export MLOCKD_E2E_ACCEL_CHOSEN=$E2E_ACCEL
}

e2e_qemu_accel_args() {
        if [[ $E2E_ACCEL == kvm ]]; then
                echo "-accel kvm"
        else
                echo "-accel tcg,tb-size=64"
        fi
}

e2e_libvirt_type() {
        if [[ $E2E_ACCEL == kvm ]]; then echo kvm; else echo qemu; fi
}

e2e_libvirt_features() {
        [[ $E2E_ACCEL == kvm ]] ||
                echo "<features><tcg><tb-cache unit='MiB'>64</tb-cache></tcg></features>"
}
