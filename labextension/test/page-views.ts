/**
 * Harness for the views on the page session (chat, participants): renders a view whose
 * kernel answers ticket requests, on the page's one FakeSocket, with the test playing the
 * room server. Import './setup-dom' before this module.
 */
import { DOMWidgetModel } from './stubs/widgets-base';
import { FakeSocket, sockets } from './stubs/socketio';
import { waitFor } from './fake-rtc';

export const ADA = { id: 'm-ada', name: 'Ada', color: '#e6194b', role: 'host' as const };
export const BOB = { id: 'm-bob', name: 'Bob', color: '#3cb44b', role: 'member' as const };
export const CY = { id: 'm-cy', name: 'Cy', color: '#4363d8', role: 'member' as const };
export type TestMember = typeof ADA | typeof BOB | typeof CY;

export function room(host: TestMember = ADA, boardLocked = false): Record<string, unknown> {
  return {
    id: 'r1',
    title: 'Room',
    host: { id: host.id, name: host.name },
    members: 3,
    locked: false,
    board_locked: boardLocked,
    created_at: '2026-01-01T00:00:00Z',
    max_members: 30
  };
}

export function message(
  id: string,
  from: TestMember,
  text: string,
  to: string | null = null,
  ts = '2026-01-01T10:42:00+00:00'
): Record<string, unknown> {
  return { id, room_id: 'r1', from: { id: from.id, name: from.name }, to, text, ts };
}

export interface Rendered<V> {
  view: V;
  el: HTMLElement;
  model: DOMWidgetModel;
  socket: FakeSocket;
  /** Requests the view sent (event and payload), not counting attach and tickets. */
  requests(): { event: string; payload: any }[];
}

/**
 * Renders `View` as `you` in room r1 with `members`; the server acks attach with `chat` as
 * backlog, answers `reply(event, payload)` for other requests (default `{ok: true}`).
 */
export async function render<V extends { el: HTMLElement }>(
  Model: unknown,
  View: unknown,
  options: {
    you?: TestMember;
    members?: TestMember[];
    chat?: unknown[];
    host?: TestMember;
    boardLocked?: boolean;
    reply?: (event: string, payload: any) => unknown;
  } = {}
): Promise<Rendered<V>> {
  const you = options.you ?? ADA;
  const model = new (Model as typeof DOMWidgetModel)({
    room_id: 'r1',
    member_id: you.id,
    socket_path: '/classroom/socket.io'
  });
  let tickets = 0;
  const push = model.sent.push.bind(model.sent);
  model.sent.push = (...items: unknown[]) => {
    const n = push(...items);
    for (const item of items as { type: string; request_id?: string }[]) {
      if (item.type === 'ticket_request') {
        setTimeout(
          () => model.trigger('msg:custom', { type: 'ticket', ticket: `kernel-${++tickets}`, request_id: item.request_id }),
          1
        );
      }
    }
    return n;
  };
  const view = new (View as new (o: { model: DOMWidgetModel }) => V)({ model });
  document.body.append(view.el);
  (view as unknown as { render(): void }).render();
  const socket = sockets[sockets.length - 1];
  let spares = 0;
  socket.ack = (event, payload) => {
    if (event === 'room:attach') {
      return {
        ok: true,
        room: room(options.host ?? ADA, options.boardLocked),
        you,
        members: options.members ?? [ADA, BOB, CY],
        rtc: { ice_servers: [], max_publishers: 6 },
        board: { seq: 0, ops: [], complete: true },
        chat: options.chat ?? []
      };
    }
    if (event === 'room:ticket') {
      return { ok: true, ticket: `spare-${++spares}`, ttl: 60 };
    }
    return options.reply ? options.reply(event, payload) : { ok: true };
  };
  socket.serverConnect();
  await waitFor(() => view.el.dataset.state === 'attached', 'the view is attached');
  return {
    view,
    el: view.el,
    model,
    socket,
    requests: () => socket.emitted.filter(e => e.event !== 'room:attach' && e.event !== 'room:ticket')
  };
}

export function texts(el: HTMLElement, selector: string): string[] {
  return Array.from(el.querySelectorAll(selector)).map(e => (e.textContent ?? '').trim());
}
