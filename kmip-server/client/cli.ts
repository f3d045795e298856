#!/usr/bin/env node
/**
 * kmip-client: a small KMIP command-line client over mutual TLS, for checking that a server answers
 * (the Helm test pod, the kind e2e scenario, a person with a fresh credential Secret).
 *
 *   kmip-client discover-versions --server kube-kmip-server.kube-kmip.svc:5696 \
 *     --cert tls.crt --key tls.key --ca ca.crt
 *   kmip-client hash-password < password.txt     (a passwordHash for spec.headerCredentials)
 *
 * Prints the result on stdout (plain lines, or one JSON document with --json) and exits 0; on any
 * failure prints one line `kmip-client: <why>` on stderr and exits 1 (2 for a usage error). It never
 * prints key material: the two commands it has carry none.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ItemType, type StructureItem } from '../ttlv/types.ts';
import { enumValueName } from '../ttlv/spec/names.ts';
import { KmipClient, KmipResultError, Tags, tag, type ProtocolVersion } from './client.ts';
import type { ConnectOptions } from './connection.ts';
import { PasswordInputError, hashPasswordCommand } from './hash-password.ts';

const DEFAULT_SERVER = '127.0.0.1:5696';
const DEFAULT_TIMEOUT_MS = 10_000;

const USAGE = `Usage: kmip-client <command> [options]

Commands:
  discover-versions   the KMIP protocol versions the server supports (Discover Versions)
  query               the operations and object types the server supports (Query)
  hash-password       reads a password from stdin (typed unechoed on a terminal) and prints
                      its scrypt hash for a KmipClientCredential's spec.headerCredentials

Options:
  --server H:P        server address (default ${DEFAULT_SERVER}; [v6addr]:P for IPv6)
  --cert F            client certificate, PEM (a file holding the key too, like client.pem, also works)
  --key F             client private key, PEM (default: the --cert file)
  --ca F              CA certificate(s) the server certificate must chain to, PEM
                      (default: the system trust store)
  --server-name N     SNI and the name the server certificate is checked against
                      (default: the host of --server unless it is an IP address)
  --version V         KMIP protocol version of the request, e.g. 1.4 or 2.1 (default 1.4)
  --timeout-ms N      TLS handshake and response timeout (default ${DEFAULT_TIMEOUT_MS})
  --json              print one JSON document instead of lines
  -h, --help          this text

Exit status: 0 success, 1 the request failed, 2 usage error.
`;

class UsageError extends Error {}

interface Options {
  command: 'discover-versions' | 'query';
  host: string;
  port: number;
  certFile?: string;
  keyFile?: string;
  caFile?: string;
  serverName?: string;
  version: ProtocolVersion;
  timeoutMs: number;
  json: boolean;
}

/** `host:port`, `[v6]:port`, or a bare host (port 5696). */
function parseServer(s: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s) ?? /^([^:]+)(?::(\d+))?$/.exec(s);
  const port = m?.[2] === undefined ? 5696 : Number(m[2]);
  if (!m || !m[1] || !Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`--server ${s}: expected HOST:PORT`);
  return { host: m[1], port };
}

function parseVersion(s: string): ProtocolVersion {
  const m = /^(\d+)\.(\d+)$/.exec(s);
  if (!m) throw new UsageError(`--version ${s}: expected MAJOR.MINOR, e.g. 1.4`);
  return { major: Number(m[1]), minor: Number(m[2]) };
}

function parseOptions(argv: string[]): Options | 'help' | 'hash-password' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        server: { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        ca: { type: 'string' },
        'server-name': { type: 'string' },
        version: { type: 'string' },
        'timeout-ms': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values: v, positionals } = parsed;
  if (v.help) return 'help';
  if (positionals.length === 0) throw new UsageError('a command is needed: discover-versions, query or hash-password');
  const [command, ...extra] = positionals;
  if (command === 'hash-password') {
    const flags = Object.keys(v);
    if (extra.length > 0 || flags.length > 0) throw new UsageError('hash-password takes no arguments: it reads the password from stdin');
    return 'hash-password';
  }
  if (command !== 'discover-versions' && command !== 'query') throw new UsageError(`unknown command "${command}"`);
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const timeoutMs = v['timeout-ms'] === undefined ? DEFAULT_TIMEOUT_MS : Number(v['timeout-ms']);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new UsageError(`--timeout-ms ${v['timeout-ms']}: expected a positive integer`);
  const o: Options = {
    command,
    ...parseServer(v.server ?? DEFAULT_SERVER),
    version: parseVersion(v.version ?? '1.4'),
    timeoutMs,
    json: v.json ?? false,
  };
  if (v.cert !== undefined) o.certFile = v.cert;
  if (v.key !== undefined) o.keyFile = v.key;
  if (v.ca !== undefined) o.caFile = v.ca;
  if (v['server-name'] !== undefined) o.serverName = v['server-name'];
  if (o.keyFile !== undefined && o.certFile === undefined) throw new UsageError('--key needs --cert');
  return o;
}

