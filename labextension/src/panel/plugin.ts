/**
 * The classroom side panel plugin (JupyterLab 4 and Notebook 7): the panel in the left area
 * (restored on reload), the "Classroom" commands, a status-bar item, notifications for
 * announcements and for your hand being taken, the `?classroom=<room_id>` link, and the
 * settings (display name, notifications). It opens the page's one classroom socket at start,
 * so announcements reach every page.
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, InputDialog, Notification } from '@jupyterlab/apputils';
import { ILauncher } from '@jupyterlab/launcher';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';

import { refusalSentence } from '../chat/view';
import { classroomSocketPath } from '../page/connect';
import { JoinedLink, pageSession, RequestError, setDisplayName } from '../page/session';

import { ClassroomController } from './controller';
import { classroomIcon } from './icon';
import { ClassroomPanel } from './panel';
import { ClassroomStatus } from './status';
import { placeButton } from './widget-shelf';
import { BreakoutBoardView } from './breakout-board';
import { BoardWidgets } from '../board/board-widget';
import { VideoWidget, VideoWidgets } from '../video-widget';
import { Widget } from '@lumino/widgets';

export const PANEL_PLUGIN_ID = 'jupyter-live-classroom:panel';
const CATEGORY = 'Classroom';
const ROOM_KEY = 'jupyter-classroom:room'; // the room this tab joined itself, re-joined on reload
const URL_PARAM = 'classroom';

export namespace CommandIDs {
  export const openPanel = 'classroom:open-panel';
  export const join = 'classroom:join';
  export const leave = 'classroom:leave';
  export const raiseHand = 'classroom:raise-hand';
  export const lowerHand = 'classroom:lower-hand';
  /** Raises or lowers your hand (the shortcut's command: Alt Shift H, schema/panel.json,
   * whose selector leaves the keys to a focused editor or text field). */
  export const toggleHand = 'classroom:toggle-hand';
  export const announce = 'classroom:announce';
  export const openBoard = 'classroom:open-board';
  export const openVideo = 'classroom:open-video';
  export const toggleMicrophone = 'classroom:toggle-microphone';
  export const toggleCamera = 'classroom:toggle-camera';
}

/** Where the board and video widgets open (settings `boardArea`, `videoArea`): "panel" is
 * inside the classroom panel, under the room. */
export type WidgetArea = 'main' | 'right' | 'left' | 'panel';

function widgetArea(value: unknown): WidgetArea {
  return value === 'right' || value === 'left' || value === 'panel' ? value : 'main';
}

/** The settings (schema/panel.json). */
interface PanelSettings {
  displayName: string;
  notifyAnnouncements: boolean;
  notifyHandTaken: boolean;
  notifyRoomEnded: boolean;
  boardArea: WidgetArea;
  videoArea: WidgetArea;
}

const DEFAULTS: PanelSettings = {
  displayName: '',
  notifyAnnouncements: true,
  notifyHandTaken: true,
  notifyRoomEnded: true,
  boardArea: 'main',
  videoArea: 'main'
};

