// Actions: nebula's RPC over HTTP, and the TypeScript client generated for them.
//
//   npx tsx examples/actions/main.ts
//   curl 'http://localhost:3000/api/todo-service/add?0=milk'
//   curl -X POST http://localhost:3000/api/todo-service/list -d '{}'
//   curl -N -X POST http://localhost:3000/api/todo-service/watch -d '{"0": 3}'
//   curl http://localhost:3000/api/client.ts        (also written to examples/actions/generated/client.ts)
//   curl http://localhost:3000/openapi.json         (and the Swagger UI page at http://localhost:3000/docs)
import path from "node:path";
import { z } from "zod";
import { Action, ActionPlugin, ClientCodePlugin, Microservice, Module, OpenApiPlugin, type ActionContext } from "nebula-native";

const Todo = z.object({ id: z.number(), title: z.string(), done: z.boolean(), at: z.date() });
type Todo = z.infer<typeof Todo>;

const todos: Todo[] = [];

@Module("todo-service")
export class TodoService {
  @Action({ description: "Adds a todo", params: [z.string().min(1), z.boolean().optional()], returns: Todo })
  add(title: string, done?: boolean): Todo {
    const todo = { id: todos.length + 1, title, done: done ?? false, at: new Date() };
    todos.push(todo);
    return todo;
  }

  @Action({ description: "Lists the todos", params: [], returns: z.array(Todo), idempotence: true })
  list(): Todo[] {
    return todos;
  }

  @Action({ description: "Counts down, one value a second, until the client leaves", params: [z.number().int().min(1)], returns: z.number(), stream: true })
  async *watch(ctx: ActionContext, from: number): AsyncGenerator<number> {
    for (let n = from; n > 0; n--) {
      yield n;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 1000);
        ctx.signal.addEventListener("abort", () => {
          clearTimeout(t);
          resolve();
        });
      });
      if (ctx.signal.aborted) return;
    }
  }
}

const engine = new Microservice({ name: "todos", version: "1.0.0", prefix: "/api" })
  .plugin(new ActionPlugin())
  .plugin(new ClientCodePlugin({ clientSavePath: path.join(__dirname, "generated", "client.ts") }))
  .plugin(new OpenApiPlugin({ info: { description: "A todo list over nebula's actions" }, ui: true }));

engine.start(Number(process.env.PORT ?? 3000)).then(
  (port) => console.log(`todos on http://localhost:${port}/api (client: /api/client.ts)`),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
