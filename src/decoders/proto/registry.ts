// The application-protocol recognisers the capture engine tries, in order.

import type { ProtoRecogniser } from './stream.js';
import { http1Recogniser } from './http1.js';

export function allRecognisers(): ProtoRecogniser[] {
  return [http1Recogniser];
}
