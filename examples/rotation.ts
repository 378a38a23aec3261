import { createTempID } from "@tempid/core";

const oldSecret = "0f3c2b9e7d6a5f4e3d2c1b0a99887766554433221100ffeeddccbbaa99887766";
const newSecret = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";

const before = createTempID({ secret: oldSecret });
const issued = await before.new("7d", { payload: { inviteId: 9 } });

// Rotation: the first secret mints, every listed secret verifies. Tokens name their key,
// so a verify costs one key however many are listed. Drop the old one once its tokens expired.
const after = createTempID({ secret: [newSecret, oldSecret] });
console.log((await after.verify(String(issued)))?.payload); // { inviteId: 9 }
