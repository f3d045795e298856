#!/usr/bin/env node
/**
 * KMIP conformance run: the OASIS XML test vectors against a fresh development server.
 *
 *   npm run conformance -- [--filter SUBSTRING] [--exclude SUBSTRING] [--verbose] [--show-messages] [--json OUT.json] [--require FAMILY,...]
 *                          [--server HOST:PORT --credentials DIR [--http-server HOST:PORT]] [--timeout MS]
 *                          [--repeat-timeout SECONDS]
 *
 * Vectors: $KMIP_TESTCASES, else /work/shared/kmip-testcases, else ../shared/kmip-testcases next to the repo.
 * Server: `node kmip-server/main.ts dev --port 0 --http-port 0 --data-dir <temp>` (or --server with a credentials
 * directory holding ca.pem, cert.pem and key.pem, and --http-server for its HTTPS binding). The MSGENC vectors
 * go to the HTTPS binding (POST /kmip) as TTLV, JSON or XML bodies, as the file names; without a binding they
 * are skipped. The run also listens on 127.0.0.1 for the server's Notify and Put requests (the dev server's admin
 * credential subscribes that listener with --notify-endpoint) and plays the client in the `[Server-to-Client]` steps
 * of the TC_NP / TC-NP files; with --server those files are skipped. --verbose lists the first mismatch of every failed file; --show-messages
 * adds the request sent and the response received there, as XML. Prints a table per version folder and family, then exactly
 * `conformance: P passed, F failed, S skipped`. Steps marked `# [REPEAT] until ...` are polled for up to
 * --repeat-timeout seconds (default 150; 0 sends them once), so a full run takes a few minutes. Exits 1 when a file of a --require family fails (a family name
 * or a prefix ending in '*', e.g. --require BL,SKLC,TC-*), 2 when the run cannot start; otherwise 0: without
 * --require the run is a report.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { readCredentialDir, startDevServer, type DevServer } from './server.ts';
import { formatReport, requiredFailures, runAll, totals, type FileResult, type Target } from './runner.ts';
import { findVectorsDir, listVectorFiles } from './vectors.ts';
import { startPushListener, type PushListener } from './push-listener.ts';

const USAGE = `usage: node test/conformance/run.ts [--filter SUBSTRING] [--exclude SUBSTRING] [--verbose] [--show-messages] [--json OUT.json]
                                   [--require FAMILY,...] [--server HOST:PORT --credentials DIR [--http-server HOST:PORT]]
                                   [--timeout MS] [--repeat-timeout SECONDS]
`;

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: {
        filter: { type: 'string', multiple: true },
        exclude: { type: 'string', multiple: true },
        verbose: { type: 'boolean', short: 'v' },
        'show-messages': { type: 'boolean' },
        json: { type: 'string' },
        require: { type: 'string', multiple: true },
        server: { type: 'string' },
        'http-server': { type: 'string' },
        credentials: { type: 'string' },
        timeout: { type: 'string' },
        'repeat-timeout': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
    }).values;
  } catch (e) {
    process.stderr.write(`conformance: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const required = (args.require ?? []).flatMap((r) => r.split(',')).map((r) => r.trim()).filter((r) => r !== '');
  const timeoutMs = args.timeout === undefined ? 30_000 : Number(args.timeout);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    process.stderr.write(`conformance: --timeout must be a positive number of milliseconds\n`);
    return 2;
  }
  const repeatTimeoutMs = args['repeat-timeout'] === undefined ? 150_000 : Number(args['repeat-timeout']) * 1000;
  if (!Number.isFinite(repeatTimeoutMs) || repeatTimeoutMs < 0) {
    process.stderr.write(`conformance: --repeat-timeout must be a number of seconds\n`);
    return 2;
  }

  let dir: string;
  try {
    dir = findVectorsDir();
  } catch (e) {
    process.stderr.write(`conformance: ${(e as Error).message}\n`);
    return 2;
  }
  const filters = args.filter ?? [];
  const excludes = args.exclude ?? [];
  const files = listVectorFiles(dir)
    .filter((f) => filters.length === 0 || filters.some((s) => f.rel.includes(s)))
    .filter((f) => !excludes.some((s) => f.rel.includes(s)));
  if (files.length === 0) {
    process.stderr.write(`conformance: no vector files in ${dir}${filters.length ? ` match ${filters.join(', ')}` : ''}\n`);
    return 2;
  }

  let server: DevServer | undefined;
  let listener: PushListener | undefined;
  let target: Target;
  try {
    if (args.server !== undefined) {
      const m = /^(.+):(\d+)$/.exec(args.server);
      if (!m || args.credentials === undefined) throw new Error('--server needs HOST:PORT and --credentials DIR');
      target = { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]), ...(await readCredentialDir(args.credentials)) };
      if (args['http-server'] !== undefined) {
        const h = /^(.+):(\d+)$/.exec(args['http-server']);
        if (!h) throw new Error('--http-server needs HOST:PORT');
        target.http = { host: h[1]!.replace(/^\[|\]$/g, ''), port: Number(h[2]) };
      }
    } else {
      // The client's end of Notify / Put: the dev server's admin credential subscribes it.
      listener = await startPushListener();
      server = await startDevServer({ extraArgs: ['--notify-endpoint', listener.endpoint] });
      target = server.target;
      listener.setCredentials({ ca: target.ca, cert: target.cert, key: target.key });
    }
  } catch (e) {
    await listener?.close();
    process.stderr.write(`conformance: cannot start the server: ${(e as Error).message}\n`);
    return 2;
  }

  process.stderr.write(
    `conformance: ${files.length} files from ${dir} against ${target.host}:${target.port}` +
      `${target.http ? ` (HTTPS binding ${target.http.host}:${target.http.port})` : ''}\n`,
  );
  const tty = process.stderr.isTTY === true;
  let done = 0;
  let results: FileResult[];
  try {
    results = await runAll(files, target, {
      timeoutMs,
      repeatTimeoutMs,
      ...(listener ? { pushes: listener } : {}),
      onResult: (r) => {
        done++;
        if (args.verbose) process.stderr.write(`${r.status.toUpperCase().padEnd(7)} ${r.file}\n`);
        else if (tty) process.stderr.write(`\r${done}/${files.length}`);
      },
    });
  } finally {
    if (tty && !args.verbose) process.stderr.write('\n');
    if (server) {
      if (args.verbose) {
        const tail = server.logTail();
        if (tail) process.stderr.write(`--- server log (tail) ---\n${tail}\n`);
      }
      await server.stop();
    }
    await listener?.close();
  }

  if (args.json !== undefined) {
    const t = totals(results);
    await writeFile(
      args.json,
      JSON.stringify({ generatedAt: new Date().toISOString(), vectors: dir, filters, totals: t, files: results }, null, 2) + '\n',
    );
  }
  // Said before the report, so that the report's summary stays the last line.
  const bad = requiredFailures(results, required);
  if (bad.length > 0) process.stderr.write(`conformance: ${bad.length} file(s) of the required families (${required.join(', ')}) failed\n`);
  process.stdout.write(formatReport(results, { verbose: args.verbose === true || args['show-messages'] === true, showMessages: args['show-messages'] === true }) + '\n');
  return bad.length > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`conformance: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 2;
  },
);
