import { describeStore } from "./conformance.js";
import { memoryHarness } from "../support/store-harnesses.js";

describeStore(memoryHarness());
