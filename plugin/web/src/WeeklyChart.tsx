// Tickets per cause per week, stacked: Chart.js (a maintained charting library; only the parts
// a stacked bar chart needs are bundled). Its tooltips show each cause's own count, a click on a
// bar picks that cause, and the table beside the chart carries the same numbers for screen
// readers and keyboards.

import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  Tooltip,
} from 'chart.js';
import { useEffect, useRef } from 'preact/hooks';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

// Distinct hues that keep 3:1 against white (WCAG's non-text contrast), repeated past 12.
const kPalette = [
  '#0b5cad',
  '#c2410c',
  '#15803d',
  '#7c3aed',
  '#b91c1c',
  '#0f766e',
  '#a16207',
  '#be185d',
  '#4d7c0f',
  '#1d4ed8',
  '#6d28d9',
  '#9a3412',
];

export interface Series {
  id: string;
  label: string;
  values: number[];
}

export function WeeklyChart(props: {
  labels: string[];
  series: Series[];
  description: string;
  onPick?: (id: string) => void;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<'bar'> | null>(null);
  const pick = useRef(props.onPick);
  pick.current = props.onPick;

  useEffect(() => {
    if (!canvas.current) return;
    chart.current = new Chart(canvas.current, {
      type: 'bar',
      data: { labels: [], datasets: [] },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: 'nearest', intersect: true },
        scales: {
          x: { stacked: true, grid: { display: false } },
          y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } },
        },
        plugins: { legend: { position: 'bottom', labels: { boxWidth: 12 } } },
        onClick: (_e, elements, c) => {
          const hit = elements[0];
          if (!hit) return;
          const id = (c.data.datasets[hit.datasetIndex] as { id?: string }).id;
          if (id) pick.current?.(id);
        },
      },
    });
    return () => {
      chart.current?.destroy();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    c.data.labels = props.labels;
    c.data.datasets = props.series.map((s, i) => ({
      id: s.id,
      label: s.label,
      data: s.values,
      backgroundColor: kPalette[i % kPalette.length],
      borderWidth: 0,
    }));
    c.update();
  }, [props.labels, props.series]);

  return (
    <div class="chart">
      <canvas ref={canvas} role="img" aria-label={props.description} />
    </div>
  );
}
