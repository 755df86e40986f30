/**
 * Where a webhook may point (server-side request forgery). Only http and https URLs without credentials; and unless
 * private networks are allowed, only hosts whose every address is public: not loopback, private, shared (CGNAT),
 * link-local, unique-local, multicast, reserved, documentation or unspecified, in IPv4 or IPv6 (IPv4-mapped,
 * -compatible, NAT64 and 6to4 addresses are judged by the IPv4 address inside). The same check runs when the
 * webhook is created and before every delivery, on the addresses the delivery then connects to, so a name that
 * later resolves to a private address (DNS rebinding) is refused too.
 */
import { Data, Effect } from "effect"
import * as Dns from "node:dns"
import * as Net from "node:net"

export class TargetRefused extends Data.TaggedError("TargetRefused")<{ readonly message: string }> {}

/** An address to connect to, checked. */
export interface ResolvedAddress {
  readonly address: string
  readonly family: 4 | 6
}

export interface CheckedTarget {
  readonly url: URL
  /** The host without IPv6 brackets. */
  readonly host: string
  readonly addresses: ReadonlyArray<ResolvedAddress>
}

type Range = readonly [bits: ReadonlyArray<number>, prefix: number, why: string]

const v4 = (a: number, b: number, c: number, d: number) => [a, b, c, d]

/** IPv4 ranges that are not the public internet. */
const privateV4: ReadonlyArray<Range> = [
  [v4(0, 0, 0, 0), 8, "unspecified"],
  [v4(10, 0, 0, 0), 8, "private"],
  [v4(100, 64, 0, 0), 10, "shared (carrier-grade NAT)"],
  [v4(127, 0, 0, 0), 8, "loopback"],
  [v4(169, 254, 0, 0), 16, "link-local"],
  [v4(172, 16, 0, 0), 12, "private"],
  [v4(192, 0, 0, 0), 24, "reserved"],
  [v4(192, 0, 2, 0), 24, "documentation"],
  [v4(192, 88, 99, 0), 24, "reserved"],
  [v4(192, 168, 0, 0), 16, "private"],
  [v4(198, 18, 0, 0), 15, "benchmarking"],
  [v4(198, 51, 100, 0), 24, "documentation"],
  [v4(203, 0, 113, 0), 24, "documentation"],
  [v4(224, 0, 0, 0), 4, "multicast"],
  [v4(240, 0, 0, 0), 4, "reserved"]
]

const matches = (bytes: ReadonlyArray<number>, base: ReadonlyArray<number>, prefix: number): boolean => {
  for (let bit = 0; bit < prefix; bit++) {
    const i = bit >> 3
    const mask = 0x80 >> (bit & 7)
    if ((bytes[i]! & mask) !== (base[i]! & mask)) return false
  }
  return true
}

const v4Bytes = (address: string): Array<number> => address.split(".").map((p) => Number(p))

/** The 16 bytes of an IPv6 address (with or without an embedded dotted IPv4 tail). */
const v6Bytes = (address: string): Array<number> => {
  let text = address.toLowerCase().split("%")[0]!
  const tail: Array<number> = []
  const lastColon = text.lastIndexOf(":")
  if (text.slice(lastColon + 1).includes(".")) {
    tail.push(...v4Bytes(text.slice(lastColon + 1)))
    text = `${text.slice(0, lastColon + 1)}0:0`
  }
  const [head, rest] = text.includes("::") ? text.split("::") : [text, undefined]
  const groups = (s: string | undefined) => (s === undefined || s === "" ? [] : s.split(":"))
  const left = groups(head)
  const right = groups(rest)
  const fill = rest === undefined ? [] : Array(8 - left.length - right.length).fill("0")
  const words = [...left, ...fill, ...right].map((g) => Number.parseInt(g, 16))
  const bytes = words.flatMap((w) => [w >> 8, w & 0xff])
  if (tail.length === 4) bytes.splice(12, 4, ...tail)
  return bytes
}

const why4 = (address: string): string | undefined => {
  const bytes = v4Bytes(address)
  if (bytes.every((b) => b === 255)) return "broadcast"
  return privateV4.find(([base, prefix]) => matches(bytes, base, prefix))?.[2]
}

const zeros = (n: number) => Array(n).fill(0) as Array<number>

