import { describe, expect, it } from "@effect/vitest"
import type { ScoreEvent } from "../../schemas/ScoreEvent.ts"
import { BlinkDetector } from "../../src/pipeline/scorers/BlinkDetector.ts"
import { totalVariation } from "../../src/pipeline/scorers/EmotionStats.ts"
import { type ScoreSink, SessionScorer } from "../../src/pipeline/scorers/SessionScorer.ts"
import type { ScoreWindowRow } from "../../src/store/SessionWrites.ts"
import { analysis, face, happy, neutral } from "./support/analyses.ts"

const collect = () => {
  const events: Array<ScoreEvent> = []
  const windows: Array<ScoreWindowRow> = []
  let seq = 0
  const sink: ScoreSink = {
    interviewId: "i1",
    nextSeq: () => ++seq,
    event: (e) => events.push(e),
    window: (w) => windows.push(w)
  }
  return { sink, events, windows, of: (tag: ScoreEvent["_tag"]) => events.filter((e) => e._tag === tag) }
}

/** Feeds EAR values at a fixed frame interval; returns the blink durations observed. */
const feed = (detector: BlinkDetector, ears: ReadonlyArray<number | undefined>, stepMs: number, from = 0) => {
  const blinks: Array<number> = []
  ears.forEach((ear, i) => {
    const d = detector.observe(from + i * stepMs, ear)
    if (d >= 0) blinks.push(d)
  })
  return blinks
}

const repeat = <A>(value: A, n: number): Array<A> => Array.from({ length: n }, () => value)

describe("BlinkDetector", () => {
  it("counts a closure of a few frames as one blink and measures it to the reopening frame", () => {
    const d = new BlinkDetector()
    const blinks = feed(d, [...repeat(0.3, 10), ...repeat(0.1, 4), ...repeat(0.3, 10)], 33)
    expect(blinks).toEqual([4 * 33])
    expect(d.total).toBe(1)
  })

  it("does not count EAR jitter inside the hysteresis band twice", () => {
    const d = new BlinkDetector()
    // Dips below the closing threshold, then wavers between the thresholds before opening for real.
    const blinks = feed(d, [0.3, 0.3, 0.15, 0.21, 0.19, 0.23, 0.19, 0.22, 0.3, 0.3], 40)
    expect(blinks).toHaveLength(1)
  })

  it("ignores closures shorter than the minimum and longer than the maximum", () => {
    const tooShort = new BlinkDetector()
    expect(feed(tooShort, [0.3, 0.1, 0.3, 0.3], 20)).toEqual([])
    const tooLong = new BlinkDetector()
    expect(feed(tooLong, [0.3, ...repeat(0.1, 30), 0.3], 33)).toEqual([])
    expect(tooLong.total).toBe(0)
  })

  it("counts one closed frame at 5 fps as a blink", () => {
    const d = new BlinkDetector()
    expect(feed(d, [0.3, 0.3, 0.12, 0.3], 200)).toEqual([200])
  })

  it("cancels a closure when the face disappears", () => {
    const d = new BlinkDetector()
    expect(feed(d, [0.3, 0.1, undefined, 0.3, 0.3], 50)).toEqual([])
  })

  it("ignores frames older than the last one", () => {
    const d = new BlinkDetector()
    expect(d.observe(1000, 0.3)).toBe(-1)
    expect(d.observe(1100, 0.1)).toBe(-1)
    expect(d.observe(900, 0.3)).toBe(-1)
    expect(d.observe(1200, 0.3)).toBe(100)
  })

  it("reports blinks per minute only after 10 s and over the trailing minute", () => {
    const d = new BlinkDetector()
    // One blink every 3 s for 90 s at 10 fps.
    for (let t = 0; t <= 90_000; t += 100) d.observe(t, t % 3000 === 1500 ? 0.1 : 0.3)
    expect(d.total).toBe(30)
    expect(d.perMinute(90_000)).toBeCloseTo(20, 0)
    const half = new BlinkDetector()
    for (let t = 0; t <= 30_000; t += 100) half.observe(t, t % 3000 === 1500 ? 0.1 : 0.3)
    expect(half.perMinute(30_000)).toBeCloseTo(20, 0)
    const early = new BlinkDetector()
    early.observe(0, 0.3)
    expect(early.perMinute(9_000)).toBeNull()
  })

  it("resumes from a snapshot with the same counts", () => {
    const d = new BlinkDetector()
    feed(d, [0.3, 0.1, 0.1, 0.3, 0.3, 0.1], 40)
    const resumed = new BlinkDetector(undefined, d.snapshot())
    expect(resumed.total).toBe(1)
    // The closure in progress continues across the snapshot.
    expect(resumed.observe(6 * 40 + 40, 0.3)).toBe(80)
  })
})

