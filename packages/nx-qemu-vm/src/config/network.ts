// User-mode (SLiRP) networking with forwards, plus the inter-VM vlans.
import { type ConfigIssue, jsonPath } from './errors';
import type { ValidForwardPort, ValidMachine } from './valid-machine';
import { type Part, mergeLiterals } from '../quote/argv-words';
import { qemuEscape } from '../quote/qemu';

/** Forwards with no host address listen on loopback only: exposing a VM to the LAN must be a choice. */
export const DEFAULT_HOST_ADDRESS = '127.0.0.1';
export const GUEST_IP = '10.0.2.15';
/** Vlan N travels as UDP multicast on the loopback interface, on this port plus N. */
export const VLAN_MCAST_BASE_PORT = 41000;
/**
 * The run script's variable that holds the first three octets of its
 * workspace's multicast group (230.A.B, from a checksum of the workspace's
 * path): vlan N is 230.A.B.N. Machines of one workspace meet; those of
 * another workspace on the same host, or of a test running beside it, do not.
 */
export const VLAN_NET_VAR = 'vlan_net';

export interface ResolvedNetwork {
  /** QEMU arguments of the user network (default or the user's replacement). */
  user: { default: true; netdev: Part[]; device: string } | { default: false; words: string[] };
  needsNetcat: boolean;
  vlans: { vlan: number; netdev: Part[]; device: string; address: string }[];
}

export function forwardRule(rule: ValidForwardPort): string {
  const hostAddress = rule.host.address || DEFAULT_HOST_ADDRESS;
  if (rule.from === 'host')
    return `hostfwd=${rule.proto}:${hostAddress}:${rule.host.port}-${rule.guest.address}:${rule.guest.port}`;
  // Each guest connection runs its own netcat to the host service (Debian: netcat-openbsd).
  return `guestfwd=${rule.proto}:${rule.guest.address}:${rule.guest.port}-cmd:nc ${hostAddress} ${rule.host.port}`;
}

/** A machine's address on vlan N: 192.168.N.<its 1-based position in workspace-vm.json>. */
export const vlanAddress = (vlan: number, index: number) => `192.168.${vlan}.${index}`;

/**
 * The positions a vlan's /24 holds: .0 names the network and .255 is its
 * broadcast address, and the MAC's last byte is the position too.
 */
export const VLAN_POSITIONS = 254;

/**
 * A machine on a vlan whose position in the file is past VLAN_POSITIONS would
 * get 192.168.N.255 or no address at all, and a MAC with a byte too many.
 */
export function vlanCapacityIssues(machines: Record<string, { vlans?: unknown }>): ConfigIssue[] {
  const members = new Map<number, string[]>();
  const entries = Object.entries(machines);
  for (const [name, m] of entries)
    if (Array.isArray(m?.vlans))
      for (const vlan of new Set(m.vlans.filter(Number.isInteger) as number[]))
        members.set(vlan, [...(members.get(vlan) ?? []), name]);
  const issues: ConfigIssue[] = [];
  entries.forEach(([name, m], i) => {
    if (i + 1 <= VLAN_POSITIONS || !Array.isArray(m?.vlans)) return;
    m.vlans.forEach((vlan, j) => {
      const count = members.get(vlan as number)?.length;
      if (count === undefined) return;
      issues.push({
        machine: name,
        path: jsonPath(['machines', name, 'vlans', j]),
        value: vlan,
        message: `vlan ${vlan} has ${count} machines, and this one is machine number ${i + 1} in the file: a machine's vlan address is 192.168.${vlan}.<its position>, which holds positions 1 to ${VLAN_POSITIONS}. Keep the machines that use vlans among the first ${VLAN_POSITIONS}, or set "vlans": [] on this one.`,
      });
    });
  });
  return issues;
}

const hex2 = (n: number) => n.toString(16).padStart(2, '0');

/** `index` is the machine's 1-based position in workspace-vm.json. */
export function resolveNetwork(m: ValidMachine, index: number): ResolvedNetwork {
  const vlans = m.vlans.map((vlan) => ({
    vlan,
    netdev: [
      `socket,id=vlan${vlan},mcast=`,
      { var: VLAN_NET_VAR },
      `.${vlan}:${VLAN_MCAST_BASE_PORT + vlan},localaddr=127.0.0.1`,
    ],
    device: `virtio-net-pci,netdev=vlan${vlan},mac=52:54:00:12:${hex2(vlan)}:${hex2(index)}`,
    address: vlanAddress(vlan, index),
  }));
  if (m.qemu.networkingOptions !== undefined)
    return { user: { default: false, words: m.qemu.networkingOptions }, needsNetcat: false, vlans };
  const options = ['user', 'id=user.0'];
  if (m.restrictNetwork) options.push('restrict=on');
  options.push(...m.forwardPorts.map((r) => qemuEscape(forwardRule(r))));
  return {
    user: {
      default: true,
      netdev: mergeLiterals([options.join(','), { ifSet: 'QEMU_NET_OPTS', prefix: ',' }]),
      device: 'virtio-net-pci,netdev=user.0',
    },
    needsNetcat: m.forwardPorts.some((r) => r.from === 'guest'),
    vlans,
  };
}

export function primaryIPAddress(m: ValidMachine, index: number): string {
  if (m.primaryIPAddress) return m.primaryIPAddress;
  return m.vlans.length ? vlanAddress(m.vlans[0], index) : GUEST_IP;
}

export interface HostEntry {
  address: string;
  name: string;
}

/**
 * The names a machine's /etc/hosts gives the other machines of the workspace:
 * one line for each vlan they share, in the order of this machine's vlans.
 * Vlan addresses follow each machine's position in the file.
 */
export function workspaceHosts(
  machines: Record<string, Pick<ValidMachine, 'vlans'>>,
  name: string,
): HostEntry[] {
  const entries = Object.entries(machines);
  const own = machines[name]?.vlans ?? [];
  return own.flatMap((vlan) =>
    entries.flatMap(([other, m], i) =>
      other !== name && m.vlans.includes(vlan)
        ? [{ address: vlanAddress(vlan, i + 1), name: other }]
        : [],
    ),
  );
}
