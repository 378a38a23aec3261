/**
 * Token operations: tempid (both crypto engines), the raw crypto floors, and the peers, each set up at its
 * fastest documented setting (pre-imported keys, no per-call derivation the library lets callers avoid).
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes as nodeRandomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as Iron from "@hapi/iron";
import * as IronWC from "iron-webcrypto";
import branca from "branca";
import fernet from "fernet";
import { EncryptJWT, jwtDecrypt, jwtVerify, SignJWT } from "jose";
import sodium from "libsodium-wrappers";
import { LocalProtocol } from "paseto";
import { DecryptFactory, EncryptFactory, LocalKeyFromCryptoKey } from "paseto/v3/local";
import type { Case } from "./harness.js";
import type { Core } from "./lib.js";

export const GARBAGE = "this-is-not-a-real-token";
const PAYLOAD = { user_id: 42 };
const SECRET = "bench-secret-0123456789abcdef-0123456789abcdef";
const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** The token with one base32 character changed: its top bit flipped, so the text stays canonical. */
export function tamper(token: string, bodyIndex: number): string {
  const i = "TEMP-V3.".length + (bodyIndex < 0 ? token.length - "TEMP-V3.".length + bodyIndex : bodyIndex);
  const v = CROCKFORD.indexOf(token[i]!.toUpperCase());
  if (v < 0) throw new Error("not a base32 character");
  return token.slice(0, i) + CROCKFORD[v ^ 0x10] + token.slice(i + 1);
}

function must(ok: boolean, what: string): void {
  if (!ok) throw new Error(what);
}

export interface TokenSetup {
  cases: Case[];
  /** sizes of the tokens made, for the report */
  sizes: Record<string, number>;
}

