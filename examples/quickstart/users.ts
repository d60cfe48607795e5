import { HttpError, Module, Route, type Context } from "nebula-native";

interface User {
  id: string;
  name: string;
}

@Module("users", { routePrefix: "/api/users" })
export class UserService {
  private readonly users = new Map<string, User>([["1", { id: "1", name: "Ada" }]]);

  @Route({ method: "GET", path: "/" })
  async list() {
    return { users: [...this.users.values()] };
  }

  @Route({ method: "GET", path: "/:id" })
  async get(ctx: Context) {
    const user = this.users.get(ctx.req.param("id")!);
    if (!user) throw new HttpError(404, `no user ${ctx.req.param("id")}`);
    return user;
  }

  @Route({ method: "POST", path: "/", auth: true })
  async create(ctx: Context) {
    const body = await ctx.req.json<{ name?: unknown }>();
    if (typeof body.name !== "string" || body.name === "") {
      return ctx.json({ error: "Bad Request", message: "name must be a non-empty string" }, 400);
    }
    const user = { id: String(this.users.size + 1), name: body.name };
    this.users.set(user.id, user);
    return ctx.json(user, 201);
  }
}
