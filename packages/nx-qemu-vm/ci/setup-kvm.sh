#!/bin/sh
# Makes /dev/kvm usable by every account (run as root). CI runners start
# jobs as an ordinary user that is not in the kvm group, and udev creates
# /dev/kvm for that group only; without this rule machines fall back to TCG.
set -eu
rule=/etc/udev/rules.d/99-nx-qemu-vm-kvm.rules
echo 'KERNEL=="kvm", GROUP="kvm", MODE="0666", OPTIONS+="static_node=kvm"' > "$rule"
udevadm control --reload-rules
udevadm trigger --name-match=kvm
