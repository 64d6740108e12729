/** What the editor checks before sending a definition to Portal (which validates the whole environment again). */
export interface Checked {
  definition?: Record<string, unknown>;
  errors: string[];
}

const KNOWN = new Set(['state', 'variants', 'defaultVariant', 'targeting', 'metadata']);

/** Parses and checks a flagd flag definition as typed in the editor. */
export function validateDefinition(text: string): Checked {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { errors: [`Not valid JSON: ${e instanceof Error ? e.message : String(e)}`] };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    return { errors: ['The definition must be a JSON object'] };
  }
  const d = v as Record<string, unknown>;
  const errors: string[] = [];
  for (const k of Object.keys(d)) {
    if (!KNOWN.has(k)) {
      errors.push(`Unknown field "${k}" (allowed: ${[...KNOWN].join(', ')})`);
    }
  }
  if (d['state'] !== 'ENABLED' && d['state'] !== 'DISABLED') {
    errors.push('state must be "ENABLED" or "DISABLED"');
  }
  const variants = d['variants'];
  if (typeof variants !== 'object' || variants === null || Array.isArray(variants) || Object.keys(variants).length === 0) {
    errors.push('variants must be an object with at least one variant');
  } else {
    const types = new Set(Object.values(variants).map((x) => (x === null ? 'null' : Array.isArray(x) ? 'array' : typeof x)));
    if (types.size > 1) {
      errors.push(`all variants must have the same type (found ${[...types].join(', ')})`);
    }
    if (types.has('null') || types.has('array')) {
      errors.push('variant values must be booleans, strings, numbers or objects');
    }
    const dv = d['defaultVariant'];
    if (dv !== undefined && dv !== null && (typeof dv !== 'string' || !(dv in variants))) {
      errors.push(`defaultVariant "${String(dv)}" is not one of the variants (${Object.keys(variants).join(', ')})`);
    }
  }
  const targeting = d['targeting'];
  if (targeting !== undefined && (typeof targeting !== 'object' || targeting === null || Array.isArray(targeting))) {
    errors.push('targeting must be a JsonLogic object ({} for none)');
  }
  const metadata = d['metadata'];
  if (metadata !== undefined && (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))) {
    errors.push('metadata must be an object');
  }
  return errors.length > 0 ? { errors } : { definition: d, errors };
}
