// Type checks (tsc, not run): the config API as a TypeScript user writes it.
import { loadConfig, buildEngine, startFromConfig, ConfigError, type NebulaConfigFile, type RunningConfig } from "nebula-native";

const file: NebulaConfigFile = {
  name: "svc",
  port: 3000,
  plugins: { rateLimit: { maxRequests: 100 }, cors: true, cache: { store: "memory", maxEntries: 10 }, jwtAuth: false },
  services: [{ name: "py", command: ["python3", "app.py"], routes: ["/api/py/*"], instances: 2 }],
  static: { path: "./public", prefix: "/assets" },
  hub: true,
};
void file;

export async function run(): Promise<RunningConfig | undefined> {
  try {
    const config = loadConfig("nebula.config.json", { env: { NEBULA_PORT: "8080" } });
    const { engine, services } = await buildEngine(config);
    void engine.getPort();
    void services?.status();
    const app = await startFromConfig({ loaded: config, watch: true, log: (line) => console.log(line) });
    const r = await app.reload();
    console.log(r.applied, r.refused, r.failed, r.errors, app.config.port, app.lastReload?.at);
    return app;
  } catch (err) {
    if (err instanceof ConfigError) for (const p of err.errors) console.log(p.path, p.message, p.source, err.lines);
    return undefined;
  }
}
