/**
 * The Bus contract (server/bus/bus.ts), run unchanged against every implementation: MemoryBus and
 * RedisBus (real Redis, random key prefix per test).
 */

import assert from "node:assert/strict";
import { type Bus, classChannel, type Delivery, studentChannel } from "../../server/bus/bus.ts";
import { MemoryBus } from "../../server/bus/memory_bus.ts";
import { compareEventIds } from "../../server/event_id.ts";
import { feedEvent } from "../../server/events.ts";
import { createRedisDeps } from "../../server/redis/redis_deps.ts";
import { redisTest, type RedisTestContext, until } from "../redis/support.ts";

interface BusUnderTest {
  bus: Bus;
  close(): Promise<void>;
}

interface Implementation {
  name: string;
  make(maxEvents?: number): Promise<BusUnderTest>;
  test(
    name: string,
    fn: (make: (maxEvents?: number) => Promise<BusUnderTest>) => Promise<void>,
  ): void;
}

const memory: Implementation = {
  name: "MemoryBus",
  make: (maxEvents) => {
    const bus = new MemoryBus({ maxEvents });
    return Promise.resolve({ bus, close: () => bus.close() });
  },
  test(name, fn) {
    Deno.test(name, () => fn(memory.make));
  },
};

function redisMaker(ctx: RedisTestContext) {
  return async (maxEvents?: number): Promise<BusUnderTest> => {
    const deps = createRedisDeps({
      url: ctx.url,
      prefix: ctx.prefix,
      instanceId: `contract-${crypto.randomUUID().slice(0, 8)}`,
      historyMaxEvents: maxEvents,
      log: false,
    });
    await until(() => deps.bus.readiness().ready, 5000, "RedisBus ready");
    return { bus: deps.bus, close: deps.close };
  };
}

const redis: Implementation = {
  name: "RedisBus",
  make: () => Promise.reject(new Error("use test()")),
  test(name, fn) {
    redisTest(name, (ctx) => fn(redisMaker(ctx)));
  },
};

const note = (n: number, channel = studentChannel("s-1")) => ({
  channel,
  event: feedEvent("notification", {
    id: `n${n}`,
    title: `T${n}`,
    message: "m",
    severity: "info",
  }),
});

/** Collects deliveries of one channel. */
async function collect(bus: Bus, channel: string) {
  const got: Delivery[] = [];
  const stop = await bus.subscribe(channel, (d) => got.push(d));
  return { got, stop };
}

function titles(deliveries: Delivery[]): string[] {
  return deliveries.map((d) => JSON.parse(d.json).data.title);
}

