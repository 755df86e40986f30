/**
 * The effect/cluster runtime for cluster mode: a socket runner at `CLUSTER_RUNNER_ADDRESS`, shards owned through
 * Postgres (the `cluster_*` tables, created by effect's own storage), runner health by ping. Every setting is
 * passed here explicitly: effect/cluster's environment reader would take the unprefixed `HOST` and `PORT`, which
 * are Candor's HTTP address.
 *
 * Failover: the runner holding the health check pings every runner every 3 s; one that does not answer (after
 * 2.5 s of retries) is marked unhealthy, and the survivors take its shards at their next assignment refresh
 * (twice a second). A killed runner's Postgres advisory locks go with its connection, so its shards are free at
 * once. One that is only frozen keeps its database session, and its locks, until the session has been idle for
 * `failoverSeconds`; it stops its entities when it cannot refresh its locks. When the killed runner was the one
 * running the health check, the check moves first, and its shards move after about `failoverSeconds`.
 */
import { layerClientProtocol, layerSocketServer } from "@effect/platform-node/NodeClusterSocket"
import * as NodeCrypto from "@effect/platform-node/NodeCrypto"
import { Context, Duration, Effect, Layer, Metric, Option } from "effect"
import * as ClusterMetrics from "effect/cluster/ClusterMetrics"
import { RunnerAddress } from "effect/cluster/RunnerAddress"
import * as RunnerHealth from "effect/cluster/RunnerHealth"
import * as Runners from "effect/cluster/Runners"
import * as ShardingConfig from "effect/cluster/ShardingConfig"
import * as SocketRunner from "effect/cluster/SocketRunner"
import * as SqlMessageStorage from "effect/cluster/SqlMessageStorage"
import * as SqlRunnerStorage from "effect/cluster/SqlRunnerStorage"
import { RunnerStorage } from "effect/cluster/RunnerStorage"
import * as RpcSerialization from "effect/rpc/RpcSerialization"
import type { ClusterSettings } from "../config.ts"
import { polled, sampled } from "../Metrics.ts"

/** The sharding settings Candor ships, from its own variables only. */
export const shardingSettings = (cluster: ClusterSettings): ShardingConfig.ShardingConfig["Service"] => {
  const failover = cluster.failoverSeconds
  return {
    ...ShardingConfig.defaults,
    runnerAddress: Option.some(RunnerAddress.make(cluster.runnerAddress)),
    runnerListenAddress: Option.some(RunnerAddress.make(cluster.listenAddress)),
    shardsPerGroup: cluster.shards,
    // Shard-lock statements (each bounded by the refresh interval) get a third of the failover time: on a busy
    // machine a lock refresh slower than that makes a runner drop its shards and its sessions move.
    shardLockRefreshInterval: Duration.millis(Math.floor((failover * 1000) / 3)),
    shardLockExpiration: Duration.seconds(failover),
    refreshAssignmentsInterval: Duration.millis(500),
    // A runner that no longer answers pings (killed, its host gone) is dropped from the runner list by this check
    // (and 2.5 s of retried pings): its advisory locks went with its connection. Unless it ran this check itself:
    // then the check moves first, after about `failover`.
    runnerHealthCheckInterval: Duration.millis(Math.min(3000, (failover * 1000) / 2)),
    // An owner stops its sessions (final writes) within this when its shards move.
    entityTerminationTimeout: Duration.seconds(10),
    // Candor's own checks validate every message on both sides: no extra round-trip through the encoder for
    // messages to entities on this runner.
    simulateRemoteSerialization: false
  }
}

/**
 * `Sharding` (and `Runners`, `MessageStorage`) for cluster mode; needs the `SqlClient` of `DATABASE_URL`. The bench
 * overrides settings (a runner that holds no shards) through `overrides`; the engine passes none.
 */
export const layer = (cluster: ClusterSettings, overrides: Partial<ShardingConfig.ShardingConfig["Service"]> = {}) =>
  Layer.provide(SocketRunner.layer, [layerSocketServer, layerClientProtocol]).pipe(
    Layer.provide(RunnerHealth.layerPing.pipe(Layer.provide(Runners.layerRpc), Layer.provide(layerClientProtocol))),
    Layer.provideMerge(SqlMessageStorage.layer.pipe(Layer.provide(NodeCrypto.layerDigest))),
    Layer.provideMerge(Layer.orDie(SqlRunnerStorage.layer)),
    Layer.provide(ShardingConfig.layer({ ...shardingSettings(cluster), ...overrides })),
    Layer.provide(RpcSerialization.layerSchemaBinary())
  )

const runnersGauge = Metric.gauge("candor_cluster_runners", {
  description: "Healthy runners in the cluster, as this node last read them (every 5 s)."
})
const shardsGauge = Metric.gauge("candor_cluster_shards", { description: "Shards this runner holds." })

/** `candor_cluster_runners` and `candor_cluster_shards` on this engine's /metrics. */
export const metricsLayer = Layer.effectDiscard(
  Effect.gen(function* () {
    const storage = yield* RunnerStorage
    const healthy = storage.getRunners.pipe(Effect.map((runners) => runners.filter(([, ok]) => ok).length))
    yield* polled(runnersGauge, healthy, "5 seconds")
    yield* sampled([[shardsGauge, () => Number(ClusterMetrics.shards.valueUnsafe(Context.empty()).value)]])
  })
)
