// `npm test`: every check in one command. Installs what the suites need when it is missing
// (PyKMIP from apt), type-checks, then runs the ava suites (unit, integration, interop).
import { spawnSync } from 'node:child_process';
import { ensurePykmip } from './setup/pykmip.ts';

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(`\nnpm test: '${cmd} ${args.join(' ')}' failed (exit ${r.status ?? r.signal})\n`);
    process.exit(r.status ?? 1);
  }
}

ensurePykmip();
// kube-apiserver, kube-controller-manager and etcd from Go modules, cached per user outside the
// clone (about 15 minutes the first time on 2 cores, instant afterwards).
run('bash', ['test/envtest/build.sh']);
run('bash', ['test/helm/build.sh']); // helm from Go modules, cached likewise (a few minutes the first time)
run('bash', ['test/certmanager/build.sh']); // cert-manager's controller and CRDs from its Go module, cached likewise
run('tsc', ['-p', 'tsconfig.json']);
run('ava', process.argv.slice(2));
