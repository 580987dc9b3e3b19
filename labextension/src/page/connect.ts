/**
 * How a JupyterLab page opens a classroom socket: one function, `openClassroomSocket`.
 *
 *   openClassroomSocket(options?: {
 *     path?: string;                    // socket.io path; default: this page's classroom
 *     auth?: Record<string, unknown>;   // extra auth fields, e.g. { batch: true }
 *     reconnectionDelay?: number;       // ms (default 500)
 *     reconnectionDelayMax?: number;    // ms (default 10000)
 *   }): Socket                          // socket.io-client Socket, connecting
 *
 *   const socket = openClassroomSocket({ auth: { batch: true } });
 *   socket.on('connect_error', err => show(refusalMessage(err)));
 *
 * - Origin: the page's own. (On JupyterHub the classroom service is reached through the
 *   hub's proxy, on the same origin.)
 * - Path: `options.path`, else PageConfig `classroomSocketPath` (set by the jupyter_classroom
 *   server extension: its own room server, or the hub's classroom service), else
 *   `{baseUrl}classroom/socket.io`.
 * - Websocket transport only (the server serves no long-polling).
 * - Credentials go in the Socket.IO `auth` payload, never in the URL: `auth.token` is the
 *   page's classroom token (PageConfig `classroomToken`; on a hub, a token of the user that
 *   can use the classroom service and nothing else) or else JupyterLab's own token
 *   (`PageConfig.getToken()`, Jupyter's token on a single-user server). The token goes only
 *   to the page's own classroom path: a socket to any other path (a kernel's
 *   `Client(url=...)` elsewhere) carries none, only the origin's cookies.
 * - Reconnects by itself (socket.io's backoff), sending `auth` again each time. A connect the
 *   server refuses is not retried: `connect_error` then carries the server's sentence
 *   (`err.message`, and `err.data = {code, message}`): show it with `refusalMessage(err)`.
 */
import { PageConfig, URLExt } from '@jupyterlab/coreutils';
import { io, Socket } from 'socket.io-client';

export interface ClassroomSocketOptions {
  /** socket.io path of the room server; default: this page's classroom (see above). */
  path?: string;
  /** Extra fields for the Socket.IO `auth` payload (the token is added here). */
  auth?: Record<string, unknown>;
  reconnectionDelay?: number;
  reconnectionDelayMax?: number;
}

/** The socket.io path of this page's classroom: the hub's service or this server's own. */
export function classroomSocketPath(): string {
  const configured = PageConfig.getOption('classroomSocketPath');
  return configured || URLExt.join(PageConfig.getBaseUrl(), 'classroom/socket.io');
}

/** The credential this page shows its classroom (empty: none, cookies only). */
function classroomToken(): string {
  return PageConfig.getOption('classroomToken') || PageConfig.getToken() || '';
}

function samePath(a: string, b: string): boolean {
  const norm = (path: string): string => {
    let decoded = path;
    try {
      decoded = decodeURIComponent(path);
    } catch {
      // keep it as it is
    }
    return decoded.replace(/^[a-z]+:\/\/[^/]+/i, '').replace(/\/+$/, '');
  };
  return norm(a) === norm(b);
}

/** Opens a classroom socket for this page (see the top of this file). */
export function openClassroomSocket(options: ClassroomSocketOptions = {}): Socket {
  const own = classroomSocketPath();
  const path = options.path || own;
  const token = samePath(path, own) ? classroomToken() : '';
  const auth: Record<string, unknown> = { ...(options.auth ?? {}) };
  if (token) {
    auth.token = token;
  }
  return io(window.location.origin, {
    path,
    transports: ['websocket'],
    auth,
    reconnection: true,
    reconnectionDelay: options.reconnectionDelay ?? 500,
    reconnectionDelayMax: options.reconnectionDelayMax ?? 10000
  });
}

/**
 * A sentence for a person from a `connect_error`: the server's own words when it refused the
 * socket, else why the connection failed.
 */
export function refusalMessage(err: unknown): string {
  const data = (err as { data?: { message?: unknown } } | null)?.data;
  if (data && typeof data.message === 'string' && data.message) {
    return data.message;
  }
  const message = err instanceof Error ? err.message : String(err);
  return message || 'the connection failed';
}

/** Whether a `connect_error` is the server's refusal (as opposed to a network failure). */
export function isRefusal(err: unknown): boolean {
  const data = (err as { data?: { code?: unknown } } | null)?.data;
  return !!data && typeof data.code === 'string';
}
