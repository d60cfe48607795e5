// Dynamic config on every node: `npx tsx examples/dynamic-config/main.ts`
// (PORT defaults to 3000). Start two copies with REDIS_URL (or NATS_URL) set
// and a PUT on one changes the value on both. Without either, the store is
// this process's own.
//
//   curl localhost:3000/limits
//   curl -X PUT localhost:3000/limits/MAX_UPLOADS -H 'content-type: application/json' -d '{"value": 5}'
import { Config, DynamicConfigPlugin, Microservice, Module, Route, type Context, type CoordinatorOptions } from "nebula-native";
import { z } from "zod";

const coordinator: CoordinatorOptions = process.env.REDIS_URL
  ? { type: "redis", url: process.env.REDIS_URL }
  : process.env.NATS_URL
    ? { type: "nats", url: process.env.NATS_URL }
    : { type: "local" };
const config = new DynamicConfigPlugin({ coordinator });

@Module("limits")
export class Limits {
  // Store > environment variable MAX_UPLOADS > 10.
  @Config({
    key: "MAX_UPLOADS",
    defaultValue: 10,
    schema: z.number().int().min(1).max(1000),
    onChange: (next, previous) => console.log(`MAX_UPLOADS: ${previous} -> ${next}`),
  })
  maxUploads!: number;

  @Config({ key: "UPLOAD_TOKEN", defaultValue: "dev-token", sensitive: true })
  uploadToken!: string;

  @Route({ path: "/limits" })
  show() {
    return { maxUploads: this.maxUploads };
  }

  @Route({ path: "/limits/:key", method: "PUT" })
  async change(ctx: Context) {
    const { value } = (await ctx.req.json()) as { value: unknown };
    try {
      await config.setConfig(`dynamic-config/limits/${ctx.req.param("key")}`, value);
    } catch (err) {
      return ctx.json({ error: "Bad Request", message: (err as Error).message }, 400);
    }
    return { ok: true };
  }
}

const engine = new Microservice({ name: "dynamic-config", version: "1.0.0" }).plugin(config);

engine.start(Number(process.env.PORT ?? 3000)).then(
  (port) => console.log(`dynamic-config listening on http://localhost:${port}`),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, async () => {
    await engine.stop();
    process.exit(0);
  });
}
