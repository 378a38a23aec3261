/**
 * Private PostgreSQL and MariaDB servers on 127.0.0.1, for tests that stop and restart a server mid-run:
 * the shared servers serve other test runs at the same time, so they are never stopped. Each lives in a
 * temporary directory (initdb / mariadb-install-db, a few seconds) and is removed by destroy().
 */
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { deadPort } from "./services.js";

const exec = promisify(execFile);

function pgBin(name: string): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  for (const version of readdirSync(root).sort().reverse()) {
    const path = join(root, version, "bin", name);
    if (existsSync(path)) return path;
  }
  return undefined;
}

function onPath(name: string): boolean {
  return (process.env.PATH ?? "").split(":").some((p) => p !== "" && existsSync(join(p, name)));
}

/** As root, PostgreSQL must run as the `postgres` user. */
function asPostgres(command: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ["runuser", ["-u", "postgres", "--", command, ...args]] : [command, args];
}

export class PrivatePostgres {
  readonly dir = mkdtempSync(join(tmpdir(), "tempid-pg-"));
  port = 0;

  static available(): boolean {
    return pgBin("initdb") !== undefined && pgBin("pg_ctl") !== undefined;
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  async init(): Promise<void> {
    if (process.getuid?.() === 0) await exec("chown", ["postgres", this.dir]);
    this.port = await deadPort();
    await exec(...asPostgres(pgBin("initdb")!, ["-D", join(this.dir, "data"), "-A", "trust", "-U", "postgres", "--no-sync"]));
    await this.start();
  }

  async start(): Promise<void> {
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
    await exec(...asPostgres(pgBin("pg_ctl")!, ["-D", join(this.dir, "data"), "-o", options, "-l", join(this.dir, "log"), "-w", "start"]));
  }

  async stop(): Promise<void> {
    await exec(...asPostgres(pgBin("pg_ctl")!, ["-D", join(this.dir, "data"), "-m", "fast", "-w", "stop"]));
  }

  async destroy(): Promise<void> {
    await this.stop().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export class PrivateMariaDB {
  readonly dir = mkdtempSync(join(tmpdir(), "tempid-maria-"));
  port = 0;

  static available(): boolean {
    return onPath("mariadb-install-db") && (existsSync("/usr/sbin/mariadbd") || onPath("mariadbd"));
  }

  get url(): string {
    return `mysql://root@127.0.0.1:${this.port}/mysql`;
  }

  async init(): Promise<void> {
    this.port = await deadPort();
    await exec("mariadb-install-db", [
      "--no-defaults",
      `--datadir=${join(this.dir, "data")}`,
      "--user=root",
      "--auth-root-authentication-method=normal",
      "--skip-test-db",
    ]);
    await this.start();
  }

  async start(): Promise<void> {
    const daemon = existsSync("/usr/sbin/mariadbd") ? "/usr/sbin/mariadbd" : "mariadbd";
    spawn(
      daemon,
      [
        "--no-defaults",
        `--datadir=${join(this.dir, "data")}`,
        `--port=${this.port}`,
        "--bind-address=127.0.0.1",
        `--socket=${join(this.dir, "sock")}`,
        "--user=root",
        `--pid-file=${join(this.dir, "pid")}`,
        `--log-error=${join(this.dir, "err.log")}`,
      ],
      { stdio: "ignore", detached: false },
    ).unref();
    for (let i = 0; i < 150; i++) {
      try {
        await exec("mariadb-admin", ["-h", "127.0.0.1", "-P", String(this.port), "-u", "root", "ping"]);
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    throw new Error(`private MariaDB on port ${this.port} did not start`);
  }

  async stop(): Promise<void> {
    const pidFile = join(this.dir, "pid");
    if (!existsSync(pidFile)) return;
    const pid = Number(readFileSync(pidFile, "utf8").trim());
    process.kill(pid, "SIGTERM");
    for (let i = 0; i < 300 && existsSync(pidFile); i++) await new Promise((resolve) => setTimeout(resolve, 100));
  }

  async destroy(): Promise<void> {
    await this.stop().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
