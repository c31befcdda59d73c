// The names of the saved states and of what a ready state keeps beside its
// file: one home for the warm target, the run script and the test API. No
// effects and no imports, so that the test API loads it under any runner
// (Jest's require() cannot load execa, an ES module).

/**
 * The states under dist/vm/<m>/warm and test-warm, by who restores them: exec's and the
 * test API's at the end of stage 1, and the test API's ready state
 * (warmStart "ready"), which has its disks beside it.
 */
export const WARM_FILES = { exec: 'state', testApi: 'test-state', ready: 'ready-state' } as const;

/**
 * What a ready state keeps beside its file, by suffix: the key (written by
 * the run script as `.key.new` and named `.key` once the save is complete),
 * the disks it was saved with, and which install images it saw. The run script renders the same names.
 */
export const READY_SUFFIXES = {
  key: '.key',
  pendingKey: '.key.new',
  root: '.root.qcow2',
  empty: (i: number) => `.empty${i}.qcow2`,
  /** The digest of the install images it was saved with, when they are swapped after a restore. */
  installs: '.installs',
} as const;

/** The suffixes of the disks a ready state was saved with: its root disk, then each empty disk. */
export const readyDiskSuffixes = (emptyDisks: number): string[] => [
  READY_SUFFIXES.root,
  ...Array.from({ length: emptyDisks }, (_, i) => READY_SUFFIXES.empty(i)),
];