const why6 = (address: string): string | undefined => {
  const b = v6Bytes(address)
  const embedded = (from: number) => b.slice(from, from + 4).join(".")
  if (b.every((x) => x === 0)) return "unspecified"
  if (matches(b, [...zeros(15), 1], 128)) return "loopback"
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d): the IPv4 address inside decides.
  if (matches(b, [...zeros(10), 0xff, 0xff], 96)) return why4(embedded(12))
  if (matches(b, zeros(12), 96)) return why4(embedded(12)) ?? "IPv4-compatible"
  // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) reach the IPv4 address they embed.
  if (matches(b, [0, 0x64, 0xff, 0x9b, ...zeros(8)], 96)) return why4(embedded(12))
  if (matches(b, [0x20, 0x02], 16)) return why4(embedded(2))
  if (matches(b, [0x20, 0x01, 0x0d, 0xb8], 32)) return "documentation"
  if (matches(b, [0xfc], 7)) return "unique-local"
  if (matches(b, [0xfe, 0x80], 10)) return "link-local"
  if (matches(b, [0xfe, 0xc0], 10)) return "site-local"
  if (matches(b, [0xff], 8)) return "multicast"
  if (matches(b, [0x01, 0, 0, 0, 0, 0, 0, 0], 64)) return "discard-only"
  return undefined
}

/** Why `address` (an IP literal) is not a public internet address, or undefined when it is. */
export const nonPublicReason = (address: string): string | undefined => {
  switch (Net.isIP(address)) {
    case 4:
      return why4(address)
    case 6:
      return why6(address)
    default:
      return "not an IP address"
  }
}

const refuse = (message: string) => new TargetRefused({ message })

/** Parses and checks the URL's form: http(s), no credentials, a host. */
export const parseTarget = (text: string): Effect.Effect<{ url: URL; host: string }, TargetRefused> =>
  Effect.suspend(() => {
    let url: URL
    try {
      url = new URL(text)
    } catch {
      return Effect.fail(refuse("url must be an absolute http or https URL"))
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") return Effect.fail(refuse("url must use http or https"))
    if (url.username !== "" || url.password !== "")
      return Effect.fail(refuse("url must not contain credentials; verify the signature instead"))
    // WHATWG URL parsing already turns numeric forms (2130706433, 0x7f.1) into dotted IPv4.
    const host = url.hostname.replace(/^\[|\]$/g, "")
    if (host === "") return Effect.fail(refuse("url must name a host"))
    return Effect.succeed({ url, host })
  })

const lookupAll = (host: string): Effect.Effect<ReadonlyArray<ResolvedAddress>, TargetRefused> =>
  Effect.callback<ReadonlyArray<ResolvedAddress>, TargetRefused>((resume) => {
    Dns.lookup(host, { all: true, verbatim: true }, (error, addresses) => {
      if (error !== null || addresses.length === 0) {
        resume(Effect.fail(refuse(`the host ${host} does not resolve${error === null ? "" : ` (${error.code})`}`)))
      } else {
        resume(Effect.succeed(addresses.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }))))
      }
    })
  })

/**
 * Parses `text`, resolves its host and checks every address it resolves to (an IP literal is its own address).
 * With `allowPrivate` only the URL's form is checked; the addresses are still resolved, to connect to them.
 */
export const checkTarget = (text: string, allowPrivate: boolean): Effect.Effect<CheckedTarget, TargetRefused> =>
  Effect.gen(function* () {
    const { url, host } = yield* parseTarget(text)
    const lower = host.toLowerCase().replace(/\.$/, "")
    if (!allowPrivate && (lower === "localhost" || lower.endsWith(".localhost")))
      return yield* refuse(`${host} is a loopback host; webhooks must reach a public address`)
    const family = Net.isIP(host)
    const addresses: ReadonlyArray<ResolvedAddress> =
      family === 0 ? yield* lookupAll(host) : [{ address: host, family: family === 6 ? 6 : 4 }]
    if (!allowPrivate) {
      for (const a of addresses) {
        const why = nonPublicReason(a.address)
        if (why !== undefined)
          return yield* refuse(
            `${host} resolves to ${a.address}, a ${why} address; webhooks must reach a public address`
          )
      }
    }
    return { url, host, addresses }
  })
