/**
 * A private redis-server on 127.0.0.1 for tests that stop and restart it (the shared one on 6379 is used
 * by other test runs at the same time). Append-only persistence on, so counts survive a restart.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Socket } from "node:net";
import { deadPort } from "./services.js";

export class PrivateRedis {
  readonly dir = mkdtempSync(join(tmpdir(), "tempid-redis-"));
  port = 0;
  #child: ChildProcess | undefined;

  /** Whether a redis-server binary is on PATH. */
  static available(): boolean {
    return (process.env.PATH ?? "").split(":").some((p) => p !== "" && existsSync(join(p, "redis-server")));
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await deadPort();
    this.#child = spawn(
      "redis-server",
      ["--bind", "127.0.0.1", "--port", String(this.port), "--dir", this.dir, "--appendonly", "yes", "--appendfsync", "always", "--save", ""],
      { stdio: "ignore" },
    );
    for (let i = 0; i < 100; i++) {
      if (await answers(this.port)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`private redis-server on port ${this.port} did not start`);
  }

  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.setTimeout(500, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(false));
    socket.connect(port, "127.0.0.1", () => {
      socket.write("PING\r\n");
      socket.once("data", (data) => {
        socket.destroy();
        resolve(data.toString().startsWith("+PONG"));
      });
    });
  });
}
