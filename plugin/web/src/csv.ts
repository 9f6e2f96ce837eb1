// Tables as CSV (RFC 4180: comma-separated, CRLF, fields quoted when they hold a comma, a quote
// or a line break), saved by the browser as a file. The numbers are the API's, unformatted.

export type Cell = string | number | boolean | null | undefined;

function field(c: Cell): string {
  const s = c === null || c === undefined ? '' : String(c);
  // A spreadsheet runs a cell that starts with =, +, - or @ as a formula: quoted with a
  // leading apostrophe it stays text (a ticket subject is the customer's words).
  const safe = /^[=+\-@\t\r]/.test(s) && typeof c === 'string' ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function toCsv(header: string[], rows: Cell[][]): string {
  return [header, ...rows].map((r) => r.map(field).join(',')).join('\r\n') + '\r\n';
}

export function downloadCsv(filename: string, header: string[], rows: Cell[][]): void {
  const blob = new Blob([toCsv(header, rows)], { type: 'text/csv;charset=utf-8' });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
