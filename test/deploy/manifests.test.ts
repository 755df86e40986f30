/**
 * The deployment files in `docker/` match the engine they deploy:
 *
 * - every YAML file parses (every document of it, `<<` merge keys resolved as Compose resolves them);
 * - every environment variable that `compose.yaml` and the Kubernetes manifests give an engine container is one
 *   Candor reads (a quoted name passed to a call in the modules that read the environment) and one the README's
 *   variable table documents;
 * - every metric that the alert rules and the Grafana dashboard query is one `src/` exports;
 * - the cluster-mode settings, probes and ports are the ones the engine expects, and files the configurations
 *   mount or load exist.
 *
 * Names not read yet are allowed below, each with its reason; an allowance that is no longer needed fails, so the
 * lists shrink as the engine catches up.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { parseAllDocuments } from "yaml"

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "../..")
const read = (file: string) => readFileSync(Path.join(root, file), "utf8")

/** Files under `dir` (relative to the repository root, with `/`), recursively. */
const walk = (dir: string): ReadonlyArray<string> =>
  readdirSync(Path.join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const file = `${dir}/${entry.name}`
    return entry.isDirectory() ? walk(file) : [file]
  })

/** Every document of a YAML text as plain data; throws with the file's name and the parser's first message. */
const parseYamlText = (file: string, text: string): ReadonlyArray<unknown> =>
  parseAllDocuments(text, { merge: true }).map((doc) => {
    const error = doc.errors[0]
    if (error !== undefined) throw new Error(`${file}: ${error.message}`)
    return doc.toJS()
  })
const parseYaml = (file: string) => parseYamlText(file, read(file))

type Data = Record<string, unknown>
const isData = (value: unknown): value is Data => typeof value === "object" && value !== null && !Array.isArray(value)
const asData = (value: unknown): Data => (isData(value) ? value : {})
const asList = (value: unknown): ReadonlyArray<unknown> => (Array.isArray(value) ? value : [])

// --- environment variables ---------------------------------------------------------------------------------

/**
 * The modules that read the environment. `src/config.ts` declares most settings; answer scoring still reads its
 * own (OPENAI_*, ANSWER_SAMPLES, SCORING_*).
 */
const environmentReaders = ["src/config.ts", "src/answers/AnswersConfig.ts", "src/reports/Reports.ts"]

/** Quoted UPPER_SNAKE names passed to a call: `Config.String("HOST")`, `positiveInt("PORT", …)`, `…, "LOG_LEVEL")`. */
const variablesIn = (source: string): ReadonlySet<string> =>
  new Set([...source.matchAll(/[(,]\s*"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)"/g)].map((m) => m[1]!))

/** Names in the first column of the README's variable table. */
const documentedIn = (readme: string): ReadonlySet<string> =>
  new Set([...readme.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \|/gm)].map((m) => m[1]!))

/** POD_IP is no setting of Candor's: the Deployment reads the pod's address into it to build CLUSTER_RUNNER_ADDRESS. */
const helperVariables: ReadonlySet<string> = new Set(["POD_IP"])

/** The names in `names` that are in none of `known`, sorted: what a manifest sets that Candor would ignore. */
const unknownNames = (names: Iterable<string>, ...known: ReadonlyArray<ReadonlySet<string>>): ReadonlyArray<string> =>
  [...new Set(names)].filter((name) => !known.some((set) => set.has(name))).sort()

const variablesRead = (): ReadonlySet<string> =>
  new Set(environmentReaders.flatMap((file) => [...variablesIn(read(file))]))

interface EngineEnv {
  /** The Compose service, or the Kubernetes workload and container. */
  readonly name: string
  /** Where the container is declared, for messages. */
  readonly where: string
  readonly env: Readonly<Record<string, string>>
}

/** A Compose service runs the engine when it is built from docker/Dockerfile or runs a `candor` image. */
const isEngineService = (service: Data): boolean =>
  asData(service["build"])["dockerfile"] === "docker/Dockerfile" || String(service["image"] ?? "").startsWith("candor")

