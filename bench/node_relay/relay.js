// Baseline for bench/: a plain socket.io relay speaking the subset of the classroom protocol
// that the load generator uses (room:create, room:join, board:op) and doing only relay work:
// assign the room's next seq, keep the op in a plain array (so a late join has a board to
// send), emit it to the room's other sockets. No auth, no validation, no rules.
//
//   node relay.js --port 8000

"use strict";

const http = require("http");
const { Server } = require("socket.io");

const port = Number(process.argv[process.argv.indexOf("--port") + 1]);
const httpServer = http.createServer();
const io = new Server(httpServer, {
  path: "/classroom/socket.io",
  transports: ["websocket"],
  serveClient: false,
  maxHttpBufferSize: 256 * 1024,
});

const rooms = new Map(); // room_id -> {seq, ops}
let nextRoom = 0;

function joined(socket, id) {
  const room = rooms.get(id);
  socket.join(`room:${id}`);
  return {
    ok: true,
    room: { id, title: room.title },
    you: { id: socket.id },
    members: [],
    board: { seq: room.seq, ops: room.ops, complete: true },
    chat: [],
  };
}

io.on("connection", (socket) => {
  socket.on("room:create", (data, ack) => {
    const id = `r${++nextRoom}`;
    rooms.set(id, { title: String((data && data.title) || ""), seq: 0, ops: [] });
    ack(joined(socket, id));
  });
  socket.on("room:join", (data, ack) => {
    const id = data && data.room_id;
    if (!rooms.has(id)) return ack({ ok: false, error: { code: "not_found", message: "no room" } });
    ack(joined(socket, id));
  });
  socket.on("board:op", (data, ack) => {
    const room = data && rooms.get(data.room_id);
    if (!room) return ack({ ok: false, error: { code: "not_found", message: "no room" } });
    const boardOp = { seq: ++room.seq, author: socket.id, ts: new Date().toISOString(), op: data.op };
    room.ops.push(boardOp);
    socket.to(`room:${data.room_id}`).emit("board:op", { ...boardOp, room_id: data.room_id });
    ack({ ok: true, seq: boardOp.seq });
  });
});

httpServer.listen(port, "127.0.0.1", () => console.log(`node relay on ${port}`));
process.on("SIGTERM", () => process.exit(0));
