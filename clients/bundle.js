// Downlink bundle -> {name: {dtype, shape, data}}; data is a typed array viewing `buffer` in place.
export function decodeBundle(buffer) {
  const view = new DataView(buffer);
  const magic = new TextDecoder().decode(new Uint8Array(buffer, 0, 8));
  if (magic !== 'DLBUNDLE') throw new Error('not a Downlink bundle');
  const head = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 16, view.getUint32(12, true))));
  const types = { '<f4': Float32Array, '<f8': Float64Array, '<i1': Int8Array, '|i1': Int8Array, '|u1': Uint8Array, '<i2': Int16Array, '<u2': Uint16Array, '<i4': Int32Array, '<u4': Uint32Array, '<i8': BigInt64Array, '<u8': BigUint64Array };
  const out = {};
  for (const a of head.arrays) {
    const T = types[a.dtype] ?? Uint8Array;
    out[a.name] = { dtype: a.dtype, shape: a.shape, data: new T(buffer, a.offset, a.nbytes / (T.BYTES_PER_ELEMENT)) };
  }
  return out;
}

// {name: typed array} -> a Downlink bundle as a Blob whose parts are the typed arrays
// themselves (no concatenation into one buffer): PUT it to /api/bundle to store them all,
// all or none. Each array is 1-D, little-endian (the platform order of every browser).
export function encodeBundle(arrays) {
  const descr = { Float32Array: '<f4', Float64Array: '<f8', Int8Array: '|i1', Uint8Array: '|u1', Int16Array: '<i2', Uint16Array: '<u2', Int32Array: '<i4', Uint32Array: '<u4', BigInt64Array: '<i8', BigUint64Array: '<u8' };
  const entries = Object.entries(arrays);
  const up = (n) => Math.ceil(n / 64) * 64;
  let offsets = entries.map(() => 0), json;
  for (;;) { // the header's length depends on the offsets' digits: settle both
    json = JSON.stringify({ arrays: entries.map(([name, a], i) => ({ name, dtype: descr[a.constructor.name], shape: [a.length], offset: offsets[i], nbytes: a.byteLength })) });
    let at = up(16 + new TextEncoder().encode(json).length);
    const placed = entries.map(([, a]) => { const o = at; at = up(o + a.byteLength); return o; });
    if (placed.every((o, i) => o === offsets[i])) break;
    offsets = placed;
  }
  const text = new TextEncoder().encode(json);
  const headerLen = offsets.length ? offsets[0] : up(16 + text.length);
  const head = new Uint8Array(headerLen).fill(0x20);
  head.set(new TextEncoder().encode('DLBUNDLE'));
  new DataView(head.buffer).setUint32(8, 1, true);
  new DataView(head.buffer).setUint32(12, headerLen - 16, true);
  head.set(text, 16);
  const parts = [head];
  let end = headerLen;
  entries.forEach(([, a], i) => {
    if (offsets[i] > end) parts.push(new Uint8Array(offsets[i] - end));
    parts.push(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    end = offsets[i] + a.byteLength;
  });
  return new Blob(parts, { type: 'application/x-downlink-bundle' });
}
