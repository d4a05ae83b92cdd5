/**
 * Short, safe descriptions of any value, for messages.
 *
 * @module
 */

/** A short, safe description of any value for messages; never throws. */
export function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "symbol") return String(value);
  if (typeof value === "bigint") return `${value}n`;
  try {
    if (typeof value === "function") return `function ${value.name || "(anonymous)"}`;
    const text = JSON.stringify(value);
    if (text !== undefined) return text.length > 200 ? `${text.slice(0, 197)}...` : text;
  } catch {
    // circular or otherwise unprintable
  }
  try {
    return Object.prototype.toString.call(value);
  } catch {
    return typeof value === "function" ? "a function" : "an object that cannot be read";
  }
}
