import { Module, Page, Route, type Context } from "nebula-native";

@Module("hello")
export class HelloService {
  @Route({ path: "/hello/:name" })
  hello(ctx: Context) {
    return `Hello, ${ctx.req.param("name")}!`;
  }

  @Page("/")
  home(ctx: Context) {
    return ctx.html("<h1>nebula-native quickstart</h1><p>Try <a href=/api/users>/api/users</a>.</p>");
  }
}
