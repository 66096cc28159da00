/**
 * Values and their wire encoding ("Convex JSON").
 *
 * A {@link Value} is what a function takes and returns: `null`, `bigint` (int64),
 * `number` (float64), `boolean`, `string`, `ArrayBuffer` (bytes), arrays and plain
 * objects. JSON cannot carry all of these, so the wire format tags the ones it cannot:
 *
 * | value                      | JSON                                       |
 * |----------------------------|--------------------------------------------|
 * | `bigint` (int64)           | `{"$integer": base64(8 bytes, little-endian)}` |
 * | `ArrayBuffer`              | `{"$bytes": base64}`                       |
 * | `NaN`, `±Infinity`, `-0`   | `{"$float": base64(8 bytes, little-endian)}` |
 *
 * Object keys must not start with `$` (that space is reserved for the tags above).
 * Object fields whose value is `undefined` are left out, as `JSON.stringify` does.
 *
 * @module
 */

/** A value a reactor function can take or return. */
export type Value =
  | null
  | bigint
  | number
  | boolean
  | string
  | ArrayBuffer
  | Value[]
  | { [key: string]: Value | undefined };

/** The JSON form of a {@link Value}. */
export type JSONValue =
  | null
  | boolean
  | number
  | string
  | JSONValue[]
  | { [key: string]: JSONValue };

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const LOOKUP: Record<string, number> = {};
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET[i]!] = i;
LOOKUP["-"] = 62; // accept base64url too
LOOKUP["_"] = 63;

/** Standard base64 (with padding) of some bytes. */
export function base64Encode(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + "==";
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + "=";
  }
  return out;
}

/** Decode base64 or base64url, padded or not. Throws on characters outside the alphabet. */
export function base64Decode(text: string): Uint8Array {
  const clean = text.replace(/=+$/, "");
  if (clean.length % 4 === 1) throw new Error(`invalid base64 ${JSON.stringify(text)}`);
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let j = 0;
  for (let i = 0; i < clean.length; i++) {
    const v = LOOKUP[clean[i]!];
    if (v === undefined) throw new Error(`invalid base64 ${JSON.stringify(text)}`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

function int64ToBase64(value: bigint): string {
  if (value < -(1n << 63n) || value >= 1n << 63n) {
    throw new Error(`bigint ${value} does not fit in a signed 64-bit integer`);
  }
  const view = new DataView(new ArrayBuffer(8));
  view.setBigInt64(0, value, true);
  return base64Encode(new Uint8Array(view.buffer));
}

function eightBytes(text: string, what: string): DataView {
  const bytes = base64Decode(text);
  if (bytes.length !== 8) throw new Error(`${what} must be 8 bytes, got ${bytes.length}`);
  return new DataView(bytes.buffer, bytes.byteOffset, 8);
}

function isSpecialFloat(n: number): boolean {
  return Number.isNaN(n) || !Number.isFinite(n) || Object.is(n, -0);
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function describe(value: unknown): string {
  if (value === undefined) return "undefined";
  if (typeof value === "function") return "a function";
  if (typeof value === "symbol") return "a symbol";
  if (typeof value === "object" && value !== null) {
    return `an instance of ${value.constructor?.name ?? "an unknown class"}`;
  }
  return String(value);
}

function encode(value: unknown, path: string): JSONValue {
  if (value === null) return null;
  switch (typeof value) {
    case "boolean":
    case "string":
      return value;
    case "bigint":
      return { $integer: int64ToBase64(value) };
    case "number": {
      if (!isSpecialFloat(value)) return value;
      const view = new DataView(new ArrayBuffer(8));
      view.setFloat64(0, value, true);
      return { $float: base64Encode(new Uint8Array(view.buffer)) };
    }
    case "object": {
      if (value instanceof ArrayBuffer) return { $bytes: base64Encode(new Uint8Array(value)) };
      if (Array.isArray(value)) return value.map((item, i) => encode(item, `${path}[${i}]`));
      if (!isPlainObject(value)) {
        throw new Error(`${describe(value)} at ${path} is not a supported value`);
      }
      const out: { [key: string]: JSONValue } = {};
      for (const key of Object.keys(value).sort()) {
        const field = (value as Record<string, unknown>)[key];
        if (field === undefined) continue;
        if (key.startsWith("$")) throw new Error(`field name ${JSON.stringify(key)} at ${path} starts with "$"`);
        out[key] = encode(field, `${path}.${key}`);
      }
      return out;
    }
    default:
      throw new Error(`${describe(value)} at ${path} is not a supported value`);
  }
}

/**
 * Encode a value for the wire. Throws on values that have no encoding (functions,
 * class instances, `undefined` outside an object field, out-of-range bigints).
 */
export function convexToJson(value: Value): JSONValue {
  return encode(value, "$");
}

/** Decode a wire value. Throws on malformed tagged objects. */
export function jsonToConvex(json: JSONValue): Value {
  if (json === null || typeof json !== "object") return json;
  if (Array.isArray(json)) return json.map(jsonToConvex);
  const keys = Object.keys(json);
  if (keys.length === 1 && keys[0]!.startsWith("$")) {
    const key = keys[0]!;
    const payload = json[key];
    if (key === "$integer") {
      if (typeof payload !== "string") throw new Error("$integer must hold a string");
      return eightBytes(payload, "$integer").getBigInt64(0, true);
    }
    if (key === "$float") {
      if (typeof payload !== "string") throw new Error("$float must hold a string");
      const n = eightBytes(payload, "$float").getFloat64(0, true);
      if (!isSpecialFloat(n)) throw new Error(`$float used for the ordinary number ${n}`);
      return n;
    }
    if (key === "$bytes") {
      if (typeof payload !== "string") throw new Error("$bytes must hold a string");
      const bytes = base64Decode(payload);
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    }
    throw new Error(`unknown tagged value ${JSON.stringify(key)}`);
  }
  const out: { [key: string]: Value } = {};
  for (const key of keys) out[key] = jsonToConvex(json[key]!);
  return out;
}

/**
 * An error a function raised on purpose with structured data (`UserError(data)` on the
 * server). `data` is the decoded value; `message` is the server's message.
 */
export class ReactorError<TData extends Value = Value> extends Error {
  override name = "ReactorError";
  readonly data: TData;
  constructor(message: string, data: TData) {
    super(message);
    this.data = data;
  }
}

/** Build the Error a failed function call should reject with. */
export function functionError(message: string, errorData: JSONValue | undefined): Error {
  if (errorData === undefined) return new Error(message);
  return new ReactorError(message, jsonToConvex(errorData));
}
