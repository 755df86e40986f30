/** Files `candor analyze` takes as videos rather than images (by extension; the command line checks no content). */
export const videoExtensions = [".mp4", ".webm", ".mov", ".mkv", ".m4v", ".avi"] as const

export const isVideoPath = (path: string): boolean => videoExtensions.some((ext) => path.toLowerCase().endsWith(ext))
