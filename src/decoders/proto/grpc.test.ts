import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  GrpcMessageFramer,
  decodeGrpcMessage,
  grpcCallKind,
  isGrpcContentType,
  parseGrpcPath,
  parseGrpcTimeout,
} from './grpc.js';
import { hex } from './proto-test-context.test-util.js';

// Three messages: uncompressed 3 bytes, compressed 0 bytes, uncompressed 2 bytes.
const WIRE = hex(`
  00 00000003 0a0141     # flag 0, length 3, payload
  01 00000000            # flag 1 (compressed), empty message
  00 00000002 0802       # flag 0, length 2
`);

test('framer: same counts whatever the chunking; a cut message is malformed', () => {
  for (let step = 1; step <= WIRE.length; step++) {
    const f = new GrpcMessageFramer();
    for (let i = 0; i < WIRE.length; i += step) f.feed(WIRE, i, Math.min(WIRE.length, i + step), i);
    f.end();
    assert.deepEqual(
      [f.messages, f.messageBytes, f.maxMessageBytes, f.compressed, f.malformed],
      [3, 5, 3, 1, false],
    );
  }
  const cut = new GrpcMessageFramer();
  cut.feed(WIRE, 0, 6, 0);
  cut.end();
  assert.equal(cut.malformed, true);
  assert.equal(cut.messages, 0);
  const badFlag = new GrpcMessageFramer();
  badFlag.feed(hex('07 00000000'), 0, 5, 0);
  assert.equal(badFlag.malformed, true);
});

test('path, timeout, content type, message decoding, kinds', () => {
  assert.deepEqual(parseGrpcPath('/helloworld.Greeter/SayHello'), {
    service: 'helloworld.Greeter',
    method: 'SayHello',
  });
  assert.equal(parseGrpcPath('/nope'), null);
  assert.equal(parseGrpcPath(null), null);
  assert.equal(parseGrpcTimeout('1S'), 1000);
  assert.equal(parseGrpcTimeout('2H'), 7_200_000);
  assert.equal(parseGrpcTimeout('500u'), 0.5);
  assert.equal(parseGrpcTimeout('123456789S'), null); // > 8 digits
  assert.equal(parseGrpcTimeout('10x'), null);
  assert.equal(isGrpcContentType('application/grpc'), true);
  assert.equal(isGrpcContentType('application/grpc+proto'), true);
  assert.equal(isGrpcContentType('application/grpc-web'), false);
  assert.equal(isGrpcContentType('application/json'), false);
  assert.equal(decodeGrpcMessage('no%20such%20user'), 'no such user');
  assert.equal(decodeGrpcMessage('bad%zz'), 'bad%zz');
  assert.equal(grpcCallKind(1, 1), 'unary');
  assert.equal(grpcCallKind(5, 1), 'client-streaming');
  assert.equal(grpcCallKind(1, 5), 'server-streaming');
  assert.equal(grpcCallKind(3, 3), 'bidi-streaming');
});

test('framer never throws on random bytes', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 50 }), { maxLength: 8 }), (chunks) => {
      const f = new GrpcMessageFramer();
      chunks.forEach((c, i) => f.feed(c, 0, c.length, i));
      f.end();
    }),
    { numRuns: 1000 },
  );
});
