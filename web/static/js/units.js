// Grafana's unit ids, formatted as Grafana formats them: a scaled number and
// a suffix. `formatValue(v, unit, decimals)` is the one entry point; charts use
// it for axes and tooltips, stat and table panels for their values.

const SI_PREFIXES = ['p', 'n', 'µ', 'm', '', 'k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y'];
const SI_OFFSET = 4;

function decimalsFor(value, decimals) {
  if (decimals != null && decimals !== '' && Number.isFinite(Number(decimals))) {
    return Math.max(0, Math.min(20, Math.floor(Number(decimals))));
  }
  // Auto: about three significant digits, no more than the value needs.
  const abs = Math.abs(value);
  if (abs === 0 || !Number.isFinite(abs)) return 0;
  if (abs >= 100) return 0;
  if (abs >= 10) return 1;
  if (abs >= 1) return 2;
  const mag = Math.floor(Math.log10(abs));
  return Math.min(20, -mag + 1);
}

function toFixed(value, decimals) {
  const d = decimalsFor(value, decimals);
  let s = value.toFixed(d);
  if (decimals == null || decimals === '') {
    // Auto decimals drop trailing zeros (1.50 → 1.5), as Grafana does.
    if (s.includes('.')) s = s.replace(/\.?0+$/, '');
  }
  if (s === '-0') s = '0';
  return s;
}

function withSuffix(text, suffix) {
  return { text, suffix };
}

/** Scales by `factor` steps through `units` (e.g. bytes by 1024). */
function scaled(value, decimals, factor, units, start = 0) {
  let i = start;
  let v = value;
  while (Math.abs(v) >= factor && i < units.length - 1) {
    v /= factor;
    i += 1;
  }
  while (Math.abs(v) < 1 && v !== 0 && i > 0 && units[i - 1] !== undefined && start > 0) {
    v *= factor;
    i -= 1;
  }
  return withSuffix(toFixed(v, decimals), units[i]);
}

function si(value, decimals, unit, startOffset = 0) {
  if (value === 0) return withSuffix(toFixed(0, decimals), ` ${unit}`);
  let exp = Math.floor(Math.log10(Math.abs(value)) / 3);
  exp = Math.max(-SI_OFFSET - startOffset, Math.min(SI_PREFIXES.length - 1 - SI_OFFSET - startOffset, exp));
  const v = value / 10 ** (exp * 3);
  return withSuffix(toFixed(v, decimals), ` ${SI_PREFIXES[exp + SI_OFFSET + startOffset]}${unit}`);
}

function short(value, decimals) {
  const units = ['', ' K', ' Mil', ' Bil', ' Tri', ' Quadr', ' Quint', ' Sext', ' Sept'];
  let i = 0;
  let v = value;
  while (Math.abs(v) >= 1000 && i < units.length - 1) {
    v /= 1000;
    i += 1;
  }
  return withSuffix(toFixed(v, decimals), units[i]);
}

const BYTES_IEC = [' B', ' KiB', ' MiB', ' GiB', ' TiB', ' PiB', ' EiB'];
const BYTES_SI = [' B', ' kB', ' MB', ' GB', ' TB', ' PB', ' EB'];
const BITS_IEC = [' b', ' Kib', ' Mib', ' Gib', ' Tib', ' Pib'];
const BITS_SI = [' b', ' kb', ' Mb', ' Gb', ' Tb', ' Pb'];

function bytesLike(value, decimals, factor, units, start = 0, perSecond = '') {
  let i = start;
  let v = value;
  while (Math.abs(v) >= factor && i < units.length - 1) {
    v /= factor;
    i += 1;
  }
  return withSuffix(toFixed(v, decimals), units[i] + perSecond);
}

