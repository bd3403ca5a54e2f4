// `vfio-ts trace --svg FILE`: a run's life-cycle events drawn as the web view draws them, one lane per device
// (alloc, init, register, open, close, request..., unregister, release, free along a shared time axis), as a
// standalone SVG file; each mark's <title> (a viewer's hover) gives its time and detail.

/** An event as the trace stream carries it. */
export interface TimelineEvent {
  readonly event: string;
  readonly name: string;
  readonly driver: string;
  readonly value?: number;
  /** Milliseconds since the epoch. */
  readonly time: number;
}

const COLORS: Readonly<Record<string, string>> = Object.freeze({
  alloc: '#888',
  init: '#888',
  register: '#2a8f3c',
  open: '#1f5fbf',
  close: '#6b8fd6',
  request: '#d98200',
  unregister: '#b5282e',
  release: '#7a4fa0',
  free: '#333',
});

const LANE = 28;
const LEFT = 90;
const WIDTH = 900;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The SVG document of `events` (in arrival order); an empty run is an empty chart saying so. */
export function timelineSvg(events: readonly TimelineEvent[]): string {
  const lanes: string[] = [];
  for (const e of events) if (!lanes.includes(e.name)) lanes.push(e.name);
  const height = Math.max(40, lanes.length * LANE + 40);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="monospace" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fcfcfc"/>`,
  ];
  const first = events[0];
  const last = events[events.length - 1];
  if (first === undefined || last === undefined) {
    out.push('<text x="8" y="24">no life-cycle events</text>', '</svg>');
    return `${out.join('\n')}\n`;
  }
  const span = Math.max(1, last.time - first.time);
  const x = (t: number): string => (LEFT + 8 + ((t - first.time) / span) * (WIDTH - LEFT - 24)).toFixed(1);
  lanes.forEach((name, i) => {
    const y = 14 + i * LANE;
    const evs = events.filter((e) => e.name === name);
    const a = evs[0];
    const b = evs[evs.length - 1];
    out.push(`<g class="lane" data-device="${esc(name)}">`, `<text x="4" y="${y + 4}">${esc(name)}</text>`);
    if (a !== undefined && b !== undefined) out.push(`<line x1="${x(a.time)}" x2="${x(b.time)}" y1="${y}" y2="${y}" stroke="#bbb"/>`);
    for (const e of evs) {
      const detail = `${e.event} ${e.name} (${e.driver})${e.value === undefined ? '' : ` value ${e.value}`}`;
      out.push(
        `<circle data-event="${esc(e.event)}" cx="${x(e.time)}" cy="${y}" r="5" fill="${COLORS[e.event] ?? '#000'}"><title>${esc(`${new Date(e.time).toISOString()} ${detail}`)}</title></circle>`,
      );
    }
    out.push('</g>');
  });
  out.push(`<text x="${LEFT + 8}" y="${height - 8}" fill="#777">${esc(new Date(first.time).toISOString())} + ${span} ms</text>`, '</svg>');
  return `${out.join('\n')}\n`;
}
