// In the browser: a secret shipped to a page is public, so never give it your server's secret.
import { createTempID, generateSecret, inspectToken } from "@tempid/core";

// 1. Show when a link from the server expires: public fields only, read without the secret and NOT verified.
export function describeLink(token: string): string {
  const info = inspectToken(token);
  const uses = info.maxUses > 0 ? `, ${info.maxUses} use(s)` : "";
  return `expires at ${info.expiresAt.toISOString()}${uses}`;
}

// 2. Tokens this page both makes and checks (one-time confirmation ids, offline drafts): a secret made in
//    the page, kept in memory, so tokens die with the tab.
export const pageTokens = createTempID({ secret: generateSecret() });
