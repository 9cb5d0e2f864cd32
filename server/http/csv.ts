import type { Response } from 'express';

export type CsvValue = string | number | boolean | null | undefined;

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote or line break, quotes doubled.
 * Gateway names come from enrolling agents, so a cell that a spreadsheet would run as a formula
 * (= + - @, tab, CR) gets a leading apostrophe: the export must not be a way to run code on an
 * administrator's desk. Numbers are written as they are.
 */
export function csvField(v: CsvValue): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export const csvLine = (values: readonly CsvValue[]): string => `${values.map(csvField).join(',')}\r\n`;

/**
 * Streams rows as a CSV download, page by page, honouring back-pressure, so 10,000 rows never sit in
 * memory as one string. Headers go out before the first page: a failure after that cuts the
 * connection (the error handler logs it), so the client sees a failed download.
 */
export async function streamCsv(res: Response, filename: string, header: readonly string[], pages: AsyncIterable<readonly (readonly CsvValue[])[]>): Promise<void> {
  res.status(200);
  res.setHeader('content-type', 'text/csv; charset=utf-8');
  res.setHeader('content-disposition', `attachment; filename="${filename}"`);
  res.setHeader('cache-control', 'no-store');
  res.write(csvLine(header));
  try {
    for await (const rows of pages) {
      if (res.destroyed) return;
      const chunk = rows.map(csvLine).join('');
      if (!res.write(chunk)) await drainOrClose(res);
    }
  } catch (err) {
    // The status line is out: cut the connection so the client sees an incomplete download, not a
    // complete-looking file; the error goes on to the problem handler, which logs it.
    res.destroy();
    throw err;
  }
  res.end();
}

/** A client that went away never drains: 'close' ends the wait too (the loop then stops), and neither listener stays behind. */
function drainOrClose(res: Response): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
