// The load generator of bench/: socket.io-client members speaking the classroom protocol.
// One generator for every server under test, so the figures differ only by the server.
//
//   node loadgen.js '<json config>'
//
// It connects and sets up, prints "READY", waits for "GO" on stdin (so the orchestrator can
// start several generators and its CPU meters together), runs, and prints "RESULT <json>".
//
// Modes:
//   fanout  rooms x members; `drawers` of each room draw at `rate` pointer events/s as
//           board:op ops of live strokes (a `stroke` op, then `extend` ops of one point each).
//           The send time travels in the op id ("e.<...>.<ms since epoch>"), so each receiver
//           computes latency; seqs acked to senders tell receivers what they should have got.
//   latejoin  one member fills a board with `ops` stroke ops, then `joins` fresh sockets join:
//           time from room:join to its ack, and the ack frame's bytes.
//   idle    `sockets` connections, connected and nothing else (for the server's RSS).

"use strict";

const { io } = require("socket.io-client");
const { performance } = require("perf_hooks");
const readline = require("readline");

const cfg = JSON.parse(process.argv[2]);
const now = () => performance.timeOrigin + performance.now(); // ms, comparable across processes
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let clientCounter = 0;
function connect(name) {
  return new Promise((resolve, reject) => {
    const socket = io(cfg.url, {
      path: "/classroom/socket.io",
      transports: ["websocket"],
      extraHeaders: cfg.headers || {},
      // batch: ask our server for `board:ops` lists (a proposed protocol extension)
      auth: { name, client_id: `${cfg.tag || "g"}-${name}-${++clientCounter}`, batch: !!cfg.serverBatch },
      reconnection: false,
      forceNew: true,
      timeout: 30000,
      // permessage-deflate is offered only when asked: browsers and aiohttp offer it, and
      // tornado (so python-engineio, so ours) accepts it, which costs zlib work per socket
      perMessageDeflate: cfg.deflate ? { threshold: 0 } : false,
    });
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (err) => reject(new Error(`${name}: ${err.message}`)));
  });
}

async function request(socket, event, payload, timeout = 30000) {
  const ack = await socket.timeout(timeout).emitWithAck(event, payload);
  if (!ack || !ack.ok) throw new Error(`${event}: ${JSON.stringify(ack && ack.error)}`);
  return ack;
}

