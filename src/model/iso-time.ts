/**
 * ISO 8601 times read without `Date.parse`'s general parser, where a reader takes
 * one or two per span (the OpenAI Agents SDK's JSON) or per handoff (the SDK's
 * `sent_at`): digits read in place, days counted from the civil date.
 */

/** The decimal value of `length` digits of `text` from `at`, or -1 when one is not a digit. */
export function digitsAt(text: string, at: number, length: number): number {
  let value = 0;
  for (let i = at; i < at + length; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (month 1–12): http://howardhinnant.github.io/date_algorithms.html#days_from_civil */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

/**
 * Milliseconds of a UTC time as the SDKs write it (JS `toISOString()`: `2026-12-01T14:40:27.747Z`;
 * Python `isoformat()`: `…27.747123+00:00`), the same number `Date.parse` gives (the fraction cut
 * to milliseconds; days 29–31 of a shorter month rolled over, as `Date.parse` does), without its
 * general parser: two per span were 2% of an audit. Any other form or a field out of range goes to
 * `Date.parse`.
 */
export function isoTimeMsOf(text: string): number {
  const length = text.length;
  if (length < 20 || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(10) !== 84 || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) return Date.parse(text);
  let zoneAt = 19;
  let fractionMs = 0;
  if (text.charCodeAt(19) === 46 /* . */) {
    zoneAt = 20;
    while (zoneAt < length && zoneAt < 29 && text.charCodeAt(zoneAt) >= 48 && text.charCodeAt(zoneAt) <= 57) zoneAt++;
    const digits = zoneAt - 20;
    if (digits === 0) return Date.parse(text);
    fractionMs = digitsAt(text, 20, digits < 3 ? digits : 3) * (digits === 1 ? 100 : digits === 2 ? 10 : 1);
  }
  const zoneLength = length - zoneAt;
  if (!(zoneLength === 1 && text.charCodeAt(zoneAt) === 90) /* Z */ && !(zoneLength === 6 && text.endsWith('+00:00'))) return Date.parse(text);
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 2);
  const day = digitsAt(text, 8, 2);
  const hour = digitsAt(text, 11, 2);
  const minute = digitsAt(text, 14, 2);
  const second = digitsAt(text, 17, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return Date.parse(text);
  return ((daysFromCivil(year, month, day) * 24 + hour) * 60 + minute) * 60000 + second * 1000 + fractionMs;
}
