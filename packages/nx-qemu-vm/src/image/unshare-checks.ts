// What mmdebstrap's unshare mode needs from the host when an ordinary account
// builds an image, checked before it runs: without these it fails with "unable
// to pick chroot mode automatically", which names none of them. Pure: the
// host's facts come in, one line per problem (with its fix) comes out.
import type { UnshareFacts } from '../host/unshare-facts';

/** mmdebstrap maps 65536 ids into the namespace: the range must be at least that large. */
const RANGE = 65536;

/** Whether a subordinate-id file gives the account a range of at least RANGE ids. */
export function hasRange(text: string | undefined, user: string, uid: number): boolean {
  return (text ?? '').split('\n').some((line) => {
    const [who, , count] = line.trim().split(':');
    return (who === user || who === String(uid)) && Number(count) >= RANGE;
  });
}

export function unshareProblems(f: UnshareFacts): string[] {
  if (f.uid === 0) return [];
  const problems: string[] = [];
  if (!f.newuidmap || !f.newgidmap)
    problems.push(
      'newuidmap and newgidmap are missing: install them as root with apt-get install uidmap',
    );
  const without = [
    ['/etc/subuid', f.subuid],
    ['/etc/subgid', f.subgid],
  ].flatMap(([file, text]) => (hasRange(text, f.user, f.uid) ? [] : [file]));
  if (without.length)
    problems.push(
      `${without.join(' and ')} ${without.length > 1 ? 'give' : 'gives'} ${f.user} no range of ${RANGE} subordinate ids: as root, run usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${f.user} (any free range of that size)`,
    );
  if (f.unprivilegedUsernsClone === '0')
    problems.push(
      'user namespaces are off for ordinary accounts (kernel.unprivileged_userns_clone = 0): as root, sysctl -w kernel.unprivileged_userns_clone=1 (and in /etc/sysctl.d to keep it)',
    );
  if (f.apparmorRestrictUserns === '1')
    problems.push(
      'AppArmor restricts user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1): as root, sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or give mmdebstrap an AppArmor profile that allows userns',
    );
  if (f.maxUserNamespaces === '0')
    problems.push(
      'user namespaces are disabled (user.max_user_namespaces = 0): as root, sysctl -w user.max_user_namespaces=15000',
    );
  return problems;
}

export function unshareProblemMessage(machine: string, problems: string[]): string {
  return [
    `machine "${machine}": building its Debian image as an ordinary account uses mmdebstrap's unshare mode, which this host is not ready for:`,
    ...problems.map((p) => `  - ${p}`),
    'Or build the image as root once: the image target is cached, and the account then uses the cached image.',
  ].join('\n');
}
