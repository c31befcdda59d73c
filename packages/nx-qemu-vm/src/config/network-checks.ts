// The network options JSON Schema cannot check: addresses that reach the
// guest's /etc/hosts and QEMU's user network, and NixOS's forwardPorts
// assertions (no two forwards on one host port or guest target).
import { type OptionProblem, problemList } from './errors';
import type { ValidMachine } from './valid-machine';

/** A dotted-quad IPv4 address, each part 0-255 without leading zeros. */
export const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Written into the guest's /etc/hosts as the machine's own address. */
export function checkPrimaryIPAddress(machine: ValidMachine): OptionProblem[] {
  const { problems, add } = problemList();
  if (machine.primaryIPAddress !== '' && !IPV4.test(machine.primaryIPAddress))
    add(
      ['primaryIPAddress'],
      machine.primaryIPAddress,
      "must be an IPv4 address such as 192.168.1.10 (it becomes the line for this machine in the guest's /etc/hosts), or empty for the address on its first vlan.",
    );
  return problems;
}

/** Each forward's addresses, and no two forwards on one host port or guest target. */
export function checkForwardPorts(machine: ValidMachine): OptionProblem[] {
  const { problems, add } = problemList();
  const hostPorts = new Map<string, number>();
  const guestTargets = new Map<string, number>();
  machine.forwardPorts.forEach((rule, i) => {
    if (rule.host.address !== '' && !IPV4.test(rule.host.address))
      add(
        ['forwardPorts', i, 'host', 'address'],
        rule.host.address,
        'must be an IPv4 address such as 127.0.0.1, or empty for 127.0.0.1.',
      );
    if (rule.guest.address !== '' && !IPV4.test(rule.guest.address))
      add(
        ['forwardPorts', i, 'guest', 'address'],
        rule.guest.address,
        'must be an IPv4 address, or empty.',
      );
    if (rule.from === 'guest') {
      if (rule.proto !== 'tcp')
        add(
          ['forwardPorts', i, 'proto'],
          rule.proto,
          'guest-to-host forwarding supports only "tcp".',
        );
      if (!rule.guest.address.startsWith('10.0.2.'))
        add(
          ['forwardPorts', i, 'guest', 'address'],
          rule.guest.address,
          'must be in the user network 10.0.2.0/24, e.g. "10.0.2.100".',
        );
      const key = `${rule.guest.address}:${rule.guest.port}`;
      const first = guestTargets.get(key);
      if (first !== undefined)
        add(
          ['forwardPorts', i, 'guest'],
          key,
          `forwardPorts[${first}] already forwards guest ${key}.`,
        );
      else guestTargets.set(key, i);
    } else {
      const key = `${rule.proto}/${rule.host.port}`;
      const first = hostPorts.get(key);
      if (first !== undefined)
        add(
          ['forwardPorts', i, 'host', 'port'],
          rule.host.port,
          `forwardPorts[${first}] already listens on host ${rule.proto} port ${rule.host.port}; pick another port.`,
        );
      else hostPorts.set(key, i);
    }
  });

  return problems;
}

/** No vlan listed twice. */
export function checkVlans(machine: ValidMachine): OptionProblem[] {
  const { problems, add } = problemList();
  const seenVlans = new Map<number, number>();
  machine.vlans.forEach((vlan, i) => {
    const first = seenVlans.get(vlan);
    if (first !== undefined)
      add(['vlans', i], vlan, `vlan ${vlan} is already listed at vlans[${first}].`);
    else seenVlans.set(vlan, i);
  });

  return problems;
}
