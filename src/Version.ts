/** Candor's version, in a module of its own so the command line can show it without loading the engine. */
export const VERSION = "0.1.0"
