// Ship a Float32Array as an .npy document: a 128-byte header, then the bytes as they are.
export function npy(values, shape = [values.length]) {
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${dims}, }`;
  header = header.padEnd(128 - 10 - 1) + '\n';
  const out = new Uint8Array(128 + values.byteLength);
  out.set([0x93, ...new TextEncoder().encode('NUMPY'), 1, 0, header.length & 0xff, header.length >> 8]);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), 128);
  return out;
}

export async function example(base) {
  const samples = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i / 50));
  const put = await fetch(`${base}/api/arrays/scripts/wave`, {
    method: 'PUT', headers: { 'Content-Type': 'application/x-npy' }, body: npy(samples),
  });
  const back = await fetch(`${base}/api/arrays/scripts/wave?format=raw`);
  return { status: put.status, values: new Float32Array(await back.arrayBuffer()) };
}

// Several arrays in one PUT, all or none, sent from the typed arrays' own buffers.
import { encodeBundle } from './bundle.js';

export async function exampleMany(base) {
  const t = BigInt64Array.from({ length: 1000 }, (_, i) => 1_773_478_800_000_000_000n + BigInt(i) * 20_000_000n);
  const x = Float32Array.from({ length: 1000 }, (_, i) => Math.cos(i / 50));
  const put = await fetch(`${base}/api/bundle`, { method: 'PUT', body: encodeBundle({ 'scripts/pair/t': t, 'scripts/pair/x': x }) });
  return { status: put.status, stored: (await put.json()).arrays.map((a) => a.name) };
}
