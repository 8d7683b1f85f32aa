/**
 * What the attendance, notification, summary and roster routes need.
 *
 * @module
 */

import type { ExcusedAbsences } from "../attendance/metrics.ts";
import type { TokenVerifier } from "../auth/token_verifier.ts";
import type { FeedStore } from "../store/feed_store.ts";

/** Dependencies of the feature routes; main.ts picks the store (memory or Redis). */
export interface FeatureDeps {
  verifyToken: TokenVerifier;
  store: FeedStore;
  excusedAbsences: ExcusedAbsences;
  /** Clock (tests); defaults to the system clock. */
  now?: () => Date;
}
