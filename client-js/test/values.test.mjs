import assert from "node:assert/strict";
import { test } from "node:test";
import { anyApi, convexToJson, getFunctionName, jsonToConvex, ReactorError } from "../dist/index.js";
import { decodeTs, encodeTs, parseServerMessage } from "../dist/protocol.js";
import { base64Decode, base64Encode } from "../dist/values.js";

test("int64 as $integer little-endian base64", () => {
  assert.deepEqual(convexToJson(1n), { $integer: "AQAAAAAAAAA=" });
  assert.deepEqual(convexToJson(-1n), { $integer: "//////////8=" });
  for (const n of [0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 123456789012345n]) {
    assert.equal(jsonToConvex(convexToJson(n)), n);
  }
  assert.throws(() => convexToJson(2n ** 63n), /64-bit/);
});

test("special floats as $float, ordinary numbers as JSON", () => {
  assert.equal(convexToJson(1.5), 1.5);
  for (const x of [NaN, Infinity, -Infinity, -0]) {
    const json = convexToJson(x);
    assert.equal(typeof json.$float, "string");
    assert.ok(Object.is(jsonToConvex(json), x));
  }
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, 2.5, true);
  assert.throws(() => jsonToConvex({ $float: base64Encode(new Uint8Array(view.buffer)) }), /ordinary/);
});

test("bytes, nesting, key order, undefined fields, reserved keys", () => {
  const bytes = new Uint8Array([0, 1, 2, 250, 255]).buffer;
  assert.deepEqual(convexToJson(bytes), { $bytes: "AAEC+v8=" });
  const back = jsonToConvex({ $bytes: "AAEC+v8=" });
  assert.ok(back instanceof ArrayBuffer);
  assert.deepEqual([...new Uint8Array(back)], [0, 1, 2, 250, 255]);
  const json = convexToJson({ b: [1n, { z: null, a: true }], a: "x", gone: undefined });
  assert.equal(JSON.stringify(json), '{"a":"x","b":[{"$integer":"AQAAAAAAAAA="},{"a":true,"z":null}]}');
  assert.throws(() => convexToJson({ $bad: 1 }), /starts with/);
  assert.throws(() => convexToJson(new Date()), /not a supported value/);
  assert.throws(() => convexToJson([undefined]), /not a supported value/);
  assert.throws(() => jsonToConvex({ $set: [] }), /unknown tagged/);
});

test("base64 round trip of every length", () => {
  for (let n = 0; n < 20; n++) {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 255);
    assert.deepEqual([...base64Decode(base64Encode(bytes))], [...bytes]);
    assert.equal(base64Encode(bytes), Buffer.from(bytes).toString("base64"));
  }
});

test("timestamps are base64 u64 little-endian", () => {
  const t = 1734000000000000000n;
  const wire = encodeTs(t);
  assert.equal(wire, Buffer.from(new BigUint64Array([t]).buffer).toString("base64"));
  assert.equal(decodeTs(wire), t);
  const msg = parseServerMessage(
    JSON.stringify({
      type: "Transition",
      startVersion: { querySet: 0, identity: 0, ts: encodeTs(0n) },
      endVersion: { querySet: 1, identity: 0, ts: wire },
      modifications: [],
    }),
  );
  assert.equal(msg.endVersion.ts, t);
});

test("function references", () => {
  assert.equal(getFunctionName("messages:list"), "messages:list");
  assert.equal(getFunctionName("messages"), "messages:default");
  assert.equal(getFunctionName("dir/mod.js:fn"), "dir/mod:fn");
  assert.equal(getFunctionName(anyApi.messages.list), "messages:list");
  assert.equal(getFunctionName(anyApi.sms.threads.send), "sms/threads:send");
  assert.equal(`${anyApi.messages.list}`, "messages:list");
  assert.equal(getFunctionName({ _path: "a:b", _type: "query" }), "a:b");
  assert.equal(getFunctionName({ [Symbol.for("functionName")]: "c:d" }), "c:d");
  assert.equal(getFunctionName({ toString: () => "e:f" }), "e:f");
  assert.throws(() => getFunctionName({}), /not a function reference/);
  assert.throws(() => getFunctionName(anyApi.messages), /names a module/);
});

test("ReactorError carries decoded data", () => {
  const err = new ReactorError("nope", { code: 1n });
  assert.equal(err.data.code, 1n);
  assert.ok(err instanceof Error);
});