async function readPem(flag: string, file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

async function connectOptions(o: Options): Promise<ConnectOptions> {
  const c: ConnectOptions = { host: o.host, port: o.port, timeoutMs: o.timeoutMs };
  if (o.caFile !== undefined) c.ca = await readPem('--ca', o.caFile);
  if (o.certFile !== undefined) {
    c.cert = await readPem('--cert', o.certFile);
    if (o.keyFile !== undefined) c.key = await readPem('--key', o.keyFile);
    else if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(c.cert)) c.key = c.cert;
    else throw new Error(`--cert ${o.certFile} holds no private key: give --key`);
  }
  if (o.serverName !== undefined) c.servername = o.serverName;
  return c;
}

/** OpenSSL verification codes that mean "the server certificate is not one we trust for that name". */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
]);

/** One line saying what went wrong, with a hint where the cause is a usual mistake. */
function describe(err: unknown, o: Options | undefined): string {
  const e = err as Error & { cause?: NodeJS.ErrnoException & { reason?: string } };
  const code = e.cause?.code;
  // OpenSSL errors carry a long "<hex>:error:<hex>:SSL routines:..." message; its `reason` says the same in a few words.
  const message = e.cause?.reason && e.message.includes(e.cause.message) ? e.message.replace(e.cause.message, e.cause.reason) : e.message;
  let hint = '';
  if (code && UNTRUSTED.has(code)) {
    hint = o?.caFile ? ` (the server certificate does not chain to --ca ${o.caFile})` : ' (give the CA that issued the server certificate with --ca)';
  } else if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    hint = o?.serverName ? ' (the server certificate does not carry --server-name)' : ' (the server certificate is not valid for that host: connect by a name it carries, or set --server-name)';
  } else if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    hint = ' (the server certificate is outside its validity period)';
  } else if (/certificate required/i.test(message) && o?.certFile === undefined) {
    hint = ' (the server wants a client certificate: give --cert and --key)';
  }
  return `${message.replace(/\s+/g, ' ').trim()}${hint}`;
}

const fmt = (v: ProtocolVersion): string => `${v.major}.${v.minor}`;

function enumNames(payload: StructureItem, t: number, enumName: string): string[] {
  return payload.value
    .filter((c) => c.tag === t && c.type === ItemType.Enumeration)
    .map((c) => enumValueName(enumName, c.value as number) ?? `0x${(c.value as number).toString(16)}`);
}

async function run(o: Options): Promise<string> {
  const client = await KmipClient.connect({ ...(await connectOptions(o)), version: o.version });
  try {
    if (o.command === 'discover-versions') {
      const versions = (await client.discoverVersions()).map(fmt);
      return o.json ? `${JSON.stringify({ server: `${o.host}:${o.port}`, versions })}\n` : versions.map((v) => `${v}\n`).join('');
    }
    const payload = await client.query(['Query Operations', 'Query Objects']);
    const operations = enumNames(payload, Tags.Operation, 'Operation');
    const objectTypes = enumNames(payload, tag('Object Type'), 'Object Type');
    return o.json
      ? `${JSON.stringify({ server: `${o.host}:${o.port}`, operations, objectTypes })}\n`
      : `operations: ${operations.join(', ')}\nobject types: ${objectTypes.join(', ')}\n`;
  } finally {
    await client.close();
  }
}

async function main(argv: string[]): Promise<number> {
  let o: Options | 'help' | 'hash-password';
  try {
    o = parseOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`kmip-client: ${err.message} (kmip-client --help for usage)\n`);
    return 2;
  }
  if (o === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (o === 'hash-password') {
    try {
      process.stdout.write(await hashPasswordCommand(process.stdin, process.stderr));
      return 0;
    } catch (err) {
      if (!(err instanceof PasswordInputError)) throw err;
      process.stderr.write(`kmip-client: ${err.message}\n`);
      return 1;
    }
  }
  try {
    process.stdout.write(await run(o));
    return 0;
  } catch (err) {
    const what = err instanceof KmipResultError ? err.message : describe(err, o);
    process.stderr.write(`kmip-client: ${what}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`kmip-client: ${err.message.replace(/\s+/g, ' ')}\n`);
    process.exitCode = 1;
  },
);
