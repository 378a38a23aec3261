import { TempIDDurationError } from "./errors.js";

/** `"30s"`, `"10m"`, `"2h"`, `"7d"`, or a number of seconds. */
export type Duration = number | `${number}${"s" | "m" | "h" | "d"}`;

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400 } as const;

/** 100 years: beyond this a duration is a mistake, not a token lifetime. */
export const MAX_DURATION_SECONDS = 100 * 365 * 86400;

/**
 * Parses a duration into whole seconds. Accepts a positive whole number followed by s, m, h or d, or a
 * positive number of seconds (fractions are not allowed: expiry has one-second resolution).
 */
export function parseDuration(value: Duration | string): number {
  let seconds: number;
  if (typeof value === "number") {
    if (!Number.isInteger(value)) {
      throw new TempIDDurationError(`duration must be a whole number of seconds, got ${String(value)}`);
    }
    seconds = value;
  } else if (typeof value === "string") {
    const match = /^\s*(\d{1,12})\s*([smhd])\s*$/i.exec(value);
    if (match === null) {
      throw new TempIDDurationError(
        `invalid duration ${JSON.stringify(value.slice(0, 40))}: use a whole number and a unit, like "30s", "10m", "2h" or "7d"`,
      );
    }
    seconds = Number(match[1]) * UNIT_SECONDS[match[2]!.toLowerCase() as keyof typeof UNIT_SECONDS];
  } else {
    throw new TempIDDurationError(`duration must be a string like "15m" or a number of seconds, got ${typeof value}`);
  }
  if (seconds <= 0) throw new TempIDDurationError(`duration must be positive, got ${String(value)}`);
  if (seconds > MAX_DURATION_SECONDS) {
    throw new TempIDDurationError(`duration ${String(value)} is over the 100-year maximum`);
  }
  return seconds;
}

/**
 * Parses a clock tolerance: a duration, or 0. Negative, fractional or absurd values are refused.
 */
export function parseTolerance(value: Duration | string | undefined): number {
  // No tolerance, however it is written: 0, "0s", "0m" (a config file's CLOCK_TOLERANCE=0s).
  if (value === undefined || value === 0 || /^\s*0+\s*[smhd]\s*$/i.test(value as string)) return 0;
  return parseDuration(value);
}

/**
 * Formats time left the way the Python package does, counting whole seconds rounded up: "45s" under a
 * minute, "14m 59s" under an hour, "1h 30m" under a day, "3d 0h" beyond, and "expired" at or past zero.
 * NaN and infinities are a TempIDDurationError.
 */
export function formatRemaining(ms: number): string {
  if (!Number.isFinite(ms)) throw new TempIDDurationError(`formatRemaining takes a finite number of milliseconds, got ${String(ms)}`);
  if (ms <= 0) return "expired";
  const total = Math.ceil(ms / 1000);
  if (total < 60) return `${total}s`;
  if (total < 3600) return `${Math.floor(total / 60)}m ${total % 60}s`;
  if (total < 86400) return `${Math.floor(total / 3600)}h ${Math.floor((total % 3600) / 60)}m`;
  return `${Math.floor(total / 86400)}d ${Math.floor((total % 86400) / 3600)}h`;
}
