/**
 * JupyterLab / Notebook 7 plugin (of the `jupyter-live-classroom` extension) registering the
 * `jupyter-classroom` widget
 * module with the ipywidgets manager.
 */
import { IJupyterWidgetRegistry } from '@jupyter-widgets/base';
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';

import { notebookSharePlugin } from './notebook-share/plugin';
import { panelPlugin } from './panel/plugin';
import { MODULE_NAME, MODULE_VERSION } from './version';

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-live-classroom:plugin',
  description: 'Whiteboard, chat, participants and video views for jupyter_classroom widgets.',
  requires: [IJupyterWidgetRegistry],
  autoStart: true,
  activate: (_app: JupyterFrontEnd, registry: IJupyterWidgetRegistry): void => {
    registry.registerWidget({
      name: MODULE_NAME,
      version: MODULE_VERSION,
      // Loaded on first use: socket.io and WebRTC code stay out of startup.
      exports: async () => {
        const [
          { VideoModel, VideoView },
          { BoardCanvasModel, BoardCanvasView },
          { ChatModel, ChatView },
          { ParticipantsModel, ParticipantsView }
        ] = await Promise.all([
          import('./video'),
          import('./board/view'),
          import('./chat/view'),
          import('./participants/view')
        ]);
        return {
          VideoModel,
          VideoView,
          BoardCanvasModel,
          BoardCanvasView,
          ChatModel,
          ChatView,
          ParticipantsModel,
          ParticipantsView
        };
      }
    });
  }
};

export default [plugin, panelPlugin, notebookSharePlugin];
export { MODULE_NAME, MODULE_VERSION };