function storage(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

/** Resolves once `condition()` holds (checked on each change), or after `timeoutMs`. */
function when(controller: ClassroomController, condition: () => boolean, timeoutMs: number): Promise<void> {
  return new Promise(resolve => {
    if (condition()) {
      resolve();
      return;
    }
    const timer = setTimeout(done, timeoutMs);
    const off = controller.changed.connect(() => condition() && done());
    function done(): void {
      clearTimeout(timer);
      off();
      resolve();
    }
  });
}

export const panelPlugin: JupyterFrontEndPlugin<void> = {
  id: PANEL_PLUGIN_ID,
  description: 'The classroom side panel: rooms, hands, participants, chat; commands and notifications.',
  autoStart: true,
  optional: [ILayoutRestorer, ICommandPalette, IStatusBar, ISettingRegistry, ILauncher],
  activate: async (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    statusBar: IStatusBar | null,
    settingRegistry: ISettingRegistry | null,
    launcher: ILauncher | null
  ): Promise<void> => {
    const settings: PanelSettings = { ...DEFAULTS };
    if (settingRegistry) {
      try {
        const loaded = await settingRegistry.load(PANEL_PLUGIN_ID);
        const read = (): void => {
          Object.assign(settings, DEFAULTS, loaded.composite as Partial<PanelSettings>);
          setDisplayName(settings.displayName ?? '');
        };
        read();
        loaded.changed.connect(read);
      } catch (err) {
        console.warn('jupyter-classroom: the panel settings could not be loaded', err);
      }
    }

    const controller = new ClassroomController(pageSession(classroomSocketPath()));
    const panel = new ClassroomPanel(controller);
    panel.title.icon = classroomIcon;
    app.shell.add(panel, 'left', { rank: 700 });
    // Beside the notebook in JupyterLab (or the side area the settings say); Notebook 7's main
    // area holds one widget a page, so there the right sidebar takes it.
    const addBesideNotebook = (widget: Widget, area: WidgetArea = 'main'): void => {
      if (area === 'panel') {
        panel.shelf.hold(widget);
        return;
      }
      if (area === 'main') {
        app.shell.add(widget, 'main', { mode: 'split-right' });
      } else {
        app.shell.add(widget, area, { rank: 710 });
      }
      if (!widget.parent) {
        app.shell.add(widget, 'right', { rank: 700 });
      }
    };
    restorer?.add(panel, PANEL_PLUGIN_ID);
    const openPanel = (): void => app.shell.activateById(panel.id);
    /** Brings a board or video widget to the front, wherever it is (the panel, or docked). */
    const activate = (widget: Widget): void => {
      if (panel.shelf.holds(widget)) {
        openPanel();
        widget.node.scrollIntoView?.({ block: 'nearest' });
      } else {
        app.shell.activateById(widget.id);
      }
    };

    // --- notifications ----------------------------------------------------------------
    controller.announcement.connect(a => {
      if (settings.notifyAnnouncements) {
        Notification.info(`Announcement from ${a.from}: ${a.text}`, { autoClose: 15000 });
      }
    });
    controller.handTaken.connect(e => {
      if (settings.notifyHandTaken) {
        Notification.info(`${e.byName} took your hand in “${e.title}”: it is your turn.`, {
          autoClose: 15000,
          actions: [{ label: 'Open the classroom', callback: openPanel }]
        });
      }
    });
    controller.roomEnded.connect(e => {
      if (settings.notifyRoomEnded && e.message && e.message !== 'You left the room.' && e.message !== 'replaced') {
        Notification.warning(e.message, { autoClose: 10000 });
      }
    });

    // --- breakouts: your group, the recall, a kept board in the main area ----------------
    controller.breakoutAssigned.connect(e => {
      if (e.error) {
        Notification.error(`Could not go into your breakout group: ${e.error}`, { autoClose: 10000 });
      } else if (settings.notifyRoomEnded) {
        Notification.info(`Breakouts: you are in ${e.title}.`, {
          autoClose: 8000,
          actions: [{ label: 'Open the classroom', callback: openPanel }]
        });
      }
    });
    controller.groupEnded.connect(e => {
      if (e.reason === 'recalled' && settings.notifyRoomEnded) {
        const main = controller.room?.title;
        Notification.info(`The host brought everyone back${main ? `: you are in “${main}” again` : ''}.`, {
          autoClose: 10000
        });
      }
    });
    panel.breakouts.openBoard = (title, board) => {
      const view = new BreakoutBoardView(title, board);
      addBesideNotebook(view);
      app.shell.activateById(view.id);
    };

    // --- commands ---------------------------------------------------------------------
    const fail = (err: unknown): void => {
      Notification.error(refusalSentence(err), { autoClose: 8000 });
    };
    const inRoom = (): boolean => controller.view?.state.value === 'attached'; // the group's while in one
    const { commands } = app;
    commands.addCommand(CommandIDs.openPanel, {
      label: args => (args.isLauncher ? 'Classroom' : 'Open the Classroom Panel'),
      caption: 'Rooms, hands, participants and chat',
      icon: classroomIcon,
      execute: openPanel
    });
    commands.addCommand(CommandIDs.join, {
      label: args => (args.roomId ? `Join Room ${args.roomId}` : 'Join a Room…'),
      caption: 'Join a classroom room (asks for the room and its password)',
      execute: async args => {
        let roomId = typeof args.roomId === 'string' ? args.roomId : '';
        if (!roomId) {
          await controller.lobby.refresh();
          const rooms = controller.lobby.rooms;
          if (rooms.length) {
            const labels = rooms.map(r => `${r.title}${r.locked ? ' (password)' : ''} (${r.members}/${r.max_members}) [${r.id}]`);
            const picked = await InputDialog.getItem({ title: 'Join a room', items: labels });
            if (!picked.button.accept || picked.value === null) {
              return;
            }
            roomId = rooms[labels.indexOf(picked.value)]?.id ?? '';
          } else {
            const typed = await InputDialog.getText({ title: 'Join a room', label: 'No room is listed; the room id:' });
            roomId = (typed.button.accept && typed.value?.trim()) || '';
          }
        }
        if (roomId) {
          openPanel();
          await panel.join(roomId, true);
        }
      }
    });
    commands.addCommand(CommandIDs.leave, {
      label: 'Leave the Room',
      isEnabled: () => !!controller.link,
      execute: () => controller.leave().catch(fail)
    });
    commands.addCommand(CommandIDs.raiseHand, {
      label: 'Raise Hand',
      isEnabled: () => inRoom() && !controller.hands?.raised,
      execute: () => controller.raiseHand().catch(fail)
    });
    commands.addCommand(CommandIDs.lowerHand, {
      label: 'Lower Hand',
      isEnabled: () => inRoom() && !!controller.hands?.raised,
      execute: () => controller.lowerHand().catch(fail)
    });
    commands.addCommand(CommandIDs.toggleHand, {
      label: 'Raise or Lower Hand',
      caption: 'Raise your hand in the room the panel shows (your breakout group’s while in one), or lower it',
      isEnabled: inRoom,
      isToggled: () => !!controller.hands?.raised,
      execute: () => (controller.hands?.raised ? controller.lowerHand() : controller.raiseHand()).catch(fail)
    });
    commands.addCommand(CommandIDs.announce, {
      label: 'Announce to Everyone… (admins)',
      caption: 'A notification on every open page of every user of this classroom server',
      isEnabled: () => controller.session.state.value === 'connected',
      execute: async args => {
        let text = typeof args.text === 'string' ? args.text : '';
        if (!text) {
          const typed = await InputDialog.getText({ title: 'Announce to everyone', label: 'Message' });
          text = (typed.button.accept && typed.value?.trim()) || '';
        }
        if (!text) {
          return;
        }
        try {
          await controller.announce(text);
        } catch (err) {
          if (err instanceof RequestError && err.code === 'forbidden') {
            Notification.error('Only the classroom server’s administrators may announce.', { autoClose: 8000 });
          } else {
            fail(err);
          }
        }
      }
    });
    // the room's board as a main-area widget (one per room), on the panel's membership
    // the button moving a widget into the panel and back (to where the settings say, the
    // main area when they say the panel)
    const dockArea = (area: WidgetArea): WidgetArea => (area === 'panel' ? 'main' : area);
    const boards = new BoardWidgets(
      widget => {
        widget.title.icon = classroomIcon;
        placeButton(widget, panel.shelf, w => {
          addBesideNotebook(w, dockArea(widgetArea(settings.boardArea)));
          activate(w);
        });
        addBesideNotebook(widget, widgetArea(settings.boardArea));
      },
      activate
    );
    commands.addCommand(CommandIDs.openBoard, {
      label: 'Open the Board',
      caption: "The room's whiteboard in the main area (drag its tab to dock it anywhere)",
      isEnabled: () => !!controller.view,
      execute: () => {
        const link = controller.view; // the breakout group's room while in one
        if (link) {
          boards.open(link);
        }
      }
    });
    panel.openBoard = () => void commands.execute(CommandIDs.openBoard);

    // the room's video likewise (one per room, camera and microphone of this page)
    const videos = new VideoWidgets(
      widget => {
        widget.title.icon = classroomIcon;
        placeButton(widget, panel.shelf, w => {
          addBesideNotebook(w, dockArea(widgetArea(settings.videoArea)));
          activate(w);
        });
        addBesideNotebook(widget, widgetArea(settings.videoArea));
      },
      activate
    );
    commands.addCommand(CommandIDs.openVideo, {
      label: 'Open the Video',
      caption: "The room's video: your camera and microphone, and the others' (drag its tab to dock it)",
      isEnabled: () => !!controller.view,
      execute: () => {
        const link = controller.view;
        if (link) {
          videos.open(link);
        }
      }
    });
    panel.openVideo = () => void commands.execute(CommandIDs.openVideo);
    /** The page's open video of the panel's room; opened first when there is none. */
    const currentVideo = (): VideoWidget | null => {
      const link = controller.view;
      if (!link) {
        return null;
      }
      const open = videos.get(link.roomId);
      return open && open.link === link ? open : videos.open(link);
    };
    commands.addCommand(CommandIDs.toggleMicrophone, {
      label: 'Toggle Microphone',
      caption: 'Mute or unmute your microphone in the room’s video (opens the video if needed)',
      isEnabled: () => !!controller.view,
      isToggled: () => !!controller.view && !!videos.get(controller.view.roomId)?.surface.microphoneMuted,
      execute: () => {
        currentVideo()?.surface.toggleMute();
        commands.notifyCommandChanged(CommandIDs.toggleMicrophone);
      }
    });
    commands.addCommand(CommandIDs.toggleCamera, {
      label: 'Toggle Camera',
      caption: 'Switch your camera off or on in the room’s video (opens the video if needed)',
      isEnabled: () => !!controller.view,
      isToggled: () => !!controller.view && !!videos.get(controller.view.roomId)?.surface.cameraOff,
      execute: async () => {
        await currentVideo()?.surface.toggleCamera();
        commands.notifyCommandChanged(CommandIDs.toggleCamera);
      }
    });
    controller.changed.connect(() => app.commands.notifyCommandChanged());
    if (palette) {
      for (const command of Object.values(CommandIDs)) {
        palette.addItem({ command, category: CATEGORY });
      }
    }

    launcher?.add({ command: CommandIDs.openPanel, category: 'Other', rank: 50, args: { isLauncher: true } });

    // --- status bar (absent in Notebook 7's pages without one) --------------------------
    if (statusBar) {
      const item = new ClassroomStatus(controller, openPanel);
      statusBar.registerStatusItem(`${PANEL_PLUGIN_ID}:status`, { item, align: 'left', rank: 50 });
    }

    // --- this tab's own room across reloads, and ?classroom=<room_id> --------------------
    const store = storage();
    controller.session.room.changed.connect(link => {
      if (link instanceof JoinedLink) {
        store?.setItem(ROOM_KEY, link.roomId);
      } else if (link === null) {
        store?.removeItem(ROOM_KEY);
      }
    });
    void app.restored.then(async () => {
      const url = new URL(window.location.href);
      const linked = url.searchParams.get(URL_PARAM);
      const session = controller.session;
      await when(controller, () => session.state.value === 'connected' && controller.lobby.loaded, 15000);
      if (linked) {
        url.searchParams.delete(URL_PARAM); // a reload does not ask again
        window.history.replaceState(window.history.state, '', url.toString());
        openPanel();
        await panel.join(linked, true);
        return;
      }
      const previous = store?.getItem(ROOM_KEY);
      if (previous && !controller.link) {
        // the same tab, so the same member: the server lets it back in without the password
        try {
          await controller.join(previous);
        } catch {
          store?.removeItem(ROOM_KEY);
        }
      }
    });
  }
};
