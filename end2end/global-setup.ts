import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

// Runs after the web server is up: NumPy writes a few fixtures into the served directory
// (the store picks new files up without a restart).
export default async function globalSetup() {
  const dataDir = process.env.DOWNLINK_E2E_DATA;
  if (!dataDir) throw new Error('DOWNLINK_E2E_DATA is not set');
  const script = path.resolve(__dirname, '../tests/interop/make_fixtures.py');
  execFileSync(process.env.PYTHON ?? 'python3', [script, path.join(dataDir, 'fixtures')], {
    stdio: 'inherit',
  });
}
