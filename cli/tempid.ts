/**
 * The `tempid` command line: mint, verify, inspect and count tokens from a shell script.
 *
 * Exit codes a script can rely on: 0 granted / valid / done; 1 refused (invalid, expired, limit reached,
 * revoked); 2 bad usage or a store error, with a one-line reason on stderr. The secret comes from
 * TEMPID_SECRET.
 */
import { parseArgs } from "node:util";
import { readFileSync } from "node:fs";
import { settlesWithin } from "./deadline.js";
import {
  createTempID,
  formatRemaining,
  generateSecret,
  inspectToken,
  TempIDConfigError,
  TempIDError,
  type Format,
  type TempID,
  type TempIDInstance,
  type TempIDOptions,
  type UseStore,
} from "@tempid/core";

const USAGE = `tempid: unique IDs that expire

usage:
  tempid new <duration> [--payload JSON] [--max-uses N] [--purpose P] [--bind B] [--format v3|v2]
  tempid verify <token> [--purpose P] [--bind B] [--accept v3,v2] [--check-uses --store URL]
  tempid use <token> --store URL [--purpose P] [--bind B] [--accept v3,v2]
  tempid uses <token> --store URL [--purpose P] [--bind B] [--accept v3,v2]
  tempid revoke <token> --store URL [--purpose P] [--bind B] [--accept v3,v2]   no later use is granted
  tempid inspect <token>          what anyone can read without the secret (not verified)
  tempid secret                   a new random secret for TEMPID_SECRET
  tempid demo                     a walk through every feature, run for real

  <duration>  30s, 10m, 2h, 7d, or a number of seconds
  <token>     the token text, or - to read it from standard input
  --store     sqlite:./tempid.db | redis://host:6379 | postgres://… | mysql://…
  --store-prefix P   the Redis key prefix (default tempid:)
  --store-table T    the SQL table (default tempid_uses)
  --json      print JSON instead of text (every command but demo)

A command refuses a flag its line above does not list (exit 2), rather than ignore it.

The secret comes from TEMPID_SECRET (required: --insecure allows the public fallback, for trying out only).
Exit codes: 0 valid/granted, 1 refused, 2 usage or store error.`;

class UsageError extends Error {}

const OPTIONS = {
  payload: { type: "string" },
  "max-uses": { type: "string" },
  purpose: { type: "string" },
  bind: { type: "string" },
  format: { type: "string" },
  accept: { type: "string" },
  store: { type: "string" },
  "store-prefix": { type: "string" },
  "store-table": { type: "string" },
  "check-uses": { type: "boolean" },
  insecure: { type: "boolean" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "v" },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];

const out = (line: string) => process.stdout.write(line + "\n");

function parseFormat(value: string | undefined, flag: string): Format | undefined {
  if (value === undefined) return undefined;
  if (value !== "v3" && value !== "v2") throw new UsageError(`${flag} must be v3 or v2, got ${JSON.stringify(value)}`);
  return value;
}

function parseAccept(value: string | undefined): Format[] | undefined {
  if (value === undefined) return undefined;
  return value.split(",").map((f) => parseFormat(f.trim(), "--accept")!);
}

type Flag = keyof typeof OPTIONS;

const STORE_FLAGS: Flag[] = ["store", "store-prefix", "store-table"];
const READ_FLAGS: Flag[] = ["purpose", "bind", "accept", "insecure", "json"];
/** The flags each command takes: any other is refused, never silently ignored. */
const COMMAND_FLAGS: Record<string, readonly Flag[]> = {
  new: ["payload", "max-uses", "purpose", "bind", "format", "insecure", "json"],
  verify: [...READ_FLAGS, "check-uses", ...STORE_FLAGS],
  use: [...READ_FLAGS, ...STORE_FLAGS],
  uses: [...READ_FLAGS, ...STORE_FLAGS],
  revoke: [...READ_FLAGS, ...STORE_FLAGS],
  inspect: ["json"],
  secret: ["json"],
  demo: [],
};

function expectFlags(values: Values, command: string): void {
  const allowed = COMMAND_FLAGS[command];
  if (allowed === undefined) return; // an unknown command is refused by name
  for (const [flag, value] of Object.entries(values)) {
    if (value !== undefined && !allowed.includes(flag as Flag)) {
      throw new UsageError(`${command} takes no --${flag}`);
    }
  }
}

