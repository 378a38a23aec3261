/** Serves the Vercel Edge quick start's handler as a module worker, so workerd can run it unchanged. */
import handler from "../../examples/runtimes/vercel-edge.js";

export default { fetch: (request: Request) => handler(request) };
