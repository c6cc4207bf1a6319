import * as fs from 'node:fs';

// Removes the data directory the config made for this run (not one given in
// DOWNLINK_E2E_DATA): each holds the demo's 200 MB series.
export default async function globalTeardown() {
  const dataDir = process.env.DOWNLINK_E2E_DATA;
  if (dataDir && process.env.DOWNLINK_E2E_DATA_MADE === '1') {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
