// What the host and the guest both know: the virtio ports between them,
// QEMU's fw_cfg items the guest reads, the console lines the host waits for,
// the paths stage 1 lays out, the agent's frame limits and exec's statuses.
// Each is written here once; the shell programs receive them in their
// generated headers, and the few static files that must spell one out
// (agent.pl, the systemd units, run-vm-warm.sh) are held to these
// values by contract/host-guest.spec.ts. Nothing here imports anything.

// --- virtio-serial ---------------------------------------------------------

/** The one virtio-serial bus of every machine: the control port, the guest agent, exec's console. */
export const SERIAL_BUS = 'nxvm-serial0';
/** The port on which the guest's stage 2 takes requests (poweroff) from the host. */
export const CONTROL_PORT = 'org.nx-qemu-vm.control';
/** QEMU's guest agent (qemu-guest-agent), when the machine enables it. */
export const GUEST_AGENT_PORT = 'org.qemu.guest_agent.0';
/** The test API's agent (guest/agent.pl), added by the test API's launches only. */
export const AGENT_PORT = 'org.nx-qemu-vm.agent';

// --- the agent's frames (guest/agent.pl speaks them; test-driver/agent-protocol.ts encodes them) ---

/** The first word of the agent's hello: "nx-qemu-vm-agent <version> <boot id>". */
export const AGENT_HELLO = 'nx-qemu-vm-agent';
/** The version the agent says in its hello. */
export const AGENT_VERSION = 3;
/** The agent refuses larger frames; so do we. */
export const MAX_FRAME = 16 * 1024 * 1024;
/** Stdin and output travel in chunks of at most this size. */
export const CHUNK = 64 * 1024;
/**
 * The longest command: the agent hands it to the shell in an environment
 * variable, and Linux takes at most 128 KiB for one (the name included).
 */
export const MAX_COMMAND_BYTES = 128 * 1024 - 64;

// --- fw_cfg items -----------------------------------------------------------

/** Marks an exec boot (qemu/exec-script.ts); stage 1 and 2 read it. */
export const FW_CFG_MODE = 'opt/nx-qemu-vm/mode';
/**
 * Warm starts: 0 while the host saves a machine and 1 in every copy restored
 * from that state.
 */
export const FW_CFG_WARM = 'opt/nx-qemu-vm/warm';

// --- kernel parameters the host adds for the guest's stages --------------------

/** An exec boot (a direct kernel boot; any boot also says so through FW_CFG_MODE). */
export const KERNEL_FLAG_EXEC = 'nxvm.exec';
/** A boot the warm target saves: stage 1 stops at WARM_POINT. */
export const KERNEL_FLAG_WARM = 'nxvm.warm';
/** The throwaway builder VM: stage 1 runs the builder's script instead of an init. */
export const KERNEL_FLAG_BUILDER = 'nxvm.builder';
/** Stage 1 first runs a read-only, forced e2fsck of the root and says what it found. */
export const KERNEL_FLAG_FSCK_CHECK = 'nxvm.fsck=check';

// --- console lines the host waits for ---------------------------------------

/** Stage 1 gave up; the lines before it say why. */
export const STAGE1_FAILED = 'nx-qemu-vm: stage 1 failed';
/** Where stage 1 waits to be saved as a warm state. */
export const WARM_POINT = 'nx-qemu-vm: warm point';
export const STAGE2_REACHED = 'nx-qemu-vm: stage 2 reached';
/** Printed once the guest's network and postBootCommands are up, just before its console shell. */
export const ROOT_SHELL_BANNER = 'Root shell on';
/** The first words of the console line that reports a service that failed to start. */
export const SERVICE_FAILED = 'nx-qemu-vm: service failed:';
/** The line after a failure report's log lines. */
export const SERVICE_REPORT_END = 'nx-qemu-vm: end of service report';

// --- paths ------------------------------------------------------------------

/** The guest's run-time directory: busybox, init, the agent, the services program. */
export const RUN_DIR = '/run/nx-qemu-vm';
/** Where stage 1 puts the services program in the guest. */
export const SERVICES_PROGRAM = `${RUN_DIR}/services`;
/** Where the stage-2 supervisor keeps each service's state (one word, then why). */
export const SERVICES_STATE_DIR = `${RUN_DIR}/service-state`;
/** Files the host and the guest exchange for `exec`: this directory of the xchg share. */
export const EXEC_SUBDIR = '.nx-qemu-vm';
/** Where the guest mounts the xchg share. */
export const XCHG_TARGET = '/tmp/xchg';
/** exec's exchange directory as the guest sees it. */
export const EXEC_DIR = `${XCHG_TARGET}/${EXEC_SUBDIR}`;
/** In it: the command the host writes (a shell script), and the guest's answers. */
export const EXEC_FILES = {
  // Not plain "command": shellcheck takes `exec_command=command` in the
  // generated header for a command's name assigned by mistake (SC2209).
  command: 'command.sh',
  status: 'status',
  /** Why a declared service failed to start, when the command never ran. */
  serviceFailure: 'service-failure',
} as const;
/** Where a Debian image keeps its root tree beside /usr as the packages left it, relative to the store. */
export const STORE_FACTORY = 'share/nx-qemu-vm/factory';

/** What the initrd holds for stage 1 to copy into the new root's run-time directory. */
export const INITRD_STAGE2 = '/nx-qemu-vm/stage-2-init';
/** The test API's guest agent (guest/agent.pl); stage 1 copies it to <run dir>/agent. */
export const INITRD_AGENT = '/nx-qemu-vm/agent.pl';
/** Stage 2 as a systemd service (guest/nx-qemu-vm.service), with "init": "systemd". */
export const INITRD_STAGE2_UNIT = '/nx-qemu-vm/nx-qemu-vm.service';
/** With "init": "systemd", the network's unit (guest/nx-qemu-vm-network.service). */
export const INITRD_NETWORK_UNIT = '/nx-qemu-vm/nx-qemu-vm-network.service';
export const INITRD_ALTERNATIVES = '/nx-qemu-vm/etc-alternatives';
/** The declared services' program (guest/services.ts); stage 1 copies it to <run dir>/services. */
export const INITRD_SERVICES = '/nx-qemu-vm/services';
/** With "init": "systemd", the services' units; stage 1 installs them in /run/systemd/system. */
export const INITRD_UNITS = '/nx-qemu-vm/units';

// --- exec's statuses --------------------------------------------------------

/** exec-<m>-vm's own statuses, beside the command's: it ran past VM_EXEC_TIMEOUT ... */
export const EXEC_TIMEOUT_STATUS = 124;
/** ... or the guest never ran the command (also a declared service that failed to start). */
export const EXEC_BOOT_FAILURE_STATUS = 125;

// --- system calls -------------------------------------------------------------

/**
 * Linux's numbers for the system calls the agent makes for the host (its Y
 * frame, through Perl's `syscall`, which needs no module but takes the
 * number, and the number is the architecture's own).
 */
export const GUEST_SYSCALLS = {
  'x86_64-linux': { mount: 165, umount2: 166, settimeofday: 164 },
  'aarch64-linux': { mount: 40, umount2: 39, settimeofday: 170 },
  'i686-linux': { mount: 21, umount2: 52, settimeofday: 79 },
} as const;
/** The guest's `long`, for a struct timeval: 8 bytes, but 4 on i686. */
export const GUEST_LONG_BYTES = { 'x86_64-linux': 8, 'aarch64-linux': 8, 'i686-linux': 4 } as const;
