// The two peers that ship no types: only what the benchmark calls.
declare module "branca" {
  interface Branca {
    encode(message: string | Uint8Array, timestamp?: number): string;
    decode(token: string, ttl?: number): Uint8Array;
  }
  function branca(key: Uint8Array | string): Branca;
  export = branca;
}

declare module "fernet" {
  namespace fernet {
    class Secret {
      constructor(base64url: string);
    }
    class Token {
      constructor(options: { secret: Secret; token?: string; ttl?: number });
      encode(message: string): string;
      decode(token?: string): string;
    }
  }
  export = fernet;
}

declare module "libsodium-wrappers" {
  const sodium: { ready: Promise<void> };
  export default sodium;
}
