// The shell commands the test API runs in a guest, built from the caller's
// values with every value quoted. Pure, so their shapes are unit-tested.
import { posix } from 'node:path';
import { shQuote } from '../quote/shell';
import { SERVICES_PROGRAM } from '../contract/host-guest';

function guestPath(path: string, what: string): string {
  if (!path || path.includes('\0'))
    throw new TypeError(`${what}: not a path: ${JSON.stringify(path)}`);
  return path;
}

export function checkPort(port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new RangeError(`not a TCP port: ${port} (1 to 65535)`);
  return port;
}

const HOST = /^[A-Za-z0-9.:_-]+$/;

/**
 * Succeeds when a TCP connection to address:port opens, from inside the guest.
 * Perl, because the guest agent needs it anyway and busybox's nc cannot just probe.
 */
export function portOpenCommand(port: number, address: string): string {
  if (!HOST.test(address))
    throw new TypeError(`not a host name or address: ${JSON.stringify(address)}`);
  const probe =
    'exit(IO::Socket::INET->new(PeerAddr => $ARGV[0], PeerPort => $ARGV[1], Proto => "tcp", Timeout => 2) ? 0 : 1)';
  return `perl -MIO::Socket::INET -e ${shQuote(probe)} ${shQuote(address)} ${checkPort(port)}`;
}

/** Succeeds when a stream (or datagram) connection to a UNIX-domain socket opens, from inside the guest. */
export function unixSocketOpenCommand(path: string, datagram: boolean): string {
  const type = datagram ? 'SOCK_DGRAM' : 'SOCK_STREAM';
  const probe = `exit(IO::Socket::UNIX->new(Peer => $ARGV[0], Type => ${type}) ? 0 : 1)`;
  return `perl -MIO::Socket::UNIX -MSocket -e ${shQuote(probe)} ${shQuote(guestPath(path, 'waitForOpenUnixSocket'))}`;
}

export function fileExistsCommand(path: string): string {
  return `test -e ${shQuote(guestPath(path, 'waitForFile'))}`;
}

/** A tar stream of one file or directory on stdout, its name the path's last part. */
export function tarOutCommand(path: string): string {
  const p = posix.normalize(guestPath(path, 'copyFromVm'));
  const base = posix.basename(p);
  if (base === '' || base === '/' || base === '.' || base === '..')
    throw new TypeError(`copyFromVm: name a file or directory, not ${JSON.stringify(path)}`);
  return `tar -C ${shQuote(posix.dirname(p))} -cf - ./${shQuote(base)}`;
}

/**
 * Unpacks a tar stream of one entry named `name` from stdin to `dest`: a file
 * replaces a file, a directory's contents merge into an existing directory.
 * The entry is unpacked beside its destination first, so the move is a rename.
 */
export function tarInCommand(name: string, dest: string): string {
  const d = posix.normalize(guestPath(dest, 'copyToVm'));
  if (d === '/' || d === '.')
    throw new TypeError(`copyToVm: ${JSON.stringify(dest)} cannot be replaced`);
  return [
    'set -e',
    `dest=${shQuote(d)}`,
    `src_name=${shQuote(name)}`,
    'parent=$(dirname -- "$dest")',
    'mkdir -p -- "$parent"',
    'tmp=$(mktemp -d "$parent/.nx-qemu-vm-copy.XXXXXX")',
    'trap \'rm -rf -- "$tmp"\' EXIT',
    'tar -C "$tmp" -xf -',
    'src=$tmp/$src_name',
    'if [ -d "$src" ] && [ -d "$dest" ] && [ ! -L "$dest" ]; then',
    '  cp -a -- "$src/." "$dest/"',
    'elif [ -d "$dest" ] && [ ! -L "$dest" ]; then',
    '  echo "copyToVm: $dest is a directory; name the file to create" >&2',
    '  exit 1',
    'else',
    '  rm -f -- "$dest"',
    '  mv -- "$src" "$dest"',
    'fi',
  ].join('\n');
}

/** One word for a declared service: starting, ready, failed or exited. */
export const serviceStatusCommand = (name: string) => `${SERVICES_PROGRAM} status ${shQuote(name)}`;
/** The last lines of a declared service's log (its file, or its journal under systemd). */
export const serviceLogCommand = (name: string) => `${SERVICES_PROGRAM} log ${shQuote(name)}`;
