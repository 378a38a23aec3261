/**
 * The one store conformance suite (test/stores/conformance.ts), run through each HTTP store: official
 * client → test bridge on 127.0.0.1 → the real local server. Skips (or fails under
 * TEMPID_REQUIRE_SERVICES=1) when the server behind a bridge is missing.
 */
import { describeStore } from "../stores/conformance.js";
import { detectService } from "../support/services.js";
import { neonHttpHarness, neonPoolHarness, planetscaleHarness, upstashHarness } from "./harnesses.js";

describeStore(upstashHarness(), await detectService("redis"));
describeStore(neonHttpHarness(), await detectService("postgres"));
describeStore(neonPoolHarness(), await detectService("postgres"));
describeStore(planetscaleHarness(), await detectService("mysql"));
