/**
 * The `analysis` message a candidate gets for each analysed frame: boxes and scores rounded (a tenth of a pixel,
 * four decimals) so the socket carries no more precision than means anything, and emotions only when the
 * interview has affect signals enabled.
 */
import type { FrameAnalysis } from "../../schemas/FrameAnalysis.ts"
import type { AnalysisFace, AnalysisMessage } from "../../schemas/Protocol.ts"

const r1 = (x: number) => Math.round(x * 10) / 10
const r4 = (x: number) => Math.round(x * 10_000) / 10_000

/** The reply to an analysed frame; `affect` false leaves out every face's emotions. */
export const analysisMessage = (a: FrameAnalysis, affect: boolean): AnalysisMessage => {
  const faces: Array<AnalysisFace> = a.faces.map((f) => ({
    box: [r1(f.box[0]), r1(f.box[1]), r1(f.box[2]), r1(f.box[3])],
    score: r4(f.score),
    ear: r4(f.ear.mean),
    eyesClosed: f.eyesClosed,
    emotion:
      affect && f.emotion !== null
        ? {
            angry: r4(f.emotion.angry),
            disgust: r4(f.emotion.disgust),
            fear: r4(f.emotion.fear),
            happy: r4(f.emotion.happy),
            sad: r4(f.emotion.sad),
            surprise: r4(f.emotion.surprise),
            neutral: r4(f.emotion.neutral)
          }
        : null
  }))
  return { _tag: "analysis", seq: a.seq, capturedAt: a.capturedAt, faces }
}