for (const impl of [memory, redis]) {
  const { name } = impl;

  impl.test(`${name} publish() issues increasing ids and delivers in order`, async (make) => {
    const { bus, close } = await make();
    try {
      const live = await collect(bus, studentChannel("s-1"));
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) ids.push(...await bus.publish([note(i)]));
      for (let i = 1; i < ids.length; i++) assert.ok(compareEventIds(ids[i - 1], ids[i]) < 0);
      await until(() => live.got.length === 20, 3000, "20 deliveries");
      assert.deepEqual(live.got.map((d) => d.id), ids);
      assert.deepEqual(titles(live.got), ids.map((_, i) => `T${i}`));
      assert.equal(live.got[0].type, "notification");
      assert.equal(live.got[0].channel, studentChannel("s-1"));
      live.stop();
    } finally {
      await close();
    }
  });

  impl.test(`${name} publish() records a multi-event call atomically, in call order`, async (make) => {
    const { bus, close } = await make();
    try {
      const s = await collect(bus, studentChannel("s-1"));
      const c = await collect(bus, classChannel("c-1"));
      const ids = await bus.publish([note(1), note(2, classChannel("c-1")), note(3)]);
      assert.equal(ids.length, 3);
      assert.ok(compareEventIds(ids[0], ids[1]) < 0 && compareEventIds(ids[1], ids[2]) < 0);
      await until(() => s.got.length === 2 && c.got.length === 1, 3000, "deliveries");
      assert.deepEqual(titles(s.got), ["T1", "T3"]);
      assert.deepEqual(c.got.map((d) => d.id), [ids[1]]);
      const slice = await bus.history([studentChannel("s-1"), classChannel("c-1")], "0");
      assert.deepEqual(slice.events.map((d) => d.id), ids);
      assert.equal(slice.headId, ids[2]);
      s.stop();
      c.stop();
    } finally {
      await close();
    }
  });

  impl.test(`${name} subscribe() delivers every event published after it resolves`, async (make) => {
    const { bus, close } = await make();
    try {
      const first = await collect(bus, classChannel("c-9"));
      const second = await collect(bus, classChannel("c-9"));
      const [id] = await bus.publish([note(1, classChannel("c-9"))]);
      await until(() => first.got.length === 1 && second.got.length === 1, 3000, "delivery");
      assert.equal(first.got[0].id, id);
      // After one listener leaves, the other still receives; the one that left does not.
      first.stop();
      await bus.publish([note(2, classChannel("c-9"))]);
      await until(() => second.got.length === 2, 3000, "second delivery");
      second.stop();
      // Ordering on one connection: once a later event elsewhere arrives, an earlier one on the
      // unsubscribed channel would have arrived too.
      const other = await collect(bus, classChannel("c-10"));
      await bus.publish([note(3, classChannel("c-9")), note(4, classChannel("c-10"))]);
      await until(() => other.got.length === 1, 3000, "marker delivery");
      assert.equal(first.got.length, 1);
      assert.equal(second.got.length, 2);
      other.stop();
    } finally {
      await close();
    }
  });

  impl.test(`${name} history() merges two channels after a cursor, in id order`, async (make) => {
    const { bus, close } = await make();
    try {
      const channels = [studentChannel("s-1"), classChannel("c-1")];
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) {
        ids.push(...await bus.publish([note(i, channels[i % 2])]));
      }
      await bus.publish([note(99, studentChannel("s-2")), note(98, classChannel("c-2"))]);
      const slice = await bus.history(channels, ids[3]);
      assert.equal(slice.complete, true);
      assert.deepEqual(slice.events.map((d) => d.id), ids.slice(4));
      assert.deepEqual(titles(slice.events), ["T4", "T5", "T6", "T7", "T8", "T9"]);
      assert.deepEqual(
        slice.events.map((d) => d.channel),
        [0, 1, 0, 1, 0, 1].map((i) => channels[i]),
      );
      const atHead = await bus.history(channels, ids[9]);
      assert.deepEqual(atHead, { events: [], complete: true, headId: atHead.headId });
      assert.ok(compareEventIds(atHead.headId, ids[9]) > 0, "head counts other channels too");
    } finally {
      await close();
    }
  });

  impl.test(`${name} history("0") returns the whole retained history, complete`, async (make) => {
    const { bus, close } = await make(5);
    try {
      const empty = await bus.history([studentChannel("s-1")], "0");
      assert.deepEqual(empty, { events: [], complete: true, headId: "0" });
      const ids = await bus.publish(Array.from({ length: 3 }, (_, i) => note(i)));
      const slice = await bus.history([studentChannel("s-1"), classChannel("c-1")], "0");
      assert.equal(slice.complete, true);
      assert.deepEqual(slice.events.map((d) => d.id), ids);
    } finally {
      await close();
    }
  });

  impl.test(`${name} history() after a trimmed cursor is incomplete`, async (make) => {
    // Redis trims whole stream nodes (MAXLEN ~, 100 entries per node): publish well beyond them.
    const { bus, close } = await make(5);
    try {
      const ids = await bus.publish(Array.from({ length: 300 }, (_, i) => note(i)));
      const trimmed = await bus.history([studentChannel("s-1"), classChannel("c-1")], ids[0]);
      assert.equal(trimmed.complete, false);
      assert.equal(trimmed.headId, ids[299]);
      const all = await bus.history([studentChannel("s-1")], "0");
      assert.equal(all.complete, true, `"0" never asks for a resync`);
      assert.ok(all.events.length >= 5 && all.events.length < 300);
      assert.deepEqual(all.events.at(-1)?.id, ids[299]);
      const recent = await bus.history([studentChannel("s-1")], ids[297]);
      assert.equal(recent.complete, true);
      assert.deepEqual(recent.events.map((d) => d.id), ids.slice(298));
    } finally {
      await close();
    }
  });

  impl.test(`${name} history() with an unknown or malformed cursor is incomplete`, async (make) => {
    const { bus, close } = await make();
    try {
      const [id] = await bus.publish([note(1)]);
      const channels = [studentChannel("s-1")];
      const ahead = await bus.history(channels, "99999999999999-0");
      assert.deepEqual(ahead, { events: [], complete: false, headId: id });
      const malformed = await bus.history(channels, "not-an-id");
      assert.deepEqual(malformed, { events: [], complete: false, headId: id });
      assert.deepEqual(bus.readiness(), { ready: true });
    } finally {
      await close();
    }
  });
}