/** Refuses arguments a command would otherwise silently ignore. */
function expectPositionals(positionals: string[], count: number, command: string): void {
  if (positionals.length - 1 > count) {
    throw new UsageError(`${command} takes ${count} argument${count === 1 ? "" : "s"}; unexpected ${JSON.stringify(positionals[count + 1])}`);
  }
}

function tokenArg(positionals: string[], command: string): string {
  const token = positionals[1];
  if (token === undefined) throw new UsageError(`${command} needs a token (or - to read it from standard input)`);
  if (positionals.length > 2) throw new UsageError(`${command} takes one token; got ${positionals.length - 1} arguments`);
  const text = token === "-" ? readFileSync(0, "utf8") : token;
  // An empty argument is a script's unset variable far more often than a token: say so, as bad usage.
  if (text.trim() === "") throw new UsageError(`${command} got an empty token${token === "-" ? " on standard input" : ""}`);
  return text;
}

async function openStoreFlag(values: Values, command: string): Promise<UseStore> {
  const url = values.store;
  if (url === undefined) throw new UsageError(`${command} needs --store URL (sqlite:./tempid.db, redis://…, postgres://…, mysql://…)`);
  const { openStore } = await import("./store-url.js");
  return openStore(url, { prefix: values["store-prefix"], table: values["store-table"] });
}

/**
 * Closes a store at the end of a command. Its failure changes nothing the command did (a use it granted is
 * written): it must not replace the command's own error (a store's timeout became "connect ETIMEDOUT" from
 * the pool's end()) nor turn a done command into exit 2.
 */
async function closeQuietly(store: UseStore): Promise<void> {
  // A client may wait forever for a server that took a command and never answered (the store's own call
  // timed out already): wait a moment, then leave the connection to the process's exit.
  if (!(await settlesWithin(store.close(), CLOSE_WAIT_MS))) abandonedConnection = true;
}

/** Sets the exit code; with a connection that would not close, exits once what was written is flushed. */
function finish(code: number): void {
  process.exitCode = code;
  if (abandonedConnection) process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
}

const CLOSE_WAIT_MS = 2000;
/** A store's connection that would not close: the process exits without waiting for it. */
let abandonedConnection = false;

/** Verifying commands accept the format the token is written in, unless --accept says otherwise. */
function detectFormat(token: string): Format | undefined {
  const head = token.trimStart().slice(0, 8).toUpperCase();
  return head === "TEMP-V2." ? "v2" : head === "TEMP-V3." ? "v3" : undefined;
}

function instance(values: Values, store?: UseStore, format?: Format, token?: string): TempIDInstance {
  const detected = token === undefined ? undefined : detectFormat(token);
  const accept = parseAccept(values.accept) ?? (detected ? [detected] : undefined);
  // A command line must not mint or accept tokens with the public fallback secret by accident.
  const options: TempIDOptions = { format: format ?? accept?.[0], strict: !values.insecure };
  if (store !== undefined) options.store = store;
  if (accept !== undefined) options.accept = accept;
  if (!process.env.TEMPID_SECRET) {
    if (!values.insecure) {
      throw new TempIDConfigError("no secret: set TEMPID_SECRET (`tempid secret` makes one), or pass --insecure to use the public fallback secret (trying out only)");
    }
    // The library refuses the fallback in production too, but its message speaks of { secret }, not of a command line.
    if (/^prod(uction)?$/i.test(process.env.NODE_ENV?.trim() ?? "")) {
      throw new TempIDConfigError("no secret: set TEMPID_SECRET (`tempid secret` makes one); --insecure cannot use the public fallback secret with NODE_ENV=production");
    }
  }
  return createTempID(options);
}

/** The token, or the error that says why it is not one; store and configuration errors are thrown. */
async function readToken(t: TempIDInstance, token: string, context: { purpose?: string; bind?: string }): Promise<TempID<unknown> | TempIDError> {
  try {
    return await t.fromString(token, context);
  } catch (err) {
    // A bad --purpose or --bind (empty, too long) is bad usage like a store or configuration error: exit 2.
    if (err instanceof TempIDError && !["ERR_TEMPID_STORE", "ERR_TEMPID_CONFIG", "ERR_TEMPID_ARGUMENT"].includes(err.code)) return err;
    throw err;
  }
}

