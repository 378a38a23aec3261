export * from "./errors.js";
export { type UseStore, REVOKED_COUNT, MAX_STORE_LIMIT } from "./store.js";
export { MemoryStore } from "./memory-store.js";
