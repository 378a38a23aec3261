// examples/edge/scripts/migrate.ts — run once at deploy time (npx tsx migrate.ts): creates the table and its index.
// The edge stores never create tables on the request path.
import { neon } from "@neondatabase/serverless";
import { connect } from "@planetscale/database";
import { neonStore } from "@tempid/core/neon";
import { planetscaleStore } from "@tempid/core/planetscale";

if (process.env.NEON_DATABASE_URL) {
  await neonStore(neon(process.env.NEON_DATABASE_URL)).migrate();
  console.log("neon: table tempid_uses ready");
}
if (process.env.PLANETSCALE_DATABASE_URL) {
  await planetscaleStore(connect({ url: process.env.PLANETSCALE_DATABASE_URL })).migrate();
  console.log("planetscale: table tempid_uses ready");
}
