/// <reference lib="dom" />
// Vega-Lite → Vega → a vega View with the SVG renderer, in place of the panel's previous one; and the
// panel's downloads: the figure as SVG and PNG, and its Vega-Lite spec (data inline).
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface Panel {
  id: string;
  root: HTMLElement;
  plot: HTMLElement;
  view: View | null;
  spec: TopLevelSpec | null;
}

function save(name: string, blob: Blob): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

/** A panel: a title row with its download buttons, and the plot's container. */
export function makePanel(parent: HTMLElement, id: string): Panel {
  const root = document.createElement('section');
  root.className = 'panel';
  root.id = `panel-${id}`;
  const bar = document.createElement('div');
  bar.className = 'downloads';
  const plot = document.createElement('div');
  plot.className = 'plot';
  plot.id = `plot-${id}`;
  root.append(plot, bar);
  parent.append(root);
  const panel: Panel = { id, root, plot, view: null, spec: null };
  const button = (label: string, act: () => Promise<void>) => {
    const b = document.createElement('button');
    b.textContent = label;
    b.dataset.download = label.toLowerCase();
    b.addEventListener('click', () => void act());
    bar.append(b);
  };
  button('SVG', async () => {
    if (panel.view) save(`signalprop-${id}.svg`, new Blob([await panel.view.toSVG()], { type: 'image/svg+xml' }));
  });
  button('PNG', async () => {
    if (!panel.view) return;
    const url = await panel.view.toImageURL('png', 2);
    save(`signalprop-${id}.png`, await (await fetch(url)).blob());
  });
  button('Vega-Lite', async () => {
    if (panel.spec) save(`signalprop-${id}.vl.json`, new Blob([`${JSON.stringify(panel.spec, null, 2)}\n`], { type: 'application/json' }));
  });
  return panel;
}

/** Draw a Vega-Lite spec into the panel, replacing what was there. */
export async function draw(panel: Panel, spec: TopLevelSpec): Promise<void> {
  // a fresh container, swapped in once drawn: the old figure stays until the new one is ready
  const box = document.createElement('div');
  const view = new View(parse(compile(spec).spec), { renderer: 'svg', container: box, hover: true });
  await view.runAsync();
  panel.view?.finalize();
  panel.plot.replaceChildren(box);
  panel.view = view;
  panel.spec = spec;
}
