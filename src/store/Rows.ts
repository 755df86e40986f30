/** Small conversions shared by the repositories, so that PGlite and Postgres rows read the same. */

/** ISO 8601 from a `timestamptz` column, whichever way the driver returned it. */
export const toIso = (value: unknown): string => (value instanceof Date ? value : new Date(String(value))).toISOString()

export const toIsoOrNull = (value: unknown): string | null =>
  value === null || value === undefined ? null : toIso(value)

/** A `jsonb` column, whichever way the driver returned it. */
export const fromJson = <A>(value: unknown): A => (typeof value === "string" ? JSON.parse(value) : value) as A

/** New opaque id. */
export const newId = (): string => crypto.randomUUID()

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/u

/** Ids come from URLs: anything that is not one of ours is simply not found. */
export const isId = (value: string): boolean => uuidPattern.test(value)

/** A page cursor: the (time, id) of the last row of a page, opaque to clients. */
export const encodeCursor = (at: string, id: string): string => Buffer.from(`${at}|${id}`).toString("base64url")

/** The (time, id) of a cursor `encodeCursor` made; `undefined` for anything else. */
export const decodeCursor = (cursor: string): { at: string; id: string } | undefined => {
  const text = Buffer.from(cursor, "base64url").toString("utf8")
  const bar = text.lastIndexOf("|")
  if (bar < 0) return undefined
  const at = text.slice(0, bar)
  const id = text.slice(bar + 1)
  return isId(id) && !Number.isNaN(Date.parse(at)) ? { at, id } : undefined
}
