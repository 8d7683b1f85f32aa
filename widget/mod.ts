/// <reference lib="dom" />
/**
 * The widget bundle's entry (`/widget.js`): defines `<attendance-feed>` and exports the
 * framework-free client for portals that draw their own UI.
 *
 * @example
 * ```ts
 * import { createFeedClient } from "https://feed.school.example/widget.js";
 * ```
 *
 * @module
 */

import { AttendanceFeed } from "./attendance_feed.ts";

export { AttendanceFeed } from "./attendance_feed.ts";
export { createFeedClient } from "./feed_client.ts";
export type { FeedClient, FeedClientOptions, StateChange } from "./feed_client.ts";
export type { ConnectionState } from "./connection_state.ts";

// Defining twice throws; a page that loads the script twice must keep working.
if (globalThis.customElements && !customElements.get("attendance-feed")) {
  customElements.define("attendance-feed", AttendanceFeed);
}
