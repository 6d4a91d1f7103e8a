/**
 * Runs the tasks with at most `limit` in flight; every task runs, then the first failure is thrown.
 * Controllers use it to write many statuses concurrently without flooding the store (or the API server,
 * for a remote store) and without one failed write stopping the others.
 */
export async function runPool(tasks: readonly (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < tasks.length) {
      const task = tasks[next++];
      try {
        await task?.();
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  if (failure) throw failure.error;
}
