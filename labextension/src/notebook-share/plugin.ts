/**
 * The shared notebook plugin (issue 15): the host (or a member the host allowed) shares the
 * notebook in front of them with the page's room (a notebook toolbar button, or the
 * "Classroom" commands); everyone else in the room gets a read-only live view beside their
 * own notebook (opened with a notification when a share starts, and at a join or reload while
 * one is live), from which they copy cells or the whole notebook into their own files.
 *
 * It uses the page's one classroom socket (`pageSession`) and the room the page is in
 * (`session.room`: joined from the side panel, or a notebook's attached room).
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, InputDialog, Notification, WidgetTracker } from '@jupyterlab/apputils';
import { IEditorServices } from '@jupyterlab/codeeditor';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { Widget } from '@lumino/widgets';

import { refusalSentence } from '../chat/view';
import { classroomSocketPath } from '../page/connect';
import { pageSession } from '../page/session';
import type { RoomLink } from '../page/session';

import { NotebookCopier } from './copy';
import { ShareReceiver } from './receiver';
import { NotebookSharer } from './sharer';
import { ShareViewer } from './viewer';

/** The notebook toolbar's "Share" / "Stop sharing" button: shown while the page may share
 * (in a room, as its host or allowed) or shares this notebook. */
class ShareButton extends Widget {
  private _button = document.createElement('button');

  constructor(onClick: () => void) {
    super();
    this.addClass('jp-ToolbarButton');
    this.addClass('jc-nbshare-share');
    this._button.type = 'button';
    this._button.className = 'jp-ToolbarButtonComponent jp-mod-minimal jp-Button jc-nbshare-share-button';
    this._button.addEventListener('click', onClick);
    this.node.appendChild(this._button);
    this.setState(false, false);
  }

  setState(sharing: boolean, canShare: boolean): void {
    this.toggleClass('jc-hidden', !sharing && !canShare);
    this.node.dataset.sharing = String(sharing);
    this._button.textContent = sharing ? 'Stop sharing' : 'Share';
    this._button.title = sharing
      ? 'Stop sharing this notebook (the room keeps its last state to read)'
      : 'Share this notebook with your classroom room: everyone sees it live, read-only';
    this._button.setAttribute('aria-pressed', String(sharing));
  }
}

export const NOTEBOOK_SHARE_PLUGIN_ID = 'jupyter-live-classroom:notebook-share';
const CATEGORY = 'Classroom';

export namespace ShareCommandIDs {
  export const share = 'classroom:share-notebook';
  export const stop = 'classroom:stop-sharing-notebook';
  export const open = 'classroom:open-shared-notebook';
  export const copySelected = 'classroom:copy-shared-cells';
  export const copyNotebook = 'classroom:copy-shared-notebook';
  export const allow = 'classroom:allow-sharing';
}

/** The settings (schema/notebook-share.json). */
interface ShareSettings {
  autoOpen: boolean;
  follow: boolean;
  notify: boolean;
}

const DEFAULTS: ShareSettings = { autoOpen: true, follow: true, notify: true };

