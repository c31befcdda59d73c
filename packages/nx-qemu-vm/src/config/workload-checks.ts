// Checks on what the workspace puts in a machine (install, services) that
// JSON Schema cannot express: where the files may go in the guest, where they
// may come from in the workspace, and the order of the services.
import { posix } from 'node:path';
import type { ValidMachine } from './valid-machine';
import { managedMountPoints } from './defaults';
import { isPlainPath, overlaps, plainPathMessage, within } from './mount-checks';
import type { AddProblem as Add } from './errors';

/**
 * Guest directories an install may not be at or under: the kernel's and
 * stage 1's own file systems, scratch space, and the store.
 */
export const SYSTEM_TREES = ['/proc', '/sys', '/dev', '/run', '/tmp', '/nix', '/.nx-store'];
/** Top-level directories the guest itself needs writable: an install may go below them, not on them. */
const SYSTEM_DIRS = ['/etc', '/var', '/root', '/boot', '/bin', '/sbin', '/lib', '/lib64', '/usr'];

/**
 * The lines of /etc/passwd and /etc/group that stage 1 writes on a host-/usr
 * machine's first boot (a Debian image brings its own files).
 */
export const SEED_PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
];
export const SEED_GROUP = ['root:x:0:', 'nogroup:x:65534:'];
/** The accounts every guest has. */
export const BUILT_IN_USERS = SEED_PASSWD.map((line) => line.split(':')[0]);

/** Service names stage 1 and stage 2 use for themselves. */
const RESERVED_SERVICE = /^(nx-qemu-vm|systemd-.*|dbus|getty.*|serial-getty.*)$/;

export function checkWorkload(m: ValidMachine, add: Add): void {
  checkInstall(m, add);
  checkServices(m, add);
}

function checkInstall(m: ValidMachine, add: Add): void {
  const managed = [...managedMountPoints(m)].filter(([p]) => p !== '/');
  const fileSystems = Object.keys(m.fileSystems);
  const seen = new Map<string, number>();
  m.install.forEach((entry, i) => {
    const to = entry.to;
    if (!isPlainPath(to)) add(['install', i, 'to'], to, plainPathMessage(to, '/opt/app'));
    else if (to === '/')
      add(['install', i, 'to'], to, 'cannot be the root; choose a directory such as "/opt/app".');
    else {
      const tree =
        SYSTEM_TREES.find((d) => within(to, d)) ?? managed.find(([p]) => overlaps(to, p));
      const system = SYSTEM_DIRS.find((d) => d === to || within(d, to));
      const fs = fileSystems.find((p) => p !== '/' && overlaps(to, p));
      if (typeof tree === 'string')
        add(
          ['install', i, 'to'],
          to,
          `is inside ${tree}, which the guest's boot owns; choose a directory such as "/opt/app".`,
        );
      else if (tree)
        add(
          ['install', i, 'to'],
          to,
          `overlaps ${tree[0]}, the mount point of ${tree[1]}; choose a directory that is neither inside nor around it, such as "/opt/app".`,
        );
      else if (system)
        add(
          ['install', i, 'to'],
          to,
          `would hide ${system}, which the guest needs writable; choose a directory below it or elsewhere, such as "/opt/app".`,
        );
      else if (fs)
        add(['install', i, 'to'], to, `overlaps fileSystems["${fs}"]; one path cannot carry both.`);
      const first = [...seen].find(([p]) => overlaps(p, to));
      if (first)
        add(
          ['install', i, 'to'],
          to,
          `overlaps install[${first[1]}].to (${first[0]}); each install needs a path of its own.`,
        );
      seen.set(to, i);
    }
    if (entry.from !== undefined) {
      const from = entry.from;
      const normal = posix.normalize(from);
      if (posix.isAbsolute(from) || normal === '..' || normal.startsWith('../'))
        add(
          ['install', i, 'from'],
          from,
          'must be a directory inside the workspace, relative to its root, e.g. "dist/apps/api".',
        );
      else if (within(normal.replace(/\/$/, ''), 'dist/vm'))
        add(
          ['install', i, 'from'],
          from,
          "must not be under dist/vm/, which holds the machines' own build outputs.",
        );
    }
  });
}

function checkServices(m: ValidMachine, add: Add): void {
  const names = Object.keys(m.services);
  for (const [name, s] of Object.entries(m.services)) {
    if (RESERVED_SERVICE.test(name))
      add(
        ['services', name],
        name,
        'is the name of a unit the guest runs itself (nx-qemu-vm, systemd-*, dbus, getty); choose another name.',
      );
    s.after.forEach((dep, j) => {
      if (dep === name)
        add(['services', name, 'after', j], dep, 'a service cannot wait for itself.');
      else if (!names.includes(dep))
        add(
          ['services', name, 'after', j],
          dep,
          `is not a service of this machine; known: ${names.filter((n) => n !== name).join(', ') || 'none'}.`,
        );
    });
    if (m.system.from === 'host' && !BUILT_IN_USERS.includes(s.user))
      add(
        ['services', name, 'user'],
        s.user,
        `a machine on the host's /usr has only the accounts ${BUILT_IN_USERS.join(' and ')}; use one of them, or a Debian image (system.from "debian") whose packages create the account.`,
      );
    if (!isPlainPath(s.workingDirectory))
      add(
        ['services', name, 'workingDirectory'],
        s.workingDirectory,
        plainPathMessage(s.workingDirectory, '/'),
      );
  }
  const cycle = findCycle(m.services);
  if (cycle)
    add(
      ['services', cycle[0], 'after'],
      m.services[cycle[0]].after,
      `the services wait for each other in a circle (${[...cycle, cycle[0]].join(' -> ')}); remove one of these "after" entries.`,
    );
}

type AfterGraph = Record<string, { after: readonly string[] }>;

/**
 * A depth-first walk of the `after` edges, iterative so that a chain of any
 * length cannot overflow the stack: the services with each after everything
 * it waits for (file order otherwise), and the first circle met, as the names
 * along it. Names are looked up as own keys only ("toString" is no service).
 */
function walkAfter(services: AfterGraph): { order: string[]; cycle?: string[] } {
  const known = (name: string) => Object.hasOwn(services, name);
  const state = new Map<string, 'open' | 'done'>();
  const order: string[] = [];
  let cycle: string[] | undefined;
  for (const root of Object.keys(services)) {
    if (state.has(root)) continue;
    // Each frame: a service and how many of its `after` entries are walked.
    const stack: [string, number][] = [[root, 0]];
    state.set(root, 'open');
    while (stack.length) {
      const top = stack[stack.length - 1];
      const deps = services[top[0]].after;
      if (top[1] < deps.length) {
        const dep = deps[top[1]++];
        if (!known(dep) || state.get(dep) === 'done') continue;
        if (state.get(dep) === 'open') {
          const names = stack.map(([name]) => name);
          cycle ??= names.slice(names.indexOf(dep));
          continue;
        }
        state.set(dep, 'open');
        stack.push([dep, 0]);
      } else {
        state.set(top[0], 'done');
        order.push(top[0]);
        stack.pop();
      }
    }
  }
  return { order, cycle };
}

/** A circle of `after` edges, as the names along it, or undefined. */
export const findCycle = (services: AfterGraph): string[] | undefined => walkAfter(services).cycle;

/** The services in an order where each comes after everything it waits for (file order otherwise). */
export const startOrder = (services: AfterGraph): string[] => walkAfter(services).order;
