// A GoHub-style token ({user_id, username, permissions, exp, iss}) signed
// HS256 with node:crypto: enough for the example, no JWT library needed.
import { createHmac } from "node:crypto";

const b64 = (s: string | Buffer) => Buffer.from(s).toString("base64url");

export function signToken(user: string, secret: string, ttlSeconds = 3600): string {
  const header = b64(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const claims = b64(
    JSON.stringify({
      user_id: user,
      username: user,
      permissions: ["join:room", "leave:room", "send:message", "read:message"],
      iss: "nebula",
      exp: Math.floor(Date.now() / 1000) + ttlSeconds,
    }),
  );
  const sig = createHmac("sha256", secret).update(`${header}.${claims}`).digest();
  return `${header}.${claims}.${b64(sig)}`;
}
