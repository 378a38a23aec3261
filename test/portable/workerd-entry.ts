/**
 * A module worker that runs the portable suite inside workerd and answers with the results as JSON. The
 * vectors arrive as a JSON binding; EXPECT_NATIVE says whether this worker was started with nodejs_compat.
 */
import * as lib from "@tempid/core";
import { runCases } from "./harness.js";
import { type Fixtures, portableSuite } from "./suite.js";

interface Env {
  FIXTURES: Fixtures;
  EXPECT_NATIVE: string;
}

export default {
  async fetch(_request: Request, env: Env): Promise<Response> {
    const cases = portableSuite(lib, env.FIXTURES, { expectNativeCrypto: env.EXPECT_NATIVE === "1" });
    const results = await runCases(cases);
    return Response.json({ expected: cases.length, results });
  },
};
