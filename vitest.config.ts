import { configDefaults, defineConfig } from "vitest/config"

// Vitest 5's reporter calls Map.groupBy, which Node 20 lacks (Node 21+): without this, a failing test on Node 20
// crashes the reporter instead of being reported.
if (typeof (Map as { groupBy?: unknown }).groupBy !== "function") {
  Object.defineProperty(Map, "groupBy", {
    value: <K, V>(items: Iterable<V>, key: (item: V, index: number) => K) => {
      const groups = new Map<K, Array<V>>()
      let i = 0
      for (const item of items) {
        const k = key(item, i++)
        const group = groups.get(k)
        if (group === undefined) groups.set(k, [item])
        else group.push(item)
      }
      return groups
    },
    configurable: true,
    writable: true
  })
}

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    fileParallelism: true,
    // Three files at a time on the 2-core CI machine: most files spend their time waiting on engines, child
    // processes, sockets and timers, not on a core. One suite on Node 20 took 581 s with 2 and 443 s with 3, every
    // test passing in both (the sum of the files' own durations rose 14 %). Nothing here times a speed target.
    maxWorkers: 3,
    projects: [
      {
        extends: true,
        test: {
          name: "engine",
          include: ["test/**/*.test.ts"],
          exclude: [...configDefaults.exclude, "test/cluster/**"],
          sequence: { groupOrder: 0 }
        }
      },
      // Three engines on loopback, with bounds on how long a candidate may be without a working socket while they
      // fail and restart: run once every other file is done, so that no other test shares the machine's cores.
      {
        extends: true,
        test: { name: "cluster", include: ["test/cluster/**/*.test.ts"], sequence: { groupOrder: 1 } }
      }
    ]
  }
})
