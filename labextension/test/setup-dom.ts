/**
 * Browser environment for the VideoView tests: jsdom for the DOM, fake
 * WebRTC/media globals, and module redirects so that the compiled view loads
 * the stubs in ./stubs instead of @jupyter-widgets/base, @jupyterlab/coreutils
 * and socket.io-client. Import this before the view.
 */
import { JSDOM } from 'jsdom';
import Module = require('module');
import * as path from 'path';

import { FakePeerConnection, FakeStream } from './fake-rtc';

const redirects: Record<string, string> = {
  '@jupyter-widgets/base': path.join(__dirname, 'stubs', 'widgets-base.js'),
  '@jupyterlab/coreutils': path.join(__dirname, 'stubs', 'coreutils.js'),
  'socket.io-client': path.join(__dirname, 'stubs', 'socketio.js'),
  ipycanvas: path.join(__dirname, 'stubs', 'ipycanvas.js')
};
const mod = Module as unknown as {
  _resolveFilename: (request: string, ...rest: unknown[]) => string;
};
const resolve = mod._resolveFilename;
mod._resolveFilename = function (request: string, ...rest: unknown[]): string {
  return redirects[request] ?? resolve.call(this, request, ...rest);
};

const dom = new JSDOM('<!doctype html><html><body></body></html>', {
  url: 'http://127.0.0.1:8888/lab'
});
const win = dom.window as unknown as Record<string, any>;
win.HTMLMediaElement.prototype.play = () => Promise.resolve();
win.HTMLMediaElement.prototype.pause = () => undefined;

/** What navigator.mediaDevices does in the current test. */
export const media: {
  getUserMedia: (c: MediaStreamConstraints) => Promise<unknown>;
  getDisplayMedia: (c: unknown) => Promise<unknown>;
  calls: MediaStreamConstraints[];
} = {
  getUserMedia: () => Promise.reject(new Error('not set')),
  getDisplayMedia: () => Promise.reject(new Error('not set')),
  calls: []
};
Object.defineProperty(win.navigator, 'mediaDevices', {
  configurable: true,
  value: {
    getUserMedia: (c: MediaStreamConstraints) => {
      media.calls.push(c);
      return media.getUserMedia(c);
    },
    getDisplayMedia: (c: unknown) => media.getDisplayMedia(c)
  }
});

/** Every RTCPeerConnection the view created. */
export const peerConnections: BrowserPeerConnection[] = [];

export class BrowserPeerConnection extends FakePeerConnection {
  constructor(readonly config?: RTCConfiguration) {
    super('browser');
    peerConnections.push(this);
  }
}

const g = globalThis as Record<string, any>;
g.window = win;
g.document = win.document;
Object.defineProperty(globalThis, 'navigator', { configurable: true, value: win.navigator });
g.HTMLElement = win.HTMLElement;
g.MediaStream = FakeStream;
g.RTCPeerConnection = BrowserPeerConnection;

export function domError(name: string, message = name): Error {
  const err = new Error(message);
  err.name = name;
  return err;
}
