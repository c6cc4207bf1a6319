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
