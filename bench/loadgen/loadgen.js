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
//           `topology: "page+kernel"` (our server only) makes each member two sockets, as a
//           notebook with our extension does: a kernel socket (the Python client: client_id,
//           room:create or room:join) and a page socket (no client_id) attached to the same
//           member with the kernel's `room:ticket` (`room:attach {ticket, board: true}`). The
//           page draws and measures as a one-socket member does; the kernel socket takes the
//           board live (`kernelLive: true`: its receipts are checked for loss too, with latency
//           of their own) or sends `board:follow {live: false}` once the page is attached and
//           fetches the board with `board:sync` after the run (one kernel per room).
//           `roomUrls` (several server processes sharing Redis, as behind a balancer): one
//           list of server URLs per room; member m of room r connects to
//           roomUrls[r][m % length] (its page too), else every socket to `url`.
//           After the load stops it keeps listening until every receiver has every acked op
//           of the others, or no delivery came for `drainQuietS` (5 s), or `drainMaxS` (60 s)
//           after the last send: deliveries that came more than `lateAfterS` (10 s) after the
//           last send are `late`, the ones that never came `lost`. The `board:delayed`
//           notices (our server, docs/protocol.md "Under overload") are counted: how many,
//           which drawers got one, the largest delay_ms, and the rooms whose ink reached
//           members over `lateRoomMs` (1 s) after it was drawn, whose drawers should be told.
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
// page: a JupyterLab page's socket, which sends no client_id (each page socket is a client
// of its own) and becomes a member by `room:attach` with its kernel's ticket
function connect(name, { page = false, url = cfg.url } = {}) {
  // batch: ask our server for `board:ops` lists (a protocol extension)
  const auth = { name, batch: !!cfg.serverBatch };
  if (!page) auth.client_id = `${cfg.tag || "g"}-${name}-${++clientCounter}`;
  return new Promise((resolve, reject) => {
    const socket = io(url, {
      path: "/classroom/socket.io",
      transports: ["websocket"],
      extraHeaders: cfg.headers || {},
      auth,
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

// A `board:ops` list with each merged extend (`merged`: the earlier extends of its stroke
// the server put into it) back as one extend per seq, in seq order (docs/protocol.md)
function expandMerged(ops) {
  if (!ops.some((op) => op.merged)) return ops;
  const out = [];
  for (const boardOp of ops) {
    if (!boardOp.merged) {
      out.push(boardOp);
      continue;
    }
    const points = boardOp.op.points;
    let start = 0;
    for (const part of boardOp.merged) {
      const piece = { ...boardOp.op, id: part.id, points: points.slice(start, start + part.points) };
      out.push({ ...boardOp, seq: part.seq, op: piece });
      start += part.points;
    }
    out.push({ ...boardOp, op: { ...boardOp.op, points: points.slice(start) } });
  }
  return out.sort((a, b) => a.seq - b.seq);
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

// Latency histogram: 0.05 ms buckets up to 120 s (the drain listens up to 60 s after the last
// send, whose ops may have waited 20 s for their ack), then an overflow bucket.
class Histogram {
  constructor() {
    this.step = 0.05;
    this.counts = new Float64Array(2400000 + 1);
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
  const drainQuietMs = 1000 * (cfg.drainQuietS ?? 5);
  const drainMaxMs = 1000 * (cfg.drainMaxS ?? 60);
  const lateAfterMs = 1000 * (cfg.lateAfterS ?? 10);
  const lateRoomMs = cfg.lateRoomMs ?? 1000;
  const paired = cfg.topology === "page+kernel";
  const kernelLive = cfg.kernelLive !== false;
  const strokeLength = Math.max(1, Math.round(120 / batch));
  const urlOf = (r, m) => {
    const urls = cfg.roomUrls && cfg.roomUrls[r];
    return urls && urls.length ? urls[m % urls.length] : cfg.url;
  };
  const rooms = [];
  // page+kernel: the kernel socket (already a member) gets a ticket, the page socket attaches
  // with it as the same member; an on-demand kernel then stops taking the board live
  async function attachPage(r, m, kernel, roomId, you) {
    if (!paired) return kernel;
    const { ticket } = await request(kernel, "room:ticket", { room_id: roomId });
    const page = await connect(`r${r}m${m}`, { page: true, url: urlOf(r, m) });
    const ack = await request(page, "room:attach", { ticket, board: true });
    if (ack.you.id !== you) throw new Error(`r${r}m${m}: the page attached as ${ack.you.id}, not ${you}`);
    if (!kernelLive) await request(kernel, "board:follow", { room_id: roomId, live: false });
    return page;
  }
  // set up: a host per room creates it (the host is drawer 0), the others join
  await pool([...Array(roomCount).keys()], 10, async (r) => {
    const host = await connect(`r${r}m0`, { url: urlOf(r, 0) });
    const ack = await request(host, "room:create", { title: `bench ${r}`, listed: false });
    rooms[r] = {
      index: r,
      id: ack.room.id,
      sockets: [],
      kernels: [],
      you: [ack.you.id],
      acked: [],
      maxLatency: 0, // the latest a member got this room's ink (ms after it was drawn)
    };
    rooms[r].sockets[0] = await attachPage(r, 0, host, ack.room.id, ack.you.id);
    if (paired) rooms[r].kernels[0] = host;
  });
  const joins = [];
  for (let r = 0; r < roomCount; r++) for (let m = 1; m < members; m++) joins.push([r, m]);
  await pool(joins, 50, async ([r, m]) => {
    const socket = await connect(`r${r}m${m}`, { url: urlOf(r, m) });
    const ack = await request(socket, "room:join", { room_id: rooms[r].id });
    rooms[r].you[m] = ack.you.id;
    rooms[r].sockets[m] = await attachPage(r, m, socket, rooms[r].id, ack.you.id);
    if (paired) rooms[r].kernels[m] = socket;
  });

  let window = { start: Infinity, end: Infinity };
  // throughput is counted in the steady state: not while the pipeline fills at the start
  // (a server with 400 ms of latency would otherwise lose 400 ms of its count to it)
  let steady = { start: Infinity, end: Infinity };
  // what the members' drawing sockets (pages in page+kernel) and the live kernel sockets got
  const stats = () => ({ hist: new Histogram(), received: 0, pointsInWindow: 0 });
  const member = stats();
  const kernel = stats();
  let kernelUnfollowed = 0; // ops that reached an on-demand kernel socket (should be none)
  let disconnects = 0;
  let duplicates = 0;
  let reordered = 0;
  // the drain: when the last op was sent (so what came later than lateAfterMs is late), and
  // when the last tracked delivery came (so the drain stops once they stop coming)
  let sendEnd = Infinity;
  let lastDelivery = 0;
  // board:delayed (our server): notices with delay_ms > 0, the all-clear ones (delay_ms: 0),
  // notices to members who did not draw (there should be none), the drawers told ("r.m")
  const delayed = { notices: 0, clears: 0, nonDrawer: 0, maxMs: 0, told: new Set() };
  for (const room of rooms) {
    // every socket that takes the board: tracked ones must get every op of the others
    room.receivers = room.sockets.map((socket, m) => ({ socket, m, kernel: false, tracked: true }));
    room.kernels.forEach((socket, m) =>
      room.receivers.push({ socket, m, kernel: true, tracked: kernelLive }),
    );
    // a bitmap of the seqs each receiver got (one byte per seq, grown on demand)
    room.got = room.receivers.map(() => new Uint8Array(1024));
    room.last = room.receivers.map(() => 0);
    room.receivers.forEach((receiver, i) => {
      const { socket, m } = receiver;
      const counts = receiver.kernel ? kernel : member;
      socket.on("disconnect", () => disconnects++);
      // a member's notices reach each of its sockets: count them at the drawing one
      if (!receiver.kernel) {
        socket.on("board:delayed", (data) => {
          if (!(data && data.delay_ms > 0)) {
            delayed.clears++;
            return;
          }
          delayed.notices++;
          delayed.maxMs = Math.max(delayed.maxMs, data.delay_ms);
          if (m < drawers) delayed.told.add(`${room.index}.${m}`);
          else delayed.nonDrawer++;
        });
      }
      const onOp = (data, t) => {
        if (!receiver.tracked) {
          kernelUnfollowed++;
          return;
        }
        const id = data.op.id;
        const sent = Number(id.slice(id.lastIndexOf(":") + 1));
        counts.hist.add(t - sent);
        counts.received++;
        lastDelivery = t;
        if (!receiver.kernel && t - sent > room.maxLatency) room.maxLatency = t - sent;
        let got = room.got[i];
        if (data.seq >= got.length) {
          const bigger = new Uint8Array(Math.max(got.length * 2, data.seq + 1));
          bigger.set(got);
          room.got[i] = got = bigger;
        }
        if (got[data.seq]) duplicates++;
        // 1: came in time; 2: came more than lateAfterMs after the last send (late)
        else got[data.seq] = t > sendEnd + lateAfterMs ? 2 : 1;
        if (data.seq < room.last[i]) reordered++;
        room.last[i] = data.seq;
        if (t >= steady.start && t <= steady.end) counts.pointsInWindow += data.op.points.length;
      };
      socket.on("board:op", (data) => onOp(data, now()));
      // the `board:ops` extension: a room's ops of the last tick, own ones included
      socket.on("board:ops", (data) => {
        const t = now();
        for (const op of expandMerged(data.ops)) if (op.author !== room.you[m]) onOp(op, t);
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
  // send → ack at the drawer: the time the server took to accept an op, its inbound queue
  // (backpressure) included, which a receiver's latency includes too
  const ackHist = new Histogram();
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
            const sentAt = now();
            const p = socket
              .timeout(20000)
              .emitWithAck("board:op", { room_id: room.id, op })
              .then(
                (ack) => {
                  ackHist.add(now() - sentAt);
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
  sendEnd = now();
  await Promise.all([...pending]);
  const acksSettled = now();
  // acked ops of the others a receiver never got (lost) or got over lateAfterMs after the
  // last send (late); value: 2 = late, undefined or 0 = not (yet) received
  const missing = (kernels, late = false) => {
    let count = 0;
    for (const room of rooms) {
      room.receivers.forEach(({ m, kernel: isKernel, tracked }, i) => {
        if (!tracked || isKernel !== kernels) return;
        room.acked.forEach((seqs, d) => {
          if (d === m) return;
          const got = room.got[i];
          if (late) for (const s of seqs) count += s < got.length && got[s] === 2 ? 1 : 0;
          else for (const s of seqs) if (!(s < got.length && got[s])) count++;
        });
      });
    }
    return count;
  };
  // drain: listen until every receiver has every acked op of the others ("complete"), or no
  // delivery came for drainQuietMs ("quiet": whatever is missing then is lost), or
  // drainMaxMs after the last send ("bound")
  let lost = missing(false) + missing(true);
  let drainEnd = "complete";
  while (lost > 0) {
    const t = now();
    if (t - sendEnd >= drainMaxMs) {
      drainEnd = "bound";
      break;
    }
    if (t - Math.max(lastDelivery, acksSettled) >= drainQuietMs) {
      drainEnd = "quiet";
      break;
    }
    await sleep(200);
    lost = missing(false) + missing(true);
  }
  const lostKernel = missing(true);
  const lateKernel = missing(true, true);
  const late = missing(false, true) + lateKernel;
  // rooms whose ink reached a member over lateRoomMs after it was drawn: their drawers
  // should have heard board:delayed (the server tells the authors of ink it sends > 500 ms
  // after accepting it)
  const lateRooms = rooms.filter((room) => room.maxLatency > lateRoomMs);
  let lateRoomDrawersTold = 0;
  for (const room of lateRooms) {
    for (let d = 0; d < drawers; d++) if (delayed.told.has(`${room.index}.${d}`)) lateRoomDrawersTold++;
  }
  const trackedPerMember = paired && kernelLive ? 2 : 1;
  const expected = rooms.reduce(
    (acc, room) =>
      acc + room.acked.reduce((a, seqs) => a + seqs.length, 0) * (members - 1) * trackedPerMember,
    0,
  );
  // an on-demand kernel fetches the board when Python asks: one kernel per room (a member
  // that did not draw) asks for the whole board, which must hold every acked op
  const syncMs = [];
  let syncBehind = 0;
  if (paired && !kernelLive) {
    for (const room of rooms) {
      const socket = room.kernels[members - 1];
      const t = now();
      const ack = await request(socket, "board:sync", { room_id: room.id }, 60000);
      syncMs.push(now() - t);
      const last = room.acked.reduce((a, seqs) => seqs.reduce((b, q) => Math.max(b, q), a), 0);
      if (ack.board.seq < last) syncBehind++;
    }
  }
  const latency = (h) => ({
    p50: h.pct(0.5),
    p90: h.pct(0.9),
    p99: h.pct(0.99),
    p999: h.pct(0.999),
    max: h.max,
    mean: h.n ? h.sum / h.n : null,
    n: h.n,
  });
  // sparse histogram [bucket, count] (0.05 ms buckets) so several generators can be merged
  const sparse = (h) => Array.from(h.counts.entries()).filter(([, c]) => c > 0);
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
    topology: paired ? "page+kernel" : "member",
    kernel_live: paired ? kernelLive : null,
    sockets_per_member: paired ? 2 : 1,
    // every tracked receiver: the members' sockets and, kernelLive, their kernel sockets
    expected_deliveries: expected,
    received_deliveries: member.received + kernel.received,
    // acked deliveries never received (by the end of the drain), and those received more
    // than late_after_s after the last send (lost + late: what the 10 s drain called lost)
    lost,
    lost_kernel: lostKernel,
    late,
    late_kernel: lateKernel,
    late_after_s: lateAfterMs / 1000,
    // the drain: how it ended, and when the last delivery came after the last send
    drain_end: drainEnd,
    drain_s: Math.max(0, lastDelivery - sendEnd) / 1000,
    drain_quiet_s: drainQuietMs / 1000,
    drain_max_s: drainMaxMs / 1000,
    // board:delayed at the drawing sockets
    delayed_notices: delayed.notices,
    delayed_clears: delayed.clears,
    delayed_nondrawer_notices: delayed.nonDrawer,
    delayed_drawers_told: delayed.told.size,
    delayed_max_ms: delayed.notices ? delayed.maxMs : null,
    drawers_total: roomCount * drawers,
    late_rooms: lateRooms.length,
    late_room_ms: lateRoomMs,
    late_room_drawers: lateRooms.length * drawers,
    late_room_drawers_told: lateRoomDrawersTold,
    duplicates,
    reordered,
    disconnects,
    // what the members' drawing sockets (pages) got, as in the one-socket topology
    offered_points_per_s: (sentPoints * (members - 1)) / duration,
    delivered_points_per_s: member.pointsInWindow / (duration - warmup),
    warmup_s: warmup,
    send_lag_ms: sendEnd - window.end,
    latency_ms: latency(member.hist),
    hist: sparse(member.hist),
    ack_latency_ms: latency(ackHist),
    ack_hist: sparse(ackHist),
    // live kernel sockets (page+kernel, kernelLive)
    kernel_received_deliveries: kernel.received,
    kernel_delivered_points_per_s: kernel.pointsInWindow / (duration - warmup),
    kernel_latency_ms: latency(kernel.hist),
    kernel_hist: sparse(kernel.hist),
    // on-demand kernel sockets (page+kernel, not kernelLive)
    kernel_unfollowed_ops: kernelUnfollowed,
    kernel_sync_ms: syncMs,
    kernel_sync_behind: syncBehind,
  };
  for (const room of rooms) for (const { socket } of room.receivers) socket.close();
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
