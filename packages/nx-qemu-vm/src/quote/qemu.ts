// QEMU's option syntax (`key=value,key=value`): a comma inside a value is
// written twice.

/** Escapes a literal for QEMU's `key=value,...` syntax. */
export const qemuEscape = (s: string): string => s.replace(/,/g, ',,');
