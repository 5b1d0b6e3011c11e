// Worker bootstrap used only when running from TypeScript sources (tests under tsx): loader hooks
// are not inherited by worker threads, so register tsx here, then load the real worker.
import { register } from 'tsx/esm/api';

register();
await import('./log-worker.ts');
