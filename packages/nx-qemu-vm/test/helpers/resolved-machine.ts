// One machine of a config, validated and resolved against the fake host: what
// the specs of the code after resolution start from.
import { validateConfig } from '../../src/config/validate';
import { type ResolvedMachine, resolveMachine } from '../../src/config/resolve';
import { fakeHost } from './fake-host';

export function resolveOnFakeHost(m: object, name = 'vm', host = fakeHost()): ResolvedMachine {
  return resolveMachine(name, 1, validateConfig({ machines: { [name]: m } }).machines[name], host);
}

/** Modules for rendering stage 1: one it needs and one it may go without. */
export const TEST_STAGE1_MODULES = {
  load: [
    { name: 'virtio_blk', optional: false },
    { name: 'crc32c_intel', optional: true },
  ],
};
