/** A new random secret: 32 bytes as 64 hex characters, as `npx tempid secret` prints. */
export function generateSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let hex = "";
  for (const b of bytes) hex += b.toString(16).padStart(2, "0");
  return hex;
}
