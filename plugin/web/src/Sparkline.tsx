// The 8-week trend of a task's linked tickets, drawn by uPlot on a canvas of fixed size.
// The chart is an image to assistive technology, named by the numbers it shows; uPlot styles
// its elements through the CSSOM, which the page's CSP (style-src 'self') allows.

import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

const kWidth = 160;
const kHeight = 40;

export function Sparkline(props: { weekly: number[]; per?: 'week' | 'day' }) {
  const host = useRef<HTMLDivElement>(null);
  const values = props.weekly;
  const per = props.per ?? 'week';
  const key = values.join(',');

  useEffect(() => {
    const el = host.current;
    if (!el || values.length === 0) return;
    const xs = values.map((_, i) => i);
    const top = Math.max(1, ...values);
    const chart = new uPlot(
      {
        width: kWidth,
        height: kHeight,
        pxAlign: false,
        // Room for the points at the edges: [top, right, bottom, left].
        padding: [6, 5, 4, 5],
        legend: { show: false },
        cursor: { show: false },
        select: { show: false, left: 0, top: 0, width: 0, height: 0 },
        scales: {
          x: { time: false, range: [0, Math.max(1, values.length - 1)] },
          y: { range: [0, top] },
        },
        axes: [{ show: false }, { show: false }],
        series: [
          {},
          {
            stroke: '#0b5cad',
            width: 2,
            fill: 'rgba(11, 92, 173, 0.12)',
            points: { show: true, size: 4, fill: '#0b5cad', stroke: '#0b5cad' },
          },
        ],
      },
      [xs, values],
      el,
    );
    return () => chart.destroy();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);

  const label =
    values.length === 0
      ? `No ${per === 'week' ? 'weekly' : 'daily'} counts yet`
      : `Tickets per ${per}, oldest first: ${values.join(', ')}`;
  return <div class="sparkline" role="img" aria-label={label} ref={host} />;
}
