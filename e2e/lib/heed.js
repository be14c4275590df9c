// Helpers for the end-to-end tests: start a real heed binary on a fresh
// database (SQLite, or PostgreSQL when HEED_E2E_POSTGRES_URL names a server),
// and a loopback HTTP receiver that records every request it gets.
import { spawn, execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

const READY_DEADLINE_MS = 30_000;
const STOP_DEADLINE_MS = 15_000;
const LOG_KEEP_BYTES = 64 * 1024;

/** A free TCP port on 127.0.0.1 (the kernel's pick, released at once). */
async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function psql(serverURL, sql) {
  try {
    await execFileP('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', serverURL, '-c', sql], {
      timeout: 20_000,
    });
  } catch (err) {
    throw new Error(`psql ${JSON.stringify(sql)} failed: ${err.stderr || err.message}`);
  }
}

/**
 * A fresh database for one heed: a new PostgreSQL database on the server named
 * by HEED_E2E_POSTGRES_URL, or else a SQLite file in a new temp dir.
 * Returns {url, kind, drop()}.
 */
export async function freshDatabase() {
  const server = process.env.HEED_E2E_POSTGRES_URL;
  if (server) {
    const name = `heed_e2e_${randomBytes(6).toString('hex')}`;
    await psql(server, `CREATE DATABASE ${name}`);
    const u = new URL(server);
    u.pathname = `/${name}`;
    return {
      url: u.toString(),
      kind: 'postgres',
      drop: () => psql(server, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
    };
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'heed-e2e-'));
  return {
    url: path.join(dir, 'heed.db'),
    kind: 'sqlite',
    drop: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * Starts `$HEED_BIN serve --demo` on a free loopback port and waits until
 * GET /readyz answers 200. `db` is a database URL (SQLite path or postgres://);
 * when omitted, a fresh one is made (see freshDatabase) and dropped by stop().
 * Returns {url, db, logs(), stop()}.
 */
export async function startHeed({ db } = {}) {
  const bin = process.env.HEED_BIN;
  if (!bin) {
    throw new Error('HEED_BIN is not set: point it at a heed binary (e2e/run.sh builds one)');
  }
  let owned = null;
  if (!db) {
    owned = await freshDatabase();
    db = owned.url;
  }
  // The port is free when picked but could be taken before heed binds it:
  // try a few ports before giving up.
  let lastErr;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      const h = await launch(bin, port, db);
      const stop = async () => {
        await h.stop();
        if (owned) await owned.drop();
      };
      return { url: h.url, db, logs: h.logs, stop };
    } catch (err) {
      lastErr = err;
      if (!/address already in use/i.test(err.message)) break;
    }
  }
  if (owned) await owned.drop().catch(() => {});
  throw lastErr;
}

async function launch(bin, port, db) {
  const addr = `127.0.0.1:${port}`;
  const url = `http://${addr}`;
  const child = spawn(bin, ['serve', '--demo', '--addr', addr, '--database-url', db], {
    env: {
      ...process.env,
      HEED_WEBHOOK_ALLOW_PRIVATE: 'true',
      HEED_WEBHOOK_RETRY_SCHEDULE: '1s,2s',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const keep = (chunk) => {
    log += chunk.toString();
    if (log.length > LOG_KEEP_BYTES) log = log.slice(-LOG_KEEP_BYTES);
    if (process.env.HEED_E2E_VERBOSE) process.stderr.write(chunk);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
    child.on('error', (err) => resolve({ code: null, signal: null, err }));
  });
  let exit = null;
  exited.then((e) => (exit = e));

  const logs = () => log;
  const stop = async () => {
    if (exit) return exit;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_DEADLINE_MS);
    const e = await exited;
    clearTimeout(timer);
    return e;
  };

  const deadline = Date.now() + READY_DEADLINE_MS;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (exit) {
      const why = exit.err ? exit.err.message : `code ${exit.code}, signal ${exit.signal}`;
      throw new Error(`heed exited before it was ready (${why}); its output:\n${log}`);
    }
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return { url, logs, stop };
      last = `status ${res.status}`;
    } catch (err) {
      last = err.cause?.code || err.message;
    }
    await sleep(100);
  }
  await stop();
  throw new Error(`heed at ${url} not ready within ${READY_DEADLINE_MS} ms (last: ${last}); its output:\n${log}`);
}

/**
 * An HTTP server on 127.0.0.1:0 that answers 200 to everything and records
 * each request as {method, url, headers, body} where body is the raw bytes
 * (a Buffer). Returns {url, port, requests, waitFor(pred, timeoutMs), close()}.
 */
export async function receiver() {
  const requests = [];
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const rec = {
        method: req.method,
        url: req.url,
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks),
        at: Date.now(),
      };
      requests.push(rec);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
      events.emit('request', rec);
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();

  /** Resolves with the first recorded request for which pred(req) is true. */
  const waitFor = (pred, timeoutMs = 10_000) =>
    new Promise((resolve, reject) => {
      const hit = requests.find((r) => pred(r));
      if (hit) return resolve(hit);
      const onRequest = (r) => {
        let ok = false;
        try {
          ok = pred(r);
        } catch {
          ok = false;
        }
        if (!ok) return;
        clearTimeout(timer);
        events.off('request', onRequest);
        resolve(r);
      };
      const timer = setTimeout(() => {
        events.off('request', onRequest);
        reject(
          new Error(
            `receiver: no matching request within ${timeoutMs} ms (${requests.length} received: ` +
              `${requests.map((r) => `${r.method} ${r.url}`).join(', ') || 'none'})`,
          ),
        );
      }, timeoutMs);
      events.on('request', onRequest);
    });

  const close = () =>
    new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    });

  return { url: `http://127.0.0.1:${port}`, port, requests, waitFor, close };
}
