import type { Format, ResolvedConfig } from "./config.js";
import { type ContextOptions, contextBytes } from "./context.js";
import { type Engine, loadEngine, nativeAvailable } from "./crypto.js";
import { TempIDArgumentError, type TempIDError, TempIDFormatError, TempIDTamperedError } from "./errors.js";
import { encodeContext, encodeText, FLAG_COMPRESSED, MAX_USES_LIMIT, mintV3, openV3, parseText, uuidText, V3_PREFIX } from "./format-v3.js";
import { onDemand } from "./on-demand.js";
import { decodePayload, encodePayload } from "./payload.js";

/** What a token says, once authenticated (or minted). */
export interface Decoded {
  format: Format;
  text: string;
  /** V3: the UUID; V2: the signature text */
  id: string;
  /** the key a store counts uses under */
  counterKey: string;
  /** unix seconds */
  expiresAt: number;
  maxUses: number;
  /** the parsed JSON payload, or null */
  payload: unknown;
}

/** Input longer than this is refused before any other work (the longest real token is about 4,000). */
export const MAX_TOKEN_CHARS = 4400;
/** A V3 token exactly as encodeText writes it; canonical decoding makes it the only spelling of its bytes. */
const CANONICAL_V3 = /^TEMP-V3\.[0-9A-HJKMNP-TV-Z]+$/;
/** Payloads this short are never compressed: deflate cannot win on them often enough to pay for trying. */
const COMPRESS_FROM_BYTES = 48;
const V2_PREFIX = "TEMP-V2.";

/**
 * A bad token reported without an Error: constructing one captures a stack trace, which costs more than
 * the whole check of a token. `open()` throws `error()`; `check()` hands the fault back, so `verify()`,
 * which only answers null, pays nothing for it. The error is built only when someone will see it.
 */
export class TokenFault {
  constructor(readonly error: () => TempIDError) {}
}

const NOT_A_TOKEN = new TokenFault(() => new TempIDFormatError("not a tempid token"));
export const TAMPERED = new TokenFault(() => new TempIDTamperedError());

/**
 * The modules only some applications need, each loaded the first time it is needed: a code-splitting
 * bundler keeps them out of the code that mints and verifies V3 tokens, and a runtime never pays for one
 * it does not use. The Python package's V2 format (with zlib), and deflate for V3 payloads over 48 bytes.
 */
const pythonV2 = onDemand("the V2 format (python-v2.js)", () => import("./python-v2.js"));
const deflate = onDemand("deflate (compress.js)", () => import("./compress.js"));

/** Mints and opens tokens for one resolved configuration. Knows nothing of stores or token objects. */
export class Codec {
  readonly #config: ResolvedConfig;
  readonly engineName: "node" | "webcrypto";
  #engine: Engine | undefined;
  /** the context of calls without purpose or bind, which is most of them: encoded once */
  #defaultContext: Uint8Array<ArrayBuffer> | undefined;

  constructor(config: ResolvedConfig) {
    this.#config = config;
    this.engineName = nativeAvailable(config.portableCrypto) ? "node" : "webcrypto";
  }

