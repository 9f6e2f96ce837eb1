// Words and numbers as an agent reads them.

import type { CategoryKind, TaskStatus } from './types';

// An int64 printed as a JSON string (or a number from a lenient server) as a number.
export function num(x: unknown): number {
  const n = typeof x === 'number' ? x : typeof x === 'string' ? Number(x) : NaN;
  return Number.isFinite(n) ? n : 0;
}

// A Timestamp's milliseconds, or null when unset (absent, unparsable or the epoch).
export function timeOf(iso: string | undefined): number | null {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) || t <= 0 ? null : t;
}

const kMinute = 60_000;
const kHour = 60 * kMinute;
const kDay = 24 * kHour;

// "just now", "5 min ago", "3 h ago", "2 days ago"; older than four weeks: the local date.
export function ago(iso: string | undefined, now = Date.now()): string {
  const t = timeOf(iso);
  if (t === null) return '';
  const d = now - t;
  if (d < 45_000) return 'just now';
  if (d < kHour) return `${Math.max(1, Math.round(d / kMinute))} min ago`;
  if (d < kDay) return `${Math.round(d / kHour)} h ago`;
  if (d < 28 * kDay) {
    const days = Math.round(d / kDay);
    return days === 1 ? '1 day ago' : `${days} days ago`;
  }
  return `on ${localDate(iso)}`;
}

export function localDate(iso: string | undefined): string {
  const t = timeOf(iso);
  if (t === null) return '';
  return new Date(t).toLocaleDateString(undefined, {
    day: 'numeric',
    month: 'short',
    year: 'numeric',
  });
}

// A time to come: "in 4 min", "in 2 h"; "due" once it has passed.
export function until(iso: string | undefined, now = Date.now()): string {
  const t = timeOf(iso);
  if (t === null) return '';
  const d = t - now;
  if (d < 30_000) return 'due';
  if (d < kHour) return `in ${Math.max(1, Math.round(d / kMinute))} min`;
  if (d < kDay) return `in ${Math.round(d / kHour)} h`;
  return `on ${localDate(iso)}`;
}

export function localDateTime(iso: string | undefined): string {
  const t = timeOf(iso);
  if (t === null) return '';
  return new Date(t).toLocaleString(undefined, {
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: 'numeric',
    minute: '2-digit',
  });
}

export function percent(confidence: number | undefined): string {
  const c = Number(confidence);
  if (!Number.isFinite(c)) return '—';
  return `${Math.round(Math.min(1, Math.max(0, c)) * 100)}%`;
}

export function kindWords(kind: CategoryKind | undefined): string {
  switch (kind) {
    case 'COMPLAINT':
      return 'Complaint';
    case 'PRAISE':
      return 'Praise';
    case 'SUGGESTION':
      return 'Suggestion';
    case 'QUESTION':
      return 'Question';
    default:
      return '';
  }
}

export function taskStatusWords(status: TaskStatus | undefined): string {
  switch (status) {
    case 'TASK_PENDING_CREATE':
      return 'Being created';
    case 'TASK_OPEN':
      return 'Open';
    case 'TASK_IN_PROGRESS':
      return 'In progress';
    case 'TASK_DONE':
      return 'Fixed, not shipped';
    case 'TASK_SHIPPED':
      return 'Shipped';
    case 'TASK_WONT_DO':
      return "Won't do";
    default:
      return 'Unknown';
  }
}

// A CSS class per status, so the badge's colour repeats (never replaces) its words.
export function taskStatusTone(status: TaskStatus | undefined): string {
  switch (status) {
    case 'TASK_SHIPPED':
      return 'good';
    case 'TASK_DONE':
      return 'info';
    case 'TASK_WONT_DO':
      return 'neutral';
    case 'TASK_IN_PROGRESS':
      return 'info';
    default:
      return 'plain';
  }
}

export function ticketStatusWords(status: string | undefined): string {
  if (!status) return 'Unknown';
  return status.charAt(0).toUpperCase() + status.slice(1);
}

export function plural(n: number, one: string, many: string): string {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}

// A classifier's reason as words: `keyword "log in"` becomes {label: "log in", kind:
// "keyword"}, `"refund"` becomes {label: "refund"}, a sentence without quotes stays a sentence.
export function reasonWords(feature: string): { label: string; kind: string } {
  const f = feature.trim();
  const m = /^([^"“”]*?)\s*:?\s*["“](.*)["”]$/s.exec(f);
  if (m) {
    const label = (m[2] ?? '').trim();
    const kind = (m[1] ?? '').trim().replace(/:$/, '');
    if (label !== '') return { label, kind };
  }
  return { label: f.replace(/^["'“”‘’`]+|["'“”‘’`]+$/g, ''), kind: '' };
}
