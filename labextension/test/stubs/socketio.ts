/** Stand-in for socket.io-client: records sockets; tests play the server. */
type Callback = (...args: any[]) => void;

export class FakeSocket {
  connected = false;
  disconnectCalls = 0;
  /** Every emitWithAck, in order. */
  emitted: { event: string; payload: any }[] = [];
  /** The server's ack for an event (tests replace it). */
  ack: (event: string, payload: any) => any = () => ({ ok: true });
  /** The hands events' ack, for tests that serve those apart (panel-models.test.ts). */
  handAck: (event: string, payload: any) => any = () => ({ ok: true, hands: [] });
  private _handlers = new Map<string, Callback[]>();

  constructor(
    readonly url: string,
    readonly opts: Record<string, any>
  ) {}

  on(event: string, cb: Callback): this {
    const list = this._handlers.get(event) ?? [];
    list.push(cb);
    this._handlers.set(event, list);
    return this;
  }

  off(event: string, cb: Callback): this {
    this._handlers.set(event, (this._handlers.get(event) ?? []).filter(h => h !== cb));
    return this;
  }

  private _any: Callback[] = [];
  /** Every emit without ack (board:cursor...), in order. */
  sent: { event: string; payload: any }[] = [];

  onAny(cb: Callback): this {
    this._any.push(cb);
    return this;
  }

  emit(event: string, payload: any): this {
    this.sent.push({ event, payload });
    return this;
  }

  removeAllListeners(): this {
    this._handlers.clear();
    return this;
  }

  connect(): this {
    return this;
  }

  disconnect(): this {
    this.disconnectCalls++;
    this.connected = false;
    return this;
  }

  timeout(_ms: number): { emitWithAck: (event: string, payload: any) => Promise<any> } {
    return { emitWithAck: (event, payload) => this.emitWithAck(event, payload) };
  }

  async emitWithAck(event: string, payload: any): Promise<any> {
    this.emitted.push({ event, payload: JSON.parse(JSON.stringify(payload)) });
    return this.ack(event, payload);
  }

  // --- the test's side -----------------------------------------------------

  serverConnect(): void {
    this.connected = true;
    this.fire('connect');
  }

  serverDisconnect(reason = 'transport close'): void {
    this.connected = false;
    this.fire('disconnect', reason);
  }

  fire(event: string, ...args: unknown[]): void {
    for (const cb of [...(this._handlers.get(event) ?? [])]) {
      cb(...args);
    }
    if (!['connect', 'disconnect', 'connect_error'].includes(event)) {
      for (const cb of [...this._any]) {
        cb(event, ...args);
      }
    }
  }

  signals(): { to: string; type: string }[] {
    return this.emitted
      .filter(e => e.event === 'rtc:signal')
      .map(e => ({ to: e.payload.to, type: e.payload.data.type }));
  }
}

export const sockets: FakeSocket[] = [];

export function io(url: string, opts: Record<string, any>): FakeSocket {
  const socket = new FakeSocket(url, opts);
  sockets.push(socket);
  return socket;
}