describe("SessionScorer", () => {
  const frames = (
    scorer: SessionScorer,
    sink: ScoreSink,
    from: number,
    seconds: number,
    fps: number,
    make = () => [face()]
  ) => {
    const step = 1000 / fps
    for (let i = 0; i < seconds * fps; i++) {
      const at = from + i * step
      scorer.frame(analysis(i, at, make()), at, sink)
    }
  }

  it("emits one attention and one emotion window per second, closed by the next second's frame", () => {
    const { sink, of, windows } = collect()
    const scorer = new SessionScorer(true)
    scorer.beginQuestion("q1", 0, 0)
    frames(scorer, sink, 10_000, 3.5, 10)
    expect(of("attention").map((e) => (e as any).second)).toEqual([0, 1, 2])
    expect(of("emotion")).toHaveLength(3)
    const first = of("attention")[0] as Extract<ScoreEvent, { _tag: "attention" }>
    expect(first).toMatchObject({ interviewId: "i1", frames: 10, facePresence: 1, multipleFaces: 0, questionId: "q1" })
    expect(first.at).toBe(11_000)
    expect(windows.map((w) => w.second)).toEqual([0, 1, 2])
    expect(windows[0]).toMatchObject({ frames: 10, facePresence: 1, blinks: 0, earMean: 0.3 })
    expect(windows[0]!.emotion!.neutral).toBe(1)
    const seqs = (of("attention") as Array<ScoreEvent>).concat(of("emotion")).map((e) => e.seq)
    expect(new Set(seqs).size).toBe(seqs.length)
  })

  it("measures face presence and a second face", () => {
    const { sink, of } = collect()
    const scorer = new SessionScorer(false)
    let i = 0
    frames(scorer, sink, 0, 2, 10, () => {
      i++
      return i % 2 === 0 ? [] : i % 5 === 0 ? [face(), face()] : [face()]
    })
    scorer.closeWindow(sink)
    const [a, b] = of("attention") as Array<Extract<ScoreEvent, { _tag: "attention" }>>
    expect(a!.facePresence).toBe(0.5)
    expect(a!.multipleFaces).toBe(0.1)
    expect(b!.facePresence).toBe(0.5)
  })

  it("computes no affect signal with affect signals off", () => {
    const { sink, events, windows } = collect()
    const scorer = new SessionScorer(false)
    scorer.beginQuestion("q1", 0, 0)
    let n = 0
    frames(scorer, sink, 0, 4, 10, () => [face(n++ % 10 === 5 ? 0.1 : 0.3, null)])
    scorer.endQuestion(5_000, sink)
    expect(events.map((e) => e._tag).filter((t) => t === "emotion" || t === "blink")).toEqual([])
    expect(windows.every((w) => w.blinks === null && w.earMean === null && w.emotion === null)).toBe(true)
    const summary = events.find((e) => e._tag === "questionSummary") as Extract<ScoreEvent, { _tag: "questionSummary" }>
    expect(summary).toMatchObject({
      blinks: null,
      blinksPerMinute: null,
      emotion: null,
      dominant: null,
      volatility: null
    })
    expect(summary.facePresence).toBe(1)
  })

  it("emits blinks with affect signals on and counts them in the window and the question", () => {
    const { sink, of, windows } = collect()
    const scorer = new SessionScorer(true)
    scorer.beginQuestion("q1", 0, 0)
    let n = 0
    // 10 fps for 12 s; eyes closed for one frame every 2 s.
    frames(scorer, sink, 0, 12, 10, () => [face(n++ % 20 === 10 ? 0.1 : 0.3)])
    scorer.endQuestion(12_000, sink)
    const blinks = of("blink") as Array<Extract<ScoreEvent, { _tag: "blink" }>>
    expect(blinks).toHaveLength(6)
    expect(blinks.map((b) => b.total)).toEqual([1, 2, 3, 4, 5, 6])
    expect(blinks[0]!.perMinute).toBeNull()
    expect(blinks[5]!.perMinute).toBeCloseTo(32.7, 0)
    expect(windows.reduce((n, w) => n + (w.blinks ?? 0), 0)).toBe(6)
    const summary = of("questionSummary")[0] as Extract<ScoreEvent, { _tag: "questionSummary" }>
    expect(summary.blinks).toBe(6)
    expect(summary.blinksPerMinute).toBeCloseTo(30.25, 1)
  })

  it("measures emotion volatility as frame-to-frame change", () => {
    const steady = collect()
    const a = new SessionScorer(true)
    frames(a, steady.sink, 0, 1.1, 10, () => [face(0.3, neutral)])
    const jumpy = collect()
    const b = new SessionScorer(true)
    let n = 0
    frames(b, jumpy.sink, 0, 1.1, 10, () => [face(0.3, n++ % 2 === 0 ? neutral : happy)])
    expect((steady.of("emotion")[0] as any).volatility).toBe(0)
    expect((jumpy.of("emotion")[0] as any).volatility).toBeCloseTo(totalVariation(neutral, happy), 4)
    expect((jumpy.of("emotion")[0] as any).distribution.happy).toBeCloseTo(0.45, 4)
  })

  it("summarises each question and keeps late frames out of closed windows", () => {
    const { sink, of, windows } = collect()
    const scorer = new SessionScorer(true)
    scorer.beginQuestion("q1", 0, 1_000)
    frames(scorer, sink, 0, 2.5, 10)
    scorer.endQuestion(4_000, sink)
    scorer.beginQuestion("q2", 1, 4_000)
    // A frame from second 1 arrives after the question changed: it counts for q2, in no window.
    scorer.frame(analysis(99, 1_500, [face()]), 4_100, sink)
    frames(scorer, sink, 3_000, 1.5, 10)
    scorer.endQuestion(6_000, sink)
    const summaries = of("questionSummary") as Array<Extract<ScoreEvent, { _tag: "questionSummary" }>>
    expect(summaries.map((s) => [s.questionId, s.index, s.frames, s.durationMs])).toEqual([
      ["q1", 0, 25, 3_000],
      ["q2", 1, 16, 2_000]
    ])
    expect(windows.map((w) => [w.second, w.questionId])).toEqual([
      [0, "q1"],
      [1, "q1"],
      [2, "q1"],
      [3, "q2"],
      [4, "q2"]
    ])
  })

  it("closes an idle window on tick", () => {
    const { sink, of } = collect()
    const scorer = new SessionScorer(true)
    scorer.frame(analysis(1, 0, [face()]), 100, sink)
    scorer.tick(1_000, sink)
    expect(of("attention")).toHaveLength(0)
    scorer.tick(2_000, sink)
    expect(of("attention")).toHaveLength(1)
  })

  it("continues from a snapshot without emitting a second window for the same second", () => {
    const first = collect()
    const scorer = new SessionScorer(true)
    scorer.beginQuestion("q1", 0, 0)
    frames(scorer, first.sink, 0, 1.5, 10)
    const state = JSON.parse(JSON.stringify(scorer.state()))
    const second = collect()
    const resumed = new SessionScorer(true, undefined, state)
    resumed.frame(analysis(50, 1_600, [face()]), 1_600, second.sink)
    resumed.frame(analysis(51, 2_100, [face()]), 2_100, second.sink)
    resumed.endQuestion(3_000, second.sink)
    expect(second.windows.map((w) => w.second)).toEqual([2])
    expect((second.of("questionSummary")[0] as any).frames).toBe(17)
  })
})
