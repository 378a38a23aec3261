/**
 * Waits at most `ms` for `work`: true once it has settled (resolved or rejected: await it for its value or
 * its error), false if it has not by then. The work goes on either way; its rejection is handled here, so a
 * late one is never an unhandled rejection.
 */
export async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      work.then(
        () => true,
        () => true,
      ),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
