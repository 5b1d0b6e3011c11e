import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endpointText } from './records.js';

test('endpoints: an IPv6 address is bracketed (bare, `fd77::1:51846` could be either)', () => {
  assert.equal(endpointText({ ip: '10.0.0.1', port: 8080 }), '10.0.0.1:8080');
  assert.equal(endpointText({ ip: 'fd77::1', port: 51846 }), '[fd77::1]:51846');
  assert.equal(endpointText({ ip: '::ffff:10.0.0.1', port: 80 }), '[::ffff:10.0.0.1]:80');
});
