/**
 * `GET /api/students/notifications/sse`: a student's live stream.
 *
 * @module
 */

import { Hono } from "hono";
import { authenticate } from "../auth/request_token.ts";
import type { TokenVerifier } from "../auth/token_verifier.ts";
import { ForbiddenError } from "../errors.ts";
import type { RosterStore } from "../store/feed_store.ts";
import type { StudentStreams } from "../streams/student_streams.ts";

/** Response headers of every stream. */
export const SSE_HEADERS: Record<string, string> = {
  "Content-Type": "text/event-stream; charset=utf-8",
  "Cache-Control": "no-cache",
  "X-Accel-Buffering": "no",
};

/** Students whose class this instance has recorded, at most this many (then forgotten at once). */
const LEARNED_MAX = 100_000;

/** Mounts the stream route. The handler parses and authorizes; {@link StudentStreams} does the rest. */
export function studentStreamRoutes(
  deps: {
    verifyToken: TokenVerifier;
    streams: StudentStreams;
    store?: Pick<RosterStore, "learnMember">;
  },
): Hono {
  const app = new Hono();
  const learned = new Map<string, string>();
  app.get("/api/students/notifications/sse", async (c) => {
    const principal = await authenticate(c, deps.verifyToken);
    if (principal.role !== "student") {
      throw new ForbiddenError(
        "Cannot open stream: only student tokens have a notification stream",
      );
    }
    const resumeFrom = c.req.header("last-event-id") ?? c.req.query("lastEventId");
    const connection = await deps.streams.open({
      studentId: principal.sub,
      classId: principal.classId!,
      expiresAt: principal.expiresAt,
      // An absurd cursor is an unknown one: it gets a resync, not an error.
      lastEventId: resumeFrom === undefined ? undefined : resumeFrom.slice(0, 64).trim(),
    });
    // Deno settles `completed` when the response ends either way (sent in full, or the client went
    // away): one exit path. Other runtimes fall back to the body stream's own cancel().
    const info = c.env as Partial<Deno.ServeHandlerInfo> | undefined;
    const release = () => connection.abort("client_closed");
    info?.completed?.then(release, release);
    // Class membership is learned from student tokens too (rankings, class notifications); once
    // per student and class on this instance, not on every reconnect.
    if (deps.store && learned.get(principal.sub) !== principal.classId) {
      if (learned.size >= LEARNED_MAX) learned.clear();
      learned.set(principal.sub, principal.classId!);
      deps.store.learnMember(principal.classId!, principal.sub).catch((error) => {
        learned.delete(principal.sub);
        console.error("cannot record class membership:", (error as Error)?.message ?? error);
      });
    }
    return new Response(connection.body, { headers: SSE_HEADERS });
  });
  return app;
}
