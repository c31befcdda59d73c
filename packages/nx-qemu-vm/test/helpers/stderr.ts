// What this process writes to its stderr while some work runs: the test
// API's one-line notices (a cold boot instead of a warm one) go there.

/** What the test API writes to this process's stderr while `work` runs. */
export async function stderrOf(work: () => Promise<unknown>): Promise<string> {
  const write = process.stderr.write.bind(process.stderr);
  let said = '';
  process.stderr.write = (chunk: string | Uint8Array, ...rest: never[]) => {
    said += chunk.toString();
    return write(chunk, ...rest);
  };
  try {
    await work();
  } finally {
    process.stderr.write = write;
  }
  return said;
}
