/**
 * Fault injection shared by the test bridges. A bridge asks `gate()` before it forwards a statement and
 * `afterForward()` once the real server has answered; the switch decides what the client sees.
 *
 * - `status500`: answer HTTP 500 without forwarding (a gateway failing in front of the database).
 * - `drop-before`: destroy the connection without forwarding (the statement never reached the database).
 * - `drop-after`: forward, let the database execute, then destroy the connection before the reply
 *   (the client cannot know whether its statement ran: the case a retry would count twice).
 * - `hang`: hold the request. `release()` lets held requests go on, but only those whose client is still
 *   connected: a client that gave up (aborted) is not counted later, one that merely stopped waiting is.
 */
export type FaultKind = "none" | "status500" | "drop-before" | "drop-after" | "hang";

export class FaultSwitch {
  #kind: FaultKind = "none";
  #held = new Set<() => void>();
  /** Statements forwarded to the real server since start (every retry counts). */
  forwarded = 0;
  /** Requests that arrived, whatever happened to them. */
  received = 0;
  #active = 0;
  #idleWaiters: Array<() => void> = [];

  get kind(): FaultKind {
    return this.#kind;
  }

  set(kind: FaultKind): void {
    this.#kind = kind;
  }

  /** Clears the fault and lets held requests continue. */
  release(): void {
    this.#kind = "none";
    const held = [...this.#held];
    this.#held.clear();
    for (const resume of held) resume();
  }

  /** Number of requests currently held by `hang`. */
  get heldCount(): number {
    return this.#held.size;
  }

  /** Marks a request in progress (held or forwarded) until `done` is called. */
  begin(): () => void {
    this.#active++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      if (--this.#active === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
    };
  }

  /** Resolves once no request is held or being forwarded (after a `release()`, say). */
  settled(): Promise<void> {
    if (this.#active === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Decides the fate of one request before it is forwarded. Resolves to the fault to act on now
   * ("none" to forward). While hanging, resolves only after `release()`.
   */
  async gate(): Promise<Exclude<FaultKind, "hang">> {
    this.received++;
    const kind = this.#kind;
    if (kind !== "hang") return kind;
    await new Promise<void>((resolve) => this.#held.add(resolve));
    return "none";
  }
}
