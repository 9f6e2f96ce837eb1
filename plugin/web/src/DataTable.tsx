// A table whose columns also make its CSV: each column gives the value the CSV carries (the
// API's number, unformatted) and, where it differs, what the page shows.

import type { ComponentChildren } from 'preact';
import type { Cell } from './csv';
import { downloadCsv } from './csv';

export interface Column<T> {
  label: string;
  value: (row: T) => Cell;
  show?: (row: T) => ComponentChildren;
  numeric?: boolean;
}

export function DataTable<T>(props: {
  id: string;
  caption: string;
  columns: Column<T>[];
  rows: T[];
  csvName: string;
  empty: string;
  onRowClick?: (row: T) => void;
  // Extra columns only the CSV carries (one per week of a weekly series, say).
  csvExtra?: { header: string[]; values: (row: T) => Cell[] };
}) {
  const { columns, rows } = props;
  function download() {
    const header = columns.map((c) => c.label).concat(props.csvExtra?.header ?? []);
    const data = rows.map((r) =>
      columns.map((c) => c.value(r)).concat(props.csvExtra ? props.csvExtra.values(r) : []),
    );
    downloadCsv(props.csvName, header, data);
  }
  return (
    <div class="data-table">
      <div class="table-tools">
        <button
          type="button"
          class="secondary small"
          onClick={download}
          disabled={rows.length === 0}
          aria-describedby={`${props.id}-caption`}
        >
          Download CSV
        </button>
      </div>
      {rows.length === 0 ? (
        <p class="empty">{props.empty}</p>
      ) : (
        // Focusable, so a keyboard can scroll a table wider than the page.
        <div class="table-scroll" tabIndex={0} role="region" aria-labelledby={`${props.id}-caption`}>
          <table id={props.id}>
            <caption id={`${props.id}-caption`}>{props.caption}</caption>
            <thead>
              <tr>
                {columns.map((c) => (
                  <th scope="col" class={c.numeric ? 'num' : undefined} key={c.label}>
                    {c.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((r, i) => (
                <tr key={i}>
                  {columns.map((c, j) => {
                    const content = c.show ? c.show(r) : c.value(r);
                    const cls = c.numeric ? 'num' : undefined;
                    if (j === 0 && props.onRowClick) {
                      const onClick = props.onRowClick;
                      return (
                        <th scope="row" class={cls} key={c.label}>
                          <button type="button" class="link-button" onClick={() => onClick(r)}>
                            {content}
                          </button>
                        </th>
                      );
                    }
                    return j === 0 ? (
                      <th scope="row" class={cls} key={c.label}>
                        {content}
                      </th>
                    ) : (
                      <td class={cls} key={c.label}>
                        {content}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
