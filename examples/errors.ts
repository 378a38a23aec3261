import { createTempID, TempIDError } from "@tempid/core";

const tempid = createTempID();

const token = String(await tempid.new("5m"));
const altered = token.slice(0, 20) + (token[20] === "A" ? "B" : "A") + token.slice(21); // one character changed

// verify() never throws for a bad token: it returns null. fromString() says why.
for (const text of ["garbage-token", altered]) {
  try {
    await tempid.fromString(text);
  } catch (err) {
    if (!(err instanceof TempIDError)) throw err;
    switch (err.code) {
      case "ERR_TEMPID_FORMAT":
        console.log("not a token:", err.message);
        break;
      case "ERR_TEMPID_TAMPERED":
        console.log("forged, altered, or made with another secret/purpose/bind");
        break;
      default:
        throw err;
    }
  }
}