/** Seconds scaled to the largest fitting unit (`s` → ms … years), as Grafana's time units. */
function timeScaled(seconds, decimals) {
  const abs = Math.abs(seconds);
  if (abs === 0) return withSuffix(toFixed(0, decimals), ' s');
  if (abs < 1e-6) return withSuffix(toFixed(seconds * 1e9, decimals), ' ns');
  if (abs < 1e-3) return withSuffix(toFixed(seconds * 1e6, decimals), ' µs');
  if (abs < 1) return withSuffix(toFixed(seconds * 1e3, decimals), ' ms');
  if (abs < 60) return withSuffix(toFixed(seconds, decimals), ' s');
  if (abs < 3600) return withSuffix(toFixed(seconds / 60, decimals), ' min');
  if (abs < 86400) return withSuffix(toFixed(seconds / 3600, decimals), ' hour');
  if (abs < 604800) return withSuffix(toFixed(seconds / 86400, decimals), ' day');
  if (abs < 31536000) return withSuffix(toFixed(seconds / 604800, decimals), ' week');
  return withSuffix(toFixed(seconds / 31536000, decimals), ' year');
}

/** `dtdurations`: "2 days, 3 hours" — the two largest parts, as Grafana shows it. */
function durationText(seconds) {
  if (seconds < 0) return `-${durationText(-seconds)}`;
  if (seconds < 1) return `${toFixed(seconds * 1000, 0)} ms`;
  const parts = [];
  let s = Math.floor(seconds);
  for (const [name, size] of [['year', 31536000], ['month', 2592000], ['week', 604800], ['day', 86400], ['hour', 3600], ['minute', 60], ['second', 1]]) {
    if (s >= size) {
      const n = Math.floor(s / size);
      parts.push(`${n} ${name}${n === 1 ? '' : 's'}`);
      s -= n * size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(', ');
}

const FIXED_SUFFIX = {
  reqps: ' req/s', ops: ' ops/s', rps: ' rd/s', wps: ' wr/s', iops: ' io/s', opm: ' ops/min',
  reqpm: ' req/min', rpm: ' rd/min', wpm: ' wr/min', cps: ' c/s', mps: ' m/s', cpm: ' c/min',
  celsius: '°C', fahrenheit: '°F', kelvin: ' K', humidity: ' %H', pressurembar: ' mBar',
  hertz: ' Hz', volt: ' V', amp: ' A', watt: ' W', kwatt: ' kW', degree: '°',
  conns: ' conns', pps: ' p/s', rpm_: ' rpm', events: ' events', errors: ' errors',
  requests: ' requests',
};

const SCALED_RATES = { reqps: 1, ops: 1, rps: 1, wps: 1, iops: 1, cps: 1, pps: 1 };

/**
 * The value as `{text, suffix}` so callers can style the suffix apart; `null`,
 * NaN and ±Inf come back as Grafana shows them.
 */
export function formatParts(value, unit = 'short', decimals = null) {
  if (value == null || (typeof value === 'number' && Number.isNaN(value))) return { text: 'No data', suffix: '' };
  const v = Number(value);
  if (Number.isNaN(v)) return { text: String(value), suffix: '' };
  if (v === Infinity) return { text: '+Inf', suffix: '' };
  if (v === -Infinity) return { text: '-Inf', suffix: '' };
  const u = unit || 'short';
  if (u.startsWith('suffix:')) return withSuffix(toFixed(v, decimals), u.slice(7));
  if (u.startsWith('prefix:')) return { text: u.slice(7) + toFixed(v, decimals), suffix: '' };
  if (u.startsWith('si:')) return si(v, decimals, u.slice(3));
  if (u.startsWith('count:')) return withSuffix(short(v, decimals).text + short(v, decimals).suffix, ` ${u.slice(6)}`);
  switch (u) {
    case 'none': return withSuffix(toFixed(v, decimals), '');
    case 'short': return short(v, decimals);
    case 'locale': return withSuffix(v.toLocaleString(undefined, { maximumFractionDigits: decimalsFor(v, decimals) }), '');
    case 'sci': return withSuffix(v.toExponential(decimals == null ? 2 : Number(decimals)), '');
    case 'percent': return withSuffix(toFixed(v, decimals), '%');
    case 'percentunit': return withSuffix(toFixed(v * 100, decimals), '%');
    case 'bytes': return bytesLike(v, decimals, 1024, BYTES_IEC);
    case 'decbytes': return bytesLike(v, decimals, 1000, BYTES_SI);
    case 'kbytes': return bytesLike(v, decimals, 1024, BYTES_IEC, 1);
    case 'mbytes': return bytesLike(v, decimals, 1024, BYTES_IEC, 2);
    case 'gbytes': return bytesLike(v, decimals, 1024, BYTES_IEC, 3);
    case 'deckbytes': return bytesLike(v, decimals, 1000, BYTES_SI, 1);
    case 'decmbytes': return bytesLike(v, decimals, 1000, BYTES_SI, 2);
    case 'decgbytes': return bytesLike(v, decimals, 1000, BYTES_SI, 3);
    case 'bits': return bytesLike(v, decimals, 1024, BITS_IEC);
    case 'decbits': return bytesLike(v, decimals, 1000, BITS_SI);
    case 'Bps': return bytesLike(v, decimals, 1000, BYTES_SI, 0, '/s');
    case 'binBps': return bytesLike(v, decimals, 1024, BYTES_IEC, 0, '/s');
    case 'bps': return bytesLike(v, decimals, 1000, BITS_SI, 0, 'ps');
    case 'binbps': return bytesLike(v, decimals, 1024, BITS_IEC, 0, 'ps');
    case 'KBs': return bytesLike(v, decimals, 1000, BYTES_SI, 1, '/s');
    case 'MBs': return bytesLike(v, decimals, 1000, BYTES_SI, 2, '/s');
    case 'ns': return timeScaled(v / 1e9, decimals);
    case 'µs': case 'us': return timeScaled(v / 1e6, decimals);
    case 'ms': return timeScaled(v / 1e3, decimals);
    case 's': return timeScaled(v, decimals);
    case 'm': return timeScaled(v * 60, decimals);
    case 'h': return timeScaled(v * 3600, decimals);
    case 'd': return timeScaled(v * 86400, decimals);
    case 'dtdurations': return withSuffix(durationText(v), '');
    case 'dtdurationms': return withSuffix(durationText(v / 1000), '');
    case 'clocks': case 'clockms': {
      const secs = u === 'clockms' ? v / 1000 : v;
      const sign = secs < 0 ? '-' : '';
      const a = Math.abs(secs);
      const hh = String(Math.floor(a / 3600)).padStart(2, '0');
      const mm = String(Math.floor((a % 3600) / 60)).padStart(2, '0');
      const ss = String(Math.floor(a % 60)).padStart(2, '0');
      return withSuffix(`${sign}${hh}:${mm}:${ss}`, '');
    }
    case 'dateTimeAsIso': case 'dateTimeAsSystem': case 'dateTimeFromNow':
      return withSuffix(new Date(v).toISOString().replace('T', ' ').slice(0, 19), '');
    case 'bool': return withSuffix(v ? 'True' : 'False', '');
    case 'bool_yes_no': return withSuffix(v ? 'Yes' : 'No', '');
    case 'bool_on_off': return withSuffix(v ? 'On' : 'Off', '');
    case 'currencyUSD': return { text: `$${short(v, decimals).text}`, suffix: short(v, decimals).suffix };
    case 'currencyEUR': return { text: `€${short(v, decimals).text}`, suffix: short(v, decimals).suffix };
    default:
      if (u in FIXED_SUFFIX) {
        if (SCALED_RATES[u]) {
          const s = short(v, decimals);
          return withSuffix(s.text, s.suffix + FIXED_SUFFIX[u]);
        }
        return withSuffix(toFixed(v, decimals), FIXED_SUFFIX[u]);
      }
      // An id we do not know is shown as its own suffix, as Grafana's custom units.
      return withSuffix(toFixed(v, decimals), ` ${u}`);
  }
}

/** The value as one string, e.g. `formatValue(1536, 'bytes')` → "1.5 KiB". */
export function formatValue(value, unit = 'short', decimals = null) {
  const p = formatParts(value, unit, decimals);
  return p.text + p.suffix;
}

/** A formatter for uPlot axis ticks (`values(self, ticks, axisIdx, space, incr)`): auto decimals from the tick spacing. */
export function axisFormatter(unit = 'short', decimals = null) {
  return (self, ticks, axisIdx, space, incr) => {
    let d = decimals;
    if (d == null && unit !== 'dtdurations' && Number.isFinite(incr) && incr > 0 && incr < 1 && !/^(bytes|decbytes|bits|s|ms|µs|us|ns|percentunit)$/.test(unit)) {
      d = Math.min(6, Math.ceil(-Math.log10(incr)));
    }
    return ticks.map((t) => (t == null ? '' : formatValue(t, unit, d)));
  };
}