async function pool(items, width, fn) {
  const out = new Array(items.length);
  let next = 0;
  async function worker() {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return out;
}

function waitGo() {
  return new Promise((resolve) => {
    const rl = readline.createInterface({ input: process.stdin });
    rl.on("line", (line) => {
      if (line.trim() === "GO") {
        rl.close();
        resolve();
      }
    });
  });
}

// Latency histogram: 0.05 ms buckets up to 20 s, then an overflow bucket.
class Histogram {
  constructor() {
    this.step = 0.05;
    this.counts = new Float64Array(400000 + 1);
    this.n = 0;
    this.max = 0;
    this.sum = 0;
  }
  add(ms) {
    const i = Math.min(this.counts.length - 1, Math.max(0, Math.floor(ms / this.step)));
    this.counts[i]++;
    this.n++;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
  }
  pct(p) {
    if (!this.n) return null;
    const target = this.n * p;
    let acc = 0;
    for (let i = 0; i < this.counts.length; i++) {
      acc += this.counts[i];
      if (acc >= target) return (i + 0.5) * this.step;
    }
    return this.max;
  }
}

async function fanout() {
  // batch: pointer events per op (1: one op per event; 2: 30 Hz ops of 2 points, as the
  // whiteboard widget batches); the stroke length is in ops
  const { rooms: roomCount, members, drawers, rate, duration, batch = 1 } = cfg;
  const strokeLength = Math.max(1, Math.round(120 / batch));
  const rooms = [];
  // set up: a host per room creates it (the host is drawer 0), the others join
  await pool([...Array(roomCount).keys()], 10, async (r) => {
    const host = await connect(`r${r}m0`);
    const ack = await request(host, "room:create", { title: `bench ${r}`, listed: false });
    rooms[r] = { id: ack.room.id, sockets: [host], you: [ack.you.id], acked: [] };
  });
  const joins = [];
  for (let r = 0; r < roomCount; r++) for (let m = 1; m < members; m++) joins.push([r, m]);
  await pool(joins, 50, async ([r, m]) => {
    const socket = await connect(`r${r}m${m}`);
    const ack = await request(socket, "room:join", { room_id: rooms[r].id });
    rooms[r].sockets[m] = socket;
    rooms[r].you[m] = ack.you.id;
  });

  const hist = new Histogram();
  let window = { start: Infinity, end: Infinity };
  // throughput is counted in the steady state: not while the pipeline fills at the start
  // (a server with 400 ms of latency would otherwise lose 400 ms of its count to it)
  let steady = { start: Infinity, end: Infinity };
  let pointsInWindow = 0;
  let received = 0;
  let disconnects = 0;
  let duplicates = 0;
  let reordered = 0;
  for (const room of rooms) {
    // a bitmap of the seqs each member received (one byte per seq, grown on demand)
    room.got = room.sockets.map(() => new Uint8Array(1024));
    room.last = room.sockets.map(() => 0);
    room.sockets.forEach((socket, m) => {
      socket.on("disconnect", () => disconnects++);
      const onOp = (data, t) => {
        const id = data.op.id;
        const sent = Number(id.slice(id.lastIndexOf(":") + 1));
        hist.add(t - sent);
        received++;
        let got = room.got[m];
        if (data.seq >= got.length) {
          const bigger = new Uint8Array(Math.max(got.length * 2, data.seq + 1));
          bigger.set(got);
          room.got[m] = got = bigger;
        }
        if (got[data.seq]) duplicates++;
        got[data.seq] = 1;
        if (data.seq < room.last[m]) reordered++;
        room.last[m] = data.seq;
        if (t >= steady.start && t <= steady.end) pointsInWindow += data.op.points.length;
      };
      socket.on("board:op", (data) => onOp(data, now()));
      // the proposed `board:ops` extension: a room's ops of the last tick, own ones included
      socket.on("board:ops", (data) => {
        const t = now();
        for (const op of data.ops) if (op.author !== room.you[m]) onOp(op, t);
      });
    });
  }
  console.log("READY");
  await waitGo();

  let sentOps = 0;
  let sentPoints = 0;
  let errors = 0;
  const errorCodes = {};
  const pending = new Set();
  const start = now();
  window = { start, end: start + duration * 1000 };
  const warmup = Math.min(5, duration / 4);
  steady = { start: start + warmup * 1000, end: window.end };
  const period = (1000 * batch) / rate;
  const loops = [];
  for (const [r, room] of rooms.entries()) {
    for (let d = 0; d < drawers; d++) {
      const socket = room.sockets[d];
      room.acked[d] = [];
      loops.push(
        (async () => {
          let n = 0;
          let stroke = null;
          const offset = (period * (r * drawers + d)) / (roomCount * drawers); // spread sends
          while (true) {
            const due = start + offset + n * period;
            if (due >= window.end) break;
            const wait = due - now();
            if (wait > 1) await sleep(wait);
            const points = [];
            for (let k = 0; k < batch; k++) points.push([(n * 7 + k) % 1600, (n * 13 + k) % 900]);
            const tag = `${r}.${d}.${n}:${now().toFixed(3)}`;
            let op;
            if (n % strokeLength === 0) {
              stroke = `s.${tag}`;
              op = { type: "stroke", id: stroke, points, color: "#336699", width: 3 };
            } else {
              op = { type: "extend", id: `e.${tag}`, target: stroke, points };
            }
            n++;
            sentOps++;
            sentPoints += batch;
            const p = socket
              .timeout(20000)
              .emitWithAck("board:op", { room_id: room.id, op })
              .then(
                (ack) => {
                  if (ack && ack.ok) room.acked[d].push(ack.seq);
                  else {
                    errors++;
                    const code = (ack && ack.error && ack.error.code) || "?";
                    errorCodes[code] = (errorCodes[code] || 0) + 1;
                  }
                },
                () => {
                  errors++;
                  errorCodes.timeout = (errorCodes.timeout || 0) + 1;
                },
              )
              .finally(() => pending.delete(p));
            pending.add(p);
          }
        })(),
      );
    }
  }
  await Promise.all(loops);
  const sendEnd = now();
  await Promise.all([...pending]);
  // drain: wait until every receiver has every acked op of the others, or 10 s
  const missing = () => {
    let lost = 0;
    for (const room of rooms) {
      room.sockets.forEach((_, m) => {
        room.acked.forEach((seqs, d) => {
          if (d === m) return;
          const got = room.got[m];
          for (const s of seqs) if (!(s < got.length && got[s])) lost++;
        });
      });
    }
    return lost;
  };
  const drainUntil = now() + 10000;
  let lost = missing();
  while (lost > 0 && now() < drainUntil) {
    await sleep(200);
    lost = missing();
  }
  const expected = rooms.reduce(
    (acc, room) => acc + room.acked.reduce((a, seqs) => a + seqs.length, 0) * (members - 1),
    0,
  );
  // receivers' seqs must be increasing per room with no gap beyond the sender's own ops
  const result = {
    mode: "fanout",
    rooms: roomCount,
    members,
    drawers,
    rate,
    batch,
    duration,
    sent_ops: sentOps,
    sent_points: sentPoints,
    errors,
    error_codes: errorCodes,
    expected_deliveries: expected,
    received_deliveries: received,
    lost,
    duplicates,
    reordered,
    disconnects,
    offered_points_per_s: (sentPoints * (members - 1)) / duration,
    delivered_points_per_s: pointsInWindow / (duration - warmup),
    warmup_s: warmup,
    send_lag_ms: sendEnd - window.end,
    latency_ms: {
      p50: hist.pct(0.5),
      p90: hist.pct(0.9),
      p99: hist.pct(0.99),
      p999: hist.pct(0.999),
      max: hist.max,
      mean: hist.n ? hist.sum / hist.n : null,
      n: hist.n,
    },
    // sparse histogram [bucket, count] (0.05 ms buckets) so several generators can be merged
    hist: Array.from(hist.counts.entries()).filter(([, c]) => c > 0),
  };
  for (const room of rooms) for (const s of room.sockets) s.close();
  return result;
}

async function latejoin() {
  const { ops: opCount, joins, pointsPerStroke = 16, window: inflight = 200 } = cfg;
  const host = await connect("filler");
  const room = (await request(host, "room:create", { title: "late join", listed: false })).room;
  const t0 = now();
  await pool([...Array(opCount).keys()], inflight, async (i) => {
    const points = [];
    for (let k = 0; k < pointsPerStroke; k++) points.push([(i * 3 + k * 11) % 1600, (i + k * 7) % 900]);
    await request(host, "board:op", {
      room_id: room.id,
      op: { type: "stroke", id: `s${i}`, points, color: "#336699", width: 3 },
    });
  });
  const fillSeconds = (now() - t0) / 1000;
  const joiners = [];
  for (let j = 0; j < joins; j++) joiners.push(await connect(`late${j}`));
  console.log("READY");
  await waitGo();
  const times = [];
  const bytes = [];
  let boardOps = 0;
  for (const socket of joiners) {
    let largest = 0;
    const onPacket = (packet) => {
      if (typeof packet.data === "string") largest = Math.max(largest, Buffer.byteLength(packet.data));
    };
    socket.io.engine.on("packet", onPacket);
    const t = now();
    const ack = await request(socket, "room:join", { room_id: room.id }, 60000);
    times.push(now() - t);
    socket.io.engine.off("packet", onPacket);
    bytes.push(largest);
    boardOps = ack.board.ops.length;
    await sleep(200);
  }
  for (const s of [host, ...joiners]) s.close();
  const sorted = [...times].sort((a, b) => a - b);
  return {
    mode: "latejoin",
    ops: opCount,
    board_ops: boardOps,
    fill_seconds: fillSeconds,
    join_ms: times,
    join_ms_median: sorted[Math.floor(sorted.length / 2)],
    join_ms_max: sorted[sorted.length - 1],
    ack_bytes: bytes[0],
  };
}

async function idle() {
  const { sockets: count } = cfg;
  const t0 = now();
  let failed = 0;
  const sockets = await pool([...Array(count).keys()], 50, (i) =>
    connect(`idle${i}`).catch(() => {
      failed++;
      return null;
    }),
  );
  const connectSeconds = (now() - t0) / 1000;
  console.log("READY");
  await waitGo();
  const alive = sockets.filter((s) => s && s.connected).length;
  for (const s of sockets) if (s) s.close();
  return { mode: "idle", sockets: count, connected: alive, failed, connect_seconds: connectSeconds };
}

const modes = { fanout, latejoin, idle };
modes[cfg.mode]()
  .then((result) => {
    // exit once the (large) line is flushed: a pipe write in Node is asynchronous
    process.stdout.write(`RESULT ${JSON.stringify(result)}\n`, () => process.exit(0));
  })
  .catch((err) => {
    console.log(`ERROR ${err && err.stack ? err.stack : err}`);
    process.exit(1);
  });
