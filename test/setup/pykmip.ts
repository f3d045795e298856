import { spawnSync } from 'node:child_process';

/** Debian's interpreter, where apt installs python3-pykmip (pyenv's python3 may shadow it). */
export const SYSTEM_PYTHON = '/usr/bin/python3';

function hasPykmip(): boolean {
  return spawnSync(SYSTEM_PYTHON, ['-c', 'import kmip'], { stdio: 'ignore' }).status === 0;
}

/** Installs python3-pykmip from apt when it is missing (apt-get update only if the install fails). */
export function ensurePykmip(): void {
  if (hasPykmip()) return;
  process.stderr.write('npm test: installing python3-pykmip from apt\n');
  const sudo = process.getuid?.() === 0 ? [] : ['sudo', '-n'];
  const apt = (args: string[]) => {
    const [cmd, ...rest] = [...sudo, 'apt-get', ...args];
    return spawnSync(cmd!, rest, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
  };
  if (!apt(['install', '-y', '-q', 'python3-pykmip'])) {
    apt(['update', '-q']);
    apt(['install', '-y', '-q', 'python3-pykmip']);
  }
  if (!hasPykmip()) throw new Error('python3-pykmip could not be installed; the interop suites need it');
}