  /** The instance's engine, loaded once (the first call of an instance on Node loads node-engine.js). */
  async engine(): Promise<Engine> {
    return (this.#engine ??= await loadEngine(this.engineName === "node"));
  }

  async mint(expiresAt: number, payload: unknown, maxUses: number, ctx: ContextOptions): Promise<Decoded> {
    const config = this.#config;
    if (!Number.isInteger(maxUses) || maxUses < 0) throw new TempIDArgumentError(`maxUses must be a whole number >= 0, got ${typeof maxUses === "string" ? JSON.stringify(maxUses) : String(maxUses)}`);
    const engine = this.#engine ?? (await this.engine());
    if (config.format === "v2") return (pythonV2.now ?? (await pythonV2())).mintV2Token(engine, config, expiresAt, payload, maxUses, ctx);
    if (maxUses > MAX_USES_LIMIT) throw new TempIDArgumentError(`maxUses must be at most ${MAX_USES_LIMIT}, got ${maxUses}`);
    const context = this.#context(ctx);
    let plaintext: Uint8Array<ArrayBuffer> | undefined;
    let compressed = false;
    // The token's payload is what a verifier will read back: a copy, not the caller's object.
    let copy: unknown = null;
    if (payload !== undefined && payload !== null) {
      plaintext = encodePayload(payload, config.maxPayloadBytes);
      copy = typeof payload === "object" ? decodePayload(plaintext) : payload;
      if (plaintext.length >= COMPRESS_FROM_BYTES) {
        const deflated = await (deflate.now ?? (await deflate())).compress(plaintext, "deflate-raw", !config.portableCrypto);
        if (deflated.length < plaintext.length) {
          plaintext = deflated;
          compressed = true;
        }
      }
    }
    const { current } = await config.keyring.v3();
    const { bytes, id } = await mintV3(engine, { key: current, expiresAt, maxUses, plaintext, compressed, context });
    const uuid = uuidText(id);
    return { format: "v3", text: encodeText(bytes), id: uuid, counterKey: uuid, expiresAt, maxUses, payload: copy };
  }

  /**
   * Authenticates and decodes a token, without looking at its expiry. Throws TempIDFormatError,
   * TempIDTamperedError or TempIDUnsupportedError.
   */
  async open(input: unknown, ctx: ContextOptions): Promise<Decoded> {
    const result = await this.check(input, ctx);
    if (result instanceof TokenFault) throw result.error();
    return result;
  }

  /**
   * `open()` for callers that only need to know whether a token is good (`verify`): the commonest bad
   * tokens (not a token at all, malformed, tampered) come back as a TokenFault instead of being thrown.
   * Other faults still throw, as from `open()`.
   */
  async check(input: unknown, ctx: ContextOptions): Promise<Decoded | TokenFault> {
    if (typeof input !== "string") throw new TempIDFormatError("a token is a string");
    if (input.length > MAX_TOKEN_CHARS) throw new TempIDFormatError("input is too long to be a token");
    const config = this.#config;
    const head = input.trimStart().slice(0, 8).toUpperCase();
    if (head === V3_PREFIX && config.accept.has("v3")) return this.#openV3(input, ctx);
    if (head === V2_PREFIX && config.accept.has("v2")) {
      if (!input.trimStart().startsWith(V2_PREFIX)) throw new TempIDFormatError("TEMP-V2 tokens are case-sensitive: the prefix must be upper case");
      const engine = this.#engine ?? (await this.engine());
      return (pythonV2.now ?? (await pythonV2())).openV2Token(engine, config, input, ctx);
    }
    if (head === V3_PREFIX || head === V2_PREFIX) {
      throw new TempIDFormatError(`${head.slice(0, 7)} tokens are not accepted here (accept: ${[...config.accept].join(", ")})`);
    }
    return NOT_A_TOKEN;
  }

  #context(ctx: ContextOptions): Uint8Array<ArrayBuffer> {
    // Most calls have neither purpose nor bind: their context is encoded once. The instance's purpose was
    // checked when it was configured.
    // Each option is read once, here: what is checked is what the tag covers.
    const { purpose, bind } = ctx;
    if (purpose === undefined && bind === undefined) return (this.#defaultContext ??= encodeContext(this.#config.purpose, undefined));
    return contextBytes({ purpose, bind }, this.#config.purpose);
  }

  async #openV3(input: string, ctx: ContextOptions): Promise<Decoded | TokenFault> {
    const config = this.#config;
    const bytes = parseText(input);
    if (typeof bytes === "string") return new TokenFault(() => new TempIDFormatError(bytes));
    const context = this.#context(ctx);
    const engine = this.#engine ?? (await this.engine());
    const keys = await config.keyring.v3();
    const opened = await openV3(engine, bytes, keys, context);
    if (opened === undefined) return TAMPERED;
    if (typeof opened === "number") {
      // A key id no secret here has means rotation or another secret: worded only when someone reads it.
      return new TokenFault(() => new TempIDTamperedError(`token was made with key id ${opened}, which none of this instance's secrets has (rotated out, or another secret)`));
    }
    const { header, plaintext } = opened;
    let payload: unknown = null;
    if (plaintext !== undefined) {
      const json =
        (header.flags & FLAG_COMPRESSED) !== 0
          ? await (deflate.now ?? (await deflate())).decompress(plaintext, "deflate-raw", config.maxPayloadBytes, !config.portableCrypto)
          : plaintext;
      if (json === undefined || json.length > config.maxPayloadBytes) throw new TempIDFormatError("payload is over the size limit or corrupt");
      payload = decodePayload(json);
      if (payload === undefined || payload === null) throw new TempIDFormatError("payload is not JSON");
    }
    const uuid = uuidText(header.id);
    // Text already in canonical form (as minted: exact prefix, upper case, no dashes) is kept, not re-encoded.
    const text = CANONICAL_V3.test(input) ? input : encodeText(bytes);
    return { format: "v3", text, id: uuid, counterKey: uuid, expiresAt: header.expiresAt, maxUses: header.maxUses, payload };
  }
}
