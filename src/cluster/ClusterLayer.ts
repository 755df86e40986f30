/**
 * The effect/cluster runtime for cluster mode: a socket runner at `CLUSTER_RUNNER_ADDRESS`, shards owned through
 * Postgres (the `cluster_*` tables, created by effect's own storage), runner health by ping. Every setting is
 * passed here explicitly: effect/cluster's environment reader would take the unprefixed `HOST` and `PORT`, which
 * are Candor's HTTP address.
 *
 * Failover: a runner that stops heart-beating is dropped from the runner list after `failoverSeconds`, and the
 * survivors take its shards at their next assignment refresh (twice a second). Its Postgres advisory locks go with
 * its connection, so a killed runner's shards are free at once; one that is only frozen loses them when its
 * session times out, and it stops its entities when it cannot refresh its locks.
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
    shardLockRefreshInterval: Duration.millis(Math.max(1000, Math.floor((failover * 1000) / 3))),
    shardLockExpiration: Duration.seconds(failover),
    refreshAssignmentsInterval: Duration.millis(500),
    runnerHealthCheckInterval: Duration.seconds(Math.max(1, Math.floor(failover / 2))),
    // An owner stops its sessions (final writes) within this when its shards move.
    entityTerminationTimeout: Duration.seconds(10),
    // Candor's own checks validate every message on both sides: no extra round-trip through the encoder for
    // messages to entities on this runner.
    simulateRemoteSerialization: false
  }
}

/** `Sharding` (and `Runners`, `MessageStorage`) for cluster mode; needs the `SqlClient` of `DATABASE_URL`. */
export const layer = (cluster: ClusterSettings) =>
  Layer.provide(SocketRunner.layer, [layerSocketServer, layerClientProtocol]).pipe(
    Layer.provide(RunnerHealth.layerPing.pipe(Layer.provide(Runners.layerRpc), Layer.provide(layerClientProtocol))),
    Layer.provideMerge(SqlMessageStorage.layer.pipe(Layer.provide(NodeCrypto.layerDigest))),
    Layer.provideMerge(Layer.orDie(SqlRunnerStorage.layer)),
    Layer.provide(ShardingConfig.layer(shardingSettings(cluster))),
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
