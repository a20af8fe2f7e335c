// Just enough of the Kubernetes protobuf encoding to read what kubectl sends as protobuf:
// `kubectl auth can-i` posts its SelfSubjectAccessReview with
// Content-Type: application/vnd.kubernetes.protobuf (while accepting JSON back).
// Wire format: the magic "k8s\0", then a runtime.Unknown {typeMeta=1 {apiVersion=1, kind=2}, raw=2, ...}
// whose raw bytes are the object's own message.

export const PROTOBUF = "application/vnd.kubernetes.protobuf";
const MAGIC = [0x6b, 0x38, 0x73, 0x00];

type Fields = Map<number, (Uint8Array | number)[]>;

/** Decodes one message level: field number -> values (bytes for length-delimited, numbers for varints). */
function fields(buf: Uint8Array): Fields {
  const out: Fields = new Map();
  let i = 0;
  const varint = () => {
    let v = 0;
    let mul = 1;
    for (;;) {
      if (i >= buf.length) throw new Error("protobuf: truncated varint");
      const b = buf[i++]!;
      v += (b & 0x7f) * mul;
      if (!(b & 0x80)) return v;
      mul *= 128;
    }
  };
  while (i < buf.length) {
    const tag = varint();
    const [num, wire] = [Math.floor(tag / 8), tag & 7];
    let val: Uint8Array | number;
    if (wire === 0) val = varint();
    else if (wire === 2) {
      const len = varint();
      if (i + len > buf.length) throw new Error("protobuf: truncated field");
      val = buf.subarray(i, i + len);
      i += len;
    } else if (wire === 1 || wire === 5) {
      i += wire === 1 ? 8 : 4;
      continue;
    } else throw new Error(`protobuf: unsupported wire type ${wire}`);
    const list = out.get(num) ?? [];
    list.push(val);
    out.set(num, list);
  }
  return out;
}

const text = (f: Fields, n: number) => {
  const v = f.get(n)?.[0];
  return v instanceof Uint8Array ? new TextDecoder().decode(v) : undefined;
};
const sub = (f: Fields, n: number) => {
  const v = f.get(n)?.[0];
  return v instanceof Uint8Array ? fields(v) : undefined;
};

/** Unwraps the envelope: the type and the object's message bytes. */
export function decodeEnvelope(buf: Uint8Array): { apiVersion: string; kind: string; raw: Uint8Array } {
  if (buf.length < 4 || MAGIC.some((b, i) => buf[i] !== b)) throw new Error("protobuf: missing the k8s\\0 prefix");
  const unknown = fields(buf.subarray(4));
  const tm = sub(unknown, 1);
  const raw = unknown.get(2)?.[0];
  return { apiVersion: (tm && text(tm, 1)) ?? "", kind: (tm && text(tm, 2)) ?? "", raw: raw instanceof Uint8Array ? raw : new Uint8Array() };
}

/** A SelfSubjectAccessReview message as its JSON form (spec only; metadata and status are not read). */
export function decodeSelfSubjectAccessReview(raw: Uint8Array): Record<string, any> {
  const spec = sub(fields(raw), 2);
  const out: Record<string, any> = {};
  const ra = spec && sub(spec, 1);
  if (ra) {
    const names = ["", "namespace", "verb", "group", "version", "resource", "subresource", "name"];
    out.resourceAttributes = {};
    for (let n = 1; n < names.length; n++) {
      const v = text(ra, n);
      if (v) out.resourceAttributes[names[n]!] = v;
    }
  }
  const nra = spec && sub(spec, 2);
  if (nra) out.nonResourceAttributes = { path: text(nra, 1) ?? "", verb: text(nra, 2) ?? "" };
  return { apiVersion: "authorization.k8s.io/v1", kind: "SelfSubjectAccessReview", metadata: {}, spec: out };
}

/** A SelfSubjectRulesReview message as its JSON form (spec.namespace only). */
export function decodeSelfSubjectRulesReview(raw: Uint8Array): Record<string, any> {
  const spec = sub(fields(raw), 2);
  const namespace = spec && text(spec, 1);
  return { apiVersion: "authorization.k8s.io/v1", kind: "SelfSubjectRulesReview", metadata: {}, spec: namespace ? { namespace } : {} };
}

/** Encodes the subset above (for tests of the decoder). */
export function encodeSelfSubjectAccessReview(ra: Record<string, string>): Uint8Array {
  const enc = new TextEncoder();
  const varint = (n: number) => {
    const b: number[] = [];
    while (n > 127) {
      b.push((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    b.push(n);
    return b;
  };
  const field = (num: number, bytes: Uint8Array | number[]) => [...varint(num * 8 + 2), ...varint(bytes.length), ...bytes];
  const names = ["", "namespace", "verb", "group", "version", "resource", "subresource", "name"];
  const raBytes = names.flatMap((n, i) => (i && ra[n] ? field(i, enc.encode(ra[n])) : []));
  const msg = field(2, field(1, raBytes));
  const typeMeta = [...field(1, enc.encode("authorization.k8s.io/v1")), ...field(2, enc.encode("SelfSubjectAccessReview"))];
  return new Uint8Array([...MAGIC, ...field(1, typeMeta), ...field(2, msg), ...field(3, []), ...field(4, [])]);
}
