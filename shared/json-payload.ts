/**
 * A signed payload's JSON, or undefined when the bytes are not JSON: the caller's zod schema then
 * refuses it with its own reason, as it refuses JSON of the wrong shape.
 */
export function parseJsonPayload(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}
