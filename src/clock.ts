import { TempIDConfigError } from "./errors.js";

/** Far beyond any real clock, and below what the 5-byte expiry field holds with 100 years added. */
const MAX_CLOCK_MS = 2 ** 39 * 1000;

/** Every reading of an instance's clock goes through here, so a broken clock fails the same way everywhere. */
export function readClock(clock: () => number): number {
  const now = clock();
  if (!Number.isFinite(now) || now < 0 || now > MAX_CLOCK_MS) {
    throw new TempIDConfigError("clock() must return milliseconds since the epoch");
  }
  return now;
}
