// The HTTPS fixture (test/fixtures/capture/https-keylog.*, made by scripts/make-tls-fixture.sh):
// the request id each of its 7 TLS sessions carries, in capture (and key log) order.

export const HTTPS_FIXTURE_IDS = [
  'tls13-h1',
  'tls13-h2',
  'tls12-gcm',
  'tls12-chacha',
  'tls13-aes256',
  'tls13-chacha',
  'tls12-aes256-h2',
];