const composeEnvironment = (value: unknown): Record<string, string> =>
  Array.isArray(value)
    ? Object.fromEntries(
        value.map((entry) => {
          const [name, ...rest] = String(entry).split("=")
          return [name!, rest.join("=")]
        })
      )
    : Object.fromEntries(Object.entries(asData(value)).map(([name, v]) => [name, String(v ?? "")]))

const composeEngines = (): ReadonlyArray<EngineEnv> => {
  const [compose] = parseYaml("docker/compose.yaml")
  return Object.entries(asData(asData(compose)["services"]))
    .filter(([, service]) => isEngineService(asData(service)))
    .map(([name, service]) => ({
      name,
      where: `docker/compose.yaml services.${name}`,
      env: composeEnvironment(asData(service)["environment"])
    }))
}

const k8sFiles = () => walk("docker/k8s").filter((file) => /\.ya?ml$/.test(file))
const k8sObjects = (): ReadonlyArray<Data> => k8sFiles().flatMap((file) => parseYaml(file).filter(isData))
const k8sObject = (kind: string, name: string): Data | undefined =>
  k8sObjects().find((o) => o["kind"] === kind && asData(o["metadata"])["name"] === name)
const workloadKinds = new Set(["Deployment", "StatefulSet", "DaemonSet"])

/** A container's variables: `env` entries, then the keys of the ConfigMaps and Secrets it takes whole (`envFrom`). */
const containerEnvironment = (container: Data, objects: ReadonlyArray<Data>): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const from of asList(container["envFrom"]).map(asData)) {
    for (const [kind, ref] of [
      ["ConfigMap", from["configMapRef"]],
      ["Secret", from["secretRef"]]
    ] as const) {
      if (ref === undefined) continue
      const name = asData(ref)["name"]
      const prefix = String(from["prefix"] ?? "")
      const source = objects.find((o) => o["kind"] === kind && asData(o["metadata"])["name"] === name)
      if (source === undefined) throw new Error(`envFrom names ${kind} ${String(name)}, which no manifest defines`)
      for (const key of [...Object.keys(asData(source["data"])), ...Object.keys(asData(source["stringData"]))]) {
        env[prefix + key] = String(asData(source["data"])[key] ?? asData(source["stringData"])[key] ?? "")
      }
    }
  }
  for (const entry of asList(container["env"]).map(asData)) env[String(entry["name"])] = String(entry["value"] ?? "")
  return env
}

const k8sEngines = (): ReadonlyArray<EngineEnv> => {
  const objects = k8sObjects()
  return objects
    .filter((o) => workloadKinds.has(String(o["kind"])))
    .flatMap((workload) => {
      const pod = asData(asData(asData(workload["spec"])["template"])["spec"])
      const workloadName = `${String(workload["kind"])} ${String(asData(workload["metadata"])["name"])}`
      return [...asList(pod["initContainers"]), ...asList(pod["containers"])].map(asData).map((container) => ({
        name: `${workloadName}/${String(container["name"])}`,
        where: `docker/k8s ${workloadName} container ${String(container["name"])}`,
        env: containerEnvironment(container, objects)
      }))
    })
}

// --- metrics -------------------------------------------------------------------------------------------------

/** Metric names the engine exports: quoted names in `src/` (the bench only reads them, so it is left out). */
const exportedMetrics = (): ReadonlySet<string> =>
  new Set(
    walk("src")
      .filter((file) => file.endsWith(".ts") && !file.startsWith("src/bench/"))
      .flatMap((file) => [...read(file).matchAll(/"((?:candor|nodejs|process|http)_[a-z0-9_]+)"/g)].map((m) => m[1]!))
  )

/** Series Prometheus makes itself for every target. */
const prometheusSeries: ReadonlySet<string> = new Set(["up"])

const promqlWords = new Set(["and", "or", "unless", "bool", "offset", "inf", "nan"])

/** The metric names a PromQL expression reads (functions, keywords, labels, strings and ranges left out). */
const metricsIn = (expr: string): ReadonlyArray<string> => {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, "")
    .replace(/\{[^}]*\}/g, "")
    .replace(/\[[^\]]*\]/g, "")
    .replace(/\$\{?\w+\}?/g, "")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "")
  const names = new Set<string>()
  for (const m of bare.matchAll(/(?<![\w:.])([A-Za-z_:][\w:]*)(\s*\()?/g)) {
    const name = m[1]!
    if (m[2] === undefined && !promqlWords.has(name.toLowerCase())) names.add(name)
  }
  return [...names].sort()
}