function describeToken(tid: TempID<unknown>) {
  return {
    token: tid.toString(),
    format: tid.format,
    id: tid.id,
    expiresAt: tid.expiresAt.toISOString(),
    remaining: tid.remaining(),
    maxUses: tid.maxUses,
    payload: tid.payload,
  };
}

function printToken(tid: TempID<unknown>, json: boolean | undefined, extra: Record<string, unknown> = {}) {
  const info = { ...describeToken(tid), ...extra };
  if (json) return out(JSON.stringify(info));
  for (const [key, value] of Object.entries(info)) {
    out(`${key.padEnd(10)} ${typeof value === "string" ? value : JSON.stringify(value)}`);
  }
}

function refused(json: boolean | undefined, reason: string): number {
  if (json) out(JSON.stringify({ ok: false, reason }));
  else process.stderr.write(`tempid: ${reason}\n`);
  return 1;
}

async function run(argv: string[]): Promise<number> {
  // parseArgs reads "-5" as an unknown option (and "--max-uses -1" as ambiguous): say what is wrong instead.
  const negative = argv.find((arg) => /^-\d/.test(arg));
  if (negative !== undefined) {
    throw new UsageError(`${negative} is negative: a duration is more than 0 seconds, and --max-uses is 0 (unlimited) or more`);
  }
  const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  const command = positionals[0];
  if (values.version) {
    out(values.json ? JSON.stringify({ version: VERSION }) : "tempid (@tempid/core) " + VERSION);
    return 0;
  }
  if (values.help || command === "help") {
    out(values.json ? JSON.stringify({ usage: USAGE }) : USAGE);
    return 0;
  }
  if (command === undefined) {
    if (values.json) throw new UsageError("no command given");
    out(USAGE);
    return 2;
  }
  expectFlags(values, command);
  const context = { purpose: values.purpose, bind: values.bind };
  if ((values["store-prefix"] !== undefined || values["store-table"] !== undefined) && values.store === undefined) {
    throw new UsageError("--store-prefix and --store-table go with --store URL");
  }

  switch (command) {
    case "new": {
      const duration = positionals[1];
      if (duration === undefined) throw new UsageError("new needs a duration, like 15m");
      expectPositionals(positionals, 1, "new");
      let payload: unknown;
      if (values.payload !== undefined) {
        try {
          payload = JSON.parse(values.payload);
        } catch {
          throw new UsageError("--payload is not valid JSON");
        }
      }
      let maxUses = 0;
      if (values["max-uses"] !== undefined) {
        if (!/^\d+$/.test(values["max-uses"])) throw new UsageError("--max-uses must be a whole number");
        maxUses = Number(values["max-uses"]);
      }
      const format = parseFormat(values.format, "--format");
      const t = instance(values, undefined, format);
      const seconds = /^\d+$/.test(duration) ? Number(duration) : duration;
      const tid = await t.new(seconds as never, { payload: payload as never, maxUses, ...context });
      if (values.json) printToken(tid, true);
      else out(tid.toString());
      return 0;
    }
    case "verify": {
      const token = tokenArg(positionals, "verify");
      if (values.store !== undefined && !values["check-uses"]) {
        throw new UsageError("verify uses --store only with --check-uses (to count uses, run: tempid use)");
      }
      const store = values["check-uses"] ? await openStoreFlag(values, "verify --check-uses") : undefined;
      try {
        const t = instance(values, store, undefined, token);
        const tid = await readToken(t, token, context);
        if (tid instanceof TempIDError) return refused(values.json, `invalid token (${tid.code}): ${tid.message}`);
        if (tid.expired()) return refused(values.json, "token expired");
        if (values["check-uses"]) {
          const uses = await tid.usesInfo();
          if (uses.left === 0) return refused(values.json, "token has no uses left (limit reached or revoked)");
          printToken(tid, values.json, { uses });
          return 0;
        }
        printToken(tid, values.json);
        return 0;
      } finally {
        if (store) await closeQuietly(store);
      }
    }
    case "use":
    case "uses":
    case "revoke": {
      const token = tokenArg(positionals, command);
      const store = await openStoreFlag(values, command);
      try {
        const t = instance(values, store, undefined, token);
        const tid = await readToken(t, token, context);
        if (tid instanceof TempIDError) return refused(values.json, `invalid token (${tid.code}): ${tid.message}`);
        if (command === "revoke") {
          if (tid.expired()) {
            if (values.json) out(JSON.stringify({ ok: true, id: tid.id, revoked: false, expired: true }));
            else out(`token ${tid.id} has expired already: nothing to revoke`);
            return 0;
          }
          await tid.revoke();
          if (values.json) out(JSON.stringify({ ok: true, id: tid.id, revoked: true }));
          else out(`revoked ${tid.id}: no later use is granted`);
          return 0;
        }
        if (command === "uses") {
          const uses = await tid.usesInfo();
          if (values.json) out(JSON.stringify({ id: tid.id, expired: tid.expired(), ...uses }));
          else out(tid.maxUses === 0 ? "unlimited (no use limit)" : `used ${uses.used} of ${uses.total}, ${uses.left} left${tid.expired() ? " (expired)" : ""}`);
          return 0;
        }
        if (tid.expired()) return refused(values.json, "token expired");
        const granted = await tid.use();
        if (!granted) return refused(values.json, "use refused: limit reached or revoked");
        // The use is spent: a failure to read the count afterwards must not turn it into an error exit.
        const uses = await tid.usesInfo().catch(() => undefined);
        if (values.json) out(JSON.stringify({ ok: true, ...(uses ?? {}) }));
        else if (tid.maxUses === 0) out("granted (unlimited token)");
        else out(uses ? `granted: used ${uses.used} of ${uses.total}, ${uses.left} left` : "granted (the count could not be read back)");
        return 0;
      } finally {
        await closeQuietly(store);
      }
    }
    case "inspect": {
      const info = inspectToken(tokenArg(positionals, "inspect"));
      const remainingMs = info.expiresAt.getTime() - Date.now();
      const view = {
        format: info.format,
        id: info.id,
        expiresAt: info.expiresAt.toISOString(),
        remaining: formatRemaining(remainingMs),
        maxUses: info.maxUses,
        hasPayload: info.hasPayload,
        keyId: info.keyId,
        verified: false,
      };
      if (values.json) out(JSON.stringify(view));
      else {
        for (const [key, value] of Object.entries(view)) out(`${key.padEnd(10)} ${String(value)}`);
        out("(read without the secret: nothing here is verified)");
      }
      return 0;
    }
    case "secret":
      expectPositionals(positionals, 0, "secret");
      if (values.json) out(JSON.stringify({ secret: generateSecret() }));
      else out(generateSecret());
      return 0;
    case "demo":
      expectPositionals(positionals, 0, "demo");
      await demo();
      return 0;
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

/** The seed README's walk-through, run for real on the embedded default store (a MemoryStore in this process). */
async function demo(): Promise<void> {
  const secret = process.env.TEMPID_SECRET || generateSecret();
  if (!process.env.TEMPID_SECRET) out("(no TEMPID_SECRET set: this demo uses a fresh random secret)");
  const t = createTempID({ secret }); // the default store: an in-process MemoryStore, made on first use
  const step = (title: string) => out(`\n# ${title}`);

  step("TempID.new('15m'): create a token");
  const tid = await t.new("15m");
  out(`> tid = await TempID.new("15m")\n${describe(tid)}`);
  out(`> String(tid)\n${tid}`);
  out(`> tid.valid()\n${tid.valid()}`);
  out(`> tid.remaining()\n${tid.remaining()}`);
  for (const d of ["45s", "90m", "3d"] as const) out(`> (await TempID.new("${d}")).remaining()\n${(await t.new(d)).remaining()}`);

  step("verify: the safe way to check a token someone sends you");
  out(`> await TempID.verify(token)\n${describe(await t.verify(String(tid)))}`);
  out(`> await TempID.verify("this-is-not-a-real-token")\n${await t.verify("this-is-not-a-real-token")}`);
  const text = String(tid);
  const tampered = text.slice(0, -1) + (text.endsWith("0") ? "1" : "0");
  out(`> await TempID.verify(token.slice(0, -1) + "…")   // one character changed\n${await t.verify(tampered)}`);
  const err = await t.fromString("garbage-token").catch((e: TempIDError) => e);
  out(`> await TempID.fromString("garbage-token")\nthrows ${(err as TempIDError).name} (${(err as TempIDError).code}): ${(err as Error).message}`);

  step("payload: encrypted data inside the token");
  const withPayload = await t.new("10m", { payload: { userId: 42, email: "demo@example.com" } });
  out(`> tid3 = await TempID.new("10m", { payload: { userId: 42, email: "demo@example.com" } })\n${withPayload}`);
  out(`> (await TempID.verify(String(tid3))).payload\n${JSON.stringify((await t.verify(String(withPayload)))?.payload)}`);

  step("maxUses: a token that works twice (memory store)");
  const limited = await t.new("1h", { maxUses: 2 });
  for (let i = 0; i < 3; i++) out(`> await limited.use()\n${await limited.use()}`);
  out(`> await limited.usesInfo()\n${JSON.stringify(await limited.usesInfo())}`);
  out(`> await TempID.verify(String(limited), { checkUses: true })\n${await t.verify(String(limited), { checkUses: true })}`);

  step("revoke: no later use, on every server sharing the store");
  const invite = await t.new("7d", { maxUses: 50 });
  out(`> invite = await TempID.new("7d", { maxUses: 50 }); await invite.use()\n${await invite.use()}`);
  await invite.revoke();
  out(`> await invite.revoke(); await invite.use()\n${await invite.use()}`);
  out(`> await invite.usesInfo()\n${JSON.stringify(await invite.usesInfo())}`);

  step("purpose and bind: a reset link only resets, and dies with the password it was made for");
  const user = { id: 42, passwordHash: "$argon2id$…old" };
  const reset = await t.new("15m", { payload: { userId: user.id }, purpose: "password-reset", bind: user.passwordHash });
  out(`> reset = await TempID.new("15m", { payload: { userId: 42 }, purpose: "password-reset", bind: user.passwordHash })`);
  out(`> await TempID.verify(String(reset), { purpose: "password-reset", bind: user.passwordHash })\n${describe(await t.verify(String(reset), { purpose: "password-reset", bind: user.passwordHash }))}`);
  out(`> await TempID.verify(String(reset), { purpose: "email-verify", bind: user.passwordHash })\n${await t.verify(String(reset), { purpose: "email-verify", bind: user.passwordHash })}`);
  user.passwordHash = "$argon2id$…new";
  out(`> user.passwordHash = "…new"; await TempID.verify(String(reset), { purpose: "password-reset", bind: user.passwordHash })\n${await t.verify(String(reset), { purpose: "password-reset", bind: user.passwordHash })}`);

  step("onExpire: a callback when a token is seen expired");
  const reminder = await t.new("1s");
  reminder.onExpire(() => out("This token just expired!"));
  out(`> reminder = (await TempID.new("1s")).onExpire(() => console.log("This token just expired!"))`);
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, reminder.expiresAt.getTime() - Date.now()) + 50));
  out("> reminder.valid()   // after it expired");
  out(String(reminder.valid()));
  out(`> reminder.expired(), reminder.remaining()\n${reminder.expired()} ${reminder.remaining()}`);
  out(`> await TempID.verify(String(reminder))\n${await t.verify(String(reminder))}`);
  out(`> await TempID.fromString(String(reminder))   // the strict parse returns expired tokens too\n${describe(await t.fromString(String(reminder)))}`);
}

function describe(tid: TempID<unknown> | null): string {
  return tid === null ? "null" : `TempID('${tid}', ${tid.valid() ? "valid" : "expired"}, remaining=${tid.remaining()})`;
}

declare const __VERSION__: string | undefined;
const VERSION = typeof __VERSION__ === "string" ? __VERSION__ : "dev";

// A reader that goes away (tempid demo | head) is not an error of ours: stop quietly.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw err;
});

const argv = process.argv.slice(2);
run(argv).then(
  (code) => finish(code),
  (err: unknown) => {
    const message =
      err instanceof UsageError
        ? `${err.message} (see tempid --help)`
        : err instanceof TempIDError
          ? `${err.name} (${err.code}): ${err.message}`
          : err instanceof Error && (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")
            ? `${err.message.split("\n")[0]} (see tempid --help)`
            : `error: ${err instanceof Error ? err.message : String(err)}`;
    // One line, always: scripts read it.
    const line = message.replace(/\s*\n\s*/g, " ");
    if (argv.includes("--json")) out(JSON.stringify({ ok: false, error: line, code: err instanceof TempIDError ? err.code : "ERR_TEMPID_USAGE" }));
    process.stderr.write(`tempid: ${line}\n`);
    finish(2);
  },
);
