// The application-protocol recognisers the capture engine tries, in order: TLS, then HTTP/2 (its
// client preface looks like an HTTP/1 request line, so it goes before HTTP/1), then HTTP/1.x.
// Also wires the HTTP/1 → HTTP/2 handoff for `Upgrade: h2c` and what runs inside CONNECT tunnels.

import type { ProtoRecogniser } from './stream.js';
import { Http1Parser, http1Recogniser } from './http1.js';
import { createHttp2AfterUpgrade, http2Recogniser } from './http2.js';
import { TlsParser, tlsRecogniser } from './tls.js';

Http1Parser.h2cUpgrade = createHttp2AfterUpgrade;
Http1Parser.tunnelRecognisers = [tlsRecogniser, http2Recogniser, http1Recogniser];
TlsParser.innerRecognisers = [http2Recogniser, http1Recogniser];

export function allRecognisers(): ProtoRecogniser[] {
  return [tlsRecogniser, http2Recogniser, http1Recogniser];
}
