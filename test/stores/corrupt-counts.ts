/**
 * A counter whose count is negative (written by hand, or by a faulty service sharing the Python table)
 * must never yield a grant: `count < limit` would hold for |count| extra uses. Every store refuses such a
 * live counter with a TempIDStoreError naming the value, on consume and on used(), and leaves it as it
 * was; an expired one counts as absent (restarted by a use), and revoke() overwrites it.
 * Each store's test file calls this with a way to write and read the raw counter.
 */
import { expect } from "vitest";
import { type UseStore, REVOKED_COUNT, TempIDStoreError, createTempID } from "@tempid/core";

export interface RawAccess {
  /** Writes the counter directly (as a hand edit or another service would). */
  write(key: string, count: number, expiresAtSec: number): Promise<void>;
  /** Reads the raw counter, or null. */
  read(key: string): Promise<{ count: number; expiresAt: number } | null>;
}

const SECRET = "corrupt-counts-test-secret-0123456789abcdef";

export async function checkCorruptCounts(store: UseStore, raw: RawAccess, where: RegExp): Promise<void> {
  const now = Date.now();
  const exp = Math.floor(now / 1000) + 3600;
  const tag = Math.random().toString(36).slice(2, 8);

  for (const count of [-1, -5, -2147483648]) {
    const key = `neg${count}-${tag}`;
    await raw.write(key, count, exp);
    for (const limit of [1, 3, REVOKED_COUNT - 1]) {
      const err = await store.consume(key, limit, exp, now).then(
        (granted) => new Error(`consume resolved ${String(granted)}`),
        (e: unknown) => e,
      );
      expect(err, `consume, count ${count}, limit ${limit}`).toBeInstanceOf(TempIDStoreError);
      expect((err as Error).message).toContain(`negative count (${count})`);
      expect((err as Error).message).toMatch(where);
    }
    await expect(store.used(key, now)).rejects.toThrow(`negative count (${count})`);
    expect(await raw.read(key)).toEqual({ count, expiresAt: exp });
  }

  // Through the core: use() and usesInfo() reject with the value (not "the store answered no count").
  const tempid = createTempID({ secret: SECRET, store, clock: () => now });
  const tid = await tempid.new("10m", { maxUses: 2 });
  await raw.write(tid.counterKey, -1, exp);
  await expect(tid.use()).rejects.toThrow("negative count (-1)");
  await expect(tid.usesInfo()).rejects.toThrow("negative count (-1)");
  await expect(tempid.verify(tid.toString(), { checkUses: true })).rejects.toBeInstanceOf(TempIDStoreError);

  // An expired negative counter counts as absent: used() 0, and a use restarts it at 1.
  const stale = `neg-expired-${tag}`;
  await raw.write(stale, -3, exp);
  const after = (exp + 1) * 1000;
  expect(await store.used(stale, after)).toBe(0);
  expect(await store.consume(stale, 1, exp + 60, after)).toBe(true);
  expect(await store.consume(stale, 1, exp + 60, after)).toBe(false);
  expect((await raw.read(stale))?.count).toBe(1);

  // revoke() overwrites a negative count: the counter is then revoked, not corrupt.
  const revoked = `neg-revoked-${tag}`;
  await raw.write(revoked, -1, exp);
  await store.revoke(revoked, exp, now);
  expect(await store.used(revoked, now)).toBe(REVOKED_COUNT);
  expect(await store.consume(revoked, 5, exp, now)).toBe(false);
}

/**
 * A live counter above REVOKED_COUNT (a hand edit, a faulty writer): no grant, and read as used up, as
 * revoked is (usesInfo() { left: 0 }, verify(…, { checkUses: true }) null), never an error blaming the
 * setup. Found by the breaker: the Durable Object store threw a TempIDStoreError blaming the binding,
 * where IndexedDB and Deno KV read it as used up. Stores whose column cannot hold it (PostgreSQL, MySQL
 * INT) have nothing to check.
 */
export async function checkCountAboveRevoked(store: UseStore, raw: RawAccess): Promise<void> {
  const now = Date.now();
  const exp = Math.floor(now / 1000) + 3600;
  const tempid = createTempID({ secret: SECRET, store, clock: () => now });
  for (const count of [REVOKED_COUNT + 1, 3e9]) {
    const tid = await tempid.new("10m", { maxUses: 3 });
    await raw.write(tid.counterKey, count, exp);
    expect(await tid.use()).toBe(false);
    expect(await tid.usesInfo()).toEqual({ total: 3, used: 3, left: 0 });
    expect(await tempid.verify(tid.toString(), { checkUses: true })).toBeNull();
    expect(await store.used(tid.counterKey, now)).toBeGreaterThanOrEqual(REVOKED_COUNT);
    expect(await raw.read(tid.counterKey)).toEqual({ count, expiresAt: exp });
  }
}
