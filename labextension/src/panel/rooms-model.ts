/**
 * The lobby as the panel shows it: the listed rooms, kept current from `room:list_changed`
 * (sent to every socket, coalesced by the server) after one `room:list` per connection.
 */
import { Emitter } from '../emitter';

import type { RoomInfo, RoomListChanged, RoomListReply } from '../protocol.generated';

/** What the model needs of the page session (PageSession, or a test's stand-in). */
export interface LobbySource {
  readonly socket: {
    connected: boolean;
    on(event: string, listener: (...args: any[]) => void): unknown;
    off(event: string, listener: (...args: any[]) => void): unknown;
  };
  listRooms(): Promise<RoomListReply>;
}

export class RoomListModel {
  readonly changed = new Emitter<void>();
  rooms: RoomInfo[] = [];
  /** Whether this user may create rooms (the `room:list` ack's `can_create`). */
  canCreate = false;
  /** Whether a list has arrived since the page connected. */
  loaded = false;
  /** Why the list could not be read, for the panel's status line. */
  error = '';
  private _version = 0;

  constructor(private _source: LobbySource) {
    this._onChanged = this._onChanged.bind(this);
    this._onConnect = this._onConnect.bind(this);
    _source.socket.on('room:list_changed', this._onChanged);
    _source.socket.on('connect', this._onConnect);
    if (_source.socket.connected) {
      void this.refresh();
    }
  }

  /** Asks for the whole list (`room:list`). A `room:list_changed` that arrives while the
   * request is out is newer than its answer, which is then dropped. */
  async refresh(): Promise<void> {
    const version = this._version;
    try {
      const reply = await this._source.listRooms();
      if (typeof reply.can_create === 'boolean') {
        this.canCreate = reply.can_create;
      }
      if (version === this._version) {
        this._set(reply.rooms);
      } else {
        this.changed.emit();
      }
      this.error = '';
    } catch (err) {
      this.error = err instanceof Error ? err.message : String(err);
      this.changed.emit();
    }
  }

  /** Applies a `room:list_changed` event: the whole list, as the server has it now. */
  apply(event: RoomListChanged): void {
    if (!event || !Array.isArray(event.rooms)) {
      return;
    }
    this._version++;
    this._set(event.rooms);
  }

  find(roomId: string): RoomInfo | undefined {
    return this.rooms.find(room => room.id === roomId);
  }

  dispose(): void {
    this._source.socket.off('room:list_changed', this._onChanged);
    this._source.socket.off('connect', this._onConnect);
    this.changed.clear();
  }

  private _set(rooms: RoomInfo[]): void {
    this.rooms = rooms.filter(room => room && typeof room.id === 'string');
    this.loaded = true;
    this.changed.emit();
  }

  private _onChanged(event: RoomListChanged): void {
    this.apply(event);
  }

  private _onConnect(): void {
    void this.refresh();
  }
}
