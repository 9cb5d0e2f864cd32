import { describe, expect, it } from 'vitest';
import { csvField, csvLine } from '../../../server/http/csv.js';

describe('CSV fields (RFC 4180, spreadsheet-safe)', () => {
  it.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['cr\rhere', '"cr\rhere"'],
    ['=SUM(A1)', "'=SUM(A1)"],
    ['+1', "'+1"],
    ['-x', "'-x"],
    ['@cmd', "'@cmd"],
    ['\tlead', "'\tlead"],
    ['=a,"b"', '"\'=a,""b"""'],
    ['', ''],
  ])('%j → %j', (input, out) => {
    expect(csvField(input)).toBe(out);
  });

  it('writes numbers, booleans and empty values as they are, lines ending CRLF', () => {
    expect(csvLine([1, -2, true, null, undefined, 'x'])).toBe('1,-2,true,,,x\r\n');
  });
});
