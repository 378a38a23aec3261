import { TempID } from "@tempid/core";

// A password-reset link that stops working after 15 minutes.
const tid = await TempID.new("15m", { payload: { userId: 42 } });
const link = `https://yourapp.com/reset?token=${tid}`;
console.log(link);

// Later, when the link is clicked:
const checked = await TempID.verify<{ userId: number }>(tid.toString());
if (checked === null) {
  console.log("This link is invalid or expired.");
} else {
  console.log("reset the password of user", checked.payload?.userId, "- time left:", checked.remaining());
}
