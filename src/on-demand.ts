import { TempIDConfigError } from "./errors.js";

/** A module the core loads the first time a call needs it; `now` is the module once it has loaded. */
export interface OnDemand<M> {
  (): Promise<M>;
  now?: M;
}

/**
 * One load shared by every caller: the first call starts it, later ones wait for the same one (their
 * callbacks run in the order they were made), and once it has loaded `now` holds the module, for callers
 * that must not wait a turn. A failed load is not kept: the next call tries again, and each failure
 * surfaces as a TempIDConfigError naming the module, with the loader's error as `cause`. `load` is an
 * arrow around a literal `import("./x.js")`, which bundlers follow.
 */
export function onDemand<M>(name: string, load: () => Promise<M>): OnDemand<M> {
  let pending: Promise<M> | undefined;
  const get: OnDemand<M> = () =>
    (pending ??= load().then(
      (module) => (get.now = module),
      (err: unknown) => {
        pending = undefined;
        throw new TempIDConfigError(
          `could not load ${name} (${err instanceof Error ? err.message : String(err)}): every file of @tempid/core must be deployed with the app`,
          { cause: err },
        );
      },
    ));
  return get;
}
