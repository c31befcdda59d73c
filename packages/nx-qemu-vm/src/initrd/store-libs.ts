// The shared libraries a declared system's binaries need, found in its store
// image rather than on the host (ldd cannot run another system's loader):
// read from the binaries' ELF headers, and looked up the way the guest's
// loader looks them up, in Debian's multiarch directories.
import { lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { join, posix } from 'node:path';
import { ElfError, elfDependencies } from '../formats/elf';

/**
 * A store image holds /usr only: a guest path is found in the store at its
 * path without the /usr prefix (merged /usr: /lib is usr/lib). Symbolic links
 * are followed as the guest would, absolute ones from the guest's root.
 */
export function storePath(store: string, guestPath: string, hops = 0): string | undefined {
  if (hops > 40) return undefined;
  const parts = posix.normalize(guestPath).split('/').filter(Boolean);
  if (parts[0] === 'usr') parts.shift();
  let at = '/';
  for (let i = 0; i < parts.length; i++) {
    const next = posix.join(at, parts[i]);
    let stat;
    try {
      stat = lstatSync(join(store, next));
    } catch {
      return undefined;
    }
    if (stat.isSymbolicLink()) {
      const target = readlinkSync(join(store, next));
      const resolved = target.startsWith('/') ? target : posix.join(at, target);
      return storePath(store, posix.join(resolved, ...parts.slice(i + 1)), hops + 1);
    }
    at = next;
  }
  return join(store, at);
}

/** Multiarch directories of Debian's dynamic loader, by ELF architecture. */
export const MULTIARCH: Record<string, string> = {
  'x86_64-linux': 'x86_64-linux-gnu',
  'aarch64-linux': 'aarch64-linux-gnu',
  'i686-linux': 'i386-linux-gnu',
};

export interface StoreLibrary {
  /** Where the initrd puts it: the loader's own path, or /lib/<multiarch>/<name>. */
  guestPath: string;
  /** The file in the extracted store. */
  file: string;
}

/**
 * The loader and every library the given binaries of a store need, libraries
 * of libraries included, in the store extracted at `store`. A missing library
 * is an error naming it: a guess could leave the initrd unable to run mke2fs.
 */
export function storeLibraryClosure(
  store: string,
  binaries: readonly string[],
  multiarch: string,
): StoreLibrary[] {
  const found = new Map<string, StoreLibrary>();
  const loaders = new Set<string>();
  const searchDirs = [`/lib/${multiarch}`, '/lib'];
  const visit = (file: string, label: string) => {
    const deps = elfDependencies(readFileSync(file), label);
    if (deps.interpreter && !found.has(deps.interpreter)) {
      const at = storePath(store, deps.interpreter);
      if (!at)
        throw new ElfError(`${label} needs the loader ${deps.interpreter}, which the image lacks`);
      found.set(deps.interpreter, { guestPath: deps.interpreter, file: at });
      loaders.add(posix.basename(deps.interpreter));
    }
    for (const name of deps.needed) {
      const guestPath = `/lib/${multiarch}/${name}`;
      // libc names the loader too; the loader is already there under its own path.
      if (found.has(guestPath) || loaders.has(name)) continue;
      const at = searchDirs.map((d) => storePath(store, `${d}/${name}`)).find(Boolean);
      if (!at) throw new ElfError(`${label} needs ${name}, which the image lacks`);
      found.set(guestPath, { guestPath, file: at });
      visit(at, name);
    }
  };
  for (const binary of binaries) visit(binary, binary);
  return [...found.values()].sort((a, b) => (a.guestPath < b.guestPath ? -1 : 1));
}