export async function tokenCases(core: Core, root: string): Promise<TokenSetup> {
  const cases: Case[] = [];
  const sizes: Record<string, number> = {};

  // --- tempid, both engines -------------------------------------------------------------------------------
  for (const engine of ["auto", "webcrypto"] as const) {
    const t = core.createTempID({ secret: SECRET, crypto: engine });
    const name = engine === "auto" ? `tempid (${t.cryptoEngine})` : "tempid (webcrypto)";
    const p = `tempid.${engine}`;
    const token = (await t.new("15m")).toString();
    const withPayload = (await t.new("15m", { payload: PAYLOAD })).toString();
    sizes["tempid V3"] = token.length;
    sizes["tempid V3 + payload"] = withPayload.length;
    const tampered = tamper(token, 20);
    cases.push(
      { id: `${p}.new`, group: "no payload", label: `${name} new`, async: true, fn: () => t.new("15m") },
      {
        id: `${p}.verify`, group: "no payload", label: `${name} verify`, async: true, fn: () => t.verify(token),
        check: async () => must((await t.verify(token))?.toString() === token, "verify refused a valid token"),
      },
      { id: `${p}.new.payload`, group: "payload", label: `${name} new + payload`, async: true, fn: () => t.new("15m", { payload: PAYLOAD }) },
      {
        id: `${p}.verify.payload`, group: "payload", label: `${name} verify + payload`, async: true, fn: () => t.verify(withPayload),
        check: async () => must((await t.verify<{ user_id: number }>(withPayload))?.payload?.user_id === 42, "payload lost"),
      },
      {
        id: `${p}.garbage`, group: "rejection", label: `${name} reject garbage`, async: true, fn: () => t.verify(GARBAGE),
        check: async () => must((await t.verify(GARBAGE)) === null, "garbage accepted"),
      },
      {
        id: `${p}.tampered`, group: "rejection", label: `${name} reject tampered`, async: true, fn: () => t.verify(tampered),
        check: async () => must((await t.verify(tampered)) === null, "tampered token accepted"),
      },
    );
    // Where the change is must not matter: flags (reserved bits set: no key, dummy MAC), key id, UUID,
    // expiry, first and last characters of the tag.
    const bodyLength = token.length - "TEMP-V3.".length;
    const positions: Array<[string, number]> = [
      ["flags", 0], ["key id", 2], ["uuid", 10], ["expiry", 32], ["tag start", 40], ["tag end", bodyLength - 1],
    ];
    for (const [where, index] of positions) {
      const bad = tamper(token, index);
      cases.push({
        id: `${p}.tampered.at.${where.replace(" ", "-")}`, group: "tamper position", label: `${name} tampered at ${where}`, async: true,
        fn: () => t.verify(bad),
        check: async () => must((await t.verify(bad)) === null && (await t.fromString(bad).catch((e: Error) => e.name)) === "TempIDTamperedError", `tampered at ${where}: not refused as tampered`),
      });
    }
    // A token made by the Python package (TEMP-V2), checked at the fixture's own clock.
    const fixture = JSON.parse(readFileSync(join(root, "test", "fixtures", "python-v2.json"), "utf8")) as {
      now: number;
      valid: Array<{ secret: string; token: string; payload: unknown; max_uses: number }>;
    };
    const plain = fixture.valid.find((v) => v.secret === "s3cret" && v.payload === null && v.max_uses === 0)!;
    const v2 = core.createTempID({ secret: "s3cret", format: "v2", accept: ["v2"], clock: () => fixture.now * 1000, crypto: engine });
    sizes["Python V2"] = plain.token.length;
    cases.push({
      id: `${p}.v2.verify`, group: "Python V2", label: `${name} verify Python V2 token`, async: true, fn: () => v2.verify(plain.token),
      check: async () => must((await v2.verify(plain.token)) !== null, "Python V2 token refused"),
    });
  }

  // --- floors: the crypto alone, on inputs of the token's size ---------------------------------------------
  const macKey = nodeRandomBytes(32);
  const hmacKey = await crypto.subtle.importKey("raw", macKey, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
  const message = nodeRandomBytes(41); // a V3 token without payload is 41 bytes
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", hmacKey, message));
  const aesRaw = nodeRandomBytes(32);
  const aesKey = await crypto.subtle.importKey("raw", aesRaw, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
  const iv = nodeRandomBytes(12);
  const plaintext = nodeRandomBytes(20);
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, aesKey, plaintext));
  cases.push(
    { id: "floor.subtle.hmac.sign", group: "floor", label: "crypto.subtle HMAC-SHA256 sign (41 B)", async: true, fn: () => crypto.subtle.sign("HMAC", hmacKey, message) },
    {
      id: "floor.subtle.hmac.verify", group: "floor", label: "crypto.subtle HMAC-SHA256 verify (41 B)", async: true,
      fn: () => crypto.subtle.verify("HMAC", hmacKey, mac, message),
      check: async () => must(await crypto.subtle.verify("HMAC", hmacKey, mac, message), "floor MAC refused"),
    },
    { id: "floor.subtle.aes.encrypt", group: "floor", label: "crypto.subtle AES-256-GCM encrypt (20 B)", async: true, fn: () => crypto.subtle.encrypt({ name: "AES-GCM", iv }, aesKey, plaintext) },
    { id: "floor.subtle.aes.decrypt", group: "floor", label: "crypto.subtle AES-256-GCM decrypt (20 B)", async: true, fn: () => crypto.subtle.decrypt({ name: "AES-GCM", iv }, aesKey, sealed) },
    { id: "floor.node.hmac", group: "floor", label: "node:crypto createHmac SHA-256 (41 B)", async: false, fn: () => createHmac("sha256", macKey).update(message).digest() },
    {
      id: "floor.node.aes.encrypt", group: "floor", label: "node:crypto AES-256-GCM encrypt (20 B)", async: false,
      fn: () => {
        const c = createCipheriv("aes-256-gcm", aesRaw, iv);
        const out = c.update(plaintext);
        c.final();
        return [out, c.getAuthTag()];
      },
    },
    {
      id: "floor.node.aes.decrypt", group: "floor", label: "node:crypto AES-256-GCM decrypt (20 B)", async: false,
      fn: () => {
        const d = createDecipheriv("aes-256-gcm", aesRaw, iv);
        d.setAuthTag(sealed.subarray(20));
        const out = d.update(sealed.subarray(0, 20));
        d.final();
        return out;
      },
    },
  );

  // --- peers -------------------------------------------------------------------------------------------------
  const jwt = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setExpirationTime("15m").sign(hmacKey);
  const jwe = await new EncryptJWT(PAYLOAD).setProtectedHeader({ alg: "dir", enc: "A256GCM" }).setExpirationTime("15m").encrypt(aesKey);
  sizes["jose HS256 JWT"] = jwt.length;
  sizes["jose dir+A256GCM JWE"] = jwe.length;
  cases.push(
    { id: "jose.sign", group: "peer", label: "jose SignJWT HS256 (CryptoKey)", async: true, fn: () => new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setExpirationTime("15m").sign(hmacKey) },
    {
      id: "jose.verify", group: "peer", label: "jose jwtVerify HS256 (CryptoKey)", async: true, fn: () => jwtVerify(jwt, hmacKey),
      check: async () => must(typeof (await jwtVerify(jwt, hmacKey)).payload.exp === "number", "jose verify"),
    },
    {
      id: "jose.encrypt", group: "peer", label: "jose EncryptJWT dir+A256GCM (CryptoKey)", async: true,
      fn: () => new EncryptJWT(PAYLOAD).setProtectedHeader({ alg: "dir", enc: "A256GCM" }).setExpirationTime("15m").encrypt(aesKey),
    },
    {
      id: "jose.decrypt", group: "peer", label: "jose jwtDecrypt dir+A256GCM (CryptoKey)", async: true, fn: () => jwtDecrypt(jwe, aesKey),
      check: async () => must((await jwtDecrypt(jwe, aesKey)).payload.user_id === 42, "jose decrypt"),
    },
  );

  // iron: the password is used as given; iron derives its keys with PBKDF2 at 1 iteration per call (its design).
  const ironPassword = "iron-password-0123456789abcdef-0123456789";
  const ironOptions = { ...Iron.defaults, ttl: 15 * 60 * 1000 };
  const ironSealed = await Iron.seal(PAYLOAD, ironPassword, ironOptions);
  const ironWcOptions = { ...IronWC.defaults, ttl: 15 * 60 * 1000 };
  const ironWcSealed = await IronWC.seal(PAYLOAD, ironPassword, ironWcOptions);
  sizes["@hapi/iron"] = ironSealed.length;
  cases.push(
    { id: "iron.seal", group: "peer", label: "@hapi/iron seal", async: true, fn: () => Iron.seal(PAYLOAD, ironPassword, ironOptions) },
    {
      id: "iron.unseal", group: "peer", label: "@hapi/iron unseal", async: true, fn: () => Iron.unseal(ironSealed, ironPassword, ironOptions),
      check: async () => must((await Iron.unseal(ironSealed, ironPassword, ironOptions)).user_id === 42, "iron unseal"),
    },
    { id: "ironwc.seal", group: "peer", label: "iron-webcrypto seal", async: true, fn: () => IronWC.seal(PAYLOAD, ironPassword, ironWcOptions) },
    {
      id: "ironwc.unseal", group: "peer", label: "iron-webcrypto unseal", async: true, fn: () => IronWC.unseal(ironWcSealed, ironPassword, ironWcOptions),
      check: async () => must(((await IronWC.unseal(ironWcSealed, ironPassword, ironWcOptions)) as { user_id: number }).user_id === 42, "iron-webcrypto unseal"),
    },
  );

  // branca: XChaCha20-Poly1305 through libsodium (WebAssembly), synchronous once libsodium is ready.
  await sodium.ready;
  const b = branca(nodeRandomBytes(32));
  const brancaToken = b.encode(JSON.stringify(PAYLOAD));
  sizes["branca"] = brancaToken.length;
  cases.push(
    { id: "branca.encode", group: "peer", label: "branca encode (sync)", async: false, fn: () => b.encode(JSON.stringify(PAYLOAD)) },
    {
      id: "branca.decode", group: "peer", label: "branca decode (sync)", async: false, fn: () => JSON.parse(Buffer.from(b.decode(brancaToken, 900)).toString()),
      check: () => must(JSON.parse(Buffer.from(b.decode(brancaToken, 900)).toString()).user_id === 42, "branca decode"),
    },
  );

  // fernet: AES-128-CBC + HMAC-SHA256 in pure JavaScript (crypto-js), synchronous.
  const fernetSecret = new fernet.Secret(nodeRandomBytes(32).toString("base64url") + "=");
  const fernetToken = new fernet.Token({ secret: fernetSecret, ttl: 0 }).encode(JSON.stringify(PAYLOAD));
  sizes["fernet"] = fernetToken.length;
  cases.push(
    { id: "fernet.encode", group: "peer", label: "fernet encode (sync)", async: false, fn: () => new fernet.Token({ secret: fernetSecret, ttl: 0 }).encode(JSON.stringify(PAYLOAD)) },
    {
      id: "fernet.decode", group: "peer", label: "fernet decode (sync)", async: false,
      fn: () => JSON.parse(new fernet.Token({ secret: fernetSecret, token: fernetToken, ttl: 900 }).decode()),
      check: () => must(JSON.parse(new fernet.Token({ secret: fernetSecret, token: fernetToken, ttl: 900 }).decode()).user_id === 42, "fernet decode"),
    },
  );

  // paseto v3.local (AES-256-CTR + HMAC-SHA384 with HKDF per token), on a pre-imported HKDF CryptoKey.
  const pasetoKey = LocalKeyFromCryptoKey(await crypto.subtle.importKey("raw", nodeRandomBytes(32), "HKDF", false, ["deriveBits"]));
  const v3 = new LocalProtocol(EncryptFactory, DecryptFactory);
  const paseto = await v3.Encrypt(pasetoKey, PAYLOAD, { expiresIn: 900 });
  sizes["paseto v3.local"] = paseto.length;
  cases.push(
    { id: "paseto.encrypt", group: "peer", label: "paseto v3.local Encrypt", async: true, fn: () => v3.Encrypt(pasetoKey, PAYLOAD, { expiresIn: 900 }) },
    {
      id: "paseto.decrypt", group: "peer", label: "paseto v3.local Decrypt", async: true, fn: () => v3.Decrypt(pasetoKey, paseto),
      check: async () => must((await v3.Decrypt(pasetoKey, paseto)).claims.user_id === 42, "paseto decrypt"),
    },
  );

  return { cases, sizes };
}
