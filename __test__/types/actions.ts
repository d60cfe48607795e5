// Type checks (tsc, not run): @Action, ActionPlugin, ClientCodePlugin and
// engine.handler() as a TypeScript user writes them.
import { z } from "zod";
import { Action, ActionPlugin, ClientCodePlugin, Testing, type ActionContext, type ActionModuleOptions } from "nebula-native";
import { MicroserviceClient, type ClientError, StreamError } from "nebula-native/client";

const { Module, engine } = Testing.createTestEngine({ plugins: [new ActionPlugin(), new ClientCodePlugin({ clientSavePath: "./client.ts" })] });

const moduleOptions: ActionModuleOptions = { actionMiddlewares: [async (_ctx, next) => void (await next())] };

@Module("user-service", moduleOptions)
class UserService {
  @Action({ description: "creates", params: [z.string(), z.number().optional()], returns: z.object({ id: z.string() }), idempotence: true })
  create(name: string, age?: number): { id: string; age: number } {
    return { id: name, age: age ?? 0 };
  }

  @Action({ params: [z.number()], stream: true })
  async *count(ctx: ActionContext, n: number): AsyncGenerator<number> {
    for (let i = 0; i < n && !ctx.signal.aborted; i++) yield i;
  }
}

export async function handlers(): Promise<void> {
  const create = engine.handler(UserService, "create");
  const made: { id: string; age: number } = await create("Ann", 3);
  void made;
  await create("Ann");
  // @ts-expect-error: name is a string
  await create(1);
  // @ts-expect-error: no such method
  engine.handler(UserService, "missing");
  const stream = await engine.handler(UserService, "count")({} as ActionContext, 3);
  for await (const n of stream) {
    const x: number = n;
    void x;
  }
}

export function client(): void {
  const c = new MicroserviceClient({ baseUrl: "http://localhost:3000", prefix: "", retry: { maxAttempts: 2 }, request: { timeout: 1000 } });
  c.close();
  void c.callRoute("GET", "/users/:id", { params: { id: 1 } });
  const e: ClientError = new StreamError("x");
  void e;
}
