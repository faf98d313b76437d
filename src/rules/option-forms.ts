import {z} from 'zod';
import type {Rule} from './types.js';

/** The options' JSON schema, for `rules explain --json` and docs. */
export function optionSchema(rule: Rule): unknown {
  try {
    return z.toJSONSchema(rule.meta.options, {unrepresentable: 'any'});
  } catch {
    return {};
  }
}

interface PropertySchema {
  type?: string;
  enum?: unknown[];
  default?: unknown;
  properties?: Record<string, PropertySchema>;
  additionalProperties?: PropertySchema | boolean;
  items?: PropertySchema;
}

function optionProperty(rule: Rule, key: string): PropertySchema | undefined {
  const props = (optionSchema(rule) as {properties?: Record<string, PropertySchema>}).properties;
  return props && Object.hasOwn(props, key) ? props[key] : undefined;
}

/**
 * `object` or `array` for an option whose value is given as JSON on the
 * command line (`--option RULE:KEY=JSON`), else null: such a value cannot be
 * written the way a number or a word is, and a key path such as
 * `severities.GPF` is no option.
 */
export function jsonOptionKind(rule: Rule, key: string): 'object' | 'array' | null {
  const type = optionProperty(rule, key)?.type;
  return type === 'object' || type === 'array' ? type : null;
}

/** The keys an object option knows, in the schema's order (empty when any key goes). */
export function jsonOptionKeys(rule: Rule, key: string): string[] {
  return Object.keys(optionProperty(rule, key)?.properties ?? {});
}

/** True when every key of an object option has a default, so a JSON value that leaves a key out keeps its default. */
export function jsonOptionKeysDefault(rule: Rule, key: string): boolean {
  const props = Object.values(optionProperty(rule, key)?.properties ?? {});
  return props.length > 0 && props.every((p) => p.default !== undefined);
}

/**
 * Where a key path into object option `key` leads (`severities.GPF`: to
 * GPF's string): the schema of the value there, or undefined when the path
 * leaves the option's shape, by a key the object does not have or by going
 * on past a value that is no object (`severities.GPF.x`).
 */
export function jsonOptionAt(rule: Rule, key: string, path: readonly string[]): PropertySchema | undefined {
  let node = optionProperty(rule, key);
  for (const k of path) {
    if (node?.type !== 'object') return undefined;
    if (node.properties && Object.hasOwn(node.properties, k)) node = node.properties[k];
    // A record (`z.record`): any key, each value of one schema.
    else if (typeof node.additionalProperties === 'object') node = node.additionalProperties;
    else return undefined;
  }
  return node;
}

/**
 * An example value of an object or array option: its first key (or `prefer`,
 * when the object has it) set to a value other than its default where the
 * schema lists the values (`{"BUG":"warning"}`, not the no-op
 * `{"BUG":"error"}`), else the default.
 */
export function jsonOptionExample(rule: Rule, key: string, prefer?: string): unknown {
  const prop = optionProperty(rule, key);
  if (prop?.type === 'array') return Array.isArray(prop.default) ? prop.default : [];
  const entries = Object.entries(prop?.properties ?? {});
  const [first, firstProp] = entries.find(([k]) => k === prefer) ?? entries[0] ?? [];
  if (first === undefined) return {};
  const other = firstProp?.enum?.find((v) => v !== firstProp.default);
  return {[first]: other ?? firstProp?.default ?? null};
}

/** `word` as one shell word: single-quoted unless it is plain. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The `--option` flag that sets `key` of `id` to `value` (JSON), quoted for a POSIX shell. */
export function optionFlag(id: string, key: string, value: unknown): string {
  return `--option ${shellWord(`${id}:${key}=${JSON.stringify(value)}`)}`;
}
