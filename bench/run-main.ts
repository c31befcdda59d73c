// Runs a benchmark's async main and exits with its outcome: the machines and
// sockets it leaves unreferenced must not keep the process alive, and a
// failure prints its error and exits 1.
export function runMain(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