export const notebookSharePlugin: JupyterFrontEndPlugin<void> = {
  id: NOTEBOOK_SHARE_PLUGIN_ID,
  description: 'Share a notebook live with the classroom room; read-only views and copies for the others.',
  autoStart: true,
  requires: [INotebookTracker, IRenderMimeRegistry, IEditorServices, NotebookPanel.IContentFactory],
  optional: [ICommandPalette, ISettingRegistry, IDocumentManager, ILayoutRestorer],
  activate: async (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    rendermime: IRenderMimeRegistry,
    editorServices: IEditorServices,
    contentFactory: NotebookPanel.IContentFactory,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null,
    docManager: IDocumentManager | null,
    restorer: ILayoutRestorer | null
  ): Promise<void> => {
    const settings: ShareSettings = { ...DEFAULTS };
    if (settingRegistry) {
      try {
        const loaded = await settingRegistry.load(NOTEBOOK_SHARE_PLUGIN_ID);
        const read = (): void => void Object.assign(settings, DEFAULTS, loaded.composite as Partial<ShareSettings>);
        read();
        loaded.changed.connect(read);
      } catch (err) {
        console.warn('jupyter-classroom: the notebook sharing settings could not be loaded', err);
      }
    }

    const session = pageSession(classroomSocketPath());
    const copier = new NotebookCopier(app, tracker, docManager);
    const { commands } = app;
    let receiver: ShareReceiver | null = null;
    let viewer: ShareViewer | null = null;
    let sharer: NotebookSharer | null = null;
    // the open view is kept in the layout: a reload reopens the room's current share (live
    // or ended) once the room says it has one; `restoring` until it says
    const viewers = new WidgetTracker<ShareViewer>({ namespace: 'jc-nbshare-viewer' });
    let restoring = false;
    const refresh = (): void => {
      for (const id of Object.values(ShareCommandIDs)) {
        if (commands.hasCommand(id)) {
          commands.notifyCommandChanged(id);
        }
      }
      updateButtons();
    };
    const fail = (err: unknown): void => void Notification.error(refusalSentence(err), { autoClose: 8000 });

    // --- the view of someone else's share ------------------------------------------------
    const openViewer = (): ShareViewer | null => {
      if (!receiver?.notebook.summary) {
        return null;
      }
      if (viewer && !viewer.isDisposed && viewer.notebook === receiver.notebook) {
        app.shell.activateById(viewer.id);
        return viewer;
      }
      viewer?.dispose();
      const made = new ShareViewer({
        notebook: receiver.notebook,
        rendermime,
        contentFactory,
        mimeTypeService: editorServices.mimeTypeService,
        follow: settings.follow,
        copy: copier
      });
      viewer = made;
      restoring = false;
      made.disposed.connect(() => {
        if (viewer === made) {
          viewer = null;
        }
        refresh();
      });
      // beside the student's own notebook; Notebook 7's main area holds one widget: the right side
      const ref = tracker.currentWidget?.isAttached ? tracker.currentWidget.id : undefined;
      app.shell.add(made, 'main', { mode: 'split-right', ref });
      if (!made.parent) {
        app.shell.add(made, 'right', { rank: 720 });
      }
      app.shell.activateById(made.id);
      void viewers.add(made);
      refresh();
      return made;
    };

    const watch = (link: RoomLink | null): void => {
      if (receiver?.link === link) {
        return;
      }
      if (receiver) {
        receiver.dispose();
        const left = receiver.notebook;
        if (left.live && left.shareId) {
          left.stopped(left.shareId, 'you-left'); // its view stays, readable, no longer live
        }
      }
      receiver = link ? new ShareReceiver(link) : null;
      if (receiver) {
        const mine = receiver;
        mine.changed.connect(refresh);
        mine.changed.connect(() => {
          if (!restoring || receiver !== mine) {
            return;
          }
          if (mine.notebook.summary) {
            openViewer();
          } else if (mine.link.attached && !mine.link.attached.notebook) {
            restoring = false; // the room has no share any more: nothing to restore
          }
        });
        mine.started.connect(summary => {
          if (receiver !== mine) {
            return;
          }
          if (settings.autoOpen) {
            openViewer();
          }
          if (settings.notify) {
            Notification.info(`${summary.sharer.name} shares “${summary.path}”.`, {
              autoClose: 8000,
              actions: settings.autoOpen ? [] : [{ label: 'Open', callback: () => void openViewer() }]
            });
          }
        });
      }
      refresh();
    };

    // --- sharing this page's notebook ----------------------------------------------------
    const share = async (panel: NotebookPanel): Promise<void> => {
      const link = receiver?.link;
      if (!link || !receiver?.canShare) {
        throw new Error('Join a classroom room as its host (or be allowed by the host) to share.');
      }
      await panel.context.ready;
      const previous = sharer;
      const made = new NotebookSharer(link, panel);
      sharer = made;
      made.ended.connect(e => {
        if (sharer === made) {
          sharer = null;
        }
        if (e.message && e.reason !== 'stopped' && e.reason !== 'closed') {
          Notification.warning(`Sharing ${made.path} ended: ${e.message}`, { autoClose: 8000 });
        }
        refresh();
      });
      if (previous && previous !== made) {
        await previous.stop('replaced'); // the server replaces it anyway; stop following it
      }
      refresh();
      try {
        await made.start();
      } catch (err) {
        if (sharer === made) {
          sharer = null;
        }
        refresh();
        throw err;
      }
      Notification.info(`Sharing ${made.path} with the room.`, { autoClose: 4000 });
      refresh();
    };
    const sharing = (panel: NotebookPanel | null): boolean => !!sharer && sharer.active && sharer.panel === panel;

    commands.addCommand(ShareCommandIDs.share, {
      label: 'Share This Notebook',
      caption: 'Everyone in your classroom room sees this notebook live, read-only',
      isEnabled: () => !!receiver?.canShare && !!tracker.currentWidget && !sharing(tracker.currentWidget),
      execute: () => (tracker.currentWidget ? share(tracker.currentWidget).catch(fail) : undefined)
    });
    commands.addCommand(ShareCommandIDs.stop, {
      label: 'Stop Sharing the Notebook',
      caption: 'The room keeps its last state to read',
      isEnabled: () => !!sharer?.active,
      execute: () => sharer?.stop().catch(fail)
    });
    commands.addCommand(ShareCommandIDs.open, {
      label: 'Open the Shared Notebook',
      caption: 'The notebook shared in your room, read-only',
      isEnabled: () => !!receiver?.notebook.summary,
      execute: async args => {
        if (args.restore && !receiver?.notebook.summary) {
          // a reload, before the room's share arrived: opened when it does (the restorer
          // must not wait for the room)
          restoring = true;
          return;
        }
        if (receiver?.isSharer) {
          await receiver.fetch(true); // its own patches do not come back to the sharer's page
        }
        openViewer();
      }
    });
    commands.addCommand(ShareCommandIDs.copySelected, {
      label: 'Copy Selected Shared Cells to My Notebook',
      caption: 'Below the active cell of your notebook (the teacher’s active cell when none is selected)',
      isEnabled: () => !!viewer && !viewer.isDisposed,
      execute: () => (viewer ? copier.copyCells(viewer.selectedCells()).catch(fail) : undefined)
    });
    commands.addCommand(ShareCommandIDs.copyNotebook, {
      label: 'Copy the Shared Notebook to a New File',
      isEnabled: () => !!receiver?.notebook.summary,
      execute: () => (receiver ? copier.copyNotebook(receiver.notebook).catch(fail) : undefined)
    });
    commands.addCommand(ShareCommandIDs.allow, {
      label: 'Allow a Member to Share Notebooks… (host)',
      isEnabled: () => !!receiver?.isHost,
      execute: async () => {
        const link = receiver?.link;
        if (!link || !receiver) {
          return;
        }
        const others = Array.from(link.members.values()).filter(m => m.id !== receiver!.memberId);
        const labels = others.map(m => `${m.name}${receiver!.sharers.includes(m.id) ? ' (may share: take back)' : ''}`);
        if (!labels.length) {
          return;
        }
        const picked = await InputDialog.getItem({ title: 'Who may share notebooks?', items: labels });
        const member = picked.button.accept && picked.value !== null ? others[labels.indexOf(picked.value)] : null;
        if (member) {
          const allowed = !receiver.sharers.includes(member.id);
          await link.request('notebook:allow', { room_id: link.roomId, member_id: member.id, allowed }).catch(fail);
        }
      }
    });
    if (restorer) {
      void restorer.restore(viewers, {
        command: ShareCommandIDs.open,
        args: () => ({ restore: true }),
        name: () => 'shared-notebook'
      });
    }
    if (palette) {
      for (const command of Object.values(ShareCommandIDs)) {
        palette.addItem({ command, category: CATEGORY });
      }
    }

    // --- the notebook toolbar's button ---------------------------------------------------
    const buttons = new Map<NotebookPanel, ShareButton>();
    function updateButtons(): void {
      for (const [panel, button] of buttons) {
        button.setState(sharing(panel), !!receiver?.canShare);
      }
    }
    app.docRegistry.addWidgetExtension('Notebook', {
      createNew: (panel: NotebookPanel) => {
        const button = new ShareButton(() => {
          if (sharing(panel)) {
            void sharer?.stop().catch(fail);
          } else {
            void share(panel).catch(fail);
          }
        });
        if (!panel.toolbar.insertAfter('cellType', 'classroom-share', button)) {
          panel.toolbar.addItem('classroom-share', button);
        }
        buttons.set(panel, button);
        button.disposed.connect(() => buttons.delete(panel));
        updateButtons();
        return button;
      }
    });
    tracker.currentChanged.connect(refresh);
    // last: watching the room refreshes the commands and buttons made above
    session.room.changed.connect(watch);
    watch(session.room.value);

    // for the browser tests: the page's session and the share state
    Object.defineProperty(app.shell.node, 'jcNotebookShare', {
      value: {
        session,
        get sharer() {
          return sharer;
        },
        get receiver() {
          return receiver;
        },
        get viewer() {
          return viewer;
        }
      },
      configurable: true
    });
  }
};