/** The names in `names` that no series of `known` provides (a histogram's `_bucket`, `_sum`, `_count` included). */
const unknownMetrics = (names: Iterable<string>, ...known: ReadonlyArray<ReadonlySet<string>>): ReadonlyArray<string> =>
  unknownNames(
    [...names].filter((name) => !known.some((set) => set.has(name.replace(/_(bucket|sum|count)$/, "")))),
    ...known
  )

/** Every `expr` of a parsed alert rules file or Grafana dashboard, with where it is. */
const exprsIn = (where: string, value: unknown): ReadonlyArray<{ where: string; expr: string }> => {
  if (Array.isArray(value)) return value.flatMap((item, i) => exprsIn(`${where}[${i}]`, item))
  if (!isData(value)) return []
  return Object.entries(value).flatMap(([key, v]) =>
    key === "expr" && typeof v === "string" ? [{ where, expr: v }] : exprsIn(`${where}.${key}`, v)
  )
}

const ruleFiles = () => walk("docker/prometheus").filter((file) => /alert|rule/.test(Path.basename(file)))

// --- tests ---------------------------------------------------------------------------------------------------

describe("deployment files", () => {
  it("every YAML file under docker/ parses", () => {
    const files = walk("docker").filter((file) => /\.ya?ml$/.test(file))
    expect(files).toEqual(expect.arrayContaining(["docker/compose.yaml", "docker/k8s/candor.yaml"]))
    for (const file of files) expect(parseYaml(file).length, file).toBeGreaterThan(0)
  })

  it("a YAML error is reported with its file", () => {
    expect(() => parseYamlText("broken.yaml", "a: [1, 2\nb: 3\n")).toThrow(/^broken\.yaml: /)
    expect(() => parseYamlText("twice.yaml", "a: 1\na: 2\n")).toThrow(/^twice\.yaml: /)
    expect(parseYamlText("merged.yaml", "x: &x { a: 1 }\ny: { <<: *x, b: 2 }\n")).toEqual([
      { x: { a: 1 }, y: { a: 1, b: 2 } }
    ])
  })

  describe("environment variables", () => {
    const readByCandor = variablesRead()
    const documented = documentedIn(read("README.md"))

    it("finds the variables Candor reads and documents", () => {
      expect(readByCandor.has("HOST")).toBe(true)
      expect(readByCandor.has("LOG_LEVEL")).toBe(true)
      expect(readByCandor.has("OPENAI_API_KEYS")).toBe(true)
      expect(readByCandor.has("SCORING_CONCURRENCY")).toBe(true)
      expect(readByCandor.size).toBeGreaterThan(50)
      expect(documented.has("TOKEN_SECRET")).toBe(true)
      expect(variablesIn(`Config.String("HOST")\nconfig("not-a-name")\nconst x = "PORT"`)).toEqual(new Set(["HOST"]))
    })

    it("reports a name Candor does not read", () => {
      expect(unknownNames(["HOST", "CANDOR_MADE_UP", "TOKEN_SECRET"], readByCandor)).toEqual(["CANDOR_MADE_UP"])
      expect(unknownNames(["POD_IP"], readByCandor)).toEqual(["POD_IP"])
      expect(unknownNames(["POD_IP"], readByCandor, helperVariables)).toEqual([])
    })

    it("compose.yaml sets on its engines only variables Candor reads and documents", () => {
      const engines = composeEngines()
      expect(engines.length).toBeGreaterThanOrEqual(2)
      for (const { where, env } of engines) {
        expect(unknownNames(Object.keys(env), readByCandor), `${where}: not read by Candor`).toEqual([])
        expect(unknownNames(Object.keys(env), documented), `${where}: not in README`).toEqual([])
      }
    })

    it("the Kubernetes manifests set on their engines only variables Candor reads and documents", () => {
      const engines = k8sEngines()
      expect(engines.length).toBeGreaterThanOrEqual(1)
      for (const { where, env } of engines) {
        const names = Object.keys(env)
        expect(unknownNames(names, readByCandor, helperVariables), `${where}: not read`).toEqual([])
        expect(unknownNames(names, documented, helperVariables), `${where}: not in README`).toEqual([])
      }
    })

    it("the helper variable is still no setting of Candor's", () => {
      expect(
        [...helperVariables].filter((name) => readByCandor.has(name)),
        "read by Candor now"
      ).toEqual([])
    })
  })

  describe("metrics", () => {
    const exported = exportedMetrics()
    const queries = [
      ...ruleFiles().flatMap((file) => parseYaml(file).flatMap((doc) => exprsIn(file, doc))),
      ...exprsIn("docker/grafana-dashboard.json", JSON.parse(read("docker/grafana-dashboard.json")))
    ]

    it("reads the metric names out of PromQL", () => {
      expect(
        metricsIn(
          `histogram_quantile(0.99, sum by (instance, le) (rate(candor_pool_latency_ms_bucket{outcome="x"}[5m]))) > 1e3`
        )
      ).toEqual(["candor_pool_latency_ms_bucket"])
      expect(
        metricsIn(`sum(rate(a_total[5m])) / sum(rate(b_total[5m])) > 0.01 and on (instance) up == 1 or vector(0)`)
      ).toEqual(["a_total", "b_total", "up"])
    })

    it("reports a metric src/ does not export", () => {
      expect(exported.has("candor_frames_shed_total")).toBe(true)
      expect(unknownMetrics(metricsIn("rate(candor_frames_shed_total[5m])"), exported)).toEqual([])
      expect(unknownMetrics(metricsIn("candor_pool_latency_ms_bucket"), exported)).toEqual([])
      expect(unknownMetrics(metricsIn("rate(candor_frames_shedd_total[5m]) > 0"), exported)).toEqual([
        "candor_frames_shedd_total"
      ])
    })

    it("the alert rules and the dashboard query only metrics src/ exports", () => {
      expect(ruleFiles().length).toBeGreaterThan(0)
      expect(queries.length).toBeGreaterThan(10)
      for (const { where, expr } of queries) {
        expect(unknownMetrics(metricsIn(expr), exported, prometheusSeries), `${where}: ${expr}`).toEqual([])
      }
    })

    it("every alert rule has a name, an expression and a severity", () => {
      for (const file of ruleFiles()) {
        const rules = parseYaml(file).flatMap((doc) =>
          asList(asData(doc)["groups"]).flatMap((g) => asList(asData(g)["rules"]))
        )
        expect(rules.length, file).toBeGreaterThan(0)
        for (const rule of rules.map(asData)) {
          expect(typeof rule["alert"], JSON.stringify(rule)).toBe("string")
          expect(typeof rule["expr"], String(rule["alert"])).toBe("string")
          expect(["info", "warning", "critical"], String(rule["alert"])).toContain(asData(rule["labels"])["severity"])
        }
      }
    })
  })

  describe("cluster mode", () => {
    it("compose.yaml runs two or more engines in cluster mode on shared services", () => {
      const engines = composeEngines()
      expect(engines.length).toBeGreaterThanOrEqual(2)
      for (const { name, where, env } of engines) {
        expect(env["CLUSTER_RUNNER_ADDRESS"], where).toBe(`${name}:34431`)
        expect(env["CLUSTER_LISTEN_ADDRESS"], where).toBe("0.0.0.0:34431")
        expect(env["HOST"], where).toBe("0.0.0.0")
        for (const shared of ["DATABASE_URL", "REDIS_URL", "TOKEN_SECRET", "PUBLIC_URL", "S3_BUCKET"]) {
          expect(env[shared], `${where} ${shared}`).toBeTruthy()
          expect(env[shared], `${where} ${shared}`).toBe(engines[0]!.env[shared])
        }
        expect((env["TOKEN_SECRET"] ?? "").length, where).toBeGreaterThanOrEqual(32)
      }
    })

    it("the Deployment runs engines in cluster mode with probes, secrets and a drain", () => {
      const deployment = k8sObject("Deployment", "candor")
      expect(deployment).toBeDefined()
      const spec = asData(deployment!["spec"])
      expect(Number(spec["replicas"])).toBeGreaterThanOrEqual(2)
      const pod = asData(asData(spec["template"])["spec"])
      const engine = asData(asList(pod["containers"])[0])
      const env = asList(engine["env"]).map(asData)
      const index = (name: string) => env.findIndex((e) => e["name"] === name)

      expect(asData(asData(env[index("POD_IP")]?.["valueFrom"])["fieldRef"])["fieldPath"]).toBe("status.podIP")
      expect(env[index("CLUSTER_RUNNER_ADDRESS")]?.["value"]).toBe("$(POD_IP):34431")
      expect(env[index("CLUSTER_LISTEN_ADDRESS")]?.["value"]).toBe("0.0.0.0:34431")
      expect(env[index("HOST")]?.["value"]).toBe("0.0.0.0")
      // A $(NAME) reference is expanded only from variables listed before it.
      env.forEach((entry, i) => {
        for (const m of String(entry["value"] ?? "").matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)) {
          const at = index(m[1]!)
          expect(at >= 0 && at < i, `${String(entry["name"])} uses $(${m[1]}) before it is defined`).toBe(true)
        }
      })
      for (const secret of ["DATABASE_URL", "REDIS_URL", "TOKEN_SECRET", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"]) {
        const ref = asData(asData(env[index(secret)]?.["valueFrom"])["secretKeyRef"])
        expect(ref["key"], `${secret} from a Secret`).toBe(secret)
      }

      const ports = asList(engine["ports"]).map(asData)
      expect(ports.map((p) => [p["name"], p["containerPort"]])).toEqual(
        expect.arrayContaining([
          ["http", 8080],
          ["runner", 34431]
        ])
      )
      expect(asData(asData(engine["readinessProbe"])["httpGet"])["path"]).toBe("/readyz")
      expect(asData(asData(engine["livenessProbe"])["httpGet"])["path"]).toBe("/healthz")
      const preStop = asList(asData(asData(asData(engine["lifecycle"])["preStop"])["exec"])["command"])
      expect(preStop[0]).toBe("sleep")
      expect(Number(pod["terminationGracePeriodSeconds"])).toBeGreaterThanOrEqual(Number(preStop[1]) + 30)
    })

    it("Services, Ingress, autoscaler and disruption budget are there", () => {
      const runners = asData(k8sObject("Service", "candor-runners")?.["spec"])
      expect(runners["clusterIP"]).toBe("None")
      expect(asList(runners["ports"]).map((p) => asData(p)["port"])).toEqual([34431])
      expect(k8sObject("Service", "candor")).toBeDefined()
      const annotations = asData(asData(k8sObject("Ingress", "candor")?.["metadata"])["annotations"])
      expect(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]).toBe("3600")
      expect(annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"]).toBe("3600")
      const hpa = asData(k8sObject("HorizontalPodAutoscaler", "candor")?.["spec"])
      expect(Number(hpa["minReplicas"])).toBeGreaterThanOrEqual(2)
      expect(asList(hpa["metrics"]).map((m) => asData(asData(m)["resource"])["name"])).toContain("cpu")
      const pdb = asData(k8sObject("PodDisruptionBudget", "candor")?.["spec"])
      expect(pdb["maxUnavailable"] ?? pdb["minAvailable"]).toBe(1)
    })

    it("the files the configurations mount or load exist", () => {
      const [compose] = parseYaml("docker/compose.yaml")
      const mounts = Object.values(asData(asData(compose)["services"])).flatMap((service) =>
        asList(asData(service)["volumes"])
          .map((v) => String(v).split(":")[0]!)
          .filter((source) => source.startsWith("."))
      )
      expect(mounts.length).toBeGreaterThan(0)
      for (const source of mounts) expect(existsSync(Path.join(root, "docker", source)), source).toBe(true)
      const [prometheus] = parseYaml("docker/prometheus/prometheus.yaml")
      const rules = asList(asData(prometheus)["rule_files"]).map(String)
      expect(rules.length).toBeGreaterThan(0)
      for (const file of rules) expect(existsSync(Path.join(root, "docker/prometheus", file)), file).toBe(true)
    })
  })
})
