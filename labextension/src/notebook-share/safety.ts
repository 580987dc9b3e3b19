/**
 * What keeps shared content inert on a student's page, whatever the wire carries.
 *
 * The viewer's cells never carry `metadata.trusted`, so JupyterLab already renders their
 * outputs as it renders an untrusted notebook. This is the second lock, in case a cell model
 * ever becomes trusted anyway (JupyterLab trusts a cell it executes or clears, and an empty
 * notebook's default cell): the viewer's rendermime has only the safe renderers (no
 * JavaScript, no widget views, no SVG, as for an untrusted notebook) and every renderer it
 * creates sees an untrusted model, so HTML and markdown are always sanitized.
 */
import type { IRenderMime, IRenderMimeRegistry } from '@jupyterlab/rendermime';

/** Mime types never rendered for shared content, even if a renderer calls itself safe. */
const SCRIPT_MIME = /javascript|ecmascript|^application\/vnd\.jupyter\.widget-(view|state)\+json$/i;

export function isScriptMime(mimeType: string): boolean {
  return SCRIPT_MIME.test(mimeType);
}

/** A view of `model` that is never trusted (data and metadata are the model's own). */
export function untrustedModel(model: IRenderMime.IMimeModel): IRenderMime.IMimeModel {
  return {
    get trusted() {
      return false;
    },
    get data() {
      return model.data;
    },
    get metadata() {
      return model.metadata;
    },
    setData: options => model.setData(options)
  };
}

function untrustedRenderer(renderer: IRenderMime.IRenderer): IRenderMime.IRenderer {
  const render = renderer.renderModel.bind(renderer) as (model: IRenderMime.IMimeModel, ...rest: unknown[]) => Promise<void>;
  renderer.renderModel = ((model: IRenderMime.IMimeModel, ...rest: unknown[]) =>
    render(untrustedModel(model), ...rest)) as IRenderMime.IRenderer['renderModel'];
  return renderer;
}

/** A clone of `rendermime` for shared content: safe renderers only, each rendering untrusted. */
export function untrustedRendermime(rendermime: IRenderMimeRegistry): IRenderMimeRegistry {
  const registry = rendermime.clone();
  for (const mimeType of [...registry.mimeTypes]) {
    const factory = registry.getFactory(mimeType);
    const rank = registry.getRank(mimeType);
    registry.removeMimeType(mimeType);
    if (!factory || !factory.safe || isScriptMime(mimeType)) {
      continue;
    }
    // one mime type per factory: a safe factory listing a script type cannot bring it back
    registry.addFactory(
      {
        safe: true,
        mimeTypes: [mimeType],
        defaultRank: factory.defaultRank,
        createRenderer: options => untrustedRenderer(factory.createRenderer(options))
      },
      rank
    );
  }
  return registry;
}

/**
 * The file name stem a copy of the shared notebook `path` gets: the last path part only (no
 * folders, `..` or absolute paths from the wire), without characters file systems or the
 * contents API refuse, controls and bidi overrides (a name that reads differently than it is),
 * and leading dots (a hidden file, which the server refuses to write).
 */
export function copyStem(path: string): string {
  const name = path.split(/[\\/]/).pop() ?? '';
  const stem = name
    .replace(/\.ipynb$/i, '')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '')
    .replace(/[:*?"<>|]/g, '_')
    .replace(/^[\s.]+/, '')
    .trim()
    .slice(0, 80)
    .trim();
  return stem || 'notebook';
}
