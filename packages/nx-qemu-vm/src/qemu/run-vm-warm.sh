# Warm starts, for machines with warmStart: the exec script and the test API
# ask for them with VM_WARM and VM_WARM_FILE, the state file. save and
# restore: a state at the end of stage 1's driver loading. ready-save and
# ready-restore (warmStart "ready", the test API): a state of the machine once
# ready, whose root and empty disks run-script.ts puts beside the state file.
# run-script.ts sets before this: prog, machine, qemu_binary, kernel_file, boot_kernel,
# initrd_file, fw_cfg_warm, TMPDIR, ready_states (1 for warmStart "ready"),
# ready_disk_contents (the read-only images a ready guest has read: its
# system and install images) and, for ready-save, ready_pending_key; the
# arguments are the exec script's or the test API's.
# shellcheck disable=SC2154

# What a saved state depends on beyond its file: this script (the whole QEMU
# command line), the kernel and initrd, QEMU's version, the accelerator (and
# under KVM the host CPU's features, which -cpu max passes on), the extra
# kernel parameters and options, and the caller's arguments. Some things in
# those arguments are left out, as the guest reads them only after a restore,
# or they are not part of QEMU's state: this run's scratch directory (host
# paths), whether the guest agent is wanted (the exec mode's last character,
# exec0 or exec1), the console's log file (the test API's, one per boot), and
# -snapshot (a save always has it, and no disk is read before the save).
warm_key() {
  {
    cat -- "$0" "$kernel_file" "$initrd_file"
    # The unpacked kernel is the image's own: only whether it boots matters.
    if [ "$boot_kernel" = "$kernel_file" ]; then echo image; else echo pvh; fi
    "$qemu_binary" --version
    printf '%s\n' "${accel:-}" "${QEMU_KERNEL_PARAMS:-}" "${QEMU_OPTS:-}"
    case ${accel:-} in kvm*) grep -m1 '^flags' /proc/cpuinfo ;; esac
    # A ready guest has read its images, and its user network (DHCP) is set
    # up; a stage-1 state has read no disk.
    case $VM_WARM in ready-*)
      ready_disk_contents
      printf '%s\n' "${QEMU_NET_OPTS:-}"
      ;;
    esac
    printf '%s\n' "$@" | scratch="$TMPDIR" awk '{
      while ((i = index($0, ENVIRON["scratch"])) > 0)
        $0 = substr($0, 1, i - 1) "<scratch>" substr($0, i + length(ENVIRON["scratch"]))
      if ($0 == "-snapshot") next
      sub(/,string=exec[01]$/, ",string=exec?")
      sub(/,logfile=([^,]|,,)*/, ",logfile=<log>")
      print
    }'
  } | cksum
}

case ${VM_WARM:-} in
  ready-*) [ "$ready_states" = 1 ] || die "VM_WARM=$VM_WARM: machine $machine has no ready state (its warmStart is not \"ready\")" ;;
esac

# QEMU reads the state from an inherited descriptor: no path reaches a shell.
warm_incoming() {
  [ -r "$VM_WARM_FILE" ] || die "cannot read the warm state $VM_WARM_FILE"
  exec 4<"$VM_WARM_FILE"
  # run-vm-main.sh marks the moment QEMU starts restoring, for the exec script.
  # shellcheck disable=SC2034 # read by run-vm-main.sh
  warm_restoring=1
}

case ${VM_WARM:-} in
  save | restore)
    warm_key=$(warm_key "$@")
    if [ "$VM_WARM" = restore ] && [ "$(cat -- "$VM_WARM_FILE.key" 2>/dev/null || :)" != "$warm_key" ]; then
      # Not an error: the run is the same, only slower.
      printf '%s: cold boot: the warm state was saved for another kernel, initrd, QEMU, script, QEMU_KERNEL_PARAMS or QEMU_OPTS; rebuild it with: npx nx run-many -t warm test-warm -p %s\n' "$prog" "$machine" >&2
    else
      # The same kernel parameters on both sides of the save (the machine has vmgenid).
      QEMU_KERNEL_PARAMS="${QEMU_KERNEL_PARAMS:-} nxvm.warm"
      if [ "$VM_WARM" = save ]; then
        printf '%s\n' "$warm_key" >"$VM_WARM_FILE.key"
        # The guest reads no disk before the save; -snapshot makes sure no
        # drive is written either (the root and empty disks are scratch ones).
        set -- "$@" -snapshot -fw_cfg "name=$fw_cfg_warm,string=0" \
          -qmp "unix:$(qemu_escape "$TMPDIR/warm-qmp.sock"),server=on,wait=off"
      else
        warm_incoming
        set -- "$@" -fw_cfg "name=$fw_cfg_warm,string=1" -incoming fd:4
      fi
    fi
    ;;
  ready-save)
    # The test API's own QMP socket saves it, once its agent says it is
    # ready; the key gets its name once the state is whole (ready-state.ts).
    ! has_arg -snapshot "$@" || die "VM_WARM=ready-save writes the state's own disks: no -snapshot"
    warm_key "$@" >"$ready_pending_key"
    ;;
  ready-restore)
    has_arg -snapshot "$@" || die "VM_WARM=ready-restore needs -snapshot: the state's disks are never written"
    if [ "$(cat -- "$VM_WARM_FILE.key" 2>/dev/null || :)" != "$(warm_key "$@")" ]; then
      # The disks of this run are the state's: the caller boots cold on the machine's own.
      : >"$TMPDIR/warm-unfit"
      die "the state was saved for another kernel, initrd, image, install, QEMU, script, QEMU_KERNEL_PARAMS, QEMU_NET_OPTS or QEMU_OPTS; rebuild it with: npx nx run $machine:test-warm"
    fi
    warm_incoming
    set -- "$@" -incoming fd:4
    ;;
  '') ;;
  *) die "VM_WARM must be save, restore, ready-save or ready-restore, not $VM_WARM" ;;
esac
