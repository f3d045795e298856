/**
 * `kmip-client hash-password`: reads one password from stdin and prints its `$scrypt$` hash, the
 * value of a KmipClientCredential's spec.headerCredentials[].passwordHash. From a terminal the
 * password is typed without echo; from a pipe or file it is the first line (one trailing newline
 * dropped). The password is never written anywhere.
 */
import { hashPassword } from '../auth/password-hash.ts';

/** Longer than any password a KMIP client sends; bounds what stdin may make us hold. */
const MAX_PASSWORD_BYTES = 4096;

export class PasswordInputError extends Error {}

export async function hashPasswordCommand(stdin: NodeJS.ReadStream, stderr: NodeJS.WriteStream): Promise<string> {
  const password = stdin.isTTY ? await readHidden(stdin, stderr) : await readLine(stdin);
  if (password.length === 0) throw new PasswordInputError('no password on stdin');
  return `${await hashPassword(password)}\n`;
}

async function readLine(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    chunks.push(b);
    size += b.length;
    if (size > MAX_PASSWORD_BYTES + 2) throw new PasswordInputError(`the password is longer than ${MAX_PASSWORD_BYTES} bytes`);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const line = text.replace(/\r?\n$/, '');
  if (/[\r\n]/.test(line)) throw new PasswordInputError('stdin holds more than one line: give the password alone');
  return line;
}

/** Reads a line from a terminal in raw mode, echoing nothing. */
function readHidden(stdin: NodeJS.ReadStream, stderr: NodeJS.WriteStream): Promise<string> {
  stderr.write('Password (not echoed): ');
  return new Promise((resolve, reject) => {
    let buf = '';
    stdin.setRawMode(true);
    stdin.setEncoding('utf8');
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.off('data', onData);
      stdin.pause();
      stderr.write('\n');
      if (err) reject(err);
      else resolve(buf);
    };
    const onData = (s: string) => {
      for (const ch of s) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003' || ch === '\u0004') return done(new PasswordInputError('cancelled'));
        if (ch === '\u007f' || ch === '\b') buf = buf.slice(0, -1);
        else buf += ch;
        if (Buffer.byteLength(buf) > MAX_PASSWORD_BYTES) return done(new PasswordInputError(`the password is longer than ${MAX_PASSWORD_BYTES} bytes`));
      }
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}
